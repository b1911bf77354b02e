//! A guest's decoded voice waiting for the mix's next tick.
//!
//! Voices come a packet (20 ms) at a time, when the guest's decoder hands them on; the mix
//! ticks with the room's microphone, 10 ms at a time, on the unit's clock. So each voice
//! waits in a short buffer: it starts to play once 20 ms are waiting beyond the tick's
//! share (a cushion for the packets' jitter), starts again the same way after it ran dry,
//! and never holds more than 100 ms (a guest's clock a little fast, or a burst after a
//! stall: the oldest samples go, so the delay stays short).
//!
//! What a burst leaves would otherwise stay for the rest of the call, every other guest
//! hearing this one that much later: so the buffer watches the least it held at a tick
//! over each half second, and what it held beyond the tick's share and the cushion goes,
//! a tick's worth at most at a time, and only where the voice is quiet (a pause between
//! words), never out of speech.

use std::collections::VecDeque;

/// The cushion a voice keeps beyond what a tick takes: one packet.
const CUSHION: usize = 960;
/// The most a voice holds (100 ms at 48 kHz); past it, the oldest go down to the cushion.
const MOST: usize = 4800;
/// How many samples' worth of ticks the buffer watches for what it holds beyond its need
/// (half a second).
const WATCH: usize = 24_000;
/// Samples no louder than this (about -40 dBFS) are a pause the buffer may shorten.
const QUIET: u16 = 328;

#[derive(Debug)]
pub struct VoiceBuffer {
    samples: VecDeque<i16>,
    playing: bool,
    /// The least the buffer held at a tick since the watch began.
    least: usize,
    /// The samples the ticks took since the watch began.
    watched: usize,
    /// Samples held beyond the need, found by the last watch, still to let go.
    spare: usize,
}

impl Default for VoiceBuffer {
    fn default() -> Self {
        VoiceBuffer {
            samples: VecDeque::new(),
            playing: false,
            least: usize::MAX,
            watched: 0,
            spare: 0,
        }
    }
}

impl VoiceBuffer {
    /// Decoded samples (mono S16, little-endian bytes) as they come.
    pub fn push(&mut self, bytes: &[u8]) {
        self.samples.extend(
            bytes
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        );
        if self.samples.len() > MOST {
            let extra = self.samples.len() - CUSHION;
            self.samples.drain(..extra);
        }
    }

    /// Add the next `out.len()` samples into `out`; false (nothing added) while the voice
    /// is gathering its cushion. Running dry adds what there is and gathers again.
    pub fn take_into(&mut self, out: &mut [i32]) -> bool {
        if !self.playing {
            if self.samples.len() < out.len() + CUSHION {
                return false;
            }
            self.playing = true;
        }
        self.watch(out.len());
        if self.samples.len() < out.len() {
            self.playing = false;
        }
        let n = out.len().min(self.samples.len());
        for (o, s) in out.iter_mut().zip(self.samples.drain(..n)) {
            *o += i32::from(s);
        }
        n > 0
    }

    /// Keep the watch on what the buffer holds at a tick of `tick` samples, and let a
    /// quiet stretch of what it holds beyond its need go.
    fn watch(&mut self, tick: usize) {
        self.least = self.least.min(self.samples.len());
        self.watched += tick;
        if self.watched >= WATCH {
            self.spare = self.least.saturating_sub(tick + CUSHION);
            self.least = usize::MAX;
            self.watched = 0;
        }
        // Never below what this tick and the cushion need, whatever the level did since.
        let n = self
            .spare
            .min(tick)
            .min(self.samples.len().saturating_sub(tick + CUSHION));
        if n > 0
            && self
                .samples
                .iter()
                .take(n)
                .all(|s| s.unsigned_abs() <= QUIET)
        {
            self.samples.drain(..n);
            self.spare -= n;
        }
    }

    /// Let `n` samples go unheard (nobody listens).
    pub fn skip(&mut self, n: usize) {
        let n = n.min(self.samples.len());
        self.samples.drain(..n);
    }

