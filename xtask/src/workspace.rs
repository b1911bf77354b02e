//! The Cargo workspace xtask lives in: where it is, how to run cargo in it, where its
//! binaries end up.

use crate::cli::Profile;
use anyhow::{Context, bail};
use std::ffi::{OsStr, OsString};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus};

/// The workspace root (the folder holding the root `Cargo.toml`).
pub fn root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().unwrap_or(xtask_dir).to_path_buf()
}

/// A `cargo` command run from the workspace root, with the same cargo that runs xtask.
pub fn cargo<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(cargo);
    command.args(args).current_dir(root());
    command
}

/// `cargo build --workspace` for `profile`; an error when it fails.
pub fn build(profile: Profile) -> anyhow::Result<()> {
    run_build(profile, &[])
}

/// `cargo build --workspace --all-targets`: the binaries the end-to-end tests start and every
/// test target, in one build. Built alone, the binaries would resolve features without the
/// dev-dependencies (`tokio/test-util`, `rcgen/default`...), so the `cargo test` after them
/// would compile tokio and everything on it (the whole WebRTC stack) a second time.
pub fn build_for_tests() -> anyhow::Result<()> {
    run_build(Profile::Debug, &["--all-targets"])
}

fn run_build(profile: Profile, extra: &[&str]) -> anyhow::Result<()> {
    let mut args = vec!["build", "--workspace"];
    args.extend_from_slice(extra);
    if profile == Profile::Release {
        args.push("--release");
    }
    println!("xtask: running cargo {}", args.join(" "));
    let status = cargo(&args).status().context(
        "could not start cargo: is a Rust toolchain on PATH? (try `source ~/.cargo/env`)",
    )?;
    if !status.success() {
        bail!(
            "`cargo {}` failed ({}); fix the errors cargo printed above, then try again",
            args.join(" "),
            describe(status)
        );
    }
    Ok(())
}

/// The path of the workspace binary `name` built with `profile`; an error naming the fix when
/// it is missing.
pub fn binary(profile: Profile, name: &str) -> anyhow::Result<PathBuf> {
    let path = target_dir().join(profile.dir_name()).join(name);
    if !path.is_file() {
        bail!(
            "the binary `{name}` is missing at {}; build it with `cargo build --workspace{}`",
            path.display(),
            if profile == Profile::Release {
                " --release"
            } else {
                ""
            }
        );
    }
    Ok(path)
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` when set, else `<root>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root().join(dir)
            }
        }
        None => root().join("target"),
    }
}

/// The exit code to pass on for a finished child: its own, or 128 + signal like a shell.
pub fn exit_code_of(status: ExitStatus) -> ExitCode {
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        (None, Some(signal)) => ExitCode::from(u8::try_from(128 + signal).unwrap_or(1)),
        (None, None) => ExitCode::FAILURE,
    }
}

/// How a child ended, in words (`exit status 3`, `killed by signal 9`).
pub use visavis_launch::process::describe;
