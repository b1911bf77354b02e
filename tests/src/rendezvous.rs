//! The real `rendezvous` server, started for one test.

use crate::bins::workspace_binary;
use crate::config::{Fleet, toml_str, write_private};
use crate::error::{Result, ResultExt};
use crate::process::ChildProcess;
use std::fmt::Write as _;
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;

/// The line rendezvous prints on stdout once it listens (docs/contracts.md).
pub const READY_PREFIX: &str = "rendezvous: listening on ";
/// How long rendezvous may take to start (2 cores, other tests running).
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What goes into rendezvous.toml. `listen` is always `127.0.0.1:0`; anything left `None`
/// keeps the server's default.
#[derive(Debug, Clone)]
pub struct RendezvousConfig {
    pub public_url: Option<String>,
    pub invite_ttl_secs: Option<u64>,
    pub rate_limit: Option<RateLimit>,
    /// The fleet whose enrollment tokens it accepts (a random key by default).
    pub fleet: Fleet,
    /// The device registry; `None`: a fresh one in the server's temporary folder. Give a
    /// path to keep it across restarts.
    pub database: Option<std::path::PathBuf>,
    /// Written verbatim after the top-level keys (keys or whole tables), for settings this
    /// struct does not know yet.
    pub extra_toml: String,
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
        }
    }
}

impl RendezvousConfig {
    fn to_toml(&self, key_file: &std::path::Path, database: &std::path::Path) -> String {
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
        t
    }
}

/// A running rendezvous server; killed on drop.
pub struct Rendezvous {
    url: String,
    config: RendezvousConfig,
    process: ChildProcess,
    _dir: TempDir,
}

impl Rendezvous {
    /// Write rendezvous.toml for `config`, start the server and wait for its readiness line.
    pub fn start(config: RendezvousConfig) -> Result<Rendezvous> {
        let binary = workspace_binary("rendezvous")?;
        let dir = TempDir::with_prefix("visavis-rendezvous-")
            .context("could not create a temporary folder")?;
        let key_file = write_private(
            dir.path(),
            "enrollment.key",
            &config.fleet.enrollment_key_text(),
        )?;
        let database = config
            .database
            .clone()
            .unwrap_or_else(|| dir.path().join("registry.sqlite3"));
        let config_path = write_private(
            dir.path(),
            "rendezvous.toml",
            &config.to_toml(&key_file, &database),
        )?;
        let mut command = Command::new(binary);
        command.arg("--config").arg(&config_path);
        let mut process = ChildProcess::spawn("rendezvous", command)?;
        let url = process.wait_for_line(READY_PREFIX, START_TIMEOUT)?;
        Ok(Rendezvous {
            url: url.trim_end_matches('/').to_string(),
            config,
            process,
            _dir: dir,
        })
    }

    /// The base URL it printed, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The guest page URL for `token`: `<url>/i/<token>`.
    pub fn invite_url(&self, token: &str) -> String {
        format!("{}/i/{token}", self.url)
    }

    /// The fleet whose units it enrolls.
    pub fn fleet(&self) -> &Fleet {
        &self.config.fleet
    }

    pub fn config(&self) -> &RendezvousConfig {
        &self.config
    }

    pub fn process(&mut self) -> &mut ChildProcess {
        &mut self.process
    }
}
