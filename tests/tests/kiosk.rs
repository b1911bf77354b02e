//! The real kiosk against a real applianced and a real Chromium guest, through a whole
//! fitting-room session: invite → admission → saved looks → vote → chat → end → erased.
//!
//! The kiosk here is the `visavis_kiosk` app itself, with its real link to applianced's
//! local API socket and its real preview reader; `egui_kittest` stands in for the window
//! and taps its buttons by label, as a shopper would. The guest is headless Chromium on the
//! real guest page.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::time::Instant;
use visavis_api::local::client::ClientError;
use visavis_api::local::{ApiErrorCode, Request};
use visavis_e2e::timeouts;
use visavis_e2e::wait::{self, Check, POLL_INTERVAL};
use visavis_e2e::{
    Appliance, ApplianceConfig, Chromedriver, Error, PageState, Reaction, Rendezvous,
    RendezvousConfig, Result,
};
use visavis_kiosk::app::KioskApp;
use visavis_kiosk::i18n::Lang;
use visavis_kiosk::link::{self, Shared};

struct Kiosk {
    harness: Harness<'static, KioskApp>,
    link: Shared,
}

impl Kiosk {
    fn start(unit: &Appliance) -> Kiosk {
        let ctx = egui::Context::default();
        let repaint = ctx.clone();
        let (link, commands) = link::spawn(unit.api_socket().to_path_buf(), move || {
            repaint.request_repaint()
        });
        let app = KioskApp::new(&ctx, link.clone(), commands, Lang::En);
        // The fitting room's portrait screen, at the scale the kiosk runs at.
        let harness = Harness::builder()
            .with_size(egui::vec2(1080.0, 1920.0) / 1.5)
            .with_pixels_per_point(1.5)
            .build_ui_state(|ui, app: &mut KioskApp| app.draw(ui), app);
        Kiosk { harness, link }
    }

    fn shows(&self, label: &str) -> bool {
        self.harness.query_by_label(label).is_some()
    }

