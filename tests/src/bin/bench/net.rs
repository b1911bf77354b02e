//! `bench net`: calls across the network lab (tests/src/lab), reported, never judged.
//!
//! 1. The connect matrix: for each pair of NAT kinds, the candidate pair the guest's
//!    Chromium selected and the time from opening the invite to the first decoded frame.
//! 2. A thin link (1 Mbit/s, 2 % random loss, 60 ms one-way delay on the guest's side;
//!    `--net clean`: the same without the loss, to tell what the freezes owe to loss):
//!    delivered fps, Chromium's freeze count and time frozen over the window (each freeze
//!    with what the browser saw in the second before it: losses, NACKs, keyframe requests,
//!    from `getStats()` every 100 ms), the packets the unit retransmitted and refused to,
//!    resolution, glass-to-glass latency (the capture time applianced draws into each
//!    frame, read back in the guest page, as `bench call` does; namespaces share the
//!    machine's clock), how long the guest's jitter buffer held frames (and the least delay
//!    asked of it), the guest's voice at the unit (packets decoded, lost and made up
//!    for, dropped as late), and the unit's video send rate and estimate second by second.
//! 3. The guest's cap dropped from 4 to 1 Mbit/s mid-call: the unit's video send rate to
//!    that guest, second by second (between the unit's refreshes of its count, seen within
//!    50 ms), and how long until it fits under the new cap; freezes meanwhile.
//! 4. Two guests, one behind a 600 kbit/s cap, the other on the internet side with no cap:
//!    what each gets (resolution, received bitrate, delivered fps, layer), and what the unit
//!    captured and encoded on each layer meanwhile (frames a second).
//! 5. Calls set up one after another across a lossy guest link (10 % loss each way, 60 ms
//!    one way): how many come up, and invite → first frame for each. Loss there hits the
//!    DTLS handshake's flights, which only retransmission recovers.
//! 6. The thin link's reference: Chromium to Chromium across it ([`crate::thin_baseline`]).

use crate::thin_baseline;
use crate::visavis::{LATENCY_JS, bench_state, eval, metrics};
use crate::{pass, percentile};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};
use visavis_api::local::{GuestMetrics, MetricsSnapshot, VoicePackets};
use visavis_e2e::lab::call::{LabCall, frames_flow};
use visavis_e2e::lab::{Lab, LabConfig, LinkShape, NatKind, Node, Side, Wire};
use visavis_e2e::{
    ApplianceConfig, CandidatePair, Chromedriver, Error, Guest, PageState, PageTimes, Result,
    TraceSample, VideoReception, timeouts,
};

/// The unit as a store runs it.
fn unit() -> ApplianceConfig {
    ApplianceConfig {
        width: 1280,
        height: 720,
        fps: 30,
        bitrate_kbps: 2500,
        auto_admit: true,
        ..Default::default()
    }
}

/// A section of `bench net` (`--net <section>` runs only the sections named).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    /// The connect matrix.
    Matrix,
    /// 1 Mbit/s, 2 % loss, 60 ms.
    Thin,
    /// The thin link without its loss.
    Clean,
    /// The guest's cap dropped from 4 to 1 Mbit/s mid-call.
    CapDrop,
    /// A fast guest beside a capped one.
    TwoGuests,
    /// Calls set up across a 10 % loss link.
    Lossy,
    /// Chromium to Chromium across the thin link.
    Baseline,
}

/// The one-way delay and jitter of the thin and lossy links, ms.
const WAN_DELAY_MS: f64 = 60.0;
const WAN_JITTER_MS: f64 = 5.0;

/// The thin link, on the guest's side: 1 Mbit/s, 2 % random loss each way, 60 ± 5 ms one way.
pub fn thin_link() -> LinkShape {
    LinkShape {
        rate_kbit: Some(1000),
        loss: 0.02,
        wire: Some(Wire::delay(WAN_DELAY_MS, WAN_JITTER_MS)),
    }
}

/// How long the thin-link sections measure.
pub const THIN_WINDOW: Duration = Duration::from_secs(20);

/// How a guest link reads in a report: "guest side 1 Mbit/s, 2 % loss, 60 ± 5 ms one way".
pub fn link_text(link: &LinkShape) -> String {
    let rate = link.rate_kbit.map_or_else(
        || "uncapped".to_string(),
        |k| format!("{} Mbit/s", f64::from(k) / 1000.0),
    );
    let wire = link.wire.map_or_else(String::new, |w| {
        format!(", {} ± {} ms one way", w.delay_ms, w.jitter_ms)
    });
    format!("guest side {rate}, {:.0} % loss{wire}", link.loss * 100.0)
}

