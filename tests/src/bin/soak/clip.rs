//! What a soak guest sends: a few seconds of H.264 (constrained baseline, Annex B, one
//! access unit per sample, a keyframe every second) and Opus (20 ms packets), encoded once
//! by GStreamer at start and held in memory, looped by every guest.
//!
//! Each picture is one slice, as a phone's browser sends its small layer: Chromium's
//! OpenH264 at 320x240 and 150 kbit/s sent 271 packets for 240 pictures (its getStats,
//! `outbound-rtp`). x264's `tune=zerolatency` alone cuts every picture into one slice per
//! thread, each its own packet: twice the packets a phone sends for the same pictures,
//! which the unit's forwarding would pay for in the bench and not in a store. The voice is
//! mono at 32 kbit/s, as a browser sends a phone's microphone (Opus's own default, 64, is
//! twice what the unit's plan expects of a phone and would take the others' pictures'
//! room in the bench but not in a store).
//!
//! The picture also comes lowered (`video_low`: 15 frames a second, about 45 kbit/s), which
//! a guest sends while the unit asks for less than the small layer's usual rate
//! (`UnitMessage::SmallLayerRate`, a table too full for its uplink), as a page lowers its
//! small layer.

use bytes::Bytes;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// One frame (video) or packet (audio) and how long it lasts.
#[derive(Debug, Clone)]
pub struct Sample {
    pub data: Bytes,
    pub duration: Duration,
}

/// The guest's camera and microphone, already encoded.
#[derive(Debug)]
pub struct Clip {
    pub video: Vec<Sample>,
    /// The same picture at 15 frames a second and about 45 kbit/s.
    pub video_low: Vec<Sample>,
    pub audio: Vec<Sample>,
    /// As long as `audio`, silent: a guest who listens.
    pub silence: Vec<Sample>,
    /// `audio`'s level, -dBov, as a browser says it in each packet (RFC 6464).
    pub audio_level: u8,
}

const FRAME: Duration = Duration::from_nanos(33_333_333);
const LOW_FRAME: Duration = Duration::from_nanos(66_666_667);

impl Clip {
    /// Encode 5 s of 320x240@30 test pattern, a tone and silence into `dir`, and read them
    /// back.
    pub fn make(dir: &Path) -> Result<Clip, String> {
        let h264 = dir.join("guest.h264");
        let low = dir.join("guest-low.h264");
        let ogg = dir.join("guest.ogg");
        // A keyframe every second at either rate.
        for (file, frames, fps, kbps) in [(&h264, 150, 30, 300), (&low, 75, 15, 45)] {
            gst(&[
                "videotestsrc",
                &format!("num-buffers={frames}"),
                "pattern=ball",
                "!",
                &format!("video/x-raw,width=320,height=240,framerate={fps}/1"),
                "!",
                "x264enc",
                "tune=zerolatency",
                "speed-preset=ultrafast",
                &format!("key-int-max={fps}"),
                &format!("bitrate={kbps}"),
                "threads=1",
                "!",
                "video/x-h264,profile=constrained-baseline,stream-format=byte-stream,alignment=au",
                "!",
                "filesink",
                &format!("location={}", file.display()),
            ])?;
        }
        let quiet = dir.join("quiet.ogg");
        for (wave, file) in [("sine", &ogg), ("silence", &quiet)] {
            gst(&[
                "audiotestsrc",
                "num-buffers=250",
                "samplesperbuffer=960",
                "freq=440",
                &format!("wave={wave}"),
                "!",
                "audio/x-raw,rate=48000,channels=1",
                "!",
                "opusenc",
                "frame-size=20",
                "bitrate=32000",
                "!",
                "oggmux",
                "!",
                "filesink",
                &format!("location={}", file.display()),
            ])?;
        }
        Ok(Clip {
            video: read_h264(&h264, FRAME)?,
            video_low: read_h264(&low, LOW_FRAME)?,
            audio: read_opus(&ogg)?,
            silence: read_opus(&quiet)?,
            // audiotestsrc's sine at its volume of 0.8: -4.9 dBov RMS.
            audio_level: 5,
        })
    }

