//! Category suggestions per second on one core, for texts of the real
//! messages' length: a model trained on the 495 labelled messages, then
//! every one of the 4,326 messages (title and detail) suggested by the
//! model, by the built-in lexicon, and segmented alone for comparison.
//! The target is 10,000 texts/s for the model.
//!
//! `cargo bench -p jiefen-text --bench classify`. The data are read in
//! place from `../shared/data` and never copied into the repository.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jiefen_text::classify::{Document, Model, Params};
use jiefen_text::{Lexicon, Segmenter};
use std::hint::black_box;
use std::time::Instant;

fn read(name: &str) -> Vec<serde_json::Value> {
    let path = format!("{}/../../../shared/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{path}: {e}; this benchmark needs the real messages in ../shared/data")
    });
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{path} line {}: {e}", i + 1))
        })
        .collect()
}

fn field(v: &serde_json::Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("a message without {key}: {v}"))
        .to_owned()
}

fn doc(v: &serde_json::Value) -> Document {
    Document {
        title: field(v, "title"),
        detail: field(v, "detail"),
    }
}

/// Median texts per second over a few plain passes, printed beside
/// criterion's figures so the number the target speaks of is on one line.
fn texts_per_second(docs: &[Document], mut suggest: impl FnMut(&Document)) -> f64 {
    let mut rates: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for d in docs {
                suggest(d);
            }
            docs.len() as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn bench(c: &mut Criterion) {
    let seg = Segmenter::new();
    let labelled: Vec<(Document, String)> = read("tipdm-labelled.jsonl")
        .iter()
        .map(|v| (doc(v), field(v, "category")))
        .collect();
    let model = Model::train(&seg, &labelled, Params::default());
    let lexicon = Lexicon::builtin();
    let docs: Vec<Document> = read("tipdm-messages.jsonl").iter().map(doc).collect();
    let chars: usize = docs
        .iter()
        .map(|d| d.title.chars().count() + d.detail.chars().count())
        .sum();
    eprintln!(
        "{} messages, mean {:.0} characters (title + detail)",
        docs.len(),
        chars as f64 / docs.len() as f64
    );

    let mut group = c.benchmark_group("suggest");
    group.sample_size(20);
    group.throughput(Throughput::Elements(docs.len() as u64));
    group.bench_function("model", |b| {
        b.iter(|| {
            for d in &docs {
                black_box(model.suggest(&seg, d));
            }
        })
    });
    group.bench_function("lexicon", |b| {
        b.iter(|| {
            for d in &docs {
                black_box(lexicon.suggest(d, 3));
            }
        })
    });
    group.bench_function("segment only", |b| {
        b.iter(|| {
            for d in &docs {
                black_box(seg.words(&d.title));
                black_box(seg.words(&d.detail));
            }
        })
    });
    group.finish();

    let model_rate = texts_per_second(&docs, |d| {
        black_box(model.suggest(&seg, d));
    });
    let lexicon_rate = texts_per_second(&docs, |d| {
        black_box(lexicon.suggest(d, 3));
    });
    eprintln!("model:   {model_rate:.0} texts/s (median of 7 passes, one core)");
    eprintln!("lexicon: {lexicon_rate:.0} texts/s (median of 7 passes, one core)");
}

criterion_group!(benches, bench);
criterion_main!(benches);
