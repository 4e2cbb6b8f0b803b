//! A full disk under the real server: its data directory on a small tmpfs,
//! filled up while it takes registrations. Every refused write must be a
//! clean 503 `unavailable` with nothing of it left behind, reads must go on
//! being answered, and once space is freed the server must take writes again
//! by itself, with the store sound.
//!
//! Mounting a tmpfs needs root, which `.ci/run` has; elsewhere the test says
//! it was skipped, and under `CI` it fails instead.

mod common;
use common::*;
use jiefen_store::Store;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// A tmpfs mounted for the test and unmounted after it.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A word search finds as one token: the registration's number in letters.
fn marker(n: usize) -> String {
    n.to_string()
        .bytes()
        .map(|d| char::from(b'a' + (d - b'0')))
        .collect()
}

fn create(addr: &str, token: &str, n: usize) -> (u16, serde_json::Value) {
    let body = json!({"case": {
        "kind": "request",
        "channel": "phone",
        "category": "property_mgmt.parking",
        "title": format!("小区停车难 marker{}", marker(n)),
        "description": "希望增设停车位。".repeat(40),
        "jurisdiction": "341721100201",
    }})
    .to_string();
    let headers = format!(
        "Authorization: Bearer {token}\r\nContent-Type: application/json\r\nIdempotency-Key: full-{n}\r\n"
    );
    request(addr, "POST", "/api/v1/cases", &headers, &body).1
}

/// Found on 2026-12-02 that acknowledged registrations were lost (9,999
/// answered 201 on a full disk, 10 cases in the store after a restart):
/// sqlx's transaction bookkeeping had drifted from SQLite's, see
/// `crates/store/src/transaction.rs`. Also found the search index stuck
/// after the disk was freed (a tantivy writer whose indexing thread died).
#[test]
fn a_full_disk_refuses_writes_cleanly_and_recovers_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_mounted) = Tmpfs::mount(dir.path(), "48m") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "cannot mount a tmpfs: the full-disk test must run in CI (as root)"
        );
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let data = dir.path().join("data");
    let first = spawn_serve(&["--demo", "--demo-cases", "10"], &data).expect("serve --demo");
    first.kill();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let base = runtime.block_on(async {
        let (store, _ledger) = open_ledger(&data).await;
        let n = store.count_cases().await.unwrap();
        store.pool().close().await;
        n
    });
    let out = Command::new(env!("CARGO_BIN_EXE_jiefen"))
        .args(["token", "create", "--user", "clerk.yaodu", "--name", "full"])
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("jf_"))
        .unwrap()
        .to_owned();
    let key_file = data.join("demo-master.key");
    let server = spawn_serve(
        &[
            "--master-key-file",
            key_file.to_str().unwrap(),
            "--account-rate",
            "1000000",
            "--account-burst",
            "1000000",
        ],
        &data,
    )
    .expect("serve starts");
    let addr = server.addr.clone();
    let auth = format!("Authorization: Bearer {token}\r\n");
    let count = |addr: &str| {
        let (_, (status, page)) = request(addr, "GET", "/api/v1/cases?limit=1", &auth, "");
        assert_eq!(status, 200, "{page}");
        status
    };
    let search = |addr: &str, n: usize| {
        let path = format!("/api/v1/search?q=marker{}", marker(n));
        let (_, (status, found)) = request(addr, "GET", &path, &auth, "");
        assert_eq!(status, 200, "search on {path}: {found}");
        found
    };
    count(&addr);

    // Fill the disk.
    let filler = dir.path().join("filler");
    {
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 1 << 16];
        while f.write_all(&block).is_ok() {}
        // Room for a few registrations, so the disk fills during the load
        // (a batch running out of space midway), not before it.
        let full = f.metadata().unwrap().len();
        f.set_len(full.saturating_sub(1 << 20)).unwrap();
        let _ = f.sync_all();
    }
    let mut accepted = Vec::new();
    let mut refused = 0;
    let mut n = 0;
    while refused < 3 && n < 10_000 {
        n += 1;
        let (status, body) = create(&addr, &token, n);
        match status {
            201 => accepted.push(body["case_id"].as_str().unwrap().to_owned()),
            503 => {
                assert_eq!(body["error"]["code"], "unavailable", "{body}");
                refused += 1;
                // Reads go on while writes cannot, searches included.
                count(&addr);
                search(&addr, 1);
            }
            other => panic!("request {n} on a full disk: {other} {body}"),
        }
    }
    assert!(
        refused >= 1,
        "the disk never filled ({n} registrations taken)"
    );

    let before = accepted.len();
    // Space again: writes are taken without a restart.
    std::fs::remove_file(&filler).unwrap();
    let mut recovered = false;
    for _ in 0..50 {
        n += 1;
        let (status, body) = create(&addr, &token, n);
        match status {
            201 => {
                accepted.push(body["case_id"].as_str().unwrap().to_owned());
                recovered = true;
                break;
            }
            503 => continue,
            other => panic!("after the disk was freed: {other} {body}"),
        }
    }
    assert!(recovered, "writes were still refused after space was freed");
    eprintln!(
        "full disk: {before} registrations taken before it filled, {refused} refused with 503, {} after it was freed",
        accepted.len() - before
    );
    let newest = accepted.last().unwrap().clone();
    // The index catches up by itself, whatever it failed to write.
    let found = search(&addr, n);
    assert!(
        found["items"].to_string().contains(&newest),
        "the registration taken after recovery is not found: {found}"
    );
    let logged = server.kill();
    assert!(!logged.contains(" panicked at "), "{logged}");

    // Nothing of a refused write is in the store; everything accepted is.
    runtime.block_on(async {
        let (store, ledger) = open_ledger(&data).await;
        assert_eq!(store.integrity_check().await.unwrap(), "ok");
        let report = ledger.rebuild(false).await.unwrap();
        assert!(
            report.mismatched.is_empty()
                && report.broken_chains.is_empty()
                && !report.tallies_mismatched,
            "{report:?}"
        );
        assert_eq!(store.log_size().await.unwrap(), report.events);
        assert_eq!(
            store.count_cases().await.unwrap(),
            base + accepted.len() as u64,
            "{} accepted, {refused} refused",
            accepted.len()
        );
        let id = jiefen_domain::case::CaseId::parse(&newest).unwrap();
        assert!(store.projection(id).await.unwrap().is_some());
        store.pool().close().await;
    });
}