    /// Draw frames until `label` is on the screen (the link refreshes about three times a
    /// second; each poll draws what it last saw).
    async fn wait_for(&mut self, label: &str) -> Result<()> {
        let timeout = timeouts::step();
        let deadline = Instant::now() + timeout;
        loop {
            self.harness.run_steps(1);
            if self.shows(label) {
                return Ok(());
            }
            // In a call the bar (and the looks over it) fade when untouched: a person
            // touches the picture to see them again.
            self.wake();
            if Instant::now() >= deadline {
                let status = link::lock(&self.link).status.clone();
                return Err(Error::new(format!(
                    "the kiosk did not show {label:?} within {timeout:?}; its status: {status:?}"
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    fn tap(&mut self, label: &str) {
        if !self.shows(label) {
            self.wake();
        }
        self.harness.get_by_label(label).click();
        self.harness.run_steps(2);
    }

    /// A touch in the middle of the picture: it only brings the faded bar back.
    fn wake(&mut self) {
        let pos = self.harness.ctx.content_rect().center();
        self.harness.event(egui::Event::PointerMoved(pos));
        for pressed in [true, false] {
            self.harness.event(egui::Event::PointerButton {
                pos,
                button: egui::PointerButton::Primary,
                pressed,
                modifiers: egui::Modifiers::default(),
            });
        }
        self.harness.run_steps(2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopper_lets_a_friend_in_asks_which_look_and_ends_with_nothing_left() -> Result<()> {
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let unit = Appliance::start(&rendezvous, ApplianceConfig::default())?;
    let mut kiosk = Kiosk::start(&unit);

    // The shopper asks friends; the screen shows the invite.
    wait::until("the unit is online", timeouts::step(), || async {
        let connected = link::lock(&kiosk.link).connected;
        let s = unit.status()?;
        Ok(if connected && s.rendezvous_connected {
            Check::Ready(())
        } else {
            Check::NotYet(format!("kiosk connected {connected}, {s:?}"))
        })
    })
    .await?;
    kiosk.wait_for("Ask my friends").await?;
    kiosk.tap("Ask my friends");
    kiosk.wait_for("Scan to join").await?;
    let url = unit
        .status()?
        .invite_url
        .ok_or_else(|| Error::new("the invite is on the screen but not in the status"))?;
    assert!(kiosk.shows(&url) && kiosk.shows("Nothing is ever recorded."));

    // A friend opens the link and waits: nothing reaches her before the tap.
    let driver = Chromedriver::start()?;
    let camille = driver.new_guest().await?;
    camille.open(&url).await?;
    camille.join("Camille").await?;
    camille
        .wait_for_state(PageState::Waiting, timeouts::step())
        .await?;
    kiosk.wait_for("Camille wants to join").await?;
    let before = unit.metrics()?;
    assert!(
        before.guests.is_empty(),
        "a peer before admission: {before:?}"
    );
    assert_eq!(camille.state().await?.as_deref(), Some("waiting"));

    kiosk.tap("Let in");
    camille
        .wait_for_state(PageState::InCall, timeouts::step())
        .await?;
    kiosk.wait_for("● LIVE · 1 watching").await?;

    // Three looks, then "which one?" between the first and the third: the phone must call
    // them by the mirror's numbers, not by their places in the comparison.
    for n in 1..=3 {
        kiosk.tap("Save look");
        kiosk.wait_for(&format!("Look {n}")).await?;
    }
    wait::until(
        "the three thumbnails decoded on the kiosk",
        timeouts::step(),
        || async {
            let sizes: Vec<[usize; 2]> = link::lock(&kiosk.link)
                .looks
                .values()
                .map(|t| t.size)
                .collect();
            Ok(
                if sizes.len() == 3 && sizes.iter().all(|s| s[0] == 240 && s[1] > 0) {
                    Check::Ready(())
                } else {
                    Check::NotYet(format!("{sizes:?}"))
                },
            )
        },
    )
    .await?;
    kiosk.tap("Look 1");
    kiosk.tap("Look 3");
    kiosk.tap("Ask which one");
    let shown = wait::until("Camille sees both looks", timeouts::step(), || async {
        Ok(match camille.shown_looks().await? {
            Some(looks) if looks.len() == 2 && looks.iter().all(|l| l.width > 0) => {
                Check::Ready(looks)
            }
            other => Check::NotYet(format!("{other:?}")),
        })
    })
    .await?;
    assert_eq!(shown.iter().map(|l| l.id).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(
        shown.iter().map(|l| l.label.as_str()).collect::<Vec<_>>(),
        ["Vote for look 1", "Vote for look 3"]
    );

    camille.vote(3).await?;
    kiosk.wait_for("Look 3: 1 vote").await?;
    assert!(kiosk.shows("Look 1: 0 votes"));
    let chosen = camille.shown_looks().await?.unwrap_or_default();
    assert!(
        chosen.iter().any(|l| l.id == 3 && l.chosen)
            && chosen.iter().all(|l| l.id == 3 || !l.chosen),
        "{chosen:?}"
    );

    // Pausing the camera covers the guest's picture until it resumes.
    let covered = || async {
        camille
            .webdriver()
            .execute(
                "return !document.getElementById('camera-off').hidden;",
                vec![],
            )
            .await
            .map(|v| v.as_bool() == Some(true))
            .map_err(|e| Error::new(format!("reading #camera-off: {e}")))
    };
    assert!(!covered().await?);
    kiosk.tap("Camera");
    wait::until(
        "Camille's page says the camera is paused",
        timeouts::step(),
        || async {
            Ok(if covered().await? {
                Check::Ready(())
            } else {
                Check::NotYet("uncovered".into())
            })
        },
    )
    .await?;
    kiosk.wait_for("Your camera is paused").await?;
    kiosk.tap("Paused");
    wait::until("Camille's picture comes back", timeouts::step(), || async {
        Ok(if covered().await? {
            Check::NotYet("covered".into())
        } else {
            Check::Ready(())
        })
    })
    .await?;

    camille.chat("The second one!").await?;
    kiosk.wait_for("Camille: The second one!").await?;
    camille.react(Reaction::Heart).await?;
    wait::until(
        "the reaction floats over the mirror",
        timeouts::step(),
        || async {
            let reactions = link::lock(&kiosk.link).reactions.clone();
            Ok(
                if reactions
                    .iter()
                    .any(|(_, r, name)| *r == Reaction::Heart && name == "Camille")
                {
                    Check::Ready(())
                } else {
                    Check::NotYet(format!("{reactions:?}"))
                },
            )
        },
    )
    .await?;

    // The end: the friend is told, the screen says so, and nothing of the session is left.
    kiosk.tap("End");
    kiosk.tap("End and erase");
    camille
        .wait_for_state(PageState::Ended, timeouts::step())
        .await?;
    kiosk
        .wait_for("Everything from this session has been erased.")
        .await?;
    let after = unit.status()?;
    assert!(
        !after.session_active
            && after.looks.is_empty()
            && after.compare.is_none()
            && after.chat.is_empty()
            && after.guests.is_empty()
            && after.invite_url.is_none(),
        "{after:?}"
    );
    match unit.client()?.call(Request::LookImage { look: 1 }) {
        Err(ClientError::Api(e)) => assert_eq!(e.code, ApiErrorCode::UnknownLook),
        other => panic!("look 1 after the end: {other:?}"),
    }
    kiosk.harness.run_steps(1);
    assert!(link::lock(&kiosk.link).looks.is_empty(), "thumbnails left");
    assert!(!kiosk.shows("Look 1") && !kiosk.shows("Camille: The second one!"));
    camille.close().await?;
    Ok(())
}
