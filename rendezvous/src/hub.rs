//! Who is connected, and routing between a unit and its guests.
//!
//! Every WebSocket has an outgoing queue ([`Link`]); the hub only pushes messages into those
//! queues (never waits), so it lives behind a plain mutex and is tested with channels, no
//! sockets. A queue that is full means the peer is not reading: it is kicked.
//!
//! Rules kept here:
//! - one connection per unit: a new one replaces the old, which is told and closed; guests
//!   still waiting are knocked again on the new connection;
//! - guests outlive their unit's connection: while the unit is away (a Wi-Fi blip), an
//!   admitted guest's signals are refused with `device_offline` (the guest page retries,
//!   its socket stays open); once the unit is back on a new connection they reach it again,
//!   without a new knock or admission (they are told `unit_back`, so a call that is
//!   reconnecting offers again at once). If the unit ended the session meanwhile, it says so
//!   when it is back (`end_session`) and every guest is told `session_ended`;
//! - a guest is bound to the unit and session of its invite; only admitted guests signal;
//! - `GuestLeft` goes to the unit only when the guest went away by itself (closed, left),
//!   not after the unit's own `Deny` or `EndSession`;
//! - after rendezvous restarted, the unit names the guests of its call (`restore`); each
//!   takes its place again when its page resumes on a new socket with its guest id, which
//!   only it and the unit know (`resume`). A guest the unit did not name gets
//!   `device_offline` and tries again later: the unit may not have reconnected yet;
//! - an admitted guest whose own socket is lost (no `leave`, no normal close: a 4G
//!   handover, a tunnel, a locked screen) keeps their place for the hold (`guest_hold_secs`,
//!   see [`Hub::socket_closed`]): the unit is not told, the media goes on, and the page
//!   resumes on a new socket as after a restart. What the unit sends the guest meanwhile
//!   (ICE candidates, the answer to an ICE restart's offer, `unit_away`/`unit_back`) is
//!   kept (at most [`MAX_HELD_MESSAGES`] messages and [`MAX_HELD_BYTES`] bytes, the
//!   oldest dropped beyond) and goes to the page right after `resumed`, in order, before
//!   anything newer. When the hold ends ([`Hub::hold_expired`])
//!   the unit hears `GuestLeft`, and a late resume is refused with `place_ended` (or
//!   `session_ended` once the session ended); the last [`ENDED_KEPT`] such places are
//!   remembered. The messages kept for a place that ends go with it.
//!   A guest who leaves on purpose, or was never admitted, leaves at once;
//! - a resume with the id of a guest whose old socket still looks open takes the place
//!   over, and the old socket is closed: rendezvous may not have noticed yet that the
//!   phone's old connection is dead (its network changed), and the id is the guest's
//!   credential. The unit's signals are numbered per guest, and what the old socket may
//!   have swallowed (the signals after the last one the page handled, `seen`) is sent
//!   again first (at most the latest [`MAX_SENT_MESSAGES`] and [`MAX_SENT_BYTES`]).
//!   A swallowed `unit_away`/`unit_back` is not: `resumed` says whether the unit is
//!   connected now (`unit_here`).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;
use visavis_api::signaling::{
    ErrorCode, GuestId, IceServer, RestoredGuest, ServerToDevice, ServerToGuest, SignalPayload,
};

use crate::invites::SessionId;

mod held;
mod sent;

use held::Hold;
pub use held::{MAX_HELD_BYTES, MAX_HELD_MESSAGES};
use sent::Sent;
pub use sent::{MAX_SENT_BYTES, MAX_SENT_MESSAGES};

/// Places let go (hold ran out, session ended) remembered so a late resume is told why;
/// older ones are forgotten (then `device_offline`, as for any unknown id).
pub const ENDED_KEPT: usize = 1024;

/// Most guests (waiting or admitted) in one session.
pub const MAX_GUESTS_PER_SESSION: usize = 16;
/// Guests from one address (IPv6: one /64) waiting at one unit at once: a family behind one
/// router knocks together, one client with the link cannot fill every place.
pub const MAX_WAITING_PER_ADDRESS: usize = 4;

/// A message for a socket, and whether to close the socket after sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound<M> {
    pub msg: M,
    pub close: bool,
}

impl<M> Outbound<M> {
    pub fn keep(msg: M) -> Self {
        Outbound { msg, close: false }
    }

