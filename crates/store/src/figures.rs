//! The figures every report gives, kept as tallies while cases change.
//!
//! A case's [`Standing`] is the part of its projection row the figures
//! read. It counts in one tally row per place above it (its own place
//! included) and [`Dimension`], for the day it was registered (Beijing
//! time). A write adds the standing of each case after the batch and takes
//! away the one before it ([`TallyDeltas`]), in the same transaction as
//! the rows, so the tallies always equal a count of the projection, which
//! the store's rebuild checks ([`recount`]).
//!
//! The overdue figure is tallied too: it counts the cases the deadline
//! engine recorded as overdue (`Case::recorded_overdue`), whose passage is a
//! `signal_changed` event like any other write. Counting the cases past
//! their deadline when asked read every overdue case of the place: 309,169
//! rows and 2.6 s for a city at a million cases.

use std::collections::HashMap;

/// Beijing is UTC+8 all year: days and months are counted there.
pub const BEIJING_OFFSET_MS: i64 = 8 * 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// The day (since 1970-01-01, Beijing time) an instant falls on.
pub fn beijing_day(unix_ms: i64) -> i64 {
    (unix_ms + BEIJING_OFFSET_MS).div_euclid(DAY_MS)
}

/// The instant a Beijing day starts.
pub fn day_start_ms(day: i64) -> i64 {
    day * DAY_MS - BEIJING_OFFSET_MS
}

/// What a figure is broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// The places one level below the one asked about.
    Area,
    /// First-level categories.
    Category,
    Channel,
    /// Handling bodies ('' for cases no body handles).
    Body,
}

impl Dimension {
    pub const ALL: [Dimension; 4] = [
        Dimension::Area,
        Dimension::Category,
        Dimension::Channel,
        Dimension::Body,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Area => "area",
            Dimension::Category => "category",
            Dimension::Channel => "channel",
            Dimension::Body => "body",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == raw)
    }
}

/// What a figure counts, in the tallies' columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counts {
    pub registered: i64,
    pub resolved: i64,
    pub on_time: i64,
    /// Asked how satisfied they were.
    pub rated: i64,
    /// Of those, 满意 or 基本满意.
    pub satisfied: i64,
    pub repeats: i64,
    /// Open and overdue, as the deadline engine recorded it.
    pub overdue: i64,
}

impl Counts {
    fn is_zero(&self) -> bool {
        *self == Counts::default()
    }

    fn scaled(self, by: i64) -> Self {
        Self {
            registered: self.registered * by,
            resolved: self.resolved * by,
            on_time: self.on_time * by,
            rated: self.rated * by,
            satisfied: self.satisfied * by,
            repeats: self.repeats * by,
            overdue: self.overdue * by,
        }
    }
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.registered += o.registered;
        self.resolved += o.resolved;
        self.on_time += o.on_time;
        self.rated += o.rated;
        self.satisfied += o.satisfied;
        self.repeats += o.repeats;
        self.overdue += o.overdue;
    }
}

/// One tally row's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TallyKey {
    /// A jurisdiction code.
    pub node: String,
    pub dimension: Dimension,
    pub value: String,
    pub day: i64,
}

/// The part of a case's projection row the figures read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub jpath: String,
    pub category: String,
    pub channel: String,
    pub body: Option<String>,
    pub created_at_ms: i64,
    pub figures: jiefen_domain::case::CaseFigures,
}

impl Standing {
    pub fn of_row(row: &crate::rows::CaseRow) -> Self {
        Self {
            jpath: row.jpath.clone(),
            category: row.category.clone(),
            channel: row.channel.to_owned(),
            body: row.body.clone(),
            created_at_ms: row.created_at_ms,
            figures: row.figures,
        }
    }

    pub fn of_case(case: &jiefen_domain::case::Case, jpath: String) -> Self {
        Self {
            jpath,
            category: case.category.to_string(),
            channel: case.channel.as_str().to_owned(),
            body: case.handled_by.as_ref().map(|b| b.to_string()),
            created_at_ms: case.registered_at.unix_millis(),
            figures: case.figures(),
        }
    }

    /// What the case adds to a figure.
    pub fn counts(&self) -> Counts {
        let f = &self.figures;
        Counts {
            registered: 1,
            resolved: i64::from(f.resolved),
            on_time: i64::from(f.on_time),
            rated: i64::from(f.satisfied.is_some()),
            satisfied: i64::from(f.satisfied == Some(true)),
            repeats: i64::from(f.repeat),
            overdue: i64::from(f.overdue),
        }
    }

    /// The case's value in `dimension`, seen from the place `node` above it.
    pub fn value(&self, dimension: Dimension, node: &str) -> String {
        match dimension {
            Dimension::Area => {
                let mut codes = self.jpath.split('/').filter(|c| !c.is_empty());
                codes.find(|c| *c == node);
                codes.next().unwrap_or(node).to_owned()
            }
            Dimension::Category => top_category(&self.category).to_owned(),
            Dimension::Channel => self.channel.clone(),
            Dimension::Body => self.body.clone().unwrap_or_default(),
        }
    }

