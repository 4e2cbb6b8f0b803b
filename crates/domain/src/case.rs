//! The case 事项 as queries see it: the fold of its events.

use crate::body::BodyCode;
use crate::clock::Timestamp;
use crate::jurisdiction::{JurisdictionCode, Level};
use crate::party::PartyRecord;
use crate::taxonomy::CategoryCode;
use crate::text::Text;
use jiefen_ledger::hash::Hash;
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// A case id: a UUIDv7, so ids sort by creation time and can be minted by the
/// caller before the write (which is what makes idempotent creation simple).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct CaseId(pub Uuid);

impl CaseId {
    pub fn parse(raw: &str) -> Option<Self> {
        Uuid::parse_str(raw).ok().map(Self)
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

string_enum!(CaseKind {
    Dispute = "dispute" / "矛盾纠纷",
    Petition = "petition" / "信访事项",
    Request = "request" / "群众诉求",
    Hazard = "hazard" / "风险隐患",
});

string_enum!(Channel {
    WalkIn = "walk_in" / "来访",
    Phone = "phone" / "来电/12345",
    Web = "web" / "网上",
    Letter = "letter" / "来信",
    GridReport = "grid_report" / "网格员上报",
    Referral = "referral" / "部门移交",
    Sweep = "sweep" / "排查发现",
    Api = "api" / "接口",
});

string_enum!(
    /// Red is the most serious; the derived order puts it last so `max` picks it.
    RiskLevel {
        Blue = "blue" / "蓝色",
        Yellow = "yellow" / "黄色",
        Red = "red" / "红色",
    }
);

string_enum!(
    /// The flat state used for filtering and counting; [`Stage`] carries the data.
    CaseState {
        Registered = "registered" / "已登记",
        Accepted = "accepted" / "已受理",
        Declined = "declined" / "不予受理",
        Assigned = "assigned" / "已交办",
        InProgress = "in_progress" / "办理中",
        Paused = "paused" / "已中止",
        Concluded = "concluded" / "已办结",
        FollowedUp = "followed_up" / "已回访",
        Merged = "merged" / "已合并",
        Referred = "referred" / "已移交",
        Archived = "archived" / "已归档",
    }
);

string_enum!(Outcome {
    Mediated = "mediated" / "调解成功",
    FailedReferred = "failed_referred" / "调解不成，引导诉讼/仲裁",
    Answered = "answered" / "已答复",
    NotSupported = "not_supported" / "不予支持",
    Withdrawn = "withdrawn" / "撤回",
});

string_enum!(Satisfaction {
    Satisfied = "satisfied" / "满意",
    BasicallySatisfied = "basically_satisfied" / "基本满意",
    Dissatisfied = "dissatisfied" / "不满意",
});

string_enum!(
    /// 复查 then 复核, each at the next level up.
    ReviewStage {
        Review = "review" / "复查",
        ReReview = "re_review" / "复核",
    }
);

string_enum!(DeadlineSignal {
    OnTrack = "on_track" / "正常",
    DueSoon = "due_soon" / "临期",
    Overdue = "overdue" / "超期",
});

impl DeadlineSignal {
    /// The signal at `now` of a deadline `due_at` that is due soon from
    /// `due_soon_at`. The list filter in SQL states the same rule over the
    /// projection's columns.
    pub fn at(now: Timestamp, due_soon_at: Timestamp, due_at: Timestamp) -> Self {
        if now > due_at {
            DeadlineSignal::Overdue
        } else if now >= due_soon_at {
            DeadlineSignal::DueSoon
        } else {
            DeadlineSignal::OnTrack
        }
    }
}

impl CaseState {
    /// States in which the case is still being worked on.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Registered | Self::Accepted | Self::Assigned | Self::InProgress | Self::Paused
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Location {
    pub jurisdiction: JurisdictionCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Text>,
    /// WGS-84 in micro-degrees: integers keep the hashed encoding free of
    /// float formatting questions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<Coordinates>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coordinates {
    pub lat_e6: i32,
    pub lon_e6: i32,
}

/// Which body sent a case back, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Returned {
    pub by: BodyCode,
    pub at: Timestamp,
    pub reason: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assignment {
    pub body: BodyCode,
    pub assigned_at: Timestamp,
    pub due_at: Timestamp,
    /// How the policy arrived at `due_at`; absent when staff set it by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<crate::deadlines::Explanation>,
    /// The policy's "due soon" share when the case was assigned, in
    /// thousandths (an integer: hashed events hold no floats). Absent on
    /// assignments recorded before the policy carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_soon_permille: Option<u16>,
}

/// The share used for assignments that did not record their own.
pub const DEFAULT_DUE_SOON_PERMILLE: u16 = 200;

impl Assignment {
    pub fn time_limit(&self) -> TimeLimit {
        TimeLimit {
            start: self.assigned_at,
            due_at: self.due_at,
            due_soon_permille: self.due_soon_permille.unwrap_or(DEFAULT_DUE_SOON_PERMILLE),
        }
    }
}

/// The decision on acceptance a registered case waits for (信访: within 15
/// days of registration), set from the policy when the case is registered.
/// Kinds the policy gives no acceptance rule have none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AcceptanceDeadline {
    pub since: Timestamp,
    pub due_at: Timestamp,
    pub deadline: crate::deadlines::Explanation,
    pub due_soon_permille: u16,
}

impl AcceptanceDeadline {
    pub fn time_limit(&self) -> TimeLimit {
        TimeLimit {
            start: self.since,
            due_at: self.due_at,
            due_soon_permille: self.due_soon_permille,
        }
    }
}

/// The deadline a case is held to now, whatever the stage: the one rule for
/// 正常 / 临期 / 超期 that the engine, the projection's columns and every view
/// share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeLimit {
    pub start: Timestamp,
    pub due_at: Timestamp,
    /// The "due soon" share of the allowed time, in thousandths.
    pub due_soon_permille: u16,
}

impl TimeLimit {
    /// The instant from which the case is "due soon" (临期): when no more
    /// than the recorded share of the allowed time is left.
    pub fn due_soon_at(&self) -> Timestamp {
        let permille = i64::from(self.due_soon_permille);
        let total = self.due_at.unix_millis() - self.start.unix_millis();
        Timestamp::from_unix_millis(self.due_at.unix_millis() - total.max(0) * permille / 1000)
    }

