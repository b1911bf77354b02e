//! The invite card: "Scan to join", the QR code, the link, how long it stays valid and
//! "Nothing is ever recorded." Centred on a portrait mirror, on the right in landscape,
//! always above the bar.

use super::Cx;
use super::live::TOP;
use super::widgets;
use crate::i18n::{Key, fill};
use crate::theme::{self, colour, size, space};
use egui::{Rect, RichText};

/// Draw the card between the top strip and `bottom`. `calling`: someone is in the call
/// (the card is smaller, beside them).
pub fn card(
    ui: &mut egui::Ui,
    cx: &mut Cx<'_>,
    screen: Rect,
    bottom: f32,
    portrait: bool,
    calling: bool,
) {
    let status = &cx.state.status;
    let (Some(url), Some(expires_at)) = (&status.invite_url, status.invite_expires_at) else {
        return;
    };
    let room = bottom - screen.top() - TOP - 2.0 * space::GAP;
    let margin = space::GAP * 1.5;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let left = expires_at.saturating_sub(now);
    let time = format!("{}:{:02}", left / 60, left % 60);
    let valid = fill(cx.t(Key::LinkValidFor), &[("time", &time)]);
    let title = cx.t(Key::ScanToJoin);
    let nothing = cx.t(Key::NothingRecorded);
    let qr = cx.media.qr(ui.ctx(), url);
    let words = |ui: &mut egui::Ui| {
        ui.add(egui::Label::new(RichText::new(url).size(size::BODY).color(colour::MUTED)).wrap());
        ui.label(widgets::words(valid.clone(), colour::TEXT));
        ui.add(egui::Label::new(widgets::words(nothing, colour::MUTED)).wrap());
    };
    if portrait {
        // Title, link, time and "nothing recorded" take about 200 points; the code the rest.
        let side = (room - 2.0 * margin - 200.0).clamp(120.0, if calling { 240.0 } else { 360.0 });
        let width = 480.0_f32.min(screen.width() - 2.0 * space::EDGE);
        let x = screen.center().x - width / 2.0;
        let area = Rect::from_min_max(
            egui::pos2(x, screen.top() + TOP + space::GAP),
            egui::pos2(x + width, bottom - space::GAP),
        );
        let mut child = ui.new_child(
            egui::UiBuilder::new()
                .max_rect(area)
                .layout(egui::Layout::top_down(egui::Align::Center)),
        );
        widgets::card().inner_margin(margin).show(&mut child, |ui| {
            ui.set_width(width - 2.0 * margin);
            ui.vertical_centered(|ui| {
                ui.spacing_mut().item_spacing.y = space::SMALL_GAP / 2.0;
                ui.label(
                    RichText::new(title)
                        .font(theme::bold(size::TITLE))
                        .color(colour::TEXT),
                );
                if let Some(tex) = &qr {
                    ui.add(
                        egui::Image::new(tex)
                            .fit_to_exact_size(egui::vec2(side, side))
                            .corner_radius(8.0),
                    );
                }
                words(ui);
            });
        });
    } else {
        // Landscape: the code on the left, the words beside it, the card at the right.
        let side = (room - 2.0 * margin).clamp(120.0, 280.0);
        let text_w = 340.0;
        let width =
            (side + text_w + 2.0 * margin + space::GAP).min(screen.width() - 2.0 * space::EDGE);
        let x = screen.right() - space::EDGE - width;
        let area = Rect::from_min_max(
            egui::pos2(x, screen.top() + TOP + space::GAP),
            egui::pos2(x + width, bottom - space::GAP),
        );
        let mut child = ui.new_child(
            egui::UiBuilder::new()
                .max_rect(area)
                .layout(egui::Layout::top_down(egui::Align::Min)),
        );
        widgets::card().inner_margin(margin).show(&mut child, |ui| {
            ui.horizontal_top(|ui| {
                if let Some(tex) = &qr {
                    ui.add(
                        egui::Image::new(tex)
                            .fit_to_exact_size(egui::vec2(side, side))
                            .corner_radius(8.0),
                    );
                }
                ui.vertical(|ui| {
                    ui.set_width(text_w);
                    ui.spacing_mut().item_spacing.y = space::SMALL_GAP;
                    ui.add(
                        egui::Label::new(
                            RichText::new(title)
                                .font(theme::bold(size::TITLE))
                                .color(colour::TEXT),
                        )
                        .wrap(),
                    );
                    words(ui);
                });
            });
        });
    }
}
