//! Signaling between the unit, the rendezvous server and guest browsers.
//!
//! The unit holds one WebSocket to rendezvous (`/ws/device`); each guest holds one
//! (`/ws/guest/{token}`). Rendezvous relays SDP and ICE between them and never touches media.
//!
//! Flow: the unit asks for an invite; a guest opens it and sends [`GuestToServer::Join`]; the
//! unit is told ([`ServerToDevice::GuestKnock`]) and, once the person in the room admits the
//! guest, sends [`DeviceToServer::Admit`]. Only then is the guest told it may call
//! ([`ServerToGuest::Admitted`]); the guest offers, the unit answers.
//!
//! After a network blip the admitted guest offers again (an ICE restart) through the same
//! messages; the unit answers on the same peer connection. While the unit's socket is away,
//! such signals get `error{device_offline}` and the guest's socket stays open: the page
//! retries, and never joins again. A guest the unit no longer has gets [`ServerToGuest::Denied`].
//!
//! After rendezvous itself restarted (it forgets every socket), the unit names the guests of
//! its call ([`DeviceToServer::Restore`]) and each guest page resumes on a new socket with
//! the id it was given at admission ([`GuestToServer::Resume`]).

use serde::{Deserialize, Serialize};

/// Opaque id rendezvous gives a guest for the life of its WebSocket.
pub type GuestId = String;

/// SDP and ICE relayed between a guest and the unit, unchanged by rendezvous.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SignalPayload {
    /// An SDP offer (guest → unit).
    Offer { sdp: String },
    /// An SDP answer (unit → guest).
    Answer { sdp: String },
    /// A trickled ICE candidate, either way. An empty `candidate` marks the end of gathering.
    Candidate {
        candidate: String,
        #[serde(default)]
        sdp_mid: Option<String>,
        #[serde(default)]
        sdp_mline_index: Option<u16>,
    },
}

/// An ICE server a guest may use (STUN or TURN), with short-lived credentials for TURN.
/// Its `Debug` leaves the credential out, so logging one leaks nothing.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl std::fmt::Debug for IceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceServer")
            .field("urls", &self.urls)
            .field("username", &self.username)
            .field("credential", &self.credential.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Where an invite leads, shown on the guest page before the guest joins ("Paris 9e ·
/// Cabine 3"). Rendezvous writes it into the invite page from the unit's enrollment record
/// (the fleet manifest's `store`, `location` and `mode`); a field it does not know is
/// empty (`mode` absent). No person is named: the unit knows nobody's name in the room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteInfo {
    pub store: String,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<crate::install::Mode>,
}

/// Unit → rendezvous.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DeviceToServer {
    /// Answer to [`ServerToDevice::Challenge`] from an enrolled unit: who it is, and its
    /// ed25519 signature (base64url) of `fleet::auth::challenge_message(device_id, challenge)`.
    /// Nothing else is accepted before the server answers [`ServerToDevice::Welcome`].
    Hello {
        device_id: String,
        protocol: u32,
        signature: String,
    },
    /// Answer to [`ServerToDevice::Challenge`] from a unit that is not enrolled yet: the
    /// one-time enrollment token from its seed, its new public key (base64url), and its
    /// signature of the challenge for the device id the token names. Rendezvous records the
    /// key and answers [`ServerToDevice::Welcome`]; from then on the unit says hello.
    Enroll {
        protocol: u32,
        token: String,
        public_key: String,
        signature: String,
    },
    /// Ask for a new invite for the current session (starting a session if there is none).
    CreateInvite {
        request_id: u64,
        /// Lifetime of the invite; the server's default (15 min) when absent, capped by it.
        #[serde(default)]
        ttl_secs: Option<u64>,
    },
    /// The person in the room let this guest in.
    Admit { guest_id: GuestId },
    /// The person in the room said "not now", or the unit removes a guest.
    Deny { guest_id: GuestId },
    /// SDP/ICE for one guest.
    Signal {
        guest_id: GuestId,
        payload: SignalPayload,
    },
    /// The session is over: every invite of it stops working and every guest is told.
    EndSession,
    /// Sent after `welcome` during a session: the guests in the call, so that after
    /// rendezvous restarted (and forgot them) each can [`GuestToServer::Resume`] on a new
    /// socket. Guests rendezvous still has are left as they are.
    Restore { guests: Vec<RestoredGuest> },
}

/// A guest in the unit's call, as [`DeviceToServer::Restore`] names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoredGuest {
    pub guest_id: GuestId,
    pub name: String,
}

/// Rendezvous → unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerToDevice {
    /// First message on the socket: 32 random bytes (base64url) the unit must sign.
    Challenge { challenge: String },
    /// The unit is authenticated.
    Welcome { device_id: String },
    /// An invite was created.
    Invite {
        request_id: u64,
        token: String,
        url: String,
        /// Unix time, seconds.
        expires_at: u64,
    },
    /// A guest opened the invite, gave a name, and waits to be let in. `ice_servers` are
    /// the STUN/TURN servers the unit uses for this guest's call, with TURN credentials
    /// minted for the unit alone (valid at most an hour; a live call outlives them).
    GuestKnock {
        guest_id: GuestId,
        name: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ice_servers: Vec<IceServer>,
    },
    /// SDP/ICE from a guest.
    Signal {
        guest_id: GuestId,
        payload: SignalPayload,
    },
    /// The guest's browser went away (closed the page, lost network, or left).
    GuestLeft { guest_id: GuestId },
    /// A request failed, or the socket is about to be closed. `code` is machine-readable.
    Error { code: ErrorCode, message: String },
}

