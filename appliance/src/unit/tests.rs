//! The unit's rules on simulated time: what the room lets out, looks, volume, the staff
//! PIN, the LED, and that a status kept from the pushed events equals the unit's own.

use super::*;
use crate::media::remote::GuestMediaEvent;
use crate::session::SPEAKING_HOLD;
use std::time::Duration;
use visavis_api::datachannel::Reaction;
use visavis_api::local::{ApiErrorCode, ChatLine, GuestState, Preview};

fn settings() -> UnitSettings {
    UnitSettings {
        session: SessionSettings {
            auto_admit: false,
            admission_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(600),
            max_guests: 2,
        },
        hello: Response::Done,
        audio_continues: false,
        simulated_board: true,
        preview: true,
        volume: 80,
        privacy: false,
        presence: false,
        first_boot_problem: None,
        wrong_pins: 0,
        mic_problem: None,
    }
}

/// A unit and a kiosk's copy of its status, kept from the events alone.
struct Room {
    unit: Unit,
    now: Instant,
    mirror: Status,
    /// Every event pushed, in order.
    log: Vec<(u64, Event)>,
    next_id: ReplyId,
}

impl Room {
    fn new(settings: UnitSettings) -> Room {
        let unit = Unit::new(settings);
        let mirror = unit.status();
        let mut room = Room {
            unit,
            now: Instant::now(),
            mirror,
            log: Vec::new(),
            next_id: 1,
        };
        room.outputs();
        room
    }

    /// Every output so far; events also go into the mirror, which must then equal the
    /// unit's own status.
    fn outputs(&mut self) -> Vec<Output> {
        let outputs: Vec<Output> = std::iter::from_fn(|| self.unit.poll_output()).collect();
        for output in &outputs {
            if let Output::Emit { seq, event } = output {
                assert_eq!(
                    self.mirror.apply(*seq, event),
                    visavis_api::local::Applied::Applied,
                    "{event:?}"
                );
                self.log.push((*seq, event.clone()));
            }
        }
        assert_eq!(self.mirror, self.unit.status(), "the kiosk's copy drifted");
        outputs
    }

    fn input(&mut self, input: Input) -> Vec<Output> {
        self.unit.handle_input(input, self.now);
        self.outputs()
    }

    fn later(&mut self, by: Duration) -> Vec<Output> {
        self.now += by;
        if self.unit.poll_timeout().is_some_and(|t| t <= self.now) {
            self.unit.handle_timeout(self.now);
        }
        self.outputs()
    }

    /// A local request and its answer (none when it waits on the world).
    fn ask(&mut self, request: Request) -> (ReplyId, Option<Outcome>, Vec<Output>) {
        let id = self.next_id;
        self.next_id += 1;
        let outputs = self.input(Input::Request { id, request });
        let answer = outputs.iter().find_map(|o| match o {
            Output::Reply { id: got, outcome } if *got == id => Some(outcome.clone()),
            _ => None,
        });
        (id, answer, outputs)
    }

