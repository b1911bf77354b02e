//! Pieces of the config files: the fleet's enrollment key and TOML strings.

use crate::error::{Error, Result};

/// A fleet as rendezvous knows it: the enrollment key that signs every unit's one-time
/// enrollment token (what `provision bundle` does for IT).
#[derive(Clone, PartialEq, Eq)]
pub struct Fleet {
    enrollment_key: [u8; 32],
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fleet { enrollment_key: <secret> }")
    }
}

impl Fleet {
    /// A fleet with a fresh random enrollment key.
    pub fn generate() -> Fleet {
        Fleet {
            enrollment_key: visavis_api::fleet::random(),
        }
    }

    /// The fleet whose enrollment key is in `path` (made by `provision keygen`).
    pub fn from_key_file(path: &std::path::Path) -> Result<Fleet> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::new(format!("could not read {}: {e}", path.display())))?;
        let enrollment_key = visavis_api::fleet::keys::parse_key(&text, "the enrollment key")
            .map_err(|e| Error::new(e.to_string()))?;
        Ok(Fleet { enrollment_key })
    }

    /// The key file's text (32 bytes, base64url).
    pub fn enrollment_key_text(&self) -> String {
        format!("{}\n", visavis_api::fleet::b64(&self.enrollment_key))
    }

    /// A one-time enrollment token for `device_id`, valid for an hour.
    pub fn enrollment_token(&self, device_id: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        visavis_api::fleet::enrollment::issue(
            &self.enrollment_key,
            &visavis_api::fleet::enrollment::Claims {
                device_id: device_id.to_owned(),
                store: "Test store".into(),
                location: "Test location".into(),
                mode: visavis_api::Mode::FittingRoom,
                expires_at: now + 3600,
                nonce: visavis_api::fleet::enrollment::new_nonce(),
            },
        )
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
