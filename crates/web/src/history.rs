//! A case's event history: the hashed bodies with their place in the
//! case's chain and in the log.

use crate::error::{ApiError, ErrorBody};
use crate::scope::CaseInScope;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use jiefen_domain::case::CaseId;
use jiefen_domain::Timestamp;
use jiefen_ledger::hash::Hash;
use serde::Serialize;
use serde_json::value::RawValue;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEvent {
    pub seq: u64,
    /// The event type, e.g. `registered`, `assigned`.
    #[serde(rename = "type")]
    pub kind: String,
    pub at: Timestamp,
    pub actor: String,
    pub leaf_index: u64,
    pub prev_hash: Hash,
    pub hash: Hash,
    /// The canonical JSON that was hashed, passed through byte for byte so
    /// a client can recompute `hash` from it.
    #[schema(value_type = Object)]
    pub body: Box<RawValue>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub case_id: CaseId,
    pub events: Vec<HistoryEvent>,
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/history",
    operation_id = "case_history",
    tag = "cases",
    params(("id" = String, Path, description = "Case id (UUID)")),
    responses(
        (status = 200, body = History),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
pub async fn history(
    State(app): State<Arc<AppState>>,
    found: CaseInScope,
) -> Result<Json<History>, ApiError> {
    let id = found.id;
    let rows = app.ledger.history(id).await?;
    if rows.is_empty() {
        return Err(ApiError::no_case(id));
    }
    let events = rows
        .into_iter()
        .map(|r| {
            let body = RawValue::from_string(r.body).map_err(|e| ApiError::internal(&e))?;
            Ok(HistoryEvent {
                seq: r.seq,
                kind: r.kind,
                at: Timestamp::from_unix_millis(r.at_ms),
                actor: r.actor,
                leaf_index: r.leaf_index,
                prev_hash: r.prev_hash,
                hash: r.hash,
                body,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(History {
        case_id: id,
        events,
    }))
}
