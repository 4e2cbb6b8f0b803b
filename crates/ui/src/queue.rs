//! The work queues: the cases of the caller's scope (their body's for a
//! handler, their jurisdiction's for centre staff), open red ones first,
//! with deadline signals and risk colours; filters and full-text search
//! are the case list's and the search API's own.

use crate::chrome::Chrome;
use crate::{render, PageError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiefen_domain::access::{Function, Role};
use jiefen_domain::case::{Case, CaseId, CaseKind, CaseState, DeadlineSignal, RiskLevel};
use jiefen_domain::Timestamp;
use jiefen_store::CaseOrder;
use jiefen_web::auth::Principal;
use jiefen_web::extract::QueryParams;
use jiefen_web::AppState;
use std::sync::Arc;

const QUEUE_PARAMS: &[&str] = &[
    "q",
    "kind",
    "state",
    "risk",
    "signal",
    "sort",
    "cursor",
    "offset",
    // The rest of the list's filters, which the dashboard's figures and
    // the board's tallies link with; kept as the form changes the others.
    "jurisdiction",
    "place",
    "category",
    "body",
    "channel",
    "resolved",
    "on_time",
    "satisfied",
    "returned",
    "overdue",
    "registered_by",
    "handler",
    "created_from",
    "created_to",
];
/// The parameters the filter form shows; the others it carries along.
const FORM_PARAMS: &[&str] = &[
    "q", "kind", "state", "risk", "signal", "sort", "cursor", "offset",
];
const PAGE: &str = "30";

pub struct Row {
    pub id: String,
    pub number: String,
    pub title: String,
    pub kind: String,
    pub state: String,
    pub state_code: &'static str,
    pub risk: String,
    pub risk_code: &'static str,
    pub signal: Option<(String, &'static str)>,
    pub due: String,
    pub registered: String,
    pub place: String,
    /// The search snippet, split at its highlights: (text, highlighted).
    pub snippet: Vec<(String, bool)>,
    /// The kinds of the unread notices about it in the user's inboxes.
    pub unread: Vec<String>,
}

/// "Mine" beside the caller's whole scope, for those who have cases of
/// their own: a handler's are those they signed for, a clerk's or grid
/// worker's those they registered.
pub struct Tab {
    pub href: String,
    pub label: String,
    pub current: bool,
}

fn tabs(c: &Chrome, principal: &Principal, q: &QueryParams) -> Vec<Tab> {
    let staff = &principal.staff;
    let me = staff.username.as_str();
    let (mine_param, mine_label, all_label) = match staff.role() {
        Role::Handler => ("handler", "queue.tab_handled", "queue.tab_body"),
        r if r.may(Function::RegisterCase) => {
            ("registered_by", "queue.tab_registered", "queue.tab_area")
        }
        _ => return Vec::new(),
    };
    let mine = q.get(mine_param) == Some(me);
    let only_scope = QUEUE_PARAMS
        .iter()
        .all(|p| *p == "sort" || q.get(p).is_none());
    let sort = q
        .get("sort")
        .map(|s| format!("sort={}", crate::url_encode(s)));
    let href = |extra: Option<String>| {
        let parts: Vec<String> = extra.into_iter().chain(sort.clone()).collect();
        if parts.is_empty() {
            "/cases".to_owned()
        } else {
            format!("/cases?{}", parts.join("&"))
        }
    };
    vec![
        Tab {
            href: href(Some(format!("{mine_param}={}", crate::url_encode(me)))),
            label: c.t.get(mine_label).to_owned(),
            current: mine,
        },
        Tab {
            href: href(None),
            label: c.t.get(all_label).to_owned(),
            current: only_scope,
        },
    ]
}

pub struct Filter {
    pub name: &'static str,
    pub label: String,
    pub options: Vec<(String, String, bool)>,
}

#[derive(askama::Template)]
#[template(path = "queue.html")]
pub struct Queue {
    pub c: Chrome,
    pub tabs: Vec<Tab>,
    pub q: String,
    pub filters: Vec<Filter>,
    pub rows: Vec<Row>,
    pub total: Option<usize>,
    pub next: Option<String>,
    pub problem: Option<String>,
    /// Filters the form does not show, carried along by it.
    pub kept: Vec<(String, String)>,
    /// Unread notices in the user's own inboxes, all cases.
    pub unread: crate::inbox::Unread,
}

/// A date in China Standard Time, as 2026-11-24.
pub fn local_date(t: Timestamp) -> String {
    let d = jiefen_domain::deadlines::local_date(t);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// A place's name, or its code if the tree does not know it.
pub fn place_name(
    refs: &jiefen_store::refdata::RefData,
    code: &jiefen_domain::jurisdiction::JurisdictionCode,
) -> String {
    refs.tree
        .get(code)
        .map_or_else(|| code.to_string(), |j| j.name.clone())
}

/// The name of the body handling the case (or that concluded it), if any.
pub fn body_name(refs: &jiefen_store::refdata::RefData, case: &Case) -> Option<String> {
    case.handled_by
        .as_ref()
        .and_then(|b| refs.bodies.get(b))
        .map(|b| b.name.clone())
}

pub fn row(app: &AppState, c: &Chrome, case: &Case, now: Timestamp) -> Row {
    let t = c.t;
    let refs = app.ledger.refs();
    let state = case.state();
    let signal = case.deadline_signal(now);
    let due = case
        .stage
        .time_limit()
        .map(|l| local_date(l.due_at))
        .unwrap_or_default();
    Row {
        id: case.id.to_string(),
        number: case.number.clone(),
        title: case.title.as_str().to_owned(),
        kind: t.of("kind", case.kind.as_str()),
        state: t.of("state", state.as_str()),
        state_code: state.as_str(),
        risk: t.of("risk", case.risk.as_str()),
        risk_code: case.risk.as_str(),
        signal: signal.map(|s| (t.of("signal", s.as_str()), s.as_str())),
        due,
        registered: local_date(case.registered_at),
        place: refs
            .tree
            .get(&case.location.jurisdiction)
            .map(|j| j.name.clone())
            .unwrap_or_default(),
        snippet: Vec::new(),
        unread: Vec::new(),
    }
}

/// A select of the form: `any` adds a first entry that leaves it unset.
fn options<T: Copy>(
    c: &Chrome,
    q: &QueryParams,
    (name, group): (&'static str, &str),
    any: bool,
    all: &[T],
    code: fn(T) -> &'static str,
) -> Filter {
    let chosen = q.get(name).unwrap_or("");
    let mut options = Vec::new();
    if any {
        options.push((
            String::new(),
            c.t.get("queue.any").to_owned(),
            chosen.is_empty(),
        ));
    }
    options.extend(all.iter().map(|v| {
        let code = code(*v);
        (code.to_owned(), c.t.of(group, code), chosen == code)
    }));
    Filter {
        name,
        label: c.t.get(&format!("queue.filter_{name}")).to_owned(),
        options,
    }
}

pub async fn page(
    State(app): State<Arc<AppState>>,
    c: Chrome,
    principal: Principal,
    q: Result<QueryParams, jiefen_web::ApiError>,
) -> Result<Response, PageError> {
    let (c, q) = crate::page_params(c, q, QUEUE_PARAMS)?;
    let filters = vec![
        options(
            &c,
            &q,
            ("state", "state"),
            true,
            CaseState::ALL,
            CaseState::as_str,
        ),
        options(
            &c,
            &q,
            ("risk", "risk"),
            true,
            RiskLevel::ALL,
            RiskLevel::as_str,
        ),
        options(
            &c,
            &q,
            ("signal", "signal"),
            true,
            DeadlineSignal::ALL,
            DeadlineSignal::as_str,
        ),
        options(
            &c,
            &q,
            ("kind", "kind"),
            true,
            CaseKind::ALL,
            CaseKind::as_str,
        ),
        options(
            &c,
            &q,
            ("sort", "sort"),
            false,
            CaseOrder::ALL,
            CaseOrder::as_str,
        ),
    ];
    let now = app.ledger.clock().now();
    let text = q.get("q").map(str::to_owned);
    // The API's own parameters: the page size, and the rest as given.
    let mut pairs: Vec<(String, String)> = QUEUE_PARAMS
        .iter()
        .filter_map(|name| q.get(name).map(|v| ((*name).to_owned(), v.to_owned())))
        .collect();
    pairs.push(("limit".to_owned(), PAGE.to_owned()));
    let kept = pairs
        .iter()
        .filter(|(k, _)| k != "limit" && !FORM_PARAMS.contains(&k.as_str()))
        .cloned()
        .collect();
    let api_q = QueryParams::from(pairs.clone());
    let mut rows = Vec::new();
    let mut total = None;
    let mut next = None;
    let mut problem = None;
    let here_without = |skip: &str, value: String| {
        let mut parts: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| k != "limit" && k != "cursor" && k != "offset" && k != skip)
            .map(|(k, v)| format!("{k}={}", crate::url_encode(v)))
            .collect();
        parts.push(format!("{skip}={}", crate::url_encode(&value)));
        format!("/cases?{}", parts.join("&"))
    };
    if text.is_some() {
        match jiefen_web::search::run(&app, &principal, &api_q).await {
            Ok(found) => {
                total = Some(found.total);
                next = found
                    .next_offset
                    .map(|o| here_without("offset", o.to_string()));
                for hit in found.items {
                    let mut r = row(&app, &c, &hit.case.case, now);
                    if let Some(s) = hit.snippet {
                        r.snippet = split_highlights(&s.text, &s.highlights);
                    }
                    rows.push(r);
                }
            }
            Err(e) if e.status.is_client_error() => problem = Some(e.message),
            Err(error) => return Err(PageError::new(c, error)),
        }
    } else {
        match jiefen_web::cases::list_page(&app, &principal, &api_q).await {
            Ok(list) => {
                next = list.next_cursor.map(|cur| here_without("cursor", cur));
                rows = list
                    .items
                    .iter()
                    .map(|v| row(&app, &c, &v.case, now))
                    .collect();
            }
            Err(e) if e.status.is_client_error() => problem = Some(e.message),
            Err(error) => return Err(PageError::new(c, error)),
        }
    }
    let ids: Vec<CaseId> = rows.iter().filter_map(|r| CaseId::parse(&r.id)).collect();
    let (by_case, unread) = match crate::inbox::unread_for(&app, &principal, &ids).await {
        Ok(found) => found,
        Err(error) => return Err(PageError::new(c, error)),
    };
    for r in &mut rows {
        if let Some(kinds) = CaseId::parse(&r.id).and_then(|id| by_case.get(&id)) {
            r.unread = kinds.iter().map(|k| c.t.of("notice", k.as_str())).collect();
        }
    }
    Ok(render(
        StatusCode::OK,
        &Queue {
            tabs: tabs(&c, &principal, &q),
            c,
            q: text.unwrap_or_default(),
            filters,
            rows,
            total,
            next,
            problem,
            kept,
            unread,
        },
    ))
}

/// A snippet cut at its highlights (character ranges).
pub fn split_highlights(text: &str, highlights: &[[usize; 2]]) -> Vec<(String, bool)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut at = 0;
    for [a, b] in highlights {
        let (a, b) = ((*a).min(chars.len()), (*b).min(chars.len()));
        if a < at || b <= a {
            continue;
        }
        if a > at {
            out.push((chars[at..a].iter().collect(), false));
        }
        out.push((chars[a..b].iter().collect(), true));
        at = b;
    }
    if at < chars.len() {
        out.push((chars[at..].iter().collect(), false));
    }
    out
}
