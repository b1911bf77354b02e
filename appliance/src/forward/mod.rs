//! Everybody sees everybody: each guest's small camera layer, forwarded to the others as
//! RTP, never decoded or re-encoded on the unit.
//!
//! A guest's page sends its camera as simulcast: a full layer ([`FULL_RID`]) the unit
//! decodes for its own screen, and a small one ([`SMALL_RID`], about 320x240) for the
//! others. The page also offers [`FORWARD_SLOTS`] receive-only video transceivers
//! ("slots") after its own; the unit answers each with a track of its own SSRC, so nothing
//! is renegotiated when someone joins or leaves: a slot just starts or stops carrying
//! someone, and the page hears who in an [`UnitMessage::Others`] message.
//!
//! The parts:
//! - [`Board`] decides who each guest sees (plain values): everyone, or on a link that
//!   cannot carry them all, the latest speakers first.
//! - [`SlotStream`] renumbers one slot's packets (SSRC, sequence numbers, timestamps) so
//!   the viewer's browser sees one unbroken stream, and switches guests at keyframes.
//! - [`Forwarder`] (here) ties them to the peers: a guest's receiving side publishes
//!   packets through a [`Publication`]; a guest's sending side registers their slots with
//!   [`Forwarder::view`] and a [`SlotWriter`], which hands each packet to the slot's track
//!   at once, in the publisher's task (no task and queue of the viewer's between, which
//!   1,792 packets a second went through with eight guests). Keyframe requests
//!   (a slot switched, a viewer lost the picture, the unit's screen decodes the same
//!   layer and waits for one) are coalesced: at most one per publisher per
//!   [`KEYFRAME_GAP`], however many ask; a slot still waiting for its keyframe a gap later
//!   asks again.
//!
//! The store's uplink is one budget ([`crate::congestion::Controller`]): forwarded
//! pictures get what the room's own streams leave at their floor, at most half the uplink
//! ([`Forwarder::set_budget`], every tick), shared evenly among the guests who see
//! others (what an even share leaves over goes one each to some of them), the latest
//! speakers first; what they send ([`Forwarder::planned_bps`]) is not given to the room's
//! streams. With four guests on the default 10 Mbit/s, each sees the three others at the
//! small layer's usual rate. With eight, the room's streams at their floor (500 kbit/s each
//! where guests see each other, [`crate::config::FLOOR_KBPS_FORWARDING`]) and the voices
//! forwarded between them would leave each guest two or three of the seven others: rather,
//! every picture is lowered until all fit ([`Forwarder::set_room_for_pictures`], down to
//! [`MIN_STREAM_BPS`]) and the pages follow ([`UnitMessage::SmallLayerRate`]): 45 kbit/s at
//! 15 frames a second each (the daemon says so at start-up, with the uplink that would
//! carry the usual rate). Each viewer's own link caps their share too
//! ([`Forwarder::set_link`], decided by [`crate::congestion::Pictures`]): a phone on a thin
//! link keeps the room's picture and gets the latest speakers of the others that fit. A
//! picture that comes much faster than its pages were asked is taken off the others' slots
//! until it keeps to it ([`pace`], [`Forwarder::keep_pace`]): the plan holds whatever a
//! page sends.
//!
//! Where the screen's tiles are small (the kiosk says how wide it draws them; a unit whose
//! screen never said goes by `[video] small_tiles_from` guests in the call), the unit
//! decodes each guest's small layer for their tile, not their full one
//! ([`Forwarder::small_tiles`], `crate::peer::receive`), and tells the pages to pause their
//! full layers ([`UnitMessage::FullLayer`]) until the tiles grow again.
//!
//! Only guests in the call have a peer connection, so only they publish and view: nothing
//! of a waiting guest reaches anyone, and nothing reaches them. This module is the seam
//! where a later issue could put an existing SFU for audiences a unit cannot carry.

mod board;
pub mod pace;
mod rewrite;
pub mod voices;

pub use board::Board;
pub use pace::Pace;
pub use rewrite::{SlotStream, Source, starts_keyframe};
pub use visavis_api::datachannel::{FORWARD_SLOTS, FULL_RID, SMALL_RID};
pub use voices::{VoicePublication, Voices};

