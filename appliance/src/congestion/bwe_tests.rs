//! The estimate on a simulated path: a rate cap with a tail-drop queue, random loss, delay
//! and jitter, a sender that follows the estimate a tick late, feedback every 100 ms.

use super::*;

/// A path and a sender, in simulated time.
struct Path {
    bwe: Bwe,
    epoch: Instant,
    /// Seconds since `epoch`.
    t: f64,
    /// The cap, bits per second.
    capacity: f64,
    /// Tail drop beyond this much queue, seconds.
    queue_limit: f64,
    loss: f64,
    delay: f64,
    jitter: f64,
    /// What the encoder can make at most, bits per second.
    app_limit: f64,
    /// Share of feedback packets lost on their way back.
    feedback_loss: f64,
    /// Reports whose feedback was lost: webrtc-rs gives them as lost with the next.
    orphans: Vec<PacketReport>,
    /// Traffic on the link the estimate never hears of (bits per second)...
    cross: f64,
    /// ...counted as retransmissions here, when given (packets of [`SIZE`]).
    retransmits: Option<Arc<GuestCounters>>,
    retransmit_credit: f64,
    /// Lost packets are asked for again (NACK) and retransmitted a round trip later, on
    /// the same link, counted in `retransmits` (once: a lost retransmission is not asked
    /// for again). When they are due.
    repair: Option<VecDeque<f64>>,
    /// Packets the full queue dropped, and all packets offered to the link (media and
    /// retransmissions).
    dropped: u64,
    offered: u64,
    /// The rate the sender follows (the estimate, read every 250 ms)...
    send_rate: f64,
    /// ...as it was this many reads ago (an encoder's rate control takes time to follow).
    lag: usize,
    credit: f64,
    link_free_at: f64,
    last_arrival: f64,
    /// Packets not yet reported: departure, arrival (or when it would have), arrived.
    in_flight: VecDeque<(f64, f64, bool)>,
    rng: u64,
    next_id: u64,
    /// The estimate after each tick of 250 ms.
    trace: Vec<(f64, f64)>,
}

const SIZE: usize = 1200;

impl Path {
    fn new(start: f64, capacity: f64) -> Self {
        Path {
            bwe: Bwe::new(start, 100_000.0, 10_000_000.0),
            epoch: Instant::now(),
            t: 0.0,
            capacity,
            queue_limit: 0.2,
            loss: 0.0,
            delay: 0.06,
            jitter: 0.005,
            app_limit: f64::INFINITY,
            cross: 0.0,
            retransmits: None,
            retransmit_credit: 0.0,
            repair: None,
            dropped: 0,
            offered: 0,
            feedback_loss: 0.0,
            orphans: Vec::new(),
            send_rate: start,
            lag: 0,
            credit: 0.0,
            link_free_at: 0.0,
            last_arrival: 0.0,
            in_flight: VecDeque::new(),
            rng: 0x2545_f491_4f6c_dd1d,
            next_id: 0,
            trace: Vec::new(),
        }
    }

    /// As [`Path::new`], with the retransmissions sent counted where the estimate reads
    /// them (as the unit's peer connection does).
    fn counting_retransmits(start: f64, capacity: f64) -> Self {
        let counters = Arc::new(GuestCounters::default());
        let mut p = Path::new(start, capacity);
        p.bwe = Bwe::new(start, 100_000.0, 10_000_000.0).publishing_queue(counters.clone());
        p.retransmits = Some(counters);
        p
    }

    fn random(&mut self) -> f64 {
        // xorshift64: the same path every run.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    fn at(&self, t: f64) -> Instant {
        self.epoch + Duration::from_secs_f64(t)
    }

    /// Run for `secs`: send every 5 ms, feedback every 100 ms, the sender follows every 250 ms.
    fn run(&mut self, secs: f64) {
        let end = self.t + secs;
        let mut step = 0u64;
        while self.t < end {
            self.t += 0.005;
            step += 1;
            self.send();
            if step.is_multiple_of(20) {
                self.feedback();
            }
            if step.is_multiple_of(50) {
                self.trace.push((self.t, self.bwe.target_bitrate()));
                let followed = self
                    .trace
                    .len()
                    .checked_sub(1 + self.lag)
                    .map_or(self.trace[0].1, |i| self.trace[i].1);
                self.send_rate = followed.min(self.app_limit);
            }
        }
    }

