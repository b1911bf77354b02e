//! HTML pages: the guest app at `/i/{token}`, the bilingual "this link does not work" page,
//! and `/healthz`.

use crate::client_ip::ClientIp;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::invites::InviteError;
use crate::state::{AppState, LookupError};
use crate::token;

/// The guest app's page.
pub const APP_HTML: &str = include_str!("../web/index.html");
const INVALID_HTML: &str = include_str!("../web/invalid.html");

/// `GET /i/{token}`.
pub async fn invite(
    State(app): State<Arc<AppState>>,
    ClientIp(client): ClientIp,
    Path(token): Path<String>,
) -> Response {
    match app.look_up(client, &token) {
        Ok(_) => html(StatusCode::OK, APP_HTML.to_owned()),
        Err(e) => {
            tracing::debug!(token = %token::log_prefix(&token), ?e, "invite page refused");
            invalid_invite(&app, e)
        }
    }
}

/// `GET /healthz`.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Anything else.
pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Invite links are secrets: never keep the page in any cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The words of the invalid-invite page for one reason, in French and English. The guest
/// page says the same when it finds out by itself (`invalid.<reason>.*` in `web/i18n.js`);
/// `tests/web_contract.rs` checks the two agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wording {
    /// `data-reason` of the page: `unknown`, `expired`, `ended` or `rate-limited`.
    pub reason: &'static str,
    pub title_fr: &'static str,
    pub text_fr: &'static str,
    pub title_en: &'static str,
    pub text_en: &'static str,
}

/// Every reason an invite is refused, with its words.
pub const INVALID_INVITE: [Wording; 4] = [
    Wording {
        reason: "unknown",
        title_fr: "Ce lien d’invitation ne fonctionne pas",
        text_fr: "Vérifiez que le lien est complet, ou demandez-en un nouveau à la personne qui vous a invité·e.",
        title_en: "This invitation link doesn’t work",
        text_en: "Check that the link is complete, or ask the person who invited you for a new one.",
    },
    Wording {
        reason: "expired",
        title_fr: "Ce lien d’invitation a expiré",
        text_fr: "Les invitations ne durent que quelques minutes. Demandez-en une nouvelle à la personne qui vous a invité·e.",
        title_en: "This invitation link has expired",
        text_en: "Invitations only last a few minutes. Ask the person who invited you for a new one.",
    },
    Wording {
        reason: "ended",
        title_fr: "Cette session est terminée",
        text_fr: "Tout ce qui en faisait partie a été effacé. Pour participer à nouveau, demandez une nouvelle invitation.",
        title_en: "This session has ended",
        text_en: "Everything from it was erased. To join again, ask for a new invitation.",
    },
    Wording {
        reason: RATE_LIMITED,
        title_fr: "Trop de tentatives",
        text_fr: "Patientez une minute, puis réessayez.",
        title_en: "Too many attempts",
        text_en: "Please wait a minute, then try again.",
    },
];

const RATE_LIMITED: &str = "rate-limited";

/// The page's reason and HTTP status for a refused token.
fn reason_and_status(e: LookupError) -> (&'static str, StatusCode) {
    match e {
        LookupError::Invite(e @ InviteError::Unknown) => (e.reason(), StatusCode::NOT_FOUND),
        LookupError::Invite(e @ (InviteError::Expired | InviteError::Ended)) => {
            (e.reason(), StatusCode::GONE)
        }
        LookupError::RateLimited => (RATE_LIMITED, StatusCode::TOO_MANY_REQUESTS),
    }
}

/// The words for `reason` (the first entry, "unknown", for a reason without its own).
fn wording(reason: &str) -> &'static Wording {
    INVALID_INVITE
        .iter()
        .find(|w| w.reason == reason)
        .unwrap_or(&INVALID_INVITE[0])
}

/// The error page for a refused token, with its status code.
pub fn invalid_invite(app: &AppState, e: LookupError) -> Response {
    let (reason, status) = reason_and_status(e);
    let w = wording(reason);
    let body = INVALID_HTML
        .replace("{{reason}}", w.reason)
        .replace("{{title_fr}}", w.title_fr)
        .replace("{{text_fr}}", w.text_fr)
        .replace("{{title_en}}", w.title_en)
        .replace("{{text_en}}", w.text_en);
    let mut response = html(status, body);
    if e == LookupError::RateLimited {
        let per_token = 60u32.div_ceil(app.rate_limit.per_minute.max(1));
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(per_token));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_fills_the_template() {
        for e in [
            LookupError::RateLimited,
            LookupError::Invite(InviteError::Unknown),
            LookupError::Invite(InviteError::Expired),
            LookupError::Invite(InviteError::Ended),
        ] {
            let (reason, _) = reason_and_status(e);
            let w = wording(reason);
            assert_eq!(w.reason, reason, "every reason has words of its own");
            let body = INVALID_HTML.replace("{{reason}}", w.reason);
            assert!(body.contains(&format!("data-reason=\"{}\"", w.reason)));
        }
        assert!(INVALID_HTML.contains("data-state=\"invalid-invite\""));
    }
}
