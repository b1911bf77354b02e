//! Stills for saved looks: the newest local-preview frame, encoded to JPEG on demand.
//!
//! The preview branch already scales the camera to the kiosk's size; keeping a reference to
//! its last frame costs nothing, and JPEG encoding happens only when someone taps "Save
//! this look". The still is the camera's view, not mirrored: guests see it as they see the
//! live video.

use crate::metrics::lock;
use gstreamer as gst;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use visavis_api::datachannel::MAX_MESSAGE_BYTES;

/// A frame older than this is not "now" (the camera stalled or the source is paused).
const FRESH: Duration = Duration::from_secs(2);
/// Widest still sent to guests.
const MAX_WIDTH: u32 = 480;
/// Largest JPEG kept, so that its message (base64, 4/3 larger, plus a little JSON) stays
/// under `MAX_MESSAGE_BYTES`; a bigger one is encoded again at half the size.
const MAX_BYTES: usize = MAX_MESSAGE_BYTES / 4 * 3 - 1024;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("the camera has no picture right now (it is starting, stalled or switched off)")]
    NoPicture,
    #[error("cannot encode the still: {0}")]
    Encode(String),
}

/// The latest preview frame, shared between the preview's appsink and the daemon.
#[derive(Clone, Default)]
pub struct Snapshots {
    latest: Arc<Mutex<Option<(Instant, gst::Sample)>>>,
}

impl Snapshots {
    /// Called for every preview frame (keeps a reference to its buffer and caps, no copy).
    /// Not to the sample itself: GStreamer 1.22's appsink reuses the sample it hands out,
    /// and one held here made it log a critical warning at every change of caps (each
    /// loop of a clip camera).
    pub fn offer(&self, sample: &gst::Sample) {
        let (buffer, caps) = (sample.buffer_owned(), sample.caps_owned());
        let own = gst::Sample::builder()
            .buffer_if_some(buffer.as_ref())
            .caps_if_some(caps.as_ref())
            .build();
        *lock(&self.latest) = Some((Instant::now(), own));
    }

    /// Forget the newest frame (the camera was cut: no still of before).
    pub fn forget(&self) {
        *lock(&self.latest) = None;
    }

    /// The current picture as a JPEG. Blocking (encodes): call from a blocking thread.
    pub fn jpeg(&self) -> Result<Vec<u8>, SnapshotError> {
        let sample = match lock(&self.latest).as_ref() {
            Some((at, sample)) if at.elapsed() < FRESH => sample.clone(),
            _ => return Err(SnapshotError::NoPicture),
        };
        let (width, height) = size(&sample).ok_or(SnapshotError::NoPicture)?;
        let mut target = width.min(MAX_WIDTH);
        loop {
            let h = ((u64::from(height) * u64::from(target) / u64::from(width)) as u32 & !1).max(2);
            let jpeg = encode(&sample, target, h)?;
            if jpeg.len() <= MAX_BYTES || target <= 120 {
                return Ok(jpeg);
            }
            target = (target / 2) & !1;
        }
    }
}

fn size(sample: &gst::Sample) -> Option<(u32, u32)> {
    let s = sample.caps()?.structure(0)?;
    let w = s.get::<i32>("width").ok()?;
    let h = s.get::<i32>("height").ok()?;
    Some((u32::try_from(w).ok()?, u32::try_from(h).ok()?)).filter(|(w, h)| *w > 0 && *h > 0)
}

fn encode(sample: &gst::Sample, width: u32, height: u32) -> Result<Vec<u8>, SnapshotError> {
    let caps = gst::Caps::builder("image/jpeg")
        .field("width", width as i32)
        .field("height", height as i32)
        .build();
    let out = gstreamer_video::convert_sample(sample, &caps, Some(gst::ClockTime::from_seconds(5)))
        .map_err(|e| SnapshotError::Encode(e.to_string()))?;
    let buffer = out
        .buffer()
        .ok_or_else(|| SnapshotError::Encode("no buffer".into()))?;
    let map = buffer
        .map_readable()
        .map_err(|e| SnapshotError::Encode(e.to_string()))?;
    Ok(map.as_slice().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgba_sample(width: u32, height: u32) -> gst::Sample {
        gst::init().unwrap();
        let mut data = vec![0u8; (width * height * 4) as usize];
        for (i, px) in data.chunks_mut(4).enumerate() {
            let x = (i as u32 % width) as u8;
            px.copy_from_slice(&[x, 255 - x, 128, 255]);
        }
        let caps = gst::Caps::builder("video/x-raw")
            .field("format", "RGBA")
            .field("width", width as i32)
            .field("height", height as i32)
            .field("framerate", gst::Fraction::new(30, 1))
            .build();
        gst::Sample::builder()
            .buffer(&gst::Buffer::from_mut_slice(data))
            .caps(&caps)
            .build()
    }

    #[test]
    fn a_fresh_frame_becomes_a_small_jpeg_and_no_frame_is_an_error() {
        let snapshots = Snapshots::default();
        assert!(matches!(snapshots.jpeg(), Err(SnapshotError::NoPicture)));
        snapshots.offer(&rgba_sample(640, 360));
        let jpeg = snapshots.jpeg().unwrap();
        assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF], "a JPEG");
        assert!(jpeg.len() <= MAX_BYTES);
    }
}
