//! Statutory deadlines 限时办结: computed in China Standard Time on the
//! working-day calendar, stopped by pauses, moved by extensions, and always
//! explainable ("60 days from acceptance on 2026-03-02, paused 5 days,
//! extended 30").

use crate::calendar::{CalendarGap, WorkCalendar};
use crate::clock::Timestamp;
use crate::policy::{DayCount, DeadlineRule, DeadlineStage};
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset};

/// China Standard Time: UTC+8 all year (no daylight saving since 1991).
pub fn china() -> UtcOffset {
    UtcOffset::from_hms(8, 0, 0).expect("valid offset")
}

pub fn local_date(t: Timestamp) -> Date {
    t.as_offset().to_offset(china()).date()
}

/// The last millisecond of a local day: a deadline "within N days" runs to
/// the end of the N-th day.
pub fn end_of_local_day(d: Date) -> Timestamp {
    let next = d.next_day().expect("dates stay far from the end of time");
    Timestamp::from_offset(
        OffsetDateTime::new_in_offset(next, Time::MIDNIGHT, china()) - Duration::milliseconds(1),
    )
}

/// A pause of the clock, from `since` to `until` (both instants).
#[derive(Debug, Clone, Copy)]
pub struct PauseSpan {
    pub since: Timestamp,
    pub until: Timestamp,
}

/// Why a deadline is what it is. Stored with the event that set it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub stage: DeadlineStage,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub from: Date,
    pub days: u32,
    pub count: DayCount,
    /// Days the clock stood still (in the rule's own kind of days).
    pub paused_days: u32,
    pub extended_days: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub due: Date,
    pub basis: String,
    pub policy_version: String,
    /// Years whose holidays were not known and were assumed to be weekends only.
    pub calendar_gaps: Vec<CalendarGap>,
    /// The rule's limits on extensions (absent on explanations recorded
    /// before they were carried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_extensions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_extension_days: Option<u32>,
}

impl Explanation {
    /// The same deadline with more paused and extended days counted in,
    /// in the rule's own kind of days.
    pub fn adjusted(
        &self,
        calendar: &WorkCalendar,
        more_paused: u32,
        more_extended: u32,
    ) -> Deadline {
        let paused = self.paused_days + more_paused;
        let extended = self.extended_days + more_extended;
        let (due, gaps) = due_date(
            calendar,
            self.count,
            self.from,
            self.days + paused + extended,
        );
        Deadline {
            due_at: end_of_local_day(due),
            explanation: Explanation {
                paused_days: paused,
                extended_days: extended,
                due,
                calendar_gaps: gaps,
                ..self.clone()
            },
        }
    }

    fn stage_words(&self) -> (&'static str, &'static str) {
        match self.stage {
            DeadlineStage::Acceptance => ("registration", "登记"),
            DeadlineStage::Handling => ("acceptance", "受理"),
            DeadlineStage::ReviewRequest => ("the answer", "答复"),
            DeadlineStage::Review => ("the review request", "复查请求"),
        }
    }

    pub fn text_en(&self) -> String {
        let mut s = format!(
            "{} {} from {} on {}",
            self.days,
            self.count,
            self.stage_words().0,
            self.from
        );
        if self.paused_days > 0 {
            s.push_str(&format!(", paused {} {}", self.paused_days, self.count));
        }
        if self.extended_days > 0 {
            s.push_str(&format!(", extended {}", self.extended_days));
        }
        s.push_str(&format!(": due end of {}", self.due));
        for g in &self.calendar_gaps {
            s.push_str(&format!(" (warning: {g})"));
        }
        s
    }

