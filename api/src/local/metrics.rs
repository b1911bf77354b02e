//! Media-path counters, as the local API returns them and as Prometheus text.

use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// Packets, bytes and frames of one media stream in one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamCounters {
    pub packets: u64,
    pub bytes: u64,
    /// Video: whole frames (access units). Audio: Opus packets.
    pub frames: u64,
}

/// Guests' Opus voice packets as the unit's decoders took them: one guest's, or all
/// guests' together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VoicePackets {
    pub decoded: u64,
    /// Lost on the way and made up for by the decoder (its loss concealment, or the next
    /// packet's redundancy): the guest's link's loss, as heard.
    pub concealed: u64,
    /// Dropped as late (their place already made up for) or repeated.
    pub late: u64,
    /// Refused by the decoder (corrupt, or not Opus).
    pub bad: u64,
}

impl VoicePackets {
    /// What was counted since `before` (an earlier reading of the same counts).
    pub fn since(self, before: VoicePackets) -> VoicePackets {
        VoicePackets {
            decoded: self.decoded.saturating_sub(before.decoded),
            concealed: self.concealed.saturating_sub(before.concealed),
            late: self.late.saturating_sub(before.late),
            bad: self.bad.saturating_sub(before.bad),
        }
    }
}

/// Counters for one guest's peer connection.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestMetrics {
    pub guest_id: String,
    pub name: String,
    /// The peer connection state as webrtc-rs reports it (`new`, `connected`, ...).
    pub connection: String,
    pub video_out: StreamCounters,
    pub audio_out: StreamCounters,
    pub video_in: StreamCounters,
    pub audio_in: StreamCounters,
    pub reactions_in: u64,
    /// The send-side bandwidth estimate for this guest (GCC over transport-wide congestion
    /// control feedback), bits per second; 0 until their first feedback arrived.
    #[serde(default)]
    pub estimate_bps: u64,
    /// What each datagram to the guest takes on the line beyond what WebRTC counts, by the
    /// path ICE selected: 28 bytes straight to the guest over IPv4, 32 through a TURN relay
    /// over UDP, 58 over TCP, 87 over TLS, 20 more on IPv6; 0 until a path is selected.
    /// The unit's send rate (`send_bps`) counts them.
    #[serde(default)]
    pub path_header_bytes: u64,
    /// Retransmissions the unit sent to the guest (packets they asked again for, NACK; a
    /// packet sent twice on a lossy path counts twice), and the packets asked for that it
    /// did not retransmit (asked again within a round trip, or beyond the retransmission
    /// budget while a queue stands on the way to the guest).
    #[serde(default)]
    pub retransmitted: u64,
    #[serde(default)]
    pub retransmits_refused: u64,
    /// The video layer this guest is receiving.
    #[serde(default)]
    pub layer: VideoLayer,
    /// The layer of this guest's camera the unit decodes for its screen: `main`, their full
    /// layer (or their only one); `small`, while their browser sends only its small layer
    /// (a thin uplink).
    #[serde(default)]
    pub camera_layer: VideoLayer,
    /// The guest's voice as the unit decoded it.
    #[serde(default)]
    pub voice_packets: VoicePackets,
}

/// One of the unit's video encodings. Every guest gets one of them; an encoding serves every
/// guest on it (never one encoder per guest).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum VideoLayer {
    /// The camera's resolution and frame rate (`[video] width`, `height`, `fps`).
    #[default]
    Main,
    /// A smaller, slower encoding for guests whose network carries far less than the
    /// others' (`[video] small_width`, `small_height`, `small_fps`).
    Small,
}

impl VideoLayer {
    /// Every layer, main first.
    pub const ALL: [VideoLayer; 2] = [VideoLayer::Main, VideoLayer::Small];

    pub fn as_str(self) -> &'static str {
        match self {
            VideoLayer::Main => "main",
            VideoLayer::Small => "small",
        }
    }
}

