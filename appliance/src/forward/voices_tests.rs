use super::*;
use crate::forward::Outbound;
use std::sync::atomic::AtomicBool;
use tokio::sync::mpsc;

/// The audio level extension's id in these tests' packets.
const LEVEL: u8 = 1;

/// A voice packet of `seq` (20 ms each) at `level` -dBov (none: no level).
fn packet(seq: u16, level: Option<u8>) -> rtp::Packet {
    let mut header = rtp::header::Header {
        version: 2,
        payload_type: 111,
        sequence_number: seq,
        timestamp: u32::from(seq) * 960,
        ssrc: 0x5eed,
        ..Default::default()
    };
    if let Some(level) = level {
        header
            .set_extension(LEVEL, bytes::Bytes::copy_from_slice(&[0x80 | level]))
            .unwrap();
    }
    rtp::Packet {
        header,
        payload: bytes::Bytes::from_static(&[0xf8, 0xff, 0xfe]),
    }
}

const SPEECH: Option<u8> = Some(30);
const SILENCE: Option<u8> = Some(127);

/// What the mixes were told: whose mixes leave out the forwarded voices, and which voices
/// are forwarded now.
#[derive(Default)]
struct Told {
    forwarded: Mutex<Vec<(GuestId, bool)>>,
    open: Mutex<Vec<(GuestId, bool)>>,
}

impl Mixes for Told {
    fn forwarded(&self, listener: &GuestId, on: bool) {
        lock(&self.forwarded).push((listener.clone(), on));
    }

    fn open(&self, voice: &GuestId, on: bool) {
        lock(&self.open).push((voice.clone(), on));
    }
}

fn voices() -> (Voices, Arc<Told>) {
    let told = Arc::new(Told::default());
    let v = Voices::new(Arc::new(Metrics::default()), told.clone());
    (v, told)
}

fn listen(v: &Voices, guest: &str, slots: usize) -> mpsc::Receiver<Outbound> {
    let (tx, rx) = mpsc::channel(64);
    let slots = (0..slots)
        .map(|i| VoiceSlotOut {
            ssrc: 2000 + i as u32,
            payload_type: 109,
        })
        .collect();
    v.listen(&guest.to_owned(), slots, tx);
    rx
}

fn publish(v: &Voices, guest: &str) -> VoicePublication {
    v.level_id(&guest.to_owned(), LEVEL);
    v.publish(&guest.to_owned())
}

fn heard(v: &Voices, listener: &str) -> Vec<Option<String>> {
    v.heard(&listener.to_owned())
}

fn drain(rx: &mut mpsc::Receiver<Outbound>) -> Vec<Outbound> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

#[test]
fn each_other_voice_keeps_a_slot_and_the_mix_carries_the_room_alone() {
    let (v, told) = voices();
    let _a = publish(&v, "a");
    let mut to_a = listen(&v, "a", 3);
    let b = publish(&v, "b");
    let c = publish(&v, "c");
    assert_eq!(heard(&v, "a"), [Some("b".into()), Some("c".into()), None]);
    assert_eq!(*lock(&told.forwarded), [("a".to_owned(), true)]);
    // B goes: their slot is free, C keeps theirs (a voice does not jump between tracks).
    drop(b);
    assert_eq!(heard(&v, "a"), [None, Some("c".into()), None]);
    let _d = publish(&v, "d");
    assert_eq!(heard(&v, "a"), [Some("d".into()), Some("c".into()), None]);
    // C's voice comes on a new stream (their track replaced): same slot, new stream.
    let c2 = publish(&v, "c");
    assert_eq!(heard(&v, "a"), [Some("d".into()), Some("c".into()), None]);
    c.packet(&packet(1, SPEECH));
    assert!(drain(&mut to_a).is_empty(), "C's old stream is gone");
    c2.packet(&packet(1, SPEECH));
    assert_eq!(drain(&mut to_a).len(), 1);
}

