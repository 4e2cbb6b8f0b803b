//! The bulk load (`jiefen gen`, the demo's first start) on both backends:
//! what it leaves must be a store like live traffic leaves, checked the way
//! `jiefen rebuild` checks one.

use jiefen_domain::lifecycle::{Actor, NewCase};
use jiefen_domain::taxonomy::Taxonomy;
use jiefen_domain::Timestamp;
use jiefen_ledger::checkpoint::DeploymentKey;
use jiefen_store::postgres::PostgresStore;
use jiefen_store::sqlite::SqliteStore;
use jiefen_store::vault::{MasterKey, Vault};
use jiefen_store::{Clock, Ledger, ManualClock, Store};
use std::sync::Arc;

async fn open(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
) -> Result<Ledger, jiefen_store::StoreError> {
    Ledger::open(
        store,
        Taxonomy::default_taxonomy(),
        clock,
        DeploymentKey::from_seed([9; 32]),
        "test".into(),
        Some(Vault::new(&MasterKey::from_bytes([5; 32]))),
    )
    .await
}

async fn bulk_load_checks_like_live_writes(store: Arc<dyn Store>) {
    // How many secondary indexes a fresh store has, learnt by suspending
    // and restoring them: the load must leave exactly as many.
    let indexes = store.suspend_indexes().await.unwrap();
    assert!(indexes >= 10, "only {indexes} secondary indexes found");
    assert_eq!(store.restore_indexes(None).await.unwrap(), indexes);

    let today = Timestamp::parse("2026-10-12T08:00:00Z").unwrap();
    let volume = jiefen_demo::Volume {
        cases: 900,
        days: 60,
        seed: 7,
    };
    let opened = store.clone();
    let loaded = jiefen_demo::load(volume, today, move |clock| open(opened, clock))
        .await
        .unwrap();
    assert_eq!(loaded.cases, volume.cases, "every registration taken");
    assert!(loaded.actions > 3 * loaded.cases, "{loaded:?}");

    assert_eq!(store.suspended_indexes().await.unwrap(), 0);
    assert_eq!(store.suspend_indexes().await.unwrap(), indexes);
    // A store whose load did not finish is refused, saying why.
    let refused = open(store.clone(), Arc::new(ManualClock::new(today)))
        .await
        .err()
        .expect("an interrupted load is refused");
    assert!(
        refused.to_string().contains("interrupted bulk load"),
        "{refused}"
    );
    assert_eq!(store.restore_indexes(None).await.unwrap(), indexes);

    let clock = Arc::new(ManualClock::new(today));
    let ledger = open(store.clone(), clock).await.unwrap();
    assert_eq!(store.count_cases().await.unwrap(), loaded.cases as u64);
    // Deadlines passed in the history were recorded at its end, so the
    // engine has nothing to do at the same instant.
    assert!(loaded.engine.signal_changes > 0, "{loaded:?}");
    let tick = ledger.tick(1000).await.unwrap();
    assert_eq!(tick.examined, 0, "left for the engine: {tick:?}");
    let report = ledger.rebuild(false).await.unwrap();
    assert_eq!(report.cases, loaded.cases as u64);
    assert_eq!(report.events, store.log_size().await.unwrap());
    assert!(report.mismatched.is_empty(), "{:?}", report.mismatched);
    assert!(
        report.broken_chains.is_empty(),
        "{:?}",
        report.broken_chains
    );
    assert!(
        report.missing_notices.is_empty(),
        "{:?}",
        report.missing_notices
    );
    assert!(!report.tallies_mismatched, "tallies differ from a recount");

    // Both kinds of value were packed once the store had rows enough to
    // train a dictionary on, and everything above read them back.
    let packing = store.packing().await.unwrap();
    assert!(packing.dictionaries >= 2, "{packing:?}");
    assert!(
        packing.events.packed * 2 > packing.events.rows,
        "{packing:?}"
    );
    assert!(packing.cases.packed > 0, "{packing:?}");
    assert_eq!(packing.events.rows, report.events);

    // Cases of every fate, merges included.
    let mut states = std::collections::BTreeSet::new();
    let mut after = None;
    loop {
        let ids = store.case_ids(after, 500).await.unwrap();
        let Some(last) = ids.last().copied() else {
            break;
        };
        after = Some(last);
        for id in ids {
            states.insert(store.get_case(id).await.unwrap().unwrap().state());
        }
    }
    assert!(states.len() >= 10, "only {states:?}");

    // The live writer carries on where the load left the case numbers.
    let first = jiefen_demo::scripts(volume).remove(0).new;
    let new: NewCase = first;
    let made = ledger
        .create(new, Actor::parse("clerk").unwrap(), None)
        .await
        .unwrap();
    let numbers = store.count_cases().await.unwrap();
    assert_eq!(numbers, loaded.cases as u64 + 1);
    assert!(
        made.number.ends_with(&format!("{:07}", loaded.cases + 1)),
        "{} after {} loaded",
        made.number,
        loaded.cases
    );
}

#[tokio::test]
async fn bulk_load_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("jiefen.db"))
        .await
        .unwrap();
    bulk_load_checks_like_live_writes(Arc::new(store)).await;
}

#[tokio::test]
async fn bulk_load_on_postgres() {
    let Ok(url) = std::env::var("JIEFEN_TEST_DATABASE_URL") else {
        if std::env::var_os("CI").is_some() {
            panic!("JIEFEN_TEST_DATABASE_URL is not set: the PostgreSQL suite must run in CI");
        }
        eprintln!("SKIPPED bulk_load_on_postgres: set JIEFEN_TEST_DATABASE_URL to run it");
        return;
    };
    let schema = format!("t_bulk_{}", uuid::Uuid::now_v7().simple());
    let store = Arc::new(PostgresStore::connect(&url, Some(&schema)).await.unwrap());
    bulk_load_checks_like_live_writes(store.clone()).await;
    // Vacuumed and analysed after the load: without it the planner knows
    // nothing of the loaded rows and index-only scans read the heap.
    let vacuumed: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_stat_user_tables \
         WHERE schemaname = $1 AND last_vacuum IS NOT NULL AND last_analyze IS NOT NULL",
    )
    .bind(&schema)
    .fetch_all(store.pool())
    .await
    .unwrap();
    for table in ["cases", "events", "inbox"] {
        assert!(
            vacuumed.iter().any(|t| t == table),
            "{table} not in {vacuumed:?}"
        );
    }
}
