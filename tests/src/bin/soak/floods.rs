//! Floods against rendezvous: `n` half-open HTTP requests, then `n` idle guest
//! WebSockets (never joining), from many loopback source addresses (127.0.0.2 and up,
//! [`PER_ADDRESS`] each, under `[connections] max_per_address`), spread over invites
//! ([`PER_INVITE`] each). While they are held: does `/healthz` answer, how long it takes,
//! rendezvous' RSS and descriptors; then when rendezvous closes them.

use crate::{mem, unit};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use visavis_api::local::{Request, Response};
use visavis_e2e::{RateLimit, Rendezvous, RendezvousConfig};

/// Connections from one source address (the server's default cap is 128).
const PER_ADDRESS: usize = 100;
/// Idle sockets on one invite (rendezvous takes 32 at most).
const PER_INVITE: usize = 30;
/// Connections being opened at once.
const PARALLEL: usize = 256;

fn source(i: usize) -> Ipv4Addr {
    let n = 2 + (i / PER_ADDRESS) as u32;
    Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 0)) + n)
}

async fn connect_from(from: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((from, 0)))?;
    socket.connect(to).await
}

/// `GET /healthz` from 127.0.0.1: the time to a 200, or why not.
async fn healthz(to: SocketAddr) -> Result<Duration, String> {
    let t0 = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(10), async {
        let mut s = TcpStream::connect(to).await?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
            .await?;
        let mut body = Vec::new();
        s.read_to_end(&mut body).await?;
        Ok::<_, std::io::Error>(body)
    })
    .await;
    match answer {
        Ok(Ok(body)) if body.starts_with(b"HTTP/1.1 200") => Ok(t0.elapsed()),
        Ok(Ok(body)) => Err(format!(
            "answered {:?}",
            String::from_utf8_lossy(&body[..body.len().min(40)])
        )),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 10 s".into()),
    }
}

fn health_line(h: &Result<Duration, String>) -> String {
    match h {
        Ok(d) => format!("/healthz 200 in {:.1} ms", d.as_secs_f64() * 1000.0),
        Err(e) => format!("/healthz FAILED: {e}"),
    }
}

fn server_line(pid: u32) -> String {
    format!(
        "rendezvous RSS {}, {} descriptors",
        mem::mb(mem::rss_kb(pid)),
        mem::fds(pid)
    )
}

/// rendezvous' memory once it had the time to give back what closed connections held
/// (it trims [`visavis_api::allocator::TRIM_DELAY`] after they fall to half their peak).
async fn settled(pid: u32) -> String {
    let wait = visavis_api::allocator::TRIM_DELAY + Duration::from_secs(1);
    tokio::time::sleep(wait).await;
    format!("{} s later: {}", wait.as_secs(), server_line(pid))
}

/// Sockets still open among `streams` (a read that would block: open).
fn still_open(streams: &[TcpStream]) -> usize {
    let mut buf = [0u8; 256];
    streams
        .iter()
        .filter(|s| matches!(s.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock))
        .count()
}

