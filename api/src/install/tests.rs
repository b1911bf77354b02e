//! The install values read and write exactly the strings files and messages held before
//! they were types.

use super::*;

/// A TOML file has tables at the top, so values go in one.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Doc<T> {
    value: T,
}

fn round_trip<T>(value: T, text: &str)
where
    T: Serialize + for<'de> Deserialize<'de> + FromStr + fmt::Display + PartialEq + fmt::Debug,
    <T as FromStr>::Err: fmt::Debug,
{
    let json = serde_json::to_string(&value).unwrap();
    assert_eq!(json, format!("\"{text}\""));
    assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value);
    let toml_text = toml::to_string(&Doc { value: &value }).unwrap();
    assert_eq!(toml_text, format!("value = \"{text}\"\n"));
    assert_eq!(toml::from_str::<Doc<T>>(&toml_text).unwrap().value, value);
    assert_eq!(value.to_string(), text);
    assert_eq!(text.parse::<T>().unwrap(), value);
}

#[test]
fn every_mode_reads_and_writes_its_name() {
    round_trip(Mode::FittingRoom, "fitting-room");
    round_trip(Mode::Table, "table");
    for mode in Mode::ALL {
        round_trip(mode, mode.as_str());
    }
    assert_eq!(Mode::default(), Mode::FittingRoom);
}

#[test]
fn every_orientation_reads_and_writes_its_name() {
    for (orientation, text) in [
        (Orientation::Portrait, "portrait"),
        (Orientation::Landscape, "landscape"),
        (Orientation::PortraitFlipped, "portrait-flipped"),
        (Orientation::LandscapeFlipped, "landscape-flipped"),
    ] {
        round_trip(orientation, text);
    }
    assert_eq!(Mode::Table.default_orientation(), Orientation::Landscape);
    assert_eq!(
        Mode::FittingRoom.default_orientation(),
        Orientation::Portrait
    );
}

#[test]
fn time_zones_read_and_write_their_name() {
    for name in [
        "Europe/Paris",
        "America/Argentina/Buenos_Aires",
        "UTC",
        "Etc/GMT+2",
    ] {
        round_trip(name.parse::<TimeZone>().unwrap(), name);
    }
}

#[test]
fn a_bad_word_is_named_with_what_is_accepted() {
    assert_eq!(
        "kitchen".parse::<Mode>().unwrap_err().to_string(),
        "\"kitchen\" is not a mode: expected fitting-room or table"
    );
    assert_eq!(
        "upside-down"
            .parse::<Orientation>()
            .unwrap_err()
            .to_string(),
        "\"upside-down\" is not an orientation: expected portrait, landscape, portrait-flipped or landscape-flipped"
    );
    assert_eq!(
        "Paris".parse::<TimeZone>().unwrap_err().to_string(),
        "\"Paris\" is not a time zone: expected an IANA name such as Europe/Paris, or UTC"
    );
    // Names are exact: no case folding, no spaces.
    for bad in ["Table", " table", "fitting_room", ""] {
        assert_eq!(bad.parse::<Mode>(), Err(UnknownMode(bad.into())));
    }
}

#[test]
fn a_time_zone_never_leaves_zoneinfo() {
    for bad in [
        "Paris",
        "Europe/../etc",
        "/etc/passwd",
        "Europe/",
        "Moon/Base",
        "Europe/Paris\n",
        "Europe/Par is",
        "",
    ] {
        assert_eq!(
            bad.parse::<TimeZone>(),
            Err(InvalidTimeZone(bad.into())),
            "{bad:?} accepted"
        );
    }
    // serde goes through the same check, and its message names the value.
    let err = serde_json::from_str::<TimeZone>("\"Europe/../etc\"").unwrap_err();
    assert!(
        err.to_string()
            .contains("\"Europe/../etc\" is not a time zone"),
        "{err}"
    );
    let err = toml::from_str::<Doc<Mode>>("value = \"kitchen\"").unwrap_err();
    assert!(
        err.to_string().contains("kitchen") && err.to_string().contains("fitting-room"),
        "{err}"
    );
}
