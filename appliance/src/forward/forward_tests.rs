use super::*;
use std::sync::atomic::AtomicUsize;

const H264: &str = "video/H264";

fn packet(seq: u16, payload: &'static [u8]) -> rtp::Packet {
    rtp::Packet {
        header: rtp::header::Header {
            version: 2,
            payload_type: 102,
            sequence_number: seq,
            timestamp: u32::from(seq) * 3000,
            ssrc: 0x5eed,
            ..Default::default()
        },
        payload: bytes::Bytes::from_static(payload),
    }
}

const IDR: &[u8] = &[0x65, 0x88];
const DELTA: &[u8] = &[0x41, 0x9a];

struct Viewing {
    packets: mpsc::Receiver<Outbound>,
    told: mpsc::UnboundedReceiver<UnitMessage>,
}

fn view(f: &Forwarder, guest: &str, slots: usize) -> Viewing {
    let (tx, packets) = mpsc::channel(64);
    let (tell, told) = mpsc::unbounded_channel();
    let slots = (0..slots)
        .map(|i| SlotOut {
            ssrc: 1000 + i as u32,
            payload_types: HashMap::from([("video/h264".to_owned(), 96)]),
        })
        .collect();
    f.view(&guest.to_owned(), slots, tx, tell);
    Viewing { packets, told }
}

/// Whom `viewer` sees now, in slot order (empty slots left out).
fn seen(f: &Forwarder, viewer: &str) -> Vec<GuestId> {
    f.shown(&viewer.to_owned()).into_iter().flatten().collect()
}

/// Each of `guests` joins and publishes (H.264, keyframe requests not counted).
fn all_publish(f: &Forwarder, guests: &[&str]) -> Vec<Publication> {
    let none = Arc::new(AtomicUsize::new(0));
    guests
        .iter()
        .map(|g| {
            f.join(&g.to_string(), g);
            f.publish(&g.to_string(), H264, asker(&none))
        })
        .collect()
}

fn asker(count: &Arc<AtomicUsize>) -> AskKeyframe {
    let count = count.clone();
    Box::new(move || {
        count.fetch_add(1, Relaxed);
    })
}

fn last_others(v: &mut Viewing) -> Vec<(u8, String)> {
    let mut last = None;
    while let Ok(m) = v.told.try_recv() {
        if let UnitMessage::Others { others } = m {
            last = Some(others.into_iter().map(|o| (o.slot, o.name)).collect());
        }
    }
    last.expect("an Others message")
}

#[tokio::test]
async fn a_guest_sees_the_others_from_a_keyframe_on_and_never_themself() {
    let f = Forwarder::new(Arc::default(), 10_000_000);
    for (g, n) in [("jo", "Jo"), ("ana", "Ana"), ("cam", "Camille")] {
        f.join(&g.to_owned(), n);
    }
    let mut jo = view(&f, "jo", 3);
    assert_eq!(last_others(&mut jo), vec![], "nobody publishes yet");
    let asks = Arc::new(AtomicUsize::new(0));
    let ana = f.publish(&"ana".to_owned(), H264, asker(&asks));
    let own = f.publish(&"jo".to_owned(), H264, asker(&asks));
    assert_eq!(last_others(&mut jo), vec![(0, "Ana".to_owned())]);
    assert_eq!(
        asks.load(Relaxed),
        1,
        "Ana was asked for a keyframe for Jo's slot"
    );

    ana.packet(&packet(10, DELTA));
    own.packet(&packet(10, IDR));
    assert!(
        jo.packets.try_recv().is_err(),
        "a delta first, and Jo's own picture"
    );
    ana.packet(&packet(11, IDR));
    ana.packet(&packet(12, DELTA));
    let first = jo.packets.try_recv().unwrap();
    let second = jo.packets.try_recv().unwrap();
    assert_eq!((first.slot, first.packet.header.ssrc), (0, 1000));
    assert_eq!(
        first.packet.header.payload_type, 96,
        "Jo's payload type for H.264"
    );
    assert_eq!(
        second.packet.header.sequence_number,
        first.packet.header.sequence_number.wrapping_add(1)
    );
    assert_eq!(f.metrics.forwarded_packets.load(Relaxed), 2);
    assert_eq!(f.metrics.forwarded_streams.load(Relaxed), 1);
}

