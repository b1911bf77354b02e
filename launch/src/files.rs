//! Pieces of the config files the launchers write: TOML strings, files only this user can
//! read, random hex.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("could not write {}: {source}; is its folder writable?", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The system's random number source failed.
#[derive(Debug, thiserror::Error)]
#[error("the system's random number source failed: {0}")]
pub struct RandomError(String);

/// A TOML basic string holding `value`.
pub fn toml_str(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Write `contents` to `dir/name`, readable and writable by this user only (0600).
pub fn write_private(dir: &Path, name: &str, contents: &str) -> Result<PathBuf, WriteError> {
    let path = dir.join(name);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut file| file.write_all(contents.as_bytes()));
    match written {
        Ok(()) => Ok(path),
        Err(source) => Err(WriteError { path, source }),
    }
}

/// `N` random bytes.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
    Ok(bytes)
}

/// `n` random bytes as hex. Panics when the system has no randomness: nothing a launcher
/// starts could run without it.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the system's random number source failed");
    hex(&bytes)
}

/// `bytes` as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(toml_str(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(toml_str("x\ny"), r#""x\ny""#);
        assert_eq!(toml_str("\u{1}"), r#""\u0001""#);
    }

    #[test]
    fn private_files_are_0600() {
        let dir = std::env::temp_dir().join(format!("visavis-launch-{}", random_hex(6)));
        std::fs::create_dir(&dir).unwrap();
        let path = write_private(&dir, "secret", "x").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(random_hex(4).len(), 8);
    }
}
