//! `group`: a table's call with 1, 2, 4 and 8 guests at once (and 8 again on the default
//! uplink, see [`CALLS`]), each a light webrtc-rs guest
//! sending a looped clip and tone ([`SoakGuest`]; with `--talking N`, all but the first N
//! send silence in place of the tone) and offering the slots for the others'
//! pictures, against a fresh rendezvous and applianced (in table mode, where guests see
//! each other by default) each time. Once every guest's media
//! flows and every slot the unit filled carries pictures, over 10 s (`--group-secs`):
//! - the unit: applianced's CPU (% of one core) and PSS, what it sends to all its guests
//!   together (its `send_bps`, and what congestion control plans, under its `[uplink]`
//!   cap), the pictures it forwards (`forwarded_streams`, forwarded packets a second, and
//!   keyframes it asked of the guests), and the guests' own audio mixes (each hears the
//!   room and the others); and where its CPU went, by group of threads (the pictures'
//!   decoders' threads are named for what they do, `tilein` and `tilejb`; Opus voices are
//!   decoded in the tokio tasks that receive them, `tokio-rt-worker`, and the own mixes
//!   encoded in the microphone's thread, `audiotestsrc` for the simulated one);
//! - the guests: what each receives in kbit/s (everything, and the forwarded part: fewest
//!   and most), how many others' pictures each receives (slots with packets, and how many
//!   the unit's `others` message names) against the n−1 others in the call, and frames a
//!   second per forwarded picture (the lowest and the median over all guests' filled slots),
//!   and of the room's picture (the lowest and the median over the guests);
//! - guest→guest: how long a forwarded picture takes from one guest writing a frame to
//!   another receiving its last packet (median and 95th percentile over every forwarded
//!   frame, [`crate::latency`]). On loopback this is what the two guests' stacks and the
//!   unit's forwarding add; a network adds its own trips.
//!
//! The uplink is one budget (`appliance/src/congestion`): the room's picture at its floor
//! first, then the voices forwarded and the forwarded pictures, together at most half the
//! uplink, the pictures shared evenly among the guests. On the default 10 Mbit/s eight
//! guests at a table's default floor (500 kbit/s), three of them heard by the others,
//! leave room for two or three of the seven others each, so the unit here has the [`UPLINK_KBPS`]
//! a table of eight needs for everyone to see everyone (what applianced's start-up advice
//! names); with
//! less, each sees fewer than n−1 and the table says so rather than fail. Guest-to-unit
//! latency is not measured here (the unit's own reception is not timed); mouth-to-ear audio
//! is `bench mouth`'s (`cargo xtask bench group` runs both).

use crate::clip::Clip;
use crate::cycles::{MEDIA_PACKETS, SETTLE, STEP, config};
use crate::guest::SoakGuest;
use crate::latency::{Latency, quantile_ms};
use crate::{mem, unit};
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use visavis_api::Mode;
use visavis_api::datachannel::VOICE_SLOTS;
use visavis_e2e::{Rendezvous, procstat};

/// The unit's `[uplink] max_kbps`: what applianced's start-up advice names for a table of
/// eight at the defaults, where 56 pictures and three voices heard by the seven others
/// are half the uplink (see the module docs).
const UPLINK_KBPS: u32 = 22_459;

/// How many groups of applianced's threads the report names, busiest first.
const THREAD_GROUPS: usize = 7;

/// The calls measured: how many guests, on which `[uplink] max_kbps` (`None`: the unit's
/// default, 10 Mbit/s, where eight guests each see two or three of the others).
const CALLS: [(usize, Option<u32>); 5] = [
    (1, Some(UPLINK_KBPS)),
    (2, Some(UPLINK_KBPS)),
    (4, Some(UPLINK_KBPS)),
    (8, Some(UPLINK_KBPS)),
    (8, None),
];

/// A call's label in the tables: "8" on [`UPLINK_KBPS`], "8 dflt" on the default uplink.
fn label(n: usize, uplink: Option<u32>) -> String {
    match uplink {
        Some(_) => n.to_string(),
        None => format!("{n} dflt"),
    }
}

