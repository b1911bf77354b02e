//! `applianced first-boot`: apply the seed IT wrote to the boot partition, once.
//!
//! Run by the first-boot unit before `applianced` starts. It reads
//! `visavis-seed.json` from the boot partition, checks its checksum and signature (and the
//! signer against `/etc/visavis/fleet-signing.pub` when the image pins one), then:
//! - writes the seeded settings into `/etc/visavis/applianced.toml` (keeping the rest);
//! - moves the secrets out of the seed, mode 0600: the enrollment token to the state
//!   directory (`/var/lib/visavis/enrollment-token`), the TURN secret beside it, the
//!   Wi-Fi key into a root-only NetworkManager connection;
//! - writes the staff screen's PIN, when the seed has one, to `/etc/visavis/staff-pin`
//!   (or the config's `staff.pin_file`), mode 0640, group `visavis` so applianced reads it;
//! - creates the unit's ed25519 key (`device.key`, 0600);
//! - sets the time zone and the Wi-Fi regulatory country;
//! - writes `first-boot.json` (what happened, for the staff screen) and the stamp
//!   `/etc/visavis/first-boot.done` (where only root writes: the `visavis` user owns the
//!   state directory and must not be able to make first boot run again), then blanks every
//!   secret in the seed on the boot partition. A stamp an older version left in the state
//!   directory is honoured once and moved to `/etc/visavis`.
//!
//! A second run does nothing but finish blanking if a crash came between stamp and blank.
//! A failure is written to `first-boot.json` so `applianced` can show it to staff.
//! `--root` puts every path under another directory (tests, image preparation).

mod files;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use visavis_api::fleet::check_device_id;
use visavis_api::fleet::keys::DeviceKey;
use visavis_api::fleet::seed::{SeedBody, SeedError, SeedFile};

use crate::config::{Config, rendezvous_ws_url};
pub use files::atomic_write;

/// Where things are, all under one root.
#[derive(Debug, Clone)]
pub struct Paths {
    pub root: PathBuf,
    pub seed: PathBuf,
}

impl Paths {
    fn config(&self) -> PathBuf {
        self.root.join("etc/visavis/applianced.toml")
    }
    fn pinned_signer(&self) -> PathBuf {
        self.root.join("etc/visavis/fleet-signing.pub")
    }
    /// The stamp that first boot is done, where only root writes.
    fn stamp(&self) -> PathBuf {
        self.root.join("etc/visavis/first-boot.done")
    }
    fn default_state_dir(&self) -> PathBuf {
        self.root.join("var/lib/visavis")
    }
    fn wifi_connection(&self) -> PathBuf {
        self.root
            .join("etc/NetworkManager/system-connections/visavis-wifi.nmconnection")
    }
    fn wifi_country(&self) -> PathBuf {
        self.root.join("etc/modprobe.d/visavis-wifi-country.conf")
    }
    fn default_pin_file(&self) -> PathBuf {
        self.root.join("etc/visavis/staff-pin")
    }
    fn groups(&self) -> PathBuf {
        self.root.join("etc/group")
    }
}

/// What first boot did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The seed was applied now.
    Applied { device_id: String },
    /// Already applied at an earlier boot; `blanked` when leftover secrets were erased now.
    AlreadyApplied { blanked: bool },
}

/// Why the seed could not be applied. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum FirstBootError {
    #[error("no seed at {0}: write this unit's seed with `provision write`, or start without one")]
    NoSeed(PathBuf),
    #[error("the seed at {path}: {source}")]
    Seed { path: PathBuf, source: SeedError },
    #[error("the seed at {path}: `{field}`: {message}")]
    Field {
        path: PathBuf,
        field: &'static str,
        message: String,
    },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the existing config {path} is not valid TOML: {message}")]
    Config { path: PathBuf, message: String },
}

/// `first-boot.json`: the outcome the staff screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub ok: bool,
    /// Unix time, seconds.
    pub at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// TURN relays the seed named (the secret is in `turn-secret`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turn_uris: Vec<String>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FirstBootError {
    let path = path.to_owned();
    move |source| FirstBootError::Io { what, path, source }
}

/// Apply the seed, or do nothing when it was applied before. A failure is also written to
/// `first-boot.json` in the state directory.
pub fn run(paths: &Paths) -> Result<Outcome, FirstBootError> {
    let state_dir = state_dir(paths);
    let result = apply(paths, &state_dir);
    if let Err(e) = &result {
        let report = Report {
            ok: false,
            at: now(),
            device_id: None,
            error: Some(e.to_string()),
            turn_uris: Vec::new(),
        };
        let _ = write_report(&state_dir, &report);
    }
    result
}

/// The state directory the config names, or the default under the root.
fn state_dir(paths: &Paths) -> PathBuf {
    image_config(paths)
        .and_then(|t| t.get("state_dir")?.as_str().map(PathBuf::from))
        .unwrap_or_else(|| paths.default_state_dir())
}

/// The image's config as it stands, if it reads.
fn image_config(paths: &Paths) -> Option<toml::Table> {
    std::fs::read_to_string(paths.config()).ok()?.parse().ok()
}

