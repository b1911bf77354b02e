//! Calls across NATs, in the network lab (tests/src/lab): a guest's Chromium behind NAT A, the
//! unit behind NAT B, rendezvous and coturn in the lab's internet. Each case is a [`Case`]:
//! the two NAT kinds and the path the guest's browser must end up on, judged from the
//! candidate pair it selected (`getStats()`), after its video flows; and on a direct path,
//! the unit's media must come on that pair.
//!
//! Adding a case (symmetric NATs and TURN, once rendezvous hands out TURN credentials) is one
//! more `#[tokio::test]` calling [`call_across`] with its [`Case`]; a test that shapes the
//! links starts from [`call_in`] and changes them through [`LabCall::lab`].

use visavis_e2e::lab::call::{FLOWING, LabCall, frames_flow};
use visavis_e2e::lab::{LabConfig, LinkShape, NatKind, Side, Wire};
use visavis_e2e::timeouts;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{ApplianceConfig, CandidatePair, CandidateType, Guest, Result};

/// The path a call must take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// Through an address a NAT made (server- or peer-reflexive) on at least one side, and
    /// no relay.
    Reflexive,
    /// Through the TURN relay.
    Relayed,
}

#[derive(Debug, Clone, Copy)]
struct Case {
    nat_a: NatKind,
    nat_b: NatKind,
    path: Path,
}

fn judge(case: Case, pair: &CandidatePair) {
    let relayed = pair.is_relayed();
    match case.path {
        Path::Reflexive => {
            assert!(
                !relayed,
                "{case:?}: relayed, expected a direct path: {pair:?}"
            );
            assert!(
                pair.local_type.is_reflexive() || pair.remote_type.is_reflexive(),
                "{case:?}: no reflexive candidate in the selected pair: {pair:?}"
            );
        }
        Path::Relayed => {
            assert!(relayed, "{case:?}: not relayed: {pair:?}");
            let over = pair.relay_protocol.as_deref();
            match case.nat_a {
                NatKind::UdpBlocked => assert!(
                    matches!(over, Some("tcp" | "tls")),
                    "{case:?}: the guest reached the relay over {over:?}, and UDP is blocked"
                ),
                NatKind::WebOnly => assert_eq!(
                    over,
                    Some("tls"),
                    "{case:?}: only TLS to 443 leaves the guest's network"
                ),
                _ => {}
            }
        }
    }
}

/// [`LabCall::start`] with the unit these tests use ([`unit`]).
async fn call_in(config: LabConfig) -> Result<LabCall> {
    LabCall::start(config, unit()).await
}

/// The unit these tests use: 640x360, guests let in without a tap.
fn unit() -> ApplianceConfig {
    ApplianceConfig {
        width: 640,
        height: 360,
        auto_admit: true,
        ..Default::default()
    }
}

/// The pair the guest's browser selected, once it succeeded.
async fn selected_pair(guest: &Guest) -> Result<CandidatePair> {
    wait::until("a selected candidate pair", timeouts::answer(), || async {
        Ok(match guest.selected_candidate_pair().await? {
            Some(pair) if pair.state == "succeeded" => Check::Ready(pair),
            other => Check::NotYet(format!("{other:?}")),
        })
    })
    .await
}

/// One call across the lab for `case`; returns the selected pair after it was judged.
async fn call_across(case: Case) -> Result<CandidatePair> {
    call_across_link(case, LinkShape::default()).await
}

/// [`call_across`] with the guest's access link shaped as `guest_link`.
async fn call_across_link(case: Case, guest_link: LinkShape) -> Result<CandidatePair> {
    let call = call_in(LabConfig {
        nat_a: case.nat_a,
        nat_b: case.nat_b,
        guest_link,
        ..Default::default()
    })
    .await?;
    let pair = selected_pair(&call.guest).await?;
    println!("nat: {case:?}: the guest's selected pair: {pair:?}");
    judge(case, &pair);
    unit_counts_its_side_of_the_path(case, &pair, &call).await?;
    if case.path == Path::Reflexive {
        media_on_the_selected_pair(&call.guest).await?;
    }
    call.guest.close().await?;
    Ok(pair)
}

