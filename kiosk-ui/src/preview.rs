//! Frames from applianced over GStreamer's shared memory (`shmsrc`), never through the
//! JSON socket: the live mirror (the local preview) and each guest's tile. A reader
//! reconnects when applianced restarts, and stops when its [`Feed`] is dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use visavis_api::local::Preview;

/// The newest frame: width, height, RGBA bytes, and a counter that moves with each frame.
#[derive(Default)]
pub struct Latest {
    pub size: [usize; 2],
    pub rgba: Vec<u8>,
    pub serial: u64,
}

pub type Frames = Arc<Mutex<Latest>>;

/// A reader of one shared-memory video; it stops when dropped.
pub struct Feed {
    pub frames: Frames,
    stop: Arc<AtomicBool>,
}

impl Feed {
    /// A feed that shows one still and reads nothing (screenshots, tests).
    pub fn still(latest: Latest) -> Feed {
        Feed {
            frames: Arc::new(Mutex::new(latest)),
            stop: Arc::new(AtomicBool::new(true)),
        }
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The newest frame of `frames` as a texture, uploaded again only when a new frame came
/// (`cache` holds the texture and the frame's serial).
pub fn texture(
    ctx: &egui::Context,
    name: &str,
    frames: &Frames,
    cache: &mut Option<(egui::TextureHandle, u64)>,
) -> Option<egui::TextureHandle> {
    let latest = frames.lock().unwrap_or_else(|p| p.into_inner());
    if latest.serial == 0 {
        return None;
    }
    if cache.as_ref().is_none_or(|(_, s)| *s != latest.serial) {
        let image = egui::ColorImage::from_rgba_unmultiplied(latest.size, &latest.rgba);
        match cache {
            Some((t, s)) => {
                t.set(image, egui::TextureOptions::LINEAR);
                *s = latest.serial;
            }
            None => {
                let t = ctx.load_texture(name, image, egui::TextureOptions::LINEAR);
                *cache = Some((t, latest.serial));
            }
        }
    }
    cache.as_ref().map(|(t, _)| t.clone())
}

/// Read frames described by `info` until the feed is dropped; `repaint` on each one.
pub fn spawn(info: Preview, repaint: impl Fn() + Send + Sync + 'static) -> Feed {
    let frames: Frames = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let (out, stopped) = (frames.clone(), stop.clone());
    let repaint = Arc::new(repaint);
    std::thread::Builder::new()
        .name("shm-video".into())
        .spawn(move || {
            if let Err(e) = gstreamer::init() {
                eprintln!("kiosk: no video, GStreamer failed to start: {e}");
                return;
            }
            while !stopped.load(Ordering::Relaxed) {
                if let Err(e) = run(&info, &out, repaint.clone(), &stopped) {
                    eprintln!("kiosk: video {}: {e}; retrying", info.socket);
                }
                // Wait before retrying, but not when told to stop.
                for _ in 0..10 {
                    if stopped.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        })
        .ok();
    Feed { frames, stop }
}

/// Why a reader stopped (it starts again).
#[derive(Debug, thiserror::Error)]
enum FeedError {
    #[error("GStreamer: {0}")]
    Gstreamer(#[from] gstreamer::glib::Error),
    #[error("the reader's pipeline has {0}")]
    Pipeline(&'static str),
    #[error("cannot start: {0}")]
    Start(#[from] gstreamer::StateChangeError),
    #[error("{0}")]
    Stream(gstreamer::glib::Error),
    #[error("applianced stopped sending")]
    Ended,
}

fn run(
    info: &Preview,
    out: &Frames,
    repaint: Arc<dyn Fn() + Send + Sync>,
    stop: &AtomicBool,
) -> Result<(), FeedError> {
    use gstreamer as gst;
    use gstreamer::prelude::*;
    let description = format!(
        "shmsrc socket-path=\"{}\" is-live=true do-timestamp=true \
         ! video/x-raw,format=RGBA,width={},height={},framerate={}/1 \
         ! appsink name=sink sync=false max-buffers=1 drop=true",
        info.socket.replace('"', ""),
        info.width,
        info.height,
        info.fps
    );
    let pipeline = gst::parse::launch(&description)?
        .downcast::<gst::Pipeline>()
        .map_err(|_| FeedError::Pipeline("no pipeline"))?;
    let sink = pipeline
        .by_name("sink")
        .and_then(|e| e.downcast::<gstreamer_app::AppSink>().ok())
        .ok_or(FeedError::Pipeline("no appsink"))?;
    let (w, h) = (info.width as usize, info.height as usize);
    let target = out.clone();
    sink.set_callbacks(
        gstreamer_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                if let Some(buffer) = sample.buffer()
                    && let Ok(map) = buffer.map_readable()
                    && map.len() >= w * h * 4
                {
                    let mut latest = target.lock().unwrap_or_else(|p| p.into_inner());
                    latest.size = [w, h];
                    latest.rgba.clear();
                    latest.rgba.extend_from_slice(&map[..w * h * 4]);
                    latest.serial += 1;
                    drop(latest);
                    repaint();
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    pipeline.set_state(gst::State::Playing)?;
    let bus = pipeline.bus().ok_or(FeedError::Pipeline("no bus"))?;
    let result = loop {
        if stop.load(Ordering::Relaxed) {
            break Ok(());
        }
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(200)) else {
            continue;
        };
        match msg.view() {
            gst::MessageView::Error(e) => break Err(FeedError::Stream(e.error())),
            gst::MessageView::Eos(_) => break Err(FeedError::Ended),
            _ => {}
        }
    };
    let _ = pipeline.set_state(gst::State::Null);
    result
}
