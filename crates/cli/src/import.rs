//! `jiefen import`: cases from a JSON-lines or CSV file (a hotline's export,
//! a spreadsheet of last year's petitions), registered through the ledger
//! like any other, each at the time the file gives.
//!
//! Every record is checked first, with the same rules as registration; a
//! file with bad records changes nothing unless `--skip-invalid` is given,
//! and then the bad records are listed by line. Each record is registered
//! under an idempotency key made from its id (or its content), so running
//! the same import again adds nothing.

use crate::people::CLI_ACTOR;
use crate::records::{self, Record};
use crate::{open_store, open_with, StoreArgs};
use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use jiefen_domain::clock::Timestamp;
use jiefen_domain::lifecycle::{self, Actor, NewCase};
use jiefen_store::{Clock, ManualClock, SystemClock};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON lines (`.jsonl`) or CSV with a header row (`.csv`); see README
    /// for the fields.
    pub file: std::path::PathBuf,
    /// Where the cases belong, when a record names no `jurisdiction`.
    #[arg(long)]
    pub jurisdiction: Option<String>,
    /// The kind of case, when a record names no `kind`.
    #[arg(long, default_value = "request")]
    pub kind: String,
    /// How the cases came in, when a record names no `channel`.
    #[arg(long, default_value = "web")]
    pub channel: String,
    /// The category of records that name none.
    #[arg(long, default_value = "other.general")]
    pub category: String,
    /// Register the good records and list the bad ones, instead of
    /// refusing the whole file.
    #[arg(long)]
    pub skip_invalid: bool,
}

/// A record turned into a registration, or why it cannot be.
struct Prepared {
    line: usize,
    new: NewCase,
    at: Option<Timestamp>,
    key: String,
}

