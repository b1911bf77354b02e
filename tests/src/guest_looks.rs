//! The guest page's looks, votes and chat, as a guest works them (see docs/contracts.md,
//! "The guest page").

use crate::error::{Error, Result, ResultExt};
use crate::guest::Guest;
use fantoccini::Locator;

/// One look of the comparison a guest sees.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ShownLook {
    pub id: u32,
    /// `naturalWidth` of its picture: 0 until it decoded.
    pub width: u32,
    /// This guest's vote is on it (`aria-pressed="true"`).
    pub chosen: bool,
    /// Its count as the page shows it (`[data-votes-for]`), if any.
    pub votes: Option<String>,
    /// Its vote button's words ("Vote for look 3").
    pub label: String,
}

const COMPARE_SCRIPT: &str = r#"
const c = document.querySelector('#compare');
if (!c || c.hidden) return null;
return [...c.querySelectorAll('[data-look]')].map((e) => {
  const img = e.querySelector('img');
  const vote = e.querySelector('button[data-vote]');
  const count = c.querySelector(`[data-votes-for="${e.dataset.look}"]`);
  return {
    id: Number(e.dataset.look),
    width: img ? img.naturalWidth : 0,
    chosen: vote ? vote.getAttribute('aria-pressed') === 'true' : false,
    votes: count ? count.textContent : null,
    label: vote ? vote.textContent : '',
  };
});
"#;

impl Guest {
    /// The comparison on the page (`#compare`), or `None` while it is hidden.
    pub async fn shown_looks(&self) -> Result<Option<Vec<ShownLook>>> {
        let value = self
            .webdriver()
            .execute(COMPARE_SCRIPT, vec![])
            .await
            .context("reading #compare")?;
        serde_json::from_value(value.clone())
            .map_err(|e| Error::new(format!("#compare has an unexpected shape ({e}): {value}")))
    }

    /// Tap `button[data-vote="<look>"]`.
    pub async fn vote(&self, look: u32) -> Result<()> {
        let selector = format!("button[data-vote=\"{look}\"]");
        self.webdriver()
            .find(Locator::Css(&selector))
            .await
            .context(format!("the guest page has no `{selector}`"))?
            .click()
            .await
            .context(format!("clicking {selector}"))
    }

    /// Type `text` into `#chat-text` and press `#chat-send`, opening the chat panel with
    /// `#chat-open` first when it is shut (and shutting it after).
    pub async fn chat(&self, text: &str) -> Result<()> {
        let opened = !self.shown("#chat-text").await? && self.shown("#chat-open").await?;
        if opened {
            self.toggle_chat().await?;
        }
        let input = self
            .webdriver()
            .find(Locator::Css("#chat-text"))
            .await
            .context("the guest page has no `#chat-text`")?;
        input
            .send_keys(text)
            .await
            .context("typing into #chat-text")?;
        self.webdriver()
            .find(Locator::Css("#chat-send"))
            .await
            .context("the guest page has no `#chat-send`")?
            .click()
            .await
            .context("clicking #chat-send")?;
        if opened {
            // Shut again, as a person does, so the panel covers nothing.
            self.toggle_chat().await?;
        }
        Ok(())
    }

    async fn toggle_chat(&self) -> Result<()> {
        self.webdriver()
            .find(Locator::Css("#chat-open"))
            .await
            .context("the guest page has no `#chat-open`")?
            .click()
            .await
            .context("clicking #chat-open")
    }
}
