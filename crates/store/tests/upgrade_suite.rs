//! A store written before migration 0014 (event rows with their time,
//! actor, type and `prev_hash` beside the body, ids and hashes as text),
//! opened by this version: on both backends every event reads back as it
//! was written and its chain holds, and the Merkle log's leaves, no longer
//! stored as nodes after 0016, read the same from the events.

use jiefen_domain::case::CaseId;
use jiefen_ledger::chain::event_hash;
use jiefen_ledger::hash::Hash;
use jiefen_ledger::merkle::{leaf_hash, Frontier, Subtree};
use jiefen_store::postgres::PostgresStore;
use jiefen_store::sqlite::SqliteStore;
use jiefen_store::{first_broken_link, Store};
use sqlx::migrate::Migrator;
use std::borrow::Cow;

/// The migrations as they stood before 0014.
fn before_0014(mut migrator: Migrator) -> Migrator {
    migrator.migrations = Cow::Owned(
        migrator
            .migrations
            .iter()
            .filter(|m| m.version < 14)
            .cloned()
            .collect(),
    );
    migrator
}

/// Migrates `pool`'s database as far as 0013, writes `rows` the way the
/// old writer did and closes it. (A macro: `migrate!` takes a literal.)
macro_rules! old_store {
    ($pool:expr, $migrations:literal, $rows:expr) => {
        before_0014(sqlx::migrate!($migrations))
            .run(&$pool)
            .await
            .unwrap();
        sqlx::raw_sql($rows).execute(&$pool).await.unwrap();
        $pool.close().await;
    };
}

struct OldEvent {
    seq: u64,
    at_ms: i64,
    actor: &'static str,
    kind: &'static str,
    body: String,
    prev: Hash,
    hash: Hash,
}

fn old_history(id: CaseId) -> Vec<OldEvent> {
    let mut prev = Hash::ZERO;
    [
        (1, "2026-03-02T08:00:00.000Z", 1_772_438_400_000, "clerk", "registered"),
        (2, "2026-03-02T09:30:15.250Z", 1_772_443_815_250, "mediator", "accepted"),
    ]
    .into_iter()
    .map(|(seq, at, at_ms, actor, kind)| {
        let body = format!(
            r#"{{"actor":"{actor}","at":"{at}","case_id":"{id}","note":"村道路面破损","seq":{seq},"type":"{kind}"}}"#
        );
        let hash = event_hash(&prev, body.as_bytes());
        let e = OldEvent {
            seq,
            at_ms,
            actor,
            kind,
            body,
            prev,
            hash,
        };
        prev = hash;
        e
    })
    .collect()
}

/// The old rows, as the old writer left them; `blob` writes a hash as the
/// backend's byte-string literal.
fn old_rows_sql(id: CaseId, history: &[OldEvent], blob: fn(&Hash) -> String) -> String {
    let mut sql = String::new();
    for (leaf, e) in history.iter().enumerate() {
        sql.push_str(&format!(
            "INSERT INTO events (leaf_index, case_id, seq, at_ms, actor, type, body, prev_hash, hash) \
             VALUES ({leaf}, '{id}', {}, {}, '{}', '{}', '{}', '{}', '{}');",
            e.seq, e.at_ms, e.actor, e.kind, e.body, e.prev, e.hash
        ));
    }
    sql.push_str(&format!(
        "INSERT INTO identities (hash, reason, case_id, at_ms) VALUES ('{}', 'same_phone', '{id}', 1772438400000);",
        Hash([7; 32])
    ));
    for (s, node) in old_log(history) {
        sql.push_str(&format!(
            "INSERT INTO log_nodes (level, idx, hash) VALUES ({}, {}, {});",
            s.level,
            s.index,
            blob(&node)
        ));
    }
    sql
}

/// Every node of the log over `history`, leaves included, as the old writer
/// stored them.
fn old_log(history: &[OldEvent]) -> Vec<(Subtree, Hash)> {
    let mut frontier = Frontier::empty();
    history
        .iter()
        .flat_map(|e| frontier.append(leaf_hash(e.hash.as_bytes())))
        .collect()
}

async fn reads_back_as_written(store: &dyn Store, id: CaseId, history: &[OldEvent]) {
    let rows = store.events(id).await.unwrap();
    assert_eq!(rows.len(), history.len());
    for (leaf, (row, old)) in rows.iter().zip(history).enumerate() {
        assert_eq!(row.case_id, id);
        assert_eq!(row.seq, old.seq);
        assert_eq!(row.leaf_index, leaf as u64);
        assert_eq!(row.at_ms, old.at_ms, "time of event {}", old.seq);
        assert_eq!(row.actor, old.actor);
        assert_eq!(row.kind, old.kind);
        assert_eq!(row.body, old.body);
        assert_eq!(row.prev_hash, old.prev);
        assert_eq!(row.hash, old.hash);
    }
    assert_eq!(first_broken_link(&rows), None);
    assert_eq!(
        store.changed_since(0, 10).await.unwrap(),
        vec![(0, id), (1, id)]
    );
    let hits = store.identity_repeats(&[Hash([7; 32])], 0).await.unwrap();
    assert_eq!(hits.len(), 1, "the identity survived the table's rebuild");
    let log = old_log(history);
    assert!(log.iter().any(|(s, _)| s.level == 0) && log.iter().any(|(s, _)| s.level > 0));
    let wanted: Vec<Subtree> = log.iter().map(|(s, _)| *s).collect();
    let read = store.log_nodes(&wanted).await.unwrap();
    for (s, node) in &log {
        assert_eq!(read.get(s), Some(node), "log node {s:?}");
    }
}

fn case_id() -> CaseId {
    CaseId::parse("019aea65-df55-7930-a84d-e916de4b40f9").unwrap()
}

#[tokio::test]
async fn sqlite_store_from_before_0014() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jiefen.db");
    let id = case_id();
    let history = old_history(id);
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        old_store!(
            pool,
            "./migrations/sqlite",
            &old_rows_sql(id, &history, |h| format!("X'{h}'"))
        );
    }
    let store = SqliteStore::open(&path).await.unwrap();
    reads_back_as_written(&store, id, &history).await;
}

#[tokio::test]
async fn postgres_store_from_before_0014() {
    let Ok(url) = std::env::var("JIEFEN_TEST_DATABASE_URL") else {
        if std::env::var_os("CI").is_some() {
            panic!("JIEFEN_TEST_DATABASE_URL is not set: the PostgreSQL suite must run in CI");
        }
        eprintln!("SKIPPED postgres_store_from_before_0014: set JIEFEN_TEST_DATABASE_URL");
        return;
    };
    use std::str::FromStr;
    let schema = format!("t_upgrade_{}", uuid::Uuid::now_v7().simple());
    let id = case_id();
    let history = old_history(id);
    {
        let admin = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let options = sqlx::postgres::PgConnectOptions::from_str(&url)
            .unwrap()
            .options([("search_path", schema.as_str())]);
        let pool = sqlx::PgPool::connect_with(options).await.unwrap();
        old_store!(
            pool,
            "./migrations/postgres",
            &old_rows_sql(id, &history, |h| format!("'\\x{h}'::bytea"))
        );
    }
    let store = PostgresStore::connect(&url, Some(&schema)).await.unwrap();
    reads_back_as_written(&store, id, &history).await;
}
