//! The device's systemd units, checked by systemd's own tools.
//!
//! Every unit in `systemd/` must pass `systemd-analyze verify` without a word on stderr,
//! and every service must reach an exposure of 2.5 or less in
//! `systemd-analyze security --offline=true`. The units name `/usr/bin/<binary>` as
//! installed by the package; the checked copies point at this build's binaries instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use visavis_e2e::bins::workspace_binary;
use visavis_e2e::{Error, Result, ResultExt};

/// Highest exposure accepted for a Visavis service.
const MAX_EXPOSURE: f64 = 2.5;

fn units() -> Result<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../systemd");
    let mut units: Vec<PathBuf> = std::fs::read_dir(&dir)
        .context(format!("could not list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "service" || x == "target" || x == "timer")
        })
        .collect();
    units.sort();
    Ok(units)
}

/// A copy of `unit` in `dir` whose `/usr/bin/<name>` paths point at this build.
fn checked_copy(unit: &Path, dir: &Path) -> Result<PathBuf> {
    let mut text =
        std::fs::read_to_string(unit).context(format!("could not read {}", unit.display()))?;
    for binary in ["applianced", "kiosk", "rendezvous"] {
        let installed = format!("/usr/bin/{binary}");
        if text.contains(&installed) {
            let built = workspace_binary(binary)?;
            text = text.replace(&installed, &built.to_string_lossy());
        }
    }
    let copy = dir.join(unit.file_name().unwrap_or_default());
    std::fs::write(&copy, text).context(format!("could not write {}", copy.display()))?;
    Ok(copy)
}

fn systemd_analyze(args: &[&str]) -> Result<(bool, String, String)> {
    let out = Command::new("systemd-analyze")
        .args(args)
        .output()
        .context("could not run systemd-analyze (Debian package systemd)")?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[test]
fn every_unit_verifies_cleanly() -> Result<()> {
    let dir = tempfile::TempDir::with_prefix("visavis-units-").context("temporary folder")?;
    let units = units()?;
    assert!(!units.is_empty(), "no unit files in systemd/");
    for unit in units {
        let copy = checked_copy(&unit, dir.path())?;
        let (ok, _, stderr) = systemd_analyze(&["verify", &copy.to_string_lossy()])?;
        assert!(
            ok && stderr.trim().is_empty(),
            "{}: {stderr}",
            unit.display()
        );
    }
    Ok(())
}

#[test]
fn every_service_is_hardened() -> Result<()> {
    let dir = tempfile::TempDir::with_prefix("visavis-units-").context("temporary folder")?;
    for unit in units()?
        .iter()
        .filter(|u| u.extension().is_some_and(|x| x == "service"))
    {
        let copy = checked_copy(unit, dir.path())?;
        let (_, stdout, stderr) =
            systemd_analyze(&["security", "--offline=true", &copy.to_string_lossy()])?;
        let exposure = stdout
            .lines()
            .find_map(|l| l.split("Overall exposure level for ").nth(1))
            .and_then(|rest| rest.split(':').nth(1))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| {
                Error::new(format!(
                    "{}: no exposure level in: {stdout}{stderr}",
                    unit.display()
                ))
            })?;
        assert!(
            exposure <= MAX_EXPOSURE,
            "{}: exposure {exposure} > {MAX_EXPOSURE}:\n{stdout}",
            unit.display()
        );
    }
    Ok(())
}
