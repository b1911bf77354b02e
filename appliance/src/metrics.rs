//! Counters of the media path and their Prometheus endpoint on loopback.
//!
//! Counters are atomics bumped on the hot path (GStreamer streaming threads, per-guest
//! tasks); a [`MetricsSnapshot`] is assembled only when someone asks. Counters only: who is
//! in the call is the unit's state's business. A guest's counters are listed while the
//! daemon holds their [`Listed`] guard, that is while it holds their peer connection.

use axum::Router;
use axum::routing::get;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use visavis_api::local::{
    GuestMetrics, LayerMetrics, MetricsSnapshot, StreamCounters, VideoLayer, VoicePackets,
};

/// How many sound starts the metrics keep of each kind ([`SoundAt`]).
pub const SOUND_STARTS_KEPT: usize = 32;

/// Where sound starts are noted (`media::sound_starts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoundAt {
    /// The simulated room's speaker, as it plays.
    Speaker,
    /// Any guest's voice, as the unit decodes it.
    Voice,
}

/// One direction of one stream.
#[derive(Debug, Default)]
pub struct Counter3 {
    pub packets: AtomicU64,
    pub bytes: AtomicU64,
    pub frames: AtomicU64,
    /// When the last frame was counted (Unix time, microseconds).
    pub last_frame_unix_us: AtomicU64,
}

impl Counter3 {
    pub fn add(&self, packets: u64, bytes: u64, frames: u64) {
        self.packets.fetch_add(packets, Relaxed);
        self.bytes.fetch_add(bytes, Relaxed);
        self.frames.fetch_add(frames, Relaxed);
    }

    fn get(&self) -> StreamCounters {
        StreamCounters {
            packets: self.packets.load(Relaxed),
            bytes: self.bytes.load(Relaxed),
            frames: self.frames.load(Relaxed),
        }
    }
}

/// Counters for one guest's peer connection.
#[derive(Debug, Default)]
pub struct GuestCounters {
    pub name: String,
    pub connection: Mutex<String>,
    pub video_out: Counter3,
    pub audio_out: Counter3,
    pub video_in: Counter3,
    pub audio_in: Counter3,
    pub reactions_in: AtomicU64,
    /// The guest's bandwidth estimate, bits per second (0 until their first feedback).
    pub estimate_bps: AtomicU64,
    /// The headers each datagram takes on the guest's selected path (0: none yet).
    pub path_header_bytes: AtomicU64,
    /// What those headers add to a direct IPv4 path's at the rate the guest is sent
    /// datagrams, bits per second (for the plan, `congestion`).
    pub path_extra_bps: AtomicU64,
    /// The round trip to the guest as their feedback shows it, microseconds (0: not yet).
    pub rtt_us: AtomicU64,
    /// The standing queue on the way to the guest, microseconds (see `congestion::bwe`).
    pub queue_us: AtomicU64,
    /// Retransmissions sent to the guest (video packets they asked again for, NACK; a
    /// second copy counts), and the packets asked for that were not retransmitted (see
    /// `congestion::retransmit`).
    pub retransmitted: AtomicU64,
    pub retransmits_refused: AtomicU64,
    /// Packets the guest's congestion feedback (TWCC) reported lost, as (SSRC, sequence
    /// number), until the retransmission gate takes them: the estimate puts them here, the
    /// gate resends those no NACK asked for (see `congestion::retransmit`).
    pub reported_lost: Mutex<Vec<(u32, u16)>>,
    /// The video layer they receive ([`layer_code`]).
    pub layer: AtomicU8,
    /// The layer of their camera the screen decodes ([`layer_code`]).
    pub camera_layer: AtomicU8,
    /// Their voice's packets as the unit decoded them.
    pub voice_packets: VoiceCounters,
    /// Every datagram sent to them so far, as their transport counted it, and when it was
    /// read (see `congestion::meter`).
    pub wire_out: Mutex<Option<crate::congestion::meter::WireSample>>,
}

/// A video layer as stored in an atomic.
pub fn layer_code(layer: VideoLayer) -> u8 {
    match layer {
        VideoLayer::Main => 0,
        VideoLayer::Small => 1,
    }
}

fn layer_from_code(code: u8) -> VideoLayer {
    if code == 1 {
        VideoLayer::Small
    } else {
        VideoLayer::Main
    }
}

/// Guests' Opus voice packets as their decoders took them ([`VoicePackets`]), kept for one
/// guest or for all together.
#[derive(Debug, Default)]
pub struct VoiceCounters {
    pub decoded: AtomicU64,
    pub concealed: AtomicU64,
    pub late: AtomicU64,
    pub bad: AtomicU64,
}

impl VoiceCounters {
    /// The counts as the local API gives them.
    pub fn get(&self) -> VoicePackets {
        VoicePackets {
            decoded: self.decoded.load(Relaxed),
            concealed: self.concealed.load(Relaxed),
            late: self.late.load(Relaxed),
            bad: self.bad.load(Relaxed),
        }
    }

