//! Plain data passed between the ledger and a backend.

use jiefen_domain::case::{
    Case, CaseId, CaseKind, CaseState, Channel, DeadlineSignal, RiskLevel, Stage,
};
use jiefen_domain::inbox::{Notice, NoticeKind};
use jiefen_domain::party::PersonalFieldKind;
use jiefen_domain::policy::EscalationLadder;
use jiefen_domain::repeats::IdentityHash;
use jiefen_domain::Timestamp;
use jiefen_ledger::hash::Hash;
use jiefen_ledger::merkle::Subtree;

/// One stored event: the hashed body and where it sits in chain and log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub case_id: CaseId,
    pub seq: u64,
    pub leaf_index: u64,
    pub at_ms: i64,
    pub actor: String,
    pub kind: String,
    /// Canonical JSON, exactly as hashed.
    pub body: String,
    pub prev_hash: Hash,
    pub hash: Hash,
}

/// Which parts of an event's body are people's own words (a note, a
/// reason, a summary, a place), worth showing and finding.
const PEOPLES_WORDS: [&str; 6] = ["note", "reason", "text", "summary", "place", "agency"];

/// The parts of an event's body its row used to store apart.
#[derive(serde::Deserialize)]
struct EventHead {
    actor: String,
    at: Timestamp,
    #[serde(rename = "type")]
    kind: String,
}

impl EventRow {
    /// The event as stored: its row keeps the case, seq, place in the log,
    /// body and hash; its time, actor and type are read from the body, and
    /// `prev_hash` is the hash of the case's previous event (zero for the
    /// first), which the caller knows from reading them in order.
    pub fn stored(
        case_id: CaseId,
        seq: u64,
        leaf_index: u64,
        body: String,
        prev_hash: Hash,
        hash: Hash,
    ) -> Result<Self, String> {
        let head: EventHead = serde_json::from_str(&body)
            .map_err(|e| format!("event {case_id}/{seq}: body is not an event: {e}"))?;
        Ok(EventRow {
            case_id,
            seq,
            leaf_index,
            at_ms: head.at.unix_millis(),
            actor: head.actor,
            kind: head.kind,
            body,
            prev_hash,
            hash,
        })
    }

    /// What people wrote into this event, in the body's order.
    pub fn peoples_words(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Ok(body) = serde_json::from_str::<serde_json::Value>(&self.body) {
            collect_words(&body, &mut out);
        }
        out
    }
}

fn collect_words(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match v {
                    serde_json::Value::String(s) if PEOPLES_WORDS.contains(&key.as_str()) => {
                        out.push(s.clone())
                    }
                    _ => collect_words(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_words(i, out)),
        _ => {}
    }
}

/// The seq of the first event of a case's `rows` (in seq order) that does
/// not continue the hash chain: its `prev_hash` is not the previous
/// event's hash (zero for the first), or its hash is not that of its
/// `prev_hash` and body. `None` when the whole chain holds.
pub fn first_broken_link(rows: &[EventRow]) -> Option<u64> {
    let mut prev = Hash::ZERO;
    for r in rows {
        if r.prev_hash != prev
            || jiefen_ledger::chain::event_hash(&prev, r.body.as_bytes()) != r.hash
        {
            return Some(r.seq);
        }
        prev = r.hash;
    }
    None
}

/// The projection row of a case: filter columns plus the whole case as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    pub id: CaseId,
    pub number: String,
    pub receipt_code: String,
    pub kind: &'static str,
    pub channel: &'static str,
    pub category: String,
    pub jurisdiction: String,
    pub jpath: String,
    pub state: &'static str,
    pub risk: &'static str,
    pub level: &'static str,
    /// The body handling the case or that concluded it (`Case::handled_by`).
    pub body: Option<String>,
    pub assigned_at_ms: Option<i64>,
    pub due_at_ms: Option<i64>,
    pub due_soon_at_ms: Option<i64>,
    /// A paused clock freezes the signal; stored so filters can use it.
    pub paused_signal: Option<&'static str>,
    /// When the deadline engine next needs to look at the case.
    pub watch_at_ms: Option<i64>,
    /// Open and red: listed before everything else in every queue.
    pub urgent: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub version: u64,
    pub head_hash: Hash,
    pub state_json: String,
    /// Resolved, on time, satisfied, repeat: what the case counts towards.
    pub figures: jiefen_domain::case::CaseFigures,
    /// The registering account (`Case::registered_by`).
    pub registered_by: String,
    /// Sent back by its body and waiting to be routed again.
    pub returned: bool,
    /// Who signed for it for its body (`Case::handler`).
    pub handler: Option<String>,
}

