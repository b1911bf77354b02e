//! `GET /app/{file}`: the guest app's scripts and styles, embedded in the binary.
//!
//! Served with their content type, an ETag (so a phone revalidates cheaply) and a short
//! cache lifetime: there is no build step that would version file names.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
    etag: String,
}

/// Every file of `web/` a browser loads, named one by one: the lint setup, `node_modules/`,
/// `package*.json` and `test/` stay out of the binary (`tests/web_page.rs` checks that every
/// module the page imports is here).
const FILES: [(&str, &str, &str); 18] = [
    ("boot.js", JS, include_str!("../web/boot.js")),
    ("main.js", JS, include_str!("../web/main.js")),
    ("i18n.js", JS, include_str!("../web/i18n.js")),
    ("signaling.js", JS, include_str!("../web/signaling.js")),
    ("call.js", JS, include_str!("../web/call.js")),
    ("ui.js", JS, include_str!("../web/ui.js")),
    ("style.css", CSS, include_str!("../web/style.css")),
    ("logo.svg", SVG, include_str!("../web/logo.svg")),
    ("reactions.js", JS, include_str!("../web/reactions.js")),
    ("looks.js", JS, include_str!("../web/looks.js")),
    ("chat.js", JS, include_str!("../web/chat.js")),
    ("limits.js", JS, include_str!("../web/limits.js")),
    ("state.js", JS, include_str!("../web/state.js")),
    ("reconnect.js", JS, include_str!("../web/reconnect.js")),
    ("heartbeat.js", JS, include_str!("../web/heartbeat.js")),
    ("where.js", JS, include_str!("../web/where.js")),
    ("bar.js", JS, include_str!("../web/bar.js")),
    ("others.js", JS, include_str!("../web/others.js")),
];

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(name, content_type, body)| Asset {
            name,
            content_type,
            body,
            etag: format!(
                "\"{}\"",
                hex::encode(&crate::token::sha256(body.as_bytes())[..12])
            ),
        })
        .collect()
});

/// The names of every embedded file.
pub fn names() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(name, _, _)| *name)
}

/// The embedded file of this name.
pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// `GET /app/{file}`.
pub async fn serve(Path(name): Path<String>, request_headers: HeaderMap) -> Response {
    let Some(asset) = find(&name) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let etag = HeaderValue::from_str(&asset.etag).unwrap_or(HeaderValue::from_static("\"\""));
    let fresh = request_headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        asset.body.into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(header::ETAG, etag);
    response
}
