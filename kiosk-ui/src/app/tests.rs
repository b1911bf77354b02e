//! The screen driven by label, as a person would, against a fake of the link: the state
//! the link would have seen, and the commands the screen sends it.

use super::*;
use crate::i18n::Lang;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use visavis_api::Mode;
use visavis_api::datachannel::LookVotes;
use visavis_api::local::GuestState;
use visavis_api::local::{ChatLine, CompareStatus, GuestStatus, Status};

struct Screen {
    harness: Harness<'static, KioskApp>,
    commands: mpsc::Receiver<Request>,
}

fn screen(mode: Mode, status: Status, lang: Lang) -> Screen {
    let state = link::LinkState {
        connected: true,
        mode,
        status,
        ..Default::default()
    };
    screen_with(state, lang)
}

fn screen_with(state: link::LinkState, lang: Lang) -> Screen {
    screen_sized(state, lang, [1280.0, 800.0])
}

/// The scale the kiosk runs at (`KioskApp::new`).
const SCALE: f32 = 1.5;

fn screen_sized(state: link::LinkState, lang: Lang, size: [f32; 2]) -> Screen {
    screen_scaled(state, lang, size, 1.0)
}

/// A screen of `px` pixels drawn at `scale` pixels per point.
fn screen_scaled(state: link::LinkState, lang: Lang, px: [f32; 2], scale: f32) -> Screen {
    let shared: Shared = Arc::new(Mutex::new(state));
    let (tx, commands) = mpsc::channel();
    let app = KioskApp::new(&egui::Context::default(), shared, tx, lang);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(px[0], px[1]) / scale)
        .with_pixels_per_point(scale)
        .build_ui_state(|ui, app: &mut KioskApp| app.draw(ui), app);
    // The screen asks for a repaint every second (the countdown): run frames, not
    // "until idle".
    harness.run_steps(2);
    Screen { harness, commands }
}

impl Screen {
    /// Tap a control: every control is on the screen, none below a fold.
    fn tap(&mut self, label: &str) {
        self.harness.get_by_label(label).click();
        self.harness.run_steps(2);
    }

    /// Hold a finger on `label` for two seconds of the screen's time (kittest's frames
    /// are a quarter of a second each).
    fn long_press(&mut self, label: &str) {
        long_press(&mut self.harness, label);
    }

    fn shows(&self, label: &str) -> bool {
        self.harness.query_by_label(label).is_some()
    }

    /// What the screen asked since last looked, taps only (not the tiles' width, which
    /// it tells as it lays them out).
    fn sent(&self) -> Vec<Request> {
        self.commands
            .try_iter()
            .filter(|r| !matches!(r, Request::ScreenTiles { .. }))
            .collect()
    }

    /// The tiles' widths the screen told since last looked.
    fn tiles_told(&self) -> Vec<u32> {
        self.commands
            .try_iter()
            .filter_map(|r| match r {
                Request::ScreenTiles { width } => Some(width),
                _ => None,
            })
            .collect()
    }
}

/// Hold a finger on `label` for two seconds of the screen's time.
fn long_press(harness: &mut Harness<'static, KioskApp>, label: &str) {
    let pos = harness.get_by_label(label).rect().center();
    let press = |pressed| egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::default(),
    };
    harness.event(egui::Event::PointerMoved(pos));
    harness.event(press(true));
    harness.run_steps(8);
    harness.event(press(false));
    harness.run_steps(2);
}

fn waiting(name: &str) -> Status {
    Status {
        session_active: true,
        guests: vec![GuestStatus {
            guest_id: "g-1".into(),
            name: name.into(),
            state: GuestState::Waiting,
            tile: None,
            speaking: false,
        }],
        ..Default::default()
    }
}

#[test]
fn a_shopper_asks_friends_and_the_table_shares_its_dinner() {
    let mut s = screen(Mode::FittingRoom, Status::default(), Lang::En);
    assert!(!s.shows("Share this dinner"));
    s.tap("Ask my friends");
    assert_eq!(s.sent(), [Request::CreateInvite]);

    let s = screen(Mode::Table, Status::default(), Lang::Fr);
    assert!(s.shows("Partager ce dîner"));
}

