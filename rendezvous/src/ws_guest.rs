//! `GET /ws/guest/{token}`: a guest browser's WebSocket; `GET /ws/resume`: an admitted
//! guest's new socket after its first one closed (its connection dropped, or rendezvous
//! restarted).
//!
//! On `/ws/resume` the first message is `resume{guest_id}`: the guest takes back its held
//! place, or the place the unit restored for it (see [`crate::hub`]), and signals as
//! before; `join` is refused there.
//!
//! The token is rate-limited and checked before the upgrade (404/410/429 like the invite
//! page). Then the guest sends `join{name}`; the unit hears a knock and the guest waits.
//! Signaling is relayed only once the unit admitted the guest. `leave` or a normal close
//! (1000) tells the unit `guest_left` at once, as does any close of a guest not admitted
//! yet. An admitted guest's socket lost otherwise (dropped, silent for the guests' limit
//! `socket_timing.guest`, closed with another code) holds its place for `guest_hold_secs`;
//! what the unit sends meanwhile is kept for the page (see [`crate::hub`]). The socket's
//! connection is let go only once the place is held, so a page resuming as soon as it
//! sees it close finds its place held. The unit hears `guest_left` only if the page has
//! not resumed by then, and a late page is told `place_ended`.
//!
//! Limits: an invite has at most [`MAX_SOCKETS_PER_INVITE`] sockets open (more are refused
//! with 429 before the upgrade); the socket must `join` within
//! `socket_timing.join_deadline`; one that has not
//! joined when the unit's session ends is closed then (joined guests hear
//! `session_ended`); a silent peer is closed sooner than a unit (15 s by default, see
//! [`crate::config::SocketTiming`] and [`crate::socket`]). Signals go through a
//! bucket of [`SIGNAL_BURST`] refilled at [`SIGNAL_PER_SEC`]: a guest beyond it, or one
//! whose unit's queue is full, is closed with `rate_limited`; the unit stays. A `ping`
//! (the page checking its socket still carries) is answered `pong` at once, from a bucket
//! of its own ([`PING_BURST`], [`PING_PER_SEC`]: the page pings every few seconds).
//!
//! Errors that the guest can recover from (`bad_message`, `invalid_name`, `not_allowed`
//! for a premature message, `device_offline` for a signal while the unit reconnects) keep
//! the socket open; the others (`device_offline` at join, `invite_expired`,
//! `session_ended`, `session_full`) close it. An admitted guest keeps its place while its
//! unit's socket is away (see [`crate::hub`]).

use crate::client_ip::ClientIp;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;
use visavis_api::signaling::{ErrorCode, GuestToServer, ServerToGuest, normalise_name};

use crate::hub::{Closed, HoldId, Link, Outbound, RouteError};
use crate::invites::{InviteError, InviteTarget};
use crate::pages;
use crate::rate_limit::TokenBucket;
use crate::socket::{self, Ending, Flow, Incoming, MAX_MESSAGE_BYTES};
use crate::state::{AppState, LookupError, MAX_SOCKETS_PER_INVITE};
use crate::token;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Messages queued for a guest before it counts as not reading.
const QUEUE: usize = 256;
/// Signals a guest may send at once: an offer and its ICE candidates, a restart's too.
pub const SIGNAL_BURST: u32 = 60;
/// Signals a guest may send per second beyond the burst.
pub const SIGNAL_PER_SEC: f64 = 5.0;
/// Pings a guest may send at once, and per second beyond that.
pub const PING_BURST: f64 = 5.0;
pub const PING_PER_SEC: f64 = 1.0;

const EXPECTED: &str = "one of join, resume, signal, leave, ping";
/// Read and write buffers of a guest socket. The library's default, 128 KiB each, made an
/// idle socket cost about 137 kB of rendezvous' memory (6,400 idle sockets: 892 MB); a
/// guest's messages are a few kB of JSON, and a longer one still arrives (the buffer is
/// read in chunks of this size, up to [`MAX_MESSAGE_BYTES`]).
const SOCKET_BUFFER_BYTES: usize = 4096;

