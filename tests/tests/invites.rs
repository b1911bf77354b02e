//! Invite links as a guest meets them, against the real `rendezvous` binary.
//!
//! A forged link must land on the invalid-invite page (`data-state="invalid-invite"`,
//! `data-reason="unknown"`) with HTTP 404, and never on the guest app.
//!

use visavis_e2e::timeouts;
use visavis_e2e::{
    Chromedriver, PageState, Rendezvous, RendezvousConfig, Result, http, random_hex,
};

/// Tokens nobody issued: one shaped like a real token, and a few that are not.
fn forged_tokens() -> Vec<String> {
    vec![
        random_hex(16),
        "x".to_string(),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string(),
    ]
}

#[test]
fn forged_invite_links_answer_404_with_reason_unknown() -> Result<()> {
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    for token in forged_tokens() {
        let url = rendezvous.invite_url(&token);
        let page = http::get(&url)?;
        assert_eq!(page.status, 404, "GET {url}: {}", page.body);
        assert!(
            page.header("content-type")
                .is_some_and(|t| t.starts_with("text/html")),
            "GET {url}: the error page is HTML, got {:?}",
            page.header("content-type")
        );
        assert!(
            page.body.contains("invalid-invite"),
            "GET {url}: {}",
            page.body
        );
        assert!(page.body.contains("unknown"), "GET {url}: {}", page.body);
    }
    Ok(())
}

#[tokio::test]
async fn a_forged_invite_shows_the_invalid_invite_page() -> Result<()> {
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let driver = Chromedriver::start()?;
    let guest = driver.new_guest().await?;
    guest.open(&rendezvous.invite_url(&random_hex(16))).await?;
    guest
        .wait_for_state(PageState::InvalidInvite, timeouts::media())
        .await?;
    assert_eq!(guest.body_data("reason").await?.as_deref(), Some("unknown"));
    guest.close().await
}

/// An invite from a real unit works at first, and answers 410 "expired" once its lifetime
/// (2 s here) has passed; the page never falls back to the guest app.
#[test]
fn an_expired_invite_is_refused() -> Result<()> {
    let rendezvous = Rendezvous::start(RendezvousConfig {
        invite_ttl_secs: Some(2),
        ..Default::default()
    })?;
    let mut unit = visavis_e2e::Appliance::start(&rendezvous, Default::default())?;
    let url = unit.create_invite(timeouts::media())?;
    let first = http::get(&url)?;
    assert_eq!(
        first.status, 200,
        "a fresh invite opens the guest app: {}",
        first.body
    );
    let expired =
        visavis_e2e::wait::until_blocking("the invite to expire", timeouts::media(), || {
            let page = http::get(&url)?;
            Ok(if page.status == 410 {
                visavis_e2e::wait::Check::Ready(page)
            } else {
                visavis_e2e::wait::Check::NotYet(format!("HTTP {}", page.status))
            })
        })?;
    assert!(expired.body.contains("expired"), "{}", expired.body);
    Ok(())
}

/// Once the unit ends the session, its invite answers 410 "ended", even before it expires.
#[test]
fn an_invite_of_an_ended_session_is_refused() -> Result<()> {
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let mut unit = visavis_e2e::Appliance::start(&rendezvous, Default::default())?;
    let url = unit.create_invite(timeouts::media())?;
    assert_eq!(http::get(&url)?.status, 200);
    let ended = unit.client()?.call(visavis_api::local::Request::EndSession);
    assert!(ended.is_ok(), "{ended:?}");
    let page = visavis_e2e::wait::until_blocking(
        "the invite to stop working",
        timeouts::answer(),
        || {
            let page = http::get(&url)?;
            Ok(if page.status == 410 {
                visavis_e2e::wait::Check::Ready(page)
            } else {
                visavis_e2e::wait::Check::NotYet(format!("HTTP {}", page.status))
            })
        },
    )?;
    assert!(page.body.contains("ended"), "{}", page.body);
    Ok(())
}
