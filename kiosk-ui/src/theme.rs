//! The kiosk's one visual system: the palette, the type sizes and the spacing. Every colour
//! and size on the screens comes from here, so the screens agree with each other and the
//! contrast test ([`tests`]) checks what people see.

use egui::Color32;

/// Colours, by what they are for.
pub mod colour {
    use super::Color32;

    /// Behind the attract screen.
    pub const ATTRACT: Color32 = Color32::from_rgb(24, 24, 32);
    /// Behind the staff screen.
    pub const STAFF: Color32 = Color32::from_rgb(30, 34, 44);
    /// A tile with no picture yet.
    pub const TILE: Color32 = Color32::from_rgb(40, 44, 52);
    /// The speaking indicator: a tile's border and its pill.
    pub const SPEAKING: Color32 = Color32::from_rgb(40, 200, 90);
    /// "Everything was erased".
    pub const ERASED: Color32 = Color32::from_rgb(20, 110, 60);
    /// The privacy switch is on.
    pub const PRIVACY: Color32 = Color32::from_rgb(180, 20, 20);
    /// The camera is paused.
    pub const PAUSED: Color32 = Color32::from_rgb(150, 90, 0);
    /// Something needs attention (reconnecting, staff needed).
    pub const WARNING: Color32 = Color32::from_rgb(200, 120, 0);
    /// A refused request.
    pub const ERROR: Color32 = Color32::from_rgb(200, 40, 40);
    /// A reaction's bubble.
    pub const REACTION: Color32 = Color32::from_rgb(220, 40, 90);
    /// A refused PIN, on the staff screen.
    pub const REFUSED: Color32 = Color32::from_rgb(255, 120, 120);
    /// Problems and warnings, on the staff screen.
    pub const STAFF_WARNING: Color32 = Color32::from_rgb(255, 180, 80);
}

/// Type sizes, in points.
pub mod size {
    pub const TINY: f32 = 13.0;
    pub const LOG: f32 = 14.0;
    pub const SMALL: f32 = 16.0;
    pub const NOTE: f32 = 18.0;
    pub const BODY: f32 = 20.0;
    pub const LEAD: f32 = 22.0;
    pub const BUTTON: f32 = 24.0;
    pub const HEADING: f32 = 26.0;
    pub const KEY: f32 = 26.0;
    pub const TITLE: f32 = 30.0;
    pub const CTA: f32 = 32.0;
    pub const REACTION: f32 = 34.0;
    pub const PIN: f32 = 40.0;
    pub const DISPLAY: f32 = 48.0;
}

/// Spacing, in points.
pub mod space {
    pub const GAP: f32 = 12.0;
    pub const SMALL_GAP: f32 = 8.0;
    pub const LARGE_GAP: f32 = 16.0;
    pub const CARD_MARGIN: f32 = 24.0;
    pub const ROUNDING: f32 = 12.0;
}
