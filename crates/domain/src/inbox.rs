//! Inboxes: what needs whom. Each event of a case may put notices in the
//! inboxes of the body handling it, the handler who signed for it, and the
//! supervisor of the centre that owns it. Derived from events alone, in the
//! same transaction that records them, so an inbox never misses an event
//! and never hears of one that was not recorded.

use crate::body::BodyCode;
use crate::case::{Case, CaseId, CaseState, DeadlineSignal};
use crate::clock::Timestamp;
use crate::escalation::EscalationCause;
use crate::jurisdiction::{JurisdictionCode, JurisdictionTree};
use crate::lifecycle::{Event, EventKind};
use crate::policy::EscalationLadder;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Whose inbox. Written `body:CODE`, `staff:NAME` or `centre:CODE` (the
/// supervisor of the centre at that jurisdiction node).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Recipient {
    Body(BodyCode),
    Staff(String),
    Centre(JurisdictionCode),
}

impl Recipient {
    pub fn parse(raw: &str) -> Option<Self> {
        let (kind, rest) = raw.split_once(':')?;
        match kind {
            "body" => BodyCode::parse(rest).ok().map(Recipient::Body),
            "staff" => {
                let t = rest.trim();
                (!t.is_empty() && t.chars().count() <= 64).then(|| Recipient::Staff(t.to_owned()))
            }
            "centre" => JurisdictionCode::parse(rest).ok().map(Recipient::Centre),
            _ => None,
        }
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Body(b) => write!(f, "body:{b}"),
            Recipient::Staff(s) => write!(f, "staff:{s}"),
            Recipient::Centre(c) => write!(f, "centre:{c}"),
        }
    }
}

macro_rules! notice_kinds {
    ($($variant:ident = $s:literal / $zh:literal),+ $(,)?) => {
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum NoticeKind { $($variant),+ }

        impl NoticeKind {
            pub const ALL: &'static [NoticeKind] = &[$(NoticeKind::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $(NoticeKind::$variant => $s),+ }
            }
            pub fn zh(self) -> &'static str {
                match self { $(NoticeKind::$variant => $zh),+ }
            }
            pub fn parse(raw: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|k| k.as_str() == raw)
            }
        }
    };
}

notice_kinds! {
    NewCase = "new_case" / "新登记待研判",
    NewAssignment = "new_assignment" / "新交办",
    DueSoon = "due_soon" / "临期",
    Overdue = "overdue" / "超期",
    Returned = "returned" / "被退回",
    ExtensionRequested = "extension_requested" / "延期申请待审批",
    ReviewRequested = "review_requested" / "复查（复核）申请",
    Supervision = "supervision" / "督办",
    Escalated = "escalated" / "提级",
    LeaderNeeded = "leader_needed" / "待确定包案领导",
}

/// One notice for one inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub recipient: Recipient,
    pub kind: NoticeKind,
    pub case_id: CaseId,
    /// The event that caused it; (recipient, case, seq, kind) is unique.
    pub seq: u64,
    pub at: Timestamp,
    /// One line for the inbox list, Chinese first.
    pub text: String,
}

/// The supervisor of the centre that owns the case now (the case's
/// location's ancestor at the case's level).
pub fn owning_centre(case: &Case, tree: &JurisdictionTree) -> Option<Recipient> {
    tree.ancestor_at(&case.location.jurisdiction, case.level)
        .map(|j| Recipient::Centre(j.code.clone()))
}

fn handler(case: &Case) -> Option<Recipient> {
    match &case.stage {
        crate::case::Stage::InProgress(h) => h.signed_by.clone().map(Recipient::Staff),
        _ => None,
    }
}

fn body(case: &Case) -> Option<Recipient> {
    case.stage
        .assignment()
        .map(|a| Recipient::Body(a.body.clone()))
}

