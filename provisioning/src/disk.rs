//! Is this mount point a removable card, or the computer's own disk?
//!
//! `provision write --to` refuses to write onto the disk that holds the running system or
//! onto a fixed disk, unless `--force`. The mount is found in `/proc/self/mountinfo`, its
//! block device in `/sys/dev/block/MAJ:MIN`, and the whole disk above the partition; a
//! disk counts as removable when sysfs says so, when it is an SD/MMC card (`mmcblk*`), a
//! USB device, or a loop device (an image file). The roots are parameters so tests can
//! give a fake `/proc` and `/sys`.

use std::path::{Path, PathBuf};

/// Why a target was refused; the message names the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// System mount points: a disk holding one of them is never written without `--force`.
const SYSTEM: [&str; 6] = ["/", "/boot", "/boot/efi", "/usr", "/var", "/home"];

struct Mount {
    dev: String,
    point: PathBuf,
}

fn mounts(proc_root: &Path) -> Result<Vec<Mount>, Refusal> {
    let path = proc_root.join("self/mountinfo");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Refusal(format!("cannot read {}: {e}", path.display())))?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            Some(Mount {
                dev: (*f.get(2)?).to_owned(),
                point: PathBuf::from(f.get(4)?.replace("\\040", " ")),
            })
        })
        .collect())
}

/// The whole disk a block device `MAJ:MIN` belongs to, and its sysfs folder.
fn disk_of(sys_root: &Path, dev: &str) -> Option<(String, PathBuf)> {
    let link = sys_root.join("dev/block").join(dev);
    let target = std::fs::canonicalize(&link).ok()?;
    let disk_dir = if target.join("partition").exists() {
        target.parent()?.to_path_buf()
    } else {
        target
    };
    let name = disk_dir.file_name()?.to_string_lossy().into_owned();
    Some((name, disk_dir))
}

/// Check that `mount_point` is on a removable disk that holds no part of the system.
pub fn check_removable(
    mount_point: &Path,
    proc_root: &Path,
    sys_root: &Path,
) -> Result<(), Refusal> {
    let target = std::fs::canonicalize(mount_point)
        .map_err(|e| Refusal(format!("{}: {e}", mount_point.display())))?;
    let mounts = mounts(proc_root)?;
    let mount = mounts
        .iter()
        .filter(|m| target.starts_with(&m.point))
        .max_by_key(|m| m.point.as_os_str().len())
        .ok_or_else(|| Refusal(format!("{} is on no mounted filesystem", target.display())))?;
    if SYSTEM.iter().any(|s| mount.point == Path::new(s)) {
        return Err(Refusal(format!(
            "{} is on {}, a filesystem of the running system, not a card's boot partition: \
             mount the card and give its mount point (or --force)",
            target.display(),
            mount.point.display()
        )));
    }
    let (disk, dir) = disk_of(sys_root, &mount.dev).ok_or_else(|| {
        Refusal(format!(
            "cannot tell which disk holds {} (device {}): give --force if you are sure it is the card",
            mount.point.display(),
            mount.dev
        ))
    })?;
    let holds_system = mounts.iter().any(|m| {
        SYSTEM.iter().any(|s| m.point == Path::new(s))
            && disk_of(sys_root, &m.dev).is_some_and(|(d, _)| d == disk)
    });
    if holds_system {
        return Err(Refusal(format!(
            "{disk} holds the running system: refusing to write a seed on it (or --force)"
        )));
    }
    let removable = std::fs::read_to_string(dir.join("removable")).is_ok_and(|v| v.trim() == "1")
        || disk.starts_with("mmcblk")
        || disk.starts_with("loop")
        || dir.to_string_lossy().contains("/usb");
    if removable {
        Ok(())
    } else {
        Err(Refusal(format!(
            "{disk} (holding {}) is not a removable disk: give --force if it really is the unit's card",
            mount.point.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake /proc and /sys: sda (fixed, holds /), sdb (removable card), nvme0n1 (fixed).
    fn fake() -> (PathBuf, PathBuf, PathBuf) {
        let root = std::env::temp_dir().join(format!(
            "visavis-disk-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        let (proc_root, sys) = (root.join("proc"), root.join("sys"));
        std::fs::create_dir_all(proc_root.join("self")).unwrap();
        let media = root.join("media");
        for m in ["bootfs", "data"] {
            std::fs::create_dir_all(media.join(m)).unwrap();
        }
        std::fs::write(
            proc_root.join("self/mountinfo"),
            format!(
                "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n\
                 2 1 8:17 / {m}/bootfs rw - vfat /dev/sdb1 rw\n\
                 3 1 259:1 / {m}/data rw - ext4 /dev/nvme0n1p1 rw\n",
                m = media.display()
            ),
        )
        .unwrap();
        for (disk, part, dev, removable) in [
            ("sda", "sda1", "8:1", "0"),
            ("sdb", "sdb1", "8:17", "1"),
            ("nvme0n1", "nvme0n1p1", "259:1", "0"),
        ] {
            let d = sys.join("devices/block").join(disk);
            std::fs::create_dir_all(d.join(part)).unwrap();
            std::fs::write(d.join(part).join("partition"), "1\n").unwrap();
            std::fs::write(d.join("removable"), format!("{removable}\n")).unwrap();
            std::fs::create_dir_all(sys.join("dev/block")).unwrap();
            std::os::unix::fs::symlink(d.join(part), sys.join("dev/block").join(dev)).unwrap();
        }
        (root, proc_root, sys)
    }

    #[test]
    fn only_a_removable_card_is_accepted() {
        let (root, proc_root, sys) = fake();
        let media = root.join("media");
        assert_eq!(
            check_removable(&media.join("bootfs"), &proc_root, &sys),
            Ok(())
        );
        let e = check_removable(&media.join("data"), &proc_root, &sys).unwrap_err();
        assert!(
            e.0.contains("nvme0n1") && e.0.contains("not a removable"),
            "{}",
            e.0
        );
        // A plain folder lives on the system's own filesystem.
        let e = check_removable(&root, &proc_root, &sys).unwrap_err();
        assert!(e.0.contains("running system"), "{}", e.0);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
