//! Building for the Pi (aarch64) on this machine: rustup's target, Debian's cross gcc as the
//! linker, and GStreamer's arm64 libraries through multiarch; `cargo xtask cross-check`
//! checks the device crates with it.
//!
//! Debian 12's `libgstreamer-plugins-base1.0-dev` cannot be installed for two
//! architectures at once (installing the arm64 one removes the amd64 one, and this
//! machine's own build with it). So its arm64 package is only unpacked under `target/`
//! ([`sysroot`]): pkg-config reads its `.pc` files there, and the linker its `.so` links,
//! which point at the arm64 runtime libraries multiarch installs beside the amd64 ones.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
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
/// ring, SQLite and libopus, the last driven by cmake), kernel headers for bindgen (v4l),
/// GStreamer's arm64 libraries (all installable beside their amd64 twins;
/// `liborc-0.4-dev` because `gstreamer-video-1.0.pc` names it).
const PACKAGES: [&str; 7] = [
    "cmake",
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
    "linux-libc-dev-arm64-cross",
    "libgstreamer1.0-dev:arm64",
    "libgstreamer-plugins-base1.0-0:arm64",
    "liborc-0.4-dev:arm64",
];

/// The arm64 multiarch library folder.
const LIBDIR: &str = "/usr/lib/aarch64-linux-gnu";

/// Install what is missing: the Debian packages (adding arm64 to dpkg), rustup's target,
/// the unpacked arm64 `-dev` package; the latter's folder.
pub fn prepare() -> anyhow::Result<PathBuf> {
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
    sysroot()
}

/// `libgstreamer-plugins-base1.0-dev:arm64` unpacked: its relative `.so` links made to
/// point at the installed arm64 libraries, and its `.pc` files' `libdir` at the links.
pub fn sysroot() -> anyhow::Result<PathBuf> {
    crate::debs::unpack(
        "libgstreamer-plugins-base1.0-dev",
        "arm64",
        |staging, root| {
            let dir = staging.join(LIBDIR.trim_start_matches('/'));
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if let Ok(target) = std::fs::read_link(&path)
                    && target.is_relative()
                {
                    std::fs::remove_file(&path)?;
                    std::os::unix::fs::symlink(Path::new(LIBDIR).join(target), &path)?;
                }
            }
            let links = root.join(LIBDIR.trim_start_matches('/'));
            for entry in std::fs::read_dir(dir.join("pkgconfig"))? {
                let path = entry?.path();
                let text = std::fs::read_to_string(&path)?;
                let text = text.replace(
                    "libdir=${prefix}/lib/aarch64-linux-gnu",
                    &format!("libdir={}", links.display()),
                );
                std::fs::write(&path, text)?;
            }
            Ok(())
        },
    )
}

/// Point cargo's build scripts at the arm64 toolchain and libraries (`sysroot` from
/// [`prepare`]).
pub fn env(command: &mut Command, sysroot: &Path) {
    let unpacked = sysroot.join(LIBDIR.trim_start_matches('/'));
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
            format!(
                "{}:{LIBDIR}/pkgconfig:/usr/share/pkgconfig",
                unpacked.join("pkgconfig").display()
            ),
        )
        .env("PKG_CONFIG_SYSROOT_DIR", "/")
        .env(
            "BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu",
            "--sysroot=/usr/aarch64-linux-gnu",
        );
}

/// `cargo check --target aarch64-unknown-linux-gnu` of [`DEVICE_CRATES`].
pub fn check() -> anyhow::Result<()> {
    let sysroot = prepare()?;
    let mut args = vec!["check", "--locked", "--target", TARGET];
    for krate in DEVICE_CRATES {
        args.extend(["-p", krate]);
    }
    let mut command = crate::workspace::cargo(&args);
    env(&mut command, &sysroot);
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