    /// The same camera, and a microphone that hears nothing: a guest who listens.
    pub fn listening(&self) -> Clip {
        Clip {
            video: self.video.clone(),
            video_low: self.video_low.clone(),
            audio: self.silence.clone(),
            silence: self.silence.clone(),
            audio_level: 127,
        }
    }
}

fn gst(args: &[&str]) -> Result<(), String> {
    let status = Command::new("gst-launch-1.0")
        .arg("-q")
        .args(args)
        .status()
        .map_err(|e| {
            format!("gst-launch-1.0: {e} (install gstreamer1.0-tools: cargo xtask setup)")
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "gst-launch-1.0 {} failed: {status}",
            args.join(" ")
        ))
    }
}

/// Access units of an Annex B file: a picture starts at a slice (NAL types 1 and 5) whose
/// `first_mb_in_slice` is 0 (its first bit set); parameter sets and SEI go with the picture
/// that follows them.
fn read_h264(path: &Path, frame: Duration) -> Result<Vec<Sample>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (mut out, mut pending, mut has_slice) = (Vec::new(), Vec::new(), false);
    let mut flush = |pending: &mut Vec<u8>| {
        out.push(Sample {
            data: Bytes::from(std::mem::take(pending)),
            duration: frame,
        })
    };
    for nal in nal_units(&bytes) {
        let slice = matches!(nal.first().map(|b| b & 0x1f), Some(1 | 5));
        let starts_picture = !slice || nal.get(1).is_some_and(|b| b & 0x80 != 0);
        if has_slice && starts_picture {
            flush(&mut pending);
            has_slice = false;
        }
        pending.extend_from_slice(&[0, 0, 0, 1]);
        pending.extend_from_slice(nal);
        has_slice |= slice;
    }
    if has_slice {
        flush(&mut pending);
    }
    if out.is_empty() {
        return Err(format!("no H.264 frames in {}", path.display()));
    }
    Ok(out)
}

/// The NAL units of an Annex B stream, start codes removed.
fn nal_units(b: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= b.len() {
        if b[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &s)| {
            let mut end = starts.get(k + 1).map_or(b.len(), |&n| n - 3);
            // A four-byte start code leaves a zero at the end of the previous unit.
            while end > s && b[end - 1] == 0 {
                end -= 1;
            }
            &b[s..end]
        })
        .collect()
}

/// Opus packets of an Ogg file (split by the pages' lacing values), headers skipped; each
/// lasts 20 ms (`opusenc frame-size=20`).
fn read_opus(path: &Path) -> Result<Vec<Sample>, String> {
    let b = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    let (mut at, mut packet) = (0usize, Vec::new());
    while at + 27 <= b.len() && &b[at..at + 4] == b"OggS" {
        let segments = usize::from(b[at + 26]);
        let table = b
            .get(at + 27..at + 27 + segments)
            .ok_or_else(|| format!("{}: a truncated Ogg page", path.display()))?;
        let mut body = at + 27 + segments;
        for &lace in table {
            let end = body + usize::from(lace);
            packet.extend_from_slice(
                b.get(body..end)
                    .ok_or_else(|| format!("{}: a truncated Ogg page", path.display()))?,
            );
            body = end;
            if lace < 255 {
                let p = std::mem::take(&mut packet);
                if !p.starts_with(b"OpusHead") && !p.starts_with(b"OpusTags") {
                    out.push(Sample {
                        data: Bytes::from(p),
                        duration: Duration::from_millis(20),
                    });
                }
            }
        }
        at = body;
    }
    if out.is_empty() {
        return Err(format!("no Opus packets in {}", path.display()));
    }
    Ok(out)
}
