//! The real `applianced` daemon, started for one test, on GStreamer test sources by default,
//! on the test's machine or behind a [`Lab`]'s NAT B.

use crate::bins::workspace_binary;
use crate::error::{Error, Result, ResultExt};
use crate::lab::forward::{Forward, http_url};
use crate::lab::{Lab, Netns, Node, RENDEZVOUS_ADDR};
use crate::rendezvous::Rendezvous;
use crate::timeouts;
use crate::wait::{Check, until_blocking};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;
use visavis_api::local::client::{Client, ClientError};
use visavis_api::local::{ApiErrorCode, GuestState, MetricsSnapshot, Request, Response, Status};
use visavis_launch::files::{toml_str, write_private};
use visavis_launch::fleet::Fleet;
use visavis_launch::process::ChildProcess;
use visavis_launch::ready;

/// The line applianced prints on stdout once it is ready (docs/contracts.md).
pub const READY_PREFIX: &str = ready::APPLIANCED;

/// What goes into applianced.toml. The API socket and metrics port (127.0.0.1:0) are chosen
/// by the harness.
#[derive(Debug, Clone)]
pub struct ApplianceConfig {
    pub device_id: String,
    /// Give the unit a one-time enrollment token from the rendezvous' fleet (as first boot
    /// does from a seed), so it enrolls its key when it first connects.
    pub enroll: bool,
    /// The unit's state directory (key, token); `None`: a fresh one in its temporary
    /// folder. Give a path to keep the unit's identity across restarts.
    pub state_dir: Option<PathBuf>,
    /// `None` uses the rendezvous' URL.
    pub rendezvous_url: Option<String>,
    pub mode: visavis_api::Mode,
    /// The store its enrollment token names (rendezvous shows it on the invite page).
    pub store: String,
    /// Its location, in its config and in its enrollment token.
    pub location: String,
    pub video_source: String,
    pub video_device: Option<String>,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub bitrate_kbps: u32,
    pub encoder: String,
    pub audio_source: String,
    /// Written verbatim at the end of `[audio]` (e.g. `device = "hw:CARD=Nope"`).
    pub audio_extra: String,
    pub auto_admit: bool,
    /// Written verbatim at the end of `[video]` (e.g. `file = ...`, `capture_timestamp = true`).
    pub video_extra: String,
    /// Written verbatim at the end of `[api]` (e.g. `preview_width = 1280`).
    pub api_extra: String,
    /// Written verbatim at the end (keys of `[session]`, or whole tables).
    pub extra_toml: String,
    /// Extra environment variables for the process (e.g. `NOTIFY_SOCKET`).
    pub env: Vec<(String, String)>,
    /// A command the binary is run through, e.g. `["ip", "netns", "exec", "unit"]` to start
    /// it in a network namespace of its own (it must exec the binary, keeping its pid).
    /// Empty: the binary is run directly.
    pub wrapper: Vec<String>,
}

impl Default for ApplianceConfig {
    fn default() -> Self {
        ApplianceConfig {
            device_id: "test-unit".into(),
            enroll: true,
            state_dir: None,
            rendezvous_url: None,
            mode: visavis_api::Mode::FittingRoom,
            store: "Test store".into(),
            location: "Cabine 3".into(),
            video_source: "test".into(),
            video_device: None,
            width: 640,
            height: 480,
            fps: 30,
            bitrate_kbps: 1000,
            encoder: "auto".into(),
            audio_source: "test".into(),
            audio_extra: String::new(),
            auto_admit: false,
            video_extra: String::new(),
            api_extra: String::new(),
            extra_toml: String::new(),
            env: Vec::new(),
            wrapper: Vec::new(),
        }
    }
}

/// A running applianced; killed on drop.
pub struct Appliance {
    api_socket: PathBuf,
    metrics_url: String,
    process: ChildProcess,
    _forward: Option<Forward>,
    _dir: TempDir,
}

impl Appliance {
    /// Start applianced as a unit of `rendezvous` and wait for its readiness line.
    pub fn start(rendezvous: &Rendezvous, config: ApplianceConfig) -> Result<Appliance> {
        let url = config
            .rendezvous_url
            .clone()
            .unwrap_or_else(|| rendezvous.url().to_string());
        Self::start_with(&url, Some(rendezvous.fleet()), &config)
    }

