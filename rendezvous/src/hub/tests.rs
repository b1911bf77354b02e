//! The hub's rules, with channels for sockets.

use super::*;

type Rx<M> = mpsc::Receiver<Outbound<M>>;

fn link<M>() -> (Link<M>, Rx<M>) {
    let (tx, rx) = mpsc::channel(8);
    (
        Link {
            tx,
            kick: CancellationToken::new(),
        },
        rx,
    )
}

fn drain<M>(rx: &mut Rx<M>) -> Vec<Outbound<M>> {
    let mut out = Vec::new();
    while let Ok(m) = rx.try_recv() {
        out.push(m);
    }
    out
}

const S: SessionId = SessionId(1);
const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

fn offer() -> SignalPayload {
    SignalPayload::Offer { sdp: "v=0".into() }
}

#[test]
fn a_restore_after_a_unit_blip_leaves_connected_guests_alone() {
    let mut hub = Hub::new();
    let (dl, _drx) = link();
    hub.attach_device("unit", dl);
    let (gl, mut grx) = link();
    hub.join("g1", "unit", S, "Camille", gl, vec![], IP)
        .unwrap();
    hub.admit("unit", "g1", &[]).unwrap();
    drain(&mut grx);
    let named = |id: &str| RestoredGuest {
        guest_id: id.into(),
        name: "x".into(),
    };
    // g1 is still connected (only the unit's socket blipped); g2 is not (forgotten).
    assert_eq!(hub.restore("unit", S, vec![named("g1"), named("g2")]), 1);
    assert!(drain(&mut grx).is_empty(), "g1 is left as it was");
    let (g2, mut g2rx) = link();
    assert_eq!(hub.resume("g2", None, g2, IP), Ok("unit".to_owned()));
    assert_eq!(
        drain(&mut g2rx),
        vec![Outbound::keep(ServerToGuest::Resumed { unit_here: true })]
    );
    hub.signal_to_device("g2", offer()).unwrap();
    assert_eq!(hub.guest_count("unit"), 2);
}

/// The unit and Camille, admitted; the hub, the unit's queue and Camille's link.
fn camille_admitted() -> (
    Hub,
    Rx<ServerToDevice>,
    Link<ServerToGuest>,
    Rx<ServerToGuest>,
) {
    let mut hub = Hub::new();
    let (dl, mut drx) = link();
    hub.attach_device("unit", dl);
    let (gl, mut grx) = link();
    hub.join("g1", "unit", S, "Camille", gl.clone(), vec![], IP)
        .unwrap();
    hub.admit("unit", "g1", &[]).unwrap();
    drain(&mut drx);
    drain(&mut grx);
    (hub, drx, gl, grx)
}

#[test]
fn a_lost_socket_holds_the_place_until_the_page_resumes() {
    let (mut hub, mut drx, gl, _grx) = camille_admitted();
    let Closed::Held(hold) = hub.socket_closed("g1", &gl, true) else {
        panic!("an admitted guest's lost socket holds the place");
    };
    assert!(drain(&mut drx).is_empty(), "the unit is not told");
    assert_eq!(hub.guest_count("unit"), 1, "the place still counts");
    // The unit reconnects meanwhile and names her: nothing changes.
    assert_eq!(
        hub.restore(
            "unit",
            S,
            vec![RestoredGuest {
                guest_id: "g1".into(),
                name: "Camille".into()
            }]
        ),
        0
    );
    let (again, mut again_rx) = link();
    assert_eq!(hub.resume("g1", None, again, IP), Ok("unit".to_owned()));
    assert_eq!(
        drain(&mut again_rx),
        vec![Outbound::keep(ServerToGuest::Resumed { unit_here: true })]
    );
    // The first hold's timer finds her back: nothing happens.
    assert!(!hub.hold_expired("g1", hold));
    assert!(drain(&mut drx).is_empty());
    hub.signal_to_device("g1", offer()).unwrap();
    assert_eq!(drain(&mut drx).len(), 1);
    // The old socket's task ending late does not touch the new one.
    assert_eq!(hub.socket_closed("g1", &gl, false), Closed::Elsewhere);
    assert_eq!(hub.guest_count("unit"), 1);
}

