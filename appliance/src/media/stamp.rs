//! Drawing the capture timestamp of [`visavis_api::stamp`] into camera frames (benchmarks
//! only, `video.capture_timestamp = true`).

pub use visavis_api::stamp::{BITS, block_size, decode, encode};

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
