//! The call's bar, floating over the bottom of the picture: large round icon buttons with
//! short captions (mic, camera, save look or waiter, invite, volume), End apart and red.
//! Muted and paused say so in words and colour ("Mic off", red, a slashed icon). In a
//! fitting room with saved looks, the looks and their vote sit just above it.

use super::Cx;
use super::live::Live;
use super::widgets::{self, Tone};
use crate::i18n::{Key, fill};
use crate::theme::{self, colour, icon, size, space};
use egui::{Rect, RichText};
use std::time::Instant;
use visavis_api::Mode;
use visavis_api::local::{MAX_LOOKS, Request};

/// A look's button: the still and its number.
const LOOK: egui::Vec2 = egui::vec2(84.0, 84.0);

/// The volume buttons' diameter.
const VOLUME_D: f32 = 48.0;

/// The width a round item needs for `caption` on at most two lines.
fn item_width(ui: &egui::Ui, caption: &str) -> f32 {
    let width = |t: &str| {
        ui.painter()
            .layout_no_wrap(t.to_owned(), theme::bold(size::BODY), colour::TEXT)
            .size()
            .x
    };
    let word = caption.split(' ').map(width).fold(0.0, f32::max);
    // Two lines: at least half the caption (and a word's slack).
    let half = if caption.contains(' ') {
        width(caption) / 2.0 + 24.0
    } else {
        0.0
    };
    word.max(half).max(space::ROUND) + 16.0
}

/// The bar's height (captions may take two lines).
pub fn bar_height(ui: &egui::Ui) -> f32 {
    widgets::round_height(ui, "Ag\nAg", space::ROUND_ITEM) + 2.0 * space::GAP
}

/// The looks' height, when they show.
pub fn looks_height(cx: &Cx<'_>) -> f32 {
    let s = &cx.state.status;
    if cx.state.mode == Mode::FittingRoom && !s.looks.is_empty() {
        LOOK.y + 28.0 + space::PILL + 2.0 * space::GAP
    } else {
        0.0
    }
}

/// The right end of the looks' row (the stills, or the vote's button above them, which
/// is at most [`LOOKS_BUTTON_W`] wide).
pub fn looks_right(cx: &Cx<'_>, screen: Rect) -> f32 {
    let n = cx.state.status.looks.len() as f32;
    let stills = n * (LOOK.x + space::SMALL_GAP);
    screen.left() + space::EDGE + stills.max(LOOKS_BUTTON_W)
}

/// The widest the vote's button over the looks gets ("Close the vote", "Ask which one").
pub const LOOKS_BUTTON_W: f32 = 280.0;

/// Where the bar (and the looks over it) begin.
pub fn top(ui: &egui::Ui, cx: &Cx<'_>, screen: Rect) -> f32 {
    if !cx.state.status.session_active {
        return screen.bottom() - space::PILL - 3.0 * space::EDGE;
    }
    screen.bottom() - bar_height(ui) - looks_height(cx)
}

impl Live {
    /// The bar's round items left of End, in order: (icon, caption, tone, enabled).
    fn items(&self, cx: &Cx<'_>) -> Vec<(&'static str, &'static str, Tone, bool)> {
        let state = cx.state;
        let status = &state.status;
        let mut items = vec![
            if status.mic_muted {
                (icon::MIC_OFF, cx.t(Key::BarMicOff), Tone::Destructive, true)
            } else {
                (icon::MIC, cx.t(Key::BarMic), Tone::Secondary, true)
            },
            if status.camera_paused {
                (
                    icon::VIDEOCAM_OFF,
                    cx.t(Key::BarCameraOff),
                    Tone::Destructive,
                    !status.privacy,
                )
            } else {
                (
                    icon::VIDEOCAM,
                    cx.t(Key::BarCamera),
                    Tone::Secondary,
                    !status.privacy,
                )
            },
        ];
        match state.mode {
            Mode::FittingRoom => {
                // A paused camera has no picture to keep (applianced blanks it).
                let can_save = !status.privacy
                    && !status.camera_paused
                    && status.looks.len() < MAX_LOOKS
                    && state.connected
                    && self.saving.is_none();
                items.push((
                    icon::PHOTO_CAMERA,
                    cx.t(Key::BarSave),
                    Tone::Secondary,
                    can_save,
                ));
            }
            Mode::Table => items.push((
                icon::ROOM_SERVICE,
                cx.t(Key::BarWaiter),
                Tone::Secondary,
                state.connected,
            )),
        }
        items.push((
            icon::PERSON_ADD,
            cx.t(Key::BarInvite),
            Tone::Secondary,
            state.connected,
        ));
        items
    }

