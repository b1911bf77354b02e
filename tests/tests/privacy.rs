//! The hardware privacy switch, end to end: a real guest in headless Chromium watches the
//! unit, and the (simulated) switch is flipped through the local API, as the board would.
//!
//! Switching it on must stop video within 100 ms, measured by applianced from the board
//! event to the last video frame sent to any guest, and nothing more may follow. Audio
//! goes on here because the config says so. Switching it off brings video back, from a
//! keyframe the unit asks for.

use visavis_api::local::{BoardInput, Event, MetricsSnapshot, Request, Response};
use visavis_e2e::timeouts;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{
    Appliance, ApplianceConfig, Chromedriver, Error, Guest, PageState, Rendezvous,
    RendezvousConfig, Result,
};

/// The bound, from the board event to the last frame sent.
const PRIVACY_STOP_US: u64 = 100_000;

fn flip(unit: &Appliance, on: bool) -> Result<()> {
    match unit.client()?.call(Request::SimulateBoard {
        input: BoardInput::PrivacySwitch { on },
    }) {
        Ok(Response::Done) => Ok(()),
        other => Err(Error::new(format!("simulate_board: {other:?}"))),
    }
}

/// Video and audio frames sent to the one guest so far.
fn sent(m: &MetricsSnapshot) -> (u64, u64) {
    m.guests
        .first()
        .map_or((0, 0), |g| (g.video_out.frames, g.audio_out.frames))
}

async fn decoded(guest: &Guest) -> Result<u64> {
    Ok(guest.stats().await?.frames_decoded)
}

/// Wait until `more` audio packets went out after `from`: time passing, measured by the
/// unit's own 20 ms packets rather than by a sleep.
fn audio_moves_on(unit: &Appliance, from: u64, more: u64) -> Result<MetricsSnapshot> {
    wait::until_blocking("audio to keep flowing", timeouts::media(), || {
        let m = unit.metrics()?;
        Ok(if sent(&m).1 >= from + more {
            Check::Ready(m)
        } else {
            Check::NotYet(format!("audio frames {}", sent(&m).1))
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_privacy_switch_stops_video_within_100_ms_and_resumes_from_a_keyframe() -> Result<()> {
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let mut unit = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            width: 640,
            height: 360,
            auto_admit: true,
            extra_toml: "[privacy]\naudio_continues = true\n".into(),
            ..Default::default()
        },
    )?;
    let url = unit.create_invite(timeouts::media())?;
    let mut events = unit.client()?;
    let driver = Chromedriver::start()?;
    let guest = driver.new_guest().await?;
    guest.open(&url).await?;
    guest.join("Camille").await?;
    guest
        .wait_for_state(PageState::InCall, timeouts::step())
        .await?;
    wait::until("the guest decodes video", timeouts::media(), || async {
        let n = decoded(&guest).await?;
        Ok(if n > 10 {
            Check::Ready(())
        } else {
            Check::NotYet(format!("{n} frames"))
        })
    })
    .await?;

    // On.
    flip(&unit, true)?;
    let on = wait::until_blocking("the privacy event", timeouts::answer(), || {
        Ok(match events.next_event() {
            Ok(Event::Privacy { on }) => Check::Ready(on),
            Ok(other) => Check::NotYet(format!("{other:?}")),
            Err(e) => return Err(Error::new(format!("events: {e}"))),
        })
    })?;
    assert!(on);
    assert!(unit.status()?.privacy, "the status shows the switch");
    // A second of audio later, video must have stopped long ago.
    let settled = audio_moves_on(&unit, sent(&unit.metrics()?).1, 50)?;
    let later = audio_moves_on(&unit, sent(&settled).1, 50)?;
    assert_eq!(
        sent(&later).0,
        sent(&settled).0,
        "no video frame may go out while the switch is on"
    );
    assert!(later.privacy);
    let stop_us = settled
        .video_last_sent_unix_us
        .saturating_sub(settled.privacy_switched_unix_us);
    println!(
        "privacy: last video frame sent {} µs after the switch event (negative: before it)",
        settled.video_last_sent_unix_us as i64 - settled.privacy_switched_unix_us as i64
    );
    assert!(
        stop_us <= PRIVACY_STOP_US,
        "video stopped {stop_us} µs after the switch, over {PRIVACY_STOP_US} µs"
    );
    let frozen = decoded(&guest).await?;

    // Off: video comes back, from a keyframe the unit asked for.
    let keyframes_before = later.keyframes_requested;
    flip(&unit, false)?;
    wait::until("video to come back", timeouts::media(), || async {
        let n = decoded(&guest).await?;
        Ok(if n > frozen + 30 {
            Check::Ready(())
        } else {
            Check::NotYet(format!("{n} frames decoded, {frozen} when frozen"))
        })
    })
    .await?;
    let after = unit.metrics()?;
    assert!(!after.privacy);
    assert!(
        after.keyframes_requested > keyframes_before,
        "a keyframe was asked for"
    );
    assert!(!unit.status()?.privacy);
    guest.close().await
}
