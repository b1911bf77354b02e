//! Retransmissions within a budget: an interceptor in front of webrtc-rs's NACK responder
//! that lets through only the requests worth answering.
//!
//! webrtc-rs's responder answers every NACK, every time, and its RTX packets carry no
//! transport-wide sequence number, so the bandwidth estimate never sees them. On a thin link
//! that went wrong: after an overshoot (the call's start, a drop of the cap) the guest's
//! Chromium asked again for packets whose retransmissions were still queued behind the
//! overshoot, each ask was answered, and the retransmissions kept the link's queue full for
//! seconds while the video itself was down to a third of the link (the guest froze, and the
//! estimate read the standing queue as a reason to send even less).
//!
//! [`RetransmitGate`] (the rule, on plain instants) answers a packet at most once per
//! round trip (queue included, [`REPEAT_RTTS`]; a lossy path with a short round trip still
//! gets its repeated asks answered), and answers at most [`SHARE`] of the guest's estimate in
//! retransmissions (a bucket of [`BURST`] packets, refilled at that rate). A request left
//! unanswered costs the guest a keyframe request at worst, which the layer's keyframe
//! coalescing serves. [`NackGate`] applies it to the NACKs a guest sends, only while a
//! queue of at least [`QUEUED`] stands on the way to the guest (the estimate publishes it):
//! through the lab's relay, which loses bursts without queueing, calls froze once their
//! repeated asks went unanswered.
//!
//! With no queue standing, a loss is the path's own (radio, a lossy hop), not the unit's
//! overshoot, and a lost retransmission is what freezes the guest: the page waits one more
//! round trip for the packet, longer than a frame may be late. There each retransmission
//! goes out twice, back to back ([`NackGate`]): on a path losing 2 % of packets at random,
//! one lost in 2,500 instead of 1 in 50, for a 2 % rise in what the unit sends. The
//! receiver's SRTP replay check drops the second copy when the first arrived. A loss that
//! takes both (a burst) costs the round trip it did before.
//!
//! A NACK lost on its way from the guest (a guest's link loses both ways) costs the same
//! round trip: the guest asks again only after one. Its congestion feedback (TWCC, every
//! 50–100 ms) tells of the loss in another packet: the estimate leaves the packets it shows
//! lost in the guest's counters (alone or in a short run, not the long runs a lost feedback
//! leaves unreported), and the gate resends those of its streams no NACK asked for, as if
//! one had ([`Ask::Report`]). A NACK that comes right after for a packet a report resent is
//! not answered again, nor a report for a packet a NACK just had resent
//! ([`RetransmitGate::admit`]).

use crate::metrics::GuestCounters;
use rtc::interceptor::Attribute;
use rtc::interceptor::{Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::transport_feedbacks::transport_layer_nack::{
    TransportLayerNack, nack_pairs_from_sequence_numbers,
};
use rtc::sansio::Protocol;
use rtc::shared::error::Error;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// A packet is retransmitted at most once per round trip (as the guest's feedback shows
/// it, queue included) and a little more, so a request made while the last retransmission
/// is still on its way is not answered again; never less than this...
pub const REPEAT_AFTER: Duration = Duration::from_millis(20);
/// ...and this many round trips.
pub const REPEAT_RTTS: f64 = 1.2;
/// Retransmissions take at most this share of the guest's estimate...
pub const SHARE: f64 = 0.2;
/// ...with bursts of up to this many packets.
pub const BURST: f64 = 30.0;
/// The budget applies only while a queue this long stands on the way to the guest (a path
/// that loses bursts without queueing, as the lab's relay does, needs every retransmission
/// it asks for).
pub const QUEUED: Duration = Duration::from_millis(40);
/// A NACK that comes within this share of a round trip after a report resent its packet
/// is the guest's first ask for it, already answered; a later one asks again (the
/// retransmission was lost).
pub const REPORT_AHEAD_RTTS: f64 = 0.5;
/// The sender SSRC of the NACKs the gate makes from reports: they are answered and go no
/// further up the chain.
const REPORT_SENDER: u32 = 0x5649_5341;
/// The size a retransmission is counted at (a full video packet).
const PACKET_BITS: f64 = 1200.0 * 8.0;
/// The estimate assumed before the first feedback.
const UNKNOWN_ESTIMATE: f64 = 1_000_000.0;

/// Who asked for a packet again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// The guest, by NACK.
    Nack,
    /// The guest's congestion feedback, which reported it lost (its NACK may have been lost
    /// on the way).
    Report,
}

