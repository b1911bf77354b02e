//! The privacy gate: what the privacy switch (or the screen's pause and mute) does to
//! frames on their way to guests.
//!
//! Closing the gate withholds every encoded frame at once, whatever is still inside the
//! encoder; the source itself is also stopped (the valve after it, and the camera's
//! streaming), so nothing new is captured. Reopening lets video through again from the
//! next keyframe only (the daemon forces one), so no guest decodes a frame that refers to
//! pictures from before the switch.

use std::sync::atomic::{AtomicU8, Ordering};

const OPEN: u8 = 0;
const CLOSED: u8 = 1;
/// Open again, waiting for a keyframe.
const RESUMING: u8 = 2;

/// A gate shared by the daemon (which opens and closes it) and the encoder's appsink
/// callback (which asks it about every frame).
#[derive(Debug, Default)]
pub struct Gate {
    state: AtomicU8,
}

impl Gate {
    pub fn close(&self) {
        self.state.store(CLOSED, Ordering::SeqCst);
    }

    pub fn open(&self) {
        let _ = self
            .state
            .compare_exchange(CLOSED, RESUMING, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Closed (not merely waiting for a keyframe after reopening).
    pub fn is_closed(&self) -> bool {
        self.state.load(Ordering::SeqCst) == CLOSED
    }

    /// Whether a frame may pass. After reopening, the first keyframe opens the gate fully.
    pub fn admit(&self, keyframe: bool) -> bool {
        match self.state.load(Ordering::SeqCst) {
            OPEN => true,
            RESUMING if keyframe => {
                self.state.store(OPEN, Ordering::SeqCst);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_withholds_everything_and_reopening_waits_for_a_keyframe() {
        let gate = Gate::default();
        assert!(gate.admit(false));
        gate.close();
        assert!(!gate.admit(true) && !gate.admit(false));
        gate.open();
        assert!(
            !gate.admit(false),
            "a delta frame after the gap is withheld"
        );
        assert!(gate.admit(true));
        assert!(gate.admit(false));
        gate.open();
        assert!(gate.admit(false), "opening an open gate changes nothing");
    }
}
