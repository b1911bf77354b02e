//! `provision`, the fleet provisioning CLI for retail IT (manifest → per-device seeds).
//!
//! Exit codes: 0 done; 1 the input is invalid or a check failed; 2 usage or environment
//! error (unreadable file, I/O, network); 3 refused for safety (a fixed disk without
//! `--force`, no `--yes` without a terminal).

use std::process::ExitCode;

fn main() -> ExitCode {
    visavis_provisioning::cli::main()
}
