//! Guests see each other through the unit: three real Chromium guests at a table, each
//! sending its camera (Chromium's fake camera) as simulcast. Each page shows the two
//! others, never itself, with their names, and decodes their pictures: the small layer,
//! forwarded by the unit as RTP, not the full one. Léo knocks and is left waiting: nobody
//! sees him and he sees nobody. Then Camille leaves: her tile goes from the others' pages
//! and the unit forwards her picture no more. The unit is set to show small tiles from
//! three guests on (`[video] small_tiles_from`): with three, it decodes each guest's small
//! layer for their tile and the pages pause their full layers; once Camille left, the
//! pages send their full layers again and the unit decodes them. Then the kiosk's word
//! decides (`screen_tiles`, as a kiosk says how wide it draws the guests' pictures): 264
//! pixels, the small layers with two guests; 552, the full ones.
//!
//! Needs Chromium.

use visavis_api::local::{MetricsSnapshot, Request, Response, VideoLayer};
use visavis_e2e::guest_screen::screens_dir;
use visavis_e2e::table::Table;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{Appliance, ApplianceConfig, Error, PageState, Result, ResultExt, timeouts};

/// Frames a page must decode of each other guest.
const FRAMES: u64 = 30;

/// Wait until the unit decodes `layer` of `count` guests' cameras for their tiles, with
/// [`FRAMES`] more frames of each, and their tiles are the layer's size: the small layer's
/// own 320x240 (not scaled up), the full layer's 480x360.
async fn tiles_show(unit: &Appliance, layer: VideoLayer, count: usize) -> Result<()> {
    decoded(unit, layer, count).await?;
    let size = match layer {
        VideoLayer::Small => (320, 240),
        _ => (480, 360),
    };
    wait::until(
        &format!("{count} guests' tiles of {size:?}"),
        timeouts::media(),
        || async {
            let tiles: Vec<_> = unit
                .status()?
                .guests
                .iter()
                .filter_map(|g| g.tile.as_ref().map(|t| (t.width, t.height)))
                .collect();
            Ok(
                if tiles.len() == count && tiles.iter().all(|t| *t == size) {
                    Check::Ready(())
                } else {
                    Check::NotYet(format!("{tiles:?}"))
                },
            )
        },
    )
    .await
}

/// Wait until the unit decodes `layer` of `count` guests' cameras, with [`FRAMES`] more
/// frames of each.
async fn decoded(unit: &Appliance, layer: VideoLayer, count: usize) -> Result<()> {
    let start = unit.metrics()?;
    wait::until(
        &format!(
            "the unit to show the {} layer of {count} guests",
            layer.as_str()
        ),
        timeouts::media(),
        || async {
            let m = unit.metrics()?;
            let moving = |g: &visavis_api::local::GuestMetrics| {
                let before = start
                    .guests
                    .iter()
                    .find(|b| b.guest_id == g.guest_id)
                    .map_or(0, |b| b.video_in.frames);
                g.video_in.frames >= before + FRAMES
            };
            let on = m
                .guests
                .iter()
                .filter(|g| g.camera_layer == layer && moving(g))
                .count();
            Ok(if on == count {
                Check::Ready(())
            } else {
                let layers: Vec<_> = m
                    .guests
                    .iter()
                    .map(|g| (g.name.clone(), g.camera_layer, g.video_in.frames))
                    .collect();
                Check::NotYet(format!("{layers:?}"))
            })
        },
    )
    .await
}

