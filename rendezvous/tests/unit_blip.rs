//! A unit whose socket drops for a while (a Wi-Fi blip in the store) and comes back on a new
//! connection: its admitted guests keep their place, their signals get `device_offline`
//! meanwhile (the socket stays open so the page can retry) and reach the unit again once it
//! is back; a session the unit ended meanwhile ends for its guests, and nobody is let in
//! again through its invite.

mod common;

use common::{Server, expect_closed, recv, send};
use visavis_api::signaling::{
    DeviceToServer, ErrorCode, GuestToServer, ServerToDevice, ServerToGuest, SignalPayload,
};

fn restart_offer() -> SignalPayload {
    SignalPayload::Offer {
        sdp: "v=0 ice restart".into(),
    }
}

/// Close the unit's socket: its admitted guest is told `unit_away` at once, and its signals
/// are refused as `device_offline` (its socket stays open).
async fn unit_goes_away(device: &mut common::Ws, guest: &mut common::Ws) {
    device
        .close(None)
        .await
        .expect("the unit closes its socket");
    expect_closed(device).await;
    assert_eq!(recv::<ServerToGuest>(guest).await, ServerToGuest::UnitAway);
    send(
        guest,
        &GuestToServer::Signal {
            payload: restart_offer(),
        },
    )
    .await;
    let (code, _) = error_of(recv(guest).await);
    assert_eq!(code, ErrorCode::DeviceOffline);
}

fn error_of(m: ServerToGuest) -> (ErrorCode, String) {
    match m {
        ServerToGuest::Error { code, message } => (code, message),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_guest_keeps_its_place_while_the_unit_reconnects() {
    let server = Server::start().await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let (mut guest, guest_id) = server.admitted(&mut device, &token, "Camille").await;

    unit_goes_away(&mut device, &mut guest).await;

    // The unit is back on a new connection: the guest is told, its next offer reaches the
    // unit, and is the first thing the unit hears (no knock: the guest stays admitted).
    let mut back = server.device().await;
    assert_eq!(
        recv::<ServerToGuest>(&mut guest).await,
        ServerToGuest::UnitBack
    );
    send(
        &mut guest,
        &GuestToServer::Signal {
            payload: restart_offer(),
        },
    )
    .await;
    assert_eq!(
        recv::<ServerToDevice>(&mut back).await,
        ServerToDevice::Signal {
            guest_id: guest_id.clone(),
            payload: restart_offer()
        }
    );
    let answer = SignalPayload::Answer {
        sdp: "v=0 answer".into(),
    };
    send(
        &mut back,
        &DeviceToServer::Signal {
            guest_id,
            payload: answer.clone(),
        },
    )
    .await;
    assert_eq!(
        recv::<ServerToGuest>(&mut guest).await,
        ServerToGuest::Signal {
            payload: answer,
            seq: 1
        }
    );
}

#[tokio::test]
async fn a_session_ended_while_the_unit_was_away_ends_for_its_guests() {
    let server = Server::start().await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let (mut guest, _) = server.admitted(&mut device, &token, "Camille").await;

    unit_goes_away(&mut device, &mut guest).await;

    // Back, the unit (whose session ended meanwhile) says so first thing.
    let mut back = server.device().await;
    send(&mut back, &DeviceToServer::EndSession).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut guest).await,
        ServerToGuest::UnitBack
    );
    assert_eq!(
        recv::<ServerToGuest>(&mut guest).await,
        ServerToGuest::SessionEnded
    );
    expect_closed(&mut guest).await;

    // Nobody gets back in through the old invite.
    assert_eq!(
        common::ws_refusal(&format!("{}/ws/guest/{token}", server.ws_base)).await,
        410
    );
}