/// The unit counts the headers of its side of the path in what it sends
/// (`path_header_bytes`): its side is the remote candidate of the guest's pair (the guest
/// nominates), except that where the guest goes through a relay, the unit may send through
/// its own (each side through its own relay, as [`media_on_the_selected_pair`] says: seen
/// with a guest behind a symmetric NAT, 2 runs in 6). Through its own relay, the unit
/// reaches it over UDP, or over TCP or TLS through its bridge where UDP does not leave its
/// network (both worked without UDP).
async fn unit_counts_its_side_of_the_path(
    case: Case,
    pair: &CandidatePair,
    call: &LabCall,
) -> Result<()> {
    let bytes = wait::until(
        "the unit's path to the guest",
        timeouts::media(),
        || async {
            let guests = call.unit.metrics()?.guests;
            let counted: Vec<u64> = guests.iter().map(|g| g.path_header_bytes).collect();
            Ok(match counted.iter().find(|b| **b > 0) {
                Some(b) => Check::Ready(*b),
                None => Check::NotYet(format!("per guest: {counted:?}")),
            })
        },
    )
    .await?;
    // IPv4 and UDP 28; a relay's ChannelData 4; TCP with timestamps 32 and padding 2; TLS 29.
    let expected: &[u64] = match (pair.remote_type, case.nat_b) {
        (CandidateType::Relay, NatKind::UdpBlocked) => &[58, 87],
        (CandidateType::Relay, NatKind::WebOnly) => &[87],
        (CandidateType::Relay, _) => &[32],
        _ if pair.is_relayed() => &[28, 32],
        _ => &[28],
    };
    assert!(
        expected.contains(&bytes),
        "{case:?}: the unit counts {bytes} bytes of headers a datagram, expected one of \
         {expected:?} on its side of {pair:?}"
    );
    println!("nat: {case:?}: the unit counts {bytes} bytes of headers a datagram");
    Ok(())
}

/// Where a direct path exists, the unit's media reaches the guest on the pair the guest
/// selected, not through a relay that also works (a unit that kept the browser's first
/// nomination, its relay's, sent everything through the relay while the browser sent
/// directly): waits for a stretch of at least [`STRETCH_BYTES`] of which all but 5 % came on
/// the selected pair's path. (Between relays, the two sides may each send through their
/// own: seen with a unit without UDP, whose TCP and TLS allocations both worked.)
async fn media_on_the_selected_pair(guest: &Guest) -> Result<()> {
    const STRETCH_BYTES: u64 = 100_000;
    let since = std::sync::Mutex::new(guest.pair_bytes().await?);
    wait::until(
        "the unit's media on the guest's selected pair",
        timeouts::media(),
        || async {
            let now = guest.pair_bytes().await?;
            let (on_selected, total) = now.since(&since.lock().expect("not poisoned"));
            if total < STRETCH_BYTES {
                return Ok(Check::NotYet(format!(
                    "{on_selected} of {total} bytes so far on the selected pair {:?} (by path: {:?})",
                    now.selected, now.received
                )));
            }
            *since.lock().expect("not poisoned") = now.clone();
            Ok(if on_selected * 20 >= total * 19 {
                println!(
                    "nat: {on_selected} of {total} bytes on the selected pair {:?} (by path: {:?})",
                    now.selected, now.received
                );
                Check::Ready(())
            } else {
                Check::NotYet(format!(
                    "{on_selected} of {total} bytes on the selected pair {:?} (by path: {:?})",
                    now.selected, now.received
                ))
            })
        },
    )
    .await
}

/// Behind two NATs that filter by address and port, both sides learn their reflexive address
/// (STUN) and punch through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cone_to_cone_goes_through_reflexive_addresses() -> Result<()> {
    call_across(Case {
        nat_a: NatKind::Cone,
        nat_b: NatKind::Cone,
        path: Path::Reflexive,
    })
    .await
    .map(|_| ())
}

/// The same across a guest link with a 60 ms delay: the browser's relay pair works first and
/// is nominated first, the direct pair a moment later. The unit must follow the browser to
/// the direct pair, not keep sending through the relay (as webrtc-rs's published ICE did).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cone_to_cone_across_a_slow_link_goes_direct_both_ways() -> Result<()> {
    call_across_link(
        Case {
            nat_a: NatKind::Cone,
            nat_b: NatKind::Cone,
            path: Path::Reflexive,
        },
        LinkShape {
            rate_kbit: Some(1000),
            loss: 0.02,
            wire: Some(Wire::delay(60.0, 5.0)),
        },
    )
    .await
    .map(|_| ())
}

/// A symmetric NAT on either side: the reflexive address the other side learns is not the one
/// the checks come from, so only the relay joins them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symmetric_guest_nat_goes_through_the_relay() -> Result<()> {
    call_across(Case {
        nat_a: NatKind::Symmetric,
        nat_b: NatKind::Cone,
        path: Path::Relayed,
    })
    .await
    .map(|_| ())
}