    fn send(&mut self) {
        if self.queue() <= self.queue_limit {
            self.link_free_at = self.link_free_at.max(self.t) + self.cross * 0.005 / self.capacity;
            if let Some(counters) = &self.retransmits {
                self.retransmit_credit += self.cross * 0.005 / (SIZE * 8) as f64;
                let whole = self.retransmit_credit.floor();
                self.retransmit_credit -= whole;
                counters.retransmitted.fetch_add(whole as u64, Relaxed);
            }
        }
        self.send_repairs();
        self.credit += self.send_rate * 0.005 / 8.0;
        while self.credit >= SIZE as f64 {
            self.credit -= SIZE as f64;
            let queued = self.queue();
            let jitter = (self.random() * 2.0 - 1.0) * self.jitter;
            self.offered += 1;
            if queued > self.queue_limit {
                let would = self.last_arrival.max(self.t + queued + self.delay + jitter);
                self.in_flight.push_back((self.t, would, false));
                self.dropped += 1;
                self.ask_again();
                continue;
            }
            self.link_free_at = self.link_free_at.max(self.t) + (SIZE * 8) as f64 / self.capacity;
            // Frames of one direction never overtake each other.
            let arrival = self
                .last_arrival
                .max(self.link_free_at + self.delay + jitter);
            self.last_arrival = arrival;
            let arrived = self.random() >= self.loss;
            if !arrived {
                self.ask_again();
            }
            self.in_flight.push_back((self.t, arrival, arrived));
        }
    }

    /// A lost packet: the receiver asks for it when the next ones arrive, the sender hears
    /// of it a round trip later.
    fn ask_again(&mut self) {
        let due = self.t + 2.0 * self.delay + 0.02;
        if let Some(repair) = &mut self.repair {
            repair.push_back(due);
        }
    }

    /// Retransmissions due now go onto the link (or are dropped by its full queue).
    fn send_repairs(&mut self) {
        let now = self.t;
        let Some(repair) = &mut self.repair else {
            return;
        };
        let mut due = 0;
        while repair.front().is_some_and(|at| *at <= now) {
            repair.pop_front();
            due += 1;
        }
        for _ in 0..due {
            self.offered += 1;
            if let Some(counters) = &self.retransmits {
                counters.retransmitted.fetch_add(1, Relaxed);
            }
            if self.queue() > self.queue_limit {
                self.dropped += 1;
                continue;
            }
            self.link_free_at = self.link_free_at.max(self.t) + (SIZE * 8) as f64 / self.capacity;
        }
    }

    /// Report every packet whose arrival (and the feedback's way back) is over.
    fn feedback(&mut self) {
        let mut reports = Vec::new();
        while let Some(&(departure, arrival, arrived)) = self.in_flight.front() {
            if arrival + self.delay > self.t {
                break;
            }
            self.in_flight.pop_front();
            self.next_id += 1;
            reports.push(PacketReport {
                ssrc: 1,
                id: self.next_id,
                rtp_sequence_number: self.next_id as u16,
                is_twcc: true,
                twcc_sequence_number: self.next_id as u16,
                size: SIZE,
                arrived,
                departure: self.at(departure),
                // The receiver's clock has its own origin.
                arrival: arrived.then(|| Duration::from_secs_f64(1000.0 + arrival)),
                ecn: Default::default(),
            });
        }
        if self.random() < self.feedback_loss {
            self.orphans
                .extend(reports.into_iter().map(|r| PacketReport {
                    arrived: false,
                    arrival: None,
                    ..r
                }));
            return;
        }
        let mut all = std::mem::take(&mut self.orphans);
        all.extend(reports);
        let now = self.at(self.t);
        self.bwe.on_reports(now, &all);
    }

    /// The link's own queue now, seconds (not the estimate's view of it).
    fn queue(&self) -> f64 {
        (self.link_free_at - self.t).max(0.0)
    }

    fn target(&self) -> f64 {
        self.bwe.target_bitrate()
    }

    /// The mean estimate from `from` seconds on.
    fn mean_since(&self, from: f64) -> f64 {
        let late: Vec<f64> = self
            .trace
            .iter()
            .filter(|(t, _)| *t >= from)
            .map(|(_, e)| *e)
            .collect();
        late.iter().sum::<f64>() / late.len() as f64
    }

