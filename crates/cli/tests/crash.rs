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
use common::writes::*;
use common::*;
use jiefen_store::sqlite::SqliteStore;
use jiefen_store::Store;
use std::ffi::OsStr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

const LOAD_THREADS: usize = 3;

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
        check_ledger(
            store.as_ref(),
            &ledger,
            book,
            &format!("round {round}"),
            base_cases,
        )
        .await;
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
    let seed = seed();
    eprintln!("crash loop: {} rounds, JIEFEN_CRASH_SEED={seed}", rounds());
    let mut rng = Rng(seed);

    // The demo city, its accounts and a few cases, then a token for the load.
    let first = spawn_serve(&["--demo", "--demo-cases", "12"], &data).expect("serve --demo");
    first.kill();
    let token = token_for("clerk.yaodu", &[OsStr::new("--data"), data.as_os_str()]);
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
