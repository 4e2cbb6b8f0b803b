//! Staff accounts and how people prove who they are: argon2id passwords,
//! bearer tokens shown once and stored hashed, sign-in sessions with idle
//! and absolute timeouts, throttled failures, and the security log every
//! one of these writes to.
//!
//! A failed sign-in says the same thing whether the account is unknown,
//! disabled or the password wrong, and takes the same time (a password is
//! always hashed), so the answer does not tell which accounts exist.

use crate::access::{AuditQuery, AuditRow, SessionRecord, StaffChange, StaffRecord, TokenRecord};
use crate::clock::Clock;
use crate::throttle::Throttle;
use crate::{Store, StoreError};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jiefen_domain::access::{Post, Staff, Username};
use jiefen_domain::audit::{AuditAction, AuditEntry};
use jiefen_domain::Timestamp;
use jiefen_ledger::hash::{sha256, Hash};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;
use time::Duration;

/// A session ends after this long without a request.
pub const SESSION_IDLE: Duration = Duration::minutes(30);
/// A session ends this long after sign-in, however busy.
pub const SESSION_ABSOLUTE: Duration = Duration::hours(12);
/// Failed sign-ins allowed per account within [`THROTTLE_WINDOW`].
pub const ACCOUNT_FAILURES: usize = 5;
/// Failed sign-ins allowed per client address within [`THROTTLE_WINDOW`].
pub const ADDRESS_FAILURES: usize = 20;
pub const THROTTLE_WINDOW: Duration = Duration::minutes(15);
/// A token's use is written to the security log at most this often.
pub const TOKEN_USE_LOGGED_EVERY: Duration = Duration::hours(1);
/// How long a token or session once read is trusted without reading it
/// again. Revoking, disabling, resetting and signing out through this
/// process clear it at once; done by another process (the CLI, a second
/// server on the same database) they take effect within this time.
pub const CREDENTIAL_CACHE: Duration = Duration::seconds(2);
/// Entries the credential cache holds at most before it starts afresh.
const CREDENTIAL_CACHE_MAX: usize = 10_000;
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("user {0} already exists")]
    Exists(String),
    #[error("no user {0}")]
    NoSuchUser(String),
    #[error("no token {0}")]
    NoSuchToken(String),
    #[error("a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("jurisdiction {0} is not in the tree")]
    UnknownJurisdiction(String),
    #[error("body {0} does not exist")]
    UnknownBody(String),
    #[error("body {body} is not in or below {jurisdiction}")]
    BodyOutsideJurisdiction { body: String, jurisdiction: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a sign-in was refused. Deliberately coarse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    #[error("the user name or password is wrong")]
    Invalid,
    #[error("too many failed sign-ins; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
}

/// A password as typed: never printed, never logged.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// A fresh password of 20 characters from an alphabet without
    /// look-alikes (no 0/O, 1/l/I), with its text to show once.
    pub fn generate() -> (Self, String) {
        const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        use rand::Rng;
        let mut rng = rand::thread_rng();
        let text: String = (0..20)
            .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
            .collect();
        (Self(text.clone()), text)
    }

    fn check(&self) -> Result<(), AccountError> {
        let n = self.0.chars().count();
        if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
            Ok(())
        } else {
            Err(AccountError::WeakPassword)
        }
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// A new session: the secret goes into the cookie and is not kept.
#[derive(Debug)]
pub struct NewSession {
    pub secret: String,
    pub csrf: String,
    pub staff: Staff,
}

/// A session that is still alive.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub staff: Staff,
    pub csrf: String,
}

/// Who a presented token belongs to.
#[derive(Debug, Clone)]
pub struct TokenHolder {
    pub staff: Staff,
    pub token_id: String,
}

/// Tokens and sessions recently read, with their accounts and when they
/// were read.
#[derive(Default)]
struct CredentialCache {
    tokens: HashMap<String, (TokenRecord, StaffRecord, Timestamp)>,
    sessions: HashMap<Hash, (SessionRecord, StaffRecord, Timestamp)>,
}

