//! Administration 系统管理 and the auditor's security log 安全日志.
//!
//! - `/admin`: staff accounts (add, disable, enable, reset a password) and
//!   API tokens (create, shown once; revoke). The forms post to the API's
//!   own people endpoints, so every rule and audit entry is the API's.
//! - `/admin/reference`: the jurisdiction tree, the handling bodies and the
//!   category taxonomy cases are checked against.
//! - `/admin/policy`: the policy decisions are taken under (deadlines with
//!   their legal basis, the escalation ladder, risk thresholds, the
//!   jurisdictions with rules of their own), and a check of a new policy
//!   file by the server's own parser before it is deployed.
//! - `/audit`: the hash-chained security log, a page at a time, with a
//!   check of the whole chain on request.

use crate::case::code;
use crate::chrome::Chrome;
use crate::intake::{places, Choice};
use crate::queue::{local_date, place_name};
use crate::{render, PageError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiefen_domain::access::Role;
use jiefen_domain::audit::AuditAction;
use jiefen_store::access::AuditQuery;
use jiefen_web::auth::Principal;
use jiefen_web::extract::QueryParams;
use jiefen_web::AppState;
use std::sync::Arc;

pub struct UserRow {
    pub username: String,
    pub name: String,
    pub role: String,
    pub place: String,
    pub body: String,
    pub password: bool,
    pub created: String,
    pub disabled: Option<String>,
    /// The account signed in now: it cannot disable itself.
    pub me: bool,
}

pub struct TokenRow {
    pub id: String,
    pub username: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
    pub revoked: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "admin_people.html")]
pub struct People {
    pub c: Chrome,
    pub users: Vec<UserRow>,
    pub tokens: Vec<TokenRow>,
    pub roles: Vec<Choice>,
    pub places: Vec<Choice>,
    pub bodies: Vec<Choice>,
}

pub async fn people(
    State(app): State<Arc<AppState>>,
    c: Chrome,
    principal: Principal,
) -> Result<Response, PageError> {
    let refs = app.ledger.refs();
    let t = c.t;
    let (users, tokens) = match (app.accounts.users().await, app.accounts.tokens(None).await) {
        (Ok(u), Ok(tk)) => (u, tk),
        (Err(e), _) | (_, Err(e)) => return Err(PageError::new(c, e.into())),
    };
    let users = users
        .into_iter()
        .map(|u| UserRow {
            me: u.username == principal.staff.username,
            username: u.username.to_string(),
            name: u.display_name,
            role: t.of("role", u.post.role().as_str()),
            place: place_name(&refs, u.post.jurisdiction()),
            body: u
                .post
                .body()
                .and_then(|b| refs.bodies.get(b))
                .map(|b| b.name.clone())
                .unwrap_or_default(),
            password: u.password_hash.is_some(),
            created: local_date(u.created_at),
            disabled: u.disabled_at.map(local_date),
        })
        .collect();
    let tokens = tokens
        .into_iter()
        .map(|tk| TokenRow {
            id: tk.id,
            username: tk.username.to_string(),
            name: tk.name,
            created: local_date(tk.created_at),
            last_used: tk.last_used_at.map(local_date).unwrap_or_default(),
            revoked: tk.revoked_at.map(local_date),
        })
        .collect();
    let roles = Role::ALL
        .iter()
        .map(|r| Choice {
            code: r.as_str().into(),
            label: t.of("role", r.as_str()),
        })
        .collect();
    let places = places(&refs.tree, None, |_| true);
    let mut bodies: Vec<Choice> = refs
        .bodies
        .values()
        .map(|b| Choice {
            code: b.code.to_string(),
            label: format!("{} · {}", b.name, place_name(&refs, &b.jurisdiction)),
        })
        .collect();
    bodies.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(render(
        StatusCode::OK,
        &People {
            c,
            users,
            tokens,
            roles,
            places,
            bodies,
        },
    ))
}

pub struct PlaceRow {
    pub code: String,
    pub name: String,
    pub level: String,
    pub depth: usize,
}

pub struct BodyRow {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub place: String,
    pub categories: String,
}

pub struct CategoryRow {
    pub code: String,
    pub name: String,
    pub kinds: String,
    pub top: bool,
}

#[derive(askama::Template)]
#[template(path = "admin_reference.html")]
pub struct Reference {
    pub c: Chrome,
    pub places: Vec<PlaceRow>,
    pub bodies: Vec<BodyRow>,
    pub categories: Vec<CategoryRow>,
}

