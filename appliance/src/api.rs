//! The local API server: newline-delimited JSON on a Unix socket (see `visavis_api::local`).
//!
//! Each connection gets answers to its requests and every [`Event`]. A malformed line gets
//! a `bad_request` answer naming the problem; the connection stays open.
//!
//! A client must read what it is sent: at most [`QUEUE`] answers wait for it (its next
//! request waits until there is room), and a client that has not taken a line within
//! [`WRITE_TIMEOUT`] is closed. One that writes and never reads cannot make the daemon
//! grow.

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
/// Answers waiting for one client.
pub const QUEUE: usize = 64;
/// How long a client may leave a line unread before it is closed.
pub const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

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
    let (out_tx, mut out_rx) = mpsc::channel::<ServerMessage>(QUEUE);
    let mut writer = tokio::spawn(async move {
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
            match tokio::time::timeout(WRITE_TIMEOUT, write.write_all(line.as_bytes())).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return,
                Err(_) => {
                    tracing::warn!("a local API client stopped reading its answers: closing it");
                    return;
                }
            }
        }
    });
    let reading = read_requests(&mut lines, &calls, &out_tx);
    tokio::select! {
        () = reading => {}
        _ = &mut writer => return,
    }
    drop(out_tx);
    let _ = writer.await;
}

/// Read request lines, ask the daemon loop, queue the answers, until the client or the
/// daemon goes.
async fn read_requests(
    lines: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    calls: &mpsc::Sender<Call>,
    out_tx: &mpsc::Sender<ServerMessage>,
) {
    let mut buf = String::new();
    loop {
        buf.clear();
        match lines.take(MAX_LINE as u64 + 1).read_line(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if buf.len() > MAX_LINE && !buf.ends_with('\n') {
            let _ = out_tx
                .send(ServerMessage::Response {
                    id: 0,
                    result: bad_request(format!("request line longer than {MAX_LINE} bytes")),
                })
                .await;
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
        if out_tx
            .send(ServerMessage::Response { id, result })
            .await
            .is_err()
        {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client that sends requests and never reads its answers is closed after
    /// [`WRITE_TIMEOUT`], with at most [`QUEUE`] answers held for it meanwhile.
    #[tokio::test(start_paused = true)]
    async fn a_client_that_never_reads_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.sock");
        let listener = bind(&path).unwrap();
        let (calls_tx, mut calls) = mpsc::channel::<Call>(8);
        let (events, _) = broadcast::channel(8);
        tokio::spawn(serve(listener, calls_tx, events));
        // The daemon loop: a long answer to every request.
        let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = answered.clone();
        tokio::spawn(async move {
            while let Some((_, reply)) = calls.recv().await {
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let _ = reply.send(bad_request("x".repeat(1024)));
            }
        });
        let mut client = UnixStream::connect(&path).await.unwrap();
        let request = b"{\"id\":1,\"request\":{\"type\":\"status\"}}\n";
        // Write until the daemon stops taking requests (its queue for us is full) or closes us.
        let mut written = 0;
        loop {
            match tokio::time::timeout(WRITE_TIMEOUT * 3, client.write_all(request)).await {
                Ok(Ok(())) => written += 1,
                Ok(Err(_)) | Err(_) => break,
            }
            if written > 50_000 {
                panic!("the daemon kept taking requests from a client that never reads");
            }
        }
        let held = answered.load(std::sync::atomic::Ordering::Relaxed);
        // Answers that fit in the socket's buffers, plus the queue: bounded.
        assert!(
            held < 5_000,
            "{held} answers were made for a client that never reads"
        );
        // Closed: reading gives what was buffered, then the end.
        let mut rest = Vec::new();
        let read = tokio::time::timeout(WRITE_TIMEOUT * 3, client.read_to_end(&mut rest)).await;
        assert!(
            matches!(read, Ok(Ok(_)) | Ok(Err(_))),
            "the client was not closed"
        );
    }
}
