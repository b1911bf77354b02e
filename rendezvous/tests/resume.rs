//! After rendezvous restarts, an admitted guest's page takes its place again on a new
//! socket (`/ws/resume`, `resume{guest_id}`) once the unit, back on the new rendezvous,
//! named the guests of its call (`restore`): signaling flows again, with no knock and no
//! admission. A restart is two servers here: the second knows nothing of the first.
//!
//! When only the guest's own socket drops (rendezvous up), its place is held for
//! `guest_hold_secs`: the unit is not told, and the page resumes the same way, then gets
//! what the unit sent it meanwhile (the answer it was waiting for), in order, before
//! anything newer. A hold that runs out tells the unit and refuses the late page
//! (`place_ended`); a guest who leaves on purpose leaves at once. A dropped socket here is a client dropped without a close
//! frame, as a phone losing its network is seen.

mod common;

use std::time::Duration;

use common::{Server, Ws, config, expect_closed, recv, send};
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
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
    resume_after(server, guest_id, None).await
}

/// Resume, having handled the unit's signals up to number `seen`.
async fn resume_after(server: &Server, guest_id: &str, seen: Option<u64>) -> Ws {
    let mut ws = server.ws("/ws/resume").await;
    send(
        &mut ws,
        &GuestToServer::Resume {
            guest_id: guest_id.into(),
            seen,
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
        ServerToGuest::Resumed { unit_here: true }
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
        ServerToGuest::Signal {
            payload: answer,
            seq: 1
        }
    );
    // A resume with her id while that socket still looks open (her phone's network changed
    // before rendezvous noticed) takes the place over: the older socket is closed.
    let mut twice = resume(&after, &guest_id).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut twice).await,
        ServerToGuest::Resumed { unit_here: true }
    );
    expect_closed(&mut camille).await;
    // The end of the session reaches her on the newest socket.
    send(&mut device, &DeviceToServer::EndSession).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut twice).await,
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

/// A server whose held places last `hold`.
async fn server_holding(hold: Duration) -> Server {
    let mut config = config();
    config.guest_hold = hold;
    Server::start_with(config).await
}

/// On `server`: the unit, and Camille admitted. Returns both sockets and her id.
async fn unit_and_camille(server: &Server) -> (Ws, Ws, String) {
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let (camille, guest_id) = server.admitted(&mut device, &token, "Camille").await;
    (device, camille, guest_id)
}

fn guest_left(guest_id: &str) -> ServerToDevice {
    ServerToDevice::GuestLeft {
        guest_id: guest_id.into(),
    }
}

/// The guest sends an offer; the unit's next message must be that offer (not `guest_left`).
async fn offer_reaches_the_unit(guest: &mut Ws, device: &mut Ws, guest_id: &str) {
    let offer = SignalPayload::Offer { sdp: "v=0".into() };
    send(
        guest,
        &GuestToServer::Signal {
            payload: offer.clone(),
        },
    )
    .await;
    assert_eq!(
        recv::<ServerToDevice>(device).await,
        ServerToDevice::Signal {
            guest_id: guest_id.into(),
            payload: offer
        },
        "the unit was not told she left"
    );
}

#[tokio::test]
async fn a_guest_whose_socket_drops_resumes_and_the_unit_is_never_told() {
    // The default hold, much longer than this test's waits.
    let server = Server::start().await;
    let (mut device, camille, guest_id) = unit_and_camille(&server).await;
    // Her connection drops: no leave, no close frame.
    drop(camille);
    let mut camille = resume(&server, &guest_id).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut camille).await,
        ServerToGuest::Resumed { unit_here: true }
    );
    offer_reaches_the_unit(&mut camille, &mut device, &guest_id).await;
    // Again, closed with "going away" (a browser's own close, not the page's goodbye).
    camille
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::Away,
            reason: "".into(),
        })))
        .await
        .unwrap();
    expect_closed(&mut camille).await;
    let mut camille = resume(&server, &guest_id).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut camille).await,
        ServerToGuest::Resumed { unit_here: true }
    );
    // The unit signals her on the new socket, and her own signals reach it.
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
        ServerToGuest::Signal {
            payload: answer,
            seq: 1
        }
    );
    offer_reaches_the_unit(&mut camille, &mut device, &guest_id).await;
}