/// Guest browser → rendezvous.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum GuestToServer {
    /// The guest typed a name and tapped "Join".
    Join { name: String },
    /// An admitted guest whose socket closed (rendezvous restarted, or the phone's network
    /// dropped it) takes its place again on a new socket (`/ws/resume`), with the id it was
    /// given in [`ServerToGuest::Admitted`]: no new knock, no new admission. `seen` is the
    /// `seq` of the last [`ServerToGuest::Signal`] the page handled: the unit's signals
    /// after it that went into the old socket (which may have been dead before either end
    /// knew) are sent again. Without it, nothing is.
    Resume {
        guest_id: GuestId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seen: Option<u64>,
    },
    /// SDP/ICE for the unit.
    Signal { payload: SignalPayload },
    /// The guest tapped "Leave".
    Leave,
    /// The page checks that its socket still carries messages (a phone's connection can
    /// die without either end being told): rendezvous answers [`ServerToGuest::Pong`] at
    /// once. A page that hears nothing for a while takes the socket for dead and resumes
    /// on a new one.
    Ping,
}

/// Rendezvous → guest browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerToGuest {
    /// The unit knows the guest is there; the person in the room has not answered yet.
    Waiting,
    /// The guest was let in: create the peer connection and send an offer. TURN servers
    /// carry credentials minted for this guest alone, valid at most an hour. `guest_id` is
    /// the guest's own id, kept secret by the page, to [`GuestToServer::Resume`] with.
    Admitted {
        ice_servers: Vec<IceServer>,
        guest_id: GuestId,
    },
    /// The guest took its place again after [`GuestToServer::Resume`]: signaling works again.
    /// `unit_here` says whether the unit is connected to rendezvous now: a `unit_back` (or
    /// `unit_away`) written into the guest's old socket may have been lost with it, so the
    /// page takes this as the unit's presence. What was held for the place follows it.
    Resumed { unit_here: bool },
    /// The answer to [`GuestToServer::Ping`].
    Pong,
    /// The person in the room said "not now".
    Denied,
    /// SDP/ICE from the unit. `seq` numbers the unit's signals to this guest (1, 2, …),
    /// for [`GuestToServer::Resume`]'s `seen`; it starts again at 1 for a place restored
    /// after rendezvous restarted.
    Signal {
        payload: SignalPayload,
        #[serde(default)]
        seq: u64,
    },
    /// The session ended; everything from it has been erased on the unit.
    SessionEnded,
    /// The unit is connected again after being away (a network blip): an admitted guest
    /// whose call is reconnecting offers again now rather than at its next retry. Sent to
    /// every admitted guest of a unit whenever the unit gets a new connection.
    UnitBack,
    /// The unit's connection to rendezvous closed (its daemon stopped, or its network went):
    /// sent to every admitted guest of the unit at once. The media may still flow for a
    /// while; `unit_back` follows if the unit returns.
    UnitAway,
    /// Something went wrong. The socket closes after this, except for what the guest can
    /// recover from: `bad_message`, `invalid_name`, `not_allowed` for a premature message,
    /// and `device_offline` for a signal of an admitted guest (the unit is reconnecting:
    /// retry).
    Error { code: ErrorCode, message: String },
}

/// Machine-readable reasons carried by `error` messages: one variant per cause, so a unit or
/// a guest page decides by the code alone (the message is for people and logs). The guest
/// page's words for each code are in `rendezvous/web/state.js` and `i18n.js`; its list of
/// codes (`rendezvous/web/limits.js`) is checked against this enum by a rendezvous test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The message was not valid JSON or not a known message.
    BadMessage,
    /// Unknown unit, or a signature that does not verify.
    Unauthorized,
    /// The unit was revoked by its fleet's IT: it is refused until re-provisioned.
    Revoked,
    /// The enrollment token is malformed, expired, already used or not from this fleet.
    EnrollmentRefused,
    /// The invite link is unknown (mistyped or forged).
    InviteUnknown,
    /// The invite link expired.
    InviteExpired,
    /// The session the invite belonged to has ended.
    SessionEnded,
    /// The unit is not connected right now: at `join` the socket closes; for a signal of an
    /// admitted guest it stays open (the unit may be reconnecting after a blip: retry).
    DeviceOffline,
    /// Too many requests from this address.
    RateLimited,
    /// The guest's name is empty, too long or has control characters (see [`normalise_name`]).
    InvalidName,
    /// A field of the unit's request is out of range (e.g. `ttl_secs` 0).
    InvalidField,
    /// The unit named a guest that is not connected (it left, or was denied).
    UnknownGuest,
    /// The message is not allowed in the current state: signaling before admission, a second
    /// join, admitting a guest twice, hello after authentication.
    NotAllowed,
    /// The call already has its most guests (waiting or admitted): try again later.
    SessionFull,
    /// The session already has its most invites: end it to start another.
    TooManyInvites,
    /// Another connection of the same unit replaced this one (the socket closes).
    Replaced,
    /// An admitted guest's connection dropped and their page did not resume within the
    /// time rendezvous holds a place (or the room removed them meanwhile): their place in
    /// the call has ended; joining again takes a new invite.
    PlaceEnded,
    /// Anything else: a bug on the server.
    Internal,
}

