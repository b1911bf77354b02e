//! The relay as shipped, against the credentials rendezvous and the unit mint.
//!
//! A real coturn runs in the lab's internet (tests/src/lab, 198.18.0.0/15, nothing routed
//! out) from `packaging/turnserver.conf` with only its ports, certificate and secrets
//! replaced. `turnutils_uclient` (Debian `coturn`) allocates
//! two relays and sends between them, with credentials from `visavis_api::fleet::turn`:
//! - minted with either of two configured secrets (rotation): relayed;
//! - expired, or minted with a secret the relay does not know: no allocation;
//! - the shipped `denied-peer-ip` ranges refuse a peer inside them (here the lab's own
//!   range, which production denies like every private one).

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};
use visavis_api::fleet::turn::TurnSecret;
use visavis_e2e::lab::{Lab, LabConfig, Netns, Node, TURN_ADDR};
use visavis_e2e::wait::{Check, until_blocking};
use visavis_e2e::{Error, Result, timeouts};
use visavis_launch::process::ChildProcess;

const NEW: &str = "new-secret-0123456789abcdef";
const OLD: &str = "old-secret-0123456789abcdef";
const PORT: u16 = 3478;

/// `timeout <seconds> <program>` inside `ns`: coturn's client tools wait forever for a
/// relay that does not answer.
fn bounded(ns: &Netns, seconds: u32, program: &str) -> Command {
    let mut c = ns.command("timeout");
    c.arg(seconds.to_string()).arg(program);
    c
}

/// The shipped relay config with this lab's address, port, secrets and no TLS; with
/// `keep_lab_range` false, production's refusal of 198.18.0.0/15 is dropped so the lab's
/// own addresses can be peers.
fn relay_config(keep_lab_range: bool) -> Result<String> {
    visavis_e2e::coturn::shipped_config(
        keep_lab_range,
        &format!(
            "listening-ip={TURN_ADDR}\nrelay-ip={TURN_ADDR}\nlistening-port={PORT}\nno-tls\n\
             static-auth-secret={NEW}\nstatic-auth-secret={OLD}\nlog-file=stdout"
        ),
    )
}

/// coturn started in `ns` on `config`, answering STUN.
fn relay(ns: &Netns, dir: &Path, config: &str) -> Result<ChildProcess> {
    let path = dir.join("turnserver.conf");
    std::fs::write(&path, config).map_err(|e| Error::new(format!("write config: {e}")))?;
    let mut command = ns.command("turnserver");
    command.arg("-c").arg(&path);
    let mut process = ChildProcess::spawn("turnserver", command)?;
    process.stop_gracefully_on_drop(timeouts::step());
    until_blocking(
        "coturn to answer STUN",
        timeouts::rendezvous_start(),
        || {
            let out = bounded(ns, 1, "turnutils_stunclient")
                .args(["-p", &PORT.to_string(), &TURN_ADDR.to_string()])
                .output()
                .map_err(|e| Error::new(format!("turnutils_stunclient: {e}")))?;
            Ok(if out.status.success() {
                Check::Ready(())
            } else {
                Check::NotYet(String::from_utf8_lossy(&out.stdout).into_owned())
            })
        },
    )?;
    Ok(process)
}

/// Two clients allocate relays with these credentials and send to each other through
/// them. The tool's output when it failed.
fn relayed(ns: &Netns, user: &str, pass: &str) -> Result<std::result::Result<(), String>> {
    let out = bounded(ns, 30, "turnutils_uclient")
        .args([
            "-p",
            &PORT.to_string(),
            "-u",
            user,
            "-w",
            pass,
            "-y",
            "-n",
            "3",
            "-m",
            "1",
            &TURN_ADDR.to_string(),
        ])
        .output()
        .map_err(|e| Error::new(format!("turnutils_uclient: {e}")))?;
    Ok(if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stdout).into_owned())
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[test]
fn minted_credentials_relay_with_either_secret_and_not_once_expired_or_foreign() -> Result<()> {
    let lab = Lab::start(LabConfig::default())?;
    let ns = lab.ns(Node::Inet);
    let dir = tempfile::tempdir().map_err(|e| Error::new(e.to_string()))?;
    let _relay = relay(ns, dir.path(), &relay_config(false)?)?;
    let later = now() + 600;
    for (secret, what) in [(NEW, "the new secret"), (OLD, "the old secret")] {
        let (user, pass) = TurnSecret::new(secret).credentials("guest-1", later);
        if let Err(out) = relayed(ns, &user, &pass)? {
            return Err(Error::new(format!(
                "credentials from {what} refused:\n{out}"
            )));
        }
    }
    let (user, pass) = TurnSecret::new(NEW).credentials("guest-1", now() - 5);
    assert!(
        relayed(ns, &user, &pass)?.is_err(),
        "expired credentials were accepted"
    );
    let (user, pass) = TurnSecret::new("someone-else-0123456789").credentials("g", later);
    assert!(
        relayed(ns, &user, &pass)?.is_err(),
        "a foreign secret was accepted"
    );
    Ok(())
}

#[test]
fn the_shipped_relay_refuses_peers_in_denied_ranges() -> Result<()> {
    let lab = Lab::start(LabConfig::default())?;
    let ns = lab.ns(Node::Inet);
    let dir = tempfile::tempdir().map_err(|e| Error::new(e.to_string()))?;
    let _relay = relay(ns, dir.path(), &relay_config(true)?)?;
    let (user, pass) = TurnSecret::new(NEW).credentials("guest-1", now() + 600);
    let out = relayed(ns, &user, &pass)?
        .expect_err("the relay let a client reach a peer in a denied range");
    assert!(
        out.contains("403"),
        "expected 403 Forbidden IP, got:\n{out}"
    );
    Ok(())
}

#[test]
fn the_shipped_relay_denies_every_private_and_loopback_range() -> Result<()> {
    let text = relay_config(true)?;
    for range in [
        "10.0.0.0-10.255.255.255",
        "100.64.0.0-100.127.255.255",
        "127.0.0.0-127.255.255.255",
        "169.254.0.0-169.254.255.255",
        "172.16.0.0-172.31.255.255",
        "192.168.0.0-192.168.255.255",
        "::1",
        "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ] {
        assert!(
            text.lines().any(|l| l == format!("denied-peer-ip={range}")),
            "packaging/turnserver.conf does not deny {range}"
        );
    }
    assert!(!text.contains("allow-loopback-peers"));
    Ok(())
}
