//! The invite link as a QR code image a phone camera reads from arm's length.

use egui::ColorImage;
use qrcode::{Color, EcLevel, QrCode};

/// A QR code for `text`, `scale` pixels per module, with the standard 4-module quiet zone.
pub fn image(text: &str, scale: usize) -> Option<ColorImage> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 8) * scale;
    let mut pixels = vec![egui::Color32::WHITE; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c == Color::Dark {
            let (mx, my) = (i % modules + 4, i / modules + 4);
            for y in my * scale..(my + 1) * scale {
                pixels[y * side + mx * scale..y * side + (mx + 1) * scale]
                    .fill(egui::Color32::BLACK);
            }
        }
    }
    Some(ColorImage::new([side, side], pixels))
}

#[cfg(test)]
mod tests {
    #[test]
    fn qr_has_quiet_zone_and_dark_modules() {
        let img = super::image("http://127.0.0.1:8443/i/abc", 4).unwrap();
        assert_eq!(img.size[0], img.size[1]);
        assert_eq!(img.pixels[0], egui::Color32::WHITE);
        assert!(img.pixels.contains(&egui::Color32::BLACK));
    }
}
