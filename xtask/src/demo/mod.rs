//! `cargo xtask demo`: a whole Visavis unit on this machine, for a browser on this machine.
//!
//! Setup and build, then [`session::run`]: in a private temporary folder, a fresh device
//! secret, rendezvous.toml and applianced.toml (docs/contracts.md); `rendezvous`, then
//! `applianced` pointed at the URL rendezvous printed; an invite from applianced's local API,
//! printed as `invite: <url>`; then wait for Ctrl-C or SIGTERM and stop everything (the
//! temporary folder goes too). A child that exits on its own ends the demo with its last
//! stderr lines and a non-zero exit code.

mod files;
mod session;
mod stop;

use crate::cli::DemoOptions;
use crate::{setup, workspace};
use std::path::PathBuf;
use std::process::ExitCode;
use stop::StopFlag;

/// The programs the demo starts.
pub struct DemoBinaries {
    pub rendezvous: PathBuf,
    pub applianced: PathBuf,
    /// Started when given, best-effort: only with a display and without `--headless`.
    pub kiosk: Option<PathBuf>,
}

/// The kiosk binary, when the demo should open the kiosk window.
fn kiosk_binary(options: &DemoOptions) -> Option<PathBuf> {
    let has_display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()));
    if options.headless || !has_display {
        return None;
    }
    match workspace::binary(options.profile, "kiosk") {
        Ok(path) => Some(path),
        Err(e) => {
            eprintln!("xtask: demo: {e:#}; the demo goes on without the kiosk");
            None
        }
    }
}

pub fn run(options: &DemoOptions) -> anyhow::Result<ExitCode> {
    setup::run()?;
    workspace::build(options.profile)?;
    let binaries = DemoBinaries {
        rendezvous: workspace::binary(options.profile, "rendezvous")?,
        applianced: workspace::binary(options.profile, "applianced")?,
        kiosk: kiosk_binary(options),
    };
    let stop = StopFlag::install()?;
    session::run(&binaries, options, &stop, &mut std::io::stdout())
}
