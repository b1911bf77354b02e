//! The rule that turns every guest's bandwidth estimate into each encoder's bitrate and each
//! guest's layer. Plain numbers and instants in, [`Decision`]s out; no clock, no I/O.
//!
//! - A guest's usable video rate is their estimate less a share for packet overhead and
//!   retransmissions ([`VIDEO_SHARE`]) and less the audio.
//! - A layer's target is the lowest usable rate among its guests, clamped to the layer's
//!   floor and ceiling. It goes down at once and up slowly (at most [`RAISE_STEP`] every
//!   [`RAISE_EVERY`], and not for changes within [`DEAD_BAND`]), so it does not oscillate
//!   with every wobble of the estimates.
//! - A guest on the main layer whose usable rate falls below the main floor, or below
//!   [`FAR_BELOW`] times the best of the others, moves to the small layer: one slow phone
//!   does not drag everyone's picture down. They come back once their rate has been
//!   comfortably above both ([`UP_MARGIN`]) for a while; that while doubles (up to
//!   [`MAX_HOLD`](super::hold::MAX_HOLD)) each time a guest comes back only to fall again soon after
//!   ([`RELAPSE`](super::hold::RELAPSE)), so a path that only looks good while it is not used is not probed
//!   every few seconds.
//! - The small layer's ceiling is `small_max` only when it starts: while all its guests can
//!   take more, it climbs (step by step, as any layer) up to [`UP_MARGIN`] times the main
//!   floor. Their estimates only grow with what they have been sent (see
//!   [`super::bwe`]), so this is how a guest on the small layer shows that their path
//!   would carry the main layer again; on a path that cannot, the small layer settles at
//!   what it carries, a sharper picture than `small_max`.
//! - The unit's uplink is a budget (`[uplink] max_kbps`; the plan takes [`PLANNED_SHARE`]
//!   of it, [`Limits::uplink`]): every
//!   guest's voice, then the small layer's guests at its floor, and what is left shared
//!   among the main layer's guests caps the main layer ([`Controller::budget`]); the small
//!   layer gets what the main layer leaves. The configuration makes sure a full call fits
//!   at the main floor, so the cap holds whatever the guests' paths.
//! - Guests' pictures forwarded to each other (a table, [`crate::forward`]) come out of the
//!   same budget: they may take what the room's streams leave at their floor, at most
//!   [`FORWARD_SHARE`] of the uplink ([`Controller::forward_allowance`]), and what they
//!   take ([`Controller::set_forwarded`]) is not given to the layers. The room's own
//!   picture comes first: it never goes under its floor for the others' pictures. Guests'
//!   voices forwarded to each other ([`crate::forward::voices`]) come before the pictures:
//!   what they sent lately is taken off the pictures' allowance.
//! - The plan's headers are those of a direct IPv4 path. A guest reached through a TURN
//!   relay, over TCP or TLS, or on IPv6 takes more of the line a packet
//!   ([`super::wire::Path`]): what that adds at the packet rate they are sent is measured
//!   ([`Controller::set_path_extra`]) and not given to the layers.
//! - A guest without an estimate yet (just joined, no feedback so far) stays where they
//!   are and counts for no layer's target.
//! - The small layer runs while a guest is on it, and stops [`LINGER`] after the last left
//!   (so a guest on their way back to the main layer is not left without frames while
//!   waiting for its keyframe).

use super::hold::Hold;
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use visavis_api::local::VideoLayer;
use visavis_api::signaling::GuestId;

/// Share of an estimate left for video payload once RTP/SRTP/UDP/IP headers and
/// retransmissions are paid.
pub const VIDEO_SHARE: f64 = 0.9;
/// A guest this far below the best of the others gets the small layer.
pub const FAR_BELOW: f64 = 0.5;
/// How much better than the thresholds a guest's rate must be to come back.
pub const UP_MARGIN: f64 = 1.3;
/// How long a guest's rate must stay good before coming back, at first (then as
/// [`super::hold`] says: doubled after a relapse, up to [`MAX_HOLD`](super::hold::MAX_HOLD)).
pub const FIRST_HOLD: Duration = Duration::from_secs(5);
/// A layer's bitrate rises at most this factor per step...
pub const RAISE_STEP: f64 = 1.10;
/// ...and at most one step per this time.
pub const RAISE_EVERY: Duration = Duration::from_secs(1);
/// Changes smaller than this fraction of the current target are not made.
pub const DEAD_BAND: f64 = 0.03;
/// The small layer keeps running this long after its last guest left.
pub const LINGER: Duration = Duration::from_secs(3);
/// The most of the uplink forwarded pictures may take.
pub const FORWARD_SHARE: f64 = 0.5;
/// The share of `[uplink] max_kbps` the plan fills. What is sent swings around what is
/// planned: encoders overshoot their target for a moment (a keyframe, a busy scene), and
/// RTCP, DTLS, STUN and the data channels are not planned. On the wire the unit then
/// stays under the cap (`congestion::meter` measures it).
pub const PLANNED_SHARE: f64 = 0.96;