#[tokio::test]
async fn a_leaver_goes_from_every_slot_and_is_told() {
    let f = Forwarder::new(Arc::default(), 10_000_000);
    for (g, n) in [("jo", "Jo"), ("ana", "Ana"), ("cam", "Camille")] {
        f.join(&g.to_owned(), n);
    }
    let mut jo = view(&f, "jo", 2);
    let mut cam = view(&f, "cam", 2);
    let none = Arc::new(AtomicUsize::new(0));
    let ana = f.publish(&"ana".to_owned(), H264, asker(&none));
    let _cam_pub = f.publish(&"cam".to_owned(), H264, asker(&none));
    assert_eq!(
        last_others(&mut jo),
        vec![(0, "Ana".to_owned()), (1, "Camille".to_owned())]
    );
    assert_eq!(last_others(&mut cam), vec![(0, "Ana".to_owned())]);
    ana.packet(&packet(1, IDR));
    assert!(jo.packets.try_recv().is_ok() && cam.packets.try_recv().is_ok());
    f.leave(&"ana".to_owned());
    assert_eq!(last_others(&mut jo), vec![(1, "Camille".to_owned())]);
    assert_eq!(last_others(&mut cam), vec![]);
    ana.packet(&packet(2, IDR));
    assert!(jo.packets.try_recv().is_err() && cam.packets.try_recv().is_err());
    assert_eq!(
        f.shown(&"jo".to_owned()),
        vec![None, Some("cam".to_owned())]
    );
    drop(ana); // a publication dropped after its guest left changes nothing
    assert_eq!(
        f.shown(&"jo".to_owned()),
        vec![None, Some("cam".to_owned())]
    );
}

#[tokio::test(start_paused = true)]
async fn keyframe_requests_are_coalesced_per_publisher() {
    let f = Forwarder::new(Arc::default(), 10_000_000);
    let asks = Arc::new(AtomicUsize::new(0));
    let ana = f.publish(&"ana".to_owned(), H264, asker(&asks));
    let _jo = view(&f, "jo", 1);
    assert_eq!(asks.load(Relaxed), 1);
    for _ in 0..5 {
        f.keyframe_wanted(&"jo".to_owned(), 0);
    }
    let _cam = view(&f, "cam", 1);
    assert_eq!(asks.load(Relaxed), 1, "inside the gap: held");
    tokio::time::sleep(KEYFRAME_GAP + Duration::from_millis(1)).await;
    assert_eq!(
        asks.load(Relaxed),
        2,
        "one more at the end of the gap, for all of them"
    );
    tokio::time::sleep(KEYFRAME_GAP * 3).await;
    assert_eq!(asks.load(Relaxed), 2);
    f.keyframe_wanted(&"jo".to_owned(), 0);
    assert_eq!(asks.load(Relaxed), 3, "after the gap: at once");
    f.keyframe_wanted(&"jo".to_owned(), 7);
    assert_eq!(asks.load(Relaxed), 3, "a slot that does not exist");
    // The unit's screen decodes the same layer: inside the gap the keyframe just asked
    // serves it too (it asks again a gap later if none came).
    ana.ask_keyframe();
    tokio::time::sleep(KEYFRAME_GAP * 2).await;
    assert_eq!(
        asks.load(Relaxed),
        3,
        "the screen's, inside the gap: not asked"
    );
    ana.ask_keyframe();
    assert_eq!(
        asks.load(Relaxed),
        4,
        "the screen's, after the gap: at once"
    );
    ana.ask_keyframe();
    f.keyframe_wanted(&"jo".to_owned(), 0);
    tokio::time::sleep(KEYFRAME_GAP * 2).await;
    assert_eq!(
        asks.load(Relaxed),
        5,
        "a slot's inside the gap: held, then one"
    );
    // While a slot's request waits to go, the screen's is not asked besides.
    f.keyframe_wanted(&"jo".to_owned(), 0);
    assert_eq!(asks.load(Relaxed), 6);
    f.keyframe_wanted(&"jo".to_owned(), 0);
    ana.ask_keyframe();
    tokio::time::sleep(KEYFRAME_GAP * 2).await;
    assert_eq!(
        asks.load(Relaxed),
        7,
        "the slot's, held; the screen's went with it"
    );
    drop(ana);
}

