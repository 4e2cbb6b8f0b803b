//! The route table: every endpoint with the one [`Access`] it requires.
//! The router is built from it and the authorisation test matrix walks it,
//! so an endpoint cannot be added without deciding who may call it, nor
//! escape the test.

use crate::AppState;
use crate::{
    attachments, auth, cases, engine, figures, history, hotspots, inbox, intake, log, openapi,
    people, policy, portal, reference, search,
};
use axum::http::Method;
use axum::routing::{delete, get, post, MethodRouter};
use jiefen_domain::access::Function;
use std::sync::Arc;

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in staff member (their own session).
    SignedIn,
    /// Staff whose role may use this function; case routes are further
    /// limited to the caller's scope by [`crate::scope`].
    Staff(Function),
}

#[derive(Debug, Clone)]
pub struct Route {
    pub method: Method,
    /// As axum and OpenAPI write it, e.g. `/api/v1/cases/{id}`.
    pub path: &'static str,
    /// The `operationId` in the OpenAPI document.
    pub operation: &'static str,
    pub access: Access,
}

type Handler = MethodRouter<Arc<AppState>>;

/// Every endpoint, its access and its handler.
pub fn endpoints() -> Vec<(Route, Handler)> {
    use Access::{Public, SignedIn, Staff};
    use Function as F;
    let r = |method: Method, path, operation, access, handler: Handler| {
        (
            Route {
                method,
                path,
                operation,
                access,
            },
            handler,
        )
    };
    // One line per endpoint, kept as a table.
    #[rustfmt::skip]
    let table = vec![
        r(Method::GET, "/healthz", "healthz", Public, get(crate::healthz)),
        r(Method::GET, "/openapi.json", "openapi", Public, get(openapi::spec)),
        // Sign-in and who one is.
        r(Method::POST, "/api/v1/session", "sign_in", Public, post(auth::sign_in)),
        r(Method::GET, "/api/v1/session", "whoami", SignedIn, get(auth::whoami)),
        r(Method::DELETE, "/api/v1/session", "sign_out", SignedIn, delete(auth::sign_out)),
        // Cases, each read limited to the caller's scope by `scope`.
        r(Method::POST, "/api/v1/cases", "create_case", Staff(F::RegisterCase), post(cases::create)),
        r(Method::GET, "/api/v1/cases", "list_cases", Staff(F::ReadCases), get(cases::list)),
        r(Method::GET, "/api/v1/search", "search_cases", Staff(F::ReadCases), get(search::search)),
        r(Method::GET, "/api/v1/hotspots", "hotspots", Staff(F::ReadCases), get(hotspots::list)),
        r(Method::GET, "/api/v1/figures", "figures", Staff(F::ReadCases), get(figures::get)),
        r(Method::POST, "/api/v1/intake/preview", "intake_preview", Staff(F::RegisterCase), post(intake::preview)),
        r(Method::POST, "/api/v1/model/reload", "reload_model", Staff(F::RunEngine), post(intake::reload)),
        r(Method::GET, "/api/v1/cases/{id}", "get_case", Staff(F::ReadCases), get(cases::get)),
        r(Method::POST, "/api/v1/cases/{id}/actions", "act_on_case", Staff(F::ActOnCase), post(cases::act)),
        r(Method::GET, "/api/v1/cases/{id}/history", "case_history", Staff(F::ReadCases), get(history::history)),
        r(Method::GET, "/api/v1/cases/{id}/parties", "case_parties", Staff(F::ReadCases), get(cases::parties)),
        r(Method::GET, "/api/v1/cases/{id}/routing", "propose_routing", Staff(F::ReadCases), get(cases::routing)),
        r(Method::GET, "/api/v1/cases/{id}/repeats", "case_repeats", Staff(F::ReadCases), get(cases::repeats)),
        r(Method::GET, "/api/v1/cases/{id}/export", "export_case", Staff(F::ExportCase), get(cases::export)),
        r(Method::POST, "/api/v1/cases/{id}/parties/{no}/erase", "erase_party", Staff(F::ErasePersonalData), post(cases::erase)),
        r(Method::POST, "/api/v1/cases/{id}/attachments", "upload_attachment", Staff(F::ActOnCase), post(attachments::upload)),
        r(Method::GET, "/api/v1/cases/{id}/attachments/{sha256}", "download_attachment", Staff(F::ReadCases), get(attachments::download)),
        // Work.
        r(Method::GET, "/api/v1/inbox", "inbox", Staff(F::ReadInbox), get(inbox::inbox)),
        r(Method::POST, "/api/v1/inbox/read", "mark_inbox_read", Staff(F::ReadInbox), post(inbox::mark_read)),
        r(Method::POST, "/api/v1/engine/tick", "engine_tick", Staff(F::RunEngine), post(engine::tick)),
        r(Method::POST, "/api/v1/engine/clock", "move_test_clock", Staff(F::RunEngine), post(engine::move_clock)),
        // The verifiable log.
        r(Method::GET, "/api/v1/log", "log_head", Staff(F::ReadLog), get(log::head)),
        r(Method::GET, "/api/v1/log/consistency", "log_consistency", Staff(F::ReadLog), get(log::consistency)),
        r(Method::POST, "/api/v1/checkpoints", "sign_checkpoint", Staff(F::SignCheckpoint), post(log::sign)),
        r(Method::GET, "/api/v1/checkpoints/latest", "latest_checkpoint", Staff(F::ReadLog), get(log::latest)),
        // Reference data: public, the citizens' portal needs it.
        r(Method::GET, "/api/v1/jurisdictions", "list_jurisdictions", Public, get(reference::jurisdictions)),
        r(Method::GET, "/api/v1/bodies", "list_bodies", Public, get(reference::bodies)),
        r(Method::GET, "/api/v1/categories", "list_categories", Public, get(reference::categories)),
        r(Method::POST, "/api/v1/policy/check", "check_policy", Staff(F::ManageReference), post(policy::check)),
        // People and the security log.
        r(Method::GET, "/api/v1/users", "list_users", Staff(F::ManageUsers), get(people::users)),
        r(Method::POST, "/api/v1/users", "add_user", Staff(F::ManageUsers), post(people::add_user)),
        r(Method::POST, "/api/v1/users/{username}/disable", "disable_user", Staff(F::ManageUsers), post(people::disable_user)),
        r(Method::POST, "/api/v1/users/{username}/enable", "enable_user", Staff(F::ManageUsers), post(people::enable_user)),
        r(Method::POST, "/api/v1/users/{username}/password", "reset_password", Staff(F::ManageUsers), post(people::reset_password)),
        r(Method::GET, "/api/v1/tokens", "list_tokens", Staff(F::ManageUsers), get(people::tokens)),
        r(Method::POST, "/api/v1/tokens", "create_token", Staff(F::ManageUsers), post(people::create_token)),
        r(Method::DELETE, "/api/v1/tokens/{id}", "revoke_token", Staff(F::ManageUsers), delete(people::revoke_token)),
        r(Method::GET, "/api/v1/audit", "audit_log", Staff(F::ReadAudit), get(people::audit)),
        r(Method::GET, "/api/v1/audit/verify", "verify_audit", Staff(F::ReadAudit), get(people::verify_audit)),
        // The citizens' portal: no account, the receipt code and phone digits.
        r(Method::POST, "/api/v1/public/cases", "submit_case", Public, post(portal::submit)),
        r(Method::POST, "/api/v1/public/track", "track_case", Public, post(portal::track)),
        r(Method::POST, "/api/v1/public/track/rate", "rate_case", Public, post(portal::rate)),
        r(Method::POST, "/api/v1/public/track/review", "ask_review", Public, post(portal::ask_review)),
    ];
    table
}

/// The table without its handlers.
pub fn routes() -> Vec<Route> {
    endpoints().into_iter().map(|(r, _)| r).collect()
}
