//! Talking to rendezvous's fleet admin API: list the registry, revoke units.
//!
//! Requests carry the admin credential derived from the fleet's enrollment key
//! (`Authorization: Bearer ...`); the key itself never leaves this machine. HTTPS is
//! required except on loopback.

use std::time::Duration;

use serde::Deserialize;
use visavis_api::fleet::admin::{DeviceList, DeviceRecord, Revoked};
use visavis_api::fleet::auth::admin_credential;

use crate::manifest::{UrlError, check_url};

#[derive(Deserialize)]
struct Failure {
    error: String,
}

/// Why a fleet admin request failed; `what` says which request.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("--rendezvous: {0}")]
    Url(#[from] UrlError),
    #[error("{what}: cannot reach {base}: {source}")]
    Unreachable {
        what: String,
        base: String,
        source: ureq::Error,
    },
    #[error("{what}: unreadable answer: {source}")]
    Unreadable { what: String, source: ureq::Error },
    #[error("{what}: unexpected answer from {base}: {source}")]
    Unexpected {
        what: String,
        base: String,
        source: serde_json::Error,
    },
    #[error(
        "{what}: rendezvous refused the credential: the enrollment key does not match this rendezvous's"
    )]
    Refused { what: String },
    #[error("{what}: rendezvous answered {status}: {why}")]
    Failed {
        what: String,
        status: u16,
        why: String,
    },
}

/// A rendezvous and the credential for it.
pub struct Client {
    base: String,
    bearer: String,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(base: &str, enrollment_key: &[u8; 32]) -> Result<Client, FleetError> {
        check_url(base)?;
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
    ) -> Result<T, FleetError> {
        let what = what.to_owned();
        let mut response = match result {
            Ok(response) => response,
            Err(source) => {
                return Err(FleetError::Unreachable {
                    what,
                    base: self.base.clone(),
                    source,
                });
            }
        };
        let status = response.status().as_u16();
        let body = match response.body_mut().read_to_string() {
            Ok(body) => body,
            Err(source) => return Err(FleetError::Unreadable { what, source }),
        };
        match status {
            200 => serde_json::from_str(&body).map_err(|source| FleetError::Unexpected {
                what,
                base: self.base.clone(),
                source,
            }),
            401 => Err(FleetError::Refused { what }),
            _ => {
                let why = serde_json::from_str::<Failure>(&body)
                    .map(|f| f.error)
                    .unwrap_or(body);
                Err(FleetError::Failed { what, status, why })
            }
        }
    }

    /// Every unit in the registry.
    pub fn list(&self) -> Result<Vec<DeviceRecord>, FleetError> {
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
    pub fn revoke(&self, device_id: &str) -> Result<u64, FleetError> {
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