    /// Start applianced in `lab`'s unit namespace, behind NAT B, as a unit of `rendezvous`
    /// (started with [`Rendezvous::start_in_lab`]). applianced only speaks plain HTTP to a
    /// loopback address, so it is given `http://127.0.0.1:<port>` in its namespace, where a
    /// forward connects, from that same namespace and so through NAT B, to rendezvous at
    /// `http://198.18.0.10`. `config.rendezvous_url` is ignored. Its API socket is a path and
    /// works as usual; its metrics URL is on the unit namespace's loopback.
    pub fn start_in_lab(
        lab: &Lab,
        rendezvous: &Rendezvous,
        config: ApplianceConfig,
    ) -> Result<Appliance> {
        let unit = lab.ns(Node::Unit);
        let forward = Forward::start(
            Some(unit),
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            Some(unit),
            SocketAddr::from((RENDEZVOUS_ADDR, 80)),
        )?;
        let url = http_url(forward.local_addr());
        let mut appliance = Self::start_in(&url, Some(rendezvous.fleet()), &config, Some(unit))?;
        appliance._forward = Some(forward);
        Ok(appliance)
    }

    /// Start applianced against any rendezvous URL; with `fleet` (and `config.enroll`), the
    /// unit holds an enrollment token of that fleet.
    pub fn start_with(
        rendezvous_url: &str,
        fleet: Option<&Fleet>,
        config: &ApplianceConfig,
    ) -> Result<Appliance> {
        Self::start_in(rendezvous_url, fleet, config, None)
    }

    fn start_in(
        rendezvous_url: &str,
        fleet: Option<&Fleet>,
        config: &ApplianceConfig,
        netns: Option<&Netns>,
    ) -> Result<Appliance> {
        let dir = TempDir::with_prefix("visavis-appliance-")
            .context("could not create a temporary folder")?;
        let state_dir = config
            .state_dir
            .clone()
            .unwrap_or_else(|| dir.path().join("state"));
        std::fs::create_dir_all(&state_dir).context("could not create the state directory")?;
        if let (Some(fleet), true) = (fleet, config.enroll) {
            write_private(
                &state_dir,
                "enrollment-token",
                &fleet.token(&visavis_launch::fleet::Enrollment {
                    device_id: &config.device_id,
                    store: &config.store,
                    location: &config.location,
                    mode: config.mode,
                    valid_for: std::time::Duration::from_secs(3600),
                }),
            )?;
        }
        let socket = dir.path().join("applianced.sock");
        let toml = config_toml(config, rendezvous_url, &state_dir, &socket);
        let config_path = write_private(dir.path(), "applianced.toml", &toml)?;
        Self::spawn(&config_path, &config.env, &config.wrapper, dir, netns)
    }

    /// Start applianced with a config file written elsewhere (by first boot, say).
    pub fn start_from_file(config_path: &Path) -> Result<Appliance> {
        let dir = TempDir::with_prefix("visavis-appliance-")
            .context("could not create a temporary folder")?;
        Self::spawn(config_path, &[], &[], dir, None)
    }

    fn spawn(
        config_path: &Path,
        env: &[(String, String)],
        wrapper: &[String],
        dir: TempDir,
        netns: Option<&Netns>,
    ) -> Result<Appliance> {
        let binary = workspace_binary("applianced")?;
        let mut command = match (netns, wrapper.split_first()) {
            (Some(ns), _) => ns.command(binary),
            (None, Some((program, args))) => {
                let mut c = Command::new(program);
                c.args(args).arg(binary);
                c
            }
            (None, None) => Command::new(binary),
        };
        command.arg("--config").arg(config_path);
        command.envs(env.iter().map(|(k, v)| (k, v)));
        let mut process = ChildProcess::spawn("applianced", command)?;
        let line = process.wait_for_line(READY_PREFIX, timeouts::appliance_start())?;
        let (api_socket, metrics_url) = ready::parse_applianced(&line).ok_or_else(|| {
            Error::new(format!(
                "applianced's readiness line has an unexpected shape: {line:?}"
            ))
        })?;
        Ok(Appliance {
            api_socket,
            metrics_url,
            process,
            _forward: None,
            _dir: dir,
        })
    }

    /// The local API socket it reported.
    pub fn api_socket(&self) -> &Path {
        &self.api_socket
    }

    /// `http://<addr>/metrics`, as reported.
    pub fn metrics_url(&self) -> &str {
        &self.metrics_url
    }

    /// A new local-API connection.
    pub fn client(&self) -> Result<Client> {
        Client::connect(&self.api_socket, timeouts::api_reply()).context(format!(
            "could not connect to applianced's API at {}",
            self.api_socket.display()
        ))
    }

