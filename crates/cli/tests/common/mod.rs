//! What the binary's end-to-end tests share: a bare HTTP/1.1 client (so the
//! tests need no client library and see exactly what went over the wire)
//! and a `serve` process started on a free port.
#![allow(dead_code)]

pub mod writes;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

/// Our crates' logs in full, so the checks see everything they say.
pub const LOG_LEVELS: &str = "info,jiefen_web=trace,jiefen_store=trace,tower_http=debug,sqlx=warn";

/// One request over a fresh connection: the response's headers, status
/// and JSON body. Panics when no whole response comes back.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (String, (u16, Value)) {
    try_request(addr, method, path, headers, body)
        .unwrap_or_else(|| panic!("{method} {path}: no response"))
}

/// The same, `None` when the connection fails or closes before a whole
/// response (a server killed mid-request).
pub fn try_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> Option<(String, (u16, Value))> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (head, rest) = raw.split_once("\r\n\r\n")?;
    let status: u16 = head.get(9..12)?.parse().ok()?;
    let length = head.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("content-length: ")
            .and_then(|n| n.trim().parse::<usize>().ok())
    });
    // A response cut short by a kill is no response.
    if length.is_some_and(|n| rest.len() < n) {
        return None;
    }
    Some((head.to_owned(), (status, json_of(rest))))
}

/// The JSON of a body, which may arrive chunked: the text between the
/// first `{` and the last `}`.
pub fn json_of(body: &str) -> Value {
    match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) if a <= b => serde_json::from_str(&body[a..=b]).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// A minimal GET.
pub fn get(addr: &str, path: &str) -> (u16, Value) {
    request(addr, "GET", path, "", "").1
}

/// A `jiefen serve` child: its address, and its standard error read to the
/// end by a thread.
pub struct Spawned {
    pub child: Child,
    pub addr: String,
    pub stderr: Option<std::thread::JoinHandle<String>>,
}

impl Spawned {
    /// Kills it at once (SIGKILL) and returns what it logged.
    pub fn kill(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr
            .take()
            .map(|t| t.join().unwrap())
            .unwrap_or_default()
    }
}

/// A test that fails before killing its server must not leave it running
/// (it would hold the test's output open). Its failure comes with what the
/// server warned of, and the end of its log, which the assertion alone
/// would not show.
impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            return;
        }
        let Some(Ok(logged)) = self.stderr.take().map(|t| t.join()) else {
            return;
        };
        let lines: Vec<&str> = logged.lines().collect();
        let warned: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .collect();
        let tail = &lines[lines.len().saturating_sub(40)..];
        eprintln!(
            "the server's last warnings ({} in all):\n{}\nthe end of its log:\n{}",
            warned.len(),
            warned[warned.len().saturating_sub(40)..].join("\n"),
            tail.join("\n")
        );
    }
}

/// `jiefen serve --listen 127.0.0.1:0` with `args` on `data`, its standard
/// error piped.
pub fn serve_command(args: &[&str], data: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jiefen"));
    command
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("RUST_LOG", LOG_LEVELS)
        .stderr(Stdio::piped());
    command
}

/// The store of a data directory and a ledger over it, opened in this
/// process (the server must not be running).
pub async fn open_ledger(
    data: &std::path::Path,
) -> (
    std::sync::Arc<jiefen_store::sqlite::SqliteStore>,
    jiefen_store::Ledger,
) {
    let store = std::sync::Arc::new(
        jiefen_store::sqlite::SqliteStore::open(&data.join("jiefen.db"))
            .await
            .unwrap(),
    );
    let ledger = ledger_over(store.clone(), data).await;
    (store, ledger)
}

/// A ledger over `store` with the deployment key of the data directory.
pub async fn ledger_over(
    store: std::sync::Arc<dyn jiefen_store::Store>,
    data: &std::path::Path,
) -> jiefen_store::Ledger {
    let seed = std::fs::read_to_string(data.join("signing.key")).unwrap();
    jiefen_store::Ledger::open(
        store,
        jiefen_domain::taxonomy::Taxonomy::default_taxonomy(),
        std::sync::Arc::new(jiefen_store::SystemClock),
        jiefen_ledger::checkpoint::DeploymentKey::parse_seed_file(&seed).unwrap(),
        "jiefen".into(),
        None,
    )
    .await
    .unwrap()
}

/// A new API token for `user`, made by `jiefen token create` with `store`
/// (`--data DIR`, and `--database URL` for PostgreSQL).
pub fn token_for(user: &str, store: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_jiefen"))
        .args(["token", "create", "--user", user, "--name", "test-load"])
        .args(store)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("jf_"))
        .expect("the token")
        .to_owned()
}

/// Starts `jiefen serve` with `args` and waits for the line saying where it
/// listens. `None` when it exits first.
pub fn spawn_serve(args: &[&str], data: &std::path::Path) -> Option<Spawned> {
    spawn_command(serve_command(args, data))
}

/// Starts a `serve` command (perhaps wrapped in another program) and waits
/// for the line saying where it listens.
pub fn spawn_command(mut command: Command) -> Option<Spawned> {
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut before = String::new();
    let addr = loop {
        let Some(Ok(line)) = lines.next() else {
            let _ = child.wait();
            eprintln!("serve exited before listening:\n{before}");
            return None;
        };
        if let Some(rest) = line.split("http://").nth(1) {
            break rest
                .split(|c: char| c == '/' || c.is_whitespace())
                .next()
                .unwrap()
                .to_owned();
        }
        before.push_str(&line);
        before.push('\n');
    };
    let stderr = std::thread::spawn(move || {
        let mut all = before;
        for line in lines.map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    Some(Spawned {
        child,
        addr,
        stderr: Some(stderr),
    })
}
