//! `jiefen-bench`: drives the real `jiefen` server over HTTP with many
//! concurrent clients and reports throughput and latency percentiles, then
//! does the same against a bare axum + SQLite handler with the same
//! durability (WAL, synchronous=FULL, every acknowledged write committed) as
//! the baseline. Both servers run as separate processes on loopback; the load
//! generator shares the machine with them, as it would in any one-box test.
//!
//! Also the deadline engine's tick at scale (`engine`) and text at scale
//! (`text`: indexing, search and the intake's repeat check over synthetic
//! cases built from the real messages' vocabulary), and the soak (`soak`: a
//! mixed load held for minutes, window by window).

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;

mod engine;
mod pages;
mod soak;
mod text;

/// A memory line of a process's /proc status, in KiB: `VmRSS`, `VmHWM`
/// (the high-water resident set), `RssAnon`, `RssFile`. `None` is this
/// process.
fn status_kib(pid: Option<u32>, field: &str) -> Option<u64> {
    let process = pid.map_or_else(|| "self".to_owned(), |p| p.to_string());
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).ok()?;
    status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[derive(Parser)]
#[command(about = "HTTP load benchmarks for Jiefen")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the intake and read benchmarks against jiefen and the baseline.
    Http {
        /// The jiefen binary (release build).
        #[arg(long, default_value = "target/release/jiefen")]
        jiefen: PathBuf,
        /// Concurrent clients, each with its own keep-alive connection.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Seconds of measured load per phase (after one second of warm-up).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Repeat each phase and report the median run.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Run both servers on this PostgreSQL database (a fresh schema
        /// each run) instead of SQLite files.
        #[arg(long)]
        database: Option<String>,
        /// Run jiefen on this data directory filled by `jiefen gen` (with
        /// `--database`, on that database itself rather than a fresh
        /// schema) instead of an empty store. The cases written are added
        /// to it.
        #[arg(long)]
        store: Option<PathBuf>,
        /// Rows the baseline's table holds before the run, to match the
        /// size of `--store`.
        #[arg(long, default_value_t = 0)]
        baseline_rows: u64,
    },
    /// The deadline engine: one tick where `changing` cases change signal,
    /// and one where nothing does, among `cases` open cases.
    Engine {
        /// Where the generated store is kept between runs.
        #[arg(long, default_value = "target/bench-engine")]
        data: PathBuf,
        /// Keep the store in this PostgreSQL database instead of SQLite.
        #[arg(long)]
        database: Option<String>,
        #[arg(long, default_value_t = 1_000_000)]
        cases: u64,
        #[arg(long, default_value_t = 1_000)]
        changing: u32,
        #[arg(long, default_value_t = 15)]
        rounds: usize,
    },
    /// Every page's server time on a store made by `jiefen gen`.
    Pages(pages::Options),
    /// A mixed load held for minutes, reported window by window, to show
    /// growth of latency or memory over the run.
    Soak(soak::Options),
    /// Text at scale: indexing `cases` synthetic cases built from the real
    /// messages' vocabulary, searching them, and the intake's repeat check.
    Text(text::Options),
    /// The baseline server: a bare axum handler inserting into SQLite, or
    /// into PostgreSQL with `--database`.
    BareServer {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        database: Option<String>,
        /// Rows inserted before serving.
        #[arg(long, default_value_t = 0)]
        rows: u64,
    },
}

