//! The staff screen: a PIN keypad, then the unit's report (identity, network, camera,
//! microphone, encoder, live counters as the camera and microphone test, problems) and a
//! restart button.
//!
//! The PIN is checked by applianced, which rate-limits wrong ones; the kiosk keeps the
//! digits only while this screen is open and forgets them when it closes or after
//! [`IDLE_CLOSE`] untouched.

use super::{Cx, Next, Screen};
use crate::i18n::{Key, Lang, fill, text};
use crate::link::{LinkState, StaffOutcome};
use crate::theme::{colour, size, space};
use egui::RichText;
use std::time::{Duration, Instant};
use visavis_api::local::{Request, StaffAction, StaffPin, StaffReport};

/// The staff screen closes itself (and forgets the PIN) after this long untouched.
pub const IDLE_CLOSE: Duration = Duration::from_secs(120);
/// How often the open report is refreshed (the counters are the live test).
const REFRESH: Duration = Duration::from_secs(1);

/// Where the staff screen stands.
pub struct StaffScreen {
    digits: String,
    /// The PIN applianced accepted, with the last refresh.
    open: Option<(String, Instant)>,
    asked: bool,
    touched: Instant,
    /// "Restart the unit now?" is asked.
    confirm_restart: bool,
}

impl StaffScreen {
    pub fn new() -> Self {
        StaffScreen {
            digits: String::new(),
            open: None,
            asked: false,
            touched: Instant::now(),
            confirm_restart: false,
        }
    }

    /// A screen already past the keypad (docs screenshots).
    #[cfg(test)]
    pub(crate) fn opened(pin: &str) -> Self {
        StaffScreen {
            open: Some((pin.to_owned(), Instant::now())),
            ..StaffScreen::new()
        }
    }

