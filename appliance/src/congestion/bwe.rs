//! A guest's bandwidth estimate for a path whose random loss NACK/RTX repairs: GCC's
//! delay-gradient half, bounded by two rules of our own on a standing queue and on loss.
//! Reports in, a target out; no clock, no I/O.
//!
//! webrtc-rs 0.21's `Gcc` takes the lower of its delay half and its loss half. On the lab's
//! thin links (a `tbf` cap with a 200 ms queue, 2 % random loss) neither served: the delay
//! half never backed off (it climbed to its ceiling while the queue stood full and dropped
//! most packets), and the loss half backed off from its own target by half the loss every
//! 200 ms for as long as the loss lasted, so one overshoot (the start, a drop of the cap)
//! took it to its floor; from there it climbs only while every batch of feedback shows under
//! 2 % loss, which 2 % random loss rarely allows. The guest sat far below their link.
//!
//! [`Bwe`] keeps GCC's delay half as an upper bound and replaces the loss half with:
//!
//! - **A standing queue** (one-way delay above its minimum over [`BASE_WINDOW`], the lowest
//!   of a feedback batch, above [`QUEUE_LIMIT`]) or **heavy loss** (over [`HIGH_LOSS`] of the
//!   packets sent in the last [`LOSS_WINDOW`]): back off to [`BACKOFF`] times what the guest
//!   *received* over the last [`RATE_WINDOW`] (with the retransmissions sent meanwhile:
//!   they fill the same link unseen), which is the path's rate while it congests
//!   (for a queue, less the share of it that drains the queue within [`DRAIN_IN`]; for
//!   loss, also to at most the target less half the loss, as GCC's loss half does),
//!   and remember that rate as the path's ceiling. Packets sent before the encoders could
//!   follow ([`REACTION`]) are not judged again, so one congestion event costs one back-off;
//!   while it lasts, a further back-off waits [`AGAIN_AFTER`], and for a queue only comes
//!   if the queue is not draining ([`DRAINING`]; a queue still over the limit
//!   [`DRAIN_TIME`] after a back-off, or dropping over [`HIGH_LOSS`], is not draining: seen
//!   in the lab, a rate that kept a 200–600 ms queue for 12 s because it was lower than
//!   the second-long one at the back-off). When what the path carried, retransmissions
//!   counted in, is more than the rate, the rate itself backs off by [`BACKOFF`]. The
//!   episode's ceiling stays the highest rate it saw (after the first back-off the guest
//!   receives what is sent, not what the path carries), and a back-off whose measure is a
//!   third or more retransmissions ([`RETRANSMIT_HEAVY`]) leaves a known ceiling as it
//!   was. A queue caught short ([`CEILING_QUEUE`], nothing dropped) is caught before the
//!   path's rate shows in what arrived: it lowers a known ceiling by at most
//!   [`EARLY_LOWERS`], and what it sets gives way to the next back-off of its episode on a
//!   longer queue (or is forgotten, if that one's measure is mostly retransmissions).
//!   A queue alone (under [`LOW_LOSS`] lost) never takes the rate below [`QUEUE_FLOOR`]
//!   of the highest rate the path showed at a back-off (what arrived, retransmissions left
//!   out, and never more than was sent: [`Bwe::received`]) within [`CEILING_MEMORY`]:
//!   delay without loss and without the throughput to explain it is radio contention or a
//!   busy router, which sending less does not cure. A queue that also drops packets is a
//!   bottleneck we fill (a cap that dropped): no floor then, and what the guest received
//!   becomes the path's ceiling (the first back-off after a drop still saw packets that
//!   crossed the old link, and set both too high: the estimate climbed fast back over the
//!   new cap, or stayed above it).
//! - **Feedback lost on its way back** is not loss: webrtc-rs reports every packet no
//!   feedback mentioned as lost, so a run of "lost" packets sent over more than
//!   [`LOST_RUN`] is left out (unless such runs are more than [`UNKNOWN_AT_MOST`] of the
//!   packets), and what the guest received is measured over the stretches feedback
//!   covered. (Retransmissions carry no transport-wide sequence number and feedback never
//!   mentions them: a back-off counts them from what the unit sent ([`Bwe::retransmitted`]:
//!   after a burst of losses they filled a 600 kbit/s link while the guest was seen to
//!   receive 53 kbit/s, and the rate fell to its floor). [`super::retransmit`] keeps them
//!   within a budget while the standing queue this estimate publishes is long.)
//! - **Random loss** under [`HIGH_LOSS`] is what NACK/RTX repairs: it never lowers the rate.
//!   Under [`LOW_LOSS`] (over [`CALM_WINDOW`]) and with no queue to speak of, the rate climbs:
//!   fast ([`FAST_GROWTH`] per [`STEP`]) while well under the ceiling, slowly
//!   ([`SLOW_GROWTH`] of the ceiling per step) near and above it, so a known limit is
//!   approached, not hammered. A calm path carrying more than [`CEILING_PASSED`] times its
//!   ceiling shows the ceiling too low (learned while retransmissions, invisible here,
//!   filled the link): what it carries becomes the ceiling.
//! - **Growth is earned**: a climb never takes the rate above [`EARNED`] times what the guest
//!   received (GCC's rule on the acknowledged rate). A path that carries little because
//!   little is sent (a guest on the small layer, a still picture) does not look faster than
//!   it has shown itself to be; the rate is never *lowered* for it, only held.