const CASE: &str = r#"{"case":{"kind":"dispute","channel":"walk_in","category":"neighbourhood.boundary","title":"邻居新砌围墙占用共用通道","description":"申请人称邻居在宅基地外侧新砌围墙，占用两家共用通道约一米，电动车无法通行，双方多次争吵，请求调解。","jurisdiction":"341721100201","people_involved":2,"parties":[{"role":"applicant","kind":"person","name":"张建国","id_number":"11010519491231002X","phone":"13812345678"},{"role":"respondent","kind":"person","name":"李秀英"}]}}"#;

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::BareServer {
            data,
            database,
            rows,
        } => bare::serve(data, database, rows).await,
        Cmd::Engine {
            data,
            database,
            cases,
            changing,
            rounds,
        } => engine::run(&data, database.as_deref(), cases, changing, rounds).await,
        Cmd::Text(options) => text::run(&options),
        Cmd::Pages(options) => pages::run(&options).await,
        Cmd::Soak(options) => soak::run(&options).await,
        Cmd::Http {
            jiefen,
            clients,
            seconds,
            runs,
            database,
            store,
            baseline_rows,
        } => {
            let at = Scale {
                store,
                baseline_rows,
            };
            http(jiefen, clients, seconds, runs, database.as_deref(), &at).await
        }
    }
}

/// A child server process whose address is read from its stderr banner.
struct Server {
    child: tokio::process::Child,
    addr: SocketAddr,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    async fn start(
        mut cmd: tokio::process::Command,
        dir: Option<tempfile::TempDir>,
    ) -> Result<Self> {
        cmd.stderr(Stdio::piped())
            .stdout(Stdio::null())
            .kill_on_drop(true);
        let mut child = cmd.spawn().context("cannot start server")?;
        let stderr = child.stderr.take().expect("piped");
        let mut lines = BufReader::new(stderr).lines();
        // A large store that has aged since it was made first catches up: the
        // deadline engine's first tick and the search index (86 s for a
        // 10,000,000-case store left for three hours).
        let addr = tokio::time::timeout(Duration::from_secs(900), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.split("http://").nth(1) {
                    let addr = rest.split('/').next().unwrap_or_default();
                    return Ok::<_, anyhow::Error>(addr.parse::<SocketAddr>()?);
                }
            }
            bail!("server exited before listening")
        })
        .await
        .context("server did not start in time")??;
        // With JIEFEN_BENCH_SERVER_LOG set (a RUST_LOG filter for jiefen),
        // what the server logs is passed on, to see where its time goes.
        let pass_on = std::env::var_os("JIEFEN_BENCH_SERVER_LOG").is_some();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if pass_on {
                    eprintln!("{line}");
                }
            }
        });
        Ok(Self {
            child,
            addr,
            _dir: dir,
        })
    }
}

#[derive(Debug, Clone)]
struct Phase {
    requests: usize,
    errors: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// A schema of its own on a PostgreSQL database, dropped with it.
struct Schema {
    admin: sqlx::PgPool,
    name: String,
    /// The database's URL with the schema as its search path.
    url: String,
}

impl Schema {
    async fn create(url: &str) -> Result<Self> {
        let admin = sqlx::PgPool::connect(url)
            .await
            .context("cannot connect to --database")?;
        let name = format!("bench_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(&format!("CREATE SCHEMA \"{name}\""))
            .execute(&admin)
            .await?;
        let sep = if url.contains('?') { '&' } else { '?' };
        let url = format!("{url}{sep}options[search_path]={name}");
        Ok(Self { admin, name, url })
    }

    async fn drop(self) -> Result<()> {
        sqlx::query(&format!("DROP SCHEMA \"{}\" CASCADE", self.name))
            .execute(&self.admin)
            .await?;
        self.admin.close().await;
        Ok(())
    }
}

/// What the stores hold before an intake run: empty, or a generated store
/// for jiefen and as many bare rows for the baseline.
struct Scale {
    store: Option<PathBuf>,
    baseline_rows: u64,
}

