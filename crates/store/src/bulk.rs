//! Bulk loading: a generated history written a day at a time.
//!
//! Why not the writer: the writer reads every case it touches from the
//! store, writes each case's projection once per batch of at most
//! [`crate::writer::MAX_BATCH`] commands, and syncs each batch. Generating
//! millions of cases that way spends nearly all its time re-reading and
//! re-writing the same rows. A bulk load judges every command exactly as the
//! writer does (the same [`Batch`], so histories, chains, notices, tallies
//! and repeats are the same as live traffic would leave), but it keeps the
//! cases it still works on in memory between days, writes each day's events
//! as one transaction, and writes a case's projection row once, on the day
//! it is done with the case, and the tallies once, at the end. Until the
//! load finishes, the projection and the tallies lag the events: a bulk
//! load is not a store to serve from.
//!
//! It assumes it is the store's only writer while it runs (each day's write
//! checks the log has not moved under it, and fails the load if it has).
//! Secondary indexes are dropped while it runs and built once at the end,
//! from sorted data, rather than kept up row by row; a store whose load was
//! interrupted keeps their definitions and is refused by [`crate::Ledger`].

use crate::figures::TallyDeltas;
use crate::refdata::RefData;
use crate::rows::WritePlan;
use crate::vault::Vault;
use crate::writer::{china_year, Batch, TickReport, WriteError, WriteOutcome};
use crate::LedgerError;
use crate::{Store, StoreError};
use jiefen_domain::case::CaseId;
use jiefen_domain::lifecycle::{Actor, Command, NewCase};
use jiefen_domain::repeats::{self, IdentityKey};
use jiefen_domain::Timestamp;
use jiefen_ledger::hash::Hash;
use jiefen_ledger::merkle::Frontier;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// The tables a bulk load fills: their secondary indexes are suspended
/// while it runs, and their statistics refreshed after it.
const LOADED_TABLES: [&str; 8] = [
    "cases",
    "events",
    "inbox",
    "identities",
    "personal_data",
    "party_keys",
    "log_nodes",
    "case_tallies",
];

/// [`LOADED_TABLES`] as an SQL list, each name between `quote`s.
pub(crate) fn loaded_tables(quote: &str) -> String {
    LOADED_TABLES
        .map(|t| format!("{quote}{t}{quote}"))
        .join(", ")
}

/// The index of cases by the time the deadline engine next looks at them.
const WATCH_INDEX: &str = "cases_watch";

/// Cases per engine batch after a load: larger than a live tick's, since
/// nothing waits on it and each batch is synced.
const ENGINE_BATCH: u32 = 10_000;

pub struct Bulk {
    store: Arc<dyn Store>,
    identity_key: IdentityKey,
    batch: Batch,
    /// Case-number counters by name, as this load has left them.
    counters: HashMap<String, i64>,
    /// Identities in `batch.known`, oldest first, so those that leave the
    /// repeat window can be dropped from it.
    window: VecDeque<(i64, Hash, CaseId)>,
    /// The log size the next day's write starts from.
    written: u64,
    /// What the days so far change in the tallies, written once at the
    /// end: the city's places, days and categories bound how many rows
    /// there are, while upserting each day's changes rewrote rows all over
    /// the table (the largest part of a day's write).
    tallies: TallyDeltas,
}

/// One day's plan, ready to be written (while the next day is judged).
pub struct DayWrite {
    store: Arc<dyn Store>,
    plan: WritePlan,
    from: u64,
}

