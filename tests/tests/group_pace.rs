//! A page that sends its picture far faster than the unit asked does not take the store's
//! uplink: three real Chromium guests at a unit whose uplink (`[uplink] max_kbps` = 2800,
//! `[session] max_guests` = 3) has every forwarded picture lowered (as in
//! `group_rate.rs`). Camille's page then sets its small layer as a page that ignores the
//! unit would (full size, 2 Mbit/s, 30 frames a second): the unit takes her picture off
//! Jo's and Ana's tiles (`forward_pictures_held`) while the table's screen still decodes
//! it, and tells her page ([`UnitMessage::PictureHeld`]). Her page sets its small layer to
//! the rate asked again by itself and tells her the others do not see her for a moment;
//! the unit gives her picture back once it keeps to the rate, and the note goes.
//!
//! Needs Chromium.
//!
//! [`UnitMessage::PictureHeld`]: visavis_api::datachannel::UnitMessage::PictureHeld

use visavis_e2e::guest_others::OtherStats;
use visavis_e2e::table::Table;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{Result, timeouts};

/// Frames a page must decode of each other guest.
const FRAMES: u64 = 30;

/// Frames `name`'s tile decoded so far (0 if not shown).
fn frames_of(others: &[OtherStats], name: &str) -> u64 {
    others
        .iter()
        .find(|o| o.name == name)
        .map_or(0, |o| o.frames_decoded)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picture_sent_far_faster_than_asked_leaves_the_others_tiles_until_it_keeps_to_it()
-> Result<()> {
    let names = ["Camille", "Jo", "Ana"];
    let mut table = Table::start_lowered(&names).await?;
    let guests = std::mem::take(&mut table.guests);
    for (guest, name) in guests.iter().zip(names) {
        let others: Vec<&str> = names.iter().copied().filter(|n| *n != name).collect();
        guest.wait_to_see(name, &others, FRAMES).await?;
    }
    let (camille, jo, ana) = (&guests[0], &guests[1], &guests[2]);
    let asked = camille.small_layer().await?.map(|(bps, _, _)| bps);
    assert!(
        asked.is_some_and(|bps| bps > 0 && bps < 150_000),
        "Camille's page was asked for a lowered layer: {asked:?}"
    );
    assert_eq!(table.unit.metrics()?.forward_pictures_held, 0);

    // Camille's page floods: off the others' tiles (of the six pictures forwarded, only
    // Jo's and Ana's four, to each other and to Camille, as the unit holds hers).
    camille.force_small_layer(2_000_000, 30, 1.0).await?;
    let unit = &table.unit;
    wait::until(
        "the unit to hold Camille's picture back",
        timeouts::media(),
        || async {
            let m = unit.metrics()?;
            let (held, streams) = (m.forward_pictures_held, m.forwarded_streams);
            Ok(if held == 1 && streams == 4 {
                Check::Ready(())
            } else {
                Check::NotYet(format!("{held} held, {streams} pictures forwarded"))
            })
        },
    )
    .await?;
    // Her page is told: it says so, and sets its small layer to the rate asked again.
    wait::until(
        "Camille's page to say the others do not see her",
        timeouts::step(),
        || async {
            Ok(if camille.shown("#picture-held").await? {
                Check::Ready(())
            } else {
                Check::NotYet("no note".into())
            })
        },
    )
    .await?;
    let note = camille.text_of("#picture-held").await?;
    assert!(note.contains("can’t see you"), "{note:?}");
    wait::until(
        "Camille's page to keep to the rate asked",
        timeouts::step(),
        || async {
            let now = camille.small_layer().await?.map(|(bps, _, _)| bps);
            Ok(if now == asked {
                Check::Ready(())
            } else {
                Check::NotYet(format!("{now:?} bit/s, asked {asked:?}"))
            })
        },
    )
    .await?;
    // The table's screen still decodes her (its own layer, not forwarded).
    let camille_in = |m: &visavis_api::local::MetricsSnapshot| {
        m.guests
            .iter()
            .find(|g| g.name == "Camille")
            .map_or(0, |g| g.video_in.frames)
    };
    let before = camille_in(&unit.metrics()?);
    wait::until(
        "the table's screen to go on decoding Camille",
        timeouts::step(),
        || async {
            let now = camille_in(&unit.metrics()?);
            Ok(if now > before + 10 {
                Check::Ready(())
            } else {
                Check::NotYet(format!("{before} then {now} frames"))
            })
        },
    )
    .await?;

    // Her page keeps to the rate again: she is back on the others' tiles.
    for (guest, name, other) in [(jo, "Jo", "Ana"), (ana, "Ana", "Jo")] {
        let shown = guest.wait_to_see(name, &["Camille", other], FRAMES).await?;
        // Her slot may count frames from before: new ones must come.
        let before = frames_of(&shown, "Camille");
        wait::until(
            &format!("{name}'s page to decode Camille again"),
            timeouts::step(),
            || async {
                let now = frames_of(&guest.others().await?, "Camille");
                Ok(if now > before + 10 {
                    Check::Ready(())
                } else {
                    Check::NotYet(format!("{before} then {now} frames"))
                })
            },
        )
        .await?;
    }
    assert_eq!(unit.metrics()?.forward_pictures_held, 0);
    wait::until("Camille's note to go", timeouts::step(), || async {
        Ok(if camille.shown("#picture-held").await? {
            Check::NotYet("the note is still shown".into())
        } else {
            Check::Ready(())
        })
    })
    .await?;
    for guest in guests {
        guest.close().await?;
    }
    Ok(())
}
