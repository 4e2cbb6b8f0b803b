//! Who is asking, and whether they may. Every route passes [`gate`] with
//! the [`Access`] the route table gives it: the gate finds the caller (a
//! bearer token or the session cookie), refuses what the caller's role may
//! not do, checks the CSRF token of a cookie-authenticated write, and hands
//! the handler a [`Principal`]. Handlers never look at credentials.
//!
//! Refusals carry no data: 401 `unauthenticated` (no credentials, an ended
//! session, an unknown or revoked token), 403 `forbidden` (the role may not
//! do this), 403 `csrf_failed`. Every 403 is written to the security log.

use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::routes::Access;
use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jiefen_domain::access::{Function, Role, Staff};
use jiefen_domain::audit::{AuditAction, AuditEntry};
use jiefen_domain::case::CaseId;
use jiefen_domain::lifecycle::Actor;
use jiefen_store::accounts::{Password, SignInError, SESSION_ABSOLUTE, SESSION_IDLE};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

pub const SESSION_COOKIE: &str = "jiefen_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub staff: Staff,
    pub via: Via,
    /// The client's address, for the security log.
    pub address: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Via {
    Session { csrf: String },
    Token { id: String },
}

impl Principal {
    /// The actor recorded on the events this caller causes.
    pub fn actor(&self) -> Actor {
        Actor::parse(self.staff.username.as_str()).expect("a user name is always a valid actor")
    }

    /// How the security log names this caller.
    pub fn audit_name(&self) -> String {
        format!("staff:{}", self.staff.username)
    }

    /// A security-log entry by this caller.
    pub fn audit(&self, at: jiefen_domain::Timestamp, action: AuditAction) -> AuditEntry {
        AuditEntry::new(at, self.audit_name(), action).address(self.address.clone())
    }

    /// 403 for something the role may not do, written to the security log.
    pub async fn deny(&self, app: &AppState, what: String, case: Option<CaseId>) -> ApiError {
        let mut entry = self
            .audit(app.ledger.clock().now(), AuditAction::PermissionDenied)
            .detail(what);
        if let Some(id) = case {
            entry = entry.case(id);
        }
        app.record(entry).await;
        ApiError::forbidden(format!(
            "your role ({}) may not do this",
            self.staff.role().zh()
        ))
    }
}

/// The handler's view of the caller the gate found. A route whose access
/// is public but whose handler asks for a principal gets 401.
impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::unauthenticated("sign in or present a bearer token"))
    }
}

/// The client's address: the socket's peer, or, when the peer is a
/// trusted proxy, the nearest address in `X-Forwarded-For` that is not one
/// (each proxy appends the address it was reached from, so entries left of
/// an untrusted one could have been written by the client itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// Middleware in front of everything: finds the [`ClientAddress`] once.
pub async fn client_addresses(
    State(app): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(peer) = peer {
        let client = forwarded_client(peer, req.headers(), &app.trusted_proxies);
        req.extensions_mut().insert(ClientAddress(client));
    }
    next.run(req).await
}

fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted.contains(&ip) {
                    break;
                }
            }
            // An entry that is no address ends what can be believed.
            Err(_) => break,
        }
    }
    client
}

/// The client's address as [`client_addresses`] found it.
pub fn client_address(parts_ext: &axum::http::Extensions) -> Option<String> {
    parts_ext.get::<ClientAddress>().map(|c| c.0.to_string())
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The caller, if credentials were presented. Credentials that do not
/// hold are an error, not an anonymous request: a client whose token was
/// revoked must hear so.
pub async fn authenticate(
    app: &AppState,
    headers: &HeaderMap,
    address: Option<String>,
) -> Result<Option<Principal>, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let presented = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let holder = match presented {
            Some(t) => app.accounts.authenticate_token(t, address.clone()).await?,
            None => None,
        };
        return match holder {
            Some(h) => Ok(Some(Principal {
                staff: h.staff,
                via: Via::Token { id: h.token_id },
                address,
            })),
            None => Err(ApiError::unauthenticated(
                "the bearer token is not valid: unknown, revoked, or its account disabled",
            )),
        };
    }
    if let Some(secret) = cookie(headers, SESSION_COOKIE) {
        return match app.accounts.session(secret).await? {
            Some(s) => Ok(Some(Principal {
                staff: s.staff,
                via: Via::Session { csrf: s.csrf },
                address,
            })),
            None => Err(ApiError::unauthenticated(
                "your session has ended; sign in again",
            )),
        };
    }
    Ok(None)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The middleware every route runs behind; `access` comes from the route
