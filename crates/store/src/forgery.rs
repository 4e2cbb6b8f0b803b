//! What an attacker with write access to the database can do: rewrite an
//! event and recompute everything derivable from it — the case's hash chain
//! and every node of the Merkle log. Used by tests on both backends and
//! through the CLI to prove that such a rewrite is caught by a checkpoint
//! taken before it. Never called by the server.

use crate::Ledger;
use jiefen_domain::case::CaseId;
use jiefen_ledger::chain::event_hash;
use jiefen_ledger::hash::Hash;
use jiefen_ledger::merkle::{leaf_hash, Frontier};

/// A raw connection to run the forger's SQL on.
pub enum Raw<'a> {
    Sqlite(&'a sqlx::SqlitePool),
    Postgres(&'a sqlx::PgPool),
}

impl Raw<'_> {
    /// Runs `sql` as one transaction on a connection of its own, closed
    /// after. Not on a pooled one: a pooled SQLite connection may hold a
    /// statement sqlx left un-reset, under which autocommitted writes stay
    /// uncommitted until it is reset, and are lost if the pool is dropped
    /// first (the CLI test's forged log was, once, under load).
    pub async fn exec(&self, sql: &str) -> Result<(), sqlx::Error> {
        use sqlx::{ConnectOptions, Connection};
        let sql = format!("BEGIN; {sql}; COMMIT;");
        match self {
            Raw::Sqlite(p) => {
                let mut conn = p.connect_options().connect().await?;
                sqlx::raw_sql(&sql).execute(&mut conn).await?;
                conn.close().await
            }
            Raw::Postgres(p) => {
                let mut conn = p.connect_options().connect().await?;
                sqlx::raw_sql(&sql).execute(&mut conn).await?;
                conn.close().await
            }
        }
    }

    fn blob(&self, hex: &str) -> String {
        match self {
            Raw::Sqlite(_) => format!("X'{hex}'"),
            Raw::Postgres(_) => format!("'\\x{hex}'::bytea"),
        }
    }
}

/// Replaces event `seq` of case `id` with `edit(body)` and recomputes the
/// case's chain from there and the whole log. Bodies are written as JSON,
/// unpacked, which the store reads as it reads packed ones. `edit` must keep the body
/// canonical JSON (e.g. swap one value), as a careful forger would.
pub async fn rewrite_event(
    raw: Raw<'_>,
    ledger: &Ledger,
    id: CaseId,
    seq: u64,
    edit: impl Fn(&str) -> String,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let events = ledger.history(id).await?;
    let mut prev = Hash::ZERO;
    let mut sql = String::new();
    // The new hashes by leaf, so the log below is built from them and not
    // from a read after the write: a pooled SQLite reader may still hold a
    // snapshot from before it (sqlx can leave a statement un-reset).
    let mut rewritten = std::collections::HashMap::new();
    for e in &events {
        let body = if e.seq == seq {
            edit(&e.body)
        } else {
            e.body.clone()
        };
        let hash = event_hash(&prev, body.as_bytes());
        if e.seq >= seq {
            rewritten.insert(e.leaf_index, hash);
            sql.push_str(&format!(
                "UPDATE events SET body = {}, hash = {} WHERE case_id = {} AND seq = {};",
                raw.blob(&hex::encode(body.as_bytes())),
                raw.blob(&hash.to_string()),
                raw.blob(&id.0.simple().to_string()),
                e.seq
            ));
        }
        prev = hash;
    }
    raw.exec(&sql).await?;
    let mut leaves: Vec<(u64, Hash)> = Vec::new();
    let mut after = None;
    loop {
        let ids = ledger.store().case_ids(after, 500).await?;
        let Some(last) = ids.last() else { break };
        after = Some(*last);
        for c in ids {
            leaves.extend(ledger.history(c).await?.into_iter().map(|e| {
                (
                    e.leaf_index,
                    rewritten.get(&e.leaf_index).copied().unwrap_or(e.hash),
                )
            }));
        }
    }
    leaves.sort();
    let mut frontier = Frontier::empty();
    let mut sql = String::from("DELETE FROM log_nodes;");
    for (_, h) in leaves {
        for (s, node) in frontier.append(leaf_hash(h.as_bytes())) {
            if s.level == 0 {
                continue;
            }
            sql.push_str(&format!(
                "INSERT INTO log_nodes (level, idx, hash) VALUES ({}, {}, {});",
                s.level,
                s.index,
                raw.blob(&node.to_string())
            ));
        }
    }
    raw.exec(&sql).await?;
    Ok(())
}