    /// Draw the screen; `false` once it is closed.
    fn page(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        state: &LinkState,
        send: &dyn Fn(Request),
    ) -> bool {
        let t = |key| text(lang, key);
        if ui.input(|i| i.pointer.any_pressed() || i.any_touches()) {
            self.touched = Instant::now();
        }
        if self.touched.elapsed() >= IDLE_CLOSE {
            return false;
        }
        if self.asked {
            match &state.staff {
                Some(StaffOutcome::Report(_)) => {
                    if self.open.is_none() {
                        self.open = Some((std::mem::take(&mut self.digits), Instant::now()));
                    }
                    self.asked = false;
                }
                Some(StaffOutcome::Refused(_)) => {
                    self.digits.clear();
                    self.open = None;
                    self.asked = false;
                }
                None => {}
            }
        }
        let mut keep = true;
        egui::Frame::new()
            .fill(colour::BG)
            .inner_margin(space::CARD_MARGIN)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.set_min_height(ui.available_height());
                // Close, always in the top right corner.
                let corner = egui::Rect::from_min_size(
                    egui::pos2(ui.max_rect().right() - 200.0, ui.max_rect().top()),
                    egui::vec2(200.0, 58.0),
                );
                if ui.put(corner, button(t(Key::Close), 200.0)).clicked() {
                    keep = false;
                }
                match (&self.open, &state.staff) {
                    (Some((pin, _)), Some(StaffOutcome::Report(report))) => {
                        let pin = pin.clone();
                        if !self.report(ui, lang, report, &pin, send) {
                            keep = false;
                        }
                    }
                    _ => {
                        if !self.keypad(ui, lang, state, send) {
                            keep = false;
                        }
                    }
                }
            });
        if let Some((pin, last)) = &mut self.open
            && last.elapsed() >= REFRESH
            && !self.asked
        {
            *last = Instant::now();
            send(Request::Staff {
                pin: StaffPin(pin.clone()),
                action: StaffAction::Report,
            });
        }
        ui.ctx().request_repaint_after(REFRESH);
        keep
    }

    fn keypad(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        state: &LinkState,
        send: &dyn Fn(Request),
    ) -> bool {
        let t = |key| text(lang, key);
        ui.label(
            RichText::new(t(Key::StaffPin))
                .size(size::TITLE)
                .color(colour::TEXT),
        );
        let masked = if self.digits.is_empty() {
            "—".to_owned()
        } else {
            "•".repeat(self.digits.len())
        };
        ui.label(
            RichText::new(masked)
                .size(size::DISPLAY)
                .color(colour::TEXT),
        );
        if let Some(StaffOutcome::Refused(why)) = &state.staff {
            ui.label(RichText::new(why).size(size::BODY).color(colour::WARNING));
        }
        let rows: [[&str; 3]; 4] = [
            ["1", "2", "3"],
            ["4", "5", "6"],
            ["7", "8", "9"],
            ["", "0", ""],
        ];
        ui.horizontal_top(|ui| {
            egui::Grid::new("staff-keypad")
                .spacing([12.0, 12.0])
                .show(ui, |ui| {
                    for row in rows {
                        for key in row {
                            if key.is_empty() {
                                ui.label("");
                            } else if ui.add(button(key, 88.0)).clicked() && self.digits.len() < 8 {
                                self.digits.push_str(key);
                            }
                        }
                        ui.end_row();
                    }
                });
            ui.add_space(space::GAP);
            ui.vertical(|ui| {
                if ui.add(button(t(Key::Delete), 160.0)).clicked() {
                    self.digits.pop();
                }
                let ready = self.digits.len() >= 4 && !self.asked;
                if ui.add_enabled(ready, button(t(Key::Ok), 160.0)).clicked() {
                    self.asked = true;
                    send(Request::Staff {
                        pin: StaffPin(self.digits.clone()),
                        action: StaffAction::Report,
                    });
                }
            });
        });
        true
    }

    fn report(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        r: &StaffReport,
        pin: &str,
        send: &dyn Fn(Request),
    ) -> bool {
        let t = |key| text(lang, key);
        let line = |ui: &mut egui::Ui, key: Key, value: &str| {
            ui.label(
                RichText::new(fill(t(key), &[("v", value)]))
                    .size(size::BODY)
                    .color(colour::TEXT),
            );
        };
        // Restarting ends any call: it asks first.
        if self.confirm_restart {
            ui.label(
                RichText::new(t(Key::RestartConfirm))
                    .size(size::BODY)
                    .color(colour::WARNING),
            );
            ui.horizontal(|ui| {
                if ui.add(button(t(Key::Cancel), 200.0)).clicked() {
                    self.confirm_restart = false;
                }
                if ui.add(button(t(Key::RestartNow), 280.0)).clicked() {
                    self.confirm_restart = false;
                    send(Request::Staff {
                        pin: StaffPin(pin.to_owned()),
                        action: StaffAction::Restart,
                    });
                }
            });
        } else if ui.add(button(t(Key::StaffRestart), 280.0)).clicked() {
            self.confirm_restart = true;
        }
        // Who and where the unit is, then how it is doing: side by side on a landscape
        // panel, one under the other on a portrait one.
        let identity = |ui: &mut egui::Ui| {
            line(ui, Key::StaffUnit, &r.device_id);
            line(ui, Key::StaffStore, &r.store);
            line(ui, Key::StaffLocation, &r.location);
            line(ui, Key::StaffMode, r.mode.as_str());
            line(ui, Key::StaffVersion, &r.version);
            let online = t(if r.rendezvous_connected {
                Key::StaffOnline
            } else {
                Key::StaffOffline
            });
            line(
                ui,
                Key::StaffServer,
                &format!("{} ({online})", r.rendezvous_url),
            );
            let network: Vec<String> = r
                .network
                .iter()
                .map(|l| format!("{} {}", l.name, l.state))
                .collect();
            line(ui, Key::StaffNetwork, &network.join(", "));
            line(ui, Key::StaffCamera, &r.camera);
            line(ui, Key::StaffMicrophone, &r.microphone);
            line(ui, Key::StaffEncoder, &r.encoder);
        };
        let health = |ui: &mut egui::Ui| {
            let counters = fill(
                t(Key::StaffCounters),
                &[
                    ("captured", &r.video_frames_captured.to_string()),
                    ("encoded", &r.video_frames_encoded.to_string()),
                    ("audio", &r.audio_frames_encoded.to_string()),
                ],
            );
            ui.label(
                RichText::new(counters)
                    .size(size::BODY)
                    .color(colour::MUTED),
            );
            line(
                ui,
                Key::StaffUplink,
                &uplink(lang, r.send_kbps, r.uplink_kbps),
            );
            if r.problems.is_empty() {
                ui.label(
                    RichText::new(t(Key::StaffNoProblems))
                        .size(size::BODY)
                        .color(colour::OK),
                );
            } else {
                ui.label(
                    RichText::new(t(Key::StaffProblems))
                        .size(size::BODY)
                        .color(colour::WARNING),
                );
                for p in &r.problems {
                    ui.label(RichText::new(p).size(size::BODY).color(colour::TEXT));
                }
            }
            if !r.recent_errors.is_empty() {
                ui.label(
                    RichText::new(t(Key::StaffRecentErrors))
                        .size(size::BODY)
                        .color(colour::WARNING),
                );
                // The newest first, five of them: enough to tell staff (or support on the
                // phone) what went wrong last.
                for line in r.recent_errors.iter().rev().take(5) {
                    ui.add(
                        egui::Label::new(
                            RichText::new(line)
                                .size(size::BODY)
                                .monospace()
                                .color(colour::TEXT),
                        )
                        .wrap(),
                    );
                }
            }
        };
        if ui.available_width() > ui.available_height() {
            ui.columns(2, |columns| {
                identity(&mut columns[0]);
                health(&mut columns[1]);
            });
        } else {
            identity(ui);
            health(ui);
        }
        true
    }
}

