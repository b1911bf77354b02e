//! [`Session`]: the state machine itself.

use super::looks::Keepsakes;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use visavis_api::datachannel::{ChatRefused, Reaction, UnitMessage, chat_text};
use visavis_api::local::{ApiError, ApiErrorCode, ChatLine, Event, GuestState, Preview};
use visavis_api::signaling::{DeviceToServer, GuestId, IceServer, RestoredGuest, SignalPayload};

/// The speaking indicator stays on this long after the guest's voice was last heard, so it
/// does not flicker between words.
pub const SPEAKING_HOLD: Duration = Duration::from_millis(600);

/// How long a guest whose peer connection failed keeps their place: their page restarts ICE
/// with a new offer on the same connection (a Wi-Fi blip in the room or on their phone), and
/// only if it is not back up by then are they removed. The guest page gives up after 60 s
/// of trying (`rendezvous/web/reconnect.js`); the unit's ICE reports failure about 30 s into
/// an outage, so the two bounds end close together.
pub const PEER_RESTART_GRACE: Duration = Duration::from_secs(30);

/// Rules the session runs by, from the config.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    pub auto_admit: bool,
    pub admission_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_guests: usize,
}

/// The request id of an invite the unit asks for itself (rendezvous came back and may have
/// forgotten the one on the screen): its answer goes to the screen, not to a caller. Local
/// API request ids count up from 1 and never reach it.
pub const RENEW_INVITE: u64 = u64::MAX;

/// Something that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The rendezvous connection is authenticated.
    RendezvousUp,
    /// The rendezvous connection was lost.
    RendezvousDown,
    /// A local client asked for an invite; `request_id` correlates the answer.
    InviteRequested { request_id: u64 },
    /// Rendezvous created the invite.
    InviteCreated {
        request_id: u64,
        url: String,
        expires_at: u64,
    },
    /// A guest opened the invite and waits.
    Knock {
        guest_id: GuestId,
        name: String,
        /// The STUN/TURN servers rendezvous minted for the unit's side of this guest's call.
        ice_servers: Vec<IceServer>,
    },
    /// The guest's browser went away.
    GuestLeft { guest_id: GuestId },
    /// The person in the room let the guest in.
    Admit { guest_id: GuestId },
    /// The person in the room said "not now", or removes a guest.
    Deny { guest_id: GuestId },
    /// SDP/ICE from a guest.
    Signal {
        guest_id: GuestId,
        payload: SignalPayload,
    },
    /// The guest's peer connection is up (media flows), for the first time or again after
    /// an ICE restart.
    PeerConnected { guest_id: GuestId },
    /// The guest's peer connection failed (ICE found no path for a while): the guest keeps
    /// their place for [`PEER_RESTART_GRACE`] while their page restarts ICE.
    PeerFailed { guest_id: GuestId },
    /// The guest's peer connection closed or cannot go on (its signaling broke).
    PeerGone { guest_id: GuestId },
    /// A reaction arrived on a guest's data channel.
    Reaction {
        guest_id: GuestId,
        reaction: Reaction,
    },
    /// A chat line arrived on a guest's data channel (unchecked).
    Chat { guest_id: GuestId, text: String },
    /// A vote arrived on a guest's data channel.
    Vote {
        guest_id: GuestId,
        round: u32,
        look: u32,
    },
    /// End the session now (button, staff, local API).
    EndSession,
    /// The guest's video is decoded into a tile for the screen.
    TileReady { guest_id: GuestId, tile: Preview },
    /// That tile's decoder stopped.
    TileGone { guest_id: GuestId, tile: Preview },
    /// The guest's voice was heard, loud enough to count as speaking.
    VoiceHeard { guest_id: GuestId },
}

