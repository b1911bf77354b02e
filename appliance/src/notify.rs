//! sd_notify: tell systemd when `applianced` is ready, feed its watchdog, say when it stops.
//!
//! `applianced.service` is `Type=notify` with `WatchdogSec=`: systemd passes
//! `NOTIFY_SOCKET` (a datagram socket path, or `@name` for an abstract one) and
//! `WATCHDOG_USEC`. `READY=1` is sent once the media pipeline runs and every socket
//! listens; `WATCHDOG=1` from the daemon's main loop at half the watchdog interval, so a
//! loop that hangs gets the daemon restarted. Without `NOTIFY_SOCKET` (a shell, the tests'
//! harness) every call does nothing.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// A handle on systemd's notification socket, if there is one.
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// From `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` (when set, it must be ours).
    pub fn from_env() -> Self {
        let target = std::env::var_os("NOTIFY_SOCKET").and_then(|path| {
            let addr = socket_addr(&path.to_string_lossy())
                .map_err(|e| tracing::warn!("NOTIFY_SOCKET {path:?} is unusable: {e}"))
                .ok()?;
            let socket = UnixDatagram::unbound()
                .map_err(|e| tracing::warn!("cannot create a socket for sd_notify: {e}"))
                .ok()?;
            Some((socket, addr))
        });
        let ours = std::env::var("WATCHDOG_PID")
            .ok()
            .and_then(|p| p.parse::<u32>().ok())
            .is_none_or(|pid| pid == std::process::id());
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|u| u.parse::<u64>().ok())
            .filter(|&u| u > 0 && ours)
            .map(Duration::from_micros);
        Notifier { target, watchdog }
    }

    /// How often to call [`Notifier::watchdog`]: half the interval systemd asked for.
    pub fn watchdog_period(&self) -> Option<Duration> {
        self.target.as_ref().and(self.watchdog).map(|w| w / 2)
    }

    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}\n"));
    }

    pub fn watchdog(&self) {
        self.send("WATCHDOG=1\n");
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1\n");
    }

    fn send(&self, message: &str) {
        if let Some((socket, addr)) = &self.target
            && let Err(e) = socket.send_to_addr(message.as_bytes(), addr)
        {
            tracing::warn!("sd_notify failed: {e}");
        }
    }
}

fn socket_addr(path: &str) -> std::io::Result<SocketAddr> {
    match path.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt as _;
            SocketAddr::from_abstract_name(name.as_bytes())
        }
        None => SocketAddr::from_pathname(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_reach_the_socket() {
        let dir = std::env::temp_dir().join(format!("visavis-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier {
            target: Some((
                UnixDatagram::unbound().unwrap(),
                socket_addr(path.to_str().unwrap()).unwrap(),
            )),
            watchdog: Some(Duration::from_secs(10)),
        };
        assert_eq!(notifier.watchdog_period(), Some(Duration::from_secs(5)));
        notifier.ready("up");
        notifier.watchdog();
        let mut buf = [0u8; 256];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=up\n");
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_a_socket_nothing_happens() {
        let notifier = Notifier {
            target: None,
            watchdog: Some(Duration::from_secs(10)),
        };
        assert_eq!(notifier.watchdog_period(), None);
        notifier.ready("up");
    }
}