/// See the module docs.
#[derive(Debug)]
pub struct RetransmitGate {
    answered: HashMap<(u32, u16), (Instant, Ask)>,
    tokens: f64,
    refilled: Option<Instant>,
}

impl Default for RetransmitGate {
    fn default() -> Self {
        RetransmitGate {
            answered: HashMap::new(),
            tokens: BURST,
            refilled: None,
        }
    }
}

impl RetransmitGate {
    /// Whether to retransmit packet `seq` of `ssrc`, asked for at `now` by `ask`, with the
    /// guest's estimate at `estimate_bps` and round trip `rtt`; `queued`: a queue stands on
    /// the way to the guest (the budget applies).
    ///
    /// A report is answered unless the packet was resent within the round trip (its NACK
    /// came, or an earlier report). A NACK behind a queue is answered once per round trip;
    /// with no queue every NACK is, but the first one for a packet a report resent moments
    /// before (within [`REPORT_AHEAD_RTTS`] of a round trip).
    #[allow(clippy::too_many_arguments)]
    pub fn admit(
        &mut self,
        now: Instant,
        estimate_bps: f64,
        rtt: Duration,
        ssrc: u32,
        seq: u16,
        ask: Ask,
        queued: bool,
    ) -> bool {
        let repeat_after = rtt.mul_f64(REPEAT_RTTS).max(REPEAT_AFTER);
        if let Some(last) = self.refilled {
            let per_second = estimate_bps * SHARE / PACKET_BITS;
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + per_second * elapsed).min(BURST);
        }
        self.refilled = Some(now);
        let within = |at: Instant, span: Duration| now < at + span;
        let repeat = match (ask, self.answered.get(&(ssrc, seq)).copied()) {
            (_, None) => false,
            (Ask::Report, Some((at, _))) => within(at, repeat_after),
            (Ask::Nack, Some((at, _))) if queued => within(at, repeat_after),
            (Ask::Nack, Some((at, Ask::Report))) => {
                within(at, rtt.mul_f64(REPORT_AHEAD_RTTS).max(REPEAT_AFTER))
            }
            (Ask::Nack, Some((_, Ask::Nack))) => false,
        };
        if repeat {
            return false;
        }
        if queued {
            if self.tokens < 1.0 {
                return false;
            }
            self.tokens -= 1.0;
        }
        if self.answered.len() >= 4096 {
            self.answered.retain(|_, (at, _)| within(*at, repeat_after));
        }
        self.answered.insert((ssrc, seq), (now, ask));
        true
    }
}

/// The NACK responder `inner`, fed only the requests the gate admits, its retransmissions
/// sent twice while no queue stands, and counted as they leave (see the module docs).
pub struct NackGate<I: Interceptor> {
    inner: I,
    gate: RetransmitGate,
    counters: Arc<GuestCounters>,
    /// The local streams the responder keeps packets of (NACK negotiated).
    resendable: HashSet<u32>,
    /// Whether the last requests were answered with no queue standing: their
    /// retransmissions go out twice.
    twice: bool,
    /// Second copies, sent right behind their first.
    repeats: VecDeque<TaggedPacket>,
}

impl<I: Interceptor> NackGate<I> {
    pub fn new(inner: I, counters: Arc<GuestCounters>) -> Self {
        NackGate {
            inner,
            gate: RetransmitGate::default(),
            counters,
            resendable: HashSet::new(),
            twice: false,
            repeats: VecDeque::new(),
        }
    }