use crate::metrics::GuestCounters;
use rtc::interceptor::{BandwidthEstimator, EstimatorStats, Gcc, PacketReport};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// A queue standing longer than this is congestion. (At 80 ms, the thin link of `bench
/// net` kept a queue over 50 ms 14–23 % of the time in the simulation of `bwe_tests.rs`,
/// and the guest's glass-to-glass p95 was 34 ms higher in the lab: see docs/benchmarks.md.)
pub const QUEUE_LIMIT: Duration = Duration::from_millis(40);
/// A back-off for a queue shorter than this (and no loss to speak of) sets a ceiling that
/// the next back-off of its episode replaces.
pub const CEILING_QUEUE: Duration = Duration::from_millis(80);
/// ...and lowers a known ceiling to no less than this share of it.
pub const EARLY_LOWERS: f64 = 0.9;
/// A queue's back-off lands this much lower than [`BACKOFF`] for every second of standing
/// queue, so that the queue drains within about this long...
pub const DRAIN_IN: Duration = Duration::from_secs(1);
/// ...by at most this share of the path's rate.
pub const MAX_DRAIN: f64 = 0.3;
/// The one-way delay's floor is its minimum over this long.
pub const BASE_WINDOW: Duration = Duration::from_secs(10);
/// Above this share of lost packets, the loss is congestion, not noise NACK repairs.
pub const HIGH_LOSS: f64 = 0.10;
/// Loss is judged over the packets sent in this long...
pub const LOSS_WINDOW: Duration = Duration::from_millis(500);
/// ...and at least this many of them.
pub const MIN_PACKETS: usize = 20;
/// Below this share of lost packets (over [`CALM_WINDOW`]) the rate may climb.
pub const LOW_LOSS: f64 = 0.05;
/// The window the climb is judged over.
pub const CALM_WINDOW: Duration = Duration::from_secs(2);
/// Arrivals further apart than this are feedback that was lost on its way back, not a
/// path that carried nothing.
pub const UNCOVERED: Duration = Duration::from_millis(50);
/// A run of "lost" packets sent over longer than this is feedback that was lost on its way
/// back (a full queue drops the packets of a burst, sent within a few milliseconds, and
/// takes some of the next).
pub const LOST_RUN: Duration = Duration::from_millis(20);
/// Packets of unknown fate beyond this share of those sent in the last [`CALM_WINDOW`] are
/// counted as lost: feedback
/// is not lost that often, a path that drops most packets (a policing relay) is.
pub const UNKNOWN_AT_MOST: f64 = 0.5;
/// What the guest received is measured over this long.
pub const RATE_WINDOW: Duration = Duration::from_millis(300);
/// What the unit sent is measured over this long (the departures feedback reported): what
/// the guest is seen to receive is never more than that.
pub const SENT_WINDOW: Duration = Duration::from_secs(1);
/// A back-off lands at this share of what the guest received.
pub const BACKOFF: f64 = 0.85;
/// Packets sent within this after a back-off still went out at the old rate.
pub const REACTION: Duration = Duration::from_millis(500);
/// Within one congestion episode, a further back-off waits this long...
pub const AGAIN_AFTER: Duration = Duration::from_secs(1);
/// ...and, for a queue, waits while the queue is below this share of what it was at the
/// last back-off (it is draining).
pub const DRAINING: f64 = 0.9;
/// A queue is taken for draining after a back-off for at most this long: the 200 ms of a
/// thin link's queue drain in well under it at [`BACKOFF`] of the link's rate.
pub const DRAIN_TIME: Duration = Duration::from_secs(2);
/// A back-off for a queue alone goes no lower than this share of the highest rate the path
/// showed at a back-off (and carried, calm, since)...
pub const QUEUE_FLOOR: f64 = 0.5;
/// ...within this long.
pub const CEILING_MEMORY: Duration = Duration::from_secs(10);
/// At most one change per this long.
pub const STEP: Duration = Duration::from_millis(200);
/// Growth per step well under the ceiling (about 22 % a second).
pub const FAST_GROWTH: f64 = 1.04;
/// Growth per step near the ceiling, as a share of the ceiling (2 % a second).
pub const SLOW_GROWTH: f64 = 0.004;
/// "Near the ceiling" starts at this share of it.
pub const NEAR_CEILING: f64 = 0.9;
/// A climb stops at this many times what the guest received.
pub const EARNED: f64 = 1.5;
/// The size a retransmission is counted at (a full video packet), bits.
const RETRANSMIT_BITS: f64 = 1200.0 * 8.0;
/// Retransmissions at least this share of what the path carried make a back-off's
/// measure of the path too much of a guess to move a known ceiling.
pub const RETRANSMIT_HEAVY: f64 = 1.0 / 3.0;
/// A calm path that carries this many times its ceiling shows the ceiling was too low.
pub const CEILING_PASSED: f64 = 1.15;

