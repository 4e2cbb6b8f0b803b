//! The figures a centre reports (数据看板): registered, resolved, resolution
//! rate, on-time rate, satisfaction, repeats and overdue, for a place and a
//! period, broken down by area, category, channel and handling body, and
//! month by month.
//!
//! They are read from the store's tallies (`jiefen_store::figures`), so a
//! province's figures cost what a town's do. Overdue is what the deadline
//! engine recorded (`Case::recorded_overdue`), so it trails the clock by at
//! most one tick. Every cell carries the case list's query for the cases
//! behind it, and [`Measure::param`] adds the figure's own filter: the list
//! finds exactly the cases counted.
//!
//! A caller sees the figures of their own scope only: a place above it is
//! narrowed to it, a place beside it has none. A body's handlers (scoped to
//! their body, not a place) get theirs counted from their cases directly.

use crate::cases::NO_BODY;
use crate::error::{ApiError, ErrorBody};
use crate::extract::QueryParams;
use crate::scope::scope_of;
use crate::{auth::Principal, AppState};
use axum::extract::State;
use axum::Json;
use jiefen_domain::case::Channel;
use jiefen_domain::jurisdiction::{JurisdictionCode, Level};
use jiefen_domain::Timestamp;
use jiefen_store::figures::{beijing_day, day_start_ms, Counts, Dimension, Standing, TallyRow};
use jiefen_store::{CaseFilter, CaseOrder, CaseQuery, ScopeFilter};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use time::Date;
use utoipa::ToSchema;

const PARAMS: &[&str] = &["jurisdiction", "from", "to"];
/// Days since 1970-01-01 are Julian day numbers less this.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;
/// The longest period asked about at once: ten years.
const MAX_DAYS: i64 = 3_660;
/// Cases counted one by one at most (a body's figures).
const MAX_COUNTED: u32 = 2_000_000;

/// One figure of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    Registered,
    Resolved,
    OnTime,
    Satisfied,
    Repeats,
    Overdue,
}

impl Measure {
    pub const ALL: [Measure; 6] = [
        Measure::Registered,
        Measure::Resolved,
        Measure::OnTime,
        Measure::Satisfied,
        Measure::Repeats,
        Measure::Overdue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Registered => "registered",
            Measure::Resolved => "resolved",
            Measure::OnTime => "on_time",
            Measure::Satisfied => "satisfied",
            Measure::Repeats => "repeats",
            Measure::Overdue => "overdue",
        }
    }

    /// What the case list adds to a cell's query to list this figure's
    /// cases.
    pub fn param(self) -> Option<&'static str> {
        match self {
            Measure::Registered => None,
            Measure::Resolved => Some("resolved=true"),
            Measure::OnTime => Some("on_time=true"),
            Measure::Satisfied => Some("satisfied=true"),
            Measure::Repeats => Some("state=merged"),
            Measure::Overdue => Some("overdue=true"),
        }
    }
}

/// The figures of one part of the whole.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Cell {
    /// The part: a jurisdiction, first-level category, channel or body
    /// code ('' for cases no body handles), or a month (`2026-03`).
    pub value: String,
    pub label: String,
    pub counts: Counts,
    /// The case list's query for the cases counted here; each figure's
    /// cases are these with [`Measure::param`] added.
    pub query: String,
}

impl Cell {
    pub fn figure(&self, m: Measure) -> i64 {
        match m {
            Measure::Registered => self.counts.registered,
            Measure::Resolved => self.counts.resolved,
            Measure::OnTime => self.counts.on_time,
            Measure::Satisfied => self.counts.satisfied,
            Measure::Repeats => self.counts.repeats,
            Measure::Overdue => self.counts.overdue,
        }
    }

    /// The list query of one figure of the cell.
    pub fn query_of(&self, m: Measure) -> String {
        match m.param() {
            Some(p) => format!("{}&{p}", self.query),
            None => self.query.clone(),
        }
    }

    /// 办结率: resolved of registered.
    pub fn resolution_rate(&self) -> Option<f64> {
        ratio(self.counts.resolved, self.counts.registered)
    }

    /// 按期办结率: on time of resolved.
    pub fn on_time_rate(&self) -> Option<f64> {
        ratio(self.counts.on_time, self.counts.resolved)
    }

