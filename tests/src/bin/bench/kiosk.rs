//! The kiosk under measurement: a table's screen at 1920x1080 in a call with four remote
//! guests (real Chromium, fake cameras, kept to the last CPU core), each in a tile, and the
//! table's own camera (the clip, 1280x720@30) small in the corner. The real `kiosk` binary runs in Xvfb, painting
//! with Mesa's software OpenGL: on the Pi the GPU paints, so the CPU figure here is an
//! upper bound for the kiosk's own work.
//!
//! Frame-to-paint: applianced draws the capture time into each frame
//! (`capture_timestamp`); the kiosk reads it back from the preview frame it hands to the
//! painter and logs both times (`kiosk --latency-log`), on the same clock.

use super::percentile;
use std::fmt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use visavis_api::local::GuestState;
use visavis_e2e::bins::workspace_binary;
use visavis_e2e::process::ChildProcess;
use visavis_e2e::procstat;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{
    Appliance, ApplianceConfig, Chromedriver, Error, Rendezvous, RendezvousConfig, Result,
};

const GUESTS: usize = 4;
const SCREEN: (u32, u32) = (1920, 1080);

pub struct Report {
    tiles: usize,
    cpu_per_sec: f64,
    pss_mb: f64,
    painted_fps: f64,
    /// The camera's frames a second in applianced over the same window.
    captured_fps: f64,
    latency_p50_ms: f64,
    latency_p95_ms: f64,
    samples: usize,
    applianced_cpu_per_sec: f64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "kiosk, table at {}x{}, {} guest tiles, camera 1280x720@30 (Xvfb, software GL):",
            SCREEN.0, SCREEN.1, self.tiles
        )?;
        writeln!(
            f,
            "  kiosk: {:.3} CPU-s/s, PSS {:.1} MB; preview painted at {:.1} fps (camera at {:.1})",
            self.cpu_per_sec, self.pss_mb, self.painted_fps, self.captured_fps
        )?;
        writeln!(
            f,
            "  applianced frame -> kiosk paint: p50 {:.0} ms, p95 {:.0} ms ({} frames)",
            self.latency_p50_ms, self.latency_p95_ms, self.samples
        )?;
        writeln!(
            f,
            "  applianced meanwhile (encoding, 4 guests' decoding): {:.3} CPU-s/s",
            self.applianced_cpu_per_sec
        )
    }
}

/// (painted, captured) Unix milliseconds, one line per painted frame; no capture time when
/// the frame's timestamp did not read back.
fn read_log(path: &Path) -> Vec<(u64, Option<u64>)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (a, b) = l.split_once(' ')?;
            Some((a.parse().ok()?, b.parse().ok()))
        })
        .collect()
}

/// A free X display number: no lock file for it.
fn free_display() -> Result<u32> {
    (90..130)
        .find(|n| !Path::new(&format!("/tmp/.X{n}-lock")).exists())
        .ok_or_else(|| Error::new("no free X display between :90 and :129"))
}

