//! Where the workspace's binaries are: next to the test binary's own `target/<profile>/`.

use crate::error::{Error, Result, ResultExt};
use std::path::PathBuf;

/// `target/<profile>/` of the running test binary (which itself lives in its `deps/`).
pub fn profile_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("could not find the test binary's path")?;
    let mut dir = exe
        .parent()
        .ok_or_else(|| Error::new(format!("{} has no parent folder", exe.display())))?
        .to_path_buf();
    if dir.file_name().is_some_and(|name| name == "deps") {
        dir.pop();
    }
    Ok(dir)
}

/// The path of the workspace binary `name` (`rendezvous`, `applianced`, `kiosk`, ...).
pub fn workspace_binary(name: &str) -> Result<PathBuf> {
    let path = profile_dir()?.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::new(format!(
            "the binary `{name}` is missing at {}: run `cargo build --workspace` first \
             (cargo xtask test does)",
            path.display()
        )))
    }
}
