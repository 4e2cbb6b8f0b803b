//! Backups that cannot bring an erased party back.
//!
//! Crypto-shredding only reaches backups if the keys are not in them. So a
//! deployment keeps two things apart:
//!
//! - **Data backups** (`SqliteStore::backup_to`, or `pg_dump` with the
//!   exclusions README names): everything but the parties' data keys, the
//!   identity hashes and sessions. Personal values are in them only sealed.
//!   They can be kept for years and copied anywhere: once a party is
//!   erased, no key to open its values exists any more.
//! - **Key exports** ([`Ledger::export_keys`]): the wrapped data keys and
//!   the register of erasures, small, still useless without the master key.
//!   An erasure makes earlier key exports the one place its key survives,
//!   so they are replaced, not accumulated (README, "Backups").
//!
//! A restore ([`Ledger::restore_keys`]) puts a key export into a restored
//! store: every erasure the export records is applied (the newer of the two
//! wins, because erasures are never undone), keys fill the parties that
//! lack them, and the identity hashes are rebuilt from what can be opened.
//!
//! Key export format, JSON lines: a header
//! `{"format":"jiefen.party-keys.v1","made_at_ms":…,"check":"<master key check value>"}`
//! then one line per party,
//! `{"case":"<id>","party":N,"key":"<base64url wrapped key>"}` or
//! `{"case":"<id>","party":N,"erased_at_ms":…}`.

use crate::ledger::Ledger;
use crate::rows::{KeyMerge, PartyKeyRow};
use crate::vault::Vault;
use crate::StoreError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jiefen_domain::case::CaseId;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

pub const KEYS_FORMAT: &str = "jiefen.party-keys.v1";

/// Rows per page read from the store or merged into it.
const PAGE: u32 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("key export line {line}: {message}")]
    Format { line: usize, message: String },
    #[error("the key export was made under another master key")]
    WrongMasterKey,
    #[error("personal data is sealed and no master key was given")]
    Locked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    made_at_ms: i64,
    check: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyLine {
    case: String,
    party: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    erased_at_ms: Option<i64>,
}

/// What a key export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KeyExport {
    pub keys: u64,
    pub erasures: u64,
}

/// What a restore of keys did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KeyRestore {
    pub merge: KeyMerge,
    /// Parties still without a key afterwards (registered after the key
    /// export was made): their values cannot be opened.
    pub keyless: u64,
    /// Cases whose identity hashes were rebuilt.
    pub cases: u64,
}

impl Ledger {
    /// Writes every party's wrapped key and every erasure to `out`.
    pub async fn export_keys(&self, out: &mut impl Write) -> Result<KeyExport, BackupError> {
        let vault = self.vault.as_deref().ok_or(BackupError::Locked)?;
        let header = Header {
            format: KEYS_FORMAT.into(),
            made_at_ms: self.clock.now().unix_millis(),
            check: vault.check_value().into(),
        };
        writeln!(out, "{}", json_line(&header))?;
        let mut report = KeyExport::default();
        let mut after = None;
        loop {
            let page = self.store.party_keys_after(after, PAGE).await?;
            let Some((id, last)) = page.last() else {
                break;
            };
            after = Some((*id, last.party_no));
            for (id, k) in &page {
                let line = KeyLine {
                    case: id.to_string(),
                    party: k.party_no,
                    key: k.wrapped.as_deref().map(|w| URL_SAFE_NO_PAD.encode(w)),
                    erased_at_ms: k.erased_at_ms,
                };
                match (&line.key, line.erased_at_ms) {
                    (_, Some(_)) => report.erasures += 1,
                    (Some(_), None) => report.keys += 1,
                    // A keyless party of a restored store: nothing to carry.
                    (None, None) => continue,
                }
                writeln!(out, "{}", json_line(&line))?;
            }
        }
        out.flush()?;
        Ok(report)
    }

