//! The deadline engine on demand. The server runs it on a timer; this lets
//! an operator catch up at once (after changing the clock or the policy)
//! and lets tests step it without waiting.

use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use jiefen_store::ledger::TICK_BATCH;
use jiefen_store::writer::TickReport;
use std::sync::Arc;

#[utoipa::path(
    post,
    path = "/api/v1/engine/tick",
    operation_id = "engine_tick",
    tag = "engine",
    responses(
        (status = 200, description = "What the tick recorded; running it again at once records nothing more", body = TickReport),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn tick(State(app): State<Arc<AppState>>) -> Result<Json<TickReport>, ApiError> {
    // The timer's batch size, so an on-demand tick holds the writer no
    // longer per transaction than a scheduled one.
    let report = app
        .ledger
        .tick(TICK_BATCH)
        .await
        .map_err(|e| ApiError::from_write(e, None))?;
    Ok(Json(report))
}
