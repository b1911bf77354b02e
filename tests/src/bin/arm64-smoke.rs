//! `cargo xtask smoke-arm64` runs this: the arm64 `visavis-unit` package's binaries on
//! Debian's arm64 kernel under `qemu-system-aarch64` (a `virt` board with a Cortex-A72, the
//! Pi 4's core; software emulation), with the kernel's `vivid` camera driver loaded.
//!
//! ```text
//! arm64-smoke --kernel <unpacked linux-image-*-arm64> --busybox <arm64 busybox>
//!             --unit <unpacked visavis-unit_*_arm64.deb>
//! ```
//!
//! In the guest: `visavis-camera list`, `visavis-camera check` (YUYV 640x480 and NV12
//! 1280x720, 30 frames each), `applianced --version`, and `applianced --check-config` on the
//! packaged default config with what first boot adds. Prints each step's output and verdict;
//! exits 0 when every step passed.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use visavis_e2e::qemu::{self, Initramfs, Kernel, Machine};

const DONE: &str = "SMOKE-DONE";

/// (name, command, whether its output is a camera check to judge).
const STEPS: [(&str, &str, bool); 5] = [
    ("camera list", "/usr/bin/visavis-camera list", false),
    (
        "camera check YUYV 640x480",
        "/usr/bin/visavis-camera check --format YUYV --size 640x480 --frames 30 --json",
        true,
    ),
    (
        "camera check NV12 1280x720",
        "/usr/bin/visavis-camera check --format NV12 --size 1280x720 --frames 30 --json",
        true,
    ),
    (
        "applianced --version",
        "/usr/bin/applianced --version",
        false,
    ),
    (
        "applianced --check-config",
        "/usr/bin/applianced --check-config /etc/visavis/seeded.toml",
        false,
    ),
];

/// Runs the arm64 unit package's binaries under qemu-system-aarch64.
#[derive(Debug, Parser)]
#[command(
    name = "arm64-smoke",
    after_help = "Exit codes: 0 every step passed; 1 a step failed; 2 the run could not be \
                  made (bad usage, missing files, qemu)."
)]
struct Cli {
    /// The unpacked linux-image-*-arm64 package.
    #[arg(long, value_name = "DIR")]
    kernel: PathBuf,
    /// An arm64 busybox binary.
    #[arg(long, value_name = "FILE")]
    busybox: PathBuf,
    /// The unpacked visavis-unit_*_arm64.deb.
    #[arg(long, value_name = "DIR")]
    unit: PathBuf,
}

fn main() -> ExitCode {
    let cli = match visavis_api::cli::parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("arm64-smoke: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<bool, String> {
    let Cli {
        kernel,
        busybox,
        unit,
    } = cli;
    let kernel = Kernel::unpacked(&kernel).map_err(|e| e.to_string())?;
    let mut fs = Initramfs::new();
    fs.copy(&busybox, "bin/busybox", 0o755)
        .map_err(|e| e.to_string())?;
    let modules = fs.vivid(&kernel).map_err(|e| e.to_string())?;
    for bin in ["visavis-camera", "applianced"] {
        fs.program(
            Machine::Aarch64,
            &unit.join("usr/bin").join(bin),
            &format!("usr/bin/{bin}"),
        )
        .map_err(|e| e.to_string())?;
    }
    let shipped = std::fs::read_to_string(unit.join("etc/visavis/applianced.toml"))
        .map_err(|e| format!("the package's applianced.toml: {e}"))?;
    let seeded = format!(
        "device_id = \"smoke-arm64\"\n{shipped}\n[rendezvous]\nurl = \"https://visavis.example.com\"\n"
    );
    fs.file("etc/visavis/seeded.toml", 0o644, seeded.as_bytes());
    let mut commands = String::new();
    for (i, (_, command, _)) in STEPS.iter().enumerate() {
        commands.push_str(&format!(
            "echo SMOKE-BEGIN {i}\n{command}\necho SMOKE-END {i} $?\n"
        ));
    }
    commands.push_str(&format!("echo {DONE}\n"));
    fs.file(
        "init",
        0o755,
        qemu::init_script(&modules, &commands).as_bytes(),
    );

    let started = std::time::Instant::now();
    let console = qemu::boot(
        Machine::Aarch64,
        &kernel,
        fs.finish(),
        "quiet loglevel=3",
        DONE,
        visavis_e2e::timeouts::scaled(Duration::from_secs(900)),
    )
    .map_err(|e| e.to_string())?;
    println!(
        "arm64-smoke: the guest ran for {:.0} s",
        started.elapsed().as_secs_f64()
    );
    if let Some(failed) = console
        .lines
        .iter()
        .find(|l| l.starts_with(qemu::INSMOD_FAILED))
    {
        println!("arm64-smoke: {failed}");
        return Ok(false);
    }
    let mut all = true;
    for (i, (name, _, is_check)) in STEPS.iter().enumerate() {
        let (status, output) = step(&console.lines, i);
        let mut passed = status == Some(0);
        if *is_check && passed {
            passed = output.iter().any(|l| {
                serde_json::from_str::<serde_json::Value>(l)
                    .is_ok_and(|v| v["passed"] == true && v["report"]["frames"] == 30)
            });
        }
        all &= passed;
        println!(
            "arm64-smoke: {name}: {} (exit {})",
            if passed { "passed" } else { "FAILED" },
            status.map_or("none".into(), |s| s.to_string())
        );
        for line in output {
            println!("    {line}");
        }
    }
    Ok(all)
}

/// The exit status and output lines of step `i`.
fn step(lines: &[String], i: usize) -> (Option<i32>, Vec<String>) {
    let begin = format!("SMOKE-BEGIN {i}");
    let end = format!("SMOKE-END {i} ");
    let mut output = Vec::new();
    let mut inside = false;
    for line in lines {
        if line.ends_with(&begin) {
            inside = true;
        } else if let Some(status) = line.strip_prefix(&end) {
            return (status.trim().parse().ok(), output);
        } else if inside {
            output.push(line.clone());
        }
    }
    (None, output)
}