#[tokio::test(start_paused = true)]
async fn a_slot_still_waiting_for_its_keyframe_asks_again_each_gap() {
    let f = Forwarder::new(Arc::default(), 10_000_000);
    let asks = Arc::new(AtomicUsize::new(0));
    let ana = f.publish(&"ana".to_owned(), H264, asker(&asks));
    let mut jo = view(&f, "jo", 1);
    assert_eq!(asks.load(Relaxed), 1, "asked when Jo's slot took Ana");
    // The keyframe does not come (the request or the keyframe lost): deltas only.
    ana.packet(&packet(1, DELTA));
    assert_eq!(asks.load(Relaxed), 1, "inside the gap: not again");
    tokio::time::sleep(KEYFRAME_GAP).await;
    ana.packet(&packet(2, DELTA));
    assert_eq!(asks.load(Relaxed), 2, "a gap later: again");
    ana.packet(&packet(3, DELTA));
    assert_eq!(asks.load(Relaxed), 2);
    assert!(
        jo.packets.try_recv().is_err(),
        "nothing before the keyframe"
    );
    // The keyframe comes: the slot shows Ana, and nothing more is asked.
    ana.packet(&packet(4, IDR));
    tokio::time::sleep(KEYFRAME_GAP * 3).await;
    ana.packet(&packet(5, DELTA));
    let got: Vec<u16> = std::iter::from_fn(|| jo.packets.try_recv().ok())
        .map(|o| o.packet.header.sequence_number)
        .collect();
    assert_eq!(got.len(), 2, "the keyframe and the delta after it: {got:?}");
    assert_eq!(asks.load(Relaxed), 2);
}

#[tokio::test]
async fn a_viewer_behind_starts_again_at_a_keyframe() {
    let f = Forwarder::new(Arc::default(), 10_000_000);
    let asks = Arc::new(AtomicUsize::new(0));
    let (tx, mut packets) = mpsc::channel(2);
    let (tell, _told) = mpsc::unbounded_channel();
    let slot = SlotOut {
        ssrc: 7,
        payload_types: HashMap::from([("video/h264".to_owned(), 96)]),
    };
    f.view(&"jo".to_owned(), vec![slot], tx, tell);
    let ana = f.publish(&"ana".to_owned(), H264, asker(&asks));
    for seq in 1..=4 {
        ana.packet(&packet(seq, if seq == 1 { IDR } else { DELTA }));
    }
    // Two fit; the third is lost, so the fourth waits for a keyframe.
    let got: Vec<u16> = std::iter::from_fn(|| packets.try_recv().ok())
        .map(|o| o.packet.header.sequence_number)
        .collect();
    assert_eq!(got, vec![1, 2]);
    ana.packet(&packet(5, DELTA));
    assert!(packets.try_recv().is_err());
    ana.packet(&packet(6, IDR));
    let next = packets.try_recv().unwrap().packet.header.sequence_number;
    assert_eq!(
        next, 3,
        "numbering goes on where the viewer's stream stopped"
    );
}

#[tokio::test]
async fn the_budget_caps_what_is_forwarded_speakers_first() {
    // Room for 2 pictures in all.
    let f = Forwarder::new(Arc::default(), 2 * STREAM_BPS + STREAM_BPS / 2);
    let _pubs = all_publish(&f, &["ana", "cam", "jo", "leo"]);
    let _jo = view(&f, "jo", 3);
    assert_eq!(
        f.shown(&"jo".to_owned()),
        vec![Some("ana".into()), Some("cam".into()), None]
    );
    let _ana = view(&f, "ana", 3);
    // Two viewers: one picture each.
    assert_eq!(seen(&f, "jo").len(), 1);
    assert_eq!(seen(&f, "ana").len(), 1);
    f.speaking(&"leo".to_owned(), true);
    assert_eq!(seen(&f, "jo"), vec!["leo"]);
    assert_eq!(seen(&f, "ana"), vec!["leo"]);
    assert_eq!(f.planned_bps(), 2 * STREAM_BPS);
    f.leave(&"ana".to_owned());
    assert_eq!(seen(&f, "jo").len(), 2, "Jo's share grows back");
    // The budget shrinks (more guests in the call need their floor): Jo sees the
    // latest speaker only, and what is forwarded is planned at that.
    f.set_budget(STREAM_BPS);
    assert_eq!(seen(&f, "jo"), vec!["leo"]);
    assert_eq!(f.planned_bps(), STREAM_BPS);
    f.set_budget(0);
    assert_eq!(seen(&f, "jo").len(), 0);
    assert_eq!(f.planned_bps(), 0);
}

