//! The OpenAPI 3.1 description, generated from the handlers' annotations
//! so it cannot drift from the code.

use crate::error::{ErrorBody, ErrorDetail};
use crate::{attachments, cases, engine, history, inbox, log, reference, Health};
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::OnceLock;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Jiefen",
        description = "One-stop dispute resolution case ledger. Every error response is \
            `{\"error\":{\"code\",\"message\",\"field\"}}`: `code` is machine-readable \
            snake_case, `message` is for people, `field` names the JSON path, query \
            parameter or header at fault (or is null).",
    ),
    paths(
        crate::healthz,
        cases::create,
        cases::list,
        cases::get,
        cases::act,
        cases::parties,
        cases::routing,
        cases::export,
        cases::repeats,
        history::history,
        attachments::upload,
        attachments::download,
        inbox::inbox,
        inbox::mark_read,
        engine::tick,
        log::head,
        log::sign,
        log::latest,
        log::consistency,
        reference::jurisdictions,
        reference::bodies,
        reference::categories,
    ),
    components(schemas(ErrorBody, ErrorDetail, Health)),
    tags(
        (name = "cases", description = "Register cases, act on them, read them"),
        (name = "attachments", description = "Files attached to a case"),
        (name = "inbox", description = "What needs whom: notices derived from events, per body, handler and centre"),
        (name = "engine", description = "The deadline engine, run on demand"),
        (name = "log", description = "The verifiable Merkle log and its signed checkpoints"),
        (name = "reference", description = "Jurisdictions, handling bodies, categories"),
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
