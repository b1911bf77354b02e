//! Helpers for the rendezvous integration tests: an in-process server on port 0 with a manual
//! clock, WebSocket clients for a fake unit and fake guests, and an HTTP client.

#![allow(dead_code)] // each test file uses a different subset
#![allow(clippy::unwrap_used)] // test helpers: a failure here is a failed test

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use visavis_api::fleet::auth::challenge_message;
use visavis_api::fleet::enrollment::{self, Claims};
use visavis_api::fleet::keys::DeviceKey;
use visavis_api::signaling::{DeviceToServer, GuestToServer, ServerToDevice, ServerToGuest};
use visavis_rendezvous::clock::ManualClock;
use visavis_rendezvous::{Config, ServeError, run_with_clock};

pub const DEVICE: &str = "demo-unit";
/// The fleet's enrollment key in these tests.
pub const FLEET_KEY: [u8; 32] = [42; 32];
/// Where the manual clock starts (Unix seconds).
pub const START: u64 = 1_700_000_000;

/// The test unit's own key.
pub fn device_key() -> DeviceKey {
    DeviceKey::from_bytes(&[9; 32])
}

/// A loopback config with [`FLEET_KEY`] and a fresh registry file.
pub fn config() -> Config {
    let dir = std::env::temp_dir().join(format!(
        "visavis-rdv-test-{}",
        visavis_api::fleet::b64(&visavis_api::fleet::random::<8>())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    Config::loopback(FLEET_KEY, dir.join("registry.sqlite3"))
}

/// A one-time enrollment token for `device_id`, signed with `key`, valid for an hour.
pub fn token(key: &[u8; 32], device_id: &str) -> String {
    token_expiring(key, device_id, START + 3600)
}

/// [`token`] expiring at `expires_at` (Unix seconds): a later expiry is a newer token.
pub fn token_expiring(key: &[u8; 32], device_id: &str, expires_at: u64) -> String {
    enrollment::issue(
        key,
        &Claims {
            device_id: device_id.into(),
            store: "Paris 9e".into(),
            location: "Cabine 3".into(),
            mode: visavis_api::Mode::FittingRoom,
            expires_at,
            nonce: enrollment::new_nonce(),
        },
    )
}
/// Upper bound on any single wait; tests never sleep to synchronise.
pub const PATIENCE: Duration = Duration::from_secs(5);

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Server {
    pub base: String,
    pub ws_base: String,
    pub clock: Arc<ManualClock>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(config()).await
    }

    pub async fn start_with(config: Config) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let clock = Arc::new(ManualClock::new(Duration::from_secs(START)));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run_with_clock(listener, config, clock.clone(), async {
            let _ = stopped.await;
        }));
        Server {
            base: format!("http://{addr}"),
            ws_base: format!("ws://{addr}"),
            clock,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stop the server and wait for `run` to return.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().unwrap();
        tokio::time::timeout(PATIENCE, task)
            .await
            .expect("run returns after shutdown")
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(format!("{}{path}", self.base)).await.unwrap()
    }

    pub async fn ws(&self, path: &str) -> Ws {
        let (ws, _) = tokio_tungstenite::connect_async(format!("{}{path}", self.ws_base))
            .await
            .unwrap();
        ws
    }

    /// The challenge a fresh unit socket opens with.
    pub async fn challenged(&self) -> (Ws, String) {
        let mut ws = self.ws("/ws/device").await;
        match recv::<ServerToDevice>(&mut ws).await {
            ServerToDevice::Challenge { challenge } => (ws, challenge),
            other => panic!("expected a challenge, got {other:?}"),
        }
    }

    /// Answer the challenge with `enroll` for `token`, signing with `key`.
    pub async fn enroll(&self, token: &str, key: &DeviceKey) -> (Ws, ServerToDevice) {
        let (mut ws, challenge) = self.challenged().await;
        let device_id = enrollment::peek(token)
            .map(|c| c.device_id)
            .unwrap_or_default();
        send(
            &mut ws,
            &DeviceToServer::Enroll {
                protocol: 1,
                token: token.into(),
                public_key: key.public_key(),
                signature: key.sign(&challenge_message(&device_id, &challenge)),
            },
        )
        .await;
        let reply = recv(&mut ws).await;
        (ws, reply)
    }

    /// Answer the challenge with `hello` as `device_id`, signing with `key`.
    pub async fn hello(&self, device_id: &str, key: &DeviceKey) -> (Ws, ServerToDevice) {
        let (mut ws, challenge) = self.challenged().await;
        send(
            &mut ws,
            &DeviceToServer::Hello {
                device_id: device_id.into(),
                protocol: 1,
                signature: key.sign(&challenge_message(device_id, &challenge)),
            },
        )
        .await;
        let reply = recv(&mut ws).await;
        (ws, reply)
    }

    /// The test unit, enrolled (the first time) or saying hello, and welcomed.
    pub async fn device(&self) -> Ws {
        let (ws, reply) = self.enroll(&token(&FLEET_KEY, DEVICE), &device_key()).await;
        assert_eq!(
            reply,
            ServerToDevice::Welcome {
                device_id: DEVICE.into()
            }
        );
        ws
    }

    /// Ask the unit's socket for an invite; returns (token, url).
    pub async fn invite(&self, device: &mut Ws, ttl_secs: Option<u64>) -> (String, String) {
        send(
            device,
            &DeviceToServer::CreateInvite {
                request_id: 7,
                ttl_secs,
            },
        )
        .await;
        match recv::<ServerToDevice>(device).await {
            ServerToDevice::Invite {
                request_id,
                token,
                url,
                ..
            } => {
                assert_eq!(request_id, 7);
                (token, url)
            }
            other => panic!("expected an invite, got {other:?}"),
        }
    }

    /// A guest joins through `token` as `name`, is told to wait, and the unit hears the
    /// knock; returns the guest's socket and id.
    pub async fn knock(&self, device: &mut Ws, token: &str, name: &str) -> (Ws, String) {
        let mut guest = self.ws(&format!("/ws/guest/{token}")).await;
        send(&mut guest, &GuestToServer::Join { name: name.into() }).await;
        assert_eq!(
            recv::<ServerToGuest>(&mut guest).await,
            ServerToGuest::Waiting
        );
        match recv::<ServerToDevice>(device).await {
            ServerToDevice::GuestKnock {
                guest_id,
                name: got,
                ..
            } => {
                assert_eq!(got, name.trim());
                (guest, guest_id)
            }
            other => panic!("expected a knock, got {other:?}"),
        }
    }

    /// A guest who knocked as `name` and whom the unit let in.
    pub async fn admitted(&self, device: &mut Ws, token: &str, name: &str) -> (Ws, String) {
        let (mut guest, guest_id) = self.knock(device, token, name).await;
        send(
            device,
            &DeviceToServer::Admit {
                guest_id: guest_id.clone(),
            },
        )
        .await;
        assert!(matches!(
            recv::<ServerToGuest>(&mut guest).await,
            ServerToGuest::Admitted { .. }
        ));
        (guest, guest_id)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn send<M: Serialize>(ws: &mut Ws, msg: &M) {
    send_text(ws, &serde_json::to_string(msg).unwrap()).await;
}

pub async fn send_text(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// The next JSON message (pings and pongs skipped).
pub async fn recv<M: DeserializeOwned>(ws: &mut Ws) -> M {
    loop {
        let next = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a message in time");
        match next {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(text.as_str())
                    .unwrap_or_else(|e| panic!("unexpected message {text}: {e}"));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// The socket closes next (a close frame, or the end of the stream).
pub async fn expect_closed(ws: &mut Ws) {
    loop {
        let next = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("the socket closes in time");
        match next {
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected the socket to close, got {other:?}"),
        }
    }
}

/// Status of a refused WebSocket upgrade.
pub async fn ws_refusal(url: &str) -> u16 {
    match tokio_tungstenite::connect_async(url).await {
        Ok(_) => panic!("the upgrade to {url} was accepted"),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// `data-reason` of an error page.
pub fn reason_of(body: &str) -> Option<&str> {
    let start = body.find("data-reason=\"")? + "data-reason=\"".len();
    let end = body[start..].find('"')? + start;
    Some(&body[start..end])
}
