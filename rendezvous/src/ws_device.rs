//! `GET /ws/device`: a unit's WebSocket.
//!
//! The server opens with `challenge` (32 random bytes). Within [`HELLO_TIMEOUT`] the unit
//! answers either `hello` (an enrolled unit: its id and its ed25519 signature of the
//! challenge, checked against the key in the [`devices`](crate::devices) registry) or
//! `enroll` (a new unit: the one-time token from its seed, its new public key and its
//! signature; the token is checked with the fleet's enrollment key and used up). A unit
//! that is unknown, revoked or whose signature or token does not hold gets
//! `error{unauthorized | revoked | enrollment_refused}` and the socket closes. After
//! `welcome`, the unit creates invites, admits or denies guests, relays SDP/ICE and ends
//! sessions. A bad message gets `error{bad_message}`; the socket stays up.
//!
//! Every hello or enroll takes a token from the client address's allowance of
//! authentication attempts and gives it back when it succeeds, so guessing tokens or
//! signatures runs out after `rate_limit.burst` failures (`error{rate_limited}`), while a
//! store whose units share one address reconnects freely. Logs name device ids and
//! outcomes, never tokens, keys or signatures.

use crate::client_ip::ClientIp;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use tokio::sync::mpsc;
use visavis_api::signaling::{DeviceToServer, ErrorCode, ServerToDevice};

use visavis_api::fleet::auth::challenge_message;
use visavis_api::fleet::{b64, enrollment, keys, random};

use crate::devices::EnrollRefusal;
use crate::hub::{Link, Outbound};
use crate::socket::{self, CLOSE_POLICY, Flow, Incoming, MAX_MESSAGE_BYTES};
use crate::state::AppState;
use crate::token;

/// How long a unit has to say hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// Messages queued for a unit before it counts as not reading.
const QUEUE: usize = 1024;

const EXPECTED: &str = "one of create_invite, admit, deny, signal, end_session";

pub async fn upgrade(
    State(app): State<Arc<AppState>>,
    ClientIp(client): ClientIp,
    ws: WebSocketUpgrade,
) -> Response {
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            let tracker = app.sockets.clone();
            tracker.track_future(session(app, socket, client))
        })
}

const REVOKED: &str = "this unit was revoked by its fleet's IT: re-provision it to bring it back";

fn error(code: ErrorCode, message: impl Into<String>) -> ServerToDevice {
    ServerToDevice::Error {
        code,
        message: message.into(),
    }
}

type Refusal = Option<ServerToDevice>;

