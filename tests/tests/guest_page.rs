//! The guest page on a phone, in English and in French, at 360x740 and 412x915 CSS pixels:
//! before joining it says where the invite leads; waiting with the camera check on; in the
//! call with a vote, where one guest's chat line and reaction reach the other (with her
//! name) and both see "2 watching"; the vote minimised, closed with its winner; Leave asks
//! first. At every step every control and line of words is inside the viewport and nothing
//! scrolls off. With `VISAVIS_GUEST_SCREENS=1` it writes what it sees to
//! `docs/screens/guest-<step>.<lang>.<w>x<h>.png`, the screenshots the README shows.

use visavis_api::local::{Request, Response};
use visavis_e2e::guest_screen::screens_dir;
use visavis_e2e::timeouts;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{
    Appliance, ApplianceConfig, Chromedriver, Error, Guest, PageState, Reaction, Rendezvous,
    RendezvousConfig, Result,
};

/// The phones: a small Android and a large one.
const SIZES: [(u32, u32); 2] = [(360, 740), (412, 915)];

fn call(unit: &Appliance, request: Request) -> Result<Response> {
    unit.client()?
        .call(request.clone())
        .map_err(|e| Error::new(format!("{request:?}: {e}")))
}

/// At each phone size: everything in reach, and the screenshot when asked for.
async fn check_sizes(guest: &Guest, lang: &str, step: &str) -> Result<()> {
    let write = std::env::var_os("VISAVIS_GUEST_SCREENS").is_some_and(|v| v == "1");
    check(guest, lang, step, write).await
}

/// At each phone size: everything in reach (no screenshot).
async fn check_reach(guest: &Guest, lang: &str, step: &str) -> Result<()> {
    check(guest, lang, step, false).await
}

async fn check(guest: &Guest, lang: &str, step: &str, write: bool) -> Result<()> {
    for (w, h) in SIZES {
        guest.resize(w, h).await?;
        let outside = guest.outside_viewport().await?;
        assert!(
            outside.is_empty(),
            "{step} ({lang}, {w}x{h}): not in reach:\n  {}",
            outside.join("\n  ")
        );
        if write {
            let png = guest.screenshot().await?;
            let path = screens_dir().join(format!("guest-{step}.{lang}.{w}x{h}.png"));
            std::fs::write(&path, png)
                .map_err(|e| Error::new(format!("writing {}: {e}", path.display())))?;
        }
    }
    Ok(())
}

