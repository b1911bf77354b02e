//! The board around the unit: presence sensor, privacy switch, buttons, status LED,
//! backlight.
//!
//! [`Board`] is the one interface the daemon uses. Two backends implement it: the Pi's GPIO
//! (coming with the device work, behind this same trait so a maintained GPIO crate can
//! replace rppal without touching the rest) and [`SimulatedBoard`], an in-memory board for
//! the demo and tests that anything can drive.

mod simulated;

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

/// What the status LED shows.
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
    /// The next event, if one happened since the last call (non-blocking).
    fn poll_event(&mut self) -> Option<BoardEvent>;
    /// Current privacy switch position (`true`: camera must be off).
    fn privacy(&self) -> bool;
    fn set_led(&mut self, led: Led) -> Result<(), BoardError>;
    /// Backlight brightness, 0 to 100 %.
    fn set_backlight(&mut self, percent: u8) -> Result<(), BoardError>;
}