pub async fn run(n: usize) -> Result<String, String> {
    let mut rendezvous = Rendezvous::start(RendezvousConfig {
        rate_limit: Some(RateLimit {
            burst: 1_000_000,
            per_minute: 1_000_000,
        }),
        ..RendezvousConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let rpid = rendezvous.process().id();
    let addr: SocketAddr = rendezvous
        .url()
        .trim_start_matches("http://")
        .parse()
        .map_err(|e| format!("rendezvous URL {}: {e}", rendezvous.url()))?;
    let mut unit = unit::start(rendezvous.url(), rendezvous.fleet())?;
    let mut out = format!(
        "floods: {n} connections from {} loopback addresses ({PER_ADDRESS} each)\n",
        n.div_ceil(PER_ADDRESS)
    );
    let _ = writeln!(
        out,
        "  idle: {}, {}",
        server_line(rpid),
        health_line(&healthz(addr).await)
    );

    // Half-open requests: headers that never end.
    let t0 = Instant::now();
    let mut streams = Vec::with_capacity(n);
    let mut refused = 0usize;
    for chunk in (0..n).collect::<Vec<_>>().chunks(PARALLEL) {
        let opened = futures_util::future::join_all(chunk.iter().map(|&i| async move {
            let mut s = connect_from(source(i), addr).await?;
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: soak\r\nX-Slow: ")
                .await?;
            Ok::<_, std::io::Error>(s)
        }))
        .await;
        for s in opened {
            match s {
                Ok(s) => streams.push(s),
                Err(_) => refused += 1,
            }
        }
    }
    let opened_in = t0.elapsed();
    let held = still_open(&streams);
    let _ = writeln!(
        out,
        "  {n} half-open requests sent in {:.1} s ({refused} not connected); {held} held \
         open: {}, {}",
        opened_in.as_secs_f64(),
        server_line(rpid),
        health_line(&healthz(addr).await)
    );
    let t_closing = Instant::now();
    let mut left = held;
    while left > 0 && t_closing.elapsed() < Duration::from_secs(40) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        left = still_open(&streams);
    }
    let _ = writeln!(
        out,
        "  rendezvous closed them: {left} still open {:.1} s after the last was sent \
         (header-read timeout {} s); then {}",
        (t_closing.elapsed() + opened_in).as_secs_f64() - opened_in.as_secs_f64(),
        10,
        server_line(rpid)
    );
    drop(streams);
    let _ = writeln!(out, "  {}", settled(rpid).await);

    // Idle guest sockets: open, never join.
    let invites: Vec<String> = (0..n.div_ceil(PER_INVITE))
        .map(|_| unit::invite(&mut unit))
        .collect::<Result<_, _>>()?;
    let open = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(n);
    let mut errors: std::collections::BTreeMap<String, usize> = Default::default();
    let t0 = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(PARALLEL) {
        let opened = futures_util::future::join_all(chunk.iter().map(|&i| {
            let url = crate::guest::socket_url(&invites[i / PER_INVITE]);
            async move {
                let url = url?;
                let s = connect_from(source(i), addr)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio_tungstenite::client_async(url, s)
                    .await
                    .map(|(ws, _)| ws)
                    .map_err(|e| e.to_string())
            }
        }))
        .await;
        for ws in opened {
            match ws {
                Ok(mut ws) => {
                    open.fetch_add(1, Relaxed);
                    let open = open.clone();
                    tasks.push(tokio::spawn(async move {
                        use futures_util::StreamExt;
                        while let Some(Ok(_)) = ws.next().await {}
                        open.fetch_sub(1, Relaxed);
                    }));
                }
                Err(e) => {
                    let key: String = e.chars().take(60).collect();
                    *errors.entry(key).or_default() += 1;
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "  {} idle guest sockets open of {n} tried ({} invites, {PER_INVITE} each) in {:.1} s: {}, {}",
        open.load(Relaxed),
        invites.len(),
        t0.elapsed().as_secs_f64(),
        server_line(rpid),
        health_line(&healthz(addr).await)
    );
    for (e, count) in &errors {
        let _ = writeln!(out, "    refused {count}: {e}");
    }
    // The end of the session closes every socket of its invites.
    let t_end = Instant::now();
    tokio::task::block_in_place(|| {
        let mut client = unit.client().map_err(|e| e.to_string())?;
        match client.call(Request::EndSession) {
            Ok(Response::Done) => Ok(()),
            other => Err(format!("EndSession answered {other:?}")),
        }
    })?;
    while open.load(Relaxed) > 0 && t_end.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = writeln!(
        out,
        "  session ended: {} still open {:.2} s later; {}, {}",
        open.load(Relaxed),
        t_end.elapsed().as_secs_f64(),
        server_line(rpid),
        health_line(&healthz(addr).await)
    );
    let _ = writeln!(out, "  {}", settled(rpid).await);
    for t in tasks {
        t.abort();
    }
    Ok(out)
}
