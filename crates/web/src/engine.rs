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
    run_tick(&app).await.map(Json)
}

/// One tick now, in the timer's batch size, so an on-demand tick holds the
/// writer no longer per transaction than a scheduled one.
async fn run_tick(app: &AppState) -> Result<TickReport, ApiError> {
    app.ledger
        .tick(TICK_BATCH)
        .await
        .map_err(|e| ApiError::from_write(e, None))
}

/// How far to move the test clock.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveClock {
    /// Hours to move forward, 1 to 8784 (a leap year). Time never goes back:
    /// the history's order is the clock's.
    pub advance_hours: u32,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ClockMoved {
    pub now: jiefen_domain::Timestamp,
    /// The deadline engine's tick at the new time.
    pub tick: TickReport,
}

/// The longest single move: a year, leap day included.
pub const MAX_ADVANCE_HOURS: u32 = 366 * 24;

#[utoipa::path(
    post,
    path = "/api/v1/engine/clock",
    operation_id = "move_test_clock",
    tag = "engine",
    request_body = MoveClock,
    responses(
        (status = 200, description = "The clock moved, and the engine ran at the new time", body = ClockMoved),
        (status = 404, description = "`not_found`: the server does not run on a test clock (only `serve --test-clock` does)", body = ErrorBody),
        (status = 422, description = "`invalid`: hours out of range", body = ErrorBody),
    )
)]
pub async fn move_clock(
    State(app): State<Arc<AppState>>,
    crate::extract::ApiJson(req): crate::extract::ApiJson<MoveClock>,
) -> Result<Json<ClockMoved>, ApiError> {
    // A production server has no test clock, and so no such endpoint.
    let Some(clock) = &app.test_clock else {
        return Err(ApiError::not_found(
            "the clock can be moved only on a server started with --test-clock",
        ));
    };
    if !(1..=MAX_ADVANCE_HOURS).contains(&req.advance_hours) {
        return Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("advance_hours must be between 1 and {MAX_ADVANCE_HOURS}"),
        )
        .with_field("advance_hours"));
    }
    clock.advance(time::Duration::hours(i64::from(req.advance_hours)));
    let tick = run_tick(&app).await?;
    Ok(Json(ClockMoved {
        now: app.ledger.clock().now(),
        tick,
    }))
}
