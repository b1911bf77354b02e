//! The guests' voices on the speaker: each waits in a short buffer of its own, and every
//! buffer the room's mixer makes takes its share of all of them, added in the mixer's own
//! thread on its way to the volume, the echo probe and the speaker.
//!
//! A guest's voice comes a packet (20 ms) at a time, as the network delivers it; the
//! speaker plays 10 ms at a time on its own clock. Each voice waits in a [`VoiceBuffer`]
//! (the one the guests' own mixes use): 20 ms of cushion at least for its packets'
//! jitter, more on a jittery link, never more than 100 ms held. Each guest's voice used
//! to come in through an `appsrc` of its own on a pad of the `audiomixer`: a thread and a
//! hand-off per voice, and the mixer's wait for late inputs (40 ms) on every voice; with
//! eight guests those threads woke about 1,200 times a second (`/proc/<pid>/task`'s
//! context switches, `soak group`).

use crate::media::group::{VoiceBuffer, clamp};
use crate::metrics::lock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Every guest's voice waiting for the speaker.
#[derive(Default)]
pub(super) struct LiveVoices {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next: u64,
    buffers: HashMap<u64, VoiceBuffer>,
    /// The sum being made, kept between buffers (no allocation at each).
    sum: Vec<i32>,
}

impl LiveVoices {
    /// A new voice: it plays until the returned handle is dropped.
    pub(super) fn add(self: &Arc<Self>) -> LiveVoice {
        let mut state = lock(&self.state);
        state.next += 1;
        let id = state.next;
        state.buffers.insert(id, VoiceBuffer::default());
        LiveVoice {
            voices: self.clone(),
            id,
        }
    }

    /// How many voices there are.
    pub(super) fn len(&self) -> usize {
        lock(&self.state).buffers.len()
    }

    /// Each voice's next `samples`, summed and handed to `add` when any voice played in
    /// them (an idle unit's mixer buffers are never touched); false when none did.
    pub(super) fn take(&self, samples: usize, add: impl FnOnce(&[i32])) -> bool {
        let mut state = lock(&self.state);
        let State { buffers, sum, .. } = &mut *state;
        if buffers.is_empty() {
            return false;
        }
        sum.clear();
        sum.resize(samples, 0);
        let mut played = false;
        for buffer in buffers.values_mut() {
            played |= buffer.take_into(sum);
        }
        if played {
            add(sum);
        }
        played
    }
}

/// Add `sum` to `bytes` (mono S16LE), saturating.
pub(super) fn add_saturating(bytes: &mut [u8], sum: &[i32]) {
    for (out, s) in bytes.chunks_exact_mut(2).zip(sum) {
        let mixed = clamp(i32::from(i16::from_le_bytes([out[0], out[1]])) + s);
        out.copy_from_slice(&mixed.to_le_bytes());
    }
}

/// One guest's voice on the speaker. Dropping it takes the voice out of the mix.
pub struct LiveVoice {
    voices: Arc<LiveVoices>,
    id: u64,
}

impl LiveVoice {
    /// Decoded samples (mono S16LE at [`super::RATE`]) as they come; true when they came
    /// late (the speaker had run out of this voice waiting for them).
    pub fn push(&self, bytes: &[u8]) -> bool {
        lock(&self.voices.state)
            .buffers
            .get_mut(&self.id)
            .is_some_and(|buffer| buffer.push(bytes))
    }
}

impl Drop for LiveVoice {
    fn drop(&mut self) {
        lock(&self.voices.state).buffers.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steady(value: i16, samples: usize) -> Vec<u8> {
        std::iter::repeat_n(value, samples)
            .flat_map(i16::to_le_bytes)
            .collect()
    }

    /// What the speaker's probe does: the voices added onto the mixer's buffer.
    fn mix_into(voices: &LiveVoices, bytes: &mut [u8]) -> bool {
        voices.take(bytes.len() / 2, |sum| add_saturating(bytes, sum))
    }

    fn values(bytes: &[u8]) -> Vec<i16> {
        bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect()
    }

    #[test]
    fn voices_are_added_to_the_mix_once_their_cushion_waits_and_leave_when_dropped() {
        let voices = Arc::new(LiveVoices::default());
        let mut buffer = steady(100, 480);
        assert!(!mix_into(&voices, &mut buffer), "no voice yet");
        assert_eq!(values(&buffer), vec![100; 480], "left as it was");
        let a = voices.add();
        let b = voices.add();
        assert_eq!(voices.len(), 2);
        // One packet each: not yet beyond the 20 ms cushion, so the mix waits.
        assert!(!a.push(&steady(1_000, 960)), "not late: it never played");
        b.push(&steady(-300, 960));
        assert!(!mix_into(&voices, &mut buffer));
        assert_eq!(values(&buffer), vec![100; 480]);
        // A second packet: both play, summed onto what the mixer made.
        a.push(&steady(1_000, 960));
        b.push(&steady(-300, 960));
        assert!(mix_into(&voices, &mut buffer));
        assert_eq!(values(&buffer), vec![800; 480]);
        // Loud voices saturate rather than wrap.
        let c = voices.add();
        c.push(&steady(i16::MAX, 960 * 3));
        let mut buffer = steady(0, 480);
        assert!(mix_into(&voices, &mut buffer));
        assert_eq!(values(&buffer), vec![i16::MAX; 480]);
        drop(c);
        drop(b);
        assert_eq!(voices.len(), 1, "the leaving voices are gone");
        let mut buffer = steady(0, 480);
        assert!(mix_into(&voices, &mut buffer));
        assert_eq!(values(&buffer), vec![1_000; 480], "the other plays on");
        // It runs dry mid-flow: the packet that comes next came late.
        assert!(mix_into(&voices, &mut steady(0, 480)), "its last 10 ms");
        assert!(!mix_into(&voices, &mut steady(0, 480)), "dry");
        assert!(a.push(&steady(1_000, 960)), "late");
        assert!(!a.push(&steady(1_000, 960)), "the next one is not");
    }
}
