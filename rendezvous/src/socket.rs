//! The task behind one WebSocket: sends what its queue holds, hands received text to a
//! handler, and closes on request, on a kick, at shutdown, or when the peer has been
//! silent too long: it pings every `timing.ping_every` (browsers and units answer by
//! themselves), and a peer not heard from (any frame, pongs included) for
//! `timing.silent_for` is gone, as a phone that lost its network is. Units and guests
//! have their own [`Liveness`] (see [`crate::config::SocketTiming`]): a guest's page pings
//! every few seconds and is given up on sooner. It returns how the socket ended
//! ([`Ending`]): a guest's place is held only when its socket was lost. The socket itself
//! is the caller's, closed when the caller drops it (a guest's only once its place is
//! held).

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Liveness;
use crate::hub::Outbound;

/// Largest message accepted from a peer (SDP of a big offer fits comfortably).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Close codes (RFC 6455).
pub const CLOSE_NORMAL: u16 = 1000;
pub const CLOSE_GOING_AWAY: u16 = 1001;
pub const CLOSE_POLICY: u16 = 1008;
pub const CLOSE_TOO_BIG: u16 = 1009;

/// What the peer sent.
#[derive(Debug)]
pub enum Incoming<'a> {
    Text(&'a str),
    Binary,
}

/// What the handler wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Send what is queued, then close the socket normally.
    Close,
}

/// How a socket's task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The peer said goodbye: a normal close frame (1000), or the handler asked to close
    /// ([`Flow::Close`], e.g. the guest's `leave`).
    Goodbye,
    /// Rendezvous closed it: a kick, a message sent with `close`, shutdown, an unreadable
    /// frame.
    ByServer,
    /// Lost without a goodbye: the connection dropped, the peer was silent too long, or it
    /// closed with another code (1001 going away, 1006...).
    Lost,
}

/// Serialise and send one message.
pub async fn send_json<M: Serialize>(socket: &mut WebSocket, msg: &M) -> Result<(), axum::Error> {
    let text = serde_json::to_string(msg).map_err(axum::Error::new)?;
    socket.send(Message::Text(Utf8Bytes::from(text))).await
}

/// Send a close frame (best effort).
pub async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// Drive a socket until it closes; says how it ended. `unreadable` is the message sent when
/// the peer's frame could not be read (e.g. too large), just before closing.
pub async fn drive<M, H>(
    socket: &mut WebSocket,
    mut queue: mpsc::Receiver<Outbound<M>>,
    kick: CancellationToken,
    unreadable: M,
    timing: Liveness,
    mut handle: H,
) -> Ending
where
    M: Serialize,
    H: FnMut(Incoming<'_>) -> Flow,
{
    let mut heard = tokio::time::Instant::now();
    let mut pings = tokio::time::interval_at(heard + timing.ping_every, timing.ping_every);
    pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = kick.cancelled() => {
                close(socket, CLOSE_GOING_AWAY, "closing").await;
                return Ending::ByServer;
            }
            _ = pings.tick() => {
                if heard.elapsed() >= timing.silent_for {
                    tracing::debug!("a peer was silent for {:?}: closing its socket", timing.silent_for);
                    close(socket, CLOSE_GOING_AWAY, "silent too long").await;
                    return Ending::Lost;
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return Ending::Lost;
                }
            }
            out = queue.recv() => {
                let Some(out) = out else {
                    close(socket, CLOSE_NORMAL, "").await;
                    return Ending::ByServer;
                };
                if send_json(socket, &out.msg).await.is_err() {
                    return Ending::Lost;
                }
                if out.close {
                    close(socket, CLOSE_NORMAL, "").await;
                    return Ending::ByServer;
                }
            }
            incoming = socket.recv() => {
                heard = tokio::time::Instant::now();
                let flow = match incoming {
                    Some(Ok(Message::Text(text))) => handle(Incoming::Text(text.as_str())),
                    Some(Ok(Message::Binary(_))) => handle(Incoming::Binary),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Flow::Continue,
                    Some(Ok(Message::Close(Some(frame)))) if frame.code == CLOSE_NORMAL => {
                        return Ending::Goodbye;
                    }
                    Some(Ok(Message::Close(_))) | None => return Ending::Lost,
                    Some(Err(e)) if dropped(&e) => return Ending::Lost,
                    Some(Err(e)) => {
                        tracing::debug!("unreadable frame: {e}");
                        let _ = send_json(socket, &unreadable).await;
                        close(socket, CLOSE_TOO_BIG, "unreadable message").await;
                        return Ending::ByServer;
                    }
                };
                if flow == Flow::Close {
                    while let Ok(out) = queue.try_recv() {
                        if send_json(socket, &out.msg).await.is_err() {
                            return Ending::Goodbye;
                        }
                    }
                    close(socket, CLOSE_NORMAL, "").await;
                    return Ending::Goodbye;
                }
            }
        }
    }
}

/// Whether a read error is the connection going away (reset, closed without a closing
/// handshake), not a frame that could not be read.
fn dropped(e: &axum::Error) -> bool {
    use std::error::Error as _;
    use tungstenite::error::{Error as WsError, ProtocolError};
    matches!(
        e.source().and_then(|s| s.downcast_ref::<WsError>()),
        Some(
            WsError::Io(_)
                | WsError::ConnectionClosed
                | WsError::AlreadyClosed
                | WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake),
        )
    )
}

/// "What was wrong" for a message that did not parse, in words a developer can act on.
pub fn parse_problem(e: &serde_json::Error, expected: &str) -> String {
    let what = if e.is_syntax() || e.is_eof() {
        "the message is not valid JSON"
    } else {
        "the message is not a known message"
    };
    format!("{what} ({e}); expected {expected}")
}