fn apply(paths: &Paths, state_dir: &Path) -> Result<Outcome, FirstBootError> {
    let stamp = paths.stamp();
    let legacy = state_dir.join("first-boot.done");
    if !stamp.exists() && legacy.is_file() && !legacy.is_symlink() {
        // Written by an earlier version: honour it, once, and keep it where it belongs.
        let at = std::fs::read(&legacy).map_err(io("cannot read the stamp", &legacy))?;
        files::atomic_write(&stamp, &at, 0o644).map_err(io("cannot write the stamp", &stamp))?;
        let _ = std::fs::remove_file(&legacy);
    }
    if stamp.exists() {
        return Ok(Outcome::AlreadyApplied {
            blanked: blank_leftovers(&paths.seed)?,
        });
    }
    let bytes = match std::fs::read(&paths.seed) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(FirstBootError::NoSeed(paths.seed.clone()));
        }
        Err(e) => return Err(io("cannot read the seed", &paths.seed)(e)),
    };
    let seed_err = |source| FirstBootError::Seed {
        path: paths.seed.clone(),
        source,
    };
    let seed = SeedFile::parse(&bytes).map_err(seed_err)?;
    let pinned = std::fs::read_to_string(paths.pinned_signer())
        .ok()
        .map(|t| t.trim().to_owned());
    let body = seed.verify(pinned.as_deref()).map_err(seed_err)?.clone();
    check_body(&paths.seed, &body)?;

    std::fs::create_dir_all(state_dir)
        .map_err(io("cannot create the state directory", state_dir))?;
    files::atomic_write(
        &state_dir.join("enrollment-token"),
        format!("{}\n", body.enrollment_token.expose()).as_bytes(),
        0o600,
    )
    .map_err(io("cannot write", &state_dir.join("enrollment-token")))?;
    if let Some(turn) = &body.turn {
        let path = state_dir.join("turn-secret");
        files::atomic_write(
            &path,
            format!("{}\n", turn.secret.expose()).as_bytes(),
            0o600,
        )
        .map_err(io("cannot write", &path))?;
    }
    let pin_file = match &body.staff_pin {
        Some(pin) => Some(write_pin(paths, pin.expose())?),
        None => None,
    };
    let key_path = state_dir.join("device.key");
    let key = DeviceKey::load_or_create(&key_path).map_err(|e| FirstBootError::Io {
        what: "cannot create the unit's key",
        path: key_path.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    write_config(paths, state_dir, &body, pin_file.as_deref())?;
    if let Some(wifi) = &body.wifi {
        let path = paths.wifi_connection();
        files::atomic_write(
            &path,
            files::network_manager_wifi(&wifi.ssid, wifi.key.expose()).as_bytes(),
            0o600,
        )
        .map_err(io("cannot write the Wi-Fi connection", &path))?;
        let path = paths.wifi_country();
        let line = format!("options cfg80211 ieee80211_regdom={}\n", wifi.country);
        files::atomic_write(&path, line.as_bytes(), 0o644)
            .map_err(io("cannot write the Wi-Fi country", &path))?;
    }
    let tz = paths.root.join("etc/timezone");
    files::atomic_write(&tz, format!("{}\n", body.timezone).as_bytes(), 0o644)
        .map_err(io("cannot write", &tz))?;
    let localtime = paths.root.join("etc/localtime");
    files::atomic_symlink(
        &Path::new("/usr/share/zoneinfo").join(body.timezone.as_str()),
        &localtime,
    )
    .map_err(io("cannot set", &localtime))?;

    let report = Report {
        ok: true,
        at: now(),
        device_id: Some(body.device_id.clone()),
        error: None,
        turn_uris: body
            .turn
            .as_ref()
            .map(|t| t.uris.clone())
            .unwrap_or_default(),
    };
    write_report(state_dir, &report)?;
    files::atomic_write(&stamp, format!("{}\n", report.at).as_bytes(), 0o644)
        .map_err(io("cannot write the stamp", &stamp))?;
    tracing::info!(
        device = %body.device_id,
        public_key = %key.public_key(),
        "seed applied; its secrets are in {}", state_dir.display()
    );
    blank_leftovers(&paths.seed)?;
    Ok(Outcome::Applied {
        device_id: body.device_id,
    })
}

fn check_body(path: &Path, body: &SeedBody) -> Result<(), FirstBootError> {
    let field = |field, message: String| FirstBootError::Field {
        path: path.to_owned(),
        field,
        message,
    };
    // Mode, orientation and time zone are checked by their types as the seed is read.
    check_device_id(&body.device_id).map_err(|e| field("device_id", e.to_string()))?;
    rendezvous_ws_url(&body.rendezvous_url).map_err(|e| field("rendezvous_url", e.to_string()))?;
    if let Some(w) = &body.wifi
        && (w.country.len() != 2 || !w.country.chars().all(|c| c.is_ascii_uppercase()))
    {
        return Err(field(
            "wifi.country",
            format!("{:?}: expected two capital letters", w.country),
        ));
    }
    if let Some(w) = &body.wifi
        && (w.ssid.is_empty() || w.ssid.contains('\n'))
    {
        return Err(field("wifi.ssid", "empty or several lines".into()));
    }
    Ok(())
}

/// The staff PIN file: the config's `staff.pin_file`, or `/etc/visavis/staff-pin`.
fn pin_file(paths: &Paths) -> PathBuf {
    image_config(paths)
        .and_then(|t| t.get("staff")?.get("pin_file")?.as_str().map(PathBuf::from))
        .unwrap_or_else(|| paths.default_pin_file())
}

/// Write the staff PIN, 0640, group `visavis` when the system has that group (applianced
/// runs as its user; the PIN must not be readable by others). Returns where it went.
fn write_pin(paths: &Paths, pin: &str) -> Result<PathBuf, FirstBootError> {
    let path = pin_file(paths);
    files::atomic_write(&path, format!("{pin}\n").as_bytes(), 0o640)
        .map_err(io("cannot write the staff PIN", &path))?;
    let group = std::fs::read_to_string(paths.groups())
        .ok()
        .and_then(|groups| files::group_id(&groups, "visavis"));
    if let Some(gid) = group {
        std::os::unix::fs::chown(&path, None, Some(gid))
            .map_err(io("cannot give the staff PIN to group visavis", &path))?;
    }
    Ok(path)
}

/// Write the seeded keys into the config, keeping every other setting, and check the
/// result is a config `applianced` accepts.
fn write_config(
    paths: &Paths,
    state_dir: &Path,
    body: &SeedBody,
    pin_file: Option<&Path>,
) -> Result<(), FirstBootError> {
    let path = paths.config();
    let mut table = match std::fs::read_to_string(&path) {
        Ok(text) => text
            .parse::<toml::Table>()
            .map_err(|e| FirstBootError::Config {
                path: path.clone(),
                message: e.to_string(),
            })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
        Err(e) => return Err(io("cannot read", &path)(e)),
    };
    let s = |v: &str| toml::Value::String(v.to_owned());
    table.insert("device_id".into(), s(&body.device_id));
    table.insert("store".into(), s(&body.store));
    table.insert("location".into(), s(&body.location));
    table.insert("mode".into(), s(body.mode.as_str()));
    table.insert("orientation".into(), s(body.orientation.as_str()));
    table.insert("state_dir".into(), s(&state_dir.display().to_string()));
    let rendezvous = table
        .entry("rendezvous")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(r) = rendezvous {
        r.insert("url".into(), s(&body.rendezvous_url));
    }
    if let Some(turn) = &body.turn {
        let mut t = toml::Table::new();
        t.insert(
            "urls".into(),
            toml::Value::Array(turn.uris.iter().map(|u| s(u)).collect()),
        );
        t.insert(
            "secret_file".into(),
            s(&state_dir.join("turn-secret").display().to_string()),
        );
        table.insert("turn".into(), toml::Value::Table(t));
    }
    if let Some(pin_file) = pin_file {
        let staff = table
            .entry("staff")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(t) = staff {
            t.insert("pin_file".into(), s(&pin_file.display().to_string()));
        }
    }
    let text = format!(
        "# Seeded keys (device_id, store, location, mode, orientation, state_dir, rendezvous.url,\n\
         # turn when the seed names relays, staff.pin_file when the seed has a staff PIN)\n\
         # were written by `applianced first-boot` from the unit's seed.\n{}",
        toml::to_string(&table).map_err(|e| FirstBootError::Config {
            path: path.clone(),
            message: e.to_string(),
        })?
    );
    Config::parse(&path, &text).map_err(|e| FirstBootError::Config {
        path: path.clone(),
        message: e.to_string(),
    })?;
    files::atomic_write(&path, text.as_bytes(), 0o644).map_err(io("cannot write", &path))
}

fn write_report(state_dir: &Path, report: &Report) -> Result<(), FirstBootError> {
    let path = state_dir.join("first-boot.json");
    let mut bytes = serde_json::to_vec_pretty(report).unwrap_or_default();
    bytes.push(b'\n');
    files::atomic_write(&path, &bytes, 0o644).map_err(io("cannot write", &path))
}

/// Erase whatever secrets are still in the seed file. `Ok(true)` when some were.
fn blank_leftovers(seed_path: &Path) -> Result<bool, FirstBootError> {
    let Ok(bytes) = std::fs::read(seed_path) else {
        return Ok(false);
    };
    let Ok(seed) = SeedFile::parse(&bytes) else {
        return Ok(false);
    };
    if !seed.holds_secrets() {
        return Ok(false);
    }
    files::atomic_write(seed_path, &seed.blanked(now()).to_bytes(), 0o600)
        .map_err(io("cannot erase the secrets from the seed", seed_path))?;
    Ok(true)
}

/// The first-boot failure to show staff, if the last first boot failed.
pub fn problem(config: &Config) -> Option<String> {
    let text = std::fs::read_to_string(config.first_boot_report_path()).ok()?;
    let report: Report = serde_json::from_str(&text).ok()?;
    (!report.ok).then(|| {
        format!(
            "first boot could not apply the seed: {}",
            report.error.unwrap_or_else(|| "no reason recorded".into())
        )
    })
}

#[cfg(test)]
mod tests;
