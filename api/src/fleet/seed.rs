//! The seed: everything one unit needs at first boot, signed by the fleet's signing key.
//!
//! `provision bundle` writes one seed per unit; `provision write` puts it on the unit's boot
//! partition as [`SEED_FILE_NAME`]; the unit's first boot checks it, moves its secrets into
//! the state directory and blanks them in the file ([`SeedFile::blanked`]).
//!
//! The file is JSON: the [`SeedBody`], the SHA-256 of the body's canonical bytes (the compact
//! JSON serde writes for it, fields in declaration order), the signer's public key and its
//! ed25519 signature of those bytes. Any change to a field changes the canonical bytes, so
//! [`SeedFile::verify`] catches it; unknown fields are refused outright.

use serde::{Deserialize, Serialize};

use super::keys::{self, DeviceKey};
use super::sha256_hex;
use crate::install::{Mode, Orientation, TimeZone};

/// The seed's file name on the boot partition.
pub const SEED_FILE_NAME: &str = "visavis-seed.json";
/// Version of the seed format.
pub const SEED_FORMAT: u32 = 1;

/// A secret string: serialised as itself, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_blank(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "<blank>"
        } else {
            "<secret>"
        })
    }
}

/// Wi-Fi settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wifi {
    pub ssid: String,
    /// ISO 3166-1 alpha-2 regulatory country, e.g. `FR`.
    pub country: String,
    pub key: Secret,
}

/// TURN relays and the shared secret for their REST-API credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    pub uris: Vec<String>,
    pub secret: Secret,
}

/// What a unit is told about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedBody {
    pub device_id: String,
    pub store: String,
    pub location: String,
    pub mode: Mode,
    pub orientation: Orientation,
    pub timezone: TimeZone,
    pub rendezvous_url: String,
    pub wifi: Option<Wifi>,
    pub turn: Option<Turn>,
    /// One-time token to enroll the unit's key with rendezvous.
    pub enrollment_token: Secret,
    /// The staff screen's PIN, 4 to 8 digits. Left out of the file (and of the signed
    /// bytes) when the manifest gives none, so seeds without one read as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_pin: Option<Secret>,
}

impl SeedBody {
    /// The bytes that are hashed and signed.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a seed body serialises")
    }

    /// Every secret in the seed, for callers that must make sure none leaks.
    pub fn secrets(&self) -> Vec<&Secret> {
        let mut all = vec![&self.enrollment_token];
        all.extend(self.wifi.as_ref().map(|w| &w.key));
        all.extend(self.turn.as_ref().map(|t| &t.secret));
        all.extend(self.staff_pin.as_ref());
        all
    }
}

/// A seed file as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    pub visavis_seed: u32,
    pub body: SeedBody,
    /// SHA-256 of the body's canonical bytes, hex.
    pub sha256: String,
    /// The fleet signing key's public half, base64url.
    pub signer: String,
    /// ed25519 signature of the body's canonical bytes, base64url.
    pub signature: String,
    /// Set by the unit once it applied the seed and blanked its secrets (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_at: Option<u64>,
}

/// Why a seed is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    #[error("not a Visavis seed: {0}")]
    Unreadable(String),
    #[error("seed format {0} is not supported by this version (expected {SEED_FORMAT})")]
    Format(u32),
    #[error(
        "the seed was already applied on its unit at {0} (Unix time) and its secrets erased: bundle and write a new one"
    )]
    Applied(u64),
    #[error(
        "the seed's checksum does not match its content: it was changed or damaged after `provision bundle`"
    )]
    Checksum,
    #[error("the seed's signature is not valid: it was changed after signing")]
    Signature,
    #[error("the seed is signed by {found}, not by this fleet's signing key {expected}")]
    UnknownSigner { expected: String, found: String },
}

impl SeedFile {
    /// Sign `body` with the fleet's signing key.
    pub fn sign(body: SeedBody, signing_key: &DeviceKey) -> Self {
        let bytes = body.canonical_bytes();
        SeedFile {
            visavis_seed: SEED_FORMAT,
            sha256: sha256_hex(&bytes),
            signer: signing_key.public_key(),
            signature: signing_key.sign(&bytes),
            body,
            applied_at: None,
        }
    }

    /// Parse a seed file without checking it.
    pub fn parse(bytes: &[u8]) -> Result<Self, SeedError> {
        let seed: SeedFile =
            serde_json::from_slice(bytes).map_err(|e| SeedError::Unreadable(e.to_string()))?;
        if seed.visavis_seed != SEED_FORMAT {
            return Err(SeedError::Format(seed.visavis_seed));
        }
        Ok(seed)
    }

