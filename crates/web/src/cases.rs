//! Cases: register, read, list, act on, their parties, their repeats and
//! their export.

use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, IdempotencyKey, QueryParams, IDEMPOTENT_REPLAYED};
use crate::scope::{other_case, scope_of, CaseInScope};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jiefen_domain::access::Function;
use jiefen_domain::audit::AuditAction;
use jiefen_domain::body::BodyCode;
use jiefen_domain::case::{Case, CaseId, CaseKind, CaseState, Channel, DeadlineSignal, RiskLevel};
use jiefen_domain::jurisdiction::JurisdictionCode;
use jiefen_domain::lifecycle::{Command, NewCase};
use jiefen_domain::party::{PartyKind, PartyRole, PersonalFieldKind};
use jiefen_domain::repeats::RepeatReason;
use jiefen_domain::taxonomy::CategoryCode;
use jiefen_domain::Timestamp;
use jiefen_ledger::bundle::CaseBundle;
use jiefen_ledger::hash::Hash;
use jiefen_store::writer::WriteOutcome;
use jiefen_store::{CaseFilter, CaseOrder, CaseQuery, ListCursor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// Registers a case. Whoever is signed in is recorded as registering it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCaseRequest {
    pub case: NewCase,
}

/// One command on an existing case, given by whoever is signed in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
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
    /// The full value, only when asked for with `full=true` and a reason
    /// (and then written to the security log).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
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
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$",
            description = "1–200 visible ASCII characters; a retry with the same key and body gets the first answer"),
    ),
    responses(
        (status = 201, description = "Registered", body = WriteOutcome,
            headers(("Location" = String, description = "/api/v1/cases/{id}"))),
        (status = 200, description = "Replay of an earlier request with the same Idempotency-Key", body = WriteOutcome,
            headers(("Location" = String), ("Idempotent-Replayed" = String, description = "true"))),
        (status = 400, description = "`malformed_json`, `invalid_idempotency_key`", body = ErrorBody),
        (status = 403, description = "`forbidden`: the role may not register cases, or not at that place (outside the caller's subtree)", body = ErrorBody),
        (status = 413, description = "`payload_too_large` (over 1 MiB)", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not application/json", body = ErrorBody),
        (status = 422, description = "`invalid_request` (with the JSON path in `field`), `invalid`, `unknown_jurisdiction`, `unknown_category`, `idempotency_key_reused`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn create(
    State(app): State<Arc<AppState>>,
    principal: Principal,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(req): ApiJson<CreateCaseRequest>,
) -> Result<Response, ApiError> {
    let place = &req.case.jurisdiction;
    let tree = &app.ledger.refs().tree;
    // An unknown place is the ledger's to refuse, with its field.
    if tree.get(place).is_some() && !principal.staff.may_register_at(place, tree) {
        let what = format!("register a case at {place}: outside scope");
        return Err(principal.deny(&app, what, None).await);
    }
    let outcome = app
        .ledger
        .create(req.case, principal.actor(), key)
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
    found: CaseInScope,
) -> Result<Response, ApiError> {
    let body = found.doc.into_view_json(app.ledger.clock().now());
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
    "channel",
    "place",
    "resolved",
    "on_time",
    "satisfied",
    "returned",
    "overdue",
    "registered_by",
    "handler",
    "sort",
    "cursor",
    "limit",
];

/// The `limit` of a paged list: 1–200, default 50.
pub fn page_limit(q: &QueryParams) -> Result<u32, ApiError> {
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
        ("jurisdiction" = Option<String>, Query, pattern = "^[A-Za-z0-9-]{0,32}$", description = "A jurisdiction code; matches its whole subtree (empty: not given)"),
        ("kind" = Option<CaseKind>, Query),
        ("state" = Option<CaseState>, Query),
        ("category" = Option<String>, Query, description = "A first-level code matches its sub-categories too"),
        ("body" = Option<String>, Query, description = "Handling body code; `-` for cases no body handles"),
        ("risk" = Option<RiskLevel>, Query),
        ("signal" = Option<DeadlineSignal>, Query),
        ("created_from" = Option<String>, Query, description = "RFC 3339, inclusive"),
        ("created_to" = Option<String>, Query, description = "RFC 3339, exclusive"),
        ("channel" = Option<Channel>, Query),
        ("place" = Option<String>, Query, description = "A jurisdiction code: only cases at exactly that place, not below it"),
        ("resolved" = Option<bool>, Query, description = "Answered and not reopened (办结)"),
        ("on_time" = Option<bool>, Query, description = "Resolved within the deadline (按期办结)"),
        ("satisfied" = Option<bool>, Query, description = "Rated 满意 or 基本满意 (`true`) or 不满意 (`false`); unrated cases match neither"),
        ("returned" = Option<bool>, Query, description = "Sent back by the handling body (退回) and waiting to be routed again"),
        ("overdue" = Option<bool>, Query, description = "Open and recorded overdue (超期) by the deadline engine, as the overdue figure counts; `signal=overdue` compares the deadline with the time asked instead"),
        ("registered_by" = Option<String>, Query, description = "The user name of the account that registered the case"),
        ("handler" = Option<String>, Query, description = "The user name of the handler who signed for the case for its body (签收); kept through its conclusion, cleared when the case is routed elsewhere"),
        ("sort" = Option<String>, Query, description = "`priority` (default: open red cases first, then the newest), `deadline` (the soonest running deadline first, then cases with none, newest first), `newest` or `oldest` (by registration)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page, with the same `sort`"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "1–200, default 50"),
    ),
    responses(
        (status = 200, body = CaseList),
        (status = 422, description = "`invalid_query` (parameter in `field`), `unknown_jurisdiction`, `unknown_category`, `unknown_body`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn list(
    State(app): State<Arc<AppState>>,
    principal: Principal,
    q: QueryParams,
) -> Result<Json<CaseList>, ApiError> {
    q.only(LIST_PARAMS)?;
    list_page(&app, &principal, &q).await.map(Json)
}

/// A page of the case list with the query's filters, inside the caller's
/// scope: the API's and the work queue's.
pub async fn list_page(
    app: &AppState,
    principal: &Principal,
    q: &QueryParams,
) -> Result<CaseList, ApiError> {
    let filter = list_filter(app, principal, q)?;
    let order = q
        .parse_with(
            "sort",
            "priority, deadline, newest or oldest",
            CaseOrder::parse,
        )?
        .unwrap_or_default();
    let after = q.parse_with(
        "cursor",
        "the next_cursor of a previous page with the same sort",
        |s| ListCursor::parse(s, order),
    )?;
    let limit = page_limit(q)?;
    let now = app.ledger.clock().now();
    let cases = app
        .ledger
        .list(&CaseQuery {
            filter,
            order,
            after,
            limit,
            now,
        })
        .await?;
    let next_cursor = (cases.len() == limit as usize)
        .then(|| cases.last().map(|c| ListCursor::of(c, order).to_string()))
        .flatten();
    let items = cases.into_iter().map(|c| CaseView::new(c, now)).collect();
    Ok(CaseList { items, next_cursor })
}

/// The `body` value for cases no body handles.
pub const NO_BODY: &str = "-";

/// The subtree path of the `jurisdiction` parameter, if given.
pub(crate) fn jurisdiction_path(
    refs: &jiefen_store::refdata::RefData,
    q: &QueryParams,
) -> Result<Option<String>, ApiError> {
    if q.get("jurisdiction").is_none() {
        return Ok(None);
    }
    let code = known_jurisdiction(refs, q, "jurisdiction")?;
    Ok(Some(refs.path(&code)))
}

/// The jurisdiction a present parameter names, refused unless it exists.
pub(crate) fn known_jurisdiction(
    refs: &jiefen_store::refdata::RefData,
    q: &QueryParams,
    name: &str,
) -> Result<JurisdictionCode, ApiError> {
    let raw = q.get(name).unwrap_or_default();
    JurisdictionCode::parse(raw)
        .ok()
        .filter(|c| refs.tree.get(c).is_some())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_jurisdiction",
                format!("unknown jurisdiction {raw:?}"),
            )
            .with_field(name)
        })
}