fn candidate(i: usize) -> SignalPayload {
    SignalPayload::Candidate {
        candidate: format!("candidate:{i} 1 udp 1 198.18.0.1 {i} typ host"),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
    }
}

fn signal(payload: SignalPayload, seq: u64) -> Outbound<ServerToGuest> {
    Outbound::keep(ServerToGuest::Signal { payload, seq })
}

#[test]
fn what_the_unit_sends_a_held_guest_reaches_the_page_after_it_resumes() {
    let (mut hub, _drx, gl, mut grx) = camille_admitted();
    let Closed::Held(_) = hub.socket_closed("g1", &gl, true) else {
        panic!("held");
    };
    // The answer to the ICE restart she offered just before, a candidate, and the unit's
    // own connection blipping.
    let answer = SignalPayload::Answer { sdp: "v=0".into() };
    hub.signal_to_guest("unit", "g1", answer.clone()).unwrap();
    hub.signal_to_guest("unit", "g1", candidate(1)).unwrap();
    let conn = hub.devices.get("unit").map(|d| d.conn).unwrap();
    hub.detach_device("unit", conn);
    let (dl, _drx) = link();
    hub.attach_device("unit", dl);
    assert!(
        drain(&mut grx).is_empty(),
        "nothing went to the lost socket"
    );

    let (again, mut again_rx) = link();
    assert_eq!(hub.resume("g1", None, again, IP), Ok("unit".to_owned()));
    hub.signal_to_guest("unit", "g1", candidate(2)).unwrap();
    assert_eq!(
        drain(&mut again_rx),
        vec![
            Outbound::keep(ServerToGuest::Resumed { unit_here: true }),
            signal(answer, 1),
            signal(candidate(1), 2),
            Outbound::keep(ServerToGuest::UnitAway),
            Outbound::keep(ServerToGuest::UnitBack),
            signal(candidate(2), 3),
        ]
    );
    assert!(
        hub.guests.get("g1").is_some_and(|g| g.held.is_none()),
        "nothing is kept once she is back"
    );
}

#[test]
fn a_held_guest_gets_the_latest_messages_within_the_bound() {
    let (mut hub, _drx, gl, _grx) = camille_admitted();
    hub.socket_closed("g1", &gl, true);
    let sent = MAX_HELD_MESSAGES + 6;
    for i in 0..sent {
        hub.signal_to_guest("unit", "g1", candidate(i)).unwrap();
    }
    let (tx, mut again_rx) = mpsc::channel(MAX_HELD_MESSAGES * 2);
    let again = Link {
        tx,
        kick: CancellationToken::new(),
    };
    hub.resume("g1", None, again, IP).unwrap();
    let got = drain(&mut again_rx);
    let mut expected = vec![Outbound::keep(ServerToGuest::Resumed { unit_here: true })];
    expected.extend((sent - MAX_HELD_MESSAGES..sent).map(|i| signal(candidate(i), i as u64 + 1)));
    assert_eq!(
        got, expected,
        "the oldest were dropped, the rest kept in order"
    );
}

#[test]
fn what_was_kept_goes_when_the_hold_runs_out_or_the_session_ends() {
    let (mut hub, _drx, gl, _grx) = camille_admitted();
    let Closed::Held(hold) = hub.socket_closed("g1", &gl, true) else {
        panic!("held");
    };
    hub.signal_to_guest("unit", "g1", candidate(1)).unwrap();
    assert!(hub.hold_expired("g1", hold));
    assert!(hub.guests.is_empty(), "the place and its messages are gone");
    let (late, mut late_rx) = link();
    assert_eq!(
        hub.resume("g1", None, late, IP),
        Err(ResumeError::PlaceEnded)
    );
    assert!(drain(&mut late_rx).is_empty());

    let (mut hub, _drx, gl, _grx) = camille_admitted();
    hub.socket_closed("g1", &gl, true);
    hub.signal_to_guest("unit", "g1", candidate(1)).unwrap();
    hub.end_session("unit");
    assert!(hub.guests.is_empty(), "the place and its messages are gone");
    let (late, mut late_rx) = link();
    assert_eq!(
        hub.resume("g1", None, late, IP),
        Err(ResumeError::SessionEnded)
    );
    assert!(drain(&mut late_rx).is_empty());
}

