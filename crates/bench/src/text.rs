//! Text at scale (issue 5): building the full-text index of `cases` cases,
//! searching it the way a clerk does, and the intake's repeat check for one
//! draft, all against an index on disk of synthetic cases made from the
//! real messages' vocabulary.
//!
//! The corpus: every real message (`../shared/data/tipdm-messages.jsonl`,
//! read in place, never copied) is cut into words once by
//! [`Segmenter::words`]; each synthetic case takes a random real message as
//! its skeleton (title and detail, punctuation and all) and replaces each
//! word with probability 0.4 by a word drawn from the corpus's word
//! frequencies, so it has the real length, vocabulary and Zipf shape but is
//! no verbatim copy. Cases are spread over a province of 14 cities × 8
//! counties × 12 towns, registered over three years in the order they are
//! indexed (or, `--shuffled-dates`, at random instants whatever their
//! order), with random categories of the default taxonomy (and a kind that
//! category allows), states, risks, and a handling body on 40% of them.
//! Everything is drawn from a fixed-seed PRNG, so every run builds the same
//! cases.
//!
//! The store is not part of this benchmark: the generated cases stay in
//! memory, and snippets and the repeat check read candidates' texts from
//! there (in the server they come from the store by id).

use anyhow::{bail, ensure, Context, Result};
use jiefen_domain::taxonomy::Taxonomy;
use jiefen_search::{parse, CaseDoc, CaseIndex, Expr, Filters, Scope, TextField};
use jiefen_text::repeats::{
    distinctive_words, judge, shared_phrases, telling_words, MatchKind, TextPrint,
};
use jiefen_text::Segmenter;
use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

const SEED: u64 = 0x6a69_6566_656e;
const CITIES: usize = 14;
const COUNTIES: usize = 8;
const TOWNS: usize = 12;
/// Cases handed to `CaseIndex::put` at a time, and cases per commit.
const BATCH: usize = 10_000;
const COMMIT_EVERY: usize = 100_000;
/// Share of a skeleton's words a synthetic case replaces.
const SYNTHETIC_REPLACE: f64 = 0.4;
/// Share of words a draft changes from the text it repeats.
const DRAFT_REPLACE: f64 = 0.15;
const DAY_MS: i64 = 86_400_000;
/// 2023-12-01T00:00:00Z: cases are registered over the three years after.
const START_MS: i64 = 1_701_388_800_000;
const SPAN_MS: i64 = 3 * 365 * DAY_MS;
/// How far back the intake looks for repeats.
const REPEAT_WINDOW_MS: i64 = 180 * DAY_MS;
/// Results per page, and candidates per repeat check.
const PAGE: usize = 20;
// The intake's candidates, the words it offers the index and the repeats
// it shows (with their shared phrases).
use jiefen_web::intake::{SHOWN_REPEATS as SHOWN, TELLING_WORDS, TEXT_CANDIDATES as CANDIDATES};
/// The words the general idf table alone would choose (for the overlap of
/// real messages, and the retrieval the intake used before).
const DISTINCTIVE_WORDS: usize = 12;

#[derive(clap::Args)]
pub struct Options {
    /// Where the index is built (deleted and built afresh each run
    /// unless --reuse-index).
    #[arg(long, default_value = "target/bench-text")]
    pub dir: PathBuf,
    /// The real messages (JSON lines with title and detail), read in place.
    #[arg(long, default_value_os_t = default_messages())]
    pub messages: PathBuf,
    #[arg(long, default_value_t = 1_000_000)]
    pub cases: usize,
    #[arg(long, default_value_t = 1_000)]
    pub queries: usize,
    /// Drafts checked for repeats, half perturbed real messages, half
    /// perturbed recent synthetic cases.
    #[arg(long, default_value_t = 1_000)]
    pub drafts: usize,
    /// Keep an index of the same size left by an earlier run instead
    /// of building it again (indexing is then not measured).
    #[arg(long)]
    pub reuse_index: bool,
    /// Register cases at random instants of the three years instead of
    /// in the order they are indexed (the index then holds every
    /// period in every segment, as after re-indexing old cases).
    #[arg(long)]
    pub shuffled_dates: bool,
}

/// The real messages, where the repository's sibling `shared` keeps them.
pub fn default_messages() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/tipdm-messages.jsonl"
    ))
}

