//! The deadline engine at scale: a store (SQLite, or PostgreSQL with
//! `--database`) holding `cases` open, assigned cases, whose "due soon"
//! instants are spaced four seconds apart (and all fall before the first
//! deadline, so exactly the cases whose instant passed change signal). Each round moves the injected clock so
//! that exactly `changing` more cases cross, times one tick, then times a
//! tick with nothing to do.
//!
//! The store is built once by the ledger's bulk load (every case registered,
//! accepted and assigned by commands judged as the writer judges them,
//! hash-chained and logged) and kept in `--data` or the database for later
//! runs, which continue with cases not yet touched.

use anyhow::{Context, Result};
use jiefen_domain::body::{Body, BodyCode, BodyKind};
use jiefen_domain::case::{CaseKind, Channel};
use jiefen_domain::jurisdiction::{Jurisdiction, JurisdictionCode, Level};
use jiefen_domain::lifecycle::{Actor, Command, NewCase};
use jiefen_domain::taxonomy::{CategoryCode, Taxonomy};
use jiefen_domain::{Text, Timestamp};
use jiefen_ledger::checkpoint::DeploymentKey;
use jiefen_store::postgres::PostgresStore;
use jiefen_store::sqlite::SqliteStore;
use jiefen_store::{Ledger, ManualClock, Store};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use time::Duration;

/// Registration time of every generated case.
fn assigned_at() -> Timestamp {
    Timestamp::parse("2026-01-05T01:00:00Z").expect("valid")
}

/// Case `i` is due 500 days + 5·i seconds after assignment, so it is due
/// soon (a fifth of the time left) at 400 days + 4·i seconds: the last of a
/// million is due soon after 446 days, before the first is due at 500.
fn due_at(i: u64) -> Timestamp {
    assigned_at().plus(Duration::days(500) + Duration::seconds(5 * i as i64))
}

const SPACING_MS: i64 = 4_000;

