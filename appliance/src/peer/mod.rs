//! One guest's WebRTC peer connection (webrtc-rs): the guest offers, the unit answers and
//! sends the shared encoder's video and audio; the guest's own video, audio and data channel
//! come back.
//!
//! After a network blip the guest's page restarts ICE: a new offer on the same connection,
//! with new ICE credentials. The unit answers it on the same connection (its tracks stay),
//! rebinds its sockets and gathers again (so a new address after the blip is found), and
//! trickles the new candidates after the answer. `disconnected` is left to heal by itself;
//! `failed` is reported ([`PeerEvent::Failed`]) and the session gives the guest time to
//! restart (`session::PEER_RESTART_GRACE`).

mod handler;
mod receive;
mod rtcp;
mod send;
mod slots;
mod voice_slots;

use crate::congestion::{Congestion, Membership};
use crate::media::{EncodedFrame, VideoLayers};
use crate::metrics::GuestCounters;
use rtc::interceptor::Slot;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use std::sync::Arc;
use tokio::sync::{Mutex, broadcast, mpsc};
use tokio::task::JoinHandle;
use visavis_api::datachannel::{Reaction, UnitMessage};
use visavis_api::signaling::{GuestId, IceServer, SignalPayload};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCIceServer, RTCSessionDescription, Registry, SettingEngineBuilder,
};
use webrtc::rtp_transceiver::RtpSender;

/// What a peer connection reports to the daemon.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerEvent {
    /// SDP/ICE to send to the guest through rendezvous.
    LocalSignal {
        guest_id: GuestId,
        payload: SignalPayload,
    },
    /// The connection is up: for the first time, or again after an ICE restart.
    Connected {
        guest_id: GuestId,
    },
    /// ICE found no path for a while (`failed`): the guest's page may still restart it with
    /// a new offer on the same connection. `disconnected` is not reported: it often heals
    /// by itself.
    Failed {
        guest_id: GuestId,
    },
    /// The connection closed, or its signaling broke: it will not come back.
    Gone {
        guest_id: GuestId,
    },
    Reaction {
        guest_id: GuestId,
        reaction: Reaction,
    },
    Chat {
        guest_id: GuestId,
        text: String,
    },
    Vote {
        guest_id: GuestId,
        round: u32,
        look: u32,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("webrtc: {0}")]
    WebRtc(#[from] webrtc::error::Error),
    #[error("the guest sent {0}, which the unit does not expect")]
    Unexpected(&'static str),
}

/// What every peer needs from the daemon.
#[derive(Clone)]
pub struct PeerContext {
    /// Every video layer; the guest gets the one congestion control picks.
    pub video: VideoLayers,
    pub audio: broadcast::Sender<Arc<EncodedFrame>>,
    /// Where the guest's bandwidth estimate goes, and their layer comes from.
    pub congestion: Congestion,
    pub events: mpsc::UnboundedSender<PeerEvent>,
    pub welcome: UnitMessage,
    /// Where the guest's own video and voice are decoded (none: only counted).
    pub guest_media: Option<crate::media::remote::GuestMedia>,
    /// TLS for relays over `turns:`; with it, TCP and TLS relays are bridged for webrtc-rs
    /// ([`crate::relay_bridge`]). None: UDP relays only.
    pub relay_tls: Option<Arc<rustls::ClientConfig>>,
    /// Guests see each other through it ([`crate::forward`]); None: they see the room only.
    pub forward: Option<crate::forward::Forwarder>,
}

/// One guest's connection. Closed by [`Peer::close`] (or when dropped, less gracefully).
pub struct Peer {
    guest_id: GuestId,
    pc: Arc<dyn PeerConnection>,
    ctx: PeerContext,
    counters: Arc<GuestCounters>,
    congestion: Membership,
    candidates: Mutex<Option<mpsc::UnboundedReceiver<SignalPayload>>>,
    /// Held while an answer is made; local candidates wait for it.
    answering: Arc<Mutex<()>>,
    connected: tokio::sync::watch::Receiver<bool>,
    outbox: mpsc::UnboundedSender<UnitMessage>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
    /// Bridges to TCP and TLS relays; they stop when the peer goes.
    _bridges: crate::relay_bridge::Bridges,
}

fn video_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: "video/H264".into(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
            .into(),
        rtcp_feedback: vec![],
    }
}

fn audio_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: "audio/opus".into(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
        rtcp_feedback: vec![],
    }
}