async fn http(
    jiefen: PathBuf,
    clients: usize,
    seconds: u64,
    runs: usize,
    database: Option<&str>,
    at: &Scale,
) -> Result<()> {
    let machine = machine();
    let backend = if database.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let size = match &at.store {
        Some(dir) => format!(
            "jiefen on {}, baseline with {} rows",
            dir.display(),
            at.baseline_rows
        ),
        None => "empty stores".into(),
    };
    println!(
        "# {machine}; {backend}; {size}; {clients} clients, {seconds}s per phase, median of {runs} runs"
    );
    let mut results = Vec::new();
    for target in ["jiefen", "baseline"] {
        let mut creates = Vec::new();
        let mut reads = Vec::new();
        for _ in 0..runs {
            let dir = tempfile::tempdir()?;
            let on_store = target == "jiefen" && at.store.is_some();
            let schema = match database {
                Some(url) if !on_store => Some(Schema::create(url).await?),
                _ => None,
            };
            let store_args: Vec<String> = match (&schema, database) {
                (Some(s), _) => vec!["--database".into(), s.url.clone()],
                (None, Some(url)) => vec!["--database".into(), url.to_owned()],
                (None, None) => Vec::new(),
            };
            let data = match (&at.store, target) {
                (Some(store), "jiefen") => store.clone(),
                _ => dir.path().to_owned(),
            };
            let mut cmd;
            if target == "jiefen" {
                cmd = tokio::process::Command::new(&jiefen);
                cmd.args(["serve", "--demo"]);
                if !on_store {
                    cmd.args(["--demo-cases", "0"]);
                }
                cmd.args([
                    "--listen",
                    "127.0.0.1:0",
                    // One account drives a province's intake here: its
                    // limit is raised, not switched off, so the check runs.
                    "--account-rate",
                    "100000000",
                    "--account-burst",
                    "100000",
                    "--data",
                ])
                .arg(&data)
                .args(&store_args)
                .env(
                    "RUST_LOG",
                    std::env::var("JIEFEN_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
                );
            } else {
                cmd = tokio::process::Command::new(std::env::current_exe()?);
                cmd.args(["bare-server", "--data"])
                    .arg(dir.path())
                    .args(["--rows", &at.baseline_rows.to_string()])
                    .args(&store_args);
            }
            let mut server = Server::start(cmd, Some(dir)).await?;
            let auth = if target == "jiefen" {
                Some(bench_token(&jiefen, &data, &store_args).await?)
            } else {
                None
            };
            let (create, ids) =
                load(server.addr, clients, seconds, Op::Create, auth.clone()).await?;
            // Reads fetch what was created: with nothing created (every
            // create failed, say on a full disk) there is nothing to read.
            anyhow::ensure!(
                !ids.is_empty(),
                "{target}: no case was created ({} errors), so there is nothing to read back",
                create.errors
            );
            let (read, _) =
                load(server.addr, clients, seconds, Op::Get(Arc::new(ids)), auth).await?;
            eprintln!("{target}: create {create:?}\n{target}: get {read:?}");
            creates.push(create);
            reads.push(read);
            server.child.kill().await.ok();
            if let Some(s) = schema {
                s.drop().await?;
            }
        }
        results.push((target, median(creates), median(reads)));
    }
    println!("| target | phase | requests | errors | req/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|---|");
    for (target, c, g) in &results {
        for (phase, p) in [("create (POST)", c), ("get by id", g)] {
            println!(
                "| {target} | {phase} | {} | {} | {:.0} | {:.2} | {:.2} |",
                p.requests, p.errors, p.per_second, p.p50_ms, p.p99_ms
            );
        }
    }
    let (_, jc, jg) = &results[0];
    let (_, bc, bg) = &results[1];
    println!(
        "\nratio jiefen/baseline: create {:.2}x, get {:.2}x",
        jc.per_second / bc.per_second,
        jg.per_second / bg.per_second
    );
    Ok(())
}

/// A clerk's API token for the running server, made the way an operator
/// would: `jiefen user add` and `jiefen token create` on its data.
async fn bench_token(
    jiefen: &std::path::Path,
    data: &std::path::Path,
    store_args: &[String],
) -> Result<Arc<str>> {
    let run = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(jiefen);
        cmd.args(args)
            .arg("--data")
            .arg(data)
            .args(store_args)
            .env("RUST_LOG", "warn");
        cmd
    };
    // A name of its own per run: a kept store already has the last run's.
    let mut user = format!("bench-clerk-{}", uuid::Uuid::now_v7().simple());
    // A user name is at most 32 characters.
    user.truncate(32);
    let added = run(&[
        "user",
        "add",
        &user,
        "--role",
        "intake_clerk",
        "--jurisdiction",
        "341721",
        "--no-password",
    ])
    .output()
    .await?;
    if !added.status.success() {
        bail!(
            "jiefen user add: {}",
            String::from_utf8_lossy(&added.stderr)
        );
    }
    token_for(jiefen, &user, "bench", data, store_args).await
}

