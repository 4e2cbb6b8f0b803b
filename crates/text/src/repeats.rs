//! Repeats by text 重复诉求: whether a new case's text says again what an
//! earlier case said, and which phrases they share, for the clerk who
//! registers it. Candidate retrieval (a full-text query, a scan of stored
//! simhashes) happens elsewhere; this module judges one pair, fast.
//!
//! Three fingerprints of a case's title and description ([`TextPrint`]):
//!
//! - a 64-bit [`simhash`] of its jieba words, each weighted by term
//!   frequency times idf (jieba's idf table, `data/idf.txt`), common
//!   function words left out. It is what a store keeps per case and scans;
//!   its bytes are defined below and do not depend on the platform.
//! - [`Shingles`]: hashed character 3-grams of the compacted text
//!   (punctuation and whitespace dropped, full-width folded, latin
//!   lowercased), for near-exact copies and for a short text copied inside
//!   a long one (containment).
//! - [`Terms`]: the tf·idf vector of its words (title counted twice,
//!   sublinear tf), compared by cosine, for the same matter told in other
//!   words.
//!
//! [`judge`] calls a pair a near-exact repeat when the simhashes differ in
//! at most [`NEAR_EXACT_HAMMING`] bits, or the 3-gram Jaccard reaches
//! [`NEAR_EXACT_JACCARD`], or one text's 3-grams lie at least
//! [`NEAR_EXACT_CONTAINMENT`] inside the other's; otherwise a rephrased
//! repeat when the word cosine reaches [`REPHRASED_COSINE`].
//!
//! The thresholds were read off `data/repeat-pairs.tsv`: 420 pairs of the
//! real citizen messages and of paraphrases written for them, 306 *same*
//! and 114 *different*, labelled by reading both texts
//! (`tests/repeat_pairs.rs` measures and prints all of this):
//!
//! - Rephrased: the word cosine alone has precision 0.91 at recall 0.96
//!   (cut 0.40), 0.93 at 0.91 (0.45), 0.95 at 0.86 (0.50); the 3-gram
//!   Jaccard alone reaches precision 0.89 only at recall 0.65. idf is most
//!   of the difference: shared names of places, estates and companies
//!   count, shared complaint phrasing (严重影响, 居民, 相关部门) barely
//!   does. 0.45 is the balance. What it still calls the same is the same
//!   subject for another matter: one writer's form letter on another
//!   topic, another question to the same office, another buyer's contract
//!   with the same developer.
//! - Near-exact: the bounds only decide which kind a found pair is shown
//!   as (the cosine finds these pairs too); 98% of the pairs they call
//!   near-exact are labelled same. The closest *different* pair is 7 bits
//!   apart (a form letter sent for another venue, 3-gram Jaccard 0.95);
//!   of 20,000 random pairs of messages one lies within 7 bits (a repost),
//!   the 1st percentile is 19 bits and the median 29, so a scan of stored
//!   simhashes can cut at 7 to 12 bits.
//!
//! All together: precision 0.93, recall 0.91, F1 0.92 on the labelled
//! pairs. They were drawn from retrieval-like candidates, about 70% of
//! which repeat; among a new case's ~50 candidates far fewer do, so a
//! clerk sees these as suggestions with their reason and the shared
//! phrases ([`shared_phrases`]), never as a decision.
//!
//! Speed (release build, one core): [`TextPrint::of`] about 0.12 ms per
//! message, [`judge`] about 2 µs per pair, [`shared_phrases`] about
//! 0.13 ms for two 1,000-character texts.

use crate::segment::Segmenter;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The version of the bytes [`simhash`] computes. A store that keeps
/// simhashes keeps this beside them and recomputes when it changes. The
/// segmenter's dictionary is an input too: a deployment that adds words
/// changes the simhash of texts containing them.
pub const FINGERPRINT_VERSION: u32 = 1;

