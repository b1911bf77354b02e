//! `cargo xtask setup`: install the Debian packages Visavis needs, only the missing ones,
//! and check that Node.js and npm run (for the guest page's lint and tests, [`crate::web`]).
//!
//! The list lives in [`PACKAGES`] and nowhere else. Presence is checked with one
//! `dpkg-query` call, so a machine that has everything is done in a blink; otherwise
//! `apt-get update` runs once, then `apt-get install` for what is missing, non-interactively,
//! through `sudo` when not root.

use anyhow::{Context, bail};
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::process::Command;

/// Every Debian package the project needs to build, test and demo.
pub const PACKAGES: &[&str] = &[
    // Building: bindgen (v4l) and the -sys crates.
    "pkg-config",
    "libclang-dev",
    "clang",
    "libssl-dev",
    // libopus, built from its source into applianced (the `opus` crate's `opusic-sys`).
    "cmake",
    // GStreamer: headers to link applianced, plugins it uses at run time.
    "libgstreamer1.0-dev",
    "libgstreamer-plugins-base1.0-dev",
    "libgstreamer-plugins-bad1.0-dev",
    "gstreamer1.0-plugins-base",
    "gstreamer1.0-plugins-good",
    "gstreamer1.0-plugins-bad",
    "gstreamer1.0-plugins-ugly",
    "gstreamer1.0-nice",
    "gstreamer1.0-tools",
    "gstreamer1.0-libav",
    // Pango text: the running clock on the test pattern (timeoverlay).
    "gstreamer1.0-x",
    // alsasrc, for the microphone on a real unit.
    "gstreamer1.0-alsa",
    // The guest's browser in the end-to-end tests, driven over WebDriver.
    "chromium",
    "chromium-driver",
    // TURN relay for guests behind NAT, started by the tests in the network lab; its
    // client tools check the shipped relay config.
    "coturn",
    // The network lab: namespaces, veth, tc; openssl makes the relay's test certificate.
    "iproute2",
    "openssl",
    // The kiosk's fonts (Inter for words, Material Icons for icons), loaded by
    // kiosk-ui/src/theme.rs and checked by its tests; Noto Color Emoji for reactions in
    // colour (kiosk-ui/src/emoji.rs).
    "fonts-inter",
    "fonts-material-design-icons-iconfont",
    // Also the colour emoji of the guest page's reactions in the tests' headless Chromium
    // (its screenshots in docs/screens/guest-*.png); phones have their own.
    "fonts-noto-color-emoji",
    // The kiosk under a virtual display, and screenshots of it.
    "xvfb",
    // The Wayland kiosk compositor the kiosk runs under on the unit (its unit is verified).
    "cage",
    "imagemagick",
    // The simulated room (appliance/tests/simulated_room.rs, bench audio): speech to play
    // and resample.
    "espeak-ng",
    "sox",
    // The vivid test: Debian's kernel (fetched by the test command) under QEMU, with busybox
    // as the guest's userland.
    "qemu-system-x86",
    "busybox-static",
];

pub fn run() -> anyhow::Result<()> {
    install(PACKAGES)?;
    crate::web::require_node()
}

/// Install those of `packages` that are missing (`name:arch` for another architecture).
pub fn install(packages: &[&str]) -> anyhow::Result<()> {
    let missing = missing(packages)?;
    if missing.is_empty() {
        println!(
            "xtask: setup: all {} Debian packages are installed",
            packages.len()
        );
        return Ok(());
    }
    println!(
        "xtask: setup: missing Debian packages: {}",
        missing.join(" ")
    );
    let privilege = Privilege::detect()?;
    apt_get(&privilege, &["update"])?;
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend(missing.iter().map(String::as_str));
    apt_get(&privilege, &install)?;

    let still_missing = self::missing(packages)?;
    if !still_missing.is_empty() {
        bail!(
            "apt-get finished but these packages are still not installed: {}; \
             check that your apt sources include Debian 12 (bookworm) main",
            still_missing.join(" ")
        );
    }
    println!("xtask: setup: done");
    Ok(())
}

/// The packages of `wanted` that dpkg does not report as installed.
fn missing(wanted: &[&str]) -> anyhow::Result<Vec<String>> {
    // Unknown packages make dpkg-query exit 1 and complain on stderr: that only means
    // "missing", so the exit status is ignored and stdout is what counts.
    let output = Command::new("dpkg-query")
        .arg("-W")
        .arg("-f=${Package}\t${Architecture}\t${Status}\n")
        .args(wanted)
        .output()
        .context(
            "could not run dpkg-query: `cargo xtask setup` supports Debian 12 and Raspberry Pi OS; \
             elsewhere install the packages listed in xtask/src/setup.rs by hand",
        )?;
    let text = std::str::from_utf8(&output.stdout)
        .context("dpkg-query printed something that is not UTF-8")?;
    Ok(not_installed(wanted, text))
}

