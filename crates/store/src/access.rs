//! What the store keeps about people who use the system: staff accounts,
//! API tokens, sign-in sessions and the hash-chained security log. The
//! rules about them (password hashing, token format, timeouts) live in
//! [`crate::accounts`]; this is only their storage.

use crate::Result;
use async_trait::async_trait;
use jiefen_domain::access::{Post, Username};
use jiefen_domain::audit::AuditEntry;
use jiefen_domain::Timestamp;
use jiefen_ledger::hash::Hash;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRecord {
    pub username: Username,
    pub display_name: String,
    pub post: Post,
    /// argon2id in PHC string form; `None` for a token-only account.
    pub password_hash: Option<String>,
    pub created_at: Timestamp,
    pub password_at: Option<Timestamp>,
    pub disabled_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub username: Username,
    pub name: String,
    /// SHA-256 of the secret part; the secret itself is never stored.
    pub secret_hash: Hash,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the cookie's secret.
    pub id_hash: Hash,
    pub username: Username,
    pub csrf: String,
    pub created_at: Timestamp,
    pub last_seen: Timestamp,
}

/// One stored entry of the security log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: u64,
    pub entry: AuditEntry,
    /// The canonical JSON that was hashed (`seq` included).
    pub body: String,
    pub prev_hash: Hash,
    pub hash: Hash,
}

/// Which entries of the security log to read, oldest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub after_seq: u64,
    pub action: Option<String>,
    pub case_id: Option<String>,
    pub limit: u32,
}

/// What changes on an account.
#[derive(Debug, Clone, Default)]
pub struct StaffChange {
    pub password_hash: Option<String>,
    pub password_at: Option<Timestamp>,
    /// `Some(Some(t))` disables at `t`, `Some(None)` enables again.
    pub disabled_at: Option<Option<Timestamp>>,
}

#[async_trait]
pub trait AccessStore: Send + Sync {
    /// Fails with `Conflict` when the user name is taken.
    async fn insert_staff(&self, staff: &StaffRecord) -> Result<()>;
    /// Returns whether the account exists.
    async fn change_staff(&self, username: &Username, change: &StaffChange) -> Result<bool>;
    async fn staff(&self, username: &Username) -> Result<Option<StaffRecord>>;
    async fn list_staff(&self) -> Result<Vec<StaffRecord>>;
    async fn count_staff(&self) -> Result<u64>;

    async fn insert_token(&self, token: &TokenRecord) -> Result<()>;
    async fn token(&self, id: &str) -> Result<Option<TokenRecord>>;
    async fn list_tokens(&self, username: Option<&Username>) -> Result<Vec<TokenRecord>>;
    /// Returns whether a live token was revoked.
    async fn revoke_token(&self, id: &str, at: Timestamp) -> Result<bool>;
    async fn touch_token(&self, id: &str, at: Timestamp) -> Result<()>;

    async fn insert_session(&self, session: &SessionRecord) -> Result<()>;
    async fn session(&self, id_hash: &Hash) -> Result<Option<SessionRecord>>;
    async fn touch_session(&self, id_hash: &Hash, at: Timestamp) -> Result<()>;
    async fn delete_session(&self, id_hash: &Hash) -> Result<()>;
    /// Ends every session of an account (disabled, password reset).
    async fn delete_sessions_of(&self, username: &Username) -> Result<u64>;

    /// Appends entries to the security log in one transaction, chaining
    /// each to the last; returns their rows.
    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<Vec<AuditRow>>;
    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>>;
    /// The sequence number of the security log's last entry (0 when empty).
    async fn audit_head(&self) -> Result<u64>;
}

/// `SHA-256("jiefen.audit.v1\0" || prev || canonical body)`: the security
/// log's chain, separate from case chains by its domain label.
pub fn audit_hash(prev: &Hash, canonical_body: &[u8]) -> Hash {
    jiefen_ledger::hash::sha256(&[b"jiefen.audit.v1\0", &prev.0, canonical_body])
}

/// The canonical JSON of an entry at `seq`: what is hashed and stored.
pub fn audit_body(seq: u64, entry: &AuditEntry) -> String {
    let mut value = serde_json::to_value(entry).expect("an audit entry always serialises");
    value
        .as_object_mut()
        .expect("an audit entry is an object")
        .insert("seq".into(), seq.into());
    String::from_utf8(
        jiefen_ledger::canonical::canonical_json(&value).expect("audit entries hold no floats"),
    )
    .expect("canonical JSON is UTF-8")
}

