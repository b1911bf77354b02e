//! A table's call, from the guest's camera to the table's screen: a real Chromium guest
//! (Chromium's fake camera and microphone) is let in; applianced decodes the guest's own
//! video and voice; the tile's frames arrive over shared memory through the kiosk's own
//! reader; the voice lights the speaking indicator; the volume changes, and a volume out of
//! range is refused with a message; when the guest leaves, the tile and its socket go.
//! The guest's camera comes as simulcast: when the page stops sending its full layer (as a
//! browser does on a thin uplink) the tile goes on, from the small layer.

use std::path::Path;
use visavis_api::local::client::ClientError;
use visavis_api::local::{ApiErrorCode, GuestState, Preview, Request, Response, VideoLayer};
use visavis_e2e::timeouts;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{
    Appliance, ApplianceConfig, Chromedriver, Error, PageState, Rendezvous, RendezvousConfig,
    Result,
};

/// Camille's tile now, and a reader of it: the kiosk reads a new tile when the unit
/// announces one (a new layer of the guest's camera gets a decoder of its own).
struct TileReader {
    tile: Preview,
    feed: visavis_kiosk::preview::Feed,
}

impl TileReader {
    fn new(tile: Preview) -> Self {
        let feed = visavis_kiosk::preview::spawn(tile.clone(), || {});
        TileReader { tile, feed }
    }

    fn serial(&self) -> u64 {
        self.feed
            .frames
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .serial
    }
}

/// Wait until `frames` more tile frames of `guest_id` arrived, following the tile the unit
/// announces; the reader of the last tile.
async fn more_frames(
    unit: &Appliance,
    guest_id: &str,
    reader: TileReader,
    frames: u64,
) -> Result<TileReader> {
    // The reader, the serial counting started from on it, and frames counted on the
    // readers before it.
    let base = reader.serial();
    let state = std::sync::Mutex::new((reader, base, 0u64));
    wait::until(
        &format!("{frames} more tile frames"),
        timeouts::step(),
        || async {
            let now = unit
                .status()?
                .guests
                .iter()
                .find(|g| g.guest_id == guest_id)
                .and_then(|g| g.tile.clone());
            let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
            let (reader, base, done) = &mut *state;
            if let Some(tile) = now
                && tile.socket != reader.tile.socket
            {
                *done += reader.serial().saturating_sub(*base);
                *reader = TileReader::new(tile);
                *base = 0;
            }
            let got = *done + reader.serial().saturating_sub(*base);
            Ok(if got >= frames {
                Check::Ready(())
            } else {
                Check::NotYet(format!("{got} frames from {}", reader.tile.socket))
            })
        },
    )
    .await?;
    Ok(state.into_inner().unwrap_or_else(|p| p.into_inner()).0)
}

/// The tile of `guest_id` now.
fn tile_of(unit: &Appliance, guest_id: &str) -> Result<Option<Preview>> {
    Ok(unit
        .status()?
        .guests
        .iter()
        .find(|g| g.guest_id == guest_id)
        .and_then(|g| g.tile.clone()))
}

/// Wait until the unit decodes `layer` of `guest_id`'s camera.
async fn camera_layer(unit: &Appliance, guest_id: &str, layer: VideoLayer) -> Result<()> {
    wait::until(
        &format!("the unit to decode the {layer:?} layer of the guest's camera"),
        timeouts::step(),
        || async {
            let m = unit.metrics()?;
            let now = m
                .guests
                .iter()
                .find(|g| g.guest_id == guest_id)
                .map(|g| g.camera_layer);
            Ok(if now == Some(layer) {
                Check::Ready(())
            } else {
                Check::NotYet(format!("{now:?}"))
            })
        },
    )
    .await
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
    let waiting = unit.status()?;
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
            let s = unit.status()?;
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
    let reader = more_frames(&unit, &guest_id, TileReader::new(tile), 1).await?;
    let first = reader
        .feed
        .frames
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .rgba
        .clone();
    assert_eq!(first.len(), 480 * 360 * 4);
    assert!(
        contrast(&first) > 60,
        "a picture, not a flat frame: contrast {}",
        contrast(&first)
    );
    let reader = more_frames(&unit, &guest_id, reader, 10).await?;

    // The page stops sending its camera's full layer, as a browser does when its uplink
    // shrinks: the unit decodes the small one, and the tile goes on.
    camera_layer(&unit, &guest_id, VideoLayer::Main).await?;
    let full_socket = tile_of(&unit, &guest_id)?.map(|t| t.socket);
    let stopped = camille
        .eval(
            "const s = window.visavisGuest.cameraSender(); if (!s) return 'no camera sender'; \
             const p = s.getParameters(); \
             p.encodings.forEach((e) => { if (e.rid === 'h') e.active = false; }); \
             return s.setParameters(p).then(() => p.encodings.map((e) => e.rid + ':' + e.active).join(','));",
        )
        .await?;
    assert_eq!(stopped.as_str(), Some("l:true,h:false"), "{stopped}");
    camera_layer(&unit, &guest_id, VideoLayer::Small).await?;
    // The small layer has a decoder, and a tile, of its own (from its first keyframe).
    wait::until("a tile of the small layer", timeouts::step(), || async {
        let now = tile_of(&unit, &guest_id)?.map(|t| t.socket);
        Ok(if now.is_some() && now != full_socket {
            Check::Ready(())
        } else {
            Check::NotYet(format!("{now:?}"))
        })
    })
    .await?;
    let small = more_frames(&unit, &guest_id, reader, 10).await?;
    let TileReader { tile, feed } = small;

    // Chromium's fake microphone beeps: the tile's speaking indicator lights up.
    wait::until("Camille to be heard speaking", timeouts::step(), || async {
        let s = unit.status()?;
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
    assert_eq!(unit.status()?.volume, 30);
    match unit.client()?.call(Request::SetVolume { percent: 150 }) {
        Err(ClientError::Api(e)) => {
            assert_eq!(e.code, ApiErrorCode::BadRequest);
            assert!(e.message.contains("0 to 100"), "{}", e.message);
        }
        other => return Err(Error::new(format!("volume 150 was not refused: {other:?}"))),
    }
    assert_eq!(
        unit.status()?.volume,
        30,
        "a refused volume changes nothing"
    );

    // The guest leaves: the tile goes from the status and its socket from the disk.
    camille.leave().await?;
    wait::until("Camille's tile to go", timeouts::step(), || async {
        let s = unit.status()?;
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
