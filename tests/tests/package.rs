//! The Debian packages `cargo xtask package` builds, checked with Debian's own tools:
//! the debug build is packaged (quick: the release build is not needed to check the
//! packaging), then each `.deb` is read back with `dpkg-deb`:
//! - its fields, and every dependency is a package apt knows;
//! - the files it installs: binaries that still run once stripped, the units and default
//!   configs exactly as in the repository, conffiles listed;
//! - maintainer scripts that `sh -n` accepts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use visavis_e2e::bins::workspace_binary;
use visavis_e2e::{Error, Result, ResultExt};

fn run(command: &mut Command) -> Result<String> {
    let shown = format!("{command:?}");
    let out = command.output().context(format!("could not run {shown}"))?;
    if !out.status.success() {
        return Err(Error::new(format!(
            "{shown} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// Build the packages from this build's debug binaries into a temporary folder.
fn packages() -> Result<(tempfile::TempDir, BTreeMap<String, PathBuf>)> {
    let out = tempfile::TempDir::with_prefix("visavis-debs-").context("temporary folder")?;
    run(Command::new(workspace_binary("xtask")?)
        .args(["package", "--debug", "--no-build", "--out"])
        .arg(out.path()))?;
    let mut debs = BTreeMap::new();
    for entry in std::fs::read_dir(out.path()).context("list packages")? {
        let path = entry.context("list packages")?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if let Some(package) = name
            .split('_')
            .next()
            .filter(|_| name.ends_with("_amd64.deb"))
        {
            debs.insert(package.to_owned(), path);
        }
    }
    Ok((out, debs))
}

fn field(deb: &Path, name: &str) -> Result<String> {
    Ok(run(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name))?
        .trim()
        .to_owned())
}

#[test]
fn the_packages_install_what_the_unit_and_the_server_need() -> Result<()> {
    let (out, debs) = packages()?;
    assert_eq!(
        debs.keys().collect::<Vec<_>>(),
        ["visavis-provision", "visavis-rendezvous", "visavis-unit"],
        "one package each"
    );
    let expected: BTreeMap<&str, Vec<&str>> = BTreeMap::from([
        (
            "visavis-unit",
            vec![
                "./usr/bin/applianced",
                "./usr/bin/kiosk",
                "./usr/bin/visavis-camera",
                "./lib/systemd/system/applianced.service",
                "./lib/systemd/system/visavis-kiosk.service",
                "./lib/systemd/system/visavis-first-boot.service",
                "./etc/visavis/applianced.toml",
                "./usr/share/doc/visavis-unit/copyright",
            ],
        ),
        (
            "visavis-rendezvous",
            vec![
                "./usr/bin/rendezvous",
                "./lib/systemd/system/visavis-rendezvous.service",
                "./etc/visavis/rendezvous.toml",
            ],
        ),
        ("visavis-provision", vec!["./usr/bin/provision"]),
    ]);
    for (package, deb) in &debs {
        assert_eq!(field(deb, "Package")?, *package);
        assert_eq!(field(deb, "Architecture")?, "amd64");
        assert_eq!(field(deb, "Version")?, env!("CARGO_PKG_VERSION"));
        // Every dependency is a real Debian package (a typo would make it uninstallable).
        for dep in field(deb, "Depends")?.split(',') {
            let name = dep.split_whitespace().next().unwrap_or_default();
            run(Command::new("apt-cache").args(["show", "--no-all-versions", name])).map_err(
                |e| {
                    Error::new(format!(
                        "{package} depends on {name}, which apt does not know: {e}"
                    ))
                },
            )?;
        }
        let listing = run(Command::new("dpkg-deb").arg("-c").arg(deb))?;
        for path in &expected[package.as_str()] {
            assert!(
                listing.lines().any(|l| l.ends_with(path)
                    && l.starts_with(if path.contains("/bin/") {
                        "-rwxr-xr-x root/root"
                    } else {
                        "-rw-r--r-- root/root"
                    })),
                "{package} installs {path} owned by root with the right mode:\n{listing}"
            );
        }

        let root = out.path().join(package);
        run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&root))?;
        let control = out.path().join(format!("{package}.control"));
        run(Command::new("dpkg-deb").arg("-e").arg(deb).arg(&control))?;
        for script in ["postinst", "prerm", "postrm"] {
            let path = control.join(script);
            if path.exists() {
                run(Command::new("sh").arg("-n").arg(&path))?;
            }
        }
        // Units and default configs are the repository's, byte for byte.
        for path in &expected[package.as_str()] {
            let name = Path::new(path)
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let source = if name.ends_with(".service") {
                repo(&format!("systemd/{name}"))
            } else if name.ends_with(".toml") {
                repo(&format!("packaging/{name}"))
            } else {
                continue;
            };
            assert_eq!(
                std::fs::read(root.join(path)).context(path)?,
                std::fs::read(&source).context(source.display())?,
                "{package}: {path}"
            );
        }
        if let Ok(conffiles) = std::fs::read_to_string(control.join("conffiles")) {
            for c in conffiles.lines() {
                assert!(
                    root.join(c.trim_start_matches('/')).is_file(),
                    "{package}: conffile {c}"
                );
            }
        }
    }

    // The stripped binaries still run.
    let unit = out.path().join("visavis-unit");
    let version = run(Command::new(unit.join("usr/bin/applianced")).arg("--version"))?;
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    let camera = Command::new(unit.join("usr/bin/visavis-camera"))
        .args(["list", "--device", "/dev/visavis-no-such-camera"])
        .output()
        .context("run visavis-camera")?;
    let said = String::from_utf8_lossy(&camera.stderr);
    assert_eq!(camera.status.code(), Some(1), "{said}");
    assert!(said.contains("is the camera plugged in"), "{said}");

    // The default config is valid once first boot has added what the seed says.
    let config = out.path().join("applianced.toml");
    let shipped = std::fs::read_to_string(unit.join("etc/visavis/applianced.toml"))
        .context("default config")?;
    std::fs::write(
        &config,
        format!("device_id = \"unit-1\"\n{shipped}\n[rendezvous]\nurl = \"https://visavis.example.com\"\n"),
    )
    .context("write config")?;
    run(Command::new(unit.join("usr/bin/applianced"))
        .arg("--check-config")
        .arg(&config))?;
    Ok(())
}
