//! Event bodies and projections at rest: zstd frames against dictionaries
//! each store trains from its own rows.
//!
//! Why: an event body is a few hundred bytes of JSON whose keys, codes and
//! phrases recur from row to row, and a projection is a couple of
//! kilobytes of the same. Compressed one row at a time, such a row shrinks
//! by about a fifth; against a dictionary trained on rows like it, by about
//! four fifths. Events and projections were 70% of a million-case store.
//!
//! Why the store's own dictionary rather than one shipped in the binary:
//! every deployment's jurisdiction and body codes, category names and
//! wording differ, and a dictionary trained on the demo would know none of
//! them (nor may one trained on real messages be committed).
//!
//! What a stored value is: either the JSON itself as UTF-8 (rows written
//! before the store had a dictionary, or by anything that writes JSON
//! directly), or one zstd frame naming its dictionary by id. JSON never
//! starts with zstd's magic number (its second byte is not valid UTF-8 at
//! the start of a character), so the two cannot be confused. A frame
//! decompresses to exactly the bytes that were hashed.
//!
//! A dictionary is written to the store in the same transaction as the
//! first rows packed with it, and only used for later writes once that
//! transaction has committed: no row can name a dictionary the store does
//! not hold. Dictionaries are never deleted; a retrained one gets a new id
//! (zstd derives it from the dictionary's content) and older rows keep
//! theirs.

use crate::rows::WritePlan;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use zstd::zstd_safe::{self, CCtx, CDict, DCtx, DDict};

/// zstd's frame magic number, little-endian, as a value's first bytes.
pub(crate) const FRAME_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
/// zstd's default: nearly level 9's ratio against a dictionary, at a
/// fraction of its cost.
const LEVEL: i32 = 3;
/// What a dictionary may grow to. 64 KiB against 16 KiB: 4.8x rather than
/// 4.0x on event bodies, 6.4x rather than 5.0x on projections.
const DICTIONARY_BYTES: usize = 64 * 1024;
/// No stored value decompresses to more than this: a corrupt or forged
/// frame header cannot make a read allocate without bound.
const MAX_VALUE_BYTES: u64 = 64 * 1024 * 1024;

/// Which rows a dictionary is for: their shapes differ too much for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Corpus {
    Events,
    Cases,
}

impl Corpus {
    pub const ALL: [Corpus; 2] = [Corpus::Events, Corpus::Cases];

    pub fn as_str(self) -> &'static str {
        match self {
            Corpus::Events => "events",
            Corpus::Cases => "cases",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Corpus::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// When a dictionary is trained: after this many rows written unpacked
    /// (generation 0), and once more after this many packed with the first,
    /// from a sample of a more settled mix of rows (a new store's first
    /// rows are mostly registrations).
    fn train_after(self, generation: u32) -> Option<u64> {
        let first = match self {
            Corpus::Events => 2_000,
            Corpus::Cases => 500,
        };
        match generation {
            0 => Some(first),
            1 => Some(first * 100),
            _ => None,
        }
    }

    /// How many rows the trainer keeps as samples: about a hundred times
    /// the dictionary's size, as zstd advises.
    fn sample_rows(self) -> usize {
        match self {
            Corpus::Events => 12_000,
            Corpus::Cases => 3_000,
        }
    }
}

/// A trained dictionary, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dictionary {
    /// zstd's id for it, which every frame packed with it names.
    pub id: u32,
    pub corpus: Corpus,
    /// 0 for a store's first dictionary of its corpus, then 1.
    pub generation: u32,
    /// How many rows it was trained on.
    pub samples: u32,
    pub bytes: Vec<u8>,
}

/// What [`crate::Store::packing`] finds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub dictionaries: u64,
    pub events: Share,
    pub cases: Share,
}

/// One table's packed values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Share {
    pub rows: u64,
    /// Rows stored as zstd frames rather than as JSON.
    pub packed: u64,
    /// The stored values' bytes, packed or not.
    pub bytes: u64,
}