/// What became of a packet, as far as feedback tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Arrived,
    Lost,
    /// In a long run of "lost" packets: most likely its feedback was lost.
    Unknown,
}

/// Why the last back-off happened (for traces and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Congestion {
    Queue,
    Loss,
}

/// At most this many packets judged lost wait for the retransmission gate.
pub const REPORTED_LOST_KEPT: usize = 512;

/// See the module docs.
pub struct Bwe {
    gcc: Gcc,
    min: f64,
    max: f64,
    /// Our own rule's target (before GCC's delay half bounds it).
    rule: f64,
    /// What the guest received when the path last congested.
    ceiling: Option<f64>,
    /// The highest rate seen at a back-off within [`CEILING_MEMORY`], and when it was last
    /// seen (calm feedback carrying near it refreshes it).
    peak: Option<(Instant, f64)>,
    last_change: Option<Instant>,
    /// The last back-off, while its episode lasts (no calm feedback since).
    backed_off: Option<Instant>,
    /// Packets sent before this are not judged (the encoders had not followed yet).
    judge_from: Option<Instant>,
    /// Departure instants are measured from here.
    epoch: Option<Instant>,
    /// Per packet sent in the last [`CALM_WINDOW`]: when, and whether it was lost.
    fates: VecDeque<(Instant, Fate)>,
    /// Arrived packets in the last [`RATE_WINDOW`] of the receiver's clock: when, how big.
    arrivals: VecDeque<(Duration, usize)>,
    /// Every packet feedback reported, sent in the last [`SENT_WINDOW`]: when, how big.
    sent: VecDeque<(Instant, usize)>,
    /// Lowest one-way delay (receiver clock minus departure, seconds) per second, over
    /// [`BASE_WINDOW`].
    base: VecDeque<(Instant, f64)>,
    /// The latest batch's standing queue.
    queue: Option<Duration>,
    /// The standing queue at the last back-off.
    queue_at_back_off: Option<Duration>,
    /// The ceiling came from a queue caught short ([`CEILING_QUEUE`]) in this episode.
    ceiling_early: bool,
    last_congestion: Option<Congestion>,
    /// Smoothed time from a packet's departure to the feedback reporting it.
    rtt: Option<Duration>,
    /// Where the standing queue is published for the retransmission budget (and where the
    /// retransmissions sent are counted).
    counters: Option<Arc<GuestCounters>>,
    /// Retransmissions sent so far, sampled at each feedback: when, how many.
    retransmits: VecDeque<(Instant, u64)>,
    /// The loss share over the last [`CALM_WINDOW`] as of the latest feedback, which
    /// [`BandwidthEstimator::stats`] reports: it is asked for at every publication of the
    /// round trip, far more often than feedback comes.
    calm_loss: Option<f64>,
}

