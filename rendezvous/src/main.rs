//! `rendezvous --config FILE`: load the config, open the device registry, bind, print the
//! readiness line, serve until SIGTERM or Ctrl-C.
//!
//! Exit codes: 0 after a clean shutdown, 1 when serving fails (e.g. the port is taken),
//! 2 for a bad command line, config, TLS file or device registry (`database`).

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use visavis_rendezvous::clock::SystemClock;
use visavis_rendezvous::devices::DeviceRegistry;
use visavis_rendezvous::{Config, base_url, run_with_registry, tls};

const USAGE: &str = "usage: rendezvous --config FILE\n\n\
    Serves the Visavis guest app and relays signaling between units and guests.\n\
    The config file format is described in docs/contracts.md.";

enum Cli {
    Run(PathBuf),
    Help,
    Version,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Cli, String> {
    let mut config = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Cli::Help),
            "-V" | "--version" => return Ok(Cli::Version),
            "--config" | "-c" => match args.next() {
                Some(path) => config = Some(PathBuf::from(path)),
                None => return Err("--config needs a file name".into()),
            },
            other => match other.strip_prefix("--config=") {
                Some(path) => config = Some(PathBuf::from(path)),
                None => return Err(format!("unexpected argument {other:?}")),
            },
        }
    }
    config
        .map(Cli::Run)
        .ok_or_else(|| "--config FILE is required".into())
}

fn main() -> ExitCode {
    let path = match parse_args(std::env::args().skip(1)) {
        Ok(Cli::Run(path)) => path,
        Ok(Cli::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Cli::Version) => {
            println!("rendezvous {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("rendezvous: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
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

    fn args(list: &[&str]) -> Result<Cli, String> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn config_flag_forms() {
        assert!(
            matches!(args(&["--config", "a.toml"]), Ok(Cli::Run(p)) if p.as_os_str() == "a.toml")
        );
        assert!(matches!(args(&["--config=b.toml"]), Ok(Cli::Run(p)) if p.as_os_str() == "b.toml"));
        assert!(args(&[]).is_err());
        assert!(args(&["--config"]).is_err());
        assert!(args(&["--port", "1"]).is_err());
    }
}
