//! A table's call, from the guest's camera to the table's screen: a real Chromium guest
//! (Chromium's fake camera and microphone) is let in; applianced decodes the guest's own
//! video and voice; the tile's frames arrive over shared memory through the kiosk's own
//! reader; the voice lights the speaking indicator; the volume changes, and a volume out of
//! range is refused with a message; when the guest leaves, the tile and its socket go.

use std::path::Path;
use visavis_api::local::client::ClientError;
use visavis_api::local::{ApiErrorCode, GuestState, Preview, Request, Response, Status};
use visavis_e2e::timeouts;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{
    Appliance, ApplianceConfig, Chromedriver, Error, PageState, Rendezvous, RendezvousConfig,
    Result,
};

fn status(unit: &Appliance) -> Result<Status> {
    match unit.client()?.call(Request::Status) {
        Ok(Response::Status(s)) => Ok(s),
        other => Err(Error::new(format!("status: {other:?}"))),
    }
}

/// How far apart the darkest and the brightest pixels of an RGBA frame are (0 to 255): a
/// picture, not a blank or a single colour.
fn contrast(rgba: &[u8]) -> u8 {
    let luma = rgba.chunks_exact(4).map(|p| {
        let (r, g, b) = (u32::from(p[0]), u32::from(p[1]), u32::from(p[2]));
        ((r * 3 + g * 6 + b) / 10) as u8
    });
    let (lo, hi) = luma.fold((255, 0), |(lo, hi), y| (lo.min(y), hi.max(y)));
    hi.saturating_sub(lo)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_sees_its_guest_in_a_tile_hears_them_and_sets_the_volume() -> Result<()> {
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let mut unit = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            mode: visavis_api::Mode::Table,
            ..Default::default()
        },
    )?;
    let url = unit.create_invite(timeouts::step())?;

    let driver = Chromedriver::start()?;
    let camille = driver.new_guest().await?;
    camille.open(&url).await?;
    camille.join("Camille").await?;
    camille
        .wait_for_state(PageState::Waiting, timeouts::step())
        .await?;
    let waiting = status(&unit)?;
    let guest = waiting
        .guests
        .first()
        .ok_or_else(|| Error::new(format!("nobody waiting: {waiting:?}")))?;
    assert_eq!(guest.tile, None, "no tile before admission: {guest:?}");
    let guest_id = guest.guest_id.clone();
    match unit.client()?.call(Request::Admit {
        guest_id: guest_id.clone(),
    }) {
        Ok(Response::Done) => {}
        other => return Err(Error::new(format!("admit: {other:?}"))),
    }
    camille
        .wait_for_state(PageState::InCall, timeouts::step())
        .await?;

    // The tile is announced once the guest's video arrives.
    let tile: Preview = wait::until(
        "Camille's tile to be announced",
        timeouts::step(),
        || async {
            let s = status(&unit)?;
            let tile = s
                .guests
                .iter()
                .find(|g| g.guest_id == guest_id && g.state == GuestState::InCall)
                .and_then(|g| g.tile.clone());
            Ok(match tile {
                Some(tile) => Check::Ready(tile),
                None => Check::NotYet(format!("{s:?}")),
            })
        },
    )
    .await?;
    assert_eq!((tile.width, tile.height), (480, 360));

    // Its frames, read as the kiosk reads them: moving pictures of the guest's camera.
    let feed = visavis_kiosk::preview::spawn(tile.clone(), || {});
    let first = wait::until(
        "tile frames over shared memory",
        timeouts::step(),
        || async {
            let latest = feed.frames.lock().unwrap_or_else(|p| p.into_inner());
            Ok(if latest.serial > 0 {
                Check::Ready((latest.serial, latest.rgba.clone()))
            } else {
                Check::NotYet("no frame yet".into())
            })
        },
    )
    .await?;
    assert_eq!(first.1.len(), 480 * 360 * 4);
    assert!(
        contrast(&first.1) > 60,
        "a picture, not a flat frame: contrast {}",
        contrast(&first.1)
    );
    wait::until("more tile frames", timeouts::step(), || async {
        let serial = feed.frames.lock().unwrap_or_else(|p| p.into_inner()).serial;
        Ok(if serial >= first.0 + 10 {
            Check::Ready(())
        } else {
            Check::NotYet(format!("frame {serial}"))
        })
    })
    .await?;

    // Chromium's fake microphone beeps: the tile's speaking indicator lights up.
    wait::until("Camille to be heard speaking", timeouts::step(), || async {
        let s = status(&unit)?;
        Ok(if s.guests.iter().any(|g| g.speaking) {
            Check::Ready(())
        } else {
            Check::NotYet(format!("{:?}", s.guests))
        })
    })
    .await?;

    // Volume: set, shown in the status; out of range refused, saying what is allowed.
    match unit.client()?.call(Request::SetVolume { percent: 30 }) {
        Ok(Response::Done) => {}
        other => return Err(Error::new(format!("set volume: {other:?}"))),
    }
    assert_eq!(status(&unit)?.volume, 30);
    match unit.client()?.call(Request::SetVolume { percent: 150 }) {
        Err(ClientError::Api(e)) => {
            assert_eq!(e.code, ApiErrorCode::BadRequest);
            assert!(e.message.contains("0 to 100"), "{}", e.message);
        }
        other => return Err(Error::new(format!("volume 150 was not refused: {other:?}"))),
    }
    assert_eq!(
        status(&unit)?.volume,
        30,
        "a refused volume changes nothing"
    );

    // The guest leaves: the tile goes from the status and its socket from the disk.
    camille.leave().await?;
    wait::until("Camille's tile to go", timeouts::step(), || async {
        let s = status(&unit)?;
        let socket_left = Path::new(&tile.socket).exists();
        Ok(if s.guests.is_empty() && !socket_left {
            Check::Ready(())
        } else {
            Check::NotYet(format!("socket still there: {socket_left}; {s:?}"))
        })
    })
    .await?;
    drop(feed);
    camille.close().await?;
    Ok(())
}
