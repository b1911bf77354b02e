//! Per-guest allowances for what an admitted guest sends over the data channel: chat lines,
//! reactions and votes each go through a token bucket of their own, so one guest's page (or
//! a script in its place) cannot flood the screen, the chat kept for the session or the
//! event stream. What is over the allowance is dropped, with one log line per guest and
//! kind. Sans-IO: the caller gives the time.

use std::collections::HashMap;
use std::time::Instant;

use visavis_api::bucket::TokenBucket;
use visavis_api::signaling::GuestId;

/// What a guest sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Chat,
    Reaction,
    Vote,
}

impl Kind {
    /// (burst, per second): a person typing, tapping hearts, changing their mind.
    fn allowance(self) -> (f64, f64) {
        match self {
            Kind::Chat => (5.0, 1.0),
            Kind::Reaction => (10.0, 3.0),
            Kind::Vote => (5.0, 1.0),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: TokenBucket,
    warned: bool,
}

/// Every guest's buckets.
#[derive(Debug, Default)]
pub struct Allowances {
    buckets: HashMap<(GuestId, Kind), Bucket>,
    /// The buckets' clock counts from the first call.
    origin: Option<Instant>,
}

impl Allowances {
    /// Whether `guest_id` may send one more `kind` now.
    pub fn allow(&mut self, guest_id: &GuestId, kind: Kind, now: Instant) -> bool {
        let (burst, per_sec) = kind.allowance();
        let now = now.saturating_duration_since(*self.origin.get_or_insert(now));
        let bucket = self
            .buckets
            .entry((guest_id.clone(), kind))
            .or_insert(Bucket {
                tokens: TokenBucket::new(burst, per_sec, now),
                warned: false,
            });
        if bucket.tokens.take(now) {
            return true;
        }
        if !std::mem::replace(&mut bucket.warned, true) {
            tracing::warn!(guest = %guest_id, ?kind, "a guest sends faster than a person does: dropping the excess");
        }
        false
    }

    /// The guest left: forget their buckets.
    pub fn forget(&mut self, guest_id: &GuestId) {
        self.buckets.retain(|(g, _), _| g != guest_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_rate_and_each_guest_and_kind_on_its_own() {
        let mut a = Allowances::default();
        let t = Instant::now();
        let g1: GuestId = "g1".into();
        let g2: GuestId = "g2".into();
        let allowed = (0..100).filter(|_| a.allow(&g1, Kind::Reaction, t)).count();
        assert_eq!(allowed, 10);
        assert!(
            a.allow(&g2, Kind::Reaction, t),
            "another guest has their own"
        );
        assert!(a.allow(&g1, Kind::Chat, t), "another kind has its own");
        assert!(!a.allow(&g1, Kind::Reaction, t + Duration::from_millis(200)));
        assert!(a.allow(&g1, Kind::Reaction, t + Duration::from_millis(400)));
        a.forget(&g1);
        assert_eq!(
            (0..20).filter(|_| a.allow(&g1, Kind::Reaction, t)).count(),
            10,
            "a guest who left and came back starts afresh"
        );
    }
}
