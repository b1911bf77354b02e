//! Invite links as a guest meets them, against the real `rendezvous` binary.
//!
//! A forged link must land on the invalid-invite page (`data-state="invalid-invite"`,
//! `data-reason="unknown"`) with HTTP 404, and never on the guest app.
//!

use std::time::Duration;
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
        .wait_for_state(PageState::InvalidInvite, Duration::from_secs(20))
        .await?;
    assert_eq!(guest.body_data("reason").await?.as_deref(), Some("unknown"));
    guest.close().await
}
