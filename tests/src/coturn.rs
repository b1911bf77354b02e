//! coturn (Debian's `turnserver`) for one test, in the lab's internet: STUN and TURN on
//! UDP and TCP 3478 and TURN over TLS on 5349 (a self-signed certificate made here), REST-API
//! credentials from a shared secret (`use-auth-secret`), relaying allowed to the lab's
//! internet (198.18.0.0/15) only. Stopped on drop.
//!
//! This is the lab's configuration, not production's: production denies relaying to private
//! and special ranges, and 198.18.0.0/15 is one of them.

use crate::error::{Error, Result, ResultExt};
use crate::lab::{Lab, Node, TURN_ADDR, probe};
use crate::timeouts;
use crate::wait::{Check, until_blocking};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;
use visavis_launch::files::{random_hex, write_private};
use visavis_launch::process::ChildProcess;

/// Debian's coturn.
pub const TURNSERVER: &str = "/usr/bin/turnserver";
/// STUN/TURN port (UDP and TCP).
pub const PORT: u16 = 3478;
/// TURN over TLS.
pub const TLS_PORT: u16 = 5349;
/// The realm in its config.
pub const REALM: &str = "visavis";

/// A running coturn.
pub struct Coturn {
    secret: String,
    secret_file: PathBuf,
    process: ChildProcess,
    _dir: TempDir,
}

impl Coturn {
    /// Start coturn in `lab`'s internet on [`TURN_ADDR`] with a random shared secret, and
    /// wait until it answers a STUN binding request and accepts TCP and TLS connections.
    pub fn start(lab: &Lab) -> Result<Coturn> {
        if !Path::new(TURNSERVER).is_file() {
            return Err(Error::new(format!(
                "{TURNSERVER} is missing: install the Debian package `coturn` (`cargo xtask setup` does)"
            )));
        }
        let dir = TempDir::with_prefix("visavis-coturn-")
            .context("could not create a temporary folder")?;
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        self_signed(&cert, &key)?;
        let secret = random_hex(32);
        let secret_file = write_private(dir.path(), "turn-secret", &format!("{secret}\n"))?;
        let config = config_text(TURN_ADDR, &secret, &cert, &key, dir.path());
        let config_path = write_private(dir.path(), "turnserver.conf", &config)?;
        let inet = lab.ns(Node::Inet);
        let mut command = inet.command(TURNSERVER);
        command.arg("-c").arg(&config_path);
        let mut process = ChildProcess::spawn("coturn", command)?;
        let udp = probe::udp_socket(inet, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))?;
        let server = SocketAddr::from((TURN_ADDR, PORT));
        until_blocking("coturn to listen", timeouts::rendezvous_start(), || {
            if let Some(status) = process.exit_status() {
                return Err(process.exited_error(status, "while starting").into());
            }
            let stun = stun_binding(&udp, server, Duration::from_millis(200));
            let tcp = [PORT, TLS_PORT].iter().all(|port| {
                probe::tcp_connect(
                    inet,
                    SocketAddr::from((TURN_ADDR, *port)),
                    Duration::from_millis(500),
                )
                .is_ok()
            });
            Ok(match (stun, tcp) {
                (Ok(_), true) => Check::Ready(()),
                (stun, tcp) => Check::NotYet(format!("STUN {stun:?}, TCP+TLS accepted: {tcp}")),
            })
        })?;
        Ok(Coturn {
            secret,
            secret_file,
            process,
            _dir: dir,
        })
    }

    /// The `static-auth-secret` (for rendezvous' TURN REST credentials).
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// A file (mode 0600) holding [`Coturn::secret`], for rendezvous' `turn.secret_files`.
    pub fn secret_file(&self) -> &Path {
        &self.secret_file
    }

    /// rendezvous' `[turn]` for this relay: its TURN URLs and its secret file.
    pub fn rendezvous_turn(&self) -> crate::rendezvous::Turn {
        crate::rendezvous::Turn {
            urls: self.turn_urls(),
            secret_files: vec![self.secret_file.clone()],
            ttl_secs: None,
        }
    }

    /// `stun:198.18.0.20:3478`.
    pub fn stun_url(&self) -> String {
        format!("stun:{TURN_ADDR}:{PORT}")
    }

    /// `turn:198.18.0.20:3478?transport=udp|tcp` and `turns:198.18.0.20:5349?transport=tcp`.
    pub fn turn_urls(&self) -> Vec<String> {
        vec![
            format!("turn:{TURN_ADDR}:{PORT}?transport=udp"),
            format!("turn:{TURN_ADDR}:{PORT}?transport=tcp"),
            format!("turns:{TURN_ADDR}:{TLS_PORT}?transport=tcp"),
        ]
    }

    pub fn process(&mut self) -> &mut ChildProcess {
        &mut self.process
    }
}

