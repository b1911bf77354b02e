//! What guests in the call hear of each other: every chat line and reaction with the
//! sender's name, how many are watching and who is speaking; a guest still waiting hears
//! none of it.

use super::tests::{admit, drain, knock, started, started_with};
use super::*;
use std::time::Instant;
use visavis_api::datachannel::{Reaction, UnitMessage};

fn sent(actions: &[Action]) -> Vec<(String, UnitMessage)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::ToGuest { guest_id, message } => Some((guest_id.clone(), message.clone())),
            _ => None,
        })
        .collect()
}

fn settings3() -> SessionSettings {
    SessionSettings {
        max_guests: 3,
        ..super::tests::settings(false)
    }
}

/// A session with `a` and `b` in the call, `w` knocking, and `c` admitted but still
/// connecting.
fn crowd(t0: Instant) -> Session {
    let mut s = started_with(settings3(), t0);
    for id in ["a", "b"] {
        knock(&mut s, id, t0);
        admit(&mut s, id, t0);
    }
    knock(&mut s, "c", t0);
    s.handle_input(
        Input::Admit {
            guest_id: "c".into(),
        },
        t0,
    );
    knock(&mut s, "w", t0);
    drain(&mut s);
    s
}

#[test]
fn a_chat_line_reaches_every_other_guest_in_the_call_with_its_senders_name() {
    let t0 = Instant::now();
    let mut s = crowd(t0);
    s.handle_input(
        Input::Chat {
            guest_id: "a".into(),
            text: " the blue\none ".into(),
        },
        t0,
    );
    assert_eq!(
        sent(&drain(&mut s)),
        vec![(
            "b".to_owned(),
            UnitMessage::Chat {
                name: "name-a".into(),
                text: "the blue one".into()
            }
        )],
        "b hears it; a wrote it; c is still connecting and w still waiting"
    );
    s.handle_input(
        Input::Chat {
            guest_id: "w".into(),
            text: "let me in".into(),
        },
        t0,
    );
    assert!(
        sent(&drain(&mut s)).is_empty(),
        "a waiting guest says nothing"
    );
    s.handle_input(
        Input::Chat {
            guest_id: "b".into(),
            text: "   ".into(),
        },
        t0,
    );
    assert!(
        sent(&drain(&mut s)).is_empty(),
        "an empty line goes nowhere"
    );
}

#[test]
fn a_reaction_reaches_every_other_guest_in_the_call_and_the_room() {
    let t0 = Instant::now();
    let mut s = crowd(t0);
    s.handle_input(
        Input::PeerConnected {
            guest_id: "c".into(),
        },
        t0,
    );
    drain(&mut s);
    s.handle_input(
        Input::Reaction {
            guest_id: "b".into(),
            reaction: Reaction::Fire,
        },
        t0,
    );
    let actions = drain(&mut s);
    let fire = UnitMessage::Reaction {
        name: "name-b".into(),
        reaction: Reaction::Fire,
    };
    assert_eq!(
        sent(&actions),
        vec![("a".to_owned(), fire.clone()), ("c".to_owned(), fire)]
    );
    assert!(
        actions.contains(&Action::Emit(visavis_api::local::Event::Reaction {
            guest_id: "b".into(),
            reaction: Reaction::Fire
        }))
    );
    s.handle_input(
        Input::Reaction {
            guest_id: "w".into(),
            reaction: Reaction::Heart,
        },
        t0,
    );
    assert!(
        drain(&mut s).is_empty(),
        "a waiting guest's reaction goes nowhere"
    );
}

#[test]
fn guests_in_the_call_are_told_how_many_watch_when_it_changes() {
    let t0 = Instant::now();
    let mut s = started(false, t0);
    knock(&mut s, "a", t0);
    admit(&mut s, "a", t0);
    assert_eq!(
        sent(&drain(&mut s)),
        vec![("a".to_owned(), UnitMessage::Watching { count: 1 })]
    );
    knock(&mut s, "b", t0);
    s.handle_input(
        Input::Admit {
            guest_id: "b".into(),
        },
        t0,
    );
    assert!(
        sent(&drain(&mut s)).is_empty(),
        "knocking and connecting change nothing: b cannot see the room yet"
    );
    s.handle_input(
        Input::PeerConnected {
            guest_id: "b".into(),
        },
        t0,
    );
    let two = UnitMessage::Watching { count: 2 };
    assert_eq!(
        sent(&drain(&mut s)),
        vec![("a".to_owned(), two.clone()), ("b".to_owned(), two)]
    );
    // Connected again after a blip: still two, nothing said.
    s.handle_input(
        Input::PeerConnected {
            guest_id: "b".into(),
        },
        t0,
    );
    assert!(sent(&drain(&mut s)).is_empty());
    s.handle_input(
        Input::GuestLeft {
            guest_id: "b".into(),
        },
        t0,
    );
    assert_eq!(
        sent(&drain(&mut s)),
        vec![("a".to_owned(), UnitMessage::Watching { count: 1 })]
    );
}