    pub fn then_close(msg: M) -> Self {
        Outbound { msg, close: true }
    }
}

/// The sending side of one socket: its queue, and a token that makes its task close it.
#[derive(Debug, Clone)]
pub struct Link<M> {
    pub tx: mpsc::Sender<Outbound<M>>,
    pub kick: CancellationToken,
}

impl<M> Link<M> {
    /// Queue a message without waiting; kick the peer if its queue is full.
    pub fn send(&self, out: Outbound<M>) {
        match self.tx.try_send(out) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::warn!("a peer is not reading its messages; closing its socket");
                self.kick.cancel();
            }
            Err(TrySendError::Closed(_)) => {}
        }
    }
}

/// Identifies one connection of a unit, so a stale connection cannot detach its successor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnId(u64);

#[derive(Debug)]
struct DeviceEntry {
    conn: ConnId,
    link: Link<ServerToDevice>,
}

#[derive(Debug)]
struct GuestEntry {
    device_id: String,
    session: SessionId,
    name: String,
    admitted: bool,
    link: Link<ServerToGuest>,
    /// What the unit uses for this guest's call (minted at the knock, sent again with a
    /// repeated knock after the unit reconnects).
    unit_ice_servers: Vec<IceServer>,
    /// Where the guest's socket comes from (rate-limit key: IPv6 by /64).
    client: IpAddr,
    /// The socket was lost and the place is held: which hold (a later one may follow a
    /// resume), and what the unit sent the guest meanwhile.
    held: Option<Hold>,
    /// The number of the unit's last signal to this guest (`seq`).
    signals: u64,
    /// The latest signals written to its live socket, for a resume to send again.
    sent: Sent,
}

impl GuestEntry {
    /// Send `out` to the guest's socket; while its place is held, keep it for the page's
    /// resume instead (its socket is gone).
    fn deliver(&mut self, guest_id: &str, out: Outbound<ServerToGuest>) {
        match &mut self.held {
            Some(hold) => hold.keep(guest_id, out),
            None => self.send_live(out),
        }
    }

    /// Send `out` to the guest's live socket, keeping a signal for a resume to send again
    /// should the socket turn out to have been dead.
    fn send_live(&mut self, out: Outbound<ServerToGuest>) {
        if let ServerToGuest::Signal { seq, .. } = &out.msg {
            self.sent.keep(*seq, out.msg.clone());
        }
        self.link.send(out);
    }
}

/// One hold of one guest's place, so the timer of an earlier hold cannot end a later one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldId(u64);

/// What became of a guest when its socket closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Gone for good: the unit heard `GuestLeft`.
    Left,
    /// The place is held: end the hold with [`Hub::hold_expired`] after the grace period.
    Held(HoldId),
    /// Nothing to do: the guest was already gone (denied, ended), or another socket took
    /// its place.
    Elsewhere,
}

/// Why a held place was let go (what a late resume is told).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlaceGone {
    /// The hold ran out, or the unit removed the guest during it.
    Ended,
    /// The session ended (the guest was admitted).
    SessionEnded,
}

/// Why a guest could not join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("the unit is not connected right now")]
    DeviceOffline,
    #[error("this call already has {MAX_GUESTS_PER_SESSION} guests")]
    Full,
    #[error(
        "{MAX_WAITING_PER_ADDRESS} people from your network are already waiting to be let in: \
         wait until the room answers them"
    )]
    TooManyKnocks,
}

impl JoinError {
    /// The error code sent to the guest.
    pub fn code(self) -> ErrorCode {
        match self {
            JoinError::DeviceOffline => ErrorCode::DeviceOffline,
            JoinError::Full => ErrorCode::SessionFull,
            JoinError::TooManyKnocks => ErrorCode::RateLimited,
        }
    }
}

/// A guest the unit says is in its call, whose page has not resumed yet.
#[derive(Debug)]
struct Resumable {
    device_id: String,
    session: SessionId,
    name: String,
}

/// Why a guest could not resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    #[error(
        "the room has not named you (it may not have reconnected yet, or you are no longer \
         in its call): try again in a moment"
    )]
    NotNamed,
    #[error(
        "your place in the call has ended: you were away longer than it is kept, or the room \
         removed you. Ask for a new invitation to join again"
    )]
    PlaceEnded,
    #[error("this session has ended")]
    SessionEnded,
}

