//! Accounts, API tokens and the security log over HTTP: what `jiefen user`,
//! `jiefen token` and `jiefen audit` do on the server's machine, for the
//! administrator (accounts, tokens) and the auditor (the log). Every change
//! is written to the security log by [`jiefen_store::accounts`].

use crate::auth::Principal;
use crate::cases::{one_of, page_limit};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, QueryParams};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jiefen_domain::access::{Post, Role, Username};
use jiefen_domain::audit::{AuditAction, AuditEntry};
use jiefen_domain::body::BodyCode;
use jiefen_domain::jurisdiction::JurisdictionCode;
use jiefen_domain::Timestamp;
use jiefen_ledger::hash::Hash;
use jiefen_store::access::{AuditQuery, StaffRecord, TokenRecord};
use jiefen_store::accounts::Password;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// An account as the administrator sees it: never its password hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub jurisdiction: String,
    pub body: Option<String>,
    /// False for an account that signs in only with tokens.
    pub has_password: bool,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

impl From<StaffRecord> for UserView {
    fn from(r: StaffRecord) -> Self {
        Self {
            username: r.username.to_string(),
            display_name: r.display_name,
            role: r.post.role(),
            jurisdiction: r.post.jurisdiction().to_string(),
            body: r.post.body().map(|b| b.to_string()),
            has_password: r.password_hash.is_some(),
            created_at: r.created_at,
            disabled_at: r.disabled_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserView>,
}

/// A user name in a JSON body, refused while deserialising so the refusal
/// names its field like every other bad value.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(try_from = "String")]
#[schema(value_type = String, example = "clerk.yaodu")]
pub struct UsernameParam(pub Username);

impl TryFrom<String> for UsernameParam {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Username::parse(&raw).map(Self).map_err(|e| e.to_string())
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: UsernameParam,
    #[serde(default)]
    pub display_name: Option<String>,
    pub role: Role,
    #[schema(value_type = String, example = "341721100")]
    pub jurisdiction: JurisdictionCode,
    /// Handlers only, and always for them.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub body: Option<BodyCode>,
    /// 12–128 characters; omitted, one is generated and returned once.
    #[serde(default)]
    pub password: Option<String>,
    /// No password at all: the account uses API tokens only.
    #[serde(default)]
    pub no_password: bool,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The account, and the generated password if one was made: shown here
/// once and kept nowhere in clear.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddedUser {
    pub user: UserView,
    pub generated_password: Option<String>,
}

/// A password given, generated, or none.
fn password_of(
    given: Option<String>,
    none: bool,
) -> Result<(Option<Password>, Option<String>), ApiError> {
    match (given, none) {
        (Some(_), true) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "give a password or no_password, not both",
        )
        .with_field("no_password")),
        (Some(p), false) => Ok((Some(Password::new(p)), None)),
        (None, true) => Ok((None, None)),
        (None, false) => {
            let (p, text) = Password::generate();
            Ok((Some(p), Some(text)))
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "list_users",
    tag = "people",
    responses(
        (status = 200, body = UserList),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden`: administrators only", body = ErrorBody),
    )
)]
pub async fn users(State(app): State<Arc<AppState>>) -> Result<Json<UserList>, ApiError> {
    let items = app
        .accounts
        .users()
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(UserList { items }))
}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    operation_id = "add_user",
    tag = "people",
    request_body = NewUser,
    responses(
        (status = 201, body = AddedUser),
        (status = 409, description = "`user_exists`", body = ErrorBody),
        (status = 422, description = "`invalid_request`, `weak_password`, `unknown_jurisdiction`, `unknown_body`", body = ErrorBody),
    )
)]
pub async fn add_user(
    State(app): State<Arc<AppState>>,
    principal: Principal,
    ApiJson(req): ApiJson<NewUser>,
) -> Result<Response, ApiError> {
    let post = Post::new(req.role, req.jurisdiction, req.body).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            e.to_string(),
        )
        .with_field("body")
    })?;
    let (password, generated_password) = password_of(req.password, req.no_password)?;
    let username = req.username.0;
    let display_name = req
        .display_name
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| username.to_string());
    if display_name.chars().count() > 64 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "a display name has at most 64 characters",
        )
        .with_field("display_name"));
    }
    let record = app
        .accounts
        .add_user(
            username,
            display_name,
            post,
            password,
            &principal.audit_name(),
            &app.ledger.refs(),
        )
        .await?;
    let body = AddedUser {
        user: record.into(),
        generated_password,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// The account a path names; a name that cannot be one names no account.
fn user_in_path(raw: &str) -> Result<Username, ApiError> {
    Username::parse(raw).map_err(|_| ApiError::not_found(format!("no user {raw}")))
}

async fn set_disabled(
    app: &AppState,
    principal: &Principal,
    raw: &str,
    disabled: bool,
) -> Result<Json<UserView>, ApiError> {
    let username = user_in_path(raw)?;
    if disabled && username == principal.staff.username {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "own_account",
            "an administrator cannot disable their own account",
        ));
    }
    app.accounts
        .set_disabled(&username, disabled, &principal.audit_name())
        .await?;
    let record = app
        .accounts
        .user(&username)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user {username}")))?;
    Ok(Json(record.into()))
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{username}/disable",
    operation_id = "disable_user",
    tag = "people",
    params(("username" = String, Path)),
    responses(
        (status = 200, description = "Disabled: its sessions ended, its tokens stop working", body = UserView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`own_account`", body = ErrorBody),
    )
)]
pub async fn disable_user(
    State(app): State<Arc<AppState>>,
    principal: Principal,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<UserView>, ApiError> {
    set_disabled(&app, &principal, &username, true).await
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{username}/enable",
    operation_id = "enable_user",
    tag = "people",
    params(("username" = String, Path)),
    responses(
        (status = 200, body = UserView),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
pub async fn enable_user(
    State(app): State<Arc<AppState>>,
    principal: Principal,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<UserView>, ApiError> {
    set_disabled(&app, &principal, &username, false).await
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    /// 12–128 characters; omitted, one is generated and returned once.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordChanged {
    pub generated_password: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{username}/password",
    operation_id = "reset_password",
    tag = "people",
    params(("username" = String, Path)),
    request_body = PasswordReset,
    responses(
        (status = 200, description = "Set; the account's sessions ended", body = PasswordChanged),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`weak_password`", body = ErrorBody),
    )
)]
pub async fn reset_password(
    State(app): State<Arc<AppState>>,
    principal: Principal,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<PasswordReset>,
) -> Result<Json<PasswordChanged>, ApiError> {
    let username = user_in_path(&raw)?;
    let (password, generated_password) = password_of(req.password, false)?;
    let password = password.expect("a password is given or generated");
    app.accounts
        .reset_password(&username, password, &principal.audit_name())
        .await?;
    Ok(Json(PasswordChanged { generated_password }))
}

/// A token as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub username: String,
    pub name: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// To the hour: token use is recorded at most hourly.
    pub last_used_at: Option<Timestamp>,
}

impl From<TokenRecord> for TokenView {
    fn from(t: TokenRecord) -> Self {
        Self {
            id: t.id,
            username: t.username.to_string(),
            name: t.name,
            created_at: t.created_at,
            revoked_at: t.revoked_at,
            last_used_at: t.last_used_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub items: Vec<TokenView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    operation_id = "list_tokens",
    tag = "people",
    params(("username" = Option<String>, Query, description = "Only this account's tokens")),
    responses(
        (status = 200, body = TokenList),
        (status = 422, description = "`invalid_query`", body = ErrorBody),
    )
)]
pub async fn tokens(
    State(app): State<Arc<AppState>>,
    q: QueryParams,
) -> Result<Json<TokenList>, ApiError> {
    q.only(&["username"])?;
    let username = q.parse_with(
        "username",
        "a user name (1–32 characters of a-z, 0-9, '.', '_' or '-')",
        |s| Username::parse(s).ok(),
    )?;
    let items = app
        .accounts
        .tokens(username.as_ref())
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(TokenList { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub username: UsernameParam,
    /// What the token is for, e.g. the integration's name (1–100 characters).
    #[schema(example = "12345 hotline bridge")]
    pub name: String,
}

/// The new token. `token` is the only copy there will ever be.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub view: TokenView,
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    operation_id = "create_token",
    tag = "people",
    request_body = NewToken,
    responses(
        (status = 201, body = CreatedToken),
        (status = 404, description = "`not_found`: no such user", body = ErrorBody),
        (status = 422, description = "`invalid_request`", body = ErrorBody),
    )
)]
pub async fn create_token(
    State(app): State<Arc<AppState>>,
    principal: Principal,
    ApiJson(req): ApiJson<NewToken>,
) -> Result<Response, ApiError> {
    let name = req.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "a token's name has 1–100 characters",
        )
        .with_field("name"));
    }
    let (record, token) = app
        .accounts
        .create_token(&req.username.0, name, &principal.audit_name())
        .await?;
    let body = CreatedToken {
        view: record.into(),
        token,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    operation_id = "revoke_token",
    tag = "people",
    params(("id" = String, Path, description = "The token's id (16 hex characters)")),
    responses(
        (status = 204, description = "Revoked; it stops working at once"),
        (status = 404, description = "`not_found`: no such live token", body = ErrorBody),
    )
)]
pub async fn revoke_token(
    State(app): State<Arc<AppState>>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    app.accounts
        .revoke_token(&id, &principal.audit_name())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One entry of the security log as stored: what was hashed, and the hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub seq: u64,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: Hash,
    pub hash: Hash,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Oldest first.
    pub items: Vec<AuditView>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_after: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    operation_id = "audit_log",
    tag = "people",
    params(
        ("after" = Option<u64>, Query, maximum = 9223372036854775807_u64, description = "Entries after this sequence number"),
        ("action" = Option<AuditAction>, Query),
        ("case" = Option<String>, Query, description = "Entries about this case id"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "1–200, default 50"),
    ),
    responses(
        (status = 200, body = AuditPage),
        (status = 403, description = "`forbidden`: auditors only", body = ErrorBody),
        (status = 422, description = "`invalid_query`", body = ErrorBody),
    )
)]
pub async fn audit(
    State(app): State<Arc<AppState>>,
    q: QueryParams,
) -> Result<Json<AuditPage>, ApiError> {
    q.only(&["after", "action", "case", "limit"])?;
    // Sequence numbers are stored as SQL's 64-bit signed integers: a larger
    // `after` would wrap to a negative one and list the log from its start.
    let after_seq = q
        .parse_with("after", "a whole number up to 9223372036854775807", |s| {
            s.parse::<u64>().ok().filter(|n| i64::try_from(*n).is_ok())
        })?
        .unwrap_or(0);
    let action = q.parse_with(
        "action",
        &one_of(AuditAction::ALL, AuditAction::as_str),
        AuditAction::parse,
    )?;
    let case_id = q.parse_with(
        "case",
        "a case id (UUID)",
        jiefen_domain::case::CaseId::parse,
    )?;
    let limit = page_limit(&q)?;
    let rows = app
        .accounts
        .audit_log(&AuditQuery {
            after_seq,
            action: action.map(|a| a.as_str().to_owned()),
            case_id: case_id.map(|c| c.to_string()),
            limit,
        })
        .await?;
    let next_after = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.seq))
        .flatten();
    let items = rows
        .into_iter()
        .map(|r| AuditView {
            seq: r.seq,
            entry: r.entry,
            prev_hash: r.prev_hash,
            hash: r.hash,
        })
        .collect();
    Ok(Json(AuditPage { items, next_after }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditVerification {
    pub ok: bool,
    /// Entries whose chain verified.
    pub verified: u64,
    /// The first entry that does not verify.
    pub first_bad_seq: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/audit/verify",
    operation_id = "verify_audit",
    tag = "people",
    responses(
        (status = 200, description = "The whole chain recomputed", body = AuditVerification),
        (status = 403, description = "`forbidden`: auditors only", body = ErrorBody),
    )
)]
pub async fn verify_audit(
    State(app): State<Arc<AppState>>,
) -> Result<Json<AuditVerification>, ApiError> {
    Ok(Json(match app.accounts.verify_audit().await? {
        Ok(n) => AuditVerification {
            ok: true,
            verified: n,
            first_bad_seq: None,
        },
        Err(seq) => AuditVerification {
            ok: false,
            verified: seq.saturating_sub(1),
            first_bad_seq: Some(seq),
        },
    }))
}
