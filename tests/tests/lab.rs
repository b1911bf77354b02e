//! The network lab itself (tests/src/lab): its NATs map as their kind says, UDP-blocked means
//! TCP only, the rate cap and loss apply and change mid-run, the delaying wire adds at least
//! its delay, coturn answers through a NAT, and a dropped lab leaves nothing behind.
//!
//! Figures (round trips through the wire, rate through the cap, the wire's CPU time) are
//! printed for reports, never judged against a speed: only lower bounds that follow from the
//! configuration (a delayed packet cannot come back sooner) and upper bounds a shaper
//! guarantees (a capped link cannot carry more) are asserted.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use visavis_e2e::lab::netns;
use visavis_e2e::lab::probe::{self, UdpEcho};
use visavis_e2e::lab::{GUEST_ADDR, NAT_A_PUBLIC, NAT_B_PUBLIC, PROBE_ADDRS, TURN_ADDR, UNIT_ADDR};
use visavis_e2e::{Coturn, Lab, LabConfig, LinkShape, NatKind, Node, Result, Side, Wire, timeouts};

fn any_port() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
}

/// Echoes on both probe addresses of the internet.
fn echoes(lab: &Lab, port: u16) -> Result<[UdpEcho; 2]> {
    let inet = lab.ns(Node::Inet);
    Ok([
        UdpEcho::start(inet, SocketAddr::from((PROBE_ADDRS[0], port)))?,
        UdpEcho::start(inet, SocketAddr::from((PROBE_ADDRS[1], port)))?,
    ])
}

/// What two echoes at different addresses saw of one socket of `node`.
fn mappings(lab: &Lab, node: Node, echoes: &[UdpEcho; 2]) -> Result<[SocketAddr; 2]> {
    let socket = probe::udp_socket(lab.ns(node), any_port())?;
    let first = probe::mapped_address(&socket, echoes[0].addr(), timeouts::answer())?.0;
    let second = probe::mapped_address(&socket, echoes[1].addr(), timeouts::answer())?.0;
    Ok([first, second])
}

#[test]
fn a_cone_nat_keeps_one_mapping_and_a_symmetric_nat_makes_one_per_destination() -> Result<()> {
    let lab = Lab::start(LabConfig {
        nat_a: NatKind::Cone,
        nat_b: NatKind::Symmetric,
        ..Default::default()
    })?;
    let echoes = echoes(&lab, 4000)?;

    let [g1, g2] = mappings(&lab, Node::Guest, &echoes)?;
    println!("lab: the guest behind a cone NAT is seen as {g1} and {g2}");
    assert_eq!(g1.ip(), NAT_A_PUBLIC, "the guest's address is translated");
    assert_eq!(g1, g2, "a cone NAT keeps one mapping for every destination");

    let [u1, u2] = mappings(&lab, Node::Unit, &echoes)?;
    println!("lab: the unit behind a symmetric NAT is seen as {u1} and {u2}");
    assert_eq!(u1.ip(), NAT_B_PUBLIC);
    assert_eq!(u2.ip(), NAT_B_PUBLIC);
    assert_ne!(
        u1.port(),
        u2.port(),
        "a symmetric NAT maps each destination anew"
    );
    Ok(())
}

#[test]
fn without_nat_the_inside_address_is_seen_outside() -> Result<()> {
    let lab = Lab::start(LabConfig {
        nat_a: NatKind::None,
        nat_b: NatKind::None,
        ..Default::default()
    })?;
    let echoes = echoes(&lab, 4000)?;
    assert_eq!(mappings(&lab, Node::Guest, &echoes)?[0].ip(), GUEST_ADDR);
    assert_eq!(mappings(&lab, Node::Unit, &echoes)?[0].ip(), UNIT_ADDR);
    Ok(())
}

