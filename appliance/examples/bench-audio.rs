//! `cargo xtask bench audio`: the room's audio processing in the simulated room
//! (`visavis_appliance::media::simroom`), with figures: ERLE 2 s after the far end starts
//! and steady, after the echo path changes, the near end's loss in double talk (and PESQ /
//! STOI when Python's `pesq` and `pystoi` are installed), and the CPU the processing costs
//! per 10 ms frame, and the delay the audio path adds to mouth-to-ear (a click each way,
//! on the pipeline's clock). Each run plays in real time. Reports, never fails on the figures.

#[path = "shared/cpu.rs"]
mod cpu;

use std::time::Duration;
use visavis_appliance::config::AudioConfig;
use visavis_appliance::media::simroom::{self, EchoPath, Recording, Room, Script, Voices};

const RATE: usize = 48_000;

struct Timeline {
    far_start: usize,
    change: usize,
    near_start: usize,
    near_end: usize,
}

fn script() -> (Script, Timeline) {
    let voices = Voices::speak().unwrap_or_else(|e| panic!("{e}"));
    let (en, fr, near) = (&voices.guest_en, &voices.guest_fr, &voices.table);
    let far_start = RATE / 2;
    let mut far = vec![0i16; far_start];
    for part in [en, fr, en, fr] {
        far.extend_from_slice(part);
        far.extend(std::iter::repeat_n(0, RATE / 4));
    }
    // Far end alone for 8 s, the echo path changes, 4 s more, then double talk.
    let change = far_start + 8 * RATE;
    let near_start = change + 4 * RATE;
    let near_end = near_start + near.len();
    let mut near_track = vec![0i16; near_end + RATE / 2];
    near_track[near_start..near_end].copy_from_slice(near);
    far.resize(near_track.len(), 0);
    (
        Script {
            far,
            near: near_track,
        },
        Timeline {
            far_start,
            change,
            near_start,
            near_end,
        },
    )
}

fn room(change: usize) -> Room {
    Room {
        paths: vec![
            (0, EchoPath::room(10.0, 0.3, 24, 3)),
            // Someone moves the unit: a longer, different path.
            (change, EchoPath::room(25.0, 0.4, 24, 11)),
        ],
        drift_ppm: 50.0,
        noise_dbfs: -60.0,
        speaker_latency_ms: 70.0,
    }
}

fn config(echo: bool, noise: bool, gain: bool) -> AudioConfig {
    AudioConfig {
        echo_cancel: echo,
        noise_suppression: noise,
        gain_control: gain,
        ..AudioConfig::default()
    }
}

fn run(name: &str, config: &AudioConfig, script: &Script, room: &Room) -> (Recording, f64) {
    let before = cpu::cpu_seconds();
    let rec = simroom::run(config, script, room, Duration::from_secs(10)).unwrap_or_else(|e| {
        eprintln!("bench audio: {name}: {e}");
        std::process::exit(1)
    });
    (rec, cpu::cpu_seconds() - before)
}