/// Near-exact when the simhashes differ in at most this many bits.
pub const NEAR_EXACT_HAMMING: u32 = 7;
/// Near-exact when the 3-gram Jaccard similarity reaches this.
pub const NEAR_EXACT_JACCARD: f64 = 0.7;
/// Near-exact when this share of the shorter text's 3-grams is in the
/// longer one (a short complaint copied inside a long letter).
pub const NEAR_EXACT_CONTAINMENT: f64 = 0.85;
/// Containment counts only for texts of at least this many 3-grams: a
/// dozen characters are inside many long letters by chance.
pub const CONTAINMENT_MIN_SHINGLES: usize = 12;
/// Rephrased when the tf·idf word cosine reaches this.
pub const REPHRASED_COSINE: f64 = 0.45;

/// Characters per shingle. 2, 3 and 4 measured alike on the labelled pairs
/// (alone, recall 0.62 to 0.68 at precision 0.9); 3 because a 2-gram is
/// often a common word by itself, so unrelated texts share more of them.
pub const SHINGLE_CHARS: usize = 3;

/// How many times a title's words count against the description's: a
/// title names the matter in few words.
const TITLE_WEIGHT: f64 = 2.0;

/// Words whose idf is below this (的, 了, 是, 在, 我, 年, 月 …) say
/// nothing about the matter and are left out.
const STOP_IDF_CENTI: u32 = 300;

/// The idf of words not in the table: as rare as the table's cut.
const RARE_IDF_CENTI: u32 = 900;

const IDF_TABLE: &str = include_str!("../data/idf.txt");

fn idf_table() -> &'static HashMap<&'static str, u32> {
    static TABLE: OnceLock<HashMap<&'static str, u32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        IDF_TABLE
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (word, idf) = l.split_once(' ')?;
                Some((word, parse_centi(idf)?))
            })
            .collect()
    })
}

/// "7.24" → 724, without floating point, so the weights and the simhash
/// built from them are the same bits everywhere.
fn parse_centi(s: &str) -> Option<u32> {
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    let frac: String = frac.chars().chain(std::iter::repeat('0')).take(2).collect();
    Some(int.parse::<u32>().ok()? * 100 + frac.parse::<u32>().ok()?)
}

/// A word's idf in hundredths: the table's, or for words it lacks a
/// guess by shape. Short numbers, years and one- or two-letter latin
/// tokens (units, anonymised codes such as a3) are everywhere; other
/// unknown words are names jieba found by its HMM (estates, companies,
/// villages), as telling as the rarest words.
pub(crate) fn idf_centi(word: &str) -> u32 {
    if let Some(&v) = idf_table().get(word) {
        return v;
    }
    let digits = word.chars().all(|c| c.is_ascii_digit());
    if digits && (word.len() <= 2 || (word.len() == 4 && matches!(&word[..2], "19" | "20"))) {
        return 200;
    }
    if word.is_ascii() && word.chars().count() <= 2 {
        return 300;
    }
    RARE_IDF_CENTI
}

/// Whether a word is too common to say anything about a matter.
pub(crate) fn is_stop(word: &str) -> bool {
    idf_centi(word) < STOP_IDF_CENTI
}

/// Full-width ASCII to half-width, the ideographic space to a space, latin
/// lowercased: what people type either way.
fn fold_char(c: char) -> char {
    let c = match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    };
    if c.is_ascii_uppercase() {
        c.to_ascii_lowercase()
    } else {
        c
    }
}

/// `text` with [`fold_char`] applied, for segmentation.
pub(crate) fn fold(text: &str) -> String {
    text.chars().map(fold_char).collect()
}

/// The folded letters and digits of `text` (CJK included), with the byte
/// range each came from.
fn compact(text: &str) -> Vec<(char, usize, usize)> {
    text.char_indices()
        .filter_map(|(i, c)| {
            let f = fold_char(c);
            f.is_alphanumeric().then(|| (f, i, i + c.len_utf8()))
        })
        .collect()
}

/// FNV-1a, 64 bits: tiny, and its output is fixed by its definition, so a
/// persisted simhash means the same thing in every build.
fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn hash_str(s: &str) -> u64 {
    fnv1a(s.bytes())
}