/// Something the daemon must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send to rendezvous.
    Send(DeviceToServer),
    /// Create the guest's peer connection (media may flow to them from now on).
    StartPeer {
        guest_id: GuestId,
        name: String,
        ice_servers: Vec<IceServer>,
    },
    /// Hand SDP/ICE to the guest's peer connection.
    ApplySignal {
        guest_id: GuestId,
        payload: SignalPayload,
    },
    /// Tear down the guest's peer connection.
    ClosePeer { guest_id: GuestId },
    /// Tell local clients (kiosk).
    Emit(Event),
    /// Answer a local invite request.
    InviteReady {
        request_id: u64,
        result: Result<(String, u64), ApiError>,
    },
    /// Send on one guest's data channel.
    ToGuest {
        guest_id: GuestId,
        message: UnitMessage,
    },
    /// Erase everything kept from the session (snapshots, chat, votes): the session ended.
    EraseSessionData,
}

/// One guest: the unit's only record of them.
#[derive(Debug, Clone)]
pub struct Guest {
    pub name: String,
    pub state: GuestState,
    /// When the guest knocked; admission times out from here.
    knocked_at: Instant,
    /// Their video's tile on the screen, once decoded.
    pub tile: Option<Preview>,
    /// Until when the speaking indicator stays on (their voice was last heard
    /// [`SPEAKING_HOLD`] before); none while they are silent.
    speaking_until: Option<Instant>,
    /// Their peer connection failed: they are removed at this time unless it comes back.
    restart_by: Option<Instant>,
    /// What the unit's peer connection for them uses (from their knock).
    ice_servers: Vec<IceServer>,
}

impl Guest {
    pub fn speaking(&self) -> bool {
        self.speaking_until.is_some()
    }
}

/// The session state machine. See the module docs.
#[derive(Debug)]
pub struct Session {
    settings: SessionSettings,
    rendezvous_up: bool,
    active: bool,
    invite: Option<(String, u64)>,
    guests: BTreeMap<GuestId, Guest>,
    pending_invites: Vec<u64>,
    /// Since when nobody has been in the call while the session is active.
    empty_since: Option<Instant>,
    keepsakes: Keepsakes,
    /// Guests can see the camera (not paused, privacy switch off).
    camera_on: bool,
    /// The "watching" count guests in the call were last told.
    watching_told: u32,
    actions: VecDeque<Action>,
}

impl Session {
    pub fn new(settings: SessionSettings) -> Self {
        Session {
            settings,
            rendezvous_up: false,
            active: false,
            invite: None,
            guests: BTreeMap::new(),
            pending_invites: Vec::new(),
            empty_since: None,
            keepsakes: Keepsakes::default(),
            camera_on: true,
            watching_told: 0,
            actions: VecDeque::new(),
        }
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Session::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let admission = self
            .guests
            .values()
            .filter(|g| g.state == GuestState::Waiting)
            .map(|g| g.knocked_at + self.settings.admission_timeout);
        let silence = self.guests.values().filter_map(|g| g.speaking_until);
        let restart = self.guests.values().filter_map(|g| g.restart_by);
        let idle = self.empty_since.map(|t| t + self.settings.idle_timeout);
        admission.chain(silence).chain(restart).chain(idle).min()
    }

    /// Connected and authenticated to rendezvous.
    pub fn rendezvous_up(&self) -> bool {
        self.rendezvous_up
    }

    /// Between the first invite and the end.
    pub fn active(&self) -> bool {
        self.active
    }

    /// The current invite link and its expiry (Unix seconds).
    pub fn invite(&self) -> Option<&(String, u64)> {
        self.invite.as_ref()
    }

    /// Every guest, in guest id order.
    pub fn guests(&self) -> impl Iterator<Item = (&GuestId, &Guest)> {
        self.guests.iter()
    }

    /// Whether anyone is in the call (media flowing).
    pub fn anyone_in_call(&self) -> bool {
        self.guests.values().any(|g| g.state == GuestState::InCall)
    }

    /// Looks, comparison and chat.
    pub fn keepsakes(&self) -> &Keepsakes {
        &self.keepsakes
    }