#[test]
fn a_hold_that_runs_out_tells_the_unit_and_refuses_a_late_resume() {
    let (mut hub, mut drx, gl, _grx) = camille_admitted();
    let Closed::Held(hold) = hub.socket_closed("g1", &gl, true) else {
        panic!("held");
    };
    assert!(hub.hold_expired("g1", hold));
    assert_eq!(
        drain(&mut drx),
        vec![Outbound::keep(ServerToDevice::GuestLeft {
            guest_id: "g1".into()
        })]
    );
    let (late, _rx) = link();
    assert_eq!(
        hub.resume("g1", None, late, IP),
        Err(ResumeError::PlaceEnded)
    );
    assert_eq!(ResumeError::PlaceEnded.code(), ErrorCode::PlaceEnded);
}

#[test]
fn leaving_on_purpose_or_before_admission_is_at_once() {
    let (mut hub, mut drx, gl, _grx) = camille_admitted();
    assert_eq!(hub.socket_closed("g1", &gl, false), Closed::Left);
    assert_eq!(drain(&mut drx).len(), 1, "GuestLeft at once");
    let (wl, _wrx) = link();
    hub.join("g2", "unit", S, "Louis", wl.clone(), vec![], IP)
        .unwrap();
    drain(&mut drx);
    assert_eq!(
        hub.socket_closed("g2", &wl, true),
        Closed::Left,
        "no place is held for a guest never let in"
    );
    assert_eq!(
        drain(&mut drx),
        vec![Outbound::keep(ServerToDevice::GuestLeft {
            guest_id: "g2".into()
        })]
    );
}

#[test]
fn a_held_place_ends_with_the_session_or_when_the_unit_removes_the_guest() {
    let (mut hub, mut drx, gl, _grx) = camille_admitted();
    hub.socket_closed("g1", &gl, true);
    assert_eq!(hub.end_session("unit"), 1);
    let (late, _rx) = link();
    assert_eq!(
        hub.resume("g1", None, late, IP),
        Err(ResumeError::SessionEnded)
    );

    let (mut hub, _drx, gl, _grx) = camille_admitted();
    hub.socket_closed("g1", &gl, true);
    hub.deny("unit", "g1").unwrap();
    let (late, _rx) = link();
    assert_eq!(
        hub.resume("g1", None, late, IP),
        Err(ResumeError::PlaceEnded)
    );
    assert!(
        drain(&mut drx).is_empty(),
        "the unit's own acts are not echoed"
    );
}

#[test]
fn a_resume_takes_over_a_socket_that_still_looks_open() {
    let (mut hub, mut drx, gl, _grx) = camille_admitted();
    let (again, mut again_rx) = link();
    assert_eq!(hub.resume("g1", None, again, IP), Ok("unit".to_owned()));
    assert!(gl.kick.is_cancelled(), "the old socket is closed");
    assert_eq!(
        drain(&mut again_rx),
        vec![Outbound::keep(ServerToGuest::Resumed { unit_here: true })]
    );
    assert_eq!(hub.socket_closed("g1", &gl, false), Closed::Elsewhere);
    assert!(drain(&mut drx).is_empty(), "the unit is not told");
}

