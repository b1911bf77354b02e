//! Visavis under measurement: rendezvous + applianced on the clip + N Chromium guests.

use super::percentile;
use std::fmt;
use std::path::Path;
use std::time::Duration;
use visavis_api::local::{GuestMetrics, MetricsSnapshot};
use visavis_e2e::procstat;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{
    Appliance, ApplianceConfig, Chromedriver, Error, Guest, Rendezvous, RendezvousConfig, Result,
};

/// The glass-to-glass probe injected into a guest page (reads the capture timestamp).
pub(crate) const LATENCY_JS: &str = include_str!("latency.js");

/// What one run measured.
pub struct Report {
    guests: usize,
    latency_p50_ms: f64,
    latency_p95_ms: f64,
    latency_samples: usize,
    first_frame_ms: Vec<f64>,
    cpu_per_sec: f64,
    pss_mb: f64,
    delivered_fps: Vec<f64>,
    /// Frames applianced encoded per second, and sent per second to each guest.
    encoded_fps: f64,
    sent_fps: Vec<f64>,
    /// What each guest's camera sends the unit (all its layers), kbit/s.
    camera_kbps: Vec<f64>,
    /// Each guest's camera layers as its browser reports them (`rid WxH fps`, and why the
    /// browser limits them if it does).
    camera_layers: Vec<String>,
    /// applianced's busiest groups of threads (see `procstat::busiest`).
    threads: String,
}

/// How many groups of applianced's threads the report names.
const THREAD_GROUPS: usize = 6;

impl Report {
    /// applianced CPU milliseconds per frame displayed by a guest (summed over guests).
    pub fn cpu_ms_per_frame(&self) -> f64 {
        let fps: f64 = self.delivered_fps.iter().sum();
        self.cpu_per_sec * 1000.0 / fps
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(f, "visavis, {} guest(s), 1280x720@30 x264:", self.guests)?;
        writeln!(
            f,
            "  glass-to-glass latency: p50 {:.0} ms, p95 {:.0} ms ({} frames)",
            self.latency_p50_ms, self.latency_p95_ms, self.latency_samples
        )?;
        writeln!(
            f,
            "  invite opened -> first decoded frame: {} ms",
            join(&self.first_frame_ms)
        )?;
        writeln!(
            f,
            "  applianced encoded {:.1} fps, sent per guest: {} fps; displayed per guest: {} fps",
            self.encoded_fps,
            join(&self.sent_fps),
            join(&self.delivered_fps)
        )?;
        writeln!(
            f,
            "  applianced: {:.3} CPU-s/s, PSS {:.1} MB, {:.2} CPU-ms per delivered frame",
            self.cpu_per_sec,
            self.pss_mb,
            self.cpu_ms_per_frame()
        )?;
        writeln!(
            f,
            "  each guest's camera to the unit: {} kbit/s; layers: {}",
            join(&self.camera_kbps),
            self.camera_layers.join("; ")
        )?;
        writeln!(
            f,
            "  applianced's busiest threads, % of one core (how many): {}",
            self.threads
        )
    }
}

pub(crate) fn metrics(unit: &Appliance) -> Result<visavis_api::local::MetricsSnapshot> {
    match unit.client()?.call(visavis_api::local::Request::Metrics) {
        Ok(visavis_api::local::Response::Metrics(m)) => Ok(*m),
        other => Err(Error::new(format!("metrics: {other:?}"))),
    }
}

pub(crate) async fn eval(guest: &Guest, script: &str) -> Result<serde_json::Value> {
    guest
        .webdriver()
        .execute(script, vec![])
        .await
        .map_err(|e| Error::new(format!("script in the guest page: {e}")))
}

/// The probe's frame count, latency samples (ms), first frame time and time origin.
pub(crate) async fn bench_state(guest: &Guest) -> Result<(u64, Vec<f64>, f64, f64)> {
    let v = eval(
        guest,
        "const b = window.__visavisBench || {}; return [b.frames || 0, b.samples || [], b.firstFrameAt || 0, performance.timeOrigin];",
    )
    .await?;
    let frames = v[0].as_u64().unwrap_or(0);
    let samples = v[1]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
        .unwrap_or_default();
    Ok((
        frames,
        samples,
        v[2].as_f64().unwrap_or(0.0),
        v[3].as_f64().unwrap_or(0.0),
    ))
}

