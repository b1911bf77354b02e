//! The video pipeline: camera, test pattern or looped Y4M clip → the one H.264 encoder.

use super::{EncodedFrame, MediaError, pipeline, stamp, v4l2};
use crate::config::{EncoderChoice, VideoConfig, VideoSource};
use crate::metrics::Metrics;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::broadcast;

/// H.264 RTP clock.
pub const CLOCK_RATE: u32 = 90_000;

/// The encoder element to use for `choice`: the hardware one when it exists, else x264,
/// else OpenH264. An explicit choice that is not installed is an error.
pub fn select_encoder(choice: EncoderChoice) -> Result<&'static str, MediaError> {
    let have = |name: &str| gst::ElementFactory::find(name).is_some();
    let wanted: &[&'static str] = match choice {
        EncoderChoice::Auto => &["v4l2h264enc", "x264enc", "openh264enc"],
        EncoderChoice::V4l2h264enc => &["v4l2h264enc"],
        EncoderChoice::X264enc => &["x264enc"],
        EncoderChoice::Openh264enc => &["openh264enc"],
    };
    wanted.iter().copied().find(|n| have(n)).ok_or_else(|| {
        MediaError::NoEncoder(format!(
            "none of {wanted:?} is installed (Debian: gstreamer1.0-plugins-ugly for x264enc, gstreamer1.0-plugins-bad for openh264enc)"
        ))
    })
}

/// The encoder part of the pipeline description, tuned for low latency.
fn encoder_description(encoder: &str, config: &VideoConfig) -> String {
    let kbps = config.bitrate_kbps;
    // Keyframes come on request (new guest, PLI); this is only a safety net.
    let gop = config.fps * 10;
    match encoder {
        "v4l2h264enc" => format!(
            "v4l2h264enc name=encoder extra-controls=\"controls,video_bitrate={},repeat_sequence_header=1,h264_i_frame_period={gop}\" \
             ! video/x-h264,level=(string)4,profile=(string)constrained-baseline",
            kbps * 1000
        ),
        "openh264enc" => format!(
            "openh264enc name=encoder bitrate={} complexity=low rate-control=bitrate gop-size={gop}",
            kbps * 1000
        ),
        _ => format!(
            "x264enc name=encoder tune=zerolatency speed-preset=ultrafast bitrate={kbps} key-int-max={gop} bframes=0 \
             ! video/x-h264,profile=constrained-baseline"
        ),
    }
}

/// Where frames come from.
enum Source {
    Test,
    File(String),
    Camera(visavis_hardware::camera::Camera),
}

fn pick_source(config: &VideoConfig) -> Result<Source, MediaError> {
    let camera =
        || v4l2::open(&config.device, config.width, config.height, config.fps).map(Source::Camera);
    Ok(match config.source {
        VideoSource::Test => Source::Test,
        VideoSource::File => Source::File(
            config
                .file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        VideoSource::V4l2 => camera()?,
        VideoSource::Auto if config.device.exists() => match camera() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("{e}; using the test pattern instead");
                Source::Test
            }
        },
        VideoSource::Auto => Source::Test,
    })
}

/// The kiosk's preview branch: scaled RGBA frames into a `shmsink`.
#[derive(Debug, Clone)]
pub struct PreviewBranch {
    pub socket: std::path::PathBuf,
    pub width: u32,
    pub height: u32,
}

fn description(
    source: &Source,
    encoder: &str,
    config: &VideoConfig,
    preview: Option<&PreviewBranch>,
) -> String {
    let (w, h, fps) = (config.width, config.height, config.fps);
    let raw = format!("video/x-raw,format=I420,width={w},height={h},framerate={fps}/1");
    // A looped clip restarts its timestamps at every loop, which videorate takes for a
    // huge jump: clips are played at their own frame rate instead.
    let raw_no_rate = format!("video/x-raw,format=I420,width={w},height={h}");
    let head = match source {
        // A moving pattern with a running clock (when GStreamer's Pango plugin, Debian's
        // gstreamer1.0-x, is there): a frozen picture is obvious.
        Source::Test => format!(
            "videotestsrc is-live=true pattern=smpte horizontal-speed=2 \
             ! video/x-raw,width={w},height={h},framerate={fps}/1 \
             ! {}videoconvert ! {raw}",
            if gstreamer::ElementFactory::find("timeoverlay").is_some() {
                "timeoverlay halignment=right valignment=bottom font-desc=\"Sans 28\" ! "
            } else {
                ""
            }
        ),
        Source::File(path) => format!(
            "filesrc location=\"{}\" blocksize=2097152 ! y4mdec ! clocksync \
             ! videoconvert ! videoscale ! {raw_no_rate}",
            path.replace('"', "")
        ),
        Source::Camera(camera) => {
            let fmt = camera.format();
            let decode = if fmt.fourcc == "MJPG" {
                "jpegdec ! "
            } else {
                ""
            };
            format!(
                "appsrc name=camsrc is-live=true format=time do-timestamp=true caps=\"{}\" \
                 ! {decode}videoconvert ! videoscale ! videorate ! {raw}",
                v4l2::caps(fmt)
            )
        }
    };
    let preview = preview.map_or(String::new(), |p| {
        format!(
            " t. ! queue max-size-buffers=1 max-size-time=0 max-size-bytes=0 leaky=downstream \
             ! videoscale ! videoconvert ! {} \
             ! appsink name=preview sync=false max-buffers=1 drop=true",
            super::preview::caps(p)
        )
    });
    format!(
        "{head} ! valve name=privacy drop=false drop-mode=forward-sticky-events \
         ! identity name=capture ! tee name=t \
         t. ! queue max-size-buffers=2 max-size-time=0 max-size-bytes=0 leaky=downstream \
         ! {} ! h264parse config-interval=-1 \
         ! video/x-h264,stream-format=byte-stream,alignment=au \
         ! appsink name=sink sync=false max-buffers=4 drop=false{preview}",
        encoder_description(encoder, config)
    )
}