    /// Puts a key export into this (restored) store and rebuilds the
    /// identity hashes. The whole file is read and every key checked
    /// against the master key before anything changes; applying it twice
    /// changes nothing the second time.
    pub async fn restore_keys(&self, path: &Path) -> Result<KeyRestore, BackupError> {
        let vault = self.vault.as_deref().ok_or(BackupError::Locked)?;
        check_key_export(path, vault)?;
        for (i, line) in read_lines(path)?.skip(1).enumerate() {
            let (id, row) = parse_key(Some(line), i + 2)?;
            if let Some(wrapped) = &row.wrapped {
                vault
                    .unwrap(wrapped, id, row.party_no)
                    .map_err(|e| BackupError::Format {
                        line: i + 2,
                        message: e.to_string(),
                    })?;
            }
        }
        let mut report = KeyRestore::default();
        let mut page = Vec::with_capacity(PAGE as usize);
        for (i, line) in read_lines(path)?.skip(1).enumerate() {
            page.push(parse_key(Some(line), i + 2)?);
            if page.len() == PAGE as usize {
                report.merge += self.store.merge_party_keys(&page).await?;
                page.clear();
            }
        }
        report.merge += self.store.merge_party_keys(&page).await?;
        report.cases = self.rebuild_identities().await?;
        report.keyless = self.store.count_keyless_parties().await?;
        self.store.scrub().await?;
        Ok(report)
    }

    /// Recomputes every case's identity hashes from its parties as far as
    /// their values open (erased and keyless parties give none).
    pub async fn rebuild_identities(&self) -> Result<u64, StoreError> {
        let mut cases = 0;
        let mut after = None;
        loop {
            let ids = self.store.case_ids(after, PAGE).await?;
            let Some(last) = ids.last() else {
                break;
            };
            after = Some(*last);
            for id in ids {
                let Some(case) = self.store.get_case(id).await? else {
                    continue;
                };
                let (values, erased) = self.opened_personal(id).await?;
                let identities = self.identities_of(&case, &values, &erased)?;
                self.store
                    .replace_identities(id, &identities, case.registered_at.unix_millis())
                    .await?;
                cases += 1;
            }
        }
        Ok(cases)
    }
}

/// Checks that `path` starts like a key export made under this master
/// key (what a restore checks before it copies anything).
pub fn check_key_export(path: &Path, vault: &Vault) -> Result<(), BackupError> {
    let header: Header = parse_line(read_lines(path)?.next(), 1)?;
    if header.format != KEYS_FORMAT {
        return Err(BackupError::Format {
            line: 1,
            message: format!("format {:?}, expected {KEYS_FORMAT:?}", header.format),
        });
    }
    if header.check != vault.check_value() {
        return Err(BackupError::WrongMasterKey);
    }
    Ok(())
}

fn json_line(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("key export lines serialise")
}

fn read_lines(path: &Path) -> Result<impl Iterator<Item = std::io::Result<String>>, BackupError> {
    let file = std::fs::File::open(path)?;
    Ok(BufReader::new(file)
        .lines()
        .filter(|l| l.as_ref().map_or(true, |l| !l.trim().is_empty())))
}

fn parse_line<T: for<'de> Deserialize<'de>>(
    line: Option<std::io::Result<String>>,
    no: usize,
) -> Result<T, BackupError> {
    let text = line.ok_or(BackupError::Format {
        line: no,
        message: "the file ends early".into(),
    })??;
    serde_json::from_str(&text).map_err(|e| BackupError::Format {
        line: no,
        message: e.to_string(),
    })
}

fn parse_key(
    line: Option<std::io::Result<String>>,
    no: usize,
) -> Result<(CaseId, PartyKeyRow), BackupError> {
    let k: KeyLine = parse_line(line, no)?;
    let bad = |message: String| BackupError::Format { line: no, message };
    let id = CaseId::parse(&k.case).ok_or_else(|| bad(format!("{:?} is not a case id", k.case)))?;
    let wrapped = match (&k.key, k.erased_at_ms) {
        (Some(key), None) => Some(
            URL_SAFE_NO_PAD
                .decode(key)
                .map_err(|_| bad("the key is not base64url".into()))?,
        ),
        (None, Some(_)) => None,
        _ => return Err(bad("a line holds either a key or an erasure".into())),
    };
    Ok((
        id,
        PartyKeyRow {
            party_no: k.party,
            wrapped,
            erased_at_ms: k.erased_at_ms,
        },
    ))
}
