//! A client's copy of the unit's [`Status`], kept up to date from pushed [`Event`]s.
//!
//! `applianced` builds its status in one place and tells every change as an event; a
//! client asks for the status once and applies each later event here. The unit's own tests
//! check that a status kept this way always equals the one the unit builds, so what a
//! client shows never drifts from what the unit knows.

use super::{Event, GuestState, GuestStatus, Status};

/// Chat lines a status keeps (the newest), on the unit and in every client's copy.
pub const CHAT_KEPT: usize = 20;

/// Looks one session can hold; saving one more is refused.
pub const MAX_LOOKS: usize = 6;

/// What a client should do with an event it received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The status took the event in (or the event was a moment that changes nothing).
    Applied,
    /// The status already includes this event (it came before the status was taken).
    AlreadySeen,
    /// Events were missed between the status and this one: ask for the status again.
    Gap,
}

impl Status {
    /// Bring this status up to date with event number `seq`.
    pub fn apply(&mut self, seq: u64, event: &Event) -> Applied {
        if seq <= self.seq {
            return Applied::AlreadySeen;
        }
        if seq != self.seq + 1 {
            return Applied::Gap;
        }
        self.seq = seq;
        self.change(event);
        Applied::Applied
    }

    fn change(&mut self, event: &Event) {
        match event {
            Event::Rendezvous { connected } => self.rendezvous_connected = *connected,
            Event::Problems { problems } => self.problems = problems.clone(),
            Event::Invite { url, expires_at } => {
                self.session_active = true;
                self.invite_url = Some(url.clone());
                self.invite_expires_at = Some(*expires_at);
            }
            Event::GuestKnock { guest_id, name } => {
                if !self.guests.iter().any(|g| &g.guest_id == guest_id) {
                    self.guests.push(GuestStatus {
                        guest_id: guest_id.clone(),
                        name: name.clone(),
                        state: GuestState::Waiting,
                        tile: None,
                        speaking: false,
                    });
                    self.guests.sort_by(|a, b| a.guest_id.cmp(&b.guest_id));
                }
            }
            Event::GuestAdmitted { guest_id } => {
                self.guest(guest_id, |g| g.state = GuestState::Connecting);
            }
            Event::GuestJoined { guest_id, .. } => {
                self.guest(guest_id, |g| g.state = GuestState::InCall);
            }
            Event::GuestLeft { guest_id } => self.guests.retain(|g| &g.guest_id != guest_id),
            Event::Tile { guest_id, tile } => self.guest(guest_id, |g| g.tile = tile.clone()),
            Event::Speaking { guest_id, speaking } => {
                self.guest(guest_id, |g| g.speaking = *speaking);
            }
            Event::Chat(line) => {
                if self.chat.len() == CHAT_KEPT {
                    self.chat.remove(0);
                }
                self.chat.push(line.clone());
            }
            Event::LookSaved { look } => {
                if !self.looks.contains(look) {
                    self.looks.push(*look);
                    self.looks.sort_unstable();
                }
            }
            Event::Votes(compare) => self.compare = Some(compare.clone()),
            Event::SessionEnded => {
                self.session_active = false;
                self.invite_url = None;
                self.invite_expires_at = None;
                self.guests.clear();
                self.looks.clear();
                self.compare = None;
                self.chat.clear();
            }
            Event::Privacy { on } => self.privacy = *on,
            Event::Presence { present } => self.presence = *present,
            Event::Mic { muted } => self.mic_muted = *muted,
            Event::Camera { paused } => self.camera_paused = *paused,
            Event::Volume { percent } => self.volume = *percent,
            Event::Reaction { .. } | Event::Button { .. } | Event::WaiterCalled => {}
        }
    }

    fn guest(&mut self, guest_id: &str, change: impl FnOnce(&mut GuestStatus)) {
        if let Some(g) = self.guests.iter_mut().find(|g| g.guest_id == guest_id) {
            change(g);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_apply_in_order_once_and_gaps_are_reported() {
        let mut status = Status {
            seq: 4,
            ..Status::default()
        };
        let knock = Event::GuestKnock {
            guest_id: "g1".into(),
            name: "Camille".into(),
        };
        assert_eq!(status.apply(4, &knock), Applied::AlreadySeen);
        assert!(status.guests.is_empty());
        assert_eq!(status.apply(6, &knock), Applied::Gap);
        assert!(status.guests.is_empty());
        assert_eq!(status.apply(5, &knock), Applied::Applied);
        assert_eq!(status.guests.len(), 1);
        assert_eq!(status.guests[0].state, GuestState::Waiting);
        let admitted = Event::GuestAdmitted {
            guest_id: "g1".into(),
        };
        assert_eq!(status.apply(6, &admitted), Applied::Applied);
        assert_eq!(status.guests[0].state, GuestState::Connecting);
        assert_eq!(status.seq, 6);
    }

    #[test]
    fn chat_keeps_the_newest_lines() {
        let mut status = Status::default();
        for n in 1..=(CHAT_KEPT as u64 + 2) {
            let line = super::super::ChatLine {
                guest_id: "g1".into(),
                name: "Léa".into(),
                text: format!("line {n}"),
            };
            assert_eq!(status.apply(n, &Event::Chat(line)), Applied::Applied);
        }
        assert_eq!(status.chat.len(), CHAT_KEPT);
        assert_eq!(status.chat[0].text, "line 3");
    }
}