use crate::metrics::{Metrics, lock};
use rtc::rtp;
use rtc::shared::marshal::MarshalSize;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU32, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use visavis_api::datachannel::{Other, SMALL_LAYER_KBPS, SMALL_TILE_WIDTH, UnitMessage};
use visavis_api::signaling::GuestId;

/// What one forwarded small layer costs, bits per second, at its usual rate (the page caps
/// it at [`SMALL_LAYER_KBPS`]; headers on top, [`PICTURE_HEADERS_BPS`]).
pub const STREAM_BPS: u64 = SMALL_LAYER_KBPS as u64 * 1000 + PICTURE_HEADERS_BPS;
/// What a forwarded picture's headers take at 30 frames a second, bits per second (RTP
/// with its extensions, SRTP, UDP and IP: about 70 bytes a packet, a packet or two a
/// frame); half that at [`LOW_FPS`].
pub const PICTURE_HEADERS_BPS: u64 = 20_000;
/// The least a forwarded picture is lowered to for everyone to fit, headers included: 45
/// kbit/s of video at [`LOW_FPS`].
pub const MIN_STREAM_BPS: u64 = 55_000;
/// The small layer's frame rate once its video is lowered under [`FULL_FPS_FROM_KBPS`].
pub const LOW_FPS: u32 = 15;
/// From this video rate on (kbit/s) the small layer keeps the camera's 30 frames a second.
pub const FULL_FPS_FROM_KBPS: u32 = 100;
/// Lowered rates go in steps of this much, so that a wobble is not told to every page.
const RATE_STEP: u64 = 5_000;

/// At most one keyframe request per publisher in this time.
pub const KEYFRAME_GAP: Duration = Duration::from_secs(1);

/// Asks a publisher's browser for a keyframe of their forwarded layer.
pub type AskKeyframe = Box<dyn Fn() + Send + Sync>;

/// One of a viewer's slots: its track's SSRC and the payload type the viewer agreed for
/// each codec (lower-case MIME type, e.g. `video/h264`).
pub struct SlotOut {
    pub ssrc: u32,
    pub payload_types: HashMap<String, u8>,
}

/// A packet for one of a viewer's slots.
pub struct Outbound {
    pub slot: usize,
    pub packet: rtp::Packet,
}

/// The viewer's connection could not take one more packet without waiting.
#[derive(Debug)]
pub struct Full;

/// Where a viewer's forwarded packets go: each handed on at once, never waited for (it is
/// called with the forwarder's lock held).
pub trait SlotWriter: Send {
    /// `packet` for the viewer's `slot`; [`Full`] when it cannot be taken now (the slot
    /// then starts again at the next keyframe).
    fn write(&self, slot: usize, packet: rtp::Packet) -> Result<(), Full>;
}

/// A queue another task drains (tests read it).
impl SlotWriter for mpsc::Sender<Outbound> {
    fn write(&self, slot: usize, packet: rtp::Packet) -> Result<(), Full> {
        self.try_send(Outbound { slot, packet }).map_err(|_| Full)
    }
}

struct Publisher {
    source: Source,
    mime: String,
    ask: AskKeyframe,
    asked: Option<tokio::time::Instant>,
    ask_pending: bool,
    /// Bytes of the picture received so far (RTP headers and payloads).
    received: u64,
    /// Whether it keeps to the rate asked ([`pace`]).
    pace: Pace,
}

impl Publisher {
    /// When the [`KEYFRAME_GAP`] after the last request ends, if it has not yet at `now`.
    fn gap_ends(&self, now: tokio::time::Instant) -> Option<tokio::time::Instant> {
        self.asked
            .map(|at| at + KEYFRAME_GAP)
            .filter(|end| now < *end)
    }
}

struct Slot {
    stream: SlotStream,
    payload_types: HashMap<String, u8>,
}

