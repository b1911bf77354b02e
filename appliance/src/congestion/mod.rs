//! The network drives the encoder: every guest's bandwidth estimate sets the shared
//! encoders' bitrates and which video layer each guest gets.
//!
//! Each guest's peer connection estimates its own path ([`bwe`] over TWCC, [`estimator`]).
//! Every [`TICK`] one task hands all estimates to the [`Controller`] (the rule, on plain
//! numbers) and carries out its decisions: an encoder's bitrate and the small layer on or
//! off through [`VideoControl`], a guest's layer through their [`Membership`], which their
//! video sender follows at the layer's next keyframe.
//!
//! A guest's estimate grows only with what they are sent ([`bwe`]'s earned growth), so a
//! guest on the small layer shows that their path has recovered with the small layer
//! itself: while its guests can take more it climbs past its ceiling towards the rate that
//! would bring them back ([`Controller`]). Probing with padding (not available in webrtc-rs
//! 0.21) would spare the small layer's guests that climb.
//!
//! Where guests see each other, the same task gives the [`Forwarder`] its budget every
//! tick and plans the layers in what its pictures leave: the uplink is one budget. It also
//! caps how many pictures each guest is shown by what their own link carries beside the
//! room's picture ([`Pictures`]).

pub mod bwe;
mod controller;
pub mod estimator;
pub(crate) mod hold;
pub mod meter;
mod pictures;
pub mod rate;
pub mod retransmit;
pub mod wire;

pub use controller::{
    Controller, Decision, FORWARD_SHARE, Limits, PLANNED_SHARE, VIDEO_SHARE, forward_allowance,
    planned_uplink, uplink_kbps_for,
};
pub use pictures::Pictures;

use crate::config::Config;
use crate::forward::{Forwarder, Voices};
use crate::media::VideoControl;
use crate::metrics::{GuestCounters, Metrics, lock};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use visavis_api::local::VideoLayer;
use visavis_api::signaling::GuestId;

/// How often the controller looks at the estimates.
pub const TICK: Duration = Duration::from_millis(250);
/// How long the plan must have fitted the uplink again before the log says so.
const FITS_AGAIN_AFTER: Duration = Duration::from_secs(10);

/// The plan against the uplink, for the log.
#[derive(Debug, Clone, Copy)]
enum CapState {
    Fits,
    /// Over it (said in the log).
    Over,
    /// Back under it since then, not said yet.
    UnderSince(std::time::Instant),
}

impl Limits {
    pub fn from_config(config: &Config) -> Self {
        let kbps = |k: u32| u64::from(k) * 1000;
        Limits {
            main_max: kbps(config.video.bitrate_kbps),
            main_min: kbps(config.min_video_kbps()),
            small_max: kbps(config.video.small_kbps()),
            small_min: 100_000,
            audio: config.audio.on_wire_bps(),
            uplink: planned_uplink(config.uplink.max_kbps),
        }
    }
}

struct Member {
    counters: Arc<GuestCounters>,
    layer: watch::Sender<VideoLayer>,
}

type Members = Arc<Mutex<BTreeMap<GuestId, Member>>>;

/// The congestion task's handle: guests join through it. Cheap to clone.
#[derive(Clone)]
pub struct Congestion {
    limits: Limits,
    members: Members,
}

/// A guest's place in congestion control, for as long as it lives: the layer the controller
/// wants them on.
pub struct Membership {
    pub layer: watch::Receiver<VideoLayer>,
    guest: GuestId,
    members: Members,
}

impl Drop for Membership {
    fn drop(&mut self) {
        lock(&self.members).remove(&self.guest);
    }
}

impl Congestion {
    /// Start the task that steers `control` and budgets `forward`, after what `voices`
    /// send (stops when every handle is gone); what the unit sends in all goes into `metrics`.
    pub fn start(
        config: &Config,
        control: VideoControl,
        forward: Option<Forwarder>,
        voices: Option<Voices>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let congestion = Congestion {
            limits: Limits::from_config(config),
            members: Arc::default(),
        };
        tokio::spawn(run(
            Controller::new(congestion.limits),
            Arc::downgrade(&congestion.members),
            control,
            forward,
            voices,
            metrics,
        ));
        congestion
    }

    /// A handle without a task: guests join, nothing is steered (for tests).
    #[cfg(test)]
    pub fn detached(limits: Limits) -> Self {
        Congestion {
            limits,
            members: Arc::default(),
        }
    }

