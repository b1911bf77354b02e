//! What a guest sends: every RTP packet is counted (packets, bytes, video frames) and, once
//! the track's codec is known, handed to its decoder for the screen's tile or the speaker.
//!
//! A camera sent as simulcast comes as one track with a layer per `rid`: the full layer
//! ([`FULL_RID`]) is decoded for the screen, the small one ([`SMALL_RID`]) goes to the
//! other guests ([`crate::forward`]). While the full layer does not flow (a browser starts
//! it only once its uplink allows, and drops it when the uplink shrinks) the screen
//! decodes the small one; so it does while that flows once the screen's tiles are small
//! (many guests, [`Forwarder::small_tiles`]). A switch starts at the new layer's keyframe
//! with a decoder of its own (one decoder whose stream changes size mid-call can stall);
//! the layers are renumbered into one stream ([`SlotStream`]). A camera sent as one layer
//! is both decoded and forwarded.
//!
//! The screen's keyframe requests for the layer the others see go with theirs
//! ([`Publication::ask_keyframe`]): the guest's browser is asked once per gap for both.
//!
//! A decoder's tile frames are as large as the screen's tiles were as it started
//! ([`TileSize`]: the small layer's own 320x240 where they are small); when they change,
//! the layer wanted is decoded again from its next keyframe with a decoder of the new size.

use crate::forward::{
    FULL_RID, Forwarder, KEYFRAME_GAP, Publication, SMALL_RID, SlotStream, Source, VoicePublication,
};
use crate::media::remote::{Decoder, GuestMedia, RemoteCodec, TileSize};
use crate::metrics::{GuestCounters, layer_code};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use visavis_api::local::{VideoLayer, VoicePackets};
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

/// A layer counts as flowing if a packet of it came this recently.
const LAYER_QUIET: Duration = Duration::from_secs(2);

/// The small layer is decoded only this long after the camera's first packet: browsers
/// start the full layer a moment after the small one, and each switch costs a decoder.
const START_GRACE: Duration = Duration::from_secs(3);

/// What to do with one packet of a guest's camera ([`Decoded::take`]).
#[derive(Debug, Default, PartialEq, Eq)]
struct Take {
    /// The packet goes to the decoder (renumbered in place).
    decode: bool,
    /// The decoder now starts on this stream (the layer it decodes changed).
    switch: Option<u32>,
    /// Ask the browser for a keyframe of this stream: the decoder starts on it, or has
    /// waited for its keyframe a [`KEYFRAME_GAP`] (a request or the keyframe itself can be
    /// lost, and a browser lets pass a request that comes too soon after another).
    ask_keyframe: Option<u32>,
}

/// Which layer of the camera the screen decodes, renumbered into one stream.
struct Decoded {
    stream: SlotStream,
    /// The layer being decoded (or about to be, from its next keyframe): its SSRC as the
    /// source's stream, built once at a switch (not per packet).
    source: Option<Source>,
    full_heard: Option<Instant>,
    small_heard: Option<Instant>,
    /// When the camera's first packet came.
    first: Option<Instant>,
    /// The screen's tiles are small: the small layer is enough while it flows.
    small_tiles: bool,
    /// When a keyframe of the decoded layer was last asked for.
    asked: Option<Instant>,
}

impl Decoded {
    fn new() -> Self {
        Decoded {
            stream: SlotStream::new(rand::random(), 90_000),
            source: None,
            full_heard: None,
            small_heard: None,
            first: None,
            small_tiles: false,
            asked: None,
        }
    }

    /// Decode the layer again from its next keyframe, with a decoder of its own (the
    /// screen's tiles changed size): the next packet of the layer wanted switches to it.
    fn restart(&mut self) {
        self.source = None;
        self.stream.show(None);
    }