/// What one size of call showed.
struct Figures {
    guests: usize,
    /// The unit's `[uplink] max_kbps`, as configured.
    cap: String,
    cpu: f64,
    pss_kb: u64,
    sent_kbps: f64,
    planned_kbps: f64,
    forwarded_streams: u64,
    forwarded_pps: f64,
    /// Voice packets forwarded unmixed, a second.
    voice_pps: f64,
    keyframe_asks: u64,
    own_mixes: u64,
    /// Of the own mixes' packets in the window, the share from the quiet guests' one
    /// encode, in %.
    shared_pct: f64,
    voices: u64,
    /// Voice packets that came after the mixes had run out of that voice, in the window.
    late_voice_packets: u64,
    /// The same for the unit's speaker.
    speaker_late_packets: u64,
    /// Each guest's receive rate, everything and the forwarded part, kbit/s.
    receive_kbps: Vec<f64>,
    forwarded_kbps: Vec<f64>,
    /// Per guest: slots that carried packets, and slots the unit's `others` names.
    pictures: Vec<usize>,
    /// Per guest: voice slots that carried packets.
    voices_heard: Vec<usize>,
    told: Vec<usize>,
    /// Frames a second of every guest's filled slots.
    fps: Vec<f64>,
    /// Frames a second of the room's picture, per guest.
    room_fps: Vec<f64>,
    /// Guest→guest trips of forwarded frames, sorted.
    trips: Vec<Duration>,
    /// Something seen while waiting for the pictures, to say under the table.
    note: Option<String>,
    /// applianced's CPU by group of threads (name without digits, how many threads, % of
    /// one core), most first.
    threads: Vec<(String, usize, f64)>,
}