    /// The lowest estimate from `from` seconds on.
    fn lowest_since(&self, from: f64) -> f64 {
        self.trace
            .iter()
            .filter(|(t, _)| *t >= from)
            .map(|(_, e)| *e)
            .fold(f64::INFINITY, f64::min)
    }
}

#[test]
fn random_loss_with_a_steady_delay_keeps_the_rate() {
    // A wide path, 2 % random loss, 60 ± 5 ms: an encoder sending 800 kbit/s.
    let mut p = Path::new(1_500_000.0, 20_000_000.0);
    p.loss = 0.02;
    p.app_limit = 800_000.0;
    p.run(30.0);
    assert!(
        p.lowest_since(0.0) >= 1_500_000.0,
        "random loss lowered the estimate: {:?}",
        p.trace
    );
    assert_eq!(p.bwe.last_congestion(), None);
}

#[test]
fn a_delay_rise_lowers_the_rate_below_what_the_path_carries() {
    // 1.2 Mbit/s sent over a wide path; then the cap falls to 1 Mbit/s and a queue builds,
    // with no loss at all (a deep buffer).
    let mut p = Path::new(1_200_000.0, 20_000_000.0);
    p.app_limit = 1_200_000.0;
    p.queue_limit = 5.0;
    p.run(5.0);
    assert!(p.target() >= 1_200_000.0, "{}", p.target());
    p.capacity = 1_000_000.0;
    p.run(1.5);
    assert_eq!(p.bwe.last_congestion(), Some(Congestion::Queue));
    assert!(
        p.target() <= 0.9 * 1_000_000.0,
        "backs off under the new cap: {}",
        p.target()
    );
    // The queue drains and stays short.
    p.run(10.0);
    assert!(p.bwe.queue().unwrap() < QUEUE_LIMIT, "{:?}", p.bwe.queue());
}

#[test]
fn an_overshoot_on_a_thin_lossy_link_backs_off_to_the_link_not_to_the_floor() {
    // The thin link of `bench net`: 1 Mbit/s, a 200 ms queue, 2 % loss, 60 ± 5 ms; the
    // estimate starts far above it.
    let mut p = Path::new(3_600_000.0, 1_000_000.0);
    p.loss = 0.02;
    p.run(3.0);
    assert!(
        (600_000.0..=1_000_000.0).contains(&p.target()),
        "{:?}",
        p.trace
    );
    p.run(30.0);
    assert!(
        p.lowest_since(3.0) >= 600_000.0,
        "stays near the link: {:?}",
        p.trace
    );
    let mean = p.mean_since(13.0);
    assert!(
        mean <= 1_100_000.0,
        "and does not sit above it: {:?}",
        p.trace
    );
}

#[test]
fn heavy_loss_without_a_queue_lowers_the_rate() {
    let mut p = Path::new(2_000_000.0, 20_000_000.0);
    p.loss = 0.2;
    p.run(3.0);
    assert_eq!(p.bwe.last_congestion(), Some(Congestion::Loss));
    assert!(p.target() < 1_000_000.0, "{:?}", p.trace);
}

#[test]
fn near_its_last_ceiling_the_rate_climbs_slowly() {
    let mut p = Path::new(3_600_000.0, 1_000_000.0);
    p.run(5.0);
    let ceiling = p.bwe.ceiling().expect("the overshoot set a ceiling");
    // The link widens; the estimate may only creep up past the old ceiling.
    p.capacity = 20_000_000.0;
    p.run(1.0);
    let from = p.target().max(NEAR_CEILING * ceiling);
    p.run(5.0);
    let per_second = (p.target() - from) / 5.0;
    assert!(
        per_second <= 1.5 * SLOW_GROWTH / STEP.as_secs_f64() * ceiling,
        "{per_second} bit/s per second near a ceiling of {ceiling}: {:?}",
        p.trace
    );
    assert!(p.target() > from, "but it climbs");
    // What the path carries past the old ceiling raises it: the wider link is found.
    p.run(40.0);
    assert!(
        p.target() > 1.5 * ceiling,
        "past its ceiling, the climb goes on: {:?}",
        p.trace
    );
}

