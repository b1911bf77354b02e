//! From valid rows to signed seeds: what a run would change ([`plan`]), and writing it
//! ([`bundle`]).
//!
//! The seeds in the output folder are the record of the last run: `plan` builds the seed
//! each row should have and compares it with the one on disk. Building is deterministic
//! (ed25519 signatures are, and an existing enrollment token is kept while it still fits),
//! so the same manifest gives the same bytes and a re-run writes nothing.

use std::path::{Path, PathBuf};

use serde::Serialize;
use visavis_api::fleet::enrollment::{self, Claims};
use visavis_api::fleet::keys::DeviceKey;
use visavis_api::fleet::seed::{SEED_FILE_NAME, Secret, SeedBody, SeedFile};

use crate::manifest::Device;
use visavis_api::fleet::atomic;

/// A kept token must still have this long to live.
pub const TOKEN_MARGIN_SECS: u64 = 7 * 24 * 3600;

/// How seeds are made.
pub struct Options {
    pub out: PathBuf,
    pub signing_key: DeviceKey,
    /// Lifetime of a newly issued enrollment token.
    pub token_ttl_secs: u64,
    /// Unix seconds.
    pub now: u64,
}

/// What happens to one unit's seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    New,
    Changed,
    Unchanged,
}

/// One unit's line of the plan. Never carries a secret.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub device_id: String,
    pub row: usize,
    pub action: Action,
    /// Fields that differ from the seed on disk (secrets by name only).
    pub fields: Vec<String>,
    /// Why, where it is not obvious (a renewed token, an unreadable old seed).
    pub notes: Vec<String>,
    #[serde(skip)]
    bytes: Vec<u8>,
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Seeds in the output folder with no row in the manifest (left alone).
    pub not_in_manifest: Vec<String>,
}

impl Plan {
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }
}

/// `out/<device_id>/visavis-seed.json`.
pub fn seed_path(out: &Path, device_id: &str) -> PathBuf {
    out.join(device_id).join(SEED_FILE_NAME)
}

/// Why the old seed's token is not kept (a note in the plan).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Renewal {
    #[error("the old seed has no token")]
    NoToken,
    #[error("enrollment token renewed: the old one expires in {days} days")]
    Expiring { days: u64 },
    #[error("enrollment token renewed: the enrollment key changed")]
    KeyChanged,
    #[error("enrollment token renewed: the old one is unreadable")]
    Unreadable,
    #[error("enrollment token renewed: it names the unit's store, location and mode")]
    ClaimsChanged,
}

/// Keep the old token when it still fits this row; otherwise say why not.
fn reusable_token(old: &SeedFile, device: &Device, opts: &Options) -> Result<String, Renewal> {
    let token = old.body.enrollment_token.expose();
    if token.is_empty() {
        return Err(Renewal::NoToken);
    }
    let claims = enrollment::verify(
        &device.enrollment_key.0,
        token,
        opts.now + TOKEN_MARGIN_SECS,
    )
    .map_err(|e| match e {
        enrollment::TokenError::Expired { expires_at } => Renewal::Expiring {
            days: expires_at.saturating_sub(opts.now) / 86_400,
        },
        enrollment::TokenError::WrongKey => Renewal::KeyChanged,
        enrollment::TokenError::Malformed => Renewal::Unreadable,
    })?;
    let same = claims.device_id == device.device_id
        && claims.store == device.store
        && claims.location == device.location
        && claims.mode == device.mode;
    if same {
        Ok(token.to_owned())
    } else {
        Err(Renewal::ClaimsChanged)
    }
}

