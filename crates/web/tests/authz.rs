//! The authorisation matrix: every endpoint of the route table × every
//! role × (own scope, other jurisdiction, no credentials, expired session,
//! revoked token). Who may call what is written out below from the design
//! (DOMAIN.md's roles), apart from the code's permission table; the routes
//! come from the code's route table, so an endpoint added without a sample
//! request or a line of design here fails this test.
//!
//! Allowed cells must succeed (2xx). Refused cells must be exactly 401,
//! 403 or 404 with nothing but the error object in the body, and nothing of
//! the case they were aimed at.

mod common;

use common::*;
use jiefen_store::accounts::Password;
use jiefen_web::routes::{routes, Access, Route};

const OTHER_BODY: &str = "dongliu-tmc";
const GRID_A: &str = "341721100201-G01";
const PASSWORD: &str = "matrix-password-2026";
/// What the target case shows and nothing refused may contain.
const SECRET_TITLE: &str = "矩阵测试专用标题";
const SECRET_NAME: &str = "欧阳矩阵";
const SECRET_PHONE: &str = "13912345678";

/// Who may call each operation, by the design. Variants name a second
/// sample of the same route (`case_parties_full`: the full values).
fn design(role: Role, variant: &str) -> bool {
    use Role::*;
    let case_readers: &[Role] = &[
        IntakeClerk,
        Handler,
        Supervisor,
        Leader,
        GridWorker,
        Assessor,
    ];
    let admin: &[Role] = &[Administrator];
    let roles: &[Role] = match variant {
        "whoami" | "sign_out" | "log_head" | "log_consistency" | "latest_checkpoint" => Role::ALL,
        "create_case" | "intake_preview" => &[IntakeClerk, Supervisor, GridWorker],
        "list_cases"
        | "search_cases"
        | "hotspots"
        | "figures"
        | "get_case"
        | "case_history"
        | "case_parties"
        | "propose_routing"
        | "case_repeats"
        | "download_attachment"
        | "inbox"
        | "mark_inbox_read" => case_readers,
        "case_parties_full" => &[IntakeClerk, Handler, Supervisor],
        "act_on_case" => &[IntakeClerk, Handler, Supervisor, Leader, GridWorker],
        "upload_attachment" => &[IntakeClerk, Handler, Supervisor, GridWorker],
        "export_case" | "export_case_personal" | "erase_party" => &[Supervisor],
        "inbox_body" => &[Handler],
        "engine_tick" | "move_test_clock" | "reload_model" | "sign_checkpoint" | "list_users"
        | "add_user" | "disable_user" | "enable_user" | "reset_password" | "list_tokens"
        | "create_token" | "revoke_token" | "check_policy" => admin,
        "audit_log" | "verify_audit" => &[Auditor],
        other => panic!("the design does not say who may call {other}: add it to `design`"),
    };
    roles.contains(&role)
}

