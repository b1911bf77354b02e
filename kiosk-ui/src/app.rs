//! The kiosk window: the live mirror (local preview) with reactions, the vote tally and
//! chat bubbles over it; guests' tiles (small on the mirror, a grid at a table); the invite
//! QR code; who is waiting to be let in; saved looks and "which one?" votes; volume; the
//! erasure notice when a session ends. State lives in
//! [`crate::link`] and [`crate::preview`]; this file only draws it and turns taps into
//! [`Request`]s. Every word comes from [`crate::i18n`].

use crate::i18n::{Key, Lang, fill, text};
use crate::link::{self, Shared};
use crate::preview::Feed;
use egui::{Color32, RichText, TextureHandle, TextureOptions};
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use visavis_api::Mode;
use visavis_api::datachannel::Reaction;
use visavis_api::local::{GuestState, MAX_LOOKS, Request};

/// Untouched this long with no session and nobody in front: the attract screen.
pub const ATTRACT_AFTER: Duration = Duration::from_secs(60);
/// How long a notice ("everything was erased", "a waiter has been called") stays.
const NOTICE_SHOWN: Duration = Duration::from_secs(10);
/// Chat bubbles over the mirror at once (the newest).
const BUBBLES: usize = 3;
/// Guests' tiles a table shows at once.
const MAX_TILES: usize = 8;

fn in_call(guest: &visavis_api::local::GuestStatus) -> bool {
    guest.state == GuestState::InCall
}

pub struct KioskApp {
    link: Shared,
    commands: mpsc::Sender<Request>,
    feed: Option<Feed>,
    preview_started: bool,
    tiles: crate::tiles::Tiles,
    texture: Option<(TextureHandle, u64)>,
    qr: Option<(String, TextureHandle)>,
    egui_ctx: egui::Context,
    lang: Lang,
    /// Looks picked for "which one?", in the order tapped.
    picked: Vec<u32>,
    look_textures: BTreeMap<u32, TextureHandle>,
    /// The last touch on the screen (or someone arriving, by the presence sensor).
    last_touch: Instant,
    was_present: bool,
    attract_after: Duration,
    staff: Option<crate::staff::StaffScreen>,
    waiter_called: Option<Instant>,
    latency: Option<crate::latency::LatencyLog>,
}

impl KioskApp {
    pub fn new(
        ctx: &egui::Context,
        link: Shared,
        commands: mpsc::Sender<Request>,
        lang: Lang,
    ) -> Self {
        ctx.set_pixels_per_point(1.5);
        KioskApp {
            link,
            commands,
            feed: None,
            preview_started: false,
            tiles: crate::tiles::Tiles::default(),
            texture: None,
            qr: None,
            egui_ctx: ctx.clone(),
            lang,
            picked: Vec::new(),
            look_textures: BTreeMap::new(),
            last_touch: Instant::now(),
            was_present: false,
            attract_after: ATTRACT_AFTER,
            staff: None,
            waiter_called: None,
            latency: None,
        }
    }

    /// Log frame-to-paint latency of the preview (benchmarks: see [`crate::latency`]).
    pub fn with_latency_log(mut self, log: crate::latency::LatencyLog) -> Self {
        self.latency = Some(log);
        self
    }

    /// Show the attract screen after `idle` instead of [`ATTRACT_AFTER`].
    pub fn with_attract_after(mut self, idle: Duration) -> Self {
        self.attract_after = idle;
        self
    }

    /// Tests: pretend the last touch was `ago`.
    #[cfg(test)]
    fn touched_ago(&mut self, ago: Duration) {
        if let Some(t) = Instant::now().checked_sub(ago) {
            self.last_touch = t;
        }
    }

