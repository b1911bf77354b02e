//! The fleet admin API's answers (rendezvous serves them, `provision` reads them).

use serde::{Deserialize, Serialize};

use crate::install::Mode;

/// One unit as the registry knows it. Times are Unix seconds; `None` when unknown (a unit
/// revoked before it ever enrolled has only `revoked_at`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub device_id: String,
    pub store: Option<String>,
    pub location: Option<String>,
    pub mode: Option<Mode>,
    pub public_key: Option<String>,
    pub enrolled_at: Option<u64>,
    pub last_seen: Option<u64>,
    pub revoked_at: Option<u64>,
}

/// `GET /api/fleet/devices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceList {
    pub devices: Vec<DeviceRecord>,
}

/// `POST /api/fleet/devices/{device_id}/revoke`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub device_id: String,
    pub revoked_at: u64,
}