    /// Fire whatever timeouts are due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<GuestId> = self
            .guests
            .iter()
            .filter(|(_, g)| {
                g.state == GuestState::Waiting
                    && now >= g.knocked_at + self.settings.admission_timeout
            })
            .map(|(id, _)| id.clone())
            .collect();
        for guest_id in expired {
            tracing::info!(guest = %guest_id, "admission timed out");
            self.remove_guest(&guest_id, true, now);
        }
        let lost: Vec<GuestId> = self
            .guests
            .iter()
            .filter(|(_, g)| g.restart_by.is_some_and(|by| now >= by))
            .map(|(id, _)| id.clone())
            .collect();
        for guest_id in lost {
            tracing::info!(guest = %guest_id, "peer connection not restored in time: guest removed");
            self.remove_guest(&guest_id, true, now);
        }
        let quiet: Vec<GuestId> = self
            .guests
            .iter_mut()
            .filter(|(_, g)| g.speaking_until.is_some_and(|until| now >= until))
            .map(|(guest_id, g)| {
                g.speaking_until = None;
                guest_id.clone()
            })
            .collect();
        for guest_id in quiet {
            self.actions.push_back(Action::Emit(Event::Speaking {
                guest_id: guest_id.clone(),
                speaking: false,
            }));
            self.tell_speaking(&guest_id, false);
        }
        if self
            .empty_since
            .is_some_and(|t| now >= t + self.settings.idle_timeout)
        {
            tracing::info!("session idle: ending it");
            self.end(now);
        }
    }

    /// Feed one input.
    pub fn handle_input(&mut self, input: Input, now: Instant) {
        match input {
            Input::RendezvousUp => {
                self.set_rendezvous_up(true);
                if !self.active {
                    // Whatever rendezvous still holds for this unit (an end it missed while
                    // offline, a session from before a restart) must not stay open.
                    self.actions
                        .push_back(Action::Send(DeviceToServer::EndSession));
                } else {
                    // Rendezvous may have restarted and forgotten the call: name its guests
                    // so their pages can resume their signaling (nothing new is admitted).
                    let guests = self
                        .guests
                        .iter()
                        .filter(|(_, g)| g.state != GuestState::Waiting)
                        .map(|(guest_id, g)| RestoredGuest {
                            guest_id: guest_id.clone(),
                            name: g.name.clone(),
                        })
                        .collect();
                    self.actions
                        .push_back(Action::Send(DeviceToServer::Restore { guests }));
                    // Its invites too: the code on the screen would lead nowhere. A fresh
                    // one replaces it (the kiosk shows it from the `invite` event).
                    if self.invite.is_some() && !self.pending_invites.contains(&RENEW_INVITE) {
                        self.pending_invites.push(RENEW_INVITE);
                        self.actions
                            .push_back(Action::Send(DeviceToServer::CreateInvite {
                                request_id: RENEW_INVITE,
                                ttl_secs: None,
                            }));
                    }
                }
            }
            Input::RendezvousDown => {
                self.set_rendezvous_up(false);
                // Waiting guests were on the lost socket; in-call guests keep their media.
                let waiting: Vec<GuestId> = self
                    .guests
                    .iter()
                    .filter(|(_, g)| g.state == GuestState::Waiting)
                    .map(|(id, _)| id.clone())
                    .collect();
                for guest_id in waiting {
                    self.remove_guest(&guest_id, false, now);
                }
                for request_id in std::mem::take(&mut self.pending_invites) {
                    if request_id == RENEW_INVITE {
                        continue;
                    }
                    self.actions.push_back(Action::InviteReady {
                        request_id,
                        result: Err(rendezvous_unavailable()),
                    });
                }
            }
            Input::InviteRequested { request_id } => {
                if !self.rendezvous_up {
                    self.actions.push_back(Action::InviteReady {
                        request_id,
                        result: Err(rendezvous_unavailable()),
                    });
                    return;
                }
                self.pending_invites.push(request_id);
                self.actions
                    .push_back(Action::Send(DeviceToServer::CreateInvite {
                        request_id,
                        ttl_secs: None,
                    }));
            }
            Input::InviteCreated {
                request_id,
                url,
                expires_at,
            } => {
                let Some(pos) = self.pending_invites.iter().position(|r| *r == request_id) else {
                    tracing::warn!(request_id, "invite for a request nobody made; ignored");
                    return;
                };
                self.pending_invites.remove(pos);
                if !self.active {
                    self.active = true;
                    self.empty_since = Some(now);
                }
                self.invite = Some((url.clone(), expires_at));
                self.actions.push_back(Action::Emit(Event::Invite {
                    url: url.clone(),
                    expires_at,
                }));
                if request_id == RENEW_INVITE {
                    tracing::info!("rendezvous came back: a fresh invite replaces the one shown");
                    return;
                }
                self.actions.push_back(Action::InviteReady {
                    request_id,
                    result: Ok((url, expires_at)),
                });
            }
            Input::Knock {
                guest_id,
                name,
                ice_servers,
            } => self.knock(guest_id, name, ice_servers, now),
            Input::GuestLeft { guest_id } => self.remove_guest(&guest_id, false, now),
            Input::Admit { guest_id } => self.admit(&guest_id, now),
            Input::Deny { guest_id } => self.remove_guest(&guest_id, true, now),
            Input::Signal { guest_id, payload } => match self.guests.get(&guest_id) {
                Some(g) if g.state != GuestState::Waiting => {
                    self.actions
                        .push_back(Action::ApplySignal { guest_id, payload });
                }
                Some(_) => {
                    tracing::warn!(guest = %guest_id, "signaling from a guest not admitted; dropped")
                }
                None => {
                    // Rendezvous still holds a guest the unit no longer has: removed while
                    // rendezvous was unreachable (their connection was not restored in time).
                    // Turn them away so their page stops trying; nothing is re-admitted.
                    tracing::info!(guest = %guest_id, "signaling from a guest no longer in the call; turned away");
                    if self.rendezvous_up {
                        self.actions
                            .push_back(Action::Send(DeviceToServer::Deny { guest_id }));
                    }
                }
            },
            Input::PeerConnected { guest_id } => {
                if let Some(g) = self.guests.get_mut(&guest_id)
                    && g.restart_by.take().is_some()
                {
                    tracing::info!(guest = %guest_id, "peer connection restored");
                }
                if let Some(g) = self.guests.get_mut(&guest_id)
                    && g.state == GuestState::Connecting
                {
                    g.state = GuestState::InCall;
                    let name = g.name.clone();
                    // A guest who arrives mid-comparison sees it and can vote.
                    if !self.camera_on {
                        self.actions.push_back(Action::ToGuest {
                            guest_id: guest_id.clone(),
                            message: UnitMessage::Camera { on: false },
                        });
                    }
                    // Who is talking as they arrive: the others hear of a voice only when
                    // it starts, and someone speaking on and on would stay unnamed.
                    let talking: Vec<UnitMessage> = self
                        .guests
                        .iter()
                        .filter(|(id, o)| {
                            **id != guest_id && o.state == GuestState::InCall && o.speaking()
                        })
                        .map(|(_, o)| UnitMessage::Speaking {
                            name: o.name.clone(),
                            speaking: true,
                        })
                        .collect();
                    let messages = self.keepsakes.compare_messages().into_iter();
                    let messages = messages.chain(self.keepsakes.tally_message());
                    for message in messages.chain(talking) {
                        self.actions.push_back(Action::ToGuest {
                            guest_id: guest_id.clone(),
                            message,
                        });
                    }
                    self.actions
                        .push_back(Action::Emit(Event::GuestJoined { guest_id, name }));
                    self.tell_watching();
                }
            }
            Input::PeerFailed { guest_id } => {
                if let Some(g) = self.guests.get_mut(&guest_id)
                    && g.state != GuestState::Waiting
                    && g.restart_by.is_none()
                {
                    tracing::info!(guest = %guest_id, grace = ?PEER_RESTART_GRACE, "peer connection failed: waiting for the guest to restart it");
                    g.restart_by = Some(now + PEER_RESTART_GRACE);
                }
            }
            Input::PeerGone { guest_id } => {
                if self
                    .guests
                    .get(&guest_id)
                    .is_some_and(|g| g.state != GuestState::Waiting)
                {
                    self.remove_guest(&guest_id, true, now);
                }
            }
            Input::Reaction { guest_id, reaction } => {
                let Some(name) = self.in_call_name(&guest_id) else {
                    return;
                };
                self.tell_others(&guest_id, UnitMessage::Reaction { name, reaction });
                self.actions
                    .push_back(Action::Emit(Event::Reaction { guest_id, reaction }));
            }
            Input::Chat { guest_id, text } => self.chat(guest_id, &text),
            Input::Vote {
                guest_id,
                round,
                look,
            } => {
                if !self.in_call(&guest_id) {
                    return;
                }
                match self.keepsakes.vote(&guest_id, round, look) {
                    Some(status) => {
                        self.actions.push_back(Action::Emit(Event::Votes(status)));
                        self.tell_guests(self.keepsakes.tally_message());
                    }
                    None => {
                        tracing::info!(guest = %guest_id, round, look, "vote for no open comparison; ignored")
                    }
                }
            }
            Input::EndSession => self.end(now),
            Input::TileReady { guest_id, tile } => self.set_tile(guest_id, Some(tile)),
            Input::TileGone { guest_id, tile } => {
                // A newer decoder may have replaced the tile already: only this one goes.
                if self
                    .guests
                    .get(&guest_id)
                    .is_some_and(|g| g.tile.as_ref() == Some(&tile))
                {
                    self.set_tile(guest_id, None);
                }
            }
            Input::VoiceHeard { guest_id } => {
                let Some(g) = self.guests.get_mut(&guest_id) else {
                    return;
                };
                let was_speaking = g.speaking();
                g.speaking_until = Some(now + SPEAKING_HOLD);
                if !was_speaking {
                    self.tell_speaking(&guest_id, true);
                    self.actions.push_back(Action::Emit(Event::Speaking {
                        guest_id,
                        speaking: true,
                    }));
                }
            }
        }
    }

    fn set_rendezvous_up(&mut self, connected: bool) {
        if self.rendezvous_up != connected {
            self.rendezvous_up = connected;
            self.actions
                .push_back(Action::Emit(Event::Rendezvous { connected }));
        }
    }

    fn set_tile(&mut self, guest_id: GuestId, tile: Option<Preview>) {
        if let Some(g) = self.guests.get_mut(&guest_id)
            && g.tile != tile
        {
            g.tile = tile.clone();
            self.actions
                .push_back(Action::Emit(Event::Tile { guest_id, tile }));
        }
    }

    /// Keep a picture of the room as a look (local API `save_look`).
    pub fn save_look(&mut self, jpeg_base64: String) -> Result<u32, ApiError> {
        if !self.active {
            return Err(ApiError {
                code: ApiErrorCode::NoSession,
                message: "no session: looks are saved once friends are invited".into(),
            });
        }
        let look = self.keepsakes.save(jpeg_base64)?;
        self.actions
            .push_back(Action::Emit(Event::LookSaved { look }));
        Ok(look)
    }

    /// A saved look's picture (local API `look_image`).
    pub fn look_image(&self, look: u32) -> Result<Arc<str>, ApiError> {
        self.keepsakes.image(look)
    }

    /// Show two looks to every guest in the call (local API `compare`).
    pub fn compare(&mut self, looks: [u32; 2]) -> Result<(), ApiError> {
        self.keepsakes.check_compare(looks)?;
        if let Some(ended) = self.keepsakes.end_compare() {
            self.tell_guests(Some(ended));
        }
        for message in self.keepsakes.compare(looks)? {
            self.tell_guests(Some(message));
        }
        if let Some(status) = self.keepsakes.status() {
            self.actions.push_back(Action::Emit(Event::Votes(status)));
        }
        Ok(())
    }

    /// The camera went off for guests (paused, privacy switch) or came back: guests in the
    /// call are told, so their page covers the frozen picture.
    pub fn set_camera_on(&mut self, on: bool) {
        if self.camera_on != on {
            self.camera_on = on;
            self.tell_guests(Some(UnitMessage::Camera { on }));
        }
    }

    /// Close the comparison (local API `end_compare`); nothing to do when none is open.
    pub fn end_compare(&mut self) {
        if let Some(ended) = self.keepsakes.end_compare() {
            self.tell_guests(Some(ended));
            if let Some(status) = self.keepsakes.status() {
                self.actions.push_back(Action::Emit(Event::Votes(status)));
            }
        }
    }

    /// The name of `guest_id` if they are in the call.
    fn in_call_name(&self, guest_id: &str) -> Option<String> {
        self.guests
            .get(guest_id)
            .filter(|g| g.state == GuestState::InCall)
            .map(|g| g.name.clone())
    }

    fn in_call(&self, guest_id: &str) -> bool {
        self.guests
            .get(guest_id)
            .is_some_and(|g| g.state == GuestState::InCall)
    }

    fn tell_guests(&mut self, message: Option<UnitMessage>) {
        let Some(message) = message else { return };
        for (guest_id, _) in self
            .guests
            .iter()
            .filter(|(_, g)| g.state == GuestState::InCall)
        {
            self.actions.push_back(Action::ToGuest {
                guest_id: guest_id.clone(),
                message: message.clone(),
            });
        }
    }

    /// Send `message` to every guest in the call but `sender` (who shows their own). A
    /// guest still waiting or connecting never gets it: they have not been let in.
    fn tell_others(&mut self, sender: &str, message: UnitMessage) {
        for (guest_id, _) in self
            .guests
            .iter()
            .filter(|(id, g)| g.state == GuestState::InCall && id.as_str() != sender)
        {
            self.actions.push_back(Action::ToGuest {
                guest_id: guest_id.clone(),
                message: message.clone(),
            });
        }
    }

    /// Tell the other guests in the call that `guest_id` started or stopped speaking (a
    /// guest not in the call is never named).
    fn tell_speaking(&mut self, guest_id: &str, speaking: bool) {
        if let Some(name) = self.in_call_name(guest_id) {
            self.tell_others(guest_id, UnitMessage::Speaking { name, speaking });
        }
    }

    /// Tell the guests in the call how many they are, when that changed.
    fn tell_watching(&mut self) {
        let count = self
            .guests
            .values()
            .filter(|g| g.state == GuestState::InCall)
            .count();
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        if count != self.watching_told {
            self.watching_told = count;
            self.tell_guests(Some(UnitMessage::Watching { count }));
        }
    }

    fn chat(&mut self, guest_id: GuestId, raw: &str) {
        let Some(name) = self.in_call_name(&guest_id) else {
            return;
        };
        match chat_text(raw) {
            Ok(text) => {
                self.tell_others(
                    &guest_id,
                    UnitMessage::Chat {
                        name: name.clone(),
                        text: text.clone(),
                    },
                );
                let line = ChatLine {
                    guest_id,
                    name,
                    text,
                };
                self.keepsakes.add_chat(line.clone());
                self.actions.push_back(Action::Emit(Event::Chat(line)));
            }
            Err(ChatRefused::Empty) => {}
            Err(ChatRefused::TooLong) => {
                tracing::info!(guest = %guest_id, "chat line over the limit; dropped")
            }
        }
    }

    /// Answer to the local API's `admit`, checked before feeding [`Input::Admit`].
    pub fn check_admit(&self, guest_id: &str) -> Result<(), ApiError> {
        match self.guests.get(guest_id) {
            None => Err(ApiError {
                code: ApiErrorCode::UnknownGuest,
                message: format!("no guest {guest_id:?} is waiting (they may have left)"),
            }),
            Some(g) if g.state != GuestState::Waiting => Err(ApiError {
                code: ApiErrorCode::AlreadyAdmitted,
                message: format!("guest {guest_id:?} is already admitted"),
            }),
            Some(_) if self.admitted_count() >= self.settings.max_guests => Err(ApiError {
                code: ApiErrorCode::CallFull,
                message: format!("the call is full ({} guests)", self.settings.max_guests),
            }),
            Some(_) => Ok(()),
        }
    }

    /// Answer to the local API's `deny`.
    pub fn check_known(&self, guest_id: &str) -> Result<(), ApiError> {
        if self.guests.contains_key(guest_id) {
            Ok(())
        } else {
            Err(ApiError {
                code: ApiErrorCode::UnknownGuest,
                message: format!("no guest {guest_id:?} (they may have left)"),
            })
        }
    }

    fn admitted_count(&self) -> usize {
        self.guests
            .values()
            .filter(|g| g.state != GuestState::Waiting)
            .count()
    }

    fn knock(
        &mut self,
        guest_id: GuestId,
        name: String,
        ice_servers: Vec<IceServer>,
        now: Instant,
    ) {
        if !self.active || self.guests.contains_key(&guest_id) {
            // A knock outside a session (rendezvous raced an end) or a duplicate: turn away.
            self.actions
                .push_back(Action::Send(DeviceToServer::Deny { guest_id }));
            return;
        }
        self.guests.insert(
            guest_id.clone(),
            Guest {
                name: name.clone(),
                state: GuestState::Waiting,
                knocked_at: now,
                tile: None,
                speaking_until: None,
                restart_by: None,
                ice_servers,
            },
        );
        self.actions.push_back(Action::Emit(Event::GuestKnock {
            guest_id: guest_id.clone(),
            name,
        }));
        if self.settings.auto_admit {
            self.admit(&guest_id, now);
        }
    }

    fn admit(&mut self, guest_id: &GuestId, now: Instant) {
        if let Err(e) = self.check_admit(guest_id) {
            tracing::warn!(guest = %guest_id, "not admitted: {}", e.message);
            if e.code == ApiErrorCode::CallFull
                && self
                    .guests
                    .get(guest_id)
                    .is_some_and(|g| g.state == GuestState::Waiting)
            {
                self.remove_guest(guest_id, true, now);
            }
            return;
        }
        let Some(g) = self.guests.get_mut(guest_id) else {
            return;
        };
        g.state = GuestState::Connecting;
        let name = g.name.clone();
        let ice_servers = g.ice_servers.clone();
        self.actions.push_back(Action::Emit(Event::GuestAdmitted {
            guest_id: guest_id.clone(),
        }));
        self.empty_since = None;
        self.actions.push_back(Action::StartPeer {
            guest_id: guest_id.clone(),
            name,
            ice_servers,
        });
        self.actions.push_back(Action::Send(DeviceToServer::Admit {
            guest_id: guest_id.clone(),
        }));
    }

    /// Remove a guest; `tell_rendezvous` when the unit (not the guest) ends it.
    fn remove_guest(&mut self, guest_id: &GuestId, tell_rendezvous: bool, now: Instant) {
        let Some(g) = self.guests.remove(guest_id) else {
            return;
        };
        if g.state != GuestState::Waiting {
            self.actions.push_back(Action::ClosePeer {
                guest_id: guest_id.clone(),
            });
        }
        if g.state == GuestState::InCall {
            if g.speaking() {
                // Their voice stops with them: the others' "talking" pill must not keep
                // naming someone who left mid-sentence.
                self.tell_others(
                    guest_id,
                    UnitMessage::Speaking {
                        name: g.name.clone(),
                        speaking: false,
                    },
                );
            }
            self.tell_watching();
        }
        if tell_rendezvous && self.rendezvous_up {
            self.actions.push_back(Action::Send(DeviceToServer::Deny {
                guest_id: guest_id.clone(),
            }));
        }
        self.actions.push_back(Action::Emit(Event::GuestLeft {
            guest_id: guest_id.clone(),
        }));
        if self.active && self.admitted_count() == 0 && self.empty_since.is_none() {
            self.empty_since = Some(now);
        }
    }

    fn end(&mut self, _now: Instant) {
        for (guest_id, mut g) in std::mem::take(&mut self.guests) {
            zeroize::Zeroize::zeroize(&mut g.name);
            if g.state != GuestState::Waiting {
                self.actions.push_back(Action::ClosePeer { guest_id });
            }
        }
        if self.rendezvous_up {
            self.actions
                .push_back(Action::Send(DeviceToServer::EndSession));
        }
        self.watching_told = 0;
        let was_active = std::mem::replace(&mut self.active, false);
        self.invite = None;
        self.empty_since = None;
        let shared = self.keepsakes.erase();
        if shared > 0 {
            tracing::debug!(
                shared,
                "stills still queued for a local client were released, not overwritten"
            );
        }
        self.actions.push_back(Action::EraseSessionData);
        if was_active {
            self.actions.push_back(Action::Emit(Event::SessionEnded));
        }
    }
}

fn rendezvous_unavailable() -> ApiError {
    ApiError {
        code: ApiErrorCode::RendezvousUnavailable,
        message:
            "the unit is not connected to rendezvous right now; check the network and try again"
                .into(),
    }
}