#[test]
fn more_voices_than_slots_are_all_mixed() {
    let (v, told) = voices();
    let _rx = listen(&v, "a", 1);
    let _b = publish(&v, "b");
    assert_eq!(heard(&v, "a"), [Some("b".into())]);
    let _c = publish(&v, "c");
    assert_eq!(
        heard(&v, "a"),
        [None],
        "two others, one slot: both in the mix"
    );
    assert_eq!(
        *lock(&told.forwarded),
        [("a".to_owned(), true), ("a".to_owned(), false)]
    );
}

#[test]
fn a_voice_reaches_the_others_renumbered_and_never_its_own_page() {
    let (v, _) = voices();
    let mut to_a = listen(&v, "a", 2);
    let mut to_b = listen(&v, "b", 2);
    let b = publish(&v, "b");
    b.packet(&packet(500, SPEECH));
    b.packet(&packet(501, SPEECH));
    let got = drain(&mut to_a);
    assert_eq!(got.len(), 2);
    assert!(drain(&mut to_b).is_empty(), "B does not hear themself");
    for (n, out) in got.iter().enumerate() {
        assert_eq!(out.slot, 0);
        assert_eq!(out.packet.header.ssrc, 2000);
        assert_eq!(out.packet.header.payload_type, 109);
        // The slot's first stream keeps its numbers (only its SSRC changes).
        assert_eq!(out.packet.header.sequence_number, 500 + n as u16);
        assert!(out.packet.header.extensions.is_empty());
        assert_eq!(&out.packet.payload[..], [0xf8, 0xff, 0xfe]);
    }
    assert_eq!(v.metrics.forwarded_voice_packets.load(Relaxed), 2);
    // Each a 12-byte header (its level gone) and the 3-byte payload.
    assert_eq!(v.metrics.forwarded_voice_bytes.load(Relaxed), 2 * 15);
}

#[test]
fn a_quiet_voice_is_not_sent_and_comes_back_without_a_gap() {
    let (v, _) = voices();
    let mut to_a = listen(&v, "a", 1);
    let b = publish(&v, "b");
    let t0 = Instant::now();
    // The browser's packets: one each 20 ms, numbered on.
    let send = |ms: u64, level| {
        b.packet_at(
            &packet(10 + (ms / 20) as u16, level),
            t0 + Duration::from_millis(ms),
        )
    };
    send(0, SILENCE);
    assert!(drain(&mut to_a).is_empty(), "silence before any speech");
    send(20, SPEECH);
    send(40, SILENCE);
    // A pause between words keeps the gate open.
    send(980, SILENCE);
    let sent: Vec<u16> = drain(&mut to_a)
        .iter()
        .map(|o| o.packet.header.sequence_number)
        .collect();
    assert_eq!(sent, [11, 12, 59]);
    send(1_040, SILENCE);
    send(1_060, SILENCE);
    assert!(
        drain(&mut to_a).is_empty(),
        "closed a second after the last word"
    );
    send(4_000, SPEECH);
    let back = drain(&mut to_a);
    assert_eq!(back.len(), 1);
    let h = &back[0].packet.header;
    assert_eq!(h.sequence_number, 60, "the next number after the last sent");
    // 3.02 s after the last one sent (at 980 ms), at 48 kHz, on from its timestamp.
    assert_eq!(h.timestamp.wrapping_sub(59 * 960), 3_020 * 48);
}

#[test]
fn a_page_without_levels_is_always_heard() {
    let (v, _) = voices();
    let mut to_a = listen(&v, "a", 1);
    let b = v.publish(&"b".to_owned());
    b.packet(&packet(1, None));
    b.packet(&packet(2, SILENCE));
    assert_eq!(drain(&mut to_a).len(), 2);
}

