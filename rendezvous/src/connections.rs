//! Accepting and serving HTTP connections, with the limits a public server needs.
//!
//! axum's `serve` has no header-read timeout and no connection cap: a client sending its
//! requests one byte at a time over many connections (slowloris) held every file
//! descriptor, and `/healthz` stopped answering. Here:
//! - a request's headers must arrive within [`HEADER_READ_TIMEOUT`] (hyper's timer, which
//!   also covers the wait for the next request on a kept-alive connection), or the
//!   connection closes;
//! - at most `limits.max_connections` connections at once and `limits.max_per_address`
//!   from one client address (IPv6 by /64); trusted proxies are exempt from the second, as
//!   they carry many clients. A connection over a cap is closed as soon as it is accepted.
//!   WebSockets count for as long as they are open;
//! - `max_connections` stays below the process's open-file limit (systemd's `LimitNOFILE`),
//!   which is raised to its hard limit at start, so accepting never fails for want of
//!   descriptors.
//!
//! - once connections fall to half of a peak of at least [`TRIM_PEAK`], the memory they
//!   held goes back to the system (`visavis_api::allocator`): 10,000 half-open requests
//!   left the server at 171 MB RSS after they closed, from 9 MB before.
//!
//! On shutdown, accepting stops and every connection is asked to finish gracefully.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::client_ip::TrustedProxies;
use crate::config::ConnectionLimits;

/// How long a client may take to send a request's headers (or to start its next request).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections open at once past which their closing gives memory back (see [`trim_due`]).
pub const TRIM_PEAK: usize = 256;
/// Descriptors kept free of connections: the registry, TLS files, logs.
const RESERVED_FDS: u64 = 64;

/// Raise the open-file limit to its hard limit; returns the soft limit now in force.
pub fn raise_fd_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => hard,
            Err(e) => {
                tracing::warn!("cannot raise the open-file limit from {soft} to {hard}: {e}");
                soft
            }
        },
        Ok((soft, _)) => soft,
        Err(e) => {
            tracing::warn!("cannot read the open-file limit: {e}");
            1024
        }
    }
}

/// The connection cap for `limits` under an open-file limit of `fd_limit`.
pub fn effective_max(limits: &ConnectionLimits, fd_limit: u64) -> usize {
    let room = fd_limit.saturating_sub(RESERVED_FDS).max(1);
    usize::try_from(room)
        .unwrap_or(usize::MAX)
        .min(limits.max_connections)
}

/// Whether connections falling to `open` from a `peak` (since the last time) should give
/// their memory back: after a flood or a busy hour, not at every connection that closes.
pub fn trim_due(peak: usize, open: usize) -> bool {
    peak >= TRIM_PEAK && open <= peak / 2
}

/// Connections open now, in all and per client address.
#[derive(Debug)]
pub struct Gate {
    total: Arc<Semaphore>,
    max: usize,
    /// The most connections open at once since memory was last given back.
    peak: AtomicUsize,
    per_address: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
    trusted: TrustedProxies,
}

/// One admitted connection's place; freed when dropped.
#[derive(Debug)]
pub struct Ticket {
    _total: OwnedSemaphorePermit,
    gate: Arc<Gate>,
    /// The client address counted, `None` for a trusted proxy.
    address: Option<IpAddr>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let gate = &self.gate;
        if let Some(ip) = self.address.take() {
            let mut open = gate.open.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = open.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&ip);
                }
            }
        }
        // This connection's permit is still held: it is given back right after.
        let open = gate.open_now().saturating_sub(1);
        let peak = gate.peak.load(Ordering::Relaxed);
        if trim_due(peak, open)
            && gate
                .peak
                .compare_exchange(peak, open, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            visavis_api::allocator::trim_soon();
        }
    }
}

