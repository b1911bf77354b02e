//! `group`: a table's call with 1, 2, 4 and 8 guests at once, each a light webrtc-rs guest
//! sending a looped clip and tone ([`SoakGuest`]), against a fresh rendezvous and
//! applianced each time. Once every guest's media flows: applianced's CPU (% of one core)
//! and PSS over 10 s, what it sends to all its guests together (its `send_bps`, and what
//! congestion control plans, under its `[uplink]` cap), the guests' own audio mixes (each
//! hears the room and the others), and the RTP packets a second each guest receives
//! (fewest and most). Guests' video is not forwarded to each other yet; guest-to-guest
//! latency is not measured here.

use crate::clip::Clip;
use crate::cycles::{MEDIA_PACKETS, SETTLE, STEP, config};
use crate::guest::SoakGuest;
use crate::{mem, unit};
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use visavis_e2e::{Rendezvous, procstat};

/// How long each size of call is measured.
const MEASURE: Duration = Duration::from_secs(10);

pub async fn run(clip: Arc<Clip>) -> Result<String, String> {
    let mut out = format!(
        "group: 1, 2, 4 and 8 guests in one call, measured over {} s once all their media flows\n\
         \x20 guests | applianced CPU, PSS | sends (planned) kbit/s, cap | own mixes, voices \
         | each guest receives, packets/s\n",
        MEASURE.as_secs()
    );
    for n in [1usize, 2, 4, 8] {
        match call(n, clip.clone()).await {
            Ok(line) => out.push_str(&line),
            Err(e) => {
                let _ = writeln!(out, "  {n:6} | FAILED: {e}");
            }
        }
    }
    Ok(out)
}

async fn call(n: usize, clip: Arc<Clip>) -> Result<String, String> {
    let rendezvous = Rendezvous::start(config()).map_err(|e| e.to_string())?;
    let mut unit = unit::start(rendezvous.url(), rendezvous.fleet())?;
    let invite = unit::invite(&mut unit)?;
    let mut guests = Vec::new();
    for i in 1..=n {
        let g = SoakGuest::join(&invite, &format!("Guest {i}"), clip.clone(), STEP).await?;
        g.media_flows(MEDIA_PACKETS, STEP).await?;
        guests.push(g);
    }
    // Let every guest's estimate and the encoders settle a moment.
    tokio::time::sleep(SETTLE).await;
    let pid = unit.process().id();
    let received = |gs: &[SoakGuest]| gs.iter().map(|g| g.received.load(Relaxed)).collect();
    let (cpu0, t0, before): (f64, Instant, Vec<u64>) = (
        procstat::cpu_seconds(pid),
        Instant::now(),
        received(&guests),
    );
    let (mut sent, mut planned) = (Vec::new(), Vec::new());
    while t0.elapsed() < MEASURE {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let m = unit::metrics(&unit)?;
        sent.push(m.send_bps as f64 / 1000.0);
        planned.push(m.planned_send_bps as f64 / 1000.0);
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = (procstat::cpu_seconds(pid) - cpu0) / secs * 100.0;
    let after: Vec<u64> = received(&guests);
    let rates: Vec<f64> = after
        .iter()
        .zip(&before)
        .map(|(a, b)| (a - b) as f64 / secs)
        .collect();
    let m = unit::metrics(&unit)?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (lo, hi) = rates
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
    let line = format!(
        "  {n:6} | {cpu:5.1} %, {} | {:6.0} ({:6.0}), 10000 | {}, {} | {lo:.0}–{hi:.0}\n",
        mem::mb(procstat::pss_kb(pid)),
        mean(&sent),
        mean(&planned),
        m.own_mixes,
        m.group_voices,
    );
    for g in guests {
        g.leave().await;
    }
    Ok(line)
}
