//! Every screen, both installations, both languages, the three sizes, at the scale the
//! kiosk runs at: checked that every control is in reach, no word runs off the screen and
//! no two controls overlap; and rendered to `docs/screens/` with egui_kittest's wgpu renderer by
//! `cargo xtask screens` (which runs `cargo test -p visavis-kiosk --features screens
//! screens`). The states are the fakes the screen tests use; the camera picture is a drawn
//! stand-in.

use crate::app::KioskApp;
use crate::i18n::Lang;
use crate::link::{LinkState, StaffOutcome};
use crate::looks::Thumb;
use crate::view::staff::StaffScreen;
use egui_kittest::Harness;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;
use visavis_api::Mode;
use visavis_api::datachannel::{LookVotes, Reaction};
use visavis_api::local::{
    ChatLine, CompareStatus, GuestState, GuestStatus, NetworkLink, StaffReport,
};

const PORTRAIT: [f32; 2] = [1080.0, 1920.0];
const TABLE: [f32; 2] = [1280.0, 800.0];
const TABLE_HD: [f32; 2] = [1920.0, 1080.0];

/// A soft stand-in for the camera: a warm gradient with a lighter oval where a person
/// would stand.
fn picture(w: usize, h: usize, hue: u8) -> Vec<u8> {
    let mut rgba = Vec::with_capacity(w * h * 4);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / w as f32 - 0.5, y as f32 / h as f32 - 0.55);
            let person = ((fx / 0.18).powi(2) + (fy / 0.38).powi(2) < 1.0) as u8;
            let v = (y * 120 / h) as u8;
            rgba.extend_from_slice(&[
                90u8.saturating_add(v / 2).saturating_add(person * 60),
                60u8.saturating_add(hue / 3).saturating_add(person * 50),
                70u8.saturating_add(v).saturating_add(person * 40),
                255,
            ]);
        }
    }
    rgba
}

fn thumb(hue: u8) -> Thumb {
    Thumb {
        size: [240, 320],
        rgba: Arc::new(picture(240, 320, hue)),
    }
}

/// A guest; in the call they have a tile (its picture is staged by [`screens`]).
fn guest(id: &str, name: &str, state: GuestState) -> GuestStatus {
    sized_guest(id, name, state, TILE)
}

/// A guest whose tile frames are `size`.
fn sized_guest(id: &str, name: &str, state: GuestState, size: [usize; 2]) -> GuestStatus {
    GuestStatus {
        guest_id: id.into(),
        name: name.into(),
        state,
        tile: (state == GuestState::InCall).then(|| visavis_api::local::Preview {
            socket: format!("/nonexistent/tile-{id}"),
            width: size[0] as u32,
            height: size[1] as u32,
            fps: 15,
        }),
        speaking: false,
    }
}

/// Tiles as applianced sends them.
const TILE: [usize; 2] = [480, 360];
/// Tiles as applianced sends them where the screen's tiles are small (many guests: the
/// small camera layer's own size).
#[cfg(feature = "screens")]
const SMALL_TILE: [usize; 2] = [320, 240];

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn base(mode: Mode) -> LinkState {
    LinkState {
        connected: true,
        mode,
        ..Default::default()
    }
}

fn invite(mode: Mode) -> LinkState {
    let mut s = base(mode);
    s.status.session_active = true;
    s.status.invite_url = Some("https://visavis.example.com/i/k3Xq9vLb2".into());
    s.status.invite_expires_at = Some(now() + 14 * 60 + 32);
    s
}

fn in_call(mode: Mode) -> LinkState {
    let mut s = invite(mode);
    s.status.guests = vec![
        guest("g-1", "Camille", GuestState::InCall),
        guest("g-2", "Léa", GuestState::InCall),
    ];
    s.status.chat = vec![
        ChatLine {
            guest_id: "g-2".into(),
            name: "Léa".into(),
            text: "Coming in a minute".into(),
        },
        ChatLine {
            guest_id: "g-1".into(),
            name: "Camille".into(),
            text: "The green one suits you so well!".into(),
        },
    ];
    s.bubbles = s
        .status
        .chat
        .iter()
        .map(|line| (Instant::now(), line.clone()))
        .collect();
    s.reactions = vec![
        (Instant::now(), Reaction::Heart, "Camille".into()),
        (Instant::now(), Reaction::Clap, "Léa".into()),
    ];
    s
}

struct Shot {
    name: &'static str,
    size: [f32; 2],
    state: LinkState,
    staff: Option<StaffScreen>,
    asleep: bool,
    waiter: bool,
}

fn shot(name: &'static str, size: [f32; 2], state: LinkState) -> Shot {
    Shot {
        name,
        size,
        state,
        staff: None,
        asleep: false,
        waiter: false,
    }
}

