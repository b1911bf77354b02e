//! The rule on plain numbers and simulated time.

use super::*;
use crate::congestion::hold::MAX_HOLD;

/// A forwarded picture, the voices' reserve and the slots, as a table has them.
const PICTURE: u64 = 170_000;
const VOICES: u64 = 180_000;
const SLOTS: usize = 7;
/// The room's picture on the main layer.
const ROOM: u64 = 1_000_000;

fn id(name: &str) -> GuestId {
    GuestId::from(name.to_owned())
}

/// The usable rate that leaves room for `n` pictures beside the room and the voices.
fn usable_for(n: u64) -> u64 {
    ROOM + ((VOICES + n * PICTURE) as f64 * VIDEO_SHARE) as u64 + 1_000
}

struct Sim {
    p: Pictures,
    now: Instant,
}

impl Sim {
    fn new() -> Self {
        Sim {
            p: Pictures::new(PICTURE, VOICES, SLOTS),
            now: Instant::now(),
        }
    }

    /// Tick every 250 ms for `secs` with the guest's usable rate and what they are shown;
    /// the caps decided, in order.
    fn run(&mut self, usable: u64, shown: usize, secs: f64) -> Vec<Option<usize>> {
        let mut out = Vec::new();
        let mut shown_now = shown;
        for _ in 0..(secs * 4.0) as usize {
            self.now += Duration::from_millis(250);
            if let Some(cap) = self
                .p
                .update(&id("ana"), Some(usable), ROOM, shown_now, self.now)
            {
                shown_now = cap.unwrap_or(shown).min(shown);
                out.push(cap);
            }
        }
        out
    }
}

#[test]
fn what_fits_pays_the_room_and_the_voices_first() {
    let p = Pictures::new(PICTURE, VOICES, SLOTS);
    assert_eq!(p.fits(usable_for(3), ROOM), 3);
    assert_eq!(p.fits(usable_for(3) - 2_000, ROOM), 2);
    assert_eq!(p.fits(ROOM, ROOM), 0, "the room's picture alone");
    assert_eq!(p.fits(ROOM / 2, ROOM), 0, "not even the room's picture");
}

#[test]
fn an_estimate_climbing_or_a_link_that_carries_everything_is_never_capped() {
    let mut s = Sim::new();
    // The first estimate is a guess far under what is shown, and it climbs: no cap, within
    // the grace or after it.
    for n in 1..=6 {
        assert!(s.run(usable_for(n), 6, 2.0).is_empty(), "at {n}");
    }
    assert_eq!(s.p.cap(&id("ana")), None);
    // A fall within the grace is not held against the guest either.
    let mut s = Sim::new();
    s.run(usable_for(6), 6, 1.0);
    assert!(
        s.run(usable_for(1), 6, GRACE.as_secs_f64() - 1.5)
            .is_empty()
    );
    // Past the grace, a path that goes on pushing back is.
    assert!(s.run(usable_for(1), 6, 1.0).is_empty());
    assert_eq!(s.run(usable_for(1) - 500, 6, 0.25), vec![Some(1)]);
    let mut s = Sim::new();
    assert!(
        s.run(usable_for(6), 6, 30.0).is_empty(),
        "six shown, six fit"
    );
    assert!(
        s.p.update(&id("bo"), None, ROOM, 6, s.now).is_none(),
        "no estimate, no cap"
    );
}

#[test]
fn a_thin_link_drops_pictures_at_once_and_gets_them_back_after_a_while() {
    let mut s = Sim::new();
    assert!(s.run(usable_for(6), 6, GRACE.as_secs_f64()).is_empty());
    // The link thins to two pictures' worth: down to two at the next tick.
    assert_eq!(s.run(usable_for(2), 6, 0.25), vec![Some(2)]);
    // Room for three more: not before the hold, then all of what fits.
    assert!(
        s.run(usable_for(5), 2, FIRST_HOLD.as_secs_f64() - 0.5)
            .is_empty()
    );
    assert_eq!(s.run(usable_for(5), 2, 1.0), vec![Some(5)]);
    // Everything fits again: the cap goes.
    assert!(
        s.run(usable_for(9), 5, FIRST_HOLD.as_secs_f64() - 0.5)
            .is_empty()
    );
    assert_eq!(s.run(usable_for(9), 5, 1.0), vec![None]);
}

#[test]
fn a_raise_the_link_cannot_carry_doubles_the_wait_for_the_next() {
    let mut s = Sim::new();
    s.run(usable_for(6), 6, GRACE.as_secs_f64());
    assert_eq!(s.run(usable_for(1), 6, 0.25), vec![Some(1)]);
    let hold = FIRST_HOLD.as_secs_f64();
    assert_eq!(s.run(usable_for(2), 1, hold + 0.25), vec![Some(2)]);
    // It falls back within the relapse time: the next raise waits twice as long.
    assert_eq!(s.run(usable_for(1), 2, 1.0), vec![Some(1)]);
    assert!(s.run(usable_for(2), 1, 2.0 * hold - 0.5).is_empty());
    assert_eq!(s.run(usable_for(2), 1, 1.0), vec![Some(2)]);
    // Kept for the longest hold: a later fall starts from the short wait again.
    assert!(s.run(usable_for(2), 2, MAX_HOLD.as_secs_f64()).is_empty());
    assert_eq!(s.run(usable_for(1), 2, 0.25), vec![Some(1)]);
    assert!(s.run(usable_for(2), 1, hold - 0.5).is_empty());
    assert_eq!(s.run(usable_for(2), 1, 1.0), vec![Some(2)]);
}

#[test]
fn a_guest_who_left_starts_again_with_a_grace() {
    let mut s = Sim::new();
    s.run(usable_for(6), 6, GRACE.as_secs_f64());
    assert_eq!(s.run(usable_for(0), 6, 0.25), vec![Some(0)]);
    s.p.leave(&id("ana"));
    assert_eq!(s.p.cap(&id("ana")), None);
    assert!(s.run(usable_for(0), 6, 4.5).is_empty());
}
