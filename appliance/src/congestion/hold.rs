//! The wait before a path that fell back is offered more again, shared by the layer rule
//! ([`super::Controller`]: back to the main layer) and the pictures rule
//! ([`super::Pictures`]: more of the others' pictures). Plain instants in; no clock.
//!
//! More is offered once the path has looked able to take it for the wait. A fall within
//! [`RELAPSE`] of being offered more doubles the wait (up to [`MAX_HOLD`]), so a path that
//! only looks good while it is not used is not probed every few seconds; keeping what it
//! was offered for [`MAX_HOLD`] brings the wait back to its first length.

use std::time::{Duration, Instant};

/// The longest wait.
pub const MAX_HOLD: Duration = Duration::from_secs(60);
/// Falling back this soon after being offered more doubles the wait.
pub const RELAPSE: Duration = Duration::from_secs(15);

#[derive(Debug)]
pub struct Hold {
    first: Duration,
    wait: Duration,
    /// Since when the path has looked able to take more.
    better_since: Option<Instant>,
    /// When it was last offered more (until it kept it for [`MAX_HOLD`] or fell).
    raised_at: Option<Instant>,
}

impl Hold {
    /// A wait of `first` to begin with.
    pub fn new(first: Duration) -> Self {
        Hold {
            first,
            wait: first,
            better_since: None,
            raised_at: None,
        }
    }

    /// The path fell back at `now`.
    pub fn fell(&mut self, now: Instant) {
        if self.raised_at.is_some_and(|t| now < t + RELAPSE) {
            self.wait = (self.wait * 2).min(MAX_HOLD);
        }
        self.raised_at = None;
        self.better_since = None;
    }

    /// The path did not fall at `now`: once it kept what it was offered for
    /// [`MAX_HOLD`], the next fall starts from a short wait again.
    pub fn kept(&mut self, now: Instant) {
        if self.raised_at.is_some_and(|t| now >= t + MAX_HOLD) {
            self.wait = self.first;
            self.raised_at = None;
        }
    }

    /// The path cannot take more now.
    pub fn not_better(&mut self) {
        self.better_since = None;
    }

    /// The path could take more at `now`: whether it has for the whole wait, in which
    /// case it is offered more now.
    pub fn better(&mut self, now: Instant) -> bool {
        let since = *self.better_since.get_or_insert(now);
        if now < since + self.wait {
            return false;
        }
        self.better_since = None;
        self.raised_at = Some(now);
        true
    }
}
