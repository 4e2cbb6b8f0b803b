//! The SQL both backends share. SQLite and PostgreSQL accept the same
//! statements here (`$N` parameters, `ON CONFLICT ... DO UPDATE`), so one
//! macro body is instantiated for each; only connection set-up and the log
//! lock differ, and those live in `sqlite.rs` and `postgres.rs`.

/// How long each table's statements of a batch's write took, logged at
/// debug level: where the database spends a batch's time.
pub(crate) struct Laps {
    last: std::time::Instant,
    laps: Vec<(&'static str, u64)>,
}

impl Laps {
    pub(crate) fn start() -> Self {
        Self {
            last: std::time::Instant::now(),
            laps: Vec::new(),
        }
    }

    pub(crate) fn mark(&mut self, table: &'static str) {
        let now = std::time::Instant::now();
        // Whole microseconds (see the writer's batch timing).
        self.laps
            .push((table, (now - self.last).as_micros() as u64));
        self.last = now;
    }

    pub(crate) fn log(&self, events: usize) {
        if tracing::enabled!(tracing::Level::DEBUG) {
            let laps: Vec<String> = self
                .laps
                .iter()
                .filter(|(_, us)| *us > 0)
                .map(|(t, us)| format!("{t}={us}"))
                .collect();
            tracing::debug!(events, us = %laps.join(" "), "batch written");
        }
    }
}

/// Which index range a statement of a case-list page walks: the deadline
/// order takes two, the running deadlines and then the cases with none;
/// the other orders one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListWalk {
    Only,
    RunningDeadlines,
    NoDeadline,
}

/// The keys a case is read by alone.
#[derive(Clone, Copy)]
pub(crate) enum CaseKey {
    Id,
    ReceiptCode,
}

/// The most places a subtree's page of the case list is merged from
/// (one index walk each); a town has a few dozen, a county hundreds.
pub(crate) const MERGED_PLACES: usize = 64;

/// Rows per multi-row INSERT: far below SQLite's 32766-parameter limit.
pub(crate) const CHUNK: usize = 400;

/// How a write treats a projection column.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    /// Set when the case is registered, never changed.
    Fixed,
    /// A key of a list index (the fields of `rows::IndexedColumns`): left
    /// alone by an update that does not change them.
    Listed,
    Other,
}

/// Every projection column, in the order `push_case_values` binds them.
/// The column list and the three SET clauses are derived from it, so they
/// cannot disagree.
const CASE_COLUMN_SPEC: &[(&str, Column)] = {
    use Column::*;
    &[
        ("id", Fixed),
        ("number", Fixed),
        ("receipt_code", Fixed),
        ("kind", Fixed),
        ("channel", Fixed),
        ("category", Other),
        ("jurisdiction", Other),
        ("jpath", Listed),
        ("state", Listed),
        ("risk", Other),
        ("level", Other),
        ("body", Listed),
        ("assigned_at_ms", Other),
        ("due_at_ms", Listed),
        ("due_soon_at_ms", Other),
        ("paused_signal", Other),
        ("watch_at_ms", Other),
        ("created_at_ms", Fixed),
        ("updated_at_ms", Other),
        ("version", Other),
        ("head_hash", Other),
        ("state_json", Other),
        ("urgent", Listed),
        ("resolved", Other),
        ("on_time", Other),
        ("satisfied", Other),
        ("registered_by", Fixed),
        ("returned", Other),
        ("handler", Other),
        ("overdue", Other),
    ]
};

/// The SQL text built from [`CASE_COLUMN_SPEC`].
pub(crate) struct CaseSql {
    /// `id, number, ...` in bind order.
    pub columns: String,
    /// An upsert's `ON CONFLICT` assignments: every column that may change.
    pub upsert_set: String,
    /// A multi-row update's assignments from `VALUES` (whose columns are
    /// named `column1`... on both databases): every column that may change.
    pub update_set: String,
    /// The same without the list indexes' keys, so the database maintains
    /// only the engine's index.
    pub update_unindexed_set: String,
}