impl Bwe {
    /// An estimate starting at `initial`, held within `min..=max` (bits per second).
    pub fn new(initial: f64, min: f64, max: f64) -> Self {
        let initial = initial.clamp(min, max);
        Bwe {
            gcc: Gcc::new(initial, min, max),
            min,
            max,
            rule: initial,
            ceiling: None,
            peak: None,
            last_change: None,
            backed_off: None,
            judge_from: None,
            epoch: None,
            fates: VecDeque::new(),
            arrivals: VecDeque::new(),
            sent: VecDeque::new(),
            base: VecDeque::new(),
            queue: None,
            queue_at_back_off: None,
            ceiling_early: false,
            last_congestion: None,
            rtt: None,
            counters: None,
            retransmits: VecDeque::new(),
            calm_loss: None,
        }
    }

    /// Publish the standing queue into `counters` (`queue_us`) as feedback shows it.
    pub fn publishing_queue(mut self, counters: Arc<GuestCounters>) -> Self {
        self.counters = Some(counters);
        self
    }

    /// The standing queue the latest feedback showed.
    pub fn queue(&self) -> Option<Duration> {
        self.queue
    }

    /// Why the rate last backed off.
    pub fn last_congestion(&self) -> Option<Congestion> {
        self.last_congestion
    }

    /// The path's rate when it last congested.
    pub fn ceiling(&self) -> Option<f64> {
        self.ceiling
    }

    /// What the guest received over the last [`RATE_WINDOW`], bits per second, at most
    /// what was sent over the last [`SENT_WINDOW`]: arrivals bunched together (a hop that
    /// stalled, then let a queue go at once) are not a path faster than its sender. Seen
    /// in the lab: 3 to 4.4 Mbit/s "received" over 80–150 ms of a 1 Mbit/s link, which
    /// held the rate up at a queue's floor of that "peak" while a queue stood.
    pub fn received(&self) -> Option<f64> {
        let received = self.arrived_rate()?;
        Some(self.sent_rate().map_or(received, |sent| received.min(sent)))
    }

    /// What the unit sent over the last [`SENT_WINDOW`] of departures, bits per second
    /// (`None` over less than a quarter of it).
    fn sent_rate(&self) -> Option<f64> {
        let span = self
            .sent
            .back()?
            .0
            .saturating_duration_since(self.sent.front()?.0);
        let bytes: usize = self.sent.iter().map(|(_, size)| size).sum();
        (span >= SENT_WINDOW / 4).then(|| bytes as f64 * 8.0 / span.as_secs_f64())
    }

    /// What the guest's arrivals over the last [`RATE_WINDOW`] add up to, bits per second.
    fn arrived_rate(&self) -> Option<f64> {
        // Only the stretches feedback covered: a gap longer than [`UNCOVERED`] between two
        // arrivals is feedback that never came back, not a link that carried nothing...
        let (mut bytes, mut covered) = (0usize, Duration::ZERO);
        for pair in self.arrivals.iter().zip(self.arrivals.iter().skip(1)) {
            let ((before, _), (at, size)) = pair;
            let gap = at.saturating_sub(*before);
            if gap <= UNCOVERED {
                covered += gap;
            }
            bytes += size;
        }
        let span = match (self.arrivals.front(), self.arrivals.back()) {
            (Some(first), Some(last)) => last.0.saturating_sub(first.0),
            _ => return None,
        };
        // ...unless the gaps are most of the time: then the path is what is sparse.
        let (bytes, over) = if covered * 2 >= span {
            let uncovered_bytes: usize = self
                .arrivals
                .iter()
                .zip(self.arrivals.iter().skip(1))
                .filter(|((before, _), (at, _))| at.saturating_sub(*before) > UNCOVERED)
                .map(|(_, (_, size))| size)
                .sum();
            (bytes - uncovered_bytes, covered)
        } else {
            (bytes, span)
        };
        (over >= RATE_WINDOW / 4).then(|| bytes as f64 * 8.0 / over.as_secs_f64())
    }

    /// Retransmissions sent over the [`RATE_WINDOW`] of departures the newest feedback
    /// ends at, bits per second (each counted as a full video packet). They cross the same
    /// link as the packets feedback reports, without a transport-wide sequence number:
    /// while they fill it, what the guest is seen to receive is only part of what the path
    /// carries.
    pub fn retransmitted(&self) -> f64 {
        let Some(end) = self.fates.back().map(|f| f.0) else {
            return 0.0;
        };
        let start = end.checked_sub(RATE_WINDOW).unwrap_or(end);
        // The count as it was at `t`: the last sample at or before it.
        let at = |t: Instant| {
            self.retransmits
                .iter()
                .take_while(|(when, _)| *when <= t)
                .last()
                .map_or(0, |(_, n)| *n)
        };
        let sent = at(end).saturating_sub(at(start));
        sent as f64 * RETRANSMIT_BITS / RATE_WINDOW.as_secs_f64()
    }

