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
//! its guest's own Opus encoder (libopus, mono, complexity 5 as the room's), called in the
//! same thread each 20 ms, and on to the guest's broadcast of [`EncodedFrame`]s. (A small
//! GStreamer pipeline per guest, `appsrc` → `opusenc` → `appsink`, took a thread and two
//! hand-offs a packet: eight of them took about twice the CPU of these eight encoders, by
//! `soak group`'s report.)
//!
//! While the room is muted (its privacy gate closed) the microphone is silence in every
//! mix: the guests' voices still flow. An [`OwnMix`] lives as long as the guest's audio
//! sender, a [`GroupVoice`] as long as the guest's voice decoder. Only connected guests of
//! the call have either: nothing of a waiting guest reaches anyone, and nothing reaches
//! them.

mod voice_buffer;

use super::frame::rtp_duration;
use super::gate::Gate;
use super::{EncodedFrame, MediaError, audio};
use crate::metrics::{Metrics, lock};
use gstreamer as gst;
use gstreamer::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::broadcast;
use visavis_api::signaling::GuestId;
pub use voice_buffer::VoiceBuffer;

/// The element whose buffers (the processed microphone, before the privacy valve) are the
/// mix's ticks.
const MIC_TAP: &str = audio::PROCESSED;

/// A mix's Opus packets: 20 ms, as a browser's.
const FRAME: usize = (audio::CLOCK_RATE / 50) as usize;
/// Room for the largest Opus packet (a 20 ms one is a few hundred bytes).
const MAX_PACKET: usize = 4000;

/// One guest's mix: its own Opus encoder, fed at each tick.
struct Mix {
    generation: u64,
    /// Used by the microphone's thread only, outside the state's lock (see [`State::tick`]).
    encoder: Arc<Mutex<MixEncoder>>,
}

/// A mix's Opus encoder, and where its packets go.
struct MixEncoder {
    encoder: opus::Encoder,
    /// Mixed samples not yet a whole packet.
    pending: Vec<i16>,
    packet: Vec<u8>,
    tx: broadcast::Sender<Arc<EncodedFrame>>,
}

impl MixEncoder {
    /// A mono encoder as the room's (complexity 5; see [`audio::OPUS_ENCODE`]) at
    /// `bitrate_bps`, constrained VBR (libopus's default, as GStreamer's `opusenc`).
    fn new(
        bitrate_bps: u32,
        tx: broadcast::Sender<Arc<EncodedFrame>>,
    ) -> Result<MixEncoder, opus::Error> {
        let mut encoder = opus::Encoder::new(
            audio::CLOCK_RATE,
            opus::Channels::Mono,
            opus::Application::Audio,
        )?;
        encoder.set_complexity(audio::OPUS_COMPLEXITY)?;
        encoder.set_bitrate(opus::Bitrate::Bits(
            i32::try_from(bitrate_bps).unwrap_or(i32::MAX),
        ))?;
        Ok(MixEncoder {
            encoder,
            pending: Vec::with_capacity(2 * FRAME),
            packet: vec![0; MAX_PACKET],
            tx,
        })
    }

    /// `samples` of the mix: encoded and sent on each whole packet.
    fn push(&mut self, samples: &[i16], metrics: &Metrics) {
        self.pending.extend_from_slice(samples);
        let mut start = 0;
        while self.pending.len() - start >= FRAME {
            let frame = &self.pending[start..start + FRAME];
            start += FRAME;
            match self.encoder.encode(frame, &mut self.packet) {
                Ok(n) => {
                    metrics.own_mix_frames_encoded.fetch_add(1, Relaxed);
                    // No subscriber is fine: the guest's sender is not writing yet.
                    let _ = self.tx.send(Arc::new(EncodedFrame {
                        data: bytes::Bytes::copy_from_slice(&self.packet[..n]),
                        duration: rtp_duration(FRAME as u64, audio::CLOCK_RATE),
                        keyframe: true,
                        encoded_at: Instant::now(),
                    }));
                }
                Err(e) => tracing::warn!("a guest's own mix could not be encoded: {e}"),
            }
        }
        self.pending.drain(..start);
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
    /// mix, returned with the encoder it goes to. The encoding is left to the caller, out
    /// of the state's lock: the voices' decoders (tokio's threads) take that lock for each
    /// packet, and eight encoders take a millisecond or more a packet on a Pi.
    fn tick(&mut self, mic: &[i16]) -> Vec<(Arc<Mutex<MixEncoder>>, Vec<i16>)> {
        if self.mixes.is_empty() {
            // Nobody listens: the voices' buffers keep only their latest.
            for voice in self.voices.values_mut() {
                voice.buffer.skip(mic.len());
            }
            return Vec::new();
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
        self.mixes
            .iter()
            .map(|(listener, mix)| {
                let samples = match own.get(listener) {
                    Some(mine) => all.iter().zip(mine).map(|(a, m)| clamp(a - m)).collect(),
                    None => all.iter().map(|a| clamp(*a)).collect(),
                };
                (mix.encoder.clone(), samples)
            })
            .collect()
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
            let mixes = lock(&inner.state).tick(&mic);
            for (encoder, samples) in mixes {
                lock(&encoder).push(&samples, &inner.metrics);
            }
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
        let (tx, frames) = broadcast::channel(64);
        let encoder =
            MixEncoder::new(self.inner.bitrate_bps, tx).map_err(|e| MediaError::Build {
                what: "guest's own mix",
                description: format!(
                    "libopus encoder, mono, 48 kHz, {} bit/s",
                    self.inner.bitrate_bps
                ),
                message: e.to_string(),
            })?;
        let (replaced, generation) = {
            let mut state = lock(&self.inner.state);
            let generation = state.generation();
            let mix = Mix {
                generation,
                encoder: Arc::new(Mutex::new(encoder)),
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
