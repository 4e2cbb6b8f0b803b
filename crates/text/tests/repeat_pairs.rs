//! Repeats by text on the labelled pairs of `data/repeat-pairs.tsv`: real
//! citizen messages (`../shared/data/tipdm-messages.jsonl`, read in place,
//! never copied into the repository) and the paraphrases written for them
//! (`data/repeat-paraphrases.jsonl`). Prints precision, recall and F1,
//! overall, per kind and per band, and holds `judge` to floors a little
//! below what it measures. Run with `--nocapture` to see the figures.

use jiefen_text::repeats::{
    hamming, judge, shared_phrases, simhash, MatchKind, Terms, TextPrint, NEAR_EXACT_HAMMING,
    REPHRASED_COSINE,
};
use jiefen_text::Segmenter;
use std::collections::HashMap;
use std::time::Instant;

mod common;
const PAIRS: &str = include_str!("../data/repeat-pairs.tsv");
const PARAPHRASES: &str = include_str!("../data/repeat-paraphrases.jsonl");

/// Every text by id: (title, detail).
fn texts() -> HashMap<String, (String, String)> {
    let raw = common::shared_data("tipdm-messages.jsonl");
    let mut out = HashMap::new();
    for line in raw.lines().chain(PARAPHRASES.lines()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let id = match &v["id"] {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s.clone(),
            other => panic!("id {other}"),
        };
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        out.insert(id, (s("title"), s("detail")));
    }
    out
}

struct Pair {
    a: String,
    b: String,
    same: bool,
    band: String,
}

fn pairs() -> Vec<Pair> {
    PAIRS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("a_id"))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "{l}");
            assert!(f[2] == "same" || f[2] == "different", "{l}");
            Pair {
                a: f[0].into(),
                b: f[1].into(),
                same: f[2] == "same",
                band: f[3].split(':').next().unwrap_or("?").into(),
            }
        })
        .collect()
}

#[derive(Default, Debug)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
    fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

#[test]
fn judge_on_the_labelled_pairs() {
    let texts = texts();
    let pairs = pairs();
    let seg = Segmenter::new();
    let mut prints: HashMap<&str, TextPrint> = HashMap::new();
    for p in &pairs {
        for id in [&p.a, &p.b] {
            let (t, d) = texts
                .get(id)
                .unwrap_or_else(|| panic!("pair id {id} is not a message"));
            prints
                .entry(id.as_str())
                .or_insert_with(|| TextPrint::of(&seg, t, d));
        }
    }
    let same = pairs.iter().filter(|p| p.same).count();
    eprintln!(
        "{} labelled pairs: {same} same, {} different",
        pairs.len(),
        pairs.len() - same
    );
    assert!(pairs.len() >= 300 && same >= 80);

    let mut all = Counts::default();
    let mut by_kind: HashMap<MatchKind, Counts> = HashMap::new();
    let mut by_band: std::collections::BTreeMap<&str, (usize, usize, usize, usize)> =
        Default::default();
    let mut misses = Vec::new();
    for p in &pairs {
        let m = judge(&prints[p.b.as_str()], &prints[p.a.as_str()]);
        let band = by_band.entry(&p.band).or_default();
        match (m, p.same) {
            (Some(m), true) => {
                all.tp += 1;
                by_kind.entry(m.kind).or_default().tp += 1;
                band.0 += 1;
            }
            (Some(m), false) => {
                all.fp += 1;
                by_kind.entry(m.kind).or_default().fp += 1;
                band.1 += 1;
                misses.push(format!(
                    "false {:?} {:.2}: {} {}",
                    m.kind, m.similarity, p.a, p.b
                ));
            }
            (None, true) => {
                all.fn_ += 1;
                band.2 += 1;
            }
            (None, false) => band.3 += 1,
        }
    }
    eprintln!(
        "overall: precision {:.3}, recall {:.3}, F1 {:.3} ({} found, {} wrong, {} missed)",
        all.precision(),
        all.recall(),
        all.f1(),
        all.tp,
        all.fp,
        all.fn_
    );
    let mut kind_precision = HashMap::new();
    for kind in [MatchKind::NearExact, MatchKind::Rephrased] {
        let mut c = by_kind.remove(&kind).unwrap_or_default();
        kind_precision.insert(kind, c.precision());
        // A kind's recall: the share of all same pairs it finds (the kinds
        // split the found pairs between them; the missed belong to neither).
        c.fn_ = same - c.tp;
        eprintln!(
            "{}: precision {:.3}, recall {:.3} of all same pairs, F1 {:.3} ({} right, {} wrong)",
            kind.as_str(),
            c.precision(),
            c.recall(),
            c.f1(),
            c.tp,
            c.fp
        );
    }
    for (band, (tp, fp, fn_, tn)) in &by_band {
        eprintln!(
            "band {band}: same found {tp}/{}, different called same {fp}/{}",
            tp + fn_,
            fp + tn
        );
    }
    for m in &misses {
        eprintln!("{m}");
    }
    sweep(&pairs, &prints);

    assert!(all.precision() >= 0.90, "precision {:.3}", all.precision());
    assert!(all.recall() >= 0.85, "recall {:.3}", all.recall());
    assert!(kind_precision[&MatchKind::NearExact] >= 0.95);
    assert!(kind_precision[&MatchKind::Rephrased] >= 0.85);
    // Written paraphrases are the rephrased repeats by construction.
    let (tp, _, fn_, _) = by_band["P"];
    assert!(
        tp as f64 / (tp + fn_) as f64 >= 0.85,
        "paraphrases {tp}/{}",
        tp + fn_
    );
}

