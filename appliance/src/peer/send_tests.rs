//! A guest's video sender: it starts at a keyframe, and changes layer only at a keyframe of
//! the new layer, so their decoder never gets a delta frame without its reference.

use super::*;
use crate::media::{KeyframeRequester, LayerOutput, VideoLayers};
use crate::metrics::Metrics;
use bytes::Bytes;
use tokio::sync::mpsc;

fn frame(keyframe: bool, tag: u8) -> Arc<EncodedFrame> {
    Arc::new(EncodedFrame {
        data: Bytes::from(vec![tag]),
        duration: Duration::from_millis(33),
        keyframe,
        encoded_at: Instant::now(),
    })
}

struct Rig {
    layers: VideoLayers,
    requests: [Arc<Metrics>; 2],
    wanted: watch::Sender<VideoLayer>,
    written: mpsc::UnboundedReceiver<u8>,
    counters: Arc<GuestCounters>,
    _connected: watch::Sender<bool>,
}

impl Rig {
    fn start() -> Rig {
        let requests = [Arc::new(Metrics::default()), Arc::new(Metrics::default())];
        let layer = |layer, metrics: &Arc<Metrics>| LayerOutput {
            frames: broadcast::channel(16).0,
            keyframes: KeyframeRequester::detached(layer, metrics.clone()),
        };
        let layers = VideoLayers {
            main: layer(VideoLayer::Main, &requests[0]),
            small: layer(VideoLayer::Small, &requests[1]),
        };
        let (wanted, wanted_rx) = watch::channel(VideoLayer::Main);
        let (connected, connected_rx) = watch::channel(true);
        let (tx, written) = mpsc::unbounded_channel();
        let writer: FrameWriter = Box::new(move |frame| {
            let tx = tx.clone();
            Box::pin(async move {
                let _ = tx.send(frame.data[0]);
                Ok(())
            })
        });
        let counters = Arc::new(GuestCounters::default());
        tokio::spawn(forward_video(
            "g1".into(),
            writer,
            layers.clone(),
            wanted_rx,
            connected_rx,
            counters.clone(),
        ));
        Rig {
            layers,
            requests,
            wanted,
            written,
            counters,
            _connected: connected,
        }
    }

    fn requested(&self, layer: VideoLayer) -> u64 {
        let i = usize::from(layer == VideoLayer::Small);
        self.requests[i].keyframes_requested.load(Relaxed)
    }

    fn subscribers(&self, layer: VideoLayer) -> usize {
        self.layers.get(layer).frames.receiver_count()
    }

    /// Let the sender run until `ready` holds (polled; the sender is on this thread).
    async fn until(&self, what: &str, ready: impl Fn(&Rig) -> bool) {
        for _ in 0..100_000 {
            if ready(self) {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the sender never got to: {what}");
    }

    fn send(&self, layer: VideoLayer, keyframe: bool, tag: u8) {
        let _ = self.layers.get(layer).frames.send(frame(keyframe, tag));
    }

    /// The next frames the guest got are exactly `tags`.
    async fn got(&mut self, tags: &[u8]) {
        for &tag in tags {
            let next = tokio::time::timeout(Duration::from_secs(5), self.written.recv())
                .await
                .ok()
                .flatten();
            assert_eq!(next, Some(tag), "expected frame {tag} next");
        }
    }
}

#[tokio::test]
async fn layer_changes_happen_at_a_keyframe_of_the_new_layer() {
    use VideoLayer::{Main, Small};
    let mut rig = Rig::start();
    rig.until("subscribe to the main layer", |r| r.subscribers(Main) == 1)
        .await;
    assert_eq!(rig.requested(Main), 1, "a keyframe is asked for at start");

    // It starts at a keyframe.
    rig.send(Main, false, 1);
    rig.send(Main, true, 2);
    rig.send(Main, false, 3);
    rig.got(&[2, 3]).await;

    // Down to the small layer: the main layer stops at once, the small one starts at its
    // keyframe.
    rig.wanted.send(Small).unwrap();
    rig.until("subscribe to the small layer", |r| {
        r.subscribers(Small) == 1
    })
    .await;
    assert_eq!(rig.requested(Small), 1);
    rig.send(Main, false, 4);
    rig.send(Small, false, 5);
    rig.send(Small, true, 6);
    rig.send(Small, false, 7);
    rig.got(&[6, 7]).await;
    rig.until("leave the main layer", |r| r.subscribers(Main) == 0)
        .await;
    assert_eq!(rig.counters.layer.load(Relaxed), layer_code(Small));

    // Back up: the small layer plays until the main layer's keyframe.
    rig.wanted.send(Main).unwrap();
    rig.until("subscribe to the main layer again", |r| {
        r.subscribers(Main) == 1
    })
    .await;
    assert_eq!(rig.requested(Main), 2);
    rig.send(Small, false, 8);
    rig.got(&[8]).await;
    rig.send(Main, false, 9);
    rig.send(Main, true, 10);
    rig.send(Main, false, 11);
    rig.got(&[10, 11]).await;
    rig.until("leave the small layer", |r| r.subscribers(Small) == 0)
        .await;
    rig.send(Small, false, 12);
    rig.send(Main, false, 13);
    rig.got(&[13]).await;
    assert_eq!(rig.counters.layer.load(Relaxed), layer_code(Main));
    assert_eq!(
        (rig.requested(Main), rig.requested(Small)),
        (2, 1),
        "one request per change"
    );
}

#[test]
fn what_a_guest_is_sent_sums_every_stream_of_a_kind() {
    // The room's video, two slots carrying other guests' pictures (one still idle), the
    // room's voice: the slots count with the room's video, whatever the stats' order.
    let totals = sent_totals([
        (RtpCodecKind::Video, 900, 1_000_000),
        (RtpCodecKind::Audio, 500, 40_000),
        (RtpCodecKind::Video, 300, 200_000),
        (RtpCodecKind::Video, 0, 0),
    ]);
    assert_eq!(
        totals,
        SentTotals {
            video: (1_200, 1_200_000),
            audio: (500, 40_000),
        }
    );
}
