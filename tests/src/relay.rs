//! A TCP relay in front of rendezvous whose open connections a test can cut, as a phone's
//! network drops them (a 4G handover, a tunnel): the guest's browser reaches rendezvous
//! through it, the unit directly, so a cut drops only the guest's socket. Connections
//! made after a cut go through as before, unless the relay is [`Relay::block`]ed (a
//! network that stays down: new connections are closed as soon as they are accepted). A
//! cut closes both sides' TCP connections with no WebSocket close frame, as rendezvous and
//! the browser see a dropped connection. A [`Relay::freeze`] is the other way a phone's
//! connection dies: the open connections stop carrying anything, and neither end is told.

use crate::error::{Result, ResultExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::sync::watch;

/// The relay; it stops when dropped.
pub struct Relay {
    addr: SocketAddr,
    cuts: watch::Sender<u64>,
    freezes: watch::Sender<u64>,
    open: Arc<AtomicUsize>,
    blocked: Arc<AtomicBool>,
    accepting: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Listen on a free loopback port and carry each connection to `to`. Runs on the
    /// current tokio runtime.
    pub async fn start(to: SocketAddr) -> Result<Relay> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("the relay could not listen on loopback")?;
        let addr = listener.local_addr().context("the relay's address")?;
        let (cuts, _) = watch::channel(0u64);
        let (freezes, _) = watch::channel(0u64);
        let open = Arc::new(AtomicUsize::new(0));
        let blocked = Arc::new(AtomicBool::new(false));
        let (cuts_seen, counted, down) = (cuts.clone(), open.clone(), blocked.clone());
        let freezes_seen = freezes.clone();
        let accepting = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if down.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let mut cut = cuts_seen.subscribe();
                let mut frozen = freezes_seen.subscribe();
                let counted = counted.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await else {
                        return;
                    };
                    counted.fetch_add(1, Ordering::SeqCst);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                        _ = frozen.changed() => {
                            // Silent: both connections stay open, nothing goes through,
                            // until a cut or the relay's end.
                            let _ = cut.changed().await;
                        }
                    }
                    counted.fetch_sub(1, Ordering::SeqCst);
                    // Both streams are dropped here: each side sees its connection close.
                });
            }
        });
        Ok(Relay {
            addr,
            cuts,
            freezes,
            open,
            blocked,
            accepting,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` (on rendezvous' own address, e.g. an invite link) through the relay instead.
    pub fn url_through(&self, url: &str, rendezvous: SocketAddr) -> String {
        url.replacen(&rendezvous.to_string(), &self.addr.to_string(), 1)
    }

    /// `true`: close new connections at once (the network stays down); `false`: carry them
    /// again.
    pub fn block(&self, blocked: bool) {
        self.blocked.store(blocked, Ordering::SeqCst);
    }

    /// Let every connection open through the relay now go silent, both ways, with neither
    /// end told (new connections go through); returns how many there were.
    pub fn freeze(&self) -> usize {
        let open = self.open.load(Ordering::SeqCst);
        self.freezes.send_modify(|n| *n += 1);
        open
    }

    /// Drop every connection open through the relay now; returns how many there were.
    pub fn cut(&self) -> usize {
        let open = self.open.load(Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
        open
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cuts.send_modify(|n| *n += 1);
    }
}
