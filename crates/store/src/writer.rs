//! The single writer: group commit of concurrent commands.
//!
//! Why one writer: the Merkle log is a sequence, every event takes the next
//! leaf index, and a durable commit costs an fsync. One task owning the log
//! frontier can batch every command that arrived while the previous batch was
//! syncing into one transaction — one fsync for many acknowledged writes —
//! without weakening durability. On PostgreSQL the batch also takes a row
//! lock on the log head, so writers in other processes queue behind it.
//!
//! A batch is all-or-nothing in the database. Each command is judged in
//! memory first; a refused command simply adds nothing to the plan. If the
//! database rejects the batch as a whole, every command is retried alone so
//! one bad command cannot fail its neighbours.

use crate::clock::Clock;
use crate::figures::{Standing, TallyDeltas};
use crate::refdata::RefData;
use crate::rows::{
    CaseRow, EventRow, IdempotencyRow, IndexedColumns, PartyKeyRow, RowWrite, SealedValue,
    WritePlan,
};
use crate::vault::{PartyKey, Vault};
use crate::{BatchTx, Store, StoreError};
use jiefen_domain::case::{Case, CaseId};
use jiefen_domain::escalation;
use jiefen_domain::inbox;
use jiefen_domain::lifecycle::{
    self, Actor, Command, Event, EventKind, Minted, NewCase, TransitionError,
};
use jiefen_domain::party::PersonalValue;
use jiefen_domain::repeats::{self, IdentityHash, IdentityKey};
use jiefen_domain::Timestamp;
use jiefen_ledger::canonical::canonical_json;
use jiefen_ledger::chain::event_hash;
use jiefen_ledger::hash::Hash;
use jiefen_ledger::merkle::{frontier_subtrees, leaf_hash, Frontier};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tokio::sync::{mpsc, oneshot};

/// Upper bound on commands per transaction: large enough to amortise the
/// fsync under heavy load, small enough to keep one batch's latency low.
pub const MAX_BATCH: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("case {0} not found")]
    NotFound(CaseId),
    #[error("idempotency key {0:?} was already used for a different request")]
    IdempotencyConflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the writer has stopped")]
    Stopped,
}

/// A client's idempotency key with the fingerprint of the request it came
/// with, so a reused key with a different request is refused, not replayed.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: Hash,
}

/// What a write returns; stored verbatim under its idempotency key so a
/// retry gets exactly the first answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WriteOutcome {
    pub case_id: CaseId,
    pub number: String,
    pub receipt_code: String,
    pub seq: u64,
    pub event: String,
    pub hash: Hash,
    /// True when this answer is the replay of an earlier request.
    #[serde(skip)]
    pub replayed: bool,
}

/// What one tick of the deadline engine did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TickReport {
    /// Cases looked at (those whose watch time had come).
    pub examined: u64,
    /// Events recorded: signal changes, escalations and their consequences.
    pub events: u64,
    pub signal_changes: u64,
    pub escalations: u64,
}

impl TickReport {
    pub fn add(&mut self, other: &TickReport) {
        self.examined += other.examined;
        self.events += other.events;
        self.signal_changes += other.signal_changes;
        self.escalations += other.escalations;
    }
}

pub enum Request {
    Create {
        new: Box<NewCase>,
        actor: Actor,
        idempotency: Option<Idempotency>,
        reply: oneshot::Sender<Result<WriteOutcome, WriteError>>,
    },
    Act {
        case_id: CaseId,
        command: Command,
        actor: Actor,
        idempotency: Option<Idempotency>,
        reply: oneshot::Sender<Result<WriteOutcome, WriteError>>,
    },
    /// The deadline engine's step for these cases at the writer's now.
    Tick {
        ids: Vec<CaseId>,
        reply: oneshot::Sender<Result<TickReport, WriteError>>,
    },
}

/// What a request's handling produced, before it is sent back.
enum Answer {
    Written(WriteOutcome),
    Ticked(TickReport),
}

