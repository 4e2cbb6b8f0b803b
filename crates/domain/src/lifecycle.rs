//! The life of a case as a state machine: `decide` turns a command into an
//! event (or a typed refusal), `apply` folds an event into the case.
//!
//! Keeping the two apart is what makes the history authoritative: `decide`
//! holds every rule, `apply` only records what an accepted event says, so a
//! replay of stored events never re-judges them under newer rules.

use crate::body::{Body, BodyCode};
use crate::case::*;
use crate::clock::Timestamp;
use crate::jurisdiction::{Jurisdiction, JurisdictionCode, Level};
use crate::party::{NewParty, PartyError, PartyRecord, PartyRole, PersonalValue};
use crate::taxonomy::{CategoryCode, Taxonomy};
use crate::text::Text;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::Duration;

/// Who did it. Every command names its actor; issue-4 accounts will fill it
/// from the session, until then it is the staff identifier given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Actor(String);

impl Actor {
    pub fn parse(raw: &str) -> Result<Self, TransitionError> {
        let t = raw.trim();
        if t.is_empty() || t.chars().count() > 64 {
            return Err(TransitionError::invalid("actor", "must be 1–64 characters"));
        }
        Ok(Self(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Actor {
    type Error = TransitionError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Actor> for String {
    fn from(value: Actor) -> Self {
        value.0
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The reference data decisions are checked against. Implemented by the
/// store's in-memory snapshot; the domain only reads it.
pub trait Reference {
    fn jurisdiction(&self, code: &JurisdictionCode) -> Option<&Jurisdiction>;
    fn body(&self, code: &BodyCode) -> Option<&Body>;
    fn taxonomy(&self) -> &Taxonomy;
    /// The rules for a case in `jurisdiction`: the nearest override of the
    /// policy among it and its ancestors, or the deployment's.
    fn rules_at(&self, jurisdiction: &JurisdictionCode) -> &crate::policy::Rules;
    /// The routing proposal for a case (see [`crate::routing::propose`]).
    fn propose_route(&self, case: &Case) -> Option<crate::routing::Proposal>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum TransitionError {
    #[error("cannot {action} a case that is {state}")]
    IllegalTransition {
        action: &'static str,
        state: CaseState,
    },
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("unknown jurisdiction {0}")]
    UnknownJurisdiction(String),
    #[error("unknown handling body {0}")]
    UnknownBody(String),
    #[error("unknown category {0}")]
    UnknownCategory(String),
}

impl TransitionError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    fn illegal(action: &'static str, case: &Case) -> Self {
        Self::IllegalTransition {
            action,
            state: case.state(),
        }
    }
}

impl From<PartyError> for TransitionError {
    fn from(e: PartyError) -> Self {
        TransitionError::invalid("parties", e.to_string())
    }
}

/// What a person registering a case gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    pub kind: CaseKind,
    pub channel: Channel,
    pub category: CategoryCode,
    pub title: Text,
    pub description: Text,
    pub jurisdiction: JurisdictionCode,
    #[serde(default)]
    pub address: Option<Text>,
    #[serde(default)]
    pub coordinates: Option<Coordinates>,
    #[serde(default = "one")]
    pub people_involved: u32,
    #[serde(default)]
    pub parties: Vec<NewParty>,
    /// The clerk's judgement, when it differs from the computed level: it
    /// wins, and the computed reasons are kept beside it.
    #[serde(default)]
    pub risk: Option<RiskLevel>,
    /// The category suggestions the clerk was shown (from
    /// `/api/v1/intake/preview`), recorded with the registration.
    #[serde(default)]
    pub suggestions: Option<crate::taxonomy::CategorySuggestions>,
}

fn one() -> u32 {
    1
}

/// Identifiers minted outside the domain for a new case.
#[derive(Debug, Clone)]
pub struct Minted {
    pub id: CaseId,
    pub number: String,
    pub receipt_code: String,
}

/// A command on an existing case, as the API takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    Accept {
        #[serde(default)]
        note: Option<Text>,
    },
    Decline {
        reason: Text,
    },
    Assign {
        body: BodyCode,
        /// Set by hand; when absent the policy's deadline table decides.
        #[serde(default)]
        due_at: Option<Timestamp>,
        /// Picks the deadline rule where the policy distinguishes it.
        #[serde(default)]
        complexity: Option<crate::policy::Complexity>,
        /// Why the clerk chose another body than the routing proposal.
        #[serde(default)]
        reason: Option<Text>,
    },
    SignFor {},
    Return {
        reason: Text,
    },
    Note {
        text: Text,
    },
    MediationSession {
        held_at: Timestamp,
        mediators: Vec<Text>,
        #[serde(default)]
        place: Option<Text>,
        summary: Text,
    },
    Pause {
        reason: Text,
    },
    Resume {
        #[serde(default)]
        note: Option<Text>,
    },
    RequestExtension {
        days: u32,
        reason: Text,
    },
    ApproveExtension {
        #[serde(default)]
        note: Option<Text>,
    },
    RejectExtension {
        reason: Text,
    },
    Conclude {
        outcome: Outcome,
        summary: Text,
        #[serde(default)]
        agreement: Option<Agreement>,
    },
    FollowUp {
        satisfaction: Satisfaction,
        #[serde(default)]
        note: Option<Text>,
    },
    RequestReview {
        reason: Text,
    },
    Escalate {
        reason: Text,
    },
    Supervise {
        #[serde(default)]
        listed: bool,
        note: Text,
    },
    AssignLeader {
        leader: Text,
        #[serde(default)]
        note: Option<Text>,
    },
    Merge {
        into: CaseId,
        reason: Text,
    },
    Refer {
        agency: Text,
        reason: Text,
    },
    Archive {
        #[serde(default)]
        note: Option<Text>,
    },
    SetRisk {
        level: RiskLevel,
        reason: Text,
    },
    /// Issued by the store on the original when a repeat is merged into it.
    #[serde(skip_deserializing)]
    LinkRepeat {
        repeat: CaseId,
    },
    /// Issued by the attachment upload path once the file is stored.
    #[serde(skip_deserializing)]
    AddAttachment(AttachmentRef),
}

string_enum!(
    /// What can be done to a case: a [`Command`] without its particulars.
    Action {
        Accept = "accept" / "受理",
        Decline = "decline" / "不予受理",
        Assign = "assign" / "交办",
        SignFor = "sign_for" / "签收",
        Return = "return" / "退回",
        Note = "note" / "备注",
        MediationSession = "mediation_session" / "调解记录",
        Pause = "pause" / "中止",
        Resume = "resume" / "恢复办理",
        RequestExtension = "request_extension" / "申请延期",
        ApproveExtension = "approve_extension" / "批准延期",
        RejectExtension = "reject_extension" / "不批准延期",
        Conclude = "conclude" / "办结",
        FollowUp = "follow_up" / "回访",
        RequestReview = "request_review" / "申请复查",
        Escalate = "escalate" / "提级",
        Supervise = "supervise" / "督办",
        AssignLeader = "assign_leader" / "领导包案",
        Merge = "merge" / "合并",
        Refer = "refer" / "移交",
        Archive = "archive" / "归档",
        SetRisk = "set_risk" / "调整风险等级",
        LinkRepeat = "link_repeat" / "关联重复件",
        AddAttachment = "add_attachment" / "添加附件",
    }
);

impl Command {
    pub fn action(&self) -> Action {
        match self {
            Command::Accept { .. } => Action::Accept,
            Command::Decline { .. } => Action::Decline,
            Command::Assign { .. } => Action::Assign,
            Command::SignFor {} => Action::SignFor,
            Command::Return { .. } => Action::Return,
            Command::Note { .. } => Action::Note,
            Command::MediationSession { .. } => Action::MediationSession,
            Command::Pause { .. } => Action::Pause,
            Command::Resume { .. } => Action::Resume,
            Command::RequestExtension { .. } => Action::RequestExtension,
            Command::ApproveExtension { .. } => Action::ApproveExtension,
            Command::RejectExtension { .. } => Action::RejectExtension,
            Command::Conclude { .. } => Action::Conclude,
            Command::FollowUp { .. } => Action::FollowUp,
            Command::RequestReview { .. } => Action::RequestReview,
            Command::Escalate { .. } => Action::Escalate,
            Command::Supervise { .. } => Action::Supervise,
            Command::AssignLeader { .. } => Action::AssignLeader,
            Command::Merge { .. } => Action::Merge,
            Command::Refer { .. } => Action::Refer,
            Command::Archive { .. } => Action::Archive,
            Command::SetRisk { .. } => Action::SetRisk,
            Command::LinkRepeat { .. } => Action::LinkRepeat,
            Command::AddAttachment(_) => Action::AddAttachment,
        }
    }

    pub fn name(&self) -> &'static str {
        self.action().as_str()
    }
}

impl Action {
    /// Whether a case in `state` can take this action at all: the one
    /// table [`decide`] enforces and the case page offers from.
    pub fn allowed_in(self, state: CaseState) -> bool {
        use CaseState as S;
        const OPEN: &[CaseState] = &[
            S::Registered,
            S::Accepted,
            S::Assigned,
            S::InProgress,
            S::Paused,
        ];
        let states: &[CaseState] = match self {
            Action::Accept | Action::Decline => &[S::Registered],
            Action::Assign => &[S::Accepted],
            Action::SignFor | Action::Return => &[S::Assigned],
            Action::MediationSession | Action::Pause | Action::Conclude => &[S::InProgress],
            Action::Resume => &[S::Paused],
            Action::RequestExtension | Action::ApproveExtension | Action::RejectExtension => {
                &[S::InProgress, S::Paused]
            }
            Action::FollowUp => &[S::Concluded],
            Action::RequestReview => &[S::Concluded, S::FollowedUp],
            Action::Escalate | Action::Supervise | Action::AssignLeader => OPEN,
            Action::Merge | Action::Refer => &[S::Registered, S::Accepted],
            Action::Archive => &[
                S::Concluded,
                S::FollowedUp,
                S::Declined,
                S::Merged,
                S::Referred,
            ],
            Action::Note | Action::SetRisk | Action::LinkRepeat => {
                return !matches!(state, S::Archived | S::Merged | S::Referred)
            }
            Action::AddAttachment => return state != S::Archived,
        };
        states.contains(&state)
    }
}

/// The actions a case can take as it stands: allowed in its state, and not
/// ruled out by its own facts (no extension to decide without a request, no
/// level above the city to raise it to). What a given person may do is
/// this, less what their role may not give ([`crate::access::Role::may_take`]).
pub fn open_actions(case: &Case) -> Vec<Action> {
    let pending = matches!(&case.stage, Stage::InProgress(h) if h.pending_extension.is_some());
    Action::ALL
        .iter()
        .copied()
        .filter(|a| a.allowed_in(case.state()))
        .filter(|a| match a {
            Action::ApproveExtension | Action::RejectExtension => pending,
            Action::RequestExtension => !pending,
            Action::Escalate => case.level.up().is_some(),
            Action::RequestReview => {
                case.level.up().is_some() && case.review != Some(ReviewStage::ReReview)
            }
            _ => true,
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
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
    /// The factors behind `risk` (and the clerk's judgement, if it differs).
    #[serde(default)]
    pub risk_reasons: Vec<crate::risk::RiskReason>,
    /// Policy version the risk was computed under.
    #[serde(default)]
    pub policy_version: String,
    pub level: Level,
    /// Earlier cases found by identity (same person, or same respondent and
    /// place) within the policy's window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub possible_repeats: Vec<crate::repeats::PossibleRepeat>,
    /// When the decision on acceptance is due, for kinds the policy gives
    /// an acceptance rule (信访 15 days, disputes 3 working days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<AcceptanceDeadline>,
    /// What the classifier suggested before the clerk chose `category`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestions: Option<crate::taxonomy::CategorySuggestions>,
}

/// What routing proposed when a case was assigned, and whether the clerk
/// followed it: a choice against the proposal is recorded, never hidden.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRecord {
    /// None when no body of the case's jurisdiction or above takes its category.
    pub proposed_body: Option<BodyCode>,
    pub proposed_level: Option<Level>,
    pub followed: bool,
    pub reasons: Vec<String>,
    /// The clerk's reason for choosing another body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<Text>,
}

/// What happened. Serialised with a `type` tag; this JSON (inside [`Event`])
/// is exactly what is hashed into the chain, so variants and field names are
/// a stored format: add, never rename.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    Registered(Box<Registration>),
    Accepted {
        note: Option<Text>,
    },
    Declined {
        reason: Text,
    },
    Assigned {
        body: BodyCode,
        due_at: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deadline: Option<crate::deadlines::Explanation>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due_soon_permille: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        routing: Option<RoutingRecord>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        policy_version: String,
    },
    SignedFor,
    Returned {
        reason: Text,
    },
    NoteAdded {
        text: Text,
    },
    MediationSessionHeld {
        held_at: Timestamp,
        mediators: Vec<Text>,
        place: Option<Text>,
        summary: Text,
    },
    Paused {
        reason: Text,
    },
    Resumed {
        note: Option<Text>,
        paused_ms: i64,
        new_due_at: Timestamp,
        /// The policy deadline's explanation with the pause counted in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deadline: Option<crate::deadlines::Explanation>,
    },
    ExtensionRequested {
        days: u32,
        reason: Text,
    },
    ExtensionApproved {
        days: u32,
        new_due_at: Timestamp,
        note: Option<Text>,
        /// The policy deadline's explanation with the extension counted in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deadline: Option<crate::deadlines::Explanation>,
    },
    ExtensionRejected {
        reason: Text,
    },
    Concluded {
        outcome: Outcome,
        summary: Text,
        agreement: Option<Agreement>,
        on_time: bool,
    },
    FollowedUp {
        satisfaction: Satisfaction,
        note: Option<Text>,
    },
    ReviewRequested {
        stage: ReviewStage,
        reason: Text,
        to_level: Level,
    },
    Escalated {
        from_level: Level,
        to_level: Level,
        reason: Text,
    },
    Supervised {
        listed: bool,
        note: Text,
    },
    LeaderAssigned {
        leader: Text,
        note: Option<Text>,
    },
    MergedInto {
        into: CaseId,
        reason: Text,
    },
    RepeatLinked {
        repeat: CaseId,
    },
    Referred {
        agency: Text,
        reason: Text,
    },
    Archived {
        note: Option<Text>,
    },
    RiskSet {
        level: RiskLevel,
        reason: Text,
    },
    AttachmentAdded(AttachmentRef),
    /// The deadline engine saw the signal of the deadline `due_at` change.
    SignalChanged {
        from: DeadlineSignal,
        to: DeadlineSignal,
        due_at: Timestamp,
        policy_version: String,
    },
    /// Raised a level by the rules, not by a person: the escalation ladder
    /// of an overdue case (with 督办), or a red risk level.
    AutoEscalated {
        from_level: Level,
        to_level: Level,
        #[serde(flatten)]
        cause: crate::escalation::EscalationCause,
        policy_version: String,
    },
    /// New facts (linked repeats, escalations) changed the computed risk.
    /// A staff override stays in force and among the reasons.
    RiskRecomputed {
        level: RiskLevel,
        score: u32,
        reasons: Vec<crate::risk::RiskReason>,
        policy_version: String,
    },
}

impl EventKind {
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Registered(_) => "registered",
            EventKind::Accepted { .. } => "accepted",
            EventKind::Declined { .. } => "declined",
            EventKind::Assigned { .. } => "assigned",
            EventKind::SignedFor => "signed_for",
            EventKind::Returned { .. } => "returned",
            EventKind::NoteAdded { .. } => "note_added",
            EventKind::MediationSessionHeld { .. } => "mediation_session_held",
            EventKind::Paused { .. } => "paused",
            EventKind::Resumed { .. } => "resumed",
            EventKind::ExtensionRequested { .. } => "extension_requested",
            EventKind::ExtensionApproved { .. } => "extension_approved",
            EventKind::ExtensionRejected { .. } => "extension_rejected",
            EventKind::Concluded { .. } => "concluded",
            EventKind::FollowedUp { .. } => "followed_up",
            EventKind::ReviewRequested { .. } => "review_requested",
            EventKind::Escalated { .. } => "escalated",
            EventKind::Supervised { .. } => "supervised",
            EventKind::LeaderAssigned { .. } => "leader_assigned",
            EventKind::MergedInto { .. } => "merged_into",
            EventKind::RepeatLinked { .. } => "repeat_linked",
            EventKind::Referred { .. } => "referred",
            EventKind::Archived { .. } => "archived",
            EventKind::RiskSet { .. } => "risk_set",
            EventKind::AttachmentAdded(_) => "attachment_added",
            EventKind::SignalChanged { .. } => "signal_changed",
            EventKind::AutoEscalated { .. } => "auto_escalated",
            EventKind::RiskRecomputed { .. } => "risk_recomputed",
        }
    }
}

