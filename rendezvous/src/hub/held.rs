//! What the unit sends a guest while the guest's place is held (its socket was lost and
//! the page has not resumed yet): ICE candidates, the answer to the offer the page sent
//! just before its connection dropped, `unit_away`/`unit_back`. They wait here and go to
//! the page, in order, right after it resumes, before anything newer.
//!
//! Bounded: at most [`MAX_HELD_MESSAGES`] messages and [`MAX_HELD_BYTES`] bytes (as sent,
//! JSON) per held guest; beyond either, the oldest are dropped (the page's ICE restart
//! makes up for lost candidates), and that is logged once per hold with the guest's id,
//! never the messages. When the hold ends without a resume, the queue goes with the place.

use std::collections::VecDeque;

use visavis_api::signaling::ServerToGuest;

use super::{HoldId, Outbound};

/// Most messages kept for one held guest.
pub const MAX_HELD_MESSAGES: usize = 64;
/// Most bytes (the messages as JSON) kept for one held guest.
pub const MAX_HELD_BYTES: usize = 256 * 1024;

/// Messages for one guest, oldest first, at most `max_messages` of them and `max_bytes` of
/// their sizes (as JSON): beyond either, the oldest are dropped. What a hold keeps, and what
/// [`super::sent`] keeps.
#[derive(Debug)]
pub(super) struct Bounded<T> {
    queue: VecDeque<(T, usize)>,
    bytes: usize,
    max_messages: usize,
    max_bytes: usize,
}

impl<T> Bounded<T> {
    pub(super) fn new(max_messages: usize, max_bytes: usize) -> Self {
        Bounded {
            queue: VecDeque::new(),
            bytes: 0,
            max_messages,
            max_bytes,
        }
    }

    /// Keep `item`, `size` bytes as JSON; returns whether older ones were dropped for it.
    pub(super) fn push(&mut self, item: T, size: usize) -> bool {
        self.queue.push_back((item, size));
        self.bytes += size;
        let mut dropped = false;
        while self.queue.len() > self.max_messages || self.bytes > self.max_bytes {
            let Some((_, size)) = self.queue.pop_front() else {
                break;
            };
            self.bytes -= size;
            dropped = true;
        }
        dropped
    }

    /// The kept items, oldest first (the queue is emptied).
    pub(super) fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.bytes = 0;
        self.queue.drain(..).map(|(item, _)| item)
    }

    /// The kept items, oldest first.
    pub(super) fn into_items(self) -> impl Iterator<Item = T> {
        self.queue.into_iter().map(|(item, _)| item)
    }

    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.queue.len()
    }
}

/// One hold of a guest's place, and what the unit sent the guest during it.
#[derive(Debug)]
pub(super) struct Hold {
    pub(super) id: HoldId,
    queue: Bounded<Outbound<ServerToGuest>>,
    /// Some message was dropped during this hold (logged once).
    dropped: bool,
}

impl Hold {
    pub(super) fn new(id: HoldId) -> Self {
        Hold {
            id,
            queue: Bounded::new(MAX_HELD_MESSAGES, MAX_HELD_BYTES),
            dropped: false,
        }
    }

    /// Keep `out` for `guest_id`, dropping the oldest beyond the bounds.
    pub(super) fn keep(&mut self, guest_id: &str, out: Outbound<ServerToGuest>) {
        let size = json_len(&out.msg);
        if self.queue.push(out, size) && !self.dropped {
            self.dropped = true;
            tracing::warn!(
                guest = %guest_id,
                "more than {MAX_HELD_MESSAGES} messages or {MAX_HELD_BYTES} bytes for a guest \
                 whose place is held: dropping the oldest"
            );
        }
    }

    /// The kept messages, oldest first (the queue is emptied).
    pub(super) fn take(self) -> impl Iterator<Item = Outbound<ServerToGuest>> {
        self.queue.into_items()
    }

    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.queue.bytes()
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.queue.len()
    }
}

/// Length of `msg` as JSON, as the socket will send it.
pub(super) fn json_len(msg: &ServerToGuest) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail, and these messages always serialise.
    let _ = serde_json::to_writer(&mut count, msg);
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use visavis_api::signaling::SignalPayload;

    fn candidate(i: usize, pad: usize) -> Outbound<ServerToGuest> {
        Outbound::keep(ServerToGuest::Signal {
            payload: SignalPayload::Offer {
                sdp: format!("{i:05}{}", "x".repeat(pad)),
            },
            seq: i as u64 + 1,
        })
    }

    fn sdp_of(out: &Outbound<ServerToGuest>) -> &str {
        match &out.msg {
            ServerToGuest::Signal {
                payload: SignalPayload::Offer { sdp },
                ..
            } => sdp,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn keeps_messages_in_order_and_counts_their_bytes() {
        let mut hold = Hold::new(HoldId(1));
        hold.keep("g1", candidate(0, 0));
        hold.keep("g1", Outbound::keep(ServerToGuest::UnitAway));
        let sent: usize = [
            serde_json::to_string(&candidate(0, 0).msg).unwrap_or_default(),
            serde_json::to_string(&ServerToGuest::UnitAway).unwrap_or_default(),
        ]
        .iter()
        .map(String::len)
        .sum();
        assert_eq!(hold.bytes(), sent);
        let out: Vec<_> = hold.take().collect();
        assert_eq!(
            out,
            vec![candidate(0, 0), Outbound::keep(ServerToGuest::UnitAway)]
        );
    }

    #[test]
    fn beyond_the_count_the_oldest_go() {
        let mut hold = Hold::new(HoldId(1));
        for i in 0..MAX_HELD_MESSAGES + 10 {
            hold.keep("g1", candidate(i, 0));
        }
        assert_eq!(hold.len(), MAX_HELD_MESSAGES);
        let out: Vec<_> = hold.take().collect();
        assert_eq!(sdp_of(&out[0]), "00010");
        assert_eq!(sdp_of(&out[MAX_HELD_MESSAGES - 1]), "00073");
    }

    #[test]
    fn beyond_the_bytes_the_oldest_go() {
        let mut hold = Hold::new(HoldId(1));
        // Ten messages of a bit more than 60 KiB: four fit in 256 KiB.
        for i in 0..10 {
            hold.keep("g1", candidate(i, 60 * 1024));
        }
        assert!(hold.bytes() <= MAX_HELD_BYTES);
        assert_eq!(hold.len(), 4);
        let first: Vec<_> = hold.take().map(|o| sdp_of(&o)[..5].to_owned()).collect();
        assert_eq!(first, ["00006", "00007", "00008", "00009"]);
    }
}