/// What the plan may send in all, bits per second, for `[uplink] max_kbps`.
pub fn planned_uplink(max_kbps: u32) -> u64 {
    (u64::from(max_kbps) as f64 * 1000.0 * PLANNED_SHARE) as u64
}

/// The `[uplink] max_kbps` whose plan has room for `planned_bps`.
pub fn uplink_kbps_for(planned_bps: u64) -> u64 {
    (planned_bps as f64 / PLANNED_SHARE / 1000.0).ceil() as u64
}

/// The bounds the controller works in, bits per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// The main layer's ceiling and starting point (`[video] bitrate_kbps`).
    pub main_max: u64,
    /// The main layer's floor (`[video] min_bitrate_kbps`).
    pub main_min: u64,
    /// The small layer's ceiling and starting point (`[video] small_bitrate_kbps`).
    pub small_max: u64,
    /// The small layer's floor.
    pub small_min: u64,
    /// What the audio takes of every guest's estimate.
    pub audio: u64,
    /// The most the unit plans to send in all, to every guest together ([`PLANNED_SHARE`]
    /// of `[uplink] max_kbps`, [`planned_uplink`]).
    pub uplink: u64,
}

impl Limits {
    /// What one guest of the call takes at least, headers included: their voice and the
    /// main layer at its floor.
    pub fn guest_floor(&self) -> u64 {
        self.audio + (self.main_min as f64 / VIDEO_SHARE).ceil() as u64
    }
}

/// What the media side must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Set the layer's encoder to this many bits per second.
    Bitrate { layer: VideoLayer, bps: u64 },
    /// Start or stop encoding the small layer.
    SmallActive(bool),
    /// From the layer's next keyframe, send the guest this layer.
    Move { guest: GuestId, layer: VideoLayer },
}

#[derive(Debug)]
struct Guest {
    layer: VideoLayer,
    /// Their usable video rate (see the module docs); `None` before any estimate.
    usable: Option<u64>,
    /// How long their rate must stay good before they come back to the main layer.
    hold: Hold,
}

#[derive(Debug)]
struct Layer {
    target: u64,
    last_raise: Option<Instant>,
}

/// See the module docs.
#[derive(Debug)]
pub struct Controller {
    limits: Limits,
    guests: BTreeMap<GuestId, Guest>,
    main: Layer,
    small: Layer,
    small_active: bool,
    small_empty_since: Option<Instant>,
    /// What forwarding guests' pictures to each other sends now, bits per second.
    forwarded: u64,
    /// What the guests' paths add in headers to a direct IPv4 path's, bits per second.
    path_extra: u64,
    out: VecDeque<Decision>,
}

impl Controller {
    /// The encoders start at their ceilings, the small layer idle.
    pub fn new(limits: Limits) -> Self {
        Controller {
            limits,
            guests: BTreeMap::new(),
            main: Layer {
                target: limits.main_max,
                last_raise: None,
            },
            small: Layer {
                target: limits.small_max,
                last_raise: None,
            },
            small_active: false,
            small_empty_since: None,
            forwarded: 0,
            path_extra: 0,
            out: VecDeque::new(),
        }
    }

    /// A guest's peer connection exists; they start on the main layer.
    pub fn join(&mut self, guest: GuestId) {
        self.guests.entry(guest).or_insert(Guest {
            layer: VideoLayer::Main,
            usable: None,
            hold: Hold::new(FIRST_HOLD),
        });
    }

    /// The guest is gone; the next [`tick`](Self::tick) decides without them.
    pub fn leave(&mut self, guest: &GuestId) {
        self.guests.remove(guest);
    }

    /// The guest's latest bandwidth estimate in bits per second (`None`: none yet).
    pub fn estimate(&mut self, guest: &GuestId, bps: Option<u64>) {
        let audio = self.limits.audio;
        if let Some(g) = self.guests.get_mut(guest) {
            g.usable = bps.map(|bps| ((bps as f64 * VIDEO_SHARE) as u64).saturating_sub(audio));
        }
    }

    /// The guest's usable video rate (see the module docs); `None` before any estimate.
    pub fn usable(&self, guest: &GuestId) -> Option<u64> {
        self.guests.get(guest).and_then(|g| g.usable)
    }

    /// The layer the controller wants the guest on.
    pub fn layer_of(&self, guest: &GuestId) -> Option<VideoLayer> {
        self.guests.get(guest).map(|g| g.layer)
    }