struct Viewer {
    slots: Vec<Slot>,
    packets: Box<dyn SlotWriter>,
    tell: mpsc::UnboundedSender<UnitMessage>,
    told: Option<Vec<Other>>,
    /// What the viewer was last told of their full layer ([`UnitMessage::FullLayer`]).
    told_full: Option<bool>,
    /// What the viewer was last told of their small layer's rate (`None`: nothing, and
    /// the page sends it at its usual rate).
    told_rate: Option<(u32, u32)>,
}

#[derive(Default)]
struct Inner {
    /// How many pictures may be forwarded in all (the budget at `picture_bps` each).
    max_streams: usize,
    /// The budget, bits per second ([`Forwarder::set_budget`]).
    budget_bps: u64,
    /// What one forwarded picture costs now, headers included: [`STREAM_BPS`], or less
    /// where a full table would not fit in the uplink otherwise
    /// ([`Forwarder::set_room_for_pictures`]).
    picture_bps: u64,
    /// How many are forwarded now.
    streams: usize,
    /// How many pictures each viewer's own link carries, where it cannot carry all
    /// ([`Forwarder::set_link`]).
    links: HashMap<GuestId, usize>,
    board: Board,
    names: HashMap<GuestId, String>,
    publishers: HashMap<GuestId, Publisher>,
    viewers: HashMap<GuestId, Viewer>,
    publications: u64,
}

/// See the module docs. Cheap to clone.
#[derive(Clone)]
pub struct Forwarder {
    inner: Arc<Mutex<Inner>>,
    metrics: Arc<Metrics>,
    /// How many guests are in the call (read on every packet, without the lock).
    in_call: Arc<AtomicUsize>,
    /// From this many guests in the call the screen shows small layers (0: never), unless
    /// the screen said how wide its tiles are.
    small_tiles_from: usize,
    /// How wide the screen's guest tiles are, pixels, as it last said (0: it never did).
    screen_tiles: Arc<AtomicU32>,
}

impl Forwarder {
    /// A forwarder that sends at most `budget_bps` of pictures in all (see
    /// [`Forwarder::set_budget`]).
    pub fn new(metrics: Arc<Metrics>, budget_bps: u64) -> Self {
        metrics.forward_picture_bps.store(STREAM_BPS, Relaxed);
        Forwarder {
            inner: Arc::new(Mutex::new(Inner {
                max_streams: streams_in(budget_bps, STREAM_BPS),
                budget_bps,
                picture_bps: STREAM_BPS,
                ..Default::default()
            })),
            metrics,
            in_call: Arc::default(),
            small_tiles_from: 0,
            screen_tiles: Arc::default(),
        }
    }

    /// From `guests` in the call on, [`Forwarder::small_tiles`] says the screen shows each
    /// guest's small layer (`[video] small_tiles_from`; 0: never).
    pub fn with_small_tiles_from(mut self, guests: usize) -> Self {
        self.small_tiles_from = guests;
        self
    }

    /// Whether the screen's tiles are small enough that each guest's small layer
    /// (forwarded to the others anyway) is decoded for their tile instead of their full
    /// one: as wide as [`SMALL_TILE_WIDTH`] or narrower, as the screen last said
    /// ([`Forwarder::set_screen_tiles`]); before it says, from the set number of guests in
    /// the call on. Never with `small_tiles_from` 0.
    pub fn small_tiles(&self) -> bool {
        if self.small_tiles_from == 0 {
            return false;
        }
        match self.screen_tiles.load(Relaxed) {
            0 => self.in_call.load(Relaxed) >= self.small_tiles_from,
            width => width <= SMALL_TILE_WIDTH,
        }
    }

    /// The screen shows the guests' tiles `width` pixels wide at most (0: none now, which
    /// leaves the decision as it was): the pages hear whether to send their full layers.
    pub fn set_screen_tiles(&self, width: u32) {
        if width == 0 {
            return;
        }
        let mut inner = lock(&self.inner);
        self.screen_tiles.store(width, Relaxed);
        self.tell_full_layer(&mut inner);
    }

