//! The `rendezvous.toml` file: raw serde form, validated into [`Config`].
//!
//! The shape is the one in `docs/contracts.md`. Unknown keys are refused, and every error
//! names the key that is wrong and the form it should take.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::client_ip::{Cidr, TrustedProxies};
use visavis_api::fleet::turn::{MAX_TTL_SECS, TurnMinter, TurnSecret, check_url};
use visavis_api::signaling::IceServer;

/// Default lifetime (and cap) of an invite: 15 minutes.
pub const DEFAULT_INVITE_TTL_SECS: u64 = 900;
/// Longest `invite_ttl_secs` accepted: one week.
pub const MAX_INVITE_TTL_SECS: u64 = 7 * 24 * 3600;

/// Default of `guest_hold_secs`: how long an admitted guest whose socket dropped keeps their
/// place (a 4G handover, a tunnel, a locked screen take a few seconds).
pub const DEFAULT_GUEST_HOLD_SECS: u64 = 20;
/// Longest `guest_hold_secs` accepted: the unit keeps a gone guest's call this long.
pub const MAX_GUEST_HOLD_SECS: u64 = 300;

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind. Loopback unless [`Config::tls`] is set.
    pub listen: SocketAddr,
    /// Base of invite links, without a trailing slash. `None`: derived from the bound address.
    pub public_url: Option<String>,
    /// Lifetime of an invite when the unit does not ask for less.
    pub invite_ttl_secs: u64,
    /// How long an admitted guest whose socket was lost (no `leave`, no normal close) keeps
    /// their place before the unit is told they left (see [`crate::hub`]). Zero: at once.
    pub guest_hold: std::time::Duration,
    /// Certificate and key files (PEM) when rendezvous terminates TLS itself.
    pub tls: Option<TlsFiles>,
    /// Token look-ups per client address.
    pub rate_limit: RateLimit,
    /// The fleet's enrollment key: it checks the one-time tokens units enroll with, and
    /// authorises fleet admin requests (`provision revoke`, `provision report`).
    pub enrollment_key: EnrollmentKey,
    /// The device registry (SQLite).
    pub database: PathBuf,
    /// STUN servers handed to admitted guests and units as they are (no credentials).
    pub ice_servers: Vec<IceServer>,
    /// TURN relays (coturn, `use-auth-secret`): credentials are minted per guest and per
    /// unit for every call. `None`: no relay, calls only connect where NATs allow.
    pub turn: Option<TurnMinter>,
    /// Proxies whose `X-Forwarded-For` names the client (see [`crate::client_ip`]).
    pub trusted_proxies: TrustedProxies,
    /// Caps on open connections (see [`crate::connections`]).
    pub connections: ConnectionLimits,
    /// How long sockets may stay quiet (not in the file: the defaults; tests shorten them).
    pub socket_timing: SocketTiming,
}

/// How long WebSockets may stay quiet before rendezvous closes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketTiming {
    /// A guest's socket must `join` within this (the page sends `join` as soon as it opens).
    pub join_deadline: std::time::Duration,
    /// Units' sockets.
    pub device: Liveness,
    /// Guests' sockets: the page pings every 4 s, so a phone gone silent is found out
    /// sooner than a unit, its place is held (or freed) and its unit hears of it.
    pub guest: Liveness,
}

/// How a socket is watched for a peer that has gone without a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liveness {
    /// A ping goes to the peer this often; browsers and units answer on their own (a
    /// browser does so even when the page's timers are slowed in the background). The
    /// silence is checked at each ping, so a silent peer is closed between `silent_for`
    /// and `silent_for + ping_every` after it was last heard.
    pub ping_every: std::time::Duration,
    /// A peer heard from (any frame, pongs included) less recently than this is gone.
    pub silent_for: std::time::Duration,
}

impl Default for SocketTiming {
    fn default() -> Self {
        SocketTiming {
            join_deadline: std::time::Duration::from_secs(30),
            device: Liveness {
                ping_every: std::time::Duration::from_secs(20),
                silent_for: std::time::Duration::from_secs(60),
            },
            // Three pings unanswered: gone after 15 to 20 s.
            guest: Liveness {
                ping_every: std::time::Duration::from_secs(5),
                silent_for: std::time::Duration::from_secs(15),
            },
        }
    }
}

/// `[connections]`: how many connections may be open at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionLimits {
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    #[serde(default = "default_max_per_address")]
    pub max_per_address: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: default_max_connections(),
            max_per_address: default_max_per_address(),
        }
    }
}

