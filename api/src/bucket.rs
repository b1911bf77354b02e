//! A token bucket, the one both rendezvous (per client, per socket) and the unit (per guest)
//! limit with: up to `burst` tokens, refilled at `per_sec`. Plain struct; the time is passed
//! in as a [`Duration`] since any fixed origin (a monotonic clock's), so it runs on a test's
//! manual clock as well as on the real one.

use std::time::Duration;

/// See the module docs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    last: Duration,
    burst: f64,
    per_sec: f64,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens (at least one), refilled at `per_sec`.
    pub fn new(burst: f64, per_sec: f64, now: Duration) -> TokenBucket {
        let burst = burst.max(1.0);
        TokenBucket {
            tokens: burst,
            last: now,
            burst,
            per_sec,
        }
    }

    /// Refill for the time since the last call, then take a token if there is one.
    /// `false`: over the limit. A clock that goes back refills nothing.
    pub fn take(&mut self, now: Duration) -> bool {
        self.tokens = self.tokens_at(now);
        self.last = now.max(self.last);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Give one token back (the attempt it paid for turned out legitimate), never beyond
    /// the burst.
    pub fn give_back(&mut self) {
        self.tokens = (self.tokens + 1.0).min(self.burst);
    }

    /// Whether the bucket would be full at `now` (its owner is indistinguishable from a
    /// newcomer and can be forgotten).
    pub fn is_full_at(&self, now: Duration) -> bool {
        self.tokens_at(now) >= self.burst
    }

    fn tokens_at(&self, now: Duration) -> f64 {
        let elapsed = now.saturating_sub(self.last).as_secs_f64();
        (self.tokens + elapsed * self.per_sec).min(self.burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spends_its_burst_then_refills_at_its_rate() {
        let t = Duration::from_secs(1000);
        let mut b = TokenBucket::new(2.0, 10.0, t);
        assert!(b.take(t) && b.take(t));
        assert!(!b.take(t));
        assert!(!b.take(t + Duration::from_millis(50)));
        assert!(b.take(t + Duration::from_millis(150)));
        assert!(!b.is_full_at(t + Duration::from_millis(150)));
        assert!(b.is_full_at(t + Duration::from_secs(1)));
    }

    #[test]
    fn a_token_given_back_is_usable_and_the_burst_is_never_exceeded() {
        let t = Duration::from_secs(1000);
        let mut b = TokenBucket::new(2.0, 0.01, t);
        assert!(b.take(t) && b.take(t) && !b.take(t));
        b.give_back();
        assert!(b.take(t) && !b.take(t));
        for _ in 0..5 {
            b.give_back();
        }
        assert!(b.take(t) && b.take(t) && !b.take(t));
    }

    #[test]
    fn a_clock_going_back_refills_nothing() {
        let t = Duration::from_secs(1000);
        let mut b = TokenBucket::new(1.0, 1.0, t);
        assert!(b.take(t));
        assert!(!b.take(t - Duration::from_secs(5)));
        assert!(!b.take(t + Duration::from_millis(500)));
        assert!(b.take(t + Duration::from_secs(1)));
    }
}