/// The 64-bit simhash of `text`'s words.
///
/// Bytes, fixed by [`FINGERPRINT_VERSION`] 1: the text is folded
/// (full-width to half-width, latin lowercased) and cut into words by
/// `seg` ([`Segmenter::words`]); words whose idf is below 3.0 are dropped.
/// Each distinct word has weight `count × idf_centi` (an integer: the idf
/// in hundredths from `data/idf.txt`, or the fallbacks of `idf_centi`) and
/// hash FNV-1a-64 of its UTF-8 bytes; bit `i` of the result is set when
/// the sum of the weights of words whose hash has bit `i` set exceeds the
/// sum of those whose hash has it clear. Integer arithmetic throughout.
pub fn simhash(seg: &Segmenter, text: &str) -> u64 {
    let folded = fold(text);
    simhash_of_words(seg.words(&folded))
}

/// [`simhash`] of a folded text's words.
fn simhash_of_words<'a>(words: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for w in words {
        *counts.entry(w).or_insert(0) += 1;
    }
    let mut sums = [0i64; 64];
    for (word, count) in counts {
        let idf = idf_centi(word);
        if idf < STOP_IDF_CENTI {
            continue;
        }
        let weight = count * i64::from(idf);
        let h = hash_str(word);
        for (bit, sum) in sums.iter_mut().enumerate() {
            if h >> bit & 1 == 1 {
                *sum += weight;
            } else {
                *sum -= weight;
            }
        }
    }
    sums.iter()
        .enumerate()
        .filter(|(_, s)| **s > 0)
        .fold(0u64, |acc, (bit, _)| acc | 1 << bit)
}

/// The `k` words of a title and description that say most about what it
/// is (tf × idf, the title's counted twice), best first: what a search for
/// earlier cases like it asks the full-text index for.
pub fn distinctive_words(seg: &Segmenter, title: &str, description: &str, k: usize) -> Vec<String> {
    telling_words(seg, title, description, k)
        .into_iter()
        .map(|(w, _)| w)
        .collect()
}

/// [`distinctive_words`] with how much each is said: `1 + ln tf`, the
/// title's counted twice. An index that knows how common each word is
/// among its own cases re-ranks these by its idf (`CaseIndex::more_like`),
/// so `k` should be a few times the words finally asked for.
pub fn telling_words(
    seg: &Segmenter,
    title: &str,
    description: &str,
    k: usize,
) -> Vec<(String, f64)> {
    let (title, description) = (fold(title), fold(description));
    let tf = term_frequencies(&seg.words(&title), &seg.words(&description));
    let mut scored: Vec<(String, f64, f64)> = tf
        .into_iter()
        .map(|(w, tf)| {
            let said = 1.0 + tf.ln();
            let idf = f64::from(idf_centi(w));
            (w.to_owned(), said, said * idf)
        })
        .collect();
    // Ties by the word itself, so the same text always asks the same.
    scored.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    scored.truncate(k);
    scored.into_iter().map(|(w, said, _)| (w, said)).collect()
}

/// How often each telling word (common ones left out) is said in a folded
/// title's and description's words, the title's counted [`TITLE_WEIGHT`]
/// times.
fn term_frequencies<'a>(title: &[&'a str], description: &[&'a str]) -> HashMap<&'a str, f64> {
    let mut tf: HashMap<&str, f64> = HashMap::new();
    for (words, weight) in [(title, TITLE_WEIGHT), (description, 1.0)] {
        for w in words {
            if !is_stop(w) {
                *tf.entry(w).or_insert(0.0) += weight;
            }
        }
    }
    tf
}

/// How many bits differ.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// The hashed character [`SHINGLE_CHARS`]-grams of a compacted text,
/// sorted and without duplicates. A text shorter than a shingle is one
/// shingle; an empty one has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shingles(Vec<u64>);

impl Shingles {
    /// The shingles of `text`, compacted first (punctuation and whitespace
    /// dropped, full-width folded, latin lowercased).
    pub fn of(text: &str) -> Self {
        let chars: Vec<char> = compact(text).into_iter().map(|(c, _, _)| c).collect();
        let hash = |w: &[char]| fnv1a(w.iter().flat_map(|c| (*c as u32).to_le_bytes()));
        let mut v: Vec<u64> = if chars.len() < SHINGLE_CHARS {
            if chars.is_empty() {
                Vec::new()
            } else {
                vec![hash(&chars)]
            }
        } else {
            chars.windows(SHINGLE_CHARS).map(hash).collect()
        };
        v.sort_unstable();
        v.dedup();
        Self(v)
    }

    /// How many distinct shingles.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The shingle hashes, ascending (FNV-1a-64 of each shingle's chars as
    /// little-endian u32s).
    pub fn hashes(&self) -> &[u64] {
        &self.0
    }

    fn common(&self, other: &Self) -> usize {
        let (a, b) = (&self.0, &other.0);
        let (mut i, mut j, mut n) = (0, 0, 0);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    n += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        n
    }

    /// Shared shingles over all shingles of either; 0 when both are empty.
    pub fn jaccard(&self, other: &Self) -> f64 {
        let common = self.common(other);
        let union = self.len() + other.len() - common;
        if union == 0 {
            0.0
        } else {
            common as f64 / union as f64
        }
    }

    /// The share of this text's shingles that are in `other`: near 1 when
    /// this text is copied inside `other`, however long `other` is.
    pub fn containment(&self, other: &Self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.common(other) as f64 / self.len() as f64
        }
    }
}

