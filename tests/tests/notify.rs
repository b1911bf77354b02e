//! applianced speaks systemd's notify protocol (`Type=notify`, `WatchdogSec=`).
//!
//! The test plays systemd: it binds a datagram socket, starts the real applianced with
//! `NOTIFY_SOCKET` and `WATCHDOG_USEC`, and reads what arrives: `READY=1` once, then
//! `WATCHDOG=1` again and again from the daemon's loop, and `STOPPING=1` on SIGTERM.

use std::os::unix::net::UnixDatagram;

use visavis_e2e::timeouts;
use visavis_e2e::{Appliance, ApplianceConfig, Rendezvous, RendezvousConfig, Result, ResultExt};

/// What systemd would ask for: a 400 ms watchdog, so pings come every 200 ms.
const WATCHDOG_USEC: u64 = 400_000;

fn next(socket: &UnixDatagram) -> Result<String> {
    let mut buf = [0u8; 512];
    let n = socket
        .recv(&mut buf)
        .context("no notification within the read timeout")?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn ready_then_watchdog_pings_then_stopping() -> Result<()> {
    let dir = tempfile::TempDir::with_prefix("visavis-notify-").context("temporary folder")?;
    let path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&path).context("could not bind the notify socket")?;
    socket
        .set_read_timeout(Some(timeouts::step()))
        .context("read timeout")?;
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let mut unit = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            width: 320,
            height: 240,
            env: vec![
                ("NOTIFY_SOCKET".into(), path.to_string_lossy().into_owned()),
                ("WATCHDOG_USEC".into(), WATCHDOG_USEC.to_string()),
            ],
            ..ApplianceConfig::default()
        },
    )?;

    let first = next(&socket)?;
    assert!(
        first.starts_with("READY=1\n"),
        "first notification: {first:?}"
    );
    assert!(first.contains("STATUS=unit test-unit ready"), "{first:?}");
    for _ in 0..5 {
        assert_eq!(next(&socket)?, "WATCHDOG=1\n");
    }

    let status = unit.process().terminate(timeouts::step())?;
    assert!(status.success(), "applianced exited with {status}");
    let mut seen = Vec::new();
    loop {
        let message = next(&socket)?;
        if message == "STOPPING=1\n" {
            break;
        }
        assert_eq!(
            message, "WATCHDOG=1\n",
            "after SIGTERM, before STOPPING: {seen:?}"
        );
        seen.push(message);
    }
    Ok(())
}