#[test]
fn a_queue_that_stands_gets_one_back_off_a_second_not_one_a_batch() {
    // An overshoot at the start (one back-off to the link's rate), then, while the encoder
    // sends far under the target, 4 s of traffic the estimate does not see keeps a queue
    // standing.
    let mut p = Path::new(3_600_000.0, 1_000_000.0);
    p.run(1.0);
    assert!(p.target() <= 1_000_000.0, "{:?}", p.trace);
    p.app_limit = 300_000.0;
    p.cross = 900_000.0;
    let from = p.trace.len();
    p.run(4.0);
    let falls = p.trace[from - 1..]
        .windows(2)
        .filter(|w| w[1].1 < w[0].1)
        .count();
    assert!(
        falls as f64 <= 1.0 + 4.0 / AGAIN_AFTER.as_secs_f64(),
        "{falls} back-offs in 4 s: {:?}",
        p.trace
    );
    let low = p.target();
    // The queue goes, and the encoder makes what it is asked again (a rate grows only with
    // what is sent: [`EARNED`] times it at most, and 300 kbit/s earns less than `low`).
    p.cross = 0.0;
    p.app_limit = f64::INFINITY;
    p.run(5.0);
    assert!(
        p.target() > low,
        "climbs once the queue is gone: {:?}",
        p.trace
    );
}

#[test]
fn feedback_lost_on_its_way_back_is_not_loss() {
    // A fifth of the feedback never comes back (a guest whose uplink is full); the packets
    // it covered are reported lost with the next feedback.
    let mut p = Path::new(1_500_000.0, 20_000_000.0);
    p.app_limit = 800_000.0;
    p.feedback_loss = 0.2;
    p.run(20.0);
    assert_eq!(p.bwe.last_congestion(), None, "{:?}", p.trace);
    assert!(p.target() >= 1_500_000.0, "{:?}", p.trace);
    let received = p.bwe.received().expect("a rate");
    assert!(
        (700_000.0..900_000.0).contains(&received),
        "what arrived, from the feedback that came: {received}"
    );
}

#[test]
fn a_path_that_drops_most_packets_without_a_queue_brings_the_rate_down() {
    // A policer at 400 kbit/s with no buffer (as a relay that drops what exceeds its rate):
    // long runs of lost packets, which must not all pass for lost feedback.
    let mut p = Path::new(3_600_000.0, 400_000.0);
    p.queue_limit = 0.0;
    p.run(6.0);
    assert_eq!(
        p.bwe.last_congestion(),
        Some(Congestion::Loss),
        "{:?}",
        p.trace
    );
    assert!(p.target() < 600_000.0, "{:?}", p.trace);
}

#[test]
fn a_path_that_is_sent_little_does_not_look_fast() {
    // An overshoot sets the rate to the link's; then the sender makes at most 500 kbit/s
    // (a guest on the small layer) while the link is wide: quiet feedback for 20 s. (The
    // sender follows a tick late: what it sent just before counts for a moment.)
    let mut p = Path::new(3_600_000.0, 1_000_000.0);
    p.run(5.0);
    let held = p.target();
    p.capacity = 20_000_000.0;
    p.app_limit = 500_000.0;
    p.run(20.0);
    assert!(
        p.target() <= held.max(1.5 * 500_000.0) * 1.03,
        "{} after 20 s of sending 500 kbit/s (from {held}): {:?}",
        p.target(),
        p.trace
    );
    assert!(
        p.lowest_since(5.0) >= held * 0.99,
        "held, not lowered: {:?}",
        p.trace
    );
    // Sending more shows more: the climb goes on.
    p.app_limit = f64::INFINITY;
    p.run(10.0);
    assert!(p.target() > 1_125_000.0, "{:?}", p.trace);
}

#[test]
fn a_cap_dropped_under_a_slow_encoder_costs_one_back_off_not_the_floor() {
    // 4 Mbit/s, then 1 Mbit/s with its 200 ms queue, under a sender that follows the
    // estimate a second late (an encoder's rate control, a layer switch's keyframe).
    let mut p = Path::new(3_000_000.0, 4_000_000.0);
    p.lag = 4;
    p.run(5.0);
    p.capacity = 1_000_000.0;
    p.run(15.0);
    assert!(
        p.lowest_since(5.0) >= 500_000.0,
        "backs off to the link, not below half of it: {:?}",
        p.trace
    );
    assert!(p.target() >= 700_000.0, "{:?}", p.trace);
}

