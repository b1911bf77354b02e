//! A simulated room around the unit's real audio pipeline, for tests and the audio bench.
//!
//! The room's pipeline ([`super::audio::description`]) runs with the test speaker
//! ([`Speaker::Tap`]) and the test microphone ([`Mic::Feed`]), the same seam as ALSA. A
//! guest's voice (the far end) goes into the mix like any decoded voice; every 10 ms the
//! speaker gives, its sound goes through an echo path (a delay, a sparse room impulse
//! response, a clock drift between speaker and microphone, background noise), is summed
//! with the person at the table (the near end) and fed to the microphone. What the
//! processing makes of it is read right after `webrtcdsp` (the element named
//! [`PROCESSED`]). The speaker's clock paces everything: no timers.
//!
//! [`Measures`] computes ERLE (echo return loss enhancement: how much weaker the echo is
//! after processing than in the microphone) and the near end's loss in double talk.

use super::MediaError;
use super::audio::{MIC_FEED, Mic, PROCESSED, build};
use super::room::{RATE, RoomAudio, Speaker};
use crate::config::AudioConfig;
use crate::metrics::lock;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How sound goes from the speaker to the microphone.
#[derive(Debug, Clone)]
pub struct EchoPath {
    /// From the speaker playing to the microphone's sample, direct path, in ms: the air,
    /// the converters, whatever the devices do not report.
    pub delay_ms: f64,
    /// Gain of the direct path (0.3: the echo about 10 dB under the speaker's signal).
    pub gain: f64,
    /// Reflections after the direct path: (ms after it, gain).
    pub reflections: Vec<(f64, f64)>,
}

impl EchoPath {
    /// A small room: the direct path, then `count` reflections over 80 ms decaying like a
    /// 0.3 s reverberation, signs and places from `seed`.
    pub fn room(delay_ms: f64, gain: f64, count: usize, seed: u64) -> EchoPath {
        let mut rng = Lcg(seed);
        let reflections = (0..count)
            .map(|_| {
                let after = 1.0 + rng.uniform() * 79.0;
                // -60 dB over 300 ms.
                let decay = 10f64.powf(-3.0 * after / 300.0);
                let sign = if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
                (after, sign * gain * 0.5 * decay * (0.5 + rng.uniform()))
            })
            .collect();
        EchoPath {
            delay_ms,
            gain,
            reflections,
        }
    }

    fn taps(&self) -> Vec<(f64, f64)> {
        let ms = f64::from(RATE) / 1000.0;
        std::iter::once((self.delay_ms * ms, self.gain))
            .chain(
                self.reflections
                    .iter()
                    .map(|(after, g)| ((self.delay_ms + after) * ms, *g)),
            )
            .collect()
    }
}

/// The room around the unit.
#[derive(Debug, Clone)]
pub struct Room {
    /// The echo path from the start, and the ones it changes to (at a sample index).
    pub paths: Vec<(usize, EchoPath)>,
    /// The microphone's clock against the speaker's, in ppm (±50 for two USB devices).
    pub drift_ppm: f64,
    /// Background noise at the microphone, RMS in dB full scale.
    pub noise_dbfs: f64,
    /// How long the speaker device holds sound before playing it, as it reports to the
    /// pipeline (ALSA's buffer). The echo's delay is this plus the echo path's.
    pub speaker_latency_ms: f64,
}

/// What is played and said, sample by sample at [`RATE`]: the far end (a guest's voice,
/// into the mix) and the near end (the person at the table, at the microphone).
#[derive(Debug, Clone, Default)]
pub struct Script {
    pub far: Vec<i16>,
    pub near: Vec<i16>,
}

/// What the microphone got and what came out of the processing, aligned on the
/// microphone's samples.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    /// The microphone: echo + near end + noise.
    pub mic: Vec<f64>,
    /// The echo alone (and noise), as it reached the microphone.
    pub echo: Vec<f64>,
    /// The near end alone, as it reached the microphone.
    pub near: Vec<f64>,
    /// After the processing.
    pub processed: Vec<f64>,
}

/// Energy of `x[range]` in dB (relative), -inf when silent.
fn energy_db(x: &[f64], from: usize, to: usize) -> f64 {
    let to = to.min(x.len());
    let from = from.min(to);
    let sum: f64 = x[from..to].iter().map(|v| v * v).sum();
    10.0 * sum.log10()
}

impl Recording {
    /// ERLE over samples `from..to` (a stretch where only the far end talks): the
    /// microphone's energy over the processed signal's, in dB.
    pub fn erle(&self, from: usize, to: usize) -> f64 {
        energy_db(&self.mic, from, to) - energy_db(&self.processed, from, to)
    }