    pub fn text_zh(&self) -> String {
        let unit = match self.count {
            DayCount::Calendar => "日",
            DayCount::Working => "个工作日",
        };
        let mut s = format!(
            "自{}{}起{}{}",
            self.from,
            self.stage_words().1,
            self.days,
            unit
        );
        if self.paused_days > 0 {
            s.push_str(&format!("，中止{}{}", self.paused_days, unit));
        }
        if self.extended_days > 0 {
            s.push_str(&format!("，延期{}{}", self.extended_days, unit));
        }
        s.push_str(&format!("，至{}届满", self.due));
        for g in &self.calendar_gaps {
            s.push_str(&format!(
                "（注意：{}年节假日安排未录入，仅按周末计算）",
                g.year
            ));
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub due_at: Timestamp,
    pub explanation: Explanation,
}

/// Adds `n` days of the rule's kind after `from`.
fn add_days(
    calendar: &WorkCalendar,
    count: DayCount,
    from: Date,
    n: u32,
) -> (Date, Vec<CalendarGap>) {
    match count {
        DayCount::Calendar => (from + Duration::days(i64::from(n)), Vec::new()),
        DayCount::Working => calendar.add_working_days(from, n),
    }
}

/// Days lost to a pause, in the rule's kind of days: whole local days from
/// the day after the pause began to the day it ended.
pub fn paused_days(calendar: &WorkCalendar, count: DayCount, pause: &PauseSpan) -> u32 {
    let (a, b) = (local_date(pause.since), local_date(pause.until));
    match count {
        DayCount::Calendar => (b - a).whole_days().max(0) as u32,
        DayCount::Working => calendar.working_days_between(a, b),
    }
}

/// The deadline of a stage that started at `start` under `rule`, after the
/// given pauses and granted extension days.
pub fn compute(
    rule: &DeadlineRule,
    policy_version: &str,
    calendar: &WorkCalendar,
    start: Timestamp,
    pauses: &[PauseSpan],
    extended_days: u32,
) -> Deadline {
    let from = local_date(start);
    let paused: u32 = pauses
        .iter()
        .map(|p| paused_days(calendar, rule.count, p))
        .sum();
    let total = rule.days + paused + extended_days;
    let (due, gaps) = due_date(calendar, rule.count, from, total);
    Deadline {
        due_at: end_of_local_day(due),
        explanation: Explanation {
            stage: rule.stage,
            from,
            days: rule.days,
            count: rule.count,
            paused_days: paused,
            extended_days,
            due,
            basis: rule.basis.clone(),
            policy_version: policy_version.to_owned(),
            calendar_gaps: gaps,
            max_extensions: Some(rule.max_extensions),
            max_extension_days: Some(rule.max_extension_days),
        },
    }
}

impl crate::policy::Rules {
    /// A new deadline under `rule` from `start` (no pause, no extension yet),
    /// on these rules' calendar and recording their policy version.
    pub fn deadline_from(&self, rule: &DeadlineRule, start: Timestamp) -> Deadline {
        compute(rule, &self.policy.version, &self.calendar, start, &[], 0)
    }
}

fn due_date(
    calendar: &WorkCalendar,
    count: DayCount,
    from: Date,
    total: u32,
) -> (Date, Vec<CalendarGap>) {
    let (due, mut gaps) = add_days(calendar, count, from, total);
    gaps.sort();
    gaps.dedup();
    (due, gaps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::parse_date;
    use crate::case::CaseKind;
    use crate::policy::{Complexity, Policy};
    use crate::taxonomy::{CategoryCode, Taxonomy};

    fn policy() -> Policy {
        Policy::default_policy(&Taxonomy::default_taxonomy())
    }

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn rule(
        p: &Policy,
        kind: CaseKind,
        stage: DeadlineStage,
        cat: &str,
        cx: Option<Complexity>,
    ) -> DeadlineRule {
        p.deadline_rule(kind, stage, &CategoryCode::parse(cat).unwrap(), cx)
            .unwrap()
            .clone()
    }

    #[test]
    fn a_petitions_whole_deadline_path_in_calendar_days() {
        let p = policy();
        let cal = WorkCalendar::builtin();
        // Registered at 10:00 Beijing time on 2 March 2026 (02:00 UTC).
        let registered = at("2026-03-02T02:00:00Z");
        let acceptance = compute(
            &rule(
                &p,
                CaseKind::Petition,
                DeadlineStage::Acceptance,
                "land",
                None,
            ),
            &p.version,
            &cal,
            registered,
            &[],
            0,
        );
        assert_eq!(
            acceptance.explanation.due,
            parse_date("2026-03-17").unwrap()
        );
        assert_eq!(
            acceptance.due_at,
            at("2026-03-17T15:59:59.999Z"),
            "end of the day in Beijing"
        );

        let accepted = at("2026-03-05T01:00:00Z");
        let handling = rule(
            &p,
            CaseKind::Petition,
            DeadlineStage::Handling,
            "land",
            None,
        );
        let plain = compute(&handling, &p.version, &cal, accepted, &[], 0);
        assert_eq!(plain.explanation.due, parse_date("2026-05-04").unwrap());
        // Paused five days awaiting an appraisal, then extended by 30.
        let pause = PauseSpan {
            since: at("2026-04-01T02:00:00Z"),
            until: at("2026-04-06T02:00:00Z"),
        };
        let d = compute(&handling, &p.version, &cal, accepted, &[pause], 30);
        assert_eq!(d.explanation.due, parse_date("2026-06-08").unwrap());
        assert_eq!(
            d.explanation.text_en(),
            "60 days from acceptance on 2026-03-05, paused 5 days, extended 30: due end of 2026-06-08"
        );
        assert_eq!(
            d.explanation.text_zh(),
            "自2026-03-05受理起60日，中止5日，延期30日，至2026-06-08届满"
        );
        assert_eq!(d.explanation.policy_version, "default-2026.1");

        // The person may ask for review within 30 days of the answer; the
        // review is concluded within 30 days of the request.
        let answered = at("2026-06-01T03:00:00Z");
        let window = compute(
            &rule(
                &p,
                CaseKind::Petition,
                DeadlineStage::ReviewRequest,
                "land",
                None,
            ),
            &p.version,
            &cal,
            answered,
            &[],
            0,
        );
        assert_eq!(window.explanation.due, parse_date("2026-07-01").unwrap());
        let review = compute(
            &rule(&p, CaseKind::Petition, DeadlineStage::Review, "land", None),
            &p.version,
            &cal,
            at("2026-06-20T03:00:00Z"),
            &[],
            0,
        );
        assert_eq!(review.explanation.due, parse_date("2026-07-20").unwrap());
    }

    #[test]
    fn working_days_across_national_day_and_its_adjusted_saturday() {
        let p = policy();
        let cal = WorkCalendar::builtin();
        let r = rule(
            &p,
            CaseKind::Request,
            DeadlineStage::Handling,
            "dept_housing.roads",
            Some(Complexity::Ordinary),
        );
        // Assigned on Tuesday 30 Sept 2025: 1–8 Oct are off; Sunday 28 Sept
        // was already worked; Saturday 11 Oct is worked (调休).
        let d = compute(&r, &p.version, &cal, at("2025-09-30T02:00:00Z"), &[], 0);
        // 9, 10, 11 (Sat), 13, 14, 15, 16 October.
        assert_eq!(d.explanation.due, parse_date("2025-10-16").unwrap());
        assert!(d.explanation.calendar_gaps.is_empty());
        assert_eq!(
            d.explanation.text_zh(),
            "自2025-09-30受理起7个工作日，至2025-10-16届满"
        );
        // A pause over the holiday costs only the working days it covered.
        let pause = PauseSpan {
            since: at("2025-09-30T08:00:00Z"),
            until: at("2025-10-10T02:00:00Z"),
        };
        let paused = compute(
            &r,
            &p.version,
            &cal,
            at("2025-09-30T02:00:00Z"),
            &[pause],
            0,
        );
        assert_eq!(paused.explanation.paused_days, 2, "9 and 10 October");
        assert_eq!(paused.explanation.due, parse_date("2025-10-20").unwrap());
    }

    #[test]
    fn unknown_years_warn_in_the_explanation() {
        let p = policy();
        let cal = WorkCalendar::builtin();
        let r = rule(
            &p,
            CaseKind::Request,
            DeadlineStage::Handling,
            "dept_housing",
            Some(Complexity::Complex),
        );
        let d = compute(&r, &p.version, &cal, at("2026-12-20T02:00:00Z"), &[], 0);
        assert!(!d.explanation.calendar_gaps.is_empty());
        assert!(
            d.explanation.text_en().contains("warning: no holiday data"),
            "{}",
            d.explanation.text_en()
        );
    }
}