/// One entry of a case's history. Its JSON is the hashed body: it names its
/// case and position so an event cannot be moved to another case or place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub case_id: CaseId,
    pub seq: u64,
    pub at: Timestamp,
    pub actor: Actor,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Checks a new case and turns it into its first event and the personal
/// values to be stored apart.
pub fn register(
    new: &NewCase,
    minted: Minted,
    actor: Actor,
    now: Timestamp,
    refs: &dyn Reference,
    salt: &mut dyn FnMut() -> [u8; 16],
    possible_repeats: Vec<crate::repeats::PossibleRepeat>,
) -> Result<(Event, Vec<PersonalValue>), TransitionError> {
    let jurisdiction = refs
        .jurisdiction(&new.jurisdiction)
        .ok_or_else(|| TransitionError::UnknownJurisdiction(new.jurisdiction.to_string()))?;
    let taxonomy = refs.taxonomy();
    if taxonomy.get(&new.category).is_none() {
        return Err(TransitionError::UnknownCategory(new.category.to_string()));
    }
    if !taxonomy.allows(&new.category, new.kind) {
        return Err(TransitionError::invalid(
            "category",
            format!(
                "category {} does not apply to {} cases",
                new.category, new.kind
            ),
        ));
    }
    if new.title.as_str().chars().count() > 200 {
        return Err(TransitionError::invalid(
            "title",
            "is longer than 200 characters",
        ));
    }
    if let Some(problem) = new.suggestions.as_ref().and_then(|s| s.problem()) {
        return Err(TransitionError::invalid("suggestions", problem));
    }
    if new.people_involved == 0 || new.people_involved > 1_000_000 {
        return Err(TransitionError::invalid(
            "people_involved",
            "must be between 1 and 1000000",
        ));
    }
    if new.parties.len() > 200 {
        return Err(TransitionError::invalid("parties", "at most 200 parties"));
    }
    if matches!(new.kind, CaseKind::Dispute | CaseKind::Petition)
        && !new.parties.iter().any(|p| p.role == PartyRole::Applicant)
    {
        return Err(TransitionError::invalid(
            "parties",
            "a dispute or petition needs at least one applicant",
        ));
    }
    if let Some(c) = new.coordinates {
        if !(-90_000_000..=90_000_000).contains(&c.lat_e6)
            || !(-180_000_000..=180_000_000).contains(&c.lon_e6)
        {
            return Err(TransitionError::invalid("coordinates", "out of range"));
        }
    }
    let mut parties = Vec::with_capacity(new.parties.len());
    let mut personal = Vec::new();
    for (i, p) in new.parties.iter().enumerate() {
        p.check()?;
        let (record, values) = p.split(i as u32 + 1, salt);
        parties.push(record);
        personal.extend(values);
    }
    let rules = refs.rules_at(&new.jurisdiction);
    let birth_dates: Vec<time::Date> = new
        .parties
        .iter()
        .filter_map(|p| p.id_number.as_ref().map(|id| id.birth_date()))
        .collect();
    let text = format!("{}\n{}", new.title, new.description);
    let assessment = crate::risk::assess(
        &rules.policy.risk,
        &crate::risk::RiskFacts {
            category: &new.category,
            text: &text,
            people_involved: new.people_involved,
            birth_dates: &birth_dates,
            repeats: 0,
            escalations: 0,
            today: crate::deadlines::local_date(now),
        },
    );
    let mut risk_reasons = assessment.reasons;
    let risk = match new.risk {
        Some(judged) if judged != assessment.level => {
            risk_reasons.push(crate::risk::RiskReason {
                factor: crate::risk::RiskFactor::Override,
                weight: 0,
                detail: format!(
                    "登记人员判定为{}（按规则计算为{}）",
                    judged.zh(),
                    assessment.level.zh()
                ),
            });
            judged
        }
        _ => assessment.level,
    };
    let acceptance = rules
        .policy
        .deadline_rule(
            new.kind,
            crate::policy::DeadlineStage::Acceptance,
            &new.category,
            None,
        )
        .map(|rule| {
            let d = rules.deadline_from(rule, now);
            AcceptanceDeadline {
                since: now,
                due_at: d.due_at,
                deadline: d.explanation,
                due_soon_permille: rules.policy.due_soon_permille(),
            }
        });
    let registration = Registration {
        number: minted.number,
        receipt_code: minted.receipt_code,
        kind: new.kind,
        channel: new.channel,
        category: new.category.clone(),
        title: new.title.clone(),
        description: new.description.clone(),
        location: Location {
            jurisdiction: new.jurisdiction.clone(),
            address: new.address.clone(),
            coordinates: new.coordinates,
        },
        people_involved: new.people_involved,
        parties,
        risk,
        risk_reasons,
        policy_version: rules.policy.version.clone(),
        level: jurisdiction.level.handling(),
        possible_repeats,
        acceptance,
        suggestions: new.suggestions.clone(),
    };
    let event = Event {
        case_id: minted.id,
        seq: 1,
        at: now,
        actor,
        kind: EventKind::Registered(Box::new(registration)),
    };
    Ok((event, personal))
}

