//! `jiefen backup`, `jiefen keys export`, `jiefen restore` and `jiefen
//! erase`: backups made so that an erasure reaches them too (see
//! `jiefen_store::backup`).

use crate::people::{private_file, CLI_ACTOR};
use crate::{open, StoreArgs};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use jiefen_domain::audit::{recorded_reason, AuditAction, AuditEntry};
use jiefen_domain::case::CaseId;
use jiefen_store::accounts::Accounts;
use jiefen_store::backup::check_key_export;
use jiefen_store::sqlite::SqliteStore;
use jiefen_store::vault::Vault;
use jiefen_store::{StoreError, SystemClock};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// What README tells PostgreSQL deployments to leave out of `pg_dump`.
const PG_DUMP_EXCLUSIONS: &str = "--exclude-table-data=party_keys \
     --exclude-table-data=identities --exclude-table-data=sessions";

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Write every party's wrapped data key and the register of erasures
    /// to a new file (owner-only). Keep only the latest: an erasure leaves
    /// its key in the exports made before it.
    Export {
        #[command(flatten)]
        store: StoreArgs,
        /// The file to write (must not exist).
        #[arg(long)]
        to: PathBuf,
    },
}

pub async fn backup(store: StoreArgs, to: &Path, keys: Option<&Path>) -> Result<ExitCode> {
    if store.database.is_some() {
        bail!(
            "backups of a PostgreSQL store are made with pg_dump {PG_DUMP_EXCLUSIONS}, \
             and the keys with `jiefen keys export` (see README, \"Backups\")"
        );
    }
    let path = store.data.join("jiefen.db");
    if !path.exists() {
        bail!("no database at {}", path.display());
    }
    if let Some(keys) = keys {
        if keys.exists() {
            bail!(
                "{} exists; a key export never overwrites a file",
                keys.display()
            );
        }
    }
    let sqlite = SqliteStore::open(&path)
        .await
        .with_context(|| format!("cannot open {}", path.display()))?;
    sqlite
        .backup_to(to)
        .await
        .with_context(|| format!("cannot write the backup {}", to.display()))?;
    println!(
        "backup written to {} (personal data sealed, no data keys)",
        to.display()
    );
    drop(sqlite);
    if let Some(keys) = keys {
        export_keys(&store, keys).await?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn keys(command: KeysCommand) -> Result<ExitCode> {
    match command {
        KeysCommand::Export { store, to } => {
            export_keys(&store, &to).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn export_keys(store: &StoreArgs, to: &Path) -> Result<()> {
    let ledger = open(store, Arc::new(SystemClock)).await?;
    let partial = to.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let result = async {
        let mut file = std::io::BufWriter::new(private_file(&partial, false)?);
        let report = ledger.export_keys(&mut file).await?;
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        if to.exists() {
            bail!(
                "{} exists; a key export never overwrites a file",
                to.display()
            );
        }
        std::fs::rename(&partial, to)?;
        anyhow::Ok(report)
    }
    .await;
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.context(format!("cannot export the keys to {}", to.display())));
        }
    };
    println!(
        "{} keys and {} erasures written to {}",
        report.keys,
        report.erasures,
        to.display()
    );
    Ok(())
}

pub async fn restore(store: StoreArgs, from: Option<&Path>, keys: &Path) -> Result<ExitCode> {
    let Some(from) = from else {
        return restore_keys(&store, keys).await;
    };
    if store.database.is_some() {
        bail!("--from restores a SQLite backup; restore PostgreSQL with pg_restore or psql, then run this without --from");
    }
    let target = store.data.join("jiefen.db");
    if target.exists() {
        bail!(
            "{} exists; restore into an empty data directory",
            target.display()
        );
    }
    if !store.data.join("signing.key").exists() {
        bail!(
            "{} has no signing.key: restore the data directory's files (signing.key, blobs/) first, \
             or the restored log could not be verified against its own checkpoints",
            store.data.display()
        );
    }
    let master = store
        .master_key()?
        .context("a restore needs the master key (--master-key-file or JIEFEN_MASTER_KEY)")?;
    check_key_export(keys, &Vault::new(&master))
        .with_context(|| format!("cannot restore the keys from {}", keys.display()))?;
    std::fs::copy(from, &target)
        .with_context(|| format!("cannot copy {} to {}", from.display(), target.display()))?;
    let result = restore_keys(&store, keys).await;
    if result.is_err() {
        // A restore without its keys is not a restore: leave nothing behind.
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
        }
    }
    result
}

async fn restore_keys(store: &StoreArgs, keys: &Path) -> Result<ExitCode> {
    let ledger = open(store, Arc::new(SystemClock)).await?;
    let report = ledger
        .restore_keys(keys)
        .await
        .with_context(|| format!("cannot restore the keys from {}", keys.display()))?;
    println!(
        "{} keys restored, {} erasures applied, {} unchanged; identity hashes of {} cases rebuilt",
        report.merge.restored, report.merge.erased, report.merge.unchanged, report.cases
    );
    if report.keyless > 0 {
        println!(
            "{} parties have no key (registered after the key export): their personal data cannot be read",
            report.keyless
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn erase(store: StoreArgs, case: &str, party: u32, reason: &str) -> Result<ExitCode> {
    let id = CaseId::parse(case).with_context(|| format!("{case:?} is not a case id"))?;
    let Some(reason) = recorded_reason(reason) else {
        bail!("--reason: say on what ground (2–200 characters); it is recorded");
    };
    let ledger = open(&store, Arc::new(SystemClock)).await?;
    let fields = match ledger.erase_party(id, party).await {
        Err(StoreError::NotFound) => {
            bail!("case {id} has no party {party} with personal data to erase")
        }
        Err(StoreError::Locked) => {
            bail!("erasure needs the master key (--master-key-file or JIEFEN_MASTER_KEY)")
        }
        other => other?,
    };
    let accounts = Accounts::new(ledger.store().clone(), ledger.clock().clone());
    let entry = AuditEntry::new(
        ledger.clock().now(),
        CLI_ACTOR,
        AuditAction::PersonalDataErased,
    )
    .party(id, party)
    .fields(fields.clone())
    .reason(reason);
    accounts.audit(vec![entry]).await?;
    let names: Vec<&str> = fields.iter().map(|f| f.as_str()).collect();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "erased party {party} of case {id}: {}",
        names.join(", ")
    )?;
    writeln!(
        out,
        "key exports made before now still hold this party's key: replace them with a new `jiefen keys export`"
    )?;
    Ok(ExitCode::SUCCESS)
}
