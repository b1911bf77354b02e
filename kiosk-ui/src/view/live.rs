//! The live screen: the camera picture (the mirror in a fitting room) or, at a table in a
//! call, the guests' tiles, with the reactions, the vote tally and chat bubbles over it,
//! and the [`super::panel`] of controls beside (or under) it. Banners say when the
//! camera is off or paused, when the link is down and when a session was erased.

use super::{Cx, Next, Screen};
use crate::i18n::{Key, fill};
use crate::link::{self, LinkState};
use crate::theme::{colour, size, space};
use egui::{Color32, RichText};
use std::time::{Duration, Instant};
use visavis_api::Mode;
use visavis_api::datachannel::Reaction;
use visavis_api::local::{GuestState, GuestStatus};

/// How long a notice ("everything was erased", "a waiter has been called") stays.
pub const NOTICE_SHOWN: Duration = Duration::from_secs(10);
/// Chat bubbles over the mirror at once (the newest).
const BUBBLES: usize = 3;
/// Guests' tiles a table shows at once.
const MAX_TILES: usize = 8;

pub fn in_call(guest: &GuestStatus) -> bool {
    guest.state == GuestState::InCall
}

/// The live screen's own state.
#[derive(Default)]
pub struct Live {
    /// Looks picked for "which one?", in the order tapped.
    pub picked: Vec<u32>,
    pub waiter_called: Option<Instant>,
}

impl Screen for Live {
    fn show(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) -> Next {
        let state = cx.state;
        // A fitting room's screen is a mirror (its picture flipped); a table's is not.
        let mirror = match state.mode {
            Mode::FittingRoom => true,
            Mode::Table => false,
        };
        let mut next = Next::Stay;
        egui::CentralPanel::default().show(ui, |ui| {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Min), |ui| {
                // The language switch: the other language, named in itself.
                let other = cx.lang.other();
                let switch = egui::Button::new(RichText::new(other.name()).size(size::BODY))
                    .min_size(egui::vec2(120.0, 48.0));
                if ui.add(switch).clicked() {
                    next = Next::Lang(other);
                }
                let staff = egui::Button::new(RichText::new(cx.t(Key::Staff)).size(size::BODY))
                    .min_size(egui::vec2(120.0, 48.0));
                if ui.add(staff).clicked() {
                    next = Next::Staff;
                }
            });
            if !state.connected {
                ui.label(
                    RichText::new(cx.t(Key::Reconnecting))
                        .size(size::LEAD)
                        .color(colour::WARNING),
                );
            }
            let erased = state.ended_at.is_some_and(|at| at.elapsed() < NOTICE_SHOWN);
            if erased && !state.status.session_active {
                banner(ui, colour::ERASED, cx.t(Key::Erased));
            }
            if state.status.privacy {
                banner(ui, colour::PRIVACY, cx.t(Key::PrivacyOn));
            } else if state.status.camera_paused {
                banner(ui, colour::PAUSED, cx.t(Key::CameraPaused));
            }
            // Portrait (the fitting room's mirror): the picture on top, the controls
            // under it. Landscape (a table): side by side.
            let portrait = ui.available_height() > ui.available_width();
            if portrait {
                let (w, h) = (ui.available_width(), ui.available_height() * 0.5);
                ui.vertical_centered(|ui| picture(ui, cx, mirror, w, h));
                ui.add_space(space::LARGE_GAP);
                self.controls(ui, cx);
            } else {
                ui.horizontal_top(|ui| {
                    let (w, h) = (ui.available_width() * 0.6, ui.available_height());
                    if !mirror && state.status.guests.iter().any(in_call) {
                        table(ui, cx, w, h);
                    } else {
                        picture(ui, cx, mirror, w, h);
                    }
                    ui.add_space(space::LARGE_GAP);
                    self.controls(ui, cx);
                });
            }
        });
        next
    }
}

