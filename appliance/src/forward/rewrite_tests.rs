use super::*;
use std::time::Duration;

fn src(guest: &str, stream: u64) -> Source {
    Source {
        guest: guest.to_owned(),
        stream,
    }
}

fn header(seq: u16, ts: u32) -> Header {
    Header {
        version: 2,
        sequence_number: seq,
        timestamp: ts,
        ssrc: 0xdead,
        extension: true,
        extension_profile: 0xBEDE,
        extensions: vec![rtc::rtp::header::Extension {
            id: 1,
            payload: bytes::Bytes::from_static(b"0"),
        }],
        ..Default::default()
    }
}

#[test]
fn a_slot_starts_at_a_keyframe_and_carries_its_own_ssrc() {
    let now = Instant::now();
    let mut slot = SlotStream::new(42, 90_000);
    let ana = src("ana", 1);
    let mut h = header(100, 1000);
    assert!(!slot.rewrite(&ana, &mut h, true, now), "nobody shown yet");
    slot.show(Some(ana.clone()));
    assert!(slot.waiting());
    assert!(
        !slot.rewrite(&ana, &mut header(101, 1000), false, now),
        "a delta first"
    );
    let mut h = header(102, 3000);
    assert!(slot.rewrite(&ana, &mut h, true, now));
    assert_eq!((h.ssrc, h.sequence_number, h.timestamp), (42, 102, 3000));
    assert!(
        !h.extension && h.extensions.is_empty(),
        "the publisher's extensions go"
    );
    let mut h = header(103, 6000);
    assert!(slot.rewrite(&ana, &mut h, false, now));
    assert_eq!(h.sequence_number, 103);
    // Another guest's packets never go into this slot.
    assert!(!slot.rewrite(&src("jo", 1), &mut header(7, 7), true, now));
}

#[test]
fn a_change_of_guest_continues_the_numbering() {
    let t0 = Instant::now();
    let mut slot = SlotStream::new(42, 90_000);
    let (ana, jo) = (src("ana", 1), src("jo", 1));
    slot.show(Some(ana.clone()));
    let mut h = header(65_535, u32::MAX - 100);
    assert!(slot.rewrite(&ana, &mut h, true, t0));
    slot.show(Some(jo.clone()));
    // Ana's packets stop at once; Jo's wait for a keyframe.
    assert!(!slot.rewrite(&ana, &mut header(0, 0), false, t0));
    assert!(!slot.rewrite(&jo, &mut header(500, 9000), false, t0));
    let mut h = header(501, 12_000);
    assert!(slot.rewrite(&jo, &mut h, true, t0 + Duration::from_millis(100)));
    assert_eq!(h.sequence_number, 0, "one on from 65535, wrapping");
    assert_eq!(
        h.timestamp,
        (u32::MAX - 100).wrapping_add(9000),
        "100 ms on at 90 kHz"
    );
    let mut h = header(502, 15_000);
    assert!(slot.rewrite(&jo, &mut h, false, t0));
    assert_eq!(
        (h.sequence_number, h.timestamp),
        (1, (u32::MAX - 100).wrapping_add(12_000))
    );
}

#[test]
fn showing_nobody_stops_the_slot() {
    let now = Instant::now();
    let mut slot = SlotStream::new(1, 90_000);
    let ana = src("ana", 1);
    slot.show(Some(ana.clone()));
    assert!(slot.rewrite(&ana, &mut header(1, 1), true, now));
    slot.show(None);
    assert!(!slot.waiting());
    assert!(!slot.rewrite(&ana, &mut header(2, 2), true, now));
}

#[test]
fn h264_keyframes_are_found() {
    let h264 = |p: &[u8]| starts_keyframe("video/H264", p);
    assert!(h264(&[0x67, 0x42]), "SPS");
    assert!(h264(&[0x65, 0x88]), "IDR slice");
    assert!(!h264(&[0x41, 0x9a]), "non-IDR slice");
    // STAP-A with SPS and PPS.
    assert!(h264(&[0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68]));
    assert!(!h264(&[0x78, 0x00, 0x01, 0x68]), "STAP-A of a PPS alone");
    assert!(!h264(&[0x78, 0x00, 0x09, 0x67]), "a STAP-A cut short");
    // FU-A: start of an IDR; a middle fragment; a non-IDR start.
    assert!(h264(&[0x7c, 0x85, 0x00]));
    assert!(!h264(&[0x7c, 0x05, 0x00]));
    assert!(!h264(&[0x7c, 0x81, 0x00]));
    assert!(!h264(&[]));
}

#[test]
fn vp8_keyframes_are_found() {
    let vp8 = |p: &[u8]| starts_keyframe("video/VP8", p);
    // S=1, no extension, key frame (P bit 0).
    assert!(vp8(&[0x10, 0x00]));
    assert!(!vp8(&[0x10, 0x01]), "an interframe");
    assert!(!vp8(&[0x00, 0x00]), "not the start of a partition");
    // X=1, I=1 with a 15-bit picture id, L=1: key frame after 4 descriptor bytes.
    assert!(vp8(&[0x90, 0xc0, 0x80, 0x01, 0x05, 0x00]));
    assert!(!vp8(&[0x90, 0xc0, 0x80, 0x01, 0x05, 0x01]));
    assert!(!vp8(&[0x90, 0xc0]), "cut short");
    assert!(
        !starts_keyframe("video/VP9", &[0x10, 0x00]),
        "codecs it does not read"
    );
}
