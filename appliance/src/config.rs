//! `applianced.toml`: what the unit is, where rendezvous is, and how to capture and encode.
//!
//! Parsing is strict: an unknown key or a bad value is refused with a message that names
//! the key and the expected form. Every field has a default that runs on a developer
//! machine (test sources, loopback), except the rendezvous URL.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use visavis_api::{Mode, Orientation};

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}: `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        key: &'static str,
        message: String,
    },
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("/var/lib/visavis")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub device_id: String,
    /// The installation; default: a fitting-room mirror.
    #[serde(default)]
    pub mode: Mode,
    /// The store this unit belongs to, as IT named it (shown on the staff screen).
    #[serde(default)]
    pub store: String,
    #[serde(default)]
    pub location: String,
    /// How the screen is mounted. Default: portrait for a fitting room, landscape for a table
    /// ([`Config::orientation`]).
    #[serde(default)]
    pub orientation: Option<Orientation>,
    /// Where the unit keeps its key, its enrollment token and its first-boot stamp
    /// (systemd's `StateDirectory=visavis`). Default `/var/lib/visavis`.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    pub rendezvous: RendezvousConfig,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub video: VideoConfig,
    #[serde(default)]
    pub audio: AudioConfig,
    #[serde(default)]
    pub session: SessionConfig,
    #[serde(default)]
    pub board: BoardConfig,
    #[serde(default)]
    pub privacy: PrivacyConfig,
    #[serde(default)]
    pub staff: StaffConfig,
    #[serde(default)]
    pub table: TableConfig,
    #[serde(default)]
    pub turn: TurnConfig,
    #[serde(default)]
    pub uplink: UplinkConfig,
}

/// `[uplink]`: what the unit may send in all, to every guest together. The store's line
/// carries the tills and the card terminals too: the unit's video and voices to every
/// guest stay under `max_kbps`, shared among guests by congestion control.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UplinkConfig {
    /// The most the unit sends in all, kbit/s (headers included). Default 10000.
    pub max_kbps: u32,
}

impl Default for UplinkConfig {
    fn default() -> Self {
        UplinkConfig { max_kbps: 10_000 }
    }
}

/// `[turn]`: the relays the seed named and its shared secret, written by first boot. The
/// unit mints its own short-lived credentials from them when rendezvous hands it none for
/// a call (rendezvous without a `[turn]` of its own). Empty: no relay of the unit's own.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TurnConfig {
    /// `stun:`, `turn:` and `turns:` URLs.
    pub urls: Vec<String>,
    /// The relays' `static-auth-secret`, one line, mode 0600 (first boot writes
    /// `<state_dir>/turn-secret`).
    pub secret_file: Option<PathBuf>,
    /// PEM certificates of a private CA that signed a relay's TLS certificate (`turns:`),
    /// trusted besides the web's roots. Unset: only the web's roots.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RendezvousConfig {
    /// Base URL, `https://...` (or `http://` on loopback only).
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    pub socket: PathBuf,
    /// The kiosk's preview (shared memory). Default: `preview` beside the socket.
    pub preview_socket: Option<PathBuf>,
    /// Width of the preview frames; the height follows the camera's aspect ratio.
    pub preview_width: u32,
}

