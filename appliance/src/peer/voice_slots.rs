//! The guest's slots for the other guests' voices ([`crate::forward::voices`]): the page
//! offers receive-only audio sections after its own audio; the unit answers each with an
//! Opus track of its own SSRC and registers them with the voice forwarder once the
//! connection is up. The guest's own offer also says which header extension id carries
//! their packets' audio levels, by which their voice is forwarded only while they talk.

use super::slots::{SlotTracks, first_section, sections_after_first};
use super::{PeerError, audio_codec, payload_type};
use crate::forward::Voices;
use crate::forward::voices::{AUDIO_LEVEL_URI, VOICE_SLOTS, VoiceSlotOut};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use visavis_api::signaling::GuestId;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::peer_connection::PeerConnection;
use webrtc::rtp_transceiver::RtpSender;

/// One voice slot's track.
pub struct VoiceSlotTrack {
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    sender: Arc<dyn RtpSender>,
}

/// How many voice slots `offer` has: its audio sections after the first (the guest's own
/// microphone), at most [`VOICE_SLOTS`].
pub fn offered(offer: &str) -> usize {
    sections_after_first(offer, "audio").min(VOICE_SLOTS)
}

/// The id `offer`'s first audio section gives the audio level extension, if it offers it.
pub fn level_id(offer: &str) -> Option<u8> {
    first_section(offer, "audio").into_iter().find_map(|l| {
        let (id, uri) = l.strip_prefix("a=extmap:")?.split_once(' ')?;
        let uri = uri.split_whitespace().next()?;
        if uri != AUDIO_LEVEL_URI {
            return None;
        }
        // `1/recvonly`: a direction may follow the id.
        id.split('/').next()?.parse().ok()
    })
}

/// An Opus track for each of the first `count` voice slots, added after the room's own
/// audio track, so they take the offer's later audio sections, in order.
pub async fn add(
    pc: &Arc<dyn PeerConnection>,
    count: usize,
) -> Result<Vec<VoiceSlotTrack>, PeerError> {
    let mut slots = Vec::with_capacity(count);
    for index in 0..count {
        let ssrc = rand::random::<u32>();
        let id = format!("visavis-voice-{index}");
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            id.clone(),
            id.clone(),
            id,
            RtpCodecKind::Audio,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: audio_codec(),
                ..Default::default()
            }],
        )));
        let sender = pc.add_track(track.clone() as Arc<dyn TrackLocal>).await?;
        slots.push(VoiceSlotTrack {
            track,
            ssrc,
            sender,
        });
    }
    Ok(slots)
}

/// Once the connection is up, the guest hears the others' voices in their slots.
pub async fn serve(
    voices: Voices,
    guest: GuestId,
    slots: Vec<VoiceSlotTrack>,
    mut connected: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, PeerError> {
    let mut outs = Vec::with_capacity(slots.len());
    for slot in &slots {
        outs.push(VoiceSlotOut {
            ssrc: slot.ssrc,
            payload_type: payload_type(&slot.sender, &audio_codec()).await?,
        });
    }
    let tracks = SlotTracks::new(
        slots.into_iter().map(|s| s.track).collect(),
        &guest,
        "another guest's voice",
    );
    Ok(tokio::spawn(async move {
        if connected.wait_for(|up| *up).await.is_ok() {
            voices.listen(&guest, outs, tracks);
        }
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn voice_slots_are_the_audio_sections_after_the_microphone() {
        let offer = |audios: usize| {
            let mut sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n".to_owned();
            for _ in 0..audios {
                sdp.push_str("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\n");
            }
            sdp
        };
        assert_eq!(
            super::offered(&offer(1)),
            0,
            "an older page: its microphone only"
        );
        assert_eq!(super::offered(&offer(4)), 3);
        assert_eq!(super::offered(&offer(30)), super::VOICE_SLOTS);
        assert_eq!(super::offered(""), 0);
    }

    #[test]
    fn the_level_id_is_the_microphone_sections() {
        let offer = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n\
                     a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
                     m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
                     a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
                     a=extmap:9/sendrecv urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
                     m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
                     a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n";
        assert_eq!(super::level_id(offer), Some(9));
        assert_eq!(
            super::level_id("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"),
            None,
            "no levels offered"
        );
        assert_eq!(super::level_id(""), None);
    }
}