#[tokio::test]
async fn what_an_even_share_leaves_over_is_seen_by_someone() {
    // Room for 3 pictures in all, two viewers: 2 and 1, not 1 and 1.
    let f = Forwarder::new(Arc::default(), 3 * STREAM_BPS);
    let _pubs = all_publish(&f, &["ana", "cam", "jo", "leo"]);
    let _jo = view(&f, "jo", 3);
    let _ana = view(&f, "ana", 3);
    let mut counts = [seen(&f, "ana").len(), seen(&f, "jo").len()];
    counts.sort();
    assert_eq!(counts, [1, 2]);
    assert_eq!(f.planned_bps(), 3 * STREAM_BPS);
    // A viewer with fewer slots than their share leaves the rest to the others.
    let _cam = view(&f, "cam", 1);
    f.set_budget(5 * STREAM_BPS);
    assert_eq!(seen(&f, "cam").len(), 1);
    assert_eq!(seen(&f, "ana").len() + seen(&f, "jo").len(), 4);
    assert_eq!(f.planned_bps(), 5 * STREAM_BPS);
}

#[tokio::test]
async fn a_viewer_whose_link_carries_fewer_sees_the_latest_speakers_and_frees_the_rest() {
    // Room for 4 pictures in all, two viewers with three slots.
    let f = Forwarder::new(Arc::default(), 4 * STREAM_BPS);
    let _pubs = all_publish(&f, &["ana", "cam", "jo", "leo"]);
    let mut jo = view(&f, "jo", 3);
    let _ana = view(&f, "ana", 3);
    assert_eq!(seen(&f, "jo").len() + seen(&f, "ana").len(), 4);
    last_others(&mut jo);
    f.speaking(&"leo".to_owned(), true);
    // Jo's own link carries one picture: the speaker's, and Jo's page hears so.
    f.set_link(&"jo".to_owned(), Some(1));
    assert_eq!(seen(&f, "jo"), vec!["leo"]);
    assert_eq!(f.showing(&"jo".to_owned()), 1);
    assert_eq!(last_others(&mut jo).len(), 1);
    // What Jo cannot take goes to Ana, within the uplink's budget.
    assert_eq!(seen(&f, "ana").len(), 3);
    assert_eq!(f.planned_bps(), 4 * STREAM_BPS);
    // None: the picture of nobody while the link carries only the room's.
    f.set_link(&"jo".to_owned(), Some(0));
    assert!(seen(&f, "jo").is_empty());
    assert_eq!(f.planned_bps(), 3 * STREAM_BPS);
    // Jo's link carries everything again.
    f.set_link(&"jo".to_owned(), None);
    assert_eq!(seen(&f, "jo").len() + seen(&f, "ana").len(), 4);
    assert_eq!(seen(&f, "jo")[0], "leo", "the speaker first");
}

/// What `v` was told of their small layer's rate since last asked, in order.
fn rate_told(v: &mut Viewing) -> Vec<(u32, u32)> {
    told(v, |m| match m {
        UnitMessage::SmallLayerRate { max_kbps, max_fps } => Some((max_kbps, max_fps)),
        _ => None,
    })
}

/// What `v` was told since last asked that `pick` keeps, in order (the rest is dropped).
fn told<T>(v: &mut Viewing, pick: impl Fn(UnitMessage) -> Option<T>) -> Vec<T> {
    std::iter::from_fn(|| v.told.try_recv().ok())
        .filter_map(pick)
        .collect()
}

