//! The index on its own: the query language end to end, scope before
//! counting, filters, snippets, and the recorded log position.

use jiefen_search::{parse, CaseDoc, CaseIndex, FilterField, Filters, Scope, TextField};
use jiefen_text::Segmenter;
use std::sync::Arc;

fn doc(id: &str, title: &str, description: &str, jpath: &str) -> CaseDoc {
    CaseDoc {
        id: id.into(),
        title: title.into(),
        description: description.into(),
        jpath: jpath.into(),
        kind: "request".into(),
        state: "registered".into(),
        category: "environment.noise".into(),
        risk: "blue".into(),
        registered_ms: 1_000,
        ..CaseDoc::default()
    }
}

fn corpus() -> CaseIndex {
    let index = CaseIndex::in_memory(Arc::new(Segmenter::new())).unwrap();
    let mut docs = vec![
        doc(
            "plant-a",
            "搅拌站噪音扰民",
            "小区旁边的混凝土搅拌站夜间施工，噪音很大，影响休息。",
            "/34/3417/341702/",
        ),
        doc(
            "plant-b",
            "投诉搅拌站粉尘",
            "搅拌站运输车辆粉尘污染严重。",
            "/34/3417/341721/",
        ),
        doc(
            "bar",
            "酒吧噪音",
            "楼下酒吧深夜噪音扰民，音响开得很大。",
            "/34/3417/341702/",
        ),
        doc(
            "wages",
            "拖欠工资",
            "工地包工头拖欠农民工工资三个月，电话13812345678。",
            "/34/3417/341702/",
        ),
    ];
    docs[1].category = "environment.pollution".into();
    docs[2].body = Some("env_bureau".into());
    docs[3].category = "labour.wage_arrears".into();
    docs[3].notes = vec!["已联系劳动监察大队".into()];
    docs[3].orgs = vec!["池州建工集团".into()];
    docs[3].registered_ms = 5_000;
    index.put(&docs).unwrap();
    index.commit(4).unwrap();
    index
}

fn ids(index: &CaseIndex, query: &str, filters: &Filters) -> (usize, Vec<String>) {
    let found = index
        .search(&parse(query).unwrap(), filters, 0, 10)
        .unwrap();
    let mut ids: Vec<String> = found.hits.into_iter().map(|h| h.id).collect();
    ids.sort();
    (found.total, ids)
}

fn everything() -> Filters {
    Filters::scoped(Scope::Everything)
}

#[test]
fn the_query_language_over_the_index() {
    let index = corpus();
    let all = everything();
    assert_eq!(ids(&index, "噪音 搅拌站", &all).1, ["plant-a"]);
    assert_eq!(ids(&index, "搅拌站", &all).1, ["plant-a", "plant-b"]);
    assert_eq!(
        ids(&index, "搅拌站 OR 酒吧", &all).1,
        ["bar", "plant-a", "plant-b"]
    );
    assert_eq!(ids(&index, "搅拌站 -粉尘", &all).1, ["plant-a"]);
    assert_eq!(ids(&index, "NOT 搅拌站", &all).1, ["bar", "wages"]);
    assert_eq!(ids(&index, "\"噪音扰民\"", &all).1, ["bar", "plant-a"]);
    assert_eq!(ids(&index, "title:粉尘", &all).1, ["plant-b"]);
    assert_eq!(
        ids(&index, "description:粉尘 title:噪音", &all).1,
        Vec::<String>::new()
    );
    assert_eq!(ids(&index, "notes:劳动监察", &all).1, ["wages"]);
    assert_eq!(ids(&index, "org:建工", &all).1, ["wages"]);
    assert_eq!(
        ids(&index, "category:environment", &all).1,
        ["bar", "plant-a", "plant-b"]
    );
    assert_eq!(
        ids(&index, "噪音 category:environment.noise", &all).1,
        ["bar", "plant-a"]
    );
    // A long word's parts find it (search mode indexed them).
    assert_eq!(ids(&index, "搅拌", &all).1, ["plant-a", "plant-b"]);
}

