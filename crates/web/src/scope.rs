//! The one place case reads are limited to what the caller may see.
//!
//! A route with a case id takes [`CaseInScope`]: the case is loaded once,
//! and a case outside the caller's scope answers exactly like a case that
//! does not exist (404), so ids cannot be probed; the attempt is written to
//! the security log. Lists and counts take [`scope_of`] into their filter,
//! which the store applies in SQL before paging. Handlers read cases only
//! through these two.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::case_id;
use crate::AppState;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use jiefen_domain::audit::AuditAction;
use jiefen_domain::case::{Case, CaseId};
use jiefen_store::{CaseDocument, ScopeFilter};
use std::sync::Arc;

/// The caller's scope in the projection's terms.
pub fn scope_of(app: &AppState, principal: &Principal) -> ScopeFilter {
    app.ledger
        .refs()
        .scope_filter(&principal.staff.case_scope())
}

/// A case the caller may see, named by the route's `{id}`.
pub struct CaseInScope {
    pub id: CaseId,
    pub doc: CaseDocument,
    pub principal: Principal,
}

impl CaseInScope {
    pub fn case(&self) -> Result<Case, ApiError> {
        self.doc.case().map_err(ApiError::from)
    }
}

/// Loads another case the caller names (a merge target, a repeat): `None`
/// when it does not exist or is outside the caller's scope.
pub async fn other_case(
    app: &AppState,
    principal: &Principal,
    id: CaseId,
) -> Result<Option<CaseDocument>, ApiError> {
    let scope = scope_of(app, principal);
    Ok(app
        .ledger
        .document(id)
        .await?
        .filter(|d| scope.admits(&d.jpath, d.body.as_deref())))
}

impl FromRequestParts<Arc<AppState>> for CaseInScope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<AppState>) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, app).await?;
        let params = RawPathParams::from_request_parts(parts, app)
            .await
            .map_err(|_| ApiError::not_found("no such resource"))?;
        let raw = params
            .iter()
            .find(|(name, _)| *name == "id")
            .map(|(_, v)| v.to_owned())
            .ok_or_else(|| ApiError::not_found("no such resource"))?;
        let id = case_id(&raw)?;
        let doc = app
            .ledger
            .document(id)
            .await?
            .ok_or_else(|| ApiError::no_case(id))?;
        if !scope_of(app, &principal).admits(&doc.jpath, doc.body.as_deref()) {
            let entry = principal
                .audit(app.ledger.clock().now(), AuditAction::PermissionDenied)
                .case(id)
                .detail(format!(
                    "{} {}: outside scope",
                    parts.method,
                    parts.uri.path()
                ));
            app.record(entry).await;
            return Err(ApiError::no_case(id));
        }
        Ok(Self { id, doc, principal })
    }
}
