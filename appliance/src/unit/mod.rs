//! [`Unit`]: the one owner of the unit's state.
//!
//! It holds the session (guests, invite, looks, votes, chat, timeouts: [`Session`]), the
//! room (privacy switch, presence, mute, pause, volume, problems: [`Room`]) and the staff
//! PIN's wrong tries. It is sans-IO, after str0m: the daemon feeds it [`Input`]s with the
//! current time ([`Unit::handle_input`], [`Unit::handle_timeout`]) and carries out the
//! [`Output`]s it polls ([`Unit::poll_output`]): replies to local requests, messages to
//! rendezvous and guests, what media to let out, the LED, events for the kiosk. Every rule
//! (who is let in, when a look can be saved, what volume is, who may see the staff report)
//! is decided here and tested on simulated time, without sockets or threads.
//!
//! [`Unit::status`] is the only place the local API's [`Status`] is built; every change to
//! what it shows goes out as a numbered [`Event`], so a client that applies them
//! ([`Status::apply`]) holds the same status.

mod flood;
mod local;
mod room;
#[cfg(test)]
mod tests;

use crate::peer::PeerEvent;
use crate::session::{Action, Session, SessionSettings};
use crate::signaling::Link;
use crate::staff::PinFileError;
use std::collections::VecDeque;
use std::time::Instant;
use visavis_api::datachannel::UnitMessage;
use visavis_api::local::{
    BoardButton, BoardInput, Event, GuestStatus, Outcome, Request, Response, StaffAction, StaffPin,
    Status,
};
use visavis_api::signaling::{DeviceToServer, GuestId, IceServer, ServerToDevice, SignalPayload};
use visavis_hardware::{BoardEvent, Button, Led};

pub use local::input;
pub use room::Room;

/// Correlates a local request with its reply; chosen by the daemon.
pub type ReplyId = u64;

/// What the unit runs by, fixed for the daemon's life.
#[derive(Debug, Clone)]
pub struct UnitSettings {
    pub session: SessionSettings,
    /// The answer to `hello`.
    pub hello: Response,
    /// The microphone stays on for guests while the privacy switch is on.
    pub audio_continues: bool,
    /// The board is simulated: its inputs can be worked through the local API.
    pub simulated_board: bool,
    /// A local preview exists to take stills for looks from.
    pub preview: bool,
    /// The speaker's loudness at start, 0 to 100.
    pub volume: u8,
    /// The privacy switch and the presence sensor as the board reads them at start.
    pub privacy: bool,
    pub presence: bool,
    /// Why first boot needs staff attention, if it does.
    pub first_boot_problem: Option<String>,
    /// Wrong staff PINs counted before this start (see [`crate::staff::PinGuard::resume`]).
    pub wrong_pins: u32,
    /// Why the unit runs without its microphone, if it does.
    pub mic_problem: Option<String>,
}

/// Something that happened.
#[derive(Debug)]
pub enum Input {
    /// A local API request (all but `staff`, which is [`Input::Staff`]).
    Request { id: ReplyId, request: Request },
    /// A staff request, with the unit's staff PIN as the daemon read it from its file
    /// (`Err`: why there is none, said to whoever typed a PIN).
    Staff {
        id: ReplyId,
        pin: StaffPin,
        action: StaffAction,
        pin_file: Result<String, PinFileError>,
    },
    /// The still asked for by [`Output::TakeStill`], as JPEG, or why it failed.
    Still {
        id: ReplyId,
        jpeg: Result<Vec<u8>, String>,
    },
    /// The rendezvous connection's news.
    Rendezvous(Link),
    /// The board read an event at `at` (Unix µs).
    Board { event: BoardEvent, at: u64 },
    /// A guest's peer connection reports.
    Peer(PeerEvent),
    /// A guest's decoded media reports.
    GuestMedia(crate::media::remote::GuestMediaEvent),
    /// The microphone is missing or failed (why, naming the device), or is back (`None`).
    Mic(Option<String>),
}