pub async fn reference(State(app): State<Arc<AppState>>, c: Chrome) -> Response {
    let refs = app.ledger.refs();
    let t = c.t;
    let tree = &refs.tree;
    let mut places: Vec<(String, PlaceRow)> = tree
        .nodes()
        .map(|n| {
            (
                tree.path(&n.code),
                PlaceRow {
                    code: n.code.to_string(),
                    name: n.name.clone(),
                    level: t.of("level", n.level.as_str()),
                    depth: tree.ancestry(&n.code).len().saturating_sub(1),
                },
            )
        })
        .collect();
    places.sort_by(|a, b| a.0.cmp(&b.0));
    let category_name = |code: &jiefen_domain::taxonomy::CategoryCode| {
        refs.taxonomy
            .get(code)
            .map_or_else(|| code.to_string(), |c| c.name.clone())
    };
    let bodies = refs
        .bodies
        .values()
        .map(|b| BodyRow {
            code: b.code.to_string(),
            name: b.name.clone(),
            kind: t.of("body_kind", &code(b.kind)),
            place: place_name(&refs, &b.jurisdiction),
            categories: b
                .categories
                .iter()
                .map(category_name)
                .collect::<Vec<_>>()
                .join("、"),
        })
        .collect();
    let categories = refs
        .taxonomy
        .categories()
        .map(|c| CategoryRow {
            code: c.code.to_string(),
            name: c.name.clone(),
            kinds: c
                .kinds
                .iter()
                .map(|k| t.of("kind", k.as_str()))
                .collect::<Vec<_>>()
                .join("、"),
            top: c.parent.is_none(),
        })
        .collect();
    render(
        StatusCode::OK,
        &Reference {
            c,
            places: places.into_iter().map(|(_, p)| p).collect(),
            bodies,
            categories,
        },
    )
}

pub struct RuleRow {
    pub kind: String,
    pub stage: String,
    pub category: String,
    pub complexity: String,
    pub limit: String,
    pub extensions: String,
    pub basis: String,
}

#[derive(askama::Template)]
#[template(path = "admin_policy.html")]
pub struct PolicyPage {
    pub c: Chrome,
    pub version: String,
    pub due_soon_percent: String,
    pub rules: Vec<RuleRow>,
    pub escalation: Vec<(String, String)>,
    pub risk: Vec<(String, String)>,
    pub repeat_days: u32,
    /// (place, its policy version).
    pub overrides: Vec<(String, String)>,
}

pub async fn policy(State(app): State<Arc<AppState>>, c: Chrome) -> Response {
    let refs = app.ledger.refs();
    let t = c.t;
    let rules = &refs.rules;
    let p = &rules.policy;
    let rows = p
        .deadlines
        .iter()
        .map(|r| RuleRow {
            kind: t.of("kind", r.kind.as_str()),
            stage: t.of("policy.stage", &code(r.stage)),
            category: r
                .category
                .as_ref()
                .map(|code| {
                    refs.taxonomy
                        .get(code)
                        .map_or_else(|| code.to_string(), |c| c.name.clone())
                })
                .unwrap_or_default(),
            complexity: r
                .complexity
                .map(|x| t.of("complexity", &code(x)))
                .unwrap_or_default(),
            limit: t.fmt(
                &format!("policy.days_{}", code(r.count)),
                &[("n", &r.days.to_string())],
            ),
            extensions: if r.max_extensions == 0 {
                String::new()
            } else {
                t.fmt(
                    "policy.extensions",
                    &[
                        ("n", &r.max_extensions.to_string()),
                        ("days", &r.max_extension_days.to_string()),
                    ],
                )
            },
            basis: r.basis.clone(),
        })
        .collect();
    let yes_no = |b: bool| t.get(if b { "policy.yes" } else { "policy.no" }).to_owned();
    let escalation = vec![
        (
            t.get("policy.notify_supervisor").to_owned(),
            yes_no(p.escalation.notify_supervisor),
        ),
        (
            t.get("policy.escalate_after").to_owned(),
            p.escalation.escalate_after_days.to_string(),
        ),
        (
            t.get("policy.repeat_every").to_owned(),
            p.escalation.repeat_every_days.to_string(),
        ),
    ];
    let risk = vec![
        (
            t.get("policy.yellow_at").to_owned(),
            p.risk.yellow_at.to_string(),
        ),
        (t.get("policy.red_at").to_owned(), p.risk.red_at.to_string()),
        (
            t.get("policy.collective_people").to_owned(),
            p.risk.collective_people.to_string(),
        ),
        (
            t.get("policy.threat_phrases").to_owned(),
            p.risk.threat_phrases.join("、"),
        ),
    ];
    let mut overrides: Vec<(String, String)> = rules
        .overridden()
        .map(|code| {
            (
                place_name(&refs, code),
                rules.at([code]).policy.version.clone(),
            )
        })
        .collect();
    overrides.sort();
    render(
        StatusCode::OK,
        &PolicyPage {
            version: p.version.clone(),
            due_soon_percent: format!("{:.0}", p.due_soon_fraction * 100.0),
            rules: rows,
            escalation,
            risk,
            repeat_days: p.repeats.window_days,
            overrides,
            c,
        },
    )
}

