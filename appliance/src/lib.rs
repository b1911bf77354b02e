//! `applianced`, the Visavis device daemon.
//!
//! Captures once, encodes once ([`media`]), and sends the encoded stream to every admitted
//! guest over its own webrtc-rs peer connection ([`peer`]). The [`unit`] owns the unit's
//! state and decides everything: its [`session`] core who is admitted and when everything is
//! erased, its room what guests get and what the LED shows. [`daemon`] moves data between
//! it and the world: rendezvous ([`signaling`]), the local API ([`api`]), the board
//! ([`board`]), the media ([`media`], [`peer`], with [`congestion`] setting the encoders from guests'
//! bandwidth estimates) and Prometheus ([`metrics`]). [`identity`] is how the unit proves who it is to rendezvous, and
//! [`first_boot`] applies the seed IT wrote to the boot partition (`applianced first-boot`).
//! `visavis_api::allocator` gives memory back to the system after a guest leaves, and
//! [`log_repeats`] keeps a library's repeated log line to one a minute.

pub mod api;
pub mod board;
pub mod config;
pub mod congestion;
pub mod daemon;
pub mod first_boot;
pub mod forward;
pub mod identity;
pub mod log_repeats;
pub mod media;
pub mod metrics;
pub mod notify;
pub mod peer;
pub mod recent;
pub mod relay_bridge;
pub mod repeats;
pub mod session;
pub mod signaling;
pub mod staff;
pub mod stall;
pub mod unit;
pub mod waiter;
