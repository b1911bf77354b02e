//! The controller's decisions, on plain numbers and simulated time.

use super::*;

const LIMITS: Limits = Limits {
    main_max: 2_500_000,
    main_min: 600_000,
    small_max: 500_000,
    small_min: 100_000,
    audio: 64_000,
    uplink: 1_000_000_000,
};

/// What the controller makes of an estimate (the module docs' rule).
fn usable(estimate: u64) -> u64 {
    (estimate as f64 * VIDEO_SHARE) as u64 - LIMITS.audio
}

fn id(name: &str) -> GuestId {
    GuestId::from(name.to_owned())
}

struct Sim {
    c: Controller,
    now: Instant,
    decisions: Vec<Decision>,
}

impl Sim {
    fn new(guests: &[&str]) -> Self {
        Sim::with_limits(LIMITS, guests)
    }

    fn with_limits(limits: Limits, guests: &[&str]) -> Self {
        let mut c = Controller::new(limits);
        for g in guests {
            c.join(id(g));
        }
        Sim {
            c,
            now: Instant::now(),
            decisions: Vec::new(),
        }
    }

    fn estimate(&mut self, guest: &str, bps: Option<u64>) {
        self.c.estimate(&id(guest), bps);
    }

    /// Run ticks every 250 ms for `d`, collecting decisions.
    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.now += Duration::from_millis(250);
            self.c.tick(self.now);
            while let Some(x) = self.c.poll() {
                self.decisions.push(x);
            }
        }
    }

    fn take(&mut self) -> Vec<Decision> {
        std::mem::take(&mut self.decisions)
    }

    fn layer(&self, guest: &str) -> VideoLayer {
        self.c.layer_of(&id(guest)).expect("a guest in the call")
    }
}

fn moved(decisions: &[Decision], guest: &str, layer: VideoLayer) -> bool {
    decisions.contains(&Decision::Move {
        guest: id(guest),
        layer,
    })
}

#[test]
fn one_slow_guest_gets_the_small_layer_and_the_others_keep_the_full_rate() {
    let mut s = Sim::new(&["ana", "ben", "chloe"]);
    s.estimate("ana", Some(4_000_000));
    s.estimate("ben", Some(3_500_000));
    // 656 kbit/s usable: above the main floor, but far below the others.
    s.estimate("chloe", Some(800_000));
    s.run(Duration::from_millis(250));
    let d = s.take();
    assert_eq!(s.layer("chloe"), VideoLayer::Small);
    assert!(moved(&d, "chloe", VideoLayer::Small), "{d:?}");
    let start = d.iter().position(|x| *x == Decision::SmallActive(true));
    let mv = d.iter().position(|x| matches!(x, Decision::Move { .. }));
    assert!(
        start < mv && start.is_some(),
        "the small layer starts first: {d:?}"
    );
    assert!(
        d.contains(&Decision::Bitrate {
            layer: VideoLayer::Small,
            bps: LIMITS.small_max,
        }),
        "{d:?}"
    );
    assert_eq!(s.layer("ana"), VideoLayer::Main);
    assert_eq!(s.layer("ben"), VideoLayer::Main);
    assert_eq!(
        s.c.target(VideoLayer::Main),
        LIMITS.main_max,
        "the slow guest does not drag the main layer"
    );
    assert!(
        !d.iter().any(|x| matches!(
            x,
            Decision::Bitrate {
                layer: VideoLayer::Main,
                ..
            }
        )),
        "{d:?}"
    );
}

#[test]
fn a_guest_somewhat_below_the_others_stays_and_sets_the_main_rate() {
    let mut s = Sim::new(&["ana", "ben"]);
    s.estimate("ana", Some(4_000_000));
    s.estimate("ben", Some(1_800_000));
    s.run(Duration::from_secs(2));
    assert_eq!(
        s.layer("ben"),
        VideoLayer::Main,
        "not far below: 1.55 of 2.5"
    );
    assert_eq!(s.c.target(VideoLayer::Main), usable(1_800_000));
    assert!(!s.c.small_active());
}