pub async fn import(args: ImportArgs) -> Result<ExitCode> {
    let rows = records::read(&args.file)?;
    if rows.is_empty() {
        bail!("{}: no records", args.file.display());
    }
    let store = open_store(&args.store).await?;
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let master = args.store.master_key()?;
    let ledger = open_with(&args.store, store, clock.clone(), master.as_ref()).await?;
    let refs = ledger.refs();
    let actor = Actor::parse(CLI_ACTOR).expect("the CLI's actor name is valid");

    let mut good = Vec::new();
    let mut bad: Vec<(usize, String)> = Vec::new();
    for row in rows {
        match row {
            Err(e) => bad.push((e.line, e.message)),
            Ok(record) => match prepare(&record, &args) {
                Err(message) => bad.push((record.line, message)),
                Ok(p) => {
                    // The registration's own rules, judged now on a copy,
                    // so that a bad record is found before anything is
                    // written.
                    let now = p.at.unwrap_or_else(|| clock.now());
                    match lifecycle::dry_register(&p.new, actor.clone(), now, &*refs) {
                        Ok(_) => good.push(p),
                        Err(e) => bad.push((p.line, e.to_string())),
                    }
                }
            },
        }
    }
    bad.sort();
    for (line, message) in &bad {
        eprintln!("{}:{line}: {message}", args.file.display());
    }
    if !bad.is_empty() && !args.skip_invalid {
        eprintln!(
            "{} of {} records are invalid; nothing was imported (fix them, or give --skip-invalid to import the {} good ones)",
            bad.len(),
            bad.len() + good.len(),
            good.len()
        );
        return Ok(ExitCode::from(1));
    }

    let bar = ProgressBar::new(good.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} records  {per_sec}  eta {eta}")
            .expect("the template is valid"),
    );
    let (mut created, mut replayed, mut refused) = (0u64, 0u64, Vec::new());
    for p in good {
        clock.set(p.at.unwrap_or_else(|| SystemClock.now()));
        match ledger.create(p.new, actor.clone(), Some(p.key)).await {
            Ok(outcome) if outcome.replayed => replayed += 1,
            Ok(_) => created += 1,
            Err(e) => refused.push((p.line, e.to_string())),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    for (line, message) in &refused {
        eprintln!("{}:{line}: refused: {message}", args.file.display());
    }
    println!(
        "imported {created} cases ({replayed} already imported before, {} invalid, {} refused)",
        bad.len(),
        refused.len()
    );
    Ok(if refused.is_empty() && bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// The registration a record asks for, in the API's own terms (so every
/// field is checked the way the API checks it).
fn prepare(record: &Record, args: &ImportArgs) -> Result<Prepared, String> {
    let description = record
        .first(&["description", "detail", "text", "content"])
        .ok_or("needs a description (or detail)")?;
    let title = match record.get("title") {
        Some(t) => t.to_owned(),
        // A message without a subject gets its opening words.
        None => description.chars().take(30).collect(),
    };
    let jurisdiction = record
        .get("jurisdiction")
        .or(args.jurisdiction.as_deref())
        .ok_or("needs a jurisdiction (give --jurisdiction for the whole file)")?;
    let at = record
        .first(&["time", "registered_at", "created_at"])
        .map(parse_time)
        .transpose()?;
    let mut body = serde_json::json!({
        "kind": record.get("kind").unwrap_or(&args.kind),
        "channel": record.get("channel").unwrap_or(&args.channel),
        "category": record.get("category").unwrap_or(&args.category),
        "title": title,
        "description": description,
        "jurisdiction": jurisdiction,
    });
    if let Some(address) = record.get("address") {
        body["address"] = address.into();
    }
    let new: NewCase = serde_json::from_value(body).map_err(|e| e.to_string())?;
    let key = match record.get("id") {
        Some(id) => format!("import:{id}"),
        None => format!(
            "import:{}",
            jiefen_ledger::hash::sha256(&[
                new.title.as_str().as_bytes(),
                b"\0",
                new.description.as_str().as_bytes(),
                b"\0",
                at.map(|t| t.to_rfc3339()).unwrap_or_default().as_bytes(),
            ])
        ),
    };
    Ok(Prepared {
        line: record.line,
        new,
        at,
        key,
    })
}

/// RFC 3339, or a local time as Chinese systems write it (`2019/2/28
/// 11:25:05`, `2019-02-28 11:25`, a date alone), taken as China Standard Time.
fn parse_time(raw: &str) -> Result<Timestamp, String> {
    if let Ok(t) = Timestamp::parse(raw) {
        return Ok(t);
    }
    let bad = || format!("time {raw:?} is neither RFC 3339 nor like 2019/2/28 11:25:05");
    let (date, clock) = raw.trim().split_once(' ').unwrap_or((raw.trim(), "0:0:0"));
    let numbers = |s: &str, seps: &[char]| -> Option<Vec<u32>> {
        s.split(seps).map(|p| p.trim().parse().ok()).collect()
    };
    let d = numbers(date, &['/', '-', '.'])
        .filter(|d| d.len() == 3)
        .ok_or_else(bad)?;
    let mut c = numbers(clock, &[':'])
        .filter(|c| (2..=3).contains(&c.len()))
        .ok_or_else(bad)?;
    c.resize(3, 0);
    let month = time::Month::try_from(u8::try_from(d[1]).map_err(|_| bad())?).map_err(|_| bad())?;
    let date =
        time::Date::from_calendar_date(d[0] as i32, month, u8::try_from(d[2]).map_err(|_| bad())?)
            .map_err(|_| bad())?;
    let clock = time::Time::from_hms(
        u8::try_from(c[0]).map_err(|_| bad())?,
        u8::try_from(c[1]).map_err(|_| bad())?,
        u8::try_from(c[2]).map_err(|_| bad())?,
    )
    .map_err(|_| bad())?;
    let cst = time::UtcOffset::from_hms(8, 0, 0).expect("UTC+8 is an offset");
    Ok(Timestamp::from_offset(
        time::PrimitiveDateTime::new(date, clock).assume_offset(cst),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_chinese_systems_write_them() {
        let t = |s| parse_time(s).map(|t| t.to_rfc3339());
        assert_eq!(t("2019/2/28 11:25:05").unwrap(), "2019-02-28T03:25:05Z");
        assert_eq!(t("2019-02-28 11:25").unwrap(), "2019-02-28T03:25:00Z");
        assert_eq!(t("2019.2.28").unwrap(), "2019-02-27T16:00:00Z");
        assert_eq!(
            t("2019-02-28T11:25:05+08:00").unwrap(),
            "2019-02-28T03:25:05Z"
        );
        for bad in [
            "2019/2/30 1:00:00",
            "yesterday",
            "2019/13/1",
            "2019/2/28 25:00",
        ] {
            assert!(t(bad).unwrap_err().contains(bad), "{bad}");
        }
    }
}