pub async fn run(clip: &Path, guests: usize) -> Result<Report> {
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let mut unit = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            video_source: "file".into(),
            width: 1280,
            height: 720,
            fps: 30,
            bitrate_kbps: 2500,
            auto_admit: true,
            video_extra: format!(
                "file = {:?}\ncapture_timestamp = true\n",
                clip.display().to_string()
            ),
            ..Default::default()
        },
    )?;
    let url = unit.create_invite(Duration::from_secs(20))?;
    let driver = Chromedriver::start()?;
    let mut browsers = Vec::new();
    for i in 0..guests {
        let guest = driver.new_guest().await?;
        guest.open(&url).await?;
        let injected = eval(
            &guest,
            &format!("{LATENCY_JS}\nreturn window.__visavisProbe;"),
        )
        .await?;
        if injected != "ok" {
            return Err(Error::new(format!(
                "latency probe not installed: {injected}"
            )));
        }
        guest.join(&format!("Guest {}", i + 1)).await?;
        browsers.push(guest);
    }
    let mut first_frame_ms = Vec::new();
    for guest in &browsers {
        let (_, _, first, origin) =
            wait::until("the first frame", Duration::from_secs(60), || async {
                let s = bench_state(guest).await?;
                Ok(if s.0 > 30 {
                    Check::Ready(s)
                } else {
                    Check::NotYet(format!("{} frames", s.0))
                })
            })
            .await?;
        first_frame_ms.push(first - origin);
    }
    let pid = unit.process().id();
    let before: Vec<_> = {
        let mut v = Vec::new();
        for g in &browsers {
            v.push(bench_state(g).await?);
        }
        v
    };
    let metrics0 = metrics(&unit)?;
    let cpu0 = procstat::cpu_seconds(pid);
    let threads0 = procstat::thread_seconds(pid);
    let elapsed = super::measure_window().await?;
    let cpu_per_sec = (procstat::cpu_seconds(pid) - cpu0) / elapsed;
    let threads = procstat::busiest(
        &procstat::thread_share(pid, &threads0, elapsed),
        THREAD_GROUPS,
    );
    let pss_mb = procstat::pss_kb(pid) as f64 / 1024.0;
    let metrics1 = metrics(&unit)?;
    let encoded_fps = (metrics1.frames_encoded - metrics0.frames_encoded) as f64 / elapsed;
    let sent_fps = per_second(&metrics0, &metrics1, elapsed, |g| g.video_out.frames);
    let camera_kbps = per_second(&metrics0, &metrics1, elapsed, |g| g.video_in.bytes)
        .into_iter()
        .map(|bytes| bytes * 8.0 / 1000.0)
        .collect();
    let mut latencies = Vec::new();
    let mut delivered_fps = Vec::new();
    for (g, b) in browsers.iter().zip(&before) {
        let after = bench_state(g).await?;
        delivered_fps.push((after.0 - b.0) as f64 / elapsed);
        latencies.extend(after.1.into_iter().skip(b.1.len()));
    }
    let mut camera_layers = Vec::new();
    for g in &browsers {
        camera_layers.push(camera_layers_of(g).await?);
    }
    for g in browsers {
        g.close().await?;
    }
    Ok(Report {
        guests,
        latency_p50_ms: percentile(&mut latencies, 50.0),
        latency_p95_ms: percentile(&mut latencies, 95.0),
        latency_samples: latencies.len(),
        first_frame_ms,
        cpu_per_sec,
        pss_mb,
        delivered_fps,
        encoded_fps,
        sent_fps,
        camera_kbps,
        camera_layers,
        threads,
    })
}

/// How fast `counter` of each guest in `after` grew since `before`, `elapsed` seconds
/// earlier (a guest not in `before` counts from 0).
fn per_second(
    before: &MetricsSnapshot,
    after: &MetricsSnapshot,
    elapsed: f64,
    counter: impl Fn(&GuestMetrics) -> u64,
) -> Vec<f64> {
    after
        .guests
        .iter()
        .map(|g| {
            let was = before.guests.iter().find(|b| b.guest_id == g.guest_id);
            counter(g).saturating_sub(was.map_or(0, &counter)) as f64 / elapsed
        })
        .collect()
}

/// The guest's camera layers as its browser sends them: `rid WxH fps` each, and the
/// browser's reason when it limits them (`cpu`, `bandwidth`).
async fn camera_layers_of(guest: &Guest) -> Result<String> {
    let layers = eval(
        guest,
        "const sender = window.visavisGuest.cameraSender(); if (!sender) return [];
         const out = []; let estimate = 0;
         (await sender.getStats()).forEach((s) => {
           if (s.type === 'outbound-rtp') out.push(s);
           if (s.type === 'candidate-pair' && s.nominated) estimate = s.availableOutgoingBitrate || 0;
         });
         return out.map((s) => `${s.rid || '-'} ${s.frameWidth || 0}x${s.frameHeight || 0} ${Math.round(s.framesPerSecond || 0)} fps, target ${Math.round((s.targetBitrate || 0) / 1000)} kbit/s`
           + (s.qualityLimitationReason && s.qualityLimitationReason !== 'none' ? ` (${s.qualityLimitationReason})` : ''))
           .concat([`estimate ${Math.round(estimate / 1000)} kbit/s`]);",
    )
    .await?;
    let layers: Vec<&str> = layers
        .as_array()
        .map(|a| a.iter().filter_map(|l| l.as_str()).collect())
        .unwrap_or_default();
    Ok(if layers.is_empty() {
        "no camera".to_owned()
    } else {
        layers.join(", ")
    })
}
