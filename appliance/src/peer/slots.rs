//! The guest's slots for the other guests' pictures ([`crate::forward`]): the page offers
//! receive-only video sections after its own; the unit answers each with a track of its
//! own SSRC, in the codecs the guest's camera section names (VP8 and H.264 from a
//! browser; neither: no slots, the call goes on), registers them with the forwarder once
//! the connection is up, and the forwarder writes on them ([`SlotTracks`]). A keyframe
//! request from the guest's browser on a slot goes to the forwarder, which asks the guest
//! shown there.

use super::rtcp::is_keyframe_request;
use super::{PeerError, payload_type, video_codec};
use crate::forward::{FORWARD_SLOTS, Forwarder, Full, SlotOut, SlotWriter};
use futures::FutureExt;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use visavis_api::datachannel::UnitMessage;
use visavis_api::signaling::GuestId;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::peer_connection::PeerConnection;
use webrtc::rtp_transceiver::RtpSender;

/// The codecs a slot can carry: what browsers send their cameras in (VP8 first in
/// Chromium's offers; H.264 constrained baseline as Safari may).
fn forwarded_codecs() -> Vec<RTCRtpCodec> {
    vec![
        RTCRtpCodec {
            mime_type: "video/VP8".into(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
        video_codec(),
    ]
}

/// One slot's track.
pub struct SlotTrack {
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    sender: Arc<dyn RtpSender>,
}

/// How many slots `offer` has: its video sections after the first (the guest's own
/// camera), at most [`FORWARD_SLOTS`].
pub fn offered(offer: &str) -> usize {
    sections_after_first(offer, "video").min(FORWARD_SLOTS)
}

/// How many `kind` (`video`, `audio`) sections `offer` has after its first.
pub(super) fn sections_after_first(offer: &str, kind: &str) -> usize {
    let start = format!("m={kind} ");
    let count = offer.lines().filter(|l| l.starts_with(&start)).count();
    count.saturating_sub(1)
}

/// The lines of `offer`'s first `kind` section, its `m=` line first.
pub(super) fn first_section<'a>(offer: &'a str, kind: &str) -> Vec<&'a str> {
    let start = format!("m={kind} ");
    offer
        .lines()
        .skip_while(|l| !l.starts_with(&start))
        .enumerate()
        .take_while(|(i, l)| *i == 0 || !l.starts_with("m="))
        .map(|(_, l)| l)
        .collect()
}

/// The codecs a slot can carry that `offer`'s camera section (its first video section)
/// names: webrtc-rs agrees a call's video codecs from that section alone, so a slot track
/// with a codec missing there is refused, and with it the whole answer. Empty: no slots.
pub fn carried(offer: &str) -> Vec<RTCRtpCodec> {
    let camera = first_section(offer, "video");
    let named = |mime: &str| {
        let name = mime.strip_prefix("video/").unwrap_or(mime);
        camera.iter().any(|l| {
            l.strip_prefix("a=rtpmap:")
                .and_then(|m| m.split_once(' '))
                .and_then(|(_, codec)| codec.split('/').next())
                .is_some_and(|c| c.eq_ignore_ascii_case(name))
        })
    };
    forwarded_codecs()
        .into_iter()
        .filter(|c| named(&c.mime_type))
        .collect()
}

/// A track for each of the first `count` slots, carrying `codecs` (see [`carried`]; none:
/// no slots); added after the room's own tracks, so they take the offer's later video
/// sections, in order.
pub async fn add(
    pc: &Arc<dyn PeerConnection>,
    count: usize,
    codecs: Vec<RTCRtpCodec>,
) -> Result<Vec<SlotTrack>, PeerError> {
    if codecs.is_empty() {
        return Ok(Vec::new());
    }
    let mut slots = Vec::with_capacity(count);
    for index in 0..count {
        let ssrc = rand::random::<u32>();
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            format!("visavis-other-{index}"),
            format!("visavis-other-{index}"),
            format!("visavis-other-{index}"),
            RtpCodecKind::Video,
            codecs
                .iter()
                .cloned()
                .map(|codec| RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec,
                    ..Default::default()
                })
                .collect(),
        )));
        let sender = pc.add_track(track.clone() as Arc<dyn TrackLocal>).await?;
        slots.push(SlotTrack {
            track,
            ssrc,
            sender,
        });
    }
    Ok(slots)
}

