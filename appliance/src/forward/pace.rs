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
//! to it for [`BACK_AFTER`]; the guest is still seen on the unit's screen and heard by
//! everyone. A page is given [`GRACE`] to follow when it starts and whenever the rate it
//! was asked for falls (an encoder takes a second or two to settle).
//!
//! [`UnitMessage::SmallLayerRate`]: visavis_api::datachannel::UnitMessage::SmallLayerRate

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A picture's rate is measured over this long.
pub const WINDOW: Duration = Duration::from_secs(2);
/// How far over its planned rate a picture may go (keyframes, an encoder's overshoot).
pub const TOLERANCE: f64 = 1.5;
/// How long a page has to follow a new, lower rate, and a new picture to settle.
pub const GRACE: Duration = Duration::from_secs(5);
/// How long a picture taken off must keep to its rate to be forwarded again.
pub const BACK_AFTER: Duration = Duration::from_secs(5);

/// One publisher's picture as it arrives.
#[derive(Debug)]
pub struct Pace {
    /// Byte totals and when they were read, oldest first, spanning the window.
    readings: VecDeque<(Instant, u64)>,
    grace_until: Instant,
    over: bool,
    /// While taken off: since when it has kept to its rate.
    kept_since: Option<Instant>,
}

impl Pace {
    /// A picture that starts now (with its grace).
    pub fn new(now: Instant) -> Self {
        Pace {
            readings: VecDeque::new(),
            grace_until: now + GRACE,
            over: false,
            kept_since: None,
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
        let (&(first, a), &(last, b)) = (self.readings.front()?, self.readings.back()?);
        let span = last.saturating_duration_since(first);
        (span >= WINDOW).then(|| (b.saturating_sub(a) as f64 * 8.0 / span.as_secs_f64()) as u64)
    }

    /// The picture's byte total at `now`, against its planned rate (bits per second):
    /// `Some(taken off)` when that changes.
    pub fn update(&mut self, total: u64, planned_bps: u64, now: Instant) -> Option<bool> {
        if self.readings.back().is_none_or(|(at, _)| now > *at) {
            self.readings.push_back((now, total));
        }
        while self.readings.len() > 2 && now.saturating_duration_since(self.readings[1].0) >= WINDOW
        {
            self.readings.pop_front();
        }
        let rate = self.rate()?;
        let too_fast = rate as f64 > planned_bps as f64 * TOLERANCE;
        if !self.over {
            if too_fast && now >= self.grace_until {
                self.over = true;
                self.kept_since = None;
                return Some(true);
            }
            return None;
        }
        if too_fast {
            self.kept_since = None;
            return None;
        }
        let since = *self.kept_since.get_or_insert(now);
        if now.saturating_duration_since(since) >= BACK_AFTER {
            self.over = false;
            self.kept_since = None;
            return Some(false);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