    /// The widths of the items, the volume and End, as [`Live::bar`] lays them out.
    fn widths(&self, ui: &egui::Ui, cx: &Cx<'_>) -> (Vec<f32>, f32, f32) {
        let volume_line = fill(
            cx.t(Key::Volume),
            &[("n", &cx.state.status.volume.to_string())],
        );
        let widths = self
            .items(cx)
            .iter()
            .map(|(_, c, _, _)| item_width(ui, c))
            .collect();
        // The level on one line ("Volume 70 %" never leaves its "%" behind).
        let volume_w = ui
            .painter()
            .layout_no_wrap(volume_line, theme::bold(size::BODY), colour::TEXT)
            .size()
            .x
            .max(2.0 * VOLUME_D + space::SMALL_GAP)
            + 8.0;
        (widths, volume_w, item_width(ui, cx.t(Key::End)))
    }

    /// What the bar leaves free between its items (the volume last) and End, from left to
    /// right: the call's feed may sit there.
    pub fn bar_free_span(&self, ui: &egui::Ui, cx: &Cx<'_>, screen: Rect) -> (f32, f32) {
        let (widths, volume_w, end_w) = self.widths(ui, cx);
        let left = screen.left()
            + space::EDGE
            + widths.iter().map(|w| w + space::SMALL_GAP).sum::<f32>()
            + volume_w
            + space::GAP;
        let right = screen.right() - space::EDGE - end_w - space::GAP;
        (left, right.max(left))
    }

    pub(super) fn bar(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, screen: Rect, top: f32) {
        let state = cx.state;
        let status = &state.status;
        let height = bar_height(ui);
        let bar = Rect::from_min_max(
            egui::pos2(screen.left(), screen.bottom() - height),
            screen.max,
        );
        ui.painter().rect_filled(bar, 0.0, colour::SCRIM);
        if looks_height(cx) > 0.0 {
            // Only as wide as the looks: the rest of the row stays the mirror (the feed's
            // bubbles beside it carry their own backgrounds).
            let right = (looks_right(cx, screen) + space::EDGE).min(screen.right());
            let area =
                Rect::from_min_max(egui::pos2(screen.left(), top), egui::pos2(right, bar.top()));
            self.looks(ui, cx, area);
        }
        let items = self.items(cx);
        // Each item as wide as its caption needs (its longest word, or half the caption
        // on two lines), at least the circle; volume is two smaller buttons under one
        // caption; End stands apart at the right.
        let volume_line = fill(cx.t(Key::Volume), &[("n", &status.volume.to_string())]);
        let (widths, volume_w, end_w) = self.widths(ui, cx);
        let mut x = screen.left() + space::EDGE;
        let y = bar.top() + space::GAP;
        let h = height - 2.0 * space::GAP;
        for (i, ((glyph, caption, tone, enabled), w)) in items.into_iter().zip(widths).enumerate() {
            let rect = Rect::from_min_size(egui::pos2(x, y), egui::vec2(w, h));
            if widgets::round(ui, rect, glyph, caption, tone, enabled).clicked() {
                self.touched = Instant::now();
                match i {
                    0 => cx.send(Request::SetMic {
                        muted: !status.mic_muted,
                    }),
                    1 => cx.send(Request::SetCamera {
                        paused: !status.camera_paused,
                    }),
                    2 if state.mode == Mode::FittingRoom => {
                        self.saving = Some(ui.input(|i| i.time));
                    }
                    2 => {
                        cx.send(Request::CallWaiter);
                        self.waiter_called = Some(Instant::now());
                    }
                    _ => {
                        if status.invite_url.is_some() {
                            self.invite_open = !self.invite_open;
                        } else {
                            cx.send(Request::CreateInvite);
                            self.invite_open = true;
                        }
                    }
                }
            }
            x += w + space::SMALL_GAP;
        }
        self.volume(
            ui,
            cx,
            Rect::from_min_size(egui::pos2(x, y), egui::vec2(volume_w, h)),
            &volume_line,
        );
        let w = end_w;
        let end = Rect::from_min_size(
            egui::pos2(screen.right() - space::EDGE - w, y),
            egui::vec2(w, h),
        );
        if widgets::round(
            ui,
            end,
            icon::CALL_END,
            cx.t(Key::End),
            Tone::Destructive,
            true,
        )
        .clicked()
        {
            self.confirm_end = true;
        }
    }