/// Challenge the unit and wait for a valid hello or enrollment, charged to `client`'s
/// allowance of authentication attempts (given back on success). `Err(None)`: the peer
/// went away; `Err(Some(msg))`: tell it why.
async fn hello(
    app: &Arc<AppState>,
    socket: &mut WebSocket,
    client: IpAddr,
) -> Result<String, Refusal> {
    let challenge = b64(&random::<32>());
    socket::send_json(
        socket,
        &ServerToDevice::Challenge {
            challenge: challenge.clone(),
        },
    )
    .await
    .map_err(|_| None)?;
    let wait = async {
        loop {
            match socket.recv().await {
                Some(Ok(Message::Text(text))) => return Ok(text),
                Some(Ok(Message::Binary(_))) => {
                    return Err(Some(error(
                        ErrorCode::BadMessage,
                        "binary frames are not used: send a JSON hello message",
                    )));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => return Err(None),
            }
        }
    };
    let text = tokio::select! {
        r = tokio::time::timeout(HELLO_TIMEOUT, wait) => match r {
            Ok(r) => r?,
            Err(_) => {
                return Err(Some(error(
                    ErrorCode::Unauthorized,
                    format!("no hello within {} seconds", HELLO_TIMEOUT.as_secs()),
                )));
            }
        },
        () = app.shutdown.cancelled() => return Err(None),
    };
    // The unit it says it is (a hello's well-formed id; anything else counts under no id,
    // so a made-up id cannot make the limiter keep an arbitrary string).
    let claimed = match serde_json::from_str::<DeviceToServer>(text.as_str()) {
        Ok(DeviceToServer::Hello { device_id, .. })
            if visavis_api::fleet::check_device_id(&device_id).is_ok() =>
        {
            device_id
        }
        _ => String::new(),
    };
    if !app.begin_auth(client, &claimed) {
        tracing::warn!(%client, "unit refused: too many failed attempts from this address");
        return Err(Some(error(
            ErrorCode::RateLimited,
            "too many failed attempts from this address: wait a minute before trying again",
        )));
    }
    let outcome = first_message(app, text.as_str(), &challenge).await;
    // Only the client's own failures use up its allowance, not a registry failure.
    let not_its_fault = match &outcome {
        Ok(_) => true,
        Err(Some(ServerToDevice::Error { code, .. })) => *code == ErrorCode::Internal,
        Err(_) => false,
    };
    if not_its_fault {
        app.auth_succeeded(client, &claimed);
    }
    outcome
}

/// Check the unit's first message: a hello or an enrollment.
async fn first_message(
    app: &Arc<AppState>,
    text: &str,
    challenge: &str,
) -> Result<String, Refusal> {
    match serde_json::from_str::<DeviceToServer>(text) {
        Ok(DeviceToServer::Hello {
            device_id,
            signature,
            protocol,
        }) => authenticate(app, device_id, challenge, &signature, protocol).await,
        Ok(DeviceToServer::Enroll {
            token,
            public_key,
            signature,
            protocol,
        }) => enroll(app, &token, public_key, challenge, &signature, protocol).await,
        Ok(_) => Err(Some(error(
            ErrorCode::Unauthorized,
            "the first message must be hello (or enroll, the first time)",
        ))),
        Err(e) => Err(Some(error(
            ErrorCode::BadMessage,
            socket::parse_problem(&e, "a hello or enroll message"),
        ))),
    }
}

/// Run a registry call off the async threads; a failure is logged and becomes `internal`.
async fn registry<T: Send + 'static>(
    app: &Arc<AppState>,
    call: impl FnOnce(&crate::devices::DeviceRegistry) -> Result<T, crate::devices::RegistryError>
    + Send
    + 'static,
) -> Result<T, Refusal> {
    let devices = app.devices.clone();
    match tokio::task::spawn_blocking(move || call(&devices)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::error!("{e}");
            Err(Some(error(
                ErrorCode::Internal,
                "the device registry is unavailable; try again later",
            )))
        }
        Err(e) => {
            tracing::error!("device registry task failed: {e}");
            Err(Some(error(ErrorCode::Internal, "internal error")))
        }
    }
}

fn shown(device_id: &str) -> String {
    device_id.chars().take(64).collect()
}

async fn authenticate(
    app: &Arc<AppState>,
    device_id: String,
    challenge: &str,
    signature: &str,
    protocol: u32,
) -> Result<String, Refusal> {
    let id = device_id.clone();
    let record = registry(app, move |r| r.get(&id)).await?;
    let Some(record) = record else {
        tracing::warn!(device = ?shown(&device_id), "unit refused: not enrolled");
        return Err(Some(error(
            ErrorCode::Unauthorized,
            "unknown unit: it must first enroll with the one-time token from its seed (`provision bundle`)",
        )));
    };
    if record.revoked_at.is_some() {
        tracing::warn!(device = %device_id, "unit refused: revoked");
        return Err(Some(error(ErrorCode::Revoked, REVOKED)));
    }
    let signed = record
        .public_key
        .as_deref()
        .is_some_and(|key| keys::verify(key, &challenge_message(&device_id, challenge), signature));
    if !signed {
        tracing::warn!(device = %device_id, "unit refused: bad signature");
        return Err(Some(error(
            ErrorCode::Unauthorized,
            "the signature does not match this unit's enrolled key (was the unit re-flashed? re-provision it)",
        )));
    }
    tracing::info!(device = %device_id, protocol, "unit authenticated");
    Ok(device_id)
}