    /// 满意率: satisfied (满意 and 基本满意) of those asked.
    pub fn satisfaction_rate(&self) -> Option<f64> {
        ratio(self.counts.satisfied, self.counts.rated)
    }
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Figures {
    /// The place the figures are of.
    pub jurisdiction: String,
    pub jurisdiction_name: String,
    /// The period's first and last day (Beijing time), both counted.
    pub from: String,
    pub to: String,
    pub totals: Cell,
    pub by_area: Vec<Cell>,
    pub by_category: Vec<Cell>,
    pub by_channel: Vec<Cell>,
    pub by_body: Vec<Cell>,
    /// Month by month, oldest first.
    pub trend: Vec<Cell>,
}

#[utoipa::path(
    get,
    path = "/api/v1/figures",
    operation_id = "figures",
    description = "The figures of a place and period inside the caller's scope, by area, category, channel, body and month; \
                   every cell carries the case-list query of the cases behind it.",
    tag = "cases",
    params(
        ("jurisdiction" = Option<String>, Query, pattern = "^[A-Za-z0-9-]{0,32}$", description = "Empty: not given. The place; default the caller's own"),
        ("from" = Option<String>, Query, description = "First day counted, YYYY-MM-DD (Beijing time); default the first of the month eleven months before `to`"),
        ("to" = Option<String>, Query, description = "Last day counted, YYYY-MM-DD; default today"),
    ),
    responses(
        (status = 200, body = Figures),
        (status = 422, description = "`invalid_query`, `unknown_jurisdiction`", body = ErrorBody),
    )
)]
pub async fn get(
    State(app): State<Arc<AppState>>,
    principal: Principal,
    q: QueryParams,
) -> Result<Json<Figures>, ApiError> {
    q.only(PARAMS)?;
    figures(&app, &principal, &q).await.map(Json)
}

/// The figures for the query's place and period, in the caller's scope:
/// the API's and the dashboard's.
pub async fn figures(
    app: &AppState,
    principal: &Principal,
    q: &QueryParams,
) -> Result<Figures, ApiError> {
    let refs = app.ledger.refs();
    let now = app.ledger.clock().now();
    let today = beijing_day(now.unix_millis());
    let date = "a date such as 2026-03-02";
    let to = q.parse_with("to", date, parse_day)?.unwrap_or(today);
    let from = q
        .parse_with("from", date, parse_day)?
        .unwrap_or_else(|| months_before(to, 11));
    if from > to {
        return Err(ApiError::invalid_query("from", "from must not be after to"));
    }
    if to - from >= MAX_DAYS {
        return Err(ApiError::invalid_query(
            "from",
            "a period is at most ten years",
        ));
    }
    let asked = match q.get("jurisdiction") {
        Some(_) => Some(crate::cases::known_jurisdiction(&refs, q, "jurisdiction")?),
        None => None,
    };
    let scope = scope_of(app, principal);
    let home = principal.staff.post.jurisdiction().clone();
    let root = || {
        refs.tree
            .nodes()
            .find(|n| n.level == Level::City)
            .map(|n| n.code.clone())
            .unwrap_or_else(|| home.clone())
    };
    // Which place, and whether its tallies may be read as they are.
    let (node, tallied) = match &scope {
        ScopeFilter::Everything => (asked.unwrap_or_else(root), true),
        ScopeFilter::Subtree(_) => match asked {
            None => (home.clone(), true),
            Some(a) if refs.tree.within(&a, &home) => (a, true),
            Some(a) if refs.tree.within(&home, &a) => (home.clone(), true),
            // Beside the caller's place: nothing of it is theirs to see.
            Some(a) => (a, false),
        },
        ScopeFilter::Body(_) | ScopeFilter::Nothing => (asked.unwrap_or(home.clone()), false),
    };
    let path = refs.path(&node);
    let base = CaseFilter {
        scope: scope.clone(),
        jpath_prefix: Some(path),
        created_from: Some(day_start(from)),
        created_to: Some(day_start(to + 1)),
        ..CaseFilter::default()
    };
    let store = app.ledger.store();
    let rows: Vec<TallyRow> = if tallied {
        store.tallies(node.as_str(), from, to + 1).await?
    } else {
        let standings = store
            .standings(&CaseQuery {
                filter: base,
                order: CaseOrder::default(),
                after: None,
                limit: MAX_COUNTED,
                now,
            })
            .await?;
        tally_rows(&standings, node.as_str())
    };

    let name = |code: &str| -> String {
        JurisdictionCode::parse(code)
            .ok()
            .and_then(|c| refs.tree.get(&c).map(|j| j.name.clone()))
            .unwrap_or_else(|| code.to_owned())
    };
    let period = created_between(from, to + 1);
    let place = format!("jurisdiction={node}");
    let breakdown = |dimension: Dimension| -> Vec<Cell> {
        let mut sums: BTreeMap<&str, Counts> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.dimension == dimension) {
            *sums.entry(r.value.as_str()).or_default() += r.counts;
        }
        let mut cells: Vec<Cell> = sums
            .into_iter()
            .filter(|(_, c)| c.registered > 0)
            .map(|(value, counts)| {
                let (label, narrowed) = match dimension {
                    Dimension::Area if value == node.as_str() => {
                        (name(value), format!("{place}&place={value}"))
                    }
                    Dimension::Area => (name(value), format!("jurisdiction={value}")),
                    Dimension::Category => (
                        jiefen_domain::taxonomy::CategoryCode::parse(value)
                            .ok()
                            .and_then(|c| refs.taxonomy.get(&c).map(|c| c.name.clone()))
                            .unwrap_or_else(|| value.to_owned()),
                        format!("{place}&category={value}"),
                    ),
                    Dimension::Channel => (
                        Channel::parse(value)
                            .map(|c| c.zh().to_owned())
                            .unwrap_or_else(|| value.to_owned()),
                        format!("{place}&channel={value}"),
                    ),
                    Dimension::Body if value.is_empty() => {
                        (String::new(), format!("{place}&body={NO_BODY}"))
                    }
                    Dimension::Body => (
                        jiefen_domain::body::BodyCode::parse(value)
                            .ok()
                            .and_then(|b| refs.bodies.get(&b).map(|b| b.name.clone()))
                            .unwrap_or_else(|| value.to_owned()),
                        format!("{place}&body={}", crate::url_encode(value)),
                    ),
                };
                Cell {
                    value: value.to_owned(),
                    label,
                    counts,
                    query: format!("{narrowed}&{period}"),
                }
            })
            .collect();
        cells.sort_by(|a, b| {
            (b.counts.registered, b.counts.overdue)
                .cmp(&(a.counts.registered, a.counts.overdue))
                .then_with(|| a.value.cmp(&b.value))
        });
        cells
    };
    // Every case has exactly one channel: its rows are the whole.
    let mut totals = Cell {
        value: String::new(),
        label: name(node.as_str()),
        counts: Counts::default(),
        query: format!("{place}&{period}"),
    };
    let mut months: BTreeMap<(i32, u8), Counts> = BTreeMap::new();
    let mut day = from;
    while day <= to {
        months.entry(month_of(day)).or_default();
        day = months_before(day, -1);
    }
    for r in rows.iter().filter(|r| r.dimension == Dimension::Channel) {
        totals.counts += r.counts;
        *months.entry(month_of(r.day)).or_default() += r.counts;
    }
    let trend = months
        .into_iter()
        .map(|((year, month), counts)| {
            let first = civil_day(year, month, 1).max(from);
            let next = months_before(civil_day(year, month, 1), -1).min(to + 1);
            let value = format!("{year:04}-{month:02}");
            Cell {
                label: value.clone(),
                value,
                counts,
                query: format!("{place}&{}", created_between(first, next)),
            }
        })
        .collect();
    Ok(Figures {
        jurisdiction: node.to_string(),
        jurisdiction_name: name(node.as_str()),
        from: day_text(from),
        to: day_text(to),
        by_area: breakdown(Dimension::Area),
        by_category: breakdown(Dimension::Category),
        by_channel: breakdown(Dimension::Channel),
        by_body: breakdown(Dimension::Body),
        totals,
        trend,
    })
}