impl Bulk {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        refs: Arc<RefData>,
        vault: Option<Arc<Vault>>,
        identity_key: IdentityKey,
        frontier: Frontier,
        now: Timestamp,
    ) -> Self {
        let written = frontier.size();
        Self {
            store,
            identity_key,
            batch: Batch::empty(now, refs, vault, frontier),
            counters: HashMap::new(),
            window: VecDeque::new(),
            written,
            tallies: TallyDeltas::default(),
        }
    }

    /// Starts the day whose commands are judged at `now` (which only moves
    /// forward).
    pub async fn begin_day(&mut self, now: Timestamp) -> Result<(), WriteError> {
        self.batch.now = now;
        let name = format!("case_number:{}", china_year(now));
        if name != self.batch.counter_name {
            if !self.batch.counter_name.is_empty() {
                self.counters
                    .insert(self.batch.counter_name.clone(), self.batch.counter);
            }
            let counter = match self.counters.get(&name) {
                Some(c) => *c,
                None => {
                    let mut tx = self.store.begin().await?;
                    let c = tx.load_counter(&name).await?;
                    tx.commit().await?;
                    c
                }
            };
            self.batch.counter = counter;
            self.batch.counter_name = name;
        }
        let since = self
            .batch
            .refs
            .rules
            .policy
            .repeats
            .since_ms(now.unix_millis());
        while let Some((at, hash, id)) = self.window.front().copied() {
            if at >= since {
                break;
            }
            self.window.pop_front();
            if let Some(ids) = self.batch.known.get_mut(&hash) {
                ids.retain(|c| *c != id);
                if ids.is_empty() {
                    self.batch.known.remove(&hash);
                }
            }
        }
        Ok(())
    }

    pub fn create(&mut self, new: &NewCase, actor: &Actor) -> Result<WriteOutcome, WriteError> {
        let identities = repeats::identities(new, &self.identity_key);
        self.batch.create(new, actor, identities)
    }

    pub fn act(
        &mut self,
        id: CaseId,
        command: &Command,
        actor: &Actor,
    ) -> Result<WriteOutcome, WriteError> {
        self.batch.act(id, command, actor)
    }

    /// Ends the day: everything judged since [`Bulk::begin_day`] as one
    /// write, with the projection rows of the cases in `done`, which the
    /// load will not touch again and lets go of. Days must be written in
    /// the order they end.
    pub fn end_day(&mut self, done: Vec<CaseId>) -> DayWrite {
        let mut plan = self.batch.settle_events();
        for (id, identity, at) in &plan.identities {
            self.window.push_back((*at, identity.hash, *id));
        }
        self.batch.settle_rows(&done, &mut plan);
        self.tallies.absorb(std::mem::take(&mut plan.tallies));
        for id in &done {
            self.batch.cases.remove(id);
        }
        let from = self.written;
        self.written = plan.log_size;
        DayWrite {
            store: self.store.clone(),
            plan,
            from,
        }
    }

    /// Writes the projection rows of every case still held, after the
    /// last day's write has finished; then runs `ledger`'s deadline engine
    /// up to its clock's now and creates the indexes again.
    ///
    /// The load judges commands only, so the deadlines its history passed
    /// are not yet recorded. Recording them here, before anything reads
    /// the store, leaves it as a running centre's would be: the server's
    /// first tick has only the present to do. The engine finds due cases
    /// by the watch index alone, so that one is built first and the others
    /// after, and the engine's writes maintain no other.
    pub async fn finish(mut self, ledger: &crate::Ledger) -> Result<TickReport, LedgerError> {
        let mut held: Vec<CaseId> = self.batch.cases.keys().copied().collect();
        held.sort();
        let store = self.store.clone();
        let mut last = self.end_day(held);
        last.plan.tallies = std::mem::take(&mut self.tallies).into_rows();
        last.write().await?;
        store.restore_indexes(Some(WATCH_INDEX)).await?;
        let engine = ledger.tick(ENGINE_BATCH).await?;
        store.restore_indexes(None).await?;
        Ok(engine)
    }

    /// Cases held in memory.
    pub fn held(&self) -> usize {
        self.batch.cases.len()
    }
}

impl DayWrite {
    /// Events in this day's write.
    pub fn events(&self) -> usize {
        self.plan.events.len()
    }

    /// Writes the day in one transaction.
    pub async fn write(self) -> Result<(), WriteError> {
        // A crash mid-load leaves a store to delete anyway (its indexes are
        // suspended): waiting for the disk at every day buys nothing.
        let mut tx = self.store.begin_unsynced().await?;
        let size = tx.lock_log().await?;
        if size != self.from {
            return Err(StoreError::Corrupt(format!(
                "the log grew from {} to {size} during a bulk load: something else wrote to the store",
                self.from
            ))
            .into());
        }
        let started = std::time::Instant::now();
        tx.write(&self.plan).await?;
        let written = started.elapsed();
        tx.commit().await?;
        tracing::debug!(
            events = self.plan.events.len(),
            write_us = written.as_micros() as u64,
            commit_us = (started.elapsed() - written).as_micros() as u64,
            "bulk day written"
        );
        Ok(())
    }
}