fn require_future(
    field: &'static str,
    due: Timestamp,
    now: Timestamp,
) -> Result<(), TransitionError> {
    if due <= now {
        return Err(TransitionError::invalid(field, "must be in the future"));
    }
    Ok(())
}

/// Longest single extension: the petition rules allow 30 days, mediation
/// practice no more; anything longer is a new assignment, not an extension.
pub const MAX_EXTENSION_DAYS: u32 = 30;

/// Judges a command against the case as it stands. Returns the one event that
/// records it, or why it is refused. Never mutates.
pub fn decide(
    case: &Case,
    command: &Command,
    actor: &Actor,
    now: Timestamp,
    refs: &dyn Reference,
) -> Result<Event, TransitionError> {
    let state = case.state();
    let name = command.name();
    if !command.action().allowed_in(state) {
        return Err(TransitionError::illegal(name, case));
    }
    let kind = match command {
        Command::Accept { note } => EventKind::Accepted { note: note.clone() },
        Command::Decline { reason } => EventKind::Declined {
            reason: reason.clone(),
        },
        Command::Assign {
            body,
            due_at,
            complexity,
            reason,
        } => {
            let b = refs
                .body(body)
                .ok_or_else(|| TransitionError::UnknownBody(body.to_string()))?;
            if !b.takes(&case.category) {
                return Err(TransitionError::invalid(
                    "body",
                    format!("{} does not take category {}", b.name, case.category),
                ));
            }
            let (due_at, deadline) = match due_at {
                Some(due) => {
                    require_future("due_at", *due, now)?;
                    (*due, None)
                }
                None => {
                    let rules = refs.rules_at(&case.location.jurisdiction);
                    // A case under review 复查/复核 runs on the review rule
                    // where the policy has one.
                    let rule_for = |stage| {
                        rules
                            .policy
                            .deadline_rule(case.kind, stage, &case.category, *complexity)
                    };
                    let review = case
                        .review
                        .and_then(|_| rule_for(crate::policy::DeadlineStage::Review));
                    let rule = review
                        .or_else(|| rule_for(crate::policy::DeadlineStage::Handling))
                        .ok_or_else(|| {
                            TransitionError::invalid(
                                "due_at",
                                "no deadline rule of the policy applies (give a complexity or a due_at)",
                            )
                        })?;
                    // The statutory time runs from acceptance (or the
                    // review request), not from whenever a body is found.
                    let d = rules.deadline_from(rule, case.handling_from.unwrap_or(now));
                    (d.due_at, Some(d.explanation))
                }
            };
            let proposal = refs.propose_route(case);
            let followed = proposal.as_ref().is_some_and(|p| &p.body.code == body);
            let routing = RoutingRecord {
                proposed_body: proposal.as_ref().map(|p| p.body.code.clone()),
                proposed_level: proposal.as_ref().map(|p| p.level),
                followed,
                reasons: proposal.map(|p| p.reasons).unwrap_or_default(),
                override_reason: if followed { None } else { reason.clone() },
            };
            let rules = refs.rules_at(&case.location.jurisdiction);
            EventKind::Assigned {
                body: body.clone(),
                due_at,
                deadline,
                due_soon_permille: Some(rules.policy.due_soon_permille()),
                routing: Some(routing),
                policy_version: rules.policy.version.clone(),
            }
        }
        Command::SignFor {} => EventKind::SignedFor,
        Command::Return { reason } => EventKind::Returned {
            reason: reason.clone(),
        },
        Command::Note { text } => EventKind::NoteAdded { text: text.clone() },
        Command::MediationSession {
            held_at,
            mediators,
            place,
            summary,
        } => {
            if mediators.is_empty() {
                return Err(TransitionError::invalid(
                    "mediators",
                    "name at least one mediator",
                ));
            }
            if *held_at > now {
                return Err(TransitionError::invalid(
                    "held_at",
                    "a session is recorded after it is held",
                ));
            }
            EventKind::MediationSessionHeld {
                held_at: *held_at,
                mediators: mediators.clone(),
                place: place.clone(),
                summary: summary.clone(),
            }
        }
        Command::Pause { reason } => EventKind::Paused {
            reason: reason.clone(),
        },
        Command::Resume { note } => {
            let Stage::InProgress(Handling {
                paused: Some(p),
                assignment,
                ..
            }) = &case.stage
            else {
                return Err(TransitionError::illegal(name, case));
            };
            let paused = now.minus(&p.since).max(Duration::ZERO);
            // A policy deadline counts the pause in its own kind of days
            // (working days stay working days); a hand-set one moves by
            // the time the clock stood still.
            let (new_due_at, deadline) = match &assignment.deadline {
                Some(expl) => {
                    let span = crate::deadlines::PauseSpan {
                        since: p.since,
                        until: now,
                    };
                    let cal = &refs.rules_at(&case.location.jurisdiction).calendar;
                    let days = crate::deadlines::paused_days(cal, expl.count, &span);
                    let d = expl.adjusted(cal, days, 0);
                    (d.due_at, Some(d.explanation))
                }
                None => (assignment.due_at.plus(paused), None),
            };
            EventKind::Resumed {
                note: note.clone(),
                paused_ms: paused.whole_milliseconds() as i64,
                new_due_at,
                deadline,
            }
        }
        Command::RequestExtension { days, reason } => {
            if let Stage::InProgress(h) = &case.stage {
                if h.pending_extension.is_some() {
                    return Err(TransitionError::invalid(
                        "extension",
                        "an extension request is already pending",
                    ));
                }
            }
            if *days == 0 || *days > MAX_EXTENSION_DAYS {
                return Err(TransitionError::invalid(
                    "days",
                    format!("must be between 1 and {MAX_EXTENSION_DAYS}"),
                ));
            }
            // A policy deadline carries its rule's limits (信访: once, by
            // up to 30 days).
            if let Some(expl) = case.stage.assignment().and_then(|a| a.deadline.as_ref()) {
                if let Some(limit) = expl.max_extensions {
                    if case.extensions_granted >= limit {
                        return Err(TransitionError::invalid(
                            "extension",
                            format!(
                                "the deadline rule allows {limit} extension(s), already granted"
                            ),
                        ));
                    }
                }
                if let Some(max_days) = expl.max_extension_days {
                    if *days > max_days {
                        return Err(TransitionError::invalid(
                            "days",
                            format!("the deadline rule allows at most {max_days} days"),
                        ));
                    }
                }
            }
            EventKind::ExtensionRequested {
                days: *days,
                reason: reason.clone(),
            }
        }
        Command::ApproveExtension { note } => {
            let h = pending_extension(case, name)?;
            let ext = h
                .pending_extension
                .as_ref()
                .expect("checked by pending_extension");
            let (new_due_at, deadline) = match &h.assignment.deadline {
                Some(expl) => {
                    let d = expl.adjusted(
                        &refs.rules_at(&case.location.jurisdiction).calendar,
                        0,
                        ext.days,
                    );
                    (d.due_at, Some(d.explanation))
                }
                None => (
                    h.assignment
                        .due_at
                        .plus(Duration::days(i64::from(ext.days))),
                    None,
                ),
            };
            EventKind::ExtensionApproved {
                days: ext.days,
                new_due_at,
                note: note.clone(),
                deadline,
            }
        }
        Command::RejectExtension { reason } => {
            pending_extension(case, name)?;
            EventKind::ExtensionRejected {
                reason: reason.clone(),
            }
        }
        Command::Conclude {
            outcome,
            summary,
            agreement,
        } => {
            match (outcome, agreement) {
                (Outcome::Mediated, None) => {
                    return Err(TransitionError::invalid(
                        "agreement",
                        "a mediated conclusion needs the mediation agreement's text",
                    ))
                }
                (o, Some(_)) if *o != Outcome::Mediated => {
                    return Err(TransitionError::invalid(
                        "agreement",
                        "only a mediated conclusion carries an agreement",
                    ))
                }
                _ => {}
            }
            let on_time = case.stage.assignment().is_some_and(|a| now <= a.due_at);
            EventKind::Concluded {
                outcome: *outcome,
                summary: summary.clone(),
                agreement: agreement.clone(),
                on_time,
            }
        }
        Command::FollowUp { satisfaction, note } => EventKind::FollowedUp {
            satisfaction: *satisfaction,
            note: note.clone(),
        },
        Command::RequestReview { reason } => {
            let stage = match case.review {
                None => ReviewStage::Review,
                Some(ReviewStage::Review) => ReviewStage::ReReview,
                Some(ReviewStage::ReReview) => {
                    return Err(TransitionError::invalid(
                        "review",
                        "a re-review (复核) is final; no further review",
                    ))
                }
            };
            let to_level = case.level.up().ok_or_else(|| {
                TransitionError::invalid("review", "the case is already at the city level")
            })?;
            // The person may ask within the policy's window after the answer.
            let rules = refs.rules_at(&case.location.jurisdiction);
            if let (Some(rule), Some(c)) = (
                rules.policy.deadline_rule(
                    case.kind,
                    crate::policy::DeadlineStage::ReviewRequest,
                    &case.category,
                    None,
                ),
                &case.conclusion,
            ) {
                let window = rules.deadline_from(rule, c.concluded_at);
                if now > window.due_at {
                    return Err(TransitionError::invalid(
                        "review",
                        format!(
                            "the window for asking a review closed: {}",
                            window.explanation.text_zh()
                        ),
                    ));
                }
            }
            EventKind::ReviewRequested {
                stage,
                reason: reason.clone(),
                to_level,
            }
        }
        Command::Escalate { reason } => {
            let to_level = case.level.up().ok_or_else(|| {
                TransitionError::invalid("level", "the case is already at the city level")
            })?;
            EventKind::Escalated {
                from_level: case.level,
                to_level,
                reason: reason.clone(),
            }
        }
        Command::Supervise { listed, note } => EventKind::Supervised {
            listed: *listed,
            note: note.clone(),
        },
        Command::AssignLeader { leader, note } => EventKind::LeaderAssigned {
            leader: leader.clone(),
            note: note.clone(),
        },
        Command::Merge { into, reason } => {
            if *into == case.id {
                return Err(TransitionError::invalid(
                    "into",
                    "a case cannot be merged into itself",
                ));
            }
            EventKind::MergedInto {
                into: *into,
                reason: reason.clone(),
            }
        }
        Command::LinkRepeat { repeat } => {
            if *repeat == case.id || case.repeats.contains(repeat) {
                return Err(TransitionError::invalid("repeat", "already linked"));
            }
            EventKind::RepeatLinked { repeat: *repeat }
        }
        Command::Refer { agency, reason } => EventKind::Referred {
            agency: agency.clone(),
            reason: reason.clone(),
        },
        Command::Archive { note } => EventKind::Archived { note: note.clone() },
        Command::SetRisk { level, reason } => EventKind::RiskSet {
            level: *level,
            reason: reason.clone(),
        },
        Command::AddAttachment(a) => EventKind::AttachmentAdded(a.clone()),
    };
    Ok(Event {
        case_id: case.id,
        seq: case.version + 1,
        at: now,
        actor: actor.clone(),
        kind,
    })
}

