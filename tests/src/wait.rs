//! Waiting for a condition: poll it until it holds or a deadline passes.
//!
//! The pause between polls only sets how often the condition is looked at; nothing is ever
//! assumed to have happened because time passed. A timeout says what was being waited for
//! and what was seen last.

use crate::error::{Error, Result};
use std::future::Future;
use std::time::{Duration, Instant};

/// How often conditions are polled.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// One look at a condition.
pub enum Check<T> {
    /// It holds; here is what it gave.
    Ready(T),
    /// Not yet; this is what was seen (used in the timeout message).
    NotYet(String),
}

/// Poll `probe` until it returns [`Check::Ready`] or `timeout` passes. An `Err` from the
/// probe ends the wait at once.
pub async fn until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Check<T>>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let seen = match probe().await? {
            Check::Ready(value) => return Ok(value),
            Check::NotYet(seen) => seen,
        };
        if Instant::now() >= deadline {
            return Err(timed_out(what, timeout, &seen));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// [`until`] for code that is not async.
pub fn until_blocking<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<Check<T>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let seen = match probe()? {
            Check::Ready(value) => return Ok(value),
            Check::NotYet(seen) => seen,
        };
        if Instant::now() >= deadline {
            return Err(timed_out(what, timeout, &seen));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

fn timed_out(what: &str, timeout: Duration, seen: &str) -> Error {
    Error::new(format!(
        "timed out after {:.1} s waiting for {what}; last seen: {seen}",
        timeout.as_secs_f64()
    ))
}