    /// Send at most `bps` of pictures in all (at [`Forwarder::picture_bps`] each), shared
    /// evenly among the guests who see others (what is left over one more each to some),
    /// the latest speakers first where a guest's share is smaller than the others in the
    /// call.
    pub fn set_budget(&self, bps: u64) {
        let mut inner = lock(&self.inner);
        inner.budget_bps = bps;
        self.reshare(&mut inner);
    }

    /// Forwarded pictures may take `bps` in all with every voice they could be sent beside
    /// (a steadier figure than [`Forwarder::set_budget`]'s, which follows who talks): where
    /// that cannot carry every picture each viewer could be shown at [`STREAM_BPS`], each
    /// picture is lowered (in steps of 5 kbit/s, to [`MIN_STREAM_BPS`] at the least, 15
    /// frames a second under 100 kbit/s of video) and the publishers' pages are told
    /// ([`UnitMessage::SmallLayerRate`]); raised again when the table empties.
    pub fn set_room_for_pictures(&self, bps: u64) {
        let mut inner = lock(&self.inner);
        let rate = picture_rate(bps, wanted_pictures(&inner) as u64);
        if rate < inner.picture_bps {
            let now = Instant::now();
            for p in inner.publishers.values_mut() {
                p.pace.asked_less(now);
            }
        }
        if rate != inner.picture_bps {
            inner.picture_bps = rate;
            self.metrics.forward_picture_bps.store(rate, Relaxed);
            self.tell_rate(&mut inner);
            self.reshare(&mut inner);
        }
    }

    /// What one forwarded picture costs now, bits per second, headers included.
    pub fn picture_bps(&self) -> u64 {
        lock(&self.inner).picture_bps
    }

    /// The budget's pictures at the current rate, shared again if that changed.
    fn reshare(&self, inner: &mut Inner) {
        let max_streams = streams_in(inner.budget_bps, inner.picture_bps);
        if inner.max_streams != max_streams {
            inner.max_streams = max_streams;
            let changed = share(inner);
            self.rewire(inner, changed);
        }
    }

    /// `guest`'s own link carries `pictures` of the others' pictures (`None`: all they
    /// have slots for): the latest speakers first, the rest of their slots empty
    /// ([`crate::congestion::Pictures`] decides).
    pub fn set_link(&self, guest: &GuestId, pictures: Option<usize>) {
        let mut inner = lock(&self.inner);
        let before = inner.links.get(guest).copied();
        if before == pictures {
            return;
        }
        match pictures {
            Some(n) => inner.links.insert(guest.clone(), n),
            None => inner.links.remove(guest),
        };
        let changed = share(&mut inner);
        self.rewire(&mut inner, changed);
    }

    /// How many pictures `guest` is shown now.
    pub fn showing(&self, guest: &GuestId) -> usize {
        lock(&self.inner)
            .board
            .slots(guest)
            .iter()
            .filter(|p| p.is_some())
            .count()
    }

    /// Measure every publisher's picture against the rate asked ([`pace`]): one sent too
    /// fast goes from the others' slots, and comes back once it keeps to it. Called every
    /// tick of congestion control.
    pub fn keep_pace(&self, now: Instant) {
        let mut inner = lock(&self.inner);
        let planned = inner.picture_bps;
        let mut off = Vec::new();
        let mut back = Vec::new();
        for (guest, p) in inner.publishers.iter_mut() {
            match p.pace.update(p.received, planned, now) {
                Some(true) => {
                    tracing::warn!(
                        guest = %guest,
                        sends_bps = p.pace.rate().unwrap_or_default(),
                        asked_bps = planned,
                        "the guest's picture comes faster than the unit asked: not forwarded to the others until it keeps to the rate"
                    );
                    off.push(guest.clone());
                }
                Some(false) => {
                    tracing::info!(guest = %guest, "the guest's picture keeps to its rate again: forwarded");
                    back.push(guest.clone());
                }
                None => {}
            }
        }
        // Counted every time: a held guest who left is held no more.
        let held = inner.publishers.values().filter(|p| p.pace.over()).count();
        self.metrics
            .forward_pictures_held
            .store(held as u64, Relaxed);
        if off.is_empty() && back.is_empty() {
            return;
        }
        for (guest, held) in off
            .iter()
            .map(|g| (g, true))
            .chain(back.iter().map(|g| (g, false)))
        {
            if let Some(v) = inner.viewers.get(guest) {
                let _ = v.tell.send(UnitMessage::PictureHeld { held });
            }
        }
        let mut changed = Vec::new();
        for guest in &off {
            changed.extend(inner.board.unpublish(guest));
        }
        for guest in &back {
            let name = inner.names.get(guest).cloned().unwrap_or_default();
            changed.extend(inner.board.publish(guest, &name));
        }
        changed.extend(share(&mut inner));
        self.rewire(&mut inner, changed);
    }