#[test]
fn delay_without_loss_or_throughput_does_not_take_the_rate_to_the_floor() {
    // 1 Mbit/s found by an overshoot; then for 6 s every packet takes 150 ms longer (a busy
    // radio, a router short of CPU) though the link carries all that is sent.
    let mut p = Path::new(3_600_000.0, 1_000_000.0);
    p.run(5.0);
    let before = p.bwe.ceiling().expect("the overshoot set a ceiling");
    p.delay += 0.15;
    p.run(6.0);
    p.delay -= 0.15;
    assert!(
        p.lowest_since(5.0) >= 0.5 * before * 0.95,
        "{before} bit/s before: {:?}",
        p.trace
    );
    assert_eq!(p.bwe.last_congestion(), Some(Congestion::Queue));
}

#[test]
fn a_cap_dropped_to_a_quarter_is_fitted_and_not_overshot_again() {
    // 4 Mbit/s, then 1 Mbit/s: the first back-off still sees packets that crossed the old
    // link, so the path's ceiling and the queue's floor are set too high; the full queue's
    // losses at the next back-off show the path's real rate.
    let mut p = Path::new(3_000_000.0, 4_000_000.0);
    p.lag = 4;
    p.run(5.0);
    p.capacity = 1_000_000.0;
    p.run(15.0);
    let after: Vec<f64> = p
        .trace
        .iter()
        .filter(|(t, _)| *t >= 10.0)
        .map(|(_, r)| *r)
        .collect();
    let highest = after.iter().copied().fold(0.0, f64::max);
    assert!(
        highest <= 1_100_000.0,
        "from 5 s after the drop, at most 10 % over the new cap: {:?}",
        p.trace
    );
    assert!(
        p.lowest_since(10.0) >= 500_000.0,
        "and not below half of it: {:?}",
        p.trace
    );
}

#[test]
fn a_ceiling_far_under_what_a_calm_path_carries_is_raised() {
    // Seen on the lab's 600 kbit/s guest: a back-off while retransmissions (invisible to
    // the estimate) filled the link measured 7 packets in 290 ms, 53 kbit/s, and that
    // became the path's ceiling while the rate stayed at 380 kbit/s. Near and above a
    // ceiling the rate creeps by a share of it: 1 kbit/s a second, for the rest of the call.
    let mut p = Path::new(400_000.0, 600_000.0);
    p.run(3.0);
    // That back-off: the rate held at 380 kbit/s (by the queue's floor), the ceiling 53.
    p.bwe.rule = 380_000.0;
    p.bwe.ceiling = Some(53_000.0);
    p.run(10.0);
    assert!(
        p.target() >= 450_000.0,
        "10 s later the estimate is near the path's 600 kbit/s, not creeping up at {} bit/s \
         a second: {:?}",
        SLOW_GROWTH / STEP.as_secs_f64() * 53_000.0,
        p.trace
    );
}

#[test]
fn retransmissions_filling_the_link_count_as_what_it_carried() {
    // After a burst of losses the guest asks for many packets again: their retransmissions
    // fill most of a 600 kbit/s link for a while, and feedback, which never mentions them,
    // shows the guest receiving a fraction of it. Counted from what the unit sent, they do
    // not make a back-off take the rate, or the path's ceiling, down to that fraction.
    let mut p = Path::counting_retransmits(400_000.0, 600_000.0);
    p.run(3.0);
    p.cross = 450_000.0;
    p.run(1.5);
    p.cross = 0.0;
    p.run(0.5);
    // (A queue caught short, then a measure mostly of retransmissions: neither shows the
    // path, and the ceiling is forgotten rather than guessed.)
    let ceiling = p.bwe.ceiling();
    assert!(
        ceiling.is_none_or(|c| c >= 450_000.0),
        "the path's ceiling is near its 600 kbit/s, or not known: {ceiling:?}: {:?}",
        p.trace
    );
    p.run(5.0);
    assert!(
        p.target() >= 450_000.0,
        "and so is the rate soon after: {:?}",
        p.trace
    );
}