/// Runs the calls of [`CALLS`] whose size is in `sizes` (all of them when it is empty),
/// each measured over `measure` once all its media flows.
pub async fn run(
    clip: Arc<Clip>,
    sizes: &[usize],
    measure: Duration,
    talking: Option<usize>,
    mixed: bool,
) -> Result<String, String> {
    let voice_slots = if mixed { 0 } else { VOICE_SLOTS };
    let listening = Arc::new(clip.listening());
    let mut results = Vec::new();
    for (n, uplink) in CALLS {
        if !sizes.is_empty() && !sizes.contains(&n) {
            continue;
        }
        results.push((
            label(n, uplink),
            call(
                n,
                uplink,
                (clip.clone(), listening.clone()),
                talking,
                voice_slots,
                measure,
            )
            .await,
        ));
    }
    if results.is_empty() {
        return Err(format!(
            "no call of {sizes:?} guests: the calls measured have {:?}",
            CALLS.map(|(n, _)| n)
        ));
    }
    let labels: Vec<&str> = results.iter().map(|(n, _)| n.as_str()).collect();
    let mut out = format!(
        "group: calls of {} guests on a {UPLINK_KBPS} kbit/s uplink (dflt: on the unit's \
         default), {}, measured over {} s once all their media flows\n the unit:\n\
         \x20 guests | applianced CPU, PSS | sends (planned) kbit/s, cap \
         | forwarded streams, packets/s, keyframe asks | voice packets forwarded/s \
         | own mixes (their packets from the shared encodes), voices, late voice packets \
         (mixes / speaker)\n",
        labels.join(", "),
        match talking {
            Some(t) => format!("the first {t} of each talking, the others silent"),
            None => "every guest talking".to_owned(),
        } + if mixed {
            ", the guests' pages without voice slots (the unit mixes their voices)"
        } else {
            ""
        },
        measure.as_secs()
    );
    for (n, r) in &results {
        match r {
            Ok(f) => {
                let _ = writeln!(
                    out,
                    "  {n:>6} | {:5.1} %, {} | {:6.0} ({:6.0}), {} | {:3}, {:6.0}, {:3} | {:5.0} | {} ({:3.0} %), {}, {} / {}",
                    f.cpu,
                    mem::mb(f.pss_kb),
                    f.sent_kbps,
                    f.planned_kbps,
                    f.cap,
                    f.forwarded_streams,
                    f.forwarded_pps,
                    f.keyframe_asks,
                    f.voice_pps,
                    f.own_mixes,
                    f.shared_pct,
                    f.voices,
                    f.late_voice_packets,
                    f.speaker_late_packets,
                );
            }
            Err(e) => {
                let _ = writeln!(out, "  {n:>6} | FAILED: {e}");
            }
        }
    }
    out.push_str(" where applianced's CPU went, % of one core by group of threads (how many):\n");
    for (n, r) in &results {
        let Ok(f) = r else { continue };
        let _ = writeln!(
            out,
            "  {n:>6} | {}",
            procstat::busiest(&f.threads, THREAD_GROUPS)
        );
    }
    out.push_str(
        " each guest (fewest–most over the guests):\n\
         \x20 guests | receives kbit/s (forwarded) | others' pictures (named), of n−1 \
         | frames/s per picture, lowest, median | the room's frames/s, lowest, median \
         | guest→guest ms, median, p95 (frames) \
         | others' voices heard unmixed\n",
    );
    for (n, r) in &results {
        let Ok(f) = r else {
            let _ = writeln!(out, "  {n:>6} | FAILED (above)");
            continue;
        };
        let (rlo, rhi) = range(&f.receive_kbps);
        let (flo, fhi) = range(&f.forwarded_kbps);
        let (plo, phi) = range(&f.pictures);
        let (tlo, thi) = range(&f.told);
        let fps = |fps: &[f64]| match (lowest(fps), median(fps)) {
            (Some(lo), Some(med)) => format!("{lo:4.1}, {med:4.1}"),
            _ => "–".to_owned(),
        };
        let (room, fps) = (fps(&f.room_fps), fps(&f.fps));
        let trips = match (quantile_ms(&f.trips, 0.5), quantile_ms(&f.trips, 0.95)) {
            (Some(p50), Some(p95)) => format!("{p50:5.1}, {p95:5.1} ({})", f.trips.len()),
            _ => "–".to_owned(),
        };
        let (vlo, vhi) = range(&f.voices_heard);
        let _ = writeln!(
            out,
            "  {n:>6} | {rlo:5.0}–{rhi:5.0} ({flo:5.0}–{fhi:5.0}) | {plo}–{phi} ({tlo}–{thi}), of {} | {fps} | {room} | {trips} | {vlo}–{vhi}",
            f.guests - 1,
        );
    }
    for (n, r) in &results {
        let Ok(f) = r else { continue };
        let want = f.guests - 1;
        let (plo, phi) = range(&f.pictures);
        if plo != want || phi != want {
            let _ = writeln!(
                out,
                "  {n} guests: each receives {plo}–{phi} others' pictures, not the {want} others \
                 in the call ({} forwarded streams in all)",
                f.forwarded_streams
            );
        }
        if let Some(note) = &f.note {
            let _ = writeln!(out, "  {n} guests: {note}");
        }
    }
    Ok(out)
}

