//! Guests' media, decoded once on the unit: each guest's video becomes the frames of their
//! tile on the screen (RGBA over shared memory, like the preview, never through the JSON
//! socket); each guest's voice joins the room's mix ([`super::room`]), played on the speaker
//! at the room's volume, and its loudness lights the tile's speaking indicator.
//!
//! This module keeps no state about guests: it reports what it sees as
//! [`GuestMediaEvent`]s (a tile ready or gone, a voice heard) and the unit's state
//! decides what the room shows.
//!
//! One small pipeline per picture: `appsrc` (the RTP packets webrtc-rs received) →
//! `rtpjitterbuffer` → `decodebin` (the depayloader and decoder of whatever codec was
//! negotiated) → scaled down when larger than the tile (`fit`), converted to RGBA, then
//! letterboxed (and scaled up when smaller) into the tile → `shmsink`. An Opus voice (what
//! browsers send) is decoded with no pipeline, in the task that received its packets
//! ([`super::voice`]); a voice in another codec has a pipeline as a picture has, ending in
//! an `appsink`. Either way the decoded voice goes to the speaking meter, the speaker (added
//! to the room's mix, [`super::room::LiveVoice`]) and the other guests' own mixes ([`Heard`]).
//! A decoder that fails only costs that guest's tile or voice: the call goes on.

use super::MediaError;
use super::group::{GroupAudio, OwnMix};
use super::room::RoomAudio;
use super::voice::{Heard, OpusVoice};
use crate::forward::Voices;
use crate::metrics::{Metrics, lock};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use rtc::shared::marshal::Marshal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use visavis_api::local::{Preview, VoicePackets};
use visavis_api::signaling::GuestId;

/// Tile frames: 4:3 RGBA, letterboxed (phones send portrait, laptops landscape).
pub const TILE_WIDTH: u32 = 480;
pub const TILE_HEIGHT: u32 = 360;
// A guest's page asks its camera for no less than the tile shows.
const _: () = assert!(
    visavis_api::datachannel::CAMERA_SIZE.0 >= TILE_WIDTH
        && visavis_api::datachannel::CAMERA_SIZE.1 >= TILE_HEIGHT
);
/// How large a guest's tile frames are, chosen as their decoder starts: no larger than the
/// screen draws them, so the unit neither scales a picture up nor converts and shares
/// pixels the screen throws away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileSize {
    /// [`TILE_WIDTH`] x [`TILE_HEIGHT`]: the screen draws few guests, large.
    Large,
    /// The small camera layer's own size (320x240): the screen's tiles are
    /// [`visavis_api::datachannel::SMALL_TILE_WIDTH`] wide or narrower (many guests), where
    /// the unit decodes that layer (or, while it does not flow, scales the full one down
    /// to it). The small layer's pictures are not scaled on the unit, and a frame is a
    /// little under half the bytes of a large one to convert, share and draw
    /// (`gst-launch-1.0 … avdec_h264 ! … ! fakesink`, 900 pictures of 320x240: 0.52 s
    /// of CPU to 320x240 RGBA against 0.89 s to 480x360, 0.40 s decoding alone).
    Small,
}

impl TileSize {
    /// The tile size for a screen whose tiles are small or not.
    pub fn for_screen(small_tiles: bool) -> TileSize {
        if small_tiles {
            TileSize::Small
        } else {
            TileSize::Large
        }
    }

    /// Width and height, pixels.
    pub fn pixels(self) -> (u32, u32) {
        use visavis_api::datachannel::{CAMERA_SIZE, SMALL_LAYER_SCALE};
        match self {
            TileSize::Large => (TILE_WIDTH, TILE_HEIGHT),
            TileSize::Small => (
                CAMERA_SIZE.0 / SMALL_LAYER_SCALE,
                CAMERA_SIZE.1 / SMALL_LAYER_SCALE,
            ),
        }
    }
}

/// At most this many tile frames a second: enough for a face, easy on the Pi.
pub const TILE_FPS: u32 = 15;
/// A 10–20 ms stretch of a guest's voice louder than this (RMS, dB full scale) counts as
/// speaking. Room noise on a phone sits well below; speech is around -30 to -15.
pub(super) const SPEAKING_DBFS: f64 = -50.0;
/// While a guest speaks, [`GuestMediaEvent::VoiceHeard`] comes at most this often: well
/// inside the unit's speaking hold, so the indicator stays lit between reports.
pub const VOICE_REPORT_GAP: Duration = Duration::from_millis(200);

/// The names of a guest's decoders' `appsrc` (the packets' way in) and jitter buffers
/// (`tilejb`, and `voicejb` for a voice not in Opus), also the names of their threads
/// (`tilein:src`, `tilejb:src`...): `soak group` reports the unit's CPU by thread name.
const TILE_IN: &str = "tilein";
const VOICE_IN: &str = "voicein";

/// What the guests' decoders report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestMediaEvent {
    /// The guest's video is decoded into this tile.
    TileReady { guest_id: GuestId, tile: Preview },
    /// That tile's decoder stopped.
    TileGone { guest_id: GuestId, tile: Preview },
    /// The guest's voice was loud enough to count as speaking, just now.
    VoiceHeard { guest_id: GuestId },
}

