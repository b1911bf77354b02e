//! Guest sockets that would otherwise stay open for ever, and a guest flooding its unit:
//! - a socket that does not join within the deadline is told why and closed;
//! - a socket that has not joined when the unit ends its session is closed then;
//! - a peer that stops answering pings is closed, one that answers stays;
//! - a guest is given up on after the guests' silence limit, while a unit keeps its own,
//!   longer one;
//! - a guest sending signals faster than its allowance is closed with `rate_limited`, and
//!   its unit stays connected and keeps working;
//! - one invite holds a bounded number of sockets.

#![allow(clippy::unwrap_used)] // a failure here is a failed test

mod common;

use std::time::Duration;

use common::{Server, expect_closed, recv, send};
use futures_util::StreamExt;
use visavis_api::signaling::{
    DeviceToServer, ErrorCode, GuestToServer, ServerToDevice, ServerToGuest, SignalPayload,
};
use visavis_rendezvous::config::{Liveness, SocketTiming};
use visavis_rendezvous::state::MAX_SOCKETS_PER_INVITE;
use visavis_rendezvous::ws_guest::SIGNAL_BURST;

/// Guests must join within `join_deadline_ms` and are gone after `guest_silent_ms`; units
/// keep their defaults.
fn timing(join_deadline_ms: u64, guest_silent_ms: u64) -> SocketTiming {
    SocketTiming {
        join_deadline: Duration::from_millis(join_deadline_ms),
        guest: Liveness {
            ping_every: Duration::from_millis(guest_silent_ms / 3),
            silent_for: Duration::from_millis(guest_silent_ms),
        },
        ..SocketTiming::default()
    }
}

async fn server_with(timing: SocketTiming) -> Server {
    let mut config = common::config();
    config.socket_timing = timing;
    Server::start_with(config).await
}

fn error_code(m: ServerToGuest) -> ErrorCode {
    match m {
        ServerToGuest::Error { code, .. } => code,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_socket_that_does_not_join_in_time_is_closed() {
    let server = server_with(timing(300, 60_000)).await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let mut idle = server.ws(&format!("/ws/guest/{token}")).await;
    assert_eq!(error_code(recv(&mut idle).await), ErrorCode::NotAllowed);
    expect_closed(&mut idle).await;
}

#[tokio::test]
async fn a_socket_that_has_not_joined_closes_when_the_session_ends() {
    let server = server_with(timing(60_000, 60_000)).await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let mut idle = server.ws(&format!("/ws/guest/{token}")).await;
    // A joined guest of the same session, so the end is known to have been processed.
    let mut guest = server.ws(&format!("/ws/guest/{token}")).await;
    send(&mut guest, &GuestToServer::Join { name: "Ana".into() }).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut guest).await,
        ServerToGuest::Waiting
    );
    send(&mut device, &DeviceToServer::EndSession).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut guest).await,
        ServerToGuest::SessionEnded
    );
    assert_eq!(error_code(recv(&mut idle).await), ErrorCode::SessionEnded);
    expect_closed(&mut idle).await;
}

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_closed_and_one_that_answers_stays() {
    let server = server_with(timing(60_000, 600)).await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let mut live = server.ws(&format!("/ws/guest/{token}")).await;
    send(&mut live, &GuestToServer::Join { name: "Ana".into() }).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut live).await,
        ServerToGuest::Waiting
    );
    let mut mute = server.ws(&format!("/ws/guest/{token}")).await;
    send(&mut mute, &GuestToServer::Join { name: "Bo".into() }).await;

    // `live` reads (and so answers pings) for five silences' worth; `mute` reads nothing.
    let reading = async {
        let mut pings = 0;
        while pings < 15 {
            match live.next().await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Ping(_))) => pings += 1,
                Some(Ok(tokio_tungstenite::tungstenite::Message::Text(_))) => {}
                other => panic!("the live socket ended: {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), reading)
        .await
        .expect("pings keep coming to a live socket");
    // Now read `mute`: what was queued, then the close.
    let mut closed = false;
    while let Ok(Some(next)) = tokio::time::timeout(common::PATIENCE, mute.next()).await {
        match next {
            Ok(tokio_tungstenite::tungstenite::Message::Close(_)) | Err(_) => {
                closed = true;
                break;
            }
            Ok(_) => {}
        }
    }
    assert!(closed, "a socket that answered no ping was left open");
}

