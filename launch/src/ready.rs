//! The readiness lines the daemons print on stdout once they serve (docs/contracts.md).

use std::path::PathBuf;

/// `rendezvous: listening on <base URL>`.
pub const RENDEZVOUS: &str = "rendezvous: listening on ";
/// `applianced: ready api=<socket> metrics=<url>`.
pub const APPLIANCED: &str = "applianced: ready ";

/// What follows [`APPLIANCED`]: `api=<socket> metrics=<url>` → the socket and the URL.
pub fn parse_applianced(rest: &str) -> Option<(PathBuf, String)> {
    let (socket, metrics) = rest.strip_prefix("api=")?.rsplit_once(" metrics=")?;
    Some((PathBuf::from(socket), metrics.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applianced_readiness_line() {
        assert_eq!(
            parse_applianced("api=/tmp/a b/applianced.sock metrics=http://127.0.0.1:9/metrics"),
            Some((
                PathBuf::from("/tmp/a b/applianced.sock"),
                "http://127.0.0.1:9/metrics".to_string()
            ))
        );
        assert_eq!(parse_applianced("api=/x"), None);
        assert_eq!(parse_applianced("something else"), None);
    }
}