pub(crate) static CASE_SQL: std::sync::LazyLock<CaseSql> = std::sync::LazyLock::new(|| {
    let assignments = |keep: &dyn Fn(Column) -> bool, value: &dyn Fn(&str, usize) -> String| {
        CASE_COLUMN_SPEC
            .iter()
            .enumerate()
            .filter(|(_, (_, kind))| keep(*kind))
            .map(|(i, (name, _))| format!("{name} = {}", value(name, i + 1)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let changes = |k: Column| k != Column::Fixed;
    let from_values = |_: &str, n: usize| format!("v.column{n}");
    CaseSql {
        columns: CASE_COLUMN_SPEC
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", "),
        upsert_set: assignments(&changes, &|name, _| format!("excluded.{name}")),
        update_set: assignments(&changes, &from_values),
        update_unindexed_set: assignments(&|k| k == Column::Other, &from_values),
    }
});

/// The count columns of `case_tallies`, in the order `Counts` binds them.
pub(crate) const TALLY_COUNTS: [&str; 7] = [
    "registered",
    "resolved",
    "on_time",
    "rated",
    "satisfied",
    "repeats",
    "overdue",
];

/// Every notice of one case, read or not (`Store::case_notices`).
pub(crate) const CASE_NOTICES: &str = "SELECT recipient, seq, kind FROM inbox WHERE case_id = $1";

/// `SELECT <keys>, <counts> FROM case_tallies`, for reading tally rows.
pub(crate) fn select_tallies(keys: &str) -> String {
    format!(
        "SELECT {keys}, {} FROM case_tallies",
        TALLY_COUNTS.join(", ")
    )
}

macro_rules! sql_store {
    ($store:ident, $tx:ident, $db:ty, $kind:literal, $begin_sql:literal, $lock_sql:literal,
     $unsynced:expr, $refresh_statistics:expr, $subtree_places:expr) => {
        use crate::rows::*;
        use crate::sql::{CaseKey, ListWalk};
        use crate::{BatchTx, Result, Store, StoreError};
        use async_trait::async_trait;
        use jiefen_domain::body::Body;
        use jiefen_domain::inbox::NoticeKind;
        use jiefen_domain::case::{Case, CaseId, DeadlineSignal};
        use jiefen_domain::jurisdiction::{Jurisdiction, JurisdictionCode, Level};
        use jiefen_domain::party::PersonalFieldKind;
        use jiefen_ledger::checkpoint::SignedCheckpoint;
        use jiefen_ledger::hash::Hash;
        use jiefen_ledger::merkle::Subtree;
        use sqlx::{QueryBuilder, Row};
        use std::collections::HashMap;

        use crate::parse_hash;

        fn parse_id(s: &str) -> Result<CaseId> {
            CaseId::parse(s).ok_or_else(|| StoreError::Corrupt(format!("bad case id {s:?}")))
        }

        fn hash_from_bytes(b: &[u8]) -> Result<Hash> {
            <[u8; 32]>::try_from(b)
                .map(Hash)
                .map_err(|_| StoreError::Corrupt("a stored hash is not 32 bytes".into()))
        }

        fn case_from_json(s: &str) -> Result<Case> {
            serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("case json: {e}")))
        }

        /// Every dictionary the store holds (see [`crate::packing`]).
        pub(crate) async fn load_dictionaries<'c, E>(db: E) -> Result<Vec<crate::packing::Dictionary>>
        where
            E: sqlx::Executor<'c, Database = $db>,
        {
            let rows = sqlx::query("SELECT id, corpus, generation, samples, bytes FROM dictionaries ORDER BY generation, id")
                .fetch_all(db)
                .await?;
            rows.iter()
                .map(|r| {
                    let corpus: &str = r.try_get("corpus")?;
                    Ok(crate::packing::Dictionary {
                        id: u32::try_from(r.try_get::<i64, _>("id")?)
                            .map_err(|_| StoreError::Corrupt("dictionary id out of range".into()))?,
                        corpus: crate::packing::Corpus::parse(corpus)
                            .ok_or_else(|| StoreError::Corrupt(format!("dictionary for {corpus:?}")))?,
                        generation: r.try_get::<i32, _>("generation")? as u32,
                        samples: r.try_get::<i32, _>("samples")? as u32,
                        bytes: r.try_get("bytes")?,
                    })
                })
                .collect()
        }

        /// The JSON a stored value holds. A value packed with a dictionary
        /// this process has not loaded (another process trained it) loads
        /// the store's dictionaries first.
        async fn unpacked<'c, E>(packer: &crate::packing::Packer, db: E, stored: &[u8]) -> Result<String>
        where
            E: sqlx::Executor<'c, Database = $db>,
        {
            match packer.unpack(stored) {
                Err(crate::packing::UnpackError::Missing(_)) => {
                    for d in load_dictionaries(db).await? {
                        packer.learn(&d)?;
                    }
                    Ok(packer.unpack(stored)?)
                }
                other => Ok(other?),
            }
        }

        /// An event row's case id: the UUID's 16 bytes.
        fn id_from_bytes(b: &[u8]) -> Result<CaseId> {
            uuid::Uuid::from_slice(b)
                .map(CaseId)
                .map_err(|_| StoreError::Corrupt("a stored case id is not 16 bytes".into()))
        }

        fn static_str(s: &str, all: &[&'static str]) -> Result<&'static str> {
            all.iter()
                .copied()
                .find(|a| *a == s)
                .ok_or_else(|| StoreError::Corrupt(format!("unexpected value {s:?}")))
        }

        fn case_row(r: &<$db as sqlx::Database>::Row, state_json: String) -> Result<CaseRow> {
            use jiefen_domain::case::{CaseKind, CaseState, Channel, RiskLevel};
            let kinds: Vec<&'static str> = CaseKind::ALL.iter().map(|k| k.as_str()).collect();
            let channels: Vec<&'static str> = Channel::ALL.iter().map(|k| k.as_str()).collect();
            let states: Vec<&'static str> = CaseState::ALL.iter().map(|k| k.as_str()).collect();
            let risks: Vec<&'static str> = RiskLevel::ALL.iter().map(|k| k.as_str()).collect();
            let levels: Vec<&'static str> = Level::ALL.iter().map(|k| k.as_str()).collect();
            let signals: Vec<&'static str> =
                DeadlineSignal::ALL.iter().map(|k| k.as_str()).collect();
            Ok(CaseRow {
                id: parse_id(r.try_get("id")?)?,
                number: r.try_get("number")?,
                receipt_code: r.try_get("receipt_code")?,
                kind: static_str(r.try_get("kind")?, &kinds)?,
                channel: static_str(r.try_get("channel")?, &channels)?,
                category: r.try_get("category")?,
                jurisdiction: r.try_get("jurisdiction")?,
                jpath: r.try_get("jpath")?,
                state: static_str(r.try_get("state")?, &states)?,
                risk: static_str(r.try_get("risk")?, &risks)?,
                level: static_str(r.try_get("level")?, &levels)?,
                body: r.try_get("body")?,
                assigned_at_ms: r.try_get("assigned_at_ms")?,
                due_at_ms: r.try_get("due_at_ms")?,
                due_soon_at_ms: r.try_get("due_soon_at_ms")?,
                paused_signal: match r.try_get::<Option<&str>, _>("paused_signal")? {
                    Some(s) => Some(static_str(s, &signals)?),
                    None => None,
                },
                watch_at_ms: r.try_get("watch_at_ms")?,
                urgent: r.try_get::<i16, _>("urgent")? != 0,
                created_at_ms: r.try_get("created_at_ms")?,
                updated_at_ms: r.try_get("updated_at_ms")?,
                version: r.try_get::<i64, _>("version")? as u64,
                head_hash: parse_hash(r.try_get("head_hash")?)?,
                state_json,
                figures: figures_from_row(r)?,
                registered_by: r.try_get("registered_by")?,
                returned: r.try_get::<i16, _>("returned")? != 0,
                handler: r.try_get("handler")?,
            })
        }

        /// The rows' values in `CASE_COLUMN_SPEC` order: one list for the
        /// insert and the update, so the two cannot drift apart.
        fn push_case_values<'a>(q: &mut QueryBuilder<'a, $db>, rows: &'a [(&'a CaseRow, &'a Vec<u8>)]) {
            q.push_values(rows, |mut b, (c, state_json)| {
                b.push_bind(c.id.to_string())
                    .push_bind(&c.number)
                    .push_bind(&c.receipt_code)
                    .push_bind(c.kind)
                    .push_bind(c.channel)
                    .push_bind(&c.category)
                    .push_bind(&c.jurisdiction)
                    .push_bind(&c.jpath)
                    .push_bind(c.state)
                    .push_bind(c.risk)
                    .push_bind(c.level)
                    .push_bind(&c.body)
                    .push_bind(c.assigned_at_ms)
                    .push_bind(c.due_at_ms)
                    .push_bind(c.due_soon_at_ms)
                    .push_bind(c.paused_signal)
                    .push_bind(c.watch_at_ms)
                    .push_bind(c.created_at_ms)
                    .push_bind(c.updated_at_ms)
                    .push_bind(c.version as i64)
                    .push_bind(c.head_hash.to_string())
                    .push_bind(state_json)
                    .push_bind(i16::from(c.urgent))
                    .push_bind(i16::from(c.figures.resolved))
                    .push_bind(i16::from(c.figures.on_time))
                    .push_bind(c.figures.satisfied.map(i16::from))
                    .push_bind(&c.registered_by)
                    .push_bind(i16::from(c.returned))
                    .push_bind(&c.handler)
                    .push_bind(i16::from(c.figures.overdue));
            });
        }

        fn push_case_upsert<'a>(rows: &'a [(&'a CaseRow, &'a Vec<u8>)]) -> QueryBuilder<'a, $db> {
            let sql = &*crate::sql::CASE_SQL;
            let mut q = QueryBuilder::new(format!("INSERT INTO cases ({}) ", sql.columns));
            push_case_values(&mut q, rows);
            q.push(format!(" ON CONFLICT (id) DO UPDATE SET {}", sql.upsert_set));
            q
        }

        fn push_notice_insert<'a>(
            chunk: &'a [jiefen_domain::inbox::Notice],
        ) -> QueryBuilder<'a, $db> {
            let mut q = QueryBuilder::<$db>::new(
                "INSERT INTO inbox (recipient, case_id, seq, kind, at_ms, text) ",
            );
            q.push_values(chunk, |mut b, n| {
                b.push_bind(n.recipient.to_string())
                    .push_bind(n.case_id.to_string())
                    .push_bind(n.seq as i64)
                    .push_bind(n.kind.as_str())
                    .push_bind(n.at.unix_millis())
                    .push_bind(&n.text);
            });
            q
        }

        /// One multi-row UPDATE by id.
        fn push_case_update<'a>(rows: &'a [(&'a CaseRow, &'a Vec<u8>)], set: &str) -> QueryBuilder<'a, $db> {
            let mut q = QueryBuilder::new(format!("UPDATE cases SET {set} FROM ("));
            push_case_values(&mut q, rows);
            q.push(") AS v WHERE cases.id = v.column1");
            q
        }

        pub struct $tx {
            tx: crate::transaction::WriteTx<$db>,
            packer: std::sync::Arc<crate::packing::Packer>,
            /// Dictionaries this transaction stores, to pack with once it
            /// has committed.
            fresh: Vec<crate::packing::Trained>,
        }

        #[async_trait]
        impl BatchTx for $tx {
            async fn lock_log(&mut self) -> Result<u64> {
                let size: i64 = sqlx::query_scalar($lock_sql)
                    .fetch_one(&mut *self.tx)
                    .await?;
                Ok(size as u64)
            }

            async fn log_nodes(&mut self, wanted: &[Subtree]) -> Result<HashMap<Subtree, Hash>> {
                fetch_nodes(&mut *self.tx, wanted).await
            }

            async fn load_cases(&mut self, ids: &[CaseId]) -> Result<Vec<(Case, Hash)>> {
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(CHUNK_ROWS) {
                    let mut q = QueryBuilder::<$db>::new(
                        "SELECT state_json, head_hash FROM cases WHERE id IN (",
                    );
                    let mut sep = q.separated(", ");
                    for id in chunk {
                        sep.push_bind(id.to_string());
                    }
                    q.push(")");
                    for r in q.build().fetch_all(&mut *self.tx).await? {
                        let json = unpacked(&self.packer, &mut *self.tx, r.try_get("state_json")?).await?;
                        out.push((case_from_json(&json)?, parse_hash(r.try_get("head_hash")?)?));
                    }
                }
                Ok(out)
            }

            async fn load_idempotency(&mut self, keys: &[String]) -> Result<Vec<IdempotencyRow>> {
                let mut out = Vec::new();
                for chunk in keys.chunks(CHUNK_ROWS) {
                    let mut q = QueryBuilder::<$db>::new(
                        "SELECT key, fingerprint, response, created_at_ms FROM idempotency WHERE key IN (",
                    );
                    let mut sep = q.separated(", ");
                    for k in chunk {
                        sep.push_bind(k.as_str());
                    }
                    q.push(")");
                    for r in q.build().fetch_all(&mut *self.tx).await? {
                        out.push(IdempotencyRow {
                            key: r.try_get("key")?,
                            fingerprint: parse_hash(r.try_get("fingerprint")?)?,
                            response: r.try_get("response")?,
                            created_at_ms: r.try_get("created_at_ms")?,
                        });
                    }
                }
                Ok(out)
            }

            async fn find_identities(&mut self, hashes: &[Hash], since_ms: i64) -> Result<Vec<IdentityHit>> {
                identity_hits(&mut *self.tx, hashes, since_ms).await
            }

            async fn load_counter(&mut self, name: &str) -> Result<i64> {
                let v: Option<i64> = sqlx::query_scalar("SELECT value FROM counters WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut *self.tx)
                    .await?;
                Ok(v.unwrap_or(0))
            }

            async fn write(&mut self, plan: &WritePlan) -> Result<()> {
                let tx = &mut *self.tx;
                let mut laps = crate::sql::Laps::start();
                // A dictionary goes in with the first rows packed with it
                // (one write per transaction trains at most once).
                let fresh = if self.fresh.is_empty() { self.packer.train_due() } else { Vec::new() };
                for t in &fresh {
                    let d = &t.dictionary;
                    sqlx::query(
                        "INSERT INTO dictionaries (id, corpus, generation, samples, bytes) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(i64::from(d.id))
                    .bind(d.corpus.as_str())
                    .bind(d.generation as i32)
                    .bind(d.samples as i32)
                    .bind(&d.bytes)
                    .execute(&mut *tx)
                    .await?;
                }
                self.fresh.extend(fresh);
                // Packed beside the other rows' writing: the events and
                // projections go in last.
                let packing = self.packer.pack_write(plan, &self.fresh);
                for chunk in plan.nodes.chunks(CHUNK_ROWS) {
                    let mut q = QueryBuilder::<$db>::new("INSERT INTO log_nodes (level, idx, hash) ");
                    q.push_values(chunk, |mut b, (s, h)| {
                        b.push_bind(i64::from(s.level))
                            .push_bind(s.index as i64)
                            .push_bind(h.0.to_vec());
                    });
                    q.build().execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
                }
                laps.mark("log_nodes");
                for chunk in plan.personal.chunks(CHUNK_ROWS) {
                    let mut q = QueryBuilder::<$db>::new(
                        "INSERT INTO personal_data (case_id, party_no, field, value, salt, commitment) ",
                    );
                    q.push_values(chunk, |mut b, (id, p)| {
                        b.push_bind(id.to_string())
                            .push_bind(i64::from(p.party_no))
                            .push_bind(p.field.as_str())
                            .push_bind(&p.sealed)
                            .push_bind("")
                            .push_bind(p.commitment.to_string());
                    });
                    q.build().execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
                }
                laps.mark("personal_data");
                for chunk in plan.party_keys.chunks(CHUNK_ROWS) {
                    let mut q = QueryBuilder::<$db>::new(
                        "INSERT INTO party_keys (case_id, party_no, wrapped, erased_at_ms) ",
                    );
                    q.push_values(chunk, |mut b, (id, k)| {
                        b.push_bind(id.to_string())
                            .push_bind(i64::from(k.party_no))
                            .push_bind(k.wrapped.clone())
                            .push_bind(k.erased_at_ms);
                    });
                    q.build().execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
                }
                laps.mark("party_keys");
                for chunk in plan.idempotency.chunks(CHUNK_ROWS) {
                    let mut q = QueryBuilder::<$db>::new(
                        "INSERT INTO idempotency (key, fingerprint, response, created_at_ms) ",
                    );
                    q.push_values(chunk, |mut b, r| {
                        b.push_bind(&r.key)
                            .push_bind(r.fingerprint.to_string())
                            .push_bind(&r.response)
                            .push_bind(r.created_at_ms);
                    });
                    q.build().execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
                }
                laps.mark("idempotency");
                for chunk in plan.notices.chunks(CHUNK_ROWS) {
                    push_notice_insert(chunk)
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::from_sqlx)?;
                }
                laps.mark("notices");
                for chunk in plan.identities.chunks(CHUNK_ROWS) {
                    push_identity_insert(chunk)
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::from_sqlx)?;
                }
                laps.mark("identities");
                for chunk in plan.tallies.chunks(CHUNK_ROWS) {
                    push_tally_upsert(chunk, true)
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::from_sqlx)?;
                }
                laps.mark("tallies");
                for (name, value) in &plan.counters {
                    sqlx::query(
                        "INSERT INTO counters (name, value) VALUES ($1, $2) \
                         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    )
                    .bind(name)
                    .bind(*value)
                    .execute(&mut *tx)
                    .await?;
                }
                laps.mark("counters");
                let packed = packing.finish().await;
                laps.mark("packing");
                for (chunk, bodies) in plan.events.chunks(CHUNK_ROWS).zip(packed.events.chunks(CHUNK_ROWS)) {
                    let mut q = QueryBuilder::<$db>::new(
                        "INSERT INTO events (case_id, seq, leaf_index, body, hash) ",
                    );
                    q.push_values(chunk.iter().zip(bodies), |mut b, (e, body)| {
                        b.push_bind(e.case_id.0.as_bytes().to_vec())
                            .push_bind(e.seq as i64)
                            .push_bind(e.leaf_index as i64)
                            .push_bind(body)
                            .push_bind(e.hash.0.to_vec());
                    });
                    q.build().execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
                }
                laps.mark("events");
                // Cases that exist are updated by id alone: an upsert would
                // also probe the number and receipt-code indexes of every row.
                for write in [RowWrite::Insert, RowWrite::Update, RowWrite::UpdateUnindexed] {
                    let rows: Vec<(&CaseRow, &Vec<u8>)> = plan
                        .cases
                        .iter()
                        .zip(&packed.cases)
                        .filter(|((_, w), _)| *w == write)
                        .map(|((c, _), json)| (c, json))
                        .collect();
                    for chunk in rows.chunks(CHUNK_ROWS) {
                        let mut q = match write {
                            RowWrite::Insert => push_case_upsert(chunk),
                            RowWrite::Update => push_case_update(chunk, &crate::sql::CASE_SQL.update_set),
                            RowWrite::UpdateUnindexed => {
                                push_case_update(chunk, &crate::sql::CASE_SQL.update_unindexed_set)
                            }
                        };
                        q.build().execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
                    }
                }
                laps.mark("cases");
                sqlx::query("UPDATE log_head SET size = $1 WHERE id = 1")
                    .bind(plan.log_size as i64)
                    .execute(&mut *tx)
                    .await?;
                laps.mark("log_head");
                laps.log(plan.events.len());
                Ok(())
            }

            async fn commit(self: Box<Self>) -> Result<()> {
                self.tx.commit().await?;
                for t in &self.fresh {
                    self.packer.adopt(t)?;
                }
                Ok(())
            }
        }

        const CHUNK_ROWS: usize = crate::sql::CHUNK;
        /// Identities per lookup statement: below SQLite's limit of 500
        /// terms in one compound SELECT.
        const IDENTITY_CHUNK: usize = 100;

