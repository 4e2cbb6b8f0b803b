//! The deployment-wide Merkle log: its head, signed checkpoints and
//! consistency proofs between sizes.

use crate::error::{ApiError, ErrorBody};
use crate::extract::QueryParams;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use jiefen_ledger::checkpoint::SignedCheckpoint;
use jiefen_ledger::hash::Hash;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct TreeHead {
    pub tree_size: u64,
    pub root: Hash,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Consistency {
    pub old_size: u64,
    pub new_size: u64,
    /// RFC 6962 consistency proof, deepest node first.
    pub proof: Vec<Hash>,
}

#[utoipa::path(
    get,
    path = "/api/v1/log",
    operation_id = "log_head",
    tag = "log",
    responses(
        (status = 200, description = "The current size and root of the log", body = TreeHead),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn head(State(app): State<Arc<AppState>>) -> Result<Json<TreeHead>, ApiError> {
    let (tree_size, root) = app.ledger.tree_head().await?;
    Ok(Json(TreeHead { tree_size, root }))
}

#[utoipa::path(
    post,
    path = "/api/v1/checkpoints",
    operation_id = "sign_checkpoint",
    tag = "log",
    responses(
        (status = 201, description = "The current tree head, signed now with the deployment key", body = SignedCheckpoint),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn sign(
    State(app): State<Arc<AppState>>,
) -> Result<(StatusCode, Json<SignedCheckpoint>), ApiError> {
    let signed = app.ledger.checkpoint().await?;
    Ok((StatusCode::CREATED, Json(signed)))
}

#[utoipa::path(
    get,
    path = "/api/v1/checkpoints/latest",
    operation_id = "latest_checkpoint",
    tag = "log",
    responses(
        (status = 200, body = SignedCheckpoint),
        (status = 404, description = "`not_found`: nothing signed yet", body = ErrorBody),
    )
)]
pub async fn latest(State(app): State<Arc<AppState>>) -> Result<Json<SignedCheckpoint>, ApiError> {
    app.ledger
        .store()
        .latest_checkpoint()
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no checkpoint has been signed yet"))
}

#[utoipa::path(
    get,
    path = "/api/v1/log/consistency",
    operation_id = "log_consistency",
    tag = "log",
    params(
        ("old_size" = u64, Query),
        ("new_size" = u64, Query, description = "At most the current log size"),
    ),
    responses(
        (status = 200, body = Consistency),
        (status = 422, description = "`invalid_query`, `invalid_range`", body = ErrorBody),
    )
)]
pub async fn consistency(
    State(app): State<Arc<AppState>>,
    q: QueryParams,
) -> Result<Json<Consistency>, ApiError> {
    q.only(&["old_size", "new_size"])?;
    let size = |name: &str| -> Result<u64, ApiError> {
        q.parse_with(name, "a whole number", |s| s.parse::<u64>().ok())?
            .ok_or_else(|| ApiError::invalid_query(name, format!("{name} is required")))
    };
    let (old_size, new_size) = (size("old_size")?, size("new_size")?);
    // The log only grows, so a size checked here stays valid for the proof.
    let current = app.ledger.store().log_size().await?;
    if new_size > current {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_range",
            format!("new_size {new_size} is larger than the log ({current} entries)"),
        )
        .with_field("new_size"));
    }
    let proof = app.ledger.consistency(old_size, new_size).await?;
    Ok(Json(Consistency {
        old_size,
        new_size,
        proof,
    }))
}
