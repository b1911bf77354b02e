//! A `tracing` layer that says a library's repeated log line once a minute.
//!
//! The unit's own code says a repeated problem once and counts the rest (see
//! [`crate::repeats`]); the libraries it uses do not. webrtc-rs, for one, logs an ERROR
//! for every TURN permission the relay server refuses ("403 Forbidden IP": a store's TURN
//! server rightly refuses private addresses, and a guest's phone offers several), some
//! 180 lines per call. Those lines would fill the journal and push the warnings that
//! matter off the staff screen's short list ([`crate::recent`]).
//!
//! [`RepeatFilter`] lets the first of a library's lines through, holds back the same line
//! (same target, same text once numbers are set aside: see [`shape`]) for a minute, and [`RepeatFilter::report_counts`] then says
//! how many times it came. Lines from the unit's own code (`visavis*` targets) always pass.

use crate::metrics::lock;
use crate::repeats::{REPEAT_WINDOW, Repeats, Report};
use std::fmt::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// At most this many different lines are counted at once; past it, lines pass as they come.
pub const MAX_TRACKED: usize = 1024;

/// Holds back repeats of a library's log lines. Cheap to clone; clones share the counts.
#[derive(Clone)]
pub struct RepeatFilter(Arc<Mutex<State>>);

struct State {
    repeats: Repeats,
    /// Counts whose window ended while the line kept coming, waiting to be said.
    due: Vec<Report>,
}

impl Default for RepeatFilter {
    fn default() -> Self {
        RepeatFilter(Arc::new(Mutex::new(State {
            repeats: Repeats::new(REPEAT_WINDOW),
            due: Vec::new(),
        })))
    }
}

impl RepeatFilter {
    /// The process's own, installed by `applianced` at start.
    pub fn global() -> &'static RepeatFilter {
        static GLOBAL: OnceLock<RepeatFilter> = OnceLock::new();
        GLOBAL.get_or_init(RepeatFilter::default)
    }

    /// Whether a line of `target` reading `message` at `now` is logged.
    pub fn admit(&self, target: &str, message: &str, now: Instant) -> bool {
        if target.starts_with("visavis") {
            return true;
        }
        let key = shape(message);
        let mut state = lock(&self.0);
        if state.repeats.tracked() >= MAX_TRACKED && !state.repeats.is_tracked(target, &key) {
            let due = state.repeats.flush(now);
            state.due.extend(due);
            if state.repeats.tracked() >= MAX_TRACKED {
                return true;
            }
        }
        match state.repeats.note_as(target, &key, message, now) {
            None => false,
            Some(Report::First { .. }) => true,
            Some(count @ Report::Repeated { .. }) => {
                state.due.push(count);
                true
            }
        }
    }

    /// The counts to say at `now`: lines held back whose minute is over.
    pub fn counts(&self, now: Instant) -> Vec<Report> {
        let mut state = lock(&self.0);
        let mut out = std::mem::take(&mut state.due);
        out.extend(state.repeats.flush(now));
        out
    }

    /// Say the counts once a minute, for as long as the unit runs.
    pub async fn report_counts(self) {
        let mut tick = tokio::time::interval(REPEAT_WINDOW);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for report in self.counts(Instant::now()) {
                if let Report::Repeated {
                    source,
                    message,
                    times,
                    over,
                } = report
                {
                    tracing::warn!(
                        from = %source,
                        "{message} (again {times} time(s), numbers aside, in the last {} s)",
                        over.as_secs()
                    );
                }
            }
        }
    }
}

/// How much of a line's text its shape keeps.
pub const SHAPE_CHARS: usize = 120;

/// A line's shape: the head of its text ([`SHAPE_CHARS`]) with each run of digits as `#`,
/// so the same complaint about another address or port (`Failed to write packet to
/// 10.11.0.2:59245 …`) counts as a repeat, and so does one that goes on with the packet it
/// is about (webrtc-rs says "Failed to send RtpPacket to track remote …: Full(…)" with the
/// whole packet, bytes and all, for each packet a busy reader could not take).
pub fn shape(message: &str) -> String {
    let mut out = String::with_capacity(SHAPE_CHARS);
    let mut in_digits = false;
    for c in message.chars().take(SHAPE_CHARS) {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// An event's message text.
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }
}

