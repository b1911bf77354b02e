//! The camera as the video pipeline's source: [`visavis_hardware::camera`] negotiates and
//! streams (and reopens a camera that went away); this module gives GStreamer caps for the
//! agreed format and pushes every frame into the pipeline's appsrc.

use super::MediaError;
use gstreamer as gst;
use gstreamer_app as gst_app;
use std::path::Path;
use visavis_hardware::camera::{self, Camera, CaptureEvent, Flow, Request};

/// Open `device` and agree on NV12, YUYV or MJPG near `width`x`height`@`fps`.
pub fn open(device: &Path, width: u32, height: u32, fps: u32) -> Result<Camera, MediaError> {
    Ok(Camera::open(
        device,
        &Request::preferred(width, height, fps),
    )?)
}

/// GStreamer caps for buffers in `format`.
pub fn caps(format: &camera::Format) -> String {
    let camera::Format {
        width, height, fps, ..
    } = format;
    match format.fourcc.as_str() {
        "MJPG" => format!("image/jpeg,width={width},height={height},framerate={fps}/1"),
        "YUYV" => {
            format!("video/x-raw,format=YUY2,width={width},height={height},framerate={fps}/1")
        }
        other => {
            format!("video/x-raw,format={other},width={width},height={height},framerate={fps}/1")
        }
    }
}

/// Stream `camera` into `src` until the returned capture is dropped. Problems with the
/// camera are logged once each, and its return too.
pub fn spawn(camera: Camera, src: gst_app::AppSrc) -> Result<camera::Capture, MediaError> {
    let device = camera.device().display().to_string();
    let on_frame = move |frame: camera::Frame<'_>| {
        let buffer = gst::Buffer::from_slice(frame.data.to_vec());
        match src.push_buffer(buffer) {
            Ok(_) => Flow::Continue,
            // The pipeline is shutting down.
            Err(_) => Flow::Stop,
        }
    };
    let on_event = move |event: CaptureEvent| match event {
        CaptureEvent::Lost(problem) => {
            tracing::error!(device, "{problem}; retrying every second")
        }
        CaptureEvent::Back(format) => tracing::info!(device, ?format, "camera is back"),
    };
    camera::Capture::spawn(camera, on_frame, on_event)
        .map_err(|e| MediaError::Init(format!("cannot start the camera thread: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_name_gstreamer_formats() {
        let f = camera::Format {
            fourcc: "YUYV".into(),
            width: 640,
            height: 480,
            fps: 30,
            stride: 1280,
            frame_bytes: 614_400,
        };
        assert_eq!(
            caps(&f),
            "video/x-raw,format=YUY2,width=640,height=480,framerate=30/1"
        );
        let f = camera::Format {
            fourcc: "MJPG".into(),
            ..f
        };
        assert!(caps(&f).starts_with("image/jpeg,"));
    }
}