/// The tally rows of cases counted one by one, seen from `node`.
fn tally_rows(standings: &[Standing], node: &str) -> Vec<TallyRow> {
    let mut sums: BTreeMap<(Dimension, String, i64), Counts> = BTreeMap::new();
    for s in standings {
        let day = beijing_day(s.created_at_ms);
        for d in Dimension::ALL {
            *sums.entry((d, s.value(d, node), day)).or_default() += s.counts();
        }
    }
    sums.into_iter()
        .map(|((dimension, value, day), counts)| TallyRow {
            dimension,
            value,
            day,
            counts,
        })
        .collect()
}

/// The instant a Beijing day starts.
fn day_start(day: i64) -> Timestamp {
    Timestamp::from_unix_millis(day_start_ms(day))
}

/// The case list's parameters for cases registered on the days
/// `first..next`.
fn created_between(first: i64, next: i64) -> String {
    format!(
        "created_from={}&created_to={}",
        crate::url_encode(&day_start(first).to_rfc3339()),
        crate::url_encode(&day_start(next).to_rfc3339()),
    )
}

fn parse_day(s: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &format)
        .ok()
        .map(|d| i64::from(d.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY)
}

fn date_of(day: i64) -> Date {
    Date::from_julian_day((day + UNIX_EPOCH_JULIAN_DAY) as i32).unwrap_or(Date::MIN)
}

fn day_text(day: i64) -> String {
    let d = date_of(day);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn month_of(day: i64) -> (i32, u8) {
    let d = date_of(day);
    (d.year(), u8::from(d.month()))
}

fn civil_day(year: i32, month: u8, day: u8) -> i64 {
    let month = time::Month::try_from(month).unwrap_or(time::Month::January);
    Date::from_calendar_date(year, month, day)
        .map(|d| i64::from(d.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY)
        .unwrap_or(0)
}

/// The first day of the month `n` months before `day`'s (after, for a
/// negative `n`).
fn months_before(day: i64, n: i32) -> i64 {
    let (year, month) = month_of(day);
    let index = year * 12 + i32::from(month) - 1 - n;
    civil_day(index.div_euclid(12), (index.rem_euclid(12) + 1) as u8, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_days_round_trip() {
        let d = parse_day("2026-03-02").unwrap();
        assert_eq!(day_text(d), "2026-03-02");
        assert_eq!(day_text(months_before(d, 11)), "2025-04-01");
        assert_eq!(day_text(months_before(d, -1)), "2026-04-01");
        assert_eq!(
            day_text(months_before(parse_day("2026-12-31").unwrap(), -1)),
            "2027-01-01"
        );
        assert_eq!(month_of(d), (2026, 3));
        assert!(parse_day("2026-02-30").is_none());
        // Day numbers agree with the tallies' Beijing days.
        let t = Timestamp::parse("2026-03-01T16:00:00Z").unwrap();
        assert_eq!(beijing_day(t.unix_millis()), d);
    }
}