/// The case list's filters, inside the caller's scope; search takes the
/// same ones.
pub fn list_filter(
    app: &AppState,
    principal: &Principal,
    q: &QueryParams,
) -> Result<CaseFilter, ApiError> {
    let refs = app.ledger.refs();
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let mut filter = CaseFilter {
        scope: scope_of(app, principal),
        ..CaseFilter::default()
    };
    filter.jpath_prefix = jurisdiction_path(&refs, q)?;
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
    filter.channel = q.parse_with(
        "channel",
        &one_of(Channel::ALL, Channel::as_str),
        Channel::parse,
    )?;
    let boolean = |name: &str| {
        q.parse_with(name, "true or false", |s| match s {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        })
    };
    filter.resolved = boolean("resolved")?;
    filter.on_time = boolean("on_time")?;
    filter.satisfied = boolean("satisfied")?;
    filter.returned = boolean("returned")?;
    filter.overdue = boolean("overdue")?;
    let user_name = |name| {
        q.parse_with(name, "a user name", |s| {
            jiefen_domain::access::Username::parse(s).ok()
        })
        .map(|u| u.map(|u| u.to_string()))
    };
    filter.registered_by = user_name("registered_by")?;
    filter.handler = user_name("handler")?;
    if q.get("place").is_some() {
        let code = known_jurisdiction(&refs, q, "place")?;
        filter.place = Some(code.to_string());
    }
    if q.get("body") == Some(NO_BODY) {
        filter.no_body = true;
    } else if let Some(b) = q.parse_with("body", "a handling body code, or -", |s| {
        BodyCode::parse(s).ok()
    })? {
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
    Ok(filter)
}

#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/actions",
    operation_id = "act_on_case",
    tag = "cases",
    request_body = ActionRequest,
    params(
        ("id" = String, Path, description = "Case id (UUID)"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "1–200 visible ASCII characters"),
    ),
    responses(
        (status = 200, description = "Recorded (or replayed, with `Idempotent-Replayed: true`)", body = WriteOutcome),
        (status = 400, description = "`malformed_json`, `invalid_idempotency_key`", body = ErrorBody),
        (status = 403, description = "`forbidden`: the role may not give this command", body = ErrorBody),
        (status = 404, description = "`not_found`: no such case in the caller's scope", body = ErrorBody),
        (status = 409, description = "`illegal_transition`: the case's state does not allow this action", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid_request`, `invalid`, `unknown_body`, `idempotency_key_reused`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn act(
    State(app): State<Arc<AppState>>,
    found: CaseInScope,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(req): ApiJson<ActionRequest>,
) -> Result<Response, ApiError> {
    let (id, principal) = (found.id, found.principal);
    if !principal.staff.role().may_give(&req.action) {
        let what = format!("{} on case {id}", req.action.name());
        return Err(principal.deny(&app, what, Some(id)).await);
    }
    // A merge names a second case: it too must be one the caller can see,
    // or merging would reveal (and change) a case outside their scope.
    if let Command::Merge { into, .. } = &req.action {
        if other_case(&app, &principal, *into).await?.is_none() {
            return Err(ApiError::no_case(into).with_field("action.into"));
        }
    }
    let outcome = app
        .ledger
        .act(id, req.action, principal.actor(), key)
        .await
        .map_err(|e| ApiError::from_write(e, Some("action")))?;
    Ok(written(outcome.replayed, StatusCode::OK, None, &outcome))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/parties",
    operation_id = "case_parties",
    tag = "cases",
    params(
        ("id" = String, Path, description = "Case id (UUID)"),
        ("full" = Option<bool>, Query, description = "Show the full values (roles that need them only; default false)"),
        ("reason" = Option<String>, Query, min_length = 2, max_length = 200, description = "Why the full values are needed (2–200 characters); required with full=true and written to the security log"),
    ),
    responses(
        (status = 200, body = PartiesView),
        (status = 403, description = "`forbidden`: the role may not see full personal data", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid_query`: full=true without a reason, or a reason that cannot be recorded", body = ErrorBody),
    )
)]
pub async fn parties(
    State(app): State<Arc<AppState>>,
    found: CaseInScope,
    q: QueryParams,
) -> Result<Json<PartiesView>, ApiError> {
    q.only(&["full", "reason"])?;
    parties_of(&app, &found, &q).await.map(Json)
}

