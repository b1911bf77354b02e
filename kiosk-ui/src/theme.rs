//! The kiosk's one visual system: the palette (the guest page's, so the phone and the
//! screen look like one product), the type sizes, the spacing and the fonts. Every colour
//! and size on the screens comes from here; the test below computes the contrast of each
//! pair the screens use (text at least 4.5:1, controls at least 3:1, as WCAG asks).
//!
//! Fonts come from Debian packages the unit depends on (`xtask/src/setup.rs` installs them
//! on development machines, `xtask/src/package.rs` names them in the unit's package):
//! Inter (`fonts-inter`) for every word, Material Icons
//! (`fonts-material-design-icons-iconfont`) for the icons.

use egui::{Color32, FontFamily, FontId};

/// Colours, by what they are for.
pub mod colour {
    use super::Color32;

    /// Behind everything (the guest page's `--bg`).
    pub const BG: Color32 = Color32::from_rgb(0x17, 0x14, 0x1f);
    /// Cards and the bar (`--panel`).
    pub const SURFACE: Color32 = Color32::from_rgb(0x22, 0x1d, 0x2e);
    /// A secondary button's fill (`--line`).
    pub const SECONDARY: Color32 = Color32::from_rgb(0x3a, 0x32, 0x49);
    /// Words (`--text`).
    pub const TEXT: Color32 = Color32::from_rgb(0xf6, 0xf1, 0xfb);
    /// Quieter words, and the outline of secondary buttons (`--muted`).
    pub const MUTED: Color32 = Color32::from_rgb(0xb9, 0xaf, 0xc8);
    /// The one primary colour: "Ask my friends", "Let in" (`--accent`).
    pub const PRIMARY: Color32 = Color32::from_rgb(0xff, 0x7a, 0x59);
    /// Words and icons on the primary colour.
    pub const ON_PRIMARY: Color32 = BG;
    /// Destructive and "off": End, "Mic off", the privacy switch (darker than the guest
    /// page's `--danger` so white words on it read).
    pub const DESTRUCTIVE: Color32 = Color32::from_rgb(214, 52, 56);
    /// Words and icons on the destructive colour.
    pub const ON_DESTRUCTIVE: Color32 = Color32::WHITE;
    /// The speaking indicator and "erased" (`--ok`).
    pub const OK: Color32 = Color32::from_rgb(0x3d, 0xd6, 0x8c);
    /// Words on the OK colour.
    pub const ON_OK: Color32 = BG;
    /// Something needs attention (reconnecting, staff needed), as words on the background.
    pub const WARNING: Color32 = Color32::from_rgb(0xff, 0xb2, 0x24);
    /// Reactions, each in its own colour.
    pub const HEART: Color32 = Color32::from_rgb(0xff, 0x4d, 0x6d);
    pub const THUMBS_UP: Color32 = Color32::from_rgb(0x5c, 0xb2, 0xff);
    pub const FIRE: Color32 = Color32::from_rgb(0xff, 0x8c, 0x28);
    pub const LAUGH: Color32 = Color32::from_rgb(0xff, 0xd2, 0x3c);
    pub const WOW: Color32 = Color32::from_rgb(0xc3, 0x8b, 0xff);
    pub const CLAP: Color32 = Color32::from_rgb(0xff, 0xc8, 0x57);
    /// Over the picture, under floating controls and cards (BG, mostly opaque).
    pub const SCRIM: Color32 = Color32::from_rgba_premultiplied(0x11, 0x0f, 0x17, 0xd8);
    /// Over the picture behind a moment that needs an answer (a knock, "End?").
    /// The scrim as it looks over a black picture (its darkest).
    pub const SCRIM_OPAQUE: Color32 = Color32::from_rgb(0x11, 0x0f, 0x17);
    pub const DIM: Color32 = Color32::from_rgba_premultiplied(0, 0, 0, 0xb0);
}

/// Type sizes, in points (the kiosk runs at 1.5 pixels per point). No word on any screen,
/// the staff's included, is smaller than [`size::BODY`]: `screens.rs` checks every text
/// drawn on every screen, in [`TEXT_EXCEPTIONS`] excepted (none today).
pub mod size {
    /// Every word: labels, captions, notices, the link under the QR code, staff's report
    /// and log lines. The smallest text there is.
    pub const BODY: f32 = 22.0;
    /// Card titles, a guest's name on a knock.
    pub const TITLE: f32 = 32.0;
    /// The attract screen's title.
    pub const DISPLAY: f32 = 48.0;
    /// Icons in the round buttons.
    pub const ICON: f32 = 34.0;
    /// The smallest icon (the volume's steps).
    pub const ICON_SMALL: f32 = ICON * 0.8;
}

