//! The real `rendezvous` server, started for one test (by `visavis-launch`, as the demo
//! starts it), on the test's loopback or in a [`Lab`]'s internet.

use crate::bins::workspace_binary;
use crate::error::{Error, Result, ResultExt};
use crate::lab::forward::{Forward, http_url, url_port};
use crate::lab::{Lab, Node, RENDEZVOUS_ADDR};
use crate::timeouts;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use tempfile::TempDir;
use visavis_launch::files::write_private;
use visavis_launch::fleet::Fleet;
use visavis_launch::process::ChildProcess;
use visavis_launch::rendezvous::{Launch, start};
pub use visavis_launch::rendezvous::{RateLimit, RendezvousConfig, Turn};

/// The line rendezvous prints on stdout once it listens (docs/contracts.md).
pub const READY_PREFIX: &str = visavis_launch::ready::RENDEZVOUS;

/// A running rendezvous server; killed on drop.
pub struct Rendezvous {
    url: String,
    config: RendezvousConfig,
    process: ChildProcess,
    lab_url: Option<String>,
    /// In a lab: the public address (198.18.0.10:80) and the test's own way in.
    _forwards: Vec<Forward>,
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
            lab_url: None,
            _forwards: Vec::new(),
            _dir: dir,
        })
    }

    /// Start it in `lab`'s internet: it listens on the internet namespace's loopback, and a
    /// forward makes it answer on `http://198.18.0.10` (port 80) for the guest and the unit;
    /// [`Rendezvous::url`] is a forward from the test's own loopback. Without a
    /// `public_url`, invite links point at `http://198.18.0.10`.
    pub fn start_in_lab(lab: &Lab, mut config: RendezvousConfig) -> Result<Rendezvous> {
        let binary = workspace_binary("rendezvous")?;
        let dir = TempDir::with_prefix("visavis-rendezvous-")
            .context("could not create a temporary folder")?;
        let lab_url = Lab::rendezvous_url();
        config.public_url.get_or_insert_with(|| lab_url.clone());
        // What visavis_launch::rendezvous::start does, with the command run in the lab.
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
        let inet = lab.ns(Node::Inet);
        let mut command: Command = inet.command(&binary);
        command.arg("--config").arg(&config_path);
        let mut process = ChildProcess::spawn("rendezvous", command)?;
        let inside = process.wait_for_line(READY_PREFIX, timeouts::rendezvous_start())?;
        let port = url_port(&inside)?;
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let public = Forward::start(
            Some(inet),
            SocketAddr::from((RENDEZVOUS_ADDR, 80)),
            Some(inet),
            loopback,
        )?;
        let host = Forward::start(
            None,
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            Some(inet),
            loopback,
        )?;
        Ok(Rendezvous {
            url: http_url(host.local_addr()),
            config,
            process,
            lab_url: Some(lab_url),
            _forwards: vec![public, host],
            _dir: dir,
        })
    }

    /// In a lab, the URL the guest and the unit reach it at (`http://198.18.0.10`).
    pub fn lab_url(&self) -> Option<&str> {
        self.lab_url.as_deref()
    }

    /// The base URL it printed, e.g. `http://127.0.0.1:41234` (no trailing slash); in a lab,
    /// the test's forward to it.
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
