//! The first kiosk window: the live mirror (local preview), the invite QR code, and who is
//! waiting to be let in. State lives in [`crate::link`] and [`crate::preview`]; this file
//! only draws it and turns taps into [`Command`]s.

use crate::link::{self, Command, Shared};
use crate::preview::Frames;
use egui::{Color32, RichText, TextureHandle, TextureOptions};
use std::sync::mpsc;
use visavis_api::local::GuestState;

pub struct KioskApp {
    link: Shared,
    commands: mpsc::Sender<Command>,
    frames: Option<Frames>,
    preview_started: bool,
    texture: Option<(TextureHandle, u64)>,
    qr: Option<(String, TextureHandle)>,
    egui_ctx: egui::Context,
}

impl KioskApp {
    pub fn new(ctx: &egui::Context, link: Shared, commands: mpsc::Sender<Command>) -> Self {
        ctx.set_pixels_per_point(1.5);
        KioskApp {
            link,
            commands,
            frames: None,
            preview_started: false,
            texture: None,
            qr: None,
            egui_ctx: ctx.clone(),
        }
    }

    fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// Start reading the preview once applianced has said where it is.
    fn ensure_preview(&mut self, state: &link::LinkState) {
        if self.preview_started {
            return;
        }
        if let Some(info) = state.preview.clone() {
            let ctx = self.egui_ctx.clone();
            self.frames = Some(crate::preview::spawn(info, move || ctx.request_repaint()));
            self.preview_started = true;
        }
    }

    fn preview_texture(&mut self, ctx: &egui::Context) -> Option<TextureHandle> {
        let frames = self.frames.as_ref()?;
        let latest = frames.lock().unwrap_or_else(|p| p.into_inner());
        if latest.serial == 0 {
            return None;
        }
        let fresh = self
            .texture
            .as_ref()
            .is_none_or(|(_, s)| *s != latest.serial);
        if fresh {
            let image = egui::ColorImage::from_rgba_unmultiplied(latest.size, &latest.rgba);
            match &mut self.texture {
                Some((t, s)) => {
                    t.set(image, TextureOptions::LINEAR);
                    *s = latest.serial;
                }
                None => {
                    self.texture = Some((
                        ctx.load_texture("preview", image, TextureOptions::LINEAR),
                        latest.serial,
                    ));
                }
            }
        }
        self.texture.as_ref().map(|(t, _)| t.clone())
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
        let state = link::lock(&self.link).clone();
        self.ensure_preview(&state);
        let ctx = ui.ctx().clone();
        let mirror = state.mode != "table";
        egui::CentralPanel::default().show(ui, |ui| {
            if !state.connected {
                ui.label(
                    RichText::new("Reconnecting to the unit…")
                        .size(22.0)
                        .color(Color32::from_rgb(200, 120, 0)),
                );
            }
            if state.status.privacy {
                egui::Frame::new()
                    .fill(Color32::from_rgb(180, 20, 20))
                    .inner_margin(12.0)
                    .show(ui, |ui| {
                        ui.set_width(ui.available_width());
                        ui.label(
                            RichText::new(
                                "Camera off: the privacy switch is on. Nobody can see you.",
                            )
                            .size(24.0)
                            .color(Color32::WHITE),
                        );
                    });
            }
            ui.horizontal_top(|ui| {
                let side = ui.available_width() * 0.62;
                match self.preview_texture(&ctx) {
                    Some(tex) => {
                        let [w, h] = tex.size();
                        let size = egui::vec2(side, side * h as f32 / w.max(1) as f32);
                        // The screen is a mirror: flipped here only, never for guests.
                        let uv = if mirror {
                            egui::Rect::from_min_max(egui::pos2(1.0, 0.0), egui::pos2(0.0, 1.0))
                        } else {
                            egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0))
                        };
                        ui.add(egui::Image::new(&tex).fit_to_exact_size(size).uv(uv));
                    }
                    None => {
                        ui.add_sized(
                            [side, side * 9.0 / 16.0],
                            egui::Label::new("Camera starting…"),
                        );
                    }
                }
                ui.vertical(|ui| self.side_panel(ui, &ctx, &state));
            });
        });
        // The invite countdown moves every second even with no new frame.
        ctx.request_repaint_after(std::time::Duration::from_secs(1));
    }
}

impl KioskApp {
    fn side_panel(&mut self, ui: &mut egui::Ui, ctx: &egui::Context, state: &link::LinkState) {
        let big = |text: &str| {
            egui::Button::new(RichText::new(text).size(24.0)).min_size(egui::vec2(260.0, 64.0))
        };
        let status = &state.status;
        let invite_label = if state.mode == "table" {
            "Share this dinner"
        } else {
            "Ask my friends"
        };
        match (&status.invite_url, status.invite_expires_at) {
            (Some(url), Some(expires_at)) => {
                ui.label(RichText::new("Scan to join").size(26.0).strong());
                if let Some(tex) = self.qr_texture(ctx, url) {
                    ui.add(egui::Image::new(&tex).fit_to_exact_size(egui::vec2(260.0, 260.0)));
                }
                ui.label(RichText::new(url).size(14.0).monospace());
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let left = expires_at.saturating_sub(now);
                ui.label(format!("Link valid for {}:{:02}", left / 60, left % 60));
                ui.label(RichText::new("Nothing is ever recorded.").italics());
            }
            _ => {
                if ui.add_enabled(state.connected, big(invite_label)).clicked() {
                    self.send(Command::CreateInvite);
                }
            }
        }
        ui.add_space(12.0);
        for guest in &status.guests {
            match guest.state {
                GuestState::Waiting => {
                    ui.label(RichText::new(format!("{} wants to join", guest.name)).size(22.0));
                    ui.horizontal(|ui| {
                        if ui.add(big("Let in")).clicked() {
                            self.send(Command::Admit(guest.guest_id.clone()));
                        }
                        if ui.add(big("Not now")).clicked() {
                            self.send(Command::Deny(guest.guest_id.clone()));
                        }
                    });
                }
                GuestState::Connecting => {
                    ui.label(RichText::new(format!("{}: connecting…", guest.name)).size(20.0));
                }
                GuestState::InCall => {
                    ui.label(RichText::new(format!("● {} is watching", guest.name)).size(20.0));
                }
            }
        }
        if status.session_active {
            ui.add_space(12.0);
            if ui.add(big("End")).clicked() {
                self.send(Command::EndSession);
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
                RichText::new("This unit needs staff attention")
                    .size(18.0)
                    .color(Color32::from_rgb(200, 120, 0)),
            );
            for problem in &status.problems {
                ui.label(RichText::new(problem).size(13.0));
            }
        }
    }
}
