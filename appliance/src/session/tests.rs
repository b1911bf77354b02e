//! The session rules, on simulated time.

use super::*;
use std::time::{Duration, Instant};
use visavis_api::datachannel::Reaction;
use visavis_api::local::{ApiErrorCode, Event, GuestState};
use visavis_api::signaling::{DeviceToServer, SignalPayload};

pub(super) fn settings(auto_admit: bool) -> SessionSettings {
    SessionSettings {
        auto_admit,
        admission_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(600),
        max_guests: 2,
    }
}

/// The local API's status of `s`, as the unit builds it (with a quiet room).
pub(super) fn status(s: &Session) -> visavis_api::local::Status {
    crate::unit::status(s, &crate::unit::Room::quiet(), 0)
}

pub(super) fn drain(s: &mut Session) -> Vec<Action> {
    std::iter::from_fn(|| s.poll_action()).collect()
}

/// A session with rendezvous up and an invite out.
pub(super) fn started(auto_admit: bool, t0: Instant) -> Session {
    started_with(settings(auto_admit), t0)
}

/// [`started`], with these settings.
pub(super) fn started_with(settings: SessionSettings, t0: Instant) -> Session {
    let mut s = Session::new(settings);
    s.handle_input(Input::RendezvousUp, t0);
    s.handle_input(Input::InviteRequested { request_id: 1 }, t0);
    s.handle_input(
        Input::InviteCreated {
            request_id: 1,
            url: "http://rv/i/tok".into(),
            expires_at: 900,
        },
        t0,
    );
    drain(&mut s);
    s
}

/// Let a waiting guest in, and their peer connection comes up.
pub(super) fn admit(s: &mut Session, id: &str, t0: Instant) {
    s.handle_input(
        Input::Admit {
            guest_id: id.into(),
        },
        t0,
    );
    s.handle_input(
        Input::PeerConnected {
            guest_id: id.into(),
        },
        t0,
    );
}

/// The ICE servers rendezvous minted for the unit's side of `id`'s call.
pub(super) fn relay(id: &str) -> Vec<visavis_api::signaling::IceServer> {
    vec![visavis_api::signaling::IceServer {
        urls: vec!["turn:198.18.0.3:3478".into()],
        username: Some(format!("4600:unit-for-{id}")),
        credential: Some("c".into()),
    }]
}

pub(super) fn knock(s: &mut Session, id: &str, now: Instant) -> Vec<Action> {
    s.handle_input(
        Input::Knock {
            guest_id: id.into(),
            name: format!("name-{id}"),
            ice_servers: relay(id),
        },
        now,
    );
    drain(s)
}

fn offer() -> SignalPayload {
    SignalPayload::Offer { sdp: "v=0".into() }
}

#[test]
fn connecting_to_rendezvous_outside_a_session_ends_any_stale_one() {
    let mut s = Session::new(settings(false));
    s.handle_input(Input::RendezvousUp, Instant::now());
    assert_eq!(
        drain(&mut s),
        vec![
            Action::Emit(Event::Rendezvous { connected: true }),
            Action::Send(DeviceToServer::EndSession)
        ]
    );
}

#[test]
fn invite_request_goes_to_rendezvous_and_answer_comes_back() {
    let t0 = Instant::now();
    let mut s = Session::new(settings(false));
    s.handle_input(Input::RendezvousUp, t0);
    drain(&mut s);
    s.handle_input(Input::InviteRequested { request_id: 7 }, t0);
    assert_eq!(
        drain(&mut s),
        vec![Action::Send(DeviceToServer::CreateInvite {
            request_id: 7,
            ttl_secs: None
        })]
    );
    s.handle_input(
        Input::InviteCreated {
            request_id: 7,
            url: "u".into(),
            expires_at: 5,
        },
        t0,
    );
    assert_eq!(
        drain(&mut s),
        vec![
            Action::Emit(Event::Invite {
                url: "u".into(),
                expires_at: 5
            }),
            Action::InviteReady {
                request_id: 7,
                result: Ok(("u".into(), 5))
            }
        ]
    );
    assert!(status(&s).session_active);
}

