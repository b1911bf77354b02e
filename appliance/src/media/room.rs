//! The room's speaker: every guest's voice in one mix, at the room's volume, on one sink.
//!
//! One pipeline for the whole room: a live silence source keeps the mixer (and the speaker)
//! running while nobody speaks; the mix goes through one `volume` and a `webrtcechoprobe`
//! (the echo canceller's far-end reference, taken exactly where the mix leaves for the
//! speaker) to one sink. One sink means any ALSA device plays every guest, a bare `hw:`
//! device included (it takes a single client).
//!
//! The guests' voices ([`RoomAudio::live_voice`], pushed as they are decoded) are added to
//! each buffer as it leaves the mixer, each from a short buffer of its own, in the mixer's
//! thread ([`live`]): no thread, queue or mixer input per guest. A voice leaves when its
//! [`LiveVoice`] is dropped; the others play on. Audio timed by its caller (the simulated
//! room's far end) comes in through an `appsrc` of its own on the mixer
//! ([`RoomAudio::voice`]).
//!
//! Where the sound goes is a [`Speaker`]: an ALSA device, nowhere, or (for tests) an
//! `appsink` the test reads, behind the same seam.
//!
//! The knock's chime ([`RoomAudio::chime`]) is one more input of the same mix: a short,
//! soft two-note "ding-dong" (about 0.6 s, peaking 14 dB under full scale, each note
//! fading out), so it plays on whatever device plays the guests, at the room's volume,
//! and the echo canceller hears it as it hears them.

pub mod live;

pub use live::LiveVoice;

use super::MediaError;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use live::LiveVoices;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// Every voice, the mix and the speaker: 48 kHz, mono, 16-bit.
pub const RATE: u32 = 48_000;
/// The raw audio caps of the room (voices, mix, microphone after channel selection).
pub const CAPS: &str = "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1";
/// How long the mixer waits for a late input before mixing without it (ns): the chime's
/// and a timed voice's ([`RoomAudio::voice`]); the guests' voices wait in their own
/// buffers and join after it ([`live`]).
const MIX_LATENCY_NS: u64 = 40_000_000;
/// How much of one timed voice (or the chime) waits for the mixer: a second (S16 mono at
/// [`RATE`]).
const VOICE_QUEUE_BYTES: u64 = RATE as u64 * 2;
const VOICE_QUEUE_NS: u64 = 1_000_000_000;
/// Name of the chime's input of the mix.
const CHIME_SRC: &str = "room-chime";
/// The chime's notes (E5 then C5, a doorbell's fall), each this long.
const CHIME_NOTES: [f32; 2] = [659.25, 523.25];
const CHIME_NOTE_S: f32 = 0.3;
/// The chime's peak, as a fraction of full scale (-14 dBFS).
const CHIME_PEAK: f32 = 0.2;
/// Name of the test speaker's `appsink`.
pub const SPEAKER_TAP: &str = "speaker-out";

/// A name for a room's echo probe that no other pipeline of this process has: `webrtcdsp`
/// finds its probe by name among every probe in the process, so two rooms alive at once
/// (the simulated room's runs side by side, a pipeline being replaced) must not share one,
/// or a canceller may take the other room's speaker as its far end.
pub fn echo_probe_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("echo-probe-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Where the room's sound goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Speaker {
    /// An ALSA playback device (`default`, `hw:1,0`, `hw:CARD=Device,DEV=0`).
    Alsa(String),
    /// Nowhere (levels are still measured for the speaking indicator).
    None,
    /// An `appsink` named [`SPEAKER_TAP`], paced by the clock like a device: tests read it.
    /// It keeps every buffer until read, so a test that falls behind loses no sound.
    Tap,
}

impl Speaker {
    /// From `[audio] speaker`: `auto` (ALSA's `default` when the unit has a playback
    /// device), `none`, or an ALSA device name.
    pub fn from_config(speaker: &str) -> Speaker {
        match speaker {
            "none" => Speaker::None,
            "auto" if playback_present() => Speaker::Alsa("default".into()),
            "auto" => Speaker::None,
            device => Speaker::Alsa(device.to_owned()),
        }
    }

