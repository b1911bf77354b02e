//! One slot's outgoing stream: packets of whichever guest the slot shows, renumbered so
//! the viewer's browser sees one unbroken stream (one SSRC, consecutive sequence numbers,
//! timestamps that keep moving) across changes of who is shown. Plain values, no I/O.
//!
//! A change takes effect at the new guest's next keyframe: until then the slot sends
//! nothing (a decoder fed another picture's deltas shows garbage). At the switch the
//! sequence numbers continue from the last one sent and the timestamp moves on by the time
//! that passed, so the browser's jitter buffer and frame pacing see no jump.

use rtc::rtp::header::Header;
use std::time::Instant;

/// Which stream feeds a slot: the guest's id and a number telling this stream of theirs
/// from any other they send (each publication to the forwarder gets a new one; the
/// screen's decoder uses the layer's SSRC). Another stream restarts the numbering.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Source {
    pub guest: String,
    pub stream: u64,
}

#[derive(Debug, Clone, Copy)]
struct Offsets {
    seq: u16,
    ts: u32,
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    seq: u16,
    ts: u32,
    at: Instant,
}

/// See the module docs.
#[derive(Debug)]
pub struct SlotStream {
    ssrc: u32,
    clock_rate: u32,
    /// Who the slot shows, and since when it has been mapped (None: waiting for a keyframe).
    source: Option<Source>,
    offsets: Option<Offsets>,
    last: Option<Sent>,
    /// `last` before the latest packet: where the stream stands if that one is lost.
    before: Option<Sent>,
}

impl SlotStream {
    /// A slot sending as `ssrc` at `clock_rate` (90 kHz for video).
    pub fn new(ssrc: u32, clock_rate: u32) -> Self {
        SlotStream {
            ssrc,
            clock_rate,
            source: None,
            offsets: None,
            last: None,
            before: None,
        }
    }

    /// Show `source` from its next keyframe on (None: show nothing).
    pub fn show(&mut self, source: Option<Source>) {
        if self.source != source {
            self.source = source;
            self.offsets = None;
        }
    }

    /// The packet just rewritten never reached the viewer: wait for the source's next
    /// keyframe, and number it as if that packet had not been (no gap for the viewer's
    /// browser to ask about).
    pub fn lost(&mut self) {
        self.offsets = None;
        self.last = self.before;
    }

    /// The source stops sending for a while (a voice gone quiet): its next packet, a
    /// keyframe, continues the stream one sequence number on and the time that passed on,
    /// with no gap for the viewer's browser to ask about.
    pub fn pause(&mut self) {
        self.offsets = None;
    }

    /// Who the slot shows (or is about to, from their next keyframe).
    pub fn source(&self) -> Option<&Source> {
        self.source.as_ref()
    }

    /// Whether the slot waits for its source's keyframe.
    pub fn waiting(&self) -> bool {
        self.source.is_some() && self.offsets.is_none()
    }

    /// Renumber `header` (a packet of `from`) for the viewer; false: do not send it (not
    /// the slot's source, or a packet before the source's first keyframe). `keyframe`:
    /// the packet starts a keyframe.
    pub fn rewrite(
        &mut self,
        from: &Source,
        header: &mut Header,
        keyframe: bool,
        now: Instant,
    ) -> bool {
        if self.source.as_ref() != Some(from) {
            return false;
        }
        let offsets = match self.offsets {
            Some(o) => o,
            None if keyframe => {
                let o = match self.last {
                    // Continue the stream: one sequence number on, the time that passed on.
                    Some(last) => {
                        let elapsed = now.saturating_duration_since(last.at);
                        let ticks = (elapsed.as_micros() as u64 * u64::from(self.clock_rate)
                            / 1_000_000)
                            .max(1) as u32;
                        Offsets {
                            seq: last
                                .seq
                                .wrapping_add(1)
                                .wrapping_sub(header.sequence_number),
                            ts: last.ts.wrapping_add(ticks).wrapping_sub(header.timestamp),
                        }
                    }
                    None => Offsets { seq: 0, ts: 0 },
                };
                self.offsets = Some(o);
                o
            }
            None => return false,
        };
        header.sequence_number = header.sequence_number.wrapping_add(offsets.seq);
        header.timestamp = header.timestamp.wrapping_add(offsets.ts);
        header.ssrc = self.ssrc;
        // The publisher's header extensions carry its own negotiated ids (its mid among
        // them): meaningless, even misleading, on the viewer's connection.
        header.extension = false;
        header.extension_profile = 0;
        header.extensions.clear();
        header.extensions_padding = 0;
        header.csrc.clear();
        let newer = self
            .last
            .is_none_or(|l| (header.sequence_number.wrapping_sub(l.seq) as i16) > 0);
        self.before = self.last;
        if newer {
            self.last = Some(Sent {
                seq: header.sequence_number,
                ts: header.timestamp,
                at: now,
            });
        }
        true
    }
}

/// Whether an RTP payload of `mime` (`video/H264` or `video/VP8`) starts a keyframe: the
/// point where a viewer can start decoding.
pub fn starts_keyframe(mime: &str, payload: &[u8]) -> bool {
    if mime.eq_ignore_ascii_case("video/H264") {
        h264_starts_keyframe(payload)
    } else if mime.eq_ignore_ascii_case("video/VP8") {
        vp8_starts_keyframe(payload)
    } else {
        false
    }
}

/// An SPS (browsers send SPS and PPS right before each IDR picture), alone or first in a
/// STAP-A, or the first fragment of an IDR slice.
fn h264_starts_keyframe(payload: &[u8]) -> bool {
    const SPS: u8 = 7;
    const IDR: u8 = 5;
    const STAP_A: u8 = 24;
    const FU_A: u8 = 28;
    let Some(&first) = payload.first() else {
        return false;
    };
    match first & 0x1f {
        SPS | IDR => true,
        STAP_A => {
            // STAP-A: [header][size: 2 bytes][NAL]...: any SPS or IDR inside.
            let mut rest = &payload[1..];
            while rest.len() > 2 {
                let size = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                let Some(nal) = rest.get(2..2 + size) else {
                    return false;
                };
                if nal.first().is_some_and(|n| matches!(n & 0x1f, SPS | IDR)) {
                    return true;
                }
                rest = &rest[2 + size..];
            }
            false
        }
        FU_A => payload
            .get(1)
            .is_some_and(|fu| fu & 0x80 != 0 && fu & 0x1f == IDR),
        _ => false,
    }
}

/// RFC 7741: the payload descriptor's S bit and partition 0, then the VP8 header's
/// inverse key-frame bit.
fn vp8_starts_keyframe(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    let start = first & 0x10 != 0 && first & 0x07 == 0;
    if !start {
        return false;
    }
    let mut at = 1;
    if first & 0x80 != 0 {
        let Some(&x) = payload.get(at) else {
            return false;
        };
        at += 1;
        if x & 0x80 != 0 {
            // PictureID: 7 or 15 bits.
            let long = payload.get(at).is_some_and(|b| b & 0x80 != 0);
            at += if long { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            at += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            at += 1; // TID / KEYIDX
        }
    }
    payload.get(at).is_some_and(|b| b & 0x01 == 0)
}

#[cfg(test)]
#[path = "rewrite_tests.rs"]
mod tests;
