//! Many half-sent requests from one address (slowloris) cannot take rendezvous down: past
//! `connections.max_per_address` the connections are closed as soon as they are accepted,
//! the ones held are closed when their headers do not arrive within the header-read
//! timeout, and `/healthz` answers another client all along.

#![allow(clippy::unwrap_used)] // a failure here is a failed test

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::{PATIENCE, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use visavis_rendezvous::connections::HEADER_READ_TIMEOUT;

const HELD: usize = 200;
const PER_ADDRESS: usize = 20;

/// A connection from 127.0.0.2 (another client than the test's 127.0.0.1) that sends the
/// start of a request and never finishes it.
async fn half_request(server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, 2), 0)))
        .unwrap();
    let mut stream = socket.connect(server).await.unwrap();
    // Closed by the server already when over the cap: a failed write is fine.
    let _ = stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: rendezvous\r\nX-Slow: ")
        .await;
    stream
}

/// Whether the server closed `stream` within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 256];
    match tokio::time::timeout(wait, stream.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        // A 408 or similar before the close also ends the request.
        Ok(Ok(_)) => true,
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_from_one_address_leave_healthz_answering() {
    let mut config = common::config();
    config.connections.max_per_address = PER_ADDRESS;
    let server = Server::start_with(config).await;
    let addr: SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();

    let mut streams = Vec::with_capacity(HELD);
    for _ in 0..HELD {
        streams.push(half_request(addr).await);
    }
    assert_eq!(
        server.get("/healthz").await.status(),
        200,
        "another client is served while {HELD} half requests are held"
    );

    // Past the cap, closed at once; the first PER_ADDRESS are held until their headers
    // are overdue.
    let mut closed_at_once = 0;
    for stream in streams.iter_mut().skip(PER_ADDRESS) {
        if closed_within(stream, PATIENCE).await {
            closed_at_once += 1;
        }
    }
    assert_eq!(closed_at_once, HELD - PER_ADDRESS);
    let mut held = streams;
    held.truncate(PER_ADDRESS);
    assert!(
        !closed_within(&mut held[0], Duration::from_millis(200)).await,
        "a connection within the cap is served (its request is only slow)"
    );
    for stream in &mut held {
        assert!(
            closed_within(stream, HEADER_READ_TIMEOUT + PATIENCE).await,
            "a request whose headers never came is closed after the header-read timeout"
        );
    }
    // The address's places are free again.
    let mut again = half_request(addr).await;
    assert!(!closed_within(&mut again, Duration::from_millis(200)).await);
    assert_eq!(server.get("/healthz").await.status(), 200);
}