fn pending_extension<'a>(
    case: &'a Case,
    name: &'static str,
) -> Result<&'a Handling, TransitionError> {
    match &case.stage {
        Stage::InProgress(h) if h.pending_extension.is_some() => Ok(h),
        Stage::InProgress(_) => Err(TransitionError::invalid(
            "extension",
            "there is no pending extension request",
        )),
        _ => Err(TransitionError::illegal(name, case)),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("event {seq}: history must start with a registration")]
    NotRegistered { seq: u64 },
    #[error("event {seq}: a case is registered only once")]
    RegisteredTwice { seq: u64 },
    #[error("event {seq} follows version {version}: sequence broken")]
    Sequence { seq: u64, version: u64 },
    #[error("event {seq} belongs to another case")]
    WrongCase { seq: u64 },
    #[error("event {seq} ({event}) cannot apply to a case that is {state}")]
    Inapplicable {
        seq: u64,
        event: &'static str,
        state: CaseState,
    },
}

/// Folds an event into the case. Only shape is checked here (the event must
/// fit the stage); rules were judged by `decide` when the event was made.
pub fn apply(case: Option<Case>, event: &Event) -> Result<Case, ReplayError> {
    let seq = event.seq;
    let mut case = match (case, &event.kind) {
        (None, EventKind::Registered(r)) => {
            if seq != 1 {
                return Err(ReplayError::Sequence { seq, version: 0 });
            }
            let r = r.as_ref().clone();
            return Ok(Case {
                id: event.case_id,
                number: r.number,
                receipt_code: r.receipt_code,
                kind: r.kind,
                channel: r.channel,
                category: r.category,
                title: r.title,
                description: r.description,
                location: r.location,
                people_involved: r.people_involved,
                parties: r.parties,
                risk: r.risk,
                risk_reasons: r.risk_reasons,
                level: r.level,
                watch: r
                    .acceptance
                    .as_ref()
                    .map(|a| fresh_watch(a.time_limit(), event.at)),
                stage: Stage::Registered {
                    acceptance: r.acceptance,
                },
                conclusion: None,
                follow_up: None,
                review: None,
                extensions_granted: 0,
                handling_from: None,
                supervision: Supervision::default(),
                leader: None,
                repeats: Vec::new(),
                possible_repeats: r.possible_repeats,
                suggestions: r.suggestions,
                handled_by: None,
                handler: None,
                returned: None,
                attachments: Vec::new(),
                mediation_sessions: 0,
                escalations: 0,
                registered_at: event.at,
                registered_by: event.actor.to_string(),
                updated_at: event.at,
                version: 1,
            });
        }
        (None, _) => return Err(ReplayError::NotRegistered { seq }),
        (Some(_), EventKind::Registered(_)) => return Err(ReplayError::RegisteredTwice { seq }),
        (Some(c), _) => c,
    };
    if event.case_id != case.id {
        return Err(ReplayError::WrongCase { seq });
    }
    if seq != case.version + 1 {
        return Err(ReplayError::Sequence {
            seq,
            version: case.version,
        });
    }
    let inapplicable = |case: &Case| ReplayError::Inapplicable {
        seq,
        event: event.kind.name(),
        state: case.state(),
    };
    let at = event.at;
    let body_before = case.handled_by.clone();
    match &event.kind {
        EventKind::Registered(_) => unreachable!("handled above"),
        EventKind::Accepted { .. } => {
            case.stage = Stage::Accepted;
            case.handling_from = Some(at);
        }
        EventKind::Declined { reason } => {
            case.stage = Stage::Declined {
                reason: reason.clone(),
            }
        }
        EventKind::Assigned {
            body,
            due_at,
            deadline,
            due_soon_permille,
            ..
        } => {
            let a = Assignment {
                body: body.clone(),
                assigned_at: at,
                due_at: *due_at,
                deadline: deadline.clone(),
                due_soon_permille: *due_soon_permille,
            };
            case.watch = Some(fresh_watch(a.time_limit(), at));
            case.handled_by = Some(a.body.clone());
            case.stage = Stage::Assigned(a);
        }
        EventKind::SignedFor => {
            let Stage::Assigned(a) = &case.stage else {
                return Err(inapplicable(&case));
            };
            case.stage = Stage::InProgress(Handling {
                assignment: a.clone(),
                signed_at: at,
                signed_by: Some(event.actor.to_string()),
                paused: None,
                pending_extension: None,
            });
            case.handler = Some(event.actor.to_string());
        }
        EventKind::Returned { reason } => {
            case.returned = case.handled_by.take().map(|by| crate::case::Returned {
                by,
                at,
                reason: reason.clone(),
            });
            case.stage = Stage::Accepted;
        }
        EventKind::NoteAdded { .. } => {}
        EventKind::MediationSessionHeld { .. } => case.mediation_sessions += 1,
        EventKind::Paused { reason } => {
            let Stage::InProgress(h) = &mut case.stage else {
                return Err(inapplicable(&case));
            };
            h.paused = Some(Pause {
                since: at,
                reason: reason.clone(),
            });
        }
        EventKind::Resumed {
            new_due_at,
            deadline,
            ..
        } => {
            let Stage::InProgress(h) = &mut case.stage else {
                return Err(inapplicable(&case));
            };
            h.paused = None;
            h.assignment.due_at = *new_due_at;
            if deadline.is_some() {
                h.assignment.deadline = deadline.clone();
            }
            case.watch = Some(fresh_watch(h.assignment.time_limit(), at));
        }
        EventKind::ExtensionRequested { days, reason } => {
            let Stage::InProgress(h) = &mut case.stage else {
                return Err(inapplicable(&case));
            };
            h.pending_extension = Some(ExtensionRequest {
                days: *days,
                reason: reason.clone(),
                requested_at: at,
            });
        }
        EventKind::ExtensionApproved {
            new_due_at,
            deadline,
            ..
        } => {
            let Stage::InProgress(h) = &mut case.stage else {
                return Err(inapplicable(&case));
            };
            h.pending_extension = None;
            h.assignment.due_at = *new_due_at;
            if deadline.is_some() {
                h.assignment.deadline = deadline.clone();
            }
            case.watch = Some(fresh_watch(h.assignment.time_limit(), at));
            case.extensions_granted += 1;
        }
        EventKind::ExtensionRejected { .. } => {
            let Stage::InProgress(h) = &mut case.stage else {
                return Err(inapplicable(&case));
            };
            h.pending_extension = None;
        }
        EventKind::Concluded {
            outcome,
            summary,
            agreement,
            on_time,
        } => {
            case.conclusion = Some(Conclusion {
                outcome: *outcome,
                summary: summary.clone(),
                agreement: agreement.clone(),
                concluded_at: at,
                on_time: *on_time,
            });
            case.follow_up = None;
            case.stage = Stage::Concluded;
        }
        EventKind::FollowedUp { satisfaction, note } => {
            case.follow_up = Some(FollowUp {
                satisfaction: *satisfaction,
                note: note.clone(),
                at,
            });
            case.stage = Stage::FollowedUp;
        }
        EventKind::ReviewRequested {
            stage, to_level, ..
        } => {
            case.review = Some(*stage);
            case.level = *to_level;
            case.stage = Stage::Accepted;
            case.handling_from = Some(at);
            case.handled_by = None;
        }
        EventKind::Escalated { to_level, .. } => {
            case.level = *to_level;
            case.escalations += 1;
            if case.state() != CaseState::Registered {
                case.stage = Stage::Accepted;
                case.handled_by = None;
            }
        }
        EventKind::Supervised { listed, .. } => {
            case.supervision.count += 1;
            case.supervision.listed |= *listed;
        }
        EventKind::LeaderAssigned { leader, .. } => case.leader = Some(leader.clone()),
        EventKind::MergedInto { into, .. } => case.stage = Stage::Merged { into: *into },
        EventKind::RepeatLinked { repeat } => case.repeats.push(*repeat),
        EventKind::Referred { agency, .. } => {
            case.stage = Stage::Referred {
                agency: agency.clone(),
            }
        }
        EventKind::Archived { .. } => case.stage = Stage::Archived,
        EventKind::RiskSet { level, reason } => {
            case.risk = *level;
            // An override is kept beside the computed reasons, replacing
            // only an earlier override.
            case.risk_reasons
                .retain(|r| r.factor != crate::risk::RiskFactor::Override);
            case.risk_reasons.push(crate::risk::RiskReason {
                factor: crate::risk::RiskFactor::Override,
                weight: 0,
                detail: format!("人工调整为{}：{reason}", level.zh()),
            });
        }
        EventKind::AttachmentAdded(a) => case.attachments.push(a.clone()),
        EventKind::SignalChanged { to, due_at, .. } => {
            let escalations = case.watch_for(*due_at).map_or(0, |w| w.escalations);
            case.watch = Some(SignalWatch {
                due_at: *due_at,
                signal: *to,
                escalations,
            });
        }
        EventKind::AutoEscalated {
            to_level, cause, ..
        } => {
            case.level = *to_level;
            if let crate::escalation::EscalationCause::Overdue { due_at, step, .. } = cause {
                // A catch-up step counts every rung it stands for.
                let before = case.watch_for(*due_at).map_or(0, |w| w.escalations);
                let rungs = step.saturating_sub(before).max(1);
                case.escalations += rungs;
                case.supervision.count += rungs;
                case.watch = Some(SignalWatch {
                    due_at: *due_at,
                    signal: DeadlineSignal::Overdue,
                    escalations: *step,
                });
            }
        }
        EventKind::RiskRecomputed { level, reasons, .. } => {
            case.risk = *level;
            case.risk_reasons = reasons.clone();
        }
    }
    // Returned stays on a case only while it waits to be routed again.
    if case.state() != CaseState::Accepted {
        case.returned = None;
    }
    // A handler handles for their body: routed elsewhere (or back for
    // routing), the case is no longer theirs.
    if case.handled_by != body_before {
        case.handler = None;
    }
    case.version = seq;
    case.updated_at = at.max(case.updated_at);
    Ok(case)
}

