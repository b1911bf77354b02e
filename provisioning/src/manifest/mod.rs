//! The fleet manifest: one unit per row, as CSV (a spreadsheet export) or TOML.
//!
//! CSV: a header row naming the columns, then one unit per line; row numbers are line
//! numbers (the header is row 1). TOML: `[[device]]` tables whose keys are the same column
//! names, plus an optional `[defaults]` table merged under every device; "row N" is the
//! N-th `[[device]]`. Every problem is collected, with its row and column, so one run of
//! `provision validate` lists them all.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;
use visavis_api::fleet::check_device_id;
use visavis_api::fleet::keys::EnrollmentKey;
use visavis_api::fleet::seed::{Secret, Turn, Wifi};
use visavis_api::{Mode, Orientation, TimeZone};

use crate::secret_ref::{SecretError, SecretRef};

/// Every column, in the order the docs list them.
pub const COLUMNS: [&str; 14] = [
    "device_id",
    "store",
    "location",
    "mode",
    "orientation",
    "timezone",
    "rendezvous_url",
    "wifi_ssid",
    "wifi_country",
    "wifi_key",
    "turn_uris",
    "turn_secret",
    "enrollment_key",
    "staff_pin",
];

/// Columns every row must fill.
pub const REQUIRED: [&str; 7] = [
    "device_id",
    "store",
    "location",
    "mode",
    "timezone",
    "rendezvous_url",
    "enrollment_key",
];

/// Something wrong with the manifest, where it is, and what is expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// CSV line (header = 1) or the N-th `[[device]]`; `None` for the whole file.
    pub row: Option<usize>,
    pub column: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.row, &self.column) {
            (Some(r), Some(c)) => write!(f, "row {r}, column {c}: {}", self.message),
            (Some(r), None) => write!(f, "row {r}: {}", self.message),
            (None, Some(c)) => write!(f, "column {c}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

fn problem(row: Option<usize>, column: Option<&str>, message: impl Into<String>) -> Problem {
    Problem {
        row,
        column: column.map(str::to_owned),
        message: message.into(),
    }
}

/// One row as written: column → cell (trimmed; empty cells left out).
#[derive(Debug, Clone)]
pub struct RawRow {
    pub row: usize,
    pub cells: BTreeMap<String, String>,
}

/// A valid row, secrets resolved.
#[derive(Debug, Clone)]
pub struct Device {
    pub row: usize,
    pub device_id: String,
    pub store: String,
    pub location: String,
    pub mode: Mode,
    /// As written, or the mode's default.
    pub orientation: Orientation,
    pub timezone: TimeZone,
    pub rendezvous_url: String,
    pub wifi: Option<Wifi>,
    pub turn: Option<Turn>,
    pub enrollment_key: EnrollmentKey,
    /// The staff screen's PIN; without one, nobody opens the staff screen until a PIN
    /// file is written on the unit.
    pub staff_pin: Option<Secret>,
}

/// Read a manifest; `.toml` files are TOML, anything else CSV.
pub fn load(path: &Path) -> Result<Vec<RawRow>, Vec<Problem>> {
    let bytes = std::fs::read(path).map_err(|e| {
        vec![problem(
            None,
            None,
            format!("cannot read {}: {e}", path.display()),
        )]
    })?;
    parse(&bytes, path.extension().is_some_and(|e| e == "toml"))
}

/// A manifest's bytes as [`load`] reads them (`toml`: the file is `.toml`), without the
/// file: what the fuzzer drives.
pub fn parse(bytes: &[u8], toml: bool) -> Result<Vec<RawRow>, Vec<Problem>> {
    if toml {
        let text = std::str::from_utf8(bytes).map_err(|_| {
            vec![problem(
                None,
                None,
                "the file is not UTF-8 text: save it as UTF-8",
            )]
        })?;
        load_toml(text)
    } else if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        Err(vec![problem(
            None,
            None,
            "this file is UTF-16 (a spreadsheet's \"Unicode text\"): export it again as \
             \"CSV UTF-8\" (or plain CSV)",
        )])
    } else {
        load_csv(&decode(bytes))
    }
}

/// A spreadsheet's CSV export as text: UTF-8 (its byte order mark dropped), or else
/// Windows-1252, which spreadsheet programs in Western European locales write for plain
/// "CSV" (and of which Latin-1 is a part).
fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
}