/// The unit behind a symmetric NAT: the guest's relay, paired with the unit's peer-reflexive
/// address. (It failed in some runs while the lab's relay allowed permissions to private
/// addresses, as the shipped config does not; see the TCP case below.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symmetric_unit_nat_goes_through_the_relay() -> Result<()> {
    call_across(Case {
        nat_a: NatKind::Cone,
        nat_b: NatKind::Symmetric,
        path: Path::Relayed,
    })
    .await
    .map(|_| ())
}

/// A guest network that lets no UDP out: the guest reaches the relay over TCP. (The unit has
/// UDP here and uses the relay over UDP: webrtc-rs 0.21 skips `?transport=tcp` and `turns:`
/// URLs with a warning.)
///
/// This case also holds the relay to production's `denied-peer-ip`: coturn 4.6 closes a TCP
/// client's allocation when a send to a peer fails outright, so a relay that let the guest
/// ask for a permission to the unit's private address dropped the guest's only path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_without_udp_goes_through_the_relay_over_tcp() -> Result<()> {
    call_across(Case {
        nat_a: NatKind::UdpBlocked,
        nat_b: NatKind::Cone,
        path: Path::Relayed,
    })
    .await
    .map(|_| ())
}

/// A guest network that lets only the web out (TCP to 80 and 443): the guest reaches the
/// relay over TLS on 443, the production set-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_on_a_web_only_network_goes_through_the_relay_over_tls() -> Result<()> {
    call_across(Case {
        nat_a: NatKind::WebOnly,
        nat_b: NatKind::Cone,
        path: Path::Relayed,
    })
    .await
    .map(|_| ())
}

/// A store network that lets no UDP out: the unit reaches the relay over TCP through its
/// bridge (webrtc-rs itself speaks TURN over UDP only), and the guest pairs with the unit's
/// relay address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_without_udp_goes_through_the_relay_over_tcp() -> Result<()> {
    let pair = call_across(Case {
        nat_a: NatKind::Cone,
        nat_b: NatKind::UdpBlocked,
        path: Path::Relayed,
    })
    .await?;
    assert_eq!(pair.remote_type, CandidateType::Relay, "{pair:?}");
    Ok(())
}

/// A store network that lets only the web out: the unit reaches the relay over TLS on 443,
/// checking its certificate against `turn.ca_file`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_on_a_web_only_network_goes_through_the_relay_over_tls() -> Result<()> {
    let pair = call_across(Case {
        nat_a: NatKind::Cone,
        nat_b: NatKind::WebOnly,
        path: Path::Relayed,
    })
    .await?;
    assert_eq!(pair.remote_type, CandidateType::Relay, "{pair:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_guest_reaches_a_unit_behind_a_cone_nat() -> Result<()> {
    call_across(Case {
        nat_a: NatKind::None,
        nat_b: NatKind::Cone,
        path: Path::Reflexive,
    })
    .await
    .map(|_| ())
}

/// A thin, lossy, delayed access link for the guest, its cap dropped from 4 to 1 Mbit/s and
/// its delay raised mid-call: video keeps flowing. (What the unit's encoder makes of the
/// drop is judged elsewhere; here the lab proves it can take a real call through all that.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_keeps_flowing_when_the_guest_link_thins_mid_call() -> Result<()> {
    let mut call = call_in(LabConfig {
        nat_a: NatKind::None,
        nat_b: NatKind::Cone,
        guest_link: LinkShape {
            rate_kbit: Some(4000),
            loss: 0.01,
            wire: Some(Wire::delay(30.0, 5.0)),
        },
        ..Default::default()
    })
    .await?;
    let before = frames_flow(&call.guest, "a 4 Mbit/s link").await?;
    call.lab.set_rate(Side::Guest, Some(1000))?;
    call.lab.set_wire(Side::Guest, Wire::delay(80.0, 10.0))?;
    let after = frames_flow(&call.guest, "a 1 Mbit/s link").await?;
    println!("nat: guest at 4 Mbit/s, 30 ms: {before:?}\nnat: guest at 1 Mbit/s, 80 ms: {after:?}");
    assert!(after.frames_decoded > before.frames_decoded);
    call.guest.close().await
}

