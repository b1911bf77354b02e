//! After rendezvous restarts, an admitted guest's page takes its place again on a new
//! socket (`/ws/resume`, `resume{guest_id}`) once the unit, back on the new rendezvous,
//! named the guests of its call (`restore`): signaling flows again, with no knock and no
//! admission. A restart is two servers here: the second knows nothing of the first.

mod common;

use common::{Server, Ws, expect_closed, recv, send};
use visavis_api::signaling::{
    DeviceToServer, ErrorCode, GuestToServer, RestoredGuest, ServerToDevice, ServerToGuest,
    SignalPayload,
};

/// On `before`: a unit and Camille, let in. Returns Camille's id, as her page was given it.
async fn camille_in_a_call(before: &Server) -> String {
    let mut device = before.device().await;
    let (token, _) = before.invite(&mut device, None).await;
    let (mut camille, guest_id) = before.knock(&mut device, &token, "Camille").await;
    send(
        &mut device,
        &DeviceToServer::Admit {
            guest_id: guest_id.clone(),
        },
    )
    .await;
    match recv::<ServerToGuest>(&mut camille).await {
        ServerToGuest::Admitted { guest_id: told, .. } => assert_eq!(told, guest_id),
        other => panic!("expected admitted, got {other:?}"),
    }
    guest_id
}

async fn resume(server: &Server, guest_id: &str) -> Ws {
    let mut ws = server.ws("/ws/resume").await;
    send(
        &mut ws,
        &GuestToServer::Resume {
            guest_id: guest_id.into(),
        },
    )
    .await;
    ws
}

fn restore(guest_id: &str) -> DeviceToServer {
    DeviceToServer::Restore {
        guests: vec![RestoredGuest {
            guest_id: guest_id.into(),
            name: "Camille".into(),
        }],
    }
}

#[tokio::test]
async fn a_guest_named_by_its_unit_resumes_and_signals_both_ways() {
    let before = Server::start().await;
    let guest_id = camille_in_a_call(&before).await;
    let after = Server::start().await;

    // Too early: the unit has not named her yet. She is told to try again, and closed.
    let mut early = resume(&after, &guest_id).await;
    match recv::<ServerToGuest>(&mut early).await {
        ServerToGuest::Error { code, .. } => assert_eq!(code, ErrorCode::DeviceOffline),
        other => panic!("expected device_offline, got {other:?}"),
    }
    expect_closed(&mut early).await;

    let mut device = after.device().await;
    send(&mut device, &restore(&guest_id)).await;
    // The unit's messages are handled in order: once this invite is back, the restore is.
    after.invite(&mut device, None).await;
    let mut camille = resume(&after, &guest_id).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut camille).await,
        ServerToGuest::Resumed
    );
    // An ICE restart's offer reaches the unit, its answer comes back.
    let offer = SignalPayload::Offer { sdp: "v=0".into() };
    send(
        &mut camille,
        &GuestToServer::Signal {
            payload: offer.clone(),
        },
    )
    .await;
    assert_eq!(
        recv::<ServerToDevice>(&mut device).await,
        ServerToDevice::Signal {
            guest_id: guest_id.clone(),
            payload: offer
        }
    );
    let answer = SignalPayload::Answer { sdp: "v=0".into() };
    send(
        &mut device,
        &DeviceToServer::Signal {
            guest_id: guest_id.clone(),
            payload: answer.clone(),
        },
    )
    .await;
    assert_eq!(
        recv::<ServerToGuest>(&mut camille).await,
        ServerToGuest::Signal { payload: answer }
    );
    // Her place is taken once: a second resume with her id is refused.
    let mut twice = resume(&after, &guest_id).await;
    match recv::<ServerToGuest>(&mut twice).await {
        ServerToGuest::Error { code, .. } => assert_eq!(code, ErrorCode::NotAllowed),
        other => panic!("expected not_allowed, got {other:?}"),
    }
    // The end of the session reaches her on the new socket.
    send(&mut device, &DeviceToServer::EndSession).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut camille).await,
        ServerToGuest::SessionEnded
    );
}

#[tokio::test]
async fn nobody_resumes_a_place_the_unit_did_not_name_or_took_back() {
    let server = Server::start().await;
    let mut device = server.device().await;
    // A made-up id, never named.
    let mut stranger = resume(&server, "g-AAAAAAAAAAAAAAAA").await;
    assert!(matches!(
        recv::<ServerToGuest>(&mut stranger).await,
        ServerToGuest::Error {
            code: ErrorCode::DeviceOffline,
            ..
        }
    ));
    // Named, then removed by the unit before her page came back.
    send(&mut device, &restore("g-camille")).await;
    send(
        &mut device,
        &DeviceToServer::Deny {
            guest_id: "g-camille".into(),
        },
    )
    .await;
    // Named again, then the session ends.
    send(&mut device, &restore("g-louis")).await;
    send(&mut device, &DeviceToServer::EndSession).await;
    // The unit's messages are handled in order: once this invite is back, all are.
    server.invite(&mut device, None).await;
    for id in ["g-camille", "g-louis"] {
        let mut late = resume(&server, id).await;
        assert!(
            matches!(
                recv::<ServerToGuest>(&mut late).await,
                ServerToGuest::Error {
                    code: ErrorCode::DeviceOffline,
                    ..
                }
            ),
            "{id}"
        );
    }
    // A resuming socket cannot knock.
    let mut ws = server.ws("/ws/resume").await;
    send(
        &mut ws,
        &GuestToServer::Join {
            name: "Mallory".into(),
        },
    )
    .await;
    assert!(matches!(
        recv::<ServerToGuest>(&mut ws).await,
        ServerToGuest::Error {
            code: ErrorCode::NotAllowed,
            ..
        }
    ));
}
