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
//! and frames a second per other guest's picture; then eight again with one of them
//! talking, as a table mostly listens), then mouth to ear at a table of two
//! Chromium guests (`bench mouth`: a guest's click to the unit's speaker and to the other
//! guest). It reports
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
        let args: Vec<String> = media.iter().map(|p| p.to_string()).collect();
        if let Some(failed) = release("bench", &args, "the call, kiosk and network parts")? {
            return Ok(failed);
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
        let args = ["--inputs".to_string(), "10000000".to_string()];
        if let Some(failed) = release("visavis-fuzz", &args, "fuzzing every parser")? {
            return Ok(failed);
        }
    }
    if wanted("soak") {
        let sizes = options.soak;
        let args = [
            format!("--cycles={}", sizes.cycles),
            format!("--call-secs={}", sizes.call_secs),
            format!("--connections={}", sizes.connections),
        ];
        if let Some(failed) = release("soak", &args, "soak and faults")? {
            return Ok(failed);
        }
    }
    if wanted("group") {
        if let Some(failed) = release("soak", &["group".into()], "group calls")? {
            return Ok(failed);
        }
        let one_talking = ["group", "--guests", "8", "--talking", "1"].map(String::from);
        let quiet = "a table of eight, one talking (the quiet guests share one encode)";
        if let Some(failed) = release("soak", &one_talking, quiet)? {
            return Ok(failed);
        }
        let mouth = "mouth to ear at a table";
        if let Some(failed) = release("bench", &["mouth".into()], mouth)? {
            return Ok(failed);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Run the release binary `name` with `args` from the workspace's root, saying `what` it
/// does; `Some(exit code)` when it failed.
fn release(name: &str, args: &[String], what: &str) -> anyhow::Result<Option<ExitCode>> {
    let binary = workspace::binary(Profile::Release, name)?;
    println!("xtask: {what}: {} {}", binary.display(), args.join(" "));
    let status = std::process::Command::new(&binary)
        .args(args)
        .current_dir(workspace::root())
        .status()
        .with_context(|| format!("could not start {}", binary.display()))?;
    Ok((!status.success()).then(|| workspace::exit_code_of(status)))
}
