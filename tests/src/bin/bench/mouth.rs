//! `bench mouth`: a guest's voice to the room and to another guest, reported, never judged.
//!
//! A table (guests hear each other) with the simulated room (`[audio] source =
//! "simulated-room"`) and two real Chromium guests on loopback. Camille's fake microphone
//! says a click every [`PERIOD_MS`] (a 1 kHz tone of [`CLICK_MS`], from a file); Jo's is
//! silent. Each click is timed three times, all on the machine's one clock:
//! - the unit decodes it (the unit's metrics, `voice_sound_starts_unix_us`): both paths
//!   start here. What comes before (Camille's capture, her encoder, the network) is the
//!   same for both and is not measured: Chromium's own view of its microphone
//!   (WebAudio on the track it sends) came 32–51 ms *after* the unit had decoded the click,
//!   so it cannot say when she spoke;
//! - the unit's speaker plays it (the simulated speaker, `speaker_sound_starts_unix_us`: the
//!   running time it plays at, the pipeline's latency included, a real device's own buffer
//!   not);
//! - Jo's page hears it in what the unit sends him (his own mix: the room and Camille), by
//!   WebAudio, at the time his page's audio output plays it (`getOutputTimestamp`); the
//!   output's latency is reported beside, and taken off for the comparison, so that
//!   neither ear counts a device's buffer. WebAudio's tap of a received track may add a
//!   little of its own.
//!
//! On loopback ([`Place::Loopback`]) what a network adds is not here (to the unit it is
//! before both paths start; to Jo it is one more leg). Across the network lab
//! ([`Place::Lab`], needs root) Jo sits behind NAT A on a link of [`LAB_DELAY_MS`] one way
//! and Camille on the lab's internet: his leg is in his figure, hers in neither, and the
//! goal is checked as if hers were as long as his (two phones on like links).

use crate::percentile;
use std::fmt;
use std::path::Path;
use std::time::Duration;
use visavis_api::local::VoicePackets;
use visavis_e2e::lab::call::start_unit;
use visavis_e2e::listen;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{
    Appliance, ApplianceConfig, Chromedriver, Coturn, Error, Guest, Lab, LabConfig, LinkShape,
    Node, PageState, Rendezvous, RendezvousConfig, Result, Wire, timeouts, wav,
};

/// A click this often...
const PERIOD_MS: u32 = 1500;
/// ...this long.
const CLICK_MS: u32 = 30;
/// Sound is a sample at or above this (the click is at -6 dBFS; the room's processed
/// microphone and the echo's residue stay far below)...
const LOUD_DBFS: f64 = -30.0;
/// ...after this long without (the unit uses the same rule, `media::sound_starts`).
const QUIET_MS: f64 = 300.0;
/// How long the clicks are timed.
const LISTEN: Duration = Duration::from_secs(24);
/// Clicks the unit decodes before they are timed.
const SETTLE_CLICKS: usize = 4;
/// A click heard later than this after the unit decoded it is not that click.
const LATEST_MS: f64 = 1000.0;
/// Across the lab, Jo's link: this one way...
pub const LAB_DELAY_MS: f64 = 30.0;
/// ...give or take this.
const LAB_JITTER_MS: f64 = 2.0;

/// Where the guests are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Both on this machine's loopback, as the unit.
    Loopback,
    /// Jo behind NAT A on a [`LAB_DELAY_MS`] link, Camille on the lab's internet, the unit
    /// behind NAT B (needs root).
    Lab,
}

/// What one run measured (ms).
pub struct Report {
    place: Place,
    decoded: usize,
    period_ms: f64,
    to_speaker: Vec<f64>,
    to_guest: Vec<f64>,
    /// Jo's page's output latency.
    output_latency_ms: f64,
    /// How long Jo's browser held the audio in its jitter buffer, on average over the
    /// clicks' time.
    jitter_buffer_ms: f64,
    /// Voice packets that reached the unit after its mixes had run out of that voice.
    late_packets: u64,
    /// The same, for the unit's speaker.
    speaker_late_packets: u64,
    /// Both guests' voice packets as the unit decoded them over the call.
    voice_packets: VoicePackets,
}

