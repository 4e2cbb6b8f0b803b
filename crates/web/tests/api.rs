//! The HTTP API end to end: a real server on 127.0.0.1:0, a real store
//! (SQLite in a temporary directory, or PostgreSQL in a schema of its own),
//! a manual clock that tests advance instead of sleeping.

use jiefen_domain::body::{Body, BodyCode, BodyKind};
use jiefen_domain::jurisdiction::{Jurisdiction, JurisdictionCode, Level};
use jiefen_domain::taxonomy::{CategoryCode, Taxonomy};
use jiefen_domain::Timestamp;
use jiefen_ledger::bundle::{verify_bundle, CaseBundle, VerifyOptions};
use jiefen_ledger::checkpoint::DeploymentKey;
use jiefen_ledger::hash::{sha256, Hash};
use jiefen_store::blobs::BlobStore;
use jiefen_store::postgres::PostgresStore;
use jiefen_store::sqlite::SqliteStore;
use jiefen_store::{Clock, Ledger, ManualClock, Store};
use jiefen_web::AppState;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::oneshot;

const START: &str = "2026-03-02T08:00:00Z";
const VILLAGE: &str = "341721100201";
const TOWN_A: &str = "341721100";
const TOWN_B: &str = "341721101";
const TOWN_MEDIATION: &str = "yaodu-tmc";
const LABOUR_MEDIATION: &str = "dongzhi-labour";
const VALID_ID: &str = "11010519491231002X";
/// Same digits as [`VALID_ID`] with a wrong GB 11643 check character.
const BAD_CHECKSUM_ID: &str = "110105194912310021";

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

struct TestApp {
    base: String,
    client: reqwest::Client,
    clock: Arc<ManualClock>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// PostgreSQL store and schema to drop at the end.
    postgres: Option<(Arc<PostgresStore>, String)>,
    _dir: tempfile::TempDir,
}

fn code(c: &str) -> JurisdictionCode {
    JurisdictionCode::parse(c).unwrap()
}

fn node(c: &str, name: &str, level: Level, parent: Option<&str>) -> Jurisdiction {
    Jurisdiction {
        code: code(c),
        name: name.into(),
        level,
        parent: parent.map(code),
    }
}

