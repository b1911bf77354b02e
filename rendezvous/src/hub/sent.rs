//! The unit's latest signals to a guest that went to its live socket, kept so a resume can
//! send again what the page never handled.
//!
//! A phone's connection can die without either end being told: rendezvous goes on writing
//! into the socket until its silence limit, and the page takes the socket for dead on its
//! own heartbeat and resumes. What was written into the dead socket meanwhile (the answer
//! to the page's ICE-restart offer, candidates) never reached the page. Each signal carries
//! its number (`seq`); the page resumes with the last one it handled (`seen`), and the
//! signals after it that are still here go again, before what was held since the socket
//! was known lost ([`super::held`]).
//!
//! Bounded like a hold: at most [`MAX_SENT_MESSAGES`] signals and [`MAX_SENT_BYTES`] bytes
//! (as JSON) per guest, the oldest forgotten first. Forgotten ones are not sent again (the
//! page's ICE restart makes up for them).

use visavis_api::signaling::ServerToGuest;

use super::held::{Bounded, json_len};

/// Most signals kept per guest.
pub const MAX_SENT_MESSAGES: usize = 32;
/// Most bytes (the signals as JSON) kept per guest.
pub const MAX_SENT_BYTES: usize = 128 * 1024;

/// The latest signals written to a guest's socket, with their numbers.
#[derive(Debug)]
pub(super) struct Sent(Bounded<(u64, ServerToGuest)>);

impl Default for Sent {
    fn default() -> Self {
        Sent(Bounded::new(MAX_SENT_MESSAGES, MAX_SENT_BYTES))
    }
}

impl Sent {
    /// Keep signal number `seq`, forgetting the oldest beyond the bounds.
    pub(super) fn keep(&mut self, seq: u64, msg: ServerToGuest) {
        let size = json_len(&msg);
        self.0.push((seq, msg), size);
    }

    /// The kept signals numbered after `seen`, oldest first; all are forgotten (they go to
    /// the new socket, where they are kept again as they are sent).
    pub(super) fn after(&mut self, seen: u64) -> Vec<(u64, ServerToGuest)> {
        self.0.drain().filter(|(seq, _)| *seq > seen).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use visavis_api::signaling::SignalPayload;

    fn signal(seq: u64, pad: usize) -> ServerToGuest {
        ServerToGuest::Signal {
            payload: SignalPayload::Answer {
                sdp: "x".repeat(pad),
            },
            seq,
        }
    }

    #[test]
    fn what_the_page_did_not_see_comes_back_in_order() {
        let mut sent = Sent::default();
        for seq in 1..=5 {
            sent.keep(seq, signal(seq, 10));
        }
        let again: Vec<u64> = sent.after(3).into_iter().map(|(seq, _)| seq).collect();
        assert_eq!(again, [4, 5]);
        assert!(sent.after(0).is_empty(), "taken once");
    }

    #[test]
    fn keeps_at_most_its_bounds_and_forgets_the_oldest() {
        let mut sent = Sent::default();
        for seq in 1..=(MAX_SENT_MESSAGES as u64 + 5) {
            sent.keep(seq, signal(seq, 10));
        }
        let again = sent.after(0);
        assert_eq!(again.len(), MAX_SENT_MESSAGES);
        assert_eq!(again[0].0, 6, "the oldest five were forgotten");

        let mut sent = Sent::default();
        let big = MAX_SENT_BYTES / 4;
        for seq in 1..=8 {
            sent.keep(seq, signal(seq, big));
        }
        assert!(sent.0.bytes() <= MAX_SENT_BYTES);
        let again: Vec<u64> = sent.after(0).into_iter().map(|(seq, _)| seq).collect();
        assert_eq!(again, [6, 7, 8], "three of a quarter of the bound fit");
    }
}