    fn t(&self, key: Key) -> &'static str {
        text(self.lang, key)
    }

    fn send(&self, command: Request) {
        let _ = self.commands.send(command);
    }

    /// Screens rendered for the docs: show `rgba` as the camera picture, and open the
    /// staff screen when `staff` says so.
    #[cfg(test)]
    pub(crate) fn stage(
        &mut self,
        size: [usize; 2],
        rgba: Vec<u8>,
        staff: Option<crate::staff::StaffScreen>,
    ) {
        let latest = crate::preview::Latest {
            size,
            rgba,
            serial: 1,
        };
        self.feed = Some(Feed::still(latest));
        self.preview_started = true;
        self.staff = staff;
    }

    /// Screens for the docs: show `latest` as the picture of the tile at `socket`.
    #[cfg(test)]
    pub(crate) fn stage_tile(&mut self, socket: &str, latest: crate::preview::Latest) {
        self.tiles.stage(socket, latest);
    }

    #[cfg(test)]
    pub(crate) fn set_waiter_called(&mut self) {
        self.waiter_called = Some(Instant::now());
    }

    /// Start reading the preview once applianced has said where it is.
    fn ensure_preview(&mut self, state: &link::LinkState) {
        if self.preview_started {
            return;
        }
        if let Some(info) = state.preview.clone() {
            let ctx = self.egui_ctx.clone();
            self.feed = Some(crate::preview::spawn(info, move || ctx.request_repaint()));
            self.preview_started = true;
        }
    }

    fn preview_texture(&mut self, ctx: &egui::Context) -> Option<TextureHandle> {
        let feed = self.feed.as_ref()?;
        let shown = self.texture.as_ref().map(|(_, serial)| *serial);
        let texture = crate::preview::texture(ctx, "preview", &feed.frames, &mut self.texture);
        if let Some(log) = &mut self.latency
            && self.texture.as_ref().map(|(_, serial)| *serial) != shown
        {
            log.painted(&feed.frames.lock().unwrap_or_else(|p| p.into_inner()));
        }
        texture
    }

    fn qr_texture(&mut self, ctx: &egui::Context, url: &str) -> Option<TextureHandle> {
        if self.qr.as_ref().is_none_or(|(u, _)| u != url) {
            let image = crate::qr::image(url, 6)?;
            self.qr = Some((
                url.to_owned(),
                ctx.load_texture("invite-qr", image, TextureOptions::NEAREST),
            ));
        }
        self.qr.as_ref().map(|(_, t)| t.clone())
    }
}

impl eframe::App for KioskApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }
}

