//! The local API server: newline-delimited JSON on a Unix socket (see `visavis_api::local`).
//!
//! Each connection gets answers to its requests and every [`Event`]. A malformed line gets
//! a `bad_request` answer naming the problem; the connection stays open.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot};
use visavis_api::local::{
    ApiError, ApiErrorCode, ClientRequest, Event, Outcome, Request, ServerMessage,
};

/// Longest request line accepted.
const MAX_LINE: usize = 64 * 1024;

/// A request for the daemon loop, with where to send the answer.
pub type Call = (Request, oneshot::Sender<Outcome>);

/// An event for every client, with its number (see `visavis_api::local`).
pub type Pushed = (u64, Event);

/// Bind the socket at `path`, replacing a stale socket file left by a crash. The socket is
/// made accessible to the owner and group only.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!(
                    "{} is in use: is another applianced running?",
                    path.display()
                ),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    Ok(listener)
}

/// Accept clients until the process ends.
pub async fn serve(
    listener: UnixListener,
    calls: mpsc::Sender<Call>,
    events: broadcast::Sender<Pushed>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(client(stream, calls.clone(), events.subscribe()));
            }
            Err(e) => {
                tracing::warn!("local API accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

fn bad_request(message: String) -> Outcome {
    Outcome::Error(ApiError {
        code: ApiErrorCode::BadRequest,
        message,
    })
}

async fn client(
    stream: UnixStream,
    calls: mpsc::Sender<Call>,
    mut events: broadcast::Receiver<Pushed>,
) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<ServerMessage>();
    let writer = tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                m = out_rx.recv() => match m { Some(m) => m, None => return },
                e = events.recv() => match e {
                    Ok((seq, event)) => ServerMessage::Event { seq, event },
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        // The client sees the gap in the numbers and asks for the status again.
                        tracing::warn!(missed = n, "a local API client is too slow for events");
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            let Ok(mut line) = serde_json::to_string(&msg) else {
                continue;
            };
            line.push('\n');
            if write.write_all(line.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let mut buf = String::new();
    loop {
        buf.clear();
        match (&mut lines)
            .take(MAX_LINE as u64 + 1)
            .read_line(&mut buf)
            .await
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if buf.len() > MAX_LINE && !buf.ends_with('\n') {
            let _ = out_tx.send(ServerMessage::Response {
                id: 0,
                result: bad_request(format!("request line longer than {MAX_LINE} bytes")),
            });
            break;
        }
        let line = buf.trim();
        if line.is_empty() {
            continue;
        }
        let (id, result) = match serde_json::from_str::<ClientRequest>(line) {
            Ok(ClientRequest { id, request }) => {
                let (tx, rx) = oneshot::channel();
                if calls.send((request, tx)).await.is_err() {
                    break;
                }
                match rx.await {
                    Ok(outcome) => (id, outcome),
                    Err(_) => break,
                }
            }
            Err(e) => {
                // Echo the id when the line had one, so the client can match the error.
                let id = serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("id").and_then(|i| i.as_u64()))
                    .unwrap_or(0);
                (
                    id,
                    bad_request(format!(
                        "not a request: {e}. Expected {{\"id\":1,\"request\":{{\"type\":\"status\"}}}}"
                    )),
                )
            }
        };
        if out_tx.send(ServerMessage::Response { id, result }).is_err() {
            break;
        }
    }
    drop(out_tx);
    let _ = writer.await;
}