/// Words allowed below [`size::BODY`], each with the reason: none. (Icons are glyphs in
/// the icon font, not words, and are not counted; the smallest is [`size::ICON_SMALL`].)
pub const TEXT_EXCEPTIONS: &[(&str, &str)] = &[];

/// Spacing, in points.
pub mod space {
    pub const GAP: f32 = 12.0;
    pub const SMALL_GAP: f32 = 8.0;
    /// Between the screen's edge and what floats over the picture.
    pub const EDGE: f32 = 16.0;
    pub const CARD_MARGIN: f32 = 24.0;
    pub const ROUNDING: f32 = 18.0;
    /// A round button's diameter.
    pub const ROUND: f32 = 68.0;
    /// A round button's width with its caption.
    pub const ROUND_ITEM: f32 = 100.0;
    /// A pill button's height.
    pub const PILL: f32 = 64.0;
}

/// The icon font's family.
pub fn icons() -> FontFamily {
    FontFamily::Name("icons".into())
}

/// An icon at `size`.
pub fn icon_font(size: f32) -> FontId {
    FontId::new(size, icons())
}

/// Material Icons' code points for the icons the screens use.
pub mod icon {
    pub const MIC: &str = "\u{e029}";
    pub const MIC_OFF: &str = "\u{e02b}";
    pub const VIDEOCAM: &str = "\u{e04b}";
    pub const VIDEOCAM_OFF: &str = "\u{e04c}";
    pub const CALL_END: &str = "\u{e0b1}";
    pub const PHOTO_CAMERA: &str = "\u{e412}";
    pub const PERSON_ADD: &str = "\u{e7fe}";
    pub const VOLUME_DOWN: &str = "\u{e04d}";
    pub const VOLUME_UP: &str = "\u{e050}";
    pub const ROOM_SERVICE: &str = "\u{eb49}";
    pub const TRANSLATE: &str = "\u{e8e2}";
    pub const LOCK: &str = "\u{e897}";
    pub const CHECK: &str = "\u{e5ca}";
    pub const HEART: &str = "\u{e87d}";
    pub const THUMBS_UP: &str = "\u{e8dc}";
    pub const FIRE: &str = "\u{ef55}";
    pub const LAUGH: &str = "\u{e815}";
    pub const WOW: &str = "\u{ea22}";
    pub const CLAP: &str = "\u{ea65}";
}

/// Where the fonts are on a unit (and a development machine after `cargo xtask setup`).
pub const INTER: &str = "/usr/share/fonts/opentype/inter/Inter-Regular.otf";
pub const INTER_BOLD: &str = "/usr/share/fonts/opentype/inter/Inter-SemiBold.otf";
pub const ICONS: &str =
    "/usr/share/fonts/truetype/material-design-icons-iconfont/MaterialIcons-Regular.ttf";

/// A font the kiosk could not load.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot read the font {path}: {source} (install fonts-inter and fonts-material-design-icons-iconfont; `cargo xtask setup` does)"
)]
pub struct FontError {
    pub path: &'static str,
    pub source: std::io::Error,
}

/// Load the fonts and the style into `ctx`: Inter for words (egui's own fonts stay as the
/// fallback for what Inter lacks), Material Icons as [`icons`], the palette's colours for
/// egui's own widgets. Without the fonts the screen still works, in egui's fonts.
pub fn install(ctx: &egui::Context) -> Result<(), FontError> {
    ctx.set_visuals(visuals());
    // egui's own text styles (a widget given no size) at the body size at least.
    ctx.all_styles_mut(|style| {
        for font in style.text_styles.values_mut() {
            font.size = font.size.max(size::BODY);
        }
    });
    let read =
        |path: &'static str| std::fs::read(path).map_err(|source| FontError { path, source });
    let (inter, bold, icons_font) = (read(INTER)?, read(INTER_BOLD)?, read(ICONS)?);
    let mut fonts = egui::FontDefinitions::default();
    fonts
        .font_data
        .insert("inter".into(), egui::FontData::from_owned(inter).into());
    fonts
        .font_data
        .insert("inter-bold".into(), egui::FontData::from_owned(bold).into());
    fonts.font_data.insert(
        "icons".into(),
        egui::FontData::from_owned(icons_font).into(),
    );
    if let Some(family) = fonts.families.get_mut(&FontFamily::Proportional) {
        family.insert(0, "inter".into());
    }
    fonts.families.insert(
        FontFamily::Name("bold".into()),
        vec!["inter-bold".into(), "inter".into()],
    );
    fonts.families.insert(icons(), vec!["icons".into()]);
    ctx.set_fonts(fonts);
    Ok(())
}

