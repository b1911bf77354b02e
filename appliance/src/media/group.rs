//! Everybody hears everybody: a mix of their own for each guest ("mix-minus").
//!
//! At a table the guests talk among themselves too (grandma in Lisbon hears the cousins in
//! Montréal), and in the fitting room friends say "the green one!" to each other. The unit
//! already decodes every guest's voice for the speaker ([`super::remote`]); here each guest
//! in the call also gets a mix of their own: the room's microphone (after the echo
//! canceller) and every *other* guest's voice, encoded to Opus for them alone. Nobody hears
//! themself, and each guest receives one audio stream whatever the size of the call.
//!
//! Why a mix per guest rather than forwarding each guest's Opus packets to the others: a
//! guest on a thin link receives one stream, not one per speaker; nothing is renegotiated
//! when someone joins or leaves (the guest's one audio track carries it all); the store's
//! uplink carries n voice streams rather than n×n; the cost is one Opus encode per guest
//! on the unit (`cargo xtask bench audio` measures both ways).
//!
//! How: every buffer of the processed microphone ([`MIC_TAP`], before the privacy valve) is
//! one tick of the mix, taken by a pad probe in the microphone's own thread. (It used to
//! leave through a tee for a queue and an appsink: that sink, added as the room started,
//! waited to preroll on its first buffer, the allocation query that followed stuck behind
//! it, and the room's pipeline never reached PLAYING: no sound in or out, in 6 of 32 starts
//! of the simulated room.) Each
//! guest's decoded voice waits in a short buffer of its own ([`VoiceBuffer`]). At each
//! tick the mixer takes as many samples from every voice as the microphone gave, sums them
//! all once, and makes each guest's mix as the microphone plus that sum minus their own
//! voice: exact, and one addition per voice whatever the size of the call (a mixer element
//! per guest, with an input per other guest, cost several times more CPU). Each mix goes to
//! its guest's own Opus encoder (a small pipeline: `appsrc` → Opus → `appsink`) and on to
//! the guest's broadcast of [`EncodedFrame`]s.
//!
//! While the room is muted (its privacy gate closed) the microphone is silence in every
//! mix: the guests' voices still flow. An [`OwnMix`] lives as long as the guest's audio
//! sender, a [`GroupVoice`] as long as the guest's voice decoder. Only connected guests of
//! the call have either: nothing of a waiting guest reaches anyone, and nothing reaches
//! them.

mod voice_buffer;

use super::gate::Gate;
use super::room::CAPS;
use super::{EncodedFrame, MediaError, audio, pipeline};
use crate::metrics::{Metrics, lock};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use visavis_api::signaling::GuestId;
pub use voice_buffer::VoiceBuffer;

/// The element whose buffers (the processed microphone, before the privacy valve) are the
/// mix's ticks.
const MIC_TAP: &str = audio::PROCESSED;

/// The name of a mix's `appsrc`, and of the thread that encodes it (`ownmix:src`).
pub(super) const MIX_IN: &str = "ownmix";

/// The name of `guest`'s encoder pipeline.
pub fn encoder_name(guest: &GuestId) -> String {
    format!("own-mix-{guest}")
}

/// One guest's mix: where its samples go to be encoded.
struct Mix {
    generation: u64,
    encoder: gst::Pipeline,
    src: gst_app::AppSrc,
}

impl Drop for Mix {
    fn drop(&mut self) {
        let _ = self.encoder.set_state(gst::State::Null);
    }
}

/// A guest's voice waiting to be mixed.
struct Voice {
    generation: u64,
    buffer: VoiceBuffer,
}

#[derive(Default)]
struct State {
    /// By the guest who listens to it.
    mixes: HashMap<GuestId, Mix>,
    /// By the guest who speaks.
    voices: HashMap<GuestId, Voice>,
    next_generation: u64,
}