impl Request {
    fn idempotency(&self) -> Option<&Idempotency> {
        match self {
            Request::Create { idempotency, .. } | Request::Act { idempotency, .. } => {
                idempotency.as_ref()
            }
            Request::Tick { .. } => None,
        }
    }

    fn reply(self, result: Result<Answer, WriteError>) {
        // The caller may have gone away (client disconnected); the write
        // stands either way.
        match self {
            Request::Create { reply, .. } | Request::Act { reply, .. } => {
                let _ = reply.send(result.map(|a| match a {
                    Answer::Written(o) => o,
                    Answer::Ticked(_) => unreachable!("a write answers with an outcome"),
                }));
            }
            Request::Tick { reply, .. } => {
                let _ = reply.send(result.map(|a| match a {
                    Answer::Ticked(r) => r,
                    Answer::Written(_) => unreachable!("a tick answers with a report"),
                }));
            }
        }
    }
}

/// Actor of the events the rules record by themselves after a command
/// (risk recomputed, red raised to the county).
pub const RULES_ACTOR: &str = "system:rules";

/// Bound on the automatic events one command or tick may cause on one case:
/// each step moves the case past the point where it applies, so a few are
/// ever needed; the bound only guards against a rule that never settles.
const MAX_AUTOMATIC: usize = 16;

pub struct Writer {
    store: Arc<dyn Store>,
    refs: Arc<RwLock<Arc<RefData>>>,
    clock: Arc<dyn Clock>,
    identity_key: IdentityKey,
    /// Seals personal data; `None` refuses registrations that carry any.
    vault: Option<Arc<Vault>>,
    /// The log's right edge as of the last commit; reloaded when another
    /// process has appended meanwhile (PostgreSQL) or after a failed batch.
    frontier: Option<Frontier>,
    /// The log size after each commit, for whoever follows the log (the
    /// search index).
    committed: tokio::sync::watch::Sender<u64>,
}

impl Writer {
    pub fn new(
        store: Arc<dyn Store>,
        refs: Arc<RwLock<Arc<RefData>>>,
        clock: Arc<dyn Clock>,
        identity_key: IdentityKey,
        vault: Option<Arc<Vault>>,
        committed: tokio::sync::watch::Sender<u64>,
    ) -> Self {
        Self {
            store,
            refs,
            clock,
            identity_key,
            vault,
            frontier: None,
            committed,
        }
    }

