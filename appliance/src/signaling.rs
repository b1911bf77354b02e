//! The unit's WebSocket to rendezvous: authenticate, relay messages, reconnect with backoff.
//!
//! The socket task reports [`Link::Up`] once rendezvous has accepted the unit's secret, then
//! every message it receives; [`Link::Down`] when the socket is lost. Messages handed to it
//! while down are dropped: the session core only sends while up.

use futures::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use visavis_api::PROTOCOL_VERSION;
use visavis_api::signaling::{DeviceToServer, ErrorCode, ServerToDevice};

/// What the socket task reports.
#[derive(Debug)]
pub enum Link {
    Up,
    Down,
    Message(ServerToDevice),
}

/// Start the socket task. Returns the sender for outgoing messages.
pub fn spawn(
    ws_url: String,
    device_id: String,
    secret: String,
    events: mpsc::UnboundedSender<Link>,
) -> mpsc::UnboundedSender<DeviceToServer> {
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<DeviceToServer>();
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(500);
        loop {
            match session(&ws_url, &device_id, &secret, &events, &mut out_rx).await {
                Ok(()) => return, // the daemon is shutting down
                Err(Failure::Refused(message)) => {
                    tracing::error!(
                        "rendezvous refused this unit: {message}. Check `device_id` and the secret file; retrying in 60 s"
                    );
                    backoff = Duration::from_secs(60);
                }
                Err(Failure::Lost(message)) => {
                    tracing::warn!(url = %ws_url, "rendezvous connection lost: {message}; retrying in {backoff:?}");
                }
            }
            if events.send(Link::Down).is_err() {
                return;
            }
            // Drop whatever was queued for the dead socket.
            while out_rx.try_recv().is_ok() {}
            let jitter = Duration::from_millis(u64::from(rand::random::<u16>() % 250));
            tokio::time::sleep(backoff + jitter).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    });
    out_tx
}

enum Failure {
    Refused(String),
    Lost(String),
}

async fn session(
    url: &str,
    device_id: &str,
    secret: &str,
    events: &mpsc::UnboundedSender<Link>,
    out_rx: &mut mpsc::UnboundedReceiver<DeviceToServer>,
) -> Result<(), Failure> {
    let lost = |e: &dyn std::fmt::Display| Failure::Lost(e.to_string());
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| lost(&e))?;
    let hello = DeviceToServer::Hello {
        device_id: device_id.to_owned(),
        secret: secret.to_owned(),
        protocol: PROTOCOL_VERSION,
    };
    let text = serde_json::to_string(&hello).map_err(|e| lost(&e))?;
    ws.send(Message::text(text)).await.map_err(|e| lost(&e))?;
    let mut up = false;
    loop {
        tokio::select! {
            incoming = ws.next() => {
                let msg = match incoming {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None => return Err(Failure::Lost("closed by rendezvous".into())),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(lost(&e)),
                };
                let parsed: ServerToDevice = match serde_json::from_str(msg.as_str()) {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!("unreadable message from rendezvous dropped: {e}");
                        continue;
                    }
                };
                match parsed {
                    ServerToDevice::Welcome { .. } if !up => {
                        up = true;
                        tracing::info!(url, "connected to rendezvous");
                        if events.send(Link::Up).is_err() {
                            return Ok(());
                        }
                    }
                    ServerToDevice::Error { code: ErrorCode::Unauthorized, message } => {
                        return Err(Failure::Refused(message));
                    }
                    other if up => {
                        if events.send(Link::Message(other)).is_err() {
                            return Ok(());
                        }
                    }
                    other => tracing::warn!("message before welcome ignored: {other:?}"),
                }
            }
            outgoing = out_rx.recv() => {
                let Some(msg) = outgoing else {
                    let _ = ws.close(None).await;
                    return Ok(());
                };
                let text = serde_json::to_string(&msg).map_err(|e| lost(&e))?;
                ws.send(Message::text(text)).await.map_err(|e| lost(&e))?;
            }
        }
    }
}
