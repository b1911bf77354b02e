//! V4L2 camera capture through the `v4l` crate: negotiate a format, stream mmap buffers
//! into the video pipeline's appsrc, and reopen the device when it disappears.

use super::MediaError;
use gstreamer as gst;
use gstreamer_app as gst_app;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use v4l::buffer::Type;
use v4l::io::traits::CaptureStream;
use v4l::prelude::*;
use v4l::video::Capture;

/// Pixel formats we take from a camera, in order of preference.
const PREFERRED: [&[u8; 4]; 3] = [b"NV12", b"YUYV", b"MJPG"];

/// The format a camera agreed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub fourcc: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl Negotiated {
    /// GStreamer caps for buffers in this format.
    pub fn caps(&self) -> String {
        let Negotiated {
            width, height, fps, ..
        } = self;
        match self.fourcc.as_str() {
            "MJPG" => format!("image/jpeg,width={width},height={height},framerate={fps}/1"),
            "YUYV" => {
                format!("video/x-raw,format=YUY2,width={width},height={height},framerate={fps}/1")
            }
            other => format!(
                "video/x-raw,format={other},width={width},height={height},framerate={fps}/1"
            ),
        }
    }
}

fn camera_err(device: &Path, message: impl std::fmt::Display) -> MediaError {
    MediaError::Camera {
        device: device.display().to_string(),
        message: message.to_string(),
    }
}

/// Open `device` and agree on the best format near `width`x`height`@`fps`.
pub fn negotiate(
    device: &Path,
    width: u32,
    height: u32,
    fps: u32,
) -> Result<(Device, Negotiated), MediaError> {
    let dev = Device::with_path(device).map_err(|e| {
        camera_err(
            device,
            format!("{e} (is the camera plugged in, and is the daemon in the `video` group?)"),
        )
    })?;
    let offered: Vec<String> = dev
        .enum_formats()
        .map_err(|e| camera_err(device, format!("cannot list formats: {e}")))?
        .iter()
        .map(|d| d.fourcc.str().unwrap_or("????").to_owned())
        .collect();
    let fourcc = PREFERRED
        .iter()
        .find(|f| offered.iter().any(|o| o.as_bytes() == f.as_slice()))
        .ok_or_else(|| {
            camera_err(
                device,
                format!("offers {offered:?}, none of NV12, YUYV, MJPG"),
            )
        })?;
    let mut fmt = dev.format().map_err(|e| camera_err(device, e))?;
    fmt.width = width;
    fmt.height = height;
    fmt.fourcc = v4l::FourCC::new(fourcc);
    let fmt = dev
        .set_format(&fmt)
        .map_err(|e| camera_err(device, format!("set format: {e}")))?;
    let params = dev
        .set_params(&v4l::video::capture::Parameters::with_fps(fps))
        .map_err(|e| camera_err(device, format!("set frame rate: {e}")))?;
    let got_fps = match params.interval.numerator {
        0 => fps,
        n => (params.interval.denominator / n).max(1),
    };
    Ok((
        dev,
        Negotiated {
            fourcc: fmt.fourcc.str().unwrap_or("????").to_owned(),
            width: fmt.width,
            height: fmt.height,
            fps: got_fps,
        },
    ))
}

/// The thread streaming camera frames into the pipeline. Stops when dropped.
pub struct CaptureThread {
    stop: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl CaptureThread {
    /// Stop streaming (the device stays open) or start again: the privacy switch.
    pub fn pause(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
    }
}

impl Drop for CaptureThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Stream from `device` (already negotiated as `dev`/`format`) into `src` until stopped.
/// When the device fails or disappears, retry opening it every second with the same format;
/// each new problem is logged once, not every second.
pub fn spawn(
    device: PathBuf,
    dev: Device,
    format: Negotiated,
    src: gst_app::AppSrc,
) -> CaptureThread {
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let paused = Arc::new(AtomicBool::new(false));
    let paused2 = paused.clone();
    let handle = std::thread::Builder::new()
        .name("v4l2-capture".into())
        .spawn(move || {
            let mut dev = Some(dev);
            let mut last_problem: Option<String> = None;
            let mut report = |problem: String| {
                if last_problem.as_deref() != Some(problem.as_str()) {
                    tracing::error!(device = %device.display(), "{problem}; retrying every second");
                    last_problem = Some(problem);
                }
            };
            while !stop2.load(Ordering::Relaxed) {
                let d = match dev.take() {
                    Some(d) => d,
                    None => match negotiate(&device, format.width, format.height, format.fps) {
                        Ok((d, f)) if f == format => {
                            tracing::info!(device = %device.display(), "camera is back");
                            d
                        }
                        Ok((_, f)) => {
                            report(format!("camera came back as {f:?}, expected {format:?}"));
                            std::thread::sleep(Duration::from_secs(1));
                            continue;
                        }
                        Err(e) => {
                            report(e.to_string());
                            std::thread::sleep(Duration::from_secs(1));
                            continue;
                        }
                    },
                };
                if paused2.load(Ordering::SeqCst) {
                    // Privacy: not streaming. Looked at again in 20 ms.
                    dev = Some(d);
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                match stream(&d, &src, &stop2, &paused2) {
                    Ok(()) => dev = Some(d),
                    Err(e) => report(format!("camera stream stopped: {e}")),
                }
            }
        })
        .map_err(|e| tracing::error!("cannot start the camera thread: {e}"))
        .ok();
    CaptureThread {
        stop,
        paused,
        handle,
    }
}

fn stream(
    dev: &Device,
    src: &gst_app::AppSrc,
    stop: &AtomicBool,
    paused: &AtomicBool,
) -> std::io::Result<()> {
    let mut stream = MmapStream::with_buffers(dev, Type::VideoCapture, 4)?;
    while !stop.load(Ordering::Relaxed) && !paused.load(Ordering::SeqCst) {
        let (data, meta) = stream.next()?;
        let used = (meta.bytesused as usize).min(data.len());
        let used = if used == 0 { data.len() } else { used };
        let buffer = gst::Buffer::from_slice(data[..used].to_vec());
        if src.push_buffer(buffer).is_err() {
            // The pipeline is shutting down.
            return Ok(());
        }
    }
    Ok(())
}
