//! The live screen: the picture is the screen. The camera's picture (the mirror, in a
//! fitting room) or, at a table in a call, the grid of everyone fills it, cropped to fill;
//! over it float the logo (a long press opens the staff screen), the "● LIVE" pill while
//! anyone can see the camera, the language switch, notices, friends' tiles, the vote's
//! tally, the [`super::feed`] of chat and reactions (set where it hides no face), the
//! invite card and the [`super::bar`] of controls. Moments that need an answer
//! (a knock, "End and erase everything?") dim the picture: [`super::moments`].

use super::widgets::{self, Tone};
use super::{Cx, Next, Screen};
use crate::i18n::{Key, fill};
use crate::link::LinkState;
use crate::theme::{self, colour, icon, size, space};
use egui::{Color32, Rect, RichText};
use std::time::{Duration, Instant};
use visavis_api::Mode;
use visavis_api::local::{GuestState, GuestStatus, Request};

/// How long a notice ("everything was erased", "a waiter has been called") stays.
pub const NOTICE_SHOWN: Duration = Duration::from_secs(10);
/// The bar fades after this long untouched in a call; a touch brings it back.
pub const BAR_SHOWN: Duration = Duration::from_secs(6);
/// Holding the logo this long opens the staff screen.
pub const LONG_PRESS: f64 = 1.5;
/// From this width on, the bar's band between the volume and End holds the feed.
const FEED_IN_BAND: f32 = 440.0;
/// The feed's lane along the right edge of a small landscape table.
const FEED_LANE: f32 = 240.0;
/// Cells a table's grid shows at once (the table's own picture is one of them).
const MAX_CELLS: usize = 9;
/// "Save look" counts down this many seconds, so the still does not catch the arm
/// reaching for the screen.
pub const COUNTDOWN: f64 = 3.0;
/// How long the screen flashes when the still is taken.
const FLASH: f64 = 0.4;
/// Height of the strip along the top (logo, LIVE, language).
pub const TOP: f32 = 76.0;

pub fn in_call(guest: &GuestStatus) -> bool {
    guest.state == GuestState::InCall
}

/// The live screen's own state.
pub struct Live {
    /// Looks picked for "which one?", in the order tapped.
    pub picked: Vec<u32>,
    pub waiter_called: Option<Instant>,
    /// The last touch: the bar shows until [`BAR_SHOWN`] after it.
    pub touched: Instant,
    /// "End and erase everything?" is asked.
    pub confirm_end: bool,
    /// The invite card is open during a call.
    pub invite_open: bool,
    /// "Save look" was tapped at this time of the screen (egui's clock): the count to the
    /// still runs.
    pub saving: Option<f64>,
    /// The still was taken at this time: the screen flashes.
    flash: Option<f64>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            picked: Vec::new(),
            waiter_called: None,
            touched: Instant::now(),
            confirm_end: false,
            invite_open: false,
            saving: None,
            flash: None,
        }
    }
}