impl CredentialCache {
    fn forget_user(&mut self, username: &Username) {
        self.tokens.retain(|_, (_, s, _)| &s.username != username);
        self.sessions.retain(|_, (_, s, _)| &s.username != username);
    }

    fn make_room(&mut self) {
        if self.tokens.len() + self.sessions.len() >= CREDENTIAL_CACHE_MAX {
            self.tokens.clear();
            self.sessions.clear();
        }
    }
}

#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    throttle: Arc<Throttle>,
    /// When each token's use was last logged, to log it at most hourly.
    token_logged: Arc<Mutex<HashMap<String, Timestamp>>>,
    cache: Arc<Mutex<CredentialCache>>,
    /// A hash of a fixed password, verified when the account is unknown so
    /// that a failure takes as long either way.
    decoy: Arc<String>,
}

fn random_secret() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

fn secret_hash(secret: &str) -> Hash {
    sha256(&[b"jiefen.secret.v1\0", secret.as_bytes()])
}

fn hash_password(p: &Password) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(p.0.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

/// argon2id takes tens of milliseconds of CPU: off the async workers.
async fn hash_password_off_thread(p: Password) -> String {
    tokio::task::spawn_blocking(move || hash_password(&p))
        .await
        .expect("hashing does not panic")
}

fn verify_password(p: &Password, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(p.0.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

impl Accounts {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            throttle: Arc::new(Throttle::new(THROTTLE_WINDOW)),
            token_logged: Arc::default(),
            cache: Arc::default(),
            decoy: Arc::new(hash_password(&Password::new(
                "decoy-password-never-matches",
            ))),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn staff_of(record: &StaffRecord) -> Staff {
        Staff {
            username: record.username.clone(),
            post: record.post.clone(),
        }
    }

    /// Adds an account. `refs` checks that its node and body exist.
    pub async fn add_user(
        &self,
        username: Username,
        display_name: String,
        post: Post,
        password: Option<Password>,
        by: &str,
        refs: &crate::refdata::RefData,
    ) -> Result<StaffRecord, AccountError> {
        let tree = &refs.tree;
        if tree.get(post.jurisdiction()).is_none() {
            return Err(AccountError::UnknownJurisdiction(
                post.jurisdiction().to_string(),
            ));
        }
        if let Some(b) = post.body() {
            let body = refs
                .bodies
                .get(b)
                .ok_or_else(|| AccountError::UnknownBody(b.to_string()))?;
            if !tree.within(&body.jurisdiction, post.jurisdiction()) {
                return Err(AccountError::BodyOutsideJurisdiction {
                    body: b.to_string(),
                    jurisdiction: post.jurisdiction().to_string(),
                });
            }
        }
        if let Some(p) = &password {
            p.check()?;
        }
        let now = self.now();
        let password_hash = match password {
            Some(p) => Some(hash_password_off_thread(p).await),
            None => None,
        };
        let record = StaffRecord {
            username: username.clone(),
            display_name,
            post,
            password_at: password_hash.as_ref().map(|_| now),
            password_hash,
            created_at: now,
            disabled_at: None,
        };
        match self.store.insert_staff(&record).await {
            Err(StoreError::Conflict(_)) => return Err(AccountError::Exists(username.to_string())),
            other => other?,
        }
        self.audit(vec![AuditEntry::new(now, by, AuditAction::UserAdded)
            .subject(format!("staff:{username}"))
            .detail(format!(
                "role {} at {}",
                record.post.role(),
                record.post.jurisdiction()
            ))])
        .await?;
        Ok(record)
    }

    /// Sets a new password and ends the account's sessions.
    pub async fn reset_password(
        &self,
        username: &Username,
        password: Password,
        by: &str,
    ) -> Result<(), AccountError> {
        password.check()?;
        let now = self.now();
        let hash = hash_password_off_thread(password).await;
        let change = StaffChange {
            password_hash: Some(hash),
            password_at: Some(now),
            disabled_at: None,
        };
        if !self.store.change_staff(username, &change).await? {
            return Err(AccountError::NoSuchUser(username.to_string()));
        }
        self.store.delete_sessions_of(username).await?;
        self.forget_user(username);
        self.audit(vec![AuditEntry::new(now, by, AuditAction::UserChanged)
            .subject(format!("staff:{username}"))
            .detail("password reset; sessions ended")])
            .await?;
        Ok(())
    }

    /// Disables (or enables again) an account. Disabling ends its sessions
    /// and makes its tokens useless until it is enabled.
    pub async fn set_disabled(
        &self,
        username: &Username,
        disabled: bool,
        by: &str,
    ) -> Result<(), AccountError> {
        let now = self.now();
        let change = StaffChange {
            disabled_at: Some(disabled.then_some(now)),
            ..Default::default()
        };
        if !self.store.change_staff(username, &change).await? {
            return Err(AccountError::NoSuchUser(username.to_string()));
        }
        if disabled {
            self.store.delete_sessions_of(username).await?;
        }
        self.forget_user(username);
        self.audit(vec![AuditEntry::new(now, by, AuditAction::UserChanged)
            .subject(format!("staff:{username}"))
            .detail(if disabled { "disabled" } else { "enabled" })])
            .await?;
        Ok(())
    }

    fn forget_user(&self, username: &Username) {
        self.cache.lock().expect("cache lock").forget_user(username);
    }

    fn forget_session(&self, id_hash: &Hash) {
        self.cache
            .lock()
            .expect("cache lock")
            .sessions
            .remove(id_hash);
    }

    pub async fn users(&self) -> Result<Vec<StaffRecord>, AccountError> {
        Ok(self.store.list_staff().await?)
    }

    pub async fn user(&self, username: &Username) -> Result<Option<StaffRecord>, AccountError> {
        Ok(self.store.staff(username).await?)
    }

    pub async fn has_users(&self) -> Result<bool, AccountError> {
        Ok(self.store.count_staff().await? > 0)
    }

    /// Checks a password. Every outcome is written to the security log.
    pub async fn sign_in(
        &self,
        username: &str,
        password: Password,
        address: Option<String>,
    ) -> Result<NewSession, SignInError> {
        let now = self.now();
        let account_key = format!("u:{}", username.trim().to_ascii_lowercase());
        let address_key = address.as_ref().map(|a| format!("a:{a}"));
        let t = &self.throttle;
        let by_account = t.blocked(&account_key, ACCOUNT_FAILURES, now);
        let by_address = address_key
            .as_ref()
            .and_then(|k| t.blocked(k, ADDRESS_FAILURES, now));
        let blocked = by_account.max(by_address);
        let subject = Username::parse(username).ok();
        let log = |action| {
            let mut e = AuditEntry::new(now, "anonymous", action).address(address.clone());
            if let Some(u) = &subject {
                e = e.subject(format!("staff:{u}"));
            }
            e
        };
        if let Some(retry_after_secs) = blocked {
            let _ = self.audit(vec![log(AuditAction::SignInThrottled)]).await;
            return Err(SignInError::Throttled { retry_after_secs });
        }
        let record = match &subject {
            Some(u) => self.store.staff(u).await.ok().flatten(),
            None => None,
        };
        let phc = record
            .as_ref()
            .and_then(|r| r.password_hash.clone())
            .unwrap_or_else(|| self.decoy.as_str().to_owned());
        let matches = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
            .await
            .unwrap_or(false);
        let usable =
            record.filter(|r| r.disabled_at.is_none() && r.password_hash.is_some() && matches);
        let Some(record) = usable else {
            self.throttle.record(&account_key, now);
            if let Some(k) = &address_key {
                self.throttle.record(k, now);
            }
            let _ = self.audit(vec![log(AuditAction::SignInFailed)]).await;
            return Err(SignInError::Invalid);
        };
        self.throttle.forget(&account_key);
        let secret = random_secret();
        let session = SessionRecord {
            id_hash: secret_hash(&secret),
            username: record.username.clone(),
            csrf: random_secret(),
            created_at: now,
            last_seen: now,
        };
        if self.store.insert_session(&session).await.is_err() {
            return Err(SignInError::Invalid);
        }
        let _ = self
            .audit(vec![AuditEntry::new(
                now,
                format!("staff:{}", record.username),
                AuditAction::SignIn,
            )
            .address(address)])
            .await;
        Ok(NewSession {
            secret,
            csrf: session.csrf,
            staff: Self::staff_of(&record),
        })
    }

    /// The live session behind a cookie's secret, if any. Ends sessions
    /// past their idle or absolute limit, and sessions of disabled
    /// accounts.
    pub async fn session(&self, secret: &str) -> Result<Option<LiveSession>, AccountError> {
        let now = self.now();
        let id_hash = secret_hash(secret);
        let cached = {
            let cache = self.cache.lock().expect("cache lock");
            cache
                .sessions
                .get(&id_hash)
                .filter(|(_, _, read)| now.minus(read) < CREDENTIAL_CACHE)
                .map(|(s, r, _)| (s.clone(), Some(r.clone())))
        };
        let hit = cached.is_some();
        let (s, record) = match cached {
            Some(hit) => hit,
            None => {
                let Some(s) = self.store.session(&id_hash).await? else {
                    return Ok(None);
                };
                let record = self.store.staff(&s.username).await?;
                (s, record)
            }
        };
        let expired =
            now.minus(&s.last_seen) > SESSION_IDLE || now.minus(&s.created_at) > SESSION_ABSOLUTE;
        let Some(record) = record.filter(|r| r.disabled_at.is_none() && !expired) else {
            self.store.delete_session(&id_hash).await?;
            self.forget_session(&id_hash);
            return Ok(None);
        };
        let mut s = s;
        // Written at most once a minute: an idle limit needs no finer grain.
        let touch = now.minus(&s.last_seen) > Duration::minutes(1);
        if touch {
            self.store.touch_session(&id_hash, now).await?;
            s.last_seen = now;
        }
        if !hit || touch {
            let mut cache = self.cache.lock().expect("cache lock");
            cache.make_room();
            let read = if hit {
                cache.sessions.get(&id_hash).map_or(now, |(_, _, t)| *t)
            } else {
                now
            };
            cache
                .sessions
                .insert(id_hash, (s.clone(), record.clone(), read));
        }
        Ok(Some(LiveSession {
            staff: Self::staff_of(&record),
            csrf: s.csrf,
        }))
    }

    /// Ends a session without a log entry: the session a new sign-in
    /// replaces (its secret is rotated, not signed out).
    pub async fn discard_session(&self, secret: &str) -> Result<(), AccountError> {
        let id_hash = secret_hash(secret);
        self.store.delete_session(&id_hash).await?;
        self.forget_session(&id_hash);
        Ok(())
    }

    pub async fn sign_out(&self, secret: &str, who: &Staff) -> Result<(), AccountError> {
        self.discard_session(secret).await?;
        self.audit(vec![AuditEntry::new(
            self.now(),
            format!("staff:{}", who.username),
            AuditAction::SignOut,
        )])
        .await?;
        Ok(())
    }

    /// Creates a token for an account; the returned text is the only copy.
    pub async fn create_token(
        &self,
        username: &Username,
        name: String,
        by: &str,
    ) -> Result<(TokenRecord, String), AccountError> {
        if self.store.staff(username).await?.is_none() {
            return Err(AccountError::NoSuchUser(username.to_string()));
        }
        let now = self.now();
        let id = hex::encode(rand::random::<[u8; 8]>());
        let secret = random_secret();
        let record = TokenRecord {
            id: id.clone(),
            username: username.clone(),
            name,
            secret_hash: secret_hash(&secret),
            created_at: now,
            revoked_at: None,
            last_used_at: None,
        };
        self.store.insert_token(&record).await?;
        self.audit(vec![AuditEntry::new(now, by, AuditAction::TokenCreated)
            .subject(format!("token:{id}"))
            .detail(format!("for staff:{username}"))])
            .await?;
        Ok((record, format!("jf_{id}_{secret}")))
    }

    pub async fn revoke_token(&self, id: &str, by: &str) -> Result<(), AccountError> {
        let now = self.now();
        if !self.store.revoke_token(id, now).await? {
            return Err(AccountError::NoSuchToken(id.to_owned()));
        }
        self.cache.lock().expect("cache lock").tokens.remove(id);
        self.audit(vec![
            AuditEntry::new(now, by, AuditAction::TokenRevoked).subject(format!("token:{id}"))
        ])
        .await?;
        Ok(())
    }

    pub async fn tokens(
        &self,
        username: Option<&Username>,
    ) -> Result<Vec<TokenRecord>, AccountError> {
        Ok(self.store.list_tokens(username).await?)
    }

    /// Who a presented bearer token belongs to, if it is live and its
    /// account enabled. The secret is compared in constant time.
    pub async fn authenticate_token(
        &self,
        presented: &str,
        address: Option<String>,
    ) -> Result<Option<TokenHolder>, AccountError> {
        let Some((id, secret)) = presented
            .strip_prefix("jf_")
            .and_then(|rest| rest.split_once('_'))
        else {
            return Ok(None);
        };
        if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let now = self.now();
        let cached = {
            let cache = self.cache.lock().expect("cache lock");
            cache
                .tokens
                .get(id)
                .filter(|(_, _, read)| now.minus(read) < CREDENTIAL_CACHE)
                .map(|(t, r, _)| (t.clone(), r.clone()))
        };
        let (token, record) = match cached {
            Some(hit) => hit,
            None => {
                let Some(token) = self.store.token(id).await? else {
                    return Ok(None);
                };
                let Some(record) = self.store.staff(&token.username).await? else {
                    return Ok(None);
                };
                let mut cache = self.cache.lock().expect("cache lock");
                cache.make_room();
                cache
                    .tokens
                    .insert(id.to_owned(), (token.clone(), record.clone(), now));
                (token, record)
            }
        };
        let same: bool = token.secret_hash.0.ct_eq(&secret_hash(secret).0).into();
        if !same || token.revoked_at.is_some() || record.disabled_at.is_some() {
            return Ok(None);
        }
        let log_now = {
            let mut logged = self.token_logged.lock().expect("token log lock");
            let due = logged
                .get(id)
                .is_none_or(|t| now.minus(t) >= TOKEN_USE_LOGGED_EVERY);
            if due {
                logged.insert(id.to_owned(), now);
            }
            due
        };
        if log_now {
            self.store.touch_token(id, now).await?;
            self.audit(vec![AuditEntry::new(
                now,
                format!("token:{id}"),
                AuditAction::TokenUsed,
            )
            .subject(format!("staff:{}", record.username))
            .address(address)])
                .await?;
        }
        Ok(Some(TokenHolder {
            staff: Self::staff_of(&record),
            token_id: id.to_owned(),
        }))
    }

    pub async fn audit(&self, entries: Vec<AuditEntry>) -> Result<Vec<AuditRow>, StoreError> {
        self.store.append_audit(&entries).await
    }

    pub async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        self.store.audit(query).await
    }

    /// The sequence number of the security log's last entry.
    pub async fn audit_head(&self) -> Result<u64, StoreError> {
        self.store.audit_head().await
    }

    /// Recomputes the whole security log's chain. `Err(seq)` names the
    /// first entry that does not verify.
    pub async fn verify_audit(&self) -> Result<Result<u64, u64>, StoreError> {
        let mut verified = (0, Hash::ZERO);
        loop {
            let rows = self
                .store
                .audit(&AuditQuery {
                    after_seq: verified.0,
                    limit: 1000,
                    ..Default::default()
                })
                .await?;
            if rows.is_empty() {
                return Ok(Ok(verified.0));
            }
            match crate::access::verify_audit(verified, &rows) {
                Ok(end) => verified = end,
                Err(seq) => return Ok(Err(seq)),
            }
        }
    }
}
