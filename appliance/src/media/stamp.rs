//! A machine-readable capture timestamp drawn into the picture, for true glass-to-glass
//! latency measurement (benchmarks only, `video.capture_timestamp = true`).
//!
//! The top-left strip of each frame carries [`BITS`] square blocks, white for 1 and black
//! for 0: 48 bits of Unix time in milliseconds, then an 8-bit XOR check. Blocks are
//! [`block_size`] pixels wide so they survive H.264 at any bitrate the unit uses. A guest
//! reads them back from a canvas (`rendezvous/web`), on the same machine's clock.

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

/// Draw `unix_ms` into an I420 frame given its three planes and strides.
pub fn draw_i420(planes: [(&mut [u8], usize); 3], width: u32, height: u32, unix_ms: u64) {
    let bs = block_size(width) as usize;
    if bs * BITS > width as usize || bs > height as usize {
        return;
    }
    let [(y, y_stride), (u, u_stride), (v, v_stride)] = planes;
    for (i, bit) in encode(unix_ms).iter().enumerate() {
        let luma = if *bit { 235 } else { 16 };
        for row in 0..bs {
            let start = row * y_stride + i * bs;
            if let Some(px) = y.get_mut(start..start + bs) {
                px.fill(luma);
            }
        }
        // Neutral chroma so the blocks read as grey, whatever the picture had there.
        for row in 0..bs / 2 {
            for (plane, stride) in [(&mut *u, u_stride), (&mut *v, v_stride)] {
                let start = row * stride + i * bs / 2;
                if let Some(px) = plane.get_mut(start..start + bs / 2) {
                    px.fill(128);
                }
            }
        }
    }
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
    fn drawn_blocks_read_back_from_the_luma_plane() {
        let (w, h) = (640u32, 360u32);
        let mut y = vec![100u8; (w * h) as usize];
        let mut u = vec![50u8; (w * h / 4) as usize];
        let mut v = vec![200u8; (w * h / 4) as usize];
        let ms = 1_795_000_000_999;
        draw_i420(
            [
                (&mut y, w as usize),
                (&mut u, w as usize / 2),
                (&mut v, w as usize / 2),
            ],
            w,
            h,
            ms,
        );
        let bs = block_size(w) as usize;
        let bits: [bool; BITS] =
            std::array::from_fn(|i| y[(bs / 2) * w as usize + i * bs + bs / 2] > 128);
        assert_eq!(decode(&bits), Some(ms));
        assert_eq!(u[0], 128);
    }
}
