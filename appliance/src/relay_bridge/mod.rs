//! TURN over TCP and TLS for the unit's peer connections.
//!
//! webrtc-rs 0.21 reaches relays over UDP only: it skips `turn:…?transport=tcp` and `turns:`
//! URLs. On a store network that lets no UDP out (or only the web), the unit would have no
//! relay at all. So each such URL gets a bridge for the peer connection: a UDP socket on
//! 127.0.0.1 that webrtc-rs is handed as a UDP relay (`turn:127.0.0.1:<port>?transport=udp`,
//! same credentials). Each client socket behind it gets its own TCP or TLS connection to the
//! real relay, carrying its datagrams framed as RFC 6062 says ([`framing`]). The relay sees
//! an ordinary TURN client over TCP or TLS and allocates a UDP relay address as for any
//! other; credentials and message integrity stay end to end (the bridge frames, it reads
//! nothing). TLS checks the relay's certificate against the web's roots (webpki) and
//! `turn.ca_file` when set. A bridge stops with its peer connection ([`Bridges`] aborts its
//! tasks when dropped).

pub mod framing;

use crate::congestion::wire::RelayLeg;
use framing::{Deframer, FramingError};
use rustls::pki_types::ServerName;
use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use visavis_api::signaling::IceServer;

/// How long a TCP connect and TLS handshake to a relay may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Datagrams waiting for one client's connection; more are dropped, as UDP would.
const QUEUE: usize = 256;

/// What can go wrong setting up or running a bridge.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("cannot read the relay CA file {path} (turn.ca_file): {reason}")]
    CaFile { path: String, reason: String },
    #[error("TLS set-up for relays failed: {0}")]
    Tls(#[from] rustls::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("no answer from the relay within {0:?}")]
    Timeout(Duration),
    #[error("`{0}` is not a name a TLS certificate can be checked against")]
    ServerName(String),
    #[error("the relay sent something else than TURN: {0}")]
    Framing(#[from] FramingError),
}

/// A relay reached over a stream: `turn:…?transport=tcp` or `turns:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRelay {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for StreamRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "turns" } else { "turn" };
        match self.host.contains(':') {
            true => write!(f, "{scheme}:[{}]:{}", self.host, self.port),
            false => write!(f, "{scheme}:{}:{}", self.host, self.port),
        }
    }
}

impl StreamRelay {
    /// `Some` for `turn:host[:port]?transport=tcp` and `turns:host[:port][?transport=tcp]`;
    /// `None` for UDP relays, STUN, and anything that does not parse (webrtc-rs reports it).
    pub fn from_url(url: &str) -> Option<StreamRelay> {
        let (scheme, rest) = url.split_once(':')?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "turn" => false,
            "turns" => true,
            _ => return None,
        };
        let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
        let transport = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("transport="))
            .map(str::to_ascii_lowercase)
            .unwrap_or_else(|| if tls { "tcp" } else { "udp" }.to_owned());
        if transport != "tcp" {
            return None;
        }
        let default_port = if tls { 5349 } else { 3478 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']')?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().ok()?,
                None if after.is_empty() => default_port,
                None => return None,
            };
            (host.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_owned(), port.parse().ok()?),
                None => (authority.to_owned(), default_port),
            }
        };
        (!host.is_empty()).then_some(StreamRelay { tls, host, port })
    }
}

