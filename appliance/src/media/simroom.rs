//! A simulated room around the unit's real audio pipeline, for tests and the audio bench.
//!
//! The room's pipeline ([`super::audio::description`]) runs with the test speaker
//! ([`Speaker::Tap`]) and the test microphone ([`Mic::Feed`]), the same seam as ALSA. A
//! guest's voice (the far end) goes into the mix like any decoded voice; the speaker's
//! sound goes through an echo path (a delay, a sparse room impulse response, a clock drift
//! between speaker and microphone, background noise), is summed with the person at the
//! table (the near end) and fed to the microphone, 10 ms at a time. What the processing
//! makes of it is read right after `webrtcdsp` (the element named [`PROCESSED`]).
//! Everything is timed by the pipeline's timestamps, and the simulation and the pipeline
//! step each other on (see [`run`]), so the canceller gets the far end and the microphone
//! in the same order whatever the load, and the speech is made without dither: the speaker,
//! the microphone and the processed output are the same bit for bit from run to run on a
//! loaded machine ([`Recording::trace`] prints their fingerprints). Each room's echo probe
//! has a name of its own ([`super::room::echo_probe_name`]): `webrtcdsp` looks its probe up
//! by name among all the process's, and with two runs side by side under one name a
//! canceller took the other run's speaker as its far end in about one loaded run in five
//! (19 to 34 dB steady instead of 47).
//!
//! [`Recording`] computes ERLE (echo return loss enhancement: how much weaker the echo is
//! after processing than in the microphone) and the near end's loss in double talk.

use super::MediaError;
use super::audio::{MIC_FEED, Mic, PROCESSED, build};
use super::room::{RATE, RoomAudio, Speaker};
use crate::config::AudioConfig;
use crate::metrics::lock;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

mod live;
pub use live::echo_live;

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
    /// How the run went, for a test to print: the pipeline's latency, the far end's lead,
    /// how the output was lined up, and fingerprints of what was played and heard.
    pub trace: String,
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

/// 10 ms at [`RATE`]: the canceller's frame, the mix's buffer.
const FRAME: usize = (RATE / 100) as usize;
/// How long before its echo reaches the microphone a stretch of the far end reaches the
/// canceller (ms). In the delay-agnostic mode `webrtcdsp` hands the canceller all the far
/// end the probe holds each time it takes 10 ms of microphone, so this lead is set by when
/// the pipeline's threads run. On a quiet machine the room showed about 20 ms; the
/// canceller (webrtc-audio-processing 0.3) keeps 45 dB with it and falls to 8-16 dB
/// steady at 40-80 ms, which is how a loaded machine used to fail the test.
const FAR_LEAD_MS: f64 = 20.0;
/// The microphone's first stretch, given at once as a device does (frames): the Opus sink
/// gets its first packet and the pipeline works out its latency.
const LEAD: usize = 10;
/// How far ahead of the mix the far end's voice is queued (frames).
const VOICE_AHEAD: usize = 20;
/// The mix takes the far end's frame `n` once the voice has handed on this many frames past
/// it (so frame `n + 1` is in the mixer's input before it mixes).
const VOICE_READY: usize = 3;

/// What the pipeline's threads tell the simulation, under one lock.
#[derive(Default)]
struct Progress {
    /// The speaker's sound by its running time (sample index), as it left the mix.
    speaker: Vec<f64>,
    /// Frames of the far end that reached the echo probe (within the canceller's reach).
    far_frames: usize,
    /// Samples of the far end's voice pushed into the mix so far.
    voice_pushed: usize,
    /// What came out of the processing.
    processed: Vec<f64>,
    /// The pipeline's latency, once configured.
    latency: Option<gst::ClockTime>,
    /// Later latencies that differed from the first.
    latency_changes: Vec<gst::ClockTime>,
    /// Where the mix's buffers started (sample index) and how long they were, the first
    /// few.
    mix_buffers: Vec<(usize, usize)>,
    /// Once the latency is known: the canceller takes the microphone's frame `k` when the
    /// far end is in the probe up to frame `k - far_behind` and not beyond
    /// ([`FAR_LEAD_MS`]).
    far_behind: Option<usize>,
    /// The run is over: nobody waits any more.
    done: bool,
}

