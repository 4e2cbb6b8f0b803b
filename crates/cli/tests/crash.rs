//! Crash consistency: a write load (registrations, acceptances and notes,
//! each with an idempotency key) against the real server process, which is
//! killed with SIGKILL at random moments — while it starts, or after a
//! random number of requests — and started again, round after round. After
//! every kill the store must pass SQLite's `integrity_check`, every
//! acknowledged write must be there exactly once, every history's chain and
//! every projection must equal a replay of its events, the log must hold
//! one leaf per event and the tallies must equal a count; after every
//! restart, each request left without an answer is sent again with its key
//! and must be answered without writing twice, and search must find what
//! was acknowledged before the kill.
//!
//! `JIEFEN_CRASH_ROUNDS` sets the number of kills (200 by default, which
//! `.ci/run` runs), `JIEFEN_CRASH_SEED` the seed (printed, so a failure can
//! be replayed).

mod common;
use common::*;
use jiefen_domain::case::CaseId;
use jiefen_store::sqlite::SqliteStore;
use jiefen_store::Store;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

const VILLAGE: &str = "341721100201";
const LOAD_THREADS: usize = 3;

/// A small, seedable generator: the test must be replayable from its seed.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A word search finds as one token, and no other case contains.
    fn marker(&mut self) -> String {
        (0..10)
            .map(|_| char::from(b'a' + self.below(26) as u8))
            .collect()
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Create { marker: String },
    Accept { case: CaseId },
    Note { case: CaseId, marker: String },
}

/// One write and everything needed to send it again.
#[derive(Debug, Clone)]
struct Op {
    key: String,
    path: String,
    body: String,
    kind: Kind,
}

/// What the test knows of the store: each write's key with its answer, or
/// the writes whose answer never came.
#[derive(Default)]
struct Ledgerbook {
    /// Acknowledged registrations: marker → case.
    created: BTreeMap<String, CaseId>,
    /// Cases registered and not yet accepted, and those accepted.
    registered: Vec<CaseId>,
    accepted: Vec<CaseId>,
    /// The registration acknowledged last.
    newest: Option<(String, CaseId)>,
    /// Acknowledged notes per case (their markers).
    notes: HashMap<CaseId, Vec<String>>,
    /// Sent, and no answer came before the kill. (A case to accept leaves
    /// `registered` when its request is made, so no two requests accept
    /// one case.)
    pending: Vec<Op>,
    sent: usize,
    next_key: u64,
    rng: Option<Rng>,
}

impl Ledgerbook {
    fn next_op(&mut self) -> Op {
        let mut rng = self.rng.take().expect("one op at a time");
        self.next_key += 1;
        let key = format!("crash-{:016x}-{}", rng.next(), self.next_key);
        let choice = rng.below(100);
        let op = if choice < 20 && !self.registered.is_empty() {
            let case = self
                .registered
                .swap_remove(rng.below(self.registered.len() as u64) as usize);
            Op {
                key,
                path: format!("/api/v1/cases/{case}/actions"),
                body: json!({"action": {"type": "accept"}}).to_string(),
                kind: Kind::Accept { case },
            }
        } else if choice < 55 && !self.created.is_empty() {
            let ids: Vec<CaseId> = self.created.values().copied().collect();
            let case = ids[rng.below(ids.len() as u64) as usize];
            let marker = rng.marker();
            Op {
                key,
                path: format!("/api/v1/cases/{case}/actions"),
                body: json!({"action": {"type": "note", "text": format!("回访记录 {marker}")}})
                    .to_string(),
                kind: Kind::Note { case, marker },
            }
        } else {
            let marker = rng.marker();
            Op {
                key,
                path: "/api/v1/cases".into(),
                body: json!({"case": {
                    "kind": "request",
                    "channel": "phone",
                    "category": "property_mgmt.parking",
                    "title": format!("小区停车难 {marker}"),
                    "description": format!("希望增设停车位，编号 {marker}。"),
                    "jurisdiction": VILLAGE,
                }})
                .to_string(),
                kind: Kind::Create { marker },
            }
        };
        self.rng = Some(rng);
        op
    }

    /// Records an answer; panics on one that is not a success.
    fn answered(&mut self, op: Op, status: u16, body: &Value) {
        assert!(
            matches!(status, 200 | 201),
            "{} {}: {status} {body}",
            op.path,
            op.body
        );
        match op.kind {
            Kind::Create { marker } => {
                let id = CaseId::parse(body["case_id"].as_str().expect("a case id")).unwrap();
                self.newest = Some((marker.clone(), id));
                if let Some(before) = self.created.insert(marker, id) {
                    // A retried registration answers with the first case.
                    assert_eq!(before, id, "a retry registered a second case");
                } else {
                    self.registered.push(id);
                }
            }
            Kind::Accept { case } => self.accepted.push(case),
            Kind::Note { case, marker } => self.notes.entry(case).or_default().push(marker),
        }
    }

