//! Messages on each guest's data channel (label [`LABEL`]), JSON text frames.

use serde::{Deserialize, Serialize};

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

/// Guest → unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum GuestMessage {
    Reaction { reaction: Reaction },
}

/// Unit → guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum UnitMessage {
    /// Sent once the channel opens: who the guest is talking to.
    Welcome { mode: String, location: String },
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
}
