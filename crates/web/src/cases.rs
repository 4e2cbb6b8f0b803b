//! Cases: register, read, list, act on, their parties, their repeats and
//! their export.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{case_id, ApiJson, ApiPath, IdempotencyKey, QueryParams, IDEMPOTENT_REPLAYED};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jiefen_domain::body::BodyCode;
use jiefen_domain::case::{Case, CaseId, CaseKind, CaseState, DeadlineSignal, RiskLevel};
use jiefen_domain::jurisdiction::JurisdictionCode;
use jiefen_domain::lifecycle::{Actor, Command, NewCase};
use jiefen_domain::party::{PartyKind, PartyRole, PersonalFieldKind};
use jiefen_domain::repeats::RepeatReason;
use jiefen_domain::taxonomy::CategoryCode;
use jiefen_domain::Timestamp;
use jiefen_ledger::bundle::CaseBundle;
use jiefen_ledger::hash::Hash;
use jiefen_store::writer::WriteOutcome;
use jiefen_store::{CaseFilter, CaseQuery, ListCursor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// Registers a case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCaseRequest {
    /// Staff identifier of whoever registers it.
    #[schema(value_type = String, example = "clerk-01")]
    pub actor: Actor,
    pub case: NewCase,
}

/// One command on an existing case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    #[schema(value_type = String, example = "clerk-01")]
    pub actor: Actor,
    pub action: Command,
}

/// A case as it stands, with its flat state and, while a deadline runs
/// (acceptance, then handling), its deadline signal as of now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    #[serde(flatten)]
    pub case: Case,
    pub state: CaseState,
    pub deadline_signal: Option<DeadlineSignal>,
}

