//! Every screen, both installations, both languages: checked that no word runs off the
//! screen, and rendered to `docs/screens/` with egui_kittest's wgpu renderer by
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
    GuestStatus {
        guest_id: id.into(),
        name: name.into(),
        state,
        tile: (state == GuestState::InCall).then(|| visavis_api::local::Preview {
            socket: format!("/nonexistent/tile-{id}"),
            width: TILE[0] as u32,
            height: TILE[1] as u32,
            fps: 15,
        }),
        speaking: false,
    }
}

/// Tiles as applianced sends them.
const TILE: [usize; 2] = [480, 360];

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
    s.status.chat = vec![ChatLine {
        guest_id: "g-1".into(),
        name: "Camille".into(),
        text: "The green one suits you so well!".into(),
    }];
    s.reactions = vec![(Instant::now(), Reaction::Heart)];
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
    let mut report = base(room);
    report.staff = Some(StaffOutcome::Report(Box::new(StaffReport {
        device_id: "paris9-cabine-3".into(),
        store: "Paris 9e".into(),
        location: "Cabine 3".into(),
        mode: room,
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
        problems: Vec::new(),
        recent_errors: vec![
            "09:12:40 WARN visavis_appliance::signaling: rendezvous unreachable; retrying in 2 s"
                .into(),
        ],
    })));
    let mut table_call = in_call(Mode::Table);
    table_call.status.guests.extend([
        guest("g-3", "Mamie", GuestState::InCall),
        guest("g-4", "Hugo", GuestState::InCall),
        guest("g-5", "Papi", GuestState::Connecting),
    ]);
    table_call.status.guests[1].speaking = true;
    table_call.status.volume = 70;
    vec![
        Shot {
            asleep: true,
            ..shot("fitting-room-attract", PORTRAIT, base(room))
        },
        shot("fitting-room-home", PORTRAIT, base(room)),
        shot("fitting-room-invite", PORTRAIT, invite(room)),
        shot("fitting-room-admission", PORTRAIT, admission),
        shot("fitting-room-call-looks-vote", PORTRAIT, looks),
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
        shot("table-call-1080p", TABLE_HD, table_call),
    ]
}

/// The app for `shot` in `lang`, with its camera picture and tiles staged.
fn staged(shot: Shot, lang: Lang) -> KioskApp {
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
        let latest = crate::preview::Latest {
            size: TILE,
            rgba: picture(TILE[0], TILE[1], 100 + 40 * i as u8),
            serial: 1,
        };
        app.stage_tile(&tile.socket, latest);
    }
    if shot.waiter {
        app.set_waiter_called();
    }
    app
}

/// No word runs off the side of any screen, in either language, at any size: every
/// labelled thing lies within the screen's width. (Lines below the fold are in a panel
/// that scrolls; words past the right edge would be lost.)
#[test]
fn no_words_run_off_any_screen() {
    use egui_kittest::kittest::{By, NodeT, Queryable};
    for lang in [Lang::En, Lang::Fr] {
        for shot in shots() {
            let (name, [w, h]) = (shot.name, shot.size);
            let app = staged(shot, lang);
            let mut harness = Harness::builder()
                .with_size(egui::vec2(w, h))
                .with_pixels_per_point(1.0)
                .build_ui_state(|ui, app: &mut KioskApp| app.draw(ui), app);
            harness.run_steps(3);
            let mut checked = 0;
            for node in harness.query_all(By::new().predicate(|_| true)) {
                let text = node
                    .accesskit_node()
                    .label()
                    .or_else(|| node.accesskit_node().value())
                    .unwrap_or_default();
                if text.trim().is_empty() {
                    continue;
                }
                let r = node.rect();
                assert!(
                    r.left() >= -0.5 && r.right() <= w + 0.5,
                    "{name} ({lang:?}, {w}x{h}): {text:?} runs off the screen at {r:?}"
                );
                checked += 1;
            }
            assert!(checked >= 3, "{name}: only {checked} labelled nodes");
        }
    }
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
                .with_size(egui::vec2(w, h))
                .with_pixels_per_point(1.0)
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
