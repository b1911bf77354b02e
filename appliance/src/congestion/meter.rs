//! What the unit sends in all, measured on the wire: every datagram each guest's peer
//! connection sent (its transport's count: SRTP, SRTCP, DTLS, STUN, data channel) with the
//! headers of the path it took ([`super::wire`]), as a rate over the last [`WINDOW`] or so.
//! This is what the store's line carries, so it is what `[uplink] max_kbps` caps.
//!
//! Each guest's totals come with the instant they were read ([`WireSample`]), each on its
//! own clock (the senders read their statistics every second). Every guest is counted
//! over the same window, the last [`WINDOW`] before the newest reading: their total at the
//! window's start is read off the line between the two readings around it. A guest who
//! joined within the window counts from their first reading, spread over the whole window:
//! a join adds what the new guest is sent, not their rate on top of the others' rates of
//! the seconds before (which would read as a burst the line never carried). Sans-IO:
//! samples in, a rate out. A guest who left counts no more.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};
use visavis_api::signaling::GuestId;

/// A guest's rate is worked out over at least this long, once their readings span it.
pub const WINDOW: Duration = Duration::from_secs(2);

/// A guest's bytes sent so far, on the wire, as read at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireSample {
    pub at: Instant,
    /// Every datagram so far with its headers ([`super::wire::WireCount`]).
    pub bytes: u64,
}

#[derive(Debug, Default)]
pub struct SendMeter {
    /// Each guest's readings, oldest first: the newest and enough before it to span
    /// [`WINDOW`].
    readings: BTreeMap<GuestId, VecDeque<WireSample>>,
}

impl SendMeter {
    /// The guests' latest readings (a guest missing from `samples` has left; a guest
    /// without a reading yet is `None`).
    pub fn note<'a>(
        &mut self,
        samples: impl IntoIterator<Item = (&'a GuestId, Option<WireSample>)>,
    ) {
        let mut kept = BTreeMap::new();
        for (guest, sample) in samples {
            let mut readings = self.readings.remove(guest).unwrap_or_default();
            if let Some(s) = sample
                && readings.back().is_none_or(|last| s.at > last.at)
            {
                readings.push_back(s);
                // Keep one reading at or before the window's start, none older.
                while readings.len() > 1 && s.at.saturating_duration_since(readings[1].at) >= WINDOW
                {
                    readings.pop_front();
                }
            }
            kept.insert(guest.clone(), readings);
        }
        self.readings = kept;
    }

    /// Bits per second on the wire over the last [`WINDOW`], every guest together (0
    /// before any guest's second reading).
    pub fn rate(&self) -> u64 {
        let newest = self
            .readings
            .values()
            .filter_map(|r| r.back())
            .map(|s| s.at)
            .max();
        let Some(from) = newest.and_then(|at| at.checked_sub(WINDOW)) else {
            return 0;
        };
        let bits: f64 = self
            .readings
            .values()
            .filter_map(|r| {
                let last = r.back()?;
                let span = last.at.checked_duration_since(from)?.as_secs_f64();
                (span > 0.0).then(|| (last.bytes as f64 - bytes_at(r, from)) * 8.0 / span)
            })
            .sum();
        bits.round() as u64
    }
}