/// What a remote track carries, from its negotiated codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCodec {
    pub video: bool,
    /// RTP encoding name, as GStreamer's RTP caps spell it (`VP8`, `H264`, `OPUS`).
    pub encoding: String,
    pub clock_rate: u32,
    pub payload_type: u8,
}

impl RemoteCodec {
    /// From a MIME type as webrtc-rs reports it (`video/VP8`, `audio/opus`).
    pub fn from_mime(mime: &str, clock_rate: u32, payload_type: u8) -> Option<RemoteCodec> {
        let (kind, name) = mime.split_once('/')?;
        let video = match kind.to_ascii_lowercase().as_str() {
            "video" => true,
            "audio" => false,
            _ => return None,
        };
        let encoding = name.to_ascii_uppercase();
        let known = ["VP8", "VP9", "H264", "AV1", "OPUS", "PCMU", "PCMA", "G722"];
        known.contains(&encoding.as_str()).then_some(RemoteCodec {
            video,
            encoding,
            clock_rate,
            payload_type,
        })
    }

    fn caps(&self) -> String {
        format!(
            "application/x-rtp,media={},clock-rate={},encoding-name={},payload={}",
            if self.video { "video" } else { "audio" },
            self.clock_rate,
            self.encoding,
            self.payload_type
        )
    }
}

/// Loudness of signed 16-bit little-endian samples, in dB full scale (-inf for silence).
pub fn rms_dbfs(samples: &[u8]) -> f64 {
    let n = samples.len() / 2;
    if n == 0 {
        return f64::NEG_INFINITY;
    }
    let sum: f64 = samples
        .chunks_exact(2)
        .map(|b| {
            let s = f64::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0;
            s * s
        })
        .sum();
    10.0 * (sum / n as f64).log10()
}

struct Inner {
    /// Folder of the tiles' shared-memory sockets (beside the local API's socket).
    dir: PathBuf,
    /// The room's mix, where every voice goes.
    room: RoomAudio,
    /// The guests' own mixes, where every voice goes too (none: guests hear the room only).
    group: Option<GroupAudio>,
    /// The guests' voices forwarded unmixed to the pages that play them (with `group`).
    voices: Option<Voices>,
    next_tile: AtomicU64,
    /// Where the voices' sound starts are noted.
    metrics: Arc<Metrics>,
    events: mpsc::UnboundedSender<GuestMediaEvent>,
}

/// Every guest's decoded media. Cheap to clone; shared by the peers and the daemon.
#[derive(Clone)]
pub struct GuestMedia {
    inner: Arc<Inner>,
}

impl GuestMedia {
    /// Tiles' sockets go in `dir`; voices join `room`'s mix, and the other guests' own
    /// mixes in `group`; when a voice's sound starts goes to `metrics`, what the decoders
    /// see to `events`.
    pub fn new(
        dir: PathBuf,
        room: RoomAudio,
        group: Option<GroupAudio>,
        metrics: Arc<Metrics>,
        events: mpsc::UnboundedSender<GuestMediaEvent>,
    ) -> GuestMedia {
        let voices = group
            .clone()
            .map(|g| Voices::new(metrics.clone(), Arc::new(g)));
        GuestMedia {
            inner: Arc::new(Inner {
                dir,
                room,
                group,
                voices,
                next_tile: AtomicU64::new(1),
                metrics,
                events,
            }),
        }
    }

    /// Play the knock's chime in the room (through the one speaker mix).
    pub fn chime(&self) {
        self.inner.room.chime();
    }

    /// Change the loudness of every guest's voice (the mix), 0 to 100: the unit's state
    /// checks the value.
    pub fn set_volume(&self, percent: u8) {
        self.inner.room.set_volume(percent);
    }

    /// A mix of `guest`'s own (the room and every other guest), when guests hear each
    /// other; `None`: they hear the room's stream, shared by all.
    pub fn own_mix(&self, guest: &GuestId) -> Option<Result<OwnMix, MediaError>> {
        self.inner.group.as_ref().map(|g| g.listen(guest))
    }

    /// Where the guests' voices are forwarded unmixed to the others, when guests hear each
    /// other.
    pub fn voices(&self) -> Option<&Voices> {
        self.inner.voices.as_ref()
    }

    fn report(&self, event: GuestMediaEvent) {
        let _ = self.inner.events.send(event);
    }