    /// Add what a voice's decoder counted since it was last added.
    pub fn add(&self, counts: VoicePackets) {
        for (counter, n) in [
            (&self.decoded, counts.decoded),
            (&self.concealed, counts.concealed),
            (&self.late, counts.late),
            (&self.bad, counts.bad),
        ] {
            if n > 0 {
                counter.fetch_add(n, Relaxed);
            }
        }
    }
}

/// The state of one video encoding.
#[derive(Debug, Default)]
pub struct LayerCounters {
    pub active: AtomicBool,
    pub target_bitrate_bps: AtomicU64,
    pub frames_encoded: AtomicU64,
    pub keyframes_forced: AtomicU64,
}

/// Everything counted in the daemon.
#[derive(Debug, Default)]
pub struct Metrics {
    pub frames_captured: AtomicU64,
    pub frames_encoded: AtomicU64,
    pub audio_frames_encoded: AtomicU64,
    /// Buffers of the room's microphone out of the processing, and of the mix on its way
    /// to the speaker.
    pub room_mic_buffers: AtomicU64,
    pub room_speaker_buffers: AtomicU64,
    /// When the simulated room's speaker began to play sound, and when a guest's decoded
    /// voice did (see [`Metrics::note_sound_start`]).
    speaker_sound_starts: Mutex<VecDeque<u64>>,
    voice_sound_starts: Mutex<VecDeque<u64>>,
    /// Opus packets of the guests' own mixes (`media::group`), all together.
    pub own_mix_frames_encoded: AtomicU64,
    /// Of those, the packets of the one encode that every guest whose own voice was quiet
    /// shares.
    pub own_mix_frames_shared: AtomicU64,
    /// Guests with a mix of their own now, and guests' voices being mixed for them.
    pub own_mixes: AtomicU64,
    pub group_voices: AtomicU64,
    /// Guests' voice packets that came after the mixes had run out of that voice.
    pub group_voice_late_packets: AtomicU64,
    /// Guests' voice packets that came after the speaker had run out of that voice.
    pub speaker_voice_late_packets: AtomicU64,
    /// Guests' Opus voice packets as their decoders took them (`media::voice`), all
    /// together: decoded, made up for (lost), dropped as late or repeated, refused.
    pub voice_packets: VoiceCounters,
    /// Guests' pictures forwarded to other guests (`crate::forward`).
    pub forwarded_packets: AtomicU64,
    /// Guests' voices forwarded unmixed to other guests (`crate::forward::voices`).
    pub forwarded_voice_packets: AtomicU64,
    /// Their RTP bytes (headers and payloads, as forwarded).
    pub forwarded_voice_bytes: AtomicU64,
    pub forwarded_streams: AtomicU64,
    /// What one forwarded picture may send now, bits per second, headers included
    /// (`crate::forward::Forwarder::picture_bps`; 0 where nothing is forwarded).
    pub forward_picture_bps: AtomicU64,
    /// Guests' pictures not forwarded now for coming faster than asked
    /// (`crate::forward::pace`).
    pub forward_pictures_held: AtomicU64,
    pub forward_keyframe_requests: AtomicU64,
    pub video_encoders_started: AtomicU64,
    pub audio_encoders_started: AtomicU64,
    pub keyframes_requested: AtomicU64,
    pub frames_withheld: AtomicU64,
    /// What the unit sent to every guest together over the last second, bits per second
    /// (media payload as its senders counted it; see `congestion::meter`).
    pub send_bps: AtomicU64,
    /// What the congestion controller plans to send in all, headers included (kept under
    /// `[uplink] max_kbps`).
    pub planned_send_bps: AtomicU64,
    pub privacy: std::sync::atomic::AtomicBool,
    pub privacy_switched_unix_us: AtomicU64,
    pub video_encoder: Mutex<String>,
    /// The main video encoding (its frames are counted in `frames_encoded`).
    pub main_layer: LayerCounters,
    pub small_layer: LayerCounters,
    /// Every listed peer connection's counters, by guest id.
    guests: Mutex<BTreeMap<String, Arc<GuestCounters>>>,
}

/// Keeps a guest's counters in the snapshot until dropped.
pub struct Listed {
    metrics: Arc<Metrics>,
    guest_id: String,
}

impl Drop for Listed {
    fn drop(&mut self) {
        lock(&self.metrics.guests).remove(&self.guest_id);
    }
}

impl Metrics {
    pub fn layer(&self, layer: VideoLayer) -> &LayerCounters {
        match layer {
            VideoLayer::Main => &self.main_layer,
            VideoLayer::Small => &self.small_layer,
        }
    }

    /// New counters for a guest's peer connection, in the snapshot while the guard lives.
    pub fn add_guest(self: &Arc<Self>, guest_id: &str, name: &str) -> (Arc<GuestCounters>, Listed) {
        let counters = Arc::new(GuestCounters {
            name: name.to_owned(),
            connection: Mutex::new("new".into()),
            ..Default::default()
        });
        lock(&self.guests).insert(guest_id.to_owned(), counters.clone());
        let listed = Listed {
            metrics: self.clone(),
            guest_id: guest_id.to_owned(),
        };
        (counters, listed)
    }

