use super::*;
use std::sync::Mutex;

/// `n` 20 ms Opus packets of a 440 Hz tone, as a browser sends them (mono).
fn packets(n: usize) -> Vec<Vec<u8>> {
    let mut encoder =
        opus::Encoder::new(RATE, opus::Channels::Mono, opus::Application::Voip).unwrap();
    let mut out = Vec::new();
    for p in 0..n {
        let pcm: Vec<i16> = (0..USUAL_FRAME)
            .map(|i| {
                let t = (p * USUAL_FRAME + i) as f64 / f64::from(RATE);
                (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
            })
            .collect();
        out.push(encoder.encode_vec(&pcm, 4000).unwrap());
    }
    out
}

/// Decoded samples, as they were heard.
type Samples = Arc<Mutex<Vec<i16>>>;

/// An [`OpusVoice`] whose decoded voice collects into the returned samples.
fn voice() -> (OpusVoice<impl FnMut(&[u8])>, Samples) {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let into = heard.clone();
    let voice = OpusVoice::new(move |bytes: &[u8]| {
        into.lock().unwrap().extend(
            bytes
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        );
    })
    .unwrap();
    (voice, heard)
}

fn loudness(samples: &[i16]) -> f64 {
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    super::super::remote::rms_dbfs(&bytes)
}

#[test]
fn arrivals_from_sequence_numbers() {
    assert_eq!(Arrival::of(None, 7), Arrival::Start);
    assert_eq!(Arrival::of(Some(7), 7), Arrival::Next { lost: 0 });
    assert_eq!(Arrival::of(Some(7), 9), Arrival::Next { lost: 2 });
    assert_eq!(
        Arrival::of(Some(65535), 1),
        Arrival::Next { lost: 2 },
        "across the wrap"
    );
    assert_eq!(Arrival::of(Some(7), 6), Arrival::Late, "twice");
    assert_eq!(
        Arrival::of(Some(1), 65534),
        Arrival::Late,
        "late across the wrap"
    );
    assert_eq!(Arrival::of(Some(7), 7 + MAX_GAP + 1), Arrival::Start);
    assert_eq!(Arrival::of(Some(7000), 10), Arrival::Start, "far back");
}

#[test]
fn packets_in_order_are_decoded_into_the_voice() {
    let (mut voice, heard) = voice();
    for (i, p) in packets(50).iter().enumerate() {
        voice.packet(100 + i as u16, p);
    }
    let counts = voice.counts();
    assert_eq!((counts.decoded, counts.concealed, counts.late), (50, 0, 0));
    let heard = heard.lock().unwrap();
    assert_eq!(heard.len(), 50 * USUAL_FRAME, "a second of voice");
    let level = loudness(&heard[RATE as usize / 2..]);
    assert!(level > -20.0, "the tone is heard: {level:.1} dBFS");
}

#[test]
fn a_lost_packet_is_made_up_and_the_voice_keeps_its_length() {
    let (mut voice, heard) = voice();
    let packets = packets(50);
    for (i, p) in packets.iter().enumerate() {
        if i == 20 || i == 30 || i == 31 {
            continue;
        }
        voice.packet(65500u16.wrapping_add(i as u16), p);
    }
    let counts = voice.counts();
    assert_eq!((counts.decoded, counts.concealed), (47, 3));
    let heard = heard.lock().unwrap();
    assert_eq!(heard.len(), 50 * USUAL_FRAME, "no gap in time");
    let filled = &heard[20 * USUAL_FRAME..21 * USUAL_FRAME];
    assert!(loudness(filled) > -30.0, "the gap is not silence");
}

#[test]
fn a_late_or_repeated_packet_is_dropped() {
    let (mut voice, heard) = voice();
    let packets = packets(10);
    for seq in [0u16, 1, 2, 4, 3, 4, 5, 6, 7, 8, 9] {
        voice.packet(seq, &packets[usize::from(seq)]);
    }
    let counts = voice.counts();
    assert_eq!((counts.decoded, counts.concealed, counts.late), (9, 1, 2));
    assert_eq!(heard.lock().unwrap().len(), 10 * USUAL_FRAME);
}

#[test]
fn a_stream_that_starts_again_is_not_filled_in() {
    let (mut voice, heard) = voice();
    let packets = packets(10);
    for (i, p) in packets[..5].iter().enumerate() {
        voice.packet(i as u16, p);
    }
    for (i, p) in packets[5..].iter().enumerate() {
        voice.packet(30_000 + i as u16, p);
    }
    let counts = voice.counts();
    assert_eq!((counts.decoded, counts.concealed, counts.late), (10, 0, 0));
    assert_eq!(heard.lock().unwrap().len(), 10 * USUAL_FRAME);
}

#[test]
fn a_corrupt_packet_is_counted_and_the_voice_goes_on() {
    let (mut voice, heard) = voice();
    let packets = packets(3);
    voice.packet(0, &packets[0]);
    // A code-3 packet claiming 63 frames of 20 ms: more than any packet may hold.
    voice.packet(1, &[0x0b, 0xff, 0x01, 0x02]);
    voice.packet(2, &packets[2]);
    let counts = voice.counts();
    assert_eq!((counts.decoded, counts.bad), (2, 1));
    assert_eq!(heard.lock().unwrap().len(), 2 * USUAL_FRAME);
}
