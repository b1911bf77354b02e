//! What a guest sends: every RTP packet is counted (packets, bytes, video frames) and, once
//! the track's codec is known, handed to its decoder for the screen's tile or the speaker.
//!
//! A camera sent as simulcast comes as one track with a layer per `rid`: the full layer
//! ([`FULL_RID`]) is decoded for the screen, the small one ([`SMALL_RID`]) goes to the
//! other guests ([`crate::forward`]). A camera sent as one layer is both decoded and
//! forwarded.

use crate::forward::{FULL_RID, Forwarder, Publication, SMALL_RID};
use crate::media::remote::{Decoder, GuestMedia, RemoteCodec};
use crate::metrics::GuestCounters;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::shared::marshal::Marshal;
use std::collections::HashMap;
use std::sync::Arc;
use visavis_api::signaling::GuestId;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

/// What one incoming stream (SSRC) of a track is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The only layer: decoded and forwarded.
    Only,
    /// The full layer of a simulcast camera: decoded.
    Full,
    /// The small layer: forwarded.
    Small,
    /// Another simulcast layer, or a stream the track does not name: ignored.
    Other,
}

impl Role {
    fn of(rid: Option<&str>) -> Role {
        match rid {
            None | Some("") => Role::Only,
            Some(FULL_RID) => Role::Full,
            Some(SMALL_RID) => Role::Small,
            Some(_) => Role::Other,
        }
    }

    fn decoded(self) -> bool {
        matches!(self, Role::Only | Role::Full)
    }

    fn forwarded(self) -> bool {
        matches!(self, Role::Only | Role::Small)
    }
}

/// Read `track` until it ends, counting into the guest's `*_in` counters (a video frame at
/// each RTP marker bit of the decoded layer) and decoding it when `media` is given; a
/// video track's forwarded layer goes to `forward`.
pub async fn receive_remote_track(
    guest_id: GuestId,
    track: Arc<dyn TrackRemote>,
    counters: Arc<GuestCounters>,
    media: Option<GuestMedia>,
    forward: Option<Forwarder>,
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
    let mut publication: Option<Option<Publication>> = None;
    let mut roles: HashMap<u32, Role> = HashMap::new();
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnOpen(init) => {
                tracing::debug!(guest = %guest_id, %kind, ssrc = init.ssrc, rid = ?init.rid, "guest stream opened");
                roles.insert(init.ssrc, Role::of(init.rid.as_deref()));
            }
            TrackRemoteEvent::OnRtpPacket(packet) => {
                let ssrc = packet.header.ssrc;
                let role = match roles.get(&ssrc) {
                    Some(r) => *r,
                    None => {
                        let r = Role::of(track.rid(ssrc).await.as_deref());
                        roles.insert(ssrc, r);
                        r
                    }
                };
                if !video || role.decoded() {
                    let frames = if video {
                        u64::from(packet.header.marker)
                    } else {
                        1
                    };
                    counter.add(1, packet.payload.len() as u64, frames);
                } else {
                    counter.add(1, packet.payload.len() as u64, 0);
                }
                if video
                    && role.forwarded()
                    && let Some(forward) = &forward
                {
                    let publication = match &publication {
                        Some(p) => p,
                        None => {
                            publication =
                                Some(publish(&guest_id, &track, forward, &packet.header).await);
                            publication.as_ref().expect("just set")
                        }
                    };
                    if let Some(p) = publication {
                        p.packet(&packet);
                    }
                }
                if video && !role.decoded() {
                    continue;
                }
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

/// Offer the guest's picture to the others; keyframes of the layer in `header` are asked
/// of the guest's browser with a PLI.
async fn publish(
    guest_id: &GuestId,
    track: &Arc<dyn TrackRemote>,
    forward: &Forwarder,
    header: &rtc::rtp::header::Header,
) -> Option<Publication> {
    let Some(codec) = track.codec(header.ssrc).await else {
        tracing::warn!(guest = %guest_id, ssrc = header.ssrc, "a guest picture without a codec; not forwarded");
        return None;
    };
    let (track, ssrc) = (track.clone(), header.ssrc);
    let ask = Box::new(move || {
        let track = track.clone();
        tokio::spawn(async move {
            let pli = PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc: ssrc,
            };
            if let Err(e) = track.write_rtcp(vec![Box::new(pli)]).await {
                tracing::debug!("keyframe request for a forwarded picture: {e}");
            }
        });
    });
    tracing::info!(guest = %guest_id, mime = %codec.mime_type, "the guest's picture goes to the others");
    Some(forward.publish(guest_id, &codec.mime_type, ask))
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