    /// What the pictures forwarded now send, bits per second, headers included.
    pub fn planned_bps(&self) -> u64 {
        let inner = lock(&self.inner);
        inner.streams as u64 * inner.picture_bps
    }

    /// `guest` is in the call as `name` (their tile's label for the others).
    pub fn join(&self, guest: &GuestId, name: &str) {
        let mut inner = lock(&self.inner);
        inner.names.insert(guest.clone(), name.to_owned());
        self.in_call.store(inner.names.len(), Relaxed);
        self.tell_full_layer(&mut inner);
    }

    /// `guest` left: their picture goes from every slot, and they see nothing more.
    pub fn leave(&self, guest: &GuestId) {
        let mut inner = lock(&self.inner);
        inner.names.remove(guest);
        self.in_call.store(inner.names.len(), Relaxed);
        inner.publishers.remove(guest);
        inner.viewers.remove(guest);
        inner.links.remove(guest);
        self.tell_full_layer(&mut inner);
        inner.board.unview(guest);
        let mut changed = inner.board.unpublish(guest);
        changed.extend(share(&mut inner));
        self.rewire(&mut inner, changed);
    }

    /// `guest` sends a picture in `mime` (their small layer, or their only one); packets
    /// go through the returned [`Publication`], which unpublishes when dropped.
    pub fn publish(&self, guest: &GuestId, mime: &str, ask: AskKeyframe) -> Publication {
        let mut inner = lock(&self.inner);
        inner.publications += 1;
        let source = Source {
            guest: guest.clone(),
            stream: inner.publications,
        };
        inner.publishers.insert(
            guest.clone(),
            Publisher {
                source: source.clone(),
                mime: mime.to_ascii_lowercase(),
                ask,
                asked: None,
                ask_pending: false,
                received: 0,
                pace: Pace::new(Instant::now()),
            },
        );
        let name = inner.names.get(guest).cloned().unwrap_or_default();
        let changed = inner.board.publish(guest, &name);
        self.rewire(&mut inner, changed);
        Publication {
            forwarder: self.clone(),
            source,
        }
    }

    /// `guest` can show others' pictures in `slots`; their packets go to `packets` (the
    /// peer's slot tracks), and the list of who is shown goes to `tell` (their data
    /// channel) whenever it changes.
    pub fn view(
        &self,
        guest: &GuestId,
        slots: Vec<SlotOut>,
        packets: impl SlotWriter + 'static,
        tell: mpsc::UnboundedSender<UnitMessage>,
    ) {
        let mut inner = lock(&self.inner);
        let count = slots.len();
        inner.viewers.insert(
            guest.clone(),
            Viewer {
                slots: slots
                    .into_iter()
                    .map(|s| Slot {
                        stream: SlotStream::new(s.ssrc, 90_000),
                        payload_types: s.payload_types,
                    })
                    .collect(),
                packets: Box::new(packets),
                tell,
                told: None,
                told_full: None,
                told_rate: None,
            },
        );
        self.tell_full_layer(&mut inner);
        self.tell_rate(&mut inner);
        let mut changed = inner.board.view(guest, count);
        changed.extend(share(&mut inner));
        changed.push(guest.clone());
        changed.sort();
        changed.dedup();
        self.rewire(&mut inner, changed);
    }

    /// `guest` started or stopped speaking (the room's speaking indicator).
    pub fn speaking(&self, guest: &GuestId, on: bool) {
        let mut inner = lock(&self.inner);
        let changed = inner.board.speaking(guest, on);
        self.rewire(&mut inner, changed);
    }

