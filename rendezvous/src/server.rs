//! Routes, security headers, and the serve loop: `run(listener, config, shutdown)`.
//!
//! Like mini-redis's `server::run`, the caller binds the listener (port 0 in tests) and
//! passes a shutdown future (SIGTERM/Ctrl-C in the binary, a oneshot in tests). On
//! shutdown, new connections stop, every WebSocket gets a close frame, and `run` returns.
//! `run` opens the device registry the config names; the binary opens it itself first
//! ([`run_with_registry`]) so a bad `database` is reported before the readiness line.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::connections::Gate;
use crate::devices::{DeviceRegistry, RegistryError};
use crate::state::AppState;
use crate::tls::{TlsError, TlsListener};
use crate::{assets, fleet_api, pages, ws_device, ws_guest};
use tokio_util::sync::CancellationToken;

/// How often expired invites and full rate-limit buckets are pruned.
pub const PRUNE_EVERY: Duration = Duration::from_secs(30);
/// How long shutdown waits for WebSockets to send their close frames.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("server I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "refusing to serve plain HTTP on {0}, which is not a loopback address: set tls_cert and tls_key"
    )]
    PlainHttpInPublic(SocketAddr),
}

/// The URL the listener answers on: `http(s)://<bound address>`.
pub fn base_url(listener: &TcpListener, config: &Config) -> std::io::Result<String> {
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    Ok(format!("{scheme}://{}", listener.local_addr()?))
}

/// Serve until `shutdown` completes, with the system clock.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    run_with_clock(listener, config, Arc::new(SystemClock), shutdown).await
}

/// Serve until `shutdown` completes, reading time from `clock` (tests pass a manual clock).
/// The registry is opened here, once, before serving (a short blocking call).
pub async fn run_with_clock(
    listener: TcpListener,
    config: Config,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let devices = Arc::new(DeviceRegistry::open(&config.database)?);
    run_with_registry(listener, config, clock, devices, shutdown).await
}

/// Serve until `shutdown` completes, with a registry the caller opened.
pub async fn run_with_registry(
    listener: TcpListener,
    config: Config,
    clock: Arc<dyn Clock>,
    devices: Arc<DeviceRegistry>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let tls = config.tls.as_ref().map(crate::tls::acceptor).transpose()?;
    let local = listener.local_addr()?;
    if tls.is_none() && !local.ip().is_loopback() {
        return Err(ServeError::PlainHttpInPublic(local));
    }
    let base = base_url(&listener, &config)?;
    let public_url = config.public_url.clone().unwrap_or_else(|| base.clone());
    if config.public_url.is_none() && local.ip().is_unspecified() {
        tracing::warn!(
            "invite links will point at {public_url}: set public_url to the name guests reach"
        );
    }
    let app = Arc::new(AppState::new(&config, public_url, clock, devices));
    tracing::info!(
        listen = %base,
        public_url = %app.public_url,
        database = %config.database.display(),
        sqlite = rusqlite::version(),
        "rendezvous starting"
    );

    let pruner = tokio::spawn(prune_periodically(app.clone()));
    let fd_limit = crate::connections::raise_fd_limit();
    let max = crate::connections::effective_max(&config.connections, fd_limit);
    if max < config.connections.max_connections {
        tracing::warn!(
            max_connections = max,
            "the open-file limit ({fd_limit}) caps connections below connections.max_connections: \
             raise LimitNOFILE"
        );
    }
    let gate = Gate::new(
        max,
        config.connections.max_per_address,
        config.trusted_proxies.clone(),
    );
    let routes = router(app.clone());
    let accepting = CancellationToken::new();
    let stop_accepting = accepting.clone();
    let cancel = app.shutdown.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down");
        stop_accepting.cancel();
        cancel.cancel();
    });
    let served: std::io::Result<()> = match tls {
        None => {
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            crate::connections::serve(listener, routes, gate, accepting, CLOSE_GRACE).await;
            Ok(())
        }
        Some(acceptor) => {
            let listener = TlsListener::new(listener, acceptor)?;
            crate::connections::serve(listener, routes, gate, accepting, CLOSE_GRACE).await;
            Ok(())
        }
    };
    app.shutdown.cancel();
    pruner.abort();
    app.sockets.close();
    if tokio::time::timeout(CLOSE_GRACE, app.sockets.wait())
        .await
        .is_err()
    {
        tracing::warn!("some WebSockets did not close in time");
    }
    served?;
    Ok(())
}

/// All routes.
pub fn router(app: Arc<AppState>) -> Router {
    Router::new()
        .route("/i/{token}", get(pages::invite))
        .route("/app/{file}", get(assets::serve))
        .route("/ws/device", get(ws_device::upgrade))
        .route("/ws/guest/{token}", get(ws_guest::upgrade))
        .route("/ws/resume", get(ws_guest::resume_upgrade))
        .route("/healthz", get(pages::healthz))
        .route("/api/fleet/devices", get(fleet_api::list))
        .route(
            "/api/fleet/devices/{device_id}/revoke",
            post(fleet_api::revoke),
        )
        .fallback(pages::not_found)
        .layer(axum::middleware::map_response_with_state(
            app.clone(),
            security_headers,
        ))
        .with_state(app)
}

async fn security_headers(State(app): State<Arc<AppState>>, mut response: Response) -> Response {
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&app.csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The invite token is in the URL: never send it to anyone as a referrer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(self), microphone=(self), geolocation=(), payment=()"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn prune_periodically(app: Arc<AppState>) {
    let mut every = tokio::time::interval(PRUNE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let now = app.clock.now();
        let mut shared = app.lock();
        let invites = shared.registry.prune(now.as_secs());
        shared.limiter.prune(now);
        shared.auth_attempts.prune(now);
        shared.auth_per_address.prune(now);
        shared.not_now.retain(|_, until| *until > now);
        if invites > 0 {
            tracing::debug!(invites, "pruned expired invites");
        }
    }
}
