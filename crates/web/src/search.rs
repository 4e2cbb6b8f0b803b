//! Full-text search of cases: the search box's language combined with the
//! case list's filters, inside the caller's scope.

use crate::auth::Principal;
use crate::cases::{list_filter, CaseView};
use crate::error::{ApiError, ErrorBody};
use crate::extract::QueryParams;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use jiefen_search::{FilterField, Filters, FollowError, Scope, TextField};
use jiefen_store::ScopeFilter;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

const SEARCH_PARAMS: &[&str] = &[
    "q",
    "jurisdiction",
    "kind",
    "state",
    "category",
    "body",
    "risk",
    "signal",
    "created_from",
    "created_to",
    "offset",
    "limit",
];

/// Pages past this are not worth ranking: refine the query instead.
const MAX_OFFSET: usize = 1_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHit {
    pub case: CaseView,
    /// Relevance (BM25); only comparable within one answer.
    pub score: f32,
    /// Where the words matched, if they matched in text (not only filters).
    pub snippet: Option<SnippetView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SnippetView {
    /// title, description, notes, org or address.
    pub field: &'static str,
    pub text: String,
    /// `[from, to)` character ranges of `text` to highlight.
    pub highlights: Vec<[usize; 2]>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    /// How many cases in the caller's scope match.
    pub total: usize,
    /// Best first.
    pub items: Vec<SearchHit>,
    /// Pass as `offset` for the next page; null on the last.
    pub next_offset: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/api/v1/search",
    operation_id = "search_cases",
    description = "Full-text search over titles, descriptions, notes, organisations' names and addresses \
                   (never ID numbers or phones). `q`: words (all must match), \"a phrase\", OR, NOT or -word, \
                   brackets, `title:`/`description:`/`notes:`/`org:`/`address:` to look in one field, \
                   `kind:`/`state:`/`category:`/`risk:`/`body:` to filter. The case list's filters combine with it.",
    tag = "cases",
    params(
        ("q" = String, Query, min_length = 1, max_length = 500, pattern = r"\S", description = "The query, at most 500 characters"),
        ("jurisdiction" = Option<String>, Query, pattern = "^[A-Za-z0-9-]{0,32}$", description = "A jurisdiction code; matches its whole subtree (empty: not given)"),
        ("kind" = Option<String>, Query),
        ("state" = Option<String>, Query),
        ("category" = Option<String>, Query, description = "A first-level code matches its sub-categories too"),
        ("body" = Option<String>, Query),
        ("risk" = Option<String>, Query),
        ("created_from" = Option<String>, Query, description = "RFC 3339, inclusive"),
        ("created_to" = Option<String>, Query, description = "RFC 3339, exclusive"),
        ("offset" = Option<usize>, Query, minimum = 0, maximum = 1000, description = "0–1000, default 0"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "1–200, default 50"),
    ),
    responses(
        (status = 200, body = SearchResults),
        (status = 422, description = "`invalid_search` (the query's mistake and where), `invalid_query`, `unsupported_filter` (a filter the index does not hold: signal, or body `-`), `unknown_jurisdiction`, `unknown_category`, `unknown_body`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn search(
    State(app): State<Arc<AppState>>,
    principal: Principal,
    q: QueryParams,
) -> Result<Json<SearchResults>, ApiError> {
    q.only(SEARCH_PARAMS)?;
    run(&app, &principal, &q).await.map(Json)
}

/// A search with the case list's filters, inside the caller's scope: the
/// API's and the work queue's.
pub async fn run(
    app: &Arc<AppState>,
    principal: &Principal,
    q: &QueryParams,
) -> Result<SearchResults, ApiError> {
    let text = q
        .get("q")
        .ok_or_else(|| ApiError::invalid_query("q", "q, the words to search for, is required"))?;
    let expr = jiefen_search::parse(text).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_search",
            format!("the search {e}"),
        )
        .with_field("q")
    })?;
    let list = list_filter(app, principal, q)?;
    // The index holds none of these; searching without them would list
    // cases the filter excludes, so the caller is told instead.
    let unsupported = [
        ("signal", list.signal.is_some()),
        ("channel", list.channel.is_some()),
        ("place", list.place.is_some()),
        ("resolved", list.resolved.is_some()),
        ("on_time", list.on_time.is_some()),
        ("satisfied", list.satisfied.is_some()),
        ("returned", list.returned.is_some()),
        ("overdue", list.overdue.is_some()),
        ("registered_by", list.registered_by.is_some()),
        ("handler", list.handler.is_some()),
        ("body", list.no_body),
    ];
    if let Some((name, _)) = unsupported.iter().find(|(_, set)| *set) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported_filter",
            format!("search does not filter by {name}; use the case list for that"),
        )
        .with_field(*name));
    }
    let offset = q
        .parse_with("offset", "a whole number from 0 to 1000", |s| {
            s.parse::<usize>().ok().filter(|n| *n <= MAX_OFFSET)
        })?
        .unwrap_or(0);
    let limit = crate::cases::page_limit(q)? as usize;
    let scope = list.scope.clone();
    let mut exact = Vec::new();
    let mut push = |field, value: Option<String>| {
        if let Some(v) = value {
            exact.push((field, v));
        }
    };
    push(FilterField::Kind, list.kind.map(|k| k.as_str().to_owned()));
    push(
        FilterField::State,
        list.state.map(|s| s.as_str().to_owned()),
    );
    push(FilterField::Category, list.category.clone());
    push(FilterField::Risk, list.risk.map(|r| r.as_str().to_owned()));
    push(FilterField::Body, list.body.clone());
    let filters = Filters {
        scope: index_scope(&scope),
        within: list.jpath_prefix.clone(),
        exact,
        registered_from_ms: list.created_from.map(|t| t.unix_millis()),
        registered_to_ms: list.created_to.map(|t| t.unix_millis()),
    };
    catch_up_for_read(app).await?;
    let index = app.search.index().clone();
    let found = tokio::task::spawn_blocking(move || index.search(&expr, &filters, offset, limit))
        .await?
        .map_err(|e| ApiError::internal(&e))?;
    let now = app.ledger.clock().now();
    let refs = app.ledger.refs();
    let mut items = Vec::with_capacity(found.hits.len());
    for hit in &found.hits {
        let Some(id) = jiefen_domain::case::CaseId::parse(&hit.id) else {
            continue;
        };
        // The index may lag a moment behind a change of scope; the row
        // read now is what decides.
        let Some(case) = app.ledger.get(id).await? else {
            continue;
        };
        let jpath = refs.path(&case.location.jurisdiction);
        let body = case.handled_by.as_ref().map(|b| b.to_string());
        if !scope.admits(&jpath, body.as_deref()) {
            continue;
        }
        let address = case.location.address.as_ref().map(|a| a.as_str());
        let orgs: Vec<&str> = case
            .parties
            .iter()
            .filter_map(|p| p.organisation.as_deref())
            .collect();
        let mut texts = vec![
            (TextField::Title, case.title.as_str()),
            (TextField::Description, case.description.as_str()),
        ];
        texts.extend(address.map(|a| (TextField::Address, a)));
        texts.extend(orgs.iter().map(|o| (TextField::Org, *o)));
        let snippet = found.highlighter().snippet(&texts).map(|s| SnippetView {
            field: s.field,
            text: s.text,
            highlights: s.highlights.into_iter().map(|(a, b)| [a, b]).collect(),
        });
        items.push(SearchHit {
            score: hit.score,
            snippet,
            case: CaseView::new(case, now),
        });
    }
    let next = offset + limit;
    let next_offset = (next < found.total && next <= MAX_OFFSET).then_some(next);
    Ok(SearchResults {
        total: found.total,
        items,
        next_offset,
    })
}

/// The store's scope in the index's terms: the same rule.
pub(crate) fn index_scope(scope: &ScopeFilter) -> Scope {
    match scope {
        ScopeFilter::Everything => Scope::Everything,
        ScopeFilter::Subtree(p) => Scope::Subtree(p.clone()),
        ScopeFilter::Body(b) => Scope::Body(b.clone()),
        ScopeFilter::Nothing => Scope::Nothing,
    }
}

/// Brings the index up to this process's writes before a search (read your
/// writes). When the index itself cannot be written (a full disk), the
/// search is answered from the index as it stands rather than refused: it
/// is a read, and the follower catches up by itself once the fault clears.
/// A store that cannot be read is an error as usual.
pub(crate) async fn catch_up_for_read(app: &AppState) -> Result<(), ApiError> {
    match app.search.fresh().await {
        Ok(()) => Ok(()),
        Err(FollowError::Search(e)) => {
            tracing::warn!(error = %e, "search index is behind; answering from it as it stands");
            Ok(())
        }
        Err(FollowError::Store(e)) => Err(e.into()),
    }
}
