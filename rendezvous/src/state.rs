//! State shared by every request: the validated config, the clock, and the bookkeeping
//! (invites, connections, rate limits) behind one short-held mutex.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use subtle::{Choice, ConstantTimeEq};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use visavis_api::signaling::IceServer;

use crate::clock::Clock;
use crate::config::{Config, RateLimit};
use crate::hub::Hub;
use crate::invites::{InviteError, InviteTarget, Registry};
use crate::rate_limit::RateLimiter;
use crate::token;

/// The mutable bookkeeping. Never held across an `.await`.
#[derive(Debug)]
pub struct Shared {
    pub registry: Registry,
    pub hub: Hub,
    pub limiter: RateLimiter,
}

/// Why a token look-up was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupError {
    RateLimited,
    Invite(InviteError),
}

/// Everything a handler needs.
#[derive(Debug)]
pub struct AppState {
    /// Base of invite links, without a trailing slash.
    pub public_url: String,
    pub invite_ttl_secs: u64,
    pub rate_limit: RateLimit,
    pub ice_servers: Vec<IceServer>,
    /// Device id → SHA-256 of its secret.
    devices: HashMap<String, [u8; 32]>,
    pub clock: Arc<dyn Clock>,
    /// Cancelled when the server shuts down; every socket holds a child token.
    pub shutdown: CancellationToken,
    /// Counts open WebSockets so shutdown can wait for their close frames.
    pub sockets: TaskTracker,
    /// The Content-Security-Policy header value.
    pub csp: String,
    shared: Mutex<Shared>,
}

impl AppState {
    pub fn new(config: &Config, public_url: String, clock: Arc<dyn Clock>) -> AppState {
        let csp = content_security_policy(&public_url);
        AppState {
            invite_ttl_secs: config.invite_ttl_secs,
            rate_limit: config.rate_limit,
            ice_servers: config.ice_servers.clone(),
            devices: config
                .devices
                .iter()
                .map(|d| (d.id.clone(), d.secret_sha256))
                .collect(),
            clock,
            shutdown: CancellationToken::new(),
            sockets: TaskTracker::new(),
            csp,
            shared: Mutex::new(Shared {
                registry: Registry::new(),
                hub: Hub::new(),
                limiter: RateLimiter::new(config.rate_limit),
            }),
            public_url,
        }
    }

    /// The bookkeeping. A panic while it was held cannot leave it half-updated in a way that
    /// matters more than stopping service, so a poisoned lock is simply taken over.
    pub fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rate-limit the client, then check the token.
    pub fn look_up(&self, ip: IpAddr, token: &str) -> Result<InviteTarget, LookupError> {
        let now = self.clock.now();
        let mut shared = self.lock();
        if !shared.limiter.check(ip, now) {
            return Err(LookupError::RateLimited);
        }
        shared
            .registry
            .check(token, now.as_secs())
            .map_err(LookupError::Invite)
    }

    /// Whether `secret` is the secret of `device_id`. Compares in constant time, and goes
    /// through every configured unit so timing does not reveal which ids exist.
    pub fn authenticate(&self, device_id: &str, secret: &str) -> bool {
        let given = token::sha256(secret.as_bytes());
        let mut ok = Choice::from(0);
        for (id, expected) in &self.devices {
            ok |= id.as_bytes().ct_eq(device_id.as_bytes()) & expected.ct_eq(&given);
        }
        bool::from(ok)
    }
}

/// A strict policy: everything from this origin only, WebSockets to this origin (and to the
/// public URL when a proxy puts rendezvous under another name), no inline code, no framing.
fn content_security_policy(public_url: &str) -> String {
    let ws = public_url
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         media-src 'self' blob: mediastream:; connect-src 'self' {ws}; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::time::Duration;

    fn state() -> AppState {
        let config = Config::loopback("unit", "s3cret");
        AppState::new(
            &config,
            "http://127.0.0.1:1".into(),
            Arc::new(ManualClock::new(Duration::from_secs(1_000))),
        )
    }

    #[test]
    fn authentication_needs_id_and_secret() {
        let s = state();
        assert!(s.authenticate("unit", "s3cret"));
        assert!(!s.authenticate("unit", "s3cret "));
        assert!(!s.authenticate("other", "s3cret"));
        assert!(!s.authenticate("", ""));
    }

    #[test]
    fn csp_allows_the_public_websocket_origin() {
        let s = state();
        assert!(s.csp.contains("connect-src 'self' ws://127.0.0.1:1;"));
        assert!(s.csp.contains("script-src 'self';"));
    }
}
