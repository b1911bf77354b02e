//! The controls beside (or under) the live picture: the invite (button, then QR code, link
//! and countdown), who is waiting to be let in and who is watching, "Call a waiter" at a
//! table, mute and camera pause, the speaker's volume, the saved looks and their vote, and
//! "End" under them all.

use super::Cx;
use super::live::{Live, NOTICE_SHOWN};
use crate::i18n::{Key, fill, text};
use crate::theme::{colour, size, space};
use egui::RichText;
use std::time::Instant;
use visavis_api::Mode;
use visavis_api::local::{GuestState, MAX_LOOKS, Request};

/// A large button of the panel.
fn big(label: &str) -> egui::Button<'static> {
    egui::Button::new(RichText::new(label.to_owned()).size(size::BUTTON))
        .min_size(egui::vec2(260.0, 64.0))
}

impl Live {
    /// The panel scrolls when it does not fit, and "End" stays under it, always in reach.
    pub(super) fn controls(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        const END_HEIGHT: f32 = 64.0;
        ui.vertical(|ui| {
            let active = cx.state.status.session_active;
            let reserve = if active {
                END_HEIGHT + 2.0 * space::GAP
            } else {
                0.0
            };
            let height = (ui.available_height() - reserve).max(END_HEIGHT);
            egui::ScrollArea::vertical()
                .max_height(height)
                .show(ui, |ui| self.panel(ui, cx));
            if active {
                ui.add_space(space::GAP);
                if ui.add(big(cx.t(Key::End))).clicked() {
                    cx.send(Request::EndSession);
                }
            }
        });
    }

    fn panel(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        let state = cx.state;
        let status = &state.status;
        let invite_label = cx.t(match state.mode {
            Mode::Table => Key::ShareThisDinner,
            Mode::FittingRoom => Key::AskMyFriends,
        });
        match (&status.invite_url, status.invite_expires_at) {
            (Some(url), Some(expires_at)) => {
                ui.label(
                    RichText::new(cx.t(Key::ScanToJoin))
                        .size(size::HEADING)
                        .strong(),
                );
                // Smaller once someone is in: the call needs the room, more friends can
                // still scan it.
                let side = if status.guests.is_empty() {
                    260.0
                } else {
                    160.0
                };
                if let Some(tex) = cx.media.qr(ui.ctx(), url) {
                    ui.add(egui::Image::new(&tex).fit_to_exact_size(egui::vec2(side, side)));
                }
                ui.label(RichText::new(url).size(size::BODY).monospace());
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let left = expires_at.saturating_sub(now);
                let time = format!("{}:{:02}", left / 60, left % 60);
                let valid = fill(cx.t(Key::LinkValidFor), &[("time", &time)]);
                ui.label(RichText::new(valid).size(size::LEAD));
                ui.label(
                    RichText::new(cx.t(Key::NothingRecorded))
                        .size(size::LEAD)
                        .italics(),
                );
            }
            _ => {
                if ui.add_enabled(state.connected, big(invite_label)).clicked() {
                    cx.send(Request::CreateInvite);
                }
            }
        }
        ui.add_space(space::GAP);
        let named = |key: Key, name: &str| fill(text(cx.lang, key), &[("name", name)]);
        for guest in &status.guests {
            match guest.state {
                GuestState::Waiting => {
                    ui.label(RichText::new(named(Key::WantsToJoin, &guest.name)).size(size::LEAD));
                    ui.horizontal(|ui| {
                        if ui.add(big(cx.t(Key::LetIn))).clicked() {
                            cx.send(Request::Admit {
                                guest_id: guest.guest_id.clone(),
                            });
                        }
                        if ui.add(big(cx.t(Key::NotNow))).clicked() {
                            cx.send(Request::Deny {
                                guest_id: guest.guest_id.clone(),
                            });
                        }
                    });
                }
                GuestState::Connecting => {
                    ui.label(RichText::new(named(Key::Connecting, &guest.name)).size(size::BODY));
                }
                GuestState::InCall => {
                    ui.label(RichText::new(named(Key::Watching, &guest.name)).size(size::BODY));
                }
            }
        }
        if state.mode == Mode::Table {
            ui.add_space(space::GAP);
            if ui
                .add_enabled(state.connected, big(cx.t(Key::CallWaiter)))
                .clicked()
            {
                cx.send(Request::CallWaiter);
                self.waiter_called = Some(Instant::now());
            }
            if self
                .waiter_called
                .is_some_and(|at| at.elapsed() < NOTICE_SHOWN)
            {
                ui.label(RichText::new(cx.t(Key::WaiterCalled)).size(size::BODY));
            }
        }
        if status.session_active {
            ui.add_space(space::GAP);
            ui.horizontal_wrapped(|ui| {
                let (mic, muted) = if status.mic_muted {
                    (Key::UnmuteMic, false)
                } else {
                    (Key::MuteMic, true)
                };
                let toggle = |key| {
                    egui::Button::new(RichText::new(cx.t(key)).size(size::BODY))
                        .min_size(egui::vec2(200.0, 56.0))
                };
                if ui.add(toggle(mic).selected(status.mic_muted)).clicked() {
                    cx.send(Request::SetMic { muted });
                }
                let (camera, paused) = if status.camera_paused {
                    (Key::ResumeCamera, false)
                } else {
                    (Key::PauseCamera, true)
                };
                let pause = toggle(camera).selected(status.camera_paused);
                if ui.add_enabled(!status.privacy, pause).clicked() {
                    cx.send(Request::SetCamera { paused });
                }
            });
            volume(ui, cx, status.volume);
            if state.mode == Mode::FittingRoom {
                self.looks(ui, cx);
            }
        }
        if let Some(e) = &state.last_error {
            ui.label(RichText::new(e).color(colour::ERROR));
        }
        // What needs staff (a failed first boot, a refused or revoked unit) is shown here,
        // small, under everything a shopper uses.
        if !status.problems.is_empty() {
            ui.add_space(space::GAP);
            ui.label(
                RichText::new(cx.t(Key::NeedsStaff))
                    .size(size::NOTE)
                    .color(colour::WARNING),
            );
            for problem in &status.problems {
                ui.label(RichText::new(problem).size(size::TINY));
            }
        }
    }

