//! HTML pages: the guest app at `/i/{token}` (with where the invite leads in it), the bilingual "this link does not work" page,
//! and `/healthz`.

use crate::client_ip::ClientIp;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::invites::InviteError;
use crate::state::{AppState, LookupError};
use crate::token;
use visavis_api::signaling::InviteInfo;

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
        Ok(target) => {
            let info = invite_info(&app, target.device_id).await;
            html(StatusCode::OK, app_page(info.as_ref()))
        }
        Err(e) => {
            tracing::debug!(token = %token::log_prefix(&token), ?e, "invite page refused");
            invalid_invite(&app, e)
        }
    }
}

/// Where the page puts [`InviteInfo`] (a comment in `web/index.html`).
const INVITE_INFO_SLOT: &str = "<!--invite-info-->";

/// Where `device_id`'s invites lead, from its enrollment record; `None` when the registry
/// does not know the unit or cannot answer (the page then says nothing of where).
async fn invite_info(app: &Arc<AppState>, device_id: String) -> Option<InviteInfo> {
    let devices = app.devices.clone();
    let record = tokio::task::spawn_blocking(move || devices.get(&device_id)).await;
    match record {
        Ok(Ok(Some(r))) => Some(InviteInfo {
            store: r.store.unwrap_or_default(),
            location: r.location.unwrap_or_default(),
            mode: r.mode,
        }),
        Ok(Ok(None)) => None,
        Ok(Err(e)) => {
            tracing::warn!("the invite page says nothing of where: the registry failed: {e}");
            None
        }
        Err(e) => {
            tracing::warn!("the invite page says nothing of where: {e}");
            None
        }
    }
}

/// The guest app's page with `info` in it, as JSON in a `<script type="application/json"
/// id="invite-info">` (not run; `<`, `>` and `&` escaped so a store's name cannot close it).
pub fn app_page(info: Option<&InviteInfo>) -> String {
    let Some(info) = info else {
        return APP_HTML.to_owned();
    };
    let json = match serde_json::to_string(info) {
        Ok(json) => json
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026"),
        Err(e) => {
            tracing::warn!("invite info not written into the page: {e}");
            return APP_HTML.to_owned();
        }
    };
    APP_HTML.replacen(
        INVITE_INFO_SLOT,
        &format!(r#"<script type="application/json" id="invite-info">{json}</script>"#),
        1,
    )
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
    fn the_page_says_where_the_invite_leads_and_a_name_cannot_break_out() {
        assert!(APP_HTML.contains(INVITE_INFO_SLOT));
        let info = InviteInfo {
            store: "Chez <Zoé> & fils".into(),
            location: "</script><script>alert(1)</script>".into(),
            mode: Some(visavis_api::Mode::Table),
        };
        let page = app_page(Some(&info));
        let start = page.find(r#"id="invite-info">"#).unwrap() + r#"id="invite-info">"#.len();
        let json = &page[start..start + page[start..].find("</script>").unwrap()];
        assert!(!json.contains('<') && !json.contains('&'), "{json}");
        assert_eq!(serde_json::from_str::<InviteInfo>(json).unwrap(), info);
        assert_eq!(app_page(None), APP_HTML);
    }

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