fn default_max_connections() -> usize {
    16_384
}

/// A mall's carrier NAT may put many guests behind one address: each needs two or three.
fn default_max_per_address() -> usize {
    128
}

/// `[turn]`: the relays and their shared secrets.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTurn {
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default)]
    secret_files: Vec<PathBuf>,
    #[serde(default)]
    ttl_secs: Option<u64>,
}

/// PEM files for TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Token bucket parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    #[serde(default = "default_burst")]
    pub burst: u32,
    #[serde(default = "default_per_minute")]
    pub per_minute: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            burst: default_burst(),
            per_minute: default_per_minute(),
        }
    }
}

fn default_burst() -> u32 {
    20
}

fn default_per_minute() -> u32 {
    30
}

pub use visavis_api::fleet::keys::EnrollmentKey;

/// Default place of the device registry.
pub const DEFAULT_DATABASE: &str = "/var/lib/visavis-rendezvous/registry.sqlite3";

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{key}: {problem}")]
    Invalid { key: String, problem: String },
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        problem: problem.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: String,
    #[serde(default)]
    public_url: Option<String>,
    #[serde(default)]
    invite_ttl_secs: Option<u64>,
    #[serde(default)]
    guest_hold_secs: Option<u64>,
    #[serde(default)]
    tls_cert: Option<PathBuf>,
    #[serde(default)]
    tls_key: Option<PathBuf>,
    #[serde(default)]
    rate_limit: RateLimit,
    #[serde(default)]
    enrollment_key_file: Option<PathBuf>,
    #[serde(default)]
    database: Option<PathBuf>,
    /// Only to explain that it is gone.
    #[serde(default)]
    devices: Option<toml::Value>,
    #[serde(default)]
    ice_servers: Vec<IceServer>,
    #[serde(default)]
    turn: Option<RawTurn>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    #[serde(default)]
    connections: ConnectionLimits,
}

impl Config {
    /// Read and validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let credentials = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
        Config::parse_with(&text, base, credentials.as_deref()).map_err(|e| match e {
            ConfigError::Parse { source, .. } => ConfigError::Parse {
                path: path.to_owned(),
                source,
            },
            other => other,
        })
    }

    /// Parse and validate config text; relative paths are taken from `base` (the config
    /// file's folder).
    pub fn parse_in(text: &str, base: &Path) -> Result<Config, ConfigError> {
        Config::parse_with(text, base, None)
    }

    /// [`Config::parse_in`], with systemd's credentials folder (`$CREDENTIALS_DIRECTORY`):
    /// without `enrollment_key_file`, the key is its `enrollment.key` (the unit's
    /// `LoadCredential=enrollment.key:...`), so the service never reads the key's own file.
    pub fn parse_with(
        text: &str,
        base: &Path,
        credentials: Option<&Path>,
    ) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("config"),
            source: Box::new(e),
        })?;
        raw.validate(base, credentials)
    }

    /// A loopback config for tests and demos: the given fleet key and registry file,
    /// defaults elsewhere.
    pub fn loopback(enrollment_key: [u8; 32], database: PathBuf) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            invite_ttl_secs: DEFAULT_INVITE_TTL_SECS,
            guest_hold: std::time::Duration::from_secs(DEFAULT_GUEST_HOLD_SECS),
            tls: None,
            rate_limit: RateLimit::default(),
            enrollment_key: EnrollmentKey(enrollment_key),
            database,
            ice_servers: Vec::new(),
            turn: None,
            trusted_proxies: TrustedProxies::default(),
            connections: ConnectionLimits::default(),
            socket_timing: SocketTiming::default(),
        }
    }
}

