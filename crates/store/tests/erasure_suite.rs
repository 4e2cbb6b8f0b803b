//! Erasure and backups, on every backend: a key export put into a restored
//! store applies every erasure it records, never undoes one, fills missing
//! keys and rebuilds the identity hashes; and (SQLite) a data backup holds
//! no key, so a party erased after it was made cannot be read from it.

#[macro_use]
mod common;
use common::*;
use jiefen_domain::party::{PartyRole, PersonalFieldKind};
use jiefen_store::backup::{BackupError, KeyRestore};
use jiefen_store::vault::{MasterKey, Vault};
use jiefen_store::KeyMerge;
use std::path::{Path, PathBuf};

const APPLICANT_PHONE: &str = "13812345678";
const APPLICANT_ID: &str = "11010519491231002X";
const RESPONDENT_PHONE: &str = "13698765432";

/// A dispute between two people: the applicant of `dispute`, and a
/// respondent with a phone of his own.
fn two_parties() -> NewCase {
    let mut new = dispute("341721100201");
    new.parties.push(NewParty {
        role: PartyRole::Respondent,
        kind: PartyKind::Person,
        name: t("李四"),
        id_number: None,
        phone: Some(PhoneNumber::parse(RESPONDENT_PHONE).unwrap()),
        address: None,
    });
    new
}

async fn register(ledger: &Ledger, new: NewCase) -> CaseId {
    ledger.create(new, actor(), None).await.unwrap().case_id
}

/// (party, field, value) of a case's opened personal data.
async fn opened(ledger: &Ledger, id: CaseId) -> Vec<(u32, PersonalFieldKind, String)> {
    ledger
        .personal_values(id)
        .await
        .unwrap()
        .into_iter()
        .map(|v| (v.party_no, v.field, v.value))
        .collect()
}