#[test]
fn the_invite_shows_the_link_its_time_and_that_nothing_is_recorded() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let status = Status {
        session_active: true,
        invite_url: Some("https://visavis.example.com/i/abc".into()),
        invite_expires_at: Some(now + 600),
        ..Default::default()
    };
    let s = screen(Mode::FittingRoom, status, Lang::En);
    assert!(s.shows("Scan to join"));
    assert!(s.shows("https://visavis.example.com/i/abc"));
    assert!(s.shows("Nothing is ever recorded."));
    assert!(
        !s.shows("Ask my friends"),
        "no second invite while one is shown"
    );
    // 600 s left when the screen was drawn: 10:00, or a moment less.
    assert!(
        ["10:00", "9:59", "9:58"]
            .iter()
            .any(|t| s.shows(&format!("Link valid for {t}"))),
        "no countdown"
    );
}

#[test]
fn nobody_gets_in_without_a_tap_and_each_tap_says_who() {
    let mut s = screen(Mode::FittingRoom, waiting("Camille"), Lang::En);
    assert!(s.shows("Camille wants to join"));
    assert!(s.sent().is_empty(), "nothing is sent before a tap");
    s.tap("Let in");
    assert_eq!(
        s.sent(),
        [Request::Admit {
            guest_id: "g-1".into()
        }]
    );
    s.tap("Not now");
    assert_eq!(
        s.sent(),
        [Request::Deny {
            guest_id: "g-1".into()
        }]
    );
    // The knock takes the screen: nothing else to tap while it asks.
    assert!(!s.shows("End") && !s.shows("Mic"));
}

#[test]
fn the_privacy_switch_shows_a_banner() {
    let status = Status {
        privacy: true,
        ..Default::default()
    };
    let s = screen(Mode::FittingRoom, status, Lang::En);
    assert!(s.shows("Camera off: the privacy switch is on. Nobody can see you."));
    let s = screen(Mode::FittingRoom, Status::default(), Lang::En);
    assert!(!s.shows("Camera off: the privacy switch is on. Nobody can see you."));
}

#[test]
fn without_applianced_the_screen_says_so_and_invites_nobody() {
    let mut s = screen_with(
        link::LinkState {
            connected: false,
            mode: Mode::FittingRoom,
            ..Default::default()
        },
        Lang::En,
    );
    assert!(s.shows("Reconnecting to the unit…"));
    s.tap("Ask my friends");
    assert!(s.sent().is_empty(), "a disabled button sends nothing");
}

#[test]
fn the_language_switch_changes_every_word() {
    let mut s = screen(Mode::FittingRoom, Status::default(), Lang::En);
    s.tap("Français");
    assert!(s.shows("Demander à mes amis") && !s.shows("Ask my friends"));
    // Camille knocks: the card speaks French too.
    link::lock(&s.harness.state().link).status = waiting("Camille");
    s.harness.run_steps(2);
    assert!(s.shows("Camille souhaite vous rejoindre"));
    assert!(s.shows("Faire entrer") && s.shows("Pas maintenant"));
    assert!(!s.shows("Let in"));
    s.tap("Faire entrer");
    assert_eq!(
        s.sent(),
        [Request::Admit {
            guest_id: "g-1".into()
        }]
    );
    link::lock(&s.harness.state().link).status = Status::default();
    s.harness.run_steps(2);
    s.tap("English");
    assert!(s.shows("Ask my friends"));
}

/// A session with Camille in the call and saved looks `looks`.
fn in_call(looks: &[u32]) -> Status {
    Status {
        session_active: true,
        guests: vec![GuestStatus {
            guest_id: "g-1".into(),
            name: "Camille".into(),
            state: GuestState::InCall,
            tile: None,
            speaking: false,
        }],
        looks: looks.to_vec(),
        ..Default::default()
    }
}