/// A guest's bytes on the wire so far at `at`, read off the line between their readings
/// around it (their first reading's, when `at` is before it).
fn bytes_at(readings: &VecDeque<WireSample>, at: Instant) -> f64 {
    let mut before = None;
    for s in readings {
        if s.at >= at {
            return match before {
                Some(b) => {
                    let b: &WireSample = b;
                    let whole = s.at.duration_since(b.at).as_secs_f64();
                    let part = at.duration_since(b.at).as_secs_f64();
                    b.bytes as f64 + (s.bytes as f64 - b.bytes as f64) * part / whole
                }
                None => s.bytes as f64,
            };
        }
        before = Some(s);
    }
    before.map_or(0.0, |b| b.bytes as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> GuestId {
        GuestId::from(s.to_owned())
    }

    fn at(t0: Instant, ms: u64, packets: u64, bytes: u64) -> Option<WireSample> {
        Some(WireSample {
            at: t0 + Duration::from_millis(ms),
            bytes: bytes + packets * crate::congestion::wire::UDP_IP_HEADER,
        })
    }

    #[test]
    fn the_rate_sums_every_guest_over_the_window() {
        let (a, b) = (id("a"), id("b"));
        let t0 = Instant::now();
        let mut m = SendMeter::default();
        m.note([(&a, at(t0, 0, 0, 0)), (&b, None)]);
        assert_eq!(m.rate(), 0, "one reading is no rate yet");
        // a: 100 datagrams of 972 bytes a second (100 kB on the wire, 800 kbit/s).
        // b: first read a second in.
        m.note([
            (&a, at(t0, 1000, 100, 97_200)),
            (&b, at(t0, 1000, 10, 5_000)),
        ]);
        // a's first second, spread over the window.
        assert_eq!(m.rate(), 400_000);
        // b: 50 datagrams of 472 bytes a second (25 kB, 200 kbit/s).
        m.note([
            (&a, at(t0, 2000, 200, 194_400)),
            (&b, at(t0, 2000, 60, 28_600)),
        ]);
        // a has filled the window, b half of it.
        assert_eq!(m.rate(), 800_000 + 100_000);
        m.note([
            (&a, at(t0, 3000, 300, 291_600)),
            (&b, at(t0, 3000, 110, 52_200)),
        ]);
        assert_eq!(m.rate(), 800_000 + 200_000);
        // b leaves; a goes on.
        m.note([(&a, at(t0, 4000, 400, 388_800))]);
        assert_eq!(m.rate(), 800_000);
    }

    #[test]
    fn a_guest_joining_adds_what_they_are_sent_not_a_burst() {
        // Two guests at 1 Mbit/s each; at 4.5 s a third joins at 0.8 Mbit/s and the first
        // two drop to 0.6 at once to make room. The line never carries more than 2 Mbit/s.
        // Each guest is read every second, on their own clock.
        let (a, b, c) = (id("a"), id("b"), id("c"));
        let t0 = Instant::now();
        // Bytes a millisecond: (before the join, after).
        let total = |ms: u64, (before, after): (u64, u64)| {
            before * ms.min(4500) + after * ms.saturating_sub(4500)
        };
        let mut m = SendMeter::default();
        for ms in (0..=8400u64).step_by(100) {
            let read = |due: bool, rates| due.then(|| at(t0, ms, 0, total(ms, rates))).flatten();
            let mut samples = vec![
                (&a, read(ms % 1000 == 0, (125, 75))),
                (&b, read(ms % 1000 == 400, (125, 75))),
            ];
            if ms > 4500 {
                samples.push((&c, read(ms % 1000 == 400, (0, 100))));
            }
            m.note(samples);
            if ms >= 2000 {
                assert!(m.rate() <= 2_000_000, "at {ms} ms: {}", m.rate());
            }
        }
        assert_eq!(m.rate(), 2 * 600_000 + 800_000);
    }

    #[test]
    fn readings_at_uneven_times_give_the_steady_rate() {
        // A steady 1 Mbit/s (125 bytes a millisecond, headers in), read late, early, and
        // twice with nothing new between: once the window is full the rate stays 1 Mbit/s.
        let a = id("a");
        let t0 = Instant::now();
        let mut m = SendMeter::default();
        for ms in [0u64, 1000, 2150, 2150, 3020, 4400, 5000, 5990] {
            m.note([(&a, at(t0, ms, 0, ms * 125))]);
            if ms >= 2000 {
                assert_eq!(m.rate(), 1_000_000, "at {ms} ms");
            }
        }
        // Only the window is kept: a change of rate shows within it.
        for ms in [7000u64, 8000, 9000] {
            m.note([(&a, at(t0, ms, 0, 5990 * 125 + (ms - 5990) * 250))]);
        }
        assert_eq!(m.rate(), 2_000_000);
    }
}