    pub async fn run(mut self, mut rx: mpsc::Receiver<Request>) {
        let mut buf = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut buf, MAX_BATCH).await > 0 {
            let batch = std::mem::take(&mut buf);
            self.process(batch).await;
        }
    }

    async fn process(&mut self, batch: Vec<Request>) {
        match self.try_batch(&batch).await {
            Ok(results) => {
                for (req, res) in batch.into_iter().zip(results) {
                    req.reply(res);
                }
            }
            Err(e) if batch.len() == 1 => {
                self.frontier = None;
                tracing::warn!(error = %e, "write failed");
                if let Some(req) = batch.into_iter().next() {
                    req.reply(Err(e));
                }
            }
            Err(e) => {
                self.frontier = None;
                tracing::warn!(error = %e, size = batch.len(), "batch failed; retrying one by one");
                for req in batch {
                    let res = match self.try_batch(std::slice::from_ref(&req)).await {
                        Ok(mut r) => r.pop().expect("one result per request"),
                        Err(e) => {
                            self.frontier = None;
                            Err(e)
                        }
                    };
                    req.reply(res);
                }
            }
        }
    }

    async fn try_batch(
        &mut self,
        batch: &[Request],
    ) -> Result<Vec<Result<Answer, WriteError>>, WriteError> {
        let now = self.clock.now();
        let started = std::time::Instant::now();
        let refs = self.refs.read().expect("refdata lock poisoned").clone();
        let mut tx = self.store.begin().await?;
        let size = tx.lock_log().await?;
        let frontier = match self.frontier.take() {
            Some(f) if f.size() == size => f,
            _ => load_frontier(tx.as_mut(), size).await?,
        };

        let mut ids: Vec<CaseId> = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        let mut creates = false;
        let mut identities: Vec<Vec<IdentityHash>> = Vec::new();
        for req in batch {
            match req {
                Request::Create { new, .. } => {
                    creates = true;
                    identities.push(repeats::identities(new, &self.identity_key));
                }
                Request::Tick { ids: tick, .. } => ids.extend(tick.iter().copied()),
                Request::Act {
                    case_id, command, ..
                } => {
                    ids.push(*case_id);
                    if let Command::Merge { into, .. } = command {
                        ids.push(*into);
                    }
                }
            }
            if let Some(i) = req.idempotency() {
                keys.push(i.key.clone());
            }
        }
        ids.sort();
        ids.dedup();
        let cases: HashMap<CaseId, (Case, Hash)> = tx
            .load_cases(&ids)
            .await?
            .into_iter()
            .map(|(c, h)| (c.id, (c, h)))
            .collect();
        let idempotency: HashMap<String, IdempotencyRow> = if keys.is_empty() {
            HashMap::new()
        } else {
            tx.load_idempotency(&keys)
                .await?
                .into_iter()
                .map(|r| (r.key.clone(), r))
                .collect()
        };
        let mut wanted: Vec<Hash> = identities.iter().flatten().map(|i| i.hash).collect();
        wanted.sort();
        wanted.dedup();
        let since = refs.rules.policy.repeats.since_ms(now.unix_millis());
        let mut known: HashMap<Hash, Vec<CaseId>> = HashMap::new();
        if !wanted.is_empty() {
            for hit in tx.find_identities(&wanted, since).await? {
                known.entry(hit.hash).or_default().push(hit.case_id);
            }
        }
        let counter_name = format!("case_number:{}", china_year(now));
        let counter = if creates {
            tx.load_counter(&counter_name).await?
        } else {
            0
        };

        let mut work = Batch {
            now,
            refs: refs.clone(),
            vault: self.vault.clone(),
            frontier,
            loaded: cases
                .values()
                .map(|(c, _)| {
                    let jpath = refs.path(&c.location.jurisdiction);
                    let standing = Standing::of_case(c, jpath.clone());
                    (c.id, (IndexedColumns::of(c, jpath), standing))
                })
                .collect(),
            cases,
            dirty: Vec::new(),
            dirty_set: Default::default(),
            idempotency,
            counter,
            counter_name,
            identities: identities.into_iter(),
            known,
            plan: WritePlan::default(),
        };
        let loaded = started.elapsed();
        let results: Vec<_> = batch.iter().map(|req| work.handle(req)).collect();
        let (plan, frontier) = work.finish();
        let judged = started.elapsed();
        tx.write(&plan).await?;
        let written = started.elapsed();
        tx.commit().await?;
        // Where a batch's time goes: reading what it needs, judging in
        // memory, writing, and the commit (the sync). Whole microseconds:
        // a float's long run of digits would look like an ID number to the
        // tests that check the log holds no personal data.
        let micros = |d: std::time::Duration| d.as_micros() as u64;
        tracing::debug!(
            size = batch.len(),
            load_us = micros(loaded),
            judge_us = micros(judged - loaded),
            write_us = micros(written - judged),
            commit_us = micros(started.elapsed() - written),
            "batch committed"
        );
        self.committed.send_replace(frontier.size());
        self.frontier = Some(frontier);
        Ok(results)
    }
}