pub fn run(o: &Options) -> Result<()> {
    println!(
        "# {}; {} synthetic cases, {} queries, {} drafts",
        crate::machine(),
        o.cases,
        o.queries,
        o.drafts
    );
    let seg = Arc::new(Segmenter::new());

    let t = Instant::now();
    let messages = read_messages(&o.messages)?;
    let corpus = Corpus::build(&seg, &messages);
    println!(
        "corpus: {} real messages, {} words, {} distinct, segmented in {:.1}s",
        messages.len(),
        corpus.tokens.len(),
        corpus.words.len(),
        t.elapsed().as_secs_f64()
    );
    let (p50, p90) = real_overlap(&seg, &messages);
    println!(
        "real messages: a message's {DISTINCTIVE_WORDS} distinctive words occur in p50 {:.0}%, p90 {:.0}% of the others",
        p50 * 100.0,
        p90 * 100.0
    );
    let t = Instant::now();
    let docs = corpus.generate(o.cases, o.shuffled_dates, &mut Rng::new(SEED));
    let chars: usize = docs
        .iter()
        .map(|d| d.title.chars().count() + d.description.chars().count())
        .sum();
    println!(
        "generated {} cases in {:.1}s (mean {:.0} characters of title and description; RSS {} MB)",
        docs.len(),
        t.elapsed().as_secs_f64(),
        chars as f64 / docs.len().max(1) as f64,
        crate::status_kib(None, "VmRSS").unwrap_or(0) >> 10
    );

    let indexing = index_all(o, &seg, &docs)?;
    let search = search(o, &seg, &docs, &corpus)?;
    let (repeats, variants) = repeat_checks(o, &seg, &docs, &corpus, &messages)?;

    println!();
    println!("## indexing");
    println!();
    if let Some(ix) = &indexing {
        println!("| cases | seconds | cases/s | commits | index on disk | segments | peak RSS |");
        println!("|---|---|---|---|---|---|---|");
        println!(
            "| {} | {:.1} | **{:.0}** | {} | {:.2} GB | {} | {:.2} GB |",
            group(docs.len()),
            ix.seconds,
            docs.len() as f64 / ix.seconds,
            ix.commits,
            ix.bytes as f64 / 1e9,
            ix.segments,
            ix.peak_kb as f64 / (1 << 20) as f64,
        );
    } else {
        println!("(reused the index in {})", o.dir.display());
    }
    println!();
    println!("## search (parse, search, snippets of the page of {PAGE})");
    println!();
    println!("| query | n | p50 ms | p90 ms | p99 ms | max ms | hits p10 | hits p50 | hits p90 | no hit | snippet panics (queries) |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, rows) in search {
        let mut ms: Vec<f64> = rows.iter().map(|r| r.ms).collect();
        let mut hits: Vec<f64> = rows.iter().map(|r| r.hits as f64).collect();
        ms.sort_by(f64::total_cmp);
        hits.sort_by(f64::total_cmp);
        println!(
            "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} ({}) |",
            ms.len(),
            pct(&ms, 0.5),
            pct(&ms, 0.9),
            pct(&ms, 0.99),
            pct(&ms, 1.0),
            group(pct(&hits, 0.1) as usize),
            group(pct(&hits, 0.5) as usize),
            group(pct(&hits, 0.9) as usize),
            hits.iter().filter(|h| **h == 0.0).count(),
            rows.iter().map(|r| r.panics).sum::<usize>(),
            rows.iter().filter(|r| r.panics > 0).count(),
        );
    }
    println!();
    println!(
        "## repeat check at intake (telling words, more_like {CANDIDATES}, prints, judge, shared phrases of the {SHOWN} shown)"
    );
    println!();
    println!("| drafts | n | p50 ms | p90 ms | p99 ms | max ms | retrieval p50/p99 | prints p50/p99 | judge p50/p99 | phrases p50/p99 | ≥1 match | matches/draft | source found |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, rows) in &repeats {
        let col = |f: fn(&Check) -> f64| {
            let mut v: Vec<f64> = rows.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let total = col(|c| c.total_ms);
        let stage = |f: fn(&Check) -> f64| {
            let v = col(f);
            format!("{:.2} / {:.2}", pct(&v, 0.5), pct(&v, 0.99))
        };
        let with_source = rows.iter().filter(|c| c.source.is_some()).count();
        let found = if with_source == 0 {
            "–".to_owned()
        } else {
            format!(
                "{}/{} (candidates {}/{})",
                rows.iter().filter(|c| c.source == Some(true)).count(),
                with_source,
                rows.iter().filter(|c| c.source_candidate).count(),
                with_source
            )
        };
        println!(
            "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {:.1} | {found} |",
            rows.len(),
            pct(&total, 0.5),
            pct(&total, 0.9),
            pct(&total, 0.99),
            pct(&total, 1.0),
            stage(|c| c.retrieval_ms),
            stage(|c| c.prints_ms),
            stage(|c| c.judge_ms),
            stage(|c| c.phrases_ms),
            rows.iter().filter(|c| c.matches > 0).count(),
            rows.iter().map(|c| c.matches as f64).sum::<f64>() / rows.len().max(1) as f64,
        );
    }
    println!();
    println!("## candidate retrieval alone (words + more_like), the same drafts");
    println!();
    println!("| variant | p50 ms | p90 ms | p99 ms | max ms | source among candidates |");
    println!("|---|---|---|---|---|---|");
    for v in variants {
        let mut t = v.ms;
        t.sort_by(f64::total_cmp);
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {}/{} |",
            v.name,
            pct(&t, 0.5),
            pct(&t, 0.9),
            pct(&t, 0.99),
            pct(&t, 1.0),
            v.found,
            v.sourced
        );
    }
    println!();
    println!(
        "peak RSS of the process: {:.2} GB (the {} cases' texts are held in memory as the store's stand-in)",
        crate::status_kib(None, "VmHWM").unwrap_or(0) as f64 / (1 << 20) as f64,
        group(docs.len())
    );
    Ok(())
}