async fn export_to(ledger: &Ledger, dir: &Path, name: &str) -> PathBuf {
    let mut bytes = Vec::new();
    ledger.export_keys(&mut bytes).await.unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Which earlier cases a new registration with this applicant phone is
/// flagged as a repeat of: what the identity index answers.
async fn repeats_of_phone(ledger: &Ledger, phone: &str) -> Vec<CaseId> {
    let mut new = dispute("341721101");
    new.parties[0].id_number = None;
    new.parties[0].phone = Some(PhoneNumber::parse(phone).unwrap());
    let id = register(ledger, new).await;
    let case = ledger.get(id).await.unwrap().unwrap();
    case.possible_repeats.iter().map(|r| r.case_id).collect()
}

/// What a data backup leaves out, as restoring one leaves the store.
const AS_RESTORED: &str =
    "UPDATE party_keys SET wrapped = NULL WHERE wrapped IS NOT NULL; DELETE FROM identities";

async fn key_exports_restore_and_never_undo_erasures(db: Db) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(&db, clock.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let id = register(&ledger, two_parties()).await;
    let everything = opened(&ledger, id).await;
    assert_eq!(everything.len(), 5, "{everything:?}");
    let before = export_to(&ledger, dir.path(), "before.keys").await;

    // A store restored from a data backup opens nothing and finds no one.
    db.exec(AS_RESTORED).await;
    assert!(opened(&ledger, id).await.is_empty());
    assert_eq!(ledger.store().count_keyless_parties().await.unwrap(), 2);
    clock.advance(Duration::days(1));
    assert!(repeats_of_phone(&ledger, RESPONDENT_PHONE).await.is_empty());

    // The key export brings back both parties and the identity index.
    let report = ledger.restore_keys(&before).await.unwrap();
    assert_eq!(
        report.merge,
        KeyMerge {
            restored: 2,
            erased: 0,
            unchanged: 0
        }
    );
    assert_eq!(report.keyless, 0);
    assert_eq!(opened(&ledger, id).await, everything);
    assert!(repeats_of_phone(&ledger, APPLICANT_PHONE)
        .await
        .contains(&id));
    // Twice is the same as once.
    let again = ledger.restore_keys(&before).await.unwrap();
    assert_eq!(again.merge.restored + again.merge.erased, 0, "{again:?}");

    // A copy of the data as a backup made now would hold it.
    db.exec("CREATE TABLE backup_personal AS SELECT * FROM personal_data")
        .await;

    // The applicant is erased; the next export records it.
    let fields = ledger.erase_party(id, 1).await.unwrap();
    assert_eq!(fields.len(), 3, "{fields:?}");
    let after = export_to(&ledger, dir.path(), "after.keys").await;
    let text = std::fs::read_to_string(&after).unwrap();
    assert!(text.contains("\"erased_at_ms\""), "{text}");

    // An export from before the erasure does not undo it.
    let report = ledger.restore_keys(&before).await.unwrap();
    assert_eq!(report.merge.restored, 0, "{report:?}");
    let left = opened(&ledger, id).await;
    assert!(left.iter().all(|(p, _, _)| *p == 2), "{left:?}");
    assert!(!left.is_empty());

    // A store restored from data older than the erasure, with the export
    // made after it: the erasure is applied, the other party comes back.
    db.exec(
        "DELETE FROM personal_data; \
         INSERT INTO personal_data SELECT * FROM backup_personal; \
         UPDATE party_keys SET erased_at_ms = NULL",
    )
    .await;
    db.exec(AS_RESTORED).await;
    let report: KeyRestore = ledger.restore_keys(&after).await.unwrap();
    assert_eq!(report.merge.erased, 1, "{report:?}");
    // The respondent, and the applicants of the two probing registrations.
    assert_eq!(report.merge.restored, 3, "{report:?}");
    let left = opened(&ledger, id).await;
    assert!(left.iter().all(|(p, _, _)| *p == 2), "{left:?}");
    assert!(!repeats_of_phone(&ledger, APPLICANT_PHONE)
        .await
        .contains(&id));
    // The respondent's identity is back in the index.
    let mut same_respondent = two_parties();
    same_respondent.parties[0].id_number = None;
    same_respondent.parties[0].phone = Some(PhoneNumber::parse("13500000000").unwrap());
    let probe = register(&ledger, same_respondent).await;
    let flagged = ledger.get(probe).await.unwrap().unwrap().possible_repeats;
    assert!(flagged.iter().any(|r| r.case_id == id), "{flagged:?}");

    // The case's history still verifies.
    let bundle = ledger.export(id, true, &[]).await.unwrap();
    assert_eq!(
        bundle.personal_data.len(),
        2,
        "the respondent's name and phone"
    );
    verify_bundle(&bundle, &VerifyOptions::default()).unwrap();
}

async fn bad_key_exports_change_nothing(db: Db) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(&db, clock.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let id = register(&ledger, two_parties()).await;
    let good = export_to(&ledger, dir.path(), "good.keys").await;
    db.exec(AS_RESTORED).await;
    let text = std::fs::read_to_string(&good).unwrap();
    let lines: Vec<&str> = text.lines().collect();

    // A bad last line: nothing of the good ones before it is applied.
    let broken = dir.path().join("broken.keys");
    std::fs::write(
        &broken,
        format!("{}\n{{\"case\":\"x\"}}\n", text.trim_end()),
    )
    .unwrap();
    let err = ledger.restore_keys(&broken).await.unwrap_err();
    assert!(
        matches!(err, BackupError::Format { line, .. } if line == lines.len() + 1),
        "{err}"
    );
    // A key moved to another party does not open.
    let moved = dir.path().join("moved.keys");
    let swapped = lines[1].replace("\"party\":1", "\"party\":2");
    std::fs::write(&moved, format!("{}\n{swapped}\n", lines[0])).unwrap();
    assert!(matches!(
        ledger.restore_keys(&moved).await.unwrap_err(),
        BackupError::Format { line: 2, .. }
    ));
    assert_eq!(ledger.store().count_keyless_parties().await.unwrap(), 2);
    assert!(opened(&ledger, id).await.is_empty());

    // An export made under another master key is refused as a whole.
    let other = open_ledger(&db, clock, [6; 32]).await;
    assert!(matches!(
        other,
        Err(jiefen_store::StoreError::WrongMasterKey)
    ));
    let foreign = dir.path().join("foreign.keys");
    let header = lines[0].replace(
        Vault::new(&MasterKey::from_bytes(MASTER_KEY)).check_value(),
        Vault::new(&MasterKey::from_bytes([6; 32])).check_value(),
    );
    std::fs::write(&foreign, format!("{header}\n{}\n", lines[1..].join("\n"))).unwrap();
    assert!(matches!(
        ledger.restore_keys(&foreign).await.unwrap_err(),
        BackupError::WrongMasterKey
    ));
    assert!(opened(&ledger, id).await.is_empty());
    // The good one still works.
    ledger.restore_keys(&good).await.unwrap();
    assert_eq!(opened(&ledger, id).await.len(), 5);
}

/// A store from before encryption at rest (values in clear, no vault
/// check recorded) is refused under a master key, and the refusal records
/// nothing; a store once opened under the key is not searched for such
/// values again (that search read all of personal_data on every start).
async fn clear_values_are_sought_only_before_sealing(db: Db) {
    let clock = Arc::new(ManualClock::new(start()));
    let clear = "INSERT INTO personal_data (case_id, party_no, field, value, salt, commitment) \
                 VALUES ('019aea65-df55-7930-a84d-e916de4b40f9', 0, 'phone', '13812345678', 'salt', 'c')";
    db.exec(clear).await;
    let refused = open_ledger(&db, clock.clone(), MASTER_KEY).await.err();
    assert!(
        matches!(&refused, Some(jiefen_store::StoreError::Corrupt(m)) if m.contains("in clear")),
        "{refused:?}"
    );
    assert_eq!(db.store().vault_check().await.unwrap(), None);
    db.exec("DELETE FROM personal_data").await;
    drop(open_ledger(&db, clock.clone(), MASTER_KEY).await.unwrap());
    assert!(db.store().vault_check().await.unwrap().is_some());
    // Planted after the first sealed open, such a row is a forgery the
    // start-up check no longer reads; the ledger opens.
    db.exec(clear).await;
    assert!(db.store().has_clear_personal().await.unwrap());
    drop(open_ledger(&db, clock, MASTER_KEY).await.unwrap());
}

on_both!(
    key_exports_restore_and_never_undo_erasures,
    bad_key_exports_change_nothing,
    clear_values_are_sought_only_before_sealing
);

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every byte SQLite keeps for a database: the file and its WAL.
fn sqlite_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    if let Ok(wal) = std::fs::read(format!("{}-wal", path.display())) {
        bytes.extend(wal);
    }
    bytes
}

