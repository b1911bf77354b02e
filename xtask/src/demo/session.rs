//! The demo proper, once the binaries exist: files, children, invite, wait, stop.
//!
//! What the user needs (the invite line and what to do with it) goes to `out` (stdout in
//! the real command); progress and the children's logs go to stderr.

use super::DemoBinaries;
use super::files::{self, ApplianceSettings, DemoFleet, PrivateDir};
use super::service::Service;
use super::stop::StopFlag;
use crate::cli::DemoOptions;
use crate::workspace;
use anyhow::{Context, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use visavis_api::local::client::{Client, ClientError};
use visavis_api::local::{ApiErrorCode, Request, Response};

const RENDEZVOUS_READY: &str = "rendezvous: listening on ";
const APPLIANCED_READY: &str = "applianced: ready ";
/// applianced builds its media pipeline before it is ready; give a slow board time.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long applianced may take to reach rendezvous before the invite is given up on.
const INVITE_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_GRACE: Duration = Duration::from_secs(5);
const TICK: Duration = Duration::from_millis(200);

pub fn run(
    binaries: &DemoBinaries,
    options: &DemoOptions,
    stop: &StopFlag,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    // Declared first so it is removed last, after the children have stopped.
    let dir = PrivateDir::create()?;
    eprintln!("xtask: demo: files in {}", dir.path().display());
    let fleet = DemoFleet::generate();
    let key_file = dir.write_file("enrollment.key", &fleet.key_text())?;
    let state_dir = dir.create_subdir("state")?;
    dir.write_file("state/enrollment-token", &fleet.token(options.mode))?;
    let rendezvous_toml = dir.write_file(
        "rendezvous.toml",
        &files::rendezvous_toml(&key_file, &dir.path().join("registry.sqlite3")),
    )?;
    let socket = dir.socket_path()?;

    let mut rendezvous = Service::spawn(
        "rendezvous",
        &binaries.rendezvous,
        &[Path::new("--config"), &rendezvous_toml],
        Some(RENDEZVOUS_READY),
    )?;
    let Some(rendezvous_url) = rendezvous.wait_ready(RENDEZVOUS_READY, READY_TIMEOUT, stop)? else {
        return Ok(ExitCode::SUCCESS);
    };
    eprintln!("xtask: demo: rendezvous is listening on {rendezvous_url}");

    let staff_pin = files::staff_pin()?;
    let staff_pin_file = dir.write_file("staff-pin", &format!("{staff_pin}\n"))?;
    let applianced_toml = dir.write_file(
        "applianced.toml",
        &files::applianced_toml(&ApplianceSettings {
            mode: options.mode.as_str(),
            rendezvous_url: &rendezvous_url,
            state_dir: &state_dir,
            socket: &socket,
            staff_pin_file: &staff_pin_file,
        }),
    )?;
    let mut applianced = Service::spawn(
        "applianced",
        &binaries.applianced,
        &[Path::new("--config"), &applianced_toml],
        Some(APPLIANCED_READY),
    )?;
    let Some(ready) = applianced.wait_ready(APPLIANCED_READY, READY_TIMEOUT, stop)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let (api_socket, metrics_url) = parse_applianced_ready(&ready, &socket);
    eprintln!("xtask: demo: applianced is ready; metrics at {metrics_url}");

    let Some(invite) = create_invite(&api_socket, &mut applianced, stop)? else {
        return Ok(ExitCode::SUCCESS);
    };
    writeln!(out, "invite: {invite}")?;
    writeln!(
        out,
        "Open the invite in a browser on this machine. Guests are admitted automatically: \
         that is for this demo only; a real unit asks the person in the room first.\n\
         Press Ctrl-C to stop."
    )?;
    writeln!(
        out,
        "staff PIN for this demo: {staff_pin} (the kiosk's Staff button)"
    )?;
    out.flush()?;

    let mut kiosk = start_kiosk(binaries, &api_socket);
    while !stop.requested() {
        for service in [&mut rendezvous, &mut applianced] {
            if let Some(status) = service.exited()? {
                return Err(service.failure(status));
            }
        }
        if let Some(k) = kiosk.as_mut()
            && let Some(status) = k.exited()?
        {
            eprintln!(
                "xtask: demo: {} ended ({}); the demo goes on without it",
                k.name(),
                workspace::describe(status)
            );
            kiosk = None;
        }
        std::thread::sleep(TICK);
    }

    // The kiosk first (a client), then the unit, then the server it talks to.
    if let Some(mut k) = kiosk {
        k.stop(STOP_GRACE);
    }
    applianced.stop(STOP_GRACE);
    rendezvous.stop(STOP_GRACE);
    drop(dir);
    eprintln!("xtask: demo: stopped; the demo's files are removed");
    Ok(ExitCode::SUCCESS)
}

/// `api=<socket> metrics=<url>` → the socket and the metrics URL. Falls back to the socket
/// we configured when the line does not have the expected shape.
fn parse_applianced_ready(rest: &str, configured_socket: &Path) -> (PathBuf, String) {
    let Some(rest) = rest.strip_prefix("api=") else {
        return (configured_socket.to_path_buf(), "(not reported)".into());
    };
    match rest.rsplit_once(" metrics=") {
        Some((socket, metrics)) => (PathBuf::from(socket), metrics.to_string()),
        None => (PathBuf::from(rest), "(not reported)".into()),
    }
}

/// Ask applianced for an invite, retrying while it is still connecting to rendezvous.
fn create_invite(
    socket: &Path,
    applianced: &mut Service,
    stop: &StopFlag,
) -> anyhow::Result<Option<String>> {
    let deadline = Instant::now() + INVITE_TIMEOUT;
    loop {
        if stop.requested() {
            return Ok(None);
        }
        let result = Client::connect(socket, Duration::from_secs(10))
            .and_then(|mut client| client.call(Request::CreateInvite));
        match result {
            Ok(Response::Invite { url, .. }) => return Ok(Some(url)),
            Ok(other) => {
                bail!("applianced answered CreateInvite with {other:?} instead of an invite")
            }
            Err(ClientError::Api(e))
                if e.code == ApiErrorCode::RendezvousUnavailable && Instant::now() < deadline =>
            {
                std::thread::sleep(TICK);
            }
            Err(e) => {
                if let Some(status) = applianced.exited()? {
                    return Err(applianced.failure(status));
                }
                return Err(e).with_context(|| {
                    format!(
                        "could not get an invite from applianced's local API at {}",
                        socket.display()
                    )
                });
            }
        }
    }
}

/// The kiosk window, when the demo has a kiosk to start; best-effort.
fn start_kiosk(binaries: &DemoBinaries, socket: &Path) -> Option<Service> {
    let kiosk = binaries.kiosk.as_ref()?;
    match Service::spawn("kiosk", kiosk, &[Path::new("--api"), socket], None) {
        Ok(kiosk) => Some(kiosk),
        Err(e) => {
            eprintln!("xtask: demo: the kiosk did not start ({e:#}); the demo goes on without it");
            None
        }
    }
}

#[cfg(test)]
mod tests;
