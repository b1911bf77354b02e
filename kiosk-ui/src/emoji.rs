//! Reactions in colour: the same emoji the guest page sends ([`Reaction::emoji`]), drawn
//! from a shipped colour emoji set as textures (egui's own emoji font is monochrome).
//!
//! The set is Noto Color Emoji, from Debian's `fonts-noto-color-emoji` (the unit's package
//! depends on it, `cargo xtask setup` installs it). Its glyphs are PNG images inside the
//! font (its `CBDT` table); each reaction's is read with `skrifa` (the font reader egui's
//! own text uses) and decoded with `png`, once, when the first reaction shows. Without the
//! font the screen falls back to the reaction's Material icon, tinted.

use egui::ColorImage;
use skrifa::MetadataProvider;
use skrifa::bitmap::{BitmapData, BitmapStrikes};
use skrifa::instance::Size;
use visavis_api::datachannel::Reaction;

/// Where the set is on a unit (and a development machine after `cargo xtask setup`).
pub const FONT: &str = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf";

/// Why a reaction's emoji could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum EmojiError {
    #[error(
        "cannot read the emoji font {path}: {source} (install fonts-noto-color-emoji; `cargo xtask setup` does)"
    )]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a font this kiosk can read: {message}")]
    Font { path: String, message: String },
    #[error("the emoji font has no colour image for {emoji}")]
    Missing { emoji: &'static str },
    #[error("the emoji font's image for {emoji} does not decode: {message}")]
    Png {
        emoji: &'static str,
        message: String,
    },
}

/// Every reaction's emoji as an image, from the font at `path`.
pub fn load(path: &str) -> Result<Vec<(Reaction, ColorImage)>, EmojiError> {
    let data = std::fs::read(path).map_err(|source| EmojiError::Read {
        path: path.to_owned(),
        source,
    })?;
    let font = skrifa::FontRef::new(&data).map_err(|e| EmojiError::Font {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    Reaction::ALL
        .into_iter()
        .map(|r| Ok((r, image(&font, r)?)))
        .collect()
}

/// One reaction's emoji: its first code point's glyph, at the set's largest size.
fn image(font: &skrifa::FontRef<'_>, reaction: Reaction) -> Result<ColorImage, EmojiError> {
    let emoji = reaction.emoji();
    let missing = || EmojiError::Missing { emoji };
    let ch = emoji.chars().next().ok_or_else(missing)?;
    let glyph = font.charmap().map(ch).ok_or_else(missing)?;
    let bitmap = BitmapStrikes::new(font)
        .glyph_for_size(Size::unscaled(), glyph)
        .ok_or_else(missing)?;
    let BitmapData::Png(png) = bitmap.data else {
        return Err(missing());
    };
    decode(png).map_err(|message| EmojiError::Png { emoji, message })
}

/// A PNG as an egui image (RGBA or RGB, 8 bits a channel after expansion).
fn decode(png: &[u8]) -> Result<ColorImage, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("too large")?];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    let size = [info.width as usize, info.height as usize];
    let pixels = &buf[..info.buffer_size()];
    match info.color_type {
        png::ColorType::Rgba => Ok(ColorImage::from_rgba_unmultiplied(size, pixels)),
        png::ColorType::Rgb => Ok(ColorImage::from_rgb(size, pixels)),
        other => Err(format!("{other:?} pixels")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reaction_is_a_large_image_in_colour() {
        let images = load(FONT).expect("the shipped emoji font");
        assert_eq!(images.len(), Reaction::ALL.len());
        for (reaction, image) in images {
            let [w, h] = image.size;
            assert!(w >= 64 && h >= 64, "{reaction:?}: {w}x{h}");
            // In colour: many visible pixels whose channels differ clearly (a grey or
            // monochrome glyph has none).
            let coloured = image
                .pixels
                .iter()
                .filter(|p| p.a() > 128)
                .filter(|p| {
                    let (r, g, b) = (i32::from(p.r()), i32::from(p.g()), i32::from(p.b()));
                    (r - g).abs().max((g - b).abs()).max((r - b).abs()) > 60
                })
                .count();
            assert!(
                coloured > w * h / 10,
                "{reaction:?}: {coloured} coloured pixels"
            );
        }
    }

    #[test]
    fn a_missing_font_is_an_error_that_says_what_to_install() {
        let e = load("/nonexistent/emoji.ttf").unwrap_err();
        assert!(e.to_string().contains("fonts-noto-color-emoji"), "{e}");
        let e = load("/etc/hostname").unwrap_err();
        assert!(matches!(e, EmojiError::Font { .. }), "{e}");
    }
}
