//! `cargo xtask bench audio` (second part): what it costs the unit that guests hear each
//! other (`visavis_appliance::media::group`). The room's real audio pipeline (test-tone
//! microphone, echo canceller and noise suppression on, no speaker device) runs with n
//! guests, each voice pushed into the speaker's mix as a decoded voice is (a tone, 10 ms
//! every 10 ms). Measured with the guests hearing the room alone (what forwarding each
//! guest's packets would still cost the unit: the speaker's mix) and with a mix of their
//! own each (the room and the others, one Opus encode per guest). Reports the process's
//! CPU and the audio the unit sends; forwarding's figures are worked out from the same
//! packet sizes. Real time, 8 s a run. Reports, never fails on the figures.

#[path = "shared/cpu.rs"]
mod cpu;

use std::sync::Arc;
use std::time::{Duration, Instant};
use visavis_appliance::config::AudioConfig;
use visavis_appliance::media::audio::{self, Mic};
use visavis_appliance::media::gate::Gate;
use visavis_appliance::media::group::GroupAudio;
use visavis_appliance::media::room::{RATE, Speaker, VoiceInput};
use visavis_appliance::metrics::Metrics;

use gstreamer as gst;
use gstreamer::prelude::*;

const SECS: u64 = 8;
/// RTP, SRTP, UDP and IPv4 headers of one packet, bytes.
const HEADERS: u64 = 12 + 10 + 8 + 20;

fn tone(hz: f64, n: u64) -> Vec<u8> {
    (0..u64::from(RATE / 100))
        .map(|i| {
            let t = (n + i) as f64 / f64::from(RATE);
            ((2.0 * std::f64::consts::PI * hz * t).sin() * 3000.0) as i16
        })
        .flat_map(i16::to_le_bytes)
        .collect()
}

struct Figures {
    cpu_percent: f64,
    /// Opus packets and their bytes sent to guests per second, all together.
    packets_per_s: f64,
    bytes_per_s: f64,
}

/// The room with `guests` guests for [`SECS`] seconds; with `own_mixes`, each hears the
/// room and the others in a mix of their own.
fn run(guests: usize, own_mixes: bool) -> Figures {
    let config = AudioConfig {
        gain_control: false,
        ..AudioConfig::default()
    };
    let room = audio::build(&config, &Mic::Tone, &Speaker::None).expect("the room's pipeline");
    let pipeline = room.pipeline().clone();
    let metrics = Arc::new(Metrics::default());
    let group = GroupAudio::new(
        &pipeline,
        config.bitrate_kbps,
        Arc::new(Gate::default()),
        metrics,
    )
    .expect("the guests' mixes");
    // The room's own stream, as every guest gets it without mixes of their own.
    let sink = pipeline
        .by_name("sink")
        .and_then(|e| e.downcast::<gstreamer_app::AppSink>().ok())
        .expect("the room's Opus sink");
    pipeline.set_state(gst::State::Playing).expect("playing");
    let ids: Vec<String> = (0..guests).map(|i| format!("guest-{i}")).collect();
    let speaker: Vec<VoiceInput> = ids
        .iter()
        .map(|id| room.voice(id).expect("a voice in the speaker's mix"))
        .collect();
    let (mixes, voices): (Vec<_>, Vec<_>) = if own_mixes {
        ids.iter()
            .map(|id| (group.listen(id).expect("a mix"), group.voice(id)))
            .unzip()
    } else {
        (Vec::new(), Vec::new())
    };
    let mut packets: Vec<_> = mixes.iter().map(|m| m.frames()).collect();
    let mut sent = (0u64, 0u64);
    let count = |sent: &mut (u64, u64), bytes: usize| {
        sent.0 += 1;
        sent.1 += bytes as u64;
    };
    let start = Instant::now();
    let warm = Duration::from_secs(1);
    let mut measuring: Option<(Instant, f64)> = None;
    let mut n = 0u64;
    let mut next = start;
    while measuring.is_none_or(|(at, _)| at.elapsed() < Duration::from_secs(SECS)) {
        if measuring.is_none() && start.elapsed() >= warm {
            measuring = Some((Instant::now(), cpu::cpu_seconds()));
            sent = (0, 0);
        }
        for (i, v) in speaker.iter().enumerate() {
            let samples = tone(300.0 + 150.0 * i as f64, n);
            v.push(&samples);
            if let Some(g) = voices.get(i) {
                g.push(&samples);
            }
        }
        n += u64::from(RATE / 100);
        if own_mixes {
            for p in &mut packets {
                while let Ok(f) = p.try_recv() {
                    count(&mut sent, f.data.len());
                }
            }
        } else {
            while let Some(s) = sink.try_pull_sample(gst::ClockTime::ZERO) {
                let bytes = s.buffer().map_or(0, |b| b.size());
                // The same packet goes to every guest.
                for _ in 0..guests {
                    count(&mut sent, bytes);
                }
            }
        }
        next += Duration::from_millis(10);
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let (at, cpu) = measuring.expect("measured");
    let secs = at.elapsed().as_secs_f64();
    let cpu = cpu::cpu_seconds() - cpu;
    // The room stops first, then its voices and the mixes go.
    let _ = pipeline.set_state(gst::State::Null);
    drop(voices);
    drop(mixes);
    drop(speaker);
    Figures {
        cpu_percent: cpu / secs * 100.0,
        packets_per_s: sent.0 as f64 / secs,
        bytes_per_s: sent.1 as f64 / secs,
    }
}

fn kbps(packets_per_s: f64, bytes_per_s: f64) -> f64 {
    (bytes_per_s + packets_per_s * HEADERS as f64) * 8.0 / 1000.0
}

fn main() {
    gst::init().expect("GStreamer");
    println!(
        "bench group audio: the room's audio pipeline with n guests ({SECS} s each, real time; \
         CPU in % of one core, kbit/s with RTP/SRTP/UDP/IP headers)"
    );
    println!(
        "  guests | room alone: CPU, sent | own mixes: CPU, sent, per guest | forwarding would send, per guest receives"
    );
    for guests in [1usize, 2, 4, 8] {
        let alone = run(guests, false);
        let own = run(guests, true);
        let per_guest_pps = own.packets_per_s / guests as f64;
        let per_guest_bps = own.bytes_per_s / guests as f64;
        // Forwarding: each guest gets the room's stream and every other guest's packets.
        let streams = (guests * guests) as f64;
        let forward = kbps(per_guest_pps * streams, per_guest_bps * streams);
        println!(
            "  {guests:6} | {:5.1} %, {:7.0} | {:5.1} %, {:7.0}, {:5.0} | {:7.0}, {:5.0}",
            alone.cpu_percent,
            kbps(alone.packets_per_s, alone.bytes_per_s),
            own.cpu_percent,
            kbps(own.packets_per_s, own.bytes_per_s),
            kbps(per_guest_pps, per_guest_bps),
            forward,
            forward / guests as f64,
        );
    }
}
