//! The kiosk window: which screen shows, and what they share. The screens themselves are
//! in [`crate::view`], one file each; state lives in [`crate::link`] and
//! [`crate::preview`]. The app picks the screen for each frame (staff while it is open,
//! attract while nobody is there, the live picture otherwise) and carries out what the
//! screen answers ([`Next`]).

use crate::i18n::Lang;
use crate::link::{self, Shared};
use crate::view::attract::Attract;
use crate::view::live::Live;
use crate::view::staff::StaffScreen;
use crate::view::{Cx, Media, Next, Screen};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use visavis_api::local::Request;

/// Untouched this long with no session and nobody in front: the attract screen.
pub const ATTRACT_AFTER: Duration = Duration::from_secs(60);

pub struct KioskApp {
    link: Shared,
    commands: mpsc::Sender<Request>,
    egui_ctx: egui::Context,
    lang: Lang,
    media: Media,
    live: Live,
    attract: Attract,
    staff: Option<StaffScreen>,
    /// The last touch on the screen (or someone arriving, by the presence sensor).
    last_touch: Instant,
    was_present: bool,
    attract_after: Duration,
    /// The theme's fonts and colours are in the context the app draws in.
    styled: bool,
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
            egui_ctx: ctx.clone(),
            lang,
            media: Media::new(),
            live: Live::default(),
            attract: Attract,
            staff: None,
            last_touch: Instant::now(),
            was_present: false,
            attract_after: ATTRACT_AFTER,
            styled: false,
        }
    }

    /// Log frame-to-paint latency of the preview (benchmarks: see [`crate::latency`]).
    pub fn with_latency_log(mut self, log: crate::latency::LatencyLog) -> Self {
        self.media.latency = Some(log);
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
            self.live.touched = t;
        }
    }

    /// Screens rendered for the docs: show `rgba` as the camera picture, and open the
    /// staff screen when `staff` says so.
    #[cfg(test)]
    pub(crate) fn stage(&mut self, size: [usize; 2], rgba: Vec<u8>, staff: Option<StaffScreen>) {
        let latest = crate::preview::Latest {
            size,
            rgba,
            serial: 1,
        };
        self.media.feed = Some(crate::preview::Feed::still(latest));
        self.media.preview_started = true;
        self.staff = staff;
    }

    /// Screens for the docs: show `latest` as the picture of the tile at `socket`.
    #[cfg(test)]
    pub(crate) fn stage_tile(&mut self, socket: &str, latest: crate::preview::Latest) {
        self.media.tiles.stage(socket, latest);
    }

    #[cfg(test)]
    pub(crate) fn set_waiter_called(&mut self) {
        self.live.waiter_called = Some(Instant::now());
    }

    /// Start reading the preview once applianced has said where it is.
    fn ensure_preview(&mut self, state: &link::LinkState) {
        if self.media.preview_started {
            return;
        }
        if let Some(info) = state.preview.clone() {
            let ctx = self.egui_ctx.clone();
            self.media.feed = Some(crate::preview::spawn(info, move || ctx.request_repaint()));
            self.media.preview_started = true;
        }
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
}

impl eframe::App for KioskApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }
}

impl KioskApp {
    /// One frame of the screen, from the last state the link saw.
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        if !self.styled {
            self.styled = true;
            if let Err(e) = crate::theme::install(ui.ctx()) {
                eprintln!("kiosk: {e}; drawing in egui's own fonts");
            }
        }
        let state = link::lock(&self.link).clone();
        // The link repaints on every change; clocks on the screen (the invite's countdown,
        // notices that fade, the attract screen) need a tick of their own.
        ui.ctx().request_repaint_after(Duration::from_secs(1));
        self.ensure_preview(&state);
        self.media.tiles.sync(&state.status.guests, ui.ctx());
        let asleep = self.staff.is_none() && self.asleep(ui, &state);
        let mut cx = Cx {
            state: &state,
            lang: self.lang,
            commands: &self.commands,
            media: &mut self.media,
        };
        let screen: &mut dyn Screen = match &mut self.staff {
            Some(staff) => staff,
            None if asleep => &mut self.attract,
            None => &mut self.live,
        };
        match screen.show(ui, &mut cx) {
            Next::Stay => {}
            Next::Staff => {
                link::lock(&self.link).staff = None;
                self.staff = Some(StaffScreen::new());
            }
            Next::CloseStaff => {
                // Closed: the PIN and the report go.
                self.staff = None;
                link::lock(&self.link).staff = None;
            }
            Next::Lang(lang) => self.lang = lang,
            Next::Wake => self.last_touch = Instant::now(),
        }
    }
}

#[cfg(test)]
mod tests;