/// Something the daemon must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Keep the count of wrong staff PINs for the next start.
    SavePinTries {
        wrong: u32,
    },
    /// Answer local request `id`.
    Reply {
        id: ReplyId,
        outcome: Outcome,
    },
    /// Send to rendezvous.
    ToRendezvous(DeviceToServer),
    /// Create the guest's peer connection (media may flow to them from now on).
    StartPeer {
        guest_id: GuestId,
        name: String,
        /// From rendezvous for this guest's call; empty when it gave none.
        ice_servers: Vec<IceServer>,
    },
    /// Hand SDP/ICE to the guest's peer connection.
    ApplySignal {
        guest_id: GuestId,
        payload: SignalPayload,
    },
    /// Tear down the guest's peer connection.
    ClosePeer {
        guest_id: GuestId,
    },
    /// Send on one guest's data channel.
    ToGuest {
        guest_id: GuestId,
        message: UnitMessage,
    },
    /// Tell local clients; `seq` numbers events from 1.
    Emit {
        seq: u64,
        event: Event,
    },
    /// What guests get from the camera and the microphone.
    MediaOutputs {
        video: bool,
        audio: bool,
    },
    /// Record the privacy switch in the metrics, flipped at `at` (Unix µs; none: now).
    NotePrivacy {
        on: bool,
        at: Option<u64>,
    },
    /// The speaker's loudness, 0 to 100.
    SetVolume(u8),
    /// The screen's guest tiles are this many pixels wide at most (0: none shown).
    ScreenTiles(u32),
    Led(Led),
    /// Take a still of the camera and feed it back as [`Input::Still`].
    TakeStill {
        id: ReplyId,
    },
    /// Answer `id` with the media counters.
    ReplyMetrics {
        id: ReplyId,
    },
    /// Answer `id` with the staff report, from these facts and the daemon's own.
    ReplyStaffReport {
        id: ReplyId,
        facts: StaffFacts,
    },
    /// Call the configured waiter webhook.
    CallWaiter,
    /// Work the simulated board.
    SimulateBoard(BoardInput),
    /// Stop the daemon so systemd starts it again (after the reply has gone out).
    Restart,
}

/// What the staff report takes from the unit's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffFacts {
    pub rendezvous_connected: bool,
    pub privacy: bool,
    pub problems: Vec<String>,
}

/// The unit's state. See the module docs.
#[derive(Debug)]
pub struct Unit {
    settings: UnitSettings,
    session: Session,
    room: Room,
    pins: crate::staff::PinGuard,
    /// What each guest may still send over the data channel.
    allowances: flood::Allowances,
    /// Events emitted so far (the last one's number).
    seq: u64,
    outputs: VecDeque<Output>,
}

impl Unit {
    /// A unit as it starts: the outputs to apply the board's switch at once are queued.
    pub fn new(settings: UnitSettings) -> Unit {
        if settings.session.auto_admit {
            tracing::warn!("auto_admit is on: every guest is let in without a tap. Demo use only.");
        }
        let room = Room::new(&settings);
        let mut unit = Unit {
            session: Session::new(settings.session.clone()),
            room,
            pins: crate::staff::PinGuard::resume(settings.wrong_pins),
            allowances: flood::Allowances::default(),
            seq: 0,
            outputs: VecDeque::new(),
            settings,
        };
        if unit.room.privacy() {
            tracing::info!("the privacy switch is on: no video leaves the unit until it is off");
            unit.outputs
                .push_back(Output::NotePrivacy { on: true, at: None });
        }
        unit.apply_room();
        unit.settle();
        unit
    }

    /// The next thing to do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Unit::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }

