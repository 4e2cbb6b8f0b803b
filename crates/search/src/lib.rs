//! Full-text search of cases, offline.
//!
//! - [`words`]: the tokenizer the index and the queries share (jieba's
//!   search-mode words from `jiefen-text`, with the domain dictionary).
//! - [`query`]: the search box's language (words, "phrases", AND/OR/NOT,
//!   `field:` restrictions and filters), parsed with positioned errors.
//! - [`index`]: the tantivy index of cases; results are filtered by the
//!   reader's scope inside the query, so nothing outside it is counted.
//! - [`follow`]: keeping the index in step with the event log (catch-up from
//!   the position recorded in each index commit).
//!
//! # Invariants
//!
//! - The index is derived: it can always be deleted and rebuilt from the
//!   store, and it never holds what the store does not (no personal data of
//!   parties; runs of seven or more digits are not indexed at all, so a phone
//!   or ID number typed into a description cannot be searched for).
//! - An index commit records the log position it is complete up to; the
//!   position only moves after the documents are committed.
#![forbid(unsafe_code)]

pub mod follow;
pub mod index;
pub mod query;
pub mod words;

pub use follow::{CatchUp, FollowError, Follower};
pub use index::{CaseDoc, CaseIndex, Filters, Found, Hit, Scope, SearchError, Snippet};
pub use query::{parse, Expr, FilterField, QueryError, TextField};
