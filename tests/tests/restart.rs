//! Rendezvous restarted mid-call (killed, started again on its port, as systemd does): the
//! media goes on peer to peer, the unit reconnects and names the guests of its call, and
//! the guest page opens a new signaling socket and resumes its place, with no new knock
//! or admission. Proof that signaling is back: the room ends the session and the page,
//! told over its new socket, says so (without it the page would only see its media stop).
//! The invite on the screen, which rendezvous forgot, is replaced by a fresh one that works.

use std::time::Duration;
use visavis_api::local::{Request, Response};
use visavis_e2e::restartable::Restartable;
use visavis_e2e::timeouts;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{
    Appliance, ApplianceConfig, Chromedriver, Error, PageState, RendezvousConfig, Result,
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

    let resumed = wait::until(
        "the guest page to resume its signaling on the new rendezvous",
        timeouts::media(),
        || async {
            let s = camille
                .eval("return window.visavisGuest.signaling();")
                .await?;
            let resumes = s.get("resumes").and_then(|v| v.as_u64()).unwrap_or(0);
            let open = s.get("open").and_then(|v| v.as_bool()).unwrap_or(false);
            Ok(if resumes >= 1 && open {
                Check::Ready(s)
            } else {
                Check::NotYet(format!("{s}"))
            })
        },
    )
    .await?;
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
