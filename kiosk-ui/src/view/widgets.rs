//! The kiosk's own controls, drawn in the [`crate::theme`]: round icon buttons with a
//! short caption (the call's bar), pill buttons (primary, secondary, destructive) and
//! cards. Each reports itself to accessibility by its caption, so tests find it by label
//! as a person finds it by sight.

use crate::theme::{self, colour, size, space};
use egui::{Color32, Rect, Response, Sense, Stroke, Vec2, WidgetInfo};

/// What a button is for, which sets its colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Primary,
    Secondary,
    /// End, and a state that is off ("Mic off").
    Destructive,
}

impl Tone {
    fn fill(self) -> Color32 {
        match self {
            Tone::Primary => colour::PRIMARY,
            Tone::Secondary => colour::SECONDARY,
            Tone::Destructive => colour::DESTRUCTIVE,
        }
    }

    fn ink(self) -> Color32 {
        match self {
            Tone::Primary => colour::ON_PRIMARY,
            Tone::Secondary => colour::TEXT,
            Tone::Destructive => colour::ON_DESTRUCTIVE,
        }
    }
}

/// A round icon button in `rect` (its top part the circle, under it the caption).
pub fn round(
    ui: &mut egui::Ui,
    rect: Rect,
    icon: &str,
    caption: &str,
    tone: Tone,
    enabled: bool,
) -> Response {
    let sense = if enabled {
        Sense::click()
    } else {
        Sense::hover()
    };
    let response = ui.interact(rect, ui.scope_id().with(("round", caption)), sense);
    response.widget_info(|| WidgetInfo::labeled(egui::Role::Button, enabled, caption));
    let d = space::ROUND.min(rect.width());
    let centre = egui::pos2(rect.center().x, rect.top() + d / 2.0);
    let fade = if enabled { 1.0 } else { 0.4 };
    let painter = ui.painter();
    painter.circle(
        centre,
        d / 2.0,
        tone.fill().gamma_multiply(fade),
        if tone == Tone::Secondary {
            Stroke::new(2.0, colour::MUTED.gamma_multiply(fade))
        } else {
            Stroke::NONE
        },
    );
    painter.text(
        centre,
        egui::Align2::CENTER_CENTER,
        icon,
        theme::icon_font(size::ICON),
        tone.ink().gamma_multiply(fade),
    );
    let caption_colour = match tone {
        Tone::Destructive => colour::TEXT,
        _ => colour::TEXT,
    };
    let galley = painter.layout(
        caption.to_owned(),
        theme::bold(size::BODY),
        caption_colour.gamma_multiply(fade),
        rect.width(),
    );
    let at = egui::pos2(
        rect.center().x - galley.size().x / 2.0,
        rect.top() + d + space::SMALL_GAP / 2.0,
    );
    // A caption on a dark chip, readable over any picture.
    painter.rect_filled(
        Rect::from_min_size(at, galley.size()).expand2(egui::vec2(6.0, 1.0)),
        8.0,
        colour::SCRIM,
    );
    painter.galley(at, galley, caption_colour);
    response
}

/// The height a round button with `caption` takes at `width`.
pub fn round_height(ui: &egui::Ui, caption: &str, width: f32) -> f32 {
    let galley = ui.painter().layout(
        caption.to_owned(),
        theme::bold(size::BODY),
        colour::TEXT,
        width,
    );
    space::ROUND + space::SMALL_GAP / 2.0 + galley.size().y
}

/// A pill button with an optional icon, as wide as its words (at least `min_width`).
pub fn pill(
    ui: &mut egui::Ui,
    icon: Option<&str>,
    label: &str,
    tone: Tone,
    enabled: bool,
    min_width: f32,
) -> Response {
    let galley = ui
        .painter()
        .layout_no_wrap(label.to_owned(), theme::bold(size::BODY), tone.ink());
    let icon_w = if icon.is_some() {
        size::ICON + space::SMALL_GAP
    } else {
        0.0
    };
    let width = (galley.size().x + icon_w + 2.0 * space::CARD_MARGIN).max(min_width);
    let sense = if enabled {
        Sense::click()
    } else {
        Sense::hover()
    };
    let (rect, response) = ui.allocate_exact_size(egui::vec2(width, space::PILL), sense);
    response.widget_info(|| WidgetInfo::labeled(egui::Role::Button, enabled, label));
    let fade = if enabled { 1.0 } else { 0.4 };
    let painter = ui.painter();
    painter.rect(
        rect,
        space::PILL / 2.0,
        tone.fill().gamma_multiply(fade),
        if tone == Tone::Secondary {
            Stroke::new(2.0, colour::MUTED)
        } else {
            Stroke::NONE
        },
        egui::StrokeKind::Inside,
    );
    let content = icon_w + galley.size().x;
    let mut x = rect.center().x - content / 2.0;
    if let Some(icon) = icon {
        painter.text(
            egui::pos2(x + size::ICON / 2.0, rect.center().y),
            egui::Align2::CENTER_CENTER,
            icon,
            theme::icon_font(size::ICON),
            tone.ink().gamma_multiply(fade),
        );
        x += icon_w;
    }
    let y = rect.center().y - galley.size().y / 2.0;
    painter.galley(egui::pos2(x, y), galley, tone.ink().gamma_multiply(fade));
    response
}

/// A card: the surface colour, rounded, with room inside.
pub fn card() -> egui::Frame {
    egui::Frame::new()
        .fill(colour::SURFACE)
        .corner_radius(space::ROUNDING)
        .inner_margin(space::CARD_MARGIN)
        .stroke(Stroke::new(1.0, colour::SECONDARY))
}

/// A small rounded label over the picture (the LIVE pill, notices).
pub fn chip(ui: &mut egui::Ui, fill: Color32, ink: Color32, text: &str) -> Response {
    egui::Frame::new()
        .fill(fill)
        .corner_radius(space::ROUNDING)
        .inner_margin(egui::Margin::symmetric(14, 6))
        .show(ui, |ui| {
            ui.label(
                egui::RichText::new(text)
                    .font(theme::bold(size::BODY))
                    .color(ink),
            )
        })
        .inner
}

/// Words of the theme's body size in `colour`.
pub fn words(text: impl Into<String>, colour: Color32) -> egui::RichText {
    egui::RichText::new(text).size(size::BODY).color(colour)
}

/// Semi-bold words of the theme's body size in `colour`.
pub fn bold_words(text: impl Into<String>, colour: Color32) -> egui::RichText {
    egui::RichText::new(text)
        .font(theme::bold(size::BODY))
        .color(colour)
}

/// `size` centred in `area`.
pub fn centred(area: Rect, size: Vec2) -> Rect {
    Rect::from_center_size(area.center(), size)
}
