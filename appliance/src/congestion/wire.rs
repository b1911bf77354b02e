//! What a guest's datagrams cost the store's line beyond what webrtc-rs counts: the
//! headers under them on the path the call took. Plain values, no I/O.
//!
//! webrtc-rs counts each datagram it sends (SRTP, SRTCP, DTLS, STUN, data channel) without
//! the headers the network adds. Those depend on the path ICE selected ([`Path`]): IPv4 or
//! IPv6, and, through a TURN relay, the relay's framing (4 bytes of ChannelData) and how the
//! unit reaches the relay: UDP, or TCP and TLS through the unit's bridge
//! ([`crate::relay_bridge`]), where each datagram rides in a TCP segment of its own (the
//! bridge writes them one by one) and a TLS record. [`WireCount`] adds them up datagram by
//! datagram as the path was when they were sent, so a path that changes mid-call (a guest
//! moving to a relay) does not re-count what went before.

use std::net::IpAddr;

/// IPv4 and UDP headers: a datagram on a direct IPv4 path, the most common one.
pub const UDP_IP_HEADER: u64 = IPV4 + UDP;

const IPV4: u64 = 20;
const IPV6: u64 = 40;
const UDP: u64 = 8;
/// TCP's header with the timestamps option Linux sends.
const TCP: u64 = 32;
/// TURN's ChannelData header (RFC 8656 12.4).
const CHANNEL_DATA: u64 = 4;
/// ChannelData over a stream is padded to 4 bytes: 1.5 on average.
const STREAM_PADDING: u64 = 2;
/// A TLS record around each message: its header, and AES-GCM's explicit nonce and tag in
/// TLS 1.2 (what relays such as coturn often settle on; TLS 1.3 takes 7 bytes less).
const TLS_RECORD: u64 = 5 + 8 + 16;

/// How the unit reaches the TURN relay a guest's path goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayLeg {
    Udp,
    /// `turn:…?transport=tcp`, through the bridge.
    Tcp,
    /// `turns:`, through the bridge.
    Tls,
}

/// The path a guest's datagrams take out of the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path {
    pub ipv6: bool,
    /// Through a TURN relay, and how the unit reaches it; `None` straight to the guest.
    pub relay: Option<RelayLeg>,
}

impl Path {
    /// Straight to the guest over IPv4: what is assumed until ICE has selected a path.
    pub const DIRECT_V4: Path = Path {
        ipv6: false,
        relay: None,
    };

    /// The bytes each datagram takes on the line beyond webrtc-rs's count.
    pub fn header_bytes(self) -> u64 {
        let ip = if self.ipv6 { IPV6 } else { IPV4 };
        ip + match self.relay {
            None => UDP,
            Some(RelayLeg::Udp) => UDP + CHANNEL_DATA,
            Some(RelayLeg::Tcp) => TCP + CHANNEL_DATA + STREAM_PADDING,
            Some(RelayLeg::Tls) => TCP + TLS_RECORD + CHANNEL_DATA + STREAM_PADDING,
        }
    }

    /// What each datagram takes beyond a direct IPv4 path's headers, which the plan
    /// assumes.
    pub fn extra_bytes(self) -> u64 {
        self.header_bytes().saturating_sub(UDP_IP_HEADER)
    }

    /// The path of the unit's side of the selected candidate pair: its kind (`relay` or
    /// not), its address and related address (for a relay: the unit's address as the relay
    /// saw it, which is on the leg to the relay), and for a relay the TURN URL it came from,
    /// `bridged` saying which relay leg a local bridge's port stands for.
    pub fn of_candidate(
        relayed: bool,
        address: Option<&str>,
        related_address: &str,
        url: &str,
        bridged: impl Fn(u16) -> Option<RelayLeg>,
    ) -> Path {
        let family = |s: &str| s.parse::<IpAddr>().ok().map(|ip| ip.is_ipv6());
        let on_leg = if relayed {
            family(related_address).or_else(|| address.and_then(family))
        } else {
            address.and_then(family)
        };
        let relay = relayed.then(|| bridge_port(url).and_then(&bridged).unwrap_or(RelayLeg::Udp));
        Path {
            ipv6: on_leg.unwrap_or(false),
            relay,
        }
    }
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ip = if self.ipv6 { "IPv6" } else { "IPv4" };
        match self.relay {
            None => write!(f, "straight to the guest over {ip}"),
            Some(RelayLeg::Udp) => write!(f, "through a TURN relay over UDP, {ip}"),
            Some(RelayLeg::Tcp) => write!(f, "through a TURN relay over TCP, {ip}"),
            Some(RelayLeg::Tls) => write!(f, "through a TURN relay over TLS, {ip}"),
        }
    }
}