/// TLS client settings for relays: the web's roots, and the certificates of `ca_file` (PEM)
/// for a store's own relay with a private CA. Read at start-up: a bad file stops the unit
/// with a message naming `turn.ca_file`.
pub fn tls_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, BridgeError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let ca_error = |reason: String| BridgeError::CaFile {
            path: path.display().to_string(),
            reason,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| ca_error(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ca_error(e.to_string()))?;
        if certs.is_empty() {
            return Err(ca_error(
                "no PEM certificate in it (-----BEGIN CERTIFICATE-----)".into(),
            ));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| ca_error(e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The bridges of one peer connection; dropping it stops them.
#[derive(Default)]
pub struct Bridges {
    tasks: Vec<JoinHandle<()>>,
    /// Each bridge's local port, and how it reaches its relay.
    legs: BTreeMap<u16, RelayLeg>,
}

impl Bridges {
    /// Each bridge's port on 127.0.0.1 and how it reaches its relay (the send meter counts
    /// the headers of that leg, [`crate::congestion::wire`]).
    pub fn legs(&self) -> BTreeMap<u16, RelayLeg> {
        self.legs.clone()
    }
}

impl Drop for Bridges {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// `ice_servers` with every TCP or TLS relay URL swapped for a bridge to it on 127.0.0.1,
/// and the bridges. A URL whose bridge cannot start is left as it was (webrtc-rs then skips
/// it with a warning).
pub async fn bridge(
    ice_servers: &[IceServer],
    tls: &Arc<rustls::ClientConfig>,
) -> (Vec<IceServer>, Bridges) {
    let mut bridges = Bridges::default();
    let mut out = Vec::with_capacity(ice_servers.len());
    for server in ice_servers {
        let mut server = server.clone();
        for url in &mut server.urls {
            let Some(relay) = StreamRelay::from_url(url) else {
                continue;
            };
            match UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await {
                Ok(socket) => match socket.local_addr() {
                    Ok(local) => {
                        tracing::debug!(%relay, %local, "bridging a TURN relay over a stream");
                        *url = format!("turn:{local}?transport=udp");
                        let leg = if relay.tls {
                            RelayLeg::Tls
                        } else {
                            RelayLeg::Tcp
                        };
                        bridges.legs.insert(local.port(), leg);
                        let task = serve(Arc::new(socket), relay, tls.clone());
                        bridges.tasks.push(tokio::spawn(task));
                    }
                    Err(e) => tracing::warn!(%relay, "no bridge to this relay: {e}"),
                },
                Err(e) => tracing::warn!(%relay, "no bridge to this relay: {e}"),
            }
        }
        out.push(server);
    }
    (out, bridges)
}

/// One bridge: datagrams from local clients to their own stream to `relay`, and back.
async fn serve(socket: Arc<UdpSocket>, relay: StreamRelay, tls: Arc<rustls::ClientConfig>) {
    let mut clients: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let (gone_tx, mut gone_rx) = mpsc::unbounded_channel::<SocketAddr>();
    // Dropped (and its connections aborted) when this task is aborted.
    let mut connections = JoinSet::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        tokio::select! {
            got = socket.recv_from(&mut buf) => {
                let (n, from) = match got {
                    Ok(got) => got,
                    Err(e) => {
                        tracing::debug!(%relay, "bridge socket: {e}");
                        continue;
                    }
                };
                // Only this machine reaches a socket on 127.0.0.1; webrtc-rs may send from
                // a socket bound to one of its interface addresses.
                let framed = match framing::to_stream(&buf[..n]) {
                    Ok(framed) => framed,
                    Err(e) => {
                        tracing::debug!(%relay, "not forwarded: {e}");
                        continue;
                    }
                };
                let queue = clients.entry(from).or_insert_with(|| {
                    let (tx, rx) = mpsc::channel(QUEUE);
                    connections.spawn(connection(
                        from,
                        rx,
                        socket.clone(),
                        relay.clone(),
                        tls.clone(),
                        gone_tx.clone(),
                    ));
                    tx
                });
                if queue.try_send(framed).is_err() {
                    tracing::debug!(%relay, "a datagram for the relay was dropped: its queue is full");
                }
            }
            Some(gone) = gone_rx.recv() => {
                clients.remove(&gone);
            }
            Some(_) = connections.join_next() => {}
        }
    }
}

/// One client's stream to the relay, for as long as both ends keep it.
async fn connection(
    client: SocketAddr,
    mut datagrams: mpsc::Receiver<Vec<u8>>,
    socket: Arc<UdpSocket>,
    relay: StreamRelay,
    tls: Arc<rustls::ClientConfig>,
    gone: mpsc::UnboundedSender<SocketAddr>,
) {
    let result = async {
        let connect = TcpStream::connect((relay.host.as_str(), relay.port));
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| BridgeError::Timeout(CONNECT_TIMEOUT))??;
        tcp.set_nodelay(true)?;
        if relay.tls {
            let name = ServerName::try_from(relay.host.clone())
                .map_err(|_| BridgeError::ServerName(relay.host.clone()))?;
            let handshake = tokio_rustls::TlsConnector::from(tls).connect(name, tcp);
            let stream = tokio::time::timeout(CONNECT_TIMEOUT, handshake)
                .await
                .map_err(|_| BridgeError::Timeout(CONNECT_TIMEOUT))??;
            pump(stream, client, &mut datagrams, &socket).await
        } else {
            pump(tcp, client, &mut datagrams, &socket).await
        }
    }
    .await;
    match result {
        Ok(()) => tracing::debug!(%relay, "the stream to the relay closed"),
        Err(e) => tracing::warn!(%relay, "TURN to this relay over a stream failed: {e}"),
    }
    let _ = gone.send(client);
}

/// Carry `datagrams` to `stream` and the relay's messages back to `client` until either
/// side closes.
async fn pump<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    client: SocketAddr,
    datagrams: &mut mpsc::Receiver<Vec<u8>>,
    socket: &UdpSocket,
) -> Result<(), BridgeError> {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut deframer = Deframer::default();
    let mut buf = vec![0u8; 16_384];
    loop {
        tokio::select! {
            next = datagrams.recv() => match next {
                Some(bytes) => writer.write_all(&bytes).await?,
                None => return Ok(()),
            },
            read = reader.read(&mut buf) => {
                let n = read?;
                if n == 0 {
                    return Ok(());
                }
                deframer.push(&buf[..n]);
                while let Some(datagram) = deframer.next_datagram()? {
                    socket.send_to(&datagram, client).await?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
