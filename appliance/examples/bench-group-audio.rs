//! `cargo xtask bench audio` (second part): what it costs the unit that guests hear each
//! other (`visavis_appliance::media::group`). The room's real audio pipeline (test-tone
//! microphone, echo canceller and noise suppression on, no speaker device) runs with n
//! guests, each voice pushed into the speaker's mix as a decoded voice is (a tone, 10 ms
//! every 10 ms). Measured with the guests hearing the room alone (what forwarding each
//! guest's packets would still cost the unit: the speaker's mix) and with a mix of their
//! own each (the room and the others, one Opus encode per guest). Reports the process's
//! CPU and the audio the unit sends; forwarding's figures are worked out from the same
//! packet sizes. Then the delay the unit adds from one guest's voice to another's stream
//! (a click, found by decoding the other guest's packets). Real time, 8 s a run. Reports,
//! never fails on the figures.

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

/// What the unit adds between guests, in ms: a click one guest says (pushed as their
/// decoded voice is, every 10 ms, on the wall clock) until the Opus packet that carries it
/// leaves another guest's encoder, decoded there to find it. Six clicks; `None` if the
/// pipeline would not run.
fn guest_to_guest() -> Option<Vec<f64>> {
    let room = audio::build(&AudioConfig::default(), &Mic::Silent, &Speaker::None).ok()?;
    let pipeline = room.pipeline().clone();
    let group = GroupAudio::new(
        &pipeline,
        64,
        Arc::new(Gate::default()),
        Arc::new(Metrics::default()),
    )
    .ok()?;
    pipeline.set_state(gst::State::Playing).ok()?;
    let (a, b) = ("guest-a".to_owned(), "guest-b".to_owned());
    let voice = group.voice(&a);
    let mix = group.listen(&b).ok()?;
    let mut packets = mix.frames();
    let decoder = gst::parse::launch(
        "appsrc name=in format=time caps=\"audio/x-opus,channel-mapping-family=0,channels=2,rate=48000\" \
         ! opusdec ! audioconvert ! audio/x-raw,format=S16LE,channels=1 \
         ! appsink name=out sync=false",
    )
    .ok()?
    .downcast::<gst::Pipeline>()
    .ok()?;
    let input = decoder
        .by_name("in")
        .and_then(|e| e.downcast::<gstreamer_app::AppSrc>().ok())?;
    let output = decoder
        .by_name("out")
        .and_then(|e| e.downcast::<gstreamer_app::AppSink>().ok())?;
    decoder.set_state(gst::State::Playing).ok()?;
    let silence = vec![0u8; (RATE / 100 * 2) as usize];
    let click: Vec<u8> = (0..RATE / 100)
        .flat_map(|i| (if i % 2 == 0 { 16_000i16 } else { -16_000 }).to_le_bytes())
        .collect();
    let mut delays = Vec::new();
    let mut next = Instant::now();
    let mut step = 0u32;
    let mut clicked: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while delays.len() < 6 && Instant::now() < deadline {
        step += 1;
        // A click every half second, from the second second on (the voice's cushion full).
        if clicked.is_none() && step >= 100 && step.is_multiple_of(50) {
            voice.push(&click);
            clicked = Some(Instant::now());
        } else {
            voice.push(&silence);
        }
        while let Ok(frame) = packets.try_recv() {
            let _ = input.push_buffer(gst::Buffer::from_slice(frame.data.clone()));
            while let Some(sample) = output.try_pull_sample(gst::ClockTime::from_mseconds(5)) {
                let loud = sample
                    .buffer()
                    .and_then(|b| b.map_readable().ok())
                    .is_some_and(|m| {
                        m.chunks_exact(2)
                            .any(|x| i16::from_le_bytes([x[0], x[1]]).saturating_abs() > 4_000)
                    });
                if loud && let Some(at) = clicked.take() {
                    delays.push(frame.encoded_at.duration_since(at).as_secs_f64() * 1000.0);
                }
            }
        }
        next += Duration::from_millis(10);
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let _ = decoder.set_state(gst::State::Null);
    let _ = pipeline.set_state(gst::State::Null);
    drop((voice, mix));
    (delays.len() == 6).then_some(delays)
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
    match guest_to_guest() {
        Some(ms) => println!(
            "a click one guest says until the packet carrying it leaves for another guest (ms, six clicks): {}",
            ms.iter()
                .map(|v| format!("{v:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => println!("guest to guest: the pipeline would not run"),
    }
}