#[test]
fn the_best_match_comes_first() {
    let index = corpus();
    let found = index
        .search(&parse("噪音 搅拌站").unwrap(), &everything(), 0, 10)
        .unwrap();
    assert_eq!(found.hits[0].id, "plant-a");
    let found = index
        .search(&parse("噪音").unwrap(), &everything(), 0, 10)
        .unwrap();
    assert_eq!(found.total, 2);
    assert!(found.hits[0].score >= found.hits[1].score);
}

#[test]
fn scope_limits_what_is_counted() {
    let index = corpus();
    let town = Filters::scoped(Scope::Subtree("/34/3417/341721/".into()));
    assert_eq!(
        ids(&index, "搅拌站", &town),
        (1, vec!["plant-b".to_string()])
    );
    assert_eq!(ids(&index, "噪音", &town), (0, vec![]));
    let body = Filters::scoped(Scope::Body("env_bureau".into()));
    assert_eq!(ids(&index, "噪音", &body), (1, vec!["bar".to_string()]));
    assert_eq!(
        ids(&index, "噪音", &Filters::scoped(Scope::Nothing)),
        (0, vec![])
    );
    // A filter narrows a scope, never widens it.
    let mut narrowed = Filters::scoped(Scope::Subtree("/34/3417/341721/".into()));
    narrowed.within = Some("/34/3417/341702/".into());
    assert_eq!(ids(&index, "噪音", &narrowed), (0, vec![]));
}

#[test]
fn list_filters_combine_with_the_query() {
    let index = corpus();
    let mut f = everything();
    f.exact.push((FilterField::Category, "labour".into()));
    assert_eq!(ids(&index, "工资", &f).1, ["wages"]);
    assert_eq!(ids(&index, "噪音", &f).1, Vec::<String>::new());
    let mut f = everything();
    f.registered_from_ms = Some(2_000);
    assert_eq!(ids(&index, "NOT 搅拌站", &f).1, ["wages"]);
    f.registered_from_ms = None;
    f.registered_to_ms = Some(5_000);
    assert_eq!(ids(&index, "NOT 搅拌站", &f).1, ["bar"]);
}

#[test]
fn snippets_highlight_the_words_that_matched() {
    let index = corpus();
    let found = index
        .search(&parse("噪音 搅拌站").unwrap(), &everything(), 0, 10)
        .unwrap();
    let title = "搅拌站噪音扰民";
    let description = "小区旁边的混凝土搅拌站夜间施工，噪音很大，影响休息。";
    let snippet = found
        .highlighter()
        .snippet(&[
            (TextField::Title, title),
            (TextField::Description, description),
        ])
        .unwrap();
    assert_eq!(snippet.field, "description");
    let chars: Vec<char> = snippet.text.chars().collect();
    let marked: Vec<String> = snippet
        .highlights
        .iter()
        .map(|(a, b)| chars[*a..*b].iter().collect())
        .collect();
    assert!(marked.contains(&"搅拌站".to_string()), "{marked:?}");
    assert!(marked.contains(&"噪音".to_string()), "{marked:?}");
}

#[test]
fn phones_and_id_numbers_are_not_searchable() {
    let index = corpus();
    assert_eq!(ids(&index, "13812345678", &everything()).0, 0);
    assert_eq!(ids(&index, "工资", &everything()).0, 1);
}

