//! Keyframe requests, coalesced per video layer.
//!
//! Every guest may ask for a keyframe: on joining, after falling behind, on a PLI or FIR
//! from their browser, when switching layers. A keyframe costs several times a delta frame
//! for *every* guest on the layer, so requests are coalesced: at most one forced keyframe
//! per layer per [`MIN_GAP`], and a request that comes within the gap is served by the next
//! one, at the latest [`MIN_GAP`] after the previous (so every guest still gets one within
//! about a second). A keyframe the encoder makes anyway (its own interval, the first
//! frame) serves every request made before it.
//!
//! [`KeyframePacer`] is the rule on plain instants; [`spawn`] runs it for one layer's
//! encoder and [`KeyframeRequester`] is the handle tasks ask through.

use crate::metrics::Metrics;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use visavis_api::local::VideoLayer;

/// At most one forced keyframe per layer in this time.
pub const MIN_GAP: Duration = Duration::from_secs(1);

/// When to force keyframes, on plain instants (no clock of its own).
#[derive(Debug, Clone)]
pub struct KeyframePacer {
    min_gap: Duration,
    last_forced: Option<Instant>,
    /// The oldest request not yet served.
    pending_since: Option<Instant>,
}

impl KeyframePacer {
    pub fn new(min_gap: Duration) -> Self {
        KeyframePacer {
            min_gap,
            last_forced: None,
            pending_since: None,
        }
    }

    /// Someone needs a keyframe.
    pub fn request(&mut self, now: Instant) {
        self.pending_since.get_or_insert(now);
    }

    /// The encoder produced a keyframe at `at`: it serves every request made until then.
    pub fn keyframe_seen(&mut self, at: Instant) {
        if self.pending_since.is_some_and(|since| since <= at) {
            self.pending_since = None;
        }
    }

    /// When a pending request can be served (`None`: nothing pending).
    pub fn deadline(&self) -> Option<Instant> {
        let since = self.pending_since?;
        Some(match self.last_forced {
            Some(last) => (last + self.min_gap).max(since),
            None => since,
        })
    }

    /// Whether to force a keyframe now; if so, the pending requests count as served.
    pub fn poll(&mut self, now: Instant) -> bool {
        if self.deadline().is_some_and(|d| d <= now) {
            self.pending_since = None;
            self.last_forced = Some(now);
            true
        } else {
            false
        }
    }
}

enum Message {
    Request,
    Seen(Instant),
}

/// Asks one layer's encoder for a keyframe, usable from any task or thread.
#[derive(Clone)]
pub struct KeyframeRequester {
    layer: VideoLayer,
    tx: mpsc::UnboundedSender<Message>,
    metrics: Arc<Metrics>,
}

impl KeyframeRequester {
    /// Ask for a keyframe; it comes within about [`MIN_GAP`], shared with anyone else who
    /// asked meanwhile.
    pub fn request(&self) {
        self.metrics.keyframes_requested.fetch_add(1, Relaxed);
        let _ = self.tx.send(Message::Request);
    }

    /// The layer whose encoder this asks.
    pub fn layer(&self) -> VideoLayer {
        self.layer
    }

    /// A requester no encoder listens to, counting into `metrics` (for tests of what asks).
    #[cfg(test)]
    pub fn detached(layer: VideoLayer, metrics: Arc<Metrics>) -> Self {
        KeyframeRequester {
            layer,
            tx: mpsc::unbounded_channel().0,
            metrics,
        }
    }

    /// Tell the pacer the encoder produced a keyframe (from the appsink's callback).
    pub(super) fn seen(&self, at: Instant) {
        let _ = self.tx.send(Message::Seen(at));
    }
}

/// Run the pacer for `layer`'s encoder behind `sink` (forced with GStreamer's upstream
/// force-key-unit event, SPS and PPS included), counting forced keyframes in the layer's
/// metrics. Stops when every requester is gone.
pub fn spawn(
    layer: VideoLayer,
    sink: gstreamer_app::AppSink,
    metrics: Arc<Metrics>,
) -> KeyframeRequester {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let requester = KeyframeRequester {
        layer,
        tx,
        metrics: metrics.clone(),
    };
    tokio::spawn(async move {
        let mut pacer = KeyframePacer::new(MIN_GAP);
        loop {
            let deadline = pacer.deadline().map(tokio::time::Instant::from_std);
            tokio::select! {
                message = rx.recv() => match message {
                    Some(Message::Request) => pacer.request(Instant::now()),
                    Some(Message::Seen(at)) => pacer.keyframe_seen(at),
                    None => return,
                },
                () = sleep_until(deadline) => {}
            }
            if pacer.poll(Instant::now()) {
                force(&sink);
                metrics.layer(layer).keyframes_forced.fetch_add(1, Relaxed);
            }
        }
    });
    requester
}

fn force(sink: &gstreamer_app::AppSink) {
    use gstreamer::prelude::*;
    let event = gstreamer_video::UpstreamForceKeyUnitEvent::builder()
        .all_headers(true)
        .build();
    if !sink.send_event(event) {
        tracing::warn!("the video encoder did not take the keyframe request");
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_first_request_is_served_at_once() {
        let t0 = Instant::now();
        let mut p = KeyframePacer::new(MIN_GAP);
        assert!(!p.poll(t0), "nothing asked, nothing forced");
        p.request(t0);
        assert!(p.poll(t0));
        assert!(!p.poll(t0 + MS), "served");
    }

    #[test]
    fn requests_within_a_second_share_one_keyframe_that_comes_within_the_second() {
        let t0 = Instant::now();
        let mut p = KeyframePacer::new(MIN_GAP);
        p.request(t0);
        assert!(p.poll(t0));
        // Five guests ask during the next 300 ms (a PLI storm).
        let mut forced = 0;
        for i in 1..=5 {
            p.request(t0 + 60 * i * MS);
            forced += u32::from(p.poll(t0 + 60 * i * MS));
        }
        assert_eq!(forced, 0, "no second keyframe within the gap");
        assert_eq!(p.deadline(), Some(t0 + MIN_GAP));
        assert!(!p.poll(t0 + 999 * MS));
        assert!(p.poll(t0 + MIN_GAP), "served one second after the previous");
        assert_eq!(p.deadline(), None, "one keyframe served all five");
    }

    #[test]
    fn a_request_after_a_quiet_second_is_served_at_once() {
        let t0 = Instant::now();
        let mut p = KeyframePacer::new(MIN_GAP);
        p.request(t0);
        assert!(p.poll(t0));
        let later = t0 + 3 * MIN_GAP;
        p.request(later);
        assert_eq!(p.deadline(), Some(later));
        assert!(p.poll(later));
    }

    #[test]
    fn a_keyframe_the_encoder_made_anyway_serves_earlier_requests_only() {
        let t0 = Instant::now();
        let mut p = KeyframePacer::new(MIN_GAP);
        p.request(t0);
        assert!(p.poll(t0));
        p.request(t0 + 100 * MS);
        p.keyframe_seen(t0 + 50 * MS);
        assert!(
            p.deadline().is_some(),
            "a keyframe from before the request does not serve it"
        );
        p.keyframe_seen(t0 + 150 * MS);
        assert_eq!(p.deadline(), None);
        assert!(!p.poll(t0 + 2 * MIN_GAP));
    }
}