impl KioskApp {
    /// One frame of the screen, from the last state the link saw.
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        let state = link::lock(&self.link).clone();
        // The link repaints on every change; clocks on the screen (the invite's countdown,
        // notices that fade, the attract screen) need a tick of their own.
        ui.ctx().request_repaint_after(Duration::from_secs(1));
        self.ensure_preview(&state);
        let ctx = ui.ctx().clone();
        self.tiles.sync(&state.status.guests, &ctx);
        // A fitting room's screen is a mirror (its picture flipped); a table's is not.
        let mirror = match state.mode {
            Mode::FittingRoom => true,
            Mode::Table => false,
        };
        if let Some(staff) = &mut self.staff {
            let commands = self.commands.clone();
            let send = move |c: Request| {
                let _ = commands.send(c);
            };
            let lang = self.lang;
            let keep = egui::CentralPanel::default()
                .show(ui, |ui| staff.show(ui, lang, &state, &send))
                .inner;
            if !keep {
                // Closed: the PIN and the report go.
                self.staff = None;
                link::lock(&self.link).staff = None;
            }
            return;
        }
        if self.asleep(ui, &state) {
            self.attract(ui, &state);
            ctx.request_repaint_after(Duration::from_secs(1));
            return;
        }
        egui::CentralPanel::default().show(ui, |ui| {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Min), |ui| {
                // The language switch: the other language, named in itself.
                let other = self.lang.other();
                let switch = egui::Button::new(RichText::new(other.name()).size(20.0))
                    .min_size(egui::vec2(120.0, 48.0));
                if ui.add(switch).clicked() {
                    self.lang = other;
                }
                let staff = egui::Button::new(RichText::new(self.t(Key::Staff)).size(20.0))
                    .min_size(egui::vec2(120.0, 48.0));
                if ui.add(staff).clicked() {
                    link::lock(&self.link).staff = None;
                    self.staff = Some(crate::staff::StaffScreen::new());
                }
            });
            if !state.connected {
                ui.label(
                    RichText::new(self.t(Key::Reconnecting))
                        .size(22.0)
                        .color(Color32::from_rgb(200, 120, 0)),
                );
            }
            let erased = state.ended_at.is_some_and(|at| at.elapsed() < NOTICE_SHOWN);
            if erased && !state.status.session_active {
                banner(ui, Color32::from_rgb(20, 110, 60), self.t(Key::Erased));
            }
            if state.status.privacy {
                banner(ui, Color32::from_rgb(180, 20, 20), self.t(Key::PrivacyOn));
            } else if state.status.camera_paused {
                banner(ui, Color32::from_rgb(150, 90, 0), self.t(Key::CameraPaused));
            }
            // Portrait (the fitting room's mirror): the picture on top, the controls
            // under it. Landscape (a table): side by side.
            let portrait = ui.available_height() > ui.available_width();
            if portrait {
                let (w, h) = (ui.available_width(), ui.available_height() * 0.5);
                ui.vertical_centered(|ui| self.mirror(ui, &ctx, &state, mirror, w, h));
                ui.add_space(16.0);
                self.controls(ui, &ctx, &state);
            } else {
                ui.horizontal_top(|ui| {
                    let (w, h) = (ui.available_width() * 0.6, ui.available_height());
                    if !mirror && state.status.guests.iter().any(in_call) {
                        self.table(ui, &ctx, &state, w, h);
                    } else {
                        self.mirror(ui, &ctx, &state, mirror, w, h);
                    }
                    ui.add_space(16.0);
                    self.controls(ui, &ctx, &state);
                });
            }
        });
        // The invite countdown moves every second even with no new frame.
        ctx.request_repaint_after(std::time::Duration::from_secs(1));
    }
}

