//! The OpenAPI 3.1 description, generated from the handlers' annotations
//! so it cannot drift from the code.

use crate::error::{ErrorBody, ErrorDetail};
use crate::routes::{routes, Access};
use crate::{
    attachments, auth, cases, engine, history, inbox, log, people, policy, portal, reference,
    Health,
};
use axum::http::{header, Method};
use axum::response::IntoResponse;
use std::sync::OnceLock;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::Required;
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Jiefen",
        description = "One-stop dispute resolution case ledger. Every error response is \
            `{\"error\":{\"code\",\"message\",\"field\"}}`: `code` is machine-readable \
            snake_case, `message` is for people, `field` names the JSON path, query \
            parameter or header at fault (or is null). Staff authenticate with a bearer \
            token (`Authorization: Bearer jf_…`) or the session cookie set by \
            `POST /api/v1/session`; writes made with the cookie carry its `X-CSRF-Token`.",
    ),
    paths(
        crate::healthz,
        spec,
        auth::sign_in,
        auth::whoami,
        auth::sign_out,
        cases::create,
        cases::list,
        crate::search::search,
        crate::intake::preview,
        crate::hotspots::list,
        crate::figures::get,
        crate::intake::reload,
        cases::get,
        cases::act,
        cases::parties,
        cases::routing,
        cases::export,
        cases::erase,
        cases::repeats,
        history::history,
        attachments::upload,
        attachments::download,
        inbox::inbox,
        inbox::mark_read,
        engine::tick,
        engine::move_clock,
        log::head,
        log::sign,
        log::latest,
        log::consistency,
        reference::jurisdictions,
        reference::bodies,
        reference::categories,
        policy::check,
        people::users,
        people::add_user,
        people::disable_user,
        people::enable_user,
        people::reset_password,
        people::tokens,
        people::create_token,
        people::revoke_token,
        people::audit,
        people::verify_audit,
        portal::submit,
        portal::track,
        portal::rate,
        portal::ask_review,
    ),
    components(schemas(ErrorBody, ErrorDetail, Health)),
    modifiers(&Security),
    tags(
        (name = "session", description = "Sign in and out; who one is"),
        (name = "cases", description = "Register cases, act on them, read them"),
        (name = "attachments", description = "Files attached to a case"),
        (name = "inbox", description = "What needs whom: notices derived from events, per body, handler and centre"),
        (name = "engine", description = "The deadline engine, run on demand"),
        (name = "log", description = "The verifiable Merkle log and its signed checkpoints"),
        (name = "reference", description = "Jurisdictions, handling bodies, categories"),
        (name = "portal", description = "The citizens' portal: bring a matter, follow it by receipt code and phone digits, rate it, ask for review"),
        (name = "people", description = "Accounts and API tokens (administrators), the security log (auditors)"),
        (name = "health"),
    )
)]
pub struct ApiDoc;

/// Built once: the document never changes while the process runs.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .expect("the OpenAPI document serialises")
    })
}

/// The security schemes, and each operation's requirement and refusals
/// taken from the route table, so the document says what the gate does.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::SESSION_COOKIE))),
        );
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for route in routes() {
            let Some(item) = doc.paths.paths.get_mut(route.path) else {
                continue;
            };
            let op: Option<&mut Operation> = match route.method {
                Method::GET => item.get.as_mut(),
                Method::POST => item.post.as_mut(),
                Method::DELETE => item.delete.as_mut(),
                _ => None,
            };
            let Some(op) = op else { continue };
            // An empty query parameter is taken as not given (what an HTML
            // form sends for a field left blank), so the document says so.
            for p in op.parameters.iter_mut().flatten() {
                if p.parameter_in == ParameterIn::Query && p.required == Required::False {
                    if let Some(schema) = p.schema.take() {
                        p.schema = Some(
                            AnyOfBuilder::new()
                                .item(schema)
                                .item(
                                    ObjectBuilder::new()
                                        .schema_type(Type::String)
                                        .max_length(Some(0)),
                                )
                                .into(),
                        );
                    }
                }
            }
            // Every route is behind the gate's rate limits.
            op.responses.responses.entry("429".into()).or_insert_with(|| {
                error("`rate_limited`: too many requests from this account or address; `too_many_attempts`: too many failed guesses. Retry-After says when to try again").into()
            });
            // Every JSON body goes through the one extractor, whose
            // refusals every such operation can answer.
            let takes_json = op
                .request_body
                .as_ref()
                .is_some_and(|b| b.content.contains_key("application/json"));
            if takes_json {
                let responses = &mut op.responses.responses;
                responses
                    .entry("400".into())
                    .or_insert_with(|| error("`malformed_json`: the body is not JSON").into());
                responses
                    .entry("413".into())
                    .or_insert_with(|| error("`payload_too_large`: a JSON body over 1 MiB").into());
                responses.entry("422".into()).or_insert_with(|| {
                    error("`invalid_request`: unknown fields, wrong types or invalid values; `field` is the JSON path").into()
                });
                responses.entry("415".into()).or_insert_with(|| {
                    error("`unsupported_media_type`: the body is not sent as application/json")
                        .into()
                });
            }
            if route.access == Access::Public {
                op.security = Some(vec![SecurityRequirement::default()]);
                continue;
            }
            op.security = Some(vec![
                SecurityRequirement::new("bearer", Vec::<String>::new()),
                SecurityRequirement::new("session", Vec::<String>::new()),
            ]);
            let responses = &mut op.responses.responses;
            responses.entry("401".into()).or_insert_with(|| {
                error("`unauthenticated`: no credentials, an ended session, or an unknown or revoked token").into()
            });
            responses.entry("403".into()).or_insert_with(|| {
                error("`forbidden`: the role may not do this; `csrf_failed`: a cookie-authenticated write without its X-CSRF-Token").into()
            });
        }
    }
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "health",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json")),
)]
pub async fn spec() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}

#[cfg(test)]
mod tests {
    #[test]
    fn document_is_openapi_3_1() {
        let doc: serde_json::Value = serde_json::from_str(super::document()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        if let Ok(path) = std::env::var("JIEFEN_DUMP_OPENAPI") {
            std::fs::write(path, super::document()).unwrap();
        }
    }
}