fn with_thumbs(status: Status) -> link::LinkState {
    let looks = status
        .looks
        .iter()
        .map(|id| {
            let thumb = crate::looks::Thumb {
                size: [4, 3],
                rgba: Arc::new(vec![128; 4 * 3 * 4]),
            };
            (*id, thumb)
        })
        .collect();
    link::LinkState {
        connected: true,
        mode: Mode::FittingRoom,
        status,
        looks,
        ..Default::default()
    }
}

#[test]
fn a_shopper_saves_looks_and_asks_friends_which_one() {
    let mut s = screen(Mode::FittingRoom, in_call(&[]), Lang::En);
    s.tap("Save look");
    // 3, 2, 1 first, so the still does not catch the arm reaching for the screen.
    assert_eq!(s.sent(), [], "a still at once");
    assert!(s.shows("3"));
    s.harness.run_steps(5);
    assert!(s.shows("2") || s.shows("1"));
    assert_eq!(s.sent(), []);
    // kittest's frames are a quarter of a second of the screen's clock.
    s.harness.run_steps(8);
    assert_eq!(s.sent(), [Request::SaveLook]);
    assert!(!s.shows("1"), "the count is gone");

    let mut s = screen_with(with_thumbs(in_call(&[1, 2, 3])), Lang::En);
    assert!(s.shows("Pick two looks to compare"));
    assert!(
        !s.shows("Ask which one"),
        "nothing to ask before two are picked"
    );
    s.tap("Look 1");
    s.tap("Look 3");
    s.tap("Ask which one");
    assert_eq!(s.sent(), [Request::Compare { looks: [1, 3] }]);
}

#[test]
fn saving_is_off_when_the_camera_is_off_or_the_looks_are_full() {
    let mut status = in_call(&[]);
    status.privacy = true;
    let mut s = screen(Mode::FittingRoom, status, Lang::En);
    s.tap("Save look");
    assert!(
        s.sent().is_empty(),
        "no still while the privacy switch is on"
    );
    let mut status = in_call(&[]);
    status.camera_paused = true;
    let mut s = screen(Mode::FittingRoom, status, Lang::En);
    s.tap("Save look");
    assert!(s.sent().is_empty(), "no still while the camera is paused");

    let mut s = screen_with(with_thumbs(in_call(&[1, 2, 3, 4, 5, 6])), Lang::En);
    s.tap("Save look");
    assert!(
        s.sent().is_empty(),
        "a seventh look is refused on the screen"
    );
}

#[test]
fn the_tally_and_the_chat_show_over_the_mirror() {
    let mut status = in_call(&[1, 3]);
    status.compare = Some(CompareStatus {
        round: 1,
        open: true,
        votes: vec![
            LookVotes { look: 1, votes: 2 },
            LookVotes { look: 3, votes: 1 },
        ],
    });
    status.chat = vec![ChatLine {
        guest_id: "g-1".into(),
        name: "Camille".into(),
        text: "the blue one!".into(),
    }];
    let fresh = |status: &Status| link::LinkState {
        bubbles: status
            .chat
            .iter()
            .map(|l| (std::time::Instant::now(), l.clone()))
            .collect(),
        ..with_thumbs(status.clone())
    };
    let mut s = screen_with(fresh(&status), Lang::En);
    assert!(s.shows("Look 1: 2 votes") && s.shows("Look 3: 1 vote"));
    assert!(s.shows("Camille: the blue one!"));
    s.tap("Close the vote");
    assert_eq!(s.sent(), [Request::EndCompare]);

    let s = screen_with(fresh(&status), Lang::Fr);
    assert!(s.shows("Tenue 1 : 2 votes") && s.shows("Camille : the blue one!"));
}