/// `jiefen token create` for `user` on the store at `data` (and
/// `store_args`), as the `Authorization` header's value.
pub(crate) async fn token_for(
    jiefen: &std::path::Path,
    user: &str,
    name: &str,
    data: &std::path::Path,
    store_args: &[String],
) -> Result<Arc<str>> {
    let made = tokio::process::Command::new(jiefen)
        .args(["token", "create", "--user", user, "--name", name])
        .arg("--data")
        .arg(data)
        .args(store_args)
        .env("RUST_LOG", "warn")
        .output()
        .await?;
    let text = String::from_utf8_lossy(&made.stdout);
    let token = text
        .lines()
        .find(|l| l.starts_with("jf_"))
        .with_context(|| format!("jiefen token create printed no token: {text}"))?;
    Ok(Arc::from(format!("Bearer {token}")))
}

fn median(mut v: Vec<Phase>) -> Phase {
    v.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
    v[v.len() / 2].clone()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("{cpu}, {cores} cores")
}

#[derive(Clone)]
enum Op {
    Create,
    Get(Arc<Vec<String>>),
}

async fn load(
    addr: SocketAddr,
    clients: usize,
    seconds: u64,
    op: Op,
    auth: Option<Arc<str>>,
) -> Result<(Phase, Vec<String>)> {
    let warmup = Duration::from_secs(1);
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let op = op.clone();
        let auth = auth.clone();
        tasks.spawn(async move {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            let mut ids = Vec::new();
            let mut i = client;
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                let mut req = match &op {
                    Op::Create => Request::post(format!("http://{addr}/api/v1/cases"))
                        .header("content-type", "application/json")
                        .header("host", addr.to_string())
                        .body(Full::new(Bytes::from_static(CASE.as_bytes())))?,
                    Op::Get(ids) => {
                        i = (i + 7919) % ids.len().max(1);
                        Request::get(format!("http://{addr}/api/v1/cases/{}", ids[i]))
                            .header("host", addr.to_string())
                            .body(Full::new(Bytes::new()))?
                    }
                };
                if let Some(a) = &auth {
                    req.headers_mut().insert(
                        "authorization",
                        a.parse().expect("a token is a header value"),
                    );
                }
                sender.ready().await?;
                let res = sender.send_request(req).await?;
                let status = res.status();
                let body = res.into_body().collect().await?.to_bytes();
                let took = now.elapsed();
                if now >= measure_from {
                    if status.is_success() {
                        latencies.push(took);
                    } else {
                        errors += 1;
                    }
                }
                if matches!(op, Op::Create) && status.is_success() {
                    let v: serde_json::Value = serde_json::from_slice(&body)?;
                    if let Some(id) = v
                        .get("case_id")
                        .or_else(|| v.get("id"))
                        .and_then(|x| x.as_str())
                    {
                        ids.push(id.to_owned());
                    }
                }
            }
            Ok::<_, anyhow::Error>((latencies, errors, ids))
        });
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut ids = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let (l, e, i) = r??;
        latencies.extend(l);
        errors += e;
        ids.extend(i);
    }
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let phase = Phase {
        requests: latencies.len(),
        errors,
        per_second: latencies.len() as f64 / seconds as f64,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    };
    Ok((phase, ids))
}

