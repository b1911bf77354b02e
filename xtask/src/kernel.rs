//! Debian's kernel for the vivid test (tests/tests/vivid.rs): the `linux-image-*-amd64`
//! package that `linux-image-amd64` points at, fetched with `apt-get download` (no root,
//! nothing installed on this machine) and unpacked into `target/vivid/<package>/`, keeping
//! only the kernel image and the media drivers' modules.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the test looks for the unpacked package.
pub const ENV: &str = "VISAVIS_VIVID_KERNEL";

/// The unpacked kernel package, fetched when not there yet.
pub fn fetch() -> anyhow::Result<PathBuf> {
    let package = match package_name() {
        Ok(p) => p,
        // A machine whose package lists were never fetched.
        Err(_) => {
            crate::setup::apt_update()?;
            package_name()?
        }
    };
    let base = crate::workspace::target_dir().join("vivid");
    let dir = base.join(&package);
    if dir.join(".complete").is_file() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&base)
        .with_context(|| format!("could not create {}", base.display()))?;
    println!("xtask: fetching {package} for the vivid test (apt-get download)");
    if !download(&package, &base)? {
        crate::setup::apt_update()?;
        if !download(&package, &base)? {
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
                n.starts_with(&format!("{package}_")) && n.ends_with(".deb")
            })
        })
        .with_context(|| {
            format!(
                "apt-get download left no {package}_*.deb in {}",
                base.display()
            )
        })?;
    let staging = base.join(format!("{package}.unpacking"));
    let _ = std::fs::remove_dir_all(&staging);
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&staging))?;
    prune(&staging)?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&staging, &dir)?;
    std::fs::write(dir.join(".complete"), b"")?;
    std::fs::remove_file(&deb)?;
    Ok(dir)
}

/// `linux-image-amd64`'s current kernel package, e.g. `linux-image-6.1.0-56-amd64`.
fn package_name() -> anyhow::Result<String> {
    let out = Command::new("apt-cache")
        .args(["depends", "linux-image-amd64"])
        .output()
        .context("could not run apt-cache (the vivid test needs Debian's apt)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|d| d.starts_with("linux-image-") && d.ends_with("-amd64"))
        .map(str::to_owned)
        .with_context(|| {
            format!(
                "apt-cache knows no kernel behind linux-image-amd64 (run `apt-get update`?): {}",
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