/// The state of one video encoding.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerMetrics {
    pub layer: VideoLayer,
    /// Frames are being encoded on this layer (the small one idles while nobody needs it).
    pub active: bool,
    /// Bitrate the layer's encoder is set to, bits per second.
    pub target_bitrate_bps: u64,
    /// Frames encoded on this layer.
    pub frames_encoded: u64,
    /// Keyframes forced on this layer's encoder (requests are coalesced: at most one a second).
    pub keyframes_forced: u64,
}

/// Everything `applianced` counts about its media path.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSnapshot {
    /// Raw frames out of the camera (or test source).
    pub frames_captured: u64,
    /// Encoded video frames out of the shared encoder.
    pub frames_encoded: u64,
    /// The GStreamer element doing H.264 (`v4l2h264enc`, `x264enc`, ...).
    pub video_encoder: String,
    /// Video encoders started: the main one at start, the small layer's the first time a
    /// guest needs it. Never one per guest.
    pub video_encoders_started: u64,
    /// The room's Opus encoders built since start: one, whatever the number of guests
    /// (each guest's own mix has one more, see `own_mixes`).
    pub audio_encoders_started: u64,
    pub audio_frames_encoded: u64,
    /// 10 ms stretches of the room's microphone out of the processing (echo canceller),
    /// and of the room's mix on its way to the speaker: where the room's sound stopped, if
    /// it did.
    #[serde(default)]
    pub room_mic_buffers: u64,
    #[serde(default)]
    pub room_speaker_buffers: u64,
    /// When the simulated room's speaker last began to play sound after a quiet stretch
    /// (Unix time, microseconds, oldest first, the last 32): what the bench's
    /// mouth-to-ear figures read. Empty with a real speaker (`[audio] source` other than
    /// `simulated-room`).
    #[serde(default)]
    pub speaker_sound_starts_unix_us: Vec<u64>,
    /// When a guest's voice (any guest's), as the unit decodes it, last began after a
    /// quiet stretch (Unix time, microseconds, oldest first, the last 32).
    #[serde(default)]
    pub voice_sound_starts_unix_us: Vec<u64>,
    /// Opus packets of the guests' own mixes (the room and the other guests, without their
    /// own voice), all together.
    #[serde(default)]
    pub own_mix_frames_encoded: u64,
    /// Of those, the packets a guest got from the one encode shared by every guest whose
    /// own voice was quiet (under -40 dBFS) in that packet and the second before: the
    /// whole call's sound, encoded once for all of them.
    #[serde(default)]
    pub own_mix_frames_shared: u64,
    /// Guests who have a mix of their own now (`[audio] guests_hear_each_other`).
    #[serde(default)]
    pub own_mixes: u64,
    /// Guests' voices being mixed for the others (each guest's decoded voice, once).
    #[serde(default)]
    pub group_voices: u64,
    /// Guests' voice packets that came after the mixes had run out of that voice (the
    /// packet late, the voice broke up for the others); each adds 10 ms to that voice's
    /// cushion, up to 60 ms.
    #[serde(default)]
    pub group_voice_late_packets: u64,
    /// Guests' voice packets that came after the speaker had run out of that voice (the
    /// voice broke up in the room); each adds 10 ms to that voice's cushion on the speaker,
    /// up to 60 ms.
    #[serde(default)]
    pub speaker_voice_late_packets: u64,
    /// Every guest's voice as the unit decoded it, all together (guests who left too).
    #[serde(default)]
    pub voice_packets: VoicePackets,
    /// RTP packets of guests' pictures forwarded to other guests (`[video]
    /// guests_see_each_other`), all together; never re-encoded.
    #[serde(default)]
    pub forwarded_packets: u64,
    /// Opus packets of guests' voices forwarded unmixed to other guests, all together.
    #[serde(default)]
    pub forwarded_voice_packets: u64,
    /// Their RTP bytes, headers and payloads, as forwarded (before SRTP, UDP and IP).
    #[serde(default)]
    pub forwarded_voice_bytes: u64,
    /// Other guests' pictures being forwarded now, summed over the guests who see them.
    #[serde(default)]
    pub forwarded_streams: u64,
    /// What one forwarded picture may send now, bits per second, headers included: 170,000
    /// usually, less where a table too full for the uplink has its pictures lowered for all
    /// to fit (0 where guests do not see each other).
    #[serde(default)]
    pub forward_picture_bps: u64,
    /// Guests' pictures not forwarded to the others now because they come faster than the
    /// unit asked (a page that ignores the rate, a camera without a small layer); they are
    /// forwarded again once they keep to it.
    #[serde(default)]
    pub forward_pictures_held: u64,
    /// Keyframes asked of guests for their forwarded picture (at most one per guest per
    /// second, however many others need one).
    #[serde(default)]
    pub forward_keyframe_requests: u64,
    /// Bitrate the main video encoder is set to, bits per second (see `layers` for each).
    pub target_bitrate_bps: u64,
    /// Keyframes asked of the encoder (new guests, PLI/FIR).
    pub keyframes_requested: u64,
    /// Encoded frames withheld from guests by the privacy switch.
    #[serde(default)]
    pub frames_withheld: u64,
    /// What the unit sent to every guest together over the last two seconds or so, bits per
    /// second on the wire: every datagram, with the headers of the path it took
    /// ([`GuestMetrics::path_header_bytes`]).
    #[serde(default)]
    pub send_bps: u64,
    /// What congestion control plans to send in all, headers included; it stays under the
    /// unit's `[uplink] max_kbps`.
    #[serde(default)]
    pub planned_send_bps: u64,
    /// The privacy switch is on.
    #[serde(default)]
    pub privacy: bool,
    /// When the privacy switch last changed (Unix time, microseconds; 0: never).
    #[serde(default)]
    pub privacy_switched_unix_us: u64,
    /// When a video frame last went to any guest (Unix time, microseconds; 0: never).
    #[serde(default)]
    pub video_last_sent_unix_us: u64,
    /// Each video encoding, main first.
    #[serde(default)]
    pub layers: Vec<LayerMetrics>,
    pub guests: Vec<GuestMetrics>,
}