/// The packages of `wanted` (`name`, or `name:arch` for another architecture) that
/// `dpkg-query -f '${Package}\t${Architecture}\t${Status}\n'` did not report installed.
fn not_installed(wanted: &[&str], dpkg_query: &str) -> Vec<String> {
    let installed: BTreeSet<(&str, &str)> = dpkg_query
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            Some((fields.next()?, fields.next()?, fields.next()?))
        })
        .filter(|(_, _, status)| status.trim() == "install ok installed")
        .map(|(package, arch, _)| (package, arch))
        .collect();
    wanted
        .iter()
        .filter(|want| match want.split_once(':') {
            Some((package, arch)) => !installed.contains(&(package, arch)),
            None => !installed.iter().any(|(package, _)| package == *want),
        })
        .map(|package| package.to_string())
        .collect()
}

/// How apt-get gets root: we are root, or through sudo.
enum Privilege {
    Root,
    Sudo { interactive: bool },
}

impl Privilege {
    fn detect() -> anyhow::Result<Privilege> {
        if nix::unistd::geteuid().is_root() {
            return Ok(Privilege::Root);
        }
        let has_sudo = Command::new("sudo")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_sudo {
            bail!(
                "installing Debian packages needs root, and `sudo` is not available: \
                 run `cargo xtask setup` as root, or install sudo"
            );
        }
        Ok(Privilege::Sudo {
            interactive: std::io::stdin().is_terminal(),
        })
    }
}

/// Let apt install packages of `arch` (`dpkg --add-architecture`), then `apt-get update`;
/// nothing when dpkg already knows it.
pub fn add_architecture(arch: &str) -> anyhow::Result<()> {
    let out = Command::new("dpkg")
        .arg("--print-foreign-architectures")
        .output()
        .context("could not run dpkg")?;
    if String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .any(|a| a == arch)
    {
        return Ok(());
    }
    let privilege = Privilege::detect()?;
    let mut command = match privilege {
        Privilege::Root => Command::new("dpkg"),
        Privilege::Sudo { .. } => {
            let mut c = Command::new("sudo");
            c.arg("dpkg");
            c
        }
    };
    println!("xtask: setup: running dpkg --add-architecture {arch}");
    let status = command
        .args(["--add-architecture", arch])
        .status()
        .context("could not run dpkg --add-architecture")?;
    if !status.success() {
        bail!("`dpkg --add-architecture {arch}` failed; run it as root");
    }
    apt_get(&privilege, &["update"])
}

/// `apt-get update`, with root or through sudo: for fetches that find stale package lists.
pub fn apt_update() -> anyhow::Result<()> {
    apt_get(&Privilege::detect()?, &["update"])
}

fn apt_get(privilege: &Privilege, args: &[&str]) -> anyhow::Result<()> {
    let mut command = match privilege {
        Privilege::Root => Command::new("apt-get"),
        Privilege::Sudo { interactive } => {
            let mut command = Command::new("sudo");
            if !interactive {
                // No terminal to ask for a password on: fail instead of hanging.
                command.arg("-n");
            }
            // sudo resets the environment; `env` carries DEBIAN_FRONTEND through.
            command.args(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
            command
        }
    };
    command.env("DEBIAN_FRONTEND", "noninteractive").args(args);
    let shown = format!(
        "{}apt-get {}",
        if matches!(privilege, Privilege::Root) {
            ""
        } else {
            "sudo "
        },
        args.join(" ")
    );
    println!("xtask: setup: running {shown}");
    let status = command
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!(
            "`{shown}` failed ({}); see apt's messages above (no network? another apt running? \
             with sudo and no terminal, sudo needs a rule without a password)",
            crate::workspace::describe(status)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_of_another_architecture_are_told_apart() {
        let query = "gcc\tamd64\tinstall ok installed\n\
                     libgstreamer1.0-dev\tamd64\tinstall ok installed\n\
                     libgstreamer1.0-dev\tarm64\tdeinstall ok config-files\n";
        assert_eq!(
            not_installed(&["gcc", "libgstreamer1.0-dev:arm64", "clang"], query),
            ["libgstreamer1.0-dev:arm64", "clang"]
        );
        assert!(not_installed(&["libgstreamer1.0-dev:amd64"], query).is_empty());
    }

    #[test]
    fn package_list_has_no_duplicates() {
        let unique: BTreeSet<_> = PACKAGES.iter().collect();
        assert_eq!(unique.len(), PACKAGES.len());
    }
}
