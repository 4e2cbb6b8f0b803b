//! Demo data: loaded by `serve --demo` into an empty store, and generated at
//! scale by `jiefen gen` for benchmarks and trials. Either way every case
//! goes through the ledger, so its history is real and verifiable.

use crate::{
    load_or_create_key, open_store, open_with, people, rules, search, taxonomy, StoreArgs,
};
use anyhow::{bail, Result};
use jiefen_demo::Volume;
use jiefen_store::vault::{MasterKey, Vault, MASTER_KEY_ENV};
use jiefen_store::{Clock, Ledger, Store, SystemClock};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// The demo's own master key, kept in its data directory for convenience:
/// never do this with real data, whose key belongs elsewhere.
pub fn master_key(data: &Path) -> Result<MasterKey> {
    let path = data.join("demo-master.key");
    if !path.exists() {
        std::fs::create_dir_all(data)?;
        let (_, text) = MasterKey::generate();
        people::write_private(&path, &format!("{text}\n"))?;
        eprintln!(
            "Demo: generated a master key for personal data in {} (a real deployment keeps it apart from its data).",
            path.display()
        );
    }
    Ok(MasterKey::from_file(&path)?)
}

/// The key given for the store, or else the demo's own.
fn key_or_demo(args: &StoreArgs) -> Result<MasterKey> {
    match args.master_key()? {
        Some(k) => Ok(k),
        None => master_key(&args.data),
    }
}

/// Loads the demo city and the volume's cases into `store`, which must be
/// empty, with history reaching back from now.
pub async fn load(
    args: &StoreArgs,
    store: Arc<dyn Store>,
    master: &MasterKey,
    volume: Volume,
) -> Result<jiefen_demo::Loaded> {
    let key = load_or_create_key(&args.data)?;
    let taxonomy = taxonomy(args)?;
    let demo_rules = rules(args, &taxonomy)?;
    let origin = args.origin.clone();
    let vault = Vault::new(master);
    let loaded = jiefen_demo::load(volume, SystemClock.now(), move |clock| {
        let opened = Ledger::open(store, taxonomy, clock, key, origin, Some(vault));
        async move {
            let ledger = opened.await?;
            ledger.set_rules(demo_rules);
            Ok(ledger)
        }
    })
    .await?;
    Ok(loaded)
}

/// `jiefen gen`: a store of demo data at scale, with the demo's accounts and
/// a caught-up search index, ready for `jiefen serve --demo`.
pub async fn generate(args: StoreArgs, volume: Volume) -> Result<ExitCode> {
    let master = key_or_demo(&args)?;
    let store = open_store(&args).await?;
    let existing = store.count_cases().await?;
    if existing > 0 {
        bail!(
            "the store already holds {existing} cases; `jiefen gen` only fills an empty one (give another --data or --database)"
        );
    }
    let started = Instant::now();
    let loaded = load(&args, store.clone(), &master, volume).await?;
    let written = started.elapsed().as_secs_f64();
    println!(
        "generated {} cases ({} actions, {} refused by the rules) over {} days in {written:.0} s ({:.0} cases/s); the deadline engine then recorded {} signal changes and {} escalations up to now",
        loaded.cases,
        loaded.actions,
        loaded.refused,
        volume.days,
        loaded.cases as f64 / written.max(1e-9),
        loaded.engine.signal_changes,
        loaded.engine.escalations,
    );
    let ledger = open_with(&args, store, Arc::new(SystemClock), Some(&master)).await?;
    let accounts =
        jiefen_store::accounts::Accounts::new(ledger.store().clone(), ledger.clock().clone());
    people::demo_accounts(&accounts, &ledger, &args.data).await?;
    let indexing = Instant::now();
    search::follower(&args, &ledger).await?;
    println!(
        "indexed them for search in {:.0} s; demo accounts in {}",
        indexing.elapsed().as_secs_f64(),
        args.data.join("demo-credentials.txt").display()
    );
    if args.master_key()?.is_none() {
        eprintln!(
            "Serve it with `jiefen serve --demo --data {}` (the demo's master key is in the data directory; {MASTER_KEY_ENV} was not set).",
            args.data.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `serve --demo`: the demo loaded into an empty store, and a store that
/// already holds cases left as it is.
pub async fn load_into_empty(
    args: &StoreArgs,
    store: Arc<dyn Store>,
    master: &MasterKey,
    volume: Volume,
) -> Result<()> {
    if store.count_cases().await? > 0 {
        tracing::info!("the store already holds cases; not loading demo data again");
        return Ok(());
    }
    tracing::info!(cases = volume.cases, "loading the demo city and cases");
    let loaded = load(args, store, master, volume).await?;
    tracing::info!(
        cases = loaded.cases,
        actions = loaded.actions,
        "demo loaded"
    );
    Ok(())
}