#[test]
fn chat_bubbles_go_after_a_few_seconds_and_at_most_two_show() {
    let line = |name: &str, text: &str| ChatLine {
        guest_id: "g-1".into(),
        name: name.into(),
        text: text.into(),
    };
    let now = std::time::Instant::now();
    let ago = |d: Duration| now.checked_sub(d).expect("a clock older than a minute");
    let mut status = in_call(&[]);
    status.chat = vec![
        line("Camille", "first"),
        line("Léa", "second"),
        line("Hugo", "third"),
        line("Mamie", "fourth"),
    ];
    let mut state = with_thumbs(status.clone());
    state.bubbles = vec![
        // Came long ago: gone from the screen.
        (
            ago(link::CHAT_SHOWN + Duration::from_secs(1)),
            status.chat[0].clone(),
        ),
        (now, status.chat[1].clone()),
        (now, status.chat[2].clone()),
        (now, status.chat[3].clone()),
    ];
    for (mode, size) in [
        (Mode::FittingRoom, [1080.0 / 1.5, 1920.0 / 1.5]),
        (Mode::Table, [1280.0 / 1.5, 800.0 / 1.5]),
        (Mode::Table, [1920.0 / 1.5, 1080.0 / 1.5]),
    ] {
        let mut state = state.clone();
        state.mode = mode;
        let s = screen_sized(state, Lang::En, size);
        assert!(
            !s.shows("Camille: first"),
            "{mode:?} {size:?}: an old line shows"
        );
        assert!(
            !s.shows("Léa: second"),
            "{mode:?} {size:?}: a third bubble shows"
        );
        assert!(
            s.shows("Mamie: fourth"),
            "{mode:?} {size:?}: the newest is missing"
        );
    }
    // Lines the status already had when the kiosk connected do not pop up.
    let s = screen_with(with_thumbs(status), Lang::En);
    assert!(!s.shows("Mamie: fourth"));
}

#[test]
fn the_end_of_a_session_says_everything_was_erased() {
    let ended = link::LinkState {
        connected: true,
        mode: Mode::FittingRoom,
        ended_at: Some(std::time::Instant::now()),
        ..Default::default()
    };
    let s = screen_with(ended.clone(), Lang::En);
    assert!(s.shows("Everything from this session has been erased."));
    let s = screen_with(ended, Lang::Fr);
    assert!(s.shows("Tout ce qui concernait cette session a été effacé."));
    let s = screen(Mode::FittingRoom, Status::default(), Lang::En);
    assert!(!s.shows("Everything from this session has been erased."));
}

#[test]
fn an_idle_unit_attracts_and_a_tap_or_a_person_wakes_it() {
    let state = link::LinkState {
        connected: true,
        mode: Mode::FittingRoom,
        ..Default::default()
    };
    let shared: Shared = Arc::new(Mutex::new(state));
    let (tx, _commands) = mpsc::channel();
    let app = KioskApp::new(&egui::Context::default(), shared.clone(), tx, Lang::En);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1080.0, 1920.0))
        .build_ui_state(|ui, app: &mut KioskApp| app.draw(ui), app);
    harness.run_steps(2);
    assert!(
        harness.query_by_label("Ask my friends").is_some(),
        "awake at start"
    );
    let doze = |harness: &mut Harness<'static, KioskApp>| {
        harness.state_mut().touched_ago(ATTRACT_AFTER);
        harness.run_steps(2);
    };
    doze(&mut harness);
    assert!(harness.query_by_label("Ask your friends").is_some());
    assert!(harness.query_by_label("Ask my friends").is_none(), "asleep");
    harness.get_by_label("Tap to start").click();
    harness.run_steps(2);
    assert!(
        harness.query_by_label("Ask my friends").is_some(),
        "a tap wakes it"
    );

    doze(&mut harness);
    link::lock(&shared).status.presence = true;
    harness.run_steps(2);
    assert!(
        harness.query_by_label("Ask my friends").is_some(),
        "someone arrived"
    );
    // Nobody asleep while a session runs, however long untouched.
    link::lock(&shared).status.presence = false;
    link::lock(&shared).status.session_active = true;
    doze(&mut harness);
    assert!(harness.query_by_label("End").is_some());
}

