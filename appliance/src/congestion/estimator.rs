//! Each guest's send-side bandwidth estimate, and the interceptor chain that makes it.
//!
//! webrtc-rs 0.21 runs a bandwidth estimator over transport-wide congestion control
//! feedback (TWCC) inside each peer connection's interceptor chain; ours is [`Bwe`] (GCC's
//! delay half bounded by rules on a standing queue and on heavy loss, see
//! [`super::bwe`]). The estimator is boxed
//! inside the chain, out of the application's reach, so [`Published`] wraps it and stores
//! its target in the guest's counters after every change, where the congestion task and
//! the metrics read it (the pattern of webrtc-rs's `bandwidth-estimation-from-disk`
//! example).
//!
//! Unlike `configure_congestion_control`, the chain has no pacer. webrtc-rs's pacer sends
//! at exactly the estimate with a queue of up to 4096 packets and no bound in time: after a
//! drop of the estimate or a cut of the link, the keyframes and retransmissions queued in it
//! reached the guest seconds late (a Chromium guest was still decoding two seconds of old
//! video twelve seconds into a cut of the unit's link, and froze for 18 s when its link fell
//! from 1.5 Mbit/s to 500 kbit/s). The encoders follow the estimate instead, which keeps
//! what is sent near it.

use super::bwe::Bwe;
use super::controller::{Limits, VIDEO_SHARE};
use super::retransmit::NackGate;
use crate::metrics::GuestCounters;
use rtc::interceptor::{
    BandwidthEstimator, CongestionControlBuilder, EstimatorStats, PacketReport, Registry, Slot,
    TwccSenderBuilder,
};
use rtc::interceptor::{NackGeneratorBuilder, NackResponderBuilder};
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc_receiver_only,
};
use rtc::rtp_transceiver::rtp_sender::{RTCPFeedback, RtpCodecKind};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;
use webrtc::peer_connection::MediaEngine;

/// Delegates to `inner` and publishes its target once the remote's feedback has spoken.
pub struct Published<E: BandwidthEstimator> {
    inner: E,
    counters: Arc<GuestCounters>,
    /// Feedback arrived at least once: before that the target is only the starting guess.
    heard: bool,
    /// When the estimator's halves were last traced.
    traced: Option<Instant>,
}

impl<E: BandwidthEstimator> Published<E> {
    pub fn new(inner: E, counters: Arc<GuestCounters>) -> Self {
        Published {
            inner,
            counters,
            heard: false,
            traced: None,
        }
    }

    fn publish(&self) {
        if self.heard {
            let bps = self.inner.target_bitrate().max(1.0) as u64;
            self.counters.estimate_bps.store(bps, Relaxed);
            if let Some(rtt) = self.inner.stats().round_trip_time {
                self.counters
                    .rtt_us
                    .store(rtt.as_micros().max(1) as u64, Relaxed);
            }
        }
    }
}

impl<E: BandwidthEstimator> BandwidthEstimator for Published<E> {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        self.inner.on_reports(now, reports);
        self.heard |= !reports.is_empty();
        self.publish();
        if self
            .traced
            .is_none_or(|t| now >= t + std::time::Duration::from_secs(1))
        {
            self.traced = Some(now);
            let s = self.inner.stats();
            tracing::debug!(
                target_bps = self.inner.target_bitrate() as u64,
                delay_bps = s.delay_based_bitrate.map(|b| b as u64),
                loss_bps = s.loss_based_bitrate.map(|b| b as u64),
                loss = s.packet_loss,
                "bandwidth estimate"
            );
        }
    }

    fn target_bitrate(&self) -> f64 {
        self.inner.target_bitrate()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
        self.publish();
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }

    fn stats(&self) -> EstimatorStats {
        self.inner.stats()
    }
}

/// Where a guest's estimator starts and the range it stays in, bits per second.
///
/// Above what the main layer sends at its ceiling (video, audio and overhead): a guest
/// whose network has not objected yet must not lower anyone's video. The estimate comes down from
/// there at the first sign of congestion.
pub fn bounds(limits: &Limits) -> (f64, f64, f64) {
    let start = (limits.main_max + limits.audio) as f64 / VIDEO_SHARE * 1.25;
    (start, limits.small_min as f64, start * 2.0)
}