    /// The layer's current target bitrate.
    pub fn target(&self, layer: VideoLayer) -> u64 {
        match layer {
            VideoLayer::Main => self.main.target,
            VideoLayer::Small => self.small.target,
        }
    }

    pub fn small_active(&self) -> bool {
        self.small_active
    }

    /// The next thing to do, if any.
    pub fn poll(&mut self) -> Option<Decision> {
        self.out.pop_front()
    }

    /// Decide, from the estimates known at `now`. Call it a few times a second.
    pub fn tick(&mut self, now: Instant) {
        self.choose_layers(now);
        self.run_small_layer(now);
        let limits = self.limits;
        let main = self.lowest(VideoLayer::Main);
        let small = self.lowest(VideoLayer::Small);
        let (on_main, on_small) = self.counts();
        let video = self.budget();
        let main_ceiling = video
            .saturating_sub(on_small * limits.small_min)
            .checked_div(on_main)
            .unwrap_or(limits.main_max)
            .clamp(limits.main_min, limits.main_max);
        if let Some(bps) = steer(
            &mut self.main,
            main.unwrap_or(limits.main_max),
            limits.main_min,
            main_ceiling,
            now,
        ) {
            self.out.push_back(Decision::Bitrate {
                layer: VideoLayer::Main,
                bps,
            });
        }
        let small_ceiling = video
            .saturating_sub(on_main * self.main.target)
            .checked_div(on_small)
            .unwrap_or(u64::MAX)
            .clamp(limits.small_min, self.small_ceiling());
        // A lingering small layer without guests keeps its rate.
        if self.small_active
            && let Some(small) = small
            && let Some(bps) = steer(&mut self.small, small, limits.small_min, small_ceiling, now)
        {
            self.out.push_back(Decision::Bitrate {
                layer: VideoLayer::Small,
                bps,
            });
        }
    }

    /// What the uplink leaves for the layers' video payload, all guests together:
    /// the planned uplink ([`Limits::uplink`]) less every guest's voice, less the forwarded
    /// pictures, less what the guests' paths add in headers, less headers and
    /// retransmissions ([`VIDEO_SHARE`]).
    pub fn budget(&self) -> u64 {
        let guests = self.guests.len() as u64;
        let left = self
            .limits
            .uplink
            .saturating_sub(guests * self.limits.audio)
            .saturating_sub(self.forwarded)
            .saturating_sub(self.path_extra);
        (left as f64 * VIDEO_SHARE) as u64
    }

    /// The most forwarded pictures may send now, bits per second, headers included: what
    /// the call's guests leave of the uplink at the main floor with their voice and what
    /// their paths add in headers ([`set_path_extra`](Self::set_path_extra)), at most
    /// [`FORWARD_SHARE`] of it.
    pub fn forward_allowance(&self) -> u64 {
        forward_allowance(&self.limits, self.guests.len() as u64, self.path_extra)
    }

    /// What forwarding sends now, bits per second, headers included (at most
    /// [`forward_allowance`](Self::forward_allowance)): the next [`tick`](Self::tick) plans
    /// the layers in what is left.
    pub fn set_forwarded(&mut self, bps: u64) {
        self.forwarded = bps;
    }

    /// What the guests' paths add in headers to a direct IPv4 path's, bits per second, all
    /// guests together (relays, TCP, TLS, IPv6: [`super::wire::Path`]): the next
    /// [`tick`](Self::tick) plans the layers in what is left.
    pub fn set_path_extra(&mut self, bps: u64) {
        self.path_extra = bps;
    }

    /// What the unit sends now by its own targets, headers included: each guest's voice,
    /// their layer's video, the forwarded pictures and what their paths add in headers.
    /// Stays under [`Limits::uplink`].
    pub fn planned_send(&self) -> u64 {
        let (on_main, on_small) = self.counts();
        let video = on_main * self.main.target + on_small * self.small.target;
        (on_main + on_small) * self.limits.audio
            + (video as f64 / VIDEO_SHARE) as u64
            + self.forwarded
            + self.path_extra
    }

    /// The most the plan may send, bits per second ([`Limits::uplink`]).
    pub fn uplink(&self) -> u64 {
        self.limits.uplink
    }

    /// Guests the main layer goes to, and the small layer's (while it runs).
    fn counts(&self) -> (u64, u64) {
        let on_small = if self.small_active {
            self.guests
                .values()
                .filter(|g| g.layer == VideoLayer::Small)
                .count() as u64
        } else {
            0
        };
        (self.guests.len() as u64 - on_small, on_small)
    }

    /// How high the small layer may climb while its guests can take it: to where they
    /// would qualify for the main layer again (see the module docs).
    fn small_ceiling(&self) -> u64 {
        let limits = self.limits;
        ((UP_MARGIN * limits.main_min as f64) as u64).clamp(limits.small_max, limits.main_max)
    }

