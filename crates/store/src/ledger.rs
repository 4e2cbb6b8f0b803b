//! The ledger: the one door through which the program reads and writes cases.

use crate::clock::Clock;
use crate::refdata::RefData;
use crate::rows::{CaseDocument, CaseQuery, CaseRow, EventRow};
use crate::vault::{PartyKey, Vault};
use crate::writer::{Idempotency, Request, TickReport, WriteError, WriteOutcome, Writer};
use crate::{Store, StoreError};
use jiefen_domain::body::Body;
use jiefen_domain::case::{Case, CaseId};
use jiefen_domain::inbox::{self, Notice};
use jiefen_domain::jurisdiction::{Jurisdiction, JurisdictionError, JurisdictionTree};
use jiefen_domain::lifecycle::{self, Actor, Command, Event, NewCase};
use jiefen_domain::party::{
    IdNumber, NewParty, PartyKind, PartyRecord, PersonalFieldKind, PersonalValue, PhoneNumber,
};
use jiefen_domain::taxonomy::Taxonomy;
use jiefen_ledger::bundle::{BundleEvent, CaseBundle, ConsistencyProof, PersonalDatum};
use jiefen_ledger::canonical::canonical_json;
use jiefen_ledger::checkpoint::{Checkpoint, DeploymentKey, SignedCheckpoint};
use jiefen_ledger::hash::{sha256, Hash};
use jiefen_ledger::merkle::{
    consistency_proof, consistency_proof_subtrees, inclusion_proof, inclusion_proof_subtrees,
    root_at, root_subtrees, Subtree, TreeRangeError,
};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tokio::sync::{mpsc, oneshot};

pub type LedgerError = WriteError;

/// Cases per transaction of a deadline-engine tick: a thousand signal
/// changes commit in one fsync (see BENCHMARKS.md).
pub const TICK_BATCH: u32 = 1000;

/// Bundle format name written into every export.
pub const BUNDLE_FORMAT: &str = "jiefen.case-bundle.v1";

/// How many earlier checkpoints an export carries consistency proofs from
/// by default: enough to cover the checkpoints a person is likely to hold.
pub const EXPORT_CONSISTENCY_LIMIT: u32 = 64;

