//! No page shows a message key: both languages hold the same keys, every
//! key the templates and the script use is there, and every value of the
//! domain's enumerations that a page labels has a label.

use jiefen_domain::access::Role;
use jiefen_domain::case::{CaseKind, CaseState, Channel, DeadlineSignal, RiskLevel};
use jiefen_ui::i18n::Lang;
use std::collections::BTreeSet;
use std::path::Path;

fn keys(lang: Lang) -> BTreeSet<String> {
    lang.messages().keys().cloned().collect()
}

#[test]
fn both_languages_hold_the_same_keys() {
    let (zh, en) = (keys(Lang::Zh), keys(Lang::En));
    let only_zh: Vec<_> = zh.difference(&en).collect();
    let only_en: Vec<_> = en.difference(&zh).collect();
    assert!(
        only_zh.is_empty() && only_en.is_empty(),
        "only in zh-CN: {only_zh:?}; only in en: {only_en:?}"
    );
    assert!(zh.len() > 150, "{} keys", zh.len());
    for lang in Lang::ALL {
        for (k, v) in lang.messages() {
            assert!(!v.trim().is_empty(), "{} {k} is empty", lang.tag());
        }
    }
}

/// The literal keys in `t.get("…")`, `t.fmt("…"` and the script's `t("…")`.
fn used_keys(text: &str, calls: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for call in calls {
        let mut rest = text;
        while let Some(at) = rest.find(call) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + call.len()..];
            // `get("` is not `t("`: the call must start a name.
            if call.starts_with('t') && before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(end) = rest.find('"') {
                out.push(rest[..end].to_owned());
            }
        }
    }
    out
}

#[test]
fn every_key_the_templates_and_the_script_use_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let zh = keys(Lang::Zh);
    let mut checked = 0;
    let sources = ["templates", "src"]
        .into_iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).unwrap())
        .map(|entry| entry.unwrap().path());
    for path in sources {
        let text = std::fs::read_to_string(&path).unwrap();
        for key in used_keys(&text, &["t.get(\"", "t.fmt(\""]) {
            assert!(
                zh.contains(&key),
                "{}: {key} is not a message",
                path.display()
            );
            checked += 1;
        }
    }
    let script = std::fs::read_to_string(root.join("assets/app.js")).unwrap();
    for key in used_keys(&script, &["t(\""]) {
        assert!(
            zh.contains(&format!("js.{key}")),
            "app.js: js.{key} is not a message"
        );
        checked += 1;
    }
    assert!(
        checked > 80,
        "only {checked} keys found: is the pattern still right?"
    );
}

#[test]
fn every_value_a_page_labels_has_a_label() {
    let zh = keys(Lang::Zh);
    let mut want: Vec<String> = Vec::new();
    want.extend(CaseKind::ALL.iter().map(|v| format!("kind.{}", v.as_str())));
    want.extend(
        CaseKind::ALL
            .iter()
            .map(|v| format!("receipt.next.{}", v.as_str())),
    );
    want.extend(
        Channel::ALL
            .iter()
            .map(|v| format!("channel.{}", v.as_str())),
    );
    want.extend(
        CaseState::ALL
            .iter()
            .map(|v| format!("state.{}", v.as_str())),
    );
    want.extend(
        RiskLevel::ALL
            .iter()
            .map(|v| format!("risk.{}", v.as_str())),
    );
    want.extend(RiskLevel::ALL.iter().map(|v| format!("js.{}", v.as_str())));
    want.extend(
        DeadlineSignal::ALL
            .iter()
            .map(|v| format!("signal.{}", v.as_str())),
    );
    want.extend(Role::ALL.iter().map(|v| format!("role.{}", v.as_str())));
    want.extend(
        jiefen_domain::jurisdiction::Level::ALL
            .iter()
            .map(|v| format!("level.{}", v.as_str())),
    );
    want.extend(
        jiefen_domain::Action::ALL
            .iter()
            .map(|v| format!("action.{}", v.as_str())),
    );
    want.extend(
        jiefen_domain::case::Outcome::ALL
            .iter()
            .map(|v| format!("outcome.{}", v.as_str())),
    );
    want.extend(
        jiefen_domain::case::Satisfaction::ALL
            .iter()
            .map(|v| format!("satisfaction.{}", v.as_str())),
    );
    want.extend(
        jiefen_domain::case::ReviewStage::ALL
            .iter()
            .map(|v| format!("review.{}", v.as_str())),
    );
    want.extend(
        jiefen_domain::inbox::NoticeKind::ALL
            .iter()
            .map(|v| format!("notice.{}", v.as_str())),
    );
    want.extend(
        jiefen_store::CaseOrder::ALL
            .iter()
            .map(|v| format!("sort.{}", v.as_str())),
    );
    // Event kinds, as the store names them.
    let source = include_str!("../../domain/src/lifecycle.rs");
    let body = &source[source.find("pub enum EventKind {").unwrap()..];
    let body = &body[..body.find("\n}\n").unwrap()];
    for line in body.lines() {
        let l = line.strip_prefix("    ").unwrap_or("");
        let name: String = l
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && l.len() > name.len() {
            let mut snake = String::new();
            for (i, c) in name.chars().enumerate() {
                if c.is_ascii_uppercase() {
                    if i > 0 {
                        snake.push('_');
                    }
                    snake.push(c.to_ascii_lowercase());
                } else {
                    snake.push(c);
                }
            }
            want.push(format!("event.{snake}"));
        }
    }
    assert!(want.iter().filter(|k| k.starts_with("event.")).count() >= 28);
    let missing: Vec<_> = want.iter().filter(|k| !zh.contains(*k)).collect();
    assert!(missing.is_empty(), "no label for {missing:?}");
}

#[test]
fn every_field_of_every_action_form_has_a_label() {
    let zh = keys(Lang::Zh);
    let source = include_str!("../src/actions.rs");
    let mut names = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("f(\"") {
        // `f(` the field maker, not `t.of(`.
        let own = !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '.');
        rest = &rest[at + 3..];
        if let Some(end) = rest.find('"').filter(|_| own) {
            names.push(format!("field.{}", &rest[..end]));
        }
    }
    assert!(names.len() > 20, "only {} fields found", names.len());
    let missing: Vec<_> = names.iter().filter(|k| !zh.contains(*k)).collect();
    assert!(missing.is_empty(), "no label for {missing:?}");
}
