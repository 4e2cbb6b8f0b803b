//! The grid worker's page 网格员, made for a phone in the field: report a
//! hazard or a dispute where it is, inside the worker's own grid (the
//! server refuses any place outside their post), with the phone's location
//! and photos; below it, the worker's own reports and where they stand.
//!
//! The report goes through the API like every registration
//! (`POST /api/v1/cases`, channel `grid_report`), then each photo through
//! the attachments endpoint; "own reports" is the case list filtered by
//! who registered them (`registered_by`).

use crate::chrome::Chrome;
use crate::intake::{category_groups, places, CategoryGroup, Choice};
use crate::queue::{row, Row};
use crate::{render, PageError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiefen_domain::case::CaseKind;
use jiefen_domain::jurisdiction::Level;
use jiefen_web::auth::Principal;
use jiefen_web::extract::QueryParams;
use jiefen_web::AppState;
use std::sync::Arc;

/// What a grid worker reports from the field.
const KINDS: [CaseKind; 2] = [CaseKind::Hazard, CaseKind::Dispute];
/// Own reports shown under the form; the queue lists the rest.
const SHOWN: u32 = 20;
/// Photos only: a PDF is not taken in a field.
fn photo_types() -> String {
    jiefen_store::blobs::ALLOWED
        .iter()
        .map(|(media_type, _)| *media_type)
        .filter(|t| t.starts_with("image/"))
        .collect::<Vec<_>>()
        .join(",")
}

pub struct Reported {
    pub id: String,
    pub number: String,
    pub state: String,
}

#[derive(askama::Template)]
#[template(path = "grid.html")]
pub struct Grid {
    pub c: Chrome,
    pub kinds: Vec<Choice>,
    pub categories: Vec<CategoryGroup>,
    pub places: Vec<Choice>,
    pub photo_max: usize,
    pub photo_types: String,
    /// The report just made, shown once above the form.
    pub reported: Option<Reported>,
    pub mine: Vec<Row>,
    /// The queue of all own reports, when there are more than shown.
    pub all_mine: Option<String>,
}

pub async fn page(
    State(app): State<Arc<AppState>>,
    c: Chrome,
    principal: Principal,
    q: Result<QueryParams, jiefen_web::ApiError>,
) -> Result<Response, PageError> {
    let (c, q) = crate::page_params(c, q, &["reported"])?;
    let refs = app.ledger.refs();
    let t = c.t;
    let home = principal.staff.post.jurisdiction();
    let tree = &refs.tree;
    let may = |n: &jiefen_domain::jurisdiction::Jurisdiction| {
        principal.staff.may_register_at(&n.code, tree)
    };
    // The grids of the post; a post above grids (a village's worker) may
    // also report at the village itself.
    let mut choices = places(tree, Some(home), |n| may(n) && n.level == Level::Grid);
    if choices.is_empty() {
        choices = places(tree, Some(home), |n| may(n) && n.level >= Level::Village);
    }
    let me = principal.staff.username.to_string();
    let mine_q = QueryParams::from(vec![
        ("registered_by".to_owned(), me.clone()),
        ("limit".to_owned(), SHOWN.to_string()),
    ]);
    let now = app.ledger.clock().now();
    let list = match jiefen_web::cases::list_page(&app, &principal, &mine_q).await {
        Ok(list) => list,
        Err(e) => return Err(PageError::new(c, e)),
    };
    let all_mine = list
        .next_cursor
        .as_ref()
        .map(|_| format!("/cases?registered_by={}", crate::url_encode(&me)));
    let mine = list
        .items
        .iter()
        .map(|v| row(&app, &c, &v.case, now))
        .collect();
    // The report just made, if this worker may see it (another id shows
    // nothing).
    let just = q
        .get("reported")
        .and_then(|raw| jiefen_web::extract::case_id(raw).ok());
    let found = match just {
        Some(id) => match jiefen_web::scope::other_case(&app, &principal, id).await {
            Ok(found) => found.and_then(|d| d.case().ok()),
            Err(e) => return Err(PageError::new(c, e)),
        },
        None => None,
    };
    let reported = found.map(|case| Reported {
        id: case.id.to_string(),
        number: case.number.clone(),
        state: t.of("state", case.state().as_str()),
    });
    Ok(render(
        StatusCode::OK,
        &Grid {
            kinds: KINDS
                .iter()
                .map(|k| Choice {
                    code: k.as_str().into(),
                    label: t.of("kind", k.as_str()),
                })
                .collect(),
            categories: category_groups(&refs.taxonomy),
            places: choices,
            photo_max: jiefen_store::blobs::MAX_ATTACHMENT_BYTES,
            photo_types: photo_types(),
            reported,
            mine,
            all_mine,
            c,
        },
    ))
}