#[test]
fn replacing_a_case_and_the_recorded_position_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let seg = Arc::new(Segmenter::new());
    {
        let index = CaseIndex::open(dir.path(), seg.clone()).unwrap();
        assert_eq!(index.position(), 0);
        index
            .put(&[doc("a", "搅拌站噪音", "噪音", "/34/")])
            .unwrap();
        index.commit(7).unwrap();
        // Changed: the old words no longer find it.
        index.put(&[doc("a", "酒吧", "音响", "/34/")]).unwrap();
        index.commit(9).unwrap();
        // Put but never committed: lost with the process, and the position
        // says so.
        index.put(&[doc("b", "粉尘", "粉尘", "/34/")]).unwrap();
    }
    let index = CaseIndex::open(dir.path(), seg).unwrap();
    assert_eq!(index.position(), 9);
    assert_eq!(index.len(), 1);
    assert_eq!(ids(&index, "搅拌站", &everything()).0, 0);
    assert_eq!(ids(&index, "酒吧", &everything()).1, ["a"]);
    assert_eq!(ids(&index, "粉尘", &everything()).0, 0);
}

#[test]
fn a_snippet_starting_inside_a_long_word_does_not_break() {
    // jieba's search mode cuts 中华人民共和国 into its parts as well; a
    // fragment that starts at one of them once made the offsets go back.
    let index = CaseIndex::in_memory(Arc::new(Segmenter::new())).unwrap();
    for spaces in [100, 109, 110, 112, 114, 120] {
        let description = format!("{}中华人民共和国", " ".repeat(spaces));
        index
            .put(&[doc(&format!("d{spaces}"), "标题", &description, "/34/")])
            .unwrap();
        index.commit(1).unwrap();
        let found = index
            .search(&parse("中华人民共和国").unwrap(), &everything(), 0, 10)
            .unwrap();
        let snippet = found
            .highlighter()
            .snippet(&[(TextField::Description, description.as_str())])
            .unwrap();
        let chars: Vec<char> = snippet.text.chars().collect();
        for (a, b) in &snippet.highlights {
            assert!(a < b && *b <= chars.len(), "{spaces}: {snippet:?}");
        }
    }
}

/// The words asked for are the draft's rarest among the indexed cases, not
/// the first it lists: words every case has would make every case a
/// candidate, and words no case has would take a place for nothing.
#[test]
fn more_like_asks_for_the_words_rare_in_this_index() {
    let seg = Arc::new(Segmenter::new());
    let index = CaseIndex::in_memory(seg.clone()).unwrap();
    let common = "小区物业管理混乱，电梯经常故障，停车收费不合理，业主多次反映没有解决";
    let mut docs: Vec<CaseDoc> = (0..40)
        .map(|i| {
            doc(
                &format!("estate-{i:02}"),
                "物业问题",
                common,
                "/34/3417/341702/",
            )
        })
        .collect();
    docs.push(doc(
        "plant",
        "物业问题",
        &format!("{common}。丽发新城旁边的搅拌站夜里轰鸣"),
        "/34/3417/341702/",
    ));
    index.put(&docs).unwrap();
    index.commit(1).unwrap();

    let mut words: Vec<(String, f64)> = Vec::new();
    for w in seg.words(common) {
        if w.chars().count() > 1 && !words.iter().any(|(x, _)| x == w) {
            words.push((w.to_owned(), 3.0));
        }
    }
    assert!(
        words.len() > jiefen_search::index::MORE_LIKE_WORDS,
        "{words:?}"
    );
    for absent in ["缆车", "灯塔", "冰川", "沙漠", "火山", "珊瑚"] {
        words.push((absent.to_owned(), 3.0));
    }
    words.push(("搅拌站".to_owned(), 1.0));
    words.push(("轰鸣".to_owned(), 1.0));

    let hits = index.more_like(&words, &everything(), 5).unwrap();
    assert_eq!(
        hits.first().map(|h| h.id.as_str()),
        Some("plant"),
        "{hits:?}"
    );
    // Only the common words: every case is as like it as any other.
    let hits = index.more_like(&words[..4], &everything(), 50).unwrap();
    assert_eq!(hits.len(), 41);
    // Nothing the index has: no candidates.
    let hits = index.more_like(&words[words.len() - 8..words.len() - 2], &everything(), 5);
    assert!(hits.unwrap().is_empty());
}