#[test]
fn a_udp_blocked_nat_lets_tcp_out_and_not_udp() -> Result<()> {
    let lab = Lab::start(LabConfig {
        nat_a: NatKind::UdpBlocked,
        nat_b: NatKind::Cone,
        ..Default::default()
    })?;
    let echoes = echoes(&lab, 4000)?;
    // The echo works: the unit, behind a cone NAT, is answered.
    let unit = probe::udp_socket(lab.ns(Node::Unit), any_port())?;
    assert!(probe::udp_answers(
        &unit,
        echoes[0].addr(),
        timeouts::answer()
    ));

    let guest = probe::udp_socket(lab.ns(Node::Guest), any_port())?;
    assert!(
        !probe::udp_answers(&guest, echoes[0].addr(), Duration::from_secs(2)),
        "UDP from behind a UDP-blocked NAT got an answer"
    );

    let server = SocketAddr::from((PROBE_ADDRS[0], 4001));
    let listener = probe::tcp_listener(lab.ns(Node::Inet), server)?;
    let mut client = probe::tcp_connect(lab.ns(Node::Guest), server, timeouts::answer())?;
    let (mut accepted, peer) = listener
        .accept()
        .map_err(|e| visavis_e2e::Error::new(e.to_string()))?;
    assert_eq!(peer.ip(), NAT_A_PUBLIC, "TCP goes out, translated");
    client
        .write_all(b"hello")
        .map_err(|e| visavis_e2e::Error::new(e.to_string()))?;
    let mut buf = [0u8; 5];
    accepted
        .read_exact(&mut buf)
        .map_err(|e| visavis_e2e::Error::new(e.to_string()))?;
    assert_eq!(&buf, b"hello");
    Ok(())
}

#[test]
fn a_web_only_nat_lets_out_tcp_to_443_and_nothing_else() -> Result<()> {
    let lab = Lab::start(LabConfig {
        nat_a: NatKind::WebOnly,
        nat_b: NatKind::Cone,
        ..Default::default()
    })?;
    let echoes = echoes(&lab, 4100)?;
    let guest = probe::udp_socket(lab.ns(Node::Guest), any_port())?;
    assert!(
        !probe::udp_answers(&guest, echoes[0].addr(), Duration::from_secs(2)),
        "UDP from behind a web-only NAT got an answer"
    );
    let web = SocketAddr::from((PROBE_ADDRS[0], 443));
    let _web_listener = probe::tcp_listener(lab.ns(Node::Inet), web)?;
    probe::tcp_connect(lab.ns(Node::Guest), web, timeouts::answer())?;
    let turn = SocketAddr::from((PROBE_ADDRS[0], 3478));
    let _turn_listener = probe::tcp_listener(lab.ns(Node::Inet), turn)?;
    assert!(
        probe::tcp_connect(lab.ns(Node::Guest), turn, Duration::from_secs(2)).is_err(),
        "TCP to 3478 left a web-only NAT"
    );
    // The same port is open to the unit behind its cone NAT: the firewall, not the server.
    probe::tcp_connect(lab.ns(Node::Unit), turn, timeouts::answer())?;
    Ok(())
}

/// Single-shot probes, each waiting up to `wait` for its answer: how many of `count` got it.
fn answered_of(
    socket: &UdpSocket,
    echo: SocketAddr,
    count: usize,
    wait: Duration,
) -> Result<usize> {
    socket
        .set_read_timeout(Some(wait))
        .map_err(|e| visavis_e2e::Error::new(e.to_string()))?;
    let mut answered = 0;
    let mut buf = [0u8; 256];
    for i in 0..count {
        let tag = format!("{i}");
        socket
            .send_to(tag.as_bytes(), echo)
            .map_err(|e| visavis_e2e::Error::new(e.to_string()))?;
        if socket.recv_from(&mut buf).is_ok() {
            answered += 1;
        }
    }
    Ok(answered)
}