fn local_track(
    kind: RtpCodecKind,
    codec: RTCRtpCodec,
) -> Result<(Arc<TrackLocalStaticSample>, u32), PeerError> {
    let ssrc = rand::random::<u32>();
    let track = TrackLocalStaticSample::new(
        std::time::Instant::now(),
        MediaStreamTrack::new(
            "visavis".into(),
            format!("visavis-{kind}"),
            format!("visavis-{kind}"),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec,
                ..Default::default()
            }],
        ),
    )?;
    Ok((Arc::new(track), ssrc))
}

/// The payload type the guest agreed for `wanted`: same MIME type and, for H.264, the same
/// packetization mode and profile. Browsers list VP8 first; taking the first negotiated
/// codec would label H.264 frames as VP8 and nothing would decode.
async fn payload_type(sender: &Arc<dyn RtpSender>, wanted: &RTCRtpCodec) -> Result<u8, PeerError> {
    let key_params = |line: &str| -> Vec<String> {
        let mut keys: Vec<String> = line
            .split(';')
            .map(|kv| kv.trim().to_ascii_lowercase())
            .filter(|kv| kv.starts_with("packetization-mode") || kv.starts_with("profile-level-id"))
            .collect();
        keys.sort();
        keys
    };
    sender
        .get_parameters()
        .await?
        .rtp_parameters
        .codecs
        .iter()
        .find(|c| {
            c.rtp_codec
                .mime_type
                .eq_ignore_ascii_case(&wanted.mime_type)
                && key_params(&c.rtp_codec.sdp_fmtp_line) == key_params(&wanted.sdp_fmtp_line)
        })
        .map(|c| c.payload_type)
        .ok_or(PeerError::Unexpected(
            "an offer without H.264 constrained baseline (packetization-mode=1) or Opus",
        ))
}
impl Peer {
    /// Build the peer connection for an admitted guest; nothing is sent until their offer.
    /// `ice_servers`: the STUN/TURN servers for this guest's call (TURN credentials minted
    /// for the unit by rendezvous, or by the unit from its seed's secret).
    /// `name`: how the other guests see them named.
    pub async fn new(
        guest_id: GuestId,
        name: &str,
        counters: Arc<GuestCounters>,
        ctx: PeerContext,
        ice_servers: &[IceServer],
    ) -> Result<Peer, PeerError> {
        let mut media_engine = MediaEngine::default();
        media_engine.register_default_codecs()?;
        // The guest's camera comes as simulcast: its layers are told apart by these.
        for uri in [
            "urn:ietf:params:rtp-hdrext:sdes:mid",
            "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
            "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
        ] {
            media_engine.register_header_extension(
                rtc::rtp_transceiver::rtp_sender::RTCRtpHeaderExtensionCapability {
                    uri: uri.to_owned(),
                },
                RtpCodecKind::Video,
                None,
            )?;
        }
        // Each voice packet's level: the others get a guest's voice only while they talk.
        media_engine.register_header_extension(
            rtc::rtp_transceiver::rtp_sender::RTCRtpHeaderExtensionCapability {
                uri: crate::forward::voices::AUDIO_LEVEL_URI.to_owned(),
            },
            RtpCodecKind::Audio,
            None,
        )?;
        let registry = crate::congestion::estimator::registry(
            Registry::new(),
            &mut media_engine,
            ctx.congestion.limits(),
            counters.clone(),
        )?
        .with(
            Slot::from(14_000),
            rtcp::KeyframeRequestForwarder::default(),
        );
        let (ice_servers, bridges) = match &ctx.relay_tls {
            Some(tls) => crate::relay_bridge::bridge(ice_servers, tls).await,
            None => (ice_servers.to_vec(), Default::default()),
        };
        let config = RTCConfigurationBuilder::new()
            .with_ice_servers(
                ice_servers
                    .iter()
                    .map(|s| RTCIceServer {
                        urls: s.urls.clone(),
                        username: s.username.clone().unwrap_or_default(),
                        credential: s.credential.clone().unwrap_or_default(),
                    })
                    .collect(),
            )
            .build();
        let (cand_tx, cand_rx) = mpsc::unbounded_channel();
        let (connected_tx, connected) = tokio::sync::watch::channel(false);
        let (outbox, outbox_rx) = mpsc::unbounded_channel();
        let handler = handler::Handler {
            outbox: std::sync::Mutex::new(Some(outbox_rx)),
            guest_id: guest_id.clone(),
            events: ctx.events.clone(),
            candidates: cand_tx,
            counters: counters.clone(),
            welcome: ctx.welcome.clone(),
            connected: connected_tx,
            guest_media: ctx.guest_media.clone(),
            forward: ctx.forward.clone(),
        };
        // On an ICE restart, drop the old candidates and rebind: after a Wi-Fi blip the unit
        // may have a new address.
        let settings = SettingEngineBuilder::new()
            .with_discard_local_candidates_during_ice_restart(true)
            .build();
        let pc = PeerConnectionBuilder::new()
            .with_configuration(config)
            .with_setting_engine(settings)
            .with_media_engine(media_engine)
            .with_interceptor_registry(registry)
            .with_handler(Arc::new(handler))
            .with_udp_addrs(vec!["0.0.0.0:0".to_owned()])
            .build()
            .await?;
        if let Some(forward) = &ctx.forward {
            forward.join(&guest_id, name);
        }
        Ok(Peer {
            congestion: ctx.congestion.join(guest_id.clone(), counters.clone()),
            guest_id,
            pc: Arc::new(pc),
            ctx,
            counters,
            candidates: Mutex::new(Some(cand_rx)),
            answering: Arc::new(Mutex::new(())),
            connected,
            outbox,
            tasks: std::sync::Mutex::new(Vec::new()),
            _bridges: bridges,
        })
    }

