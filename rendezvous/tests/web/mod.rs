//! Helpers for the tests of the guest page (`rendezvous/web`): where it is, and running
//! node on it. Node.js is required, as for `cargo xtask test` (`cargo xtask setup` checks
//! it): a missing `node` fails the test with what to do, it never skips.

#![allow(dead_code)] // each test file uses a different subset
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `rendezvous/web`.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// A file of the page, as text.
pub fn read(name: &str) -> String {
    let path = dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Run `program args` in `rendezvous/web`; panics saying how to get it when it cannot start.
pub fn run(program: &Path, args: &[&str], fix: &str) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}. {fix}", program.display()))
}

/// `node`, on PATH.
pub fn node() -> PathBuf {
    PathBuf::from("node")
}

pub const NODE_MISSING: &str =
    "Node.js 18 or newer is needed for the guest page's tests: run `cargo xtask setup`";

/// The exports of the page's module `name` (e.g. `limits.js`), as JSON, loaded by node.
pub fn exports(name: &str) -> serde_json::Value {
    let script = "import { pathToFileURL } from 'node:url'; \
        const m = await import(pathToFileURL(process.argv[1])); \
        process.stdout.write(JSON.stringify({ ...m }));";
    let file = dir().join(name);
    let output = run(
        &node(),
        &["--input-type=module", "-e", script, file.to_str().unwrap()],
        NODE_MISSING,
    );
    assert!(
        output.status.success(),
        "node could not load {name}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the exports as JSON")
}

/// stdout and stderr of a finished command, for a failure message.
pub fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
