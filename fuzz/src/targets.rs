//! What is fuzzed: every parser that takes bytes from outside the process.
//!
//! Each [`Target`] has valid examples to start from (built from real values, so they stay
//! valid as the types change) and a check that must never panic. Messages also check their
//! round trip: what parses, serialised again, parses to the same value.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;
use visavis_api::datachannel::{GuestMessage, LookVotes, Reaction, UnitMessage};
use visavis_api::fleet::keys::DeviceKey;
use visavis_api::fleet::seed::{Secret, SeedBody, SeedFile, Turn, Wifi};
use visavis_api::signaling::{
    DeviceToServer, ErrorCode, GuestToServer, ServerToDevice, ServerToGuest, SignalPayload,
};
use visavis_api::{Mode, Orientation};

/// One parser under test.
pub struct Target {
    pub name: &'static str,
    /// Valid inputs to mutate.
    pub seeds: Vec<Vec<u8>>,
    /// Feed one input; `true` when it was accepted. Panics on a broken property.
    pub check: fn(&[u8]) -> bool,
}

/// JSON that parses must serialise and parse back to the same value.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(bytes: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<T>(bytes) else {
        return false;
    };
    let again = serde_json::to_vec(&value).expect("a parsed message serialises");
    let back: T = serde_json::from_slice(&again).expect("a serialised message parses");
    assert_eq!(back, value, "the round trip changed the message");
    true
}

fn json<T: Serialize>(values: &[T]) -> Vec<Vec<u8>> {
    values
        .iter()
        .map(|v| serde_json::to_vec(v).expect("a seed serialises"))
        .collect()
}

fn payloads() -> Vec<SignalPayload> {
    vec![
        SignalPayload::Offer {
            sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
                .into(),
        },
        SignalPayload::Candidate {
            candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
        },
    ]
}

fn seed_file() -> Vec<u8> {
    let body = SeedBody {
        device_id: "paris-09-cabine-3".into(),
        store: "Paris 9e".into(),
        location: "Cabine 3".into(),
        mode: Mode::FittingRoom,
        orientation: Orientation::Portrait,
        timezone: "Europe/Paris".parse().expect("a known time zone"),
        rendezvous_url: "https://rdv.example.com".into(),
        wifi: Some(Wifi {
            ssid: "Boutique".into(),
            country: "FR".into(),
            key: Secret::new("wifi-key-0123"),
        }),
        turn: Some(Turn {
            uris: vec!["turns:turn.example.com:443".into()],
            secret: Secret::new("turn-secret-0123456789"),
        }),
        enrollment_token: Secret::new("vve1.token"),
        staff_pin: Some(Secret::new("24681357")),
    };
    SeedFile::sign(body, &DeviceKey::from_bytes(&[7; 32])).to_bytes()
}