impl CaseRow {
    pub fn from_case(
        case: &Case,
        head_hash: Hash,
        jpath: String,
        ladder: &EscalationLadder,
    ) -> Self {
        let IndexedColumns {
            jpath,
            state,
            body,
            due_at_ms,
            urgent,
        } = IndexedColumns::of(case, jpath);
        let assignment = case.stage.assignment();
        let paused_signal = match &case.stage {
            Stage::InProgress(h) if h.paused.is_some() => case
                .deadline_signal(case.updated_at)
                .map(DeadlineSignal::as_str),
            _ => None,
        };
        let due_soon_at_ms = case
            .stage
            .time_limit()
            .map(|l| l.due_soon_at().unix_millis());
        let watch_at_ms =
            jiefen_domain::escalation::next_check(case, ladder).map(|t| t.unix_millis());
        Self {
            id: case.id,
            number: case.number.clone(),
            receipt_code: case.receipt_code.clone(),
            kind: case.kind.as_str(),
            channel: case.channel.as_str(),
            category: case.category.to_string(),
            jurisdiction: case.location.jurisdiction.to_string(),
            jpath,
            state,
            risk: case.risk.as_str(),
            level: case.level.as_str(),
            body,
            assigned_at_ms: assignment.map(|a| a.assigned_at.unix_millis()),
            due_at_ms,
            due_soon_at_ms,
            paused_signal,
            watch_at_ms,
            urgent,
            created_at_ms: case.registered_at.unix_millis(),
            updated_at_ms: case.updated_at.unix_millis(),
            version: case.version,
            head_hash,
            state_json: serde_json::to_string(case).expect("a case always serialises"),
            figures: case.figures(),
            registered_by: case.registered_by.clone(),
            returned: case.returned.is_some(),
            handler: case.handler.clone(),
        }
    }
}

/// The projection columns the list indexes are keyed on (besides `id`,
/// `number` and `receipt_code`, which never change). An update that leaves
/// them as they were need touch no index but the engine's: most writes
/// (every deadline-engine step) change only the case's JSON, version, head
/// and watch time, and rewriting five index entries per case at random
/// places was most of a tick's cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedColumns {
    pub jpath: String,
    pub state: &'static str,
    pub body: Option<String>,
    pub due_at_ms: Option<i64>,
    pub urgent: bool,
}

impl IndexedColumns {
    pub fn of(case: &Case, jpath: String) -> Self {
        Self {
            jpath,
            state: case.state().as_str(),
            body: case.handled_by.as_ref().map(|b| b.to_string()),
            due_at_ms: due_at_ms(case),
            urgent: case.is_urgent(),
        }
    }

    /// Whether `row` has these values in its indexed columns.
    fn match_row(&self, row: &CaseRow) -> bool {
        self.jpath == row.jpath
            && self.state == row.state
            && self.body == row.body
            && self.due_at_ms == row.due_at_ms
            && self.urgent == row.urgent
    }
}

/// How a batch writes a case's projection row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowWrite {
    Insert,
    /// An existing row whose indexed columns change.
    Update,
    /// An existing row whose indexed columns stay as they were.
    UpdateUnindexed,
}

impl RowWrite {
    /// `loaded` holds the indexed columns of the row as it was read, or
    /// `None` for a case this batch registers.
    pub fn for_row(row: &CaseRow, loaded: Option<&IndexedColumns>) -> Self {
        match loaded {
            None => RowWrite::Insert,
            Some(before) if before.match_row(row) => RowWrite::UpdateUnindexed,
            Some(_) => RowWrite::Update,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRow {
    pub key: String,
    pub fingerprint: Hash,
    pub response: String,
    pub created_at_ms: i64,
}

/// A personal value as stored: sealed under its party's data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedValue {
    pub party_no: u32,
    pub field: PersonalFieldKind,
    pub sealed: String,
    pub commitment: Hash,
}

/// A party's data key as stored: wrapped by the master key, or gone once
/// the party's data was erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyKeyRow {
    pub party_no: u32,
    pub wrapped: Option<Vec<u8>>,
    pub erased_at_ms: Option<i64>,
}

/// What merging one page of a key export into a store did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct KeyMerge {
    /// Keys put back for parties whose key was missing.
    pub restored: u64,
    /// Parties erased here because the export records their erasure.
    pub erased: u64,
    /// Rows left alone: the store already had them, or does not hold the case.
    pub unchanged: u64,
}