    /// Start decoding one of `guest_id`'s tracks; feed it with [`Decoder::push`]. A video
    /// track's tile frames are `size` (a voice has none).
    pub fn decoder(
        &self,
        guest_id: &GuestId,
        codec: &RemoteCodec,
        size: TileSize,
    ) -> Result<Decoder, MediaError> {
        if !codec.video && codec.encoding == "OPUS" {
            return self.opus_decoder(guest_id);
        }
        let (tile_width, tile_height) = size.pixels();
        let (description, tile) = if codec.video {
            let n = self.inner.next_tile.fetch_add(1, Ordering::Relaxed);
            let socket = self.inner.dir.join(format!("tile-{n}"));
            let frame = u64::from(tile_width) * u64::from(tile_height) * 4;
            let description = format!(
                "appsrc name={TILE_IN} is-live=true format=time do-timestamp=true max-bytes=4000000 caps=\"{}\" \
                 ! rtpjitterbuffer name=tilejb latency=150 drop-on-latency=true \
                 ! decodebin ! identity name=pace \
                 ! videoscale ! capsfilter name=fit ! videoconvert ! videoscale add-borders=true \
                 ! video/x-raw,format=RGBA,width={tile_width},height={tile_height},pixel-aspect-ratio=1/1 \
                 ! shmsink name=tileout socket-path=\"{}\" wait-for-connection=false sync=false shm-size={}",
                codec.caps(),
                socket.display().to_string().replace('"', ""),
                frame * 6
            );
            let tile = Preview {
                socket: socket.display().to_string(),
                width: tile_width,
                height: tile_height,
                fps: TILE_FPS,
            };
            (description, Some(tile))
        } else {
            let description = format!(
                "appsrc name={VOICE_IN} is-live=true format=time do-timestamp=true max-bytes=400000 caps=\"{}\" \
                 ! rtpjitterbuffer name=voicejb latency=100 drop-on-latency=true \
                 ! decodebin ! audioconvert ! audioresample \
                 ! {} ! appsink name=voice sync=false max-buffers=50 drop=true",
                codec.caps(),
                super::room::CAPS,
            );
            (description, None)
        };
        let build_err = |message: String| MediaError::Build {
            what: "guest media",
            description: description.clone(),
            message,
        };
        let pipeline = gst::parse::launch(&description)
            .map_err(|e| build_err(e.to_string()))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| build_err("not a pipeline".into()))?;
        let src = pipeline
            .by_name(if codec.video { TILE_IN } else { VOICE_IN })
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
            .ok_or_else(|| build_err("no appsrc".into()))?;
        let mut voice = None;
        if let Some(tile) = &tile {
            let _ = std::fs::remove_file(&tile.socket);
            pace(&pipeline);
            fit(&pipeline, size);
        } else {
            voice = Some(into_mix(&pipeline, self.heard(guest_id)?));
        }
        // The watch holds the bus only: the pipeline goes with the decoder, even before an
        // aborted watch task is dropped.
        let bus = pipeline
            .bus()
            .ok_or_else(|| build_err("a pipeline without a bus".into()))?;
        let watch = tokio::spawn(watch_bus(bus, guest_id.clone()));
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| build_err(format!("cannot start: {e}")))?;
        // Only a video track has a tile; a voice starting after it must not take it away.
        if let Some(tile) = &tile {
            self.report(GuestMediaEvent::TileReady {
                guest_id: guest_id.clone(),
                tile: tile.clone(),
            });
        }
        tracing::info!(guest = %guest_id, codec = %codec.encoding, "decoding guest track");
        Ok(Decoder {
            path: Path::Pipeline {
                pipeline,
                src,
                watch,
                _voice: voice,
            },
            guest_id: guest_id.clone(),
            media: self.clone(),
            tile,
            size: codec.video.then_some(size),
        })
    }

    /// A guest's Opus voice, decoded as its packets come ([`OpusVoice`]).
    fn opus_decoder(&self, guest_id: &GuestId) -> Result<Decoder, MediaError> {
        let mut heard = self.heard(guest_id)?;
        let voice = OpusVoice::new(Box::new(move |bytes: &[u8]| heard.samples(bytes)) as _)
            .map_err(|e| MediaError::Build {
                what: "guest media",
                description: "libopus decoder, mono, 48 kHz".into(),
                message: e.to_string(),
            })?;
        tracing::info!(guest = %guest_id, codec = "OPUS", "decoding guest track");
        Ok(Decoder {
            path: Path::Opus(Box::new(voice)),
            guest_id: guest_id.clone(),
            media: self.clone(),
            tile: None,
            size: None,
        })
    }

    /// Where `guest_id`'s decoded voice goes: the speaker (the room's mix), the other
    /// guests' mixes, the speaking indicator.
    fn heard(&self, guest_id: &GuestId) -> Result<Heard, MediaError> {
        let room = self.inner.room.live_voice();
        let others = self.inner.group.as_ref().map(|g| g.voice(guest_id));
        Ok(Heard::new(
            guest_id.clone(),
            self.inner.events.clone(),
            self.inner.metrics.clone(),
            room,
            others,
        ))
    }
}

/// Every decoded stretch of the voice goes to `heard`, until the returned handle (which
/// keeps it) is dropped.
fn into_mix(pipeline: &gst::Pipeline, heard: Heard) -> Arc<Mutex<Heard>> {
    let heard = Arc::new(Mutex::new(heard));
    if let Some(sink) = pipeline
        .by_name("voice")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
    {
        let weak = Arc::downgrade(&heard);
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if let (Some(heard), Some(buffer)) = (weak.upgrade(), sample.buffer())
                        && let Ok(map) = buffer.map_readable()
                    {
                        lock(&heard).samples(map.as_slice());
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
    }
    heard
}

/// A voice heard at `now` is reported when none was in the last [`VOICE_REPORT_GAP`].
pub(super) fn due(last: Option<Instant>, now: Instant) -> bool {
    last.is_none_or(|last| now.saturating_duration_since(last) >= VOICE_REPORT_GAP)
}

/// A picture larger than the tile is scaled down first, as decoded (YUV), to the size it
/// takes in the tile, and only then converted to RGBA: for 30 s of a phone's full layer
/// (1280x720) the tile's conversion took 0.80–0.89 s of CPU converted first, 0.24–0.39 s
/// scaled first (see docs/benchmarks.md). A picture that fits is converted at its own size and
/// only then scaled up, the cheaper order that way. The size is set on the `fit` caps filter from each picture
/// size the decoder announces (a guest's browser changes it as its link allows).
fn fit(pipeline: &gst::Pipeline, size: TileSize) {
    let (Some(pad), Some(fit)) = (
        pipeline.by_name("pace").and_then(|e| e.static_pad("src")),
        pipeline.by_name("fit"),
    ) else {
        return;
    };
    pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        let Some(gst::EventView::Caps(caps)) = info.event().map(|e| e.view()) else {
            return gst::PadProbeReturn::Ok;
        };
        let Some(s) = caps.caps().structure(0) else {
            return gst::PadProbeReturn::Ok;
        };
        let (Ok(width), Ok(height)) = (s.get::<i32>("width"), s.get::<i32>("height")) else {
            return gst::PadProbeReturn::Ok;
        };
        let par = s
            .get::<gst::Fraction>("pixel-aspect-ratio")
            .unwrap_or_else(|_| gst::Fraction::new(1, 1));
        let (w, h) = fit_size(width, height, par.numer(), par.denom(), size);
        let fitted = gst::Caps::builder("video/x-raw")
            .field("width", w)
            .field("height", h)
            .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
            .build();
        fit.set_property("caps", &fitted);
        gst::PadProbeReturn::Ok
    });
}

