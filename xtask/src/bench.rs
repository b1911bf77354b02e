//! `cargo xtask bench [call] [kiosk] [net] [provision] [audio] [fuzz] [soak] [group]`: set up, build
//! the release binaries, run the benchmarks named (all by default) and print their reports:
//! the call path, the kiosk and calls across the network lab (`tests/src/bin/bench`), then
//! `provision` on fleets of 300 and 10 000 units (`provisioning/examples/bench.rs`), the
//! room's audio processing in a simulated room (`appliance/examples/bench-audio.rs`) and
//! what guests hearing each other costs (`appliance/examples/bench-group-audio.rs`),
//! ten million fuzzed inputs into every parser (`fuzz/`), and the soak and faults
//! (`tests/src/bin/soak`: `--cycles`, `--call-secs`, `--connections` size it; the defaults,
//! 1,000 cycles, a 30-minute call and 10,000 connections, take about an hour), and `group`:
//! calls of 1, 2, 4 and 8 light guests at once who see each other (the soak's `group`
//! part: the unit's CPU, PSS, send rate and forwarded pictures; each guest's receive rate
//! and frames a second per other guest's picture). It reports
//! figures; it never fails on them, only on a parser that panicked.

use crate::cli::{BenchOptions, Profile};
use crate::{setup, workspace};
use anyhow::Context;
use std::process::ExitCode;

/// The parts `cargo xtask bench` can run, in order.
const PARTS: [&str; 8] = [
    "call",
    "kiosk",
    "net",
    "provision",
    "audio",
    "fuzz",
    "soak",
    "group",
];

pub fn run(options: &BenchOptions) -> anyhow::Result<ExitCode> {
    let args = &options.parts;
    if let Some(unknown) = args.iter().find(|a| !PARTS.contains(&a.as_str())) {
        anyhow::bail!(
            "`cargo xtask bench` runs the parts {} (all when none is named), not {unknown:?}",
            PARTS.join(", ")
        );
    }
    let wanted = |part: &str| args.is_empty() || args.iter().any(|a| a == part);
    setup::run()?;
    workspace::build(Profile::Release)?;
    let media: Vec<&str> = ["call", "kiosk", "net"]
        .into_iter()
        .filter(|p| wanted(p))
        .collect();
    if !media.is_empty() {
        let bench = workspace::binary(Profile::Release, "bench")?;
        println!("xtask: running {} {}", bench.display(), media.join(" "));
        let status = std::process::Command::new(&bench)
            .args(&media)
            .current_dir(workspace::root())
            .status()
            .with_context(|| format!("could not start {}", bench.display()))?;
        if !status.success() {
            return Ok(workspace::exit_code_of(status));
        }
    }
    if wanted("provision") {
        println!("xtask: provisioning benchmark");
        let status = workspace::cargo([
            "run",
            "--release",
            "-p",
            "visavis-provisioning",
            "--example",
            "bench",
        ])
        .status()
        .context("could not run the provisioning benchmark")?;
        if !status.success() {
            return Ok(workspace::exit_code_of(status));
        }
    }
    if wanted("audio") {
        println!("xtask: audio benchmarks (real time, about two and a half minutes)");
        for example in ["bench-audio", "bench-group-audio"] {
            let status = workspace::cargo([
                "run",
                "--release",
                "-p",
                "visavis-appliance",
                "--example",
                example,
            ])
            .status()
            .with_context(|| format!("could not run the audio benchmark {example}"))?;
            if !status.success() {
                return Ok(workspace::exit_code_of(status));
            }
        }
    }
    if wanted("fuzz") {
        let fuzz = workspace::binary(Profile::Release, "visavis-fuzz")?;
        println!("xtask: fuzzing every parser: {}", fuzz.display());
        let status = std::process::Command::new(&fuzz)
            .args(["--inputs", "10000000"])
            .current_dir(workspace::root())
            .status()
            .with_context(|| format!("could not start {}", fuzz.display()))?;
        if !status.success() {
            return Ok(workspace::exit_code_of(status));
        }
    }
    if wanted("soak") {
        let soak = workspace::binary(Profile::Release, "soak")?;
        let sizes = options.soak;
        println!("xtask: soak and faults: {}", soak.display());
        let status = std::process::Command::new(&soak)
            .arg(format!("--cycles={}", sizes.cycles))
            .arg(format!("--call-secs={}", sizes.call_secs))
            .arg(format!("--connections={}", sizes.connections))
            .current_dir(workspace::root())
            .status()
            .with_context(|| format!("could not start {}", soak.display()))?;
        if !status.success() {
            return Ok(workspace::exit_code_of(status));
        }
    }
    if wanted("group") {
        let soak = workspace::binary(Profile::Release, "soak")?;
        println!("xtask: group calls: {} group", soak.display());
        let status = std::process::Command::new(&soak)
            .arg("group")
            .current_dir(workspace::root())
            .status()
            .with_context(|| format!("could not start {}", soak.display()))?;
        return Ok(workspace::exit_code_of(status));
    }
    Ok(ExitCode::SUCCESS)
}