async fn enroll(
    app: &Arc<AppState>,
    token: &str,
    public_key: String,
    challenge: &str,
    signature: &str,
    protocol: u32,
) -> Result<String, Refusal> {
    let now = app.clock.now_secs();
    let claims = enrollment::verify(&app.enrollment_key.0, token, now).map_err(|e| {
        tracing::warn!("enrollment refused: {e}");
        Some(error(ErrorCode::EnrollmentRefused, e.to_string()))
    })?;
    if !keys::is_public_key(&public_key) {
        tracing::warn!(device = %claims.device_id, "enrollment refused: not a public key");
        return Err(Some(error(
            ErrorCode::EnrollmentRefused,
            "public_key is not an ed25519 public key (32 bytes, base64url)",
        )));
    }
    if !keys::verify(
        &public_key,
        &challenge_message(&claims.device_id, challenge),
        signature,
    ) {
        tracing::warn!(device = %claims.device_id, "enrollment refused: bad signature");
        return Err(Some(error(
            ErrorCode::Unauthorized,
            "the signature does not match the public key being enrolled",
        )));
    }
    let device_id = claims.device_id.clone();
    let outcome = registry(app, move |r| r.enroll(&claims, &public_key, now)).await?;
    match outcome {
        Ok(()) => {
            tracing::info!(device = %device_id, protocol, "unit enrolled");
            Ok(device_id)
        }
        Err(EnrollRefusal::Revoked) => {
            tracing::warn!(device = %device_id, "enrollment refused: revoked");
            Err(Some(error(ErrorCode::Revoked, REVOKED)))
        }
        Err(EnrollRefusal::TokenSuperseded) => {
            tracing::warn!(device = %device_id, "enrollment refused: a newer token enrolled this unit");
            Err(Some(error(
                ErrorCode::EnrollmentRefused,
                "this unit was enrolled with a newer seed than this one: write the newest seed \
                 (`provision bundle` makes one)",
            )))
        }
        Err(EnrollRefusal::TokenUsed) => {
            tracing::warn!(device = %device_id, "enrollment refused: token already used");
            Err(Some(error(
                ErrorCode::EnrollmentRefused,
                "this enrollment token was already used: re-run `provision bundle` and write the new seed",
            )))
        }
    }
}

async fn session(app: Arc<AppState>, mut socket: WebSocket, client: IpAddr) {
    let device_id = match hello(&app, &mut socket, client).await {
        Ok(id) => id,
        Err(reply) => {
            if let Some(reply) = reply {
                let _ = socket::send_json(&mut socket, &reply).await;
                socket::close(&mut socket, CLOSE_POLICY, "not authenticated").await;
            }
            return;
        }
    };

    let (tx, queue) = mpsc::channel(QUEUE);
    let kick = app.shutdown.child_token();
    let link = Link {
        tx,
        kick: kick.clone(),
    };
    link.send(Outbound::keep(ServerToDevice::Welcome {
        device_id: device_id.clone(),
    }));
    let conn = app.lock().hub.attach_device(&device_id, link.clone());
    // Checked again now that the unit is attached: a revocation that came after the check
    // in `hello` either finds this connection in the hub (and throws it out) or is seen here.
    let (id, now) = (device_id.clone(), app.clock.now_secs());
    match registry(&app, move |r| r.seen(&id, now)).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(device = %device_id, "unit revoked while connecting");
            app.throw_out_revoked(&device_id);
        }
        Err(reply) => {
            if let Some(reply) = reply {
                link.send(Outbound::then_close(reply));
            }
        }
    }

    let unreadable = error(
        ErrorCode::BadMessage,
        format!("the message could not be read (larger than {MAX_MESSAGE_BYTES} bytes?)"),
    );
    let ending = socket::drive(
        &mut socket,
        queue,
        kick,
        unreadable,
        app.socket_timing.device,
        |incoming| {
            let reply = match incoming {
                Incoming::Text(text) => match serde_json::from_str::<DeviceToServer>(text) {
                    Ok(msg) => handle(&app, &device_id, msg),
                    Err(e) => Some(error(
                        ErrorCode::BadMessage,
                        socket::parse_problem(&e, EXPECTED),
                    )),
                },
                Incoming::Binary => Some(error(
                    ErrorCode::BadMessage,
                    "binary frames are not used: send JSON text messages",
                )),
            };
            if let Some(reply) = reply {
                link.send(Outbound::keep(reply));
            }
            Flow::Continue
        },
    )
    .await;

    app.lock().hub.detach_device(&device_id, conn);
    tracing::info!(device = %device_id, how = ?ending, "unit disconnected");
}