impl ApiConfig {
    pub fn preview_socket(&self) -> PathBuf {
        self.preview_socket
            .clone()
            .unwrap_or_else(|| self.socket.with_file_name("preview"))
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            socket: PathBuf::from("/run/visavis/applianced.sock"),
            preview_socket: None,
            preview_width: 640,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub listen: SocketAddr,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VideoSource {
    /// A V4L2 camera when `device` exists, else the test pattern.
    Auto,
    V4l2,
    Test,
    File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncoderChoice {
    /// The hardware encoder when present, else x264, else OpenH264.
    Auto,
    V4l2h264enc,
    X264enc,
    Openh264enc,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VideoConfig {
    pub source: VideoSource,
    pub device: PathBuf,
    pub file: Option<PathBuf>,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// The main encoding's bitrate at start and its ceiling; guests' bandwidth estimates
    /// lower it at run time.
    pub bitrate_kbps: u32,
    /// The main encoding's floor (at most `bitrate_kbps`): a guest whose network carries
    /// less gets the small layer instead of dragging everyone's picture down to mush. The
    /// resolution steps down there first; the frame rate only if `small_fps` says so.
    /// Unset: [`FLOOR_KBPS`], or [`FLOOR_KBPS_FORWARDING`] where guests see each other
    /// (see [`Config::min_video_kbps`]).
    pub min_bitrate_kbps: Option<u32>,
    /// The small layer's height (its width keeps the camera's aspect ratio); never more than
    /// `height`.
    pub small_height: u32,
    /// The small layer's frame rate; never more than `fps` (default 30: the full rate of a
    /// 30 fps camera, so stepping down costs resolution, not motion).
    pub small_fps: u32,
    /// The small layer's bitrate ceiling, at most `bitrate_kbps` (its floor is 100 kbit/s).
    pub small_bitrate_kbps: u32,
    pub encoder: EncoderChoice,
    /// Draw a machine-readable capture timestamp into each frame (benchmarks only).
    pub capture_timestamp: bool,
    /// Guests see each other, not only the room: the unit forwards each guest's small
    /// camera layer to the others (`crate::forward`). Unset: on at a table, off in a
    /// fitting room (where the room's picture stays the point).
    pub guests_see_each_other: Option<bool>,
    /// Where guests see each other, the screen shows each guest's small layer (the one
    /// forwarded to the others) instead of decoding their full one where its tiles are
    /// small: the kiosk says how wide it draws them; until it does (or on a unit without
    /// one), from this many guests in the call on. 0: always the full layer. See
    /// [`SMALL_TILES_FROM`].
    pub small_tiles_from: u32,
}

/// `video.small_tiles_from` when unset, for a screen that has not said how wide its tiles
/// are: six guests and the table's own picture make a grid of three by three, a tile a
/// third of the screen wide (far less than 480 on a Pi's touchscreen), where a guest's
/// 320x240 small layer shows about as much as their 640x480 full one, at under half the
/// unit's CPU to decode.
pub const SMALL_TILES_FROM: u32 = 6;

/// The main layer's floor when `video.min_bitrate_kbps` is unset, kbit/s.
pub const FLOOR_KBPS: u32 = 1000;
/// The main layer's floor when it is unset and guests see each other, kbit/s: low enough
/// that a full table (8 guests) on the default 10 Mbit/s uplink leaves each guest two or
/// three others' pictures beside the voices they hear of each other (at [`FLOOR_KBPS`]
/// the room's streams would take it all).
pub const FLOOR_KBPS_FORWARDING: u32 = 500;

impl VideoConfig {
    /// The small layer's ceiling: `small_bitrate_kbps`, at most `bitrate_kbps`.
    pub fn small_kbps(&self) -> u32 {
        self.small_bitrate_kbps.min(self.bitrate_kbps)
    }

    /// The small layer's size and frame rate: `small_height` high (at most `height`), the
    /// camera's aspect ratio, even sides.
    pub fn small_size(&self) -> (u32, u32, u32) {
        let h = self.small_height.min(self.height) & !1;
        let w = ((u64::from(self.width) * u64::from(h) / u64::from(self.height)) as u32) & !1;
        (w.max(2), h.max(2), self.small_fps.min(self.fps))
    }
}

impl Default for VideoConfig {
    fn default() -> Self {
        VideoConfig {
            source: VideoSource::Auto,
            device: PathBuf::from("/dev/video0"),
            file: None,
            width: 1280,
            height: 720,
            fps: 30,
            bitrate_kbps: 2500,
            min_bitrate_kbps: None,
            small_height: 360,
            small_fps: 30,
            small_bitrate_kbps: 600,
            encoder: EncoderChoice::Auto,
            capture_timestamp: false,
            guests_see_each_other: None,
            small_tiles_from: SMALL_TILES_FROM,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AudioSource {
    /// ALSA when a capture device exists, else a test tone.
    Auto,
    Alsa,
    Test,
    /// No devices: the speaker's sound comes back into the microphone through a simulated
    /// room's echo path (`media::simroom::echo_live`), as a speaker and a microphone on one
    /// table would. For the end-to-end echo test: a guest hears what the unit sends back
    /// of their own voice.
    SimulatedRoom,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AudioConfig {
    pub source: AudioSource,
    /// The ALSA capture device when no `card` is named; all its channels are mixed down.
    pub device: String,
    /// The microphone's ALSA card: its id (`ArrayUAC10`, as in `/proc/asound/cards`) or part
    /// of its name (`ReSpeaker`). Wins over `device`; stable whatever order USB devices
    /// come up in.
    pub card: Option<String>,
    /// Which of the card's capture channels to send, from 0. A ReSpeaker array's channel 0
    /// is its own processed beam; a mono USB mic has only 0.
    pub channel: u32,
    pub bitrate_kbps: u32,
    /// Where guests' voices play: `auto` (ALSA's `default` when the unit has a playback
    /// device, else nowhere), an ALSA device name, or `none` (not played; levels are still
    /// measured for the speaking indicator).
    pub speaker: String,
    /// The speaker's loudness at start, 0 to 100; the screen changes it.
    pub volume: u8,
    /// Cancel the speaker's sound (the guests' voices) out of the microphone, so guests do
    /// not hear themselves. The reference is the mix exactly as the speaker gets it. With
    /// the microphone and the speaker on separate devices (two USB devices, or a USB mic
    /// and HDMI audio), their clocks drift apart by tens of ppm: GStreamer resamples both
    /// to the pipeline's clock, and the canceller (delay-agnostic mode, extended filter)
    /// follows the slowly moving delay, but every correction costs a little echo while it
    /// re-converges. Prefer one device for both (a mic array with its own output jack).
    pub echo_cancel: bool,
    /// Take steady background noise (fans, a dining room's murmur) out of the microphone.
    pub noise_suppression: bool,
    /// Bring the room's voices to a steady level (adaptive digital gain).
    pub gain_control: bool,
    /// Guests hear each other, not only the room: each gets a mix of their own (the room
    /// and every other guest, never themself). Off: every guest hears the room alone.
    pub guests_hear_each_other: bool,
}

impl AudioConfig {
    /// The defaults with no processing at all (no echo canceller, noise suppressor or gain
    /// control): the microphone's sound goes out as it came in, for measurements.
    pub fn unprocessed() -> AudioConfig {
        AudioConfig {
            echo_cancel: false,
            noise_suppression: false,
            gain_control: false,
            ..AudioConfig::default()
        }
    }

    /// What one guest's share of the room's voice takes on the wire: the Opus bitrate and
    /// its packets' headers (50 packets a second of about 60 bytes of RTP, SRTP, UDP and IP).
    pub fn on_wire_bps(&self) -> u64 {
        u64::from(self.bitrate_kbps) * 1000 + 50 * 60 * 8
    }
}

impl Default for AudioConfig {
    fn default() -> Self {
        AudioConfig {
            source: AudioSource::Auto,
            device: "default".into(),
            card: None,
            channel: 0,
            bitrate_kbps: 64,
            speaker: "auto".into(),
            volume: 80,
            echo_cancel: true,
            noise_suppression: true,
            gain_control: true,
            guests_hear_each_other: true,
        }
    }
}

/// Which board backend drives the presence sensor, privacy switch, buttons and LED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BoardBackend {
    /// The Pi's GPIO when `/dev/gpiomem*` exists, the simulated board otherwise.
    #[default]
    Auto,
    Gpio,
    Simulated,
}

/// `[board]`: the backend and the backlight; `[board.pins]`: the pin map (BCM numbers).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BoardConfig {
    #[serde(default)]
    pub backend: BoardBackend,
    /// Name under `/sys/class/backlight`; default: the first one there.
    #[serde(default)]
    pub backlight: Option<String>,
    #[serde(default)]
    pub pins: visavis_hardware::PinMap,
}

/// `[table]`: restaurant-table settings.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TableConfig {
    /// Where "Call a waiter" is POSTed (JSON), besides the local API event. https://
    /// unless the host is loopback.
    pub waiter_webhook: Option<String>,
}

/// `[staff]`: the staff screen.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaffConfig {
    /// The staff PIN: 4 to 8 digits, mode 0640 (see `crate::staff`). Read at each use, so
    /// a new PIN needs no restart.
    pub pin_file: PathBuf,
}

impl Default for StaffConfig {
    fn default() -> Self {
        StaffConfig {
            pin_file: PathBuf::from("/etc/visavis/staff-pin"),
        }
    }
}

/// `[privacy]`: what the hardware privacy switch stops besides video.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// Keep sending the microphone while the switch is on. Default false: the switch
    /// silences the unit too.
    pub audio_continues: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// Admit every guest without a tap. For the demo only; never on a store unit.
    pub auto_admit: bool,
    /// A guest not let in within this many seconds is turned away.
    pub admission_timeout_secs: u64,
    /// An active session with nobody in the call for this long ends by itself.
    pub idle_timeout_secs: u64,
    /// Most guests in one call.
    pub max_guests: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            auto_admit: false,
            admission_timeout_secs: 300,
            idle_timeout_secs: 900,
            max_guests: 8,
        }
    }
}

impl Config {
    /// Read and validate the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(path, &text)
    }