    /// The NACK (from the guest, or made from reports: `ask`) with only the admitted
    /// sequence numbers (`None`: none admitted).
    fn filter(
        &mut self,
        now: Instant,
        nack: &TransportLayerNack,
        ask: Ask,
    ) -> Option<TransportLayerNack> {
        let estimate = match self.counters.estimate_bps.load(Relaxed) {
            0 => UNKNOWN_ESTIMATE,
            bps => bps as f64,
        };
        let rtt = Duration::from_micros(self.counters.rtt_us.load(Relaxed));
        let mut asked: Vec<u16> = nack
            .nacks
            .iter()
            .flat_map(|pair| pair.packet_list())
            .collect();
        asked.dedup();
        let count = asked.len() as u64;
        let queue = Duration::from_micros(self.counters.queue_us.load(Relaxed));
        // No queue stands: every ask is answered (but for a packet just resent), twice.
        self.twice = queue < QUEUED;
        let queued = !self.twice;
        let admitted: Vec<u16> = asked
            .into_iter()
            .filter(|seq| {
                self.gate
                    .admit(now, estimate, rtt, nack.media_ssrc, *seq, ask, queued)
            })
            .collect();
        if ask == Ask::Nack {
            let answered = admitted.len() as u64;
            self.counters
                .retransmits_refused
                .fetch_add(count - answered, Relaxed);
        }
        (!admitted.is_empty()).then(|| TransportLayerNack {
            sender_ssrc: nack.sender_ssrc,
            media_ssrc: nack.media_ssrc,
            nacks: nack_pairs_from_sequence_numbers(&admitted),
        })
    }
}

impl<I: Interceptor> Protocol<TaggedPacket, TaggedPacket, ()> for NackGate<I> {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        // Feedback comes in RTCP, and the congestion controller, nearer the wire, has read
        // this packet's already.
        if matches!(msg.message.packet, Packet::Rtcp(_)) {
            self.resend_reported(msg.now, msg.transport)?;
        }
        if let Packet::Rtcp(packets) = &msg.message.packet
            && packets
                .iter()
                .any(|p| p.as_any().is::<TransportLayerNack>())
        {
            let now = msg.now;
            let mut kept: Vec<Box<dyn rtc::rtcp::Packet>> = Vec::new();
            for p in packets {
                match p.as_any().downcast_ref::<TransportLayerNack>() {
                    Some(nack) => {
                        if let Some(admitted) = self.filter(now, nack, Ask::Nack) {
                            kept.push(Box::new(admitted));
                        }
                    }
                    None => kept.push(p.clone()),
                }
            }
            if kept.is_empty() {
                // Only refused requests: nothing for anyone further up.
                return Ok(());
            }
            msg.message.packet = Packet::Rtcp(kept);
        }
        self.inner.handle_read(msg)
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        // The NACKs made from reports end here.
        std::iter::from_fn(|| self.inner.poll_read()).find(|msg| !made_from_reports(msg))
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.inner.handle_write(msg)
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        let packet = match self.repeats.pop_front() {
            Some(repeat) => repeat,
            None => {
                let packet = self.inner.poll_write()?;
                if self.twice && packet.message.has(&Attribute::Retransmission) {
                    self.repeats.push_back(TaggedPacket {
                        now: packet.now,
                        transport: packet.transport,
                        message: packet.message.clone(),
                    });
                }
                packet
            }
        };
        // Retransmissions (second copies too) are counted as they leave: the responder has
        // no copy of a packet too old, and the estimate counts what filled the link.
        if packet.message.has(&Attribute::Retransmission) {
            self.counters.retransmitted.fetch_add(1, Relaxed);
        }
        Some(packet)
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), Self::Error> {
        self.inner.handle_timeout(now)
    }

    fn poll_timeout(&mut self) -> Option<Self::Time> {
        self.inner.poll_timeout()
    }
}

impl<I: Interceptor> NackGate<I> {
    /// Hand the responder, as NACKs of our own, the packets of its streams that the guest's
    /// feedback reported lost, but those already resent (see [`RetransmitGate::admit`]).
    fn resend_reported(
        &mut self,
        now: Instant,
        transport: rtc::shared::TransportContext,
    ) -> Result<(), Error> {
        let reported = match self.counters.reported_lost.lock() {
            Ok(mut lost) if !lost.is_empty() => std::mem::take(&mut *lost),
            _ => return Ok(()),
        };
        let mut by_stream: HashMap<u32, Vec<u16>> = HashMap::new();
        for (ssrc, seq) in reported {
            if self.resendable.contains(&ssrc) {
                by_stream.entry(ssrc).or_default().push(seq);
            }
        }
        // Each stream's in send order, as the feedback reported them.
        for (ssrc, seqs) in by_stream {
            let nack = TransportLayerNack {
                sender_ssrc: REPORT_SENDER,
                media_ssrc: ssrc,
                nacks: nack_pairs_from_sequence_numbers(&seqs),
            };
            if let Some(admitted) = self.filter(now, &nack, Ask::Report) {
                self.inner.handle_read(TaggedPacket {
                    now,
                    transport,
                    message: rtc::interceptor::AttributedPacket::new(Packet::Rtcp(vec![Box::new(
                        admitted,
                    )])),
                })?;
            }
        }
        Ok(())
    }
}

