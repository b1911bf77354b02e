//! Guests' tiles: each guest's video, decoded by applianced and read here over shared
//! memory ([`crate::preview`]); a reader starts when applianced announces the tile and stops
//! when it goes. [`grid`] lays a table's cells out over its whole area; [`draw`] paints one: the picture (or
//! the name's initial while there is none), the name, and the speaking indicator.

use crate::preview::Feed;
use crate::theme::{colour, size, space};
use egui::{Color32, Rect, RichText, TextureHandle};
use std::collections::HashMap;
use visavis_api::local::{GuestState, GuestStatus};

/// Tiles are 4:3, as applianced sends them.
pub const ASPECT: f32 = 4.0 / 3.0;

/// One reader per announced tile, keyed by its socket.
#[derive(Default)]
pub struct Tiles {
    feeds: HashMap<String, (Feed, Option<(TextureHandle, u64)>)>,
}

impl Tiles {
    /// Read exactly the tiles of the guests in `guests` that are in the call.
    pub fn sync(&mut self, guests: &[GuestStatus], ctx: &egui::Context) {
        let wanted: Vec<_> = guests
            .iter()
            .filter(|g| g.state == GuestState::InCall)
            .filter_map(|g| g.tile.as_ref())
            .collect();
        self.feeds
            .retain(|socket, _| wanted.iter().any(|t| &t.socket == socket));
        for tile in wanted {
            if !self.feeds.contains_key(&tile.socket) {
                let ctx = ctx.clone();
                let feed = crate::preview::spawn(tile.clone(), move || ctx.request_repaint());
                self.feeds.insert(tile.socket.clone(), (feed, None));
            }
        }
    }

    /// The newest picture of `guest`'s tile, if one came.
    pub fn texture(&mut self, ctx: &egui::Context, guest: &GuestStatus) -> Option<TextureHandle> {
        let socket = &guest.tile.as_ref()?.socket;
        let (feed, cache) = self.feeds.get_mut(socket)?;
        crate::preview::texture(ctx, socket, &feed.frames, cache)
    }

    /// Screens for the docs: show `latest` as the tile at `socket`.
    #[cfg(test)]
    pub(crate) fn stage(&mut self, socket: &str, latest: crate::preview::Latest) {
        self.feeds
            .insert(socket.to_owned(), (Feed::still(latest), None));
    }

    /// How many readers run (tests).
    #[cfg(test)]
    pub(crate) fn reading(&self) -> usize {
        self.feeds.len()
    }
}

/// How wide a guest's whole picture is drawn in a cell of `size`: it covers the cell,
/// cropped where the cell is not 4:3.
pub fn picture_width(size: egui::Vec2) -> f32 {
    size.x.max(size.y * ASPECT)
}

/// `n` cells in `area`, row by row, filling it: every full row spans the whole width and
/// the rows the whole height, `gap` between them. The column count is the one that gives
/// the largest picture of `aspect` inside a cell (the picture is then cropped to fill its
/// cell); a shorter last row is centred.
pub fn grid(n: usize, area: Rect, aspect: f32, gap: f32) -> Vec<Rect> {
    if n == 0 || area.width() <= 0.0 || area.height() <= 0.0 {
        return Vec::new();
    }
    let cell_for = |cols: usize| {
        let rows = n.div_ceil(cols);
        let w = (area.width() - gap * (cols - 1) as f32) / cols as f32;
        let h = (area.height() - gap * (rows - 1) as f32) / rows as f32;
        egui::vec2(w.max(0.0), h.max(0.0))
    };
    let fitted = |cols: usize| {
        let c = cell_for(cols);
        c.x.min(c.y * aspect)
    };
    let cols = (1..=n)
        .max_by(|a, b| fitted(*a).total_cmp(&fitted(*b)))
        .unwrap_or(1);
    let size = cell_for(cols);
    let rows = n.div_ceil(cols);
    (0..n)
        .map(|i| {
            let (row, col) = (i / cols, i % cols);
            // The last row may be shorter: centre it.
            let in_row = if row == rows - 1 {
                n - row * cols
            } else {
                cols
            };
            let used_w = in_row as f32 * size.x + (in_row - 1) as f32 * gap;
            let left = area.left() + (area.width() - used_w) / 2.0;
            let min = egui::pos2(
                left + col as f32 * (size.x + gap),
                area.top() + row as f32 * (size.y + gap),
            );
            Rect::from_min_size(min, size)
        })
        .collect()
}