/// Recomputes the chain over `rows`, which must continue the entry `prev`
/// (`(0, Hash::ZERO)` before the first). Returns the last entry's
/// `(seq, hash)`, or the seq of the first entry that is missing or does
/// not match.
pub fn verify_audit(prev: (u64, Hash), rows: &[AuditRow]) -> Result<(u64, Hash), u64> {
    let (mut seq, mut hash) = prev;
    for r in rows {
        if r.seq != seq + 1 {
            return Err(seq + 1);
        }
        if r.prev_hash != hash
            || audit_body(r.seq, &r.entry) != r.body
            || audit_hash(&hash, r.body.as_bytes()) != r.hash
        {
            return Err(r.seq);
        }
        (seq, hash) = (r.seq, r.hash);
    }
    Ok((seq, hash))
}

macro_rules! access_store {
    ($store:ident, $db:ty, $begin_sql:literal, $head_lock_sql:literal) => {
        use crate::access::*;
        use crate::{Result, StoreError};
        use jiefen_domain::access::{Post, Role, Username};
        use jiefen_domain::audit::AuditEntry;
        use jiefen_domain::body::BodyCode;
        use jiefen_domain::jurisdiction::JurisdictionCode;
        use jiefen_domain::Timestamp;
        use jiefen_ledger::hash::Hash;
        use sqlx::{QueryBuilder, Row};

        fn ts(ms: Option<i64>) -> Option<Timestamp> {
            ms.map(Timestamp::from_unix_millis)
        }

        fn corrupt(what: &str) -> StoreError {
            StoreError::Corrupt(format!("stored {what} does not parse"))
        }

        fn staff_of(r: &<$db as sqlx::Database>::Row) -> Result<StaffRecord> {
            let username: String = r.try_get("username")?;
            let role: String = r.try_get("role")?;
            let jurisdiction: String = r.try_get("jurisdiction")?;
            let body: Option<String> = r.try_get("body")?;
            let role = Role::parse(&role).ok_or_else(|| corrupt("role"))?;
            let jurisdiction =
                JurisdictionCode::parse(&jurisdiction).map_err(|_| corrupt("jurisdiction"))?;
            let body = body
                .map(|b| BodyCode::parse(&b).map_err(|_| corrupt("body")))
                .transpose()?;
            Ok(StaffRecord {
                username: Username::parse(&username).map_err(|_| corrupt("user name"))?,
                display_name: r.try_get("display_name")?,
                post: Post::new(role, jurisdiction, body).map_err(|_| corrupt("post"))?,
                password_hash: r.try_get("password_hash")?,
                created_at: Timestamp::from_unix_millis(r.try_get("created_at_ms")?),
                password_at: ts(r.try_get("password_at_ms")?),
                disabled_at: ts(r.try_get("disabled_at_ms")?),
            })
        }

        fn token_of(r: &<$db as sqlx::Database>::Row) -> Result<TokenRecord> {
            let username: String = r.try_get("username")?;
            Ok(TokenRecord {
                id: r.try_get("id")?,
                username: Username::parse(&username).map_err(|_| corrupt("user name"))?,
                name: r.try_get("name")?,
                secret_hash: crate::parse_hash(&r.try_get::<String, _>("secret_hash")?)?,
                created_at: Timestamp::from_unix_millis(r.try_get("created_at_ms")?),
                revoked_at: ts(r.try_get("revoked_at_ms")?),
                last_used_at: ts(r.try_get("last_used_at_ms")?),
            })
        }

        fn audit_of(r: &<$db as sqlx::Database>::Row) -> Result<AuditRow> {
            let body: String = r.try_get("body")?;
            let entry: AuditEntry =
                serde_json::from_str(&body).map_err(|_| corrupt("audit entry"))?;
            Ok(AuditRow {
                seq: r.try_get::<i64, _>("seq")? as u64,
                entry,
                body,
                prev_hash: crate::parse_hash(&r.try_get::<String, _>("prev_hash")?)?,
                hash: crate::parse_hash(&r.try_get::<String, _>("hash")?)?,
            })
        }

        const STAFF_COLUMNS: &str = "username, display_name, role, jurisdiction, body, \
             password_hash, created_at_ms, password_at_ms, disabled_at_ms";
        const TOKEN_COLUMNS: &str =
            "id, username, name, secret_hash, created_at_ms, revoked_at_ms, last_used_at_ms";

        #[async_trait::async_trait]
        impl AccessStore for $store {
            async fn insert_staff(&self, s: &StaffRecord) -> Result<()> {
                sqlx::query(&format!(
                    "INSERT INTO staff ({STAFF_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ))
                .bind(s.username.as_str())
                .bind(&s.display_name)
                .bind(s.post.role().as_str())
                .bind(s.post.jurisdiction().as_str())
                .bind(s.post.body().map(|b| b.to_string()))
                .bind(&s.password_hash)
                .bind(s.created_at.unix_millis())
                .bind(s.password_at.map(|t| t.unix_millis()))
                .bind(s.disabled_at.map(|t| t.unix_millis()))
                .execute(&self.write_pool)
                .await
                .map_err(StoreError::from_sqlx)?;
                Ok(())
            }

            async fn change_staff(&self, username: &Username, c: &StaffChange) -> Result<bool> {
                let mut q = QueryBuilder::<$db>::new("UPDATE staff SET username = username");
                if let Some(h) = &c.password_hash {
                    q.push(", password_hash = ").push_bind(h.clone());
                }
                if let Some(t) = c.password_at {
                    q.push(", password_at_ms = ").push_bind(t.unix_millis());
                }
                if let Some(d) = c.disabled_at {
                    q.push(", disabled_at_ms = ").push_bind(d.map(|t| t.unix_millis()));
                }
                q.push(" WHERE username = ").push_bind(username.as_str().to_owned());
                let done = q.build().execute(&self.write_pool).await?;
                Ok(done.rows_affected() > 0)
            }

            async fn staff(&self, username: &Username) -> Result<Option<StaffRecord>> {
                sqlx::query(&format!(
                    "SELECT {STAFF_COLUMNS} FROM staff WHERE username = $1"
                ))
                .bind(username.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| staff_of(&r))
                .transpose()
            }

            async fn list_staff(&self) -> Result<Vec<StaffRecord>> {
                sqlx::query(&format!("SELECT {STAFF_COLUMNS} FROM staff ORDER BY username"))
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(staff_of)
                    .collect()
            }

            async fn count_staff(&self) -> Result<u64> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM staff")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n as u64)
            }

            async fn insert_token(&self, t: &TokenRecord) -> Result<()> {
                sqlx::query(&format!(
                    "INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                ))
                .bind(&t.id)
                .bind(t.username.as_str())
                .bind(&t.name)
                .bind(t.secret_hash.to_hex())
                .bind(t.created_at.unix_millis())
                .bind(t.revoked_at.map(|t| t.unix_millis()))
                .bind(t.last_used_at.map(|t| t.unix_millis()))
                .execute(&self.write_pool)
                .await
                .map_err(StoreError::from_sqlx)?;
                Ok(())
            }

            async fn token(&self, id: &str) -> Result<Option<TokenRecord>> {
                sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|r| token_of(&r))
                    .transpose()
            }

            async fn list_tokens(&self, username: Option<&Username>) -> Result<Vec<TokenRecord>> {
                let mut q = QueryBuilder::<$db>::new(format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens"
                ));
                if let Some(u) = username {
                    q.push(" WHERE username = ").push_bind(u.as_str().to_owned());
                }
                q.push(" ORDER BY username, created_at_ms");
                q.build()
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(token_of)
                    .collect()
            }

            async fn revoke_token(&self, id: &str, at: Timestamp) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE api_tokens SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL",
                )
                .bind(at.unix_millis())
                .bind(id)
                .execute(&self.write_pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn touch_token(&self, id: &str, at: Timestamp) -> Result<()> {
                sqlx::query("UPDATE api_tokens SET last_used_at_ms = $1 WHERE id = $2")
                    .bind(at.unix_millis())
                    .bind(id)
                    .execute(&self.write_pool)
                    .await?;
                Ok(())
            }

            async fn insert_session(&self, s: &SessionRecord) -> Result<()> {
                sqlx::query(
                    "INSERT INTO sessions (id_hash, username, csrf, created_at_ms, last_seen_ms) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(s.id_hash.to_hex())
                .bind(s.username.as_str())
                .bind(&s.csrf)
                .bind(s.created_at.unix_millis())
                .bind(s.last_seen.unix_millis())
                .execute(&self.write_pool)
                .await
                .map_err(StoreError::from_sqlx)?;
                Ok(())
            }

            async fn session(&self, id_hash: &Hash) -> Result<Option<SessionRecord>> {
                let row = sqlx::query(
                    "SELECT id_hash, username, csrf, created_at_ms, last_seen_ms FROM sessions \
                     WHERE id_hash = $1",
                )
                .bind(id_hash.to_hex())
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| {
                    let username: String = r.try_get("username")?;
                    Ok(SessionRecord {
                        id_hash: crate::parse_hash(&r.try_get::<String, _>("id_hash")?)?,
                        username: Username::parse(&username)
                            .map_err(|_| corrupt("user name"))?,
                        csrf: r.try_get("csrf")?,
                        created_at: Timestamp::from_unix_millis(r.try_get("created_at_ms")?),
                        last_seen: Timestamp::from_unix_millis(r.try_get("last_seen_ms")?),
                    })
                })
                .transpose()
            }

            async fn touch_session(&self, id_hash: &Hash, at: Timestamp) -> Result<()> {
                sqlx::query("UPDATE sessions SET last_seen_ms = $1 WHERE id_hash = $2")
                    .bind(at.unix_millis())
                    .bind(id_hash.to_hex())
                    .execute(&self.write_pool)
                    .await?;
                Ok(())
            }

            async fn delete_session(&self, id_hash: &Hash) -> Result<()> {
                sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                    .bind(id_hash.to_hex())
                    .execute(&self.write_pool)
                    .await?;
                Ok(())
            }

            async fn delete_sessions_of(&self, username: &Username) -> Result<u64> {
                let done = sqlx::query("DELETE FROM sessions WHERE username = $1")
                    .bind(username.as_str())
                    .execute(&self.write_pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn append_audit(&self, entries: &[AuditEntry]) -> Result<Vec<AuditRow>> {
                let mut tx = crate::transaction::WriteTx::begin(&self.write_pool, $begin_sql).await?;
                let head = sqlx::query($head_lock_sql).fetch_one(&mut *tx).await?;
                let mut seq = head.try_get::<i64, _>("seq")? as u64;
                let mut prev = crate::parse_hash(&head.try_get::<String, _>("hash")?)?;
                let mut rows = Vec::with_capacity(entries.len());
                for entry in entries {
                    seq += 1;
                    let body = audit_body(seq, entry);
                    let hash = audit_hash(&prev, body.as_bytes());
                    sqlx::query(
                        "INSERT INTO audit (seq, at_ms, actor, action, case_id, body, prev_hash, hash) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(seq as i64)
                    .bind(entry.at.unix_millis())
                    .bind(&entry.actor)
                    .bind(entry.action.as_str())
                    .bind(entry.case_id.map(|c| c.to_string()))
                    .bind(&body)
                    .bind(prev.to_hex())
                    .bind(hash.to_hex())
                    .execute(&mut *tx)
                    .await?;
                    rows.push(AuditRow {
                        seq,
                        entry: entry.clone(),
                        body,
                        prev_hash: prev,
                        hash,
                    });
                    prev = hash;
                }
                sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                    .bind(seq as i64)
                    .bind(prev.to_hex())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(rows)
            }

            async fn audit_head(&self) -> Result<u64> {
                let seq: i64 = sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(seq as u64)
            }

            async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>> {
                let mut q = QueryBuilder::<$db>::new(
                    "SELECT seq, body, prev_hash, hash FROM audit WHERE seq > ",
                );
                q.push_bind(query.after_seq as i64);
                if let Some(a) = &query.action {
                    q.push(" AND action = ").push_bind(a.clone());
                }
                if let Some(c) = &query.case_id {
                    q.push(" AND case_id = ").push_bind(c.clone());
                }
                q.push(" ORDER BY seq LIMIT ").push_bind(i64::from(query.limit));
                q.build()
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(audit_of)
                    .collect()
            }
        }
    };
}

pub(crate) use access_store;