impl ResumeError {
    /// The error code sent to the guest.
    pub fn code(self) -> ErrorCode {
        match self {
            ResumeError::NotNamed => ErrorCode::DeviceOffline,
            ResumeError::PlaceEnded => ErrorCode::PlaceEnded,
            ResumeError::SessionEnded => ErrorCode::SessionEnded,
        }
    }
}

/// Why a routing request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("no guest {0:?} is connected to this unit")]
    UnknownGuest(GuestId),
    #[error("guest {0:?} has not been admitted")]
    NotAdmitted(GuestId),
    #[error("guest {0:?} is already admitted")]
    AlreadyAdmitted(GuestId),
    #[error("you have not been admitted yet: wait until someone in the room lets you in")]
    GuestNotAdmitted,
    #[error("the unit is not connected right now")]
    DeviceOffline,
    #[error("the unit is not keeping up with your messages: reload the page to join again")]
    DeviceBusy,
}

impl RouteError {
    /// The error code sent back to whoever asked.
    pub fn code(&self) -> ErrorCode {
        match self {
            RouteError::UnknownGuest(_) => ErrorCode::UnknownGuest,
            RouteError::NotAdmitted(_)
            | RouteError::AlreadyAdmitted(_)
            | RouteError::GuestNotAdmitted => ErrorCode::NotAllowed,
            RouteError::DeviceOffline => ErrorCode::DeviceOffline,
            RouteError::DeviceBusy => ErrorCode::RateLimited,
        }
    }
}

/// Connected units and guests.
#[derive(Debug, Default)]
pub struct Hub {
    devices: HashMap<String, DeviceEntry>,
    guests: HashMap<GuestId, GuestEntry>,
    resumable: HashMap<GuestId, Resumable>,
    /// Places let go, by guest id: their unit, and why; at most [`ENDED_KEPT`].
    ended: HashMap<GuestId, (String, PlaceGone)>,
    /// The keys of `ended`, oldest first.
    ended_order: VecDeque<GuestId>,
    next_conn: u64,
    next_hold: u64,
}

impl Hub {
    pub fn new() -> Self {
        Hub::default()
    }

    /// A unit authenticated. Replaces (and closes) any previous connection of the same unit,
    /// knocks again for guests that are still waiting, and tells admitted guests the unit
    /// is back (a call reconnecting after a blip offers again at once).
    pub fn attach_device(&mut self, device_id: &str, link: Link<ServerToDevice>) -> ConnId {
        self.next_conn += 1;
        let conn = ConnId(self.next_conn);
        if let Some(old) = self.devices.remove(device_id) {
            old.link.send(Outbound::then_close(ServerToDevice::Error {
                code: ErrorCode::Replaced,
                message: "another connection for this unit replaced this one".into(),
            }));
        }
        for (guest_id, guest) in &mut self.guests {
            if guest.device_id != device_id {
                continue;
            }
            if guest.admitted {
                guest.deliver(guest_id, Outbound::keep(ServerToGuest::UnitBack));
            } else {
                link.send(Outbound::keep(ServerToDevice::GuestKnock {
                    guest_id: guest_id.clone(),
                    name: guest.name.clone(),
                    ice_servers: guest.unit_ice_servers.clone(),
                }));
            }
        }
        self.devices
            .insert(device_id.to_owned(), DeviceEntry { conn, link });
        conn
    }

    /// A unit's connection closed. Ignored if a newer connection already replaced it.
    /// Guests stay: waiting guests keep waiting, admitted guests keep their media and are
    /// told `unit_away` (their page says the room is offline, and gives up if the unit
    /// does not come back while their media is down).
    pub fn detach_device(&mut self, device_id: &str, conn: ConnId) {
        if self.devices.get(device_id).is_some_and(|d| d.conn == conn) {
            self.devices.remove(device_id);
            for (guest_id, guest) in self
                .guests
                .iter_mut()
                .filter(|(_, g)| g.device_id == device_id && g.admitted)
            {
                guest.deliver(guest_id, Outbound::keep(ServerToGuest::UnitAway));
            }
        }
    }

    /// The unit was revoked: close its connection, saying why, and end its guests' session.
    /// Returns whether it was connected.
    pub fn revoke_device(&mut self, device_id: &str) -> bool {
        let connected = match self.devices.remove(device_id) {
            Some(old) => {
                old.link.send(Outbound::then_close(ServerToDevice::Error {
                    code: ErrorCode::Revoked,
                    message:
                        "this unit was revoked by its fleet's IT: re-provision it to bring it back"
                            .into(),
                }));
                true
            }
            None => false,
        };
        self.end_session(device_id);
        connected
    }

