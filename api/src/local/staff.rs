//! The staff screen's part of the local API: everything behind the staff PIN.

use serde::{Deserialize, Serialize};

use crate::install::Mode;

/// A staff PIN as typed. Its `Debug` never shows the digits, so a logged request does
/// not leak it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StaffPin(pub String);

impl std::fmt::Debug for StaffPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaffPin(…)")
    }
}

/// What staff ask for, each time with the PIN (the kiosk keeps it only while the staff
/// screen is open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffAction {
    /// The unit's report (answered with [`StaffReport`]).
    Report,
    /// End any session and restart `applianced` (systemd starts it again).
    Restart,
}

/// What the staff screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StaffReport {
    pub device_id: String,
    pub store: String,
    pub location: String,
    pub mode: Mode,
    /// `applianced`'s version.
    pub version: String,
    pub rendezvous_url: String,
    pub rendezvous_connected: bool,
    /// Network interfaces and their state (`up`, `down`, ...), loopback left out.
    pub network: Vec<NetworkLink>,
    /// Where video comes from (`v4l2 /dev/video0`, `test`, ...).
    pub camera: String,
    pub microphone: String,
    pub encoder: String,
    /// Counters that move while the camera and microphone work: the staff screen's test.
    pub video_frames_captured: u64,
    pub video_frames_encoded: u64,
    pub audio_frames_encoded: u64,
    pub privacy: bool,
    /// What the unit sent to every guest together over the last second, kbit/s (payload).
    #[serde(default)]
    pub send_kbps: u64,
    /// What it may send in all (`[uplink] max_kbps`).
    #[serde(default)]
    pub uplink_kbps: u32,
    /// What needs attention, oldest first (as in `status.problems`).
    pub problems: Vec<String>,
    /// The last warnings and errors applianced logged (at most 20), oldest first:
    /// `HH:MM:SS LEVEL where: message fields` (UTC).
    #[serde(default)]
    pub recent_errors: Vec<String>,
}

/// One network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkLink {
    pub name: String,
    pub state: String,
}