/// A text's words as an L2-normalised tf·idf vector, sorted by word hash.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Terms(Vec<(u64, f32)>);

impl Terms {
    /// The words of a title and description, common ones left out. The
    /// title's count twice; tf is sublinear (1 + ln tf), so a word repeated
    /// through a long letter does not drown the rest; idf from
    /// `data/idf.txt`.
    pub fn of(seg: &Segmenter, title: &str, description: &str) -> Self {
        let (title, description) = (fold(title), fold(description));
        Self::of_words(&seg.words(&title), &seg.words(&description))
    }

    /// From the folded title's and description's words.
    fn of_words(title: &[&str], description: &[&str]) -> Self {
        let tf = term_frequencies(title, description);
        let mut v: Vec<(u64, f64)> = tf
            .into_iter()
            .map(|(w, tf)| {
                (
                    hash_str(w),
                    (1.0 + tf.ln()) * f64::from(idf_centi(w)) / 100.0,
                )
            })
            .collect();
        v.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        // Two words with one hash are as good as one word.
        v.dedup_by(|b, a| {
            if a.0 == b.0 {
                a.1 += b.1;
                true
            } else {
                false
            }
        });
        let norm = v.iter().map(|(_, x)| x * x).sum::<f64>().sqrt();
        Self(
            v.into_iter()
                .map(|(h, x)| (h, if norm > 0.0 { (x / norm) as f32 } else { 0.0 }))
                .collect(),
        )
    }

    /// How many distinct words.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Cosine similarity, in 0..=1; 0 when either has no words.
    pub fn cosine(&self, other: &Self) -> f64 {
        let (a, b) = (&self.0, &other.0);
        let (mut i, mut j, mut dot) = (0, 0, 0.0f64);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    dot += f64::from(a[i].1) * f64::from(b[j].1);
                    i += 1;
                    j += 1;
                }
            }
        }
        dot.clamp(0.0, 1.0)
    }
}

/// Everything [`judge`] compares of one case's text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TextPrint {
    /// [`simhash`] of the title, a newline and the description.
    pub simhash: u64,
    /// [`Shingles`] of the title and description together.
    pub shingles: Shingles,
    pub terms: Terms,
}

impl TextPrint {
    /// The prints of a case's title and description.
    ///
    /// Each text is cut into words once, for the simhash and the terms
    /// alike: segmentation is most of the cost. A newline stops every
    /// word, so the words of the joined text are the title's and then the
    /// description's, and the simhash is that of the joined text.
    pub fn of(seg: &Segmenter, title: &str, description: &str) -> Self {
        let joined = format!("{title}\n{description}");
        let (folded_title, folded_description) = (fold(title), fold(description));
        let (title_words, description_words) =
            (seg.words(&folded_title), seg.words(&folded_description));
        Self {
            simhash: simhash_of_words(title_words.iter().chain(&description_words).copied()),
            shingles: Shingles::of(&joined),
            terms: Terms::of_words(&title_words, &description_words),
        }
    }
}

/// Why a text repeats another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The same text, lightly edited, or copied inside a longer one.
    NearExact,
    /// The same matter in other words.
    Rephrased,
}

