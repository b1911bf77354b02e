//! `cargo xtask test`: setup, build every binary, then run every test.
//!
//! The end-to-end tests start the real `rendezvous` and `applianced` binaries from
//! `target/debug`, so the whole workspace is built first; `cargo test` alone only builds
//! what the test targets link.

use crate::cli::{Profile, TestOptions};
use crate::{setup, workspace};
use anyhow::Context;
use std::process::ExitCode;

pub fn run(options: &TestOptions) -> anyhow::Result<ExitCode> {
    setup::run()?;
    workspace::build(Profile::Debug)?;
    let mut args = vec!["test".to_string(), "--workspace".to_string()];
    args.extend(options.cargo_test_args.iter().cloned());
    println!("xtask: running cargo {}", args.join(" "));
    let status = workspace::cargo(&args)
        .status()
        .context("could not start `cargo test`: is a Rust toolchain on PATH?")?;
    Ok(workspace::exit_code_of(status))
}