/// Longest guest display name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 40;

/// Validate and normalise a guest display name: trimmed, 1..=40 characters, no control
/// characters, no bidirectional overrides or invisible characters (they make a name look
/// like another's, or turn the text around it). A zero-width joiner is kept between two
/// emoji, where it builds one (👩‍👧). The error says what is wrong in plain words.
pub fn normalise_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("the name is empty: type the name the people in the room know you by");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err("the name is longer than 40 characters");
    }
    if name.chars().any(char::is_control) {
        return Err("the name contains control characters");
    }
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let joins_emoji = c == '\u{200D}'
            && i > 0
            && chars.get(i + 1).is_some_and(|&next| is_emoji(next))
            && (is_emoji(chars[i - 1]) || chars[i - 1] == '\u{FE0F}');
        if is_invisible(c) && !joins_emoji {
            return Err(
                "the name contains invisible or text-direction characters: type it again \
                 without pasting it",
            );
        }
    }
    Ok(name.to_owned())
}

/// Characters that show nothing but change how text around them reads or compares: bidi
/// embeddings, overrides, isolates and marks, zero-width spaces and joiners, word joiners
/// and invisible operators, the byte order mark, soft hyphen, Mongolian vowel separator,
/// Hangul fillers, and tag characters.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}'
        | '\u{17B5}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{E0000}'..='\u{E007F}')
}

/// Pictographs a zero-width joiner may join (emoji blocks, roughly).
fn is_emoji(c: char) -> bool {
    matches!(c, '\u{2600}'..='\u{27BF}' | '\u{1F000}'..='\u{1FAFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_use_a_type_tag() {
        let m = GuestToServer::Join {
            name: "Camille".into(),
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"type":"join","name":"Camille"}"#
        );
        let s = ServerToGuest::Signal {
            payload: SignalPayload::Answer { sdp: "v=0".into() },
            seq: 2,
        };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"type":"signal","payload":{"kind":"answer","sdp":"v=0"},"seq":2}"#
        );
        // A page that resumes without a number (an older page) is still understood.
        assert_eq!(
            serde_json::from_str::<GuestToServer>(r#"{"type":"resume","guest_id":"g-1"}"#).unwrap(),
            GuestToServer::Resume {
                guest_id: "g-1".into(),
                seen: None
            }
        );
    }

    #[test]
    fn names_with_invisible_or_direction_characters_are_refused() {
        for spoof in [
            "Cam\u{200B}ille",
            "Camille\u{202E}gpj.exe",
            "\u{2066}Camille\u{2069}",
            "Ca\u{200D}mille",
            "Camille\u{FEFF}x",
            "Ca\u{00AD}mille",
            "\u{3164}",
        ] {
            let e = normalise_name(spoof).unwrap_err();
            assert!(e.contains("invisible"), "{spoof:?}: {e}");
        }
        for fine in [
            "Camille",
            "Zoé",
            "Mamie 👵",
            "👩\u{200D}👧 Lucas",
            "❤\u{FE0F}\u{200D}🔥 Ana",
            "محمد",
            "李雷",
        ] {
            assert_eq!(normalise_name(fine), Ok(fine.to_owned()), "{fine:?}");
        }
    }

    #[test]
    fn invite_info_on_the_page() {
        let info = InviteInfo {
            store: "Paris 9e".into(),
            location: "Cabine 3".into(),
            mode: Some(crate::install::Mode::FittingRoom),
        };
        assert_eq!(
            serde_json::to_string(&info).unwrap(),
            r#"{"store":"Paris 9e","location":"Cabine 3","mode":"fitting-room"}"#
        );
        assert!(
            serde_json::from_str::<InviteInfo>(r#"{"store":"","location":"","who":"x"}"#).is_err()
        );
    }

    #[test]
    fn unknown_fields_and_types_are_refused() {
        assert!(serde_json::from_str::<GuestToServer>(r#"{"type":"join","nom":"x"}"#).is_err());
        assert!(serde_json::from_str::<GuestToServer>(r#"{"type":"dance"}"#).is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(normalise_name("  Camille ").unwrap(), "Camille");
        assert!(normalise_name("   ").is_err());
        assert!(normalise_name(&"é".repeat(41)).is_err());
        assert!(normalise_name(&"é".repeat(40)).is_ok());
        assert!(normalise_name("a\u{7}b").is_err());
    }
}
