//! The fleet admin API, for IT's scripts (`provision revoke`, `provision report`).
//!
//! - `GET /api/fleet/devices`: every unit in the registry.
//! - `POST /api/fleet/devices/{device_id}/revoke`: refuse the unit from now on (kicking it
//!   off if connected); idempotent, and works for a unit that never enrolled.
//!
//! Requests carry `Authorization: Bearer <credential>`, the HMAC of a fixed label under the
//! fleet's enrollment key (`visavis_api::fleet::auth::admin_credential`), so the key itself
//! never travels. A missing or wrong credential uses up the client's allowance of failed
//! authentication attempts (`rate_limit`, shared with units' hello and enroll); once it is
//! used up, requests get 429 until it refills. Answers are JSON; errors are
//! `{"error": "..."}` with a sentence saying what to do.

use crate::client_ip::ClientIp;
use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use visavis_api::fleet::admin::{DeviceList, Revoked};
use visavis_api::fleet::auth::is_admin_credential;
use visavis_api::fleet::check_device_id;

use crate::devices::{DeviceRegistry, RegistryError};
use crate::state::AppState;

fn fail(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Check the bearer credential: `Some(refusal)` when the client has used up its allowance
/// of failed attempts (429, before the credential is even looked at), or when the
/// credential is missing or wrong (401, charged to that allowance).
fn refuse(app: &AppState, client: IpAddr, headers: &HeaderMap) -> Option<Response> {
    if !app.begin_auth(client, "") {
        tracing::warn!(client = %client, "fleet admin request refused: too many failed attempts");
        return Some(fail(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed attempts from this address: wait a minute, then retry with the right credential",
        ));
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(given) = given else {
        tracing::warn!(client = %client, "fleet admin request refused: no credential");
        return Some(fail(
            StatusCode::UNAUTHORIZED,
            "missing credential: send `Authorization: Bearer <credential>`, the admin credential derived from the fleet's enrollment key (`provision revoke` and `provision report` do this)",
        ));
    };
    if is_admin_credential(&app.enrollment_key.0, given.trim()) {
        app.auth_succeeded(client, "");
        return None;
    }
    tracing::warn!(client = %client, "fleet admin request refused: wrong credential");
    Some(fail(
        StatusCode::UNAUTHORIZED,
        "wrong credential: derive it from the fleet's enrollment key, the one in this rendezvous's enrollment_key_file (`provision revoke` and `provision report` do this)",
    ))
}

async fn blocking<T: Send + 'static>(
    app: &AppState,
    call: impl FnOnce(&DeviceRegistry) -> Result<T, RegistryError> + Send + 'static,
) -> Result<T, Response> {
    let devices = app.devices.clone();
    match tokio::task::spawn_blocking(move || call(&devices)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::error!("{e}");
            Err(fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the device registry is unavailable; try again later",
            ))
        }
        Err(e) => {
            tracing::error!("device registry task failed: {e}");
            Err(fail(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))
        }
    }
}

/// `GET /api/fleet/devices`
pub async fn list(
    State(app): State<Arc<AppState>>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = refuse(&app, client, &headers) {
        return r;
    }
    match blocking(&app, |r| r.list()).await {
        Ok(devices) => Json(DeviceList { devices }).into_response(),
        Err(r) => r,
    }
}

/// `POST /api/fleet/devices/{device_id}/revoke`
pub async fn revoke(
    State(app): State<Arc<AppState>>,
    ClientIp(client): ClientIp,
    Path(device_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = refuse(&app, client, &headers) {
        return r;
    }
    if let Err(e) = check_device_id(&device_id) {
        return fail(StatusCode::BAD_REQUEST, e.to_string());
    }
    let (id, now) = (device_id.clone(), app.clock.now_secs());
    let revoked_at = match blocking(&app, move |r| r.revoke(&id, now)).await {
        Ok(at) => at,
        Err(r) => return r,
    };
    let connected = app.throw_out_revoked(&device_id);
    tracing::info!(device = %device_id, connected, "unit revoked");
    Json(Revoked {
        device_id,
        revoked_at,
    })
    .into_response()
}
