//! Saved looks on the screen: applianced keeps the JPEG stills (local API `look_image`);
//! the kiosk decodes each once into a small RGBA thumbnail with GStreamer's own JPEG
//! decoder. Thumbnails go when the look does (the session ended).

use base64::Engine;
use gstreamer as gst;
use std::sync::Arc;

/// Width of a thumbnail on the screen, in pixels.
pub const THUMB_WIDTH: u32 = 240;

/// A decoded look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumb {
    pub size: [usize; 2],
    pub rgba: Arc<Vec<u8>>,
}

/// Why a look cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum LookError {
    #[error("look is not base64: {0}")]
    NotBase64(#[from] base64::DecodeError),
    #[error("GStreamer: {0}")]
    Gstreamer(#[from] gst::glib::Error),
    #[error("the JPEG decoder pipeline has {0}")]
    Pipeline(&'static str),
    #[error("cannot start the decoder: {0}")]
    Start(#[from] gst::StateChangeError),
    #[error("cannot hand the look to the decoder: {0}")]
    Push(#[from] gst::FlowError),
    #[error("cannot decode the look (not a JPEG?)")]
    NotJpeg,
    #[error("decoded look {0}")]
    Decoded(&'static str),
}

/// Decode a base64 JPEG into a thumbnail `THUMB_WIDTH` wide.
pub fn decode(jpeg_base64: &str) -> Result<Thumb, LookError> {
    let jpeg = base64::engine::general_purpose::STANDARD.decode(jpeg_base64)?;
    gst::init()?;
    let out = run_decoder(jpeg)?;
    let info = out
        .caps()
        .and_then(|c| gstreamer_video::VideoInfo::from_caps(c).ok())
        .ok_or(LookError::Decoded("without size"))?;
    let buffer = out.buffer().ok_or(LookError::Decoded("without pixels"))?;
    let map = buffer
        .map_readable()
        .map_err(|_| LookError::Decoded("with unreadable pixels"))?;
    let (w, h) = (info.width() as usize, info.height() as usize);
    let stride = info.stride()[0] as usize;
    let mut rgba = Vec::with_capacity(w * h * 4);
    for row in map.as_slice().chunks(stride).take(h) {
        rgba.extend_from_slice(&row[..w * 4]);
    }
    if rgba.len() != w * h * 4 {
        return Err(LookError::Decoded("is short"));
    }
    Ok(Thumb {
        size: [w, h],
        rgba: Arc::new(rgba),
    })
}

/// `appsrc ! jpegdec ! videoscale ! RGBA THUMB_WIDTH wide ! appsink`, for one picture.
fn run_decoder(jpeg: Vec<u8>) -> Result<gst::Sample, LookError> {
    use gstreamer::prelude::*;
    let description = format!(
        "appsrc name=src caps=image/jpeg,framerate=0/1 ! jpegdec ! videoconvert ! videoscale \
         ! video/x-raw,format=RGBA,width={THUMB_WIDTH},pixel-aspect-ratio=1/1 ! appsink name=sink"
    );
    let pipeline = gst::parse::launch(&description)?
        .downcast::<gst::Pipeline>()
        .map_err(|_| LookError::Pipeline("no pipeline"))?;
    let src = pipeline
        .by_name("src")
        .and_then(|e| e.downcast::<gstreamer_app::AppSrc>().ok())
        .ok_or(LookError::Pipeline("no appsrc"))?;
    let sink = pipeline
        .by_name("sink")
        .and_then(|e| e.downcast::<gstreamer_app::AppSink>().ok())
        .ok_or(LookError::Pipeline("no appsink"))?;
    pipeline.set_state(gst::State::Playing)?;
    let pushed = src
        .push_buffer(gst::Buffer::from_mut_slice(jpeg))
        .and_then(|_| src.end_of_stream());
    let sample = pushed.map_err(LookError::from).and_then(|_| {
        sink.try_pull_sample(gst::ClockTime::from_seconds(5))
            .ok_or(LookError::NotJpeg)
    });
    let _ = pipeline.set_state(gst::State::Null);
    sample
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 640x480 JPEG made by GStreamer's encoder, as applianced makes them.
    fn jpeg_base64() -> String {
        gst::init().unwrap();
        let raw = gst::Caps::builder("video/x-raw")
            .field("format", "RGBA")
            .field("width", 640)
            .field("height", 480)
            .field("framerate", gst::Fraction::new(30, 1))
            .build();
        let sample = gst::Sample::builder()
            .buffer(&gst::Buffer::from_mut_slice(vec![200u8; 640 * 480 * 4]))
            .caps(&raw)
            .build();
        let jpeg = gstreamer_video::convert_sample(
            &sample,
            &gst::Caps::builder("image/jpeg").build(),
            Some(gst::ClockTime::from_seconds(5)),
        )
        .unwrap();
        let bytes = jpeg.buffer().unwrap().map_readable().unwrap().to_vec();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn a_look_decodes_to_a_thumbnail_of_the_same_shape() {
        let thumb = decode(&jpeg_base64()).unwrap();
        assert_eq!(thumb.size, [240, 180]);
        assert_eq!(thumb.rgba.len(), 240 * 180 * 4);
    }

    #[test]
    fn garbage_is_an_error_not_a_crash() {
        let err = decode("not base64!").unwrap_err();
        assert!(matches!(err, LookError::NotBase64(_)), "{err}");
        assert!(err.to_string().contains("base64"), "{err}");
        assert!(decode("aGVsbG8=").is_err());
    }
}
