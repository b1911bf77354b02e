//! A network blip, on simulated time: a guest whose peer connection fails keeps their place
//! while their page restarts ICE; the unit losing rendezvous for a while keeps the call; a
//! session that ended meanwhile lets nobody back in.

use super::tests::{drain, knock, started, status};
use super::*;
use std::time::{Duration, Instant};
use visavis_api::local::{Event, GuestState};
use visavis_api::signaling::{DeviceToServer, SignalPayload};

fn in_call(s: &mut Session, id: &str, now: Instant) {
    knock(s, id, now);
    s.handle_input(
        Input::PeerConnected {
            guest_id: id.into(),
        },
        now,
    );
    drain(s);
}

fn restart_offer() -> SignalPayload {
    SignalPayload::Offer {
        sdp: "v=0 (ice restart)".into(),
    }
}

fn is_removal(a: &Action) -> bool {
    matches!(
        a,
        Action::ClosePeer { .. }
            | Action::Send(DeviceToServer::Deny { .. })
            | Action::Emit(Event::GuestLeft { .. })
    )
}

fn is_readmission(a: &Action) -> bool {
    matches!(
        a,
        Action::StartPeer { .. }
            | Action::Send(DeviceToServer::Admit { .. })
            | Action::Emit(Event::GuestKnock { .. } | Event::GuestAdmitted { .. })
    )
}

#[test]
fn a_failed_peer_that_comes_back_in_time_keeps_its_guest() {
    let t0 = Instant::now();
    let mut s = started(true, t0);
    in_call(&mut s, "g1", t0);

    let failed = t0 + Duration::from_secs(30);
    s.handle_input(
        Input::PeerFailed {
            guest_id: "g1".into(),
        },
        failed,
    );
    assert!(drain(&mut s).is_empty(), "a failure alone removes nobody");
    assert_eq!(s.poll_timeout(), Some(failed + PEER_RESTART_GRACE));
    assert_eq!(status(&s).guests[0].state, GuestState::InCall);

    // The guest's page restarts ICE: its new offer goes to the same peer connection.
    let offer_at = failed + Duration::from_secs(3);
    s.handle_input(
        Input::Signal {
            guest_id: "g1".into(),
            payload: restart_offer(),
        },
        offer_at,
    );
    assert_eq!(
        drain(&mut s),
        vec![Action::ApplySignal {
            guest_id: "g1".into(),
            payload: restart_offer()
        }]
    );
    s.handle_input(
        Input::PeerConnected {
            guest_id: "g1".into(),
        },
        offer_at,
    );
    let actions = drain(&mut s);
    assert!(
        !actions.iter().any(is_readmission),
        "back in the call without a new knock, admission or join: {actions:?}"
    );
    assert!(!actions.iter().any(is_removal));

    // The deadline is gone: past it, nothing happens.
    s.handle_timeout(failed + PEER_RESTART_GRACE + Duration::from_secs(1));
    assert!(drain(&mut s).is_empty());
    assert_eq!(status(&s).guests[0].state, GuestState::InCall);

    // A second blip gets a full grace of its own.
    let again = failed + Duration::from_secs(300);
    s.handle_input(
        Input::PeerFailed {
            guest_id: "g1".into(),
        },
        again,
    );
    assert_eq!(s.poll_timeout(), Some(again + PEER_RESTART_GRACE));
}

#[test]
fn a_failed_peer_not_restored_in_time_is_removed() {
    let t0 = Instant::now();
    let mut s = started(true, t0);
    in_call(&mut s, "g1", t0);
    in_call(&mut s, "g2", t0);
    s.handle_input(
        Input::PeerFailed {
            guest_id: "g1".into(),
        },
        t0,
    );
    // Failing again (or a late duplicate) does not push the deadline back.
    s.handle_input(
        Input::PeerFailed {
            guest_id: "g1".into(),
        },
        t0 + Duration::from_secs(10),
    );
    s.handle_timeout(t0 + PEER_RESTART_GRACE - Duration::from_millis(1));
    assert!(drain(&mut s).is_empty());

    s.handle_timeout(t0 + PEER_RESTART_GRACE);
    let actions = drain(&mut s);
    assert!(actions.contains(&Action::ClosePeer {
        guest_id: "g1".into()
    }));
    assert!(actions.contains(&Action::Send(DeviceToServer::Deny {
        guest_id: "g1".into()
    })));
    assert!(actions.contains(&Action::Emit(Event::GuestLeft {
        guest_id: "g1".into()
    })));
    let st = status(&s);
    assert_eq!(st.guests.len(), 1);
    assert_eq!(st.guests[0].guest_id, "g2");
}