    fn pending_creates(&self) -> usize {
        self.pending
            .iter()
            .filter(|o| matches!(o.kind, Kind::Create { .. }))
            .count()
    }
}

fn send(addr: &str, token: &str, op: &Op) -> Option<(u16, Value)> {
    let headers = format!(
        "Authorization: Bearer {token}\r\nContent-Type: application/json\r\nIdempotency-Key: {}\r\n",
        op.key
    );
    try_request(addr, "POST", &op.path, &headers, &op.body).map(|(_, r)| r)
}

/// Writes from a few threads until the server stops answering; each request
/// sent is told to `sent` before it goes.
fn load(addr: &str, token: &str, book: &Arc<Mutex<Ledgerbook>>, sent: mpsc::Sender<()>) {
    let dead = Arc::new(AtomicBool::new(false));
    std::thread::scope(|s| {
        for _ in 0..LOAD_THREADS {
            let (book, sent, dead) = (book.clone(), sent.clone(), dead.clone());
            s.spawn(move || {
                while !dead.load(Ordering::SeqCst) {
                    let op = {
                        let mut b = book.lock().unwrap();
                        b.sent += 1;
                        b.next_op()
                    };
                    let _ = sent.send(());
                    match send(addr, token, &op) {
                        Some((status, body)) => book.lock().unwrap().answered(op, status, &body),
                        None => {
                            dead.store(true, Ordering::SeqCst);
                            book.lock().unwrap().pending.push(op);
                        }
                    }
                }
            });
        }
    });
}

/// The checks made with the server down, on the store as the kill left it.
fn check_store(data: &Path, book: &Ledgerbook, round: usize, base_cases: u64) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // Opening runs the migrations and counts missing tallies: what the
        // server would do first, so after it the file must still be sound.
        let (store, ledger) = open_ledger(data).await;
        assert_eq!(
            store.integrity_check().await.unwrap(),
            "ok",
            "round {round}: integrity_check"
        );
        let report = ledger.rebuild(false).await.unwrap();
        assert!(
            report.mismatched.is_empty()
                && report.broken_chains.is_empty()
                && report.missing_notices.is_empty()
                && !report.tallies_mismatched,
            "round {round}: {report:?}"
        );
        assert_eq!(
            store.log_size().await.unwrap(),
            report.events,
            "round {round}: one log leaf per event"
        );
        // Acknowledged registrations are all there; of those not answered,
        // each is there at most once.
        let cases = store.count_cases().await.unwrap();
        let acked = book.created.len() as u64 + base_cases;
        assert!(
            cases >= acked && cases <= acked + book.pending_creates() as u64,
            "round {round}: {cases} cases, {acked} acknowledged, {} unanswered",
            book.pending_creates()
        );
        for id in book.created.values() {
            assert!(
                store.projection(*id).await.unwrap().is_some(),
                "round {round}: acknowledged case {id} lost"
            );
        }
        for id in &book.accepted {
            let row = store.projection(*id).await.unwrap().unwrap();
            assert_ne!(
                row.state, "registered",
                "round {round}: acceptance of {id} lost"
            );
        }
        // Every acknowledged note once, an unanswered one at most once.
        for (id, markers) in &book.notes {
            let events = store.events(*id).await.unwrap();
            for m in markers {
                let n = events
                    .iter()
                    .filter(|e| e.body.contains(m.as_str()))
                    .count();
                assert_eq!(n, 1, "round {round}: note {m} of {id} is there {n} times");
            }
        }
        for op in &book.pending {
            if let Kind::Note { case, marker } = &op.kind {
                let events = store.events(*case).await.unwrap();
                let n = events
                    .iter()
                    .filter(|e| e.body.contains(marker.as_str()))
                    .count();
                assert!(
                    n <= 1,
                    "round {round}: unanswered note {marker} there {n} times"
                );
            }
        }
        drop(ledger);
        store.pool().close().await;
    });
}

