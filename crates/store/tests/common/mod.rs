//! What the store suites share: both backends, a ledger over the small
//! demo tree, and a dispute to register.
#![allow(dead_code, unused_imports)]

pub use jiefen_domain::body::{Body, BodyCode, BodyKind};
pub use jiefen_domain::case::*;
pub use jiefen_domain::jurisdiction::{Jurisdiction, JurisdictionCode, Level};
pub use jiefen_domain::lifecycle::{Actor, Command, NewCase};
pub use jiefen_domain::party::{IdNumber, NewParty, PartyKind, PartyRole, PhoneNumber};
pub use jiefen_domain::taxonomy::{CategoryCode, Taxonomy};
pub use jiefen_domain::{Text, Timestamp};
pub use jiefen_ledger::bundle::{verify_bundle, VerifyError, VerifyOptions};
pub use jiefen_ledger::checkpoint::DeploymentKey;
pub use jiefen_store::forgery::{rewrite_event, Raw};
pub use jiefen_store::postgres::PostgresStore;
pub use jiefen_store::sqlite::SqliteStore;
pub use jiefen_store::{
    CaseFilter, CaseOrder, CaseQuery, Clock, Ledger, LedgerError, ManualClock, Store,
};
pub use std::sync::Arc;
pub use time::Duration;

/// Runs each named `async fn(Db)` as one test on SQLite and one on
/// PostgreSQL.
#[allow(unused_macros)]
macro_rules! on_both {
    ($($name:ident),+) => {
        mod sqlite_backend {
            use super::*;
            $(#[tokio::test] async fn $name() { super::$name(sqlite().await).await })+
        }
        mod postgres_backend {
            use super::*;
            $(#[tokio::test] async fn $name() {
                if let Some(db) = postgres(stringify!($name)).await { super::$name(db).await }
            })+
        }
    };
}

pub enum Db {
    // The directory lives as long as the database in it.
    Sqlite(Arc<SqliteStore>, #[allow(dead_code)] tempfile::TempDir),
    Postgres(Arc<PostgresStore>),
}

impl Db {
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Db::Sqlite(s, _) => s.clone(),
            Db::Postgres(p) => p.clone(),
        }
    }

    /// Raw SQL, as one transaction on a connection of its own (as an
    /// attacker with database access would run it, or a test filling
    /// tables faster than the ledger would).
    pub async fn exec(&self, sql: &str) {
        let raw = match self {
            Db::Sqlite(s, _) => jiefen_store::forgery::Raw::Sqlite(s.pool()),
            Db::Postgres(p) => jiefen_store::forgery::Raw::Postgres(p.pool()),
        };
        raw.exec(sql).await.unwrap();
    }
}

impl Db {
    /// The `UPDATE` statements of a migration (this backend's text of it):
    /// how it fills new columns of a store written before it.
    pub async fn run_migration_updates(&self, sqlite: &str, postgres: &str) {
        // These statements ran on the tables as they were then. Since 0013
        // a projection's JSON and an event's body are bytes (the JSON
        // itself in a store too small to have trained a dictionary, see
        // `packing`), and since 0014 an event's type and actor are read
        // from its body and its case id is the UUID's bytes: the same
        // statements, written for the tables as they are now.
        let (field, case_id): (fn(&str) -> String, &str) = match self {
            Db::Sqlite(..) => (
                |f| format!("json_extract(CAST(e.body AS TEXT), '$.{f}')"),
                "unhex(replace(cases.id, '-', ''))",
            ),
            Db::Postgres(_) => (
                |f| format!("(convert_from(e.body, 'UTF8')::jsonb ->> '{f}')"),
                "decode(replace(cases.id, '-', ''), 'hex')",
            ),
        };
        let text = match self {
            Db::Sqlite(..) => sqlite.to_owned(),
            Db::Postgres(_) => postgres.replace(
                "state_json::jsonb",
                "convert_from(state_json, 'UTF8')::jsonb",
            ),
        }
        .replace("SELECT type FROM events e", "SELECT e.type FROM events e")
        .replace("e.type", &field("type"))
        .replace("e.actor", &field("actor"))
        .replace("e.case_id = cases.id", &format!("e.case_id = {case_id}"));
        for statement in text.split(';') {
            let sql: String = statement
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            if sql.trim_start().starts_with("UPDATE") {
                self.exec(&sql).await;
            }
        }
    }
}

pub async fn sqlite() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("jiefen.db"))
        .await
        .unwrap();
    Db::Sqlite(Arc::new(store), dir)
}

