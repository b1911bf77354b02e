//! The real `rendezvous` server, started for one test (by `visavis-launch`, as the demo
//! starts it).

use crate::bins::workspace_binary;
use crate::error::{Error, Result, ResultExt};
use crate::timeouts;
use tempfile::TempDir;
use visavis_launch::fleet::Fleet;
use visavis_launch::process::ChildProcess;
use visavis_launch::rendezvous::{Launch, start};
pub use visavis_launch::rendezvous::{RateLimit, RendezvousConfig};

/// The line rendezvous prints on stdout once it listens (docs/contracts.md).
pub const READY_PREFIX: &str = visavis_launch::ready::RENDEZVOUS;

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
        let launch = Launch {
            own_group: false,
            timeout: timeouts::rendezvous_start(),
        };
        let started = start(&binary, dir.path(), &config, launch, || false)?
            .ok_or_else(|| Error::new("rendezvous: the start was called off"))?;
        let (url, process) = (started.url, started.process);
        Ok(Rendezvous {
            url,
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