    /// How many others' pictures `guest`'s link can carry now.
    pub fn set_capacity(&self, guest: &GuestId, capacity: usize) {
        let mut inner = lock(&self.inner);
        let changed = inner.board.set_capacity(guest, capacity);
        self.rewire(&mut inner, changed);
    }

    /// `viewer`'s browser lost the picture in `slot` (PLI/FIR): ask its publisher again.
    pub fn keyframe_wanted(&self, viewer: &GuestId, slot: usize) {
        let mut inner = lock(&self.inner);
        let publisher = inner
            .viewers
            .get(viewer)
            .and_then(|v| v.slots.get(slot))
            .and_then(|s| s.stream.source())
            .map(|s| s.guest.clone());
        if let Some(p) = publisher {
            self.ask(&mut inner, &p);
        }
    }

    /// Who each of `viewer`'s slots shows (tests and the staff report).
    pub fn shown(&self, viewer: &GuestId) -> Vec<Option<GuestId>> {
        lock(&self.inner).board.slots(viewer).to_vec()
    }

    /// Tell each viewer whether the screen shows their full layer, if that changed for
    /// them ([`UnitMessage::FullLayer`]).
    fn tell_full_layer(&self, inner: &mut Inner) {
        let full = !self.small_tiles();
        for v in inner.viewers.values_mut() {
            if v.told_full != Some(full) {
                let _ = v.tell.send(UnitMessage::FullLayer { on: full });
                v.told_full = Some(full);
            }
        }
    }

    /// Tell each viewer (whose page publishes the small layer) the small layer's rate, if
    /// it changed for them ([`UnitMessage::SmallLayerRate`]); a page never told sends it
    /// at its usual rate, so nothing is said while that stands.
    fn tell_rate(&self, inner: &mut Inner) {
        let rate = small_layer_rate(inner.picture_bps);
        let usual = small_layer_rate(STREAM_BPS);
        for v in inner.viewers.values_mut() {
            if v.told_rate.unwrap_or(usual) != rate {
                let (max_kbps, max_fps) = rate;
                let _ = v
                    .tell
                    .send(UnitMessage::SmallLayerRate { max_kbps, max_fps });
                v.told_rate = Some(rate);
            }
        }
    }

    /// Point the slots of the `changed` viewers at their publishers, ask the new ones for
    /// a keyframe, and tell the viewers who they see.
    fn rewire(&self, inner: &mut Inner, changed: Vec<GuestId>) {
        let mut ask = Vec::new();
        for viewer in changed {
            let assigned = inner.board.slots(&viewer).to_vec();
            let sources: Vec<Option<Source>> = assigned
                .iter()
                .map(|p| {
                    p.as_ref()
                        .and_then(|p| inner.publishers.get(p))
                        .map(|p| p.source.clone())
                })
                .collect();
            let others: Vec<Other> = assigned
                .iter()
                .enumerate()
                .filter_map(|(slot, p)| {
                    let name = inner.board.name(p.as_ref()?)?;
                    Some(Other {
                        slot: slot as u8,
                        name: name.to_owned(),
                    })
                })
                .collect();
            let Some(v) = inner.viewers.get_mut(&viewer) else {
                continue;
            };
            for (slot, source) in v.slots.iter_mut().zip(sources) {
                if slot.stream.source() != source.as_ref() {
                    if let Some(s) = &source {
                        ask.push(s.guest.clone());
                    }
                    slot.stream.show(source);
                }
            }
            if v.told.as_ref() != Some(&others) {
                let _ = v.tell.send(UnitMessage::Others {
                    others: others.clone(),
                });
                v.told = Some(others);
            }
        }
        for p in ask {
            self.ask(inner, &p);
        }
        let streams: usize = inner
            .viewers
            .values()
            .map(|v| {
                v.slots
                    .iter()
                    .filter(|s| s.stream.source().is_some())
                    .count()
            })
            .sum();
        inner.streams = streams;
        self.metrics
            .forwarded_streams
            .store(streams as u64, Relaxed);
    }