/// The sections named (all when none is); each says FAILED with its reason instead of
/// stopping the others.
pub async fn run(sections: &[Section], clip: &Path) -> String {
    let wanted = |s: Section| sections.is_empty() || sections.contains(&s);
    let mut out = String::from(
        "net: calls across the lab (guest — NAT A — internet — NAT B — unit), 1280x720@30, ceiling 2500 kbit/s\n",
    );
    if wanted(Section::Matrix) {
        let _ = writeln!(out, "{}", matrix().await);
    }
    let report = |out: &mut String, what: &str, r: Result<String>| match r {
        Ok(r) => out.push_str(&r),
        Err(e) => {
            let _ = writeln!(out, "net: {what}: FAILED: {e}");
        }
    };
    if wanted(Section::Thin) {
        report(&mut out, "thin link", thin(thin_link(), "thin link").await);
    }
    if wanted(Section::Clean) {
        let clean = LinkShape {
            loss: 0.0,
            ..thin_link()
        };
        report(
            &mut out,
            "thin link without loss",
            thin(clean, "thin link without loss").await,
        );
    }
    if wanted(Section::CapDrop) {
        report(&mut out, "cap drop", cap_drop().await);
    }
    if wanted(Section::TwoGuests) {
        report(&mut out, "two guests", two_guests().await);
    }
    if wanted(Section::Lossy) {
        out.push_str(&lossy().await);
    }
    if wanted(Section::Baseline) {
        report(
            &mut out,
            "thin link, browser to browser",
            thin_baseline::run(clip).await,
        );
    }
    out
}

/// Install the glass-to-glass probe in a guest already in the call.
async fn probe_latency(guest: &Guest) -> Result<()> {
    let injected = eval(
        guest,
        &format!("{LATENCY_JS}\nreturn window.__visavisProbe;"),
    )
    .await?;
    if injected != "ok" {
        return Err(Error::new(format!(
            "latency probe not installed: {injected}"
        )));
    }
    Ok(())
}

async fn matrix() -> String {
    let mut out = String::from("net: connect matrix (NAT A guest side / NAT B unit side)\n");
    let kinds = [
        (NatKind::Cone, NatKind::Cone),
        (NatKind::None, NatKind::Cone),
        (NatKind::Symmetric, NatKind::Cone),
        (NatKind::Cone, NatKind::Symmetric),
        (NatKind::Symmetric, NatKind::Symmetric),
        (NatKind::UdpBlocked, NatKind::Cone),
        (NatKind::WebOnly, NatKind::Cone),
        (NatKind::Cone, NatKind::UdpBlocked),
        (NatKind::Cone, NatKind::WebOnly),
    ];
    for (nat_a, nat_b) in kinds {
        let config = LabConfig {
            nat_a,
            nat_b,
            ..Default::default()
        };
        let line = match LabCall::start(config, unit()).await {
            Ok(call) => {
                let pair = match call.guest.selected_candidate_pair().await {
                    Ok(Some(p)) => pair_line(&p),
                    Ok(None) => "no selected pair".into(),
                    Err(e) => format!("pair unreadable: {e}"),
                };
                let first = call.invite_to_first_frame.as_secs_f64();
                let _ = call.guest.close().await;
                format!(
                    "connected; invite → first frame {first:.2} s ({}); guest's pair: {pair}",
                    phases(&call.phases)
                )
            }
            Err(e) => format!("FAILED: {}", first_line(&e.to_string())),
        };
        let _ = writeln!(out, "  {nat_a:?} / {nat_b:?}: {line}");
    }
    out
}

/// Calls `bench net --net lossy` sets up, and the loss on the guest's link.
const LOSSY_CALLS: usize = 12;
const LOSSY_LOSS: f64 = 0.10;