#[tokio::test]
async fn a_backup_cannot_bring_an_erased_party_back() {
    let db = sqlite().await;
    let Db::Sqlite(sqlite, dir) = &db else {
        unreachable!()
    };
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(&db, clock.clone()).await;
    let id = register(&ledger, two_parties()).await;
    let (_, keys) = ledger.store().sealed_personal(id).await.unwrap();
    let applicant_key = keys[0].wrapped.clone().unwrap();
    let live = dir.path().join("jiefen.db");
    assert!(contains(&sqlite_bytes(&live), &applicant_key));

    // A backup made before the erasure holds sealed values and no key.
    let backup = dir.path().join("before-erasure.db");
    sqlite.backup_to(&backup).await.unwrap();
    assert!(matches!(
        sqlite.backup_to(&backup).await,
        Err(jiefen_store::StoreError::Conflict(_))
    ));
    let copy = std::fs::read(&backup).unwrap();
    for k in &keys {
        assert!(!contains(&copy, k.wrapped.as_ref().unwrap()));
    }
    for secret in [APPLICANT_PHONE, APPLICANT_ID, RESPONDENT_PHONE, "张三"] {
        assert!(
            !contains(&copy, secret.as_bytes()),
            "{secret} in the backup"
        );
    }

    // Erased in the live store: neither the key nor anything in clear is
    // left in its files.
    ledger.erase_party(id, 1).await.unwrap();
    let files = sqlite_bytes(&live);
    assert!(!contains(&files, &applicant_key), "the erased key survives");
    for secret in [APPLICANT_PHONE, APPLICANT_ID] {
        assert!(!contains(&files, secret.as_bytes()));
    }
    let export = export_to(&ledger, dir.path(), "after.keys").await;

    // The backup alone, with the master key, opens nothing.
    let restored_dir = tempfile::tempdir().unwrap();
    let restored_path = restored_dir.path().join("jiefen.db");
    std::fs::copy(&backup, &restored_path).unwrap();
    let restored_db = Db::Sqlite(
        Arc::new(SqliteStore::open(&restored_path).await.unwrap()),
        restored_dir,
    );
    let restored = open_ledger(&restored_db, clock.clone(), MASTER_KEY)
        .await
        .unwrap();
    assert!(opened(&restored, id).await.is_empty());
    // With the key export made after the erasure: the respondent only.
    let report = restored.restore_keys(&export).await.unwrap();
    assert_eq!(report.merge.erased, 1, "{report:?}");
    assert_eq!(report.merge.restored, 1, "{report:?}");
    let left = opened(&restored, id).await;
    assert_eq!(
        left,
        vec![
            (2, PersonalFieldKind::Name, "李四".to_string()),
            (2, PersonalFieldKind::Phone, RESPONDENT_PHONE.to_string())
        ]
    );
    let bundle = restored.export(id, true, &[]).await.unwrap();
    verify_bundle(&bundle, &VerifyOptions::default()).unwrap();
    let files = sqlite_bytes(&restored_path);
    assert!(!contains(&files, &applicant_key));
}
