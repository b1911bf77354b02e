//! A real call: rendezvous + applianced (test sources) + two headless Chromium guests.
//!
//! One scenario, because every Chromium costs a core's worth of start-up on this machine:
//! both guests keep decoding the unit's video (frames flow, at ≥ 640x360); the unit
//! receives both guests' video and audio; a reaction reaches the unit; one video encoder
//! and one Opus encoder served both; killing one guest leaves the other's call running;
//! killing the unit's daemon tells the other the room went offline, then ends her call.
//! How fast frames flow is not judged here: `cargo xtask bench` reports the delivered frame
//! rate and latency on the machine it runs on.

use std::time::Instant;
use visavis_api::local::Event;
use visavis_e2e::timeouts;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{
    Appliance, ApplianceConfig, Chromedriver, Error, Guest, PageState, Reaction, Rendezvous,
    RendezvousConfig, Result,
};

/// How many more frames a guest must decode to show its video keeps flowing.
const FLOWING: u64 = 100;

/// Wait until `guest` has decoded [`FLOWING`] more frames than now; the size it decodes.
async fn frames_flow(name: &str, guest: &Guest) -> Result<(u64, u64)> {
    let start = guest.stats().await?.frames_decoded;
    let end = guest
        .wait_decoded(
            start + FLOWING,
            &format!("{name} to decode {FLOWING} more frames"),
            timeouts::media(),
        )
        .await?;
    Ok((end.frame_width, end.frame_height))
}