/// One tile in `rect`: the picture or the initial, the name along the bottom, and while the
/// guest speaks a green border and `speaking` (the word, in the screen's language).
pub fn draw(
    ui: &mut egui::Ui,
    rect: Rect,
    name: &str,
    picture: Option<&TextureHandle>,
    speaking: Option<&str>,
) {
    let small = rect.width() < 240.0;
    ui.painter()
        .rect_filled(rect, space::ROUNDING, colour::SURFACE);
    match picture {
        Some(tex) => {
            ui.put(
                rect,
                egui::Image::new(tex)
                    .fit_to_exact_size(rect.size())
                    .maintain_aspect_ratio(false)
                    // Cropped to fill the cell, never stretched.
                    .uv(crate::view::live::cover_uv(tex.size(), rect.size(), false))
                    .corner_radius(12.0),
            );
        }
        None => {
            let initial: String = name.chars().take(1).flat_map(char::to_uppercase).collect();
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                initial,
                egui::FontId::proportional(rect.height() * 0.4),
                Color32::from_gray(200),
            );
        }
    }
    let text_size = size::BODY;
    // A small tile (a table of eight) keeps the words their size but hugs them closer, so
    // the name and the speaking word leave the face in view.
    let line = if small { 1.3 } else { 1.8 };
    let strip = Rect::from_min_max(
        egui::pos2(rect.left(), rect.bottom() - text_size * line),
        rect.max,
    );
    ui.painter()
        .rect_filled(strip, 0.0, Color32::from_black_alpha(150));
    let label =
        egui::Label::new(RichText::new(name).size(text_size).color(Color32::WHITE)).truncate();
    ui.put(strip.shrink2(egui::vec2(10.0, 2.0)), label);
    if let Some(word) = speaking {
        ui.painter().rect_stroke(
            rect,
            12.0,
            egui::Stroke::new(if small { 3.0 } else { 5.0 }, colour::OK),
            egui::StrokeKind::Inside,
        );
        // On one line, as wide as the word needs (within the tile).
        let inset = if small { 4.0 } else { 10.0 };
        let pill = Rect::from_min_size(
            rect.min + egui::vec2(inset, inset),
            egui::vec2(rect.width() - 2.0 * inset, text_size * (line - 0.2)),
        );
        let mut child = ui.new_child(egui::UiBuilder::new().max_rect(pill));
        egui::Frame::new()
            .fill(colour::OK)
            .corner_radius(10.0)
            .inner_margin(if small {
                egui::Margin::symmetric(6, 0)
            } else {
                egui::Margin::symmetric(8, 2)
            })
            .show(&mut child, |ui| {
                ui.add(
                    egui::Label::new(RichText::new(word).size(text_size).color(colour::ON_OK))
                        .truncate(),
                );
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(w: f32, h: f32) -> Rect {
        Rect::from_min_size(egui::pos2(0.0, 0.0), egui::vec2(w, h))
    }

    #[test]
    fn every_count_up_to_nine_fills_the_area_without_overlap_at_every_screen_size() {
        for (w, h) in [
            (821.0, 290.0),
            (1248.0, 480.0),
            (688.0, 870.0),
            (570.0, 300.0),
        ] {
            let a = area(w, h);
            for n in 1..=9 {
                let tiles = grid(n, a, ASPECT, 8.0);
                assert_eq!(tiles.len(), n);
                for (i, t) in tiles.iter().enumerate() {
                    assert!(a.expand(0.01).contains_rect(*t), "{n} in {w}x{h}: {t:?}");
                    // A face still reads at arm's length: a cell is never a thumbnail.
                    assert!(
                        t.width() >= 120.0 && t.height() >= 80.0,
                        "{n} in {w}x{h}: {t:?}"
                    );
                    for u in &tiles[i + 1..] {
                        assert!(!t.shrink(0.01).intersects(*u), "{n}: {t:?} and {u:?}");
                    }
                }
                // The first row spans the whole width, the rows the whole height.
                let first = tiles.iter().filter(|t| (t.top() - a.top()).abs() < 0.5);
                let (l, r) = first.fold((f32::MAX, f32::MIN), |(l, r), t| {
                    (l.min(t.left()), r.max(t.right()))
                });
                assert!(
                    (l - a.left()).abs() < 0.5 && (r - a.right()).abs() < 0.5,
                    "{n} in {w}x{h}"
                );
                let bottom = tiles.iter().map(|t| t.bottom()).fold(f32::MIN, f32::max);
                assert!((bottom - a.bottom()).abs() < 0.5, "{n} in {w}x{h}");
            }
        }
    }

    #[test]
    fn one_guest_takes_the_whole_width_and_more_guests_share_it() {
        let a = area(1200.0, 900.0);
        let one = grid(1, a, ASPECT, 8.0);
        assert_eq!(one[0], a);
        let four = grid(4, a, ASPECT, 8.0);
        // Two by two, not four in a row.
        assert!((four[0].top() - four[1].top()).abs() < 0.5);
        assert!(four[2].top() > four[0].bottom());
        // Six at a wide table: three by two, each as wide as a third of the table.
        let six = grid(6, area(1248.0, 480.0), ASPECT, 8.0);
        assert!((six[0].width() - (1248.0 - 16.0) / 3.0).abs() < 0.5);
        assert!(six[3].top() > six[0].bottom());
        assert!(grid(0, a, ASPECT, 8.0).is_empty());
    }
}
