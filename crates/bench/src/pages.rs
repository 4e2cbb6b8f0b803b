//! Page rendering at scale: the real `jiefen serve` on a store made by
//! `jiefen gen` (a million cases for the target), signed in as the
//! demo staff, asks every page many times in turn, one request at a time,
//! and reports the server's own time for each (its `Server-Timing` header:
//! from the request's arrival to the response being ready, session lookup
//! and rendering included) beside the time the client waited.

use crate::Server;
use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;
use tokio::net::TcpStream;

#[derive(clap::Args)]
pub struct Options {
    /// The jiefen binary (release build).
    #[arg(long, default_value = "target/release/jiefen")]
    jiefen: PathBuf,
    /// A data directory filled by `jiefen gen` (kept; the server only reads
    /// it, apart from its deadline engine and sessions).
    #[arg(long)]
    data: PathBuf,
    /// The PostgreSQL database `jiefen gen --database` filled (with
    /// `--data` holding its credentials and search index).
    #[arg(long)]
    database: Option<String>,
    /// Timed requests per page, after two untimed ones.
    #[arg(long, default_value_t = 21)]
    rounds: usize,
}

/// One signed-in browser: its cookie on one keep-alive connection.
struct Browser {
    addr: SocketAddr,
    cookie: Option<String>,
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

struct Answer {
    status: u16,
    body: Bytes,
    server_ms: Option<f64>,
    waited_ms: f64,
}

impl Browser {
    async fn open(addr: SocketAddr) -> Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Self {
            addr,
            cookie: None,
            sender,
        })
    }

    async fn send(&mut self, method: &str, path: &str, json: Option<String>) -> Result<Answer> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .header("host", self.addr.to_string());
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if json.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req.body(Full::new(Bytes::from(json.unwrap_or_default())))?;
        self.sender.ready().await?;
        let started = Instant::now();
        let res = self.sender.send_request(req).await?;
        let status = res.status().as_u16();
        let server_ms = res
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split("dur=").nth(1))
            .and_then(|v| v.parse::<f64>().ok());
        if let Some(set) = res.headers().get("set-cookie") {
            let pair = set.to_str()?.split(';').next().unwrap_or_default();
            self.cookie = Some(pair.to_owned());
        }
        let body = res.into_body().collect().await?.to_bytes();
        Ok(Answer {
            status,
            body,
            server_ms,
            waited_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    async fn json(&mut self, path: &str) -> Result<serde_json::Value> {
        let a = self.send("GET", path, None).await?;
        if a.status != 200 {
            bail!(
                "GET {path}: {} {}",
                a.status,
                String::from_utf8_lossy(&a.body)
            );
        }
        Ok(serde_json::from_slice(&a.body)?)
    }
}

/// The demo staff's passwords, as `jiefen gen` wrote them.
fn credentials(data: &std::path::Path) -> Result<BTreeMap<String, String>> {
    let path = data.join("demo-credentials.txt");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{} (run `jiefen gen` first)", path.display()))?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 4).then(|| (f[0].to_owned(), f[3].to_owned()))
        })
        .collect())
}

async fn signed_in(
    addr: SocketAddr,
    user: &str,
    passwords: &BTreeMap<String, String>,
) -> Result<Browser> {
    let mut b = Browser::open(addr).await?;
    let password = passwords
        .get(user)
        .with_context(|| format!("no demo account {user}"))?;
    let body = serde_json::json!({ "username": user, "password": password }).to_string();
    let a = b.send("POST", "/api/v1/session", Some(body)).await?;
    if a.status != 200 {
        bail!(
            "{user} could not sign in: {}",
            String::from_utf8_lossy(&a.body)
        );
    }
    Ok(b)
}