/// The live picture, as large as fits `max_w` x `max_h`, with what floats over it.
/// `flip`: the screen is a mirror (flipped here only, never for guests).
fn picture(ui: &mut egui::Ui, cx: &mut Cx<'_>, flip: bool, max_w: f32, max_h: f32) {
    let ctx = ui.ctx().clone();
    let rect = match cx.media.preview(&ctx) {
        Some(tex) => {
            let [w, h] = tex.size();
            let aspect = w as f32 / h.max(1) as f32;
            let size = if max_w / aspect <= max_h {
                egui::vec2(max_w, max_w / aspect)
            } else {
                egui::vec2(max_h * aspect, max_h)
            };
            let uv = if flip {
                egui::Rect::from_min_max(egui::pos2(1.0, 0.0), egui::pos2(0.0, 1.0))
            } else {
                egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0))
            };
            ui.add(egui::Image::new(&tex).fit_to_exact_size(size).uv(uv))
                .rect
        }
        None => {
            let size = [max_w, (max_w * 9.0 / 16.0).min(max_h)];
            let label = RichText::new(cx.t(Key::CameraStarting)).size(size::BUTTON);
            ui.add_sized(size, egui::Label::new(label)).rect
        }
    };
    if flip {
        small_tiles(ui, cx, rect);
    }
    over_picture(ui, cx, rect);
}

/// A table's call: the guests' tiles as large as they fit in `w` x `h`, the table's own
/// picture small in the corner, and what floats over the picture.
fn table(ui: &mut egui::Ui, cx: &mut Cx<'_>, w: f32, h: f32) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(w, h), egui::Sense::hover());
    let state = cx.state;
    let callers: Vec<_> = state.status.guests.iter().filter(|g| in_call(g)).collect();
    let shown = callers.len().min(MAX_TILES);
    let places = crate::tiles::grid(shown, rect, crate::tiles::ASPECT, 10.0);
    for (guest, place) in callers.into_iter().zip(places) {
        tile(ui, cx, guest, place);
    }
    if let Some(tex) = cx.media.preview(ui.ctx()) {
        let [tw, th] = tex.size();
        let width = (w * 0.22).max(160.0);
        let size = egui::vec2(width, width * th as f32 / tw.max(1) as f32);
        let place = egui::Rect::from_min_size(
            egui::pos2(rect.right() - size.x - 8.0, rect.top() + 8.0),
            size,
        );
        ui.painter()
            .rect_stroke(place, 8.0, (2.0, Color32::WHITE), egui::StrokeKind::Outside);
        crate::tiles::draw(ui, place, cx.t(Key::You), Some(&tex), None);
    }
    over_picture(ui, cx, rect);
}

/// The fitting room: the guests small, down the mirror's right edge.
fn small_tiles(ui: &mut egui::Ui, cx: &mut Cx<'_>, rect: egui::Rect) {
    let width = (rect.width() * 0.22).clamp(120.0, 240.0);
    let size = egui::vec2(width, width / crate::tiles::ASPECT);
    let callers = cx.state.status.guests.iter().filter(|g| in_call(g));
    for (i, guest) in callers.take(4).enumerate() {
        let top = rect.top() + 12.0 + i as f32 * (size.y + 8.0);
        let place = egui::Rect::from_min_size(egui::pos2(rect.right() - 12.0 - size.x, top), size);
        tile(ui, cx, guest, place);
    }
}

fn tile(ui: &mut egui::Ui, cx: &mut Cx<'_>, guest: &GuestStatus, place: egui::Rect) {
    let picture = cx.media.tiles.texture(ui.ctx(), guest);
    let speaking = guest.speaking.then(|| cx.t(Key::Speaking));
    crate::tiles::draw(ui, place, &guest.name, picture.as_ref(), speaking);
}

/// A full-width coloured strip with one line of white text.
fn banner(ui: &mut egui::Ui, fill: Color32, text: &str) {
    egui::Frame::new()
        .fill(fill)
        .inner_margin(space::GAP)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(text).size(size::BUTTON).color(Color32::WHITE));
        });
}