pub struct AuditRow {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub action_code: &'static str,
    pub subject: String,
    pub case_id: Option<String>,
    pub detail: String,
    pub address: String,
}

#[derive(askama::Template)]
#[template(path = "audit.html")]
pub struct Audit {
    pub c: Chrome,
    pub rows: Vec<AuditRow>,
    pub actions: Vec<(String, String, bool)>,
    pub case: String,
    pub earlier: Option<String>,
    pub later: Option<String>,
}

/// Entries per page.
const AUDIT_PAGE: u32 = 50;

pub async fn audit(
    State(app): State<Arc<AppState>>,
    c: Chrome,
    q: Result<QueryParams, jiefen_web::ApiError>,
) -> Result<Response, PageError> {
    let (c, q) = crate::page_params(c, q, &["after", "action", "case"])?;
    let t = c.t;
    let action = q.get("action").and_then(AuditAction::parse);
    let case = q.get("case").and_then(jiefen_domain::case::CaseId::parse);
    // The newest page unless asked for another: the log's head, counted
    // back a page.
    let head = match app.accounts.audit_head().await {
        Ok(h) => h,
        Err(e) => return Err(PageError::new(c, e.into())),
    };
    let filtered = action.is_some() || case.is_some();
    let after = match q.get("after").and_then(|s| s.parse::<u64>().ok()) {
        Some(a) => a,
        None if filtered => 0,
        None => head.saturating_sub(u64::from(AUDIT_PAGE)),
    };
    let rows = match app
        .accounts
        .audit_log(&AuditQuery {
            after_seq: after,
            action: action.map(|a| a.as_str().to_owned()),
            case_id: case.map(|c| c.to_string()),
            limit: AUDIT_PAGE,
        })
        .await
    {
        Ok(rows) => rows,
        Err(e) => return Err(PageError::new(c, e.into())),
    };
    let keep = |after: u64| {
        let mut parts = vec![format!("after={after}")];
        if let Some(a) = action {
            parts.push(format!("action={}", a.as_str()));
        }
        if let Some(id) = case {
            parts.push(format!("case={id}"));
        }
        format!("/audit?{}", parts.join("&"))
    };
    let earlier =
        (!filtered && after > 0).then(|| keep(after.saturating_sub(u64::from(AUDIT_PAGE))));
    let later = (rows.len() == AUDIT_PAGE as usize)
        .then(|| rows.last().map(|r| keep(r.seq)))
        .flatten();
    let rows = rows
        .into_iter()
        .rev()
        .map(|r| {
            let e = r.entry;
            let mut detail: Vec<String> = e
                .fields
                .iter()
                .map(|f| t.of("personal", f.as_str()))
                .collect();
            detail.extend(e.reason.clone());
            detail.extend(e.detail.clone());
            AuditRow {
                seq: r.seq,
                at: crate::case::local_time(e.at),
                actor: e.actor,
                action: t.of("audit", e.action.as_str()),
                action_code: e.action.as_str(),
                subject: e.subject.unwrap_or_default(),
                case_id: e.case_id.map(|id| id.to_string()),
                detail: detail.join(" · "),
                address: e.address.unwrap_or_default(),
            }
        })
        .collect();
    let chosen = action.map(|a| a.as_str()).unwrap_or("");
    let mut actions = vec![(
        String::new(),
        t.get("queue.any").to_owned(),
        chosen.is_empty(),
    )];
    actions.extend(AuditAction::ALL.iter().map(|a| {
        (
            a.as_str().to_owned(),
            t.of("audit", a.as_str()),
            a.as_str() == chosen,
        )
    }));
    Ok(render(
        StatusCode::OK,
        &Audit {
            rows,
            actions,
            case: case.map(|c| c.to_string()).unwrap_or_default(),
            earlier,
            later,
            c,
        },
    ))
}
