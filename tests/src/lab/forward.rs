//! A TCP port forward between network namespaces, inside the test process: the listening
//! socket is made in one namespace (or the test's own), each outgoing connection in another.
//!
//! This is how the test process reaches what runs in the lab (rendezvous' HTTP, chromedriver's
//! WebDriver port) and how a lab program reaches a plain-HTTP loopback address that stands
//! for a server elsewhere in the lab. No interface joins the test's namespace to the lab and
//! nothing is routed: only the byte streams of the connections accepted here cross, so a
//! browser in the lab cannot use this path for anything else (its ICE candidates never see it).

use crate::error::{Error, Result, ResultExt};
use crate::lab::netns::Netns;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// How often the accept loop looks at its stop flag (milliseconds).
const STOP_CHECK_MS: u16 = 100;

/// A running forward; stopped (listener and every connection closed) on drop.
pub struct Forward {
    local: SocketAddr,
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<JoinHandle<()>>,
}

impl Forward {
    /// Listen on `listen` inside `listen_ns` (`None`: the test's own namespace) and connect
    /// each accepted connection to `target` from inside `target_ns`.
    pub fn start(
        listen_ns: Option<&Netns>,
        listen: SocketAddr,
        target_ns: Option<&Netns>,
        target: SocketAddr,
    ) -> Result<Forward> {
        let bind =
            || TcpListener::bind(listen).context(format!("forward: could not listen on {listen}"));
        let listener = match listen_ns {
            Some(ns) => ns.run(bind)?,
            None => bind()?,
        };
        let local = listener.local_addr().context("forward: local address")?;
        let stop = Arc::new(AtomicBool::new(false));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let target_ns = target_ns.cloned();
        let accept = {
            let (stop, streams) = (Arc::clone(&stop), Arc::clone(&streams));
            std::thread::spawn(move || accept_loop(listener, target_ns, target, stop, streams))
        };
        Ok(Forward {
            local,
            stop,
            streams,
            accept: Some(accept),
        })
    }

    /// The address it listens on (in the listening namespace).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        let streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        for stream in streams.iter() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    target_ns: Option<Netns>,
    target: SocketAddr,
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
) {
    while !stop.load(Ordering::SeqCst) {
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(STOP_CHECK_MS)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(_) => continue,
        }
        let Ok((client, _)) = listener.accept() else {
            continue;
        };
        let connect = || {
            TcpStream::connect(target).context(format!("forward: could not connect to {target}"))
        };
        let server = match &target_ns {
            Some(ns) => ns.run(connect),
            None => connect(),
        };
        match server {
            Ok(server) => {
                if let Err(e) = splice(client, server, &streams) {
                    eprintln!("lab: forward to {target}: {e}");
                }
            }
            Err(e) => {
                eprintln!("lab: {e}");
                let _ = client.shutdown(Shutdown::Both);
            }
        }
    }
}

/// Copy both ways on two threads; each direction closes its write side at end of stream.
fn splice(a: TcpStream, b: TcpStream, streams: &Mutex<Vec<TcpStream>>) -> Result<()> {
    let clone = |s: &TcpStream| s.try_clone().context("forward: could not clone a socket");
    {
        let mut kept = streams.lock().unwrap_or_else(|p| p.into_inner());
        kept.retain(|s| s.peer_addr().is_ok());
        kept.push(clone(&a)?);
        kept.push(clone(&b)?);
    }
    for (mut from, mut to) in [(clone(&a)?, clone(&b)?), (b, a)] {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Write);
        });
    }
    Ok(())
}

/// `http://<addr>` of a forward's listening address, for URLs.
pub fn http_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// The port of a `http://host:port` URL.
pub fn url_port(url: &str) -> Result<u16> {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .ok_or_else(|| Error::new(format!("no port in the URL {url:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forward_in_the_own_namespace_carries_bytes_both_ways() {
        use std::io::{Read, Write};
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let target = server.local_addr().unwrap();
        let forward = Forward::start(None, "127.0.0.1:0".parse().unwrap(), None, target).unwrap();
        let mut client = TcpStream::connect(forward.local_addr()).unwrap();
        let (mut inner, _) = server.accept().unwrap();
        client.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        inner.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        inner.write_all(b"pong").unwrap();
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"pong");
    }

    #[test]
    fn the_port_is_read_from_a_url() {
        assert_eq!(url_port("http://127.0.0.1:4242").unwrap(), 4242);
        assert!(url_port("http://host").is_err());
    }
}
