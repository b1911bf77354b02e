//! A fleet as rendezvous knows it: the enrollment key that signs every unit's one-time
//! enrollment token (what `provision bundle` and first boot do for a real unit).

use std::path::{Path, PathBuf};
use std::time::Duration;
use visavis_api::fleet::enrollment::{self, Claims};

/// The enrollment key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("could not read the enrollment key {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the enrollment key {}: {message} (make one with `provision keygen`)", path.display())]
    Parse { path: PathBuf, message: String },
}

/// A fleet's enrollment key. Its `Debug` does not show the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Fleet {
    enrollment_key: [u8; 32],
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fleet { enrollment_key: <secret> }")
    }
}

/// Who a token enrolls, and for how long it may be used.
#[derive(Debug, Clone)]
pub struct Enrollment<'a> {
    pub device_id: &'a str,
    pub store: &'a str,
    pub location: &'a str,
    pub mode: visavis_api::Mode,
    pub valid_for: Duration,
}

impl Fleet {
    /// A fleet with a fresh random enrollment key.
    pub fn generate() -> Fleet {
        Fleet {
            enrollment_key: visavis_api::fleet::random(),
        }
    }

    /// The fleet whose enrollment key is in `path` (made by `provision keygen`).
    pub fn from_key_file(path: &Path) -> Result<Fleet, FleetError> {
        let text = std::fs::read_to_string(path).map_err(|source| FleetError::Read {
            path: path.to_owned(),
            source,
        })?;
        let enrollment_key = visavis_api::fleet::keys::parse_key(&text, "the enrollment key")
            .map_err(|e| FleetError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        Ok(Fleet { enrollment_key })
    }

    /// The key file's text (32 bytes, base64url).
    pub fn enrollment_key_text(&self) -> String {
        format!("{}\n", visavis_api::fleet::b64(&self.enrollment_key))
    }

    /// A one-time enrollment token for `unit`, valid from now for `unit.valid_for`.
    pub fn token(&self, unit: &Enrollment<'_>) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        enrollment::issue(
            &self.enrollment_key,
            &Claims {
                device_id: unit.device_id.to_owned(),
                store: unit.store.to_owned(),
                location: unit.location.to_owned(),
                mode: unit.mode,
                expires_at: now + unit.valid_for.as_secs(),
                nonce: enrollment::new_nonce(),
            },
        )
    }

    /// A test unit's token: store "Test store", location "Test location", a fitting room,
    /// valid for an hour.
    pub fn enrollment_token(&self, device_id: &str) -> String {
        self.token(&Enrollment {
            device_id,
            store: "Test store",
            location: "Test location",
            mode: visavis_api::Mode::FittingRoom,
            valid_for: Duration::from_secs(3600),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_signed_by_the_fleet_key_for_the_unit() {
        let fleet = Fleet::generate();
        let key = visavis_api::fleet::keys::parse_key(&fleet.enrollment_key_text(), "key").unwrap();
        let claims = enrollment::verify(&key, &fleet.enrollment_token("unit-7"), 0).unwrap();
        assert_eq!(claims.device_id, "unit-7");
        assert!(!format!("{fleet:?}").contains(&fleet.enrollment_key_text().trim().to_string()));
    }
}
