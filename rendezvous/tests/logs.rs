//! What rendezvous logs about units and fleet admin requests: device ids and outcomes,
//! never an enrollment token, a key, a signature or the admin credential.
//!
//! Its own test binary, because it installs the process-wide log subscriber.

#![allow(clippy::unwrap_used)] // a failure here is a failed test

mod common;

use std::sync::Mutex;

use common::{Server, recv, send};
use visavis_api::fleet::auth::{admin_credential, challenge_message};
use visavis_api::fleet::b64;
use visavis_api::fleet::enrollment;
use visavis_api::fleet::keys::DeviceKey;
use visavis_api::signaling::{DeviceToServer, ServerToDevice};

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Enroll (or say hello) by hand, returning the reply and the signature sent.
async fn answer(server: &Server, msg: impl Fn(&str) -> DeviceToServer) -> (ServerToDevice, String) {
    let (mut ws, challenge) = server.challenged().await;
    let msg = msg(&challenge);
    let signature = match &msg {
        DeviceToServer::Hello { signature, .. } | DeviceToServer::Enroll { signature, .. } => {
            signature.clone()
        }
        other => panic!("not a first message: {other:?}"),
    };
    send(&mut ws, &msg).await;
    (recv(&mut ws).await, signature)
}

#[tokio::test]
async fn logs_name_units_and_outcomes_but_no_secrets() {
    tracing_subscriber::fmt()
        .with_writer(|| Capture)
        .with_ansi(false)
        .with_env_filter("visavis_rendezvous=trace")
        .init();

    let server = Server::start().await;
    let key = common::device_key();
    let thief = DeviceKey::from_bytes(&[6; 32]);
    let token = common::token(&common::FLEET_KEY, common::DEVICE);
    let foreign = common::token(&[0; 32], common::DEVICE);
    let mut secrets = vec![
        token.clone(),
        foreign.clone(),
        key.public_key(),
        thief.public_key(),
        b64(&common::FLEET_KEY),
        admin_credential(&common::FLEET_KEY),
        admin_credential(&[1; 32]),
        enrollment::peek(&token).unwrap().nonce,
    ];
    // Each part of the tokens too (claims, MAC).
    for t in [&token, &foreign] {
        secrets.extend(t.split('.').filter(|p| p.len() > 8).map(str::to_owned));
    }

    // The unit's key is [9; 32] (common::device_key), the thief's [6; 32].
    let enroll = |token: &str, seed: [u8; 32]| {
        let token = token.to_owned();
        move |challenge: &str| {
            let key = DeviceKey::from_bytes(&seed);
            DeviceToServer::Enroll {
                protocol: 1,
                token: token.clone(),
                public_key: key.public_key(),
                signature: key.sign(&challenge_message(common::DEVICE, challenge)),
            }
        }
    };
    let hello = |seed: [u8; 32]| {
        move |challenge: &str| DeviceToServer::Hello {
            device_id: common::DEVICE.into(),
            protocol: 1,
            signature: DeviceKey::from_bytes(&seed)
                .sign(&challenge_message(common::DEVICE, challenge)),
        }
    };

    let mut replies = Vec::new();
    for msg in [
        Box::new(enroll(&token, [9; 32])) as Box<dyn Fn(&str) -> DeviceToServer>,
        Box::new(enroll(&token, [6; 32])),
        Box::new(enroll(&foreign, [9; 32])),
        Box::new(hello([9; 32])),
        Box::new(hello([6; 32])),
    ] {
        let (reply, signature) = answer(&server, msg).await;
        secrets.push(signature);
        replies.push(reply);
    }
    assert!(matches!(replies[0], ServerToDevice::Welcome { .. }));
    assert!(matches!(replies[1], ServerToDevice::Error { .. }));
    assert!(matches!(replies[2], ServerToDevice::Error { .. }));
    assert!(matches!(replies[3], ServerToDevice::Welcome { .. }));
    assert!(matches!(replies[4], ServerToDevice::Error { .. }));

    let client = reqwest::Client::new();
    for credential in [
        admin_credential(&[1; 32]),
        admin_credential(&common::FLEET_KEY),
    ] {
        client
            .post(format!(
                "{}/api/fleet/devices/{}/revoke",
                server.base,
                common::DEVICE
            ))
            .bearer_auth(credential)
            .send()
            .await
            .unwrap();
    }
    server.shutdown().await.unwrap();

    let logs = String::from_utf8(LOGS.lock().unwrap().clone()).unwrap();
    for says in [
        "unit enrolled",
        "token already used",
        "not issued with this server's enrollment key",
        "unit authenticated",
        "bad signature",
        "wrong credential",
        "unit revoked",
    ] {
        assert!(logs.contains(says), "the logs should say {says:?}:\n{logs}");
    }
    assert!(logs.contains(common::DEVICE), "{logs}");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret ({}...) is in the logs:\n{logs}",
            &secret[..6]
        );
    }
}