    /// Samples waiting.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(value: i16, samples: usize) -> Vec<u8> {
        std::iter::repeat_n(value, samples)
            .flat_map(i16::to_le_bytes)
            .collect()
    }

    #[test]
    fn a_voice_plays_once_it_has_a_cushion_and_gathers_again_after_running_dry() {
        let mut v = VoiceBuffer::default();
        let mut tick = vec![0i32; 480];
        v.push(&packet(7, 960));
        assert!(!v.take_into(&mut tick), "one packet: still gathering");
        assert!(tick.iter().all(|&s| s == 0));
        v.push(&packet(7, 960));
        assert!(v.take_into(&mut tick), "two packets: playing");
        assert!(tick.iter().all(|&s| s == 7));
        // Three more ticks empty it (1440 left, 480 each).
        for _ in 0..3 {
            assert!(v.take_into(&mut vec![0i32; 480]));
        }
        assert!(v.is_empty());
        // Dry: nothing added, and it waits for a cushion again.
        let mut tick = vec![0i32; 480];
        assert!(!v.take_into(&mut tick));
        v.push(&packet(3, 960));
        assert!(!v.take_into(&mut tick), "gathering again");
        v.push(&packet(3, 960));
        assert!(v.take_into(&mut tick));
        assert!(tick.iter().all(|&s| s == 3));
    }

    #[test]
    fn a_voice_running_short_adds_what_it_has() {
        let mut v = VoiceBuffer::default();
        v.push(&packet(5, 1500));
        for _ in 0..3 {
            assert!(v.take_into(&mut vec![0i32; 480]));
        }
        let mut tick = vec![1i32; 480];
        assert!(v.take_into(&mut tick), "60 samples left");
        assert_eq!(tick.iter().filter(|&&s| s == 6).count(), 60);
        assert_eq!(tick.iter().filter(|&&s| s == 1).count(), 420);
    }

    /// Ticks of 10 ms with a packet of `value` pushed every other one, for `ms`: the least
    /// the buffer held at a tick in the last half second, and the sum of what the ticks took.
    fn rhythm(v: &mut VoiceBuffer, value: i16, ms: usize) -> (usize, i64) {
        let mut least = usize::MAX;
        let mut sum = 0;
        for t in 0..ms / 10 {
            if t % 2 == 0 {
                v.push(&packet(value, 960));
            }
            if t >= (ms / 10).saturating_sub(50) {
                least = least.min(v.len());
            }
            let mut tick = vec![0i32; 480];
            v.take_into(&mut tick);
            sum += tick.iter().map(|&s| i64::from(s)).sum::<i64>();
        }
        (least, sum)
    }

    #[test]
    fn a_pause_lets_go_of_what_a_burst_left() {
        let mut v = VoiceBuffer::default();
        let (before, _) = rhythm(&mut v, 0, 1000);
        // A stall, then its packets all at once: 40 ms more than the rhythm needs (less
        // than the most it holds).
        v.push(&packet(0, 1920));
        let (burst, _) = rhythm(&mut v, 0, 200);
        assert!(burst >= before + 1920, "{burst} against {before}");
        let (after, _) = rhythm(&mut v, 0, 2000);
        assert!(after <= 480 + CUSHION, "still holds {after} at a tick");
        assert!(after >= 480, "it must not run dry: {after}");
    }

    #[test]
    fn a_pause_is_never_shortened_below_the_cushion() {
        let mut v = VoiceBuffer::default();
        v.push(&packet(0, 1600));
        assert!(v.take_into(&mut vec![0i32; 480]), "playing");
        // A watch found plenty to spare, but the level fell since (the guest's packets
        // late): only what stands over this tick and the cushion may go.
        v.spare = 5000;
        v.push(&packet(0, 480));
        assert!(v.take_into(&mut vec![0i32; 480]));
        assert_eq!(v.len(), CUSHION, "held after the tick");
        assert_eq!(v.spare, 5000 - 160);
    }

    #[test]
    fn speech_is_never_cut_to_shorten_the_wait() {
        let mut v = VoiceBuffer::default();
        let (_, first) = rhythm(&mut v, 1000, 1000);
        v.push(&packet(1000, 1920));
        let held = v.len();
        let (after, then) = rhythm(&mut v, 1000, 2000);
        assert!(
            after + 960 >= held,
            "speech went: {after} held, {held} before"
        );
        // Every sample pushed was played or still waits: none was let go.
        let pushed = 50 * 960 + 1920 + 100 * 960;
        assert_eq!((first + then) / 1000 + v.len() as i64, pushed);
    }

    #[test]
    fn a_voice_never_holds_more_than_a_tenth_of_a_second() {
        let mut v = VoiceBuffer::default();
        for i in 0..20 {
            v.push(&packet(i, 960));
            assert!(v.len() <= MOST, "{}", v.len());
        }
        // The last overflow (at packet 15) let the older ones go.
        let mut tick = vec![0i32; 480];
        assert!(v.take_into(&mut tick));
        assert!(tick.iter().all(|&s| s == 15), "{:?}", &tick[..4]);
        v.skip(100_000);
        assert!(v.is_empty());
    }
}