/// Count captured frames and, when asked, stamp the capture time into each.
fn watch_capture(pipeline: &gst::Pipeline, metrics: Arc<Metrics>, stamp_frames: bool) {
    let Some(pad) = pipeline
        .by_name("capture")
        .and_then(|e| e.static_pad("src"))
    else {
        return;
    };
    let info: std::sync::Mutex<Option<gst_video::VideoInfo>> = std::sync::Mutex::new(None);
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, probe| {
        metrics.frames_captured.fetch_add(1, Ordering::Relaxed);
        if !stamp_frames {
            return gst::PadProbeReturn::Ok;
        }
        let mut info = crate::metrics::lock(&info);
        if info.is_none() {
            *info = pad
                .current_caps()
                .and_then(|c| gst_video::VideoInfo::from_caps(&c).ok());
        }
        if let (Some(info), Some(gst::PadProbeData::Buffer(buffer))) =
            (info.as_ref(), probe.data.as_mut())
        {
            let unix_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            let buffer = buffer.make_mut();
            if let Ok(mut frame) = gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, info)
            {
                let strides = [0, 1, 2].map(|p| frame.plane_stride()[p] as usize);
                let (width, height) = (frame.width(), frame.height());
                let [y, u, v, _] = frame.planes_data_mut();
                stamp::draw_i420(
                    [(y, strides[0]), (u, strides[1]), (v, strides[2])],
                    width,
                    height,
                    unix_ms,
                );
            }
        }
        gst::PadProbeReturn::Ok
    });
}

/// Build and start the video pipeline; publish encoded frames on `tx`.
pub fn start(
    config: &VideoConfig,
    preview: Option<&PreviewBranch>,
    metrics: Arc<Metrics>,
    tx: broadcast::Sender<Arc<EncodedFrame>>,
    gate: Arc<super::gate::Gate>,
) -> Result<
    (
        pipeline::Running,
        Option<visavis_hardware::camera::Capture>,
        Option<super::preview::Preview>,
    ),
    MediaError,
> {
    let encoder = select_encoder(config.encoder)?;
    let source = pick_source(config)?;
    let description = description(&source, encoder, config, preview);
    tracing::info!(encoder, pipeline = %description, "starting video");
    let (pipe, sink) = pipeline::build("video", &description)?;
    *crate::metrics::lock(&metrics.video_encoder) = encoder.to_owned();
    metrics
        .target_bitrate_bps
        .store(u64::from(config.bitrate_kbps) * 1000, Ordering::Relaxed);
    metrics
        .video_encoders_started
        .fetch_add(1, Ordering::Relaxed);
    watch_capture(&pipe, metrics.clone(), config.capture_timestamp);
    pipeline::publish(&sink, CLOCK_RATE, tx, metrics, |m| &m.frames_encoded, gate);

    let preview_out = match (
        preview,
        pipe.by_name("preview")
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok()),
    ) {
        (Some(branch), Some(sink)) => Some(super::preview::start(&sink, branch.clone())),
        _ => None,
    };
    let looping = matches!(source, Source::File(_));
    let camera = match source {
        Source::Camera(camera) => {
            let src = pipe
                .by_name("camsrc")
                .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
                .ok_or_else(|| MediaError::Init("camera appsrc missing".into()))?;
            tracing::info!(format = ?camera.format(), device = %config.device.display(), "camera negotiated");
            Some(v4l2::spawn(camera, src)?)
        }
        _ => None,
    };
    let running = pipeline::start("video", pipe, sink, looping)?;
    Ok((running, camera, preview_out))
}
