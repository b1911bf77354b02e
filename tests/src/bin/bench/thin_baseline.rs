//! `bench net --net baseline`: the thin link's reference. Chromium sends the bench's clip
//! as its camera, and its fake microphone's beeps, straight to another Chromium across the
//! lab link of the thin-link section, twice: the microphone in lip sync with the camera
//! (one stream, as a phone's call sends them), then in a stream of its own (the receiver
//! plays each as soon as it can):
//! the sender where the unit sits (behind NAT B), the receiver where the guest sits (behind
//! NAT A, on the thin link), STUN from the lab's coturn. libwebrtc runs both ends and picks
//! size and bitrate as a phone's call would. The receiver's figures are the thin-link
//! section's, read the same way (no glass-to-glass: the clip carries no capture time), so
//! the unit's freezes there can be read against what the browser's own stack gets on the
//! same link.

use crate::baseline::{PageServer, call};
use crate::net::{
    THIN_WINDOW, delivered, freezes_told, guest_reception, jitter_buffer, link_text, pair_line,
    thin_link,
};
use crate::pass;
use std::fmt::Write;
use std::path::Path;
use std::time::Instant;
use visavis_e2e::lab::call::FLOWING;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{Chromedriver, Coturn, Lab, LabConfig, NatKind, Node, Result, timeouts};

pub async fn run(clip: &Path) -> Result<String> {
    let mut out = String::new();
    for sync in [true, false] {
        match call_across(clip, sync).await {
            Ok(report) => out.push_str(&report),
            Err(e) => {
                let _ = writeln!(out, "net: thin link, browser to browser: FAILED: {e}");
            }
        }
    }
    Ok(out)
}

/// One call across the thin link; `sync`: the microphone in lip sync with the camera.
async fn call_across(clip: &Path, sync: bool) -> Result<String> {
    // Declared first, dropped last: the browsers and servers go before their namespaces.
    let lab = Lab::start(LabConfig {
        nat_a: NatKind::Cone,
        nat_b: NatKind::Cone,
        guest_link: thin_link(),
        ..Default::default()
    })?;
    let coturn = Coturn::start(&lab)?;
    let options = serde_json::json!({
        "iceServers": [{ "urls": coturn.stun_url() }],
        "free": true,
        "sync": sync,
    });
    let sender_page = PageServer::start_in(lab.ns(Node::Unit))?;
    let receiver_page = PageServer::start_in(lab.ns(Node::Guest))?;
    let sender_driver = Chromedriver::start_in(lab.ns(Node::Unit))?;
    let receiver_driver = Chromedriver::start_in(lab.ns(Node::Guest))?;
    let mut sender_args = Lab::guest_chromium_args();
    sender_args.push(format!(
        "--use-file-for-fake-video-capture={}",
        clip.display()
    ));
    let sender = sender_driver.new_guest_with_args(&sender_args).await?;
    let receiver = receiver_driver
        .new_guest_with_args(&Lab::guest_chromium_args())
        .await?;
    receiver.record_peer_connections().await?;
    sender.open(sender_page.url()).await?;
    receiver.open(receiver_page.url()).await?;
    let offer = call(
        &sender,
        "window.bench.send(arguments[0])",
        vec![options.clone()],
    )
    .await?;
    let answer = call(
        &receiver,
        "window.bench.receive(arguments[0], arguments[1])",
        vec![offer, options],
    )
    .await?;
    call(&sender, "window.bench.accept(arguments[0])", vec![answer]).await?;
    // As the thin-link section does: measure once frames flow.
    wait::until(
        "the receiving browser to decode its first frames across the thin link",
        timeouts::media(),
        || async {
            let decoded = receiver
                .video_reception()
                .await?
                .map_or(0, |r| r.frames_decoded);
            Ok(if decoded >= FLOWING {
                Check::Ready(())
            } else {
                Check::NotYet(format!("{decoded} frames decoded"))
            })
        },
    )
    .await?;
    let pair = receiver
        .selected_candidate_pair()
        .await?
        .map_or_else(|| "none".to_string(), |p| pair_line(&p));
    let a = guest_reception(&receiver).await?;
    receiver.start_video_trace().await?;
    let t0 = Instant::now();
    pass(THIN_WINDOW).await?;
    let b = guest_reception(&receiver).await?;
    let trace = receiver.take_video_trace().await?;
    let secs = t0.elapsed().as_secs_f64();
    let nacks = b.nack_count - a.nack_count;
    let _ = sender.close().await;
    let _ = receiver.close().await;
    Ok(format!(
        "net: thin link, browser to browser ({}; Chromium sends the clip and a \
         microphone {} to Chromium, size and bitrate its own), {secs:.1} s window:\n  \
         {}, NACKs sent {nacks}\n  \
         the receiver's {}; the pair it selected: {pair}\n{}",
        link_text(&thin_link()),
        if sync {
            "in lip sync with it"
        } else {
            "in a stream of its own"
        },
        delivered(&a, &b, secs),
        jitter_buffer(&a, &b),
        freezes_told(&trace),
    ))
}
