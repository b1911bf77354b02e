//! Pieces of the config files: device credentials and TOML strings.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};

/// A unit's id and secret, as rendezvous knows it (by the secret's sha256) and as
/// applianced proves it (the secret file holds `secret`, with no newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCredentials {
    pub id: String,
    pub secret: String,
}

impl DeviceCredentials {
    /// `id` with a fresh random secret (32 bytes, hex).
    pub fn generate(id: &str) -> DeviceCredentials {
        DeviceCredentials {
            id: id.to_string(),
            secret: random_hex(32),
        }
    }

    /// What rendezvous.toml's `secret_sha256` holds.
    pub fn secret_sha256(&self) -> String {
        hex(&Sha256::digest(self.secret.as_bytes()))
    }
}

/// `n` random bytes as hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // The harness cannot do anything useful without randomness; say so plainly.
    getrandom::fill(&mut bytes).expect("the system's random number source failed");
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A TOML basic string holding `value`.
pub fn toml_str(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Write `contents` to `dir/name`, readable by this user only.
pub fn write_private(
    dir: &std::path::Path,
    name: &str,
    contents: &str,
) -> Result<std::path::PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::new(format!("could not create {}: {e}", path.display())))?;
    file.write_all(contents.as_bytes())
        .map_err(|e| Error::new(format!("could not write {}: {e}", path.display())))?;
    Ok(path)
}
