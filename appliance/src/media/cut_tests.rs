//! The camera's cut (the privacy switch, the screen's pause) on the real video pipeline:
//! while cut, no camera frame reaches a guest's layer or the screen's preview (read from
//! its shared memory as the kiosk reads it), the preview's last picture is black rather
//! than a frozen frame, and there is no still to save; let through again, the camera is
//! back on the preview.
//!
//! Time passing is measured by the test source's own frames arriving at the cut (the valve
//! drops them, so they are counted before it), not by sleeps.

use super::*;
use crate::config::{VideoConfig, VideoSource};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);
const PREVIEW: (u32, u32) = (160, 120);

/// Whether an RGBA frame is black (no camera picture in it).
fn is_black(rgba: &[u8]) -> bool {
    rgba.chunks_exact(4)
        .all(|px| px[..3].iter().all(|&v| v < 16))
}

/// Read the preview's shared memory as the kiosk does; each frame's "black" goes to the
/// channel. The socket's file exists from `bind`, a moment before the writer listens: a
/// reader refused then starts again, as the kiosk's does.
fn read_preview(socket: &std::path::Path) -> (gst::Pipeline, mpsc::Receiver<bool>) {
    let deadline = Instant::now() + WAIT;
    loop {
        match try_read_preview(socket) {
            Ok(reader) => return reader,
            Err(e) if Instant::now() < deadline => {
                eprintln!("the preview's reader did not start ({e}); again");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("the preview's reader never started: {e}"),
        }
    }
}

fn try_read_preview(
    socket: &std::path::Path,
) -> Result<(gst::Pipeline, mpsc::Receiver<bool>), gst::StateChangeError> {
    let description = format!(
        "shmsrc socket-path=\"{}\" is-live=true do-timestamp=true \
         ! video/x-raw,format=RGBA,width={},height={},framerate=30/1 \
         ! appsink name=sink sync=false",
        socket.display(),
        PREVIEW.0,
        PREVIEW.1
    );
    let pipeline = gst::parse::launch(&description)
        .expect("the reader's pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    let sink = pipeline
        .by_name("sink")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .expect("the reader's appsink");
    let (tx, rx) = mpsc::channel();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let black = sample
                    .buffer()
                    .and_then(|b| b.map_readable().ok())
                    .is_some_and(|m| is_black(m.as_slice()));
                let _ = tx.send(black);
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    if let Err(e) = pipeline.set_state(gst::State::Playing) {
        let _ = pipeline.set_state(gst::State::Null);
        return Err(e);
    }
    Ok((pipeline, rx))
}

/// Wait for the next frame at the preview that is (or is not) black.
fn next_frame(rx: &mpsc::Receiver<bool>, black: bool, what: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(b) if b == black => return,
            Ok(_) => {}
            Err(_) => panic!("no {what} at the preview within {WAIT:?}"),
        }
    }
}

/// Wait until `more` frames from the source arrived at the cut after `from`.
fn source_frames(counter: &AtomicU64, from: u64, more: u64) {
    let deadline = Instant::now() + WAIT;
    while counter.load(Ordering::SeqCst) < from + more {
        assert!(
            Instant::now() < deadline,
            "the source stopped: {} frames",
            counter.load(Ordering::SeqCst)
        );
        std::thread::yield_now();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_camera_frame_reaches_guests_or_the_preview_while_cut() {
    gst::init().expect("GStreamer");
    let dir = tempfile::tempdir().expect("a folder");
    let branch = PreviewBranch {
        socket: dir.path().join("preview"),
        width: PREVIEW.0,
        height: PREVIEW.1,
    };
    let config = VideoConfig {
        source: VideoSource::Test,
        width: 320,
        height: 240,
        small_height: 120,
        ..VideoConfig::default()
    };
    let gates = [Arc::new(Gate::default()), Arc::new(Gate::default())];
    let (main_tx, _) = broadcast::channel(256);
    let mut encoded = main_tx.subscribe();
    let video = video::start(
        &config,
        Some(&branch),
        Arc::new(Metrics::default()),
        video::LayerChannels {
            main: (main_tx, gates[0].clone()),
            small: (broadcast::channel(64).0, gates[1].clone()),
        },
    )
    .expect("the video pipeline starts");
    // Every frame the source sends, counted as it arrives at the cut.
    let arrived = Arc::new(AtomicU64::new(0));
    let counter = arrived.clone();
    video
        .running
        .pipeline
        .by_name("privacy")
        .and_then(|v| v.static_pad("sink"))
        .expect("the privacy valve")
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            counter.fetch_add(1, Ordering::SeqCst);
            gst::PadProbeReturn::Ok
        });
    let preview = video.preview.as_ref().expect("the preview");
    let parts = VideoParts {
        running: &video.running,
        gates: &gates,
        camera: video.camera.as_ref(),
        preview: Some(preview),
    };
    let deadline = Instant::now() + WAIT;
    while !branch.socket.exists() {
        assert!(Instant::now() < deadline, "the preview's socket never came");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::task::block_in_place(|| {
        let (reader, frames) = read_preview(&branch.socket);
        next_frame(&frames, false, "camera picture");
        let deadline = Instant::now() + WAIT;
        while encoded.try_recv().is_err() {
            assert!(Instant::now() < deadline, "no encoded frame before the cut");
            std::thread::yield_now();
        }
        assert!(preview.snapshots.jpeg().is_ok(), "a still before the cut");

        parts.cut();
        // What was already past the gates when it closed has gone out by two frames on.
        let at_cut = arrived.load(Ordering::SeqCst);
        source_frames(&arrived, at_cut, 2);
        while !matches!(
            encoded.try_recv(),
            Err(broadcast::error::TryRecvError::Empty)
        ) {}
        next_frame(&frames, true, "black frame in place of the picture");
        let from = arrived.load(Ordering::SeqCst);
        source_frames(&arrived, from, 30);
        let after: Vec<bool> = frames.try_iter().collect();
        assert!(
            after.iter().all(|&black| black),
            "a camera frame reached the preview while cut: {after:?}"
        );
        assert!(
            matches!(
                encoded.try_recv(),
                Err(broadcast::error::TryRecvError::Empty)
            ),
            "an encoded frame reached the guests' layer while cut"
        );
        assert!(
            matches!(preview.snapshots.jpeg(), Err(SnapshotError::NoPicture)),
            "a still of before the cut is still there"
        );

        assert!(parts.restore(), "the cut is lifted");
        next_frame(&frames, false, "camera picture after the cut");
        let _ = reader.set_state(gst::State::Null);
    });
    let _ = video.running.pipeline.set_state(gst::State::Null);
}