    /// Share of the judged packets sent in the last `window` that were lost (`None`: too few).
    /// Packets of unknown fate are left out, unless they are so many that feedback loss no
    /// longer explains them ([`UNKNOWN_AT_MOST`]): then they count as lost.
    fn loss(&self, window: Duration) -> Option<f64> {
        let newest = self.fates.back()?.0;
        let from = newest.checked_sub(window).unwrap_or(newest);
        let from = self.judge_from.map_or(from, |j| j.max(from));
        let (mut arrived, mut lost, mut unknown) = (0usize, 0usize, 0usize);
        for (at, fate) in self.fates.iter().rev() {
            if *at < from {
                break;
            }
            match fate {
                Fate::Arrived => arrived += 1,
                Fate::Lost => lost += 1,
                Fate::Unknown => unknown += 1,
            }
        }
        if self.mostly_unknown() {
            lost += unknown;
        }
        let n = arrived + lost;
        (n >= MIN_PACKETS).then(|| lost as f64 / n as f64)
    }

    /// Whether packets of unknown fate are more than [`UNKNOWN_AT_MOST`] of those sent in
    /// the last [`CALM_WINDOW`].
    fn mostly_unknown(&self) -> bool {
        let unknown = self
            .fates
            .iter()
            .filter(|(_, fate)| *fate == Fate::Unknown)
            .count();
        unknown as f64 > UNKNOWN_AT_MOST * self.fates.len() as f64
    }

    /// Note the retransmissions sent so far, at `now`.
    fn sample_retransmits(&mut self, now: Instant) {
        let Some(counters) = &self.counters else {
            return;
        };
        self.retransmits
            .push_back((now, counters.retransmitted.load(Relaxed)));
        while self
            .retransmits
            .front()
            .is_some_and(|(at, _)| *at + CALM_WINDOW < now)
        {
            self.retransmits.pop_front();
        }
    }

    /// Leave `lost` for the retransmission gate ([`super::retransmit`]), which resends what
    /// no NACK asked for (the guest's NACK may have been lost on the way).
    fn report_lost(&self, lost: Vec<(u32, u16)>) {
        let Some(counters) = self.counters.as_ref().filter(|_| !lost.is_empty()) else {
            return;
        };
        if let Ok(mut reported) = counters.reported_lost.lock() {
            reported.extend(lost);
            // Nobody took them (no gate in the chain): keep the newest.
            let over = reported.len().saturating_sub(REPORTED_LOST_KEPT);
            reported.drain(..over);
        }
    }