/// table.
pub async fn gate(
    State(app): State<Arc<AppState>>,
    access: Access,
    mut req: Request,
    next: Next,
) -> Response {
    let address = client_address(req.extensions());
    let found = authenticate(&app, req.headers(), address.clone()).await;
    // Signed-in callers are counted per account, everyone else per address.
    let (limit, key) = match &found {
        Ok(Some(p)) => (
            &app.account_requests,
            format!("account:{}", p.staff.username),
        ),
        _ => (
            &app.address_requests,
            format!("address:{}", address.as_deref().unwrap_or("unknown")),
        ),
    };
    if let Err(wait) = limit.take(&key, app.ledger.clock().now()) {
        tracing::warn!(path = %req.uri().path(), %key, "rate limit reached");
        return ApiError::rate_limited(wait);
    }
    let principal = match (access, found) {
        // A stale cookie must not stop anyone reading public data or
        // signing in again.
        (Access::Public, found) => found.ok().flatten(),
        (_, Err(e)) => return e.into_response(),
        (_, Ok(None)) => {
            return ApiError::unauthenticated("sign in or present a bearer token").into_response()
        }
        (Access::SignedIn, Ok(Some(p))) => Some(p),
        (Access::Staff(f), Ok(Some(p))) => {
            if !p.staff.may(f) {
                let what = format!("{} {} ({f})", req.method(), req.uri().path());
                return p.deny(&app, what, None).await.into_response();
            }
            Some(p)
        }
    };
    if let Some(p) = principal {
        if let Via::Session { csrf } = &p.via {
            if !is_safe(req.method()) && access != Access::Public {
                let presented = req
                    .headers()
                    .get(CSRF_HEADER)
                    .map(|v| v.as_bytes())
                    .unwrap_or_default();
                if !bool::from(presented.ct_eq(csrf.as_bytes())) {
                    return ApiError::new(
                        StatusCode::FORBIDDEN,
                        "csrf_failed",
                        "a write made with the session cookie must carry the session's X-CSRF-Token header",
                    )
                    .with_field("X-CSRF-Token")
                    .into_response();
                }
            }
        }
        req.extensions_mut().insert(p);
    }
    next.run(req).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    #[schema(example = "clerk.yaodu")]
    pub username: String,
    #[schema(format = Password)]
    pub password: String,
}

impl std::fmt::Debug for SignInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInRequest")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Who is signed in, and what their role allows.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub username: String,
    pub role: Role,
    #[schema(example = "登记员")]
    pub role_label: &'static str,
    pub jurisdiction: String,
    pub body: Option<String>,
    /// Every function the role may use.
    pub functions: Vec<Function>,
    /// To send as `X-CSRF-Token` with every write made with the cookie;
    /// null for a bearer token.
    pub csrf_token: Option<String>,
    pub idle_timeout_secs: i64,
    pub absolute_timeout_secs: i64,
}

