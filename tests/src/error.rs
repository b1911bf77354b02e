//! The harness's one error type: a sentence saying what failed, with the details that help.
//!
//! `Debug` prints the same sentence as `Display`, so a test returning `Result<(), Error>`
//! fails with a readable message.

use std::fmt;

pub struct Error {
    message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// `.context("what was being done")` for any result whose error can be displayed.
pub trait ResultExt<T> {
    fn context(self, what: impl fmt::Display) -> Result<T>;
}

impl<T, E: fmt::Display> ResultExt<T> for std::result::Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error::new(format!("{what}: {e}")))
    }
}

/// The launchers' typed errors become the harness's sentence, unchanged.
macro_rules! from_launch_errors {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for Error {
            fn from(e: $error) -> Error {
                Error::new(e.to_string())
            }
        }
    )*};
}

from_launch_errors!(
    visavis_launch::process::Error,
    visavis_launch::rendezvous::StartError,
    visavis_launch::files::WriteError,
    visavis_launch::fleet::FleetError,
);
