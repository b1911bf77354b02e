//! A remote guest: one headless Chromium on the guest page, driven through the page's DOM
//! contract (docs/contracts.md, "The guest page").

use crate::error::{Error, Result, ResultExt};
use crate::wait::{Check, until};
use fantoccini::{Client, Locator};
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::time::Duration;
use tempfile::TempDir;
use visavis_api::datachannel::Reaction;

/// `document.body.dataset.state` of the guest page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageState {
    Join,
    Waiting,
    Connecting,
    InCall,
    Denied,
    Ended,
    Error,
    PermissionDenied,
    InvalidInvite,
    /// The page's modules did not load, even after the page reloaded once by itself.
    LoadFailed,
}

impl PageState {
    pub fn as_str(self) -> &'static str {
        match self {
            PageState::Join => "join",
            PageState::Waiting => "waiting",
            PageState::Connecting => "connecting",
            PageState::InCall => "in-call",
            PageState::Denied => "denied",
            PageState::Ended => "ended",
            PageState::Error => "error",
            PageState::PermissionDenied => "permission-denied",
            PageState::InvalidInvite => "invalid-invite",
            PageState::LoadFailed => "load-failed",
        }
    }
}

impl fmt::Display for PageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `window.visavisGuest.stats()` reports (from `RTCPeerConnection.getStats()`).
/// Missing or `null` numbers read as 0.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GuestStats {
    #[serde(deserialize_with = "count")]
    pub frames_decoded: u64,
    #[serde(deserialize_with = "count")]
    pub frame_width: u64,
    #[serde(deserialize_with = "count")]
    pub frame_height: u64,
    #[serde(deserialize_with = "number")]
    pub frames_per_second: f64,
    #[serde(deserialize_with = "count")]
    pub video_bytes_received: u64,
    #[serde(deserialize_with = "count")]
    pub audio_packets_received: u64,
    #[serde(deserialize_with = "count")]
    pub frames_sent: u64,
    #[serde(deserialize_with = "count")]
    pub audio_packets_sent: u64,
}

pub(crate) fn number<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(0.0))
}

pub(crate) fn count<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    // JavaScript numbers are doubles; counters are whole and non-negative.
    Ok(number(d)?.max(0.0) as u64)
}

/// Calls `window.visavisGuest[arguments[0]]()`: resolves with `{ok: value}` or
/// `{error: message}` (see [`Guest::page_api`]).
const API_SCRIPT: &str = r#"
const done = arguments[arguments.length - 1];
const name = arguments[0];
const api = window.visavisGuest;
if (!api || typeof api[name] !== "function") {
  done({ error: `window.visavisGuest.${name} is not defined on this page` });
} else {
  Promise.resolve()
    .then(() => api[name]())
    .then((value) => done({ ok: value }), (e) => done({ error: String(e) }));
}
"#;

/// One guest's browser. Dropping it ends the WebDriver session, which closes its Chromium.
pub struct Guest {
    client: Option<Client>,
    driver_url: String,
    session_id: Option<String>,
    profile: TempDir,
}

impl Guest {
    pub(crate) async fn new(client: Client, driver_url: String, profile: TempDir) -> Result<Guest> {
        let session_id = client.session_id().await.context("WebDriver session id")?;
        Ok(Guest {
            client: Some(client),
            driver_url,
            session_id,
            profile,
        })
    }

    /// The WebDriver client, for what the helpers below do not cover.
    pub fn webdriver(&self) -> &Client {
        // Only `close` takes the client out, and it consumes the guest.
        self.client
            .as_ref()
            .expect("the guest's browser is open until close()")
    }

    /// The chromedriver this guest's session belongs to.
    pub(crate) fn driver_url(&self) -> &str {
        &self.driver_url
    }

    /// This guest's Chromium profile folder (`--user-data-dir`), removed on drop.
    pub fn profile_dir(&self) -> &std::path::Path {
        self.profile.path()
    }