    /// What to do with `packet` (of a stream in `role`), renumbered in place if it goes to
    /// the decoder.
    fn take(
        &mut self,
        guest: &GuestId,
        role: Role,
        mime: &str,
        packet: &mut rtc::rtp::packet::Packet,
        now: Instant,
    ) -> Take {
        let ssrc = packet.header.ssrc;
        let first = *self.first.get_or_insert(now);
        match role {
            Role::Full => self.full_heard = Some(now),
            Role::Small => self.small_heard = Some(now),
            Role::Only | Role::Other => {}
        }
        let flowing =
            |heard: Option<Instant>| heard.is_some_and(|t| now.duration_since(t) < LAYER_QUIET);
        let (full_flowing, small_flowing) = (flowing(self.full_heard), flowing(self.small_heard));
        let wanted = match role {
            // A camera without layers has one stream: the first one seen.
            Role::Only => self.source.is_none(),
            Role::Full => !(self.small_tiles && small_flowing),
            Role::Small if self.small_tiles => true,
            Role::Small => !full_flowing && now.duration_since(first) >= START_GRACE,
            Role::Other => false,
        };
        let decoding = |s: &Source| s.stream == u64::from(ssrc);
        let mut take = Take::default();
        if wanted && !self.source.as_ref().is_some_and(decoding) {
            let source = Source {
                guest: guest.clone(),
                stream: u64::from(ssrc),
            };
            self.stream.show(Some(source.clone()));
            self.source = Some(source);
            self.asked = Some(now);
            take.switch = Some(ssrc);
            take.ask_keyframe = Some(ssrc);
        }
        let Some(source) = self.source.as_ref().filter(|s| decoding(s)) else {
            return take;
        };
        let keyframe = crate::forward::starts_keyframe(mime, &packet.payload);
        take.decode = self
            .stream
            .rewrite(source, &mut packet.header, keyframe, now);
        // Not taken, though of the decoded layer: the decoder still waits for its keyframe.
        if !take.decode
            && self
                .asked
                .is_none_or(|t| now.duration_since(t) >= KEYFRAME_GAP)
        {
            self.asked = Some(now);
            take.ask_keyframe = Some(ssrc);
        }
        take
    }
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
    // A voice's, to the others' voice slots (built at the first packet).
    let mut voice: Option<Option<VoicePublication>> = None;
    // The stream published (its SSRC): the others see that one.
    let mut published: Option<u32> = None;
    let mut roles: HashMap<u32, Role> = HashMap::new();
    let mut decoded = Decoded::new();
    let mut mime: Option<String> = None;
    // The decoder of the layer decoded before a switch, until the new one is built.
    let mut retiring: Option<Decoder> = None;
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnOpen(init) => {
                tracing::debug!(guest = %guest_id, %kind, ssrc = init.ssrc, rid = ?init.rid, "guest stream opened");
                roles.insert(init.ssrc, Role::of(init.rid.as_deref()));
            }
            TrackRemoteEvent::OnRtpPacket(mut packet) => {
                let ssrc = packet.header.ssrc;
                let role = match roles.get(&ssrc) {
                    Some(r) => *r,
                    None => {
                        let r = Role::of(track.rid(ssrc).await.as_deref());
                        roles.insert(ssrc, r);
                        r
                    }
                };
                if !video {
                    counter.add(1, packet.payload.len() as u64, 1);
                    let voice = voice.get_or_insert_with(|| {
                        media
                            .as_ref()
                            .and_then(|m| m.voices())
                            .map(|v| v.publish(&guest_id))
                    });
                    if let Some(voice) = voice {
                        voice.packet(&packet);
                    }
                    if let Some(media) = &media {
                        let size = TileSize::Large;
                        let heard =
                            decode(&guest_id, &track, media, &mut decoder, &packet, ssrc, size)
                                .await;
                        counters.voice_packets.add(heard);
                    }
                    continue;
                }
                if role.forwarded()
                    && let Some(forward) = &forward
                {
                    if publication.is_none() {
                        publication =
                            Some(publish(&guest_id, &track, forward, &packet.header).await);
                        published = Some(ssrc);
                    }
                    if let Some(Some(p)) = &publication {
                        p.packet(&packet);
                    }
                }
                if mime.is_none() {
                    mime = track.codec(ssrc).await.map(|c| c.mime_type);
                }
                decoded.small_tiles = forward.as_ref().is_some_and(Forwarder::small_tiles);
                let size = TileSize::for_screen(decoded.small_tiles);
                if let Some(Some(d)) = &decoder
                    && d.tile_size().is_some_and(|s| s != size)
                {
                    decoded.restart();
                }
                let take = decoded.take(
                    &guest_id,
                    role,
                    mime.as_deref().unwrap_or_default(),
                    &mut packet,
                    Instant::now(),
                );
                if let Some(ssrc) = take.ask_keyframe {
                    match &publication {
                        // The layer the others see too: asked with their requests, one
                        // per gap for all.
                        Some(Some(p)) if published == Some(ssrc) => p.ask_keyframe(),
                        _ => ask_keyframe(&guest_id, &track, ssrc).await,
                    }
                }
                if take.switch.is_some() {
                    tracing::debug!(guest = %guest_id, ?role, "the screen decodes this layer of the guest's camera");
                    let layer = if role == Role::Small {
                        VideoLayer::Small
                    } else {
                        VideoLayer::Main
                    };
                    counters
                        .camera_layer
                        .store(layer_code(layer), std::sync::atomic::Ordering::Relaxed);
                    // A decoder whose stream changes size mid-call can stall (GStreamer's
                    // `decodebin` renegotiating): the new layer gets a decoder of its own,
                    // and the old one goes once the new one is built (no gap on the screen).
                    if let Some(Some(old)) = decoder.take() {
                        retiring = Some(old);
                    }
                }
                counter.add(
                    1,
                    packet.payload.len() as u64,
                    u64::from(take.decode && packet.header.marker),
                );
                if take.decode
                    && let Some(media) = &media
                {
                    let heard =
                        decode(&guest_id, &track, media, &mut decoder, &packet, ssrc, size).await;
                    counters.voice_packets.add(heard);
                    if let Some(old) = retiring.take() {
                        retire(old);
                    }
                }
            }
            TrackRemoteEvent::OnEnded | TrackRemoteEvent::OnError => break,
            _ => {}
        }
    }
    for old in [decoder.flatten(), retiring].into_iter().flatten() {
        retire(old);
    }
}

