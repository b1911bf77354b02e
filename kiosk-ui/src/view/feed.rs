//! The call's feed: guests' chat bubbles and reactions, in one area the live screen sets
//! aside for them where they hide no face (beside the bar, along an edge, beside the
//! looks: see [`super::live`]). Chat lines show as bubbles for [`link::CHAT_SHOWN`], at
//! most [`BUBBLES`] at once, the newest at the bottom; reactions as chips (the colour
//! emoji, [`crate::emoji`], the sender's name and the word), each in a slot of its own so two
//! never overlap, drifting up and fading over [`link::REACTION_SHOWN`].
//!
//! A wide area puts the bubbles on the left and the reactions on the right; a narrow one
//! puts the bubbles above the reactions.

use super::Cx;
use super::widgets;
use crate::i18n::{Key, fill};
use crate::link;
use crate::theme::{self, colour, icon, size, space};
use egui::{Rect, RichText};
use std::sync::Arc;
use visavis_api::datachannel::Reaction;

/// Chat bubbles on the screen at once (the newest).
pub const BUBBLES: usize = 2;
/// The lines one bubble may take; a longer line ends in "…".
const BUBBLE_ROWS: usize = 3;
/// A reaction's emoji, in points.
const EMOJI: f32 = 40.0;
/// A reaction chip's height.
const CHIP_H: f32 = 52.0;
/// How far a chip drifts up over its life (less than the gap between slots).
const DRIFT: f32 = space::SMALL_GAP;
/// From this width on, bubbles and reactions sit side by side.
const SIDE_BY_SIDE: f32 = 520.0;
/// The reactions' column, when side by side.
const REACTIONS_W: f32 = 260.0;

/// The height a stacked feed needs to show two one-line bubbles and two reactions.
pub const COMFORTABLE_H: f32 = 4.0 * CHIP_H + 3.0 * space::SMALL_GAP;

/// The height a band `width` wide needs for two bubbles and two reactions: less when
/// they sit side by side.
pub fn band_height(width: f32) -> f32 {
    if width >= SIDE_BY_SIDE {
        2.0 * CHIP_H + 3.0 * space::SMALL_GAP + space::GAP
    } else {
        COMFORTABLE_H
    }
}

/// Draw the fresh bubbles and the floating reactions in `area`.
pub fn show(ui: &mut egui::Ui, cx: &mut Cx<'_>, area: Rect) {
    if area.width() <= 0.0 || area.height() <= 0.0 {
        return;
    }
    let (chat, reactions) = if area.width() >= SIDE_BY_SIDE {
        let split = area.right() - REACTIONS_W;
        (
            Rect::from_min_max(area.min, egui::pos2(split - space::GAP, area.bottom())),
            Rect::from_min_max(egui::pos2(split, area.top()), area.max),
        )
    } else {
        // The reactions take the bottom: two slots if a bubble still fits above, else one.
        let slots = if area.height() >= 2.0 * (CHIP_H + space::SMALL_GAP) + 120.0 {
            2.0
        } else {
            1.0
        };
        let r_h = (slots * (CHIP_H + space::SMALL_GAP)).min(area.height());
        let split = area.bottom() - r_h;
        (
            Rect::from_min_max(area.min, egui::pos2(area.right(), split)),
            Rect::from_min_max(egui::pos2(area.left(), split), area.max),
        )
    };
    bubbles(ui, cx, chat);
    chips(ui, cx, reactions);
}

