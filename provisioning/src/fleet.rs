//! Talking to rendezvous's fleet admin API: list the registry, revoke units.
//!
//! Requests carry the admin credential derived from the fleet's enrollment key
//! (`Authorization: Bearer ...`); the key itself never leaves this machine. HTTPS is
//! required except on loopback.

use std::time::Duration;

use serde::Deserialize;
use visavis_api::fleet::admin::{DeviceList, DeviceRecord, Revoked};
use visavis_api::fleet::auth::admin_credential;

use crate::manifest::check_url;

#[derive(Deserialize)]
struct Failure {
    error: String,
}

/// A rendezvous and the credential for it.
pub struct Client {
    base: String,
    bearer: String,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(base: &str, enrollment_key: &[u8; 32]) -> Result<Client, String> {
        check_url(base).map_err(|m| format!("--rendezvous: {m}"))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Ok(Client {
            base: base.trim_end_matches('/').to_owned(),
            bearer: format!("Bearer {}", admin_credential(enrollment_key)),
            agent,
        })
    }

    fn answer<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, String> {
        let mut response =
            result.map_err(|e| format!("{what}: cannot reach {}: {e}", self.base))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("{what}: unreadable answer: {e}"))?;
        match status {
            200 => serde_json::from_str(&body)
                .map_err(|e| format!("{what}: unexpected answer from {}: {e}", self.base)),
            401 => Err(format!(
                "{what}: rendezvous refused the credential: the enrollment key does not match this rendezvous's"
            )),
            _ => {
                let why = serde_json::from_str::<Failure>(&body)
                    .map(|f| f.error)
                    .unwrap_or(body);
                Err(format!("{what}: rendezvous answered {status}: {why}"))
            }
        }
    }

    /// Every unit in the registry.
    pub fn list(&self) -> Result<Vec<DeviceRecord>, String> {
        let url = format!("{}/api/fleet/devices", self.base);
        let r = self
            .agent
            .get(&url)
            .header("Authorization", &self.bearer)
            .call();
        self.answer::<DeviceList>("listing the registry", r)
            .map(|l| l.devices)
    }

    /// Revoke one unit; returns when it was revoked (Unix seconds).
    pub fn revoke(&self, device_id: &str) -> Result<u64, String> {
        let url = format!("{}/api/fleet/devices/{device_id}/revoke", self.base);
        let r = self
            .agent
            .post(&url)
            .header("Authorization", &self.bearer)
            .send_empty();
        self.answer::<Revoked>(&format!("revoking {device_id}"), r)
            .map(|r| r.revoked_at)
    }
}
