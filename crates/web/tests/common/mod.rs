//! What the HTTP tests share: a real server on 127.0.0.1:0 over a real
//! store (SQLite in a temporary directory, or PostgreSQL in a schema of its
//! own), a manual clock, staff with API tokens, and request helpers.
#![allow(dead_code)]

pub use jiefen_domain::access::{Post, Role, Username};
pub use jiefen_domain::body::{Body, BodyCode, BodyKind};
pub use jiefen_domain::jurisdiction::{Jurisdiction, JurisdictionCode, Level};
pub use jiefen_domain::taxonomy::{CategoryCode, Taxonomy};
pub use jiefen_domain::Timestamp;
pub use jiefen_ledger::checkpoint::DeploymentKey;
pub use jiefen_store::blobs::BlobStore;
pub use jiefen_store::postgres::PostgresStore;
pub use jiefen_store::sqlite::SqliteStore;
pub use jiefen_store::{Clock, Ledger, ManualClock, Store};
pub use jiefen_web::AppState;
pub use reqwest::{Response, StatusCode};
pub use serde_json::{json, Value};
pub use std::collections::HashMap;
pub use std::sync::Arc;
pub use tokio::sync::oneshot;

/// The master key the tests' personal data is sealed under.
pub const TEST_MASTER_KEY: [u8; 32] = [3; 32];

pub fn test_vault() -> jiefen_store::vault::Vault {
    jiefen_store::vault::Vault::new(&jiefen_store::vault::MasterKey::from_bytes(TEST_MASTER_KEY))
}

pub const START: &str = "2026-03-02T08:00:00Z";
pub const VILLAGE: &str = "341721100201";
pub const TOWN_A: &str = "341721100";
pub const TOWN_B: &str = "341721101";
pub const TOWN_MEDIATION: &str = "yaodu-tmc";
pub const LABOUR_MEDIATION: &str = "dongzhi-labour";
pub const VALID_ID: &str = "11010519491231002X";
/// Same digits as [`VALID_ID`] with a wrong GB 11643 check character.
pub const BAD_CHECKSUM_ID: &str = "110105194912310021";

/// A 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

/// The staff the tests act as, each with an API token: name, role, node,
/// body. The first is the default caller.
pub const STAFF: &[(&str, Role, &str, Option<&str>)] = &[
    ("super-01", Role::Supervisor, "341721", None),
    ("clerk-01", Role::IntakeClerk, TOWN_A, None),
    ("handler-wang", Role::Handler, TOWN_A, Some(TOWN_MEDIATION)),
    ("grid-07", Role::GridWorker, "341721100201-G01", None),
    ("admin", Role::Administrator, "341700", None),
    ("auditor", Role::Auditor, "341700", None),
];

/// Everything the servers of this test process logged (every level of our
/// crates and of the request tracing, with URIs) and every error body they
/// sent: `finish` checks that none of it carries personal data.
static CAPTURED: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

fn captured() -> Arc<std::sync::Mutex<Vec<u8>>> {
    CAPTURED
        .get_or_init(|| {
            let buf = Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = buf.clone();
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(
                    "info,jiefen_web=trace,jiefen_store=trace,tower_http=trace",
                ))
                .with_ansi(false)
                .with_writer(move || Capture(sink.clone()))
                .try_init()
                .expect("the tests' log capture is the process's only subscriber");
            buf
        })
        .clone()
}

struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Copies the body of every 4xx and 5xx response into the capture.
async fn capture_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let response = next.run(request).await;
    if !(response.status().is_client_error() || response.status().is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let buf = captured();
    let mut buf = buf.lock().unwrap();
    buf.extend_from_slice(&bytes);
    buf.push(b'\n');
    drop(buf);
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Fails naming every ID number or mobile number in `what`.
pub fn assert_no_personal_data(what: &str, text: &str) {
    let found = jiefen_domain::party::personal_data_in(text);
    assert!(
        found.is_empty(),
        "personal data in the {what}: {found:?}\n{}",
        found
            .iter()
            .filter_map(|f| text.find(f))
            .map(|at| {
                let mut start = at.saturating_sub(200);
                while !text.is_char_boundary(start) {
                    start -= 1;
                }
                let mut end = (at + 200).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                &text[start..end]
            })
            .collect::<Vec<_>>()
            .join("\n---\n")
    );
}

pub struct TestApp {
    pub base: String,
    /// Acts as the supervisor of the county, who may do most things.
    pub client: reqwest::Client,
    /// Each of [`STAFF`] by name.
    pub clients: HashMap<&'static str, reqwest::Client>,
    /// No credentials at all.
    pub anonymous: reqwest::Client,
    /// The default caller's bearer token, for raw requests.
    pub token: String,
    pub ledger: Ledger,
    pub accounts: jiefen_store::accounts::Accounts,
    pub clock: Arc<ManualClock>,
    pub shutdown: Option<oneshot::Sender<()>>,
    pub server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// PostgreSQL store and schema to drop at the end.
    pub postgres: Option<(Arc<PostgresStore>, String)>,
    pub _dir: tempfile::TempDir,
}

pub fn code(c: &str) -> JurisdictionCode {
    JurisdictionCode::parse(c).unwrap()
}

pub fn node(c: &str, name: &str, level: Level, parent: Option<&str>) -> Jurisdiction {
    Jurisdiction {
        code: code(c),
        name: name.into(),
        level,
        parent: parent.map(code),
    }
}

pub fn fixture() -> (Vec<Jurisdiction>, Vec<Body>) {
    let jurisdictions = vec![
        node("341700", "池州市", Level::City, None),
        node("341721", "东至县", Level::County, Some("341700")),
        node(TOWN_A, "尧渡镇", Level::Town, Some("341721")),
        node(VILLAGE, "尧渡社区", Level::Village, Some(TOWN_A)),
        node("341721100201-G01", "第一网格", Level::Grid, Some(VILLAGE)),
        node(TOWN_B, "东流镇", Level::Town, Some("341721")),
    ];
    let cat = |c: &str| CategoryCode::parse(c).unwrap();
    let bodies = vec![
        Body {
            code: BodyCode::parse(TOWN_MEDIATION).unwrap(),
            name: "尧渡镇人民调解委员会".into(),
            kind: BodyKind::PeoplesMediation,
            jurisdiction: code(TOWN_A),
            categories: vec![
                cat("neighbourhood"),
                cat("marriage_family"),
                cat("property_mgmt"),
            ],
        },
        Body {
            code: BodyCode::parse(LABOUR_MEDIATION).unwrap(),
            name: "东至县劳动争议调解委员会".into(),
            kind: BodyKind::LabourMediation,
            jurisdiction: code("341721"),
            categories: vec![cat("labour")],
        },
    ];
    (jurisdictions, bodies)
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        Self::sqlite_with(|_| {}).await
    }

    /// A SQLite app whose state `configure` adjusts before it serves.
    pub async fn sqlite_with(configure: impl FnOnce(&mut AppState)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&dir.path().join("jiefen.db"))
                .await
                .unwrap(),
        );
        Self::start_with(store, dir, None, configure).await
    }

    /// None when no PostgreSQL is configured outside CI; in CI a missing
    /// database is a failure, not a skip.
    pub async fn postgres() -> Option<TestApp> {
        let Ok(url) = std::env::var("JIEFEN_TEST_DATABASE_URL") else {
            if std::env::var_os("CI").is_some() {
                panic!("JIEFEN_TEST_DATABASE_URL is not set, and CI needs the PostgreSQL tests");
            }
            eprintln!(
                "\n!!!!! SKIPPING PostgreSQL test: set JIEFEN_TEST_DATABASE_URL \
                 (e.g. postgres://root@127.0.0.1:5432/test) to run it !!!!!\n"
            );
            return None;
        };
        let schema = format!("jiefen_web_{}", uuid::Uuid::now_v7().simple());
        let pg = Arc::new(PostgresStore::connect(&url, Some(&schema)).await.unwrap());
        let dir = tempfile::tempdir().unwrap();
        Some(Self::start(pg.clone(), dir, Some((pg, schema))).await)
    }

    pub async fn start(
        store: Arc<dyn Store>,
        dir: tempfile::TempDir,
        postgres: Option<(Arc<PostgresStore>, String)>,
    ) -> TestApp {
        Self::start_with(store, dir, postgres, |_| {}).await
    }

    pub async fn start_with(
        store: Arc<dyn Store>,
        dir: tempfile::TempDir,
        postgres: Option<(Arc<PostgresStore>, String)>,
        configure: impl FnOnce(&mut AppState),
    ) -> TestApp {
        let clock = Arc::new(ManualClock::new(Timestamp::parse(START).unwrap()));
        let ledger = Ledger::open(
            store,
            Taxonomy::default_taxonomy(),
            clock.clone(),
            DeploymentKey::from_seed([7; 32]),
            "jiefen-test".into(),
            Some(test_vault()),
        )
        .await
        .unwrap();
        let (jurisdictions, bodies) = fixture();
        ledger
            .import_reference(jurisdictions, bodies)
            .await
            .unwrap();
        let mut state = AppState::new(ledger, BlobStore::new(dir.path().join("blobs")));
        state.test_clock = Some(clock.clone());
        configure(&mut state);
        let mut clients = HashMap::new();
        let mut first_token = None;
        for (name, role, node, body) in STAFF {
            let post =
                Post::new(*role, code(node), body.map(|b| BodyCode::parse(b).unwrap())).unwrap();
            let username = Username::parse(name).unwrap();
            state
                .accounts
                .add_user(
                    username.clone(),
                    name.to_string(),
                    post,
                    None,
                    "test",
                    &state.ledger.refs(),
                )
                .await
                .unwrap();
            let (_, token) = state
                .accounts
                .create_token(&username, "tests".into(), "test")
                .await
                .unwrap();
            first_token.get_or_insert_with(|| token.clone());
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {token}").parse().unwrap(),
            );
            let client = reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .unwrap();
            clients.insert(*name, client);
        }
        let (state_ledger, state_accounts) = (state.ledger.clone(), state.accounts.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let _ = captured();
        let server = tokio::spawn(jiefen_web::serve(
            listener,
            jiefen_web::router(state).layer(axum::middleware::from_fn(capture_errors)),
            async move {
                let _ = rx.await;
            },
        ));
        TestApp {
            base: format!("http://{addr}"),
            client: clients[STAFF[0].0].clone(),
            clients,
            anonymous: reqwest::Client::new(),
            token: first_token.unwrap(),
            ledger: state_ledger,
            accounts: state_accounts,
            clock,
            shutdown: Some(tx),
            server: Some(server),
            postgres,
            _dir: dir,
        }
    }

    /// Stops the server, checks that its logs, error bodies and security
    /// log hold no ID number or phone, and drops the PostgreSQL schema.
    pub async fn finish(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
        let logged = String::from_utf8_lossy(&captured().lock().unwrap()).into_owned();
        assert!(
            logged.contains("finished processing request"),
            "the capture sees the server's logs"
        );
        assert_no_personal_data("logs and error bodies", &logged);
        let mut audit = String::new();
        let mut after_seq = 0;
        loop {
            let page = self
                .accounts
                .audit_log(&jiefen_store::access::AuditQuery {
                    after_seq,
                    action: None,
                    case_id: None,
                    limit: 1000,
                })
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after_seq = last.seq;
            for row in &page {
                audit.push_str(&row.body);
                audit.push('\n');
            }
        }
        assert_no_personal_data("security log", &audit);
        if let Some((pg, schema)) = self.postgres.take() {
            sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .execute(pg.pool())
                .await
                .unwrap();
        }
    }

    pub fn as_user(&self, name: &str) -> &reqwest::Client {
        &self.clients[name]
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn advance(&self, d: time::Duration) {
        self.clock.advance(d);
    }

    pub async fn healthz(&self) -> Response {
        self.client.get(self.url("/healthz")).send().await.unwrap()
    }

    pub async fn openapi(&self) -> Response {
        self.client
            .get(self.url("/openapi.json"))
            .send()
            .await
            .unwrap()
    }

    pub async fn create_case(&self, body: &Value, key: Option<&str>) -> Response {
        let mut req = self.client.post(self.url("/api/v1/cases")).json(body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await.unwrap()
    }

    /// A create with an arbitrary body and content type, for bad input.
    pub async fn create_raw(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: Option<&str>,
    ) -> Response {
        let mut req = self.client.post(self.url("/api/v1/cases")).body(body);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        req.send().await.unwrap()
    }

    /// Registers `case` and returns its id.
    pub async fn register(&self, case: Value) -> String {
        let res = self.create_case(&json!({"case": case}), None).await;
        let (status, body) = json_of(res).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["case_id"].as_str().unwrap().to_owned()
    }

    pub async fn get_case(&self, id: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/cases/{id}")))
            .send()
            .await
            .unwrap()
    }

    pub async fn list_cases(&self, query: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/cases?{query}")))
            .send()
            .await
            .unwrap()
    }

    pub async fn act(&self, id: &str, action: Value, key: Option<&str>) -> Response {
        let mut req = self
            .client
            .post(self.url(&format!("/api/v1/cases/{id}/actions")))
            .json(&json!({"action": action}));
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await.unwrap()
    }

    /// Acts and insists it worked.
    pub async fn act_ok(&self, id: &str, action: Value) -> Value {
        let (status, body) = json_of(self.act(id, action.clone(), None).await).await;
        assert_eq!(status, StatusCode::OK, "{action} → {body}");
        body
    }

    /// Acts as `actor` and insists it worked.
    pub async fn act_as(&self, id: &str, actor: &str, action: Value) -> Value {
        let res = self
            .as_user(actor)
            .post(self.url(&format!("/api/v1/cases/{id}/actions")))
            .json(&json!({"action": action}))
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(res).await;
        assert_eq!(status, StatusCode::OK, "{action} → {body}");
        body
    }

    /// As the handler: every inbox the tests read is theirs or their body's.
    pub async fn inbox(&self, query: &str) -> Response {
        self.as_user("handler-wang")
            .get(self.url(&format!("/api/v1/inbox?{query}")))
            .send()
            .await
            .unwrap()
    }

    pub async fn mark_read(&self, body: &Value) -> Response {
        self.as_user("handler-wang")
            .post(self.url("/api/v1/inbox/read"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// As the administrator, who runs the engine.
    pub async fn tick(&self) -> Value {
        let res = self
            .as_user("admin")
            .post(self.url("/api/v1/engine/tick"))
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(res).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn repeats(&self, id: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/cases/{id}/repeats")))
            .send()
            .await
            .unwrap()
    }

    pub async fn history(&self, id: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/cases/{id}/history")))
            .send()
            .await
            .unwrap()
    }

    pub async fn parties(&self, id: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/cases/{id}/parties")))
            .send()
            .await
            .unwrap()
    }

    pub async fn export(&self, id: &str, personal: bool) -> Response {
        self.client
            .get(self.url(&format!(
                "/api/v1/cases/{id}/export?personal={personal}&reason=核对调解协议"
            )))
            .send()
            .await
            .unwrap()
    }

    pub async fn upload(
        &self,
        id: &str,
        filename: &str,
        content_type: Option<&str>,
        actor: &str,
        bytes: Vec<u8>,
    ) -> Response {
        let mut req = self
            .as_user(actor)
            .post(self.url(&format!("/api/v1/cases/{id}/attachments")))
            .query(&[("filename", filename)])
            .body(bytes);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        req.send().await.unwrap()
    }

    pub async fn download(&self, id: &str, sha: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/cases/{id}/attachments/{sha}")))
            .send()
            .await
            .unwrap()
    }

    pub async fn log(&self) -> Response {
        self.client
            .get(self.url("/api/v1/log"))
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_checkpoint(&self) -> Response {
        self.as_user("admin")
            .post(self.url("/api/v1/checkpoints"))
            .send()
            .await
            .unwrap()
    }

    pub async fn latest_checkpoint(&self) -> Response {
        self.client
            .get(self.url("/api/v1/checkpoints/latest"))
            .send()
            .await
            .unwrap()
    }

    pub async fn consistency(&self, query: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/log/consistency?{query}")))
            .send()
            .await
            .unwrap()
    }

    pub async fn reference(&self, what: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/{what}")))
            .send()
            .await
            .unwrap()
    }

    /// A chunked JSON body of `size` bytes with no Content-Length, over a
    /// raw connection: reqwest always declares the length.
    pub async fn chunked_post(&self, path: &str, size: usize) -> (u16, Value) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Authorization: Bearer {}\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            self.token
        );
        let mut request = head.into_bytes();
        let chunk = vec![b' '; 64 * 1024];
        for _ in 0..size.div_ceil(chunk.len()) {
            request.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
            request.extend(&chunk);
            request.extend(b"\r\n");
        }
        request.extend(b"0\r\n\r\n");
        // The server may answer and close before reading everything.
        let (mut rd, mut wr) = stream.split();
        let write = async {
            let _ = wr.write_all(&request).await;
        };
        let mut response = Vec::new();
        let read = async {
            let _ = rd.read_to_end(&mut response).await;
        };
        tokio::join!(write, read);
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text[9..12].parse().unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    pub async fn log_size(&self) -> u64 {
        let (status, body) = json_of(self.log().await).await;
        assert_eq!(status, StatusCode::OK);
        body["tree_size"].as_u64().unwrap()
    }

    /// Log size, the case's history length and the number of cases: what
    /// a refused request must leave unchanged.
    pub async fn snapshot(&self, case: &str) -> (u64, usize, usize) {
        let (_, history) = json_of(self.history(case).await).await;
        let (_, list) = json_of(self.list_cases("limit=200").await).await;
        (
            self.log_size().await,
            history["events"].as_array().unwrap().len(),
            list["items"].as_array().unwrap().len(),
        )
    }
}

pub async fn json_of(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"));
    (status, body)
}

/// Asserts the one error shape and returns the error object.
pub async fn expect_error(
    res: Response,
    status: StatusCode,
    code: &str,
    field: Option<&str>,
) -> Value {
    let (got, body) = json_of(res).await;
    assert_eq!(got, status, "{body}");
    let err = &body["error"];
    assert_eq!(err["code"], code, "{body}");
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(err["field"].as_str(), field, "{body}");
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    assert_eq!(err.as_object().unwrap().len(), 3, "{body}");
    err.clone()
}

pub fn dispute() -> Value {
    json!({
        "kind": "dispute",
        "channel": "walk_in",
        "category": "neighbourhood.boundary",
        "title": "宅基地边界纠纷",
        "description": "两户因院墙位置发生争执。",
        "jurisdiction": VILLAGE,
        "people_involved": 2,
        "parties": [
            {"role": "applicant", "kind": "person", "name": "张三",
             "id_number": VALID_ID, "phone": "13812345678", "address": "尧渡镇建设路1号"},
            {"role": "respondent", "kind": "person", "name": "李四"}
        ]
    })
}

pub fn request_case(jurisdiction: &str) -> Value {
    json!({
        "kind": "request",
        "channel": "phone",
        "category": "property_mgmt.parking",
        "title": "小区停车难",
        "description": "希望增设停车位。",
        "jurisdiction": jurisdiction
    })
}

pub fn labour_dispute(jurisdiction: &str) -> Value {
    json!({
        "kind": "dispute",
        "channel": "web",
        "category": "labour.wage_arrears",
        "title": "拖欠工资",
        "description": "工地拖欠三个月工资。",
        "jurisdiction": jurisdiction,
        "parties": [{"role": "applicant", "kind": "person", "name": "王五"}]
    })
}

pub fn days(n: i64) -> time::Duration {
    time::Duration::days(n)
}