/// Precision and recall of each measure alone across thresholds: how the
/// module's thresholds were read off.
fn sweep(pairs: &[Pair], prints: &HashMap<&str, TextPrint>) {
    let score = |f: &dyn Fn(&TextPrint, &TextPrint) -> f64| -> Vec<(f64, bool)> {
        pairs
            .iter()
            .map(|p| (f(&prints[p.b.as_str()], &prints[p.a.as_str()]), p.same))
            .collect()
    };
    let show = |name: &str, scored: Vec<(f64, bool)>, cuts: &[f64]| {
        let total_same = scored.iter().filter(|s| s.1).count().max(1);
        let row: Vec<String> = cuts
            .iter()
            .map(|&t| {
                let tp = scored.iter().filter(|s| s.0 >= t && s.1).count();
                let fp = scored.iter().filter(|s| s.0 >= t && !s.1).count();
                format!(
                    "{t}: P {:.2} R {:.2}",
                    tp as f64 / (tp + fp).max(1) as f64,
                    tp as f64 / total_same as f64
                )
            })
            .collect();
        eprintln!("{name}: {}", row.join(" | "));
    };
    let cuts = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7];
    show(
        "word cosine",
        score(&|a, b| a.terms.cosine(&b.terms)),
        &cuts,
    );
    show(
        "3-gram jaccard",
        score(&|a, b| a.shingles.jaccard(&b.shingles)),
        &[0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 0.8],
    );
    show(
        "3-gram containment",
        score(&|a, b| {
            a.shingles
                .containment(&b.shingles)
                .max(b.shingles.containment(&a.shingles))
        }),
        &[0.2, 0.3, 0.5, 0.7, 0.85, 0.9],
    );
    show(
        "simhash 64-bits",
        score(&|a, b| 64.0 - f64::from(hamming(a.simhash, b.simhash))),
        &[
            64.0 - 4.0,
            64.0 - 7.0,
            64.0 - 8.0,
            64.0 - 10.0,
            64.0 - 12.0,
            64.0 - 15.0,
        ],
    );
    eprintln!("(simhash cut is 64 - bits; judge: bits <= {NEAR_EXACT_HAMMING}, cosine >= {REPHRASED_COSINE})");
    let closest_different = pairs
        .iter()
        .filter(|p| !p.same)
        .map(|p| hamming(prints[p.a.as_str()].simhash, prints[p.b.as_str()].simhash))
        .min();
    eprintln!("closest pair labelled different: {closest_different:?} bits apart");
}

/// A print cuts each text into words once; it must be what cutting the
/// joined text (for the simhash) and each part (for the terms) gives, or
/// stored simhashes would stop matching.
#[test]
fn one_segmentation_gives_the_same_print() {
    let seg = Segmenter::new();
    let texts = texts();
    assert!(texts.len() > 4_000, "{} texts", texts.len());
    for (id, (t, d)) in &texts {
        let print = TextPrint::of(&seg, t, d);
        assert_eq!(print.simhash, simhash(&seg, &format!("{t}\n{d}")), "{id}");
        assert_eq!(print.terms, Terms::of(&seg, t, d), "{id}");
    }
}

