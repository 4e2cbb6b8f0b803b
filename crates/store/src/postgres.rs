//! The PostgreSQL store, for deployments larger than one machine's disk.
//!
//! Several server processes may share one database: each batch takes a row
//! lock on the log head (`FOR UPDATE`), so leaf indices stay dense and the
//! per-process writer reloads its frontier when another process appended.

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;

pub struct PostgresStore {
    pool: PgPool,
    /// The same pool: PostgreSQL connections share one buffer cache.
    write_pool: PgPool,
    packer: std::sync::Arc<crate::packing::Packer>,
}

impl PostgresStore {
    /// The secondary indexes a bulk load suspends (see [`crate::bulk`]).
    fn secondary_indexes() -> String {
        format!(
            "SELECT indexname::text, indexdef::text FROM pg_indexes \
             WHERE schemaname = current_schema() AND indexdef NOT LIKE 'CREATE UNIQUE %' \
             AND tablename IN ({}) ORDER BY indexname",
            crate::bulk::loaded_tables("'")
        )
    }

    /// Connects and runs migrations. `schema`, when given, is created and
    /// used as the search path (tests isolate themselves this way).
    pub async fn connect(url: &str, schema: Option<&str>) -> crate::Result<Self> {
        let mut options = PgConnectOptions::from_str(url)?;
        if let Some(s) = schema {
            options = options.options([("search_path", s)]);
            let admin = PgPool::connect_with(PgConnectOptions::from_str(url)?).await?;
            sqlx::query(&format!(
                "CREATE SCHEMA IF NOT EXISTS \"{}\"",
                s.replace('"', "")
            ))
            .execute(&admin)
            .await?;
            admin.close().await;
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let packer = std::sync::Arc::new(crate::packing::Packer::new(
            load_dictionaries(&pool).await?,
        )?);
        Ok(Self {
            write_pool: pool.clone(),
            pool,
            packer,
        })
    }

    /// After an erasure: vacuums the tables that held the party's key and
    /// values, so the dead row versions are removed from their pages.
    /// PostgreSQL does not zero freed space or rewrite its write-ahead log:
    /// the bytes stay on disk until reused, and WAL archives keep them (see
    /// ARCHITECTURE.md, "Erasure and backups").
    async fn scrub_files(&self) -> crate::Result<()> {
        sqlx::query("VACUUM party_keys, personal_data, identities")
            .execute(&self.write_pool)
            .await?;
        Ok(())
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

crate::sql::sql_store!(
    PostgresStore,
    PostgresBatch,
    sqlx::Postgres,
    "postgres",
    "BEGIN",
    "SELECT size FROM log_head WHERE id = 1 FOR UPDATE",
    crate::transaction::Setting {
        before: None,
        after_begin: Some("SET LOCAL synchronous_commit = off"),
        after_commit: None,
    },
    // A bulk-loaded table has never been analysed or vacuumed: until
    // autovacuum gets to it, the planner guesses its size, and no page is
    // marked all-visible, so no index-only scan is possible. At a million
    // cases a centre's unread count read 401,113 rows from the heap (750
    // ms, on every page) instead of from its index (14 ms).
    // The tables a load fills, named so that only this store's schema is
    // touched.
    Some(format!(
        "VACUUM (ANALYZE) {}",
        crate::bulk::loaded_tables("")
    )),
    SUBTREE_PLACES
);

/// The places (`jpath`s) with cases from `$1` up to `$2` (a subtree's
/// prefix, and it followed by the highest character), at most `$3 + 1`,
/// each found by one seek of `cases_jpath`. That index is
/// text_pattern_ops (so that LIKE uses it under any collation): it is
/// compared and ordered by the `~<~` family, not by the collation's `<`.
const SUBTREE_PLACES: &str = "WITH RECURSIVE places (jpath, n) AS ( \
     SELECT (SELECT jpath FROM cases WHERE jpath ~>=~ $1 AND jpath ~<~ $2 ORDER BY jpath USING ~<~ LIMIT 1), 1 \
     UNION ALL \
     SELECT (SELECT c.jpath FROM cases c WHERE c.jpath ~>~ p.jpath AND c.jpath ~<~ $2 ORDER BY c.jpath USING ~<~ LIMIT 1), p.n + 1 \
     FROM places p WHERE p.jpath IS NOT NULL AND p.n <= $3) \
     SELECT jpath FROM places WHERE jpath IS NOT NULL";

mod access_impl {
    use super::PostgresStore;
    // Appends of every process queue on the head row's lock.
    crate::access::access_store!(
        PostgresStore,
        sqlx::Postgres,
        "BEGIN",
        "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"
    );
}