    /// Apply SDP/ICE from the guest. An offer is answered (the answer goes out as a
    /// [`PeerEvent::LocalSignal`]); the first one starts the media, a later one restarts ICE.
    /// A candidate the connection refuses is logged and skipped: one bad candidate (say, of
    /// an ICE generation a restart replaced) does not end the call.
    pub async fn apply(&self, payload: SignalPayload) -> Result<(), PeerError> {
        match payload {
            SignalPayload::Offer { sdp } => self.answer(sdp).await,
            SignalPayload::Candidate { candidate, .. } if candidate.is_empty() => Ok(()),
            SignalPayload::Candidate {
                candidate,
                sdp_mid,
                sdp_mline_index,
            } => {
                let added = self
                    .pc
                    .add_ice_candidate(RTCIceCandidateInit {
                        candidate,
                        sdp_mid,
                        sdp_mline_index,
                        ..Default::default()
                    })
                    .await;
                if let Err(e) = added {
                    tracing::info!(guest = %self.guest_id, "guest's ICE candidate skipped: {e}");
                }
                Ok(())
            }
            SignalPayload::Answer { .. } => Err(PeerError::Unexpected("an answer")),
        }
    }

    async fn answer(&self, offer: String) -> Result<(), PeerError> {
        // Local candidates wait while an answer is made: the guest must hold the answer (and
        // its ICE credentials) before candidates of the same ICE generation reach it.
        let answering = self.answering.clone();
        let _held = answering.lock().await;
        self.pc
            .set_remote_description(RTCSessionDescription::offer(offer.clone())?)
            .await?;
        // Only an offer the connection took counts as the first: after a refused one, the
        // next good offer still starts the media.
        let first = self.candidates.lock().await.take();
        let Some(mut candidates) = first else {
            // A new offer from the same guest on the same connection: an ICE restart after
            // a network blip (webrtc-rs restarts ICE when the offer's credentials change).
            // The tracks and the tasks feeding them stay as they are.
            let sdp = self.make_answer().await?;
            tracing::info!(guest = %self.guest_id, "answered a new offer (ICE restart)");
            let _ = self.ctx.events.send(PeerEvent::LocalSignal {
                guest_id: self.guest_id.clone(),
                payload: SignalPayload::Answer { sdp },
            });
            return Ok(());
        };
        let (video, video_ssrc) = local_track(RtpCodecKind::Video, video_codec())?;
        let (audio, audio_ssrc) = local_track(RtpCodecKind::Audio, audio_codec())?;
        let video_sender = self
            .pc
            .add_track(video.clone() as Arc<dyn TrackLocal>)
            .await?;
        let audio_sender = self
            .pc
            .add_track(audio.clone() as Arc<dyn TrackLocal>)
            .await?;
        let slot_tracks = match &self.ctx.forward {
            Some(_) => slots::add(&self.pc, slots::offered(&offer), slots::carried(&offer)).await?,
            None => Vec::new(),
        };
        let voices = self.ctx.guest_media.as_ref().and_then(|m| m.voices());
        let voice_tracks = match voices {
            Some(voices) => {
                if let Some(id) = voice_slots::level_id(&offer) {
                    voices.level_id(&self.guest_id, id);
                }
                voice_slots::add(&self.pc, voice_slots::offered(&offer)).await?
            }
            None => Vec::new(),
        };
        let sdp = self.make_answer().await?;
        let video_pt = payload_type(&video_sender, &video_codec()).await?;
        let audio_pt = payload_type(&audio_sender, &audio_codec()).await?;
        let guest_id = self.guest_id.clone();
        let events = self.ctx.events.clone();
        let _ = events.send(PeerEvent::LocalSignal {
            guest_id: guest_id.clone(),
            payload: SignalPayload::Answer { sdp },
        });

        let ctx = &self.ctx;
        let tasks = vec![
            // Candidates gathered so far, and later ones, follow the answer (a later answer,
            // after an ICE restart, too: they wait while one is being made).
            tokio::spawn({
                let guest_id = guest_id.clone();
                let answering = self.answering.clone();
                async move {
                    while let Some(payload) = candidates.recv().await {
                        let _answer_out = answering.lock().await;
                        let _ = events.send(PeerEvent::LocalSignal {
                            guest_id: guest_id.clone(),
                            payload,
                        });
                    }
                }
            }),
            tokio::spawn(send::forward_video(
                guest_id.clone(),
                send::to_track(
                    send::Outgoing {
                        track: video.clone(),
                        ssrc: video_ssrc,
                        payload_type: video_pt,
                    },
                    self.counters.clone(),
                ),
                ctx.video.clone(),
                self.congestion.layer.clone(),
                self.connected.clone(),
                self.counters.clone(),
            )),
            tokio::spawn(send::forward_audio(
                guest_id.clone(),
                send::Outgoing {
                    track: audio,
                    ssrc: audio_ssrc,
                    payload_type: audio_pt,
                },
                self.audio_source(),
                self.connected.clone(),
                self.counters.clone(),
            )),
            tokio::spawn(send::keyframes_on_request(
                video,
                ctx.video.clone(),
                self.counters.clone(),
            )),
            tokio::spawn(send::poll_sent_stats(
                self.pc.clone(),
                self.guest_id.clone(),
                self.counters.clone(),
                self._bridges.legs(),
            )),
        ];
        crate::metrics::lock(&self.tasks).extend(tasks);
        if let Some(forward) = &self.ctx.forward
            && !slot_tracks.is_empty()
        {
            let tasks = slots::serve(
                forward.clone(),
                guest_id.clone(),
                slot_tracks,
                self.outbox.clone(),
                self.connected.clone(),
            )
            .await?;
            crate::metrics::lock(&self.tasks).extend(tasks);
        }
        if let Some(voices) = voices
            && !voice_tracks.is_empty()
        {
            let task = voice_slots::serve(
                voices.clone(),
                guest_id.clone(),
                voice_tracks,
                self.connected.clone(),
            )
            .await?;
            crate::metrics::lock(&self.tasks).push(task);
        }
        Ok(())
    }