/// Calls set up one after another across a lossy guest link: how many came up, and how
/// long each took.
async fn lossy() -> String {
    let mut out = format!(
        "net: connecting across a lossy link (guest side {:.0} % loss each way, {WAN_DELAY_MS} ± \
         {WAN_JITTER_MS} ms one way), {LOSSY_CALLS} calls\n",
        LOSSY_LOSS * 100.0
    );
    let config = LabConfig {
        nat_a: NatKind::Cone,
        nat_b: NatKind::Cone,
        guest_link: LinkShape {
            rate_kbit: None,
            loss: LOSSY_LOSS,
            wire: Some(Wire::delay(WAN_DELAY_MS, WAN_JITTER_MS)),
        },
        ..Default::default()
    };
    let mut times = Vec::new();
    for n in 1..=LOSSY_CALLS {
        let line = match LabCall::start(config, unit()).await {
            Ok(call) => {
                let first = call.invite_to_first_frame.as_secs_f64();
                times.push(first);
                let _ = call.guest.close().await;
                format!("{first:.2} s ({})", phases(&call.phases))
            }
            // With the line of the ICE report (when there is one) that says how far it got.
            Err(e) => format!(
                "FAILED: {}",
                e.to_string().lines().take(2).collect::<Vec<_>>().join(" ")
            ),
        };
        let _ = writeln!(out, "  call {n}: {line}");
    }
    let came_up = times.len();
    let _ = writeln!(
        out,
        "  came up {came_up} of {LOSSY_CALLS}; invite → first frame p50 {:.2} s, max {:.2} s",
        percentile(&mut times, 50.0),
        percentile(&mut times, 100.0)
    );
    out
}

/// A selected candidate pair: "Srflx 198.18.0.2:40000 (succeeded) ↔ Srflx 198.18.0.3:50000".
pub fn pair_line(p: &CandidatePair) -> String {
    format!(
        "{:?} {} ({}{}) ↔ {:?} {}",
        p.local_type,
        p.local_address,
        p.state,
        p.relay_protocol
            .as_ref()
            .map(|r| format!(", relay over {r}"))
            .unwrap_or_default(),
        p.remote_type,
        p.remote_address
    )
}

