//! Everybody hears everybody: a mix of their own for each guest ("mix-minus").
//!
//! At a table the guests talk among themselves too (grandma in Lisbon hears the cousins in
//! Montréal), and in the fitting room friends say "the green one!" to each other. The unit
//! already decodes every guest's voice for the speaker ([`super::remote`]); here each guest
//! in the call also gets a mix of their own: the room's microphone (after the echo
//! canceller) and every *other* guest's voice, encoded to Opus for them alone. Nobody hears
//! themself, and each guest receives one audio stream whatever the size of the call.
//!
//! A guest whose page plays the others' voices itself gets the voices that talk forwarded
//! unmixed instead ([`crate::forward::voices`]: a mix adds a packet, an encoder's
//! look-ahead and a wait for its voices to the way from one guest to another), at most
//! three at once; their mix carries the rest. The whole mix is for a guest whose page
//! cannot hold every voice, a call of more guests than a page's voice slots: there a guest
//! on a thin link receives one stream, not one per speaker, for one Opus encode per
//! speaking guest on the unit.
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
//! an Opus encoder (libopus, mono, complexity 5 as the room's), called in the same
//! thread each 10 ms, and on to the guest's broadcast of [`EncodedFrame`]s. (A small
//! GStreamer pipeline per guest, `appsrc` → `opusenc` → `appsink`, took a thread and two
//! hand-offs a packet: eight of them took about twice the CPU of these eight encoders, by
//! `soak group`'s report.)
//!
//! Most of a table listens at any moment, and a guest whose own voice is quiet needs no mix
//! of their own: the whole call's sound is theirs too (their voice under -40 dBFS in it). So
//! each 10 ms packet is encoded once for every such guest alike, and a guest gets their own
//! encode only while they speak: from the first packet their voice reaches -40 dBFS in
//! (decided on that packet's own samples, so nobody hears the start of their own words),
//! until a second after it last did (pauses between words keep it). An encoder that did
//! not make that guest's previous packet first encodes the last 30 ms of what their mix
//! sounded like (and drops it), so that what it sends follows what the guest's decoder
//! heard: in the test of it here, the switched packet was off the sound by 98 (of about
//! 3,000; 85 steady) this way, 1,459 from a reset encoder and 2,460 from one left as it
//! last ran. With eight guests and one talking, the mixes take two encodes a packet
//! rather than eight.
//!
//! A guest whose page plays the others' voices unmixed ([`crate::forward::voices`],
//! forwarded while they talk: for less delay than a mix's) hears in their mix the call's
//! sound less the voices forwarded now (the room's microphone alone while every voice that
//! talks is forwarded), encoded once for all such guests.
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
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::broadcast;
use visavis_api::signaling::GuestId;
pub use voice_buffer::VoiceBuffer;

/// The element whose buffers (the processed microphone, before the privacy valve) are the
/// mix's ticks.
const MIC_TAP: &str = audio::PROCESSED;

/// A mix's Opus packets: 10 ms, half a browser's. A packet's length is delay on the way
/// from one guest to another (its first sample waits for its last): in `bench mouth` here
/// that way took 36-56 ms more than the way to the unit's speaker with 10 ms packets,
/// 51-63 ms with 20 ms ones; for twice the packets (about 20 kbit/s more of headers to
/// each guest).
const FRAME: usize = (audio::CLOCK_RATE / 100) as usize;
/// Room for the largest Opus packet (a 10 ms one is a few hundred bytes at most).
const MAX_PACKET: usize = 4000;
/// A guest whose voice reached [`voice_buffer::QUIET`] (about -40 dBFS) in a packet keeps
/// an encode of their own for this many packets after it (1 s), so that the pauses between
/// words do not switch their encoder back and forth.
const HANGOVER: u32 = audio::CLOCK_RATE / FRAME as u32;
/// An encoder taking over a guest's mix first encodes this many packets of what the mix
/// last sounded like (and drops them), so that its state follows what the guest's decoder
/// heard: in the test of it here, three packets (30 ms) left the switched packet off the
/// sound by 98 (of about 3,000; 85 steady), two by 274, one by 616.
const PRIME: usize = 3;
/// A mix's packets waiting for its sender, at most (1.28 s): past it the sender skips to
/// the newest.
const QUEUED: usize = 128;

