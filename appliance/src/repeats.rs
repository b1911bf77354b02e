//! Repeated log lines, said once: the first as it comes, then one count per
//! [`REPEAT_WINDOW`]. Sans-IO (time is passed in); used for pipelines' warnings
//! ([`crate::media::bus`]) and for what the unit's libraries log ([`crate::log_repeats`]).
//! A message repeated a hundred times a second cannot flood a store's journal, nor push
//! the warnings that matter off the staff screen.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Repeats of one message within this long after it was logged are only counted.
pub const REPEAT_WINDOW: Duration = Duration::from_secs(60);

/// A repeated message, said once: its first occurrence, or how often it came again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    First {
        source: String,
        message: String,
    },
    Repeated {
        source: String,
        message: String,
        times: u64,
        over: Duration,
    },
}

/// Counts repeats of the same message (by source and message) so each is logged at most
/// once per [`REPEAT_WINDOW`], plus one count of its repeats. Sans-IO: time is passed in.
#[derive(Debug)]
pub struct Repeats {
    window: Duration,
    /// (source, key) → when it was last logged, repeats since, and the text it was logged as.
    seen: HashMap<(String, String), Seen>,
}

#[derive(Debug)]
struct Seen {
    since: Instant,
    times: u64,
    text: String,
}

impl Repeats {
    pub fn new(window: Duration) -> Repeats {
        Repeats {
            window,
            seen: HashMap::new(),
        }
    }

    /// How many messages are being counted now.
    pub fn tracked(&self) -> usize {
        self.seen.len()
    }

    /// Whether messages of this key are being counted now.
    pub fn is_tracked(&self, source: &str, key: &str) -> bool {
        self.seen.contains_key(&(source.to_owned(), key.to_owned()))
    }

    /// A message came at `now`: what to log about it now, if anything.
    pub fn note(&mut self, source: &str, message: &str, now: Instant) -> Option<Report> {
        self.note_as(source, message, message, now)
    }

    /// A message reading `text` came at `now`, counted as a repeat of any other of the same
    /// `key` (e.g. the text with its numbers set aside). A count names the text logged first.
    pub fn note_as(&mut self, source: &str, key: &str, text: &str, now: Instant) -> Option<Report> {
        let key = (source.to_owned(), key.to_owned());
        match self.seen.get_mut(&key) {
            None => {
                self.seen.insert(
                    key,
                    Seen {
                        since: now,
                        times: 0,
                        text: text.to_owned(),
                    },
                );
                Some(Report::First {
                    source: source.to_owned(),
                    message: text.to_owned(),
                })
            }
            Some(seen) => {
                seen.times += 1;
                let over = now.saturating_duration_since(seen.since);
                if over < self.window {
                    return None;
                }
                let report = Report::Repeated {
                    source: source.to_owned(),
                    message: std::mem::replace(&mut seen.text, text.to_owned()),
                    times: seen.times,
                    over,
                };
                seen.since = now;
                seen.times = 0;
                Some(report)
            }
        }
    }

    /// The counts of messages whose window is over at `now` (they stopped coming, or come
    /// rarely): said once, then forgotten, so the next one is logged as a first again.
    pub fn flush(&mut self, now: Instant) -> Vec<Report> {
        let mut out = Vec::new();
        self.seen.retain(|(source, _), seen| {
            let over = now.saturating_duration_since(seen.since);
            if over < self.window {
                return true;
            }
            if seen.times > 0 {
                out.push(Report::Repeated {
                    source: source.clone(),
                    message: std::mem::take(&mut seen.text),
                    times: seen.times,
                    over,
                });
            }
            false
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_a_hundred_times_a_second_is_one_line_then_one_count_a_minute() {
        let t0 = Instant::now();
        let mut r = Repeats::new(REPEAT_WINDOW);
        let mut lines = Vec::new();
        // Two minutes and a half of the same warning every 10 ms, and another once.
        for i in 0..15_000u64 {
            let now = t0 + Duration::from_millis(i * 10);
            lines.extend(r.note("mix", "clock problem", now));
            if i == 500 {
                lines.extend(r.note("speaker", "underrun", now));
            }
        }
        assert_eq!(
            lines[0],
            Report::First {
                source: "mix".into(),
                message: "clock problem".into()
            }
        );
        assert_eq!(
            lines[1],
            Report::First {
                source: "speaker".into(),
                message: "underrun".into()
            }
        );
        let counts: Vec<u64> = lines
            .iter()
            .filter_map(|l| match l {
                Report::Repeated { times, .. } => Some(*times),
                Report::First { .. } => None,
            })
            .collect();
        assert_eq!(counts, vec![6000, 6000], "one count per minute: {lines:?}");
        assert_eq!(lines.len(), 4);
        // It stops: the last half minute's repeats are counted at the next flush, once.
        let later = t0 + Duration::from_secs(200);
        let flushed = r.flush(later);
        assert_eq!(flushed.len(), 1, "{flushed:?}");
        assert!(
            matches!(&flushed[0], Report::Repeated { times: 2999, .. }),
            "{flushed:?}"
        );
        assert!(r.flush(later).is_empty());
        // Once forgotten, the same warning is a first again.
        assert!(matches!(
            r.note("mix", "clock problem", later),
            Some(Report::First { .. })
        ));
    }
}
