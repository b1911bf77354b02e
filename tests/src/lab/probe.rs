//! Small probes for the lab's own tests: a UDP echo that answers with the source address it
//! saw (what a NAT mapped the sender to), sockets made inside a namespace, round-trip times.

use crate::error::{Error, Result, ResultExt};
use crate::lab::netns::Netns;
use crate::wait::{Check, until_blocking};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use visavis_launch::files::random_hex;

/// How long one probe waits for its answer before it is sent again.
const RETRY: Duration = Duration::from_millis(300);

/// A UDP socket bound to `bind` inside `ns`.
pub fn udp_socket(ns: &Netns, bind: SocketAddr) -> Result<UdpSocket> {
    ns.run(|| UdpSocket::bind(bind).context(format!("{}: UDP bind {bind}", ns.name())))
}

/// A TCP listener on `bind` inside `ns`.
pub fn tcp_listener(ns: &Netns, bind: SocketAddr) -> Result<TcpListener> {
    ns.run(|| TcpListener::bind(bind).context(format!("{}: TCP listen {bind}", ns.name())))
}

/// A TCP connection from inside `ns` to `to`, giving up after `timeout`.
pub fn tcp_connect(ns: &Netns, to: SocketAddr, timeout: Duration) -> Result<TcpStream> {
    ns.run(|| {
        TcpStream::connect_timeout(&to, timeout).context(format!("{}: TCP to {to}", ns.name()))
    })
}

/// A UDP echo inside a namespace: every datagram is answered with the text
/// `<source ip>:<source port> <datagram>`: where its sender was seen from, and what it sent
/// (so a prober can tell which of its probes an answer is for). Stops on drop.
pub struct UdpEcho {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpEcho {
    pub fn start(ns: &Netns, bind: SocketAddr) -> Result<UdpEcho> {
        let socket = udp_socket(ns, bind)?;
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .context("echo: read timeout")?;
        let addr = socket.local_addr().context("echo: local address")?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                while !stop.load(Ordering::SeqCst) {
                    if let Ok((n, from)) = socket.recv_from(&mut buf) {
                        let mut answer = format!("{from} ").into_bytes();
                        answer.extend_from_slice(&buf[..n.min(64)]);
                        let _ = socket.send_to(&answer, from);
                    }
                }
            })
        };
        Ok(UdpEcho {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for UdpEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Send one probe from `socket` to an echo and wait for its answer (sending again after
/// each lost one, until `timeout`); returns the address the echo saw, and the round-trip
/// time of the probe that was answered (each probe carries its number, so a late answer to
/// an earlier one is timed from that one).
pub fn mapped_address(
    socket: &UdpSocket,
    echo: SocketAddr,
    timeout: Duration,
) -> Result<(SocketAddr, Duration)> {
    socket
        .set_read_timeout(Some(RETRY))
        .context("probe: read timeout")?;
    let mut buf = [0u8; 256];
    let mut sent: Vec<Instant> = Vec::new();
    let tag = random_hex(4);
    until_blocking(
        &format!("an answer from the echo at {echo}"),
        timeout,
        || {
            // Timed from before the send: a round trip is never measured short.
            sent.push(Instant::now());
            socket
                .send_to(format!("{tag}-{}", sent.len() - 1).as_bytes(), echo)
                .context(format!("probe: send to {echo}"))?;
            loop {
                match socket.recv_from(&mut buf) {
                    Ok((n, from)) if from == echo => {
                        let text = String::from_utf8_lossy(&buf[..n]).to_string();
                        let Some((seen, probe)) = text.split_once(' ') else {
                            return Err(Error::new(format!("the echo answered {text:?}")));
                        };
                        // An answer to another prober's probe (or an older call) is not ours.
                        let Some(index) = probe
                            .strip_prefix(&format!("{tag}-"))
                            .and_then(|i| i.parse::<usize>().ok())
                            .filter(|i| *i < sent.len())
                        else {
                            continue;
                        };
                        let rtt = sent[index].elapsed();
                        let seen = seen
                            .parse()
                            .map_err(|_| Error::new(format!("the echo answered {text:?}")))?;
                        return Ok(Check::Ready((seen, rtt)));
                    }
                    Ok(_) => continue,
                    Err(e) => return Ok(Check::NotYet(format!("no answer ({e})"))),
                }
            }
        },
    )
}

/// `count` round trips through an echo, one after the other (lost probes are sent again).
pub fn round_trips(
    socket: &UdpSocket,
    echo: SocketAddr,
    count: usize,
    timeout: Duration,
) -> Result<Vec<Duration>> {
    (0..count)
        .map(|_| mapped_address(socket, echo, timeout).map(|(_, rtt)| rtt))
        .collect()
}

/// Whether a UDP probe gets through at all within `timeout`.
pub fn udp_answers(socket: &UdpSocket, echo: SocketAddr, timeout: Duration) -> bool {
    mapped_address(socket, echo, timeout).is_ok()
}

/// min / median / max of some durations, in milliseconds, for reports.
pub fn summary_ms(samples: &[Duration]) -> (f64, f64, f64) {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    match (ms.first(), ms.get(ms.len() / 2), ms.last()) {
        (Some(min), Some(median), Some(max)) => (*min, *median, *max),
        _ => (0.0, 0.0, 0.0),
    }
}