impl MatchKind {
    /// The stable name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::NearExact => "near_exact",
            MatchKind::Rephrased => "rephrased",
        }
    }

    /// What a clerk reads.
    pub fn zh(self) -> &'static str {
        match self {
            MatchKind::NearExact => "文字几乎相同",
            MatchKind::Rephrased => "内容相似",
        }
    }
}

/// A judged repeat. `similarity` is in 0..=1: for a near-exact repeat the
/// larger of the 3-gram Jaccard and containment (or 1 − bits/64 when only
/// the simhash found it), for a rephrased one the word cosine.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TextMatch {
    pub kind: MatchKind,
    pub similarity: f64,
}

/// Whether `new` repeats `old`, and how (see the module doc).
pub fn judge(new: &TextPrint, old: &TextPrint) -> Option<TextMatch> {
    let near = |similarity: f64| {
        Some(TextMatch {
            kind: MatchKind::NearExact,
            similarity,
        })
    };
    let (a, b) = (&new.shingles, &old.shingles);
    if a.is_empty() || b.is_empty() {
        return None;
    }
    // One merge gives both: Jaccard, and the containment of the shorter
    // in the longer (the larger of the two containments).
    let common = a.common(b) as f64;
    let shorter = a.len().min(b.len());
    let jaccard = common / ((a.len() + b.len()) as f64 - common);
    let containment = if shorter >= CONTAINMENT_MIN_SHINGLES {
        common / shorter as f64
    } else {
        0.0
    };
    if jaccard >= NEAR_EXACT_JACCARD || containment >= NEAR_EXACT_CONTAINMENT {
        return near(jaccard.max(containment));
    }
    let bits = hamming(new.simhash, old.simhash);
    // Texts without a single telling word all hash to 0.
    if bits <= NEAR_EXACT_HAMMING && !new.terms.is_empty() && !old.terms.is_empty() {
        return near(1.0 - f64::from(bits) / 64.0);
    }
    let cosine = new.terms.cosine(&old.terms);
    (cosine >= REPHRASED_COSINE).then_some(TextMatch {
        kind: MatchKind::Rephrased,
        similarity: cosine,
    })
}

/// A suffix automaton of a char sequence: every substring is a path from
/// the root, so the longest substring of it ending at each position of
/// another text is found in one pass over that text.
struct SuffixAutomaton {
    // Per state: suffix link, length of its longest string, transitions.
    link: Vec<Option<usize>>,
    len: Vec<usize>,
    next: Vec<Vec<(char, usize)>>,
}

impl SuffixAutomaton {
    fn new(s: &[char]) -> Self {
        let mut sa = Self {
            link: vec![None],
            len: vec![0],
            next: vec![Vec::new()],
        };
        let mut last = 0;
        for &c in s {
            last = sa.extend(last, c);
        }
        sa
    }

    // Transitions are kept sorted by char: the root has one per distinct
    // character of the text, which in Chinese runs to thousands.
    fn go(&self, state: usize, c: char) -> Option<usize> {
        let next = &self.next[state];
        next.binary_search_by_key(&c, |(k, _)| *k)
            .ok()
            .map(|i| next[i].1)
    }

    fn set(&mut self, state: usize, c: char, to: usize) {
        let next = &mut self.next[state];
        match next.binary_search_by_key(&c, |(k, _)| *k) {
            Ok(i) => next[i].1 = to,
            Err(i) => next.insert(i, (c, to)),
        }
    }

    fn add_state(&mut self, len: usize, link: Option<usize>, next: Vec<(char, usize)>) -> usize {
        self.len.push(len);
        self.link.push(link);
        self.next.push(next);
        self.len.len() - 1
    }

