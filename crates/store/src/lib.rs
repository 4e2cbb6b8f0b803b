//! Event-sourced, verifiable storage of cases.
//!
//! # Layout
//!
//! - [`Store`]: the trait a database implements — reads, and one batch
//!   transaction for writes ([`BatchTx`]). [`sqlite`] and [`postgres`] are the
//!   two implementations; `tests/store_suite.rs` runs the same story on both.
//! - [`Ledger`] (in [`ledger`]): what the rest of the program uses. It owns the
//!   single writer task ([`writer`]) that batches concurrent commands into one
//!   transaction (group commit), decides them with the domain, chains their
//!   events and appends them to the Merkle log.
//! - [`refdata`]: the in-memory snapshot of jurisdictions, bodies and taxonomy
//!   that decisions are checked against.
//! - [`blobs`]: content-addressed attachment files beside the database.
//!
//! # Invariants
//!
//! - Events, projections, log nodes, personal data and idempotency records of
//!   one batch commit in one transaction: a crash leaves all or none.
//! - Only the writer task appends events or log nodes. Leaf indices are
//!   dense and equal to the log size at the time of the append.
//! - `events.body` is the exact canonical JSON that was hashed, stored
//!   packed ([`packing`]: unpacking gives back exactly those bytes);
//!   nothing else about an event is authoritative, and its row stores only
//!   what the body does not hold (case, seq, leaf index, hash).
//! - A projection row always equals the replay of its case's events
//!   (`Ledger::rebuild` checks and restores it).
#![forbid(unsafe_code)]

pub mod access;
pub mod accounts;
pub mod backup;
pub mod blobs;
pub mod bulk;
pub mod clock;
pub mod figures;
#[doc(hidden)]
pub mod forgery;
pub mod ledger;
pub mod packing;
pub mod postgres;
pub mod refdata;
pub mod rows;
mod sql;
pub mod sqlite;
pub mod throttle;
mod transaction;
pub mod vault;
pub mod writer;

use async_trait::async_trait;
use jiefen_domain::body::Body;
use jiefen_domain::case::{Case, CaseId};
use jiefen_domain::inbox::Recipient;
use jiefen_domain::jurisdiction::Jurisdiction;
use jiefen_domain::repeats::IdentityHash;
use jiefen_ledger::checkpoint::SignedCheckpoint;
use jiefen_ledger::hash::Hash;
use jiefen_ledger::merkle::Subtree;
use std::collections::HashMap;

pub use clock::{Clock, ManualClock, SystemClock};
pub use ledger::{Ledger, LedgerError};
pub use rows::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Personal data was needed and no master key was given.
    #[error("personal data is sealed and no master key was given")]
    Locked,
    #[error("this store's personal data was sealed under another master key")]
    WrongMasterKey,
    #[error("{0}")]
    Io(String),
}

impl From<packing::UnpackError> for StoreError {
    fn from(e: packing::UnpackError) -> Self {
        match e {
            packing::UnpackError::Missing(id) => StoreError::Corrupt(format!(
                "a stored value names dictionary {id}, which the store does not hold"
            )),
            packing::UnpackError::Corrupt(why) => StoreError::Corrupt(why),
        }
    }
}

impl StoreError {
    /// Constraint violations mean the request collided with existing data.
    pub fn from_sqlx(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() || db.is_foreign_key_violation() {
                return StoreError::Conflict(db.message().to_owned());
            }
        }
        StoreError::Database(e)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A hash as every table stores it (lower-case hex).
pub(crate) fn parse_hash(s: &str) -> Result<jiefen_ledger::hash::Hash> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("bad hash {s:?}")))
}