/// The interceptor chain for one guest: NACK (generator and responder, which
/// retransmits over RTX when negotiated, within the budget of [`super::retransmit`]), RTCP reports, the MID/RID header extensions, and
/// send-side congestion control ([`Bwe`] over TWCC: the TWCC sender numbers packets, the
/// receiver reports what arrives), its estimate published into `counters`. This is
/// webrtc-rs's default chain with what `configure_congestion_control` adds but its pacer
/// (see the module docs).
pub fn registry(
    registry: Registry,
    media_engine: &mut MediaEngine,
    limits: &Limits,
    counters: Arc<GuestCounters>,
) -> Result<Registry, webrtc::error::Error> {
    // webrtc-rs's `configure_nack`, its responder behind the retransmission budget.
    for parameter in ["", "pli"] {
        media_engine.register_feedback(
            RTCPFeedback {
                typ: "nack".to_owned(),
                parameter: parameter.to_owned(),
            },
            RtpCodecKind::Video,
        );
    }
    let registry = registry
        .with(
            Slot::NackResponder,
            NackGate::new(NackResponderBuilder::new().build(), counters.clone()),
        )
        .with(Slot::NackGenerator, NackGeneratorBuilder::new().build());
    configure_simulcast_extension_headers(media_engine)?;
    let registry = configure_rtcp_reports(registry);
    // The transport-cc feedback and header extension for audio and video, and the receiver.
    let registry = configure_twcc_receiver_only(registry, media_engine)?;
    let (start, min, max) = bounds(limits);
    let estimator = Published::new(
        Bwe::new(start, min, max).publishing_queue(counters.clone()),
        counters,
    );
    Ok(registry
        .with(
            Slot::CongestionControl,
            CongestionControlBuilder::new(estimator).build(),
        )
        .with(Slot::TwccSender, TwccSenderBuilder::new().build()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::interceptor::ConstantBitrate;
    use rtc::interceptor::Slot;

    const LIMITS: Limits = Limits {
        main_max: 2_500_000,
        main_min: 600_000,
        small_max: 500_000,
        small_min: 100_000,
        audio: 64_000,
        uplink: 1_000_000_000,
    };

    #[test]
    fn the_chain_has_nack_reports_and_congestion_control_but_no_pacer() {
        let mut engine = MediaEngine::default();
        engine.register_default_codecs().unwrap();
        let counters = Arc::new(GuestCounters::default());
        let r = registry(Registry::new(), &mut engine, &LIMITS, counters).unwrap();
        let slots: Vec<Slot> = r.slots().into_iter().map(|(s, _)| s).collect();
        for wanted in [
            Slot::NackResponder,
            Slot::NackGenerator,
            Slot::TwccReceiver,
            Slot::TwccSender,
            Slot::CongestionControl,
            Slot::ReceiverReport,
            Slot::SenderReport,
        ] {
            assert!(slots.contains(&wanted), "{wanted:?} missing from {slots:?}");
        }
        assert!(!slots.contains(&Slot::Pacer), "{slots:?}");
    }

    #[test]
    fn the_estimate_is_published_only_once_feedback_came() {
        let counters = Arc::new(GuestCounters::default());
        let mut e = Published::new(ConstantBitrate::new(1_500_000.0), counters.clone());
        let now = Instant::now();
        e.handle_timeout(now);
        e.on_reports(now, &[]);
        assert_eq!(counters.estimate_bps.load(Relaxed), 0, "no feedback yet");
        let report = PacketReport {
            ssrc: 1,
            id: 1,
            rtp_sequence_number: 1,
            is_twcc: true,
            twcc_sequence_number: 1,
            size: 1200,
            arrived: true,
            departure: now,
            arrival: Some(std::time::Duration::from_millis(5)),
            ecn: Default::default(),
        };
        e.on_reports(now, &[report]);
        assert_eq!(counters.estimate_bps.load(Relaxed), 1_500_000);
    }

    #[test]
    fn the_estimate_starts_above_what_the_main_layer_sends() {
        let (start, min, max) = bounds(&LIMITS);
        assert!(start * VIDEO_SHARE > (LIMITS.main_max + LIMITS.audio) as f64);
        assert!(min <= LIMITS.small_min as f64 && max > start);
    }
}
