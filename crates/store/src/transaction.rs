//! Write transactions begun and ended by hand, on a connection that is
//! closed, not reused, unless its transaction committed.
//!
//! sqlx's `Transaction` keeps its own count of the nesting depth, and on
//! SQLite that count can drift from the database's: on a full disk SQLite
//! may roll the whole transaction back by itself, sqlx's ROLLBACK then fails
//! ("no transaction is active") and its depth stays at one, so the next
//! begin issues a SAVEPOINT; if a statement fails again, its
//! `ROLLBACK TO SAVEPOINT` leaves that savepoint's transaction open, and
//! from then on every "commit" only releases a nested savepoint. The server
//! went on answering 201 for registrations that were never committed and
//! were gone after a restart (found by the full-disk test in
//! `crates/cli/tests/faults.rs`). Here nothing is counted: a transaction is
//! one BEGIN and one COMMIT, and any other ending closes the connection,
//! which rolls back whatever it had open whatever state it was in.

use sqlx::pool::PoolConnection;
use sqlx::{Database, Executor, Pool};
use std::ops::{Deref, DerefMut};

pub(crate) struct WriteTx<DB: Database> {
    conn: PoolConnection<DB>,
    committed: bool,
    /// Run on the connection after COMMIT, before it goes back to the pool
    /// (undoes a setting made for this transaction alone).
    after_commit: Option<&'static str>,
}

impl<DB: Database> WriteTx<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// Takes a connection from `pool` and runs `begin` (the backend's BEGIN
    /// statement) on it.
    pub(crate) async fn begin(pool: &Pool<DB>, begin: &'static str) -> sqlx::Result<Self> {
        Self::begin_with(pool, begin, Setting::NONE).await
    }

    /// Like [`WriteTx::begin`], with `set` run on the connection before
    /// BEGIN (`before`) or after it, and `reset` run after COMMIT: a setting
    /// for this transaction alone. If the reset fails the connection is
    /// closed, so the setting never outlives the transaction.
    pub(crate) async fn begin_with(
        pool: &Pool<DB>,
        begin: &'static str,
        set: Setting,
    ) -> sqlx::Result<Self> {
        let mut conn = pool.acquire().await?;
        let started = async {
            if let Some(before) = set.before {
                (&mut *conn).execute(before).await?;
            }
            (&mut *conn).execute(begin).await?;
            if let Some(after) = set.after_begin {
                (&mut *conn).execute(after).await?;
            }
            Ok::<_, sqlx::Error>(())
        }
        .await;
        if let Err(e) = started {
            // It may already have been inside a transaction (left open by
            // someone else's failure): never hand it out again.
            conn.close_on_drop();
            return Err(e);
        }
        Ok(Self {
            conn,
            committed: false,
            after_commit: set.after_commit,
        })
    }

    pub(crate) async fn commit(mut self) -> sqlx::Result<()> {
        (&mut *self.conn).execute("COMMIT").await?;
        self.committed = true;
        if let Some(reset) = self.after_commit {
            if let Err(e) = (&mut *self.conn).execute(reset).await {
                tracing::warn!(error = %e, "a transaction's setting could not be undone; closing its connection");
                self.conn.close_on_drop();
            }
        }
        Ok(())
    }
}

/// A connection setting for one transaction (see [`WriteTx::begin_with`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setting {
    pub before: Option<&'static str>,
    pub after_begin: Option<&'static str>,
    pub after_commit: Option<&'static str>,
}

impl Setting {
    pub const NONE: Setting = Setting {
        before: None,
        after_begin: None,
        after_commit: None,
    };
}

impl<DB: Database> Drop for WriteTx<DB> {
    fn drop(&mut self) {
        if !self.committed {
            self.conn.close_on_drop();
        }
    }
}

impl<DB: Database> Deref for WriteTx<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        &self.conn
    }
}

impl<DB: Database> DerefMut for WriteTx<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }
}
