//! The staff screen's side in applianced: the PIN, its rate limit, the report.
//!
//! The PIN lives in a file (`[staff] pin_file`, default `/etc/visavis/staff-pin`): 4 to 8
//! digits, readable by root and the `visavis` group only. Every staff request carries it;
//! [`PinGuard`] lets three wrong tries through, then makes each next one wait (30 s,
//! doubling, at most 2 min) until a right one. The count of wrong tries survives a
//! restart (`<state_dir>/staff-pin-tries`), so restarting the daemon gives no fresh tries;
//! the short longest wait means a shopper pressing wrong PINs can keep staff out for two
//! minutes at most, while guessing a 4-digit PIN still takes days. The PIN is never
//! logged or echoed.

use crate::config::Config;
use crate::unit::StaffFacts;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use visavis_api::local::{ApiError, ApiErrorCode, MetricsSnapshot, NetworkLink, StaffReport};

/// Wrong PINs allowed before the waits start.
pub const FREE_TRIES: u32 = 3;
/// The first wait; each further wrong PIN doubles it.
pub const FIRST_WAIT: Duration = Duration::from_secs(30);
pub const LONGEST_WAIT: Duration = Duration::from_secs(2 * 60);

/// Counts wrong PINs. Sans-IO: the caller gives the time.
#[derive(Debug, Default)]
pub struct PinGuard {
    wrong: u32,
    locked_until: Option<Instant>,
    /// Resumed past the free tries: the earned wait starts at the first try after the
    /// restart (the guard reads no clock of its own).
    wait_on_first_try: bool,
}

impl PinGuard {
    /// A guard after a restart, with the wrong tries counted before it: when they were past
    /// the free ones, the wait they earned starts again at the first try.
    pub fn resume(wrong: u32) -> PinGuard {
        PinGuard {
            wrong,
            locked_until: None,
            wait_on_first_try: wrong >= FREE_TRIES,
        }
    }

    /// Wrong tries since the last right one.
    pub fn wrong(&self) -> u32 {
        self.wrong
    }

    /// Check `given` against `pin` (`Err` when none is set up, with the reason).
    pub fn check(
        &mut self,
        given: &str,
        pin: &Result<String, PinFileError>,
        now: Instant,
    ) -> Result<(), ApiError> {
        if std::mem::take(&mut self.wait_on_first_try) {
            self.locked_until = Some(now + wait_after(self.wrong));
        }
        if let Some(until) = self.locked_until.filter(|u| now < *u) {
            let secs = until.duration_since(now).as_secs().max(1);
            return Err(ApiError {
                code: ApiErrorCode::RateLimited,
                message: format!("too many wrong PINs: try again in {secs} s"),
            });
        }
        let pin = pin.as_ref().map_err(|why| ApiError {
            code: ApiErrorCode::WrongPin,
            message: why.to_string(),
        })?;
        if constant_time_eq(given.as_bytes(), pin.as_bytes()) {
            *self = PinGuard::default();
            return Ok(());
        }
        self.wrong += 1;
        tracing::warn!(wrong = self.wrong, "wrong staff PIN");
        if self.wrong >= FREE_TRIES {
            self.locked_until = Some(now + wait_after(self.wrong));
        }
        Err(ApiError {
            code: ApiErrorCode::WrongPin,
            message: "wrong PIN".into(),
        })
    }
}

/// The wait after `wrong` wrong tries (at least [`FREE_TRIES`]).
fn wait_after(wrong: u32) -> Duration {
    let doublings = wrong.saturating_sub(FREE_TRIES).min(10);
    (FIRST_WAIT * 2u32.pow(doublings)).min(LONGEST_WAIT)
}