    /// The unit's status now.
    pub fn status(&self) -> Result<Status> {
        match self.client()?.call(Request::Status) {
            Ok(Response::Status(s)) => Ok(s),
            other => Err(Error::new(format!("status: {other:?}"))),
        }
    }

    /// Let in the waiting guest called `name`, as the person in the room does.
    pub fn admit(&self, name: &str) -> Result<()> {
        let status = self.status()?;
        let guest = status
            .guests
            .iter()
            .find(|g| g.name == name && g.state == GuestState::Waiting)
            .ok_or_else(|| Error::new(format!("{name} is not waiting: {:?}", status.guests)))?;
        match self.client()?.call(Request::Admit {
            guest_id: guest.guest_id.clone(),
        }) {
            Ok(Response::Done) => Ok(()),
            other => Err(Error::new(format!("admit {name}: {other:?}"))),
        }
    }

    /// The unit's counters now.
    pub fn metrics(&self) -> Result<MetricsSnapshot> {
        match self.client()?.call(Request::Metrics) {
            Ok(Response::Metrics(m)) => Ok(*m),
            other => Err(Error::new(format!("metrics: {other:?}"))),
        }
    }

    /// Ask for an invite, retrying while applianced is still connecting to rendezvous;
    /// returns the invite URL.
    pub fn create_invite(&mut self, timeout: Duration) -> Result<String> {
        let mut client = self.client()?;
        let result = until_blocking("applianced to hand out an invite", timeout, || match client
            .call(Request::CreateInvite)
        {
            Ok(Response::Invite { url, .. }) => Ok(Check::Ready(url)),
            Ok(other) => Err(Error::new(format!("CreateInvite answered {other:?}"))),
            Err(ClientError::Api(e)) if e.code == ApiErrorCode::RendezvousUnavailable => {
                Ok(Check::NotYet(e.message))
            }
            Err(e) => Err(Error::new(format!("CreateInvite failed: {e}"))),
        });
        match (result, self.process.exit_status()) {
            (Err(_), Some(status)) => Err(self
                .process
                .exited_error(status, "while an invite was requested")
                .into()),
            (result, _) => result,
        }
    }

    pub fn process(&mut self) -> &mut ChildProcess {
        &mut self.process
    }
}

fn config_toml(c: &ApplianceConfig, url: &str, state_dir: &Path, socket: &Path) -> String {
    let device_line = match &c.video_device {
        Some(d) => format!("device = {}\n", toml_str(d)),
        None => String::new(),
    };
    format!(
        "device_id = {id}\nmode = {mode}\nlocation = {location}\nstate_dir = {state}\n\n\
         [rendezvous]\nurl = {url}\n\n\
         [api]\nsocket = {socket}\n{api_extra}\n\
         [metrics]\nlisten = \"127.0.0.1:0\"\n\n\
         [video]\nsource = {vsource}\n{device_line}width = {w}\nheight = {h}\nfps = {fps}\n\
         bitrate_kbps = {kbps}\nencoder = {encoder}\n{video_extra}\n\
         [audio]\nsource = {asource}\nspeaker = \"none\"\n{audio_extra}\n\
         [session]\nauto_admit = {admit}\n{extra}\n",
        id = toml_str(&c.device_id),
        mode = toml_str(c.mode.as_str()),
        location = toml_str(&c.location),
        url = toml_str(url),
        state = toml_str(&state_dir.to_string_lossy()),
        socket = toml_str(&socket.to_string_lossy()),
        vsource = toml_str(&c.video_source),
        w = c.width,
        h = c.height,
        fps = c.fps,
        kbps = c.bitrate_kbps,
        encoder = toml_str(&c.encoder),
        video_extra = c.video_extra,
        api_extra = c.api_extra,
        asource = toml_str(&c.audio_source),
        audio_extra = c.audio_extra,
        admit = c.auto_admit,
        extra = c.extra_toml,
    )
}

/// A staff PIN file in `dir` holding `pin`, readable by the unit's group only (mode 0640,
/// as the package installs it), and the `[staff]` lines that point applianced at it.
pub fn staff_pin_file(dir: &Path, pin: &str) -> Result<(PathBuf, String)> {
    use std::os::unix::fs::PermissionsExt;
    let pin_file = dir.join("staff-pin");
    std::fs::write(&pin_file, format!("{pin}\n")).context("could not write the PIN file")?;
    std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o640))
        .context("could not set the PIN file's mode")?;
    let toml = format!("[staff]\npin_file = {:?}\n", pin_file.display().to_string());
    Ok((pin_file, toml))
}