/// The direct path between the NATs dies mid-call while the TURN relay stays reachable (a
/// firewall that starts dropping the flow, a carrier NAT that loses it): the guest's browser
/// moves to a relayed pair by itself, and the unit must follow it there, so the room's video
/// comes back without an ICE restart (the page restarts ICE only once its connection is
/// lost; the unit would have kept sending into the dead path until its own ICE failed,
/// some 30 s later).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_follows_the_browser_to_the_relay_when_the_direct_path_dies() -> Result<()> {
    let case = Case {
        nat_a: NatKind::Cone,
        nat_b: NatKind::Cone,
        path: Path::Reflexive,
    };
    let call = call_in(LabConfig {
        nat_a: case.nat_a,
        nat_b: case.nat_b,
        ..Default::default()
    })
    .await?;
    let direct = selected_pair(&call.guest).await?;
    judge(case, &direct);
    frames_flow(&call.guest, "the direct path").await?;

    call.lab.cut_direct_path()?;
    let cut = std::time::Instant::now();
    let relayed = wait::until(
        "the guest's browser on a relayed pair",
        timeouts::media(),
        || async {
            Ok(match call.guest.selected_candidate_pair().await? {
                Some(pair) if pair.state == "succeeded" && pair.is_relayed() => Check::Ready(pair),
                other => Check::NotYet(format!("{other:?}")),
            })
        },
    )
    .await?;
    println!("nat: direct path {direct:?} cut; the guest moved to {relayed:?}");
    let after = frames_flow(&call.guest, "the relay, the direct path cut").await?;
    println!(
        "nat: {} more frames decoded {:.1} s after the cut: {after:?}",
        FLOWING,
        cut.elapsed().as_secs_f64()
    );
    let restarts = call.guest.page_times().await?.restarts;
    assert_eq!(
        restarts, 0,
        "the page restarted ICE {restarts} times: the call came back only by a restart"
    );
    call.guest.close().await
}

/// How long a guest on a good link may take to see both others in the thin-link test.
const WIDE_SEES_ALL: std::time::Duration = std::time::Duration::from_secs(90);

/// A table of three where Camille's phone is on a thin link (1.2 Mbit/s, 30 ms) and Jo and
/// Ana are on good ones: her link cannot carry the room's picture, the voices and the two
/// others' pictures, so she gets fewer of the others and keeps the room's picture moving,
/// while Jo and Ana still see both others (the uplink has room for every picture: only
/// her own link holds hers back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_on_a_thin_link_keeps_the_room_and_gets_fewer_of_the_others() -> Result<()> {
    use visavis_e2e::{Chromedriver, Lab, Node, PageState};
    let mut call = LabCall::start(
        LabConfig {
            nat_a: NatKind::None,
            nat_b: NatKind::Cone,
            guest_link: LinkShape {
                rate_kbit: Some(1200),
                loss: 0.0,
                wire: Some(Wire::delay(30.0, 5.0)),
            },
            ..Default::default()
        },
        ApplianceConfig {
            mode: visavis_api::Mode::Table,
            width: 640,
            height: 360,
            auto_admit: true,
            ..Default::default()
        },
    )
    .await?;
    let url = call.unit.create_invite(timeouts::media())?;
    let driver = Chromedriver::start_in(call.lab.ns(Node::Inet))?;
    let mut wide = Vec::new();
    for name in ["Jo", "Ana"] {
        let guest = driver
            .new_guest_with_args(&Lab::guest_chromium_args())
            .await?;
        guest.open(&url).await?;
        guest.join(name).await?;
        guest
            .wait_for_state(PageState::InCall, timeouts::step())
            .await?;
        wide.push((name, guest));
    }
    for (name, guest) in &wide {
        let others: Vec<&str> = ["Camille", "Jo", "Ana"]
            .into_iter()
            .filter(|n| n != name)
            .collect();
        // On a busy machine (two lab tests at once, six Chromiums) a good link's estimate
        // can dip as the call starts: the unit then caps that guest's pictures too, and
        // gives them back a few seconds after it recovers (3 s, doubled after a relapse;
        // seen once in CI, where Ana got Jo back 16 s after the dip and Camille not within
        // 20 s). What is checked is that they see both, not how soon.
        guest
            .wait_to_see_within(name, &others, FLOWING, timeouts::scaled(WIDE_SEES_ALL))
            .await?;
    }
    // What the unit makes of her link, for the message and the figures.
    let link = |unit: &visavis_e2e::Appliance| -> String {
        unit.metrics()
            .ok()
            .and_then(|m| m.guests.into_iter().find(|g| g.name == "Camille"))
            .map_or("unknown".into(), |g| {
                format!(
                    "estimate {} kbit/s, {:?} layer",
                    g.estimate_bps / 1000,
                    g.layer
                )
            })
    };
    let fewer = wait::until(
        "Camille, on the thin link, to be shown fewer than the two others",
        timeouts::media(),
        || async {
            let others = call.guest.others().await?;
            Ok(if others.len() < 2 {
                Check::Ready(others.clone())
            } else {
                Check::NotYet(format!("{others:?}; her link: {}", link(&call.unit)))
            })
        },
    )
    .await?;
    let room = frames_flow(&call.guest, "the thin link with fewer pictures").await?;
    let shown = call.guest.others().await?;
    println!(
        "nat: on 1.2 Mbit/s Camille was shown {} of the 2 others, then {}; her link: {}; the \
         room: {room:?}",
        fewer.len(),
        shown.len(),
        link(&call.unit)
    );
    assert!(shown.len() < 2, "still fewer: {shown:?}");
    for (_, guest) in wide {
        guest.close().await?;
    }
    call.guest.close().await
}

