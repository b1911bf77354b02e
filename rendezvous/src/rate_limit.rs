//! Per-client token buckets: one limiter for invite look-ups (`/i/…` and `/ws/guest/…`),
//! another for authentication attempts (a unit's hello or enroll, a fleet admin request).
//!
//! Each client address holds up to `burst` tokens, refilled at `per_minute`. An attempt
//! that turns out legitimate can give its token back ([`RateLimiter::refund`]), so only
//! failures use up a client's allowance while attempts in flight still count. IPv6 clients
//! are grouped by their /64, since one host usually owns a whole /64. Plain struct, `now`
//! passed in.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use crate::config::RateLimit;

/// Buckets kept before an early prune is forced (bounds memory under a spray of addresses).
const MAX_BUCKETS: usize = 100_000;

/// One client's or one socket's own bucket: `burst` tokens, refilled at `per_sec`.
pub use visavis_api::bucket::TokenBucket;

/// What a limiter keys its buckets on: a client address (IPv6 grouped by /64), or an
/// address with the unit it claims to be.
pub trait LimitKey: Clone + Eq + std::hash::Hash {
    /// The form buckets are kept under.
    fn normalised(&self) -> Self;
}

impl LimitKey for IpAddr {
    fn normalised(&self) -> Self {
        key(*self)
    }
}

impl LimitKey for (IpAddr, String) {
    fn normalised(&self) -> Self {
        (key(self.0), self.1.clone())
    }
}

/// Token buckets keyed by client address (or address and claimed unit).
#[derive(Debug)]
pub struct RateLimiter<K: LimitKey = IpAddr> {
    burst: f64,
    per_sec: f64,
    buckets: HashMap<K, TokenBucket>,
}

impl<K: LimitKey> RateLimiter<K> {
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter {
            burst: f64::from(limit.burst.max(1)),
            per_sec: f64::from(limit.per_minute.max(1)) / 60.0,
            buckets: HashMap::new(),
        }
    }

    /// Take one token for `ip`. `false`: the client is over its limit.
    pub fn check(&mut self, ip: K, now: Duration) -> bool {
        if self.buckets.len() >= MAX_BUCKETS {
            self.prune(now);
        }
        let (burst, per_sec) = (self.burst, self.per_sec);
        self.buckets
            .entry(ip.normalised())
            .or_insert_with(|| TokenBucket::new(burst, per_sec, now))
            .take(now)
    }

    /// Give back the token a [`check`](Self::check) took for `ip` (the attempt it paid for
    /// succeeded). Never beyond `burst`.
    pub fn refund(&mut self, ip: K) {
        if let Some(bucket) = self.buckets.get_mut(&ip.normalised()) {
            bucket.give_back();
        }
    }

    /// Forget clients whose bucket has refilled completely (they are indistinguishable from
    /// new clients).
    pub fn prune(&mut self, now: Duration) {
        self.buckets.retain(|_, b| !b.is_full_at(now));
    }

    /// Number of clients tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

pub(crate) fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst: u32, per_minute: u32) -> RateLimiter<IpAddr> {
        RateLimiter::new(RateLimit { burst, per_minute })
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn burst_then_refill() {
        let mut l = limiter(3, 60);
        let t = Duration::from_secs(1000);
        assert!(l.check(A, t) && l.check(A, t) && l.check(A, t));
        assert!(!l.check(A, t));
        assert!(l.check(B, t), "other clients have their own bucket");
        assert!(!l.check(A, t + Duration::from_millis(900)));
        assert!(l.check(A, t + Duration::from_millis(2000)));
    }

    #[test]
    fn refunds_give_back_one_token_up_to_the_burst() {
        let mut l = limiter(2, 1);
        let t = Duration::from_secs(1000);
        assert!(l.check(A, t) && l.check(A, t));
        assert!(!l.check(A, t));
        l.refund(A);
        assert!(l.check(A, t), "the refunded token is usable");
        assert!(!l.check(A, t));
        l.refund(A);
        l.refund(A);
        l.refund(A);
        assert!(l.check(A, t) && l.check(A, t));
        assert!(!l.check(A, t), "refunds never exceed the burst");
        l.refund(B);
        assert_eq!(
            l.tracked(),
            1,
            "a refund for an unknown client creates nothing"
        );
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let mut l = limiter(1, 1);
        let t = Duration::from_secs(1000);
        assert!(l.check("2001:db8::1".parse().unwrap(), t));
        assert!(!l.check("2001:db8::2".parse().unwrap(), t));
        assert!(l.check("2001:db8:0:1::1".parse().unwrap(), t));
    }

    #[test]
    fn full_buckets_are_pruned() {
        let mut l = limiter(2, 60);
        let t = Duration::from_secs(1000);
        l.check(A, t);
        l.prune(t);
        assert_eq!(l.tracked(), 1);
        l.prune(t + Duration::from_secs(2));
        assert_eq!(l.tracked(), 0);
    }
}