impl State {
    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    /// One tick: `mic` (mono S16) and as many samples of every voice make every guest's
    /// mix, pushed to their encoders timed at `pts`.
    fn tick(&mut self, mic: &[i16], pts: Option<gst::ClockTime>) {
        if self.mixes.is_empty() {
            // Nobody listens: the voices' buffers keep only their latest.
            for voice in self.voices.values_mut() {
                voice.buffer.skip(mic.len());
            }
            return;
        }
        let n = mic.len();
        let mut all: Vec<i32> = mic.iter().map(|&s| i32::from(s)).collect();
        let mut own: HashMap<&GuestId, Vec<i32>> = HashMap::new();
        for (guest, voice) in self.voices.iter_mut() {
            let mut samples = vec![0i32; n];
            if voice.buffer.take_into(&mut samples) {
                for (a, s) in all.iter_mut().zip(&samples) {
                    *a += s;
                }
                own.insert(guest, samples);
            }
        }
        let duration = gst::ClockTime::from_nseconds(n as u64 * 1_000_000_000 / 48_000);
        for (listener, mix) in &self.mixes {
            let bytes: Vec<u8> = match own.get(listener) {
                Some(mine) => all
                    .iter()
                    .zip(mine)
                    .flat_map(|(a, m)| clamp(a - m).to_le_bytes())
                    .collect(),
                None => all.iter().flat_map(|a| clamp(*a).to_le_bytes()).collect(),
            };
            let mut buffer = gst::Buffer::from_mut_slice(bytes);
            if let Some(b) = buffer.get_mut() {
                b.set_pts(pts);
                b.set_duration(duration);
            }
            let _ = mix.src.push_buffer(buffer);
        }
    }
}

fn clamp(v: i32) -> i16 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

struct Inner {
    bitrate_bps: u32,
    metrics: Arc<Metrics>,
    state: Mutex<State>,
}

/// Every guest's own mix. Cheap to clone.
#[derive(Clone)]
pub struct GroupAudio {
    inner: Arc<Inner>,
}

impl GroupAudio {
    /// The guests' mixes, ticking with the processed microphone of the room's `pipeline`
    /// (see [`audio::description`]), each encoded at `bitrate_kbps`;
    /// the microphone is silence in them while `gate` is closed.
    pub fn new(
        pipeline: &gst::Pipeline,
        bitrate_kbps: u32,
        gate: Arc<Gate>,
        metrics: Arc<Metrics>,
    ) -> Result<GroupAudio, MediaError> {
        let err = |message: String| MediaError::Build {
            what: "room audio",
            description: String::new(),
            message,
        };
        let pad = pipeline
            .by_name(MIC_TAP)
            .and_then(|e| e.static_pad("src"))
            .ok_or_else(|| err(format!("no `{MIC_TAP}` to take the microphone from")))?;
        let group = GroupAudio {
            inner: Arc::new(Inner {
                bitrate_bps: bitrate_kbps.saturating_mul(1000),
                metrics,
                state: Mutex::new(State::default()),
            }),
        };
        let weak = Arc::downgrade(&group.inner);
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let (Some(inner), Some(buffer)) = (weak.upgrade(), info.buffer()) else {
                return gst::PadProbeReturn::Ok;
            };
            let Ok(map) = buffer.map_readable() else {
                return gst::PadProbeReturn::Ok;
            };
            let muted = gate.is_closed();
            let mic: Vec<i16> = map
                .chunks_exact(2)
                .map(|b| {
                    if muted {
                        0
                    } else {
                        i16::from_le_bytes([b[0], b[1]])
                    }
                })
                .collect();
            lock(&inner.state).tick(&mic, buffer.pts());
            gst::PadProbeReturn::Ok
        })
        .ok_or_else(|| err(format!("cannot watch `{MIC_TAP}`")))?;
        Ok(group)
    }

    /// How many guests have a mix of their own, and how many voices are being mixed.
    pub fn counts(&self) -> (usize, usize) {
        let state = lock(&self.inner.state);
        (state.mixes.len(), state.voices.len())
    }

    /// A mix of its own for `guest`: the room and every other guest's voice, now and as
    /// they come. It lasts as long as the returned [`OwnMix`]; a second one for the same
    /// guest replaces the first.
    pub fn listen(&self, guest: &GuestId) -> Result<OwnMix, MediaError> {
        let description = format!(
            "appsrc name={MIX_IN} format=time is-live=false block=false max-bytes=96000 \
             caps=\"{CAPS}\" ! audioconvert ! {} bitrate={} \
             ! appsink name=sink sync=false max-buffers=16 drop=false",
            audio::OPUS_ENCODE,
            self.inner.bitrate_bps
        );
        let (encoder, sink) = pipeline::build("guest's own mix", &description)?;
        encoder.set_property("name", encoder_name(guest));
        let src = encoder
            .by_name(MIX_IN)
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
            .ok_or_else(|| MediaError::Build {
                what: "guest's own mix",
                description: description.clone(),
                message: format!("no appsrc named `{MIX_IN}`"),
            })?;
        let (tx, frames) = broadcast::channel(64);
        // The room's privacy gate is not this stream's: the other guests' voices go on
        // while the room is muted (its microphone is silence in the mix).
        pipeline::publish(
            &sink,
            audio::CLOCK_RATE,
            tx,
            self.inner.metrics.clone(),
            |m| &m.own_mix_frames_encoded,
            Arc::new(Gate::default()),
        );
        encoder
            .set_state(gst::State::Playing)
            .map_err(|e| MediaError::Element {
                what: "guest's own mix",
                element: encoder.name().to_string(),
                message: format!("could not start: {e}"),
            })?;
        let (replaced, generation) = {
            let mut state = lock(&self.inner.state);
            let generation = state.generation();
            let mix = Mix {
                generation,
                encoder,
                src,
            };
            (state.mixes.insert(guest.clone(), mix), generation)
        };
        drop(replaced);
        self.note_counts();
        tracing::info!(guest = %guest, "the guest hears the room and the other guests in a mix of their own");
        Ok(OwnMix {
            group: self.clone(),
            guest: guest.clone(),
            generation,
            frames,
        })
    }

    /// `guest`'s voice joins every other guest's mix, until the returned [`GroupVoice`] is
    /// dropped. A second voice for the same guest replaces the first.
    pub fn voice(&self, guest: &GuestId) -> GroupVoice {
        let generation = {
            let mut state = lock(&self.inner.state);
            let generation = state.generation();
            state.voices.insert(
                guest.clone(),
                Voice {
                    generation,
                    buffer: VoiceBuffer::default(),
                },
            );
            generation
        };
        self.note_counts();
        GroupVoice {
            group: self.clone(),
            guest: guest.clone(),
            generation,
        }
    }

    fn note_counts(&self) {
        let (mixes, voices) = self.counts();
        self.inner.metrics.own_mixes.store(mixes as u64, Relaxed);
        self.inner
            .metrics
            .group_voices
            .store(voices as u64, Relaxed);
    }
}

