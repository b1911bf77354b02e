//! Looks, votes and chat in a session, on simulated time.

use super::tests::{admit, drain, knock, settings, started, status};
use super::*;
use std::time::Instant;
use visavis_api::datachannel::{LookVotes, UnitMessage};
use visavis_api::local::{ApiErrorCode, ChatLine, Event, MAX_LOOKS};

/// A started session with guests `a` and `b` in the call.
fn in_call(t0: Instant) -> Session {
    let mut s = started(false, t0);
    for id in ["a", "b"] {
        knock(&mut s, id, t0);
        admit(&mut s, id, t0);
    }
    drain(&mut s);
    s
}

/// What guests were sent, but the "watching" counts (`crowd_tests.rs` checks those).
fn to_guests(actions: &[Action]) -> Vec<(String, UnitMessage)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::ToGuest {
                message: UnitMessage::Watching { .. },
                ..
            } => None,
            Action::ToGuest { guest_id, message } => Some((guest_id.clone(), message.clone())),
            _ => None,
        })
        .collect()
}

fn votes(pairs: &[(u32, u32)]) -> Vec<LookVotes> {
    pairs
        .iter()
        .map(|&(look, votes)| LookVotes { look, votes })
        .collect()
}

#[test]
fn looks_need_a_session_and_are_numbered_from_one() {
    let t0 = Instant::now();
    let mut idle = Session::new(settings(false));
    assert_eq!(
        idle.save_look("x".into()).unwrap_err().code,
        ApiErrorCode::NoSession
    );
    let mut s = started(false, t0);
    assert_eq!(s.save_look("one".into()), Ok(1));
    assert_eq!(s.save_look("two".into()), Ok(2));
    assert_eq!(&*s.look_image(2).unwrap(), "two");
    assert_eq!(status(&s).looks, vec![1, 2]);
    assert_eq!(s.look_image(3).unwrap_err().code, ApiErrorCode::UnknownLook);
    for _ in 2..MAX_LOOKS {
        s.save_look("more".into()).unwrap();
    }
    let full = s.save_look("one too many".into()).unwrap_err();
    assert!(full.message.contains("compare"), "{}", full.message);
}

#[test]
fn guests_in_the_call_see_the_comparison_and_their_votes_are_counted_once() {
    let t0 = Instant::now();
    let mut s = in_call(t0);
    let (one, two) = (
        s.save_look("ONE".into()).unwrap(),
        s.save_look("TWO".into()).unwrap(),
    );
    assert_eq!(
        s.compare([one, one]).unwrap_err().code,
        ApiErrorCode::BadRequest
    );
    assert_eq!(
        s.compare([one, 9]).unwrap_err().code,
        ApiErrorCode::UnknownLook
    );
    drain(&mut s);
    s.compare([one, two]).unwrap();
    let sent = to_guests(&drain(&mut s));
    for guest in ["a", "b"] {
        let to: Vec<&UnitMessage> = sent
            .iter()
            .filter(|(g, _)| g == guest)
            .map(|(_, m)| m)
            .collect();
        assert!(
            matches!(&to[..], [
                UnitMessage::Look { id: 1, jpeg: j1 },
                UnitMessage::Look { id: 2, jpeg: j2 },
                UnitMessage::Compare { looks: [1, 2], .. },
            ] if j1 == "ONE" && j2 == "TWO"),
            "{guest} gets both stills, then the comparison: {to:?}"
        );
    }
    let Some((_, UnitMessage::Compare { round, .. })) = sent.last() else {
        panic!("{sent:?}")
    };
    let round = *round;

    let vote = |s: &mut Session, guest: &str, round: u32, look: u32| {
        s.handle_input(
            Input::Vote {
                guest_id: guest.into(),
                round,
                look,
            },
            t0,
        );
        drain(s)
    };
    let actions = vote(&mut s, "a", round, one);
    assert!(actions.iter().any(
        |a| matches!(a, Action::Emit(Event::Votes(v)) if v.votes == votes(&[(one, 1), (two, 0)]))
    ));
    assert_eq!(
        to_guests(&actions).len(),
        2,
        "the tally goes to every guest"
    );
    // Changing one's mind moves the vote; a second vote never counts twice.
    vote(&mut s, "a", round, two);
    vote(&mut s, "a", round, two);
    vote(&mut s, "b", round, two);
    assert_eq!(
        status(&s).compare.unwrap().votes,
        votes(&[(one, 0), (two, 2)])
    );
    // Stale rounds, other looks and strangers change nothing.
    assert!(vote(&mut s, "b", round + 1, one).is_empty());
    assert!(vote(&mut s, "b", round, 99).is_empty());
    assert!(vote(&mut s, "stranger", round, one).is_empty());
    assert_eq!(
        status(&s).compare.unwrap().votes,
        votes(&[(one, 0), (two, 2)])
    );

    // Closed: guests are told, the tally stays on the screen, votes no longer count.
    s.end_compare();
    let actions = drain(&mut s);
    assert!(
        to_guests(&actions)
            .iter()
            .all(|(_, m)| *m == UnitMessage::CompareEnded { round })
    );
    assert!(!status(&s).compare.unwrap().open);
    assert!(vote(&mut s, "a", round, one).is_empty());
}

