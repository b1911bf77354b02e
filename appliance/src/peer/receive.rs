//! What a guest sends: every RTP packet is counted (packets, bytes, video frames) and, once
//! the track's codec is known, handed to its decoder for the screen's tile or the speaker.

use crate::media::remote::{Decoder, GuestMedia, RemoteCodec};
use crate::metrics::GuestCounters;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::shared::marshal::Marshal;
use std::sync::Arc;
use visavis_api::signaling::GuestId;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

/// Read `track` until it ends, counting into the guest's `*_in` counters (a video frame at
/// each RTP marker bit, the last packet of a frame) and decoding it when `media` is given.
pub async fn receive_remote_track(
    guest_id: GuestId,
    track: Arc<dyn TrackRemote>,
    counters: Arc<GuestCounters>,
    media: Option<GuestMedia>,
) {
    let kind = track.kind().await;
    let video = kind == RtpCodecKind::Video;
    tracing::info!(guest = %guest_id, %kind, "receiving guest track");
    let counter = if video {
        &counters.video_in
    } else {
        &counters.audio_in
    };
    // Built at the first packet, when the codec is known; `None` inside once it failed.
    let mut decoder: Option<Option<Decoder>> = None;
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                let frames = if video {
                    u64::from(packet.header.marker)
                } else {
                    1
                };
                counter.add(1, packet.payload.len() as u64, frames);
                let Some(media) = &media else { continue };
                if decoder.is_none() {
                    decoder = Some(start(&guest_id, &track, media, &packet.header).await);
                }
                if let Some(Some(d)) = &decoder
                    && let Ok(bytes) = packet.marshal()
                {
                    d.push(bytes.to_vec());
                }
            }
            TrackRemoteEvent::OnEnded | TrackRemoteEvent::OnError => break,
            _ => {}
        }
    }
}

/// The decoder for the track `header` belongs to; for video, a keyframe is asked for so
/// the tile starts with a whole picture.
async fn start(
    guest_id: &GuestId,
    track: &Arc<dyn TrackRemote>,
    media: &GuestMedia,
    header: &rtc::rtp::header::Header,
) -> Option<Decoder> {
    let Some(codec) = track.codec(header.ssrc).await else {
        tracing::warn!(guest = %guest_id, ssrc = header.ssrc, "a guest track without a codec; not decoded");
        return None;
    };
    let Some(remote) =
        RemoteCodec::from_mime(&codec.mime_type, codec.clock_rate, header.payload_type)
    else {
        tracing::warn!(guest = %guest_id, mime = %codec.mime_type, "a guest codec the unit cannot decode");
        return None;
    };
    let decoder = match media.decoder(guest_id, &remote) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(guest = %guest_id, "cannot decode the guest's {}: {e}", remote.encoding);
            return None;
        }
    };
    if remote.video {
        let pli = PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc: header.ssrc,
        };
        if let Err(e) = track.write_rtcp(vec![Box::new(pli)]).await {
            tracing::debug!(guest = %guest_id, "keyframe request: {e}");
        }
    }
    Some(decoder)
}
