//! The Visavis kiosk: the touchscreen app, a client of `applianced`'s local API only.
//!
//! - [`link`]: the connection to applianced (status, events, commands), reconnecting.
//! - [`preview`]: the live mirror over GStreamer shared memory.
//! - [`tiles`]: guests' videos (shared memory too), laid out for the table.
//! - [`app`]: the window: which screen shows, and what the screens share.
//! - [`view`]: the screens, one file each, drawn from the link's state; taps become
//!   commands.
//! - [`theme`]: the palette, the type sizes and the spacing every screen uses.
//! - [`emoji`]: reactions' colour emoji, from a shipped emoji font, as textures.
//! - [`i18n`]: every word, English and French.
//! - [`looks`], [`qr`]: saved-look thumbnails and the invite QR code.
//! - [`latency`]: frame-to-paint measurement for the benchmark.
//!
//! The `kiosk` binary puts [`app::KioskApp`] in a window; tests drive the same app by label
//! with `egui_kittest`, against a fake link or a real applianced.

pub mod app;
pub mod emoji;
pub mod i18n;
pub mod latency;
pub mod link;
pub mod looks;
pub mod preview;
pub mod qr;
#[cfg(test)]
mod screens;
pub mod theme;
pub mod tiles;
pub mod view;