impl Screen for Live {
    fn show(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) -> Next {
        let mut next = Next::Stay;
        let pressed = ui.input(|i| i.pointer.any_pressed() || i.any_touches());
        let state = cx.state;
        let status = &state.status;
        if !status.session_active {
            self.confirm_end = false;
            self.invite_open = false;
        }
        let calling = status.guests.iter().any(in_call);
        // The bar shows while nobody is in the call yet, or for a while after a touch. A
        // touch on a faded bar only brings it back.
        let bar_was_shown = !calling || self.touched.elapsed() < BAR_SHOWN;
        if pressed {
            self.touched = Instant::now();
        }
        egui::CentralPanel::default()
            .frame(egui::Frame::new().fill(colour::BG))
            .show(ui, |ui| {
                let screen = ui.max_rect();
                let portrait = screen.height() > screen.width();
                let knock = status
                    .guests
                    .iter()
                    .find(|g| g.state == GuestState::Waiting);
                let moment = knock.is_some() || self.confirm_end;
                let bar_shown = bar_was_shown && !moment;
                // What the bar and the looks take at the bottom, worked out first so the
                // grid and the cards stay above it.
                let bar_top = if bar_shown {
                    super::bar::top(ui, cx, screen)
                } else {
                    screen.bottom()
                };
                let table_grid = state.mode == Mode::Table && calling;
                // Where chat and reactions go: never over a face.
                let feed;
                if table_grid {
                    let (grid_area, feed_area) = self.table_layout(ui, cx, screen, portrait);
                    grid(ui, cx, grid_area);
                    feed = feed_area;
                } else {
                    feed = self.room_feed(ui, cx, screen, bar_top, bar_shown, portrait);
                    // The camera's card keeps clear of the feed and of friends' tiles while
                    // they are there.
                    let room = if calling {
                        Rect::from_min_max(
                            egui::pos2(screen.left(), screen.top() + TOP),
                            egui::pos2(
                                screen.right() - side_tiles_width(screen, portrait) - space::EDGE,
                                feed.top().min(bar_top),
                            ),
                        )
                    } else {
                        Rect::from_min_max(
                            egui::pos2(screen.left(), screen.top() + TOP),
                            egui::pos2(screen.right(), bar_top),
                        )
                    };
                    picture(ui, cx, screen, room, state.mode == Mode::FittingRoom);
                    if calling {
                        side_tiles(ui, cx, screen, bar_top, portrait);
                    }
                }
                tally(ui, cx, screen, bar_top);
                if let Some(n) = self.top_strip(ui, cx, screen) {
                    next = n;
                }
                let feed = if table_grid {
                    // At a table the notices open the feed, so nothing covers the grid.
                    let below = notices(ui, cx, self, feed);
                    Rect::from_min_max(egui::pos2(feed.left(), below), feed.max)
                } else {
                    let area = Rect::from_min_max(
                        egui::pos2(
                            screen.left() + space::EDGE,
                            screen.top() + TOP + space::SMALL_GAP,
                        ),
                        egui::pos2(screen.right() - space::EDGE, screen.bottom()),
                    );
                    notices(ui, cx, self, area);
                    feed
                };
                let invite_shown = status.invite_url.is_some() && (!calling || self.invite_open);
                if invite_shown && !moment {
                    super::invite::card(ui, cx, screen, bar_top, portrait, calling);
                }
                if !status.session_active {
                    home(ui, cx, screen);
                } else if bar_shown {
                    self.bar(ui, cx, screen, bar_top);
                }
                // Over the bar's band and the looks' backdrop, never under them.
                if status.session_active && !moment {
                    super::feed::show(ui, cx, feed);
                }
                self.countdown(ui, cx, screen);
                if let Some(guest) = knock {
                    super::moments::knock(ui, cx, guest);
                } else if self.confirm_end {
                    self.confirm_end = super::moments::confirm_end(ui, cx);
                }
            });
        if calling {
            ui.ctx().request_repaint_after(BAR_SHOWN);
        }
        next
    }
}

impl Live {
    /// A table in a call: the grid and the feed. The bar's band stays set aside while the
    /// bar fades, so the grid never jumps. Each screen has its own layout:
    /// - wide (1920x1080): the grid over the whole width, the feed in the bar's band
    ///   between the volume and End;
    /// - portrait (1080x1920): the grid over the whole width, the feed in a band of its own
    ///   above the bar;
    /// - a small landscape panel (1280x800), where the band leaves too little room: the
    ///   feed in a lane along the right edge, the grid filling the rest.
    fn table_layout(
        &self,
        ui: &egui::Ui,
        cx: &Cx<'_>,
        screen: Rect,
        portrait: bool,
    ) -> (Rect, Rect) {
        let band_top = screen.bottom() - super::bar::bar_height(ui);
        let (span_l, span_r) = self.bar_free_span(ui, cx, screen);
        let top = screen.top() + TOP + space::SMALL_GAP;
        let (left, right) = (screen.left() + space::EDGE, screen.right() - space::EDGE);
        let grid_bottom = band_top - space::SMALL_GAP;
        if span_r - span_l >= FEED_IN_BAND {
            (
                Rect::from_min_max(egui::pos2(left, top), egui::pos2(right, grid_bottom)),
                Rect::from_min_max(
                    egui::pos2(span_l, band_top + space::SMALL_GAP),
                    egui::pos2(span_r, screen.bottom() - space::SMALL_GAP),
                ),
            )
        } else if portrait {
            let feed_top = grid_bottom - super::feed::band_height(right - left);
            (
                Rect::from_min_max(
                    egui::pos2(left, top),
                    egui::pos2(right, feed_top - space::GAP),
                ),
                Rect::from_min_max(egui::pos2(left, feed_top), egui::pos2(right, grid_bottom)),
            )
        } else {
            let lane = right - FEED_LANE;
            (
                Rect::from_min_max(
                    egui::pos2(left, top),
                    egui::pos2(lane - space::GAP, grid_bottom),
                ),
                Rect::from_min_max(egui::pos2(lane, top), egui::pos2(right, grid_bottom)),
            )
        }
    }