/// A database that can hold the ledger. Methods are named after what the
/// ledger needs, not after SQL.
#[async_trait]
pub trait Store: access::AccessStore + Send + Sync + 'static {
    /// Which backend, for logs and `/healthz`.
    fn kind(&self) -> &'static str;

    /// Opens the one write transaction of a batch.
    async fn begin(&self) -> Result<Box<dyn BatchTx>>;
    /// Opens a write transaction whose commit does not wait for the disk.
    /// Only for a bulk load, which is started over if the machine fails
    /// under it.
    async fn begin_unsynced(&self) -> Result<Box<dyn BatchTx>>;

    async fn get_case(&self, id: CaseId) -> Result<Option<Case>>;
    async fn case_document(&self, id: CaseId) -> Result<Option<CaseDocument>>;
    /// The case a receipt code was given for.
    async fn case_by_receipt(&self, receipt_code: &str) -> Result<Option<Case>>;
    async fn list_cases(&self, query: &CaseQuery) -> Result<Vec<Case>>;
    async fn count_cases(&self) -> Result<u64>;

    /// Drops the secondary indexes of the tables a bulk load writes,
    /// keeping their definitions in the store (see [`crate::bulk`]);
    /// returns how many. Unique indexes stay: they guard the load.
    async fn suspend_indexes(&self) -> Result<usize>;
    /// Creates the suspended indexes again (only the one named `only`,
    /// when given), each in its own transaction (so an interrupted restore
    /// can be run again); returns how many.
    async fn restore_indexes(&self, only: Option<&str>) -> Result<usize>;
    /// After a bulk load: brings what the backend's planner relies on up to
    /// date (on PostgreSQL the statistics and the visibility map that
    /// index-only scans need; nothing on SQLite). Reads every table.
    async fn refresh_statistics(&self) -> Result<()>;
    /// How much of the event bodies and projections is stored packed, and
    /// in how many bytes (see [`packing`]). Reads both tables whole.
    async fn packing(&self) -> Result<packing::Report>;
    /// How many indexes are suspended: more than none means a bulk load
    /// was interrupted and its projection is incomplete.
    async fn suspended_indexes(&self) -> Result<usize>;
    /// Cases the deadline engine must look at by `now_ms`, earliest first.
    async fn due_watches(&self, now_ms: i64, limit: u32) -> Result<Vec<CaseId>>;
    async fn inbox(&self, query: &InboxQuery) -> Result<Vec<InboxItem>>;
    /// Unread items of one inbox by notice kind, each counted up to
    /// [`UnreadCounts::LIMIT`].
    async fn inbox_unread(&self, recipient: &Recipient) -> Result<UnreadCounts>;
    /// Marks the given items (or all, with `None`) of one inbox read;
    /// returns how many changed.
    async fn mark_read(
        &self,
        recipient: &Recipient,
        ids: Option<&[i64]>,
        at_ms: i64,
    ) -> Result<u64>;
    async fn case_ids(&self, after: Option<CaseId>, limit: u32) -> Result<Vec<CaseId>>;
    /// The stored tallies of one place for the days `from_day..to_day`.
    async fn tallies(
        &self,
        node: &str,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<figures::TallyRow>>;
    /// What the figures read of each case the query matches (at most
    /// `query.limit`, in no set order): the overdue figure, and figures
    /// narrower than the tallies keep.
    async fn standings(&self, query: &CaseQuery) -> Result<Vec<figures::Standing>>;
    /// A page of every case's standing, by id, for recounting the tallies.
    async fn standings_after(
        &self,
        after: Option<CaseId>,
        limit: u32,
    ) -> Result<Vec<(CaseId, figures::Standing)>>;
    /// Every stored tally row that is not all zeros, in key order.
    async fn all_tallies(&self) -> Result<Vec<(figures::TallyKey, figures::Counts)>>;
    /// Replaces all tallies with these and records that they were built.
    async fn replace_tallies(&self, rows: &[(figures::TallyKey, figures::Counts)]) -> Result<()>;
    /// Whether the tallies were ever built (a store from before them has
    /// cases but no tallies until they are).
    async fn tallies_built(&self) -> Result<bool>;
    /// Earlier cases of these identity hashes (the writer's lookup, outside
    /// a write): what an intake preview shows before registering.
    async fn identity_repeats(&self, hashes: &[Hash], since_ms: i64) -> Result<Vec<IdentityHit>>;
    /// The events from log position `leaf` on, in log order, as (position,
    /// case): what a derived index behind the log must look at again.
    async fn changed_since(&self, leaf: u64, limit: u32) -> Result<Vec<(u64, CaseId)>>;
    async fn events(&self, id: CaseId) -> Result<Vec<EventRow>>;
    async fn projection(&self, id: CaseId) -> Result<Option<CaseRow>>;
    /// A case's sealed personal values and its parties' wrapped keys.
    async fn sealed_personal(&self, id: CaseId) -> Result<(Vec<SealedValue>, Vec<PartyKeyRow>)>;
    /// Whether any personal value is still stored in clear (a store from
    /// before encryption at rest).
    async fn has_clear_personal(&self) -> Result<bool>;
    /// The master key's check value the store was sealed under, if any yet.
    async fn vault_check(&self) -> Result<Option<String>>;
    /// Records the check value unless one is recorded; returns the one that
    /// is.
    async fn init_vault_check(&self, check: &str) -> Result<String>;
    /// Erases a party in one transaction: its wrapped key (the row stays,
    /// with the time, as the register of erasures) and its sealed values;
    /// the case's identity hashes become `remaining` (those of its other
    /// parties). Returns false when the party had no live key.
    async fn erase_party(
        &self,
        id: CaseId,
        party_no: u32,
        at_ms: i64,
        remaining: &[IdentityHash],
    ) -> Result<bool>;
    /// Makes what was just erased unrecoverable from the database's own
    /// files where the backend allows it (see `sqlite.rs`, `postgres.rs`).
    async fn scrub(&self) -> Result<()>;
    /// The key store in (case, party) order from after `after`: what a key
    /// export holds.
    async fn party_keys_after(
        &self,
        after: Option<(CaseId, u32)>,
        limit: u32,
    ) -> Result<Vec<(CaseId, PartyKeyRow)>>;
    /// Puts exported keys back into a restored store, in one transaction:
    /// a party the export says was erased is erased here too (key and
    /// sealed values); a live key fills a party whose key is missing.
    /// Parties of cases this store does not hold are skipped.
    async fn merge_party_keys(&self, rows: &[(CaseId, PartyKeyRow)]) -> Result<KeyMerge>;
    /// Parties with sealed values but neither a key nor an erasure: their
    /// data cannot be opened until a key export supplies the key.
    async fn count_keyless_parties(&self) -> Result<u64>;
    /// Replaces a case's identity hashes (a restore rebuilds them: backups
    /// leave them out).
    async fn replace_identities(
        &self,
        id: CaseId,
        identities: &[IdentityHash],
        at_ms: i64,
    ) -> Result<()>;

    async fn jurisdictions(&self) -> Result<Vec<Jurisdiction>>;
    async fn bodies(&self) -> Result<Vec<Body>>;
    /// Adds or replaces reference data in one transaction. `paths` maps each
    /// jurisdiction code to its materialised path.
    async fn save_reference(
        &self,
        jurisdictions: &[(Jurisdiction, String)],
        bodies: &[Body],
    ) -> Result<()>;

    async fn log_size(&self) -> Result<u64>;
    async fn log_nodes(&self, wanted: &[Subtree]) -> Result<HashMap<Subtree, Hash>>;
    async fn save_checkpoint(&self, checkpoint: &SignedCheckpoint) -> Result<()>;
    async fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>>;
    /// Checkpoints whose tree size is at least `min_size`, oldest first.
    async fn checkpoints_from(&self, min_size: u64, limit: u32) -> Result<Vec<SignedCheckpoint>>;

    /// Replaces projection rows and adds missing inbox notices (used by
    /// rebuild), in one transaction.
    async fn repair(
        &self,
        rows: &[CaseRow],
        notices: &[jiefen_domain::inbox::Notice],
    ) -> Result<()>;
    /// The inbox notices of one case: (recipient, seq, kind).
    async fn case_notices(&self, id: CaseId) -> Result<Vec<(String, u64, String)>>;
}

/// The write transaction of one batch. Dropping it without `commit` rolls
/// everything back.
#[async_trait]
pub trait BatchTx: Send {
    /// Locks the log for this transaction and returns its size. On
    /// PostgreSQL this serialises writers of different processes.
    async fn lock_log(&mut self) -> Result<u64>;
    async fn log_nodes(&mut self, wanted: &[Subtree]) -> Result<HashMap<Subtree, Hash>>;
    async fn load_cases(&mut self, ids: &[CaseId]) -> Result<Vec<(Case, Hash)>>;
    async fn load_idempotency(&mut self, keys: &[String]) -> Result<Vec<IdempotencyRow>>;
    async fn load_counter(&mut self, name: &str) -> Result<i64>;
    /// Cases registered since `since_ms` with any of these identity hashes.
    async fn find_identities(&mut self, hashes: &[Hash], since_ms: i64)
        -> Result<Vec<IdentityHit>>;
    async fn write(&mut self, plan: &WritePlan) -> Result<()>;
    async fn commit(self: Box<Self>) -> Result<()>;
}
