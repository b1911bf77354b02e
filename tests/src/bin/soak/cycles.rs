//! Guests joining and leaving one after another, and a long call with guests coming and
//! going: the memory of applianced (PSS) and rendezvous (RSS) along the way.

use crate::clip::Clip;
use crate::guest::SoakGuest;
use crate::{mem, unit};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use visavis_e2e::{Appliance, RateLimit, Rendezvous, RendezvousConfig};

/// Packets from the unit (video and audio) that count as "media flowing" for a moment.
pub const MEDIA_PACKETS: u64 = 100;
pub const STEP: Duration = Duration::from_secs(20);
/// Memory is read this long after the last guest left (applianced trims its heap 2 s
/// after a guest leaves).
pub const SETTLE: Duration = Duration::from_secs(3);

/// Invite look-ups are rate-limited per address, and every guest here is 127.0.0.1.
pub fn config() -> RendezvousConfig {
    RendezvousConfig {
        rate_limit: Some(RateLimit {
            burst: 100_000,
            per_minute: 100_000,
        }),
        invite_ttl_secs: Some(24 * 3600),
        ..RendezvousConfig::default()
    }
}

struct Mark {
    label: String,
    pss: u64,
    anon: u64,
    rss: u64,
    threads: u64,
}

fn mark(label: impl Into<String>, unit: u32, rendezvous: u32) -> Mark {
    Mark {
        label: label.into(),
        pss: mem::pss_kb(unit),
        anon: mem::pss_anon_kb(unit),
        rss: mem::rss_kb(rendezvous),
        threads: mem::threads(unit),
    }
}

fn table(out: &mut String, marks: &[Mark]) {
    for m in marks {
        let _ = writeln!(
            out,
            "  {:<26} applianced PSS {:>9} (anonymous {:>9})  threads {:>3}   rendezvous RSS {:>9}",
            m.label,
            mem::mb(m.pss),
            mem::mb(m.anon),
            m.threads,
            mem::mb(m.rss)
        );
    }
}

/// One guest: join (a new invite if the last one stopped working), media both ways for
/// a moment, leave, and the unit has no guest left.
async fn one_guest(
    unit: &mut Appliance,
    invite: &mut String,
    name: &str,
    clip: &Arc<Clip>,
) -> Result<(), String> {
    let guest = match SoakGuest::join(invite, name, clip.clone(), STEP).await {
        Ok(g) => g,
        Err(e) if e.contains("Invite") || e.contains("SessionEnded") => {
            *invite = unit::invite(unit)?;
            SoakGuest::join(invite, name, clip.clone(), STEP).await?
        }
        Err(e) => return Err(e),
    };
    guest.media_flows(MEDIA_PACKETS, STEP).await?;
    guest.leave().await;
    unit::until(unit, "no guest", STEP, |s| s.guests.is_empty()).await?;
    Ok(())
}