#[test]
fn the_table_attracts_diners() {
    let state = link::LinkState {
        connected: true,
        mode: Mode::Table,
        ..Default::default()
    };
    let (tx, _commands) = mpsc::channel();
    let app = KioskApp::new(
        &egui::Context::default(),
        Arc::new(Mutex::new(state)),
        tx,
        Lang::Fr,
    )
    .with_attract_after(Duration::ZERO);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut KioskApp| app.draw(ui), app);
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label("Un dîner avec vos proches, même loin")
            .is_some()
    );
    assert!(harness.query_by_label("Touchez pour commencer").is_some());
}

fn staff_report() -> visavis_api::local::StaffReport {
    visavis_api::local::StaffReport {
        device_id: "unit-7".into(),
        store: "Paris 9e".into(),
        location: "Cabine 3".into(),
        mode: Mode::FittingRoom,
        version: "0.1.0".into(),
        rendezvous_url: "https://rv.example.com".into(),
        rendezvous_connected: true,
        encoder: "x264enc".into(),
        video_frames_captured: 1234,
        problems: vec!["first boot: the seed's signature does not match".into()],
        recent_errors: vec![
            "10:41:07 WARN visavis_appliance::media::remote: guest media: no decoder".into(),
            "10:42:13 ERROR applianced: the video pipeline failed".into(),
        ],
        ..Default::default()
    }
}

#[test]
fn staff_get_in_with_the_pin_see_the_unit_and_can_restart_it() {
    use visavis_api::local::{StaffAction, StaffPin};
    let mut s = screen(Mode::FittingRoom, Status::default(), Lang::En);
    // No button for staff faces shoppers: a long press on the logo opens the keypad.
    assert!(!s.shows("Staff"));
    s.tap("Visavis");
    assert!(!s.shows("Staff PIN"), "a tap is not a long press");
    s.long_press("Visavis");
    assert!(s.shows("Staff PIN") && !s.shows("Ask my friends"));
    for d in ["2", "4", "6"] {
        s.tap(d);
    }
    s.tap("OK");
    assert!(s.sent().is_empty(), "three digits are not a PIN");
    s.tap("8");
    assert!(s.shows("••••"), "the digits are never shown");
    s.tap("OK");
    let pin = StaffPin("2468".into());
    assert_eq!(
        s.sent(),
        [Request::Staff {
            pin: pin.clone(),
            action: StaffAction::Report
        }]
    );

    // applianced accepts: the report.
    link::lock(&s.harness.state().link).staff =
        Some(link::StaffOutcome::Report(Box::new(staff_report())));
    s.harness.run_steps(2);
    assert!(s.shows("Unit: unit-7") && s.shows("Store: Paris 9e"));
    assert!(s.shows("Server: https://rv.example.com (connected)"));
    assert!(s.shows("Camera frames 1234, encoded 0; microphone frames 0"));
    assert!(s.shows("first boot: the seed's signature does not match"));
    // Recent errors, the newest first.
    let newest = s
        .harness
        .get_by_label("10:42:13 ERROR applianced: the video pipeline failed")
        .rect();
    let older = s
        .harness
        .get_by_label("10:41:07 WARN visavis_appliance::media::remote: guest media: no decoder")
        .rect();
    assert!(newest.top() < older.top());
    s.tap("Restart the unit");
    assert_eq!(s.sent(), [], "a restart asks first");
    assert!(s.shows("Restart the unit now? A call in progress ends."));
    s.tap("Cancel");
    assert_eq!(s.sent(), []);
    s.tap("Restart the unit");
    s.tap("Restart now");
    assert_eq!(
        s.sent(),
        [Request::Staff {
            pin,
            action: StaffAction::Restart
        }]
    );
    s.tap("Close");
    assert!(s.shows("Ask my friends"), "back to the shopper's screen");
    assert!(
        link::lock(&s.harness.state().link).staff.is_none(),
        "report forgotten"
    );
}

