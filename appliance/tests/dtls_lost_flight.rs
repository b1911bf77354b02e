//! A DTLS handshake that loses a whole flight still completes.
//!
//! Every call's media keys come from the DTLS handshake between the unit and the guest's
//! browser, and on a lossy link a flight of it is sometimes lost. RFC 6347 4.2.4 recovers by
//! retransmission: the side waiting for an answer sends its flight again when its timer
//! fires. webrtc-rs's DTLS dropped that timer whenever a handshake record arrived that did not
//! complete the flight it was waiting for, which is exactly what the peer sends when our flight
//! was lost: its own previous flight, again. The handshake then hung until the peer gave up,
//! and the call never came up (seen on the thin-link lab, about 1 call in 16). The workspace
//! builds a patched copy (`vendor/rtc-dtls`) that keeps the timer and, as RFC 6347 4.2.4
//! asks, answers the peer's repeat by sending its own flight again at once; these tests fail
//! without the patch.
//!
//! Two sans-IO endpoints configured as a WebRTC peer connection configures them (certificates
//! on both sides, client certificate required) exchange datagrams on a virtual clock. Time
//! only moves to the next deadline an endpoint reports (`poll_timeout`), as an event loop
//! would, so a handshake that arms no timer while incomplete is caught as a stall rather than
//! waited out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::dtls::config::{ClientAuthType, ConfigBuilder, ExtendedMasterSecretType, HandshakeConfig};
use rtc::dtls::crypto::Certificate;
use rtc::dtls::crypto_provider::default_provider;
use rtc::dtls::endpoint::{Endpoint, EndpointEvent};
use rtc::shared::TransportProtocol;

/// DTLS content type of a handshake record, and where a plaintext record's first handshake
/// message names its type (13-byte record header).
const HANDSHAKE_RECORD: u8 = 22;
const FIRST_HANDSHAKE_TYPE_AT: usize = 13;
/// Handshake message types that open the flights under test.
const SERVER_HELLO: u8 = 2;
const CERTIFICATE: u8 = 11;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Client,
    Server,
}

/// One association's two ends and what has happened on the wire between them.
struct Handshake {
    client: Endpoint,
    server: Endpoint,
    now: Instant,
    batches_sent: [usize; 2],
    lost: Option<(Side, usize)>,
    lost_first_type: Option<u8>,
    complete: [bool; 2],
}

fn client_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 2], 50_000))
}

fn server_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 3], 50_001))
}

/// webrtc-rs's first retransmission interval; the unit keeps the default.
const UNIT_INTERVAL: Duration = Duration::from_secs(1);
/// A browser's, which is shorter: in the thin-link lab the guest repeated its flight 363 ms
/// after the unit's flight went out.
const BROWSER_INTERVAL: Duration = Duration::from_millis(250);

fn config(is_client: bool, flight_interval: Duration) -> Arc<HandshakeConfig> {
    let provider = default_provider().expect("the default crypto provider is built in");
    let certificate =
        Certificate::generate_self_signed(vec!["visavis".to_owned()], provider.crypto())
            .expect("a self-signed certificate is generated");
    Arc::new(
        ConfigBuilder::default()
            .with_crypto_provider(provider)
            .with_certificates(vec![certificate])
            .with_client_auth(ClientAuthType::RequireAnyClientCert)
            .with_insecure_skip_verify(true)
            .with_extended_master_secret(ExtendedMasterSecretType::Require)
            .with_flight_interval(flight_interval)
            .build(is_client, None)
            .expect("the handshake configuration is valid"),
    )
}

impl Handshake {
    /// Starts a handshake that loses every datagram of `lost`: the `n`th batch a side sends
    /// (1-based; a batch is what one step of the endpoint queued, i.e. one flight). Each side
    /// retransmits first after its own interval.
    fn start(
        lost: Option<(Side, usize)>,
        client_interval: Duration,
        server_interval: Duration,
    ) -> Self {
        let now = Instant::now();
        let mut client = Endpoint::new(client_addr(), TransportProtocol::UDP, None);
        let server = Endpoint::new(
            server_addr(),
            TransportProtocol::UDP,
            Some(config(false, server_interval)),
        );
        client
            .connect(now, server_addr(), config(true, client_interval), None)
            .expect("the client starts its handshake");
        Self {
            client,
            server,
            now,
            batches_sent: [0, 0],
            lost,
            lost_first_type: None,
            complete: [false, false],
        }
    }

