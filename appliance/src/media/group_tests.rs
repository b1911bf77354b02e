//! The guests' own mixes in the real room pipeline: each guest hears the room and the
//! others, never themself; a voice or a guest leaving is gone from every mix; the room's
//! mute silences the microphone in them and not the guests.
//!
//! Each voice is a tone of its own (the microphone 2500 Hz, guest A 700 Hz, guest B
//! 1300 Hz); what a mix carries is read as it goes into its Opus encoder, and each tone's
//! amplitude found with the Goertzel algorithm.

use super::*;
use crate::config::AudioConfig;
use crate::media::audio::{self, MIC_FEED, Mic};
use crate::media::room::{RATE, Speaker};
use gstreamer_app as gst_app;
use std::time::{Duration, Instant};

const MIC_HZ: f64 = 2500.0;
const A_HZ: f64 = 700.0;
const B_HZ: f64 = 1300.0;
/// Each tone's amplitude (about -21 dBFS).
const LOUD: f64 = 3000.0;
/// 10 ms at the room's rate: what the test speaker hands out at a time.
const SAMPLES: usize = (RATE / 100) as usize;

/// A tone's next 10 ms from sample `n` on.
fn tone(hz: f64, n: u64) -> Vec<u8> {
    (0..SAMPLES as u64)
        .map(|i| {
            let t = (n + i) as f64 / f64::from(RATE);
            ((2.0 * std::f64::consts::PI * hz * t).sin() * LOUD) as i16
        })
        .flat_map(i16::to_le_bytes)
        .collect()
}

/// The amplitude of `hz` in `x` (Goertzel).
fn amplitude(x: &[i16], hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / f64::from(RATE);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.sqrt() / x.len() as f64
}

/// What `mix` sends its guest, from now on: its Opus packets, decoded as a browser would.
struct Tap {
    packets: broadcast::Receiver<Arc<EncodedFrame>>,
    decoder: opus::Decoder,
}

fn tap(mix: &OwnMix) -> Tap {
    Tap {
        packets: mix.frames(),
        decoder: opus::Decoder::new(RATE, opus::Channels::Mono).unwrap(),
    }
}

impl Tap {
    /// The mix decoded from the packets sent since the last look.
    fn take(&mut self) -> Vec<i16> {
        let mut heard = Vec::new();
        let mut pcm = vec![0i16; 5760];
        while let Ok(packet) = self.packets.try_recv() {
            let n = self.decoder.decode(&packet.data, &mut pcm, false).unwrap();
            heard.extend_from_slice(&pcm[..n]);
        }
        heard
    }
}

/// The room running in step with the test: 10 ms of microphone and of each voice for every
/// 10 ms the speaker plays.
struct Room {
    feed: gst_app::AppSrc,
    speaker: gst_app::AppSink,
    n: u64,
}

impl Room {
    fn run(&mut self, voices: &[(&GroupVoice, f64)], steps: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut done = 0;
        while done < steps {
            assert!(Instant::now() < deadline, "the room's pipeline stalled");
            if self
                .speaker
                .try_pull_sample(gst::ClockTime::from_mseconds(100))
                .is_none()
            {
                continue;
            }
            let _ = self
                .feed
                .push_buffer(gst::Buffer::from_slice(tone(MIC_HZ, self.n)));
            for (voice, hz) in voices {
                voice.push(&tone(*hz, self.n));
            }
            self.n += SAMPLES as u64;
            done += 1;
        }
    }
}

/// The tones in what was heard since the last look (the first 100 ms left out: the
/// voices' cushions filling, the codec starting).
fn tones(tap: &mut Tap) -> [f64; 3] {
    tones_in(&tap.take())
}

fn tones_in(x: &[i16]) -> [f64; 3] {
    assert!(
        x.len() > RATE as usize / 2,
        "half a second heard: {}",
        x.len()
    );
    let x = &x[RATE as usize / 10..];
    [amplitude(x, MIC_HZ), amplitude(x, A_HZ), amplitude(x, B_HZ)]
}