/// The port of a `turn:127.0.0.1:<port>…` URL: how the unit names one of its bridges.
fn bridge_port(url: &str) -> Option<u16> {
    let rest = url.strip_prefix("turn:127.0.0.1:")?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// A guest's bytes on the wire so far, from webrtc-rs's running totals read now and then.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WireCount {
    packets: u64,
    bytes: u64,
    wire: u64,
    /// What the paths added beyond a direct IPv4 path's headers.
    extra: u64,
}

impl WireCount {
    /// The transport's totals as read now, sent on `path` since the last reading: the
    /// bytes on the wire so far.
    pub fn add(&mut self, packets: u64, bytes: u64, path: Path) -> u64 {
        let new_packets = packets.saturating_sub(self.packets);
        let new_bytes = bytes.saturating_sub(self.bytes);
        self.wire += new_bytes + new_packets * path.header_bytes();
        self.extra += new_packets * path.extra_bytes();
        self.packets = self.packets.max(packets);
        self.bytes = self.bytes.max(bytes);
        self.wire
    }

    /// The bytes so far that the paths added beyond a direct IPv4 path's headers (what
    /// the plan does not assume, [`Path::extra_bytes`]).
    pub fn extra(&self) -> u64 {
        self.extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_bridge(_: u16) -> Option<RelayLeg> {
        None
    }

    #[test]
    fn each_path_adds_its_headers() {
        let path = |ipv6, relay| Path { ipv6, relay }.header_bytes();
        assert_eq!(path(false, None), 28);
        assert_eq!(path(true, None), 48);
        assert_eq!(path(false, Some(RelayLeg::Udp)), 32);
        assert_eq!(path(true, Some(RelayLeg::Udp)), 52);
        assert_eq!(path(false, Some(RelayLeg::Tcp)), 58);
        assert_eq!(path(false, Some(RelayLeg::Tls)), 87);
        assert_eq!(path(true, Some(RelayLeg::Tls)), 107);
        assert_eq!(Path::DIRECT_V4.extra_bytes(), 0);
        let tls = Path {
            ipv6: false,
            relay: Some(RelayLeg::Tls),
        };
        assert_eq!(tls.extra_bytes(), 59);
    }

    #[test]
    fn the_path_is_read_off_the_unit_s_candidate() {
        let host = Path::of_candidate(false, Some("192.168.1.20"), "", "", no_bridge);
        assert_eq!(host, Path::DIRECT_V4);
        let v6 = Path::of_candidate(false, Some("2001:db8::20"), "", "", no_bridge);
        assert_eq!(v6.header_bytes(), 48);
        // A relay: the leg to it is the related address's (the relayed address may be
        // of the other family).
        let relay = Path::of_candidate(
            true,
            Some("203.0.113.9"),
            "2001:db8::20",
            "turn:turn.example.com:3478?transport=udp",
            no_bridge,
        );
        assert_eq!(
            relay,
            Path {
                ipv6: true,
                relay: Some(RelayLeg::Udp)
            }
        );
        // A relay through the unit's bridge on port 40_000 to a `turns:` relay.
        let bridged = |port| (port == 40_000).then_some(RelayLeg::Tls);
        let tls = Path::of_candidate(
            true,
            Some("203.0.113.9"),
            "198.51.100.7",
            "turn:127.0.0.1:40000?transport=udp",
            bridged,
        );
        assert_eq!(tls.relay, Some(RelayLeg::Tls));
        assert_eq!(tls.to_string(), "through a TURN relay over TLS, IPv4");
        // Nothing known: IPv4 assumed.
        let unknown = Path::of_candidate(true, None, "", "", no_bridge);
        assert_eq!(unknown.header_bytes(), 32);
    }

    #[test]
    fn headers_count_on_the_path_each_datagram_took() {
        let mut count = WireCount::default();
        // 100 datagrams of 1,000 bytes direct over IPv4...
        assert_eq!(count.add(100, 100_000, Path::DIRECT_V4), 102_800);
        // ...then 50 more through a TLS relay: the first 100 keep their 28 bytes.
        let tls = Path {
            ipv6: false,
            relay: Some(RelayLeg::Tls),
        };
        assert_eq!(count.add(150, 150_000, tls), 102_800 + 50_000 + 50 * 87);
        assert_eq!(count.extra(), 50 * 59);
        // A reading with nothing new adds nothing.
        assert_eq!(count.add(150, 150_000, tls), 157_150);
    }
}