impl Screen for StaffScreen {
    fn show(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) -> Next {
        let commands = cx.commands.clone();
        let send = move |c: Request| {
            let _ = commands.send(c);
        };
        let (lang, state) = (cx.lang, cx.state);
        let keep = egui::CentralPanel::default()
            .show(ui, |ui| self.page(ui, lang, state, &send))
            .inner;
        if keep { Next::Stay } else { Next::CloseStaff }
    }
}

impl Default for StaffScreen {
    fn default() -> Self {
        StaffScreen::new()
    }
}

fn button(label: &str, width: f32) -> egui::Button<'static> {
    egui::Button::new(RichText::new(label.to_owned()).size(size::TITLE))
        .min_size(egui::vec2(width, 58.0))
}

/// What the unit sends to its guests against its cap (`[uplink] max_kbps`): "3.5 / 10
/// Mbit/s", with a decimal comma in French.
fn uplink(lang: Lang, send_kbps: u64, cap_kbps: u32) -> String {
    let mbit = |kbps: u64| {
        let m = kbps as f64 / 1000.0;
        if m >= 10.0 || m.fract() < 0.05 {
            format!("{m:.0}")
        } else {
            format!("{m:.1}")
        }
    };
    let text = format!("{} / {} Mbit/s", mbit(send_kbps), mbit(u64::from(cap_kbps)));
    match lang {
        Lang::En => text,
        Lang::Fr => text.replace('.', ","),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uplink_reads_in_megabits_in_both_languages() {
        assert_eq!(uplink(Lang::En, 3_450, 10_000), "3.5 / 10 Mbit/s");
        assert_eq!(uplink(Lang::Fr, 3_450, 10_000), "3,5 / 10 Mbit/s");
        assert_eq!(uplink(Lang::En, 0, 20_000), "0 / 20 Mbit/s");
        assert_eq!(uplink(Lang::En, 12_345, 20_000), "12 / 20 Mbit/s");
    }
}
