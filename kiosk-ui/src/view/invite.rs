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
    // Title, link, time and "nothing recorded" take about 170 points; the code gets the rest.
    let side =
        (room - 2.0 * space::CARD_MARGIN - 190.0).clamp(120.0, if calling { 200.0 } else { 300.0 });
    let width = 440.0_f32.min(screen.width() - 2.0 * space::EDGE);
    let left = if portrait {
        screen.center().x - width / 2.0
    } else {
        screen.right() - space::EDGE - width
    };
    let area = Rect::from_min_max(
        egui::pos2(left, screen.top() + TOP + space::GAP),
        egui::pos2(left + width, bottom - space::GAP),
    );
    let mut child = ui.new_child(
        egui::UiBuilder::new()
            .max_rect(area)
            .layout(egui::Layout::top_down(egui::Align::Center)),
    );
    widgets::card()
        .inner_margin(space::GAP * 1.5)
        .show(&mut child, |ui| {
            ui.set_width(width - 3.0 * space::GAP);
            ui.vertical_centered(|ui| {
                ui.spacing_mut().item_spacing.y = space::SMALL_GAP / 2.0;
                ui.label(
                    RichText::new(cx.t(Key::ScanToJoin))
                        .font(theme::bold(size::TITLE))
                        .color(colour::TEXT),
                );
                if let Some(tex) = cx.media.qr(ui.ctx(), url) {
                    ui.add(
                        egui::Image::new(&tex)
                            .fit_to_exact_size(egui::vec2(side, side))
                            .corner_radius(8.0),
                    );
                }
                ui.add(
                    egui::Label::new(
                        RichText::new(url)
                            .size(size::LINK)
                            .monospace()
                            .color(colour::MUTED),
                    )
                    .wrap(),
                );
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let left = expires_at.saturating_sub(now);
                let time = format!("{}:{:02}", left / 60, left % 60);
                ui.label(widgets::words(
                    fill(cx.t(Key::LinkValidFor), &[("time", &time)]),
                    colour::TEXT,
                ));
                ui.add(
                    egui::Label::new(widgets::words(cx.t(Key::NothingRecorded), colour::MUTED))
                        .wrap(),
                );
            });
        });
}
