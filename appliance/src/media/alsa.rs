//! Finding the microphone: an ALSA card by name, and how many capture channels it has, from
//! `/proc/asound` (the root is a parameter, so tests use a fake tree).
//!
//! `/proc/asound/cards` lists each card as ` 1 [ArrayUAC10     ]: USB-Audio - ReSpeaker 4
//! Mic Array (UAC1.0)`: an index, a short id and a long name. `[audio] card` matches the id
//! exactly or any part of the long name (letter case ignored). A USB card's
//! `card<N>/stream0` says `Channels: 6` under `Capture:`.

use std::path::Path;

/// Why `[audio] card` or `[audio] channel` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MicError {
    #[error(
        "`audio.card`: no ALSA card called {card:?}; the unit has {}: set the card's id or part of its name, or leave `card` out to use `audio.device`",
        if present.is_empty() { "none".to_owned() } else { present.join(", ") }
    )]
    NoCard { card: String, present: Vec<String> },
    #[error(
        "`audio.channel`: {channel} is beyond the {channels} capture channel(s) of {device} (from 0 to {})",
        channels.saturating_sub(1)
    )]
    Channel {
        channel: u32,
        device: String,
        channels: u32,
    },
    #[error(
        "`audio.channel`: {channel} needs `audio.card` (the channel count of `audio.device` is not known): name the card, or use channel 0"
    )]
    ChannelNeedsCard { channel: u32 },
}

/// An ALSA card as `/proc/asound/cards` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub index: u32,
    pub id: String,
    pub name: String,
}

impl Card {
    /// The card's first device, by id: stable when USB devices are plugged in another order.
    pub fn device(&self) -> String {
        format!("hw:CARD={},DEV=0", self.id)
    }
}

/// The cards of `/proc/asound/cards` (its text).
pub fn cards(text: &str) -> Vec<Card> {
    text.lines()
        .filter_map(|line| {
            let (index, rest) = line.trim_start().split_once(' ')?;
            let index = index.parse().ok()?;
            let (id, rest) = rest.trim_start().strip_prefix('[')?.split_once(']')?;
            let name = rest
                .trim_start_matches(':')
                .split_once(" - ")
                .map_or(rest, |(_, n)| n);
            Some(Card {
                index,
                id: id.trim().to_owned(),
                name: name.trim().to_owned(),
            })
        })
        .collect()
}

/// The card `wanted` names: its id exactly, else the first whose long name contains it.
pub fn find<'a>(cards: &'a [Card], wanted: &str) -> Option<&'a Card> {
    let wanted_lc = wanted.to_lowercase();
    cards
        .iter()
        .find(|c| c.id.eq_ignore_ascii_case(wanted))
        .or_else(|| {
            cards
                .iter()
                .find(|c| c.name.to_lowercase().contains(&wanted_lc))
        })
}

/// Capture channels of a USB card, from its `stream0` text (`None` if it says none).
pub fn capture_channels(stream0: &str) -> Option<u32> {
    let capture = stream0.split("Capture:").nth(1)?;
    let capture = capture.split("Playback:").next().unwrap_or(capture);
    capture
        .lines()
        .find_map(|l| l.trim().strip_prefix("Channels:"))
        .and_then(|n| n.trim().parse().ok())
}