impl RawConfig {
    fn validate(self, base: &Path, credentials: Option<&Path>) -> Result<Config, ConfigError> {
        if self.devices.is_some() {
            return Err(invalid(
                "devices",
                "units no longer have shared secrets: remove [[devices]]. Each unit enrolls its own key \
                 with the one-time token in its seed (`provision bundle`); set enrollment_key_file \
                 to the fleet's enrollment key instead",
            ));
        }
        let listen: SocketAddr = self.listen.parse().map_err(|_| {
            invalid(
                "listen",
                format!(
                    "expected an IP address and port such as \"127.0.0.1:8443\" (port 0 picks a free port), got {:?}",
                    self.listen
                ),
            )
        })?;

        let tls = match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(invalid(
                    "tls_key",
                    "tls_cert is set but tls_key is not: give both PEM files or neither",
                ));
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "tls_cert",
                    "tls_key is set but tls_cert is not: give both PEM files or neither",
                ));
            }
        };
        if tls.is_none() && !listen.ip().is_loopback() {
            return Err(invalid(
                "listen",
                format!(
                    "{listen} is not a loopback address, and guests' cameras need HTTPS: set tls_cert and tls_key, or listen on 127.0.0.1 behind a TLS proxy"
                ),
            ));
        }

        let public_url = self.public_url.map(check_public_url).transpose()?;

        let invite_ttl_secs = self.invite_ttl_secs.unwrap_or(DEFAULT_INVITE_TTL_SECS);
        if !(1..=MAX_INVITE_TTL_SECS).contains(&invite_ttl_secs) {
            return Err(invalid(
                "invite_ttl_secs",
                format!(
                    "expected a number of seconds from 1 to {MAX_INVITE_TTL_SECS} (default {DEFAULT_INVITE_TTL_SECS}), got {invite_ttl_secs}"
                ),
            ));
        }

        let guest_hold_secs = self.guest_hold_secs.unwrap_or(DEFAULT_GUEST_HOLD_SECS);
        if guest_hold_secs > MAX_GUEST_HOLD_SECS {
            return Err(invalid(
                "guest_hold_secs",
                format!(
                    "expected a number of seconds from 0 (a guest whose connection drops leaves \
                     at once) to {MAX_GUEST_HOLD_SECS} (default {DEFAULT_GUEST_HOLD_SECS}), got {guest_hold_secs}"
                ),
            ));
        }

        if self.rate_limit.burst == 0 {
            return Err(invalid(
                "rate_limit.burst",
                "expected a positive whole number (default 20), got 0",
            ));
        }
        if self.rate_limit.per_minute == 0 {
            return Err(invalid(
                "rate_limit.per_minute",
                "expected a positive whole number (default 30), got 0",
            ));
        }

        for (i, server) in self.ice_servers.iter().enumerate() {
            if server.urls.is_empty() {
                return Err(invalid(
                    format!("ice_servers[{i}].urls"),
                    "expected at least one URL such as \"stun:stun.example.org:3478\"",
                ));
            }
            for (j, url) in server.urls.iter().enumerate() {
                check_url(url).map_err(|p| invalid(format!("ice_servers[{i}].urls[{j}]"), p))?;
                if url.starts_with("turn") {
                    return Err(invalid(
                        format!("ice_servers[{i}].urls[{j}]"),
                        "a TURN relay with a fixed password would hand that password to every \
                         guest's browser: list TURN URLs under [turn] with secret_files, and \
                         rendezvous mints short-lived credentials for each call",
                    ));
                }
            }
            if server.username.is_some() || server.credential.is_some() {
                return Err(invalid(
                    format!("ice_servers[{i}]"),
                    "STUN servers take no username or credential: remove them (TURN relays \
                     go under [turn])",
                ));
            }
        }

        if self.connections.max_connections == 0 {
            return Err(invalid(
                "connections.max_connections",
                "expected a positive whole number (default 16384), got 0",
            ));
        }
        if self.connections.max_per_address == 0 {
            return Err(invalid(
                "connections.max_per_address",
                "expected a positive whole number (default 128), got 0",
            ));
        }
        let trusted_proxies = TrustedProxies(
            self.trusted_proxies
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    s.parse::<Cidr>().map_err(|p| {
                        invalid(
                            format!("trusted_proxies[{i}]"),
                            format!("{p}: list the proxies in front of rendezvous, e.g. [\"127.0.0.1\", \"::1\"]"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        );

        let resolve = |p: PathBuf| if p.is_relative() { base.join(p) } else { p };
        let turn = self.turn.map(|t| validate_turn(t, &resolve)).transpose()?;
        let credential = credentials
            .map(|dir| dir.join(ENROLLMENT_KEY_CREDENTIAL))
            .filter(|p| p.is_file());
        let key_file = self
            .enrollment_key_file
            .map(resolve)
            .or(credential)
            .ok_or_else(|| {
                invalid(
                    "enrollment_key_file",
                    "missing: the file with the fleet's enrollment key, which checks the tokens \
                     units enroll with (create one with `provision keygen <path>`, mode 0600), or \
                     the systemd credential `enrollment.key` (LoadCredential=enrollment.key:<path>)",
                )
            })?;
        let enrollment_key = visavis_api::fleet::keys::read_key_file(&key_file)
            .map(EnrollmentKey)
            .map_err(key_file_problem)?;
        let database = self
            .database
            .map(resolve)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATABASE));

        Ok(Config {
            listen,
            public_url,
            invite_ttl_secs,
            guest_hold: std::time::Duration::from_secs(guest_hold_secs),
            tls,
            rate_limit: self.rate_limit,
            enrollment_key,
            database,
            ice_servers: self.ice_servers,
            turn,
            trusted_proxies,
            connections: self.connections,
            socket_timing: SocketTiming::default(),
        })
    }
}

