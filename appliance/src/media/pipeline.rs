//! A started GStreamer pipeline with an appsink, its bus turned into typed errors
//! ([`super::bus`]).

use super::MediaError;
use super::bus::Ended;
use super::frame::{EncodedFrame, rtp_duration, ticks_between};
use super::gate::Gate;
use crate::metrics::Metrics;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::{broadcast, oneshot};

/// A pipeline set to NULL when dropped: its elements stop and let go of their devices and
/// threads.
pub struct StopOnDrop(pub gst::Pipeline);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}

impl std::ops::Deref for StopOnDrop {
    type Target = gst::Pipeline;

    fn deref(&self) -> &gst::Pipeline {
        &self.0
    }
}

/// A playing pipeline. Stopped (set to NULL) on drop.
pub struct Running {
    pub pipeline: StopOnDrop,
    failed: Option<oneshot::Receiver<MediaError>>,
}

impl Running {
    /// Resolves with the first error the pipeline posts (never, if it runs forever).
    pub async fn failed(&mut self) -> MediaError {
        match self.failed.as_mut() {
            Some(rx) => match rx.await {
                Ok(e) => {
                    self.failed = None;
                    e
                }
                Err(_) => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }
}

/// Parse `description`, which must contain an appsink named `sink`, and return it unstarted.
pub fn build(
    what: &'static str,
    description: &str,
) -> Result<(gst::Pipeline, gst_app::AppSink), MediaError> {
    let build_err = |message: String| MediaError::Build {
        what,
        description: description.to_owned(),
        message,
    };
    let pipeline = gst::parse::launch(description)
        .map_err(|e| build_err(e.to_string()))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| build_err("not a pipeline".into()))?;
    let sink = pipeline
        .by_name("sink")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or_else(|| build_err("no appsink named `sink`".into()))?;
    Ok((pipeline, sink))
}

/// Publish every sample of `sink` on `tx` as an [`EncodedFrame`], counting into `counter`,
/// unless the privacy `gate` withholds it.
pub fn publish(
    sink: &gst_app::AppSink,
    clock_rate: u32,
    tx: broadcast::Sender<Arc<EncodedFrame>>,
    metrics: Arc<Metrics>,
    counter: fn(&Metrics) -> &AtomicU64,
    gate: Arc<Gate>,
) {
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let Some(buffer) = sample.buffer() else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                let pts = buffer.pts().map_or(0, |t| t.nseconds());
                let dur = buffer.duration().map_or(0, |t| t.nseconds());
                let frame = EncodedFrame {
                    data: bytes::Bytes::copy_from_slice(map.as_slice()),
                    duration: rtp_duration(ticks_between(pts, pts + dur, clock_rate), clock_rate),
                    keyframe: !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT),
                    encoded_at: Instant::now(),
                };
                counter(&metrics).fetch_add(1, Ordering::Relaxed);
                if !gate.admit(frame.keyframe) {
                    metrics.frames_withheld.fetch_add(1, Ordering::Relaxed);
                    return Ok(gst::FlowSuccess::Ok);
                }
                // No subscriber is fine: nobody is in the call.
                let _ = tx.send(Arc::new(frame));
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
}

/// Set `pipeline` playing and watch its bus ([`super::bus::watch`]): errors become
/// [`MediaError::Element`] naming the element that posted them, warnings are logged (each
/// at most once a minute, with a count of its repeats). The end of the stream is an error
/// too: a clip loops before its end reaches the pipeline ([`super::clip`]).
pub fn start(what: &'static str, pipeline: gst::Pipeline) -> Result<Running, MediaError> {
    start_diverting(what, pipeline, |_| false)
}

/// [`start`], with errors `divert` takes care of (it returns `true`: a microphone that
/// failed and is swapped for silence) leaving the pipeline running.
pub fn start_diverting(
    what: &'static str,
    pipeline: gst::Pipeline,
    divert: impl FnMut(&gst::Message) -> bool + Send + 'static,
) -> Result<Running, MediaError> {
    let bus = pipeline
        .bus()
        .ok_or_else(|| MediaError::Init("pipeline without a bus".into()))?;
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let e = match super::bus::watch(what, String::new(), bus, || false, divert).await {
            Ended::Error(e) => {
                tracing::error!("{e}");
                e
            }
            Ended::Eos { element } => MediaError::Element {
                what,
                element,
                message: "end of stream".into(),
            },
            Ended::Closed => return,
        };
        let _ = tx.send(e);
    });
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| MediaError::Element {
            what,
            element: pipeline.name().to_string(),
            message: "could not start playing (see the error logged just before)".into(),
        })?;
    Ok(Running {
        pipeline: StopOnDrop(pipeline),
        failed: Some(rx),
    })
}
