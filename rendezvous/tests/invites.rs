//! Invite links over HTTP: the app for a live token, the right error page otherwise.

mod common;

use std::time::Duration;

use common::{Server, reason_of, send, ws_refusal};
use visavis_api::signaling::DeviceToServer;
use visavis_rendezvous::client_ip::TrustedProxies;

#[tokio::test]
async fn a_live_invite_serves_the_guest_app() {
    let server = Server::start().await;
    let mut device = server.device().await;
    let (token, url) = server.invite(&mut device, None).await;
    assert_eq!(url, format!("{}/i/{token}", server.base));
    assert_eq!(token.len(), 43);

    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let body = page.text().await.unwrap();
    // The page sets its state once its script has run: a test waiting for `join` then finds
    // the form ready to type into.
    assert!(body.contains("<body>"));
    assert!(body.contains(r#"<video id="remote""#));
    assert!(body.contains(r#"id="join""#) && body.contains(r#"id="name""#));
    assert!(body.contains(r#"data-reaction="thumbs_up""#));
    assert!(body.contains("/app/main.js"));
    // Where the invite leads, from the unit's enrollment (its store, location and mode).
    let start = body
        .find(r#"<script type="application/json" id="invite-info">"#)
        .expect("invite info");
    let json = &body[start..];
    let json = &json[json.find('>').unwrap() + 1..json.find("</script>").unwrap()];
    assert_eq!(
        serde_json::from_str::<visavis_api::signaling::InviteInfo>(json).unwrap(),
        visavis_api::signaling::InviteInfo {
            store: "Paris 9e".into(),
            location: "Cabine 3".into(),
            mode: Some(visavis_api::Mode::FittingRoom),
        }
    );
}

#[tokio::test]
async fn app_assets_have_types_and_caching() {
    let server = Server::start().await;
    for (path, kind) in [
        ("/app/main.js", "text/javascript; charset=utf-8"),
        ("/app/i18n.js", "text/javascript; charset=utf-8"),
        ("/app/style.css", "text/css; charset=utf-8"),
        ("/app/logo.svg", "image/svg+xml"),
    ] {
        let r = server.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], kind, "{path}");
        assert_eq!(r.headers()["cache-control"], "public, max-age=300");
        assert!(r.headers().contains_key("content-security-policy"));
        let etag = r.headers()["etag"].clone();
        let again = reqwest::Client::new()
            .get(format!("{}{path}", server.base))
            .header("if-none-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }
    assert_eq!(server.get("/app/nope.js").await.status(), 404);
    assert_eq!(server.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn forged_and_malformed_tokens_are_unknown() {
    let server = Server::start().await;
    let forged = "A".repeat(43);
    for token in [forged.as_str(), "short", "not%20a%20token"] {
        let r = server.get(&format!("/i/{token}")).await;
        assert_eq!(r.status(), 404, "{token}");
        let body = r.text().await.unwrap();
        assert!(body.contains(r#"data-state="invalid-invite""#));
        assert_eq!(reason_of(&body), Some("unknown"));
        assert!(
            body.contains("Ce lien") && body.contains("This invitation link"),
            "bilingual"
        );
    }
    let status = ws_refusal(&format!("{}/ws/guest/{forged}", server.ws_base)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_expired_invite_is_gone() {
    let server = Server::start().await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, Some(60)).await;
    server.clock.advance(Duration::from_secs(59));
    assert_eq!(server.get(&format!("/i/{token}")).await.status(), 200);
    server.clock.advance(Duration::from_secs(1));
    let r = server.get(&format!("/i/{token}")).await;
    assert_eq!(r.status(), 410);
    assert_eq!(reason_of(&r.text().await.unwrap()), Some("expired"));
    let status = ws_refusal(&format!("{}/ws/guest/{token}", server.ws_base)).await;
    assert_eq!(status, 410);
}

#[tokio::test]
async fn the_unit_cannot_ask_for_more_than_the_server_allows() {
    let mut config = common::config();
    config.invite_ttl_secs = 100;
    let server = Server::start_with(config).await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, Some(10_000)).await;
    server.clock.advance(Duration::from_secs(100));
    assert_eq!(server.get(&format!("/i/{token}")).await.status(), 410);
}

#[tokio::test]
async fn invites_of_an_ended_session_say_ended() {
    let server = Server::start().await;
    let mut device = server.device().await;
    let (old, _) = server.invite(&mut device, None).await;
    send(&mut device, &DeviceToServer::EndSession).await;
    // Messages are handled in order: once this reply arrives, the session has ended.
    let (new, _) = server.invite(&mut device, None).await;

    let r = server.get(&format!("/i/{old}")).await;
    assert_eq!(r.status(), 410);
    let body = r.text().await.unwrap();
    assert_eq!(reason_of(&body), Some("ended"));
    assert!(body.contains("effacé") && body.contains("erased"));
    assert_eq!(
        ws_refusal(&format!("{}/ws/guest/{old}", server.ws_base)).await,
        410
    );
    assert_eq!(
        server.get(&format!("/i/{new}")).await.status(),
        200,
        "a new session works"
    );
}

#[tokio::test]
async fn look_ups_are_rate_limited_per_client() {
    let mut config = common::config();
    config.rate_limit.burst = 3;
    config.rate_limit.per_minute = 6;
    let server = Server::start_with(config).await;
    let forged = format!("/i/{}", "B".repeat(43));
    for _ in 0..3 {
        assert_eq!(server.get(&forged).await.status(), 404);
    }
    let r = server.get(&forged).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "10");
    assert_eq!(reason_of(&r.text().await.unwrap()), Some("rate-limited"));
    assert_eq!(
        ws_refusal(&format!("{}/ws/guest/{}", server.ws_base, "B".repeat(43))).await,
        429,
        "the guest socket shares the bucket"
    );
    server.clock.advance(Duration::from_secs(10));
    assert_eq!(
        server.get(&forged).await.status(),
        404,
        "refilled after 10 s"
    );
    assert_eq!(
        server.get("/healthz").await.status(),
        200,
        "other routes are not limited"
    );
}

/// Behind the packaged TLS proxy every request comes from 127.0.0.1: with `trusted_proxies`,
/// each client is charged for its own look-ups (the address the proxy appended), so one
/// client guessing tokens does not lock out another guest behind the same proxy. A client
/// cannot dodge its bucket by writing its own `X-Forwarded-For`, and without
/// `trusted_proxies` the header counts for nothing.
#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_bucket() {
    let get_as = |server: &Server, path: &str, forwarded: &str| {
        let url = format!("{}{path}", server.base);
        let forwarded = forwarded.to_owned();
        async move {
            reqwest::Client::new()
                .get(url)
                .header("x-forwarded-for", forwarded)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let forged = format!("/i/{}", "B".repeat(43));

    let mut config = common::config();
    config.rate_limit.burst = 3;
    config.trusted_proxies = "127.0.0.1"
        .parse()
        .map(|c| TrustedProxies(vec![c]))
        .unwrap();
    let server = Server::start_with(config).await;
    let mut device = server.device().await;
    let (token, _) = server.invite(&mut device, None).await;
    let path = format!("/i/{token}");
    for _ in 0..3 {
        assert_eq!(get_as(&server, &forged, "203.0.113.66").await, 404);
    }
    assert_eq!(get_as(&server, &forged, "203.0.113.66").await, 429);
    // A forged left-most entry does not help: the proxy's entry is the right-most one.
    assert_eq!(
        get_as(&server, &forged, "198.51.100.1, 203.0.113.66").await,
        429
    );
    assert_eq!(
        get_as(&server, &path, "203.0.113.77").await,
        200,
        "another guest behind the same proxy still gets their invite"
    );

    let mut config = common::config();
    config.rate_limit.burst = 3;
    let server = Server::start_with(config).await;
    for n in 0..3 {
        let spoofed = format!("192.0.2.{n}");
        assert_eq!(get_as(&server, &forged, &spoofed).await, 404);
    }
    assert_eq!(
        get_as(&server, &forged, "192.0.2.99").await,
        429,
        "an untrusted peer's X-Forwarded-For is ignored"
    );
}
