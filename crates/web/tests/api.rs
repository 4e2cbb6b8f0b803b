//! The HTTP API end to end: a real server on 127.0.0.1:0, a real store
//! (SQLite in a temporary directory, or PostgreSQL in a schema of its own),
//! a manual clock that tests advance instead of sleeping.

mod common;

use common::*;
use jiefen_ledger::bundle::{verify_bundle, CaseBundle, VerifyOptions};
use jiefen_ledger::hash::{sha256, Hash};
use std::collections::HashSet;

/// The whole life of a case, run on every backend.
async fn acceptance_story(app: &TestApp) {
    let res = app.create_case(&json!({"case": dispute()}), None).await;
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
        assert_eq!(e["actor"], "super-01");
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
        json!({"case": case})
    };

    // Malformed JSON, and bodies that are JSON but not what is asked.
    expect_error(
        app.create_raw(r#"{"case": "#, Some("application/json"))
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
    let valid = serde_json::to_vec(&json!({"case": dispute()})).unwrap();
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
    let body = json!({"case": dispute()});
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
        app.list_cases("sort=alphabetical").await,
        unprocessable,
        "invalid_query",
        Some("sort"),
    )
    .await;
    // A priority page's cursor cannot resume a list in another order.
    expect_error(
        app.list_cases("sort=newest&cursor=r.0190a0c4-55f1-7000-8000-000000000000")
            .await,
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
    let body = json!({"case": dispute()});
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
                .json(&json!({"case": case}))
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
            "super-01",
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
        .upload(&id, "a.png", None, "super-01", PNG.to_vec())
        .await;
    expect_error(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        None,
    )
    .await;
    let res = app
        .upload(&id, "a.jpg", Some("image/jpeg"), "super-01", PNG.to_vec())
        .await;
    expect_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "content_mismatch",
        None,
    )
    .await;
    let res = app
        .upload(&id, "a/b.png", Some("image/png"), "super-01", PNG.to_vec())
        .await;
    expect_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_query",
        Some("filename"),
    )
    .await;
    let res = app
        .upload(&id, "a.png", Some("image/png"), "super-01", Vec::new())
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
            "super-01",
            PNG.to_vec(),
        )
        .await;
    expect_error(res, StatusCode::NOT_FOUND, "not_found", None).await;
    let mut big = PNG.to_vec();
    big.resize(20 * 1024 * 1024 + 1, 0);
    let res = app
        .upload(&id, "big.png", Some("image/png"), "super-01", big)
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
            "super-01",
            pdf,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let res = app
        .upload(
            &id,
            "现场照片.png",
            Some("image/png; charset=binary"),
            "super-01",
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
    assert_eq!(last["actor"], "super-01");
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
    // The route table and the document agree: every route is documented
    // under its operation id, with the security it really has.
    let table = jiefen_web::routes::routes();
    for route in &table {
        let method = route.method.as_str().to_ascii_lowercase();
        let op = paths
            .get(route.path)
            .and_then(|p| p.get(&method))
            .unwrap_or_else(|| panic!("{method} {} undocumented", route.path));
        assert_eq!(
            op["operationId"], route.operation,
            "{method} {}",
            route.path
        );
        let public = route.access == jiefen_web::routes::Access::Public;
        assert_eq!(
            op["security"] == json!([{}]),
            public,
            "{method} {}",
            route.path
        );
        if !public {
            assert!(
                op["responses"].get("401").is_some(),
                "{method} {}",
                route.path
            );
        }
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        table.len(),
        "every documented operation is routed"
    );
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

/// A dispute assigned to the town's mediation committee, due in ten days.
async fn due_in_ten_days(app: &TestApp) -> String {
    let id = app.register(dispute()).await;
    app.act_ok(&id, json!({"type": "accept"})).await;
    let due = app.now().plus(days(10));
    app.act_ok(
        &id,
        json!({"type": "assign", "body": TOWN_MEDIATION, "due_at": due.to_rfc3339()}),
    )
    .await;
    id
}

/// An overdue case reaches its handler's inbox through an on-demand tick;
/// a later case from the same phone number points back at it.
async fn inbox_tick_and_repeats(app: &TestApp) {
    let first = due_in_ten_days(app).await;
    app.act_as(&first, "handler-wang", json!({"type": "sign_for"}))
        .await;
    let me = "recipient=staff:handler-wang";
    let (status, inbox) = json_of(app.inbox(&format!("{me}&unread=true")).await).await;
    assert_eq!(status, StatusCode::OK, "{inbox}");
    assert_eq!(inbox["items"], json!([]), "nothing is due yet");
    assert_eq!(
        inbox["unread"],
        json!({"total": 0, "by_kind": {}, "more": false})
    );

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
        json!({"total": 1, "by_kind": {"overdue": 1}, "more": false})
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
            "in_scope": true,
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

/// Signs in; returns the response's Set-Cookie header and body.
async fn sign_in_raw(
    app: &TestApp,
    user: &str,
    password: &str,
    extra: &[(&str, &str)],
) -> Response {
    let mut req = app
        .anonymous
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": user, "password": password}));
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn cookie_of(res: &Response) -> (String, String) {
    let set = res
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_owned();
    (set.split(';').next().unwrap().to_owned(), set)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_cookies_csrf_timeouts_and_throttling() {
    let app = TestApp::sqlite().await;
    let id = app.register(dispute()).await;
    let password = "a long enough password";
    app.accounts
        .add_user(
            Username::parse("li.clerk").unwrap(),
            "李登记".into(),
            Post::new(Role::IntakeClerk, code(TOWN_A), None).unwrap(),
            Some(jiefen_store::accounts::Password::new(password)),
            "test",
            &app.ledger.refs(),
        )
        .await
        .unwrap();

    // The cookie: HttpOnly, SameSite=Strict, Secure only behind TLS.
    let res = sign_in_raw(&app, "li.clerk", password, &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (cookie, set) = cookie_of(&res);
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "{set}");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let (_, me) = json_of(res).await;
    assert_eq!(me["username"], "li.clerk");
    assert_eq!(me["role"], "intake_clerk");
    assert_eq!(me["role_label"], "登记员");
    assert!(me["functions"]
        .as_array()
        .unwrap()
        .contains(&json!("register_case")));
    assert!(!me["functions"]
        .as_array()
        .unwrap()
        .contains(&json!("export_case")));
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    let tls = sign_in_raw(
        &app,
        "li.clerk",
        password,
        &[("X-Forwarded-Proto", "https")],
    )
    .await;
    assert!(cookie_of(&tls).1.contains("; Secure"));

    let with_cookie = |method: reqwest::Method, path: &str, cookie: &str| {
        app.anonymous
            .request(method, app.url(path))
            .header("Cookie", cookie.to_owned())
    };
    let (status, who) = json_of(
        with_cookie(reqwest::Method::GET, "/api/v1/session", &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{who}");
    assert_eq!(who["csrf_token"], csrf.as_str());

    // Writes with the cookie carry the session's CSRF token.
    let note = json!({"action": {"type": "note", "text": "当面核实"}});
    let path = format!("/api/v1/cases/{id}/actions");
    for bad in [None, Some("wrong")] {
        let mut req = with_cookie(reqwest::Method::POST, &path, &cookie).json(&note);
        if let Some(b) = bad {
            req = req.header("X-CSRF-Token", b);
        }
        expect_error(
            req.send().await.unwrap(),
            StatusCode::FORBIDDEN,
            "csrf_failed",
            Some("X-CSRF-Token"),
        )
        .await;
    }
    let res = with_cookie(reqwest::Method::POST, &path, &cookie)
        .header("X-CSRF-Token", &csrf)
        .json(&note)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, history) = json_of(app.history(&id).await).await;
    assert_eq!(
        history["events"].as_array().unwrap().last().unwrap()["actor"],
        "li.clerk"
    );

    // Signing in again from the same browser rotates the session.
    let res = sign_in_raw(&app, "li.clerk", password, &[("Cookie", &cookie)]).await;
    let (fresh, _) = cookie_of(&res);
    assert_ne!(fresh, cookie);
    let old = with_cookie(reqwest::Method::GET, "/api/v1/session", &cookie)
        .send()
        .await
        .unwrap();
    expect_error(old, StatusCode::UNAUTHORIZED, "unauthenticated", None).await;

    // Idle limit: 29 minutes keep it alive, 31 end it.
    app.advance(time::Duration::minutes(29));
    let res = with_cookie(reqwest::Method::GET, "/api/v1/session", &fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    app.advance(time::Duration::minutes(31));
    let res = with_cookie(reqwest::Method::GET, "/api/v1/session", &fresh)
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::UNAUTHORIZED, "unauthenticated", None).await;

    // Absolute limit: busy all day, still over after 12 hours.
    let res = sign_in_raw(&app, "li.clerk", password, &[]).await;
    let (busy, _) = cookie_of(&res);
    for _ in 0..24 {
        app.advance(time::Duration::minutes(29));
        let res = with_cookie(reqwest::Method::GET, "/api/v1/session", &busy)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    app.advance(time::Duration::minutes(29));
    let res = with_cookie(reqwest::Method::GET, "/api/v1/session", &busy)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "12 h 5 min after sign-in"
    );

    // Sign out ends the session and clears the cookie.
    let res = sign_in_raw(&app, "li.clerk", password, &[]).await;
    let (last, _) = cookie_of(&res);
    let (_, me) = json_of(res).await;
    let res = with_cookie(reqwest::Method::DELETE, "/api/v1/session", &last)
        .header("X-CSRF-Token", me["csrf_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(cookie_of(&res).1.contains("Max-Age=0"));
    let res = with_cookie(reqwest::Method::GET, "/api/v1/session", &last)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // A wrong password and an unknown user get the same answer; after 5
    // failures the account is throttled even with the right password.
    let (s1, wrong) = json_of(sign_in_raw(&app, "li.clerk", "not the password", &[]).await).await;
    let (s2, unknown) =
        json_of(sign_in_raw(&app, "nobody.here", "not the password", &[]).await).await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["error"]["code"], "invalid_credentials");
    for _ in 0..4 {
        sign_in_raw(&app, "li.clerk", "not the password", &[]).await;
    }
    let res = sign_in_raw(&app, "li.clerk", password, &[]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    expect_error(
        res,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        None,
    )
    .await;
    app.advance(time::Duration::minutes(15));
    assert_eq!(
        sign_in_raw(&app, "li.clerk", password, &[]).await.status(),
        StatusCode::OK
    );

    // A disabled account's token stops working at once.
    let admin = app.as_user("admin");
    let res = admin
        .post(app.url("/api/v1/users/grid-07/disable"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .as_user("grid-07")
        .get(app.url("/api/v1/session"))
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::UNAUTHORIZED, "unauthenticated", None).await;

    // The auditor sees all of it, and no password anywhere.
    let res = app
        .as_user("auditor")
        .get(app.url("/api/v1/audit?limit=200"))
        .send()
        .await
        .unwrap();
    let (status, log) = json_of(res).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let actions: HashSet<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "sign_in",
        "sign_in_failed",
        "sign_in_throttled",
        "sign_out",
        "user_changed",
        "token_used",
    ] {
        assert!(actions.contains(a), "{a} missing from {actions:?}");
    }
    let text = log.to_string();
    assert!(!text.contains(password) && !text.contains("not the password"));
    // Past the largest sequence number a database holds (found by
    // schemathesis: it wrapped and listed the log from its start).
    let res = app
        .as_user("auditor")
        .get(app.url("/api/v1/audit?after=9223372036854775808"))
        .send()
        .await
        .unwrap();
    expect_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_query",
        Some("after"),
    )
    .await;
    app.finish().await;
}

async fn public_post(app: &TestApp, path: &str, body: &Value) -> Response {
    app.anonymous
        .post(app.url(path))
        .json(body)
        .send()
        .await
        .unwrap()
}

fn track(code: &str, last4: &str) -> Value {
    json!({"receipt_code": code, "phone_last4": last4})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizens_submit_follow_rate_and_cannot_guess() {
    let app = TestApp::sqlite().await;
    let submission = |phone: &str| {
        json!({"category": "neighbourhood.noise", "title": "楼上夜间噪音",
               "description": "楼上住户每晚十一点后仍在装修，影响休息。",
               "jurisdiction": VILLAGE, "name": "王小二", "phone": phone,
               "address": "尧渡镇建设路8号"})
    };
    // Refused before anything is written, each in the one shape.
    let mut bad = submission("13800001111");
    bad.as_object_mut().unwrap().remove("phone");
    expect_error(
        public_post(&app, "/api/v1/public/cases", &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
        Some("phone"),
    )
    .await;
    let mut long = submission("13800001111");
    long["title"] = json!("长".repeat(101));
    expect_error(
        public_post(&app, "/api/v1/public/cases", &long).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
        Some("title"),
    )
    .await;
    let mut huge = submission("13800001111");
    huge["description"] = json!("很".repeat(6000));
    expect_error(
        public_post(&app, "/api/v1/public/cases", &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        None,
    )
    .await;

    let res = public_post(&app, "/api/v1/public/cases", &submission("13800001111")).await;
    let (status, receipt) = json_of(res).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let code = receipt["receipt_code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 10);
    assert_eq!(receipt["view"]["state"], "registered");
    assert_eq!(receipt["view"]["kind"], "dispute", "noise is a dispute");
    let res = public_post(&app, "/api/v1/public/cases", &submission("13900002222")).await;
    let (_, other) = json_of(res).await;
    let other_code = other["receipt_code"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        assert_eq!(
            public_post(&app, "/api/v1/public/cases", &submission("13800001111"))
                .await
                .status(),
            StatusCode::CREATED
        );
    }
    // Five an hour from one address.
    let res = public_post(&app, "/api/v1/public/cases", &submission("13800001111")).await;
    assert!(res.headers().contains_key("retry-after"));
    expect_error(
        res,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        None,
    )
    .await;

    // Staff handle it; a note of theirs is never shown to the citizen.
    let (_, list) = json_of(app.list_cases("limit=200").await).await;
    let id = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["receipt_code"] == code.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.act_ok(&id, json!({"type": "accept"})).await;
    app.act_ok(
        &id,
        json!({"type": "note", "text": "内部备注：申请人情绪激动"}),
    )
    .await;
    app.act_ok(&id, json!({"type": "assign", "body": TOWN_MEDIATION, "due_at": app.now().plus(days(10)).to_rfc3339()})).await;

    let (status, view) =
        json_of(public_post(&app, "/api/v1/public/track", &track(&code, "1111")).await).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["state"], "assigned");
    assert_eq!(view["state_label"], "已交办");
    assert_eq!(view["handled_by"], "尧渡镇人民调解委员会");
    assert!(view["deadline"]["due_at"].is_string(), "{view}");
    let text = view.to_string();
    for hidden in [
        "内部备注",
        "王小二",
        "13800001111",
        "super-01",
        "receipt_code",
        "parties",
    ] {
        assert!(
            !text.contains(hidden),
            "{hidden} shown to the citizen: {text}"
        );
    }
    // Lower-case and spaces are forgiven; nothing else is.
    let (status, _) = json_of(
        public_post(
            &app,
            "/api/v1/public/track",
            &track(&format!(" {} ", code.to_lowercase()), "1111"),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // A wrong phone, a wrong code and another's code: one answer.
    let wrong_phone =
        json_of(public_post(&app, "/api/v1/public/track", &track(&code, "9999")).await).await;
    let wrong_code =
        json_of(public_post(&app, "/api/v1/public/track", &track("ABCDEFGHJK", "1111")).await)
            .await;
    let someone_elses =
        json_of(public_post(&app, "/api/v1/public/track", &track(&other_code, "1111")).await).await;
    assert_eq!(wrong_phone.0, StatusCode::NOT_FOUND);
    assert_eq!(wrong_phone, wrong_code);
    assert_eq!(wrong_phone, someone_elses);
    // That was 3 failures from this address, 1 on the other code. Four
    // more on it lock that code for 15 minutes, even with its right digits.
    for _ in 0..4 {
        public_post(&app, "/api/v1/public/track", &track(&other_code, "0000")).await;
    }
    let res = public_post(&app, "/api/v1/public/track", &track(&other_code, "2222")).await;
    expect_error(
        res,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        None,
    )
    .await;
    // Guessing codes: the address is stopped at 10 failures in 15 minutes.
    app.advance(time::Duration::minutes(16));
    assert_eq!(
        public_post(&app, "/api/v1/public/track", &track(&other_code, "2222"))
            .await
            .status(),
        StatusCode::OK
    );
    let mut guesses = 0;
    let locked = loop {
        let guess: String = (0..10)
            .map(|i| char::from(b"23456789ABCDEFGHJKMNPQRSTUVWXYZ"[(guesses * 7 + i * 3) % 31]))
            .collect();
        let res = public_post(&app, "/api/v1/public/track", &track(&guess, "1111")).await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            break guesses;
        }
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        guesses += 1;
        assert!(guesses <= 10, "no throttle after {guesses} guesses");
    };
    assert_eq!(locked, 10);
    let res = public_post(&app, "/api/v1/public/track", &track(&code, "1111")).await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the address is locked out"
    );
    app.advance(time::Duration::minutes(16));

    // Answered, rated once, then a review asked for.
    app.act_ok(&id, json!({"type": "sign_for"})).await;
    app.act_ok(&id, json!({"type": "conclude", "outcome": "answered", "summary": "已协调楼上住户晚十点后停工。"})).await;
    let (_, view) =
        json_of(public_post(&app, "/api/v1/public/track", &track(&code, "1111")).await).await;
    assert_eq!(view["answer"]["summary"], "已协调楼上住户晚十点后停工。");
    assert_eq!(view["may_rate"], true);
    let mut rating = track(&code, "1111");
    rating["satisfaction"] = json!("dissatisfied");
    rating["comment"] = json!("仍有噪音");
    let (status, view) =
        json_of(public_post(&app, "/api/v1/public/track/rate", &rating).await).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["satisfaction"], "dissatisfied");
    assert_eq!(view["state"], "followed_up");
    expect_error(
        public_post(&app, "/api/v1/public/track/rate", &rating).await,
        StatusCode::CONFLICT,
        "illegal_transition",
        None,
    )
    .await;
    let mut wrong = rating.clone();
    wrong["phone_last4"] = json!("0000");
    expect_error(
        public_post(&app, "/api/v1/public/track/rate", &wrong).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    let mut ask = track(&code, "1111");
    ask["reason"] = json!("噪音问题没有解决");
    let (status, view) =
        json_of(public_post(&app, "/api/v1/public/track/review", &ask).await).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["review"], "review");
    let (_, history) = json_of(app.history(&id).await).await;
    let last = history["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["actor"], "citizen");

    // Every failure is in the security log, without the codes tried.
    let res = app
        .as_user("auditor")
        .get(app.url("/api/v1/audit?action=citizen_lookup_failed&limit=200"))
        .send()
        .await
        .unwrap();
    let (_, log) = json_of(res).await;
    assert!(log["items"].as_array().unwrap().len() >= 15, "{log}");
    assert!(!log.to_string().contains(&other_code));
    app.finish().await;
}

/// Every byte of the SQLite database as it is on disk (file and WAL).
fn database_bytes(app: &TestApp) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["jiefen.db", "jiefen.db-wal"] {
        if let Ok(b) = std::fs::read(app._dir.path().join(name)) {
            all.extend(b);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_is_sealed_at_rest_and_erasure_destroys_it() {
    let app = TestApp::sqlite().await;
    let id = app.register(dispute()).await;
    let secrets = [VALID_ID, "13812345678", "尧渡镇建设路1号"];
    let disk = database_bytes(&app);
    for s in secrets {
        assert!(!contains(&disk, s), "{s} is in the database file in clear");
    }
    // With the master key it round-trips.
    let full = |app: &TestApp| {
        app.client
            .get(app.url(&format!(
                "/api/v1/cases/{id}/parties?full=true&reason=核实身份"
            )))
            .send()
    };
    let (status, parties) = json_of(full(&app).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{parties}");
    let applicant = &parties["parties"][0]["personal"];
    let values: Vec<&str> = applicant
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["value"].as_str().unwrap())
        .collect();
    assert!(
        values.contains(&VALID_ID) && values.contains(&"13812345678"),
        "{values:?}"
    );
    assert!(values.contains(&"张三"));
    // A reason that could not be recorded is refused even where none is
    // needed, as the schema says (schemathesis found it ignored).
    let long = "理".repeat(201);
    for path in [
        format!("/api/v1/cases/{id}/parties?reason={long}"),
        format!("/api/v1/cases/{id}/export?reason=x"),
    ] {
        let (status, body) = json_of(app.client.get(app.url(&path)).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert_eq!(body["error"]["field"], "reason");
    }

    // A ledger over the same store with another master key is refused; one
    // without a key cannot read personal data.
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&app._dir.path().join("jiefen.db"))
            .await
            .unwrap(),
    );
    let other =
        jiefen_store::vault::Vault::new(&jiefen_store::vault::MasterKey::from_bytes([4; 32]));
    let refused = Ledger::open(
        store.clone(),
        Taxonomy::default_taxonomy(),
        app.clock.clone(),
        DeploymentKey::from_seed([7; 32]),
        "jiefen-test".into(),
        Some(other),
    )
    .await;
    assert!(matches!(
        refused,
        Err(jiefen_store::StoreError::WrongMasterKey)
    ));
    let locked = Ledger::open(
        store,
        Taxonomy::default_taxonomy(),
        app.clock.clone(),
        DeploymentKey::from_seed([7; 32]),
        "jiefen-test".into(),
        None,
    )
    .await
    .unwrap();
    let case_id = jiefen_domain::case::CaseId::parse(&id).unwrap();
    assert!(matches!(
        locked.personal_values(case_id).await,
        Err(jiefen_store::StoreError::Locked)
    ));

    // Erasure: a supervisor, with a reason.
    let erase = |no: u32, reason: &str| {
        app.client
            .post(app.url(&format!("/api/v1/cases/{id}/parties/{no}/erase")))
            .json(&json!({"reason": reason}))
            .send()
    };
    expect_error(
        erase(1, "").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
        Some("reason"),
    )
    .await;
    let (status, erased) = json_of(
        erase(1, "当事人依《个人信息保护法》第四十七条申请删除")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    assert_eq!(
        erased["erased_fields"],
        json!(["address", "id_number", "name", "phone"])
    );
    expect_error(
        erase(1, "再次删除").await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    expect_error(
        erase(9, "不存在的当事人").await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;

    // Nothing of the party can be read, through the API or from the file.
    let (_, parties) = json_of(full(&app).await.unwrap()).await;
    for f in parties["parties"][0]["personal"].as_array().unwrap() {
        assert_eq!(f["masked"], Value::Null, "{parties}");
        assert!(f.get("value").is_none(), "{parties}");
    }
    assert_eq!(
        parties["parties"][1]["personal"][0]["value"], "李四",
        "the other party is untouched"
    );
    let disk = database_bytes(&app);
    for s in secrets {
        assert!(!contains(&disk, s), "{s} is in the database file in clear");
    }
    // The history still verifies, with only the other party's data to disclose.
    let (status, bundle) = json_of(app.export(&id, true).await).await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    let bundle: CaseBundle = serde_json::from_value(bundle).unwrap();
    assert_eq!(bundle.personal_data.len(), 1);
    let pinned = VerifyOptions {
        pinned_key: Some(DeploymentKey::from_seed([7; 32]).public()),
        earlier_checkpoint: None,
    };
    verify_bundle(&bundle, &pinned).unwrap();
    // The erasure is in the security log: who, which case, which fields, why.
    let res = app
        .as_user("auditor")
        .get(app.url("/api/v1/audit?action=personal_data_erased"))
        .send()
        .await
        .unwrap();
    let (_, log) = json_of(res).await;
    let entry = &log["items"][0];
    assert_eq!(entry["actor"], "staff:super-01");
    assert_eq!(entry["case_id"], id.as_str());
    assert_eq!(
        entry["fields"],
        json!(["address", "id_number", "name", "phone"])
    );
    assert!(entry["reason"].as_str().unwrap().contains("第四十七条"));
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::sqlite().await;
    let id = app.register(dispute()).await;
    let responses = [
        app.healthz().await,
        app.get_case(&id).await,
        app.anonymous
            .get(app.url("/api/v1/cases"))
            .send()
            .await
            .unwrap(),
        app.anonymous.get(app.url("/nowhere")).send().await.unwrap(),
        app.create_raw("{", Some("application/json")).await,
    ];
    for res in responses {
        let h = res.headers();
        let status = res.status();
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{status}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{status}");
        assert_eq!(h["x-frame-options"], "DENY", "{status}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{status}");
        assert_eq!(h["cache-control"], "no-store", "{status}");
        // No stack traces or internals: every error body is the one shape.
        if !status.is_success() {
            let (_, body) = json_of(res).await;
            assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
        }
    }
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_rate_limited_per_account_and_per_address() {
    use jiefen_store::throttle::{Rate, RateLimit};
    let app = TestApp::sqlite_with(|state| {
        state.account_requests = Arc::new(RateLimit::new(Rate {
            per_minute: 60,
            burst: 5,
        }));
        state.address_requests = Arc::new(RateLimit::new(Rate {
            per_minute: 60,
            burst: 3,
        }));
        state.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let whoami = |user: &str| app.as_user(user).get(app.url("/api/v1/session")).send();
    for _ in 0..5 {
        assert_eq!(whoami("clerk-01").await.unwrap().status(), StatusCode::OK);
    }
    let refused = whoami("clerk-01").await.unwrap();
    assert_eq!(refused.headers()["retry-after"], "1");
    expect_error(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited", None).await;
    assert_eq!(
        whoami("super-01").await.unwrap().status(),
        StatusCode::OK,
        "accounts are counted apart"
    );
    app.clock.advance(time::Duration::seconds(1));
    assert_eq!(whoami("clerk-01").await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        whoami("clerk-01").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // Without credentials, per address: the trusted proxy's
    // X-Forwarded-For names it, from the right, past trusted hops.
    let from = |forwarded: &str| {
        app.anonymous
            .get(app.url("/healthz"))
            .header("X-Forwarded-For", forwarded.to_owned())
            .send()
    };
    for _ in 0..3 {
        assert_eq!(from("203.0.113.5").await.unwrap().status(), StatusCode::OK);
    }
    expect_error(
        from("203.0.113.5").await.unwrap(),
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        None,
    )
    .await;
    // A client writing its own X-Forwarded-For entry gains nothing.
    assert_eq!(
        from("198.51.100.1, 203.0.113.5").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        from("203.0.113.5, 127.0.0.1").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a trusted hop is skipped"
    );
    assert_eq!(from("203.0.113.6").await.unwrap().status(), StatusCode::OK);
    // Bad credentials count against the address too.
    let bad_token = || {
        app.anonymous
            .get(app.url("/api/v1/cases"))
            .header("X-Forwarded-For", "203.0.113.6")
            .bearer_auth("jf_0011223344556677_nothing")
            .send()
    };
    assert_eq!(
        bad_token().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        bad_token().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        bad_token().await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // The security log names the forwarded client of a failed sign-in.
    let res = sign_in_raw(
        &app,
        "clerk-01",
        "not the password",
        &[("X-Forwarded-For", "203.0.113.7")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (_, log) = json_of(
        app.as_user("auditor")
            .get(app.url("/api/v1/audit?action=sign_in_failed"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(log["items"][0]["address"], "203.0.113.7", "{log}");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_peer_cannot_choose_its_address() {
    use jiefen_store::throttle::{Rate, RateLimit};
    let app = TestApp::sqlite_with(|state| {
        state.address_requests = Arc::new(RateLimit::new(Rate {
            per_minute: 60,
            burst: 2,
        }));
    })
    .await;
    for (i, status) in [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::TOO_MANY_REQUESTS,
    ]
    .into_iter()
    .enumerate()
    {
        let res = app
            .anonymous
            .get(app.url("/healthz"))
            .header("X-Forwarded-For", format!("203.0.113.{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "request {i}");
    }
    app.finish().await;
}

/// The test clock moves time forward and runs the engine at the new time;
/// a server without one (production) has no such endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_clock_moves_time_and_runs_the_engine() {
    let app = TestApp::sqlite().await;
    let first = due_in_ten_days(&app).await;
    let move_by = |hours: Value| {
        app.as_user("admin")
            .post(app.url("/api/v1/engine/clock"))
            .json(&json!({ "advance_hours": hours }))
            .send()
    };
    for bad in [json!(0), json!(366 * 24 + 1), json!(-1)] {
        let (status, body) = json_of(move_by(bad.clone()).await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let before = app.now();
    let (status, moved) = json_of(move_by(json!(11 * 24)).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(app.now(), before.plus(days(11)));
    assert_eq!(moved["now"], json!(app.now().to_rfc3339()));
    assert_eq!(moved["tick"]["signal_changes"], 1, "{moved}");
    let (_, case) = json_of(app.get_case(&first).await).await;
    assert_eq!(case["deadline_signal"], "overdue", "{case}");
    app.finish().await;

    let production = TestApp::sqlite_with(|state| state.test_clock = None).await;
    let res = production
        .as_user("admin")
        .post(production.url("/api/v1/engine/clock"))
        .json(&json!({"advance_hours": 1}))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    production.finish().await;
}

/// Every figure of the dashboard lists exactly its cases: each cell's
/// query with the figure's filter gives as many cases as the figure says,
/// for a county supervisor (tallies), a town clerk (narrowed to their
/// town) and a handler (their body's cases, counted directly).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_figure_lists_exactly_its_cases() {
    let app = TestApp::sqlite().await;
    let answered = due_in_ten_days(&app).await;
    app.act_as(&answered, "handler-wang", json!({"type": "sign_for"}))
        .await;
    app.act_as(
        &answered,
        "handler-wang",
        json!({"type": "conclude", "outcome": "answered", "summary": "已答复"}),
    )
    .await;
    app.act_ok(
        &answered,
        json!({"type": "follow_up", "satisfaction": "dissatisfied"}),
    )
    .await;
    due_in_ten_days(&app).await;
    app.register(request_case(TOWN_B)).await;
    let late = app.register(labour_dispute(TOWN_A)).await;
    app.act_ok(&late, json!({"type": "accept"})).await;
    let due = app.now().plus(days(1));
    app.act_ok(
        &late,
        json!({"type": "assign", "body": LABOUR_MEDIATION, "due_at": due.to_rfc3339()}),
    )
    .await;
    app.advance(days(3));
    // Overdue is what the engine recorded: nothing before its tick.
    let (_, untold) = json_of(
        app.as_user("super-01")
            .get(app.url("/api/v1/figures"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(untold["totals"]["counts"]["overdue"], 0, "{untold}");
    app.tick().await;

    let measures = [
        ("registered", ""),
        ("resolved", "&resolved=true"),
        ("on_time", "&on_time=true"),
        ("satisfied", "&satisfied=true"),
        ("repeats", "&state=merged"),
        ("overdue", "&overdue=true"),
    ];
    let figures_of = |user: &'static str, query: &'static str| {
        let app = &app;
        async move {
            let res = app
                .as_user(user)
                .get(app.url(&format!("/api/v1/figures{query}")))
                .send()
                .await
                .unwrap();
            json_of(res).await
        }
    };
    let check = |user: &'static str, figures: Value| {
        let app = &app;
        async move {
            let mut cells = vec![figures["totals"].clone()];
            for part in ["by_area", "by_category", "by_channel", "by_body", "trend"] {
                cells.extend(figures[part].as_array().unwrap().iter().cloned());
            }
            let mut checked = 0;
            for cell in &cells {
                for (measure, param) in measures {
                    let want = cell["counts"][measure].as_i64().unwrap();
                    let query = format!("{}{param}&limit=200", cell["query"].as_str().unwrap());
                    let res = app
                        .as_user(user)
                        .get(app.url(&format!("/api/v1/cases?{query}")))
                        .send()
                        .await
                        .unwrap();
                    let (status, list) = json_of(res).await;
                    assert_eq!(status, StatusCode::OK, "{query}: {list}");
                    let got = list["items"].as_array().unwrap().len() as i64;
                    assert_eq!(
                        got, want,
                        "{user}: {measure} of {} ({query})",
                        cell["value"]
                    );
                    checked += 1;
                }
            }
            checked
        }
    };

    let (status, county) = figures_of("super-01", "").await;
    assert_eq!(status, StatusCode::OK, "{county}");
    assert_eq!(county["jurisdiction"], "341721");
    let totals = &county["totals"]["counts"];
    assert_eq!(totals["registered"], 4, "{county}");
    assert_eq!(totals["resolved"], 1);
    assert_eq!(totals["on_time"], 1);
    assert_eq!(totals["rated"], 1);
    assert_eq!(totals["satisfied"], 0);
    assert_eq!(totals["overdue"], 1);
    let areas: Vec<&str> = county["by_area"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert_eq!(areas, [TOWN_A, TOWN_B]);
    assert!(check("super-01", county).await >= 6 * 10);

    // A town's clerk asking for the county gets their town.
    let (_, town) = figures_of("clerk-01", "?jurisdiction=341721").await;
    assert_eq!(town["jurisdiction"], TOWN_A, "{town}");
    assert_eq!(town["totals"]["counts"]["registered"], 3);
    check("clerk-01", town).await;
    // And nothing of the town beside theirs.
    let (_, beside) = figures_of("clerk-01", &*format!("?jurisdiction={TOWN_B}").leak()).await;
    assert_eq!(beside["totals"]["counts"]["registered"], 0, "{beside}");
    assert_eq!(beside["by_area"], json!([]));
    // A handler's figures are their body's cases.
    let (_, body) = figures_of("handler-wang", "").await;
    assert_eq!(body["totals"]["counts"]["registered"], 2, "{body}");
    check("handler-wang", body).await;

    for bad in [
        "?from=2026-02-30",
        "?from=2026-04-01&to=2026-03-01",
        "?from=2010-01-01&to=2026-03-01",
        "?jurisdiction=999999",
        "?period=month",
    ] {
        let (status, body) = figures_of("super-01", bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_file_is_checked_by_the_servers_own_parser() {
    let app = TestApp::sqlite().await;
    let check = |policy: String| {
        let app = &app;
        async move {
            app.as_user("admin")
                .post(app.url("/api/v1/policy/check"))
                .json(&json!({ "policy": policy }))
                .send()
                .await
                .unwrap()
        }
    };
    let shipped = jiefen_domain::policy::DEFAULT_POLICY;
    let (status, body) = json_of(check(shipped.to_owned()).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let version = jiefen_domain::policy::Policy::default_policy(
        &jiefen_domain::taxonomy::Taxonomy::default_taxonomy(),
    )
    .version;
    assert_eq!(body["version"], version.as_str());
    assert!(body["deadlines"].as_u64().unwrap() >= 4, "{body}");

    // A mistake on a known line names that line.
    let mut lines: Vec<String> = shipped.lines().map(str::to_owned).collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("days = "))
        .expect("the shipped policy has a days line");
    lines[at] = "days = 400".into();
    let res = check(lines.join("\n")).await;
    let (status, body) = json_of(res).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_policy");
    assert_eq!(body["error"]["field"], "policy");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("line {}", at + 1)), "{message}");
    // Not TOML at all, and a category the deployment does not have.
    let (status, body) = json_of(check("version = [".into()).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_policy");
    let unknown = shipped.replacen("category = \"safety\"", "category = \"no_such\"", 1);
    assert_ne!(unknown, shipped);
    let (status, body) = json_of(check(unknown).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Checking changed nothing in use.
    let refs = app.ledger.refs();
    assert_eq!(refs.rules.policy.version, version);
    app.finish().await;
}
