//! China's working-day calendar: weekends, public holidays, and the weekend
//! days that become working days (调休).
//!
//! Built-in data comes from the `chinese_holiday` crate (versioned by year,
//! maintained from the State Council's yearly notices). A deployment adds or
//! corrects whole years from a TOML file. A date outside every known year is
//! never guessed silently: the answer carries a [`CalendarGap`] warning and
//! falls back to plain weekends.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use time::{Date, Month, Weekday};

/// Dates the built-in data covers, inclusive (the crate's own bounds).
pub fn builtin_range() -> (Date, Date) {
    (
        Date::from_calendar_date(2004, Month::January, 1).expect("valid date"),
        Date::from_calendar_date(2026, Month::December, 25).expect("valid date"),
    )
}

/// Days where the `chinese_holiday` crate disagrees with the State Council's
/// own notice (found by `.ci/calendar_crosscheck.py`, which compares it day by
/// day with PyPI's `chinesecalendar`): (year, month, day), worked?, source.
pub const CORRECTIONS: &[((i32, u8, u8), bool, &str)] = &[
    (
        (2016, 10, 9),
        true,
        "国务院办公厅关于2016年部分节假日安排的通知：国庆节10月8日（星期六）、10月9日（星期日）上班",
    ),
    (
        (2016, 12, 30),
        true,
        "国务院办公厅关于2017年部分节假日安排的通知：元旦1月1日放假，1月2日（星期一）补休；12月30日（星期五）不在假期内",
    ),
];

/// Said whenever a computation used a date no data covers.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CalendarGap {
    pub year: i32,
}

impl std::fmt::Display for CalendarGap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no holiday data for (part of) {}: counted weekends only; add the year to the calendar file",
            self.year
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("calendar file: {0}")]
    Syntax(String),
    #[error("calendar file line {line}: {message}")]
    At { line: usize, message: String },
}

/// A year given in full by the deployment: replaces any built-in data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct YearData {
    /// Weekdays off (public holidays).
    holidays: BTreeSet<Date>,
    /// Weekend days worked (调休).
    workdays: BTreeSet<Date>,
}

#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    years: BTreeMap<i32, YearData>,
}

/// Whether a day is worked, and whether that is known or only assumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayStatus {
    pub working: bool,
    pub gap: Option<CalendarGap>,
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

impl WorkCalendar {
    /// The built-in data only.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// The built-in data with the years of a deployment's calendar file:
    /// ```toml
    /// [[year]]
    /// year = 2027
    /// holidays = ["2027-01-01", "2027-02-16"]  # weekdays off
    /// workdays = ["2027-02-07"]                # weekend days worked (调休)
    /// ```
    pub fn with_file(src: &str) -> Result<Self, CalendarError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            year: Vec<FileYear>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct FileYear {
            year: toml::Spanned<i32>,
            #[serde(default)]
            holidays: Vec<toml::Spanned<String>>,
            #[serde(default)]
            workdays: Vec<toml::Spanned<String>>,
        }
        let file: File = toml::from_str(src).map_err(|e| CalendarError::Syntax(e.to_string()))?;
        let mut years = BTreeMap::new();
        for y in file.year {
            let year = *y.year.get_ref();
            let at = |span: std::ops::Range<usize>, message: String| CalendarError::At {
                line: crate::text::line_at(src, span.start),
                message,
            };
            if !(1949..=2200).contains(&year) {
                return Err(at(y.year.span(), format!("{year} is not a plausible year")));
            }
            if years.contains_key(&year) {
                return Err(at(y.year.span(), format!("year {year} appears twice")));
            }
            let mut data = YearData::default();
            for (list, is_holiday) in [(&y.holidays, true), (&y.workdays, false)] {
                for raw in list {
                    let date = parse_date(raw.get_ref()).ok_or_else(|| {
                        at(
                            raw.span(),
                            format!("{:?} is not a date (YYYY-MM-DD)", raw.get_ref()),
                        )
                    })?;
                    if date.year() != year {
                        return Err(at(raw.span(), format!("{date} is not in {year}")));
                    }
                    if is_holiday {
                        if is_weekend(date) {
                            return Err(at(
                                raw.span(),
                                format!("{date} is a weekend day already; list only weekdays off"),
                            ));
                        }
                        data.holidays.insert(date);
                    } else {
                        if !is_weekend(date) {
                            return Err(at(
                                raw.span(),
                                format!("{date} is a weekday; list only weekend days worked"),
                            ));
                        }
                        data.workdays.insert(date);
                    }
                }
            }
            years.insert(year, data);
        }
        Ok(Self { years })
    }

    pub fn day(&self, date: Date) -> DayStatus {
        if let Some(y) = self.years.get(&date.year()) {
            let working = if is_weekend(date) {
                y.workdays.contains(&date)
            } else {
                !y.holidays.contains(&date)
            };
            return DayStatus { working, gap: None };
        }
        if let Some((_, working, _)) = CORRECTIONS
            .iter()
            .find(|(d, _, _)| *d == (date.year(), u8::from(date.month()), date.day()))
        {
            return DayStatus {
                working: *working,
                gap: None,
            };
        }
        let (from, to) = builtin_range();
        if date >= from && date <= to {
            let ymd =
                chinese_holiday::Ymd::new(date.year() as u16, u8::from(date.month()), date.day());
            return DayStatus {
                working: chinese_holiday::chinese_holiday(ymd).is_workday(),
                gap: None,
            };
        }
        DayStatus {
            working: !is_weekend(date),
            gap: Some(CalendarGap { year: date.year() }),
        }
    }

    /// The `n`-th working day after `start` (not counting `start` itself),
    /// with the years that had to be assumed.
    pub fn add_working_days(&self, start: Date, n: u32) -> (Date, Vec<CalendarGap>) {
        let mut gaps = BTreeSet::new();
        let mut date = start;
        let mut left = n;
        while left > 0 {
            date = date
                .next_day()
                .expect("dates stay far from the end of time");
            let status = self.day(date);
            if let Some(g) = status.gap {
                gaps.insert(g);
            }
            if status.working {
                left -= 1;
            }
        }
        (date, gaps.into_iter().collect())
    }

    /// Working days in (`from`, `to`]: how many a pause or delay cost.
    pub fn working_days_between(&self, from: Date, to: Date) -> u32 {
        let mut n = 0;
        let mut d = from;
        while d < to {
            d = d.next_day().expect("dates stay far from the end of time");
            if self.day(d).working {
                n += 1;
            }
        }
        n
    }
}