impl KioskApp {
    /// The live picture, as large as fits `max_w` x `max_h`, with what floats over it.
    /// `flip`: the screen is a mirror (flipped here only, never for guests).
    fn mirror(
        &mut self,
        ui: &mut egui::Ui,
        ctx: &egui::Context,
        state: &link::LinkState,
        flip: bool,
        max_w: f32,
        max_h: f32,
    ) {
        let rect = match self.preview_texture(ctx) {
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
                let label = RichText::new(self.t(Key::CameraStarting)).size(24.0);
                ui.add_sized(size, egui::Label::new(label)).rect
            }
        };
        if flip {
            self.small_tiles(ui, ctx, state, rect);
        }
        self.over_mirror(ui, rect, state);
    }

    /// A table's call: the guests' tiles as large as they fit in `w` x `h`, the table's own
    /// picture small in the corner, and what floats over the picture.
    fn table(
        &mut self,
        ui: &mut egui::Ui,
        ctx: &egui::Context,
        state: &link::LinkState,
        w: f32,
        h: f32,
    ) {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(w, h), egui::Sense::hover());
        let callers: Vec<_> = state.status.guests.iter().filter(|g| in_call(g)).collect();
        let shown = callers.len().min(MAX_TILES);
        let places = crate::tiles::grid(shown, rect, crate::tiles::ASPECT, 10.0);
        for (guest, place) in callers.into_iter().zip(places) {
            self.tile(ui, ctx, guest, place);
        }
        if let Some(tex) = self.preview_texture(ctx) {
            let [tw, th] = tex.size();
            let width = (w * 0.22).max(160.0);
            let size = egui::vec2(width, width * th as f32 / tw.max(1) as f32);
            let place = egui::Rect::from_min_size(
                egui::pos2(rect.right() - size.x - 8.0, rect.top() + 8.0),
                size,
            );
            ui.painter()
                .rect_stroke(place, 8.0, (2.0, Color32::WHITE), egui::StrokeKind::Outside);
            crate::tiles::draw(ui, place, self.t(Key::You), Some(&tex), None);
        }
        self.over_mirror(ui, rect, state);
    }

    /// The fitting room: the guests small, down the mirror's right edge.
    fn small_tiles(
        &mut self,
        ui: &mut egui::Ui,
        ctx: &egui::Context,
        state: &link::LinkState,
        rect: egui::Rect,
    ) {
        let width = (rect.width() * 0.22).clamp(120.0, 240.0);
        let size = egui::vec2(width, width / crate::tiles::ASPECT);
        let callers = state.status.guests.iter().filter(|g| in_call(g));
        for (i, guest) in callers.take(4).enumerate() {
            let top = rect.top() + 12.0 + i as f32 * (size.y + 8.0);
            let place =
                egui::Rect::from_min_size(egui::pos2(rect.right() - 12.0 - size.x, top), size);
            self.tile(ui, ctx, guest, place);
        }
    }

    fn tile(
        &mut self,
        ui: &mut egui::Ui,
        ctx: &egui::Context,
        guest: &visavis_api::local::GuestStatus,
        place: egui::Rect,
    ) {
        let picture = self.tiles.texture(ctx, guest);
        let speaking = guest.speaking.then(|| self.t(Key::Speaking));
        crate::tiles::draw(ui, place, &guest.name, picture.as_ref(), speaking);
    }

    /// The controls beside (or under) the picture: the panel scrolls when it does not fit,
    /// and "End" stays under it, always in reach.
    fn controls(&mut self, ui: &mut egui::Ui, ctx: &egui::Context, state: &link::LinkState) {
        const END_HEIGHT: f32 = 64.0;
        const GAP: f32 = 12.0;
        ui.vertical(|ui| {
            let active = state.status.session_active;
            let reserve = if active { END_HEIGHT + 2.0 * GAP } else { 0.0 };
            let height = (ui.available_height() - reserve).max(END_HEIGHT);
            egui::ScrollArea::vertical()
                .max_height(height)
                .show(ui, |ui| self.side_panel(ui, ctx, state));
            if active {
                ui.add_space(GAP);
                let end = egui::Button::new(RichText::new(self.t(Key::End)).size(24.0))
                    .min_size(egui::vec2(260.0, END_HEIGHT));
                if ui.add(end).clicked() {
                    self.send(Request::EndSession);
                }
            }
        });
    }

    fn side_panel(&mut self, ui: &mut egui::Ui, ctx: &egui::Context, state: &link::LinkState) {
        let big = |text: &str| {
            egui::Button::new(RichText::new(text).size(24.0)).min_size(egui::vec2(260.0, 64.0))
        };
        let status = &state.status;
        let invite_label = self.t(match state.mode {
            Mode::Table => Key::ShareThisDinner,
            Mode::FittingRoom => Key::AskMyFriends,
        });
        match (&status.invite_url, status.invite_expires_at) {
            (Some(url), Some(expires_at)) => {
                ui.label(RichText::new(self.t(Key::ScanToJoin)).size(26.0).strong());
                // Smaller once someone is in: the call needs the room, more friends can
                // still scan it.
                let side = if status.guests.is_empty() {
                    260.0
                } else {
                    160.0
                };
                if let Some(tex) = self.qr_texture(ctx, url) {
                    ui.add(egui::Image::new(&tex).fit_to_exact_size(egui::vec2(side, side)));
                }
                ui.label(RichText::new(url).size(20.0).monospace());
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let left = expires_at.saturating_sub(now);
                let time = format!("{}:{:02}", left / 60, left % 60);
                let valid = fill(self.t(Key::LinkValidFor), &[("time", &time)]);
                ui.label(RichText::new(valid).size(22.0));
                ui.label(
                    RichText::new(self.t(Key::NothingRecorded))
                        .size(22.0)
                        .italics(),
                );
            }
            _ => {
                if ui.add_enabled(state.connected, big(invite_label)).clicked() {
                    self.send(Request::CreateInvite);
                }
            }
        }
        ui.add_space(12.0);
        let named = |key: Key, name: &str| fill(text(self.lang, key), &[("name", name)]);
        for guest in &status.guests {
            match guest.state {
                GuestState::Waiting => {
                    ui.label(RichText::new(named(Key::WantsToJoin, &guest.name)).size(22.0));
                    ui.horizontal(|ui| {
                        if ui.add(big(self.t(Key::LetIn))).clicked() {
                            self.send(Request::Admit {
                                guest_id: guest.guest_id.clone(),
                            });
                        }
                        if ui.add(big(self.t(Key::NotNow))).clicked() {
                            self.send(Request::Deny {
                                guest_id: guest.guest_id.clone(),
                            });
                        }
                    });
                }
                GuestState::Connecting => {
                    ui.label(RichText::new(named(Key::Connecting, &guest.name)).size(20.0));
                }
                GuestState::InCall => {
                    ui.label(RichText::new(named(Key::Watching, &guest.name)).size(20.0));
                }
            }
        }
        if state.mode == Mode::Table {
            ui.add_space(12.0);
            if ui
                .add_enabled(state.connected, big(self.t(Key::CallWaiter)))
                .clicked()
            {
                self.send(Request::CallWaiter);
                self.waiter_called = Some(Instant::now());
            }
            if self
                .waiter_called
                .is_some_and(|at| at.elapsed() < NOTICE_SHOWN)
            {
                ui.label(RichText::new(self.t(Key::WaiterCalled)).size(20.0));
            }
        }
        if status.session_active {
            ui.add_space(12.0);
            ui.horizontal_wrapped(|ui| {
                let (mic, muted) = if status.mic_muted {
                    (Key::UnmuteMic, false)
                } else {
                    (Key::MuteMic, true)
                };
                let toggle = |key| {
                    egui::Button::new(RichText::new(self.t(key)).size(20.0))
                        .min_size(egui::vec2(200.0, 56.0))
                };
                if ui.add(toggle(mic).selected(status.mic_muted)).clicked() {
                    self.send(Request::SetMic { muted });
                }
                let (camera, paused) = if status.camera_paused {
                    (Key::ResumeCamera, false)
                } else {
                    (Key::PauseCamera, true)
                };
                let pause = toggle(camera).selected(status.camera_paused);
                if ui.add_enabled(!status.privacy, pause).clicked() {
                    self.send(Request::SetCamera { paused });
                }
            });
            self.volume(ui, status.volume);
            if state.mode == Mode::FittingRoom {
                self.looks(ui, ctx, state);
            }
        }
        if let Some(e) = &state.last_error {
            ui.label(RichText::new(e).color(Color32::from_rgb(200, 40, 40)));
        }
        // Until the staff screen exists, what needs staff (a failed first boot, a refused
        // or revoked unit) is shown here, small, under everything a shopper uses.
        if !status.problems.is_empty() {
            ui.add_space(12.0);
            ui.label(
                RichText::new(self.t(Key::NeedsStaff))
                    .size(18.0)
                    .color(Color32::from_rgb(200, 120, 0)),
            );
            for problem in &status.problems {
                ui.label(RichText::new(problem).size(13.0));
            }
        }
    }
}