fn first_id(list: &serde_json::Value) -> Result<String> {
    list["items"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .context("the list is empty")
}

pub async fn run(o: &Options) -> Result<()> {
    let mut cmd = tokio::process::Command::new(&o.jiefen);
    cmd.args([
        "serve",
        "--demo",
        "--listen",
        "127.0.0.1:0",
        // The engine's first tick runs at start-up; later ones would only
        // add noise to the timings.
        "--tick-seconds",
        "3600",
        // Every page is asked for many times by one account.
        "--account-rate",
        "100000000",
        "--account-burst",
        "100000",
        "--data",
    ])
    .arg(&o.data)
    .args(
        o.database
            .iter()
            .flat_map(|url| ["--database", url.as_str()]),
    )
    .env("RUST_LOG", "warn");
    let started = Instant::now();
    let server = Server::start(cmd, None).await?;
    let addr = server.addr;
    println!(
        "# {}; server ready in {:.1} s",
        crate::machine(),
        started.elapsed().as_secs_f64()
    );
    let passwords = credentials(&o.data)?;
    let mut as_user = std::collections::HashMap::new();
    for user in [
        "clerk.yaodu",
        "mediator.yaodu",
        "supervisor.dongzhi",
        "leader.dongzhi",
        "grid.yaodu",
        "admin",
        "auditor",
    ] {
        as_user.insert(user, signed_in(addr, user, &passwords).await?);
    }
    as_user.insert("public", Browser::open(addr).await?);
    let cases = signed(&mut as_user, "supervisor.dongzhi")
        .json("/api/v1/cases?limit=1")
        .await?;
    println!(
        "# {} cases in the supervisor's county (东至县)",
        count_cases(signed(&mut as_user, "supervisor.dongzhi")).await?
    );
    let case = first_id(&cases)?;
    let town_case = first_id(
        &signed(&mut as_user, "clerk.yaodu")
            .json("/api/v1/cases?limit=1")
            .await?,
    )?;
    // A followed-up case need not have been mediated (it may have been
    // explained or referred): the first of the page that has an agreement.
    let followed_up = signed(&mut as_user, "mediator.yaodu")
        .json("/api/v1/cases?state=followed_up&limit=100")
        .await?;
    let agreed = followed_up["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| !c["conclusion"]["agreement"].is_null())
        .and_then(|c| c["id"].as_str())
        .map(str::to_owned)
        .context("none of the mediator's first 100 followed-up cases has an agreement")?;
    let plan: Vec<(&str, String)> = vec![
        ("clerk.yaodu", "/intake".into()),
        ("grid.yaodu", "/grid".into()),
        ("clerk.yaodu", "/cases".into()),
        ("clerk.yaodu", "/cases?sort=deadline".into()),
        ("clerk.yaodu", "/cases?q=%E5%AE%85%E5%9F%BA%E5%9C%B0".into()),
        ("clerk.yaodu", format!("/cases/{town_case}")),
        ("clerk.yaodu", format!("/cases/{town_case}/receipt")),
        ("mediator.yaodu", "/cases".into()),
        ("mediator.yaodu", "/cases?sort=deadline".into()),
        ("mediator.yaodu", "/inbox".into()),
        ("mediator.yaodu", format!("/cases/{agreed}")),
        ("mediator.yaodu", format!("/cases/{agreed}/agreement")),
        ("mediator.yaodu", format!("/cases/{agreed}/agreement.pdf")),
        ("supervisor.dongzhi", "/cases".into()),
        ("supervisor.dongzhi", "/cases?signal=overdue".into()),
        ("supervisor.dongzhi", "/cases?sort=deadline".into()),
        ("supervisor.dongzhi", "/cases?sort=oldest".into()),
        ("supervisor.dongzhi", "/inbox".into()),
        ("supervisor.dongzhi", format!("/cases/{case}")),
        ("supervisor.dongzhi", "/board".into()),
        ("supervisor.dongzhi", "/dashboard".into()),
        ("leader.dongzhi", "/dashboard".into()),
        ("leader.dongzhi", "/api/v1/figures".into()),
        ("leader.dongzhi", "/api/v1/hotspots".into()),
        ("admin", "/admin".into()),
        ("admin", "/admin/reference".into()),
        ("admin", "/admin/policy".into()),
        ("auditor", "/audit".into()),
        ("public", "/login".into()),
        ("public", "/portal".into()),
        ("public", "/portal/submit".into()),
    ];
    // The first request is shown apart: it pays for anything cached.
    println!("| page | as | bytes | first ms | server median ms | p90 | max | client median ms |");
    println!("|---|---|---|---|---|---|---|---|");
    for (user, path) in plan {
        let browser = signed(&mut as_user, user);
        let mut server_ms = Vec::new();
        let mut waited = Vec::new();
        let mut bytes = 0;
        let mut first = 0.0;
        for round in 0..o.rounds + 2 {
            let a = browser.send("GET", &path, None).await?;
            if a.status != 200 {
                bail!(
                    "GET {path} as {user}: {} {}",
                    a.status,
                    String::from_utf8_lossy(&a.body[..a.body.len().min(300)])
                );
            }
            if round == 0 {
                first = a.server_ms.context("no Server-Timing header")?;
            }
            if round >= 2 {
                server_ms.push(a.server_ms.context("no Server-Timing header")?);
                waited.push(a.waited_ms);
                bytes = a.body.len();
            }
        }
        server_ms.sort_by(f64::total_cmp);
        waited.sort_by(f64::total_cmp);
        let at = |v: &[f64], p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
        let shown = path
            .replace(&town_case, "{id}")
            .replace(&agreed, "{id}")
            .replace(&case, "{id}");
        println!(
            "| `{shown}` | {user} | {bytes} | {first:.1} | **{:.1}** | {:.1} | {:.1} | {:.1} |",
            at(&server_ms, 0.5),
            at(&server_ms, 0.9),
            server_ms[server_ms.len() - 1],
            at(&waited, 0.5),
        );
    }
    let pid = server.child.id();
    if let Some(rss) = crate::status_kib(pid, "VmHWM") {
        println!("\nserver peak RSS: {:.0} MB", rss as f64 / 1024.0);
    }
    // What the resident set is now made of: the heap (SQLite's page
    // caches, the search index's writer) is anonymous; pages of files the
    // search index maps are file-backed, and the kernel may drop them.
    if let (Some(anon), Some(file)) = (
        crate::status_kib(pid, "RssAnon"),
        crate::status_kib(pid, "RssFile"),
    ) {
        println!(
            "server RSS at the end: {:.0} MB anonymous, {:.0} MB of mapped files",
            anon as f64 / 1024.0,
            file as f64 / 1024.0
        );
    }
    Ok(())
}

fn signed<'a>(
    as_user: &'a mut std::collections::HashMap<&'static str, Browser>,
    user: &str,
) -> &'a mut Browser {
    as_user.get_mut(user).expect("signed in at the start")
}

/// Every case registered in the caller's place since 2020, from the figures.
async fn count_cases(b: &mut Browser) -> Result<u64> {
    let f = b
        .json("/api/v1/figures?from=2020-01-01&to=2026-12-31")
        .await?;
    f["totals"]["counts"]["registered"]
        .as_u64()
        .context("figures without a registered count")
}