impl std::ops::AddAssign for KeyMerge {
    fn add_assign(&mut self, other: Self) {
        self.restored += other.restored;
        self.erased += other.erased;
        self.unchanged += other.unchanged;
    }
}

/// Everything one batch writes, in the order it must be written.
#[derive(Debug, Default)]
pub struct WritePlan {
    pub events: Vec<EventRow>,
    /// Final projection of every case the batch touched, and how to write it.
    pub cases: Vec<(CaseRow, RowWrite)>,
    /// The log's inner nodes the batch completes (leaves are its events').
    pub nodes: Vec<(Subtree, Hash)>,
    /// Personal values, sealed (see [`crate::vault`]).
    pub personal: Vec<(CaseId, SealedValue)>,
    /// The wrapped data keys of the parties registered in this batch.
    pub party_keys: Vec<(CaseId, PartyKeyRow)>,
    pub idempotency: Vec<IdempotencyRow>,
    pub counters: Vec<(String, i64)>,
    pub log_size: u64,
    /// Inbox notices derived from this batch's events.
    pub notices: Vec<Notice>,
    /// Keyed identities of the cases this batch registers.
    pub identities: Vec<(CaseId, IdentityHash, i64)>,
    /// What the batch changes in the figures' tallies.
    pub tallies: Vec<(crate::figures::TallyKey, crate::figures::Counts)>,
}

/// One inbox item as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxItem {
    pub id: i64,
    pub case_id: CaseId,
    /// The event that caused it.
    pub seq: u64,
    pub kind: NoticeKind,
    pub at: Timestamp,
    pub text: String,
    pub read_at: Option<Timestamp>,
    /// The case is open and red: shown first and marked by the UI.
    pub urgent: bool,
}

/// The unread notices of one inbox by kind, each kind counted only up to
/// [`UnreadCounts::LIMIT`]: an inbox nobody marks read grows with every
/// case, and counting a county centre's millions for a badge took most of
/// every page's time at 10M cases. Kinds with nothing unread are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnreadCounts {
    by_kind: Vec<(NoticeKind, u64)>,
    more: bool,
}

impl UnreadCounts {
    /// Beyond this many of one kind, the count says only "more".
    pub const LIMIT: u64 = 999;

    /// From counts of up to `LIMIT + 1` rows per kind, as the stores take
    /// them: one row past the limit is what tells "more" from "exactly".
    pub fn from_counted(counted: impl IntoIterator<Item = (NoticeKind, u64)>) -> Self {
        let mut more = false;
        let mut by_kind: Vec<(NoticeKind, u64)> = counted
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(kind, n)| {
                more |= n > Self::LIMIT;
                (kind, n.min(Self::LIMIT))
            })
            .collect();
        by_kind.sort_by_key(|(kind, _)| kind.as_str());
        Self { by_kind, more }
    }

    /// Sorted by the kind's code.
    pub fn by_kind(&self) -> &[(NoticeKind, u64)] {
        &self.by_kind
    }

    /// The sum of the counts: exact unless [`Self::more`].
    pub fn total(&self) -> u64 {
        self.by_kind.iter().map(|(_, n)| n).sum()
    }

    /// Whether some kind has more unread than its count says.
    pub fn more(&self) -> bool {
        self.more
    }
}

/// A page of one inbox, newest first.
#[derive(Debug, Clone)]
pub struct InboxQuery {
    pub recipient: jiefen_domain::inbox::Recipient,
    pub unread_only: bool,
    pub kind: Option<NoticeKind>,
    /// The smallest id of the previous page.
    pub before: Option<i64>,
    /// Only notices about these cases; empty for all. Indexed for unread
    /// notices (`unread_only`), which is what a page's marks ask for.
    pub cases: Vec<CaseId>,
    pub limit: u32,
}

