//! The unit's WebSocket to rendezvous: authenticate, relay messages, reconnect with backoff.
//!
//! Rendezvous opens with a challenge; the unit answers with its signature (and, the first
//! time, its enrollment token): see [`crate::identity`]. The socket task reports
//! [`Link::Up`] once rendezvous has accepted the unit, then every message it receives;
//! [`Link::Down`] when the socket is lost, and [`Link::Problem`] when rendezvous refuses the
//! unit (unknown, revoked, token refused) so the staff screen can say why. Messages handed
//! to it while down are dropped: the session core only sends while up.

use futures::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use visavis_api::signaling::{DeviceToServer, ErrorCode, ServerToDevice};

use crate::identity::Identity;

/// How long rendezvous has to send its challenge.
const CHALLENGE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the socket task reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    Up,
    Down,
    /// Rendezvous refused the unit, or its identity needs attention; the sentence says why.
    Problem(String),
    Message(ServerToDevice),
}

/// Start the socket task. Returns the sender for outgoing messages.
pub fn spawn(
    ws_url: String,
    identity: Identity,
    events: mpsc::UnboundedSender<Link>,
) -> mpsc::UnboundedSender<DeviceToServer> {
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<DeviceToServer>();
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(500);
        loop {
            match session(&ws_url, &identity, &events, &mut out_rx).await {
                Ok(()) => return, // the daemon is shutting down
                Err(Failure::Refused(code, message)) => {
                    backoff = if code == ErrorCode::Revoked {
                        Duration::from_secs(600)
                    } else {
                        Duration::from_secs(60)
                    };
                    let problem = if code == ErrorCode::RateLimited {
                        // Quick retries would only keep this address over its allowance.
                        format!(
                            "rendezvous is limiting attempts from this unit's address: {message}. Retrying in {} s",
                            backoff.as_secs()
                        )
                    } else {
                        format!(
                            "rendezvous refused this unit ({code:?}): {message}. Retrying in {} s",
                            backoff.as_secs()
                        )
                    };
                    tracing::error!("{problem}");
                    if events.send(Link::Problem(problem)).is_err() {
                        return;
                    }
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
            backoff = (backoff * 2).clamp(Duration::from_millis(500), Duration::from_secs(30));
        }
    });
    out_tx
}

enum Failure {
    Refused(ErrorCode, String),
    Lost(String),
}

async fn session(
    url: &str,
    identity: &Identity,
    events: &mpsc::UnboundedSender<Link>,
    out_rx: &mut mpsc::UnboundedReceiver<DeviceToServer>,
) -> Result<(), Failure> {
    let lost = |e: &dyn std::fmt::Display| Failure::Lost(e.to_string());
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| lost(&e))?;
    let challenge = tokio::time::timeout(CHALLENGE_TIMEOUT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => match serde_json::from_str(t.as_str()) {
                    Ok(ServerToDevice::Challenge { challenge }) => return Ok(challenge),
                    Ok(ServerToDevice::Error { code, message }) => {
                        return Err(Failure::Refused(code, message));
                    }
                    _ => {
                        return Err(Failure::Lost(
                            "rendezvous did not open with a challenge: is it an older version?"
                                .into(),
                        ));
                    }
                },
                Some(Ok(Message::Close(_))) | None => {
                    return Err(Failure::Lost("closed by rendezvous".into()));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(lost(&e)),
            }
        }
    })
    .await
    .map_err(|_| {
        Failure::Lost(format!(
            "no challenge from rendezvous within {CHALLENGE_TIMEOUT:?}"
        ))
    })??;
    let (answer, problem) = identity.answer(&challenge);
    if let Some(problem) = problem {
        tracing::error!("{problem}");
        let _ = events.send(Link::Problem(problem));
    }
    let enrolling = matches!(answer, DeviceToServer::Enroll { .. });
    let text = serde_json::to_string(&answer).map_err(|e| lost(&e))?;
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
                        if enrolling {
                            identity.enrolled();
                        }
                        tracing::info!(url, "connected to rendezvous");
                        if events.send(Link::Up).is_err() {
                            return Ok(());
                        }
                    }
                    ServerToDevice::Error { code: code @ (ErrorCode::Unauthorized | ErrorCode::Revoked | ErrorCode::EnrollmentRefused | ErrorCode::RateLimited), message } => {
                        return Err(Failure::Refused(code, message));
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
