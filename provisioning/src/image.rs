//! Seeds inside a disk image: the FAT boot partition of a Raspberry Pi OS image file.
//!
//! The image's MBR names the partitions; the first FAT one is the boot partition. The
//! seed is written to a temporary name, then renamed over `visavis-seed.json` (FAT has no
//! atomic replace: the old seed is removed just before the rename, and a complete copy
//! already sits under the temporary name, so a re-run finishes an interrupted one).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use visavis_api::fleet::seed::SEED_FILE_NAME;

const SECTOR: u64 = 512;
const TMP_NAME: &str = "visavis-seed.json.tmp";

/// Why the image could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} has no MBR partition table (is it a Raspberry Pi OS image?)")]
    NoTable(String),
    #[error("{0} has no FAT partition: no boot partition to write the seed to")]
    NoBoot(String),
    #[error("the boot partition of {0}: {1}")]
    Fat(String, std::io::Error),
}

/// A window onto part of a file: the partition, as fatfs sees it.
struct Slice {
    file: File,
    start: u64,
    len: u64,
    pos: u64,
}

impl Read for Slice {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.len.saturating_sub(self.pos) as usize;
        let n = buf.len().min(left);
        self.file.seek(SeekFrom::Start(self.start + self.pos))?;
        let got = self.file.read(&mut buf[..n])?;
        self.pos += got as u64;
        Ok(got)
    }
}

impl Write for Slice {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let left = self.len.saturating_sub(self.pos) as usize;
        if left == 0 && !buf.is_empty() {
            return Err(std::io::Error::other("write past the end of the partition"));
        }
        let n = buf.len().min(left);
        self.file.seek(SeekFrom::Start(self.start + self.pos))?;
        let put = self.file.write(&buf[..n])?;
        self.pos += put as u64;
        Ok(put)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Seek for Slice {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => p as i64,
            SeekFrom::Current(d) => self.pos as i64 + d,
            SeekFrom::End(d) => self.len as i64 + d,
        };
        if new < 0 {
            return Err(std::io::Error::other(
                "seek before the start of the partition",
            ));
        }
        self.pos = new as u64;
        Ok(self.pos)
    }
}

/// Offset and length of the first FAT partition.
fn boot_partition(file: &mut File, name: &str) -> Result<(u64, u64), ImageError> {
    let io = |e| ImageError::Io(name.to_owned(), e);
    let mut mbr = [0u8; 512];
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.read_exact(&mut mbr).map_err(io)?;
    if mbr[510..512] != [0x55, 0xAA] {
        return Err(ImageError::NoTable(name.to_owned()));
    }
    for i in 0..4 {
        let e = &mbr[446 + i * 16..446 + (i + 1) * 16];
        let kind = e[4];
        let lba = u64::from(u32::from_le_bytes([e[8], e[9], e[10], e[11]]));
        let sectors = u64::from(u32::from_le_bytes([e[12], e[13], e[14], e[15]]));
        if matches!(kind, 0x01 | 0x04 | 0x06 | 0x0B | 0x0C | 0x0E) && sectors > 0 {
            return Ok((lba * SECTOR, sectors * SECTOR));
        }
    }
    Err(ImageError::NoBoot(name.to_owned()))
}

fn open(image: &Path, write: bool) -> Result<fatfs::FileSystem<Slice>, ImageError> {
    let name = image.display().to_string();
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(write)
        .open(image)
        .map_err(|e| ImageError::Io(name.clone(), e))?;
    let (start, len) = boot_partition(&mut file, &name)?;
    let slice = Slice {
        file,
        start,
        len,
        pos: 0,
    };
    fatfs::FileSystem::new(slice, fatfs::FsOptions::new()).map_err(|e| ImageError::Fat(name, e))
}

/// Put `bytes` as the seed into the image's boot partition.
pub fn write_seed(image: &Path, bytes: &[u8]) -> Result<(), ImageError> {
    let name = image.display().to_string();
    let fat = |e| ImageError::Fat(name.clone(), e);
    let fs = open(image, true)?;
    {
        let root = fs.root_dir();
        let mut tmp = root.create_file(TMP_NAME).map_err(fat)?;
        tmp.truncate().map_err(fat)?;
        tmp.write_all(bytes).map_err(fat)?;
        tmp.flush().map_err(fat)?;
        drop(tmp);
        match root.remove(SEED_FILE_NAME) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fat(e)),
        }
        root.rename(TMP_NAME, &root, SEED_FILE_NAME).map_err(fat)?;
    }
    fs.unmount().map_err(fat)
}

/// The seed in the image's boot partition.
pub fn read_seed(image: &Path) -> Result<Vec<u8>, ImageError> {
    let name = image.display().to_string();
    let fs = open(image, false)?;
    let mut bytes = Vec::new();
    fs.root_dir()
        .open_file(SEED_FILE_NAME)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| ImageError::Fat(name, e))?;
    Ok(bytes)
}

/// Make an image file of `mib` MiB with an MBR and one FAT32 boot partition from 1 MiB on:
/// for tests, and for trying `write --image` without a real image.
pub fn create_blank(image: &Path, mib: u64) -> Result<(), ImageError> {
    let name = image.display().to_string();
    let io = |e| ImageError::Io(name.clone(), e);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(image)
        .map_err(io)?;
    file.set_len(mib * 1024 * 1024).map_err(io)?;
    let mut mbr = [0u8; 512];
    let start: u32 = 2048;
    let sectors = u32::try_from(mib * 2048 - u64::from(start)).unwrap_or(u32::MAX);
    let e = &mut mbr[446..462];
    e[4] = 0x0C;
    e[8..12].copy_from_slice(&start.to_le_bytes());
    e[12..16].copy_from_slice(&sectors.to_le_bytes());
    mbr[510] = 0x55;
    mbr[511] = 0xAA;
    let mut slice = Slice {
        file,
        start: 0,
        len: 512,
        pos: 0,
    };
    slice.write_all(&mbr).map_err(io)?;
    slice.start = u64::from(start) * SECTOR;
    slice.len = u64::from(sectors) * SECTOR;
    slice.pos = 0;
    fatfs::format_volume(
        &mut slice,
        fatfs::FormatVolumeOptions::new().volume_label(*b"bootfs     "),
    )
    .map_err(|e| ImageError::Fat(name, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_goes_in_and_comes_back_out() {
        let image = std::env::temp_dir().join(format!("visavis-image-{}.img", std::process::id()));
        let _ = std::fs::remove_file(&image);
        create_blank(&image, 40).unwrap();
        assert!(matches!(read_seed(&image), Err(ImageError::Fat(..))));
        write_seed(&image, b"first").unwrap();
        write_seed(&image, b"second, longer than the first").unwrap();
        assert_eq!(read_seed(&image).unwrap(), b"second, longer than the first");
        std::fs::remove_file(&image).unwrap();
        let e = write_seed(&image, b"x").unwrap_err().to_string();
        assert!(e.contains(&image.display().to_string()), "{e}");
    }
}
