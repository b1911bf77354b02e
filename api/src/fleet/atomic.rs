//! Writing a file so that a crash leaves the old file or the new one, never half: seeds
//! (`provision`) and the secrets and config first boot writes on the unit.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

/// Write `bytes` to `path` with `mode`: a temporary file beside it, synced, renamed over
/// the old one, and the folder synced. Missing folders are created.
///
/// Safe in a folder someone else can write (first boot runs as root in the `visavis`
/// user's state folder): the temporary file has an unguessable name and is created only if
/// nothing is there (`O_CREAT|O_EXCL`, which never follows a symlink planted in its place),
/// its mode is set on the open file, and the rename replaces whatever `path` is (a symlink
/// included) rather than writing through it.
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.tmp-{}",
        crate::fleet::b64(&crate::fleet::random::<12>())
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    let result = (|| {
        // The umask masks open()'s mode: set it exactly (vfat ignores it, which is fine).
        let _ = file.set_permissions(std::fs::Permissions::from_mode(mode));
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_in_place_of_the_file_is_replaced_not_written_through() {
        let dir = std::env::temp_dir().join(format!(
            "visavis-atomic-link-{}",
            crate::fleet::b64(&crate::fleet::random::<6>())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let path = dir.join("secret");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        // Where a temporary file with a guessable name would go (this process's id).
        let guessed = dir.join(format!(".secret.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &guessed).unwrap();
        write(&path, b"new", 0o600).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        let mode = std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777;
        assert_ne!(mode, 0o600, "the victim's mode was changed through a link");
        assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink());
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn replaces_with_the_mode_and_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!(
            "visavis-atomic-{}",
            crate::fleet::b64(&crate::fleet::random::<6>())
        ));
        let path = dir.join("a/b/secret");
        write(&path, b"one", 0o600).unwrap();
        write(&path, b"two", 0o600).unwrap();
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