    fn refused(&mut self, request: Request) -> ApiErrorCode {
        match self.ask(request).1 {
            Some(Outcome::Error(e)) => e.code,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn done(&mut self, request: Request) -> Vec<Output> {
        let (_, answer, outputs) = self.ask(request);
        assert_eq!(answer, Some(Outcome::Ok(Response::Done)));
        outputs
    }

    fn rendezvous(&mut self, msg: ServerToDevice) -> Vec<Output> {
        self.input(Input::Rendezvous(Link::Message(msg)))
    }

    /// Rendezvous up and an invite out: the session runs.
    fn invited(&mut self) {
        self.input(Input::Rendezvous(Link::Up));
        let (id, answer, _) = self.ask(Request::CreateInvite);
        assert_eq!(answer, None, "the invite waits for rendezvous");
        let outputs = self.rendezvous(ServerToDevice::Invite {
            request_id: id,
            token: "tok".into(),
            url: "https://rv/i/tok".into(),
            expires_at: 900,
        });
        assert!(outputs.contains(&Output::Reply {
            id,
            outcome: Outcome::Ok(Response::Invite {
                url: "https://rv/i/tok".into(),
                expires_at: 900
            })
        }));
    }

    /// `id` knocks, is let in and connects.
    fn in_call(&mut self, id: &str, name: &str) {
        self.rendezvous(ServerToDevice::GuestKnock {
            guest_id: id.into(),
            name: name.into(),
            ice_servers: vec![],
        });
        let outputs = self.done(Request::Admit {
            guest_id: id.into(),
        });
        assert!(outputs.contains(&Output::StartPeer {
            guest_id: id.into(),
            name: name.into(),
            ice_servers: vec![],
        }));
        self.input(Input::Peer(PeerEvent::Connected {
            guest_id: id.into(),
        }));
    }

    fn board(&mut self, event: BoardEvent) -> Vec<Output> {
        self.input(Input::Board { event, at: 42 })
    }

    /// Ask for a look: the unit asks the daemon for a still; feed `jpeg` back.
    fn save_look(&mut self, jpeg: Result<Vec<u8>, String>) -> Outcome {
        let (id, answer, outputs) = self.ask(Request::SaveLook);
        assert_eq!(answer, None, "{outputs:?}");
        assert!(outputs.contains(&Output::TakeStill { id }));
        let outputs = self.input(Input::Still { id, jpeg });
        outputs
            .into_iter()
            .find_map(|o| match o {
                Output::Reply { id: got, outcome } if got == id => Some(outcome),
                _ => None,
            })
            .expect("the still is answered")
    }
}

fn tile(n: u32) -> Preview {
    Preview {
        socket: format!("/run/visavis/tile-{n}"),
        width: 480,
        height: 360,
        fps: 15,
    }
}

#[test]
fn a_look_needs_a_session_the_camera_and_a_preview() {
    let mut room = Room::new(settings());
    assert_eq!(room.refused(Request::SaveLook), ApiErrorCode::NoSession);
    room.invited();
    room.board(BoardEvent::PrivacySwitch(true));
    assert_eq!(room.refused(Request::SaveLook), ApiErrorCode::CameraOff);
    room.board(BoardEvent::PrivacySwitch(false));
    assert_eq!(
        room.save_look(Ok(vec![0xff, 0xd8])),
        Outcome::Ok(Response::LookSaved { look: 1 })
    );
    assert_eq!(room.unit.status().looks, vec![1]);

    let mut blind = Room::new(UnitSettings {
        preview: false,
        ..settings()
    });
    blind.invited();
    assert_eq!(blind.refused(Request::SaveLook), ApiErrorCode::NoPreview);
}

#[test]
fn a_still_that_arrives_after_the_switch_is_not_kept() {
    let mut room = Room::new(settings());
    room.invited();
    let (id, _, _) = room.ask(Request::SaveLook);
    room.board(BoardEvent::PrivacySwitch(true));
    let outputs = room.input(Input::Still {
        id,
        jpeg: Ok(vec![1]),
    });
    assert!(outputs.iter().any(|o| matches!(
        o,
        Output::Reply { outcome: Outcome::Error(e), .. } if e.code == ApiErrorCode::CameraOff
    )));
    assert!(room.unit.status().looks.is_empty());
    let failed = room.save_look_after_switch_off();
    assert!(matches!(failed, Outcome::Error(e) if e.code == ApiErrorCode::Internal));
}

impl Room {
    fn save_look_after_switch_off(&mut self) -> Outcome {
        self.board(BoardEvent::PrivacySwitch(false));
        self.save_look(Err("the camera stalled".into()))
    }
}

#[test]
fn volume_is_a_percentage_the_speaker_follows() {
    let mut room = Room::new(settings());
    assert_eq!(room.unit.status().volume, 80);
    let outputs = room.done(Request::SetVolume { percent: 30 });
    assert!(outputs.contains(&Output::SetVolume(30)));
    assert_eq!(room.unit.status().volume, 30);
    assert_eq!(
        room.refused(Request::SetVolume { percent: 101 }),
        ApiErrorCode::BadRequest
    );
    assert_eq!(
        room.unit.status().volume,
        30,
        "a refused volume changes nothing"
    );
    room.done(Request::SetVolume { percent: 0 });
    room.done(Request::SetVolume { percent: 100 });
    assert_eq!(room.unit.status().volume, 100);
}

#[test]
fn the_screen_says_how_wide_its_guest_tiles_are() {
    let mut room = Room::new(settings());
    let outputs = room.done(Request::ScreenTiles { width: 390 });
    assert!(outputs.contains(&Output::ScreenTiles(390)), "{outputs:?}");
    let outputs = room.done(Request::ScreenTiles { width: 0 });
    assert!(outputs.contains(&Output::ScreenTiles(0)), "{outputs:?}");
    assert_eq!(
        room.refused(Request::ScreenTiles { width: 100_000 }),
        ApiErrorCode::BadRequest
    );
}

#[test]
fn wrong_pins_wait_longer_and_the_right_one_opens_the_report() {
    let mut room = Room::new(settings());
    let staff = |room: &mut Room, pin: &str, action| {
        let id = room.next_id;
        room.next_id += 1;
        room.input(Input::Staff {
            id,
            pin: StaffPin(pin.into()),
            action,
            pin_file: Ok("2468".into()),
        })
    };
    for tries in 1..=crate::staff::FREE_TRIES {
        let outputs = staff(&mut room, "1111", StaffAction::Report);
        // Each wrong try is saved for the next start, then refused.
        assert!(
            matches!(&outputs[..], [Output::SavePinTries { wrong }, Output::Reply { outcome: Outcome::Error(e), .. }] if e.code == ApiErrorCode::WrongPin && *wrong == tries),
            "{outputs:?}"
        );
    }
    // Locked: even the right PIN waits.
    let outputs = staff(&mut room, "2468", StaffAction::Report);
    assert!(
        matches!(&outputs[..], [Output::Reply { outcome: Outcome::Error(e), .. }] if e.code == ApiErrorCode::RateLimited),
        "{outputs:?}"
    );
    room.later(crate::staff::FIRST_WAIT);
    let outputs = staff(&mut room, "2468", StaffAction::Report);
    assert!(
        matches!(&outputs[..], [Output::SavePinTries { wrong: 0 }, Output::ReplyStaffReport { facts, .. }] if !facts.privacy && !facts.rendezvous_connected),
        "{outputs:?}"
    );
    let outputs = staff(&mut room, "2468", StaffAction::Restart);
    assert!(matches!(
        &outputs[..],
        [
            Output::Reply {
                outcome: Outcome::Ok(Response::Done),
                ..
            },
            Output::Restart
        ]
    ));
    // No PIN set up: nobody gets in, and the reason is told.
    let id = room.next_id;
    let outputs = room.input(Input::Staff {
        id,
        pin: StaffPin("2468".into()),
        action: StaffAction::Report,
        pin_file: Err(crate::staff::PinFileError::NotDigits {
            path: "/etc/visavis/staff-pin".into(),
        }),
    });
    assert!(
        matches!(&outputs[..], [Output::Reply { outcome: Outcome::Error(e), .. }] if e.message.contains("must hold 4 to 8 digits"))
    );
}

#[test]
fn privacy_pause_and_mute_decide_what_guests_get() {
    let mut room = Room::new(settings());
    let media = |outputs: &[Output]| {
        outputs.iter().find_map(|o| match o {
            Output::MediaOutputs { video, audio } => Some((*video, *audio)),
            _ => None,
        })
    };
    let outputs = room.board(BoardEvent::PrivacySwitch(true));
    assert_eq!(media(&outputs), Some((false, false)));
    assert!(outputs.contains(&Output::NotePrivacy {
        on: true,
        at: Some(42)
    }));
    assert!(outputs.contains(&Output::Led(Led::Privacy)));
    let outputs = room.board(BoardEvent::PrivacySwitch(false));
    assert_eq!(media(&outputs), Some((true, true)));
    assert!(outputs.contains(&Output::Led(Led::Idle)));
    assert_eq!(
        media(&room.done(Request::SetCamera { paused: true })),
        Some((false, true))
    );
    assert_eq!(
        media(&room.done(Request::SetMic { muted: true })),
        Some((false, false))
    );
    assert_eq!(
        media(&room.done(Request::SetCamera { paused: false })),
        Some((true, false))
    );

    let mut talking = Room::new(UnitSettings {
        audio_continues: true,
        privacy: true,
        ..settings()
    });
    assert!(talking.unit.status().privacy, "the switch as read at start");
    let outputs = talking.board(BoardEvent::PrivacySwitch(true));
    assert_eq!(
        media(&outputs),
        Some((false, true)),
        "audio continues by config"
    );
}

#[test]
fn the_led_shows_a_call_and_privacy_wins() {
    let mut room = Room::new(settings());
    room.invited();
    room.rendezvous(ServerToDevice::GuestKnock {
        guest_id: "g1".into(),
        name: "Camille".into(),
        ice_servers: vec![],
    });
    room.done(Request::Admit {
        guest_id: "g1".into(),
    });
    let outputs = room.input(Input::Peer(PeerEvent::Connected {
        guest_id: "g1".into(),
    }));
    assert!(outputs.contains(&Output::Led(Led::InCall)));
    let outputs = room.board(BoardEvent::PrivacySwitch(true));
    assert!(outputs.contains(&Output::Led(Led::Privacy)));
    let outputs = room.done(Request::EndSession);
    assert!(
        !outputs.iter().any(|o| matches!(o, Output::Led(_))),
        "still private"
    );
    let outputs = room.board(BoardEvent::PrivacySwitch(false));
    assert!(outputs.contains(&Output::Led(Led::Idle)));
}

#[test]
fn a_simulated_board_can_be_worked_a_real_one_cannot() {
    let mut room = Room::new(settings());
    let input = BoardInput::Presence { present: true };
    let outputs = room.done(Request::SimulateBoard { input });
    assert!(outputs.contains(&Output::SimulateBoard(input)));
    let mut real = Room::new(UnitSettings {
        simulated_board: false,
        ..settings()
    });
    assert_eq!(
        real.refused(Request::SimulateBoard { input }),
        ApiErrorCode::RealBoard
    );
}

#[test]
fn tiles_and_the_speaking_indicator_follow_the_guest_media() {
    let mut room = Room::new(settings());
    room.invited();
    room.in_call("g1", "Camille");
    room.input(Input::GuestMedia(GuestMediaEvent::TileReady {
        guest_id: "g1".into(),
        tile: tile(1),
    }));
    assert_eq!(room.unit.status().guests[0].tile, Some(tile(1)));
    // A stale decoder's end does not take the newer tile away.
    room.input(Input::GuestMedia(GuestMediaEvent::TileReady {
        guest_id: "g1".into(),
        tile: tile(2),
    }));
    room.input(Input::GuestMedia(GuestMediaEvent::TileGone {
        guest_id: "g1".into(),
        tile: tile(1),
    }));
    assert_eq!(room.unit.status().guests[0].tile, Some(tile(2)));

    let heard = || {
        Input::GuestMedia(GuestMediaEvent::VoiceHeard {
            guest_id: "g1".into(),
        })
    };
    room.input(heard());
    assert!(room.unit.status().guests[0].speaking);
    room.later(SPEAKING_HOLD / 2);
    room.input(heard());
    room.later(SPEAKING_HOLD / 2);
    assert!(
        room.unit.status().guests[0].speaking,
        "heard again: held on"
    );
    room.later(SPEAKING_HOLD / 2);
    assert!(
        !room.unit.status().guests[0].speaking,
        "silent for the hold"
    );

    room.input(Input::GuestMedia(GuestMediaEvent::TileGone {
        guest_id: "g1".into(),
        tile: tile(2),
    }));
    assert_eq!(room.unit.status().guests[0].tile, None);
    // Media of someone who is not a guest changes nothing.
    room.input(Input::GuestMedia(GuestMediaEvent::VoiceHeard {
        guest_id: "nobody".into(),
    }));
    assert_eq!(room.unit.status().guests.len(), 1);
}

#[test]
fn a_kiosk_that_follows_the_events_sees_what_the_unit_sees() {
    // Every step below checks that the kiosk's copy, kept from events alone, equals the
    // unit's status (`Room::outputs`); a kiosk that joins midway catches up the same way.
    let mut room = Room::new(UnitSettings {
        first_boot_problem: Some("the seed's signature is wrong".into()),
        ..settings()
    });
    room.input(Input::Rendezvous(Link::Problem(
        "enrollment refused".into(),
    )));
    room.input(Input::Rendezvous(Link::Up));
    room.invited();
    room.in_call("g1", "Camille");
    let late = room.unit.status();
    room.rendezvous(ServerToDevice::GuestKnock {
        guest_id: "g2".into(),
        name: "Léa".into(),
        ice_servers: vec![],
    });
    room.done(Request::Admit {
        guest_id: "g2".into(),
    });
    room.rendezvous(ServerToDevice::GuestKnock {
        guest_id: "g3".into(),
        name: "Hugo".into(),
        ice_servers: vec![],
    });
    assert_eq!(
        room.refused(Request::Admit {
            guest_id: "g3".into()
        }),
        ApiErrorCode::CallFull
    );
    assert_eq!(
        room.refused(Request::Admit {
            guest_id: "g2".into()
        }),
        ApiErrorCode::AlreadyAdmitted
    );
    room.done(Request::Deny {
        guest_id: "g3".into(),
    });
    room.input(Input::Peer(PeerEvent::Connected {
        guest_id: "g2".into(),
    }));
    room.input(Input::GuestMedia(GuestMediaEvent::TileReady {
        guest_id: "g2".into(),
        tile: tile(3),
    }));
    room.input(Input::GuestMedia(GuestMediaEvent::VoiceHeard {
        guest_id: "g1".into(),
    }));
    room.later(SPEAKING_HOLD);
    for n in 0..25 {
        // A person's pace: a line a second.
        room.later(Duration::from_secs(1));
        room.input(Input::Peer(PeerEvent::Chat {
            guest_id: "g2".into(),
            text: format!("line {n}"),
        }));
    }
    room.input(Input::Peer(PeerEvent::Reaction {
        guest_id: "g1".into(),
        reaction: Reaction::Heart,
    }));
    room.save_look(Ok(vec![1]));
    room.save_look(Ok(vec![2]));
    room.done(Request::Compare { looks: [1, 2] });
    room.input(Input::Peer(PeerEvent::Vote {
        guest_id: "g1".into(),
        round: 1,
        look: 2,
    }));
    // A comparison with a look that does not exist leaves the open one as it was.
    assert_eq!(
        room.refused(Request::Compare { looks: [1, 9] }),
        ApiErrorCode::UnknownLook
    );
    assert!(room.unit.status().compare.is_some_and(|c| c.open));
    room.done(Request::EndCompare);
    room.board(BoardEvent::Presence(true));
    room.board(BoardEvent::PrivacySwitch(true));
    room.board(BoardEvent::PrivacySwitch(false));
    room.board(BoardEvent::Button(Button::Call));
    room.done(Request::SetMic { muted: true });
    room.done(Request::SetCamera { paused: true });
    room.done(Request::SetVolume { percent: 55 });
    room.done(Request::CallWaiter);
    room.rendezvous(ServerToDevice::GuestLeft {
        guest_id: "g1".into(),
    });
    let before_end = room.unit.status();
    assert_eq!(before_end.chat.len(), visavis_api::local::CHAT_KEPT);
    assert_eq!(before_end.guests.len(), 1);
    assert_eq!(before_end.guests[0].state, GuestState::InCall);
    assert_eq!(before_end.problems.len(), 1, "rendezvous's problem cleared");
    room.done(Request::EndSession);
    room.input(Input::Rendezvous(Link::Down));

    let ended = room.unit.status();
    assert!(!ended.session_active && ended.guests.is_empty() && ended.looks.is_empty());
    assert!(ended.chat.is_empty() && ended.compare.is_none());

    // The kiosk that took the status midway gets every event (some from before its
    // status, which it must not apply twice) and ends where the unit is.
    let mut copy = late;
    let mut already_seen = 0;
    for (seq, event) in &room.log {
        if copy.apply(*seq, event) == visavis_api::local::Applied::AlreadySeen {
            already_seen += 1;
        }
    }
    assert!(already_seen > 0);
    assert_eq!(copy, ended);
}

#[test]
fn every_chat_line_on_the_screen_names_its_guest() {
    let mut room = Room::new(settings());
    room.invited();
    room.in_call("g1", "Camille");
    let outputs = room.input(Input::Peer(PeerEvent::Chat {
        guest_id: "g1".into(),
        text: "  the blue one  ".into(),
    }));
    assert!(outputs.iter().any(|o| matches!(
        o,
        Output::Emit { event: Event::Chat(ChatLine { name, text, .. }), .. }
            if name == "Camille" && text == "the blue one"
    )));
}

#[test]
fn a_blip_keeps_the_call_and_admits_nobody_again() {
    let mut room = Room::new(settings());
    room.invited();
    room.in_call("g1", "Camille");
    let knocks_before = room.log.len();

    // The Wi-Fi drops: rendezvous is lost and the guest's ICE fails.
    room.input(Input::Rendezvous(Link::Down));
    room.later(Duration::from_secs(25));
    let outputs = room.input(Input::Peer(PeerEvent::Failed {
        guest_id: "g1".into(),
    }));
    assert!(
        !outputs
            .iter()
            .any(|o| matches!(o, Output::ClosePeer { .. })),
        "{outputs:?}"
    );
    // Back: a new rendezvous connection, the guest's restart offer, media again.
    room.later(Duration::from_secs(5));
    room.input(Input::Rendezvous(Link::Up));
    let offer = SignalPayload::Offer {
        sdp: "v=0 restart".into(),
    };
    let outputs = room.rendezvous(ServerToDevice::Signal {
        guest_id: "g1".into(),
        payload: offer.clone(),
    });
    assert_eq!(
        outputs,
        vec![Output::ApplySignal {
            guest_id: "g1".into(),
            payload: offer
        }]
    );
    let outputs = room.input(Input::Peer(PeerEvent::Connected {
        guest_id: "g1".into(),
    }));
    assert!(
        !outputs.iter().any(|o| matches!(
            o,
            Output::StartPeer { .. } | Output::ToRendezvous(DeviceToServer::Admit { .. })
        )),
        "{outputs:?}"
    );
    room.later(crate::session::PEER_RESTART_GRACE);
    let status = room.unit.status();
    assert_eq!(status.guests.len(), 1);
    assert_eq!(status.guests[0].state, GuestState::InCall);
    assert!(
        !room.log[knocks_before..].iter().any(|(_, e)| matches!(
            e,
            Event::GuestKnock { .. } | Event::GuestAdmitted { .. } | Event::GuestLeft { .. }
        )),
        "{:?}",
        &room.log[knocks_before..]
    );
}

#[test]
fn a_guest_flooding_reactions_and_chat_gets_a_person_s_share_through() {
    let mut room = Room::new(settings());
    room.invited();
    room.in_call("g1", "Camille");
    let mut shown = (0, 0);
    for n in 0..200 {
        for output in room.input(Input::Peer(PeerEvent::Reaction {
            guest_id: "g1".into(),
            reaction: Reaction::Heart,
        })) {
            if matches!(
                output,
                Output::Emit {
                    event: Event::Reaction { .. },
                    ..
                }
            ) {
                shown.0 += 1;
            }
        }
        for output in room.input(Input::Peer(PeerEvent::Chat {
            guest_id: "g1".into(),
            text: format!("spam {n}"),
        })) {
            if matches!(
                output,
                Output::Emit {
                    event: Event::Chat(_),
                    ..
                }
            ) {
                shown.1 += 1;
            }
        }
    }
    assert!(
        shown.0 > 0 && shown.0 <= 10,
        "{} of 200 reactions shown",
        shown.0
    );
    assert!(
        shown.1 > 0 && shown.1 <= 5,
        "{} of 200 chat lines shown",
        shown.1
    );
}

#[test]
fn a_missing_microphone_is_a_problem_for_staff() {
    let room = Room::new(UnitSettings {
        mic_problem: Some("microphone: no ALSA card called \"ReSpeaker\"".into()),
        ..settings()
    });
    assert_eq!(
        room.unit.status().problems,
        vec!["microphone: no ALSA card called \"ReSpeaker\"".to_owned()]
    );
}

#[test]
fn a_microphone_lost_mid_call_and_back_shows_in_the_problems_and_leaves() {
    let mut room = Room::new(settings());
    room.invited();
    let why = "microphone hw:CARD=Device,DEV=0: Could not read from resource. (Error reading \
               from device: No such device); calls go on without it, trying again";
    room.input(Input::Mic(Some(why.into())));
    assert_eq!(room.unit.status().problems, vec![why.to_owned()]);
    assert!(
        room.log
            .iter()
            .any(|(_, e)| matches!(e, visavis_api::local::Event::Problems { problems } if problems.len() == 1)),
        "the kiosk is told"
    );
    room.input(Input::Mic(None));
    assert!(
        room.unit.status().problems.is_empty(),
        "back: no problem left"
    );
}
