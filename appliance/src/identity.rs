//! Who this unit is to rendezvous: its ed25519 key and, until it is enrolled, the one-time
//! enrollment token first boot took from the seed.
//!
//! Rendezvous opens every connection with a random challenge. A unit holding a token
//! answers [`DeviceToServer::Enroll`] (token, new public key, signature); rendezvous records
//! the key and the unit removes the token. From then on it answers
//! [`DeviceToServer::Hello`] with its signature alone. There is no shared device secret.

use std::path::{Path, PathBuf};

use visavis_api::PROTOCOL_VERSION;
use visavis_api::fleet::auth::challenge_message;
use visavis_api::fleet::enrollment;
use visavis_api::fleet::keys::{DeviceKey, KeyError};
use visavis_api::signaling::DeviceToServer;

use crate::config::Config;

/// Why the unit has no usable identity.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "the state directory {0} does not exist: create it (systemd's StateDirectory=visavis does) or set `state_dir` in the config"
    )]
    NoStateDir(PathBuf),
    #[error("the unit's key: {0}")]
    Key(#[from] KeyError),
}

/// The unit's key and where its enrollment token is kept.
#[derive(Debug)]
pub struct Identity {
    device_id: String,
    key: DeviceKey,
    token_path: PathBuf,
}

impl Identity {
    /// Load the unit's key from the state directory, creating it on first use.
    pub fn load(config: &Config) -> Result<Self, IdentityError> {
        if !config.state_dir.is_dir() {
            return Err(IdentityError::NoStateDir(config.state_dir.clone()));
        }
        let key = DeviceKey::load_or_create(&config.device_key_path())?;
        Ok(Identity {
            device_id: config.device_id.clone(),
            key,
            token_path: config.enrollment_token_path(),
        })
    }

    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The unit's public key, base64url.
    pub fn public_key(&self) -> String {
        self.key.public_key()
    }

    /// The answer to a challenge: enroll while a token is waiting, hello otherwise.
    /// `Err` carries a problem for the staff screen (the answer is then a hello).
    pub fn answer(&self, challenge: &str) -> (DeviceToServer, Option<String>) {
        let signature = self
            .key
            .sign(&challenge_message(&self.device_id, challenge));
        let hello = DeviceToServer::Hello {
            device_id: self.device_id.clone(),
            protocol: PROTOCOL_VERSION,
            signature: signature.clone(),
        };
        let Some(token) = read_token(&self.token_path) else {
            return (hello, None);
        };
        match enrollment::peek(&token) {
            Ok(claims) if claims.device_id == self.device_id => (
                DeviceToServer::Enroll {
                    protocol: PROTOCOL_VERSION,
                    token,
                    public_key: self.public_key(),
                    signature,
                },
                None,
            ),
            Ok(claims) => (
                hello,
                Some(format!(
                    "the enrollment token in {} is for unit {:?}, but this unit is {:?}: write this unit's own seed and reboot",
                    self.token_path.display(),
                    claims.device_id,
                    self.device_id
                )),
            ),
            Err(e) => (
                hello,
                Some(format!(
                    "the enrollment token in {}: {e}",
                    self.token_path.display()
                )),
            ),
        }
    }

    /// Whether an enrollment token is waiting to be used.
    pub fn enrolling(&self) -> bool {
        self.token_path.exists()
    }

    /// Rendezvous accepted the enrollment: the token is used up, remove it.
    pub fn enrolled(&self) {
        match std::fs::remove_file(&self.token_path) {
            Ok(()) => {
                sync_dir(&self.token_path);
                tracing::info!(
                    public_key = %self.public_key(),
                    "enrolled with rendezvous; the one-time enrollment token is used up and removed"
                );
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                "enrolled, but cannot remove the used token {}: {e}",
                self.token_path.display()
            ),
        }
    }
}

fn read_token(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let token = text.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

fn sync_dir(file: &Path) {
    if let Some(dir) = file.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use visavis_api::fleet::enrollment::{Claims, issue, new_nonce};
    use visavis_api::fleet::keys::verify;
    use visavis_api::fleet::{b64, random};

    fn config(state_dir: &Path) -> Config {
        let text = format!(
            "device_id = \"unit-1\"\nstate_dir = \"{}\"\n[rendezvous]\nurl = \"http://127.0.0.1:1\"\n",
            state_dir.display()
        );
        Config::parse(Path::new("applianced.toml"), &text).unwrap()
    }

    fn token_for(device_id: &str) -> String {
        issue(
            &random(),
            &Claims {
                device_id: device_id.into(),
                store: "s".into(),
                location: "l".into(),
                mode: visavis_api::Mode::Table,
                expires_at: u64::MAX,
                nonce: new_nonce(),
            },
        )
    }

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("visavis-identity-{}", b64(&random::<6>())));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn enrolls_while_a_token_waits_then_says_hello() {
        let dir = temp_dir();
        let identity = Identity::load(&config(&dir)).unwrap();
        let token = token_for("unit-1");
        std::fs::write(dir.join("enrollment-token"), format!("{token}\n")).unwrap();

        let (answer, problem) = identity.answer("challenge-1");
        assert_eq!(problem, None);
        let DeviceToServer::Enroll {
            token: sent,
            public_key,
            signature,
            ..
        } = answer
        else {
            panic!("expected enroll, got {answer:?}");
        };
        assert_eq!(sent, token);
        assert_eq!(public_key, identity.public_key());
        assert!(verify(
            &public_key,
            &challenge_message("unit-1", "challenge-1"),
            &signature
        ));

        identity.enrolled();
        assert!(!dir.join("enrollment-token").exists());
        let (answer, _) = identity.answer("challenge-2");
        let DeviceToServer::Hello {
            device_id,
            signature,
            ..
        } = answer
        else {
            panic!("expected hello, got {answer:?}");
        };
        assert_eq!(device_id, "unit-1");
        assert!(verify(
            &identity.public_key(),
            &challenge_message("unit-1", "challenge-2"),
            &signature
        ));
        // The key survives a restart.
        let again = Identity::load(&config(&dir)).unwrap();
        assert_eq!(again.public_key(), identity.public_key());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn another_units_token_is_not_sent_and_is_reported() {
        let dir = temp_dir();
        let identity = Identity::load(&config(&dir)).unwrap();
        std::fs::write(dir.join("enrollment-token"), token_for("unit-2")).unwrap();
        let (answer, problem) = identity.answer("c");
        assert!(matches!(answer, DeviceToServer::Hello { .. }));
        assert!(problem.unwrap().contains("\"unit-2\""));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_state_dir_says_what_to_do() {
        let err = Identity::load(&config(Path::new("/nonexistent/visavis"))).unwrap_err();
        assert!(err.to_string().contains("StateDirectory"), "{err}");
    }
}
