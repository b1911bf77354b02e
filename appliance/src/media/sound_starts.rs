//! Where sound starts: the first loud sample after a quiet stretch.
//!
//! The guests' voices as the unit decodes them, and the simulated room's speaker, note
//! theirs in the unit's metrics (wall-clock time): `bench mouth` times a guest's voice from
//! the unit's decoding to the room's speaker and to another guest's ear with them.

use super::room::RATE;

/// A sample this loud (-30 dBFS) is sound...
pub const LOUD: f64 = 1036.0;
/// ...and it starts after this many samples without any (300 ms).
pub const QUIET: usize = RATE as usize * 3 / 10;

/// See the module docs; positions are sample indices on any one timeline at [`RATE`].
#[derive(Debug, Default)]
pub struct SoundStarts {
    /// Sample index of the last loud sample.
    last_loud: Option<usize>,
}

impl SoundStarts {
    /// Samples `x` from sample index `from` on: the indices where sound starts.
    pub fn feed(&mut self, from: usize, x: impl IntoIterator<Item = f64>) -> Vec<usize> {
        let mut starts = Vec::new();
        for (i, v) in x.into_iter().enumerate() {
            if v.abs() < LOUD {
                continue;
            }
            let at = from + i;
            if self.last_loud.is_none_or(|last| at > last + QUIET) {
                starts.push(at);
            }
            self.last_loud = Some(at);
        }
        starts
    }
}

/// Sample index of time `us` (µs) on a timeline at [`RATE`]: wall-clock time for sound
/// that has no timeline of its own.
pub fn index_of_us(us: u64) -> usize {
    (u128::from(us) * u128::from(RATE) / 1_000_000) as usize
}

/// Time (µs) of sample index `i` on a timeline at [`RATE`].
pub fn us_of_index(i: usize) -> u64 {
    (i as u128 * 1_000_000 / u128::from(RATE)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sound_starts_after_a_quiet_stretch_only() {
        let mut s = SoundStarts::default();
        assert!(s.feed(0, vec![100.0; 480]).is_empty());
        let loud = [0.0, -2000.0, 3000.0, 0.0];
        // The first loud sample, whatever its sign.
        assert_eq!(s.feed(1000, loud), vec![1001]);
        // Sound again soon after is the same sound...
        assert!(s.feed(1001 + QUIET, loud).is_empty());
        // ...and after a quiet stretch a new one.
        assert_eq!(s.feed(2 * QUIET + 1010, loud), vec![2 * QUIET + 1011]);
    }

    #[test]
    fn times_and_sample_indices_convert_both_ways() {
        let us = 1_764_900_000_123_456;
        let i = index_of_us(us);
        assert!(us - us_of_index(i) < 21, "within a sample");
        assert_eq!(index_of_us(1_000_000), RATE as usize);
    }
}