#[test]
fn random_loss_and_bursty_loss_drop_a_share_and_can_be_lifted() -> Result<()> {
    let mut lab = Lab::start(LabConfig {
        guest_link: LinkShape {
            loss: 0.3,
            ..Default::default()
        },
        unit_link: LinkShape {
            // Gilbert–Elliott: bursts of 1/r = 4 frames, 50 % of the time in the bad state.
            wire: Some(Wire {
                p: 0.25,
                r: 0.25,
                loss_bad: 1.0,
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    })?;
    let echoes = echoes(&lab, 4000)?;
    let guest = probe::udp_socket(lab.ns(Node::Guest), any_port())?;
    let unit = probe::udp_socket(lab.ns(Node::Unit), any_port())?;
    // Both ways cross the lossy link: about 0.7² = 49 % (random), 25 % (bursty) answered.
    let n = 100;
    // A lost probe costs its whole wait: keep it short (a late answer only raises a count).
    let short = Duration::from_millis(100);
    let random = answered_of(&guest, echoes[0].addr(), n, short)?;
    let bursty = answered_of(&unit, echoes[0].addr(), n, short)?;
    println!(
        "lab: answered of {n}: {random} through 30 % random loss, {bursty} through bursty loss"
    );
    assert!(
        (10..90).contains(&random),
        "{random} of {n} through 30 % loss"
    );
    assert!(
        (3..90).contains(&bursty),
        "{bursty} of {n} through bursty loss"
    );

    lab.set_loss(Side::Guest, 0.0)?;
    lab.set_wire(Side::Unit, Wire::default())?;
    let long = timeouts::scaled(Duration::from_secs(2));
    let random = answered_of(&guest, echoes[0].addr(), 50, long)?;
    let bursty = answered_of(&unit, echoes[0].addr(), 50, long)?;
    assert_eq!((random, bursty), (50, 50), "loss lifted");
    Ok(())
}

#[test]
fn the_wire_adds_at_least_its_delay_and_changes_it_mid_run() -> Result<()> {
    let mut lab = Lab::start(LabConfig {
        guest_link: LinkShape {
            wire: Some(Wire::delay(40.0, 5.0)),
            ..Default::default()
        },
        ..Default::default()
    })?;
    let echoes = echoes(&lab, 4000)?;
    let guest = probe::udp_socket(lab.ns(Node::Guest), any_port())?;
    let echo = echoes[0].addr();

    let rtts = probe::round_trips(&guest, echo, 20, timeouts::answer())?;
    let (min, median, max) = probe::summary_ms(&rtts);
    println!("lab: RTT through a 40 ± 5 ms wire: min {min:.1} median {median:.1} max {max:.1} ms");
    assert!(
        min >= 70.0,
        "a round trip crosses the wire twice, ≥ 2 × 35 ms: {min:.1} ms"
    );

    lab.set_wire(Side::Guest, Wire::delay(100.0, 0.0))?;
    let rtts = probe::round_trips(&guest, echo, 10, timeouts::answer())?;
    let (min, median, max) = probe::summary_ms(&rtts);
    println!("lab: RTT through a 100 ms wire: min {min:.1} median {median:.1} max {max:.1} ms");
    assert!(min >= 200.0, "{min:.1} ms");

    lab.set_wire(Side::Guest, Wire::delay(0.0, 0.0))?;
    let rtts = probe::round_trips(&guest, echo, 20, timeouts::answer())?;
    let (min, median, max) = probe::summary_ms(&rtts);
    println!("lab: RTT through a 0 ms wire: min {min:.2} median {median:.2} max {max:.2} ms");
    Ok(())
}

/// Bytes per second a TCP stream from the guest to the internet carries during `window`.
fn tcp_rate_kbit(lab: &Lab, port: u16, window: Duration) -> Result<f64> {
    let err = |e: std::io::Error| visavis_e2e::Error::new(e.to_string());
    let server = SocketAddr::from((PROBE_ADDRS[0], port));
    let listener = probe::tcp_listener(lab.ns(Node::Inet), server)?;
    let mut client = probe::tcp_connect(lab.ns(Node::Guest), server, timeouts::answer())?;
    let (mut sink, _) = listener.accept().map_err(err)?;
    let sender = std::thread::spawn(move || {
        let chunk = [0u8; 16 * 1024];
        let end = Instant::now() + window + Duration::from_secs(1);
        while Instant::now() < end && client.write_all(&chunk).is_ok() {}
    });
    // Skip the first half second (slow start, the bucket's first burst), then count.
    let mut buf = vec![0u8; 64 * 1024];
    let warm = Instant::now() + Duration::from_millis(500);
    while Instant::now() < warm {
        sink.read(&mut buf).map_err(err)?;
    }
    let (start, mut bytes) = (Instant::now(), 0usize);
    while start.elapsed() < window {
        bytes += sink.read(&mut buf).map_err(err)?;
    }
    let kbit = bytes as f64 * 8.0 / start.elapsed().as_secs_f64() / 1000.0;
    drop(sink);
    let _ = sender.join();
    Ok(kbit)
}

/// CPU time a process has used (from /proc/<pid>/schedstat, nanosecond resolution).
fn cpu_time(pid: u32) -> Duration {
    std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

#[test]
fn the_rate_cap_holds_the_link_and_drops_from_4_to_1_mbit_mid_run() -> Result<()> {
    let lab = Lab::start(LabConfig {
        guest_link: LinkShape {
            rate_kbit: Some(4000),
            wire: Some(Wire::delay(20.0, 2.0)),
            ..Default::default()
        },
        ..Default::default()
    })?;
    let window = Duration::from_secs(3);
    let four = tcp_rate_kbit(&lab, 5001, window)?;
    lab.set_rate(Side::Guest, Some(1000))?;
    let one = tcp_rate_kbit(&lab, 5002, window)?;
    println!(
        "lab: TCP through a 4000 kbit/s cap: {four:.0} kbit/s; after the drop to 1000: {one:.0} kbit/s"
    );
    assert!(
        four <= 4000.0 * 1.25,
        "the 4 Mbit/s cap let {four:.0} kbit/s through"
    );
    assert!(
        one <= 1000.0 * 1.25,
        "the 1 Mbit/s cap let {one:.0} kbit/s through"
    );
    assert!(one > 0.0 && four > 0.0);

    // The wire's cost at about 1 Mbit/s: 125 datagrams of 1000 bytes a second for 5 s.
    let pid = lab
        .wire_pid(Side::Guest)
        .expect("the guest link has a wire");
    let echoes = echoes(&lab, 4000)?;
    let guest = probe::udp_socket(lab.ns(Node::Guest), any_port())?;
    let before = cpu_time(pid);
    let start = Instant::now();
    let payload = [0u8; 1000];
    for i in 0..625u32 {
        let _ = guest.send_to(&payload, echoes[0].addr());
        let next = start + Duration::from_millis(u64::from(i) * 8);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let spent = cpu_time(pid) - before;
    let elapsed = start.elapsed();
    println!(
        "lab: the wire used {:.1} ms of CPU in {:.1} s at ~1 Mbit/s ({:.2} % of a core)",
        spent.as_secs_f64() * 1000.0,
        elapsed.as_secs_f64(),
        100.0 * spent.as_secs_f64() / elapsed.as_secs_f64()
    );
    Ok(())
}

#[test]
fn coturn_answers_stun_from_behind_a_nat() -> Result<()> {
    let lab = Lab::start(LabConfig::default())?;
    let coturn = Coturn::start(&lab)?;
    let guest = probe::udp_socket(lab.ns(Node::Guest), any_port())?;
    let server = SocketAddr::from((TURN_ADDR, visavis_e2e::coturn::PORT));
    let seen = visavis_e2e::wait::until_blocking("a STUN answer", timeouts::answer(), || {
        Ok(
            match visavis_e2e::coturn::stun_binding(&guest, server, Duration::from_millis(300)) {
                Ok(seen) => visavis_e2e::wait::Check::Ready(seen),
                Err(e) => visavis_e2e::wait::Check::NotYet(e.to_string()),
            },
        )
    })?;
    println!(
        "lab: coturn ({}) sees the guest as {seen}",
        coturn.stun_url()
    );
    assert_eq!(seen.ip(), NAT_A_PUBLIC);
    Ok(())
}

#[test]
fn a_dropped_lab_leaves_no_namespace_and_no_process() -> Result<()> {
    let lab = Lab::start(LabConfig {
        guest_link: LinkShape {
            wire: Some(Wire::delay(5.0, 0.0)),
            ..Default::default()
        },
        unit_link: LinkShape {
            wire: Some(Wire::delay(5.0, 0.0)),
            rate_kbit: Some(2000),
            loss: 0.01,
        },
        nat_a: NatKind::Symmetric,
        nat_b: NatKind::UdpBlocked,
    })?;
    let names: Vec<String> = [Node::Guest, Node::NatA, Node::Inet, Node::NatB, Node::Unit]
        .iter()
        .map(|n| lab.ns(*n).name().to_string())
        .collect();
    let pids = [lab.wire_pid(Side::Guest), lab.wire_pid(Side::Unit)];
    let listed = netns::list();
    assert!(
        names.iter().all(|n| listed.contains(n)),
        "{names:?} in {listed:?}"
    );
    // A process the test started inside the lab.
    let mut sleeper = lab
        .ns(Node::Unit)
        .command("sleep")
        .arg("600")
        .spawn()
        .map_err(|e| visavis_e2e::Error::new(e.to_string()))?;
    let prefix = names[0].trim_end_matches("-guest").to_string();
    visavis_e2e::wait::until_blocking("the sleeper to be in the lab", timeouts::answer(), || {
        Ok(
            if lab.ns(Node::Unit).pids().contains(&(sleeper.id() as i32)) {
                visavis_e2e::wait::Check::Ready(())
            } else {
                visavis_e2e::wait::Check::NotYet("not yet".into())
            },
        )
    })?;
    drop(lab);

    let left: Vec<String> = netns::list()
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let status = sleeper
        .wait()
        .map_err(|e| visavis_e2e::Error::new(e.to_string()))?;
    assert!(!status.success(), "the process in the lab was killed");
    for pid in pids.into_iter().flatten() {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            state.is_empty() || state.contains(" Z "),
            "the wire {pid} still runs"
        );
    }
    Ok(())
}

#[test]
fn a_lab_left_by_a_crashed_run_is_swept_away() -> Result<()> {
    // A pid no process has: the run that made this namespace is gone.
    let dead = (4_000_000..4_194_000)
        .find(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
        .expect("a free pid");
    let name = format!("{}{dead}x0-guest", netns::PREFIX);
    netns::create(&name)?;
    assert!(netns::list().contains(&name));
    netns::sweep_leftovers();
    assert!(!netns::list().contains(&name), "{name} was left");
    Ok(())
}

/// Both sides learn their mapped address from an echo, then send to each other's: whether
/// each hears the other within `wait` (sending again every 100 ms).
fn punch(lab: &Lab, wait: Duration) -> Result<bool> {
    let err = |e: std::io::Error| visavis_e2e::Error::new(e.to_string());
    let echoes = echoes(lab, 4000)?;
    let guest = probe::udp_socket(lab.ns(Node::Guest), any_port())?;
    let unit = probe::udp_socket(lab.ns(Node::Unit), any_port())?;
    let guest_seen = probe::mapped_address(&guest, echoes[0].addr(), timeouts::answer())?.0;
    let unit_seen = probe::mapped_address(&unit, echoes[0].addr(), timeouts::answer())?.0;
    for socket in [&guest, &unit] {
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .map_err(err)?;
    }
    let (mut guest_heard, mut unit_heard) = (false, false);
    let mut buf = [0u8; 64];
    let end = Instant::now() + wait;
    while Instant::now() < end && !(guest_heard && unit_heard) {
        guest.send_to(b"from the guest", unit_seen).map_err(err)?;
        unit.send_to(b"from the unit", guest_seen).map_err(err)?;
        guest_heard |= matches!(guest.recv_from(&mut buf), Ok((_, from)) if from == unit_seen);
        unit_heard |= matches!(unit.recv_from(&mut buf), Ok((_, from)) if from == guest_seen);
    }
    println!(
        "lab: {:?} / {:?}: guest {guest_seen} heard the unit: {guest_heard}; unit {unit_seen} heard the guest: {unit_heard}",
        lab.config().nat_a,
        lab.config().nat_b
    );
    Ok(guest_heard && unit_heard)
}

#[test]
fn two_cone_nats_let_a_hole_be_punched_and_a_symmetric_one_does_not() -> Result<()> {
    let cone = Lab::start(LabConfig::default())?;
    assert!(
        punch(&cone, timeouts::answer())?,
        "no hole through two cone NATs"
    );
    drop(cone);
    let symmetric = Lab::start(LabConfig {
        nat_a: NatKind::Symmetric,
        ..Default::default()
    })?;
    assert!(
        !punch(&symmetric, Duration::from_secs(2))?,
        "a hole through a symmetric NAT"
    );
    Ok(())
}
