//! The unit's WebSocket to rendezvous: authenticate, relay messages, keep it alive with
//! pings, reconnect with back-off ([`Backoff`]: doubling, capped, jittered, reset after a
//! connection that was accepted).
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
/// How often the unit pings rendezvous once connected, and how long a silence (no message,
/// no pong) it takes for the connection to count as dead. A blip of a few seconds leaves the
/// socket alone (TCP carries what waited); a longer outage, or a new address after it, is
/// noticed and the unit connects again instead of waiting minutes for TCP to give up.
const KEEPALIVE_PING: Duration = Duration::from_secs(5);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(15);

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
        let mut backoff = Backoff::default();
        loop {
            let mut was_up = false;
            let wait = match session(&ws_url, &identity, &events, &mut out_rx, &mut was_up).await {
                Ok(()) => return, // the daemon is shutting down
                Err(Failure::Refused(code, message)) => {
                    let wait = if code == ErrorCode::Revoked {
                        Duration::from_secs(600)
                    } else {
                        Duration::from_secs(60)
                    };
                    let problem = if code == ErrorCode::RateLimited {
                        // Quick retries would only keep this address over its allowance.
                        format!(
                            "rendezvous is limiting attempts from this unit's address: {message}. Retrying in {} s",
                            wait.as_secs()
                        )
                    } else {
                        format!(
                            "rendezvous refused this unit ({code:?}): {message}. Retrying in {} s",
                            wait.as_secs()
                        )
                    };
                    tracing::error!("{problem}");
                    if events.send(Link::Problem(problem)).is_err() {
                        return;
                    }
                    wait
                }
                Err(Failure::Lost(message)) => {
                    if was_up {
                        // A connection that worked: the next try comes quickly again.
                        backoff.reset();
                    }
                    let wait = backoff.next(rand::random::<f64>());
                    tracing::warn!(url = %ws_url, "rendezvous connection lost: {message}; retrying in {wait:?}");
                    wait
                }
            };
            if events.send(Link::Down).is_err() {
                return;
            }
            // Drop whatever was queued for the dead socket.
            while out_rx.try_recv().is_ok() {}
            tokio::time::sleep(wait).await;
        }
    });
    out_tx
}

/// Waits between tries to reach rendezvous: doubling from [`Backoff::FIRST`] up to
/// [`Backoff::CAP`], each wait drawn at random in its upper half so that the units of a
/// store whose Wi-Fi came back together do not all call at once. Reset after a connection
/// that was accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    ceiling: Duration,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_millis(500);
    pub const CAP: Duration = Duration::from_secs(30);

    /// The wait before the next try; `random` in `[0, 1)` picks it within the upper half.
    pub fn next(&mut self, random: f64) -> Duration {
        let ceiling = self.ceiling;
        self.ceiling = (ceiling * 2).min(Self::CAP);
        ceiling.mul_f64(0.5 + 0.5 * random.clamp(0.0, 1.0))
    }

    pub fn reset(&mut self) {
        *self = Backoff::default();
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            ceiling: Self::FIRST,
        }
    }
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
    was_up: &mut bool,
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
    let mut ping = tokio::time::interval(KEEPALIVE_PING);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if last_heard.elapsed() >= KEEPALIVE_TIMEOUT {
                    return Err(Failure::Lost(format!(
                        "nothing from rendezvous for {KEEPALIVE_TIMEOUT:?}, not even an answer to a ping: the connection is dead (network down, or the unit's address changed)"
                    )));
                }
                ws.send(Message::Ping(Default::default())).await.map_err(|e| lost(&e))?;
            }
            incoming = ws.next() => {
                last_heard = tokio::time::Instant::now();
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
                        *was_up = true;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_with_jitter_in_the_upper_half() {
        let mut b = Backoff::default();
        let lows: Vec<Duration> = (0..10).map(|_| b.next(0.0)).collect();
        let mut b = Backoff::default();
        let highs: Vec<Duration> = (0..10).map(|_| b.next(0.999_999)).collect();
        assert_eq!(lows[0], Backoff::FIRST / 2);
        assert!(highs[0] <= Backoff::FIRST && highs[0] > Backoff::FIRST * 9 / 10);
        for pair in highs.windows(2) {
            assert!(pair[1] >= pair[0], "never shorter: {highs:?}");
        }
        assert!(highs.iter().all(|w| *w <= Backoff::CAP));
        assert!(
            highs[9] > Backoff::CAP * 9 / 10,
            "reaches the cap: {highs:?}"
        );
        for (l, h) in lows.iter().zip(&highs) {
            assert!(
                *l >= *h / 2 && l < h,
                "jitter spans the upper half: {l:?} {h:?}"
            );
        }
    }

    #[test]
    fn backoff_starts_over_after_a_good_connection() {
        let mut b = Backoff::default();
        for _ in 0..8 {
            b.next(0.5);
        }
        assert!(b.clone().next(0.0) >= Backoff::CAP / 2);
        b.reset();
        assert_eq!(b.next(0.0), Backoff::FIRST / 2);
    }
}