mod bare {
    //! The baseline: the least a durable HTTP intake can do — parse the JSON,
    //! insert one row in its own committed transaction, return the id.

    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::routing::{get, post};
    use axum::{Json, Router};
    use sqlx::postgres::PgPoolOptions;
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };
    use sqlx::{PgPool, SqlitePool};
    use std::path::PathBuf;
    use std::sync::Arc;

    /// SQLite in WAL mode with `synchronous=FULL`, as jiefen's; or
    /// PostgreSQL with its default durability (`synchronous_commit=on`), as
    /// jiefen's.
    enum Db {
        Sqlite(SqlitePool),
        Postgres(PgPool),
    }

    const TABLE: &str =
        "CREATE TABLE IF NOT EXISTS cases (id TEXT PRIMARY KEY, body TEXT NOT NULL)";
    const INSERT: &str = "INSERT INTO cases (id, body) VALUES ($1, $2)";
    const SELECT: &str = "SELECT body FROM cases WHERE id = $1";

    pub async fn serve(data: PathBuf, database: Option<String>, rows: u64) -> anyhow::Result<()> {
        let db = match database {
            Some(url) => {
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .connect(&url)
                    .await?;
                sqlx::query(TABLE).execute(&pool).await?;
                sqlx::query(
                    "INSERT INTO cases SELECT 'pre-' || lpad(i::text, 10, '0'), $1 \
                     FROM generate_series(1, $2) AS i",
                )
                .bind(crate::CASE)
                .bind(rows as i64)
                .execute(&pool)
                .await?;
                Db::Postgres(pool)
            }
            None => {
                let options = SqliteConnectOptions::new()
                    .filename(data.join("bare.db"))
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full);
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .connect_with(options)
                    .await?;
                sqlx::query(TABLE).execute(&pool).await?;
                sqlx::query(
                    "WITH RECURSIVE n(i) AS (SELECT 1 WHERE ?2 > 0 \
                     UNION ALL SELECT i + 1 FROM n WHERE i < ?2) \
                     INSERT INTO cases SELECT printf('pre-%010d', i), ?1 FROM n",
                )
                .bind(crate::CASE)
                .bind(rows as i64)
                .execute(&pool)
                .await?;
                Db::Sqlite(pool)
            }
        };
        let app = Router::new()
            .route("/api/v1/cases", post(create))
            .route("/api/v1/cases/{id}", get(read))
            .with_state(Arc::new(db));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        eprintln!("baseline at http://{}/", listener.local_addr()?);
        axum::serve(listener, app).await?;
        Ok(())
    }

    async fn create(
        State(db): State<Arc<Db>>,
        Json(body): Json<serde_json::Value>,
    ) -> Result<(StatusCode, Json<serde_json::Value>), StatusCode> {
        let id = uuid::Uuid::now_v7().to_string();
        let body = body.to_string();
        let done = match &*db {
            Db::Sqlite(p) => sqlx::query(INSERT)
                .bind(&id)
                .bind(body)
                .execute(p)
                .await
                .map(|_| ()),
            Db::Postgres(p) => sqlx::query(INSERT)
                .bind(&id)
                .bind(body)
                .execute(p)
                .await
                .map(|_| ()),
        };
        done.map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
        Ok((
            StatusCode::CREATED,
            Json(serde_json::json!({ "case_id": id })),
        ))
    }

    async fn read(State(db): State<Arc<Db>>, Path(id): Path<String>) -> Result<String, StatusCode> {
        let found = match &*db {
            Db::Sqlite(p) => {
                sqlx::query_scalar::<_, String>(SELECT)
                    .bind(id)
                    .fetch_optional(p)
                    .await
            }
            Db::Postgres(p) => {
                sqlx::query_scalar::<_, String>(SELECT)
                    .bind(id)
                    .fetch_optional(p)
                    .await
            }
        };
        found
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?
            .ok_or(StatusCode::NOT_FOUND)
    }
}
