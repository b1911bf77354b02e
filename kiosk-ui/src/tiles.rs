//! Guests' tiles: each guest's video, decoded by applianced and read here over shared
//! memory ([`crate::preview`]); a reader starts when applianced announces the tile and stops
//! when it goes. [`grid`] lays tiles out for a table; [`draw`] paints one: the picture (or
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

/// `n` tiles of `aspect` in `area`, as large as they can be with `gap` between them, row
/// by row, centred. The column count is the one that gives the largest tiles.
pub fn grid(n: usize, area: Rect, aspect: f32, gap: f32) -> Vec<Rect> {
    if n == 0 || area.width() <= 0.0 || area.height() <= 0.0 {
        return Vec::new();
    }
    let size_for = |cols: usize| {
        let rows = n.div_ceil(cols);
        let w = (area.width() - gap * (cols - 1) as f32) / cols as f32;
        let h = (area.height() - gap * (rows - 1) as f32) / rows as f32;
        let w = w.min(h * aspect).max(0.0);
        egui::vec2(w, w / aspect)
    };
    let cols = (1..=n)
        .max_by(|a, b| size_for(*a).x.total_cmp(&size_for(*b).x))
        .unwrap_or(1);
    let size = size_for(cols);
    let rows = n.div_ceil(cols);
    let used_h = rows as f32 * size.y + (rows - 1) as f32 * gap;
    let top = area.top() + (area.height() - used_h) / 2.0;
    (0..n)
        .map(|i| {
            let (row, col) = (i / cols, i % cols);
            // The last row may be shorter: centre it too.
            let in_row = if row == rows - 1 {
                n - row * cols
            } else {
                cols
            };
            let used_w = in_row as f32 * size.x + (in_row - 1) as f32 * gap;
            let left = area.left() + (area.width() - used_w) / 2.0;
            let min = egui::pos2(
                left + col as f32 * (size.x + gap),
                top + row as f32 * (size.y + gap),
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
    let strip = Rect::from_min_max(
        egui::pos2(rect.left(), rect.bottom() - text_size * 1.8),
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
        let pill = Rect::from_min_size(
            rect.min + egui::vec2(10.0, 10.0),
            egui::vec2(rect.width() * 0.6, text_size * 1.6),
        );
        let mut child = ui.new_child(egui::UiBuilder::new().max_rect(pill));
        egui::Frame::new()
            .fill(colour::OK)
            .corner_radius(10.0)
            .inner_margin(egui::Margin::symmetric(8, 2))
            .show(&mut child, |ui| {
                ui.label(
                    RichText::new(word)
                        .size(text_size * 0.8)
                        .color(colour::ON_OK),
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
    fn every_count_up_to_eight_fits_without_overlap_at_every_screen_size() {
        for (w, h) in [(768.0, 800.0), (1152.0, 1080.0), (1080.0, 960.0)] {
            let a = area(w, h);
            for n in 1..=8 {
                let tiles = grid(n, a, ASPECT, 8.0);
                assert_eq!(tiles.len(), n);
                for (i, t) in tiles.iter().enumerate() {
                    assert!(a.expand(0.01).contains_rect(*t), "{n} in {w}x{h}: {t:?}");
                    assert!((t.width() / t.height() - ASPECT).abs() < 0.01);
                    // A face still reads at arm's length: a tile is never a thumbnail.
                    assert!(t.width() >= 160.0, "{n} in {w}x{h}: {t:?}");
                    for u in &tiles[i + 1..] {
                        assert!(!t.shrink(0.01).intersects(*u), "{n}: {t:?} and {u:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn one_guest_takes_the_whole_width_and_more_guests_share_it() {
        let a = area(1200.0, 900.0);
        let one = grid(1, a, ASPECT, 8.0);
        assert!((one[0].width() - 1200.0).abs() < 0.5);
        let four = grid(4, a, ASPECT, 8.0);
        // Two by two, not four in a row.
        assert!((four[0].top() - four[1].top()).abs() < 0.5);
        assert!(four[2].top() > four[0].bottom());
        assert!(grid(0, a, ASPECT, 8.0).is_empty());
    }
}
