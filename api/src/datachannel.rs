//! Messages on each guest's data channel (label [`LABEL`]), JSON text frames.

use serde::{Deserialize, Serialize};

use crate::install::Mode;

/// Label of the one data channel a guest opens.
pub const LABEL: &str = "visavis";

/// Reactions a guest can send; a closed set so nothing arbitrary is drawn over the mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reaction {
    Heart,
    ThumbsUp,
    Fire,
    Laugh,
    Wow,
    Clap,
}

impl Reaction {
    /// All reactions, in the order the guest app shows them.
    pub const ALL: [Reaction; 6] = [
        Reaction::Heart,
        Reaction::ThumbsUp,
        Reaction::Fire,
        Reaction::Laugh,
        Reaction::Wow,
        Reaction::Clap,
    ];

    /// The emoji drawn for this reaction.
    pub fn emoji(self) -> &'static str {
        match self {
            Reaction::Heart => "❤️",
            Reaction::ThumbsUp => "👍",
            Reaction::Fire => "🔥",
            Reaction::Laugh => "😂",
            Reaction::Wow => "😮",
            Reaction::Clap => "👏",
        }
    }
}

/// How many other guests' pictures a guest's page can show: it offers this many
/// receive-only video transceivers ("slots") after its own video and audio, and the unit
/// forwards one other guest's small layer into each slot it fills (see
/// [`UnitMessage::Others`]). Eight people in a call: seven others.
pub const FORWARD_SLOTS: usize = 7;

/// How many other guests' voices a guest's page can play unmixed: it offers this many
/// receive-only audio transceivers ("voice slots") after its picture slots, and the unit
/// forwards each other guest's Opus packets into one of them while that guest talks. A
/// call with more others than this hears them in the unit's mix instead.
pub const VOICE_SLOTS: usize = FORWARD_SLOTS;

/// The simulcast layer (`rid`) of a guest's camera that the unit forwards to the others.
pub const SMALL_RID: &str = "l";
/// The simulcast layer (`rid`) of a guest's camera that the unit decodes for its screen.
pub const FULL_RID: &str = "h";

/// The picture a guest's page asks its camera for (an ideal, not a demand: the browser
/// takes the nearest its camera gives), width then height. The unit shows a guest in a
/// 480x360 tile at most and forwards the others a layer of half this size: more would
/// cost the guest's uplink and the unit's decoder and show nothing more.
pub const CAMERA_SIZE: (u32, u32) = (640, 480);
/// How many times smaller than the full layer the small one is, each way (the others'
/// pictures: 320x240 from [`CAMERA_SIZE`]).
pub const SMALL_LAYER_SCALE: u32 = 2;
/// What the small layer sends at most until the unit says otherwise
/// ([`UnitMessage::SmallLayerRate`]), kilobits a second.
pub const SMALL_LAYER_KBPS: u32 = 150;
/// A screen tile this many pixels wide or narrower shows a guest's small layer about as
/// well as their full one: the small layer's width and a quarter more (400).
pub const SMALL_TILE_WIDTH: u32 = CAMERA_SIZE.0 / SMALL_LAYER_SCALE * 5 / 4;

/// Largest message the unit sends on a data channel, in bytes (a look's still included).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Longest chat message a guest can send, in characters.
pub const MAX_CHAT_CHARS: usize = 280;

/// Guest → unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum GuestMessage {
    Reaction {
        reaction: Reaction,
    },
    /// A line of chat, shown as a bubble on the unit's screen (see [`chat_text`]).
    Chat {
        text: String,
    },
    /// A vote for one of the two looks of comparison `round` (a later vote replaces it).
    Vote {
        round: u32,
        look: u32,
    },
}

/// Unit → guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum UnitMessage {
    /// Sent once the channel opens: who the guest is talking to.
    Welcome {
        mode: Mode,
        location: String,
        /// Whether the unit forwards guests' pictures to each other (`[video]
        /// guests_see_each_other`): without it the page does not send its camera's small
        /// layer (nobody would get it).
        #[serde(default)]
        others_video: bool,
    },
    /// A saved look's still, sent before the comparison that shows it. One look per
    /// message: data-channel messages stay under 64 KiB, the smallest limit peers use.
    Look { id: u32, jpeg: String },
    /// The person in the room asks "which one?": two looks (sent before), side by side.
    Compare { round: u32, looks: [u32; 2] },
    /// The comparison is over (another one started, or the person in the room closed it).
    CompareEnded { round: u32 },
    /// Votes so far in comparison `round`.
    Tally { round: u32, votes: Vec<LookVotes> },
    /// The unit's camera went off (paused from the screen, or the privacy switch) or came
    /// back: the guest page covers the frozen picture while it is off.
    Camera { on: bool },
    /// Another guest in the call wrote a line of chat (already cleaned by [`chat_text`]).
    /// Only guests in the call get it, never one still waiting to be let in.
    Chat { name: String, text: String },
    /// Another guest in the call sent a reaction.
    Reaction { name: String, reaction: Reaction },
    /// How many guests are in the call (who can see the room), sent to each of them when
    /// it changes: "3 watching".
    Watching { count: u32 },
    /// Another guest in the call started (`true`) or stopped speaking, as the unit hears
    /// their voice: the page shows who is talking.
    Speaking { name: String, speaking: bool },
    /// Which other guests' pictures the guest's slots carry now (see [`FORWARD_SLOTS`]),
    /// sent whenever that changes: the whole list, slots without a picture left out.
    Others { others: Vec<Other> },
    /// Whether the unit shows the guest's full camera layer: `false` while the call is
    /// large enough that the screen shows each guest's small layer (`[video]
    /// small_tiles_from`), when the page pauses its full layer (nobody would get it), and
    /// `true` again when the call shrinks. Sent where guests see each other, when the guest
    /// starts seeing others and whenever it changes.
    FullLayer { on: bool },
    /// What the page's small layer (the picture forwarded to the other guests) may send:
    /// at most `max_kbps` kilobits a second (the video, headers not counted) and
    /// `max_fps` frames a second. A table too full for every guest to see every other at
    /// the small layer's usual rate ([`SMALL_LAYER_KBPS`] at the camera's rate) lowers it
    /// so that they all fit in the store's uplink. Sent where guests see each other, when
    /// the guest starts publishing and whenever it changes.
    SmallLayerRate { max_kbps: u32, max_fps: u32 },
    /// Whether the guest's picture is taken off the others' tiles because it comes faster
    /// than the page was asked ([`UnitMessage::SmallLayerRate`], or the usual rate): the
    /// page sets its small layer to that rate again and tells the guest the others do not
    /// see them for now. `false` once it is forwarded again. Sent where guests see each
    /// other, when that changes.
    PictureHeld { held: bool },
}