impl Report {
    fn line(&self, f: &mut fmt::Formatter<'_>, what: &str, v: &[f64]) -> fmt::Result {
        let mut v = v.to_vec();
        if v.is_empty() {
            return writeln!(f, "  {what}: none of the {} clicks", self.decoded);
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
            self.decoded
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (place, leg) = match self.place {
            Place::Loopback => ("on loopback".to_string(), 0.0),
            Place::Lab => (
                format!(
                    "across the network lab (the listening guest behind NAT A, \
                     {LAB_DELAY_MS:.0} ± {LAB_JITTER_MS:.0} ms one way)"
                ),
                LAB_DELAY_MS,
            ),
        };
        writeln!(
            f,
            "mouth to ear at a table of two guests {place}, from the unit decoding a guest's \
             click (one every {PERIOD_MS} ms; decoded every {:.0} ms):",
            self.period_ms
        )?;
        self.line(f, "to the unit's speaker", &self.to_speaker)?;
        self.line(f, "to the other guest's page output", &self.to_guest)?;
        writeln!(
            f,
            "  of which that page's output latency {:.0} ms, its jitter buffer {:.0} ms on average",
            self.output_latency_ms, self.jitter_buffer_ms
        )?;
        writeln!(
            f,
            "  the unit's mixes ran out of a guest's voice {} times in the call, its speaker {} \
             times (a late packet; each adds 10 ms to that voice's cushion there)",
            self.late_packets, self.speaker_late_packets
        )?;
        let VoicePackets {
            decoded,
            concealed,
            late,
            ..
        } = self.voice_packets;
        writeln!(
            f,
            "  both voices' packets at the unit: {decoded} decoded, {concealed} lost and made up for, \
             {late} dropped as late"
        )?;
        let (mut s, mut g) = (self.to_speaker.clone(), self.to_guest.clone());
        if !s.is_empty() && !g.is_empty() {
            let (s, g) = (percentile(&mut s, 50.0), percentile(&mut g, 50.0));
            writeln!(
                f,
                "  medians, output latency off: to the other guest {:.0} ms against 1.2 x to the \
                 speaker + 20 ms = {:.0} ms (each ms before the unit's decoding, the same for \
                 both, allows 0.2 ms more)",
                g - self.output_latency_ms,
                1.2 * s + 20.0
            )?;
            if leg > 0.0 {
                writeln!(
                    f,
                    "  with the speaking guest's own {leg:.0} ms leg counted in both: guest to \
                     guest {:.0} ms against 1.2 x guest to unit + 20 ms = {:.0} ms",
                    leg + g - self.output_latency_ms,
                    1.2 * (leg + s) + 20.0
                )?;
            }
        }
        Ok(())
    }
}

/// For each time in `from`, how long until the first of `to` after it (within
/// [`LATEST_MS`]).
fn delays(from: &[f64], to: &[f64]) -> Vec<f64> {
    from.iter()
        .filter_map(|s| {
            to.iter()
                .map(|h| h - s)
                .find(|d| (0.0..LATEST_MS).contains(d))
        })
        .collect()
}

async fn join(
    driver: &Chromedriver,
    url: &str,
    name: &str,
    mic: &Path,
    place: Place,
) -> Result<Guest> {
    let mut args = match place {
        Place::Loopback => Vec::new(),
        Place::Lab => Lab::guest_chromium_args(),
    };
    args.push(format!(
        "--use-file-for-fake-audio-capture={}",
        mic.display()
    ));
    let guest = driver.new_guest_with_args(&args).await?;
    guest.record_peer_connections().await?;
    guest.open(url).await?;
    guest.join(name).await?;
    guest
        .wait_for_state(PageState::InCall, timeouts::step())
        .await?;
    Ok(guest)
}

/// Unix time in ms.
fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// The unit, its rendezvous and the guests' browsers, at `place`; declared so that they
/// drop in order (the browsers first, the lab last).
struct Table {
    camille_driver: Chromedriver,
    jo_driver: Option<Chromedriver>,
    unit: Appliance,
    _rendezvous: Rendezvous,
    _coturn: Option<Coturn>,
    _lab: Option<Lab>,
}

impl Table {
    fn start(place: Place) -> Result<Table> {
        let config = ApplianceConfig {
            mode: visavis_api::Mode::Table,
            auto_admit: true,
            audio_source: "simulated-room".into(),
            ..Default::default()
        };
        Ok(match place {
            Place::Loopback => {
                let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
                let unit = Appliance::start(&rendezvous, config)?;
                Table {
                    camille_driver: Chromedriver::start()?,
                    jo_driver: None,
                    unit,
                    _rendezvous: rendezvous,
                    _coturn: None,
                    _lab: None,
                }
            }
            Place::Lab => {
                let lab = Lab::start(LabConfig {
                    guest_link: LinkShape {
                        rate_kbit: None,
                        loss: 0.0,
                        wire: Some(Wire::delay(LAB_DELAY_MS, LAB_JITTER_MS)),
                    },
                    ..Default::default()
                })?;
                let (coturn, rendezvous, unit) = start_unit(&lab, config)?;
                Table {
                    camille_driver: Chromedriver::start_in(lab.ns(Node::Inet))?,
                    jo_driver: Some(Chromedriver::start_in(lab.ns(Node::Guest))?),
                    unit,
                    _rendezvous: rendezvous,
                    _coturn: Some(coturn),
                    _lab: Some(lab),
                }
            }
        })
    }

