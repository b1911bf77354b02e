//! Sending the shared encoders' frames to one guest.
//!
//! Each guest has its own track object (one `TrackLocalStaticSample` cannot serve two peer
//! connections in webrtc-rs 0.21) fed from the broadcast of encoded frames: packetizing
//! and SRTP are per guest, encoding is not. Video comes from the layer congestion control
//! chose for the guest; a change of layer takes effect at the new layer's first keyframe.

use super::rtcp::is_keyframe_request;
use crate::congestion::meter::WireSample;
use crate::congestion::rate::RollingRate;
use crate::congestion::wire::{Path, RelayLeg, WireCount};
use crate::media::group::OwnMix;
use crate::media::{EncodedFrame, VideoLayers};
use crate::metrics::{Counter3, GuestCounters, layer_code};
use rtc::media::Sample;
use rtc::peer_connection::transport::RTCIceCandidateType;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::statistics::report::{RTCStatsReport, RTCStatsReportEntry};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use tokio::sync::watch;
use visavis_api::local::VideoLayer;
use visavis_api::signaling::GuestId;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::peer_connection::{PeerConnection, StatsSelector};

/// Where one stream goes.
pub struct Outgoing {
    pub track: Arc<TrackLocalStaticSample>,
    pub ssrc: u32,
    pub payload_type: u8,
}

/// Where a guest's audio comes from.
pub enum AudioSource {
    /// The room's stream, the same for every guest.
    Room(broadcast::Receiver<Arc<EncodedFrame>>),
    /// A mix of the guest's own (the room and the other guests); it lasts as long as the
    /// sender.
    Own(OwnMix),
}

