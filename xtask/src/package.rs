//! `cargo xtask package`: the Debian packages, built with `dpkg-deb` from a staged tree.
//!
//! - `visavis-unit`: `applianced`, `kiosk`, `visavis-camera`; the three device units; the
//!   default `/etc/visavis/applianced.toml` (a conffile). Its postinst creates the
//!   `visavis` and `visavis-kiosk` system users and the `gpio` group where the OS has none.
//! - `visavis-rendezvous`: `rendezvous` (the guest web app is compiled into it), its
//!   unit, and the default `/etc/visavis/rendezvous.toml`.
//! - `visavis-provision`: the `provision` command for IT's workstations.
//!
//! Maintainer scripts and default configs live in `packaging/`, units in `systemd/`.
//! Binaries are stripped of debug info; `--arch arm64` cross-builds ([`crate::cross`]).

use crate::cli::{Arch, PackageOptions, Profile};
use crate::workspace;
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

const MAINTAINER: &str = "Visavis <visavis@example.invalid>";
const HOMEPAGE: &str = "https://example.invalid/visavis";

/// One file of a package: where it comes from, where it goes, its mode.
struct Install {
    from: Source,
    to: &'static str,
    mode: u32,
}

enum Source {
    /// A binary of the build.
    Binary(&'static str),
    /// A file of the repository.
    Repo(&'static str),
}

/// One package.
pub struct Spec {
    pub name: &'static str,
    summary: &'static str,
    description: &'static str,
    section: &'static str,
    depends: &'static [&'static str],
    files: Vec<Install>,
    conffiles: &'static [&'static str],
    /// Maintainer scripts in `packaging/`, as `<name>.<script>`.
    scripts: &'static [&'static str],
}

fn bin(name: &'static str) -> Install {
    Install {
        from: Source::Binary(name),
        to: match name {
            "applianced" => "usr/bin/applianced",
            "kiosk" => "usr/bin/kiosk",
            "visavis-camera" => "usr/bin/visavis-camera",
            "rendezvous" => "usr/bin/rendezvous",
            _ => "usr/bin/provision",
        },
        mode: 0o755,
    }
}

fn repo(from: &'static str, to: &'static str) -> Install {
    Install {
        from: Source::Repo(from),
        to,
        mode: 0o644,
    }
}

/// The packages, in the order they are built.
pub fn specs() -> Vec<Spec> {
    vec![
        Spec {
            name: "visavis-unit",
            summary: "Visavis video appliance: the unit's daemon, kiosk and services",
            description: "The firmware of a Visavis unit (fitting-room mirror or restaurant \
                table): applianced (camera, encoder, calls), the touchscreen kiosk under cage, \
                the first-boot service that applies a provisioning seed, and visavis-camera.",
            section: "video",
            depends: &[
                "adduser",
                "systemd",
                "cage",
                "libc6 (>= 2.36)",
                "libgstreamer1.0-0 (>= 1.22)",
                "libgstreamer-plugins-base1.0-0 (>= 1.22)",
                "gstreamer1.0-plugins-base",
                "gstreamer1.0-plugins-good",
                "gstreamer1.0-plugins-bad",
                "gstreamer1.0-plugins-ugly",
                "gstreamer1.0-alsa",
                // Guests' H.264 decoded for their tiles when the board has no decoder.
                "gstreamer1.0-libav",
                "libegl1",
                "libwayland-client0",
                "libwayland-egl1",
                "libwayland-cursor0",
                "libxkbcommon0",
                // The kiosk's fonts (kiosk-ui/src/theme.rs) and reactions' colour emoji
                // (kiosk-ui/src/emoji.rs).
                "fonts-inter",
                "fonts-material-design-icons-iconfont",
                "fonts-noto-color-emoji",
            ],
            files: vec![
                bin("applianced"),
                bin("kiosk"),
                bin("visavis-camera"),
                repo(
                    "systemd/applianced.service",
                    "lib/systemd/system/applianced.service",
                ),
                repo(
                    "systemd/visavis-kiosk.service",
                    "lib/systemd/system/visavis-kiosk.service",
                ),
                repo(
                    "systemd/visavis-first-boot.service",
                    "lib/systemd/system/visavis-first-boot.service",
                ),
                repo("packaging/applianced.toml", "etc/visavis/applianced.toml"),
            ],
            conffiles: &["/etc/visavis/applianced.toml"],
            scripts: &["postinst", "prerm", "postrm"],
        },
        Spec {
            name: "visavis-rendezvous",
            summary: "Visavis rendezvous: the server guests reach",
            description: "Invite pages and the guest web app, signaling between guests and \
                units, the fleet's device registry and admin API.",
            section: "net",
            depends: &["systemd", "libc6 (>= 2.36)"],
            files: vec![
                bin("rendezvous"),
                repo(
                    "systemd/visavis-rendezvous.service",
                    "lib/systemd/system/visavis-rendezvous.service",
                ),
                repo("packaging/rendezvous.toml", "etc/visavis/rendezvous.toml"),
                repo(
                    "packaging/turnserver.conf",
                    "usr/share/doc/visavis-rendezvous/turnserver.conf",
                ),
            ],
            conffiles: &["/etc/visavis/rendezvous.toml"],
            scripts: &["postinst", "prerm", "postrm"],
        },
        Spec {
            name: "visavis-provision",
            summary: "Visavis provisioning: seeds for whole fleets, by script",
            description: "The provision command: validate a fleet manifest, write signed \
                seeds to SD cards or images, report and revoke units.",
            section: "admin",
            depends: &["libc6 (>= 2.36)"],
            files: vec![bin("provision")],
            conffiles: &[],
            scripts: &[],
        },
    ]
}

