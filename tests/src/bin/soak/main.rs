//! `cargo xtask bench soak`: Visavis over a long day, against the real `rendezvous` and
//! `applianced` (started as the end-to-end tests start them), reported and never judged.
//!
//! 1. `cycles`: guests join and leave one after another (knock, admitted, offer/answer,
//!    media both ways for a moment, leave), each a real peer connection with applianced
//!    ([`guest::SoakGuest`]); applianced PSS and rendezvous RSS at start, after 20, at the
//!    middle and at the end.
//! 2. `call`: a long call, two guests staying and a third coming and going; memory at
//!    start, middle and end.
//! 3. `restart`: rendezvous killed and started again mid-call: does the guest's media go
//!    on, and how long until the unit's signaling is back (and a new guest can join).
//! 4. `kill`: applianced killed mid-call: how long until the guests are told.
//! 5. `floods`: thousands of half-open HTTP connections, then thousands of idle guest
//!    WebSockets (from many loopback addresses): does `/healthz` answer, what is
//!    rendezvous' memory, how many are held, and when are they closed.
//! 6. `group` (only when named: `cargo xtask bench group`): calls of 1, 2, 4 and 8 guests
//!    at once, who see each other: the unit's CPU, memory, send rate and forwarded
//!    pictures, and what each guest receives (kbit/s, others' pictures, frames a second).

mod clip;
mod cycles;
mod faults;
mod floods;
mod group;
mod guest;
mod latency;
mod mem;
mod unit;

use clap::{Parser, ValueEnum};
use std::process::ExitCode;
use std::sync::Arc;

/// Soak and faults: reported, never judged.
#[derive(Debug, Parser)]
#[command(
    name = "soak",
    after_help = "Exit codes: 0 the report was printed (a part that failed says so in it); \
                  1 the guests' media could not be made; 2 bad usage."
)]
struct Cli {
    /// The parts to run; none named runs them all.
    #[arg(value_enum)]
    parts: Vec<Part>,
    /// Join/leave cycles in `cycles`.
    #[arg(long, default_value_t = 1000)]
    cycles: u32,
    /// Length of the long call in `call`, in seconds (30 minutes by default).
    #[arg(long, default_value_t = 1800)]
    call_secs: u64,
    /// Half-open HTTP connections, then idle guest WebSockets, in `floods`.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Only `group`'s calls of this many guests (repeatable); all of them by default.
    #[arg(long = "guests")]
    guests: Vec<usize>,
    /// How long `group` measures each call once all its media flows, in seconds: longer
    /// evens out a noisy machine's moments.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    group_secs: u64,
    /// How many of each `group` call's guests talk; the others send silence, as most of a
    /// table listens at any moment (all of them talk by default).
    #[arg(long)]
    talking: Option<usize>,
    /// `group`'s guests offer no voice slots: the unit mixes the others' voices for each
    /// (as for a page without them), where it forwards them by default.
    #[arg(long)]
    mixed: bool,
}

/// A part of the soak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    /// Guests joining and leaving one after another.
    Cycles,
    /// A long call with guests coming and going.
    Call,
    /// rendezvous restarted mid-call.
    Restart,
    /// applianced killed mid-call.
    Kill,
    /// Half-open connections and idle guest sockets.
    Floods,
    /// Calls of 1, 2, 4 and 8 guests at once (`cargo xtask bench group`; not in the
    /// soak's default parts).
    Group,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let cli = match visavis_api::cli::parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let wanted =
        |part: Part| cli.parts.contains(&part) || (cli.parts.is_empty() && part != Part::Group);
    let fd_limit = mem::raise_fd_limit();
    let dir = match tempfile::TempDir::with_prefix("visavis-soak-") {
        Ok(d) => d,
        Err(e) => {
            eprintln!("soak: cannot make a temporary folder: {e}");
            return ExitCode::FAILURE;
        }
    };
    let clip = match clip::Clip::make(dir.path()) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("soak: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "soak: binaries in {}; guests send {} H.264 frames and {} Opus packets in a loop; \
         open-file limit {fd_limit}",
        visavis_e2e::bins::profile_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        clip.video.len(),
        clip.audio.len()
    );
    if wanted(Part::Cycles) {
        report("cycles", cycles::cycles(cli.cycles, clip.clone()).await);
    }
    if wanted(Part::Call) {
        report("call", cycles::long_call(cli.call_secs, clip.clone()).await);
    }
    if wanted(Part::Restart) {
        report("restart", faults::rendezvous_restart(clip.clone()).await);
    }
    if wanted(Part::Kill) {
        report("kill", faults::appliance_killed(clip.clone()).await);
    }
    if wanted(Part::Floods) {
        report("floods", floods::run(cli.connections).await);
    }
    if wanted(Part::Group) {
        report(
            "group",
            group::run(
                clip.clone(),
                &cli.guests,
                std::time::Duration::from_secs(cli.group_secs),
                cli.talking,
                cli.mixed,
            )
            .await,
        );
    }
    ExitCode::SUCCESS
}

fn report(part: &str, result: Result<String, String>) {
    match result {
        Ok(text) => println!("{text}"),
        Err(e) => println!("{part}: FAILED: {e}"),
    }
}