/// PESQ (wide band) and STOI of `processed` against `reference` over `from..to`, through
/// Python's `pesq` and `pystoi`, if installed.
fn pesq_stoi(reference: &[f64], processed: &[f64], from: usize, to: usize) -> Option<String> {
    let dir = std::env::temp_dir().join(format!("visavis-bench-audio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let write = |name: &str, x: &[f64]| {
        let path = dir.join(name);
        let bytes: Vec<u8> = x[from..to.min(x.len())]
            .iter()
            .flat_map(|v| (v.round().clamp(-32768.0, 32767.0) as i16).to_le_bytes())
            .collect();
        std::fs::write(&path, bytes).ok().map(|_| path)
    };
    let r = write("ref.raw", reference)?;
    let p = write("out.raw", processed)?;
    let script = "import sys, numpy as np\n\
from scipy.signal import resample_poly\n\
from pesq import pesq\n\
from pystoi import stoi\n\
r = np.fromfile(sys.argv[1], dtype='<i2').astype(float)\n\
p = np.fromfile(sys.argv[2], dtype='<i2').astype(float)\n\
r16, p16 = resample_poly(r, 1, 3), resample_poly(p, 1, 3)\n\
print('PESQ (wb) %.2f, STOI %.3f' % (pesq(16000, r16, p16, 'wb'), stoi(r16, p16, 16000)))\n";
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&r)
        .arg(&p)
        .output()
        .ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn main() {
    let (script, t) = script();
    let room = room(t.change);
    let secs = script.far.len() as f64 / RATE as f64;
    println!(
        "bench audio: the unit's audio pipeline in a simulated room, {secs:.0} s a run, real time"
    );
    println!(
        "  echo: 70 ms speaker latency (reported) + 10 ms, 24 reflections over 80 ms, 50 ppm drift, noise -60 dBFS;"
    );
    println!(
        "  at {:.0} s the path changes (+15 ms, other reflections); double talk from {:.0} s",
        t.change as f64 / RATE as f64,
        t.near_start as f64 / RATE as f64
    );
    let (off, cpu_off) = run(
        "processing off",
        &config(false, false, false),
        &script,
        &room,
    );
    let (on, cpu_on) = run(
        "canceller and noise suppression",
        &config(true, true, false),
        &script,
        &room,
    );
    let (all, cpu_all) = run(
        "defaults (with gain control)",
        &config(true, true, true),
        &script,
        &room,
    );
    let frames = script.far.len() as f64 / (RATE as f64 / 100.0);
    for (name, rec, cpu) in [
        ("processing off", &off, cpu_off),
        ("echo canceller + noise suppression", &on, cpu_on),
        ("defaults (+ gain control)", &all, cpu_all),
    ] {
        let at2 = rec.erle(t.far_start + RATE * 3 / 2, t.far_start + RATE * 5 / 2);
        let steady = rec.erle(t.far_start + 4 * RATE, t.change);
        let after_change = rec.erle(t.change + RATE * 3 / 2, t.change + RATE * 5 / 2);
        let later = rec.erle(t.change + 2 * RATE, t.near_start);
        let near_loss = rec.near_loss(t.near_start, t.near_end);
        println!("{name}:");
        println!("  ERLE 2 s after the far end starts  {at2:6.1} dB");
        println!("  ERLE steady (4 to 8 s)             {steady:6.1} dB");
        println!("  ERLE 2 s after the path changes    {after_change:6.1} dB (then {later:.1} dB)");
        println!("  near end in double talk            {near_loss:6.1} dB weaker");
        if let Some(q) = pesq_stoi(&rec.near, &rec.processed, t.near_start, t.near_end) {
            println!("  near end in double talk            {q}");
        }
        let extra = (cpu - cpu_off) / frames * 1e6;
        println!(
            "  process CPU {cpu:.2} s for {secs:.0} s; over no processing: {extra:.0} µs per 10 ms frame ({:.1} % of a core)",
            extra / 100.0
        );
    }
    match delays(&config(true, true, true)) {
        Some((speaker, mic)) => {
            let show = |x: &[f64]| {
                x.iter()
                    .map(|v| format!("{v:.0}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            println!("mouth-to-ear delay the unit's audio path adds (ms, six clicks each):");
            println!(
                "  a guest's voice into the mix until the speaker plays it   {} (with a device, plus the buffer it reports)",
                show(&speaker)
            );
            println!(
                "  the microphone until the Opus packet reaches the guests    {}",
                show(&mic)
            );
        }
        None => println!("mouth-to-ear delay: the pipeline would not run"),
    }
    if pesq_stoi(&on.near, &on.processed, t.near_start, t.near_end).is_none() {
        println!("(PESQ/STOI: Python's pesq, pystoi, numpy and scipy are not installed)");
    }
}

/// What the audio path adds to the mouth-to-ear delay, on the pipeline's clock (ms): a
/// click a guest says (pushed into the mix as a decoded voice is, timed on arrival) until
/// the speaker plays it (the sink plays a buffer the pipeline's latency after its
/// timestamp; a real device adds nothing beyond what it reports), and a click the
/// microphone hears (timed on arrival, as a capture device's) until the Opus packet that
/// carries it reaches the guests' sink. Six clicks each; `None` if the pipeline would
/// not run.
fn delays(config: &AudioConfig) -> Option<(Vec<f64>, Vec<f64>)> {
    use gstreamer as gst;
    use gstreamer::prelude::*;
    use std::sync::{Arc, Mutex};
    use visavis_appliance::media::audio::{self, MIC_FEED, Mic};
    use visavis_appliance::media::room::Speaker;
    gst::init().ok()?;
    let room = audio::build(config, &Mic::Feed, &Speaker::Tap).ok()?;
    let pipeline = room.pipeline().clone();
    let feed = pipeline
        .by_name(MIC_FEED)?
        .downcast::<gstreamer_app::AppSrc>()
        .ok()?;
    let sink = pipeline
        .by_name("sink")?
        .downcast::<gstreamer_app::AppSink>()
        .ok()?;
    let tap = room.speaker_tap()?;
    let frame = RATE / 100;
    let silence = vec![0u8; frame * 2];
    let click: Vec<u8> = (0..frame)
        .flat_map(|i| (if i % 24 < 12 { 20000i16 } else { -20000 }).to_le_bytes())
        .collect();
    let loud = |b: &gst::BufferRef| -> Option<usize> {
        let m = b.map_readable().ok()?;
        m.chunks_exact(2)
            .position(|s| i16::from_le_bytes([s[0], s[1]]).unsigned_abs() > 8000)
    };
    // Opus packets as they reach the guests' sink: (arrival, pts + duration).
    let packets = Arc::new(Mutex::new(Vec::<(u64, u64)>::new()));
    let p = packets.clone();
    let clock_of = pipeline.clone();
    sink.static_pad("sink")?
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let (Some(b), Some(now)) = (info.buffer(), clock_of.current_running_time()) {
                let end =
                    b.pts().map_or(0, |t| t.nseconds()) + b.duration().map_or(0, |d| d.nseconds());
                p.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((now.nseconds(), end));
            }
            gst::PadProbeReturn::Ok
        });
    let _ = feed.push_buffer(gst::Buffer::from_slice(vec![0u8; frame * 2 * 10]));
    pipeline.set_state(gst::State::Playing).ok()?;
    let voice = room.voice("clicks").ok()?;
    let mut query = gst::query::Latency::new();
    let (mut speaker, mut mic) = (Vec::new(), Vec::new());
    let mut said: Option<u64> = None;
    let mut heard: Vec<u64> = Vec::new();
    for i in 0..400usize {
        let sample = tap.try_pull_sample(gst::ClockTime::from_mseconds(500))?;
        while sink.try_pull_sample(gst::ClockTime::ZERO).is_some() {}
        let buffer = sample.buffer()?;
        if let (Some(t0), Some(at)) = (said, loud(buffer)) {
            let latency = if pipeline.query(&mut query) {
                query.result().1
            } else {
                gst::ClockTime::ZERO
            };
            let out = buffer.pts()?.nseconds() + (at * 1_000_000_000 / RATE) as u64;
            speaker.push((out + latency.nseconds()).saturating_sub(t0) as f64 / 1e6);
            said = None;
        }
        let now = pipeline.current_running_time()?.nseconds();
        // A click every 600 ms, the guest's and the microphone's 300 ms apart.
        if i % 60 == 20 && i > 40 {
            voice.push(&click);
            said = Some(now);
        } else {
            voice.push(&silence);
        }
        if i % 60 == 50 && i > 40 {
            let _ = feed.push_buffer(gst::Buffer::from_slice(click.clone()));
            heard.push(now);
        } else {
            let _ = feed.push_buffer(gst::Buffer::from_slice(silence.clone()));
        }
    }
    drop(voice);
    let _ = pipeline.set_state(gst::State::Null);
    let packets = packets.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for t0 in heard {
        // The first packet whose stretch ends past the click's capture time carries it.
        if let Some((arrived, _)) = packets.iter().find(|(_, end)| *end > t0) {
            mic.push(arrived.saturating_sub(t0) as f64 / 1e6);
        }
    }
    Some((speaker, mic))
}
