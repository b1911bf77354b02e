//! `applianced`: raw arguments → validated config → run; one exit-code policy:
//! 0 clean stop, 1 runtime failure, 2 bad usage or configuration. `first-boot` exits 0 when
//! the seed was applied (or already was), 1 when it could not be.

use std::path::PathBuf;
use std::process::ExitCode;
use visavis_appliance::config::Config;
use visavis_appliance::{daemon, first_boot};

const USAGE: &str = "\
usage: applianced --config <file>          run the daemon
       applianced --check-config <file>    validate a config file and exit
       applianced first-boot [--seed <file>] [--root <dir>]
                                           apply the seed from the boot partition, once
                                           (default seed: <root>/boot/firmware/visavis-seed.json)
       applianced --version | --help";

enum Command {
    Run(PathBuf),
    Check(PathBuf),
    FirstBoot(first_boot::Paths),
    Help,
    Version,
}

fn parse_args(args: &[String]) -> Result<Command, String> {
    match args {
        [flag, path] if flag == "--config" => Ok(Command::Run(PathBuf::from(path))),
        [flag, path] if flag == "--check-config" => Ok(Command::Check(PathBuf::from(path))),
        [flag] if flag == "--help" || flag == "-h" => Ok(Command::Help),
        [flag] if flag == "--version" || flag == "-V" => Ok(Command::Version),
        [cmd, rest @ ..] if cmd == "first-boot" => {
            let mut root = PathBuf::from("/");
            let mut seed = None;
            let mut rest = rest.iter();
            while let Some(flag) = rest.next() {
                let value = rest.next().ok_or(format!("{flag} needs a value"))?;
                match flag.as_str() {
                    "--root" => root = PathBuf::from(value),
                    "--seed" => seed = Some(PathBuf::from(value)),
                    other => return Err(format!("first-boot: unknown option {other:?}")),
                }
            }
            let seed = seed.unwrap_or_else(|| root.join("boot/firmware/visavis-seed.json"));
            Ok(Command::FirstBoot(first_boot::Paths { root, seed }))
        }
        [] => Err("missing --config <file>".into()),
        other => Err(format!("unexpected arguments {other:?}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("applianced: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let path = match command {
        Command::Help => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            println!("applianced {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Command::Check(path) => {
            return match Config::load(&path) {
                Ok(_) => {
                    println!("{}: ok", path.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("applianced: {e}");
                    ExitCode::from(2)
                }
            };
        }
        Command::FirstBoot(paths) => return run_first_boot(&paths),
        Command::Run(path) => path,
    };
    {
        use tracing_subscriber::prelude::*;
        let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            "info,webrtc=warn,rtc=warn,rtc_dtls=error,rtc_ice=error,rtc_sctp=error".into()
        });
        let log = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
        // Warnings and errors are also kept for the staff screen.
        let recent = visavis_appliance::recent::RecentErrors::global().clone();
        tracing_subscriber::registry()
            .with(filter)
            .with(log)
            .with(recent)
            .init();
    }
    let config = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("applianced: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("applianced: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(daemon::run(config, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(daemon::DaemonError::Config(e)) => {
            eprintln!("applianced: {e}");
            ExitCode::from(2)
        }
        Err(daemon::DaemonError::Identity(e)) => {
            eprintln!("applianced: {e}");
            ExitCode::from(2)
        }
        Err(daemon::DaemonError::RestartRequested) => {
            eprintln!("applianced: restarting at staff request");
            ExitCode::from(75)
        }
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("applianced: {e}");
            ExitCode::from(1)
        }
    }
}

/// `applianced first-boot`: 0 applied or nothing to do, 1 the seed could not be applied.
fn run_first_boot(paths: &first_boot::Paths) -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter("info")
        .init();
    match first_boot::run(paths) {
        Ok(first_boot::Outcome::Applied { device_id }) => {
            println!(
                "first-boot: seed applied for {device_id}; its secrets were erased from the boot partition"
            );
            ExitCode::SUCCESS
        }
        Ok(first_boot::Outcome::AlreadyApplied { blanked }) => {
            println!(
                "first-boot: already applied{}",
                if blanked {
                    "; leftover secrets erased from the seed"
                } else {
                    "; nothing to do"
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("applianced first-boot: {e}");
            ExitCode::from(1)
        }
    }
}

/// SIGTERM (systemd) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot watch SIGTERM: {e}");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: stopping"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted: stopping"),
    }
}
