//! What the deadline engine does to one case at one instant: record a change
//! of deadline signal, climb the escalation ladder when the case stays
//! overdue, and say when the case next needs looking at.
//!
//! The engine's memory is the case's [`SignalWatch`], set only by events.
//! A step is judged against it, so running the same step twice (a restart
//! mid-tick, a second server on the same database) finds nothing left to do
//! the second time: idempotent per case and deadline by construction.

use crate::case::{Case, DeadlineSignal, Handling, SignalWatch, Stage, TimeLimit};
use crate::clock::Timestamp;
use crate::jurisdiction::Level;
use crate::lifecycle::EventKind;
use crate::policy::{EscalationLadder, Rules};
use serde::{Deserialize, Serialize};
use time::Duration;

/// The actor named on every event the engine records.
pub const ENGINE_ACTOR: &str = "system:deadline-engine";

/// Why a case was raised a level without anyone asking.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum EscalationCause {
    /// The escalation ladder: overdue for `overdue_days` whole days; this is
    /// the ladder's `step`-th escalation of the deadline `due_at`.
    Overdue {
        due_at: Timestamp,
        overdue_days: u32,
        step: u32,
    },
    /// A red risk level: at least the county, with a leader in charge.
    Red,
}

impl EscalationCause {
    pub fn text_zh(&self, from: Level, to: Level) -> String {
        match self {
            EscalationCause::Overdue {
                overdue_days, step, ..
            } if from == to => format!("超期{overdue_days}日，已在最高层级，第{step}次督办"),
            EscalationCause::Overdue {
                overdue_days, step, ..
            } => format!(
                "超期{overdue_days}日，第{step}次自动提级至{}并督办",
                to.zh()
            ),
            EscalationCause::Red => format!("红色预警，提级至{}，领导包案", to.zh()),
        }
    }
}

/// The deadline an open case is running against now: the decision on
/// acceptance while it is registered, then its assignment's, unless the
/// clock is paused.
fn running(case: &Case) -> Option<TimeLimit> {
    if !case.state().is_open() {
        return None;
    }
    match &case.stage {
        Stage::InProgress(Handling {
            paused: Some(_), ..
        }) => None,
        stage => stage.time_limit(),
    }
}

/// The engine's record for the current deadline: what the last event said,
/// or "on track, no escalation" when nothing was recorded for this deadline.
fn recorded(case: &Case, a: TimeLimit) -> SignalWatch {
    case.watch_for(a.due_at).cloned().unwrap_or(SignalWatch {
        due_at: a.due_at,
        signal: DeadlineSignal::OnTrack,
        escalations: 0,
    })
}

/// How many ladder escalations are due after `overdue_days` whole days.
fn steps_due(ladder: &EscalationLadder, overdue_days: u32) -> u32 {
    if overdue_days < ladder.escalate_after_days {
        0
    } else {
        1 + (overdue_days - ladder.escalate_after_days) / ladder.repeat_every_days
    }
}

/// When the ladder's `step`-th escalation falls due (calendar days after
/// the deadline: the ladder measures how long a case has been neglected).
fn step_at(ladder: &EscalationLadder, due_at: Timestamp, step: u32) -> Timestamp {
    let days = ladder.escalate_after_days + (step - 1) * ladder.repeat_every_days;
    due_at.plus(Duration::days(i64::from(days)))
}

/// When the case next needs the engine, or `None` while nothing can change
/// by the passing of time alone (no deadline, paused, closed). This is the
/// indexed column a tick selects on, so a tick touches only cases whose
/// signal or ladder step changes.
pub fn next_check(case: &Case, ladder: &EscalationLadder) -> Option<Timestamp> {
    let a = running(case)?;
    let w = recorded(case, a);
    Some(match w.signal {
        DeadlineSignal::OnTrack => a.due_soon_at(),
        DeadlineSignal::DueSoon => a.due_at.plus(Duration::milliseconds(1)),
        DeadlineSignal::Overdue => step_at(ladder, a.due_at, w.escalations + 1),
    })
}

/// The next event the engine records for this case at `now`, if any. Call
/// again after applying it: a case found after a downtime may owe a signal
/// change and a ladder step. Ladder steps missed while the engine was down
/// are taken in one event that names the step now due and raises the case
/// as many levels (one record of one decision, not a burst of them all
/// stamped with the same instant).
pub fn step(case: &Case, now: Timestamp, rules: &Rules) -> Option<EventKind> {
    let a = running(case)?;
    let w = recorded(case, a);
    let policy_version = rules.policy.version.clone();
    let current = a.signal_at(now);
    if current != w.signal {
        return Some(EventKind::SignalChanged {
            from: w.signal,
            to: current,
            due_at: a.due_at,
            policy_version,
        });
    }
    if current != DeadlineSignal::Overdue {
        return None;
    }
    let overdue_days = (now.minus(&a.due_at).whole_days()).max(0) as u32;
    let ladder = &rules.policy.escalation;
    let due = steps_due(ladder, overdue_days);
    if w.escalations >= due {
        return None;
    }
    // At the city level there is nowhere higher: a step is then a 督办 only.
    let mut to_level = case.level;
    for _ in w.escalations..due {
        to_level = to_level.up().unwrap_or(to_level);
    }
    Some(EventKind::AutoEscalated {
        from_level: case.level,
        to_level,
        cause: EscalationCause::Overdue {
            due_at: a.due_at,
            overdue_days,
            step: due,
        },
        policy_version,
    })
}

/// A red case below the county goes up to the county, with a leader in
/// charge (领导包案; the county's supervisor is asked to name one).
pub fn red_escalation(case: &Case, rules: &Rules) -> Option<EventKind> {
    // Levels order City < County < Town: "below the county" is greater.
    if !case.is_urgent() || case.level <= Level::County {
        return None;
    }
    Some(EventKind::AutoEscalated {
        from_level: case.level,
        to_level: Level::County,
        cause: EscalationCause::Red,
        policy_version: rules.policy.version.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::taxonomy::Taxonomy;

    fn ladder() -> EscalationLadder {
        Policy::default_policy(&Taxonomy::default_taxonomy()).escalation
    }

    #[test]
    fn the_ladder_escalates_after_three_days_then_every_five() {
        let l = ladder();
        assert_eq!((l.escalate_after_days, l.repeat_every_days), (3, 5));
        let due: Vec<u32> = [0, 2, 3, 7, 8, 12, 13].map(|d| steps_due(&l, d)).to_vec();
        assert_eq!(due, vec![0, 0, 1, 1, 2, 2, 3]);
        let t = Timestamp::parse("2026-03-10T15:59:59.999Z").unwrap();
        assert_eq!(step_at(&l, t, 1), t.plus(Duration::days(3)));
        assert_eq!(step_at(&l, t, 2), t.plus(Duration::days(8)));
    }
}
