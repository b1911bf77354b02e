//! The one-time enrollment token a seed carries.
//!
//! `provision` issues it with the fleet's enrollment key; rendezvous, holding the same key,
//! checks it when the unit enrolls its public key, and records its nonce so it works once.
//! It is `vve1.<claims>.<mac>`: the claims as base64url JSON, and an HMAC-SHA256 of
//! everything before the last dot. The claims name the unit, its store, location and mode,
//! so the registry learns them from IT, not from the unit.

use hmac::{KeyInit as _, Mac as _};
use serde::{Deserialize, Serialize};

use super::{b64, unb64};
use crate::install::Mode;

const PREFIX: &str = "vve1.";

/// What an enrollment token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    pub device_id: String,
    pub store: String,
    pub location: String,
    pub mode: Mode,
    /// Unix time, seconds, after which the token is refused.
    pub expires_at: u64,
    /// 128 random bits, base64url: what makes the token single-use.
    pub nonce: String,
}

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("this is not a Visavis enrollment token (expected vve1.<claims>.<mac>)")]
    Malformed,
    #[error(
        "the enrollment token was not issued with this server's enrollment key: re-run `provision bundle` with the key this rendezvous uses"
    )]
    WrongKey,
    #[error(
        "the enrollment token expired at {expires_at} (Unix time): re-run `provision bundle` and write the new seed"
    )]
    Expired { expires_at: u64 },
}

fn mac(key: &[u8; 32], signed: &str) -> hmac::Hmac<sha2::Sha256> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(signed.as_bytes());
    mac
}

/// Issue a token for `claims`.
pub fn issue(key: &[u8; 32], claims: &Claims) -> String {
    let json = serde_json::to_vec(claims).expect("claims serialise");
    let signed = format!("{PREFIX}{}", b64(&json));
    let tag = mac(key, &signed).finalize().into_bytes();
    format!("{signed}.{}", b64(&tag))
}

/// Read the claims without checking the MAC or expiry: for `provision` deciding whether
/// a token it issued earlier can be kept. Never trust the result for access.
pub fn peek(token: &str) -> Result<Claims, TokenError> {
    let (signed, _) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let body = signed.strip_prefix(PREFIX).ok_or(TokenError::Malformed)?;
    let json = unb64(body).ok_or(TokenError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)
}

/// Check a token's MAC under `key` and its expiry against `now` (Unix seconds).
pub fn verify(key: &[u8; 32], token: &str, now: u64) -> Result<Claims, TokenError> {
    let (signed, tag) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let tag = unb64(tag).ok_or(TokenError::Malformed)?;
    let claims = peek(token)?;
    mac(key, signed)
        .verify_slice(&tag)
        .map_err(|_| TokenError::WrongKey)?;
    if now >= claims.expires_at {
        return Err(TokenError::Expired {
            expires_at: claims.expires_at,
        });
    }
    Ok(claims)
}

/// A fresh nonce for [`Claims::nonce`].
pub fn new_nonce() -> String {
    b64(&super::random::<16>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::random;

    fn claims() -> Claims {
        Claims {
            device_id: "paris-09-cabine-3".into(),
            store: "Paris 9e".into(),
            location: "Cabine 3".into(),
            mode: Mode::FittingRoom,
            expires_at: 2_000,
            nonce: new_nonce(),
        }
    }

    #[test]
    fn issued_tokens_verify_under_their_key_only() {
        let key = random::<32>();
        let token = issue(&key, &claims());
        assert_eq!(verify(&key, &token, 1_000).unwrap(), claims_of(&token));
        assert_eq!(
            verify(&random::<32>(), &token, 1_000),
            Err(TokenError::WrongKey)
        );
        assert_eq!(
            verify(&key, &token, 2_000),
            Err(TokenError::Expired { expires_at: 2_000 })
        );
    }

    fn claims_of(token: &str) -> Claims {
        peek(token).unwrap()
    }

    #[test]
    fn tampered_claims_are_refused() {
        let key = random::<32>();
        let token = issue(&key, &claims());
        let (_, tag) = token.rsplit_once('.').unwrap();
        let mut other = claims();
        other.device_id = "lyon-1".into();
        let forged = format!("vve1.{}.{tag}", b64(&serde_json::to_vec(&other).unwrap()));
        assert_eq!(verify(&key, &forged, 1_000), Err(TokenError::WrongKey));
        for bad in ["", "vve1.", "vve1.x.y", "abc.def", "vve1.e30.AAAA"] {
            assert_eq!(
                verify(&key, bad, 1_000),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
    }
}