    /// The feed over the mirror: beside the looks in landscape (the room above them is
    /// the vote's), else above the bar and left of friends' tiles.
    fn room_feed(
        &self,
        ui: &egui::Ui,
        cx: &Cx<'_>,
        screen: Rect,
        bar_top: f32,
        bar_shown: bool,
        portrait: bool,
    ) -> Rect {
        let looks_h = if bar_shown {
            super::bar::looks_height(cx)
        } else {
            0.0
        };
        if looks_h > 0.0 && !portrait {
            let left = super::bar::looks_right(cx, screen) + space::GAP;
            return Rect::from_min_max(
                egui::pos2(left, bar_top + space::GAP),
                egui::pos2(screen.right() - space::EDGE, bar_top + looks_h - space::GAP),
            );
        }
        let _ = ui;
        let tiles = if cx.state.status.guests.iter().any(in_call) {
            side_tiles_width(screen, portrait) + space::EDGE
        } else {
            0.0
        };
        Rect::from_min_max(
            egui::pos2(
                screen.left() + space::EDGE,
                bar_top - space::GAP - super::feed::COMFORTABLE_H,
            ),
            egui::pos2(screen.right() - space::EDGE - tiles, bar_top - space::GAP),
        )
    }

    /// "Save look": 3, 2, 1 in the middle of the mirror, then the still and a flash.
    fn countdown(&mut self, ui: &mut egui::Ui, cx: &Cx<'_>, screen: Rect) {
        let now = ui.input(|i| i.time);
        if let Some(start) = self.saving {
            let left = COUNTDOWN - (now - start);
            if left <= 0.0 || !cx.state.status.session_active {
                if cx.state.status.session_active {
                    cx.send(Request::SaveLook);
                    self.flash = Some(now);
                }
                self.saving = None;
            } else {
                let n = (left.ceil() as u32).to_string();
                let area = widgets::centred(screen, egui::vec2(320.0, 320.0));
                ui.painter()
                    .circle_filled(area.center(), 150.0, colour::SCRIM);
                let mut child = ui.new_child(egui::UiBuilder::new().max_rect(area).layout(
                    egui::Layout::centered_and_justified(egui::Direction::TopDown),
                ));
                child.label(
                    RichText::new(n)
                        .font(theme::bold(size::DISPLAY * 3.0))
                        .color(colour::TEXT),
                );
                ui.ctx().request_repaint();
            }
        }
        if let Some(at) = self.flash {
            let t = (now - at) / FLASH;
            if t >= 1.0 {
                self.flash = None;
            } else {
                let alpha = (220.0 * (1.0 - t)) as u8;
                ui.painter()
                    .rect_filled(screen, 0.0, Color32::from_white_alpha(alpha));
                ui.ctx().request_repaint();
            }
        }
    }

    /// The logo (a long press opens the staff screen), the LIVE pill, the language.
    fn top_strip(&mut self, ui: &mut egui::Ui, cx: &Cx<'_>, screen: Rect) -> Option<Next> {
        let mut next = None;
        let strip = Rect::from_min_size(
            screen.min + egui::vec2(space::EDGE, space::EDGE / 2.0),
            egui::vec2(screen.width() - 2.0 * space::EDGE, TOP - space::EDGE / 2.0),
        );
        let mut left = ui.new_child(
            egui::UiBuilder::new()
                .max_rect(strip)
                .layout(egui::Layout::left_to_right(egui::Align::Center)),
        );
        let logo = left.add(
            egui::Label::new(
                RichText::new("Visavis")
                    .font(theme::bold(size::TITLE))
                    .color(colour::TEXT),
            )
            .sense(egui::Sense::click())
            .selectable(false),
        );
        // Held: the press began on the logo and the finger is still down (egui stops
        // calling a press a click after a moment, so the pointer itself is asked).
        let held = ui.input(|i| {
            let on_logo = i
                .pointer
                .press_origin()
                .is_some_and(|p| logo.rect.contains(p));
            let since = i.pointer.press_start_time().map(|t| i.time - t);
            (on_logo && i.pointer.primary_down())
                .then_some(since)
                .flatten()
        });
        if let Some(held) = held {
            if held >= LONG_PRESS {
                next = Some(Next::Staff);
            }
            ui.ctx().request_repaint();
        }
        let status = &cx.state.status;
        let watching = status.guests.iter().filter(|g| in_call(g)).count();
        if watching > 0 && !status.privacy && !status.camera_paused {
            left.add_space(space::GAP);
            let text = if watching == 1 {
                cx.t(Key::LiveOne).to_owned()
            } else {
                fill(cx.t(Key::LiveMany), &[("n", &watching.to_string())])
            };
            widgets::chip(
                &mut left,
                colour::DESTRUCTIVE,
                colour::ON_DESTRUCTIVE,
                &text,
            );
        }
        let mut right = ui.new_child(
            egui::UiBuilder::new()
                .max_rect(strip)
                .layout(egui::Layout::right_to_left(egui::Align::Center)),
        );
        // The language switch: the other language, named in itself.
        let other = cx.lang.other();
        let switch = widgets::pill(
            &mut right,
            Some(icon::TRANSLATE),
            other.name(),
            Tone::Secondary,
            true,
            0.0,
        );
        if switch.clicked() {
            next = Some(Next::Lang(other));
        }
        next
    }
}