/// Stop a decoder off the runtime's threads: its pipeline's state change to `NULL` waits
/// for GStreamer's streaming threads, which a loaded machine may not run at once.
fn retire(decoder: Decoder) {
    tokio::task::spawn_blocking(move || drop(decoder));
}

/// Hand `packet` to the track's decoder, built at the first packet (`None` inside once
/// that failed) for the codec of the stream it came in (`ssrc`, before any renumbering),
/// with tiles of `size` (a video's); what became of it, where it was an Opus voice's.
async fn decode(
    guest_id: &GuestId,
    track: &Arc<dyn TrackRemote>,
    media: &GuestMedia,
    decoder: &mut Option<Option<Decoder>>,
    packet: &rtc::rtp::packet::Packet,
    ssrc: u32,
    size: TileSize,
) -> VoicePackets {
    if decoder.is_none() {
        let payload_type = packet.header.payload_type;
        *decoder = Some(start(guest_id, track, media, ssrc, payload_type, size).await);
    }
    match decoder {
        Some(Some(d)) => d.push(packet),
        _ => VoicePackets::default(),
    }
}

/// Ask the guest's browser for a keyframe of stream `ssrc` (PLI).
async fn ask_keyframe(guest_id: &GuestId, track: &Arc<dyn TrackRemote>, ssrc: u32) {
    let pli = PictureLossIndication {
        sender_ssrc: 0,
        media_ssrc: ssrc,
    };
    if let Err(e) = track.write_rtcp(vec![Box::new(pli)]).await {
        tracing::debug!(guest = %guest_id, "keyframe request: {e}");
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

/// The decoder for stream `ssrc` of the track (video starts at a keyframe: asked for when
/// the layer was chosen).
async fn start(
    guest_id: &GuestId,
    track: &Arc<dyn TrackRemote>,
    media: &GuestMedia,
    ssrc: u32,
    payload_type: u8,
    size: TileSize,
) -> Option<Decoder> {
    let Some(codec) = track.codec(ssrc).await else {
        tracing::warn!(guest = %guest_id, ssrc, "a guest track without a codec; not decoded");
        return None;
    };
    let Some(remote) = RemoteCodec::from_mime(&codec.mime_type, codec.clock_rate, payload_type)
    else {
        tracing::warn!(guest = %guest_id, mime = %codec.mime_type, "a guest codec the unit cannot decode");
        return None;
    };
    // Built off the runtime's threads: parsing the pipeline and its state change to
    // `PLAYING` block, for as long as a loaded machine takes.
    let (media, guest, codec) = (media.clone(), guest_id.clone(), remote.clone());
    match tokio::task::spawn_blocking(move || media.decoder(&guest, &codec, size)).await {
        Ok(Ok(d)) => Some(d),
        Ok(Err(e)) => {
            tracing::warn!(guest = %guest_id, "cannot decode the guest's {}: {e}", remote.encoding);
            None
        }
        Err(e) => {
            tracing::warn!(guest = %guest_id, "building the guest's {} decoder failed: {e}", remote.encoding);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtp::packet::Packet;

    const VP8: &str = "video/VP8";

    fn packet(ssrc: u32, seq: u16, key: bool) -> Packet {
        Packet {
            header: rtc::rtp::header::Header {
                version: 2,
                ssrc,
                sequence_number: seq,
                timestamp: u32::from(seq) * 3000,
                ..Default::default()
            },
            payload: bytes::Bytes::from(if key {
                vec![0x10, 0x00]
            } else {
                vec![0x10, 0x01]
            }),
        }
    }

    /// Feed `p` at `at` seconds; (taken, switched to).
    fn feed_packet(
        d: &mut Decoded,
        t0: Instant,
        at: f64,
        role: Role,
        p: &mut Packet,
    ) -> (bool, Option<u32>) {
        let take = d.take(
            &"jo".to_owned(),
            role,
            VP8,
            p,
            t0 + Duration::from_secs_f64(at),
        );
        (take.decode, take.switch)
    }

    /// Feed one packet at `at` seconds; (taken, switched to).
    fn feed(
        d: &mut Decoded,
        t0: Instant,
        at: f64,
        role: Role,
        ssrc: u32,
        seq: u16,
        key: bool,
    ) -> (bool, Option<u32>) {
        feed_packet(d, t0, at, role, &mut packet(ssrc, seq, key))
    }

    #[test]
    fn the_full_layer_is_decoded_and_the_small_one_only_while_it_does_not_flow() {
        const SMALL: u32 = 1;
        const FULL: u32 = 2;
        let t0 = Instant::now();
        let mut d = Decoded::new();
        // The small layer comes first: not decoded while the full one may still start.
        assert_eq!(
            feed(&mut d, t0, 0.0, Role::Small, SMALL, 1, true),
            (false, None)
        );
        // The full layer starts: decoded from its keyframe.
        assert_eq!(
            feed(&mut d, t0, 0.2, Role::Full, FULL, 100, true),
            (true, Some(FULL))
        );
        assert_eq!(
            feed(&mut d, t0, 0.3, Role::Small, SMALL, 2, true),
            (false, None)
        );
        assert_eq!(
            feed(&mut d, t0, 0.3, Role::Full, FULL, 101, false),
            (true, None)
        );
        // The full layer stops (a thin uplink): past the quiet time the small one takes
        // over at its keyframe, numbered on from the full one.
        assert_eq!(
            feed(&mut d, t0, 2.0, Role::Small, SMALL, 3, false),
            (false, None)
        );
        assert_eq!(
            feed(&mut d, t0, 3.5, Role::Small, SMALL, 4, false),
            (false, Some(SMALL))
        );
        let mut p = packet(SMALL, 5, true);
        assert_eq!(
            feed_packet(&mut d, t0, 4.0, Role::Small, &mut p),
            (true, None)
        );
        assert_eq!(p.header.sequence_number, 102, "one stream for the decoder");
        // The full layer comes back: decoded again from its next keyframe.
        assert_eq!(
            feed(&mut d, t0, 5.0, Role::Full, FULL, 150, false),
            (false, Some(FULL))
        );
        assert_eq!(
            feed(&mut d, t0, 5.1, Role::Small, SMALL, 6, true),
            (false, None)
        );
        assert_eq!(
            feed(&mut d, t0, 5.2, Role::Full, FULL, 151, true),
            (true, None)
        );
    }

    #[test]
    fn with_small_tiles_the_small_layer_is_decoded_while_it_flows() {
        const SMALL: u32 = 1;
        const FULL: u32 = 2;
        let t0 = Instant::now();
        let mut d = Decoded::new();
        // Few guests: the full layer, as ever.
        assert_eq!(
            feed(&mut d, t0, 0.0, Role::Full, FULL, 100, true),
            (true, Some(FULL))
        );
        assert_eq!(
            feed(&mut d, t0, 0.1, Role::Small, SMALL, 1, true),
            (false, None)
        );
        // The call grows: the small layer from its next keyframe, the full one no more.
        d.small_tiles = true;
        assert_eq!(
            feed(&mut d, t0, 0.2, Role::Small, SMALL, 2, false),
            (false, Some(SMALL))
        );
        assert_eq!(
            feed(&mut d, t0, 0.3, Role::Full, FULL, 101, true),
            (false, None)
        );
        assert_eq!(
            feed(&mut d, t0, 0.4, Role::Small, SMALL, 3, true),
            (true, None)
        );
        assert_eq!(
            feed(&mut d, t0, 0.5, Role::Full, FULL, 102, true),
            (false, None)
        );
        // The small layer stops: past the quiet time the full one takes over again.
        assert_eq!(
            feed(&mut d, t0, 3.0, Role::Full, FULL, 103, true),
            (true, Some(FULL))
        );
        // The small layer is back; then the call shrinks: the full layer again.
        assert_eq!(
            feed(&mut d, t0, 3.1, Role::Small, SMALL, 4, true),
            (true, Some(SMALL))
        );
        d.small_tiles = false;
        assert_eq!(
            feed(&mut d, t0, 3.2, Role::Small, SMALL, 5, true),
            (true, None),
            "shown until the full layer comes"
        );
        assert_eq!(
            feed(&mut d, t0, 3.3, Role::Full, FULL, 104, true),
            (true, Some(FULL))
        );
    }

    #[test]
    fn a_keyframe_the_decoder_waits_for_is_asked_again_each_gap() {
        const FULL: u32 = 2;
        let t0 = Instant::now();
        let mut d = Decoded::new();
        let mut take = |at: f64, seq: u16, key: bool| {
            d.take(
                &"jo".to_owned(),
                Role::Full,
                VP8,
                &mut packet(FULL, seq, key),
                t0 + Duration::from_secs_f64(at),
            )
        };
        // The layer starts with a delta (its keyframe lost, or the request let pass): the
        // keyframe is asked at the switch, not again inside the gap, again after it.
        assert_eq!(
            take(0.0, 100, false),
            Take {
                decode: false,
                switch: Some(FULL),
                ask_keyframe: Some(FULL)
            }
        );
        assert_eq!(take(0.5, 101, false), Take::default());
        let gap = KEYFRAME_GAP.as_secs_f64();
        assert_eq!(
            take(gap, 102, false),
            Take {
                ask_keyframe: Some(FULL),
                ..Take::default()
            }
        );
        assert_eq!(take(gap + 0.5, 103, false), Take::default());
        // The keyframe comes: decoded from there on, nothing more asked however long.
        let decoded = Take {
            decode: true,
            ..Take::default()
        };
        assert_eq!(take(gap + 0.6, 104, true), decoded);
        assert_eq!(take(gap * 5.0, 105, false), decoded);
    }

    #[test]
    fn a_restart_decodes_the_same_layer_again_from_its_next_keyframe() {
        let t0 = Instant::now();
        let mut d = Decoded::new();
        assert_eq!(
            feed(&mut d, t0, 0.0, Role::Only, 7, 1, true),
            (true, Some(7))
        );
        assert_eq!(feed(&mut d, t0, 0.1, Role::Only, 7, 2, false), (true, None));
        d.restart();
        assert_eq!(
            feed(&mut d, t0, 0.2, Role::Only, 7, 3, false),
            (false, Some(7)),
            "switched again, waiting for a keyframe"
        );
        assert_eq!(
            feed(&mut d, t0, 0.3, Role::Only, 7, 4, false),
            (false, None)
        );
        assert_eq!(feed(&mut d, t0, 0.4, Role::Only, 7, 5, true), (true, None));
        // Layers: the full one is wanted again, not the packet's small one.
        const SMALL: u32 = 1;
        const FULL: u32 = 2;
        let mut d = Decoded::new();
        assert_eq!(
            feed(&mut d, t0, 0.0, Role::Full, FULL, 1, true),
            (true, Some(FULL))
        );
        d.restart();
        assert_eq!(
            feed(&mut d, t0, 0.1, Role::Small, SMALL, 1, true),
            (false, None)
        );
        assert_eq!(
            feed(&mut d, t0, 0.2, Role::Full, FULL, 2, true),
            (true, Some(FULL))
        );
    }

    #[test]
    fn a_camera_without_layers_is_decoded_from_its_first_stream() {
        let t0 = Instant::now();
        let mut d = Decoded::new();
        assert_eq!(
            feed(&mut d, t0, 0.0, Role::Only, 7, 1, true),
            (true, Some(7))
        );
        assert_eq!(
            feed(&mut d, t0, 0.1, Role::Only, 8, 1, true),
            (false, None),
            "a second stream never takes over"
        );
        assert_eq!(
            feed(&mut d, t0, 0.2, Role::Other, 9, 1, true),
            (false, None)
        );
    }
}
