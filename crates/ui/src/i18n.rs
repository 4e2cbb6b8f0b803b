//! Every word the UI shows, in Chinese (the default) and English, from the
//! message files in `messages/`. Keys are dotted paths of those files
//! (`[intake] title = …` is `intake.title`). A key missing from one
//! language is a test failure, not a blank on a page: `tests/messages.rs`
//! checks both files hold the same keys and that every key the templates
//! and the script use is in them.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// A language the UI speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    /// The BCP 47 tag, as `<html lang>` and the language cookie carry it.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Lang> {
        match tag {
            "zh-CN" | "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    fn source(self) -> &'static str {
        match self {
            Lang::Zh => include_str!("../messages/zh-CN.toml"),
            Lang::En => include_str!("../messages/en.toml"),
        }
    }

    /// The language's messages, flattened to dotted keys.
    pub fn messages(self) -> &'static BTreeMap<String, String> {
        static ZH: OnceLock<BTreeMap<String, String>> = OnceLock::new();
        static EN: OnceLock<BTreeMap<String, String>> = OnceLock::new();
        let cell = match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        };
        cell.get_or_init(|| {
            let table: toml::Table = self
                .source()
                .parse()
                .unwrap_or_else(|e| panic!("messages/{}.toml: {e}", self.tag()));
            let mut out = BTreeMap::new();
            flatten("", &table, &mut out);
            out
        })
    }
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut BTreeMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => panic!("message {key} is not text: {other}"),
        }
    }
}

/// The messages of one language, as templates use them.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    /// The message, or `None` (logged) for a key neither file has: it is
    /// then shown as itself, and the tests fail.
    fn lookup(&self, key: &str) -> Option<&'static str> {
        let found = self.lang.messages().get(key).map(String::as_str);
        if found.is_none() {
            tracing::warn!(key, lang = self.lang.tag(), "missing message");
        }
        found
    }

    /// The message; a missing key shows as itself.
    pub fn get<'a>(&self, key: &'a str) -> &'a str
    where
        'static: 'a,
    {
        self.lookup(key).unwrap_or(key)
    }

    /// The message with `{name}` placeholders filled.
    pub fn fmt(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.get(key).to_owned();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }

    /// The label of a domain value (`kind.dispute`, `state.registered`).
    pub fn of(&self, group: &str, code: &str) -> String {
        let key = format!("{group}.{code}");
        self.lookup(&key).map(str::to_owned).unwrap_or(key)
    }

    /// The messages the page's script needs (keys under `js.`), as JSON for
    /// a data block.
    pub fn script_messages(&self) -> String {
        let js: BTreeMap<&str, &str> = self
            .lang
            .messages()
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("js.").map(|k| (k, v.as_str())))
            .collect();
        // `<` escaped so that no message can close the data block.
        serde_json::to_string(&js)
            .expect("strings serialise")
            .replace('<', "\\u003c")
    }
}
