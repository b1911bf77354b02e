//! The unit and guest WebSockets: authentication, knock → admit → relay, refusals.

mod common;

use common::{Server, expect_closed, recv, send, send_text};
use std::time::Duration;
use visavis_api::fleet::auth::challenge_message;
use visavis_api::fleet::keys::DeviceKey;
use visavis_api::signaling::{
    DeviceToServer, ErrorCode, GuestToServer, ServerToDevice, ServerToGuest, SignalPayload,
};
use visavis_rendezvous::hub::{MAX_GUESTS_PER_SESSION, MAX_WAITING_PER_ADDRESS};

fn offer() -> SignalPayload {
    SignalPayload::Offer {
        sdp: "v=0 offer".into(),
    }
}

fn answer() -> SignalPayload {
    SignalPayload::Answer {
        sdp: "v=0 answer".into(),
    }
}

fn code_of_device(m: ServerToDevice) -> ErrorCode {
    match m {
        ServerToDevice::Error { code, .. } => code,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn code_of_guest(m: ServerToGuest) -> (ErrorCode, String) {
    match m {
        ServerToGuest::Error { code, message } => (code, message),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_enrolled_unit_is_welcomed_back_by_its_signature() {
    let server = Server::start().await;
    drop(server.device().await);
    let (_ws, reply) = server.hello(common::DEVICE, &common::device_key()).await;
    assert_eq!(
        reply,
        ServerToDevice::Welcome {
            device_id: common::DEVICE.into()
        }
    );
}

#[tokio::test]
async fn wrong_keys_unknown_units_and_skipped_challenges_are_refused_and_closed() {
    let server = Server::start().await;
    drop(server.device().await);
    let stranger = DeviceKey::from_bytes(&[1; 32]);
    for (id, key) in [
        (common::DEVICE, &stranger),
        ("other-unit", &common::device_key()),
    ] {
        let (mut ws, reply) = server.hello(id, key).await;
        assert_eq!(code_of_device(reply), ErrorCode::Unauthorized);
        expect_closed(&mut ws).await;
    }
    let (mut ws, _) = server.challenged().await;
    send(&mut ws, &DeviceToServer::EndSession).await;
    assert_eq!(code_of_device(recv(&mut ws).await), ErrorCode::Unauthorized);
    expect_closed(&mut ws).await;
}

#[tokio::test]
async fn an_enrollment_token_works_once_for_one_key() {
    let server = Server::start().await;
    let token = common::token(&common::FLEET_KEY, "u-7");
    let key = DeviceKey::from_bytes(&[3; 32]);
    let (_first, reply) = server.enroll(&token, &key).await;
    assert!(matches!(reply, ServerToDevice::Welcome { .. }), "{reply:?}");
    // The unit retrying after a lost answer is fine...
    let (_again, reply) = server.enroll(&token, &key).await;
    assert!(matches!(reply, ServerToDevice::Welcome { .. }), "{reply:?}");
    // ...anyone else with the token is not.
    let (mut thief, reply) = server
        .enroll(&token, &DeviceKey::from_bytes(&[4; 32]))
        .await;
    let ServerToDevice::Error { code, message } = reply else {
        panic!("expected a refusal, got {reply:?}");
    };
    assert_eq!(code, ErrorCode::EnrollmentRefused);
    assert!(message.contains("already used"), "{message}");
    expect_closed(&mut thief).await;
}

/// A superseded seed, never used, found on an IT laptop: its token must not take over a unit
/// that enrolled with a newer one. The newest token retried by its unit is still welcome.
#[tokio::test]
async fn an_old_unused_token_cannot_take_over_a_unit_enrolled_with_a_newer_one() {
    let server = Server::start().await;
    let old = common::token_expiring(&common::FLEET_KEY, "u-8", common::START + 1800);
    let new = common::token_expiring(&common::FLEET_KEY, "u-8", common::START + 3600);
    let unit = DeviceKey::from_bytes(&[5; 32]);
    let (_unit_ws, reply) = server.enroll(&new, &unit).await;
    assert!(matches!(reply, ServerToDevice::Welcome { .. }), "{reply:?}");
    let (mut laptop, reply) = server.enroll(&old, &DeviceKey::from_bytes(&[6; 32])).await;
    let ServerToDevice::Error { code, message } = reply else {
        panic!("expected a refusal, got {reply:?}");
    };
    assert_eq!(code, ErrorCode::EnrollmentRefused);
    assert!(message.contains("newer seed"), "{message}");
    expect_closed(&mut laptop).await;
    let (_again, reply) = server.enroll(&new, &unit).await;
    assert!(matches!(reply, ServerToDevice::Welcome { .. }), "{reply:?}");
    let (_hello, reply) = server.hello("u-8", &unit).await;
    assert!(matches!(reply, ServerToDevice::Welcome { .. }), "{reply:?}");
}

#[tokio::test]
async fn an_enrollment_must_be_signed_by_the_key_it_enrolls() {
    let server = Server::start().await;
    let token = common::token(&common::FLEET_KEY, "u-8");
    let key = DeviceKey::from_bytes(&[3; 32]);
    let other = DeviceKey::from_bytes(&[4; 32]);
    // (public key, who signs, for which device id, expected refusal)
    let cases = [
        (key.public_key(), &other, "u-8", ErrorCode::Unauthorized),
        (key.public_key(), &key, "u-9", ErrorCode::Unauthorized),
        (
            "not-a-key".to_owned(),
            &key,
            "u-8",
            ErrorCode::EnrollmentRefused,
        ),
    ];
    for (public_key, signer, signed_for, expected) in cases {
        let (mut ws, challenge) = server.challenged().await;
        send(
            &mut ws,
            &DeviceToServer::Enroll {
                protocol: 1,
                token: token.clone(),
                public_key,
                signature: signer.sign(&challenge_message(signed_for, &challenge)),
            },
        )
        .await;
        assert_eq!(code_of_device(recv(&mut ws).await), expected);
        expect_closed(&mut ws).await;
    }
    // Refused attempts do not use the token up.
    let (_ws, reply) = server.enroll(&token, &key).await;
    assert_eq!(
        reply,
        ServerToDevice::Welcome {
            device_id: "u-8".into()
        }
    );
}

#[tokio::test]
async fn tokens_from_another_fleet_expired_or_forged_are_refused() {
    let server = Server::start().await;
    let key = common::device_key();
    let cases = [
        (common::token(&[0; 32], "u-1"), "enrollment key"),
        (
            "vve1.garbage.x".to_owned(),
            "not a Visavis enrollment token",
        ),
    ];
    for (token, says) in cases {
        let (mut ws, reply) = server.enroll(&token, &key).await;
        let ServerToDevice::Error { code, message } = reply else {
            panic!("expected a refusal, got {reply:?}");
        };
        assert_eq!(code, ErrorCode::EnrollmentRefused);
        assert!(message.contains(says), "{message}");
        expect_closed(&mut ws).await;
    }
    let token = common::token(&common::FLEET_KEY, "u-2");
    server.clock.advance(Duration::from_secs(3600));
    let (_ws, reply) = server.enroll(&token, &key).await;
    let ServerToDevice::Error { code, message } = reply else {
        panic!("expected a refusal, got {reply:?}");
    };
    assert_eq!(code, ErrorCode::EnrollmentRefused);
    assert!(message.contains("expired"), "{message}");
}

#[tokio::test]
async fn knock_admit_and_relay_between_unit_and_guest() {
    let server = Server::start().await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let (mut guest, guest_id) = server.knock(&mut device, &token, "  Camille ").await;

    // Signaling before admission is refused and not forwarded.
    send(&mut guest, &GuestToServer::Signal { payload: offer() }).await;
    assert_eq!(
        code_of_guest(recv(&mut guest).await).0,
        ErrorCode::NotAllowed
    );
    send(
        &mut device,
        &DeviceToServer::Signal {
            guest_id: guest_id.clone(),
            payload: answer(),
        },
    )
    .await;
    assert_eq!(
        code_of_device(recv(&mut device).await),
        ErrorCode::NotAllowed
    );

    send(
        &mut device,
        &DeviceToServer::Admit {
            guest_id: guest_id.clone(),
        },
    )
    .await;
    assert_eq!(
        recv::<ServerToGuest>(&mut guest).await,
        ServerToGuest::Admitted {
            ice_servers: vec![],
            guest_id: guest_id.clone()
        }
    );

    send(&mut guest, &GuestToServer::Signal { payload: offer() }).await;
    assert_eq!(
        recv::<ServerToDevice>(&mut device).await,
        ServerToDevice::Signal {
            guest_id: guest_id.clone(),
            payload: offer()
        },
        "the first signal the unit sees is the one after admission"
    );
    send(
        &mut device,
        &DeviceToServer::Signal {
            guest_id: guest_id.clone(),
            payload: answer(),
        },
    )
    .await;
    assert_eq!(
        recv::<ServerToGuest>(&mut guest).await,
        ServerToGuest::Signal {
            payload: answer(),
            seq: 1
        }
    );
    let candidate = SignalPayload::Candidate {
        candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
    };
    send(
        &mut guest,
        &GuestToServer::Signal {
            payload: candidate.clone(),
        },
    )
    .await;
    assert_eq!(
        recv::<ServerToDevice>(&mut device).await,
        ServerToDevice::Signal {
            guest_id: guest_id.clone(),
            payload: candidate
        }
    );
    // The end-of-candidates marker, as a browser sends it, passes unchanged.
    send_text(
        &mut guest,
        r#"{"type":"signal","payload":{"kind":"candidate","candidate":"","sdp_mid":null,"sdp_mline_index":null}}"#,
    )
    .await;
    assert_eq!(
        recv::<ServerToDevice>(&mut device).await,
        ServerToDevice::Signal {
            guest_id: guest_id.clone(),
            payload: SignalPayload::Candidate {
                candidate: String::new(),
                sdp_mid: None,
                sdp_mline_index: None
            }
        }
    );

    send(&mut guest, &GuestToServer::Leave).await;
    expect_closed(&mut guest).await;
    assert_eq!(
        recv::<ServerToDevice>(&mut device).await,
        ServerToDevice::GuestLeft { guest_id }
    );
}

#[tokio::test]
async fn a_closed_guest_socket_tells_the_unit() {
    let server = Server::start().await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let (guest, guest_id) = server.knock(&mut device, &token, "Léa").await;
    drop(guest);
    assert_eq!(
        recv::<ServerToDevice>(&mut device).await,
        ServerToDevice::GuestLeft { guest_id }
    );
}

#[tokio::test]
async fn a_denied_guest_is_told_and_closed() {
    let server = Server::start().await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let (mut guest, guest_id) = server.knock(&mut device, &token, "Léa").await;
    send(
        &mut device,
        &DeviceToServer::Deny {
            guest_id: guest_id.clone(),
        },
    )
    .await;
    assert_eq!(
        recv::<ServerToGuest>(&mut guest).await,
        ServerToGuest::Denied
    );
    expect_closed(&mut guest).await;
    // The guest is gone: admitting it now is an error, and no guest_left was sent before.
    send(&mut device, &DeviceToServer::Admit { guest_id }).await;
    assert_eq!(
        code_of_device(recv(&mut device).await),
        ErrorCode::UnknownGuest
    );
}

#[tokio::test]
async fn ending_the_session_ends_every_guest() {
    let server = Server::start().await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let (mut a, _) = server.admitted(&mut device, &token, "A").await;
    let (mut b, _) = server.knock(&mut device, &token, "B").await;

    send(&mut device, &DeviceToServer::EndSession).await;
    for guest in [&mut a, &mut b] {
        assert_eq!(
            recv::<ServerToGuest>(guest).await,
            ServerToGuest::SessionEnded
        );
        expect_closed(guest).await;
    }
    // No guest_left follows an end the unit asked for: the next reply is to the next request.
    let (_, _) = server.invite(&mut device, None).await;
}

#[tokio::test]
async fn malformed_messages_get_bad_message_and_the_socket_stays_up() {
    let server = Server::start().await;
    let mut device = server.device().await;
    send_text(&mut device, "{not json").await;
    let ServerToDevice::Error { code, message } = recv(&mut device).await else {
        panic!("expected an error")
    };
    assert_eq!(code, ErrorCode::BadMessage);
    assert!(message.contains("not valid JSON"), "{message}");
    send_text(&mut device, r#"{"type":"dance"}"#).await;
    let ServerToDevice::Error { code, message } = recv(&mut device).await else {
        panic!("expected an error")
    };
    assert_eq!(code, ErrorCode::BadMessage);
    assert!(message.contains("dance"), "{message}");
    let (token, _) = server.invite(&mut device, None).await;

    let mut guest = server.ws(&format!("/ws/guest/{token}")).await;
    send_text(&mut guest, r#"{"type":"join","nom":"x"}"#).await;
    let (code, message) = code_of_guest(recv(&mut guest).await);
    assert_eq!(code, ErrorCode::BadMessage);
    assert!(message.contains("nom"), "{message}");
    send(&mut guest, &GuestToServer::Join { name: "   ".into() }).await;
    assert_eq!(
        code_of_guest(recv(&mut guest).await).0,
        ErrorCode::InvalidName
    );
    send(
        &mut guest,
        &GuestToServer::Join {
            name: "Camille".into(),
        },
    )
    .await;
    assert_eq!(
        recv::<ServerToGuest>(&mut guest).await,
        ServerToGuest::Waiting
    );
}

#[tokio::test]
async fn oversized_messages_are_refused() {
    let server = Server::start().await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let mut guest = server.ws(&format!("/ws/guest/{token}")).await;
    let huge = format!(r#"{{"type":"join","name":"{}"}}"#, "x".repeat(70 * 1024));
    send_text(&mut guest, &huge).await;
    assert_eq!(
        code_of_guest(recv(&mut guest).await).0,
        ErrorCode::BadMessage
    );
    expect_closed(&mut guest).await;
}

#[tokio::test]
async fn joining_an_offline_unit_says_so() {
    let mut config = common::config();
    config.rate_limit.burst = 1000;
    let server = Server::start_with(config).await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    device.close(None).await.unwrap();
    expect_closed(&mut device).await;

    // The server forgets the unit just after the close handshake: retry until it has.
    for _ in 0..200 {
        let mut guest = server.ws(&format!("/ws/guest/{token}")).await;
        send(&mut guest, &GuestToServer::Join { name: "A".into() }).await;
        match recv::<ServerToGuest>(&mut guest).await {
            ServerToGuest::Error { code, .. } => {
                assert_eq!(code, ErrorCode::DeviceOffline);
                expect_closed(&mut guest).await;
                return;
            }
            ServerToGuest::Waiting => tokio::task::yield_now().await,
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!("the unit never went offline");
}

#[tokio::test]
async fn a_new_unit_connection_replaces_the_old_one() {
    let server = Server::start().await;
    let mut first = server.device().await;
    let (token, _) = server.invite(&mut first, None).await;
    let (_guest, guest_id) = server.knock(&mut first, &token, "Camille").await;

    let mut second = server.device().await;
    assert_eq!(code_of_device(recv(&mut first).await), ErrorCode::Replaced);
    expect_closed(&mut first).await;
    assert_eq!(
        recv::<ServerToDevice>(&mut second).await,
        ServerToDevice::GuestKnock {
            guest_id,
            name: "Camille".into(),
            ice_servers: vec![]
        },
        "guests still waiting knock again"
    );
}

#[tokio::test]
async fn shutdown_closes_sockets_and_returns() {
    let server = Server::start().await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let (mut guest, _) = server.knock(&mut device, &token, "A").await;
    server.shutdown().await.unwrap();
    expect_closed(&mut device).await;
    expect_closed(&mut guest).await;
}

/// One address may have a few guests waiting at a unit, not every place of the call; a
/// guest told "Not now" may not knock again at once, and the cool-down ends.
#[tokio::test]
async fn one_address_cannot_fill_the_waiting_room_or_knock_again_right_after_not_now() {
    let server = Server::start().await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let mut waiting = Vec::new();
    for i in 0..MAX_WAITING_PER_ADDRESS {
        waiting.push(
            server
                .knock(&mut device, &token, &format!("Guest {i}"))
                .await,
        );
    }
    let mut one_more = server.ws(&format!("/ws/guest/{token}")).await;
    send(
        &mut one_more,
        &GuestToServer::Join {
            name: "More".into(),
        },
    )
    .await;
    let (code, message) = code_of_guest(recv(&mut one_more).await);
    assert_eq!(code, ErrorCode::RateLimited, "{message}");
    expect_closed(&mut one_more).await;

    let (mut denied, guest_id) = waiting.remove(0);
    send(&mut device, &DeviceToServer::Deny { guest_id }).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut denied).await,
        ServerToGuest::Denied
    );
    let mut again = server.ws(&format!("/ws/guest/{token}")).await;
    send(
        &mut again,
        &GuestToServer::Join {
            name: "Again".into(),
        },
    )
    .await;
    let (code, message) = code_of_guest(recv(&mut again).await);
    assert_eq!(code, ErrorCode::RateLimited);
    assert!(message.contains("not now"), "{message}");
    expect_closed(&mut again).await;

    server.clock.advance(Duration::from_secs(61));
    server.knock(&mut device, &token, "Later").await;
}

#[tokio::test]
async fn a_guest_beyond_the_most_a_call_holds_gets_session_full() {
    let mut config = common::config();
    config.rate_limit.burst = 1000;
    let server = Server::start_with(config).await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let mut guests = Vec::new();
    for i in 0..MAX_GUESTS_PER_SESSION {
        // Let in as they come: all knock from 127.0.0.1, which may only have a few waiting.
        guests.push(
            server
                .admitted(&mut device, &token, &format!("Guest {i}"))
                .await,
        );
    }

    let mut late = server.ws(&format!("/ws/guest/{token}")).await;
    send(
        &mut late,
        &GuestToServer::Join {
            name: "Late".into(),
        },
    )
    .await;
    let (code, message) = code_of_guest(recv(&mut late).await);
    assert_eq!(code, ErrorCode::SessionFull);
    assert!(
        message.contains(&format!("{MAX_GUESTS_PER_SESSION} guests")),
        "{message}"
    );
    expect_closed(&mut late).await;

    // One leaving makes room again.
    let (mut first, _) = guests.remove(0);
    send(&mut first, &GuestToServer::Leave).await;
    assert!(matches!(
        recv::<ServerToDevice>(&mut device).await,
        ServerToDevice::GuestLeft { .. }
    ));
    server.knock(&mut device, &token, "Late").await;
}

/// With `[turn]`, the unit hears each knock with credentials of its own and each admitted
/// guest gets credentials of their own, minted at that moment: a guest let in after the
/// first credentials expired gets fresh ones.
#[tokio::test]
async fn turn_credentials_are_minted_per_party_when_they_are_needed() {
    use visavis_api::fleet::turn::{TurnMinter, TurnSecret};
    let mut config = common::config();
    config.invite_ttl_secs = 3600;
    config.turn = Some(TurnMinter {
        urls: vec![
            "turn:198.18.0.3:3478?transport=udp".into(),
            "turns:198.18.0.3:443?transport=tcp".into(),
        ],
        secret: TurnSecret::new("rotating-secret-0123456789"),
        ttl_secs: 600,
    });
    let server = Server::start_with(config).await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, Some(3600)).await;

    let mut guest = server.ws(&format!("/ws/guest/{token}")).await;
    send(&mut guest, &GuestToServer::Join { name: "Ana".into() }).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut guest).await,
        ServerToGuest::Waiting
    );
    let (guest_id, unit_ice) = match recv::<ServerToDevice>(&mut device).await {
        ServerToDevice::GuestKnock {
            guest_id,
            ice_servers,
            ..
        } => (guest_id, ice_servers),
        other => panic!("expected a knock, got {other:?}"),
    };
    let expiry = common::START + 600;
    assert_eq!(
        unit_ice[0].username.as_deref(),
        Some(format!("{expiry}:unit:{}", common::DEVICE).as_str())
    );
    assert_eq!(unit_ice[0].urls.len(), 2);

    let admit = |guest_id: String| DeviceToServer::Admit { guest_id };
    send(&mut device, &admit(guest_id.clone())).await;
    let ServerToGuest::Admitted { ice_servers, .. } = recv::<ServerToGuest>(&mut guest).await
    else {
        panic!("expected admitted");
    };
    assert_eq!(
        ice_servers[0].username.as_deref(),
        Some(format!("{expiry}:{guest_id}").as_str())
    );
    assert_ne!(ice_servers[0].credential, unit_ice[0].credential);

    // Twenty minutes on, the first credentials have expired; the next guest's are new.
    server.clock.advance(std::time::Duration::from_secs(1200));
    let (mut late, late_id) = server.knock(&mut device, &token, "Bo").await;
    send(&mut device, &admit(late_id.clone())).await;
    let ServerToGuest::Admitted { ice_servers, .. } = recv::<ServerToGuest>(&mut late).await else {
        panic!("expected admitted");
    };
    let later = common::START + 1200 + 600;
    assert_eq!(
        ice_servers[0].username.as_deref(),
        Some(format!("{later}:{late_id}").as_str())
    );
}

/// A page checks its socket with `ping` and hears `pong` at once, before and after being
/// let in; a page pinging far faster than the page does is closed, the unit unharmed.
#[tokio::test]
async fn a_ping_is_answered_and_a_ping_flood_closes_the_sender() {
    use visavis_rendezvous::ws_guest::PING_BURST;
    let server = Server::start().await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let (mut waiting, _) = server.knock(&mut device, &token, "Camille").await;
    send(&mut waiting, &GuestToServer::Ping).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut waiting).await,
        ServerToGuest::Pong
    );
    let (mut guest, jo) = server.admitted(&mut device, &token, "Jo").await;
    send(&mut guest, &GuestToServer::Ping).await;
    assert_eq!(recv::<ServerToGuest>(&mut guest).await, ServerToGuest::Pong);

    // The bucket holds a few (the test's clock does not move): then the sender is closed.
    for _ in 1..PING_BURST as usize {
        send(&mut guest, &GuestToServer::Ping).await;
        assert_eq!(recv::<ServerToGuest>(&mut guest).await, ServerToGuest::Pong);
    }
    send(&mut guest, &GuestToServer::Ping).await;
    let (code, message) = code_of_guest(recv(&mut guest).await);
    assert_eq!(code, ErrorCode::RateLimited, "{message}");
    expect_closed(&mut guest).await;
    // A second later there is one more.
    server.clock.advance(Duration::from_secs(1));
    send(&mut waiting, &GuestToServer::Ping).await;
    assert_eq!(
        recv::<ServerToGuest>(&mut waiting).await,
        ServerToGuest::Pong
    );
    // The unit is told Jo left (closed by rendezvous: no place held), and is still there.
    assert_eq!(
        recv::<ServerToDevice>(&mut device).await,
        ServerToDevice::GuestLeft { guest_id: jo }
    );
    server.invite(&mut device, None).await;
}
