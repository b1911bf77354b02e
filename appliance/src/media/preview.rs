//! The kiosk's local preview, isolated from the call.
//!
//! The video pipeline hands scaled RGBA frames to an appsink; a separate small pipeline
//! (`appsrc ! shmsink`) publishes them over shared memory. `shmsink` errors when a reader
//! goes away (a kiosk crash or restart): here that only rebuilds the preview pipeline, and
//! the encoder and every guest carry on. The newest frame is also kept for stills
//! ([`Snapshots`]).
//!
//! When the camera is cut (the privacy switch, the screen's pause), the kiosk must not
//! keep showing its last frame: [`Preview::cut`] drops every frame still on its way
//! through the branch, forgets the still, and publishes one black frame in its place, so
//! the last picture in the shared memory is no picture (again whenever the shared-memory
//! side is rebuilt while cut).

use super::PreviewBranch;
use super::pipeline::StopOnDrop;
use super::snapshot::Snapshots;
use crate::metrics::lock;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The main pipeline's side: caps of the frames it hands over.
pub fn caps(branch: &PreviewBranch) -> String {
    format!(
        "video/x-raw,format=RGBA,width={},height={}",
        branch.width, branch.height
    )
}

/// Keeps the shared-memory side running. Dropped with the media path.
pub struct Preview {
    task: tokio::task::JoinHandle<()>,
    /// The newest frame, for stills.
    pub snapshots: Snapshots,
    /// The camera is cut: no frame goes through.
    cut: Arc<AtomicBool>,
    current: Arc<Mutex<Option<gst_app::AppSrc>>>,
    branch: PreviewBranch,
}

impl Preview {
    /// Cut the camera from the preview (`true`) or let it through again. Cutting drops
    /// every camera frame from now on, forgets the still, and replaces the picture in the
    /// shared memory with a black frame.
    pub fn cut(&self, on: bool) {
        self.cut.store(on, Ordering::SeqCst);
        if on {
            self.snapshots.forget();
            if let Some(src) = lock(&self.current).as_ref() {
                let _ = src.push_sample(&black(&self.branch));
            }
        }
    }
}

/// One black frame of the preview's size.
fn black(branch: &PreviewBranch) -> gst::Sample {
    let mut rgba = vec![0u8; branch.width as usize * branch.height as usize * 4];
    for px in rgba.chunks_exact_mut(4) {
        px[3] = 255;
    }
    let caps = gst::Caps::from_str(&caps(branch)).unwrap_or_else(|_| gst::Caps::new_any());
    gst::Sample::builder()
        .buffer(&gst::Buffer::from_mut_slice(rgba))
        .caps(&caps)
        .build()
}

impl Drop for Preview {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Forward `frames` (the appsink named `preview` in the video pipeline) to the shm socket.
pub fn start(frames: &gst_app::AppSink, branch: PreviewBranch) -> Preview {
    let current: Arc<Mutex<Option<gst_app::AppSrc>>> = Arc::default();
    let target = current.clone();
    let snapshots = Snapshots::default();
    let latest = snapshots.clone();
    let cut = Arc::new(AtomicBool::new(false));
    let cut_frames = cut.clone();
    frames.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                // Cut: a frame that was already on its way is dropped too.
                if cut_frames.load(Ordering::SeqCst) {
                    return Ok(gst::FlowSuccess::Ok);
                }
                latest.offer(&sample);
                if let Some(src) = lock(&target).as_ref() {
                    // A full or broken preview never holds up the call: drop the frame.
                    let _ = src.push_sample(&sample);
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    let (shm_branch, shm_current, shm_cut) = (branch.clone(), current.clone(), cut.clone());
    let task = tokio::spawn(async move {
        loop {
            if let Err(e) = run_once(&shm_branch, &shm_current, &shm_cut).await {
                tracing::warn!(socket = %shm_branch.socket.display(), "local preview: {e}; restarting it");
            }
            *lock(&shm_current) = None;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    Preview {
        task,
        snapshots,
        cut,
        current,
        branch,
    }
}

/// Why the shared-memory pipeline stopped (it is then built again).
#[derive(Debug, thiserror::Error)]
enum PreviewError {
    #[error("cannot build `{description}`: {message}")]
    Build {
        description: String,
        message: String,
    },
    #[error("cannot start: {0}")]
    Start(#[from] gst::StateChangeError),
    #[error("{element}: {message}")]
    Element { element: String, message: String },
    #[error("bus closed")]
    BusClosed,
}

/// Run the shm pipeline until it fails; the error names the element.
async fn run_once(
    branch: &PreviewBranch,
    current: &Mutex<Option<gst_app::AppSrc>>,
    cut: &AtomicBool,
) -> Result<(), PreviewError> {
    let _ = std::fs::remove_file(&branch.socket);
    let frame = u64::from(branch.width) * u64::from(branch.height) * 4;
    let description = format!(
        "appsrc name=src is-live=true format=time do-timestamp=true max-buffers=2 leaky-type=downstream caps=\"{}\" \
         ! shmsink socket-path=\"{}\" wait-for-connection=false sync=false shm-size={}",
        caps(branch),
        branch.socket.display().to_string().replace('"', ""),
        frame * 8
    );
    let build = |message: &str| PreviewError::Build {
        description: description.clone(),
        message: message.to_owned(),
    };
    let pipeline = gst::parse::launch(&description)
        .map_err(|e| build(e.message()))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| build("not a pipeline"))?;
    let src = pipeline
        .by_name("src")
        .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        .ok_or_else(|| build("no appsrc"))?;
    let bus = pipeline.bus().ok_or_else(|| build("no bus"))?;
    // Stopped however this ends, the task aborted (the daemon stopping) included.
    let pipeline = StopOnDrop(pipeline);
    pipeline.0.set_state(gst::State::Playing)?;
    if cut.load(Ordering::SeqCst) {
        let _ = src.push_sample(&black(branch));
    }
    *lock(current) = Some(src);
    // The end of the stream is not expected from a branch fed by the camera: keep watching.
    let result = match super::bus::watch("preview", String::new(), bus, || true, |_| false).await {
        super::bus::Ended::Error(super::MediaError::Element {
            element, message, ..
        }) => Err(PreviewError::Element { element, message }),
        super::bus::Ended::Error(e) => Err(PreviewError::Element {
            element: "?".into(),
            message: e.to_string(),
        }),
        super::bus::Ended::Eos { .. } | super::bus::Ended::Closed => Err(PreviewError::BusClosed),
    };
    *lock(current) = None;
    result
}