impl CaseView {
    pub fn new(case: Case, now: Timestamp) -> Self {
        Self {
            state: case.state(),
            deadline_signal: case.deadline_signal(now),
            case,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    /// Newest first.
    pub items: Vec<CaseView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A party with its personal values masked; the full values never leave
/// through this endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartyView {
    pub no: u32,
    pub role: PartyRole,
    pub kind: PartyKind,
    pub organisation: Option<String>,
    pub personal: Vec<MaskedField>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MaskedField {
    pub field: PersonalFieldKind,
    /// The commitment in the case's events.
    pub commitment: Hash,
    /// Null once the value has been erased.
    pub masked: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartiesView {
    pub case_id: CaseId,
    pub parties: Vec<PartyView>,
}

/// The response to a write: `fresh` status, or 200 with
/// `Idempotent-Replayed: true` when an idempotency key replayed it.
pub(crate) fn written<B: Serialize>(
    replayed: bool,
    fresh: StatusCode,
    location: Option<String>,
    body: &B,
) -> Response {
    let status = if replayed { StatusCode::OK } else { fresh };
    let mut res = (status, Json(body)).into_response();
    if let Some(loc) = location.and_then(|l| HeaderValue::try_from(l).ok()) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    if replayed {
        res.headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    res
}

#[utoipa::path(
    post,
    path = "/api/v1/cases",
    operation_id = "create_case",
    tag = "cases",
    request_body = CreateCaseRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header,
            description = "1–200 visible ASCII characters; a retry with the same key and body gets the first answer"),
    ),
    responses(
        (status = 201, description = "Registered", body = WriteOutcome,
            headers(("Location" = String, description = "/api/v1/cases/{id}"))),
        (status = 200, description = "Replay of an earlier request with the same Idempotency-Key", body = WriteOutcome,
            headers(("Location" = String), ("Idempotent-Replayed" = String, description = "true"))),
        (status = 400, description = "`malformed_json`, `invalid_idempotency_key`", body = ErrorBody),
        (status = 413, description = "`payload_too_large` (over 1 MiB)", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not application/json", body = ErrorBody),
        (status = 422, description = "`invalid_request` (with the JSON path in `field`), `invalid`, `unknown_jurisdiction`, `unknown_category`, `idempotency_key_reused`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn create(
    State(app): State<Arc<AppState>>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(req): ApiJson<CreateCaseRequest>,
) -> Result<Response, ApiError> {
    let outcome = app
        .ledger
        .create(req.case, req.actor, key)
        .await
        .map_err(|e| ApiError::from_write(e, Some("case")))?;
    let location = format!("/api/v1/cases/{}", outcome.case_id);
    Ok(written(
        outcome.replayed,
        StatusCode::CREATED,
        Some(location),
        &outcome,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}",
    operation_id = "get_case",
    tag = "cases",
    params(("id" = String, Path, description = "Case id (UUID)")),
    responses(
        (status = 200, body = CaseView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn get(
    State(app): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = case_id(&id)?;
    let doc = app
        .ledger
        .document(id)
        .await?
        .ok_or_else(|| ApiError::no_case(id))?;
    let body = doc.into_view_json(app.ledger.clock().now());
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

const LIST_PARAMS: &[&str] = &[
    "jurisdiction",
    "kind",
    "state",
    "category",
    "body",
    "risk",
    "signal",
    "created_from",
    "created_to",
    "cursor",
    "limit",
];

/// The `limit` of a paged list: 1–200, default 50.
pub(crate) fn page_limit(q: &QueryParams) -> Result<u32, ApiError> {
    Ok(q.parse_with("limit", "a whole number from 1 to 200", |s| {
        s.parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
    })?
    .unwrap_or(DEFAULT_LIMIT))
}

pub(crate) fn one_of<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> String {
    let names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
    format!("one of {}", names.join(", "))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases",
    operation_id = "list_cases",
    description = "Open red cases first (红色预警 at the top of every queue), then the newest.",
    tag = "cases",
    params(
        ("jurisdiction" = Option<String>, Query, description = "A jurisdiction code; matches its whole subtree"),
        ("kind" = Option<CaseKind>, Query),
        ("state" = Option<CaseState>, Query),
        ("category" = Option<String>, Query, description = "A first-level code matches its sub-categories too"),
        ("body" = Option<String>, Query, description = "Handling body code"),
        ("risk" = Option<RiskLevel>, Query),
        ("signal" = Option<DeadlineSignal>, Query),
        ("created_from" = Option<String>, Query, description = "RFC 3339, inclusive"),
        ("created_to" = Option<String>, Query, description = "RFC 3339, exclusive"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
        ("limit" = Option<u32>, Query, description = "1–200, default 50"),
    ),
    responses(
        (status = 200, body = CaseList),
        (status = 422, description = "`invalid_query` (parameter in `field`), `unknown_jurisdiction`, `unknown_category`, `unknown_body`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn list(
    State(app): State<Arc<AppState>>,
    q: QueryParams,
) -> Result<Json<CaseList>, ApiError> {
    q.only(LIST_PARAMS)?;
    let refs = app.ledger.refs();
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let mut filter = CaseFilter::default();
    if let Some(raw) = q.get("jurisdiction") {
        let code = JurisdictionCode::parse(raw)
            .ok()
            .filter(|c| refs.tree.get(c).is_some())
            .ok_or_else(|| {
                ApiError::new(
                    unprocessable,
                    "unknown_jurisdiction",
                    format!("unknown jurisdiction {raw:?}"),
                )
                .with_field("jurisdiction")
            })?;
        filter.jpath_prefix = Some(refs.path(&code));
    }
    filter.kind = q.parse_with(
        "kind",
        &one_of(CaseKind::ALL, CaseKind::as_str),
        CaseKind::parse,
    )?;
    filter.state = q.parse_with(
        "state",
        &one_of(CaseState::ALL, CaseState::as_str),
        CaseState::parse,
    )?;
    filter.risk = q.parse_with(
        "risk",
        &one_of(RiskLevel::ALL, RiskLevel::as_str),
        RiskLevel::parse,
    )?;
    filter.signal = q.parse_with(
        "signal",
        &one_of(DeadlineSignal::ALL, DeadlineSignal::as_str),
        DeadlineSignal::parse,
    )?;
    if let Some(c) = q.parse_with(
        "category",
        "a category code such as labour.wage_arrears",
        |s| CategoryCode::parse(s).ok(),
    )? {
        if refs.taxonomy.get(&c).is_none() {
            return Err(ApiError::new(
                unprocessable,
                "unknown_category",
                format!("unknown category {c}"),
            )
            .with_field("category"));
        }
        filter.category = Some(c.to_string());
    }
    if let Some(b) = q.parse_with("body", "a handling body code", |s| BodyCode::parse(s).ok())? {
        if !refs.bodies.contains_key(&b) {
            return Err(ApiError::new(
                unprocessable,
                "unknown_body",
                format!("unknown handling body {b}"),
            )
            .with_field("body"));
        }
        filter.body = Some(b.to_string());
    }
    let rfc3339 = "an RFC 3339 timestamp such as 2026-03-02T08:00:00Z";
    filter.created_from = q.parse_with("created_from", rfc3339, |s| Timestamp::parse(s).ok())?;
    filter.created_to = q.parse_with("created_to", rfc3339, |s| Timestamp::parse(s).ok())?;
    let after = q.parse_with(
        "cursor",
        "the next_cursor of a previous page",
        ListCursor::parse,
    )?;
    let limit = page_limit(&q)?;
    let now = app.ledger.clock().now();
    let cases = app
        .ledger
        .list(&CaseQuery {
            filter,
            after,
            limit,
            now,
        })
        .await?;
    let next_cursor = (cases.len() == limit as usize)
        .then(|| cases.last().map(|c| ListCursor::of(c).to_string()))
        .flatten();
    let items = cases.into_iter().map(|c| CaseView::new(c, now)).collect();
    Ok(Json(CaseList { items, next_cursor }))
}

#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/actions",
    operation_id = "act_on_case",
    tag = "cases",
    request_body = ActionRequest,
    params(
        ("id" = String, Path, description = "Case id (UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "1–200 visible ASCII characters"),
    ),
    responses(
        (status = 200, description = "Recorded (or replayed, with `Idempotent-Replayed: true`)", body = WriteOutcome),
        (status = 400, description = "`malformed_json`, `invalid_idempotency_key`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`illegal_transition`: the case's state does not allow this action", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid_request`, `invalid`, `unknown_body`, `idempotency_key_reused`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn act(
    State(app): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(req): ApiJson<ActionRequest>,
) -> Result<Response, ApiError> {
    let id = case_id(&id)?;
    let outcome = app
        .ledger
        .act(id, req.action, req.actor, key)
        .await
        .map_err(|e| ApiError::from_write(e, Some("action")))?;
    Ok(written(outcome.replayed, StatusCode::OK, None, &outcome))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/parties",
    operation_id = "case_parties",
    tag = "cases",
    params(("id" = String, Path, description = "Case id (UUID)")),
    responses(
        (status = 200, body = PartiesView),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
pub async fn parties(
    State(app): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PartiesView>, ApiError> {
    let id = case_id(&id)?;
    let (case, values) = tokio::join!(app.ledger.get(id), app.ledger.personal_values(id));
    let case = case?.ok_or_else(|| ApiError::no_case(id))?;
    let values = values?;
    let parties = case
        .parties
        .into_iter()
        .map(|p| PartyView {
            personal: p
                .personal
                .iter()
                .map(|f| MaskedField {
                    field: f.field,
                    commitment: f.commitment,
                    masked: values
                        .iter()
                        .find(|v| v.commitment == f.commitment)
                        .map(|v| v.field.mask(&v.value)),
                })
                .collect(),
            no: p.no,
            role: p.role,
            kind: p.kind,
            organisation: p.organisation,
        })
        .collect();
    Ok(Json(PartiesView {
        case_id: id,
        parties,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/export",
    operation_id = "export_case",
    tag = "cases",
    params(
        ("id" = String, Path, description = "Case id (UUID)"),
        ("personal" = Option<bool>, Query, description = "Include personal values with their salts (default false)"),
    ),
    responses(
        (status = 200, description = "An offline-verifiable bundle (jiefen.case-bundle.v1)", body = CaseBundle),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid_query`", body = ErrorBody),
    )
)]
pub async fn export(
    State(app): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
    q: QueryParams,
) -> Result<Json<CaseBundle>, ApiError> {
    let id = case_id(&id)?;
    q.only(&["personal"])?;
    let personal = q
        .parse_with("personal", "true or false", |s| s.parse::<bool>().ok())?
        .unwrap_or(false);
    let bundle =
        app.ledger
            .export(id, personal, &[])
            .await
            .map_err(|e| match ApiError::from(e) {
                e if e.status == StatusCode::NOT_FOUND => ApiError::no_case(id),
                e => e,
            })?;
    if personal {
        // Every full view of personal data is to be traceable.
        tracing::info!(case_id = %id, values = bundle.personal_data.len(), "personal data disclosed in an export");
    }
    Ok(Json(bundle))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/routing",
    operation_id = "propose_routing",
    tag = "cases",
    params(("id" = String, Path, description = "Case id (UUID)")),
    responses(
        (status = 200, description = "The proposed body and level, with reasons; the clerk accepts it by assigning, or chooses another", body = jiefen_domain::routing::Proposal),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`no_body`: no body in the case's jurisdiction or above takes its category", body = ErrorBody),
    )
)]
pub async fn routing(
    State(app): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<jiefen_domain::routing::Proposal>, ApiError> {
    let id = case_id(&id)?;
    let case = app
        .ledger
        .get(id)
        .await?
        .ok_or_else(|| ApiError::no_case(id))?;
    let refs = app.ledger.refs();
    use jiefen_domain::lifecycle::Reference;
    refs.propose_route(&case).map(Json).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_body",
            format!(
                "no body in {} or above takes category {}",
                case.location.jurisdiction, case.category
            ),
        )
    })
}

/// A reason an earlier case may be the same matter, with its label for
/// people.
#[derive(Debug, Serialize, ToSchema)]
pub struct RepeatReasonView {
    pub reason: RepeatReason,
    #[schema(example = "同一申请人（电话相同）")]
    pub zh: &'static str,
}

/// The other case of a repeat, as much as a clerk needs to judge it
/// without opening it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RelatedCase {
    pub case_id: CaseId,
    /// Null only if the other case cannot be read: the link is kept in
    /// events and is shown regardless.
    pub number: Option<String>,
    pub title: Option<String>,
    pub state: Option<CaseState>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PossibleRepeatView {
    #[serde(flatten)]
    pub case: RelatedCase,
    pub reasons: Vec<RepeatReasonView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RepeatsView {
    pub case_id: CaseId,
    /// Earlier cases found at registration by the same applicant ID number
    /// or phone, or the same respondent in the same place; oldest first.
    pub possible_repeats: Vec<PossibleRepeatView>,
    /// Cases a clerk linked (merged) into this one.
    pub repeats: Vec<RelatedCase>,
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/repeats",
    operation_id = "case_repeats",
    tag = "cases",
    params(("id" = String, Path, description = "Case id (UUID)")),
    responses(
        (status = 200, body = RepeatsView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn repeats(
    State(app): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RepeatsView>, ApiError> {
    let id = case_id(&id)?;
    let case = app
        .ledger
        .get(id)
        .await?
        .ok_or_else(|| ApiError::no_case(id))?;
    // A case may be both found and linked; read each other case once.
    let mut others: HashMap<CaseId, RelatedCase> = HashMap::new();
    let wanted = case
        .possible_repeats
        .iter()
        .map(|p| p.case_id)
        .chain(case.repeats.iter().copied());
    for other in wanted {
        if others.contains_key(&other) {
            continue;
        }
        let found = app.ledger.get(other).await?;
        others.insert(
            other,
            RelatedCase {
                case_id: other,
                number: found.as_ref().map(|c| c.number.clone()),
                title: found.as_ref().map(|c| c.title.as_str().to_owned()),
                state: found.as_ref().map(Case::state),
            },
        );
    }
    let related = |other: CaseId| others[&other].clone();
    let possible_repeats = case
        .possible_repeats
        .iter()
        .map(|p| PossibleRepeatView {
            case: related(p.case_id),
            reasons: p
                .reasons
                .iter()
                .map(|r| RepeatReasonView {
                    reason: *r,
                    zh: r.zh(),
                })
                .collect(),
        })
        .collect();
    let repeats = case.repeats.iter().map(|r| related(*r)).collect();
    Ok(Json(RepeatsView {
        case_id: id,
        possible_repeats,
        repeats,
    }))
}