/// How far apart the simhashes of unrelated messages are: what a linear
/// scan of stored simhashes can take as its cut.
#[test]
fn simhash_distance_of_random_message_pairs() {
    let texts = texts();
    let seg = Segmenter::new();
    let mut ids: Vec<&String> = texts.keys().filter(|k| !k.starts_with("p:")).collect();
    ids.sort();
    let hashes: Vec<u64> = ids
        .iter()
        .map(|id| {
            let (t, d) = &texts[*id];
            TextPrint::of(&seg, t, d).simhash
        })
        .collect();
    // A fixed LCG: the same 20,000 pairs every run.
    let mut x: u64 = 7;
    let mut next = |n: usize| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 33) % n as u64) as usize
    };
    let mut bits: Vec<u32> = (0..20_000)
        .map(|_| {
            let (i, j) = (next(hashes.len()), next(hashes.len()));
            (i, j)
        })
        .filter(|(i, j)| i != j)
        .map(|(i, j)| hamming(hashes[i], hashes[j]))
        .collect();
    bits.sort_unstable();
    let within = bits.iter().filter(|b| **b <= NEAR_EXACT_HAMMING).count();
    eprintln!(
        "random message pairs: {} pairs, smallest distances {:?}, 1st percentile {}, median {}, \
         {within} within {NEAR_EXACT_HAMMING} bits",
        bits.len(),
        &bits[..8],
        bits[bits.len() / 100],
        bits[bits.len() / 2]
    );
    // Reposts exist in the data, so a few random pairs are near; but
    // hardly any.
    assert!(within * 1000 <= bits.len(), "{within}");
}

#[test]
fn speed_of_judge_and_shared_phrases() {
    let texts = texts();
    let seg = Segmenter::new();
    let pairs = pairs();
    let joined = |id: &str| {
        let (t, d) = &texts[id];
        format!("{t}\n{d}")
    };
    let start = Instant::now();
    let prints: HashMap<&str, TextPrint> = pairs
        .iter()
        .flat_map(|p| [p.a.as_str(), p.b.as_str()])
        .map(|id| (id, TextPrint::of(&seg, &texts[id].0, &texts[id].1)))
        .collect();
    let per_print = start.elapsed() / prints.len() as u32;

    let rounds = 20;
    let start = Instant::now();
    let mut found = 0;
    for _ in 0..rounds {
        for p in &pairs {
            found += usize::from(judge(&prints[p.b.as_str()], &prints[p.a.as_str()]).is_some());
        }
    }
    let per_judge = start.elapsed() / (rounds * pairs.len()) as u32;

    // The longest pairs, cut to 1,000 characters each: the size the issue
    // names for highlighting.
    let mut long: Vec<(String, String)> = pairs
        .iter()
        .map(|p| {
            let cut = |s: String| s.chars().take(1000).collect::<String>();
            (cut(joined(&p.b)), cut(joined(&p.a)))
        })
        .filter(|(a, b)| a.chars().count() >= 1000 && b.chars().count() >= 1000)
        .collect();
    long.truncate(20);
    assert!(!long.is_empty());
    let start = Instant::now();
    let mut phrases = 0;
    for (new, old) in &long {
        phrases += shared_phrases(new, old, 4, 10).len();
    }
    let per_phrases = start.elapsed() / long.len() as u32;
    eprintln!(
        "TextPrint::of {per_print:?} per message; judge {per_judge:?} per pair ({found} found); \
         shared_phrases {per_phrases:?} per pair of 1,000-character texts ({} pairs, {phrases} phrases)",
        long.len()
    );
    // Loose: an unoptimised build on a busy machine.
    assert!(per_judge.as_micros() < 500, "{per_judge:?}");
    assert!(per_phrases.as_millis() < 50, "{per_phrases:?}");
}

#[test]
fn shared_phrases_on_a_real_repost() {
    let texts = texts();
    // A repost with a greeting dropped (band A): long common runs.
    let (a, b) = ("200586", "257255");
    let new = format!("{}\n{}", texts[b].0, texts[b].1);
    let old = format!("{}\n{}", texts[a].0, texts[a].1);
    let phrases = shared_phrases(&new, &old, 4, 5);
    let lens: Vec<usize> = phrases.iter().map(|p| p.chars().count()).collect();
    // Only the greeting, the signature and some symbols were edited: one
    // run of most of the letter, and the title's shared words.
    assert!(!phrases.is_empty() && phrases.len() <= 5, "{lens:?}");
    assert!(lens.windows(2).all(|w| w[0] >= w[1]), "{lens:?}");
    assert!(lens[0] > 800, "{lens:?}");
    for p in &phrases {
        // No message text in failure output: it stays out of logs too.
        assert!(new.contains(p.as_str()));
        let ends = [p.chars().next(), p.chars().last()];
        assert!(ends.iter().all(|c| c.is_some_and(char::is_alphanumeric)));
    }
}