    /// Navigate to `url` (an invite link) and wait for the page to load.
    pub async fn open(&self, url: &str) -> Result<()> {
        self.webdriver()
            .goto(url)
            .await
            .context(format!("guest could not open {url}"))
    }

    /// `document.body.dataset.state`, or `None` before the page sets it.
    pub async fn state(&self) -> Result<Option<String>> {
        self.body_data("state").await
    }

    /// `document.body.dataset[key]` (e.g. `reason` on an invalid-invite page).
    pub async fn body_data(&self, key: &str) -> Result<Option<String>> {
        let value = self
            .webdriver()
            .execute(
                "const b = document.body; const v = b ? b.dataset[arguments[0]] : undefined; \
                 return v === undefined ? null : v;",
                vec![key.into()],
            )
            .await
            .context(format!("reading body data-{key}"))?;
        Ok(value.as_str().map(str::to_string))
    }

    /// `document.readyState`, which of the page's resources (scripts, styles, images)
    /// failed to load, if any did (status 0: no answer), and whether `main.js` ran.
    async fn ready_state(&self) -> Result<String> {
        let value = self
            .webdriver()
            .execute(
                "const failed = performance.getEntriesByType('resource') \
                   .filter(e => e.responseStatus >= 400 || e.responseStatus === 0) \
                   .map(e => e.name + ' ' + e.responseStatus); \
                 const ran = window.visavisGuest ? '' : ', main.js did not run'; \
                 return document.readyState + ran + (failed.length ? ', failed: ' + failed.join(', ') : '');",
                vec![],
            )
            .await
            .context("reading document.readyState")?;
        Ok(value.as_str().unwrap_or("unknown").to_string())
    }

    /// Poll until the page's state is `state`; fails on timeout with the state seen last.
    pub async fn wait_for_state(&self, state: PageState, timeout: Duration) -> Result<()> {
        until(
            &format!("the guest page to reach state `{state}`"),
            timeout,
            || async {
                let now = self.state().await?;
                Ok(if now.as_deref() == Some(state.as_str()) {
                    Check::Ready(())
                } else {
                    Check::NotYet(match now {
                        Some(now) => format!("state {now:?}"),
                        // Not set yet: how far the page got (its script sets the first).
                        None => format!("no state yet, document {}", self.ready_state().await?),
                    })
                })
            },
        )
        .await
    }

    /// Type `name` into `#name` and press `#join`.
    pub async fn join(&self, name: &str) -> Result<()> {
        let input = self.find("#name").await?;
        input.clear().await.context("clearing #name")?;
        input.send_keys(name).await.context("typing into #name")?;
        self.find("#join")
            .await?
            .click()
            .await
            .context("clicking #join")
    }

    /// Press `#leave`, and during the call confirm with `#leave-confirm` when it asks.
    pub async fn leave(&self) -> Result<()> {
        self.find("#leave")
            .await?
            .click()
            .await
            .context("clicking #leave")?;
        if self.shown("#leave-confirm").await? {
            self.find("#leave-confirm")
                .await?
                .click()
                .await
                .context("clicking #leave-confirm")?;
        }
        Ok(())
    }

    /// Press the reaction button `button[data-reaction="<reaction>"]`, opening the picker
    /// with `#react` first when it is shut (and shutting it after).
    pub async fn react(&self, reaction: Reaction) -> Result<()> {
        let name = serde_json::to_value(reaction).context("reaction name")?;
        let name = name.as_str().unwrap_or_default();
        let selector = format!("button[data-reaction=\"{name}\"]");
        let opened = !self.shown(&selector).await? && self.shown("#react").await?;
        if opened {
            self.click("#react").await?;
        }
        self.click(&selector).await?;
        if opened {
            self.click("#react").await?; // shut again, so the picker covers nothing
        }
        Ok(())
    }

    /// Click `selector`.
    pub async fn click(&self, selector: &str) -> Result<()> {
        self.find(selector)
            .await?
            .click()
            .await
            .context(format!("clicking {selector}"))
    }