impl SessionView {
    fn new(staff: &Staff, csrf: Option<String>) -> Self {
        Self {
            username: staff.username.to_string(),
            role: staff.role(),
            role_label: staff.role().zh(),
            jurisdiction: staff.post.jurisdiction().to_string(),
            body: staff.post.body().map(|b| b.to_string()),
            functions: Function::ALL
                .iter()
                .copied()
                .filter(|f| staff.may(*f))
                .collect(),
            csrf_token: csrf,
            idle_timeout_secs: SESSION_IDLE.whole_seconds(),
            absolute_timeout_secs: SESSION_ABSOLUTE.whole_seconds(),
        }
    }
}

fn session_cookie(app: &AppState, headers: &HeaderMap, value: &str, clear: bool) -> HeaderValue {
    let behind_tls = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let mut c = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict");
    if app.secure_cookies || behind_tls {
        c.push_str("; Secure");
    }
    if clear {
        c.push_str("; Max-Age=0");
    }
    HeaderValue::try_from(c).expect("a session secret is URL-safe base64")
}

#[utoipa::path(
    post,
    path = "/api/v1/session",
    operation_id = "sign_in",
    tag = "session",
    request_body = SignInRequest,
    responses(
        (status = 200, description = "Signed in; the session cookie is set (HttpOnly, SameSite=Strict) and any earlier session of this browser ends", body = SessionView,
            headers(("Set-Cookie" = String))),
        (status = 401, description = "`invalid_credentials`: the same answer for an unknown user, a disabled account and a wrong password", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: 5 failures per account or 20 per address in 15 minutes", body = ErrorBody,
            headers(("Retry-After" = String))),
    )
)]
pub async fn sign_in(
    State(app): State<Arc<AppState>>,
    parts: HeaderAndAddress,
    ApiJson(req): ApiJson<SignInRequest>,
) -> Result<Response, ApiError> {
    let (headers, address) = (parts.headers, parts.address);
    let session = match app
        .accounts
        .sign_in(&req.username, Password::new(req.password), address)
        .await
    {
        Ok(s) => s,
        Err(SignInError::Invalid) => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "the user name or password is wrong",
            ))
        }
        Err(SignInError::Throttled { retry_after_secs }) => {
            return Ok(ApiError::too_many_attempts(
                retry_after_secs,
                format!("too many failed sign-ins; try again in {retry_after_secs} s"),
            ));
        }
    };
    // Rotation: whatever session this browser had is gone, so a cookie
    // planted before sign-in is worth nothing after it.
    if let Some(old) = cookie(&headers, SESSION_COOKIE) {
        app.accounts.discard_session(old).await?;
    }
    let view = SessionView::new(&session.staff, Some(session.csrf));
    let mut res = Json(view).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&app, &headers, &session.secret, false),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[utoipa::path(
    get,
    path = "/api/v1/session",
    operation_id = "whoami",
    tag = "session",
    responses(
        (status = 200, body = SessionView),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    )
)]
pub async fn whoami(principal: Principal) -> Json<SessionView> {
    let csrf = match principal.via {
        Via::Session { csrf } => Some(csrf),
        Via::Token { .. } => None,
    };
    Json(SessionView::new(&principal.staff, csrf))
}

#[utoipa::path(
    delete,
    path = "/api/v1/session",
    operation_id = "sign_out",
    tag = "session",
    responses(
        (status = 204, description = "Signed out; the cookie is cleared"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf_failed`", body = ErrorBody),
    )
)]
pub async fn sign_out(
    State(app): State<Arc<AppState>>,
    principal: Principal,
    parts: HeaderAndAddress,
) -> Result<Response, ApiError> {
    if let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) {
        if matches!(principal.via, Via::Session { .. }) {
            app.accounts.sign_out(secret, &principal.staff).await?;
        }
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&app, &parts.headers, "", true),
    );
    Ok(res)
}

/// The request's headers and client address, for handlers that read the
/// body too.
pub struct HeaderAndAddress {
    pub headers: HeaderMap,
    pub address: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for HeaderAndAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(Self {
            headers: parts.headers.clone(),
            address: client_address(&parts.extensions),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; jiefen_session_x=2; jiefen_session=abc"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
