//! Who sees whom: the slot assignment of the group call, on plain values (no I/O).
//!
//! Every guest in the call who sends a picture is a *publisher*; every guest whose page
//! offered slots is a *viewer*. Each viewer sees as many other publishers as their
//! capacity allows (their slots, or fewer on a link that cannot carry them all), chosen by
//! who spoke last: a guest talking now first, then the most recent speakers, then who
//! published first. A publisher keeps their slot while chosen (a tile does not jump
//! around); a newcomer takes the lowest free slot.
//!
//! Every change returns the viewers whose slots changed, for the forwarder to rewire and
//! tell ([`super::Forwarder`]).

use std::collections::BTreeMap;
use visavis_api::signaling::GuestId;

#[derive(Debug)]
struct Publisher {
    name: String,
    /// When they published, in board events: the tie-break.
    since: u64,
    /// When they last started speaking (board events), if ever.
    spoke: Option<u64>,
    speaking: bool,
}

#[derive(Debug)]
struct Viewer {
    slots: Vec<Option<GuestId>>,
    capacity: usize,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct Board {
    publishers: BTreeMap<GuestId, Publisher>,
    viewers: BTreeMap<GuestId, Viewer>,
    events: u64,
}

impl Board {
    fn tick(&mut self) -> u64 {
        self.events += 1;
        self.events
    }

    /// `guest` sends a picture others may see, under `name`.
    pub fn publish(&mut self, guest: &GuestId, name: &str) -> Vec<GuestId> {
        let since = self.tick();
        self.publishers
            .entry(guest.clone())
            .and_modify(|p| p.name = name.to_owned())
            .or_insert(Publisher {
                name: name.to_owned(),
                since,
                spoke: None,
                speaking: false,
            });
        self.refill()
    }

    /// `guest` no longer sends a picture (they left, or their track ended).
    pub fn unpublish(&mut self, guest: &GuestId) -> Vec<GuestId> {
        if self.publishers.remove(guest).is_none() {
            return Vec::new();
        }
        self.refill()
    }

    /// `guest`'s page offered `slots` slots; they start with all of them usable.
    pub fn view(&mut self, guest: &GuestId, slots: usize) -> Vec<GuestId> {
        self.viewers.insert(
            guest.clone(),
            Viewer {
                slots: vec![None; slots],
                capacity: slots,
            },
        );
        self.refill()
    }

    /// `guest` sees nothing any more (they left).
    pub fn unview(&mut self, guest: &GuestId) {
        self.viewers.remove(guest);
    }

    /// How many slots `guest`'s link can carry now (at most the slots they offered).
    pub fn set_capacity(&mut self, guest: &GuestId, capacity: usize) -> Vec<GuestId> {
        match self.viewers.get_mut(guest) {
            Some(v) if v.capacity != capacity.min(v.slots.len()) => {
                v.capacity = capacity.min(v.slots.len());
                self.refill()
            }
            _ => Vec::new(),
        }
    }

    /// `guest` started or stopped speaking. Starting can bring them into the slots of a
    /// viewer who sees fewer than everybody; stopping changes nothing at once.
    pub fn speaking(&mut self, guest: &GuestId, on: bool) -> Vec<GuestId> {
        let now = self.tick();
        let Some(p) = self.publishers.get_mut(guest) else {
            return Vec::new();
        };
        let started = on && !p.speaking;
        p.speaking = on;
        if started {
            p.spoke = Some(now);
            self.refill()
        } else {
            Vec::new()
        }
    }

    /// The slots of `viewer`: who each one shows.
    pub fn slots(&self, viewer: &GuestId) -> &[Option<GuestId>] {
        self.viewers
            .get(viewer)
            .map(|v| v.slots.as_slice())
            .unwrap_or(&[])
    }

    /// `publisher`'s name, if they publish.
    pub fn name(&self, publisher: &GuestId) -> Option<&str> {
        self.publishers.get(publisher).map(|p| p.name.as_str())
    }

    /// Whether anyone sees `publisher` now.
    pub fn seen(&self, publisher: &GuestId) -> bool {
        self.viewers
            .values()
            .any(|v| v.slots.iter().any(|s| s.as_ref() == Some(publisher)))
    }

    /// Publishers other than `viewer`, best first (see the module docs).
    fn ranked(&self, viewer: &GuestId) -> Vec<GuestId> {
        let mut others: Vec<(&GuestId, &Publisher)> = self
            .publishers
            .iter()
            .filter(|(g, _)| *g != viewer)
            .collect();
        others.sort_by_key(|(_, p)| {
            (
                std::cmp::Reverse(p.speaking),
                std::cmp::Reverse(p.spoke),
                p.since,
            )
        });
        others.into_iter().map(|(g, _)| g.clone()).collect()
    }

    /// Give every viewer their best publishers; the viewers whose slots changed.
    fn refill(&mut self) -> Vec<GuestId> {
        let wanted: Vec<(GuestId, Vec<GuestId>)> = self
            .viewers
            .iter()
            .map(|(g, v)| {
                let best = self.ranked(g).into_iter().take(v.capacity).collect();
                (g.clone(), best)
            })
            .collect();
        let mut changed = Vec::new();
        for (viewer, best) in wanted {
            let v = self.viewers.get_mut(&viewer).expect("listed above");
            let before = v.slots.clone();
            for slot in v.slots.iter_mut() {
                if slot.as_ref().is_some_and(|p| !best.contains(p)) {
                    *slot = None;
                }
            }
            for publisher in &best {
                if v.slots.iter().any(|s| s.as_ref() == Some(publisher)) {
                    continue;
                }
                if let Some(free) = v.slots.iter_mut().find(|s| s.is_none()) {
                    *free = Some(publisher.clone());
                }
            }
            if v.slots != before {
                changed.push(viewer);
            }
        }
        changed
    }
}

#[cfg(test)]
#[path = "board_tests.rs"]
mod tests;