/// turnserver.conf for the lab.
fn config_text(addr: Ipv4Addr, secret: &str, cert: &Path, key: &Path, dir: &Path) -> String {
    format!(
        "listening-ip={addr}\nrelay-ip={addr}\nlistening-port={PORT}\ntls-listening-port={TLS_PORT}\n\
         cert={cert}\npkey={key}\nno-tlsv1\nno-tlsv1_1\nno-dtls\n\
         use-auth-secret\nstatic-auth-secret={secret}\nrealm={REALM}\nfingerprint\n\
         no-cli\nlog-file=stdout\nsimple-log\npidfile={dir}/turnserver.pid\n\
         userdb={dir}/turndb\nno-multicast-peers\n\
         # The lab's internet is 198.18.0.0/15: relaying there is what the lab tests.\n\
         allowed-peer-ip=198.18.0.0-198.19.255.255\n",
        cert = cert.display(),
        key = key.display(),
        dir = dir.display(),
    )
}

/// A self-signed certificate for the TLS listener (`openssl req -x509`).
fn self_signed(cert: &Path, key: &Path) -> Result<()> {
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=turn.visavis.test"])
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert)
        .output()
        .context("could not run openssl (Debian package `openssl`)")?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "openssl could not make a certificate: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// One STUN binding request (RFC 8489) from `socket` to `server`; returns the
/// XOR-MAPPED-ADDRESS of the answer: where the server saw the request come from.
pub fn stun_binding(
    socket: &std::net::UdpSocket,
    server: SocketAddr,
    timeout: Duration,
) -> Result<SocketAddr> {
    const MAGIC: u32 = 0x2112_A442;
    let mut id = [0u8; 12];
    id.copy_from_slice(random_hex(6).as_bytes());
    let mut request = Vec::with_capacity(20);
    request.extend_from_slice(&0x0001u16.to_be_bytes());
    request.extend_from_slice(&0u16.to_be_bytes());
    request.extend_from_slice(&MAGIC.to_be_bytes());
    request.extend_from_slice(&id);
    socket
        .set_read_timeout(Some(timeout))
        .context("STUN: read timeout")?;
    socket
        .send_to(&request, server)
        .context(format!("STUN: send to {server}"))?;
    let mut buf = [0u8; 1024];
    let (n, _) = socket
        .recv_from(&mut buf)
        .context(format!("STUN: no answer from {server}"))?;
    let answer = &buf[..n];
    if n < 20 || answer[0..2] != [0x01, 0x01] || answer[8..20] != id {
        return Err(Error::new("STUN: not a binding success for this request"));
    }
    let mut at = 20;
    while at + 4 <= n {
        let kind = u16::from_be_bytes([answer[at], answer[at + 1]]);
        let len = usize::from(u16::from_be_bytes([answer[at + 2], answer[at + 3]]));
        let value = answer.get(at + 4..at + 4 + len).unwrap_or_default();
        if kind == 0x0020 && len >= 8 && value[1] == 0x01 {
            let port = u16::from_be_bytes([value[2], value[3]]) ^ (MAGIC >> 16) as u16;
            let ip = u32::from_be_bytes([value[4], value[5], value[6], value[7]]) ^ MAGIC;
            return Ok(SocketAddr::from((Ipv4Addr::from(ip), port)));
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    Err(Error::new(
        "STUN: the answer has no IPv4 XOR-MAPPED-ADDRESS",
    ))
}