// ---------------------------------------------------------------- corpus

struct Message {
    title: String,
    detail: String,
}

fn read_messages(path: &Path) -> Result<Vec<Message>> {
    #[derive(serde::Deserialize)]
    struct Line {
        title: String,
        detail: String,
    }
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the real messages at {}: this benchmark needs \
             ../shared/data/tipdm-messages.jsonl beside the repository (read in place, \
             never copied into it); give another path with --messages",
            path.display()
        )
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let m: Line = serde_json::from_str(line)
            .with_context(|| format!("{} line {}", path.display(), i + 1))?;
        if !m.detail.trim().is_empty() {
            out.push(Message {
                title: m.title,
                detail: m.detail,
            });
        }
    }
    ensure!(!out.is_empty(), "{}: no messages", path.display());
    Ok(out)
}

/// A text as its words (by id) with what stands between them.
struct Template {
    /// What precedes each word (punctuation, spaces), and the word.
    parts: Vec<(String, u32)>,
    tail: String,
}

struct Skeleton {
    title: Template,
    detail: Template,
}

/// The real messages' words and their frequencies.
struct Corpus {
    words: Vec<String>,
    /// Every word occurrence: a uniform draw from it is a draw by frequency.
    tokens: Vec<u32>,
    /// The occurrences of words of two or more Chinese characters: what a
    /// clerk types into the search box.
    content: Vec<u32>,
    /// Two such words side by side in a real message, nothing between.
    phrases: Vec<(u32, u32)>,
    skeletons: Vec<Skeleton>,
    /// Second-level categories and the kinds each allows; first-level codes.
    categories: Vec<(String, Vec<&'static str>)>,
    top_categories: Vec<String>,
}

fn is_content(word: &str) -> bool {
    word.chars().count() >= 2 && word.chars().all(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

impl Corpus {
    fn build(seg: &Segmenter, messages: &[Message]) -> Self {
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut words = Vec::new();
        let mut tokens = Vec::new();
        let mut split = |text: &str| {
            let base = text.as_ptr() as usize;
            let mut at = 0;
            let mut parts = Vec::new();
            for w in seg.words(text) {
                let from = w.as_ptr() as usize - base;
                let id = *ids.entry(w.to_owned()).or_insert_with(|| {
                    words.push(w.to_owned());
                    (words.len() - 1) as u32
                });
                tokens.push(id);
                parts.push((text[at..from].to_owned(), id));
                at = from + w.len();
            }
            Template {
                parts,
                tail: text[at..].to_owned(),
            }
        };
        let skeletons: Vec<Skeleton> = messages
            .iter()
            .map(|m| Skeleton {
                title: split(&m.title),
                detail: split(&m.detail),
            })
            .collect();
        let content: Vec<u32> = tokens
            .iter()
            .copied()
            .filter(|&w| is_content(&words[w as usize]))
            .collect();
        let mut phrases = Vec::new();
        for s in &skeletons {
            for pair in s.detail.parts.windows(2) {
                let (a, b) = (pair[0].1, pair[1].1);
                if pair[1].0.is_empty()
                    && is_content(&words[a as usize])
                    && is_content(&words[b as usize])
                {
                    phrases.push((a, b));
                }
            }
        }
        let taxonomy = Taxonomy::default_taxonomy();
        let categories = taxonomy
            .categories()
            .filter(|c| c.parent.is_some())
            .map(|c| {
                (
                    c.code.as_str().to_owned(),
                    c.kinds.iter().map(|k| k.as_str()).collect(),
                )
            })
            .collect();
        let top_categories = taxonomy
            .categories()
            .filter(|c| c.parent.is_none())
            .map(|c| c.code.as_str().to_owned())
            .collect();
        Self {
            words,
            tokens,
            content,
            phrases,
            skeletons,
            categories,
            top_categories,
        }
    }

    fn word(&self, id: u32) -> &str {
        &self.words[id as usize]
    }

    /// A word drawn by its frequency in the real messages.
    fn any_word(&self, rng: &mut Rng) -> &str {
        self.word(*rng.pick(&self.tokens))
    }

    fn content_word(&self, rng: &mut Rng) -> &str {
        self.word(*rng.pick(&self.content))
    }

    fn render(&self, t: &Template, replace: f64, rng: &mut Rng) -> String {
        let mut s = String::with_capacity(t.tail.len() + t.parts.len() * 8);
        for (gap, w) in &t.parts {
            s.push_str(gap);
            if rng.chance(replace) {
                s.push_str(self.any_word(rng));
            } else {
                s.push_str(self.word(*w));
            }
        }
        s.push_str(&t.tail);
        s
    }

    /// `text` with each of its words replaced, with probability `replace`,
    /// by a word drawn by frequency.
    fn perturb(&self, seg: &Segmenter, text: &str, replace: f64, rng: &mut Rng) -> String {
        let base = text.as_ptr() as usize;
        let mut s = String::with_capacity(text.len());
        let mut at = 0;
        for w in seg.words(text) {
            let from = w.as_ptr() as usize - base;
            s.push_str(&text[at..from]);
            if rng.chance(replace) {
                s.push_str(self.any_word(rng));
            } else {
                s.push_str(w);
            }
            at = from + w.len();
        }
        s.push_str(&text[at..]);
        s
    }

    /// `n` cases, registered in their order over three years (as a live
    /// index receives them), or, `shuffled`, at random instants of the
    /// three years whatever their order (as if old cases were all being
    /// re-indexed). The texts and everything else are the same either way.
    fn generate(&self, n: usize, shuffled: bool, rng: &mut Rng) -> Vec<CaseDoc> {
        const STATES: [(&str, u32); 11] = [
            ("registered", 4),
            ("accepted", 4),
            ("declined", 2),
            ("assigned", 8),
            ("in_progress", 12),
            ("paused", 1),
            ("concluded", 20),
            ("followed_up", 12),
            ("merged", 1),
            ("referred", 2),
            ("archived", 34),
        ];
        const RISKS: [(&str, u32); 3] = [("blue", 80), ("yellow", 15), ("red", 5)];
        const BODIES: [&str; 4] = ["sfs", "tjwyh", "xfb", "zhzx"];
        (0..n)
            .map(|i| {
                let sk = rng.pick(&self.skeletons);
                let title = self.render(&sk.title, SYNTHETIC_REPLACE, rng);
                let description = self.render(&sk.detail, SYNTHETIC_REPLACE, rng);
                let (city, county, town) = (
                    1 + rng.below(CITIES),
                    1 + rng.below(COUNTIES),
                    1 + rng.below(TOWNS),
                );
                let county_code = format!("43{city:02}{county:02}");
                let jpath = format!("/43/43{city:02}/{county_code}/{county_code}{town:03}/");
                let (category, kinds) = rng.pick(&self.categories);
                let random = rng.below(SPAN_MS as usize) as i64;
                let registered_ms = if shuffled {
                    START_MS + random
                } else {
                    START_MS
                        + (i as i128 * i128::from(SPAN_MS) / n as i128) as i64
                        + random % 60_000
                };
                CaseDoc {
                    id: case_id(registered_ms, i, rng),
                    title,
                    description,
                    notes: Vec::new(),
                    orgs: Vec::new(),
                    address: None,
                    jpath,
                    body: rng
                        .chance(0.4)
                        .then(|| format!("{county_code}-{}", rng.pick(&BODIES))),
                    kind: (*rng.pick(kinds)).to_owned(),
                    state: rng.weighted(&STATES).to_owned(),
                    category: category.clone(),
                    risk: rng.weighted(&RISKS).to_owned(),
                    registered_ms,
                }
            })
            .collect()
    }

    fn county(&self, rng: &mut Rng) -> String {
        let (city, county) = (1 + rng.below(CITIES), 1 + rng.below(COUNTIES));
        format!("/43/43{city:02}/43{city:02}{county:02}/")
    }
}

/// For each real message, the share of the other messages that hold any
/// of its distinctive words (the candidates a repeat query must score),
/// to compare with what the synthetic corpus gives.
fn real_overlap(seg: &Segmenter, messages: &[Message]) -> (f64, f64) {
    let mut postings: HashMap<String, Vec<u32>> = HashMap::new();
    for (i, m) in messages.iter().enumerate() {
        let text = format!("{}\n{}", m.title, m.detail).to_lowercase();
        for w in seg.words(&text) {
            let list = postings.entry(w.to_owned()).or_default();
            if list.last() != Some(&(i as u32)) {
                list.push(i as u32);
            }
        }
    }
    let mut shares: Vec<f64> = Vec::with_capacity(messages.len());
    let mut seen = vec![u32::MAX; messages.len()];
    for (i, m) in messages.iter().enumerate() {
        let mut n = 0usize;
        for w in distinctive_words(seg, &m.title, &m.detail, DISTINCTIVE_WORDS) {
            for &j in postings.get(&w).map_or(&[][..], Vec::as_slice) {
                if j as usize != i && seen[j as usize] != i as u32 {
                    seen[j as usize] = i as u32;
                    n += 1;
                }
            }
        }
        shares.push(n as f64 / (messages.len() - 1).max(1) as f64);
    }
    shares.sort_by(f64::total_cmp);
    (pct(&shares, 0.5), pct(&shares, 0.9))
}

/// A UUIDv7-shaped id (registration instant on top) whose low 32 bits are
/// the case's place in the corpus, so a hit finds its text in memory.
fn case_id(registered_ms: i64, i: usize, rng: &mut Rng) -> String {
    let hi = ((registered_ms as u64) << 16) | 0x7000 | (rng.next() & 0x0fff);
    let lo =
        0x8000_0000_0000_0000 | (rng.next() & 0x3fff_ffff_0000_0000) | (i as u64 & 0xffff_ffff);
    uuid::Uuid::from_u64_pair(hi, lo).to_string()
}

fn place_of(id: &str) -> Result<usize> {
    let uuid = uuid::Uuid::parse_str(id).with_context(|| format!("hit id {id:?}"))?;
    Ok((uuid.as_u64_pair().1 & 0xffff_ffff) as usize)
}

// ---------------------------------------------------------------- indexing

struct Indexing {
    seconds: f64,
    commits: usize,
    bytes: u64,
    segments: usize,
    peak_kb: u64,
}

fn index_all(o: &Options, seg: &Arc<Segmenter>, docs: &[CaseDoc]) -> Result<Option<Indexing>> {
    let marker = o.dir.join(MARKER);
    let built = serde_json::json!({ "cases": docs.len(), "shuffled_dates": o.shuffled_dates });
    if o.reuse_index && o.dir.join("meta.json").exists() {
        let index = CaseIndex::open(&o.dir, seg.clone())?;
        let same = std::fs::read(&marker)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|m| m == built);
        if same && index.len() == docs.len() as u64 {
            println!(
                "reusing the index of {} cases in {}",
                index.len(),
                o.dir.display()
            );
            return Ok(None);
        }
        println!(
            "the index in {} is not of these {} cases: building it again",
            o.dir.display(),
            docs.len()
        );
    }
    if o.dir.exists() {
        let empty = std::fs::read_dir(&o.dir)?.next().is_none();
        if !empty && !o.dir.join("meta.json").exists() {
            bail!(
                "{} is not empty and holds no search index: not deleting it",
                o.dir.display()
            );
        }
        std::fs::remove_dir_all(&o.dir)?;
    }
    let index = CaseIndex::open(&o.dir, seg.clone())?;
    let started = Instant::now();
    let mut commits = 0;
    let mut last = (Instant::now(), 0usize);
    for (n, batch) in docs.chunks(BATCH).enumerate() {
        index.put(batch)?;
        let done = (n * BATCH + batch.len()).min(docs.len());
        if done.is_multiple_of(COMMIT_EVERY) || done == docs.len() {
            index.commit(done as u64)?;
            commits += 1;
            eprintln!(
                "indexed {done} in {:.1}s ({:.0} cases/s since the last commit)",
                started.elapsed().as_secs_f64(),
                (done - last.1) as f64 / last.0.elapsed().as_secs_f64()
            );
            last = (Instant::now(), done);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    ensure!(index.len() == docs.len() as u64, "the index lost cases");
    let peak_kb = crate::status_kib(None, "VmHWM").unwrap_or(0);
    drop(index);
    std::fs::write(&marker, built.to_string())?;
    Ok(Some(Indexing {
        seconds,
        commits,
        bytes: dir_bytes(&o.dir)?,
        segments: segments(&o.dir)?,
        peak_kb,
    }))
}

/// What the index in `--dir` was built from, for --reuse-index.
const MARKER: &str = "jiefen-bench-text.json";

fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut n = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let meta = e.metadata()?;
        n += if meta.is_dir() {
            dir_bytes(&e.path())?
        } else {
            meta.len()
        };
    }
    Ok(n)
}

fn segments(dir: &Path) -> Result<usize> {
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("meta.json"))?)?;
    Ok(meta["segments"].as_array().map_or(0, Vec::len))
}

