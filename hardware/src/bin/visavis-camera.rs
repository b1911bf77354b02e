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

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use visavis_hardware::camera::{self, Camera, Request};

/// What a unit's camera offers, and a camera test.
#[derive(Debug, Parser)]
#[command(
    name = "visavis-camera",
    after_help = "Exit status: 0 passed; 1 failed or the camera cannot be used; 2 usage."
)]
struct Cli {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Every pixel format the device offers, with its sizes.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Open the camera as applianced would, stream frames and check each.
    Check {
        #[command(flatten)]
        common: Common,
        /// Ask for this pixel format only (a four-character code like YUYV); default: NV12,
        /// YUYV or MJPG, as applianced takes them.
        #[arg(long, value_name = "FOURCC", value_parser = parse_fourcc)]
        format: Option<[u8; 4]>,
        /// The frame size.
        #[arg(long, value_name = "WxH", value_parser = parse_size, default_value = "1280x720")]
        size: (u32, u32),
        /// Frames per second.
        #[arg(long, value_name = "N", value_parser = above_zero, default_value = "30")]
        fps: u32,
        /// How many frames to check.
        #[arg(long, value_name = "N", value_parser = above_zero, default_value = "60")]
        frames: u32,
    },
}

#[derive(Debug, clap::Args)]
struct Common {
    /// The V4L2 device.
    #[arg(long, value_name = "PATH", default_value = "/dev/video0")]
    device: PathBuf,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
}

fn parse_fourcc(v: &str) -> Result<[u8; 4], String> {
    format!("{v:<4}")
        .as_bytes()
        .try_into()
        .map_err(|_| format!("--format takes a four-character code like YUYV, not `{v}`"))
}

fn parse_size(v: &str) -> Result<(u32, u32), String> {
    v.split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .ok_or_else(|| format!("takes WIDTHxHEIGHT like 1280x720, not `{v}`"))
}

fn above_zero(v: &str) -> Result<u32, String> {
    v.parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("takes a whole number above 0, not `{v}`"))
}

struct Options {
    command: &'static str,
    device: PathBuf,
    request: Request,
    frames: u32,
    json: bool,
}

impl From<Cli> for Options {
    fn from(cli: Cli) -> Options {
        match cli.command {
            Sub::List { common } => Options {
                command: "list",
                device: common.device,
                request: Request::preferred(1280, 720, 30),
                frames: 60,
                json: common.json,
            },
            Sub::Check {
                common,
                format,
                size: (width, height),
                fps,
                frames,
            } => {
                let mut request = Request::preferred(width, height, fps);
                if let Some(code) = format {
                    request.formats = vec![code];
                }
                Options {
                    command: "check",
                    device: common.device,
                    request,
                    frames,
                    json: common.json,
                }
            }
        }
    }
}

fn main() -> ExitCode {
    let o = match visavis_api::cli::parse::<Cli>() {
        Ok(cli) => Options::from(cli),
        Err(code) => return code,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        Cli::try_parse_from(std::iter::once("visavis-camera").chain(args.iter().copied()))
            .map(Options::from)
    }

    #[test]
    fn check_takes_format_size_rate_and_frames() {
        let o = parse(&[
            "check", "--format", "NV12", "--size", "640x480", "--fps", "15", "--frames", "30",
            "--json",
        ])
        .unwrap();
        assert_eq!(o.command, "check");
        assert_eq!(o.request.formats, vec![*b"NV12"]);
        assert_eq!(
            (
                o.request.width,
                o.request.height,
                o.request.fps,
                o.frames,
                o.json
            ),
            (640, 480, 15, 30, true)
        );
        let o = parse(&["list", "--device", "/dev/video2"]).unwrap();
        assert_eq!(
            (o.command, o.device),
            ("list", PathBuf::from("/dev/video2"))
        );
    }

    #[test]
    fn bad_usage_exits_2() {
        for bad in [
            &[][..],
            &["show"],
            &["check", "--fps", "0"],
            &["check", "--size", "big"],
            &["check", "--format", "TOOLONG"],
            &["check", "--device"],
        ] {
            let e = parse(bad).map(|_| ()).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
    }
}
