//! A table too full for its uplink lowers the pictures guests forward each other rather
//! than showing each guest fewer of the others: three real Chromium guests at a unit whose
//! uplink (`[uplink] max_kbps` = 2800, `[session] max_guests` = 3) leaves the six
//! forwarded pictures about 390 kbit/s once the room's pictures have their floor and the
//! voices their share (`applianced` says so at start-up: 55 kbit/s and 15 frames a second
//! each, where they usually get 150 at 30). The unit tells every page to lower its small
//! layer ([`UnitMessage::SmallLayerRate`]), each page sets its camera's small encoding so
//! (`maxBitrate`, `maxFramerate`, alike on every page), and every guest still sees both
//! others. What the unit sends, measured on the wire, stays under the cap.
//!
//! Needs Chromium.
//!
//! [`UnitMessage::SmallLayerRate`]: visavis_api::datachannel::UnitMessage::SmallLayerRate

use visavis_e2e::table::Table;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{Result, timeouts};

/// Frames a page must decode of each other guest.
const FRAMES: u64 = 30;
/// The small layer's usual rate, bit/s (`visavis_api::datachannel::SMALL_LAYER_KBPS`).
const USUAL_BPS: u64 = visavis_api::datachannel::SMALL_LAYER_KBPS as u64 * 1000;
/// What a forwarded picture usually costs the uplink, headers included (the metrics'
/// `forward_picture_bps` when nothing is lowered).
const STREAM_BPS: u64 = 170_000;
/// The unit's `[uplink] max_kbps`, in bit/s.
const CAP_BPS: u64 = 2_800_000;
/// How many times the unit's send rate is read once everyone sees everyone.
const READINGS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_too_full_for_its_uplink_lowers_every_picture_and_shows_everyone() -> Result<()> {
    let names = ["Camille", "Jo", "Ana"];
    let mut table = Table::start_lowered(&names).await?;
    let guests = std::mem::take(&mut table.guests);
    let mut asked = Vec::new();
    for (guest, name) in guests.iter().zip(names) {
        let others: Vec<&str> = names.iter().copied().filter(|n| *n != name).collect();
        guest.wait_to_see(name, &others, FRAMES).await?;
        let (bps, fps, sent_fps) = wait::until(
            &format!("{name}'s page to send its small layer lowered, at 15 frames a second"),
            timeouts::step(),
            || async {
                let layer = guest.small_layer().await?;
                Ok(match layer {
                    Some((bps, fps, sent)) if bps > 0 && bps < USUAL_BPS && fps == 15.0 => {
                        Check::Ready((bps, fps, sent))
                    }
                    other => Check::NotYet(format!("{other:?}")),
                })
            },
        )
        .await?;
        eprintln!(
            "{name}'s small layer: at most {bps} bit/s and {fps} frames a second, sending \
             {sent_fps} frames a second"
        );
        asked.push(bps);
    }
    asked.dedup();
    assert_eq!(asked.len(), 1, "every page is asked alike: {asked:?}");
    let m = table.unit.metrics()?;
    eprintln!(
        "the unit forwards {} pictures; plans {} bit/s, sends {} bit/s",
        m.forwarded_streams, m.planned_send_bps, m.send_bps
    );
    assert_eq!(m.forwarded_streams, 6, "everyone sees everyone: {m:?}");
    assert_eq!(
        m.forward_pictures_held, 0,
        "every page keeps to the rate: {m:?}"
    );
    // What the pages were asked for fits what the unit plans a picture at.
    assert!(
        m.forward_picture_bps < STREAM_BPS && asked[0] < m.forward_picture_bps,
        "pages asked {} bit/s, a picture planned at {}",
        asked[0],
        m.forward_picture_bps
    );
    assert!(m.planned_send_bps <= CAP_BPS, "{m:?}");
    // On the wire (headers, RTCP and data channels in) the unit stays under its cap: read
    // every half second for a while, every reading is under it.
    let mut readings = Vec::new();
    let mut every = tokio::time::interval(std::time::Duration::from_millis(500));
    for _ in 0..READINGS {
        every.tick().await;
        let m = table.unit.metrics()?;
        readings.push(m.send_bps);
    }
    eprintln!("the unit's send rate on the wire, every half second: {readings:?}");
    assert!(
        readings.iter().all(|&bps| bps > 0 && bps <= CAP_BPS),
        "the unit sent over its {CAP_BPS} bit/s cap: {readings:?}"
    );
    for guest in guests {
        guest.close().await?;
    }
    Ok(())
}