impl<S: Subscriber> Layer<S> for RepeatFilter {
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        let target = event.metadata().target();
        if target.starts_with("visavis") {
            return true;
        }
        let mut message = Message::default();
        event.record(&mut message);
        self.admit(target, &message.0, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recent::RecentErrors;
    use std::time::Duration;
    use tracing_subscriber::prelude::*;

    #[test]
    fn a_library_line_repeated_per_call_is_said_once_then_counted() {
        let filter = RepeatFilter::default();
        let recent = RecentErrors::default();
        let subscriber = tracing_subscriber::registry()
            .with(filter.clone())
            .with(recent.clone());
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..180 {
                tracing::error!(target: "webrtc::turn", "TURN permission request failed: 403");
            }
            tracing::error!(target: "webrtc::turn", "TURN allocation failed: 401");
            for port in 40_000..40_030 {
                tracing::error!(target: "webrtc::driver", "Failed to write packet to 10.11.0.2:{port}");
            }
            for i in 0..3 {
                tracing::warn!("guest media: no decoder for guest {}", i % 2);
            }
            for letter in 'a'..='z' {
                tracing::error!(
                    target: "webrtc::peer_connection::driver",
                    "Failed to send RtpPacket to track remote bf876ee0-dc81-4922-b5a2-7329040e1040: \
                     Full(OnRtpPacket(Packet {{ header: Header {{ version: 2, padding: false }}, \
                     payload: b\"{}\" }}))",
                    letter.to_string().repeat(40)
                );
            }
        });
        let lines = recent.list();
        let turn: Vec<_> = lines.iter().filter(|l| l.contains("403")).collect();
        assert_eq!(turn.len(), 1, "{lines:?}");
        assert!(
            lines.iter().any(|l| l.contains("allocation failed")),
            "{lines:?}"
        );
        // The unit's own lines are never held back.
        assert_eq!(lines.iter().filter(|l| l.contains("no decoder")).count(), 3);
        // A minute on, the 179 held back are counted, once.
        let later = Instant::now() + REPEAT_WINDOW + Duration::from_secs(1);
        let counts = filter.counts(later);
        assert_eq!(counts.len(), 3, "{counts:?}");
        // Packets it could not take: one line whatever their bytes.
        assert!(
            counts.iter().any(|c| matches!(c, Report::Repeated { times: 25, message, .. } if message.contains("RtpPacket"))),
            "{counts:?}"
        );
        assert!(
            counts.iter().any(|c| matches!(c, Report::Repeated { times: 179, message, .. } if message.contains("403"))),
            "{counts:?}"
        );
        assert!(
            counts.iter().any(|c| matches!(c, Report::Repeated { times: 29, message, .. } if message.ends_with(":40000"))),
            "{counts:?}"
        );
        assert!(filter.counts(later).is_empty());
    }

    #[test]
    fn a_line_still_coming_after_its_minute_passes_again_with_its_count_due() {
        let filter = RepeatFilter::default();
        let t0 = Instant::now();
        assert!(filter.admit("rtc_turn", "refused", t0));
        assert!(!filter.admit("rtc_turn", "refused", t0 + Duration::from_secs(30)));
        assert!(filter.admit("rtc_turn", "refused", t0 + Duration::from_secs(61)));
        let counts = filter.counts(t0 + Duration::from_secs(62));
        assert!(
            matches!(&counts[..], [Report::Repeated { times: 2, .. }]),
            "{counts:?}"
        );
    }

    #[test]
    fn past_the_limit_of_different_lines_they_pass() {
        let filter = RepeatFilter::default();
        let t0 = Instant::now();
        // Lines that differ in more than numbers: "line a", "line b", … "line bz", …
        let word = |mut i: usize| {
            let mut w = String::new();
            loop {
                w.insert(0, (b'a' + (i % 26) as u8) as char);
                i /= 26;
                if i == 0 {
                    return format!("line {w}");
                }
            }
        };
        for i in 0..MAX_TRACKED {
            assert!(filter.admit("lib", &word(i), t0));
        }
        assert!(filter.admit("lib", "one more", t0));
        assert!(
            filter.admit("lib", "one more", t0),
            "not counted: it passes"
        );
        assert!(!filter.admit("lib", "line a", t0), "still counted");
    }
}