/// `[turn]` checked: URLs well formed, one or two secret files readable and private (the
/// first mints; a second one is the other half of a rotation, see
/// [`visavis_api::fleet::turn`]), a lifetime of at most an hour.
fn validate_turn(
    raw: RawTurn,
    resolve: &dyn Fn(PathBuf) -> PathBuf,
) -> Result<TurnMinter, ConfigError> {
    if !raw.urls.iter().any(|u| u.starts_with("turn")) {
        return Err(invalid(
            "turn.urls",
            "expected the relays' turn: and turns: URLs, e.g. [\"turn:turn.example.com:3478?transport=udp\", \
             \"turn:turn.example.com:3478?transport=tcp\", \"turns:turn.example.com:443?transport=tcp\"]",
        ));
    }
    for (i, url) in raw.urls.iter().enumerate() {
        check_url(url).map_err(|p| invalid(format!("turn.urls[{i}]"), p))?;
    }
    if !(1..=2).contains(&raw.secret_files.len()) {
        return Err(invalid(
            "turn.secret_files",
            format!(
                "expected one file with the relays' static-auth-secret, or two while rotating \
                 it (the first mints), got {}",
                raw.secret_files.len()
            ),
        ));
    }
    let mut secrets = Vec::new();
    for (i, path) in raw.secret_files.into_iter().enumerate() {
        let secret = TurnSecret::read(&resolve(path))
            .map_err(|e| invalid(format!("turn.secret_files[{i}]"), e.to_string()))?;
        secrets.push(secret);
    }
    let ttl_secs = raw.ttl_secs.unwrap_or(MAX_TTL_SECS);
    if !(60..=MAX_TTL_SECS).contains(&ttl_secs) {
        return Err(invalid(
            "turn.ttl_secs",
            format!(
                "expected seconds from 60 to {MAX_TTL_SECS} (default {MAX_TTL_SECS}), got {ttl_secs}"
            ),
        ));
    }
    Ok(TurnMinter {
        urls: raw.urls,
        secret: secrets.swap_remove(0),
        ttl_secs,
    })
}

/// The systemd credential holding the enrollment key when the config names no file.
pub const ENROLLMENT_KEY_CREDENTIAL: &str = "enrollment.key";

/// `enrollment_key_file` could not be used: say why, and what to do.
fn key_file_problem(e: visavis_api::fleet::keys::KeyError) -> ConfigError {
    use visavis_api::fleet::keys::KeyError;
    let hint = match &e {
        KeyError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            ": copy the fleet's enrollment key there (mode 0600), or create a new one with \
             `provision keygen <path>`"
        }
        KeyError::Malformed { .. } => ": it must be the file `provision keygen <path>` wrote",
        // `Exposed` already says which chmod to run.
        _ => "",
    };
    invalid("enrollment_key_file", format!("{e}{hint}"))
}

