//! The simulated room live, for `[audio] source = "simulated-room"`: the end-to-end echo
//! test runs a real applianced whose speaker's sound comes back into its microphone.
//!
//! The microphone is a device with a clock of its own: every 10 ms of the pipeline's
//! running time it hands over one frame, whatever the speaker did meanwhile, as a capture
//! device does. Each frame holds what the speaker played (a buffer with timestamp `t`
//! leaves it the pipeline's latency after `t`) the echo path's delays earlier, and noise.
//! The canceller thus gets the far end and the microphone at the steady pace real devices
//! keep, and the microphone never waits on the speaker. (It used to hand over a frame
//! whenever the test speaker did, at the pace the threads happened to run; the end-to-end
//! echo test then saw 19 to 27 dB. Clocked, 34 to 44 dB.)
//!
//! The speaker also says when it began to play sound after a quiet stretch
//! ([`SoundStarts`]), in wall-clock time, through the unit's metrics: the bench times a
//! guest's click to the room's ear with it (`bench mouth`).

use super::{EchoPath, FRAME, Lcg, MediaError, at, bytes, samples};
use crate::media::audio::MIC_FEED;
use crate::media::room::{RATE, RoomAudio};
use crate::media::sound_starts::{self, SoundStarts};
use crate::metrics::{Metrics, SoundAt, unix_us};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_app::prelude::*;
use std::sync::Arc;
use std::time::Duration;

/// The noise in the room, dBFS.
const NOISE_DBFS: f64 = -70.0;
/// How much of what the speaker played is kept (samples): the longest echo and then some.
const KEEP: usize = RATE as usize;

/// What the speaker played, by the running time it left at (sample index).
struct Played {
    /// Sample index of `samples[0]`.
    first: usize,
    samples: Vec<f64>,
}

impl Played {
    /// The speaker handed over `x`, to leave at sample index `from`.
    fn add(&mut self, from: usize, x: Vec<f64>) {
        if self.samples.is_empty() {
            self.first = from;
        }
        let end = self.first + self.samples.len();
        if from > end {
            self.samples.resize(self.samples.len() + (from - end), 0.0);
        }
        // A buffer that overlaps what is there (it should not) replaces nothing.
        let skip = end.saturating_sub(from);
        self.samples.extend(x.into_iter().skip(skip));
        if self.samples.len() > 2 * KEEP {
            let drop = self.samples.len() - KEEP;
            self.samples.drain(..drop);
            self.first += drop;
        }
    }

    /// The speaker's sound at fractional sample index `t` (silence before and after).
    fn at(&self, t: f64) -> f64 {
        at(&self.samples, t - self.first as f64)
    }
}

/// Sample index of running time `t`.
fn index(t: gst::ClockTime) -> usize {
    (u128::from(t.nseconds()) * u128::from(RATE) / 1_000_000_000) as usize
}

/// Start the room's echo: a thread that reads the test speaker and feeds the test
/// microphone one frame each 10 ms of running time, the speaker's sound through `path`
/// with noise at -70 dBFS. Nobody speaks at the table: what guests hear from the unit is
/// their own voices' echo, and what the processing leaves of it. When the speaker's sound
/// starts goes to `metrics`. The thread ends when the pipeline stops.
pub fn echo_live(
    audio: &RoomAudio,
    path: EchoPath,
    metrics: Arc<Metrics>,
) -> Result<(), MediaError> {
    let tap = audio.speaker_tap().ok_or_else(|| MediaError::Build {
        what: "simulated room",
        description: String::new(),
        message: "no speaker tap (the simulated room needs the test speaker)".into(),
    })?;
    // The tap is a base sink underneath: it knows the latency it was given.
    let sink = tap
        .clone()
        .upcast::<gst::Element>()
        .downcast::<gst_app::gst_base::BaseSink>()
        .ok();
    let pipeline = audio.pipeline().clone();
    let taps = path.taps();
    let noise_rms = 32768.0 * 10f64.powf(NOISE_DBFS / 20.0);
    std::thread::Builder::new()
        .name("simulated-room".into())
        .spawn(move || {
            let mut rng = Lcg(7);
            let mut played = Played {
                first: 0,
                samples: Vec::new(),
            };
            // The microphone's next frame (frame k holds samples k * FRAME onwards).
            let mut next: Option<usize> = None;
            let mut started = false;
            let mut starts = SoundStarts::default();
            loop {
                match pipeline.current_state() {
                    gst::State::Null if started => return,
                    gst::State::Null => {}
                    _ => started = true,
                }
                // The latency the pipeline gave its sinks (the speaker plays a buffer that
                // long after its running time).
                let latency = sink.as_ref().map_or(gst::ClockTime::ZERO, |s| s.latency());
                let mut sound = Vec::new();
                while let Some(sample) = tap.try_pull_sample(gst::ClockTime::ZERO) {
                    let (Some(buffer), Some(segment)) = (sample.buffer(), sample.segment()) else {
                        continue;
                    };
                    let running = segment
                        .downcast_ref::<gst::ClockTime>()
                        .and_then(|s| s.to_running_time(buffer.pts()));
                    if let Some(t) = running {
                        let (from, x) = (index(t + latency), samples(buffer));
                        sound.extend(starts.feed(from, x.iter().copied()));
                        played.add(from, x);
                    }
                }
                let Some(now) = pipeline.current_running_time() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                // Running time `now` is wall-clock `wall` (to the microsecond or so).
                let wall = unix_us() as i64;
                for at in sound {
                    let since = sound_starts::us_of_index(at) as i64 - now.useconds() as i64;
                    metrics.note_sound_start(SoundAt::Speaker, (wall + since).max(0) as u64);
                }
                let done = index(now) / FRAME;
                let k = next.get_or_insert(done);
                while *k < done {
                    let out: Vec<f64> = (*k * FRAME..(*k + 1) * FRAME)
                        .map(|m| {
                            taps.iter()
                                .map(|(d, g)| g * played.at(m as f64 - d))
                                .sum::<f64>()
                                + noise_rms * rng.normal()
                        })
                        .collect();
                    if let Some(feed) = pipeline
                        .by_name(MIC_FEED)
                        .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
                    {
                        let _ = feed.push_buffer(gst::Buffer::from_slice(bytes(out)));
                    }
                    *k += 1;
                }
                // Until the frame after this one is whole.
                let due = (*k as u64 + 1) * 10_000_000;
                let wait = due
                    .saturating_sub(now.nseconds())
                    .clamp(1_000_000, 10_000_000);
                std::thread::sleep(Duration::from_nanos(wait));
            }
        })
        .map_err(|e| MediaError::Build {
            what: "simulated room",
            description: String::new(),
            message: format!("cannot start its thread: {e}"),
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_speaker_played_is_found_by_when_it_left() {
        let mut p = Played {
            first: 0,
            samples: Vec::new(),
        };
        p.add(100, vec![1.0, 2.0]);
        // A gap is silence; the next buffer lands where it leaves.
        p.add(104, vec![5.0]);
        assert_eq!(p.at(99.0), 0.0);
        assert_eq!(p.at(100.0), 1.0);
        assert_eq!(p.at(101.0), 2.0);
        assert_eq!(p.at(102.0), 0.0);
        assert_eq!(p.at(104.0), 5.0);
        assert_eq!(p.at(105.0), 0.0);
        assert_eq!(index(gst::ClockTime::from_mseconds(10)), FRAME);
    }
}