/// An earlier case found in the identity index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHit {
    pub hash: Hash,
    pub case_id: CaseId,
}

/// Filters of the case list; every one optional, all combined with AND.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Materialised path prefix of a jurisdiction subtree.
    pub jpath_prefix: Option<String>,
    pub kind: Option<CaseKind>,
    pub state: Option<CaseState>,
    /// A first-level code matches its sub-categories too.
    pub category: Option<String>,
    pub body: Option<String>,
    /// Only cases no body handles (waiting to be assigned, or back for
    /// routing).
    pub no_body: bool,
    /// Only cases at exactly this jurisdiction, not below it.
    pub place: Option<String>,
    pub risk: Option<RiskLevel>,
    pub channel: Option<Channel>,
    /// Only cases this account registered.
    pub registered_by: Option<String>,
    /// Only cases this account signed for for its body (`Case::handler`).
    pub handler: Option<String>,
    /// `Some(true)`: only cases sent back by their body and waiting to be
    /// routed again.
    pub returned: Option<bool>,
    pub signal: Option<DeadlineSignal>,
    /// The figures' own filters, so each figure lists exactly its cases.
    pub resolved: Option<bool>,
    pub on_time: Option<bool>,
    /// `Some(false)`: asked and not satisfied; unrated cases match neither.
    pub satisfied: Option<bool>,
    /// Open and overdue as the deadline engine recorded it (the overdue
    /// figure's cases); `signal` compares the deadline with the time
    /// asked instead.
    pub overdue: Option<bool>,
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
    /// What the reader may see at all; ANDed with everything above, so a
    /// filter can narrow a scope but never widen it.
    pub scope: ScopeFilter,
}

/// Which cases a reader may see, in the projection's terms: a subtree's
/// materialised path, a handling body, or nothing. The list query applies
/// it in SQL before anything is counted or paged; [`ScopeFilter::admits`]
/// is the same rule for one row already read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ScopeFilter {
    /// No restriction: the CLI, the engine and other internal readers.
    #[default]
    Everything,
    /// Cases whose path starts with this one (`/341700/341721/`).
    Subtree(String),
    /// Cases this body handles, or handled to their conclusion.
    Body(String),
    Nothing,
}

impl ScopeFilter {
    pub fn admits(&self, jpath: &str, body: Option<&str>) -> bool {
        match self {
            ScopeFilter::Everything => true,
            ScopeFilter::Subtree(prefix) => jpath.starts_with(prefix.as_str()),
            ScopeFilter::Body(b) => body == Some(b.as_str()),
            ScopeFilter::Nothing => false,
        }
    }
}

/// A page of the case list in one order; `after` is where the previous
/// page of the same order ended (ids are UUIDv7, so id order is
/// registration order).
#[derive(Debug, Clone)]
pub struct CaseQuery {
    pub filter: CaseFilter,
    pub order: CaseOrder,
    /// A cursor of `order`'s own kind ([`ListCursor::parse`] makes sure).
    pub after: Option<ListCursor>,
    pub limit: u32,
    /// Deadline signals are relative to now.
    pub now: Timestamp,
}

/// How a case list is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CaseOrder {
    /// Open red cases first, then the newest: what needs a person now.
    #[default]
    Priority,
    Newest,
    Oldest,
    /// The soonest running deadline first (overdue ones the most overdue
    /// first); cases with no deadline running follow, newest first.
    Deadline,
}

impl CaseOrder {
    pub const ALL: &'static [CaseOrder] = &[
        CaseOrder::Priority,
        CaseOrder::Deadline,
        CaseOrder::Newest,
        CaseOrder::Oldest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseOrder::Priority => "priority",
            CaseOrder::Newest => "newest",
            CaseOrder::Oldest => "oldest",
            CaseOrder::Deadline => "deadline",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|o| o.as_str() == s)
    }
}

/// Where a page of a case list ends: the position of its last case in the
/// list's order, so the next page starts right after it however many
/// cases were added meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListCursor {
    Priority {
        urgent: bool,
        id: CaseId,
    },
    /// Newest or oldest first: the id alone places a case.
    Registered {
        id: CaseId,
    },
    /// `due_at_ms` is `None` once the list has reached the cases with no
    /// deadline running.
    Deadline {
        due_at_ms: Option<i64>,
        id: CaseId,
    },
}

