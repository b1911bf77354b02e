//! Where the daemon loses time. A turn of its loop (one input handled and its outputs
//! carried out) that takes long, and a runtime too busy or blocked to wake its tasks on
//! time, are logged with how long and, for a turn, which input it was. A unit that answers
//! its local API late, or misses systemd's watchdog, shows here why.

use std::time::Duration;
use tokio::time::Instant;

/// A turn of the loop at least this long is logged.
pub const SLOW_TURN: Duration = Duration::from_millis(500);
/// How often the runtime's lateness is probed...
pub const PROBE_EVERY: Duration = Duration::from_millis(500);
/// ...and how late a wake-up must be to be logged.
pub const LATE_WAKE: Duration = Duration::from_secs(1);

/// Log a turn of the loop, for input `what`, that began at `began`, if it was slow.
pub fn note_turn(what: &'static str, began: Instant) {
    let took = began.elapsed();
    if took >= SLOW_TURN {
        tracing::warn!(
            input = what,
            ms = took.as_millis() as u64,
            "a turn of the unit's loop took long"
        );
    }
}

/// Probe the runtime every [`PROBE_EVERY`] until the task is aborted: a wake-up later than
/// [`LATE_WAKE`] is logged (every worker thread was busy or blocked meanwhile).
pub fn watch_runtime() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        loop {
            let due = Instant::now() + PROBE_EVERY;
            tokio::time::sleep_until(due).await;
            let late = due.elapsed();
            if late >= LATE_WAKE {
                tracing::warn!(
                    late_ms = late.as_millis() as u64,
                    "the daemon's tasks were not run on time (the machine is overloaded, or \
                     something blocked the runtime)"
                );
            }
        }
    })
}