/// One other guest whose picture a slot carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Other {
    /// The slot: 0 is the first receive-only video transceiver the page offered.
    pub slot: u8,
    /// Their name, as the room sees it.
    pub name: String,
}

/// How many votes a look has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookVotes {
    pub look: u32,
    pub votes: u32,
}

/// Why a chat line was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatRefused {
    Empty,
    TooLong,
}

/// A guest's chat text as the screen shows it: trimmed, control characters (line breaks
/// included) turned into spaces, 1 to [`MAX_CHAT_CHARS`] characters.
pub fn chat_text(raw: &str) -> Result<String, ChatRefused> {
    let text: String = raw
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match text.chars().count() {
        0 => Err(ChatRefused::Empty),
        n if n > MAX_CHAT_CHARS => Err(ChatRefused::TooLong),
        _ => Ok(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaction_wire_form() {
        let m = GuestMessage::Reaction {
            reaction: Reaction::ThumbsUp,
        };
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(s, r#"{"type":"reaction","reaction":"thumbs_up"}"#);
        assert_eq!(serde_json::from_str::<GuestMessage>(&s).unwrap(), m);
        assert!(
            serde_json::from_str::<GuestMessage>(r#"{"type":"reaction","reaction":"poop"}"#)
                .is_err()
        );
    }

    #[test]
    fn chat_and_votes_on_the_wire() {
        let vote: GuestMessage =
            serde_json::from_str(r#"{"type":"vote","round":2,"look":5}"#).unwrap();
        assert_eq!(vote, GuestMessage::Vote { round: 2, look: 5 });
        assert!(serde_json::from_str::<GuestMessage>(r#"{"type":"vote","look":5}"#).is_err());
        let tally = UnitMessage::Tally {
            round: 2,
            votes: vec![LookVotes { look: 5, votes: 1 }],
        };
        assert_eq!(
            serde_json::to_string(&tally).unwrap(),
            r#"{"type":"tally","round":2,"votes":[{"look":5,"votes":1}]}"#
        );
    }

    #[test]
    fn what_other_guests_said_and_did_on_the_wire() {
        let chat = UnitMessage::Chat {
            name: "Léa".into(),
            text: "the blue one".into(),
        };
        assert_eq!(
            serde_json::to_string(&chat).unwrap(),
            r#"{"type":"chat","name":"Léa","text":"the blue one"}"#
        );
        let reaction = UnitMessage::Reaction {
            name: "Léa".into(),
            reaction: Reaction::Fire,
        };
        assert_eq!(
            serde_json::to_string(&reaction).unwrap(),
            r#"{"type":"reaction","name":"Léa","reaction":"fire"}"#
        );
        assert_eq!(
            serde_json::to_string(&UnitMessage::Watching { count: 3 }).unwrap(),
            r#"{"type":"watching","count":3}"#
        );
        assert_eq!(
            serde_json::to_string(&UnitMessage::Speaking {
                name: "Jo".into(),
                speaking: true
            })
            .unwrap(),
            r#"{"type":"speaking","name":"Jo","speaking":true}"#
        );
        assert!(
            serde_json::from_str::<UnitMessage>(r#"{"type":"watching","count":3,"x":1}"#).is_err()
        );
    }

    #[test]
    fn chat_text_is_one_clean_line_of_bounded_length() {
        assert_eq!(chat_text("  so good\nbuy it "), Ok("so good buy it".into()));
        assert_eq!(chat_text(" \t "), Err(ChatRefused::Empty));
        let longest = "é".repeat(MAX_CHAT_CHARS);
        assert_eq!(chat_text(&longest), Ok(longest.clone()));
        assert_eq!(chat_text(&format!("{longest}!")), Err(ChatRefused::TooLong));
    }
}