    fn sink(&self) -> String {
        match self {
            Speaker::Alsa(device) => format!(
                "audioconvert ! audioresample ! alsasink name=speaker device=\"{}\" sync=true",
                device.replace('"', "")
            ),
            Speaker::None => "fakesink name=speaker sync=true".to_owned(),
            Speaker::Tap => format!(
                "appsink name={SPEAKER_TAP} sync=true max-buffers=0 drop=false emit-signals=false"
            ),
        }
    }
}

/// A playback device under `/dev/snd` (`pcmC0D0p`) and GStreamer's ALSA sink.
fn playback_present() -> bool {
    std::fs::read_dir("/dev/snd")
        .map(|d| {
            d.flatten().any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("pcm") && name.ends_with('p')
            })
        })
        .unwrap_or(false)
        && gst::ElementFactory::find("alsasink").is_some()
}

/// The speaker half of the room's pipeline: silence and voices → mixer → volume → echo
/// probe (named afresh, [`echo_probe_name`]) → `speaker`.
pub fn speaker_description(speaker: &Speaker, volume: u8) -> String {
    speaker_description_with(speaker, volume, &echo_probe_name())
}

/// [`speaker_description`] with the echo probe named `probe` (the name the canceller is
/// given).
pub fn speaker_description_with(speaker: &Speaker, volume: u8, probe: &str) -> String {
    // The chime's input idles until a knock: timed on arrival like a voice, its latency
    // said outright (see [`RoomAudio::voice`]).
    format!(
        "audiotestsrc name=room-silence is-live=true wave=silence samplesperbuffer={} \
         ! {CAPS} ! audiomixer name=mix latency={MIX_LATENCY_NS} \
         ! {CAPS} ! volume name=room-volume volume={} \
         ! webrtcechoprobe name={probe} ! {} \
         appsrc name={CHIME_SRC} is-live=true format=time do-timestamp=true min-latency=0 \
         max-latency={VOICE_QUEUE_NS} max-bytes={VOICE_QUEUE_BYTES} leaky-type=downstream \
         caps=\"{CAPS}\" ! mix.",
        RATE / 100,
        f64::from(volume) / 100.0,
        speaker.sink()
    )
}

/// The chime's samples ([`CAPS`]): each note starts softly (5 ms) and fades away.
pub fn chime_samples() -> Vec<u8> {
    let per_note = (CHIME_NOTE_S * RATE as f32) as usize;
    let attack = RATE as f32 * 0.005;
    let mut out = Vec::with_capacity(per_note * CHIME_NOTES.len() * 2);
    for freq in CHIME_NOTES {
        for i in 0..per_note {
            let t = i as f32 / RATE as f32;
            let rise = (i as f32 / attack).min(1.0);
            let fade = (-t * 7.0).exp();
            let v = (2.0 * std::f32::consts::PI * freq * t).sin() * CHIME_PEAK * rise * fade;
            out.extend_from_slice(&((v * f32::from(i16::MAX)) as i16).to_le_bytes());
        }
    }
    out
}

struct Inner {
    pipeline: gst::Pipeline,
    mixer: gst::Element,
    volume: gst::Element,
    percent: AtomicU8,
    live: Arc<LiveVoices>,
}

/// The room's audio pipeline. Cheap to clone; the pipeline runs as long as the
/// [`super::pipeline::Running`] that [`RoomAudio::build`] returned with it.
#[derive(Clone)]
pub struct RoomAudio {
    inner: Arc<Inner>,
}