    /// Ask `publisher` for a keyframe, at most once per [`KEYFRAME_GAP`]: a request inside
    /// the gap is sent when it ends (once, however many came).
    fn ask(&self, inner: &mut Inner, publisher: &GuestId) {
        let Some(p) = inner.publishers.get_mut(publisher) else {
            return;
        };
        let now = tokio::time::Instant::now();
        match p.gap_ends(now) {
            Some(end) => {
                if !p.ask_pending {
                    p.ask_pending = true;
                    let forwarder = self.clone();
                    let source = p.source.clone();
                    let wait = end - now;
                    tokio::spawn(async move {
                        tokio::time::sleep(wait).await;
                        let mut inner = lock(&forwarder.inner);
                        if let Some(p) = inner.publishers.get_mut(&source.guest)
                            && p.source == source
                        {
                            p.ask_pending = false;
                            p.asked = Some(tokio::time::Instant::now());
                            (p.ask)();
                            forwarder
                                .metrics
                                .forward_keyframe_requests
                                .fetch_add(1, Relaxed);
                        }
                    });
                }
            }
            None => {
                p.asked = Some(now);
                (p.ask)();
                self.metrics.forward_keyframe_requests.fetch_add(1, Relaxed);
            }
        }
    }
}

/// How many pictures `bps` carries at `picture_bps` each.
fn streams_in(bps: u64, picture_bps: u64) -> usize {
    bps.checked_div(picture_bps).unwrap_or(0) as usize
}

/// What each of `wanted` forwarded pictures may cost for them all to fit in `bps` (headers
/// included): [`STREAM_BPS`] where they fit at that, else lowered in steps of 5 kbit/s to
/// [`MIN_STREAM_BPS`] at the least.
pub fn picture_rate(bps: u64, wanted: u64) -> u64 {
    match bps.checked_div(wanted) {
        Some(each) if each < STREAM_BPS => (each / RATE_STEP * RATE_STEP).max(MIN_STREAM_BPS),
        _ => STREAM_BPS,
    }
}

/// The small layer's video rate (kbit/s) and frame rate for a picture costing
/// `picture_bps` forwarded.
pub fn small_layer_rate(picture_bps: u64) -> (u32, u32) {
    let at_full = picture_bps.saturating_sub(PICTURE_HEADERS_BPS) / 1000;
    if at_full >= u64::from(FULL_FPS_FROM_KBPS) {
        return (at_full as u32, 30);
    }
    let headers = PICTURE_HEADERS_BPS * u64::from(LOW_FPS) / 30;
    ((picture_bps.saturating_sub(headers) / 1000) as u32, LOW_FPS)
}

/// How many pictures the viewers would be shown with no budget to keep: each as many as
/// they have slots, their link carries and others publish.
fn wanted_pictures(inner: &Inner) -> usize {
    inner
        .viewers
        .keys()
        .map(|v| {
            let slots = inner.board.slots(v).len();
            let link = inner.links.get(v).copied().unwrap_or(slots);
            let others = inner
                .publishers
                .iter()
                .filter(|(p, publisher)| *p != v && !publisher.pace.over())
                .count();
            slots.min(link).min(others)
        })
        .sum()
}

/// Share the budget's pictures among the viewers: one each in turn (in the order of their
/// ids) to whoever has a slot left that their link carries, so the share is even and what
/// an even share leaves over goes to some rather than to nobody; the viewers whose slots
/// changed.
fn share(inner: &mut Inner) -> Vec<GuestId> {
    let mut viewers: Vec<(GuestId, usize)> = inner
        .viewers
        .keys()
        .map(|v| {
            let slots = inner.board.slots(v).len();
            let link = inner.links.get(v).copied().unwrap_or(slots);
            (v.clone(), slots.min(link))
        })
        .collect();
    viewers.sort();
    let mut given = vec![0; viewers.len()];
    let mut left = inner.max_streams;
    while left > 0 {
        let mut gave = false;
        for (n, (_, slots)) in given.iter_mut().zip(&viewers) {
            if left > 0 && *n < *slots {
                *n += 1;
                left -= 1;
                gave = true;
            }
        }
        if !gave {
            break;
        }
    }
    let mut changed = Vec::new();
    for ((v, _), n) in viewers.into_iter().zip(given) {
        changed.extend(inner.board.set_capacity(&v, n));
    }
    changed
}

