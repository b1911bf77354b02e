//! `provision`, the fleet provisioning CLI for retail IT (manifest → per-device seeds).
//!
//! Not built yet: this binary only says so, with a non-zero exit, so no script mistakes it
//! for a working tool.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "provision: fleet provisioning is not available in this version of Visavis yet \
         (validate, plan, bundle, write, verify, report and revoke are planned)"
    );
    ExitCode::from(2)
}