impl MetricsSnapshot {
    /// Render as Prometheus text exposition format (version 0.0.4).
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        let gauge = |out: &mut String, name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP visavis_{name} {help}");
            let _ = writeln!(out, "# TYPE visavis_{name} {kind}");
            let _ = writeln!(out, "visavis_{name} {value}");
        };
        gauge(
            &mut out,
            "frames_captured_total",
            "counter",
            "Raw video frames captured.",
            self.frames_captured,
        );
        gauge(
            &mut out,
            "frames_encoded_total",
            "counter",
            "Video frames encoded.",
            self.frames_encoded,
        );
        gauge(
            &mut out,
            "audio_frames_encoded_total",
            "counter",
            "Opus packets encoded.",
            self.audio_frames_encoded,
        );
        gauge(
            &mut out,
            "room_mic_buffers_total",
            "counter",
            "Buffers of the room's microphone out of the processing.",
            self.room_mic_buffers,
        );
        gauge(
            &mut out,
            "room_speaker_buffers_total",
            "counter",
            "Buffers of the room's mix on their way to the speaker.",
            self.room_speaker_buffers,
        );
        gauge(
            &mut out,
            "own_mix_frames_encoded_total",
            "counter",
            "Opus packets of the guests' own mixes.",
            self.own_mix_frames_encoded,
        );
        gauge(
            &mut out,
            "own_mix_frames_shared_total",
            "counter",
            "Opus packets of the guests' own mixes from the encode shared by the quiet guests.",
            self.own_mix_frames_shared,
        );
        gauge(
            &mut out,
            "own_mixes",
            "gauge",
            "Guests with a mix of their own (the room and the other guests).",
            self.own_mixes,
        );
        gauge(
            &mut out,
            "group_voices",
            "gauge",
            "Guests' voices being mixed for the other guests.",
            self.group_voices,
        );
        gauge(
            &mut out,
            "group_voice_late_packets_total",
            "counter",
            "Guests' voice packets that came after the mixes had run out of that voice.",
            self.group_voice_late_packets,
        );
        gauge(
            &mut out,
            "speaker_voice_late_packets_total",
            "counter",
            "Guests' voice packets that came after the speaker had run out of that voice.",
            self.speaker_voice_late_packets,
        );
        for (name, help, value) in [
            (
                "voice_packets_decoded_total",
                "Guests' Opus voice packets decoded.",
                self.voice_packets.decoded,
            ),
            (
                "voice_packets_concealed_total",
                "Guests' voice packets lost and made up for by the decoder.",
                self.voice_packets.concealed,
            ),
            (
                "voice_packets_late_total",
                "Guests' voice packets dropped as late or repeated.",
                self.voice_packets.late,
            ),
            (
                "voice_packets_bad_total",
                "Guests' voice packets the decoder refused (corrupt, or not Opus).",
                self.voice_packets.bad,
            ),
        ] {
            gauge(&mut out, name, "counter", help, value);
        }
        gauge(
            &mut out,
            "forwarded_packets_total",
            "counter",
            "RTP packets of guests' pictures forwarded to other guests.",
            self.forwarded_packets,
        );
        gauge(
            &mut out,
            "forwarded_voice_packets_total",
            "counter",
            "Opus packets of guests' voices forwarded unmixed to other guests.",
            self.forwarded_voice_packets,
        );
        gauge(
            &mut out,
            "forwarded_voice_bytes_total",
            "counter",
            "RTP bytes (headers and payloads) of guests' voices forwarded unmixed.",
            self.forwarded_voice_bytes,
        );
        gauge(
            &mut out,
            "forwarded_streams",
            "gauge",
            "Guests' pictures forwarded now, summed over the guests who see them.",
            self.forwarded_streams,
        );
        gauge(
            &mut out,
            "forward_picture_bps",
            "gauge",
            "What one forwarded picture may send now, bits per second, headers included.",
            self.forward_picture_bps,
        );
        gauge(
            &mut out,
            "forward_pictures_held",
            "gauge",
            "Guests' pictures not forwarded now for coming faster than the unit asked.",
            self.forward_pictures_held,
        );
        gauge(
            &mut out,
            "forward_keyframe_requests_total",
            "counter",
            "Keyframes asked of guests for their forwarded picture.",
            self.forward_keyframe_requests,
        );
        gauge(
            &mut out,
            "video_encoders_started_total",
            "counter",
            "Video encoders built.",
            self.video_encoders_started,
        );
        gauge(
            &mut out,
            "audio_encoders_started_total",
            "counter",
            "Opus encoders built.",
            self.audio_encoders_started,
        );
        gauge(
            &mut out,
            "keyframes_requested_total",
            "counter",
            "Keyframes requested of the encoder.",
            self.keyframes_requested,
        );
        gauge(
            &mut out,
            "frames_withheld_total",
            "counter",
            "Encoded video frames withheld by the privacy switch.",
            self.frames_withheld,
        );
        gauge(
            &mut out,
            "privacy",
            "gauge",
            "1 while the hardware privacy switch is on.",
            u64::from(self.privacy),
        );
        gauge(
            &mut out,
            "target_bitrate_bps",
            "gauge",
            "Video encoder target bitrate.",
            self.target_bitrate_bps,
        );
        gauge(
            &mut out,
            "send_bps",
            "gauge",
            "What the unit sends every guest together, on the wire (every header of the path in).",
            self.send_bps,
        );
        gauge(
            &mut out,
            "planned_send_bps",
            "gauge",
            "What congestion control plans to send in all, headers included.",
            self.planned_send_bps,
        );
        let _ = writeln!(
            out,
            "# HELP visavis_video_encoder_info The H.264 encoder element in use."
        );
        let _ = writeln!(out, "# TYPE visavis_video_encoder_info gauge");
        let _ = writeln!(
            out,
            "visavis_video_encoder_info{{encoder=\"{}\"}} 1",
            escape(&self.video_encoder)
        );
        gauge(
            &mut out,
            "guests",
            "gauge",
            "Guests with a peer connection.",
            self.guests.len() as u64,
        );

        type Stream = (&'static str, fn(&GuestMetrics) -> StreamCounters);
        let streams: [Stream; 4] = [
            ("video_out", |g| g.video_out),
            ("audio_out", |g| g.audio_out),
            ("video_in", |g| g.video_in),
            ("audio_in", |g| g.audio_in),
        ];
        for (field, what) in [("packets", 0usize), ("bytes", 1), ("frames", 2)] {
            let name = format!("guest_{field}_total");
            let _ = writeln!(
                out,
                "# HELP visavis_{name} Per-guest {field} by stream and direction."
            );
            let _ = writeln!(out, "# TYPE visavis_{name} counter");
            for g in &self.guests {
                for (stream, get) in &streams {
                    let c = get(g);
                    let v = [c.packets, c.bytes, c.frames][what];
                    let _ = writeln!(
                        out,
                        "visavis_{name}{{guest=\"{}\",stream=\"{stream}\"}} {v}",
                        escape(&g.guest_id)
                    );
                }
            }
        }
        layer_lines(&mut out, &self.layers);
        guest_congestion_lines(&mut out, &self.guests);
        let reactions: [Family<GuestMetrics>; 1] = [(
            "guest_reactions_total",
            "counter",
            "Reactions received per guest.",
            |g| g.reactions_in,
        )];
        families(&mut out, &reactions, &self.guests, guest_label);
        out
    }
}