/// A guest's picture being offered to the others; dropped: it goes from their slots.
pub struct Publication {
    forwarder: Forwarder,
    source: Source,
}

impl Publication {
    /// The unit's own screen wants a keyframe of the published layer (it decodes that
    /// layer too): asked now unless a request for the others went less than a
    /// [`KEYFRAME_GAP`] ago or waits to go (its keyframe serves the screen too; the screen
    /// asks again a gap later if none came), so the guest's browser is not asked twice for
    /// the same picture.
    pub fn ask_keyframe(&self) {
        let mut inner = lock(&self.forwarder.inner);
        let now = tokio::time::Instant::now();
        if inner
            .publishers
            .get(&self.source.guest)
            .is_some_and(|p| p.source == self.source && !p.ask_pending && p.gap_ends(now).is_none())
        {
            self.forwarder.ask(&mut inner, &self.source.guest);
        }
    }

    /// One RTP packet of the published layer: renumbered into every slot that shows it.
    pub fn packet(&self, packet: &rtp::Packet) {
        let forwarder = &self.forwarder;
        let mut inner = lock(&forwarder.inner);
        let Some(p) = inner.publishers.get_mut(&self.source.guest) else {
            return;
        };
        if p.source != self.source {
            return;
        }
        p.received += (packet.header.marshal_size() + packet.payload.len()) as u64;
        if p.pace.over() {
            return;
        }
        let keyframe = starts_keyframe(&p.mime, &packet.payload);
        let now = Instant::now();
        let mut sent = 0;
        let mut lost = false;
        let mut waiting = false;
        // The publisher's MIME type is read in place for every slot: no copy per packet.
        let Inner {
            publishers,
            viewers,
            ..
        } = &mut *inner;
        let mime = &publishers[&self.source.guest].mime;
        for v in viewers.values_mut() {
            for (index, slot) in v.slots.iter_mut().enumerate() {
                // Only the slots showing this picture get a copy.
                if slot.stream.source() != Some(&self.source) {
                    continue;
                }
                let Some(&pt) = slot.payload_types.get(mime) else {
                    continue;
                };
                let mut out = packet.clone();
                if !slot
                    .stream
                    .rewrite(&self.source, &mut out.header, keyframe, now)
                {
                    // The slot shows this picture from its next keyframe.
                    waiting = true;
                    continue;
                }
                out.header.payload_type = pt;
                out.header.padding = false;
                match v.packets.write(index, out) {
                    Ok(()) => sent += 1,
                    Err(Full) => {
                        // The viewer's connection fell behind: start them again at the next
                        // keyframe rather than feed a broken picture.
                        slot.stream.lost();
                        lost = true;
                    }
                }
            }
        }
        forwarder.metrics.forwarded_packets.fetch_add(sent, Relaxed);
        let guest = &self.source.guest;
        // A slot that still waits a gap after the last request: that request or its
        // keyframe was lost, or the browser let it pass (too soon after another).
        let overdue = waiting
            && inner.publishers.get(guest).is_some_and(|p| {
                !p.ask_pending && p.gap_ends(tokio::time::Instant::now()).is_none()
            });
        if lost || overdue {
            let guest = guest.clone();
            forwarder.ask(&mut inner, &guest);
        }
    }
}

impl Drop for Publication {
    fn drop(&mut self) {
        let forwarder = self.forwarder.clone();
        let mut inner = lock(&forwarder.inner);
        let ours = inner
            .publishers
            .get(&self.source.guest)
            .is_some_and(|p| p.source == self.source);
        if ours {
            inner.publishers.remove(&self.source.guest);
            let changed = inner.board.unpublish(&self.source.guest);
            forwarder.rewire(&mut inner, changed);
        }
    }
}

#[cfg(test)]
#[path = "forward_tests.rs"]
mod tests;
