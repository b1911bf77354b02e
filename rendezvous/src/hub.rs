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
//!   `device_offline` and tries again later: the unit may not have reconnected yet.

use std::collections::HashMap;
use std::net::IpAddr;

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;
use visavis_api::signaling::{
    ErrorCode, GuestId, IceServer, RestoredGuest, ServerToDevice, ServerToGuest, SignalPayload,
};

use crate::invites::SessionId;

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
    #[error("this guest is already connected")]
    AlreadyConnected,
}

impl ResumeError {
    /// The error code sent to the guest.
    pub fn code(self) -> ErrorCode {
        match self {
            ResumeError::NotNamed => ErrorCode::DeviceOffline,
            ResumeError::AlreadyConnected => ErrorCode::NotAllowed,
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
    next_conn: u64,
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
        for (guest_id, guest) in &self.guests {
            if guest.device_id != device_id {
                continue;
            }
            if guest.admitted {
                guest.link.send(Outbound::keep(ServerToGuest::UnitBack));
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
            for guest in self
                .guests
                .values()
                .filter(|g| g.device_id == device_id && g.admitted)
            {
                guest.link.send(Outbound::keep(ServerToGuest::UnitAway));
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

    /// An admitted guest's page takes its place again on a new socket; told `resumed`.
    /// Returns its unit.
    pub fn resume(
        &mut self,
        guest_id: &str,
        link: Link<ServerToGuest>,
        client: IpAddr,
    ) -> Result<String, ResumeError> {
        if self.guests.contains_key(guest_id) {
            return Err(ResumeError::AlreadyConnected);
        }
        let r = self
            .resumable
            .remove(guest_id)
            .ok_or(ResumeError::NotNamed)?;
        link.send(Outbound::keep(ServerToGuest::Resumed));
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
        guest.link.send(Outbound::then_close(ServerToGuest::Denied));
        Ok(guest.client)
    }

    /// SDP/ICE from the unit to an admitted guest.
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
        guest
            .link
            .send(Outbound::keep(ServerToGuest::Signal { payload }));
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
    /// resume). Returns how many were connected.
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
mod tests {
    use super::*;

    type Rx<M> = mpsc::Receiver<Outbound<M>>;

    fn link<M>() -> (Link<M>, Rx<M>) {
        let (tx, rx) = mpsc::channel(8);
        (
            Link {
                tx,
                kick: CancellationToken::new(),
            },
            rx,
        )
    }

    fn drain<M>(rx: &mut Rx<M>) -> Vec<Outbound<M>> {
        let mut out = Vec::new();
        while let Ok(m) = rx.try_recv() {
            out.push(m);
        }
        out
    }

    const S: SessionId = SessionId(1);
    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    fn offer() -> SignalPayload {
        SignalPayload::Offer { sdp: "v=0".into() }
    }

    #[test]
    fn a_restore_after_a_unit_blip_leaves_connected_guests_alone() {
        let mut hub = Hub::new();
        let (dl, _drx) = link();
        hub.attach_device("unit", dl);
        let (gl, mut grx) = link();
        hub.join("g1", "unit", S, "Camille", gl, vec![], IP)
            .unwrap();
        hub.admit("unit", "g1", &[]).unwrap();
        drain(&mut grx);
        let named = |id: &str| RestoredGuest {
            guest_id: id.into(),
            name: "x".into(),
        };
        // g1 is still connected (only the unit's socket blipped); g2 is not (forgotten).
        assert_eq!(hub.restore("unit", S, vec![named("g1"), named("g2")]), 1);
        let (again, _rx) = link();
        assert_eq!(
            hub.resume("g1", again, IP),
            Err(ResumeError::AlreadyConnected),
            "nobody takes a connected guest's place"
        );
        assert!(drain(&mut grx).is_empty(), "g1 is left as it was");
        let (g2, mut g2rx) = link();
        assert_eq!(hub.resume("g2", g2, IP), Ok("unit".to_owned()));
        assert_eq!(
            drain(&mut g2rx),
            vec![Outbound::keep(ServerToGuest::Resumed)]
        );
        hub.signal_to_device("g2", offer()).unwrap();
        assert_eq!(hub.guest_count("unit"), 2);
    }

    #[test]
    fn knock_admit_signal_leave() {
        let mut hub = Hub::new();
        let (dl, mut drx) = link();
        hub.attach_device("unit", dl);
        let (gl, mut grx) = link();
        hub.join("g1", "unit", S, "Camille", gl, vec![], IP)
            .unwrap();
        assert_eq!(
            drain(&mut drx),
            vec![Outbound::keep(ServerToDevice::GuestKnock {
                guest_id: "g1".into(),
                name: "Camille".into(),
                ice_servers: vec![]
            })]
        );
        assert_eq!(
            drain(&mut grx),
            vec![Outbound::keep(ServerToGuest::Waiting)]
        );

        assert_eq!(
            hub.signal_to_device("g1", offer()),
            Err(RouteError::GuestNotAdmitted)
        );
        assert!(
            drain(&mut drx).is_empty(),
            "nothing forwarded before admission"
        );
        assert_eq!(
            hub.signal_to_guest("unit", "g1", offer()),
            Err(RouteError::NotAdmitted("g1".into()))
        );

        hub.admit("unit", "g1", &[]).unwrap();
        assert_eq!(
            drain(&mut grx),
            vec![Outbound::keep(ServerToGuest::Admitted {
                ice_servers: vec![],
                guest_id: "g1".into()
            })]
        );
        hub.signal_to_device("g1", offer()).unwrap();
        assert_eq!(
            drain(&mut drx),
            vec![Outbound::keep(ServerToDevice::Signal {
                guest_id: "g1".into(),
                payload: offer()
            })]
        );

        hub.guest_left("g1");
        assert_eq!(
            drain(&mut drx),
            vec![Outbound::keep(ServerToDevice::GuestLeft {
                guest_id: "g1".into()
            })]
        );
        assert_eq!(hub.guest_count("unit"), 0);
    }

    #[test]
    fn offline_unit_and_full_session_refuse_guests() {
        let mut hub = Hub::new();
        let (gl, _grx) = link();
        assert_eq!(
            hub.join("g0", "unit", S, "A", gl, vec![], IP),
            Err(JoinError::DeviceOffline)
        );
        let (dl, _drx) = link::<ServerToDevice>();
        hub.attach_device("unit", dl);
        let mut keep = Vec::new();
        for i in 0..MAX_GUESTS_PER_SESSION {
            let (gl, grx) = link();
            let ip = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, i as u8));
            hub.join(&format!("g{i}"), "unit", S, "A", gl, vec![], ip)
                .unwrap();
            keep.push(grx);
        }
        let (gl, _grx) = link();
        assert_eq!(
            hub.join(
                "gx",
                "unit",
                S,
                "A",
                gl,
                vec![],
                IpAddr::from([198, 51, 100, 1])
            ),
            Err(JoinError::Full)
        );
    }

    #[test]
    fn units_only_reach_their_own_guests() {
        let mut hub = Hub::new();
        let (dl, _drx) = link::<ServerToDevice>();
        hub.attach_device("unit", dl);
        let (ol, _orx) = link::<ServerToDevice>();
        hub.attach_device("other", ol);
        let (gl, _grx) = link();
        hub.join("g1", "unit", S, "A", gl, vec![], IP).unwrap();
        assert_eq!(
            hub.admit("other", "g1", &[]),
            Err(RouteError::UnknownGuest("g1".into()))
        );
        assert_eq!(
            hub.deny("other", "g1"),
            Err(RouteError::UnknownGuest("g1".into()))
        );
    }

    #[test]
    fn deny_and_end_close_guests_without_guest_left() {
        let mut hub = Hub::new();
        let (dl, mut drx) = link();
        hub.attach_device("unit", dl);
        let (g1, mut g1rx) = link();
        let (g2, mut g2rx) = link();
        hub.join("g1", "unit", S, "A", g1, vec![], IP).unwrap();
        hub.join("g2", "unit", S, "B", g2, vec![], IP).unwrap();
        drain(&mut drx);
        drain(&mut g1rx);
        drain(&mut g2rx);

        hub.deny("unit", "g1").unwrap();
        assert_eq!(
            drain(&mut g1rx),
            vec![Outbound::then_close(ServerToGuest::Denied)]
        );
        hub.guest_left("g1");

        assert_eq!(hub.end_session("unit"), 1);
        assert_eq!(
            drain(&mut g2rx),
            vec![Outbound::then_close(ServerToGuest::SessionEnded)]
        );
        hub.guest_left("g2");
        assert!(drain(&mut drx).is_empty());
    }

    #[test]
    fn a_new_unit_connection_replaces_the_old_and_hears_waiting_guests() {
        let mut hub = Hub::new();
        let (old, mut old_rx) = link();
        let old_conn = hub.attach_device("unit", old);
        let (gl, _grx) = link();
        let unit_ice = vec![IceServer {
            urls: vec!["turn:198.18.0.3:3478".into()],
            username: Some("4600:unit:unit".into()),
            credential: Some("c".into()),
        }];
        hub.join("g1", "unit", S, "Camille", gl, unit_ice.clone(), IP)
            .unwrap();
        drain(&mut old_rx);

        let (new, mut new_rx) = link();
        let new_conn = hub.attach_device("unit", new);
        let told = drain(&mut old_rx);
        assert_eq!(told.len(), 1);
        assert!(told[0].close);
        assert_eq!(
            drain(&mut new_rx),
            vec![Outbound::keep(ServerToDevice::GuestKnock {
                guest_id: "g1".into(),
                name: "Camille".into(),
                ice_servers: unit_ice
            })]
        );

        hub.detach_device("unit", old_conn);
        assert!(
            hub.device_online("unit"),
            "the stale connection cannot detach the new one"
        );
        hub.detach_device("unit", new_conn);
        assert!(!hub.device_online("unit"));
        assert_eq!(
            hub.guest_count("unit"),
            1,
            "guests wait for the unit to come back"
        );
    }

    #[test]
    fn an_admitted_guest_keeps_its_place_while_the_unit_reconnects() {
        let mut hub = Hub::new();
        let (old, mut old_rx) = link();
        let old_conn = hub.attach_device("unit", old);
        let (gl, mut grx) = link();
        hub.join("g1", "unit", S, "Camille", gl, vec![], IP)
            .unwrap();
        hub.admit("unit", "g1", &[]).unwrap();
        drain(&mut old_rx);
        drain(&mut grx);

        // The unit's Wi-Fi drops: its socket closes.
        hub.detach_device("unit", old_conn);
        assert_eq!(
            hub.signal_to_device("g1", offer()),
            Err(RouteError::DeviceOffline)
        );
        assert_eq!(
            RouteError::DeviceOffline.code(),
            ErrorCode::DeviceOffline,
            "the page retries on this code"
        );
        assert_eq!(hub.guest_count("unit"), 1, "the guest keeps its place");
        assert_eq!(
            drain(&mut grx),
            vec![Outbound::keep(ServerToGuest::UnitAway)],
            "the guest is told, not closed"
        );

        // Back on a new socket: no knock for the admitted guest, who is told the unit is
        // back, and its signals arrive.
        let (new, mut new_rx) = link();
        hub.attach_device("unit", new);
        assert!(drain(&mut new_rx).is_empty(), "nothing to admit again");
        assert_eq!(
            drain(&mut grx),
            vec![Outbound::keep(ServerToGuest::UnitBack)]
        );
        hub.signal_to_device("g1", offer()).unwrap();
        assert_eq!(
            drain(&mut new_rx),
            vec![Outbound::keep(ServerToDevice::Signal {
                guest_id: "g1".into(),
                payload: offer()
            })]
        );
        hub.signal_to_guest("unit", "g1", offer()).unwrap();
        assert_eq!(
            drain(&mut grx),
            vec![Outbound::keep(ServerToGuest::Signal { payload: offer() })]
        );
    }

    #[test]
    fn a_session_the_unit_ended_while_away_ends_for_its_guests_when_it_returns() {
        let mut hub = Hub::new();
        let (old, _old_rx) = link();
        let old_conn = hub.attach_device("unit", old);
        let (g1, mut g1rx) = link();
        let (g2, mut g2rx) = link();
        hub.join("g1", "unit", S, "A", g1, vec![], IP).unwrap();
        hub.join("g2", "unit", S, "B", g2, vec![], IP).unwrap();
        hub.admit("unit", "g1", &[]).unwrap();
        hub.detach_device("unit", old_conn);
        drain(&mut g1rx);
        drain(&mut g2rx);

        let (new, mut new_rx) = link();
        hub.attach_device("unit", new);
        // Only the guest still waiting knocks again; the unit, whose session is over, ends it.
        assert_eq!(
            drain(&mut new_rx),
            vec![Outbound::keep(ServerToDevice::GuestKnock {
                guest_id: "g2".into(),
                name: "B".into(),
                ice_servers: vec![]
            })]
        );
        assert_eq!(
            drain(&mut g1rx),
            vec![Outbound::keep(ServerToGuest::UnitBack)]
        );
        assert!(drain(&mut g2rx).is_empty());
        assert_eq!(hub.end_session("unit"), 2);
        for rx in [&mut g1rx, &mut g2rx] {
            assert_eq!(
                drain(rx),
                vec![Outbound::then_close(ServerToGuest::SessionEnded)]
            );
        }
        assert_eq!(
            hub.signal_to_device("g1", offer()),
            Err(RouteError::GuestNotAdmitted),
            "nothing of the old session reaches the unit"
        );
        assert_eq!(hub.guest_count("unit"), 0);
    }

    #[test]
    fn a_peer_that_does_not_read_is_kicked() {
        let (tx, _rx) = mpsc::channel(1);
        let l = Link {
            tx,
            kick: CancellationToken::new(),
        };
        l.send(Outbound::keep(ServerToGuest::Waiting));
        assert!(!l.kick.is_cancelled());
        l.send(Outbound::keep(ServerToGuest::Waiting));
        assert!(l.kick.is_cancelled());
    }
}