/// The unit's `[uplink] max_kbps` in the relayed-cap test, in bit/s.
const RELAYED_CAP_BPS: u64 = 1_500_000;
/// Readings of the unit's line in that test, each over [`LINE_WINDOW`].
const LINE_READINGS: usize = 6;
const LINE_WINDOW: std::time::Duration = std::time::Duration::from_secs(2);

/// The bytes that left the unit's network interface so far, IP headers in, read from
/// `/proc/net/dev` inside its namespace (the Ethernet header of each frame taken off).
fn unit_line(call: &LabCall) -> Result<u64> {
    use visavis_e2e::Node;
    let out = call
        .lab
        .ns(Node::Unit)
        .command("cat")
        .arg("/proc/net/dev")
        .output()
        .map_err(|e| {
            visavis_e2e::Error::new(format!("cat /proc/net/dev in the unit's namespace: {e}"))
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("eth0:"))
        .ok_or_else(|| {
            visavis_e2e::Error::new(format!("no eth0 in the unit's namespace:\n{text}"))
        })?;
    // Received: 8 columns; then sent: bytes, packets, ...
    let sent: Vec<u64> = line
        .split_whitespace()
        .skip(8)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    match sent[..] {
        [bytes, packets] => Ok(bytes - packets * 14),
        _ => Err(visavis_e2e::Error::new(format!(
            "eth0's line in /proc/net/dev has no sent bytes and packets: {line}"
        ))),
    }
}

/// A unit on a web-only store network reaches the guest through the relay over TLS,
/// where each datagram takes 59 bytes more of the line than on a direct path. Its plan
/// counts them: what leaves its network interface (the kernel's count, IP headers in)
/// stays under its `[uplink] max_kbps`, every 2 s, with one guest on a 1.5 Mbit/s cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_relayed_over_tls_keeps_to_its_cap_on_the_line() -> Result<()> {
    let call = LabCall::start(
        LabConfig {
            nat_a: NatKind::Cone,
            nat_b: NatKind::WebOnly,
            ..Default::default()
        },
        ApplianceConfig {
            // The room's picture could take more than the cap leaves it.
            bitrate_kbps: 2500,
            extra_toml: format!(
                "max_guests = 1\n\n[uplink]\nmax_kbps = {}\n",
                RELAYED_CAP_BPS / 1000
            ),
            ..unit()
        },
    )
    .await?;
    // The call at the cap: the unit's own meter reads most of it.
    wait::until("the unit sending at its cap", timeouts::media(), || async {
        let m = call.unit.metrics()?;
        let header = m.guests.first().map_or(0, |g| g.path_header_bytes);
        Ok(if header == 87 && m.send_bps > RELAYED_CAP_BPS * 85 / 100 {
            Check::Ready(())
        } else {
            Check::NotYet(format!(
                "{} bit/s, {header} bytes of headers a datagram",
                m.send_bps
            ))
        })
    })
    .await?;
    let mut line = Vec::new();
    let mut metered = Vec::new();
    let mut planned = Vec::new();
    let mut every = tokio::time::interval(LINE_WINDOW);
    every.tick().await;
    let mut last = (std::time::Instant::now(), unit_line(&call)?);
    for _ in 0..LINE_READINGS {
        every.tick().await;
        let now = (std::time::Instant::now(), unit_line(&call)?);
        let secs = now.0.duration_since(last.0).as_secs_f64();
        line.push(((now.1 - last.1) as f64 * 8.0 / secs) as u64);
        let m = call.unit.metrics()?;
        metered.push(m.send_bps);
        planned.push(m.planned_send_bps);
        last = now;
    }
    println!(
        "nat: through the relay over TLS, the unit's line every 2 s: {line:?} bit/s; its \
         meter read {metered:?}, its plan {planned:?}; cap {RELAYED_CAP_BPS}"
    );
    assert!(
        line.iter().all(|&bps| bps <= RELAYED_CAP_BPS),
        "the unit sent over its {RELAYED_CAP_BPS} bit/s cap: {line:?}"
    );
    call.guest.close().await
}
