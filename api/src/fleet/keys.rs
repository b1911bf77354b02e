//! Key files and the unit's ed25519 key.
//!
//! Every key file holds 32 random bytes as base64url on one line: the fleet signing key
//! (an ed25519 seed), the fleet enrollment key (an HMAC key) and a unit's own key. They are
//! created with mode 0600 and refused when anyone but the owner can read them.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};

use super::{b64, random, unb64};

/// Why a key could not be read or written. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the key file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the key file {path} can be read by other users (mode {mode:o}): run `chmod 600 {path}`"
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error("{what} is not a key: expected 32 bytes as base64url on one line (43 characters)")]
    Malformed { what: String },
}

/// Parse 32 key bytes from the text of a key file or variable; `what` names it in errors.
pub fn parse_key(text: &str, what: &str) -> Result<[u8; 32], KeyError> {
    unb64(text.trim())
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| KeyError::Malformed {
            what: what.to_owned(),
        })
}

/// Read a key file, refusing one that group or others may read.
pub fn read_key_file(path: &Path) -> Result<[u8; 32], KeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let read = |source| KeyError::Read {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Exposed {
            path: path.to_owned(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(read)?;
    parse_key(&text, &path.display().to_string())
}

/// Create a new key file with 32 random bytes, mode 0600. Refuses to replace an existing file.
pub fn create_key_file(path: &Path) -> Result<[u8; 32], KeyError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let key = random::<32>();
    let write = |source| KeyError::Write {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(write)?;
    file.write_all(format!("{}\n", b64(&key)).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(write)?;
    Ok(key)
}

/// The fleet's enrollment key (an HMAC key). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct EnrollmentKey(pub [u8; 32]);

impl std::fmt::Debug for EnrollmentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnrollmentKey(<secret>)")
    }
}

/// An ed25519 key: a unit's identity, or the fleet's seed-signing key.
pub struct DeviceKey(SigningKey);

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceKey(public {})", self.public_key())
    }
}

impl DeviceKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        DeviceKey(SigningKey::from_bytes(bytes))
    }

    /// Read the key at `path`, or create it (0600) when there is none.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        match read_key_file(path) {
            Ok(bytes) => Ok(Self::from_bytes(&bytes)),
            Err(KeyError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(Self::from_bytes(&create_key_file(path)?))
            }
            Err(e) => Err(e),
        }
    }

    /// The public key, base64url.
    pub fn public_key(&self) -> String {
        b64(self.0.verifying_key().as_bytes())
    }

    /// Sign `message`; the signature as base64url.
    pub fn sign(&self, message: &[u8]) -> String {
        b64(&self.0.sign(message).to_bytes())
    }
}

/// Whether `signature` (base64url) is `public_key`'s (base64url) signature of `message`.
/// Malformed keys or signatures are simply not valid.
pub fn verify(public_key: &str, message: &[u8], signature: &str) -> bool {
    let Some(key) = unb64(public_key)
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
    else {
        return false;
    };
    let Some(sig) = unb64(signature).and_then(|v| <[u8; 64]>::try_from(v).ok()) else {
        return false;
    };
    key.verify(message, &ed25519_dalek::Signature::from_bytes(&sig))
        .is_ok()
}

/// Whether `text` is a well-formed ed25519 public key (base64url).
pub fn is_public_key(text: &str) -> bool {
    unb64(text)
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .is_some_and(|k| VerifyingKey::from_bytes(&k).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let key = DeviceKey::from_bytes(&random());
        let sig = key.sign(b"hello");
        assert!(verify(&key.public_key(), b"hello", &sig));
        assert!(!verify(&key.public_key(), b"hellO", &sig));
        let other = DeviceKey::from_bytes(&random());
        assert!(!verify(&other.public_key(), b"hello", &sig));
        assert!(!verify("garbage", b"hello", &sig));
        assert!(!verify(&key.public_key(), b"hello", "garbage"));
        assert!(is_public_key(&key.public_key()));
        assert!(!format!("{key:?}").contains(&b64(key.0.as_bytes())));
    }

    #[test]
    fn key_files_are_private_and_never_replaced() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("visavis-keys-{}", b64(&random::<6>())));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("device.key");
        let first = DeviceKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = DeviceKey::load_or_create(&path).unwrap();
        assert_eq!(first.public_key(), again.public_key());
        assert!(matches!(
            create_key_file(&path),
            Err(KeyError::Write { .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_key_file(&path).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::write(dir.join("bad"), "short\n").unwrap();
        std::fs::set_permissions(dir.join("bad"), std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            read_key_file(&dir.join("bad")),
            Err(KeyError::Malformed { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
