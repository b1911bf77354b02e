//! Every deadline of the end-to-end tests, named, in one place, and stretched for slow
//! machines: each is multiplied by `VISAVIS_TEST_TIMEOUT_SCALE` (a positive number, default
//! 1; e.g. `VISAVIS_TEST_TIMEOUT_SCALE=3` under emulation or on a loaded board).
//!
//! A deadline only bounds how long a test waits for something that should happen; no test
//! passes or fails on how fast it happened (speeds are `cargo xtask bench`'s business).

use std::sync::OnceLock;
use std::time::Duration;

/// The environment variable holding the scale factor.
pub const SCALE_VAR: &str = "VISAVIS_TEST_TIMEOUT_SCALE";

/// The factor every timeout here is multiplied by. Panics, naming the variable, when it is
/// set to something other than a positive number: a test run with a misspelt factor would
/// fail later for a reason much harder to see.
pub fn scale() -> f64 {
    static SCALE: OnceLock<f64> = OnceLock::new();
    *SCALE.get_or_init(|| match std::env::var(SCALE_VAR) {
        Err(_) => 1.0,
        Ok(text) => parse_scale(&text).unwrap_or_else(|| {
            panic!("{SCALE_VAR}={text:?}: give a positive number, e.g. 2 or 1.5 (default 1)")
        }),
    })
}

fn parse_scale(text: &str) -> Option<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f > 0.0)
}

/// `base`, multiplied by [`scale`].
pub fn scaled(base: Duration) -> Duration {
    base.mul_f64(scale())
}

fn secs(n: u64) -> Duration {
    scaled(Duration::from_secs(n))
}

/// rendezvous printing its readiness line (2 cores, other tests running).
pub fn rendezvous_start() -> Duration {
    secs(30)
}

/// applianced building its pipeline and printing its readiness line (debug build).
pub fn appliance_start() -> Duration {
    secs(60)
}

/// chromedriver printing its port.
pub fn chromedriver_start() -> Duration {
    secs(30)
}

/// A reply on applianced's local API, or from the web server of a test.
pub fn api_reply() -> Duration {
    secs(10)
}

/// A page or an event that follows directly from what a test just did (a page state, the
/// unit's event for a guest's action, chromedriver closing).
pub fn answer() -> Duration {
    secs(10)
}

/// Media starting or coming back, an invite handed out while the unit connects, a page
/// first loaded by a fresh browser.
pub fn media() -> Duration {
    secs(20)
}

/// One step of a scenario through browser, rendezvous and unit (join, admit, in call), or a
/// daemon stopping on SIGTERM.
pub fn step() -> Duration {
    secs(30)
}

/// The unit noticing a guest's browser went away (ICE consent times out first).
pub fn guest_gone() -> Duration {
    secs(45)
}

/// The call coming back by itself after a network blip on the unit's side: TCP resending
/// what waited, the guest page's ICE restart (retried with back-off), media again.
pub fn blip_recovery() -> Duration {
    secs(45)
}

/// A whole virtual machine run under emulation (boot, the test program, power-off).
pub fn virtual_machine() -> Duration {
    secs(600)
}

/// The HTTP client's connect timeout.
pub fn http_connect() -> Duration {
    secs(5)
}

/// The HTTP client's timeout for a whole response.
pub fn http_response() -> Duration {
    secs(30)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_is_a_positive_number() {
        assert_eq!(parse_scale("2"), Some(2.0));
        assert_eq!(parse_scale(" 1.5 "), Some(1.5));
        assert_eq!(parse_scale("0"), None);
        assert_eq!(parse_scale("-1"), None);
        assert_eq!(parse_scale("fast"), None);
        assert_eq!(parse_scale("inf"), None);
    }
}