async fn text(guest: &Guest, script: &str) -> Result<String> {
    Ok(guest
        .eval(script)
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// Wait until `script` (run in `guest`'s page) returns `want`.
async fn until_text(guest: &Guest, what: &str, script: &str, want: &str) -> Result<()> {
    wait::until(what, timeouts::step(), || async {
        let got = text(guest, script).await?;
        Ok(if got == want {
            Check::Ready(())
        } else {
            Check::NotYet(format!("{got:?}"))
        })
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guest_page_fits_a_phone_in_english_and_french_and_guests_hear_each_other() -> Result<()>
{
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let mut unit = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            store: "Paris 9e".into(),
            location: "Cabine 3".into(),
            ..Default::default()
        },
    )?;
    let url = unit.create_invite(timeouts::step())?;
    let driver = Chromedriver::start()?;
    let camille = driver.new_guest().await?;
    let lea = driver
        .new_guest_with_args(&[
            "--lang=fr-FR".to_owned(),
            "--accept-lang=fr-FR,fr".to_owned(),
        ])
        .await?;
    let guests = [(&camille, "en", "Camille"), (&lea, "fr", "Léa")];

    // Before joining: where the invite leads, "Send to friends".
    for (guest, lang, _) in guests {
        guest.open(&url).await?;
        guest
            .wait_for_state(PageState::Join, timeouts::step())
            .await?;
        assert_eq!(
            text(guest, "return document.documentElement.lang;").await?,
            lang
        );
        let place = text(
            guest,
            "return document.querySelector('.screen-join .where-text').textContent;",
        )
        .await?;
        assert_eq!(place, "Paris 9e · Cabine 3");
        assert!(guest.shown("#share").await?, "Send to friends is offered");
        check_sizes(guest, lang, "join").await?;
        if lang == "en" {
            // Headless Chromium on Linux has no share sheet: the link is copied, or shown
            // to copy by hand.
            guest.click("#share").await?;
            wait::until("Send to friends to say what it did", timeouts::step(), || async {
                let note = text(guest, "const n = document.getElementById('share-note'); return n.hidden ? '' : n.textContent;").await?;
                Ok(if note.starts_with("Link copied") || note.contains(url.as_str()) {
                    Check::Ready(())
                } else {
                    Check::NotYet(format!("{note:?}"))
                })
            })
            .await?;
            check_reach(guest, lang, "join, link shared").await?;
        }
    }

    // Waiting, with the camera check on: the guest's own picture, sent nowhere.
    for (guest, lang, name) in guests {
        guest.join(name).await?;
        guest
            .wait_for_state(PageState::Waiting, timeouts::step())
            .await?;
        guest.click("#camera-check").await?;
        until_text(
            guest,
            "the camera check to show the guest's picture",
            "const v = document.getElementById('preview'); return String(!v.hidden && v.readyState >= 2);",
            "true",
        )
        .await?;
        check_sizes(guest, lang, "waiting").await?;
    }
    let waiting = unit.status()?;
    assert!(
        waiting.guests.iter().all(|g| g.tile.is_none()),
        "the camera check sends nothing: {waiting:?}"
    );

    // Both let in.
    for g in &waiting.guests {
        match call(
            &unit,
            Request::Admit {
                guest_id: g.guest_id.clone(),
            },
        )? {
            Response::Done => {}
            other => return Err(Error::new(format!("admit: {other:?}"))),
        }
    }
    for (guest, _, name) in guests {
        guest
            .wait_for_state(PageState::InCall, timeouts::step())
            .await?;
        guest
            .wait_decoded(11, &format!("{name} decodes video"), timeouts::media())
            .await?;
    }
    until_text(
        &camille,
        "Camille to see 2 watching",
        "return document.getElementById('live-text').textContent;",
        "LIVE · 2 watching",
    )
    .await?;
    until_text(
        &lea,
        "Léa to see 2 watching",
        "return document.getElementById('live-text').textContent;",
        "EN DIRECT · 2 regardent",
    )
    .await?;

    // The room compares two looks.
    let mut looks = Vec::new();
    for _ in 0..2 {
        match call(&unit, Request::SaveLook)? {
            Response::LookSaved { look } => looks.push(look),
            other => return Err(Error::new(format!("save_look: {other:?}"))),
        }
    }
    call(
        &unit,
        Request::Compare {
            looks: [looks[0], looks[1]],
        },
    )?;
    for (guest, _, name) in guests {
        wait::until(
            &format!("{name} to see both looks"),
            timeouts::step(),
            || async {
                let shown = guest.shown_looks().await?;
                Ok(match shown {
                    Some(l) if l.len() == 2 && l.iter().all(|x| x.width > 0) => Check::Ready(()),
                    other => Check::NotYet(format!("{other:?}")),
                })
            },
        )
        .await?;
    }
    camille.vote(looks[1]).await?;
    lea.vote(looks[1]).await?;

    // Léa's reaction and chat line reach Camille, with her name.
    camille
        .eval(
            "window.seenFrom = []; new MutationObserver((ms) => ms.forEach((m) => m.addedNodes.forEach((n) => \
             window.seenFrom.push(n.querySelector('.from')?.textContent ?? '')))).observe(document.getElementById('floaters'), { childList: true }); return null;",
        )
        .await?;
    lea.react(Reaction::Fire).await?;
    lea.chat("J’adore la deuxième").await?;
    until_text(
        &camille,
        "Léa's line in Camille's chat",
        "return [...document.querySelectorAll('#chat-log li')].map((li) => li.textContent).join('|');",
        "Léa J’adore la deuxième",
    )
    .await?;
    until_text(
        &camille,
        "Léa's reaction over Camille's video",
        "return (window.seenFrom || []).join('|');",
        "Léa",
    )
    .await?;
    assert_eq!(
        text(&lea, "return [...document.querySelectorAll('#chat-log li.own')].map((li) => li.textContent).join('|');").await?,
        "J’adore la deuxième",
        "Léa sees her own line once, not echoed back"
    );
    assert_eq!(
        text(
            &camille,
            "return document.getElementById('chat-unread').textContent;"
        )
        .await?,
        "1",
        "the chat button counts the line Camille has not read"
    );
    for (guest, lang, _) in guests {
        check_sizes(guest, lang, "call-vote").await?;
    }
    // The reactions picker and the chat panel open over the call, in reach too.
    for (guest, lang, _) in guests {
        guest.click("#react").await?;
        assert!(guest.shown("button[data-reaction=\"clap\"]").await?);
        check_reach(guest, lang, "reactions picker").await?;
        guest.click("#chat-open").await?;
        assert!(!guest.shown("#reactions").await?, "one panel at a time");
        check_reach(guest, lang, "chat panel").await?;
        guest.click("#chat-open").await?;
    }
    assert!(
        !camille.shown("#chat-unread").await?,
        "the line counts as read once the panel was open"
    );

    // The vote minimised to one line, then closed: the winner is named.
    camille.click("#compare-toggle").await?;
    assert!(
        !camille.shown("#compare .looks").await?,
        "minimised, the stills go"
    );
    assert!(camille.shown("#compare-toggle").await?);
    call(&unit, Request::EndCompare)?;
    for (guest, lang, name) in guests {
        let want = if lang == "fr" {
            format!("La tenue {} l’emporte", looks[1])
        } else {
            format!("Look {} wins", looks[1])
        };
        until_text(
            guest,
            &format!("{name} to see the winner"),
            "return document.querySelector('#compare .compare-summary').textContent;",
            &want,
        )
        .await?;
    }
    check_sizes(&camille, "en", "vote-closed").await?;

    // Leave asks first; "Stay" keeps the call.
    camille.click("#leave").await?;
    assert!(camille.shown("#leave-confirm").await?, "Leave asks first");
    check_sizes(&camille, "en", "leave").await?;
    camille.click("#leave-cancel").await?;
    assert_eq!(camille.state().await?.as_deref(), Some("in-call"));
    camille.leave().await?;
    camille
        .wait_for_state(PageState::Join, timeouts::step())
        .await?;
    until_text(
        &lea,
        "Léa to see 1 watching",
        "return document.getElementById('live-text').textContent;",
        "EN DIRECT · 1 regarde",
    )
    .await?;
    Ok(())
}

/// Whether the page's "did not finish loading" box is `shown` or `hidden`.
async fn load_failed(guest: &Guest) -> Result<String> {
    let script = "return document.querySelector('#load-failed').hidden ? 'hidden' : 'shown';";
    text(guest, script).await
}

/// A phone whose link dropped one of the page's files: the page reloads once by itself,
/// then says it did not finish loading, and "Try again" loads it once the file comes.
/// Without this the page stayed blank (its modules show it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_whose_files_did_not_load_says_so_and_loads_on_try_again() -> Result<()> {
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let mut unit = Appliance::start(&rendezvous, ApplianceConfig::default())?;
    let url = unit.create_invite(timeouts::step())?;
    let driver = Chromedriver::start()?;
    let guest = driver.new_guest().await?;
    guest
        .devtools("Network.enable", serde_json::json!({}))
        .await?;
    let block = |urls: &[&str]| serde_json::json!({ "urls": urls });
    guest
        .devtools("Network.setBlockedURLs", block(&["*/app/chat.js"]))
        .await?;
    guest.open(&url).await?;
    guest
        .wait_for_state(PageState::LoadFailed, timeouts::step())
        .await?;
    assert_eq!(
        text(
            &guest,
            "return performance.getEntriesByType('navigation')[0].type;"
        )
        .await?,
        "reload",
        "the page reloads once by itself before it says so"
    );
    assert_eq!(load_failed(&guest).await?, "shown");
    check_sizes(&guest, "en", "load-failed").await?;
    guest.devtools("Network.setBlockedURLs", block(&[])).await?;
    guest.click("#load-failed button").await?;
    guest
        .wait_for_state(PageState::Join, timeouts::step())
        .await?;
    assert_eq!(load_failed(&guest).await?, "hidden");
    guest.close().await
}
