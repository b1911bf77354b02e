//! `cargo xtask bench`: set up, build the release binaries, run the benchmark
//! (`tests/src/bin/bench`) and print its report. It reports figures; it never fails on them.

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
    Ok(workspace::exit_code_of(status))
}