/// A case's parties with their personal values masked, or in full with a
/// recorded reason (`full=true&reason=…`): the API's and the case page's.
pub async fn parties_of(
    app: &AppState,
    found: &CaseInScope,
    q: &QueryParams,
) -> Result<PartiesView, ApiError> {
    let full = q
        .parse_with("full", "true or false", |s| s.parse::<bool>().ok())?
        .unwrap_or(false);
    given_reason(q)?;
    let (id, principal) = (found.id, &found.principal);
    let reason = if full {
        Some(disclosure(app, principal, q, id, Function::ViewPersonalData).await?)
    } else {
        None
    };
    let case = found.case()?;
    let values = app.ledger.personal_values(id).await?;
    let value_of = |commitment: &Hash| values.iter().find(|v| v.commitment == *commitment);
    let mut shown = Vec::new();
    let parties = case
        .parties
        .into_iter()
        .map(|p| PartyView {
            personal: p
                .personal
                .iter()
                .map(|f| {
                    let stored = value_of(&f.commitment);
                    let value = stored.filter(|_| full).map(|v| v.value.clone());
                    if value.is_some() {
                        shown.push(f.field);
                    }
                    MaskedField {
                        field: f.field,
                        commitment: f.commitment,
                        masked: stored.map(|v| v.field.mask(&v.value)),
                        value,
                    }
                })
                .collect(),
            no: p.no,
            role: p.role,
            kind: p.kind,
            organisation: p.organisation,
        })
        .collect();
    if let Some(reason) = reason {
        let entry = principal
            .audit(app.ledger.clock().now(), AuditAction::PersonalDataViewed)
            .case(id)
            .fields(shown)
            .reason(reason);
        // A full view that cannot be recorded is not given.
        app.accounts.audit(vec![entry]).await?;
    }
    Ok(PartiesView {
        case_id: id,
        parties,
    })
}

