//! What the unit sends in all, measured: the bytes every guest's senders counted
//! (`GuestCounters::video_out` and `audio_out`), as a rate over the last second or so.
//! Sans-IO: totals and instants in. A guest leaving takes nothing back from the rate, a
//! guest joining adds only what they were sent since.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use visavis_api::signaling::GuestId;

/// The rate is worked out over at least this long.
pub const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct SendMeter {
    /// Each guest's byte total when last seen.
    last: BTreeMap<GuestId, u64>,
    /// Bytes sent since `since`.
    bytes: u64,
    since: Option<Instant>,
    rate: u64,
}

impl SendMeter {
    /// The guests' byte totals now (a guest missing from `totals` has left).
    pub fn note<'a>(&mut self, totals: impl IntoIterator<Item = (&'a GuestId, u64)>, now: Instant) {
        let mut seen = BTreeMap::new();
        for (guest, total) in totals {
            let before = self.last.get(guest).copied().unwrap_or(total);
            self.bytes += total.saturating_sub(before);
            seen.insert(guest.clone(), total);
        }
        self.last = seen;
        let since = *self.since.get_or_insert(now);
        let over = now.saturating_duration_since(since);
        if over >= WINDOW {
            self.rate = (self.bytes as f64 * 8.0 / over.as_secs_f64()) as u64;
            self.bytes = 0;
            self.since = Some(now);
        }
    }

    /// Bits per second over the last window (0 before the first).
    pub fn rate(&self) -> u64 {
        self.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> GuestId {
        GuestId::from(s.to_owned())
    }

    #[test]
    fn the_rate_sums_every_guest_and_a_guest_leaving_takes_nothing_back() {
        let (a, b) = (id("a"), id("b"));
        let t0 = Instant::now();
        let mut m = SendMeter::default();
        // a had been sent 1 MB before the meter saw them: not counted.
        m.note([(&a, 1_000_000)], t0);
        let step = Duration::from_millis(250);
        // Each quarter second: a 25 kB (800 kbit/s), b 12.5 kB (400 kbit/s).
        let (mut ta, mut tb) = (1_000_000u64, 0u64);
        for i in 1..=4u32 {
            ta += 25_000;
            tb += 12_500;
            let totals = if i == 1 {
                // b joins with what they were sent so far: only what follows counts.
                vec![(&a, ta)]
            } else {
                vec![(&a, ta), (&b, tb)]
            };
            m.note(totals, t0 + step * i);
        }
        // b is first seen at the second quarter, with 25 kB already sent: only the two
        // quarters after count.
        assert_eq!(m.rate(), 800_000 + 200_000);
        // b leaves; a goes on.
        for i in 5..=8u32 {
            ta += 25_000;
            m.note([(&a, ta)], t0 + step * i);
        }
        assert_eq!(m.rate(), 800_000);
    }
}