/// The wrong tries saved by an earlier run (0 when none were, or the file is unreadable).
pub fn load_tries(path: &Path) -> u32 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// Save the count of wrong tries for the next run (mode 0600).
pub fn save_tries(path: &Path, wrong: u32) {
    if let Err(e) = visavis_api::fleet::atomic::write(path, format!("{wrong}\n").as_bytes(), 0o600)
    {
        tracing::warn!(
            "cannot save the count of wrong staff PINs to {}: {e}",
            path.display()
        );
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Length is not secret (4 to 8 digits); the digits are.
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why the PIN file gives no PIN, and how to fix it. Never holds the file's content.
#[derive(Debug, thiserror::Error)]
pub enum PinFileError {
    #[error("no staff PIN ({path}: {source}); write 4 to 8 digits there, mode 0640, group visavis")]
    Missing {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is readable by everyone, so the staff PIN is refused: chmod 640 {path}")]
    Exposed { path: PathBuf },
    #[error("{path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} must hold 4 to 8 digits and nothing else")]
    NotDigits { path: PathBuf },
}

/// Read the PIN file: `Err` says what is wrong and how to fix it.
pub fn load_pin(path: &Path) -> Result<String, PinFileError> {
    let path_buf = || path.to_owned();
    let meta = std::fs::metadata(path).map_err(|source| PinFileError::Missing {
        path: path_buf(),
        source,
    })?;
    if meta.permissions().mode() & 0o007 != 0 {
        return Err(PinFileError::Exposed { path: path_buf() });
    }
    let text = std::fs::read_to_string(path).map_err(|source| PinFileError::Unreadable {
        path: path_buf(),
        source,
    })?;
    let pin = text.trim();
    if !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PinFileError::NotDigits { path: path_buf() });
    }
    Ok(pin.to_owned())
}

/// The staff report from what the daemon knows.
pub fn report(config: &Config, facts: StaffFacts, metrics: &MetricsSnapshot) -> StaffReport {
    let StaffFacts {
        rendezvous_connected,
        privacy,
        problems,
    } = facts;
    use crate::config::VideoSource;
    let camera = match config.video.source {
        VideoSource::V4l2 => format!("camera {}", config.video.device.display()),
        VideoSource::Auto if config.video.device.exists() => {
            format!("camera {}", config.video.device.display())
        }
        VideoSource::Auto => format!("test pattern (no {})", config.video.device.display()),
        VideoSource::Test => "test pattern".into(),
        VideoSource::File => "looped clip".into(),
    };
    StaffReport {
        device_id: config.device_id.clone(),
        store: config.store.clone(),
        location: config.location.clone(),
        mode: config.mode,
        version: env!("CARGO_PKG_VERSION").into(),
        rendezvous_url: config.rendezvous.url.clone(),
        rendezvous_connected,
        network: network(Path::new("/sys/class/net")),
        camera,
        microphone: match &config.audio.card {
            Some(card) => format!(
                "{:?} card {card} channel {}",
                config.audio.source, config.audio.channel
            ),
            None => format!("{:?} {}", config.audio.source, config.audio.device),
        }
        .to_lowercase(),
        encoder: metrics.video_encoder.clone(),
        video_frames_captured: metrics.frames_captured,
        video_frames_encoded: metrics.frames_encoded,
        audio_frames_encoded: metrics.audio_frames_encoded,
        privacy,
        send_kbps: metrics.send_bps / 1000,
        uplink_kbps: config.uplink.max_kbps,
        problems,
        recent_errors: crate::recent::RecentErrors::global().list(),
    }
}

/// Interfaces under `sys_net` (`/sys/class/net`) with their `operstate`, loopback left out.
fn network(sys_net: &Path) -> Vec<NetworkLink> {
    let Ok(entries) = std::fs::read_dir(sys_net) else {
        return Vec::new();
    };
    let mut links: Vec<NetworkLink> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name != "lo").then(|| NetworkLink {
                state: std::fs::read_to_string(e.path().join("operstate"))
                    .map(|s| s.trim().to_owned())
                    .unwrap_or_else(|_| "unknown".into()),
                name,
            })
        })
        .collect();
    links.sort_by(|a, b| a.name.cmp(&b.name));
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin() -> Result<String, PinFileError> {
        Ok("2468".into())
    }

    #[test]
    fn three_free_tries_then_waits_that_double_and_a_right_pin_resets() {
        let t0 = Instant::now();
        let mut g = PinGuard::default();
        for _ in 0..2 {
            assert_eq!(
                g.check("1111", &pin(), t0).unwrap_err().code,
                ApiErrorCode::WrongPin
            );
        }
        assert!(
            g.check("2468", &pin(), t0).is_ok(),
            "two wrong tries cost nothing"
        );
        for _ in 0..3 {
            assert_eq!(
                g.check("1111", &pin(), t0).unwrap_err().code,
                ApiErrorCode::WrongPin
            );
        }
        // Locked for 30 s: even the right PIN waits, and the message says how long.
        let e = g
            .check("2468", &pin(), t0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(e.code, ApiErrorCode::RateLimited);
        assert!(e.message.contains("20 s"), "{}", e.message);
        let t1 = t0 + FIRST_WAIT;
        assert_eq!(
            g.check("1111", &pin(), t1).unwrap_err().code,
            ApiErrorCode::WrongPin
        );
        // The fourth wrong PIN doubles the wait.
        let e = g.check("2468", &pin(), t1 + FIRST_WAIT).unwrap_err();
        assert_eq!(e.code, ApiErrorCode::RateLimited);
        assert!(g.check("2468", &pin(), t1 + FIRST_WAIT * 2).is_ok());
        assert!(g.check("1111", &pin(), t1 + FIRST_WAIT * 2).is_err());
        assert!(
            g.check("2468", &pin(), t1 + FIRST_WAIT * 2).is_ok(),
            "a right PIN cleared the count"
        );
    }

    #[test]
    fn a_restart_gives_no_fresh_tries() {
        let now = Instant::now();
        let mut g = PinGuard::default();
        for _ in 0..FREE_TRIES {
            let _ = g.check("0000", &pin(), now);
        }
        let mut after_restart = PinGuard::resume(g.wrong());
        let e = after_restart
            .check("2468", &pin(), now + Duration::from_secs(6))
            .unwrap_err();
        assert_eq!(e.code, ApiErrorCode::RateLimited, "{e:?}");
        assert!(
            after_restart
                .check("2468", &pin(), now + Duration::from_secs(6) + FIRST_WAIT)
                .is_ok()
        );
        assert_eq!(after_restart.wrong(), 0);
        let fresh = PinGuard::resume(FREE_TRIES - 1);
        assert_eq!(fresh.wrong(), FREE_TRIES - 1);
    }

    #[test]
    fn the_saved_count_reads_back_and_a_missing_file_is_zero() {
        let dir = tempdir();
        let path = dir.join("staff-pin-tries");
        assert_eq!(load_tries(&path), 0);
        save_tries(&path, 7);
        assert_eq!(load_tries(&path), 7);
        std::fs::write(&path, "garbage").unwrap();
        assert_eq!(load_tries(&path), 0);
    }

    #[test]
    fn the_wait_never_exceeds_two_minutes() {
        let mut now = Instant::now();
        let mut g = PinGuard::default();
        for _ in 0..40 {
            let _ = g.check("0000", &pin(), now);
            now += LONGEST_WAIT;
        }
        let _ = g.check("0000", &pin(), now);
        assert!(g.check("2468", &pin(), now + LONGEST_WAIT).is_ok());
    }

    #[test]
    fn without_a_pin_file_nobody_gets_in_and_the_reason_is_given() {
        let dir = tempdir();
        let path = dir.join("staff-pin");
        let missing = load_pin(&path);
        let why = missing.as_ref().unwrap_err().to_string();
        assert!(why.contains("write 4 to 8 digits"), "{why}");
        let mut g = PinGuard::default();
        let e = g.check("", &missing, Instant::now()).unwrap_err();
        assert_eq!((e.code, e.message), (ApiErrorCode::WrongPin, why));

        std::fs::write(&path, "12ab\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = load_pin(&path).unwrap_err();
        assert!(matches!(err, PinFileError::NotDigits { .. }), "{err}");
        assert!(err.to_string().contains("4 to 8 digits"), "{err}");
        assert!(!err.to_string().contains("12ab"), "{err}");
        std::fs::write(&path, "2468\n").unwrap();
        assert_eq!(load_pin(&path).ok().as_deref(), Some("2468"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            load_pin(&path)
                .unwrap_err()
                .to_string()
                .contains("chmod 640")
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tempdir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "visavis-staff-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn network_lists_interfaces_but_loopback() {
        let dir = tempdir();
        for (name, state) in [("lo", "unknown"), ("wlan0", "up"), ("eth0", "down")] {
            std::fs::create_dir_all(dir.join(name)).unwrap();
            std::fs::write(dir.join(name).join("operstate"), format!("{state}\n")).unwrap();
        }
        let links = network(&dir);
        let seen: Vec<(&str, &str)> = links
            .iter()
            .map(|l| (l.name.as_str(), l.state.as_str()))
            .collect();
        assert_eq!(seen, [("eth0", "down"), ("wlan0", "up")]);
        let _ = std::fs::remove_dir_all(dir);
    }
}
