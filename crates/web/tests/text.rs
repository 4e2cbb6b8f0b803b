//! Reading what people wrote, through the API: full-text search inside the
//! caller's scope.

mod common;
use common::*;

fn complaint(jurisdiction: &str, title: &str, description: &str) -> Value {
    json!({
        "kind": "request",
        "channel": "phone",
        "category": "environment.noise",
        "title": title,
        "description": description,
        "jurisdiction": jurisdiction,
        "address": "尧渡镇建设路88号"
    })
}

async fn search(app: &TestApp, user: &str, query: &str) -> (StatusCode, Value) {
    let res = app
        .as_user(user)
        .get(app.url("/api/v1/search"))
        .query(&[("q", query)])
        .send()
        .await
        .unwrap();
    json_of(res).await
}

async fn search_raw(app: &TestApp, user: &str, query: &str) -> (StatusCode, Value) {
    let res = app
        .as_user(user)
        .get(app.url(&format!("/api/v1/search?{query}")))
        .send()
        .await
        .unwrap();
    json_of(res).await
}

fn found_ids(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["case"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_what_was_written_inside_the_callers_scope() {
    let app = TestApp::sqlite().await;
    let plant = app
        .register(complaint(
            TOWN_A,
            "投诉搅拌站噪音扰民",
            "小区旁边的混凝土搅拌站夜间施工，噪音很大，老人孩子无法休息。",
        ))
        .await;
    let bar = app
        .register(complaint(TOWN_A, "酒吧噪音", "楼下酒吧深夜音响声音很大。"))
        .await;
    let dust = app
        .register(complaint(TOWN_A, "搅拌站粉尘", "搅拌站运输车粉尘大。"))
        .await;
    let elsewhere = app
        .register(complaint(TOWN_B, "搅拌站噪音", "东流镇的搅拌站噪音扰民。"))
        .await;

    // The county supervisor sees both towns; the best match first, with a
    // snippet highlighting the words.
    let (status, v) = search(&app, "super-01", "噪音 搅拌站").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["total"], 2, "{v}");
    let ids = found_ids(&v);
    assert!(ids.contains(&plant) && ids.contains(&elsewhere), "{v}");
    let snippet = &v["items"][0]["snippet"];
    let text: Vec<char> = snippet["text"].as_str().unwrap().chars().collect();
    let marked: Vec<String> = snippet["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let (a, b) = (
                r[0].as_u64().unwrap() as usize,
                r[1].as_u64().unwrap() as usize,
            );
            text[a..b].iter().collect()
        })
        .collect();
    assert!(marked.iter().any(|m| m == "噪音"), "{snippet}");

    // The town's clerk does not see the other town's case, nor count it.
    let (_, v) = search(&app, "clerk-01", "噪音 搅拌站").await;
    assert_eq!(
        (v["total"].as_u64(), found_ids(&v)),
        (Some(1), vec![plant.clone()]),
        "{v}"
    );

    // The language and the list's filters together.
    let (_, v) = search(&app, "clerk-01", "搅拌站 OR 酒吧").await;
    assert_eq!(v["total"], 3, "{v}");
    let (_, v) = search(&app, "clerk-01", "搅拌站 -粉尘").await;
    assert_eq!(found_ids(&v), vec![plant.clone()]);
    let (_, v) = search(&app, "clerk-01", "address:建设路 title:酒吧").await;
    assert_eq!(found_ids(&v), vec![bar.clone()]);
    let (_, v) = search_raw(
        &app,
        "super-01",
        &format!("q=%E6%90%85%E6%8B%8C%E7%AB%99&jurisdiction={TOWN_B}"),
    )
    .await;
    assert_eq!(found_ids(&v), vec![elsewhere.clone()], "{v}");

    // What is written later is found at once (the index catches up before
    // answering): a note on the dust case.
    app.act_ok(
        &dust,
        json!({"type": "note", "text": "已约谈搅拌站负责人整改洒水降尘"}),
    )
    .await;
    let (_, v) = search(&app, "clerk-01", "notes:洒水").await;
    assert_eq!(found_ids(&v), vec![dust.clone()], "{v}");
    app.act_ok(&bar, json!({"type": "accept"})).await;
    let (_, v) = search_raw(&app, "clerk-01", "q=%E5%99%AA%E9%9F%B3&state=accepted").await;
    assert_eq!(found_ids(&v), vec![bar.clone()], "{v}");

    // Pages.
    let (_, v) = search_raw(&app, "super-01", "q=%E6%90%85%E6%8B%8C%E7%AB%99&limit=2").await;
    assert_eq!(
        (
            v["total"].as_u64(),
            found_ids(&v).len(),
            v["next_offset"].as_u64()
        ),
        (Some(3), 2, Some(2)),
        "{v}"
    );
    let (_, v) = search_raw(
        &app,
        "super-01",
        "q=%E6%90%85%E6%8B%8C%E7%AB%99&limit=2&offset=2",
    )
    .await;
    assert_eq!(
        (found_ids(&v).len(), v["next_offset"].as_u64()),
        (1, None),
        "{v}"
    );

    // Mistakes are explained.
    for (query, code, field) in [
        ("q=%28%E5%99%AA%E9%9F%B3", "invalid_search", "q"),
        ("q=who%3A%E5%BC%A0%E4%B8%89", "invalid_search", "q"),
        ("limit=5", "invalid_query", "q"),
        ("q=a&signal=overdue", "unsupported_filter", "signal"),
        ("q=a&body=-", "unsupported_filter", "body"),
        ("q=a&offset=5000", "invalid_query", "offset"),
        ("q=a&colour=red", "invalid_query", "colour"),
    ] {
        let (status, v) = search_raw(&app, "clerk-01", query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {v}");
        assert_eq!(
            (v["error"]["code"].as_str(), v["error"]["field"].as_str()),
            (Some(code), Some(field)),
            "{query}: {v}"
        );
    }
    app.finish().await;
}

