//! `cargo xtask test`: setup, build every binary, then run every test.
//!
//! The end-to-end tests start the real `rendezvous` and `applianced` binaries from
//! `target/debug`, so the whole workspace is built first, test targets included (see
//! [`workspace::build_for_tests`]); `cargo test` alone only builds
//! what the test targets link. The vivid test's kernel is fetched here too ([`debs`]), and
//! the guest page's lint tools are installed with `npm ci` ([`web`]).

use crate::cli::TestOptions;
use crate::{debs, setup, web, workspace};
use anyhow::Context;
use std::process::ExitCode;

pub fn run(options: &TestOptions) -> anyhow::Result<ExitCode> {
    setup::run()?;
    let started = std::time::Instant::now();
    workspace::build_for_tests()?;
    println!("xtask: built in {} s", started.elapsed().as_secs());
    web::install_tools()?;
    let mut command = workspace::cargo(cargo_test_args(&options.cargo_test_args));
    if cfg!(target_arch = "x86_64") {
        command.env(debs::KERNEL_ENV, debs::fetch()?);
    }
    println!("xtask: running {command:?}");
    let status = command
        .status()
        .context("could not start `cargo test`: is a Rust toolchain on PATH?")?;
    Ok(workspace::exit_code_of(status))
}

/// `test --workspace` and the user's arguments; `--workspace` is left out when the user
/// picked packages (cargo would otherwise test every package anyway).
fn cargo_test_args(user: &[String]) -> Vec<String> {
    let cargo_part = user.split(|a| a == "--").next().unwrap_or_default();
    let picks_packages = cargo_part.iter().any(|a| {
        a == "-p"
            || a == "--package"
            || a.starts_with("--package=")
            || (a.starts_with("-p") && a.len() > 2)
    });
    let mut args = vec!["test".to_string()];
    if !picks_packages {
        args.push("--workspace".to_string());
    }
    args.extend(user.iter().cloned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(user: &[&str]) -> Vec<String> {
        let user: Vec<String> = user.iter().map(|a| a.to_string()).collect();
        cargo_test_args(&user)
    }

    #[test]
    fn whole_workspace_unless_packages_are_picked() {
        assert_eq!(args(&[]), ["test", "--workspace"]);
        assert_eq!(
            args(&["--no-fail-fast", "--", "-p"]),
            ["test", "--workspace", "--no-fail-fast", "--", "-p"]
        );
        assert_eq!(args(&["-p", "xtask"]), ["test", "-p", "xtask"]);
        assert_eq!(args(&["--package=xtask"]), ["test", "--package=xtask"]);
        assert_eq!(args(&["-pxtask"]), ["test", "-pxtask"]);
    }
}