/// Reads every file of the index once, so its pages are in the OS cache:
/// the warm index a server that has been answering for a while has.
fn warm_files(dir: &Path) -> Result<u64> {
    let mut n = 0;
    for e in std::fs::read_dir(dir)? {
        let path = e?.path();
        if path.is_file() {
            n += std::io::copy(&mut std::fs::File::open(&path)?, &mut std::io::sink())?;
        }
    }
    Ok(n)
}

// ---------------------------------------------------------------- search

const KINDS: [&str; 8] = [
    "1 word",
    "2 words",
    "3 words",
    "A OR B",
    "\"phrase\" (2 words)",
    "A -B",
    "A category:…",
    "A in a county",
];

struct Query {
    kind: usize,
    text: String,
    filters: Filters,
}

fn make_query(kind: usize, c: &Corpus, rng: &mut Rng) -> Query {
    let mut filters = Filters::scoped(Scope::Everything);
    let text = match kind {
        0 => c.content_word(rng).to_owned(),
        1 => format!("{} {}", c.content_word(rng), c.content_word(rng)),
        2 => format!(
            "{} {} {}",
            c.content_word(rng),
            c.content_word(rng),
            c.content_word(rng)
        ),
        3 => format!("{} OR {}", c.content_word(rng), c.content_word(rng)),
        4 => {
            let (a, b) = *rng.pick(&c.phrases);
            format!("\"{}{}\"", c.word(a), c.word(b))
        }
        5 => format!("{} -{}", c.content_word(rng), c.content_word(rng)),
        6 => format!(
            "{} category:{}",
            c.content_word(rng),
            rng.pick(&c.top_categories)
        ),
        _ => {
            filters = Filters::scoped(Scope::Subtree(c.county(rng)));
            c.content_word(rng).to_owned()
        }
    };
    Query {
        kind,
        text,
        filters,
    }
}

