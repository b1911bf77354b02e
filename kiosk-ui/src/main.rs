//! `kiosk`, the Visavis touchscreen app: a client of `applianced`'s local API only.
//! It can crash and restart without the call dropping. The screens are in the
//! `visavis_kiosk` library; this is the window around them.

use visavis_kiosk::{app, i18n, latency, link};

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: kiosk --api <applianced socket> [--fullscreen] [--lang en|fr] \
                     [--size <width>x<height>] [--latency-log <file>]";

/// `1920x1080` as a window size.
fn parse_size(text: &str) -> Option<[f32; 2]> {
    let (w, h) = text.split_once('x')?;
    let (w, h): (u16, u16) = (w.parse().ok()?, h.parse().ok()?);
    (w >= 320 && h >= 320).then_some([f32::from(w), f32::from(h)])
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut socket = None;
    let mut fullscreen = false;
    let mut lang = i18n::Lang::default();
    let mut size = [1280.0, 800.0];
    let mut latency_log = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--api" => socket = it.next().map(PathBuf::from),
            "--fullscreen" => fullscreen = true,
            "--size" => match it.next().and_then(|s| parse_size(s)) {
                Some(s) => size = s,
                None => {
                    eprintln!("kiosk: --size takes <width>x<height>, at least 320x320\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--latency-log" => match it.next() {
                Some(path) => match latency::LatencyLog::open(std::path::Path::new(path)) {
                    Ok(log) => latency_log = Some(log),
                    Err(e) => {
                        eprintln!("kiosk: cannot open the latency log {path}: {e}");
                        return ExitCode::from(2);
                    }
                },
                None => {
                    eprintln!("kiosk: --latency-log takes a file\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--lang" => match it.next().and_then(|code| i18n::Lang::parse(code)) {
                Some(l) => lang = l,
                None => {
                    eprintln!("kiosk: --lang takes en or fr\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("kiosk: unexpected argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(socket) = socket else {
        eprintln!("kiosk: missing --api <socket>\n{USAGE}");
        return ExitCode::from(2);
    };
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