/// The page's wait, step by step: "page 0.31 s, join → let in 0.42 s, → connected 0.25 s,
/// → first frame 0.30 s" (the last as the harness saw it, to within its polling).
fn phases(t: &PageTimes) -> String {
    let secs = |from: Option<f64>, to: Option<f64>| match (from, to) {
        (Some(a), Some(b)) => format!("{:.2} s", (b - a) / 1000.0),
        _ => "?".into(),
    };
    format!(
        "page {}, join → let in {}, → connected {}, → first frame {}",
        secs(Some(0.0), t.loaded),
        secs(t.join, t.peer),
        secs(t.peer, t.connected),
        secs(t.connected, Some(t.now))
    )
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// The video a call's guest received so far.
async fn reception(call: &LabCall) -> Result<VideoReception> {
    guest_reception(&call.guest).await
}

/// A call across `link` (the thin link, or it without loss), called `name` in the report.
async fn thin(link: LinkShape, name: &str) -> Result<String> {
    let call = LabCall::start(
        LabConfig {
            nat_a: NatKind::Cone,
            nat_b: NatKind::Cone,
            guest_link: link,
            ..Default::default()
        },
        ApplianceConfig {
            video_extra: "capture_timestamp = true\n".into(),
            ..unit()
        },
    )
    .await?;
    probe_latency(&call.guest).await?;
    let window = THIN_WINDOW;
    let a = reception(&call).await?;
    let seen = bench_state(&call.guest).await?.1.len();
    let up_a = video_bytes_in(&call)?;
    let resent_a = retransmits(&call)?;
    let voice_a = voice(&call)?;
    call.guest.start_video_trace().await?;
    let t0 = Instant::now();
    let series = send_series(&call, t0, window).await?;
    let b = reception(&call).await?;
    let trace = call.guest.take_video_trace().await?;
    let resent_b = retransmits(&call)?;
    let voice_b = voice(&call)?;
    let secs = t0.elapsed().as_secs_f64();
    let up_kbit = (video_bytes_in(&call)? - up_a) as f64 * 8.0 / 1000.0 / secs;
    let mut latencies: Vec<f64> = bench_state(&call.guest)
        .await?
        .1
        .into_iter()
        .skip(seen)
        .collect();
    let (sent, estimates) = send_lines(&series);
    let _ = call.guest.close().await;
    Ok(format!(
        "net: {name} ({}), {secs:.1} s window:\n  \
         {}, retransmitted {} (asked again and refused {})\n  \
         glass-to-glass latency: p50 {:.0} ms, p95 {:.0} ms ({} frames read); \
         the guest's own video to the unit over the same link: {up_kbit:.0} kbit/s\n  \
         the guest's {}\n  \
         the guest's voice at the unit: {}\n  \
         the unit's video send rate to the guest, per second (kbit/s): {}\n  \
         its estimate for the guest, per second (kbit/s): {}\n{}",
        link_text(&link),
        delivered(&a, &b, secs),
        resent_b.0 - resent_a.0,
        resent_b.1 - resent_a.1,
        percentile(&mut latencies, 50.0),
        percentile(&mut latencies, 95.0),
        latencies.len(),
        jitter_buffer(&a, &b),
        voice_heard(&voice_a, &voice_b),
        sent,
        estimates,
        freezes_told(&trace),
    ))
}

/// What a browser received of the video between `a` and `b`, `secs` apart: "delivered 29.5
/// fps at 640x360, 700 kbit/s received; freezes 1 totalling 0.25 s (1.2 % of the time);
/// packets lost 40, 38 received again after a NACK, 0 FEC packets received".
pub fn delivered(a: &VideoReception, b: &VideoReception, secs: f64) -> String {
    let frozen = b.total_freezes_duration - a.total_freezes_duration;
    format!(
        "delivered {:.1} fps at {}x{}, {:.0} kbit/s received; freezes {} totalling {frozen:.2} s \
         ({:.1} % of the time); packets lost {}, {} received again after a NACK, {} FEC \
         packets received",
        (b.frames_decoded - a.frames_decoded) as f64 / secs,
        b.frame_width,
        b.frame_height,
        (b.bytes_received - a.bytes_received) as f64 * 8.0 / 1000.0 / secs,
        b.freeze_count - a.freeze_count,
        100.0 * frozen / secs,
        b.packets_lost - a.packets_lost,
        b.retransmitted_packets_received - a.retransmitted_packets_received,
        b.fec_packets_received - a.fec_packets_received,
    )
}

/// "jitter buffer held frames 180 ms on average (its target 215 ms, the least asked of it
/// 215 ms)", between `a` and `b`.
pub fn jitter_buffer(a: &VideoReception, b: &VideoReception) -> String {
    let (held, target, minimum) = b.jitter_buffer_since(a);
    format!(
        "jitter buffer held frames {held:.0} ms on average (its target {target:.0} ms, \
         the least asked of it {minimum:.0} ms)"
    )
}

/// One reading of the unit's sending to its one guest: seconds since the series began
/// (at the refresh that ended it), video send rate since the refresh before, kbit/s, and
/// the unit's estimate for the guest then, kbit/s.
type SendSample = (f64, f64, u64);

/// The unit's sending to its one guest for `window` from `since`, at each refresh of its
/// counts (about a second apart; see [`next_refresh`]). The unit refreshes its count of
/// bytes sent once a second, on its own clock: a rate read every second of ours would now
/// and then span two refreshes and show a second at twice the rate. So the count is read
/// every [`SAMPLE`] and a rate taken between two refreshes, at the times they were seen
/// (within [`SAMPLE`]).
async fn send_series(call: &LabCall, since: Instant, window: Duration) -> Result<Vec<SendSample>> {
    let mut series = Vec::new();
    let mut last = next_refresh(call, video_bytes_out(call)?).await?;
    while since.elapsed() < window {
        let now = next_refresh(call, last.1).await?;
        let kbit = (now.1 - last.1) as f64 * 8.0 / 1000.0 / (now.0 - last.0).as_secs_f64();
        series.push(((now.0 - since).as_secs_f64(), kbit, estimate_kbit(call)?));
        last = now;
    }
    Ok(series)
}

/// The rates and the estimates of `series`, each as a line of numbers.
fn send_lines(series: &[SendSample]) -> (String, String) {
    let rates: Vec<String> = series.iter().map(|(_, k, _)| format!("{k:.0}")).collect();
    let estimates: Vec<String> = series.iter().map(|(_, _, e)| e.to_string()).collect();
    (rates.join(" "), estimates.join(" "))
}

/// Packets the unit retransmitted to its one guest so far, and those it refused to.
fn retransmits(call: &LabCall) -> Result<(u64, u64)> {
    one_guest(call).map(|g| (g.retransmitted, g.retransmits_refused))
}

/// The metrics of the unit's one guest.
fn one_guest(call: &LabCall) -> Result<GuestMetrics> {
    let m = metrics(&call.unit)?;
    m.guests
        .into_iter()
        .next()
        .ok_or_else(|| Error::new("the unit lists no guest"))
}

/// The unit's one guest's voice packets as the unit decoded them so far.
fn voice(call: &LabCall) -> Result<VoicePackets> {
    one_guest(call).map(|g| g.voice_packets)
}

/// "1480 packets decoded, 31 lost and made up for (2.1 %), 0 dropped as late", between `a`
/// and `b`.
fn voice_heard(a: &VoicePackets, b: &VoicePackets) -> String {
    let d = b.since(*a);
    let share = 100.0 * d.concealed as f64 / (d.decoded + d.concealed).max(1) as f64;
    format!(
        "{} packets decoded, {} lost and made up for ({share:.1} %), {} dropped as late",
        d.decoded, d.concealed, d.late
    )
}

/// Each freeze in a guest's video trace: when it ended (seconds into the trace), how long
/// it lasted, and what the browser saw in the second before it began: packets lost, NACKs
/// and keyframe requests it sent, keyframes decoded.
pub fn freezes_told(trace: &[TraceSample]) -> String {
    let Some(first) = trace.first() else {
        return "  (no video trace)\n".into();
    };
    let mut out = String::new();
    for pair in trace.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if b.freeze_count <= a.freeze_count {
            continue;
        }
        let lasted = b.total_freezes_duration - a.total_freezes_duration;
        let began = b.t - lasted;
        let before = trace.iter().find(|s| s.t >= began - 1.0).unwrap_or(first);
        let _ = writeln!(
            out,
            "  freeze ended at {:.1} s, {lasted:.2} s long; from 1 s before it began: {} packets \
             lost, {} NACKs, {} keyframe requests, {} keyframes decoded, {} frames dropped, {}p",
            b.t - first.t,
            b.packets_lost - before.packets_lost,
            b.nack_count - before.nack_count,
            b.pli_count - before.pli_count,
            b.key_frames_decoded - before.key_frames_decoded,
            b.frames_dropped - before.frames_dropped,
            b.frame_height,
        );
    }
    out
}

