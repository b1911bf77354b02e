//! What a session keeps besides its guests: saved looks, the comparison guests vote on,
//! and the chat. All of it lives in memory only and is dropped with the session
//! ([`Keepsakes::erase`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use visavis_api::datachannel::{LookVotes, UnitMessage};
use visavis_api::local::{ApiError, ApiErrorCode, CHAT_KEPT, ChatLine, CompareStatus, MAX_LOOKS};
use visavis_api::signaling::GuestId;

#[derive(Debug)]
struct Compare {
    round: u32,
    looks: [u32; 2],
    open: bool,
    /// One vote per guest; a later vote replaces it.
    votes: BTreeMap<GuestId, u32>,
}

/// Looks, comparison and chat of the current session.
#[derive(Debug, Default)]
pub struct Keepsakes {
    /// Look id → JPEG, base64 (the form guests and the kiosk receive).
    looks: BTreeMap<u32, Arc<str>>,
    next_look: u32,
    compare: Option<Compare>,
    next_round: u32,
    chat: VecDeque<ChatLine>,
}

impl Keepsakes {
    /// Keep a picture; answers its id.
    pub fn save(&mut self, jpeg_base64: String) -> Result<u32, ApiError> {
        if self.looks.len() >= MAX_LOOKS {
            return Err(ApiError {
                code: ApiErrorCode::LooksFull,
                message: format!(
                    "{MAX_LOOKS} looks are saved already: compare them, or end the session to start again"
                ),
            });
        }
        self.next_look += 1;
        self.looks.insert(self.next_look, jpeg_base64.into());
        Ok(self.next_look)
    }

    pub fn image(&self, look: u32) -> Result<Arc<str>, ApiError> {
        self.looks.get(&look).cloned().ok_or_else(|| unknown(look))
    }

    pub fn ids(&self) -> Vec<u32> {
        self.looks.keys().copied().collect()
    }

    /// Whether `looks` can be compared: two different looks of this session.
    pub fn check_compare(&self, looks: [u32; 2]) -> Result<(), ApiError> {
        if looks[0] == looks[1] {
            return Err(ApiError {
                code: ApiErrorCode::BadRequest,
                message: "compare needs two different looks".into(),
            });
        }
        for look in looks {
            self.image(look)?;
        }
        Ok(())
    }

    /// Start comparing two looks; answers the messages for the guests.
    pub fn compare(&mut self, looks: [u32; 2]) -> Result<Vec<UnitMessage>, ApiError> {
        self.check_compare(looks)?;
        self.next_round += 1;
        self.compare = Some(Compare {
            round: self.next_round,
            looks,
            open: true,
            votes: BTreeMap::new(),
        });
        Ok(self.compare_messages())
    }

    /// Close the comparison; answers the message for the guests, if one was open.
    pub fn end_compare(&mut self) -> Option<UnitMessage> {
        let c = self.compare.as_mut().filter(|c| c.open)?;
        c.open = false;
        Some(UnitMessage::CompareEnded { round: c.round })
    }

    /// The open comparison as guests receive it, stills first (sent again to a guest who
    /// joins later). Empty when none is open.
    pub fn compare_messages(&self) -> Vec<UnitMessage> {
        let Some(c) = self.compare.as_ref().filter(|c| c.open) else {
            return Vec::new();
        };
        let mut messages: Vec<UnitMessage> = c
            .looks
            .iter()
            .filter_map(|id| {
                Some(UnitMessage::Look {
                    id: *id,
                    jpeg: self.looks.get(id)?.to_string(),
                })
            })
            .collect();
        messages.push(UnitMessage::Compare {
            round: c.round,
            looks: c.looks,
        });
        messages
    }

    /// Count a guest's vote. `None` when it does not apply (old round, closed, not one of
    /// the two looks): nothing changes.
    pub fn vote(&mut self, guest_id: &GuestId, round: u32, look: u32) -> Option<CompareStatus> {
        let c = self.compare.as_mut()?;
        if !c.open || c.round != round || !c.looks.contains(&look) {
            return None;
        }
        c.votes.insert(guest_id.clone(), look);
        self.status()
    }

    /// The comparison and its tally, for the screen.
    pub fn status(&self) -> Option<CompareStatus> {
        let c = self.compare.as_ref()?;
        Some(CompareStatus {
            round: c.round,
            open: c.open,
            votes: c
                .looks
                .iter()
                .map(|look| LookVotes {
                    look: *look,
                    votes: c.votes.values().filter(|v| *v == look).count() as u32,
                })
                .collect(),
        })
    }

    /// The tally as guests receive it.
    pub fn tally_message(&self) -> Option<UnitMessage> {
        let s = self.status().filter(|s| s.open)?;
        Some(UnitMessage::Tally {
            round: s.round,
            votes: s.votes,
        })
    }

    pub fn add_chat(&mut self, line: ChatLine) {
        if self.chat.len() == CHAT_KEPT {
            self.chat.pop_front();
        }
        self.chat.push_back(line);
    }

    pub fn chat(&self) -> Vec<ChatLine> {
        self.chat.iter().cloned().collect()
    }

    /// Forget everything, overwriting what this owner alone holds first: chat lines
    /// (names and text) and the stills no one else holds a copy of right now (an event
    /// still queued for a local client shares its still until sent). Ids start again from 1
    /// in the next session. Returns how many stills were shared and only released.
    pub fn erase(&mut self) -> usize {
        let shared = self.wipe();
        *self = Keepsakes::default();
        shared
    }

    /// Overwrite what [`erase`](Self::erase) forgets, in place; returns how many stills
    /// were shared and left as they are.
    fn wipe(&mut self) -> usize {
        use zeroize::Zeroize;
        for line in &mut self.chat {
            line.name.zeroize();
            line.text.zeroize();
        }
        let mut shared = 0;
        for still in self.looks.values_mut() {
            match Arc::get_mut(still) {
                Some(text) => text.zeroize(),
                None => shared += 1,
            }
        }
        shared
    }
}

fn unknown(look: u32) -> ApiError {
    ApiError {
        code: ApiErrorCode::UnknownLook,
        message: format!("no look {look} in this session (saved looks are erased when it ends)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erasing_overwrites_chat_and_the_stills_only_this_owner_holds() {
        let mut k = Keepsakes::default();
        let kept = k.save("SECRETJPEG1".into()).unwrap();
        let shared = k.save("SECRETJPEG2".into()).unwrap();
        k.add_chat(ChatLine {
            guest_id: "g1".into(),
            name: "Camille".into(),
            text: "the green one!".into(),
        });
        let queued = k.image(shared).unwrap();
        assert_eq!(k.wipe(), 1, "one still is held by a queued event too");
        assert!(
            k.looks[&kept].bytes().all(|b| b == 0),
            "{:?}",
            k.looks[&kept]
        );
        assert_eq!(
            &*queued, "SECRETJPEG2",
            "a shared copy is left to its holder"
        );
        assert!(
            k.chat
                .iter()
                .all(|l| l.name.is_empty() && l.text.is_empty())
        );
        k.erase();
        assert!(k.chat().is_empty());
        assert!(k.image(kept).is_err());
    }
}
