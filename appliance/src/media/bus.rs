//! Watching a pipeline's bus: one watcher for every pipeline of the unit (the camera's, the
//! room's audio, each guest's decoders).
//!
//! Errors go to the caller (a typed [`MediaError`] naming the element that posted it);
//! warnings are logged, but never more than one line per [`REPEAT_WINDOW`] for the same
//! element and message: the first is logged as it comes, the repeats are counted and the
//! count logged once the window is over ([`Repeats`]). A warning posted a hundred times a
//! second (a latency that cannot be configured is asked again for every buffer) cannot
//! flood a store's journal.

use super::MediaError;
use futures::StreamExt;
use gstreamer as gst;
use gstreamer::prelude::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Repeats of one warning within this long after it was logged are only counted.
pub const REPEAT_WINDOW: Duration = Duration::from_secs(60);

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

/// A repeated warning, said once: its first occurrence, or how often it came again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    First {
        element: String,
        message: String,
    },
    Repeated {
        element: String,
        message: String,
        times: u64,
        over: Duration,
    },
}

/// Counts repeats of the same warning (by element and message) so each is logged at most
/// once per [`REPEAT_WINDOW`], plus one count of its repeats. Sans-IO: time is passed in.
#[derive(Debug)]
pub struct Repeats {
    window: Duration,
    /// (element, message) → (when it was last logged, repeats since).
    seen: HashMap<(String, String), (Instant, u64)>,
}

impl Repeats {
    pub fn new(window: Duration) -> Repeats {
        Repeats {
            window,
            seen: HashMap::new(),
        }
    }

    /// A warning came at `now`: what to log about it now, if anything.
    pub fn note(&mut self, element: &str, message: &str, now: Instant) -> Option<Report> {
        let key = (element.to_owned(), message.to_owned());
        match self.seen.get_mut(&key) {
            None => {
                self.seen.insert(key, (now, 0));
                Some(Report::First {
                    element: element.to_owned(),
                    message: message.to_owned(),
                })
            }
            Some((since, times)) => {
                *times += 1;
                let over = now.saturating_duration_since(*since);
                if over < self.window {
                    return None;
                }
                let report = Report::Repeated {
                    element: element.to_owned(),
                    message: message.to_owned(),
                    times: *times,
                    over,
                };
                *since = now;
                *times = 0;
                Some(report)
            }
        }
    }

    /// The counts of warnings whose window is over at `now` (they stopped coming, or come
    /// rarely): said once, then forgotten, so the next one is logged as a first again.
    pub fn flush(&mut self, now: Instant) -> Vec<Report> {
        let mut out = Vec::new();
        self.seen.retain(|(element, message), (since, times)| {
            let over = now.saturating_duration_since(*since);
            if over < self.window {
                return true;
            }
            if *times > 0 {
                out.push(Report::Repeated {
                    element: element.clone(),
                    message: message.clone(),
                    times: *times,
                    over,
                });
            }
            false
        });
        out
    }
}

fn log(what: &str, label: &str, report: &Report) {
    match report {
        Report::First { element, message } => {
            tracing::warn!(pipeline = what, %label, %element, "{message}")
        }
        Report::Repeated {
            element,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_a_hundred_times_a_second_is_one_line_then_one_count_a_minute() {
        let t0 = Instant::now();
        let mut r = Repeats::new(REPEAT_WINDOW);
        let mut lines = Vec::new();
        // Two minutes and a half of the same warning every 10 ms, and another once.
        for i in 0..15_000u64 {
            let now = t0 + Duration::from_millis(i * 10);
            lines.extend(r.note("mix", "clock problem", now));
            if i == 500 {
                lines.extend(r.note("speaker", "underrun", now));
            }
        }
        assert_eq!(
            lines[0],
            Report::First {
                element: "mix".into(),
                message: "clock problem".into()
            }
        );
        assert_eq!(
            lines[1],
            Report::First {
                element: "speaker".into(),
                message: "underrun".into()
            }
        );
        let counts: Vec<u64> = lines
            .iter()
            .filter_map(|l| match l {
                Report::Repeated { times, .. } => Some(*times),
                Report::First { .. } => None,
            })
            .collect();
        assert_eq!(counts, vec![6000, 6000], "one count per minute: {lines:?}");
        assert_eq!(lines.len(), 4);
        // It stops: the last half minute's repeats are counted at the next flush, once.
        let later = t0 + Duration::from_secs(200);
        let flushed = r.flush(later);
        assert_eq!(flushed.len(), 1, "{flushed:?}");
        assert!(
            matches!(&flushed[0], Report::Repeated { times: 2999, .. }),
            "{flushed:?}"
        );
        assert!(r.flush(later).is_empty());
        // Once forgotten, the same warning is a first again.
        assert!(matches!(
            r.note("mix", "clock problem", later),
            Some(Report::First { .. })
        ));
    }
}