async fn preview(app: &TestApp, user: &str, draft: Value) -> Value {
    let res = app
        .as_user(user)
        .post(app.url("/api/v1/intake/preview"))
        .json(&draft)
        .send()
        .await
        .unwrap();
    let (status, v) = json_of(res).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_intake_suggests_categories_and_finds_repeats_with_reasons() {
    let app = TestApp::sqlite().await;
    // Day one, no model: the lexicon.
    let v = preview(
        &app,
        "clerk-01",
        json!({"kind": "request", "title": "工地夜间施工噪音扰民", "description": "小区旁边工地每天晚上施工到凌晨，噪音太大，无法入睡。"}),
    )
    .await;
    assert_eq!(v["suggestions"]["source"], "lexicon", "{v}");
    let first = v["categories"][0]["category"].as_str().unwrap();
    assert!(first.ends_with(".noise"), "{v}");
    assert!(v["categories"].as_array().unwrap().len() <= 3);
    // Only categories the kind allows: neighbourhood.noise is for disputes.
    assert!(
        v["categories"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["category"] != "neighbourhood.noise"),
        "{v}"
    );

    // The clerk chooses another category; the suggestions are recorded
    // with the registration, so the correction is on record.
    let mut case = complaint(
        TOWN_A,
        "投诉搅拌站噪音扰民",
        "丽景小区旁边的混凝土搅拌站夜间施工，噪音很大，老人孩子无法休息，请尽快处理。",
    );
    case["category"] = json!("environment.pollution");
    case["suggestions"] = v["suggestions"].clone();
    let plant = app.register(case).await;
    let (_, stored) = json_of(app.get_case(&plant).await).await;
    assert_eq!(stored["suggestions"], v["suggestions"], "{stored}");
    assert_ne!(
        stored["suggestions"]["suggested"][0]["category"],
        stored["category"]
    );
    let other_town = app
        .register(complaint(
            TOWN_B,
            "搅拌站噪音扰民",
            "丽景小区旁边的混凝土搅拌站夜间施工，噪音很大，老人孩子无法休息。",
        ))
        .await;
    let unrelated = app
        .register(complaint(TOWN_A, "小区停车难", "希望增设停车位。"))
        .await;

    // The same matter in other words finds the earlier case, with the
    // phrases they share; the other town's case is outside the clerk's scope.
    let v = preview(
        &app,
        "clerk-01",
        json!({"kind": "request", "title": "搅拌站噪音太大", "description": "我们是丽景小区的居民，旁边的混凝土搅拌站夜间施工，噪音很大，请管一管。"}),
    )
    .await;
    let repeats = v["repeats"].as_array().unwrap();
    let ids: Vec<&str> = repeats
        .iter()
        .map(|r| r["case_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![plant.as_str()], "{v}");
    assert_eq!(repeats[0]["reasons"], json!(["similar_text"]));
    let phrases: Vec<&str> = repeats[0]["shared_phrases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        phrases.iter().any(|p| p.contains("混凝土搅拌站夜间施工")),
        "{v}"
    );
    let v = preview(
        &app,
        "super-01",
        json!({"kind": "request", "title": "搅拌站噪音太大", "description": "我们是丽景小区的居民，旁边的混凝土搅拌站夜间施工，噪音很大，请管一管。"}),
    )
    .await;
    let ids: Vec<&str> = v["repeats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["case_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&plant.as_str()) && ids.contains(&other_town.as_str()),
        "{v}"
    );
    assert!(!ids.contains(&unrelated.as_str()), "{v}");

    // The same person (by phone), whatever the text: identity first.
    let mut with_party = labour_dispute(TOWN_A);
    with_party["parties"] =
        json!([{"role": "applicant", "kind": "person", "name": "王五", "phone": "13900001111"}]);
    let wages = app.register(with_party.clone()).await;
    with_party["title"] = json!("邻居漏水");
    with_party["description"] = json!("楼上漏水多次，协商不成。");
    with_party["category"] = json!("neighbourhood.boundary");
    let v = preview(
        &app,
        "clerk-01",
        json!({"kind": "dispute", "case": with_party}),
    )
    .await;
    let first = &v["repeats"][0];
    assert_eq!(
        (first["case_id"].as_str(), &first["reasons"]),
        (Some(wages.as_str()), &json!(["same_phone"])),
        "{v}"
    );

    // Bad input.
    let res = app
        .as_user("clerk-01")
        .post(app.url("/api/v1/intake/preview"))
        .json(&json!({"kind": "complaint", "title": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let mut bad = complaint(TOWN_A, "噪音", "噪音");
    bad["suggestions"] = json!({"source": "lexicon", "suggested": [{"category": "environment.noise", "permille": 1500}]});
    let (status, v) = json_of(app.create_case(&json!({"case": bad}), None).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "case.suggestions", "{v}");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_model_is_taken_up_without_a_restart() {
    use jiefen_text::classify::{Document, Model, ModelFile, Params, MODEL_FORMAT};
    let models = tempfile::tempdir().unwrap();
    let path = models.path().join("model.json");
    let model_path = path.clone();
    let app = TestApp::sqlite_with(move |state| {
        state.reading = Arc::new(
            jiefen_web::intake::Reading::with_model_file(
                jiefen_web::shared_segmenter(),
                model_path,
                &Taxonomy::default_taxonomy(),
            )
            .unwrap(),
        );
    })
    .await;
    let draft = json!({"kind": "request", "title": "公交车改线", "description": "希望恢复原来的公交线路，站点太远。"});
    let reload = || async {
        let res = app
            .as_user("admin")
            .post(app.url("/api/v1/model/reload"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        json_of(res).await
    };
    assert_eq!(reload().await.1["source"], "lexicon");

    // A model trained elsewhere (here: on a few examples) is written to the
    // file and reloaded: its categories are suggested.
    let examples: Vec<(Document, String)> = [
        ("公交线路", "公交车改线站点太远", "dept_transport"),
        ("公交站点", "希望增加公交班次", "dept_transport"),
        ("出租车", "出租车拒载绕路", "dept_transport"),
        ("学校", "孩子入学难学位不够", "dept_education"),
        ("学区", "学区划分不合理", "dept_education"),
        ("学校收费", "学校乱收费", "dept_education"),
    ]
    .into_iter()
    .map(|(t, d, c)| (Document::new(t, d), c.to_owned()))
    .collect();
    let seg = jiefen_text::Segmenter::new();
    let file = ModelFile {
        format: MODEL_FORMAT.into(),
        trained_at: "2026-11-24T00:00:00Z".into(),
        examples: examples.len(),
        model: Model::train(&seg, &examples, Params::default()),
    };
    std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
    let (status, v) = reload().await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v["source"].as_str().unwrap().starts_with("model:"), "{v}");
    let v = preview(&app, "clerk-01", draft.clone()).await;
    assert!(
        v["suggestions"]["source"]
            .as_str()
            .unwrap()
            .starts_with("model:"),
        "{v}"
    );
    assert_eq!(v["categories"][0]["category"], "dept_transport", "{v}");
    // A dispute: the model knows no category for it, the lexicon answers.
    let v = preview(&app, "clerk-01", json!({"kind": "dispute", "title": "拖欠工资", "description": "包工头拖欠农民工工资三个月。"})).await;
    assert_eq!(v["suggestions"]["source"], "lexicon", "{v}");

    // A file that cannot be used is refused, and the model in service stays.
    std::fs::write(&path, b"{\"format\": \"something else\"}").unwrap();
    let (status, v) = reload().await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unusable_model")),
        "{v}"
    );
    let v = preview(&app, "clerk-01", draft).await;
    assert!(
        v["suggestions"]["source"]
            .as_str()
            .unwrap()
            .starts_with("model:"),
        "{v}"
    );
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hotspots_gather_similar_cases_at_one_place() {
    let app = TestApp::sqlite().await;
    let mut plant = Vec::new();
    for (i, (title, description)) in [
        (
            "搅拌站噪音扰民",
            "丽景小区旁边的混凝土搅拌站夜间施工，噪音扰民。",
        ),
        (
            "投诉搅拌站噪音",
            "混凝土搅拌站噪音太大，丽景小区居民无法休息。",
        ),
        (
            "搅拌站夜间噪音",
            "丽景小区附近搅拌站夜里还在作业，噪音严重。",
        ),
        (
            "再次投诉搅拌站",
            "搅拌站噪音问题一直没有解决，丽景小区居民很困扰。",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        app.advance(time::Duration::hours(i as i64 + 1));
        plant.push(app.register(complaint(VILLAGE, title, description)).await);
    }
    app.register(complaint(TOWN_A, "小区停车难", "希望增设停车位。"))
        .await;
    app.register(complaint(TOWN_B, "搅拌站噪音", "东流镇搅拌站噪音扰民。"))
        .await;
    app.advance(time::Duration::hours(1));

    let get = |user: &'static str, query: &'static str| {
        let app = &app;
        async move {
            let res = app
                .as_user(user)
                .get(app.url(&format!("/api/v1/hotspots?{query}")))
                .send()
                .await
                .unwrap();
            json_of(res).await
        }
    };
    let (status, v) = get("clerk-01", "").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let spots = v["hotspots"].as_array().unwrap();
    assert_eq!(spots.len(), 1, "{v}");
    let spot = &spots[0];
    assert_eq!(
        (spot["place"].as_str(), spot["count"].as_u64()),
        (Some(TOWN_A), Some(4)),
        "{v}"
    );
    let mut ids: Vec<String> = spot["case_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    plant.sort();
    assert_eq!(ids, plant, "exactly the cases behind the count");
    let terms: Vec<&str> = spot["top_terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["term"].as_str().unwrap())
        .collect();
    assert!(terms.contains(&"搅拌站"), "{v}");
    assert_eq!(
        spot["trend"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .sum::<u64>(),
        4
    );
    assert_eq!(spot["previous_count"], 0);

    // By village, the same; a window before the cases, nothing; the
    // county supervisor also sees town B's single case, which is no hotspot.
    let (_, v) = get("clerk-01", "level=village").await;
    assert_eq!(v["hotspots"][0]["place"], VILLAGE, "{v}");
    let (_, v) = get("super-01", "to=2020-01-01T00:00:00Z").await;
    assert_eq!(v["hotspots"], json!([]), "{v}");
    let (_, v) = get("super-01", "level=county").await;
    assert_eq!(v["hotspots"][0]["count"], 5, "{v}");
    let (status, v) = get("clerk-01", "level=planet").await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("level")),
        "{v}"
    );

    // The same question is answered again from the first answer while it
    // is fresh; ten minutes on, it is worked out anew with the new case.
    let (_, first) = get("clerk-01", "").await;
    app.register(complaint(
        VILLAGE,
        "搅拌站噪音又来了",
        "丽景小区旁搅拌站今晚又在施工，噪音扰民。",
    ))
    .await;
    app.advance(time::Duration::minutes(9));
    let (_, again) = get("clerk-01", "").await;
    assert_eq!(again["computed_at"], first["computed_at"], "{again}");
    assert_eq!(again["hotspots"][0]["count"], 4, "{again}");
    app.advance(time::Duration::minutes(2));
    let (_, anew) = get("clerk-01", "").await;
    assert_ne!(anew["computed_at"], first["computed_at"], "{anew}");
    assert_eq!(anew["hotspots"][0]["count"], 5, "{anew}");
    app.finish().await;
}