/// Apply one message from an authenticated unit; returns a reply for the unit, if any.
fn handle(app: &AppState, device_id: &str, msg: DeviceToServer) -> Option<ServerToDevice> {
    match msg {
        DeviceToServer::Hello { .. } | DeviceToServer::Enroll { .. } => Some(error(
            ErrorCode::NotAllowed,
            "already authenticated: hello and enroll are only the first message",
        )),
        DeviceToServer::CreateInvite {
            request_id,
            ttl_secs,
        } => Some(create_invite(app, device_id, request_id, ttl_secs)),
        DeviceToServer::Admit { guest_id } => {
            let ice_servers = app.ice_servers_for(&guest_id);
            let r = app.lock().hub.admit(device_id, &guest_id, &ice_servers);
            match r {
                Ok(()) => {
                    tracing::info!(device = %device_id, guest = %guest_id, "guest admitted");
                    None
                }
                Err(e) => Some(error(e.code(), e.to_string())),
            }
        }
        DeviceToServer::Deny { guest_id } => {
            let now = app.clock.now();
            let r = app.lock().deny(device_id, &guest_id, now);
            match r {
                Ok(()) => {
                    tracing::info!(device = %device_id, guest = %guest_id, "guest denied");
                    None
                }
                Err(e) => Some(error(e.code(), e.to_string())),
            }
        }
        DeviceToServer::Signal { guest_id, payload } => {
            let r = app
                .lock()
                .hub
                .signal_to_guest(device_id, &guest_id, payload);
            r.err().map(|e| error(e.code(), e.to_string()))
        }
        DeviceToServer::EndSession => {
            let (session, guests) = {
                let mut shared = app.lock();
                let session = shared.registry.end_session(device_id);
                shared.session_ended(device_id);
                (session, shared.hub.end_session(device_id))
            };
            tracing::info!(device = %device_id, ?session, guests, "session ended");
            None
        }
        DeviceToServer::Restore { guests } => {
            if guests.len() > crate::hub::MAX_GUESTS_PER_SESSION {
                return Some(error(
                    ErrorCode::InvalidField,
                    format!(
                        "restore names {} guests; a call holds at most {}",
                        guests.len(),
                        crate::hub::MAX_GUESTS_PER_SESSION
                    ),
                ));
            }
            let named = guests.len();
            let missing = {
                let mut shared = app.lock();
                let session = shared.registry.session_for(device_id);
                shared.hub.restore(device_id, session, guests)
            };
            if missing > 0 {
                tracing::info!(device = %device_id, named, missing, "the unit restored its call: its guests may resume");
            }
            None
        }
    }
}

fn create_invite(
    app: &AppState,
    device_id: &str,
    request_id: u64,
    ttl_secs: Option<u64>,
) -> ServerToDevice {
    if ttl_secs == Some(0) {
        return error(ErrorCode::InvalidField, "ttl_secs must be at least 1");
    }
    let ttl = ttl_secs
        .unwrap_or(app.invite_ttl_secs)
        .min(app.invite_ttl_secs);
    let token = match token::new_token() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!("cannot create an invite: {e}");
            return error(ErrorCode::Internal, "could not create an invite");
        }
    };
    let made = app
        .lock()
        .registry
        .create(device_id, &token, ttl, app.clock.now_secs());
    match made {
        Ok(made) => {
            tracing::info!(
                device = %device_id,
                token = %token::log_prefix(&token),
                session = made.session.0,
                ttl,
                "invite created"
            );
            ServerToDevice::Invite {
                request_id,
                url: format!("{}/i/{token}", app.public_url),
                token,
                expires_at: made.expires_at,
            }
        }
        Err(e) => error(e.code(), e.to_string()),
    }
}