/// One metric family: its name (after `visavis_`), `gauge` or `counter`, its help text,
/// and how to read it from an item.
type Family<T> = (&'static str, &'static str, &'static str, fn(&T) -> u64);

/// Each family's HELP and TYPE lines, then one line per item, labelled by `label` (e.g.
/// `layer="main"`).
fn families<T>(
    out: &mut String,
    families: &[Family<T>],
    items: &[T],
    label: impl Fn(&T) -> String,
) {
    for (name, kind, help, get) in families {
        let _ = writeln!(out, "# HELP visavis_{name} {help}");
        let _ = writeln!(out, "# TYPE visavis_{name} {kind}");
        for item in items {
            let _ = writeln!(out, "visavis_{name}{{{}}} {}", label(item), get(item));
        }
    }
}

/// One gauge or counter per video layer.
fn layer_lines(out: &mut String, layers: &[LayerMetrics]) {
    let fields: [Family<LayerMetrics>; 4] = [
        (
            "layer_active",
            "gauge",
            "1 while the video layer is encoding.",
            |l| u64::from(l.active),
        ),
        (
            "layer_target_bitrate_bps",
            "gauge",
            "Target bitrate of the video layer's encoder.",
            |l| l.target_bitrate_bps,
        ),
        (
            "layer_frames_encoded_total",
            "counter",
            "Video frames encoded on the layer.",
            |l| l.frames_encoded,
        ),
        (
            "layer_keyframes_forced_total",
            "counter",
            "Keyframes forced on the layer's encoder.",
            |l| l.keyframes_forced,
        ),
    ];
    families(out, &fields, layers, |l| {
        format!("layer=\"{}\"", l.layer.as_str())
    });
}

/// Each guest's bandwidth estimate, retransmissions, voice packets lost or refused, and the layer
/// they receive.
fn guest_congestion_lines(out: &mut String, guests: &[GuestMetrics]) {
    let fields: [Family<GuestMetrics>; 7] = [
        (
            "guest_estimate_bps",
            "gauge",
            "Send-side bandwidth estimate per guest (0: none yet).",
            |g| g.estimate_bps,
        ),
        (
            "guest_path_header_bytes",
            "gauge",
            "Bytes of headers each datagram to the guest takes on the selected path (0: none yet).",
            |g| g.path_header_bytes,
        ),
        (
            "guest_retransmitted_total",
            "counter",
            "Retransmissions sent (packets asked again for, NACK), per guest.",
            |g| g.retransmitted,
        ),
        (
            "guest_retransmits_refused_total",
            "counter",
            "Packets asked again for (NACK) and not retransmitted, per guest.",
            |g| g.retransmits_refused,
        ),
        (
            "guest_voice_packets_concealed_total",
            "counter",
            "The guest's voice packets lost and made up for by the unit's decoder.",
            |g| g.voice_packets.concealed,
        ),
        (
            "guest_voice_packets_late_total",
            "counter",
            "The guest's voice packets dropped as late or repeated.",
            |g| g.voice_packets.late,
        ),
        (
            "guest_voice_packets_bad_total",
            "counter",
            "The guest's voice packets the unit's decoder refused.",
            |g| g.voice_packets.bad,
        ),
    ];
    families(out, &fields, guests, guest_label);
    let _ = writeln!(
        out,
        "# HELP visavis_guest_layer_info The video layer each guest receives."
    );
    let _ = writeln!(out, "# TYPE visavis_guest_layer_info gauge");
    for g in guests {
        let _ = writeln!(
            out,
            "visavis_guest_layer_info{{guest=\"{}\",layer=\"{}\"}} 1",
            escape(&g.guest_id),
            g.layer.as_str()
        );
    }
}

/// A guest's label: `guest="<id>"`.
fn guest_label(g: &GuestMetrics) -> String {
    format!("guest=\"{}\"", escape(&g.guest_id))
}

/// Escape a Prometheus label value.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_has_counters_and_guest_labels() {
        let m = MetricsSnapshot {
            frames_encoded: 42,
            video_encoder: "x264enc".into(),
            guests: vec![GuestMetrics {
                guest_id: "g\"1".into(),
                video_out: StreamCounters {
                    packets: 9,
                    bytes: 900,
                    frames: 3,
                },
                estimate_bps: 1_200_000,
                path_header_bytes: 87,
                retransmitted: 17,
                retransmits_refused: 4,
                layer: VideoLayer::Small,
                voice_packets: VoicePackets {
                    concealed: 6,
                    ..Default::default()
                },
                ..Default::default()
            }],
            layers: vec![LayerMetrics {
                layer: VideoLayer::Small,
                active: true,
                target_bitrate_bps: 400_000,
                frames_encoded: 7,
                keyframes_forced: 2,
            }],
            ..Default::default()
        };
        let text = m.to_prometheus();
        assert!(text.contains("visavis_guest_estimate_bps{guest=\"g\\\"1\"} 1200000\n"));
        assert!(text.contains("visavis_guest_path_header_bytes{guest=\"g\\\"1\"} 87\n"));
        assert!(text.contains("visavis_guest_layer_info{guest=\"g\\\"1\",layer=\"small\"} 1\n"));
        assert!(text.contains("visavis_guest_retransmitted_total{guest=\"g\\\"1\"} 17\n"));
        assert!(text.contains("visavis_guest_retransmits_refused_total{guest=\"g\\\"1\"} 4\n"));
        assert!(text.contains("visavis_guest_voice_packets_concealed_total{guest=\"g\\\"1\"} 6\n"));
        assert!(text.contains("visavis_layer_target_bitrate_bps{layer=\"small\"} 400000\n"));
        assert!(text.contains("visavis_layer_active{layer=\"small\"} 1\n"));
        assert!(text.contains("visavis_layer_keyframes_forced_total{layer=\"small\"} 2\n"));
        assert!(text.contains("visavis_frames_encoded_total 42\n"));
        assert!(text.contains("visavis_video_encoder_info{encoder=\"x264enc\"} 1\n"));
        assert!(
            text.contains("visavis_guest_packets_total{guest=\"g\\\"1\",stream=\"video_out\"} 9\n")
        );
        assert!(
            text.contains("visavis_guest_frames_total{guest=\"g\\\"1\",stream=\"video_out\"} 3\n")
        );
    }
}
