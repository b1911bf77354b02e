//! Invite and session bookkeeping: a plain struct, `now` passed in, no I/O.
//!
//! A unit's session starts with its first invite after the last `EndSession`. Every invite is
//! bound to the session that was current when it was made. Tokens are stored by their
//! SHA-256 only. Ending a session marks its invites as ended; they are kept (as hashes) until
//! a while after their expiry so a reused link says "ended" or "expired" rather than
//! "unknown", then pruned.

use std::collections::HashMap;

use visavis_api::signaling::ErrorCode;

use crate::token::{self, TokenHash};

/// How long an expired or ended invite is remembered after its expiry, in seconds.
pub const REMEMBER_AFTER_EXPIRY_SECS: u64 = 3600;
/// Most invites one session may hold (a guard against a misbehaving unit).
pub const MAX_INVITES_PER_SESSION: usize = 1000;

/// Identifies one session of one unit (unique for the life of the process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

/// Why an invite cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    #[error("unknown invite")]
    Unknown,
    #[error("invite expired")]
    Expired,
    #[error("the session of this invite has ended")]
    Ended,
}

impl InviteError {
    /// The `data-reason` of the error page.
    pub fn reason(self) -> &'static str {
        match self {
            InviteError::Unknown => "unknown",
            InviteError::Expired => "expired",
            InviteError::Ended => "ended",
        }
    }
}

/// A live invite: which unit and session it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteTarget {
    pub device_id: String,
    pub session: SessionId,
    pub expires_at: u64,
}

/// An invite was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CreateError {
    #[error("ttl_secs must be at least 1")]
    ZeroTtl,
    #[error("this session already has {MAX_INVITES_PER_SESSION} invites")]
    TooMany,
}

impl CreateError {
    /// The error code sent to the unit.
    pub fn code(self) -> ErrorCode {
        match self {
            CreateError::ZeroTtl => ErrorCode::InvalidField,
            CreateError::TooMany => ErrorCode::TooManyInvites,
        }
    }
}

#[derive(Debug, Clone)]
struct Invite {
    device_id: String,
    session: SessionId,
    expires_at: u64,
    ended: bool,
}

/// Invites of all units, and each unit's current session.
#[derive(Debug, Default)]
pub struct Registry {
    invites: HashMap<TokenHash, Invite>,
    current: HashMap<String, SessionId>,
    next_session: u64,
}

impl Registry {
    pub fn new() -> Self {
        Registry::default()
    }

    /// Record a new invite for `device_id`'s current session (starting one if needed).
    /// `ttl_secs` is the already-capped lifetime.
    pub fn create(
        &mut self,
        device_id: &str,
        token: &str,
        ttl_secs: u64,
        now: u64,
    ) -> Result<InviteTarget, CreateError> {
        if ttl_secs == 0 {
            return Err(CreateError::ZeroTtl);
        }
        let session = self.session_for(device_id);
        let held = self
            .invites
            .values()
            .filter(|i| i.session == session)
            .count();
        if held >= MAX_INVITES_PER_SESSION {
            return Err(CreateError::TooMany);
        }
        let expires_at = now.saturating_add(ttl_secs);
        self.invites.insert(
            TokenHash::of(token),
            Invite {
                device_id: device_id.to_owned(),
                session,
                expires_at,
                ended: false,
            },
        );
        Ok(InviteTarget {
            device_id: device_id.to_owned(),
            session,
            expires_at,
        })
    }

    /// What a token opens, if it is live.
    pub fn check(&self, token: &str, now: u64) -> Result<InviteTarget, InviteError> {
        if !token::is_well_formed(token) {
            return Err(InviteError::Unknown);
        }
        let invite = self
            .invites
            .get(&TokenHash::of(token))
            .ok_or(InviteError::Unknown)?;
        if invite.ended {
            return Err(InviteError::Ended);
        }
        if now >= invite.expires_at {
            return Err(InviteError::Expired);
        }
        Ok(InviteTarget {
            device_id: invite.device_id.clone(),
            session: invite.session,
            expires_at: invite.expires_at,
        })
    }

    /// The unit's current session, started now if it has none (a unit restoring its call
    /// after rendezvous restarted).
    pub fn session_for(&mut self, device_id: &str) -> SessionId {
        if let Some(s) = self.current.get(device_id) {
            return *s;
        }
        self.next_session += 1;
        let s = SessionId(self.next_session);
        self.current.insert(device_id.to_owned(), s);
        s
    }

    /// The unit's current session, if it has one.
    pub fn current_session(&self, device_id: &str) -> Option<SessionId> {
        self.current.get(device_id).copied()
    }

    /// End the unit's current session: its invites stop working. Returns the session ended,
    /// or `None` if there was none.
    pub fn end_session(&mut self, device_id: &str) -> Option<SessionId> {
        let session = self.current.remove(device_id)?;
        for invite in self.invites.values_mut() {
            if invite.session == session {
                invite.ended = true;
            }
        }
        Some(session)
    }

