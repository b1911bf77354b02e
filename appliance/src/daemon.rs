//! The daemon loop: moves data between the unit's state and the world.
//!
//! One task owns the [`Unit`]. Rendezvous messages, local API calls, board, peer and
//! guest-media events and timeouts come in as [`Input`]s; the unit's [`Output`]s go out to
//! rendezvous, the peer connections, the media pipelines, the board and local clients.
//! Nothing here decides anything: every rule is in [`crate::unit`].

use crate::api;
use crate::board::{self, BoardLink};
use crate::config::{Config, ConfigError, rendezvous_ws_url};
use crate::congestion::Congestion;
use crate::first_boot;
use crate::identity::{Identity, IdentityError};
use crate::media::remote::GuestMediaEvent;
use crate::media::{MediaError, MediaHub};
use crate::metrics::{self, Metrics};
use crate::notify::Notifier;
use crate::peer::{Peer, PeerContext, PeerEvent};
use crate::session::SessionSettings;
use crate::signaling;
use crate::unit::{self, Input, Output, ReplyId, Unit, UnitSettings};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;
use visavis_api::PROTOCOL_VERSION;
use visavis_api::datachannel::UnitMessage;
use visavis_api::fleet::turn::TurnMinter;
use visavis_api::local::{Event, Outcome, Preview, Response};
use visavis_api::signaling::{DeviceToServer, GuestId, IceServer, SignalPayload};

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

/// A guest's peer connection and the queue of SDP/ICE waiting for it, applied in order.
/// Their counters are in the metrics as long as the slot lives.
struct PeerSlot {
    peer: Arc<Peer>,
    signals: mpsc::UnboundedSender<SignalPayload>,
    _listed: metrics::Listed,
}

/// Run until `shutdown` resolves (SIGTERM in production, a oneshot in tests), or the media
/// path fails for good. Prints the readiness line once everything listens.
pub async fn run(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), DaemonError> {
    let identity = Identity::load(&config)?;
    let own_turn = config.turn_minter(Path::new("applianced.toml"))?;
    let relay_tls = config.relay_tls(Path::new("applianced.toml"))?;
    let ws_url =
        rendezvous_ws_url(&config.rendezvous.url).map_err(|message| ConfigError::Invalid {
            path: "applianced.toml".into(),
            key: "rendezvous.url",
            message: message.to_string(),
        })?;
    let metrics = Arc::new(Metrics::default());
    let (guest_media_tx, guest_media) = mpsc::unbounded_channel();
    let (mic_tx, mic_problems) = mpsc::unbounded_channel();
    let mut media = MediaHub::start(&config, metrics.clone(), guest_media_tx, mic_tx)?;
    let mut board = board::spawn(&config.board)?;
    let (metrics_listener, metrics_addr, api_listener) = listen(&config).await?;

    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    tokio::spawn(metrics::serve(metrics_listener, metrics.clone(), async {
        let _ = stop_rx.await;
    }));
    let (events_tx, _) = broadcast::channel(256);
    let (calls_tx, calls) = mpsc::channel::<api::Call>(64);
    let api_task = tokio::spawn(api::serve(api_listener, calls_tx, events_tx.clone()));

    let first_boot_problem = first_boot::problem(&config);
    if let Some(p) = &first_boot_problem {
        tracing::error!("first boot: {p}");
    }
    let (link_tx, links) = mpsc::unbounded_channel();
    let to_rendezvous = signaling::spawn(ws_url, identity, link_tx);
    let (peer_tx, peer_events) = mpsc::unbounded_channel();
    if let Some(advice) = config.forwarding_advice() {
        tracing::warn!("guests seeing each other: {advice}");
    }
    // Its budget comes from congestion control, at its first tick.
    let forward = config.guests_see_each_other().then(|| {
        crate::forward::Forwarder::new(metrics.clone(), 0)
            .with_small_tiles_from(config.video.small_tiles_from as usize)
    });
    let ctx = PeerContext {
        video: media.video_layers(),
        audio: media.audio_sender(),
        congestion: Congestion::start(
            &config,
            media.video_control(),
            forward.clone(),
            media.guest_media().voices().cloned(),
            metrics.clone(),
        ),
        events: peer_tx,
        welcome: UnitMessage::Welcome {
            mode: config.mode,
            location: config.location.clone(),
            others_video: config.guests_see_each_other(),
        },
        guest_media: Some(media.guest_media()),
        relay_tls: Some(relay_tls),
        forward,
    };

    let mut unit = Unit::new(unit_settings(&config, &board, &media, first_boot_problem));
    let (stills_tx, stills) = mpsc::unbounded_channel();
    let mut world = World {
        config,
        stills: stills_tx,
        to_rendezvous,
        events: events_tx,
        peers: HashMap::new(),
        replies: HashMap::new(),
        next_reply: 1,
        ctx,
        own_turn,
        metrics,
        restart: false,
    };
    world.carry_out(&mut unit, &media, &board).await;

    println!(
        "applianced: ready api={} metrics=http://{metrics_addr}/metrics",
        world.config.api.socket.display()
    );
    let notifier = Notifier::from_env();
    notifier.ready(&format!("unit {} ready", world.config.device_id));
    tracing::info!(device = %world.config.device_id, mode = world.config.mode.as_str(), "applianced ready");
    let inputs = Inputs {
        links,
        calls,
        stills,
        peer_events,
        guest_media,
        mic_problems,
    };
    let result = serve(
        &mut unit, &mut world, &mut media, &mut board, inputs, &notifier, shutdown,
    )
    .await;

    notifier.stopping();
    unit.shut_down(Instant::now().into_std());
    world.carry_out(&mut unit, &media, &board).await;
    let World { config, .. } = world;
    let _ = stop_tx.send(());
    api_task.abort();
    let _ = std::fs::remove_file(&config.api.socket);
    drop(media);
    let _ = std::fs::remove_file(config.api.preview_socket());
    result
}