#[cfg(feature = "screens")]
fn shots() -> Vec<Shot> {
    let room = Mode::FittingRoom;
    let mut admission = invite(room);
    admission.status.guests = vec![guest("g-1", "Camille", GuestState::Waiting)];
    let mut looks = in_call(room);
    looks.status.looks = vec![1, 2, 3];
    looks.looks = [(1, thumb(20)), (2, thumb(120)), (3, thumb(220))].into();
    looks.status.compare = Some(CompareStatus {
        round: 1,
        open: true,
        votes: vec![
            LookVotes { look: 1, votes: 1 },
            LookVotes { look: 3, votes: 2 },
        ],
    });
    let mut paused = in_call(room);
    paused.status.camera_paused = true;
    paused.status.mic_muted = true;
    let mut privacy = base(room);
    privacy.status.privacy = true;
    let mut erased = base(room);
    erased.ended_at = Some(Instant::now());
    let report = staff_report_state();
    let mut table_call = in_call(Mode::Table);
    table_call.status.guests.extend([
        guest("g-3", "Mamie", GuestState::InCall),
        guest("g-4", "Hugo", GuestState::InCall),
        guest("g-5", "Papi", GuestState::Connecting),
    ]);
    table_call.status.guests[1].speaking = true;
    table_call.status.volume = 70;
    // A table of eight: the screen draws small tiles, and applianced sends them small.
    let mut table_eight = in_call(Mode::Table);
    let names = [
        "Camille", "Léa", "Mamie", "Hugo", "Papi", "Inès", "Tom", "Zoé",
    ];
    table_eight.status.guests = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let id = format!("g-{}", i + 1);
            sized_guest(&id, name, GuestState::InCall, SMALL_TILE)
        })
        .collect();
    table_eight.status.guests[2].speaking = true;
    table_eight.status.volume = 70;
    vec![
        Shot {
            asleep: true,
            ..shot("fitting-room-attract", PORTRAIT, base(room))
        },
        shot("fitting-room-home", PORTRAIT, base(room)),
        shot("fitting-room-invite", PORTRAIT, invite(room)),
        shot("fitting-room-admission", PORTRAIT, admission),
        shot("fitting-room-call-looks-vote", PORTRAIT, looks.clone()),
        shot("fitting-room-call-landscape", TABLE, looks),
        shot("fitting-room-camera-paused", PORTRAIT, paused),
        shot("fitting-room-privacy", PORTRAIT, privacy),
        shot("fitting-room-erased", PORTRAIT, erased),
        Shot {
            staff: Some(StaffScreen::new()),
            ..shot("staff-pin", PORTRAIT, base(room))
        },
        Shot {
            staff: Some(StaffScreen::opened("246810")),
            ..shot("staff-report", PORTRAIT, report)
        },
        Shot {
            asleep: true,
            ..shot("table-attract", TABLE, base(Mode::Table))
        },
        shot("table-home", TABLE, base(Mode::Table)),
        shot("table-invite", TABLE, invite(Mode::Table)),
        Shot {
            waiter: true,
            ..shot("table-call", TABLE, table_call.clone())
        },
        shot("table-call-1080p", TABLE_HD, table_call.clone()),
        shot("table-call-eight", TABLE, table_eight),
        shot("table-call-portrait", PORTRAIT, table_call),
    ]
}

/// The app for `shot` in `lang`, with its camera picture and tiles staged.
fn staged(mut shot: Shot, lang: Lang) -> KioskApp {
    // Reactions float for a moment from now, whenever the shot is drawn.
    for reaction in &mut shot.state.reactions {
        reaction.0 = Instant::now();
    }
    for bubble in &mut shot.state.bubbles {
        bubble.0 = Instant::now();
    }
    let guests = shot.state.status.guests.clone();
    let shared = Arc::new(Mutex::new(shot.state));
    let (tx, _rx) = mpsc::channel();
    let mut app = KioskApp::new(&egui::Context::default(), shared, tx, lang);
    if shot.asleep {
        app = app.with_attract_after(std::time::Duration::ZERO);
    }
    let [w, h] = shot.size;
    let (pw, ph) = if w > h { (960, 540) } else { (540, 960) };
    app.stage([pw, ph], picture(pw, ph, 60), shot.staff);
    let tiles = guests.iter().filter_map(|g| g.tile.as_ref());
    for (i, tile) in tiles.enumerate() {
        let size = [tile.width as usize, tile.height as usize];
        let latest = crate::preview::Latest {
            size,
            rgba: picture(size[0], size[1], 100u8.wrapping_add((40 * i) as u8)),
            serial: 1,
        };
        app.stage_tile(&tile.socket, latest);
    }
    if shot.waiter {
        app.set_waiter_called();
    }
    app
}