fn check_public_url(url: String) -> Result<String, ConfigError> {
    let trimmed = url.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    let ok = match rest {
        Some(host) => {
            !host.is_empty()
                && !host.contains(['/', '?', '#', ' '])
                && !host.chars().any(char::is_control)
        }
        None => false,
    };
    if !ok {
        return Err(invalid(
            "public_url",
            format!(
                "expected a base URL such as \"https://visavis.example.com\" (http:// or https://, host and optional port, no path), got {url:?}"
            ),
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder with a valid enrollment key file (0600) in it.
    fn key_dir() -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!(
            "visavis-rdv-config-{}",
            visavis_api::fleet::b64(&visavis_api::fleet::random::<6>())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("enrollment.key");
        std::fs::write(&key, format!("{}\n", visavis_api::fleet::b64(&[7u8; 32]))).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        dir
    }

    fn base() -> String {
        "listen = \"127.0.0.1:0\"\nenrollment_key_file = \"enrollment.key\"\n".to_owned()
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse_in(text, &key_dir())
    }

    fn error_of(text: &str) -> String {
        match parse(text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn contract_example_parses_with_defaults() {
        let c = parse(&base()).unwrap();
        assert_eq!(c.invite_ttl_secs, 900);
        assert_eq!(c.guest_hold, std::time::Duration::from_secs(20));
        assert_eq!(
            c.rate_limit,
            RateLimit {
                burst: 20,
                per_minute: 30
            }
        );
        assert_eq!(c.enrollment_key, EnrollmentKey([7u8; 32]));
        assert!(!format!("{c:?}").contains(&visavis_api::fleet::b64(&[7u8; 32])));
        assert_eq!(c.database, PathBuf::from(DEFAULT_DATABASE));
        assert!(c.public_url.is_none());
        assert!(c.ice_servers.is_empty());
    }

    #[test]
    fn relative_paths_are_taken_from_the_config_folder() {
        let dir = key_dir();
        let c = Config::parse_in(&format!("{}database = \"r.sqlite3\"\n", base()), &dir).unwrap();
        assert_eq!(c.database, dir.join("r.sqlite3"));
    }

    #[test]
    fn the_enrollment_key_is_required_and_shared_secrets_are_gone() {
        let e = error_of("listen = \"127.0.0.1:0\"\n");
        assert!(
            e.starts_with("enrollment_key_file:") && e.contains("provision keygen"),
            "{e}"
        );
        let e = error_of(&format!("{}[[devices]]\nid = \"u\"\n", base()));
        assert!(e.starts_with("devices:") && e.contains("enroll"), "{e}");
        let e = error_of(&base().replace("enrollment.key", "missing.key"));
        assert!(
            e.starts_with("enrollment_key_file:")
                && e.contains("missing.key")
                && e.contains("provision keygen"),
            "{e}"
        );
    }

    #[test]
    fn without_a_key_file_the_systemd_credential_is_the_key() {
        let text = "listen = \"127.0.0.1:0\"\n";
        let empty = key_dir().join("no-credentials");
        std::fs::create_dir_all(&empty).unwrap();
        let e = Config::parse_with(text, &empty, Some(&empty))
            .unwrap_err()
            .to_string();
        assert!(e.contains("LoadCredential=enrollment.key"), "{e}");
        // systemd's credentials folder holds `enrollment.key`, as key_dir() does.
        let creds = key_dir();
        let c = Config::parse_with(text, &empty, Some(&creds)).unwrap();
        assert_eq!(c.enrollment_key, EnrollmentKey([7u8; 32]));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let c = parse(&format!(
            "{}trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n",
            base()
        ))
        .unwrap();
        assert_eq!(c.trusted_proxies.0.len(), 2);
        let e = error_of(&format!(
            "{}trusted_proxies = [\"::1\", \"proxy.local\"]\n",
            base()
        ));
        assert!(e.starts_with("trusted_proxies[1]: `proxy.local`"), "{e}");
        let e = error_of(&format!("{}trusted_proxies = [\"10.0.0.0/40\"]\n", base()));
        assert!(e.contains("prefix length must be 0 to 32"), "{e}");
    }

    #[test]
    fn the_packaged_default_config_runs_with_the_units_credential() {
        let shipped = include_str!("../../packaging/rendezvous.toml");
        let creds = key_dir();
        let c = Config::parse_with(shipped, Path::new("/etc/visavis"), Some(&creds)).unwrap();
        assert!(c.listen.ip().is_loopback());
        assert_eq!(c.database, PathBuf::from(DEFAULT_DATABASE));
        assert_eq!(c.enrollment_key, EnrollmentKey([7u8; 32]));
        let local = "127.0.0.1".parse().unwrap();
        assert!(
            c.trusted_proxies.0.iter().any(|p| p.contains(local)),
            "the shipped config trusts its local proxy"
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = error_of(&format!("colour = \"blue\"\n{}", base()));
        assert!(e.contains("colour"), "{e}");
        let e = error_of(&format!("{}[rate_limit]\nbursts = 3\n", base()));
        assert!(e.contains("bursts"), "{e}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = error_of(&base().replace("127.0.0.1:0", "localhost"));
        assert!(e.starts_with("listen:"), "{e}");
        let e = error_of(&format!("public_url = \"ftp://x\"\n{}", base()));
        assert!(e.starts_with("public_url:"), "{e}");
        let e = error_of(&format!("invite_ttl_secs = 0\n{}", base()));
        assert!(e.starts_with("invite_ttl_secs:"), "{e}");
        let e = error_of(&format!("guest_hold_secs = 301\n{}", base()));
        assert!(e.starts_with("guest_hold_secs:"), "{e}");
        assert!(e.contains("from 0") && e.contains("got 301"), "{e}");
        let c = parse(&format!("guest_hold_secs = 0\n{}", base())).unwrap();
        assert_eq!(c.guest_hold, std::time::Duration::ZERO);
        let e = error_of(&format!("tls_cert = \"c.pem\"\n{}", base()));
        assert!(e.starts_with("tls_key:"), "{e}");
    }

    #[test]
    fn public_listen_needs_tls() {
        let e = error_of(&base().replace("127.0.0.1:0", "0.0.0.0:8443"));
        assert!(e.contains("tls_cert"), "{e}");
        let ok = format!(
            "tls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n{}",
            base().replace("127.0.0.1:0", "0.0.0.0:8443")
        );
        assert!(parse(&ok).unwrap().tls.is_some());
    }

    #[test]
    fn public_url_loses_its_trailing_slash() {
        let c = parse(&format!("public_url = \"https://v.example/\"\n{}", base())).unwrap();
        assert_eq!(c.public_url.as_deref(), Some("https://v.example"));
    }

    /// A config with `[turn]` whose secret files are written in `dir` with `mode`.
    fn with_turn(
        dir: &Path,
        files: &[(&str, &str, u32)],
        extra: &str,
    ) -> Result<Config, ConfigError> {
        use std::os::unix::fs::PermissionsExt as _;
        for (name, text, mode) in files {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).unwrap();
        }
        let names: Vec<String> = files.iter().map(|(n, _, _)| format!("{n:?}")).collect();
        let text = format!(
            "{}[turn]\nurls = [\"stun:198.18.0.3:3478\", \"turn:198.18.0.3:3478?transport=udp\", \"turns:198.18.0.3:443?transport=tcp\"]\nsecret_files = [{}]\n{extra}",
            base(),
            names.join(", ")
        );
        Config::parse_in(&text, dir)
    }

    #[test]
    fn turn_mints_with_the_first_of_two_secrets() {
        let dir = key_dir();
        let c = with_turn(
            &dir,
            &[
                ("turn-new", "new-secret-0123456789\n", 0o600),
                ("turn-old", "old-secret-0123456789\n", 0o600),
            ],
            "",
        )
        .unwrap();
        let minter = c.turn.unwrap();
        assert_eq!(minter.ttl_secs, 3600);
        let servers = minter.ice_servers("g", 100);
        let expected = TurnSecret::new("new-secret-0123456789").credentials("g", 3700);
        assert_eq!(servers[1].credential.as_deref(), Some(expected.1.as_str()));
    }

    #[test]
    fn turn_secrets_missing_exposed_or_too_many_are_refused_by_key() {
        let dir = key_dir();
        let e = with_turn(&dir, &[], "").unwrap_err().to_string();
        assert!(e.starts_with("turn.secret_files:"), "{e}");
        let e = Config::parse_in(
            &format!(
                "{}[turn]\nurls = [\"turn:h:3478\"]\nsecret_files = [\"absent\"]\n",
                base()
            ),
            &dir,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("turn.secret_files[0]:") && e.contains("cannot read"),
            "{e}"
        );
        let e = with_turn(&dir, &[("open", "open-secret-0123456789", 0o644)], "")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("turn.secret_files[0]:") && e.contains("chmod 600"),
            "{e}"
        );
        let three = [
            ("a", "a-secret-0123456789", 0o600),
            ("b", "b-secret-0123456789", 0o600),
            ("c", "c-secret-0123456789", 0o600),
        ];
        let e = with_turn(&dir, &three, "").unwrap_err().to_string();
        assert!(e.starts_with("turn.secret_files:"), "{e}");
        let e = with_turn(
            &dir,
            &[("s", "s-secret-0123456789", 0o600)],
            "ttl_secs = 86400\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("turn.ttl_secs:"), "{e}");
    }

    #[test]
    fn a_fixed_turn_password_is_refused() {
        let e = error_of(&format!(
            "{}[[ice_servers]]\nurls = [\"turn:h:3478\"]\nusername = \"u\"\ncredential = \"p\"\n",
            base()
        ));
        assert!(
            e.starts_with("ice_servers[0].urls[0]:") && e.contains("[turn]"),
            "{e}"
        );
        let e = error_of(&format!(
            "{}[[ice_servers]]\nurls = [\"stun:h:3478\"]\ncredential = \"p\"\n",
            base()
        ));
        assert!(e.starts_with("ice_servers[0]:"), "{e}");
    }
}