#[tokio::test]
async fn what_the_unit_sends_while_her_place_is_held_reaches_her_after_she_resumes() {
    // The default hold, much longer than this test's waits.
    let server = Server::start().await;
    let (mut device, mut camille, guest_id) = unit_and_camille(&server).await;
    // Her ICE restart's offer reaches the unit, then her browser gives the socket up
    // ("going away").
    offer_reaches_the_unit(&mut camille, &mut device, &guest_id).await;
    camille
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::Away,
            reason: "".into(),
        })))
        .await
        .unwrap();
    // Rendezvous lets go of the connection once her place is held.
    expect_closed(&mut camille).await;

    // Meanwhile the unit answers, and sends a candidate.
    let answer = SignalPayload::Answer { sdp: "v=0".into() };
    let candidate = |n: u16| SignalPayload::Candidate {
        candidate: format!("candidate:{n} 1 udp 1 198.18.0.1 {n} typ host"),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
    };
    for payload in [answer.clone(), candidate(1)] {
        send(
            &mut device,
            &DeviceToServer::Signal {
                guest_id: guest_id.clone(),
                payload,
            },
        )
        .await;
    }
    // The unit's messages are handled in order: once this invite is back, both were routed
    // (and none was refused: the unit hears no error).
    server.invite(&mut device, None).await;

    let mut camille = resume(&server, &guest_id).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut camille).await,
        ServerToGuest::Resumed { unit_here: true }
    );
    assert_eq!(
        recv::<ServerToGuest>(&mut camille).await,
        ServerToGuest::Signal {
            payload: answer,
            seq: 1
        },
        "the answer sent while she was away"
    );
    assert_eq!(
        recv::<ServerToGuest>(&mut camille).await,
        ServerToGuest::Signal {
            payload: candidate(1),
            seq: 2
        }
    );
    // What the unit sends now comes after them.
    send(
        &mut device,
        &DeviceToServer::Signal {
            guest_id: guest_id.clone(),
            payload: candidate(2),
        },
    )
    .await;
    assert_eq!(
        recv::<ServerToGuest>(&mut camille).await,
        ServerToGuest::Signal {
            payload: candidate(2),
            seq: 3
        }
    );
}

/// The unit's signal `payload` to `guest_id`.
fn to_guest(guest_id: &str, payload: SignalPayload) -> DeviceToServer {
    DeviceToServer::Signal {
        guest_id: guest_id.into(),
        payload,
    }
}

/// The next message on `ws` is the unit's signal number `seq`, carrying `payload`.
async fn expect_signal(ws: &mut Ws, payload: SignalPayload, seq: u64, why: &str) {
    assert_eq!(
        recv::<ServerToGuest>(ws).await,
        ServerToGuest::Signal { payload, seq },
        "{why}"
    );
}

#[tokio::test]
async fn signals_written_into_a_socket_that_was_already_dead_reach_her_after_she_resumes() {
    let server = Server::start().await;
    let (mut device, mut camille, guest_id) = unit_and_camille(&server).await;
    let candidate = |n: u16| SignalPayload::Candidate {
        candidate: format!("candidate:{n} 1 udp 1 198.18.0.1 {n} typ host"),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
    };
    send(&mut device, &to_guest(&guest_id, candidate(1))).await;
    expect_signal(&mut camille, candidate(1), 1, "her page handles the first").await;
    // Then her phone's connection dies without either end being told: the next two are
    // written into her socket, and never reach the page.
    for n in [2, 3] {
        send(&mut device, &to_guest(&guest_id, candidate(n))).await;
    }
    // The unit's messages are handled in order: once this invite is back, both were routed.
    server.invite(&mut device, None).await;

    // Her page's heartbeat takes the socket for dead; she resumes, having seen number 1.
    let mut again = resume_after(&server, &guest_id, Some(1)).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut again).await,
        ServerToGuest::Resumed { unit_here: true }
    );
    for n in [2, 3] {
        let why = "what the dead socket swallowed comes again, in order";
        expect_signal(&mut again, candidate(n), u64::from(n), why).await;
    }
    // The dead socket is gone for good (rendezvous closed its side when she resumed).
    drop(camille);
    send(&mut device, &to_guest(&guest_id, candidate(4))).await;
    expect_signal(&mut again, candidate(4), 4, "then what is new").await;

    // A page that saw everything gets nothing twice.
    let mut third = resume_after(&server, &guest_id, Some(4)).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut third).await,
        ServerToGuest::Resumed { unit_here: true }
    );
    send(&mut device, &to_guest(&guest_id, candidate(5))).await;
    expect_signal(
        &mut third,
        candidate(5),
        5,
        "nothing already seen comes again",
    )
    .await;
}