/// One Windows-1252 byte as a character (the five bytes it leaves undefined as themselves).
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// The delimiter a CSV export uses: the one whose header row splits into the most known
/// column names (a French or German spreadsheet writes `;`, some tools a tab).
fn delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    let known = |d: u8| {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(d)
            .from_reader(header.as_bytes())
            .records()
            .next()
            .and_then(Result::ok)
            .map_or(0, |r| {
                r.iter()
                    .filter(|c| COLUMNS.contains(&normalise_column(c).as_str()))
                    .count()
            })
    };
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&d| (known(d), header.bytes().filter(|&c| c == d).count()))
        .unwrap_or(b',')
}

/// A header cell as a column name: trimmed, lower case.
fn normalise_column(cell: &str) -> String {
    cell.trim().to_lowercase()
}

fn check_columns<'a>(
    names: impl Iterator<Item = &'a str>,
    row: Option<usize>,
    problems: &mut Vec<Problem>,
) {
    for name in names {
        if !COLUMNS.contains(&name) {
            problems.push(problem(
                row,
                Some(name),
                format!("unknown column; the columns are: {}", COLUMNS.join(", ")),
            ));
        }
    }
}

fn load_csv(text: &str) -> Result<Vec<RawRow>, Vec<Problem>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delimiter(text))
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(normalise_column).collect(),
        Err(e) => {
            return Err(vec![problem(
                Some(1),
                None,
                format!("unreadable header: {e}"),
            )]);
        }
    };
    let mut problems = Vec::new();
    check_columns(header.iter().map(String::as_str), Some(1), &mut problems);
    for required in REQUIRED {
        if !header.iter().any(|h| h == required) {
            problems.push(problem(
                Some(1),
                Some(required),
                "missing column: every unit needs it (add it to the header row)",
            ));
        }
    }
    let mut rows = Vec::new();
    // Rows as the spreadsheet numbers them: the header is row 1, each record the next one
    // (a cell with a line break inside stays one row).
    for (index, record) in reader.records().enumerate() {
        let row = index + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(problem(Some(row), None, format!("unreadable row: {e}")));
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != header.len() {
            problems.push(problem(
                Some(row),
                None,
                format!(
                    "{} cells, but the header has {} columns (a missing or extra separator?)",
                    record.len(),
                    header.len()
                ),
            ));
            continue;
        }
        let cells = header
            .iter()
            .zip(record.iter())
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.to_owned()))
            .collect();
        rows.push(RawRow { row, cells });
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

