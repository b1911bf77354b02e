//! The camera: a V4L2 capture device opened through the `v4l` crate (plain ioctls, no
//! libv4l), with no GStreamer in sight so it runs anywhere a kernel does, including the
//! QEMU guest of the vivid test.
//!
//! - [`list`] says what a device offers (formats and frame sizes), for the staff screen
//!   and `visavis-camera list`.
//! - [`Camera::open`] agrees on a format with the device from a [`Request`] (the formats we
//!   take, in order of preference, and the size and rate we would like).
//! - [`check`] streams a number of frames and looks at each (size, not blank, drops): the
//!   camera test.
//! - [`Capture`] streams from an open camera on its own thread, hands every frame to a
//!   callback, pauses for the privacy switch, and when the device fails, stalls or
//!   disappears reports [`CaptureEvent::Lost`] once, reopens it every [`RETRY`] and reports
//!   [`CaptureEvent::Back`] when frames flow again.

mod capture;
mod check;
mod open;

pub use capture::{Capture, CaptureEvent, Flow, Frame, RETRY, STALL};
pub use check::{CheckReport, check};
pub use open::{Camera, Offer, Request, list};

use std::path::{Path, PathBuf};

/// The pixel formats applianced takes from a camera, in order of preference: NV12 goes to
/// the encoders without conversion, YUYV is what most USB webcams give, MJPG is decoded.
pub const PREFERRED: [[u8; 4]; 3] = [*b"NV12", *b"YUYV", *b"MJPG"];

/// The format a camera agreed to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Format {
    /// The V4L2 pixel format, e.g. `YUYV`.
    pub fourcc: String,
    pub width: u32,
    pub height: u32,
    /// Frames per second the driver agreed to.
    pub fps: u32,
    /// Bytes per line of the first plane.
    pub stride: u32,
    /// The most bytes one frame can take.
    pub frame_bytes: u32,
}

impl Format {
    /// Whether `other` is the same picture: format, size and rate. Line and frame sizes are
    /// left out: some drivers report them from the previous format until streaming starts.
    pub fn same_picture(&self, other: &Format) -> bool {
        (&self.fourcc, self.width, self.height, self.fps)
            == (&other.fourcc, other.width, other.height, other.fps)
    }

    /// The bytes a whole frame of this format takes, for uncompressed formats.
    pub fn expected_bytes(&self) -> Option<usize> {
        let (w, h) = (self.width as usize, self.height as usize);
        match self.fourcc.as_str() {
            "YUYV" | "UYVY" | "YVYU" | "VYUY" | "RGBP" | "RGBR" => Some(w * h * 2),
            "NV12" | "NV21" | "YU12" | "YV12" => Some(w * h * 3 / 2),
            "RGB3" | "BGR3" => Some(w * h * 3),
            "GREY" => Some(w * h),
            _ => None,
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}x{}@{} ({} bytes a line, {} a frame)",
            self.fourcc, self.width, self.height, self.fps, self.stride, self.frame_bytes
        )
    }
}

/// What went wrong with a camera; the message says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraError {
    /// The device node cannot be opened.
    Open { device: PathBuf, message: String },
    /// The device offers none of the formats asked for.
    Unsupported {
        device: PathBuf,
        wanted: Vec<String>,
        offered: Vec<String>,
    },
    /// An ioctl while setting up failed (`what` names the step).
    Setup {
        device: PathBuf,
        what: &'static str,
        message: String,
    },
    /// Streaming stopped with an error (the device was unplugged or unbound, mostly).
    Stream { device: PathBuf, message: String },
    /// No frame arrived for `STALL`.
    Stalled { device: PathBuf, waited_ms: u64 },
    /// The device came back but agreed to a different format than before.
    Changed {
        device: PathBuf,
        expected: Format,
        got: Format,
    },
}