#[test]
fn a_wrong_pin_says_why_and_clears_the_keypad() {
    let mut s = screen(Mode::FittingRoom, Status::default(), Lang::Fr);
    s.long_press("Visavis");
    for d in ["1", "1", "1", "1"] {
        s.tap(d);
    }
    s.tap("Valider");
    assert_eq!(s.sent().len(), 1);
    link::lock(&s.harness.state().link).staff = Some(link::StaffOutcome::Refused(
        "too many wrong PINs: try again in 30 s".into(),
    ));
    s.harness.run_steps(2);
    assert!(s.shows("too many wrong PINs: try again in 30 s"));
    assert!(s.shows("—"), "the digits were cleared");
    assert!(!s.shows("Appareil : unit-7"));
}

#[test]
fn in_a_call_the_microphone_mutes_and_the_camera_pauses() {
    let mut s = screen(Mode::FittingRoom, in_call(&[]), Lang::En);
    assert!(!s.shows("Mic off") && !s.shows("Paused"));
    s.tap("Mic");
    s.tap("Camera");
    assert_eq!(
        s.sent(),
        [
            Request::SetMic { muted: true },
            Request::SetCamera { paused: true }
        ]
    );
    let mut status = in_call(&[]);
    status.mic_muted = true;
    status.camera_paused = true;
    let mut s = screen(Mode::FittingRoom, status, Lang::En);
    // Off says so, in words (and in red, with a slashed icon), and a calm card stands
    // in for the picture.
    assert!(s.shows("Your camera is paused"));
    assert!(s.shows("Your guests see a “camera paused” card."));
    s.tap("Mic off");
    s.tap("Paused");
    assert_eq!(
        s.sent(),
        [
            Request::SetMic { muted: false },
            Request::SetCamera { paused: false }
        ]
    );
}

#[test]
fn at_a_table_a_cut_camera_is_said_in_the_tables_own_cell() {
    let mut status = in_call(&[]);
    let s = screen(Mode::Table, status.clone(), Lang::En);
    assert!(s.shows("You") && !s.shows("You · Paused"));
    status.camera_paused = true;
    let s = screen(Mode::Table, status.clone(), Lang::En);
    assert!(s.shows("You · Paused"));
    status.camera_paused = false;
    status.privacy = true;
    let s = screen(Mode::Table, status, Lang::Fr);
    assert!(s.shows("Vous · Caméra coupée"));
}

#[test]
fn a_table_calls_a_waiter_and_has_no_fitting_room_looks() {
    let mut s = screen(Mode::Table, in_call(&[]), Lang::En);
    assert!(!s.shows("Save look"), "looks are for the fitting room");
    s.tap("Waiter");
    assert_eq!(s.sent(), [Request::CallWaiter]);
    assert!(s.shows("A waiter has been called."));
    let s = screen(Mode::FittingRoom, Status::default(), Lang::En);
    assert!(!s.shows("Waiter"));
}

