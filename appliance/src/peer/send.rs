//! Sending the shared encoder's frames to one guest.
//!
//! Each guest has its own track object (one `TrackLocalStaticSample` cannot serve two peer
//! connections in webrtc-rs 0.21) fed from the broadcast of encoded frames: packetizing
//! and SRTP are per guest, encoding is not.

use super::rtcp::is_keyframe_request;
use crate::media::{EncodedFrame, KeyframeRequester};
use crate::metrics::{Counter3, GuestCounters};
use rtc::media::Sample;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use visavis_api::signaling::GuestId;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::peer_connection::{PeerConnection, StatsSelector};

/// Where one stream goes.
pub struct Outgoing {
    pub track: Arc<TrackLocalStaticSample>,
    pub ssrc: u32,
    pub payload_type: u8,
}

/// Forward encoded frames to the guest until the track fails or the broadcast closes.
/// Video starts at a keyframe (asked for on start) and, after falling behind, waits for
/// the next one: a decoder fed deltas without their reference shows garbage.
pub async fn forward(
    guest_id: GuestId,
    out: Outgoing,
    mut frames: broadcast::Receiver<Arc<EncodedFrame>>,
    mut connected: tokio::sync::watch::Receiver<bool>,
    keyframes: Option<KeyframeRequester>,
    counters: Arc<GuestCounters>,
) {
    let video = keyframes.is_some();
    let counter: &Counter3 = if video {
        &counters.video_out
    } else {
        &counters.audio_out
    };
    let mut need_keyframe = video;
    if connected.wait_for(|up| *up).await.is_err() {
        return;
    }
    // Frames encoded while connecting are stale: start from what comes next.
    frames = frames.resubscribe();
    if let Some(k) = &keyframes {
        k.request();
    }
    loop {
        let frame = match frames.recv().await {
            Ok(f) => f,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(guest = %guest_id, video, skipped = n, "guest sender fell behind");
                if let Some(k) = &keyframes {
                    need_keyframe = true;
                    k.request();
                }
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if need_keyframe {
            if !frame.keyframe {
                continue;
            }
            need_keyframe = false;
        }
        let sample = Sample {
            data: frame.data.clone(),
            duration: frame.duration,
            ..Sample::new(frame.encoded_at)
        };
        if let Err(e) = out
            .track
            .sample_writer(out.ssrc, out.payload_type)
            .write_sample(&sample)
            .await
        {
            tracing::info!(guest = %guest_id, video, "stopped sending: {e}");
            return;
        }
        counter.frames.fetch_add(1, Relaxed);
        counter
            .last_frame_unix_us
            .store(crate::metrics::unix_us(), Relaxed);
    }
}

/// Answer the guest's keyframe requests (PLI/FIR), at most one per `min_gap`.
pub async fn keyframes_on_request(
    track: Arc<TrackLocalStaticSample>,
    keyframes: KeyframeRequester,
) {
    let min_gap = Duration::from_millis(300);
    let mut last: Option<Instant> = None;
    while let Some(event) = track.poll().await {
        if let TrackLocalEvent::OnRtcpPacket(packets) = event
            && packets.iter().any(|p| is_keyframe_request(p.as_ref()))
            && last.is_none_or(|t| t.elapsed() >= min_gap)
        {
            last = Some(Instant::now());
            keyframes.request();
        }
    }
}

/// Copy webrtc-rs's count of sent packets and bytes into the guest's counters, every second.
pub async fn poll_sent_stats(pc: Arc<dyn PeerConnection>, counters: Arc<GuestCounters>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let report = pc.get_stats(Instant::now(), StatsSelector::None).await;
        for s in report.outbound_rtp_streams() {
            let sent = &s.sent_rtp_stream_stats;
            let c = match sent.rtp_stream_stats.kind {
                RtpCodecKind::Video => &counters.video_out,
                RtpCodecKind::Audio => &counters.audio_out,
                _ => continue,
            };
            c.packets.store(sent.packets_sent, Relaxed);
            c.bytes.store(sent.bytes_sent, Relaxed);
        }
    }
}
