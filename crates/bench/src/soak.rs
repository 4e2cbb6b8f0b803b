//! The soak: a mixed load held for minutes against one server (reads by id,
//! list pages, searches, registrations, actions, with the deadline engine
//! ticking in the server meanwhile), reported window by window: requests,
//! errors, latency percentiles per kind of request and the server's RSS. The
//! verdict compares the last windows with the first ones after warm-up, so
//! growth of memory or latency over the run shows as a ratio.

use crate::machine;
use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

#[derive(clap::Args)]
pub struct Options {
    /// The jiefen binary (release build).
    #[arg(long, default_value = "target/release/jiefen")]
    jiefen: PathBuf,
    /// How long the load is held.
    #[arg(long, default_value_t = 10)]
    minutes: u64,
    /// Length of one reporting window.
    #[arg(long, default_value_t = 30)]
    window_seconds: u64,
    /// Concurrent clients, each with its own keep-alive connection.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Demo cases loaded before the load starts.
    #[arg(long, default_value_t = 3_000)]
    demo_cases: usize,
    /// The server's deadline-engine interval.
    #[arg(long, default_value_t = 10)]
    tick_seconds: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Get,
    List,
    Search,
    Create,
    Act,
}

impl Kind {
    const ALL: [Kind; 5] = [Kind::Get, Kind::List, Kind::Search, Kind::Create, Kind::Act];

    fn name(self) -> &'static str {
        match self {
            Kind::Get => "get",
            Kind::List => "list",
            Kind::Search => "search",
            Kind::Create => "create",
            Kind::Act => "action",
        }
    }

    /// The mix, out of 100: mostly reads, as a centre's day is.
    fn pick(roll: u64) -> Kind {
        match roll % 100 {
            0..40 => Kind::Get,
            40..60 => Kind::List,
            60..75 => Kind::Search,
            75..90 => Kind::Create,
            _ => Kind::Act,
        }
    }
}

struct Sample {
    kind: Kind,
    /// Since the load started.
    at: Duration,
    took: Duration,
    status: u16,
}

const VILLAGE: &str = "341721100201";
const WORDS: &[&str] = &[
    "停车", "噪音", "物业", "工资", "漏水", "垃圾", "拆迁", "邻居", "围墙", "路灯",
];
const LISTS: &[&str] = &[
    "/api/v1/cases?limit=20",
    "/api/v1/cases?limit=20&state=registered",
    "/api/v1/cases?limit=20&overdue=true",
    "/api/v1/cases?limit=20&sort=deadline",
    "/api/v1/cases?limit=20&kind=dispute",
];

pub async fn run(o: &Options) -> Result<()> {
    if o.window_seconds == 0 || o.minutes == 0 {
        bail!("--minutes and --window-seconds must be at least 1");
    }
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let mut cmd = tokio::process::Command::new(&o.jiefen);
    cmd.args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .args(["--demo-cases", &o.demo_cases.to_string()])
        .args(["--tick-seconds", &o.tick_seconds.to_string()])
        .args([
            "--account-rate",
            "100000000",
            "--account-burst",
            "100000000",
        ])
        .arg("--data")
        .arg(&data)
        .env("RUST_LOG", "warn");
    let server = crate::Server::start(cmd, None).await?;
    let pid = server.child.id().context("the server's pid")?;
    let token = crate::token_for(&o.jiefen, "clerk.yaodu", "soak", &data, &[]).await?;
    let addr = server.addr;

    // Cases to read and act on: the demo's, and each registration's.
    let ids = Arc::new(Mutex::new(first_ids(addr, &token).await?));
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let start = Instant::now();
    let end = start + Duration::from_secs(o.minutes * 60);
    let mut rss = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..o.clients {
        let (ids, samples, token) = (ids.clone(), samples.clone(), token.clone());
        tasks.spawn(async move {
            client_loop(addr, client as u64, token, ids, samples, start, end).await
        });
    }
    let window = Duration::from_secs(o.window_seconds);
    let mut next = start + window;
    while next <= end {
        tokio::time::sleep_until(next.into()).await;
        rss.push(rss_mb(pid));
        next += window;
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    drop(server);
    report(o, &samples.lock().unwrap(), &rss);
    Ok(())
}

async fn first_ids(addr: SocketAddr, token: &str) -> Result<Vec<String>> {
    let mut conn = Conn::open(addr).await?;
    let (status, body) = conn
        .send("GET", "/api/v1/cases?limit=200", token, None, None)
        .await?;
    if status != 200 {
        bail!("listing the demo's cases: {status}");
    }
    let v: serde_json::Value = serde_json::from_slice(&body)?;
    Ok(v["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|c| c["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    addr: SocketAddr,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Self { sender, addr })
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: Option<String>,
    ) -> Result<(u16, Bytes)> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .header("host", self.addr.to_string())
            .header("authorization", token);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let body = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Full::new(Bytes::from(b))
            }
            None => Full::new(Bytes::new()),
        };
        self.sender.ready().await?;
        let res = self.sender.send_request(req.body(body)?).await?;
        let status = res.status().as_u16();
        Ok((status, res.into_body().collect().await?.to_bytes()))
    }
}

