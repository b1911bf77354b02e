//! The demo proper, once the binaries exist: files, children, invite, wait, stop.
//!
//! What the user needs (the invite line and what to do with it) goes to `out` (stdout in
//! the real command); progress and the children's logs go to stderr.

use super::DemoBinaries;
use super::files::{self, ApplianceSettings, PrivateDir};
use super::stop::StopFlag;
use crate::cli::DemoOptions;
use anyhow::{Context, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};
use visavis_api::local::client::{Client, ClientError};
use visavis_api::local::{ApiErrorCode, Request, Response};
use visavis_launch::fleet::Fleet;
use visavis_launch::process::{ChildProcess, describe};
use visavis_launch::ready;
use visavis_launch::rendezvous::{self, Launch, RendezvousConfig};
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
    let fleet = Fleet::generate();
    let state_dir = dir.create_subdir("state")?;
    dir.write_file(
        "state/enrollment-token",
        &files::demo_token(&fleet, options.mode),
    )?;
    let socket = dir.socket_path()?;

    // rendezvous.toml, the fleet's key beside it and the registry in the demo's folder.
    let config = RendezvousConfig {
        fleet,
        ..RendezvousConfig::default()
    };
    let launch = Launch {
        own_group: true,
        timeout: READY_TIMEOUT,
    };
    let Some(started) =
        rendezvous::start(&binaries.rendezvous, dir.path(), &config, launch, || {
            stop.requested()
        })?
    else {
        return Ok(ExitCode::SUCCESS);
    };
    let (mut rendezvous, rendezvous_url) = (started.process, started.url);
    rendezvous.stop_gracefully_on_drop(STOP_GRACE);
    eprintln!("xtask: demo: rendezvous is listening on {rendezvous_url}");

    let staff_pin = files::staff_pin()?;
    let staff_pin_file = dir.write_file("staff-pin", &format!("{staff_pin}\n"))?;
    let applianced_toml = dir.write_file(
        "applianced.toml",
        &files::applianced_toml(&ApplianceSettings {
            mode: options.mode,
            rendezvous_url: &rendezvous_url,
            state_dir: &state_dir,
            socket: &socket,
            staff_pin_file: &staff_pin_file,
        }),
    )?;
    let mut command = Command::new(&binaries.applianced);
    command.arg("--config").arg(&applianced_toml);
    let mut applianced = ChildProcess::spawn_own_group("applianced", command)?;
    applianced.stop_gracefully_on_drop(STOP_GRACE);
    let Some(line) =
        applianced.wait_for_line_unless(ready::APPLIANCED, READY_TIMEOUT, || stop.requested())?
    else {
        return Ok(ExitCode::SUCCESS);
    };
    let (api_socket, metrics_url) = parse_applianced_ready(&line, &socket);
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
            if let Some(status) = service.exit_status() {
                return Err(service.exited_error(status, "early").into());
            }
        }
        if let Some(k) = kiosk.as_mut()
            && let Some(status) = k.exit_status()
        {
            eprintln!(
                "xtask: demo: {} ended ({}); the demo goes on without it",
                k.name(),
                describe(status)
            );
            kiosk = None;
        }
        std::thread::sleep(TICK);
    }

    // The kiosk first (a client), then the unit, then the server it talks to.
    if let Some(k) = kiosk.as_mut() {
        stop_child(k);
    }
    stop_child(&mut applianced);
    stop_child(&mut rendezvous);
    drop(dir);
    eprintln!("xtask: demo: stopped; the demo's files are removed");
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM to `child`'s process group, SIGKILL after [`STOP_GRACE`]; said on stderr.
fn stop_child(child: &mut ChildProcess) {
    if child.exit_status().is_some() {
        return;
    }
    eprintln!("xtask: demo: stopping {}", child.name());
    if let Err(e) = child.stop(STOP_GRACE) {
        eprintln!("xtask: demo: {e}; killed it");
    }
}

/// `api=<socket> metrics=<url>` → the socket and the metrics URL. Falls back to the socket
/// we configured when the line does not have the expected shape.
fn parse_applianced_ready(rest: &str, configured_socket: &Path) -> (PathBuf, String) {
    ready::parse_applianced(rest)
        .unwrap_or_else(|| (configured_socket.to_path_buf(), "(not reported)".into()))
}

/// Ask applianced for an invite, retrying while it is still connecting to rendezvous.
fn create_invite(
    socket: &Path,
    applianced: &mut ChildProcess,
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
                if let Some(status) = applianced.exit_status() {
                    return Err(applianced.exited_error(status, "early").into());
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
fn start_kiosk(binaries: &DemoBinaries, socket: &Path) -> Option<ChildProcess> {
    let kiosk = binaries.kiosk.as_ref()?;
    let mut command = Command::new(kiosk);
    command.arg("--api").arg(socket);
    match ChildProcess::spawn_own_group("kiosk", command) {
        Ok(mut kiosk) => {
            kiosk.stop_gracefully_on_drop(STOP_GRACE);
            Some(kiosk)
        }
        Err(e) => {
            eprintln!("xtask: demo: the kiosk did not start ({e:#}); the demo goes on without it");
            None
        }
    }
}

#[cfg(test)]
mod tests;