/// The newest fresh chat lines as bubbles in `area`, the newest at the bottom; a line that
/// would not fit is left out (the newest first).
fn bubbles(ui: &mut egui::Ui, cx: &Cx<'_>, area: Rect) {
    let fresh: Vec<_> = cx
        .state
        .bubbles
        .iter()
        .filter(|(at, _)| at.elapsed() < link::CHAT_SHOWN)
        .collect();
    let margin = egui::vec2(14.0, 8.0);
    let wrap = area.width() - 2.0 * margin.x;
    if wrap < 40.0 {
        return;
    }
    let mut bottom = area.bottom();
    for (_, line) in fresh.iter().rev().take(BUBBLES) {
        let text = fill(
            cx.t(Key::ChatLine),
            &[("name", &line.name), ("text", &line.text)],
        );
        let mut job = egui::text::LayoutJob::single_section(
            text,
            egui::TextFormat::simple(egui::FontId::proportional(size::BODY), colour::BG),
        );
        job.wrap.max_width = wrap;
        job.wrap.max_rows = BUBBLE_ROWS;
        let galley: Arc<egui::Galley> = ui.ctx().fonts_mut(|f| f.layout_job(job));
        let outer = galley.size() + 2.0 * margin;
        if bottom - outer.y < area.top() {
            break;
        }
        let rect = Rect::from_min_size(egui::pos2(area.left(), bottom - outer.y), outer);
        ui.painter()
            .rect_filled(rect, space::ROUNDING, colour::TEXT);
        ui.put(rect.shrink2(margin), egui::Label::new(galley));
        bottom = rect.top() - space::SMALL_GAP;
    }
    if !fresh.is_empty() {
        // Come back when the oldest shown bubble goes.
        let oldest = fresh.iter().map(|(at, _)| at.elapsed()).max();
        if let Some(age) = oldest {
            ui.ctx()
                .request_repaint_after(link::CHAT_SHOWN.saturating_sub(age));
        }
    }
}

/// Floating reactions as chips in `area`, one slot each from the bottom up: the newest as
/// many as there are slots.
fn chips(ui: &mut egui::Ui, cx: &mut Cx<'_>, area: Rect) {
    let slots = ((area.height() + space::SMALL_GAP) / (CHIP_H + space::SMALL_GAP)).floor() as usize;
    let floating: Vec<(usize, f32, Reaction, &str)> = cx
        .state
        .reactions
        .iter()
        .enumerate()
        .filter_map(|(i, (at, reaction, name))| {
            let t = at.elapsed().as_secs_f32() / link::REACTION_SHOWN.as_secs_f32();
            (t < 1.0).then_some((i, t, *reaction, name.as_str()))
        })
        .collect();
    if floating.is_empty() {
        return;
    }
    ui.ctx().request_repaint();
    if slots == 0 {
        return;
    }
    // The newest `slots` have consecutive numbers: their slots differ.
    let shown = &floating[floating.len().saturating_sub(slots)..];
    for &(i, t, reaction, name) in shown {
        let (glyph, tint, key) = match reaction {
            Reaction::Heart => (icon::HEART, colour::HEART, Key::ReactHeart),
            Reaction::ThumbsUp => (icon::THUMBS_UP, colour::THUMBS_UP, Key::ReactThumbsUp),
            Reaction::Fire => (icon::FIRE, colour::FIRE, Key::ReactFire),
            Reaction::Laugh => (icon::LAUGH, colour::LAUGH, Key::ReactLaugh),
            Reaction::Wow => (icon::WOW, colour::WOW, Key::ReactWow),
            Reaction::Clap => (icon::CLAP, colour::CLAP, Key::ReactClap),
        };
        let slot = (i % slots) as f32;
        let fade = if t < 0.6 { 1.0 } else { 1.0 - (t - 0.6) / 0.4 };
        let bottom = area.bottom() - slot * (CHIP_H + space::SMALL_GAP) - t * DRIFT;
        let place = Rect::from_min_max(
            egui::pos2(area.left(), bottom - CHIP_H),
            egui::pos2(area.right(), bottom),
        );
        let mut child = ui.new_child(
            egui::UiBuilder::new()
                .max_rect(place)
                .layout(egui::Layout::left_to_right(egui::Align::Center)),
        );
        child.set_opacity(fade);
        child
            .painter()
            .rect_filled(place, CHIP_H / 2.0, colour::SCRIM);
        child.add_space(space::GAP);
        // The emoji in colour; the tinted icon if the emoji font is missing.
        match cx.media.emoji(ui.ctx(), reaction) {
            Some(tex) => {
                child.add(egui::Image::new(&tex).fit_to_exact_size(egui::vec2(EMOJI, EMOJI)));
            }
            None => {
                child.label(
                    RichText::new(glyph)
                        .font(theme::icon_font(EMOJI))
                        .color(tint),
                );
            }
        }
        child.add_space(space::SMALL_GAP);
        let line = fill(
            cx.t(Key::ReactionFrom),
            &[("name", name), ("word", cx.t(key))],
        );
        child.add(egui::Label::new(widgets::bold_words(line, colour::TEXT)).truncate());
    }
}