    /// Fire whatever timeouts are due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
        self.settle();
    }

    /// Feed one input.
    pub fn handle_input(&mut self, input: Input, now: Instant) {
        match input {
            Input::Request { id, request } => self.request(id, request, now),
            Input::Staff {
                id,
                pin,
                action,
                pin_file,
            } => self.staff(id, &pin, action, &pin_file, now),
            Input::Still { id, jpeg } => self.still(id, jpeg),
            Input::Rendezvous(link) => self.rendezvous(link, now),
            Input::Board { event, at } => self.board(event, at),
            Input::Peer(event) => self.peer(event, now),
            Input::Mic(problem) => self.room.set_mic_problem(problem),
            Input::GuestMedia(event) => {
                use crate::media::remote::GuestMediaEvent as M;
                let input = match event {
                    M::TileReady { guest_id, tile } => SessionInput::TileReady { guest_id, tile },
                    M::TileGone { guest_id, tile } => SessionInput::TileGone { guest_id, tile },
                    M::VoiceHeard { guest_id } => SessionInput::VoiceHeard { guest_id },
                };
                self.session.handle_input(input, now);
            }
        }
        self.settle();
    }

    /// Where things stand, for the local API: the only place a [`Status`] is built.
    pub fn status(&self) -> Status {
        status(&self.session, &self.room, self.seq)
    }

    /// Leaving: end the session so guests are told and nothing of it survives the process.
    pub fn shut_down(&mut self, now: Instant) {
        self.session.handle_input(SessionInput::EndSession, now);
        self.settle();
    }

    fn rendezvous(&mut self, link: Link, now: Instant) {
        match link {
            Link::Up => {
                self.room.set_rendezvous_problem(None);
                self.session.handle_input(SessionInput::RendezvousUp, now);
            }
            Link::Problem(p) => self.room.set_rendezvous_problem(Some(p)),
            Link::Down => self.session.handle_input(SessionInput::RendezvousDown, now),
            Link::Message(msg) => {
                if let Some(input) = from_rendezvous(msg) {
                    self.session.handle_input(input, now);
                }
            }
        }
    }

    fn board(&mut self, event: BoardEvent, at: u64) {
        let event = match event {
            BoardEvent::PrivacySwitch(on) => {
                tracing::info!(on, "privacy switch");
                self.room.set_privacy(on);
                self.outputs
                    .push_back(Output::NotePrivacy { on, at: Some(at) });
                self.apply_room();
                return;
            }
            BoardEvent::Presence(present) => {
                self.room.set_presence(present);
                return;
            }
            BoardEvent::Button(Button::Call) => BoardButton::Call,
            BoardEvent::Button(Button::Mute) => BoardButton::Mute,
        };
        self.emit(Event::Button { button: event });
    }

    fn peer(&mut self, event: PeerEvent, now: Instant) {
        let input = match event {
            PeerEvent::LocalSignal { guest_id, payload } => {
                self.outputs
                    .push_back(Output::ToRendezvous(DeviceToServer::Signal {
                        guest_id,
                        payload,
                    }));
                return;
            }
            PeerEvent::Connected { guest_id } => SessionInput::PeerConnected { guest_id },
            PeerEvent::Failed { guest_id } => SessionInput::PeerFailed { guest_id },
            PeerEvent::Gone { guest_id } => {
                self.allowances.forget(&guest_id);
                SessionInput::PeerGone { guest_id }
            }
            PeerEvent::Reaction { guest_id, reaction } => {
                if !self.allowances.allow(&guest_id, flood::Kind::Reaction, now) {
                    return;
                }
                SessionInput::Reaction { guest_id, reaction }
            }
            PeerEvent::Chat { guest_id, text } => {
                if !self.allowances.allow(&guest_id, flood::Kind::Chat, now) {
                    return;
                }
                SessionInput::Chat { guest_id, text }
            }
            PeerEvent::Vote {
                guest_id,
                round,
                look,
            } => {
                if !self.allowances.allow(&guest_id, flood::Kind::Vote, now) {
                    return;
                }
                SessionInput::Vote {
                    guest_id,
                    round,
                    look,
                }
            }
        };
        self.session.handle_input(input, now);
    }

    /// Let the media follow the room (privacy, pause, mute) and tell the session whether
    /// guests can see the camera.
    fn apply_room(&mut self) {
        let (video, audio) = self.room.outputs(self.settings.audio_continues);
        self.outputs
            .push_back(Output::MediaOutputs { video, audio });
        self.session.set_camera_on(video);
    }

    /// After every input: carry the session's and the room's news out, then the LED.
    fn settle(&mut self) {
        self.drain_session();
        for event in self.room.take_events() {
            self.emit(event);
        }
        if let Some(led) = self.room.led(self.session.anyone_in_call()) {
            self.outputs.push_back(Output::Led(led));
        }
    }

    fn drain_session(&mut self) {
        while let Some(action) = self.session.poll_action() {
            let output = match action {
                Action::Send(msg) => Output::ToRendezvous(msg),
                Action::StartPeer {
                    guest_id,
                    name,
                    ice_servers,
                } => Output::StartPeer {
                    guest_id,
                    name,
                    ice_servers,
                },
                Action::ApplySignal { guest_id, payload } => {
                    Output::ApplySignal { guest_id, payload }
                }
                Action::ClosePeer { guest_id } => Output::ClosePeer { guest_id },
                Action::Emit(event) => {
                    self.emit(event);
                    continue;
                }
                Action::InviteReady { request_id, result } => Output::Reply {
                    id: request_id,
                    outcome: match result {
                        Ok((url, expires_at)) => Outcome::Ok(Response::Invite { url, expires_at }),
                        Err(e) => Outcome::Error(e),
                    },
                },
                Action::ToGuest { guest_id, message } => Output::ToGuest { guest_id, message },
                Action::EraseSessionData => {
                    // The session core cleared looks, votes and chat; the peers are closed.
                    tracing::info!("session ended; everything from it was erased");
                    continue;
                }
            };
            self.outputs.push_back(output);
        }
    }

    fn emit(&mut self, event: Event) {
        self.seq += 1;
        self.outputs.push_back(Output::Emit {
            seq: self.seq,
            event,
        });
    }

    fn reply(&mut self, id: ReplyId, outcome: Outcome) {
        self.outputs.push_back(Output::Reply { id, outcome });
    }
}

