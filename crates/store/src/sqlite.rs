//! The SQLite store: the default, one file in the data directory.
//!
//! Durability: WAL journal with `synchronous = FULL`, so a commit is on disk
//! (the WAL is fsynced) before it is acknowledged. Throughput comes from the
//! writer's group commit, not from relaxing this.

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::time::Duration;

pub struct SqliteStore {
    pool: SqlitePool,
    /// One connection for the one writer: its page cache stays warm across
    /// batches instead of being invalidated by whichever pooled connection
    /// wrote last.
    write_pool: SqlitePool,
    /// Copies the WAL into the database in the background (see `open`).
    checkpointer: tokio::task::JoinHandle<()>,
    packer: std::sync::Arc<crate::packing::Packer>,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.checkpointer.abort();
    }
}

impl SqliteStore {
    /// The secondary indexes a bulk load suspends (see [`crate::bulk`]).
    fn secondary_indexes() -> String {
        format!(
            "SELECT name, sql FROM sqlite_master \
             WHERE type = 'index' AND sql LIKE 'CREATE INDEX %' AND tbl_name IN ({}) \
             ORDER BY name",
            crate::bulk::loaded_tables("'")
        )
    }

    /// Opens (creating if needed) the database file and runs migrations.
    pub async fn open(path: &Path) -> crate::Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Deleted content is overwritten, not left in free space: an
            // erased party's wrapped key must not survive in the file.
            .pragma("secure_delete", "ON");
        // The writer only checkpoints as a backstop (about 80 MB of WAL):
        // normally a background task does it, so copying the WAL into the
        // database never adds to the latency of an acknowledged write. Its
        // page cache (64 MB) holds the upper levels of the case, event and
        // watch indexes, so a deadline-engine tick that touches cases at
        // random reads each leaf once (a 1,000-change tick at a million
        // cases: about 95 ms with SQLite's default 2 MB, about 85 ms with
        // this).
        let write_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(
                options
                    .clone()
                    .pragma("wal_autocheckpoint", "20000")
                    .pragma("cache_size", "-65536"),
            )
            .await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&write_pool)
            .await?;
        // Readers get a larger page cache too.
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options.pragma("cache_size", "-32768"))
            .await?;
        let background = pool.clone();
        let checkpointer = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(500));
            loop {
                every.tick().await;
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&background)
                    .await
                {
                    tracing::warn!(error = %e, "WAL checkpoint failed; will retry");
                }
            }
        });
        let packer = std::sync::Arc::new(crate::packing::Packer::new(
            load_dictionaries(&write_pool).await?,
        )?);
        Ok(Self {
            pool,
            write_pool,
            checkpointer,
            packer,
        })
    }

    /// After an erasure: copies the WAL into the database (whose pages
    /// were zeroed by `secure_delete`) and truncates it, so the older page
    /// images holding the erased key leave the disk. Readers can hold the
    /// checkpoint back; it is retried briefly, and the next erasure or the
    /// background checkpoints finish it otherwise.
    async fn scrub_files(&self) -> crate::Result<()> {
        for _ in 0..50 {
            let (busy,): (i64,) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.write_pool)
                .await?;
            if busy == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tracing::warn!("the WAL could not be truncated after an erasure: readers held it");
        Ok(())
    }

    /// Writes a consistent copy of the database to `path` (which must not
    /// exist) without what a backup must not carry: the parties' data keys
    /// (a key export holds them, apart; see [`crate::backup`]), the
    /// identity hashes (rebuilt on restore) and sessions. Personal values
    /// stay sealed in the copy, so it cannot resurrect a party erased
    /// after it was made. Nothing is left at `path` if this fails.
    pub async fn backup_to(&self, path: &Path) -> crate::Result<()> {
        if path.exists() {
            return Err(crate::StoreError::Conflict(format!(
                "{} exists; a backup never overwrites a file",
                path.display()
            )));
        }
        let partial = path.with_extension("partial");
        let _ = std::fs::remove_file(&partial);
        let result = self.write_backup(&partial).await;
        match result {
            Ok(()) => {
                std::fs::rename(&partial, path).map_err(|e| crate::StoreError::Io(e.to_string()))
            }
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                Err(e)
            }
        }
    }

    async fn write_backup(&self, partial: &Path) -> crate::Result<()> {
        let target = partial
            .to_str()
            .ok_or_else(|| crate::StoreError::Io("the backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await?;
        // No journal: the copy is renamed into place only when complete,
        // and a journal would hold the pages with the keys once more.
        let copy = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(partial)
                    .journal_mode(SqliteJournalMode::Off)
                    .synchronous(SqliteSynchronous::Full)
                    .pragma("secure_delete", "ON"),
            )
            .await?;
        for sql in [
            "UPDATE party_keys SET wrapped = NULL WHERE wrapped IS NOT NULL",
            "DELETE FROM identities",
            "DELETE FROM sessions",
            "VACUUM",
        ] {
            sqlx::query(sql).execute(&copy).await?;
        }
        copy.close().await;
        Ok(())
    }

    /// `PRAGMA integrity_check`: "ok" or the problems SQLite found.
    pub async fn integrity_check(&self) -> crate::Result<String> {
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.join("\n"))
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

crate::sql::sql_store!(
    SqliteStore,
    SqliteBatch,
    sqlx::Sqlite,
    "sqlite",
    // Takes the write lock at once: a deferred transaction that reads
    // first could find its upgrade refused instead of waited for.
    "BEGIN IMMEDIATE",
    "SELECT size FROM log_head WHERE id = 1",
    // SQLite refuses to change it inside a transaction.
    crate::transaction::Setting {
        before: Some("PRAGMA synchronous = OFF"),
        after_begin: None,
        after_commit: Some("PRAGMA synchronous = FULL"),
    },
    // Without statistics SQLite's planner prefers indexes, which the
    // queries are written for (statistics could change plans measured
    // without them), and it needs no vacuum for index-only reads.
    None::<String>,
    SUBTREE_PLACES
);

/// The places (`jpath`s) with cases from `$1` up to `$2` (a subtree's
/// prefix, and it followed by the highest character), at most `$3 + 1`,
/// each found by one seek of `cases_jpath`.
const SUBTREE_PLACES: &str = "WITH RECURSIVE places (jpath, n) AS ( \
     SELECT (SELECT jpath FROM cases WHERE jpath >= $1 AND jpath < $2 ORDER BY jpath LIMIT 1), 1 \
     UNION ALL \
     SELECT (SELECT c.jpath FROM cases c WHERE c.jpath > p.jpath AND c.jpath < $2 ORDER BY c.jpath LIMIT 1), p.n + 1 \
     FROM places p WHERE p.jpath IS NOT NULL AND p.n <= $3) \
     SELECT jpath FROM places WHERE jpath IS NOT NULL";

mod access_impl {
    use super::SqliteStore;
    // The one write connection serialises appends to the security log.
    crate::access::access_store!(
        SqliteStore,
        sqlx::Sqlite,
        "BEGIN IMMEDIATE",
        "SELECT seq, hash FROM audit_head WHERE id = 1"
    );
}

#[cfg(test)]
mod tests {
    use super::SqliteStore;
    use crate::rows::{CaseFilter, CaseOrder, CaseQuery, ListCursor, ScopeFilter};
    use crate::sql::ListWalk;
    use jiefen_domain::case::CaseId;

    /// An empty store, for asking SQLite's planner.
    async fn empty() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("jiefen.db"))
            .await
            .unwrap();
        (dir, store)
    }

    /// The plan of `statement`, which starts with `EXPLAIN QUERY PLAN`.
    async fn plan<'q>(
        store: &SqliteStore,
        statement: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> Vec<String> {
        statement
            .fetch_all(store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| sqlx::Row::get::<String, _>(r, "detail"))
            .collect()
    }

    /// The first page of a queue by deadline, a later page among the
    /// running deadlines and one among the cases with none.
    fn deadline_pages(scope: ScopeFilter) -> Vec<CaseQuery> {
        let id = CaseId::parse("019aea65-df55-7930-a84d-e916de4b40f9").unwrap();
        let due = Some(1_700_000_000_000);
        [
            None,
            Some(ListCursor::Deadline { due_at_ms: due, id }),
            Some(ListCursor::Deadline {
                due_at_ms: None,
                id,
            }),
        ]
        .into_iter()
        .map(|after| CaseQuery {
            filter: CaseFilter {
                scope: scope.clone(),
                ..CaseFilter::default()
            },
            order: CaseOrder::Deadline,
            after,
            limit: 50,
            now: jiefen_domain::Timestamp::from_unix_millis(1_700_000_000_000),
        })
        .collect()
    }

    /// A handling body's queue by deadline walked every running deadline
    /// of the store to find its own (206 ms for a town's mediation
    /// committee at 10,000,000 cases): both its walks, first page or
    /// later, must be ranges of the body's own index, unsorted.
    #[tokio::test]
    async fn a_bodys_queue_by_deadline_walks_its_own_index() {
        let (_dir, store) = empty().await;
        for query in deadline_pages(ScopeFilter::Body("341721100-MEDIATION".into())) {
            let after = query.after;
            for walk in [ListWalk::RunningDeadlines, ListWalk::NoDeadline] {
                let head = "EXPLAIN QUERY PLAN SELECT state_json FROM cases";
                let mut walked = super::list_walk(head, &query, walk, 50);
                let plan = plan(&store, walked.build()).await;
                assert!(
                    plan.iter()
                        .any(|d| d.contains("USING INDEX cases_body_deadline")
                            || d.contains("USING COVERING INDEX cases_body_deadline")),
                    "{walk:?} after {after:?}: {plan:?}"
                );
                assert!(
                    !plan.iter().any(|d| d.contains("TEMP B-TREE")),
                    "{walk:?} after {after:?}: {plan:?}"
                );
            }
        }
    }

    /// A grid worker's own reports, and a handler's own cases, in the
    /// default order (red first, then newest) and newest first: the grid
    /// page took 61.8 ms at 10,000,000 cases. Each page, first or later,
    /// must walk an index of the person's own cases in its order, never
    /// sort them nor pass everyone else's.
    #[tokio::test]
    async fn a_persons_own_cases_walk_their_own_index() {
        let (_dir, store) = empty().await;
        let id = CaseId::parse("019aea65-df55-7930-a84d-e916de4b40f9").unwrap();
        let pages = [
            (CaseOrder::Priority, None),
            (
                CaseOrder::Priority,
                Some(ListCursor::Priority { urgent: true, id }),
            ),
            (CaseOrder::Newest, None),
            (CaseOrder::Newest, Some(ListCursor::Registered { id })),
        ];
        let scope = ScopeFilter::Subtree("/341700/341721/341721100/341721100201/".into());
        for (who, index) in [
            ("registrant", "cases_registrant"),
            ("handler", "cases_handler"),
        ] {
            for (order, after) in pages {
                let mut filter = CaseFilter {
                    scope: scope.clone(),
                    ..CaseFilter::default()
                };
                let person = Some("grid.yaodu".to_owned());
                if who == "registrant" {
                    filter.registered_by = person;
                } else {
                    filter.handler = person;
                }
                let query = CaseQuery {
                    filter,
                    order,
                    after,
                    limit: 20,
                    now: jiefen_domain::Timestamp::from_unix_millis(1_700_000_000_000),
                };
                let head = "EXPLAIN QUERY PLAN SELECT state_json FROM cases";
                let mut walked = super::list_walk(head, &query, ListWalk::Only, 21);
                let plan = plan(&store, walked.build()).await;
                assert!(
                    plan.iter().any(|d| d.contains(&format!("INDEX {index}"))),
                    "{who} {order:?} after {after:?}: {plan:?}"
                );
                assert!(
                    !plan.iter().any(|d| d.contains("TEMP B-TREE")),
                    "{who} {order:?} after {after:?}: {plan:?}"
                );
            }
        }
    }

    /// A town's queue by deadline walked the whole store's running
    /// deadlines to find its own. Merged from its places, every walk of
    /// a place, first page or later, by deadline or among the cases with
    /// none, must be a range of `cases_jpath_deadline`, unsorted; only what
    /// the walks return (a page per place at most) is sorted.
    #[tokio::test]
    async fn a_towns_queue_by_deadline_walks_each_places_index() {
        let (_dir, store) = empty().await;
        let places = vec![
            "/341700/341721/341721100/".to_string(),
            "/341700/341721/341721100/341721100201/".to_string(),
            "/341700/341721/341721100/341721100202/".to_string(),
        ];
        for query in deadline_pages(ScopeFilter::Subtree(places[0].clone())) {
            let after = query.after;
            for walk in [ListWalk::RunningDeadlines, ListWalk::NoDeadline] {
                let head = "EXPLAIN QUERY PLAN SELECT state_json FROM cases";
                let mut merged = super::merged_walk(head, &query, walk, &places, 50);
                let plan = plan(&store, merged.build()).await;
                let by_place = plan
                    .iter()
                    .filter(|d| {
                        d.contains("USING INDEX cases_jpath_deadline (jpath=?")
                            || d.contains("USING COVERING INDEX cases_jpath_deadline (jpath=?")
                    })
                    .count();
                assert_eq!(by_place, places.len(), "{walk:?} after {after:?}: {plan:?}");
                // SQLite may sort what a place's walk returned (at most
                // `limit` rows) to merge the walks, but never the rows of
                // the store it walks.
                let sorts_cases = plan
                    .windows(2)
                    .any(|w| w[1].contains("TEMP B-TREE") && w[0].contains(" cases "));
                assert!(!sorts_cases, "{walk:?} after {after:?}: {plan:?}");
                assert!(
                    !plan.iter().any(|d| d.starts_with("SCAN cases")),
                    "{walk:?} after {after:?}: {plan:?}"
                );
            }
        }
    }

    /// The places of a subtree are found by one seek of an index each,
    /// never by reading the subtree's cases.
    #[tokio::test]
    async fn a_subtrees_places_are_found_by_seeks() {
        let (_dir, store) = empty().await;
        let statement = format!("EXPLAIN QUERY PLAN {}", super::SUBTREE_PLACES);
        let plan = plan(
            &store,
            sqlx::query(&statement)
                .bind("/341700/341721/")
                .bind(format!("/341700/341721/{}", char::MAX))
                .bind(64_i64),
        )
        .await;
        let seeks = plan
            .iter()
            .filter(|d| {
                d.starts_with("SEARCH") && d.contains("INDEX cases_jpath") && d.contains("jpath>")
            })
            .count();
        assert_eq!(seeks, 2, "{plan:?}");
        assert!(
            !plan
                .iter()
                .any(|d| d.starts_with("SCAN cases") || d.contains("TEMP B-TREE")),
            "{plan:?}"
        );
    }

    /// `jiefen rebuild` looks up every case's notices: at a million cases a
    /// lookup that scans the inbox took about a second, days in all.
    #[tokio::test]
    async fn a_cases_notices_are_found_by_index() {
        let (_dir, store) = empty().await;
        let statement = format!("EXPLAIN QUERY PLAN {}", crate::sql::CASE_NOTICES);
        let plan = plan(
            &store,
            sqlx::query(&statement).bind("019aea65-df55-7930-a84d-e916de4b40f9"),
        )
        .await;
        assert!(
            plan.iter().any(|d| d.contains("USING INDEX inbox_case")),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|d| d.starts_with("SCAN inbox")),
            "{plan:?}"
        );
    }
}