#[test]
fn a_resume_says_whether_the_unit_is_here_whatever_the_dead_socket_swallowed() {
    let (mut hub, _drx, _gl, mut grx) = camille_admitted();
    // The unit blips while her socket is dead without anyone knowing: `unit_away` and
    // `unit_back` go into it and are lost.
    let conn = hub.devices.get("unit").map(|d| d.conn).unwrap();
    hub.detach_device("unit", conn);
    let (dl, _drx2) = link();
    let conn = hub.attach_device("unit", dl);
    assert_eq!(
        drain(&mut grx),
        vec![
            Outbound::keep(ServerToGuest::UnitAway),
            Outbound::keep(ServerToGuest::UnitBack)
        ],
        "written into the old socket"
    );
    let (again, mut again_rx) = link();
    hub.resume("g1", Some(0), again, IP).unwrap();
    assert_eq!(
        drain(&mut again_rx),
        vec![Outbound::keep(ServerToGuest::Resumed { unit_here: true })],
        "the page learns the unit is here without the lost `unit_back`"
    );
    // Gone again: a resume now says so, and `unit_away` follows.
    hub.detach_device("unit", conn);
    drain(&mut again_rx);
    let (third, mut third_rx) = link();
    hub.resume("g1", Some(0), third, IP).unwrap();
    assert_eq!(
        drain(&mut third_rx),
        vec![
            Outbound::keep(ServerToGuest::Resumed { unit_here: false }),
            Outbound::keep(ServerToGuest::UnitAway)
        ]
    );
}

#[test]
fn a_place_named_by_a_unit_that_left_again_resumes_with_the_unit_away() {
    let mut hub = Hub::new();
    let (dl, _drx) = link();
    let conn = hub.attach_device("unit", dl);
    let named = RestoredGuest {
        guest_id: "g1".into(),
        name: "Camille".into(),
    };
    assert_eq!(hub.restore("unit", S, vec![named]), 1);
    hub.detach_device("unit", conn);
    let (gl, mut grx) = link();
    assert_eq!(hub.resume("g1", None, gl, IP), Ok("unit".to_owned()));
    assert_eq!(
        drain(&mut grx),
        vec![
            Outbound::keep(ServerToGuest::Resumed { unit_here: false }),
            Outbound::keep(ServerToGuest::UnitAway)
        ]
    );
}

#[test]
fn only_the_latest_ended_places_are_remembered() {
    let mut hub = Hub::new();
    for i in 0..=ENDED_KEPT {
        hub.place_gone(&format!("g{i}"), "unit".into(), PlaceGone::Ended);
    }
    assert_eq!(hub.ended.len(), ENDED_KEPT);
    assert!(!hub.ended.contains_key("g0"));
    assert!(hub.ended.contains_key(&format!("g{ENDED_KEPT}")));
}

#[test]
fn knock_admit_signal_leave() {
    let mut hub = Hub::new();
    let (dl, mut drx) = link();
    hub.attach_device("unit", dl);
    let (gl, mut grx) = link();
    hub.join("g1", "unit", S, "Camille", gl, vec![], IP)
        .unwrap();
    assert_eq!(
        drain(&mut drx),
        vec![Outbound::keep(ServerToDevice::GuestKnock {
            guest_id: "g1".into(),
            name: "Camille".into(),
            ice_servers: vec![]
        })]
    );
    assert_eq!(
        drain(&mut grx),
        vec![Outbound::keep(ServerToGuest::Waiting)]
    );

    assert_eq!(
        hub.signal_to_device("g1", offer()),
        Err(RouteError::GuestNotAdmitted)
    );
    assert!(
        drain(&mut drx).is_empty(),
        "nothing forwarded before admission"
    );
    assert_eq!(
        hub.signal_to_guest("unit", "g1", offer()),
        Err(RouteError::NotAdmitted("g1".into()))
    );

    hub.admit("unit", "g1", &[]).unwrap();
    assert_eq!(
        drain(&mut grx),
        vec![Outbound::keep(ServerToGuest::Admitted {
            ice_servers: vec![],
            guest_id: "g1".into()
        })]
    );
    hub.signal_to_device("g1", offer()).unwrap();
    assert_eq!(
        drain(&mut drx),
        vec![Outbound::keep(ServerToDevice::Signal {
            guest_id: "g1".into(),
            payload: offer()
        })]
    );

    hub.guest_left("g1");
    assert_eq!(
        drain(&mut drx),
        vec![Outbound::keep(ServerToDevice::GuestLeft {
            guest_id: "g1".into()
        })]
    );
    assert_eq!(hub.guest_count("unit"), 0);
}