impl RoomAudio {
    /// Build the pipeline of `description` (which holds [`speaker_description`]) at
    /// `volume` percent; start it with [`super::pipeline::start`].
    pub fn build(description: &str, volume: u8) -> Result<RoomAudio, MediaError> {
        let build_err = |message: String| MediaError::Build {
            what: "room audio",
            description: description.to_owned(),
            message,
        };
        let pipeline = gst::parse::launch(description)
            .map_err(|e| build_err(e.to_string()))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| build_err("not a pipeline".into()))?;
        let named = |name: &str| {
            pipeline
                .by_name(name)
                .ok_or_else(|| build_err(format!("no element named `{name}`")))
        };
        let mixer = named("mix")?;
        let volume_element = named("room-volume")?;
        let live = Arc::new(LiveVoices::default());
        let into_mix = volume_element
            .static_pad("sink")
            .ok_or_else(|| build_err("`room-volume` has no sink pad".into()))?;
        let voices = Arc::downgrade(&live);
        into_mix.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let (Some(voices), Some(gst::PadProbeData::Buffer(buffer))) =
                (voices.upgrade(), info.data.as_mut())
            {
                add_voices(&voices, buffer);
            }
            gst::PadProbeReturn::Ok
        });
        Ok(RoomAudio {
            inner: Arc::new(Inner {
                pipeline,
                mixer,
                volume: volume_element,
                percent: AtomicU8::new(volume),
                live,
            }),
        })
    }

    pub fn pipeline(&self) -> &gst::Pipeline {
        &self.inner.pipeline
    }

    /// The room's volume, 0 to 100.
    pub fn volume(&self) -> u8 {
        self.inner.percent.load(Ordering::Relaxed)
    }

    /// Change the loudness of the mix (0 to 100: the unit's state checks the value).
    pub fn set_volume(&self, percent: u8) {
        self.inner.percent.store(percent, Ordering::Relaxed);
        self.inner
            .volume
            .set_property("volume", f64::from(percent) / 100.0);
    }

    /// A guest's voice on the speaker, pushed as it is decoded ([`live`]).
    pub fn live_voice(&self) -> LiveVoice {
        self.inner.live.add()
    }

    /// How many guests' voices the speaker plays ([`RoomAudio::live_voice`]).
    pub fn live_voices(&self) -> usize {
        self.inner.live.len()
    }

    /// How many inputs the mixer has besides the chime's: the silence source and one per
    /// timed voice ([`RoomAudio::voice`]).
    pub fn mixer_inputs(&self) -> usize {
        self.inner.mixer.sink_pads().len().saturating_sub(1)
    }

    /// Play the knock's chime once in the room, through the mix. (A pipeline built without
    /// [`speaker_description`]'s chime input plays nothing.)
    pub fn chime(&self) {
        let Some(src) = self
            .inner
            .pipeline
            .by_name(CHIME_SRC)
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        else {
            return;
        };
        // One buffer: its samples are timed as one, never overlapping each other.
        if let Err(e) = src.push_buffer(gst::Buffer::from_slice(chime_samples())) {
            tracing::warn!("the knock's chime could not play: {e}");
        }
    }

    /// The echo probe before the speaker (the canceller's far end).
    pub fn echo_probe(&self) -> Option<gst::Element> {
        self.inner
            .pipeline
            .iterate_recurse()
            .into_iter()
            .flatten()
            .find(|e| e.factory().is_some_and(|f| f.name() == "webrtcechoprobe"))
    }

    /// The test speaker's `appsink` ([`Speaker::Tap`]).
    pub fn speaker_tap(&self) -> Option<gst_app::AppSink> {
        self.inner
            .pipeline
            .by_name(SPEAKER_TAP)
            .and_then(|e| e.downcast().ok())
    }

    /// A new input of the mixer, for audio timed by the caller ([`VoiceInput::push_at`]:
    /// the simulated room's far end) or on arrival ([`VoiceInput::push`]), at [`CAPS`].
    pub fn voice(&self, name: &str) -> Result<VoiceInput, MediaError> {
        let err = |message: String| MediaError::Build {
            what: "room audio",
            description: format!("voice `{name}`"),
            message,
        };
        let caps: gst::Caps = CAPS.parse().map_err(|_| err("bad caps".into()))?;
        let src = gst_app::AppSrc::builder()
            .caps(&caps)
            .format(gst::Format::Time)
            .is_live(true)
            .do_timestamp(true)
            // A second of voice at most; past that the oldest goes (a stalled mixer must
            // not grow memory).
            .max_bytes(VOICE_QUEUE_BYTES)
            // Its latency, said outright: timed on arrival, so none of its own, and it can
            // hold a second. Left to appsrc's default, a live appsrc answers "at most 0"
            // while the silence source needs 10 ms: the mixer cannot configure its
            // latency, warns "clock problem" for every buffer it makes (100 a second),
            // and runs without its timeout (a late voice holds up the whole mix).
            .min_latency(0)
            .max_latency(VOICE_QUEUE_NS as i64)
            .build();
        src.set_property_from_str("leaky-type", "downstream");
        let pipeline = &self.inner.pipeline;
        pipeline
            .add(&src)
            .map_err(|e| err(format!("cannot add its source: {e}")))?;
        let pad = self.inner.mixer.request_pad_simple("sink_%u");
        let linked = pad.as_ref().map(|pad| {
            src.static_pad("src")
                .map(|s| s.link(pad).is_ok())
                .unwrap_or(false)
        });
        if linked != Some(true) {
            if let Some(pad) = pad {
                self.inner.mixer.release_request_pad(&pad);
            }
            let _ = pipeline.remove(&src);
            return Err(err("the mixer gave no input to link".into()));
        }
        if let Err(e) = src.sync_state_with_parent() {
            let input = VoiceInput {
                src,
                pad,
                room: self.clone(),
            };
            drop(input);
            return Err(err(format!("cannot start its source: {e}")));
        }
        Ok(VoiceInput {
            src,
            pad,
            room: self.clone(),
        })
    }
}