#[tokio::test]
async fn a_table_too_full_for_the_uplink_lowers_every_picture_so_that_all_fit() {
    let guests = ["ana", "cam", "jo", "leo"];
    let f = Forwarder::new(Arc::default(), 12 * STREAM_BPS);
    let _pubs = all_publish(&f, &guests);
    let mut views: Vec<Viewing> = guests.iter().map(|g| view(&f, g, 3)).collect();
    // Twelve pictures wanted (each sees the three others): room for them at the usual
    // rate, and the pages are told nothing.
    f.set_room_for_pictures(12 * STREAM_BPS);
    assert_eq!(f.picture_bps(), STREAM_BPS);
    for v in &mut views {
        assert!(rate_told(v).is_empty());
    }
    // Room for twelve at 100 kbit/s: every picture is lowered to that (90 kbit/s of video
    // at 15 frames a second), every page hears it, and the budget now carries all twelve.
    f.set_room_for_pictures(12 * 100_000 + 4_000);
    assert_eq!(f.picture_bps(), 100_000);
    for v in &mut views {
        assert_eq!(rate_told(v), [(90, LOW_FPS)]);
    }
    f.set_budget(12 * 100_000);
    for g in guests {
        assert_eq!(seen(&f, g).len(), 3, "{g}");
    }
    assert_eq!(f.planned_bps(), 12 * 100_000);
    // The same again is not said again; never under the least rate.
    f.set_room_for_pictures(12 * 100_000);
    assert!(rate_told(&mut views[0]).is_empty());
    f.set_room_for_pictures(1_000);
    assert_eq!(f.picture_bps(), MIN_STREAM_BPS);
    assert_eq!(rate_told(&mut views[0]), [(45, LOW_FPS)]);
    // Two leave: the four pictures left fit at the usual rate, and the pages hear it.
    f.leave(&"cam".to_owned());
    f.leave(&"leo".to_owned());
    f.set_room_for_pictures(12 * 100_000);
    assert_eq!(f.picture_bps(), STREAM_BPS);
    assert_eq!(rate_told(&mut views[0]), [(150, 30)]);
    // A page that starts viewing while the rate is lowered hears it at once.
    f.set_room_for_pictures(1_000);
    let mut late = view(&f, "max", 3);
    assert_eq!(rate_told(&mut late), [(45, LOW_FPS)]);
}

/// What `v` was told of their own picture being held since last asked, in order.
fn held_told(v: &mut Viewing) -> Vec<bool> {
    told(v, |m| match m {
        UnitMessage::PictureHeld { held } => Some(held),
        _ => None,
    })
}

#[test]
fn the_small_layer_keeps_30_frames_a_second_down_to_100_kbit_s() {
    assert_eq!(small_layer_rate(STREAM_BPS), (150, 30));
    assert_eq!(small_layer_rate(120_000), (100, 30));
    assert_eq!(small_layer_rate(115_000), (105, LOW_FPS));
    assert_eq!(small_layer_rate(MIN_STREAM_BPS), (45, LOW_FPS));
    assert_eq!(picture_rate(56 * STREAM_BPS, 56), STREAM_BPS);
    assert_eq!(picture_rate(56 * 64_000, 56), 60_000);
    assert_eq!(picture_rate(0, 56), MIN_STREAM_BPS);
    assert_eq!(picture_rate(0, 0), STREAM_BPS, "nobody to show");
}

/// What `v` was told of their full layer since last asked, in order.
fn full_layer_told(v: &mut Viewing) -> Vec<bool> {
    told(v, |m| match m {
        UnitMessage::FullLayer { on } => Some(on),
        _ => None,
    })
}

#[test]
fn tiles_are_small_from_the_set_number_of_guests_in_the_call_and_the_pages_hear_it() {
    let f = Forwarder::new(Arc::default(), 10_000_000).with_small_tiles_from(3);
    f.join(&"jo".to_owned(), "Jo");
    let mut jo = view(&f, "jo", 2);
    assert_eq!(
        full_layer_told(&mut jo),
        [true],
        "told as Jo starts seeing others"
    );
    f.join(&"ana".to_owned(), "Ana");
    let mut ana = view(&f, "ana", 2);
    assert!(!f.small_tiles(), "two guests");
    assert_eq!(full_layer_told(&mut ana), [true]);
    f.join(&"cam".to_owned(), "Camille");
    assert!(f.small_tiles(), "three guests");
    let mut cam = view(&f, "cam", 2);
    for (who, v) in [("Jo", &mut jo), ("Ana", &mut ana), ("Camille", &mut cam)] {
        assert_eq!(full_layer_told(v), [false], "{who}: pause the full layer");
    }
    f.join(&"cam".to_owned(), "Camille");
    assert_eq!(full_layer_told(&mut jo), [] as [bool; 0], "nothing changed");
    f.leave(&"ana".to_owned());
    assert!(!f.small_tiles(), "Ana left; Camille counts once");
    for (who, v) in [("Jo", &mut jo), ("Camille", &mut cam)] {
        assert_eq!(
            full_layer_told(v),
            [true],
            "{who}: send the full layer again"
        );
    }
    let never = Forwarder::new(Arc::default(), 10_000_000);
    for g in ["a", "b", "c", "d", "e", "f", "g", "h"] {
        never.join(&g.to_owned(), g);
    }
    assert!(!never.small_tiles(), "0: the full layer, whatever the call");
}

