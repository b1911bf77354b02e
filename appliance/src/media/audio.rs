//! The room's audio, both ways, in one pipeline: the speaker's mix ([`super::room`]) and the
//! microphone → echo canceller, noise suppressor and gain control (`webrtcdsp`) → privacy
//! valve → Opus, 20 ms packets, published to every guest. The processed microphone is also
//! handed, before the valve, to each guest's mix of their own ([`super::group`]).
//!
//! The canceller's far-end reference is the `webrtcechoprobe` the mix passes through just
//! before the speaker's sink: the canceller hears exactly what the speaker is given. Probe
//! and canceller must live in one pipeline, at one rate (48 kHz here), so both halves are
//! one pipeline.
//!
//! Where the sound comes from is a [`Mic`] (an ALSA device, a test tone, or for tests an
//! `appsrc` fed by the test) and where it goes a [`super::room::Speaker`]: the same seam
//! for real devices and simulated ones.

use super::alsa::{self, MicError};
use super::mic;
use super::room::{self, RoomAudio, Speaker};
use super::{EncodedFrame, MediaError, pipeline};
use crate::config::{AudioConfig, AudioSource};
use crate::metrics::Metrics;
use gstreamer as gst;
use gstreamer::prelude::*;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::broadcast;

/// Opus RTP clock.
pub const CLOCK_RATE: u32 = 48_000;
/// What the unit's Opus encoders (the room's and each guest's own mix) are given and how
/// they run: mono, as the room's one microphone is (a mono stream is valid Opus on the
/// `opus/48000/2` the call negotiates, and browsers play it), in 20 ms packets, at
/// complexity 5, libwebrtc's own setting on ARM. The default (10), in stereo, took 3.7 % of
/// a core here per encoder, and a table of eight runs nine of them; mono at 5 takes 0.5 %
/// (`gst-launch-1.0 audiotestsrc num-buffers=1500 samplesperbuffer=960 ! … ! opusenc … !
/// fakesink` under `time`, 30 s of audio).
pub const OPUS_ENCODE: &str =
    "audio/x-raw,rate=48000,channels=1 ! opusenc frame-size=20 complexity=5";
/// The complexity in [`OPUS_ENCODE`], for the guests' own mixes' encoders (libopus's own).
pub const OPUS_COMPLEXITY: i32 = 5;
/// Name of the test microphone's `appsrc`.
pub const MIC_FEED: &str = "mic-in";
/// Name of the element right after the audio processing (the signal guests get, before
/// privacy and Opus): tests measure there, and the guests' mixes tick with it.
pub const PROCESSED: &str = "processed";

/// Where the room's sound is heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mic {
    /// An ALSA capture device with `channels` channels, of which `channel` (from 0) is used.
    Alsa {
        device: String,
        channels: u32,
        channel: u32,
    },
    /// A quiet 440 Hz tone (no microphone: development machines, tests).
    Tone,
    /// Silence: the configured microphone is missing; calls go on without it.
    Silent,
    /// An `appsrc` named [`MIC_FEED`] taking [`room::CAPS`]: tests feed it, each buffer
    /// timed with its capture time (running time), or timed on arrival.
    Feed,
}

fn alsa_present() -> bool {
    std::fs::read_dir("/dev/snd")
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with('c'))
        })
        .unwrap_or(false)
        && gstreamer::ElementFactory::find("alsasrc").is_some()
}

impl Mic {
    /// From `[audio]`: the card named `card` (found under `asound`, i.e. `/proc/asound`)
    /// and its `channel`, else ALSA's `device` (all its channels mixed down), or the test
    /// tone when `source` says so or (`auto`) the unit has no capture device.
    pub fn from_config(config: &AudioConfig, asound: &Path) -> Result<Mic, MicError> {
        let alsa = match config.source {
            AudioSource::Alsa => true,
            AudioSource::Test => false,
            AudioSource::Auto => alsa_present(),
            AudioSource::SimulatedRoom => return Ok(Mic::Feed),
        };
        if !alsa {
            return Ok(Mic::Tone);
        }
        let (device, channels) = match &config.card {
            Some(card) => alsa::resolve(asound, card)?,
            None if config.channel > 0 => {
                return Err(MicError::ChannelNeedsCard {
                    channel: config.channel,
                });
            }
            None => (config.device.clone(), 1),
        };
        if config.channel >= channels {
            return Err(MicError::Channel {
                channel: config.channel,
                device,
                channels,
            });
        }
        Ok(Mic::Alsa {
            device,
            channels,
            channel: config.channel,
        })
    }