    /// Delivers what `from` has queued to the other side, or loses it. True if anything was
    /// sent.
    fn deliver(&mut self, from: Side) -> bool {
        let (source, destination, source_addr) = match from {
            Side::Client => (&mut self.client, &mut self.server, client_addr()),
            Side::Server => (&mut self.server, &mut self.client, server_addr()),
        };
        let mut batch: Vec<BytesMut> = Vec::new();
        while let Some(transmit) = source.poll_transmit() {
            batch.push(transmit.message);
        }
        if batch.is_empty() {
            return false;
        }
        let index = from as usize;
        self.batches_sent[index] += 1;
        if self.lost == Some((from, self.batches_sent[index])) {
            let first = &batch[0];
            if first.first() == Some(&HANDSHAKE_RECORD) {
                self.lost_first_type = first.get(FIRST_HANDSHAKE_TYPE_AT).copied();
            }
            return true;
        }
        let receiver = 1 - index;
        for datagram in batch {
            let events = destination
                .read(self.now, source_addr, None, datagram)
                .unwrap_or_else(|error| panic!("{:?} rejected a datagram: {error}", from));
            if events
                .iter()
                .any(|event| matches!(event, EndpointEvent::HandshakeComplete))
            {
                self.complete[receiver] = true;
            }
        }
        true
    }

    /// Runs until both ends complete, moving the clock only to a deadline an endpoint
    /// reports. Returns the virtual time it took.
    fn run(&mut self) -> Duration {
        let start = self.now;
        for _ in 0..1_000 {
            let client_sent = self.deliver(Side::Client);
            let server_sent = self.deliver(Side::Server);
            if self.complete == [true, true] {
                return self.now - start;
            }
            if client_sent || server_sent {
                continue;
            }
            let deadline = [
                self.client.poll_timeout(&server_addr()),
                self.server.poll_timeout(&client_addr()),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(deadline) = deadline else {
                panic!(
                    "the handshake stalled after {:?}: neither end has anything to send or a \
                     retransmission timer armed (complete: client {}, server {})",
                    self.now - start,
                    self.complete[0],
                    self.complete[1]
                );
            };
            self.now = self.now.max(deadline);
            let client = self.client.handle_timeout(server_addr(), self.now);
            let server = self.server.handle_timeout(client_addr(), self.now);
            for (side, result) in [(Side::Client, client), (Side::Server, server)] {
                if let Err(error) = result {
                    panic!(
                        "the {side:?} gave up after {:?} ({error}): it spent its retransmissions \
                         and the other end never sent its lost flight again",
                        self.now - start
                    );
                }
            }
        }
        panic!("the handshake did not complete in 1,000 steps");
    }
}

#[test]
fn a_handshake_without_loss_completes_in_three_flights_each_way() {
    let mut handshake = Handshake::start(None, UNIT_INTERVAL, BROWSER_INTERVAL);
    let took = handshake.run();
    assert_eq!(took, Duration::ZERO, "no timer should have been needed");
    // Client: ClientHello, ClientHello with cookie, the key exchange flight. Server:
    // HelloVerifyRequest, ServerHello flight, ChangeCipherSpec and Finished. The loss tests
    // below count on this numbering.
    assert_eq!(handshake.batches_sent, [3, 3]);
}

/// Loses `side`'s `batch`th flight, which opens with a `first` message, and checks the
/// handshake still completes, through `side` sending that flight again as soon as the other
/// side, the faster to retransmit, repeats its own (RFC 6347 4.2.4), not a whole
/// retransmission interval of its own later.
fn recovers_from_losing(side: Side, batch: usize, first: u8, client: Duration, server: Duration) {
    let mut handshake = Handshake::start(Some((side, batch)), client, server);
    let took = handshake.run();
    assert_eq!(
        handshake.lost_first_type,
        Some(first),
        "the lost flight should open with handshake message {first}"
    );
    assert!(
        handshake.batches_sent[side as usize] > 3,
        "the {side:?} should have sent its flight again"
    );
    let (own, other) = match side {
        Side::Client => (client, server),
        Side::Server => (server, client),
    };
    assert_eq!(
        took, other,
        "the {side:?} should answer the other side's repeat at once, after {other:?}, not on \
         its own timer ({own:?})"
    );
}

#[test]
fn the_client_resends_its_key_exchange_flight_when_it_is_lost() {
    // The unit is the DTLS client of its calls: this is the flight that was lost on the thin
    // link. The guest's browser, the server, notices first and repeats its ServerHello flight;
    // the unit must still send its own flight again.
    recovers_from_losing(
        Side::Client,
        3,
        CERTIFICATE,
        UNIT_INTERVAL,
        BROWSER_INTERVAL,
    );
}

#[test]
fn the_server_resends_its_hello_flight_when_it_is_lost() {
    // The same loss the other way round: a guest that makes the unit the DTLS server, and
    // repeats its ClientHello before the unit's timer fires.
    recovers_from_losing(
        Side::Server,
        2,
        SERVER_HELLO,
        BROWSER_INTERVAL,
        UNIT_INTERVAL,
    );
}