    fn record(&mut self, reports: &[PacketReport]) {
        let epoch = *self.epoch.get_or_insert(reports[0].departure);
        let mut queue: Option<f64> = None;
        // A run of lost packets sent over more than [`LOST_RUN`] is feedback that was lost
        // (webrtc-rs reports what no feedback mentioned as lost): not judged. A full queue
        // drops packets in short runs between the ones it still takes.
        // The packets judged lost (stream, sequence number) go to the retransmission gate.
        let mut run: Vec<(Instant, u32, u16)> = Vec::new();
        let mut lost: Vec<(u32, u16)> = Vec::new();
        let mut end_run = |run: &mut Vec<(Instant, u32, u16)>,
                           fates: &mut VecDeque<(Instant, Fate)>| {
            if let (Some(first), Some(last)) = (run.first(), run.last()) {
                let fate = if last.0.saturating_duration_since(first.0) <= LOST_RUN {
                    lost.extend(run.iter().map(|(_, ssrc, seq)| (*ssrc, *seq)));
                    Fate::Lost
                } else {
                    Fate::Unknown
                };
                fates.extend(run.iter().map(|(at, _, _)| (*at, fate)));
            }
            run.clear();
        };
        for r in reports {
            self.sent.push_back((r.departure, r.size));
            let Some(arrival) = r.arrival.filter(|_| r.arrived) else {
                run.push((r.departure, r.ssrc, r.rtp_sequence_number));
                continue;
            };
            end_run(&mut run, &mut self.fates);
            self.fates.push_back((r.departure, Fate::Arrived));
            self.arrivals.push_back((arrival, r.size));
            let owd =
                arrival.as_secs_f64() - r.departure.saturating_duration_since(epoch).as_secs_f64();
            match self.base.back_mut() {
                Some((at, low)) if r.departure < *at + Duration::from_secs(1) => {
                    *low = low.min(owd);
                }
                _ => self.base.push_back((r.departure, owd)),
            }
            if self.judge_from.is_none_or(|j| r.departure >= j) {
                queue = Some(queue.map_or(owd, |q| q.min(owd)));
            }
        }
        end_run(&mut run, &mut self.fates);
        self.report_lost(lost);
        let newest = reports.iter().map(|r| r.departure).max().unwrap_or(epoch);
        while self
            .fates
            .front()
            .is_some_and(|(at, _)| *at + CALM_WINDOW < newest)
        {
            self.fates.pop_front();
        }
        while self
            .sent
            .front()
            .is_some_and(|(at, _)| *at + SENT_WINDOW < newest)
        {
            self.sent.pop_front();
        }
        while self
            .base
            .front()
            .is_some_and(|(at, _)| *at + BASE_WINDOW < newest)
        {
            self.base.pop_front();
        }
        if let Some(latest) = self.arrivals.back().map(|a| a.0) {
            while self
                .arrivals
                .front()
                .is_some_and(|(at, _)| *at + RATE_WINDOW < latest)
            {
                self.arrivals.pop_front();
            }
        }
        let base = self
            .base
            .iter()
            .map(|(_, d)| *d)
            .fold(f64::INFINITY, f64::min);
        self.queue = queue
            .filter(|_| base.is_finite())
            .map(|q| Duration::from_secs_f64((q - base).max(0.0)));
        if let (Some(c), Some(q)) = (&self.counters, self.queue) {
            c.queue_us.store(q.as_micros() as u64, Relaxed);
        }
    }

