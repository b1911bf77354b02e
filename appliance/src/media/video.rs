//! The video pipeline: camera, test pattern or looped Y4M clip → one H.264 encoder per
//! layer (the main one, and the small one behind its valve, see [`super::layers`]).

use super::gate::Gate;
use super::keyframes::{self, KeyframeRequester};
use super::layers::{LayerOutput, VideoControl, VideoLayers};
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
use visavis_api::local::VideoLayer;

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

/// How much of a second of the target bitrate one frame may take, in milliseconds: x264's
/// VBV buffer. Its default (600 ms) let a keyframe take 0.4 s of the bitrate (29 KB at
/// 600 kbit/s on a busy picture), which a thin link's queue (a router's 200 ms) cannot hold:
/// the keyframe lost packets, the guest asked for another, and the call froze in a loop
/// right when its link had dropped. At 250 ms a keyframe takes about 0.2 s of the bitrate
/// and any second at most 1.25 times it. (libwebrtc bounds keyframes to about 0.3 s.)
pub const FRAME_BUFFER_MS: u32 = 250;

/// The encoder part of the pipeline description, tuned for low latency: element `name`,
/// starting at `kbps`, a keyframe every ten seconds of `fps` at least, no frame larger than
/// [`FRAME_BUFFER_MS`] of the bitrate (x264; the others' rate control is their own).
pub(super) fn encoder_description(encoder: &str, name: &str, kbps: u32, fps: u32) -> String {
    // Keyframes come on request (new guest, PLI); this is only a safety net.
    let gop = fps * 10;
    match encoder {
        "v4l2h264enc" => format!(
            "v4l2h264enc name={name} extra-controls=\"controls,video_bitrate={},repeat_sequence_header=1,h264_i_frame_period={gop}\" \
             ! video/x-h264,level=(string)4,profile=(string)constrained-baseline",
            kbps * 1000
        ),
        "openh264enc" => format!(
            "openh264enc name={name} bitrate={} complexity=low rate-control=bitrate gop-size={gop}",
            kbps * 1000
        ),
        _ => format!(
            "x264enc name={name} tune=zerolatency speed-preset=ultrafast bitrate={kbps} key-int-max={gop} bframes=0 \
             vbv-buf-capacity={FRAME_BUFFER_MS} ! video/x-h264,profile=constrained-baseline"
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
    let (sw, sh, sfps) = config.small_size();
    // The small layer: idle behind its valve until a guest needs it; scaled, and thinned
    // to its frame rate by dropping (never duplicating: the valve leaves gaps). Its sink
    // does not wait for a first frame to start (`async=false`): a clip is not a live
    // source, and the pipeline would wait forever for the idle layer to preroll.
    let small = format!(
        " t. ! valve name=small_valve drop=true drop-mode=forward-sticky-events \
         ! queue max-size-buffers=2 max-size-time=0 max-size-bytes=0 leaky=downstream \
         ! videoscale ! videorate drop-only=true \
         ! video/x-raw,width={sw},height={sh},framerate={sfps}/1 \
         ! {} ! h264parse config-interval=-1 \
         ! video/x-h264,stream-format=byte-stream,alignment=au \
         ! appsink name=sink_small sync=false async=false max-buffers=4 drop=false",
        encoder_description(encoder, "encoder_small", config.small_kbps(), sfps)
    );
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
         ! appsink name=sink sync=false max-buffers=4 drop=false{small}{preview}",
        encoder_description(encoder, "encoder", config.bitrate_kbps, config.fps)
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

/// The running video pipeline and what the rest of the daemon holds of it.
pub struct Video {
    pub running: pipeline::Running,
    pub camera: Option<visavis_hardware::camera::Capture>,
    pub preview: Option<super::preview::Preview>,
    pub layers: VideoLayers,
    pub control: VideoControl,
}

/// Each layer's broadcast and privacy gate.
pub struct LayerChannels {
    pub main: (broadcast::Sender<Arc<EncodedFrame>>, Arc<Gate>),
    pub small: (broadcast::Sender<Arc<EncodedFrame>>, Arc<Gate>),
}

/// Build and start the video pipeline; publish each layer's encoded frames on its channel.
pub fn start(
    config: &VideoConfig,
    preview: Option<&PreviewBranch>,
    metrics: Arc<Metrics>,
    channels: LayerChannels,
) -> Result<Video, MediaError> {
    let encoder = select_encoder(config.encoder)?;
    let source = pick_source(config)?;
    let description = description(&source, encoder, config, preview);
    tracing::info!(encoder, pipeline = %description, "starting video");
    let (pipe, sink) = pipeline::build("video", &description)?;
    let small_sink = pipe
        .by_name("sink_small")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or_else(|| MediaError::Init("the small layer's appsink is missing".into()))?;
    *crate::metrics::lock(&metrics.video_encoder) = encoder.to_owned();
    metrics
        .main_layer
        .target_bitrate_bps
        .store(u64::from(config.bitrate_kbps) * 1000, Ordering::Relaxed);
    metrics.main_layer.active.store(true, Ordering::Relaxed);
    metrics
        .small_layer
        .target_bitrate_bps
        .store(u64::from(config.small_kbps()) * 1000, Ordering::Relaxed);
    metrics
        .video_encoders_started
        .fetch_add(1, Ordering::Relaxed);
    watch_capture(&pipe, metrics.clone(), config.capture_timestamp);
    let control = VideoControl::new(encoder, &pipe, metrics.clone())?;
    let layer = |layer: VideoLayer,
                 sink: &gst_app::AppSink,
                 (tx, gate): (broadcast::Sender<Arc<EncodedFrame>>, Arc<Gate>),
                 counter: fn(&Metrics) -> &std::sync::atomic::AtomicU64| {
        let keyframes = keyframes::spawn(layer, sink.clone(), metrics.clone());
        watch_keyframes(sink, keyframes.clone());
        pipeline::publish(sink, CLOCK_RATE, tx.clone(), metrics.clone(), counter, gate);
        LayerOutput {
            frames: tx,
            keyframes,
        }
    };
    let layers = VideoLayers {
        main: layer(VideoLayer::Main, &sink, channels.main, |m| {
            &m.frames_encoded
        }),
        small: layer(VideoLayer::Small, &small_sink, channels.small, |m| {
            &m.small_layer.frames_encoded
        }),
    };

    let preview_out = match (
        preview,
        pipe.by_name("preview")
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok()),
    ) {
        (Some(branch), Some(sink)) => Some(super::preview::start(&sink, branch.clone())),
        _ => None,
    };
    if matches!(source, Source::File(_))
        && let Some(pad) = pipe.by_name("privacy").and_then(|e| e.static_pad("sink"))
    {
        super::clip::keep_looping(&pad);
    }
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
    let running = pipeline::start("video", pipe)?;
    Ok(Video {
        running,
        camera,
        preview: preview_out,
        layers,
        control,
    })
}

/// Tell the layer's keyframe pacer about every keyframe its encoder produces.
fn watch_keyframes(sink: &gst_app::AppSink, keyframes: KeyframeRequester) {
    let Some(pad) = sink.static_pad("sink") else {
        return;
    };
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, probe| {
        if let Some(gst::PadProbeData::Buffer(buffer)) = probe.data.as_ref()
            && !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT)
        {
            keyframes.seen(std::time::Instant::now());
        }
        gst::PadProbeReturn::Ok
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of every frame x264 makes of `frames` frames of a noisy 640x360 picture at
    /// `kbps`, as the daemon configures it, with a keyframe forced before frame `forced`.
    fn frame_sizes(kbps: u32, frames: u32, forced: u32) -> Vec<(usize, bool)> {
        let description = format!(
            "videotestsrc pattern=snow num-buffers={frames} \
             ! video/x-raw,format=I420,width=640,height=360,framerate=30/1 \
             ! {} ! h264parse ! appsink name=sink sync=false max-buffers=1",
            encoder_description("x264enc", "encoder", kbps, 30),
        );
        let (pipeline, sink) = pipeline::build("test", &description).unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let mut sizes = Vec::new();
        for i in 0..frames {
            if i == forced {
                let event = gst_video::UpstreamForceKeyUnitEvent::builder()
                    .all_headers(true)
                    .build();
                assert!(sink.send_event(event), "the encoder took the request");
            }
            let sample = sink
                .try_pull_sample(gst::ClockTime::from_seconds(20))
                .expect("the test pipeline produces frames");
            let buffer = sample.buffer().expect("a frame");
            let key = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
            sizes.push((buffer.size(), key));
        }
        pipeline.set_state(gst::State::Null).unwrap();
        sizes
    }

    #[test]
    fn no_x264_frame_takes_more_than_its_share_of_a_second() {
        gst::init().unwrap();
        if gst::ElementFactory::find("x264enc").is_none() {
            eprintln!("x264enc is not installed; skipped");
            return;
        }
        let kbps = 600;
        let sizes = frame_sizes(kbps, 90, 45);
        let keyframes: Vec<usize> = sizes
            .iter()
            .filter(|(_, key)| *key)
            .map(|(size, _)| *size)
            .collect();
        eprintln!("x264 at {kbps} kbit/s, keyframes of {keyframes:?} bytes");
        assert!(
            keyframes.len() >= 2,
            "the first frame and the forced one are keyframes: {sizes:?}"
        );
        // A tenth over the buffer for headers and x264's rounding; its default (600 ms)
        // made keyframes of about 0.4 s of the bitrate here.
        let most = (kbps as usize * 1000 / 8) * FRAME_BUFFER_MS as usize / 1000 * 11 / 10;
        for size in keyframes {
            assert!(
                size <= most,
                "a keyframe of {size} bytes: more than {FRAME_BUFFER_MS} ms of {kbps} kbit/s ({most} bytes)"
            );
        }
    }
}

#[cfg(test)]
mod clip_tests {
    use super::*;

    /// A `frames`-frame 320x240 Y4M clip at 30 fps, made with GStreamer.
    fn clip(dir: &std::path::Path, frames: u32) -> std::path::PathBuf {
        let path = dir.join("clip.y4m");
        let description = format!(
            "videotestsrc pattern=ball num-buffers={frames} \
             ! video/x-raw,format=I420,width=320,height=240,framerate=30/1 \
             ! y4menc ! filesink location=\"{}\"",
            path.display()
        );
        let pipeline = gst::parse::launch(&description)
            .unwrap()
            .downcast::<gst::Pipeline>()
            .unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let bus = pipeline.bus().unwrap();
        let msg = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(30),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            )
            .expect("the clip is written");
        assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
        pipeline.set_state(gst::State::Null).unwrap();
        path
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_clip_camera_keeps_looping() {
        gst::init().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let frames = 15;
        let config = VideoConfig {
            source: VideoSource::File,
            file: Some(clip(dir.path(), frames)),
            width: 320,
            height: 240,
            small_height: 120,
            bitrate_kbps: 300,
            small_bitrate_kbps: 100,
            ..VideoConfig::default()
        };
        let preview = PreviewBranch {
            socket: dir.path().join("preview"),
            width: 160,
            height: 120,
        };
        let metrics = Arc::new(Metrics::default());
        let (main, small) = (broadcast::channel(64).0, broadcast::channel(64).0);
        let layers = [main.subscribe(), small.subscribe()];
        let video = start(
            &config,
            Some(&preview),
            metrics.clone(),
            LayerChannels {
                main: (main, Arc::new(Gate::default())),
                small: (small, Arc::new(Gate::default())),
            },
        )
        .unwrap();
        // Both layers: the small one is behind a valve that keeps flush events from it.
        video.control.set_small_active(true);
        // Five loops of the clip: frames keep being captured and encoded after each end,
        // paced to the clock (not pushed as fast as the encoder goes).
        let wanted = u64::from(frames) * 5;
        let count = |layer: &'static str, mut encoded: broadcast::Receiver<Arc<EncodedFrame>>| {
            let metrics = metrics.clone();
            async move {
                let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
                let mut seen = 0u64;
                let mut first = None;
                while seen < wanted {
                    match tokio::time::timeout_at(deadline, encoded.recv()).await {
                        Ok(Ok(_)) => seen += 1,
                        Ok(Err(broadcast::error::RecvError::Lagged(n))) => seen += n,
                        Ok(Err(e)) => panic!("the {layer} layer's channel closed: {e}"),
                        Err(_) => panic!(
                            "{seen} frames of the {layer} layer, {} captured, of {wanted} (five loops of a {frames}-frame clip)",
                            metrics.frames_captured.load(Ordering::Relaxed)
                        ),
                    }
                    first.get_or_insert_with(std::time::Instant::now);
                }
                let took = first.map_or(std::time::Duration::ZERO, |t| t.elapsed());
                let least = std::time::Duration::from_secs_f64((wanted - 1) as f64 / 30.0 * 0.8);
                assert!(
                    took >= least,
                    "{wanted} frames of the {layer} layer of a 30 fps clip in {took:?}: not paced to the clock"
                );
            }
        };
        let [main, small] = layers;
        tokio::join!(count("main", main), count("small", small));
        drop(video);
    }
}
