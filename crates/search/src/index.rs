//! The case index: one tantivy document per case, replaced whenever the
//! case changes, with the log position it is complete up to recorded in
//! every commit.

use crate::query::{Expr, FilterField, TextField};
use crate::words::{Words, TOKENIZER};
use jiefen_text::Segmenter;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, EmptyQuery, Occur, PhraseQuery, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
    STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

/// Bumped whenever the schema or the tokenizer changes what is indexed: an
/// index of another version is dropped and rebuilt from the store.
pub const INDEX_VERSION: u32 = 2;

/// How many of a draft's words [`CaseIndex::more_like`] asks for. More
/// finds a rephrased repeat that shares fewer of them; each costs the
/// scoring of every case that has it.
pub const MORE_LIKE_WORDS: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Io(String),
    #[error("query: {0}")]
    Query(#[from] crate::query::QueryError),
}

pub type Result<T, E = SearchError> = std::result::Result<T, E>;

/// What of a case is searchable. Built from the projection and the notes of
/// its events; never holds a party's personal data (only organisations'
/// names, which events carry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseDoc {
    pub id: String,
    pub title: String,
    pub description: String,
    /// Reasons, notes and summaries of the case's later events.
    pub notes: Vec<String>,
    /// Names of organisations among the parties.
    pub orgs: Vec<String>,
    pub address: Option<String>,
    /// The jurisdiction's materialised path (`/34/3417/341721/`).
    pub jpath: String,
    /// The handling body: who may see the case through a body scope.
    pub body: Option<String>,
    pub kind: String,
    pub state: String,
    /// The full code; its first level is indexed too, so `labour` finds
    /// `labour.wage_arrears`.
    pub category: String,
    pub risk: String,
    pub registered_ms: i64,
}

/// Which cases a reader may see: the same rule as the store's list scope,
/// applied inside the index so it bounds what is counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Everything,
    /// Cases whose path starts with this one.
    Subtree(String),
    Body(String),
    Nothing,
}

/// The case list's filters, combined with a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filters {
    pub scope: Scope,
    /// A subtree the reader chose inside their scope.
    pub within: Option<String>,
    pub exact: Vec<(FilterField, String)>,
    pub registered_from_ms: Option<i64>,
    pub registered_to_ms: Option<i64>,
}

impl Filters {
    pub fn scoped(scope: Scope) -> Self {
        Self {
            scope,
            within: None,
            exact: Vec::new(),
            registered_from_ms: None,
            registered_to_ms: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    pub score: f32,
}

/// A page of results and how many matched in all (inside the scope).
pub struct Found {
    pub total: usize,
    pub hits: Vec<Hit>,
    highlighter: Highlighter,
}

impl Found {
    pub fn highlighter(&self) -> &Highlighter {
        &self.highlighter
    }
}

/// A fragment of a case's text around the words that matched.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Snippet {
    pub field: &'static str,
    pub text: String,
    /// Character (not byte) ranges of `text` to highlight.
    pub highlights: Vec<(usize, usize)>,
}

pub struct Highlighter {
    generators: Vec<(TextField, SnippetGenerator)>,
}

impl Highlighter {
    /// The best fragment of the first field that has a match, or nothing.
    pub fn snippet(&self, texts: &[(TextField, &str)]) -> Option<Snippet> {
        for (field, generator) in &self.generators {
            for (f, text) in texts {
                if f != field {
                    continue;
                }
                let snippet = generator.snippet(text);
                if snippet.highlighted().is_empty() {
                    continue;
                }
                let fragment = snippet.fragment();
                // A whole word may reach past a fragment cut at one of its
                // search-mode parts: highlights are clamped to the fragment.
                let chars_before = |byte: usize| {
                    let mut end = byte.min(fragment.len());
                    while !fragment.is_char_boundary(end) {
                        end -= 1;
                    }
                    fragment[..end].chars().count()
                };
                return Some(Snippet {
                    field: field.name(),
                    text: fragment.to_owned(),
                    highlights: snippet
                        .highlighted()
                        .iter()
                        .map(|r| (chars_before(r.start), chars_before(r.end)))
                        .filter(|(a, b)| a < b)
                        .collect(),
                });
            }
        }
        None
    }
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    title: Field,
    description: Field,
    notes: Field,
    org: Field,
    address: Field,
    /// Every prefix of the jurisdiction path, so a subtree is one term.
    place: Field,
    body: Field,
    kind: Field,
    state: Field,
    category: Field,
    risk: Field,
    registered: Field,
}

impl Fields {
    fn text(&self, field: TextField) -> Field {
        match field {
            TextField::Title => self.title,
            TextField::Description => self.description,
            TextField::Notes => self.notes,
            TextField::Org => self.org,
            TextField::Address => self.address,
        }
    }