/// The semi-bold family, for titles and button words.
pub fn bold(size: f32) -> FontId {
    FontId::new(size, FontFamily::Name("bold".into()))
}

/// egui's own widgets (the staff keypad) in the palette.
fn visuals() -> egui::Visuals {
    let mut v = egui::Visuals::dark();
    v.panel_fill = colour::BG;
    v.window_fill = colour::SURFACE;
    v.override_text_color = Some(colour::TEXT);
    for w in [
        &mut v.widgets.inactive,
        &mut v.widgets.hovered,
        &mut v.widgets.active,
    ] {
        w.weak_bg_fill = colour::SECONDARY;
        w.bg_fill = colour::SECONDARY;
        w.bg_stroke = egui::Stroke::new(2.0, colour::MUTED);
        w.fg_stroke = egui::Stroke::new(2.0, colour::TEXT);
        w.corner_radius = egui::CornerRadius::same(14);
    }
    v.selection.bg_fill = colour::PRIMARY;
    v.selection.stroke = egui::Stroke::new(3.0, colour::PRIMARY);
    v
}

/// WCAG's relative luminance of an opaque colour.
pub fn luminance(c: Color32) -> f64 {
    let lin = |v: u8| {
        let s = f64::from(v) / 255.0;
        if s <= 0.04045 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(c.r()) + 0.7152 * lin(c.g()) + 0.0722 * lin(c.b())
}

/// WCAG's contrast ratio between two opaque colours (1 to 21).
pub fn contrast(a: Color32, b: Color32) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[cfg(test)]
mod tests {
    use super::colour::*;
    use super::*;

    #[test]
    fn words_read_and_controls_stand_out() {
        // Words on what they are drawn on: at least 4.5:1.
        let words = [
            ("text on the background", TEXT, BG),
            ("text on cards and the bar", TEXT, SURFACE),
            ("text on secondary buttons", TEXT, SECONDARY),
            ("quieter words on the background", MUTED, BG),
            ("quieter words on cards", MUTED, SURFACE),
            ("words on the primary colour", ON_PRIMARY, PRIMARY),
            (
                "words on the destructive colour",
                ON_DESTRUCTIVE,
                DESTRUCTIVE,
            ),
            ("words on the speaking green", ON_OK, OK),
            ("warnings on the background", WARNING, BG),
            ("warnings on cards", WARNING, SURFACE),
        ];
        for (what, fg, bg) in words {
            let ratio = contrast(fg, bg);
            assert!(ratio >= 4.5, "{what}: {ratio:.2}:1");
        }
        // Controls against what is around them: at least 3:1.
        let controls = [
            ("a primary button on the background", PRIMARY, BG),
            ("a primary button on a card", PRIMARY, SURFACE),
            ("End on the bar", DESTRUCTIVE, SURFACE),
            ("a secondary button's outline on the bar", MUTED, SURFACE),
            ("a secondary button's outline on the background", MUTED, BG),
            ("the speaking border on a tile", OK, SURFACE),
            ("a heart on its bubble", HEART, SCRIM_OPAQUE),
            ("a thumbs-up on its bubble", THUMBS_UP, SCRIM_OPAQUE),
            ("fire on its bubble", FIRE, SCRIM_OPAQUE),
            ("a laugh on its bubble", LAUGH, SCRIM_OPAQUE),
            ("a wow on its bubble", WOW, SCRIM_OPAQUE),
            ("applause on its bubble", CLAP, SCRIM_OPAQUE),
        ];
        for (what, fg, bg) in controls {
            let ratio = contrast(fg, bg);
            assert!(ratio >= 3.0, "{what}: {ratio:.2}:1");
        }
    }

    #[test]
    fn contrast_is_computed_as_wcag_does() {
        assert!((contrast(Color32::WHITE, Color32::BLACK) - 21.0).abs() < 0.01);
        assert!((contrast(BG, BG) - 1.0).abs() < 1e-9);
        // #777 on white is the textbook 4.48:1.
        let grey = Color32::from_gray(0x77);
        assert!((contrast(grey, Color32::WHITE) - 4.48).abs() < 0.01);
    }

    #[test]
    fn the_shipped_fonts_load() {
        let ctx = egui::Context::default();
        install(&ctx).expect("the kiosk's fonts");
    }
}
