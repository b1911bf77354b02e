//! The unit's local API: newline-delimited JSON over a Unix socket.
//!
//! Clients (the kiosk, staff tools, `cargo xtask demo`, the tests) send one
//! [`ClientRequest`] per line; `applianced` answers each with a [`ServerMessage::Response`]
//! carrying the same `id`, and pushes [`ServerMessage::Event`]s to every client as things
//! happen. The socket file is the access control: only the kiosk's user can open it.
//!
//! Events are numbered (`seq`, from 1, one counter per `applianced` run) and a [`Status`]
//! carries the number of the last event it includes: a client asks for the status once,
//! then keeps it up to date with [`Status::apply`] for every later event, and asks again
//! only when it sees a gap in the numbers (it was too slow and missed some).

pub mod client;
mod metrics;
mod mirror;
mod staff;

pub use metrics::{
    GuestMetrics, LayerMetrics, MetricsSnapshot, StreamCounters, VideoLayer, VoicePackets,
};
pub use mirror::{Applied, CHAT_KEPT, MAX_LOOKS};
pub use staff::{NetworkLink, StaffAction, StaffPin, StaffReport};

use crate::datachannel::{LookVotes, Reaction};
use crate::signaling::GuestId;
use serde::{Deserialize, Serialize};

/// The widest picture [`Request::ScreenTiles`] takes, pixels (an 8K screen's width).
pub const MAX_TILE_WIDTH: u32 = 7680;

/// One request line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRequest {
    /// Chosen by the client; echoed in the response.
    pub id: u64,
    pub request: Request,
}

/// What a client can ask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Which protocol and unit this is.
    Hello,
    /// Session state: invite, guests waiting and in the call.
    Status,
    /// Counters of the media path (also served as Prometheus text on loopback).
    Metrics,
    /// Start a session if needed and create an invite link for it.
    CreateInvite,
    /// Let a waiting guest in.
    Admit { guest_id: GuestId },
    /// Refuse a waiting guest, or remove one from the call.
    Deny { guest_id: GuestId },
    /// End the session: everyone leaves and everything from it is erased.
    EndSession,
    /// Keep a still of the camera as a look (in memory, for this session only).
    SaveLook,
    /// A saved look's picture, for the screen.
    LookImage { look: u32 },
    /// Show two saved looks side by side to the guests, who vote. Replaces a comparison
    /// already running.
    Compare { looks: [u32; 2] },
    /// Close the comparison (votes stay on the screen until the next one).
    EndCompare,
    /// Mute or unmute the unit's microphone for guests.
    SetMic { muted: bool },
    /// Pause the camera for guests (they see "camera paused"), or resume it.
    SetCamera { paused: bool },
    /// Loudness of the guests' voices on the unit's speaker, 0 to 100 (percent).
    SetVolume { percent: u8 },
    /// The screen draws the guests' pictures this many pixels wide at most (whole, before
    /// cropping to their tiles; 0: no guest tiles now); at most [`MAX_TILE_WIDTH`]. A
    /// picture no wider than [`crate::datachannel::SMALL_TILE_WIDTH`] shows a guest's small
    /// camera layer, which the unit then decodes instead of the full one.
    ScreenTiles { width: u32 },
    /// Table mode: ask for a waiter (an event for local clients, and the configured
    /// webhook).
    CallWaiter,
    /// Work the simulated board (demo, tests): refused when the unit has a real board.
    SimulateBoard { input: BoardInput },
    /// The staff screen: checked against the unit's staff PIN, wrong PINs rate-limited.
    Staff { pin: StaffPin, action: StaffAction },
}

/// Something done to the simulated board, as a person would on a real one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BoardInput {
    /// Flip the hardware privacy switch (`on`: the camera must be off).
    PrivacySwitch { on: bool },
    /// Someone steps in front of the unit, or leaves.
    Presence { present: bool },
    /// Press a physical button.
    Press { button: BoardButton },
}

/// The unit's physical buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoardButton {
    Call,
    Mute,
}

/// Successful answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Response {
    Hello {
        protocol: u32,
        device_id: String,
        mode: crate::install::Mode,
        /// True when guests are let in without a tap (demo mode only).
        auto_admit: bool,
        /// Where the kiosk reads the local preview, if the unit offers one.
        #[serde(default)]
        preview: Option<Preview>,
    },
    Status(Status),
    Metrics(Box<MetricsSnapshot>),
    Invite {
        url: String,
        /// Unix time, seconds.
        expires_at: u64,
    },
    LookSaved {
        look: u32,
    },
    LookImage {
        look: u32,
        /// JPEG, standard base64.
        jpeg: String,
    },
    Staff(Box<StaffReport>),
    Done,
}

