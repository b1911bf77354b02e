//! Short-lived TURN credentials: coturn's `use-auth-secret` ("TURN REST API") scheme.
//!
//! The username is `<expiry>:<label>` (expiry in Unix seconds), the password the base64 of
//! HMAC-SHA1 of the username under a secret the TURN server shares. The relay checks both
//! without asking anyone, and refuses the credentials once the expiry has passed; an
//! allocation made before goes on until it is released, so a live call outlives its
//! credentials. No long-lived password ever reaches a browser.
//!
//! Rotation: coturn accepts every `static-auth-secret` line it is given, so IT adds the new
//! secret to the relays, lists it first in rendezvous' `[turn] secret_files` (the first one
//! mints), and removes the old one from both once the last credentials minted with it have
//! expired (at most [`MAX_TTL_SECS`]).

use crate::signaling::IceServer;
use base64::Engine as _;
use hmac::{KeyInit as _, Mac as _};
use std::path::{Path, PathBuf};

/// Longest lifetime of minted credentials: one hour.
pub const MAX_TTL_SECS: u64 = 3600;

/// Shortest secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// A TURN shared secret, read from a file. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct TurnSecret(Vec<u8>);

impl std::fmt::Debug for TurnSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TurnSecret(…)")
    }
}

/// Why a TURN secret file was refused.
#[derive(Debug, thiserror::Error)]
pub enum TurnSecretError {
    #[error("cannot read the TURN secret {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the TURN secret {path} is readable by others (mode {mode:o}): `chmod 600` it, it lets anyone use the relays"
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error(
        "the TURN secret {path} holds {len} bytes: expected one line of at least {MIN_SECRET_LEN} (the relays' `static-auth-secret`)"
    )]
    TooShort { path: PathBuf, len: usize },
}

impl TurnSecret {
    /// A secret from its text (surrounding white space is not part of it).
    pub fn new(text: &str) -> TurnSecret {
        TurnSecret(text.trim().as_bytes().to_vec())
    }

    /// Read a secret file: one line, mode 0600 (or stricter), at least [`MIN_SECRET_LEN`] bytes.
    pub fn read(path: &Path) -> Result<TurnSecret, TurnSecretError> {
        use std::os::unix::fs::PermissionsExt as _;
        let read = |source| TurnSecretError::Read {
            path: path.to_owned(),
            source,
        };
        let mode = std::fs::metadata(path).map_err(read)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(TurnSecretError::Exposed {
                path: path.to_owned(),
                mode,
            });
        }
        let secret = TurnSecret::new(&std::fs::read_to_string(path).map_err(read)?);
        if secret.0.len() < MIN_SECRET_LEN {
            return Err(TurnSecretError::TooShort {
                path: path.to_owned(),
                len: secret.0.len(),
            });
        }
        Ok(secret)
    }

    /// Credentials for `label` that expire at `expires_at` (Unix seconds): the username and
    /// the password.
    pub fn credentials(&self, label: &str, expires_at: u64) -> (String, String) {
        let username = format!("{expires_at}:{label}");
        let mut mac =
            hmac::Hmac::<sha1::Sha1>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(username.as_bytes());
        let password =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        (username, password)
    }
}

/// The relays and how to mint credentials for them.
#[derive(Debug, Clone)]
pub struct TurnMinter {
    /// `stun:`, `turn:` and `turns:` URLs, in the order a client should try them.
    pub urls: Vec<String>,
    /// The secret credentials are minted with.
    pub secret: TurnSecret,
    /// Lifetime of minted credentials, at most [`MAX_TTL_SECS`].
    pub ttl_secs: u64,
}