#[test]
fn once_the_screen_says_how_wide_its_tiles_are_that_decides() {
    let f = Forwarder::new(Arc::default(), 10_000_000).with_small_tiles_from(6);
    f.join(&"jo".to_owned(), "Jo");
    let mut jo = view(&f, "jo", 2);
    assert_eq!(full_layer_told(&mut jo), [true]);
    // A small screen: one guest's tile is already no wider than the small layer shows.
    f.set_screen_tiles(SMALL_TILE_WIDTH);
    assert!(f.small_tiles(), "a tile {SMALL_TILE_WIDTH} pixels wide");
    assert_eq!(
        full_layer_told(&mut jo),
        [false],
        "Jo pauses the full layer"
    );
    // No tiles for a moment: nothing changes.
    f.set_screen_tiles(0);
    assert!(f.small_tiles());
    assert_eq!(full_layer_told(&mut jo), [] as [bool; 0]);
    // The tiles grow (a guest left, the screen turned): the full layer again, whatever the
    // number of guests.
    f.set_screen_tiles(SMALL_TILE_WIDTH + 1);
    assert!(!f.small_tiles());
    assert_eq!(full_layer_told(&mut jo), [true]);
    for g in ["a", "b", "c", "d", "e", "f", "g"] {
        f.join(&g.to_owned(), g);
    }
    assert!(!f.small_tiles(), "eight guests in tiles still wide");
    // `small_tiles_from` 0: the full layer always, whatever the screen says.
    let never = Forwarder::new(Arc::default(), 10_000_000);
    never.set_screen_tiles(100);
    assert!(!never.small_tiles());
}

/// A delta packet of 1,000 bytes of payload.
static BIG: [u8; 1000] = [0x41; 1000];

#[tokio::test]
async fn a_picture_sent_faster_than_asked_leaves_the_others_slots_until_it_keeps_to_it() {
    let f = Forwarder::new(Arc::default(), 10_000_000);
    let pubs = all_publish(&f, &["ana", "jo"]);
    let mut jo = view(&f, "jo", 3);
    let mut ana_sees = view(&f, "ana", 3);
    assert_eq!(seen(&f, "jo"), vec!["ana".to_owned()]);
    let _ = last_others(&mut jo);
    let ana = &pubs[0];
    let t0 = Instant::now();
    let mut seq = 0u16;
    // Ana's page sends `per_quarter` packets of 1,000 bytes every quarter second for
    // `secs` seconds (each packet a quarter is 32 kbit/s; the unit plans a picture at
    // 170); the forwarder keeps pace every quarter.
    let mut quarter = 0u32;
    let mut send = |per_quarter: u16, secs: u32| {
        for _ in 0..secs * 4 {
            for _ in 0..per_quarter {
                seq = seq.wrapping_add(1);
                ana.packet(&packet(seq, if seq == 1 { IDR } else { &BIG }));
            }
            quarter += 1;
            f.keep_pace(t0 + Duration::from_millis(250) * quarter);
        }
    };
    // At the rate asked, as long as you like: still shown.
    send(4, 20);
    assert_eq!(seen(&f, "jo"), vec!["ana".to_owned()]);
    assert_eq!(f.metrics.forward_pictures_held.load(Relaxed), 0);
    assert_eq!(held_told(&mut ana_sees), Vec::<bool>::new());
    // A flood (1.3 Mbit/s): off Jo's slots, Jo told, nothing more forwarded.
    send(40, 5);
    assert_eq!(seen(&f, "jo"), Vec::<GuestId>::new());
    assert_eq!(last_others(&mut jo), vec![]);
    assert_eq!(f.metrics.forward_pictures_held.load(Relaxed), 1);
    assert_eq!(held_told(&mut ana_sees), [true], "Ana's page is told");
    while jo.packets.try_recv().is_ok() {}
    send(40, 1);
    assert!(
        jo.packets.try_recv().is_err(),
        "nothing of the flood forwarded"
    );
    // Back to the rate asked: shown again once it kept to it.
    send(4, (pace::WINDOW + pace::BACK_AFTER).as_secs() as u32 + 1);
    assert_eq!(seen(&f, "jo"), vec!["ana".to_owned()]);
    assert_eq!(last_others(&mut jo), vec![(0, "ana".to_owned())]);
    assert_eq!(f.metrics.forward_pictures_held.load(Relaxed), 0);
    assert_eq!(held_told(&mut ana_sees), [false]);
}
