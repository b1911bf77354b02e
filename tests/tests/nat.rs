//! Calls across NATs, in the network lab (tests/src/lab): a guest's Chromium behind NAT A, the
//! unit behind NAT B, rendezvous and coturn in the lab's internet. Each case is a [`Case`]:
//! the two NAT kinds and the path the guest's browser must end up on, judged from the
//! candidate pair it selected (`getStats()`), after its video flows.
//!
//! Adding a case (symmetric NATs and TURN, once rendezvous hands out TURN credentials) is one
//! more `#[tokio::test]` calling [`call_across`] with its [`Case`]; a test that shapes the
//! links starts from [`call_in`] and changes them through [`LabCall::lab`].

use visavis_e2e::lab::call::{LabCall, frames_flow};
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

/// [`LabCall::start`] with the unit these tests use: 640x360, guests let in without a tap.
async fn call_in(config: LabConfig) -> Result<LabCall> {
    LabCall::start(
        config,
        ApplianceConfig {
            width: 640,
            height: 360,
            auto_admit: true,
            ..Default::default()
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

///
/// Seen so far: passes in some runs; in others the guest's ICE fails before the call is up
/// (page `error`), or video flows while the selected pair (relay to peer-reflexive) stays
/// `in-progress`. Not reliable enough to gate a change on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the unit behind a symmetric NAT connects in some runs only"]
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
/// Seen so far: the guest's Chromium gathers its relay candidate over TCP (`relay=tcp`,
/// an address of the relay) but forms no candidate pair with it: its checks go only from
/// its host UDP candidate, which the NAT drops, no check from the unit arrives, and ICE
/// fails before the call starts (page `error`). The unit has UDP here and uses the relay
/// over UDP (webrtc-rs 0.21 skips `?transport=tcp` and `turns:` URLs with a warning).
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