fn diff(old: &SeedFile, new: &SeedFile) -> Vec<String> {
    let (a, b) = (&old.body, &new.body);
    let mut fields = Vec::new();
    let mut check = |name: &str, same: bool| {
        if !same {
            fields.push(name.to_owned());
        }
    };
    check("store", a.store == b.store);
    check("location", a.location == b.location);
    check("mode", a.mode == b.mode);
    check("orientation", a.orientation == b.orientation);
    check("timezone", a.timezone == b.timezone);
    check("rendezvous_url", a.rendezvous_url == b.rendezvous_url);
    let wifi = |s: &SeedBody| s.wifi.as_ref().map(|w| (w.ssid.clone(), w.country.clone()));
    check("wifi_ssid/wifi_country", wifi(a) == wifi(b));
    let key = |s: &SeedBody| s.wifi.as_ref().map(|w| w.key.clone());
    check("wifi_key", key(a) == key(b));
    let uris = |s: &SeedBody| s.turn.as_ref().map(|t| t.uris.clone());
    check("turn_uris", uris(a) == uris(b));
    let secret = |s: &SeedBody| s.turn.as_ref().map(|t| t.secret.clone());
    check("turn_secret", secret(a) == secret(b));
    check("enrollment_token", a.enrollment_token == b.enrollment_token);
    check("staff_pin", a.staff_pin == b.staff_pin);
    check("signer", old.signer == new.signer);
    fields
}

/// The seed `device` should have, and how it differs from the one on disk.
fn change_for(device: &Device, opts: &Options) -> Change {
    let path = seed_path(&opts.out, &device.device_id);
    let mut notes = Vec::new();
    let old = match std::fs::read(&path) {
        Ok(bytes) => match SeedFile::parse(&bytes) {
            Ok(seed) => Some((seed, bytes)),
            Err(e) => {
                notes.push(format!(
                    "the seed there is unreadable ({e}): it is replaced"
                ));
                None
            }
        },
        Err(_) => None,
    };
    let token = match old
        .as_ref()
        .map(|(seed, _)| reusable_token(seed, device, opts))
    {
        Some(Ok(token)) => token,
        other => {
            if let Some(Err(why)) = other {
                notes.push(why.to_string());
            }
            enrollment::issue(
                &device.enrollment_key.0,
                &Claims {
                    device_id: device.device_id.clone(),
                    store: device.store.clone(),
                    location: device.location.clone(),
                    mode: device.mode,
                    expires_at: opts.now + opts.token_ttl_secs,
                    nonce: enrollment::new_nonce(),
                },
            )
        }
    };
    let body = SeedBody {
        device_id: device.device_id.clone(),
        store: device.store.clone(),
        location: device.location.clone(),
        mode: device.mode,
        orientation: device.orientation,
        timezone: device.timezone.clone(),
        rendezvous_url: device.rendezvous_url.clone(),
        wifi: device.wifi.clone(),
        turn: device.turn.clone(),
        enrollment_token: Secret::new(token),
        staff_pin: device.staff_pin.clone(),
    };
    let seed = SeedFile::sign(body, &opts.signing_key);
    let bytes = seed.to_bytes();
    let (action, fields) = match &old {
        None if path.exists() => (Action::Changed, vec!["(whole seed)".into()]),
        None => (Action::New, Vec::new()),
        Some((_, old_bytes)) if *old_bytes == bytes => (Action::Unchanged, Vec::new()),
        Some((old_seed, _)) => (Action::Changed, diff(old_seed, &seed)),
    };
    Change {
        device_id: device.device_id.clone(),
        row: device.row,
        action,
        fields,
        notes,
        bytes,
    }
}

/// Compare what the manifest asks for with the seeds in `opts.out`.
pub fn plan(devices: &[Device], opts: &Options) -> Plan {
    let changes: Vec<Change> = devices.iter().map(|d| change_for(d, opts)).collect();
    let mut not_in_manifest: Vec<String> = std::fs::read_dir(&opts.out)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().join(SEED_FILE_NAME).is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|id| !devices.iter().any(|d| &d.device_id == id))
                .collect()
        })
        .unwrap_or_default();
    not_in_manifest.sort();
    Plan {
        changes,
        not_in_manifest,
    }
}

/// A seed that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct WriteError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Write every new or changed seed (mode 0600, atomically). Returns how many were written.
pub fn bundle(plan: &Plan, out: &Path) -> Result<usize, WriteError> {
    let mut written = 0;
    for change in &plan.changes {
        if change.action == Action::Unchanged {
            continue;
        }
        let path = seed_path(out, &change.device_id);
        atomic::write(&path, &change.bytes, 0o600).map_err(|source| WriteError {
            path: path.clone(),
            source,
        })?;
        written += 1;
    }
    Ok(written)
}