#[test]
fn a_guest_who_joins_mid_comparison_gets_it_and_waiting_guests_get_nothing() {
    let t0 = Instant::now();
    let mut s = in_call(t0);
    let (one, two) = (
        s.save_look("ONE".into()).unwrap(),
        s.save_look("TWO".into()).unwrap(),
    );
    knock(&mut s, "c", t0);
    s.compare([one, two]).unwrap();
    let sent = to_guests(&drain(&mut s));
    assert!(
        sent.iter().all(|(g, _)| g != "c"),
        "nothing before admission: {sent:?}"
    );
    // The call holds two guests: one leaves to make room.
    s.handle_input(
        Input::GuestLeft {
            guest_id: "b".into(),
        },
        t0,
    );
    admit(&mut s, "c", t0);
    let sent = to_guests(&drain(&mut s));
    assert!(
        matches!(&sent[..], [
            (g, UnitMessage::Look { .. }),
            (_, UnitMessage::Look { .. }),
            (_, UnitMessage::Compare { .. }),
            (_, UnitMessage::Tally { .. }),
        ] if g == "c")
            && sent.iter().all(|(g, _)| g == "c"),
        "{sent:?}"
    );
}

#[test]
fn chat_from_guests_in_the_call_is_cleaned_and_kept_briefly() {
    let t0 = Instant::now();
    let mut s = in_call(t0);
    let chat = |s: &mut Session, guest: &str, text: &str| {
        s.handle_input(
            Input::Chat {
                guest_id: guest.into(),
                text: text.into(),
            },
            t0,
        );
        drain(s)
    };
    let actions = chat(&mut s, "a", " the blue\none ");
    let line = ChatLine {
        guest_id: "a".into(),
        name: "name-a".into(),
        text: "the blue one".into(),
    };
    assert_eq!(
        actions,
        vec![
            Action::ToGuest {
                guest_id: "b".into(),
                message: UnitMessage::Chat {
                    name: "name-a".into(),
                    text: "the blue one".into()
                }
            },
            Action::Emit(Event::Chat(line.clone()))
        ]
    );
    assert!(chat(&mut s, "a", "   ").is_empty());
    assert!(chat(&mut s, "a", &"x".repeat(281)).is_empty());
    knock(&mut s, "w", t0);
    assert!(
        chat(&mut s, "w", "let me in").is_empty(),
        "a waiting guest cannot chat"
    );
    for i in 0..30 {
        chat(&mut s, "b", &format!("line {i}"));
    }
    let kept = status(&s).chat;
    assert_eq!(kept.len(), 20);
    assert_eq!(kept.last().unwrap().text, "line 29");
}

#[test]
fn ending_the_session_erases_looks_votes_and_chat() {
    let t0 = Instant::now();
    let mut s = in_call(t0);
    let (one, two) = (
        s.save_look("ONE".into()).unwrap(),
        s.save_look("TWO".into()).unwrap(),
    );
    s.compare([one, two]).unwrap();
    s.handle_input(
        Input::Chat {
            guest_id: "a".into(),
            text: "yes".into(),
        },
        t0,
    );
    s.handle_input(Input::EndSession, t0);
    assert!(drain(&mut s).contains(&Action::EraseSessionData));
    let status = status(&s);
    assert!(status.looks.is_empty() && status.compare.is_none() && status.chat.is_empty());
    assert_eq!(
        s.look_image(one).unwrap_err().code,
        ApiErrorCode::UnknownLook
    );
    // The next session starts from nothing, numbering included.
    let mut s2 = s;
    s2.handle_input(Input::InviteRequested { request_id: 2 }, t0);
    s2.handle_input(
        Input::InviteCreated {
            request_id: 2,
            url: "http://rv/i/tok2".into(),
            expires_at: 900,
        },
        t0,
    );
    assert_eq!(s2.save_look("NEW".into()), Ok(1));
}

#[test]
fn guests_are_told_when_the_camera_goes_off_and_comes_back() {
    let t0 = Instant::now();
    let mut s = in_call(t0);
    s.set_camera_on(true);
    assert!(
        to_guests(&drain(&mut s)).is_empty(),
        "no change, nothing said"
    );
    s.set_camera_on(false);
    let sent = to_guests(&drain(&mut s));
    assert_eq!(sent.len(), 2);
    assert!(
        sent.iter()
            .all(|(_, m)| *m == UnitMessage::Camera { on: false })
    );
    // A guest admitted while it is off learns it on arrival.
    s.handle_input(
        Input::GuestLeft {
            guest_id: "b".into(),
        },
        t0,
    );
    knock(&mut s, "c", t0);
    admit(&mut s, "c", t0);
    assert_eq!(
        to_guests(&drain(&mut s)),
        vec![("c".to_owned(), UnitMessage::Camera { on: false })]
    );
    s.set_camera_on(true);
    assert!(
        to_guests(&drain(&mut s))
            .iter()
            .all(|(_, m)| *m == UnitMessage::Camera { on: true })
    );
}
