//! The attract screen: what the unit is for, and one big target to start. The camera
//! picture is not shown while nobody is there.

use super::{Cx, Next, Screen};
use crate::i18n::Key;
use crate::theme::{colour, size};
use egui::RichText;
use visavis_api::Mode;

/// The attract screen (it keeps no state of its own).
pub struct Attract;

impl Screen for Attract {
    fn show(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) -> Next {
        let (title, line) = match cx.state.mode {
            Mode::Table => (Key::AttractTableTitle, Key::AttractTableLine),
            Mode::FittingRoom => (Key::AttractRoomTitle, Key::AttractRoomLine),
        };
        let mut next = Next::Stay;
        egui::CentralPanel::default()
            .frame(egui::Frame::new().fill(colour::BG))
            .show(ui, |ui| {
                ui.vertical_centered(|ui| {
                    ui.add_space(ui.available_height() * 0.25);
                    ui.label(
                        RichText::new(cx.t(title))
                            .size(size::DISPLAY)
                            .color(colour::TEXT),
                    );
                    ui.add_space(16.0);
                    ui.label(
                        RichText::new(cx.t(line))
                            .size(size::BODY * 1.3)
                            .color(colour::MUTED),
                    );
                    ui.add_space(48.0);
                    let start =
                        egui::Button::new(RichText::new(cx.t(Key::TapToStart)).size(size::TITLE))
                            .min_size(egui::vec2(360.0, 96.0));
                    if ui.add(start).clicked() {
                        next = Next::Wake;
                    }
                });
            });
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_secs(1));
        next
    }
}