#[test]
fn offline_unit_and_full_session_refuse_guests() {
    let mut hub = Hub::new();
    let (gl, _grx) = link();
    assert_eq!(
        hub.join("g0", "unit", S, "A", gl, vec![], IP),
        Err(JoinError::DeviceOffline)
    );
    let (dl, _drx) = link::<ServerToDevice>();
    hub.attach_device("unit", dl);
    let mut keep = Vec::new();
    for i in 0..MAX_GUESTS_PER_SESSION {
        let (gl, grx) = link();
        let ip = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, i as u8));
        hub.join(&format!("g{i}"), "unit", S, "A", gl, vec![], ip)
            .unwrap();
        keep.push(grx);
    }
    let (gl, _grx) = link();
    assert_eq!(
        hub.join(
            "gx",
            "unit",
            S,
            "A",
            gl,
            vec![],
            IpAddr::from([198, 51, 100, 1])
        ),
        Err(JoinError::Full)
    );
}

#[test]
fn units_only_reach_their_own_guests() {
    let mut hub = Hub::new();
    let (dl, _drx) = link::<ServerToDevice>();
    hub.attach_device("unit", dl);
    let (ol, _orx) = link::<ServerToDevice>();
    hub.attach_device("other", ol);
    let (gl, _grx) = link();
    hub.join("g1", "unit", S, "A", gl, vec![], IP).unwrap();
    assert_eq!(
        hub.admit("other", "g1", &[]),
        Err(RouteError::UnknownGuest("g1".into()))
    );
    assert_eq!(
        hub.deny("other", "g1"),
        Err(RouteError::UnknownGuest("g1".into()))
    );
}

#[test]
fn deny_and_end_close_guests_without_guest_left() {
    let mut hub = Hub::new();
    let (dl, mut drx) = link();
    hub.attach_device("unit", dl);
    let (g1, mut g1rx) = link();
    let (g2, mut g2rx) = link();
    hub.join("g1", "unit", S, "A", g1, vec![], IP).unwrap();
    hub.join("g2", "unit", S, "B", g2, vec![], IP).unwrap();
    drain(&mut drx);
    drain(&mut g1rx);
    drain(&mut g2rx);

    hub.deny("unit", "g1").unwrap();
    assert_eq!(
        drain(&mut g1rx),
        vec![Outbound::then_close(ServerToGuest::Denied)]
    );
    hub.guest_left("g1");

    assert_eq!(hub.end_session("unit"), 1);
    assert_eq!(
        drain(&mut g2rx),
        vec![Outbound::then_close(ServerToGuest::SessionEnded)]
    );
    hub.guest_left("g2");
    assert!(drain(&mut drx).is_empty());
}

#[test]
fn a_new_unit_connection_replaces_the_old_and_hears_waiting_guests() {
    let mut hub = Hub::new();
    let (old, mut old_rx) = link();
    let old_conn = hub.attach_device("unit", old);
    let (gl, _grx) = link();
    let unit_ice = vec![IceServer {
        urls: vec!["turn:198.18.0.3:3478".into()],
        username: Some("4600:unit:unit".into()),
        credential: Some("c".into()),
    }];
    hub.join("g1", "unit", S, "Camille", gl, unit_ice.clone(), IP)
        .unwrap();
    drain(&mut old_rx);

    let (new, mut new_rx) = link();
    let new_conn = hub.attach_device("unit", new);
    let told = drain(&mut old_rx);
    assert_eq!(told.len(), 1);
    assert!(told[0].close);
    assert_eq!(
        drain(&mut new_rx),
        vec![Outbound::keep(ServerToDevice::GuestKnock {
            guest_id: "g1".into(),
            name: "Camille".into(),
            ice_servers: unit_ice
        })]
    );

    hub.detach_device("unit", old_conn);
    assert!(
        hub.device_online("unit"),
        "the stale connection cannot detach the new one"
    );
    hub.detach_device("unit", new_conn);
    assert!(!hub.device_online("unit"));
    assert_eq!(
        hub.guest_count("unit"),
        1,
        "guests wait for the unit to come back"
    );
}

