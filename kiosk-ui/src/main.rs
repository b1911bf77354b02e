//! `kiosk`, the Visavis touchscreen app: a client of `applianced`'s local API only.
//! It can crash and restart without the call dropping. The screens are in the
//! `visavis_kiosk` library; this is the window around them.

use visavis_kiosk::{app, i18n, latency, link};

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// The Visavis touchscreen app: a client of applianced's local API.
#[derive(Debug, Parser)]
#[command(
    name = "kiosk",
    after_help = "Exit codes: 0 the window was closed; 1 the window could not open; \
                  2 bad usage or an unusable --latency-log file."
)]
struct Cli {
    /// applianced's local API socket.
    #[arg(long, value_name = "SOCKET")]
    api: PathBuf,
    /// Fill the screen.
    #[arg(long)]
    fullscreen: bool,
    /// The screen's language: en or fr.
    #[arg(long, value_name = "en|fr", value_parser = parse_lang, default_value = "en")]
    lang: i18n::Lang,
    /// The window's size, at least 320x320.
    #[arg(long, value_name = "WIDTHxHEIGHT", value_parser = parse_size, default_value = "1280x800")]
    size: [f32; 2],
    /// Append a line per painted frame to this file (for `cargo xtask bench`).
    #[arg(long, value_name = "FILE")]
    latency_log: Option<PathBuf>,
}

fn parse_lang(code: &str) -> Result<i18n::Lang, String> {
    i18n::Lang::parse(code).ok_or_else(|| format!("--lang takes en or fr, not `{code}`"))
}

/// `1920x1080` as a window size.
fn parse_size(text: &str) -> Result<[f32; 2], String> {
    let size = text.split_once('x').and_then(|(w, h)| {
        let (w, h): (u16, u16) = (w.parse().ok()?, h.parse().ok()?);
        (w >= 320 && h >= 320).then_some([f32::from(w), f32::from(h)])
    });
    size.ok_or_else(|| format!("--size takes <width>x<height>, at least 320x320, not `{text}`"))
}

fn main() -> ExitCode {
    let cli = match visavis_api::cli::parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let latency_log = match &cli.latency_log {
        None => None,
        Some(path) => match latency::LatencyLog::open(path) {
            Ok(log) => Some(log),
            Err(e) => {
                eprintln!("kiosk: cannot open the latency log {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
    };
    let (socket, lang, size, fullscreen) = (cli.api, cli.lang, cli.size, cli.fullscreen);
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Visavis")
            .with_inner_size(size)
            .with_fullscreen(fullscreen),
        ..Default::default()
    };
    let result = eframe::run_native(
        "Visavis",
        options,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            let (link, commands) = link::spawn(socket, move || ctx.request_repaint());
            let app = app::KioskApp::new(&cc.egui_ctx, link, commands, lang);
            Ok(Box::new(match latency_log {
                Some(log) => app.with_latency_log(log),
                None => app,
            }))
        }),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kiosk: cannot open the window: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("kiosk").chain(args.iter().copied()))
    }

    #[test]
    fn options_and_their_defaults() {
        let cli = parse(&["--api", "/run/a.sock"]).unwrap();
        assert_eq!(cli.api, PathBuf::from("/run/a.sock"));
        assert_eq!(
            (cli.lang, cli.size, cli.fullscreen),
            (i18n::Lang::En, [1280.0, 800.0], false)
        );
        let cli = parse(&[
            "--api",
            "s",
            "--fullscreen",
            "--lang",
            "fr",
            "--size",
            "1920x1080",
        ])
        .unwrap();
        assert_eq!(
            (cli.lang, cli.size, cli.fullscreen),
            (i18n::Lang::Fr, [1920.0, 1080.0], true)
        );
    }

    #[test]
    fn bad_usage_is_refused() {
        for bad in [
            &[][..],
            &["--api"],
            &["--api", "s", "--size", "100x100"],
            &["--api", "s", "--size", "big"],
            &["--api", "s", "--lang", "de"],
            &["--api", "s", "--kiosk"],
        ] {
            let e = parse(bad).map(|_| ()).unwrap_err();
            assert!(e.use_stderr(), "{bad:?}");
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
    }
}
