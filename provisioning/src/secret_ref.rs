//! Secrets by reference: `env:NAME` or `file:PATH`, never the secret itself.
//!
//! A manifest names where a secret is; `provision` reads it when it builds a seed. Errors
//! name the variable or file, never the value.

use std::path::PathBuf;

/// Where a secret is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
}

impl std::fmt::Display for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretRef::Env(n) => write!(f, "env:{n}"),
            SecretRef::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

/// Why a reference or its secret cannot be used. Names the variable or file, never the
/// secret (nor an inline secret that was given instead of a reference).
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("env: must be followed by a variable name (letters, digits, _)")]
    VariableName,
    #[error("file: must be followed by a path")]
    NoPath,
    #[error(
        "this looks like a secret written inline: never put secrets in the manifest; \
         write env:NAME (an environment variable) or file:PATH (a file only you can read)"
    )]
    Inline,
    #[error("the environment variable {0} is not set (or not UTF-8)")]
    Unset(String),
    #[error("cannot read {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} can be read by other users (mode {mode:o}): run `chmod 600 {path}`")]
    Exposed { path: PathBuf, mode: u32 },
    #[error("{0} is empty")]
    Empty(SecretRef),
    #[error("{0} is not a key: expected 32 bytes as base64url on one line (43 characters)")]
    NotAKey(SecretRef),
}

impl SecretRef {
    /// Parse a reference. Anything else is taken for an inline secret, and the message
    /// does not repeat it.
    pub fn parse(text: &str) -> Result<SecretRef, SecretError> {
        let text = text.trim();
        if let Some(name) = text.strip_prefix("env:") {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(SecretError::VariableName);
            }
            return Ok(SecretRef::Env(name.to_owned()));
        }
        if let Some(path) = text.strip_prefix("file:") {
            if path.is_empty() {
                return Err(SecretError::NoPath);
            }
            return Ok(SecretRef::File(PathBuf::from(path)));
        }
        Err(SecretError::Inline)
    }

    /// Read the secret (trimmed). Files that others may read are refused.
    pub fn resolve(&self) -> Result<String, SecretError> {
        let value = match self {
            SecretRef::Env(name) => {
                std::env::var(name).map_err(|_| SecretError::Unset(name.clone()))?
            }
            SecretRef::File(path) => {
                use std::os::unix::fs::PermissionsExt as _;
                let unreadable = |e| SecretError::Unreadable {
                    path: path.clone(),
                    source: e,
                };
                let meta = std::fs::metadata(path).map_err(unreadable)?;
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(SecretError::Exposed {
                        path: path.clone(),
                        mode,
                    });
                }
                std::fs::read_to_string(path).map_err(unreadable)?
            }
        };
        let value = value.trim().to_owned();
        if value.is_empty() {
            return Err(SecretError::Empty(self.clone()));
        }
        Ok(value)
    }

    /// Resolve a 32-byte key (key files made by `provision keygen`).
    pub fn resolve_key(&self) -> Result<[u8; 32], SecretError> {
        let text = self.resolve()?;
        visavis_api::fleet::keys::parse_key(&text, &self.to_string())
            .map_err(|_| SecretError::NotAKey(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_inline_secrets_are_refused_without_echo() {
        assert_eq!(
            SecretRef::parse("env:WIFI_KEY").unwrap(),
            SecretRef::Env("WIFI_KEY".into())
        );
        assert_eq!(
            SecretRef::parse("file:/etc/k").unwrap(),
            SecretRef::File("/etc/k".into())
        );
        let e = SecretRef::parse("hunter2-password")
            .unwrap_err()
            .to_string();
        assert!(e.contains("inline") && !e.contains("hunter2"), "{e}");
        assert!(SecretRef::parse("env:").is_err());
        assert!(SecretRef::parse("env:A B").is_err());
    }

    #[test]
    fn unset_variables_and_open_files_are_named() {
        let e = SecretRef::Env("VISAVIS_TEST_SURELY_UNSET".into())
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(e.contains("VISAVIS_TEST_SURELY_UNSET"), "{e}");
        let path = std::env::temp_dir().join(format!("visavis-ref-{}", std::process::id()));
        std::fs::write(&path, "s3cret\n").unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = SecretRef::File(path.clone()).resolve().unwrap_err();
        assert!(matches!(e, SecretError::Exposed { mode: 0o644, .. }), "{e}");
        let e = e.to_string();
        assert!(e.contains("chmod 600") && !e.contains("s3cret"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(SecretRef::File(path.clone()).resolve().unwrap(), "s3cret");
        let e = SecretRef::File(path.clone()).resolve_key().unwrap_err();
        assert!(matches!(e, SecretError::NotAKey(_)), "{e}");
        assert!(!e.to_string().contains("s3cret"), "{e}");
        std::fs::remove_file(&path).unwrap();
    }
}
