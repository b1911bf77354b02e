//! `cargo xtask bench audio`: the room's audio processing in the simulated room
//! (`visavis_appliance::media::simroom`), with figures: ERLE 2 s after the far end starts
//! and steady, after the echo path changes, the near end's loss in double talk (and PESQ /
//! STOI when Python's `pesq` and `pystoi` are installed), and the CPU the processing costs
//! per 10 ms frame. Each run plays in real time. Reports, never fails on the figures.

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

/// CPU seconds this process has used (user + system).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 (11 and 12 after the command name); 100 Hz.
    (ticks(11) + ticks(12)) / 100.0
}

fn run(name: &str, config: &AudioConfig, script: &Script, room: &Room) -> (Recording, f64) {
    let before = cpu_seconds();
    let rec = simroom::run(config, script, room, Duration::from_secs(10)).unwrap_or_else(|e| {
        eprintln!("bench audio: {name}: {e}");
        std::process::exit(1)
    });
    (rec, cpu_seconds() - before)
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
    if pesq_stoi(&on.near, &on.processed, t.near_start, t.near_end).is_none() {
        println!("(PESQ/STOI: Python's pesq, pystoi, numpy and scipy are not installed)");
    }
}