    /// The GStreamer description of this source (its own bin in the room's pipeline).
    pub fn source(&self) -> String {
        match self {
            Mic::Alsa {
                device,
                channels,
                channel,
            } => {
                let device = device.replace('"', "");
                if *channels > 1 {
                    // Capture every channel the device has (a hw: device takes only its
                    // own count); `pick_channel` keeps one.
                    format!(
                        "alsasrc device=\"{device}\" ! audio/x-raw,channels={channels} \
                         ! audioconvert name=mic-channel mix-matrix=\"{}\"",
                        pick_matrix(*channels, *channel)
                    )
                } else {
                    format!("alsasrc device=\"{device}\" ! audioconvert")
                }
            }
            Mic::Tone => "audiotestsrc is-live=true wave=sine freq=440 volume=0.1".to_owned(),
            Mic::Silent => "audiotestsrc is-live=true wave=silence".to_owned(),
            Mic::Feed => format!(
                "appsrc name={MIC_FEED} is-live=true format=time do-timestamp=true \
                 max-bytes=192000 caps=\"{}\"",
                room::CAPS
            ),
        }
    }
}

/// The `mix-matrix` of `audioconvert` that keeps `channel` of `channels`: one output row,
/// 1.0 at that channel.
fn pick_matrix(channels: u32, channel: u32) -> String {
    let row: Vec<&str> = (0..channels)
        .map(|c| {
            if c == channel {
                "(float)1.0"
            } else {
                "(float)0.0"
            }
        })
        .collect();
    format!("< < {} > >", row.join(", "))
}

/// What `webrtcdsp` does, from `[audio]`, cancelling the echo of what `probe` hears; `None`
/// when it does nothing (no element at all).
fn processing(config: &AudioConfig, probe: &str) -> Option<String> {
    let on = |b: bool| if b { "true" } else { "false" };
    (config.echo_cancel || config.noise_suppression || config.gain_control).then(|| {
        format!(
            "webrtcdsp name=dsp probe={probe} echo-cancel={} noise-suppression={} \
             gain-control={} delay-agnostic=true extended-filter=true ! ",
            on(config.echo_cancel),
            on(config.noise_suppression),
            on(config.gain_control)
        )
    })
}

/// The GStreamer description of the room's audio: the speaker's mix, and the microphone's
/// way through the processing to Opus, from [`mic::ENTRY`] (the source is put there by
/// [`mic`]: it may fail and come back on its own).
pub fn description(config: &AudioConfig, speaker: &Speaker) -> String {
    let probe = room::echo_probe_name();
    format!(
        "{} audioresample name={} ! {} ! {}identity name={PROCESSED} \
         ! valve name=privacy drop=false drop-mode=forward-sticky-events \
         ! audioconvert ! audioresample ! queue max-size-time=100000000 leaky=downstream \
         ! {OPUS_ENCODE} name=encoder bitrate={} \
         ! appsink name=sink sync=false max-buffers=16 drop=false",
        room::speaker_description_with(speaker, config.volume, &probe),
        mic::ENTRY,
        room::CAPS,
        processing(config, &probe).unwrap_or_default(),
        config.bitrate_kbps * 1000
    )
}

/// The room's audio pipeline with `mic` fixed in it (for the simulated room and tests: a
/// microphone that does not come and go), unstarted.
pub fn build(config: &AudioConfig, mic: &Mic, speaker: &Speaker) -> Result<RoomAudio, MediaError> {
    let room = RoomAudio::build(&description(config, speaker), config.volume)?;
    mic::attach_fixed(room.pipeline(), mic)?;
    Ok(room)
}

