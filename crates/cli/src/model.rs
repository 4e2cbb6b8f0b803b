//! `jiefen model`: the category classifier, evaluated on labelled data.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use jiefen_text::classify::{cross_validate, Document, Params};
use jiefen_text::Segmenter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Cross-validate the classifier on a labelled file: per-category
    /// precision and recall, macro-F1 and accuracy; the same for a seed.
    Eval {
        /// JSON lines with `title`, `detail` (or `description`) and `category`.
        file: PathBuf,
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=20))]
        folds: u64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

pub fn model(command: ModelCommand) -> Result<ExitCode> {
    match command {
        ModelCommand::Eval { file, folds, seed } => {
            let examples = read_labelled(&file)?;
            let seg = Segmenter::new();
            let eval = cross_validate(&seg, &examples, folds as usize, seed, Params::default());
            println!(
                "{} examples, {folds}-fold cross-validation, seed {seed}",
                eval.examples
            );
            println!("category\tprecision\trecall\tF1\tsupport");
            for (label, p, r, f1, n) in &eval.classes {
                println!("{label}\t{p:.3}\t{r:.3}\t{f1:.3}\t{n}");
            }
            println!("macro-F1\t{:.4}", eval.macro_f1);
            println!("accuracy\t{:.4}", eval.accuracy);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Labelled examples from JSON lines; a bad line is an error naming it.
fn read_labelled(path: &Path) -> Result<Vec<(Document, String)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{} line {}: not JSON", path.display(), i + 1))?;
        let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        let (Some(category), Some(detail)) = (
            field("category"),
            field("detail").or_else(|| field("description")),
        ) else {
            bail!(
                "{} line {}: needs \"category\" and \"detail\" (or \"description\")",
                path.display(),
                i + 1
            );
        };
        out.push((
            Document {
                title: field("title").unwrap_or_default(),
                detail,
            },
            category,
        ));
    }
    if out.len() < 10 {
        bail!(
            "{}: {} labelled examples are too few to evaluate",
            path.display(),
            out.len()
        );
    }
    Ok(out)
}
