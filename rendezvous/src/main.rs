//! `rendezvous --config FILE`: load the config, open the device registry, bind, print the
//! readiness line, serve until SIGTERM or Ctrl-C.
//!
//! Exit codes: 0 after a clean shutdown, 1 when serving fails (e.g. the port is taken),
//! 2 for a bad command line, config, TLS file or device registry (`database`).

use clap::Parser;
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use visavis_rendezvous::clock::SystemClock;
use visavis_rendezvous::devices::DeviceRegistry;
use visavis_rendezvous::{Config, base_url, run_with_registry, tls};

/// Serves the Visavis guest app and relays signaling between units and guests.
#[derive(Debug, Parser)]
#[command(
    name = "rendezvous",
    version,
    after_help = "The config file format is described in docs/contracts.md.\n\
                  Exit codes: 0 clean shutdown; 1 serving failed; 2 bad command line, config, \
                  TLS file or device registry."
)]
struct Cli {
    /// The config file (rendezvous.toml).
    #[arg(short, long, value_name = "FILE")]
    config: PathBuf,
}

/// The config file's path, or the exit code when there is nothing to run: 0 after `--help`
/// or `--version`, 2 for a bad command line.
fn parse_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<PathBuf, ExitCode> {
    visavis_api::cli::parse_from::<Cli, _, _>(args).map(|cli| cli.config)
}

fn main() -> ExitCode {
    // Before any thread starts: a few malloc arenas, not one per thread.
    visavis_api::allocator::limit_arenas();
    let path = match parse_args(std::env::args_os()) {
        Ok(path) => path,
        Err(code) => return code,
    };
    let config = match Config::load(&path) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("rendezvous: bad config: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(files) = &config.tls
        && let Err(e) = tls::acceptor(files)
    {
        eprintln!("rendezvous: bad config: {e}");
        return ExitCode::from(2);
    }
    let devices = match DeviceRegistry::open(&config.database) {
        Ok(devices) => Arc::new(devices),
        Err(e) => {
            eprintln!("rendezvous: bad config: database: {e}");
            return ExitCode::from(2);
        }
    };

    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rendezvous: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config, devices)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rendezvous: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(
    config: Config,
    devices: Arc<DeviceRegistry>,
) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let url = base_url(&listener, &config)?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "rendezvous: listening on {url}")?;
        out.flush()?;
    }
    run_with_registry(
        listener,
        config,
        Arc::new(SystemClock),
        devices,
        shutdown_signal(),
    )
    .await?;
    Ok(())
}

/// SIGTERM (systemd, `docker stop`) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot watch SIGTERM ({e}); only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<PathBuf, ExitCode> {
        parse_args(
            std::iter::once("rendezvous")
                .chain(list.iter().copied())
                .map(Into::into),
        )
    }

    #[test]
    fn config_flag_forms() {
        assert!(matches!(args(&["--config", "a.toml"]), Ok(p) if p.as_os_str() == "a.toml"));
        assert!(matches!(args(&["--config=b.toml"]), Ok(p) if p.as_os_str() == "b.toml"));
        assert!(matches!(args(&["-c", "c.toml"]), Ok(p) if p.as_os_str() == "c.toml"));
        assert_eq!(args(&[]).err(), Some(ExitCode::from(2)));
        assert_eq!(args(&["--config"]).err(), Some(ExitCode::from(2)));
        assert_eq!(args(&["--port", "1"]).err(), Some(ExitCode::from(2)));
        assert_eq!(args(&["--help"]).err(), Some(ExitCode::SUCCESS));
        assert_eq!(args(&["-V"]).err(), Some(ExitCode::SUCCESS));
    }
}
