//! The `rendezvous.toml` file: raw serde form, validated into [`Config`].
//!
//! The shape is the one in `docs/contracts.md`. Unknown keys are refused, and every error
//! names the key that is wrong and the form it should take.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use visavis_api::signaling::IceServer;

/// Default lifetime (and cap) of an invite: 15 minutes.
pub const DEFAULT_INVITE_TTL_SECS: u64 = 900;
/// Longest `invite_ttl_secs` accepted: one week.
pub const MAX_INVITE_TTL_SECS: u64 = 7 * 24 * 3600;

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind. Loopback unless [`Config::tls`] is set.
    pub listen: SocketAddr,
    /// Base of invite links, without a trailing slash. `None`: derived from the bound address.
    pub public_url: Option<String>,
    /// Lifetime of an invite when the unit does not ask for less.
    pub invite_ttl_secs: u64,
    /// Certificate and key files (PEM) when rendezvous terminates TLS itself.
    pub tls: Option<TlsFiles>,
    /// Token look-ups per client address.
    pub rate_limit: RateLimit,
    /// Units allowed to connect.
    pub devices: Vec<Device>,
    /// STUN/TURN servers handed to admitted guests (an extension of the contract; default none).
    pub ice_servers: Vec<IceServer>,
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

/// A unit allowed to connect, and the SHA-256 of its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub secret_sha256: [u8; 32],
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

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
    tls_cert: Option<PathBuf>,
    #[serde(default)]
    tls_key: Option<PathBuf>,
    #[serde(default)]
    rate_limit: RateLimit,
    #[serde(default)]
    devices: Vec<RawDevice>,
    #[serde(default)]
    ice_servers: Vec<IceServer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDevice {
    id: String,
    secret_sha256: String,
}

impl Config {
    /// Read and validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text).map_err(|e| match e {
            ConfigError::Parse { source, .. } => ConfigError::Parse {
                path: path.to_owned(),
                source,
            },
            other => other,
        })
    }

    /// Parse and validate config text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("config"),
            source: Box::new(e),
        })?;
        raw.validate()
    }

    /// A loopback config for tests and demos: one device, defaults elsewhere.
    pub fn loopback(device_id: &str, secret: &str) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            invite_ttl_secs: DEFAULT_INVITE_TTL_SECS,
            tls: None,
            rate_limit: RateLimit::default(),
            devices: vec![Device {
                id: device_id.to_owned(),
                secret_sha256: crate::token::sha256(secret.as_bytes()),
            }],
            ice_servers: Vec::new(),
        }
    }
}

impl RawConfig {
    fn validate(self) -> Result<Config, ConfigError> {
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

        let mut devices: Vec<Device> = Vec::with_capacity(self.devices.len());
        for (i, raw) in self.devices.into_iter().enumerate() {
            let device = raw.validate(i)?;
            if devices.iter().any(|d| d.id == device.id) {
                return Err(invalid(
                    format!("devices[{i}].id"),
                    format!(
                        "{:?} is listed twice: each unit needs its own id",
                        device.id
                    ),
                ));
            }
            devices.push(device);
        }

        for (i, server) in self.ice_servers.iter().enumerate() {
            if server.urls.is_empty() {
                return Err(invalid(
                    format!("ice_servers[{i}].urls"),
                    "expected at least one URL such as \"stun:stun.example.org:3478\"",
                ));
            }
        }

        Ok(Config {
            listen,
            public_url,
            invite_ttl_secs,
            tls,
            rate_limit: self.rate_limit,
            devices,
            ice_servers: self.ice_servers,
        })
    }
}

impl RawDevice {
    fn validate(self, i: usize) -> Result<Device, ConfigError> {
        let id = self.id.trim();
        if id.is_empty() || id.len() > 64 || id.chars().any(char::is_control) {
            return Err(invalid(
                format!("devices[{i}].id"),
                format!(
                    "expected 1 to 64 printable characters such as \"demo-unit\", got {:?}",
                    self.id
                ),
            ));
        }
        let mut secret_sha256 = [0u8; 32];
        let hex_ok = self.secret_sha256.len() == 64
            && hex::decode_to_slice(&self.secret_sha256, &mut secret_sha256).is_ok();
        if !hex_ok {
            return Err(invalid(
                format!("devices[{i}].secret_sha256"),
                format!(
                    "expected 64 hex characters, the SHA-256 of the unit's secret (e.g. `sha256sum < device-secret`), got {} characters",
                    self.secret_sha256.chars().count()
                ),
            ));
        }
        Ok(Device {
            id: id.to_owned(),
            secret_sha256,
        })
    }
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

    const HASH: &str = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";

    fn base() -> String {
        format!(
            "listen = \"127.0.0.1:0\"\n[[devices]]\nid = \"demo-unit\"\nsecret_sha256 = \"{HASH}\"\n"
        )
    }

    fn error_of(text: &str) -> String {
        match Config::parse(text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn contract_example_parses_with_defaults() {
        let c = Config::parse(&base()).unwrap();
        assert_eq!(c.invite_ttl_secs, 900);
        assert_eq!(
            c.rate_limit,
            RateLimit {
                burst: 20,
                per_minute: 30
            }
        );
        assert_eq!(c.devices[0].id, "demo-unit");
        assert_eq!(hex::encode(c.devices[0].secret_sha256), HASH);
        assert!(c.public_url.is_none());
        assert!(c.ice_servers.is_empty());
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
        let e = error_of("listen = \"localhost\"");
        assert!(e.starts_with("listen:"), "{e}");
        let e = error_of(&base().replace(HASH, "abc"));
        assert!(e.starts_with("devices[0].secret_sha256:"), "{e}");
        let e = error_of(&format!("public_url = \"ftp://x\"\n{}", base()));
        assert!(e.starts_with("public_url:"), "{e}");
        let e = error_of(&format!("invite_ttl_secs = 0\n{}", base()));
        assert!(e.starts_with("invite_ttl_secs:"), "{e}");
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
        assert!(Config::parse(&ok).unwrap().tls.is_some());
    }

    #[test]
    fn public_url_loses_its_trailing_slash() {
        let c = Config::parse(&format!("public_url = \"https://v.example/\"\n{}", base())).unwrap();
        assert_eq!(c.public_url.as_deref(), Some("https://v.example"));
    }
}
