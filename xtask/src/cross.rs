//! Building for the Pi (aarch64) on this machine: rustup's target, Debian's cross gcc as the
//! linker, and the arm64 GStreamer headers through multiarch; `cargo xtask cross-check`
//! checks the device crates with it.

use anyhow::{Context, bail};
use std::process::Command;

/// The crates that run on the unit itself.
pub const DEVICE_CRATES: [&str; 4] = [
    "visavis-api",
    "visavis-hardware",
    "visavis-appliance",
    "visavis-kiosk",
];

pub const TARGET: &str = "aarch64-unknown-linux-gnu";

/// What cross-building needs from Debian: the C toolchain (linker, and the C compilers of
/// ring and SQLite), kernel headers for bindgen (v4l), GStreamer's arm64 libraries.
const PACKAGES: [&str; 5] = [
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
    "linux-libc-dev-arm64-cross",
    "libgstreamer1.0-dev:arm64",
    "libgstreamer-plugins-base1.0-dev:arm64",
];

/// Install what is missing: the Debian packages (adding arm64 to dpkg) and rustup's target.
pub fn prepare() -> anyhow::Result<()> {
    crate::setup::add_architecture("arm64")?;
    crate::setup::install(&PACKAGES)?;
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("could not run rustup: cross-building needs rustup's aarch64 target")?;
    if !String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        println!("xtask: rustup target add {TARGET}");
        let status = Command::new("rustup")
            .args(["target", "add", TARGET])
            .status()
            .context("could not run rustup")?;
        if !status.success() {
            bail!("`rustup target add {TARGET}` failed (no network?)");
        }
    }
    Ok(())
}

/// Point cargo's build scripts at the arm64 toolchain and libraries.
pub fn env(command: &mut Command) {
    command
        .env(
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER",
            "aarch64-linux-gnu-gcc",
        )
        .env("CC_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-gcc")
        .env("AR_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-ar")
        .env("PKG_CONFIG_ALLOW_CROSS", "1")
        .env(
            "PKG_CONFIG_LIBDIR",
            "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig",
        )
        .env("PKG_CONFIG_SYSROOT_DIR", "/")
        .env(
            "BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu",
            "--sysroot=/usr/aarch64-linux-gnu",
        );
}

/// `cargo check --target aarch64-unknown-linux-gnu` of [`DEVICE_CRATES`].
pub fn check() -> anyhow::Result<()> {
    prepare()?;
    let mut args = vec!["check", "--locked", "--target", TARGET];
    for krate in DEVICE_CRATES {
        args.extend(["-p", krate]);
    }
    let mut command = crate::workspace::cargo(&args);
    env(&mut command);
    println!("xtask: running cargo {}", args.join(" "));
    let status = command.status().context("could not start cargo")?;
    if !status.success() {
        bail!(
            "the device crates do not build for {TARGET} ({}); see cargo's errors above",
            crate::workspace::describe(status)
        );
    }
    println!("xtask: the device crates check for {TARGET}");
    Ok(())
}