    /// Whether the page has `selector` and shows it.
    pub async fn shown(&self, selector: &str) -> Result<bool> {
        match self.webdriver().find(Locator::Css(selector)).await {
            Ok(e) => e
                .is_displayed()
                .await
                .context(format!("is `{selector}` shown?")),
            Err(_) => Ok(false),
        }
    }

    /// Wait until the guest has decoded at least `frames` video frames in all (`what` names
    /// the wait in a timeout); its stats then.
    pub async fn wait_decoded(
        &self,
        frames: u64,
        what: &str,
        timeout: Duration,
    ) -> Result<GuestStats> {
        until(what, timeout, || async {
            let s = self.stats().await?;
            Ok(if s.frames_decoded >= frames {
                Check::Ready(s)
            } else {
                Check::NotYet(format!("{} of {frames} frames: {s:?}", s.frames_decoded))
            })
        })
        .await
    }

    /// `window.visavisGuest.stats()`.
    pub async fn stats(&self) -> Result<GuestStats> {
        self.page_api("stats").await
    }

    /// The page's `window.visavisGuest[name]()`, read as `T`.
    pub async fn page_api<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T> {
        let reply = self
            .webdriver()
            .execute_async(API_SCRIPT, vec![serde_json::Value::from(name)])
            .await
            .context(format!("calling window.visavisGuest.{name}()"))?;
        if let Some(error) = reply.get("error") {
            return Err(Error::new(format!(
                "window.visavisGuest.{name}() failed: {error}"
            )));
        }
        let value = reply.get("ok").cloned().unwrap_or_default();
        serde_json::from_value(value.clone()).context(format!(
            "window.visavisGuest.{name}() returned an unexpected shape: {value}"
        ))
    }

    /// Open the invite `url`, join as `name`, and wait to be let in by `unit` (it admits
    /// them as the person in the room would).
    pub async fn join_admitted(
        &self,
        url: &str,
        name: &str,
        unit: &crate::appliance::Appliance,
    ) -> Result<()> {
        self.open(url).await?;
        self.join(name).await?;
        self.wait_for_state(PageState::Waiting, crate::timeouts::step())
            .await?;
        unit.admit(name)?;
        self.wait_for_state(PageState::InCall, crate::timeouts::step())
            .await
    }

    /// What the guest sees now, as PNG (the phone-sized window).
    pub async fn screenshot(&self) -> Result<Vec<u8>> {
        self.webdriver()
            .screenshot()
            .await
            .context("taking a screenshot of the guest page")
    }

    /// The visible text of the page's `selector` (empty when it shows nothing).
    pub async fn text_of(&self, selector: &str) -> Result<String> {
        self.find(selector)
            .await?
            .text()
            .await
            .context(format!("reading the text of `{selector}`"))
    }

    /// Wait up to `timeout` until the page's call status line (empty when hidden) passes
    /// `check`, `what` the page is waited on for; returns the line.
    pub async fn call_status_until(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&str) -> bool,
    ) -> Result<String> {
        until(&format!("the page {what}"), timeout, || async {
            let text = self.text_of("#call-status").await?;
            Ok(if check(&text) {
                Check::Ready(text)
            } else {
                Check::NotYet(format!("the call status reads {text:?}"))
            })
        })
        .await
    }

    /// End the session: Chromium closes, as when a guest kills the browser.
    pub async fn close(mut self) -> Result<()> {
        let client = self.client.take();
        self.session_id = None;
        match client {
            Some(client) => client.close().await.context("closing the guest's browser"),
            None => Ok(()),
        }
    }

    async fn find(&self, selector: &str) -> Result<fantoccini::elements::Element> {
        self.webdriver()
            .find(Locator::Css(selector))
            .await
            .context(format!("the guest page has no `{selector}`"))
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        // `close` was not called (a failed assertion, an early return): end the session
        // synchronously so its Chromium does not outlive the test.
        if let Some(id) = self.session_id.take() {
            let _ = crate::http::delete(&format!("{}/session/{id}", self.driver_url));
        }
    }
}
