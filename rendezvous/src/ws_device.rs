//! `GET /ws/device`: a unit's WebSocket.
//!
//! The first message must be `hello` within [`HELLO_TIMEOUT`], with a secret whose SHA-256
//! matches the config; otherwise the unit gets `error{unauthorized}` (or `bad_message`) and
//! the socket closes. After `welcome`, the unit creates invites, admits or denies guests,
//! relays SDP/ICE and ends sessions. A bad message gets `error{bad_message}`; the socket
//! stays up.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use tokio::sync::mpsc;
use visavis_api::signaling::{DeviceToServer, ErrorCode, ServerToDevice};

use crate::hub::{Link, Outbound};
use crate::socket::{self, CLOSE_POLICY, Flow, Incoming, MAX_MESSAGE_BYTES};
use crate::state::AppState;
use crate::token;

/// How long a unit has to say hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// Messages queued for a unit before it counts as not reading.
const QUEUE: usize = 1024;

const EXPECTED: &str = "one of hello, create_invite, admit, deny, signal, end_session";

pub async fn upgrade(State(app): State<Arc<AppState>>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            let tracker = app.sockets.clone();
            tracker.track_future(session(app, socket))
        })
}

fn error(code: ErrorCode, message: impl Into<String>) -> ServerToDevice {
    ServerToDevice::Error {
        code,
        message: message.into(),
    }
}

/// Wait for a valid hello. `Err(None)`: the peer went away; `Err(Some(msg))`: tell it why.
async fn hello(app: &AppState, socket: &mut WebSocket) -> Result<String, Option<ServerToDevice>> {
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
    match serde_json::from_str::<DeviceToServer>(text.as_str()) {
        Ok(DeviceToServer::Hello {
            device_id,
            secret,
            protocol,
        }) => {
            if app.authenticate(&device_id, &secret) {
                tracing::info!(device = %device_id, protocol, "unit authenticated");
                Ok(device_id)
            } else {
                let shown: String = device_id.chars().take(64).collect();
                tracing::warn!(device = ?shown, "unit refused: wrong device id or secret");
                Err(Some(error(
                    ErrorCode::Unauthorized,
                    "wrong device id or secret",
                )))
            }
        }
        Ok(_) => Err(Some(error(
            ErrorCode::Unauthorized,
            "the first message must be hello",
        ))),
        Err(e) => Err(Some(error(
            ErrorCode::BadMessage,
            socket::parse_problem(&e, "a hello message"),
        ))),
    }
}

async fn session(app: Arc<AppState>, mut socket: WebSocket) {
    let device_id = match hello(&app, &mut socket).await {
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

    let unreadable = error(
        ErrorCode::BadMessage,
        format!("the message could not be read (larger than {MAX_MESSAGE_BYTES} bytes?)"),
    );
    socket::drive(socket, queue, kick, unreadable, |incoming| {
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
    })
    .await;

    app.lock().hub.detach_device(&device_id, conn);
    tracing::info!(device = %device_id, "unit disconnected");
}

/// Apply one message from an authenticated unit; returns a reply for the unit, if any.
fn handle(app: &AppState, device_id: &str, msg: DeviceToServer) -> Option<ServerToDevice> {
    match msg {
        DeviceToServer::Hello { .. } => Some(error(
            ErrorCode::NotAllowed,
            "already authenticated: hello is only the first message",
        )),
        DeviceToServer::CreateInvite {
            request_id,
            ttl_secs,
        } => Some(create_invite(app, device_id, request_id, ttl_secs)),
        DeviceToServer::Admit { guest_id } => {
            let r = app.lock().hub.admit(device_id, &guest_id, &app.ice_servers);
            match r {
                Ok(()) => {
                    tracing::info!(device = %device_id, guest = %guest_id, "guest admitted");
                    None
                }
                Err(e) => Some(error(e.code(), e.to_string())),
            }
        }
        DeviceToServer::Deny { guest_id } => {
            let r = app.lock().hub.deny(device_id, &guest_id);
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
                (session, shared.hub.end_session(device_id))
            };
            tracing::info!(device = %device_id, ?session, guests, "session ended");
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
        Err(e) => error(ErrorCode::NotAllowed, e.to_string()),
    }
}
