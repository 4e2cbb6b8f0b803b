//! What every page carries around its content.

use crate::assets;
use crate::i18n::{Lang, Tr};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use jiefen_domain::access::{Function, Role};
use jiefen_web::auth::{Principal, Via};
use jiefen_web::AppState;
use std::convert::Infallible;
use std::sync::Arc;

/// The cookie that keeps the chosen language.
pub const LANG_COOKIE: &str = "jiefen_lang";

/// The signed-in user, as the header shows them.
pub struct Me {
    pub username: String,
    pub role: String,
    pub place: String,
}

pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub current: bool,
}

pub struct Chrome {
    pub t: Tr,
    pub me: Option<Me>,
    /// The session's CSRF token, for the script's writes.
    pub csrf: String,
    /// The page's own path and query, to come back to after a language
    /// switch.
    pub here: String,
    pub nav: Vec<NavItem>,
    /// Where the brand in the header leads: the portal for its visitors.
    pub home: &'static str,
    pub css: String,
    pub js: String,
}

/// The navigation, each entry shown to the roles it is for.
type ForRole = fn(Role) -> bool;
const NAV: &[(&str, &str, ForRole)] = &[
    ("/grid", "nav.grid", |r| r == Role::GridWorker),
    ("/intake", "nav.intake", |r| {
        r.may(Function::RegisterCase) && r != Role::GridWorker
    }),
    ("/cases", "nav.cases", |r| r.may(Function::ReadCases)),
    ("/inbox", "nav.inbox", |r| r.may(Function::ReadInbox)),
    ("/board", "nav.board", |r| {
        matches!(r, Role::Supervisor | Role::Leader)
    }),
    ("/dashboard", "nav.dashboard", |r| {
        matches!(r, Role::Supervisor | Role::Leader | Role::Assessor)
    }),
    ("/admin", "nav.admin", |r| r.may(Function::ManageUsers)),
    ("/audit", "nav.audit", |r| r.may(Function::ReadAudit)),
];

impl Chrome {
    pub fn from_parts(
        app: &AppState,
        headers: &HeaderMap,
        principal: Option<&Principal>,
        here: &str,
    ) -> Self {
        let lang = jiefen_web::auth::cookie(headers, LANG_COOKIE)
            .and_then(Lang::from_tag)
            .unwrap_or(Lang::Zh);
        let t = Tr::new(lang);
        let path = here.split('?').next().unwrap_or(here);
        let me = principal.map(|p| {
            let code = p.staff.post.jurisdiction();
            let place = crate::queue::place_name(&app.ledger.refs(), code);
            Me {
                username: p.staff.username.to_string(),
                role: t.of("role", p.staff.role().as_str()),
                place,
            }
        });
        let nav = principal
            .map(|p| {
                NAV.iter()
                    .filter(|(_, _, for_role)| for_role(p.staff.role()))
                    .map(|(href, key, _)| NavItem {
                        href,
                        label: t.get(key).to_owned(),
                        current: path == *href || path.starts_with(&format!("{href}/")),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let csrf = match principal.map(|p| &p.via) {
            Some(Via::Session { csrf }) => csrf.clone(),
            _ => String::new(),
        };
        let home = if principal.is_none() && path.starts_with("/portal") {
            "/portal"
        } else {
            "/"
        };
        Self {
            t,
            home,
            me,
            csrf,
            here: crate::url_encode(here),
            nav,
            css: assets::url("app.css"),
            js: assets::url("app.js"),
        }
    }

    /// The other language, for the switch in the header.
    pub fn other_lang(&self) -> (&'static str, &'static str) {
        match self.t.lang {
            Lang::Zh => ("en", "English"),
            Lang::En => ("zh-CN", "中文"),
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Chrome {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Self, Infallible> {
        let principal = parts.extensions.get::<Principal>();
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        Ok(Chrome::from_parts(app, &parts.headers, principal, here))
    }
}