fn queries(n: usize, c: &Corpus, rng: &mut Rng) -> Vec<Query> {
    (0..n)
        .map(|i| make_query(i % KINDS.len(), c, rng))
        .collect()
}

/// One query as the search endpoint answers it: parsed, searched, and a
/// snippet built for each hit of the page. Milliseconds, total hits, and
/// how many of the page's snippets panicked (see [`quiet_panics`]).
fn one_search(index: &CaseIndex, docs: &[CaseDoc], q: &Query) -> Result<Row> {
    let t = Instant::now();
    let expr = parse(&q.text).with_context(|| format!("query {:?}", q.text))?;
    let found = index.search(&expr, &q.filters, 0, PAGE)?;
    let mut panics = 0;
    for hit in &found.hits {
        let d = &docs[place_of(&hit.id)?];
        let built = catch_quietly(|| {
            black_box(found.highlighter().snippet(&[
                (TextField::Title, d.title.as_str()),
                (TextField::Description, d.description.as_str()),
            ]));
        });
        if !built {
            panics += 1;
            if PANIC_EXAMPLES.with(|n| n.replace(n.get() + 1)) < 3 {
                eprintln!(
                    "snippet panicked: query {:?}, case {} (place {}), title {:?}",
                    q.text,
                    hit.id,
                    place_of(&hit.id)?,
                    d.title
                );
            }
        }
    }
    Ok(Row {
        ms: t.elapsed().as_secs_f64() * 1000.0,
        hits: found.total,
        panics,
    })
}