#[test]
fn a_guest_who_leaves_is_heard_nowhere_and_hears_nothing() {
    let (v, told) = voices();
    let mut to_a = listen(&v, "a", 2);
    let mut to_b = listen(&v, "b", 2);
    let a = publish(&v, "a");
    let b = publish(&v, "b");
    v.leave(&"b".to_owned());
    assert_eq!(heard(&v, "a"), [None, None]);
    assert!(heard(&v, "b").is_empty());
    b.packet(&packet(1, SPEECH));
    a.packet(&packet(1, SPEECH));
    assert!(drain(&mut to_a).is_empty());
    assert!(drain(&mut to_b).is_empty());
    assert_eq!(
        lock(&told.forwarded).last(),
        Some(&("b".to_owned(), false)),
        "B's mix would start whole again"
    );
}

#[test]
fn a_listener_that_cannot_keep_up_starts_again_on_the_next_packet() {
    struct Flaky(AtomicBool);
    impl SlotWriter for Arc<Flaky> {
        fn write(&self, _: usize, _: rtp::Packet) -> Result<(), Full> {
            if self.0.swap(false, Relaxed) {
                Err(Full)
            } else {
                Ok(())
            }
        }
    }
    let (v, _) = voices();
    let flaky = Arc::new(Flaky(AtomicBool::new(false)));
    v.listen(
        &"a".to_owned(),
        vec![VoiceSlotOut {
            ssrc: 1,
            payload_type: 109,
        }],
        flaky.clone(),
    );
    let b = publish(&v, "b");
    b.packet(&packet(1, SPEECH));
    flaky.0.store(true, Relaxed);
    b.packet(&packet(2, SPEECH));
    b.packet(&packet(3, SPEECH));
    assert_eq!(v.metrics.forwarded_voice_packets.load(Relaxed), 2);
}

#[test]
fn the_uplink_plans_for_the_voices_heard_lately() {
    let (v, _) = voices();
    let _to_a = listen(&v, "a", 2);
    let _to_b = listen(&v, "b", 2);
    let _to_c = listen(&v, "c", 2);
    let b = publish(&v, "b");
    let c = publish(&v, "c");
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    assert_eq!(v.planned_bps_at(at(0)), 0, "nobody talks");
    b.packet_at(&packet(1, SPEECH), at(0));
    assert_eq!(v.planned_bps_at(at(10)), 2 * VOICE_BPS, "B to A and C");
    c.packet_at(&packet(1, SPEECH), at(20));
    assert_eq!(v.planned_bps_at(at(30)), 4 * VOICE_BPS);
    // Both quiet again: the plan keeps the most for a while, then lets go.
    assert_eq!(v.planned_bps_at(at(5_000)), 4 * VOICE_BPS);
    assert_eq!(v.planned_bps_at(at(10_100)), 0);
}

/// A listens with seven slots; B, C, D and E publish.
fn four_talkers() -> (
    Voices,
    Arc<Told>,
    mpsc::Receiver<Outbound>,
    Vec<VoicePublication>,
) {
    let (v, told) = voices();
    let to_a = listen(&v, "a", 7);
    let talkers = ["b", "c", "d", "e"]
        .iter()
        .map(|g| publish(&v, g))
        .collect();
    (v, told, to_a, talkers)
}

#[test]
fn at_most_three_voices_are_forwarded_at_once_the_others_stay_mixed() {
    let (v, told, mut to_a, talkers) = four_talkers();
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    for (i, t) in talkers.iter().enumerate() {
        t.packet_at(&packet(1, SPEECH), at(i as u64));
    }
    let from: Vec<u32> = drain(&mut to_a)
        .iter()
        .map(|o| o.packet.header.ssrc)
        .collect();
    assert_eq!(from, [2000, 2001, 2002], "B, C and D; E waits in the mix");
    assert_eq!(
        *lock(&told.open),
        [
            ("b".to_owned(), true),
            ("c".to_owned(), true),
            ("d".to_owned(), true)
        ]
    );
    // B stops talking (silence a second on): E's next word is forwarded.
    talkers[1].packet_at(&packet(2, SPEECH), at(900));
    talkers[2].packet_at(&packet(2, SPEECH), at(900));
    talkers[0].packet_at(&packet(2, SILENCE), at(1_010));
    talkers[3].packet_at(&packet(2, SPEECH), at(1_020));
    let from: Vec<u32> = drain(&mut to_a)
        .iter()
        .map(|o| o.packet.header.ssrc)
        .collect();
    assert_eq!(from, [2001, 2002, 2003]);
    assert_eq!(
        lock(&told.open)[3..],
        [("b".to_owned(), false), ("e".to_owned(), true)]
    );
    assert_eq!(v.planned_bps_at(at(1_030)), 3 * VOICE_BPS);
    // E leaves while forwarded: the mixes hear so.
    drop(talkers);
    assert!(lock(&told.open).ends_with(&[("e".to_owned(), false)]));
}

