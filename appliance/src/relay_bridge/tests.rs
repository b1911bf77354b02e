//! The bridge's URL handling, and a datagram's trip through a bridge to a TCP relay and back.

use super::*;
use tokio::net::TcpListener;

#[test]
fn stream_relays_are_recognised_and_udp_ones_left_alone() {
    let relay = |tls, host: &str, port| {
        Some(StreamRelay {
            tls,
            host: host.into(),
            port,
        })
    };
    assert_eq!(
        StreamRelay::from_url("turn:relay.example:3478?transport=tcp"),
        relay(false, "relay.example", 3478)
    );
    assert_eq!(
        StreamRelay::from_url("turns:relay.example:443?transport=tcp"),
        relay(true, "relay.example", 443)
    );
    assert_eq!(
        StreamRelay::from_url("turns:relay.example"),
        relay(true, "relay.example", 5349)
    );
    assert_eq!(
        StreamRelay::from_url("turn:[2001:db8::1]:3478?transport=tcp"),
        relay(false, "2001:db8::1", 3478)
    );
    for left in [
        "turn:relay.example:3478",
        "turn:relay.example:3478?transport=udp",
        "turns:relay.example:443?transport=udp",
        "stun:relay.example:3478",
        "turn:relay.example:notaport?transport=tcp",
        "turn::3478?transport=tcp",
        "garbage",
    ] {
        assert_eq!(StreamRelay::from_url(left), None, "{left}");
    }
    assert_eq!(
        relay(true, "2001:db8::1", 443).unwrap().to_string(),
        "turns:[2001:db8::1]:443"
    );
}

#[test]
fn a_ca_file_without_certificates_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("ca.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let error = tls_config(Some(&empty)).unwrap_err().to_string();
    assert!(error.contains("turn.ca_file"), "{error}");
    let missing = tls_config(Some(&dir.path().join("missing.pem")))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("turn.ca_file"), "{missing}");
    assert!(tls_config(None).is_ok());
}

/// A STUN message (a binding request with a 4-byte body) and a ChannelData message of 5
/// bytes, as webrtc-rs sends them over UDP.
fn stun() -> Vec<u8> {
    let mut m = vec![0x00, 0x01, 0x00, 0x04, 0x21, 0x12, 0xA4, 0x42];
    m.extend_from_slice(&[9; 12]);
    m.extend_from_slice(&[1, 2, 3, 4]);
    m
}

fn channel_data() -> Vec<u8> {
    vec![0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5]
}

#[tokio::test]
async fn datagrams_cross_a_bridge_to_a_tcp_relay_framed_and_come_back_whole() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let relay_addr = listener.local_addr().unwrap();
    let servers = [IceServer {
        urls: vec![
            "turn:198.51.100.1:3478?transport=udp".into(),
            format!("turn:{relay_addr}?transport=tcp"),
        ],
        username: Some("u".into()),
        credential: Some("c".into()),
    }];
    let (bridged, bridges) = bridge(&servers, &tls_config(None).unwrap()).await;
    assert_eq!(
        bridged[0].urls[0], servers[0].urls[0],
        "a UDP relay is left"
    );
    assert_eq!(bridged[0].username.as_deref(), Some("u"));
    let local: SocketAddr = bridged[0].urls[1]
        .strip_prefix("turn:")
        .and_then(|u| u.strip_suffix("?transport=udp"))
        .expect("the TCP relay is replaced by a local UDP one")
        .parse()
        .unwrap();

    let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    client.send_to(&stun(), local).await.unwrap();
    client.send_to(&channel_data(), local).await.unwrap();

    // The relay reads both messages on one stream, the ChannelData padded to 12 bytes.
    let (mut stream, _) = listener.accept().await.unwrap();
    let mut got = vec![0u8; 24 + 12];
    stream.read_exact(&mut got).await.unwrap();
    assert_eq!(&got[..24], &stun()[..]);
    assert_eq!(&got[24..33], &channel_data()[..]);
    assert_eq!(&got[33..], &[0, 0, 0]);

    // Its answers, written in odd pieces, reach the client as the two datagrams.
    let answer: Vec<u8> = [framing::to_stream(&stun()).unwrap(), got[24..].to_vec()].concat();
    for piece in answer.chunks(7) {
        stream.write_all(piece).await.unwrap();
        stream.flush().await.unwrap();
    }
    let mut buf = [0u8; 64];
    let (n, _) = client.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], &stun()[..]);
    let (n, _) = client.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], &channel_data()[..]);

    // Dropping the bridges closes the stream.
    drop(bridges);
    let mut rest = Vec::new();
    let closed = stream.read_to_end(&mut rest).await;
    assert!(matches!(closed, Ok(0)), "{closed:?}");
}
