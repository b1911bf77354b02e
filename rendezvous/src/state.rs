//! State shared by every request: the validated config, the clock, the device registry, and
//! the bookkeeping (invites, connections, rate limits) behind one short-held mutex.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use visavis_api::fleet::turn::TurnMinter;
use visavis_api::signaling::IceServer;

use crate::clock::Clock;
use crate::config::{Config, EnrollmentKey, RateLimit};
use crate::devices::DeviceRegistry;
use crate::hub::Hub;
use crate::invites::{InviteError, InviteTarget, Registry};
use crate::rate_limit::RateLimiter;
use crate::token::TokenHash;

/// The mutable bookkeeping. Never held across an `.await`.
#[derive(Debug)]
pub struct Shared {
    pub registry: Registry,
    pub hub: Hub,
    /// Invite look-ups per client.
    pub limiter: RateLimiter,
    /// Authentication attempts per client and claimed unit (unit hello/enroll, fleet admin
    /// requests, the unit's id empty for those without one); a successful attempt gives its
    /// token back. A guest's phone on the store's Wi-Fi that fails as unit X does not lock
    /// out unit Y behind the same address.
    pub auth_attempts: RateLimiter<(IpAddr, String)>,
    /// All authentication attempts per client, ten times the allowance: a client cycling
    /// through made-up unit ids is still held.
    pub auth_per_address: RateLimiter,
    /// Per unit, cancelled when its session ends: closes guest sockets that never joined.
    pub session_ends: HashMap<String, CancellationToken>,
    /// Until when an address told "Not now" by a unit may not knock at it again.
    pub not_now: HashMap<(String, IpAddr), Duration>,
    /// Guest sockets open per invite (joined or not), see [`AppState::open_guest_socket`].
    pub sockets_per_invite: HashMap<TokenHash, usize>,
}

/// Most guest sockets one invite may have open at once, joined or not: a call holds at
/// most [`crate::hub::MAX_GUESTS_PER_SESSION`] guests, and as many again may be opening
/// the link or reloading the page. Without it, one link in the wrong hands held thousands
/// of sockets (each costs memory until its join deadline) from as many addresses.
pub const MAX_SOCKETS_PER_INVITE: usize = 2 * crate::hub::MAX_GUESTS_PER_SESSION;

/// One open guest socket of an invite, counted until dropped.
#[derive(Debug)]
pub struct InviteSocket {
    app: Arc<AppState>,
    invite: TokenHash,
}

impl Drop for InviteSocket {
    fn drop(&mut self) {
        let mut shared = self.app.lock();
        if let Some(open) = shared.sockets_per_invite.get_mut(&self.invite) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                shared.sockets_per_invite.remove(&self.invite);
            }
        }
    }
}

/// How long an address told "Not now" waits before it may knock at that unit again.
pub const NOT_NOW_COOL_DOWN: Duration = Duration::from_secs(60);

impl Shared {
    /// The token cancelled when `device_id`'s session ends.
    pub fn session_end(
        &mut self,
        device_id: &str,
        parent: &CancellationToken,
    ) -> CancellationToken {
        self.session_ends
            .entry(device_id.to_owned())
            .or_insert_with(|| parent.child_token())
            .clone()
    }

    /// The unit said "Not now" to `guest_id`: tell and close the guest, and keep its
    /// address from knocking again for [`NOT_NOW_COOL_DOWN`].
    pub fn deny(
        &mut self,
        device_id: &str,
        guest_id: &str,
        now: Duration,
    ) -> Result<(), crate::hub::RouteError> {
        if self.hub.forget_resumable(device_id, guest_id) {
            return Ok(());
        }
        let client = self.hub.deny(device_id, guest_id)?;
        self.not_now
            .insert((device_id.to_owned(), client), now + NOT_NOW_COOL_DOWN);
        Ok(())
    }

    /// Seconds until `client` may knock at `device_id` again, if it was told "Not now".
    pub fn cooling_down(&self, device_id: &str, client: IpAddr, now: Duration) -> Option<u64> {
        let key = (device_id.to_owned(), crate::rate_limit::key(client));
        let until = *self.not_now.get(&key)?;
        (until > now).then(|| (until - now).as_secs().max(1))
    }

