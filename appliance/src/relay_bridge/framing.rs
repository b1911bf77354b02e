//! TURN messages on a stream (RFC 8656 §12.5, RFC 6062): over UDP each datagram is one STUN
//! message or one ChannelData message; over TCP and TLS they follow each other, and a
//! ChannelData message is padded to a multiple of 4 bytes. This module turns datagrams into
//! stream bytes and stream bytes back into datagrams, and knows nothing of sockets.

/// What went wrong with bytes from the relay or from webrtc-rs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error(
        "a TURN message starts with 0b00 (STUN) or a channel number 0x4000-0x4FFF \
         (ChannelData), not {first:#04x}: this relay does not speak TURN on this port"
    )]
    NotTurn { first: u8 },
    #[error("a {got}-byte datagram is too short for a STUN or ChannelData header")]
    Short { got: usize },
    #[error("a datagram says {said} bytes follow its header but carries {got}")]
    Truncated { said: usize, got: usize },
}

/// STUN header: type, length, magic cookie, transaction id.
const STUN_HEADER: usize = 20;
/// ChannelData header: channel number, length.
const CHANNEL_HEADER: usize = 4;

/// The two kinds of message, from the first two bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Stun,
    ChannelData,
}

fn kind(first: u8) -> Result<Kind, FramingError> {
    match first {
        0x00..=0x3F => Ok(Kind::Stun),
        0x40..=0x4F => Ok(Kind::ChannelData),
        _ => Err(FramingError::NotTurn { first }),
    }
}

/// The length field of a header (bytes 2..4).
fn said(bytes: &[u8]) -> usize {
    usize::from(u16::from_be_bytes([bytes[2], bytes[3]]))
}

/// A datagram from webrtc-rs as stream bytes: a STUN message as it is (its length is already
/// a multiple of 4), a ChannelData message cut to its length and padded to a multiple of 4.
pub fn to_stream(datagram: &[u8]) -> Result<Vec<u8>, FramingError> {
    let first = *datagram.first().ok_or(FramingError::Short { got: 0 })?;
    let header = match kind(first)? {
        Kind::Stun => STUN_HEADER,
        Kind::ChannelData => CHANNEL_HEADER,
    };
    if datagram.len() < header {
        return Err(FramingError::Short {
            got: datagram.len(),
        });
    }
    let body = said(datagram);
    let end = header + body;
    if datagram.len() < end {
        return Err(FramingError::Truncated {
            said: body,
            got: datagram.len() - header,
        });
    }
    let mut out = datagram[..end].to_vec();
    out.resize(end.next_multiple_of(4), 0);
    Ok(out)
}

/// Reads datagrams out of the bytes a relay sends on a stream.
#[derive(Debug, Default)]
pub struct Deframer {
    buf: Vec<u8>,
}

impl Deframer {
    /// Bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole message as a datagram (a ChannelData message without its padding), or
    /// `None` until more bytes come. An error means the stream is not TURN: close it.
    pub fn next_datagram(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let Some(&first) = self.buf.first() else {
            return Ok(None);
        };
        let header = match kind(first)? {
            Kind::Stun => STUN_HEADER,
            Kind::ChannelData => CHANNEL_HEADER,
        };
        if self.buf.len() < header {
            return Ok(None);
        }
        let message = header + said(&self.buf);
        let on_stream = message.next_multiple_of(4);
        if self.buf.len() < on_stream {
            return Ok(None);
        }
        let datagram = self.buf[..message].to_vec();
        self.buf.drain(..on_stream);
        Ok(Some(datagram))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun(body: usize) -> Vec<u8> {
        let mut m = vec![0x00, 0x01];
        m.extend_from_slice(&(body as u16).to_be_bytes());
        m.extend_from_slice(&0x2112_A442u32.to_be_bytes());
        m.extend_from_slice(&[7; 12]);
        m.extend(std::iter::repeat_n(0xAB, body));
        m
    }

    fn channel_data(payload: usize) -> Vec<u8> {
        let mut m = vec![0x40, 0x01];
        m.extend_from_slice(&(payload as u16).to_be_bytes());
        m.extend(std::iter::repeat_n(0xCD, payload));
        m
    }

    #[test]
    fn stun_goes_on_the_stream_as_it_is() {
        let m = stun(8);
        assert_eq!(to_stream(&m).unwrap(), m);
    }

    #[test]
    fn channel_data_is_padded_on_the_stream_and_unpadded_off_it() {
        let m = channel_data(5);
        let on_stream = to_stream(&m).unwrap();
        assert_eq!(on_stream.len(), 12);
        assert_eq!(&on_stream[..9], &m[..]);
        let mut d = Deframer::default();
        d.push(&on_stream);
        assert_eq!(d.next_datagram().unwrap(), Some(m));
        assert_eq!(d.next_datagram().unwrap(), None);
    }

    #[test]
    fn messages_split_and_joined_across_reads_come_out_whole_and_in_order() {
        let messages = [stun(4), channel_data(3), channel_data(8), stun(0)];
        let stream: Vec<u8> = messages
            .iter()
            .flat_map(|m| to_stream(m).unwrap())
            .collect();
        for chunk in [1, 3, 7, stream.len()] {
            let mut d = Deframer::default();
            let mut out = Vec::new();
            for piece in stream.chunks(chunk) {
                d.push(piece);
                while let Some(m) = d.next_datagram().unwrap() {
                    out.push(m);
                }
            }
            assert_eq!(out, messages, "read {chunk} bytes at a time");
        }
    }

    #[test]
    fn bytes_that_are_not_turn_are_refused() {
        let mut d = Deframer::default();
        d.push(&[0x5A, 0, 0, 0]);
        assert_eq!(
            d.next_datagram(),
            Err(FramingError::NotTurn { first: 0x5A })
        );
        assert_eq!(
            to_stream(&[0xC0, 0, 0, 0]),
            Err(FramingError::NotTurn { first: 0xC0 })
        );
        assert_eq!(to_stream(&[0x40, 1]), Err(FramingError::Short { got: 2 }));
        assert_eq!(
            to_stream(&[0x40, 1, 0, 9, 1]),
            Err(FramingError::Truncated { said: 9, got: 1 })
        );
    }
}