impl Gate {
    pub fn new(max_connections: usize, per_address: usize, trusted: TrustedProxies) -> Arc<Gate> {
        let max = max_connections.max(1);
        Arc::new(Gate {
            total: Arc::new(Semaphore::new(max)),
            max,
            peak: AtomicUsize::new(0),
            per_address: per_address.max(1),
            open: Mutex::new(HashMap::new()),
            trusted,
        })
    }

    /// A place for a connection from `peer`, or why not.
    pub fn admit(self: &Arc<Gate>, peer: IpAddr) -> Result<Ticket, &'static str> {
        let total = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| "the server is at its connection limit")?;
        self.peak.fetch_max(self.open_now(), Ordering::Relaxed);
        if self.trusted.trusts(peer) {
            return Ok(Ticket {
                _total: total,
                gate: self.clone(),
                address: None,
            });
        }
        let key = crate::rate_limit::key(peer);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(key).or_insert(0);
        if *n >= self.per_address {
            return Err("this address has too many connections open");
        }
        *n += 1;
        Ok(Ticket {
            _total: total,
            gate: self.clone(),
            address: Some(key),
        })
    }

    /// Connections holding a place now.
    pub fn open_now(&self) -> usize {
        self.max.saturating_sub(self.total.available_permits())
    }
}

/// An accepted stream with its place under the caps.
pub struct Counted<S> {
    io: S,
    _ticket: Ticket,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Accept from `listener` and serve `router` on each connection until `shutdown` is
/// cancelled; then ask every connection to finish and wait up to `grace` for them.
pub async fn serve<L>(
    mut listener: L,
    router: Router,
    gate: Arc<Gate>,
    shutdown: CancellationToken,
    grace: Duration,
) where
    L: Listener<Addr = SocketAddr>,
    L::Io: Unpin,
{
    let connections = TaskTracker::new();
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let ticket = match gate.admit(peer.ip()) {
            Ok(ticket) => ticket,
            Err(why) => {
                tracing::debug!(%peer, "connection closed at once: {why}");
                continue;
            }
        };
        let io = TokioIo::new(Counted {
            io,
            _ticket: ticket,
        });
        let service = router
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(Body::new)
            });
        let service = TowerToHyperService::new(service);
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .keep_alive(true);
            let conn = builder.serve_connection(io, service).with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::trace!(%peer, "connection ended: {e}");
                    }
                    return;
                }
                () = shutdown.cancelled() => conn.as_mut().graceful_shutdown(),
            }
            let _ = conn.await;
        });
    }
    connections.close();
    if tokio::time::timeout(grace, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish in time");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_goes_back_after_a_flood_not_at_every_close() {
        assert!(trim_due(10_000, 5_000));
        assert!(!trim_due(10_000, 5_001), "still busy");
        assert!(
            !trim_due(TRIM_PEAK - 1, 0),
            "a quiet server keeps its pages"
        );
    }

    #[test]
    fn the_peak_is_reset_when_connections_fall_to_half_of_it() {
        let gate = Gate::new(1_000, 1_000, TrustedProxies::default());
        let peer = |i: usize| IpAddr::from([198, 18, (i / 250) as u8, (i % 250) as u8]);
        let mut tickets: Vec<Ticket> = (0..400).map(|i| gate.admit(peer(i)).unwrap()).collect();
        assert_eq!(gate.open_now(), 400);
        assert_eq!(gate.peak.load(Ordering::Relaxed), 400);
        // Down to 201 open: no trim yet.
        tickets.truncate(201);
        assert_eq!(gate.peak.load(Ordering::Relaxed), 400);
        // The 200th close: half the peak, memory is given back and the peak starts again.
        tickets.truncate(200);
        assert_eq!(gate.open_now(), 200);
        assert_eq!(gate.peak.load(Ordering::Relaxed), 200);
        tickets.clear();
        assert_eq!(gate.open_now(), 0);
        assert_eq!(
            gate.peak.load(Ordering::Relaxed),
            200,
            "under the floor: no trim"
        );
    }
}
