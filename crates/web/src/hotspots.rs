//! Hotspots 诉求集中: clusters of similar cases at one place in a time
//! window (twenty complaints about one concrete plant's noise this month),
//! with their top terms, counts, trend and cases, for the dashboard.

use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::QueryParams;
use crate::scope::scope_of;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use jiefen_domain::case::CaseId;
use jiefen_domain::jurisdiction::JurisdictionCode;
use jiefen_domain::Timestamp;
use jiefen_store::{CaseFilter, CaseOrder, CaseQuery, ListCursor};
use jiefen_text::hotspots::{hotspots, HotspotInput, HotspotParams};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// Cases read per window at most: the newest this many (in the window and
/// the one before it) are clustered; `truncated` says when there were more.
pub const MAX_CASES: usize = 20_000;
const PAGE: u32 = 500;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TermView {
    pub term: String,
    pub weight: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HotspotView {
    /// The place's jurisdiction code (rolled up to `level`).
    pub place: String,
    pub place_name: Option<String>,
    /// Its top terms, for a person to read.
    pub label: String,
    pub top_terms: Vec<TermView>,
    /// Cases in the window.
    pub count: usize,
    /// Cases per equal part of the window, oldest first.
    pub trend: Vec<u32>,
    /// Similar cases at the place in the window of the same length before.
    pub previous_count: usize,
    /// The cases behind the count, oldest first.
    pub case_ids: Vec<CaseId>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Hotspots {
    pub from: Timestamp,
    pub to: Timestamp,
    /// When this answer was worked out: the same question in the same scope
    /// is answered from it for [`FRESH_FOR`] (ten minutes).
    pub computed_at: Timestamp,
    /// Largest first.
    pub hotspots: Vec<HotspotView>,
    /// More cases than were read fell in the windows: the oldest were left out.
    pub truncated: bool,
}

const PARAMS: &[&str] = &["from", "to", "jurisdiction", "level", "min_size", "buckets"];

/// How long an answer is served again. Hotspots read weeks of cases and
/// every word of them (seconds with a million cases in the store); what
/// ten more minutes of cases change is not worth that on every dashboard
/// view.
pub const FRESH_FOR: time::Duration = time::Duration::minutes(10);
/// Answers kept at most: a scope and a question each.
const KEPT: usize = 256;

/// Answers by scope and question, each with when it was worked out.
#[derive(Default)]
pub struct HotspotCache {
    answers: std::sync::Mutex<std::collections::HashMap<String, Hotspots>>,
}

impl HotspotCache {
    fn fresh(&self, key: &str, now: Timestamp) -> Option<Hotspots> {
        let answers = self.answers.lock().expect("never poisoned");
        let found = answers.get(key)?;
        // A clock moved back (a test's) makes an answer from "later" stale too.
        let age = now.minus(&found.computed_at);
        (age >= time::Duration::ZERO && age < FRESH_FOR).then(|| found.clone())
    }

    fn keep(&self, key: String, answer: &Hotspots) {
        let mut answers = self.answers.lock().expect("never poisoned");
        if answers.len() >= KEPT && !answers.contains_key(&key) {
            let oldest = answers
                .iter()
                .min_by_key(|(_, a)| a.computed_at.unix_millis())
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                answers.remove(&oldest);
            }
        }
        answers.insert(key, answer.clone());
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/hotspots",
    operation_id = "hotspots",
    description = "Clusters of similar cases at one place (a town by default) in a time window, within the caller's scope: \
                   top terms, count, trend over the window, the count in the window before, and the cases. \
                   The same question in the same scope is answered again from the first answer for ten minutes (`computed_at`).",
    tag = "cases",
    params(
        ("from" = Option<String>, Query, description = "RFC 3339; default 30 days before `to`"),
        ("to" = Option<String>, Query, description = "RFC 3339, exclusive; default now"),
        ("jurisdiction" = Option<String>, Query, pattern = "^[A-Za-z0-9-]{0,32}$", description = "Empty: not given. Only this subtree"),
        ("level" = Option<String>, Query, description = "county, town (default) or village: what one place is"),
        ("min_size" = Option<usize>, Query, minimum = 2, maximum = 100, description = "Fewest cases in a hotspot, 2–100, default 3"),
        ("buckets" = Option<usize>, Query, description = "Parts of the window the trend counts, 1–31, default 4"),
    ),
    responses(
        (status = 200, body = Hotspots),
        (status = 422, description = "`invalid_query`, `unknown_jurisdiction`", body = ErrorBody),
    )
)]
pub async fn list(
    State(app): State<Arc<AppState>>,
    principal: Principal,
    q: QueryParams,
) -> Result<Json<Hotspots>, ApiError> {
    q.only(PARAMS)?;
    let now = app.ledger.clock().now();
    let scope = scope_of(&app, &principal);
    let key = format!(
        "{scope:?}?{}",
        PARAMS
            .iter()
            .map(|p| format!("{p}={}", q.get(p).unwrap_or("")))
            .collect::<Vec<_>>()
            .join("&")
    );
    if let Some(answer) = app.hotspots.fresh(&key, now) {
        return Ok(Json(answer));
    }
    let answer = compute(&app, scope, &q, now).await?;
    app.hotspots.keep(key, &answer);
    Ok(Json(answer))
}

async fn compute(
    app: &AppState,
    scope: jiefen_store::ScopeFilter,
    q: &QueryParams,
    now: Timestamp,
) -> Result<Hotspots, ApiError> {
    let rfc3339 = "an RFC 3339 timestamp such as 2026-03-02T08:00:00Z";
    let to = q
        .parse_with("to", rfc3339, |s| Timestamp::parse(s).ok())?
        .unwrap_or(now);
    let from = q
        .parse_with("from", rfc3339, |s| Timestamp::parse(s).ok())?
        .unwrap_or_else(|| to.plus(time::Duration::days(-30)));
    if from.unix_millis() >= to.unix_millis() {
        return Err(ApiError::invalid_query("from", "from must be before to"));
    }
    let prefix = q
        .parse_with("level", "county, town or village", |s| match s {
            "county" => Some(6),
            "town" => Some(9),
            "village" => Some(12),
            _ => None,
        })?
        .unwrap_or(9);
    let min_size = q
        .parse_with("min_size", "a whole number from 2 to 100", |s| {
            s.parse::<usize>().ok().filter(|n| (2..=100).contains(n))
        })?
        .unwrap_or(3);
    let buckets = q
        .parse_with("buckets", "a whole number from 1 to 31", |s| {
            s.parse::<usize>().ok().filter(|n| (1..=31).contains(n))
        })?
        .unwrap_or(4);
    let refs = app.ledger.refs();
    let mut filter = CaseFilter {
        scope,
        ..CaseFilter::default()
    };
    filter.jpath_prefix = crate::cases::jurisdiction_path(&refs, q)?;
    // The window before counts too: whether a hotspot is new or growing.
    let span = to.minus(&from);
    filter.created_from = Some(from.plus(-span));
    filter.created_to = Some(to);
    let mut inputs = Vec::new();
    let mut after: Option<ListCursor> = None;
    let mut truncated = false;
    loop {
        let page = app
            .ledger
            .list(&CaseQuery {
                filter: filter.clone(),
                order: CaseOrder::Newest,
                after,
                limit: PAGE,
                now,
            })
            .await?;
        let full = page.len() == PAGE as usize;
        after = page.last().map(|c| ListCursor::of(c, CaseOrder::Newest));
        for case in page {
            inputs.push(HotspotInput {
                id: case.id.to_string(),
                place: case.location.jurisdiction.to_string(),
                at_ms: case.registered_at.unix_millis(),
                title: case.title.as_str().to_owned(),
                text: case.description.as_str().to_owned(),
            });
        }
        if inputs.len() >= MAX_CASES {
            truncated = full;
            break;
        }
        if !full {
            break;
        }
    }
    let params = HotspotParams {
        min_size,
        buckets,
        place_prefix: Some(prefix),
        ..HotspotParams::default()
    };
    let seg = app.reading.seg.clone();
    let (from_ms, to_ms) = (from.unix_millis(), to.unix_millis());
    let found =
        tokio::task::spawn_blocking(move || hotspots(&seg, &inputs, from_ms, to_ms, &params))
            .await?;
    let views = found
        .into_iter()
        .map(|h| HotspotView {
            place_name: JurisdictionCode::parse(&h.place)
                .ok()
                .and_then(|c| refs.tree.get(&c).map(|j| j.name.clone())),
            place: h.place,
            label: h.label,
            top_terms: h
                .top_terms
                .into_iter()
                .map(|(term, weight)| TermView {
                    term,
                    weight: (weight * 1000.0).round() / 1000.0,
                })
                .collect(),
            count: h.count,
            trend: h.trend,
            previous_count: h.previous_count,
            case_ids: h
                .case_ids
                .iter()
                .filter_map(|id| CaseId::parse(id))
                .collect(),
        })
        .collect();
    Ok(Hotspots {
        from,
        to,
        computed_at: now,
        hotspots: views,
        truncated,
    })
}