/// Forward encoded audio to the guest until the track fails or the broadcast closes.
pub async fn forward_audio(
    guest_id: GuestId,
    out: Outgoing,
    source: AudioSource,
    mut connected: watch::Receiver<bool>,
    counters: Arc<GuestCounters>,
) {
    if connected.wait_for(|up| *up).await.is_err() {
        return;
    }
    // From now on: nothing queued while the connection came up.
    let (mut frames, _own_mix) = match source {
        AudioSource::Room(frames) => (frames.resubscribe(), None),
        AudioSource::Own(mix) => (mix.frames(), Some(mix)),
    };
    loop {
        let frame = match frames.recv().await {
            Ok(f) => f,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(guest = %guest_id, skipped = n, "guest audio sender fell behind");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if let Err(e) = write(&out, &frame, &counters.audio_out).await {
            tracing::info!(guest = %guest_id, "stopped sending audio: {e}");
            return;
        }
    }
}

/// Where a guest's video frames go: their track, or a test's channel.
pub type FrameWriter = Box<
    dyn FnMut(
            Arc<EncodedFrame>,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<(), webrtc::error::Error>> + Send>,
        > + Send,
>;

/// Frames into `out`, counted in the guest's outgoing video counters.
pub fn to_track(out: Outgoing, counters: Arc<GuestCounters>) -> FrameWriter {
    let out = Arc::new(out);
    Box::new(move |frame| {
        let (out, counters) = (out.clone(), counters.clone());
        Box::pin(async move { write(&out, &frame, &counters.video_out).await })
    })
}

/// A layer the guest is about to get: its frames, waiting for the first keyframe.
struct Switch {
    layer: VideoLayer,
    frames: broadcast::Receiver<Arc<EncodedFrame>>,
}

/// Forward encoded video to the guest, from the layer `wanted` names, until the track
/// fails or the broadcast closes. The guest starts at a keyframe (asked for on start) and,
/// after falling behind, waits for the next one: a decoder fed deltas without their
/// reference shows garbage. A change of layer asks that layer for a keyframe and switches
/// at the first one; going down, the old layer stops at once (the guest's network is
/// already short: a short freeze beats a growing queue), going up it plays until then.
pub async fn forward_video(
    guest_id: GuestId,
    mut send: FrameWriter,
    layers: VideoLayers,
    mut wanted: watch::Receiver<VideoLayer>,
    mut connected: watch::Receiver<bool>,
    counters: Arc<GuestCounters>,
) {
    if connected.wait_for(|up| *up).await.is_err() {
        return;
    }
    let mut current = *wanted.borrow_and_update();
    // Frames encoded while connecting are stale: start from what comes next.
    let mut frames = layers.get(current).frames.subscribe();
    layers.get(current).keyframes.request();
    counters.layer.store(layer_code(current), Relaxed);
    let mut need_keyframe = true;
    let mut switch: Option<Switch> = None;
    let mut watching = true;
    loop {
        let paused = switch.as_ref().is_some_and(|s| s.layer > current);
        tokio::select! {
            changed = wanted.changed(), if watching => {
                if changed.is_err() {
                    // Congestion control let go of this guest: keep the current layer.
                    watching = false;
                    continue;
                }
                let layer = *wanted.borrow_and_update();
                if layer == current {
                    switch = None;
                } else if switch.as_ref().is_none_or(|s| s.layer != layer) {
                    let target = layers.get(layer);
                    switch = Some(Switch { layer, frames: target.frames.subscribe() });
                    target.keyframes.request();
                }
            }
            frame = next(&mut switch) => {
                let Some(s) = switch.as_mut() else { continue };
                match frame {
                    Ok(frame) if frame.keyframe => {
                        let Some(s) = switch.take() else { continue };
                        tracing::info!(guest = %guest_id, layer = s.layer.as_str(), "guest switched video layer");
                        current = s.layer;
                        frames = s.frames;
                        need_keyframe = false;
                        counters.layer.store(layer_code(current), Relaxed);
                        if let Err(e) = send(frame).await {
                            tracing::info!(guest = %guest_id, "stopped sending video: {e}");
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        layers.get(s.layer).keyframes.request();
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
            frame = frames.recv(), if !paused => {
                let frame = match frame {
                    Ok(f) => f,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(guest = %guest_id, skipped = n, "guest video sender fell behind");
                        need_keyframe = true;
                        layers.get(current).keyframes.request();
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if need_keyframe {
                    if !frame.keyframe {
                        continue;
                    }
                    need_keyframe = false;
                }
                if let Err(e) = send(frame).await {
                    tracing::info!(guest = %guest_id, "stopped sending video: {e}");
                    return;
                }
            }
        }
    }
}

/// The next frame of the layer being switched to (never, without a switch).
async fn next(
    switch: &mut Option<Switch>,
) -> Result<Arc<EncodedFrame>, broadcast::error::RecvError> {
    match switch {
        Some(s) => s.frames.recv().await,
        None => std::future::pending().await,
    }
}

async fn write(
    out: &Outgoing,
    frame: &EncodedFrame,
    counter: &Counter3,
) -> Result<(), webrtc::error::Error> {
    let sample = Sample {
        data: frame.data.clone(),
        duration: frame.duration,
        ..Sample::new(frame.encoded_at)
    };
    out.track
        .sample_writer(out.ssrc, out.payload_type)
        .write_sample(&sample)
        .await?;
    counter.frames.fetch_add(1, Relaxed);
    counter
        .last_frame_unix_us
        .store(crate::metrics::unix_us(), Relaxed);
    Ok(())
}

/// Answer the guest's keyframe requests (PLI/FIR) on the layer they receive. Requests are
/// coalesced per layer (`media::keyframes`), so a storm of them costs one keyframe.
pub async fn keyframes_on_request(
    track: Arc<TrackLocalStaticSample>,
    layers: VideoLayers,
    counters: Arc<GuestCounters>,
) {
    while let Some(event) = track.poll().await {
        if let TrackLocalEvent::OnRtcpPacket(packets) = event
            && packets.iter().any(|p| is_keyframe_request(p.as_ref()))
        {
            let layer = if counters.layer.load(Relaxed) == layer_code(VideoLayer::Small) {
                VideoLayer::Small
            } else {
                VideoLayer::Main
            };
            layers.get(layer).keyframes.request();
        }
    }
}

/// Copy webrtc-rs's count of sent packets and bytes into the guest's counters, every second:
/// all of a kind's outbound streams together (the room's video and the other guests'
/// pictures in the guest's slots are all video the unit sends them), and every datagram
/// the transport sent with the headers of the path it took, with when it was read
/// (`wire_out`, for `congestion::meter`). `bridged`: the ports of the peer connection's
/// bridges to TCP and TLS relays, and which leg each is.
pub async fn poll_sent_stats(
    pc: Arc<dyn PeerConnection>,
    guest: GuestId,
    counters: Arc<GuestCounters>,
    bridged: BTreeMap<u16, RelayLeg>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut wire = WireCount::default();
    let mut path = None;
    // What the path adds to the plan's headers, over the last reading or so.
    let mut extra = RollingRate::new(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let at = Instant::now();
        let report = pc.get_stats(at, StatsSelector::None).await;
        if let Some(t) = report.transport() {
            let selected = selected_path(&report, &t.selected_candidate_pair_id, &bridged);
            if let Some(p) = selected
                && selected != path
            {
                tracing::info!(
                    %guest,
                    path = %p,
                    header_bytes = p.header_bytes(),
                    "the guest's datagrams go out on a new path"
                );
                counters.path_header_bytes.store(p.header_bytes(), Relaxed);
                path = selected;
            }
            let on = path.unwrap_or(Path::DIRECT_V4);
            let bytes = wire.add(t.packets_sent, t.bytes_sent, on);
            if let Some(bps) = extra.record(wire.extra(), at) {
                counters.path_extra_bps.store(bps, Relaxed);
            }
            *crate::metrics::lock(&counters.wire_out) = Some(WireSample { at, bytes });
        }
        let sent = sent_totals(report.outbound_rtp_streams().map(|s| {
            let sent = &s.sent_rtp_stream_stats;
            (
                sent.rtp_stream_stats.kind,
                sent.packets_sent,
                sent.bytes_sent,
            )
        }));
        for (c, (packets, bytes)) in [
            (&counters.video_out, sent.video),
            (&counters.audio_out, sent.audio),
        ] {
            c.packets.store(packets, Relaxed);
            c.bytes.store(bytes, Relaxed);
        }
    }
}

/// The path of the selected candidate pair, read off the unit's candidate in `report`.
fn selected_path(
    report: &RTCStatsReport,
    pair_id: &str,
    bridged: &BTreeMap<u16, RelayLeg>,
) -> Option<Path> {
    let Some(RTCStatsReportEntry::IceCandidatePair(pair)) = report.get(pair_id) else {
        return None;
    };
    // webrtc-rs 0.21 names the pair's candidate without the prefix of its own entry's id.
    let id = &pair.local_candidate_id;
    let Some(RTCStatsReportEntry::LocalCandidate(local)) = report
        .get(id)
        .or_else(|| report.get(&format!("RTCLocalIceCandidate_{id}")))
    else {
        return None;
    };
    Some(Path::of_candidate(
        local.candidate_type == RTCIceCandidateType::Relay,
        local.address.as_deref(),
        &local.related_address,
        &local.url,
        |port| bridged.get(&port).copied(),
    ))
}

/// Packets and bytes sent of each kind, over all of a guest's outbound streams.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SentTotals {
    pub video: (u64, u64),
    pub audio: (u64, u64),
}

/// Sum `(kind, packets, bytes)` of every outbound stream by kind.
pub fn sent_totals(streams: impl IntoIterator<Item = (RtpCodecKind, u64, u64)>) -> SentTotals {
    let mut totals = SentTotals::default();
    for (kind, packets, bytes) in streams {
        let t = match kind {
            RtpCodecKind::Video => &mut totals.video,
            RtpCodecKind::Audio => &mut totals.audio,
            _ => continue,
        };
        t.0 += packets;
        t.1 += bytes;
    }
    totals
}

#[cfg(test)]
#[path = "send_tests.rs"]
mod tests;
