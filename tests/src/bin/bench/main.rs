//! `cargo xtask bench`: what a store would measure, reported and never judged.
//!
//! 1. Visavis at 1280x720@30 with one and with two guests: glass-to-glass latency (capture
//!    timestamp drawn into the picture by applianced, read back from a canvas in the guest,
//!    same machine clock), invite opened → first decoded frame, applianced CPU-seconds per
//!    second and PSS, delivered fps and CPU per delivered frame.
//! 2. The baseline a store would otherwise deploy: one Chromium sending the same Y4M clip as
//!    its camera straight to one Chromium receiver; the sender's whole process tree CPU per
//!    delivered frame, delivered fps and PSS, and the ratio to applianced.
//! 3. The kiosk: a table's 1920x1080 screen with four guest tiles; kiosk CPU-seconds per
//!    second and PSS, and applianced frame → kiosk paint latency.
//! 4. The network (`net`): calls across the lab of namespaces (NAT matrix, a thin link, a
//!    cap dropped mid-call, a fast guest beside a slow one), see `net.rs`.
//! 5. Mouth to ear (`mouth`): a guest's click to the unit's speaker and to another guest
//!    at a table, see `mouth.rs`; `mouth-lab`: the same with the listening guest across
//!    the network lab.

mod baseline;
mod kiosk;
mod mouth;
mod net;
mod thin_baseline;
mod visavis;

use clap::{Parser, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// How long each configuration is measured once media flows.
pub const WINDOW: Duration = Duration::from_secs(10);

/// Let [`WINDOW`] of wall time pass (what is measured is the work done meanwhile); returns
/// the seconds that actually passed.
pub async fn measure_window() -> visavis_e2e::Result<f64> {
    pass(WINDOW).await
}

/// Let `d` of wall time pass (what is measured is what happened meanwhile); returns the
/// seconds that actually passed.
pub async fn pass(d: Duration) -> visavis_e2e::Result<f64> {
    use visavis_e2e::wait::{self, Check};
    let t0 = std::time::Instant::now();
    wait::until("a measurement window", d * 2, || async {
        Ok(if t0.elapsed() >= d {
            Check::Ready(())
        } else {
            Check::NotYet(String::new())
        })
    })
    .await?;
    Ok(t0.elapsed().as_secs_f64())
}

/// Percentile of `v` (sorted in place), nearest rank.
pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

/// A 5 s 1280x720@30 Y4M clip with motion and a running clock, made with GStreamer.
fn make_clip(dir: &Path) -> Result<PathBuf, String> {
    let clip = dir.join("clip.y4m");
    let status = std::process::Command::new("gst-launch-1.0")
        .args([
            "-q",
            "videotestsrc",
            "num-buffers=150",
            "pattern=smpte",
            "horizontal-speed=3",
            "!",
        ])
        .args([
            "video/x-raw,format=I420,width=1280,height=720,framerate=30/1",
            "!",
        ])
        .args([
            "timeoverlay",
            "font-desc=Sans 36",
            "!",
            "y4menc",
            "!",
            "filesink",
        ])
        .arg(format!("location={}", clip.display()))
        .status()
        .map_err(|e| {
            format!("gst-launch-1.0: {e} (install gstreamer1.0-tools: cargo xtask setup)")
        })?;
    if !status.success() {
        return Err(format!(
            "gst-launch-1.0 could not write {}: {status}",
            clip.display()
        ));
    }
    Ok(clip)
}

/// What a store would measure: reported, never judged.
#[derive(Debug, Parser)]
#[command(
    name = "bench",
    after_help = "Exit codes: 0 the report was printed (a part that failed says so in it); \
                  1 no clip could be made; 2 bad usage."
)]
struct Cli {
    /// The parts to run; none named runs them all.
    #[arg(value_enum)]
    parts: Vec<Part>,
    /// Of `net`, only these sections (repeatable); none named runs them all.
    #[arg(long = "net", value_enum)]
    net_sections: Vec<net::Section>,
}

/// A part of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    /// Visavis with one and two guests, then the baseline.
    Call,
    /// The kiosk's screen with four guest tiles.
    Kiosk,
    /// Calls across the network lab: NAT matrix, a thin link, a cap dropped mid-call, a
    /// fast guest beside a slow one (needs root).
    Net,
    /// Mouth to ear at a table: a guest's click to the unit's speaker and to another guest.
    Mouth,
    /// The same with the listening guest across the network lab (needs root).
    MouthLab,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let (parts, net_sections) = match visavis_api::cli::parse::<Cli>() {
        Ok(cli) => (cli.parts, cli.net_sections),
        Err(code) => return code,
    };
    let wanted = |part: Part| parts.is_empty() || parts.contains(&part);
    let dir = match tempfile::TempDir::with_prefix("visavis-bench-") {
        Ok(d) => d,
        Err(e) => {
            eprintln!("bench: cannot make a temporary folder: {e}");
            return ExitCode::FAILURE;
        }
    };
    let clip = match make_clip(dir.path()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "bench: clip {} (1280x720@30, 5 s, looped); window {WINDOW:?} per run",
        clip.display()
    );
    if wanted(Part::Call) {
        call(&clip).await;
    }
    if wanted(Part::Kiosk) {
        match kiosk::run(&clip).await {
            Ok(report) => println!("{report}"),
            Err(e) => println!("kiosk: FAILED: {e}"),
        }
    }
    if wanted(Part::Net) {
        println!("{}", net::run(&net_sections, &clip).await);
    }
    for (part, place) in [
        (Part::Mouth, mouth::Place::Loopback),
        (Part::MouthLab, mouth::Place::Lab),
    ] {
        if wanted(part) {
            match mouth::run(dir.path(), place).await {
                Ok(report) => println!("{report}"),
                Err(e) => println!("mouth to ear ({place:?}): FAILED: {e}"),
            }
        }
    }
    ExitCode::SUCCESS
}

/// Visavis with one and two guests, then the baseline, and their ratio.
async fn call(clip: &Path) {
    let mut unit_cost = None;
    for guests in [1, 2] {
        match visavis::run(clip, guests).await {
            Ok(report) => {
                println!("{report}");
                if guests == 1 {
                    unit_cost = Some(report.cpu_ms_per_frame());
                }
            }
            Err(e) => println!("visavis, {guests} guest(s): FAILED: {e}"),
        }
    }
    match baseline::run(clip).await {
        Ok(report) => {
            println!("{report}");
            if let Some(unit) = unit_cost {
                println!(
                    "ratio: baseline sender CPU per delivered frame / applianced CPU per delivered frame (1 guest) = {:.2}",
                    report.cpu_ms_per_frame() / unit
                );
            }
        }
        Err(e) => println!("baseline: FAILED: {e}"),
    }
}