/// The local preview: raw RGBA frames over GStreamer's shared-memory transport
/// (`shmsink`/`shmsrc`), so video never goes through the JSON socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preview {
    /// The `shmsink` control socket.
    pub socket: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

/// Where the session stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Status {
    /// The number of the last event this status includes (see the module docs).
    #[serde(default)]
    pub seq: u64,
    /// True while connected and authenticated to rendezvous.
    pub rendezvous_connected: bool,
    /// True between the first invite and the end of the session.
    pub session_active: bool,
    pub invite_url: Option<String>,
    pub invite_expires_at: Option<u64>,
    pub guests: Vec<GuestStatus>,
    /// What needs staff attention, oldest first: a failed first boot, a refused
    /// enrollment, a revoked unit. Empty when all is well; shown on the staff screen.
    #[serde(default)]
    pub problems: Vec<String>,
    /// The hardware privacy switch is on: no video leaves the unit (and no audio unless
    /// the config lets it continue). The kiosk shows a red banner.
    #[serde(default)]
    pub privacy: bool,
    /// Someone is in front of the unit (presence sensor).
    #[serde(default)]
    pub presence: bool,
    /// Saved looks of this session, oldest first.
    #[serde(default)]
    pub looks: Vec<u32>,
    /// The comparison guests are voting on, or the last one.
    #[serde(default)]
    pub compare: Option<CompareStatus>,
    /// The latest chat lines from guests, oldest first.
    #[serde(default)]
    pub chat: Vec<ChatLine>,
    /// The microphone is muted from the screen.
    #[serde(default)]
    pub mic_muted: bool,
    /// The camera is paused from the screen.
    #[serde(default)]
    pub camera_paused: bool,
    /// Loudness of the guests' voices on the speaker, 0 to 100.
    #[serde(default)]
    pub volume: u8,
}

/// Two looks side by side, and the votes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareStatus {
    pub round: u32,
    /// Guests can still vote.
    pub open: bool,
    /// Both looks, in the order shown, with their votes.
    pub votes: Vec<LookVotes>,
}

/// A chat line from a guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatLine {
    pub guest_id: GuestId,
    pub name: String,
    pub text: String,
}

/// One guest as the room sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestStatus {
    pub guest_id: GuestId,
    pub name: String,
    pub state: GuestState,
    /// The guest's own video, decoded on the unit for the screen's tile (shared memory,
    /// like the preview); none until their video arrives.
    #[serde(default)]
    pub tile: Option<Preview>,
    /// The guest's voice was heard in the last moment (the tile's speaking indicator).
    #[serde(default)]
    pub speaking: bool,
}

/// A guest's place in the admission flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuestState {
    /// Knocked; waiting for the person in the room.
    Waiting,
    /// Admitted; the peer connection is being set up.
    Connecting,
    /// Media flowing.
    InCall,
}

/// Why a request failed: a machine-readable code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiError {
    pub code: ApiErrorCode,
    pub message: String,
}

/// Why a request was refused: one variant per cause, so a client never reads the sentence
/// to decide what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorCode {
    /// The line was not a valid request; the message says what is wrong.
    BadRequest,
    /// No such guest (already left, or never knocked).
    UnknownGuest,
    /// No such look in this session.
    UnknownLook,
    /// The staff PIN was wrong (or none is set up: the message says which).
    WrongPin,
    /// Too many wrong PINs: the message says how long to wait.
    RateLimited,
    /// The unit cannot reach rendezvous right now.
    RendezvousUnavailable,
    /// The guest is already let in.
    AlreadyAdmitted,
    /// The call has as many guests as the unit takes (`[session] max_guests`).
    CallFull,
    /// No session is running (looks are kept only once friends are invited).
    NoSession,
    /// The session holds as many looks as it can.
    LooksFull,
    /// The camera is off (privacy switch): no still can be taken.
    CameraOff,
    /// This unit has no local preview to take a still from.
    NoPreview,
    /// The board is real: its switch, sensor and buttons cannot be simulated.
    RealBoard,
    Internal,
}