impl TurnMinter {
    /// The ICE servers for `label` at `now` (Unix seconds): STUN URLs without credentials,
    /// TURN URLs with fresh ones. The label names who they are for in the relay's logs (a
    /// guest or unit id, never a name a person typed).
    pub fn ice_servers(&self, label: &str, now: u64) -> Vec<IceServer> {
        let (stun, turn): (Vec<String>, Vec<String>) = self
            .urls
            .iter()
            .cloned()
            .partition(|u| u.starts_with("stun"));
        let mut servers = Vec::new();
        if !stun.is_empty() {
            servers.push(IceServer {
                urls: stun,
                username: None,
                credential: None,
            });
        }
        if !turn.is_empty() {
            let (username, credential) = self
                .secret
                .credentials(label, now + self.ttl_secs.min(MAX_TTL_SECS));
            servers.push(IceServer {
                urls: turn,
                username: Some(username),
                credential: Some(credential),
            });
        }
        servers
    }
}

/// Check one ICE server URL: `stun:`/`turn:`/`turns:` with a host, and for TURN an optional
/// `?transport=udp|tcp`. The error says what is expected.
pub fn check_url(url: &str) -> Result<(), String> {
    let (scheme, rest) = url.split_once(':').unwrap_or(("", url));
    if !matches!(scheme, "stun" | "stuns" | "turn" | "turns") {
        return Err(format!(
            "{url:?} does not start with stun:, turn: or turns: (e.g. \"turns:turn.example.com:443?transport=tcp\")"
        ));
    }
    let (host, query) = rest.split_once('?').unwrap_or((rest, ""));
    if host.is_empty() || host.starts_with('/') {
        return Err(format!(
            "{url:?} names no host: write it as \"{scheme}:host:port\""
        ));
    }
    match query {
        "" => Ok(()),
        "transport=udp" | "transport=tcp" if scheme.starts_with("turn") => Ok(()),
        _ => Err(format!(
            "{url:?}: the only query a TURN URL takes is ?transport=udp or ?transport=tcp"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_follow_the_turn_rest_scheme() {
        // Computed independently: base64(HMAC-SHA1("north-secret-0123456789",
        // "1700003600:unit-7")) with Python's hmac module.
        let secret = TurnSecret::new("north-secret-0123456789\n");
        let (user, pass) = secret.credentials("unit-7", 1_700_003_600);
        assert_eq!(user, "1700003600:unit-7");
        assert_eq!(pass, "zfrBBelHY+m1c5T2S5twHGAEJ2E=");
    }

    #[test]
    fn minted_servers_split_stun_from_turn_and_cap_the_lifetime() {
        let minter = TurnMinter {
            urls: vec![
                "stun:198.18.0.3:3478".into(),
                "turn:198.18.0.3:3478?transport=udp".into(),
                "turns:198.18.0.3:443?transport=tcp".into(),
            ],
            secret: TurnSecret::new("0123456789abcdef"),
            ttl_secs: 7200,
        };
        let servers = minter.ice_servers("g-1", 1_000);
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].urls, vec!["stun:198.18.0.3:3478".to_owned()]);
        assert!(servers[0].credential.is_none());
        assert_eq!(servers[1].urls.len(), 2);
        assert_eq!(servers[1].username.as_deref(), Some("4600:g-1"));
    }

    #[test]
    fn secret_files_must_be_private_and_long_enough() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("visavis-turn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret");
        std::fs::write(&path, "0123456789abcdef0123\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            TurnSecret::read(&path),
            Err(TurnSecretError::Exposed { .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(TurnSecret::read(&path).is_ok());
        std::fs::write(&path, "short\n").unwrap();
        let e = TurnSecret::read(&path).unwrap_err().to_string();
        assert!(e.contains("at least 16"), "{e}");
        assert!(matches!(
            TurnSecret::read(&dir.join("missing")),
            Err(TurnSecretError::Read { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn urls_are_checked() {
        for good in [
            "stun:198.18.0.3:3478",
            "turn:turn.example.com:3478?transport=udp",
            "turns:turn.example.com:443?transport=tcp",
        ] {
            assert_eq!(check_url(good), Ok(()), "{good}");
        }
        for bad in [
            "http://turn.example.com",
            "turn:",
            "stun:host:3478?transport=tcp",
            "turn:h:1?x=1",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
