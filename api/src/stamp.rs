//! A machine-readable capture timestamp drawn into the picture, for true glass-to-glass
//! and frame-to-paint latency measurement (benchmarks only, `video.capture_timestamp =
//! true` in applianced).
//!
//! The top-left strip of each frame carries [`BITS`] square blocks, white for 1 and black
//! for 0: 48 bits of Unix time in milliseconds, then an 8-bit XOR check. Blocks are
//! [`block_size`] pixels wide so they survive H.264 at any bitrate the unit uses.
//! applianced draws them; a guest reads them back from a canvas (`rendezvous/web`), the
//! kiosk from its preview frames ([`read_rgba`]), on the same machine's clock.

/// Data blocks: 48 bits of milliseconds + 8 check bits.
pub const BITS: usize = 56;

/// Side of one block in pixels for a frame `width` pixels wide.
pub fn block_size(width: u32) -> u32 {
    ((width / 64) & !1).max(8)
}

fn check(value: u64) -> u8 {
    value.to_le_bytes()[..6].iter().fold(0, |a, b| a ^ b)
}

/// The 56 bits to draw for `unix_ms`, most significant first.
pub fn encode(unix_ms: u64) -> [bool; BITS] {
    let word = ((unix_ms & 0xFFFF_FFFF_FFFF) << 8) | check(unix_ms & 0xFFFF_FFFF_FFFF) as u64;
    std::array::from_fn(|i| (word >> (BITS - 1 - i)) & 1 == 1)
}

/// The milliseconds encoded in `bits`, or `None` when the check fails.
pub fn decode(bits: &[bool; BITS]) -> Option<u64> {
    let word = bits.iter().fold(0u64, |a, b| (a << 1) | *b as u64);
    let value = word >> 8;
    (check(value) == (word & 0xFF) as u8).then_some(value)
}

/// The timestamp in an RGBA frame `width` pixels wide, drawn when the frame was `drawn_width`
/// wide (the preview may be scaled): `None` when there is none, or it does not check (a
/// dark corner reads as all zeros, which checks: zero is not a time either).
pub fn read_rgba(rgba: &[u8], width: usize, drawn_width: u32) -> Option<u64> {
    let scale = width as f64 / f64::from(drawn_width.max(1));
    let bs = f64::from(block_size(drawn_width)) * scale;
    let row = (bs / 2.0) as usize;
    let bits: [bool; BITS] = std::array::from_fn(|i| {
        let x = (i as f64 * bs + bs / 2.0) as usize;
        let at = (row * width + x) * 4;
        rgba.get(at..at + 3).is_some_and(|p| {
            (u32::from(p[0]) * 3 + u32::from(p[1]) * 6 + u32::from(p[2])) / 10 > 128
        })
    });
    decode(&bits).filter(|ms| *ms > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_corruption() {
        let ms = 1_795_000_000_123;
        let mut bits = encode(ms);
        assert_eq!(decode(&bits), Some(ms));
        bits[20] = !bits[20];
        assert_eq!(decode(&bits), None);
    }

    #[test]
    fn reads_back_from_a_scaled_rgba_frame() {
        // Drawn on a 1280-wide frame (blocks of 20 px), read from the 640-wide preview.
        let (w, h) = (640usize, 40usize);
        let mut rgba = vec![90u8; w * h * 4];
        let ms = 1_795_000_000_777;
        let bs = block_size(1280) as usize / 2;
        for (i, bit) in encode(ms).iter().enumerate() {
            for y in 0..bs {
                for x in i * bs..(i + 1) * bs {
                    let v = if *bit { 235 } else { 16 };
                    rgba[(y * w + x) * 4..(y * w + x) * 4 + 3].fill(v);
                }
            }
        }
        assert_eq!(read_rgba(&rgba, w, 1280), Some(ms));
        assert_eq!(read_rgba(&vec![90u8; w * h * 4], w, 1280), None);
        assert_eq!(read_rgba(&[], w, 1280), None);
    }
}