/// Build the room's audio pipeline for the microphone `resolve` names (asked again each
/// time it is retried) and `speaker`, publish its Opus packets on `tx` (unless the privacy
/// `gate` withholds them) and start it. A microphone that cannot be opened, or fails later,
/// is a problem sent on `problems`, not an error: the room plays on without it.
#[allow(clippy::too_many_arguments)]
pub fn start(
    config: &AudioConfig,
    resolve: impl Fn() -> Result<Mic, String> + Send + 'static,
    speaker: &Speaker,
    metrics: Arc<Metrics>,
    tx: broadcast::Sender<Arc<EncodedFrame>>,
    gate: Arc<super::gate::Gate>,
    problems: tokio::sync::mpsc::UnboundedSender<mic::MicProblem>,
) -> Result<(pipeline::Running, RoomAudio, mic::Supervisor), MediaError> {
    let description = description(config, speaker);
    tracing::info!(pipeline = %description, "starting audio");
    let room = RoomAudio::build(&description, config.volume)?;
    let supervisor = mic::Supervisor::attach(room.pipeline(), resolve, problems)?;
    let sink = room
        .pipeline()
        .by_name("sink")
        .and_then(|e| e.downcast::<gstreamer_app::AppSink>().ok())
        .ok_or_else(|| MediaError::Build {
            what: "audio",
            description: description.clone(),
            message: "no appsink named `sink`".into(),
        })?;
    metrics
        .audio_encoders_started
        .fetch_add(1, Ordering::Relaxed);
    count_buffers(room.pipeline().by_name(PROCESSED), &metrics, |m| {
        &m.room_mic_buffers
    });
    count_buffers(room.echo_probe(), &metrics, |m| &m.room_speaker_buffers);
    pipeline::publish(
        &sink,
        CLOCK_RATE,
        tx,
        metrics,
        |m| &m.audio_frames_encoded,
        gate,
    );
    let divert = supervisor.clone();
    let running =
        pipeline::start_diverting("audio", room.pipeline().clone(), move |m| divert.divert(m))?;
    Ok((running, room, supervisor))
}