#[tokio::test]
async fn a_hold_that_runs_out_tells_the_unit_and_turns_the_late_page_away() {
    let server = server_holding(Duration::from_millis(300)).await;
    let (mut device, camille, guest_id) = unit_and_camille(&server).await;
    drop(camille);
    assert_eq!(
        recv::<ServerToDevice>(&mut device).await,
        guest_left(&guest_id)
    );
    let mut late = resume(&server, &guest_id).await;
    match recv::<ServerToGuest>(&mut late).await {
        ServerToGuest::Error { code, message } => {
            assert_eq!(code, ErrorCode::PlaceEnded);
            assert!(message.contains("place in the call has ended"), "{message}");
        }
        other => panic!("expected place_ended, got {other:?}"),
    }
    expect_closed(&mut late).await;
}

#[tokio::test]
async fn leaving_on_purpose_or_before_admission_tells_the_unit_at_once() {
    // Held places would last a minute: whatever the unit hears within the test's patience
    // (5 s) was not a hold running out.
    let server = server_holding(Duration::from_secs(60)).await;
    let (mut device, mut camille, camille_id) = unit_and_camille(&server).await;
    // The Leave button: `leave`, then a normal close.
    send(&mut camille, &GuestToServer::Leave).await;
    assert_eq!(
        recv::<ServerToDevice>(&mut device).await,
        guest_left(&camille_id)
    );
    let mut back = resume(&server, &camille_id).await;
    assert!(
        matches!(
            recv::<ServerToGuest>(&mut back).await,
            ServerToGuest::Error {
                code: ErrorCode::DeviceOffline,
                ..
            }
        ),
        "no place was kept for her"
    );
    // A page closing its socket normally (1000) without `leave`.
    let (token, _) = server.invite(&mut device, None).await;
    let (mut louis, louis_id) = server.admitted(&mut device, &token, "Louis").await;
    louis
        .close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        }))
        .await
        .unwrap();
    assert_eq!(
        recv::<ServerToDevice>(&mut device).await,
        guest_left(&louis_id)
    );
    // A guest still waiting whose connection drops: no place for someone never let in.
    let (lea, lea_id) = server.knock(&mut device, &token, "Léa").await;
    drop(lea);
    assert_eq!(
        recv::<ServerToDevice>(&mut device).await,
        guest_left(&lea_id)
    );
}

#[tokio::test]
async fn a_held_place_ends_with_the_session_and_survives_the_unit_reconnecting() {
    let server = Server::start().await;
    let (device, camille, guest_id) = unit_and_camille(&server).await;
    drop(camille);
    // The unit's own connection blips during the hold: it comes back and names her.
    drop(device);
    let mut device = server.device().await;
    send(&mut device, &restore(&guest_id)).await;
    // The unit's messages are handled in order: once this invite is back, the restore is.
    server.invite(&mut device, None).await;
    let mut camille = resume(&server, &guest_id).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut camille).await,
        ServerToGuest::Resumed { unit_here: true }
    );
    offer_reaches_the_unit(&mut camille, &mut device, &guest_id).await;
    // Dropped again, and the session ends during the hold: the late page is told so.
    drop(camille);
    send(&mut device, &DeviceToServer::EndSession).await;
    server.invite(&mut device, None).await;
    let mut late = resume(&server, &guest_id).await;
    assert!(matches!(
        recv::<ServerToGuest>(&mut late).await,
        ServerToGuest::Error {
            code: ErrorCode::SessionEnded,
            ..
        }
    ));
}