/// The simulation's clock: the pipeline's threads and the simulation step each other on
/// (see [`run`]).
#[derive(Default)]
struct Lockstep {
    progress: Mutex<Progress>,
    changed: Condvar,
}

impl Lockstep {
    fn update(&self, f: impl FnOnce(&mut Progress)) {
        f(&mut lock(&self.progress));
        self.changed.notify_all();
    }
}

fn pts_index(buffer: &gst::BufferRef) -> Option<usize> {
    buffer
        .pts()
        .map(|t| (t.nseconds() as u128 * u128::from(RATE) / 1_000_000_000) as usize)
}

/// How a run that made no progress says so ([`stalled`]).
const STALLED: &str = "no progress";

/// Whether `run` failed because the lockstep made no progress: the simulation's own
/// start-up race (the mixer's thread waiting at the gate for a voice its queue has not
/// handed on yet), not anything the canceller did. Seen in one of four CI runs on a
/// loaded 2-core machine; a test may run the room again.
pub fn stalled(e: &MediaError) -> bool {
    matches!(e, MediaError::Element { what: "simulated room", message, .. } if message.starts_with(STALLED))
}

/// Play `script` through the unit's audio pipeline (as `config` sets it up) in `room`, and
/// record what the processing made of it. Fails if the pipeline makes no progress for
/// `stall`.
///
/// The pipeline runs on its clock (the speaker's sink keeps real time), but what the
/// canceller sees does not depend on how busy the machine is: the simulation and the
/// pipeline go in lockstep. The mix's output waits at the echo probe until the canceller
/// has taken the microphone's frames it belongs with ([`FAR_LEAD_MS`]), and the microphone's
/// next frame waits until the far end is in the probe; the far end's voice and the
/// microphone are timed by their place in the script, not by when they are pushed; the
/// echo is worked out from the speaker's timestamps and the pipeline's latency (a buffer
/// with timestamp `t` leaves the speaker at `t + latency`).
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
    // The test speaker plays like a device with this much buffer (reported as latency).
    tap.set_property(
        "render-delay",
        gst::ClockTime::from_nseconds((room.speaker_latency_ms * 1e6) as u64),
    );
    let sink: gst_app::AppSink = element(&audio, "sink")?;
    let voice = audio.voice("far-end")?;
    let step = Arc::new(Lockstep::default());
    let probes = watch(&audio, &step, voice.waiting_gauge())?;
    let result = play(
        script, room, &audio, &feed, &voice, &tap, &sink, &step, stall,
    );
    step.update(|p| p.done = true);
    for (pad, id) in probes {
        if let Some(id) = id {
            pad.remove_probe(id);
        }
    }
    drop(voice);
    let _ = audio.pipeline().set_state(gst::State::Null);
    let mut rec = result?;
    let (latency, behind, changes, speaker, mix) = {
        let mut p = lock(&step.progress);
        rec.processed = std::mem::take(&mut p.processed);
        (
            p.latency,
            p.far_behind,
            p.latency_changes.clone(),
            fingerprint(&p.speaker),
            p.mix_buffers.clone(),
        )
    };
    // The processing buffers up to 10 ms: line its output up with the microphone.
    let shift = best_shift(&rec.mic, &rec.processed, FRAME * 2);
    rec.trace = format!(
        "latency {latency:?} (then {changes:?}), far end {behind:?} frames behind, mix \
         buffers {mix:?}, output shifted {shift} samples; speaker {speaker:016x}, microphone \
         {:016x}, processed {:016x}",
        fingerprint(&rec.mic),
        fingerprint(&rec.processed),
    );
    rec.processed.drain(..shift.min(rec.processed.len()));
    let n = rec.mic.len().min(rec.processed.len());
    rec.mic.truncate(n);
    rec.echo.truncate(n);
    rec.near.truncate(n);
    rec.processed.truncate(n);
    Ok(rec)
}

