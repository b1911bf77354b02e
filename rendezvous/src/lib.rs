//! Visavis rendezvous: the server remote guests reach.
//!
//! It serves the guest web app, issues invite tokens for units, and relays WebSocket
//! signaling between a unit and its guests. It never touches media. Units enroll their own
//! ed25519 keys with the one-time token from their seed and sign a challenge at every
//! connection ([`ws_device`]); the [`devices`] registry keeps them in SQLite, and IT revokes
//! or lists them through the [`fleet_api`].
//!
//! Start it with [`run`] (or [`run_with_clock`] in tests, [`run_with_registry`] with a
//! registry already open) on a bound listener.

pub mod assets;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod connections;
pub mod devices;
pub mod fleet_api;
pub mod hub;
pub mod invites;
pub mod pages;
pub mod rate_limit;
pub mod server;
pub mod socket;
pub mod state;
pub mod tls;
pub mod token;
pub mod ws_device;
pub mod ws_guest;

pub use config::{Config, ConfigError};
pub use server::{ServeError, base_url, run, run_with_clock, run_with_registry};
