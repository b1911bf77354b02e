//! A lightweight guest: the guest page's signaling (`api::signaling`, over the real
//! `/ws/guest/{token}` WebSocket) and a real webrtc-rs peer connection in place of Chromium,
//! so a thousand joins take minutes, not hours.
//!
//! Like the page it joins with a name, waits to be admitted, offers (its camera, with every
//! video codec as a browser's camera section has, and Opus, both sendrecv; then
//! [`FORWARD_SLOTS`] receive-only video sections, the "slots" for the other guests'
//! pictures, and [`VOICE_SLOTS`] receive-only audio sections for their voices; the
//! `visavis` data channel), trickles its candidates, applies the unit's answer and
//! candidates, sends [`Clip`] in a loop once connected (H.264, one layer: the unit forwards
//! a camera sent without simulcast as it comes; Opus with the clip's level in each packet,
//! as a browser) and counts the RTP packets and bytes the unit sends, per slot its packets,
//! bytes and pictures (marker bits), the same for the room's picture (on the camera's
//! section), and per voice slot its packets.
//! It keeps the unit's last `others` message: who is in which slot. When the
//! signaling socket closes the call goes on (media is peer to peer), as on the page.

use crate::clip::Clip;
use crate::latency::Latency;
use futures_util::{SinkExt, StreamExt};
use rtc::media::Sample;
use rtc::rtp::extension::audio_level_extension::AudioLevelExtension;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{
    RTCRtpTransceiverDirection, RTCRtpTransceiverId, RTCRtpTransceiverInit,
};
use rtc::shared::marshal::MarshalSize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use visavis_api::datachannel::{FORWARD_SLOTS, Other, UnitMessage, VOICE_SLOTS};
use visavis_api::signaling::{GuestToServer, ServerToGuest, SignalPayload};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceCandidateInit, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSessionDescription, Registry, register_default_interceptors,
};

/// One guest in the call.
pub struct SoakGuest {
    out: mpsc::UnboundedSender<GuestToServer>,
    /// What rendezvous says besides signaling (`unit_away`, `session_ended`, errors), and
    /// `None` once the socket closed.
    pub server: mpsc::UnboundedReceiver<Option<ServerToGuest>>,
    pc: Arc<dyn PeerConnection>,
    /// RTP packets received from the unit (video and audio, the room's and forwarded).
    pub received: Arc<AtomicU64>,
    /// Bytes of those packets (RTP headers and payloads).
    pub received_bytes: Arc<AtomicU64>,
    /// What came in each slot, in the order of the offer's receive-only video sections.
    pub slots: Arc<[Counts; FORWARD_SLOTS]>,
    /// What came in each voice slot, in the order of the offer's receive-only audio sections.
    pub voices: Arc<[Counts; VOICE_SLOTS]>,
    /// What came of the room's picture, the unit's video on the camera's section.
    pub room: Arc<Counts>,
    others: watch::Receiver<Vec<Other>>,
    state: watch::Receiver<RTCPeerConnectionState>,
    tasks: Vec<JoinHandle<()>>,
}

/// What one slot received.
#[derive(Debug, Default)]
pub struct Counts {
    pub packets: AtomicU64,
    pub bytes: AtomicU64,
    /// Pictures: packets with the RTP marker bit (the last packet of a frame).
    pub frames: AtomicU64,
}

/// The camera's transceiver in `Handler::slot_of`: the room's picture comes on it.
const ROOM: usize = usize::MAX;

/// `ws://host:port/ws/guest/<token>` for an invite URL `http://host:port/i/<token>`.
pub fn socket_url(invite_url: &str) -> Result<String, String> {
    let (base, token) = invite_url
        .rsplit_once("/i/")
        .ok_or_else(|| format!("not an invite URL: {invite_url}"))?;
    let base = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("the bench speaks plain HTTP on loopback, not {invite_url}"))?;
    Ok(format!("ws://{base}/ws/guest/{token}"))
}

