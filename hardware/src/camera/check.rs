//! The camera test: stream a number of frames and look at them.

use super::{Camera, CameraError, Format};
use std::time::Instant;
use v4l::buffer::Type;
use v4l::io::traits::CaptureStream;

/// What streaming a number of frames from a camera showed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CheckReport {
    pub device: String,
    pub format: Format,
    /// Frames received.
    pub frames: u32,
    /// Frames whose size was not what the format takes (uncompressed formats only).
    pub wrong_size: u32,
    /// Frames whose bytes were all the same value (a black or blank picture).
    pub blank: u32,
    /// Frames the driver's counter says were dropped between the first and the last.
    pub dropped: u32,
    /// Wall-clock time of the whole run, first frame included.
    pub elapsed_ms: u64,
}

impl CheckReport {
    /// True when every frame arrived whole and showed something.
    pub fn passed(&self) -> bool {
        self.frames > 0 && self.wrong_size == 0 && self.blank == 0
    }
}

/// Stream `frames` frames from `camera` and check each one.
pub fn check(camera: &Camera, frames: u32) -> Result<CheckReport, CameraError> {
    let device = &camera.device;
    let start = Instant::now();
    let mut stream = v4l::io::mmap::Stream::with_buffers(&camera.dev, Type::VideoCapture, 4)
        .map_err(|e| CameraError::setup(device, "map capture buffers", &e))?;
    stream.set_timeout(super::STALL);
    let expected = camera.format.expected_bytes();
    let mut report = CheckReport {
        device: device.display().to_string(),
        format: camera.format.clone(),
        frames: 0,
        wrong_size: 0,
        blank: 0,
        dropped: 0,
        elapsed_ms: 0,
    };
    let mut first_sequence = None;
    let mut last_sequence = 0;
    while report.frames < frames {
        let (data, meta) = stream
            .next()
            .map_err(|e| CameraError::dequeue(device, &e))?;
        let used = (meta.bytesused as usize).min(data.len());
        let frame = &data[..used];
        report.frames += 1;
        if expected.is_some_and(|n| n != used) || used == 0 {
            report.wrong_size += 1;
        }
        if frame.iter().all(|b| Some(b) == frame.first()) {
            report.blank += 1;
        }
        first_sequence.get_or_insert(meta.sequence);
        last_sequence = meta.sequence;
    }
    let span = last_sequence.wrapping_sub(first_sequence.unwrap_or(last_sequence));
    report.dropped = span.saturating_sub(report.frames.saturating_sub(1));
    report.elapsed_ms = start.elapsed().as_millis() as u64;
    Ok(report)
}