/// The size, in square pixels, a `width` x `height` picture (pixels `par_n`/`par_d` wide)
/// takes in a tile of `size`: its own when it fits, else scaled down to fit, even sizes.
fn fit_size(width: i32, height: i32, par_n: i32, par_d: i32, size: TileSize) -> (i32, i32) {
    let (tile_width, tile_height) = size.pixels();
    let (width, height) = (f64::from(width.max(2)), f64::from(height.max(2)));
    let par = if par_n > 0 && par_d > 0 {
        f64::from(par_n) / f64::from(par_d)
    } else {
        1.0
    };
    let shown = width * par;
    let scale = (f64::from(tile_width) / shown)
        .min(f64::from(tile_height) / height)
        .min(1.0);
    let even = |v: f64| (((v / 2.0).round() as i32) * 2).max(2);
    (even(shown * scale), even(height * scale))
}

/// At most [`TILE_FPS`] frames a second go on to be scaled and shared; the rest are
/// dropped right after decoding. (`videorate` is not used: with the variable frame rate of
/// WebRTC video, GStreamer 1.22's asserts on a buffer without duration and aborts the
/// process.)
fn pace(pipeline: &gst::Pipeline) {
    let Some(pad) = pipeline.by_name("pace").and_then(|e| e.static_pad("src")) else {
        return;
    };
    let gap = gst::ClockTime::from_nseconds(1_000_000_000 / u64::from(TILE_FPS));
    let last = Mutex::new(None);
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let Some(pts) = info.buffer().and_then(|b| b.pts()) else {
            return gst::PadProbeReturn::Ok;
        };
        let mut last = lock(&last);
        if keep_frame(*last, pts, gap) {
            *last = Some(pts);
            gst::PadProbeReturn::Ok
        } else {
            gst::PadProbeReturn::Drop
        }
    });
}

/// A frame at `pts` is kept when it comes `gap` after the last one kept (or time went back,
/// as after a reset).
fn keep_frame(last: Option<gst::ClockTime>, pts: gst::ClockTime, gap: gst::ClockTime) -> bool {
    // A little slack so a steady 15 fps with jitter is not halved.
    let slack = gap / 10;
    last.is_none_or(|last| pts < last || pts >= last + gap - slack)
}

/// Log what the pipeline says (warnings rate-limited, [`super::bus`]); an error ends that
/// decoder only. It holds the bus alone, never the pipeline, so a leaving guest's elements
/// are freed at once.
async fn watch_bus(bus: gst::Bus, guest_id: GuestId) {
    if let super::bus::Ended::Error(e) =
        super::bus::watch("guest media", guest_id.to_string(), bus, || true, |_| false).await
    {
        tracing::warn!(guest = %guest_id, "{e}; this tile or voice stops");
    }
}

/// One remote track being decoded. Dropping it stops the decoding and takes the tile away.
pub struct Decoder {
    path: Path,
    guest_id: GuestId,
    media: GuestMedia,
    tile: Option<Preview>,
    /// A video track's tile size.
    size: Option<TileSize>,
}

/// How a track is decoded.
enum Path {
    /// Pictures, and voices in codecs other than Opus: a small pipeline of their own.
    Pipeline {
        pipeline: gst::Pipeline,
        src: gst_app::AppSrc,
        watch: tokio::task::JoinHandle<()>,
        /// A voice's way into the room's mix (and the other guests' own mixes), released
        /// after the pipeline stops.
        _voice: Option<Arc<Mutex<Heard>>>,
    },
    /// An Opus voice, decoded as its packets come.
    Opus(Box<OpusVoice>),
}