struct Handler {
    candidates: mpsc::UnboundedSender<SignalPayload>,
    state: watch::Sender<RTCPeerConnectionState>,
    received: Arc<AtomicU64>,
    received_bytes: Arc<AtomicU64>,
    slots: Arc<[Counts; FORWARD_SLOTS]>,
    voices: Arc<[Counts; VOICE_SLOTS]>,
    room: Arc<Counts>,
    /// The slots' transceivers, and which slot each is (the voice slots' after the
    /// pictures', from [`FORWARD_SLOTS`] on; the camera's is [`ROOM`]); set before the offer.
    slot_of: Arc<OnceLock<HashMap<RTCRtpTransceiverId, usize>>>,
    /// Where forwarded pictures' trips are timed, and who is in which slot.
    latency: Option<(Arc<Latency>, watch::Receiver<Vec<Other>>)>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            let _ = self.candidates.send(SignalPayload::Candidate {
                candidate: init.candidate,
                sdp_mid: init.sdp_mid,
                sdp_mline_index: init.sdp_mline_index,
            });
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.state.send(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let (received, bytes) = (self.received.clone(), self.received_bytes.clone());
        let (slots, slot_of) = (self.slots.clone(), self.slot_of.clone());
        let (voices, room) = (self.voices.clone(), self.room.clone());
        let latency = self.latency.clone();
        tokio::spawn(async move {
            // Which slot the track is (its receiver is a slot's transceiver), known when it opens.
            let mut slot: Option<usize> = None;
            while let Some(event) = track.poll().await {
                match event {
                    TrackRemoteEvent::OnOpen(init) => {
                        let transceiver = RTCRtpTransceiverId::from(init.receiver_id);
                        slot = slot_of.get().and_then(|m| m.get(&transceiver).copied());
                    }
                    TrackRemoteEvent::OnRtpPacket(packet) => {
                        let size = (packet.header.marshal_size() + packet.payload.len()) as u64;
                        received.fetch_add(1, Relaxed);
                        bytes.fetch_add(size, Relaxed);
                        let voice = slot.and_then(|i| i.checked_sub(FORWARD_SLOTS));
                        let picture = match slot {
                            Some(ROOM) => Some(&*room),
                            _ => slot.and_then(|i| slots.get(i)),
                        };
                        if let Some(c) = voice.and_then(|i| voices.get(i)) {
                            c.packets.fetch_add(1, Relaxed);
                            c.bytes.fetch_add(size, Relaxed);
                        } else if let Some(c) = picture {
                            c.packets.fetch_add(1, Relaxed);
                            c.bytes.fetch_add(size, Relaxed);
                            c.frames.fetch_add(u64::from(packet.header.marker), Relaxed);
                        }
                        if let (Some(i), Some((latency, others)), true) =
                            (slot, &latency, packet.header.marker)
                        {
                            let from = others
                                .borrow()
                                .iter()
                                .find(|o| usize::from(o.slot) == i)
                                .map(|o| o.name.clone());
                            if let Some(from) = from {
                                latency.received(&from, &packet.payload);
                            }
                        }
                    }
                    TrackRemoteEvent::OnEnded | TrackRemoteEvent::OnError => break,
                    _ => {}
                }
            }
        });
    }
}

fn codec(kind: RtpCodecKind) -> RTCRtpCodec {
    match kind {
        RtpCodecKind::Video => RTCRtpCodec {
            mime_type: "video/H264".into(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
                .into(),
            rtcp_feedback: vec![],
        },
        _ => RTCRtpCodec {
            mime_type: "audio/opus".into(),
            clock_rate: 48_000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
            rtcp_feedback: vec![],
        },
    }
}

fn track(kind: RtpCodecKind) -> Result<(Arc<TrackLocalStaticSample>, u32), String> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for an SSRC: {e}"))?;
    let ssrc = u32::from_ne_bytes(bytes);
    let track = TrackLocalStaticSample::new(
        Instant::now(),
        MediaStreamTrack::new(
            "soak-guest".into(),
            format!("soak-{kind}"),
            format!("soak-{kind}"),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: codec(kind),
                ..Default::default()
            }],
        ),
    )
    .map_err(|e| format!("cannot make the guest's {kind} track: {e}"))?;
    Ok((Arc::new(track), ssrc))
}