    /// What the guest hears: a mix of their own (the room and the other guests) when guests
    /// hear each other, else the room's stream shared by all. A mix that cannot be made
    /// leaves the guest the room's stream, not silence.
    fn audio_source(&self) -> send::AudioSource {
        match self
            .ctx
            .guest_media
            .as_ref()
            .and_then(|m| m.own_mix(&self.guest_id))
        {
            Some(Ok(mix)) => send::AudioSource::Own(mix),
            Some(Err(e)) => {
                tracing::warn!(guest = %self.guest_id, "{e}; the guest hears the room only");
                send::AudioSource::Room(self.ctx.audio.subscribe())
            }
            None => send::AudioSource::Room(self.ctx.audio.subscribe()),
        }
    }

    /// Create and set the answer to the offer just applied; its SDP (with the local
    /// candidates gathered so far).
    async fn make_answer(&self) -> Result<String, PeerError> {
        let answer = self.pc.create_answer(None).await?;
        self.pc.set_local_description(answer).await?;
        self.pc
            .local_description()
            .await
            .map(|d| d.sdp)
            .ok_or(PeerError::Unexpected(
                "no local description after answering",
            ))
    }

    /// Queue a message for the guest's data channel; sent once it is open, in order.
    pub fn send(&self, message: UnitMessage) {
        let _ = self.outbox.send(message);
    }

    /// Stop sending and close the connection.
    pub async fn close(&self) {
        self.leave_group();
        for task in crate::metrics::lock(&self.tasks).drain(..) {
            task.abort();
        }
        if let Err(e) = self.pc.close().await {
            tracing::debug!(guest = %self.guest_id, "closing peer connection: {e}");
        }
    }
}

impl Peer {
    /// The guest's picture and voice go from the others' slots, and they see and hear
    /// nobody's there.
    fn leave_group(&self) {
        if let Some(forward) = &self.ctx.forward {
            forward.leave(&self.guest_id);
        }
        if let Some(voices) = self.ctx.guest_media.as_ref().and_then(|m| m.voices()) {
            voices.leave(&self.guest_id);
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.leave_group();
        for task in crate::metrics::lock(&self.tasks).drain(..) {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests;