impl Decoder {
    /// One RTP packet, as it came off the wire (decrypted). A pipeline's full queue drops
    /// it: the jitter buffer and the decoder cope with a gap better than the call copes
    /// with a stall. An Opus voice's packets are counted into the unit's metrics, and what
    /// this one counted is returned for the guest's own (nothing for a pipeline's).
    pub fn push(&mut self, packet: &rtc::rtp::packet::Packet) -> VoicePackets {
        match &mut self.path {
            Path::Pipeline { src, .. } => {
                if let Ok(bytes) = packet.marshal() {
                    let _ = src.push_buffer(gst::Buffer::from_mut_slice(bytes.to_vec()));
                }
                VoicePackets::default()
            }
            Path::Opus(voice) => {
                let before = voice.counts();
                voice.packet(packet.header.sequence_number, &packet.payload);
                let counts = voice.counts().since(before);
                self.media.inner.metrics.voice_packets.add(counts);
                if before.bad == 0 && counts.bad > 0 {
                    tracing::warn!(
                        guest = %self.guest_id,
                        "a voice packet from the guest is not valid Opus; such packets are dropped, the voice goes on"
                    );
                }
                counts
            }
        }
    }

    /// How large a video track's tile frames are (`None`: a voice).
    pub fn tile_size(&self) -> Option<TileSize> {
        self.size
    }

    /// The decoder's pipeline (`None`: an Opus voice, decoded without one).
    #[cfg(test)]
    fn pipeline(&self) -> Option<&gst::Pipeline> {
        match &self.path {
            Path::Pipeline { pipeline, .. } => Some(pipeline),
            Path::Opus(_) => None,
        }
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        if let Path::Pipeline {
            pipeline, watch, ..
        } = &self.path
        {
            watch.abort();
            let _ = pipeline.set_state(gst::State::Null);
        }
        if let Some(tile) = self.tile.take() {
            let _ = std::fs::remove_file(&tile.socket);
            self.media.report(GuestMediaEvent::TileGone {
                guest_id: self.guest_id.clone(),
                tile,
            });
        }
    }
}