pub fn run(options: &PackageOptions) -> anyhow::Result<()> {
    let target_dir = workspace::target_dir();
    let binaries = binaries_dir(&target_dir, options);
    if options.build {
        build(options)?;
    }
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| target_dir.join("debian"));
    std::fs::create_dir_all(&out).with_context(|| format!("could not create {}", out.display()))?;
    for spec in specs() {
        let deb = package(&spec, options, &binaries, &out)?;
        let size = std::fs::metadata(&deb).map(|m| m.len()).unwrap_or(0);
        println!(
            "xtask: package: {} ({:.1} MB)",
            deb.display(),
            size as f64 / 1e6
        );
    }
    Ok(())
}

/// Where cargo puts the binaries for this architecture and profile.
fn binaries_dir(target_dir: &Path, options: &PackageOptions) -> PathBuf {
    if options.arch == Arch::host() {
        target_dir.join(options.profile.dir_name())
    } else {
        target_dir
            .join(options.arch.triple())
            .join(options.profile.dir_name())
    }
}

fn build(options: &PackageOptions) -> anyhow::Result<()> {
    let mut args = vec!["build", "--locked", "--bins"];
    for krate in [
        "visavis-appliance",
        "visavis-kiosk",
        "visavis-hardware",
        "visavis-rendezvous",
        "visavis-provisioning",
    ] {
        args.extend(["-p", krate]);
    }
    if options.profile == Profile::Release {
        args.push("--release");
    }
    let mut command = if options.arch == Arch::host() {
        crate::setup::run()?;
        workspace::cargo(&args)
    } else {
        let sysroot = crate::cross::prepare()?;
        args.extend(["--target", options.arch.triple()]);
        let mut c = workspace::cargo(&args);
        crate::cross::env(&mut c, &sysroot);
        c
    };
    println!("xtask: running cargo {}", args.join(" "));
    let status = command.status().context("could not start cargo")?;
    if !status.success() {
        bail!(
            "the build for {} failed ({}); see cargo's errors above",
            options.arch.debian(),
            workspace::describe(status)
        );
    }
    Ok(())
}

/// Stage `spec` and build its `.deb` in `out`.
fn package(
    spec: &Spec,
    options: &PackageOptions,
    binaries: &Path,
    out: &Path,
) -> anyhow::Result<PathBuf> {
    let arch = options.arch.debian();
    let version = env!("CARGO_PKG_VERSION");
    let stage = out.join(format!("{}_{arch}.staging", spec.name));
    if stage.exists() {
        std::fs::remove_dir_all(&stage)
            .with_context(|| format!("could not clear {}", stage.display()))?;
    }
    let root = workspace::root();
    let mut installed_bytes = 0u64;
    for file in &spec.files {
        let to = stage.join(file.to);
        std::fs::create_dir_all(to.parent().unwrap_or(&stage))?;
        match file.from {
            Source::Binary(name) => {
                let from = binaries.join(name);
                if !from.is_file() {
                    bail!(
                        "{} is missing: build it first (without --no-build, `cargo xtask package` does)",
                        from.display()
                    );
                }
                strip(options.arch, &from, &to)?;
            }
            Source::Repo(path) => {
                std::fs::copy(root.join(path), &to)
                    .with_context(|| format!("could not copy {path}"))?;
            }
        }
        set_mode(&to, file.mode)?;
        installed_bytes += std::fs::metadata(&to)?.len();
    }
    let doc = stage.join("usr/share/doc").join(spec.name);
    std::fs::create_dir_all(&doc)?;
    std::fs::write(doc.join("copyright"), copyright())?;
    let debian = stage.join("DEBIAN");
    std::fs::create_dir_all(&debian)?;
    std::fs::write(
        debian.join("control"),
        control(spec, arch, version, installed_bytes),
    )?;
    if !spec.conffiles.is_empty() {
        std::fs::write(debian.join("conffiles"), spec.conffiles.join("\n") + "\n")?;
    }
    for script in spec.scripts {
        let to = debian.join(script);
        let from = root
            .join("packaging")
            .join(format!("{}.{script}", spec.name));
        std::fs::copy(&from, &to).with_context(|| format!("could not copy {}", from.display()))?;
        set_mode(&to, 0o755)?;
    }
    let deb = out.join(format!("{}_{version}_{arch}.deb", spec.name));
    // Release packages are compressed hard; debug ones (for tests) quickly.
    let compression: &[&str] = match options.profile {
        Profile::Release => &["-Zxz"],
        Profile::Debug => &["-Zgzip", "-z1"],
    };
    let status = Command::new("dpkg-deb")
        .arg("--root-owner-group")
        .args(compression)
        .arg("--build")
        .arg(&stage)
        .arg(&deb)
        .stdout(std::process::Stdio::null())
        .status()
        .context("could not run dpkg-deb (Debian package dpkg)")?;
    if !status.success() {
        bail!(
            "dpkg-deb could not build {} ({})",
            deb.display(),
            workspace::describe(status)
        );
    }
    std::fs::remove_dir_all(&stage)?;
    Ok(deb)
}