fn rounds() -> usize {
    std::env::var("JIEFEN_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

fn seed() -> u64 {
    std::env::var("JIEFEN_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

#[test]
fn acknowledged_writes_survive_sigkill_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let seed = seed();
    eprintln!("crash loop: {} rounds, JIEFEN_CRASH_SEED={seed}", rounds());
    let mut rng = Rng(seed);

    // The demo city, its accounts and a few cases, then a token for the load.
    let first = spawn_serve(&["--demo", "--demo-cases", "12"], &data).expect("serve --demo");
    first.kill();
    let out = Command::new(env!("CARGO_BIN_EXE_jiefen"))
        .args([
            "token",
            "create",
            "--user",
            "clerk.yaodu",
            "--name",
            "crash",
            "--data",
            data_s,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("jf_"))
        .expect("the token")
        .to_owned();
    let key_file = data.join("demo-master.key");
    let key_file = key_file.to_str().unwrap();
    let serve_args = ["--master-key-file", key_file];

    let base_cases = {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let store = SqliteStore::open(&data.join("jiefen.db")).await.unwrap();
            let n = store.count_cases().await.unwrap();
            store.pool().close().await;
            n
        })
    };
    assert!(base_cases > 0);

    let book = Arc::new(Mutex::new(Ledgerbook {
        rng: Some(Rng(seed.rotate_left(32) | 1)),
        ..Ledgerbook::default()
    }));
    let mut during_start = 0;
    let rounds = rounds();
    for round in 0..rounds {
        // One kill in eight comes while the server starts (migrations,
        // tallies, the search index's catch-up, the engine's first tick).
        if rng.below(8) == 0 {
            let lines = rng.below(6) as usize;
            if spawn_killed_before_listening(&serve_args, &data, lines) {
                during_start += 1;
            }
        } else {
            let server = spawn_serve(&serve_args, &data).expect("serve starts after a kill");
            let addr = server.addr.clone();
            retry_pending(&addr, &token, &book, round);
            search_finds_the_last_registration(&addr, &token, &book, round);
            // Kill after a random number of requests has been sent.
            let kill_after = rng.below(40) as usize;
            let (sent_tx, sent_rx) = mpsc::channel();
            let killer = std::thread::spawn(move || {
                for _ in 0..kill_after {
                    if sent_rx.recv().is_err() {
                        break;
                    }
                }
                server.kill()
            });
            load(&addr, &token, &book, sent_tx);
            let logged = killer.join().unwrap();
            assert!(!logged.contains(" panicked at "), "round {round}: {logged}");
        }
        check_store(&data, &book.lock().unwrap(), round, base_cases);
    }

    // The end: everything unanswered sent again and answered once.
    let server = spawn_serve(&serve_args, &data).expect("serve starts");
    retry_pending(&server.addr, &token, &book, rounds);
    search_finds_the_last_registration(&server.addr, &token, &book, rounds);
    server.kill();
    let book = book.lock().unwrap();
    assert!(book.pending.is_empty());
    check_store(&data, &book, rounds, base_cases);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cases = runtime.block_on(async {
        let store = SqliteStore::open(&data.join("jiefen.db")).await.unwrap();
        store.count_cases().await.unwrap()
    });
    assert_eq!(cases, base_cases + book.created.len() as u64);
    eprintln!(
        "crash loop: {rounds} kills ({during_start} while starting), {} requests, {} cases, {} notes, {} acceptances",
        book.sent,
        book.created.len(),
        book.notes.values().map(Vec::len).sum::<usize>(),
        book.accepted.len()
    );
    assert!(
        book.created.len() > rounds / 2,
        "the load wrote too little to prove anything"
    );
}

/// Starts the server and kills it after it has logged `lines` lines;
/// whether that was before it listened.
fn spawn_killed_before_listening(args: &[&str], data: &Path, lines: usize) -> bool {
    use std::io::{BufRead, BufReader};
    let mut child = serve_command(args, data).spawn().unwrap();
    let mut out = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut listening = false;
    for _ in 0..lines {
        match out.next() {
            Some(Ok(l)) if l.contains("http://") => {
                listening = true;
                break;
            }
            Some(Ok(_)) => {}
            _ => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    !listening
}

/// Sends every unanswered write again with its key: each must now be
/// answered, a registration that had been committed with its first case.
fn retry_pending(addr: &str, token: &str, book: &Arc<Mutex<Ledgerbook>>, round: usize) {
    let pending = std::mem::take(&mut book.lock().unwrap().pending);
    for op in pending {
        let (status, body) = send(addr, token, &op)
            .unwrap_or_else(|| panic!("round {round}: no answer to a retry of {}", op.key));
        book.lock().unwrap().answered(op, status, &body);
    }
}

/// The search index caught up after the restart: the newest acknowledged
/// registration is found by its marker.
fn search_finds_the_last_registration(
    addr: &str,
    token: &str,
    book: &Arc<Mutex<Ledgerbook>>,
    round: usize,
) {
    let newest = book.lock().unwrap().newest.clone();
    let Some((marker, id)) = newest else { return };
    let (_, (status, found)) = request(
        addr,
        "GET",
        &format!("/api/v1/search?q={marker}"),
        &format!("Authorization: Bearer {token}\r\n"),
        "",
    );
    assert_eq!(status, 200, "{found}");
    let ids: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["case"]["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [id.to_string().as_str()],
        "round {round}: search for {marker}"
    );
}