    /// How much weaker the processed signal is than the near end alone over `from..to` (a
    /// stretch of double talk), in dB: the near end's loss (the residual echo in the
    /// processed signal makes it look smaller than it is).
    pub fn near_loss(&self, from: usize, to: usize) -> f64 {
        energy_db(&self.near, from, to) - energy_db(&self.processed, from, to)
    }
}

/// A small deterministic random source (no dependency, same room every run).
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal, unit variance (sum of 12 uniforms).
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
}

/// The speaker's sound at fractional sample `t`, linearly interpolated (0 outside).
fn at(speaker: &[f64], t: f64) -> f64 {
    if t < 0.0 {
        return 0.0;
    }
    let i = t.floor() as usize;
    let frac = t - t.floor();
    let a = speaker.get(i).copied().unwrap_or(0.0);
    let b = speaker.get(i + 1).copied().unwrap_or(0.0);
    a + (b - a) * frac
}

fn samples(buffer: &gst::BufferRef) -> Vec<f64> {
    buffer
        .map_readable()
        .map(|m| {
            m.chunks_exact(2)
                .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])))
                .collect()
        })
        .unwrap_or_default()
}

fn bytes(x: impl IntoIterator<Item = f64>) -> Vec<u8> {
    x.into_iter()
        .flat_map(|v| (v.round().clamp(-32768.0, 32767.0) as i16).to_le_bytes())
        .collect()
}

fn element<T: IsA<gst::Element>>(room: &RoomAudio, name: &str) -> Result<T, MediaError> {
    room.pipeline()
        .by_name(name)
        .and_then(|e| e.downcast::<T>().ok())
        .ok_or_else(|| MediaError::Build {
            what: "simulated room",
            description: String::new(),
            message: format!("no element `{name}` of the right kind"),
        })
}

/// Play `script` through the unit's audio pipeline (as `config` sets it up) in `room`, in
/// real time, and record what the processing made of it. Fails if the speaker stops giving
/// sound for `stall` (a pipeline that does not run).
pub fn run(
    config: &AudioConfig,
    script: &Script,
    room: &Room,
    stall: Duration,
) -> Result<Recording, MediaError> {
    gst::init().map_err(|e| MediaError::Init(e.to_string()))?;
    let audio = build(config, &Mic::Feed, &Speaker::Tap)?;
    let feed: gst_app::AppSrc = element(&audio, MIC_FEED)?;
    let tap = audio.speaker_tap().ok_or_else(|| MediaError::Build {
        what: "simulated room",
        description: String::new(),
        message: "no speaker tap".into(),
    })?;
    let processed = Arc::new(Mutex::new(Vec::<f64>::new()));
    // The test speaker plays like a device with this much buffer (reported as latency).
    tap.set_property(
        "render-delay",
        gst::ClockTime::from_nseconds((room.speaker_latency_ms * 1e6) as u64),
    );
    let meter: gst::Element = element(&audio, PROCESSED)?;
    if let Some(pad) = meter.static_pad("src") {
        let processed = processed.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buffer) = info.buffer() {
                lock(&processed).extend(samples(buffer));
            }
            gst::PadProbeReturn::Ok
        });
    }
    let voice = audio.voice("far-end")?;
    // A device gives its first stretch of sound at once: the Opus sink gets its first
    // packet, the pipeline plays and works out its latency (which the echo probe uses).
    let lead = (RATE / 10) as usize;
    let mut rec = Recording {
        mic: vec![0.0; lead],
        echo: vec![0.0; lead],
        near: vec![0.0; lead],
        processed: Vec::new(),
    };
    let mut first = gst::Buffer::from_slice(bytes(vec![0.0; lead]));
    if let Some(b) = first.get_mut() {
        b.set_pts(gst::ClockTime::ZERO);
        b.set_duration(gst::ClockTime::from_mseconds(100));
    }
    feed.push_buffer(first).map_err(|e| MediaError::Element {
        what: "simulated room",
        element: MIC_FEED.into(),
        message: e.to_string(),
    })?;
    audio
        .pipeline()
        .set_state(gst::State::Playing)
        .map_err(|e| MediaError::Element {
            what: "simulated room",
            element: "pipeline".into(),
            message: e.to_string(),
        })?;
    let sink: gst_app::AppSink = element(&audio, "sink")?;
    let result = play(
        script,
        room,
        audio.pipeline(),
        Taps {
            tap: &tap,
            feed: &feed,
            voice: &voice,
            sink: &sink,
        },
        &mut rec,
        stall,
    );
    drop(voice);
    let _ = audio.pipeline().set_state(gst::State::Null);
    result?;
    rec.processed = std::mem::take(&mut *lock(&processed));
    // The processing buffers up to 10 ms: line its output up with the microphone.
    let shift = best_shift(&rec.mic, &rec.processed, (RATE / 50) as usize);
    rec.processed.drain(..shift.min(rec.processed.len()));
    let n = rec.mic.len().min(rec.processed.len());
    rec.mic.truncate(n);
    rec.echo.truncate(n);
    rec.near.truncate(n);
    rec.processed.truncate(n);
    Ok(rec)
}