    /// Sound began at `unix_us` in what `at` names (the last [`SOUND_STARTS_KEPT`] of each
    /// are kept).
    pub fn note_sound_start(&self, at: SoundAt, unix_us: u64) {
        let mut starts = lock(match at {
            SoundAt::Speaker => &self.speaker_sound_starts,
            SoundAt::Voice => &self.voice_sound_starts,
        });
        if starts.len() >= SOUND_STARTS_KEPT {
            starts.pop_front();
        }
        starts.push_back(unix_us);
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let guests = lock(&self.guests);
        MetricsSnapshot {
            frames_withheld: self.frames_withheld.load(Relaxed),
            privacy: self.privacy.load(Relaxed),
            privacy_switched_unix_us: self.privacy_switched_unix_us.load(Relaxed),
            video_last_sent_unix_us: guests
                .values()
                .map(|g| g.video_out.last_frame_unix_us.load(Relaxed))
                .max()
                .unwrap_or(0),
            frames_captured: self.frames_captured.load(Relaxed),
            frames_encoded: self.frames_encoded.load(Relaxed),
            video_encoder: lock(&self.video_encoder).clone(),
            video_encoders_started: self.video_encoders_started.load(Relaxed),
            audio_encoders_started: self.audio_encoders_started.load(Relaxed),
            audio_frames_encoded: self.audio_frames_encoded.load(Relaxed),
            room_mic_buffers: self.room_mic_buffers.load(Relaxed),
            room_speaker_buffers: self.room_speaker_buffers.load(Relaxed),
            speaker_sound_starts_unix_us: lock(&self.speaker_sound_starts)
                .iter()
                .copied()
                .collect(),
            voice_sound_starts_unix_us: lock(&self.voice_sound_starts).iter().copied().collect(),
            own_mix_frames_encoded: self.own_mix_frames_encoded.load(Relaxed),
            own_mix_frames_shared: self.own_mix_frames_shared.load(Relaxed),
            own_mixes: self.own_mixes.load(Relaxed),
            group_voices: self.group_voices.load(Relaxed),
            group_voice_late_packets: self.group_voice_late_packets.load(Relaxed),
            speaker_voice_late_packets: self.speaker_voice_late_packets.load(Relaxed),
            voice_packets: self.voice_packets.get(),
            forwarded_packets: self.forwarded_packets.load(Relaxed),
            forwarded_voice_packets: self.forwarded_voice_packets.load(Relaxed),
            forwarded_voice_bytes: self.forwarded_voice_bytes.load(Relaxed),
            forwarded_streams: self.forwarded_streams.load(Relaxed),
            forward_picture_bps: self.forward_picture_bps.load(Relaxed),
            forward_pictures_held: self.forward_pictures_held.load(Relaxed),
            forward_keyframe_requests: self.forward_keyframe_requests.load(Relaxed),
            target_bitrate_bps: self.main_layer.target_bitrate_bps.load(Relaxed),
            layers: VideoLayer::ALL
                .into_iter()
                .map(|layer| {
                    let l = self.layer(layer);
                    LayerMetrics {
                        layer,
                        active: l.active.load(Relaxed),
                        target_bitrate_bps: l.target_bitrate_bps.load(Relaxed),
                        frames_encoded: match layer {
                            VideoLayer::Main => self.frames_encoded.load(Relaxed),
                            VideoLayer::Small => l.frames_encoded.load(Relaxed),
                        },
                        keyframes_forced: l.keyframes_forced.load(Relaxed),
                    }
                })
                .collect(),
            keyframes_requested: self.keyframes_requested.load(Relaxed),
            send_bps: self.send_bps.load(Relaxed),
            planned_send_bps: self.planned_send_bps.load(Relaxed),
            guests: guests
                .iter()
                .map(|(id, g)| GuestMetrics {
                    guest_id: id.clone(),
                    name: g.name.clone(),
                    connection: lock(&g.connection).clone(),
                    video_out: g.video_out.get(),
                    audio_out: g.audio_out.get(),
                    video_in: g.video_in.get(),
                    audio_in: g.audio_in.get(),
                    reactions_in: g.reactions_in.load(Relaxed),
                    estimate_bps: g.estimate_bps.load(Relaxed),
                    path_header_bytes: g.path_header_bytes.load(Relaxed),
                    retransmitted: g.retransmitted.load(Relaxed),
                    retransmits_refused: g.retransmits_refused.load(Relaxed),
                    layer: layer_from_code(g.layer.load(Relaxed)),
                    camera_layer: layer_from_code(g.camera_layer.load(Relaxed)),
                    voice_packets: g.voice_packets.get(),
                })
                .collect(),
        }
    }
}

/// Now, as Unix time in microseconds.
pub fn unix_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Lock a mutex, recovering the data if a panicking thread poisoned it: counters stay usable.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Serve `GET /metrics` (Prometheus text) on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [("content-type", "text/plain; version=0.0.4")],
                    metrics.snapshot().to_prometheus(),
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
