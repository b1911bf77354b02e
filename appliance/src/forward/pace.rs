//! A picture sent faster than the unit asked is not forwarded: the pace rule, on plain
//! numbers and instants (no I/O).
//!
//! The uplink's budget plans every forwarded picture at what the unit asked the pages
//! for ([`super::Forwarder::picture_bps`], [`UnitMessage::SmallLayerRate`]). A page that
//! does not follow (a browser that ignores `maxBitrate`, a camera sent without simulcast,
//! a client written to flood) would have the unit send its picture to every other guest at
//! whatever it sends, over the store's cap. So each publisher's picture is measured as it
//! arrives (RTP headers and payload, over [`WINDOW`]), and one sent at more than
//! [`TOLERANCE`] times its planned rate is taken off the others' slots until it has kept
//! to it for [`BACK_AFTER`] (twice as long for each flood soon after coming back, up to a
//! minute: the wait of [`crate::congestion::hold`]); the guest is still seen on the unit's
//! screen and heard by everyone. A page is given [`GRACE`] to follow when it starts and whenever the rate it
//! was asked for falls (an encoder takes a second or two to settle).
//!
//! [`UnitMessage::SmallLayerRate`]: visavis_api::datachannel::UnitMessage::SmallLayerRate

use crate::congestion::hold::Hold;
use crate::congestion::rate::RollingRate;
use std::time::{Duration, Instant};

/// A picture's rate is measured over this long.
pub const WINDOW: Duration = Duration::from_secs(2);
/// How far over its planned rate a picture may go (keyframes, an encoder's overshoot).
pub const TOLERANCE: f64 = 1.5;
/// How long a page has to follow a new, lower rate, and a new picture to settle.
pub const GRACE: Duration = Duration::from_secs(5);
/// How long a picture taken off must keep to its rate to be forwarded again, the first
/// time.
pub const BACK_AFTER: Duration = Duration::from_secs(5);

/// One publisher's picture as it arrives.
#[derive(Debug)]
pub struct Pace {
    /// The picture's bytes so far, over [`WINDOW`].
    rate: RollingRate,
    grace_until: Instant,
    over: bool,
    /// How long it must keep to its rate, while taken off, to come back.
    hold: Hold,
}

impl Pace {
    /// A picture that starts now (with its grace).
    pub fn new(now: Instant) -> Self {
        Pace {
            rate: RollingRate::new(WINDOW),
            grace_until: now + GRACE,
            over: false,
            hold: Hold::new(BACK_AFTER),
        }
    }

    /// The rate asked of the page fell: it has a grace from now to follow.
    pub fn asked_less(&mut self, now: Instant) {
        self.grace_until = self.grace_until.max(now + GRACE);
    }

    /// Whether the picture is taken off the others' slots.
    pub fn over(&self) -> bool {
        self.over
    }

    /// Bits per second over the window, once the readings span it.
    pub fn rate(&self) -> Option<u64> {
        self.rate.bps()
    }