fn load_toml(text: &str) -> Result<Vec<RawRow>, Vec<Problem>> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| vec![problem(None, None, format!("not valid TOML: {e}"))])?;
    let mut problems = Vec::new();
    for key in table.keys() {
        if key != "defaults" && key != "device" {
            problems.push(problem(
                None,
                Some(key),
                "unknown table: a TOML manifest has [defaults] and [[device]] tables",
            ));
        }
    }
    let cells_of = |t: &toml::Table, row: Option<usize>, problems: &mut Vec<Problem>| {
        check_columns(t.keys().map(String::as_str), row, problems);
        let mut cells = BTreeMap::new();
        for (k, v) in t {
            let text = match v {
                toml::Value::String(s) => s.trim().to_owned(),
                toml::Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                other => other.to_string(),
            };
            if !text.is_empty() {
                cells.insert(k.clone(), text);
            }
        }
        cells
    };
    let defaults = match table.get("defaults") {
        Some(toml::Value::Table(t)) => cells_of(t, None, &mut problems),
        Some(_) => {
            problems.push(problem(
                None,
                Some("defaults"),
                "must be a table: [defaults]",
            ));
            BTreeMap::new()
        }
        None => BTreeMap::new(),
    };
    let mut rows = Vec::new();
    match table.get("device") {
        Some(toml::Value::Array(devices)) => {
            for (i, d) in devices.iter().enumerate() {
                let row = i + 1;
                let Some(t) = d.as_table() else {
                    problems.push(problem(
                        Some(row),
                        None,
                        "each device is a [[device]] table",
                    ));
                    continue;
                };
                let mut cells = defaults.clone();
                cells.extend(cells_of(t, Some(row), &mut problems));
                rows.push(RawRow { row, cells });
            }
        }
        Some(_) => problems.push(problem(
            None,
            Some("device"),
            "devices are [[device]] tables",
        )),
        None => problems.push(problem(
            None,
            None,
            "no [[device]] tables: nothing to provision",
        )),
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// Validate every row; secrets are resolved once per reference. Returns the valid devices
/// and every problem found.
pub fn validate(rows: &[RawRow]) -> (Vec<Device>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut devices = Vec::new();
    // Ids that differ only in case are one unit to the people reading them.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut secrets: HashMap<String, Result<String, SecretError>> = HashMap::new();
    let mut keys: HashMap<String, Result<[u8; 32], SecretError>> = HashMap::new();
    for raw in rows {
        let before = problems.len();
        let row = Some(raw.row);
        let cell = |c: &str| raw.cells.get(c).map(String::as_str).unwrap_or("");
        let mut bad = |column: &str, message: String| {
            problems.push(problem(row, Some(column), message));
        };
        for required in REQUIRED {
            if cell(required).is_empty() {
                bad(required, "empty: every unit needs it".into());
            }
        }
        let device_id = cell("device_id");
        if !device_id.is_empty() {
            if let Err(e) = check_device_id(device_id) {
                bad("device_id", e.to_string());
            } else if let Some(first) = seen.get(&device_id.to_lowercase()) {
                bad(
                    "device_id",
                    format!(
                        "{device_id:?} is already used on row {first} (ids that differ only \
                         in case count as the same): each unit needs its own id"
                    ),
                );
            } else {
                seen.insert(device_id.to_lowercase(), raw.row);
            }
        }
        for column in ["store", "location"] {
            let v = cell(column);
            if v.chars().count() > 100 || v.chars().any(char::is_control) {
                bad(column, "at most 100 characters, on one line".into());
            }
        }
        // Empty cells were reported above; a value is parsed into its type or named.
        let filled = |column: &str| Some(cell(column)).filter(|v| !v.is_empty());
        let mode = filled("mode").and_then(|m| {
            m.parse::<Mode>()
                .map_err(|e| bad("mode", e.to_string()))
                .ok()
        });
        let orientation = match filled("orientation") {
            None => mode.map(Mode::default_orientation),
            Some(o) => o
                .parse::<Orientation>()
                .map_err(|e| bad("orientation", e.to_string()))
                .ok(),
        };
        let timezone = filled("timezone").and_then(|tz| {
            tz.parse::<TimeZone>()
                .map_err(|e| bad("timezone", e.to_string()))
                .ok()
        });
        let url = cell("rendezvous_url");
        if !url.is_empty()
            && let Err(e) = check_url(url)
        {
            bad("rendezvous_url", e.to_string());
        }
        let mut secret = |column: &str, bad: &mut dyn FnMut(&str, String)| -> Option<Secret> {
            let reference = match SecretRef::parse(cell(column)) {
                Ok(r) => r,
                Err(e) => {
                    bad(column, e.to_string());
                    return None;
                }
            };
            let value = secrets
                .entry(reference.to_string())
                .or_insert_with(|| reference.resolve());
            match value {
                Ok(v) => Some(Secret::new(v.clone())),
                Err(e) => {
                    bad(column, e.to_string());
                    None
                }
            }
        };
        let wifi = match (cell("wifi_ssid"), cell("wifi_country"), cell("wifi_key")) {
            ("", "", "") => None,
            ("", _, _) => {
                bad("wifi_ssid", "empty, but wifi_country or wifi_key is set: give the network's name, or clear them for a wired unit".into());
                None
            }
            (ssid, country, key) => {
                if ssid.len() > 32 {
                    bad(
                        "wifi_ssid",
                        "longer than 32 bytes: not a Wi-Fi network name".into(),
                    );
                }
                if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
                    bad(
                        "wifi_country",
                        format!(
                            "{country:?}: expected the country's two capital letters (ISO 3166), e.g. FR"
                        ),
                    );
                }
                if key.is_empty() {
                    bad(
                        "wifi_key",
                        "empty: give env:NAME or file:PATH for the network's key".into(),
                    );
                    None
                } else {
                    let key = secret("wifi_key", &mut bad);
                    if let Some(k) = &key
                        && !(8..=63).contains(&k.expose().len())
                    {
                        bad(
                            "wifi_key",
                            format!(
                                "the key in {} is {} characters; WPA2 needs 8 to 63",
                                cell("wifi_key"),
                                k.expose().len()
                            ),
                        );
                    }
                    key.map(|key| Wifi {
                        ssid: ssid.to_owned(),
                        country: country.to_owned(),
                        key,
                    })
                }
            }
        };
        let turn = match (cell("turn_uris"), cell("turn_secret")) {
            ("", "") => None,
            ("", _) => {
                bad(
                    "turn_uris",
                    "empty, but turn_secret is set: list the TURN URIs or clear the secret".into(),
                );
                None
            }
            (uris, reference) => {
                let uris: Vec<String> = uris
                    .split([' ', ';'])
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned)
                    .collect();
                for u in &uris {
                    if let Err(e) = check_turn_uri(u) {
                        bad("turn_uris", e.to_string());
                    }
                }
                if reference.is_empty() {
                    bad(
                        "turn_secret",
                        "empty: TURN URIs need the relay's shared secret (env:NAME or file:PATH)"
                            .into(),
                    );
                    None
                } else {
                    secret("turn_secret", &mut bad)
                        .filter(|secret| {
                            let min = visavis_api::fleet::turn::MIN_SECRET_LEN;
                            let ok = secret.expose().trim().len() >= min;
                            if !ok {
                                bad(
                                    "turn_secret",
                                    format!(
                                        "the secret in {reference} is shorter than {min} bytes: \
                                         use the relays' static-auth-secret (e.g. 32 random \
                                         characters)"
                                    ),
                                );
                            }
                            ok
                        })
                        .map(|secret| Turn { uris, secret })
                }
            }
        };
        let staff_pin = match cell("staff_pin") {
            "" => None,
            reference => secret("staff_pin", &mut bad).filter(|pin| {
                let digits = pin.expose();
                let ok =
                    (4..=8).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
                if !ok {
                    bad(
                        "staff_pin",
                        format!("the PIN in {reference} is not 4 to 8 digits"),
                    );
                }
                ok
            }),
        };
        let key_cell = cell("enrollment_key");
        let enrollment_key = if key_cell.is_empty() {
            None
        } else {
            match SecretRef::parse(key_cell) {
                Err(e) => {
                    bad("enrollment_key", e.to_string());
                    None
                }
                Ok(r) => match keys.entry(r.to_string()).or_insert_with(|| r.resolve_key()) {
                    Ok(k) => Some(EnrollmentKey(*k)),
                    Err(e) => {
                        bad("enrollment_key", e.to_string());
                        None
                    }
                },
            }
        };
        if problems.len() > before {
            continue;
        }
        if let (Some(enrollment_key), Some(mode), Some(orientation), Some(timezone)) =
            (enrollment_key, mode, orientation, timezone)
        {
            devices.push(Device {
                row: raw.row,
                device_id: device_id.to_owned(),
                store: cell("store").to_owned(),
                location: cell("location").to_owned(),
                mode,
                orientation,
                timezone,
                rendezvous_url: url.trim_end_matches('/').to_owned(),
                wifi,
                turn,
                enrollment_key,
                staff_pin,
            });
        }
    }
    (devices, problems)
}