    /// The lowest usable rate among the guests on `layer` who have an estimate.
    fn lowest(&self, layer: VideoLayer) -> Option<u64> {
        self.guests
            .values()
            .filter(|g| g.layer == layer)
            .filter_map(|g| g.usable)
            .min()
    }

    fn choose_layers(&mut self, now: Instant) {
        let limits = self.limits;
        let rates: Vec<(GuestId, u64)> = self
            .guests
            .iter()
            .filter_map(|(id, g)| g.usable.map(|u| (id.clone(), u)))
            .collect();
        for (id, usable) in &rates {
            // What the main layer could carry for everyone else.
            let best_other = rates
                .iter()
                .filter(|(other, _)| other != id)
                .map(|(_, u)| (*u).min(limits.main_max))
                .max()
                .unwrap_or(0) as f64;
            let usable = *usable as f64;
            let Some(g) = self.guests.get_mut(id) else {
                continue;
            };
            match g.layer {
                VideoLayer::Main => {
                    if usable < limits.main_min as f64 || usable < FAR_BELOW * best_other {
                        g.hold.fell(now);
                        g.layer = VideoLayer::Small;
                        self.out.push_back(Decision::Move {
                            guest: id.clone(),
                            layer: VideoLayer::Small,
                        });
                    } else {
                        g.hold.kept(now);
                    }
                }
                VideoLayer::Small => {
                    let good = usable >= UP_MARGIN * limits.main_min as f64
                        && usable >= UP_MARGIN * FAR_BELOW * best_other;
                    if !good {
                        g.hold.not_better();
                        continue;
                    }
                    if g.hold.better(now) {
                        g.layer = VideoLayer::Main;
                        self.out.push_back(Decision::Move {
                            guest: id.clone(),
                            layer: VideoLayer::Main,
                        });
                    }
                }
            }
        }
    }

    /// Start the small layer ahead of the first guest moved onto it (the move waits for
    /// its keyframe), stop it a while after the last left.
    fn run_small_layer(&mut self, now: Instant) {
        let needed = self.guests.values().any(|g| g.layer == VideoLayer::Small);
        if needed {
            self.small_empty_since = None;
            if !self.small_active {
                self.small_active = true;
                // Start from what its guests can take, not from a stale value.
                let limits = self.limits;
                self.small.target = self
                    .lowest(VideoLayer::Small)
                    .unwrap_or(limits.small_max)
                    .clamp(limits.small_min, limits.small_max);
                self.small.last_raise = Some(now);
                // Ahead of the moves queued this tick.
                self.out.push_front(Decision::Bitrate {
                    layer: VideoLayer::Small,
                    bps: self.small.target,
                });
                self.out.push_front(Decision::SmallActive(true));
            }
        } else if self.small_active {
            let since = *self.small_empty_since.get_or_insert(now);
            if now >= since + LINGER {
                self.small_active = false;
                self.small_empty_since = None;
                self.out.push_back(Decision::SmallActive(false));
            }
        }
    }
}

/// What forwarded pictures may send with `guests` in the call whose paths add
/// `path_extra` bits per second of headers (see [`Controller::forward_allowance`]).
pub fn forward_allowance(limits: &Limits, guests: u64, path_extra: u64) -> u64 {
    let floor = guests * limits.guest_floor();
    limits
        .uplink
        .saturating_sub(floor)
        .saturating_sub(path_extra)
        .min((limits.uplink as f64 * FORWARD_SHARE) as u64)
}

/// Move `layer` towards `wanted` (clamped to `min..=max`): down at once, up by steps;
/// changes within [`DEAD_BAND`] are not made, unless the target is over `max`.
/// The new target if it changed.
fn steer(layer: &mut Layer, wanted: u64, min: u64, max: u64, now: Instant) -> Option<u64> {
    let wanted = wanted.clamp(min, max);
    let current = layer.target;
    let band = (current as f64 * DEAD_BAND) as u64;
    // The ceiling is the uplink's budget: above it, down at once, however small the step.
    let next = if wanted + band < current || (wanted < current && (wanted == min || current > max))
    {
        // A fall also restarts the wait before the next rise.
        layer.last_raise = Some(now);
        wanted
    } else if wanted > current + band || (wanted > current && wanted == max) {
        if layer.last_raise.is_some_and(|t| now < t + RAISE_EVERY) {
            return None;
        }
        layer.last_raise = Some(now);
        wanted.min((current as f64 * RAISE_STEP) as u64)
    } else {
        return None;
    };
    if next == current {
        return None;
    }
    layer.target = next;
    Some(next)
}

#[cfg(test)]
#[path = "controller_tests.rs"]
mod tests;
