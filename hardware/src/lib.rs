//! The board around the unit: presence sensor, privacy switch, buttons, status LED,
//! backlight, and the camera.
//!
//! [`Board`] is the one interface the daemon uses. Two backends implement it:
//! - [`GpioBoard`]: the Pi 4 / Pi 5 GPIO through rppal, with the pin map from the device
//!   config ([`PinMap`]) and the backlight from `/sys/class/backlight` ([`Backlight`]).
//!   rppal is no longer maintained; it stays inside `gpio.rs` so another GPIO crate can
//!   replace it without touching the rest.
//! - [`SimulatedBoard`]: an in-memory board for the demo and the tests, driven by whoever
//!   holds a clone of it.
//!
//! [`camera`] is the V4L2 capture device, with no GStreamer: formats, negotiation,
//! streaming on a thread, and recovery when the device goes away.
//!
//! [`contract`] is the behaviour every backend must show, written once against a
//! [`contract::Driver`] that can work the inputs and read the outputs.

mod backlight;
pub mod camera;
pub mod contract;
mod gpio;
mod pins;
mod simulated;

use std::time::Duration;

pub use backlight::Backlight;
pub use gpio::GpioBoard;
pub use pins::PinMap;
pub use simulated::SimulatedBoard;

/// Something the board noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardEvent {
    /// Someone is in front of the unit (debounced), or no longer.
    Presence(bool),
    /// The hardware privacy switch: `true` means the camera must be off.
    PrivacySwitch(bool),
    /// A physical button was pressed.
    Button(Button),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Call,
    Mute,
}

/// What the status LED shows: off when idle, steady in a call, slow blink while the
/// privacy switch is on, fast blink on an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Led {
    #[default]
    Idle,
    InCall,
    Privacy,
    Error,
}

/// Why a board operation failed; the message says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardError(pub String);

impl std::fmt::Display for BoardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BoardError {}

/// The board, as the daemon sees it.
pub trait Board: Send {
    /// The next event, waiting up to `timeout` for one. Events come in the order they
    /// happened; a switch or sensor only reports changes.
    fn next_event(&mut self, timeout: Duration) -> Option<BoardEvent>;
    /// The next event if one is waiting, without blocking.
    fn poll_event(&mut self) -> Option<BoardEvent> {
        self.next_event(Duration::ZERO)
    }
    /// Current privacy switch position (`true`: camera must be off).
    fn privacy(&self) -> bool;
    /// Whether someone is in front of the unit now.
    fn presence(&self) -> bool;
    fn set_led(&mut self, led: Led) -> Result<(), BoardError>;
    /// Backlight brightness, 0 to 100 %.
    fn set_backlight(&mut self, percent: u8) -> Result<(), BoardError>;
}

/// Refuse a brightness over 100 %.
fn check_percent(percent: u8) -> Result<(), BoardError> {
    if percent > 100 {
        Err(BoardError(format!(
            "backlight {percent} % is over 100 %: give 0 to 100"
        )))
    } else {
        Ok(())
    }
}