/// Every guest's voice added to a buffer of the mix, which then no longer counts as a gap
/// (the volume leaves a gap alone).
fn add_voices(voices: &LiveVoices, buffer: &mut gst::Buffer) {
    voices.take(buffer.size() / 2, |sum| {
        let buffer = buffer.make_mut();
        let added = match buffer.map_writable() {
            Ok(mut map) => {
                live::add_saturating(map.as_mut_slice(), sum);
                true
            }
            Err(_) => false,
        };
        if added {
            buffer.unset_flags(gst::BufferFlags::GAP);
        }
    });
}

/// One timed voice in the mix. Dropping it releases its mixer input; the others play on.
pub struct VoiceInput {
    src: gst_app::AppSrc,
    pad: Option<gst::Pad>,
    room: RoomAudio,
}

impl VoiceInput {
    /// Decoded audio ([`CAPS`]); timed on arrival. A full queue drops the oldest.
    pub fn push(&self, samples: &[u8]) {
        let _ = self
            .src
            .push_buffer(gst::Buffer::from_slice(samples.to_vec()));
    }

    /// Audio timed by the caller: `pts` is the running time of its first sample (the
    /// simulated room plays its script on the pipeline's time, not on arrival).
    pub fn push_at(&self, samples: &[u8], pts: gst::ClockTime) {
        let mut buffer = gst::Buffer::from_slice(samples.to_vec());
        if let Some(b) = buffer.get_mut() {
            b.set_pts(pts);
            b.set_duration(gst::ClockTime::from_nseconds(
                (samples.len() / 2) as u64 * 1_000_000_000 / u64::from(RATE),
            ));
        }
        let _ = self.src.push_buffer(buffer);
    }

    /// A gauge other threads can read of how many pushed samples have not yet gone on to
    /// the mixer (it holds the source weakly: 0 once the voice has left).
    pub fn waiting_gauge(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let src = self.src.downgrade();
        move || src.upgrade().map_or(0, |s| s.current_level_bytes() / 2)
    }
}