/// The kiosk's three screens, in pixels: the fitting room's portrait mirror, a table's
/// 1280x800 panel and a 1920x1080 one.
const SIZES: [[f32; 2]; 3] = [PORTRAIT, TABLE, TABLE_HD];
/// The scale the kiosk runs at (`KioskApp::new`).
const SCALE: f32 = 1.5;

/// Every state a screen can be in, for `mode`: the same list for both installations (a
/// table has no looks; the fitting room has no waiter), named for the failure messages.
/// A fitting room's staff screen past its PIN, with a report.
fn staff_report_state() -> LinkState {
    let mut report = base(Mode::FittingRoom);
    report.staff = Some(StaffOutcome::Report(Box::new(StaffReport {
        device_id: "paris9-cabine-3".into(),
        store: "Paris 9e".into(),
        location: "Cabine 3".into(),
        mode: Mode::FittingRoom,
        version: env!("CARGO_PKG_VERSION").into(),
        rendezvous_url: "https://rv.visavis.example.com".into(),
        rendezvous_connected: true,
        network: vec![NetworkLink {
            name: "wlan0".into(),
            state: "up".into(),
        }],
        camera: "camera /dev/video0".into(),
        microphone: "alsa default".into(),
        encoder: "v4l2h264enc".into(),
        video_frames_captured: 81_234,
        video_frames_encoded: 81_230,
        audio_frames_encoded: 135_390,
        privacy: false,
        send_kbps: 3_450,
        uplink_kbps: 10_000,
        problems: Vec::new(),
        recent_errors: vec![
            "09:12:40 WARN visavis_appliance::signaling: rendezvous unreachable; retrying in 2 s"
                .into(),
        ],
    })));
    report
}

fn every_state(mode: Mode) -> Vec<Shot> {
    let mut admission = invite(mode);
    admission.status.guests = vec![guest("g-1", "Camille", GuestState::Waiting)];
    let mut call = in_call(mode);
    call.status.guests.extend([
        guest("g-3", "Mamie", GuestState::InCall),
        guest("g-4", "Hugo", GuestState::InCall),
        guest("g-5", "Papi", GuestState::Connecting),
    ]);
    call.status.guests[1].speaking = true;
    call.status.volume = 70;
    if mode == Mode::FittingRoom {
        call.status.looks = vec![1, 2, 3, 4, 5, 6];
        call.looks = (1..=6).map(|i| (i, thumb(i as u8 * 40))).collect();
        call.status.compare = Some(CompareStatus {
            round: 1,
            open: true,
            votes: vec![
                LookVotes { look: 1, votes: 1 },
                LookVotes { look: 3, votes: 2 },
            ],
        });
    }
    let mut knock_in_call = call.clone();
    knock_in_call
        .status
        .guests
        .push(guest("g-6", "Maximilien", GuestState::Waiting));
    let mut paused = call.clone();
    paused.status.camera_paused = true;
    paused.status.mic_muted = true;
    let mut privacy = base(mode);
    privacy.status.privacy = true;
    let mut erased = base(mode);
    erased.ended_at = Some(Instant::now());
    let mut offline = base(mode);
    offline.connected = false;
    let mut report = base(mode);
    if let Some(StaffOutcome::Report(r)) = staff_report_state().staff {
        report.staff = Some(StaffOutcome::Report(r));
    }
    vec![
        Shot {
            asleep: true,
            ..shot("attract", [0.0; 2], base(mode))
        },
        shot("home", [0.0; 2], base(mode)),
        shot("offline", [0.0; 2], offline),
        shot("invite", [0.0; 2], invite(mode)),
        shot("admission", [0.0; 2], admission),
        Shot {
            waiter: true,
            ..shot("call", [0.0; 2], call)
        },
        shot("knock-in-call", [0.0; 2], knock_in_call),
        shot("paused", [0.0; 2], paused),
        shot("privacy", [0.0; 2], privacy),
        shot("erased", [0.0; 2], erased),
        Shot {
            staff: Some(StaffScreen::new()),
            ..shot("staff-pin", [0.0; 2], base(mode))
        },
        Shot {
            staff: Some(StaffScreen::opened("246810")),
            ..shot("staff-report", [0.0; 2], report)
        },
    ]
}