/// Where each role's "own" account sits so the target case is in its
/// scope, and its "other" account in the neighbouring town.
fn posts(role: Role) -> (Post, Post) {
    let body = |b: &str| Some(BodyCode::parse(b).unwrap());
    let (own_at, other_at, own_body, other_body) = match role {
        Role::Handler => (TOWN_A, TOWN_B, body(TOWN_MEDIATION), body(OTHER_BODY)),
        Role::GridWorker => (GRID_A, TOWN_B, None, None),
        Role::Administrator | Role::Auditor => (TOWN_A, TOWN_B, None, None),
        _ => (TOWN_A, TOWN_B, None, None),
    };
    (
        Post::new(role, code(own_at), own_body).unwrap(),
        Post::new(role, code(other_at), other_body).unwrap(),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Situation {
    Own,
    Other,
    NoCredentials,
    ExpiredSession,
    RevokedToken,
}

enum Expect {
    /// Anything but an authorisation refusal or a server error: a public
    /// endpoint may still refuse bad input, a wrong code or a flood.
    Public,
    Success,
    Refused(&'static [u16]),
}

#[derive(Clone)]
enum Credential {
    Token(String),
    Cookie { cookie: String, csrf: String },
    Nothing,
}

/// A request for one cell.
struct Sample {
    method: reqwest::Method,
    path: String,
    json: Option<Value>,
    png: bool,
}

/// What the target case is and what exists around it.
struct Target {
    id: String,
    receipt_code: String,
    number: String,
    sha: String,
    log_size: u64,
}

struct Matrix<'a> {
    app: &'a TestApp,
    target: Target,
    serial: std::sync::atomic::AtomicUsize,
}

impl Matrix<'_> {
    fn next(&self) -> usize {
        self.serial
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// A fresh account nobody uses, for the account-changing operations.
    async fn victim(&self) -> String {
        let name = format!("victim-{}", self.next());
        let post = Post::new(Role::Assessor, code(TOWN_A), None).unwrap();
        self.app
            .accounts
            .add_user(
                Username::parse(&name).unwrap(),
                name.clone(),
                post,
                None,
                "test",
                &self.app.ledger.refs(),
            )
            .await
            .unwrap();
        name
    }

    /// The sample requests of one route: one per variant.
    async fn samples(&self, route: &Route, me: &str) -> Vec<(&'static str, Sample)> {
        use reqwest::Method as M;
        let x = &self.target.id;
        let get = |path: String| Sample {
            method: M::GET,
            path,
            json: None,
            png: false,
        };
        let with = |method: M, path: String, json: Value| Sample {
            method,
            path,
            json: Some(json),
            png: false,
        };
        let one = |s: Sample| vec![(route.operation, s)];
        match route.operation {
            "healthz" => one(get("/healthz".into())),
            "openapi" => one(get("/openapi.json".into())),
            "sign_in" => one(with(
                M::POST,
                "/api/v1/session".into(),
                json!({"username": "probe", "password": PASSWORD}),
            )),
            "whoami" => one(get("/api/v1/session".into())),
            "sign_out" => one(Sample {
                method: M::DELETE,
                path: "/api/v1/session".into(),
                json: None,
                png: false,
            }),
            "create_case" => one(with(
                M::POST,
                "/api/v1/cases".into(),
                json!({"case": request_case(GRID_A)}),
            )),
            "list_cases" => one(get("/api/v1/cases?limit=200".into())),
            // Text like the target's: from another place, the preview must
            // not offer it as a repeat.
            "intake_preview" => one(with(
                M::POST,
                "/api/v1/intake/preview".into(),
                json!({"kind": "request", "title": SECRET_TITLE, "description": SECRET_TITLE}),
            )),
            // Over the target's registration time: from another place, no
            // hotspot may count or name it.
            "hotspots" => one(get(
                "/api/v1/hotspots?min_size=2&from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z"
                    .into(),
            )),
            // Over the target's registration day: from another place, no
            // figure may count it.
            "figures" => one(get("/api/v1/figures?from=2020-01-01&to=2029-12-31".into())),
            "reload_model" => one(with(M::POST, "/api/v1/model/reload".into(), json!({}))),
            // The target's own title: from another place, search must not
            // find it, count it or show it.
            "search_cases" => one(get(format!("/api/v1/search?q={SECRET_TITLE}&limit=200"))),
            "get_case" => one(get(format!("/api/v1/cases/{x}"))),
            "act_on_case" => one(with(
                M::POST,
                format!("/api/v1/cases/{x}/actions"),
                json!({"action": {"type": "note", "text": "矩阵测试备注"}}),
            )),
            "case_history" => one(get(format!("/api/v1/cases/{x}/history"))),
            "case_parties" => vec![
                ("case_parties", get(format!("/api/v1/cases/{x}/parties"))),
                (
                    "case_parties_full",
                    get(format!(
                        "/api/v1/cases/{x}/parties?full=true&reason=核实身份"
                    )),
                ),
            ],
            "propose_routing" => one(get(format!("/api/v1/cases/{x}/routing"))),
            "case_repeats" => one(get(format!("/api/v1/cases/{x}/repeats"))),
            "export_case" => vec![
                ("export_case", get(format!("/api/v1/cases/{x}/export"))),
                (
                    "export_case_personal",
                    get(format!(
                        "/api/v1/cases/{x}/export?personal=true&reason=移送法院"
                    )),
                ),
            ],
            // The respondent: the applicant's data stays for the other cells.
            "erase_party" => one(with(
                M::POST,
                format!("/api/v1/cases/{x}/parties/2/erase"),
                json!({"reason": "当事人依法申请删除"}),
            )),
            "upload_attachment" => one(Sample {
                method: M::POST,
                path: format!("/api/v1/cases/{x}/attachments?filename=m.png"),
                json: None,
                png: true,
            }),
            "download_attachment" => one(get(format!(
                "/api/v1/cases/{x}/attachments/{}",
                self.target.sha
            ))),
            "inbox" => vec![
                ("inbox", get(format!("/api/v1/inbox?recipient=staff:{me}"))),
                (
                    "inbox_body",
                    get(format!("/api/v1/inbox?recipient=body:{TOWN_MEDIATION}")),
                ),
            ],
            "mark_inbox_read" => one(with(
                M::POST,
                "/api/v1/inbox/read".into(),
                json!({"recipient": format!("staff:{me}")}),
            )),
            "engine_tick" => one(Sample {
                method: M::POST,
                path: "/api/v1/engine/tick".into(),
                json: None,
                png: false,
            }),
            "move_test_clock" => one(with(
                M::POST,
                "/api/v1/engine/clock".into(),
                json!({"advance_hours": 1}),
            )),
            "log_head" => one(get("/api/v1/log".into())),
            "log_consistency" => one(get(format!(
                "/api/v1/log/consistency?old_size=1&new_size={}",
                self.target.log_size
            ))),
            "sign_checkpoint" => one(Sample {
                method: M::POST,
                path: "/api/v1/checkpoints".into(),
                json: None,
                png: false,
            }),
            "latest_checkpoint" => one(get("/api/v1/checkpoints/latest".into())),
            "list_jurisdictions" => one(get("/api/v1/jurisdictions".into())),
            "list_bodies" => one(get("/api/v1/bodies".into())),
            "list_categories" => one(get("/api/v1/categories".into())),
            "check_policy" => one(with(
                M::POST,
                "/api/v1/policy/check".into(),
                json!({"policy": jiefen_domain::policy::DEFAULT_POLICY}),
            )),
            "list_users" => one(get("/api/v1/users".into())),
            "add_user" => one(with(
                M::POST,
                "/api/v1/users".into(),
                json!({"username": format!("added-{}", self.next()), "role": "assessor",
                       "jurisdiction": TOWN_A, "no_password": true}),
            )),
            "disable_user" => one(with(
                M::POST,
                format!("/api/v1/users/{}/disable", self.victim().await),
                json!({}),
            )),
            "enable_user" => one(with(
                M::POST,
                format!("/api/v1/users/{}/enable", self.victim().await),
                json!({}),
            )),
            "reset_password" => one(with(
                M::POST,
                format!("/api/v1/users/{}/password", self.victim().await),
                json!({}),
            )),
            "list_tokens" => one(get("/api/v1/tokens".into())),
            "create_token" => one(with(
                M::POST,
                "/api/v1/tokens".into(),
                json!({"username": "probe", "name": "matrix"}),
            )),
            "revoke_token" => {
                let victim = Username::parse(&self.victim().await).unwrap();
                let (token, _) = self
                    .app
                    .accounts
                    .create_token(&victim, "to revoke".into(), "test")
                    .await
                    .unwrap();
                one(Sample {
                    method: M::DELETE,
                    path: format!("/api/v1/tokens/{}", token.id),
                    json: None,
                    png: false,
                })
            }
            "submit_case" => one(with(
                M::POST,
                "/api/v1/public/cases".into(),
                json!({"category": "property_mgmt.parking", "title": "停车难",
                       "description": "小区车位不足。", "jurisdiction": GRID_A,
                       "name": "群众甲", "phone": "13700001234"}),
            )),
            "track_case" | "rate_case" | "ask_review" => {
                let path = match route.operation {
                    "track_case" => "/api/v1/public/track",
                    "rate_case" => "/api/v1/public/track/rate",
                    _ => "/api/v1/public/track/review",
                };
                let mut body =
                    json!({"receipt_code": self.target.receipt_code, "phone_last4": "5678"});
                if route.operation == "rate_case" {
                    body["satisfaction"] = json!("satisfied");
                }
                if route.operation == "ask_review" {
                    body["reason"] = json!("不服");
                }
                one(with(M::POST, path.into(), body))
            }
            "audit_log" => one(get("/api/v1/audit?limit=200".into())),
            "verify_audit" => one(get("/api/v1/audit/verify".into())),
            other => panic!(
                "no sample request for operation {other} ({} {}): add one to `samples`",
                route.method, route.path
            ),
        }
    }

    async fn send(&self, sample: &Sample, credential: &Credential) -> (StatusCode, String) {
        let mut req = self
            .app
            .anonymous
            .request(sample.method.clone(), self.app.url(&sample.path));
        match credential {
            Credential::Token(t) => req = req.bearer_auth(t),
            Credential::Cookie { cookie, csrf } => {
                req = req.header("Cookie", cookie).header("X-CSRF-Token", csrf);
            }
            Credential::Nothing => {}
        }
        if let Some(j) = &sample.json {
            req = req.json(j);
        }
        if sample.png {
            req = req.header("Content-Type", "image/png").body(PNG.to_vec());
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, res.text().await.unwrap())
    }

    /// What a cell should answer: success (2xx) or one of the refusals.
    fn expected(route: &Route, variant: &str, role: Role, situation: Situation) -> Expect {
        if route.access == Access::Public {
            return Expect::Public;
        }
        let allowed = design(role, variant);
        let on_a_case = route.path.starts_with("/api/v1/cases/{id}");
        match situation {
            Situation::NoCredentials | Situation::ExpiredSession | Situation::RevokedToken => {
                Expect::Refused(&[401])
            }
            // A case outside one's scope does not exist for one, whatever
            // one might have been allowed to do with it.
            Situation::Other if on_a_case && !allowed => Expect::Refused(&[403, 404]),
            _ if !allowed => Expect::Refused(&[403]),
            Situation::Own => Expect::Success,
            Situation::Other if on_a_case => Expect::Refused(&[404]),
            // Registering at a place outside one's subtree; another body's inbox.
            Situation::Other if matches!(variant, "create_case" | "inbox_body") => {
                Expect::Refused(&[403])
            }
            Situation::Other => Expect::Success,
        }
    }

    fn leaks(&self, body: &str) -> Option<String> {
        [SECRET_TITLE, SECRET_NAME, SECRET_PHONE, &self.target.number]
            .into_iter()
            .find(|s| body.contains(*s))
            .map(str::to_owned)
    }
}

struct Account {
    role: Role,
    own: (String, String),
    other: (String, String),
    revoked: String,
}

async fn account(app: &TestApp, name: &str, post: Post, password: bool) -> (String, String) {
    let username = Username::parse(name).unwrap();
    app.accounts
        .add_user(
            username.clone(),
            name.into(),
            post,
            password.then(|| Password::new(PASSWORD)),
            "test",
            &app.ledger.refs(),
        )
        .await
        .unwrap();
    let (_, token) = app
        .accounts
        .create_token(&username, "matrix".into(), "test")
        .await
        .unwrap();
    (name.to_owned(), token)
}

async fn sign_in(app: &TestApp, user: &str) -> Credential {
    let res = app
        .anonymous
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": user, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (_, body) = json_of(res).await;
    Credential::Cookie {
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_every_role_every_situation() {
    // Thousands of requests at one instant of the test clock, from one
    // address: rate limits (tested in api.rs) would answer 429 instead of
    // what is checked here.
    let app = TestApp::sqlite_with(|state| {
        let plenty = jiefen_store::throttle::Rate {
            per_minute: 1_000_000,
            burst: 1_000_000,
        };
        state.account_requests = Arc::new(jiefen_store::throttle::RateLimit::new(plenty));
        state.address_requests = Arc::new(jiefen_store::throttle::RateLimit::new(plenty));
    })
    .await;
    let extra_town_b = vec![];
    let other_body = Body {
        code: BodyCode::parse(OTHER_BODY).unwrap(),
        name: "东流镇人民调解委员会".into(),
        kind: BodyKind::PeoplesMediation,
        jurisdiction: code(TOWN_B),
        categories: vec![CategoryCode::parse("neighbourhood").unwrap()],
    };
    app.ledger
        .import_reference(extra_town_b, vec![other_body])
        .await
        .unwrap();

    // The target: registered at a grid of town A, assigned to town A's
    // mediation committee, with an attachment.
    let mut case = dispute();
    case["jurisdiction"] = json!(GRID_A);
    case["title"] = json!(SECRET_TITLE);
    case["parties"][0]["name"] = json!(SECRET_NAME);
    case["parties"][0]["phone"] = json!(SECRET_PHONE);
    let id = app.register(case).await;
    app.act_ok(&id, json!({"type": "accept"})).await;
    app.act_ok(&id, json!({"type": "assign", "body": TOWN_MEDIATION}))
        .await;
    let res = app
        .upload(&id, "m.png", Some("image/png"), "super-01", PNG.to_vec())
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, up) = json_of(res).await;
    let (_, got) = json_of(app.get_case(&id).await).await;
    let (status, _) = json_of(app.sign_checkpoint().await).await;
    assert_eq!(status, StatusCode::CREATED);
    let target = Target {
        id: id.clone(),
        receipt_code: got["receipt_code"].as_str().unwrap().to_owned(),
        number: got["number"].as_str().unwrap().to_owned(),
        sha: up["sha256"].as_str().unwrap().to_owned(),
        log_size: app.log_size().await,
    };

    account(
        &app,
        "probe",
        Post::new(Role::Assessor, code(TOWN_A), None).unwrap(),
        true,
    )
    .await;
    let mut accounts = Vec::new();
    for role in Role::ALL.iter().copied() {
        let (own, other) = posts(role);
        let own = account(&app, &format!("own.{role}"), own, true).await;
        let other = account(&app, &format!("other.{role}"), other, false).await;
        let (record, revoked) = app
            .accounts
            .create_token(&Username::parse(&own.0).unwrap(), "revoked".into(), "test")
            .await
            .unwrap();
        app.accounts.revoke_token(&record.id, "test").await.unwrap();
        accounts.push(Account {
            role,
            own,
            other,
            revoked,
        });
    }

    let matrix = Matrix {
        app: &app,
        target,
        serial: Default::default(),
    };
    let table = routes();
    let mut failures = Vec::new();
    let mut cells = 0;
    let mut check = |route: &Route,
                     variant: &str,
                     role: Role,
                     situation: Situation,
                     (status, body): (StatusCode, String),
                     failures: &mut Vec<String>| {
        cells += 1;
        let cell = format!(
            "{variant} {} {} as {role} ({situation:?})",
            route.method, route.path
        );
        match Matrix::expected(route, variant, role, situation) {
            Expect::Public => {
                if matches!(status.as_u16(), 401 | 403) || status.is_server_error() {
                    failures.push(format!(
                        "{cell}: a public endpoint answered {status}: {body}"
                    ));
                }
            }
            Expect::Success if status.is_success() => {
                if situation == Situation::Other {
                    if let Some(what) = matrix.leaks(&body) {
                        failures.push(format!("{cell}: shows {what} of a case outside scope"));
                    }
                }
            }
            Expect::Success => {
                failures.push(format!("{cell}: expected success, got {status}: {body}"))
            }
            Expect::Refused(want) if !want.contains(&status.as_u16()) => {
                failures.push(format!("{cell}: expected {want:?}, got {status}: {body}"))
            }
            Expect::Refused(_) => {
                let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let only_error = v.as_object().is_some_and(|o| o.len() == 1)
                    && v["error"].as_object().is_some_and(|e| e.len() == 3);
                if !only_error {
                    failures.push(format!("{cell}: the refusal is not just an error: {body}"));
                }
                if let Some(what) = matrix.leaks(&body) {
                    failures.push(format!("{cell}: the refusal shows {what}"));
                }
            }
        }
    };

    for route in &table {
        for a in &accounts {
            for (situation, (me, credential)) in [
                (
                    Situation::Own,
                    (a.own.0.clone(), Credential::Token(a.own.1.clone())),
                ),
                (
                    Situation::Other,
                    (a.other.0.clone(), Credential::Token(a.other.1.clone())),
                ),
                (
                    Situation::NoCredentials,
                    (a.own.0.clone(), Credential::Nothing),
                ),
                (
                    Situation::RevokedToken,
                    (a.own.0.clone(), Credential::Token(a.revoked.clone())),
                ),
            ] {
                for (variant, sample) in matrix.samples(route, &me).await {
                    let answer = matrix.send(&sample, &credential).await;
                    check(route, variant, a.role, situation, answer, &mut failures);
                }
            }
        }
    }

    // Expired sessions: every own account signs in, then 31 idle minutes pass.
    let mut sessions = Vec::new();
    for a in &accounts {
        sessions.push((a.role, a.own.0.clone(), sign_in(&app, &a.own.0).await));
    }
    app.advance(time::Duration::minutes(31));
    for route in &table {
        for (role, me, credential) in &sessions {
            for (variant, sample) in matrix.samples(route, me).await {
                let answer = matrix.send(&sample, credential).await;
                check(
                    route,
                    variant,
                    *role,
                    Situation::ExpiredSession,
                    answer,
                    &mut failures,
                );
            }
        }
    }

    assert!(
        failures.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(cells > table.len() * Role::ALL.len() * 5, "{cells} cells");
    eprintln!("{cells} cells over {} routes", table.len());

    // The security log recorded the refusals and still verifies.
    let auditor = Credential::Token(
        accounts
            .iter()
            .find(|a| a.role == Role::Auditor)
            .unwrap()
            .own
            .1
            .clone(),
    );
    let denied = Sample {
        method: reqwest::Method::GET,
        path: format!("/api/v1/audit?action=permission_denied&case={id}&limit=200"),
        json: None,
        png: false,
    };
    let (status, body) = matrix.send(&denied, &auditor).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let actors: std::collections::HashSet<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    for role in [Role::IntakeClerk, Role::Handler, Role::Supervisor] {
        assert!(
            actors.contains(format!("staff:other.{role}").as_str()),
            "the other {role}'s attempts on the case are in the security log: {actors:?}"
        );
    }
    let verify = Sample {
        method: reqwest::Method::GET,
        path: "/api/v1/audit/verify".into(),
        json: None,
        png: false,
    };
    let (_, body) = matrix.send(&verify, &auditor).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["ok"],
        true,
        "{body}"
    );
    app.finish().await;
}