/// A mono Opus encoder as the room's (complexity 5; see [`audio::OPUS_ENCODE`]) at
/// `bitrate_bps`, constrained VBR (libopus's default, as GStreamer's `opusenc`).
fn encoder(bitrate_bps: u32) -> Result<opus::Encoder, opus::Error> {
    let mut encoder = opus::Encoder::new(
        audio::CLOCK_RATE,
        opus::Channels::Mono,
        opus::Application::Audio,
    )?;
    encoder.set_complexity(audio::OPUS_COMPLEXITY)?;
    encoder.set_bitrate(opus::Bitrate::Bits(
        i32::try_from(bitrate_bps).unwrap_or(i32::MAX),
    ))?;
    Ok(encoder)
}

/// An Opus encoder of the mixes and its packet buffer, used by the microphone's thread
/// only, outside the state's lock (see [`State::tick`]).
type Encoder = Arc<Mutex<(opus::Encoder, Vec<u8>)>>;

/// One guest's mix.
struct Mix {
    generation: u64,
    /// Their encoder, used while their own voice is in the call's sound.
    encoder: Encoder,
    tx: broadcast::Sender<Arc<EncodedFrame>>,
    /// Packets left that their own encoder makes (see [`HANGOVER`]).
    speaking: u32,
    /// Their own encoder made their last packet (else the shared one did, or none yet).
    own_last: bool,
}

/// A guest's voice waiting to be mixed.
struct Voice {
    generation: u64,
    buffer: VoiceBuffer,
    /// This voice's share of the packet being gathered (as long as [`State::all`]).
    gathered: Vec<i32>,
}

/// One packet of the mixes to encode, out of the state's lock.
struct Job {
    encoder: Encoder,
    /// The last packets' sound ([`PRIME`]), to encode first (and drop) when the encoder
    /// did not make this guest's previous packet: its state then follows what they heard.
    prime: Option<Arc<Vec<i16>>>,
    samples: Vec<i16>,
    /// Whose packet it is: one guest for their own mix, every quiet guest for the shared one.
    to: Vec<broadcast::Sender<Arc<EncodedFrame>>>,
    /// The shared encode.
    shared: bool,
}

impl Job {
    /// Encode and send; packets sent to guests, or none when the encoder failed.
    fn run(self) -> usize {
        let mut guard = lock(&self.encoder);
        let (encoder, packet) = &mut *guard;
        if let Some(prime) = &self.prime {
            // Not what they heard before: start from the last packets' sound, not from
            // whenever this encoder last ran.
            let _ = encoder.reset_state();
            for frame in prime.chunks_exact(FRAME) {
                let _ = encoder.encode(frame, packet);
            }
        }
        match encoder.encode(&self.samples, packet) {
            Ok(n) => {
                let frame = Arc::new(EncodedFrame {
                    data: bytes::Bytes::copy_from_slice(&packet[..n]),
                    duration: rtp_duration(FRAME as u64, audio::CLOCK_RATE),
                    keyframe: true,
                    encoded_at: Instant::now(),
                });
                for tx in &self.to {
                    // No subscriber is fine: the guest's sender is not writing yet.
                    let _ = tx.send(frame.clone());
                }
                self.to.len()
            }
            Err(e) => {
                tracing::warn!("a guest's own mix could not be encoded: {e}");
                0
            }
        }
    }
}

struct State {
    /// By the guest who listens to it.
    mixes: HashMap<GuestId, Mix>,
    /// By the guest who speaks.
    voices: HashMap<GuestId, Voice>,
    next_generation: u64,
    /// The microphone and every voice, summed, for the packet being gathered.
    all: Vec<i32>,
    /// The last [`PRIME`] packets' sound (or fewer, at the start) for the guests whose own
    /// voice was quiet in them: copied out only for an encoder that takes over a mix.
    recent: Vec<i16>,
    /// The encoder of the mix every quiet guest hears alike...
    shared: Encoder,
    /// ...which made the last packet.
    shared_last: bool,
    /// The listeners whose page has a slot for every other guest's voice
    /// ([`crate::forward::voices`]): their mix is the call's sound less the voices
    /// forwarded now...
    forwarded: HashSet<GuestId>,
    /// ...which are these (the microphone alone, while every voice that talks is)...
    open: HashSet<GuestId>,
    /// ...encoded once for all of them...
    rest: Encoder,
    /// ...which made the last packet.
    rest_last: bool,
}