    /// The file's bytes: pretty JSON, so IT can read what a unit will be told.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a seed serialises");
        bytes.push(b'\n');
        bytes
    }

    /// Check checksum and signature, and the signer when `expected_signer` is given.
    pub fn verify(&self, expected_signer: Option<&str>) -> Result<&SeedBody, SeedError> {
        if let Some(at) = self.applied_at {
            return Err(SeedError::Applied(at));
        }
        let bytes = self.body.canonical_bytes();
        if sha256_hex(&bytes) != self.sha256 {
            return Err(SeedError::Checksum);
        }
        if !keys::verify(&self.signer, &bytes, &self.signature) {
            return Err(SeedError::Signature);
        }
        match expected_signer {
            Some(expected) if expected != self.signer => Err(SeedError::UnknownSigner {
                expected: expected.to_owned(),
                found: self.signer.clone(),
            }),
            _ => Ok(&self.body),
        }
    }

    /// The seed with every secret blanked, marked as applied at `now`.
    pub fn blanked(&self, now: u64) -> Self {
        let mut seed = self.clone();
        seed.body.enrollment_token = Secret::default();
        if let Some(w) = &mut seed.body.wifi {
            w.key = Secret::default();
        }
        if let Some(t) = &mut seed.body.turn {
            t.secret = Secret::default();
        }
        if let Some(pin) = &mut seed.body.staff_pin {
            *pin = Secret::default();
        }
        seed.applied_at = Some(now);
        seed
    }

    /// Whether any secret is still in the file.
    pub fn holds_secrets(&self) -> bool {
        self.body.secrets().iter().any(|s| !s.is_blank())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fleet::random;

    pub fn body() -> SeedBody {
        SeedBody {
            device_id: "paris-09-cabine-3".into(),
            store: "Paris 9e".into(),
            location: "Cabine 3".into(),
            mode: Mode::FittingRoom,
            orientation: Orientation::Portrait,
            timezone: "Europe/Paris".parse().unwrap(),
            rendezvous_url: "https://rdv.example.com".into(),
            wifi: Some(Wifi {
                ssid: "Boutique".into(),
                country: "FR".into(),
                key: Secret::new("wifi-password-123"),
            }),
            turn: None,
            enrollment_token: Secret::new("vve1.token"),
            staff_pin: Some(Secret::new("2468")),
        }
    }

    #[test]
    fn signed_seeds_verify_and_round_trip() {
        let key = DeviceKey::from_bytes(&random());
        let seed = SeedFile::sign(body(), &key);
        let parsed = SeedFile::parse(&seed.to_bytes()).unwrap();
        assert_eq!(parsed, seed);
        assert_eq!(parsed.verify(Some(&key.public_key())).unwrap(), &body());
        let other = DeviceKey::from_bytes(&random());
        assert!(matches!(
            parsed.verify(Some(&other.public_key())),
            Err(SeedError::UnknownSigner { .. })
        ));
    }

    #[test]
    fn any_change_is_caught() {
        let key = DeviceKey::from_bytes(&random());
        let seed = SeedFile::sign(body(), &key);
        let mut changed = seed.clone();
        changed.body.location = "Cabine 4".into();
        assert_eq!(changed.verify(None), Err(SeedError::Checksum));
        changed.sha256 = sha256_hex(&changed.body.canonical_bytes());
        assert_eq!(changed.verify(None), Err(SeedError::Signature));
        let text = String::from_utf8(seed.to_bytes()).unwrap();
        let extra = text.replacen("\"store\"", "\"admin\": true, \"store\"", 1);
        assert!(matches!(
            SeedFile::parse(extra.as_bytes()),
            Err(SeedError::Unreadable(_))
        ));
    }

    #[test]
    fn blanking_removes_every_secret_and_debug_shows_none() {
        let key = DeviceKey::from_bytes(&random());
        let seed = SeedFile::sign(body(), &key);
        assert!(seed.holds_secrets());
        assert!(!format!("{seed:?}").contains("wifi-password-123"));
        let blank = seed.blanked(5);
        assert!(!blank.holds_secrets());
        let text = String::from_utf8(blank.to_bytes()).unwrap();
        assert!(!text.contains("wifi-password-123") && !text.contains("vve1.token"));
        assert_eq!(blank.verify(None), Err(SeedError::Applied(5)));
    }

    /// A seed's body as `provision` wrote it before mode, orientation and time zone were
    /// types: the same canonical bytes, so its signature still verifies.
    const BODY_BEFORE_TYPES: &str = r#"{"device_id":"t-1","store":"Lyon","location":"Table 4","mode":"table","orientation":"landscape-flipped","timezone":"America/Argentina/Buenos_Aires","rendezvous_url":"https://rdv.example.com","wifi":null,"turn":null,"enrollment_token":"vve1.x"}"#;

    #[test]
    fn a_seed_written_before_the_types_reads_the_same() {
        let body: SeedBody = serde_json::from_str(BODY_BEFORE_TYPES).unwrap();
        assert_eq!(
            (body.mode, body.orientation, body.timezone.as_str()),
            (
                Mode::Table,
                Orientation::LandscapeFlipped,
                "America/Argentina/Buenos_Aires"
            )
        );
        assert_eq!(body.canonical_bytes(), BODY_BEFORE_TYPES.as_bytes());
    }

    #[test]
    fn a_seed_with_a_value_out_of_its_type_is_unreadable_and_says_which() {
        let key = DeviceKey::from_bytes(&random());
        let text = String::from_utf8(SeedFile::sign(body(), &key).to_bytes()).unwrap();
        for (from, to, named) in [
            ("\"fitting-room\"", "\"kitchen\"", "kitchen"),
            ("\"portrait\"", "\"sideways\"", "sideways"),
            (
                "\"Europe/Paris\"",
                "\"../../etc/passwd\"",
                "../../etc/passwd",
            ),
        ] {
            let changed = text.replacen(from, to, 1);
            match SeedFile::parse(changed.as_bytes()) {
                Err(SeedError::Unreadable(why)) => assert!(why.contains(named), "{why}"),
                other => panic!("{to} gave {other:?}"),
            }
        }
    }
}
