//! `bench mouth`: mouth to ear, a guest's voice to the room and to another guest, reported,
//! never judged.
//!
//! A table (guests hear each other) with the simulated room (`[audio] source =
//! "simulated-room"`) and two real Chromium guests on loopback. Camille's fake microphone
//! says a click every [`PERIOD_MS`] (a 1 kHz tone of [`CLICK_MS`], from a file); Jo's is
//! silent. Each click is timed three times, all on the machine's one clock:
//! - mouth: when Camille's page hears her own microphone (WebAudio on the track she sends,
//!   `visavis_e2e::listen::start_onsets`);
//! - the room's ear: when the unit's speaker plays it (the simulated speaker reports when
//!   its sound starts, in the unit's metrics, `speaker_sound_starts_unix_us`);
//! - Jo's ear: when Jo's page hears it in what the unit sends him (his own mix: the room
//!   and Camille).
//!
//! Guest → unit is the room's ear minus the mouth, guest → guest Jo's ear minus the mouth.
//! Neither counts a device's own output buffer (the simulated speaker has none; Jo's page
//! hears before its output), and both start where Camille's page hears her microphone,
//! a little after her capture: the same start for both. What a network adds is not here
//! (loopback): guest → unit crosses it once, guest → guest twice.

use crate::percentile;
use std::fmt;
use std::path::Path;
use std::time::Duration;
use visavis_e2e::listen;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{
    Appliance, ApplianceConfig, Chromedriver, Error, Guest, PageState, Rendezvous,
    RendezvousConfig, Result, timeouts, wav,
};

/// A click this often...
const PERIOD_MS: u32 = 1500;
/// ...this long.
const CLICK_MS: u32 = 30;
/// Sound is a sample at or above this (the click is at -6 dBFS; the room's processed
/// microphone and the echo's residue stay far below)...
const LOUD_DBFS: f64 = -30.0;
/// ...after this long without (the unit's speaker uses the same rule).
const QUIET_MS: f64 = 300.0;
/// How long the clicks are timed.
const LISTEN: Duration = Duration::from_secs(24);
/// A click heard later than this after it was said is not that click.
const LATEST_MS: f64 = 1000.0;

/// What one run measured (ms).
pub struct Report {
    said: usize,
    period_ms: f64,
    to_unit: Vec<f64>,
    to_guest: Vec<f64>,
    /// How long the other guest's browser held the audio in its jitter buffer, on average
    /// over the clicks' time (ms).
    jitter_buffer_ms: f64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = |f: &mut fmt::Formatter<'_>, what: &str, v: &[f64]| {
            let mut v = v.to_vec();
            if v.is_empty() {
                return writeln!(f, "  {what}: heard none of the {} clicks", self.said);
            }
            let (min, max) = (
                v.iter().copied().fold(f64::INFINITY, f64::min),
                v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            );
            writeln!(
                f,
                "  {what}: median {:.0} ms, p95 {:.0} ms, {min:.0}–{max:.0} ms ({} of {} clicks)",
                percentile(&mut v, 50.0),
                percentile(&mut v, 95.0),
                v.len(),
                self.said
            )
        };
        writeln!(
            f,
            "mouth to ear, a table of two guests on loopback, a click every {PERIOD_MS} ms \
             (heard every {:.0} ms at the mouth):",
            self.period_ms
        )?;
        line(f, "guest -> the unit's speaker", &self.to_unit)?;
        line(f, "guest -> the other guest", &self.to_guest)?;
        writeln!(
            f,
            "  of which the other guest's jitter buffer: {:.0} ms on average",
            self.jitter_buffer_ms
        )?;
        let (mut u, mut g) = (self.to_unit.clone(), self.to_guest.clone());
        if !u.is_empty() && !g.is_empty() {
            let (u, g) = (percentile(&mut u, 50.0), percentile(&mut g, 50.0));
            writeln!(
                f,
                "  medians: guest -> guest {g:.0} ms against 1.2 x guest -> unit + 20 ms = {:.0} ms",
                1.2 * u + 20.0
            )?;
        }
        Ok(())
    }
}

