//! Rendezvous restarted mid-call (killed, started again on its port, as systemd does): the
//! media goes on peer to peer, the unit reconnects and names the guests of its call, and
//! the guest page opens a new signaling socket and resumes its place, with no new knock
//! or admission. Proof that signaling is back: the room ends the session and the page,
//! told over its new socket, says so (without it the page would only see its media stop).
//! The invite on the screen, which rendezvous forgot, is replaced by a fresh one that works.
//!
//! And the commoner blip: only the guest's own connection to rendezvous drops (a 4G
//! handover, a tunnel), rendezvous staying up. The guest reaches rendezvous through a
//! [`Relay`] whose connections the test cuts; rendezvous holds the guest's place, the unit
//! is not told, the media goes on, the page resumes on a new socket and is still in the
//! call with the same guest id. Leaving on purpose afterwards reaches the unit at once.
//! A connection that stays down longer than the hold ends the place: the unit is told the
//! guest left, and the page, back online, says its place in the call has ended.
//! And the unit's `unit_back`, written into a guest socket that had died unnoticed, is said
//! again by the `resumed` of her new socket: the page stops saying the room is offline.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use visavis_api::local::{Event, GuestState, Request, Response};
use visavis_e2e::relay::Relay;
use visavis_e2e::restartable::Restartable;
use visavis_e2e::timeouts;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{
    Appliance, ApplianceConfig, Chromedriver, Error, Guest, PageState, Rendezvous,
    RendezvousConfig, Result,
};

/// How long rendezvous stays down: about systemd's restart delay.
const OUTAGE: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_rendezvous_restarts_the_guest_page_resumes_its_signaling() -> Result<()> {
    let mut rendezvous = Restartable::start(RendezvousConfig::default()).map_err(Error::new)?;
    let mut unit = Appliance::start_with(
        rendezvous.url(),
        Some(rendezvous.fleet()),
        &ApplianceConfig {
            auto_admit: true,
            ..Default::default()
        },
    )?;
    let url = unit.create_invite(timeouts::step())?;
    let driver = Chromedriver::start()?;
    let camille = driver.new_guest().await?;
    camille.open(&url).await?;
    camille.join("Camille").await?;
    camille
        .wait_for_state(PageState::InCall, timeouts::step())
        .await?;
    camille
        .wait_decoded(11, "Camille decodes video", timeouts::media())
        .await?;

    tokio::task::block_in_place(|| rendezvous.kill());
    tokio::time::sleep(OUTAGE).await;
    tokio::task::block_in_place(|| rendezvous.start_again()).map_err(Error::new)?;

    let resumed = resumed_signaling(&camille, "the new rendezvous").await?;
    eprintln!("signaling after the restart: {resumed}");
    let start = camille.stats().await?.frames_decoded;
    camille
        .wait_decoded(start + 30, "the video to go on", timeouts::media())
        .await?;
    assert_eq!(
        camille.state().await?.as_deref(),
        Some("in-call"),
        "no new knock, no new admission"
    );

    // The code on the screen is renewed: rendezvous forgot the old invite with the rest.
    let fresh = wait::until(
        "the unit to show a fresh invite",
        timeouts::step(),
        || async {
            let status = match unit.client()?.call(Request::Status) {
                Ok(Response::Status(s)) => s,
                other => return Err(Error::new(format!("status: {other:?}"))),
            };
            Ok(match status.invite_url {
                Some(fresh) if fresh != url => Check::Ready(fresh),
                other => Check::NotYet(format!("invite {other:?}")),
            })
        },
    )
    .await?;
    let lea = driver.new_guest().await?;
    lea.open(&url).await?;
    lea.wait_for_state(PageState::InvalidInvite, timeouts::step())
        .await?;
    lea.open(&fresh).await?;
    lea.join("Léa").await?;
    lea.wait_for_state(PageState::InCall, timeouts::step())
        .await?;

    match unit.client()?.call(Request::EndSession) {
        Ok(Response::Done) => {}
        other => return Err(Error::new(format!("end_session: {other:?}"))),
    }
    camille
        .wait_for_state(PageState::Ended, timeouts::step())
        .await?;
    Ok(())
}

/// Wait until the guest page has resumed its signaling once and its socket is open.
async fn resumed_signaling(guest: &Guest, on: &str) -> Result<serde_json::Value> {
    resumed_times(guest, on, 1).await
}

/// Wait until the guest page has resumed its signaling `times` times and its socket is
/// open.
async fn resumed_times(guest: &Guest, on: &str, times: u64) -> Result<serde_json::Value> {
    wait::until(
        &format!("the guest page to resume its signaling on {on}"),
        timeouts::step(),
        || async {
            let s = guest
                .eval("return window.visavisGuest.signaling();")
                .await?;
            let resumes = s.get("resumes").and_then(|v| v.as_u64()).unwrap_or(0);
            let open = s.get("open").and_then(|v| v.as_bool()).unwrap_or(false);
            Ok(if resumes >= times && open {
                Check::Ready(s)
            } else {
                Check::NotYet(format!("{s}"))
            })
        },
    )
    .await
}