#[derive(Clone)]
pub struct Ledger {
    pub(crate) store: Arc<dyn Store>,
    refs: Arc<RwLock<Arc<RefData>>>,
    pub(crate) clock: Arc<dyn Clock>,
    key: Arc<DeploymentKey>,
    pub(crate) vault: Option<Arc<Vault>>,
    origin: String,
    writer: mpsc::Sender<Request>,
    committed: tokio::sync::watch::Receiver<u64>,
    identity_key: jiefen_domain::repeats::IdentityKey,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RebuildReport {
    pub cases: u64,
    pub events: u64,
    /// Cases whose stored projection differed from the replay of events.
    pub mismatched: Vec<CaseId>,
    /// Cases with inbox notices that their events imply but the inbox lacks
    /// (restored, unread, by a repairing rebuild; read marks are kept).
    pub missing_notices: Vec<CaseId>,
    /// Cases whose hash chain does not recompute (never repaired: evidence).
    pub broken_chains: Vec<(CaseId, u64)>,
    /// The figures' tallies differed from a count of the projection
    /// (recounted by a repairing rebuild).
    pub tallies_mismatched: bool,
    pub repaired: bool,
}

impl Ledger {
    /// Loads reference data and starts the writer task. Without a vault the
    /// ledger reads and writes everything but personal data: registrations
    /// that carry any are refused, and personal values cannot be read.
    pub async fn open(
        store: Arc<dyn Store>,
        taxonomy: Taxonomy,
        clock: Arc<dyn Clock>,
        key: DeploymentKey,
        origin: String,
        vault: Option<Vault>,
    ) -> Result<Self, StoreError> {
        if let Some(v) = &vault {
            // Only a store never opened under a master key can hold values
            // in clear: from the first such open on, every value is sealed.
            // Looking for them scans personal_data, 159 s on each start of
            // a 10,000,000-case store whose values are all sealed.
            if store.vault_check().await?.is_none() && store.has_clear_personal().await? {
                return Err(StoreError::Corrupt(
                    "this store keeps personal data in clear, from before encryption at rest; \
                     this version does not open it (a demo store can be deleted and made again)"
                        .into(),
                ));
            }
            let recorded = store.init_vault_check(v.check_value()).await?;
            if recorded != v.check_value() {
                return Err(StoreError::WrongMasterKey);
            }
        }
        if store.suspended_indexes().await? > 0 {
            return Err(StoreError::Corrupt(
                "this store holds an interrupted bulk load (`jiefen gen` or the demo's first \
                 start did not finish): its cases are incomplete; delete it and generate again"
                    .into(),
            ));
        }
        let jurisdictions = store.jurisdictions().await?;
        let tree = JurisdictionTree::build(jurisdictions, [])
            .map_err(|e| StoreError::Corrupt(format!("stored jurisdictions: {e}")))?;
        let bodies = store.bodies().await?;
        let rules = Arc::new(jiefen_domain::policy::Rules::defaults(&taxonomy));
        let refs = Arc::new(RwLock::new(Arc::new(RefData::new(
            tree, bodies, taxonomy, rules,
        ))));
        // A store from before the tallies (or one whose tallies were
        // dropped) gets them counted once, before anything writes.
        if !store.tallies_built().await? {
            let rows = crate::figures::recount_store(store.as_ref()).await?;
            store.replace_tallies(&rows).await?;
        }
        let (tx, rx) = mpsc::channel(4096);
        // Identity hashes are keyed from the master key, so a copy of the
        // database and the data directory cannot test guesses at ID numbers
        // or phones. Without a vault nothing with parties is registered.
        let identity_secret = match &vault {
            Some(v) => v.identity_secret(),
            None => key.derive_secret("repeats.identity"),
        };
        let identity_key = jiefen_domain::repeats::IdentityKey::new(identity_secret);
        let vault = vault.map(Arc::new);
        let (committed_tx, committed) = tokio::sync::watch::channel(store.log_size().await?);
        let writer = Writer::new(
            store.clone(),
            refs.clone(),
            clock.clone(),
            identity_key.clone(),
            vault.clone(),
            committed_tx,
        );
        tokio::spawn(writer.run(rx));
        Ok(Self {
            store,
            refs,
            clock,
            key: Arc::new(key),
            vault,
            origin,
            writer: tx,
            committed,
            identity_key,
        })
    }

    /// The earlier cases a registration of `new` would be recorded as a
    /// possible repeat of (same person, same respondent and place), as the
    /// writer will find them: for an intake screen before it registers.
    pub async fn identity_repeats(
        &self,
        new: &jiefen_domain::lifecycle::NewCase,
    ) -> Result<Vec<jiefen_domain::repeats::PossibleRepeat>, StoreError> {
        use jiefen_domain::repeats;
        let identities = repeats::identities(new, &self.identity_key);
        if identities.is_empty() {
            return Ok(Vec::new());
        }
        let mut wanted: Vec<Hash> = identities.iter().map(|i| i.hash).collect();
        wanted.sort();
        wanted.dedup();
        let since = self
            .refs()
            .rules
            .policy
            .repeats
            .since_ms(self.clock.now().unix_millis());
        let mut known: HashMap<Hash, Vec<CaseId>> = HashMap::new();
        for hit in self.store.identity_repeats(&wanted, since).await? {
            known.entry(hit.hash).or_default().push(hit.case_id);
        }
        Ok(repeats::matches(&identities, &known))
    }

