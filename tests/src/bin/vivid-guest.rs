//! Runs inside the QEMU guest of the vivid test (tests/tests/vivid.rs), as the last step of
//! its init: the project's camera code against the kernel's real `vivid` V4L2 driver.
//!
//! Every result is one line on the serial console, `VISAVIS-VIVID <json>`, which the host
//! side parses and judges; this program only reports what it saw. Steps:
//! 1. `offers`: the formats and sizes the device lists;
//! 2. `check`: YUYV and NV12 at 640x480 and 1280x720, 60 frames each, then every other
//!    offered format at 640x480, 3 frames each;
//! 3. `unplug`: a [`Capture`] streaming, the driver unbound under it (the device
//!    disappears), then bound again: the events it reported and the frames after.

use clap::Parser;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use visavis_hardware::camera::{self, Camera, Capture, CaptureEvent, Flow, Request};

const DRIVER: &str = "/sys/bus/platform/drivers/vivid";
const PLATFORM_DEVICE: &str = "vivid.0";
/// Longest wait for any one thing in the guest (TCG is slow, not this slow).
const PATIENCE: Duration = Duration::from_secs(120);

fn report(step: &str, body: Value) {
    // Seconds since the guest's kernel started, to see where a slow run spends its time.
    let uptime = std::fs::read_to_string("/proc/uptime").unwrap_or_default();
    let uptime = uptime.split_whitespace().next().unwrap_or_default();
    println!(
        "VISAVIS-VIVID {}",
        json!({ "step": step, "uptime": uptime, "body": body })
    );
}

/// Checks the camera code against the vivid driver and reports each step on stdout.
#[derive(Debug, Parser)]
#[command(name = "vivid-guest")]
struct Cli {
    /// The vivid device.
    #[arg(default_value = "/dev/video0")]
    device: PathBuf,
}

fn main() {
    let cli = Cli::parse();
    let device = cli.device.as_path();
    let offers = match camera::list(device) {
        Ok(o) => o,
        Err(e) => {
            report("offers", json!({ "error": e.to_string() }));
            return;
        }
    };
    report("offers", json!(offers));

    let mut runs: Vec<(String, u32, u32, u32)> = Vec::new();
    for fourcc in ["YUYV", "NV12"] {
        for (w, h) in [(640, 480), (1280, 720)] {
            runs.push((fourcc.into(), w, h, 60));
        }
    }
    for offer in &offers {
        // `????`: a code that is not text (vivid has one) cannot be asked for by name.
        if !["YUYV", "NV12", "????"].contains(&offer.fourcc.as_str()) {
            runs.push((offer.fourcc.clone(), 640, 480, 3));
        }
    }
    for (fourcc, w, h, frames) in runs {
        let mut code = [b' '; 4];
        code[..fourcc.len().min(4)].copy_from_slice(&fourcc.as_bytes()[..fourcc.len().min(4)]);
        let request = Request {
            formats: vec![code],
            width: w,
            height: h,
            fps: 30,
        };
        let body = match Camera::open(device, &request).and_then(|c| camera::check(&c, frames)) {
            Ok(r) => json!({ "asked": [fourcc, w, h], "passed": r.passed(), "report": r }),
            Err(e) => json!({ "asked": [fourcc, w, h], "error": e.to_string() }),
        };
        report("check", body);
    }

    report("unplug", unplug(device));
}

enum Seen {
    Frame,
    Event(CaptureEvent),
}

fn unplug(device: &Path) -> Value {
    let camera = match Camera::open(device, &Request::preferred(640, 480, 30)) {
        Ok(c) => c,
        Err(e) => return json!({ "error": e.to_string() }),
    };
    let (tx, rx) = mpsc::channel();
    let frames_tx = tx.clone();
    let capture = Capture::spawn(
        camera,
        move |_frame| {
            let _ = frames_tx.send(Seen::Frame);
            Flow::Continue
        },
        move |event| {
            let _ = tx.send(Seen::Event(event));
        },
    );
    let capture = match capture {
        Ok(c) => c,
        Err(e) => return json!({ "error": format!("cannot start capture: {e}") }),
    };
    let mut lost: Vec<String> = Vec::new();
    let mut back = None;

    let before = frames(&rx, 30, &mut lost);
    let unbound = std::fs::write(format!("{DRIVER}/unbind"), PLATFORM_DEVICE);
    let unplugged_at = Instant::now();
    // Wait until the capture has found the device gone twice over: streaming stopped,
    // then reopening failed because the node is not there.
    let deadline = Instant::now() + PATIENCE;
    while lost.len() < 2 && Instant::now() < deadline {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Seen::Event(CaptureEvent::Lost(e))) => lost.push(e.to_string()),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let first_lost_ms = unplugged_at.elapsed().as_millis() as u64;
    let node_gone = !device.exists();
    let bound = std::fs::write(format!("{DRIVER}/bind"), PLATFORM_DEVICE);
    let deadline = Instant::now() + PATIENCE;
    while back.is_none() && Instant::now() < deadline {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Seen::Event(CaptureEvent::Back(f))) => back = Some(f),
            Ok(Seen::Event(CaptureEvent::Lost(e))) => lost.push(e.to_string()),
            Ok(Seen::Frame) => {}
            Err(_) => break,
        }
    }
    let after = frames(&rx, 30, &mut lost);
    drop(capture);
    json!({
        "frames_before": before,
        "unbind": unbound.err().map(|e| e.to_string()),
        "lost": lost,
        "lost_after_ms": first_lost_ms,
        "node_gone": node_gone,
        "bind": bound.err().map(|e| e.to_string()),
        "back": back,
        "frames_after": after,
    })
}

/// Count up to `n` frames (events met on the way go to `lost`).
fn frames(rx: &mpsc::Receiver<Seen>, n: u32, lost: &mut Vec<String>) -> u32 {
    let deadline = Instant::now() + PATIENCE;
    let mut count = 0;
    while count < n {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Seen::Frame) => count += 1,
            Ok(Seen::Event(CaptureEvent::Lost(e))) => lost.push(e.to_string()),
            Ok(Seen::Event(CaptureEvent::Back(_))) => {}
            Err(_) => break,
        }
    }
    count
}