    fn filter(&self, field: FilterField) -> Field {
        match field {
            FilterField::Kind => self.kind,
            FilterField::State => self.state,
            FilterField::Category => self.category,
            FilterField::Risk => self.risk,
            FilterField::Body => self.body,
        }
    }
}

/// How much more a match in one field counts than one in the description.
fn boost(field: TextField) -> f32 {
    match field {
        TextField::Title => 3.0,
        TextField::Org => 2.0,
        TextField::Address => 1.5,
        TextField::Description | TextField::Notes => 1.0,
    }
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        title: b.add_text_field("title", words.clone()),
        description: b.add_text_field("description", words.clone()),
        notes: b.add_text_field("notes", words.clone()),
        org: b.add_text_field("org", words.clone()),
        address: b.add_text_field("address", words),
        place: b.add_text_field("place", STRING),
        body: b.add_text_field("body", STRING),
        kind: b.add_text_field("kind", STRING),
        state: b.add_text_field("state", STRING),
        category: b.add_text_field("category", STRING),
        risk: b.add_text_field("risk", STRING),
        registered: b.add_i64_field("registered_ms", INDEXED | FAST),
    };
    (b.build(), fields)
}

/// What a commit records: how far into the event log the index is complete.
#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    version: u32,
    position: u64,
}

pub struct CaseIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    seg: Arc<Segmenter>,
}

impl std::fmt::Debug for CaseIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CaseIndex(..)")
    }
}

/// A writer whose work failed (a full disk, an I/O error) is rolled back to
/// its last commit: tantivy does not replace an indexing thread that died
/// with an error, so without this every later put and commit would fail
/// until a restart. Nothing is lost: the index's recorded log position only
/// moves with a commit, so the follower puts those cases again.
fn recover<T>(writer: &mut IndexWriter, result: tantivy::Result<T>) -> Result<T> {
    if result.is_err() {
        if let Err(e) = writer.rollback() {
            tracing::warn!(error = %e, "search index writer could not be rolled back");
        }
    }
    Ok(result?)
}

/// Memory the writer may buffer before it writes a segment.
const WRITER_BUDGET: usize = 64 << 20;