/// The lag (0 to `max`) at which `y` best matches `x` (with the processing off they are
/// the same signal; with it on, the near end still lines them up).
fn best_shift(x: &[f64], y: &[f64], max: usize) -> usize {
    let n = x.len().min(y.len()).saturating_sub(max);
    (0..=max)
        .max_by(|&a, &b| {
            let c = |lag: usize| -> f64 { (0..n).step_by(4).map(|i| x[i] * y[i + lag]).sum() };
            c(a).total_cmp(&c(b))
        })
        .unwrap_or(0)
}

/// The pipeline's ends the simulation plays with.
struct Taps<'a> {
    /// The speaker's sound, paced by the clock.
    tap: &'a gst_app::AppSink,
    /// The microphone.
    feed: &'a gst_app::AppSrc,
    /// The far end's voice, into the mix.
    voice: &'a super::room::VoiceInput,
    /// The Opus packets (drained).
    sink: &'a gst_app::AppSink,
}

/// How long after its timestamp `buffer` reached the speaker (it was just handed over).
fn played_late(pipeline: &gst::Pipeline, buffer: &gst::BufferRef) -> f64 {
    match (pipeline.current_running_time(), buffer.pts()) {
        (Some(now), Some(pts)) => now.nseconds().saturating_sub(pts.nseconds()) as f64 / 1e9,
        _ => 0.0,
    }
}

fn play(
    script: &Script,
    room: &Room,
    pipeline: &gst::Pipeline,
    taps: Taps<'_>,
    rec: &mut Recording,
    stall: Duration,
) -> Result<(), MediaError> {
    let stalled = |what: &str| MediaError::Element {
        what: "simulated room",
        element: what.into(),
        message: format!("no sound for {stall:?}"),
    };
    let mut rng = Lcg(7);
    let noise_rms = 32768.0 * 10f64.powf(room.noise_dbfs / 20.0);
    let ratio = 1.0 + room.drift_ppm * 1e-6;
    let rate = f64::from(RATE);
    let mut speaker: Vec<f64> = Vec::new();
    let mut far_at = 0;
    let total = script.far.len().max(script.near.len());
    let chunk = (RATE / 100) as usize;
    let push_far = |far_at: &mut usize| {
        let end = (*far_at + chunk).min(script.far.len());
        if *far_at < end {
            taps.voice.push(&bytes(
                script.far[*far_at..end].iter().map(|&s| f64::from(s)),
            ));
        } else {
            taps.voice.push(&bytes(vec![0.0; chunk]));
        }
        *far_at += chunk;
    };
    // The far end starts 20 ms ahead of the speaker.
    push_far(&mut far_at);
    push_far(&mut far_at);
    // A buffer with timestamp t is played at t + latency (the tap hands it over then); the
    // microphone's sample at t hears what was played the echo path's delay earlier.
    let mut played_after = None;
    while rec.mic.len() < total {
        let deadline = Instant::now() + stall;
        let sample = loop {
            if let Some(s) = taps.tap.try_pull_sample(gst::ClockTime::from_mseconds(50)) {
                break s;
            }
            if Instant::now() > deadline {
                return Err(stalled(super::room::SPEAKER_TAP));
            }
        };
        // Opus packets nobody reads would fill the encoder's sink and stall the mic path.
        while taps.sink.try_pull_sample(gst::ClockTime::ZERO).is_some() {}
        let Some(buffer) = sample.buffer() else {
            continue;
        };
        let latency = *played_after.get_or_insert_with(|| played_late(pipeline, buffer));
        speaker.extend(samples(buffer));
        push_far(&mut far_at);
        // The microphone has captured up to now: the speaker's newest buffer is being
        // played (`latency` after its timestamp).
        let first = rec.mic.len();
        let made = (speaker.len() + (latency * rate) as usize).saturating_sub(first);
        let n = first;
        let path = room
            .paths
            .iter()
            .rev()
            .find(|(from, _)| *from <= n)
            .or(room.paths.first())
            .map(|(_, p)| p.taps())
            .unwrap_or_default();
        let mut out = Vec::with_capacity(made);
        for m in first..first + made {
            let t = (m as f64) * ratio - latency * rate;
            let echo: f64 = path
                .iter()
                .map(|(d, g)| g * at(&speaker, t - d))
                .sum::<f64>()
                + noise_rms * rng.normal();
            let near = f64::from(script.near.get(m).copied().unwrap_or(0));
            rec.echo.push(echo);
            rec.near.push(near);
            rec.mic.push(echo + near);
            out.push(echo + near);
        }
        let mut buffer = gst::Buffer::from_slice(bytes(out));
        if let Some(b) = buffer.get_mut() {
            b.set_pts(gst::ClockTime::from_nseconds(
                (first as u64) * 1_000_000_000 / u64::from(RATE),
            ));
            b.set_duration(gst::ClockTime::from_nseconds(
                (made as u64) * 1_000_000_000 / u64::from(RATE),
            ));
        }
        taps.feed
            .push_buffer(buffer)
            .map_err(|e| MediaError::Element {
                what: "simulated room",
                element: MIC_FEED.into(),
                message: e.to_string(),
            })?;
    }
    Ok(())
}

