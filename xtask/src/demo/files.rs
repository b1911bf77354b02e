//! The demo's private files: a 0700 temporary folder (removed on drop) holding the fleet's
//! enrollment key, the unit's state directory with its one-time enrollment token, the
//! device registry and the two config files, in the formats of docs/contracts.md.
//! rendezvous.toml and the fleet's key are written by `visavis-launch`, as for the tests.

use anyhow::{Context, bail};
use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use visavis_launch::files::{hex, random_bytes, toml_str, write_private};
use visavis_launch::fleet::{Enrollment, Fleet};

/// The device id the demo unit uses, and rendezvous knows.
pub const DEVICE_ID: &str = "demo-unit";

/// Unix socket paths must fit in `sun_path` (108 bytes, with the terminating NUL).
const MAX_SOCKET_PATH: usize = 107;

/// A folder only this user can open; removed with everything in it on drop.
pub struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    pub fn create() -> anyhow::Result<PrivateDir> {
        let parent = std::env::temp_dir();
        let path = parent.join(format!("visavis-demo-{}", hex(&random_bytes::<6>()?)));
        DirBuilder::new().mode(0o700).create(&path).with_context(|| {
            format!(
                "could not create the demo folder {}; is {} writable? (set TMPDIR to use another folder)",
                path.display(),
                parent.display()
            )
        })?;
        Ok(PrivateDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write a new file readable and writable by this user only (0600).
    pub fn write_file(&self, name: &str, contents: &str) -> anyhow::Result<PathBuf> {
        Ok(write_private(&self.path, name, contents)?)
    }

    /// Create a 0700 folder inside.
    pub fn create_subdir(&self, name: &str) -> anyhow::Result<PathBuf> {
        let path = self.path.join(name);
        DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .with_context(|| format!("could not create {}", path.display()))?;
        Ok(path)
    }

    /// Where applianced's local API socket goes; an error when the path is too long for one.
    pub fn socket_path(&self) -> anyhow::Result<PathBuf> {
        let path = self.path.join("applianced.sock");
        if path.as_os_str().len() > MAX_SOCKET_PATH {
            bail!(
                "the socket path {} is longer than a Unix socket allows ({MAX_SOCKET_PATH} bytes); \
                 set TMPDIR to a shorter folder, e.g. TMPDIR=/tmp",
                path.display()
            );
        }
        Ok(path)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        match std::fs::remove_dir_all(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => eprintln!(
                "xtask: demo: could not remove {}: {e}; delete it by hand (it holds the demo's keys)",
                self.path.display()
            ),
        }
    }
}

/// A one-time enrollment token of `fleet` for the demo unit, valid for a day (what
/// `provision bundle` and first boot do for a real unit).
pub fn demo_token(fleet: &Fleet, mode: visavis_api::Mode) -> String {
    fleet.token(&Enrollment {
        device_id: DEVICE_ID,
        store: "Demo store",
        location: "Demo",
        mode,
        valid_for: Duration::from_secs(24 * 3600),
    })
}

/// What goes into applianced.toml beyond the demo's fixed choices.
pub struct ApplianceSettings<'a> {
    pub mode: visavis_api::Mode,
    pub rendezvous_url: &'a str,
    pub state_dir: &'a Path,
    pub socket: &'a Path,
    pub staff_pin_file: &'a Path,
}

/// applianced.toml for the demo: real devices when present (`auto`), test sources otherwise,
/// and guests admitted without a tap: `auto_admit = true` exists for this demo only.
pub fn applianced_toml(settings: &ApplianceSettings<'_>) -> String {
    format!(
        "# Written by `cargo xtask demo`; removed when the demo stops.\n\
         device_id = {id}\n\
         mode = {mode}\n\
         location = \"Demo\"\n\
         state_dir = {state}\n\
         \n\
         [rendezvous]\n\
         url = {url}\n\
         \n\
         [api]\n\
         socket = {socket}\n\
         \n\
         [metrics]\n\
         listen = \"127.0.0.1:0\"\n\
         \n\
         [video]\n\
         source = \"auto\"\n\
         \n\
         [audio]\n\
         source = \"auto\"\n\
         \n\
         [session]\n\
         # Demo only: every guest is let in without the person in the room tapping \"admit\".\n\
         auto_admit = true\n\
         \n\
         [staff]\n\
         pin_file = {pin}\n",
        id = toml_str(DEVICE_ID),
        mode = toml_str(settings.mode.as_str()),
        url = toml_str(settings.rendezvous_url),
        state = toml_str(&settings.state_dir.to_string_lossy()),
        socket = toml_str(&settings.socket.to_string_lossy()),
        pin = toml_str(&settings.staff_pin_file.to_string_lossy()),
    )
}

/// A fresh six-digit staff PIN for the demo's staff screen.
pub fn staff_pin() -> anyhow::Result<String> {
    let n = u32::from_le_bytes(random_bytes::<4>()?) % 1_000_000;
    Ok(format!("{n:06}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_demo_token_enrolls_the_demo_unit_with_the_demo_key() {
        let fleet = Fleet::generate();
        let key =
            visavis_api::fleet::keys::parse_key(&fleet.enrollment_key_text(), "demo key").unwrap();
        let claims = visavis_api::fleet::enrollment::verify(
            &key,
            &demo_token(&fleet, visavis_api::Mode::Table),
            0,
        )
        .unwrap();
        assert_eq!(
            (claims.device_id.as_str(), claims.mode.as_str()),
            (DEVICE_ID, "table")
        );
    }

    #[test]
    fn private_dir_is_0700_files_0600_and_removed_on_drop() {
        let dir = PrivateDir::create().unwrap();
        let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let file = dir.write_file("device-secret", "x").unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(!path.exists());
    }

    #[test]
    fn applianced_toml_turns_on_auto_admit() {
        let text = applianced_toml(&ApplianceSettings {
            mode: visavis_api::Mode::Table,
            rendezvous_url: "http://127.0.0.1:1234",
            state_dir: Path::new("/tmp/d/state"),
            staff_pin_file: Path::new("/tmp/d/staff-pin"),
            socket: Path::new("/tmp/d/applianced.sock"),
        });
        assert!(text.contains("auto_admit = true"));
        assert!(text.contains("url = \"http://127.0.0.1:1234\""));
        assert!(text.contains("mode = \"table\""));
    }
}
