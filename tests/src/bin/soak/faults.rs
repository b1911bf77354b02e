//! Faults mid-call: rendezvous killed and started again (the media is peer to peer and
//! should go on; the unit's signaling should be back within seconds), and applianced
//! killed (its guests should be told at once).

use crate::clip::Clip;
use crate::guest::SoakGuest;
use crate::unit;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use visavis_api::signaling::ServerToGuest;
use visavis_e2e::restartable::Restartable;
use visavis_e2e::{RateLimit, Rendezvous, RendezvousConfig};

const STEP: Duration = Duration::from_secs(20);
const PACKETS: u64 = 100;
/// How long rendezvous stays down.
const OUTAGE: Duration = Duration::from_secs(3);

fn config() -> RendezvousConfig {
    RendezvousConfig {
        rate_limit: Some(RateLimit {
            burst: 10_000,
            per_minute: 10_000,
        }),
        ..RendezvousConfig::default()
    }
}

/// One guest in a call; rendezvous is killed (SIGKILL) and started again on the same port.
pub async fn rendezvous_restart(clip: Arc<Clip>) -> Result<String, String> {
    let mut rendezvous = Restartable::start(config())?;
    let mut unit = unit::start(rendezvous.url(), rendezvous.fleet())?;
    let invite = unit::invite(&mut unit)?;
    let guest = SoakGuest::join(&invite, "Camille", clip.clone(), STEP).await?;
    guest.media_flows(PACKETS, STEP).await?;

    let before = guest.received.load(Relaxed);
    let t_kill = Instant::now();
    tokio::task::block_in_place(|| rendezvous.kill());
    // Down as long as systemd's restart delay and a slow start might keep it.
    tokio::time::sleep(OUTAGE).await;
    let during = guest.received.load(Relaxed) - before;
    let t_up = tokio::task::block_in_place(|| rendezvous.start_again())?;
    let down = t_up - t_kill;
    // Signaling is back when the unit hands out an invite again.
    let new_invite = unit::invite(&mut unit)?;
    let t_invite = Instant::now();
    let newcomer = SoakGuest::join(&new_invite, "Louis", clip.clone(), STEP).await?;
    newcomer.media_flows(PACKETS, STEP).await?;
    let t_newcomer = Instant::now();
    let after = guest.media_flows(PACKETS, Duration::from_secs(5)).await;
    let mut out = String::from(
        "restart: rendezvous killed (SIGKILL) and started again on its port mid-call\n",
    );
    let _ = writeln!(
        out,
        "  rendezvous down for {:.2} s (kill to listening again); the guest got {during} \
         packets from the unit in the first {:.0} s of it ({:.0}/s), and media {} afterwards \
         (peer connection {})",
        down.as_secs_f64(),
        OUTAGE.as_secs_f64(),
        during as f64 / OUTAGE.as_secs_f64(),
        match &after {
            Ok(()) => "still flows".to_owned(),
            Err(e) => format!("stopped: {e}"),
        },
        guest.state()
    );
    let _ = writeln!(
        out,
        "  signaling back: the unit handed out an invite {:.2} s after rendezvous listened \
         again ({:.2} s after the kill; goal within 5 s); a new guest was in the call with \
         media {:.2} s after it listened",
        (t_invite - t_up).as_secs_f64(),
        (t_invite - t_kill).as_secs_f64(),
        (t_newcomer - t_up).as_secs_f64()
    );
    newcomer.leave().await;
    guest.leave().await;
    Ok(out)
}

/// Two guests in a call; applianced is killed (SIGKILL): how long until each hears
/// `unit_away` from rendezvous.
pub async fn appliance_killed(clip: Arc<Clip>) -> Result<String, String> {
    let rendezvous = Rendezvous::start(config()).map_err(|e| e.to_string())?;
    let mut unit = unit::start(rendezvous.url(), rendezvous.fleet())?;
    let invite = unit::invite(&mut unit)?;
    let mut guests = Vec::new();
    for name in ["Camille", "Louis"] {
        let g = SoakGuest::join(&invite, name, clip.clone(), STEP).await?;
        g.media_flows(PACKETS, STEP).await?;
        guests.push(g);
    }
    let t_kill = Instant::now();
    tokio::task::block_in_place(|| unit.process().kill());
    let mut told = Vec::new();
    for g in &mut guests {
        let heard = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match g.server.recv().await {
                    Some(Some(ServerToGuest::UnitAway)) => return Ok(t_kill.elapsed()),
                    Some(Some(_)) => continue,
                    Some(None) | None => return Err("the socket closed without unit_away"),
                }
            }
        })
        .await;
        told.push(match heard {
            Ok(Ok(d)) => format!("{:.3} s", d.as_secs_f64()),
            Ok(Err(e)) => e.to_owned(),
            Err(_) => "not told within 10 s".to_owned(),
        });
    }
    for g in guests {
        g.leave().await;
    }
    Ok(format!(
        "kill: applianced killed (SIGKILL) mid-call with 2 guests: told unit_away after {} \
         (goal within 2 s)",
        told.join(" and ")
    ))
}