    /// `device_id`'s session ended: close the sockets that never joined it.
    pub fn session_ended(&mut self, device_id: &str) {
        if let Some(token) = self.session_ends.remove(device_id) {
            token.cancel();
        }
    }
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
    /// STUN servers handed out as they are; see [`AppState::ice_servers_for`].
    pub ice_servers: Vec<IceServer>,
    /// TURN relays: credentials minted per guest and per unit.
    pub turn: Option<TurnMinter>,
    /// Whose `X-Forwarded-For` names the client.
    pub trusted_proxies: crate::client_ip::TrustedProxies,
    /// Join deadline, pings and silence for sockets.
    pub socket_timing: crate::config::SocketTiming,
    /// How long an admitted guest whose socket was lost keeps their place.
    pub guest_hold: std::time::Duration,
    /// Enrolled units (SQLite); called through `spawn_blocking`.
    pub devices: Arc<DeviceRegistry>,
    /// Checks enrollment tokens and fleet admin credentials.
    pub enrollment_key: EnrollmentKey,
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
    pub fn new(
        config: &Config,
        public_url: String,
        clock: Arc<dyn Clock>,
        devices: Arc<DeviceRegistry>,
    ) -> AppState {
        let csp = content_security_policy(&public_url);
        AppState {
            invite_ttl_secs: config.invite_ttl_secs,
            rate_limit: config.rate_limit,
            ice_servers: config.ice_servers.clone(),
            turn: config.turn.clone(),
            trusted_proxies: config.trusted_proxies.clone(),
            socket_timing: config.socket_timing,
            guest_hold: config.guest_hold,
            devices,
            enrollment_key: config.enrollment_key.clone(),
            clock,
            shutdown: CancellationToken::new(),
            sockets: TaskTracker::new(),
            csp,
            shared: Mutex::new(Shared {
                registry: Registry::new(),
                hub: Hub::new(),
                limiter: RateLimiter::new(config.rate_limit),
                auth_attempts: RateLimiter::new(config.rate_limit),
                auth_per_address: RateLimiter::new(crate::config::RateLimit {
                    burst: config.rate_limit.burst.saturating_mul(10),
                    per_minute: config.rate_limit.per_minute.saturating_mul(10),
                }),
                session_ends: HashMap::new(),
                not_now: HashMap::new(),
                sockets_per_invite: HashMap::new(),
            }),
            public_url,
        }
    }

    /// The bookkeeping. A panic while it was held cannot leave it half-updated in a way that
    /// matters more than stopping service, so a poisoned lock is simply taken over.
    pub fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The ICE servers for one party of a call (`label`: a guest id, or `unit:<device id>`):
    /// the configured STUN servers, then the TURN relays with credentials minted now for
    /// this party alone.
    pub fn ice_servers_for(&self, label: &str) -> Vec<IceServer> {
        let mut servers = self.ice_servers.clone();
        if let Some(turn) = &self.turn {
            servers.extend(turn.ice_servers(label, self.clock.now_secs()));
        }
        servers
    }

    /// Count a guest socket of the invite `token` for as long as the returned value lives;
    /// `None` when the invite already has [`MAX_SOCKETS_PER_INVITE`] open.
    pub fn open_guest_socket(self: &Arc<Self>, token: &str) -> Option<InviteSocket> {
        let invite = TokenHash::of(token);
        let mut shared = self.lock();
        let open = shared.sockets_per_invite.entry(invite).or_default();
        if *open >= MAX_SOCKETS_PER_INVITE {
            return None;
        }
        *open += 1;
        Some(InviteSocket {
            app: self.clone(),
            invite,
        })
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

    /// The unit was revoked: end its session and close its connection (if any) with
    /// `error{revoked}`. Returns whether it was connected.
    pub fn throw_out_revoked(&self, device_id: &str) -> bool {
        let mut shared = self.lock();
        shared.registry.end_session(device_id);
        shared.session_ended(device_id);
        shared.hub.revoke_device(device_id)
    }

    /// Start an authentication attempt (a unit's hello or enroll, a fleet admin request):
    /// takes one of the client's tokens, `false` when it has none left. Call
    /// [`auth_succeeded`](Self::auth_succeeded) when the attempt succeeds, so only failures
    /// (guessed tokens, signatures, credentials) use up the allowance, while attempts in
    /// flight still count.
    pub fn begin_auth(&self, ip: IpAddr, unit: &str) -> bool {
        let now = self.clock.now();
        let mut shared = self.lock();
        shared.auth_per_address.check(ip, now)
            && shared.auth_attempts.check((ip, unit.to_owned()), now)
    }

    /// The attempt [`begin_auth`](Self::begin_auth) paid for succeeded: give its tokens back.
    pub fn auth_succeeded(&self, ip: IpAddr, unit: &str) {
        let mut shared = self.lock();
        shared.auth_per_address.refund(ip);
        shared.auth_attempts.refund((ip, unit.to_owned()));
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
        let db = std::env::temp_dir().join(format!(
            "visavis-state-{}.sqlite3",
            visavis_api::fleet::b64(&visavis_api::fleet::random::<6>())
        ));
        let config = Config::loopback([1; 32], db.clone());
        AppState::new(
            &config,
            "http://127.0.0.1:1".into(),
            Arc::new(ManualClock::new(Duration::from_secs(1_000))),
            Arc::new(DeviceRegistry::open(&db).unwrap()),
        )
    }

    #[test]
    fn each_party_gets_its_own_turn_credentials_at_the_clock_s_time() {
        let mut s = state();
        s.turn = Some(TurnMinter {
            urls: vec!["turn:198.18.0.3:3478?transport=udp".into()],
            secret: visavis_api::fleet::turn::TurnSecret::new("0123456789abcdef"),
            ttl_secs: 600,
        });
        let guest = s.ice_servers_for("g-1");
        let unit = s.ice_servers_for("unit:u-1");
        assert_eq!(guest[0].username.as_deref(), Some("1600:g-1"));
        assert_eq!(unit[0].username.as_deref(), Some("1600:unit:u-1"));
        assert_ne!(guest[0].credential, unit[0].credential);
    }

    #[test]
    fn csp_allows_the_public_websocket_origin() {
        let s = state();
        assert!(s.csp.contains("connect-src 'self' ws://127.0.0.1:1;"));
        assert!(s.csp.contains("script-src 'self';"));
    }
}