/// Things that happened, pushed to every client. Most change the [`Status`]
/// ([`Status::apply`] follows them); reactions, buttons and waiter calls are moments only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// The connection to rendezvous came up or went down.
    Rendezvous {
        connected: bool,
    },
    /// What needs staff attention changed (the whole list, oldest first).
    Problems {
        problems: Vec<String>,
    },
    /// An invite link was made; the session is running from the first one.
    Invite {
        url: String,
        expires_at: u64,
    },
    GuestKnock {
        guest_id: GuestId,
        name: String,
    },
    /// The person in the room let the guest in; their connection is being set up.
    GuestAdmitted {
        guest_id: GuestId,
    },
    GuestJoined {
        guest_id: GuestId,
        name: String,
    },
    GuestLeft {
        guest_id: GuestId,
    },
    /// A guest's video tile appeared (their video is decoded) or went away.
    Tile {
        guest_id: GuestId,
        tile: Option<Preview>,
    },
    /// A guest started or stopped speaking.
    Speaking {
        guest_id: GuestId,
        speaking: bool,
    },
    Reaction {
        guest_id: GuestId,
        reaction: Reaction,
    },
    Chat(ChatLine),
    /// A look was saved.
    LookSaved {
        look: u32,
    },
    /// The votes changed (or a comparison started or closed).
    Votes(CompareStatus),
    /// The session ended and everything from it was erased.
    SessionEnded,
    /// The privacy switch was flipped.
    Privacy {
        on: bool,
    },
    /// Someone stepped in front of the unit, or left.
    Presence {
        present: bool,
    },
    /// The microphone was muted or unmuted from the screen.
    Mic {
        muted: bool,
    },
    /// The camera was paused or resumed from the screen.
    Camera {
        paused: bool,
    },
    /// The speaker's loudness changed (0 to 100).
    Volume {
        percent: u8,
    },
    /// A physical button was pressed.
    Button {
        button: BoardButton,
    },
    /// Someone at the table asked for a waiter.
    WaiterCalled,
}

/// One line from `applianced`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerMessage {
    Response {
        id: u64,
        #[serde(flatten)]
        result: Outcome,
    },
    Event {
        /// This event's number: one more than the previous event's (see the module docs).
        #[serde(default)]
        seq: u64,
        event: Event,
    },
}

/// The result half of a response: exactly one of `ok` or `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok(Response),
    Error(ApiError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_response_lines() {
        let line = r#"{"id":7,"request":{"type":"admit","guest_id":"g1"}}"#;
        let req: ClientRequest = serde_json::from_str(line).unwrap();
        assert_eq!(
            req.request,
            Request::Admit {
                guest_id: "g1".into()
            }
        );
        let resp = ServerMessage::Response {
            id: 7,
            result: Outcome::Ok(Response::Done),
        };
        let text = serde_json::to_string(&resp).unwrap();
        assert_eq!(text, r#"{"type":"response","id":7,"ok":{"type":"done"}}"#);
        assert_eq!(serde_json::from_str::<ServerMessage>(&text).unwrap(), resp);
    }

    #[test]
    fn chat_and_votes_events_round_trip() {
        for event in [
            Event::Chat(ChatLine {
                guest_id: "g1".into(),
                name: "Camille".into(),
                text: "the blue one".into(),
            }),
            Event::Votes(CompareStatus {
                round: 1,
                open: true,
                votes: vec![LookVotes { look: 1, votes: 2 }],
            }),
        ] {
            let line = serde_json::to_string(&ServerMessage::Event {
                seq: 3,
                event: event.clone(),
            })
            .unwrap();
            assert_eq!(
                serde_json::from_str::<ServerMessage>(&line).unwrap(),
                ServerMessage::Event { seq: 3, event }
            );
        }
        let req: ClientRequest =
            serde_json::from_str(r#"{"id":1,"request":{"type":"compare","looks":[1,2]}}"#).unwrap();
        assert_eq!(req.request, Request::Compare { looks: [1, 2] });
    }

    #[test]
    fn error_response_round_trips() {
        let resp = ServerMessage::Response {
            id: 1,
            result: Outcome::Error(ApiError {
                code: ApiErrorCode::UnknownGuest,
                message: "no guest g9".into(),
            }),
        };
        let text = serde_json::to_string(&resp).unwrap();
        assert_eq!(serde_json::from_str::<ServerMessage>(&text).unwrap(), resp);
    }
}