/// Home: the one thing to do, large, at the bottom of the picture.
fn home(ui: &mut egui::Ui, cx: &Cx<'_>, screen: Rect) {
    let state = cx.state;
    if state.status.invite_url.is_some() {
        return;
    }
    let label = cx.t(match state.mode {
        Mode::Table => Key::ShareThisDinner,
        Mode::FittingRoom => Key::AskMyFriends,
    });
    let area = Rect::from_min_max(
        egui::pos2(
            screen.left(),
            screen.bottom() - space::PILL - 3.0 * space::EDGE,
        ),
        screen.max,
    );
    let mut child = ui.new_child(
        egui::UiBuilder::new()
            .max_rect(area)
            .layout(egui::Layout::top_down(egui::Align::Center)),
    );
    let ask = widgets::pill(
        &mut child,
        Some(icon::PERSON_ADD),
        label,
        Tone::Primary,
        state.connected,
        320.0,
    );
    if ask.clicked() {
        cx.send(Request::CreateInvite);
    }
}

/// The texture's part that fills `area` without stretching (cropped to fill), flipped for
/// a mirror.
pub fn cover_uv(texture: [usize; 2], area: egui::Vec2, flip: bool) -> Rect {
    let (tw, th) = (texture[0].max(1) as f32, texture[1].max(1) as f32);
    let scale = (area.x / tw).max(area.y / th);
    let (u, v) = (area.x / (tw * scale), area.y / (th * scale));
    let (u0, u1) = ((1.0 - u) / 2.0, (1.0 + u) / 2.0);
    let (v0, v1) = ((1.0 - v) / 2.0, (1.0 + v) / 2.0);
    if flip {
        Rect::from_min_max(egui::pos2(u1, v0), egui::pos2(u0, v1))
    } else {
        Rect::from_min_max(egui::pos2(u0, v0), egui::pos2(u1, v1))
    }
}

/// The camera's picture over the whole screen; a calm card instead while the camera is
/// off or paused (never a frozen frame), in the middle of `free`.
fn picture(ui: &mut egui::Ui, cx: &mut Cx<'_>, screen: Rect, free: Rect, flip: bool) {
    let status = &cx.state.status;
    if status.privacy || status.camera_paused {
        let (title, line, glyph) = if status.privacy {
            (Key::PrivacyTitle, Key::PrivacyOn, icon::LOCK)
        } else {
            (Key::CameraPausedCard, Key::CameraPaused, icon::VIDEOCAM_OFF)
        };
        // In the middle of what the bar, the looks, the feed and friends' tiles leave free.
        let width = (free.width() - 2.0 * space::EDGE).min(560.0);
        // Where the looks leave little room (a landscape fitting room), the card is
        // compact: no icon, a smaller title, tighter margins.
        let roomy = free.height() >= 240.0;
        let margin = if roomy {
            space::CARD_MARGIN
        } else {
            space::GAP
        };
        let area = widgets::centred(free, egui::vec2(width, free.height().min(240.0)));
        let mut child = ui.new_child(egui::UiBuilder::new().max_rect(area).layout(
            egui::Layout::centered_and_justified(egui::Direction::TopDown),
        ));
        widgets::card().inner_margin(margin).show(&mut child, |ui| {
            ui.set_width(width - 2.0 * margin);
            ui.vertical_centered(|ui| {
                if roomy {
                    ui.label(
                        RichText::new(glyph)
                            .font(theme::icon_font(56.0))
                            .color(colour::MUTED),
                    );
                }
                let title_size = if roomy { size::TITLE } else { size::BODY };
                ui.label(
                    RichText::new(cx.t(title))
                        .font(theme::bold(title_size))
                        .color(colour::TEXT),
                );
                ui.add(egui::Label::new(widgets::words(cx.t(line), colour::MUTED)).wrap());
            });
        });
        return;
    }
    match cx.media.preview(ui.ctx()) {
        Some(tex) => {
            let uv = cover_uv(tex.size(), screen.size(), flip);
            ui.painter().image(tex.id(), screen, uv, Color32::WHITE);
        }
        None => {
            ui.painter().text(
                screen.center(),
                egui::Align2::CENTER_CENTER,
                cx.t(Key::CameraStarting),
                egui::FontId::proportional(size::BODY),
                colour::MUTED,
            );
        }
    }
}