/// The reason for a disclosure of personal data, after checking the role
/// may make it: 2–200 characters, required.
async fn disclosure(
    app: &AppState,
    principal: &Principal,
    q: &QueryParams,
    id: CaseId,
    needs: Function,
) -> Result<String, ApiError> {
    if !principal.staff.may(Function::ViewPersonalData) || !principal.staff.may(needs) {
        let what = format!("full personal data of case {id}");
        return Err(principal.deny(app, what, Some(id)).await);
    }
    given_reason(q)?.ok_or_else(|| ApiError::invalid_query("reason", REASON_WANTED))
}

const REASON_WANTED: &str =
    "say why the full personal data is needed (2–200 characters); it is recorded";

/// The `reason` parameter, when given; one that could not be recorded is
/// refused whether or not it is needed, as the schema says.
fn given_reason(q: &QueryParams) -> Result<Option<String>, ApiError> {
    match q.get("reason") {
        None => Ok(None),
        Some(raw) => jiefen_domain::audit::recorded_reason(raw)
            .map(|r| Some(r.to_owned()))
            .ok_or_else(|| ApiError::invalid_query("reason", REASON_WANTED)),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    /// The lawful ground (e.g. the person's request under PIPL art. 47),
    /// 2–200 characters; recorded in the security log.
    #[schema(min_length = 2, max_length = 200, pattern = r"\S.*\S")]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Erased {
    pub case_id: CaseId,
    pub party_no: u32,
    pub erased_fields: Vec<PersonalFieldKind>,
}

#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/parties/{no}/erase",
    operation_id = "erase_party",
    tag = "cases",
    description = "Destroys the party's data key: its name, ID number, phone and address can no longer be read from the database or any backup, while the case's history (commitments only) still verifies.",
    request_body = ErasureRequest,
    params(
        ("id" = String, Path, description = "Case id (UUID)"),
        ("no" = u32, Path, description = "The party's number within the case"),
    ),
    responses(
        (status = 200, body = Erased),
        (status = 404, description = "`not_found`: no such case in scope, no such party, or nothing left to erase", body = ErrorBody),
        (status = 422, description = "`invalid_request`: no reason", body = ErrorBody),
    )
)]
pub async fn erase(
    State(app): State<Arc<AppState>>,
    found: CaseInScope,
    ApiPath((_, no)): ApiPath<(String, u32)>,
    ApiJson(req): ApiJson<ErasureRequest>,
) -> Result<Json<Erased>, ApiError> {
    let (id, principal) = (found.id, &found.principal);
    let reason = jiefen_domain::audit::recorded_reason(&req.reason).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "give the lawful ground for the erasure (2–200 characters); it is recorded",
        )
        .with_field("reason")
    })?;
    let fields = match app.ledger.erase_party(id, no).await {
        Err(jiefen_store::StoreError::NotFound) => {
            return Err(ApiError::not_found(format!(
                "party {no} of case {id} has no personal data to erase"
            )))
        }
        other => other?,
    };
    let entry = principal
        .audit(app.ledger.clock().now(), AuditAction::PersonalDataErased)
        .party(id, no)
        .fields(fields.clone())
        .reason(reason);
    app.record(entry).await;
    Ok(Json(Erased {
        case_id: id,
        party_no: no,
        erased_fields: fields,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/export",
    operation_id = "export_case",
    tag = "cases",
    params(
        ("id" = String, Path, description = "Case id (UUID)"),
        ("personal" = Option<bool>, Query, description = "Include personal values with their salts (default false); needs a reason"),
        ("reason" = Option<String>, Query, min_length = 2, max_length = 200, description = "Why (2–200 characters); required with personal=true, recorded"),
    ),
    responses(
        (status = 200, description = "An offline-verifiable bundle (jiefen.case-bundle.v1)", body = CaseBundle),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid_query`", body = ErrorBody),
    )
)]
pub async fn export(
    State(app): State<Arc<AppState>>,
    found: CaseInScope,
    q: QueryParams,
) -> Result<Json<CaseBundle>, ApiError> {
    q.only(&["personal", "reason"])?;
    let personal = q
        .parse_with("personal", "true or false", |s| s.parse::<bool>().ok())?
        .unwrap_or(false);
    given_reason(&q)?;
    let (id, principal) = (found.id, &found.principal);
    let reason = if personal {
        Some(disclosure(&app, principal, &q, id, Function::ExportCase).await?)
    } else {
        None
    };
    let bundle =
        app.ledger
            .export(id, personal, &[])
            .await
            .map_err(|e| match ApiError::from(e) {
                e if e.status == StatusCode::NOT_FOUND => ApiError::no_case(id),
                e => e,
            })?;
    let mut entry = principal
        .audit(app.ledger.clock().now(), AuditAction::CaseExported)
        .case(id)
        .fields(
            bundle
                .personal_data
                .iter()
                .filter_map(|v| PersonalFieldKind::parse(&v.field))
                .collect(),
        );
    if let Some(r) = reason {
        entry = entry.reason(r);
    }
    // An export that cannot be recorded is not given.
    app.accounts.audit(vec![entry]).await?;
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
    found: CaseInScope,
) -> Result<Json<jiefen_domain::routing::Proposal>, ApiError> {
    let case = found.case()?;
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
    /// False when the other case is outside the caller's scope: only the
    /// link (which this case's own events record) is shown, nothing of it.
    pub in_scope: bool,
    /// Null when the other case is outside the caller's scope or cannot be
    /// read: the link is kept in events and is shown regardless.
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
    found: CaseInScope,
) -> Result<Json<RepeatsView>, ApiError> {
    repeats_of(&app, &found).await.map(Json)
}

/// A case's possible and linked repeats, each other case shown only as far
/// as the caller may see it: the API's and the case page's.
pub async fn repeats_of(app: &AppState, found: &CaseInScope) -> Result<RepeatsView, ApiError> {
    let (id, case) = (found.id, found.case()?);
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
        let visible = match other_case(app, &found.principal, other).await? {
            Some(doc) => Some(doc.case()?),
            None => None,
        };
        others.insert(
            other,
            RelatedCase {
                case_id: other,
                in_scope: visible.is_some(),
                number: visible.as_ref().map(|c| c.number.clone()),
                title: visible.as_ref().map(|c| c.title.as_str().to_owned()),
                state: visible.as_ref().map(Case::state),
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
    Ok(RepeatsView {
        case_id: id,
        possible_repeats,
        repeats,
    })
}