fn heard(tones: [f64; 3], room: bool, a: bool, b: bool) -> bool {
    let is = |amp: f64, want: bool| {
        if want {
            amp > LOUD / 2.0
        } else {
            amp < LOUD / 30.0
        }
    };
    is(tones[0], room) && is(tones[1], a) && is(tones[2], b)
}

/// The room's pipeline playing, with the guests' mixes on its microphone.
struct Setup {
    room: Room,
    group: GroupAudio,
    gate: Arc<Gate>,
    metrics: Arc<Metrics>,
    pipeline: gst::Pipeline,
}

fn start() -> Setup {
    gst::init().unwrap();
    let config = AudioConfig::unprocessed();
    let room_audio = audio::build(&config, &Mic::Feed, &Speaker::Tap).unwrap();
    let pipeline = room_audio.pipeline().clone();
    let gate = Arc::new(Gate::default());
    let metrics = Arc::new(Metrics::default());
    let group = GroupAudio::new(&pipeline, 64, gate.clone(), metrics.clone()).unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let feed = pipeline
        .by_name(MIC_FEED)
        .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        .unwrap();
    // A live pipeline plays once the Opus encoder has its first 20 ms.
    let _ = feed.push_buffer(gst::Buffer::from_slice(vec![0u8; 4 * SAMPLES]));
    let room = Room {
        feed,
        speaker: room_audio.speaker_tap().unwrap(),
        n: 0,
    };
    Setup {
        room,
        group,
        gate,
        metrics,
        pipeline,
    }
}

/// Three guests of the call.
fn guests() -> (GuestId, GuestId, GuestId) {
    (
        "guest-a".to_owned(),
        "guest-b".to_owned(),
        "guest-c".to_owned(),
    )
}

#[test]
fn each_guest_hears_the_room_and_the_others_never_themself() {
    let Setup {
        mut room,
        group,
        gate,
        metrics,
        pipeline,
    } = start();

    let (a, b, c) = guests();
    let a_voice = group.voice(&a);
    let mix_a = group.listen(&a).unwrap();
    let mix_b = group.listen(&b).unwrap();
    let b_voice = group.voice(&b);
    let mix_c = group.listen(&c).unwrap();
    assert_eq!(group.counts(), (3, 2), "three listen, two speak");
    let mut packets = mix_c.frames();
    let (mut heard_a, mut heard_b, mut heard_c) = (tap(&mix_a), tap(&mix_b), tap(&mix_c));
    room.run(&[(&a_voice, A_HZ), (&b_voice, B_HZ)], 80);
    let (ta, tb, tc) = (
        tones(&mut heard_a),
        tones(&mut heard_b),
        tones(&mut heard_c),
    );
    assert!(
        heard(ta, true, false, true),
        "A hears the room and B: {ta:?}"
    );
    assert!(
        heard(tb, true, true, false),
        "B hears the room and A: {tb:?}"
    );
    assert!(heard(tc, true, true, true), "C hears everybody: {tc:?}");
    let mut opus = 0;
    while packets.try_recv().is_ok() {
        opus += 1;
    }
    assert!(opus >= 20, "C's mix goes out as Opus: {opus} packets");

    // The room is muted: its microphone is silent in every mix, the guests are not.
    gate.close();
    room.run(&[(&a_voice, A_HZ), (&b_voice, B_HZ)], 80);
    let tc = tones(&mut heard_c);
    assert!(
        heard(tc, false, true, true),
        "muted, C hears A and B only: {tc:?}"
    );
    let _ = tones(&mut heard_a);
    let _ = tones(&mut heard_b);
    gate.open();

    // B's voice stops (their decoder is gone): out of every mix.
    drop(b_voice);
    assert_eq!(group.counts(), (3, 1));
    room.run(&[(&a_voice, A_HZ)], 80);
    let (ta, tc) = (tones(&mut heard_a), tones(&mut heard_c));
    assert!(heard(ta, true, false, false), "A hears the room: {ta:?}");
    assert!(
        heard(tc, true, true, false),
        "C hears the room and A: {tc:?}"
    );
    let _ = tones(&mut heard_b);

    // C leaves: their mix and its encoder go (once a tick that took it before has
    // passed), the others play on.
    drop(mix_c);
    assert_eq!(group.counts(), (2, 1));
    room.run(&[(&a_voice, A_HZ)], 80);
    let _ = heard_c.take();
    assert_eq!(
        heard_c.packets.try_recv().unwrap_err(),
        broadcast::error::TryRecvError::Closed,
        "C's encoder is gone"
    );
    let tb = tones(&mut heard_b);
    assert!(
        heard(tb, true, true, false),
        "B still hears the room and A: {tb:?}"
    );
    assert_eq!(
        metrics.own_mixes.load(Relaxed),
        2,
        "the metrics count the mixes"
    );
    drop((mix_a, mix_b, a_voice));
    assert_eq!(group.counts(), (0, 0));
    pipeline.set_state(gst::State::Null).unwrap();
}

