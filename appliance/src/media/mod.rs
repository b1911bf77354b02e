//! Capture and encode, once, for every guest.
//!
//! One video pipeline (camera or test source → H.264 encoder → appsink) and one audio
//! pipeline for the room ([`audio`]): the guests' voices mixed for the speaker
//! ([`room`]), and the mic (or a test tone) through the echo canceller, noise suppressor
//! and gain control → Opus → appsink. Encoded frames are published on broadcast
//! channels; each guest's sender task subscribes and packetizes for its own peer
//! connection. A new guest costs a subscription and a keyframe request, never an encoder.
//!
//! The video pipeline has two layers ([`layers`]): the main encoding, and a small one
//! (fewer pixels, fewer frames a second) that idles until a guest whose network carries
//! far less than the others' needs it. Each layer is one encoder, whatever the number of
//! guests on it. The guests' bandwidth estimates set each encoder's bitrate at run time
//! ([`VideoControl`], driven by `crate::congestion`). Keyframe requests are coalesced per
//! layer, at most one forced keyframe a second ([`keyframes`]).
//! Guests' own media comes back the other way: decoded once ([`remote`]) for the screen's
//! tiles and the room's speaker, where every voice is in one mix ([`room`]); each guest
//! also hears the room and the other guests in a mix of their own ([`group`]).
//! The microphone is a source of its own in the room's pipeline ([`mic`]): one that is
//! missing or fails mid-call is stood in for by silence and tried again until it is back.
//! Every pipeline's bus is watched the same way ([`bus`]): errors are typed and name the
//! element; a warning is logged once, then counted, at most one line a minute per warning.

pub mod alsa;
pub mod audio;
pub mod bus;
mod clip;
#[cfg(test)]
mod cut_tests;
mod frame;
pub mod gate;
pub mod group;
pub mod keyframes;
pub mod layers;
pub mod mic;
mod pipeline;
mod preview;
pub mod remote;
pub mod room;
pub mod simroom;
mod snapshot;
pub mod sound_starts;
pub mod stamp;
mod v4l2;
mod video;
pub mod voice;

pub use frame::{EncodedFrame, rtp_duration};
use gate::Gate;
pub use keyframes::KeyframeRequester;
pub use layers::{LayerOutput, VideoControl, VideoLayers};
pub use snapshot::{SnapshotError, Snapshots};
pub use video::{PreviewBranch, select_encoder};

use crate::config::Config;
use crate::metrics::Metrics;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Why the media path could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("GStreamer could not start: {0}")]
    Init(String),
    #[error("no H.264 encoder available: {0}")]
    NoEncoder(String),
    #[error("cannot build the {what} pipeline `{description}`: {message}")]
    Build {
        what: &'static str,
        description: String,
        message: String,
    },
    #[error("the {what} pipeline failed in element `{element}`: {message}")]
    Element {
        what: &'static str,
        element: String,
        message: String,
    },
    #[error("{0}")]
    Mic(#[from] alsa::MicError),
    #[error("{0}")]
    Camera(#[from] visavis_hardware::camera::CameraError),
}

/// Drop (or pass) everything at a pipeline's `privacy` valve.
fn set_valve(running: &pipeline::Running, drop: bool) {
    use gstreamer::prelude::*;
    if let Some(v) = running.pipeline.by_name("privacy") {
        v.set_property("drop", drop);
    }
}

/// What the camera's cut acts on: the video pipeline's valve, each layer's gate, the
/// camera's streaming and the screen's preview.
struct VideoParts<'a> {
    running: &'a pipeline::Running,
    gates: &'a [Arc<Gate>],
    camera: Option<&'a visavis_hardware::camera::Capture>,
    preview: Option<&'a preview::Preview>,
}

impl VideoParts<'_> {
    /// Cut the camera for everyone: encoded frames withheld at once, the valve dropping new
    /// ones, the camera not streaming, the preview black.
    fn cut(&self) {
        for gate in self.gates {
            gate.close();
        }
        set_valve(self.running, true);
        if let Some(c) = self.camera {
            c.pause(true);
        }
        // The screen's preview too: no frozen last frame, no still of before.
        if let Some(p) = self.preview {
            p.cut(true);
        }
    }

    /// Let the camera through again, if it was cut (then the caller asks for keyframes).
    fn restore(&self) -> bool {
        if !self.gates.first().is_some_and(|g| g.is_closed()) {
            return false;
        }
        if let Some(p) = self.preview {
            p.cut(false);
        }
        if let Some(c) = self.camera {
            c.pause(false);
        }
        set_valve(self.running, false);
        for gate in self.gates {
            gate.open();
        }
        true
    }
}

/// The running media path.
pub struct MediaHub {
    video: pipeline::Running,
    audio: pipeline::Running,
    layers: VideoLayers,
    control: VideoControl,
    audio_tx: broadcast::Sender<Arc<EncodedFrame>>,
    metrics: Arc<Metrics>,
    /// One per layer: each must reopen at its own keyframe.
    video_gates: [Arc<Gate>; 2],
    audio_gate: Arc<Gate>,
    camera: Option<visavis_hardware::camera::Capture>,
    preview: Option<preview::Preview>,
    guests: remote::GuestMedia,
    /// Keeps the microphone in the room's pipeline through failures.
    mic: mic::Supervisor,
}