pub async fn run(clip: &Path) -> Result<Report> {
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let mut unit = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            mode: visavis_api::Mode::Table,
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
            // The kiosk reads the timestamp at the camera's own scale.
            api_extra: "preview_width = 1280\n".into(),
            ..Default::default()
        },
    )?;
    let url = unit.create_invite(Duration::from_secs(20))?;
    let driver = Chromedriver::start()?;
    // The four guests stand in for phones elsewhere; here their browsers (fake cameras,
    // VP8 encoding, decoding the unit) would take both cores, and Chromium (as root) raises
    // its own priority, so the kiosk being measured would wait for the CPU. They are kept
    // to the last core: browsers started from now on inherit chromedriver's affinity.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores > 1 {
        let pinned = Command::new("taskset")
            .args(["-a", "-p", "-c", &(cores - 1).to_string()])
            .arg(driver.pid().to_string())
            .output()
            .map_err(|e| Error::new(format!("taskset: {e}")))?;
        if !pinned.status.success() {
            return Err(Error::new(format!(
                "taskset chromedriver: {}",
                String::from_utf8_lossy(&pinned.stderr)
            )));
        }
    }
    let mut guests = Vec::new();
    for i in 0..GUESTS {
        let guest = driver.new_guest().await?;
        guest.open(&url).await?;
        guest.join(&format!("Guest {}", i + 1)).await?;
        guests.push(guest);
    }
    let tiles = wait::until(
        "every guest's tile to be announced",
        Duration::from_secs(90),
        || async {
            let status = unit.status()?;
            let tiles = status
                .guests
                .iter()
                .filter(|g| g.state == GuestState::InCall && g.tile.is_some())
                .count();
            Ok(if tiles == GUESTS {
                Check::Ready(tiles)
            } else {
                Check::NotYet(format!("{tiles} tiles"))
            })
        },
    )
    .await?;

    let dir = tempfile::TempDir::with_prefix("visavis-kiosk-bench-")
        .map_err(|e| Error::new(format!("temporary folder: {e}")))?;
    let display = free_display()?;
    let mut xvfb = Command::new("Xvfb");
    xvfb.arg(format!(":{display}")).args([
        "-screen",
        "0",
        &format!("{}x{}x24", SCREEN.0, SCREEN.1),
        "-nolisten",
        "tcp",
    ]);
    let _xvfb = ChildProcess::spawn("Xvfb", xvfb)?;
    let x_socket = format!("/tmp/.X11-unix/X{display}");
    wait::until("Xvfb to listen", Duration::from_secs(20), || async {
        Ok(if Path::new(&x_socket).exists() {
            Check::Ready(())
        } else {
            Check::NotYet(x_socket.clone())
        })
    })
    .await?;
    let log = dir.path().join("latency.log");
    let mut kiosk = Command::new(workspace_binary("kiosk")?);
    kiosk
        .env("DISPLAY", format!(":{display}"))
        .env_remove("WAYLAND_DISPLAY")
        .arg("--api")
        .arg(unit.api_socket())
        .args(["--size", &format!("{}x{}", SCREEN.0, SCREEN.1)])
        .arg("--latency-log")
        .arg(&log);
    let mut kiosk = ChildProcess::spawn("kiosk", kiosk)?;
    wait::until(
        "the kiosk to paint timestamped frames",
        Duration::from_secs(60),
        || async {
            let n = read_log(&log).iter().filter(|(_, c)| c.is_some()).count();
            Ok(if n >= 30 {
                Check::Ready(())
            } else {
                Check::NotYet(format!("{n} frames painted"))
            })
        },
    )
    .await?;

    let (kiosk_pid, unit_pid) = (kiosk.id(), unit.process().id());
    let painted0 = read_log(&log).len();
    let captured0 = super::visavis::metrics(&unit)?.frames_captured;
    let (cpu0, unit_cpu0) = (
        procstat::cpu_seconds(kiosk_pid),
        procstat::cpu_seconds(unit_pid),
    );
    let elapsed = super::measure_window().await?;
    let cpu_per_sec = (procstat::cpu_seconds(kiosk_pid) - cpu0) / elapsed;
    let applianced_cpu_per_sec = (procstat::cpu_seconds(unit_pid) - unit_cpu0) / elapsed;
    let pss_mb = procstat::pss_kb(kiosk_pid) as f64 / 1024.0;
    let captured_fps =
        (super::visavis::metrics(&unit)?.frames_captured - captured0) as f64 / elapsed;
    let window: Vec<(u64, Option<u64>)> = read_log(&log).into_iter().skip(painted0).collect();
    let mut latencies: Vec<f64> = window
        .iter()
        .filter_map(|(painted, captured)| Some(painted.saturating_sub((*captured)?) as f64))
        .collect();
    kiosk.kill();
    for g in guests {
        g.close().await?;
    }
    Ok(Report {
        tiles,
        cpu_per_sec,
        pss_mb,
        painted_fps: window.len() as f64 / elapsed,
        captured_fps,
        latency_p50_ms: percentile(&mut latencies, 50.0),
        latency_p95_ms: percentile(&mut latencies, 95.0),
        samples: latencies.len(),
        applianced_cpu_per_sec,
    })
}