/// A voice that says nothing (a guest listening).
const SILENT: f64 = 0.0;

/// The packets waiting on `rx`.
fn packets(rx: &mut broadcast::Receiver<Arc<EncodedFrame>>) -> Vec<Arc<EncodedFrame>> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

/// How many of `these` are the very packets (one encode) of `those`.
fn same(these: &[Arc<EncodedFrame>], those: &[Arc<EncodedFrame>]) -> usize {
    these
        .iter()
        .filter(|p| those.iter().any(|q| Arc::ptr_eq(p, q)))
        .count()
}

#[test]
fn quiet_guests_share_one_encode_and_a_guest_who_speaks_gets_their_own() {
    let Setup {
        mut room,
        group,
        metrics,
        pipeline,
        ..
    } = start();
    let (a, b, c) = guests();
    let a_voice = group.voice(&a);
    let b_voice = group.voice(&b);
    let (mix_a, mix_b, mix_c) = (
        group.listen(&a).unwrap(),
        group.listen(&b).unwrap(),
        group.listen(&c).unwrap(),
    );
    let (mut ra, mut rb, mut rc) = (mix_a.frames(), mix_b.frames(), mix_c.frames());
    let mut heard_b = tap(&mix_b);

    // A speaks, B listens (their voice silent), C has no voice: B and C get the very
    // same packets, A a mix of their own.
    room.run(&[(&a_voice, A_HZ), (&b_voice, SILENT)], 80);
    let (pa, pb, pc) = (packets(&mut ra), packets(&mut rb), packets(&mut rc));
    assert!(pc.len() >= 30, "C's mix flows: {} packets", pc.len());
    assert!(
        same(&pc, &pb) + 2 >= pc.len(),
        "B and C share one encode: {} of {}",
        same(&pc, &pb),
        pc.len()
    );
    assert!(pa.len() >= 30, "A's mix flows: {} packets", pa.len());
    assert_eq!(
        same(&pa[pa.len() - 30..], &pc),
        0,
        "A's mix is their own (from their voice's first packets on)"
    );
    let shared = metrics.own_mix_frames_shared.load(Relaxed);
    let all = metrics.own_mix_frames_encoded.load(Relaxed);
    assert!(
        shared >= 60 && shared * 3 >= all * 2 - 6,
        "the metrics count two of three packets shared: {shared} of {all}"
    );
    let tb = tones(&mut heard_b);
    assert!(
        heard(tb, true, true, false),
        "B hears the room and A: {tb:?}"
    );

    // B speaks: their own encoder at once, without their voice; C hears them.
    let mut heard_c = tap(&mix_c);
    room.run(&[(&a_voice, A_HZ), (&b_voice, B_HZ)], 80);
    let (pb, pc) = (packets(&mut rb), packets(&mut rc));
    assert!(
        same(&pc, &pb) <= 4,
        "B speaking has a mix of their own: {} of {} shared",
        same(&pc, &pb),
        pc.len()
    );
    let (tb, tc) = (tones(&mut heard_b), tones(&mut heard_c));
    assert!(
        heard(tb, true, true, false),
        "B, switched to their own encoder, hears the room and A, not themself: {tb:?}"
    );
    assert!(heard(tc, true, true, true), "C hears everybody: {tc:?}");

    // B falls quiet: a pause between words keeps their own encoder...
    room.run(&[(&a_voice, A_HZ), (&b_voice, SILENT)], 40);
    let mut across = heard_b.take();
    let (pb, pc) = (packets(&mut rb), packets(&mut rc));
    assert!(
        same(&pc, &pb) == 0,
        "400 ms after B spoke, still their own: {} of {} shared",
        same(&pc, &pb),
        pc.len()
    );
    // ...and a second after, they share again.
    room.run(&[(&a_voice, A_HZ), (&b_voice, SILENT)], 100);
    let (pb, pc) = (packets(&mut rb), packets(&mut rc));
    // (The last packet may have reached C and not yet B as they were read.)
    let tail = &pc[pc.len().saturating_sub(10)..];
    assert!(
        tail.len() == 10 && same(tail, &pb) >= 9,
        "B shares again: {} of C's last {} packets",
        same(tail, &pb),
        tail.len()
    );
    across.extend(heard_b.take());
    let tb = tones_in(&across);
    assert!(
        heard(tb, true, true, false),
        "across both switches B hears the room and A: {tb:?}"
    );
    drop((mix_a, mix_b, mix_c, a_voice, b_voice));
    pipeline.set_state(gst::State::Null).unwrap();
}