/// A NACK the gate made from reports, coming back up from the responder.
fn made_from_reports(msg: &TaggedPacket) -> bool {
    match &msg.message.packet {
        Packet::Rtcp(packets) => packets.iter().all(|p| {
            p.as_any()
                .downcast_ref::<TransportLayerNack>()
                .is_some_and(|n| n.sender_ssrc == REPORT_SENDER)
        }),
        _ => false,
    }
}

impl<I: Interceptor> Interceptor for NackGate<I> {
    fn bind_local_stream(&mut self, info: &StreamInfo) {
        if info
            .rtcp_feedback
            .iter()
            .any(|f| f.typ == "nack" && f.parameter.is_empty())
        {
            self.resendable.insert(info.ssrc);
        }
        self.inner.bind_local_stream(info);
    }
    fn unbind_local_stream(&mut self, info: &StreamInfo) {
        self.resendable.remove(&info.ssrc);
        self.inner.unbind_local_stream(info);
    }
    fn bind_remote_stream(&mut self, info: &StreamInfo) {
        self.inner.bind_remote_stream(info);
    }
    fn unbind_remote_stream(&mut self, info: &StreamInfo) {
        self.inner.unbind_remote_stream(info);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packet_asked_again_soon_is_not_sent_twice() {
        let mut g = RetransmitGate::default();
        let t = Instant::now();
        let rtt = Duration::from_millis(300);
        let later = t + Duration::from_millis(300);
        assert!(g.admit(t, 1e6, rtt, 1, 7, Ask::Nack, true));
        assert!(
            !g.admit(later, 1e6, rtt, 1, 7, Ask::Nack, true),
            "still on its way"
        );
        assert!(
            g.admit(later, 1e6, rtt, 1, 8, Ask::Nack, true),
            "another one"
        );
        assert!(
            g.admit(later, 1e6, rtt, 2, 7, Ask::Nack, true),
            "another stream"
        );
        let again = t + rtt.mul_f64(REPEAT_RTTS);
        assert!(
            g.admit(again, 1e6, rtt, 1, 7, Ask::Nack, true),
            "asked again a round trip later"
        );
        // A short round trip: asked again soon, answered again.
        let mut g = RetransmitGate::default();
        let short = Duration::from_millis(5);
        assert!(g.admit(t, 1e6, short, 1, 7, Ask::Nack, true));
        assert!(g.admit(t + REPEAT_AFTER, 1e6, short, 1, 7, Ask::Nack, true));
    }

    #[test]
    fn retransmissions_stay_within_a_share_of_the_estimate() {
        let mut g = RetransmitGate::default();
        let t = Instant::now();
        // A storm of requests for distinct packets: 200 a second for 10 s at 1 Mbit/s.
        let mut sent = 0u32;
        for i in 0..2000u32 {
            let now = t + Duration::from_millis(u64::from(i) * 5);
            sent += u32::from(g.admit(now, 1e6, Duration::ZERO, 1, i as u16, Ask::Nack, true));
        }
        let allowed = BURST + 10.0 * 1e6 * SHARE / PACKET_BITS;
        assert!(f64::from(sent) <= allowed + 1.0, "{sent} > {allowed}");
        assert!(
            f64::from(sent) >= allowed - 2.0,
            "{sent} < {allowed}: the budget is used"
        );
        // Twice the estimate, about twice the retransmissions.
        let mut g = RetransmitGate::default();
        let mut sent2 = 0u32;
        for i in 0..2000u32 {
            let now = t + Duration::from_millis(u64::from(i) * 5);
            sent2 += u32::from(g.admit(now, 2e6, Duration::ZERO, 1, i as u16, Ask::Nack, true));
        }
        assert!(
            f64::from(sent2) > 1.7 * (f64::from(sent) - BURST),
            "{sent2} vs {sent}"
        );
    }

    #[test]
    fn a_nack_keeps_only_what_the_gate_admits() {
        use rtc::rtcp::transport_feedbacks::transport_layer_nack::NackPair;
        let counters = Arc::new(GuestCounters::default());
        counters.rtt_us.store(300_000, Relaxed);
        counters.queue_us.store(200_000, Relaxed);
        let mut gate = NackGate::new(rtc::interceptor::NoopInterceptor::new(), counters);
        let t = Instant::now();
        let nack = |seqs: &[u16]| TransportLayerNack {
            sender_ssrc: 9,
            media_ssrc: 1,
            nacks: nack_pairs_from_sequence_numbers(seqs),
        };
        let first = gate
            .filter(t, &nack(&[10, 11, 12]), Ask::Nack)
            .expect("all new");
        let seqs: Vec<u16> = first.nacks.iter().flat_map(NackPair::packet_list).collect();
        assert_eq!(seqs, vec![10, 11, 12]);
        let again = gate
            .filter(
                t + Duration::from_millis(50),
                &nack(&[11, 12, 13]),
                Ask::Nack,
            )
            .expect("13 is new");
        let seqs: Vec<u16> = again.nacks.iter().flat_map(NackPair::packet_list).collect();
        assert_eq!(seqs, vec![13]);
        assert!(
            gate.filter(t + Duration::from_millis(60), &nack(&[10, 13]), Ask::Nack)
                .is_none()
        );
        // No queue stands: everything is answered.
        gate.counters.queue_us.store(0, Relaxed);
        let all = gate
            .filter(t + Duration::from_millis(70), &nack(&[10, 13]), Ask::Nack)
            .unwrap();
        let seqs: Vec<u16> = all.nacks.iter().flat_map(NackPair::packet_list).collect();
        assert_eq!(seqs, vec![10, 13]);
    }

    /// The chain's responder behind the gate, with stream 1 (RTX stream 2) holding
    /// packets 10 to 12.
    fn responder(
        counters: Arc<GuestCounters>,
    ) -> NackGate<rtc::interceptor::NackResponderInterceptor> {
        use rtc::interceptor::{AttributedPacket, NackResponderBuilder, RTCPFeedback};
        let mut gate = NackGate::new(NackResponderBuilder::new().build(), counters);
        gate.bind_local_stream(&StreamInfo {
            ssrc: 1,
            ssrc_rtx: Some(2),
            payload_type: 96,
            payload_type_rtx: Some(97),
            rtcp_feedback: vec![RTCPFeedback {
                typ: "nack".into(),
                parameter: String::new(),
            }],
            ..Default::default()
        });
        for seq in 10..=12u16 {
            let mut packet = rtc::rtp::Packet::default();
            packet.header.version = 2;
            packet.header.ssrc = 1;
            packet.header.sequence_number = seq;
            packet.payload = vec![seq as u8; 100].into();
            gate.handle_write(TaggedPacket {
                now: Instant::now(),
                transport: Default::default(),
                message: AttributedPacket::new(Packet::Rtp(packet)),
            })
            .unwrap();
        }
        while gate.poll_write().is_some() {}
        gate
    }

    /// The RTX packets the gate sends when `seq` is asked for.
    fn answer(
        gate: &mut NackGate<rtc::interceptor::NackResponderInterceptor>,
        seq: u16,
    ) -> Vec<u16> {
        let nack = TransportLayerNack {
            sender_ssrc: 9,
            media_ssrc: 1,
            nacks: nack_pairs_from_sequence_numbers(&[seq]),
        };
        gate.handle_read(TaggedPacket {
            now: Instant::now(),
            transport: Default::default(),
            message: rtc::interceptor::AttributedPacket::new(Packet::Rtcp(vec![Box::new(nack)])),
        })
        .unwrap();
        while gate.poll_read().is_some() {}
        std::iter::from_fn(|| gate.poll_write())
            .map(|p| match p.message.packet {
                Packet::Rtp(rtp) => {
                    assert_eq!(rtp.header.ssrc, 2, "sent on the RTX stream");
                    u16::from_be_bytes([rtp.payload[0], rtp.payload[1]])
                }
                other => panic!("not a retransmission: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn with_no_queue_standing_a_retransmission_goes_out_twice_and_once_behind_a_queue() {
        let counters = Arc::new(GuestCounters::default());
        let mut gate = responder(counters.clone());
        assert_eq!(
            answer(&mut gate, 11),
            vec![11, 11],
            "a lossy path, no queue"
        );
        assert_eq!(counters.retransmitted.load(Relaxed), 2);
        // A queue stands: the unit is the cause, and a second copy would only add to it.
        counters.queue_us.store(200_000, Relaxed);
        assert_eq!(answer(&mut gate, 12), vec![12]);
        assert_eq!(counters.retransmitted.load(Relaxed), 3);
    }

    /// The RTX packets the gate sends once the guest's feedback reported `lost` (SSRC,
    /// sequence number), as the estimate leaves them, with the feedback that reported them;
    /// nothing of the gate's own goes up the chain.
    fn resend_reported(
        gate: &mut NackGate<rtc::interceptor::NackResponderInterceptor>,
        lost: &[(u32, u16)],
    ) -> Vec<u16> {
        gate.counters
            .reported_lost
            .lock()
            .unwrap()
            .extend_from_slice(lost);
        // The RTCP packet whose feedback reported them (the congestion controller read it).
        let feedback = rtc::rtcp::receiver_report::ReceiverReport {
            ssrc: 9,
            ..Default::default()
        };
        gate.handle_read(TaggedPacket {
            now: Instant::now(),
            transport: Default::default(),
            message: rtc::interceptor::AttributedPacket::new(Packet::Rtcp(vec![Box::new(
                feedback,
            )])),
        })
        .unwrap();
        let up: Vec<TaggedPacket> = std::iter::from_fn(|| gate.poll_read()).collect();
        assert_eq!(
            up.len(),
            1,
            "the feedback goes on up; the gate's own NACKs go no further"
        );
        assert!(!made_from_reports(&up[0]));
        assert!(gate.counters.reported_lost.lock().unwrap().is_empty());
        std::iter::from_fn(|| gate.poll_write())
            .map(|p| match p.message.packet {
                Packet::Rtp(rtp) => u16::from_be_bytes([rtp.payload[0], rtp.payload[1]]),
                other => panic!("not a retransmission: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_packet_reported_lost_is_resent_once_whoever_asks_first() {
        let counters = Arc::new(GuestCounters::default());
        counters.rtt_us.store(200_000, Relaxed);
        let mut gate = responder(counters.clone());
        // The guest's NACK for 11 was lost; its feedback says 11 did not arrive (and so
        // did an audio packet, of a stream the responder keeps nothing of).
        assert_eq!(resend_reported(&mut gate, &[(1, 11), (5, 3)]), vec![11, 11]);
        // Its NACK for 11 after all: answered moments ago.
        assert_eq!(answer(&mut gate, 11), Vec::<u16>::new());
        assert_eq!(counters.retransmits_refused.load(Relaxed), 1);
        // The other way round: the NACK first, then the report of the same loss.
        assert_eq!(answer(&mut gate, 12), vec![12, 12]);
        assert_eq!(resend_reported(&mut gate, &[(1, 12)]), Vec::<u16>::new());
        // Behind a queue, a report is answered as a NACK would be: once, within budget.
        counters.queue_us.store(200_000, Relaxed);
        assert_eq!(resend_reported(&mut gate, &[(1, 10)]), vec![10]);
        assert_eq!(resend_reported(&mut gate, &[(1, 10)]), Vec::<u16>::new());
    }

    #[test]
    fn a_nack_after_a_report_is_answered_if_it_asks_again() {
        let mut g = RetransmitGate::default();
        let t = Instant::now();
        let rtt = Duration::from_millis(200);
        assert!(g.admit(t, 1e6, rtt, 1, 7, Ask::Report, false));
        let first_ask = t + rtt.mul_f64(REPORT_AHEAD_RTTS) - Duration::from_millis(1);
        assert!(
            !g.admit(first_ask, 1e6, rtt, 1, 7, Ask::Nack, false),
            "the guest's first ask, already answered"
        );
        let again = t + rtt.mul_f64(REPORT_AHEAD_RTTS) + Duration::from_millis(1);
        assert!(
            g.admit(again, 1e6, rtt, 1, 7, Ask::Nack, false),
            "asked again: that retransmission was lost"
        );
        assert!(
            !g.admit(again, 1e6, rtt, 1, 7, Ask::Report, false),
            "a report of a packet just resent"
        );
    }

    #[test]
    fn only_retransmissions_that_leave_are_counted() {
        // The responder holds packets 10 to 12: one asked for beyond them is not sent,
        // and fills no link.
        let counters = Arc::new(GuestCounters::default());
        let mut gate = responder(counters.clone());
        assert_eq!(answer(&mut gate, 40), Vec::<u16>::new());
        assert_eq!(counters.retransmitted.load(Relaxed), 0);
        assert_eq!(counters.retransmits_refused.load(Relaxed), 0);
    }
}