impl CaseIndex {
    /// Opens the index in `dir`, creating it, or starting it afresh when it
    /// was written by another index version (it is rebuilt from the store).
    pub fn open(dir: &Path, seg: Arc<Segmenter>) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| SearchError::Io(format!("{}: {e}", dir.display())))?;
        let (schema, fields) = schema();
        let current = Index::open_in_dir(dir)
            .ok()
            .filter(|index| Self::read_payload(index).is_some_and(|p| p.version == INDEX_VERSION));
        let index = match current {
            Some(index) => index,
            None => {
                // Only our own files live here; an index we cannot use is
                // derived data and is rebuilt.
                std::fs::remove_dir_all(dir)
                    .and_then(|_| std::fs::create_dir_all(dir))
                    .map_err(|e| SearchError::Io(format!("{}: {e}", dir.display())))?;
                Index::create_in_dir(dir, schema)?
            }
        };
        Self::with_index(index, fields, seg)
    }

    /// An index in memory, for tests and benchmarks.
    pub fn in_memory(seg: Arc<Segmenter>) -> Result<Self> {
        let (schema, fields) = schema();
        Self::with_index(Index::create_in_ram(schema), fields, seg)
    }

    fn with_index(index: Index, fields: Fields, seg: Arc<Segmenter>) -> Result<Self> {
        index
            .tokenizers()
            .register(TOKENIZER, Words::analyzer(seg.clone()));
        let writer = index.writer(WRITER_BUDGET)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let this = Self {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            seg,
        };
        if Self::read_payload(&this.index).is_none() {
            this.commit(0)?;
        }
        Ok(this)
    }

    fn read_payload(index: &Index) -> Option<Payload> {
        let metas = index.load_metas().ok()?;
        serde_json::from_str(metas.payload.as_deref()?).ok()
    }

    /// The log position the index is complete up to: every event before it
    /// is reflected.
    pub fn position(&self) -> u64 {
        Self::read_payload(&self.index).map_or(0, |p| p.position)
    }

    pub fn segmenter(&self) -> &Arc<Segmenter> {
        &self.seg
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        // A panic while holding the lock leaves nothing half-done that a
        // commit would publish: uncommitted documents are discarded on the
        // next rollback or replaced on the next put.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces these cases' documents. Visible after [`CaseIndex::commit`].
    pub fn put(&self, docs: &[CaseDoc]) -> Result<()> {
        let mut writer = self.writer();
        let added = self.add_documents(&writer, docs);
        recover(&mut writer, added)
    }

    fn add_documents(&self, writer: &IndexWriter, docs: &[CaseDoc]) -> tantivy::Result<()> {
        let f = self.fields;
        for d in docs {
            writer.delete_term(Term::from_field_text(f.id, &d.id));
            let mut doc = TantivyDocument::default();
            doc.add_text(f.id, &d.id);
            doc.add_text(f.title, &d.title);
            doc.add_text(f.description, &d.description);
            for note in &d.notes {
                doc.add_text(f.notes, note);
            }
            for org in &d.orgs {
                doc.add_text(f.org, org);
            }
            if let Some(address) = &d.address {
                doc.add_text(f.address, address);
            }
            for prefix in path_prefixes(&d.jpath) {
                doc.add_text(f.place, prefix);
            }
            if let Some(body) = &d.body {
                doc.add_text(f.body, body);
            }
            doc.add_text(f.kind, &d.kind);
            doc.add_text(f.state, &d.state);
            doc.add_text(f.category, &d.category);
            if let Some((first, _)) = d.category.split_once('.') {
                doc.add_text(f.category, first);
            }
            doc.add_text(f.risk, &d.risk);
            doc.add_i64(f.registered, d.registered_ms);
            writer.add_document(doc)?;
        }
        Ok(())
    }

    /// Makes everything put so far durable and visible, recording that the
    /// index is complete up to `position` in the event log.
    pub fn commit(&self, position: u64) -> Result<()> {
        let mut writer = self.writer();
        let payload = serde_json::to_string(&Payload {
            version: INDEX_VERSION,
            position,
        })
        .expect("a payload serialises");
        let committed = writer.prepare_commit().and_then(|mut prepared| {
            prepared.set_payload(&payload);
            prepared.commit()
        });
        recover(&mut writer, committed)?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Forgets every document (for a full rebuild); the position goes back
    /// to 0 at the next commit.
    pub fn clear(&self) -> Result<()> {
        let mut writer = self.writer();
        let cleared = writer.delete_all_documents();
        recover(&mut writer, cleared)?;
        Ok(())
    }

    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The page `offset..offset + limit` of the cases matching `expr` and
    /// the filters, best first, and the number of all such cases. The scope
    /// is part of the query, so nothing outside it is counted.
    pub fn search(
        &self,
        expr: &Expr,
        filters: &Filters,
        offset: usize,
        limit: usize,
    ) -> Result<Found> {
        let text = self.compile(expr);
        let query = self.filtered(text, filters);
        let searcher = self.reader.searcher();
        let limit = limit.max(1);
        let (total, top) = searcher.search(
            &query,
            &(
                Count,
                TopDocs::with_limit(limit)
                    .and_offset(offset)
                    .order_by_score(),
            ),
        )?;
        let hits = self.hits(&searcher, top)?;
        let mut generators = Vec::new();
        // The description first: a list shows the title anyway, and the
        // words around a match in the description say more.
        for field in [
            TextField::Description,
            TextField::Notes,
            TextField::Title,
            TextField::Org,
            TextField::Address,
        ] {
            let mut generator =
                SnippetGenerator::create(&searcher, &query, self.fields.text(field))?;
            generator.set_max_num_chars(120);
            generators.push((field, generator));
        }
        Ok(Found {
            total,
            hits,
            highlighter: Highlighter { generators },
        })
    }

    /// The cases that share most of these words (in title or description),
    /// inside the filters, best first: the candidates a repeat check judges.
    ///
    /// `words` are a draft's telling words with how much each is said
    /// (`jiefen_text::repeats::telling_words`). Of these, the
    /// [`MORE_LIKE_WORDS`] rarest *among the indexed cases* are asked for
    /// (tf × BM25's idf, as Lucene's MoreLikeThis picks its terms): a
    /// general idf table calls words rare that a deployment's cases all
    /// use (小区, 业主 in a city of estates), and any case with any asked
    /// word must be scored, so common words make the query slow and its
    /// candidates poor. Words no case has are skipped. Any one asked word
    /// is enough to be a candidate; BM25 ranks those sharing the rarest and
    /// the most first, so a near-copy is at the top.
    pub fn more_like(
        &self,
        words: &[(String, f64)],
        filters: &Filters,
        limit: usize,
    ) -> Result<Vec<Hit>> {
        let searcher = self.reader.searcher();
        let asked = self.rarest(&searcher, words)?;
        let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in &asked {
            for (field, boost) in [(self.fields.title, 2.0), (self.fields.description, 1.0)] {
                any.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(self.term_query(field, w), boost)),
                ));
            }
        }
        if any.is_empty() {
            return Ok(Vec::new());
        }
        let query = self.filtered(Box::new(BooleanQuery::new(any)), filters);
        let top = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        self.hits(&searcher, top)
    }

    /// The words [`CaseIndex::more_like`] asks for, rarest first.
    pub fn more_like_words(&self, words: &[(String, f64)]) -> Result<Vec<String>> {
        self.rarest(&self.reader.searcher(), words)
    }

    fn rarest(&self, searcher: &tantivy::Searcher, words: &[(String, f64)]) -> Result<Vec<String>> {
        let cases = searcher.num_docs() as f64;
        let mut asked: Vec<(String, f64)> = Vec::with_capacity(words.len());
        for (w, said) in words {
            let w = w.to_lowercase();
            if asked.iter().any(|(a, _)| *a == w) {
                continue;
            }
            let mut df = 0u64;
            for field in [self.fields.title, self.fields.description] {
                df += searcher.doc_freq(&Term::from_field_text(field, &w))?;
            }
            if df == 0 {
                continue;
            }
            let df = (df as f64).min(cases);
            let idf = (1.0 + (cases - df + 0.5) / (df + 0.5)).ln();
            asked.push((w, said * idf));
        }
        asked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        asked.truncate(MORE_LIKE_WORDS);
        Ok(asked.into_iter().map(|(w, _)| w).collect())
    }

    fn hits(
        &self,
        searcher: &tantivy::Searcher,
        top: Vec<(f32, tantivy::DocAddress)>,
    ) -> Result<Vec<Hit>> {
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            if let Some(id) = doc.get_first(self.fields.id).and_then(|v| v.as_str()) {
                hits.push(Hit {
                    id: id.to_owned(),
                    score,
                });
            }
        }
        Ok(hits)
    }

    fn filtered(&self, text: Box<dyn Query>, filters: &Filters) -> Box<dyn Query> {
        let f = self.fields;
        let term = |field: Field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            ))
        };
        let mut must: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text)];
        match &filters.scope {
            Scope::Everything => {}
            Scope::Subtree(path) => must.push((Occur::Must, term(f.place, path))),
            Scope::Body(body) => must.push((Occur::Must, term(f.body, body))),
            Scope::Nothing => return Box::new(EmptyQuery),
        }
        if let Some(path) = &filters.within {
            must.push((Occur::Must, term(f.place, path)));
        }
        for (field, value) in &filters.exact {
            must.push((Occur::Must, term(f.filter(*field), value)));
        }
        if filters.registered_from_ms.is_some() || filters.registered_to_ms.is_some() {
            let bound = |ms: Option<i64>, inclusive: bool| match ms {
                None => Bound::Unbounded,
                Some(ms) if inclusive => Bound::Included(Term::from_field_i64(f.registered, ms)),
                Some(ms) => Bound::Excluded(Term::from_field_i64(f.registered, ms)),
            };
            must.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    bound(filters.registered_from_ms, true),
                    bound(filters.registered_to_ms, false),
                )),
            ));
        }
        // Filters do not score: the constant part of a must clause adds
        // the same to every hit, so ranking is by the text alone.
        Box::new(BooleanQuery::new(must))
    }

    fn compile(&self, expr: &Expr) -> Box<dyn Query> {
        match expr {
            Expr::Words { field, text } => {
                // Precise words for the query: search mode indexed the parts
                // of long words too, so a precise word finds them all.
                let words: Vec<String> = self
                    .seg
                    .words(text)
                    .into_iter()
                    .filter(|w| !crate::words::is_number_like(w))
                    .map(str::to_lowercase)
                    .collect();
                if words.is_empty() {
                    return Box::new(EmptyQuery);
                }
                let each: Vec<(Occur, Box<dyn Query>)> = words
                    .iter()
                    .map(|w| {
                        (
                            Occur::Must,
                            self.in_fields(*field, |f| self.term_query(f, w)),
                        )
                    })
                    .collect();
                one_or_all(each)
            }
            Expr::Phrase { field, text } => {
                let words: Vec<String> = crate::words::in_text_order(&self.seg, text)
                    .into_iter()
                    .map(|(_, w)| w.to_lowercase())
                    .collect();
                match words.len() {
                    0 => Box::new(EmptyQuery),
                    1 => self.in_fields(*field, |f| self.term_query(f, &words[0])),
                    _ => self.in_fields(*field, |f| {
                        Box::new(PhraseQuery::new(
                            words.iter().map(|w| Term::from_field_text(f, w)).collect(),
                        ))
                    }),
                }
            }
            Expr::Filter { field, value } => Box::new(TermQuery::new(
                Term::from_field_text(self.fields.filter(*field), value),
                IndexRecordOption::Basic,
            )),
            Expr::And(all) => {
                let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                let mut positive = false;
                for e in all {
                    match e {
                        Expr::Not(inner) => clauses.push((Occur::MustNot, self.compile(inner))),
                        e => {
                            positive = true;
                            clauses.push((Occur::Must, self.compile(e)));
                        }
                    }
                }
                if !positive {
                    clauses.push((Occur::Must, Box::new(AllQuery)));
                }
                Box::new(BooleanQuery::new(clauses))
            }
            Expr::Or(any) => Box::new(BooleanQuery::new(
                any.iter()
                    .map(|e| (Occur::Should, self.compile(e)))
                    .collect(),
            )),
            Expr::Not(inner) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery)),
                (Occur::MustNot, self.compile(inner)),
            ])),
        }
    }

    fn term_query(&self, field: Field, word: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, word),
            IndexRecordOption::WithFreqs,
        ))
    }

    /// The query in one field, or in any text field with its boost.
    fn in_fields(
        &self,
        only: Option<TextField>,
        query: impl Fn(Field) -> Box<dyn Query>,
    ) -> Box<dyn Query> {
        match only {
            Some(field) => query(self.fields.text(field)),
            None => Box::new(BooleanQuery::new(
                TextField::ALL
                    .into_iter()
                    .map(|field| {
                        let q: Box<dyn Query> = Box::new(BoostQuery::new(
                            query(self.fields.text(field)),
                            boost(field),
                        ));
                        (Occur::Should, q)
                    })
                    .collect(),
            )),
        }
    }
}

fn one_or_all(mut clauses: Vec<(Occur, Box<dyn Query>)>) -> Box<dyn Query> {
    if clauses.len() == 1 {
        clauses.pop().expect("one").1
    } else {
        Box::new(BooleanQuery::new(clauses))
    }
}

/// `/34/3417/341721/` → `/34/`, `/34/3417/`, `/34/3417/341721/`.
fn path_prefixes(path: &str) -> impl Iterator<Item = &str> {
    path.char_indices()
        .filter(|(i, c)| *c == '/' && *i > 0)
        .map(move |(i, _)| &path[..=i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_of_a_path() {
        assert_eq!(
            path_prefixes("/34/3417/341721/").collect::<Vec<_>>(),
            ["/34/", "/34/3417/", "/34/3417/341721/"]
        );
        assert_eq!(path_prefixes("").count(), 0);
    }
}