pub async fn upgrade(
    State(app): State<Arc<AppState>>,
    ClientIp(client): ClientIp,
    Path(token): Path<String>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let target = match app.look_up(client, &token) {
        Ok(target) => target,
        Err(e) => {
            tracing::debug!(token = %token::log_prefix(&token), ?e, "guest socket refused");
            return pages::invalid_invite(&app, e);
        }
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    let Some(counted) = app.open_guest_socket(&token) else {
        tracing::info!(
            device = %target.device_id,
            token = %token::log_prefix(&token),
            "guest socket refused: the invite has {MAX_SOCKETS_PER_INVITE} open"
        );
        return pages::invalid_invite(&app, LookupError::RateLimited);
    };
    limited(ws).on_upgrade(move |socket| {
        let tracker = app.sockets.clone();
        tracker.track_future(async move {
            session(app, socket, Some((token, target)), client).await;
            drop(counted);
        })
    })
}

/// `GET /ws/resume`: rate-limited like an invite look-up, no token (the guest id sent
/// first is the credential; the invite may have expired during the call).
pub async fn resume_upgrade(
    State(app): State<Arc<AppState>>,
    ClientIp(client): ClientIp,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let allowed = {
        let now = app.clock.now();
        app.lock().limiter.check(client, now)
    };
    if !allowed {
        return pages::invalid_invite(&app, LookupError::RateLimited);
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    limited(ws).on_upgrade(move |socket| {
        let tracker = app.sockets.clone();
        tracker.track_future(session(app, socket, None, client))
    })
}

/// A guest socket's limits: its messages' size and its buffers.
fn limited(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
}

fn error(code: ErrorCode, message: impl Into<String>) -> ServerToGuest {
    ServerToGuest::Error {
        code,
        message: message.into(),
    }
}

/// One guest socket: opened through the invite `invite` (its token and target), or to
/// resume (`None`).
async fn session(
    app: Arc<AppState>,
    mut socket: WebSocket,
    invite: Option<(String, InviteTarget)>,
    client: IpAddr,
) {
    let (tx, queue) = mpsc::channel(QUEUE);
    let kick = app.shutdown.child_token();
    let link = Link {
        tx,
        kick: kick.clone(),
    };
    let has_joined = Arc::new(AtomicBool::new(false));
    // A resuming socket belongs to no invite: only its deadline closes it before it resumed.
    let session_end = match &invite {
        Some((_, target)) => app.lock().session_end(&target.device_id, &app.shutdown),
        None => app.shutdown.child_token(),
    };
    let device = invite
        .as_ref()
        .map(|(_, target)| target.device_id.clone())
        .unwrap_or_default();
    tokio::spawn(close_unless_joined(
        link.clone(),
        has_joined.clone(),
        session_end,
        app.socket_timing.join_deadline,
    ));
    let mut signals = TokenBucket::new(f64::from(SIGNAL_BURST), SIGNAL_PER_SEC, app.clock.now());
    let mut pings = TokenBucket::new(PING_BURST, PING_PER_SEC, app.clock.now());
    let mut joined: Option<String> = None;
    let unreadable = error(
        ErrorCode::BadMessage,
        format!("the message could not be read (larger than {MAX_MESSAGE_BYTES} bytes?)"),
    );

    let timing = app.socket_timing.guest;
    let ending = socket::drive(&mut socket, queue, kick, unreadable, timing, |incoming| {
        let msg = match incoming {
            Incoming::Text(text) => match serde_json::from_str::<GuestToServer>(text) {
                Ok(msg) => msg,
                Err(e) => {
                    link.send(Outbound::keep(error(
                        ErrorCode::BadMessage,
                        socket::parse_problem(&e, EXPECTED),
                    )));
                    return Flow::Continue;
                }
            },
            Incoming::Binary => {
                link.send(Outbound::keep(error(
                    ErrorCode::BadMessage,
                    "binary frames are not used: send JSON text messages",
                )));
                return Flow::Continue;
            }
        };
        match msg {
            GuestToServer::Join { name } => {
                if joined.is_some() {
                    link.send(Outbound::keep(error(
                        ErrorCode::NotAllowed,
                        "you have already joined",
                    )));
                } else if let Some((token, target)) = &invite {
                    if let Some(guest_id) = join(&app, &link, token, target, &name, client) {
                        has_joined.store(true, Ordering::Relaxed);
                        joined = Some(guest_id);
                    }
                } else {
                    link.send(Outbound::keep(error(
                        ErrorCode::NotAllowed,
                        "this socket resumes a call: join through the invite link",
                    )));
                }
                Flow::Continue
            }
            GuestToServer::Resume { guest_id, seen } => {
                if joined.is_some() {
                    link.send(Outbound::keep(error(
                        ErrorCode::NotAllowed,
                        "you have already joined",
                    )));
                    return Flow::Continue;
                }
                let r = app.lock().hub.resume(&guest_id, seen, link.clone(), client);
                match r {
                    Ok(unit) => {
                        tracing::info!(device = %unit, guest = %guest_id, seen = ?seen, "guest resumed");
                        has_joined.store(true, Ordering::Relaxed);
                        joined = Some(guest_id);
                    }
                    Err(e) => link.send(Outbound::then_close(error(e.code(), e.to_string()))),
                }
                Flow::Continue
            }
            GuestToServer::Signal { payload } => {
                if !signals.take(app.clock.now()) {
                    tracing::warn!(device = %device, guest = ?joined, "a guest sent signals too fast: closing its socket");
                    link.send(Outbound::then_close(error(
                        ErrorCode::RateLimited,
                        "too many signaling messages: reload the page to join again",
                    )));
                    return Flow::Continue;
                }
                let refused = match &joined {
                    None => Some(Outbound::keep(error(
                        ErrorCode::NotAllowed,
                        "join first, and wait until someone in the room lets you in",
                    ))),
                    Some(guest_id) => {
                        let r = app.lock().hub.signal_to_device(guest_id, payload);
                        r.err().map(|e| {
                            let reply = error(e.code(), e.to_string());
                            match e {
                                RouteError::DeviceBusy => {
                                    tracing::warn!(device = %device, guest = %guest_id, "the unit's queue is full: closing the guest that filled it");
                                    Outbound::then_close(reply)
                                }
                                _ => Outbound::keep(reply),
                            }
                        })
                    }
                };
                if let Some(reply) = refused {
                    link.send(reply);
                }
                Flow::Continue
            }
            GuestToServer::Leave => Flow::Close,
            GuestToServer::Ping => {
                if pings.take(app.clock.now()) {
                    link.send(Outbound::keep(ServerToGuest::Pong));
                } else {
                    tracing::warn!(device = %device, guest = ?joined, "a guest pinged too fast: closing its socket");
                    link.send(Outbound::then_close(error(
                        ErrorCode::RateLimited,
                        "too many pings: reload the page to join again",
                    )));
                }
                Flow::Continue
            }
        }
    })
    .await;

    let Some(guest_id) = joined else { return };
    if app.shutdown.is_cancelled() {
        // Rendezvous is stopping (a restart): the unit keeps its guests and names them to
        // the next one, where their pages resume. It must not hear that they left.
        return;
    }
    let hold = ending == Ending::Lost && !app.guest_hold.is_zero();
    let closed = app.lock().hub.socket_closed(&guest_id, &link, hold);
    // The connection closes only now that the place is held: a page that sees it close
    // and resumes at once finds its place held, with what the unit sent it meanwhile.
    drop(socket);
    match closed {
        Closed::Left => tracing::info!(device = %device, guest = %guest_id, ?ending, "guest left"),
        Closed::Held(id) => {
            tracing::info!(device = %device, guest = %guest_id, "guest's socket was lost: place held for {:?}", app.guest_hold);
            tokio::spawn(end_hold(app.clone(), guest_id, id));
        }
        Closed::Elsewhere => {}
    }
}

/// Let `guest_id`'s held place go when hold `id` runs out, unless the page resumed.
/// Stops at shutdown.
async fn end_hold(app: Arc<AppState>, guest_id: String, id: HoldId) {
    tokio::select! {
        () = tokio::time::sleep(app.guest_hold) => {}
        () = app.shutdown.cancelled() => return,
    }
    let expired = app.lock().hub.hold_expired(&guest_id, id);
    if expired {
        tracing::info!(guest = %guest_id, "guest not back within {:?}: told the unit they left", app.guest_hold);
    }
}

/// Close the socket behind `link` if it has not joined by `deadline`, or when its unit's
/// session ends before it did.
async fn close_unless_joined(
    link: Link<ServerToGuest>,
    joined: Arc<AtomicBool>,
    session_end: CancellationToken,
    deadline: Duration,
) {
    let why = tokio::select! {
        () = link.kick.cancelled() => return,
        () = tokio::time::sleep(deadline) => format!(
            "no join within {} seconds: reload the page to join", deadline.as_secs()
        ),
        () = session_end.cancelled() => "this session has ended".to_owned(),
    };
    if !joined.load(Ordering::Relaxed) {
        let code = if session_end.is_cancelled() {
            ErrorCode::SessionEnded
        } else {
            ErrorCode::NotAllowed
        };
        link.send(Outbound::then_close(error(code, why)));
    }
}

/// Handle `join`: returns the new guest id, or queues the reason it failed.
fn join(
    app: &AppState,
    link: &Link<ServerToGuest>,
    token: &str,
    target: &InviteTarget,
    raw_name: &str,
    client: IpAddr,
) -> Option<String> {
    let name = match normalise_name(raw_name) {
        Ok(name) => name,
        Err(problem) => {
            link.send(Outbound::keep(error(ErrorCode::InvalidName, problem)));
            return None;
        }
    };
    let guest_id = match token::new_guest_id() {
        Ok(id) => id,
        Err(e) => {
            tracing::error!("cannot name a guest: {e}");
            link.send(Outbound::then_close(error(
                ErrorCode::Internal,
                "the server could not let you join; try again",
            )));
            return None;
        }
    };
    let now = app.clock.now_secs();
    let unit_ice_servers = app.ice_servers_for(&format!("unit:{}", target.device_id));
    let mut shared = app.lock();
    // The invite may have expired or its session ended since the socket opened.
    if let Err(e) = shared.registry.check(token, now) {
        let (code, message) = match e {
            InviteError::Unknown => (ErrorCode::InviteUnknown, "this invitation is unknown"),
            InviteError::Expired => (ErrorCode::InviteExpired, "this invitation has expired"),
            InviteError::Ended => (ErrorCode::SessionEnded, "this session has ended"),
        };
        link.send(Outbound::then_close(error(code, message)));
        return None;
    }
    if let Some(wait) = shared.cooling_down(&target.device_id, client, app.clock.now()) {
        link.send(Outbound::then_close(error(
            ErrorCode::RateLimited,
            format!("the room said not now: you can knock again in {wait} s"),
        )));
        return None;
    }
    match shared.hub.join(
        &guest_id,
        &target.device_id,
        target.session,
        &name,
        link.clone(),
        unit_ice_servers,
        client,
    ) {
        Ok(()) => {
            tracing::info!(device = %target.device_id, guest = %guest_id, "guest knocked");
            Some(guest_id)
        }
        Err(e) => {
            link.send(Outbound::then_close(error(e.code(), e.to_string())));
            None
        }
    }
}
