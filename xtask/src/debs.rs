//! Debian packages the tools need as files, not installed: fetched with `apt-get download`
//! (no root, nothing changes on this machine) and unpacked once into
//! `target/vivid/<package>_<arch>/`.
//!
//! - The kernel for the vivid test (tests/tests/vivid.rs): the `linux-image-*-amd64`
//!   package that `linux-image-amd64` points at, keeping only the kernel image and the
//!   media drivers' modules. The arm64 smoke run (`cargo xtask smoke-arm64`) fetches the
//!   arm64 kernel and busybox the same way.
//! - GStreamer's arm64 `-dev` package for cross-building ([`crate::cross`]): it cannot be
//!   installed beside the amd64 one.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the test looks for the unpacked kernel package.
pub const KERNEL_ENV: &str = "VISAVIS_VIVID_KERNEL";

/// The unpacked amd64 kernel package, fetched when not there yet.
pub fn fetch() -> anyhow::Result<PathBuf> {
    fetch_for("amd64")
}

/// The unpacked kernel package of `arch` (`amd64`, `arm64`), fetched when not there yet.
pub fn fetch_for(arch: &str) -> anyhow::Result<PathBuf> {
    let package = match package_name(arch) {
        Ok(p) => p,
        // A machine whose package lists were never fetched.
        Err(_) => {
            crate::setup::apt_update()?;
            package_name(arch)?
        }
    };
    unpack(&package, arch, |staging, _| prune(staging))
}

/// Debian's static busybox for `arch`, unpacked; its `bin/busybox`.
pub fn busybox(arch: &str) -> anyhow::Result<PathBuf> {
    let dir = unpack("busybox-static", arch, |_, _| Ok(()))?;
    Ok(dir.join("bin/busybox"))
}

/// `apt-get download` `package` for `arch` and unpack it (once) into
/// `target/vivid/<package>_<arch>/`; `keep(staging, final)` trims or adjusts the unpacked
/// tree while it is still in `staging`, before it moves to `final`.
pub fn unpack(
    package: &str,
    arch: &str,
    keep: fn(&Path, &Path) -> anyhow::Result<()>,
) -> anyhow::Result<PathBuf> {
    let qualified = format!("{package}:{arch}");
    let base = crate::workspace::target_dir().join("vivid");
    let dir = base.join(format!("{package}_{arch}"));
    if dir.join(".complete").is_file() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&base)
        .with_context(|| format!("could not create {}", base.display()))?;
    println!("xtask: fetching {qualified} (apt-get download)");
    if !download(&qualified, &base)? {
        crate::setup::apt_update()?;
        if !download(&qualified, &base)? {
            bail!(
                "`apt-get download {package}` failed twice; check the apt sources (the package is \
                 in Debian 12 main) and the network"
            );
        }
    }
    let deb = std::fs::read_dir(&base)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with(&format!("{package}_")) && n.ends_with(&format!("_{arch}.deb"))
            })
        })
        .with_context(|| {
            format!(
                "apt-get download left no {package}_*.deb in {}",
                base.display()
            )
        })?;
    let staging = base.join(format!("{package}_{arch}.unpacking"));
    let _ = std::fs::remove_dir_all(&staging);
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&staging))?;
    keep(&staging, &dir)?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&staging, &dir)?;
    std::fs::write(dir.join(".complete"), b"")?;
    std::fs::remove_file(&deb)?;
    Ok(dir)
}

/// `linux-image-<arch>`'s current kernel package, e.g. `linux-image-6.1.0-56-amd64`.
fn package_name(arch: &str) -> anyhow::Result<String> {
    let out = Command::new("apt-cache")
        .args(["depends", &format!("linux-image-{arch}:{arch}")])
        .output()
        .context("could not run apt-cache (the vivid test needs Debian's apt)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .map(|d| d.split(':').next().unwrap_or(d))
        .find(|d| d.starts_with("linux-image-") && d.ends_with(&format!("-{arch}")))
        .map(str::to_owned)
        .with_context(|| {
            format!(
                "apt-cache knows no kernel behind linux-image-{arch} (run `apt-get update`?): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })
}

/// True when the download worked.
fn download(package: &str, dir: &Path) -> anyhow::Result<bool> {
    let status = Command::new("apt-get")
        .args(["download", "-q", package])
        .current_dir(dir)
        .status()
        .context("could not run apt-get")?;
    Ok(status.success())
}

/// Keep `boot/vmlinuz-*` and `lib/modules/*/kernel/drivers/media`: some 30 MB of 400.
fn prune(root: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(root.join("boot"))? {
        let path = entry?.path();
        if !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        {
            std::fs::remove_file(&path)?;
        }
    }
    let _ = std::fs::remove_dir_all(root.join("usr"));
    for version in std::fs::read_dir(root.join("lib/modules"))? {
        let version = version?.path();
        for entry in std::fs::read_dir(&version)? {
            let path = entry?.path();
            if path.file_name().is_some_and(|n| n != "kernel") {
                remove(&path)?;
            }
        }
        let kernel = version.join("kernel");
        for entry in std::fs::read_dir(&kernel)? {
            let path = entry?.path();
            if path.file_name().is_some_and(|n| n != "drivers") {
                remove(&path)?;
            }
        }
        for entry in std::fs::read_dir(kernel.join("drivers"))? {
            let path = entry?.path();
            if path.file_name().is_some_and(|n| n != "media") {
                remove(&path)?;
            }
        }
    }
    Ok(())
}

fn remove(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .with_context(|| format!("could not run {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({})", crate::workspace::describe(status));
    }
    Ok(())
}
