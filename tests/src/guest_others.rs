//! The other guests' pictures on a guest's page (the group call): who each slot shows and
//! what the page decoded there, from `window.visavisGuest.others()`; and which of its
//! camera's simulcast layers the page sends.

use crate::error::Result;
use crate::guest::{Guest, count, number};
use crate::wait::{self, Check};
use serde::Deserialize;

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
