//! The real `rendezvous` server, started for one test.

use crate::bins::workspace_binary;
use crate::config::{DeviceCredentials, toml_str, write_private};
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
    /// The units it knows. The default has one, `test-unit`, with a random secret.
    pub devices: Vec<DeviceCredentials>,
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
            devices: vec![DeviceCredentials::generate("test-unit")],
            extra_toml: String::new(),
        }
    }
}

impl RendezvousConfig {
    fn to_toml(&self) -> String {
        let mut t = String::from("listen = \"127.0.0.1:0\"\n");
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
        for device in &self.devices {
            let _ = writeln!(
                t,
                "\n[[devices]]\nid = {}\nsecret_sha256 = {}",
                toml_str(&device.id),
                toml_str(&device.secret_sha256())
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
        let config_path = write_private(dir.path(), "rendezvous.toml", &config.to_toml())?;
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

    /// The first unit it knows (the default config's `test-unit`).
    pub fn device(&self) -> &DeviceCredentials {
        &self.config.devices[0]
    }

    pub fn config(&self) -> &RendezvousConfig {
        &self.config
    }

    pub fn process(&mut self) -> &mut ChildProcess {
        &mut self.process
    }
}