pub fn parse_date(raw: &str) -> Option<Date> {
    Date::parse(
        raw,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        parse_date(s).unwrap()
    }

    #[test]
    fn national_day_2025_and_its_adjusted_workdays() {
        let cal = WorkCalendar::builtin();
        assert!(
            cal.day(d("2025-09-28")).working,
            "Sunday 28 Sept 2025 was worked (调休)"
        );
        for off in ["2025-10-01", "2025-10-06", "2025-10-08"] {
            assert!(!cal.day(d(off)).working, "{off}");
        }
        assert!(
            cal.day(d("2025-10-11")).working,
            "Saturday 11 Oct 2025 was worked (调休)"
        );
        assert!(!cal.day(d("2025-10-12")).working);
        // Five working days after 30 Sept 2025: 9, 10, 11 (Sat), 13, 14 Oct.
        let (due, gaps) = cal.add_working_days(d("2025-09-30"), 5);
        assert_eq!(due, d("2025-10-14"));
        assert!(gaps.is_empty());
    }

    #[test]
    fn corrections_to_the_builtin_data_apply() {
        let cal = WorkCalendar::builtin();
        assert!(cal.day(d("2016-10-08")).working);
        assert!(
            cal.day(d("2016-10-09")).working,
            "Sunday 9 Oct 2016 was worked"
        );
        assert!(
            cal.day(d("2016-12-30")).working,
            "Friday 30 Dec 2016 was a normal working day"
        );
        assert!(!cal.day(d("2017-01-02")).working);
    }

    #[test]
    fn a_year_without_data_is_a_warning_not_a_guess() {
        let cal = WorkCalendar::builtin();
        let (due, gaps) = cal.add_working_days(d("2026-12-30"), 3);
        assert_eq!(due, d("2027-01-04"), "weekends only beyond the data");
        // The built-in data ends on 25 Dec 2026, so the last days of 2026
        // are assumed too.
        assert_eq!(
            gaps,
            vec![CalendarGap { year: 2026 }, CalendarGap { year: 2027 }]
        );
        assert!(gaps[1].to_string().contains("2027"));
        let (_, gaps) = cal.add_working_days(d("2026-11-02"), 10);
        assert!(gaps.is_empty(), "{gaps:?}");
    }

    #[test]
    fn a_deployment_file_adds_a_year_and_names_bad_lines() {
        let cal = WorkCalendar::with_file(
            "[[year]]\nyear = 2027\nholidays = [\"2027-01-01\"]\nworkdays = [\"2027-01-09\"]\n",
        )
        .unwrap();
        assert!(!cal.day(d("2027-01-01")).working);
        assert!(cal.day(d("2027-01-09")).working);
        assert_eq!(cal.day(d("2027-01-04")).gap, None);
        let err =
            WorkCalendar::with_file("[[year]]\nyear = 2027\nholidays = [\n  \"2027-01-02\",\n]\n")
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "calendar file line 4: 2027-01-02 is a weekend day already; list only weekdays off"
        );
        let err = WorkCalendar::with_file("[[year]]\nyear = 2027\nworkdays = [\"2028-01-01\"]\n")
            .unwrap_err();
        assert!(err.to_string().starts_with("calendar file line 3"), "{err}");
        assert!(WorkCalendar::with_file("[[year]]\nyear = 2027\nbogus = 1\n").is_err());
    }
}
