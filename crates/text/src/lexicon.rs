//! Day-one category suggestions: curated terms per category
//! (`data/lexicon.toml`, which a deployment may replace), so the intake
//! screen can guess a category before any case has been labelled. Terms
//! are found as substrings of the raw text (Aho–Corasick), so a match does
//! not depend on where jieba happens to cut.

use crate::classify::Document;
use crate::suggest::Suggestion;
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// The lexicon every deployment starts with, for the default taxonomy.
pub const BUILTIN: &str = include_str!("../data/lexicon.toml");

/// How much more a term found in the title counts than one in the detail:
/// people name their problem in the title.
const TITLE_WEIGHT: f64 = 2.0;

/// Weight of the terms listed under `strong`.
const STRONG_WEIGHT: f64 = 3.0;

/// Bounds of an explicit weight, so one term cannot outvote a whole text.
const MAX_WEIGHT: f64 = 10.0;

/// A score held back from every category when turning scores into
/// confidences: a single weak match then gives a low confidence instead of
/// certainty. About one ordinary term in the title.
const UNSURE: f64 = 2.0;

/// Why a lexicon was refused.
#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    /// Not TOML, or a field the format does not have; the message names
    /// the line.
    #[error("lexicon: {0}")]
    Syntax(String),
    #[error("lexicon line {line}, category {code:?}: {message}")]
    Category {
        line: usize,
        code: String,
        message: String,
    },
    #[error("lexicon names categories the taxonomy does not have: {}", .0.join(", "))]
    UnknownCodes(Vec<String>),
    #[error("lexicon: cannot build the matcher: {0}")]
    Matcher(String),
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRepr {
    #[serde(default)]
    category: Vec<BlockRepr>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockRepr {
    code: toml::Spanned<String>,
    #[serde(default)]
    terms: Vec<String>,
    #[serde(default)]
    strong: Vec<String>,
    #[serde(default)]
    weights: BTreeMap<String, f64>,
}

/// Categories with their weighted terms, and a matcher for all terms.
#[derive(Debug, Clone)]
pub struct Lexicon {
    /// Category codes in file order.
    codes: Vec<String>,
    /// Distinct terms; a term's index is its pattern in `matcher`.
    terms: Vec<String>,
    /// For each term, the categories it speaks for, with its weight there.
    postings: Vec<Vec<(u32, f64)>>,
    matcher: AhoCorasick,
}

impl Lexicon {
    /// Reads a lexicon (the format is described at the top of
    /// `data/lexicon.toml`). Unknown fields, categories without terms,
    /// blank, one-character or repeated terms, bad weights and a code given
    /// twice are refused.
    pub fn parse(text: &str) -> Result<Self, LexiconError> {
        let file: FileRepr =
            toml::from_str(text).map_err(|e| LexiconError::Syntax(e.to_string()))?;
        let line_of = |span: std::ops::Range<usize>| {
            text.get(..span.start)
                .map_or(0, |before| before.matches('\n').count())
                + 1
        };
        let mut codes: Vec<String> = Vec::new();
        let mut lines: HashMap<String, usize> = HashMap::new();
        let mut term_index: HashMap<String, u32> = HashMap::new();
        let mut terms: Vec<String> = Vec::new();
        let mut postings: Vec<Vec<(u32, f64)>> = Vec::new();
        for block in file.category {
            let line = line_of(block.code.span());
            let code = block.code.into_inner();
            let bad = |message: String| LexiconError::Category {
                line,
                code: code.clone(),
                message,
            };
            if code.trim().is_empty() || code.chars().any(char::is_whitespace) {
                return Err(bad("the code is blank or has spaces".into()));
            }
            if let Some(first) = lines.get(&code) {
                return Err(bad(format!("the code is given twice (also line {first})")));
            }
            let weighted = block
                .terms
                .iter()
                .map(|t| (t, 1.0))
                .chain(block.strong.iter().map(|t| (t, STRONG_WEIGHT)))
                .chain(block.weights.iter().map(|(t, w)| (t, *w)));
            let category = codes.len() as u32;
            let mut seen: Vec<&str> = Vec::new();
            for (term, weight) in weighted {
                if term.trim().is_empty() {
                    return Err(bad("a term is blank".into()));
                }
                if term.chars().any(char::is_whitespace) {
                    return Err(bad(format!("term {term:?} has spaces")));
                }
                if term.chars().count() < 2 {
                    return Err(bad(format!(
                        "term {term:?} is one character: too ambiguous"
                    )));
                }
                if !(weight > 0.0 && weight <= MAX_WEIGHT) {
                    return Err(bad(format!(
                        "term {term:?} has weight {weight}, not in (0, {MAX_WEIGHT}]"
                    )));
                }
                if seen.contains(&term.as_str()) {
                    return Err(bad(format!("term {term:?} is listed twice")));
                }
                seen.push(term);
                let index = *term_index.entry(term.clone()).or_insert_with(|| {
                    terms.push(term.clone());
                    postings.push(Vec::new());
                    (terms.len() - 1) as u32
                });
                postings[index as usize].push((category, weight));
            }
            if seen.is_empty() {
                return Err(bad("no terms".into()));
            }
            lines.insert(code.clone(), line);
            codes.push(code);
        }
        // Overlapping matches, so 农民工工资 also counts as 工资; a DFA
        // because the lexicon is small and matching is on every intake.
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&terms)
            .map_err(|e| LexiconError::Matcher(e.to_string()))?;
        Ok(Self {
            codes,
            terms,
            postings,
            matcher,
        })
    }

    /// The built-in lexicon (`data/lexicon.toml`), parsed once.
    pub fn builtin() -> &'static Lexicon {
        static BUILT: OnceLock<Lexicon> = OnceLock::new();
        BUILT.get_or_init(|| Lexicon::parse(BUILTIN).expect("the built-in lexicon is valid"))
    }

    /// Category codes, in file order.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.codes.iter().map(String::as_str)
    }

    /// Every distinct term, for the segmenter to keep whole
    /// ([`crate::Segmenter::with_lexicon`]).
    pub fn terms(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().map(String::as_str)
    }

    /// Refuses a lexicon naming a category the taxonomy does not have, so
    /// a deployment's typo shows at start and not as a category nobody can
    /// file under. `codes` are the taxonomy's full codes (`labour.injury`).
    pub fn check_codes<'a>(
        &self,
        codes: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), LexiconError> {
        let known: std::collections::HashSet<&str> = codes.into_iter().collect();
        let unknown: Vec<String> = self
            .codes
            .iter()
            .filter(|c| !known.contains(c.as_str()))
            .cloned()
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(LexiconError::UnknownCodes(unknown))
        }
    }

    /// At most `k` categories, best first, or none when no term matches.
    ///
    /// A category's score adds, over its distinct terms found, the term's
    /// weight times `1 + ln n`, where `n` counts the term's occurrences,
    /// those in the title twice: repeating a word helps a little, not
    /// linearly. Confidences are the scores over their sum plus a constant
    /// kept for "none of these", so they sum to less than 1 and a lone weak
    /// match stays unsure.
    pub fn suggest(&self, doc: &Document, k: usize) -> Vec<Suggestion> {
        let mut found: Vec<(u32, f64)> = Vec::new();
        for (text, weight) in [(&doc.title, TITLE_WEIGHT), (&doc.detail, 1.0)] {
            for m in self.matcher.find_overlapping_iter(text.as_str()) {
                found.push((m.pattern().as_u32(), weight));
            }
        }
        if found.is_empty() || k == 0 {
            return Vec::new();
        }
        found.sort_unstable_by_key(|(term, _)| *term);
        let mut scores = vec![0.0; self.codes.len()];
        let mut i = 0;
        while i < found.len() {
            let term = found[i].0;
            let mut n = 0.0;
            while i < found.len() && found[i].0 == term {
                n += found[i].1;
                i += 1;
            }
            let damped = 1.0 + f64::ln(n);
            for (category, weight) in &self.postings[term as usize] {
                scores[*category as usize] += weight * damped;
            }
        }
        let total: f64 = scores.iter().sum::<f64>() + UNSURE;
        let mut ranked: Vec<(usize, f64)> = scores
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, s)| *s > 0.0)
            .collect();
        ranked.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then_with(|| self.codes[a.0].cmp(&self.codes[b.0]))
        });
        ranked.truncate(k);
        ranked
            .into_iter()
            .map(|(category, score)| Suggestion {
                category: self.codes[category].clone(),
                confidence: score / total,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(title: &str, detail: &str) -> Document {
        Document::new(title, detail)
    }

    const SMALL: &str = r#"
[[category]]
code = "labour.wage_arrears"
terms = ["工资", "老板"]
strong = ["拖欠工资", "欠薪"]

[[category]]
code = "neighbourhood.noise"
terms = ["噪音", "楼上"]
weights = { "震楼器" = 2.5 }
"#;

    #[test]
    fn ranks_by_matched_terms_and_stays_silent_without_any() {
        let lex = Lexicon::parse(SMALL).unwrap();
        let s = lex.suggest(&doc("老板拖欠工资", "三个月没发工资了"), 3);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].category, "labour.wage_arrears");
        assert!(s[0].confidence > 0.5 && s[0].confidence < 1.0, "{s:?}");
        let both = lex.suggest(&doc("楼上噪音", "楼上用震楼器，还拖欠工资"), 3);
        assert_eq!(both[0].category, "neighbourhood.noise", "{both:?}");
        assert!(both.iter().map(|s| s.confidence).sum::<f64>() < 1.0);
        assert_eq!(lex.suggest(&doc("路灯", "不亮"), 3), vec![]);
        assert_eq!(both.len(), 2);
        assert_eq!(lex.suggest(&doc("楼上噪音", "拖欠工资"), 1).len(), 1);
    }

    #[test]
    fn title_counts_more_than_detail() {
        let lex = Lexicon::parse(SMALL).unwrap();
        let s = lex.suggest(&doc("噪音", "工资"), 2);
        assert_eq!(s[0].category, "neighbourhood.noise", "{s:?}");
        let s = lex.suggest(&doc("工资", "噪音"), 2);
        assert_eq!(s[0].category, "labour.wage_arrears", "{s:?}");
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        let err = |text: &str| Lexicon::parse(text).unwrap_err().to_string();
        let e = err("[[category]]\ncode = \"a.b\"\nterms = [\"工资\"]\ncolour = \"red\"\n");
        assert!(e.contains("line 4") && e.contains("colour"), "{e}");
        let e = err("[[category]]\ncode = \"a.b\"\nterms = []\n");
        assert!(e.contains("\"a.b\"") && e.contains("no terms"), "{e}");
        let e = err("[[category]]\ncode = \"a.b\"\nterms = [\"工资\"]\n\n[[category]]\ncode = \"a.b\"\nterms = [\"欠薪\"]\n");
        assert!(
            e.contains("line 6") && e.contains("twice (also line 2)"),
            "{e}"
        );
        let e = err("[[category]]\ncode = \"a.b\"\nterms = [\"工资\", \" \"]\n");
        assert!(e.contains("blank"), "{e}");
        let e = err("[[category]]\ncode = \"a.b\"\nterms = [\"资\"]\n");
        assert!(e.contains("one character"), "{e}");
        let e = err("[[category]]\ncode = \"a.b\"\nterms = [\"工资\"]\nstrong = [\"工资\"]\n");
        assert!(e.contains("listed twice"), "{e}");
        let e = err("[[category]]\ncode = \"a.b\"\nweights = { \"工资\" = 0 }\n");
        assert!(e.contains("weight 0"), "{e}");
        let e = err("[[category]]\ncode = \"a.b\"\nterms = [\"工资\"\n");
        assert!(e.contains("line"), "{e}");
    }

    #[test]
    fn codes_must_be_in_the_taxonomy() {
        let lex = Lexicon::parse(SMALL).unwrap();
        assert!(lex
            .check_codes(["labour.wage_arrears", "neighbourhood.noise", "x.y"])
            .is_ok());
        let e = lex.check_codes(["labour.wage_arrears"]).unwrap_err();
        assert!(e.to_string().contains("neighbourhood.noise"), "{e}");
    }

    #[test]
    fn the_segmenter_keeps_lexicon_terms_whole() {
        let lex = Lexicon::builtin();
        let seg = crate::Segmenter::with_lexicon(lex);
        let split: Vec<(&str, Vec<&str>)> = lex
            .terms()
            .map(|t| (t, seg.words(t)))
            .filter(|(t, w)| w.as_slice() != [*t])
            .collect();
        assert!(split.is_empty(), "{split:?}");
    }
}
