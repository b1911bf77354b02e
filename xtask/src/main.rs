//! `cargo xtask`: the developer commands the README names.
//!
//! - `setup`: install the Debian packages Visavis needs (only the missing ones).
//! - `test`: setup, build every binary, run every test.
//! - `demo`: setup, build, start `rendezvous` and `applianced` on this machine, print an
//!   invite link for a browser, run until Ctrl-C.
//! - `bench`: the benchmarks (a call, then provisioning).
//! - `package`: the `.deb` packages, for amd64 or arm64 (cross-built).
//! - `cross-check`: `cargo check` of the device crates for aarch64.
//! - `smoke-arm64`: the arm64 package's binaries on an emulated arm64 board.
//! - `screens`: every kiosk screen rendered to `docs/screens/`.
//!
//! The flow is always raw arguments → validated [`cli::Command`] → `run`. Exit codes, in one
//! place ([`exit_code`]): 0 success; `test` passes on the exit code of `cargo test`; 1 when
//! a step failed (the message says which and how to fix it); 2 for a bad command line.

mod bench;
mod cli;
mod cross;
mod debs;
mod demo;
mod package;
mod screens;
mod setup;
mod smoke;
mod test;
mod web;
mod workspace;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::Command::parse(&args) {
        Ok(command) => exit_code(run(command)),
        Err(usage) => usage_exit_code(&usage),
    }
}

fn run(command: cli::Command) -> anyhow::Result<ExitCode> {
    match command {
        cli::Command::Setup => setup::run().map(|()| ExitCode::SUCCESS),
        cli::Command::Test(options) => test::run(&options),
        cli::Command::Demo(options) => demo::run(&options),
        cli::Command::Bench(options) => bench::run(&options),
        cli::Command::Package(options) => package::run(&options).map(|()| ExitCode::SUCCESS),
        cli::Command::CrossCheck => cross::check().map(|()| ExitCode::SUCCESS),
        cli::Command::SmokeArm64 => smoke::run(),
        cli::Command::Screens => screens::run().map(|()| ExitCode::SUCCESS),
    }
}

/// The one exit-code policy of `cargo xtask`, for a command line that was understood.
fn exit_code(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// For a command line that was not run: help asked for (0, on stdout) or bad usage (2, the
/// problem and the usage on stderr).
fn usage_exit_code(usage: &clap::Error) -> ExitCode {
    let _ = usage.print();
    if usage.use_stderr() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
