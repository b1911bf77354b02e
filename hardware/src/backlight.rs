//! The screen's backlight through `/sys/class/backlight/<name>/`.

use std::path::{Path, PathBuf};

use crate::{BoardError, check_percent};

/// A sysfs backlight: `brightness` written as a share of `max_brightness`.
#[derive(Debug, Clone)]
pub struct Backlight {
    dir: PathBuf,
    max: u32,
}

impl Backlight {
    /// The first backlight under `class_dir` (normally `/sys/class/backlight`), or the one
    /// called `name`.
    pub fn find(class_dir: &Path, name: Option<&str>) -> Result<Backlight, BoardError> {
        let dir = match name {
            Some(n) => class_dir.join(n),
            None => {
                let mut entries: Vec<PathBuf> = std::fs::read_dir(class_dir)
                    .map_err(|e| {
                        BoardError(format!(
                            "cannot list {}: {e}; is the display's driver loaded?",
                            class_dir.display()
                        ))
                    })?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .collect();
                entries.sort();
                entries.into_iter().next().ok_or_else(|| {
                    BoardError(format!(
                        "no backlight in {}: is the display's driver loaded? (set board.backlight to its name)",
                        class_dir.display()
                    ))
                })?
            }
        };
        let max_path = dir.join("max_brightness");
        let max = std::fs::read_to_string(&max_path)
            .map_err(|e| BoardError(format!("cannot read {}: {e}", max_path.display())))?
            .trim()
            .parse::<u32>()
            .map_err(|e| BoardError(format!("{}: not a number: {e}", max_path.display())))?;
        Ok(Backlight { dir, max })
    }

    pub fn set(&self, percent: u8) -> Result<(), BoardError> {
        check_percent(percent)?;
        let value = (u64::from(self.max) * u64::from(percent)).div_ceil(100);
        let path = self.dir.join("brightness");
        std::fs::write(&path, format!("{value}\n")).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
                " (the file belongs to root: the package's udev rule gives the `video` group write access; is the service in it?)"
            } else {
                ""
            };
            BoardError(format!("cannot write {}: {e}{hint}", path.display()))
        })
    }

    /// The brightness now, in percent of the maximum (rounded down).
    pub fn get(&self) -> Result<u8, BoardError> {
        let path = self.dir.join("brightness");
        let value: u64 = std::fs::read_to_string(&path)
            .map_err(|e| BoardError(format!("cannot read {}: {e}", path.display())))?
            .trim()
            .parse()
            .map_err(|e| BoardError(format!("{}: not a number: {e}", path.display())))?;
        Ok(u8::try_from(value * 100 / u64::from(self.max.max(1))).unwrap_or(100))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fake `/sys/class/backlight` with one device of `max` steps.
    pub fn fake_class(max: u32) -> PathBuf {
        let root = std::env::temp_dir().join(format!(
            "visavis-backlight-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let dir = root.join("10-0045");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("max_brightness"), format!("{max}\n")).unwrap();
        std::fs::write(dir.join("brightness"), format!("{max}\n")).unwrap();
        root
    }

    #[test]
    fn percent_maps_onto_the_device_scale() {
        let class = fake_class(255);
        let b = Backlight::find(&class, None).unwrap();
        b.set(50).unwrap();
        assert_eq!(
            std::fs::read_to_string(class.join("10-0045/brightness")).unwrap(),
            "128\n"
        );
        assert_eq!(b.get().unwrap(), 50);
        b.set(0).unwrap();
        assert_eq!(b.get().unwrap(), 0);
        assert!(b.set(101).is_err());
        std::fs::remove_dir_all(&class).unwrap();
    }

    #[test]
    fn a_missing_backlight_says_what_to_check() {
        let e = Backlight::find(Path::new("/nonexistent/backlight"), None).unwrap_err();
        assert!(e.to_string().contains("driver"), "{e}");
    }
}