/// The device and capture channel count of the card named `wanted`, under `root`
/// (`/proc/asound`). A card whose channel count is not written there (not USB) counts as
/// one channel: all it has is mixed down.
pub fn resolve(root: &Path, wanted: &str) -> Result<(String, u32), MicError> {
    let text = std::fs::read_to_string(root.join("cards")).unwrap_or_default();
    let all = cards(&text);
    let card = find(&all, wanted).ok_or_else(|| MicError::NoCard {
        card: wanted.to_owned(),
        present: all
            .iter()
            .map(|c| format!("{} ({})", c.id, c.name))
            .collect(),
    })?;
    let channels = std::fs::read_to_string(root.join(format!("card{}/stream0", card.index)))
        .ok()
        .and_then(|s| capture_channels(&s))
        .unwrap_or(1);
    Ok((card.device(), channels))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARDS: &str = " 0 [PCH            ]: HDA-Intel - HDA Intel PCH
                      HDA Intel PCH at 0xf7f10000 irq 33
 1 [ArrayUAC10     ]: USB-Audio - ReSpeaker 4 Mic Array (UAC1.0)
                      SEEED ReSpeaker 4 Mic Array (UAC1.0) at usb-0000:00:14.0-2, full speed
 2 [Device         ]: USB-Audio - USB PnP Sound Device
                      C-Media Electronics Inc. USB PnP Sound Device at usb-3f980000.usb-1.3
";

    const RESPEAKER_STREAM: &str =
        "SEEED ReSpeaker 4 Mic Array (UAC1.0) at usb-0000:00:14.0-2, full speed : USB Audio

Playback:
  Status: Stop
  Interface 2
    Altset 1
    Format: S16_LE
    Channels: 2
    Rates: 16000

Capture:
  Status: Stop
  Interface 1
    Altset 1
    Format: S16_LE
    Channels: 6
    Endpoint: 0x82 (2 IN) (ASYNC)
    Rates: 16000
";

    const MONO_STREAM: &str = "C-Media USB PnP Sound Device : USB Audio

Capture:
  Status: Stop
  Interface 1
    Altset 1
    Format: S16_LE
    Channels: 1
    Rates: 44100, 48000
";

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cards"), CARDS).unwrap();
        for (n, text) in [(1, RESPEAKER_STREAM), (2, MONO_STREAM)] {
            let card = dir.path().join(format!("card{n}"));
            std::fs::create_dir(&card).unwrap();
            std::fs::write(card.join("stream0"), text).unwrap();
        }
        dir
    }

    #[test]
    fn cards_are_read_with_their_id_and_name() {
        let all = cards(CARDS);
        assert_eq!(all.len(), 3);
        assert_eq!(
            all[1],
            Card {
                index: 1,
                id: "ArrayUAC10".into(),
                name: "ReSpeaker 4 Mic Array (UAC1.0)".into()
            }
        );
        assert_eq!(all[1].device(), "hw:CARD=ArrayUAC10,DEV=0");
    }

    #[test]
    fn a_card_is_found_by_id_or_part_of_its_name() {
        let all = cards(CARDS);
        assert_eq!(find(&all, "arrayuac10").unwrap().index, 1);
        assert_eq!(find(&all, "ReSpeaker").unwrap().index, 1);
        assert_eq!(find(&all, "pnp sound").unwrap().index, 2);
        assert_eq!(find(&all, "Device").unwrap().index, 2, "the id wins");
        assert!(find(&all, "Jabra").is_none());
    }

    #[test]
    fn capture_channels_come_from_the_capture_section() {
        assert_eq!(capture_channels(RESPEAKER_STREAM), Some(6));
        assert_eq!(capture_channels(MONO_STREAM), Some(1));
        assert_eq!(capture_channels("Playback:\n    Channels: 2\n"), None);
    }

    #[test]
    fn the_array_and_a_mono_usb_mic_resolve() {
        let dir = tree();
        assert_eq!(
            resolve(dir.path(), "ReSpeaker").unwrap(),
            ("hw:CARD=ArrayUAC10,DEV=0".into(), 6)
        );
        assert_eq!(
            resolve(dir.path(), "Device").unwrap(),
            ("hw:CARD=Device,DEV=0".into(), 1)
        );
        // Not USB: its count is not written; all it has is mixed down.
        assert_eq!(
            resolve(dir.path(), "PCH").unwrap(),
            ("hw:CARD=PCH,DEV=0".into(), 1)
        );
    }

    #[test]
    fn a_missing_card_is_named_with_those_present() {
        let dir = tree();
        let e = resolve(dir.path(), "Jabra").unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("`audio.card`")
                && text.contains("\"Jabra\"")
                && text.contains("ArrayUAC10 (ReSpeaker"),
            "{text}"
        );
        let empty = tempfile::tempdir().unwrap();
        let text = resolve(empty.path(), "Jabra").unwrap_err().to_string();
        assert!(text.contains("the unit has none"), "{text}");
    }
}
