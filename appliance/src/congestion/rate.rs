//! A rate over a rolling window, from a growing byte total read now and then: sans-IO,
//! totals and instants in, bits per second out. The pace rule measures each forwarded
//! picture with it ([`crate::forward::pace`]), the forwarded voices' plan what they take
//! ([`crate::forward::Voices::planned_bps`]). (The unit's whole send rate,
//! [`super::meter`], counts every guest over one shared window and is its own piece.)

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Byte totals read over the last window.
#[derive(Debug)]
pub struct RollingRate {
    window: Duration,
    /// Totals and when they were read, oldest first; the oldest is the last one at least
    /// a window before the newest.
    readings: VecDeque<(Instant, u64)>,
}

impl RollingRate {
    /// A rate worked out over `window`, once the readings span it.
    pub fn new(window: Duration) -> Self {
        RollingRate {
            window,
            readings: VecDeque::new(),
        }
    }

    /// The total read at `now` (a reading not newer than the last is ignored); the rate
    /// over the window since.
    pub fn record(&mut self, total: u64, now: Instant) -> Option<u64> {
        if self.readings.back().is_none_or(|(at, _)| now > *at) {
            self.readings.push_back((now, total));
        }
        while self.readings.len() > 2
            && now.saturating_duration_since(self.readings[1].0) >= self.window
        {
            self.readings.pop_front();
        }
        self.bps()
    }

    /// Bits per second between the oldest and newest readings, once they span the window.
    pub fn bps(&self) -> Option<u64> {
        let (&(first, a), &(last, b)) = (self.readings.front()?, self.readings.back()?);
        let span = last.saturating_duration_since(first);
        (span >= self.window)
            .then(|| (b.saturating_sub(a) as f64 * 8.0 / span.as_secs_f64()) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rate_until_the_readings_span_the_window_then_the_last_window_s() {
        let t0 = Instant::now();
        let mut rate = RollingRate::new(Duration::from_secs(2));
        let mut total = 0;
        assert_eq!(rate.record(total, t0), None);
        // 100 kbit/s in quarter-second readings: nothing before 2 s.
        for i in 1..8 {
            total += 100_000 / 8 / 4;
            assert_eq!(
                rate.record(total, t0 + Duration::from_millis(250 * i)),
                None
            );
        }
        total += 100_000 / 8 / 4;
        assert_eq!(
            rate.record(total, t0 + Duration::from_secs(2)),
            Some(100_000)
        );
        // Then 300 kbit/s: after a window, only the new rate is read.
        for i in 9..=16 {
            total += 300_000 / 8 / 4;
            rate.record(total, t0 + Duration::from_millis(250 * i));
        }
        assert_eq!(rate.bps(), Some(300_000));
        // A reading that is not newer changes nothing.
        assert_eq!(rate.record(0, t0 + Duration::from_secs(3)), Some(300_000));
    }
}