    /// A bulk load into this ledger's store, judged like the writer judges
    /// (see [`crate::bulk`]). Nothing else may write to the store while it
    /// runs; once it is finished (and whatever follows it is written),
    /// [`Store::refresh_statistics`] readies the store for readers.
    pub async fn bulk(&self) -> Result<crate::bulk::Bulk, LedgerError> {
        self.store.suspend_indexes().await?;
        let mut tx = self.store.begin().await?;
        let size = tx.lock_log().await?;
        let frontier = crate::writer::load_frontier(tx.as_mut(), size).await?;
        tx.commit().await?;
        Ok(crate::bulk::Bulk::new(
            self.store.clone(),
            self.refs(),
            self.vault.clone(),
            self.identity_key.clone(),
            frontier,
            self.clock.now(),
        ))
    }

    /// The event log's size after each commit of this process's writer:
    /// derived indexes wait on it to catch up.
    pub fn committed(&self) -> tokio::sync::watch::Receiver<u64> {
        self.committed.clone()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn refs(&self) -> Arc<RefData> {
        self.refs.read().expect("refdata lock poisoned").clone()
    }

    pub fn public_key(&self) -> jiefen_ledger::checkpoint::PublicKey {
        self.key.public()
    }

    /// The fingerprint an idempotency key is bound to: the canonical JSON of
    /// what was asked, by whom.
    pub fn fingerprint<T: serde::Serialize>(what: &str, actor: &Actor, request: &T) -> Hash {
        let value = serde_json::json!({ "what": what, "actor": actor, "request": request });
        let bytes = canonical_json(&value).unwrap_or_else(|_| value.to_string().into_bytes());
        sha256(&[&bytes])
    }

    pub async fn create(
        &self,
        new: NewCase,
        actor: Actor,
        idempotency_key: Option<String>,
    ) -> Result<WriteOutcome, LedgerError> {
        let idempotency = idempotency_key.map(|key| Idempotency {
            fingerprint: Self::fingerprint("create", &actor, &new),
            key,
        });
        let (reply, rx) = oneshot::channel();
        let req = Request::Create {
            new: Box::new(new),
            actor,
            idempotency,
            reply,
        };
        self.send(req, rx).await
    }

    pub async fn act(
        &self,
        case_id: CaseId,
        command: Command,
        actor: Actor,
        idempotency_key: Option<String>,
    ) -> Result<WriteOutcome, LedgerError> {
        let idempotency = idempotency_key.map(|key| Idempotency {
            fingerprint: Self::fingerprint(&format!("act:{case_id}"), &actor, &command),
            key,
        });
        let (reply, rx) = oneshot::channel();
        let req = Request::Act {
            case_id,
            command,
            actor,
            idempotency,
            reply,
        };
        self.send(req, rx).await
    }

    async fn send(
        &self,
        req: Request,
        rx: oneshot::Receiver<Result<WriteOutcome, WriteError>>,
    ) -> Result<WriteOutcome, LedgerError> {
        self.writer
            .send(req)
            .await
            .map_err(|_| WriteError::Stopped)?;
        rx.await.map_err(|_| WriteError::Stopped)?
    }

    /// One tick of the deadline engine at the clock's now: every case whose
    /// watch time has come (found through the index, so the work is
    /// proportional to the cases that change), in batches of `batch`, until
    /// none is left. Decisions are taken by the writer against each case's
    /// recorded state, so a tick interrupted by a crash, or run by two
    /// servers at once, never records a step twice; one after a downtime
    /// catches up on everything that fell due meanwhile.
    pub async fn tick(&self, batch: u32) -> Result<TickReport, LedgerError> {
        let mut total = TickReport::default();
        let mut seen = std::collections::HashSet::new();
        loop {
            let ids = self.due_watches(batch).await?;
            // A case already handled in this tick and still due would mean a
            // rule that never settles: stop rather than spin, and say so.
            let fresh: Vec<CaseId> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
            if fresh.len() < ids.len() {
                tracing::error!(
                    stuck = ids.len() - fresh.len(),
                    "deadline engine: cases still due after their step; ending this tick"
                );
            }
            if fresh.is_empty() {
                break;
            }
            total.add(&self.tick_cases(fresh.clone()).await?);
            if ids.len() < batch as usize || fresh.len() < ids.len() {
                break;
            }
        }
        Ok(total)
    }

    /// One batch of a tick: at most `limit` of the cases whose watch time
    /// has come, in one transaction. [`Ledger::tick`] repeats it.
    pub async fn tick_once(&self, limit: u32) -> Result<TickReport, LedgerError> {
        let ids = self.due_watches(limit).await?;
        if ids.is_empty() {
            return Ok(TickReport::default());
        }
        self.tick_cases(ids).await
    }

    async fn due_watches(&self, limit: u32) -> Result<Vec<CaseId>, StoreError> {
        let now = self.clock.now();
        self.store.due_watches(now.unix_millis(), limit).await
    }

    async fn tick_cases(&self, ids: Vec<CaseId>) -> Result<TickReport, LedgerError> {
        let (reply, rx) = oneshot::channel();
        self.writer
            .send(Request::Tick { ids, reply })
            .await
            .map_err(|_| WriteError::Stopped)?;
        rx.await.map_err(|_| WriteError::Stopped)?
    }

    /// One page of an inbox, and its unread counts by kind.
    pub async fn inbox(
        &self,
        query: &crate::rows::InboxQuery,
    ) -> Result<(Vec<crate::rows::InboxItem>, crate::rows::UnreadCounts), StoreError> {
        let items = self.store.inbox(query).await?;
        let unread = self.store.inbox_unread(&query.recipient).await?;
        Ok((items, unread))
    }

    /// Marks items of one inbox read (all of them with `None`).
    pub async fn mark_read(
        &self,
        recipient: &jiefen_domain::inbox::Recipient,
        ids: Option<&[i64]>,
    ) -> Result<u64, StoreError> {
        let now = self.clock.now();
        self.store
            .mark_read(recipient, ids, now.unix_millis())
            .await
    }

    pub async fn get(&self, id: CaseId) -> Result<Option<Case>, StoreError> {
        self.store.get_case(id).await
    }

    /// The case a receipt code was given for.
    pub async fn case_by_receipt(&self, receipt_code: &str) -> Result<Option<Case>, StoreError> {
        self.store.case_by_receipt(receipt_code).await
    }

    /// The case as the API sends it, without decoding it (see
    /// [`CaseDocument`]).
    pub async fn document(&self, id: CaseId) -> Result<Option<CaseDocument>, StoreError> {
        self.store.case_document(id).await
    }

    pub async fn list(&self, query: &CaseQuery) -> Result<Vec<Case>, StoreError> {
        self.store.list_cases(query).await
    }

    pub async fn history(&self, id: CaseId) -> Result<Vec<EventRow>, StoreError> {
        self.store.events(id).await
    }

    /// A case's personal values, opened with the master key. Erased
    /// parties have none.
    pub async fn personal_values(&self, id: CaseId) -> Result<Vec<PersonalValue>, StoreError> {
        Ok(self.opened_personal(id).await?.0)
    }

    /// A case's opened personal values and the parties in the register of
    /// erasures, from one read of the store.
    pub(crate) async fn opened_personal(
        &self,
        id: CaseId,
    ) -> Result<(Vec<PersonalValue>, Vec<u32>), StoreError> {
        let (sealed, keys) = self.store.sealed_personal(id).await?;
        let erased: Vec<u32> = keys
            .iter()
            .filter(|k| k.erased_at_ms.is_some())
            .map(|k| k.party_no)
            .collect();
        if sealed.is_empty() {
            return Ok((Vec::new(), erased));
        }
        let vault = self.vault.as_deref().ok_or(StoreError::Locked)?;
        let mut opened: HashMap<u32, PartyKey> = HashMap::new();
        for k in keys {
            if let Some(wrapped) = k.wrapped {
                let key = vault
                    .unwrap(&wrapped, id, k.party_no)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                opened.insert(k.party_no, key);
            }
        }
        let mut out = Vec::with_capacity(sealed.len());
        for s in sealed {
            let Some(key) = opened.get(&s.party_no) else {
                continue;
            };
            let (salt, value) = Vault::open(key, id, s.party_no, s.field, &s.sealed)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            out.push(PersonalValue {
                party_no: s.party_no,
                field: s.field,
                value,
                salt,
                commitment: s.commitment,
            });
        }
        Ok((out, erased))
    }

    /// Erases a party's personal data by destroying its key: its sealed
    /// values cannot be opened again anywhere, its identity hashes leave the
    /// repeats index, and the case's events (commitments only) stay as
    /// they are, so its history still verifies. Returns the fields that
    /// were erased; `NotFound` when the case or party does not exist or
    /// holds nothing to erase.
    pub async fn erase_party(
        &self,
        id: CaseId,
        party_no: u32,
    ) -> Result<Vec<PersonalFieldKind>, StoreError> {
        let case = self.store.get_case(id).await?.ok_or(StoreError::NotFound)?;
        if !case.parties.iter().any(|p| p.no == party_no) {
            return Err(StoreError::NotFound);
        }
        let (values, mut erased_parties) = self.opened_personal(id).await?;
        let erased: Vec<PersonalFieldKind> = values
            .iter()
            .filter(|v| v.party_no == party_no)
            .map(|v| v.field)
            .collect();
        if erased.is_empty() {
            return Err(StoreError::NotFound);
        }
        // The parties erased before stay out of the index as well.
        erased_parties.push(party_no);
        let remaining = self.identities_of(&case, &values, &erased_parties)?;
        let now = self.clock.now().unix_millis();
        if !self
            .store
            .erase_party(id, party_no, now, &remaining)
            .await?
        {
            return Err(StoreError::NotFound);
        }
        self.store.scrub().await?;
        Ok(erased)
    }

    /// The keyed identities a case gives the repeats index: those of its
    /// parties as registered, leaving out the `erased` ones. `values` are
    /// the case's opened personal values.
    pub(crate) fn identities_of(
        &self,
        case: &Case,
        values: &[PersonalValue],
        erased: &[u32],
    ) -> Result<Vec<jiefen_domain::repeats::IdentityHash>, StoreError> {
        let vault = self.vault.as_deref().ok_or(StoreError::Locked)?;
        let key = jiefen_domain::repeats::IdentityKey::new(vault.identity_secret());
        let mut out: Vec<_> = case
            .parties
            .iter()
            .filter(|p| !erased.contains(&p.no))
            .filter_map(|p| party_as_registered(p, values))
            .flat_map(|p| {
                jiefen_domain::repeats::party_identities(&p, &case.location.jurisdiction, &key)
            })
            .collect();
        out.sort_by_key(|a| (a.reason, a.hash));
        out.dedup();
        Ok(out)
    }

    /// Validates new jurisdictions and bodies against what exists and stores
    /// them in one transaction; nothing is stored if anything is wrong.
    pub async fn import_reference(
        &self,
        jurisdictions: Vec<Jurisdiction>,
        bodies: Vec<Body>,
    ) -> Result<(usize, usize), ImportError> {
        let current = self.refs();
        let existing: Vec<Jurisdiction> = current.tree.nodes().cloned().collect();
        let tree = JurisdictionTree::build(existing, jurisdictions.iter().cloned())?;
        for b in &bodies {
            if tree.get(&b.jurisdiction).is_none() {
                return Err(ImportError::Body(format!(
                    "body {} names unknown jurisdiction {}",
                    b.code, b.jurisdiction
                )));
            }
            if b.name.trim().is_empty() {
                return Err(ImportError::Body(format!("body {} has no name", b.code)));
            }
            for c in &b.categories {
                if current.taxonomy.get(c).is_none() {
                    return Err(ImportError::Body(format!(
                        "body {} takes unknown category {c}",
                        b.code
                    )));
                }
            }
        }
        let rows: Vec<(Jurisdiction, String)> = jurisdictions
            .iter()
            .map(|j| (j.clone(), tree.path(&j.code)))
            .collect();
        self.store.save_reference(&rows, &bodies).await?;
        let mut all_bodies: Vec<Body> = current.bodies.values().cloned().collect();
        all_bodies.retain(|b| !bodies.iter().any(|n| n.code == b.code));
        all_bodies.extend(bodies.iter().cloned());
        let counts = (jurisdictions.len(), bodies.len());
        *self.refs.write().expect("refdata lock poisoned") = Arc::new(RefData::new(
            tree,
            all_bodies,
            current.taxonomy.clone(),
            current.rules.clone(),
        ));
        Ok(counts)
    }

    /// Replaces the policy and calendar new decisions are taken under. Each
    /// decision records the policy version it used.
    pub fn set_rules(&self, rules: jiefen_domain::policy::Rules) {
        let mut guard = self.refs.write().expect("refdata lock poisoned");
        let current = guard.as_ref().clone();
        // Reference data may be imported after the policy: a stranger is
        // worth a warning, not a refusal.
        for code in rules.overridden() {
            if current.tree.get(code).is_none() {
                tracing::warn!(jurisdiction = %code, "the policy overrides a jurisdiction that is not in the tree");
            }
        }
        *guard = Arc::new(RefData {
            rules: Arc::new(rules),
            ..current
        });
    }

    /// The current tree head of the Merkle log.
    pub async fn tree_head(&self) -> Result<(u64, Hash), StoreError> {
        let size = self.store.log_size().await?;
        let root = self.root_at(size).await?;
        Ok((size, root))
    }

    async fn nodes(&self, wanted: Vec<Subtree>) -> Result<HashMap<Subtree, Hash>, StoreError> {
        self.store.log_nodes(&wanted).await
    }

    async fn root_at(&self, size: u64) -> Result<Hash, StoreError> {
        let nodes = self.nodes(root_subtrees(size)).await?;
        root_at(size, |s| lookup(&nodes, s))
    }

    /// Signs the current tree head with the deployment key and keeps it.
    pub async fn checkpoint(&self) -> Result<SignedCheckpoint, StoreError> {
        let (tree_size, root) = self.tree_head().await?;
        let signed = self
            .key
            .sign(Checkpoint {
                origin: self.origin.clone(),
                tree_size,
                root,
                timestamp: self.clock.now().to_rfc3339(),
            })
            .map_err(|e| StoreError::Corrupt(format!("signing: {e}")))?;
        self.store.save_checkpoint(&signed).await?;
        Ok(signed)
    }

    /// Signs a checkpoint only if the log grew since the last one: hourly
    /// checkpoints of an idle log would say nothing new.
    pub async fn checkpoint_if_grown(&self) -> Result<Option<SignedCheckpoint>, StoreError> {
        let size = self.store.log_size().await?;
        let latest = self.store.latest_checkpoint().await?;
        if latest.is_some_and(|c| c.checkpoint.tree_size == size) {
            return Ok(None);
        }
        self.checkpoint().await.map(Some)
    }

    pub async fn consistency(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, ProofFailure> {
        let wanted = consistency_proof_subtrees(old_size, new_size)?;
        let nodes = self.nodes(wanted).await?;
        consistency_proof(old_size, new_size, |s| {
            lookup(&nodes, s).map_err(ProofFailure::from)
        })
    }

    /// The self-contained, offline-verifiable bundle of one case. Signs a
    /// fresh checkpoint when the log has grown past the latest one, and adds
    /// consistency proofs from earlier checkpoints (the latest
    /// [`EXPORT_CONSISTENCY_LIMIT`] that cover the case, plus any `from`).
    pub async fn export(
        &self,
        id: CaseId,
        include_personal: bool,
        from: &[SignedCheckpoint],
    ) -> Result<CaseBundle, ProofFailure> {
        let events = self.store.events(id).await?;
        if events.is_empty() {
            return Err(ProofFailure::Store(StoreError::NotFound));
        }
        let checkpoint = match self.checkpoint_if_grown().await? {
            Some(c) => c,
            None => self
                .store
                .latest_checkpoint()
                .await?
                .ok_or(StoreError::Corrupt("no checkpoint".into()))?,
        };
        let size = checkpoint.checkpoint.tree_size;
        let mut wanted = Vec::new();
        for e in &events {
            wanted.extend(inclusion_proof_subtrees(e.leaf_index, size)?);
        }
        wanted.sort();
        wanted.dedup();
        let nodes = self.nodes(wanted).await?;
        let mut bundle_events = Vec::with_capacity(events.len());
        for e in &events {
            let proof = inclusion_proof(e.leaf_index, size, |s| {
                lookup(&nodes, s).map_err(ProofFailure::from)
            })?;
            bundle_events.push(BundleEvent {
                seq: e.seq,
                prev_hash: e.prev_hash,
                hash: e.hash,
                leaf_index: e.leaf_index,
                body: serde_json::from_str(&e.body)
                    .map_err(|err| StoreError::Corrupt(format!("event body: {err}")))?,
                inclusion_proof: proof,
            });
        }
        let first_leaf = events[0].leaf_index;
        let mut earlier = self
            .store
            .checkpoints_from(first_leaf + 1, EXPORT_CONSISTENCY_LIMIT)
            .await?;
        earlier.extend(from.iter().cloned());
        let mut consistency = Vec::new();
        let mut sizes = std::collections::BTreeSet::new();
        for c in earlier {
            let old = c.checkpoint.tree_size;
            if old == 0 || old >= size || !sizes.insert(old) {
                continue;
            }
            consistency.push(ConsistencyProof {
                old_size: old,
                old_root: self.root_at(old).await?,
                proof: self.consistency(old, size).await?,
            });
        }
        let personal_data = if include_personal {
            self.personal_values(id)
                .await?
                .into_iter()
                .map(|p| PersonalDatum {
                    commitment: p.commitment,
                    field: p.field.as_str().to_owned(),
                    value: p.value,
                    salt: hex::encode(p.salt),
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(CaseBundle {
            format: BUNDLE_FORMAT.to_owned(),
            case_id: id.to_string(),
            public_key: self.key.public(),
            checkpoint,
            events: bundle_events,
            consistency,
            personal_data,
        })
    }

    /// Replays every case from its events, checks each hash chain, and
    /// compares the result with the stored projection. With `repair`, the
    /// projections are rewritten from the events (chains are evidence and
    /// are only ever reported, never rewritten).
    pub async fn rebuild(&self, repair: bool) -> Result<RebuildReport, StoreError> {
        let refs = self.refs();
        let mut report = RebuildReport {
            repaired: repair,
            ..Default::default()
        };
        let mut after = None;
        loop {
            let ids = self.store.case_ids(after, 500).await?;
            let Some(last) = ids.last().copied() else {
                break;
            };
            after = Some(last);
            let mut fixes = Vec::new();
            let mut lost_notices = Vec::new();
            for id in ids {
                report.cases += 1;
                let rows = self.store.events(id).await?;
                report.events += rows.len() as u64;
                let broken = crate::rows::first_broken_link(&rows);
                if let Some(seq) = broken {
                    report.broken_chains.push((id, seq));
                }
                // The events up to the break, and the hash they end on.
                let mut prev = Hash::ZERO;
                let mut events = Vec::with_capacity(rows.len());
                for r in rows.iter().take_while(|r| Some(r.seq) != broken) {
                    let e: Event = serde_json::from_str(&r.body).map_err(|e| {
                        StoreError::Corrupt(format!("case {id} event {}: {e}", r.seq))
                    })?;
                    events.push(e);
                    prev = r.hash;
                }
                // Fold one event at a time: the inbox notices of each event
                // depend on the case before and after it.
                let mut case: Option<Case> = None;
                let mut notices = Vec::new();
                for e in &events {
                    let after = lifecycle::apply(case.clone(), e)
                        .map_err(|err| StoreError::Corrupt(format!("case {id}: {err}")))?;
                    let ladder = &refs
                        .rules_at(&after.location.jurisdiction)
                        .policy
                        .escalation;
                    notices.extend(inbox::notices(case.as_ref(), e, &after, &refs.tree, ladder));
                    case = Some(after);
                }
                let case =
                    case.ok_or_else(|| StoreError::Corrupt(format!("case {id} has no events")))?;
                let expected = CaseRow::from_case(
                    &case,
                    prev,
                    refs.path(&case.location.jurisdiction),
                    &refs.rules_at(&case.location.jurisdiction).policy.escalation,
                );
                let stored = self.store.projection(id).await?;
                if stored.as_ref() != Some(&expected) {
                    report.mismatched.push(id);
                    fixes.push(expected);
                }
                let present: std::collections::HashSet<(String, u64, String)> =
                    self.store.case_notices(id).await?.into_iter().collect();
                let missing: Vec<Notice> = notices
                    .into_iter()
                    .filter(|n| {
                        let key = (n.recipient.to_string(), n.seq, n.kind.as_str().to_owned());
                        !present.contains(&key)
                    })
                    .collect();
                if !missing.is_empty() {
                    report.missing_notices.push(id);
                    lost_notices.extend(missing);
                }
            }
            if repair && !(fixes.is_empty() && lost_notices.is_empty()) {
                self.store.repair(&fixes, &lost_notices).await?;
            }
        }
        let counted = crate::figures::recount_store(self.store.as_ref()).await?;
        report.tallies_mismatched = counted != self.store.all_tallies().await?;
        if repair && report.tallies_mismatched {
            self.store.replace_tallies(&counted).await?;
        }
        Ok(report)
    }
}

fn lookup(nodes: &HashMap<Subtree, Hash>, s: Subtree) -> Result<Hash, StoreError> {
    nodes
        .get(&s)
        .copied()
        .ok_or_else(|| StoreError::Corrupt(format!("log node {s:?} missing")))
}

#[derive(Debug, thiserror::Error)]
pub enum ProofFailure {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Range(#[from] TreeRangeError),
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Jurisdiction(#[from] JurisdictionError),
    #[error("{0}")]
    Body(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A party as it was given at registration, rebuilt from its record and the
/// case's opened values (only its own are used), to find the identity
/// hashes it gave the case.
fn party_as_registered(party: &PartyRecord, values: &[PersonalValue]) -> Option<NewParty> {
    let value = |f: PersonalFieldKind| {
        values
            .iter()
            .find(|v| v.party_no == party.no && v.field == f)
            .map(|v| v.value.as_str())
    };
    let name = match party.kind {
        PartyKind::Organisation => party
            .organisation
            .as_deref()
            .or(value(PersonalFieldKind::Name)),
        _ => value(PersonalFieldKind::Name),
    }?;
    Some(NewParty {
        role: party.role,
        kind: party.kind,
        name: jiefen_domain::Text::parse(name).ok()?,
        id_number: value(PersonalFieldKind::IdNumber).and_then(|v| IdNumber::parse(v).ok()),
        phone: value(PersonalFieldKind::Phone).and_then(|v| PhoneNumber::parse(v).ok()),
        address: None,
    })
}