/// The `DEBIAN/control` file.
pub fn control(spec: &Spec, arch: &str, version: &str, installed_bytes: u64) -> String {
    let mut text = format!(
        "Package: {}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: {MAINTAINER}\n\
         Installed-Size: {}\nSection: {}\nPriority: optional\nHomepage: {HOMEPAGE}\n",
        spec.name,
        installed_bytes.div_ceil(1024),
        spec.section,
    );
    if !spec.depends.is_empty() {
        text.push_str(&format!("Depends: {}\n", spec.depends.join(", ")));
    }
    text.push_str(&format!(
        "Description: {}\n {}\n",
        spec.summary, spec.description
    ));
    text
}

fn copyright() -> String {
    format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
         Upstream-Name: visavis\nSource: {HOMEPAGE}\n\n\
         Files: *\nCopyright: Visavis contributors\nLicense: Apache-2.0\n \
         On Debian systems, the full text of the Apache License 2.0 is in\n \
         /usr/share/common-licenses/Apache-2.0.\n"
    )
}

/// Copy `from` to `to` without debug info.
fn strip(arch: Arch, from: &Path, to: &Path) -> anyhow::Result<()> {
    let objcopy = match arch {
        Arch::Amd64 if Arch::host() == Arch::Amd64 => "objcopy",
        Arch::Arm64 if Arch::host() == Arch::Arm64 => "objcopy",
        Arch::Amd64 => "x86_64-linux-gnu-objcopy",
        Arch::Arm64 => "aarch64-linux-gnu-objcopy",
    };
    let status = Command::new(objcopy)
        .arg("--strip-debug")
        .arg(from)
        .arg(to)
        .status()
        .with_context(|| format!("could not run {objcopy} (Debian's binutils)"))?;
    if !status.success() {
        bail!("{objcopy} --strip-debug {} failed", from.display());
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("could not set the mode of {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_packaged_file_is_in_the_repository() {
        let root = workspace::root();
        for spec in specs() {
            for file in &spec.files {
                if let Source::Repo(path) = file.from {
                    assert!(root.join(path).is_file(), "{}: {path}", spec.name);
                }
            }
            for script in spec.scripts {
                let path = root
                    .join("packaging")
                    .join(format!("{}.{script}", spec.name));
                assert!(path.is_file(), "{}", path.display());
            }
            for conffile in spec.conffiles {
                assert!(
                    spec.files.iter().any(|f| format!("/{}", f.to) == *conffile),
                    "{conffile} is not installed by {}",
                    spec.name
                );
            }
        }
    }

    #[test]
    fn every_unit_in_systemd_is_packaged() {
        let root = workspace::root();
        let packaged: Vec<&str> = specs()
            .iter()
            .flat_map(|s| s.files.iter())
            .filter_map(|f| match f.from {
                Source::Repo(p) if p.starts_with("systemd/") => Some(p),
                _ => None,
            })
            .collect();
        for entry in std::fs::read_dir(root.join("systemd")).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".service") {
                assert!(
                    packaged.contains(&format!("systemd/{name}").as_str()),
                    "{name} is in no package"
                );
            }
        }
    }

    #[test]
    fn control_file_fields() {
        let specs = specs();
        let text = control(&specs[0], "arm64", "0.1.0", 2049);
        assert!(text.starts_with("Package: visavis-unit\nVersion: 0.1.0\nArchitecture: arm64\n"));
        assert!(text.contains("\nInstalled-Size: 3\n"), "{text}");
        assert!(
            text.contains("\nDepends: adduser, systemd, cage,"),
            "{text}"
        );
        assert!(text.ends_with("\n"));
        // Continuation lines of the description start with a space.
        assert!(
            text.lines()
                .skip_while(|l| !l.starts_with("Description:"))
                .skip(1)
                .all(|l| l.starts_with(' '))
        );
    }
}