/// Drawn over the picture: the tally at the top, chat bubbles at the bottom, reactions
/// floating up.
fn over_picture(ui: &mut egui::Ui, cx: &Cx<'_>, rect: egui::Rect) {
    let state: &LinkState = cx.state;
    let status = &state.status;
    let inner = rect.shrink(space::LARGE_GAP);
    // Children not allocated in the parent: drawing over the picture moves nothing.
    let down = egui::Layout::top_down(egui::Align::Min);
    let mut top = ui.new_child(egui::UiBuilder::new().max_rect(inner).layout(down));
    {
        let ui = &mut top;
        if let Some(compare) = &status.compare {
            egui::Frame::new()
                .fill(Color32::from_black_alpha(170))
                .corner_radius(space::ROUNDING)
                .inner_margin(10.0)
                .show(ui, |ui| {
                    for v in &compare.votes {
                        let n = v.look.to_string();
                        let line = if v.votes == 1 {
                            fill(cx.t(Key::VotesOne), &[("n", &n)])
                        } else {
                            let votes = v.votes.to_string();
                            fill(cx.t(Key::VotesMany), &[("n", &n), ("votes", &votes)])
                        };
                        ui.label(
                            RichText::new(line)
                                .size(size::HEADING)
                                .color(Color32::WHITE),
                        );
                    }
                });
        }
    }
    let chat: Vec<_> = status.chat.iter().rev().take(BUBBLES).rev().collect();
    if !chat.is_empty() {
        let height = 52.0 * chat.len() as f32;
        let bottom =
            egui::Rect::from_min_max(egui::pos2(inner.left(), inner.bottom() - height), inner.max);
        let mut bubbles = ui.new_child(egui::UiBuilder::new().max_rect(bottom).layout(down));
        {
            let ui = &mut bubbles;
            for line in chat {
                egui::Frame::new()
                    .fill(Color32::from_white_alpha(230))
                    .corner_radius(16.0)
                    .inner_margin(egui::Margin::symmetric(14, 8))
                    .show(ui, |ui| {
                        let text = fill(
                            cx.t(Key::ChatLine),
                            &[("name", &line.name), ("text", &line.text)],
                        );
                        ui.add(
                            egui::Label::new(
                                RichText::new(text).size(size::BODY).color(Color32::BLACK),
                            )
                            .wrap(),
                        );
                    });
            }
        }
    }
    let painter = ui.painter_at(rect);
    for (i, (at, reaction)) in state.reactions.iter().enumerate() {
        let t = at.elapsed().as_secs_f32() / link::REACTION_SHOWN.as_secs_f32();
        if t >= 1.0 {
            continue;
        }
        let x = rect.right() - 60.0 - (i % 4) as f32 * 50.0;
        let y = rect.bottom() - 40.0 - t * rect.height() * 0.7;
        // Words, not emoji: the kiosk's fonts have no emoji, and words read at a glance.
        let word = cx.t(match reaction {
            Reaction::Heart => Key::ReactHeart,
            Reaction::ThumbsUp => Key::ReactThumbsUp,
            Reaction::Fire => Key::ReactFire,
            Reaction::Laugh => Key::ReactLaugh,
            Reaction::Wow => Key::ReactWow,
            Reaction::Clap => Key::ReactClap,
        });
        let fade = 1.0 - t;
        let galley = painter.layout_no_wrap(
            word.to_owned(),
            egui::FontId::proportional(size::REACTION),
            Color32::WHITE.gamma_multiply(fade),
        );
        let at = egui::pos2(x - galley.size().x, y);
        painter.rect_filled(
            egui::Rect::from_min_size(at, galley.size()).expand(8.0),
            16.0,
            colour::REACTION.gamma_multiply(fade),
        );
        painter.galley(at, galley, Color32::WHITE);
    }
    let floating = |(at, _): &(Instant, Reaction)| at.elapsed() < link::REACTION_SHOWN;
    if state.reactions.iter().any(floating) {
        ui.ctx().request_repaint();
    }
}
