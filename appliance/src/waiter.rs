//! "Call a waiter" at a restaurant table: besides the local API event (for the kiosk and
//! anything else listening on the unit), an HTTP POST to the restaurant's webhook
//! (`[table] waiter_webhook`), so the call reaches a till, a pager or a chat.
//!
//! The POST runs on a blocking thread with a short timeout and never holds up the daemon;
//! a failure is logged (without the URL's query, which may hold a key) and shown nowhere
//! else: the kiosk already confirmed the tap.

use crate::config::Config;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);

/// The JSON the webhook receives.
pub fn body(config: &Config, unix_secs: u64) -> String {
    serde_json::json!({
        "event": "waiter_called",
        "device_id": config.device_id,
        "store": config.store,
        "location": config.location,
        "at": unix_secs,
    })
    .to_string()
}

/// Send the webhook, if one is configured.
pub fn call(config: &Config) {
    let Some(url) = config.table.waiter_webhook.clone() else {
        tracing::info!("waiter called (no webhook configured)");
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let body = body(config, now);
    let shown = url.split('?').next().unwrap_or_default().to_owned();
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .build()
            .into();
        match agent
            .post(&url)
            .header("content-type", "application/json")
            .send(body.as_bytes())
        {
            Ok(_) => tracing::info!(webhook = %shown, "waiter called"),
            Err(e) => tracing::warn!(webhook = %shown, "waiter call failed: {e}"),
        }
    });
}