    /// The speaker's loudness in steps of ten: two buttons and the level under them.
    fn volume(&mut self, ui: &mut egui::Ui, cx: &Cx<'_>, rect: Rect, line: &str) {
        let volume = cx.state.status.volume;
        let d = VOLUME_D;
        let centre_y = rect.top() + space::ROUND / 2.0;
        let steps = [
            (
                rect.center().x - d / 2.0 - space::SMALL_GAP / 2.0,
                icon::VOLUME_DOWN,
                Key::Quieter,
                volume > 0,
            ),
            (
                rect.center().x + d / 2.0 + space::SMALL_GAP / 2.0,
                icon::VOLUME_UP,
                Key::Louder,
                volume < 100,
            ),
        ];
        for (cx_x, glyph, key, enabled) in steps {
            let r = Rect::from_center_size(egui::pos2(cx_x, centre_y), egui::vec2(d, d));
            let sense = if enabled {
                egui::Sense::click()
            } else {
                egui::Sense::hover()
            };
            let label = cx.t(key);
            let response = ui.interact(r, ui.scope_id().with(("volume", label)), sense);
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, enabled, label));
            let fade = if enabled { 1.0 } else { 0.4 };
            ui.painter().circle(
                r.center(),
                d / 2.0,
                colour::SECONDARY.gamma_multiply(fade),
                egui::Stroke::new(2.0, colour::MUTED.gamma_multiply(fade)),
            );
            ui.painter().text(
                r.center(),
                egui::Align2::CENTER_CENTER,
                glyph,
                theme::icon_font(size::ICON_SMALL),
                colour::TEXT.gamma_multiply(fade),
            );
            if response.clicked() {
                self.touched = Instant::now();
                let percent = if key == Key::Quieter {
                    volume.saturating_sub(10)
                } else {
                    volume.saturating_add(10).min(100)
                };
                cx.send(Request::SetVolume { percent });
            }
        }
        let at = Rect::from_min_max(
            egui::pos2(rect.left() - space::SMALL_GAP, rect.top() + space::ROUND),
            egui::pos2(rect.right() + space::SMALL_GAP, rect.bottom()),
        );
        let mut child = ui.new_child(
            egui::UiBuilder::new()
                .max_rect(at)
                .layout(egui::Layout::top_down(egui::Align::Center)),
        );
        child.add_space(space::SMALL_GAP / 2.0);
        child.add(
            egui::Label::new(
                RichText::new(line)
                    .font(theme::bold(size::BODY))
                    .color(colour::TEXT),
            )
            .extend(),
        );
    }

    /// Saved looks: the stills to pick two from, and "Ask which one" or "Close the vote".
    fn looks(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, area: Rect) {
        let state = cx.state;
        let status = &state.status;
        self.picked.retain(|id| status.looks.contains(id));
        cx.media.keep_looks(state);
        ui.painter().rect_filled(area, 0.0, colour::SCRIM);
        let mut child = ui.new_child(
            egui::UiBuilder::new()
                .max_rect(area.shrink2(egui::vec2(space::EDGE, space::GAP)))
                .layout(egui::Layout::top_down(egui::Align::Min)),
        );
        let ui = &mut child;
        ui.horizontal(|ui| {
            if status.compare.as_ref().is_some_and(|c| c.open) {
                if widgets::pill(ui, None, cx.t(Key::CloseVote), Tone::Secondary, true, 0.0)
                    .clicked()
                {
                    self.touched = Instant::now();
                    cx.send(Request::EndCompare);
                }
            } else if let [a, b] = self.picked[..] {
                if widgets::pill(ui, None, cx.t(Key::Compare), Tone::Primary, true, 0.0).clicked() {
                    self.touched = Instant::now();
                    cx.send(Request::Compare { looks: [a, b] });
                    self.picked.clear();
                }
            } else if status.looks.len() >= 2 {
                ui.add_sized(
                    [0.0, space::PILL],
                    egui::Label::new(widgets::words(cx.t(Key::PickTwo), colour::TEXT)),
                );
            } else {
                ui.add_space(space::PILL);
            }
        });
        ui.add_space(space::SMALL_GAP);
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = space::SMALL_GAP;
            for id in &status.looks {
                let label = fill(cx.t(Key::Look), &[("n", &id.to_string())]);
                let picked = self.picked.contains(id);
                let (rect, response) =
                    ui.allocate_exact_size(egui::vec2(LOOK.x, LOOK.y + 28.0), egui::Sense::click());
                response.widget_info(|| {
                    egui::WidgetInfo::selected(egui::Role::Button, true, picked, &label)
                });
                let still = Rect::from_min_size(rect.min, LOOK);
                if let Some(tex) = cx.media.look(ui.ctx(), *id, state) {
                    let uv = super::live::cover_uv(tex.size(), LOOK, false);
                    ui.painter()
                        .image(tex.id(), still, uv, egui::Color32::WHITE);
                }
                let stroke = if picked {
                    egui::Stroke::new(4.0, colour::PRIMARY)
                } else {
                    egui::Stroke::new(2.0, colour::MUTED)
                };
                ui.painter()
                    .rect_stroke(still, 8.0, stroke, egui::StrokeKind::Inside);
                ui.painter().text(
                    egui::pos2(rect.center().x, rect.bottom()),
                    egui::Align2::CENTER_BOTTOM,
                    &label,
                    theme::bold(size::BODY),
                    colour::TEXT,
                );
                if response.clicked() {
                    self.touched = Instant::now();
                    if picked {
                        self.picked.retain(|p| p != id);
                    } else {
                        self.picked.push(*id);
                        if self.picked.len() > 2 {
                            self.picked.remove(0);
                        }
                    }
                }
            }
        });
    }
}