#[test]
fn after_the_end_the_next_session_counts_from_nobody() {
    let t0 = Instant::now();
    let mut s = started(false, t0);
    knock(&mut s, "a", t0);
    admit(&mut s, "a", t0);
    s.handle_input(Input::EndSession, t0);
    drain(&mut s);
    s.handle_input(Input::InviteRequested { request_id: 2 }, t0);
    s.handle_input(
        Input::InviteCreated {
            request_id: 2,
            url: "http://rv/i/tok2".into(),
            expires_at: 900,
        },
        t0,
    );
    knock(&mut s, "z", t0);
    admit(&mut s, "z", t0);
    assert_eq!(
        sent(&drain(&mut s)),
        vec![("z".to_owned(), UnitMessage::Watching { count: 1 })]
    );
}

#[test]
fn guests_in_the_call_are_told_who_is_speaking_and_when_they_stop() {
    let t0 = Instant::now();
    let mut s = crowd(t0);
    s.handle_input(
        Input::VoiceHeard {
            guest_id: "a".into(),
        },
        t0,
    );
    let talking = |on| UnitMessage::Speaking {
        name: "name-a".into(),
        speaking: on,
    };
    assert_eq!(
        sent(&drain(&mut s)),
        vec![("b".to_owned(), talking(true))],
        "b is told; a is the speaker; c is still connecting and w still waiting"
    );
    // Still speaking: nothing new while the voice goes on.
    s.handle_input(
        Input::VoiceHeard {
            guest_id: "a".into(),
        },
        t0 + SPEAKING_HOLD / 2,
    );
    assert!(sent(&drain(&mut s)).is_empty());
    s.handle_timeout(t0 + SPEAKING_HOLD * 2);
    assert_eq!(
        sent(&drain(&mut s)),
        vec![("b".to_owned(), talking(false))],
        "and when a stops"
    );
    // A waiting guest's voice is never heard (no peer), and never named if it were.
    s.handle_input(
        Input::VoiceHeard {
            guest_id: "w".into(),
        },
        t0 + SPEAKING_HOLD * 3,
    );
    assert!(sent(&drain(&mut s)).is_empty());
}

#[test]
fn a_guest_arriving_mid_sentence_is_told_who_is_talking_and_a_speaker_leaving_stops_it() {
    let t0 = Instant::now();
    let mut s = crowd(t0);
    s.handle_input(
        Input::VoiceHeard {
            guest_id: "a".into(),
        },
        t0,
    );
    drain(&mut s);
    let talking = |on| UnitMessage::Speaking {
        name: "name-a".into(),
        speaking: on,
    };
    // a speaks on and on; c's connection comes up: c learns it at once, not at a's next
    // pause.
    s.handle_input(
        Input::PeerConnected {
            guest_id: "c".into(),
        },
        t0,
    );
    let to_c: Vec<UnitMessage> = sent(&drain(&mut s))
        .into_iter()
        .filter(|(to, _)| to == "c")
        .map(|(_, m)| m)
        .collect();
    assert!(to_c.contains(&talking(true)), "c was told {to_c:?}");
    // a leaves still talking: b and c are told a stopped, and a is not named again.
    s.handle_input(
        Input::GuestLeft {
            guest_id: "a".into(),
        },
        t0 + SPEAKING_HOLD / 2,
    );
    let told: Vec<(String, UnitMessage)> = sent(&drain(&mut s))
        .into_iter()
        .filter(|(_, m)| matches!(m, UnitMessage::Speaking { .. }))
        .collect();
    assert_eq!(
        told,
        vec![
            ("b".to_owned(), talking(false)),
            ("c".to_owned(), talking(false))
        ]
    );
    s.handle_timeout(t0 + SPEAKING_HOLD * 2);
    assert!(sent(&drain(&mut s)).is_empty(), "a's hold ended with a");
}
