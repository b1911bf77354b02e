//! `cargo xtask smoke-arm64`: the arm64 `visavis-unit` package run on Debian's arm64
//! kernel under `qemu-system-aarch64` (`tests/src/bin/arm64-smoke.rs` does the run and
//! judges it). Needs the package first: `cargo xtask package --arch arm64`.

use anyhow::{Context, bail};
use std::process::{Command, ExitCode};

pub fn run() -> anyhow::Result<ExitCode> {
    crate::setup::install(&["qemu-system-arm"])?;
    crate::cross::prepare()?;
    let target = crate::workspace::target_dir();
    let deb = target.join(format!(
        "debian/visavis-unit_{}_arm64.deb",
        env!("CARGO_PKG_VERSION")
    ));
    if !deb.is_file() {
        bail!(
            "{} is missing: build it with `cargo xtask package --arch arm64`",
            deb.display()
        );
    }
    let unit = target.join("vivid/visavis-unit_arm64");
    let _ = std::fs::remove_dir_all(&unit);
    let status = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(&unit)
        .status()
        .context("could not run dpkg-deb")?;
    if !status.success() {
        bail!("dpkg-deb -x {} failed", deb.display());
    }
    let kernel = crate::debs::fetch_for("arm64")?;
    let busybox = crate::debs::busybox("arm64")?;
    let args = [
        "build",
        "--quiet",
        "-p",
        "visavis-e2e",
        "--bin",
        "arm64-smoke",
    ];
    let status = crate::workspace::cargo(args)
        .status()
        .context("could not start cargo")?;
    if !status.success() {
        bail!("could not build arm64-smoke");
    }
    let smoke = crate::workspace::binary(crate::cli::Profile::Debug, "arm64-smoke")?;
    println!("xtask: booting the arm64 unit under qemu-system-aarch64 (well under a minute)");
    let status = Command::new(smoke)
        .arg("--kernel")
        .arg(&kernel)
        .arg("--busybox")
        .arg(&busybox)
        .arg("--unit")
        .arg(&unit)
        .status()
        .context("could not run arm64-smoke")?;
    Ok(crate::workspace::exit_code_of(status))
}