    /// Every tally row the case counts in.
    pub fn keys(&self) -> impl Iterator<Item = TallyKey> + '_ {
        let day = beijing_day(self.created_at_ms);
        self.jpath
            .split('/')
            .filter(|c| !c.is_empty())
            .flat_map(move |node| {
                Dimension::ALL.iter().map(move |&dimension| TallyKey {
                    node: node.to_owned(),
                    dimension,
                    value: self.value(dimension, node),
                    day,
                })
            })
    }
}

/// The first-level category a code belongs to.
pub fn top_category(code: &str) -> &str {
    code.split('.').next().unwrap_or(code)
}

/// What a batch changes in the tallies.
#[derive(Debug, Default)]
pub struct TallyDeltas(HashMap<TallyKey, Counts>);

impl TallyDeltas {
    /// A case moves from `before` (`None` for a new one) to `after`.
    pub fn change(&mut self, before: Option<&Standing>, after: &Standing) {
        if before == Some(after) {
            return;
        }
        if let Some(b) = before {
            self.add(b, -1);
        }
        self.add(after, 1);
    }

    fn add(&mut self, s: &Standing, sign: i64) {
        let counts = s.counts().scaled(sign);
        for key in s.keys() {
            *self.0.entry(key).or_default() += counts;
        }
    }

    /// Adds rows another batch changes.
    pub fn absorb(&mut self, rows: Vec<(TallyKey, Counts)>) {
        for (key, counts) in rows {
            *self.0.entry(key).or_default() += counts;
        }
    }

    /// The rows that change, in key order (so concurrent writers lock rows
    /// in one order).
    pub fn into_rows(self) -> Vec<(TallyKey, Counts)> {
        let mut rows: Vec<_> = self.0.into_iter().filter(|(_, c)| !c.is_zero()).collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows
    }
}

/// The tallies a count of every case in the store makes, a page at a time.
pub async fn recount_store(store: &dyn crate::Store) -> crate::Result<Vec<(TallyKey, Counts)>> {
    let mut all = TallyDeltas::default();
    let mut after = None;
    loop {
        let page = store.standings_after(after, 5_000).await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = Some(*last);
        for (_, s) in &page {
            all.add(s, 1);
        }
    }
    Ok(all.into_rows())
}

/// One stored tally row of a place, as the dashboard reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TallyRow {
    pub dimension: Dimension,
    pub value: String,
    pub day: i64,
    pub counts: Counts,
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiefen_domain::case::CaseFigures;

    fn standing(jpath: &str, body: Option<&str>, resolved: bool) -> Standing {
        Standing {
            jpath: jpath.into(),
            category: "neighbourhood.boundary".into(),
            channel: "walk_in".into(),
            body: body.map(str::to_owned),
            created_at_ms: day_start_ms(20_000) + 1,
            figures: CaseFigures {
                resolved,
                ..CaseFigures::default()
            },
        }
    }

    #[test]
    fn a_case_counts_once_per_place_above_it_and_dimension() {
        let s = standing("/341700/341721/341721100/", None, false);
        let keys: Vec<TallyKey> = s.keys().collect();
        assert_eq!(keys.len(), 3 * Dimension::ALL.len());
        let area = |node: &str| {
            keys.iter()
                .find(|k| k.node == node && k.dimension == Dimension::Area)
                .map(|k| k.value.clone())
        };
        assert_eq!(area("341700").as_deref(), Some("341721"));
        assert_eq!(area("341721").as_deref(), Some("341721100"));
        // At its own place it is counted as that place itself.
        assert_eq!(area("341721100").as_deref(), Some("341721100"));
        assert!(keys.iter().all(|k| k.day == 20_000));
        let cat = keys
            .iter()
            .find(|k| k.dimension == Dimension::Category)
            .unwrap();
        assert_eq!(cat.value, "neighbourhood");
    }

    #[test]
    fn a_change_moves_the_case_between_rows_and_nothing_else() {
        let before = standing("/341700/341721/", None, false);
        let after = standing("/341700/341721/", Some("341721-JUSTICE"), true);
        let mut d = TallyDeltas::default();
        d.change(Some(&before), &after);
        let rows = d.into_rows();
        // Area, category and channel rows gain one resolved; the body rows
        // lose the case from '' and gain it at the body.
        for (k, c) in &rows {
            match (k.dimension, k.value.as_str()) {
                (Dimension::Body, "") => assert_eq!(c.registered, -1),
                (Dimension::Body, _) => assert_eq!((c.registered, c.resolved), (1, 1)),
                _ => assert_eq!((c.registered, c.resolved), (0, 1)),
            }
        }
        assert_eq!(rows.len(), 2 * (Dimension::ALL.len() + 1));
        let mut same = TallyDeltas::default();
        same.change(Some(&after), &after.clone());
        assert!(same.into_rows().is_empty());
    }

    #[test]
    fn days_are_beijing_days() {
        // 2026-03-01 16:00 UTC is 3月2日 00:00 in Beijing.
        let t = 1_772_380_800_000;
        assert_eq!(beijing_day(t), beijing_day(day_start_ms(beijing_day(t))));
        assert_eq!(day_start_ms(beijing_day(t)), t);
        assert_eq!(beijing_day(t - 1), beijing_day(t) - 1);
    }
}