/// The voices of the simulated dinner: a guest speaking English and French (the far end),
/// and a person at the table answering in French (the near end).
#[derive(Debug, Clone)]
pub struct Voices {
    pub guest_en: Vec<i16>,
    pub guest_fr: Vec<i16>,
    pub table: Vec<i16>,
}

impl Voices {
    /// Spoken by espeak-ng; the error says what to install when it is missing.
    pub fn speak() -> Result<Voices, String> {
        let say = |voice: &str, text: &str| {
            speak(voice, text).map_err(|e| {
                format!("{e}: the simulated room needs espeak-ng and sox (cargo xtask setup)")
            })
        };
        Ok(Voices {
            guest_en: say(
                "en",
                "Hello everyone, I can hear you very well. The food looks delicious tonight. \
                 What did you order? I would love to join you next time.",
            )?,
            guest_fr: say(
                "fr",
                "Bonjour à tous, on dîne ensemble ce soir. Le dessert a l'air excellent, \
                 vous avez choisi quoi? Je viendrai la prochaine fois.",
            )?,
            table: say(
                "fr+m3",
                "Oui, c'est délicieux, tu devrais venir avec nous la prochaine fois.",
            )?,
        })
    }
}

/// Speech from `espeak-ng` (voice `voice`, e.g. `en`, `fr+f3`), at [`RATE`], mono, through
/// `sox`. Needs Debian's `espeak-ng` and `sox`.
pub fn speak(voice: &str, text: &str) -> std::io::Result<Vec<i16>> {
    use std::process::{Command, Stdio};
    let dir = std::env::temp_dir().join(format!("visavis-speak-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let wav = dir.join(format!("{}.wav", voice.replace('+', "-")));
    let status = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(&wav)
        .arg(text)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(std::io::Error::other(format!(
            "espeak-ng -v {voice} failed"
        )));
    }
    let out = Command::new("sox")
        .arg(&wav)
        .args([
            "-t",
            "raw",
            "-r",
            &RATE.to_string(),
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            "-L",
            "-",
        ])
        .stderr(Stdio::null())
        .output()?;
    let _ = std::fs::remove_file(&wav);
    if !out.status.success() {
        return Err(std::io::Error::other("sox could not resample the speech"));
    }
    Ok(out
        .stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_echo_path_has_its_delay_and_decaying_reflections() {
        let p = EchoPath::room(60.0, 0.3, 20, 1);
        let taps = p.taps();
        assert_eq!(taps.len(), 21);
        assert_eq!(taps[0], (60.0 * 48.0, 0.3));
        assert!(
            taps[1..]
                .iter()
                .all(|(d, g)| *d > 61.0 * 48.0 - 1.0 && *d < 140.0 * 48.0 && g.abs() < 0.3)
        );
    }

    #[test]
    fn erle_is_the_energy_taken_away() {
        let mic = vec![1000.0; 100];
        let rec = Recording {
            processed: vec![10.0; 100],
            echo: mic.clone(),
            near: vec![0.0; 100],
            mic,
        };
        assert!((rec.erle(0, 100) - 40.0).abs() < 1e-9);
        assert_eq!(at(&[0.0, 10.0], 0.5), 5.0);
        let mut x = vec![0.0; 12];
        let mut y = vec![0.0; 13];
        x[4] = 1.0;
        y[5] = 1.0;
        assert_eq!(best_shift(&x, &y, 2), 1);
    }
}
