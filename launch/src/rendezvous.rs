//! Starting a `rendezvous` server: its enrollment key and rendezvous.toml written to a
//! folder, the binary started on them, its URL read from its readiness line.

use crate::files::{WriteError, toml_str, write_private};
use crate::fleet::Fleet;
use crate::process::{self, ChildProcess};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// What goes into rendezvous.toml. `listen` is always `127.0.0.1:0`; anything left `None`
/// keeps the server's default.
#[derive(Debug, Clone)]
pub struct RendezvousConfig {
    pub public_url: Option<String>,
    pub invite_ttl_secs: Option<u64>,
    pub rate_limit: Option<RateLimit>,
    /// The fleet whose enrollment tokens it accepts (a random key by default).
    pub fleet: Fleet,
    /// The device registry; `None`: `registry.sqlite3` in the server's folder. Give a path
    /// to keep it across restarts.
    pub database: Option<PathBuf>,
    /// Written verbatim after the top-level keys (keys or whole tables), for settings this
    /// struct does not know yet.
    pub extra_toml: String,
    /// `[turn]`: relays rendezvous mints credentials for.
    pub turn: Option<Turn>,
}

/// `[turn]`: the relays' URLs and the files with their shared secrets (the first mints).
#[derive(Debug, Clone)]
pub struct Turn {
    pub urls: Vec<String>,
    pub secret_files: Vec<PathBuf>,
    pub ttl_secs: Option<u64>,
}

/// `[rate_limit]`: token look-ups per client address.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub burst: u32,
    pub per_minute: u32,
}

impl Default for RendezvousConfig {
    fn default() -> Self {
        RendezvousConfig {
            public_url: None,
            invite_ttl_secs: None,
            rate_limit: None,
            fleet: Fleet::generate(),
            database: None,
            extra_toml: String::new(),
            turn: None,
        }
    }
}

impl RendezvousConfig {
    /// rendezvous.toml, with the enrollment key and the registry at these paths.
    pub fn to_toml(&self, key_file: &Path, database: &Path) -> String {
        let mut t = String::from("listen = \"127.0.0.1:0\"\n");
        let _ = writeln!(
            t,
            "enrollment_key_file = {}\ndatabase = {}",
            toml_str(&key_file.to_string_lossy()),
            toml_str(&database.to_string_lossy())
        );
        if let Some(url) = &self.public_url {
            let _ = writeln!(t, "public_url = {}", toml_str(url));
        }
        if let Some(ttl) = self.invite_ttl_secs {
            let _ = writeln!(t, "invite_ttl_secs = {ttl}");
        }
        if !self.extra_toml.is_empty() {
            let _ = writeln!(t, "{}", self.extra_toml);
        }
        if let Some(limit) = self.rate_limit {
            let _ = writeln!(
                t,
                "\n[rate_limit]\nburst = {}\nper_minute = {}",
                limit.burst, limit.per_minute
            );
        }
        if let Some(turn) = &self.turn {
            let list = |items: Vec<String>| {
                items
                    .iter()
                    .map(|i| toml_str(i))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                t,
                "\n[turn]\nurls = [{}]\nsecret_files = [{}]",
                list(turn.urls.clone()),
                list(
                    turn.secret_files
                        .iter()
                        .map(|p| p.to_string_lossy().into_owned())
                        .collect()
                )
            );
            if let Some(ttl) = turn.ttl_secs {
                let _ = writeln!(t, "ttl_secs = {ttl}");
            }
        }
        t
    }
}

/// rendezvous could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Process(#[from] process::Error),
}

/// How to start it.
#[derive(Debug, Clone, Copy)]
pub struct Launch {
    /// In a process group of its own (see [`ChildProcess::spawn_own_group`]).
    pub own_group: bool,
    /// How long it may take to print its readiness line.
    pub timeout: Duration,
}

/// A started server and the base URL it printed (no trailing slash).
pub struct Started {
    pub process: ChildProcess,
    pub url: String,
}

/// Write `enrollment.key` and `rendezvous.toml` for `config` into `dir` (which must stay
/// while the server runs), start `binary --config <dir>/rendezvous.toml` and wait for its
/// readiness line. `Ok(None)` when `stop()` became true meanwhile.
pub fn start(
    binary: &Path,
    dir: &Path,
    config: &RendezvousConfig,
    launch: Launch,
    stop: impl Fn() -> bool,
) -> Result<Option<Started>, StartError> {
    let key_file = write_private(dir, "enrollment.key", &config.fleet.enrollment_key_text())?;
    let database = config
        .database
        .clone()
        .unwrap_or_else(|| dir.join("registry.sqlite3"));
    let config_path = write_private(
        dir,
        "rendezvous.toml",
        &config.to_toml(&key_file, &database),
    )?;
    let mut command = Command::new(binary);
    command.arg("--config").arg(&config_path);
    let mut process = if launch.own_group {
        ChildProcess::spawn_own_group("rendezvous", command)?
    } else {
        ChildProcess::spawn("rendezvous", command)?
    };
    let url = process.wait_for_line_unless(crate::ready::RENDEZVOUS, launch.timeout, stop)?;
    Ok(url.map(|url| Started {
        url: url.trim_end_matches('/').to_string(),
        process,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toml_names_the_key_the_registry_and_the_limits() {
        let config = RendezvousConfig {
            invite_ttl_secs: Some(60),
            rate_limit: Some(RateLimit {
                burst: 3,
                per_minute: 10,
            }),
            ..Default::default()
        };
        let toml = config.to_toml(Path::new("/d/enrollment.key"), Path::new("/d/registry"));
        assert!(toml.contains("enrollment_key_file = \"/d/enrollment.key\""));
        assert!(toml.contains("database = \"/d/registry\""));
        assert!(toml.contains("listen = \"127.0.0.1:0\""));
        assert!(toml.contains("invite_ttl_secs = 60"));
        assert!(toml.contains("[rate_limit]\nburst = 3\nper_minute = 10"));
    }
}
