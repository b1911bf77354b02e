//! Guest→guest latency of forwarded pictures, for `group`: from a guest writing a frame of
//! its camera to another guest receiving the frame's last packet in the slot that shows it.
//!
//! Every guest runs in this process, so one clock serves both ends. The unit rewrites a
//! forwarded packet's header (SSRC, sequence number, timestamp) but never its payload, and
//! the last packet of a frame ends with the frame's last bytes: a frame is known by its
//! last [`TAIL`] bytes and who sent it (the slot's name in the unit's `others` message).
//! The clip loops, so a frame's latest writing is the one that arrives (the loop lasts
//! far longer than the trip); frames whose tail appears twice in the clip are left out.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many of a frame's last bytes tell it apart.
pub const TAIL: usize = 16;

type Tail = [u8; TAIL];

fn tail(bytes: &[u8]) -> Option<Tail> {
    bytes.len().checked_sub(TAIL).map(|start| {
        let mut t = [0; TAIL];
        t.copy_from_slice(&bytes[start..]);
        t
    })
}

/// The frames written and the trips seen, shared by every guest of a call.
#[derive(Default)]
pub struct Latency {
    /// Tails found once in the clip.
    unique: HashSet<Tail>,
    /// When each guest last wrote each frame.
    sent: Mutex<HashMap<String, HashMap<Tail, Instant>>>,
    trips: Mutex<Vec<Duration>>,
}

impl Latency {
    /// For guests sending `frames` (the clip's video samples, in a loop).
    pub fn new<'a>(frames: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut count: HashMap<Tail, usize> = HashMap::new();
        for f in frames {
            if let Some(t) = tail(f) {
                *count.entry(t).or_default() += 1;
            }
        }
        Latency {
            unique: count
                .into_iter()
                .filter_map(|(t, n)| (n == 1).then_some(t))
                .collect(),
            ..Default::default()
        }
    }

    /// `guest` writes `frame` now.
    pub fn sent(&self, guest: &str, frame: &[u8]) {
        let Some(t) = tail(frame).filter(|t| self.unique.contains(t)) else {
            return;
        };
        let now = Instant::now();
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.entry(guest.to_owned()).or_default().insert(t, now);
    }

    /// A frame's last packet (its `payload`) arrived now in a slot showing `from`.
    pub fn received(&self, from: &str, payload: &[u8]) {
        let now = Instant::now();
        let Some(t) = tail(payload) else { return };
        let at = self
            .sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(from)
            .and_then(|frames| frames.get(&t).copied());
        if let Some(at) = at {
            self.trips
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(now.saturating_duration_since(at));
        }
    }

    /// The trips seen since the last call, sorted.
    pub fn take(&self) -> Vec<Duration> {
        let mut trips = std::mem::take(&mut *self.trips.lock().unwrap_or_else(|e| e.into_inner()));
        trips.sort();
        trips
    }
}

/// The `q` quantile (0 to 1) of sorted `trips`, in ms.
pub fn quantile_ms(trips: &[Duration], q: f64) -> Option<f64> {
    let last = trips.len().checked_sub(1)?;
    let i = ((last as f64) * q).round() as usize;
    Some(trips[i.min(last)].as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forwarded_frame_is_matched_by_its_tail_and_sender() {
        let a: Vec<u8> = (0..40).collect();
        let b: Vec<u8> = (100..140).collect();
        let same = vec![7u8; 40];
        let l = Latency::new([a.as_slice(), b.as_slice(), same.as_slice(), same.as_slice()]);
        l.sent("Ana", &a);
        l.sent("Ana", &same);
        // The last packet carries a header of its own, then the frame's end.
        let mut last = vec![0x7c, 0x45];
        last.extend_from_slice(&a[20..]);
        l.received("Ana", &last);
        // Another sender, a frame never written, a frame not unique in the clip.
        l.received("Jo", &last);
        l.received("Ana", &b);
        l.received("Ana", &same);
        let trips = l.take();
        assert_eq!(trips.len(), 1, "{trips:?}");
        assert!(quantile_ms(&trips, 0.5).is_some());
        assert!(l.take().is_empty());
    }
}
