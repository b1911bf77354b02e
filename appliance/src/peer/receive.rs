//! Counting what a guest sends: RTP packets, bytes and (video) frames per remote track.

use crate::metrics::GuestCounters;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::sync::Arc;
use visavis_api::signaling::GuestId;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

/// Read `track` until it ends, counting into the guest's `*_in` counters. A video frame is
/// counted at each RTP marker bit (the last packet of a frame).
pub async fn count_remote_track(
    guest_id: GuestId,
    track: Arc<dyn TrackRemote>,
    counters: Arc<GuestCounters>,
) {
    let kind = track.kind().await;
    let video = kind == RtpCodecKind::Video;
    tracing::info!(guest = %guest_id, %kind, "receiving guest track");
    let counter = if video {
        &counters.video_in
    } else {
        &counters.audio_in
    };
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                let frames = if video {
                    u64::from(packet.header.marker)
                } else {
                    1
                };
                counter.add(1, packet.payload.len() as u64, frames);
            }
            TrackRemoteEvent::OnEnded | TrackRemoteEvent::OnError => break,
            _ => {}
        }
    }
}