/// The pad probes that report to `step`, and the gate at the echo probe.
fn watch(
    audio: &RoomAudio,
    step: &Arc<Lockstep>,
    voice_waiting: impl Fn() -> u64 + Send + Sync + 'static,
) -> Result<Vec<(gst::Pad, Option<gst::PadProbeId>)>, MediaError> {
    let pad = |element: &str, pad: &str| -> Result<gst::Pad, MediaError> {
        element_pad(audio, element, pad)
    };
    let mut probes = Vec::new();
    // What the processing gives, frame by frame.
    let processed = pad(PROCESSED, "src")?;
    let s = step.clone();
    probes.push((
        processed.clone(),
        processed.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buffer) = info.buffer() {
                let x = samples(buffer);
                s.update(|p| p.processed.extend(x));
            }
            gst::PadProbeReturn::Ok
        }),
    ));
    // The gate: far-end frame `n` goes into the probe once the canceller has taken the
    // microphone's frame `n + far_behind` (after the first stretch, and once the pipeline
    // has its latency), and the voice is queued in the mixer past it.
    let probe = audio.echo_probe().ok_or_else(|| MediaError::Build {
        what: "simulated room",
        description: String::new(),
        message: "no echo probe".into(),
    })?;
    let probe_pad = |name: &str| {
        probe.static_pad(name).ok_or_else(|| MediaError::Build {
            what: "simulated room",
            description: String::new(),
            message: format!("the echo probe has no pad `{name}`"),
        })
    };
    let gate = probe_pad("sink")?;
    let s = step.clone();
    probes.push((
        gate.clone(),
        gate.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let Some(n) = info.buffer().and_then(|b| pts_index(b)).map(|i| i / FRAME) else {
                return gst::PadProbeReturn::Ok;
            };
            let mut p = lock(&s.progress);
            loop {
                let near = p.processed.len() / FRAME;
                let handed = p.voice_pushed.saturating_sub(voice_waiting() as usize) / FRAME;
                let open = match (n, p.far_behind) {
                    (0, _) => near >= LEAD,
                    (_, Some(behind)) => near >= LEAD.max(n + behind),
                    (_, None) => false,
                } && handed >= n + VOICE_READY;
                if open || p.done {
                    break;
                }
                // The voice's queue drains on its own thread: look again shortly.
                p = s
                    .changed
                    .wait_timeout(p, Duration::from_millis(2))
                    .map_or_else(|e| e.into_inner().0, |(g, _)| g);
            }
            gst::PadProbeReturn::Ok
        }),
    ));
    // Past the probe (in the canceller's reach): what the speaker plays, by timestamp.
    let played = probe_pad("src")?;
    let s = step.clone();
    probes.push((
        played.clone(),
        played.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buffer) = info.buffer()
                && let Some(at) = pts_index(buffer)
            {
                let x = samples(buffer);
                s.update(|p| {
                    let end = at + x.len();
                    if p.mix_buffers.len() < 4 {
                        p.mix_buffers.push((at, x.len()));
                    }
                    if p.speaker.len() < end {
                        p.speaker.resize(end, 0.0);
                    }
                    p.speaker[at..end].copy_from_slice(&x);
                    p.far_frames = p.far_frames.max(end / FRAME);
                });
            }
            gst::PadProbeReturn::Ok
        }),
    ));
    // The latency the sinks are given, once the pipeline has worked it out (upstream of
    // the echo probe, so the probe has it first).
    let volume = pad("room-volume", "src")?;
    let s = step.clone();
    probes.push((
        volume.clone(),
        volume.add_probe(gst::PadProbeType::EVENT_UPSTREAM, move |_, info| {
            if let Some(gst::PadProbeData::Event(e)) = &info.data
                && let gst::EventView::Latency(l) = e.view()
            {
                let latency = l.latency();
                // The first one holds for the whole run: the echo and the lockstep are
                // worked out from it (a later one would move the echo against the gate).
                s.update(|p| match p.latency {
                    None => p.latency = Some(latency),
                    Some(first) if first != latency => {
                        p.latency_changes.push(latency);
                        tracing::warn!(%first, %latency, "simulated room: the pipeline's latency changed; keeping the first");
                    }
                    Some(_) => {}
                });
            }
            gst::PadProbeReturn::Ok
        }),
    ));
    Ok(probes)
}