/// An RTP packet as webrtc-rs hands it over.
#[cfg(test)]
fn rtp_packet(bytes: &[u8]) -> rtc::rtp::packet::Packet {
    use rtc::shared::marshal::Unmarshal;
    rtc::rtp::packet::Packet::unmarshal(&mut &bytes[..]).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(values: impl IntoIterator<Item = i16>) -> Vec<u8> {
        values.into_iter().flat_map(i16::to_le_bytes).collect()
    }

    #[test]
    fn loudness_in_dbfs() {
        assert_eq!(rms_dbfs(&samples([0; 480])), f64::NEG_INFINITY);
        // Full-scale square wave: 0 dBFS.
        let full = rms_dbfs(&samples(
            (0..480).map(|i| if i % 2 == 0 { 32767 } else { -32768 }),
        ));
        assert!(full.abs() < 0.01, "{full}");
        // A tenth of full scale: -20 dBFS, speaking; a thousandth: -60, not.
        let tenth = rms_dbfs(&samples(
            (0..480).map(|i| if i % 2 == 0 { 3277 } else { -3277 }),
        ));
        assert!((tenth + 20.0).abs() < 0.01, "{tenth}");
        assert!(tenth > SPEAKING_DBFS);
        let faint = rms_dbfs(&samples(
            (0..480).map(|i| if i % 2 == 0 { 33 } else { -33 }),
        ));
        assert!(faint < SPEAKING_DBFS, "{faint}");
        assert_eq!(rms_dbfs(&[]), f64::NEG_INFINITY);
    }

    #[test]
    fn a_picture_is_scaled_down_to_the_tile_and_never_up() {
        // A phone's 720p full layer: 16:9 in the 4:3 tile, letterboxed later.
        assert_eq!(fit_size(1280, 720, 1, 1, TileSize::Large), (480, 270));
        // Portrait.
        assert_eq!(fit_size(720, 1280, 1, 1, TileSize::Large), (202, 360));
        // 4:3 larger than the tile: the tile's size.
        assert_eq!(fit_size(640, 480, 1, 1, TileSize::Large), (480, 360));
        // Smaller than the tile: as it is (converted, then scaled up with borders).
        assert_eq!(fit_size(320, 240, 1, 1, TileSize::Large), (320, 240));
        assert_eq!(fit_size(320, 180, 1, 1, TileSize::Large), (320, 180));
        // Wide pixels count at their shown width.
        assert_eq!(fit_size(960, 720, 4, 3, TileSize::Large), (480, 270));
        // Odd sizes come out even; nonsense stays at least 2x2.
        assert_eq!(fit_size(321, 241, 1, 1, TileSize::Large), (322, 242));
        assert_eq!(fit_size(0, 0, 0, 0, TileSize::Large), (2, 2));
        // Small tiles: the small layer as it is, anything larger scaled down to 320x240.
        assert_eq!(TileSize::Small.pixels(), (320, 240));
        assert_eq!(fit_size(320, 240, 1, 1, TileSize::Small), (320, 240));
        assert_eq!(fit_size(640, 480, 1, 1, TileSize::Small), (320, 240));
        assert_eq!(fit_size(1280, 720, 1, 1, TileSize::Small), (320, 180));
        assert_eq!(fit_size(240, 180, 1, 1, TileSize::Small), (240, 180));
    }

    #[test]
    fn tiles_keep_at_most_fifteen_frames_a_second() {
        let gap = gst::ClockTime::from_nseconds(1_000_000_000 / u64::from(TILE_FPS));
        let mut last = None;
        let mut kept = 0;
        // One second of 30 fps video, with a millisecond of jitter either way.
        for i in 0..30u64 {
            let jitter = if i % 2 == 0 { 1 } else { 0 };
            let pts = gst::ClockTime::from_mseconds(i * 1000 / 30 + jitter);
            if keep_frame(last, pts, gap) {
                last = Some(pts);
                kept += 1;
            }
        }
        assert_eq!(kept, 15);
        // Time going back (a reset) starts again rather than dropping everything.
        assert!(keep_frame(last, gst::ClockTime::ZERO, gap));
    }

    #[test]
    fn codecs_from_webrtc_mime_types() {
        let vp8 = RemoteCodec::from_mime("video/VP8", 90_000, 96).unwrap();
        assert!(vp8.video);
        assert_eq!(
            vp8.caps(),
            "application/x-rtp,media=video,clock-rate=90000,encoding-name=VP8,payload=96"
        );
        let opus = RemoteCodec::from_mime("audio/opus", 48_000, 111).unwrap();
        assert!(!opus.video);
        assert_eq!(opus.encoding, "OPUS");
        assert_eq!(RemoteCodec::from_mime("video/rtx", 90_000, 97), None);
        assert_eq!(RemoteCodec::from_mime("nonsense", 1, 1), None);
    }

    #[test]
    fn a_steady_voice_is_reported_five_times_a_second() {
        let t0 = Instant::now();
        let mut last = None;
        let mut reports = 0;
        // One second of 10 ms buffers, all loud.
        for i in 0..100u64 {
            let now = t0 + Duration::from_millis(i * 10);
            if due(last, now) {
                last = Some(now);
                reports += 1;
            }
        }
        assert_eq!(reports, 5);
    }

    fn media(dir: &std::path::Path) -> (GuestMedia, mpsc::UnboundedReceiver<GuestMediaEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let room = RoomAudio::build(
            &super::super::room::speaker_description(&super::super::room::Speaker::None, 80),
            80,
        )
        .unwrap();
        (
            GuestMedia::new(dir.to_owned(), room, None, Arc::default(), tx),
            rx,
        )
    }

    #[tokio::test]
    async fn a_video_decoder_reports_its_tile_and_a_voice_reports_none() {
        gst::init().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (media, mut events) = media(dir.path());
        let id: GuestId = "g-1".into();
        let vp8 = RemoteCodec::from_mime("video/VP8", 90_000, 96).unwrap();
        let opus = RemoteCodec::from_mime("audio/opus", 48_000, 111).unwrap();
        let video = media.decoder(&id, &vp8, TileSize::Large).unwrap();
        let Some(GuestMediaEvent::TileReady { guest_id, tile }) = events.recv().await else {
            panic!("the video decoder reports its tile first");
        };
        assert_eq!(guest_id, id);
        assert!(tile.socket.starts_with(&*dir.path().to_string_lossy()));
        let voice = media.decoder(&id, &opus, TileSize::Large).unwrap();
        assert_eq!(
            media.inner.room.live_voices(),
            1,
            "the voice joined the mix"
        );
        drop(voice);
        assert_eq!(media.inner.room.live_voices(), 0, "and left it");
        assert!(events.try_recv().is_err(), "a voice has no tile to report");
        drop(video);
        assert_eq!(
            events.try_recv().unwrap(),
            GuestMediaEvent::TileGone { guest_id: id, tile }
        );
    }

    /// A guest's H.264 decoder (payload type 102) and its tile of `size`, in `dir`.
    fn h264_tile(
        dir: &std::path::Path,
        size: TileSize,
    ) -> (Decoder, mpsc::UnboundedReceiver<GuestMediaEvent>) {
        gst::init().unwrap();
        let (media, events) = media(dir);
        let h264 = RemoteCodec::from_mime("video/H264", 90_000, 102).unwrap();
        (media.decoder(&"g-1".into(), &h264, size).unwrap(), events)
    }

    /// Five seconds of a live 30 fps H.264 camera at `width`x`height`, as RTP (payload
    /// type 102) out of the `AppSink`; a keyframe every half second, as a browser sends
    /// one when the unit asks (a loaded machine's decoder can miss the first: it did in
    /// CI, and nothing followed it in 90 pictures).
    fn live_camera(width: u32, height: u32) -> (gst::Pipeline, gst_app::AppSink) {
        let camera = gst::parse::launch(&format!(
            "videotestsrc is-live=true num-buffers=150 \
             ! video/x-raw,width={width},height={height},framerate=30/1 \
             ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 \
             ! video/x-h264,profile=constrained-baseline ! rtph264pay pt=102 mtu=1200 \
             ! appsink name=rtp sync=false"
        ))
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let rtp = camera
            .by_name("rtp")
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        (camera, rtp)
    }

    /// What a tile of `size` makes of a live `width`x`height` camera: the picture's size
    /// after fitting, the frames' size at the tile's socket, and the size its
    /// [`GuestMediaEvent::TileReady`] told.
    type Sizes = (Option<(i32, i32)>, Option<(i32, i32)>, (u32, u32));
    async fn tile_sizes(size: TileSize, width: u32, height: u32) -> Sizes {
        let dir = tempfile::tempdir().unwrap();
        let (mut decoder, mut events) = h264_tile(dir.path(), size);
        let Some(GuestMediaEvent::TileReady { tile: told, .. }) = events.recv().await else {
            panic!("a video decoder reports its tile");
        };
        let pipeline = decoder.pipeline().unwrap().clone();
        let size = |element: &str, pad: &str| {
            let caps = pipeline.by_name(element)?.static_pad(pad)?.current_caps()?;
            let s = caps.structure(0)?;
            Some((s.get::<i32>("width").ok()?, s.get::<i32>("height").ok()?))
        };
        let (camera, rtp) = live_camera(width, height);
        camera.set_state(gst::State::Playing).unwrap();
        // A live camera's packets, as they come, until tile frames reach the tile's socket.
        let (mut fitted, mut tile) = (None, None);
        while let Ok(sample) = rtp.pull_sample() {
            let map = sample.buffer().unwrap().map_readable().unwrap();
            decoder.push(&rtp_packet(&map));
            fitted = size("fit", "src");
            tile = size("tileout", "sink");
            if tile.is_some() {
                break;
            }
        }
        // A loaded machine may still be decoding what it was given when the camera ends:
        // wait for the first tile frame, within reason.
        let deadline = Instant::now() + Duration::from_secs(20);
        while tile.is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            fitted = size("fit", "src");
            tile = size("tileout", "sink");
        }
        camera.set_state(gst::State::Null).unwrap();
        (fitted, tile, (told.width, told.height))
    }

    /// A phone's 720p picture is scaled down to the tile before it is converted, keeping
    /// its shape; the tile is still 480x360 RGBA (letterboxed).
    #[tokio::test]
    async fn a_large_picture_is_scaled_down_before_it_is_converted() {
        let (fitted, tile, told) = tile_sizes(TileSize::Large, 1280, 720).await;
        assert_eq!(fitted, Some((480, 270)), "scaled as decoded, 16:9 kept");
        assert_eq!(tile, Some((TILE_WIDTH as i32, TILE_HEIGHT as i32)));
        assert_eq!(told, (TILE_WIDTH, TILE_HEIGHT));
    }

    /// Where the screen's tiles are small, the small layer's 320x240 goes to the screen as
    /// it is (not scaled up to 480x360), and the tile says so.
    #[tokio::test]
    async fn a_small_tile_takes_the_small_layer_as_it_is() {
        let (fitted, tile, told) = tile_sizes(TileSize::Small, 320, 240).await;
        assert_eq!(fitted, Some((320, 240)));
        assert_eq!(tile, Some((320, 240)), "not scaled up");
        assert_eq!(
            told,
            (320, 240),
            "the screen reads frames of the size they are"
        );
        // A larger picture in a small tile is scaled down to it.
        let (fitted, tile, _) = tile_sizes(TileSize::Small, 640, 480).await;
        assert_eq!((fitted, tile), (Some((320, 240)), Some((320, 240))));
    }

    /// A live 30 fps camera: every frame is decoded, half of them reach the tile.
    #[tokio::test]
    async fn a_tile_is_converted_at_most_fifteen_times_a_second() {
        let dir = tempfile::tempdir().unwrap();
        let (mut decoder, _events) = h264_tile(dir.path(), TileSize::Large);
        let count = |element: &str, pad: &str| {
            let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let counted = n.clone();
            decoder
                .pipeline()
                .unwrap()
                .by_name(element)
                .and_then(|e| e.static_pad(pad))
                .unwrap()
                .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                    counted.fetch_add(1, Ordering::Relaxed);
                    gst::PadProbeReturn::Ok
                });
            n
        };
        let (decoded, shown) = (count("pace", "sink"), count("tileout", "sink"));
        let (camera, rtp) = live_camera(320, 240);
        camera.set_state(gst::State::Playing).unwrap();
        while let Ok(sample) = rtp.pull_sample() {
            let map = sample.buffer().unwrap().map_readable().unwrap();
            decoder.push(&rtp_packet(&map));
        }
        camera.set_state(gst::State::Null).unwrap();
        let (decoded, shown) = (
            decoded.load(Ordering::Relaxed),
            shown.load(Ordering::Relaxed),
        );
        assert!(decoded > 30, "{decoded} frames decoded");
        assert!(
            shown > 0 && shown <= decoded / 2 + 1,
            "{shown} of {decoded} frames shown"
        );
    }

    /// Every element a guest's decoders made and their pipelines are freed, and their voice
    /// leaves the speaker, when the decoders are dropped (a guest leaving); the room's
    /// pipeline is as it was.
    #[tokio::test]
    async fn a_leaving_guest_s_decoders_leave_no_element_behind() {
        gst::init().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (media, _events) = media(dir.path());
        let room_elements = media.inner.room.pipeline().children().len();
        let id: GuestId = "g-1".into();
        let h264 = RemoteCodec::from_mime("video/H264", 90_000, 102).unwrap();
        let opus = RemoteCodec::from_mime("audio/opus", 48_000, 111).unwrap();
        let decoders = [
            media.decoder(&id, &h264, TileSize::Large).unwrap(),
            media.decoder(&id, &opus, TileSize::Large).unwrap(),
        ];
        let mut alive: Vec<gst::glib::WeakRef<gst::Element>> = Vec::new();
        assert!(
            decoders[1].pipeline().is_none(),
            "an Opus voice has no pipeline"
        );
        for pipeline in decoders.iter().filter_map(Decoder::pipeline) {
            alive.push(pipeline.upcast_ref::<gst::Element>().downgrade());
            let mut elements = pipeline.iterate_recurse();
            while let Ok(Some(e)) = elements.next() {
                alive.push(e.downgrade());
            }
        }
        assert!(alive.len() > 10, "{} elements", alive.len());
        assert_eq!(
            media.inner.room.live_voices(),
            1,
            "the voice is on the speaker"
        );
        drop(decoders);
        let left: Vec<String> = alive
            .iter()
            .filter_map(|w| w.upgrade().map(|e| e.name().to_string()))
            .collect();
        assert!(left.is_empty(), "still alive: {left:?}");
        assert_eq!(media.inner.room.pipeline().children().len(), room_elements);
        assert_eq!(media.inner.room.mixer_inputs(), 1);
        assert_eq!(media.inner.room.live_voices(), 0);
    }

    #[test]
    fn the_volume_is_the_mix_s() {
        gst::init().unwrap();
        let (media, _events) = media(&std::env::temp_dir());
        assert_eq!(media.inner.room.volume(), 80);
        media.set_volume(30);
        assert_eq!(media.inner.room.volume(), 30);
    }
}

