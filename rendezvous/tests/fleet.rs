//! The device registry and the fleet admin API: revocation, listing, and a registry that
//! outlives the server process's state.

#![allow(clippy::unwrap_used)] // a failure here is a failed test

mod common;

use std::time::Duration;

use common::{Server, expect_closed, recv};
use visavis_api::fleet::auth::admin_credential;
use visavis_api::fleet::keys::DeviceKey;
use visavis_api::signaling::{ErrorCode, ServerToDevice};
use visavis_rendezvous::config::RateLimit;

async fn admin(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    credential: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", server.base));
    if let Some(c) = credential {
        request = request.header("authorization", format!("Bearer {c}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

fn code(reply: ServerToDevice) -> ErrorCode {
    match reply {
        ServerToDevice::Error { code, .. } => code,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn welcome() -> ServerToDevice {
    ServerToDevice::Welcome {
        device_id: common::DEVICE.into(),
    }
}

#[tokio::test]
async fn admin_requests_need_the_fleet_credential() {
    let server = Server::start().await;
    let get = reqwest::Method::GET;
    let (status, body) = admin(&server, get.clone(), "/api/fleet/devices", None).await;
    assert_eq!(status, 401);
    assert!(
        body["error"].as_str().unwrap().contains("enrollment key"),
        "{body}"
    );
    let wrong = admin_credential(&[1; 32]);
    let (status, _) = admin(&server, get.clone(), "/api/fleet/devices", Some(&wrong)).await;
    assert_eq!(status, 401);
    let right = admin_credential(&common::FLEET_KEY);
    let (status, body) = admin(&server, get, "/api/fleet/devices", Some(&right)).await;
    assert_eq!(status, 200);
    assert_eq!(body["devices"], serde_json::json!([]));
}

#[tokio::test]
async fn a_revoked_unit_is_thrown_out_and_refused_from_then_on() {
    let server = Server::start().await;
    let right = admin_credential(&common::FLEET_KEY);
    let mut connected = server.device().await;

    let (status, body) = admin(
        &server,
        reqwest::Method::GET,
        "/api/fleet/devices",
        Some(&right),
    )
    .await;
    assert_eq!(status, 200);
    let unit = &body["devices"][0];
    assert_eq!(unit["device_id"], common::DEVICE);
    assert_eq!(unit["store"], "Paris 9e");
    assert_eq!(unit["public_key"], common::device_key().public_key());
    assert_eq!(unit["last_seen"], common::START);
    assert!(unit["revoked_at"].is_null());

    let path = format!("/api/fleet/devices/{}/revoke", common::DEVICE);
    let (status, body) = admin(&server, reqwest::Method::POST, &path, Some(&right)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revoked_at"], common::START);
    assert_eq!(code(recv(&mut connected).await), ErrorCode::Revoked);
    expect_closed(&mut connected).await;

    let (mut ws, reply) = server.hello(common::DEVICE, &common::device_key()).await;
    assert_eq!(code(reply), ErrorCode::Revoked);
    expect_closed(&mut ws).await;
    let token = common::token(&common::FLEET_KEY, common::DEVICE);
    let (_ws, reply) = server
        .enroll(&token, &DeviceKey::from_bytes(&[5; 32]))
        .await;
    assert_eq!(
        code(reply),
        ErrorCode::Revoked,
        "a new token does not bring it back"
    );

    // Revoking again, or a unit that never enrolled (a lost SD card), works too.
    let (status, _) = admin(&server, reqwest::Method::POST, &path, Some(&right)).await;
    assert_eq!(status, 200);
    let (status, _) = admin(
        &server,
        reqwest::Method::POST,
        "/api/fleet/devices/lost-card-12/revoke",
        Some(&right),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = admin(
        &server,
        reqwest::Method::POST,
        "/api/fleet/devices/bad%20id/revoke",
        Some(&right),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn the_registry_survives_a_restart() {
    let config = common::config();
    let server = Server::start_with(config.clone()).await;
    drop(server.device().await);
    server.shutdown().await.unwrap();

    let server = Server::start_with(config).await;
    let (_ws, reply) = server.hello(common::DEVICE, &common::device_key()).await;
    assert_eq!(reply, welcome(), "the enrolled key is still known");
    let right = admin_credential(&common::FLEET_KEY);
    let (_, body) = admin(
        &server,
        reqwest::Method::GET,
        "/api/fleet/devices",
        Some(&right),
    )
    .await;
    assert_eq!(body["devices"].as_array().unwrap().len(), 1);
    assert_eq!(body["devices"][0]["device_id"], common::DEVICE);
    assert_eq!(body["devices"][0]["enrolled_at"], common::START);
}

#[tokio::test]
async fn failed_attempts_use_up_the_allowance_and_successes_give_it_back() {
    let mut config = common::config();
    config.rate_limit = RateLimit {
        burst: 3,
        per_minute: 60,
    };
    let server = Server::start_with(config).await;
    let right = admin_credential(&common::FLEET_KEY);
    drop(server.device().await);
    // A store's units behind one address reconnect as often as they need.
    for _ in 0..6 {
        let (_ws, reply) = server.hello(common::DEVICE, &common::device_key()).await;
        assert_eq!(reply, welcome());
    }
    let (status, _) = admin(
        &server,
        reqwest::Method::GET,
        "/api/fleet/devices",
        Some(&right),
    )
    .await;
    assert_eq!(status, 200);

    let other = DeviceKey::from_bytes(&[9; 32]);
    let (_ws, reply) = server
        .enroll(&common::token(&common::FLEET_KEY, "unit-2"), &other)
        .await;
    assert!(matches!(reply, ServerToDevice::Welcome { .. }), "{reply:?}");

    // Guessing does not: three wrong signatures as this unit, three wrong admin
    // credentials, and each is held (the enrollment failure counts with the admin's, under
    // no unit id).
    let stranger = DeviceKey::from_bytes(&[1; 32]);
    for _ in 0..3 {
        let (_ws, reply) = server.hello(common::DEVICE, &stranger).await;
        assert_eq!(code(reply), ErrorCode::Unauthorized);
    }
    let (_ws, reply) = server
        .enroll(&common::token(&[0; 32], common::DEVICE), &stranger)
        .await;
    assert_eq!(code(reply), ErrorCode::EnrollmentRefused);
    for _ in 0..2 {
        let (status, _) = admin(
            &server,
            reqwest::Method::GET,
            "/api/fleet/devices",
            Some("guess"),
        )
        .await;
        assert_eq!(status, 401);
    }

    // The allowance is used up: even the right key and credential wait.
    let (mut ws, reply) = server.hello(common::DEVICE, &common::device_key()).await;
    assert_eq!(code(reply), ErrorCode::RateLimited);
    expect_closed(&mut ws).await;
    let (status, body) = admin(
        &server,
        reqwest::Method::GET,
        "/api/fleet/devices",
        Some(&right),
    )
    .await;
    assert_eq!(status, 429);
    assert!(body["error"].as_str().unwrap().contains("wait"), "{body}");
    // Another unit behind the same address (the store's) is not held for them.
    let (_ws, reply) = server.hello("unit-2", &other).await;
    assert_eq!(
        reply,
        ServerToDevice::Welcome {
            device_id: "unit-2".into()
        }
    );

    // One token a second comes back.
    server.clock.advance(Duration::from_secs(1));
    let (_ws, reply) = server.hello(common::DEVICE, &common::device_key()).await;
    assert_eq!(reply, welcome());
    let (status, _) = admin(
        &server,
        reqwest::Method::GET,
        "/api/fleet/devices",
        Some(&right),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_broken_registry_answers_internal_and_the_server_stays_up() {
    let config = common::config();
    let database = config.database.clone();
    let server = Server::start_with(config).await;
    drop(server.device().await);
    rusqlite::Connection::open(&database)
        .unwrap()
        .execute_batch("DROP TABLE devices")
        .unwrap();

    let (mut ws, reply) = server.hello(common::DEVICE, &common::device_key()).await;
    let ServerToDevice::Error { code, message } = reply else {
        panic!("expected an error, got {reply:?}");
    };
    assert_eq!(code, ErrorCode::Internal);
    assert!(message.contains("registry"), "{message}");
    expect_closed(&mut ws).await;
    let right = admin_credential(&common::FLEET_KEY);
    let (status, body) = admin(
        &server,
        reqwest::Method::GET,
        "/api/fleet/devices",
        Some(&right),
    )
    .await;
    assert_eq!(status, 500);
    assert!(
        body["error"].as_str().unwrap().contains("registry"),
        "{body}"
    );
    assert_eq!(server.get("/healthz").await.status(), 200);
}