impl CameraError {
    pub(crate) fn open(device: &Path, e: &std::io::Error) -> Self {
        let hint = match e.raw_os_error() {
            // EACCES, ENOENT / ENODEV, EBUSY.
            Some(13) => " (permission denied: add the daemon's user to the `video` group)",
            Some(2) | Some(19) => {
                " (no such device: is the camera plugged in and its driver loaded?)"
            }
            Some(16) => " (busy: another program is using the camera)",
            _ => "",
        };
        CameraError::Open {
            device: device.to_owned(),
            message: format!("{e}{hint}"),
        }
    }

    /// Waiting for the next frame failed: a stall (no frame for [`STALL`]) or the end of
    /// the stream.
    pub(crate) fn dequeue(device: &Path, e: &std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::TimedOut => CameraError::Stalled {
                device: device.to_owned(),
                waited_ms: STALL.as_millis() as u64,
            },
            _ => CameraError::Stream {
                device: device.to_owned(),
                message: e.to_string(),
            },
        }
    }

    pub(crate) fn setup(device: &Path, what: &'static str, e: &std::io::Error) -> Self {
        CameraError::Setup {
            device: device.to_owned(),
            what,
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for CameraError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CameraError::Open { device, message } => {
                write!(f, "camera {}: cannot open: {message}", device.display())
            }
            CameraError::Unsupported {
                device,
                wanted,
                offered,
            } => write!(
                f,
                "camera {}: offers {} but none of {}; set [video] source = \"test\" or use a camera that gives one of them",
                device.display(),
                list_or_nothing(offered),
                wanted.join(", ")
            ),
            CameraError::Setup {
                device,
                what,
                message,
            } => write!(f, "camera {}: cannot {what}: {message}", device.display()),
            CameraError::Stream { device, message } => write!(
                f,
                "camera {}: streaming stopped: {message} (unplugged, or its driver went away?)",
                device.display()
            ),
            CameraError::Stalled { device, waited_ms } => write!(
                f,
                "camera {}: no frame for {waited_ms} ms (the camera stalled; check its cable and power)",
                device.display()
            ),
            CameraError::Changed {
                device,
                expected,
                got,
            } => write!(
                f,
                "camera {}: came back as {got}, expected {expected}; restart applianced to take the new format",
                device.display(),
            ),
        }
    }
}

impl std::error::Error for CameraError {}

fn list_or_nothing(v: &[String]) -> String {
    if v.is_empty() {
        "no capture format".to_owned()
    } else {
        v.join(", ")
    }
}

/// A four-character code as text (`????` when it is not printable).
pub(crate) fn fourcc_text(code: [u8; 4]) -> String {
    if code.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        String::from_utf8_lossy(&code).trim_end().to_owned()
    } else {
        "????".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(fourcc: &str, width: u32, height: u32) -> Format {
        Format {
            fourcc: fourcc.into(),
            width,
            height,
            fps: 30,
            stride: 0,
            frame_bytes: 0,
        }
    }

    #[test]
    fn frame_sizes_of_the_formats_we_take() {
        assert_eq!(fmt("YUYV", 640, 480).expected_bytes(), Some(614_400));
        assert_eq!(fmt("NV12", 1280, 720).expected_bytes(), Some(1_382_400));
        assert_eq!(fmt("MJPG", 640, 480).expected_bytes(), None);
    }

    #[test]
    fn errors_say_what_to_do() {
        let denied = std::io::Error::from_raw_os_error(13);
        let e = CameraError::open(Path::new("/dev/video0"), &denied).to_string();
        assert!(
            e.contains("/dev/video0") && e.contains("`video` group"),
            "{e}"
        );
        let e = CameraError::Unsupported {
            device: "/dev/video0".into(),
            wanted: vec!["NV12".into()],
            offered: vec![],
        }
        .to_string();
        assert!(
            e.contains("no capture format") && e.contains("source = \"test\""),
            "{e}"
        );
    }

    #[test]
    fn unprintable_codes_do_not_garble_messages() {
        assert_eq!(fourcc_text(*b"YUYV"), "YUYV");
        assert_eq!(fourcc_text([0, 1, 2, 3]), "????");
    }
}