async fn client_loop(
    addr: SocketAddr,
    client: u64,
    token: Arc<str>,
    ids: Arc<Mutex<Vec<String>>>,
    samples: Arc<Mutex<Vec<Sample>>>,
    start: Instant,
    end: Instant,
) -> Result<()> {
    let mut conn = Conn::open(addr).await?;
    // xorshift: a fixed stream per client, so runs make the same mix.
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (client + 1).wrapping_mul(0x2545_F491_4F6C_DD1D);
    let mut roll = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut n = 0u64;
    let mut mine: Vec<String> = Vec::new();
    while Instant::now() < end {
        n += 1;
        let kind = Kind::pick(roll());
        let pick_id = |r: u64| {
            let ids = ids.lock().unwrap();
            ids[(r % ids.len().max(1) as u64) as usize].clone()
        };
        let began = Instant::now();
        let (status, body) = match kind {
            Kind::Get => {
                let id = pick_id(roll());
                conn.send("GET", &format!("/api/v1/cases/{id}"), &token, None, None)
                    .await?
            }
            Kind::List => {
                let path = LISTS[(roll() % LISTS.len() as u64) as usize];
                conn.send("GET", path, &token, None, None).await?
            }
            Kind::Search => {
                let word = WORDS[(roll() % WORDS.len() as u64) as usize];
                conn.send(
                    "GET",
                    &format!("/api/v1/search?q={word}&limit=20"),
                    &token,
                    None,
                    None,
                )
                .await?
            }
            Kind::Create => {
                let word = WORDS[(roll() % WORDS.len() as u64) as usize];
                let body = serde_json::json!({"case": {
                    "kind": "request",
                    "channel": "phone",
                    "category": "property_mgmt.parking",
                    "title": format!("{word}问题反映 {client}-{n}"),
                    "description": format!("群众来电反映小区{word}问题，希望尽快处理。编号 {client}-{n}。"),
                    "jurisdiction": VILLAGE,
                }})
                .to_string();
                let key = format!("soak-{client}-{n}");
                conn.send("POST", "/api/v1/cases", &token, Some(&key), Some(body))
                    .await?
            }
            Kind::Act => {
                // A note on one of this client's own registrations (or any
                // case before it has one).
                let id = if mine.is_empty() {
                    pick_id(roll())
                } else {
                    let r = roll() as usize % mine.len();
                    mine[r].clone()
                };
                let body = serde_json::json!({"action": {"type": "note", "text": format!("回访记录 {client}-{n}")}})
                    .to_string();
                let key = format!("soak-{client}-{n}");
                conn.send(
                    "POST",
                    &format!("/api/v1/cases/{id}/actions"),
                    &token,
                    Some(&key),
                    Some(body),
                )
                .await?
            }
        };
        let took = began.elapsed();
        if kind == Kind::Create && (200..300).contains(&status) {
            let v: serde_json::Value = serde_json::from_slice(&body)?;
            if let Some(id) = v["case_id"].as_str() {
                mine.push(id.to_owned());
                ids.lock().unwrap().push(id.to_owned());
            }
        }
        samples.lock().unwrap().push(Sample {
            kind,
            at: began - start,
            took,
            status,
        });
    }
    Ok(())
}