/// Two tones as a mix might carry, one packet from sample `n` on.
fn two_tones(n: usize, gain: f64) -> Vec<i16> {
    (n..n + FRAME)
        .map(|i| {
            let t = i as f64 / f64::from(RATE);
            let s = (2.0 * std::f64::consts::PI * A_HZ * t).sin()
                + (2.0 * std::f64::consts::PI * MIC_HZ * t).sin();
            (s * LOUD * gain) as i16
        })
        .collect()
}

#[test]
fn an_encoder_taking_over_a_guests_mix_starts_from_the_last_packets_sound() {
    let new =
        || -> Encoder { Arc::new(Mutex::new((encoder(64_000).unwrap(), vec![0; MAX_PACKET]))) };
    let (shared, own) = (new(), new());
    let (tx, mut rx) = broadcast::channel(256);
    let job = |encoder: &Encoder, prime: Option<Vec<i16>>, f: usize| Job {
        encoder: encoder.clone(),
        prime: prime.map(Arc::new),
        samples: two_tones(f * FRAME, 1.0),
        to: vec![tx.clone()],
        shared: false,
    };
    // The guest's own encoder last ran a while ago, on other sound.
    for f in 0..10 {
        let mut guard = lock(&own);
        let (encoder, packet) = &mut *guard;
        encoder.encode(&two_tones(f * FRAME, 0.3), packet).unwrap();
    }
    // The shared encode made their first 40 packets; then their own takes over.
    for f in 0..40 {
        assert_eq!(job(&shared, None, f).run(), 1);
    }
    // What the mix last sounded like: its last PRIME packets.
    let last: Vec<i16> = (40 - PRIME..40)
        .flat_map(|f| two_tones(f * FRAME, 1.0))
        .collect();
    for f in 40..44 {
        let prime = (f == 40).then(|| last.clone());
        assert_eq!(job(&own, prime, f).run(), 1);
    }
    let mut decoder = opus::Decoder::new(RATE, opus::Channels::Mono).unwrap();
    let mut heard = Vec::new();
    let mut pcm = vec![0i16; FRAME];
    while let Ok(packet) = rx.try_recv() {
        let n = decoder.decode(&packet.data, &mut pcm, false).unwrap();
        heard.extend_from_slice(&pcm[..n]);
    }
    // Opus delays the sound by 6.5 ms (312 samples at 48 kHz).
    let error = |f: usize| {
        let start = f * FRAME;
        let said: Vec<i16> = two_tones(start - 312, 1.0);
        let sum: f64 = heard[start..start + FRAME]
            .iter()
            .zip(&said)
            .map(|(h, s)| (f64::from(*h) - f64::from(*s)).powi(2))
            .sum();
        (sum / FRAME as f64).sqrt()
    };
    let (steady, switched) = (error(39), error(40));
    // Here, 10 ms packets: steady 85; switched 98 primed with three packets (274 with two,
    // 616 with one), 1,459 from a reset encoder and 2,460 from a stale one, against a
    // sound of about 3,000.
    assert!(
        switched < 600.0 && steady < 200.0,
        "the switch is a small blip in the mix (error {switched:.0}, steady {steady:.0})"
    );
}