/// The earliest instant a case is watched for, asked of either backend.
enum Watches {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Watches {
    async fn first(&self) -> Result<Option<i64>> {
        const FIRST: &str = "SELECT MIN(watch_at_ms) FROM cases";
        Ok(match self {
            Self::Sqlite(p) => sqlx::query_scalar(FIRST).fetch_one(p).await?,
            Self::Postgres(p) => sqlx::query_scalar(FIRST).fetch_one(p).await?,
        })
    }
}

pub async fn run(
    data: &Path,
    database: Option<&str>,
    cases: u64,
    changing: u32,
    rounds: usize,
) -> Result<()> {
    let (store, watches, backend): (Arc<dyn Store>, _, _) = match database {
        Some(url) => {
            let store = Arc::new(PostgresStore::connect(url, None).await?);
            let watches = Watches::Postgres(store.pool().clone());
            (store, watches, "PostgreSQL")
        }
        None => {
            std::fs::create_dir_all(data)?;
            let store = Arc::new(SqliteStore::open(&data.join("jiefen.db")).await?);
            let watches = Watches::Sqlite(store.pool().clone());
            (store, watches, "SQLite")
        }
    };
    let clock = Arc::new(ManualClock::new(assigned_at()));
    let ledger = Ledger::open(
        store.clone(),
        Taxonomy::default_taxonomy(),
        clock.clone(),
        DeploymentKey::from_seed([42; 32]),
        "bench".into(),
        Some(jiefen_store::vault::Vault::new(
            &jiefen_store::vault::MasterKey::from_bytes([42; 32]),
        )),
    )
    .await?;
    let existing = store.count_cases().await?;
    if existing == 0 {
        reference(&ledger).await?;
    }
    if existing < cases {
        let started = Instant::now();
        generate(&ledger, existing, cases).await?;
        println!(
            "generated {} open cases (3 events each) in {:.0}s",
            cases - existing,
            started.elapsed().as_secs_f64()
        );
    }
    let total = store.count_cases().await?;
    println!(
        "# {}; {backend}, {total} open cases, {changing} changing per tick, {rounds} rounds",
        crate::machine()
    );
    let mut busy = Vec::new();
    let mut idle = Vec::new();
    for _ in 0..rounds {
        let first = watches.first().await?.context("no case is watched")?;
        if first >= due_at(0).unix_millis() {
            anyhow::bail!("every generated case has been used; generate more with --cases");
        }
        clock.set(Timestamp::from_unix_millis(
            first + SPACING_MS * (i64::from(changing) - 1),
        ));
        let t = Instant::now();
        let report = ledger.tick(changing).await?;
        busy.push(t.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(
            report.signal_changes == u64::from(changing),
            "expected {changing} signal changes, got {report:?}"
        );
        let t = Instant::now();
        let report = ledger.tick(changing).await?;
        idle.push(t.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(report.examined == 0, "an idle tick examined {report:?}");
    }
    let show = |name: &str, mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        println!(
            "{name}: median {:.2} ms, min {:.2} ms, max {:.2} ms",
            v[v.len() / 2],
            v[0],
            v[v.len() - 1]
        );
    };
    show(&format!("tick with {changing} signal changes"), busy);
    show("tick with nothing to do", idle);
    Ok(())
}

async fn reference(ledger: &Ledger) -> Result<()> {
    let code = |c: &str| JurisdictionCode::parse(c).expect("valid code");
    let j = |c: &str, n: &str, level, parent: Option<&str>| Jurisdiction {
        code: code(c),
        name: n.into(),
        level,
        parent: parent.map(code),
    };
    ledger
        .import_reference(
            vec![
                j("341700", "池州市", Level::City, None),
                j("341721", "东至县", Level::County, Some("341700")),
                j("341721100", "尧渡镇", Level::Town, Some("341721")),
            ],
            vec![Body {
                code: BodyCode::parse("dongzhi-zjj").expect("valid"),
                name: "东至县住建局".into(),
                kind: BodyKind::GovernmentDepartment,
                jurisdiction: code("341721"),
                categories: vec![CategoryCode::parse("dept_housing").expect("valid")],
            }],
        )
        .await?;
    Ok(())
}

async fn generate(ledger: &Ledger, from: u64, to: u64) -> Result<()> {
    let text = |s: &str| Text::parse(s).expect("valid text");
    let new = NewCase {
        kind: CaseKind::Request,
        channel: Channel::Phone,
        category: CategoryCode::parse("dept_housing.roads").expect("valid"),
        title: text("小区门前道路破损积水"),
        description: text(
            "来电反映小区门前道路多处破损，雨天积水，老人小孩出行不便，请求尽快修复。",
        ),
        jurisdiction: JurisdictionCode::parse("341721100").expect("valid"),
        address: None,
        coordinates: None,
        people_involved: 1,
        parties: Vec::new(),
        risk: None,
        suggestions: None,
    };
    let actor = Actor::parse("bench-clerk").expect("valid");
    let body = BodyCode::parse("dongzhi-zjj").expect("valid");
    // A "day" of the bulk load is a slice of cases written as one
    // transaction; every case is finished within its slice.
    const SLICE: u64 = 10_000;
    let mut bulk = ledger.bulk().await?;
    let mut i = from;
    while i < to {
        bulk.begin_day(assigned_at()).await?;
        let mut done = Vec::new();
        for n in i..to.min(i + SLICE) {
            let id = bulk.create(&new, &actor)?.case_id;
            bulk.act(id, &Command::Accept { note: None }, &actor)?;
            let assign = Command::Assign {
                body: body.clone(),
                due_at: Some(due_at(n)),
                complexity: None,
                reason: None,
            };
            bulk.act(id, &assign, &actor)?;
            done.push(id);
        }
        i = to.min(i + SLICE);
        bulk.end_day(done).write().await?;
        if i.is_multiple_of(100_000) {
            eprintln!("  {i}/{to} cases written");
        }
    }
    bulk.finish(ledger).await?;
    ledger.store().refresh_statistics().await?;
    Ok(())
}