    fn decide(&mut self, now: Instant) {
        if self.last_change.is_some_and(|t| now < t + STEP) {
            return;
        }
        let queue = self.queue.unwrap_or_default();
        // The loss share over the last [`LOSS_WINDOW`], as it stood when the feedback came.
        let loss = self.loss(LOSS_WINDOW);
        let congestion = if queue > QUEUE_LIMIT {
            Some(Congestion::Queue)
        } else if loss.is_some_and(|l| l > HIGH_LOSS) {
            Some(Congestion::Loss)
        } else {
            None
        };
        if let Some(why) = congestion {
            // What the path carried: what the guest received, and the retransmissions.
            let retransmitted = self.retransmitted();
            let Some(arrived) = self.received() else {
                tracing::trace!(
                    ?why,
                    queue_ms = queue.as_millis() as u64,
                    "congestion, but too few arrivals to size a back-off"
                );
                return;
            };
            let received = arrived + retransmitted;
            // Within one episode (no calm feedback since the last back-off), back off again
            // only after [`AGAIN_AFTER`]: a queue drains slowly, and each back-off needs time
            // to show.
            if self.backed_off.is_some_and(|last| now < last + AGAIN_AFTER) {
                return;
            }
            // A queue that is draining needs no further back-off: after the first, the
            // guest receives what is sent, no longer what the path carries, and backing
            // off from that again and again takes the rate to its floor.
            // Only for a while: a queue still over the limit [`DRAIN_TIME`] after a back-off
            // stands, and one that drops packets heavily is not draining either.
            if why == Congestion::Queue
                && self.backed_off.is_some_and(|last| now < last + DRAIN_TIME)
                && !loss.is_some_and(|l| l > HIGH_LOSS)
                && self
                    .queue_at_back_off
                    .is_some_and(|then| queue.as_secs_f64() < DRAINING * then.as_secs_f64())
            {
                tracing::trace!(
                    queue_ms = queue.as_millis() as u64,
                    at_back_off_ms = self.queue_at_back_off.map(|q| q.as_millis() as u64),
                    loss,
                    rate = self.rule as u64,
                    "congestion, but the queue is draining"
                );
                return;
            }
            let before = self.rule;
            // Heavy loss also backs off in proportion to it, as GCC's loss half does: when
            // most packets are lost, what little arrives says little about the path's rate.
            let by_loss = match why {
                Congestion::Loss => loss.map_or(f64::INFINITY, |l| self.rule * (1.0 - 0.5 * l)),
                Congestion::Queue => f64::INFINITY,
            };
            // A queue alone takes the rate at most to [`QUEUE_FLOOR`] of the highest rate
            // the path showed at a recent back-off: delay that came without loss and without
            // the throughput to explain it (radio contention, a busy router) is not cured by
            // sending less. Loss has no floor.
            let recent_peak = self
                .peak
                .filter(|(at, _)| now < *at + CEILING_MEMORY)
                .map(|(_, rate)| rate);
            // A queue that also drops packets ([`LOW_LOSS`] or more) is a full bottleneck
            // that we fill: the path carries less than is sent (a cap that dropped), and
            // what the guest receives is the path's rate. No floor then, and that rate is
            // the path's ceiling from now on. (Under heavy loss, what little arrives says
            // little about the path's rate: the ceiling is left as it was.)
            let full = why == Congestion::Queue && loss.is_some_and(|l| l >= LOW_LOSS);
            let floor = match (why, recent_peak) {
                (Congestion::Queue, Some(peak)) if !full => (QUEUE_FLOOR * peak).min(self.rule),
                _ => self.min,
            };
            // The peak is what arrived, without the retransmissions: the answer to a burst
            // of NACKs goes out at once and counts here at a rate no link carried (seen: 2
            // Mbit/s on a 1 Mbit/s link, whose floor then held a standing queue).
            if recent_peak.is_none_or(|peak| arrived >= peak) {
                self.peak = Some((now, arrived));
            }
            // Retransmissions counted in can make what the path carried look more than the
            // rate (the answer to a burst of NACKs goes out at once): then the rate itself
            // backs off. A "back-off" that kept the rate left a full queue standing for
            // seconds (seen: 1.88 Mbit/s "carried", 0.92 of it arrived, at 1.18 Mbit/s);
            // one to what arrived alone took it to a fifth of the link while a burst of
            // retransmissions filled it for a second (seen: 0.25 of 2.9 Mbit/s "carried"
            // arrived), and the encoders took 20 s to climb back.
            // A queue's back-off also lands under the path's rate by what drains the queue
            // within [`DRAIN_IN`]: at [`BACKOFF`] alone a 200 ms queue stood for seconds
            // (the retransmissions and the audio fill most of what it leaves).
            let drain = match why {
                Congestion::Queue => (queue.as_secs_f64() / DRAIN_IN.as_secs_f64()).min(MAX_DRAIN),
                Congestion::Loss => 0.0,
            };
            let target = match ((BACKOFF - drain) * received).min(by_loss) {
                t if t >= self.rule => BACKOFF * self.rule,
                t => t,
            };
            self.rule = target.min(self.rule).max(floor).clamp(self.min, self.max);
            // Within one episode the first back-off saw the path's rate best (the sender
            // was above it); later ones see what was sent after it. A burst of
            // retransmissions ([`RETRANSMIT_HEAVY`]) leaves a known ceiling as it was: how
            // many of them crossed is a guess, and guessed high it set a ceiling half as
            // high again as the link, under which the rate climbed fast past the link.
            // A queue caught short ([`CEILING_QUEUE`]) and dropping nothing is caught before
            // the path's rate shows: what arrived is mostly what was sent before the queue
            // formed (in the simulation, a burst of retransmissions on a 600 kbit/s link read
            // as a 386 kbit/s path, under which the rate took 15 s to climb back). The
            // ceiling it sets gives way to the next back-off of its episode on a longer
            // queue; if that one's measure is mostly retransmissions, neither shows the path
            // (in the lab: 1.24 Mbit/s "carried" on a 1 Mbit/s link, 0.51 of it
            // retransmissions), and the ceiling is forgotten.
            let heavy = retransmitted >= RETRANSMIT_HEAVY * received;
            let early = why == Congestion::Queue && queue < CEILING_QUEUE && !full;
            self.ceiling = match (self.backed_off, self.ceiling) {
                (Some(_), Some(_)) if self.ceiling_early && !early => {
                    self.ceiling_early = false;
                    (!heavy).then_some(received)
                }
                (_, Some(c)) if heavy => Some(c),
                (Some(_), Some(c)) if !full => Some(c.max(received)),
                (None, Some(c)) if early => {
                    self.ceiling_early = true;
                    Some(received.max(EARLY_LOWERS * c))
                }
                _ => {
                    self.ceiling_early = early;
                    Some(received)
                }
            };
            self.queue_at_back_off = Some(queue);
            self.backed_off = Some(now);
            self.last_change = Some(now);
            self.judge_from = Some(now + REACTION);
            self.last_congestion = Some(why);
            tracing::debug!(
                ?why,
                received = received as u64,
                retransmitted = retransmitted as u64,
                arrivals = self.arrivals.len(),
                span_ms = self
                    .arrivals
                    .back()
                    .zip(self.arrivals.front())
                    .map(|(b, f)| b.0.saturating_sub(f.0).as_millis() as u64),
                fates = self.fates.len(),
                queue_ms = queue.as_millis() as u64,
                loss,
                from = before as u64,
                to = self.rule as u64,
                ceiling = self.ceiling.map(|c| c as u64),
                "bandwidth estimate backs off"
            );
            return;
        }
        if queue < QUEUE_LIMIT / 2 && loss.is_some_and(|l| l <= HIGH_LOSS) {
            // The episode is over.
            self.backed_off = None;
            self.ceiling_early = false;
        }
        let calm_loss = self.loss(CALM_WINDOW);
        let calm = queue < QUEUE_LIMIT / 2 && calm_loss.is_some_and(|l| l < LOW_LOSS);
        if !calm {
            tracing::trace!(
                queue_ms = queue.as_millis() as u64,
                loss,
                calm_loss,
                unknown = self.mostly_unknown(),
                rate = self.rule as u64,
                "neither congested nor calm: the rate holds"
            );
            return;
        }
        let received = self.received();
        // A calm path carrying near its peak shows the peak still holds.
        if let (Some(r), Some((_, peak))) = (received, self.peak)
            && r >= NEAR_CEILING * peak
        {
            self.peak = Some((now, peak.max(r)));
        }
        // A calm path carrying well over its ceiling shows the ceiling too low: learned
        // while traffic this estimate never sees (retransmissions) filled the link, or from
        // sparse feedback. What it carries is the ceiling now, as GCC moves its link
        // capacity when the incoming rate leaves its band. Kept, a low ceiling would hold
        // the climb to a crawl of a share of it for good (seen: 53 kbit/s, the rate at 380
        // and climbing 1 kbit/s a second); forgotten, the climb would be fast again and
        // overshoot a path that just dropped (seen: 1.5 Mbit/s over a 1 Mbit/s cap).
        if let (Some(r), Some(c)) = (received, self.ceiling)
            && r > CEILING_PASSED * c
        {
            tracing::debug!(
                ceiling = c as u64,
                received = r as u64,
                "bandwidth estimate: the path carries more than its ceiling; raised"
            );
            self.ceiling = Some(r);
        }
        let grown = match self.ceiling {
            Some(c) if self.rule >= NEAR_CEILING * c => self.rule + SLOW_GROWTH * c,
            _ => self.rule * FAST_GROWTH,
        };
        let earned = received.map_or(self.rule, |r| (EARNED * r).max(self.rule));
        let next = grown.min(earned).clamp(self.min, self.max);
        if next > self.rule {
            tracing::trace!(
                from = self.rule as u64,
                to = next as u64,
                ceiling = self.ceiling.map(|c| c as u64),
                received = received.map(|r| r as u64),
                "bandwidth estimate climbs"
            );
            self.rule = next;
            self.last_change = Some(now);
        }
    }
}