/// A table in a call: everyone in one grid across the whole width, the table's own picture
/// and guests still connecting as cells of it.
fn grid(ui: &mut egui::Ui, cx: &mut Cx<'_>, area: Rect) {
    let guests: Vec<&GuestStatus> = cx
        .state
        .status
        .guests
        .iter()
        .filter(|g| g.state != GuestState::Waiting)
        .take(MAX_CELLS - 1)
        .collect();
    let places = crate::tiles::grid(guests.len() + 1, area, crate::tiles::ASPECT, space::GAP);
    if let Some(cell) = places.first().filter(|_| !guests.is_empty()) {
        cx.tell_tile_width(ui.ctx(), crate::tiles::picture_width(cell.size()));
    }
    let mut places = places.into_iter();
    for guest in guests {
        let Some(place) = places.next() else { break };
        tile(ui, cx, guest, place);
    }
    if let Some(place) = places.next() {
        let status = &cx.state.status;
        if status.privacy || status.camera_paused {
            // The camera is cut: the cell says so, never a frozen frame.
            let why = cx.t(if status.privacy {
                Key::PrivacyTitle
            } else {
                Key::BarCameraOff
            });
            let name = format!("{} · {why}", cx.t(Key::You));
            crate::tiles::draw(ui, place, &name, None, None);
        } else {
            let you = cx.media.preview(ui.ctx());
            crate::tiles::draw(ui, place, cx.t(Key::You), you.as_ref(), None);
        }
    }
}

/// The fitting room in a call: friends' tiles down the right edge, large enough to know a
/// face from arm's length.
fn side_tiles(ui: &mut egui::Ui, cx: &mut Cx<'_>, screen: Rect, bottom: f32, portrait: bool) {
    let width = side_tiles_width(screen, portrait);
    let size = egui::vec2(width, width / crate::tiles::ASPECT);
    let guests: Vec<&GuestStatus> = cx
        .state
        .status
        .guests
        .iter()
        .filter(|g| in_call(g))
        .collect();
    if !guests.is_empty() {
        cx.tell_tile_width(ui.ctx(), crate::tiles::picture_width(size));
    }
    let mut top = screen.top() + TOP + space::GAP;
    for guest in guests {
        if top + size.y > bottom - space::GAP {
            break;
        }
        let place =
            Rect::from_min_size(egui::pos2(screen.right() - space::EDGE - size.x, top), size);
        tile(ui, cx, guest, place);
        top += size.y + space::SMALL_GAP;
    }
}

/// The width of friends' tiles down the right edge.
fn side_tiles_width(screen: Rect, portrait: bool) -> f32 {
    if portrait {
        (screen.width() * 0.3).clamp(160.0, 320.0)
    } else {
        (screen.width() * 0.24).clamp(160.0, 320.0)
    }
}

fn tile(ui: &mut egui::Ui, cx: &mut Cx<'_>, guest: &GuestStatus, place: Rect) {
    let picture = cx.media.tiles.texture(ui.ctx(), guest);
    let speaking = guest.speaking.then(|| cx.t(Key::Speaking));
    let name = if guest.state == GuestState::Connecting {
        fill(cx.t(Key::Connecting), &[("name", &guest.name)])
    } else {
        guest.name.clone()
    };
    crate::tiles::draw(ui, place, &name, picture.as_ref(), speaking);
}