    /// Forget invites that expired more than [`REMEMBER_AFTER_EXPIRY_SECS`] ago. Returns how
    /// many were removed.
    pub fn prune(&mut self, now: u64) -> usize {
        let before = self.invites.len();
        self.invites
            .retain(|_, i| now < i.expires_at.saturating_add(REMEMBER_AFTER_EXPIRY_SECS));
        before - self.invites.len()
    }

    /// Number of invites remembered (live, expired or ended).
    pub fn len(&self) -> usize {
        self.invites.len()
    }

    pub fn is_empty(&self) -> bool {
        self.invites.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000;

    fn tok(c: char) -> String {
        std::iter::repeat_n(c, token::TOKEN_CHARS).collect()
    }

    #[test]
    fn live_invite_opens_its_device_and_session() {
        let mut r = Registry::new();
        let made = r.create("unit", &tok('a'), 900, T0).unwrap();
        assert_eq!(made.expires_at, T0 + 900);
        let got = r.check(&tok('a'), T0 + 899).unwrap();
        assert_eq!(got, made);
        assert_eq!(r.current_session("unit"), Some(made.session));
    }

    #[test]
    fn unknown_forged_and_malformed_tokens_are_unknown() {
        let mut r = Registry::new();
        r.create("unit", &tok('a'), 900, T0).unwrap();
        assert_eq!(r.check(&tok('b'), T0), Err(InviteError::Unknown));
        assert_eq!(r.check("nope", T0), Err(InviteError::Unknown));
        assert_eq!(r.check("", T0), Err(InviteError::Unknown));
    }

    #[test]
    fn invites_expire_at_their_time() {
        let mut r = Registry::new();
        r.create("unit", &tok('a'), 10, T0).unwrap();
        assert!(r.check(&tok('a'), T0 + 9).is_ok());
        assert_eq!(r.check(&tok('a'), T0 + 10), Err(InviteError::Expired));
        assert_eq!(
            r.create("unit", &tok('b'), 0, T0),
            Err(CreateError::ZeroTtl)
        );
    }

    #[test]
    fn invites_of_one_session_share_it_until_it_ends() {
        let mut r = Registry::new();
        let a = r.create("unit", &tok('a'), 900, T0).unwrap();
        let b = r.create("unit", &tok('b'), 900, T0).unwrap();
        let other = r.create("other", &tok('o'), 900, T0).unwrap();
        assert_eq!(a.session, b.session);
        assert_ne!(a.session, other.session);

        assert_eq!(r.end_session("unit"), Some(a.session));
        assert_eq!(r.check(&tok('a'), T0 + 1), Err(InviteError::Ended));
        assert_eq!(r.check(&tok('b'), T0 + 1), Err(InviteError::Ended));
        assert!(
            r.check(&tok('o'), T0 + 1).is_ok(),
            "other units are untouched"
        );
        assert_eq!(r.end_session("unit"), None);

        let c = r.create("unit", &tok('c'), 900, T0 + 2).unwrap();
        assert_ne!(c.session, a.session, "a new session starts after the end");
        assert!(r.check(&tok('c'), T0 + 3).is_ok());
        assert_eq!(r.check(&tok('a'), T0 + 3), Err(InviteError::Ended));
    }

    #[test]
    fn ended_and_expired_invites_are_remembered_then_pruned() {
        let mut r = Registry::new();
        r.create("unit", &tok('a'), 10, T0).unwrap();
        r.create("unit", &tok('b'), 100, T0).unwrap();
        r.end_session("unit");
        r.create("unit", &tok('c'), 10, T0).unwrap();

        assert_eq!(r.prune(T0 + 10 + REMEMBER_AFTER_EXPIRY_SECS - 1), 0);
        assert_eq!(r.check(&tok('a'), T0 + 50), Err(InviteError::Ended));
        assert_eq!(r.check(&tok('c'), T0 + 50), Err(InviteError::Expired));

        assert_eq!(r.prune(T0 + 10 + REMEMBER_AFTER_EXPIRY_SECS), 2);
        assert_eq!(r.check(&tok('a'), T0 + 50), Err(InviteError::Unknown));
        assert_eq!(r.check(&tok('b'), T0 + 50), Err(InviteError::Ended));
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn tokens_are_not_stored_in_plain_form() {
        let mut r = Registry::new();
        r.create("unit", &tok('a'), 10, T0).unwrap();
        assert!(!format!("{r:?}").contains(&tok('a')));
    }

    #[test]
    fn a_session_holds_a_bounded_number_of_invites() {
        let mut r = Registry::new();
        for i in 0..MAX_INVITES_PER_SESSION {
            let t = format!("{i:0>43}");
            r.create("unit", &t, 10, T0).unwrap();
        }
        assert_eq!(
            r.create("unit", &tok('z'), 10, T0),
            Err(CreateError::TooMany)
        );
    }
}