impl State {
    fn new(shared: Encoder, rest: Encoder) -> State {
        State {
            forwarded: HashSet::new(),
            open: HashSet::new(),
            rest,
            rest_last: false,
            mixes: HashMap::new(),
            voices: HashMap::new(),
            next_generation: 0,
            all: Vec::with_capacity(2 * FRAME),
            recent: Vec::with_capacity(PRIME * FRAME),
            shared,
            shared_last: false,
        }
    }

    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    /// One tick: `mic` (mono S16) and as many samples of every voice join the packet being
    /// gathered; each whole packet (10 ms) gives the jobs that encode it. The encoding is
    /// left to the caller, out of the state's lock: the voices' decoders (tokio's threads)
    /// take that lock for each packet, and eight encoders take a millisecond or more a
    /// packet on a Pi.
    fn tick(&mut self, mic: &[i16]) -> Vec<Job> {
        if self.mixes.is_empty() {
            // Nobody listens: the voices' buffers keep only their latest.
            for voice in self.voices.values_mut() {
                voice.buffer.skip(mic.len());
                voice.gathered.clear();
            }
            self.all.clear();
            self.recent.clear();
            self.shared_last = false;
            self.rest_last = false;
            return Vec::new();
        }
        let start = self.all.len();
        self.all.extend(mic.iter().map(|&s| i32::from(s)));
        for voice in self.voices.values_mut() {
            // A voice that joined mid-packet was silent before.
            voice.gathered.resize(self.all.len(), 0);
            if voice.buffer.take_into(&mut voice.gathered[start..]) {
                for (a, s) in self.all[start..].iter_mut().zip(&voice.gathered[start..]) {
                    *a += s;
                }
            }
        }
        let mut jobs = Vec::new();
        while self.all.len() >= FRAME {
            self.packet(&mut jobs);
        }
        jobs
    }

    /// The next packet of every mix. A guest whose own voice is in it (or was, within
    /// [`HANGOVER`]) gets the call's sound without their voice from an encoder of their
    /// own. Every other guest hears the same: the whole call's sound, encoded once for all
    /// of them (their own voice is quiet in it, under -40 dBFS). Most of a table listens
    /// at any moment, so most guests share that one encode. A guest who gets the others'
    /// voices forwarded hears the call's sound less the voices forwarded now (the rest),
    /// encoded once for all such guests, or without their own voice too where it speaks
    /// and is not forwarded (more voices talk than are forwarded at once).
    fn packet(&mut self, jobs: &mut Vec<Job>) {
        let all: Vec<i16> = self.all[..FRAME].iter().map(|&a| clamp(a)).collect();
        let rest: Option<Vec<i32>> =
            self.mixes
                .keys()
                .any(|l| self.forwarded.contains(l))
                .then(|| {
                    let mut rest = self.all[..FRAME].to_vec();
                    for (guest, voice) in &self.voices {
                        if self.open.contains(guest) {
                            for (r, v) in rest.iter_mut().zip(&voice.gathered[..FRAME]) {
                                *r -= v;
                            }
                        }
                    }
                    rest
                });
        let mut quiet = Vec::new();
        let mut rested = Vec::new();
        for (listener, mix) in self.mixes.iter_mut() {
            let forwarded = self.forwarded.contains(listener);
            let base: &[i32] = match (&rest, forwarded) {
                (Some(rest), true) => rest,
                _ => &self.all[..FRAME],
            };
            let mine = self.voices.get(listener).map(|v| &v.gathered[..FRAME]);
            let loud = mine.is_some_and(|mine| {
                mine.iter()
                    .any(|s| s.unsigned_abs() > u32::from(voice_buffer::QUIET))
            });
            mix.speaking = if loud {
                HANGOVER
            } else {
                mix.speaking.saturating_sub(1)
            };
            // A voice forwarded now is out of the rest already.
            let in_base = !(forwarded && self.open.contains(listener));
            let own = mine.filter(|_| mix.speaking > 0 && in_base);
            if let Some(mine) = own {
                jobs.push(Job {
                    encoder: mix.encoder.clone(),
                    prime: if mix.own_last {
                        None
                    } else {
                        prime(&self.recent)
                    },
                    samples: base.iter().zip(mine).map(|(a, m)| clamp(a - m)).collect(),
                    to: vec![mix.tx.clone()],
                    shared: false,
                });
            } else if forwarded {
                rested.push(mix.tx.clone());
            } else {
                quiet.push(mix.tx.clone());
            }
            mix.own_last = own.is_some();
        }
        let shared = !quiet.is_empty();
        let shared_prime = if self.shared_last {
            None
        } else {
            prime(&self.recent)
        };
        // What the guests moving to the rest's encode heard before: the whole call's sound.
        let rest_prime = if self.rest_last || rested.is_empty() {
            None
        } else {
            prime(&self.recent)
        };
        let older = self.recent.len().saturating_sub((PRIME - 1) * FRAME);
        self.recent.drain(..older);
        self.recent.extend_from_slice(&all);
        if shared {
            jobs.push(Job {
                encoder: self.shared.clone(),
                prime: shared_prime,
                samples: all,
                to: quiet,
                shared: true,
            });
        }
        self.shared_last = shared;
        let rest_on = !rested.is_empty();
        if let (true, Some(rest)) = (rest_on, rest) {
            jobs.push(Job {
                encoder: self.rest.clone(),
                prime: rest_prime,
                samples: rest.into_iter().map(clamp).collect(),
                to: rested,
                shared: true,
            });
        }
        self.rest_last = rest_on;
        self.all.drain(..FRAME);
        for voice in self.voices.values_mut() {
            voice.gathered.drain(..FRAME.min(voice.gathered.len()));
        }
    }
}

