//! Everybody hears everybody, sooner: each guest's Opus packets forwarded unmixed to the
//! others while they talk.
//!
//! A mix on the unit ([`crate::media::group`]) waits for its voices' packets, adds a packet
//! and an encoder's look-ahead, and then the listening page's jitter buffer: the way from
//! one guest to another took 36–56 ms more than the way to the unit's speaker in `bench
//! mouth`, where the aim allows about 26. Forwarded, a voice meets only the listening
//! page's jitter buffer on the unit's side of the way.
//!
//! A guest's page offers [`VOICE_SLOTS`] receive-only audio transceivers after its picture
//! slots; the unit answers each with an Opus track of its own SSRC. Where a listener's
//! slots can hold every other guest's voice, each other guest keeps one slot for the call
//! (a newcomer takes the lowest free one), and the listener's mix from the unit leaves out
//! the voices forwarded now ([`Mixes`]): nobody is heard twice. Where they cannot (more
//! guests than slots, or a page without slots), the listener hears every voice in their mix
//! as before.
//!
//! A voice is forwarded only while it is heard: the page's packets carry their level
//! (RFC 6464, `ssrc-audio-level`, negotiated when the page offers it), and a voice at
//! [`LOUD_DBOV`] or louder opens its gate for [`HANGOVER`] after (the pauses between words
//! keep it). So a table of eight with one talker sends seven voice streams, not 56. At most
//! [`MAX_OPEN`] gates are open at once: a voice that starts beyond them stays in the mixes,
//! which leave out only the voices forwarded now ([`Mixes`]), until one of them closes and
//! it starts a word after a [`PAUSE`] (moved mid-word, the part of the word the mixes had not
//! played yet would be lost). A page that sends no levels
//! is always forwarded (within that limit). While a gate is closed its slots send nothing,
//! and the next packet continues each slot's numbering with the time that passed, as a
//! browser's own silence suppression would.
//!
//! Only guests in the call have a peer connection, so only they publish and listen:
//! nothing of a waiting guest reaches anyone, and nothing reaches them.

use super::rewrite::{SlotStream, Source};
use super::{Full, SlotWriter};
use crate::congestion::rate::RollingRate;
use crate::metrics::{Metrics, lock};
use rtc::rtp;
use rtc::shared::marshal::MarshalSize;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use visavis_api::signaling::GuestId;

pub use visavis_api::datachannel::VOICE_SLOTS;

/// The RTP header extension that carries each packet's audio level (RFC 6464).
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// A voice this loud or louder (its level, -dBov) opens its gate: speech at a phone's
/// microphone is -20 to -40 dBov after the browser's processing, its silence under -70.
pub const LOUD_DBOV: u8 = 55;

/// How long a voice's gate stays open after its last loud packet.
pub const HANGOVER: Duration = Duration::from_secs(1);

/// What one forwarded voice sends, bits per second, headers included (a browser's Opus,
/// about 32 kbit/s in 50 packets a second; Chromium's voice came to about 51 kbit/s on
/// the wire in `tests/tests/group_audio.rs`, which checks that it fits).
pub const VOICE_BPS: u64 = 60_000;

/// What a forwarded packet adds on the wire to its RTP header and payload: SRTP's
/// authentication tag, and the UDP and IP headers.
pub const PACKET_OVERHEAD: u64 = 10 + crate::congestion::wire::UDP_IP_HEADER;

/// The forwarded voices' rate is measured over at least this long.
pub const MEASURE_OVER: Duration = Duration::from_secs(1);

/// The most the voices sent stays in the uplink's plan this long after
/// ([`Voices::planned_bps`]): the pictures' share does not change with every word.
pub const RESERVE_HOLD: Duration = Duration::from_secs(10);

/// At most this many voices are forwarded at once, the first to talk: a voice that starts
/// while as many others talk is heard in the mixes until one of them stops. A table
/// follows two or three voices at a time; eight voices forwarded to seven guests each
/// would be 56 streams of the store's uplink (a room of phones in noisy places keeps them
/// all open).
pub const MAX_OPEN: usize = 3;