fn fixture() -> (Vec<Jurisdiction>, Vec<Body>) {
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
    async fn sqlite() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&dir.path().join("jiefen.db"))
                .await
                .unwrap(),
        );
        Self::start(store, dir, None).await
    }

    /// None when no PostgreSQL is configured outside CI; in CI a missing
    /// database is a failure, not a skip.
    async fn postgres() -> Option<TestApp> {
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

    async fn start(
        store: Arc<dyn Store>,
        dir: tempfile::TempDir,
        postgres: Option<(Arc<PostgresStore>, String)>,
    ) -> TestApp {
        let clock = Arc::new(ManualClock::new(Timestamp::parse(START).unwrap()));
        let ledger = Ledger::open(
            store,
            Taxonomy::default_taxonomy(),
            clock.clone(),
            DeploymentKey::from_seed([7; 32]),
            "jiefen-test".into(),
        )
        .await
        .unwrap();
        let (jurisdictions, bodies) = fixture();
        ledger
            .import_reference(jurisdictions, bodies)
            .await
            .unwrap();
        let state = AppState {
            ledger,
            blobs: BlobStore::new(dir.path().join("blobs")),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(jiefen_web::serve(
            listener,
            jiefen_web::router(state),
            async move {
                let _ = rx.await;
            },
        ));
        TestApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            clock,
            shutdown: Some(tx),
            server: Some(server),
            postgres,
            _dir: dir,
        }
    }

    /// Stops the server and drops the PostgreSQL schema.
    async fn finish(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
        if let Some((pg, schema)) = self.postgres.take() {
            sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .execute(pg.pool())
                .await
                .unwrap();
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn advance(&self, d: time::Duration) {
        self.clock.advance(d);
    }

    async fn healthz(&self) -> Response {
        self.client.get(self.url("/healthz")).send().await.unwrap()
    }

    async fn openapi(&self) -> Response {
        self.client
            .get(self.url("/openapi.json"))
            .send()
            .await
            .unwrap()
    }

    async fn create_case(&self, body: &Value, key: Option<&str>) -> Response {
        let mut req = self.client.post(self.url("/api/v1/cases")).json(body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await.unwrap()
    }

    /// A create with an arbitrary body and content type, for bad input.
    async fn create_raw(
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
    async fn register(&self, case: Value) -> String {
        let res = self
            .create_case(&json!({"actor": "clerk-01", "case": case}), None)
            .await;
        let (status, body) = json_of(res).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["case_id"].as_str().unwrap().to_owned()
    }

    async fn get_case(&self, id: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/cases/{id}")))
            .send()
            .await
            .unwrap()
    }

    async fn list_cases(&self, query: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/cases?{query}")))
            .send()
            .await
            .unwrap()
    }

    async fn act(&self, id: &str, action: Value, key: Option<&str>) -> Response {
        let mut req = self
            .client
            .post(self.url(&format!("/api/v1/cases/{id}/actions")))
            .json(&json!({"actor": "clerk-01", "action": action}));
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await.unwrap()
    }

    /// Acts and insists it worked.
    async fn act_ok(&self, id: &str, action: Value) -> Value {
        let (status, body) = json_of(self.act(id, action.clone(), None).await).await;
        assert_eq!(status, StatusCode::OK, "{action} → {body}");
        body
    }

    /// Acts as `actor` and insists it worked.
    async fn act_as(&self, id: &str, actor: &str, action: Value) -> Value {
        let res = self
            .client
            .post(self.url(&format!("/api/v1/cases/{id}/actions")))
            .json(&json!({"actor": actor, "action": action}))
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(res).await;
        assert_eq!(status, StatusCode::OK, "{action} → {body}");
        body
    }

    async fn inbox(&self, query: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/inbox?{query}")))
            .send()
            .await
            .unwrap()
    }

    async fn mark_read(&self, body: &Value) -> Response {
        self.client
            .post(self.url("/api/v1/inbox/read"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn tick(&self) -> Value {
        let res = self
            .client
            .post(self.url("/api/v1/engine/tick"))
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(res).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn repeats(&self, id: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/cases/{id}/repeats")))
            .send()
            .await
            .unwrap()
    }

    async fn history(&self, id: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/cases/{id}/history")))
            .send()
            .await
            .unwrap()
    }

    async fn parties(&self, id: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/cases/{id}/parties")))
            .send()
            .await
            .unwrap()
    }

    async fn export(&self, id: &str, personal: bool) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/cases/{id}/export?personal={personal}")))
            .send()
            .await
            .unwrap()
    }

    async fn upload(
        &self,
        id: &str,
        filename: &str,
        content_type: Option<&str>,
        actor: Option<&str>,
        bytes: Vec<u8>,
    ) -> Response {
        let mut req = self
            .client
            .post(self.url(&format!("/api/v1/cases/{id}/attachments")))
            .query(&[("filename", filename)])
            .body(bytes);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        if let Some(a) = actor {
            req = req.header("X-Actor", a);
        }
        req.send().await.unwrap()
    }

    async fn download(&self, id: &str, sha: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/cases/{id}/attachments/{sha}")))
            .send()
            .await
            .unwrap()
    }

    async fn log(&self) -> Response {
        self.client
            .get(self.url("/api/v1/log"))
            .send()
            .await
            .unwrap()
    }

    async fn sign_checkpoint(&self) -> Response {
        self.client
            .post(self.url("/api/v1/checkpoints"))
            .send()
            .await
            .unwrap()
    }

    async fn latest_checkpoint(&self) -> Response {
        self.client
            .get(self.url("/api/v1/checkpoints/latest"))
            .send()
            .await
            .unwrap()
    }

    async fn consistency(&self, query: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/log/consistency?{query}")))
            .send()
            .await
            .unwrap()
    }

    async fn reference(&self, what: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/{what}")))
            .send()
            .await
            .unwrap()
    }

    /// A chunked JSON body of `size` bytes with no Content-Length, over a
    /// raw connection: reqwest always declares the length.
    async fn chunked_post(&self, path: &str, size: usize) -> (u16, Value) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
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

    async fn log_size(&self) -> u64 {
        let (status, body) = json_of(self.log().await).await;
        assert_eq!(status, StatusCode::OK);
        body["tree_size"].as_u64().unwrap()
    }

    /// Log size, the case's history length and the number of cases: what
    /// a refused request must leave unchanged.
    async fn snapshot(&self, case: &str) -> (u64, usize, usize) {
        let (_, history) = json_of(self.history(case).await).await;
        let (_, list) = json_of(self.list_cases("limit=200").await).await;
        (
            self.log_size().await,
            history["events"].as_array().unwrap().len(),
            list["items"].as_array().unwrap().len(),
        )
    }
}

async fn json_of(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"));
    (status, body)
}

/// Asserts the one error shape and returns the error object.
async fn expect_error(res: Response, status: StatusCode, code: &str, field: Option<&str>) -> Value {
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

fn dispute() -> Value {
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

fn request_case(jurisdiction: &str) -> Value {
    json!({
        "kind": "request",
        "channel": "phone",
        "category": "property_mgmt.parking",
        "title": "小区停车难",
        "description": "希望增设停车位。",
        "jurisdiction": jurisdiction
    })
}

fn labour_dispute(jurisdiction: &str) -> Value {
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

fn days(n: i64) -> time::Duration {
    time::Duration::days(n)
}

/// The whole life of a case, run on every backend.
async fn acceptance_story(app: &TestApp) {
    let res = app
        .create_case(&json!({"actor": "clerk-01", "case": dispute()}), None)
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let (status, created) = json_of(res).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["case_id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/cases/{id}"));
    assert_eq!(created["seq"], 1);
    assert_eq!(created["event"], "registered");
    assert!(created.get("replayed").is_none());

    let (status, case) = json_of(app.get_case(&id).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(case["state"], "registered");
    // A dispute waits at most 3 working days for the decision on acceptance.
    assert_eq!(case["deadline_signal"], "on_track");
    let acceptance = &case["stage"]["acceptance"];
    assert_eq!(acceptance["deadline"]["stage"], "acceptance", "{case}");
    assert_eq!(acceptance["deadline"]["days"], 3);
    assert_eq!(acceptance["deadline"]["count"], "working");
    assert_eq!(case["level"], "village");
    let text = case.to_string();
    for secret in ["张三", VALID_ID, "13812345678", "建设路"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }

    app.act_ok(&id, json!({"type": "accept", "note": "属人民调解范围"}))
        .await;
    let due = app.now().plus(days(7));
    let out = app
        .act_ok(
            &id,
            json!({"type": "assign", "body": TOWN_MEDIATION, "due_at": due.to_rfc3339()}),
        )
        .await;
    assert_eq!(out["event"], "assigned");
    let (_, case) = json_of(app.get_case(&id).await).await;
    assert_eq!(case["state"], "assigned");
    assert_eq!(case["deadline_signal"], "on_track");

    app.act_ok(&id, json!({"type": "sign_for"})).await;
    app.act_ok(
        &id,
        json!({"type": "mediation_session", "held_at": app.now().to_rfc3339(),
               "mediators": ["陈调解员"], "place": "尧渡镇调解室", "summary": "双方陈述意见"}),
    )
    .await;
    app.act_ok(&id, json!({"type": "pause", "reason": "等待土地确权鉴定"}))
        .await;
    let (_, case) = json_of(app.get_case(&id).await).await;
    assert_eq!(case["state"], "paused");
    app.advance(days(2));
    app.act_ok(&id, json!({"type": "resume"})).await;
    let (_, case) = json_of(app.get_case(&id).await).await;
    assert_eq!(case["state"], "in_progress");
    let moved = Timestamp::parse(case["stage"]["assignment"]["due_at"].as_str().unwrap()).unwrap();
    assert_eq!(moved, due.plus(days(2)), "the pause must move the deadline");

    app.act_ok(
        &id,
        json!({"type": "conclude", "outcome": "mediated", "summary": "达成协议",
               "agreement": {"text": "院墙按原址重建，费用各半。"}}),
    )
    .await;
    app.act_ok(
        &id,
        json!({"type": "follow_up", "satisfaction": "satisfied"}),
    )
    .await;
    let out = app.act_ok(&id, json!({"type": "archive"})).await;
    assert_eq!(out["seq"], 10);

    let (status, history) = json_of(app.history(&id).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history["case_id"], id.as_str());
    let events = history["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "registered",
            "accepted",
            "assigned",
            "signed_for",
            "mediation_session_held",
            "paused",
            "resumed",
            "concluded",
            "followed_up",
            "archived"
        ]
    );
    let mut prev = Hash::ZERO.to_string();
    let mut last_leaf = None;
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"], i as u64 + 1);
        assert_eq!(e["prev_hash"], prev.as_str(), "event {}", i + 1);
        assert_eq!(e["body"]["seq"], i as u64 + 1);
        assert_eq!(e["body"]["case_id"], id.as_str());
        assert_eq!(e["actor"], "clerk-01");
        let leaf = e["leaf_index"].as_u64().unwrap();
        assert!(last_leaf.is_none_or(|l| leaf > l));
        last_leaf = Some(leaf);
        prev = e["hash"].as_str().unwrap().to_owned();
    }
    assert_eq!(events[0]["at"], START);

    let (status, parties) = json_of(app.parties(&id).await).await;
    assert_eq!(status, StatusCode::OK);
    let applicant = &parties["parties"][0];
    assert_eq!(applicant["role"], "applicant");
    let masked: Vec<&str> = applicant["personal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["masked"].as_str().unwrap())
        .collect();
    assert_eq!(
        masked,
        [
            "张*",
            "110105********002X",
            "138****5678",
            "尧渡镇建设路****"
        ]
    );
    let text = parties.to_string();
    for secret in ["张三", VALID_ID, "13812345678"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }

    let pinned = VerifyOptions {
        pinned_key: Some(DeploymentKey::from_seed([7; 32]).public()),
        earlier_checkpoint: None,
    };
    for personal in [false, true] {
        let (status, bundle) = json_of(app.export(&id, personal).await).await;
        assert_eq!(status, StatusCode::OK, "{bundle}");
        let bundle: CaseBundle = serde_json::from_value(bundle).unwrap();
        let report = verify_bundle(&bundle, &pinned).unwrap();
        assert_eq!(report.events, 10);
        assert_eq!(report.head_hash.to_string(), prev);
        assert_eq!(bundle.personal_data.len(), if personal { 5 } else { 0 });
    }

    let (_, case) = json_of(app.get_case(&id).await).await;
    assert_eq!(case["state"], "archived");
    assert_eq!(case["deadline_signal"], Value::Null);
    assert_eq!(case["conclusion"]["on_time"], true);

    let (status, health) = json_of(app.healthz().await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["log_size"], 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acceptance_story_on_sqlite() {
    let app = TestApp::sqlite().await;
    acceptance_story(&app).await;
    let (_, health) = json_of(app.healthz().await).await;
    assert_eq!(health["store"], "sqlite");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acceptance_story_on_postgres() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    acceptance_story(&app).await;
    let (_, health) = json_of(app.healthz().await).await;
    assert_eq!(health["store"], "postgres");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_in_one_shape_and_writes_nothing() {
    let app = TestApp::sqlite().await;
    let id = app.register(dispute()).await;
    let accepted = app.register(dispute()).await;
    app.act_ok(&accepted, json!({"type": "accept"})).await;
    let before = app.snapshot(&accepted).await;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;

    let with_case = |edit: &dyn Fn(&mut Value)| {
        let mut case = dispute();
        edit(&mut case);
        json!({"actor": "clerk-01", "case": case})
    };

    // Malformed JSON, and bodies that are JSON but not what is asked.
    expect_error(
        app.create_raw(
            r#"{"actor": "clerk-01", "case": "#,
            Some("application/json"),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
        None,
    )
    .await;
    expect_error(
        app.create_raw("", Some("application/json")).await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
        None,
    )
    .await;
    let body = with_case(&|c| c["bogus"] = json!(1));
    expect_error(
        app.create_case(&body, None).await,
        unprocessable,
        "invalid_request",
        Some("case.bogus"),
    )
    .await;
    let body = with_case(&|c| c["people_involved"] = json!("many"));
    expect_error(
        app.create_case(&body, None).await,
        unprocessable,
        "invalid_request",
        Some("case.people_involved"),
    )
    .await;
    let body = with_case(&|c| c["parties"][0]["id_number"] = json!(BAD_CHECKSUM_ID));
    let err = expect_error(
        app.create_case(&body, None).await,
        unprocessable,
        "invalid_request",
        Some("case.parties[0].id_number"),
    )
    .await;
    assert!(
        err["message"].as_str().unwrap().contains("GB 11643"),
        "{err}"
    );
    let body = with_case(&|c| c["parties"][0]["phone"] = json!("12345"));
    expect_error(
        app.create_case(&body, None).await,
        unprocessable,
        "invalid_request",
        Some("case.parties[0].phone"),
    )
    .await;
    let body = with_case(&|c| c["title"] = json!("   "));
    expect_error(
        app.create_case(&body, None).await,
        unprocessable,
        "invalid_request",
        Some("case.title"),
    )
    .await;
    let body = with_case(&|c| {
        c.as_object_mut().unwrap().remove("title");
    });
    expect_error(
        app.create_case(&body, None).await,
        unprocessable,
        "invalid_request",
        Some("case.title"),
    )
    .await;
    let body = with_case(&|c| c["kind"] = json!("complaint"));
    expect_error(
        app.create_case(&body, None).await,
        unprocessable,
        "invalid_request",
        Some("case.kind"),
    )
    .await;
    expect_error(
        app.create_case(&json!({"actor": "", "case": dispute()}), None)
            .await,
        unprocessable,
        "invalid_request",
        Some("actor"),
    )
    .await;

    // Domain refusals.
    let body = with_case(&|c| c["jurisdiction"] = json!("341799"));
    expect_error(
        app.create_case(&body, None).await,
        unprocessable,
        "unknown_jurisdiction",
        Some("case.jurisdiction"),
    )
    .await;
    let body = with_case(&|c| c["category"] = json!("labour.nonexistent"));
    expect_error(
        app.create_case(&body, None).await,
        unprocessable,
        "unknown_category",
        Some("case.category"),
    )
    .await;
    let body = with_case(&|c| c["parties"] = json!([]));
    expect_error(
        app.create_case(&body, None).await,
        unprocessable,
        "invalid",
        Some("case.parties"),
    )
    .await;
    expect_error(
        app.act(&accepted, json!({"type": "assign", "body": "nope", "due_at": app.now().plus(days(3)).to_rfc3339()}), None).await,
        unprocessable,
        "unknown_body",
        Some("action.body"),
    )
    .await;
    expect_error(
        app.act(&accepted, json!({"type": "assign", "body": TOWN_MEDIATION, "due_at": app.now().plus(days(-1)).to_rfc3339()}), None).await,
        unprocessable,
        "invalid",
        Some("action.due_at"),
    )
    .await;
    expect_error(
        app.act(&accepted, json!({"type": "assign", "body": LABOUR_MEDIATION, "due_at": app.now().plus(days(3)).to_rfc3339()}), None).await,
        unprocessable,
        "invalid",
        Some("action.body"),
    )
    .await;
    expect_error(
        app.act(&id, json!({"type": "sign_for"}), None).await,
        StatusCode::CONFLICT,
        "illegal_transition",
        None,
    )
    .await;
    expect_error(
        app.act(&id, json!({"type": "teleport"}), None).await,
        unprocessable,
        "invalid_request",
        Some("action.type"),
    )
    .await;
    // The upload path's own command is not for clients to send.
    expect_error(
        app.act(&id, json!({"type": "add_attachment", "sha256": Hash::ZERO, "size": 1, "media_type": "image/png", "filename": "x.png"}), None).await,
        unprocessable,
        "invalid_request",
        Some("action.type"),
    )
    .await;

    // Content type and size.
    let valid = serde_json::to_vec(&json!({"actor": "clerk-01", "case": dispute()})).unwrap();
    expect_error(
        app.create_raw(valid.clone(), None).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        None,
    )
    .await;
    expect_error(
        app.create_raw(valid.clone(), Some("text/plain")).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        None,
    )
    .await;
    let huge = with_case(&|c| c["description"] = json!("纠".repeat(400_000)));
    expect_error(
        app.create_case(&huge, None).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        None,
    )
    .await;
    // Without a declared length only axum's own limit can stop it.
    let (status, body) = app.chunked_post("/api/v1/cases", 2 * 1024 * 1024).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");

    // Ids, routes, methods.
    let unknown = uuid::Uuid::now_v7().to_string();
    expect_error(
        app.get_case(&unknown).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    expect_error(
        app.get_case("not-a-uuid").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    expect_error(
        app.act(&unknown, json!({"type": "accept"}), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    expect_error(
        app.history(&unknown).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    expect_error(
        app.parties(&unknown).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    expect_error(
        app.export(&unknown, false).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    expect_error(
        app.reference("nothing-here").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    let res = app
        .client
        .delete(app.url("/api/v1/cases"))
        .send()
        .await
        .unwrap();
    expect_error(
        res,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        None,
    )
    .await;

    // Idempotency keys.
    let body = json!({"actor": "clerk-01", "case": dispute()});
    for bad in ["", &"k".repeat(201), "has space", "中文"] {
        let res = app
            .client
            .post(app.url("/api/v1/cases"))
            .header(
                "Idempotency-Key",
                reqwest::header::HeaderValue::from_bytes(bad.as_bytes()).unwrap(),
            )
            .json(&body)
            .send()
            .await
            .unwrap();
        expect_error(
            res,
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            Some("Idempotency-Key"),
        )
        .await;
    }

    // Query parameters.
    expect_error(
        app.list_cases("kind=complaint").await,
        unprocessable,
        "invalid_query",
        Some("kind"),
    )
    .await;
    expect_error(
        app.list_cases("state=open").await,
        unprocessable,
        "invalid_query",
        Some("state"),
    )
    .await;
    expect_error(
        app.list_cases("risk=green").await,
        unprocessable,
        "invalid_query",
        Some("risk"),
    )
    .await;
    expect_error(
        app.list_cases("signal=late").await,
        unprocessable,
        "invalid_query",
        Some("signal"),
    )
    .await;
    expect_error(
        app.list_cases("limit=0").await,
        unprocessable,
        "invalid_query",
        Some("limit"),
    )
    .await;
    expect_error(
        app.list_cases("limit=201").await,
        unprocessable,
        "invalid_query",
        Some("limit"),
    )
    .await;
    expect_error(
        app.list_cases("cursor=x").await,
        unprocessable,
        "invalid_query",
        Some("cursor"),
    )
    .await;
    expect_error(
        app.list_cases("created_from=yesterday").await,
        unprocessable,
        "invalid_query",
        Some("created_from"),
    )
    .await;
    expect_error(
        app.list_cases("colour=red").await,
        unprocessable,
        "invalid_query",
        Some("colour"),
    )
    .await;
    expect_error(
        app.list_cases("jurisdiction=341799").await,
        unprocessable,
        "unknown_jurisdiction",
        Some("jurisdiction"),
    )
    .await;
    expect_error(
        app.list_cases("category=nope").await,
        unprocessable,
        "unknown_category",
        Some("category"),
    )
    .await;
    expect_error(
        app.list_cases("body=nope").await,
        unprocessable,
        "unknown_body",
        Some("body"),
    )
    .await;
    let res = app
        .client
        .get(app.url(&format!("/api/v1/cases/{id}/export?personal=maybe")))
        .send()
        .await
        .unwrap();
    expect_error(res, unprocessable, "invalid_query", Some("personal")).await;

    assert_eq!(
        app.snapshot(&accepted).await,
        before,
        "a refused request wrote something"
    );

    // A reused key with a different request is refused and writes nothing.
    let res = app
        .act(
            &accepted,
            json!({"type": "note", "text": "第一次"}),
            Some("note-1"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let before = app.snapshot(&accepted).await;
    expect_error(
        app.act(
            &accepted,
            json!({"type": "note", "text": "第二次"}),
            Some("note-1"),
        )
        .await,
        unprocessable,
        "idempotency_key_reused",
        Some("Idempotency-Key"),
    )
    .await;
    expect_error(
        app.create_case(&body, Some("note-1")).await,
        unprocessable,
        "idempotency_key_reused",
        Some("Idempotency-Key"),
    )
    .await;
    assert_eq!(app.snapshot(&accepted).await, before);
    app.finish().await;
}

async fn idempotent_create(app: &TestApp) {
    let body = json!({"actor": "clerk-01", "case": dispute()});
    let (_, before) = json_of(app.list_cases("limit=200").await).await;
    let first = app.create_case(&body, Some("intake-7f3a")).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let location = first.headers()["location"].clone();
    let first = first.text().await.unwrap();
    let second = app.create_case(&body, Some("intake-7f3a")).await;
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(second.headers()["location"], location);
    assert_eq!(
        second.text().await.unwrap(),
        first,
        "a replay is the first answer"
    );
    let (_, after) = json_of(app.list_cases("limit=200").await).await;
    assert_eq!(
        after["items"].as_array().unwrap().len(),
        before["items"].as_array().unwrap().len() + 1,
        "one case, not two"
    );

    // Actions replay the same way.
    let id: Value = serde_json::from_str(&first).unwrap();
    let id = id["case_id"].as_str().unwrap();
    let a = app
        .act(id, json!({"type": "accept"}), Some("accept-1"))
        .await;
    assert_eq!(a.status(), StatusCode::OK);
    let a = a.text().await.unwrap();
    let b = app
        .act(id, json!({"type": "accept"}), Some("accept-1"))
        .await;
    assert_eq!(b.status(), StatusCode::OK);
    assert_eq!(b.headers()["idempotent-replayed"], "true");
    assert_eq!(b.text().await.unwrap(), a);
    let (_, history) = json_of(app.history(id).await).await;
    assert_eq!(history["events"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_create_on_sqlite() {
    let app = TestApp::sqlite().await;
    idempotent_create(&app).await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_create_on_postgres() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    idempotent_create(&app).await;
    app.finish().await;
}

async fn concurrent_creates(app: &TestApp) {
    const N: usize = 200;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..N {
        let client = app.client.clone();
        let url = app.url("/api/v1/cases");
        let mut case = dispute();
        case["title"] = json!(format!("纠纷 {i}"));
        tasks.spawn(async move {
            let res = client
                .post(url)
                .json(&json!({"actor": "clerk-01", "case": case}))
                .send()
                .await
                .unwrap();
            json_of(res).await
        });
    }
    let mut ids = HashSet::new();
    let mut numbers = HashSet::new();
    while let Some(r) = tasks.join_next().await {
        let (status, body) = r.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.insert(body["case_id"].as_str().unwrap().to_owned());
        numbers.insert(body["number"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), N, "distinct ids");
    assert_eq!(numbers.len(), N, "distinct case numbers");
    assert_eq!(app.log_size().await, N as u64, "one log entry per event");
    let mut leaves = Vec::new();
    for id in &ids {
        let (_, history) = json_of(app.history(id).await).await;
        leaves.push(history["events"][0]["leaf_index"].as_u64().unwrap());
    }
    leaves.sort_unstable();
    assert_eq!(
        leaves,
        (0..N as u64).collect::<Vec<_>>(),
        "dense leaf indices"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_on_sqlite() {
    let app = TestApp::sqlite().await;
    concurrent_creates(&app).await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_on_postgres() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    concurrent_creates(&app).await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_stored_recorded_and_served() {
    let app = TestApp::sqlite().await;
    let id = app.register(dispute()).await;
    let before = app.snapshot(&id).await;

    // Refusals first: none may store or record anything.
    let res = app
        .upload(
            &id,
            "a.txt",
            Some("text/plain"),
            Some("clerk-01"),
            b"hello".to_vec(),
        )
        .await;
    expect_error(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        None,
    )
    .await;
    let res = app
        .upload(&id, "a.png", None, Some("clerk-01"), PNG.to_vec())
        .await;
    expect_error(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        None,
    )
    .await;
    let res = app
        .upload(
            &id,
            "a.jpg",
            Some("image/jpeg"),
            Some("clerk-01"),
            PNG.to_vec(),
        )
        .await;
    expect_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "content_mismatch",
        None,
    )
    .await;
    let res = app
        .upload(&id, "a.png", Some("image/png"), None, PNG.to_vec())
        .await;
    expect_error(
        res,
        StatusCode::BAD_REQUEST,
        "missing_actor",
        Some("X-Actor"),
    )
    .await;
    let res = app
        .upload(
            &id,
            "a/b.png",
            Some("image/png"),
            Some("clerk-01"),
            PNG.to_vec(),
        )
        .await;
    expect_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_query",
        Some("filename"),
    )
    .await;
    let res = app
        .upload(
            &id,
            "a.png",
            Some("image/png"),
            Some("clerk-01"),
            Vec::new(),
        )
        .await;
    expect_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "empty_attachment",
        None,
    )
    .await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let res = app
        .upload(
            &unknown,
            "a.png",
            Some("image/png"),
            Some("clerk-01"),
            PNG.to_vec(),
        )
        .await;
    expect_error(res, StatusCode::NOT_FOUND, "not_found", None).await;
    let mut big = PNG.to_vec();
    big.resize(20 * 1024 * 1024 + 1, 0);
    let res = app
        .upload(&id, "big.png", Some("image/png"), Some("clerk-01"), big)
        .await;
    expect_error(
        res,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        None,
    )
    .await;
    assert_eq!(app.snapshot(&id).await, before);

    // Over the JSON limit but under the attachment limit is fine here.
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize(2 * 1024 * 1024, b' ');
    let res = app
        .upload(
            &id,
            "鉴定报告.pdf",
            Some("application/pdf"),
            Some("clerk-01"),
            pdf,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let res = app
        .upload(
            &id,
            "现场照片.png",
            Some("image/png; charset=binary"),
            Some("grid-07"),
            PNG.to_vec(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, up) = json_of(res).await;
    let sha = sha256(&[PNG]).to_string();
    assert_eq!(up["sha256"], sha.as_str());
    assert_eq!(up["outcome"]["event"], "attachment_added");

    let (_, history) = json_of(app.history(&id).await).await;
    let last = history["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["type"], "attachment_added");
    assert_eq!(last["actor"], "grid-07");
    assert_eq!(last["body"]["sha256"], sha.as_str());
    assert_eq!(last["body"]["media_type"], "image/png");
    assert_eq!(last["body"]["filename"], "现场照片.png");
    assert_eq!(last["body"]["size"], PNG.len());

    let (_, bundle) = json_of(app.export(&id, false).await).await;
    assert!(bundle.to_string().contains(&sha));
    let bundle: CaseBundle = serde_json::from_value(bundle).unwrap();
    verify_bundle(&bundle, &VerifyOptions::default()).unwrap();

    let res = app.download(&id, &sha).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename*=UTF-8''"));
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);

    // Another case cannot reach the file by its hash.
    let other = app.register(dispute()).await;
    expect_error(
        app.download(&other, &sha).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    expect_error(
        app.download(&id, &Hash::ZERO.to_string()).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    expect_error(
        app.download(&id, "not-a-hash").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    app.finish().await;
}

fn ids_of(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn listed(app: &TestApp, query: &str) -> Vec<String> {
    let (status, list) = json_of(app.list_cases(query).await).await;
    assert_eq!(status, StatusCode::OK, "{query}: {list}");
    ids_of(&list)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_and_cursor_pagination() {
    let app = TestApp::sqlite().await;
    // One second apart, so creation order is id order.
    let create = |case: Value| {
        app.advance(time::Duration::seconds(1));
        let app = &app;
        async move { app.register(case).await }
    };
    let a_disputes = vec![
        create(dispute()).await,
        create(dispute()).await,
        create(dispute()).await,
    ];
    let a_requests = vec![
        create(request_case(VILLAGE)).await,
        create(request_case(TOWN_A)).await,
    ];
    // Between the last case in town A and the first in town B.
    let midpoint = app.now().plus(time::Duration::milliseconds(500));
    let b_labour = vec![
        create(labour_dispute(TOWN_B)).await,
        create(labour_dispute(TOWN_B)).await,
    ];
    let mut all: Vec<String> = [a_disputes.clone(), a_requests.clone(), b_labour.clone()].concat();
    all.reverse();
    let newest_first = |mut v: Vec<String>| {
        v.reverse();
        v
    };

    assert_eq!(listed(&app, "").await, all);
    assert_eq!(listed(&app, "jurisdiction=341721").await, all);
    assert_eq!(listed(&app, "jurisdiction=341700").await, all);
    assert_eq!(
        listed(&app, &format!("jurisdiction={TOWN_A}")).await,
        newest_first([a_disputes.clone(), a_requests.clone()].concat())
    );
    assert_eq!(
        listed(&app, &format!("jurisdiction={TOWN_B}")).await,
        newest_first(b_labour.clone())
    );
    assert_eq!(
        listed(&app, &format!("jurisdiction={VILLAGE}")).await,
        newest_first([a_disputes.clone(), vec![a_requests[0].clone()]].concat())
    );
    assert_eq!(
        listed(&app, "kind=request").await,
        newest_first(a_requests.clone())
    );
    assert_eq!(
        listed(&app, &format!("kind=dispute&jurisdiction={TOWN_A}")).await,
        newest_first(a_disputes.clone())
    );
    assert_eq!(
        listed(&app, "category=labour").await,
        newest_first(b_labour.clone())
    );
    assert_eq!(
        listed(&app, "category=neighbourhood.boundary").await,
        newest_first(a_disputes.clone())
    );
    assert_eq!(listed(&app, "kind=hazard").await, Vec::<String>::new());

    let due = app.now().plus(days(10));
    app.act_ok(&b_labour[0], json!({"type": "accept"})).await;
    app.act_ok(
        &b_labour[0],
        json!({"type": "assign", "body": LABOUR_MEDIATION, "due_at": due.to_rfc3339()}),
    )
    .await;
    app.act_ok(&a_disputes[0], json!({"type": "accept"})).await;
    assert_eq!(
        listed(&app, "state=accepted").await,
        vec![a_disputes[0].clone()]
    );
    assert_eq!(
        listed(&app, "state=assigned").await,
        vec![b_labour[0].clone()]
    );
    assert_eq!(
        listed(&app, &format!("body={LABOUR_MEDIATION}")).await,
        vec![b_labour[0].clone()]
    );
    assert_eq!(
        listed(&app, &format!("body={TOWN_MEDIATION}")).await,
        Vec::<String>::new()
    );
    assert_eq!(
        listed(&app, "state=assigned&signal=on_track").await,
        vec![b_labour[0].clone()]
    );
    app.advance(days(9));
    assert_eq!(
        listed(&app, "state=assigned&signal=due_soon").await,
        vec![b_labour[0].clone()]
    );
    let (_, case) = json_of(app.get_case(&b_labour[0]).await).await;
    assert_eq!(case["deadline_signal"], "due_soon");
    app.advance(days(2));
    assert_eq!(
        listed(&app, "state=assigned&signal=overdue").await,
        vec![b_labour[0].clone()]
    );
    assert_eq!(listed(&app, "signal=on_track").await, Vec::<String>::new());
    // Disputes still waiting for a decision on acceptance are overdue too
    // (3 working days); the accepted one has no deadline until assigned.
    // Requests have no acceptance rule, so no deadline before assignment.
    let waiting = listed(&app, "kind=dispute&state=registered").await;
    assert_eq!(waiting.len(), 3, "two of town A's disputes and one of B's");
    assert_eq!(
        listed(&app, "state=registered&signal=overdue").await,
        waiting
    );
    let overdue = listed(&app, "signal=overdue").await;
    assert!(!overdue.contains(&a_disputes[0]));
    assert!(a_requests.iter().all(|r| !overdue.contains(r)));
    app.act_ok(
        &b_labour[1],
        json!({"type": "set_risk", "level": "red", "reason": "涉及人数多"}),
    )
    .await;
    assert_eq!(listed(&app, "risk=red").await, vec![b_labour[1].clone()]);

    let from = midpoint.to_rfc3339();
    assert_eq!(
        listed(&app, &format!("created_from={from}")).await,
        newest_first(b_labour.clone())
    );
    assert_eq!(
        listed(&app, &format!("created_to={from}")).await,
        newest_first([a_disputes.clone(), a_requests.clone()].concat())
    );

    // Pages of 3 over 7 cases: 3, 3, 1, each continuing where the last ended.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=3&cursor={c}"),
            None => "limit=3".to_owned(),
        };
        let (_, page) = json_of(app.list_cases(&query).await).await;
        let ids = ids_of(&page);
        pages.push(ids.len());
        seen.extend(ids);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, [3, 3, 1]);
    assert_eq!(seen, all);
    // A full last page still gives a cursor; the page after it is empty.
    let (_, page) = json_of(
        app.list_cases(&format!("limit=2&jurisdiction={TOWN_B}"))
            .await,
    )
    .await;
    let next = page["next_cursor"].as_str().unwrap();
    let (_, page) = json_of(
        app.list_cases(&format!("limit=2&jurisdiction={TOWN_B}&cursor={next}"))
            .await,
    )
    .await;
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["next_cursor"], Value::Null);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_checkpoints_and_consistency() {
    let app = TestApp::sqlite().await;
    let (_, head) = json_of(app.log().await).await;
    assert_eq!(head["tree_size"], 0);
    assert_eq!(
        head["root"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    expect_error(
        app.latest_checkpoint().await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    for _ in 0..3 {
        app.register(dispute()).await;
    }
    let res = app.sign_checkpoint().await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, signed) = json_of(res).await;
    assert_eq!(signed["tree_size"], 3);
    assert_eq!(signed["origin"], "jiefen-test");
    let (status, latest) = json_of(app.latest_checkpoint().await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(latest, signed);
    let checkpoint: jiefen_ledger::checkpoint::SignedCheckpoint =
        serde_json::from_value(latest).unwrap();
    assert_eq!(
        checkpoint.checkpoint.root.to_string(),
        json_of(app.log().await).await.1["root"].as_str().unwrap()
    );

    for _ in 0..4 {
        app.register(dispute()).await;
    }
    let (status, proof) = json_of(app.consistency("old_size=3&new_size=7").await).await;
    assert_eq!(status, StatusCode::OK, "{proof}");
    assert_eq!(proof["old_size"], 3);
    assert_eq!(proof["new_size"], 7);
    assert!(!proof["proof"].as_array().unwrap().is_empty());
    let (_, same) = json_of(app.consistency("old_size=7&new_size=7").await).await;
    assert_eq!(same["proof"], json!([]));
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    expect_error(
        app.consistency("old_size=5&new_size=3").await,
        unprocessable,
        "invalid_range",
        None,
    )
    .await;
    expect_error(
        app.consistency("old_size=3&new_size=8").await,
        unprocessable,
        "invalid_range",
        Some("new_size"),
    )
    .await;
    expect_error(
        app.consistency("old_size=3").await,
        unprocessable,
        "invalid_query",
        Some("new_size"),
    )
    .await;
    expect_error(
        app.consistency("old_size=-1&new_size=3").await,
        unprocessable,
        "invalid_query",
        Some("old_size"),
    )
    .await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_data_health_and_openapi() {
    let app = TestApp::sqlite().await;
    let (_, j) = json_of(app.reference("jurisdictions").await).await;
    let codes: Vec<&str> = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 6);
    assert!(codes.contains(&VILLAGE));
    let (_, b) = json_of(app.reference("bodies").await).await;
    let codes: Vec<&str> = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, [LABOUR_MEDIATION, TOWN_MEDIATION]);
    let (_, c) = json_of(app.reference("categories").await).await;
    assert!(c["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["code"] == "labour.wage_arrears"));

    let (status, health) = json_of(app.healthz().await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        health,
        json!({"status": "ok", "store": "sqlite", "log_size": 0})
    );

    let (status, doc) = json_of(app.openapi().await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/healthz", &["get"][..]),
        ("/api/v1/cases", &["get", "post"]),
        ("/api/v1/cases/{id}", &["get"]),
        ("/api/v1/cases/{id}/actions", &["post"]),
        ("/api/v1/cases/{id}/history", &["get"]),
        ("/api/v1/cases/{id}/parties", &["get"]),
        ("/api/v1/cases/{id}/export", &["get"]),
        ("/api/v1/cases/{id}/attachments", &["post"]),
        ("/api/v1/cases/{id}/attachments/{sha256}", &["get"]),
        ("/api/v1/log", &["get"]),
        ("/api/v1/log/consistency", &["get"]),
        ("/api/v1/checkpoints", &["post"]),
        ("/api/v1/checkpoints/latest", &["get"]),
        ("/api/v1/jurisdictions", &["get"]),
        ("/api/v1/bodies", &["get"]),
        ("/api/v1/categories", &["get"]),
        ("/api/v1/cases/{id}/repeats", &["get"]),
        ("/api/v1/inbox", &["get"]),
        ("/api/v1/inbox/read", &["post"]),
        ("/api/v1/engine/tick", &["post"]),
    ] {
        for m in methods {
            assert!(
                paths.get(path).and_then(|p| p.get(m)).is_some(),
                "{m} {path} undocumented"
            );
        }
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "ErrorBody",
        "NewCase",
        "Command",
        "WriteOutcome",
        "CaseView",
        "CaseBundle",
        "SignedCheckpoint",
        "InboxItem",
        "TickReport",
        "RepeatsView",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    // Every documented refusal uses the one error shape.
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            for (status, res) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &res["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(
                        schema, "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    // The internal command is not part of what clients may send.
    assert!(!doc["components"]["schemas"]["Command"]
        .to_string()
        .contains("add_attachment"));
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_proposes_a_body_that_takes_the_category_with_reasons() {
    let app = TestApp::sqlite().await;
    let id = app.register(dispute()).await;
    let res = app
        .client
        .get(app.url(&format!("/api/v1/cases/{id}/routing")))
        .send()
        .await
        .unwrap();
    let (status, proposal) = json_of(res).await;
    assert_eq!(status, StatusCode::OK, "{proposal}");
    // The village has no body of its own: the town's committee, one level up.
    assert_eq!(proposal["body"]["code"], TOWN_MEDIATION);
    assert_eq!(proposal["level"], "town");
    let reasons = proposal["reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r.as_str().unwrap().contains("上移一级")),
        "{proposal}"
    );

    let mut traffic = dispute();
    traffic["category"] = json!("traffic.compensation");
    let id = app.register(traffic).await;
    let res = app
        .client
        .get(app.url(&format!("/api/v1/cases/{id}/routing")))
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "no_body", None).await;

    // A threat in the text and many people: red, with its reasons, raised to
    // the county at registration and routed to a county body.
    let mut threat = labour_dispute(TOWN_B);
    threat["description"] = json!("工地拖欠三十名工人工资，有人扬言要跳楼讨说法。");
    threat["people_involved"] = json!(30);
    let id = app.register(threat).await;
    let (_, case) = json_of(app.get_case(&id).await).await;
    assert_eq!(case["risk"], "red", "{case}");
    assert_eq!(case["level"], "county");
    let factors: Vec<&str> = case["risk_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["factor"].as_str().unwrap())
        .collect();
    assert!(factors.contains(&"threat"), "{factors:?}");
    assert!(factors.contains(&"collective"), "{factors:?}");
    assert!(case["risk_reasons"].to_string().contains("扬言"), "{case}");
    let res = app
        .client
        .get(app.url(&format!("/api/v1/cases/{id}/routing")))
        .send()
        .await
        .unwrap();
    let (status, proposal) = json_of(res).await;
    assert_eq!(status, StatusCode::OK, "{proposal}");
    assert_eq!(proposal["body"]["code"], LABOUR_MEDIATION);
    assert_eq!(proposal["level"], "county");
    assert!(!proposal["reasons"].as_array().unwrap().is_empty());
    app.finish().await;
}

/// An overdue case reaches its handler's inbox through an on-demand tick;
/// a later case from the same phone number points back at it.
async fn inbox_tick_and_repeats(app: &TestApp) {
    let first = app.register(dispute()).await;
    app.act_ok(&first, json!({"type": "accept"})).await;
    let due = app.now().plus(days(10));
    app.act_ok(
        &first,
        json!({"type": "assign", "body": TOWN_MEDIATION, "due_at": due.to_rfc3339()}),
    )
    .await;
    app.act_as(&first, "handler-wang", json!({"type": "sign_for"}))
        .await;
    let me = "recipient=staff:handler-wang";
    let (status, inbox) = json_of(app.inbox(&format!("{me}&unread=true")).await).await;
    assert_eq!(status, StatusCode::OK, "{inbox}");
    assert_eq!(inbox["items"], json!([]), "nothing is due yet");
    assert_eq!(inbox["unread"], json!({"total": 0, "by_kind": {}}));

    app.advance(days(11));
    let report = app.tick().await;
    assert_eq!(report["signal_changes"], 1, "{report}");
    assert_eq!(report["escalations"], 0, "{report}");
    let again = app.tick().await;
    assert_eq!(again["events"], 0, "a second tick records nothing: {again}");

    let (status, inbox) = json_of(app.inbox(&format!("{me}&unread=true")).await).await;
    assert_eq!(status, StatusCode::OK, "{inbox}");
    assert_eq!(inbox["recipient"], "staff:handler-wang");
    let items = inbox["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{inbox}");
    assert_eq!(items[0]["kind"], "overdue");
    assert_eq!(items[0]["case_id"], first.as_str());
    assert_eq!(items[0]["read_at"], Value::Null);
    assert!(
        items[0]["text"].as_str().unwrap().contains("超期"),
        "{inbox}"
    );
    assert_eq!(
        inbox["unread"],
        json!({"total": 1, "by_kind": {"overdue": 1}})
    );
    assert_eq!(inbox["next_before"], Value::Null);
    let item = items[0]["id"].as_i64().unwrap();
    // A full page points at the next one.
    let (_, page) = json_of(app.inbox(&format!("{me}&limit=1")).await).await;
    assert_eq!(page["next_before"], item);
    let (_, next) = json_of(app.inbox(&format!("{me}&limit=1&before={item}")).await).await;
    assert_eq!(next["items"], json!([]));
    let (_, other_kind) = json_of(app.inbox(&format!("{me}&kind=due_soon")).await).await;
    assert_eq!(other_kind["items"], json!([]));
    // The body handling it heard of the assignment and of the overdue.
    let (_, body_inbox) =
        json_of(app.inbox(&format!("recipient=body:{TOWN_MEDIATION}")).await).await;
    let kinds: HashSet<&str> = body_inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, HashSet::from(["new_assignment", "overdue"]));

    let (status, marked) = json_of(
        app.mark_read(&json!({"recipient": "staff:handler-wang", "ids": []}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{marked}");
    assert_eq!(marked, json!({"marked": 0}));
    let (status, marked) = json_of(
        app.mark_read(&json!({"recipient": "staff:handler-wang", "ids": [item]}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{marked}");
    assert_eq!(marked, json!({"marked": 1}));
    let (_, inbox) = json_of(app.inbox(&format!("{me}&unread=true")).await).await;
    assert_eq!(inbox["items"], json!([]));
    assert_eq!(inbox["unread"]["total"], 0);
    let (_, all) = json_of(app.inbox(me).await).await;
    assert_eq!(all["items"][0]["read_at"], app.now().to_rfc3339());
    let (_, marked) = json_of(
        app.mark_read(&json!({"recipient": "staff:handler-wang"}))
            .await,
    )
    .await;
    assert_eq!(marked, json!({"marked": 0}), "already read");

    for query in [
        "recipient=nobody",
        "unread=true",
        "recipient=staff:",
        "recipient=body:",
    ] {
        expect_error(
            app.inbox(query).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
            Some("recipient"),
        )
        .await;
    }
    for (query, field) in [
        ("unread=yes", "unread"),
        ("kind=late", "kind"),
        ("before=x", "before"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("page=2", "page"),
    ] {
        expect_error(
            app.inbox(&format!("{me}&{query}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
            Some(field),
        )
        .await;
    }
    expect_error(
        app.mark_read(&json!({"recipient": "nobody", "ids": [item]}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
        Some("recipient"),
    )
    .await;
    expect_error(
        app.mark_read(&json!({"ids": [item]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
        Some("recipient"),
    )
    .await;

    // Another applicant, another place, the same phone.
    let second = app
        .register(json!({
            "kind": "dispute",
            "channel": "phone",
            "category": "neighbourhood.noise",
            "title": "邻居夜间噪音",
            "description": "楼上夜间施工。",
            "jurisdiction": TOWN_B,
            "parties": [{"role": "applicant", "kind": "person", "name": "张三丰",
                         "phone": "13812345678"}]
        }))
        .await;
    let (status, repeats) = json_of(app.repeats(&second).await).await;
    assert_eq!(status, StatusCode::OK, "{repeats}");
    assert_eq!(repeats["case_id"], second.as_str());
    let (_, first_case) = json_of(app.get_case(&first).await).await;
    assert_eq!(
        repeats["possible_repeats"],
        json!([{
            "case_id": first,
            "number": first_case["number"],
            "title": "宅基地边界纠纷",
            "state": "in_progress",
            "reasons": [{"reason": "same_phone", "zh": "同一申请人（电话相同）"}],
        }])
    );
    assert_eq!(repeats["repeats"], json!([]));
    let (_, none) = json_of(app.repeats(&first).await).await;
    assert_eq!(none["possible_repeats"], json!([]));
    for unknown in ["0190a0b0-0000-7000-8000-000000000000", "not-a-case"] {
        expect_error(
            app.repeats(unknown).await,
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_tick_and_repeats_on_sqlite() {
    let app = TestApp::sqlite().await;
    inbox_tick_and_repeats(&app).await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_tick_and_repeats_on_postgres() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    inbox_tick_and_repeats(&app).await;
    app.finish().await;
}
