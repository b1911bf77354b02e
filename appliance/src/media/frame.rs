//! An encoded frame as it travels from the shared encoder to every guest.

use bytes::Bytes;
use std::time::{Duration, Instant};

/// One access unit (video, Annex B with SPS/PPS before keyframes) or one Opus packet.
#[derive(Debug)]
pub struct EncodedFrame {
    pub data: Bytes,
    /// Whole RTP ticks, see [`rtp_duration`].
    pub duration: Duration,
    /// True for a video keyframe (and for every audio packet).
    pub keyframe: bool,
    /// When the frame left the encoder.
    pub encoded_at: Instant,
}

/// A duration that packetizes to exactly `ticks` RTP ticks at `clock_rate`.
///
/// webrtc-rs turns a sample's duration into ticks by truncating `secs * clock_rate`; a frame
/// time of 1/30 s is 2999.99… ticks and truncates to 2999, so timestamps would drift. This
/// rounds the nanoseconds up so the truncation lands on the whole tick.
pub fn rtp_duration(ticks: u64, clock_rate: u32) -> Duration {
    let nanos = (ticks as u128 * 1_000_000_000).div_ceil(clock_rate as u128);
    Duration::from_nanos(nanos as u64)
}

/// Whole ticks between two presentation times in nanoseconds (rounded to nearest).
pub fn ticks_between(start_ns: u64, end_ns: u64, clock_rate: u32) -> u64 {
    let tick = |ns: u64| (ns as u128 * clock_rate as u128 + 500_000_000) / 1_000_000_000;
    tick(end_ns).saturating_sub(tick(start_ns)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_fps_frames_are_exactly_3000_ticks() {
        let d = rtp_duration(3000, 90_000);
        // The same conversion webrtc-rs applies.
        assert_eq!((d.as_secs_f64() * 90_000.0) as u32, 3000);
        let d = rtp_duration(960, 48_000);
        assert_eq!((d.as_secs_f64() * 48_000.0) as u32, 960);
    }

    #[test]
    fn ticks_do_not_drift_over_an_hour() {
        // GStreamer scales each timestamp exactly: pts(i) = i * 1e9 / 30, rounded down.
        let pts = |i: u64| i * 1_000_000_000 / 30;
        let mut total = 0u64;
        for i in 0..(30 * 3600u64) {
            let t = ticks_between(pts(i), pts(i + 1), 90_000);
            let d = rtp_duration(t, 90_000);
            total += (d.as_secs_f64() * 90_000.0) as u64;
        }
        let expected = 3600 * 90_000;
        assert!(total.abs_diff(expected) <= 1, "{total} vs {expected}");
    }
}
