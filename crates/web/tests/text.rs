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