/// Wait until the unit forwards `streams` pictures in all.
async fn forwarding(unit: &Appliance, streams: u64) -> Result<MetricsSnapshot> {
    wait::until(
        &format!("the unit to forward {streams} pictures"),
        timeouts::media(),
        || async {
            let m = unit.metrics()?;
            Ok(if m.forwarded_streams == streams {
                Check::Ready(m)
            } else {
                Check::NotYet(format!("{} pictures", m.forwarded_streams))
            })
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_see_each_other_and_never_themselves() -> Result<()> {
    let names = ["Camille", "Jo", "Ana"];
    let mut table = Table::start(
        ApplianceConfig {
            video_extra: "small_tiles_from = 3\n".into(),
            ..Default::default()
        },
        &names.map(|n| (n, Vec::new())),
    )
    .await?;
    let guests = std::mem::take(&mut table.guests);
    let (unit, url, driver) = (&table.unit, &table.url, &table.driver);
    // Léo knocks, camera on, and nobody lets him in.
    let leo = driver.new_guest().await?;
    leo.open(url).await?;
    leo.join("Léo").await?;
    leo.wait_for_state(PageState::Waiting, timeouts::step())
        .await?;

    for (guest, name) in guests.iter().zip(names) {
        let others: Vec<&str> = names.iter().copied().filter(|n| *n != name).collect();
        let shown = guest.wait_to_see(name, &others, FRAMES).await?;
        for o in &shown {
            eprintln!(
                "{name} sees {}: {} frames, {}x{}, {:.0} fps",
                o.name, o.frames_decoded, o.frame_width, o.frame_height, o.frames_per_second
            );
            // The small layer is half the camera's size each way: 320 wide from 640x480, and
            // less when Chromium lowers the camera's resolution on a busy machine.
            assert!(
                o.frame_width > 0 && o.frame_width <= 320,
                "{name} gets {}'s small layer: {o:?}",
                o.name
            );
        }
        // Their own picture of the room still comes, at its own size.
        let room = guest.stats().await?;
        assert!(
            room.frames_decoded > 0,
            "{name} still sees the room: {room:?}"
        );
    }
    // On a small phone the others' column is in reach, nothing cut; the screenshot goes to
    // docs/screens for the guest page's docs.
    let jo = &guests[1];
    jo.resize(360, 740).await?;
    let outside = jo.outside_viewport().await?;
    assert!(outside.is_empty(), "Jo's page at 360x740: {outside:?}");
    let tiles = jo
        .eval("return [...document.querySelectorAll('#others figcaption')].map((c) => c.textContent).sort();")
        .await?;
    assert_eq!(
        tiles,
        serde_json::json!(["Ana", "Camille"]),
        "Jo's tiles (talking guests move to the top: names only)"
    );
    let png = jo.screenshot().await?;
    std::fs::write(screens_dir().join("guest-group.en.360x740.png"), png)
        .context("could not save the group call's screenshot")?;

    // Three guests: their tiles show the small layers (forwarded to the others anyway),
    // and the pages pause their full layers.
    tiles_show(unit, VideoLayer::Small, 3).await?;
    for (guest, name) in guests.iter().zip(names) {
        guest.wait_for_layers(name, "l:true,h:false").await?;
    }

    let m = forwarding(unit, 6).await?;
    assert!(m.forwarded_packets > 0, "{m:?}");
    eprintln!(
        "forwarded: {} packets, {} keyframes asked",
        m.forwarded_packets, m.forward_keyframe_requests
    );

    // Léo waits: nothing of his reached anyone (checked above: nobody shows him) and
    // nothing reaches him.
    assert_eq!(
        leo.state().await?.as_deref(),
        Some(PageState::Waiting.as_str()),
        "Léo is still waiting"
    );
    assert!(leo.others().await?.is_empty(), "Léo sees nobody");
    leo.close().await?;

    // Camille leaves: her tile goes from Jo's and Ana's pages.
    let mut guests = guests.into_iter();
    let camille = guests.next().ok_or_else(|| Error::new("no Camille"))?;
    camille.leave().await?;
    let (jo, ana) = (
        guests.next().ok_or_else(|| Error::new("no Jo"))?,
        guests.next().ok_or_else(|| Error::new("no Ana"))?,
    );
    forwarding(unit, 2).await?;
    // Two guests: the pages send their full layers again, and the tiles show them.
    jo.wait_for_layers("Jo", "l:true,h:true").await?;
    ana.wait_for_layers("Ana", "l:true,h:true").await?;
    tiles_show(unit, VideoLayer::Main, 2).await?;
    let jo_sees = jo.wait_to_see("Jo", &["Ana"], FRAMES).await?;
    let ana_sees = ana.wait_to_see("Ana", &["Jo"], FRAMES).await?;
    // The tiles left grow on: the pictures still flow after Camille went.
    let before = jo_sees[0].frames_decoded;
    wait::until("Jo to keep seeing Ana", timeouts::media(), || async {
        let now = jo.others().await?;
        let frames = now.first().map_or(0, |o| o.frames_decoded);
        Ok(if frames >= before + FRAMES {
            Check::Ready(())
        } else {
            Check::NotYet(format!("{now:?}"))
        })
    })
    .await
    .context(format!(
        "Ana's picture at Jo's after Camille left ({ana_sees:?})"
    ))?;

    // The kiosk says it draws the guests' pictures 264 pixels wide (as with three guests
    // on a 1280x800 panel): small tiles with two guests; then 552 (one guest there): the
    // full layers again.
    for (width, layers, layer) in [
        (264, "l:true,h:false", VideoLayer::Small),
        (552, "l:true,h:true", VideoLayer::Main),
    ] {
        match unit.client()?.call(Request::ScreenTiles { width }) {
            Ok(Response::Done) => {}
            other => return Err(Error::new(format!("screen tiles {width}: {other:?}"))),
        }
        jo.wait_for_layers("Jo", layers).await?;
        ana.wait_for_layers("Ana", layers).await?;
        tiles_show(unit, layer, 2).await?;
    }
    for guest in [jo, ana] {
        guest.close().await?;
    }
    camille.close().await?;
    Ok(())
}