#[derive(Clone, Copy)]
struct Row {
    ms: f64,
    hits: usize,
    panics: usize,
}

thread_local! {
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static PANIC_EXAMPLES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// `Highlighter::snippet` can panic on search-mode tokens (a long word's
/// parts come before the word, so offsets go backwards and tantivy's
/// fragment arithmetic wraps). The benchmark counts those instead of
/// dying; the hook stays quiet only inside [`catch_quietly`].
fn quiet_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !QUIET.with(std::cell::Cell::get) {
            default(info)
        }
    }));
}

fn catch_quietly(f: impl FnOnce()) -> bool {
    QUIET.with(|q| q.set(true));
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_ok();
    QUIET.with(|q| q.set(false));
    ok
}

type Timings = Vec<(String, Vec<Row>)>;

fn search(o: &Options, seg: &Arc<Segmenter>, docs: &[CaseDoc], c: &Corpus) -> Result<Timings> {
    let t = Instant::now();
    let index = CaseIndex::open(&o.dir, seg.clone())?;
    ensure!(
        index.len() == docs.len() as u64,
        "the index holds {} cases, the corpus {}",
        index.len(),
        docs.len()
    );
    let opened = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let bytes = warm_files(&o.dir)?;
    eprintln!(
        "reopened the index in {opened:.2}s ({} segments); read its {:.2} GB in {:.1}s",
        segments(&o.dir)?,
        bytes as f64 / 1e9,
        t.elapsed().as_secs_f64()
    );
    quiet_panics();
    // Warm-up with other queries than those timed.
    for q in queries(200, c, &mut Rng::new(SEED ^ 1)) {
        one_search(&index, docs, &q)?;
    }
    let mut by_kind: Vec<Vec<Row>> = vec![Vec::new(); KINDS.len()];
    let mut all = Vec::new();
    for q in queries(o.queries, c, &mut Rng::new(SEED ^ 2)) {
        let r = one_search(&index, docs, &q)?;
        by_kind[q.kind].push(r);
        all.push(r);
    }
    let mut out: Timings = KINDS
        .iter()
        .zip(by_kind)
        .map(|(k, v)| ((*k).to_owned(), v))
        .collect();
    out.push(("**all**".into(), all));
    Ok(out)
}

// ---------------------------------------------------------------- repeats

struct Draft {
    title: String,
    description: String,
    /// The synthetic case it was made from.
    source: Option<usize>,
}

#[derive(Clone, Copy)]
struct Check {
    total_ms: f64,
    retrieval_ms: f64,
    /// The draft's print and each candidate's, from its text.
    prints_ms: f64,
    judge_ms: f64,
    /// The shared phrases of the [`SHOWN`] most similar matches.
    phrases_ms: f64,
    matches: usize,
    /// Whether the source was judged a repeat (`None` for real messages).
    source: Option<bool>,
    source_candidate: bool,
}