    pub fn device_online(&self, device_id: &str) -> bool {
        self.devices.contains_key(device_id)
    }

    /// A guest gave its name: the unit hears a knock, the guest is told to wait.
    #[allow(clippy::too_many_arguments)] // each is a separate fact about the knock
    pub fn join(
        &mut self,
        guest_id: &str,
        device_id: &str,
        session: SessionId,
        name: &str,
        link: Link<ServerToGuest>,
        unit_ice_servers: Vec<IceServer>,
        client: IpAddr,
    ) -> Result<(), JoinError> {
        let device = self
            .devices
            .get(device_id)
            .ok_or(JoinError::DeviceOffline)?;
        let client = crate::rate_limit::key(client);
        let waiting_here = self
            .guests
            .values()
            .filter(|g| g.device_id == device_id && !g.admitted && g.client == client)
            .count();
        if waiting_here >= MAX_WAITING_PER_ADDRESS {
            return Err(JoinError::TooManyKnocks);
        }
        let in_session = self
            .guests
            .values()
            .filter(|g| g.device_id == device_id && g.session == session)
            .count();
        if in_session >= MAX_GUESTS_PER_SESSION {
            return Err(JoinError::Full);
        }
        device.link.send(Outbound::keep(ServerToDevice::GuestKnock {
            guest_id: guest_id.to_owned(),
            name: name.to_owned(),
            ice_servers: unit_ice_servers.clone(),
        }));
        link.send(Outbound::keep(ServerToGuest::Waiting));
        self.guests.insert(
            guest_id.to_owned(),
            GuestEntry {
                device_id: device_id.to_owned(),
                session,
                name: name.to_owned(),
                admitted: false,
                link,
                unit_ice_servers,
                client,
                held: None,
                signals: 0,
                sent: Sent::default(),
            },
        );
        Ok(())
    }

    fn guest_of(&mut self, device_id: &str, guest_id: &str) -> Result<&mut GuestEntry, RouteError> {
        match self.guests.get_mut(guest_id) {
            Some(g) if g.device_id == device_id => Ok(g),
            _ => Err(RouteError::UnknownGuest(guest_id.to_owned())),
        }
    }

    /// The person in the room let a guest in.
    pub fn admit(
        &mut self,
        device_id: &str,
        guest_id: &str,
        ice_servers: &[IceServer],
    ) -> Result<(), RouteError> {
        let guest = self.guest_of(device_id, guest_id)?;
        if guest.admitted {
            return Err(RouteError::AlreadyAdmitted(guest_id.to_owned()));
        }
        guest.admitted = true;
        guest.link.send(Outbound::keep(ServerToGuest::Admitted {
            ice_servers: ice_servers.to_vec(),
            guest_id: guest_id.to_owned(),
        }));
        Ok(())
    }

    /// The unit names the guests of its call (after it reconnected): those this hub does
    /// not have (it restarted) may resume. Returns how many were not connected.
    pub fn restore(
        &mut self,
        device_id: &str,
        session: SessionId,
        guests: Vec<RestoredGuest>,
    ) -> usize {
        let mut missing = 0;
        for g in guests {
            if self.guests.contains_key(&g.guest_id) {
                continue;
            }
            missing += 1;
            self.resumable.insert(
                g.guest_id,
                Resumable {
                    device_id: device_id.to_owned(),
                    session,
                    name: g.name,
                },
            );
        }
        missing
    }