/// For each time in `said`, how long until the first of `heard` after it (within
/// [`LATEST_MS`]).
fn delays(said: &[f64], heard: &[f64]) -> Vec<f64> {
    said.iter()
        .filter_map(|s| {
            heard
                .iter()
                .map(|h| h - s)
                .find(|d| (0.0..LATEST_MS).contains(d))
        })
        .collect()
}

async fn join(driver: &Chromedriver, url: &str, name: &str, mic: &Path) -> Result<Guest> {
    let guest = driver
        .new_guest_with_args(&[format!(
            "--use-file-for-fake-audio-capture={}",
            mic.display()
        )])
        .await?;
    guest.record_peer_connections().await?;
    guest.open(url).await?;
    guest.join(name).await?;
    guest
        .wait_for_state(PageState::InCall, timeouts::step())
        .await?;
    Ok(guest)
}

pub async fn run(dir: &Path) -> Result<Report> {
    let (clicks, quiet) = (dir.join("clicks.wav"), dir.join("silence.wav"));
    wav::clicks(&clicks, PERIOD_MS, CLICK_MS)?;
    wav::silence(&quiet)?;
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let mut unit = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            mode: visavis_api::Mode::Table,
            auto_admit: true,
            audio_source: "simulated-room".into(),
            ..Default::default()
        },
    )?;
    let url = unit.create_invite(timeouts::media())?;
    let driver = Chromedriver::start()?;
    let camille = join(&driver, &url, "Camille", &clicks).await?;
    let jo = join(&driver, &url, "Jo", &quiet).await?;
    settle(&unit).await?;
    listen::start_onsets(&camille, "local", LOUD_DBFS, QUIET_MS).await?;
    listen::start_onsets(&jo, "remote", LOUD_DBFS, QUIET_MS).await?;
    let held0 = jo.audio_jitter_buffer().await?.unwrap_or_default();
    crate::pass(LISTEN).await?;
    // Only clicks said a full second before now count: the last may be on their way.
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        - LATEST_MS;
    let said = listen::onsets(&camille, "local").await?;
    let heard = listen::onsets(&jo, "remote").await?;
    let held1 = jo.audio_jitter_buffer().await?.unwrap_or_default();
    let played: Vec<f64> = unit
        .metrics()?
        .speaker_sound_starts_unix_us
        .iter()
        .map(|us| *us as f64 / 1000.0)
        .collect();
    camille.close().await?;
    jo.close().await?;
    let said: Vec<f64> = said.into_iter().filter(|s| *s <= end).collect();
    if said.len() < 2 {
        return Err(Error::new(format!(
            "Camille's page heard {} clicks from her microphone in {LISTEN:?}",
            said.len()
        )));
    }
    let mut gaps: Vec<f64> = said.windows(2).map(|w| w[1] - w[0]).collect();
    Ok(Report {
        said: said.len(),
        period_ms: percentile(&mut gaps, 50.0),
        to_unit: delays(&said, &played),
        to_guest: delays(&said, &heard),
        jitter_buffer_ms: (held1.0 - held0.0) * 1000.0
            / (held1.1.saturating_sub(held0.1).max(1)) as f64,
    })
}

/// Until the unit mixes both guests' voices for each other and its speaker has played a
/// click.
async fn settle(unit: &Appliance) -> Result<()> {
    wait::until(
        "the unit to mix both guests and play a click",
        timeouts::media(),
        || async {
            let m = unit.metrics()?;
            let starts = m.speaker_sound_starts_unix_us.len();
            Ok(if m.own_mixes == 2 && m.group_voices == 2 && starts > 0 {
                Check::Ready(())
            } else {
                Check::NotYet(format!(
                    "{} mixes, {} voices, the speaker's sound started {starts} times",
                    m.own_mixes, m.group_voices
                ))
            })
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_click_is_paired_with_the_first_sound_after_it() {
        let said = [1000.0, 2500.0, 4000.0];
        // The second click was never heard; something before the first is not it.
        let heard = [900.0, 1180.0, 1400.0, 4150.0];
        assert_eq!(delays(&said, &heard), vec![180.0, 150.0]);
    }
}