/// How long rendezvous holds a dropped guest's place here: longer than any wait of this
/// test, so the unit hearing of a departure within one is not a hold running out.
const HOLD_SECS: u64 = 300;

/// Camille in the call (the unit admits by itself), her page reaching rendezvous through a
/// [`Relay`] the test can cut; the unit through its own relay when `unit_relayed`, directly
/// otherwise. Rendezvous holds a dropped guest's place for `hold_secs`. Keep it until the
/// end: each part stops what it runs when dropped.
struct Through {
    _rendezvous: Rendezvous,
    unit: Appliance,
    relay: Relay,
    unit_relay: Option<Relay>,
    _driver: Chromedriver,
    camille: Guest,
}

async fn camille_through_relay(hold_secs: u64, unit_relayed: bool) -> Result<Through> {
    let rendezvous = Rendezvous::start(RendezvousConfig {
        extra_toml: format!("guest_hold_secs = {hold_secs}"),
        ..Default::default()
    })?;
    let direct: SocketAddr = rendezvous
        .url()
        .trim_start_matches("http://")
        .parse()
        .map_err(|e| Error::new(format!("rendezvous' address {}: {e}", rendezvous.url())))?;
    let unit_relay = match unit_relayed {
        true => Some(Relay::start(direct).await?),
        false => None,
    };
    let mut unit = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            auto_admit: true,
            rendezvous_url: unit_relay.as_ref().map(|r| format!("http://{}", r.addr())),
            ..Default::default()
        },
    )?;
    let url = unit.create_invite(timeouts::step())?;
    let relay = Relay::start(direct).await?;
    let driver = Chromedriver::start()?;
    let camille = driver.new_guest().await?;
    camille.open(&relay.url_through(&url, direct)).await?;
    camille.join("Camille").await?;
    camille
        .wait_for_state(PageState::InCall, timeouts::step())
        .await?;
    Ok(Through {
        _rendezvous: rendezvous,
        unit,
        relay,
        unit_relay,
        _driver: driver,
        camille,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_whose_own_connection_drops_keeps_its_place() -> Result<()> {
    let call = camille_through_relay(HOLD_SECS, false).await?;
    let (unit, relay, camille) = (&call.unit, &call.relay, &call.camille);
    camille
        .wait_decoded(11, "Camille decodes video", timeouts::media())
        .await?;
    let before = unit.status()?;
    let [in_call] = before.guests.as_slice() else {
        return Err(Error::new(format!(
            "one guest expected: {:?}",
            before.guests
        )));
    };
    // From here on, everything the unit tells its clients is kept by this connection.
    let mut watch = unit.client()?;

    let cut = relay.cut();
    let cut_at = Instant::now();
    if cut == 0 {
        return Err(Error::new(
            "the guest had no connection through the relay to cut",
        ));
    }
    let resumed = resumed_signaling(camille, "the same rendezvous").await?;
    eprintln!(
        "cut {cut} connection(s); the page resumed its place {:.2} s after the cut: {resumed}",
        cut_at.elapsed().as_secs_f64()
    );
    // The page counts the unit's signals it handled (the answer to its offer at least),
    // which it resumes with so that none written into a dead socket is lost.
    assert!(
        resumed["seen"].as_u64().is_some_and(|seen| seen >= 1),
        "the page resumed with the number of the unit's last signal it handled: {resumed}"
    );
    let start = camille.stats().await?.frames_decoded;
    camille
        .wait_decoded(start + 30, "the video to go on", timeouts::media())
        .await?;
    assert_eq!(
        camille.state().await?.as_deref(),
        Some("in-call"),
        "the page stayed in the call"
    );
    let after = unit.status()?;
    let mut events = watch.take_events();
    if let Ok(Response::Status(_)) = watch.call(Request::Status) {
        events.extend(watch.take_events());
    }
    let departures: Vec<&Event> = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::GuestKnock { .. }
                    | Event::GuestAdmitted { .. }
                    | Event::GuestJoined { .. }
                    | Event::GuestLeft { .. }
            )
        })
        .collect();
    assert!(
        departures.is_empty(),
        "the unit heard the guest leave or join again: {departures:?}"
    );
    assert!(
        after.guests.len() == 1
            && after.guests[0].guest_id == in_call.guest_id
            && after.guests[0].state == GuestState::InCall,
        "the unit has the same guest in the call: before {:?}, after {:?}",
        before.guests,
        after.guests
    );

    // Then the connection goes silent instead, with neither end told: the page hears no
    // answer to its pings, gives the socket up and resumes on a new one. (Without its
    // pings it would wait for the browser to notice, minutes.)
    let frozen = relay.freeze();
    let frozen_at = Instant::now();
    if frozen == 0 {
        return Err(Error::new(
            "the guest had no connection through the relay to freeze",
        ));
    }
    let resumed = resumed_times(camille, "the same rendezvous, after a silent link", 2).await?;
    eprintln!(
        "froze {frozen} connection(s); the page resumed its place {:.2} s later: {resumed}",
        frozen_at.elapsed().as_secs_f64()
    );
    let start = camille.stats().await?.frames_decoded;
    camille
        .wait_decoded(start + 30, "the video to go on", timeouts::media())
        .await?;
    let again = unit.status()?;
    assert!(
        again.guests.len() == 1 && again.guests[0].guest_id == in_call.guest_id,
        "the unit still has the same guest: {:?}",
        again.guests
    );

    // Signaling works on the resumed socket, and a goodbye is heard at once (well within
    // the hold): the Leave button.
    camille.leave().await?;
    wait::until(
        "the unit to hear that the guest left",
        timeouts::step(),
        || async {
            let s = unit.status()?;
            Ok(if s.guests.is_empty() {
                Check::Ready(())
            } else {
                Check::NotYet(format!("guests {:?}", s.guests))
            })
        },
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_away_longer_than_the_hold_is_told_its_place_has_ended() -> Result<()> {
    let call = camille_through_relay(2, false).await?;
    let (unit, relay, camille) = (&call.unit, &call.relay, &call.camille);

    // Her connection to rendezvous drops and stays down past the hold.
    relay.block(true);
    relay.cut();
    wait::until(
        "the unit to be told the guest left once the hold ran out",
        timeouts::step(),
        || async {
            let s = unit.status()?;
            Ok(if s.guests.is_empty() {
                Check::Ready(())
            } else {
                Check::NotYet(format!("guests {:?}", s.guests))
            })
        },
    )
    .await?;
    relay.block(false);
    camille
        .wait_for_state(PageState::Ended, timeouts::step())
        .await?;
    let title = camille.text_of("#message-title").await?;
    assert_eq!(
        title, "Your place in the call has ended",
        "the page says why"
    );
    Ok(())
}

/// The unit's own connection to rendezvous drops (the page says the room went offline),
/// and while it is gone Camille's connection goes silent with neither end told. The unit's
/// `unit_back` is written into her dead socket; her page resumes on a new one later, and
/// must learn there that the room is back rather than keep saying it is offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_back_lost_in_a_dead_socket_is_said_again_when_the_page_resumes() -> Result<()> {
    let call = camille_through_relay(HOLD_SECS, true).await?;
    let (unit, relay, camille) = (&call.unit, &call.relay, &call.camille);
    let unit_relay = call
        .unit_relay
        .as_ref()
        .ok_or_else(|| Error::new("the unit has no relay"))?;
    camille
        .wait_decoded(11, "Camille decodes video", timeouts::media())
        .await?;

    // The unit's connection drops and stays down until her page has said so.
    unit_relay.block(true);
    if unit_relay.cut() == 0 {
        return Err(Error::new("the unit had no connection through its relay"));
    }
    let away = camille
        .call_status_until("to say the room went offline", timeouts::step(), |text| {
            text.contains("offline")
        })
        .await?;
    eprintln!("the page said {away:?}");

    // Her connection goes silent; then the unit comes back while her page still trusts
    // the dead socket.
    if relay.freeze() == 0 {
        return Err(Error::new("the guest had no connection through the relay"));
    }
    unit_relay.block(false);
    wait::until(
        "the unit to reconnect to rendezvous",
        timeouts::step(),
        || async {
            let s = unit.status()?;
            Ok(if s.rendezvous_connected {
                Check::Ready(())
            } else {
                Check::NotYet("not connected".into())
            })
        },
    )
    .await?;
    let before = camille
        .eval("return window.visavisGuest.signaling();")
        .await?;
    if before["resumes"].as_u64() != Some(0) {
        return Err(Error::new(format!(
            "the page resumed before the unit was back, so `unit_back` reached it anyway \
             (this test needs the page's heartbeat slower than the unit's reconnect): {before}"
        )));
    }
    let resumed = resumed_signaling(camille, "the same rendezvous, after a silent link").await?;
    eprintln!("the page resumed with {resumed}");
    camille
        .call_status_until(
            "to stop saying the room is offline",
            timeouts::step(),
            str::is_empty,
        )
        .await?;
    assert_eq!(
        camille.state().await?.as_deref(),
        Some("in-call"),
        "the page stayed in the call"
    );
    Ok(())
}