/// The video bytes the unit received from its one guest so far.
fn video_bytes_in(call: &LabCall) -> Result<u64> {
    one_guest(call).map(|g| g.video_in.bytes)
}

/// The unit's bandwidth estimate for its one guest, kbit/s.
fn estimate_kbit(call: &LabCall) -> Result<u64> {
    one_guest(call).map(|g| g.estimate_bps / 1000)
}

/// The unit's video bytes sent to its one guest so far.
fn video_bytes_out(call: &LabCall) -> Result<u64> {
    one_guest(call).map(|g| g.video_out.bytes)
}

/// How often the unit's count of video bytes sent is read.
const SAMPLE: Duration = Duration::from_millis(50);

/// When the unit's count of video bytes sent next differs from `bytes` (read every
/// [`SAMPLE`]), and the new count; an error if it has not moved in 3 s.
async fn next_refresh(call: &LabCall, bytes: u64) -> Result<(Instant, u64)> {
    let t0 = Instant::now();
    loop {
        tokio::time::sleep(SAMPLE).await;
        let now = video_bytes_out(call)?;
        if now != bytes {
            return Ok((Instant::now(), now));
        }
        if t0.elapsed() > Duration::from_secs(3) {
            return Err(Error::new(
                "the unit's count of video bytes sent did not move for 3 s",
            ));
        }
    }
}

async fn cap_drop() -> Result<String> {
    let call = LabCall::start(
        LabConfig {
            nat_a: NatKind::Cone,
            nat_b: NatKind::Cone,
            guest_link: LinkShape {
                rate_kbit: Some(4000),
                loss: 0.0,
                wire: Some(Wire::delay(30.0, 2.0)),
            },
            ..Default::default()
        },
        unit(),
    )
    .await?;
    // Settle at 4 Mbit/s first.
    pass(Duration::from_secs(5)).await?;
    let before = reception(&call).await?;
    call.lab.set_rate(Side::Guest, Some(1000))?;
    let dropped = Instant::now();
    let series = send_series(&call, dropped, Duration::from_secs(20)).await?;
    let after = reception(&call).await?;
    // Fits: from this second on, every second's video stays under 90 % of the cap (audio
    // and packet overhead take the rest).
    let fits = (0..series.len())
        .find(|&i| series[i..].iter().all(|(_, k, _)| *k <= 900.0))
        .map(|i| format!("{:.1} s", series[i].0))
        .unwrap_or_else(|| "not within 20 s".into());
    let (rates, estimates) = send_lines(&series);
    let _ = call.guest.close().await;
    Ok(format!(
        "net: guest cap 4 → 1 Mbit/s mid-call: video send rate fits under the cap after {fits}; \
         per second (kbit/s): {rates}\n  the unit's estimate for the guest, per second (kbit/s): {estimates}\n  meanwhile the guest froze {} times, {:.2} s in all, at {}x{} at the end\n",
        after.freeze_count - before.freeze_count,
        after.total_freezes_duration - before.total_freezes_duration,
        after.frame_width,
        after.frame_height,
    ))
}