impl SoakGuest {
    /// Open the invite's socket, join as `name`, wait to be admitted (within `timeout`),
    /// offer, and return once the peer connection is connected.
    pub async fn join(
        invite_url: &str,
        name: &str,
        clip: Arc<Clip>,
        timeout: Duration,
    ) -> Result<SoakGuest, String> {
        Self::join_timed(invite_url, name, clip, timeout, None, VOICE_SLOTS).await
    }

    /// [`SoakGuest::join`], the frames it writes and the forwarded ones it receives timed
    /// in `latency`, offering `voice_slots` voice slots (0: the unit mixes the others'
    /// voices for it, as for a page without them).
    pub async fn join_timed(
        invite_url: &str,
        name: &str,
        clip: Arc<Clip>,
        timeout: Duration,
        latency: Option<Arc<Latency>>,
        voice_slots: usize,
    ) -> Result<SoakGuest, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        let (ws, _) = tokio_tungstenite::connect_async(socket_url(invite_url)?)
            .await
            .map_err(|e| format!("the guest socket did not open: {e}"))?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<GuestToServer>();
        let (server_tx, mut server) = mpsc::unbounded_channel();
        let (signal_tx, mut signals) = mpsc::unbounded_channel::<SignalPayload>();
        let mut tasks = vec![
            tokio::spawn(async move {
                while let Some(msg) = out_rx.recv().await {
                    let leaving = msg == GuestToServer::Leave;
                    let Ok(text) = serde_json::to_string(&msg) else {
                        continue;
                    };
                    if sink.send(Message::text(text)).await.is_err() {
                        return;
                    }
                    if leaving {
                        let _ = sink.close().await;
                        return;
                    }
                }
            }),
            tokio::spawn(async move {
                while let Some(Ok(msg)) = stream.next().await {
                    let Message::Text(text) = msg else { continue };
                    match serde_json::from_str::<ServerToGuest>(&text) {
                        Ok(ServerToGuest::Signal { payload, .. }) => {
                            let _ = signal_tx.send(payload);
                        }
                        Ok(other) => {
                            let _ = server_tx.send(Some(other));
                        }
                        Err(e) => eprintln!("soak guest: unreadable message {text:?}: {e}"),
                    }
                }
                let _ = server_tx.send(None);
            }),
        ];
        let _ = out.send(GuestToServer::Join { name: name.into() });
        loop {
            match tokio::time::timeout_at(deadline, server.recv()).await {
                Err(_) => return Err("not admitted in time".into()),
                Ok(None | Some(None)) => return Err("the socket closed before admission".into()),
                Ok(Some(Some(ServerToGuest::Waiting))) => continue,
                Ok(Some(Some(ServerToGuest::Admitted { .. }))) => break,
                Ok(Some(Some(other))) => return Err(format!("refused: {other:?}")),
            }
        }

