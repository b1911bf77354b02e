//! The video layers: what guests subscribe to, and the knobs the network turns.
//!
//! Two encodings of the same camera, each shared by every guest on it: the main layer
//! (`[video] width`, `height`, `fps`) and a small one (`small_height`, `small_fps`) for
//! guests whose network carries far less than the others'. The small layer's encoder sits
//! behind a valve and encodes nothing until a guest needs it. [`VideoControl`] sets each
//! encoder's bitrate on the live element and opens or closes the small layer; the
//! congestion controller (`crate::congestion`) decides when.

use super::EncodedFrame;
use super::keyframes::KeyframeRequester;
use crate::metrics::Metrics;
use gstreamer as gst;
use gstreamer::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use tokio::sync::broadcast;
use visavis_api::local::VideoLayer;

/// One layer's encoded frames and its keyframe requests.
#[derive(Clone)]
pub struct LayerOutput {
    pub frames: broadcast::Sender<Arc<EncodedFrame>>,
    pub keyframes: KeyframeRequester,
}

/// Every layer's output, for guests' senders.
#[derive(Clone)]
pub struct VideoLayers {
    pub main: LayerOutput,
    pub small: LayerOutput,
}

impl VideoLayers {
    pub fn get(&self, layer: VideoLayer) -> &LayerOutput {
        match layer {
            VideoLayer::Main => &self.main,
            VideoLayer::Small => &self.small,
        }
    }
}

/// Sets the layers' encoders at run time. Cheap to clone; usable from any thread.
#[derive(Clone)]
pub struct VideoControl {
    /// The encoder element's factory name (`x264enc`, `openh264enc`, `v4l2h264enc`).
    kind: &'static str,
    main: gst::Element,
    small: gst::Element,
    small_valve: gst::Element,
    metrics: Arc<Metrics>,
    small_started: Arc<AtomicBool>,
}

impl VideoControl {
    pub(super) fn new(
        kind: &'static str,
        pipeline: &gst::Pipeline,
        metrics: Arc<Metrics>,
    ) -> Result<Self, super::MediaError> {
        let element = |name: &str| {
            pipeline.by_name(name).ok_or_else(|| {
                super::MediaError::Init(format!("the video pipeline has no element `{name}`"))
            })
        };
        Ok(VideoControl {
            kind,
            main: element("encoder")?,
            small: element("encoder_small")?,
            small_valve: element("small_valve")?,
            metrics,
            small_started: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Set `layer`'s encoder to `bps` bits per second, on the running element: x264enc's
    /// `bitrate` (kbit/s), openh264enc's `bitrate` (bit/s), v4l2h264enc's
    /// `extra-controls` `video_bitrate` (bit/s; not tried on a device yet).
    pub fn set_bitrate(&self, layer: VideoLayer, bps: u64) {
        let encoder = match layer {
            VideoLayer::Main => &self.main,
            VideoLayer::Small => &self.small,
        };
        let bps32 = u32::try_from(bps).unwrap_or(u32::MAX);
        match self.kind {
            "x264enc" => encoder.set_property("bitrate", (bps32 / 1000).max(1)),
            "openh264enc" => encoder.set_property("bitrate", bps32),
            "v4l2h264enc" => {
                let mut controls = encoder
                    .property::<Option<gst::Structure>>("extra-controls")
                    .unwrap_or_else(|| gst::Structure::new_empty("controls"));
                controls.set("video_bitrate", bps32 as i32);
                encoder.set_property("extra-controls", controls);
            }
            other => {
                tracing::warn!(encoder = other, "cannot set the bitrate of this encoder");
                return;
            }
        }
        self.metrics
            .layer(layer)
            .target_bitrate_bps
            .store(bps, Relaxed);
        tracing::debug!(layer = layer.as_str(), bps, "video bitrate set");
    }

    /// Start or stop encoding the small layer (the main one always runs). Stopped, its
    /// valve drops frames before the scaler, so the idle encoder costs nothing.
    pub fn set_small_active(&self, active: bool) {
        if active && !self.small_started.swap(true, Relaxed) {
            self.metrics.video_encoders_started.fetch_add(1, Relaxed);
        }
        self.small_valve.set_property("drop", !active);
        self.metrics.small_layer.active.store(active, Relaxed);
        tracing::info!(active, "small video layer");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gstreamer_app as gst_app;

    /// Bytes per frame over the frames `range` of `sink`, pulling (and discarding) the
    /// others; `first` is the number of the next frame to pull.
    fn bytes_per_frame(
        sink: &gst_app::AppSink,
        range: std::ops::Range<u32>,
        first: &mut u32,
    ) -> f64 {
        let mut bytes = 0usize;
        while *first < range.end {
            let sample = sink
                .try_pull_sample(gst::ClockTime::from_seconds(20))
                .expect("the test pipeline produces frames");
            if range.contains(first) {
                bytes += sample.buffer().map_or(0, |b| b.size());
            }
            *first += 1;
        }
        bytes as f64 / range.len() as f64
    }

    /// A 640x360 test `pattern` through `encoder` (as the daemon configures it) at 2 Mbit/s,
    /// then the target lowered to 300 kbit/s on the running element: the frames after the
    /// change must be at most `ratio` of those before. Frames are pulled one by one, so the
    /// change lands at a known frame whatever the machine's speed.
    fn lowering_the_target_shrinks_the_frames(encoder: &'static str, pattern: &str, ratio: f64) {
        gst::init().unwrap();
        if gst::ElementFactory::find(encoder).is_none() {
            eprintln!("{encoder} is not installed; skipped");
            return;
        }
        let description = format!(
            "videotestsrc pattern={pattern} num-buffers=400 \
             ! video/x-raw,format=I420,width=640,height=360,framerate=30/1 ! tee name=t \
             t. ! queue ! {} ! h264parse ! appsink name=sink sync=false max-buffers=2 \
             t. ! valve name=small_valve drop=true ! queue ! {} ! fakesink async=false",
            super::super::video::encoder_description(encoder, "encoder", 2000, 30),
            super::super::video::encoder_description(encoder, "encoder_small", 500, 15),
        );
        let (pipeline, sink) = super::super::pipeline::build("test", &description).unwrap();
        let metrics = Arc::new(Metrics::default());
        let control = VideoControl::new(encoder, &pipeline, metrics.clone()).unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let mut frame = 0;
        let high = bytes_per_frame(&sink, 60..150, &mut frame);
        control.set_bitrate(VideoLayer::Main, 300_000);
        let low = bytes_per_frame(&sink, 210..300, &mut frame);
        pipeline.set_state(gst::State::Null).unwrap();
        eprintln!("{encoder}: {high:.0} bytes/frame at 2 Mbit/s, {low:.0} at 300 kbit/s");
        assert!(
            low < ratio * high,
            "{encoder}: {low:.0} bytes/frame after lowering vs {high:.0} before"
        );
        assert_eq!(metrics.main_layer.target_bitrate_bps.load(Relaxed), 300_000);
    }

    #[test]
    fn lowering_x264s_target_at_run_time_shrinks_its_frames() {
        // Noise: x264 meets any target, so the frames follow it (300/2000 = 0.15).
        lowering_the_target_shrinks_the_frames("x264enc", "snow", 0.3);
    }

    #[test]
    fn lowering_openh264s_target_at_run_time_shrinks_its_frames() {
        // OpenH264's rate control gives up on noise and stops short of low targets: moving
        // bars, and only "clearly fewer".
        lowering_the_target_shrinks_the_frames("openh264enc", "smpte horizontal-speed=4", 0.75);
    }
}