/// A guest's voice fed as in a call (Opus RTP packets, live, through the guest's decoder)
/// into the whole room pipeline the daemon runs: the voice is heard on the speaker and the
/// room's bus stays free of warnings (the mixer's "clock problem" came 100 times a second).
#[cfg(test)]
mod call_voice {
    use super::*;
    use crate::config::AudioConfig;
    use crate::media::audio::{Mic, build};
    use crate::media::room::Speaker;

    /// A live Opus voice as a browser sends it: 20 ms packets, paced by the clock.
    fn guest_voice() -> (gst::Pipeline, gst_app::AppSink) {
        let p = gst::parse::launch(
            "audiotestsrc is-live=true wave=sine freq=300 volume=0.3 samplesperbuffer=960 \
             ! audio/x-raw,rate=48000,channels=1 ! opusenc frame-size=20 \
             ! rtpopuspay pt=111 ! appsink name=rtp sync=false",
        )
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let sink = p.by_name("rtp").unwrap().downcast().unwrap();
        (p, sink)
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_guest_voice_plays_in_the_room_without_warnings() {
        gst::init().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = AudioConfig::default();
        let room = build(&config, &Mic::Tone, &Speaker::Tap).unwrap();
        room.pipeline().set_state(gst::State::Playing).unwrap();
        let tap = room.speaker_tap().unwrap();
        let opus = room
            .pipeline()
            .by_name("sink")
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
            .unwrap();
        let (tx, _events) = mpsc::unbounded_channel();
        let metrics = Arc::new(Metrics::default());
        let media = GuestMedia::new(
            dir.path().to_owned(),
            room.clone(),
            None,
            metrics.clone(),
            tx,
        );
        let before = crate::metrics::unix_us();
        let codec = RemoteCodec::from_mime("audio/opus", 48_000, 111).unwrap();
        let mut decoder = media
            .decoder(&"g-1".into(), &codec, TileSize::Large)
            .unwrap();
        let (guest, rtp) = guest_voice();
        guest.set_state(gst::State::Playing).unwrap();
        // Three seconds of the guest talking (150 packets), the speaker drained as it plays;
        // one packet in thirty lost on the way.
        let mut loud = 0;
        let (mut packets, mut pulled, mut lost) = (0, 0, 0);
        // The guest's own counters, as `peer::receive` keeps them.
        let guest_counted = crate::metrics::VoiceCounters::default();
        while packets < 150 {
            if let Some(sample) = rtp.try_pull_sample(gst::ClockTime::from_mseconds(100)) {
                pulled += 1;
                if pulled % 30 == 15 {
                    lost += 1;
                    continue;
                }
                let map = sample.buffer().unwrap().map_readable().unwrap();
                guest_counted.add(decoder.push(&rtp_packet(&map)));
                packets += 1;
            }
            while let Some(s) = tap.try_pull_sample(gst::ClockTime::ZERO) {
                let map = s.buffer().unwrap().map_readable().unwrap();
                if rms_dbfs(map.as_slice()) > -30.0 {
                    loud += 1;
                }
            }
            while opus.try_pull_sample(gst::ClockTime::ZERO).is_some() {}
        }
        guest.set_state(gst::State::Null).unwrap();
        drop(decoder);
        let warnings = crate::media::bus::pending_warnings(&room.pipeline().bus().unwrap());
        room.pipeline().set_state(gst::State::Null).unwrap();
        assert!(
            loud > 100,
            "the guest's voice is heard: {loud} loud 10 ms buffers of 300"
        );
        assert!(
            warnings.is_empty(),
            "{} warning(s) on the room's bus, the first: {:?}",
            warnings.len(),
            warnings.first()
        );
        // Every packet decoded, every lost one made up for, and so counted in the metrics.
        let counted = metrics.snapshot();
        let expected = VoicePackets {
            decoded: 150,
            concealed: lost,
            late: 0,
            bad: 0,
        };
        assert_eq!(counted.voice_packets, expected);
        assert_eq!(guest_counted.get(), expected);
        // The guest talked without a pause: their voice started once, as it was decoded.
        let starts = counted.voice_sound_starts_unix_us;
        assert_eq!(starts.len(), 1, "{starts:?}");
        assert!(
            (before..=crate::metrics::unix_us()).contains(&starts[0]),
            "{starts:?}"
        );
    }
}