#[test]
fn a_lone_guest_below_the_floor_gets_the_small_layer_at_their_rate() {
    let mut s = Sim::new(&["ana"]);
    s.estimate("ana", Some(500_000));
    s.run(Duration::from_millis(250));
    assert_eq!(s.layer("ana"), VideoLayer::Small);
    assert_eq!(s.c.target(VideoLayer::Small), usable(500_000));
    // Far lower: the small layer's floor, never less.
    s.estimate("ana", Some(50_000));
    s.run(Duration::from_millis(250));
    assert_eq!(s.c.target(VideoLayer::Small), LIMITS.small_min);
}

#[test]
fn the_main_rate_drops_at_once_and_recovers_step_by_step() {
    let mut s = Sim::new(&["ana"]);
    s.estimate("ana", Some(4_000_000));
    s.run(Duration::from_secs(1));
    assert_eq!(s.c.target(VideoLayer::Main), LIMITS.main_max);
    s.take();

    s.estimate("ana", Some(1_500_000));
    s.run(Duration::from_millis(250));
    assert_eq!(
        s.take(),
        vec![Decision::Bitrate {
            layer: VideoLayer::Main,
            bps: usable(1_500_000),
        }],
        "down in one tick"
    );

    s.estimate("ana", Some(4_000_000));
    let mut last = s.c.target(VideoLayer::Main);
    let mut steps = 0;
    for _ in 0..40 {
        s.run(Duration::from_millis(250));
        let now = s.c.target(VideoLayer::Main);
        assert!(now >= last, "never down while recovering");
        assert!(
            now as f64 <= last as f64 * RAISE_STEP + 1.0,
            "at most one step of 10 %: {last} -> {now}"
        );
        steps += u32::from(now > last);
        last = now;
    }
    assert_eq!(last, LIMITS.main_max, "back to the ceiling within 10 s");
    assert!(steps >= 5, "in several steps, not one: {steps}");
    let d = s.take();
    assert_eq!(d.len() as u32, steps, "one decision per step: {d:?}");
    assert_eq!(
        s.layer("ana"),
        VideoLayer::Main,
        "1.29 Mbit/s is above the floor"
    );
}

#[test]
fn small_wobbles_change_nothing() {
    let mut s = Sim::new(&["ana"]);
    s.estimate("ana", Some(2_000_000));
    s.run(Duration::from_secs(1));
    s.take();
    for (i, e) in [2_020_000, 1_990_000, 2_030_000, 1_985_000]
        .into_iter()
        .enumerate()
    {
        s.estimate("ana", Some(e));
        s.run(Duration::from_millis(500));
        assert_eq!(s.take(), vec![], "wobble {i}");
    }
}

#[test]
fn a_guest_without_an_estimate_drags_nobody() {
    let mut s = Sim::new(&["ana", "new"]);
    s.run(Duration::from_secs(1));
    assert_eq!(s.take(), vec![], "nobody has an estimate: nothing changes");
    assert_eq!(s.c.target(VideoLayer::Main), LIMITS.main_max);

    s.estimate("ana", Some(2_000_000));
    s.run(Duration::from_secs(1));
    assert_eq!(s.c.target(VideoLayer::Main), usable(2_000_000));
    assert_eq!(s.layer("new"), VideoLayer::Main);
    let d = s.take();
    assert!(!moved(&d, "new", VideoLayer::Small), "{d:?}");
    assert!(!s.c.small_active());
}

