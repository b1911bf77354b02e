//! What the unit's answer to a real Chromium offer (Chromium 156, captured) negotiates.

use super::*;
use crate::congestion::Limits;
use crate::media::{KeyframeRequester, LayerOutput};
use visavis_api::local::VideoLayer;

const CHROMIUM_OFFER: &str = include_str!("chromium_offer.sdp");

fn layer(layer: VideoLayer) -> LayerOutput {
    LayerOutput {
        frames: broadcast::channel(4).0,
        keyframes: KeyframeRequester::detached(layer, Arc::default()),
    }
}

async fn new_peer() -> (Peer, mpsc::UnboundedReceiver<PeerEvent>) {
    let (events, rx) = mpsc::unbounded_channel();
    let ctx = PeerContext {
        video: VideoLayers {
            main: layer(VideoLayer::Main),
            small: layer(VideoLayer::Small),
        },
        audio: broadcast::channel(4).0,
        congestion: Congestion::detached(Limits {
            main_max: 2_500_000,
            main_min: 600_000,
            small_max: 500_000,
            small_min: 100_000,
            audio: 88_000,
            uplink: 1_000_000_000,
        }),
        events,
        welcome: UnitMessage::Welcome {
            mode: Default::default(),
            location: String::new(),
            others_video: false,
        },
        guest_media: None,
        relay_tls: None,
        forward: None,
    };
    let peer = Peer::new("g1".into(), "Jo", Arc::default(), ctx, &[])
        .await
        .unwrap();
    (peer, rx)
}

/// Apply `offer` (LF line ends) and wait for the unit's answer.
async fn offer_and_answer(
    peer: &Peer,
    rx: &mut mpsc::UnboundedReceiver<PeerEvent>,
    offer: &str,
) -> String {
    let sdp = offer.replace('\n', "\r\n");
    peer.apply(SignalPayload::Offer { sdp }).await.unwrap();
    loop {
        match rx.recv().await {
            Some(PeerEvent::LocalSignal {
                payload: SignalPayload::Answer { sdp },
                ..
            }) => break sdp,
            Some(_) => continue,
            None => panic!("no answer"),
        }
    }
}

async fn answer_to(offer: &str) -> String {
    let (peer, mut rx) = new_peer().await;
    let answer = offer_and_answer(&peer, &mut rx, offer).await;
    peer.close().await;
    answer
}

/// The lines of the answer's `m=video` section.
fn video_section(sdp: &str) -> Vec<&str> {
    sdp.lines()
        .skip_while(|l| !l.starts_with("m=video"))
        .take_while(|l| !l.starts_with("m=audio") && !l.starts_with("m=application"))
        .collect()
}

#[tokio::test]
async fn the_answer_to_chromium_has_twcc_nack_pli_and_rtx_for_h264() {
    let answer = answer_to(CHROMIUM_OFFER).await;
    let video = video_section(&answer);
    assert!(!video.is_empty(), "{answer}");
    // The H.264 payload type we send: constrained baseline, packetization-mode=1.
    let pt = video
        .iter()
        .find_map(|l| {
            let rest = l.strip_prefix("a=fmtp:")?;
            let (pt, params) = rest.split_once(' ')?;
            (params.contains("packetization-mode=1") && params.contains("42e01f"))
                .then(|| pt.to_owned())
        })
        .unwrap_or_else(|| panic!("no H.264 42e01f mode 1 in the answer:\n{answer}"));
    for fb in ["transport-cc", "nack", "nack pli"] {
        let line = format!("a=rtcp-fb:{pt} {fb}");
        assert!(video.contains(&line.as_str()), "no `{line}` in\n{answer}");
    }
    assert!(
        video.iter().any(|l| l.starts_with("a=extmap:")
            && l.ends_with(
                " http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
            )),
        "no TWCC header extension in\n{answer}"
    );
    // RTX: a payload type for retransmissions of ours, and a repair SSRC beside the media one.
    let apt = format!("apt={pt}");
    let rtx = video
        .iter()
        .find_map(|l| {
            let rest = l.strip_prefix("a=fmtp:")?;
            let (rtx, params) = rest.split_once(' ')?;
            (params == apt).then(|| rtx.to_owned())
        })
        .unwrap_or_else(|| panic!("no RTX payload type for {pt} in\n{answer}"));
    assert!(
        video.contains(&format!("a=rtpmap:{rtx} rtx/90000").as_str()),
        "{answer}"
    );
    assert!(
        video.iter().any(|l| l.starts_with("a=ssrc-group:FID ")),
        "no RTX SSRC (ssrc-group FID) for our video in\n{answer}"
    );
}

/// A guest's malformed candidate is skipped (the call goes on, a valid offer is still
/// answered); a malformed offer is an error for that guest's connection, not a panic.
#[tokio::test]
async fn malformed_candidates_are_skipped_and_a_malformed_offer_is_an_error() {
    let (peer, mut rx) = new_peer().await;
    for candidate in [
        "candidate:garbage",
        "candidate:1 1 udp 2122260223 999.1.1.1 5000 typ host",
        "candidate:1 1 udp notanumber 10.0.0.1 5000 typ host",
    ] {
        let applied = peer
            .apply(SignalPayload::Candidate {
                candidate: candidate.into(),
                sdp_mid: Some("0".into()),
                sdp_mline_index: Some(0),
            })
            .await;
        assert!(applied.is_ok(), "{candidate}: {applied:?}");
    }
    let refused = peer
        .apply(SignalPayload::Offer {
            sdp: "v=0\r\nthis is not a session description\r\n".into(),
        })
        .await;
    assert!(refused.is_err(), "a malformed offer was accepted");
    assert!(!refused.unwrap_err().to_string().is_empty());
    let answered = offer_and_answer(&peer, &mut rx, CHROMIUM_OFFER).await;
    // The first good offer still gets the unit's tracks (a bad one must not count as the
    // first and turn this one into an ICE restart with nothing to send).
    assert!(
        video_section(&answered)
            .iter()
            .any(|l| l.starts_with("a=ssrc:")),
        "the unit sends no video after a bad offer:\n{answered}"
    );
    peer.close().await;
}
