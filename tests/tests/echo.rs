//! A guest does not hear themself: a real headless Chromium guest speaks (Chromium's fake
//! microphone plays espeak-ng speech from a file, over and over) to a real applianced
//! whose room is simulated (`[audio] source = "simulated-room"`: the speaker's sound comes
//! back into the microphone through a room's echo path, and nobody at the table speaks).
//! Whatever the guest receives from the unit is their own voice's echo. Measured in the
//! guest's page with WebAudio on the received track (and on the track the guest sends, to
//! put it against), once with the unit's echo canceller on and once off: with it on, the
//! guest's voice must come back at least 20 dB weaker.
//!
//! Noise suppression is on and gain control off in both runs, so the difference is the
//! canceller's. Needs Debian's `espeak-ng` and Chromium.
//!
//! The simulated microphone hands over a frame every 10 ms of the pipeline's running time,
//! as a capture device does (`appliance/src/media/simroom/live.rs`). Seen here, received
//! with the canceller off at -31.2 to -31.7 dBFS, on at -65.3 to -75.4 dBFS (seven runs, two
//! of them beside two busy loops). The test also checks that the unit kept sending the guest
//! audio while it listened: a room whose pipeline stalled sends nothing, which would read as
//! no echo at all.

use std::path::Path;
use std::process::Command;
use visavis_e2e::listen;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{
    Appliance, ApplianceConfig, Chromedriver, Error, PageState, Rendezvous, RendezvousConfig,
    Result, ResultExt, timeouts,
};

/// How long each measurement listens, in seconds.
const LISTEN_SECS: u32 = 8;
/// Audio packets the unit must have had from the guest before listening (20 ms each): the
/// canceller has heard several seconds of the guest's voice by then.
const SETTLED_PACKETS: u64 = 750;

/// Speech for the guest's fake microphone: a WAV file from espeak-ng.
fn speech(dir: &Path) -> Result<std::path::PathBuf> {
    let wav = dir.join("guest.wav");
    let status = Command::new("espeak-ng")
        .args(["-v", "fr", "-s", "150", "-w"])
        .arg(&wav)
        .arg(
            "Bonsoir à tous, on vous entend très bien. Le dessert a l'air excellent, \
             vous avez choisi quoi? Je viendrai la prochaine fois.",
        )
        .status()
        .context("could not run espeak-ng (Debian package espeak-ng)")?;
    if !status.success() {
        return Err(Error::new("espeak-ng could not make the guest's speech"));
    }
    Ok(wav)
}

/// Audio packets the unit has sent its (only) guest.
fn audio_out(unit: &Appliance) -> Result<u64> {
    Ok(unit
        .metrics()?
        .guests
        .first()
        .map_or(0, |g| g.audio_out.packets))
}

/// The guest's received and sent audio (dBFS) with the unit's canceller on or off.
async fn levels(wav: &Path, echo_cancel: bool) -> Result<(f64, f64)> {
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let mut unit = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            auto_admit: true,
            audio_source: "simulated-room".into(),
            audio_extra: format!(
                "echo_cancel = {echo_cancel}\nnoise_suppression = true\ngain_control = false\n"
            ),
            ..Default::default()
        },
    )?;
    let url = unit.create_invite(timeouts::media())?;
    let driver = Chromedriver::start()?;
    let guest = driver
        .new_guest_with_args(&[format!(
            "--use-file-for-fake-audio-capture={}",
            wav.display()
        )])
        .await?;
    guest.open(&url).await?;
    guest.join("Camille").await?;
    guest
        .wait_for_state(PageState::InCall, timeouts::step())
        .await?;
    wait::until(
        "the unit to hear the guest for a while",
        timeouts::media(),
        || async {
            let m = unit.metrics()?;
            let packets = m.guests.first().map_or(0, |g| g.audio_in.packets);
            Ok(if packets >= SETTLED_PACKETS {
                Check::Ready(())
            } else {
                Check::NotYet(format!("{packets} audio packets from the guest"))
            })
        },
    )
    .await?;
    // The room's sound reached the guest all along: a measurement of a pipeline that stalled
    // would hear silence, which is no echo at all.
    let before = audio_out(&unit)?;
    let heard = listen::levels(&guest, &["remote", "local"], LISTEN_SECS, None).await?;
    let sent_packets = audio_out(&unit)? - before;
    if sent_packets < u64::from(LISTEN_SECS) * 25 {
        return Err(Error::new(format!(
            "the unit sent the guest only {sent_packets} audio packets in {LISTEN_SECS} s \
             (20 ms each): the room's audio did not run"
        )));
    }
    let (received, sent) = (heard[0], heard[1]);
    eprintln!(
        "canceller {}: the guest sent {sent:.1} dBFS and received {received:.1} dBFS",
        if echo_cancel { "on" } else { "off" },
    );
    guest.close().await?;
    Ok((received, sent))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_hears_their_own_voice_back_far_weaker_with_the_canceller() -> Result<()> {
    let dir = tempfile::tempdir().context("could not create a temporary folder")?;
    let wav = speech(dir.path())?;
    let (off, sent_off) = levels(&wav, false).await?;
    let (on, sent_on) = levels(&wav, true).await?;
    // Without the canceller the voice comes back loud (the room's echo is about 10 dB under
    // the speaker): the measurement hears it.
    assert!(
        off > sent_off - 25.0,
        "without the canceller the guest hears their voice back ({off:.1} dBFS, sent {sent_off:.1})"
    );
    assert!(
        (sent_on - sent_off).abs() < 3.0,
        "the guest spoke alike both times ({sent_off:.1} and {sent_on:.1} dBFS)"
    );
    assert!(
        off - on >= 20.0,
        "with the canceller the guest's voice comes back at least 20 dB weaker ({on:.1} vs {off:.1} dBFS)"
    );
    Ok(())
}