/// What one guest got over a window, from their page's counters before and after.
fn got(a: &VideoReception, b: &VideoReception, secs: f64) -> String {
    format!(
        "{}x{}, {:.0} kbit/s received, {:.1} fps delivered, froze {:.2} s",
        b.frame_width,
        b.frame_height,
        (b.bytes_received - a.bytes_received) as f64 * 8.0 / 1000.0 / secs,
        (b.frames_decoded - a.frames_decoded) as f64 / secs,
        b.total_freezes_duration - a.total_freezes_duration,
    )
}

/// The video a browser received so far (from its page's last peer connection).
pub async fn guest_reception(guest: &Guest) -> Result<VideoReception> {
    guest
        .video_reception()
        .await?
        .ok_or_else(|| Error::new("a guest has no inbound video"))
}

async fn two_guests() -> Result<String> {
    // The slow guest behind NAT A's capped link.
    let mut call = LabCall::start(
        LabConfig {
            nat_a: NatKind::Cone,
            nat_b: NatKind::Cone,
            guest_link: LinkShape {
                rate_kbit: Some(600),
                loss: 0.0,
                wire: Some(Wire::delay(30.0, 2.0)),
            },
            ..Default::default()
        },
        unit(),
    )
    .await?;
    // The fast guest on the internet side, its link not shaped.
    let url = call.unit.create_invite(timeouts::media())?;
    let driver = Chromedriver::start_in(call.lab.ns(Node::Inet))?;
    let fast = driver
        .new_guest_with_args(&Lab::guest_chromium_args())
        .await?;
    fast.record_peer_connections().await?;
    fast.open(&url).await?;
    fast.join("Lou").await?;
    fast.wait_for_state(PageState::InCall, timeouts::step())
        .await?;
    frames_flow(&fast, "the unshaped internet").await?;
    // Let the estimates and layers settle.
    pass(Duration::from_secs(8)).await?;
    let (fast_a, slow_a) = (guest_reception(&fast).await?, reception(&call).await?);
    let frames_a = metrics(&call.unit)?;
    let t0 = Instant::now();
    pass(Duration::from_secs(15)).await?;
    let (fast_b, slow_b) = (guest_reception(&fast).await?, reception(&call).await?);
    let frames_b = metrics(&call.unit)?;
    let secs = t0.elapsed().as_secs_f64();
    let layers: Vec<String> = frames_b
        .guests
        .iter()
        .map(|g| {
            format!(
                "{} on {} ({} kbit/s estimate)",
                g.name,
                g.layer.as_str(),
                g.estimate_bps / 1000
            )
        })
        .collect();
    let _ = fast.close().await;
    let _ = call.guest.close().await;
    Ok(format!(
        "net: two guests, one capped at 600 kbit/s, {secs:.1} s window:\n  \
         fast guest (no cap): {}\n  slow guest (600 kbit/s): {}\n  unit: {}\n  unit: {}\n",
        got(&fast_a, &fast_b, secs),
        got(&slow_a, &slow_b, secs),
        layers.join("; "),
        encoded(&frames_a, &frames_b, secs),
    ))
}

/// What the unit captured and each layer encoded between two metrics reads, frames a
/// second: when guests get fewer frames than the camera gives, whether the unit made them.
fn encoded(a: &MetricsSnapshot, b: &MetricsSnapshot, secs: f64) -> String {
    let mut out = format!(
        "captured {:.1} fps",
        b.frames_captured.saturating_sub(a.frames_captured) as f64 / secs
    );
    for after in &b.layers {
        let before = a
            .layers
            .iter()
            .find(|l| l.layer == after.layer)
            .map_or(0, |l| l.frames_encoded);
        let _ = write!(
            out,
            ", {} layer encoded {:.1} fps (set to {} kbit/s)",
            after.layer.as_str(),
            after.frames_encoded.saturating_sub(before) as f64 / secs,
            after.target_bitrate_bps / 1000
        );
    }
    out
}