/// What the rules do by themselves after `last` was recorded on `case`: the
/// risk is recomputed when the facts it counts change, and a red case below
/// the county is raised to it. Returns one event at a time; the caller
/// applies it and asks again (a bounded number of times: each step moves
/// the case to a state where it no longer applies).
pub fn consequence(
    case: &Case,
    last: &EventKind,
    rules: &crate::policy::Rules,
) -> Option<EventKind> {
    let new_facts = matches!(
        last,
        EventKind::RepeatLinked { .. }
            | EventKind::Escalated { .. }
            | EventKind::AutoEscalated {
                cause: crate::escalation::EscalationCause::Overdue { .. },
                ..
            }
    );
    if new_facts && case.state().is_open() {
        if let Some(a) = crate::risk::recompute(case, &rules.policy.risk) {
            return Some(EventKind::RiskRecomputed {
                level: a.level,
                score: a.score,
                reasons: a.reasons,
                policy_version: rules.policy.version.clone(),
            });
        }
    }
    crate::escalation::red_escalation(case, rules)
}

/// The engine's record as of a new or moved deadline: whatever the signal
/// is at that moment, with no ladder step taken yet.
fn fresh_watch(limit: TimeLimit, at: Timestamp) -> SignalWatch {
    SignalWatch {
        due_at: limit.due_at,
        signal: limit.signal_at(at),
        escalations: 0,
    }
}

/// The case registering `new` would make, judged by the registration's own
/// rules without writing anything: for an import that checks every record
/// before it writes one, and for the intake desk that shows the risk, the
/// routing and the deadline while the clerk types. Its id, number and
/// receipt code are placeholders, and no repeats are looked for.
pub fn dry_register(
    new: &NewCase,
    actor: Actor,
    now: Timestamp,
    refs: &dyn Reference,
) -> Result<Case, TransitionError> {
    let minted = Minted {
        id: CaseId(uuid::Uuid::nil()),
        number: "dry-run".into(),
        receipt_code: "dry-run".into(),
    };
    let mut salt = || [0u8; 16];
    let (event, _) = register(new, minted, actor, now, refs, &mut salt, Vec::new())?;
    apply(None, &event).map_err(|e| TransitionError::invalid("case", e.to_string()))
}

/// Rebuilds a case from its whole history.
pub fn replay<'a>(
    events: impl IntoIterator<Item = &'a Event>,
) -> Result<Option<Case>, ReplayError> {
    let mut case = None;
    for e in events {
        case = Some(apply(case, e)?);
    }
    Ok(case)
}