#[test]
fn a_slow_guest_leaving_stops_the_small_layer_after_a_while() {
    let mut s = Sim::new(&["ana", "slow"]);
    s.estimate("ana", Some(4_000_000));
    s.estimate("slow", Some(400_000));
    s.run(Duration::from_millis(250));
    assert!(s.c.small_active());
    s.take();
    s.c.leave(&id("slow"));
    s.run(LINGER - Duration::from_millis(250));
    assert!(s.c.small_active(), "lingers");
    s.run(Duration::from_millis(500));
    assert_eq!(s.take(), vec![Decision::SmallActive(false)]);
    assert_eq!(s.c.target(VideoLayer::Main), LIMITS.main_max);
}

#[test]
fn the_guest_setting_the_main_rate_leaving_lets_it_rise_slowly() {
    let mut s = Sim::new(&["ana", "ben"]);
    s.estimate("ana", Some(4_000_000));
    s.estimate("ben", Some(1_500_000));
    s.run(Duration::from_secs(1));
    assert_eq!(s.c.target(VideoLayer::Main), usable(1_500_000));
    s.c.leave(&id("ben"));
    s.run(Duration::from_millis(250));
    let after = s.c.target(VideoLayer::Main);
    assert!(
        after > usable(1_500_000) && (after as f64) <= usable(1_500_000) as f64 * RAISE_STEP + 1.0
    );
    s.run(Duration::from_secs(10));
    assert_eq!(s.c.target(VideoLayer::Main), LIMITS.main_max);
}

#[test]
fn coming_back_takes_a_good_while_and_longer_after_each_relapse() {
    let mut s = Sim::new(&["ana", "ben"]);
    s.estimate("ana", Some(4_000_000));
    s.estimate("ben", Some(600_000));
    s.run(Duration::from_millis(250));
    assert_eq!(s.layer("ben"), VideoLayer::Small);

    // Good again: back after FIRST_HOLD, not before.
    s.estimate("ben", Some(4_000_000));
    s.run(FIRST_HOLD - Duration::from_millis(250));
    assert_eq!(s.layer("ben"), VideoLayer::Small, "not yet");
    s.run(Duration::from_millis(500));
    assert_eq!(s.layer("ben"), VideoLayer::Main);

    // Falls again at once: the next wait is twice as long.
    s.estimate("ben", Some(600_000));
    s.run(Duration::from_secs(1));
    assert_eq!(s.layer("ben"), VideoLayer::Small);
    s.estimate("ben", Some(4_000_000));
    s.run(FIRST_HOLD * 2 - Duration::from_millis(250));
    assert_eq!(
        s.layer("ben"),
        VideoLayer::Small,
        "waits 2 x {FIRST_HOLD:?}"
    );
    s.run(Duration::from_millis(500));
    assert_eq!(s.layer("ben"), VideoLayer::Main);

    // A rate that only dips for a moment restarts the wait.
    s.estimate("ben", Some(600_000));
    s.run(Duration::from_millis(250));
    s.estimate("ben", Some(4_000_000));
    s.run(Duration::from_secs(3));
    s.estimate("ben", Some(900_000));
    s.run(Duration::from_millis(250));
    s.estimate("ben", Some(4_000_000));
    s.run(Duration::from_secs(10));
    assert_eq!(s.layer("ben"), VideoLayer::Small, "waits 4 x, from the dip");
}

#[test]
fn the_small_layer_climbs_past_its_ceiling_while_its_guests_can_take_it() {
    let mut s = Sim::new(&["ana", "ben"]);
    s.estimate("ana", Some(4_000_000));
    s.estimate("ben", Some(600_000));
    s.run(Duration::from_millis(250));
    assert_eq!(s.layer("ben"), VideoLayer::Small);
    let ceiling = (UP_MARGIN * LIMITS.main_min as f64) as u64;
    // Ben's estimate grows with what he is sent: a little above the small layer's rate.
    for _ in 0..40 {
        let sent = s.c.target(VideoLayer::Small);
        s.estimate("ben", Some((sent as f64 * 1.5) as u64));
        s.run(Duration::from_millis(500));
    }
    let climbed = s.c.target(VideoLayer::Small);
    assert!(
        climbed > LIMITS.small_max,
        "{climbed} bit/s, small_max {}",
        LIMITS.small_max
    );
    assert!(climbed <= ceiling, "{climbed} bit/s, at most {ceiling}");
    // A path that cannot carry more holds the small layer where it is.
    s.estimate("ben", Some(700_000));
    s.run(Duration::from_millis(250));
    assert_eq!(s.c.target(VideoLayer::Small), usable(700_000));
    assert_eq!(s.layer("ben"), VideoLayer::Small);
}

