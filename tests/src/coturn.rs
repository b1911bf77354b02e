//! coturn (Debian's `turnserver`) for one test, in the lab's internet: STUN and TURN on
//! UDP and TCP 3478 and TURN over TLS on 443 (a certificate from a lab CA made here), REST-API
//! credentials from a shared secret (`use-auth-secret`), relaying allowed to the lab's
//! internet (198.18.0.0/15) and refused to every other private range. Stopped on drop.
//!
//! Its config is the shipped `packaging/turnserver.conf` with the lab's address, ports,
//! certificate and secret, less one line: production denies 198.18.0.0/15 too.

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
pub const TLS_PORT: u16 = 443;
/// The realm in its config.
pub const REALM: &str = "visavis";

/// A running coturn.
pub struct Coturn {
    ca_file: PathBuf,
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
        let certs = lab_certificates(dir.path())?;
        let (cert, key) = (&certs.cert, &certs.key);
        let secret = random_hex(32);
        let secret_file = write_private(dir.path(), "turn-secret", &format!("{secret}\n"))?;
        let config = config_text(TURN_ADDR, &secret, cert, key, dir.path())?;
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
            ca_file: certs.ca,
            secret,
            secret_file,
            process,
            _dir: dir,
        })
    }

    /// The lab CA's certificate (PEM), which signed the relay's: the unit's `turn.ca_file`.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
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

    /// `turn:198.18.0.20:3478?transport=udp|tcp` and `turns:198.18.0.20:443?transport=tcp`.
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

/// The keys of the shipped config a lab relay replaces with its own.
const LAB_KEYS: [&str; 7] = [
    "listening-port=",
    "tls-listening-port=",
    "cert=",
    "pkey=",
    "static-auth-secret=",
    "log-file=",
    "pidfile=",
];

/// `packaging/turnserver.conf` as shipped, with its ports, certificate, secrets and log
/// replaced by `lab_lines`. With `keep_lab_range` false, production's refusal of
/// 198.18.0.0/15 is dropped so the lab's internet can be a peer; every other denied range
/// (private, loopback, CGNAT...) stays, as in a store's deployment.
pub fn shipped_config(keep_lab_range: bool, lab_lines: &str) -> Result<String> {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/turnserver.conf");
    let text =
        std::fs::read_to_string(&shipped).context(format!("cannot read {}", shipped.display()))?;
    let mut out: Vec<&str> = text
        .lines()
        .filter(|l| !LAB_KEYS.iter().any(|k| l.starts_with(k)))
        .filter(|l| keep_lab_range || !l.starts_with("denied-peer-ip=198.18."))
        .collect();
    out.push(lab_lines);
    Ok(out.join("\n") + "\n")
}

/// The lab's relay: the shipped config, relaying within the lab's internet, on this lab's
/// address and ports with TLS from the lab CA's certificate, logging each allocation.
fn config_text(
    addr: Ipv4Addr,
    secret: &str,
    cert: &Path,
    key: &Path,
    dir: &Path,
) -> Result<String> {
    shipped_config(
        false,
        &format!(
            "listening-ip={addr}\nrelay-ip={addr}\nlistening-port={PORT}\n\
             tls-listening-port={TLS_PORT}\ncert={cert}\npkey={key}\n\
             static-auth-secret={secret}\nfingerprint\nverbose\nlog-file=stdout\n\
             pidfile={dir}/turnserver.pid\nuserdb={dir}/turndb",
            cert = cert.display(),
            key = key.display(),
            dir = dir.display(),
        ),
    )
}

/// A lab CA and, signed by it, the relay's certificate for [`TURN_ADDR`] (an IP address
/// in its subjectAltName, as a client checking `turns:198.18.0.20` needs). The unit trusts
/// the CA through `turn.ca_file`.
fn lab_certificates(dir: &Path) -> Result<Certificates> {
    let certs = Certificates {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    let (ca_key, csr, ext) = (
        dir.join("ca.key"),
        dir.join("relay.csr"),
        dir.join("relay.ext"),
    );
    std::fs::write(
        &ext,
        format!(
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n\
             subjectAltName=IP:{TURN_ADDR},DNS:turn.visavis.test\n"
        ),
    )
    .context("writing the relay certificate's extensions")?;
    let path = |p: &Path| p.display().to_string();
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    let ca = format!(
        "req -x509 {ec} -days 2 -keyout {} -out {}",
        path(&ca_key),
        path(&certs.ca)
    );
    let request = format!(
        "req -new {ec} -keyout {} -out {}",
        path(&certs.key),
        path(&csr)
    );
    let sign = format!(
        "x509 -req -days 2 -CAcreateserial -in {} -CA {} -CAkey {} -extfile {} -out {}",
        path(&csr),
        path(&certs.ca),
        path(&ca_key),
        path(&ext),
        path(&certs.cert)
    );
    let ca_subject = [
        "-subj",
        "/CN=Visavis lab CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ];
    let relay_subject = ["-subj", "/CN=turn.visavis.test"];
    for (args, more) in [
        (ca, &ca_subject[..]),
        (request, &relay_subject[..]),
        (sign, &[][..]),
    ] {
        // The temporary folder's path has no spaces: splitting on them is safe.
        let out = Command::new("openssl")
            .args(args.split(' '))
            .args(more)
            .output()
            .context("could not run openssl (Debian package `openssl`)")?;
        if !out.status.success() {
            return Err(Error::new(format!(
                "openssl could not make the lab's certificates: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
    }
    Ok(certs)
}

/// The lab's TLS files.
struct Certificates {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
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
        .send_to(&request, server)
        .context(format!("STUN: send to {server}"))?;
    // An answer to an earlier request (sent by a previous try whose wait ran out) may
    // still be on its way: skip answers for other transactions until the deadline.
    let deadline = std::time::Instant::now() + timeout;
    let mut buf = [0u8; 1024];
    let n = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(Error::new(format!(
                "STUN: no answer from {server} to this request within {timeout:?}"
            )));
        }
        socket
            .set_read_timeout(Some(left))
            .context("STUN: read timeout")?;
        let (n, _) = socket
            .recv_from(&mut buf)
            .context(format!("STUN: no answer from {server}"))?;
        if n >= 20 && buf[8..20] == id {
            break n;
        }
    };
    let answer = &buf[..n];
    if answer[0..2] != [0x01, 0x01] {
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