    /// An admitted guest's page takes its place again on a new socket; told `resumed` (with
    /// whether the unit is here, then `unit_away` if it is not):
    /// a place held since its socket was lost (then what the unit sent meanwhile follows,
    /// in order), a place whose old socket still looks open (that socket is closed), or one
    /// the unit named after rendezvous restarted. The unit's signals after `seen` that went
    /// into the old socket are sent again first. Returns its unit.
    pub fn resume(
        &mut self,
        guest_id: &str,
        seen: Option<u64>,
        link: Link<ServerToGuest>,
        client: IpAddr,
    ) -> Result<String, ResumeError> {
        if let Some(guest) = self.guests.get_mut(guest_id) {
            let held = guest.held.take();
            if held.is_none() {
                // Its old socket's task sees the kick and finds its place taken.
                guest.link.kick.cancel();
            }
            guest.link = link;
            let unit_here = self.devices.contains_key(&guest.device_id);
            guest.send_live(Outbound::keep(ServerToGuest::Resumed { unit_here }));
            // What the old socket may have swallowed, then what the unit sent while the
            // place was held, oldest first, before anything newer. All of it is kept again
            // as sent on the new socket, which may die in turn.
            let again = guest.sent.after(seen.unwrap_or(u64::MAX));
            let held = held.into_iter().flat_map(Hold::take);
            for out in again
                .into_iter()
                .map(|(_, m)| Outbound::keep(m))
                .chain(held)
            {
                guest.send_live(out);
            }
            if !unit_here {
                guest.send_live(Outbound::keep(ServerToGuest::UnitAway));
            }
            guest.client = crate::rate_limit::key(client);
            return Ok(guest.device_id.clone());
        }
        if let Some((_, why)) = self.ended.get(guest_id) {
            return Err(match why {
                PlaceGone::Ended => ResumeError::PlaceEnded,
                PlaceGone::SessionEnded => ResumeError::SessionEnded,
            });
        }
        let r = self
            .resumable
            .remove(guest_id)
            .ok_or(ResumeError::NotNamed)?;
        // The unit named this place when it came back; it may have gone again since.
        let unit_here = self.devices.contains_key(&r.device_id);
        link.send(Outbound::keep(ServerToGuest::Resumed { unit_here }));
        if !unit_here {
            link.send(Outbound::keep(ServerToGuest::UnitAway));
        }
        self.guests.insert(
            guest_id.to_owned(),
            GuestEntry {
                device_id: r.device_id.clone(),
                session: r.session,
                name: r.name,
                admitted: true,
                link,
                unit_ice_servers: Vec::new(),
                client: crate::rate_limit::key(client),
                held: None,
                signals: 0,
                sent: Sent::default(),
            },
        );
        Ok(r.device_id)
    }

    /// The unit removed a guest whose page has not resumed: it may not any more. Returns
    /// whether there was one.
    pub fn forget_resumable(&mut self, device_id: &str, guest_id: &str) -> bool {
        if self
            .resumable
            .get(guest_id)
            .is_some_and(|r| r.device_id == device_id)
        {
            self.resumable.remove(guest_id);
            return true;
        }
        false
    }

    /// The person in the room said no, or the unit removes a guest: told, closed, forgotten.
    /// The person in the room said "Not now": the guest is told and closed. Returns the
    /// address it knocked from (for the cool-down before it may knock again).
    pub fn deny(&mut self, device_id: &str, guest_id: &str) -> Result<IpAddr, RouteError> {
        self.guest_of(device_id, guest_id)?;
        let guest = self
            .guests
            .remove(guest_id)
            .ok_or_else(|| RouteError::UnknownGuest(guest_id.to_owned()))?;
        if guest.held.is_some() {
            self.place_gone(guest_id, guest.device_id, PlaceGone::Ended);
        }
        guest.link.send(Outbound::then_close(ServerToGuest::Denied));
        Ok(guest.client)
    }

    /// SDP/ICE from the unit to an admitted guest (kept for the page while its place is
    /// held).
    pub fn signal_to_guest(
        &mut self,
        device_id: &str,
        guest_id: &str,
        payload: SignalPayload,
    ) -> Result<(), RouteError> {
        let guest = self.guest_of(device_id, guest_id)?;
        if !guest.admitted {
            return Err(RouteError::NotAdmitted(guest_id.to_owned()));
        }
        guest.signals += 1;
        let seq = guest.signals;
        guest.deliver(
            guest_id,
            Outbound::keep(ServerToGuest::Signal { payload, seq }),
        );
        Ok(())
    }