/// Notices at the top of `area`: the link is down, the session was erased, a waiter was
/// called, a request was refused, the unit needs staff. Returns where they end.
fn notices(ui: &mut egui::Ui, cx: &Cx<'_>, live: &Live, area: Rect) -> f32 {
    let state: &LinkState = cx.state;
    let mut ui = ui.new_child(
        egui::UiBuilder::new()
            .max_rect(area)
            .layout(egui::Layout::top_down(egui::Align::Center)),
    );
    let ui = &mut ui;
    if !state.connected {
        widgets::chip(
            ui,
            colour::SURFACE,
            colour::WARNING,
            cx.t(Key::Reconnecting),
        );
    }
    let erased = state.ended_at.is_some_and(|at| at.elapsed() < NOTICE_SHOWN);
    if erased && !state.status.session_active {
        widgets::chip(ui, colour::OK, colour::ON_OK, cx.t(Key::Erased));
    }
    if live
        .waiter_called
        .is_some_and(|at| at.elapsed() < NOTICE_SHOWN)
    {
        widgets::chip(ui, colour::SURFACE, colour::TEXT, cx.t(Key::WaiterCalled));
    }
    if let Some(e) = &state.last_error {
        widgets::chip(ui, colour::SURFACE, colour::WARNING, e);
    }
    if !state.status.problems.is_empty() {
        widgets::chip(ui, colour::SURFACE, colour::WARNING, cx.t(Key::NeedsStaff));
    }
    if ui.min_rect().height() > 0.0 {
        ui.min_rect().bottom() + space::SMALL_GAP
    } else {
        area.top()
    }
}

/// The vote's tally at the top left: the two stills side by side with their counts, the
/// leader outlined.
fn tally(ui: &mut egui::Ui, cx: &mut Cx<'_>, screen: Rect, bar_top: f32) {
    let state: &LinkState = cx.state;
    let status = &state.status;
    let down = egui::Layout::top_down(egui::Align::Min);
    if let Some(compare) = &status.compare {
        // Where the looks leave little room above them (a landscape fitting room), each
        // count stands beside its still, and the stills take the whole height.
        let room = bar_top - space::GAP - (screen.top() + TOP + space::GAP);
        let short = room < 180.0;
        let right = if short {
            screen.right() - space::EDGE
        } else {
            screen.center().x
        };
        let area = Rect::from_min_max(
            egui::pos2(screen.left() + space::EDGE, screen.top() + TOP + space::GAP),
            egui::pos2(right, bar_top - space::GAP),
        );
        // The stills as tall as the room allows (with a caption under them, or beside).
        let caption = if short { 0.0 } else { 64.0 };
        let still_h = (area.height() - 2.0 * space::GAP - caption - 4.0).clamp(48.0, 128.0);
        let still = egui::vec2(still_h * 0.75, still_h);
        let mut top = ui.new_child(egui::UiBuilder::new().max_rect(area).layout(down));
        let leader = compare.votes.iter().map(|v| v.votes).max().unwrap_or(0);
        egui::Frame::new()
            .fill(colour::SCRIM)
            .corner_radius(space::ROUNDING)
            .inner_margin(space::GAP)
            .show(&mut top, |ui| {
                ui.horizontal(|ui| {
                    for v in &compare.votes {
                        let n = v.look.to_string();
                        let line = if v.votes == 1 {
                            fill(cx.t(Key::VotesOne), &[("n", &n)])
                        } else {
                            let votes = v.votes.to_string();
                            fill(cx.t(Key::VotesMany), &[("n", &n), ("votes", &votes)])
                        };
                        let layout = if short {
                            egui::Layout::left_to_right(egui::Align::Center)
                        } else {
                            egui::Layout::top_down(egui::Align::Min)
                        };
                        ui.with_layout(layout, |ui| {
                            if let Some(tex) = cx.media.look(ui.ctx(), v.look, state) {
                                let r =
                                    ui.add(egui::Image::new(&tex).fit_to_exact_size(still)).rect;
                                if v.votes == leader && leader > 0 {
                                    ui.painter().rect_stroke(
                                        r,
                                        4.0,
                                        (4.0, colour::PRIMARY),
                                        egui::StrokeKind::Outside,
                                    );
                                }
                            }
                            ui.label(widgets::words(line, colour::TEXT));
                        });
                        ui.add_space(space::GAP);
                    }
                });
            });
    }
}
