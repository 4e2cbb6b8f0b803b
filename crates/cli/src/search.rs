//! The search index in the data directory: opened and caught up by `serve`,
//! rebuilt by `jiefen reindex`.

use crate::{open, StoreArgs};
use anyhow::{Context, Result};
use jiefen_search::{CaseIndex, Follower};
use jiefen_store::{Ledger, SystemClock};
use std::process::ExitCode;
use std::sync::Arc;

/// The index beside the database, brought up to the end of the event log
/// before the server answers: whatever the last run committed to the store
/// but not to the index (a crash between the two) is indexed now.
pub async fn follower(args: &StoreArgs, ledger: &Ledger) -> Result<Arc<Follower>> {
    let follower = open_index(args, ledger)?;
    let started = std::time::Instant::now();
    let caught = follower.catch_up().await?;
    if caught.cases > 0 {
        tracing::info!(
            cases = caught.cases,
            position = caught.position,
            seconds = started.elapsed().as_secs_f64(),
            "search index caught up with the event log"
        );
    }
    Ok(follower)
}

/// The index in the data directory, following `ledger`, as it was left.
fn open_index(args: &StoreArgs, ledger: &Ledger) -> Result<Arc<Follower>> {
    let dir = args.data.join("search");
    let index = CaseIndex::open(&dir, jiefen_web::shared_segmenter())
        .with_context(|| format!("cannot open the search index in {}", dir.display()))?;
    Ok(Follower::new(Arc::new(index), ledger.clone()))
}

pub async fn reindex(args: StoreArgs) -> Result<ExitCode> {
    let ledger = open(&args, Arc::new(SystemClock)).await?;
    let follower = open_index(&args, &ledger)?;
    let started = std::time::Instant::now();
    let done = follower.rebuild().await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "indexed {} cases up to log position {} in {seconds:.1} s ({:.0} cases/s)",
        done.cases,
        done.position,
        done.cases as f64 / seconds.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}

/// Searches as the administrator would (no scope), catching the index up
/// first; prints the best cases with their snippets.
pub async fn search(args: StoreArgs, query: &str, limit: usize) -> Result<ExitCode> {
    let expr = match jiefen_search::parse(query) {
        Ok(e) => e,
        Err(e) => anyhow::bail!("the search {e}"),
    };
    let ledger = open(&args, Arc::new(SystemClock)).await?;
    let follower = follower(&args, &ledger).await?;
    let found = follower.index().search(
        &expr,
        &jiefen_search::Filters::scoped(jiefen_search::Scope::Everything),
        0,
        limit,
    )?;
    println!("{} cases match", found.total);
    for hit in &found.hits {
        let Some(case) = jiefen_domain::case::CaseId::parse(&hit.id) else {
            continue;
        };
        let Some(case) = ledger.get(case).await? else {
            continue;
        };
        println!(
            "\n{}  {}  (score {:.2})",
            case.number, case.title, hit.score
        );
        let texts = [
            (jiefen_search::TextField::Title, case.title.as_str()),
            (
                jiefen_search::TextField::Description,
                case.description.as_str(),
            ),
        ];
        if let Some(s) = found.highlighter().snippet(&texts) {
            println!("  {}", marked(&s));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The snippet with its highlights in 【】, for a terminal.
fn marked(snippet: &jiefen_search::Snippet) -> String {
    let mut out = String::new();
    let mut open = snippet.highlights.iter().peekable();
    for (i, c) in snippet.text.chars().enumerate() {
        if open.peek().is_some_and(|(from, _)| *from == i) {
            out.push('【');
        }
        out.push(c);
        if open.peek().is_some_and(|(_, to)| *to == i + 1) {
            out.push('】');
            open.next();
        }
    }
    out.replace('\n', " ")
}