pub async fn postgres(test: &str) -> Option<Db> {
    let Ok(url) = std::env::var("JIEFEN_TEST_DATABASE_URL") else {
        if std::env::var_os("CI").is_some() {
            panic!("JIEFEN_TEST_DATABASE_URL is not set: the PostgreSQL suite must run in CI");
        }
        eprintln!("SKIPPED {test} on PostgreSQL: set JIEFEN_TEST_DATABASE_URL to run it");
        return None;
    };
    let schema = format!("t_{}_{}", test, uuid::Uuid::now_v7().simple());
    Some(Db::Postgres(Arc::new(
        PostgresStore::connect(&url, Some(&schema)).await.unwrap(),
    )))
}

pub fn t(s: &str) -> Text {
    Text::parse(s).unwrap()
}

pub fn code(s: &str) -> JurisdictionCode {
    JurisdictionCode::parse(s).unwrap()
}

pub fn start() -> Timestamp {
    Timestamp::parse("2026-03-02T01:30:00Z").unwrap()
}

/// The master key of the suites' stores.
pub const MASTER_KEY: [u8; 32] = [5; 32];

/// A ledger over a store as it is, under the given master key.
pub async fn open_ledger(
    db: &Db,
    clock: Arc<ManualClock>,
    master: [u8; 32],
) -> Result<Ledger, jiefen_store::StoreError> {
    Ledger::open(
        db.store(),
        Taxonomy::default_taxonomy(),
        clock,
        DeploymentKey::from_seed([9; 32]),
        "test".into(),
        Some(jiefen_store::vault::Vault::new(
            &jiefen_store::vault::MasterKey::from_bytes(master),
        )),
    )
    .await
}

/// A ledger over the small demo tree.
pub async fn ledger(db: &Db, clock: Arc<ManualClock>) -> Ledger {
    let ledger = open_ledger(db, clock, MASTER_KEY).await.unwrap();
    let j = |c: &str, n: &str, l, p: Option<&str>| Jurisdiction {
        code: code(c),
        name: n.into(),
        level: l,
        parent: p.map(code),
    };
    ledger
        .import_reference(
            vec![
                j("341700", "池州市", Level::City, None),
                j("341721", "东至县", Level::County, Some("341700")),
                j("341721100", "尧渡镇", Level::Town, Some("341721")),
                j("341721101", "东流镇", Level::Town, Some("341721")),
                j("341721100201", "花园村", Level::Village, Some("341721100")),
            ],
            vec![
                Body {
                    code: BodyCode::parse("yaodu").unwrap(),
                    name: "尧渡镇人民调解委员会".into(),
                    kind: BodyKind::PeoplesMediation,
                    jurisdiction: code("341721100"),
                    categories: vec![CategoryCode::parse("neighbourhood").unwrap()],
                },
                Body {
                    code: BodyCode::parse("yaodu-sfs").unwrap(),
                    name: "尧渡镇司法所".into(),
                    kind: BodyKind::JusticeOffice,
                    jurisdiction: code("341721100"),
                    categories: vec![CategoryCode::parse("neighbourhood").unwrap()],
                },
                Body {
                    code: BodyCode::parse("dongzhi-xfj").unwrap(),
                    name: "东至县信访局".into(),
                    kind: BodyKind::PetitionBureau,
                    jurisdiction: code("341721"),
                    categories: vec![
                        CategoryCode::parse("land").unwrap(),
                        CategoryCode::parse("neighbourhood").unwrap(),
                    ],
                },
            ],
        )
        .await
        .unwrap();
    ledger
}

pub fn dispute(j: &str) -> NewCase {
    NewCase {
        kind: CaseKind::Dispute,
        channel: Channel::WalkIn,
        category: CategoryCode::parse("neighbourhood.boundary").unwrap(),
        title: t("邻居围墙占用通道"),
        description: t("申请人称邻居新砌围墙占用共用通道。"),
        jurisdiction: code(j),
        address: None,
        coordinates: None,
        people_involved: 2,
        parties: vec![NewParty {
            role: PartyRole::Applicant,
            kind: PartyKind::Person,
            name: t("张三"),
            id_number: Some(IdNumber::parse("11010519491231002X").unwrap()),
            phone: Some(PhoneNumber::parse("13812345678").unwrap()),
            address: None,
        }],
        risk: None,
        suggestions: None,
    }
}

pub fn actor() -> Actor {
    Actor::parse("clerk-01").unwrap()
}
