//! The classifier on the real labelled messages (`../shared/data`, read
//! in place, never copied into the repository): 5-fold stratified
//! cross-validation must reach the 0.80 accuracy.

use jiefen_text::classify::{cross_validate, Document, Params};
use jiefen_text::Segmenter;

mod common;

fn labelled() -> Vec<(Document, String)> {
    common::shared_data("tipdm-labelled.jsonl")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v[k].as_str().unwrap().to_owned();
            (Document::new(s("title"), s("detail")), s("category"))
        })
        .collect()
}

#[test]
fn five_fold_accuracy_on_the_real_messages() {
    let data = labelled();
    assert_eq!(data.len(), 495);
    let seg = Segmenter::new();
    let eval = cross_validate(&seg, &data, 5, 0, Params::default());
    eprintln!(
        "5-fold accuracy {:.4}, macro-F1 {:.4}",
        eval.accuracy, eval.macro_f1
    );
    assert!(eval.accuracy >= 0.80, "{eval:?}");
    assert_eq!(eval.classes.len(), 7);
    assert!(eval.macro_f1 > 0.75, "{eval:?}");
    // Deterministic for a seed.
    let again = cross_validate(&seg, &data, 5, 0, Params::default());
    assert_eq!(again.accuracy, eval.accuracy);
}
