//! The web UI of Jiefen: pages rendered on the server from askama
//! templates, with one small script for what must happen as the user types
//! (the intake desk's live preview) and for writes, which go through the
//! JSON API with the session's CSRF token, so every rule, refusal and
//! idempotency key is the API's own.
//!
//! # Layout
//!
//! - [`pages`] is the page table: every page with the one access it
//!   requires (the API's [`Access`]), behind [`gate`], which sends a visitor without a session to
//!   the sign-in page and shows a 403 page to a role that may not see it.
//! - [`chrome`]: what every page carries (language, who is signed in, the
//!   navigation for their role, the CSRF token for the script).
//! - [`i18n`]: every word shown, from `messages/zh-CN.toml` and
//!   `messages/en.toml`.
//! - [`intake`], [`queue`], [`case`]: the intake desk, the work queues, the
//!   case page and its receipt; [`board`], the supervision board;
//!   [`agreement`], the mediation agreement; [`dashboard`], the figures;
//!   [`portal`], the citizens' pages.
//! - Assets (`assets/`) are compiled into the binary and served under a
//!   path holding their digest, so they can be cached for ever.
//!
//! # Invariants
//!
//! - Pages read cases only through `jiefen_web::scope` (a case outside the
//!   caller's scope is a 404 page, as in the API), and write only through
//!   the API.
//! - No text in code or templates: every label is a message key.
//! - Every page sends a Content-Security-Policy that allows only its own
//!   origin's script and style (no inline script runs).
#![forbid(unsafe_code)]

pub mod actions;
pub mod admin;
pub mod agreement;
pub mod assets;
pub mod board;
pub mod case;
pub mod chrome;
pub mod dashboard;
pub mod grid;
pub mod i18n;
pub mod inbox;
pub mod intake;
pub mod portal;
pub mod queue;

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrome::Chrome;
use jiefen_domain::access::{Function, Role};
use jiefen_web::auth::Principal;
use jiefen_web::routes::Access;
use jiefen_web::AppState;
use serde::Deserialize;
use std::sync::Arc;

/// A page of the table.
#[derive(Debug, Clone)]
pub struct Page {
    pub path: &'static str,
    /// Who may see it, as the API's route table says it.
    pub need: Access,
}

type Handler = axum::routing::MethodRouter<Arc<AppState>>;

/// Every page, with what it needs and its handler.
pub fn pages() -> Vec<(Page, Handler)> {
    use Access::{Public, SignedIn, Staff};
    use Function as F;
    let p = |path, need, handler: Handler| (Page { path, need }, handler);
    #[rustfmt::skip]
    let table = vec![
        p("/", SignedIn, get(home)),
        p("/login", Public, get(login)),
        p("/lang/{tag}", Public, get(switch_language)),
        p("/assets/{file}", Public, get(assets::serve)),
        p("/intake", Staff(F::RegisterCase), get(intake::page)),
        p("/grid", Staff(F::RegisterCase), get(grid::page)),
        p("/cases", Staff(F::ReadCases), get(queue::page)),
        p("/inbox", Staff(F::ReadInbox), get(inbox::page)),
        p("/board", Staff(F::ReadCases), get(board::page)),
        p("/dashboard", Staff(F::ReadCases), get(dashboard::page)),
        p("/cases/{id}", Staff(F::ReadCases), get(case::page)),
        p("/cases/{id}/receipt", Staff(F::ReadCases), get(case::receipt)),
        p("/cases/{id}/agreement", Staff(F::ReadCases), get(agreement::page)),
        p("/cases/{id}/agreement.pdf", Staff(F::ReadCases), get(agreement::pdf)),
        p("/admin", Staff(F::ManageUsers), get(admin::people)),
        p("/admin/reference", Staff(F::ManageReference), get(admin::reference)),
        p("/admin/policy", Staff(F::ManageReference), get(admin::policy)),
        p("/audit", Staff(F::ReadAudit), get(admin::audit)),
        p("/portal", Public, get(portal::landing)),
        p("/portal/submit", Public, get(portal::submit)),
        p("/portal/track", Public, get(portal::track_again).post(portal::track)),
    ];
    table
}

/// The pages behind their gates, to merge with the API's router.
pub fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    let mut router = Router::new();
    for (page, handler) in pages() {
        let need = page.need;
        router = router.route(
            page.path,
            handler.route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                move |app, req, next| gate(app, need, req, next),
            )),
        );
    }
    router
}

