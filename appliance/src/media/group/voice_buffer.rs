//! A guest's decoded voice waiting for the mix's next tick.
//!
//! Voices come a packet (20 ms) at a time, when the guest's decoder hands them on; the
//! guests' own mixes tick with the room's microphone, and the speaker's mix with the
//! speaker ([`crate::media::room::LiveVoice`]), 10 ms at a time on the unit's clocks. So each voice
//! waits in a short buffer: it starts to play once a cushion is waiting beyond the tick's
//! share (for the packets' jitter), starts again the same way after it ran dry, and never
//! holds more than 100 ms (a guest's clock a little fast, or a burst after a stall: the
//! oldest samples go, so the delay stays short).
//!
//! The cushion is the voice's own and follows its link, as a browser's jitter buffer does:
//! it starts at 20 ms; each packet that comes after the voice ran dry mid-flow (late, not
//! after a pause) adds 10 ms, up to 60 ms; each 10 s played without one, and without
//! coming within 10 ms of running dry, takes 10 ms off, down to 20 ms again. A guest on a
//! jittery link (a phone on a mobile network) breaks up for the others a few times, not
//! all through the call. 20 ms is the least: on this
//! machine's loopback, with two browsers and the unit on two cores, voices' packets came up
//! to 21 ms off their 20 ms rhythm (99th percentile 31 ms between packets), and a 10 ms
//! least cushion ran dry 2 to 8 times in a minute's call where 20 ms never did.
//!
//! What a burst leaves would otherwise stay for the rest of the call, every other guest
//! hearing this one that much later: so the buffer watches the least it held at a tick
//! over each half second, and what it held beyond the tick's share and the cushion goes,
//! a tick's worth at most at a time, and only where the voice is quiet (a pause between
//! words), never out of speech. A cushion made smaller goes the same way.

use std::collections::VecDeque;

/// The cushion a voice starts with beyond what a tick takes, and the least: one packet
/// (20 ms at 48 kHz)...
const LEAST_CUSHION: usize = 960;
/// ...and the most (60 ms).
const MOST_CUSHION: usize = 2880;
/// What a late packet adds to the cushion, and what a calm stretch takes off it (10 ms).
const CUSHION_STEP: usize = 480;
/// A packet this soon (in samples' worth of ticks: 100 ms) after the voice ran dry came
/// late; later, the voice had paused (a muted or gone guest, a stall).
const LATE: usize = 4800;
/// This long played (in samples: 10 s) without a late packet, and never within a step of
/// running dry, takes a step off the cushion.
const CALM: usize = 480_000;
/// The most a voice holds (100 ms at 48 kHz); past it, the oldest go down to the cushion.
const MOST: usize = 4800;
/// How many samples' worth of ticks the buffer watches for what it holds beyond its need
/// (half a second).
const WATCH: usize = 24_000;
/// Samples no louder than this (about -40 dBFS) are a pause the buffer may shorten.
pub(super) const QUIET: u16 = 328;

#[derive(Debug)]
pub struct VoiceBuffer {
    samples: VecDeque<i16>,
    playing: bool,
    /// What the voice gathers beyond a tick's share before it plays.
    cushion: usize,
    /// Samples' worth of ticks since the voice ran dry mid-flow, while that may still end
    /// in a late packet.
    dry_for: Option<usize>,
    /// Samples played since the cushion last changed or was found needed...
    calm: usize,
    /// ...and the least the voice held beyond a tick's share at a tick meanwhile.
    margin: usize,
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
            cushion: LEAST_CUSHION,
            dry_for: None,
            calm: 0,
            margin: usize::MAX,
            least: usize::MAX,
            watched: 0,
            spare: 0,
        }
    }
}

impl VoiceBuffer {
    /// Decoded samples (mono S16, little-endian bytes) as they come; true when they came
    /// late (the voice had run dry waiting for them), which grows the cushion.
    pub fn push(&mut self, bytes: &[u8]) -> bool {
        self.samples.extend(
            bytes
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        );
        if self.samples.len() > MOST {
            let extra = self.samples.len() - self.cushion;
            self.samples.drain(..extra);
        }
        let late = self.dry_for.take().is_some();
        if late {
            self.cushion = (self.cushion + CUSHION_STEP).min(MOST_CUSHION);
            self.calm = 0;
            self.margin = usize::MAX;
        }
        late
    }

    /// What the voice gathers beyond a tick's share before it plays, in samples.
    pub fn cushion(&self) -> usize {
        self.cushion
    }