#[test]
fn a_voice_kept_in_the_mixes_moves_to_its_slot_between_words_not_mid_word() {
    let (_v, told, mut to_a, talkers) = four_talkers();
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    // B, C and D talk; E talks on without a break, a packet every 20 ms.
    for t in &talkers {
        t.packet_at(&packet(1, SPEECH), at(0));
    }
    let mut seq = 1;
    let mut e_talks = |from: u64, to: u64, level: Option<u8>| {
        for ms in (from..to).step_by(20) {
            seq += 1;
            talkers[3].packet_at(&packet(seq, level), at(ms));
        }
    };
    e_talks(20, 1_500, SPEECH);
    // B's gate closed at 1 s; E, mid-word, stays in the mixes.
    talkers[0].packet_at(&packet(2, SILENCE), at(1_500));
    e_talks(1_500, 1_600, SPEECH);
    assert_eq!(
        lock(&told.open)[..],
        [
            ("b".to_owned(), true),
            ("c".to_owned(), true),
            ("d".to_owned(), true),
            ("b".to_owned(), false),
        ]
    );
    drain(&mut to_a);
    // A pause shorter than PAUSE (a stop between syllables) is not enough...
    e_talks(1_600, 1_660, SILENCE);
    e_talks(1_660, 1_700, SPEECH);
    assert!(drain(&mut to_a).is_empty());
    // ...one of PAUSE is: E's next word is forwarded from its first packet.
    e_talks(1_700, 1_700 + PAUSE.as_millis() as u64 + 20, SILENCE);
    e_talks(1_820, 1_860, SPEECH);
    let from: Vec<u32> = drain(&mut to_a)
        .iter()
        .map(|o| o.packet.header.ssrc)
        .collect();
    assert_eq!(from, [2003, 2003]);
    assert!(lock(&told.open).ends_with(&[("e".to_owned(), true)]));
}

#[test]
fn a_voice_sent_above_a_phones_rate_is_planned_at_what_it_takes() {
    let (v, _) = voices();
    let (mut to_a, mut to_c) = (listen(&v, "a", 7), listen(&v, "c", 7));
    let b = publish(&v, "b");
    let t0 = Instant::now();
    // B's client sends 400 bytes of Opus every 20 ms (160 kbit/s; a phone's voice is
    // about 32), heard by A and C.
    static LOUD: [u8; 400] = [0xfc; 400];
    let mut wire = 0;
    for seq in 1..=100u16 {
        let now = t0 + Duration::from_millis(20) * u32::from(seq);
        let mut p = packet(seq, SPEECH);
        p.payload = bytes::Bytes::from_static(&LOUD);
        wire = (p.header.marshal_size() + p.payload.len()) as u64 + PACKET_OVERHEAD;
        b.packet_at(&p, now);
        assert_eq!(drain(&mut to_a).len() + drain(&mut to_c).len(), 2);
        if seq % 10 == 0 {
            v.planned_bps_at(now);
        }
    }
    // Two listeners, 50 packets a second each.
    let takes = 2 * 50 * wire * 8;
    let planned = v.planned_bps_at(t0 + Duration::from_millis(2_000));
    assert!(takes > 2 * VOICE_BPS * 2, "{takes}");
    assert!(
        planned.abs_diff(takes) < takes / 20,
        "planned {planned}, takes {takes}"
    );
}
