//! `visavis-camera`: what a unit's camera offers, and a camera test, from a shell.
//!
//! ```text
//! visavis-camera list  [--device /dev/video0] [--json]
//! visavis-camera check [--device /dev/video0] [--format YUYV] [--size 1280x720] [--fps 30]
//!                      [--frames 60] [--json]
//! ```
//!
//! `check` opens the camera as applianced would (NV12, YUYV or MJPG unless `--format`
//! names one), streams the frames and checks each: its size, that it is not blank, and
//! the driver's drop counter. Exit status: 0 passed, 1 failed, 2 usage.

use std::path::PathBuf;
use std::process::ExitCode;
use visavis_hardware::camera::{self, Camera, Request};

const USAGE: &str = "usage: visavis-camera list [--device PATH] [--json]
       visavis-camera check [--device PATH] [--format FOURCC] [--size WxH] [--fps N] [--frames N] [--json]";

struct Options {
    command: String,
    device: PathBuf,
    request: Request,
    frames: u32,
    json: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut it = args.iter();
    let command = it.next().ok_or("no command given")?.clone();
    if command != "list" && command != "check" {
        return Err(format!("unknown command `{command}`"));
    }
    let mut o = Options {
        command,
        device: PathBuf::from("/dev/video0"),
        request: Request::preferred(1280, 720, 30),
        frames: 60,
        json: false,
    };
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--json" => o.json = true,
            "--device" => o.device = value()?.into(),
            "--format" => {
                let v = value()?;
                let code: [u8; 4] = format!("{v:<4}").as_bytes().try_into().map_err(|_| {
                    format!("--format takes a four-character code like YUYV, not `{v}`")
                })?;
                o.request.formats = vec![code];
            }
            "--size" => {
                let v = value()?;
                let (w, h) = v
                    .split_once('x')
                    .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                    .ok_or_else(|| format!("--size takes WIDTHxHEIGHT like 1280x720, not `{v}`"))?;
                o.request.width = w;
                o.request.height = h;
            }
            "--fps" => {
                let v = value()?;
                o.request.fps = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--fps takes a whole number above 0, not `{v}`"))?;
            }
            "--frames" => {
                let v = value()?;
                o.frames =
                    v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("--frames takes a whole number above 0, not `{v}`")
                    })?;
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("visavis-camera: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = if o.command == "list" {
        list(&o)
    } else {
        check(&o)
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("visavis-camera: {e}");
            ExitCode::from(1)
        }
    }
}

fn list(o: &Options) -> Result<bool, camera::CameraError> {
    let offers = camera::list(&o.device)?;
    if o.json {
        println!(
            "{}",
            serde_json::json!({ "device": o.device, "formats": offers })
        );
    } else {
        for offer in &offers {
            let sizes: Vec<String> = offer
                .sizes
                .iter()
                .map(|(w, h)| format!("{w}x{h}"))
                .collect();
            println!(
                "{:<5} {:<32} {}",
                offer.fourcc,
                offer.description,
                sizes.join(" ")
            );
        }
    }
    Ok(true)
}

fn check(o: &Options) -> Result<bool, camera::CameraError> {
    let cam = Camera::open(&o.device, &o.request)?;
    let report = camera::check(&cam, o.frames)?;
    if o.json {
        println!(
            "{}",
            serde_json::json!({ "report": report, "passed": report.passed() })
        );
    } else {
        let f = &report.format;
        println!(
            "{}: {} {}x{}@{}: {} frames in {} ms, {} wrong size, {} blank, {} dropped: {}",
            report.device,
            f.fourcc,
            f.width,
            f.height,
            f.fps,
            report.frames,
            report.elapsed_ms,
            report.wrong_size,
            report.blank,
            report.dropped,
            if report.passed() { "passed" } else { "FAILED" }
        );
    }
    Ok(report.passed())
}
