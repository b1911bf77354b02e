//! The other guests' pictures on a guest's page (the group call): who each slot shows and
//! what the page decoded there, from `window.visavisGuest.others()`.

use crate::error::Result;
use crate::guest::{Guest, count, number};
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
}