async fn join(driver: &Chromedriver, url: &str, name: &str) -> Result<Guest> {
    let guest = driver.new_guest().await?;
    guest.open(url).await?;
    guest.join(name).await?;
    guest
        .wait_for_state(PageState::InCall, timeouts::step())
        .await?;
    // In call means media is flowing: wait for the first decoded frames.
    guest
        .wait_decoded(11, &format!("{name} decodes video"), timeouts::media())
        .await?;
    Ok(guest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_guests_share_one_encoder_and_survive_each_other() -> Result<()> {
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let mut unit = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            width: 640,
            height: 360,
            auto_admit: true,
            ..Default::default()
        },
    )?;
    let url = unit.create_invite(timeouts::media())?;
    let mut events = unit.client()?;
    let driver = Chromedriver::start()?;
    let camille = join(&driver, &url, "Camille").await?;
    let lea = join(&driver, &url, "Léa").await?;

    for (name, guest) in [("Camille", &camille), ("Léa", &lea)] {
        let (w, h) = frames_flow(name, guest).await?;
        assert!(w >= 640 && h >= 360, "{name} decoded {w}x{h}");
    }

    // Each page asks its camera for no more than the unit shows (Chromium's fake camera
    // gives what it is asked for).
    for (name, guest) in [("Camille", &camille), ("Léa", &lea)] {
        let size = guest
            .eval(
                "const s = window.visavisGuest.cameraSender(); \
                 const v = s && s.track ? s.track.getSettings() : {}; return [v.width, v.height];",
            )
            .await?;
        let (w, h) = visavis_api::datachannel::CAMERA_SIZE;
        assert_eq!(size, serde_json::json!([w, h]), "{name}'s camera");
    }

    // A fitting room does not forward guests' pictures to each other: once welcomed, the
    // pages stop sending their camera's small layer, nobody's to get.
    for (name, guest) in [("Camille", &camille), ("Léa", &lea)] {
        guest.wait_for_layers(name, "l:false,h:true").await?;
    }

    // The unit receives both guests' video and audio.
    wait::until(
        "the unit receives both guests' media",
        timeouts::media(),
        || async {
            let m = unit.metrics()?;
            let all_in = m.guests.len() == 2
                && m.guests
                    .iter()
                    .all(|g| g.video_in.frames > 30 && g.audio_in.packets > 50);
            Ok(if all_in {
                Check::Ready(())
            } else {
                Check::NotYet(format!("{:?}", m.guests))
            })
        },
    )
    .await?;
    // Chromium's transport-wide congestion control feedback reaches each guest's bandwidth
    // estimator (TWCC negotiated and working), and the metrics say which layer each gets.
    let m = wait::until(
        "both guests have a bandwidth estimate",
        timeouts::media(),
        || async {
            let m = unit.metrics()?;
            Ok(if m.guests.iter().all(|g| g.estimate_bps > 0) {
                Check::Ready(m)
            } else {
                Check::NotYet(format!("{:?}", m.guests))
            })
        },
    )
    .await?;
    for g in &m.guests {
        eprintln!(
            "{}: estimate {} bit/s, layer {:?}",
            g.name, g.estimate_bps, g.layer
        );
    }
    eprintln!("layers: {:?}", m.layers);
    assert_eq!(m.layers.len(), 2, "{m:?}");
    assert!(
        m.layers[0].active && m.layers[0].target_bitrate_bps > 0,
        "{m:?}"
    );
    // One encoder of each kind, serving both: the only other video encoder is the small
    // layer's, started if a guest's path (on a loaded machine, its CPU) fell behind.
    let small_used = u64::from(m.layers[1].frames_encoded > 0);
    assert_eq!(m.video_encoders_started, 1 + small_used, "{m:?}");
    assert_eq!(m.audio_encoders_started, 1, "{m:?}");
    assert!(
        m.guests
            .iter()
            .all(|g| g.video_out.frames > 0 && g.audio_out.frames > 0),
        "{m:?}"
    );
    assert!(m.guests.iter().all(|g| g.video_out.packets > 0), "{m:?}");
    // The room's microphone came out of the processing and its mix went to the speaker.
    assert!(
        m.room_mic_buffers > 0 && m.room_speaker_buffers > 0,
        "{m:?}"
    );
    // What the unit sends in all is measured, and planned under its uplink (the default
    // 10 Mbit/s: two guests at most 2.5 Mbit/s of video each fit).
    let m = wait::until(
        "the unit's send rate is measured",
        timeouts::media(),
        || async {
            let m = unit.metrics()?;
            Ok(if m.send_bps > 0 && m.planned_send_bps > 0 {
                Check::Ready(m)
            } else {
                Check::NotYet(format!(
                    "send {} planned {}",
                    m.send_bps, m.planned_send_bps
                ))
            })
        },
    )
    .await?;
    eprintln!(
        "unit sends {} bit/s, plans {} bit/s",
        m.send_bps, m.planned_send_bps
    );
    assert!(m.planned_send_bps <= 10_000_000, "{m:?}");

    // A reaction reaches the unit, from the guest who sent it.
    camille.react(Reaction::Heart).await?;
    let camille_id = m
        .guests
        .iter()
        .find(|g| g.name == "Camille")
        .map(|g| g.guest_id.clone());
    let timeout = timeouts::answer();
    let deadline = Instant::now() + timeout;
    loop {
        match events.next_event() {
            Ok(Event::Reaction { guest_id, reaction }) => {
                assert_eq!(reaction, Reaction::Heart);
                assert_eq!(Some(guest_id), camille_id);
                break;
            }
            Ok(_) => {}
            Err(e) => return Err(Error::new(format!("waiting for the reaction event: {e}"))),
        }
        assert!(
            Instant::now() < deadline,
            "no reaction event within {timeout:?}"
        );
    }

    // Killing one guest's browser leaves the other in the call.
    camille.close().await?;
    wait::until("the unit drops Camille", timeouts::guest_gone(), || async {
        let m = unit.metrics()?;
        Ok(if m.guests.len() == 1 && m.guests[0].name == "Léa" {
            Check::Ready(())
        } else {
            Check::NotYet(format!(
                "{:?}",
                m.guests.iter().map(|g| &g.name).collect::<Vec<_>>()
            ))
        })
    })
    .await?;
    // Léa's video keeps flowing after Camille left.
    frames_flow("Léa", &lea).await?;
    let m = unit.metrics()?;
    assert_eq!(m.video_encoders_started, 1, "still one encoder: {m:?}");

    // The unit's daemon dies mid-call: Léa is told the room went offline at once (not
    // "reconnecting"), and once her media is down too, the call ends for her.
    unit.process().kill();
    let told = Instant::now();
    lea.call_status_until(
        "to tell Léa the room went offline",
        timeouts::answer(),
        |status| status.contains("offline"),
    )
    .await?;
    eprintln!(
        "call: Léa was told the room went offline {:.1} s after the kill",
        told.elapsed().as_secs_f64()
    );
    lea.wait_for_state(PageState::Error, timeouts::guest_gone())
        .await?;
    lea.close().await
}
