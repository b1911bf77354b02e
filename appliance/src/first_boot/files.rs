//! Writing the files first boot leaves behind: atomically, with the right mode.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

/// Write `bytes` to `path` so that a crash leaves the old file or the new one, never half:
/// a temporary file beside it with `mode`, synced, renamed over, and the directory synced.
pub fn atomic_write(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        // The mode given to open() is masked by the umask; set it exactly.
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Point the symlink `link` at `target`, replacing what was there in one rename.
pub fn atomic_symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    let dir = link.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".visavis-link.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link)?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// A NetworkManager keyfile for the store's Wi-Fi (NetworkManager keeps the key itself,
/// in a root-only file).
pub fn network_manager_wifi(ssid: &str, key: &str) -> String {
    format!(
        "# Written by applianced first-boot from the unit's seed.\n\
         [connection]\nid=visavis-wifi\ntype=wifi\nautoconnect=true\n\n\
         [wifi]\nmode=infrastructure\nssid={ssid}\n\n\
         [wifi-security]\nkey-mgmt=wpa-psk\npsk={key}\n\n\
         [ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_sets_the_mode_and_replaces() {
        let dir = std::env::temp_dir().join(format!("visavis-atomic-{}", std::process::id()));
        let path = dir.join("a/b/secret");
        atomic_write(&path, b"one", 0o600).unwrap();
        atomic_write(&path, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