#[test]
fn a_thin_lossy_link_whose_losses_are_retransmitted_is_not_overfilled_for_long() {
    // `bench net`'s thin link as the unit meets it: 1 Mbit/s, a 200 ms queue, 2 % loss,
    // 60 ± 5 ms, every lost packet retransmitted on the same link; the estimate starts far
    // above it. A queue left standing full makes every packet over the link's rate a loss
    // and a retransmission, which fill it further.
    let mut p = Path::counting_retransmits(3_600_000.0, 1_000_000.0);
    p.repair = Some(VecDeque::new());
    p.loss = 0.02;
    p.run(10.0);
    let (dropped, offered) = (p.dropped, p.offered);
    p.run(50.0);
    let share = (p.dropped - dropped) as f64 / (p.offered - offered) as f64;
    assert!(
        share <= 0.02,
        "{:.1} % of the packets offered to the link were dropped by its full queue: {:?}",
        100.0 * share,
        p.trace
    );
    let mean = p.mean_since(10.0);
    assert!(
        (600_000.0..=1_000_000.0).contains(&mean),
        "the estimate sits near the link, under it: {mean}: {:?}",
        p.trace
    );
}

#[test]
fn a_queue_that_stands_after_a_back_off_is_not_taken_for_one_draining() {
    // A deep queue (a second), filled by a burst of traffic the estimate does not see; then
    // 300 kbit/s of it goes on (retransmissions, another app on the phone), so the rate
    // that fitted no longer does. The queue left after the burst is lower than at the
    // first back-off, but it stands: it must not be taken for one draining for good.
    let mut p = Path::counting_retransmits(900_000.0, 1_000_000.0);
    p.queue_limit = 1.0;
    p.loss = 0.02;
    p.run(10.0);
    p.cross = 2_000_000.0;
    p.run(0.6);
    p.cross = 300_000.0;
    p.run(10.0);
    // The path's own queue, not the estimate's view of it, over the last 5 s (runs of a
    // whole tick: the sender follows the estimate once a tick). The estimate may probe
    // into it again, but it drains: it does not stand, nor grow.
    let (mut shortest, mut longest) = (f64::INFINITY, 0.0f64);
    for _ in 0..20 {
        p.run(0.25);
        let queue = p.queue();
        shortest = shortest.min(queue);
        longest = longest.max(queue);
    }
    assert!(
        shortest < QUEUE_LIMIT.as_secs_f64() && longest < 0.3,
        "10 s after, the queue stood between {shortest:.3} and {longest:.3} s, the rate {}: {:?}",
        p.target(),
        p.trace
    );
}

#[test]
fn arrivals_bunched_by_a_stalled_hop_are_not_a_faster_path() {
    // 1 Mbit/s sent for a second, 1,200-byte packets every 9.6 ms; a hop on the way
    // stalls and lets the last 300 ms of them go within 100 ms.
    let mut bwe = Bwe::new(1_000_000.0, 100_000.0, 10_000_000.0);
    let epoch = Instant::now();
    let gap = Duration::from_micros(9_600);
    let reports: Vec<PacketReport> = (0..105u64)
        .map(|i| {
            let sent = gap * i as u32;
            let arrival = if i < 74 {
                sent + Duration::from_millis(60)
            } else {
                Duration::from_millis(260) + gap * 74 + gap * (i as u32 - 74) / 3
            };
            PacketReport {
                ssrc: 1,
                id: i,
                rtp_sequence_number: i as u16,
                is_twcc: true,
                twcc_sequence_number: i as u16,
                size: SIZE,
                arrived: true,
                departure: epoch + sent,
                arrival: Some(Duration::from_secs(1000) + arrival),
                ecn: Default::default(),
            }
        })
        .collect();
    bwe.on_reports(epoch + Duration::from_millis(1_500), &reports);
    let received = bwe.received().expect("enough arrivals");
    assert!(
        received <= 1_100_000.0,
        "{received} bit/s received over a path sent 1 Mbit/s"
    );
}