    /// Saved looks: "Save this look", the thumbnails to pick from, "Ask which one".
    fn looks(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        let state = cx.state;
        let status = &state.status;
        self.picked.retain(|id| status.looks.contains(id));
        cx.media.keep_looks(state);
        ui.add_space(space::GAP);
        let can_save = !status.privacy && status.looks.len() < MAX_LOOKS && state.connected;
        let save = egui::Button::new(RichText::new(cx.t(Key::SaveLook)).size(size::LEAD))
            .min_size(egui::vec2(220.0, 56.0));
        if ui.add_enabled(can_save, save).clicked() {
            cx.send(Request::SaveLook);
        }
        if status.looks.is_empty() {
            return;
        }
        ui.horizontal_wrapped(|ui| {
            for id in &status.looks {
                let label = fill(cx.t(Key::Look), &[("n", &id.to_string())]);
                let picked = self.picked.contains(id);
                let button = match cx.media.look(ui.ctx(), *id, state) {
                    Some(tex) => egui::Button::image_and_text(
                        egui::Image::new(&tex).fit_to_exact_size(egui::vec2(96.0, 72.0)),
                        RichText::new(label).size(size::NOTE),
                    ),
                    None => egui::Button::new(RichText::new(label).size(size::NOTE)),
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
                let ask = egui::Button::new(RichText::new(cx.t(Key::Compare)).size(size::LEAD))
                    .min_size(egui::vec2(220.0, 56.0));
                if ui.add(ask).clicked() {
                    cx.send(Request::Compare { looks: [a, b] });
                    self.picked.clear();
                }
            } else {
                ui.label(RichText::new(cx.t(Key::PickTwo)).size(size::NOTE));
            }
        }
        if status.compare.as_ref().is_some_and(|c| c.open) {
            let close = egui::Button::new(RichText::new(cx.t(Key::CloseVote)).size(size::BODY))
                .min_size(egui::vec2(200.0, 48.0));
            if ui.add(close).clicked() {
                cx.send(Request::EndCompare);
            }
        }
    }
}

/// The speaker's loudness, in steps of ten.
fn volume(ui: &mut egui::Ui, cx: &Cx<'_>, volume: u8) {
    ui.add_space(space::SMALL_GAP);
    let n = volume.to_string();
    let line = fill(cx.t(Key::Volume), &[("n", &n)]);
    ui.label(RichText::new(line).size(size::BODY));
    ui.horizontal(|ui| {
        let step = |key| {
            egui::Button::new(RichText::new(cx.t(key)).size(size::BODY))
                .min_size(egui::vec2(160.0, 56.0))
        };
        if ui.add_enabled(volume > 0, step(Key::Quieter)).clicked() {
            cx.send(Request::SetVolume {
                percent: volume.saturating_sub(10),
            });
        }
        if ui.add_enabled(volume < 100, step(Key::Louder)).clicked() {
            cx.send(Request::SetVolume {
                percent: volume.saturating_add(10).min(100),
            });
        }
    });
}