/// `n` guests, one after another.
pub async fn cycles(n: u32, clip: Arc<Clip>) -> Result<String, String> {
    let mut rendezvous = Rendezvous::start(config()).map_err(|e| e.to_string())?;
    let mut unit = unit::start(rendezvous.url(), rendezvous.fleet())?;
    let (upid, rpid) = (unit.process().id(), rendezvous.process().id());
    let mut invite = unit::invite(&mut unit)?;
    let mut marks = vec![mark("start (invite out)", upid, rpid)];
    let checkpoints = [20.min(n), n / 2, n];
    let (mut times, mut failures) = (Vec::new(), Vec::new());
    let t_all = Instant::now();
    for i in 1..=n {
        let t0 = Instant::now();
        match one_guest(&mut unit, &mut invite, &format!("Guest {i}"), &clip).await {
            Ok(()) => times.push(t0.elapsed().as_secs_f64()),
            Err(e) => {
                failures.push(format!("cycle {i}: {e}"));
                // Whatever the guest left behind must be gone before the next one.
                let _ = unit::until(&unit, "no guest", STEP, |s| s.guests.is_empty()).await;
            }
        }
        if checkpoints.contains(&i) && !marks.iter().any(|m| m.label == format!("after {i}")) {
            // As the unit is between guests: it gives memory back a moment after one leaves.
            tokio::time::sleep(SETTLE).await;
            marks.push(mark(format!("after {i}"), upid, rpid));
        }
        if let Some(status) = unit.process().exit_status() {
            return Err(format!("applianced exited at cycle {i}: {status}"));
        }
    }
    let mut out = format!(
        "cycles: {n} guests joined and left one after another in {:.0} s ({} failed)\n",
        t_all.elapsed().as_secs_f64(),
        failures.len()
    );
    table(&mut out, &marks);
    if let Some(after20) = marks
        .iter()
        .find(|m| m.label == format!("after {}", 20.min(n)))
    {
        let (end, end_anon) = marks.last().map_or((0, 0), |m| (m.pss, m.anon));
        let _ = writeln!(
            out,
            "  applianced PSS at the end minus after {}: {:+.1} MB, anonymous {:+.1} MB \
             (the issue's goal: within +5 MB)",
            20.min(n),
            (end as f64 - after20.pss as f64) / 1024.0,
            (end_anon as f64 - after20.anon as f64) / 1024.0
        );
    }
    let _ = writeln!(
        out,
        "  one cycle (join to the unit empty again): median {:.2} s, p95 {:.2} s, max {:.2} s",
        percentile(&mut times, 50.0),
        percentile(&mut times, 95.0),
        percentile(&mut times, 100.0)
    );
    for f in failures.iter().take(5) {
        let _ = writeln!(out, "  {f}");
    }
    Ok(out)
}

/// A call of `secs` seconds: two guests stay throughout; a third joins, stays 10 s and
/// leaves, again and again.
pub async fn long_call(secs: u64, clip: Arc<Clip>) -> Result<String, String> {
    let mut rendezvous = Rendezvous::start(config()).map_err(|e| e.to_string())?;
    let mut unit = unit::start(rendezvous.url(), rendezvous.fleet())?;
    let (upid, rpid) = (unit.process().id(), rendezvous.process().id());
    let mut invite = unit::invite(&mut unit)?;
    let mut marks = vec![mark("start (invite out)", upid, rpid)];
    let mut staying = Vec::new();
    for name in ["Camille", "Louis"] {
        let g = SoakGuest::join(&invite, name, clip.clone(), STEP).await?;
        g.media_flows(MEDIA_PACKETS, STEP).await?;
        staying.push(g);
    }
    marks.push(mark("two guests in", upid, rpid));
    let length = Duration::from_secs(secs);
    let t0 = Instant::now();
    let (mut visits, mut failures, mut middle_marked) = (0u32, Vec::new(), false);
    while t0.elapsed() < length {
        visits += 1;
        let visit = async {
            let g = SoakGuest::join(&invite, "Passing by", clip.clone(), STEP).await?;
            g.media_flows(MEDIA_PACKETS, STEP).await?;
            tokio::time::sleep(Duration::from_secs(10).min(length.saturating_sub(t0.elapsed())))
                .await;
            g.leave().await;
            unit::until(&unit, "two guests", STEP, |s| s.guests.len() == 2).await
        };
        if let Err(e) = visit.await {
            failures.push(format!("visit {visits}: {e}"));
            invite = unit::invite(&mut unit)?;
        }
        if !middle_marked && t0.elapsed() >= length / 2 {
            middle_marked = true;
            marks.push(mark(
                format!(
                    "middle ({:.0} s, {visits} visits)",
                    t0.elapsed().as_secs_f64()
                ),
                upid,
                rpid,
            ));
        }
    }
    let mut flowing = 0;
    for g in &staying {
        if g.media_flows(MEDIA_PACKETS, STEP).await.is_ok() {
            flowing += 1;
        }
    }
    marks.push(mark(
        format!("end ({:.0} s, {visits} visits)", t0.elapsed().as_secs_f64()),
        upid,
        rpid,
    ));
    for g in staying {
        g.leave().await;
    }
    let mut out = format!(
        "call: {secs} s with two guests staying and {visits} visits of a third ({} failed); \
         media still flowing to {flowing} of the 2 at the end\n",
        failures.len()
    );
    table(&mut out, &marks);
    for f in failures.iter().take(5) {
        let _ = writeln!(out, "  {f}");
    }
    Ok(out)
}

/// Percentile of `v` (sorted in place), nearest rank.
fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}
