//! Moments that need an answer take over the screen: the picture dims and a card in the
//! middle asks. A knock ("Camille wants to join": "Not now", and the primary "Let in");
//! "End and erase everything?" before a session's end erases it.

use super::Cx;
use super::widgets::{self, Tone};
use crate::i18n::{Key, fill};
use crate::theme::{self, colour, icon, size, space};
use egui::RichText;
use visavis_api::local::{GuestStatus, Request};

fn modal(ui: &egui::Ui, id: &str) -> egui::Modal {
    egui::Modal::new(ui.scope_id().with(id))
        .backdrop_color(colour::DIM)
        .frame(widgets::card().inner_margin(space::CARD_MARGIN * 1.5))
}

/// A guest knocks: who, "Not now" and "Let in".
pub fn knock(ui: &mut egui::Ui, cx: &Cx<'_>, guest: &GuestStatus) {
    modal(ui, "knock").show(ui.ctx(), |ui| {
        ui.vertical_centered(|ui| {
            ui.label(
                RichText::new(icon::PERSON_ADD)
                    .font(theme::icon_font(56.0))
                    .color(colour::PRIMARY),
            );
            let line = fill(cx.t(Key::WantsToJoin), &[("name", &guest.name)]);
            ui.label(
                RichText::new(line)
                    .font(theme::bold(size::TITLE))
                    .color(colour::TEXT),
            );
            ui.add_space(space::CARD_MARGIN);
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = space::GAP;
                if widgets::pill(ui, None, cx.t(Key::NotNow), Tone::Secondary, true, 180.0)
                    .clicked()
                {
                    cx.send(Request::Deny {
                        guest_id: guest.guest_id.clone(),
                    });
                }
                if widgets::pill(
                    ui,
                    Some(icon::CHECK),
                    cx.t(Key::LetIn),
                    Tone::Primary,
                    true,
                    220.0,
                )
                .clicked()
                {
                    cx.send(Request::Admit {
                        guest_id: guest.guest_id.clone(),
                    });
                }
            });
        });
    });
}

/// "End and erase everything?": `false` once answered either way.
pub fn confirm_end(ui: &mut egui::Ui, cx: &Cx<'_>) -> bool {
    let mut open = true;
    let width = (ui.ctx().content_rect().width() - 4.0 * space::EDGE).min(560.0);
    modal(ui, "confirm-end").show(ui.ctx(), |ui| {
        ui.set_max_width(width);
        ui.vertical_centered(|ui| {
            ui.label(
                RichText::new(cx.t(Key::EndConfirm))
                    .font(theme::bold(size::TITLE))
                    .color(colour::TEXT),
            );
            ui.add(
                egui::Label::new(widgets::words(cx.t(Key::EndConfirmLine), colour::MUTED)).wrap(),
            );
            ui.add_space(space::CARD_MARGIN);
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = space::GAP;
                if widgets::pill(ui, None, cx.t(Key::KeepGoing), Tone::Secondary, true, 160.0)
                    .clicked()
                {
                    open = false;
                }
                if widgets::pill(
                    ui,
                    Some(icon::CALL_END),
                    cx.t(Key::EndErase),
                    Tone::Destructive,
                    true,
                    200.0,
                )
                .clicked()
                {
                    cx.send(Request::EndSession);
                    open = false;
                }
            });
        });
    });
    open
}