impl Drop for VoiceInput {
    fn drop(&mut self) {
        // Stop the source first (its streaming thread ends), so nothing is pushed into an
        // input being released; then unlink, release and remove.
        let _ = self.src.set_state(gst::State::Null);
        if let Some(pad) = self.pad.take() {
            if let Some(src_pad) = self.src.static_pad("src") {
                let _ = src_pad.unlink(&pad);
            }
            self.room.inner.mixer.release_request_pad(&pad);
        }
        let _ = self.room.inner.pipeline.remove(&self.src);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn the_speaker_can_be_nowhere_a_named_device_or_a_test_tap() {
        assert_eq!(Speaker::from_config("none"), Speaker::None);
        assert_eq!(
            Speaker::from_config("hw:1,0"),
            Speaker::Alsa("hw:1,0".into())
        );
        let d = speaker_description(&Speaker::Alsa("hw:1,0".into()), 50);
        assert!(d.contains("alsasink name=speaker device=\"hw:1,0\""), "{d}");
        assert!(d.contains("volume=0.5"), "{d}");
        // Exactly one sink, whatever the number of guests.
        assert_eq!(d.matches("alsasink").count(), 1);
        assert!(speaker_description(&Speaker::Tap, 80).contains("appsink name=speaker-out"));
    }

    /// The mean sample value of the speaker's next buffer.
    fn next_mean(tap: &gst_app::AppSink) -> Option<f64> {
        let sample = tap.try_pull_sample(gst::ClockTime::from_mseconds(200))?;
        let map = sample.buffer()?.map_readable().ok()?;
        let s: Vec<f64> = map
            .chunks_exact(2)
            .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])))
            .collect();
        Some(s.iter().sum::<f64>() / s.len().max(1) as f64)
    }

    /// Whether the speaker comes to play `want` while `voices` each push a steady value.
    fn plays(tap: &gst_app::AppSink, voices: &[(&dyn Push, i16)], want: f64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            for (v, value) in voices {
                v.push(&steady(*value));
            }
            if let Some(mean) = next_mean(tap) {
                if (mean - want).abs() < 2.0 {
                    return true;
                }
                seen.push(mean);
            }
        }
        eprintln!("wanted {want}, the speaker played {seen:?}");
        false
    }

    /// A voice the tests push samples into, live or timed.
    trait Push {
        fn push(&self, samples: &[u8]);
    }

    impl Push for VoiceInput {
        fn push(&self, samples: &[u8]) {
            VoiceInput::push(self, samples);
        }
    }

    impl Push for LiveVoice {
        fn push(&self, samples: &[u8]) {
            let _ = LiveVoice::push(self, samples);
        }
    }

    fn steady(value: i16) -> Vec<u8> {
        std::iter::repeat_n(value, 480)
            .flat_map(i16::to_le_bytes)
            .collect()
    }

    /// The peak sample of the speaker's next buffer, if one comes.
    fn next_peak(tap: &gst_app::AppSink) -> Option<i16> {
        let sample = tap.try_pull_sample(gst::ClockTime::from_mseconds(200))?;
        let map = sample.buffer()?.map_readable().ok()?;
        map.chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]).saturating_abs())
            .max()
    }

    #[test]
    fn the_chime_is_short_soft_and_fades() {
        let samples: Vec<i16> = chime_samples()
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        let seconds = samples.len() as f32 / RATE as f32;
        assert!((0.3..=1.0).contains(&seconds), "{seconds} s");
        let peak = samples
            .iter()
            .map(|s| s.saturating_abs())
            .max()
            .unwrap_or(0);
        // Heard, never loud: between -20 and -12 dBFS.
        assert!((3_000..=8_300).contains(&peak), "peak {peak}");
        // Each note fades: its end is far softer than its start, and it starts with no click.
        let note = samples.len() / 2;
        for n in samples.chunks(note) {
            let head = n[..note / 10]
                .iter()
                .map(|s| s.saturating_abs())
                .max()
                .unwrap_or(0);
            let tail = n[note - note / 10..]
                .iter()
                .map(|s| s.saturating_abs())
                .max()
                .unwrap_or(0);
            assert!(tail * 4 < head, "head {head}, tail {tail}");
            assert!(n[0].saturating_abs() < 100, "a click: {}", n[0]);
        }
    }

    /// A knock's chime reaches the speaker through the mix: silence, then sound, then
    /// silence again, the mix running on.
    #[test]
    fn the_chime_plays_through_the_one_speaker_and_ends() {
        gst::init().unwrap();
        let room = RoomAudio::build(&speaker_description(&Speaker::Tap, 60), 60).unwrap();
        room.pipeline().set_state(gst::State::Playing).unwrap();
        let tap = room.speaker_tap().unwrap();
        // The mix is running, in silence, before the knock.
        let deadline = Instant::now() + Duration::from_secs(10);
        let first = loop {
            if let Some(peak) = next_peak(&tap) {
                break peak;
            }
            assert!(Instant::now() < deadline, "the mix never started");
        };
        assert_eq!(first, 0, "silence before the knock");
        room.chime();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut loudest = 0;
        let mut pulled = 0;
        while loudest < 1_000 {
            if Instant::now() >= deadline {
                // Where it stopped: still queued in its source, or lost on the way.
                let queued = room
                    .pipeline()
                    .by_name(CHIME_SRC)
                    .map(|e| e.property::<u64>("current-level-bytes"));
                panic!(
                    "no chime reached the speaker: {pulled} buffers of silence in 10 s, \
                     {queued:?} bytes of chime still queued, the mix at {:?}",
                    room.pipeline().query_position::<gst::ClockTime>()
                );
            }
            if let Some(peak) = next_peak(&tap) {
                pulled += 1;
                loudest = loudest.max(peak);
            }
        }
        // At the room's volume: the chime's peak times 0.6, give or take.
        assert!(loudest <= 5_000, "too loud: {loudest}");
        // Then it ends: silence again, with the mix still running.
        let deadline = Instant::now() + Duration::from_secs(10);
        while next_peak(&tap) != Some(0) {
            assert!(Instant::now() < deadline, "the chime never ended");
        }
        room.pipeline().set_state(gst::State::Null).unwrap();
    }

    /// Four guests' voices come out of one sink summed at the room's volume, with no input
    /// of the mixer each; those leaving go and the last keeps playing.
    #[test]
    fn voices_are_mixed_into_one_sink_and_a_voice_leaves_cleanly() {
        gst::init().unwrap();
        let room = RoomAudio::build(&speaker_description(&Speaker::Tap, 50), 50).unwrap();
        room.pipeline().set_state(gst::State::Playing).unwrap();
        let tap = room.speaker_tap().unwrap();
        let [a, b, c, d] = [(); 4].map(|()| room.live_voice());
        assert_eq!(room.live_voices(), 4);
        assert_eq!(room.mixer_inputs(), 1, "the silence source only");
        // Four guests at once: 1000 + 2000 + 3000 + 4000 at half volume is 5000.
        assert!(
            plays(
                &tap,
                &[(&a, 1000), (&b, 2000), (&c, 3000), (&d, 4000)],
                5000.0
            ),
            "all four, summed, halved"
        );
        drop(d);
        drop(c);
        drop(b);
        assert_eq!(room.live_voices(), 1, "the leaving voices are gone");
        assert!(
            plays(&tap, &[(&a, 1000)], 500.0),
            "the other voice plays on"
        );
        room.set_volume(100);
        assert!(
            plays(&tap, &[(&a, 1000)], 1000.0),
            "the volume applies to the mix"
        );
        drop(a);
        assert_eq!(room.live_voices(), 0);
        assert!(plays(&tap, &[], 0.0), "silence, still running");
        room.pipeline().set_state(gst::State::Null).unwrap();
    }

    /// Timed voices (the simulated room's far end) each have an input of the mixer,
    /// released as they leave, and are heard with the guests' voices.
    #[test]
    fn timed_voices_have_inputs_of_their_own_and_release_them() {
        gst::init().unwrap();
        let room = RoomAudio::build(&speaker_description(&Speaker::Tap, 100), 100).unwrap();
        room.pipeline().set_state(gst::State::Playing).unwrap();
        let tap = room.speaker_tap().unwrap();
        let far = room.voice("far").unwrap();
        let guest = room.live_voice();
        assert_eq!(room.mixer_inputs(), 2);
        assert!(
            plays(&tap, &[(&far, 1000), (&guest, 2000)], 3000.0),
            "both, summed"
        );
        drop(far);
        assert_eq!(room.mixer_inputs(), 1, "its input is released");
        assert!(plays(&tap, &[(&guest, 2000)], 2000.0), "the guest plays on");
        room.pipeline().set_state(gst::State::Null).unwrap();
    }
}