/// Finds the signed-in visitor by the session cookie, and turns away those
/// the page is not for: to the sign-in page without a (live) session, a
/// 403 page for a role without the page's function.
pub async fn gate(
    State(app): State<Arc<AppState>>,
    need: Access,
    mut req: Request,
    next: Next,
) -> Response {
    let address = jiefen_web::auth::client_address(req.extensions());
    // A bearer token is for programs; pages know only the session.
    req.headers_mut().remove(header::AUTHORIZATION);
    let found = jiefen_web::auth::authenticate(&app, req.headers(), address)
        .await
        .ok()
        .flatten();
    let to_login = || {
        let next = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        Redirect::to(&format!("/login?next={}", url_encode(next))).into_response()
    };
    match (need, &found) {
        (Access::Public, _) => {}
        (_, None) => return to_login(),
        (Access::SignedIn, Some(_)) => {}
        (Access::Staff(f), Some(p)) => {
            if !p.staff.may(f) {
                let what = format!("GET {} ({f})", req.uri().path());
                let _ = p.deny(&app, what, None).await;
                let chrome = Chrome::from_parts(&app, req.headers(), Some(p), req.uri().path());
                return error_page(&chrome, StatusCode::FORBIDDEN, "error.forbidden");
            }
        }
    }
    if let Some(p) = found {
        req.extensions_mut().insert(p);
    }
    next.run(req).await
}

pub use jiefen_web::url_encode;

/// The policy every page is sent with: its own script and style only.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// A rendered page, as a response.
pub fn render(status: StatusCode, page: &impl askama::Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut res = (status, Html(html)).into_response();
            res.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_POLICY),
            );
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "page failed to render").into_response()
        }
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    c: &'a Chrome,
    message: String,
    status: u16,
}

/// The page shown for a refusal: the status and a message key.
pub fn error_page(chrome: &Chrome, status: StatusCode, key: &str) -> Response {
    render(
        status,
        &ErrorPage {
            c: chrome,
            message: chrome.t.get(key).to_owned(),
            status: status.as_u16(),
        },
    )
}

/// A page's failure: the API's error, shown as a page.
pub struct PageError {
    chrome: Box<Chrome>,
    error: jiefen_web::ApiError,
}

impl PageError {
    pub fn new(chrome: Chrome, error: jiefen_web::ApiError) -> Self {
        Self {
            chrome: Box::new(chrome),
            error,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let key = match self.error.status {
            StatusCode::NOT_FOUND => "error.not_found",
            StatusCode::FORBIDDEN => "error.forbidden",
            s if s.is_client_error() => "error.bad_request",
            _ => "error.unavailable",
        };
        if self.error.status.is_server_error() {
            tracing::error!(error = %self.error, "page failed");
        }
        error_page(&self.chrome, self.error.status, key)
    }
}

/// A page's query, refused as a page when it is malformed or names a
/// parameter the page does not take.
pub fn page_params(
    c: Chrome,
    q: Result<jiefen_web::extract::QueryParams, jiefen_web::ApiError>,
    names: &[&str],
) -> Result<(Chrome, jiefen_web::extract::QueryParams), PageError> {
    match q.and_then(|q| q.only(names).map(|_| q)) {
        Ok(q) => Ok((c, q)),
        Err(error) => Err(PageError::new(c, error)),
    }
}

/// Where each role starts.
pub fn start_page(role: Role) -> &'static str {
    match role {
        Role::IntakeClerk => "/intake",
        Role::GridWorker => "/grid",
        Role::Supervisor => "/board",
        Role::Leader => "/dashboard",
        Role::Handler | Role::Assessor => "/cases",
        Role::Administrator => "/admin",
        Role::Auditor => "/audit",
    }
}

async fn home(principal: Principal) -> Redirect {
    Redirect::to(start_page(principal.staff.role()))
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct Login {
    c: Chrome,
    next: String,
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login(c: Chrome, Query(q): Query<LoginQuery>) -> Response {
    render(
        StatusCode::OK,
        &Login {
            next: safe_next(q.next.as_deref()),
            c,
        },
    )
}

/// Only a path on this site: never another origin (`//host`, `https:`).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

#[derive(Deserialize)]
struct SwitchQuery {
    next: Option<String>,
}

async fn switch_language(
    axum::extract::Path(tag): axum::extract::Path<String>,
    Query(q): Query<SwitchQuery>,
) -> Response {
    let lang = i18n::Lang::from_tag(&tag).unwrap_or(i18n::Lang::Zh);
    let mut res = Redirect::to(&safe_next(q.next.as_deref())).into_response();
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        chrome::LANG_COOKIE,
        lang.tag()
    );
    if let Ok(v) = HeaderValue::try_from(cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}