    /// For a guest's peer connection, whose estimate goes into `counters`.
    pub fn join(&self, guest: GuestId, counters: Arc<GuestCounters>) -> Membership {
        let (tx, rx) = watch::channel(VideoLayer::Main);
        lock(&self.members).insert(
            guest.clone(),
            Member {
                counters,
                layer: tx,
            },
        );
        Membership {
            layer: rx,
            guest,
            members: self.members.clone(),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

async fn run(
    mut controller: Controller,
    members: std::sync::Weak<Mutex<BTreeMap<GuestId, Member>>>,
    control: VideoControl,
    forward: Option<Forwarder>,
    voices: Option<Voices>,
    metrics: Arc<Metrics>,
) {
    let mut meter = meter::SendMeter::default();
    let mut pictures = {
        use crate::forward::voices::{MAX_OPEN, VOICE_BPS};
        let voices = voices.as_ref().map_or(0, |_| MAX_OPEN as u64 * VOICE_BPS);
        Pictures::new(
            crate::forward::STREAM_BPS,
            voices,
            crate::forward::FORWARD_SLOTS,
        )
    };
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut known: Vec<GuestId> = Vec::new();
    let mut plan_vs_cap = CapState::Fits;
    loop {
        tick.tick().await;
        let Some(members) = members.upgrade() else {
            return;
        };
        let members = lock(&members);
        for gone in known.iter().filter(|g| !members.contains_key(*g)) {
            controller.leave(gone);
            pictures.leave(gone);
        }
        known = members.keys().cloned().collect();
        for (guest, m) in members.iter() {
            controller.join(guest.clone());
            let bps = m.counters.estimate_bps.load(Relaxed);
            controller.estimate(guest, (bps > 0).then_some(bps));
        }
        let now = std::time::Instant::now();
        meter.note(
            members
                .iter()
                .map(|(guest, m)| (guest, *lock(&m.counters.wire_out))),
        );
        // What the guests' paths add in headers comes first.
        controller.set_path_extra(
            members
                .values()
                .map(|m| m.counters.path_extra_bps.load(Relaxed))
                .sum(),
        );
        // The forwarded voices take their part first, then the forwarded pictures (the
        // layers keep their floor); the layers are planned in the rest.
        let voices_bps = voices.as_ref().map_or(0, Voices::planned_bps);
        if let Some(forward) = &forward {
            // The pictures' rate from every voice that could be forwarded (steady), their
            // number from the voices forwarded now.
            let all_voices = voices.as_ref().map_or(0, |_| {
                crate::forward::voices::reserve_bps(members.len() as u64)
            });
            let allowance = controller.forward_allowance();
            forward.set_room_for_pictures(allowance.saturating_sub(all_voices));
            forward.set_budget(allowance.saturating_sub(voices_bps));
            pictures.set_picture(forward.picture_bps());
            forward.keep_pace(now);
        }
        controller.set_forwarded(forward.as_ref().map_or(0, Forwarder::planned_bps) + voices_bps);
        controller.tick(now);
        // Each guest's own link: the room's picture first, then what it leaves for the
        // others' pictures.
        if let Some(forward) = &forward {
            for guest in members.keys() {
                let room = controller
                    .layer_of(guest)
                    .map_or(0, |layer| controller.target(layer));
                let shown = forward.showing(guest);
                if let Some(cap) =
                    pictures.update(guest, controller.usable(guest), room, shown, now)
                {
                    tracing::info!(guest = %guest, pictures = ?cap, "the guest's link carries this many of the others' pictures");
                    forward.set_link(guest, cap);
                }
            }
        }
        // Over the plan's uplink only with the room's layers at their floor and the guests'
        // paths adding more headers than that leaves (the configuration makes sure a full
        // call at the floor fits on direct paths). Said once, and "fits again" only after
        // it has for a while: at the floor, what the paths add hovers around what is left.
        let planned_bps = controller.planned_send();
        let over = planned_bps > controller.uplink();
        let (planned, uplink) = (planned_bps / 1000, controller.uplink() / 1000);
        match (over, plan_vs_cap) {
            (true, CapState::Fits) => {
                tracing::warn!(
                    planned_kbps = planned,
                    allowed_kbps = uplink,
                    "the call needs more than [uplink] max_kbps allows: the room's picture is at \
                     its floor and the guests' paths (relays, TCP, TLS, IPv6) add more headers \
                     than the cap leaves; raise max_kbps or lower video.min_bitrate_kbps"
                );
                plan_vs_cap = CapState::Over;
            }
            (true, _) => plan_vs_cap = CapState::Over,
            (false, CapState::Over) => plan_vs_cap = CapState::UnderSince(now),
            (false, CapState::UnderSince(since))
                if now.duration_since(since) >= FITS_AGAIN_AFTER =>
            {
                tracing::info!(
                    planned_kbps = planned,
                    allowed_kbps = uplink,
                    "the call fits [uplink] max_kbps again"
                );
                plan_vs_cap = CapState::Fits;
            }
            _ => {}
        }
        metrics.send_bps.store(meter.rate(), Relaxed);
        metrics.planned_send_bps.store(planned_bps, Relaxed);
        // In order: the small layer starts before anyone is moved onto it.
        while let Some(d) = controller.poll() {
            match d {
                Decision::Bitrate { layer, bps } => control.set_bitrate(layer, bps),
                Decision::SmallActive(on) => control.set_small_active(on),
                Decision::Move { guest, layer } => {
                    tracing::info!(guest = %guest, layer = layer.as_str(), "guest changes video layer");
                    if let Some(m) = members.get(&guest) {
                        let _ = m.layer.send(layer);
                    }
                }
            }
        }
    }
}