/// Count the buffers leaving `element` into `counter` of `metrics`.
fn count_buffers(
    element: Option<gst::Element>,
    metrics: &Arc<Metrics>,
    counter: fn(&Metrics) -> &std::sync::atomic::AtomicU64,
) {
    let Some(pad) = element.and_then(|e| e.static_pad("src")) else {
        return;
    };
    let metrics = Arc::downgrade(metrics);
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        if let Some(m) = metrics.upgrade() {
            counter(&m).fetch_add(1, Ordering::Relaxed);
        }
        gst::PadProbeReturn::Ok
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AudioConfig {
        AudioConfig::default()
    }

    #[test]
    fn the_canceller_hears_what_the_speaker_is_given() {
        let d = description(&config(), &Speaker::Alsa("hw:1,0".into()));
        // The canceller's probe is this pipeline's own, named as no other room's.
        let name = d
            .split("webrtcechoprobe name=")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .expect("a probe");
        assert!(name.starts_with("echo-probe-"), "{d}");
        assert!(
            d.contains(&format!("webrtcdsp name=dsp probe={name} ")),
            "{d}"
        );
        assert!(!description(&config(), &Speaker::None).contains(&format!("={name} ")));
        assert!(d.contains("echo-cancel=true noise-suppression=true gain-control=true"));
        // The probe is the last thing before the speaker's sink.
        let probe = d.find("webrtcechoprobe name=").unwrap();
        let sink = d.find("alsasink").unwrap();
        let between = &d[probe..sink];
        assert!(
            !between.contains("volume") && !between.contains("mix"),
            "{between}"
        );
        // One rate for all: the silence, the mix, the chime's input and the microphone.
        assert_eq!(d.matches(room::CAPS).count(), 4, "{d}");
    }

    #[test]
    fn processing_can_be_turned_off_for_measurement() {
        let mut c = config();
        c.echo_cancel = false;
        let d = description(&c, &Speaker::None);
        assert!(
            d.contains("echo-cancel=false noise-suppression=true"),
            "{d}"
        );
        c.noise_suppression = false;
        c.gain_control = false;
        let d = description(&c, &Speaker::None);
        assert!(!d.contains("webrtcdsp"), "{d}");
        assert!(d.contains("identity name=processed"));
    }

    #[test]
    fn one_channel_of_an_array_is_kept() {
        let mic = Mic::Alsa {
            device: "hw:CARD=ArrayUAC10,DEV=0".into(),
            channels: 6,
            channel: 0,
        };
        let d = mic.source();
        assert!(
            d.contains(
                "alsasrc device=\"hw:CARD=ArrayUAC10,DEV=0\" ! audio/x-raw,channels=6 \
                 ! audioconvert name=mic-channel mix-matrix=\"< < (float)1.0, (float)0.0, \
                 (float)0.0, (float)0.0, (float)0.0, (float)0.0 > >\""
            ),
            "{d}"
        );
        assert_eq!(
            pick_matrix(2, 1),
            "< < (float)0.0, (float)1.0 > >",
            "the second of two"
        );
        let mono = Mic::Alsa {
            device: "hw:CARD=Mic,DEV=0".into(),
            channels: 1,
            channel: 0,
        };
        assert_eq!(
            mono.source(),
            "alsasrc device=\"hw:CARD=Mic,DEV=0\" ! audioconvert"
        );
    }

    #[test]
    fn the_microphone_comes_from_the_card_and_channel_configured() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cards"),
            " 1 [ArrayUAC10     ]: USB-Audio - ReSpeaker 4 Mic Array (UAC1.0)\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("card1")).unwrap();
        std::fs::write(
            dir.path().join("card1/stream0"),
            "x\n\nCapture:\n  Status: Stop\n    Channels: 6\n",
        )
        .unwrap();
        let mut c = config();
        c.source = AudioSource::Alsa;
        c.card = Some("respeaker".into());
        assert_eq!(
            Mic::from_config(&c, dir.path()).unwrap(),
            Mic::Alsa {
                device: "hw:CARD=ArrayUAC10,DEV=0".into(),
                channels: 6,
                channel: 0
            },
            "channel 0 by default: the array's processed one"
        );
        c.channel = 6;
        let e = Mic::from_config(&c, dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("`audio.channel`") && e.contains("6 capture channel(s)"),
            "{e}"
        );
        c.card = None;
        let e = Mic::from_config(&c, dir.path()).unwrap_err().to_string();
        assert!(e.contains("needs `audio.card`"), "{e}");
        c.channel = 0;
        assert_eq!(
            Mic::from_config(&c, dir.path()).unwrap(),
            Mic::Alsa {
                device: "default".into(),
                channels: 1,
                channel: 0
            }
        );
        c.source = AudioSource::Test;
        c.card = Some("missing".into());
        assert_eq!(Mic::from_config(&c, dir.path()).unwrap(), Mic::Tone);
    }

    /// GStreamer reads the channel pick as a 1x6 matrix (no device is opened to parse).
    #[test]
    fn the_channel_pick_parses() {
        use gstreamer as gst;
        gst::init().unwrap();
        let mic = Mic::Alsa {
            device: "hw:CARD=ArrayUAC10,DEV=0".into(),
            channels: 6,
            channel: 2,
        };
        let source = gst::parse::bin_from_description(&mic.source(), true).unwrap();
        let matrix = source
            .by_name("mic-channel")
            .unwrap()
            .property::<gst::Array>("mix-matrix");
        let rows: Vec<Vec<f32>> = matrix
            .iter()
            .map(|row| {
                row.get::<gst::Array>()
                    .unwrap()
                    .iter()
                    .map(|v| v.get::<f32>().unwrap())
                    .collect()
            })
            .collect();
        assert_eq!(rows, vec![vec![0.0, 0.0, 1.0, 0.0, 0.0, 0.0]]);
    }

    /// The whole room pipeline parses and plays with the test microphone and speaker, the
    /// canceller finding its probe.
    #[test]
    fn the_room_pipeline_plays_with_the_test_microphone_and_speaker() {
        use gstreamer as gst;
        use gstreamer::prelude::*;
        gst::init().unwrap();
        let room = build(&config(), &Mic::Feed, &Speaker::Tap).unwrap();
        room.pipeline().set_state(gst::State::Playing).unwrap();
        let feed = room
            .pipeline()
            .by_name(MIC_FEED)
            .and_then(|e| e.downcast::<gstreamer_app::AppSrc>().ok())
            .unwrap();
        // A live pipeline plays once every sink has its first buffer: the Opus encoder's
        // needs 20 ms of microphone, which a device gives at once; the test's feed, now.
        let _ = feed.push_buffer(gst::Buffer::from_slice(vec![0u8; 9600]));

        let tap = room.speaker_tap().unwrap();
        let sink = room
            .pipeline()
            .by_name("sink")
            .and_then(|e| e.downcast::<gstreamer_app::AppSink>().ok())
            .unwrap();
        let mut packets = 0;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while packets < 10 && std::time::Instant::now() < deadline {
            if tap
                .try_pull_sample(gst::ClockTime::from_mseconds(100))
                .is_some()
            {
                let _ = feed.push_buffer(gst::Buffer::from_slice(vec![0u8; 960]));
            }
            if sink.try_pull_sample(gst::ClockTime::ZERO).is_some() {
                packets += 1;
            }
        }
        if let Some(bus) = room.pipeline().bus() {
            while let Some(m) = bus.pop() {
                if let gst::MessageView::Error(e) = m.view() {
                    eprintln!(
                        "{:?}: {} {:?}",
                        m.src().map(|s| s.path_string()),
                        e.error(),
                        e.debug()
                    );
                }
            }
        }
        room.pipeline().set_state(gst::State::Null).unwrap();
        assert_eq!(packets, 10, "Opus packets out of the processed microphone");
    }
}