    /// Add the next `out.len()` samples into `out`; false (nothing added) while the voice
    /// is gathering its cushion. Running dry adds what there is and gathers again.
    pub fn take_into(&mut self, out: &mut [i32]) -> bool {
        if !self.playing {
            if let Some(dry) = self.dry_for.as_mut() {
                *dry += out.len();
                if *dry > LATE {
                    self.dry_for = None;
                }
            }
            if self.samples.len() < out.len() + self.cushion {
                return false;
            }
            self.playing = true;
        }
        self.calm += out.len();
        self.margin = self
            .margin
            .min(self.samples.len().saturating_sub(out.len()));
        if self.calm >= CALM {
            // A step less, unless the link used it (the voice came within a step of dry).
            if self.margin >= CUSHION_STEP {
                self.cushion = self.cushion.saturating_sub(CUSHION_STEP).max(LEAST_CUSHION);
            }
            self.calm = 0;
            self.margin = usize::MAX;
        }
        self.watch(out.len());
        if self.samples.len() < out.len() {
            self.playing = false;
            self.dry_for = Some(0);
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
            self.spare = self.least.saturating_sub(tick + self.cushion);
            self.least = usize::MAX;
            self.watched = 0;
        }
        // Never below what this tick and the cushion need, whatever the level did since.
        let n = self
            .spare
            .min(tick)
            .min(self.samples.len().saturating_sub(tick + self.cushion));
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
        assert!(
            after <= 480 + LEAST_CUSHION,
            "still holds {after} at a tick"
        );
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
        assert_eq!(v.len(), LEAST_CUSHION, "held after the tick");
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

    /// Ticks of 10 ms until the voice runs dry, then `gap` more, then a packet: whether it
    /// counted as late.
    fn run_dry_then_push(v: &mut VoiceBuffer, gap_ticks: usize) -> bool {
        while v.take_into(&mut vec![0i32; 480]) {}
        for _ in 0..gap_ticks {
            assert!(!v.take_into(&mut vec![0i32; 480]));
        }
        v.push(&packet(0, 960))
    }

    #[test]
    fn late_packets_grow_the_cushion_and_calm_shrinks_it() {
        let mut v = VoiceBuffer::default();
        assert_eq!(v.cushion(), LEAST_CUSHION);
        let (steady, _) = rhythm(&mut v, 0, 1000);
        assert_eq!(v.cushion(), LEAST_CUSHION, "a steady voice is never late");
        assert_eq!(steady, 480 + LEAST_CUSHION, "the least held at a tick");
        for step in 1..=3 {
            assert!(run_dry_then_push(&mut v, 1), "late by a tick");
            assert_eq!(v.cushion(), LEAST_CUSHION + step * CUSHION_STEP);
            rhythm(&mut v, 0, 200);
        }
        let (jittery, _) = rhythm(&mut v, 0, 1000);
        // It waits longer: at least its cushion at every tick, by the packets' phase.
        assert!(jittery >= LEAST_CUSHION + 3 * CUSHION_STEP, "{jittery}");
        assert!(jittery > steady, "{jittery} against {steady}");
        for _ in 0..10 {
            run_dry_then_push(&mut v, 2);
            rhythm(&mut v, 0, 200);
        }
        assert_eq!(v.cushion(), MOST_CUSHION, "never past the most");
        // Steady again: a step off every 10 s, down to the least and no further, and the
        // voice waits as little as before (the quiet samples held beyond it go).
        rhythm(&mut v, 0, 9_000);
        assert_eq!(v.cushion(), MOST_CUSHION, "not before 10 s");
        rhythm(&mut v, 0, 2_000);
        assert_eq!(v.cushion(), MOST_CUSHION - CUSHION_STEP);
        let (calm, _) = rhythm(&mut v, 0, 100_000);
        assert_eq!(v.cushion(), LEAST_CUSHION);
        assert_eq!(calm, steady, "the least held at a tick");
    }

    #[test]
    fn a_jittery_voice_breaks_up_a_few_times_not_all_through_the_call() {
        // A minute of a packet every 20 ms, but two held up 40 ms every 3 s (a mobile link's
        // jitter, seldom enough that what each hold-up left goes in the pause that follows).
        // The tick each packet comes at, in order.
        let at: Vec<usize> = (0..3000)
            .scan(0, |last, k| {
                let held = if k % 150 == 3 || k % 150 == 4 { 4 } else { 0 };
                *last = (2 * k + held).max(*last);
                Some(*last)
            })
            .collect();
        let mut v = VoiceBuffer::default();
        let (mut k, mut late) = (0, Vec::new());
        for t in 0..6000 {
            let mut n = 0;
            while k < at.len() && at[k] <= t {
                n += usize::from(v.push(&packet(0, 960)));
                k += 1;
            }
            late.push(n);
            v.take_into(&mut vec![0i32; 480]);
        }
        assert_eq!(k, 3000, "every packet came");
        // The first two hold-ups teach it the link...
        let first: usize = late[..400].iter().sum();
        let then: usize = late[400..].iter().sum();
        assert!(first > 0, "a 20 ms cushion runs dry on such a link");
        // ...then never: the hold-ups use the cushion, so it keeps it (a fixed cushion of
        // 20 ms broke up at all 20 hold-ups; one that shrank after any 10 s without a late
        // packet, at 6).
        assert_eq!(then, 0, "still breaking up after {first} late packets");
    }

    #[test]
    fn a_pause_is_not_a_late_packet() {
        let mut v = VoiceBuffer::default();
        rhythm(&mut v, 0, 1000);
        // Nothing for 200 ms (a muted guest, a stall): the next packet is not late.
        assert!(!run_dry_then_push(&mut v, 20));
        assert_eq!(v.cushion(), LEAST_CUSHION);
        // Gathering at the start is not running dry either.
        let mut v = VoiceBuffer::default();
        assert!(!v.take_into(&mut vec![0i32; 480]));
        assert!(!v.push(&packet(0, 960)));
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