/// Once the connection is up, show the others in the guest's slots: the tasks that write
/// the forwarder's packets and pass on the guest's keyframe requests.
pub async fn serve(
    forward: Forwarder,
    guest: GuestId,
    slots: Vec<SlotTrack>,
    tell: mpsc::UnboundedSender<UnitMessage>,
    mut connected: watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, PeerError> {
    let mut outs = Vec::with_capacity(slots.len());
    for slot in &slots {
        let mut payload_types = HashMap::new();
        for codec in forwarded_codecs() {
            // A codec the guest's browser did not agree for this slot is not forwarded to it.
            if let Ok(pt) = payload_type(&slot.sender, &codec).await {
                payload_types.insert(codec.mime_type.to_ascii_lowercase(), pt);
            }
        }
        if payload_types.is_empty() {
            return Err(PeerError::Unexpected(
                "slots for other guests' pictures without VP8 or H.264",
            ));
        }
        outs.push(SlotOut {
            ssrc: slot.ssrc,
            payload_types,
        });
    }
    let mut tasks = Vec::with_capacity(slots.len() + 1);
    for (index, slot) in slots.iter().enumerate() {
        let (forward, guest, track) = (forward.clone(), guest.clone(), slot.track.clone());
        tasks.push(tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                if let TrackLocalEvent::OnRtcpPacket(packets) = event
                    && packets.iter().any(|p| is_keyframe_request(p.as_ref()))
                {
                    forward.keyframe_wanted(&guest, index);
                }
            }
        }));
    }
    let tracks = SlotTracks::new(
        slots.into_iter().map(|s| s.track).collect(),
        &guest,
        "another guest's picture",
    );
    tasks.push(tokio::spawn(async move {
        if connected.wait_for(|up| *up).await.is_ok() {
            forward.view(&guest, outs, tracks, tell);
        }
    }));
    Ok(tasks)
}

/// A guest's slot tracks (pictures' or voices'), written by the forwarder in the
/// publishing guest's task.
pub(super) struct SlotTracks {
    tracks: Vec<Arc<TrackLocalStaticRTP>>,
    guest: GuestId,
    /// What the slots carry, for the log.
    what: &'static str,
    /// Whether a failed write was logged (once a call).
    failed: AtomicBool,
}

impl SlotTracks {
    pub(super) fn new(
        tracks: Vec<Arc<TrackLocalStaticRTP>>,
        guest: &GuestId,
        what: &'static str,
    ) -> SlotTracks {
        SlotTracks {
            tracks,
            guest: guest.clone(),
            what,
            failed: AtomicBool::new(false),
        }
    }
}

impl SlotWriter for SlotTracks {
    fn write(&self, slot: usize, packet: rtp::Packet) -> Result<(), Full> {
        let Some(track) = self.tracks.get(slot) else {
            return Ok(());
        };
        // Taken at once, or not at all: the connection's queue (256 packets) full means its
        // sending fell behind.
        match track.write_rtp(packet).now_or_never() {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => {
                if !self.failed.swap(true, Ordering::Relaxed) {
                    tracing::info!(guest = %self.guest, "cannot send {}: {e}", self.what);
                }
                Ok(())
            }
            None => Err(Full),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slots_are_the_video_sections_after_the_camera() {
        let offer = |videos: usize| {
            let mut sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n".to_owned();
            for _ in 0..videos {
                sdp.push_str("m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n");
            }
            sdp
        };
        assert_eq!(
            super::offered(&offer(1)),
            0,
            "an older page: its camera only"
        );
        assert_eq!(super::offered(&offer(3)), 2);
        assert_eq!(super::offered(&offer(20)), super::FORWARD_SLOTS);
        assert_eq!(super::offered(""), 0);
    }

    #[test]
    fn slots_carry_only_the_codecs_the_camera_section_names() {
        let mimes = |offer: &str| -> Vec<String> {
            super::carried(offer)
                .into_iter()
                .map(|c| c.mime_type)
                .collect()
        };
        let offer = |camera: &str| {
            format!(
                "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 102\r\n{camera}\
                 m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n\
                 m=video 9 UDP/TLS/RTP/SAVPF 96 102\r\na=rtpmap:96 VP8/90000\r\n\
                 a=rtpmap:102 H264/90000\r\na=recvonly\r\n"
            )
        };
        // A browser's camera: VP8 and H.264 (and more).
        assert_eq!(
            mimes(&offer(
                "a=rtpmap:96 VP8/90000\r\na=rtpmap:98 VP9/90000\r\na=rtpmap:102 H264/90000\r\n"
            )),
            ["video/VP8", "video/H264"]
        );
        // A camera offered as H.264 only: the slots' VP8 would refuse the whole answer.
        assert_eq!(mimes(&offer("a=rtpmap:102 H264/90000\r\n")), ["video/H264"]);
        // Neither (say VP9 only): no slots, the call goes on.
        assert!(mimes(&offer("a=rtpmap:98 VP9/90000\r\n")).is_empty());
        assert!(mimes("").is_empty());
    }
}
