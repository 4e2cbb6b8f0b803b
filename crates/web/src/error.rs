//! The one error type of the HTTP API.
//!
//! Every refusal, whoever raises it (an extractor, a handler, the ledger,
//! axum's routing), leaves as the same JSON shape
//! `{"error":{"code","message","field"}}`: clients branch on `code`, show
//! `message` to people and highlight `field`. Internal failures are logged
//! with their cause and leave as a bare `internal`, because their details
//! (SQL, paths) help attackers more than users.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jiefen_domain::lifecycle::TransitionError;
use jiefen_ledger::merkle::TreeRangeError;
use jiefen_store::accounts::AccountError;
use jiefen_store::blobs::BlobError;
use jiefen_store::ledger::ProofFailure;
use jiefen_store::writer::WriteError;
use jiefen_store::StoreError;
use serde::Serialize;
use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt::Write as _;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable, snake_case; stable across releases.
    #[schema(value_type = String, example = "invalid_request")]
    pub code: Cow<'static, str>,
    /// For people, in English.
    pub message: String,
    /// The JSON path (`case.parties[0].id_number`), query parameter or
    /// header the error is about, when there is one.
    pub field: Option<String>,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    /// The one message for a case that does not exist (or an id that is none).
    pub fn no_case(id: impl std::fmt::Display) -> Self {
        Self::not_found(format!("case {id} not found"))
    }

    /// No credentials, or credentials that no longer hold.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// The caller is known and may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 429 `too_many_attempts` with the seconds to wait in `Retry-After`.
    /// 429 `too_many_attempts`: guesses (sign-in, receipt codes) throttled.
    pub fn too_many_attempts(retry_after_secs: u64, message: impl Into<String>) -> Response {
        Self::retry_later("too_many_attempts", retry_after_secs, message)
    }

    /// 429 `rate_limited`: more requests than an account or address may make.
    pub fn rate_limited(retry_after_secs: u64) -> Response {
        Self::retry_later(
            "rate_limited",
            retry_after_secs,
            format!("too many requests; try again in {retry_after_secs} s"),
        )
    }

    fn retry_later(
        code: &'static str,
        retry_after_secs: u64,
        message: impl Into<String>,
    ) -> Response {
        let mut res = Self::new(StatusCode::TOO_MANY_REQUESTS, code, message).into_response();
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        res
    }

    pub fn invalid_query(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_query", message).with_field(field)
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service is temporarily unavailable; try again shortly",
        )
    }

    /// Logs the cause chain and hides it from the client.
    pub fn internal(cause: &(dyn StdError + 'static)) -> Self {
        tracing::error!(error = %chain(cause), "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred",
        )
    }

    /// A refusal from the ledger's writer. `root` is the request member the
    /// command came in (`case` or `action`), so that domain field names
    /// become paths into the request body like deserialisation errors.
    pub fn from_write(e: WriteError, root: Option<&str>) -> Self {
        match e {
            WriteError::Transition(t) => Self::from_transition(t, root),
            WriteError::NotFound(id) => Self::no_case(id),
            WriteError::IdempotencyConflict(key) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                format!("idempotency key {key:?} was already used for a different request"),
            )
            .with_field("Idempotency-Key"),
            WriteError::Store(s) => s.into(),
            WriteError::Stopped => {
                tracing::error!("the ledger's writer has stopped");
                Self::unavailable()
            }
        }
    }

    pub fn from_transition(e: TransitionError, root: Option<&str>) -> Self {
        let path = |f: &str| match root {
            Some(r) => format!("{r}.{f}"),
            None => f.to_owned(),
        };
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        let message = e.to_string();
        match e {
            TransitionError::IllegalTransition { .. } => {
                Self::new(StatusCode::CONFLICT, "illegal_transition", message)
            }
            TransitionError::Invalid { field, message } => {
                Self::new(unprocessable, "invalid", message).with_field(path(field))
            }
            TransitionError::UnknownJurisdiction(_) => {
                Self::new(unprocessable, "unknown_jurisdiction", message)
                    .with_field(path("jurisdiction"))
            }
            TransitionError::UnknownBody(_) => {
                Self::new(unprocessable, "unknown_body", message).with_field(path("body"))
            }
            TransitionError::UnknownCategory(_) => {
                Self::new(unprocessable, "unknown_category", message).with_field(path("category"))
            }
        }
    }

    fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: Cow::Borrowed(self.code),
                message: self.message.clone(),
                field: self.field.clone(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, axum::Json(self.body())).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        res
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::NotFound => Self::not_found("not found"),
            StoreError::Conflict(_) => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                "the request conflicts with stored data",
            ),
            StoreError::Database(db) if is_unavailable(db) => {
                tracing::warn!(error = %chain(&e), "database unavailable");
                Self::unavailable()
            }
            _ => Self::internal(&e),
        }
    }
}

/// The database could not be reached or is overloaded: worth retrying,
/// unlike a failed statement.
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| is_transient_code(&c)),
        _ => false,
    }
}