impl BandwidthEstimator for Bwe {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        if reports.is_empty() {
            return;
        }
        self.gcc.on_reports(now, reports);
        // Feedback now, for the newest packet it reports arrived: a round trip (and the
        // receiver's wait before sending feedback).
        if let Some(newest) = reports
            .iter()
            .filter(|r| r.arrived)
            .map(|r| r.departure)
            .max()
        {
            let sample = now.saturating_duration_since(newest);
            self.rtt = Some(match self.rtt {
                Some(rtt) => rtt.mul_f64(0.8) + sample.mul_f64(0.2),
                None => sample,
            });
        }
        self.sample_retransmits(now);
        self.record(reports);
        self.decide(now);
        self.calm_loss = self.loss(CALM_WINDOW);
    }

    fn target_bitrate(&self) -> f64 {
        self.rule
            .min(self.gcc.delay_based_bitrate())
            .clamp(self.min, self.max)
    }

    fn stats(&self) -> EstimatorStats {
        let mut stats = EstimatorStats::default();
        stats.delay_based_bitrate = Some(self.gcc.delay_based_bitrate());
        stats.loss_based_bitrate = Some(self.rule);
        stats.packet_loss = self.calm_loss;
        stats.round_trip_time = self.rtt;
        stats
    }
}

#[cfg(test)]
#[path = "bwe_tests.rs"]
mod tests;