/// Where the daemon's inputs come from, besides the board and the clock.
struct Inputs {
    links: mpsc::UnboundedReceiver<signaling::Link>,
    calls: mpsc::Receiver<api::Call>,
    stills: mpsc::UnboundedReceiver<Still>,
    peer_events: mpsc::UnboundedReceiver<PeerEvent>,
    guest_media: mpsc::UnboundedReceiver<GuestMediaEvent>,
    /// The microphone missing or failed (why), or back (`None`).
    mic_problems: mpsc::UnboundedReceiver<Option<String>>,
}

/// The loop: each input goes to the unit, then its outputs go out. Ends on `shutdown`, a
/// media failure, or a staff restart once its answer has gone out.
async fn serve(
    unit: &mut Unit,
    world: &mut World,
    media: &mut MediaHub,
    board: &mut BoardLink,
    mut inputs: Inputs,
    notifier: &Notifier,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), DaemonError> {
    let mut watchdog = notifier.watchdog_period().map(tokio::time::interval);
    let mut restart_at: Option<Instant> = None;
    tokio::pin!(shutdown);
    let now = || Instant::now().into_std();
    let _runtime_watch = AbortOnDrop(crate::stall::watch_runtime());
    loop {
        let deadline = unit.poll_timeout().map(Instant::from_std);
        let what = tokio::select! {
            () = &mut shutdown => return Ok(()),
            e = media.failed() => return Err(DaemonError::Media(e)),
            () = sleep_until(restart_at) => return Err(DaemonError::RestartRequested),
            Some(link) = inputs.links.recv() => {
                unit.handle_input(Input::Rendezvous(link), now());
                "rendezvous"
            }
            Some((request, reply)) = inputs.calls.recv() => {
                let id = world.park(reply);
                let pin_file = &world.config.staff.pin_file;
                let input = unit::input(id, request, || crate::staff::load_pin(pin_file));
                unit.handle_input(input, now());
                "local API"
            }
            Some((id, jpeg)) = inputs.stills.recv() => {
                unit.handle_input(Input::Still { id, jpeg }, now());
                "still"
            }
            Some((event, at)) = board.events.recv() => {
                unit.handle_input(Input::Board { event, at }, now());
                "board"
            }
            Some(event) = inputs.peer_events.recv() => {
                unit.handle_input(Input::Peer(event), now());
                "peer"
            }
            Some(event) = inputs.guest_media.recv() => {
                unit.handle_input(Input::GuestMedia(event), now());
                "guest media"
            }
            Some(problem) = inputs.mic_problems.recv() => {
                unit.handle_input(Input::Mic(problem), now());
                "microphone"
            }
            () = sleep_until(deadline) => {
                unit.handle_timeout(now());
                "timer"
            }
            // Fed from this loop, so systemd restarts a daemon whose loop hangs.
            _ = tick(&mut watchdog) => {
                notifier.watchdog();
                continue;
            }
        };
        let began = Instant::now();
        world.carry_out(unit, media, board).await;
        crate::stall::note_turn(what, began);
        if world.restart && restart_at.is_none() {
            // Stop a moment later, so the "done" reaches the staff screen first.
            restart_at = Some(Instant::now() + RESTART_GRACE);
        }
    }
}