const EXPECTED_URL: &str =
    "expected https://host[:port] (http:// only for 127.0.0.1, [::1] or localhost)";

/// Why a rendezvous URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("{0:?} is not a URL: {e}", e = EXPECTED_URL)]
    NotAUrl(String),
    #[error("{0:?}: {e}, with no path", e = EXPECTED_URL)]
    NotJustHost(String),
    #[error(
        "{0:?}: units only talk to rendezvous over TLS: use https:// ({e})",
        e = EXPECTED_URL
    )]
    PlainHttp(String),
    #[error("{0:?}: {e}", e = EXPECTED_URL)]
    Scheme(String),
}

/// A TURN URI that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a TURN URI: expected turn:host:port[?transport=udp|tcp] or turns:host:port")]
pub struct BadTurnUri(pub String);

/// `https://host[:port]`, or `http://` on a loopback host (for tests).
pub fn check_url(url: &str) -> Result<(), UrlError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| UrlError::NotAUrl(url.to_owned()))?;
    let host_port = rest.trim_end_matches('/');
    if host_port.is_empty() || host_port.contains(['/', '?', '#', ' ', '@']) {
        return Err(UrlError::NotJustHost(url.to_owned()));
    }
    let host = if host_port.starts_with('[') {
        host_port
            .split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or("").to_owned()
    };
    match scheme {
        "https" => Ok(()),
        "http" if ["127.0.0.1", "[::1]", "localhost"].contains(&host.as_str()) => Ok(()),
        "http" => Err(UrlError::PlainHttp(url.to_owned())),
        _ => Err(UrlError::Scheme(url.to_owned())),
    }
}

fn check_turn_uri(uri: &str) -> Result<(), BadTurnUri> {
    let rest = uri
        .strip_prefix("turns:")
        .or_else(|| uri.strip_prefix("turn:"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with(':') && !r.contains(' ') => Ok(()),
        _ => Err(BadTurnUri(uri.to_owned())),
    }
}

#[cfg(test)]
mod tests;
