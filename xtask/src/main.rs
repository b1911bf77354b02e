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
    let result = cli::Command::parse(&args)
        .map_err(anyhow::Error::from)
        .and_then(run);
    exit_code(result)
}

fn run(command: cli::Command) -> anyhow::Result<ExitCode> {
    match command {
        cli::Command::Help => {
            print!("{}", cli::USAGE);
            Ok(ExitCode::SUCCESS)
        }
        cli::Command::Setup => setup::run().map(|()| ExitCode::SUCCESS),
        cli::Command::Test(options) => test::run(&options),
        cli::Command::Demo(options) => demo::run(&options),
        cli::Command::Bench(args) => bench::run(&args),
        cli::Command::Package(options) => package::run(&options).map(|()| ExitCode::SUCCESS),
        cli::Command::CrossCheck => cross::check().map(|()| ExitCode::SUCCESS),
        cli::Command::SmokeArm64 => smoke::run(),
        cli::Command::Screens => screens::run().map(|()| ExitCode::SUCCESS),
    }
}

/// The one exit-code policy of `cargo xtask`.
fn exit_code(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(error) if error.is::<cli::UsageError>() => {
            eprintln!("xtask: {error}\n");
            eprint!("{}", cli::USAGE);
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
