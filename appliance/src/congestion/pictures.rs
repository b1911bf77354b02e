//! How many of the other guests' pictures each guest's own link carries. Plain numbers
//! and instants in, a cap per guest out; no clock, no I/O.
//!
//! The uplink budget shares the forwarded pictures among the guests
//! ([`crate::forward::Forwarder::set_budget`]); this rule looks at each guest's own path.
//! A phone on a thin link that is sent the room's picture, three voices and seven others'
//! pictures freezes, all of it. So the room's picture comes first: what the guest's
//! estimate leaves once their layer's target and the forwarded voices
//! ([`Pictures::new`]'s `voices`) are paid, at what a picture costs now
//! ([`crate::forward::Forwarder::picture_bps`]) each, is how
//! many others' pictures they get ([`crate::forward::Forwarder::set_link`], the latest
//! speakers first).
//!
//! - A cap goes down at once, to what fits, when the estimate no longer covers what the
//!   guest is shown and the path has just pushed back: the estimate fell within the last
//!   [`PUSHED_BACK`] (a standing queue or heavy loss, [`super::bwe`]'s back-offs). An
//!   estimate still climbing towards what the guest is shown is not held against them
//!   (it starts from a guess and earns its way up within seconds on a path that carries
//!   the call: eight guests on loopback were capped to five pictures for 3 s when it was),
//!   nor is anything in the first [`GRACE`] after their first estimate.
//! - It goes up only once more has fitted for a while ([`FIRST_HOLD`]): the estimate
//!   grows only with what is sent ([`super::bwe`]'s earned growth, 1.5 times what
//!   arrived), so a capped guest's estimate shows room for about one more picture at a
//!   time. That while doubles (up to [`MAX_HOLD`](super::hold::MAX_HOLD)) each time a raise is followed by a fall
//!   within [`RELAPSE`](super::hold::RELAPSE) ([`super::hold`], as for the layers), so a path that cannot carry
//!   one more picture is not offered it every few seconds (each offer costs the publisher
//!   a keyframe for everyone).
//! - Once every slot fits, the guest is no longer capped.

use super::controller::VIDEO_SHARE;
use super::hold::Hold;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use visavis_api::signaling::GuestId;

/// A guest's first estimate is a guess; it is not held against them this long.
pub const GRACE: Duration = Duration::from_secs(5);
/// A fall of the estimate this recent is the path pushing back.
pub const PUSHED_BACK: Duration = Duration::from_secs(2);
/// How long more must fit before a cap goes up, at first.
pub const FIRST_HOLD: Duration = Duration::from_secs(3);

#[derive(Debug)]
struct Link {
    /// When the first estimate came.
    heard: Option<Instant>,
    /// The usable rate at the last update, and when it last fell.
    last: Option<u64>,
    fell_at: Option<Instant>,
    /// How many pictures the guest may be shown (`None`: as many as they have slots).
    cap: Option<usize>,
    /// How long more must fit before the cap goes up.
    hold: Hold,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            heard: None,
            last: None,
            fell_at: None,
            cap: None,
            hold: Hold::new(FIRST_HOLD),
        }
    }
}

/// See the module docs.
#[derive(Debug)]
pub struct Pictures {
    /// One forwarded picture, bits per second, headers included.
    picture: u64,
    /// What the voices forwarded to a guest may take of their link, headers included.
    voices: u64,
    /// How many pictures a guest can show at most (their slots).
    slots: usize,
    links: BTreeMap<GuestId, Link>,
}

impl Pictures {
    pub fn new(picture: u64, voices: u64, slots: usize) -> Self {
        Pictures {
            picture: picture.max(1),
            voices,
            slots,
            links: BTreeMap::new(),
        }
    }

    /// A forwarded picture costs `bps` now (lowered for a full table to fit the uplink).
    pub fn set_picture(&mut self, bps: u64) {
        self.picture = bps.max(1);
    }

    /// The guest left.
    pub fn leave(&mut self, guest: &GuestId) {
        self.links.remove(guest);
    }

    /// The guest's cap now.
    pub fn cap(&self, guest: &GuestId) -> Option<usize> {
        self.links.get(guest).and_then(|l| l.cap)
    }

    /// How many pictures fit in `usable` (a usable video rate, as
    /// [`super::Controller::usable`] gives it) once the room's picture (`room`, the guest's
    /// layer's target) and the voices are paid.
    pub fn fits(&self, usable: u64, room: u64) -> usize {
        let left = (usable.saturating_sub(room) as f64 / VIDEO_SHARE) as u64;
        (left.saturating_sub(self.voices) / self.picture) as usize
    }

    /// The guest's usable rate is `usable` (`None`: no estimate yet), their layer's target
    /// `room`, and they are shown `shown` pictures now: the new cap, if it changed
    /// (`Some(None)`: no cap any more).
    pub fn update(
        &mut self,
        guest: &GuestId,
        usable: Option<u64>,
        room: u64,
        shown: usize,
        now: Instant,
    ) -> Option<Option<usize>> {
        let usable = usable?;
        let fits = self.fits(usable, room);
        let slots = self.slots;
        let link = self.links.entry(guest.clone()).or_default();
        let heard = *link.heard.get_or_insert(now);
        if link.last.is_some_and(|last| usable < last) {
            link.fell_at = Some(now);
        }
        link.last = Some(usable);
        if now < heard + GRACE {
            return None;
        }
        let showing = link.cap.map_or(shown, |c| c.min(shown));
        let pushed_back = link.fell_at.is_some_and(|t| now < t + PUSHED_BACK);
        if fits < showing && pushed_back {
            link.hold.fell(now);
            link.cap = Some(fits);
            return Some(link.cap);
        }
        link.hold.kept(now);
        let cap = link.cap?;
        if fits <= cap {
            link.hold.not_better();
            return None;
        }
        if !link.hold.better(now) {
            return None;
        }
        link.cap = (fits < slots).then_some(fits);
        Some(link.cap)
    }
}

#[cfg(test)]
#[path = "pictures_tests.rs"]
mod tests;
