//! `jiefen model`: the category classifier — trained on a deployment's
//! confirmed cases or a labelled file, and evaluated by cross-validation.

use crate::records;
use crate::{open, taxonomy, StoreArgs};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use jiefen_domain::taxonomy::{CategoryCode, Taxonomy};
use jiefen_store::{Clock, SystemClock};
use jiefen_text::classify::{cross_validate, Document, Model, ModelFile, Params, MODEL_FORMAT};
use jiefen_text::Segmenter;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Cross-validate the classifier on a labelled file: per-category
    /// precision and recall, macro-F1 and accuracy; the same for a seed.
    Eval {
        /// JSON lines or CSV with `title`, `detail` (or `description`) and
        /// `category` (see README).
        file: PathBuf,
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=20))]
        folds: u64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Train a model and write it where the server finds it (it loads a new
    /// one within a tick, or at once on POST /api/v1/model/reload).
    Train {
        #[command(flatten)]
        store: StoreArgs,
        /// A labelled file (as for eval) instead of the store's cases that
        /// staff registered (their category is the one a clerk confirmed
        /// or corrected).
        #[arg(long)]
        from: Option<PathBuf>,
        /// Where to write the model; by default model.json in the data
        /// directory, which the server reads.
        #[arg(long)]
        to: Option<PathBuf>,
    },
}

/// Actors whose registrations carry no clerk's judgement of the category.
const UNCONFIRMED: &[&str] = &["citizen"];

pub async fn model(command: ModelCommand) -> Result<ExitCode> {
    match command {
        ModelCommand::Eval { file, folds, seed } => {
            let examples = read_labelled(&file, None)?;
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
        ModelCommand::Train { store, from, to } => {
            let taxonomy = taxonomy(&store)?;
            let examples = match &from {
                Some(file) => read_labelled(file, Some(&taxonomy))?,
                None => confirmed_cases(&store).await?,
            };
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, label) in &examples {
                *counts.entry(label).or_default() += 1;
            }
            if counts.len() < 2 || examples.len() < 10 {
                bail!(
                    "{} examples in {} categories are too few to train on (at least 10 in 2)",
                    examples.len(),
                    counts.len()
                );
            }
            let seg = Segmenter::new();
            let model = Model::train(&seg, &examples, Params::default());
            let file = ModelFile {
                format: MODEL_FORMAT.into(),
                trained_at: SystemClock.now().to_rfc3339(),
                examples: examples.len(),
                model,
            };
            let to = to.unwrap_or_else(|| store.data.join(crate::MODEL_FILE));
            write_atomically(&to, &serde_json::to_vec(&file)?)?;
            println!(
                "trained on {} examples in {} categories; wrote {}",
                examples.len(),
                counts.len(),
                to.display()
            );
            for (label, n) in counts {
                println!("{label}\t{n}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The text and the clerk-confirmed category of every case staff
/// registered.
async fn confirmed_cases(store: &StoreArgs) -> Result<Vec<(Document, String)>> {
    let ledger = open(store, Arc::new(SystemClock)).await?;
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let ids = ledger.store().case_ids(after, 1000).await?;
        let Some(last) = ids.last().copied() else {
            break;
        };
        after = Some(last);
        for id in ids {
            if let Some(case) = ledger.get(id).await? {
                if UNCONFIRMED.contains(&case.registered_by.as_str()) {
                    continue;
                }
                out.push((
                    Document::new(case.title.as_str(), case.description.as_str()),
                    case.category.to_string(),
                ));
            }
        }
    }
    Ok(out)
}

/// Writes the whole file or nothing: a server reading it meanwhile sees
/// the old model or the new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Labelled examples from JSON lines or CSV; a bad record is an error
/// naming its line. With a taxonomy, a category may be given by its code
/// or its name (城乡建设) and must exist.
fn read_labelled(path: &Path, taxonomy: Option<&Taxonomy>) -> Result<Vec<(Document, String)>> {
    let mut out = Vec::new();
    for record in records::read(path)? {
        let record =
            record.map_err(|e| anyhow::anyhow!("{}:{}: {}", path.display(), e.line, e.message))?;
        let line = record.line;
        let (Some(category), Some(detail)) = (
            record.get("category"),
            record.first(&["detail", "description", "text", "content"]),
        ) else {
            bail!(
                "{}:{line}: needs \"category\" and \"detail\" (or \"description\")",
                path.display()
            );
        };
        let category = match taxonomy {
            None => category.to_owned(),
            Some(t) => category_code(t, category).ok_or_else(|| {
                anyhow::anyhow!(
                    "{}:{line}: {category:?} is neither a category code nor a category name of the taxonomy",
                    path.display()
                )
            })?,
        };
        out.push((
            Document::new(record.get("title").unwrap_or_default(), detail),
            category,
        ));
    }
    if out.len() < 10 {
        bail!(
            "{}: {} labelled examples are too few",
            path.display(),
            out.len()
        );
    }
    Ok(out)
}

fn category_code(taxonomy: &Taxonomy, given: &str) -> Option<String> {
    if let Ok(code) = CategoryCode::parse(given) {
        if taxonomy.get(&code).is_some() {
            return Some(code.to_string());
        }
    }
    taxonomy
        .categories()
        .find(|c| c.name == given)
        .map(|c| c.code.to_string())
}