fn drafts(
    n: usize,
    seg: &Segmenter,
    docs: &[CaseDoc],
    c: &Corpus,
    messages: &[Message],
    recent: &[usize],
    rng: &mut Rng,
) -> Vec<Draft> {
    (0..n)
        .map(|i| {
            if i % 2 == 0 || recent.is_empty() {
                let m = rng.pick(messages);
                Draft {
                    title: c.perturb(seg, &m.title, DRAFT_REPLACE, rng),
                    description: c.perturb(seg, &m.detail, DRAFT_REPLACE, rng),
                    source: None,
                }
            } else {
                let s = *rng.pick(recent);
                Draft {
                    title: c.perturb(seg, &docs[s].title, DRAFT_REPLACE, rng),
                    description: c.perturb(seg, &docs[s].description, DRAFT_REPLACE, rng),
                    source: Some(s),
                }
            }
        })
        .collect()
}

/// What the intake does for one draft: ask the index for the cases most
/// like it, judge each against it, and find the shared phrases of the
/// most similar it shows.
fn one_check(
    index: &CaseIndex,
    seg: &Segmenter,
    docs: &[CaseDoc],
    filters: &Filters,
    d: &Draft,
) -> Result<Check> {
    let t = Instant::now();
    let words = telling_words(seg, &d.title, &d.description, TELLING_WORDS);
    let hits = index.more_like(&words, filters, CANDIDATES)?;
    let retrieved = t.elapsed();
    let (mut prints, mut judging) = Default::default();
    let t1 = Instant::now();
    let print = TextPrint::of(seg, &d.title, &d.description);
    prints += t1.elapsed();
    let mut source_found = false;
    let mut matched = Vec::new();
    for hit in &hits {
        let place = place_of(&hit.id)?;
        let c = &docs[place];
        let t1 = Instant::now();
        let candidate = TextPrint::of(seg, &c.title, &c.description);
        let t2 = Instant::now();
        let judged = judge(&print, &candidate);
        prints += t2 - t1;
        judging += t2.elapsed();
        if let Some(m) = judged {
            matched.push((place, m));
            source_found |= d.source == Some(place);
            // As the intake: best-ranked first, until as many as it shows.
            if matched.len() == SHOWN {
                break;
            }
        }
    }
    let t1 = Instant::now();
    matched.sort_by(|a, b| b.1.similarity.total_cmp(&a.1.similarity));
    let draft_text = format!("{}\n{}", d.title, d.description);
    for (place, m) in matched.iter().take(SHOWN) {
        let c = &docs[*place];
        let text = format!("{}\n{}", c.title, c.description);
        black_box(shared_phrases(&draft_text, &text, 4, 5));
        black_box(m.kind == MatchKind::NearExact);
    }
    let phrases = t1.elapsed();
    let total = t.elapsed();
    let mut source_candidate = false;
    for hit in &hits {
        source_candidate |= d.source == Some(place_of(&hit.id)?);
    }
    Ok(Check {
        total_ms: ms(total),
        retrieval_ms: ms(retrieved),
        prints_ms: ms(prints),
        judge_ms: ms(judging),
        phrases_ms: ms(phrases),
        matches: matched.len(),
        source: d.source.map(|_| source_found),
        source_candidate,
    })
}

fn repeat_checks(
    o: &Options,
    seg: &Arc<Segmenter>,
    docs: &[CaseDoc],
    c: &Corpus,
    messages: &[Message],
) -> Result<(Checks, Vec<Variant>)> {
    let index = CaseIndex::open(&o.dir, seg.clone())?;
    let newest = docs
        .iter()
        .map(|d| d.registered_ms)
        .max()
        .unwrap_or(START_MS);
    let from = newest - REPEAT_WINDOW_MS;
    let mut filters = Filters::scoped(Scope::Everything);
    filters.registered_from_ms = Some(from);
    let recent: Vec<usize> = (0..docs.len())
        .filter(|&i| docs[i].registered_ms >= from)
        .collect();
    for d in drafts(50, seg, docs, c, messages, &recent, &mut Rng::new(SEED ^ 3)) {
        one_check(&index, seg, docs, &filters, &d)?;
    }
    let mut real = Vec::new();
    let mut synthetic = Vec::new();
    let drafts = drafts(
        o.drafts,
        seg,
        docs,
        c,
        messages,
        &recent,
        &mut Rng::new(SEED ^ 4),
    );
    let mut scored = Vec::new();
    for d in &drafts {
        let check = one_check(&index, seg, docs, &filters, d)?;
        if d.source.is_some() {
            synthetic.push(check);
        } else {
            real.push(check);
        }
    }
    let mut all = Vec::new();
    let mut out = vec![
        ("real message, 15% changed".to_owned(), real),
        ("recent case, 15% changed".to_owned(), synthetic),
    ];
    for (_, v) in &out {
        all.extend(v.iter().copied());
    }
    out.push(("**all**".into(), all));
    // How many cases the window's part of the query scores: every case
    // with any of the words asked for (counted outside the timings).
    for d in &drafts {
        let words =
            index.more_like_words(&telling_words(seg, &d.title, &d.description, TELLING_WORDS))?;
        let any = Expr::Or(
            words
                .into_iter()
                .map(|text| Expr::Words { field: None, text })
                .collect(),
        );
        scored.push(index.search(&any, &filters, 0, 1)?.total as f64);
    }
    scored.sort_by(f64::total_cmp);
    println!(
        "cases with any of the words a draft's query asks for inside the 180-day window: p50 {}, p90 {}, max {} (of {} in the window)",
        group(pct(&scored, 0.5) as usize),
        group(pct(&scored, 0.9) as usize),
        group(pct(&scored, 1.0) as usize),
        group(recent.len())
    );
    let variants = retrieval_variants(&index, seg, docs, from, &drafts)?;
    Ok((out, variants))
}

