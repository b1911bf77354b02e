//! `cargo xtask bench`: the entry point of the Visavis benchmark.
//!
//! The benchmark itself is not written yet. It will live behind [`run`], which receives the
//! arguments after `cargo xtask bench` unchanged, and returns the process exit code.

use std::process::ExitCode;

pub fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    if !args.is_empty() {
        println!("xtask: bench: ignoring arguments {args:?}");
    }
    println!("xtask: bench: the benchmark is coming; there is nothing to measure yet.");
    Ok(ExitCode::SUCCESS)
}
