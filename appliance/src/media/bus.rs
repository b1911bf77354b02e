//! Watching a pipeline's bus: one watcher for every pipeline of the unit (the camera's, the
//! room's audio, each guest's decoders).
//!
//! Errors go to the caller (a typed [`MediaError`] naming the element that posted it);
//! warnings are logged, but never more than one line per [`REPEAT_WINDOW`] for the same
//! element and message: the first is logged as it comes, the repeats are counted and the
//! count logged once the window is over ([`Repeats`](crate::repeats::Repeats)). A warning posted a hundred times a
//! second (a latency that cannot be configured is asked again for every buffer) cannot
//! flood a store's journal.

use super::MediaError;
use crate::repeats::{REPEAT_WINDOW, Repeats, Report};
use futures::StreamExt;
use gstreamer as gst;
use gstreamer::prelude::*;
use std::time::Instant;

/// What the bus of a pipeline ended on.
#[derive(Debug)]
pub enum Ended {
    /// An element posted an error.
    Error(MediaError),
    /// The end of the stream (a clip that does not loop, or a source that stopped).
    Eos { element: String },
    /// The pipeline is gone.
    Closed,
}

fn log(what: &str, label: &str, report: &Report) {
    match report {
        Report::First {
            source: element,
            message,
        } => {
            tracing::warn!(pipeline = what, %label, %element, "{message}")
        }
        Report::Repeated {
            source: element,
            message,
            times,
            over,
        } => tracing::warn!(
            pipeline = what,
            %label,
            %element,
            "{message} (again {times} time(s) in the last {} s)",
            over.as_secs()
        ),
    }
}

/// The element that posted `msg`, as a path (`/GstPipeline:pipeline0/GstAudioMixer:mix`).
pub fn source_of(msg: &gst::Message) -> String {
    msg.src()
        .map_or_else(|| "?".into(), |s| s.path_string().to_string())
}

/// A warning's text: its message and, when GStreamer gives one, the detail that says why.
fn warning_text(w: &gst::message::Warning) -> String {
    match w.debug() {
        Some(debug) => {
            // The detail's first line is the source file and function; the reason follows.
            let why = debug.lines().skip(1).collect::<Vec<_>>().join(" ");
            if why.trim().is_empty() {
                w.error().to_string()
            } else {
                format!("{} ({})", w.error(), why.trim())
            }
        }
        None => w.error().to_string(),
    }
}

/// Watch `bus` until an error (that `divert` does not take care of: it returns `true` when
/// it did) or the end of the stream (when `on_eos` does not take care of it, as a looping
/// clip does) and say what ended it.
/// Warnings are logged for the `what` pipeline (and `label`, e.g. a guest), repeats counted.
pub async fn watch(
    what: &'static str,
    label: String,
    bus: gst::Bus,
    mut on_eos: impl FnMut() -> bool + Send,
    mut divert: impl FnMut(&gst::Message) -> bool + Send,
) -> Ended {
    let mut messages = bus.stream();
    let mut repeats = Repeats::new(REPEAT_WINDOW);
    let mut tick = tokio::time::interval(REPEAT_WINDOW);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let msg = tokio::select! {
            msg = messages.next() => msg,
            _ = tick.tick() => {
                for report in repeats.flush(Instant::now()) {
                    log(what, &label, &report);
                }
                continue;
            }
        };
        let Some(msg) = msg else {
            return Ended::Closed;
        };
        use gst::MessageView;
        match msg.view() {
            MessageView::Error(_) if divert(&msg) => {}
            MessageView::Error(err) => {
                return Ended::Error(MediaError::Element {
                    what,
                    element: source_of(&msg),
                    message: format!("{} ({:?})", err.error(), err.debug()),
                });
            }
            MessageView::Warning(w) => {
                if let Some(report) =
                    repeats.note(&source_of(&msg), &warning_text(w), Instant::now())
                {
                    log(what, &label, &report);
                }
            }
            MessageView::Eos(_) if !on_eos() => {
                return Ended::Eos {
                    element: source_of(&msg),
                };
            }
            _ => {}
        }
    }
}

/// Every warning `bus` holds now, popped: (element, text). For tests that check a pipeline
/// ran clean.
pub fn pending_warnings(bus: &gst::Bus) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Warning]) {
        if let gst::MessageView::Warning(w) = msg.view() {
            out.push((source_of(&msg), warning_text(w)));
        }
    }
    out
}