#[test]
fn a_closed_peer_is_removed_at_once() {
    let t0 = Instant::now();
    let mut s = started(true, t0);
    in_call(&mut s, "g1", t0);
    s.handle_input(
        Input::PeerGone {
            guest_id: "g1".into(),
        },
        t0,
    );
    assert!(drain(&mut s).contains(&Action::ClosePeer {
        guest_id: "g1".into()
    }));
    assert!(status(&s).guests.is_empty());
}

#[test]
fn losing_rendezvous_for_a_while_keeps_the_call_and_its_signaling() {
    let t0 = Instant::now();
    let mut s = started(false, t0);
    knock(&mut s, "g1", t0);
    s.handle_input(
        Input::Admit {
            guest_id: "g1".into(),
        },
        t0,
    );
    s.handle_input(
        Input::PeerConnected {
            guest_id: "g1".into(),
        },
        t0,
    );
    drain(&mut s);

    s.handle_input(Input::RendezvousDown, t0 + Duration::from_secs(1));
    let down = drain(&mut s);
    assert!(!down.iter().any(is_removal), "{down:?}");
    s.handle_input(Input::RendezvousUp, t0 + Duration::from_secs(6));
    let up = drain(&mut s);
    assert_eq!(
        up,
        vec![
            Action::Emit(Event::Rendezvous { connected: true }),
            // In case rendezvous restarted and forgot them: the guests of the call, named
            // so their pages can resume their signaling.
            Action::Send(DeviceToServer::Restore {
                guests: vec![visavis_api::signaling::RestoredGuest {
                    guest_id: "g1".into(),
                    name: "name-g1".into()
                }]
            }),
            // And the invite on the screen, which it would not know either.
            Action::Send(DeviceToServer::CreateInvite {
                request_id: RENEW_INVITE,
                ttl_secs: None,
            })
        ]
    );

    // The guest's restart offer, relayed on the new connection, reaches its peer.
    s.handle_input(
        Input::Signal {
            guest_id: "g1".into(),
            payload: restart_offer(),
        },
        t0 + Duration::from_secs(7),
    );
    assert_eq!(
        drain(&mut s),
        vec![Action::ApplySignal {
            guest_id: "g1".into(),
            payload: restart_offer()
        }]
    );
}

#[test]
fn a_session_that_ended_while_rendezvous_was_away_lets_nobody_back() {
    let t0 = Instant::now();
    let mut s = started(false, t0);
    knock(&mut s, "g1", t0);
    s.handle_input(
        Input::Admit {
            guest_id: "g1".into(),
        },
        t0,
    );
    s.handle_input(
        Input::PeerConnected {
            guest_id: "g1".into(),
        },
        t0,
    );
    drain(&mut s);

    s.handle_input(Input::RendezvousDown, t0);
    s.handle_input(Input::EndSession, t0 + Duration::from_secs(2));
    let ended = drain(&mut s);
    assert!(
        !ended.iter().any(|a| matches!(a, Action::Send(_))),
        "nothing can be sent while rendezvous is away: {ended:?}"
    );

    // Back: rendezvous is told the session is over, so it tells the guests.
    s.handle_input(Input::RendezvousUp, t0 + Duration::from_secs(6));
    assert!(drain(&mut s).contains(&Action::Send(DeviceToServer::EndSession)));

    // Whatever of the old session still reaches the unit meanwhile is turned away.
    s.handle_input(
        Input::Signal {
            guest_id: "g1".into(),
            payload: restart_offer(),
        },
        t0 + Duration::from_secs(6),
    );
    assert_eq!(
        drain(&mut s),
        vec![Action::Send(DeviceToServer::Deny {
            guest_id: "g1".into()
        })]
    );
    s.handle_input(
        Input::Knock {
            guest_id: "g2".into(),
            name: "Camille".into(),
            ice_servers: Vec::new(),
        },
        t0 + Duration::from_secs(6),
    );
    let knocked = drain(&mut s);
    assert_eq!(
        knocked,
        vec![Action::Send(DeviceToServer::Deny {
            guest_id: "g2".into()
        })]
    );
    assert!(status(&s).guests.is_empty());
}