/// A store's 10 Mbit/s uplink.
const STORE_LINE: Limits = Limits {
    uplink: 10_000_000,
    ..LIMITS
};

#[test]
fn eight_guests_on_fast_paths_share_the_stores_uplink() {
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let mut s = Sim::with_limits(STORE_LINE, &names);
    for n in names {
        s.estimate(n, Some(8_000_000));
    }
    s.run(Duration::from_millis(250));
    // 10 Mbit/s less eight voices, less headers, in eight.
    let share = ((10_000_000 - 8 * 64_000) as f64 * VIDEO_SHARE) as u64 / 8;
    assert_eq!(s.c.target(VideoLayer::Main), share);
    assert!(share < LIMITS.main_max, "the cap binds: {share}");
    assert!(
        s.c.planned_send() <= STORE_LINE.uplink,
        "{}",
        s.c.planned_send()
    );
    // Five leave: the main layer climbs back, step by step, to its ceiling.
    for n in &names[3..] {
        s.c.leave(&id(n));
    }
    s.run(Duration::from_secs(1));
    let first = s.c.target(VideoLayer::Main);
    assert!(first > share && first < LIMITS.main_max, "{first}");
    s.run(Duration::from_secs(20));
    assert_eq!(s.c.target(VideoLayer::Main), LIMITS.main_max);
    assert!(s.c.planned_send() <= STORE_LINE.uplink);
}

#[test]
fn the_unit_never_plans_to_send_more_than_its_uplink() {
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let mut s = Sim::with_limits(STORE_LINE, &names);
    // Paths that change every second, one guest now and then far below the others (the
    // small layer), guests without an estimate yet, one leaving and coming back.
    let mut worst = 0;
    let mut small_used = false;
    for step in 0..240u64 {
        for (i, n) in names.iter().enumerate() {
            let i = i as u64;
            let bps = match (step + 3 * i) % 7 {
                0 => None,
                1 => Some(700_000),
                k => Some(1_000_000 * k + 250_000 * i),
            };
            s.estimate(n, bps);
        }
        if step % 40 == 10 {
            s.c.leave(&id("h"));
        }
        if step % 40 == 20 {
            s.c.join(id("h"));
        }
        s.run(Duration::from_millis(250));
        worst = worst.max(s.c.planned_send());
        small_used |= s.c.small_active();
        assert!(
            s.c.planned_send() <= STORE_LINE.uplink,
            "step {step}: {} planned",
            s.c.planned_send()
        );
    }
    assert!(
        worst > STORE_LINE.uplink * 9 / 10,
        "the test came near the cap: {worst}"
    );
    assert!(small_used, "the small layer had guests too");
}

