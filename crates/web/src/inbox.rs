//! Inboxes: what needs whom. The ledger fills them from events in the same
//! transaction that records the events; here they are only read and marked
//! read.

use crate::auth::Principal;
use crate::cases::{one_of, page_limit};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, QueryParams};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use jiefen_domain::inbox::{NoticeKind, Recipient};
use jiefen_store::{InboxItem, InboxQuery};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::ToSchema;

/// Ids one request may mark: each is a bound parameter, and databases cap
/// those per statement.
pub const MAX_MARK_IDS: usize = 1000;

const RECIPIENT_FORMS: &str = "body:CODE, staff:NAME or centre:JURISDICTION_CODE";

#[derive(Debug, Serialize, ToSchema)]
pub struct Inbox {
    /// As given, normalised (`staff:handler-wang`).
    pub recipient: String,
    /// Newest first.
    pub items: Vec<InboxItem>,
    /// Over the whole inbox, whatever the filters of this page.
    pub unread: UnreadCounts,
    /// Pass as `before` for the next page; null on the last page.
    pub next_before: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCounts {
    /// The sum of `by_kind`: exact unless `more`.
    pub total: u64,
    /// Only kinds with unread items appear. Each is counted up to 999.
    #[schema(example = json!({"overdue": 2, "due_soon": 1}))]
    pub by_kind: BTreeMap<String, u64>,
    /// Some kind has more than 999 unread: its count stops there, and
    /// the total is a lower bound (show it as "999+").
    pub more: bool,
}

impl From<&jiefen_store::UnreadCounts> for UnreadCounts {
    fn from(counted: &jiefen_store::UnreadCounts) -> Self {
        Self {
            total: counted.total(),
            by_kind: counted
                .by_kind()
                .iter()
                .map(|(kind, n)| (kind.as_str().to_owned(), *n))
                .collect(),
            more: counted.more(),
        }
    }
}

/// A recipient in a JSON body, refused while deserialising so that the
/// refusal carries the field's path like every other bad value.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct RecipientParam(pub Recipient);

impl TryFrom<String> for RecipientParam {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Recipient::parse(&raw)
            .map(Self)
            .ok_or_else(|| format!("recipient must be {RECIPIENT_FORMS}, not {raw:?}"))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkReadRequest {
    #[schema(value_type = String, example = "body:yaodu-tmc",
        pattern = "^(body:[A-Za-z0-9_-]{1,64}|staff:.*\\S.*|centre:[A-Za-z0-9-]{1,32})$")]
    pub recipient: RecipientParam,
    /// Items to mark; absent or null marks every unread item of the inbox.
    /// Ids of other inboxes are ignored.
    #[serde(default)]
    pub ids: Option<Vec<i64>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedRead {
    /// Items that were unread and are now read.
    pub marked: u64,
}

/// One's own inbox, one's body's, and for centre staff the centres of
/// one's subtree; any other is refused (and recorded).
async fn may_read(
    app: &AppState,
    principal: &Principal,
    recipient: &Recipient,
) -> Result<(), ApiError> {
    if principal
        .staff
        .may_read_inbox(recipient, &app.ledger.refs().tree)
    {
        return Ok(());
    }
    Err(principal
        .deny(app, format!("read inbox {recipient}"), None)
        .await)
}

#[utoipa::path(
    get,
    path = "/api/v1/inbox",
    operation_id = "inbox",
    tag = "inbox",
    params(
        ("recipient" = String, Query, pattern = "^(body:[A-Za-z0-9_-]{1,64}|staff:.*\\S.*|centre:[A-Za-z0-9-]{1,32})$", description = "`body:CODE`, `staff:NAME` or `centre:JURISDICTION_CODE`"),
        ("unread" = Option<bool>, Query, description = "Only unread items (default false)"),
        ("kind" = Option<NoticeKind>, Query),
        ("before" = Option<i64>, Query, description = "`next_before` of the previous page"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "1–200, default 50"),
    ),
    responses(
        (status = 200, body = Inbox),
        (status = 403, description = "`forbidden`: not an inbox of the caller, their body or a centre of their subtree", body = ErrorBody),
        (status = 422, description = "`invalid_query` (parameter in `field`)", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn inbox(
    State(app): State<Arc<AppState>>,
    principal: Principal,
    q: QueryParams,
) -> Result<Json<Inbox>, ApiError> {
    q.only(&["recipient", "unread", "kind", "before", "limit"])?;
    let recipient = q
        .parse_with("recipient", RECIPIENT_FORMS, Recipient::parse)?
        .ok_or_else(|| {
            ApiError::invalid_query(
                "recipient",
                format!("recipient is required: {RECIPIENT_FORMS}"),
            )
        })?;
    may_read(&app, &principal, &recipient).await?;
    let unread_only = q
        .parse_with("unread", "true or false", |s| s.parse::<bool>().ok())?
        .unwrap_or(false);
    let kind = q.parse_with(
        "kind",
        &one_of(NoticeKind::ALL, NoticeKind::as_str),
        NoticeKind::parse,
    )?;
    let before = q.parse_with("before", "the next_before of a previous page", |s| {
        s.parse::<i64>().ok().filter(|n| *n > 0)
    })?;
    let limit = page_limit(&q)?;
    let (items, unread) = app
        .ledger
        .inbox(&InboxQuery {
            recipient: recipient.clone(),
            unread_only,
            kind,
            before,
            cases: Vec::new(),
            limit,
        })
        .await?;
    let next_before = (items.len() == limit as usize)
        .then(|| items.iter().map(|i| i.id).min())
        .flatten();
    let unread = UnreadCounts::from(&unread);
    Ok(Json(Inbox {
        recipient: recipient.to_string(),
        items,
        unread,
        next_before,
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/inbox/read",
    operation_id = "mark_inbox_read",
    tag = "inbox",
    request_body = MarkReadRequest,
    responses(
        (status = 200, body = MarkedRead),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid_request` (with the JSON path in `field`)", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn mark_read(
    State(app): State<Arc<AppState>>,
    principal: Principal,
    ApiJson(req): ApiJson<MarkReadRequest>,
) -> Result<Json<MarkedRead>, ApiError> {
    may_read(&app, &principal, &req.recipient.0).await?;
    if req.ids.as_ref().is_some_and(|ids| ids.len() > MAX_MARK_IDS) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("at most {MAX_MARK_IDS} ids at a time; omit ids to mark the whole inbox"),
        )
        .with_field("ids"));
    }
    let marked = app
        .ledger
        .mark_read(&req.recipient.0, req.ids.as_deref())
        .await?;
    Ok(Json(MarkedRead { marked }))
}
