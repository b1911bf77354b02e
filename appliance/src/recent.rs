//! The unit's recent warnings and errors, for the staff screen: a `tracing` layer keeps the
//! last [`KEPT`] WARN and ERROR events (UTC time, level, where, message and fields) in
//! memory. applianced's logs name things, never secrets (tokens, keys and PINs are not
//! logged), so what is kept here is what the journal already holds.

use crate::metrics::lock;
use std::collections::VecDeque;
use std::fmt::Write;
use std::sync::{Arc, Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Lines kept; older ones go.
pub const KEPT: usize = 20;

/// The last warnings and errors, oldest first. Cheap to clone.
#[derive(Clone, Default)]
pub struct RecentErrors(Arc<Mutex<VecDeque<String>>>);

impl RecentErrors {
    /// The process's own, fed by the layer `applianced` installs at start.
    pub fn global() -> &'static RecentErrors {
        static GLOBAL: OnceLock<RecentErrors> = OnceLock::new();
        GLOBAL.get_or_init(RecentErrors::default)
    }

    /// The lines kept, oldest first.
    pub fn list(&self) -> Vec<String> {
        lock(&self.0).iter().cloned().collect()
    }

    fn push(&self, line: String) {
        let mut lines = lock(&self.0);
        if lines.len() == KEPT {
            lines.pop_front();
        }
        lines.push_back(line);
    }
}

/// `HH:MM:SS` (UTC) of now.
fn clock() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// The message first, then `name=value` for the other fields.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for RecentErrors {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        if level > Level::WARN {
            return;
        }
        let mut line = Line::default();
        event.record(&mut line);
        self.push(format!(
            "{} {level} {}: {}{}",
            clock(),
            event.metadata().target(),
            line.message,
            line.fields
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::prelude::*;

    #[test]
    fn keeps_the_last_warnings_and_errors_only() {
        let recent = RecentErrors::default();
        let subscriber = tracing_subscriber::registry().with(recent.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("all is well");
            tracing::warn!(guest = "g-1", "guest media: no decoder");
            tracing::error!("the video pipeline failed");
            tracing::debug!("details");
        });
        let lines = recent.list();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].ends_with(
                "WARN visavis_appliance::recent::tests: guest media: no decoder guest=g-1"
            ),
            "{}",
            lines[0]
        );
        assert!(lines[1].contains("ERROR") && lines[1].contains("the video pipeline failed"));
        tracing::subscriber::with_default(
            tracing_subscriber::registry().with(recent.clone()),
            || {
                for i in 0..KEPT + 5 {
                    tracing::warn!("warning {i}");
                }
            },
        );
        let lines = recent.list();
        assert_eq!(lines.len(), KEPT);
        assert!(
            lines[KEPT - 1].ends_with("warning 24"),
            "{}",
            lines[KEPT - 1]
        );
    }
}
