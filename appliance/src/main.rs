//! `applianced`: raw arguments → validated config → run; one exit-code policy:
//! 0 clean stop, 1 runtime failure, 2 bad usage or configuration. `first-boot` exits 0 when
//! the seed was applied (or already was), 1 when it could not be.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use visavis_appliance::config::Config;
use visavis_appliance::{daemon, first_boot};

const EXIT_CODES: &str = "\
Exit codes: 0 clean stop; 1 runtime failure; 2 bad usage or configuration; 75 restart
requested from the staff screen. `first-boot`: 0 applied (or already was), 1 could not be.";

/// The Visavis unit's daemon: camera, microphone, calls and the kiosk's local API.
#[derive(Debug, Parser)]
#[command(
    name = "applianced",
    version,
    after_help = EXIT_CODES,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    /// Run the daemon with this config file.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "check_config",
        conflicts_with = "check_config"
    )]
    config: Option<PathBuf>,
    /// Validate a config file and exit.
    #[arg(long, value_name = "FILE")]
    check_config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Apply the seed from the boot partition, once.
    FirstBoot {
        /// The seed file (default: <ROOT>/boot/firmware/visavis-seed.json).
        #[arg(long, value_name = "FILE")]
        seed: Option<PathBuf>,
        /// The root of the unit's file system.
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: PathBuf,
    },
}

enum Command {
    Run(PathBuf),
    Check(PathBuf),
    FirstBoot(first_boot::Paths),
}

impl Cli {
    fn command(self) -> Command {
        match (self.command, self.check_config, self.config) {
            (Some(Sub::FirstBoot { seed, root }), _, _) => {
                let seed = seed.unwrap_or_else(|| root.join("boot/firmware/visavis-seed.json"));
                Command::FirstBoot(first_boot::Paths { root, seed })
            }
            (None, Some(path), _) => Command::Check(path),
            // clap requires one of --config and --check-config without a subcommand.
            (None, None, config) => Command::Run(config.unwrap_or_default()),
        }
    }
}

/// The command line, or the exit code when there is nothing to run: 0 after `--help` or
/// `--version`, 2 for bad usage.
fn parse_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Command, ExitCode> {
    visavis_api::cli::parse_from::<Cli, _, _>(args).map(|cli| cli.command())
}

fn main() -> ExitCode {
    let command = match parse_args(std::env::args_os()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let path = match command {
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
    // Before any thread starts: a few malloc arenas, not one per thread (see `visavis_api::allocator`).
    visavis_api::allocator::limit_arenas();
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
        // A library's line repeated per call is said once a minute (see `log_repeats`).
        let repeats = visavis_appliance::log_repeats::RepeatFilter::global().clone();
        tracing_subscriber::registry()
            .with(filter)
            .with(repeats)
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
    runtime.spawn(
        visavis_appliance::log_repeats::RepeatFilter::global()
            .clone()
            .report_counts(),
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, ExitCode> {
        parse_args(
            std::iter::once("applianced")
                .chain(args.iter().copied())
                .map(Into::into),
        )
    }

    #[test]
    fn every_command_line_form() {
        assert!(
            matches!(parse(&["--config", "a.toml"]), Ok(Command::Run(p)) if p.as_os_str() == "a.toml")
        );
        assert!(
            matches!(parse(&["--check-config", "b.toml"]), Ok(Command::Check(p)) if p.as_os_str() == "b.toml")
        );
        let Ok(Command::FirstBoot(paths)) = parse(&["first-boot", "--root", "/mnt"]) else {
            panic!("first-boot");
        };
        assert_eq!(
            paths.seed,
            PathBuf::from("/mnt/boot/firmware/visavis-seed.json")
        );
        let Ok(Command::FirstBoot(paths)) = parse(&["first-boot", "--seed", "/s.json"]) else {
            panic!("first-boot --seed");
        };
        assert_eq!(
            (paths.root, paths.seed),
            (PathBuf::from("/"), PathBuf::from("/s.json"))
        );
    }

    #[test]
    fn bad_usage_exits_2_and_help_0() {
        for bad in [
            &[][..],
            &["--config"],
            &["--port", "1"],
            &["first-boot", "--bogus", "x"],
        ] {
            assert_eq!(parse(bad).err(), Some(ExitCode::from(2)), "{bad:?}");
        }
        assert_eq!(
            parse(&["--config", "a", "--check-config", "b"]).err(),
            Some(ExitCode::from(2))
        );
        assert_eq!(parse(&["--help"]).err(), Some(ExitCode::SUCCESS));
        assert_eq!(parse(&["--version"]).err(), Some(ExitCode::SUCCESS));
    }
}