impl Share {
    /// The SQL that counts a table's values: `$1` is [`FRAME_MAGIC`].
    pub(crate) fn count_sql(table: &str, column: &str) -> String {
        format!(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN substr({column}, 1, 4) = $1 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(octet_length({column})), 0) FROM {table}"
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// The store holds the dictionary, but this process has not loaded it
    /// (another process trained it since): load and try again.
    #[error("dictionary {0} is not loaded")]
    Missing(u32),
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
}

struct Encoder {
    generation: u32,
    cdict: CDict<'static>,
}

impl Encoder {
    fn new(dictionary: &Dictionary) -> Result<Self, UnpackError> {
        Ok(Encoder {
            generation: dictionary.generation,
            cdict: CDict::try_create(&dictionary.bytes, LEVEL).ok_or_else(|| {
                UnpackError::Corrupt(format!("dictionary {} does not load", dictionary.id))
            })?,
        })
    }
}

/// A dictionary trained by this process, not yet stored.
#[derive(Clone)]
pub struct Trained {
    pub dictionary: Dictionary,
    encoder: Arc<Encoder>,
}

/// Rows in a write from which it is packed on a thread of its own.
const PACKED_APART: usize = 1_000;

/// A write's values as stored: event bodies and projections, in the plan's
/// order.
pub struct Packed {
    pub events: Vec<Vec<u8>>,
    pub cases: Vec<Vec<u8>>,
}

/// A write's packing, done or under way (see [`Packer::pack_write`]).
pub enum Packing {
    Done(Packed),
    Apart(tokio::task::JoinHandle<Packed>),
}

impl Packing {
    pub async fn finish(self) -> Packed {
        match self {
            Packing::Done(p) => p,
            Packing::Apart(task) => task.await.expect("packing panicked"),
        }
    }
}

/// Rows seen since the last dictionary, and a uniform sample of them.
struct Trainer {
    seen: u64,
    samples: Vec<String>,
    /// Drives the reservoir sample; seeded alike in every process, so a
    /// load is repeatable.
    rng: StdRng,
}

impl Trainer {
    fn new() -> Self {
        Trainer {
            seen: 0,
            samples: Vec::new(),
            rng: StdRng::seed_from_u64(0x9E37_79B9_7F4A_7C15),
        }
    }

    /// Reservoir sampling (Algorithm R).
    fn offer(&mut self, json: &str, keep: usize) {
        self.seen += 1;
        if self.samples.len() < keep {
            self.samples.push(json.to_owned());
            return;
        }
        let slot = self.rng.gen_range(0..self.seen);
        if (slot as usize) < keep {
            self.samples[slot as usize] = json.to_owned();
        }
    }
}

struct Side {
    encoder: Option<Arc<Encoder>>,
    trainer: Trainer,
}

/// Packs values for writing and unpacks them on reading; one per store.
pub struct Packer {
    sides: Mutex<HashMap<Corpus, Side>>,
    decoders: RwLock<HashMap<u32, Arc<DDict<'static>>>>,
}

thread_local! {
    static DCTX: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
    static CCTX: RefCell<CCtx<'static>> = RefCell::new(CCtx::create());
}

impl Packer {
    /// A packer that knows `dictionaries` (all the store holds) and packs
    /// with the newest of each corpus.
    pub fn new(dictionaries: Vec<Dictionary>) -> Result<Self, UnpackError> {
        let packer = Packer {
            sides: Mutex::new(
                Corpus::ALL
                    .into_iter()
                    .map(|c| {
                        let side = Side {
                            encoder: None,
                            trainer: Trainer::new(),
                        };
                        (c, side)
                    })
                    .collect(),
            ),
            decoders: RwLock::new(HashMap::new()),
        };
        for dictionary in dictionaries {
            let encoder = Arc::new(Encoder::new(&dictionary)?);
            packer.adopt(&Trained {
                dictionary,
                encoder,
            })?;
        }
        Ok(packer)
    }

    /// Makes a dictionary readable and, if it is the newest of its corpus,
    /// the one later rows are packed with. Call only once the store holds
    /// it.
    pub fn adopt(&self, trained: &Trained) -> Result<(), UnpackError> {
        let dictionary = &trained.dictionary;
        self.learn(dictionary)?;
        let encoder = trained.encoder.clone();
        let mut sides = self.sides.lock().expect("packer lock");
        let side = sides.get_mut(&dictionary.corpus).expect("every corpus");
        if side
            .encoder
            .as_ref()
            .is_none_or(|e| e.generation <= dictionary.generation)
        {
            side.encoder = Some(encoder);
            side.trainer.seen = 0;
            side.trainer.samples.clear();
        }
        Ok(())
    }

    /// Makes `dictionary` readable (one another process trained).
    pub fn learn(&self, dictionary: &Dictionary) -> Result<(), UnpackError> {
        let ddict = DDict::try_create(&dictionary.bytes).ok_or_else(|| {
            UnpackError::Corrupt(format!("dictionary {} does not load", dictionary.id))
        })?;
        self.decoders
            .write()
            .expect("packer lock")
            .insert(dictionary.id, Arc::new(ddict));
        Ok(())
    }

    /// Dictionaries due to be trained, trained from the rows sampled so
    /// far. Store them with the rows `pack`ed with them, then `adopt` them.
    pub fn train_due(&self) -> Vec<Trained> {
        let mut sides = self.sides.lock().expect("packer lock");
        let mut out = Vec::new();
        for corpus in Corpus::ALL {
            let side = sides.get_mut(&corpus).expect("every corpus");
            let generation = side.encoder.as_ref().map_or(0, |e| e.generation + 1);
            let Some(after) = corpus.train_after(generation) else {
                continue;
            };
            if side.trainer.seen < after {
                continue;
            }
            // Training fails on samples too few or too alike to learn from
            // (zstd wants several kilobytes); such rows stay unpacked and
            // the trainer tries again after as many more.
            match zstd::dict::from_samples(&side.trainer.samples, DICTIONARY_BYTES) {
                Ok(bytes) => {
                    let dictionary =
                        zstd_safe::get_dict_id_from_dict(&bytes).map(|id| Dictionary {
                            id: id.get(),
                            corpus,
                            generation,
                            samples: side.trainer.samples.len() as u32,
                            bytes,
                        });
                    match dictionary.and_then(|d| Some((Arc::new(Encoder::new(&d).ok()?), d))) {
                        Some((encoder, dictionary)) => out.push(Trained {
                            dictionary,
                            encoder,
                        }),
                        None => side.trainer.seen = 0,
                    }
                }
                Err(e) => {
                    tracing::debug!(corpus = corpus.as_str(), error = %e, "dictionary not trained yet");
                    side.trainer.seen = 0;
                }
            }
        }
        out
    }