#[test]
fn invite_without_rendezvous_fails_clearly() {
    let mut s = Session::new(settings(false));
    s.handle_input(Input::InviteRequested { request_id: 3 }, Instant::now());
    match drain(&mut s).as_slice() {
        [
            Action::InviteReady {
                request_id: 3,
                result: Err(e),
            },
        ] => {
            assert_eq!(e.code, ApiErrorCode::RendezvousUnavailable)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn nothing_reaches_a_guest_before_admission() {
    let t0 = Instant::now();
    let mut s = started(false, t0);
    let actions = knock(&mut s, "g1", t0);
    assert_eq!(
        actions,
        vec![Action::Emit(Event::GuestKnock {
            guest_id: "g1".into(),
            name: "name-g1".into()
        })]
    );
    // An offer from a guest who was not let in goes nowhere.
    s.handle_input(
        Input::Signal {
            guest_id: "g1".into(),
            payload: offer(),
        },
        t0,
    );
    assert!(drain(&mut s).is_empty());
    assert_eq!(status(&s).guests[0].state, GuestState::Waiting);

    s.handle_input(
        Input::Admit {
            guest_id: "g1".into(),
        },
        t0,
    );
    assert_eq!(
        drain(&mut s),
        vec![
            Action::Emit(Event::GuestAdmitted {
                guest_id: "g1".into()
            }),
            Action::StartPeer {
                guest_id: "g1".into(),
                name: "name-g1".into(),
                ice_servers: relay("g1"),
            },
            Action::Send(DeviceToServer::Admit {
                guest_id: "g1".into()
            }),
        ]
    );
    s.handle_input(
        Input::Signal {
            guest_id: "g1".into(),
            payload: offer(),
        },
        t0,
    );
    assert_eq!(
        drain(&mut s),
        vec![Action::ApplySignal {
            guest_id: "g1".into(),
            payload: offer()
        }]
    );
}

#[test]
fn auto_admit_admits_on_knock() {
    let t0 = Instant::now();
    let mut s = started(true, t0);
    let actions = knock(&mut s, "g1", t0);
    assert!(actions.contains(&Action::StartPeer {
        guest_id: "g1".into(),
        name: "name-g1".into(),
        ice_servers: relay("g1"),
    }));
}

#[test]
fn knock_outside_a_session_is_turned_away() {
    let mut s = Session::new(settings(true));
    s.handle_input(Input::RendezvousUp, Instant::now());
    drain(&mut s);
    let actions = knock(&mut s, "g1", Instant::now());
    assert_eq!(
        actions,
        vec![Action::Send(DeviceToServer::Deny {
            guest_id: "g1".into()
        })]
    );
    assert!(status(&s).guests.is_empty());
}

#[test]
fn waiting_guest_times_out() {
    let t0 = Instant::now();
    let mut s = started(false, t0);
    knock(&mut s, "g1", t0);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    s.handle_timeout(t0 + Duration::from_secs(59));
    assert!(drain(&mut s).is_empty());
    s.handle_timeout(t0 + Duration::from_secs(60));
    let actions = drain(&mut s);
    assert!(actions.contains(&Action::Send(DeviceToServer::Deny {
        guest_id: "g1".into()
    })));
    assert!(actions.contains(&Action::Emit(Event::GuestLeft {
        guest_id: "g1".into()
    })));
    assert!(status(&s).guests.is_empty());
}

#[test]
fn call_is_capped_at_max_guests() {
    let t0 = Instant::now();
    let mut s = started(true, t0);
    knock(&mut s, "g1", t0);
    knock(&mut s, "g2", t0);
    let actions = knock(&mut s, "g3", t0);
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::StartPeer { .. }))
    );
    assert!(actions.contains(&Action::Send(DeviceToServer::Deny {
        guest_id: "g3".into()
    })));
    assert_eq!(status(&s).guests.len(), 2);
}

#[test]
fn peer_connected_joins_and_reactions_flow_only_in_call() {
    let t0 = Instant::now();
    let mut s = started(true, t0);
    knock(&mut s, "g1", t0);
    let r = Input::Reaction {
        guest_id: "g1".into(),
        reaction: Reaction::Heart,
    };
    s.handle_input(r.clone(), t0);
    assert!(
        drain(&mut s).is_empty(),
        "no reactions before the call is up"
    );
    s.handle_input(
        Input::PeerConnected {
            guest_id: "g1".into(),
        },
        t0,
    );
    assert_eq!(
        drain(&mut s),
        vec![
            Action::Emit(Event::GuestJoined {
                guest_id: "g1".into(),
                name: "name-g1".into()
            }),
            Action::ToGuest {
                guest_id: "g1".into(),
                message: visavis_api::datachannel::UnitMessage::Watching { count: 1 }
            }
        ]
    );
    s.handle_input(r, t0);
    assert_eq!(
        drain(&mut s),
        vec![Action::Emit(Event::Reaction {
            guest_id: "g1".into(),
            reaction: Reaction::Heart
        })]
    );
}

