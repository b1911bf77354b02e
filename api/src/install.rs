//! How a unit is installed: its [`Mode`], its screen's [`Orientation`] and its [`TimeZone`].
//!
//! The fleet manifest, the seed, the enrollment token, `applianced.toml`, the local API,
//! the data channel and the kiosk all carry these values. On the wire and in files they are
//! the same strings as ever (`"fitting-room"`, `"portrait-flipped"`, `"Europe/Paris"`);
//! in code they are types, so a value that is not one of them is refused where it is read,
//! with a message naming it and what is accepted.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The installation: a fitting-room mirror or a restaurant table.
///
/// Without one (`applianced.toml` leaves `mode` out) a unit is a fitting-room mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    #[default]
    FittingRoom,
    Table,
}

impl Mode {
    /// Every mode, in the order messages list them.
    pub const ALL: [Mode; 2] = [Mode::FittingRoom, Mode::Table];

    /// The name written in files and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::FittingRoom => "fitting-room",
            Mode::Table => "table",
        }
    }

    /// How the screen is mounted when nobody says: upright in a fitting room, lying
    /// across a table.
    pub fn default_orientation(self) -> Orientation {
        match self {
            Mode::FittingRoom => Orientation::Portrait,
            Mode::Table => Orientation::Landscape,
        }
    }
}

/// A word that is not a [`Mode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a mode: expected {list}", list = one_of(&Mode::ALL.map(Mode::as_str)))]
pub struct UnknownMode(pub String);

/// `FromStr` and `Display` for an enum that is one of the names in its `ALL` list
/// (`as_str`), refused with `$err` naming the word.
macro_rules! named {
    ($ty:ident, $err:ident) => {
        impl FromStr for $ty {
            type Err = $err;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $err(s.to_owned()))
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named!(Mode, UnknownMode);

/// How the screen is mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Orientation {
    Portrait,
    Landscape,
    PortraitFlipped,
    LandscapeFlipped,
}

impl Orientation {
    /// Every orientation, in the order messages list them.
    pub const ALL: [Orientation; 4] = [
        Orientation::Portrait,
        Orientation::Landscape,
        Orientation::PortraitFlipped,
        Orientation::LandscapeFlipped,
    ];

    /// The name written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Orientation::Portrait => "portrait",
            Orientation::Landscape => "landscape",
            Orientation::PortraitFlipped => "portrait-flipped",
            Orientation::LandscapeFlipped => "landscape-flipped",
        }
    }
}

/// A word that is not an [`Orientation`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an orientation: expected {list}",
    list = one_of(&Orientation::ALL.map(Orientation::as_str))
)]
pub struct UnknownOrientation(pub String);

named!(Orientation, UnknownOrientation);

/// IANA time zone areas.
const TZ_AREAS: [&str; 11] = [
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
    "Etc",
];

/// An IANA time zone name under one of its areas (`Europe/Paris`,
/// `America/Argentina/Buenos_Aires`) or `UTC`, and never a path that could leave
/// `/usr/share/zoneinfo`: first boot links `/etc/localtime` to it.
///
/// Built only by [`FromStr`] or [`TryFrom<String>`] (serde goes through the latter), so
/// holding one means the name was checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(String);

/// A name that is not a [`TimeZone`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a time zone: expected an IANA name such as Europe/Paris, or UTC")]
pub struct InvalidTimeZone(pub String);

impl TimeZone {
    /// The name, e.g. `Europe/Paris`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TimeZone {
    type Error = InvalidTimeZone;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        let ok_chars = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
            && !name.contains("..");
        let area_ok = name == "UTC"
            || name
                .split_once('/')
                .is_some_and(|(area, rest)| TZ_AREAS.contains(&area) && !rest.is_empty());
        if ok_chars && area_ok {
            Ok(TimeZone(name))
        } else {
            Err(InvalidTimeZone(name))
        }
    }
}

impl FromStr for TimeZone {
    type Err = InvalidTimeZone;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TimeZone::try_from(s.to_owned())
    }
}

impl From<TimeZone> for String {
    fn from(tz: TimeZone) -> String {
        tz.0
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `a, b or c`.
fn one_of(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [only] => (*only).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests;
