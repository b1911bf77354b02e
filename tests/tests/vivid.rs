//! The project's camera code against a real V4L2 driver: Debian's kernel booted under
//! `qemu-system-x86_64` (TCG) with the `vivid` test driver, and `vivid-guest` (the
//! camera module of `visavis-hardware`) run inside it. The guest reports what it saw;
//! this side judges:
//! - the formats and sizes are listed, YUYV and NV12 among them;
//! - YUYV and NV12 negotiate at 640x480 and 1280x720 and stream 60 whole, non-blank
//!   frames each; every other format vivid offers negotiates and streams 3 frames at 640x480;
//! - when the driver is unbound under a running capture, the capture reports the loss
//!   with a message naming the device, the node is gone, reopening fails with a message
//!   that says what to check, and once the driver is bound again the capture reports the
//!   camera back and frames flow.

#![cfg(target_arch = "x86_64")]

use serde_json::Value;
use visavis_e2e::bins::workspace_binary;
use visavis_e2e::qemu::{self, Initramfs, Kernel, Machine};
use visavis_e2e::timeouts;
use visavis_e2e::{Error, Result};

const DONE: &str = "VISAVIS-VIVID-EXIT";

/// The guest's reports, (step, body), and its whole console.
type Run = (Vec<(String, Value)>, Vec<String>);

/// Boot the guest and collect what it reported.
fn run_guest() -> Result<Run> {
    let kernel = Kernel::from_env()?;
    let mut fs = Initramfs::new();
    fs.copy(std::path::Path::new("/bin/busybox"), "bin/busybox", 0o755)
        .map_err(|e| Error::new(format!("{e} (Debian package busybox-static)")))?;
    let modules = fs.vivid(&kernel)?;
    fs.program(
        Machine::X86_64,
        &workspace_binary("vivid-guest")?,
        "vivid-guest",
    )?;
    fs.file(
        "init",
        0o755,
        qemu::init_script(
            &modules,
            &format!("/vivid-guest /dev/video0\necho \"{DONE} $?\"\n"),
        )
        .as_bytes(),
    );
    let console = qemu::boot(
        Machine::X86_64,
        &kernel,
        fs.finish(),
        "quiet loglevel=3",
        DONE,
        timeouts::virtual_machine(),
    )?;
    // The whole console, for when this test fails.
    let saved = visavis_e2e::bins::profile_dir()?.join("vivid-console.txt");
    let _ = std::fs::write(&saved, console.lines.join("\n"));
    eprintln!("the guest's console is in {}", saved.display());
    let mut reports = Vec::new();
    for line in &console.lines {
        // The firmware's screen-clearing codes can precede the first line.
        let line = line
            .find("VISAVIS-VIVID")
            .map_or(line.as_str(), |at| &line[at..]);
        if let Some(json) = line.strip_prefix("VISAVIS-VIVID ") {
            let v: Value = serde_json::from_str(json)
                .map_err(|e| Error::new(format!("bad report line `{line}`: {e}")))?;
            reports.push((
                v["step"].as_str().unwrap_or_default().to_owned(),
                v["body"].clone(),
            ));
        }
        if line.starts_with(qemu::INSMOD_FAILED) {
            return Err(Error::new(format!(
                "a module did not load: {line}\n{}",
                qemu::tail(&console.lines, 30)
            )));
        }
    }
    Ok((reports, console.lines))
}

#[test]
fn the_camera_code_streams_from_the_real_vivid_driver_and_survives_unplugging() -> Result<()> {
    let (reports, lines) = run_guest()?;
    let everything = qemu::tail(&lines, 60);
    let step = |name: &str| -> Vec<&Value> {
        reports
            .iter()
            .filter(|(s, _)| s == name)
            .map(|(_, b)| b)
            .collect()
    };
    let last = lines.last().cloned().unwrap_or_default();
    assert_eq!(
        last,
        format!("{DONE} 0"),
        "the guest program failed:\n{everything}"
    );

    // Offers.
    let offers = step("offers");
    let offers = offers
        .first()
        .copied()
        .ok_or_else(|| Error::new(format!("no offers:\n{everything}")))?;
    let fourccs: Vec<&str> = offers
        .as_array()
        .ok_or_else(|| Error::new(format!("offers: {offers}")))?
        .iter()
        .filter_map(|o| o["fourcc"].as_str())
        .collect();
    for wanted in ["YUYV", "NV12"] {
        assert!(fourccs.contains(&wanted), "vivid offers {fourccs:?}");
    }
    eprintln!(
        "vivid offers {} formats: {}",
        fourccs.len(),
        fourccs.join(" ")
    );

    // Negotiation and streaming.
    let checks = step("check");
    assert_eq!(
        checks.len(),
        4 + fourccs
            .iter()
            .filter(|f| !["YUYV", "NV12", "????"].contains(f))
            .count(),
        "one check per run:\n{everything}"
    );
    for c in &checks {
        let asked = &c["asked"];
        assert!(c["error"].is_null(), "{asked}: {}", c["error"]);
        let r = &c["report"];
        let f = &r["format"];
        assert_eq!(f["fourcc"], asked[0], "{c}");
        assert_eq!(
            (&f["width"], &f["height"]),
            (&asked[1], &asked[2]),
            "vivid gives the asked size: {c}"
        );
        assert_eq!(c["passed"], true, "whole, non-blank frames: {c}");
        let wanted_frames = if asked[0] == "YUYV" || asked[0] == "NV12" {
            60
        } else {
            3
        };
        assert_eq!(r["frames"], wanted_frames, "{c}");
        eprintln!(
            "{} {}x{}: {} frames in {} ms, {} dropped",
            f["fourcc"], f["width"], f["height"], r["frames"], r["elapsed_ms"], r["dropped"]
        );
    }

    // Unplugging.
    let unplug = step("unplug");
    let u = unplug
        .first()
        .copied()
        .ok_or_else(|| Error::new(format!("no unplug report:\n{everything}")))?;
    eprintln!("unplug: {u}");
    assert!(u["error"].is_null(), "{u}");
    assert_eq!(u["frames_before"], 30, "{u}");
    assert!(
        u["unbind"].is_null() && u["bind"].is_null(),
        "sysfs bind/unbind: {u}"
    );
    assert_eq!(u["node_gone"], true, "unbinding removes /dev/video0: {u}");
    let lost: Vec<&str> = u["lost"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        lost.len() >= 2,
        "streaming stopped, then reopening failed: {u}"
    );
    assert!(
        lost[0].contains("/dev/video0")
            && (lost[0].contains("streaming stopped") || lost[0].contains("no frame")),
        "first, the stream's end, named: {}",
        lost[0]
    );
    assert!(
        lost[1].contains("/dev/video0") && lost[1].contains("is the camera plugged in"),
        "then a reopen that says what to check: {}",
        lost[1]
    );
    assert_eq!(
        u["back"]["fourcc"], "NV12",
        "the camera came back in its format: {u}"
    );
    assert_eq!(u["frames_after"], 30, "frames flow again: {u}");
    Ok(())
}
