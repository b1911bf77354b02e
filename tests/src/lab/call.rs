//! A call across the lab: coturn and rendezvous in its internet (STUN, and TURN credentials
//! rendezvous mints for both sides), the unit behind NAT B, one guest's Chromium behind
//! NAT A, in a call whose video flows. Used by the NAT tests and `cargo xtask bench net`.

use super::{Lab, LabConfig, Node};
use crate::error::{Error, Result};
use crate::guest_ice::PageTimes;
use crate::timeouts;
use crate::{
    Appliance, ApplianceConfig, Chromedriver, Coturn, Guest, GuestStats, PageState, Rendezvous,
    RendezvousConfig,
};
use std::time::{Duration, Instant};

/// How many frames the guest must decode to show the unit's video flows.
pub const FLOWING: u64 = 60;

/// Everything a lab call started, declared so that it drops in order (the guest first, the
/// lab last).
pub struct LabCall {
    pub guest: Guest,
    pub driver: Chromedriver,
    pub unit: Appliance,
    pub rendezvous: Rendezvous,
    pub coturn: Coturn,
    /// From the guest opening the invite to its first decoded frame.
    pub invite_to_first_frame: Duration,
    /// Where that time went, on the page's clock; `now` is when the first frame was seen.
    pub phases: PageTimes,
    pub lab: Lab,
}

impl LabCall {
    /// Build `config`'s lab and bring a guest into a call with a unit of `unit` (its
    /// rendezvous settings are the lab's) whose video flows.
    pub async fn start(config: LabConfig, unit: ApplianceConfig) -> Result<LabCall> {
        let lab = Lab::start(config)?;
        let (coturn, rendezvous, mut unit) = start_unit(&lab, unit)?;
        let url = unit.create_invite(timeouts::media())?;
        let driver = Chromedriver::start_in(lab.ns(Node::Guest))?;
        let guest = driver
            .new_guest_with_args(&Lab::guest_chromium_args())
            .await?;
        guest.record_peer_connections().await?;
        let opened = Instant::now();
        guest.open(&url).await?;
        guest.join("Camille").await?;
        if let Err(e) = guest
            .wait_for_state(PageState::InCall, timeouts::step())
            .await
        {
            // A call that does not come up across the lab: what the browser's ICE tried.
            let ice = guest
                .ice_report()
                .await
                .unwrap_or_else(|e| format!("(no ICE report: {e})"));
            return Err(Error::new(format!("{e}; the guest's ICE:\n{ice}")));
        }
        guest
            .wait_decoded(1, "the first decoded frame", timeouts::media())
            .await?;
        let invite_to_first_frame = opened.elapsed();
        let phases = guest.page_times().await?;
        frames_flow(&guest, &format!("{config:?}")).await?;
        Ok(LabCall {
            guest,
            driver,
            unit,
            rendezvous,
            coturn,
            invite_to_first_frame,
            phases,
            lab,
        })
    }
}

/// The lab's relay, its rendezvous (handing out the relay and minting TURN credentials)
/// and a unit of `unit` behind NAT B, whose rendezvous settings are the lab's.
pub fn start_unit(lab: &Lab, unit: ApplianceConfig) -> Result<(Coturn, Rendezvous, Appliance)> {
    let coturn = Coturn::start(lab)?;
    let rendezvous = Rendezvous::start_in_lab(
        lab,
        RendezvousConfig {
            extra_toml: format!("[[ice_servers]]\nurls = [\"{}\"]\n", coturn.stun_url()),
            turn: Some(coturn.rendezvous_turn()),
            ..Default::default()
        },
    )?;
    // The unit checks the lab relay's certificate (`turns:`) against the lab's CA.
    let unit = ApplianceConfig {
        extra_toml: format!(
            "{}\n[turn]\nca_file = \"{}\"\n",
            unit.extra_toml,
            coturn.ca_file().display()
        ),
        ..unit
    };
    let unit = Appliance::start_in_lab(lab, &rendezvous, unit)?;
    Ok((coturn, rendezvous, unit))
}

/// Wait until the guest decoded [`FLOWING`] more frames; its stats then.
pub async fn frames_flow(guest: &Guest, across: &str) -> Result<GuestStats> {
    let start = guest.stats().await?.frames_decoded;
    guest
        .wait_decoded(
            start + FLOWING,
            &format!("the guest to decode {FLOWING} frames across {across}"),
            timeouts::media(),
        )
        .await
}
