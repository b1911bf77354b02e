//! The guest page and the Rust side agree: the values the page shares with `visavis_api`
//! (`web/limits.js`), the name and chat fields' `maxlength` in `web/index.html`, and the
//! invalid-invite sentences of `web/i18n.js` and [`pages::INVALID_INVITE`], and the
//! page's pings (`web/heartbeat.js`) against how long rendezvous lets a guest's socket be
//! silent. The page's modules are loaded with node, so what is checked is what a browser
//! runs. Change a value on one side only and this fails.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failure is a failed test

mod web;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::Value;
use visavis_api::datachannel::{self, Reaction};
use visavis_api::local;
use visavis_api::signaling::{self, ErrorCode};
use visavis_rendezvous::config::SocketTiming;
use visavis_rendezvous::pages;

/// The serde names of every variant of enum `T`, in declaration order, as serde itself
/// lists them when asked to deserialize the enum (so no variant can be left out).
fn variant_names<'de, T: Deserialize<'de>>() -> Vec<&'static str> {
    struct Names(Vec<&'static str>);

    #[derive(Debug)]
    struct Done;
    impl std::fmt::Display for Done {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("variant names read")
        }
    }
    impl std::error::Error for Done {}
    impl de::Error for Done {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Done
        }
    }

    impl<'de> Deserializer<'de> for &mut Names {
        type Error = Done;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Done> {
            Err(Done)
        }
        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _name: &'static str,
            variants: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Done> {
            self.0.extend_from_slice(variants);
            Err(Done)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map struct
            identifier ignored_any
        }
    }

    let mut names = Names(Vec::new());
    assert!(T::deserialize(&mut names).is_err());
    assert!(!names.0.is_empty(), "not an enum");
    names.0
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect()
}

fn number(exports: &Value, name: &str) -> usize {
    let n = exports[name]
        .as_u64()
        .unwrap_or_else(|| panic!("limits.js exports no number {name}"));
    usize::try_from(n).unwrap()
}

#[test]
fn limits_match_the_api_crate() {
    let limits = web::exports("limits.js");
    assert_eq!(number(&limits, "MAX_NAME_CHARS"), signaling::MAX_NAME_CHARS);
    assert_eq!(
        number(&limits, "MAX_CHAT_CHARS"),
        datachannel::MAX_CHAT_CHARS
    );
    assert_eq!(number(&limits, "MAX_LOOKS"), local::MAX_LOOKS);
    assert_eq!(limits["DATA_CHANNEL_LABEL"], datachannel::LABEL);
    assert_eq!(number(&limits, "FORWARD_SLOTS"), datachannel::FORWARD_SLOTS);
    assert_eq!(number(&limits, "VOICE_SLOTS"), datachannel::VOICE_SLOTS);
    assert_eq!(limits["SMALL_RID"], datachannel::SMALL_RID);
    assert_eq!(limits["FULL_RID"], datachannel::FULL_RID);
    assert_eq!(
        (
            number(&limits, "CAMERA_WIDTH"),
            number(&limits, "CAMERA_HEIGHT")
        ),
        (
            datachannel::CAMERA_SIZE.0 as usize,
            datachannel::CAMERA_SIZE.1 as usize
        )
    );
    assert_eq!(
        number(&limits, "SMALL_LAYER_SCALE"),
        datachannel::SMALL_LAYER_SCALE as usize
    );
    assert_eq!(
        number(&limits, "SMALL_LAYER_KBPS"),
        datachannel::SMALL_LAYER_KBPS as usize
    );
}

#[test]
fn error_codes_are_every_error_code_variant() {
    let limits = web::exports("limits.js");
    assert_eq!(
        strings(&limits["ERROR_CODES"]),
        variant_names::<ErrorCode>(),
        "web/limits.js ERROR_CODES must list visavis_api::signaling::ErrorCode, in its order"
    );
    // The helper itself reads serde's names, renames included.
    assert_eq!(
        serde_json::to_value(ErrorCode::SessionFull).unwrap(),
        "session_full"
    );
}

#[test]
fn reactions_are_every_reaction_in_order_with_its_emoji() {
    let limits = web::exports("limits.js");
    let page: Vec<(&str, &str)> = limits["REACTIONS"]
        .as_array()
        .expect("REACTIONS is an array")
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["emoji"].as_str().unwrap()))
        .collect();
    let api: Vec<(String, &str)> = Reaction::ALL
        .iter()
        .map(|r| {
            let name = serde_json::to_value(r).unwrap();
            (name.as_str().unwrap().to_owned(), r.emoji())
        })
        .collect();
    let api: Vec<(&str, &str)> = api.iter().map(|(n, e)| (n.as_str(), *e)).collect();
    assert_eq!(page, api, "web/limits.js REACTIONS must be Reaction::ALL");
    let names: Vec<&str> = page.iter().map(|(n, _)| *n).collect();
    let mut every = variant_names::<Reaction>();
    let mut sorted = names.clone();
    every.sort_unstable();
    sorted.sort_unstable();
    assert_eq!(sorted, every, "Reaction::ALL must hold every Reaction");
}

/// The `maxlength` attribute of the element with `id` in index.html.
fn maxlength(html: &str, id: &str) -> usize {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("index.html has no #{id}"));
    let tag = &html[start..start + html[start..].find('>').unwrap()];
    let value = tag
        .split("maxlength=\"")
        .nth(1)
        .unwrap_or_else(|| panic!("#{id} has no maxlength"));
    value[..value.find('"').unwrap()].parse().unwrap()
}

#[test]
fn the_name_and_chat_fields_are_bounded_like_the_api() {
    let html = web::read("index.html");
    assert_eq!(maxlength(&html, "name"), signaling::MAX_NAME_CHARS);
    assert_eq!(maxlength(&html, "chat-text"), datachannel::MAX_CHAT_CHARS);
}

#[test]
fn invalid_invite_sentences_match_the_server_page() {
    let catalogue = &web::exports("i18n.js")["catalogue"];
    for w in pages::INVALID_INVITE {
        for (lang, title, text) in [("en", w.title_en, w.text_en), ("fr", w.title_fr, w.text_fr)] {
            let key = |part: &str| format!("invalid.{}.{part}", w.reason);
            assert_eq!(
                catalogue[lang][key("title")],
                title,
                "{lang} {}",
                key("title")
            );
            assert_eq!(catalogue[lang][key("text")], text, "{lang} {}", key("text"));
        }
    }
}

#[test]
fn a_page_that_pings_is_never_taken_for_silent() {
    let heartbeat = &web::exports("heartbeat.js")["HEARTBEAT"];
    let every_ms = heartbeat["everyMs"]
        .as_u64()
        .expect("heartbeat.js exports HEARTBEAT.everyMs");
    let guest = SocketTiming::default().guest;
    let silent_ms = u64::try_from(guest.silent_for.as_millis()).unwrap();
    // Two pings of the page may be late or lost before rendezvous gives its socket up.
    assert!(
        silent_ms >= 3 * every_ms,
        "guests are given up on after {silent_ms} ms of silence, the page pings every {every_ms} ms"
    );
    // A page whose timers the browser slows (a background tab) still answers rendezvous'
    // own pings (the browser does): at least three of them within the limit.
    assert!(
        guest.silent_for >= 3 * guest.ping_every,
        "{:?} of silence, a ping every {:?}",
        guest.silent_for,
        guest.ping_every
    );
    assert!(
        guest.silent_for < SocketTiming::default().device.silent_for,
        "a vanished phone is found out sooner than a unit"
    );
}