/// Words drawn smaller than the theme's body size in `shapes`, with their size, except
/// the icon font's glyphs and the theme's documented exceptions.
fn small_words(shapes: &[egui::epaint::ClippedShape]) -> Vec<(String, f32)> {
    fn walk(shape: &egui::Shape, out: &mut Vec<(String, f32)>) {
        match shape {
            egui::Shape::Vec(shapes) => shapes.iter().for_each(|s| walk(s, out)),
            egui::Shape::Text(text) => {
                let job = &text.galley.job;
                for section in &job.sections {
                    let font = &section.format.font_id;
                    let (from, to) = (section.byte_range.start.0, section.byte_range.end.0);
                    let word = job.text.get(from..to).unwrap_or_default().trim();
                    let allowed = crate::theme::TEXT_EXCEPTIONS
                        .iter()
                        .any(|(w, _)| *w == word);
                    if font.family != crate::theme::icons()
                        && font.size < crate::theme::size::BODY
                        && !word.is_empty()
                        && !allowed
                    {
                        out.push((word.to_owned(), font.size));
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    shapes.iter().for_each(|s| walk(&s.shape, &mut out));
    out
}

/// Every screen, both installations, both languages, the three sizes, at the scale the
/// kiosk runs at: no word is smaller than the theme's body size; every control the screen offers lies wholly inside the window (nothing
/// below a fold, nothing to scroll to), no word runs off it, and no two controls overlap.
#[test]
fn every_control_is_in_reach_at_every_size_and_scale() {
    use egui_kittest::kittest::{By, NodeT, Queryable};
    let mut failures = Vec::new();
    for mode in [Mode::FittingRoom, Mode::Table] {
        for size in SIZES {
            for lang in [Lang::En, Lang::Fr] {
                for mut shot in every_state(mode) {
                    shot.size = size;
                    let name = shot.name;
                    let window = egui::vec2(size[0], size[1]) / SCALE;
                    let app = staged(shot, lang);
                    let mut harness = Harness::builder()
                        .with_size(window)
                        .with_pixels_per_point(SCALE)
                        .build_ui_state(|ui, app: &mut KioskApp| app.draw(ui), app);
                    harness.run_steps(3);
                    for (word, pt) in small_words(&harness.output().shapes) {
                        failures.push(format!(
                            "{mode:?} {name} {lang:?} {size:?}: {word:?} is drawn at {pt} pt, \
                             under the {} pt body size",
                            crate::theme::size::BODY
                        ));
                    }
                    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, window).expand(0.5);
                    let mut controls: Vec<(String, egui::Rect)> = Vec::new();
                    let mut words = 0;
                    let mut texts: Vec<(String, egui::Rect)> = Vec::new();
                    for node in harness.query_all(By::new().predicate(|_| true)) {
                        let ak = node.accesskit_node();
                        let text = ak.label().or_else(|| ak.value()).unwrap_or_default();
                        if ak.bounding_box().is_none() {
                            continue;
                        }
                        let r = node.rect();
                        let control = ak.role() == egui::accesskit::Role::Button;
                        if text.trim().is_empty() && !control {
                            continue;
                        }
                        let what = if control { "control" } else { "words" };
                        if !screen.contains_rect(r) {
                            failures.push(format!(
                                "{mode:?} {name} {lang:?} {size:?}: {what} {text:?} at {r:?} \
                                 is not wholly inside the {window:?} window"
                            ));
                        }
                        if control {
                            controls.push((text, r));
                        } else {
                            words += 1;
                            texts.push((text, r));
                        }
                    }
                    assert!(
                        words + controls.len() >= 2,
                        "{name}: nearly nothing on screen"
                    );
                    // A moment (a knock) dims the screen and covers what is behind it.
                    let moment = name == "admission" || name == "knock-in-call";
                    for (word, rw) in texts.iter().filter(|_| !moment) {
                        for (b, rb) in &controls {
                            if rw.shrink(0.5).intersects(rb.shrink(0.5)) {
                                failures.push(format!(
                                    "{mode:?} {name} {lang:?} {size:?}: words {word:?} at \
                                     {rw:?} lie under control {b:?} at {rb:?}"
                                ));
                            }
                        }
                    }
                    for (i, (a, ra)) in controls.iter().enumerate() {
                        for (b, rb) in &controls[i + 1..] {
                            if ra.shrink(0.5).intersects(rb.shrink(0.5)) {
                                failures.push(format!(
                                    "{mode:?} {name} {lang:?} {size:?}: controls {a:?} at \
                                     {ra:?} and {b:?} at {rb:?} overlap"
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[cfg(feature = "screens")]
#[test]
fn screens() {
    let out = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screens");
    std::fs::create_dir_all(&out).unwrap();
    for lang in [Lang::En, Lang::Fr] {
        for shot in shots() {
            let (name, [w, h]) = (shot.name, shot.size);
            let app = staged(shot, lang);
            let mut harness = Harness::builder()
                .with_size(egui::vec2(w, h) / SCALE)
                .with_pixels_per_point(SCALE)
                .wgpu()
                .build_ui_state(|ui, app: &mut KioskApp| app.draw(ui), app);
            harness.run_steps(3);
            let image = harness.render().expect("render the screen");
            let code = match lang {
                Lang::En => "en",
                Lang::Fr => "fr",
            };
            let path = out.join(format!("{name}.{code}.png"));
            image.save(&path).expect("write the PNG");
            eprintln!("screens: {}", path.display());
        }
    }
}