    /// Parse and validate `text`; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            key,
            message,
        };
        if self.device_id.is_empty()
            || self.device_id.len() > 64
            || !self
                .device_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(invalid(
                "device_id",
                format!(
                    "{:?} is not a device id: use 1 to 64 letters, digits, '-', '_' or '.'",
                    self.device_id
                ),
            ));
        }
        rendezvous_ws_url(&self.rendezvous.url)
            .map_err(|e| invalid("rendezvous.url", e.to_string()))?;
        if let Some(hook) = &self.table.waiter_webhook {
            // Same rule as rendezvous: TLS for anything leaving the unit.
            rendezvous_ws_url(hook).map_err(|e| invalid("table.waiter_webhook", e.to_string()))?;
        }
        self.board
            .pins
            .check()
            .map_err(|e| invalid("board.pins", e.to_string()))?;
        if !self.metrics.listen.ip().is_loopback() {
            return Err(invalid(
                "metrics.listen",
                format!(
                    "{} is not a loopback address: metrics are served on 127.0.0.1 or [::1] only",
                    self.metrics.listen
                ),
            ));
        }
        let v = &self.video;
        if !(160..=3840).contains(&v.width) || !v.width.is_multiple_of(2) {
            return Err(invalid(
                "video.width",
                format!("{} is not an even number from 160 to 3840", v.width),
            ));
        }
        if !(120..=2160).contains(&v.height) || !v.height.is_multiple_of(2) {
            return Err(invalid(
                "video.height",
                format!("{} is not an even number from 120 to 2160", v.height),
            ));
        }
        if !(1..=60).contains(&v.fps) {
            return Err(invalid(
                "video.fps",
                format!("{} is not a frame rate from 1 to 60", v.fps),
            ));
        }
        if !(100..=20_000).contains(&v.bitrate_kbps) {
            return Err(invalid(
                "video.bitrate_kbps",
                format!(
                    "{} is not a bitrate from 100 to 20000 kbit/s",
                    v.bitrate_kbps
                ),
            ));
        }
        for (key, kbps) in [
            (
                "video.min_bitrate_kbps",
                v.min_bitrate_kbps.unwrap_or(FLOOR_KBPS),
            ),
            ("video.small_bitrate_kbps", v.small_bitrate_kbps),
        ] {
            if !(100..=20_000).contains(&kbps) {
                return Err(invalid(
                    key,
                    format!("{kbps} is not a bitrate from 100 to 20000 kbit/s"),
                ));
            }
        }
        if !(90..=2160).contains(&v.small_height) || !v.small_height.is_multiple_of(2) {
            return Err(invalid(
                "video.small_height",
                format!("{} is not an even number from 90 to 2160", v.small_height),
            ));
        }
        if !(1..=60).contains(&v.small_fps) {
            return Err(invalid(
                "video.small_fps",
                format!("{} is not a frame rate from 1 to 60", v.small_fps),
            ));
        }
        if v.small_tiles_from > 16 {
            return Err(invalid(
                "video.small_tiles_from",
                format!(
                    "{} is more guests than a call holds: from 0 (never) to 16",
                    v.small_tiles_from
                ),
            ));
        }
        if v.source == VideoSource::File && v.file.is_none() {
            return Err(invalid(
                "video.file",
                "source = \"file\" needs `file = \"/path/to/clip.y4m\"`".into(),
            ));
        }
        if !(160..=1920).contains(&self.api.preview_width)
            || !self.api.preview_width.is_multiple_of(2)
        {
            return Err(invalid(
                "api.preview_width",
                format!(
                    "{} is not an even number from 160 to 1920",
                    self.api.preview_width
                ),
            ));
        }
        if !(6..=510).contains(&self.audio.bitrate_kbps) {
            return Err(invalid(
                "audio.bitrate_kbps",
                format!(
                    "{} is not an Opus bitrate from 6 to 510 kbit/s",
                    self.audio.bitrate_kbps
                ),
            ));
        }
        if self.audio.volume > 100 {
            return Err(invalid(
                "audio.volume",
                format!("{} is not a percentage from 0 to 100", self.audio.volume),
            ));
        }
        if self.audio.speaker.trim().is_empty() || self.audio.speaker.contains('"') {
            return Err(invalid(
                "audio.speaker",
                format!(
                    "{:?} is not an ALSA device name: write one such as \"default\" or \"hw:0,0\", or \"none\"",
                    self.audio.speaker
                ),
            ));
        }
        if let Some(card) = &self.audio.card
            && (card.trim().is_empty() || card.contains('"'))
        {
            return Err(invalid(
                "audio.card",
                format!(
                    "{card:?} is not an ALSA card name: write its id (see /proc/asound/cards) or part of its name, such as \"ReSpeaker\""
                ),
            ));
        }
        if !(1..=16).contains(&self.session.max_guests) {
            return Err(invalid(
                "session.max_guests",
                format!("{} is not from 1 to 16", self.session.max_guests),
            ));
        }
        let floor_kbps = crate::congestion::uplink_kbps_for(self.uplink_floor_bps());
        if u64::from(self.uplink.max_kbps) < floor_kbps || self.uplink.max_kbps > 1_000_000 {
            return Err(invalid(
                "uplink.max_kbps",
                format!(
                    "{} kbit/s is not from {floor_kbps} to 1000000: {} guests (`session.max_guests`) \
                     need at least `video.min_bitrate_kbps` ({}) and their voice ({} kbit/s \
                     with headers) each; raise it, or lower those",
                    self.uplink.max_kbps,
                    self.session.max_guests,
                    self.min_video_kbps(),
                    self.audio.on_wire_bps().div_ceil(1000),
                ),
            ));
        }
        for url in &self.turn.urls {
            visavis_api::fleet::turn::check_url(url).map_err(|m| invalid("turn.urls", m))?;
        }
        if self.turn.urls.iter().any(|u| u.starts_with("turn")) && self.turn.secret_file.is_none() {
            return Err(invalid(
                "turn.secret_file",
                "missing: TURN relays need the file with their shared secret (first boot \
                 writes it to <state_dir>/turn-secret from the seed)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// What a full call takes of the uplink at least, bits per second: every guest on the
    /// main layer at its floor, with their voice (see [`crate::congestion`]). The least
    /// `[uplink] max_kbps` can be is what plans that
    /// ([`uplink_kbps_for`](crate::congestion::uplink_kbps_for)).
    pub fn uplink_floor_bps(&self) -> u64 {
        self.session.max_guests as u64 * crate::congestion::Limits::from_config(self).guest_floor()
    }

    /// What the guests' voices forwarded to each other take of the uplink at most, bits
    /// per second: [`MAX_OPEN`](crate::forward::voices::MAX_OPEN) voices, each to every
    /// other guest, when guests hear each other and a full call fits the pages' voice
    /// slots (beyond, the unit mixes them; see [`crate::forward::voices`]).
    pub fn forwarded_voices_bps(&self) -> u64 {
        use crate::forward::voices::{VOICE_SLOTS, reserve_bps};
        let guests = self.session.max_guests as u64;
        if !self.audio.guests_hear_each_other || guests < 2 || guests > VOICE_SLOTS as u64 + 1 {
            return 0;
        }
        reserve_bps(guests)
    }

    /// Where guests see each other but a full call (`session.max_guests`) leaves no room
    /// for everyone to see everyone at the small layer's usual rate: what each would see,
    /// at what rate, and what to change, for the log. (The room's picture keeps its floor
    /// first, the voices forwarded to each other come before the pictures, and the
    /// pictures are lowered for everyone to fit; see [`crate::congestion`] and
    /// [`crate::forward`].)
    pub fn forwarding_advice(&self) -> Option<String> {
        use crate::congestion::{FORWARD_SHARE, Limits, forward_allowance};
        use crate::forward::{FORWARD_SLOTS, STREAM_BPS, picture_rate, small_layer_rate};
        if !self.guests_see_each_other() || self.session.max_guests < 2 {
            return None;
        }
        let guests = self.session.max_guests as u64;
        let limits = Limits::from_config(self);
        let voices = self.forwarded_voices_bps();
        // Planned on direct paths: what relays add is not known before a call.
        let room = forward_allowance(&limits, guests, 0).saturating_sub(voices);
        let wanted = (guests - 1).min(FORWARD_SLOTS as u64);
        let rate = picture_rate(room, guests * wanted);
        if rate == STREAM_BPS {
            return None;
        }
        let room_for = room / rate;
        let each = room_for / guests;
        let (kbps, fps) = small_layer_rate(rate);
        let (usual_kbps, usual_fps) = small_layer_rate(STREAM_BPS);
        // What an even share leaves over goes one more each to some (`crate::forward`).
        let sees = if each >= wanted {
            format!("the {wanted} others")
        } else if room_for.is_multiple_of(guests) {
            format!("{each} of the {wanted} others")
        } else {
            format!("{each} or {} of the {wanted} others", each + 1)
        };
        let needed = |rate: u64| {
            let forwarded = guests * wanted * rate + voices;
            crate::congestion::uplink_kbps_for(
                (self.uplink_floor_bps() + forwarded)
                    .max((forwarded as f64 / FORWARD_SHARE).ceil() as u64),
            )
        };
        let raise = if each >= wanted {
            format!("raise it to {} for their usual rate", needed(STREAM_BPS))
        } else {
            format!(
                "raise it to {} for everyone to see everyone ({} at their usual rate), or \
                 lower the floor",
                needed(rate),
                needed(STREAM_BPS)
            )
        };
        Some(format!(
            "in a full call ({guests} guests, `session.max_guests`) each guest sees {sees}' \
             pictures at {kbps} kbit/s and {fps} frames a second (usually {usual_kbps} at \
             {usual_fps}): the room's picture at its floor (`video.min_bitrate_kbps` = {}){} \
             takes the uplink (`uplink.max_kbps` = {}); {raise}",
            self.min_video_kbps(),
            if voices > 0 {
                format!(
                    " with the voices they hear of each other (up to {} kbit/s)",
                    voices / 1000
                )
            } else {
                String::new()
            },
            self.uplink.max_kbps
        ))
    }

    /// The unit's own relays with their secret read, or `None` when `[turn]` names none.
    /// A secret that is missing, unreadable, readable by others or too short is an error
    /// naming `turn.secret_file`, at start-up rather than at the first call.
    pub fn turn_minter(
        &self,
        path: &Path,
    ) -> Result<Option<visavis_api::fleet::turn::TurnMinter>, ConfigError> {
        use visavis_api::fleet::turn::{MAX_TTL_SECS, TurnMinter, TurnSecret};
        let Some(file) = &self.turn.secret_file else {
            return Ok(None);
        };
        if self.turn.urls.is_empty() {
            return Ok(None);
        }
        let secret = TurnSecret::read(file).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            key: "turn.secret_file",
            message: e.to_string(),
        })?;
        Ok(Some(TurnMinter {
            urls: self.turn.urls.clone(),
            secret,
            ttl_secs: MAX_TTL_SECS,
        }))
    }

    /// TLS settings for relays reached over `turns:` (see [`crate::relay_bridge`]): a
    /// `turn.ca_file` that is missing or holds no certificate is an error at start-up.
    pub fn relay_tls(&self, path: &Path) -> Result<Arc<rustls::ClientConfig>, ConfigError> {
        crate::relay_bridge::tls_config(self.turn.ca_file.as_deref()).map_err(|e| {
            ConfigError::Invalid {
                path: path.to_owned(),
                key: "turn.ca_file",
                message: e.to_string(),
            }
        })
    }

    /// The main layer's floor, kbit/s: `video.min_bitrate_kbps`, or [`FLOOR_KBPS_FORWARDING`]
    /// where guests see each other and [`FLOOR_KBPS`] elsewhere; at most `bitrate_kbps`.
    pub fn min_video_kbps(&self) -> u32 {
        let default = if self.guests_see_each_other() {
            FLOOR_KBPS_FORWARDING
        } else {
            FLOOR_KBPS
        };
        self.video
            .min_bitrate_kbps
            .unwrap_or(default)
            .min(self.video.bitrate_kbps)
    }

    /// Whether guests see each other: `video.guests_see_each_other`, or the mode's default
    /// (a table: yes; a fitting room: no).
    pub fn guests_see_each_other(&self) -> bool {
        self.video
            .guests_see_each_other
            .unwrap_or(self.mode == Mode::Table)
    }

    /// How the screen is mounted: as configured, or the mode's default.
    pub fn orientation(&self) -> Orientation {
        self.orientation
            .unwrap_or_else(|| self.mode.default_orientation())
    }

    /// The preview frame size: `api.preview_width` wide, the camera's aspect ratio, even.
    pub fn preview_size(&self) -> (u32, u32) {
        let w = self.api.preview_width.min(self.video.width);
        let h = ((u64::from(w) * u64::from(self.video.height) / u64::from(self.video.width))
            as u32)
            & !1;
        (w, h.max(2))
    }

    /// Wrong staff PINs since the last right one, kept across restarts.
    pub fn pin_tries_path(&self) -> PathBuf {
        self.state_dir.join("staff-pin-tries")
    }

    /// The unit's ed25519 key (created on first use, mode 0600).
    pub fn device_key_path(&self) -> PathBuf {
        self.state_dir.join("device.key")
    }

    /// The one-time enrollment token first boot takes from the seed; removed once used.
    pub fn enrollment_token_path(&self) -> PathBuf {
        self.state_dir.join("enrollment-token")
    }

    /// What first boot found, for the staff screen.
    pub fn first_boot_report_path(&self) -> PathBuf {
        self.state_dir.join("first-boot.json")
    }
}