/// A guest's own mix; their encoder stops when it is dropped.
pub struct OwnMix {
    group: GroupAudio,
    guest: GuestId,
    generation: u64,
    frames: broadcast::Receiver<Arc<EncodedFrame>>,
}

impl OwnMix {
    /// The mix's Opus packets, from now on.
    pub fn frames(&self) -> broadcast::Receiver<Arc<EncodedFrame>> {
        self.frames.resubscribe()
    }
}

impl Drop for OwnMix {
    fn drop(&mut self) {
        let mix = {
            let mut state = lock(&self.group.inner.state);
            match state.mixes.get(&self.guest) {
                Some(m) if m.generation == self.generation => state.mixes.remove(&self.guest),
                _ => None,
            }
        };
        if mix.is_some() {
            drop(mix);
            self.group.note_counts();
        }
    }
}

/// A guest's voice in the other guests' mixes; it leaves them all when dropped.
pub struct GroupVoice {
    group: GroupAudio,
    guest: GuestId,
    generation: u64,
}

impl GroupVoice {
    /// Decoded voice ([`CAPS`]), as it comes from the guest's decoder.
    pub fn push(&self, samples: &[u8]) {
        let mut state = lock(&self.group.inner.state);
        if let Some(voice) = state.voices.get_mut(&self.guest)
            && voice.generation == self.generation
            && voice.buffer.push(samples)
        {
            self.group
                .inner
                .metrics
                .group_voice_late_packets
                .fetch_add(1, Relaxed);
        }
    }
}

impl Drop for GroupVoice {
    fn drop(&mut self) {
        let gone = {
            let mut state = lock(&self.group.inner.state);
            match state.voices.get(&self.guest) {
                Some(v) if v.generation == self.generation => {
                    state.voices.remove(&self.guest).is_some()
                }
                _ => false,
            }
        };
        if gone {
            self.group.note_counts();
        }
    }
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
