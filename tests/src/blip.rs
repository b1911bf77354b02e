//! A network blip on the unit's side: its link goes down for a few seconds during a call,
//! then comes back. The call must resume by itself (the guest page restarts ICE through
//! rendezvous, the unit answers on the same peer connection) without the guest joining
//! again: no new knock, no new admission, the same guest id in the call.
//!
//! [`blip_keeps_the_call`] is the scenario, for any way of cutting the unit's link (a
//! [`LinkCut`]); [`UnitLink`] is one such way on this machine: two network namespaces made
//! for the test, the "store" (rendezvous, the guest's browser, the test itself) and the
//! "unit" (applianced), joined by a veth pair whose store end is set down and up again.
//! Rendezvous listens on 127.0.0.1 of the store; [`forward`] carries the unit's connection
//! there from the store's end of the link.

use crate::error::{Error, Result, ResultExt};
use crate::guest::{Guest, PageState};
use crate::wait::{self, Check};
use crate::{Appliance, timeouts};
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};
use visavis_api::local::{Event, GuestState, Request, Response, Status};

/// Cuts the unit's link and brings it back.
pub trait LinkCut {
    /// Nothing goes in or out of the unit any more.
    fn cut(&self) -> Result<()>;
    /// The link is back, as it was.
    fn restore(&self) -> Result<()>;
}

/// What the blip did, for the test's log.
#[derive(Debug, Clone)]
pub struct BlipReport {
    /// Frames the guest decoded between one second into the cut and its end.
    pub frames_during_cut: u64,
    /// From the link coming back to twice [`FLOWING`] more frames decoded.
    pub resumed_after: Duration,
    /// ICE restarts the guest page made (`window.visavisGuest.reconnect().restarts`).
    pub ice_restarts: u64,
    /// The page's call status line just before the link came back (what the guest read).
    pub status_at_end_of_cut: String,
    /// The guest's screen just before the link came back.
    pub screen_at_end_of_cut: Png,
}

/// A screenshot; its `Debug` gives only its size.
#[derive(Clone)]
pub struct Png(pub Vec<u8>);

impl std::fmt::Debug for Png {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Png({} bytes)", self.0.len())
    }
}

/// How many more frames the guest must decode after the blip to show the video is back.
pub const FLOWING: u64 = 100;

/// `window.visavisGuest.reconnect()` of the guest page.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct Reconnect {
    pub reconnecting: bool,
    pub restarts: u64,
}

pub async fn reconnect_state(guest: &Guest) -> Result<Reconnect> {
    let value = guest
        .webdriver()
        .execute("return window.visavisGuest.reconnect();", vec![])
        .await
        .context("calling window.visavisGuest.reconnect()")?;
    serde_json::from_value(value.clone()).context(format!(
        "window.visavisGuest.reconnect() returned an unexpected shape: {value}"
    ))
}

fn status(unit: &Appliance) -> Result<(Status, Vec<Event>)> {
    let mut client = unit.client()?;
    match client.call(Request::Status) {
        Ok(Response::Status(s)) => Ok((s, client.take_events())),
        other => Err(Error::new(format!("status: {other:?}"))),
    }
}

/// With `guest` in a call with `unit` (decoding its video), cut the unit's link for `cut_for`
/// and check the call comes back by itself: the guest decodes [`FLOWING`] more frames twice, its
/// page never left the call, and the unit still has the same guest in the call with no new
/// knock, admission or departure in between.
pub async fn blip_keeps_the_call(
    unit: &Appliance,
    guest: &Guest,
    link: &dyn LinkCut,
    cut_for: Duration,
) -> Result<BlipReport> {
    let (before, _) = status(unit)?;
    let [in_call] = before.guests.as_slice() else {
        return Err(Error::new(format!(
            "the blip needs one guest in the call, the unit has {:?}",
            before.guests
        )));
    };
    if in_call.state != GuestState::InCall {
        return Err(Error::new(format!(
            "the guest is not in the call: {in_call:?}"
        )));
    }
    // Everything the unit tells its clients from now on is kept by this connection.
    let mut watch = unit.client()?;

    link.cut()?;
    let cut_at = Instant::now();
    let restored = async {
        tokio::time::sleep(Duration::from_secs(1).min(cut_for)).await;
        let early = guest.stats().await?.frames_decoded;
        tokio::time::sleep_until((cut_at + cut_for).into()).await;
        let late = guest.stats().await?.frames_decoded;
        let status = guest.text_of("#call-status").await?;
        let screen = guest.screenshot().await?;
        Ok::<_, Error>((late.saturating_sub(early), status, Png(screen)))
    }
    .await;
    // Whatever happened, the link comes back.
    link.restore()?;
    let (frames_during_cut, status_at_end_of_cut, screen_at_end_of_cut) = restored?;
    let back_at = Instant::now();

    // Twice: the first stretch may be a backlog the link delivers in a burst when it comes
    // back; the second can only be frames sent after the blip.
    for stretch in ["first", "second"] {
        frames_flow(guest, stretch).await?;
    }
    let resumed_after = back_at.elapsed();

    let (after, _) = status(unit)?;
    let mut events = watch.take_events();
    if let Ok(Response::Status(_)) = watch.call(Request::Status) {
        events.extend(watch.take_events());
    }
    let rejoined: Vec<&Event> = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::GuestKnock { .. }
                    | Event::GuestAdmitted { .. }
                    | Event::GuestJoined { .. }
                    | Event::GuestLeft { .. }
                    | Event::SessionEnded
            )
        })
        .collect();
    if !rejoined.is_empty() {
        return Err(Error::new(format!(
            "the blip made the guest leave or join again: {rejoined:?}"
        )));
    }
    let same = after.guests.len() == 1
        && after.guests[0].guest_id == in_call.guest_id
        && after.guests[0].state == GuestState::InCall;
    if !same || !after.session_active || !after.rendezvous_connected {
        return Err(Error::new(format!(
            "after the blip the unit should have the same guest in the call and rendezvous \
             connected: before {:?}, after {:?} (session active {}, rendezvous {})",
            before.guests, after.guests, after.session_active, after.rendezvous_connected
        )));
    }
    let ice_restarts = reconnect_state(guest).await?.restarts;
    Ok(BlipReport {
        frames_during_cut,
        resumed_after,
        ice_restarts,
        status_at_end_of_cut,
        screen_at_end_of_cut,
    })
}