/// Aborts the task when dropped (the loop's helpers end with it).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The metrics port (and the address it got) and the local API's socket.
async fn listen(
    config: &Config,
) -> Result<
    (
        tokio::net::TcpListener,
        std::net::SocketAddr,
        tokio::net::UnixListener,
    ),
    DaemonError,
> {
    let listen_err = |what, addr: String| move |source| DaemonError::Listen { what, addr, source };
    let metrics_err = || listen_err("metrics", config.metrics.listen.to_string());
    let metrics = tokio::net::TcpListener::bind(config.metrics.listen)
        .await
        .map_err(metrics_err())?;
    let metrics_addr = metrics.local_addr().map_err(metrics_err())?;
    let api = api::bind(&config.api.socket).map_err(listen_err(
        "the local API socket",
        config.api.socket.display().to_string(),
    ))?;
    Ok((metrics, metrics_addr, api))
}

/// The unit's rules, from the config and what the board and media found at start.
fn unit_settings(
    config: &Config,
    board: &BoardLink,
    media: &MediaHub,
    first_boot_problem: Option<String>,
) -> UnitSettings {
    let (width, height) = config.preview_size();
    UnitSettings {
        session: SessionSettings {
            auto_admit: config.session.auto_admit,
            admission_timeout: Duration::from_secs(config.session.admission_timeout_secs),
            idle_timeout: Duration::from_secs(config.session.idle_timeout_secs),
            max_guests: config.session.max_guests,
        },
        hello: Response::Hello {
            protocol: PROTOCOL_VERSION,
            device_id: config.device_id.clone(),
            mode: config.mode,
            auto_admit: config.session.auto_admit,
            preview: Some(Preview {
                socket: config.api.preview_socket().display().to_string(),
                width,
                height,
                fps: config.video.fps,
            }),
        },
        audio_continues: config.privacy.audio_continues,
        simulated_board: board.simulated,
        preview: media.snapshots().is_some(),
        volume: config.audio.volume,
        privacy: board.privacy,
        presence: board.presence,
        first_boot_problem,
        wrong_pins: crate::staff::load_tries(&config.pin_tries_path()),
        // Comes from the microphone's supervisor as an input, now and whenever it changes.
        mic_problem: None,
    }
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
type Still = (ReplyId, Result<Vec<u8>, String>);

/// Everything the unit's outputs act on.
struct World {
    config: Config,
    /// The relays of the unit's seed, for calls rendezvous gave no ICE servers for.
    own_turn: Option<TurnMinter>,
    stills: mpsc::UnboundedSender<Still>,
    to_rendezvous: mpsc::UnboundedSender<DeviceToServer>,
    events: broadcast::Sender<api::Pushed>,
    peers: HashMap<GuestId, PeerSlot>,
    /// Local requests waiting for the unit's answer.
    replies: HashMap<ReplyId, oneshot::Sender<Outcome>>,
    next_reply: ReplyId,
    ctx: PeerContext,
    metrics: Arc<Metrics>,
    /// Staff asked for a restart; the loop ends after answering.
    restart: bool,
}

impl World {
    /// Keep `reply` until the unit answers; the id goes with the request.
    fn park(&mut self, reply: oneshot::Sender<Outcome>) -> ReplyId {
        let id = self.next_reply;
        self.next_reply += 1;
        self.replies.insert(id, reply);
        id
    }

    fn reply(&mut self, id: ReplyId, outcome: Outcome) {
        if let Some(reply) = self.replies.remove(&id) {
            let _ = reply.send(outcome);
        }
    }

    async fn carry_out(&mut self, unit: &mut Unit, media: &MediaHub, board: &BoardLink) {
        while let Some(output) = unit.poll_output() {
            match output {
                Output::Reply { id, outcome } => self.reply(id, outcome),
                Output::ToRendezvous(msg) => {
                    let _ = self.to_rendezvous.send(msg);
                }
                Output::StartPeer {
                    guest_id,
                    name,
                    ice_servers,
                } => self.start_peer(guest_id, &name, ice_servers).await,
                Output::ApplySignal { guest_id, payload } => match self.peers.get(&guest_id) {
                    Some(slot) => {
                        let _ = slot.signals.send(payload);
                    }
                    None => {
                        tracing::warn!(guest = %guest_id, "signal for a guest without a peer connection dropped")
                    }
                },
                Output::ClosePeer { guest_id } => {
                    if let Some(slot) = self.peers.remove(&guest_id) {
                        tokio::spawn(async move {
                            slot.peer.close().await;
                            drop(slot);
                            visavis_api::allocator::trim_soon();
                        });
                    }
                }
                Output::ToGuest { guest_id, message } => {
                    if let Some(slot) = self.peers.get(&guest_id) {
                        slot.peer.send(message);
                    }
                }
                Output::Emit { seq, event } => {
                    // A knock is heard in the room, not only seen: a short chime.
                    if matches!(event, Event::GuestKnock { .. }) {
                        media.guest_media().chime();
                    }
                    // Whoever speaks comes first in the slots of a guest who cannot see
                    // everybody.
                    if let (Event::Speaking { guest_id, speaking }, Some(forward)) =
                        (&event, &self.ctx.forward)
                    {
                        forward.speaking(guest_id, *speaking);
                    }
                    let _ = self.events.send((seq, event));
                }
                Output::MediaOutputs { video, audio } => media.set_outputs(video, audio),
                Output::NotePrivacy { on, at } => {
                    media.note_privacy(on, at.unwrap_or_else(metrics::unix_us));
                }
                Output::SetVolume(percent) => media.guest_media().set_volume(percent),
                Output::ScreenTiles(width) => {
                    if let Some(forward) = &self.ctx.forward {
                        forward.set_screen_tiles(width);
                    }
                }
                Output::Led(led) => {
                    let _ = board.commands.send(board::Command::Led(led));
                }
                Output::SimulateBoard(input) => {
                    let _ = board.commands.send(board::Command::Simulate(input));
                }
                Output::TakeStill { id } => {
                    let snapshots = media.snapshots();
                    let stills = self.stills.clone();
                    tokio::task::spawn_blocking(move || {
                        let jpeg = match snapshots {
                            Some(s) => s.jpeg().map_err(|e| e.to_string()),
                            None => Err("this unit has no local preview".into()),
                        };
                        let _ = stills.send((id, jpeg));
                    });
                }
                Output::ReplyMetrics { id } => {
                    let snapshot = self.metrics.snapshot();
                    self.reply(id, Outcome::Ok(Response::Metrics(Box::new(snapshot))));
                }
                Output::ReplyStaffReport { id, facts } => {
                    let report =
                        crate::staff::report(&self.config, facts, &self.metrics.snapshot());
                    self.reply(id, Outcome::Ok(Response::Staff(Box::new(report))));
                }
                Output::CallWaiter => crate::waiter::call(&self.config),
                Output::SavePinTries { wrong } => {
                    crate::staff::save_tries(&self.config.pin_tries_path(), wrong);
                }
                Output::Restart => self.restart = true,
            }
        }
    }

    async fn start_peer(&mut self, guest_id: GuestId, name: &str, ice_servers: Vec<IceServer>) {
        let (counters, listed) = self.metrics.add_guest(&guest_id, name);
        let ice_servers = match &self.own_turn {
            Some(turn) if ice_servers.is_empty() => turn.ice_servers(
                &format!("unit:{}", self.config.device_id),
                crate::metrics::unix_us() / 1_000_000,
            ),
            _ => ice_servers,
        };
        match Peer::new(
            guest_id.clone(),
            name,
            counters,
            self.ctx.clone(),
            &ice_servers,
        )
        .await
        {
            Ok(peer) => {
                let peer = Arc::new(peer);
                let (tx, mut rx) = mpsc::unbounded_channel::<SignalPayload>();
                let worker = peer.clone();
                let events = self.ctx.events.clone();
                let id = guest_id.clone();
                tokio::spawn(async move {
                    while let Some(payload) = rx.recv().await {
                        // A refused candidate is skipped inside `apply`; a bad offer ends
                        // this guest's connection alone.
                        if let Err(e) = worker.apply(payload).await {
                            tracing::warn!(guest = %id, "signaling failed: {e}");
                            let _ = events.send(PeerEvent::Gone {
                                guest_id: id.clone(),
                            });
                        }
                    }
                });
                let slot = PeerSlot {
                    peer,
                    signals: tx,
                    _listed: listed,
                };
                self.peers.insert(guest_id, slot);
            }
            Err(e) => {
                tracing::error!(guest = %guest_id, "cannot create a peer connection: {e}");
                let _ = self.ctx.events.send(PeerEvent::Gone { guest_id });
            }
        }
    }
}
