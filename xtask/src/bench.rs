//! `cargo xtask bench`: set up, build the release binaries, run the benchmarks and print
//! their reports: the call path (`tests/src/bin/bench`), then `provision` on fleets of 300
//! and 10 000 units (`provisioning/examples/bench.rs`). It reports figures; it never fails
//! on them.

use crate::cli::Profile;
use crate::{setup, workspace};
use anyhow::Context;
use std::process::ExitCode;

pub fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    if !args.is_empty() {
        anyhow::bail!("`cargo xtask bench` takes no arguments (got {args:?})");
    }
    setup::run()?;
    workspace::build(Profile::Release)?;
    let bench = workspace::binary(Profile::Release, "bench")?;
    println!("xtask: running {}", bench.display());
    let status = std::process::Command::new(&bench)
        .current_dir(workspace::root())
        .status()
        .with_context(|| format!("could not start {}", bench.display()))?;
    if !status.success() {
        return Ok(workspace::exit_code_of(status));
    }
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
    Ok(workspace::exit_code_of(status))
}
