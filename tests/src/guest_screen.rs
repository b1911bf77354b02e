//! The guest page as a phone shows it: the window set to a phone's size, what lies outside
//! the viewport, and screenshots for `docs/screens/`.

use crate::error::{Error, Result, ResultExt};
use crate::guest::Guest;
use std::path::PathBuf;

/// Every visible control (and every visible line of words) that is not wholly inside the
/// viewport, and the page itself when it is wider or taller than the viewport (something
/// would scroll off). Empty when everything is in reach.
const OUTSIDE_SCRIPT: &str = r#"
const w = window.innerWidth, h = window.innerHeight, out = [];
const page = document.scrollingElement;
if (page.scrollWidth > w + 1) out.push(`the page is ${page.scrollWidth}px wide in a ${w}px viewport`);
if (page.scrollHeight > h + 1) out.push(`the page is ${page.scrollHeight}px tall in a ${h}px viewport`);
const what = (e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : ''} "${(e.getAttribute('aria-label') || e.textContent || '').trim().slice(0, 40)}"`;
const selector = 'button, input, a[href], h1, h2, p, label, figcaption, .caption, li';
for (const e of document.querySelectorAll(selector)) {
  if (e.closest('.visually-hidden') || !e.checkVisibility({ visibilityProperty: true })) continue;
  const r = e.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  if (r.left < -0.5 || r.top < -0.5 || r.right > w + 0.5 || r.bottom > h + 0.5) {
    out.push(`${what(e)} at ${Math.round(r.left)},${Math.round(r.top)} to ${Math.round(r.right)},${Math.round(r.bottom)}`);
  }
  // Words that run off their own box or are cut short ("…"): not a field, not a list that scrolls.
  const scrolls = ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
  if (e.scrollWidth > e.clientWidth + 1 && !scrolls && e.tagName !== 'INPUT') {
    out.push(`${what(e)} runs ${e.scrollWidth - e.clientWidth}px past its box`);
  }
}
return out;
"#;

/// The longest a window resize may take to reach the page's viewport.
const RESIZE_SETTLES: std::time::Duration = std::time::Duration::from_secs(2);

impl Guest {
    /// Make the viewport `width` x `height` CSS pixels (a phone held upright).
    pub async fn resize(&self, width: u32, height: u32) -> Result<()> {
        let (mut w, mut h) = (width, height);
        let mut seen = Vec::new();
        for _ in 0..4 {
            let before = self.viewport().await?;
            self.webdriver()
                .set_window_size(w, h)
                .await
                .context(format!("setting the window to {w}x{h}"))?;
            let got = self.viewport_after_resize(before, (width, height)).await?;
            seen.push(format!("window {w}x{h} → viewport {}x{}", got.0, got.1));
            if got == (width, height) {
                return Ok(());
            }
            // The window's frame takes some room: grow it by what is missing.
            w = (w + width).saturating_sub(got.0);
            h = (h + height).saturating_sub(got.1);
        }
        Err(Error::new(format!(
            "the viewport could not be made {width}x{height}: {}",
            seen.join("; ")
        )))
    }

    /// The viewport's size, CSS pixels.
    async fn viewport(&self) -> Result<(u32, u32)> {
        let inner = self
            .webdriver()
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .context("reading the viewport's size")?;
        serde_json::from_value(inner.clone())
            .map_err(|e| Error::new(format!("viewport size {inner}: {e}")))
    }

    /// The viewport once a window resize has reached the page: the page may still report
    /// its old size (`before`) for a moment after WebDriver has set the window's. Returns as
    /// soon as it is `wanted`; otherwise what it is once it has left `before` and holds
    /// still for a read, or after [`RESIZE_SETTLES`] (a window already at the size asked
    /// does not change at all).
    async fn viewport_after_resize(
        &self,
        before: (u32, u32),
        wanted: (u32, u32),
    ) -> Result<(u32, u32)> {
        let t0 = std::time::Instant::now();
        let mut last = None;
        loop {
            let now = self.viewport().await?;
            let settled = now != before && last == Some(now);
            if now == wanted || settled || t0.elapsed() >= RESIZE_SETTLES {
                return Ok(now);
            }
            last = Some(now);
            tokio::time::sleep(crate::wait::POLL_INTERVAL).await;
        }
    }

    /// Controls and words not wholly inside the viewport (see [`OUTSIDE_SCRIPT`]).
    pub async fn outside_viewport(&self) -> Result<Vec<String>> {
        let value = self
            .webdriver()
            .execute(OUTSIDE_SCRIPT, vec![])
            .await
            .context("measuring the page")?;
        serde_json::from_value(value.clone())
            .map_err(|e| Error::new(format!("unexpected measure {value}: {e}")))
    }

    /// Run `script` in the page and return what it returns, as JSON.
    pub async fn eval(&self, script: &str) -> Result<serde_json::Value> {
        self.webdriver()
            .execute(script, vec![])
            .await
            .context(format!("running {script:?} in the page"))
    }
}

/// Where the guest page's screenshots go: `docs/screens/` of the workspace.
pub fn screens_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screens")
}