#[test]
fn a_guest_removed_while_rendezvous_was_away_is_turned_away_when_they_signal() {
    let t0 = Instant::now();
    let mut s = started(true, t0);
    in_call(&mut s, "g1", t0);
    in_call(&mut s, "g2", t0);
    s.handle_input(Input::RendezvousDown, t0);
    s.handle_input(
        Input::PeerFailed {
            guest_id: "g1".into(),
        },
        t0,
    );
    s.handle_timeout(t0 + PEER_RESTART_GRACE);
    let removed = drain(&mut s);
    assert!(removed.contains(&Action::ClosePeer {
        guest_id: "g1".into()
    }));
    assert!(
        !removed.iter().any(|a| matches!(a, Action::Send(_))),
        "rendezvous is away: {removed:?}"
    );

    s.handle_input(Input::RendezvousUp, t0 + PEER_RESTART_GRACE);
    drain(&mut s);
    s.handle_input(
        Input::Signal {
            guest_id: "g1".into(),
            payload: restart_offer(),
        },
        t0 + PEER_RESTART_GRACE,
    );
    let actions = drain(&mut s);
    assert_eq!(
        actions,
        vec![Action::Send(DeviceToServer::Deny {
            guest_id: "g1".into()
        })],
        "not re-admitted: their place is gone"
    );
    assert_eq!(status(&s).guests.len(), 1);
}

#[test]
fn back_on_rendezvous_the_unit_names_the_guests_let_in_never_one_waiting() {
    let t0 = Instant::now();
    let mut s = started(false, t0);
    for id in ["g1", "g2"] {
        knock(&mut s, id, t0);
    }
    s.handle_input(
        Input::Admit {
            guest_id: "g1".into(),
        },
        t0,
    );
    drain(&mut s);
    // A restarted rendezvous: the socket dropped (g2, waiting on it, is gone) and came back.
    s.handle_input(Input::RendezvousDown, t0);
    knock(&mut s, "g3", t0 + Duration::from_secs(1));
    drain(&mut s);
    s.handle_input(Input::RendezvousUp, t0 + Duration::from_secs(2));
    let restore: Vec<_> = drain(&mut s)
        .into_iter()
        .filter_map(|a| match a {
            Action::Send(DeviceToServer::Restore { guests }) => Some(guests),
            _ => None,
        })
        .collect();
    assert_eq!(
        restore,
        vec![vec![visavis_api::signaling::RestoredGuest {
            guest_id: "g1".into(),
            name: "name-g1".into()
        }]],
        "only g1, admitted (still connecting counts); g2 and g3 were never let in"
    );
}

#[test]
fn a_restarted_rendezvous_gets_a_fresh_invite_for_the_screen() {
    let t0 = Instant::now();
    let mut s = started(false, t0);
    s.handle_input(Input::RendezvousDown, t0);
    drain(&mut s);
    s.handle_input(Input::RendezvousUp, t0 + Duration::from_secs(2));
    let sent = drain(&mut s);
    assert!(
        sent.contains(&Action::Send(DeviceToServer::CreateInvite {
            request_id: RENEW_INVITE,
            ttl_secs: None,
        })),
        "{sent:?}"
    );
    // Down again before the answer: nobody is told of a request nobody made.
    s.handle_input(Input::RendezvousDown, t0 + Duration::from_secs(3));
    assert!(
        !drain(&mut s)
            .iter()
            .any(|a| matches!(a, Action::InviteReady { .. })),
        "no reply for the unit's own request"
    );
    s.handle_input(Input::RendezvousUp, t0 + Duration::from_secs(4));
    drain(&mut s);
    s.handle_input(
        Input::InviteCreated {
            request_id: RENEW_INVITE,
            url: "http://rv/i/fresh".into(),
            expires_at: 1_800,
        },
        t0 + Duration::from_secs(5),
    );
    let out = drain(&mut s);
    assert_eq!(
        out,
        vec![Action::Emit(Event::Invite {
            url: "http://rv/i/fresh".into(),
            expires_at: 1_800,
        })],
        "the screen gets the fresh code, no caller gets a reply"
    );
    assert_eq!(status(&s).invite_url.as_deref(), Some("http://rv/i/fresh"));
}

#[test]
fn without_an_invite_out_none_is_made_when_rendezvous_comes_back() {
    let t0 = Instant::now();
    let mut s = Session::new(super::tests::settings(false));
    s.handle_input(Input::RendezvousUp, t0);
    s.handle_input(Input::RendezvousDown, t0);
    s.handle_input(Input::RendezvousUp, t0 + Duration::from_secs(1));
    assert!(
        !drain(&mut s)
            .iter()
            .any(|a| matches!(a, Action::Send(DeviceToServer::CreateInvite { .. }))),
        "an idle unit asks for nothing"
    );
}