/// Every target.
pub fn all() -> Vec<Target> {
    let text = |s: &[&str]| s.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
    vec![
        Target {
            name: "signaling: guest → rendezvous",
            seeds: json(
                &[
                    vec![GuestToServer::Join {
                        name: "Camille".into(),
                    }],
                    payloads()
                        .into_iter()
                        .map(|payload| GuestToServer::Signal { payload })
                        .chain([
                            GuestToServer::Leave,
                            GuestToServer::Resume {
                                guest_id: "g-1".into(),
                                seen: None,
                            },
                            GuestToServer::Resume {
                                guest_id: "g-1".into(),
                                seen: Some(7),
                            },
                        ])
                        .collect(),
                ]
                .concat(),
            ),
            check: round_trip::<GuestToServer>,
        },
        Target {
            name: "signaling: unit → rendezvous",
            seeds: json(&[
                DeviceToServer::Hello {
                    device_id: "unit-1".into(),
                    protocol: 1,
                    signature: "c2ln".into(),
                },
                DeviceToServer::CreateInvite {
                    request_id: 7,
                    ttl_secs: Some(900),
                },
                DeviceToServer::Admit {
                    guest_id: "g-1".into(),
                },
                DeviceToServer::Signal {
                    guest_id: "g-1".into(),
                    payload: payloads().remove(1),
                },
                DeviceToServer::EndSession,
                DeviceToServer::Restore {
                    guests: vec![visavis_api::signaling::RestoredGuest {
                        guest_id: "g-1".into(),
                        name: "Camille".into(),
                    }],
                },
            ]),
            check: round_trip::<DeviceToServer>,
        },
        Target {
            name: "signaling: rendezvous → unit",
            seeds: json(&[
                ServerToDevice::Challenge {
                    challenge: "abc".into(),
                },
                ServerToDevice::GuestKnock {
                    guest_id: "g-1".into(),
                    name: "Ana".into(),
                    ice_servers: vec![],
                },
                ServerToDevice::Error {
                    code: ErrorCode::RateLimited,
                    message: "slow down".into(),
                },
            ]),
            check: round_trip::<ServerToDevice>,
        },
        Target {
            name: "signaling: rendezvous → guest",
            seeds: json(&[
                ServerToGuest::Waiting,
                ServerToGuest::Admitted {
                    ice_servers: vec![],
                    guest_id: "g-1".into(),
                },
                ServerToGuest::Resumed { unit_here: true },
                ServerToGuest::UnitAway,
                ServerToGuest::Signal {
                    payload: payloads().remove(0),
                    seq: 1,
                },
            ]),
            check: round_trip::<ServerToGuest>,
        },
        Target {
            name: "data channel: guest → unit",
            seeds: json(&[
                GuestMessage::Reaction {
                    reaction: Reaction::Heart,
                },
                GuestMessage::Chat {
                    text: "the green one!".into(),
                },
                GuestMessage::Vote { round: 1, look: 2 },
            ]),
            check: round_trip::<GuestMessage>,
        },
        Target {
            name: "data channel: unit → guest",
            seeds: json(&[
                UnitMessage::Welcome {
                    mode: Mode::Table,
                    location: "Table 4".into(),
                    others_video: true,
                },
                UnitMessage::Tally {
                    round: 1,
                    votes: vec![LookVotes { look: 1, votes: 2 }],
                },
                UnitMessage::Camera { on: false },
                UnitMessage::Chat {
                    name: "Léa".into(),
                    text: "the blue one".into(),
                },
                UnitMessage::Watching { count: 3 },
            ]),
            check: round_trip::<UnitMessage>,
        },
        Target {
            name: "local API: request lines",
            seeds: text(&[
                r#"{"id":1,"request":{"type":"status"}}"#,
                r#"{"id":2,"request":{"type":"admit","guest_id":"g-1"}}"#,
                r#"{"id":3,"request":{"type":"set_volume","percent":40}}"#,
            ]),
            check: round_trip::<visavis_api::local::ClientRequest>,
        },
        Target {
            name: "applianced.toml",
            seeds: text(&[
                "device_id = \"unit-1\"\n[rendezvous]\nurl = \"https://rdv.example.com\"\n",
                "device_id = \"t-4\"\nmode = \"table\"\n[rendezvous]\nurl = \"http://127.0.0.1:8443\"\n[video]\nwidth = 1280\nheight = 720\n[table]\nwaiter_webhook = \"https://till.example.com/hook\"\n",
            ]),
            check: |bytes| {
                let text = String::from_utf8_lossy(bytes);
                visavis_appliance::config::Config::parse(Path::new("applianced.toml"), &text)
                    .is_ok()
            },
        },
        Target {
            name: "rendezvous.toml",
            seeds: text(&[
                "listen = \"127.0.0.1:8443\"\npublic_url = \"https://rdv.example.com\"\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n[rate_limit]\nburst = 20\n[connections]\nmax_per_address = 64\n",
            ]),
            check: |bytes| {
                let text = String::from_utf8_lossy(bytes);
                // No key file is named, and the folder has none: a config that gets as far as
                // asking for it passed every other check.
                match visavis_rendezvous::config::Config::parse_in(&text, Path::new("/nonexistent"))
                {
                    Ok(_) => true,
                    Err(e) => e.to_string().starts_with("enrollment_key_file"),
                }
            },
        },
        Target {
            name: "fleet manifest (CSV)",
            seeds: text(&[
                "device_id,store,location,mode,timezone,rendezvous_url,enrollment_key\ncab-1,Paris 9e,Cabine 3,fitting-room,Europe/Paris,https://rdv.example.com,env:KEY\n",
                "device_id;store;location;mode;timezone;rendezvous_url;enrollment_key\r\nt-1;\"Lyon; 2e\";Table 4;table;Europe/Paris;https://rdv.example.com;env:KEY\r\n",
            ]),
            check: |bytes| visavis_provisioning::manifest::parse(bytes, false).is_ok(),
        },
        Target {
            name: "fleet manifest (TOML)",
            seeds: text(&[
                "[defaults]\nstore = \"Paris 9e\"\nmode = \"table\"\n\n[[device]]\ndevice_id = \"t-1\"\n",
            ]),
            check: |bytes| visavis_provisioning::manifest::parse(bytes, true).is_ok(),
        },
        Target {
            name: "seed file",
            seeds: vec![seed_file()],
            check: |bytes| SeedFile::parse(bytes).is_ok(),
        },
        Target {
            name: "guest names",
            seeds: text(&["Camille", "Mamie 👵", "👩\u{200D}👧 Lucas", "محمد"]),
            check: |bytes| {
                let name = String::from_utf8_lossy(bytes);
                match visavis_api::signaling::normalise_name(&name) {
                    Ok(n) => {
                        assert_eq!(
                            visavis_api::signaling::normalise_name(&n).as_deref(),
                            Ok(n.as_str()),
                            "a normalised name normalises to itself"
                        );
                        true
                    }
                    Err(_) => false,
                }
            },
        },
        Target {
            name: "TURN over TCP framing",
            seeds: vec![
                vec![
                    0, 1, 0, 4, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 9,
                    9, 9, 9,
                ],
                vec![0x40, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0],
            ],
            check: |bytes| {
                let mut deframer = visavis_appliance::relay_bridge::framing::Deframer::default();
                deframer.push(bytes);
                let mut any = false;
                while let Ok(Some(datagram)) = deframer.next_datagram() {
                    let framed = visavis_appliance::relay_bridge::framing::to_stream(&datagram)
                        .expect("a deframed datagram frames again");
                    assert!(framed.len() >= datagram.len() && framed.len().is_multiple_of(4));
                    any = true;
                }
                any
            },
        },
        Target {
            name: "trusted proxy ranges",
            seeds: text(&["10.0.0.0/8", "::1", "2001:db8::/32", "127.0.0.1"]),
            check: |bytes| {
                String::from_utf8_lossy(bytes)
                    .parse::<visavis_rendezvous::client_ip::Cidr>()
                    .is_ok()
            },
        },
    ]
}