use crate::session::Input as SessionInput;

/// The local API's status from the session and the room, as of event `seq`.
pub(crate) fn status(session: &Session, room: &Room, seq: u64) -> Status {
    let keepsakes = session.keepsakes();
    Status {
        seq,
        rendezvous_connected: session.rendezvous_up(),
        session_active: session.active(),
        invite_url: session.invite().map(|(url, _)| url.clone()),
        invite_expires_at: session.invite().map(|(_, expires)| *expires),
        guests: session
            .guests()
            .map(|(id, g)| GuestStatus {
                guest_id: id.clone(),
                name: g.name.clone(),
                state: g.state,
                tile: g.tile.clone(),
                speaking: g.speaking(),
            })
            .collect(),
        problems: room.problems(),
        privacy: room.privacy(),
        presence: room.presence(),
        looks: keepsakes.ids(),
        compare: keepsakes.status(),
        chat: keepsakes.chat(),
        mic_muted: room.mic_muted(),
        camera_paused: room.camera_paused(),
        volume: room.volume(),
    }
}

/// What a rendezvous message means for the session, if anything.
fn from_rendezvous(msg: ServerToDevice) -> Option<SessionInput> {
    Some(match msg {
        ServerToDevice::Invite {
            request_id,
            url,
            expires_at,
            ..
        } => SessionInput::InviteCreated {
            request_id,
            url,
            expires_at,
        },
        ServerToDevice::GuestKnock {
            guest_id,
            name,
            ice_servers,
        } => SessionInput::Knock {
            guest_id,
            name,
            ice_servers,
        },
        ServerToDevice::Signal { guest_id, payload } => SessionInput::Signal { guest_id, payload },
        ServerToDevice::GuestLeft { guest_id } => SessionInput::GuestLeft { guest_id },
        ServerToDevice::Error { code, message } => {
            tracing::warn!(?code, "rendezvous reported: {message}");
            return None;
        }
        ServerToDevice::Welcome { .. } | ServerToDevice::Challenge { .. } => return None,
    })
}
