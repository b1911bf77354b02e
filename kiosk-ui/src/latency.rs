//! Frame-to-paint latency, for the benchmark (`kiosk --latency-log <file>`): when a new
//! preview frame goes to the screen, a line `<painted unix ms> <captured unix ms>` is
//! appended to the file, the capture time being the timestamp applianced drew into the
//! frame (`video.capture_timestamp = true`, see [`visavis_api::stamp`]); `-` when the frame
//! has none that reads back. Every painted frame has its line, so the file also gives the
//! paint rate. Off unless asked for.

use crate::preview::Latest;
use std::io::Write;
use std::path::Path;

pub struct LatencyLog {
    out: std::io::BufWriter<std::fs::File>,
}

impl LatencyLog {
    /// Append to `path` (created if missing).
    pub fn open(path: &Path) -> std::io::Result<LatencyLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(LatencyLog {
            out: std::io::BufWriter::new(file),
        })
    }

    /// `frame` is being painted now. The timestamp is read at the frame's own width: the
    /// benchmark makes the preview as wide as the camera.
    pub fn painted(&mut self, frame: &Latest) {
        let width = frame.size[0];
        let captured = visavis_api::stamp::read_rgba(&frame.rgba, width, width as u32)
            .map_or_else(|| "-".to_owned(), |ms| ms.to_string());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        // A full disk only loses measurements.
        let _ = writeln!(self.out, "{now} {captured}").and_then(|()| self.out.flush());
    }
}