    /// 正常 / 临期 / 超期 at `now`.
    pub fn signal_at(&self, now: Timestamp) -> DeadlineSignal {
        DeadlineSignal::at(now, self.due_soon_at(), self.due_at)
    }
}

/// What the deadline engine last recorded about the current deadline: the
/// signal and how many steps of the escalation ladder were taken. Set by
/// events only, so a restart or a second engine never fires twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignalWatch {
    pub due_at: Timestamp,
    pub signal: DeadlineSignal,
    pub escalations: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pause {
    pub since: Timestamp,
    pub reason: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExtensionRequest {
    pub days: u32,
    pub reason: Text,
    pub requested_at: Timestamp,
}

/// Work on an assigned case after the body signed for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Handling {
    pub assignment: Assignment,
    pub signed_at: Timestamp,
    /// Who signed for it: the handler whose inbox hears about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    pub paused: Option<Pause>,
    pub pending_extension: Option<ExtensionRequest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agreement {
    pub text: Text,
    /// Whether the parties will seek judicial confirmation 司法确认.
    #[serde(default)]
    pub judicial_confirmation: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conclusion {
    pub outcome: Outcome,
    pub summary: Text,
    pub agreement: Option<Agreement>,
    pub concluded_at: Timestamp,
    pub on_time: bool,
}

impl Satisfaction {
    /// 满意 and 基本满意 both count as satisfied in the 满意率.
    pub fn is_satisfied(self) -> bool {
        !matches!(self, Satisfaction::Dissatisfied)
    }
}

/// A case's part in the figures: resolved (answered and not reopened), on
/// time (resolved within its deadline), the person's satisfaction once
/// asked, whether it is a repeat merged into an earlier case, and whether
/// it is open and overdue as the deadline engine recorded it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseFigures {
    pub resolved: bool,
    pub on_time: bool,
    /// `None` until the person is asked.
    pub satisfied: Option<bool>,
    pub repeat: bool,
    pub overdue: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FollowUp {
    pub satisfaction: Satisfaction,
    pub note: Option<Text>,
    pub at: Timestamp,
}

/// Where the case is in its life, with exactly the data that stage needs:
/// an assigned case always has a body and a deadline, a paused one always has
/// a reason, and a declined one always says why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    Registered {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        acceptance: Option<AcceptanceDeadline>,
    },
    Accepted,
    Declined {
        reason: Text,
    },
    Assigned(Assignment),
    InProgress(Handling),
    Concluded,
    FollowedUp,
    Merged {
        into: CaseId,
    },
    Referred {
        agency: Text,
    },
    Archived,
}

impl Stage {
    pub fn state(&self) -> CaseState {
        match self {
            Stage::Registered { .. } => CaseState::Registered,
            Stage::Accepted => CaseState::Accepted,
            Stage::Declined { .. } => CaseState::Declined,
            Stage::Assigned(_) => CaseState::Assigned,
            Stage::InProgress(h) if h.paused.is_some() => CaseState::Paused,
            Stage::InProgress(_) => CaseState::InProgress,
            Stage::Concluded => CaseState::Concluded,
            Stage::FollowedUp => CaseState::FollowedUp,
            Stage::Merged { .. } => CaseState::Merged,
            Stage::Referred { .. } => CaseState::Referred,
            Stage::Archived => CaseState::Archived,
        }
    }