/// A database refusal that says nothing about the request and passes when
/// the fault clears: a full disk, an I/O error, a busy or restarting
/// server. The write was rolled back whole, so the client may retry (with
/// its idempotency key); a 500 would say the request itself broke something.
fn is_transient_code(code: &str) -> bool {
    if code.len() == 5 {
        // PostgreSQL's SQLSTATE (always five characters): insufficient
        // resources (53: disk full, out of memory, too many connections),
        // connection exceptions (08), operator intervention (57P: shutting
        // down, starting up), I/O error.
        return code.starts_with("53")
            || code.starts_with("08")
            || code.starts_with("57P")
            || code == "58030";
    }
    // SQLite's extended result codes (at most four digits) keep the primary
    // code in the low byte: BUSY, LOCKED, IOERR, FULL, CANTOPEN.
    code.parse::<i64>()
        .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 10 | 13 | 14))
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        let message = e.to_string();
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        match e {
            AccountError::Exists(_) => {
                Self::new(StatusCode::CONFLICT, "user_exists", message).with_field("username")
            }
            AccountError::NoSuchUser(_) | AccountError::NoSuchToken(_) => Self::not_found(message),
            AccountError::WeakPassword => {
                Self::new(unprocessable, "weak_password", message).with_field("password")
            }
            AccountError::UnknownJurisdiction(_) => {
                Self::new(unprocessable, "unknown_jurisdiction", message).with_field("jurisdiction")
            }
            AccountError::UnknownBody(_) | AccountError::BodyOutsideJurisdiction { .. } => {
                Self::new(unprocessable, "unknown_body", message).with_field("body")
            }
            AccountError::Store(s) => s.into(),
        }
    }
}

impl From<ProofFailure> for ApiError {
    fn from(e: ProofFailure) -> Self {
        match e {
            ProofFailure::Store(s) => s.into(),
            ProofFailure::Range(r) => r.into(),
        }
    }
}

impl From<TreeRangeError> for ApiError {
    fn from(e: TreeRangeError) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_range",
            e.to_string(),
        )
    }
}

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> Self {
        let message = e.to_string();
        match e {
            BlobError::Empty => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "empty_attachment",
                message,
            ),
            BlobError::TooLarge(limit) => Self::payload_too_large(limit),
            BlobError::Type(_) => Self::unsupported_media_type(message),
            BlobError::Mismatch(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "content_mismatch",
                message,
            ),
            BlobError::Io(_) => Self::internal(&e),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::internal(&e)
    }
}

/// `outer: inner: innermost`, so one log line carries the whole story.
fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let _ = write!(out, ": {s}");
        cur = s.source();
    }
    out
}

/// Rewrites any error response that left without the shape (a rejection
/// from one of axum's own extractors, a layer's refusal) into it, so a
/// client never needs a second way to read errors.
pub async fn shape_plain_errors(res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    // JSON is already in the shape; HTML is a page's own error page, meant
    // for a person.
    let shaped_already = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if shaped_already {
        return res;
    }
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_request",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = status
        .canonical_reason()
        .unwrap_or("the request was refused");
    let (parts, _) = res.into_parts();
    let mut shaped = ApiError::new(status, code, message).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name, value.clone());
        }
    }
    shaped
}

/// Axum's own 404 for paths no route matches, in the shape.
pub async fn no_route() -> ApiError {
    ApiError::not_found("no such endpoint")
}

/// Axum's own 405 for a known path with a method it does not take.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that method",
    )
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_full_disk_or_a_restarting_database_is_unavailable_not_a_failure() {
        // SQLite: FULL, IOERR_WRITE (778), BUSY; PostgreSQL: disk_full,
        // admin_shutdown, cannot_connect_now, connection_failure.
        for code in ["13", "778", "5", "53100", "57P01", "57P03", "08006"] {
            assert!(super::is_transient_code(code), "{code}");
        }
        // Constraint violations and bad SQL are the request's or ours.
        for code in ["19", "2067", "1", "23505", "42601", "22P02"] {
            assert!(!super::is_transient_code(code), "{code}");
        }
    }
    use super::*;
    use axum::body::{Body, Bytes};
    use axum::extract::DefaultBodyLimit;
    use axum::routing::post;
    use axum::Router;
    use tower::ServiceExt;

    #[tokio::test]
    async fn axum_rejections_leave_in_the_shape() {
        let app = Router::new()
            .route("/", post(|b: Bytes| async move { b.len().to_string() }))
            .layer(DefaultBodyLimit::max(10))
            .layer(axum::middleware::map_response(shape_plain_errors));
        let req = axum::http::Request::post("/")
            .body(Body::from(vec![b'x'; 11]))
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "payload_too_large");
        assert_eq!(v["error"]["field"], serde_json::Value::Null);
    }

    #[tokio::test]
    async fn error_pages_for_people_stay_pages() {
        let page = || async {
            (
                StatusCode::NOT_FOUND,
                axum::response::Html("<p>没有找到</p>"),
            )
        };
        let app = Router::new()
            .route("/", axum::routing::get(page))
            .layer(axum::middleware::map_response(shape_plain_errors));
        let req = axum::http::Request::get("/").body(Body::empty()).unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        assert_eq!(&body[..], "<p>没有找到</p>".as_bytes());
    }

    #[test]
    fn transition_fields_become_request_paths() {
        let e = ApiError::from_transition(
            TransitionError::UnknownJurisdiction("1".into()),
            Some("case"),
        );
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.code, "unknown_jurisdiction");
        assert_eq!(e.field.as_deref(), Some("case.jurisdiction"));
        let e = ApiError::from_transition(TransitionError::invalid("due_at", "x"), Some("action"));
        assert_eq!(e.field.as_deref(), Some("action.due_at"));
    }

    #[test]
    fn unreachable_database_is_503_other_failures_500() {
        let e: ApiError = StoreError::Database(sqlx::Error::PoolTimedOut).into();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.code, "unavailable");
        let e: ApiError = StoreError::Database(sqlx::Error::RowNotFound).into();
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.code, "internal");
        assert_eq!(e.message, "an internal error occurred");
    }
}
