//! Random identifiers (invite tokens, guest ids) and the hashing used to store tokens.
//!
//! Invite tokens are 32 bytes from the operating system's CSPRNG, written in base64url
//! without padding (43 characters). The server keeps only their SHA-256.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Length of an invite token in characters (32 bytes, base64url, no padding).
pub const TOKEN_CHARS: usize = 43;

/// The operating system's random source failed.
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed: {0}")]
pub struct RandomError(String);

/// SHA-256 of some bytes.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// SHA-256 of a token, the key under which it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn of(token: &str) -> TokenHash {
        TokenHash(sha256(token.as_bytes()))
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| RandomError(e.to_string()))?;
    Ok(buf)
}

/// A fresh invite token.
pub fn new_token() -> Result<String, RandomError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// A fresh guest id (12 random bytes, 16 characters).
pub fn new_guest_id() -> Result<String, RandomError> {
    Ok(format!(
        "g-{}",
        URL_SAFE_NO_PAD.encode(random_bytes::<12>()?)
    ))
}

/// Whether a string has the shape of a token we issue (cheap check before any look-up).
pub fn is_well_formed(token: &str) -> bool {
    token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A short prefix of a secret value, safe for logs.
pub fn log_prefix(secret: &str) -> String {
    let head: String = secret.chars().take(6).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_chars_and_distinct() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.len(), TOKEN_CHARS);
        assert!(is_well_formed(&a));
        assert_ne!(a, b);
        assert_ne!(TokenHash::of(&a), TokenHash::of(&b));
    }

    #[test]
    fn malformed_tokens_are_spotted() {
        assert!(!is_well_formed("short"));
        assert!(!is_well_formed(&"a".repeat(44)));
        assert!(!is_well_formed(&format!("{}=", "a".repeat(42))));
        assert!(is_well_formed(&"a".repeat(43)));
    }

    #[test]
    fn log_prefix_is_short() {
        assert_eq!(log_prefix("abcdefghijkl"), "abcdef…");
    }
}