#[test]
fn a_burst_of_retransmissions_leaves_the_known_ceiling_about_as_it_was() {
    // The thin link's ceiling known from an overshoot; the encoder then makes less than
    // the link (no queue), and a burst of retransmissions (a loss burst asked for again)
    // fills the link for 300 ms: the queue backs the rate off. How many of them crossed is
    // a guess (in the lab it made a ceiling of 1.49 Mbit/s on a 1 Mbit/s link, and the
    // rate climbed fast to 1.37 Mbit/s under it): the ceiling is not raised, and the queue,
    // caught before the burst's retransmissions show in the measure, lowers it by no more
    // than [`EARLY_LOWERS`] allows.
    let mut p = Path::counting_retransmits(3_600_000.0, 1_000_000.0);
    p.run(8.0);
    let known = p.bwe.ceiling().expect("the overshoot set a ceiling");
    assert!(
        (800_000.0..=1_250_000.0).contains(&known),
        "the overshoot shows the link: {known}: {:?}",
        p.trace
    );
    p.app_limit = 700_000.0;
    p.run(3.0);
    let before = p.target();
    p.cross = 1_000_000.0;
    p.run(0.3);
    p.cross = 0.0;
    p.run(1.0);
    assert!(
        p.target() < before,
        "the burst backed the rate off: {:?}",
        p.trace
    );
    let ceiling = p.bwe.ceiling().expect("a ceiling");
    assert!(
        (EARLY_LOWERS * known - 1.0..=known + 1.0).contains(&ceiling),
        "the ceiling stays near {known}, not {ceiling}: {:?}",
        p.trace
    );
}

#[test]
fn a_thin_lossy_link_keeps_its_queue_short_without_giving_up_its_rate() {
    // `bench net`'s thin link (1 Mbit/s, a 200 ms queue, 2 % loss, 60 ± 5 ms, losses
    // retransmitted) under an encoder that follows half a second late. The guest's jitter
    // buffer holds every frame as long as the queues frames cross: a queue that stands
    // (sampled four times a second over a minute, after the start) is delay the guest
    // sees. At the old 80 ms limit it stood over 50 ms 14–23 % of the time (one seed in six
    // had no queue, at half the link).
    for seed in 1..=7u64 {
        let mut p = Path::counting_retransmits(3_600_000.0, 1_000_000.0);
        p.rng ^= seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        p.repair = Some(VecDeque::new());
        p.loss = 0.02;
        p.lag = 2;
        p.run(5.0);
        let mut long = 0;
        for _ in 0..240 {
            p.run(0.25);
            if p.queue() > 0.05 {
                long += 1;
            }
        }
        assert!(
            long <= 30,
            "seed {seed}: the queue stood over 50 ms in {long} of 240 samples: {:?}",
            p.trace
        );
        let mean = p.mean_since(5.0);
        assert!(
            mean >= 700_000.0,
            "seed {seed}: the estimate gave up the link for it: {mean}: {:?}",
            p.trace
        );
    }
}

#[test]
fn packets_judged_lost_are_left_for_the_retransmission_gate() {
    // Packets every 5 ms: one lost alone (the path dropped it), then a run of ten over
    // 45 ms (feedback that never came back: webrtc-rs reports what no feedback mentioned as
    // lost). Only the first goes to the gate, which resends it if no NACK asked.
    let counters = Arc::new(GuestCounters::default());
    let mut bwe = Bwe::new(1_000_000.0, 100_000.0, 10_000_000.0).publishing_queue(counters.clone());
    let t0 = Instant::now();
    let report = |seq: u16, arrived: bool| PacketReport {
        ssrc: 7,
        id: u64::from(seq),
        rtp_sequence_number: seq,
        is_twcc: true,
        twcc_sequence_number: seq,
        size: 1200,
        arrived,
        departure: t0 + Duration::from_millis(5 * u64::from(seq)),
        arrival: arrived.then(|| Duration::from_millis(60 + 5 * u64::from(seq))),
        ecn: Default::default(),
    };
    let reports: Vec<PacketReport> = (0..40u16)
        .map(|seq| report(seq, seq != 5 && !(20..30).contains(&seq)))
        .collect();
    bwe.on_reports(t0 + Duration::from_millis(300), &reports);
    assert_eq!(*counters.reported_lost.lock().unwrap(), vec![(7, 5)]);
    // Nobody takes them (no gate): the newest are kept, not all.
    let many: Vec<PacketReport> = (100..100 + 4 * REPORTED_LOST_KEPT as u16)
        .map(|seq| report(seq, seq % 2 == 0))
        .collect();
    bwe.on_reports(t0 + Duration::from_secs(20), &many);
    let kept = counters.reported_lost.lock().unwrap();
    assert_eq!(kept.len(), REPORTED_LOST_KEPT);
    assert_eq!(
        kept.last(),
        Some(&(7, 100 + 4 * REPORTED_LOST_KEPT as u16 - 1))
    );
}