pub(crate) async fn load_frontier(tx: &mut dyn BatchTx, size: u64) -> Result<Frontier, WriteError> {
    let wanted = frontier_subtrees(size);
    let found = tx.log_nodes(&wanted).await?;
    let nodes = wanted
        .iter()
        .map(|s| {
            found
                .get(s)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("log node {s:?} missing")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Frontier::from_nodes(size, nodes).map_err(|e| StoreError::Corrupt(e.to_string()).into())
}

/// The calendar year in China Standard Time (UTC+8, no daylight saving):
/// case numbers restart each year as the centres count them.
pub fn china_year(now: Timestamp) -> i32 {
    now.as_offset()
        .to_offset(time::UtcOffset::from_hms(8, 0, 0).expect("valid offset"))
        .year()
}

/// Receipt codes are read aloud and typed by citizens: no 0/O, 1/I/L.
const RECEIPT_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

fn receipt_code() -> String {
    let mut rng = rand::thread_rng();
    (0..10)
        .map(|_| RECEIPT_ALPHABET[rng.gen_range(0..RECEIPT_ALPHABET.len())] as char)
        .collect()
}

fn new_case_id(now: Timestamp) -> CaseId {
    let ms = now.unix_millis().max(0) as u64;
    let ts =
        uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, ((ms % 1000) * 1_000_000) as u32);
    CaseId(uuid::Uuid::new_v7(ts))
}

/// The in-memory state of one batch while its commands are judged (and,
/// for a bulk load, of the cases it keeps between batches).
pub(crate) struct Batch {
    pub(crate) now: Timestamp,
    pub(crate) refs: Arc<RefData>,
    vault: Option<Arc<Vault>>,
    pub(crate) frontier: Frontier,
    pub(crate) cases: HashMap<CaseId, (Case, Hash)>,
    /// Cases changed by this batch, in first-touch order (and as a set:
    /// a bulk day touches tens of thousands).
    dirty: Vec<CaseId>,
    dirty_set: std::collections::HashSet<CaseId>,
    /// Cases that exist in the store (loaded at the start of the batch),
    /// with their indexed columns as stored.
    loaded: HashMap<CaseId, (IndexedColumns, Standing)>,
    idempotency: HashMap<String, IdempotencyRow>,
    pub(crate) counter: i64,
    pub(crate) counter_name: String,
    /// The keyed identities of each create of the batch, in order.
    identities: std::vec::IntoIter<Vec<IdentityHash>>,
    /// Earlier cases (within the policy's window) by identity hash,
    /// including those registered earlier in this batch.
    pub(crate) known: HashMap<Hash, Vec<CaseId>>,
    plan: WritePlan,
}

impl Batch {
    /// An empty batch over `frontier`, for a bulk load to fill day by day.
    pub(crate) fn empty(
        now: Timestamp,
        refs: Arc<RefData>,
        vault: Option<Arc<Vault>>,
        frontier: Frontier,
    ) -> Self {
        Self {
            now,
            refs,
            vault,
            frontier,
            cases: HashMap::new(),
            dirty: Vec::new(),
            dirty_set: Default::default(),
            loaded: HashMap::new(),
            idempotency: HashMap::new(),
            counter: 0,
            counter_name: String::new(),
            identities: Vec::new().into_iter(),
            known: HashMap::new(),
            plan: WritePlan::default(),
        }
    }

    fn handle(&mut self, req: &Request) -> Result<Answer, WriteError> {
        if let Some(idem) = req.idempotency() {
            if let Some(row) = self.idempotency.get(&idem.key) {
                if row.fingerprint != idem.fingerprint {
                    return Err(WriteError::IdempotencyConflict(idem.key.clone()));
                }
                let mut out: WriteOutcome = serde_json::from_str(&row.response)
                    .map_err(|e| StoreError::Corrupt(format!("idempotency record: {e}")))?;
                out.replayed = true;
                return Ok(Answer::Written(out));
            }
        }
        let outcome = match req {
            Request::Create { new, actor, .. } => {
                let identities = self.identities.next().unwrap_or_default();
                self.create(new, actor, identities)?
            }
            Request::Act {
                case_id,
                command,
                actor,
                ..
            } => self.act(*case_id, command, actor)?,
            Request::Tick { ids, .. } => return Ok(Answer::Ticked(self.tick(ids))),
        };
        if let Some(idem) = req.idempotency() {
            let row = IdempotencyRow {
                key: idem.key.clone(),
                fingerprint: idem.fingerprint,
                response: serde_json::to_string(&outcome).expect("outcome serialises"),
                created_at_ms: self.now.unix_millis(),
            };
            self.idempotency.insert(idem.key.clone(), row.clone());
            self.plan.idempotency.push(row);
        }
        Ok(Answer::Written(outcome))
    }

    pub(crate) fn create(
        &mut self,
        new: &NewCase,
        actor: &Actor,
        identities: Vec<IdentityHash>,
    ) -> Result<WriteOutcome, WriteError> {
        let number = self.counter + 1;
        let minted = Minted {
            id: new_case_id(self.now),
            number: format!("{}-{:07}", china_year(self.now), number),
            receipt_code: receipt_code(),
        };
        let possible = repeats::matches(&identities, &self.known);
        let mut salt = || rand::random::<[u8; 16]>();
        let (event, personal) = lifecycle::register(
            new,
            minted,
            actor.clone(),
            self.now,
            self.refs.as_ref(),
            &mut salt,
            possible,
        )?;
        let case = lifecycle::apply(None, &event).map_err(internal)?;
        let consequences = self.consequences(&case, &event)?;
        let (sealed, keys) = self.seal(case.id, personal)?;
        // Everything fallible is done: from here the batch state changes.
        self.counter = number;
        let id = case.id;
        for i in identities {
            self.known.entry(i.hash).or_default().push(id);
            self.plan.identities.push((id, i, self.now.unix_millis()));
        }
        let hash = self.record(None, &event, case, Hash::ZERO);
        self.plan
            .personal
            .extend(sealed.into_iter().map(|p| (id, p)));
        self.plan
            .party_keys
            .extend(keys.into_iter().map(|k| (id, k)));
        let outcome = outcome_of(&self.cases[&id].0, &event, hash);
        self.record_all(id, consequences);
        Ok(outcome)
    }

    /// Seals a new case's personal values, each party under a fresh key.
    fn seal(
        &self,
        id: CaseId,
        personal: Vec<PersonalValue>,
    ) -> Result<(Vec<SealedValue>, Vec<PartyKeyRow>), WriteError> {
        if personal.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let vault = self
            .vault
            .as_deref()
            .ok_or(WriteError::Store(StoreError::Locked))?;
        let mut sealed = Vec::with_capacity(personal.len());
        let mut keys = Vec::new();
        let mut party_keys: HashMap<u32, PartyKey> = HashMap::new();
        for p in personal {
            let key = party_keys.entry(p.party_no).or_insert_with(|| {
                let key = Vault::new_party_key();
                keys.push(PartyKeyRow {
                    party_no: p.party_no,
                    wrapped: Some(vault.wrap(&key, id, p.party_no)),
                    erased_at_ms: None,
                });
                key
            });
            sealed.push(SealedValue {
                party_no: p.party_no,
                field: p.field,
                sealed: Vault::seal(key, id, p.party_no, p.field, &p.salt, &p.value),
                commitment: p.commitment,
            });
        }
        Ok((sealed, keys))
    }

    pub(crate) fn act(
        &mut self,
        id: CaseId,
        command: &Command,
        actor: &Actor,
    ) -> Result<WriteOutcome, WriteError> {
        let (case, _) = self.cases.get(&id).ok_or(WriteError::NotFound(id))?;
        let event = lifecycle::decide(case, command, actor, self.now, self.refs.as_ref())?;
        let updated = lifecycle::apply(Some(case.clone()), &event).map_err(internal)?;
        let consequences = self.consequences(&updated, &event)?;
        // A merge also links the repeat on the original, in the same batch.
        let linked = if let Command::Merge { into, .. } = command {
            let (original, _) = self.cases.get(into).ok_or(WriteError::NotFound(*into))?;
            let link = lifecycle::decide(
                original,
                &Command::LinkRepeat { repeat: id },
                actor,
                self.now,
                self.refs.as_ref(),
            )?;
            let linked = lifecycle::apply(Some(original.clone()), &link).map_err(internal)?;
            let more = self.consequences(&linked, &link)?;
            Some((*into, link, linked, more))
        } else {
            None
        };
        let outcome = self.record_all(
            id,
            vec![(event, updated)]
                .into_iter()
                .chain(consequences)
                .collect(),
        );
        if let Some((into, link, linked, more)) = linked {
            self.record_all(into, vec![(link, linked)].into_iter().chain(more).collect());
        }
        Ok(outcome.expect("at least the command's own event"))
    }

    /// The deadline engine's steps for each case, each followed by what the
    /// rules do by themselves. A case with nothing to do is still rewritten,
    /// so its watch time follows the current policy.
    fn tick(&mut self, ids: &[CaseId]) -> TickReport {
        let mut report = TickReport::default();
        let engine = Actor::parse(escalation::ENGINE_ACTOR).expect("valid actor");
        for id in ids {
            let Some((case, _)) = self.cases.get(id) else {
                continue;
            };
            report.examined += 1;
            let mut case = case.clone();
            let mut events = Vec::new();
            for _ in 0..MAX_AUTOMATIC {
                let Some(kind) = escalation::step(
                    &case,
                    self.now,
                    self.refs.rules_at(&case.location.jurisdiction),
                ) else {
                    break;
                };
                match &kind {
                    EventKind::SignalChanged { .. } => report.signal_changes += 1,
                    EventKind::AutoEscalated { .. } => report.escalations += 1,
                    _ => {}
                }
                let event = self.next_event(&case, &engine, kind);
                let Ok(next) = lifecycle::apply(Some(case.clone()), &event) else {
                    tracing::error!(case_id = %id, "deadline engine step does not apply; skipped");
                    break;
                };
                let Ok(more) = self.consequences(&next, &event) else {
                    break;
                };
                case = more.last().map_or(next.clone(), |(_, c)| c.clone());
                events.push((event, next));
                events.extend(more);
            }
            report.events += events.len() as u64;
            if events.is_empty() {
                let (case, head) = self.cases[id].clone();
                self.touch(case, head);
            } else {
                self.record_all(*id, events);
            }
        }
        report
    }

    /// The automatic events the rules add after `event` brought the case to
    /// `case`, each with the case after it. Judged in memory, before
    /// anything of the command is recorded.
    fn consequences(&self, case: &Case, event: &Event) -> Result<Vec<(Event, Case)>, WriteError> {
        // Most events have none: ask before copying anything.
        let Some(mut kind) = lifecycle::consequence(
            case,
            &event.kind,
            self.refs.rules_at(&case.location.jurisdiction),
        ) else {
            return Ok(Vec::new());
        };
        let rules_actor = Actor::parse(RULES_ACTOR).expect("valid actor");
        let mut out: Vec<(Event, Case)> = Vec::new();
        let mut current = case.clone();
        for _ in 0..MAX_AUTOMATIC {
            let e = self.next_event(&current, &rules_actor, kind);
            current = lifecycle::apply(Some(current), &e).map_err(internal)?;
            let next = lifecycle::consequence(
                &current,
                &e.kind,
                self.refs.rules_at(&current.location.jurisdiction),
            );
            out.push((e, current.clone()));
            match next {
                Some(k) => kind = k,
                None => break,
            }
        }
        Ok(out)
    }

    /// An event the rules record by themselves, next in the case's history.
    fn next_event(&self, case: &Case, actor: &Actor, kind: EventKind) -> Event {
        Event {
            case_id: case.id,
            seq: case.version + 1,
            at: self.now,
            actor: actor.clone(),
            kind,
        }
    }

    /// Records a case's events in order; returns the outcome of the first.
    fn record_all(&mut self, id: CaseId, events: Vec<(Event, Case)>) -> Option<WriteOutcome> {
        let mut first = None;
        for (event, after) in events {
            let (before, head) = self.cases.remove(&id).expect("recorded cases are loaded");
            let hash = self.record(Some(&before), &event, after, head);
            if first.is_none() {
                first = Some(outcome_of(&self.cases[&id].0, &event, hash));
            }
        }
        first
    }

    /// Appends one event and the inbox notices it causes.
    fn record(&mut self, before: Option<&Case>, event: &Event, after: Case, prev: Hash) -> Hash {
        let hash = self.append(event, prev);
        self.plan.notices.extend(inbox::notices(
            before,
            event,
            &after,
            &self.refs.tree,
            &self
                .refs
                .rules_at(&after.location.jurisdiction)
                .policy
                .escalation,
        ));
        self.touch(after, hash);
        hash
    }

    /// Chains the event to its case's head and appends it to the log.
    fn append(&mut self, event: &Event, prev: Hash) -> Hash {
        let value = serde_json::to_value(event).expect("events serialise");
        let body = canonical_json(&value).expect("events hold no floats");
        let hash = event_hash(&prev, &body);
        let leaf_index = self.frontier.size();
        // A leaf is its event's hash hashed once more: it is read from the
        // event row (see `fetch_nodes`), not stored a second time.
        self.plan.nodes.extend(
            self.frontier
                .append(leaf_hash(hash.as_bytes()))
                .into_iter()
                .filter(|(s, _)| s.level > 0),
        );
        self.plan.events.push(EventRow {
            case_id: event.case_id,
            seq: event.seq,
            leaf_index,
            at_ms: event.at.unix_millis(),
            actor: event.actor.to_string(),
            kind: event.kind.name().to_owned(),
            body: String::from_utf8(body).expect("canonical JSON is UTF-8"),
            prev_hash: prev,
            hash,
        });
        hash
    }

    fn touch(&mut self, case: Case, head: Hash) {
        let id = case.id;
        self.cases.insert(id, (case, head));
        if self.dirty_set.insert(id) {
            self.dirty.push(id);
        }
    }

    /// The batch's plan: each changed case's projection written once,
    /// whatever number of events it took.
    fn finish(mut self) -> (WritePlan, Frontier) {
        let mut plan = self.settle_events();
        let dirty = std::mem::take(&mut self.dirty);
        self.settle_rows(&dirty, &mut plan);
        (plan, self.frontier)
    }

    /// The plan of everything judged since the last settle but the cases'
    /// projections (a bulk load writes each once, when done with the case:
    /// see [`Batch::settle_rows`]).
    pub(crate) fn settle_events(&mut self) -> WritePlan {
        let mut plan = std::mem::take(&mut self.plan);
        self.dirty_set.clear();
        if self.counter > 0 {
            plan.counters
                .push((self.counter_name.clone(), self.counter));
        }
        plan.log_size = self.frontier.size();
        plan
    }

    /// Adds to `plan` the projection rows of `ids` as they stand, and what
    /// they change in the tallies.
    pub(crate) fn settle_rows(&mut self, ids: &[CaseId], plan: &mut WritePlan) {
        let mut tallies = TallyDeltas::default();
        for id in ids {
            let (case, head) = &self.cases[id];
            let row = CaseRow::from_case(
                case,
                *head,
                self.refs.path(&case.location.jurisdiction),
                &self
                    .refs
                    .rules_at(&case.location.jurisdiction)
                    .policy
                    .escalation,
            );
            let before = self.loaded.get(id);
            let write = RowWrite::for_row(&row, before.map(|(columns, _)| columns));
            tallies.change(
                before.map(|(_, standing)| standing),
                &Standing::of_row(&row),
            );
            plan.cases.push((row, write));
        }
        plan.tallies.extend(tallies.into_rows());
    }
}

fn outcome_of(case: &Case, event: &Event, hash: Hash) -> WriteOutcome {
    WriteOutcome {
        case_id: case.id,
        number: case.number.clone(),
        receipt_code: case.receipt_code.clone(),
        seq: event.seq,
        event: event.kind.name().to_owned(),
        hash,
        replayed: false,
    }
}

fn internal(e: lifecycle::ReplayError) -> WriteError {
    WriteError::Store(StoreError::Corrupt(format!(
        "decided event does not apply: {e}"
    )))
}