/// Why a URL the unit would connect to (rendezvous, the waiter webhook) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("{0:?} is not a URL: write it as https://rendezvous.example.com")]
    NotAUrl(String),
    #[error("{0:?} has no host")]
    NoHost(String),
    #[error(
        "{0:?} uses plain http to a non-loopback host: use https:// (TLS is required for anything leaving the unit)"
    )]
    PlainHttp(String),
    #[error("{scheme:?} is not a supported scheme: use https://")]
    Scheme { url: String, scheme: String },
    #[error(
        "{0:?} has a user name or password before its host (`user@host`): remove it; \
         the unit sends no credentials in URLs"
    )]
    UserInfo(String),
}

/// The WebSocket URL of rendezvous's device endpoint for a base URL, or why it is refused.
/// `https` becomes `wss`; plain `http` is allowed only for a loopback host.
pub fn rendezvous_ws_url(base: &str) -> Result<String, UrlError> {
    let (scheme, rest) = base
        .split_once("://")
        .ok_or_else(|| UrlError::NotAUrl(base.to_owned()))?;
    // The authority ends at the first `/`, `?` or `#`; userinfo (`a@host`) would make the
    // host look like what comes before the `@`.
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host_port.contains('@') {
        return Err(UrlError::UserInfo(base.to_owned()));
    }
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.rsplit_once(':').map_or(host_port, |(h, _)| h)
    };
    if host.is_empty() {
        return Err(UrlError::NoHost(base.to_owned()));
    }
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let ws_scheme = match scheme {
        "https" => "wss",
        "http" if loopback => "ws",
        "http" => return Err(UrlError::PlainHttp(base.to_owned())),
        other => {
            return Err(UrlError::Scheme {
                url: base.to_owned(),
                scheme: other.to_owned(),
            });
        }
    };
    Ok(format!(
        "{ws_scheme}://{}/ws/device",
        rest.trim_end_matches('/')
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
device_id = "unit-1"
[rendezvous]
url = "http://127.0.0.1:8443"
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("applianced.toml"), text)
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.mode, Mode::FittingRoom);
        assert_eq!(
            (c.video.width, c.video.height, c.video.fps),
            (1280, 720, 30)
        );
        assert!(!c.session.auto_admit);
    }

    /// Configs written before mode and orientation were shared types read the same.
    #[test]
    fn mode_and_orientation_read_as_before() {
        let c = parse(&format!("mode = \"table\"\n{MINIMAL}")).unwrap();
        assert_eq!(
            (c.mode, c.orientation()),
            (Mode::Table, Orientation::Landscape)
        );
        let c = parse(&format!(
            "mode = \"fitting-room\"\norientation = \"portrait-flipped\"\n{MINIMAL}"
        ))
        .unwrap();
        assert_eq!(
            (c.mode, c.orientation()),
            (Mode::FittingRoom, Orientation::PortraitFlipped)
        );
        let err = parse(&format!("mode = \"kitchen\"\n{MINIMAL}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("kitchen") && err.contains("table"), "{err}");
    }

    /// At a table guests see each other unless told not to; in a fitting room the room's
    /// picture stays the point unless IT turns it on.
    #[test]
    fn guests_see_each_other_by_mode_unless_set() {
        let table = |extra: &str| {
            parse(&format!("mode = \"table\"\n{MINIMAL}\n[video]\n{extra}"))
                .unwrap()
                .guests_see_each_other()
        };
        let room = |extra: &str| {
            parse(&format!("{MINIMAL}\n[video]\n{extra}"))
                .unwrap()
                .guests_see_each_other()
        };
        assert!(table(""));
        assert!(!room(""));
        assert!(!table("guests_see_each_other = false"));
        assert!(room("guests_see_each_other = true"));
        let err = parse(&format!(
            "{MINIMAL}\n[video]\nguests_see_each_other = \"yes\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("guests_see_each_other"), "{err}");
    }

    #[test]
    fn the_video_floor_is_lower_where_guests_see_each_other_unless_set() {
        let floor = |text: &str| parse(text).unwrap().min_video_kbps();
        assert_eq!(floor(MINIMAL), FLOOR_KBPS);
        assert_eq!(
            floor(&format!("mode = \"table\"\n{MINIMAL}")),
            FLOOR_KBPS_FORWARDING
        );
        assert_eq!(
            floor(&format!(
                "{MINIMAL}\n[video]\nguests_see_each_other = true\n"
            )),
            FLOOR_KBPS_FORWARDING
        );
        assert_eq!(
            floor(&format!(
                "mode = \"table\"\n{MINIMAL}\n[video]\nguests_see_each_other = false\n"
            )),
            FLOOR_KBPS
        );
        assert_eq!(
            floor(&format!(
                "mode = \"table\"\n{MINIMAL}\n[video]\nmin_bitrate_kbps = 800\n"
            )),
            800
        );
        // Never above the ceiling.
        assert_eq!(
            floor(&format!(
                "mode = \"table\"\n{MINIMAL}\n[video]\nbitrate_kbps = 400\n"
            )),
            400
        );
    }

    #[test]
    fn small_layer_keeps_the_aspect_ratio_and_never_grows() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.video.small_size(), (640, 360, 30));
        let c = parse(&format!(
            "{MINIMAL}\n[video]\nwidth = 640\nheight = 480\nfps = 10\nsmall_height = 240\n"
        ))
        .unwrap();
        assert_eq!(c.video.small_size(), (320, 240, 10));
        let c = parse(&format!(
            "{MINIMAL}\n[video]\nwidth = 320\nheight = 180\nsmall_fps = 15\n"
        ))
        .unwrap();
        assert_eq!(c.video.small_size(), (320, 180, 15));
        let c = parse(&format!("{MINIMAL}\n[video]\nbitrate_kbps = 300\n")).unwrap();
        assert_eq!((c.min_video_kbps(), c.video.small_kbps()), (300, 300));
        let err = parse(&format!("{MINIMAL}\n[video]\nmin_bitrate_kbps = 50\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("video.min_bitrate_kbps"), "{err}");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse(&format!("{MINIMAL}\n[video]\nwidht = 640\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("widht"), "{err}");
    }

    #[test]
    fn bad_value_names_key_and_form() {
        let err = parse(&format!("{MINIMAL}\n[video]\nwidth = 641\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("video.width") && err.contains("even number"),
            "{err}"
        );
        let err = parse(&format!("{MINIMAL}\n[video]\nsource = \"webcam\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("webcam") && err.contains("v4l2"), "{err}");
        let err = parse(&format!("{MINIMAL}\n[video]\nsmall_tiles_from = 17\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("video.small_tiles_from") && err.contains("0 (never) to 16"),
            "{err}"
        );
        let c = parse(&format!("{MINIMAL}\n[video]\nsmall_tiles_from = 0\n")).unwrap();
        assert_eq!(c.video.small_tiles_from, 0);
        assert_eq!(
            parse(MINIMAL).unwrap().video.small_tiles_from,
            SMALL_TILES_FROM
        );
    }

    #[test]
    fn a_table_whose_uplink_cannot_show_everyone_to_everyone_says_what_to_raise() {
        let table = |extra: &str| parse(&format!("mode = \"table\"{MINIMAL}{extra}")).unwrap();
        // The figure an advice says to raise the uplink to.
        let raise_to = |advice: &str| -> u32 {
            advice
                .split("raise it to ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|n| n.parse().ok())
                .expect("a figure")
        };
        // The defaults: eight guests at the table's floor (500 kbit/s), three of them
        // heard by the seven others, leave about 3,190 kbit/s of the 9,600 planned of 10
        // Mbit/s for the 56 pictures: each at 45 kbit/s and 15 frames a second, not 150
        // at 30.
        let c = table("");
        assert!(c.guests_see_each_other());
        assert_eq!(c.min_video_kbps(), FLOOR_KBPS_FORWARDING);
        assert_eq!(c.forwarded_voices_bps(), 3 * 7 * 60_000);
        let advice = c
            .forwarding_advice()
            .expect("eight guests cannot all see each other at the usual rate");
        assert!(
            advice.contains("each guest sees the 7 others' pictures at 45 kbit/s and 15 frames")
                && advice.contains("(usually 150 at 30)")
                && advice.contains("(up to 1260 kbit/s)")
                && advice.contains("`uplink.max_kbps` = 10000"),
            "{advice}"
        );
        // At the usual rate from 22.46 Mbit/s: 56 pictures and 21 voices are at most half
        // the plan (the figure `soak group` gives its table of eight).
        assert_eq!(raise_to(&advice), 22_459, "{advice}");
        assert_eq!(
            table("\n[uplink]\nmax_kbps = 22459\n").forwarding_advice(),
            None
        );
        // Guests who do not hear each other leave the pictures more.
        let deaf = table("\n[audio]\nguests_hear_each_other = false\n");
        assert_eq!(deaf.forwarded_voices_bps(), 0);
        let advice = deaf.forwarding_advice().expect("still lowered");
        assert!(
            advice.contains("the 7 others' pictures at 65 kbit/s and 15 frames")
                && !advice.contains("voices"),
            "{advice}"
        );
        // At the floor of a unit whose guests do not see each other, nobody would.
        let advice = table("\n[video]\nmin_bitrate_kbps = 1000\n")
            .forwarding_advice()
            .expect("a 1 Mbit/s floor");
        assert!(
            advice.contains("each guest sees 0 of the 7 others' pictures at 45 kbit/s"),
            "{advice}"
        );
        // What it says to raise the uplink to is enough for everyone to see everyone.
        let needed = raise_to(&advice);
        let with = |kbps: u32| {
            table(&format!(
                "\n[video]\nmin_bitrate_kbps = 1000\n[uplink]\nmax_kbps = {kbps}\n"
            ))
            .forwarding_advice()
            .unwrap_or_default()
        };
        assert!(
            with(needed).contains("sees the 7 others'"),
            "{}",
            with(needed)
        );
        assert!(with(needed - 100).contains("of the 7 others'"));
        // Four guests fit on the default uplink; a fitting room forwards nothing.
        assert_eq!(
            table("\n[session]\nmax_guests = 4\n").forwarding_advice(),
            None
        );
        assert_eq!(parse(MINIMAL).unwrap().forwarding_advice(), None);
    }

    #[test]
    fn an_uplink_too_thin_for_a_full_call_is_refused_with_what_it_needs() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.uplink.max_kbps, 10_000);
        // 8 guests at 1000 kbit/s (the default floor) and 64 kbit/s of voice each.
        let floor = crate::congestion::uplink_kbps_for(c.uplink_floor_bps());
        assert!((5_000..10_000).contains(&floor), "{floor}");
        let err = parse(&format!("{MINIMAL}\n[uplink]\nmax_kbps = {}\n", floor - 1))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("uplink.max_kbps")
                && err.contains(&format!("from {floor}"))
                && err.contains("session.max_guests"),
            "{err}"
        );
        let c = parse(&format!("{MINIMAL}\n[uplink]\nmax_kbps = {floor}\n")).unwrap();
        assert_eq!(u64::from(c.uplink.max_kbps), floor);
        // Fewer guests need less.
        let c = parse(&format!(
            "{MINIMAL}\n[uplink]\nmax_kbps = 3000\n[session]\nmax_guests = 2\n"
        ))
        .unwrap();
        assert_eq!(c.uplink.max_kbps, 3000);
    }

    #[test]
    fn plain_http_only_on_loopback() {
        assert_eq!(
            rendezvous_ws_url("http://127.0.0.1:8443").unwrap(),
            "ws://127.0.0.1:8443/ws/device"
        );
        assert_eq!(
            rendezvous_ws_url("https://rv.example.com/").unwrap(),
            "wss://rv.example.com/ws/device"
        );
        assert_eq!(
            rendezvous_ws_url("http://[::1]:80").unwrap(),
            "ws://[::1]:80/ws/device"
        );
        let err = rendezvous_ws_url("http://rv.example.com").unwrap_err();
        assert_eq!(err, UrlError::PlainHttp("http://rv.example.com".into()));
        assert!(err.to_string().contains("https"), "{err}");
        assert!(matches!(
            rendezvous_ws_url("ftp://x"),
            Err(UrlError::Scheme { scheme, .. }) if scheme == "ftp"
        ));
        // A loopback address as userinfo must not make another host count as loopback.
        for sneaky in [
            "http://127.0.0.1:1@rv.example.com",
            "http://127.0.0.1@rv.example.com/x",
            "https://user:pass@rv.example.com",
        ] {
            assert!(
                matches!(rendezvous_ws_url(sneaky), Err(UrlError::UserInfo(_))),
                "{sneaky}"
            );
        }
        assert!(matches!(
            rendezvous_ws_url("http://rv.example.com?127.0.0.1"),
            Err(UrlError::PlainHttp(_))
        ));
        let err = parse(&MINIMAL.replace("http://127.0.0.1:8443", "http://10.0.0.5"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("rendezvous.url"), "{err}");
    }

    #[test]
    fn metrics_must_stay_on_loopback() {
        let err = parse(&format!(
            "{MINIMAL}\n[metrics]\nlisten = \"0.0.0.0:9464\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("metrics.listen"), "{err}");
    }

    #[test]
    fn the_seed_s_turn_secret_is_read_at_start_up_or_named_when_it_cannot_be() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("turn-secret");
        let text = format!(
            "{MINIMAL}[turn]\nurls = [\"turns:turn.example.com:443?transport=tcp\"]\nsecret_file = {:?}\n",
            secret.display().to_string()
        );
        let c = parse(&text).unwrap();
        let e = c
            .turn_minter(Path::new("applianced.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`turn.secret_file`") && e.contains("cannot read"),
            "{e}"
        );
        std::fs::write(&secret, "seed-secret-0123456789\n").unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        let minter = c
            .turn_minter(Path::new("applianced.toml"))
            .unwrap()
            .unwrap();
        let servers = minter.ice_servers("unit:unit-1", 10);
        assert_eq!(servers[0].username.as_deref(), Some("3610:unit:unit-1"));

        let e = parse(&format!("{MINIMAL}[turn]\nurls = [\"turn:h:3478\"]\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`turn.secret_file`: missing"), "{e}");
        assert!(
            parse(MINIMAL)
                .unwrap()
                .turn_minter(Path::new("a"))
                .unwrap()
                .is_none()
        );
    }
}
