//! The supervision board 督办台 of supervisors and leaders: what needs their
//! attention in their scope (overdue, due soon, open red cases, cases their
//! body sent back, cases waiting to be assigned, reviews asked for), counted by body and by area,
//! with escalation, supervision and a leader in charge one form away on
//! every row. It reads through the API's own list, so it shows exactly what
//! the user's queue would.

use crate::actions::ActionForm;
use crate::chrome::Chrome;
use crate::queue::{row, Row};
use crate::{render, PageError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiefen_domain::case::Case;
use jiefen_domain::jurisdiction::Level;
use jiefen_domain::lifecycle::Action;
use jiefen_web::auth::Principal;
use jiefen_web::extract::QueryParams;
use jiefen_web::AppState;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Cases read per section; more are counted as "at least".
const SECTION: u32 = 100;
/// Cases shown per section, most urgent first; the queue has the rest.
const SHOWN: usize = 20;

/// The actions the board offers on each row.
const BOARD_ACTIONS: [Action; 3] = [Action::Escalate, Action::Supervise, Action::AssignLeader];

pub struct BoardRow {
    pub r: Row,
    pub body: String,
    pub oversight: Vec<String>,
    pub actions: Vec<ActionForm>,
}

pub struct Section {
    pub key: &'static str,
    pub title: String,
    /// The queue with the same filter.
    pub href: String,
    pub count: String,
    pub rows: Vec<BoardRow>,
}

#[derive(askama::Template)]
#[template(path = "board.html")]
pub struct Board {
    pub c: Chrome,
    pub sections: Vec<Section>,
    /// (link to the board narrowed to it, name, cases needing attention),
    /// most first.
    pub by_body: Vec<(String, String, usize)>,
    pub by_area: Vec<(String, String, usize)>,
    /// The narrowing in force (a body's or an area's name), if any.
    pub narrowed: Option<String>,
}

/// What the board may be narrowed to: the API's own list parameters.
const NARROW: [&str; 2] = ["body", "jurisdiction"];

/// Each section: its key, the API filter, and which of the listed cases
/// belong to it (the API has no filter for "open" or "under review").
type Keep = fn(&Case) -> bool;
const SECTIONS: [(&str, &str, Keep); 6] = [
    ("overdue", "overdue=true", |_| true),
    ("due_soon", "signal=due_soon", |_| true),
    ("red", "risk=red", |c| c.state().is_open()),
    ("returned", "returned=true", |_| true),
    ("unassigned", "state=accepted", |c| {
        c.review.is_none() && c.returned.is_none()
    }),
    ("review", "state=accepted", |c| c.review.is_some()),
];

pub async fn page(
    State(app): State<Arc<AppState>>,
    c: Chrome,
    principal: Principal,
    q: Result<QueryParams, jiefen_web::ApiError>,
) -> Result<Response, PageError> {
    let (c, q) = crate::page_params(c, q, &NARROW)?;
    let narrow: Vec<(String, String)> = NARROW
        .iter()
        .filter_map(|n| q.get(n).map(|v| ((*n).to_owned(), v.to_owned())))
        .collect();
    let now = app.ledger.clock().now();
    let refs = app.ledger.refs();
    let role = principal.staff.role();
    let t = &c.t;
    let mut sections = Vec::new();
    let mut seen = HashSet::new();
    let mut by_body: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut by_area: BTreeMap<(String, String), usize> = BTreeMap::new();
    // Sections sharing a filter share one read.
    let mut lists: HashMap<&str, jiefen_web::cases::CaseList> = HashMap::new();
    for (_, filter, _) in SECTIONS {
        if lists.contains_key(filter) {
            continue;
        }
        let (name, value) = filter.split_once('=').expect("name=value");
        let mut pairs = vec![
            (name.to_owned(), value.to_owned()),
            ("limit".to_owned(), SECTION.to_string()),
        ];
        pairs.extend(narrow.iter().cloned());
        let q = QueryParams::from(pairs);
        match jiefen_web::cases::list_page(&app, &principal, &q).await {
            Ok(list) => lists.insert(filter, list),
            Err(error) => return Err(PageError::new(c, error)),
        };
    }
    for (key, filter, keep) in SECTIONS {
        let list = &lists[filter];
        let more = list.next_cursor.is_some();
        let mut rows = Vec::new();
        let mut count = 0;
        for view in list.items.iter().filter(|v| keep(&v.case)) {
            count += 1;
            let case = &view.case;
            let body = crate::queue::body_name(&refs, case)
                .unwrap_or_else(|| t.get("case.no_body").to_owned());
            if seen.insert(case.id) {
                let body_link = match &case.handled_by {
                    Some(b) => format!("/board?body={b}"),
                    None => "/board".to_owned(),
                };
                *by_body.entry((body_link, body.clone())).or_default() += 1;
                if let Some(area) = refs
                    .tree
                    .ancestor_at(&case.location.jurisdiction, Level::Town)
                    .or_else(|| refs.tree.get(&case.location.jurisdiction))
                {
                    let link = format!("/board?jurisdiction={}", area.code);
                    *by_area.entry((link, area.name.clone())).or_default() += 1;
                }
            }
            if rows.len() == SHOWN {
                continue;
            }
            let actions = crate::actions::forms(t, case, role, &refs, now)
                .into_iter()
                .filter(|f| BOARD_ACTIONS.iter().any(|a| a.as_str() == f.action))
                .map(|f| ActionForm {
                    primary: false,
                    ..f
                })
                .collect();
            rows.push(BoardRow {
                r: row(&app, &c, case, now),
                body,
                oversight: crate::case::oversight(t, &refs, case),
                actions,
            });
        }
        let count = if more {
            format!("{count}+")
        } else {
            count.to_string()
        };
        let narrowed: String = narrow.iter().map(|(k, v)| format!("&{k}={v}")).collect();
        sections.push(Section {
            key,
            title: t.of("board", key),
            href: format!("/cases?{filter}{narrowed}"),
            count,
            rows,
        });
    }
    let ranked = |m: BTreeMap<(String, String), usize>| {
        let mut v: Vec<_> = m.into_iter().map(|((l, n), c)| (l, n, c)).collect();
        v.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
        v
    };
    let narrowed = q
        .get("body")
        .and_then(|b| jiefen_domain::body::BodyCode::parse(b).ok())
        .and_then(|b| refs.bodies.get(&b).map(|b| b.name.clone()))
        .or_else(|| {
            q.get("jurisdiction")
                .and_then(|j| jiefen_domain::jurisdiction::JurisdictionCode::parse(j).ok())
                .and_then(|j| refs.tree.get(&j).map(|j| j.name.clone()))
        });
    let page = Board {
        narrowed,
        sections,
        by_body: ranked(by_body),
        by_area: ranked(by_area),
        c,
    };
    Ok(render(StatusCode::OK, &page))
}