#[test]
fn a_guest_whose_page_plays_the_voices_hears_only_those_not_forwarded_in_the_mix() {
    let Setup {
        mut room,
        group,
        pipeline,
        ..
    } = start();
    let (a, b, c) = guests();
    let a_voice = group.voice(&a);
    let b_voice = group.voice(&b);
    let mix_a = group.listen(&a).unwrap();
    let mix_b = group.listen(&b).unwrap();
    let mix_c = group.listen(&c).unwrap();
    let (mut heard_a, mut heard_b, mut heard_c) = (tap(&mix_a), tap(&mix_b), tap(&mix_c));
    let mut to_b = mix_b.frames();
    let mut to_c = mix_c.frames();
    // B's and C's pages play the others' voices themselves; A's does not. Both voices are
    // forwarded now.
    group.set_forwarded(&b, true);
    group.set_forwarded(&c, true);
    group.set_open(&a, true);
    group.set_open(&b, true);
    room.run(&[(&a_voice, A_HZ), (&b_voice, B_HZ)], 80);
    let (ta, tb, tc) = (
        tones(&mut heard_a),
        tones(&mut heard_b),
        tones(&mut heard_c),
    );
    assert!(
        heard(ta, true, false, true),
        "A hears the room and B mixed: {ta:?}"
    );
    assert!(
        heard(tb, true, false, false),
        "B's mix is the room alone: {tb:?}"
    );
    assert!(
        heard(tc, true, false, false),
        "C's mix is the room alone: {tc:?}"
    );
    let (pb, pc) = (packets(&mut to_b), packets(&mut to_c));
    assert!(pb.len() >= 70);
    assert_eq!(same(&pb, &pc), pb.len(), "one encode of the room for both");

    // B's voice is no longer forwarded (more talk than are forwarded at once): it is back
    // in C's mix, and B, speaking, gets a mix without it.
    group.set_open(&b, false);
    room.run(&[(&a_voice, A_HZ), (&b_voice, B_HZ)], 80);
    let (tb, tc) = (tones(&mut heard_b), tones(&mut heard_c));
    assert!(
        heard(tb, true, false, false),
        "B still hears the room alone: {tb:?}"
    );
    assert!(
        heard(tc, true, false, true),
        "C hears the room and B mixed: {tc:?}"
    );

    // B's page can no longer hold every voice: their mix carries A again.
    group.set_forwarded(&b, false);
    room.run(&[(&a_voice, A_HZ), (&b_voice, B_HZ)], 80);
    let tb = tones(&mut heard_b);
    assert!(
        heard(tb, true, true, false),
        "B hears the room and A: {tb:?}"
    );
    drop((mix_a, mix_b, mix_c, a_voice, b_voice));
    pipeline.set_state(gst::State::Null).unwrap();
}
