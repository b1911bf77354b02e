//! Wall-clock time, injectable so tests move time by hand instead of sleeping.

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of "now", as time since the Unix epoch.
pub trait Clock: Send + Sync + Debug + 'static {
    fn now(&self) -> Duration;

    /// Whole seconds since the epoch (the unit of invite expiry).
    fn now_secs(&self) -> u64 {
        self.now().as_secs()
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        // A clock before 1970 is a broken host; treat it as the epoch rather than panic.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
    }
}

/// A clock that only moves when told to. For tests.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Duration>,
}

impl ManualClock {
    pub fn new(start: Duration) -> Self {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    /// Move the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(Duration::from_secs(1_000));
        assert_eq!(c.now_secs(), 1_000);
        c.advance(Duration::from_millis(1_500));
        assert_eq!(c.now(), Duration::from_millis(1_001_500));
    }
}