impl ListCursor {
    pub fn of(case: &Case, order: CaseOrder) -> Self {
        let id = case.id;
        match order {
            CaseOrder::Priority => ListCursor::Priority {
                urgent: case.is_urgent(),
                id,
            },
            CaseOrder::Newest | CaseOrder::Oldest => ListCursor::Registered { id },
            CaseOrder::Deadline => ListCursor::Deadline {
                due_at_ms: due_at_ms(case),
                id,
            },
        }
    }

    /// A cursor as [`Display`](std::fmt::Display) writes it, for a list in
    /// `order`; one written for another order is refused. Priority:
    /// `r.<id>` after an urgent case, `n.<id>` after any other; newest and
    /// oldest: `i.<id>`; deadline: `d<due ms>.<id>`, or `d.<id>` among the
    /// cases with no deadline running.
    pub fn parse(s: &str, order: CaseOrder) -> Option<Self> {
        let (mark, id) = s.split_once('.')?;
        let id = CaseId::parse(id)?;
        match (order, mark) {
            (CaseOrder::Priority, "r") => Some(ListCursor::Priority { urgent: true, id }),
            (CaseOrder::Priority, "n") => Some(ListCursor::Priority { urgent: false, id }),
            (CaseOrder::Newest | CaseOrder::Oldest, "i") => Some(ListCursor::Registered { id }),
            (CaseOrder::Deadline, mark) => {
                let due = mark.strip_prefix('d')?;
                let due_at_ms = if due.is_empty() {
                    None
                } else {
                    Some(due.parse().ok()?)
                };
                Some(ListCursor::Deadline { due_at_ms, id })
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for ListCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListCursor::Priority { urgent, id } => {
                let mark = if *urgent { "r" } else { "n" };
                write!(f, "{mark}.{id}")
            }
            ListCursor::Registered { id } => write!(f, "i.{id}"),
            ListCursor::Deadline {
                due_at_ms: Some(due),
                id,
            } => write!(f, "d{due}.{id}"),
            ListCursor::Deadline {
                due_at_ms: None,
                id,
            } => write!(f, "d.{id}"),
        }
    }
}

/// The running deadline the projection's `due_at_ms` column holds.
fn due_at_ms(case: &Case) -> Option<i64> {
    case.stage.time_limit().map(|l| l.due_at.unix_millis())
}

/// A case as stored, ready to send: the projection's JSON plus the columns
/// the deadline signal is computed from. Reading a case by id is the hottest
/// path; this keeps it to one indexed read and no JSON parsing.
#[derive(Debug, Clone)]
pub struct CaseDocument {
    pub json: String,
    /// The case's place and body, so its scope is checked without decoding
    /// `json`.
    pub jpath: String,
    pub body: Option<String>,
    pub state: String,
    pub due_at_ms: Option<i64>,
    pub due_soon_at_ms: Option<i64>,
    pub paused_signal: Option<String>,
}

impl CaseDocument {
    pub fn case(&self) -> Result<Case, crate::StoreError> {
        serde_json::from_str(&self.json)
            .map_err(|e| crate::StoreError::Corrupt(format!("case json: {e}")))
    }

    /// The same rule the list filter applies to the same columns.
    pub fn signal(&self, now: Timestamp) -> Option<DeadlineSignal> {
        if let Some(frozen) = &self.paused_signal {
            return DeadlineSignal::parse(frozen);
        }
        let (due, soon) = (self.due_at_ms?, self.due_soon_at_ms?);
        Some(DeadlineSignal::at(
            now,
            Timestamp::from_unix_millis(soon),
            Timestamp::from_unix_millis(due),
        ))
    }

    /// The case JSON with `state` and `deadline_signal` added: the same
    /// document `CaseView` serialises, spliced rather than re-encoded.
    pub fn into_view_json(self, now: Timestamp) -> String {
        let signal = match self.signal(now) {
            Some(s) => format!("\"{}\"", s.as_str()),
            None => "null".to_owned(),
        };
        let mut json = self.json;
        let trimmed = json.trim_end().len();
        json.truncate(trimmed.saturating_sub(1));
        json.push_str(&format!(
            ",\"state\":\"{}\",\"deadline_signal\":{signal}}}",
            self.state
        ));
        json
    }
}
