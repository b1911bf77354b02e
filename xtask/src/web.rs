//! The guest page's JavaScript tooling: Node.js and npm, and the page's lint tools.
//!
//! `setup` makes sure `node` and `npm` run (Debian's `nodejs npm` are installed when `node`
//! is missing); `test` runs `npm ci` in `rendezvous/web`, which installs ESLint at the exact
//! versions of its `package-lock.json` into `rendezvous/web/node_modules` (git-ignored,
//! never embedded in rendezvous). The rendezvous tests then lint the page with it and run
//! its `node --test` tests.

use crate::{setup, workspace};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::Command;

/// Oldest Node.js the page's tools run on (ESLint 9 needs 18.18; Debian 12 ships 18.19).
const MIN_NODE_MAJOR: u32 = 18;

/// The guest page's folder, with its package.json.
pub fn page_dir() -> PathBuf {
    workspace::root().join("rendezvous").join("web")
}

/// `setup`: `node` (at least [`MIN_NODE_MAJOR`]) and `npm` must run; install Debian's
/// packages for whichever is missing.
pub fn require_node() -> anyhow::Result<()> {
    let missing: &[&str] = match (version_of("node"), version_of("npm")) {
        (None, _) => &["nodejs", "npm"],
        (Some(_), None) => &["npm"],
        (Some(_), Some(_)) => &[],
    };
    if !missing.is_empty() {
        setup::install(missing)?;
    }
    let node = version_of("node").context(
        "`node` does not run after installing Debian's nodejs: install Node.js 18 or newer by hand",
    )?;
    version_of("npm").context(
        "`npm` does not run after installing Debian's npm: install it by hand (it comes with Node.js)",
    )?;
    let major = node_major(&node)
        .with_context(|| format!("`node --version` printed {node:?}, not a version"))?;
    if major < MIN_NODE_MAJOR {
        bail!(
            "node {node} is too old for the guest page's tools: install Node.js {MIN_NODE_MAJOR} or newer"
        );
    }
    println!("xtask: setup: node {node}");
    Ok(())
}

/// `test`: install the guest page's lint tools with `npm ci` (exact versions, from the npm
/// registry or npm's cache).
pub fn install_tools() -> anyhow::Result<()> {
    let dir = page_dir();
    println!("xtask: npm ci in {}", dir.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
        .current_dir(&dir)
        .status()
        .context("could not start `npm`: run `cargo xtask setup` first")?;
    if !status.success() {
        bail!(
            "`npm ci` in {} failed ({}): check the network can reach the npm registry (npm config get registry)",
            dir.display(),
            workspace::describe(status)
        );
    }
    Ok(())
}

/// What `<tool> --version` prints, or None when it does not run.
fn version_of(tool: &str) -> Option<String> {
    let output = Command::new(tool).arg("--version").output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The major version of `v20.11.1` (or `20.11.1`).
fn node_major(version: &str) -> Option<u32> {
    version
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_versions_are_read_with_or_without_a_v() {
        assert_eq!(node_major("v20.20.2"), Some(20));
        assert_eq!(node_major("18.19.0"), Some(18));
        assert_eq!(node_major("nightly"), None);
    }

    #[test]
    fn the_page_folder_holds_its_lockfile() {
        assert!(page_dir().join("package-lock.json").is_file());
    }
}