    /// The stored form of `json`: packed with `fresh` (dictionaries this
    /// write trained) or the corpus's current dictionary, or the JSON
    /// itself while there is none.
    pub fn pack(&self, corpus: Corpus, json: &str, fresh: &[Trained]) -> Vec<u8> {
        let encoder = {
            let mut sides = self.sides.lock().expect("packer lock");
            let side = sides.get_mut(&corpus).expect("every corpus");
            let trained = side.encoder.as_ref().map_or(0, |e| e.generation + 1);
            if corpus.train_after(trained).is_some() {
                side.trainer.offer(json, corpus.sample_rows());
            }
            fresh
                .iter()
                .find(|t| t.dictionary.corpus == corpus)
                .map(|t| t.encoder.clone())
                .or_else(|| side.encoder.clone())
        };
        match encoder {
            Some(e) => compress(json.as_bytes(), &e.cdict),
            None => json.as_bytes().to_vec(),
        }
    }

    /// The stored forms of a write's event bodies and projections, in the
    /// plan's order. A large write (a bulk load's day) is packed on a
    /// blocking thread, so the database can take the write's other rows
    /// meanwhile; a small one is packed at once.
    pub fn pack_write(self: &Arc<Self>, plan: &WritePlan, fresh: &[Trained]) -> Packing {
        let events = plan.events.iter().map(|e| e.body.as_str());
        let cases = plan.cases.iter().map(|(c, _)| c.state_json.as_str());
        if plan.events.len() + plan.cases.len() < PACKED_APART {
            return Packing::Done(self.pack_all(events, cases, fresh));
        }
        let events: Vec<String> = events.map(str::to_owned).collect();
        let cases: Vec<String> = cases.map(str::to_owned).collect();
        let (packer, fresh) = (self.clone(), fresh.to_vec());
        Packing::Apart(tokio::task::spawn_blocking(move || {
            packer.pack_all(
                events.iter().map(String::as_str),
                cases.iter().map(String::as_str),
                &fresh,
            )
        }))
    }

    fn pack_all<'a>(
        &self,
        events: impl Iterator<Item = &'a str>,
        cases: impl Iterator<Item = &'a str>,
        fresh: &[Trained],
    ) -> Packed {
        Packed {
            events: events
                .map(|j| self.pack(Corpus::Events, j, fresh))
                .collect(),
            cases: cases.map(|j| self.pack(Corpus::Cases, j, fresh)).collect(),
        }
    }

    /// The JSON a stored value holds.
    pub fn unpack(&self, stored: &[u8]) -> Result<String, UnpackError> {
        if !stored.starts_with(&FRAME_MAGIC) {
            return String::from_utf8(stored.to_vec()).map_err(|_| {
                UnpackError::Corrupt("value is neither JSON text nor a zstd frame".into())
            });
        }
        let size = match zstd_safe::get_frame_content_size(stored) {
            Ok(Some(n)) if n <= MAX_VALUE_BYTES => n as usize,
            Ok(_) | Err(_) => {
                return Err(UnpackError::Corrupt(
                    "zstd frame without a plausible size".into(),
                ))
            }
        };
        let mut out = Vec::with_capacity(size);
        let result = match zstd_safe::get_dict_id_from_frame(stored) {
            Some(id) => {
                let ddict = self
                    .decoders
                    .read()
                    .expect("packer lock")
                    .get(&id.get())
                    .cloned()
                    .ok_or(UnpackError::Missing(id.get()))?;
                DCTX.with_borrow_mut(|d| d.decompress_using_ddict(&mut out, stored, &ddict))
            }
            None => DCTX.with_borrow_mut(|d| d.decompress(&mut out, stored)),
        };
        match result {
            Ok(n) if n == size => String::from_utf8(out)
                .map_err(|_| UnpackError::Corrupt("zstd frame does not hold UTF-8".into())),
            Ok(_) => Err(UnpackError::Corrupt(
                "zstd frame shorter than it says".into(),
            )),
            Err(code) => Err(UnpackError::Corrupt(format!(
                "zstd: {}",
                zstd_safe::get_error_name(code)
            ))),
        }
    }
}

fn compress(src: &[u8], cdict: &CDict<'static>) -> Vec<u8> {
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(src.len()));
    CCTX.with_borrow_mut(|c| c.compress_using_cdict(&mut out, src, cdict))
        .expect("a buffer of compress_bound always suffices");
    out
}

#[cfg(test)]
mod tests;
