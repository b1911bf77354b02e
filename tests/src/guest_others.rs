//! The other guests' pictures on a guest's page (the group call): who each slot shows and
//! what the page decoded there, from `window.visavisGuest.others()`; and which of its
//! camera's simulcast layers the page sends.

use crate::error::Result;
use crate::guest::{Guest, count, number};
use crate::wait::{self, Check};
use serde::Deserialize;
use std::collections::BTreeSet;

/// One other guest's tile. Missing numbers read as 0.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OtherStats {
    #[serde(deserialize_with = "count")]
    pub slot: u64,
    pub name: String,
    #[serde(deserialize_with = "count")]
    pub frames_decoded: u64,
    #[serde(deserialize_with = "count")]
    pub frame_width: u64,
    #[serde(deserialize_with = "count")]
    pub frame_height: u64,
    #[serde(deserialize_with = "number")]
    pub frames_per_second: f64,
    #[serde(deserialize_with = "count")]
    pub bytes_received: u64,
}

impl Guest {
    /// `window.visavisGuest.others()`: the other guests the page shows, by slot.
    pub async fn others(&self) -> Result<Vec<OtherStats>> {
        self.page_api("others").await
    }

    /// Wait until the page (`who`'s) shows exactly `names`, each with `frames` frames
    /// decoded; what it shows then.
    pub async fn wait_to_see(
        &self,
        who: &str,
        names: &[&str],
        frames: u64,
    ) -> Result<Vec<OtherStats>> {
        self.wait_to_see_within(who, names, frames, crate::timeouts::media())
            .await
    }

    /// [`Guest::wait_to_see`], waiting up to `timeout`.
    pub async fn wait_to_see_within(
        &self,
        who: &str,
        names: &[&str],
        frames: u64,
        timeout: std::time::Duration,
    ) -> Result<Vec<OtherStats>> {
        let wanted: BTreeSet<&str> = names.iter().copied().collect();
        wait::until(
            &format!("{who}'s page to show {names:?}, moving"),
            timeout,
            || async {
                let others = self.others().await?;
                let shown: BTreeSet<&str> = others.iter().map(|o| o.name.as_str()).collect();
                let moving = others.iter().all(|o| o.frames_decoded >= frames);
                Ok(if shown == wanted && moving {
                    Check::Ready(others.clone())
                } else {
                    Check::NotYet(format!("{others:?}"))
                })
            },
        )
        .await
    }

    /// The camera's simulcast layers as `rid:active`, comma-separated (`l:true,h:false`);
    /// `None` without a camera sender.
    pub async fn camera_layers(&self) -> Result<Option<String>> {
        let layers = self
            .eval(
                "const s = window.visavisGuest.cameraSender(); \
                 return s ? s.getParameters().encodings.map((e) => `${e.rid}:${e.active}`).join(',') : null;",
            )
            .await?;
        Ok(layers.as_str().map(str::to_owned))
    }

    /// The camera's small layer as the page sends it: its `maxBitrate` (bit/s) and
    /// `maxFramerate` from the sender's parameters (0 where unset), and the frames a second
    /// Chromium says it sends (`outbound-rtp`); `None` without a camera sender.
    pub async fn small_layer(&self) -> Result<Option<(u64, f64, f64)>> {
        let out = self
            .eval(&format!(
                "return (async () => {{ \
                   const s = window.visavisGuest.cameraSender(); \
                   if (!s) return null; \
                   const e = s.getParameters().encodings.find((e) => e.rid === '{rid}') ?? {{}}; \
                   let fps = 0; \
                   (await s.getStats()).forEach((r) => {{ \
                     if (r.type === 'outbound-rtp' && r.rid === '{rid}') fps = r.framesPerSecond ?? 0; \
                   }}); \
                   return [e.maxBitrate ?? 0, e.maxFramerate ?? 0, fps]; \
                 }})();",
                rid = visavis_api::datachannel::SMALL_RID
            ))
            .await?;
        Ok(out.as_array().map(|a| {
            let n = |i: usize| a.get(i).and_then(|v| v.as_f64()).unwrap_or(0.0);
            (n(0) as u64, n(1), n(2))
        }))
    }

    /// Set the camera's small layer as a page that ignores the unit's asks might:
    /// `maxBitrate` (bit/s), `maxFramerate` and `scaleResolutionDownBy`, straight through
    /// the sender (the page's own code is not told).
    pub async fn force_small_layer(&self, max_bps: u64, max_fps: u32, scale: f64) -> Result<()> {
        self.eval(&format!(
            "return (async () => {{ \
               const s = window.visavisGuest.cameraSender(); \
               const p = s.getParameters(); \
               const e = p.encodings.find((e) => e.rid === '{rid}'); \
               e.maxBitrate = {max_bps}; e.maxFramerate = {max_fps}; e.scaleResolutionDownBy = {scale}; \
               await s.setParameters(p); \
               return true; \
             }})();",
            rid = visavis_api::datachannel::SMALL_RID
        ))
        .await?;
        Ok(())
    }

    /// Wait until the page sends its camera's layers as `wanted` (see
    /// [`Guest::camera_layers`]).
    pub async fn wait_for_layers(&self, who: &str, wanted: &str) -> Result<()> {
        wait::until(
            &format!("{who}'s page to send its layers as {wanted}"),
            crate::timeouts::step(),
            || async {
                let layers = self.camera_layers().await?;
                Ok(if layers.as_deref() == Some(wanted) {
                    Check::Ready(())
                } else {
                    Check::NotYet(format!("{layers:?}"))
                })
            },
        )
        .await
    }
}
