//! A real call: rendezvous + applianced (test sources) + two headless Chromium guests.
//!
//! One scenario, because every Chromium costs a core's worth of start-up on this machine:
//! both guests decode the unit's video at ≥ 25 fps and ≥ 640x360 for 5 s; the unit
//! receives both guests' video and audio; a reaction reaches the unit; one video encoder
//! and one Opus encoder served both; killing one guest leaves the other's call running.

use std::time::{Duration, Instant};
use visavis_api::local::{Event, MetricsSnapshot, Request, Response};
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{
    Appliance, ApplianceConfig, Chromedriver, Error, Guest, PageState, Reaction, Rendezvous,
    RendezvousConfig, Result,
};

const WINDOW: Duration = Duration::from_secs(5);

fn metrics(unit: &Appliance) -> Result<MetricsSnapshot> {
    match unit.client()?.call(Request::Metrics) {
        Ok(Response::Metrics(m)) => Ok(m),
        other => Err(Error::new(format!("metrics: {other:?}"))),
    }
}

/// Frames decoded by `guest` over [`WINDOW`], as frames per second, and the size seen.
async fn decode_rate(guest: &Guest) -> Result<(f64, u64, u64)> {
    let start = guest.stats().await?;
    let t0 = Instant::now();
    // Measuring a rate needs a window of wall time; nothing else waits on this.
    let end = wait::until("the measurement window", WINDOW * 2, || async {
        Ok(if t0.elapsed() >= WINDOW {
            Check::Ready(guest.stats().await?)
        } else {
            Check::NotYet(format!("{:?} elapsed", t0.elapsed()))
        })
    })
    .await?;
    let fps = (end.frames_decoded - start.frames_decoded) as f64 / t0.elapsed().as_secs_f64();
    Ok((fps, end.frame_width, end.frame_height))
}

async fn join(driver: &Chromedriver, url: &str, name: &str) -> Result<Guest> {
    let guest = driver.new_guest().await?;
    guest.open(url).await?;
    guest.join(name).await?;
    guest
        .wait_for_state(PageState::InCall, Duration::from_secs(30))
        .await?;
    // In call means media is flowing: wait for the first decoded frames.
    wait::until(
        &format!("{name} decodes video"),
        Duration::from_secs(20),
        || async {
            let s = guest.stats().await?;
            Ok(if s.frames_decoded > 10 {
                Check::Ready(())
            } else {
                Check::NotYet(format!("{s:?}"))
            })
        },
    )
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
    let url = unit.create_invite(Duration::from_secs(20))?;
    let mut events = unit.client()?;
    let driver = Chromedriver::start()?;
    let camille = join(&driver, &url, "Camille").await?;
    let lea = join(&driver, &url, "Léa").await?;

    for (name, guest) in [("Camille", &camille), ("Léa", &lea)] {
        let (fps, w, h) = decode_rate(guest).await?;
        assert!(fps >= 25.0, "{name} decoded {fps:.1} fps over {WINDOW:?}");
        assert!(w >= 640 && h >= 360, "{name} decoded {w}x{h}");
    }

    // The unit receives both guests' video and audio.
    let m = wait::until(
        "the unit receives both guests' media",
        Duration::from_secs(20),
        || async {
            let m = metrics(&unit)?;
            let all_in = m.guests.len() == 2
                && m.guests
                    .iter()
                    .all(|g| g.video_in.frames > 30 && g.audio_in.packets > 50);
            Ok(if all_in {
                Check::Ready(m)
            } else {
                Check::NotYet(format!("{:?}", m.guests))
            })
        },
    )
    .await?;
    // One encoder of each kind, serving both.
    assert_eq!(m.video_encoders_started, 1, "{m:?}");
    assert_eq!(m.audio_encoders_started, 1, "{m:?}");
    assert!(
        m.guests
            .iter()
            .all(|g| g.video_out.frames > 0 && g.audio_out.frames > 0),
        "{m:?}"
    );
    assert!(m.guests.iter().all(|g| g.video_out.packets > 0), "{m:?}");

    // A reaction reaches the unit, from the guest who sent it.
    camille.react(Reaction::Heart).await?;
    let camille_id = m
        .guests
        .iter()
        .find(|g| g.name == "Camille")
        .map(|g| g.guest_id.clone());
    let deadline = Instant::now() + Duration::from_secs(10);
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
        assert!(Instant::now() < deadline, "no reaction event within 10 s");
    }

    // Killing one guest's browser leaves the other in the call.
    camille.close().await?;
    wait::until(
        "the unit drops Camille",
        Duration::from_secs(45),
        || async {
            let m = metrics(&unit)?;
            Ok(if m.guests.len() == 1 && m.guests[0].name == "Léa" {
                Check::Ready(())
            } else {
                Check::NotYet(format!(
                    "{:?}",
                    m.guests.iter().map(|g| &g.name).collect::<Vec<_>>()
                ))
            })
        },
    )
    .await?;
    let (fps, _, _) = decode_rate(&lea).await?;
    assert!(fps >= 25.0, "Léa decoded {fps:.1} fps after Camille left");
    let m = metrics(&unit)?;
    assert_eq!(m.video_encoders_started, 1, "still one encoder: {m:?}");
    lea.close().await
}
