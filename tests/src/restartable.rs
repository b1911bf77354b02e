//! A rendezvous that can be killed and started again on the same port and registry, as
//! systemd restarts it: the unit and the guests reconnect to the address they know (used by
//! `tests/restart.rs` and the soak bench).

use crate::bins::workspace_binary;
use crate::process::ChildProcess;
use crate::{Fleet, RendezvousConfig, timeouts};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;
use tempfile::TempDir;
use visavis_launch::files::write_private;

/// A rendezvous process that can be killed and started again; killed on drop.
pub struct Restartable {
    config_path: PathBuf,
    url: String,
    fleet: Fleet,
    pub process: ChildProcess,
    _dir: TempDir,
}

impl Restartable {
    /// Start rendezvous on a free loopback port, its registry in its own folder.
    pub fn start(mut config: RendezvousConfig) -> Result<Restartable, String> {
        let dir = TempDir::with_prefix("visavis-soak-rendezvous-").map_err(|e| e.to_string())?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let key_file = write_private(
            dir.path(),
            "enrollment.key",
            &config.fleet.enrollment_key_text(),
        )
        .map_err(|e| e.to_string())?;
        let database = dir.path().join("registry.sqlite3");
        config.database = Some(database.clone());
        let toml = config.to_toml(&key_file, &database).replacen(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"127.0.0.1:{port}\""),
            1,
        );
        let config_path =
            write_private(dir.path(), "rendezvous.toml", &toml).map_err(|e| e.to_string())?;
        let process = spawn(&config_path)?;
        Ok(Restartable {
            config_path,
            url: format!("http://127.0.0.1:{port}"),
            fleet: config.fleet,
            process,
            _dir: dir,
        })
    }

    /// Its base URL, the same across restarts.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The fleet whose units it enrolls.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// Kill it (SIGKILL).
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Start it again with the same file; returns when it listens.
    pub fn start_again(&mut self) -> Result<Instant, String> {
        self.process = spawn(&self.config_path)?;
        Ok(Instant::now())
    }
}

fn spawn(config_path: &std::path::Path) -> Result<ChildProcess, String> {
    let binary = workspace_binary("rendezvous").map_err(|e| e.to_string())?;
    let mut command = Command::new(binary);
    command.arg("--config").arg(config_path);
    let mut process = ChildProcess::spawn("rendezvous", command).map_err(|e| e.to_string())?;
    process
        .wait_for_line(
            visavis_launch::ready::RENDEZVOUS,
            timeouts::rendezvous_start(),
        )
        .map_err(|e| e.to_string())?;
    Ok(process)
}
