//! Fleet identity: what `provision`, `applianced` and rendezvous must agree on, byte for byte.
//!
//! - [`keys`]: 32-byte key files (fleet signing key, enrollment key, a unit's own key) and
//!   the unit's ed25519 [`DeviceKey`](keys::DeviceKey).
//! - [`enrollment`]: the one-time enrollment token a seed carries, issued by `provision`
//!   with the fleet's enrollment key and checked by rendezvous with the same key.
//! - [`auth`]: the challenge a unit signs to connect, and the bearer credential fleet admin
//!   requests (revoke, list) carry.
//! - [`seed`]: the signed per-device seed IT writes to a boot partition.
//! - [`admin`]: the fleet admin API's answers; [`atomic`]: crash-safe file writes.
//! - [`turn`]: short-lived TURN credentials (coturn's `use-auth-secret`), minted by
//!   rendezvous for guests and units, and by a unit from its seed's secret.
//!
//! Compiled with the `fleet` feature only, so the kiosk does not build any cryptography.

pub mod admin;
pub mod atomic;
pub mod auth;
pub mod enrollment;
pub mod keys;
pub mod seed;
pub mod turn;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Base64url without padding: how every key, token and signature is written.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode base64url without padding, or `None`.
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.as_bytes()).ok()
}

/// `N` bytes from the operating system's random source.
///
/// # Panics
/// When the operating system has no random source: nothing secure can be done without one.
pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source must be available");
    bytes
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A device id that breaks the rule [`check_device_id`] states.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a device id: use 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit"
)]
pub struct InvalidDeviceId(pub String);

/// Why a device id is refused, or `Ok`. The same rule everywhere a device id is written:
/// 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting with a letter or digit.
pub fn check_device_id(id: &str) -> Result<(), InvalidDeviceId> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(InvalidDeviceId(id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_ids() {
        assert!(check_device_id("paris-09-cabine-3").is_ok());
        assert!(check_device_id("A.b_c").is_ok());
        for bad in ["", "-x", "a b", "é", &"x".repeat(65), "a/b"] {
            assert_eq!(
                check_device_id(bad),
                Err(InvalidDeviceId(bad.to_owned())),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn base64url_round_trip() {
        let bytes = random::<32>();
        assert_eq!(unb64(&b64(&bytes)).unwrap(), bytes);
        assert!(unb64("not base64!").is_none());
        assert_ne!(random::<32>(), random::<32>());
    }
}