    pub fn assignment(&self) -> Option<&Assignment> {
        match self {
            Stage::Assigned(a) => Some(a),
            Stage::InProgress(h) => Some(&h.assignment),
            _ => None,
        }
    }

    /// The deadline of this stage: the decision on acceptance while the
    /// case is registered, the assignment's after that, none in between.
    pub fn time_limit(&self) -> Option<TimeLimit> {
        match self {
            Stage::Registered {
                acceptance: Some(a),
            } => Some(a.time_limit()),
            _ => self.assignment().map(Assignment::time_limit),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Supervision {
    /// 督办 entries so far.
    pub count: u32,
    /// 挂牌督办: listed supervision, the strongest form.
    pub listed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentRef {
    pub sha256: Hash,
    pub size: u64,
    pub media_type: String,
    pub filename: String,
}

/// The case projection: everything the events say about the case now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Case {
    pub id: CaseId,
    pub number: String,
    pub receipt_code: String,
    pub kind: CaseKind,
    pub channel: Channel,
    pub category: CategoryCode,
    pub title: Text,
    pub description: Text,
    pub location: Location,
    pub people_involved: u32,
    pub parties: Vec<PartyRecord>,
    pub risk: RiskLevel,
    /// Why the risk level is what it is (computed factors, and any override).
    #[serde(default)]
    pub risk_reasons: Vec<crate::risk::RiskReason>,
    /// The level whose centre owns the case now: starts at the location's
    /// level and only moves up (escalation, review).
    pub level: Level,
    pub stage: Stage,
    pub conclusion: Option<Conclusion>,
    pub follow_up: Option<FollowUp>,
    pub review: Option<ReviewStage>,
    pub extensions_granted: u32,
    /// Where a policy handling deadline counts from: the acceptance, or the
    /// review request for a review. Returning or reassigning the case does
    /// not restart it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handling_from: Option<Timestamp>,
    pub supervision: Supervision,
    pub leader: Option<Text>,
    pub repeats: Vec<CaseId>,
    /// Earlier cases this one may repeat, found at registration by keyed
    /// identity hashes; the clerk links (merges) or leaves them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub possible_repeats: Vec<crate::repeats::PossibleRepeat>,
    /// The category suggestions shown at registration, if any: a category
    /// other than their first is a clerk's correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestions: Option<crate::taxonomy::CategorySuggestions>,
    /// The body of the current assignment, or of the one that brought the
    /// case to its conclusion: whose cases a handler sees. Cleared whenever
    /// the case goes back for routing (returned, escalated, under review).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handled_by: Option<BodyCode>,
    /// The account that signed for the case for that body (签收), kept
    /// through its conclusion: whose cases "mine" lists for a handler.
    /// Cleared whenever the body changes or the case goes back for routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// Sent back by its handling body (退回) and waiting to be routed
    /// again; cleared as soon as it leaves that state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned: Option<Returned>,
    /// The deadline engine's record of the current deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<SignalWatch>,
    pub attachments: Vec<AttachmentRef>,
    pub mediation_sessions: u32,
    pub escalations: u32,
    pub registered_at: Timestamp,
    pub registered_by: String,
    pub updated_at: Timestamp,
    /// Sequence number of the last event folded in.
    pub version: u64,
}

impl Case {
    pub fn state(&self) -> CaseState {
        self.stage.state()
    }

    /// Open and red (红色预警): raised to the county with a leader in charge,
    /// and listed before everything else in every queue.
    pub fn is_urgent(&self) -> bool {
        self.risk == RiskLevel::Red && self.state().is_open()
    }

    /// The engine's record, if it is about the deadline `due_at` (a moved
    /// deadline starts with no signal recorded and no ladder step taken).
    pub fn watch_for(&self, due_at: Timestamp) -> Option<&SignalWatch> {
        self.watch.as_ref().filter(|w| w.due_at == due_at)
    }

    /// What the case counts towards in the figures every report gives
    /// (办结率, 按期办结率, 满意率, 重复件).
    pub fn figures(&self) -> CaseFigures {
        let state = self.state();
        // Answered and not reopened: a case under review is open again.
        let resolved = matches!(state, CaseState::Concluded | CaseState::FollowedUp)
            || (state == CaseState::Archived && self.conclusion.is_some());
        CaseFigures {
            resolved,
            on_time: resolved && self.conclusion.as_ref().is_some_and(|c| c.on_time),
            satisfied: self
                .follow_up
                .as_ref()
                .map(|f| f.satisfaction.is_satisfied()),
            repeat: state == CaseState::Merged,
            overdue: self.recorded_overdue(),
        }
    }

    /// Open and past its current deadline as the deadline engine recorded
    /// it (超期). The overdue figure counts this rather than comparing the
    /// deadline with the time it is asked: that way it is kept in the
    /// tallies by the engine's `signal_changed` events like every other
    /// figure, at the cost of trailing the clock by at most one tick.
    pub fn recorded_overdue(&self) -> bool {
        self.state().is_open()
            && self.stage.time_limit().is_some_and(|l| {
                self.watch_for(l.due_at)
                    .is_some_and(|w| w.signal == DeadlineSignal::Overdue)
            })
    }

    /// 正常 / 临期 / 超期 for the current deadline, as of `now`.
    pub fn deadline_signal(&self, now: Timestamp) -> Option<DeadlineSignal> {
        let limit = self.stage.time_limit()?;
        // A paused clock does not run: the signal stays as it was at the pause.
        let at = match &self.stage {
            Stage::InProgress(Handling {
                paused: Some(p), ..
            }) => p.since,
            _ => now,
        };
        Some(limit.signal_at(at))
    }

    /// Checks the relations between fields that the types alone cannot
    /// express. Property tests call it after every event.
    pub fn check_invariants(&self) -> Result<(), String> {
        let state = self.state();
        if matches!(state, CaseState::Concluded | CaseState::FollowedUp)
            && self.conclusion.is_none()
        {
            return Err(format!("{state} without a conclusion"));
        }
        if state == CaseState::FollowedUp && self.follow_up.is_none() {
            return Err("followed up without a follow-up".into());
        }
        if let Some(c) = &self.conclusion {
            if (c.outcome == Outcome::Mediated) != c.agreement.is_some() {
                return Err("an agreement exists exactly when the outcome is mediated".into());
            }
        }
        if let Some(a) = self.stage.assignment() {
            if self.handled_by.as_ref() != Some(&a.body) {
                return Err("an assigned case is handled by its assignment's body".into());
            }
            // A policy deadline counts from acceptance and may have passed
            // before a late assignment; one set by hand is always ahead.
            if a.deadline.is_none() && a.due_at < a.assigned_at {
                return Err("deadline before assignment".into());
            }
        }
        if let Stage::Registered {
            acceptance: Some(a),
        } = &self.stage
        {
            if a.due_at < a.since {
                return Err("acceptance due before registration".into());
            }
        }
        if let Stage::Merged { into } = &self.stage {
            if *into == self.id {
                return Err("merged into itself".into());
            }
        }
        if self.updated_at < self.registered_at {
            return Err("updated before registered".into());
        }
        Ok(())
    }
}