    fn extend(&mut self, last: usize, c: char) -> usize {
        let cur = self.add_state(self.len[last] + 1, None, Vec::new());
        let mut p = Some(last);
        while let Some(q) = p {
            if self.go(q, c).is_some() {
                break;
            }
            self.set(q, c, cur);
            p = self.link[q];
        }
        match p {
            None => self.link[cur] = Some(0),
            Some(p) => {
                let q = self.go(p, c).unwrap_or(0);
                if self.len[p] + 1 == self.len[q] {
                    self.link[cur] = Some(q);
                } else {
                    let clone = self.add_state(self.len[p] + 1, self.link[q], self.next[q].clone());
                    let mut pp = Some(p);
                    while let Some(x) = pp {
                        if self.go(x, c) != Some(q) {
                            break;
                        }
                        self.set(x, c, clone);
                        pp = self.link[x];
                    }
                    self.link[q] = Some(clone);
                    self.link[cur] = Some(clone);
                }
            }
        }
        cur
    }

    /// For each position of `t`, the length of the longest substring of
    /// the automaton's text that ends there.
    fn match_lengths(&self, t: &[char]) -> Vec<usize> {
        let (mut state, mut len) = (0, 0);
        t.iter()
            .map(|&c| {
                loop {
                    if let Some(to) = self.go(state, c) {
                        state = to;
                        len += 1;
                        break;
                    }
                    match self.link[state] {
                        Some(l) => {
                            state = l;
                            len = self.len[l];
                        }
                        None => {
                            len = 0;
                            break;
                        }
                    }
                }
                len
            })
            .collect()
    }
}