/// A table's call with these guests (name, speaking), each with a tile.
fn dinner(guests: &[(&str, bool)]) -> Status {
    Status {
        session_active: true,
        volume: 70,
        guests: guests
            .iter()
            .enumerate()
            .map(|(i, (name, speaking))| GuestStatus {
                guest_id: format!("g-{i}"),
                name: (*name).into(),
                state: GuestState::InCall,
                tile: Some(visavis_api::local::Preview {
                    socket: format!("/nonexistent/visavis-tile-{i}"),
                    width: 480,
                    height: 360,
                    fps: 15,
                }),
                speaking: *speaking,
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn a_table_shows_a_tile_per_guest_and_who_is_speaking() {
    let names = [
        "Camille", "Hugo", "Léa", "Inès", "Jules", "Nour", "Paul", "Zoé",
    ];
    for size in [[1280.0, 800.0], [1920.0, 1080.0]] {
        let guests: Vec<_> = names.iter().map(|n| (*n, *n == "Hugo")).collect();
        let state = link::LinkState {
            connected: true,
            mode: Mode::Table,
            status: dinner(&guests),
            ..Default::default()
        };
        let mut s = screen_sized(state, Lang::En, size);
        for name in names {
            let tile = s.harness.get_by_label(name);
            assert!(tile.rect().width() > 0.0, "{name} has a tile");
        }
        assert_eq!(s.harness.query_all_by_label("speaking").count(), 1);
        assert_eq!(
            s.harness.state().media.tiles.reading(),
            8,
            "one reader per tile"
        );
        // Two leave: their tiles and readers go.
        link::lock(&s.harness.state().link).status = dinner(&guests[..6]);
        s.harness.run_steps(2);
        assert!(!s.shows("Paul") && !s.shows("Zoé"));
        assert_eq!(s.harness.state().media.tiles.reading(), 6);
    }
}

/// `names` in the call, on a screen of `px` pixels at the kiosk's scale.
fn screen_at(mode: Mode, names: &[&str], px: [f32; 2]) -> Screen {
    let guests: Vec<(&str, bool)> = names.iter().map(|n| (*n, false)).collect();
    let state = link::LinkState {
        connected: true,
        mode,
        status: dinner(&guests),
        ..Default::default()
    };
    let mut s = screen_scaled(state, Lang::En, px, SCALE);
    s.harness.run_steps(1);
    s
}

#[test]
fn the_unit_hears_how_wide_the_guests_pictures_are_drawn() {
    use visavis_api::datachannel::SMALL_TILE_WIDTH;
    const NAMES: [&str; 8] = ["Ana", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal"];
    let told = |mode: Mode, guests: usize, px: [f32; 2]| {
        let s = screen_at(mode, &NAMES[..guests], px);
        let told = s.tiles_told();
        assert_eq!(told.len(), 1, "told once, not at every frame: {told:?}");
        told[0]
    };
    let hd: Vec<u32> = [1, 2, 3, 4, 6, 8]
        .map(|n| told(Mode::Table, n, [1920.0, 1080.0]))
        .into();
    let panel: Vec<u32> = [1, 2, 3, 4, 6, 8]
        .map(|n| told(Mode::Table, n, [1280.0, 800.0]))
        .into();
    let mirror = told(Mode::FittingRoom, 2, [1080.0, 1920.0]);
    eprintln!(
        "pictures' width, 1, 2, 3, 4, 6, 8 guests: 1920x1080 {hd:?}, 1280x800 {panel:?}; \
         the mirror's side tiles {mirror}"
    );
    assert!(
        hd[0] > SMALL_TILE_WIDTH,
        "one guest at a table is large: {hd:?}"
    );
    assert!(
        panel[5] <= SMALL_TILE_WIDTH,
        "eight on a 1280x800 panel are small: {panel:?}"
    );
    assert!(hd.windows(2).all(|w| w[0] >= w[1]), "{hd:?}");
    // The call changes: told again, once.
    let mut s = screen_at(Mode::Table, &NAMES[..1], [1280.0, 800.0]);
    assert_eq!(s.tiles_told(), [panel[0]]);
    s.harness.run_steps(3);
    assert_eq!(
        s.tiles_told(),
        [] as [u32; 0],
        "nothing moved: nothing told"
    );
    link::lock(&s.harness.state().link).status = dinner(&NAMES.map(|n| (n, false)));
    s.harness.run_steps(2);
    assert_eq!(s.tiles_told(), [panel[5]]);
}

#[test]
fn the_volume_goes_up_and_down_in_steps_and_stops_at_the_ends() {
    let mut s = screen(Mode::Table, dinner(&[("Camille", false)]), Lang::En);
    assert!(s.shows("70%"));
    s.tap("Louder");
    s.tap("Quieter");
    assert_eq!(
        s.sent(),
        [
            Request::SetVolume { percent: 80 },
            Request::SetVolume { percent: 60 }
        ]
    );
    for (volume, off) in [(100, "Louder"), (0, "Quieter")] {
        let mut status = dinner(&[("Camille", false)]);
        status.volume = volume;
        link::lock(&s.harness.state().link).status = status;
        s.harness.run_steps(2);
        s.harness.get_by_label(off).click();
        s.harness.run_steps(2);
        assert_eq!(s.sent(), [], "{off} at {volume}% does nothing");
    }
}

#[test]
fn the_fitting_room_shows_friends_small_and_in_french() {
    let s = screen(Mode::FittingRoom, dinner(&[("Camille", true)]), Lang::Fr);
    let tile = s.harness.get_by_label("Camille").rect();
    // Beside the mirror, not over it: at most a third of the screen's width, and large
    // enough to know a face from arm's length.
    assert!(
        tile.width() <= 1280.0 / 3.0 && tile.width() >= 160.0,
        "beside the mirror: {tile:?}"
    );
    assert!(s.shows("parle"));
    assert!(s.shows("70 %"));
}

#[test]
fn end_asks_before_it_erases_and_stays_in_reach() {
    let mut status = in_call(&[1, 2, 3, 4, 5, 6]);
    status.invite_url = Some("https://visavis.example.com/i/abc".into());
    status.invite_expires_at = Some(u64::MAX / 2);
    status.compare = Some(CompareStatus {
        round: 1,
        open: true,
        votes: vec![],
    });
    // A fitting room on its portrait screen, and on a landscape one.
    for size in [[1080.0, 1920.0], [1280.0, 800.0]] {
        let mut s = screen_sized(with_thumbs(status.clone()), Lang::En, size);
        s.tap("End");
        assert!(s.shows("End and erase everything?"), "{size:?}");
        assert_eq!(s.sent(), [], "{size:?}: End erased without asking");
        s.tap("Keep going");
        assert!(!s.shows("End and erase everything?"));
        assert_eq!(s.sent(), []);
        s.tap("End");
        s.tap("End and erase");
        assert_eq!(s.sent(), [Request::EndSession], "{size:?}");
        s.tap("Close the vote");
        assert_eq!(s.sent(), [Request::EndCompare], "{size:?}");
    }
}

#[test]
fn the_bar_fades_in_a_call_and_a_touch_brings_it_back() {
    let mut s = screen(Mode::FittingRoom, in_call(&[]), Lang::En);
    assert!(s.shows("Mic") && s.shows("End"));
    s.harness
        .state_mut()
        .touched_ago(crate::view::live::BAR_SHOWN);
    s.harness.run_steps(2);
    assert!(!s.shows("Mic") && !s.shows("End"), "the bar faded");
    assert!(s.shows("● LIVE · 1 watching"), "the on-air pill stays");
    // A touch anywhere on the picture brings the bar back, and does nothing else.
    let centre = s.harness.ctx.content_rect().center();
    s.harness.event(egui::Event::PointerMoved(centre));
    for pressed in [true, false] {
        s.harness.event(egui::Event::PointerButton {
            pos: centre,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::default(),
        });
    }
    s.harness.run_steps(2);
    assert!(
        s.shows("Mic") && s.shows("End"),
        "a touch brings the bar back"
    );
    assert_eq!(s.sent(), []);
    // Before anyone is in the call the bar does not fade.
    let alone = Status {
        session_active: true,
        ..Default::default()
    };
    let mut s = screen(Mode::FittingRoom, alone, Lang::En);
    s.harness
        .state_mut()
        .touched_ago(crate::view::live::BAR_SHOWN);
    s.harness.run_steps(2);
    assert!(s.shows("End"));
}

#[test]
fn a_reaction_rises_with_its_senders_name_and_goes() {
    let mut state = with_thumbs(in_call(&[]));
    state.reactions = vec![(
        std::time::Instant::now(),
        visavis_api::datachannel::Reaction::Heart,
        "Camille".into(),
    )];
    let s = screen_with(state.clone(), Lang::En);
    assert!(s.shows("Camille: Love it!"));
    let s = screen_with(state.clone(), Lang::Fr);
    assert!(s.shows("Camille : J’adore !"));
    // Past its time it is gone.
    if let Some(long_ago) = std::time::Instant::now().checked_sub(link::REACTION_SHOWN) {
        state.reactions[0].0 = long_ago;
        let s = screen_with(state, Lang::En);
        assert!(!s.shows("Camille: Love it!"));
    }
}
