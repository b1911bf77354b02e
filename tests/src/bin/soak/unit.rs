//! The unit under soak: applianced on test sources, admitting guests by itself (the
//! demo's `auto_admit`, so no one taps "Let in" a thousand times), and what the bench asks
//! of it over its local API.

use std::time::{Duration, Instant};
use visavis_api::Mode;
use visavis_api::local::{MetricsSnapshot, Request, Response, Status};
use visavis_e2e::{Appliance, ApplianceConfig, Fleet, timeouts};

/// Variables of the bench's environment named `SOAK_UNIT_<NAME>` are given to applianced
/// alone as `<NAME>` (say `SOAK_UNIT_MALLOC_ARENA_MAX=2`, or a heap profiler's
/// `SOAK_UNIT_LD_PRELOAD`).
pub const ENV_PREFIX: &str = "SOAK_UNIT_";

/// Start a unit of the rendezvous at `url` (of `fleet`), in a fitting room.
pub fn start(url: &str, fleet: &Fleet) -> Result<Appliance, String> {
    start_as(url, fleet, Mode::FittingRoom, "")
}

/// Start a unit in `mode` (at a table, guests see each other), with `extra` TOML tables
/// at the end of its configuration.
pub fn start_as(url: &str, fleet: &Fleet, mode: Mode, extra: &str) -> Result<Appliance, String> {
    let env = std::env::vars()
        .filter_map(|(k, v)| Some((k.strip_prefix(ENV_PREFIX)?.to_owned(), v)))
        .collect();
    Appliance::start_with(
        url,
        Some(fleet),
        &ApplianceConfig {
            auto_admit: true,
            mode,
            width: 640,
            height: 480,
            env,
            extra_toml: extra.to_owned(),
            ..ApplianceConfig::default()
        },
    )
    .map_err(|e| format!("applianced did not start: {e}"))
}

/// A new invite URL (the unit's session goes on).
pub fn invite(unit: &mut Appliance) -> Result<String, String> {
    tokio::task::block_in_place(|| unit.create_invite(timeouts::step()))
        .map_err(|e| format!("no invite: {e}"))
}

/// The unit's status now.
pub fn status(unit: &Appliance) -> Result<Status, String> {
    tokio::task::block_in_place(|| {
        let mut client = unit.client().map_err(|e| e.to_string())?;
        match client.call(Request::Status) {
            Ok(Response::Status(s)) => Ok(s),
            Ok(other) => Err(format!("Status answered {other:?}")),
            Err(e) => Err(format!("Status failed: {e}")),
        }
    })
}

/// The unit's metrics now.
pub fn metrics(unit: &Appliance) -> Result<MetricsSnapshot, String> {
    tokio::task::block_in_place(|| {
        let mut client = unit.client().map_err(|e| e.to_string())?;
        match client.call(Request::Metrics) {
            Ok(Response::Metrics(m)) => Ok(*m),
            Ok(other) => Err(format!("Metrics answered {other:?}")),
            Err(e) => Err(format!("Metrics failed: {e}")),
        }
    })
}

/// Poll the unit's status (every 20 ms) until `ready` holds; how long that took.
pub async fn until(
    unit: &Appliance,
    what: &str,
    timeout: Duration,
    ready: impl Fn(&Status) -> bool,
) -> Result<Duration, String> {
    let t0 = Instant::now();
    loop {
        if ready(&status(unit)?) {
            return Ok(t0.elapsed());
        }
        if t0.elapsed() > timeout {
            return Err(format!("the unit did not get to {what} within {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