impl KioskApp {
    /// The speaker's loudness, in steps of ten.
    fn volume(&mut self, ui: &mut egui::Ui, volume: u8) {
        ui.add_space(8.0);
        let n = volume.to_string();
        let line = fill(self.t(Key::Volume), &[("n", &n)]);
        ui.label(RichText::new(line).size(20.0));
        ui.horizontal(|ui| {
            let step = |key| {
                egui::Button::new(RichText::new(self.t(key)).size(20.0))
                    .min_size(egui::vec2(160.0, 56.0))
            };
            if ui.add_enabled(volume > 0, step(Key::Quieter)).clicked() {
                self.send(Request::SetVolume {
                    percent: volume.saturating_sub(10),
                });
            }
            if ui.add_enabled(volume < 100, step(Key::Louder)).clicked() {
                self.send(Request::SetVolume {
                    percent: volume.saturating_add(10).min(100),
                });
            }
        });
    }

    /// Nothing going on: no session, nobody waiting, nobody in front, no touch for a while.
    /// A touch or someone arriving wakes the screen.
    fn asleep(&mut self, ui: &egui::Ui, state: &link::LinkState) -> bool {
        let now = Instant::now();
        if ui.input(|i| i.pointer.any_pressed() || i.any_touches()) {
            self.last_touch = now;
        }
        let present = state.status.presence;
        if present && !self.was_present {
            self.last_touch = now;
        }
        self.was_present = present;
        let s = &state.status;
        !s.session_active
            && s.guests.is_empty()
            && !present
            && !s.privacy
            && now.duration_since(self.last_touch) >= self.attract_after
    }