impl MediaHub {
    /// Build and start both pipelines. Fails with the element or device at fault.
    /// What guests' decoders see (tiles, voices) goes to `guest_events`; the microphone's
    /// problems (missing, failed, back) to `mic_problems`.
    pub fn start(
        config: &Config,
        metrics: Arc<Metrics>,
        guest_events: tokio::sync::mpsc::UnboundedSender<remote::GuestMediaEvent>,
        mic_problems: tokio::sync::mpsc::UnboundedSender<mic::MicProblem>,
    ) -> Result<Self, MediaError> {
        gstreamer::init().map_err(|e| MediaError::Init(e.to_string()))?;
        let (audio_tx, _) = broadcast::channel(64);
        let (width, height) = config.preview_size();
        let preview = PreviewBranch {
            socket: config.api.preview_socket(),
            width,
            height,
        };
        let video_gates = [Arc::new(Gate::default()), Arc::new(Gate::default())];
        let audio_gate = Arc::new(Gate::default());
        let video = video::start(
            &config.video,
            Some(&preview),
            metrics.clone(),
            video::LayerChannels {
                main: (broadcast::channel(64).0, video_gates[0].clone()),
                small: (broadcast::channel(64).0, video_gates[1].clone()),
            },
        )?;
        let simulated = config.audio.source == crate::config::AudioSource::SimulatedRoom;
        let speaker = if simulated {
            room::Speaker::Tap
        } else {
            room::Speaker::from_config(&config.audio.speaker)
        };
        // A channel setting beyond the card's channels is a config error; a card or device
        // that is not there is a problem the room lives with until it comes back.
        let asound = std::path::Path::new("/proc/asound");
        match audio::Mic::from_config(&config.audio, asound) {
            Ok(_) | Err(alsa::MicError::NoCard { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let audio_config = config.audio.clone();
        let resolve = move || {
            audio::Mic::from_config(&audio_config, std::path::Path::new("/proc/asound"))
                .map_err(|e| e.to_string())
        };
        let (audio, room_audio, mic) = audio::start(
            &config.audio,
            resolve,
            &speaker,
            metrics.clone(),
            audio_tx.clone(),
            audio_gate.clone(),
            mic_problems,
        )?;
        if simulated {
            simroom::echo_live(
                &room_audio,
                simroom::EchoPath::room(10.0, 0.3, 24, 3),
                metrics.clone(),
            )?;
        }
        let tiles = config
            .api
            .socket
            .parent()
            .map_or_else(std::env::temp_dir, std::path::Path::to_path_buf);
        // Guests hear each other through a mix of their own each, or the room alone.
        let group = if config.audio.guests_hear_each_other {
            Some(group::GroupAudio::new(
                room_audio.pipeline(),
                config.audio.bitrate_kbps,
                audio_gate.clone(),
                metrics.clone(),
            )?)
        } else {
            None
        };
        let guests =
            remote::GuestMedia::new(tiles, room_audio, group, metrics.clone(), guest_events);
        Ok(MediaHub {
            video: video.running,
            audio,
            layers: video.layers,
            control: video.control,
            audio_tx,
            metrics,
            video_gates,
            audio_gate,
            camera: video.camera,
            preview: video.preview,
            guests,
            mic,
        })
    }

    /// Turn what guests get on or off. Video off: every encoded video frame is withheld at
    /// once, the source's valve drops new frames, the camera stops streaming and the
    /// screen's preview goes black (no frozen last frame, no still of before). Audio off:
    /// the same for the microphone. Video back on: the source runs again and guests get
    /// video from a fresh keyframe. The privacy switch and the screen's pause and mute
    /// buttons all come here (see `unit::Room`).
    pub fn set_outputs(&self, video: bool, audio: bool) {
        let parts = VideoParts {
            running: &self.video,
            gates: &self.video_gates,
            camera: self.camera.as_ref(),
            preview: self.preview.as_ref(),
        };
        if !video {
            parts.cut();
        }
        if !audio {
            self.audio_gate.close();
            set_valve(&self.audio, true);
        } else {
            set_valve(&self.audio, false);
            self.audio_gate.open();
        }
        if video && parts.restore() {
            self.layers.main.keyframes.request();
            // An idle small layer starts from a keyframe anyway when a guest needs it.
            if self
                .metrics
                .small_layer
                .active
                .load(std::sync::atomic::Ordering::Relaxed)
            {
                self.layers.small.keyframes.request();
            }
        }
    }

    /// Record the privacy switch, flipped at `at_unix_us`, in the metrics (what it does to
    /// media is [`MediaHub::set_outputs`]).
    pub fn note_privacy(&self, on: bool, at_unix_us: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.metrics.privacy.store(on, Relaxed);
        self.metrics
            .privacy_switched_unix_us
            .store(at_unix_us, Relaxed);
    }

    /// Stills of the camera for saved looks (none without a local preview).
    pub fn snapshots(&self) -> Option<Snapshots> {
        self.preview.as_ref().map(|p| p.snapshots.clone())
    }

    /// What keeps the microphone going (tests pull the test microphone through it).
    pub fn mic(&self) -> mic::Supervisor {
        self.mic.clone()
    }

    /// Guests' video and voices, decoded for the screen's tiles and the speaker.
    pub fn guest_media(&self) -> remote::GuestMedia {
        self.guests.clone()
    }

    /// Every video layer's encoded frames and keyframe requests (to subscribe per guest).
    pub fn video_layers(&self) -> VideoLayers {
        self.layers.clone()
    }

    /// The knobs of the video encoders (bitrates, the small layer on or off).
    pub fn video_control(&self) -> VideoControl {
        self.control.clone()
    }

    pub fn audio_sender(&self) -> broadcast::Sender<Arc<EncodedFrame>> {
        self.audio_tx.clone()
    }

    /// The first fatal error from either pipeline, when it happens.
    pub async fn failed(&mut self) -> MediaError {
        tokio::select! {
            e = self.video.failed() => e,
            e = self.audio.failed() => e,
        }
    }
}