        let received = Arc::new(AtomicU64::new(0));
        let received_bytes = Arc::new(AtomicU64::new(0));
        let slots: Arc<[Counts; FORWARD_SLOTS]> = Arc::new(Default::default());
        let voices: Arc<[Counts; VOICE_SLOTS]> = Arc::new(Default::default());
        let room = Arc::new(Counts::default());
        let slot_of = Arc::new(OnceLock::new());
        let (others_tx, others) = watch::channel(Vec::new());
        let (lowered_tx, lowered) = watch::channel(false);
        let (cand_tx, mut candidates) = mpsc::unbounded_channel();
        let (state_tx, mut state) = watch::channel(RTCPeerConnectionState::New);
        let mut media_engine = MediaEngine::default();
        media_engine
            .register_default_codecs()
            .map_err(|e| e.to_string())?;
        // Each voice packet's level, as a browser sends it: the unit forwards a voice by it.
        media_engine
            .register_header_extension(
                rtc::rtp_transceiver::rtp_sender::RTCRtpHeaderExtensionCapability {
                    uri: "urn:ietf:params:rtp-hdrext:ssrc-audio-level".to_owned(),
                },
                RtpCodecKind::Audio,
                None,
            )
            .map_err(|e| e.to_string())?;
        let registry = register_default_interceptors(Registry::new(), &mut media_engine)
            .map_err(|e| e.to_string())?;
        let pc = PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(media_engine)
            .with_interceptor_registry(registry)
            .with_handler(Arc::new(Handler {
                candidates: cand_tx,
                state: state_tx,
                received: received.clone(),
                received_bytes: received_bytes.clone(),
                slots: slots.clone(),
                voices: voices.clone(),
                room: room.clone(),
                slot_of: slot_of.clone(),
                latency: latency.clone().map(|l| (l, others.clone())),
            }))
            .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
            .build()
            .await
            .map_err(|e| format!("cannot build the guest's peer connection: {e}"))?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let (video, video_ssrc) = track(RtpCodecKind::Video)?;
        let (audio, audio_ssrc) = track(RtpCodecKind::Audio)?;
        let camera = pc
            .add_track(video.clone() as Arc<dyn TrackLocal>)
            .await
            .map_err(|e| format!("add_track: {e}"))?;
        pc.add_track(audio.clone() as Arc<dyn TrackLocal>)
            .await
            .map_err(|e| format!("add_track: {e}"))?;
        // The camera's section offers every video codec, as a browser's does (VP8 first); the
        // guest still sends H.264, which the unit agrees to as well. The room's picture
        // comes back on it.
        let mut ids = HashMap::new();
        for transceiver in pc.get_transceivers().await {
            if let Ok(Some(sender)) = transceiver.sender().await
                && sender.id() == camera.id()
            {
                transceiver
                    .set_codec_preferences(Vec::new())
                    .await
                    .map_err(|e| format!("set_codec_preferences: {e}"))?;
                ids.insert(transceiver.id(), ROOM);
            }
        }
        // The slots, after the guest's own camera and microphone, as the page offers them.
        for slot in 0..FORWARD_SLOTS {
            let transceiver = pc
                .add_transceiver_from_kind(
                    RtpCodecKind::Video,
                    Some(RTCRtpTransceiverInit {
                        direction: RTCRtpTransceiverDirection::Recvonly,
                        ..Default::default()
                    }),
                )
                .await
                .map_err(|e| format!("add_transceiver_from_kind (slot {slot}): {e}"))?;
            ids.insert(transceiver.id(), slot);
        }
        // Then the voice slots, as the page offers them.
        for slot in 0..voice_slots.min(VOICE_SLOTS) {
            let transceiver = pc
                .add_transceiver_from_kind(
                    RtpCodecKind::Audio,
                    Some(RTCRtpTransceiverInit {
                        direction: RTCRtpTransceiverDirection::Recvonly,
                        ..Default::default()
                    }),
                )
                .await
                .map_err(|e| format!("add_transceiver_from_kind (voice slot {slot}): {e}"))?;
            ids.insert(transceiver.id(), FORWARD_SLOTS + slot);
        }
        let _ = slot_of.set(ids);
        let channel = pc
            .create_data_channel(visavis_api::datachannel::LABEL, None)
            .await
            .map_err(|e| format!("create_data_channel: {e}"))?;
        tasks.push(tokio::spawn(read_channel(channel, others_tx, lowered_tx)));
        let offer = pc
            .create_offer(None)
            .await
            .map_err(|e| format!("create_offer: {e}"))?;
        pc.set_local_description(offer)
            .await
            .map_err(|e| format!("set_local_description: {e}"))?;
        let sdp = pc
            .local_description()
            .await
            .ok_or("no local description after the offer")?
            .sdp;
        let _ = out.send(GuestToServer::Signal {
            payload: SignalPayload::Offer { sdp },
        });
        // Candidates follow the offer.
        let out2 = out.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(payload) = candidates.recv().await {
                let _ = out2.send(GuestToServer::Signal { payload });
            }
        }));
        let pc2 = pc.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(payload) = signals.recv().await {
                let applied = match payload {
                    SignalPayload::Answer { sdp } => match RTCSessionDescription::answer(sdp) {
                        Ok(d) => pc2.set_remote_description(d).await,
                        Err(e) => Err(e),
                    },
                    SignalPayload::Candidate { candidate, .. } if candidate.is_empty() => Ok(()),
                    SignalPayload::Candidate {
                        candidate,
                        sdp_mid,
                        sdp_mline_index,
                    } => {
                        pc2.add_ice_candidate(RTCIceCandidateInit {
                            candidate,
                            sdp_mid,
                            sdp_mline_index,
                            ..Default::default()
                        })
                        .await
                    }
                    SignalPayload::Offer { .. } => continue,
                };
                if let Err(e) = applied {
                    eprintln!("soak guest: the unit's signal was not applied: {e}");
                }
            }
        }));
        loop {
            if *state.borrow_and_update() == RTCPeerConnectionState::Connected {
                break;
            }
            if matches!(
                *state.borrow(),
                RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
            ) {
                return Err(format!("the peer connection {}", *state.borrow()));
            }
            if tokio::time::timeout_at(deadline, state.changed())
                .await
                .is_err()
            {
                return Err(format!("not connected in time (state {})", *state.borrow()));
            }
        }
        for (kind, t, ssrc, clips, pick) in [
            (
                RtpCodecKind::Video,
                video,
                video_ssrc,
                vec![clip.video.clone(), clip.video_low.clone()],
                Some(lowered.clone()),
            ),
            (
                RtpCodecKind::Audio,
                audio,
                audio_ssrc,
                vec![clip.audio.clone()],
                None,
            ),
        ] {
            let pt = payload_type(&pc, kind).await?;
            let timed = latency
                .clone()
                .filter(|_| kind == RtpCodecKind::Video)
                .map(|l| (l, name.to_owned()));
            let level = (kind == RtpCodecKind::Audio).then_some(clip.audio_level);
            tasks.push(tokio::spawn(send_loop(
                t, ssrc, pt, clips, pick, level, timed,
            )));
        }
        Ok(SoakGuest {
            out,
            server,
            pc,
            received,
            received_bytes,
            slots,
            voices,
            room,
            others,
            state,
            tasks,
        })
    }

    /// Who the unit last said is in the guest's slots (its `others` message).
    pub fn others(&self) -> Vec<Other> {
        self.others.borrow().clone()
    }

    /// Wait until `more` packets beyond those counted now came from the unit.
    pub async fn media_flows(&self, more: u64, timeout: Duration) -> Result<(), String> {
        let target = self.received.load(Relaxed) + more;
        let t0 = Instant::now();
        while self.received.load(Relaxed) < target {
            if t0.elapsed() > timeout {
                return Err(format!(
                    "the unit's media stalled: {} of {more} packets in {timeout:?}",
                    more - (target - self.received.load(Relaxed)).min(more)
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// The peer connection's state now.
    pub fn state(&self) -> RTCPeerConnectionState {
        *self.state.borrow()
    }

    /// Tap "Leave": tell rendezvous, close the peer connection and the socket.
    pub async fn leave(self) {
        let _ = self.out.send(GuestToServer::Leave);
        let _ = self.pc.close().await;
        // Give the writer a moment to send `leave` and close; then stop everything.
        let writer = self.tasks.into_iter().enumerate();
        for (i, task) in writer {
            if i == 0 {
                let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
            } else {
                task.abort();
            }
        }
    }
}

async fn payload_type(pc: &Arc<dyn PeerConnection>, kind: RtpCodecKind) -> Result<u8, String> {
    let wanted = codec(kind);
    for sender in pc.get_senders().await {
        let params = sender
            .get_parameters()
            .await
            .map_err(|e| format!("sender parameters: {e}"))?;
        if let Some(c) = params.rtp_parameters.codecs.iter().find(|c| {
            c.rtp_codec
                .mime_type
                .eq_ignore_ascii_case(&wanted.mime_type)
                && (kind == RtpCodecKind::Audio
                    || c.rtp_codec.sdp_fmtp_line.contains("packetization-mode=1"))
        }) {
            return Ok(c.payload_type);
        }
    }
    Err(format!(
        "the unit did not agree to the guest's {kind} codec"
    ))
}

/// Send `clips[0]` in a loop at its own pace until the task is stopped, each sample with
/// its audio `level` (-dBov) where given, and noted in `timed` under the guest's name as it
/// is written; while `pick` says so, `clips[1]` instead (from its start, a keyframe).
async fn send_loop(
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    payload_type: u8,
    clips: Vec<Vec<crate::clip::Sample>>,
    pick: Option<watch::Receiver<bool>>,
    mut level: Option<u8>,
    timed: Option<(Arc<Latency>, String)>,
) {
    let start = tokio::time::Instant::now();
    let mut due = Duration::ZERO;
    let (mut which, mut next) = (0, 0);
    loop {
        let wanted = pick.as_ref().map_or(0, |p| usize::from(*p.borrow()));
        if wanted != which && wanted < clips.len() {
            which = wanted;
            next = 0;
        }
        let Some(s) = clips[which].get(next % clips[which].len().max(1)) else {
            return;
        };
        next += 1;
        let sample = Sample {
            data: s.data.clone(),
            duration: s.duration,
            ..Sample::new(Instant::now())
        };
        if let Some((latency, name)) = &timed {
            latency.sent(name, &s.data);
        }
        let writer = track.sample_writer(ssrc, payload_type);
        let written = match level {
            Some(l) => {
                let with_level = writer.with_audio_level(AudioLevelExtension {
                    level: l,
                    voice: l < 127,
                });
                match with_level.write_sample(&sample).await {
                    Ok(()) => Ok(()),
                    // A unit that did not agree to the levels: without them from now on.
                    Err(_) => {
                        level = None;
                        track
                            .sample_writer(ssrc, payload_type)
                            .write_sample(&sample)
                            .await
                    }
                }
            }
            None => writer.write_sample(&sample).await,
        };
        if written.is_err() {
            return;
        }
        due += s.duration;
        tokio::time::sleep_until(start + due).await;
    }
}

/// Read the data channel (the unit's welcome and later messages) so nothing piles up,
/// keeping the last list of who is in the slots, and whether the unit asks for the small
/// layer lowered (under its usual rate).
async fn read_channel(
    channel: Arc<dyn DataChannel>,
    others: watch::Sender<Vec<Other>>,
    lowered: watch::Sender<bool>,
) {
    while let Some(event) = channel.poll().await {
        let DataChannelEvent::OnMessage(message) = event else {
            continue;
        };
        match serde_json::from_slice::<UnitMessage>(&message.data) {
            Ok(UnitMessage::Others { others: list }) => {
                let _ = others.send(list);
            }
            Ok(UnitMessage::SmallLayerRate { max_kbps, .. }) => {
                let _ = lowered.send(max_kbps < visavis_api::datachannel::SMALL_LAYER_KBPS);
            }
            _ => {}
        }
    }
}