/// What an encoder taking over a mix first encodes: `recent`, unless nothing was heard yet.
fn prime(recent: &[i16]) -> Option<Arc<Vec<i16>>> {
    (!recent.is_empty()).then(|| Arc::new(recent.to_vec()))
}

fn encoder_error(bitrate_bps: u32, e: opus::Error) -> MediaError {
    MediaError::Build {
        what: "guests' own mixes",
        description: format!("libopus encoder, mono, 48 kHz, {bitrate_bps} bit/s"),
        message: e.to_string(),
    }
}

/// A sum of samples, saturated to 16 bits.
pub(crate) fn clamp(v: i32) -> i16 {
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
        let bitrate_bps = bitrate_kbps.saturating_mul(1000);
        let shared = encoder(bitrate_bps).map_err(|e| encoder_error(bitrate_bps, e))?;
        let rest = encoder(bitrate_bps).map_err(|e| encoder_error(bitrate_bps, e))?;
        let group = GroupAudio {
            inner: Arc::new(Inner {
                bitrate_bps,
                metrics,
                state: Mutex::new(State::new(
                    Arc::new(Mutex::new((shared, vec![0; MAX_PACKET]))),
                    Arc::new(Mutex::new((rest, vec![0; MAX_PACKET]))),
                )),
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
            let jobs = lock(&inner.state).tick(&mic);
            for job in jobs {
                let shared = job.shared;
                let sent = job.run() as u64;
                inner
                    .metrics
                    .own_mix_frames_encoded
                    .fetch_add(sent, Relaxed);
                if shared {
                    inner.metrics.own_mix_frames_shared.fetch_add(sent, Relaxed);
                }
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
        let (tx, frames) = broadcast::channel(QUEUED);
        let bitrate_bps = self.inner.bitrate_bps;
        let encoder = encoder(bitrate_bps).map_err(|e| encoder_error(bitrate_bps, e))?;
        let (replaced, generation) = {
            let mut state = lock(&self.inner.state);
            let generation = state.generation();
            let mix = Mix {
                generation,
                encoder: Arc::new(Mutex::new((encoder, vec![0; MAX_PACKET]))),
                tx,
                speaking: 0,
                own_last: false,
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

    /// `guest`'s page has a slot for every other guest's voice (`true`,
    /// [`crate::forward::voices`]): their mix carries the voices not forwarded now only;
    /// or it no longer has (`false`): their mix carries every other voice again.
    pub fn set_forwarded(&self, guest: &GuestId, forwarded: bool) {
        let mut state = lock(&self.inner.state);
        if forwarded {
            state.forwarded.insert(guest.clone());
        } else {
            state.forwarded.remove(guest);
        }
    }

    /// `guest`'s voice is forwarded to the others now (`true`: out of their mixes) or no
    /// longer (`false`: in them again).
    pub fn set_open(&self, guest: &GuestId, open: bool) {
        let mut state = lock(&self.inner.state);
        if open {
            state.open.insert(guest.clone());
        } else {
            state.open.remove(guest);
        }
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
                    gathered: Vec::with_capacity(2 * FRAME),
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

impl crate::forward::voices::Mixes for GroupAudio {
    fn forwarded(&self, listener: &GuestId, on: bool) {
        self.set_forwarded(listener, on);
    }

    fn open(&self, voice: &GuestId, on: bool) {
        self.set_open(voice, on);
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