/// The server's resident set, in MB (0 when it cannot be read).
fn rss_mb(pid: u32) -> f64 {
    crate::status_kib(Some(pid), "VmRSS").map_or(0.0, |kb| kb as f64 / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn report(o: &Options, samples: &[Sample], rss: &[f64]) {
    let window = Duration::from_secs(o.window_seconds);
    let windows = rss.len().max(1);
    // window → kind → latencies of answered requests; server errors (5xx)
    // and refusals (4xx: a note on a case whose state takes none) apart.
    let mut by: BTreeMap<usize, BTreeMap<Kind, Vec<Duration>>> = BTreeMap::new();
    let mut errors = vec![0usize; windows];
    let mut refused = 0usize;
    for s in samples {
        let w = (s.at.as_secs_f64() / window.as_secs_f64()) as usize;
        if w >= windows {
            // After the last whole window.
            continue;
        }
        match s.status {
            500.. => errors[w] += 1,
            400..500 => refused += 1,
            _ => by
                .entry(w)
                .or_default()
                .entry(s.kind)
                .or_default()
                .push(s.took),
        }
    }
    println!(
        "soak: {} clients, {} min, windows of {} s, engine tick every {} s, {} demo cases; {}",
        o.clients,
        o.minutes,
        o.window_seconds,
        o.tick_seconds,
        o.demo_cases,
        machine()
    );
    print!("\n| window | req/s | 5xx |");
    for k in Kind::ALL {
        print!(" {} p50 / p99 ms |", k.name());
    }
    println!(" RSS MB |");
    print!("|---|---|---|");
    for _ in Kind::ALL {
        print!("---|");
    }
    println!("---|");
    let mut p99_all: Vec<f64> = Vec::new();
    for w in 0..windows {
        let mut kinds = by.remove(&w).unwrap_or_default();
        let total: usize = kinds.values().map(Vec::len).sum();
        print!(
            "| {}–{} s | {:.0} | {} |",
            w as u64 * o.window_seconds,
            (w as u64 + 1) * o.window_seconds,
            total as f64 / window.as_secs_f64(),
            errors[w]
        );
        let mut all = Vec::new();
        for k in Kind::ALL {
            let lat = kinds.entry(k).or_default();
            lat.sort();
            print!(
                " {:.1} / {:.1} |",
                percentile(lat, 0.5),
                percentile(lat, 0.99)
            );
            all.extend(lat.iter().copied());
        }
        all.sort();
        p99_all.push(percentile(&all, 0.99));
        println!(" {:.0} |", rss[w]);
    }
    // Growth: the median of the last three windows over that of the three
    // after the first (warm-up) window.
    let med = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    if windows >= 7 {
        let early = 1..4;
        let late = windows - 3..windows;
        println!(
            "\ngrowth, last 3 windows over windows 2–4: p99 of all requests {:.2}× ({:.1} → {:.1} ms), RSS {:.2}× ({:.0} → {:.0} MB); {} requests, {} server errors, {refused} refused by the rules",
            med(&p99_all[late.clone()]) / med(&p99_all[early.clone()]).max(1e-9),
            med(&p99_all[early.clone()]),
            med(&p99_all[late.clone()]),
            med(&rss[late.clone()]) / med(&rss[early.clone()]).max(1e-9),
            med(&rss[early]),
            med(&rss[late]),
            samples.len(),
            errors.iter().sum::<usize>()
        );
    }
}
