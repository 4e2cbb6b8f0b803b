//! The case page: the case as it stands, its parties (masked; the full
//! values only through the API's audited disclosure), the whole timeline
//! with who did what and when, and whether its hash chain holds; and the
//! receipt handed to the person who brought it.

use crate::chrome::Chrome;
use crate::queue::{local_date, row, Row};
use crate::{render, PageError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiefen_domain::case::{Case, Stage};
use jiefen_domain::Timestamp;
use jiefen_store::rows::first_broken_link;
use jiefen_web::extract::QueryParams;
use jiefen_web::scope::CaseInScope;
use jiefen_web::{ApiError, AppState};
use std::sync::Arc;

pub struct Party {
    pub role: String,
    pub kind: String,
    pub name_or_org: String,
    /// (label, masked value).
    pub fields: Vec<(String, String)>,
}

pub struct Entry {
    pub seq: u64,
    pub what: String,
    pub code: String,
    pub at: String,
    pub actor: String,
    /// The event's own words: notes, reasons, summaries.
    pub details: Vec<String>,
}

#[derive(askama::Template)]
#[template(path = "case.html")]
pub struct CasePage {
    pub c: Chrome,
    pub r: Row,
    pub description: String,
    pub channel: String,
    pub body: String,
    pub level: String,
    pub risk_reasons: Vec<String>,
    pub parties: Vec<Party>,
    pub timeline: Vec<Entry>,
    /// Whether every event links to the one before and hashes to its
    /// recorded hash; and the last hash.
    pub chain_holds: bool,
    pub head: String,
}

/// China Standard Time, to the minute.
pub fn local_time(t: Timestamp) -> String {
    let odt = t.as_offset().to_offset(jiefen_domain::deadlines::china());
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        odt.year(),
        u8::from(odt.month()),
        odt.day(),
        odt.hour(),
        odt.minute()
    )
}

fn loaded(
    c: Chrome,
    found: Result<CaseInScope, ApiError>,
) -> Result<(Chrome, CaseInScope, Case), PageError> {
    let found = match found {
        Ok(f) => f,
        Err(error) => return Err(PageError::new(c, error)),
    };
    match found.case() {
        Ok(case) => Ok((c, found, case)),
        Err(error) => Err(PageError::new(c, error)),
    }
}

/// A domain value's serialised name (`applicant`, `organisation`), the key
/// of its label.
fn code(value: impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub async fn page(
    State(app): State<Arc<AppState>>,
    c: Chrome,
    found: Result<CaseInScope, ApiError>,
) -> Result<Response, PageError> {
    let (c, found, case) = loaded(c, found)?;
    let now = app.ledger.clock().now();
    let t = c.t;
    let refs = app.ledger.refs();
    let parties = match jiefen_web::cases::parties_of(&app, &found, &QueryParams::default()).await {
        Ok(p) => p,
        Err(error) => return Err(PageError::new(c, error)),
    };
    let parties = parties
        .parties
        .into_iter()
        .map(|p| Party {
            role: t.of("party_role", &code(p.role)),
            kind: t.of("party_kind", &code(p.kind)),
            name_or_org: p.organisation.unwrap_or_default(),
            fields: p
                .personal
                .into_iter()
                .map(|f| {
                    (
                        t.of("personal", f.field.as_str()),
                        f.masked.unwrap_or_else(|| t.get("case.erased").to_owned()),
                    )
                })
                .collect(),
        })
        .collect();
    let rows = match app.ledger.history(found.id).await {
        Ok(r) => r,
        Err(e) => return Err(PageError::new(c, e.into())),
    };
    let chain_holds = !rows.is_empty() && first_broken_link(&rows).is_none();
    let head = rows.last().map(|r| r.hash.to_hex()).unwrap_or_default();
    let mut timeline: Vec<Entry> = rows
        .iter()
        .map(|r| Entry {
            seq: r.seq,
            what: t.of("event", &r.kind),
            code: r.kind.clone(),
            at: local_time(Timestamp::from_unix_millis(r.at_ms)),
            actor: r.actor.clone(),
            details: r.peoples_words(),
        })
        .collect();
    timeline.reverse();
    let body = case
        .handled_by
        .as_ref()
        .and_then(|b| refs.bodies.get(b).map(|b| b.name.clone()))
        .unwrap_or_else(|| t.get("case.no_body").to_owned());
    let page = CasePage {
        r: row(&app, &c, &case, now),
        description: case.description.as_str().to_owned(),
        channel: t.of("channel", case.channel.as_str()),
        body,
        level: t.of("level", case.level.as_str()),
        risk_reasons: case.risk_reasons.iter().map(|r| r.detail.clone()).collect(),
        parties,
        timeline,
        chain_holds,
        head,
        c,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(askama::Template)]
#[template(path = "receipt.html")]
pub struct Receipt {
    pub c: Chrome,
    pub r: Row,
    pub receipt_code: String,
    pub registered: String,
    pub centre: String,
    pub next_step: String,
    pub acceptance_due: Option<String>,
}

pub async fn receipt(
    State(app): State<Arc<AppState>>,
    c: Chrome,
    found: Result<CaseInScope, ApiError>,
) -> Result<Response, PageError> {
    let (c, _, case) = loaded(c, found)?;
    let now = app.ledger.clock().now();
    let refs = app.ledger.refs();
    let acceptance_due = match &case.stage {
        Stage::Registered {
            acceptance: Some(a),
        } => Some(local_date(a.due_at)),
        _ => None,
    };
    let centre = refs
        .tree
        .get(&case.location.jurisdiction)
        .map(|j| j.name.clone())
        .unwrap_or_default();
    let page = Receipt {
        r: row(&app, &c, &case, now),
        receipt_code: case.receipt_code.clone(),
        registered: local_time(case.registered_at),
        centre,
        next_step: c.t.of("receipt.next", case.kind.as_str()),
        acceptance_due,
        c,
    };
    Ok(render(StatusCode::OK, &page))
}
