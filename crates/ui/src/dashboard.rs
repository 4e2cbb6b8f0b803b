//! The dashboard 数据看板: the API's figures (`jiefen_web::figures`) for a
//! place and period in the user's scope, as cards, tables by area,
//! category, channel and body, and a month-by-month chart drawn on the
//! server as SVG. Every number is a link to the work queue with exactly the
//! cell's filter and the figure's own, so it lists the cases counted; an
//! area's name opens the dashboard of that area. The hotspot list is loaded
//! by the script from `/api/v1/hotspots`, so clustering never holds up the
//! figures.

use crate::chrome::Chrome;
use crate::{render, PageError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiefen_web::auth::Principal;
use jiefen_web::extract::QueryParams;
use jiefen_web::figures::{Cell, Measure};
use jiefen_web::AppState;
use std::sync::Arc;

const PARAMS: &[&str] = &["jurisdiction", "from", "to"];

/// A figure as shown: the number (or rate) and the cases behind it.
pub struct Shown {
    pub text: String,
    pub href: String,
}

pub struct Card {
    pub key: &'static str,
    pub label: String,
    pub value: Shown,
    /// What a rate is of ("12 / 15").
    pub detail: Option<String>,
}

pub struct TableRow {
    pub label: String,
    /// The dashboard of this part (areas only).
    pub drill: Option<String>,
    pub figures: Vec<Shown>,
}

pub struct Table {
    pub key: &'static str,
    pub title: String,
    pub rows: Vec<TableRow>,
}

/// One month's bars.
pub struct Bar {
    pub label: String,
    pub x: u32,
    pub registered: (u32, u32, String),
    pub resolved: (u32, u32, String),
    pub registered_n: i64,
    pub resolved_n: i64,
}

#[derive(askama::Template)]
#[template(path = "dashboard.html")]
pub struct Dashboard {
    pub c: Chrome,
    pub place: String,
    pub jurisdiction: String,
    pub from: String,
    pub to: String,
    pub cards: Vec<Card>,
    pub tables: Vec<Table>,
    pub columns: Vec<String>,
    pub bars: Vec<Bar>,
    pub chart_width: u32,
    pub chart_height: u32,
    pub bar: u32,
    /// The API's hotspots of the place over the last 30 days.
    pub hotspots_url: String,
}

/// The table columns, in order: each a figure or a rate of the cell.
const COLUMNS: [&str; 7] = [
    "registered",
    "resolved",
    "resolution_rate",
    "on_time_rate",
    "satisfaction_rate",
    "repeats",
    "overdue",
];

const CHART_HEIGHT: u32 = 160;
const BAR: u32 = 14;
const STEP: u32 = 40;

pub async fn page(
    State(app): State<Arc<AppState>>,
    c: Chrome,
    principal: Principal,
    q: Result<QueryParams, jiefen_web::ApiError>,
) -> Result<Response, PageError> {
    let (c, q) = crate::page_params(c, q, PARAMS)?;
    let f = match jiefen_web::figures::figures(&app, &principal, &q).await {
        Ok(f) => f,
        Err(e) => return Err(PageError::new(c, e)),
    };
    let t = c.t;
    let link = |cell: &Cell, m: Measure| format!("/cases?{}", cell.query_of(m));
    let count = |cell: &Cell, m: Measure| Shown {
        text: cell.figure(m).to_string(),
        href: link(cell, m),
    };
    let rate = |r: Option<f64>, cell: &Cell, m: Measure| Shown {
        text: r.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0)),
        href: link(cell, m),
    };
    // The cards and every table show the same figures, in COLUMNS' order.
    let shown = |cell: &Cell, column: &str| match column {
        "registered" => count(cell, Measure::Registered),
        "resolved" => count(cell, Measure::Resolved),
        "resolution_rate" => rate(cell.resolution_rate(), cell, Measure::Resolved),
        "on_time_rate" => rate(cell.on_time_rate(), cell, Measure::OnTime),
        "satisfaction_rate" => rate(cell.satisfaction_rate(), cell, Measure::Satisfied),
        "repeats" => count(cell, Measure::Repeats),
        _ => count(cell, Measure::Overdue),
    };
    let tc = &f.totals;
    let n = &tc.counts;
    let cards = COLUMNS
        .iter()
        .map(|&key| Card {
            key,
            label: t.get(&format!("dashboard.{key}")).to_owned(),
            value: shown(tc, key),
            // What a rate is of ("12 / 15").
            detail: match key {
                "resolution_rate" => Some((n.resolved, n.registered)),
                "on_time_rate" => Some((n.on_time, n.resolved)),
                "satisfaction_rate" => Some((n.satisfied, n.rated)),
                _ => None,
            }
            .map(|(part, whole)| format!("{part} / {whole}")),
        })
        .collect();
    let row_of = |cell: &Cell, label: String, drill: Option<String>| TableRow {
        label,
        drill,
        figures: COLUMNS.iter().map(|col| shown(cell, col)).collect(),
    };
    let period = format!("&from={}&to={}", f.from, f.to);
    let table = |key: &'static str, cells: &[Cell], label: &dyn Fn(&Cell) -> String| Table {
        key,
        title: t.get(&format!("dashboard.by_{key}")).to_owned(),
        rows: cells
            .iter()
            .map(|cell| {
                let drill = (key == "area" && cell.value != f.jurisdiction)
                    .then(|| format!("/dashboard?jurisdiction={}{period}", cell.value));
                row_of(cell, label(cell), drill)
            })
            .collect(),
    };
    let tables = vec![
        table("area", &f.by_area, &|cell| {
            if cell.value == f.jurisdiction {
                t.fmt("dashboard.itself", &[("place", &cell.label)])
            } else {
                cell.label.clone()
            }
        }),
        table("category", &f.by_category, &|cell| cell.label.clone()),
        table("channel", &f.by_channel, &|cell| {
            t.of("channel", &cell.value)
        }),
        table("body", &f.by_body, &|cell| {
            if cell.value.is_empty() {
                t.get("dashboard.no_body").to_owned()
            } else {
                cell.label.clone()
            }
        }),
    ];
    let top = f
        .trend
        .iter()
        .map(|m| m.counts.registered)
        .max()
        .unwrap_or(0)
        .max(1);
    let height = |v: i64| ((v as f64 / top as f64) * f64::from(CHART_HEIGHT)).round() as u32;
    let bars = f
        .trend
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let x = 8 + i as u32 * STEP;
            let (hr, hs) = (height(m.counts.registered), height(m.counts.resolved));
            Bar {
                label: m.value.get(2..).unwrap_or(&m.value).to_owned(),
                x,
                registered: (CHART_HEIGHT - hr, hr, link(m, Measure::Registered)),
                resolved: (CHART_HEIGHT - hs, hs, link(m, Measure::Resolved)),
                registered_n: m.counts.registered,
                resolved_n: m.counts.resolved,
            }
        })
        .collect::<Vec<_>>();
    let chart_width = 16 + bars.len() as u32 * STEP;
    let month_ago = app.ledger.clock().now().plus(time::Duration::days(-30));
    let hotspots_url = format!(
        "/api/v1/hotspots?jurisdiction={}&from={}",
        f.jurisdiction,
        crate::url_encode(&month_ago.to_rfc3339())
    );
    Ok(render(
        StatusCode::OK,
        &Dashboard {
            place: f.jurisdiction_name.clone(),
            jurisdiction: f.jurisdiction.clone(),
            from: f.from.clone(),
            to: f.to.clone(),
            columns: COLUMNS
                .iter()
                .map(|k| t.get(&format!("dashboard.{k}")).to_owned())
                .collect(),
            cards,
            tables,
            bars,
            chart_width,
            chart_height: CHART_HEIGHT,
            bar: BAR,
            hotspots_url,
            c,
        },
    ))
}