/// Wait until `guest` has decoded [`FLOWING`] more frames than now, its page still in the
/// call.
async fn frames_flow(guest: &Guest, stretch: &str) -> Result<()> {
    let start = guest.stats().await?.frames_decoded;
    wait::until(
        &format!("the guest to decode {FLOWING} more frames after the blip ({stretch} stretch)"),
        timeouts::blip_recovery(),
        || async {
            let s = guest.stats().await?;
            let page = guest.state().await?;
            if page.as_deref() != Some(PageState::InCall.as_str()) {
                return Err(Error::new(format!(
                    "the guest page left the call during the blip: state {page:?}"
                )));
            }
            Ok(if s.frames_decoded >= start + FLOWING {
                Check::Ready(())
            } else {
                Check::NotYet(format!("{} frames since {start}: {s:?}", s.frames_decoded))
            })
        },
    )
    .await
}

/// Run `ip` with `args`; the error says what failed and how to fix it.
pub fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("could not run `ip` (iproute2): is it installed?")?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "`ip {}` failed ({}): {} (network namespaces need root and iproute2)",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Two network namespaces joined by a veth pair: the store (`10.77.0.1/24` on its end) and
/// the unit (`10.77.0.2/24`). Removed on drop.
pub struct TwoNamespaces {
    pub store: String,
    pub unit: String,
    /// The veth end in the store namespace: setting it down cuts the unit's link.
    pub store_end: String,
}

impl TwoNamespaces {
    pub const STORE_ADDR: &str = "10.77.0.1";
    pub const UNIT_ADDR: &str = "10.77.0.2";

    pub fn create() -> Result<TwoNamespaces> {
        let tag = crate::random_hex(3);
        let made = TwoNamespaces {
            store: format!("vv-store-{tag}"),
            unit: format!("vv-unit-{tag}"),
            store_end: format!("vvs{tag}"),
        };
        let unit_end = format!("vvu{tag}");
        ip(&["netns", "add", &made.store])?;
        ip(&["netns", "add", &made.unit])?;
        ip(&[
            "-n",
            &made.store,
            "link",
            "add",
            &made.store_end,
            "type",
            "veth",
            "peer",
            "name",
            &unit_end,
            "netns",
            &made.unit,
        ])?;
        let store_cidr = format!("{}/24", Self::STORE_ADDR);
        let unit_cidr = format!("{}/24", Self::UNIT_ADDR);
        for (ns, dev, cidr) in [
            (&made.store, &made.store_end, &store_cidr),
            (&made.unit, &unit_end, &unit_cidr),
        ] {
            ip(&["-n", ns, "addr", "add", cidr, "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        // The store is the unit's way out, as its Wi-Fi router would be (the unit's peer
        // connections also join the mDNS group, which needs a route); the store has no way
        // further out.
        ip(&[
            "-n",
            &made.unit,
            "route",
            "add",
            "default",
            "via",
            Self::STORE_ADDR,
        ])?;
        Ok(made)
    }
}

impl Drop for TwoNamespaces {
    fn drop(&mut self) {
        for ns in [&self.store, &self.unit] {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

/// The unit's link seen from the store namespace (where the caller runs): its veth end
/// goes down, so the unit's interface loses its carrier, as when the Wi-Fi drops.
pub struct UnitLink {
    pub store_end: String,
}

impl LinkCut for UnitLink {
    fn cut(&self) -> Result<()> {
        ip(&["link", "set", &self.store_end, "down"])
    }

    fn restore(&self) -> Result<()> {
        ip(&["link", "set", &self.store_end, "up"])
    }
}

/// Accept TCP connections on `listen` and carry each to `to`, both ways, until either side
/// closes; the address it listens on. Runs on the current tokio runtime.
pub async fn forward(listen: SocketAddr, to: SocketAddr) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .context(format!("could not listen on {listen}"))?;
    let addr = listener.local_addr().context("the forwarder's address")?;
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    Ok(addr)
}