    /// The picture's byte total at `now`, against its planned rate (bits per second):
    /// `Some(taken off)` when that changes.
    pub fn update(&mut self, total: u64, planned_bps: u64, now: Instant) -> Option<bool> {
        let rate = self.rate.record(total, now)?;
        let too_fast = rate as f64 > planned_bps as f64 * TOLERANCE;
        if !self.over {
            if too_fast && now >= self.grace_until {
                self.over = true;
                self.hold.fell(now);
                return Some(true);
            }
            self.hold.kept(now);
            return None;
        }
        if too_fast {
            self.hold.not_better();
            return None;
        }
        if self.hold.better(now) {
            self.over = false;
            return Some(false);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::congestion::hold::MAX_HOLD;

    const PLANNED: u64 = 65_000;

    /// Feeds `bps` for `secs` seconds in quarter-second readings; the changes it saw.
    fn run(
        pace: &mut Pace,
        total: &mut u64,
        now: &mut Instant,
        bps: u64,
        secs: u64,
    ) -> Vec<(Duration, bool)> {
        let start = *now;
        let mut changes = Vec::new();
        for _ in 0..secs * 4 {
            *now += Duration::from_millis(250);
            *total += bps / 8 / 4;
            if let Some(over) = pace.update(*total, PLANNED, *now) {
                changes.push((now.duration_since(start), over));
            }
        }
        changes
    }

    #[test]
    fn a_picture_that_keeps_to_its_rate_is_never_taken_off() {
        let t0 = Instant::now();
        let (mut pace, mut total, mut now) = (Pace::new(t0), 0, t0);
        // Up to the tolerance, a minute long.
        assert!(run(&mut pace, &mut total, &mut now, 96_000, 60).is_empty());
        assert_eq!(pace.rate(), Some(96_000));
        assert!(!pace.over());
    }

    #[test]
    fn a_flood_is_taken_off_after_the_grace_and_back_once_it_keeps_to_the_rate() {
        let t0 = Instant::now();
        let (mut pace, mut total, mut now) = (Pace::new(t0), 0, t0);
        // A camera at 1 Mbit/s from the start: off when the grace ends, not before.
        let changes = run(&mut pace, &mut total, &mut now, 1_000_000, 10);
        assert_eq!(changes, vec![(GRACE, true)]);
        // It keeps flooding: stays off.
        assert!(run(&mut pace, &mut total, &mut now, 1_000_000, 30).is_empty());
        assert!(pace.over());
        // It follows: back once its measured rate has kept under for BACK_AFTER (the
        // window first drains the flood).
        let changes = run(&mut pace, &mut total, &mut now, 60_000, 20);
        assert_eq!(changes.len(), 1, "{changes:?}");
        let (at, over) = changes[0];
        assert!(!over);
        assert!(at >= BACK_AFTER && at <= BACK_AFTER + WINDOW, "{at:?}");
    }

    #[test]
    fn a_page_asked_for_less_has_its_grace_to_follow() {
        let t0 = Instant::now();
        let (mut pace, mut total, mut now) = (Pace::new(t0), 0, t0);
        // The usual rate, long after the start...
        assert!(run(&mut pace, &mut total, &mut now, 96_000, 20).is_empty());
        // ...then asked for less: still sending the usual 150 kbit/s for 3 s while its
        // encoder settles, then at the new rate. Never taken off.
        pace.asked_less(now);
        assert!(run(&mut pace, &mut total, &mut now, 150_000, 3).is_empty());
        assert!(run(&mut pace, &mut total, &mut now, 60_000, 20).is_empty());
        // One that does not follow is taken off once the grace is over.
        pace.asked_less(now);
        let changes = run(&mut pace, &mut total, &mut now, 150_000, 10);
        assert_eq!(changes, vec![(GRACE, true)]);
    }

    #[test]
    fn a_picture_that_floods_again_soon_after_coming_back_waits_twice_as_long() {
        let t0 = Instant::now();
        let (mut pace, mut total, mut now) = (Pace::new(t0), 0, t0);
        let mut back_after = Vec::new();
        run(&mut pace, &mut total, &mut now, 1_000_000, 10);
        for _ in 0..3 {
            assert!(pace.over());
            // It keeps to its rate until it is back, then floods again at once.
            let mut kept = Duration::ZERO;
            while pace.over() {
                run(&mut pace, &mut total, &mut now, 60_000, 1);
                kept += Duration::from_secs(1);
                assert!(kept < MAX_HOLD * 2, "never back");
            }
            back_after.push(kept);
            let changes = run(&mut pace, &mut total, &mut now, 1_000_000, 5);
            assert_eq!(
                changes.iter().filter(|(_, over)| *over).count(),
                1,
                "{changes:?}"
            );
        }
        // The window drains the flood first (up to WINDOW), then the wait: 5, 10, 20 s.
        let waits: Vec<_> = back_after
            .iter()
            .map(|at| at.saturating_sub(WINDOW))
            .collect();
        for (got, wait) in waits.iter().zip([5, 10, 20].map(Duration::from_secs)) {
            assert!(*got <= wait && wait <= *got + WINDOW, "{back_after:?}");
        }
        // Keeping to it for a minute after coming back: the next flood waits 5 s again.
        while pace.over() {
            run(&mut pace, &mut total, &mut now, 60_000, 1);
        }
        run(&mut pace, &mut total, &mut now, 60_000, 61);
        assert!(!pace.over());
        run(&mut pace, &mut total, &mut now, 1_000_000, 5);
        assert!(pace.over());
        let changes = run(&mut pace, &mut total, &mut now, 60_000, 20);
        assert!(changes[0].0 <= BACK_AFTER + WINDOW, "{changes:?}");
    }
}
