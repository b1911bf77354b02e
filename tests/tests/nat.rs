//! Calls across NATs, in the network lab (tests/src/lab): a guest's Chromium behind NAT A, the
//! unit behind NAT B, rendezvous and coturn in the lab's internet. Each case is a [`Case`]:
//! the two NAT kinds and the path the guest's browser must end up on, judged from the
//! candidate pair it selected (`getStats()`), after its video flows.
//!
//! Adding a case (symmetric NATs and TURN, once rendezvous hands out TURN credentials) is one
//! more `#[tokio::test]` calling [`call_across`] with its [`Case`]; a test that shapes the
//! links starts from [`call_in`] and changes them through [`LabCall::lab`].

use visavis_e2e::lab::{Lab, LabConfig, LinkShape, NatKind, Node, Side, Wire};
use visavis_e2e::timeouts;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{
    Appliance, ApplianceConfig, CandidatePair, CandidateType, Chromedriver, Coturn, Guest,
    GuestStats, PageState, Rendezvous, RendezvousConfig, Result,
};

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

/// How many frames the guest must decode to show the unit's video flows.
const FLOWING: u64 = 60;

fn judge(case: Case, pair: &CandidatePair) {
    let relayed =
        pair.local_type == CandidateType::Relay || pair.remote_type == CandidateType::Relay;
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
            if case.nat_a == NatKind::UdpBlocked {
                let over = pair.relay_protocol.as_deref();
                assert!(
                    matches!(over, Some("tcp" | "tls")),
                    "{case:?}: the guest reached the relay over {over:?}, and UDP is blocked"
                );
            }
        }
    }
}

/// A call in a lab: everything it started, declared so that it drops in order (the guest
/// first, the lab last).
struct LabCall {
    guest: Guest,
    _driver: Chromedriver,
    _unit: Appliance,
    _rendezvous: Rendezvous,
    _coturn: Coturn,
    lab: Lab,
}

/// Build `config`'s lab with coturn and rendezvous in its internet (STUN, and TURN
/// credentials minted by rendezvous for both sides) and the unit behind NAT B, and bring a
/// guest behind NAT A into a call whose video flows.
async fn call_in(config: LabConfig) -> Result<LabCall> {
    let lab = Lab::start(config)?;
    let coturn = Coturn::start(&lab)?;
    let rendezvous = Rendezvous::start_in_lab(
        &lab,
        RendezvousConfig {
            extra_toml: format!("[[ice_servers]]\nurls = [\"{}\"]\n", coturn.stun_url()),
            turn: Some(coturn.rendezvous_turn()),
            ..Default::default()
        },
    )?;
    let mut unit = Appliance::start_in_lab(
        &lab,
        &rendezvous,
        ApplianceConfig {
            width: 640,
            height: 360,
            auto_admit: true,
            ..Default::default()
        },
    )?;
    let url = unit.create_invite(timeouts::media())?;
    assert!(url.starts_with(&Lab::rendezvous_url()), "invite {url}");

    let driver = Chromedriver::start_in(lab.ns(Node::Guest))?;
    let guest = driver
        .new_guest_with_args(&Lab::guest_chromium_args())
        .await?;
    guest.record_peer_connections().await?;
    guest.open(&url).await?;
    guest.join("Camille").await?;
    guest
        .wait_for_state(PageState::InCall, timeouts::step())
        .await?;
    frames_flow(&guest, &format!("{config:?}")).await?;
    Ok(LabCall {
        guest,
        _driver: driver,
        _unit: unit,
        _rendezvous: rendezvous,
        _coturn: coturn,
        lab,
    })
}

/// Wait until the guest decoded [`FLOWING`] more frames; its stats then.
async fn frames_flow(guest: &Guest, across: &str) -> Result<GuestStats> {
    let start = guest.stats().await?.frames_decoded;
    wait::until(
        &format!("the guest to decode {FLOWING} frames across {across}"),
        timeouts::media(),
        || async {
            let s = guest.stats().await?;
            Ok(if s.frames_decoded >= start + FLOWING {
                Check::Ready(s)
            } else {
                Check::NotYet(format!("{s:?}"))
            })
        },
    )
    .await
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
    let call = call_in(LabConfig {
        nat_a: case.nat_a,
        nat_b: case.nat_b,
        ..Default::default()
    })
    .await?;
    let pair = selected_pair(&call.guest).await?;
    println!("nat: {case:?}: the guest's selected pair: {pair:?}");
    judge(case, &pair);
    call.guest.close().await?;
    Ok(pair)
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

/// A symmetric NAT on either side: the reflexive address the other side learns is not the one
/// the checks come from, so only the relay joins them.
///
/// Seen so far: the unit reports `connected` and receives the guest's audio and video, the
/// guest receives nothing, and the unit drops to `disconnected` 5 s later (its log shows
/// `IceHandler.handle_read got error: unhandled STUN packet`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the unit's media does not reach a guest behind a symmetric NAT yet"]
async fn a_symmetric_guest_nat_goes_through_the_relay() -> Result<()> {
    call_across(Case {
        nat_a: NatKind::Symmetric,
        nat_b: NatKind::Cone,
        path: Path::Relayed,
    })
    .await
    .map(|_| ())
}

/// Seen so far: video flows through the guest's relay candidate, but the selected pair
/// (relay ↔ peer-reflexive) stays `in-progress` instead of `succeeded`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the selected pair stays in-progress through the relay"]
async fn a_symmetric_unit_nat_goes_through_the_relay() -> Result<()> {
    call_across(Case {
        nat_a: NatKind::Cone,
        nat_b: NatKind::Symmetric,
        path: Path::Relayed,
    })
    .await
    .map(|_| ())
}

/// A guest network that lets no UDP out: the guest reaches the relay over TCP or TLS.
///
/// Seen so far: the guest page ends in `error` before the call starts (not analysed yet;
/// webrtc-rs skips the `turn:...?transport=tcp` and `turns:` URLs on the unit's side, which
/// is fine here as the unit has UDP).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the guest page ends in error behind a UDP-blocking NAT"]
async fn a_guest_without_udp_goes_through_the_relay_over_tcp() -> Result<()> {
    call_across(Case {
        nat_a: NatKind::UdpBlocked,
        nat_b: NatKind::Cone,
        path: Path::Relayed,
    })
    .await
    .map(|_| ())
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
