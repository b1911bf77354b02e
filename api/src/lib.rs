//! Messages spoken between the parts of Visavis, and the one rule both ends apply to them
//! (how fast a client may send, [`bucket`]); nothing else.
//!
//! - [`signaling`]: the unit ↔ rendezvous ↔ guest browser WebSocket protocol.
//! - [`datachannel`]: messages on each guest's WebRTC data channel.
//! - [`local`]: the unit's local API (kiosk, staff tools, tests) and its metrics.
//! - [`install`]: how a unit is installed ([`Mode`], [`Orientation`], [`TimeZone`]), as
//!   carried by all of the above and by the seed and the configs.
//! - [`stamp`]: the capture timestamp benchmarks draw into the picture.
//! - [`bucket`]: the token bucket rendezvous and the unit rate-limit their clients with.
//! - `fleet` (feature `fleet`): enrollment tokens, device keys and signed seeds.
//! - `allocator` (feature `allocator`): the daemons giving freed memory back to the system.
//!
//! Every message is JSON with a `type` tag, so a browser, a test or a shell script can speak
//! it without this crate. Unknown fields are refused: a typo is an error, not a silent no-op.

#[cfg(feature = "allocator")]
pub mod allocator;
pub mod bucket;
#[cfg(feature = "cli")]
pub mod cli;
pub mod datachannel;
#[cfg(feature = "fleet")]
pub mod fleet;
pub mod install;
pub mod local;
pub mod signaling;
pub mod stamp;

pub use install::{Mode, Orientation, TimeZone};

/// Version of the protocols in this crate. Bumped on any incompatible change.
pub const PROTOCOL_VERSION: u32 = 1;
