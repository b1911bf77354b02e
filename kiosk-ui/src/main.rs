//! `kiosk`, the Visavis touchscreen app: a client of `applianced`'s local API only.
//! It can crash and restart without the call dropping. The screens are in the
//! `visavis_kiosk` library; this is the window around them.

use visavis_kiosk::{app, i18n, link};

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: kiosk --api <applianced socket> [--fullscreen] [--lang en|fr]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut socket = None;
    let mut fullscreen = false;
    let mut lang = i18n::Lang::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--api" => socket = it.next().map(PathBuf::from),
            "--fullscreen" => fullscreen = true,
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
            .with_inner_size([1280.0, 800.0])
            .with_fullscreen(fullscreen),
        ..Default::default()
    };
    let result = eframe::run_native(
        "Visavis",
        options,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            let (link, commands) = link::spawn(socket, move || ctx.request_repaint());
            Ok(Box::new(app::KioskApp::new(
                &cc.egui_ctx,
                link,
                commands,
                lang,
            )))
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
