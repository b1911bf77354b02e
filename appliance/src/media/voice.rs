//! A guest's voice, decoded where its packets arrive: Opus straight through libopus, with
//! no pipeline, thread or queue of its own; and where every decoded voice goes ([`Heard`]).
//!
//! Every guest's voice is decoded for the speaker and for the other guests' own mixes. As a
//! small GStreamer pipeline each (`appsrc` → `rtpjitterbuffer` → `opusdec` → conversions →
//! `appsink`, two threads and three hand-offs a packet) the eight voices of a full table
//! took more of the unit's CPU than their eight pictures' decoders (`soak group`'s report by
//! thread). Here a packet is decoded in the task that received it, into the same places.
//!
//! Packets come as the network delivers them: in order almost always, sometimes with a gap
//! (lost), rarely late or twice. A gap of a few packets is filled as the decoder's loss
//! concealment makes it, the last missing packet from the in-band redundancy of the one
//! after it (what a browser's Opus carries where its link loses packets); a packet that
//! comes after its place was filled, or twice, is dropped; a jump further than
//! [`MAX_GAP`] (the guest's stream started again) is taken as a new start, with nothing
//! made up. The short cushion of each mix ([`super::group::VoiceBuffer`]) and the room's
//! mixer absorb the packets' jitter, as the jitter buffer did.

use super::group::GroupVoice;
use super::room::{LiveVoice, RATE};
use super::sound_starts::{self, SoundStarts};
use crate::metrics::{Metrics, SoundAt, unix_us};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use visavis_api::local::VoicePackets;
use visavis_api::signaling::GuestId;

/// The longest Opus packet: 120 ms, at the room's rate (every voice is decoded at it).
const MAX_FRAME: usize = RATE as usize * 120 / 1000;
/// A browser's Opus packet: 20 ms, the length taken for a lost packet before any came.
const USUAL_FRAME: usize = RATE as usize / 50;
/// The most packets made up for a gap (100 ms of 20 ms packets); a longer jump is a new
/// start of the stream.
pub const MAX_GAP: u16 = 5;
/// How far back a packet may come and still be taken as late (dropped) rather than as a
/// new start of the stream.
const MAX_LATE: u16 = 100;

/// Where a guest's decoded voice goes: the speaking indicator, the room's mix (the
/// speaker), the other guests' own mixes, and the measure of where its sounds start.
pub struct Heard {
    guest_id: GuestId,
    events: mpsc::UnboundedSender<super::remote::GuestMediaEvent>,
    last_report: Option<Instant>,
    starts: SoundStarts,
    metrics: Arc<Metrics>,
    room: LiveVoice,
    others: Option<GroupVoice>,
}

impl Heard {
    pub fn new(
        guest_id: GuestId,
        events: mpsc::UnboundedSender<super::remote::GuestMediaEvent>,
        metrics: Arc<Metrics>,
        room: LiveVoice,
        others: Option<GroupVoice>,
    ) -> Heard {
        Heard {
            guest_id,
            events,
            last_report: None,
            starts: SoundStarts::default(),
            metrics,
            room,
            others,
        }
    }

    /// A stretch of decoded voice (mono S16LE at 48 kHz), just decoded.
    pub fn samples(&mut self, bytes: &[u8]) {
        if super::remote::rms_dbfs(bytes) > super::remote::SPEAKING_DBFS {
            let now = Instant::now();
            if super::remote::due(self.last_report, now) {
                self.last_report = Some(now);
                let _ = self
                    .events
                    .send(super::remote::GuestMediaEvent::VoiceHeard {
                        guest_id: self.guest_id.clone(),
                    });
            }
        }
        let values = bytes
            .chunks_exact(2)
            .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])));
        for at in self
            .starts
            .feed(sound_starts::index_of_us(unix_us()), values)
        {
            let us = sound_starts::us_of_index(at);
            self.metrics.note_sound_start(SoundAt::Voice, us);
        }
        if self.room.push(bytes) {
            self.metrics
                .speaker_voice_late_packets
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if let Some(others) = &self.others {
            others.push(bytes);
        }
    }
}

/// What a packet is, from its sequence number and the one expected next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// In its place, after `lost` packets that never came (0: none).
    Next { lost: u16 },
    /// Its place was already filled (late, or twice): dropped.
    Late,
    /// The first packet, or a jump too far either way: the stream starts again here.
    Start,
}

impl Arrival {
    /// `seq` arriving when `expected` was due (`None`: nothing came yet).
    pub fn of(expected: Option<u16>, seq: u16) -> Arrival {
        let Some(expected) = expected else {
            return Arrival::Start;
        };
        let ahead = seq.wrapping_sub(expected);
        let behind = expected.wrapping_sub(seq);
        if ahead <= MAX_GAP {
            Arrival::Next { lost: ahead }
        } else if behind <= MAX_LATE {
            Arrival::Late
        } else {
            Arrival::Start
        }
    }
}

/// A guest's Opus voice, decoded packet by packet into its [`Heard`].
pub struct OpusVoice<S: FnMut(&[u8]) = Box<dyn FnMut(&[u8]) + Send>> {
    decoder: opus::Decoder,
    expected: Option<u16>,
    /// The length of the last packet decoded, in samples (a lost one is taken as long).
    frame: usize,
    pcm: Vec<i16>,
    bytes: Vec<u8>,
    counts: VoicePackets,
    sink: S,
}

impl<S: FnMut(&[u8])> OpusVoice<S> {
    /// A mono decoder at 48 kHz (a stereo packet is mixed down by libopus) whose voice
    /// goes to `sink`.
    pub fn new(sink: S) -> Result<OpusVoice<S>, opus::Error> {
        Ok(OpusVoice {
            decoder: opus::Decoder::new(RATE, opus::Channels::Mono)?,
            expected: None,
            frame: USUAL_FRAME,
            pcm: vec![0; MAX_FRAME],
            bytes: Vec::with_capacity(MAX_FRAME * 2),
            counts: VoicePackets::default(),
            sink,
        })
    }

    /// What became of the packets given to it so far, for its tests and the metrics.
    pub fn counts(&self) -> VoicePackets {
        self.counts
    }

    /// One RTP packet's sequence number and Opus payload.
    pub fn packet(&mut self, seq: u16, payload: &[u8]) {
        let lost = match Arrival::of(self.expected, seq) {
            Arrival::Late => {
                self.counts.late += 1;
                return;
            }
            Arrival::Start => 0,
            Arrival::Next { lost } => lost,
        };
        self.expected = Some(seq.wrapping_add(1));
        if payload.is_empty() {
            return;
        }
        // All but the last missing packet from the decoder's concealment; the last from
        // this packet's redundancy (concealment too where it carries none).
        for i in 0..lost {
            let fec = i + 1 == lost;
            let frame = self.frame.min(MAX_FRAME);
            let input: &[u8] = if fec { payload } else { &[] };
            if let Ok(n) = self.decoder.decode(input, &mut self.pcm[..frame], fec) {
                self.counts.concealed += 1;
                self.emit(n);
            }
        }
        match self.decoder.decode(payload, &mut self.pcm, false) {
            Ok(n) => {
                self.counts.decoded += 1;
                self.frame = n;
                self.emit(n);
            }
            Err(_) => self.counts.bad += 1,
        }
    }

    fn emit(&mut self, n: usize) {
        self.bytes.clear();
        self.bytes.extend(
            self.pcm[..n.min(self.pcm.len())]
                .iter()
                .flat_map(|s| s.to_le_bytes()),
        );
        (self.sink)(&self.bytes);
    }
}

#[cfg(test)]
#[path = "voice_tests.rs"]
mod tests;