/// Tally rows added to what is stored (`add`), or written as they are.
        fn push_tally_upsert<'a>(
            rows: &'a [(crate::figures::TallyKey, crate::figures::Counts)],
            add: bool,
        ) -> QueryBuilder<'a, $db> {
            let counts = crate::sql::TALLY_COUNTS;
            let mut q = QueryBuilder::<$db>::new(format!(
                "INSERT INTO case_tallies (node, dimension, value, day, {}) ",
                counts.join(", ")
            ));
            q.push_values(rows, |mut b, (k, c)| {
                b.push_bind(k.node.as_str())
                    .push_bind(k.dimension.as_str())
                    .push_bind(k.value.as_str())
                    .push_bind(k.day)
                    .push_bind(c.registered)
                    .push_bind(c.resolved)
                    .push_bind(c.on_time)
                    .push_bind(c.rated)
                    .push_bind(c.satisfied)
                    .push_bind(c.repeats)
                    .push_bind(c.overdue);
            });
            let set: Vec<String> = counts
                .iter()
                .map(|c| if add { format!("{c} = case_tallies.{c} + excluded.{c}") } else { format!("{c} = excluded.{c}") })
                .collect();
            q.push(format!(" ON CONFLICT (node, day, dimension, value) DO UPDATE SET {}", set.join(", ")));
            q
        }

        fn push_identity_insert<'a>(
            rows: &'a [(CaseId, jiefen_domain::repeats::IdentityHash, i64)],
        ) -> QueryBuilder<'a, $db> {
            let mut q =
                QueryBuilder::<$db>::new("INSERT INTO identities (hash, reason, case_id, at_ms) ");
            q.push_values(rows, |mut b, (id, i, at)| {
                b.push_bind(i.hash.0.to_vec())
                    .push_bind(i.reason.as_str())
                    .push_bind(id.0.as_bytes().to_vec())
                    .push_bind(*at);
            });
            q
        }

        /// Destroys a party's key (keeping the row, with the time, as the
        /// register of erasures) and deletes its sealed values. True when
        /// the party had not been erased before.
        async fn erase_in(
            conn: &mut <$db as sqlx::Database>::Connection,
            id: CaseId,
            party_no: u32,
            at_ms: i64,
        ) -> Result<bool> {
            let erased = sqlx::query(
                "UPDATE party_keys SET wrapped = NULL, erased_at_ms = $1 \
                 WHERE case_id = $2 AND party_no = $3 AND erased_at_ms IS NULL",
            )
            .bind(at_ms)
            .bind(id.to_string())
            .bind(i64::from(party_no))
            .execute(&mut *conn)
            .await?
            .rows_affected()
                > 0;
            sqlx::query("DELETE FROM personal_data WHERE case_id = $1 AND party_no = $2")
                .bind(id.to_string())
                .bind(i64::from(party_no))
                .execute(&mut *conn)
                .await?;
            Ok(erased)
        }

        async fn replace_identities_in(
            conn: &mut <$db as sqlx::Database>::Connection,
            id: CaseId,
            identities: &[jiefen_domain::repeats::IdentityHash],
            at_ms: i64,
        ) -> Result<()> {
            sqlx::query("DELETE FROM identities WHERE case_id = $1")
                .bind(id.0.as_bytes().to_vec())
                .execute(&mut *conn)
                .await?;
            let rows: Vec<_> = identities.iter().map(|i| (id, i.clone(), at_ms)).collect();
            for chunk in rows.chunks(CHUNK_ROWS) {
                push_identity_insert(chunk).build().execute(&mut *conn).await?;
            }
            Ok(())
        }

        async fn fetch_nodes(
            conn: &mut <$db as sqlx::Database>::Connection,
            wanted: &[Subtree],
        ) -> Result<HashMap<Subtree, Hash>> {
            let mut out = HashMap::with_capacity(wanted.len());
            // Leaves are not stored as nodes: each is its event's hash
            // hashed again, and the event's leaf index is its key.
            let (leaves, inner): (Vec<Subtree>, Vec<Subtree>) =
                wanted.iter().partition(|s| s.level == 0);
            for chunk in leaves.chunks(CHUNK_ROWS) {
                let mut q = QueryBuilder::<$db>::new("SELECT leaf_index, hash FROM events WHERE leaf_index IN (");
                let mut list = q.separated(", ");
                for s in chunk {
                    list.push_bind(s.index as i64);
                }
                q.push(")");
                for r in q.build().fetch_all(&mut *conn).await? {
                    let hash = hash_from_bytes(r.try_get::<&[u8], _>("hash")?)?;
                    out.insert(
                        Subtree::leaf(r.try_get::<i64, _>("leaf_index")? as u64),
                        jiefen_ledger::merkle::leaf_hash(hash.as_bytes()),
                    );
                }
            }
            for chunk in inner.chunks(CHUNK_ROWS) {
                let mut q = QueryBuilder::<$db>::new("SELECT level, idx, hash FROM log_nodes WHERE ");
                let mut first = true;
                for s in chunk {
                    if !first {
                        q.push(" OR ");
                    }
                    first = false;
                    q.push("(level = ")
                        .push_bind(i64::from(s.level))
                        .push(" AND idx = ")
                        .push_bind(s.index as i64)
                        .push(")");
                }
                for r in q.build().fetch_all(&mut *conn).await? {
                    let s = Subtree {
                        level: r.try_get::<i64, _>("level")? as u32,
                        index: r.try_get::<i64, _>("idx")? as u64,
                    };
                    out.insert(s, hash_from_bytes(r.try_get::<&[u8], _>("hash")?)?);
                }
            }
            Ok(out)
        }

        fn push_filter<'a>(q: &mut QueryBuilder<'a, $db>, query: &'a CaseQuery) {
            let f = &query.filter;
            q.push(" WHERE 1 = 1");
            let scope_path = match &f.scope {
                ScopeFilter::Everything => None,
                ScopeFilter::Subtree(p) => Some(p),
                ScopeFilter::Body(b) => {
                    q.push(" AND body = ").push_bind(b.as_str());
                    None
                }
                ScopeFilter::Nothing => {
                    q.push(" AND 1 = 0");
                    None
                }
            };
            for p in [scope_path, f.jpath_prefix.as_ref()].into_iter().flatten() {
                q.push(" AND jpath LIKE ").push_bind(format!("{}%", like_escape(p)));
                q.push(" ESCAPE '\\'");
            }
            if let Some(k) = f.kind {
                q.push(" AND kind = ").push_bind(k.as_str());
            }
            if let Some(s) = f.state {
                q.push(" AND state = ").push_bind(s.as_str());
            }
            if let Some(c) = &f.category {
                q.push(" AND (category = ").push_bind(c.as_str());
                q.push(" OR category LIKE ").push_bind(format!("{}.%", like_escape(c)));
                q.push(" ESCAPE '\\')");
            }
            if let Some(b) = &f.body {
                q.push(" AND body = ").push_bind(b.as_str());
            }
            if let Some(r) = f.risk {
                q.push(" AND risk = ").push_bind(r.as_str());
            }
            if f.no_body {
                q.push(" AND body IS NULL");
            }
            if let Some(p) = &f.place {
                q.push(" AND jurisdiction = ").push_bind(p.as_str());
            }
            if let Some(c) = f.channel {
                q.push(" AND channel = ").push_bind(c.as_str());
            }
            if let Some(who) = &f.registered_by {
                q.push(" AND registered_by = ").push_bind(who.as_str());
            }
            if let Some(who) = &f.handler {
                q.push(" AND handler = ").push_bind(who.as_str());
            }
            for (column, wanted) in [
                ("resolved", f.resolved),
                ("on_time", f.on_time),
                ("satisfied", f.satisfied),
                ("returned", f.returned),
                ("overdue", f.overdue),
            ] {
                // A literal, not a parameter: a partial index (the board's
                // returned cases) is used only for a WHERE it can see.
                if let Some(w) = wanted {
                    q.push(format!(" AND {column} = {}", i16::from(w)));
                }
            }
            if let Some(sig) = f.signal {
                let now = query.now.unix_millis();
                q.push(" AND due_at_ms IS NOT NULL AND (");
                match sig {
                    DeadlineSignal::Overdue => {
                        q.push("(paused_signal IS NULL AND due_at_ms < ").push_bind(now).push(")");
                    }
                    DeadlineSignal::DueSoon => {
                        q.push("(paused_signal IS NULL AND due_soon_at_ms <= ")
                            .push_bind(now)
                            .push(" AND due_at_ms >= ")
                            .push_bind(now)
                            .push(")");
                    }
                    DeadlineSignal::OnTrack => {
                        q.push("(paused_signal IS NULL AND due_soon_at_ms > ").push_bind(now).push(")");
                    }
                }
                q.push(" OR paused_signal = ").push_bind(sig.as_str()).push(")");
            }
            if let Some(t) = f.created_from {
                q.push(" AND created_at_ms >= ").push_bind(t.unix_millis());
            }
            if let Some(t) = f.created_to {
                q.push(" AND created_at_ms < ").push_bind(t.unix_millis());
            }
        }

        /// The case whose `column` (a unique key) is `key`.
        async fn one_case(
            packer: &crate::packing::Packer,
            pool: &sqlx::Pool<$db>,
            by: CaseKey,
            key: &str,
        ) -> Result<Option<Case>> {
            let sql = match by {
                CaseKey::Id => "SELECT state_json FROM cases WHERE id = $1",
                CaseKey::ReceiptCode => "SELECT state_json FROM cases WHERE receipt_code = $1",
            };
            let stored: Option<Vec<u8>> =
                sqlx::query_scalar(sql)
                    .bind(key)
                    .fetch_optional(pool)
                    .await?;
            match stored {
                Some(s) => Ok(Some(case_from_json(&unpacked(packer, pool, &s).await?)?)),
                None => Ok(None),
            }
        }

        /// What a page of the case list reads of each row.
        const LIST_HEAD: &str = "SELECT state_json FROM cases";

        /// One statement of a page of the case list, `head` followed by the
        /// query's filters, the walk's part of the cursor, its order and
        /// `limit`: each walks one index range in order, so no statement
        /// sorts the matching rows.
        fn list_walk<'a>(head: &str, query: &'a CaseQuery, walk: ListWalk, limit: i64) -> QueryBuilder<'a, $db> {
            let mut q = QueryBuilder::<$db>::new(head);
            push_walk(&mut q, query, walk, None, limit);
            q
        }

        /// The filters, cursor, order and limit of [`list_walk`], appended
        /// to `q`; with `place`, only the cases of that one place (a
        /// `jpath`), the branch of a [`merged_walk`].
        fn push_walk<'a>(
            q: &mut QueryBuilder<'a, $db>,
            query: &'a CaseQuery,
            walk: ListWalk,
            place: Option<&'a str>,
            limit: i64,
        ) {
            push_filter(q, query);
            if let Some(p) = place {
                q.push(" AND jpath = ").push_bind(p);
            }
            let after = query.after;
            match (query.order, walk) {
                (CaseOrder::Deadline, ListWalk::NoDeadline) => {
                    q.push(" AND due_at_ms IS NULL");
                    if let Some(ListCursor::Deadline { due_at_ms: None, id }) = after {
                        q.push(" AND id < ").push_bind(id.to_string());
                    }
                }
                (CaseOrder::Deadline, _) => {
                    q.push(" AND due_at_ms IS NOT NULL");
                    if let Some(ListCursor::Deadline { due_at_ms: Some(due), id }) = after {
                        q.push(" AND (due_at_ms > ")
                            .push_bind(due)
                            .push(" OR (due_at_ms = ")
                            .push_bind(due)
                            .push(" AND id > ")
                            .push_bind(id.to_string())
                            .push("))");
                    }
                }
                (CaseOrder::Priority, _) => {
                    if let Some(ListCursor::Priority { urgent, id }) = after {
                        q.push(" AND (urgent < ")
                            .push_bind(i16::from(urgent))
                            .push(" OR (urgent = ")
                            .push_bind(i16::from(urgent))
                            .push(" AND id < ")
                            .push_bind(id.to_string())
                            .push("))");
                    }
                }
                (order @ (CaseOrder::Newest | CaseOrder::Oldest), _) => {
                    if let Some(ListCursor::Registered { id }) = after {
                        q.push(if order == CaseOrder::Newest { " AND id < " } else { " AND id > " })
                            .push_bind(id.to_string());
                    }
                }
            }
            q.push(walk_order(query.order, walk)).push(" LIMIT ").push_bind(limit);
        }

        /// The ORDER BY of one walk of a page of the case list.
        fn walk_order(order: CaseOrder, walk: ListWalk) -> &'static str {
            match (order, walk) {
                (CaseOrder::Deadline, ListWalk::NoDeadline) => " ORDER BY id DESC",
                (CaseOrder::Deadline, _) => " ORDER BY due_at_ms, id",
                (CaseOrder::Priority, _) => " ORDER BY urgent DESC, id DESC",
                (CaseOrder::Newest, _) => " ORDER BY id DESC",
                (CaseOrder::Oldest, _) => " ORDER BY id",
            }
        }

        /// [`list_walk`] for a subtree of a few places, as a merge: one
        /// ordered walk per place along `cases_jpath_deadline` (or
        /// `cases_jpath`), each stopping after `limit`, then the first
        /// `limit` of them all. The walk of the whole store's index in the
        /// page's order would pass every other place's cases on the way: at
        /// ten million cases a town's queue by deadline is a thousandth of
        /// the running deadlines.
        fn merged_walk<'a>(
            head: &str,
            query: &'a CaseQuery,
            walk: ListWalk,
            places: &'a [String],
            limit: i64,
        ) -> QueryBuilder<'a, $db> {
            let order = walk_order(query.order, walk);
            let mut q = QueryBuilder::<$db>::new(head);
            q.push(" WHERE id IN (SELECT id FROM (");
            for (i, place) in places.iter().enumerate() {
                if i > 0 {
                    q.push(" UNION ALL ");
                }
                q.push("SELECT due_at_ms, id FROM (SELECT due_at_ms, id FROM cases");
                push_walk(&mut q, query, walk, Some(place), limit);
                q.push(format!(") AS place{i}"));
            }
            q.push(") AS merged").push(order).push(" LIMIT ").push_bind(limit).push(")").push(order);
            q
        }

        /// The places (`jpath`s) a page of the case list can be merged
        /// from ([`merged_walk`]): those of its subtree that have cases,
        /// found by one index seek each, or `None` when the page's order
        /// has no index by place, when a body's own index serves it
        /// better, or when the subtree has more than [`MERGED_PLACES`]
        /// places (a county's: its cases are then a large share of the
        /// store, and the plain walk soon finds a page of them).
        async fn merge_places(pool: &sqlx::Pool<$db>, query: &CaseQuery) -> Result<Option<Vec<String>>> {
            let f = &query.filter;
            let by_place = matches!(query.order, CaseOrder::Deadline | CaseOrder::Newest | CaseOrder::Oldest);
            let own_index = f.body.is_some() || f.handler.is_some() || f.registered_by.is_some();
            let scope = match &f.scope {
                ScopeFilter::Subtree(p) => Some(p),
                ScopeFilter::Everything => None,
                ScopeFilter::Body(_) | ScopeFilter::Nothing => return Ok(None),
            };
            // Both apply; the longer is the narrower (or, if neither
            // contains the other, the filter finds nothing either way).
            let Some(prefix) = [scope, f.jpath_prefix.as_ref()].into_iter().flatten().max_by_key(|p| p.len()) else {
                return Ok(None);
            };
            if !by_place || own_index {
                return Ok(None);
            }
            let places: Vec<String> = sqlx::query_scalar($subtree_places)
                .bind(prefix.as_str())
                .bind(format!("{prefix}{}", char::MAX))
                .bind(crate::sql::MERGED_PLACES as i64)
                .fetch_all(pool)
                .await?;
            Ok((places.len() <= crate::sql::MERGED_PLACES).then_some(places))
        }

        async fn fetch_cases(
            packer: &crate::packing::Packer,
            pool: &sqlx::Pool<$db>,
            mut q: QueryBuilder<'_, $db>,
        ) -> Result<Vec<Case>> {
            let mut cases = Vec::new();
            for r in q.build().fetch_all(pool).await? {
                cases.push(case_from_json(&unpacked(packer, pool, r.try_get("state_json")?).await?)?);
            }
            Ok(cases)
        }

        /// What [`crate::figures::Standing`] reads of a projection row.
        const STANDING_COLUMNS: &str =
            "jpath, category, channel, body, created_at_ms, state, resolved, on_time, satisfied, overdue";

        fn standing_from_row(r: &<$db as sqlx::Database>::Row) -> Result<crate::figures::Standing> {
            Ok(crate::figures::Standing {
                jpath: r.try_get("jpath")?,
                category: r.try_get("category")?,
                channel: r.try_get("channel")?,
                body: r.try_get("body")?,
                created_at_ms: r.try_get("created_at_ms")?,
                figures: figures_from_row(r)?,
            })
        }

