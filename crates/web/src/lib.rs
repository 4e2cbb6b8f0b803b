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
pub mod cases;
pub mod engine;
pub mod error;
pub mod extract;
pub mod history;
pub mod inbox;
pub mod log;
pub mod openapi;
pub mod reference;

pub use error::ApiError;

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiefen_store::blobs::BlobStore;
use jiefen_store::Ledger;
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use tower_http::trace::TraceLayer;
use utoipa::ToSchema;

/// What every handler gets. The router wraps it in an `Arc`, so handing it
/// to a request is one reference count, whatever it holds.
#[derive(Clone)]
pub struct AppState {
    pub ledger: Ledger,
    pub blobs: BlobStore,
}

/// Every endpoint, with the API's body limits, error shape and tracing.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/cases", post(cases::create).get(cases::list))
        .route("/cases/{id}", get(cases::get))
        .route("/cases/{id}/actions", post(cases::act))
        .route("/cases/{id}/history", get(history::history))
        .route("/cases/{id}/parties", get(cases::parties))
        .route("/cases/{id}/routing", get(cases::routing))
        .route("/cases/{id}/repeats", get(cases::repeats))
        .route("/cases/{id}/export", get(cases::export))
        // Uploads read their body with their own 20 MiB limit.
        .route("/cases/{id}/attachments", post(attachments::upload))
        .route(
            "/cases/{id}/attachments/{sha256}",
            get(attachments::download),
        )
        .route("/inbox", get(inbox::inbox))
        .route("/inbox/read", post(inbox::mark_read))
        .route("/engine/tick", post(engine::tick))
        .route("/log", get(log::head))
        .route("/log/consistency", get(log::consistency))
        .route("/checkpoints", post(log::sign))
        .route("/checkpoints/latest", get(log::latest))
        .route("/jurisdictions", get(reference::jurisdictions))
        .route("/bodies", get(reference::bodies))
        .route("/categories", get(reference::categories));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi::spec))
        .nest("/api/v1", api)
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::method_not_allowed)
        // For any of axum's own body extractors; ours take their limit
        // explicitly.
        .layer(DefaultBodyLimit::max(extract::JSON_LIMIT))
        .layer(axum::middleware::map_response(error::shape_plain_errors))
        .layer(TraceLayer::new_for_http())
        .with_state(Arc::new(state))
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets
/// requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
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
