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

/// Another case this one may repeat or has absorbed, as far as the user
/// may see it.
pub struct Related {
    pub href: Option<String>,
    pub label: String,
    pub why: String,
}

pub struct Attachment {
    pub href: String,
    pub filename: String,
    pub size: String,
    pub media_type: String,
}

#[derive(askama::Template)]
#[template(path = "case.html")]
pub struct CasePage {
    pub id: String,
    pub actions: Vec<crate::actions::ActionForm>,
    /// Supervision, escalation, leader and review, as lines.
    pub oversight: Vec<String>,
    pub possible_repeats: Vec<Related>,
    pub linked_repeats: Vec<Related>,
    pub attachments: Vec<Attachment>,
    pub may_attach: bool,
    /// The attachment limits, for the upload's checks and its hint.
    pub max_bytes: u64,
    pub accept: String,
    /// Whether the user may ask for full personal values, and whether they
    /// are shown now.
    pub may_see_full: bool,
    pub full_shown: bool,
    pub has_agreement: bool,
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

pub(crate) fn loaded(
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
pub(crate) fn code(value: impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A size as people read it.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 => format!("{:.0} KB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn related(t: &crate::i18n::Tr, r: &jiefen_web::cases::RelatedCase, why: String) -> Related {
    Related {
        href: r.in_scope.then(|| format!("/cases/{}", r.case_id)),
        label: match (&r.number, &r.title) {
            (Some(n), Some(title)) => format!("{n} {title}"),
            _ => t.get("case.out_of_scope").to_owned(),
        },
        why,
    }
}

/// What oversight the case is under: supervision, escalations, a leader
/// in charge, a review, an extension awaiting approval.
pub fn oversight(
    t: &crate::i18n::Tr,
    refs: &jiefen_store::refdata::RefData,
    case: &Case,
) -> Vec<String> {
    let mut oversight = Vec::new();
    if let Some(r) = &case.returned {
        let body = refs
            .bodies
            .get(&r.by)
            .map_or_else(|| r.by.to_string(), |b| b.name.clone());
        oversight.push(t.fmt(
            "case.returned_by",
            &[("body", &body), ("reason", r.reason.as_str())],
        ));
    }
    if case.supervision.count > 0 {
        let key = if case.supervision.listed {
            "case.supervised_listed"
        } else {
            "case.supervised"
        };
        oversight.push(t.fmt(key, &[("n", &case.supervision.count.to_string())]));
    }
    if case.escalations > 0 {
        oversight.push(t.fmt("case.escalated", &[("n", &case.escalations.to_string())]));
    }
    if let Some(leader) = &case.leader {
        oversight.push(t.fmt("case.leader", &[("name", leader.as_str())]));
    }
    if let Some(review) = case.review {
        oversight.push(t.of("review", review.as_str()));
    }
    if let Stage::InProgress(h) = &case.stage {
        if let Some(ext) = &h.pending_extension {
            oversight.push(t.fmt("case.extension_pending", &[("days", &ext.days.to_string())]));
        }
    }
    oversight
}

/// The case page. `?full=true&reason=…` shows the parties' full values,
/// through the API's audited disclosure (refused to roles without it).
pub async fn page(
    State(app): State<Arc<AppState>>,
    c: Chrome,
    found: Result<CaseInScope, ApiError>,
    q: Result<QueryParams, ApiError>,
) -> Result<Response, PageError> {
    let (c, q) = crate::page_params(c, q, &["full", "reason"])?;
    let (c, found, case) = loaded(c, found)?;
    let now = app.ledger.clock().now();
    let t = c.t;
    let refs = app.ledger.refs();
    let full_shown = q.get("full") == Some("true");
    let parties = match jiefen_web::cases::parties_of(&app, &found, &q).await {
        Ok(p) => p,
        Err(error) => return Err(PageError::new(c, error)),
    };
    let repeats = match jiefen_web::cases::repeats_of(&app, &found).await {
        Ok(r) => r,
        Err(error) => return Err(PageError::new(c, error)),
    };
    let role = found.principal.staff.role();
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
                        f.value
                            .or(f.masked)
                            .unwrap_or_else(|| t.get("case.erased").to_owned()),
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
    let body =
        crate::queue::body_name(&refs, &case).unwrap_or_else(|| t.get("case.no_body").to_owned());
    let oversight = oversight(&t, &refs, &case);
    let possible_repeats = repeats
        .possible_repeats
        .iter()
        .map(|p| {
            let why = p
                .reasons
                .iter()
                .map(|r| r.zh)
                .collect::<Vec<_>>()
                .join("；");
            related(&t, &p.case, why)
        })
        .collect();
    let linked_repeats = repeats
        .repeats
        .iter()
        .map(|r| related(&t, r, String::new()))
        .collect();
    let id = found.id.to_string();
    let attachments = case
        .attachments
        .iter()
        .map(|a| Attachment {
            href: format!("/api/v1/cases/{id}/attachments/{}", a.sha256.to_hex()),
            filename: a.filename.clone(),
            size: human_size(a.size),
            media_type: a.media_type.clone(),
        })
        .collect();
    let page = CasePage {
        actions: crate::actions::forms(&t, &case, role, &refs, now),
        oversight,
        possible_repeats,
        linked_repeats,
        attachments,
        may_attach: role.may_attach() && case.state() != jiefen_domain::CaseState::Archived,
        max_bytes: jiefen_store::blobs::MAX_ATTACHMENT_BYTES as u64,
        accept: jiefen_store::blobs::ALLOWED
            .iter()
            .map(|(media_type, _)| *media_type)
            .collect::<Vec<_>>()
            .join(","),
        may_see_full: found
            .principal
            .staff
            .may(jiefen_domain::access::Function::ViewPersonalData),
        full_shown,
        has_agreement: case
            .conclusion
            .as_ref()
            .is_some_and(|c| c.agreement.is_some()),
        id,
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