/// The figures' columns of a projection row.
        fn figures_from_row(r: &<$db as sqlx::Database>::Row) -> Result<jiefen_domain::case::CaseFigures> {
            Ok(jiefen_domain::case::CaseFigures {
                resolved: r.try_get::<i16, _>("resolved")? != 0,
                on_time: r.try_get::<i16, _>("on_time")? != 0,
                satisfied: r.try_get::<Option<i16>, _>("satisfied")?.map(|v| v != 0),
                repeat: r.try_get::<&str, _>("state")? == "merged",
                overdue: r.try_get::<i16, _>("overdue")? != 0,
            })
        }

        fn tally_from_row(
            r: &<$db as sqlx::Database>::Row,
            node: &str,
        ) -> Result<(crate::figures::TallyKey, crate::figures::Counts)> {
            let dimension: &str = r.try_get("dimension")?;
            Ok((
                crate::figures::TallyKey {
                    node: node.to_owned(),
                    dimension: crate::figures::Dimension::parse(dimension)
                        .ok_or_else(|| StoreError::Corrupt(format!("tally dimension {dimension:?}")))?,
                    value: r.try_get("value")?,
                    day: r.try_get("day")?,
                },
                crate::figures::Counts {
                    registered: r.try_get("registered")?,
                    resolved: r.try_get("resolved")?,
                    on_time: r.try_get("on_time")?,
                    rated: r.try_get("rated")?,
                    satisfied: r.try_get("satisfied")?,
                    repeats: r.try_get("repeats")?,
                    overdue: r.try_get("overdue")?,
                },
            ))
        }

        fn like_escape(s: &str) -> String {
            s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
        }

        /// The most recent cases of each identity hash since `since_ms`.
        async fn identity_hits(
            conn: &mut <$db as sqlx::Database>::Connection,
            hashes: &[Hash],
            since_ms: i64,
        ) -> Result<Vec<IdentityHit>> {
            // The most recent few per identity, each by its own walk of
            // the (hash, at_ms) index: the cost stays flat however many
            // cases one identity has brought.
            let per_hash = jiefen_domain::repeats::LISTED_REPEATS as i64;
            let mut out = Vec::new();
            for chunk in hashes.chunks(IDENTITY_CHUNK) {
                let mut q = QueryBuilder::<$db>::new("");
                for (i, h) in chunk.iter().enumerate() {
                    if i > 0 {
                        q.push(" UNION ALL ");
                    }
                    q.push("SELECT * FROM (SELECT hash, case_id FROM identities WHERE hash = ")
                        .push_bind(h.0.to_vec())
                        .push(" AND at_ms >= ")
                        .push_bind(since_ms)
                        .push(" ORDER BY at_ms DESC LIMIT ")
                        .push_bind(per_hash)
                        .push(")");
                    // PostgreSQL wants every subquery in FROM named.
                    q.push(format!(" AS i{i}"));
                }
                for r in q.build().fetch_all(&mut *conn).await? {
                    out.push(IdentityHit {
                        hash: hash_from_bytes(r.try_get("hash")?)?,
                        case_id: id_from_bytes(r.try_get("case_id")?)?,
                    });
                }
            }
            Ok(out)
        }

        #[async_trait]
        impl Store for $store {
            fn kind(&self) -> &'static str {
                $kind
            }

            async fn begin(&self) -> Result<Box<dyn BatchTx>> {
                Ok(Box::new($tx {
                    tx: crate::transaction::WriteTx::begin(&self.write_pool, $begin_sql).await?,
                    packer: self.packer.clone(),
                    fresh: Vec::new(),
                }))
            }

            async fn begin_unsynced(&self) -> Result<Box<dyn BatchTx>> {
                Ok(Box::new($tx {
                    tx: crate::transaction::WriteTx::begin_with(&self.write_pool, $begin_sql, $unsynced)
                        .await?,
                    packer: self.packer.clone(),
                    fresh: Vec::new(),
                }))
            }

            async fn get_case(&self, id: CaseId) -> Result<Option<Case>> {
                one_case(&self.packer, &self.pool, CaseKey::Id, &id.to_string()).await
            }

            async fn case_by_receipt(&self, receipt_code: &str) -> Result<Option<Case>> {
                one_case(&self.packer, &self.pool, CaseKey::ReceiptCode, receipt_code).await
            }

            async fn case_document(&self, id: CaseId) -> Result<Option<CaseDocument>> {
                let row = sqlx::query(
                    "SELECT state_json, jpath, body, state, due_at_ms, due_soon_at_ms, paused_signal FROM cases WHERE id = $1",
                )
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
                let Some(r) = row else { return Ok(None) };
                let json = unpacked(&self.packer, &self.pool, r.try_get("state_json")?).await?;
                Ok(Some(CaseDocument {
                    json,
                    jpath: r.try_get("jpath")?,
                    body: r.try_get("body")?,
                    state: r.try_get("state")?,
                    due_at_ms: r.try_get("due_at_ms")?,
                    due_soon_at_ms: r.try_get("due_soon_at_ms")?,
                    paused_signal: r.try_get("paused_signal")?,
                }))
            }

            async fn list_cases(&self, query: &CaseQuery) -> Result<Vec<Case>> {
                let limit = i64::from(query.limit);
                let places = merge_places(&self.pool, query).await?;
                if places.as_ref().is_some_and(|p| p.is_empty()) {
                    return Ok(Vec::new());
                }
                let fetch = |walk, limit| {
                    let q = match &places {
                        Some(places) => merged_walk(LIST_HEAD, query, walk, places, limit),
                        None => list_walk(LIST_HEAD, query, walk, limit),
                    };
                    fetch_cases(&self.packer, &self.pool, q)
                };
                if query.order != CaseOrder::Deadline {
                    return fetch(ListWalk::Only, limit).await;
                }
                // Two walks, each along an index: the running deadlines
                // by (due_at_ms, id), then the cases with none by id. One
                // ORDER BY over both would sort every matching row.
                let mut cases = Vec::new();
                if !matches!(query.after, Some(ListCursor::Deadline { due_at_ms: None, .. })) {
                    cases = fetch(ListWalk::RunningDeadlines, limit).await?;
                }
                let wanted = limit - cases.len() as i64;
                if wanted > 0 {
                    cases.extend(fetch(ListWalk::NoDeadline, wanted).await?);
                }
                Ok(cases)
            }

            async fn due_watches(&self, now_ms: i64, limit: u32) -> Result<Vec<CaseId>> {
                let rows: Vec<String> = sqlx::query_scalar(
                    "SELECT id FROM cases WHERE watch_at_ms IS NOT NULL AND watch_at_ms <= $1 \
                     ORDER BY watch_at_ms LIMIT $2",
                )
                .bind(now_ms)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|s| parse_id(s)).collect()
            }

            async fn inbox(&self, query: &InboxQuery) -> Result<Vec<InboxItem>> {
                let mut q = QueryBuilder::<$db>::new(
                    "SELECT i.id, i.case_id, i.seq, i.kind, i.at_ms, i.text, i.read_at_ms, \
                     COALESCE(c.urgent, CAST(0 AS SMALLINT)) AS urgent \
                     FROM inbox i LEFT JOIN cases c ON c.id = i.case_id WHERE i.recipient = ",
                );
                q.push_bind(query.recipient.to_string());
                if query.unread_only {
                    q.push(" AND i.read_at_ms IS NULL");
                }
                if let Some(k) = query.kind {
                    q.push(" AND i.kind = ").push_bind(k.as_str());
                }
                if let Some(before) = query.before {
                    q.push(" AND i.id < ").push_bind(before);
                }
                if !query.cases.is_empty() {
                    // Written as a subquery so that the planner starts from
                    // the page's few cases (the partial index of unread
                    // notices by case) instead of walking a centre's
                    // hundreds of thousands of notices by recipient.
                    q.push(" AND i.id IN (SELECT u.id FROM inbox u WHERE u.case_id IN (");
                    let mut sep = q.separated(", ");
                    for id in &query.cases {
                        sep.push_bind(id.to_string());
                    }
                    q.push(")");
                    if query.unread_only {
                        q.push(" AND u.read_at_ms IS NULL");
                    }
                    q.push(")");
                }
                q.push(" ORDER BY i.id DESC LIMIT ").push_bind(i64::from(query.limit));
                q.build()
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| {
                        let kind: &str = r.try_get("kind")?;
                        Ok(InboxItem {
                            id: r.try_get("id")?,
                            case_id: parse_id(r.try_get("case_id")?)?,
                            seq: r.try_get::<i64, _>("seq")? as u64,
                            kind: NoticeKind::parse(kind)
                                .ok_or_else(|| StoreError::Corrupt(format!("inbox kind {kind:?}")))?,
                            at: jiefen_domain::Timestamp::from_unix_millis(r.try_get("at_ms")?),
                            text: r.try_get("text")?,
                            read_at: r
                                .try_get::<Option<i64>, _>("read_at_ms")?
                                .map(jiefen_domain::Timestamp::from_unix_millis),
                            urgent: r.try_get::<i16, _>("urgent")? != 0,
                        })
                    })
                    .collect()
            }

            async fn inbox_unread(&self, recipient: &jiefen_domain::inbox::Recipient) -> Result<UnreadCounts> {
                // One bounded walk of the unread index per kind: a GROUP BY
                // would count every unread row of the inbox.
                let mut q = QueryBuilder::<$db>::new("");
                for (i, kind) in NoticeKind::ALL.iter().enumerate() {
                    if i > 0 {
                        q.push(" UNION ALL ");
                    }
                    q.push("SELECT ")
                        .push_bind(kind.as_str())
                        .push(" AS kind, COUNT(*) AS n FROM (SELECT 1 AS one FROM inbox WHERE recipient = ")
                        .push_bind(recipient.to_string())
                        .push(" AND kind = ")
                        .push_bind(kind.as_str())
                        .push(" AND read_at_ms IS NULL LIMIT ")
                        .push_bind(UnreadCounts::LIMIT as i64 + 1)
                        .push(") AS k");
                }
                let rows = q.build().fetch_all(&self.pool).await?;
                let counted = rows
                    .iter()
                    .map(|r| {
                        let kind: &str = r.try_get("kind")?;
                        let kind = NoticeKind::parse(kind)
                            .ok_or_else(|| StoreError::Corrupt(format!("inbox kind {kind:?}")))?;
                        Ok((kind, r.try_get::<i64, _>("n")? as u64))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(UnreadCounts::from_counted(counted))
            }

            async fn mark_read(
                &self,
                recipient: &jiefen_domain::inbox::Recipient,
                ids: Option<&[i64]>,
                at_ms: i64,
            ) -> Result<u64> {
                let mut q = QueryBuilder::<$db>::new("UPDATE inbox SET read_at_ms = ");
                q.push_bind(at_ms)
                    .push(" WHERE read_at_ms IS NULL AND recipient = ")
                    .push_bind(recipient.to_string());
                if let Some(ids) = ids {
                    if ids.is_empty() {
                        return Ok(0);
                    }
                    q.push(" AND id IN (");
                    let mut sep = q.separated(", ");
                    for id in ids {
                        sep.push_bind(*id);
                    }
                    q.push(")");
                }
                Ok(q.build().execute(&self.pool).await?.rows_affected())
            }

            async fn suspend_indexes(&self) -> Result<usize> {
                let found: Vec<(String, String)> = sqlx::query_as(&Self::secondary_indexes())
                    .fetch_all(&self.write_pool)
                    .await?;
                let mut tx = crate::transaction::WriteTx::begin(&self.write_pool, $begin_sql).await?;
                for (name, sql) in &found {
                    sqlx::query("INSERT INTO suspended_indexes (name, sql) VALUES ($1, $2)")
                        .bind(name)
                        .bind(sql)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(&format!("DROP INDEX \"{}\"", name.replace('"', "")))
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(found.len())
            }

            async fn restore_indexes(&self, only: Option<&str>) -> Result<usize> {
                let mut suspended: Vec<(String, String)> =
                    sqlx::query_as("SELECT name, sql FROM suspended_indexes ORDER BY name")
                        .fetch_all(&self.write_pool)
                        .await?;
                suspended.retain(|(name, _)| only.is_none_or(|o| o == name));
                for (name, sql) in &suspended {
                    let mut tx = crate::transaction::WriteTx::begin(&self.write_pool, $begin_sql).await?;
                    sqlx::query(sql).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM suspended_indexes WHERE name = $1")
                        .bind(name)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                }
                Ok(suspended.len())
            }

            async fn refresh_statistics(&self) -> Result<()> {
                let refresh: Option<String> = $refresh_statistics;
                if let Some(sql) = refresh {
                    sqlx::query(&sql).execute(&self.write_pool).await?;
                }
                Ok(())
            }

            async fn suspended_indexes(&self) -> Result<usize> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM suspended_indexes")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n as usize)
            }

            async fn packing(&self) -> Result<crate::packing::Report> {
                use crate::packing::Share;
                let mut shares = Vec::new();
                for (table, column) in [("events", "body"), ("cases", "state_json")] {
                    let (rows, packed, bytes): (i64, i64, i64) = sqlx::query_as(&Share::count_sql(table, column))
                        .bind(crate::packing::FRAME_MAGIC.to_vec())
                        .fetch_one(&self.pool)
                        .await?;
                    shares.push(Share { rows: rows as u64, packed: packed as u64, bytes: bytes as u64 });
                }
                let dictionaries: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dictionaries")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(crate::packing::Report {
                    dictionaries: dictionaries as u64,
                    events: shares[0],
                    cases: shares[1],
                })
            }

            async fn count_cases(&self) -> Result<u64> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n as u64)
            }

            async fn case_ids(&self, after: Option<CaseId>, limit: u32) -> Result<Vec<CaseId>> {
                let rows: Vec<String> = sqlx::query_scalar(
                    "SELECT id FROM cases WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after.map(|a| a.to_string()).unwrap_or_default())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|s| parse_id(s)).collect()
            }

            async fn identity_repeats(&self, hashes: &[Hash], since_ms: i64) -> Result<Vec<IdentityHit>> {
                let mut conn = self.pool.acquire().await?;
                identity_hits(&mut conn, hashes, since_ms).await
            }

            async fn changed_since(&self, leaf: u64, limit: u32) -> Result<Vec<(u64, CaseId)>> {
                let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT leaf_index, case_id FROM events WHERE leaf_index >= $1 \
                     ORDER BY leaf_index LIMIT $2",
                )
                .bind(leaf as i64)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|(leaf, id)| Ok((*leaf as u64, id_from_bytes(id)?)))
                    .collect()
            }

            async fn events(&self, id: CaseId) -> Result<Vec<EventRow>> {
                let rows = sqlx::query(
                    "SELECT seq, leaf_index, body, hash FROM events WHERE case_id = $1 ORDER BY seq",
                )
                .bind(id.0.as_bytes().to_vec())
                .fetch_all(&self.pool)
                .await?;
                let mut out = Vec::with_capacity(rows.len());
                let mut prev = Hash::ZERO;
                for r in &rows {
                    let body = unpacked(&self.packer, &self.pool, r.try_get("body")?).await?;
                    let hash = hash_from_bytes(r.try_get("hash")?)?;
                    out.push(
                        EventRow::stored(
                            id,
                            r.try_get::<i64, _>("seq")? as u64,
                            r.try_get::<i64, _>("leaf_index")? as u64,
                            body,
                            prev,
                            hash,
                        )
                        .map_err(StoreError::Corrupt)?,
                    );
                    prev = hash;
                }
                Ok(out)
            }

            async fn projection(&self, id: CaseId) -> Result<Option<CaseRow>> {
                let row = sqlx::query(&format!("SELECT {} FROM cases WHERE id = $1", crate::sql::CASE_SQL.columns))
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(r) = row else { return Ok(None) };
                let json = unpacked(&self.packer, &self.pool, r.try_get("state_json")?).await?;
                case_row(&r, json).map(Some)
            }

            async fn sealed_personal(
                &self,
                id: CaseId,
            ) -> Result<(Vec<SealedValue>, Vec<PartyKeyRow>)> {
                let rows = sqlx::query(
                    "SELECT party_no, field, value, commitment FROM personal_data \
                     WHERE case_id = $1 ORDER BY party_no, field",
                )
                .bind(id.to_string())
                .fetch_all(&self.pool)
                .await?;
                let values = rows
                    .iter()
                    .map(|r| {
                        let field: &str = r.try_get("field")?;
                        Ok(SealedValue {
                            party_no: r.try_get::<i64, _>("party_no")? as u32,
                            field: PersonalFieldKind::parse(field)
                                .ok_or_else(|| StoreError::Corrupt(format!("field {field}")))?,
                            sealed: r.try_get("value")?,
                            commitment: parse_hash(r.try_get("commitment")?)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let rows = sqlx::query(
                    "SELECT party_no, wrapped, erased_at_ms FROM party_keys \
                     WHERE case_id = $1 ORDER BY party_no",
                )
                .bind(id.to_string())
                .fetch_all(&self.pool)
                .await?;
                let keys = rows
                    .iter()
                    .map(|r| {
                        Ok(PartyKeyRow {
                            party_no: r.try_get::<i64, _>("party_no")? as u32,
                            wrapped: r.try_get("wrapped")?,
                            erased_at_ms: r.try_get("erased_at_ms")?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok((values, keys))
            }

            async fn has_clear_personal(&self) -> Result<bool> {
                let any: Option<i64> =
                    sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM personal_data WHERE salt <> '' LIMIT 1")
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(any.is_some())
            }

            async fn vault_check(&self) -> Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT check_value FROM vault WHERE id = 1")
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn init_vault_check(&self, check: &str) -> Result<String> {
                sqlx::query(
                    "INSERT INTO vault (id, check_value) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
                )
                .bind(check)
                .execute(&self.write_pool)
                .await?;
                Ok(sqlx::query_scalar("SELECT check_value FROM vault WHERE id = 1")
                    .fetch_one(&self.write_pool)
                    .await?)
            }

            async fn erase_party(
                &self,
                id: CaseId,
                party_no: u32,
                at_ms: i64,
                remaining: &[jiefen_domain::repeats::IdentityHash],
            ) -> Result<bool> {
                let mut tx = crate::transaction::WriteTx::begin(&self.write_pool, $begin_sql).await?;
                let erased = erase_in(&mut tx, id, party_no, at_ms).await?;
                replace_identities_in(&mut tx, id, remaining, at_ms).await?;
                tx.commit().await?;
                Ok(erased)
            }

            async fn scrub(&self) -> Result<()> {
                self.scrub_files().await
            }

            async fn party_keys_after(
                &self,
                after: Option<(CaseId, u32)>,
                limit: u32,
            ) -> Result<Vec<(CaseId, PartyKeyRow)>> {
                let (case, party) = after
                    .map(|(c, p)| (c.to_string(), i64::from(p)))
                    .unwrap_or_default();
                let rows = sqlx::query(
                    "SELECT case_id, party_no, wrapped, erased_at_ms FROM party_keys \
                     WHERE case_id > $1 OR (case_id = $1 AND party_no > $2) \
                     ORDER BY case_id, party_no LIMIT $3",
                )
                .bind(case)
                .bind(party)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let id: &str = r.try_get("case_id")?;
                        Ok((
                            parse_id(id)?,
                            PartyKeyRow {
                                party_no: r.try_get::<i64, _>("party_no")? as u32,
                                wrapped: r.try_get("wrapped")?,
                                erased_at_ms: r.try_get("erased_at_ms")?,
                            },
                        ))
                    })
                    .collect()
            }

            async fn merge_party_keys(&self, rows: &[(CaseId, PartyKeyRow)]) -> Result<KeyMerge> {
                let mut tx = crate::transaction::WriteTx::begin(&self.write_pool, $begin_sql).await?;
                let mut merge = KeyMerge::default();
                for (id, k) in rows {
                    let changed = match (&k.wrapped, k.erased_at_ms) {
                        (_, Some(at_ms)) => {
                            if erase_in(&mut tx, *id, k.party_no, at_ms).await? {
                                merge.erased += 1;
                                true
                            } else {
                                false
                            }
                        }
                        (Some(wrapped), None) => {
                            let n = sqlx::query(
                                "UPDATE party_keys SET wrapped = $1 WHERE case_id = $2 \
                                 AND party_no = $3 AND wrapped IS NULL AND erased_at_ms IS NULL",
                            )
                            .bind(wrapped.clone())
                            .bind(id.to_string())
                            .bind(i64::from(k.party_no))
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                            merge.restored += n;
                            n > 0
                        }
                        (None, None) => false,
                    };
                    if !changed {
                        merge.unchanged += 1;
                    }
                }
                tx.commit().await?;
                Ok(merge)
            }

            async fn count_keyless_parties(&self) -> Result<u64> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM party_keys WHERE wrapped IS NULL AND erased_at_ms IS NULL",
                )
                .fetch_one(&self.pool)
                .await?;
                Ok(n as u64)
            }

            async fn replace_identities(
                &self,
                id: CaseId,
                identities: &[jiefen_domain::repeats::IdentityHash],
                at_ms: i64,
            ) -> Result<()> {
                let mut tx = crate::transaction::WriteTx::begin(&self.write_pool, $begin_sql).await?;
                replace_identities_in(&mut tx, id, identities, at_ms).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn jurisdictions(&self) -> Result<Vec<Jurisdiction>> {
                let rows = sqlx::query("SELECT code, name, level, parent FROM jurisdictions")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let code: &str = r.try_get("code")?;
                        let level: &str = r.try_get("level")?;
                        let parent: Option<&str> = r.try_get("parent")?;
                        let bad = |what: &str| StoreError::Corrupt(format!("jurisdiction {code}: {what}"));
                        Ok(Jurisdiction {
                            code: JurisdictionCode::parse(code).map_err(|_| bad("code"))?,
                            name: r.try_get("name")?,
                            level: Level::parse(level).ok_or_else(|| bad("level"))?,
                            parent: parent
                                .map(JurisdictionCode::parse)
                                .transpose()
                                .map_err(|_| bad("parent"))?,
                        })
                    })
                    .collect()
            }

            async fn bodies(&self) -> Result<Vec<Body>> {
                let rows = sqlx::query("SELECT code, name, kind, jurisdiction, categories FROM bodies")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let value = serde_json::json!({
                            "code": r.try_get::<&str, _>("code")?,
                            "name": r.try_get::<&str, _>("name")?,
                            "kind": r.try_get::<&str, _>("kind")?,
                            "jurisdiction": r.try_get::<&str, _>("jurisdiction")?,
                            "categories": serde_json::from_str::<serde_json::Value>(r.try_get("categories")?)
                                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        });
                        serde_json::from_value(value).map_err(|e| StoreError::Corrupt(format!("body: {e}")))
                    })
                    .collect()
            }

            async fn save_reference(
                &self,
                jurisdictions: &[(Jurisdiction, String)],
                bodies: &[Body],
            ) -> Result<()> {
                let mut tx = crate::transaction::WriteTx::begin(&self.pool, $begin_sql).await?;
                // Parents first, so foreign keys hold at every insert.
                let mut sorted: Vec<&(Jurisdiction, String)> = jurisdictions.iter().collect();
                sorted.sort_by_key(|(j, _)| j.level);
                for (j, path) in sorted {
                    sqlx::query(
                        "INSERT INTO jurisdictions (code, name, level, parent, path) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, \
                         parent = excluded.parent, path = excluded.path",
                    )
                    .bind(j.code.as_str())
                    .bind(&j.name)
                    .bind(j.level.as_str())
                    .bind(j.parent.as_ref().map(|p| p.as_str()))
                    .bind(path)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                }
                for b in bodies {
                    let kind = serde_json::to_value(b.kind).expect("kind serialises");
                    sqlx::query(
                        "INSERT INTO bodies (code, name, kind, jurisdiction, categories) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
                         jurisdiction = excluded.jurisdiction, categories = excluded.categories",
                    )
                    .bind(b.code.as_str())
                    .bind(&b.name)
                    .bind(kind.as_str().unwrap_or_default())
                    .bind(b.jurisdiction.as_str())
                    .bind(serde_json::to_string(&b.categories).expect("codes serialise"))
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn log_size(&self) -> Result<u64> {
                let size: i64 = sqlx::query_scalar("SELECT size FROM log_head WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(size as u64)
            }

            async fn log_nodes(&self, wanted: &[Subtree]) -> Result<HashMap<Subtree, Hash>> {
                let mut conn = self.pool.acquire().await?;
                fetch_nodes(&mut conn, wanted).await
            }

            async fn save_checkpoint(&self, c: &SignedCheckpoint) -> Result<()> {
                sqlx::query(
                    "INSERT INTO checkpoints (tree_size, signed_at, body) VALUES ($1, $2, $3) \
                     ON CONFLICT (tree_size, signed_at) DO NOTHING",
                )
                .bind(c.checkpoint.tree_size as i64)
                .bind(&c.checkpoint.timestamp)
                .bind(serde_json::to_string(c).expect("checkpoint serialises"))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
                let body: Option<String> = sqlx::query_scalar(
                    "SELECT body FROM checkpoints ORDER BY tree_size DESC, signed_at DESC LIMIT 1",
                )
                .fetch_optional(&self.pool)
                .await?;
                body.map(|b| {
                    serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(format!("checkpoint: {e}")))
                })
                .transpose()
            }

            async fn checkpoints_from(&self, min_size: u64, limit: u32) -> Result<Vec<SignedCheckpoint>> {
                let rows: Vec<String> = sqlx::query_scalar(
                    "SELECT body FROM (SELECT body, tree_size, signed_at FROM checkpoints WHERE tree_size >= $1 \
                     ORDER BY tree_size DESC, signed_at DESC LIMIT $2) recent ORDER BY tree_size, signed_at",
                )
                .bind(min_size as i64)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|b| serde_json::from_str(b).map_err(|e| StoreError::Corrupt(format!("checkpoint: {e}"))))
                    .collect()
            }

            async fn tallies(&self, node: &str, from_day: i64, to_day: i64) -> Result<Vec<crate::figures::TallyRow>> {
                let sql = format!(
                    "{} WHERE node = $1 AND day >= $2 AND day < $3",
                    crate::sql::select_tallies("dimension, value, day")
                );
                let rows = sqlx::query(&sql)
                .bind(node)
                .bind(from_day)
                .bind(to_day)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let (key, counts) = tally_from_row(r, node)?;
                        Ok(crate::figures::TallyRow {
                            dimension: key.dimension,
                            value: key.value,
                            day: key.day,
                            counts,
                        })
                    })
                    .collect()
            }

            async fn standings(&self, query: &CaseQuery) -> Result<Vec<crate::figures::Standing>> {
                let mut q = QueryBuilder::<$db>::new(format!("SELECT {STANDING_COLUMNS} FROM cases"));
                push_filter(&mut q, query);
                q.push(" LIMIT ").push_bind(i64::from(query.limit));
                q.build().fetch_all(&self.pool).await?.iter().map(standing_from_row).collect()
            }

            async fn standings_after(&self, after: Option<CaseId>, limit: u32) -> Result<Vec<(CaseId, crate::figures::Standing)>> {
                let mut q = QueryBuilder::<$db>::new(format!("SELECT id, {STANDING_COLUMNS} FROM cases"));
                if let Some(a) = after {
                    q.push(" WHERE id > ").push_bind(a.to_string());
                }
                q.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit));
                q.build()
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| Ok((parse_id(r.try_get("id")?)?, standing_from_row(r)?)))
                    .collect()
            }

            async fn all_tallies(&self) -> Result<Vec<(crate::figures::TallyKey, crate::figures::Counts)>> {
                let nonzero: Vec<String> = crate::sql::TALLY_COUNTS.iter().map(|c| format!("{c} <> 0")).collect();
                let sql = format!(
                    "{} WHERE {}",
                    crate::sql::select_tallies("node, dimension, value, day"),
                    nonzero.join(" OR ")
                );
                let rows = sqlx::query(&sql)
                .fetch_all(&self.pool)
                .await?;
                let mut out = rows
                    .iter()
                    .map(|r| tally_from_row(r, r.try_get::<&str, _>("node")?))
                    .collect::<Result<Vec<_>>>()?;
                out.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(out)
            }

            async fn replace_tallies(&self, rows: &[(crate::figures::TallyKey, crate::figures::Counts)]) -> Result<()> {
                let mut tx = crate::transaction::WriteTx::begin(&self.write_pool, $begin_sql).await?;
                sqlx::query("DELETE FROM case_tallies").execute(&mut *tx).await?;
                for chunk in rows.chunks(CHUNK_ROWS) {
                    push_tally_upsert(chunk, false).build().execute(&mut *tx).await?;
                }
                sqlx::query(
                    "INSERT INTO counters (name, value) VALUES ('tallies_built', 1) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn tallies_built(&self) -> Result<bool> {
                let v: Option<i64> = sqlx::query_scalar("SELECT value FROM counters WHERE name = 'tallies_built'")
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(v.unwrap_or(0) > 0)
            }

            async fn repair(&self, rows: &[CaseRow], notices: &[jiefen_domain::inbox::Notice]) -> Result<()> {
                let mut tx = crate::transaction::WriteTx::begin(&self.pool, $begin_sql).await?;
                let packed: Vec<Vec<u8>> = rows
                    .iter()
                    .map(|c| self.packer.pack(crate::packing::Corpus::Cases, &c.state_json, &[]))
                    .collect();
                let rows: Vec<(&CaseRow, &Vec<u8>)> = rows.iter().zip(&packed).collect();
                for chunk in rows.chunks(CHUNK_ROWS) {
                    push_case_upsert(chunk).build().execute(&mut *tx).await?;
                }
                for chunk in notices.chunks(CHUNK_ROWS) {
                    push_notice_insert(chunk).build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn case_notices(&self, id: CaseId) -> Result<Vec<(String, u64, String)>> {
                let rows = sqlx::query(crate::sql::CASE_NOTICES)
                    .bind(id.to_string())
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.try_get("recipient")?,
                            r.try_get::<i64, _>("seq")? as u64,
                            r.try_get("kind")?,
                        ))
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use sql_store;
