//! webrtc-rs callbacks for one guest, turned into [`PeerEvent`]s for the daemon.

use super::PeerEvent;
use super::receive;
use crate::metrics::{GuestCounters, lock};
use std::sync::Arc;
use tokio::sync::mpsc;
use visavis_api::datachannel::{GuestMessage, LABEL, UnitMessage};
use visavis_api::signaling::{GuestId, SignalPayload};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnectionEventHandler, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
};

pub struct Handler {
    pub guest_id: GuestId,
    pub events: mpsc::UnboundedSender<PeerEvent>,
    /// Local candidates wait here until the answer is out (see `Peer::apply`).
    pub candidates: mpsc::UnboundedSender<SignalPayload>,
    pub counters: Arc<GuestCounters>,
    pub welcome: UnitMessage,
    /// What the unit sends on the data channel after the welcome (see `Peer::send`).
    pub outbox: std::sync::Mutex<Option<mpsc::UnboundedReceiver<UnitMessage>>>,
    /// Set once DTLS is up: media waits for it (nothing to encrypt with before).
    pub connected: tokio::sync::watch::Sender<bool>,
    /// Decodes the guest's tracks for the screen and the speaker.
    pub guest_media: Option<crate::media::remote::GuestMedia>,
    /// Hands the guest's small camera layer to the others.
    pub forward: Option<crate::forward::Forwarder>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        match event.candidate.to_json() {
            Ok(init) => {
                let _ = self.candidates.send(SignalPayload::Candidate {
                    candidate: init.candidate,
                    sdp_mid: init.sdp_mid,
                    sdp_mline_index: init.sdp_mline_index,
                });
            }
            Err(e) => {
                tracing::warn!(guest = %self.guest_id, "cannot serialise a local candidate: {e}")
            }
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::info!(guest = %self.guest_id, %state, "peer connection state");
        *lock(&self.counters.connection) = state.to_string();
        let event = match state {
            RTCPeerConnectionState::Connected => {
                let _ = self.connected.send(true);
                PeerEvent::Connected {
                    guest_id: self.guest_id.clone(),
                }
            }
            RTCPeerConnectionState::Failed => PeerEvent::Failed {
                guest_id: self.guest_id.clone(),
            },
            RTCPeerConnectionState::Closed => PeerEvent::Gone {
                guest_id: self.guest_id.clone(),
            },
            _ => return,
        };
        let _ = self.events.send(event);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        tokio::spawn(receive::receive_remote_track(
            self.guest_id.clone(),
            track,
            self.counters.clone(),
            self.guest_media.clone(),
            self.forward.clone(),
        ));
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let label = channel.label().await.unwrap_or_default();
        if label != LABEL {
            tracing::warn!(guest = %self.guest_id, label, "unexpected data channel; closing it");
            let _ = channel.close().await;
            return;
        }
        let Some(outbox) = lock(&self.outbox).take() else {
            tracing::warn!(guest = %self.guest_id, "a second data channel; closing it");
            let _ = channel.close().await;
            return;
        };
        tokio::spawn(serve_channel(
            self.guest_id.clone(),
            channel,
            self.events.clone(),
            self.counters.clone(),
            self.welcome.clone(),
            outbox,
        ));
    }
}

/// Read the guest's data channel: typed JSON messages only; anything else is logged and
/// dropped, the channel stays open. Once it opens, the welcome goes out, then whatever the
/// unit queued in `outbox`, in order.
async fn serve_channel(
    guest_id: GuestId,
    channel: Arc<dyn DataChannel>,
    events: mpsc::UnboundedSender<PeerEvent>,
    counters: Arc<GuestCounters>,
    welcome: UnitMessage,
    outbox: mpsc::UnboundedReceiver<UnitMessage>,
) {
    let mut outbox = Some(outbox);
    let mut sender = None;
    while let Some(event) = channel.poll().await {
        match event {
            DataChannelEvent::OnOpen => {
                if let Some(mut outbox) = outbox.take() {
                    let channel = channel.clone();
                    let guest_id = guest_id.clone();
                    let welcome = welcome.clone();
                    sender = Some(tokio::spawn(async move {
                        let mut next = Some(welcome);
                        while let Some(message) = match next.take() {
                            Some(m) => Some(m),
                            None => outbox.recv().await,
                        } {
                            let Ok(text) = serde_json::to_string(&message) else {
                                continue;
                            };
                            if let Err(e) = channel.send_text(&text).await {
                                tracing::warn!(guest = %guest_id, "data channel send failed: {e}");
                                return;
                            }
                        }
                    }));
                }
            }
            DataChannelEvent::OnMessage(msg) => {
                let parsed = std::str::from_utf8(&msg.data)
                    .map_err(|e| e.to_string())
                    .and_then(|t| {
                        serde_json::from_str::<GuestMessage>(t).map_err(|e| e.to_string())
                    });
                match parsed {
                    Ok(GuestMessage::Reaction { reaction }) => {
                        counters
                            .reactions_in
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let _ = events.send(PeerEvent::Reaction {
                            guest_id: guest_id.clone(),
                            reaction,
                        });
                    }
                    Ok(GuestMessage::Chat { text }) => {
                        let _ = events.send(PeerEvent::Chat {
                            guest_id: guest_id.clone(),
                            text,
                        });
                    }
                    Ok(GuestMessage::Vote { round, look }) => {
                        let _ = events.send(PeerEvent::Vote {
                            guest_id: guest_id.clone(),
                            round,
                            look,
                        });
                    }
                    Err(e) => {
                        tracing::warn!(guest = %guest_id, "bad data-channel message dropped: {e}")
                    }
                }
            }
            DataChannelEvent::OnClose => break,
            _ => {}
        }
    }
    if let Some(task) = sender {
        task.abort();
    }
}