/// A call of `n` guests, the first `talking` of them (all: `None`) sending `clips.0`'s tone
/// and the others `clips.1`'s silence, each offering `voice_slots` voice slots.
async fn call(
    n: usize,
    uplink: Option<u32>,
    clips: (Arc<Clip>, Arc<Clip>),
    talking: Option<usize>,
    voice_slots: usize,
    measure: Duration,
) -> Result<Figures, String> {
    let (clip, listening) = clips;
    let rendezvous = Rendezvous::start(config()).map_err(|e| e.to_string())?;
    let mut unit = unit::start_as(
        rendezvous.url(),
        rendezvous.fleet(),
        Mode::Table,
        &uplink.map_or(String::new(), |k| format!("[uplink]\nmax_kbps = {k}\n")),
    )?;
    let invite = unit::invite(&mut unit)?;
    let latency = Arc::new(Latency::new(clip.video.iter().map(|s| &s.data[..])));
    let mut guests = Vec::new();
    for i in 1..=n {
        let name = format!("Guest {i}");
        let media = if talking.is_none_or(|t| i <= t) {
            clip.clone()
        } else {
            listening.clone()
        };
        let g = SoakGuest::join_timed(
            &invite,
            &name,
            media,
            STEP,
            Some(latency.clone()),
            voice_slots,
        )
        .await?;
        g.media_flows(MEDIA_PACKETS, STEP).await?;
        guests.push(g);
    }
    let note = pictures_flow(&guests, n, STEP).await.err();
    // Let every guest's estimate and the encoders settle a moment.
    tokio::time::sleep(SETTLE).await;
    let pid = unit.process().id();
    let before = Snapshot::of(&guests);
    latency.take();
    let m0 = unit::metrics(&unit)?;
    let (cpu0, t0) = (procstat::cpu_seconds(pid), Instant::now());
    let threads0 = procstat::thread_seconds(pid);
    let (mut sent, mut planned) = (Vec::new(), Vec::new());
    while t0.elapsed() < measure {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let m = unit::metrics(&unit)?;
        sent.push(m.send_bps as f64 / 1000.0);
        planned.push(m.planned_send_bps as f64 / 1000.0);
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = (procstat::cpu_seconds(pid) - cpu0) / secs * 100.0;
    let threads = procstat::thread_share(pid, &threads0, secs);
    let after = Snapshot::of(&guests);
    let m = unit::metrics(&unit)?;
    let pss_kb = procstat::pss_kb(pid);
    let kbps = |bytes: u64| bytes as f64 * 8.0 / secs / 1000.0;
    let mut figures = Figures {
        guests: n,
        cap: uplink.map_or("default".to_owned(), |k| k.to_string()),
        cpu,
        pss_kb,
        sent_kbps: mean(&sent),
        planned_kbps: mean(&planned),
        forwarded_streams: m.forwarded_streams,
        forwarded_pps: m.forwarded_packets.saturating_sub(m0.forwarded_packets) as f64 / secs,
        voice_pps: m
            .forwarded_voice_packets
            .saturating_sub(m0.forwarded_voice_packets) as f64
            / secs,
        keyframe_asks: m
            .forward_keyframe_requests
            .saturating_sub(m0.forward_keyframe_requests),
        own_mixes: m.own_mixes,
        shared_pct: {
            let packets = m
                .own_mix_frames_encoded
                .saturating_sub(m0.own_mix_frames_encoded);
            let shared = m
                .own_mix_frames_shared
                .saturating_sub(m0.own_mix_frames_shared);
            shared as f64 * 100.0 / packets.max(1) as f64
        },
        voices: m.group_voices,
        late_voice_packets: m
            .group_voice_late_packets
            .saturating_sub(m0.group_voice_late_packets),
        speaker_late_packets: m
            .speaker_voice_late_packets
            .saturating_sub(m0.speaker_voice_late_packets),
        receive_kbps: Vec::new(),
        forwarded_kbps: Vec::new(),
        pictures: Vec::new(),
        voices_heard: Vec::new(),
        told: Vec::new(),
        fps: Vec::new(),
        room_fps: Vec::new(),
        trips: latency.take(),
        note,
        threads,
    };
    for ((g, b), a) in guests.iter().zip(&before.guests).zip(&after.guests) {
        figures
            .receive_kbps
            .push(kbps(a.bytes.saturating_sub(b.bytes)));
        let named: Vec<usize> = g.others().iter().map(|o| usize::from(o.slot)).collect();
        let mut forwarded = 0;
        let mut pictures = 0;
        for (slot, (sa, sb)) in a.slots.iter().zip(&b.slots).enumerate() {
            let packets = sa.packets.saturating_sub(sb.packets);
            forwarded += sa.bytes.saturating_sub(sb.bytes);
            if packets > 0 {
                pictures += 1;
            }
            if packets > 0 || named.contains(&slot) {
                figures
                    .fps
                    .push(sa.frames.saturating_sub(sb.frames) as f64 / secs);
            }
        }
        figures.forwarded_kbps.push(kbps(forwarded));
        figures
            .room_fps
            .push(a.room_frames.saturating_sub(b.room_frames) as f64 / secs);
        figures.pictures.push(pictures);
        figures.voices_heard.push(
            a.voices
                .iter()
                .zip(&b.voices)
                .filter(|(a, b)| a > b)
                .count(),
        );
        figures.told.push(named.len());
    }
    for g in guests {
        g.leave().await;
    }
    Ok(figures)
}

/// Wait until the unit named others to every guest (when there are others) and every slot
/// it named carries pictures; what was missing at `timeout` otherwise.
async fn pictures_flow(guests: &[SoakGuest], n: usize, timeout: Duration) -> Result<(), String> {
    let t0 = Instant::now();
    loop {
        let missing: Vec<String> = guests
            .iter()
            .enumerate()
            .filter_map(|(i, g)| {
                let others = g.others();
                let dark: Vec<u8> = others
                    .iter()
                    .filter(|o| {
                        g.slots
                            .get(usize::from(o.slot))
                            .is_none_or(|c| c.frames.load(Relaxed) == 0)
                    })
                    .map(|o| o.slot)
                    .collect();
                if n > 1 && others.is_empty() {
                    Some(format!("guest {} was named no one", i + 1))
                } else if !dark.is_empty() {
                    Some(format!("guest {}'s slots {dark:?} had no picture", i + 1))
                } else {
                    None
                }
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if t0.elapsed() > timeout {
            return Err(format!(
                "after {} s: {}",
                timeout.as_secs(),
                missing.join("; ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The guests' counters at one moment.
struct Snapshot {
    guests: Vec<GuestSnapshot>,
}

struct GuestSnapshot {
    bytes: u64,
    slots: Vec<SlotSnapshot>,
    /// Packets of each voice slot.
    voices: Vec<u64>,
    /// Pictures of the room's.
    room_frames: u64,
}

struct SlotSnapshot {
    packets: u64,
    bytes: u64,
    frames: u64,
}

impl Snapshot {
    fn of(guests: &[SoakGuest]) -> Snapshot {
        Snapshot {
            guests: guests
                .iter()
                .map(|g| GuestSnapshot {
                    bytes: g.received_bytes.load(Relaxed),
                    slots: g
                        .slots
                        .iter()
                        .map(|c| SlotSnapshot {
                            packets: c.packets.load(Relaxed),
                            bytes: c.bytes.load(Relaxed),
                            frames: c.frames.load(Relaxed),
                        })
                        .collect(),
                    voices: g.voices.iter().map(|c| c.packets.load(Relaxed)).collect(),
                    room_frames: g.room.frames.load(Relaxed),
                })
                .collect(),
        }
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// The fewest and most of `v` (zeros when empty).
fn range<T: Copy + PartialOrd + Default>(v: &[T]) -> (T, T) {
    let mut it = v.iter().copied();
    let Some(first) = it.next() else {
        return (T::default(), T::default());
    };
    it.fold((first, first), |(lo, hi), x| {
        (if x < lo { x } else { lo }, if x > hi { x } else { hi })
    })
}

fn lowest(v: &[f64]) -> Option<f64> {
    v.iter().copied().reduce(f64::min)
}

fn median(v: &[f64]) -> Option<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let mid = s.len() / 2;
    match s.len() {
        0 => None,
        len if len % 2 == 1 => Some(s[mid]),
        _ => Some((s[mid - 1] + s[mid]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn median_and_range_of_a_few_figures() {
        assert_eq!(super::median(&[]), None);
        assert_eq!(super::median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(super::median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(super::lowest(&[4.0, 1.5, 2.0]), Some(1.5));
        assert_eq!(super::range(&[3usize, 1, 7]), (1, 7));
        assert_eq!(super::range::<usize>(&[]), (0, 0));
    }
}
