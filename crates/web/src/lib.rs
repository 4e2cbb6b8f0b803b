//! The HTTP API of Jiefen.
//!
//! # Layout
//!
//! - [`router`] wires every endpoint; [`serve`] runs it until shutdown.
//! - [`cases`], [`history`], [`attachments`], [`inbox`], [`engine`],
//!   [`log`], [`reference`]: the handlers, one module per thing served.
//! - [`error`]: [`ApiError`], the one error type, and the one JSON shape
//!   every refusal leaves in.
//! - [`extract`]: extractors that refuse bad input in that shape (JSON
//!   bodies with field paths, query parameters by name, headers).
//! - [`openapi`]: the OpenAPI 3.1 document, generated from the handlers.
//!
//! # Invariants
//!
//! - Only this crate knows HTTP. Handlers parse, call the [`Ledger`] once
//!   (reads) or hand it one command (writes), and map its answer; no rule
//!   about cases lives here.
//! - A refused request writes nothing: every write goes through the
//!   ledger's writer, which commits a command's events, log entries and
//!   idempotency record together or not at all.
//! - Every response that is not a success is an [`ApiError`].
//!
//! [`Ledger`]: jiefen_store::Ledger
#![forbid(unsafe_code)]

pub mod attachments;
pub mod auth;
pub mod cases;
pub mod engine;
pub mod error;
pub mod extract;
pub mod figures;
pub mod history;
pub mod hotspots;
pub mod inbox;
pub mod intake;
pub mod log;
pub mod openapi;
pub mod people;
pub mod policy;
pub mod portal;
pub mod reference;
pub mod routes;
pub mod scope;
pub mod search;

pub use error::ApiError;

use axum::extract::{DefaultBodyLimit, State};
use axum::{Json, Router};
use jiefen_domain::audit::AuditEntry;
use jiefen_store::accounts::Accounts;
use jiefen_store::blobs::BlobStore;
use jiefen_store::throttle::{Rate, RateLimit, Throttle};
use jiefen_store::Ledger;
use serde::Serialize;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tower_http::trace::TraceLayer;
use utoipa::ToSchema;

/// What every handler gets. The router wraps it in an `Arc`, so handing it
/// to a request is one reference count, whatever it holds.
#[derive(Clone)]
pub struct AppState {
    pub ledger: Ledger,
    pub blobs: BlobStore,
    pub accounts: Accounts,
    /// Mark the session cookie `Secure` even without
    /// `X-Forwarded-Proto: https` (a server behind TLS it cannot see).
    pub secure_cookies: bool,
    /// Failed receipt-code lookups, per address and per code.
    pub lookups: Arc<Throttle>,
    /// Public submissions, per address.
    pub submissions: Arc<Throttle>,
    /// Requests of each signed-in account.
    pub account_requests: Arc<RateLimit>,
    /// Requests without valid credentials, per client address.
    pub address_requests: Arc<RateLimit>,
    /// Proxies whose `X-Forwarded-For` names the client (see
    /// [`auth::client_addresses`]); nobody else's is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// The full-text index and the ledger it follows.
    pub search: Arc<jiefen_search::Follower>,
    /// The segmenter and the category classifier of the intake.
    pub reading: Arc<intake::Reading>,
    /// The clock tests move (`serve --test-clock`); None in production,
    /// where the endpoint that moves it answers 404.
    pub test_clock: Option<Arc<jiefen_store::clock::ManualClock>>,
    /// Hotspot answers, served again while fresh.
    pub hotspots: Arc<hotspots::HotspotCache>,
}

/// Requests a signed-in account may make by default: far above what a
/// person clicks, low enough that a runaway script is stopped.
pub const ACCOUNT_RATE: Rate = Rate {
    per_minute: 3000,
    burst: 600,
};

/// Requests without credentials per client address by default (the
/// portal's own limits on lookups and submissions are tighter).
pub const ADDRESS_RATE: Rate = Rate {
    per_minute: 300,
    burst: 300,
};

