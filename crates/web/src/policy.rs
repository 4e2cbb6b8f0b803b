//! The policy: checking a policy file before it is deployed, with the same
//! parser `serve --policy` uses, so an administrator sees the line of a
//! mistake before the server refuses to start on it.

use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use jiefen_domain::policy::Policy;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// Larger than any real policy (the shipped one is about 8 KiB).
pub const MAX_POLICY_BYTES: usize = 256 * 1024;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyText {
    /// The policy file's TOML, as `serve --policy` would read it.
    pub policy: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyChecked {
    pub version: String,
    /// Deadline rules at the top level.
    pub deadlines: usize,
    /// Jurisdictions with rules of their own.
    pub overrides: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/policy/check",
    operation_id = "check_policy",
    tag = "reference",
    request_body = PolicyText,
    responses(
        (status = 200, description = "The policy is valid against this deployment's categories", body = PolicyChecked),
        (status = 422, description = "`invalid_policy`: the message names the line", body = ErrorBody),
    )
)]
pub async fn check(
    State(app): State<Arc<AppState>>,
    ApiJson(req): ApiJson<PolicyText>,
) -> Result<Json<PolicyChecked>, ApiError> {
    if req.policy.len() > MAX_POLICY_BYTES {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_policy",
            format!("a policy file is at most {} KiB", MAX_POLICY_BYTES / 1024),
        )
        .with_field("policy"));
    }
    let refs = app.ledger.refs();
    let policy = Policy::from_toml(&req.policy, &refs.taxonomy).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_policy",
            e.to_string(),
        )
        .with_field("policy")
    })?;
    Ok(Json(PolicyChecked {
        version: policy.version.clone(),
        deadlines: policy.deadlines.len(),
        overrides: policy
            .jurisdictions
            .iter()
            .map(|(code, _)| code.to_string())
            .collect(),
    }))
}