#[test]
fn one_guest_leaving_leaves_the_other_in_the_call() {
    let t0 = Instant::now();
    let mut s = started(true, t0);
    knock(&mut s, "g1", t0);
    knock(&mut s, "g2", t0);
    s.handle_input(
        Input::PeerConnected {
            guest_id: "g1".into(),
        },
        t0,
    );
    s.handle_input(
        Input::PeerConnected {
            guest_id: "g2".into(),
        },
        t0,
    );
    drain(&mut s);
    s.handle_input(
        Input::PeerGone {
            guest_id: "g1".into(),
        },
        t0,
    );
    let actions = drain(&mut s);
    assert!(actions.contains(&Action::ClosePeer {
        guest_id: "g1".into()
    }));
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::ClosePeer { guest_id } if guest_id == "g2"))
    );
    let st = status(&s);
    assert_eq!(st.guests.len(), 1);
    assert_eq!(st.guests[0].state, GuestState::InCall);
}

#[test]
fn ending_closes_everyone_tells_rendezvous_and_erases() {
    let t0 = Instant::now();
    let mut s = started(true, t0);
    knock(&mut s, "g1", t0);
    knock(&mut s, "g2", t0);
    s.handle_input(Input::EndSession, t0);
    let actions = drain(&mut s);
    assert!(actions.contains(&Action::ClosePeer {
        guest_id: "g1".into()
    }));
    assert!(actions.contains(&Action::ClosePeer {
        guest_id: "g2".into()
    }));
    assert!(actions.contains(&Action::Send(DeviceToServer::EndSession)));
    assert!(actions.contains(&Action::EraseSessionData));
    assert_eq!(actions.last(), Some(&Action::Emit(Event::SessionEnded)));
    let st = status(&s);
    assert!(!st.session_active && st.invite_url.is_none() && st.guests.is_empty());
}

#[test]
fn idle_session_ends_by_itself() {
    let t0 = Instant::now();
    let mut s = started(true, t0);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(600)));
    // A guest in the call keeps it alive.
    knock(&mut s, "g1", t0 + Duration::from_secs(10));
    assert_eq!(s.poll_timeout(), None);
    let left = t0 + Duration::from_secs(100);
    s.handle_input(
        Input::GuestLeft {
            guest_id: "g1".into(),
        },
        left,
    );
    drain(&mut s);
    s.handle_timeout(left + Duration::from_secs(599));
    assert!(drain(&mut s).is_empty());
    s.handle_timeout(left + Duration::from_secs(600));
    assert!(drain(&mut s).contains(&Action::EraseSessionData));
    assert!(!status(&s).session_active);
}

#[test]
fn losing_rendezvous_drops_waiting_guests_and_fails_pending_invites() {
    let t0 = Instant::now();
    let mut s = started(false, t0);
    knock(&mut s, "g1", t0);
    s.handle_input(Input::InviteRequested { request_id: 2 }, t0);
    drain(&mut s);
    s.handle_input(Input::RendezvousDown, t0);
    let actions = drain(&mut s);
    assert!(actions.contains(&Action::Emit(Event::GuestLeft {
        guest_id: "g1".into()
    })));
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::InviteReady {
            request_id: 2,
            result: Err(_)
        }
    )));
    assert!(!actions.iter().any(|a| matches!(a, Action::Send(_))));
}

#[test]
fn admitting_unknown_or_twice_is_refused() {
    let t0 = Instant::now();
    let mut s = started(false, t0);
    assert_eq!(
        s.check_admit("nobody").unwrap_err().code,
        ApiErrorCode::UnknownGuest
    );
    knock(&mut s, "g1", t0);
    assert!(s.check_admit("g1").is_ok());
    s.handle_input(
        Input::Admit {
            guest_id: "g1".into(),
        },
        t0,
    );
    assert_eq!(
        s.check_admit("g1").unwrap_err().code,
        ApiErrorCode::AlreadyAdmitted
    );
}