/// What forwarded voices take of the uplink at most with `guests` in the call, bits per
/// second: [`MAX_OPEN`] voices, each to every other guest.
pub fn reserve_bps(guests: u64) -> u64 {
    guests.min(MAX_OPEN as u64) * guests.saturating_sub(1) * VOICE_BPS
}

/// A voice the cap kept in the mixes moves to its slots only on a word after a pause this
/// long, never mid-word: the mixes hold up to 70 ms of a voice not yet mixed (its cushion
/// and a tick, [`crate::media::group`]), which a move drops; after a pause that is
/// silence. (A voice opening its gate from silence, as most do, meets no such wait.)
pub const PAUSE: Duration = Duration::from_millis(100);

/// What the mixes ([`crate::media::group`]) hear of the forwarding; called with the
/// forwarder's lock held.
pub trait Mixes: Send + Sync {
    /// `listener` has a slot for every other guest's voice (`true`): their mix leaves out
    /// the voices forwarded now; or not (`false`): it carries every other voice.
    fn forwarded(&self, listener: &GuestId, on: bool);
    /// `voice` is forwarded now (`true`): out of those mixes; or no longer (`false`).
    fn open(&self, voice: &GuestId, on: bool);
}

/// One of a listener's voice slots: its track's SSRC and the payload type their browser
/// agreed for Opus.
pub struct VoiceSlotOut {
    pub ssrc: u32,
    pub payload_type: u8,
}

struct Publisher {
    source: Source,
    /// The id of the audio level extension on their connection (none: no levels).
    level_id: Option<u8>,
    /// Until when their gate is open.
    open_until: Option<Instant>,
    /// Their last loud packet's arrival (see [`PAUSE`]).
    loud_at: Option<Instant>,
    /// Whether the mixes were last told their voice is forwarded.
    told_open: bool,
}

struct Slot {
    stream: SlotStream,
    payload_type: u8,
    guest: Option<GuestId>,
}

struct Listener {
    slots: Vec<Slot>,
    packets: Box<dyn SlotWriter>,
    forwarded: bool,
}

struct Inner {
    publishers: BTreeMap<GuestId, Publisher>,
    listeners: BTreeMap<GuestId, Listener>,
    /// The audio level extension's id on each guest's connection, from their offer.
    level_ids: BTreeMap<GuestId, u8>,
    publications: u64,
    /// The most the voices sent lately, and since when ([`RESERVE_HOLD`]).
    reserve: Option<(u64, Instant)>,
    /// What was forwarded so far (bytes on the wire), as read when planning, over
    /// [`MEASURE_OVER`].
    sent: RollingRate,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            publishers: BTreeMap::new(),
            listeners: BTreeMap::new(),
            level_ids: BTreeMap::new(),
            publications: 0,
            reserve: None,
            sent: RollingRate::new(MEASURE_OVER),
        }
    }
}

/// See the module docs. Cheap to clone.
#[derive(Clone)]
pub struct Voices {
    inner: Arc<Mutex<Inner>>,
    metrics: Arc<Metrics>,
    mixes: Arc<dyn Mixes>,
}

impl Voices {
    /// Nobody forwarded yet; `mixes` hears what of the voices to leave out.
    pub fn new(metrics: Arc<Metrics>, mixes: Arc<dyn Mixes>) -> Self {
        Voices {
            inner: Arc::default(),
            metrics,
            mixes,
        }
    }

    /// `guest`'s packets carry their level in header extension `id` (from their offer).
    pub fn level_id(&self, guest: &GuestId, id: u8) {
        lock(&self.inner).level_ids.insert(guest.clone(), id);
    }

    /// `guest` sends their voice; packets go through the returned [`VoicePublication`],
    /// which unpublishes when dropped.
    pub fn publish(&self, guest: &GuestId) -> VoicePublication {
        let mut inner = lock(&self.inner);
        inner.publications += 1;
        let source = Source {
            guest: guest.clone(),
            stream: inner.publications,
        };
        let level_id = inner.level_ids.get(guest).copied();
        let replaced_open = inner.publishers.get(guest).is_some_and(|p| p.told_open);
        inner.publishers.insert(
            guest.clone(),
            Publisher {
                source: source.clone(),
                level_id,
                open_until: None,
                loud_at: None,
                told_open: false,
            },
        );
        if replaced_open {
            self.mixes.open(guest, false);
        }
        self.assign(&mut inner);
        VoicePublication {
            voices: self.clone(),
            source,
        }
    }