impl AppState {
    pub fn new(ledger: Ledger, blobs: BlobStore) -> Self {
        let accounts = Accounts::new(ledger.store().clone(), ledger.clock().clone());
        let ledger_for_search = ledger.clone();
        Self {
            ledger,
            blobs,
            accounts,
            secure_cookies: false,
            lookups: Arc::new(Throttle::new(portal::LOOKUP_WINDOW)),
            submissions: Arc::new(Throttle::new(portal::SUBMISSION_WINDOW)),
            account_requests: Arc::new(RateLimit::new(ACCOUNT_RATE)),
            address_requests: Arc::new(RateLimit::new(ADDRESS_RATE)),
            trusted_proxies: Vec::new(),
            search: jiefen_search::Follower::new(
                Arc::new(
                    jiefen_search::CaseIndex::in_memory(shared_segmenter())
                        .expect("an index in memory opens"),
                ),
                ledger_for_search,
            ),
            reading: Arc::new(intake::Reading::lexicon(shared_segmenter())),
            test_clock: None,
            hotspots: Arc::default(),
        }
    }

    /// Writes to the security log. A failure to record is logged, not
    /// shown: the request it records has been answered already or is being
    /// refused anyway.
    pub async fn record(&self, entry: AuditEntry) {
        if let Err(e) = self.accounts.audit(vec![entry]).await {
            tracing::error!(error = %e, "could not write to the security log");
        }
    }
}

/// jieba's dictionary takes a moment to load; one copy serves every state
/// made without a deployment's own dictionary.
pub fn shared_segmenter() -> Arc<jiefen_text::Segmenter> {
    static SHARED: std::sync::OnceLock<Arc<jiefen_text::Segmenter>> = std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| Arc::new(jiefen_text::Segmenter::new()))
        .clone()
}

/// Every endpoint of the route table behind its access gate, with the
/// API's body limits, error shape and tracing.
pub fn router(state: AppState) -> Router {
    router_with(state, |_| Router::new())
}

/// [`router`] with more routes (the web UI's pages) merged in, behind the
/// same address lookup, security headers and tracing; routes it adds set
/// their own Content-Security-Policy where they serve HTML.
pub fn router_with(
    state: AppState,
    more: impl FnOnce(Arc<AppState>) -> Router<Arc<AppState>>,
) -> Router {
    let state = Arc::new(state);
    let mut router = more(state.clone());
    for (route, handler) in routes::endpoints() {
        let access = route.access;
        let gated = handler.route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            move |app, req, next| auth::gate(app, access, req, next),
        ));
        router = router.route(route.path, gated);
    }
    router
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::method_not_allowed)
        // For any of axum's own body extractors; ours take their limit
        // explicitly.
        .layer(DefaultBodyLimit::max(extract::JSON_LIMIT))
        .layer(axum::middleware::map_response(error::shape_plain_errors))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::client_addresses,
        ))
        .layer(axum::middleware::from_fn(server_timing))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// `Server-Timing: app;dur=…`: how long the server took over the request,
/// from its arrival to its response being ready (session lookup, reads,
/// rendering), in milliseconds. Browsers' developer tools show it, and the
/// page benchmark reads it to separate server time from the network's.
async fn server_timing(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let mut res = next.run(req).await;
    let took = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(v) = axum::http::HeaderValue::try_from(format!("app;dur={took:.2}")) {
        res.headers_mut().insert(
            axum::http::header::HeaderName::from_static("server-timing"),
            v,
        );
    }
    res
}

/// Headers every response carries: nothing here is to be framed, sniffed,
/// cached by intermediaries or leak its address in a Referer. The API
/// serves no HTML, so its policy allows nothing at all; the web UI will set
/// its own, stricter than this where it needs to load anything.
async fn security_headers(mut res: axum::response::Response) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let h = res.headers_mut();
    let mut set = |name, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::CACHE_CONTROL, "no-store");
    set(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    res
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets
/// requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the database answered.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub store: &'static str,
    pub log_size: u64,
}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "health",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "`unavailable`: the database does not answer", body = error::ErrorBody),
    )
)]
pub async fn healthz(State(app): State<Arc<AppState>>) -> Result<Json<Health>, ApiError> {
    let store = app.ledger.store();
    let log_size = store.log_size().await?;
    Ok(Json(Health {
        status: "ok",
        store: store.kind(),
        log_size,
    }))
}

/// Percent-encodes everything but unreserved characters and `/`: for
/// values put into a query string or a link.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