    /// The attract screen: what the unit is for, and one big target to start. The camera
    /// picture is not shown while nobody is there.
    fn attract(&mut self, ui: &mut egui::Ui, state: &link::LinkState) {
        let (title, line) = match state.mode {
            Mode::Table => (Key::AttractTableTitle, Key::AttractTableLine),
            Mode::FittingRoom => (Key::AttractRoomTitle, Key::AttractRoomLine),
        };
        egui::CentralPanel::default()
            .frame(egui::Frame::new().fill(Color32::from_rgb(24, 24, 32)))
            .show(ui, |ui| {
                ui.vertical_centered(|ui| {
                    ui.add_space(ui.available_height() * 0.25);
                    ui.label(
                        RichText::new(self.t(title))
                            .size(48.0)
                            .color(Color32::WHITE),
                    );
                    ui.add_space(16.0);
                    ui.label(
                        RichText::new(self.t(line))
                            .size(26.0)
                            .color(Color32::LIGHT_GRAY),
                    );
                    ui.add_space(48.0);
                    let start =
                        egui::Button::new(RichText::new(self.t(Key::TapToStart)).size(32.0))
                            .min_size(egui::vec2(360.0, 96.0));
                    if ui.add(start).clicked() {
                        self.last_touch = Instant::now();
                    }
                });
            });
    }
}

/// A full-width coloured strip with one line of white text.
fn banner(ui: &mut egui::Ui, fill: Color32, text: &str) {
    egui::Frame::new()
        .fill(fill)
        .inner_margin(12.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(text).size(24.0).color(Color32::WHITE));
        });
}