    /// SDP/ICE from an admitted guest to its unit. When the unit's queue is full the guest
    /// is refused ([`RouteError::DeviceBusy`]): a guest flooding signals cannot make the unit
    /// look like a peer that does not read and get it thrown off.
    pub fn signal_to_device(
        &mut self,
        guest_id: &str,
        payload: SignalPayload,
    ) -> Result<(), RouteError> {
        let guest = match self.guests.get(guest_id) {
            Some(g) if g.admitted => g,
            _ => return Err(RouteError::GuestNotAdmitted),
        };
        let device = self
            .devices
            .get(&guest.device_id)
            .ok_or(RouteError::DeviceOffline)?;
        let signal = Outbound::keep(ServerToDevice::Signal {
            guest_id: guest_id.to_owned(),
            payload,
        });
        match device.link.tx.try_send(signal) {
            Ok(()) | Err(TrySendError::Closed(_)) => Ok(()),
            Err(TrySendError::Full(_)) => Err(RouteError::DeviceBusy),
        }
    }

    /// The socket behind `link` of `guest_id` closed. `hold`: it was lost, not closed on
    /// purpose, and the place may be held. An admitted guest's place is then held (the
    /// unit is not told, and what it sends the guest is kept for the page's resume);
    /// otherwise the guest leaves at once (see [`Hub::guest_left`]). Nothing happens if another socket took the place meanwhile.
    pub fn socket_closed(
        &mut self,
        guest_id: &str,
        link: &Link<ServerToGuest>,
        hold: bool,
    ) -> Closed {
        let Some(guest) = self.guests.get_mut(guest_id) else {
            return Closed::Elsewhere;
        };
        if !guest.link.tx.same_channel(&link.tx) {
            return Closed::Elsewhere;
        }
        if hold && guest.admitted {
            self.next_hold += 1;
            let id = HoldId(self.next_hold);
            guest.held = Some(Hold::new(id));
            return Closed::Held(id);
        }
        self.guest_left(guest_id);
        Closed::Left
    }

    /// The hold `hold` of `guest_id`'s place ran out: if the guest has not resumed since,
    /// the unit hears `GuestLeft` and a late resume is refused. Returns whether it had not.
    pub fn hold_expired(&mut self, guest_id: &str, hold: HoldId) -> bool {
        if !self
            .guests
            .get(guest_id)
            .is_some_and(|g| g.held.as_ref().is_some_and(|h| h.id == hold))
        {
            return false;
        }
        if let Some(guest) = self.guests.get(guest_id) {
            let device_id = guest.device_id.clone();
            self.place_gone(guest_id, device_id, PlaceGone::Ended);
        }
        self.guest_left(guest_id)
    }

    /// Remember why `guest_id`'s place is gone, forgetting the oldest beyond [`ENDED_KEPT`].
    fn place_gone(&mut self, guest_id: &str, device_id: String, why: PlaceGone) {
        if self
            .ended
            .insert(guest_id.to_owned(), (device_id, why))
            .is_none()
        {
            self.ended_order.push_back(guest_id.to_owned());
        }
        while self.ended_order.len() > ENDED_KEPT {
            if let Some(old) = self.ended_order.pop_front() {
                self.ended.remove(&old);
            }
        }
    }

    /// The guest's socket closed or it left. The unit hears `GuestLeft` if the guest was
    /// still known (not already denied or ended); returns whether it was.
    pub fn guest_left(&mut self, guest_id: &str) -> bool {
        let Some(guest) = self.guests.remove(guest_id) else {
            return false;
        };
        if let Some(device) = self.devices.get(&guest.device_id) {
            device.link.send(Outbound::keep(ServerToDevice::GuestLeft {
                guest_id: guest_id.to_owned(),
            }));
        }
        true
    }

    /// The unit ended its session: every guest of it is told and closed (and none may
    /// resume: an admitted guest's resume is told `session_ended`). Returns how many were
    /// connected.
    pub fn end_session(&mut self, device_id: &str) -> usize {
        self.resumable.retain(|_, r| r.device_id != device_id);
        let ids: Vec<GuestId> = self
            .guests
            .iter()
            .filter(|(_, g)| g.device_id == device_id)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ids {
            if let Some(guest) = self.guests.remove(id) {
                guest
                    .link
                    .send(Outbound::then_close(ServerToGuest::SessionEnded));
                // A page whose socket is away (held, or dropping just now) learns it when
                // it resumes.
                if guest.admitted {
                    self.place_gone(id, guest.device_id, PlaceGone::SessionEnded);
                }
            }
        }
        ids.len()
    }

    /// Number of guests connected to a unit.
    pub fn guest_count(&self, device_id: &str) -> usize {
        self.guests
            .values()
            .filter(|g| g.device_id == device_id)
            .count()
    }
}

#[cfg(test)]
mod tests;