    fn jo_driver(&self) -> &Chromedriver {
        self.jo_driver.as_ref().unwrap_or(&self.camille_driver)
    }
}

pub async fn run(dir: &Path, place: Place) -> Result<Report> {
    let (clicks, quiet) = (dir.join("clicks.wav"), dir.join("silence.wav"));
    wav::clicks(&clicks, PERIOD_MS, CLICK_MS)?;
    wav::silence(&quiet)?;
    let mut table = Table::start(place)?;
    let url = table.unit.create_invite(timeouts::media())?;
    let camille = join(&table.camille_driver, &url, "Camille", &clicks, place).await?;
    let jo = join(table.jo_driver(), &url, "Jo", &quiet, place).await?;
    let unit = &table.unit;
    settle(unit).await?;
    listen::start_onsets(&jo, "remote", LOUD_DBFS, QUIET_MS).await?;
    let held0 = jo.audio_jitter_buffer().await?.unwrap_or_default();
    let start = now_ms();
    crate::pass(LISTEN).await?;
    // Only clicks decoded a full second before now count: the last may be on their way.
    let end = now_ms() - LATEST_MS;
    let heard = listen::onsets(&jo, "remote").await?;
    let held1 = jo.audio_jitter_buffer().await?.unwrap_or_default();
    let m = unit.metrics()?;
    camille.close().await?;
    jo.close().await?;
    let ms = |us: &Vec<u64>| us.iter().map(|us| *us as f64 / 1000.0).collect::<Vec<_>>();
    let decoded: Vec<f64> = ms(&m.voice_sound_starts_unix_us)
        .into_iter()
        .filter(|t| (start..=end).contains(t))
        .collect();
    if decoded.len() < 2 {
        return Err(Error::new(format!(
            "the unit decoded {} of Camille's clicks in {LISTEN:?}",
            decoded.len()
        )));
    }
    let mut gaps: Vec<f64> = decoded.windows(2).map(|w| w[1] - w[0]).collect();
    let emitted = held1.1.saturating_sub(held0.1).max(1) as f64;
    Ok(Report {
        place,
        decoded: decoded.len(),
        period_ms: percentile(&mut gaps, 50.0),
        to_speaker: delays(&decoded, &ms(&m.speaker_sound_starts_unix_us)),
        to_guest: delays(&decoded, &heard.onsets),
        output_latency_ms: heard.output_latency * 1000.0,
        jitter_buffer_ms: (held1.0 - held0.0) * 1000.0 / emitted,
        late_packets: m.group_voice_late_packets,
        speaker_late_packets: m.speaker_voice_late_packets,
        voice_packets: m.voice_packets,
    })
}

/// Until the unit mixes both guests' voices for each other and has decoded
/// [`SETTLE_CLICKS`] of Camille's.
async fn settle(unit: &Appliance) -> Result<()> {
    wait::until(
        "the unit to mix both guests and decode Camille's clicks",
        timeouts::media(),
        || async {
            let m = unit.metrics()?;
            let clicks = m.voice_sound_starts_unix_us.len();
            Ok(
                if m.own_mixes == 2 && m.group_voices == 2 && clicks >= SETTLE_CLICKS {
                    Check::Ready(())
                } else {
                    Check::NotYet(format!(
                        "{} mixes, {} voices, {clicks} clicks decoded",
                        m.own_mixes, m.group_voices
                    ))
                },
            )
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_click_is_paired_with_the_first_sound_after_it() {
        let decoded = [1000.0, 2500.0, 4000.0];
        // The second click was never heard; something before the first is not it.
        let heard = [900.0, 1180.0, 1400.0, 4150.0];
        assert_eq!(delays(&decoded, &heard), vec![180.0, 150.0]);
    }
}