/// Units are pinged as often as guests here, and have a minute: a unit silent longer
/// than a guest may be stays connected.
#[tokio::test]
async fn a_silent_guest_is_closed_after_the_guest_limit_and_a_silent_unit_is_not() {
    let mut config = common::config();
    config.socket_timing = SocketTiming {
        join_deadline: Duration::from_secs(60),
        device: Liveness {
            ping_every: Duration::from_millis(200),
            silent_for: Duration::from_secs(60),
        },
        guest: Liveness {
            ping_every: Duration::from_millis(200),
            silent_for: Duration::from_millis(600),
        },
    };
    // No hold: the unit hears at once that the guest's socket was closed.
    config.guest_hold = Duration::ZERO;
    let server = Server::start_with(config).await;
    // A second unit, silent from here on: it reads nothing, so it answers no ping.
    let (mut quiet_unit, welcome) = server
        .enroll(
            &common::token(&common::FLEET_KEY, "quiet-unit"),
            &visavis_api::fleet::keys::DeviceKey::from_bytes(&[8; 32]),
        )
        .await;
    assert!(matches!(welcome, ServerToDevice::Welcome { .. }));

    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    // Let in, then silent: its socket is never read or written again.
    let (mut mute, mute_id) = server.admitted(&mut device, &token, "Bo").await;
    assert_eq!(
        recv::<ServerToDevice>(&mut device).await,
        ServerToDevice::GuestLeft { guest_id: mute_id },
        "a silent guest's socket is closed within the guests' limit"
    );
    let mut closed = false;
    while let Ok(Some(next)) = tokio::time::timeout(common::PATIENCE, mute.next()).await {
        match next {
            Ok(tokio_tungstenite::tungstenite::Message::Close(_)) | Err(_) => {
                closed = true;
                break;
            }
            Ok(_) => {}
        }
    }
    assert!(closed, "the silent guest's socket was left open");

    // The quiet unit was silent all along, longer than the guest: it is still served.
    let (again, _) = server.invite(&mut quiet_unit, None).await;
    assert!(!again.is_empty());
}

#[tokio::test]
async fn a_guest_flooding_signals_is_closed_and_its_unit_stays() {
    let server = Server::start().await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let mut guest = server.ws(&format!("/ws/guest/{token}")).await;
    send(
        &mut guest,
        &GuestToServer::Join {
            name: "Flood".into(),
        },
    )
    .await;
    assert_eq!(
        recv::<ServerToGuest>(&mut guest).await,
        ServerToGuest::Waiting
    );
    let guest_id = match recv::<ServerToDevice>(&mut device).await {
        ServerToDevice::GuestKnock { guest_id, .. } => guest_id,
        other => panic!("expected a knock, got {other:?}"),
    };
    send(&mut device, &DeviceToServer::Admit { guest_id }).await;
    assert!(matches!(
        recv::<ServerToGuest>(&mut guest).await,
        ServerToGuest::Admitted { .. }
    ));

    let big = "a".repeat(60 * 1024);
    let flood = 1_000;
    for _ in 0..flood {
        let payload = SignalPayload::Offer { sdp: big.clone() };
        if futures_util::SinkExt::send(
            &mut guest,
            tokio_tungstenite::tungstenite::Message::text(
                serde_json::to_string(&GuestToServer::Signal { payload }).unwrap(),
            ),
        )
        .await
        .is_err()
        {
            break;
        }
    }
    assert_eq!(error_code(recv(&mut guest).await), ErrorCode::RateLimited);
    expect_closed(&mut guest).await;

    // The unit got at most the guest's allowance, then hears it left, and still works.
    let mut signals = 0;
    loop {
        match recv::<ServerToDevice>(&mut device).await {
            ServerToDevice::Signal { .. } => signals += 1,
            ServerToDevice::GuestLeft { .. } => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        signals <= SIGNAL_BURST as usize + 5,
        "{signals} of {flood} signals reached the unit"
    );
    let (again, _) = server.invite(&mut device, None).await;
    assert!(!again.is_empty(), "the unit is still connected and served");
}

/// One invite holds at most `MAX_SOCKETS_PER_INVITE` sockets (joined or not): the next is
/// refused before the upgrade, while another invite of the same unit still opens, and a
/// socket closing makes room again.
#[tokio::test]
async fn an_invite_holds_a_bounded_number_of_sockets() {
    let mut config = common::config();
    // Look-ups are not what is limited here.
    config.rate_limit = visavis_rendezvous::config::RateLimit {
        burst: 1000,
        per_minute: 1000,
    };
    let server = Server::start_with(config).await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let (other, _) = server.invite(&mut device, None).await;
    let path = format!("/ws/guest/{token}");
    let mut open = Vec::new();
    for _ in 0..MAX_SOCKETS_PER_INVITE {
        open.push(server.ws(&path).await);
    }
    let url = format!("{}{path}", server.ws_base);
    assert_eq!(common::ws_refusal(&url).await, 429);
    let _elsewhere = server.ws(&format!("/ws/guest/{other}")).await;

    let mut closed = open.pop().unwrap();
    closed.close(None).await.unwrap();
    expect_closed(&mut closed).await;
    // The server counts the socket out once its side has ended: retry until it has.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio_tungstenite::connect_async(&url).await {
            Ok(_) => break,
            Err(e) => assert!(
                tokio::time::Instant::now() < deadline,
                "no room after a socket closed: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