impl KioskApp {
    /// Saved looks: "Save this look", the thumbnails to pick from, "Ask which one".
    fn looks(&mut self, ui: &mut egui::Ui, ctx: &egui::Context, state: &link::LinkState) {
        let status = &state.status;
        self.picked.retain(|id| status.looks.contains(id));
        self.look_textures
            .retain(|id, _| state.looks.contains_key(id));
        ui.add_space(12.0);
        let can_save = !status.privacy && status.looks.len() < MAX_LOOKS && state.connected;
        let save = egui::Button::new(RichText::new(self.t(Key::SaveLook)).size(22.0))
            .min_size(egui::vec2(220.0, 56.0));
        if ui.add_enabled(can_save, save).clicked() {
            self.send(Request::SaveLook);
        }
        if status.looks.is_empty() {
            return;
        }
        ui.horizontal_wrapped(|ui| {
            for id in &status.looks {
                let label = fill(self.t(Key::Look), &[("n", &id.to_string())]);
                let picked = self.picked.contains(id);
                let button = match self.look_texture(ctx, *id, state) {
                    Some(tex) => egui::Button::image_and_text(
                        egui::Image::new(&tex).fit_to_exact_size(egui::vec2(96.0, 72.0)),
                        RichText::new(label).size(18.0),
                    ),
                    None => egui::Button::new(RichText::new(label).size(18.0)),
                };
                if ui
                    .add(button.selected(picked).min_size(egui::vec2(96.0, 56.0)))
                    .clicked()
                {
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
        if status.looks.len() >= 2 {
            if let [a, b] = self.picked[..] {
                let ask = egui::Button::new(RichText::new(self.t(Key::Compare)).size(22.0))
                    .min_size(egui::vec2(220.0, 56.0));
                if ui.add(ask).clicked() {
                    self.send(Request::Compare { looks: [a, b] });
                    self.picked.clear();
                }
            } else {
                ui.label(RichText::new(self.t(Key::PickTwo)).size(18.0));
            }
        }
        if status.compare.as_ref().is_some_and(|c| c.open) {
            let close = egui::Button::new(RichText::new(self.t(Key::CloseVote)).size(20.0))
                .min_size(egui::vec2(200.0, 48.0));
            if ui.add(close).clicked() {
                self.send(Request::EndCompare);
            }
        }
    }

    fn look_texture(
        &mut self,
        ctx: &egui::Context,
        id: u32,
        state: &link::LinkState,
    ) -> Option<TextureHandle> {
        if let Some(tex) = self.look_textures.get(&id) {
            return Some(tex.clone());
        }
        let thumb = state.looks.get(&id)?;
        let image = egui::ColorImage::from_rgba_unmultiplied(thumb.size, &thumb.rgba);
        let tex = ctx.load_texture(format!("look-{id}"), image, TextureOptions::LINEAR);
        self.look_textures.insert(id, tex.clone());
        Some(tex)
    }

    /// Drawn over the mirror: the tally at the top, chat bubbles at the bottom, reactions
    /// floating up.
    fn over_mirror(&self, ui: &mut egui::Ui, rect: egui::Rect, state: &link::LinkState) {
        let status = &state.status;
        let inner = rect.shrink(16.0);
        // Children not allocated in the parent: drawing over the picture moves nothing.
        let down = egui::Layout::top_down(egui::Align::Min);
        let mut top = ui.new_child(egui::UiBuilder::new().max_rect(inner).layout(down));
        {
            let ui = &mut top;
            if let Some(compare) = &status.compare {
                egui::Frame::new()
                    .fill(Color32::from_black_alpha(170))
                    .corner_radius(12.0)
                    .inner_margin(10.0)
                    .show(ui, |ui| {
                        for v in &compare.votes {
                            let n = v.look.to_string();
                            let line = if v.votes == 1 {
                                fill(self.t(Key::VotesOne), &[("n", &n)])
                            } else {
                                let votes = v.votes.to_string();
                                fill(self.t(Key::VotesMany), &[("n", &n), ("votes", &votes)])
                            };
                            ui.label(RichText::new(line).size(26.0).color(Color32::WHITE));
                        }
                    });
            }
        }
        let chat: Vec<_> = status.chat.iter().rev().take(BUBBLES).rev().collect();
        if !chat.is_empty() {
            let height = 52.0 * chat.len() as f32;
            let bottom = egui::Rect::from_min_max(
                egui::pos2(inner.left(), inner.bottom() - height),
                inner.max,
            );
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
                                self.t(Key::ChatLine),
                                &[("name", &line.name), ("text", &line.text)],
                            );
                            ui.add(
                                egui::Label::new(
                                    RichText::new(text).size(20.0).color(Color32::BLACK),
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
            let word = self.t(match reaction {
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
                egui::FontId::proportional(34.0),
                Color32::WHITE.gamma_multiply(fade),
            );
            let at = egui::pos2(x - galley.size().x, y);
            painter.rect_filled(
                egui::Rect::from_min_size(at, galley.size()).expand(8.0),
                16.0,
                Color32::from_rgb(220, 40, 90).gamma_multiply(fade),
            );
            painter.galley(at, galley, Color32::WHITE);
        }
        let floating = |(at, _): &(Instant, Reaction)| at.elapsed() < link::REACTION_SHOWN;
        if state.reactions.iter().any(floating) {
            ui.ctx().request_repaint();
        }
    }
}

#[cfg(test)]
mod tests;