/// The notices an event puts in inboxes. `before` is the case as it was
/// (the body a case was returned from is only known there).
pub fn notices(
    before: Option<&Case>,
    event: &Event,
    after: &Case,
    tree: &JurisdictionTree,
    ladder: &EscalationLadder,
) -> Vec<Notice> {
    use NoticeKind as K;
    let title = after.title.as_str();
    let number = &after.number;
    let mut out: Vec<(Option<Recipient>, NoticeKind, String)> = Vec::new();
    let centre = owning_centre(after, tree);
    match &event.kind {
        EventKind::Registered(_) => {
            out.push((centre, K::NewCase, format!("{number} {title}")));
        }
        EventKind::Assigned { due_at, .. } => out.push((
            body(after),
            K::NewAssignment,
            format!(
                "{number} {title}（办理期限{}）",
                crate::deadlines::local_date(*due_at)
            ),
        )),
        EventKind::Returned { reason } => {
            let from = before.and_then(body);
            let from = match from {
                Some(Recipient::Body(b)) => b.to_string(),
                _ => String::new(),
            };
            out.push((
                centre,
                K::Returned,
                format!("{number} 被{from}退回：{reason}"),
            ));
        }
        EventKind::SignalChanged { to, due_at, .. } => {
            let due = crate::deadlines::local_date(*due_at);
            // Before acceptance the decision is the centre's own, so the
            // centre hears of its deadline as a body hears of a handling one.
            let awaiting_acceptance = after.state() == CaseState::Registered;
            let what = if awaiting_acceptance {
                "受理决定"
            } else {
                ""
            };
            let (kind, text) = match to {
                DeadlineSignal::DueSoon => (
                    K::DueSoon,
                    format!("{number} {title} {what}临期（{due}届满）"),
                ),
                DeadlineSignal::Overdue => (
                    K::Overdue,
                    format!("{number} {title} {what}已超期（{due}届满）"),
                ),
                DeadlineSignal::OnTrack => return Vec::new(),
            };
            out.push((body(after), kind, text.clone()));
            out.push((handler(after), kind, text.clone()));
            if awaiting_acceptance || (*to == DeadlineSignal::Overdue && ladder.notify_supervisor) {
                out.push((centre, kind, text));
            }
        }
        EventKind::AutoEscalated {
            from_level,
            to_level,
            cause,
            ..
        } => {
            let text = format!(
                "{number} {title}：{}",
                cause.text_zh(*from_level, *to_level)
            );
            out.push((centre.clone(), K::Escalated, text.clone()));
            if matches!(cause, EscalationCause::Overdue { .. }) {
                out.push((body(after), K::Supervision, text.clone()));
                out.push((handler(after), K::Supervision, text));
            }
            if matches!(cause, EscalationCause::Red) && after.leader.is_none() {
                out.push((
                    centre,
                    K::LeaderNeeded,
                    format!("{number} {title}：红色预警，请确定包案领导"),
                ));
            }
        }
        EventKind::Escalated {
            to_level, reason, ..
        } => out.push((
            centre,
            K::Escalated,
            format!("{number} 提级至{}：{reason}", to_level.zh()),
        )),
        EventKind::Supervised { listed, note } => {
            let what = if *listed { "挂牌督办" } else { "督办" };
            let text = format!("{number} {title} {what}：{note}");
            out.push((body(after), K::Supervision, text.clone()));
            out.push((handler(after), K::Supervision, text));
        }
        EventKind::ExtensionRequested { days, reason } => out.push((
            centre,
            K::ExtensionRequested,
            format!("{number} 申请延期{days}日：{reason}"),
        )),
        EventKind::ReviewRequested { stage, reason, .. } => out.push((
            centre,
            K::ReviewRequested,
            format!("{number} {}申请：{reason}", stage.zh()),
        )),
        _ => {}
    }
    let mut notices: Vec<Notice> = Vec::new();
    for (recipient, kind, text) in out {
        let Some(recipient) = recipient else { continue };
        if notices
            .iter()
            .any(|n| n.recipient == recipient && n.kind == kind)
        {
            continue;
        }
        notices.push(Notice {
            recipient,
            kind,
            case_id: after.id,
            seq: event.seq,
            at: event.at,
            text,
        });
    }
    notices
}