/// The longest phrases of `new_text` that also appear in `old_text`, for
/// highlighting: at most `max`, longest first, none overlapping another in
/// `new_text`, each at least `min_chars` letters or digits long (at least
/// 1). Texts are compared compacted (punctuation and spaces dropped,
/// full-width folded, latin lowercased), so a phrase survives a changed
/// comma; each is returned as the stretch of `new_text` it covers, which
/// begins and ends with a letter or digit.
///
/// A suffix automaton of `old_text` gives, for every position of
/// `new_text`, the longest common substring ending there, in linear time;
/// the maximal ones are then taken longest first, a candidate that
/// overlaps one already taken giving way to the parts of it left free
/// (any part of a common substring is common). Linear in the texts but for
/// a logarithm: two 1,000-character texts take a fraction of a
/// millisecond.
pub fn shared_phrases(new_text: &str, old_text: &str, min_chars: usize, max: usize) -> Vec<String> {
    use std::cmp::Reverse;
    use std::collections::{BTreeMap, BinaryHeap};

    let min_chars = min_chars.max(1);
    let new_c = compact(new_text);
    let old_c: Vec<char> = compact(old_text).into_iter().map(|(c, _, _)| c).collect();
    if max == 0 || new_c.len() < min_chars || old_c.len() < min_chars {
        return Vec::new();
    }
    let chars: Vec<char> = new_c.iter().map(|(c, _, _)| *c).collect();
    let longest = SuffixAutomaton::new(&old_c).match_lengths(&chars);
    // Candidates (length, start), longest first, then leftmost: the
    // longest match ending at each position that does not extend right.
    let mut heap: BinaryHeap<(usize, Reverse<usize>)> = longest
        .iter()
        .enumerate()
        .filter(|&(i, &l)| l >= min_chars && longest.get(i + 1).is_none_or(|&n| n != l + 1))
        .map(|(i, &l)| (l, Reverse(i + 1 - l)))
        .collect();
    // Taken phrases, start → end (exclusive), disjoint.
    let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
    while taken.len() < max {
        let Some((len, Reverse(start))) = heap.pop() else {
            break;
        };
        let end = start + len;
        let overlapping: Vec<(usize, usize)> = taken
            .range(..end)
            .rev()
            .take_while(|(_, &e)| e > start)
            .map(|(&s, &e)| (s, e))
            .collect();
        if overlapping.is_empty() {
            taken.insert(start, end);
            continue;
        }
        // The free stretches between taken phrases go back as candidates.
        let mut from = start;
        for (s, e) in overlapping.into_iter().rev() {
            if s > from && s - from >= min_chars {
                heap.push((s - from, Reverse(from)));
            }
            from = from.max(e);
        }
        if end > from && end - from >= min_chars {
            heap.push((end - from, Reverse(from)));
        }
    }
    let mut phrases: Vec<(usize, usize)> = taken.into_iter().collect();
    phrases.sort_by(|a, b| (b.1 - b.0).cmp(&(a.1 - a.0)).then(a.0.cmp(&b.0)));
    phrases
        .into_iter()
        .map(|(start, end)| new_text[new_c[start].1..new_c[end - 1].2].to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg() -> &'static Segmenter {
        static SEG: OnceLock<Segmenter> = OnceLock::new();
        SEG.get_or_init(Segmenter::new)
    }

    #[test]
    fn idf_table_reads_every_line() {
        assert!(idf_table().len() > 20_000);
        assert_eq!(idf_centi("的"), 88);
        assert!(is_stop("的") && is_stop("了") && !is_stop("搅拌站"));
        assert_eq!(parse_centi("7.5"), Some(750));
        assert_eq!(parse_centi("12"), Some(1200));
        assert_eq!(parse_centi("x"), None);
        assert_eq!(idf_centi("丽发新城"), RARE_IDF_CENTI);
        assert_eq!(idf_centi("2019"), 200);
    }

    #[test]
    fn folding_and_compacting() {
        assert_eq!(fold("ＡＢＣ１２３　Ｘ"), "abc123 x");
        let c: String = compact("Ａ３区，搅拌站！ ok?")
            .iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(c, "a3区搅拌站ok");
    }

    #[test]
    fn simhash_is_stable_and_near_for_near_texts() {
        let a = "丽发新城小区旁边建搅拌站，噪音扰民，灰尘很大，请尽快处理。";
        let b = "丽发新城小区旁边建搅拌站，噪音扰民，灰尘很大，请相关部门尽快处理！";
        let c = "公司拖欠农民工工资三个月，老板跑路，请劳动部门帮忙讨薪。";
        let (ha, hb, hc) = (simhash(seg(), a), simhash(seg(), b), simhash(seg(), c));
        assert_eq!(ha, simhash(seg(), a));
        assert!(hamming(ha, hb) <= NEAR_EXACT_HAMMING, "{}", hamming(ha, hb));
        assert!(hamming(ha, hc) > 16, "{}", hamming(ha, hc));
        // The bytes are part of the format: this value changes only with
        // FINGERPRINT_VERSION (or with the segmenter's dictionaries).
        assert_eq!(
            simhash(seg(), "丽发新城小区旁边建搅拌站，噪音扰民"),
            0x4207_d110_b5a3_9776
        );
        assert_eq!(
            simhash(seg(), "搅拌站噪音扰民"),
            simhash(seg(), "搅拌站 噪音扰民")
        );
        assert_eq!(simhash(seg(), ""), 0);
        assert_eq!(simhash(seg(), "，。！"), 0);
        assert_eq!(hamming(0, u64::MAX), 64);
    }

    #[test]
    fn fnv_is_the_standard_one() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a(*b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(*b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(*b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn shingles_measure_overlap_and_containment() {
        let short = Shingles::of("小区门口的搅拌站噪音太大");
        let long = Shingles::of(
            "我们是丽发新城的业主。小区门口的搅拌站噪音太大，晚上根本睡不着，灰尘也很多，请处理。",
        );
        assert!(short.containment(&long) > 0.99);
        assert!(long.containment(&short) < 0.5);
        assert!(short.jaccard(&long) < 0.5);
        assert_eq!(short.jaccard(&short), 1.0);
        // Punctuation, width and case do not matter.
        assert_eq!(Shingles::of("ＡＢ区，搅拌站"), Shingles::of("ab区搅拌站"));
        assert!(Shingles::of("").is_empty());
        assert_eq!(Shingles::of("站").len(), 1);
        assert_eq!(Shingles::of("").jaccard(&Shingles::of("")), 0.0);
        assert_eq!(Shingles::of("").containment(&long), 0.0);
    }

    #[test]
    fn judges_near_exact_rephrased_and_different() {
        let print = |t: &str, d: &str| TextPrint::of(seg(), t, d);
        let old = print(
            "A2区丽发新城附近建搅拌站噪音扰民",
            "我是A2区丽发新城小区的一名业主，开发商在离小区不到百米的地方建搅拌站，每天噪音很大，扬尘严重，请尽快关闭或搬迁该搅拌站！",
        );
        let copy = print(
            "再次投诉A2区丽发新城附近建搅拌站噪音扰民",
            "尊敬的领导：我是A2区丽发新城小区的一名业主，开发商在离小区不到百米的地方建搅拌站，每天噪音很大，扬尘严重，请尽快关闭或搬迁该搅拌站！谢谢。",
        );
        let rephrased = print(
            "丽发新城业主再次反映搅拌站噪音和扬尘",
            "开发商在丽发新城小区旁边修的搅拌站，机器噪音吵得业主没法休息，扬尘也很严重，请政府督促搅拌站搬迁。",
        );
        let other = print(
            "A7县星沙公交站台没有遮雨棚",
            "星沙开元路公交站台没有遮雨棚，下雨天等车的乘客都被淋湿，请公交公司加装雨棚。",
        );
        let m = judge(&copy, &old).expect("a copy");
        assert_eq!(m.kind, MatchKind::NearExact);
        let m = judge(&rephrased, &old).expect("a rephrasing");
        assert_eq!(m.kind, MatchKind::Rephrased, "{m:?}");
        assert!(judge(&other, &old).is_none());
        let empty = print("", "");
        assert!(judge(&empty, &empty).is_none() && judge(&empty, &old).is_none());
        let punct = print("！！！", "。。。😀");
        assert!(judge(&punct, &punct).is_none());
    }

    #[test]
    fn shared_phrases_are_maximal_disjoint_and_longest_first() {
        let new = "小区门口的搅拌站噪音太大，晚上睡不着。物业费也乱收！";
        let old = "物业费也乱收，另外，小区门口的搅拌站噪音太大晚上睡不着";
        let p = shared_phrases(new, old, 4, 5);
        assert_eq!(
            p,
            vec!["小区门口的搅拌站噪音太大，晚上睡不着", "物业费也乱收"]
        );
        assert_eq!(shared_phrases(new, old, 4, 1).len(), 1);
        assert!(shared_phrases(new, old, 4, 0).is_empty());
        assert!(shared_phrases(new, "完全无关的文字内容", 4, 5).is_empty());
        assert!(shared_phrases("", old, 4, 5).is_empty());
        assert!(shared_phrases(new, "", 0, 5).is_empty());
        // Width and case folded; the returned text is the new text's own.
        assert_eq!(
            shared_phrases("Ａ３区搅拌站", "a3区搅拌站", 3, 5),
            vec!["Ａ３区搅拌站"]
        );
        // Overlapping candidates are trimmed, not lost.
        let p = shared_phrases("甲乙丙丁戊己庚", "甲乙丙丁戊 丙丁戊己庚", 2, 5);
        assert_eq!(p, vec!["甲乙丙丁戊", "己庚"]);
        // Emoji and odd characters neither panic nor match.
        assert!(shared_phrases("😀😀😀", "😀😀😀", 1, 5).is_empty());
    }

    #[test]
    fn suffix_automaton_finds_longest_matches() {
        let old: Vec<char> = "abcbc".chars().collect();
        let sa = SuffixAutomaton::new(&old);
        let t: Vec<char> = "xbcbcax".chars().collect();
        assert_eq!(sa.match_lengths(&t), vec![0, 1, 2, 3, 4, 1, 0]);
    }

    #[test]
    fn shared_phrases_of_big_varied_texts_stay_fast() {
        // 50,000 characters drawn from 3,000: the automaton's root has
        // thousands of transitions and matches are many and short.
        let mut x: u64 = 1;
        let mut text = |n: usize| -> String {
            (0..n)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    char::from_u32(0x4e00 + ((x >> 33) % 3000) as u32).unwrap_or('一')
                })
                .collect()
        };
        let (new, old) = (text(50_000), text(50_000));
        let start = std::time::Instant::now();
        let phrases = shared_phrases(&new, &old, 2, usize::MAX);
        assert!(!phrases.is_empty());
        assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    }

    #[test]
    fn long_text_does_not_blow_up() {
        let long: String = "搅拌站噪音扰民，".repeat(5000);
        let p = TextPrint::of(seg(), "标题", &long);
        assert!(judge(&p, &p).is_some());
        let phrases = shared_phrases(&long, &long, 4, 3);
        assert_eq!(phrases.len(), 1);
    }
}
