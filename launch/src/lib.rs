//! Starting Visavis' own programs on this machine, shared by the end-to-end harness
//! (`tests/`) and `cargo xtask demo`, so both start `rendezvous` and `applianced` the same
//! way.
//!
//! - [`process::ChildProcess`]: a child whose output is echoed with its name in front, whose
//!   readiness line is awaited with a deadline, stopped with SIGTERM and killed on drop.
//! - [`ready`]: the readiness lines of `rendezvous` and `applianced` (docs/contracts.md).
//! - [`fleet::Fleet`]: a fleet's enrollment key and the one-time enrollment tokens it signs
//!   (what `provision bundle` does for IT).
//! - [`files`]: config-file pieces: TOML strings, private files, random hex.
//!
//! It depends on the API types only: `cargo xtask` compiles it before anything else.

pub mod files;
pub mod fleet;
pub mod process;
pub mod ready;
pub mod rendezvous;