/// The checks of each kind of draft, and of all.
type Checks = Vec<(String, Vec<Check>)>;

struct Variant {
    name: String,
    ms: Vec<f64>,
    found: usize,
    sourced: usize,
}

/// Candidate retrieval alone, as the intake does it and as it did or might:
/// with the 12 words the general idf table calls rarest (before), or
/// without the date window in the query (so tantivy can prune with
/// block-max WAND, which it does only for a query that is a bare union of
/// terms) and the window applied to a longer list after.
fn retrieval_variants(
    index: &CaseIndex,
    seg: &Segmenter,
    docs: &[CaseDoc],
    from: i64,
    drafts: &[Draft],
) -> Result<Vec<Variant>> {
    let mut windowed = Filters::scoped(Scope::Everything);
    windowed.registered_from_ms = Some(from);
    let everything = Filters::scoped(Scope::Everything);
    // (name, telling words offered, window in the query, candidates asked for)
    let plans: [(&str, usize, bool, usize); 4] = [
        (
            "index picks 12 of 40 telling words, window in the query (as the intake does)",
            TELLING_WORDS,
            true,
            CANDIDATES,
        ),
        (
            "the general idf table's 12 words, window in the query (before)",
            DISTINCTIVE_WORDS,
            true,
            CANDIDATES,
        ),
        (
            "index picks 12 of 40, no window (all three years)",
            TELLING_WORDS,
            false,
            CANDIDATES,
        ),
        (
            "index picks 12 of 40, no window, best 100, window applied after",
            TELLING_WORDS,
            false,
            100,
        ),
    ];
    let mut out = Vec::new();
    for (name, k, in_query, limit) in plans {
        let mut v = Variant {
            name: name.to_owned(),
            ms: Vec::new(),
            found: 0,
            sourced: 0,
        };
        for d in drafts {
            let t = Instant::now();
            let words = telling_words(seg, &d.title, &d.description, k);
            let filters = if in_query { &windowed } else { &everything };
            let hits = index.more_like(&words, filters, limit)?;
            let mut places = Vec::with_capacity(CANDIDATES);
            for hit in &hits {
                let place = place_of(&hit.id)?;
                if in_query || docs[place].registered_ms >= from {
                    places.push(place);
                }
                if places.len() == CANDIDATES {
                    break;
                }
            }
            v.ms.push(ms(t.elapsed()));
            if let Some(s) = d.source {
                v.sourced += 1;
                v.found += usize::from(places.contains(&s));
            }
        }
        out.push(v);
    }
    Ok(out)
}

// ---------------------------------------------------------------- helpers

/// splitmix64: small, fast, and the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64) / ((1u64 << 53) as f64) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn weighted<'a>(&mut self, items: &[(&'a str, u32)]) -> &'a str {
        let total: u32 = items.iter().map(|i| i.1).sum();
        let mut x = self.below(total as usize) as u32;
        for (v, w) in items {
            if x < *w {
                return v;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The nearest-rank percentile of sorted values (`p` = 1 is the maximum).
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// 1234567 → "1,234,567".
fn group(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_grouping() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(pct(&v, 0.5), 50.0);
        assert_eq!(pct(&v, 0.99), 99.0);
        assert_eq!(pct(&v, 1.0), 100.0);
        assert_eq!(pct(&[], 0.5), 0.0);
        assert_eq!(group(1_000_000), "1,000,000");
        assert_eq!(group(999), "999");
    }

    #[test]
    fn ids_give_back_their_place() {
        let mut rng = Rng::new(1);
        for i in [0, 7, 999_999, 4_000_000] {
            let id = case_id(START_MS + 12_345, i, &mut rng);
            assert_eq!(place_of(&id).unwrap(), i);
            assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);
        }
    }

    #[test]
    fn the_generator_is_deterministic() {
        let a: Vec<u64> = {
            let mut r = Rng::new(SEED);
            (0..5).map(|_| r.next()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(SEED);
            (0..5).map(|_| r.next()).collect()
        };
        assert_eq!(a, b);
        let mut r = Rng::new(3);
        assert!((0..1000).all(|_| r.below(7) < 7));
    }
}
