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
    /// Set once DTLS is up: media waits for it (nothing to encrypt with before).
    pub connected: tokio::sync::watch::Sender<bool>,
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
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => PeerEvent::Gone {
                guest_id: self.guest_id.clone(),
            },
            _ => return,
        };
        let _ = self.events.send(event);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        tokio::spawn(receive::count_remote_track(
            self.guest_id.clone(),
            track,
            self.counters.clone(),
        ));
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let label = channel.label().await.unwrap_or_default();
        if label != LABEL {
            tracing::warn!(guest = %self.guest_id, label, "unexpected data channel; closing it");
            let _ = channel.close().await;
            return;
        }
        tokio::spawn(serve_channel(
            self.guest_id.clone(),
            channel,
            self.events.clone(),
            self.counters.clone(),
            self.welcome.clone(),
        ));
    }
}

/// Read the guest's data channel: typed JSON messages only; anything else is logged and
/// dropped, the channel stays open.
async fn serve_channel(
    guest_id: GuestId,
    channel: Arc<dyn DataChannel>,
    events: mpsc::UnboundedSender<PeerEvent>,
    counters: Arc<GuestCounters>,
    welcome: UnitMessage,
) {
    while let Some(event) = channel.poll().await {
        match event {
            DataChannelEvent::OnOpen => {
                if let Ok(text) = serde_json::to_string(&welcome) {
                    let _ = channel.send_text(&text).await;
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
                    Err(e) => {
                        tracing::warn!(guest = %guest_id, "bad data-channel message dropped: {e}")
                    }
                }
            }
            DataChannelEvent::OnClose => break,
            _ => {}
        }
    }
}