    /// `guest` can play others' voices in `slots`, written to `packets`.
    pub fn listen(
        &self,
        guest: &GuestId,
        slots: Vec<VoiceSlotOut>,
        packets: impl SlotWriter + 'static,
    ) {
        let mut inner = lock(&self.inner);
        let slots = slots
            .into_iter()
            .map(|s| Slot {
                stream: SlotStream::new(s.ssrc, 48_000),
                payload_type: s.payload_type,
                guest: None,
            })
            .collect();
        inner.listeners.insert(
            guest.clone(),
            Listener {
                slots,
                packets: Box::new(packets),
                forwarded: false,
            },
        );
        self.assign(&mut inner);
    }

    /// `guest` left: their voice goes from every slot, and they hear nothing more here.
    pub fn leave(&self, guest: &GuestId) {
        let mut inner = lock(&self.inner);
        if inner.publishers.remove(guest).is_some_and(|p| p.told_open) {
            self.mixes.open(guest, false);
        }
        inner.level_ids.remove(guest);
        if inner.listeners.remove(guest).is_some_and(|l| l.forwarded) {
            // Should they come back on another connection, their mix starts whole.
            self.mixes.forwarded(guest, false);
        }
        self.assign(&mut inner);
    }

    /// What the forwarded voices take of the store's uplink, bits per second, headers
    /// included: [`VOICE_BPS`] for each slot carrying a voice whose gate is open, or what
    /// they were measured at over the last second where that is more (a browser, or a
    /// client, sending its Opus at a higher rate than a phone's voice takes), or the most
    /// that was in the last [`RESERVE_HOLD`], whichever is more.
    pub fn planned_bps(&self) -> u64 {
        self.planned_bps_at(Instant::now())
    }

    fn planned_bps_at(&self, now: Instant) -> u64 {
        let mut inner = lock(&self.inner);
        let open: u64 = inner
            .publishers
            .values()
            .filter(|p| p.open_until.is_some_and(|until| now < until))
            .map(|p| {
                inner
                    .listeners
                    .values()
                    .flat_map(|l| &l.slots)
                    .filter(|s| s.stream.source() == Some(&p.source))
                    .count() as u64
            })
            .sum();
        let m = &self.metrics;
        let total = m.forwarded_voice_bytes.load(Relaxed)
            + m.forwarded_voice_packets.load(Relaxed) * PACKET_OVERHEAD;
        let bps = (open * VOICE_BPS).max(inner.sent.record(total, now).unwrap_or(0));
        match inner.reserve {
            Some((held, since)) if held > bps && now.duration_since(since) < RESERVE_HOLD => held,
            _ => {
                inner.reserve = Some((bps, now));
                bps
            }
        }
    }

    /// Whose voice each of `listener`'s slots carries (tests and the staff report).
    pub fn heard(&self, listener: &GuestId) -> Vec<Option<GuestId>> {
        lock(&self.inner)
            .listeners
            .get(listener)
            .map(|l| l.slots.iter().map(|s| s.guest.clone()).collect())
            .unwrap_or_default()
    }

    /// Give each listener's slots to the other publishers, where they all fit: a publisher
    /// keeps their slot, a newcomer takes the lowest free one.
    fn assign(&self, inner: &mut Inner) {
        let Inner {
            publishers,
            listeners,
            ..
        } = inner;
        for (listener, l) in listeners.iter_mut() {
            let others: Vec<&GuestId> = publishers.keys().filter(|p| *p != listener).collect();
            let fits = others.len() <= l.slots.len();
            for slot in &mut l.slots {
                let keep = fits && slot.guest.as_ref().is_some_and(|g| others.contains(&g));
                if !keep && slot.guest.take().is_some() {
                    slot.stream.show(None);
                }
                // Their voice as they send it now (a new stream of theirs continues the slot).
                if let Some(g) = &slot.guest {
                    slot.stream.show(Some(publishers[g].source.clone()));
                }
            }
            if fits {
                for other in others {
                    if l.slots.iter().any(|s| s.guest.as_ref() == Some(other)) {
                        continue;
                    }
                    if let Some(slot) = l.slots.iter_mut().find(|s| s.guest.is_none()) {
                        slot.guest = Some(other.clone());
                        slot.stream.show(Some(publishers[other].source.clone()));
                    }
                }
            }
            if l.forwarded != fits {
                l.forwarded = fits;
                self.mixes.forwarded(listener, fits);
            }
        }
    }
}

