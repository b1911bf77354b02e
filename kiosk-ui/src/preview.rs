//! The local preview: RGBA frames from applianced over GStreamer's shared memory
//! (`shmsrc`), never through the JSON socket. Reconnects when applianced restarts.

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

/// Read frames described by `info` until the process ends; `repaint` on each one.
pub fn spawn(info: Preview, repaint: impl Fn() + Send + Sync + 'static) -> Frames {
    let frames: Frames = Arc::default();
    let out = frames.clone();
    let repaint = Arc::new(repaint);
    std::thread::Builder::new()
        .name("preview".into())
        .spawn(move || {
            if let Err(e) = gstreamer::init() {
                eprintln!("kiosk: no preview, GStreamer failed to start: {e}");
                return;
            }
            loop {
                if let Err(e) = run(&info, &out, repaint.clone()) {
                    eprintln!("kiosk: preview: {e}; retrying");
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
        .ok();
    frames
}

fn run(info: &Preview, out: &Frames, repaint: Arc<dyn Fn() + Send + Sync>) -> Result<(), String> {
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
    let pipeline = gst::parse::launch(&description)
        .map_err(|e| e.to_string())?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline".to_owned())?;
    let sink = pipeline
        .by_name("sink")
        .and_then(|e| e.downcast::<gstreamer_app::AppSink>().ok())
        .ok_or("no appsink")?;
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
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| e.to_string())?;
    let bus = pipeline.bus().ok_or("no bus")?;
    let result = loop {
        let Some(msg) = bus.timed_pop(gst::ClockTime::NONE) else {
            continue;
        };
        match msg.view() {
            gst::MessageView::Error(e) => break Err(e.error().to_string()),
            gst::MessageView::Eos(_) => break Err("applianced stopped the preview".into()),
            _ => {}
        }
    };
    let _ = pipeline.set_state(gst::State::Null);
    result
}