#[test]
fn an_admitted_guest_keeps_its_place_while_the_unit_reconnects() {
    let mut hub = Hub::new();
    let (old, mut old_rx) = link();
    let old_conn = hub.attach_device("unit", old);
    let (gl, mut grx) = link();
    hub.join("g1", "unit", S, "Camille", gl, vec![], IP)
        .unwrap();
    hub.admit("unit", "g1", &[]).unwrap();
    drain(&mut old_rx);
    drain(&mut grx);

    // The unit's Wi-Fi drops: its socket closes.
    hub.detach_device("unit", old_conn);
    assert_eq!(
        hub.signal_to_device("g1", offer()),
        Err(RouteError::DeviceOffline)
    );
    assert_eq!(
        RouteError::DeviceOffline.code(),
        ErrorCode::DeviceOffline,
        "the page retries on this code"
    );
    assert_eq!(hub.guest_count("unit"), 1, "the guest keeps its place");
    assert_eq!(
        drain(&mut grx),
        vec![Outbound::keep(ServerToGuest::UnitAway)],
        "the guest is told, not closed"
    );

    // Back on a new socket: no knock for the admitted guest, who is told the unit is
    // back, and its signals arrive.
    let (new, mut new_rx) = link();
    hub.attach_device("unit", new);
    assert!(drain(&mut new_rx).is_empty(), "nothing to admit again");
    assert_eq!(
        drain(&mut grx),
        vec![Outbound::keep(ServerToGuest::UnitBack)]
    );
    hub.signal_to_device("g1", offer()).unwrap();
    assert_eq!(
        drain(&mut new_rx),
        vec![Outbound::keep(ServerToDevice::Signal {
            guest_id: "g1".into(),
            payload: offer()
        })]
    );
    hub.signal_to_guest("unit", "g1", offer()).unwrap();
    assert_eq!(drain(&mut grx), vec![signal(offer(), 1)]);
}

#[test]
fn a_session_the_unit_ended_while_away_ends_for_its_guests_when_it_returns() {
    let mut hub = Hub::new();
    let (old, _old_rx) = link();
    let old_conn = hub.attach_device("unit", old);
    let (g1, mut g1rx) = link();
    let (g2, mut g2rx) = link();
    hub.join("g1", "unit", S, "A", g1, vec![], IP).unwrap();
    hub.join("g2", "unit", S, "B", g2, vec![], IP).unwrap();
    hub.admit("unit", "g1", &[]).unwrap();
    hub.detach_device("unit", old_conn);
    drain(&mut g1rx);
    drain(&mut g2rx);

    let (new, mut new_rx) = link();
    hub.attach_device("unit", new);
    // Only the guest still waiting knocks again; the unit, whose session is over, ends it.
    assert_eq!(
        drain(&mut new_rx),
        vec![Outbound::keep(ServerToDevice::GuestKnock {
            guest_id: "g2".into(),
            name: "B".into(),
            ice_servers: vec![]
        })]
    );
    assert_eq!(
        drain(&mut g1rx),
        vec![Outbound::keep(ServerToGuest::UnitBack)]
    );
    assert!(drain(&mut g2rx).is_empty());
    assert_eq!(hub.end_session("unit"), 2);
    for rx in [&mut g1rx, &mut g2rx] {
        assert_eq!(
            drain(rx),
            vec![Outbound::then_close(ServerToGuest::SessionEnded)]
        );
    }
    assert_eq!(
        hub.signal_to_device("g1", offer()),
        Err(RouteError::GuestNotAdmitted),
        "nothing of the old session reaches the unit"
    );
    assert_eq!(hub.guest_count("unit"), 0);
}

#[test]
fn a_peer_that_does_not_read_is_kicked() {
    let (tx, _rx) = mpsc::channel(1);
    let l = Link {
        tx,
        kick: CancellationToken::new(),
    };
    l.send(Outbound::keep(ServerToGuest::Waiting));
    assert!(!l.kick.is_cancelled());
    l.send(Outbound::keep(ServerToGuest::Waiting));
    assert!(l.kick.is_cancelled());
}