/// Whether a packet of `level_id`'s stream is loud ([`LOUD_DBOV`] or louder); a packet
/// without a level counts as loud (the page sends none, or this one lost it).
fn loud(header: &rtp::header::Header, level_id: Option<u8>) -> bool {
    let Some(id) = level_id else {
        return true;
    };
    match header.get_extension(id).and_then(|l| l.first().copied()) {
        Some(level) => level & 0x7f <= LOUD_DBOV,
        None => true,
    }
}

/// A guest's voice being forwarded to the others; dropped: it goes from their slots.
pub struct VoicePublication {
    voices: Voices,
    source: Source,
}

impl VoicePublication {
    /// One RTP packet of the voice: renumbered into every slot that carries it, while its
    /// gate is open.
    pub fn packet(&self, packet: &rtp::Packet) {
        self.packet_at(packet, Instant::now());
    }

    /// [`VoicePublication::packet`], come at `now`.
    fn packet_at(&self, packet: &rtp::Packet, now: Instant) {
        let mut inner = lock(&self.voices.inner);
        let Inner {
            publishers,
            listeners,
            ..
        } = &mut *inner;
        let open_now = |p: &Publisher| p.open_until.is_some_and(|until| now < until);
        let Some(p) = publishers.get(&self.source.guest) else {
            return;
        };
        if p.source != self.source {
            return;
        }
        let loud = loud(&packet.header, p.level_id);
        // A closed gate opens on a word's start (a voice without levels has no pauses to
        // wait for), if fewer than MAX_OPEN are open; others' gates are counted only then,
        // not for each packet.
        let opens = loud
            && (open_now(p)
                || ((p.level_id.is_none() || p.loud_at.is_none_or(|t| now >= t + PAUSE))
                    && publishers.values().filter(|q| open_now(q)).count() < MAX_OPEN));
        let Some(p) = publishers.get_mut(&self.source.guest) else {
            return;
        };
        if loud {
            p.loud_at = Some(now);
        }
        if opens {
            p.open_until = Some(now + HANGOVER);
        }
        let open = open_now(p);
        if open != p.told_open {
            p.told_open = open;
            self.voices.mixes.open(&self.source.guest, open);
        }
        let (mut sent, mut bytes) = (0, 0);
        for l in listeners.values_mut() {
            for (index, slot) in l.slots.iter_mut().enumerate() {
                if slot.stream.source() != Some(&self.source) {
                    continue;
                }
                if !open {
                    slot.stream.pause();
                    continue;
                }
                let mut out = packet.clone();
                if !slot
                    .stream
                    .rewrite(&self.source, &mut out.header, true, now)
                {
                    continue;
                }
                out.header.payload_type = slot.payload_type;
                out.header.padding = false;
                let size = out.header.marshal_size() + out.payload.len();
                match l.packets.write(index, out) {
                    Ok(()) => {
                        sent += 1;
                        bytes += size as u64;
                    }
                    Err(Full) => slot.stream.lost(),
                }
            }
        }
        let metrics = &self.voices.metrics;
        metrics.forwarded_voice_packets.fetch_add(sent, Relaxed);
        metrics.forwarded_voice_bytes.fetch_add(bytes, Relaxed);
    }
}

impl Drop for VoicePublication {
    fn drop(&mut self) {
        let mut inner = lock(&self.voices.inner);
        let ours = inner
            .publishers
            .get(&self.source.guest)
            .is_some_and(|p| p.source == self.source);
        if ours {
            if inner
                .publishers
                .remove(&self.source.guest)
                .is_some_and(|p| p.told_open)
            {
                self.voices.mixes.open(&self.source.guest, false);
            }
            self.voices.assign(&mut inner);
        }
    }
}

#[cfg(test)]
#[path = "voices_tests.rs"]
mod tests;
