//! `provision`: a retail IT team sets up a whole fleet of Visavis units by script.
//!
//! A fleet manifest ([`manifest`], CSV or TOML, one unit per row, secrets by
//! [`secret_ref`] only) becomes one signed seed per unit ([`seeds`]): a diff against the
//! last run first (`plan`), then the files (`bundle`), written atomically.
//! `write` puts a seed on a card's boot partition, refusing the computer's own disks
//! ([`disk`]), or into an image file ([`image`]); `verify` reads it back. `report` and
//! `revoke` talk to rendezvous's fleet admin API ([`fleet`]). The command line itself is
//! in [`cli`].

pub mod cli;
pub mod disk;
pub mod fleet;
pub mod image;
pub mod manifest;
pub mod secret_ref;
pub mod seeds;
