//! Keeping the index in step with the event log.
//!
//! The index is derived data: every commit records the log position it is
//! complete up to, and catching up means re-indexing every case with an
//! event at or after that position, from the store. A crash between a store
//! commit and an index commit therefore loses nothing: the next catch-up
//! (at start-up, or by `jiefen reindex`) finds those events again.

use crate::index::{CaseDoc, CaseIndex, SearchError};
use jiefen_domain::case::{Case, CaseId};
use jiefen_store::{CaseFilter, CaseOrder, CaseQuery, EventRow, Ledger, ListCursor, StoreError};
use std::collections::BTreeSet;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Search(#[from] SearchError),
}

/// How many log positions one catch-up step reads; one index commit each.
const STEP: u32 = 5_000;
/// Cases read per page when the index is built from the cases themselves.
const BUILD_PAGE: u32 = 2_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatchUp {
    /// Cases (re)indexed.
    pub cases: u64,
    /// The position the index is now complete up to.
    pub position: u64,
}

/// The index and the ledger it follows. Catch-ups are serialised, so the
/// recorded position never moves back.
pub struct Follower {
    index: Arc<CaseIndex>,
    ledger: Ledger,
    busy: tokio::sync::Mutex<()>,
}

impl Follower {
    pub fn new(index: Arc<CaseIndex>, ledger: Ledger) -> Arc<Self> {
        Arc::new(Self {
            index,
            ledger,
            busy: tokio::sync::Mutex::new(()),
        })
    }

    pub fn index(&self) -> &Arc<CaseIndex> {
        &self.index
    }

    /// Brings the index up to the log's current end.
    pub async fn catch_up(&self) -> Result<CatchUp, FollowError> {
        let _one_at_a_time = self.busy.lock().await;
        catch_up(&self.index, &self.ledger).await
    }

    /// Forgets the index and builds it again from every case in the store.
    pub async fn rebuild(&self) -> Result<CatchUp, FollowError> {
        let _one_at_a_time = self.busy.lock().await;
        self.index.clear()?;
        self.index.commit(0)?;
        build(&self.index, &self.ledger).await
    }

    /// Catches up if this process's writer has committed past the index, so
    /// a search sees the writes acknowledged before it (read your writes).
    pub async fn fresh(&self) -> Result<(), FollowError> {
        let written = *self.ledger.committed().borrow();
        if self.index.position() < written {
            self.catch_up().await?;
        }
        Ok(())
    }

    /// Follows the log in the background: after each commit of the writer,
    /// catches up. Errors are logged and retried at the next commit; the
    /// task ends when the ledger's writer is gone.
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut committed = this.ledger.committed();
            loop {
                if let Err(e) = this.catch_up().await {
                    tracing::warn!(error = %e, "search index could not catch up; will retry");
                }
                if committed.changed().await.is_err() {
                    return;
                }
            }
        })
    }
}

/// An empty index over a store with cases: each case read once, in
/// registration order, then the log from where it stood when the build
/// began. Following the log from its start instead would index a case
/// again in every step where it changed (eight times for a typical case)
/// and commit the index every few thousand events.
async fn build(index: &CaseIndex, ledger: &Ledger) -> Result<CatchUp, FollowError> {
    // A case changed while the build reads is indexed again by the catch-up
    // from here: a later put replaces an earlier one.
    let from = ledger.store().log_size().await?;
    let mut cases = 0;
    let mut after = None;
    loop {
        let page = ledger
            .list(&CaseQuery {
                filter: CaseFilter::default(),
                order: CaseOrder::Oldest,
                after,
                limit: BUILD_PAGE,
                now: ledger.clock().now(),
            })
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(ListCursor::of(last, CaseOrder::Oldest));
        let mut docs = Vec::with_capacity(page.len());
        for case in &page {
            docs.push(doc_with_history(ledger, case).await?);
        }
        cases += docs.len() as u64;
        index.put(&docs)?;
    }
    // Until here the index claims nothing: a crash meanwhile starts over.
    index.commit(from)?;
    let rest = catch_up(index, ledger).await?;
    Ok(CatchUp {
        cases: cases + rest.cases,
        position: rest.position,
    })
}

async fn catch_up(index: &CaseIndex, ledger: &Ledger) -> Result<CatchUp, FollowError> {
    if index.position() == 0 && ledger.store().log_size().await? > u64::from(STEP) {
        return Box::pin(build(index, ledger)).await;
    }
    let store = ledger.store();
    let mut done = CatchUp {
        cases: 0,
        position: index.position(),
    };
    loop {
        let changed = store.changed_since(done.position, STEP).await?;
        let Some(&(last, _)) = changed.last() else {
            return Ok(done);
        };
        let ids: BTreeSet<CaseId> = changed.into_iter().map(|(_, id)| id).collect();
        let mut docs = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(doc) = case_doc(ledger, id).await? {
                docs.push(doc);
            }
        }
        done.cases += docs.len() as u64;
        index.put(&docs)?;
        done.position = last + 1;
        index.commit(done.position)?;
    }
}

async fn case_doc(ledger: &Ledger, id: CaseId) -> Result<Option<CaseDoc>, StoreError> {
    let Some(case) = ledger.get(id).await? else {
        return Ok(None);
    };
    doc_with_history(ledger, &case).await.map(Some)
}

/// A case's document, its notes read from its history.
async fn doc_with_history(ledger: &Ledger, case: &Case) -> Result<CaseDoc, StoreError> {
    let events = ledger.history(case.id).await?;
    let jpath = ledger.refs().path(&case.location.jurisdiction);
    Ok(doc_of(case, jpath, &events))
}

/// The searchable document of a case: its projection's text and the notes
/// of its events after registration.
pub fn doc_of(case: &Case, jpath: String, events: &[EventRow]) -> CaseDoc {
    let notes = events
        .iter()
        .filter(|e| e.seq > 1)
        .flat_map(EventRow::peoples_words)
        .collect();
    CaseDoc {
        id: case.id.to_string(),
        title: case.title.as_str().to_owned(),
        description: case.description.as_str().to_owned(),
        notes,
        orgs: case
            .parties
            .iter()
            .filter_map(|p| p.organisation.clone())
            .collect(),
        address: case
            .location
            .address
            .as_ref()
            .map(|a| a.as_str().to_owned()),
        jpath,
        body: case.handled_by.as_ref().map(|b| b.to_string()),
        kind: case.kind.as_str().to_owned(),
        state: case.state().as_str().to_owned(),
        category: case.category.to_string(),
        risk: case.risk.as_str().to_owned(),
        registered_ms: case.registered_at.unix_millis(),
    }
}