fn element_pad(audio: &RoomAudio, name: &str, pad: &str) -> Result<gst::Pad, MediaError> {
    element::<gst::Element>(audio, name)?
        .static_pad(pad)
        .ok_or_else(|| MediaError::Build {
            what: "simulated room",
            description: String::new(),
            message: format!("`{name}` has no pad `{pad}`"),
        })
}

/// A fingerprint of `x` (FNV-1a over the samples), to tell runs apart.
fn fingerprint(x: &[f64]) -> u64 {
    x.iter().fold(0xcbf2_9ce4_8422_2325, |h, v| {
        (h ^ (*v as i64 as u64)).wrapping_mul(0x0100_0000_01b3)
    })
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

fn timed(x: impl IntoIterator<Item = f64>, first: usize) -> gst::Buffer {
    let data = bytes(x);
    let count = data.len() / 2;
    let mut buffer = gst::Buffer::from_slice(data);
    if let Some(b) = buffer.get_mut() {
        let ns =
            |i: usize| gst::ClockTime::from_nseconds(i as u64 * 1_000_000_000 / u64::from(RATE));
        b.set_pts(ns(first));
        b.set_duration(ns(count));
    }
    buffer
}

#[allow(clippy::too_many_arguments)]
fn play(
    script: &Script,
    room: &Room,
    audio: &RoomAudio,
    feed: &gst_app::AppSrc,
    voice: &super::room::VoiceInput,
    tap: &gst_app::AppSink,
    sink: &gst_app::AppSink,
    step: &Lockstep,
    stall: Duration,
) -> Result<Recording, MediaError> {
    let pushed = |e: gst::FlowError| MediaError::Element {
        what: "simulated room",
        element: MIC_FEED.into(),
        message: e.to_string(),
    };
    let frames = script
        .far
        .len()
        .max(script.near.len())
        .div_ceil(FRAME)
        .max(LEAD + 1);
    let far = |i: usize| f64::from(script.far.get(i).copied().unwrap_or(0));
    let push_voice = |upto: usize| {
        let mut p = lock(&step.progress);
        while p.voice_pushed < upto * FRAME {
            let at = p.voice_pushed;
            let x: Vec<u8> = bytes((at..at + FRAME).map(far));
            voice.push_at(&x, timed([], at).pts().unwrap_or_default());
            p.voice_pushed += FRAME;
        }
    };
    let mut rec = Recording {
        mic: vec![0.0; LEAD * FRAME],
        echo: vec![0.0; LEAD * FRAME],
        near: vec![0.0; LEAD * FRAME],
        processed: Vec::new(),
        trace: String::new(),
    };
    push_voice(VOICE_AHEAD);
    feed.push_buffer(timed(vec![0.0; LEAD * FRAME], 0))
        .map_err(pushed)?;
    audio
        .pipeline()
        .set_state(gst::State::Playing)
        .map_err(|e| MediaError::Element {
            what: "simulated room",
            element: "pipeline".into(),
            message: e.to_string(),
        })?;
    let first_delay_ms = room.paths.first().map_or(0.0, |(_, p)| p.delay_ms);
    let mut rng = Lcg(7);
    let noise_rms = 32768.0 * 10f64.powf(room.noise_dbfs / 20.0);
    let ratio = 1.0 + room.drift_ppm * 1e-6;
    let rate = f64::from(RATE);
    for k in LEAD..frames {
        // Wait for the canceller to have taken frame k - 1 and for the far end to be in
        // the probe up to frame k - far_behind; meanwhile keep the voice ahead and drain
        // the speaker and the Opus packets (nobody else reads them).
        let mut last = (0, 0, Instant::now());
        let latency = loop {
            let (far_frames, near, latency, behind) = {
                let p = lock(&step.progress);
                let mut p = step
                    .changed
                    .wait_timeout(p, Duration::from_millis(5))
                    .map_or_else(|e| e.into_inner().0, |(g, _)| g);
                if let (Some(latency), None) = (p.latency, p.far_behind) {
                    let echo_ms = latency.nseconds() as f64 / 1e6 + first_delay_ms;
                    p.far_behind = Some(((echo_ms - FAR_LEAD_MS) / 10.0).floor().max(1.0) as usize);
                    step.changed.notify_all();
                }
                (
                    p.far_frames,
                    p.processed.len() / FRAME,
                    p.latency,
                    p.far_behind,
                )
            };
            while tap.try_pull_sample(gst::ClockTime::ZERO).is_some() {}
            while sink.try_pull_sample(gst::ClockTime::ZERO).is_some() {}
            push_voice(far_frames + VOICE_AHEAD);
            if let (Some(latency), Some(behind)) = (latency, behind)
                && near >= k
                // Exactly what the gate lets through by now: frame 0, then up to k - behind.
                && far_frames > k.saturating_sub(behind)
            {
                break latency;
            }
            if (far_frames, near) != (last.0, last.1) {
                last = (far_frames, near, Instant::now());
            } else if last.2.elapsed() > stall {
                return Err(MediaError::Element {
                    what: "simulated room",
                    element: "pipeline".into(),
                    message: format!(
                        "{STALLED} for {stall:?} at frame {k} (far end in the probe: {far_frames} frames, processed: {near}, latency {latency:?})"
                    ),
                });
            }
        };
        let delay = |path: &EchoPath| {
            latency.nseconds() as f64 / 1e9 * rate + path.delay_ms * rate / 1000.0
        };
        let first = k * FRAME;
        // The far end does not move while the gate is shut: read it under the lock.
        let progress = lock(&step.progress);
        let speaker = &progress.speaker;
        let path = room
            .paths
            .iter()
            .rev()
            .find(|(from, _)| *from <= first)
            .or(room.paths.first())
            .map(|(_, p)| p);
        if let Some(path) = path
            && (first + FRAME) as f64 * ratio - delay(path) > speaker.len() as f64
        {
            return Err(MediaError::Element {
                what: "simulated room",
                element: MIC_FEED.into(),
                message: "the echo path is shorter than the far end's lead over the microphone"
                    .into(),
            });
        }
        let taps = path.map(|p| p.taps()).unwrap_or_default();
        let lag = latency.nseconds() as f64 / 1e9 * rate;
        let mut out = Vec::with_capacity(FRAME);
        for m in first..first + FRAME {
            // The microphone's sample m hears the speaker's sound that left it (latency
            // after its timestamp) the echo path's delays earlier, on the speaker's clock.
            let t = (m as f64) * ratio - lag;
            let echo: f64 = taps
                .iter()
                .map(|(d, g)| g * at(speaker, t - d))
                .sum::<f64>()
                + noise_rms * rng.normal();
            let near = f64::from(script.near.get(m).copied().unwrap_or(0));
            rec.echo.push(echo);
            rec.near.push(near);
            rec.mic.push(echo + near);
            out.push(echo + near);
        }
        drop(progress);
        feed.push_buffer(timed(out, first)).map_err(pushed)?;
    }
    // The last frame through the processing.
    let deadline = Instant::now() + stall;
    while lock(&step.progress).processed.len() < frames * FRAME && Instant::now() < deadline {
        let p = lock(&step.progress);
        drop(step.changed.wait_timeout(p, Duration::from_millis(5)));
        while sink.try_pull_sample(gst::ClockTime::ZERO).is_some() {}
    }
    Ok(rec)
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
    // No dither (`-D`): sox's default adds fresh random noise to each conversion, and the
    // same words must give the same samples in every run.
    let out = Command::new("sox")
        .arg("-D")
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
            trace: String::new(),
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
