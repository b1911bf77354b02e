//! The daemon loop: moves data between the session core and the world.
//!
//! One task owns the [`Session`]; rendezvous messages, local API calls, peer events and
//! timeouts come in as inputs, and the session's actions go out to rendezvous, the peer
//! connections and local clients. Nothing here decides policy.

use crate::api;
use crate::board::{self, BoardLink};
use crate::config::{Config, ConfigError, rendezvous_ws_url};
use crate::first_boot;
use crate::identity::{Identity, IdentityError};
use crate::media::{MediaError, MediaHub, Snapshots};
use crate::metrics::{self, Metrics};
use crate::notify::Notifier;
use crate::peer::{Peer, PeerContext, PeerEvent};
use crate::session::{Action, Input, Session, SessionSettings};
use crate::signaling::{self, Link};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;
use visavis_api::PROTOCOL_VERSION;
use visavis_api::datachannel::UnitMessage;
use visavis_api::local::{
    ApiError, ApiErrorCode, BoardButton, Event, GuestState, Outcome, Request, Response, StaffAction,
};
use visavis_api::signaling::{DeviceToServer, GuestId, ServerToDevice, SignalPayload};
use visavis_hardware::{BoardEvent, Button, Led};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("the board: {0}")]
    Board(#[from] visavis_hardware::BoardError),
    #[error(transparent)]
    Media(#[from] MediaError),
    /// Staff asked for a restart: exit non-zero so systemd (`Restart=on-failure`) starts
    /// the daemon again.
    #[error("restarting at staff request")]
    RestartRequested,
    #[error("cannot listen on {what} {addr}: {source}")]
    Listen {
        what: &'static str,
        addr: String,
        source: std::io::Error,
    },
}

/// Between accepting a staff restart and stopping: the answer goes out first.
const RESTART_GRACE: Duration = Duration::from_millis(500);

/// What the board says about the room, what the screen switched off, and what the LED
/// shows.
struct Room {
    privacy: bool,
    presence: bool,
    mic_muted: bool,
    camera_paused: bool,
    led: Option<Led>,
    problems: Problems,
}

impl Room {
    /// Apply privacy switch, pause and mute to the media, and tell the session whether
    /// guests can see the camera.
    fn apply(&self, media: &MediaHub, config: &Config, session: &mut Session) {
        let video = !self.privacy && !self.camera_paused;
        let audio = !self.mic_muted && (!self.privacy || config.privacy.audio_continues);
        media.set_outputs(video, audio);
        session.set_camera_on(video);
    }

    /// Act on one board event; `at` is when the board thread read it (Unix µs).
    #[allow(clippy::too_many_arguments)]
    fn on_board_event(
        &mut self,
        event: BoardEvent,
        at: u64,
        media: &MediaHub,
        config: &Config,
        session: &mut Session,
        events: &broadcast::Sender<Event>,
        metrics: &Metrics,
    ) {
        let event = match event {
            BoardEvent::PrivacySwitch(on) => {
                self.privacy = on;
                self.apply(media, config, session);
                media.note_privacy(on);
                metrics
                    .privacy_switched_unix_us
                    .store(at, std::sync::atomic::Ordering::Relaxed);
                tracing::info!(on, "privacy switch");
                Event::Privacy { on }
            }
            BoardEvent::Presence(present) => {
                self.presence = present;
                Event::Presence { present }
            }
            BoardEvent::Button(b) => Event::Button {
                button: match b {
                    Button::Call => BoardButton::Call,
                    Button::Mute => BoardButton::Mute,
                },
            },
        };
        let _ = events.send(event);
    }

    /// Privacy first, then "in a call", else idle; sent to the board only on change.
    fn show_on_led(&mut self, session: &Session, board: &BoardLink) {
        let led = if self.privacy {
            Led::Privacy
        } else if session
            .status()
            .guests
            .iter()
            .any(|g| g.state == GuestState::InCall)
        {
            Led::InCall
        } else {
            Led::Idle
        };
        if self.led != Some(led) {
            self.led = Some(led);
            let _ = board.commands.send(board::Command::Led(led));
        }
    }
}

/// What needs staff attention right now, for the local API's status.
struct Problems {
    first_boot: Option<String>,
    rendezvous: Option<String>,
}

impl Problems {
    fn list(&self) -> Vec<String> {
        self.first_boot
            .iter()
            .chain(self.rendezvous.iter())
            .cloned()
            .collect()
    }
}

/// A guest's peer connection and the queue of SDP/ICE waiting for it, applied in order.
struct PeerSlot {
    peer: Arc<Peer>,
    signals: mpsc::UnboundedSender<SignalPayload>,
}

/// Run until `shutdown` resolves (SIGTERM in production, a oneshot in tests), or the media
/// path fails for good. Prints the readiness line once everything listens.
pub async fn run(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), DaemonError> {
    let identity = Identity::load(&config)?;
    let ws_url =
        rendezvous_ws_url(&config.rendezvous.url).map_err(|message| ConfigError::Invalid {
            path: "applianced.toml".into(),
            key: "rendezvous.url",
            message: message.to_string(),
        })?;
    let metrics = Arc::new(Metrics::default());
    let mut media = MediaHub::start(&config, metrics.clone())?;
    let mut board = board::spawn(&config.board)?;
    let mut room = Room {
        privacy: board.privacy,
        presence: board.presence,
        mic_muted: false,
        camera_paused: false,
        led: None,
        problems: Problems {
            first_boot: first_boot::problem(&config),
            rendezvous: None,
        },
    };
    let listen_err = |what, addr: String| move |source| DaemonError::Listen { what, addr, source };
    let metrics_listener = tokio::net::TcpListener::bind(config.metrics.listen)
        .await
        .map_err(listen_err("metrics", config.metrics.listen.to_string()))?;
    let metrics_addr = metrics_listener
        .local_addr()
        .map_err(listen_err("metrics", config.metrics.listen.to_string()))?;
    let api_listener = api::bind(&config.api.socket).map_err(listen_err(
        "the local API socket",
        config.api.socket.display().to_string(),
    ))?;

    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    tokio::spawn(metrics::serve(metrics_listener, metrics.clone(), async {
        let _ = stop_rx.await;
    }));
    let (events_tx, _) = broadcast::channel::<Event>(256);
    let (calls_tx, mut calls) = mpsc::channel::<api::Call>(64);
    let api_task = tokio::spawn(api::serve(api_listener, calls_tx, events_tx.clone()));

    let (link_tx, mut links) = mpsc::unbounded_channel();
    if let Some(p) = &room.problems.first_boot {
        tracing::error!("first boot: {p}");
    }
    let to_rendezvous = signaling::spawn(ws_url, identity, link_tx);
    let (peer_tx, mut peer_events) = mpsc::unbounded_channel();
    let ctx = PeerContext {
        video: media.video_sender(),
        audio: media.audio_sender(),
        keyframes: media.keyframe_requester(),
        events: peer_tx,
        ice_servers: Vec::new(),
        welcome: UnitMessage::Welcome {
            mode: config.mode,
            location: config.location.clone(),
        },
        guest_media: Some(media.guest_media()),
    };

    if config.session.auto_admit {
        tracing::warn!("auto_admit is on: every guest is let in without a tap. Demo use only.");
    }
    let mut session = Session::new(SessionSettings {
        auto_admit: config.session.auto_admit,
        admission_timeout: Duration::from_secs(config.session.admission_timeout_secs),
        idle_timeout: Duration::from_secs(config.session.idle_timeout_secs),
        max_guests: config.session.max_guests,
    });
    // The switch as the board reads it now, by the same rule as every later change.
    if room.privacy {
        tracing::info!("the privacy switch is on: no video leaves the unit until it is off");
        media.note_privacy(true);
    }
    room.apply(&media, &config, &mut session);
    let (stills_tx, mut stills) = mpsc::unbounded_channel();
    let mut world = World {
        snapshots: media.snapshots(),
        stills: stills_tx,
        to_rendezvous,
        events: events_tx,
        peers: HashMap::new(),
        pending_invites: HashMap::new(),
        next_request: 1,
        ctx,
        metrics: metrics.clone(),
        pin_guard: crate::staff::PinGuard::default(),
        restart: false,
    };

    println!(
        "applianced: ready api={} metrics=http://{metrics_addr}/metrics",
        config.api.socket.display()
    );
    let notifier = Notifier::from_env();
    notifier.ready(&format!("unit {} ready", config.device_id));
    let mut watchdog = notifier.watchdog_period().map(tokio::time::interval);
    tracing::info!(device = %config.device_id, mode = config.mode.as_str(), "applianced ready");

    let mut restart_at: Option<Instant> = None;
    tokio::pin!(shutdown);
    let result = loop {
        let deadline = session.poll_timeout().map(Instant::from_std);
        tokio::select! {
            () = &mut shutdown => break Ok(()),
            e = media.failed() => break Err(DaemonError::Media(e)),
            Some(link) = links.recv() => {
                let now = Instant::now().into_std();
                match link {
                    Link::Up => {
                        room.problems.rendezvous = None;
                        session.handle_input(Input::RendezvousUp, now);
                    }
                    Link::Problem(p) => room.problems.rendezvous = Some(p),
                    Link::Down => session.handle_input(Input::RendezvousDown, now),
                    Link::Message(msg) => {
                        if let Some(input) = input_from_rendezvous(msg) {
                            session.handle_input(input, now);
                        }
                    }
                }
            }
            Some((request, reply)) = calls.recv() => {
                world.call(&mut session, &config, &mut room, &media, &board, request, reply);
                if world.restart && restart_at.is_none() {
                    // Stop a moment later, so the "done" reaches the staff screen first.
                    restart_at = Some(Instant::now() + RESTART_GRACE);
                }
            }
            () = sleep_until(restart_at) => break Err(DaemonError::RestartRequested),
            Some((still, reply)) = stills.recv() => {
                let _ = reply.send(save_look(&mut session, still));
            }
            Some((event, at)) = board.events.recv() => {
                room.on_board_event(event, at, &media, &config, &mut session, &world.events, &metrics);
            }
            Some(event) = peer_events.recv() => {
                let now = Instant::now().into_std();
                match event {
                    PeerEvent::LocalSignal { guest_id, payload } => {
                        let _ = world.to_rendezvous.send(DeviceToServer::Signal { guest_id, payload });
                    }
                    PeerEvent::Connected { guest_id } => session.handle_input(Input::PeerConnected { guest_id }, now),
                    PeerEvent::Gone { guest_id } => session.handle_input(Input::PeerGone { guest_id }, now),
                    PeerEvent::Reaction { guest_id, reaction } => session.handle_input(Input::Reaction { guest_id, reaction }, now),
                    PeerEvent::Chat { guest_id, text } => session.handle_input(Input::Chat { guest_id, text }, now),
                    PeerEvent::Vote { guest_id, round, look } => session.handle_input(Input::Vote { guest_id, round, look }, now),
                }
            }
            () = sleep_until(deadline) => session.handle_timeout(Instant::now().into_std()),
            // Fed from this loop, so systemd restarts a daemon whose loop hangs.
            _ = tick(&mut watchdog) => {
                notifier.watchdog();
                continue;
            }
        }
        world.carry_out(&mut session).await;
        room.show_on_led(&session, &board);
    };

    notifier.stopping();
    // Leaving: end the session so guests are told and nothing of it survives the process.
    session.handle_input(Input::EndSession, Instant::now().into_std());
    world.carry_out(&mut session).await;
    drop(world);
    let _ = stop_tx.send(());
    api_task.abort();
    let _ = std::fs::remove_file(&config.api.socket);
    drop(media);
    let _ = std::fs::remove_file(config.api.preview_socket());
    result
}

async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// A still for a saved look, taken off the loop (JPEG encoding), or why there is none.
type Still = Result<Vec<u8>, String>;

fn save_look(session: &mut Session, still: Still) -> Outcome {
    use base64::Engine;
    let saved = still
        .map_err(|message| ApiError {
            code: ApiErrorCode::NotAllowed,
            message,
        })
        .and_then(|jpeg| session.save_look(base64::engine::general_purpose::STANDARD.encode(jpeg)));
    match saved {
        Ok(look) => {
            tracing::info!(look, "look saved");
            Outcome::Ok(Response::LookSaved { look })
        }
        Err(e) => Outcome::Error(e),
    }
}

fn input_from_rendezvous(msg: ServerToDevice) -> Option<Input> {
    Some(match msg {
        ServerToDevice::Invite {
            request_id,
            url,
            expires_at,
            ..
        } => Input::InviteCreated {
            request_id,
            url,
            expires_at,
        },
        ServerToDevice::GuestKnock { guest_id, name } => Input::Knock { guest_id, name },
        ServerToDevice::Signal { guest_id, payload } => Input::Signal { guest_id, payload },
        ServerToDevice::GuestLeft { guest_id } => Input::GuestLeft { guest_id },
        ServerToDevice::Error { code, message } => {
            tracing::warn!(?code, "rendezvous reported: {message}");
            return None;
        }
        ServerToDevice::Welcome { .. } | ServerToDevice::Challenge { .. } => return None,
    })
}

/// Everything the actions act on.
struct World {
    snapshots: Option<Snapshots>,
    stills: mpsc::UnboundedSender<(Still, oneshot::Sender<Outcome>)>,
    to_rendezvous: mpsc::UnboundedSender<DeviceToServer>,
    events: broadcast::Sender<Event>,
    peers: HashMap<GuestId, PeerSlot>,
    pending_invites: HashMap<u64, oneshot::Sender<Outcome>>,
    next_request: u64,
    ctx: PeerContext,
    metrics: Arc<Metrics>,
    pin_guard: crate::staff::PinGuard,
    /// Staff asked for a restart; the loop ends after answering.
    restart: bool,
}

impl World {
    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        session: &mut Session,
        config: &Config,
        room: &mut Room,
        media: &MediaHub,
        board: &BoardLink,
        request: Request,
        reply: oneshot::Sender<Outcome>,
    ) {
        let now = Instant::now().into_std();
        let done = Outcome::Ok(Response::Done);
        let outcome = match request {
            Request::Hello => Outcome::Ok(Response::Hello {
                protocol: PROTOCOL_VERSION,
                device_id: config.device_id.clone(),
                mode: config.mode,
                auto_admit: config.session.auto_admit,
                preview: Some({
                    let (width, height) = config.preview_size();
                    visavis_api::local::Preview {
                        socket: config.api.preview_socket().display().to_string(),
                        width,
                        height,
                        fps: config.video.fps,
                    }
                }),
            }),
            Request::Status => {
                let mut status = session.status();
                status.problems = room.problems.list();
                status.privacy = room.privacy;
                status.presence = room.presence;
                status.mic_muted = room.mic_muted;
                status.camera_paused = room.camera_paused;
                media.guest_media().annotate(&mut status, now);
                Outcome::Ok(Response::Status(status))
            }
            Request::Metrics => Outcome::Ok(Response::Metrics(self.metrics.snapshot())),
            Request::CreateInvite => {
                let request_id = self.next_request;
                self.next_request += 1;
                self.pending_invites.insert(request_id, reply);
                session.handle_input(Input::InviteRequested { request_id }, now);
                return;
            }
            Request::Admit { guest_id } => match session.check_admit(&guest_id) {
                Ok(()) => {
                    session.handle_input(Input::Admit { guest_id }, now);
                    done
                }
                Err(e) => Outcome::Error(e),
            },
            Request::Deny { guest_id } => match session.check_known(&guest_id) {
                Ok(()) => {
                    session.handle_input(Input::Deny { guest_id }, now);
                    done
                }
                Err(e) => Outcome::Error(e),
            },
            Request::EndSession => {
                session.handle_input(Input::EndSession, now);
                done
            }
            Request::SaveLook => {
                let camera_off = if room.privacy {
                    Some("the camera is off: the privacy switch is on")
                } else if self.snapshots.is_none() {
                    Some("this unit has no local preview to take a still from")
                } else {
                    None
                };
                if let Some(why) = camera_off {
                    Outcome::Error(ApiError {
                        code: ApiErrorCode::NotAllowed,
                        message: why.into(),
                    })
                } else {
                    let snapshots = self.snapshots.clone().expect("checked above");
                    let stills = self.stills.clone();
                    tokio::task::spawn_blocking(move || {
                        let still = snapshots.jpeg().map_err(|e| e.to_string());
                        let _ = stills.send((still, reply));
                    });
                    return;
                }
            }
            Request::LookImage { look } => match session.look_image(look) {
                Ok(jpeg) => Outcome::Ok(Response::LookImage {
                    look,
                    jpeg: jpeg.to_string(),
                }),
                Err(e) => Outcome::Error(e),
            },
            Request::Compare { looks } => match session.compare(looks) {
                Ok(()) => done,
                Err(e) => Outcome::Error(e),
            },
            Request::EndCompare => {
                session.end_compare();
                done
            }
            Request::SetMic { muted } => {
                room.mic_muted = muted;
                room.apply(media, config, session);
                tracing::info!(muted, "microphone");
                done
            }
            Request::SetCamera { paused } => {
                room.camera_paused = paused;
                room.apply(media, config, session);
                tracing::info!(paused, "camera");
                done
            }
            Request::SetVolume { percent } if percent > 100 => Outcome::Error(ApiError {
                code: ApiErrorCode::BadRequest,
                message: format!("volume {percent} is not a percentage: give 0 to 100"),
            }),
            Request::SetVolume { percent } => {
                media.guest_media().set_volume(percent);
                tracing::info!(percent, "speaker volume");
                done
            }
            Request::CallWaiter => {
                let _ = self.events.send(Event::WaiterCalled);
                crate::waiter::call(config);
                done
            }
            Request::SimulateBoard { input } if board.simulated => {
                let _ = board.commands.send(board::Command::Simulate(input));
                done
            }
            Request::Staff { pin, action } => {
                let file = crate::staff::load_pin(&config.staff.pin_file);
                match self.pin_guard.check(&pin.0, &file, now) {
                    Err(e) => Outcome::Error(e),
                    Ok(()) => match action {
                        StaffAction::Report => {
                            Outcome::Ok(Response::Staff(Box::new(crate::staff::report(
                                config,
                                session.status().rendezvous_connected,
                                &self.metrics.snapshot(),
                                room.privacy,
                                room.problems.list(),
                            ))))
                        }
                        StaffAction::Restart => {
                            tracing::warn!("restart asked from the staff screen");
                            self.restart = true;
                            done
                        }
                    },
                }
            }
            Request::SimulateBoard { .. } => Outcome::Error(ApiError {
                code: ApiErrorCode::NotAllowed,
                message: "this unit has a real board: use its switch, sensor and buttons".into(),
            }),
        };
        let _ = reply.send(outcome);
    }

    async fn carry_out(&mut self, session: &mut Session) {
        while let Some(action) = session.poll_action() {
            match action {
                Action::Send(msg) => {
                    let _ = self.to_rendezvous.send(msg);
                }
                Action::StartPeer { guest_id } => self.start_peer(session, guest_id).await,
                Action::ApplySignal { guest_id, payload } => match self.peers.get(&guest_id) {
                    Some(slot) => {
                        let _ = slot.signals.send(payload);
                    }
                    None => {
                        tracing::warn!(guest = %guest_id, "signal for a guest without a peer connection dropped")
                    }
                },
                Action::ClosePeer { guest_id } => {
                    self.metrics.remove_guest(&guest_id);
                    if let Some(media) = &self.ctx.guest_media {
                        media.forget(&guest_id);
                    }
                    if let Some(slot) = self.peers.remove(&guest_id) {
                        tokio::spawn(async move { slot.peer.close().await });
                    }
                }
                Action::Emit(event) => {
                    let _ = self.events.send(event);
                }
                Action::ToGuest { guest_id, message } => {
                    if let Some(slot) = self.peers.get(&guest_id) {
                        slot.peer.send(message);
                    }
                }
                Action::InviteReady { request_id, result } => {
                    if let Some(reply) = self.pending_invites.remove(&request_id) {
                        let _ = reply.send(match result {
                            Ok((url, expires_at)) => {
                                Outcome::Ok(Response::Invite { url, expires_at })
                            }
                            Err(e) => Outcome::Error(e),
                        });
                    }
                }
                Action::EraseSessionData => {
                    // The unit keeps nothing from a session beyond the session core's own
                    // state (looks, votes and chat, cleared with it) and the peers closed
                    // above.
                    tracing::info!("session ended; everything from it was erased");
                }
            }
        }
    }

    async fn start_peer(&mut self, session: &mut Session, guest_id: GuestId) {
        let name = session
            .status()
            .guests
            .into_iter()
            .find(|g| g.guest_id == guest_id)
            .map(|g| g.name)
            .unwrap_or_default();
        let counters = self.metrics.add_guest(&guest_id, &name);
        match Peer::new(guest_id.clone(), counters, self.ctx.clone()).await {
            Ok(peer) => {
                let peer = Arc::new(peer);
                let (tx, mut rx) = mpsc::unbounded_channel::<SignalPayload>();
                let worker = peer.clone();
                let events = self.ctx.events.clone();
                let id = guest_id.clone();
                tokio::spawn(async move {
                    while let Some(payload) = rx.recv().await {
                        if let Err(e) = worker.apply(payload).await {
                            tracing::warn!(guest = %id, "signaling failed: {e}");
                            let _ = events.send(PeerEvent::Gone {
                                guest_id: id.clone(),
                            });
                        }
                    }
                });
                self.peers.insert(guest_id, PeerSlot { peer, signals: tx });
            }
            Err(e) => {
                tracing::error!(guest = %guest_id, "cannot create a peer connection: {e}");
                session.handle_input(Input::PeerGone { guest_id }, Instant::now().into_std());
            }
        }
    }
}