#[test]
fn forwarded_pictures_and_the_layers_share_one_uplink_the_room_first() {
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let mut s = Sim::with_limits(STORE_LINE, &[]);
    // A forwarder that would show every guest everyone else (170 kbit/s a picture), and
    // gets what the controller allows, guests joining one by one on fast paths.
    let picture = 170_000;
    let mut allowances = Vec::new();
    for (n, name) in names.iter().enumerate() {
        s.c.join(id(name));
        for g in &names[..=n] {
            s.estimate(g, Some(8_000_000));
        }
        let guests = n as u64 + 1;
        let wanted = guests * (guests - 1) * picture;
        let allowed = s.c.forward_allowance();
        allowances.push(allowed);
        s.c.set_forwarded(wanted.min(allowed) / picture * picture);
        s.run(Duration::from_secs(30));
        let planned = s.c.planned_send();
        assert!(
            planned <= STORE_LINE.uplink,
            "{guests} guests: {planned} planned"
        );
        assert!(
            s.c.target(VideoLayer::Main) >= STORE_LINE.main_min,
            "the room's picture keeps its floor"
        );
    }
    // At most half the uplink; less as the guests' floors take more of it.
    assert_eq!(allowances[0], STORE_LINE.uplink / 2);
    assert!(
        allowances.windows(2).all(|w| w[1] <= w[0]),
        "{allowances:?}"
    );
    let floor = 8 * (STORE_LINE.audio + (STORE_LINE.main_min as f64 / VIDEO_SHARE).ceil() as u64);
    assert_eq!(allowances[7], STORE_LINE.uplink - floor);
    // Eight guests: the layers get what forwarding leaves, and the unit plans to send
    // its whole uplink, not more.
    let forwarded = allowances[7] / picture * picture;
    let share = ((10_000_000 - 8 * 64_000 - forwarded) as f64 * VIDEO_SHARE) as u64 / 8;
    assert_eq!(s.c.target(VideoLayer::Main), share);
    assert!(s.c.planned_send() > STORE_LINE.uplink * 95 / 100);
}

#[test]
fn what_the_guests_paths_add_in_headers_comes_off_the_layers_and_the_pictures() {
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let mut s = Sim::with_limits(STORE_LINE, &names);
    for n in names {
        s.estimate(n, Some(8_000_000));
    }
    let direct = s.c.forward_allowance();
    s.c.set_forwarded(direct);
    s.run(Duration::from_secs(30));
    let main_direct = s.c.target(VideoLayer::Main);
    // Half the guests through a TLS relay: 59 bytes more a datagram, 250 a second each.
    let extra = 4 * 250 * 59 * 8;
    s.c.set_path_extra(extra);
    // The pictures get less (the room's floors leave less)...
    let relayed = s.c.forward_allowance();
    assert_eq!(relayed, direct - extra);
    s.c.set_forwarded(relayed);
    s.run(Duration::from_secs(30));
    // ...the layers as much as before, and the plan still fits the uplink with the
    // headers in it.
    assert_eq!(s.c.target(VideoLayer::Main), main_direct);
    let planned = s.c.planned_send();
    assert!(planned <= STORE_LINE.uplink, "{planned}");
    assert!(planned > STORE_LINE.uplink * 95 / 100, "{planned}");
    // Two guests on a 3 Mbit/s line, nothing forwarded: the room's layer makes room.
    let line = Limits {
        uplink: 3_000_000,
        ..LIMITS
    };
    let mut s = Sim::with_limits(line, &["a", "b"]);
    for n in ["a", "b"] {
        s.estimate(n, Some(8_000_000));
    }
    s.run(Duration::from_secs(60));
    let direct = s.c.target(VideoLayer::Main);
    assert_eq!(
        direct,
        ((3_000_000 - 2 * 64_000) as f64 * VIDEO_SHARE) as u64 / 2
    );
    s.c.set_path_extra(200_000);
    s.run(Duration::from_secs(1));
    let relayed = s.c.target(VideoLayer::Main);
    assert_eq!(
        relayed,
        ((3_000_000 - 2 * 64_000 - 200_000) as f64 * VIDEO_SHARE) as u64 / 2
    );
    assert!(s.c.planned_send() <= line.uplink, "{}", s.c.planned_send());
    // Paths that add more than the floors leave: the room keeps its floor, over the cap.
    s.c.set_path_extra(2_000_000);
    s.run(Duration::from_secs(1));
    assert_eq!(s.c.target(VideoLayer::Main), line.main_min);
    assert!(s.c.planned_send() > s.c.uplink(), "{}", s.c.planned_send());
}
