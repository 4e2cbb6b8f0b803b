//! Hotspots 诉求集中: many cases about one matter in one place within a
//! window (twenty complaints this month about the same mixing plant's
//! noise), found without anyone naming the matter first.
//!
//! Cases are grouped by place (optionally rolled up to a prefix of the
//! place, such as a county's jurisdiction code) and, within a place,
//! clustered by what they say: each case is a tf·idf vector of its jieba
//! words (idf over the window's cases times jieba's general idf, common
//! words, numbers and single characters dropped, title counted twice,
//! sublinear tf, L2-normalised), and cases are taken in time order
//! into the most similar existing cluster when the cosine to its centroid
//! reaches the threshold, else start a cluster of their own (leader
//! clustering). Clustering by centroid does not chain: twenty letters
//! about a plant do not pull in, one shared word at a time, every noise
//! complaint of the district, as single-link clustering over pairs would.
//!
//! Leader clustering depends on order: an early case can found a cluster
//! of its own before the matter's cluster has a centroid it is close to,
//! so cases left in clusters below the minimum size get a second look at
//! the large clusters at the end.
//!
//! It stays near-linear: a case is compared only with clusters indexed
//! under one of its most telling words ([`TOP_TERMS`] of them), and each
//! word indexes at most [`POSTING_CAP`] clusters, the smallest making way
//! when it is full. Every step runs in a fixed order, so the same input
//! gives the same hotspots.
//!
//! On the 4,326 real messages as one place and one window
//! (`tests/hotspots_messages.rs`): 225 hotspots in 0.7 s (release build,
//! segmentation included). The largest two hold 57 letters each:
//! 搅拌站、新城、丽发, 56 of them about the one concrete plant beside one
//! estate (the other about that estate's unpaved road), and a housing
//! scheme's parking spaces sold bundled with its flats.
//! The 4,326 messages 23 times over (99,498 cases, one place) take 20 s,
//! 16 of them segmenting.

use crate::repeats::{fold, idf_centi, is_stop};
use crate::segment::Segmenter;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// How many of a case's words, by weight, it is indexed and looked up by.
pub const TOP_TERMS: usize = 6;
/// How many clusters one word indexes at most.
pub const POSTING_CAP: usize = 64;
/// The most parts a trend is split into.
pub const MAX_BUCKETS: usize = 1000;

/// One case, as hotspots read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotspotInput {
    /// The case, as the caller names it.
    pub id: String,
    /// Where: a jurisdiction code or a normalised address. Cases cluster
    /// only with cases of the same place (after [`HotspotParams::place_prefix`]).
    pub place: String,
    /// When it was brought, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub title: String,
    /// The description.
    pub text: String,
}

/// Settings. The similarity was measured on the real messages: at 0.25 the
/// mixing-plant hotspot gathers 58 letters (3 not naming a mixing plant),
/// at 0.3 57 (2, one of them about the plant in other words), at 0.35 54
/// (none), at 0.4 it splits (35).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotspotParams {
    /// Fewest cases a hotspot has.
    pub min_size: usize,
    /// Cosine between a case and a cluster's centroid for the case to join.
    pub similarity: f64,
    /// How many equal parts of the window [`Hotspot::trend`] counts (1 to
    /// [`MAX_BUCKETS`]).
    pub buckets: usize,
    /// Roll places up to their first this many characters (a county's code
    /// of a village's), or `None` to keep them as given.
    pub place_prefix: Option<usize>,
    /// How many terms [`Hotspot::top_terms`] lists.
    pub top_terms: usize,
}

impl Default for HotspotParams {
    fn default() -> Self {
        Self {
            min_size: 3,
            similarity: 0.3,
            buckets: 4,
            place_prefix: None,
            top_terms: 5,
        }
    }
}

/// Cases about one matter in one place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hotspot {
    /// The place (rolled up, when asked).
    pub place: String,
    /// The top two or three terms, for a person to read (搅拌站、噪音、丽发新城).
    pub label: String,
    /// The most telling terms with their mean tf·idf weight in the cases.
    pub top_terms: Vec<(String, f64)>,
    /// Cases in the window.
    pub count: usize,
    /// Cases per equal part of the window, oldest first.
    pub trend: Vec<u32>,
    /// Cases in the window of the same length just before, at the same
    /// place and as similar to this hotspot: whether it is new or growing.
    pub previous_count: usize,
    /// Oldest first.
    pub case_ids: Vec<String>,
}

/// A case's words with their weights, sorted by term id.
type Sparse = Vec<(u32, f64)>;

struct Cluster {
    members: Vec<usize>,
    centroid: HashMap<u32, f64>,
    /// Squared norm of `centroid`, kept as members join.
    norm2: f64,
    indexed: Vec<u32>,
}

impl Cluster {
    fn cosine(&self, v: &Sparse) -> f64 {
        if self.norm2 <= 0.0 {
            return 0.0;
        }
        let dot: f64 = v
            .iter()
            .map(|(t, x)| x * self.centroid.get(t).copied().unwrap_or(0.0))
            .sum();
        dot / self.norm2.sqrt()
    }

    fn remove(&mut self, doc: usize, v: &Sparse) {
        let dot: f64 = v
            .iter()
            .map(|(t, x)| x * self.centroid.get(t).copied().unwrap_or(0.0))
            .sum();
        let self_norm2: f64 = v.iter().map(|(_, x)| x * x).sum();
        self.norm2 = (self.norm2 - 2.0 * dot + self_norm2).max(0.0);
        for (t, x) in v {
            if let Some(c) = self.centroid.get_mut(t) {
                *c -= x;
            }
        }
        self.members.retain(|m| *m != doc);
    }

    fn add(&mut self, doc: usize, v: &Sparse) {
        let dot: f64 = v
            .iter()
            .map(|(t, x)| x * self.centroid.get(t).copied().unwrap_or(0.0))
            .sum();
        let self_norm2: f64 = v.iter().map(|(_, x)| x * x).sum();
        self.norm2 += 2.0 * dot + self_norm2;
        for (t, x) in v {
            *self.centroid.entry(*t).or_insert(0.0) += x;
        }
        self.members.push(doc);
    }
}

/// Words of a case worth clustering by: not stop words, not bare numbers
/// (dates, amounts) nor one- or two-letter latin tokens (anonymised codes,
/// units), not single characters.
fn telling(word: &str) -> bool {
    let number = word.chars().all(|c| c.is_ascii_digit());
    let short_code = word.is_ascii() && word.len() <= 2;
    word.chars().count() >= 2 && !number && !short_code && !is_stop(word)
}

const TITLE_WEIGHT: f64 = 2.0;

/// Term counts of each case (title counted twice), over a shared
/// vocabulary.
struct Counted {
    terms: Vec<String>,
    counts: Vec<Vec<(u32, f64)>>,
}

fn count_terms(seg: &Segmenter, docs: &[&HotspotInput]) -> Counted {
    let mut words: Vec<HashMap<String, f64>> = Vec::with_capacity(docs.len());
    for d in docs {
        let mut tf: HashMap<String, f64> = HashMap::new();
        for (text, weight) in [(fold(&d.title), TITLE_WEIGHT), (fold(&d.text), 1.0)] {
            for w in seg.words(&text) {
                if telling(w) {
                    *tf.entry(w.to_owned()).or_insert(0.0) += weight;
                }
            }
        }
        words.push(tf);
    }
    let vocabulary: BTreeMap<String, u32> = words
        .iter()
        .flat_map(|m| m.keys().cloned())
        .collect::<std::collections::BTreeSet<String>>()
        .into_iter()
        .enumerate()
        .map(|(i, w)| (w, i as u32))
        .collect();
    let terms: Vec<String> = vocabulary.keys().cloned().collect();
    let counts = words
        .into_iter()
        .map(|m| {
            let mut v: Vec<(u32, f64)> = m.into_iter().map(|(w, c)| (vocabulary[&w], c)).collect();
            v.sort_unstable_by_key(|(t, _)| *t);
            v
        })
        .collect();
    Counted { terms, counts }
}

/// A term's idf: over the window's `n` cases, of which `df` have it (what
/// is common this month weighs less), times its general idf from jieba's
/// table over the table's cut (what is common in any Chinese text, 问题,
/// 投诉, 要求, weighs less even when few cases of the window use it).
fn idf_of(df: u32, n: f64, term: &str) -> f64 {
    let window = ((1.0 + n) / (1.0 + f64::from(df))).ln() + 1.0;
    window * f64::from(idf_centi(term)) / 900.0
}

/// tf·idf, L2-normalised. `idf` is indexed by term id.
fn weigh(counts: &[(u32, f64)], idf: &[f64]) -> Sparse {
    let mut v: Sparse = counts
        .iter()
        .map(|&(t, c)| (t, (1.0 + c.ln()) * idf[t as usize]))
        .collect();
    let norm = v.iter().map(|(_, x)| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        for (_, x) in &mut v {
            *x /= norm;
        }
    }
    v
}

fn top_of(v: &Sparse, k: usize) -> Vec<u32> {
    let mut by_weight: Vec<&(u32, f64)> = v.iter().collect();
    by_weight.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    by_weight.into_iter().take(k).map(|(t, _)| *t).collect()
}

fn rolled(place: &str, prefix: Option<usize>) -> String {
    match prefix {
        Some(n) => place.chars().take(n).collect(),
        None => place.to_owned(),
    }
}

/// Leader clustering of one place's cases, in the order given.
fn cluster(vectors: &[Sparse], docs: &[usize], threshold: f64, min_size: usize) -> Vec<Cluster> {
    let mut clusters: Vec<Cluster> = Vec::new();
    let mut postings: HashMap<u32, Vec<usize>> = HashMap::new();
    // The most similar cluster indexed under one of `top`, if similar
    // enough, among those `admit` lets through.
    let best_of = |clusters: &[Cluster],
                   postings: &HashMap<u32, Vec<usize>>,
                   top: &[u32],
                   v: &Sparse,
                   admit: &dyn Fn(usize) -> bool| {
        let mut candidates: Vec<usize> = top
            .iter()
            .filter_map(|t| postings.get(t))
            .flatten()
            .copied()
            .filter(|&c| admit(c))
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .map(|c| (c, clusters[c].cosine(v)))
            .filter(|(_, s)| *s >= threshold)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    };
    for &d in docs {
        let v = &vectors[d];
        if v.is_empty() {
            continue;
        }
        let top = top_of(v, TOP_TERMS);
        let c = match best_of(&clusters, &postings, &top, v, &|_| true) {
            Some((c, _)) => c,
            None => {
                clusters.push(Cluster {
                    members: Vec::new(),
                    centroid: HashMap::new(),
                    norm2: 0.0,
                    indexed: Vec::new(),
                });
                clusters.len() - 1
            }
        };
        clusters[c].add(d, v);
        for t in top {
            if clusters[c].indexed.contains(&t) {
                continue;
            }
            clusters[c].indexed.push(t);
            let posting = postings.entry(t).or_default();
            posting.push(c);
            if posting.len() > POSTING_CAP {
                // The smallest (then oldest) cluster gives way: a word
                // shared by many clusters is kept for the big ones.
                let (i, _) = posting
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, &k)| (clusters[k].members.len(), k))
                    .unwrap_or((0, &0));
                let gone = posting.remove(i);
                clusters[gone].indexed.retain(|x| *x != t);
            }
        }
    }
    // A second chance for the cases left in small clusters: an early case
    // may have founded its own cluster before the matter's cluster had
    // grown a centroid it is close to.
    for small in 0..clusters.len() {
        if clusters[small].members.len() >= min_size {
            continue;
        }
        for d in clusters[small].members.clone() {
            let v = &vectors[d];
            let top = top_of(v, TOP_TERMS);
            let big = |c: usize| c != small && clusters[c].members.len() >= min_size;
            if let Some((to, _)) = best_of(&clusters, &postings, &top, v, &big) {
                clusters[small].remove(d, v);
                clusters[to].add(d, v);
            }
        }
    }
    clusters
}

/// The hotspots of cases with `from_ms <= at_ms < to_ms`, most cases
/// first. Cases in the window of the same length before `from_ms` count
/// toward each hotspot's [`Hotspot::previous_count`]; other cases are
/// ignored.
pub fn hotspots(
    seg: &Segmenter,
    inputs: &[HotspotInput],
    from_ms: i64,
    to_ms: i64,
    params: &HotspotParams,
) -> Vec<Hotspot> {
    if to_ms <= from_ms || inputs.is_empty() {
        return Vec::new();
    }
    let span = i128::from(to_ms) - i128::from(from_ms);
    let prev_from = i128::from(from_ms) - span;
    let in_window = |d: &HotspotInput| d.at_ms >= from_ms && d.at_ms < to_ms;
    let in_previous = |d: &HotspotInput| {
        let at = i128::from(d.at_ms);
        at >= prev_from && at < i128::from(from_ms)
    };
    // Time order (then id): the order clustering sees the cases in.
    let mut docs: Vec<&HotspotInput> = inputs
        .iter()
        .filter(|d| in_window(d) || in_previous(d))
        .collect();
    docs.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
    let counted = count_terms(seg, &docs);
    let current: Vec<usize> = (0..docs.len()).filter(|&i| in_window(docs[i])).collect();
    // idf over the window's cases: what is common this month weighs less.
    let mut df = vec![0u32; counted.terms.len()];
    for &i in &current {
        for (t, _) in &counted.counts[i] {
            df[*t as usize] += 1;
        }
    }
    let n = current.len() as f64;
    let idf: Vec<f64> = df
        .iter()
        .zip(&counted.terms)
        .map(|(&d, term)| idf_of(d, n, term))
        .collect();
    let vectors: Vec<Sparse> = counted.counts.iter().map(|c| weigh(c, &idf)).collect();

    let mut by_place: BTreeMap<String, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (i, d) in docs.iter().enumerate() {
        let entry = by_place
            .entry(rolled(&d.place, params.place_prefix))
            .or_default();
        if in_window(d) {
            entry.0.push(i);
        } else {
            entry.1.push(i);
        }
    }
    let buckets = params.buckets.clamp(1, MAX_BUCKETS);
    let mut out = Vec::new();
    for (place, (now, before)) in by_place {
        let min_size = params.min_size.max(1);
        for mut c in cluster(&vectors, &now, params.similarity, min_size) {
            if c.members.len() < min_size {
                continue;
            }
            // Moved members join at the end: back to time order.
            c.members.sort_unstable();
            let size = c.members.len() as f64;
            let mut weights: Vec<(u32, f64)> =
                c.centroid.iter().map(|(t, w)| (*t, w / size)).collect();
            weights.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let top_terms: Vec<(String, f64)> = weights
                .iter()
                .take(params.top_terms)
                .map(|(t, w)| (counted.terms[*t as usize].clone(), *w))
                .collect();
            let mut trend = vec![0u32; buckets];
            for &m in &c.members {
                let offset = i128::from(docs[m].at_ms) - i128::from(from_ms);
                let b = (offset * buckets as i128 / span).clamp(0, buckets as i128 - 1);
                trend[b as usize] += 1;
            }
            let previous_count = before
                .iter()
                .filter(|&&p| c.cosine(&vectors[p]) >= params.similarity)
                .count();
            out.push(Hotspot {
                label: label(&weights, &counted.terms),
                place: place.clone(),
                top_terms,
                count: c.members.len(),
                trend,
                previous_count,
                case_ids: c.members.iter().map(|&m| docs[m].id.clone()).collect(),
            });
        }
    }
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.place.cmp(&b.place))
            .then_with(|| a.case_ids.cmp(&b.case_ids))
    });
    out
}

/// Two or three of the heaviest terms, skipping one that is part of a term
/// already taken (丽发 after 丽发新城) or contains it, and words that are
/// common everywhere however often they occur here.
fn label(weights: &[(u32, f64)], terms: &[String]) -> String {
    let mut chosen: Vec<&str> = Vec::new();
    for (t, _) in weights {
        let term = terms[*t as usize].as_str();
        if idf_centi(term) < 500 {
            continue;
        }
        if chosen.iter().any(|c| c.contains(term) || term.contains(c)) {
            continue;
        }
        chosen.push(term);
        if chosen.len() == 3 {
            break;
        }
    }
    chosen.join("、")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: &str, place: &str, day: i64, title: &str, text: &str) -> HotspotInput {
        HotspotInput {
            id: id.into(),
            place: place.into(),
            at_ms: day * 86_400_000,
            title: title.into(),
            text: text.into(),
        }
    }

    #[test]
    fn nothing_in_nothing_out() {
        let seg = Segmenter::new();
        let p = HotspotParams::default();
        assert!(hotspots(&seg, &[], 0, 10, &p).is_empty());
        let one = [case("1", "x", 1, "", "")];
        assert!(hotspots(&seg, &one, 0, 10 * 86_400_000, &p).is_empty());
        assert!(hotspots(&seg, &one, 10, 0, &p).is_empty());
        let odd = [
            case("1", "", 1, "😀", "😀😀"),
            case("2", "", 1, "，，", ""),
            case("3", "", 1, "😀", "😀😀"),
        ];
        assert!(hotspots(&seg, &odd, 0, 10 * 86_400_000, &p).is_empty());
        let mut extreme = [case("1", "x", 0, "搅拌站", "噪音")];
        extreme[0].at_ms = i64::MAX;
        assert!(hotspots(&seg, &extreme, i64::MIN, i64::MAX, &p).is_empty());
    }

    /// Three places, each with its own matters; two places share a topic
    /// (a mixing plant's noise) about different plants.
    fn town() -> Vec<HotspotInput> {
        let plant = [
            (
                "搅拌站噪音扰民",
                "红星村旁边的搅拌站日夜施工，噪音很大，灰尘满天飞，请环保部门处理。",
            ),
            (
                "红星村搅拌站太吵了",
                "红星村的搅拌站半夜还在生产，机器噪音吵得村民睡不着觉。",
            ),
            (
                "投诉红星村搅拌站粉尘污染",
                "红星村搅拌站的粉尘和噪音严重影响村民生活，要求搅拌站搬迁。",
            ),
            (
                "红星村搅拌站噪音问题",
                "再次反映红星村搅拌站噪音扰民，晚上十一点还在运转。",
            ),
            ("搅拌站扰民", "红星村搅拌站运渣车来回跑，噪音灰尘都很大。"),
        ];
        let fee = [
            (
                "锦园小区物业费乱收",
                "锦园小区物业公司今年物业费涨价一倍，没有开业主大会。",
            ),
            (
                "锦园物业乱涨物业费",
                "锦园小区物业公司擅自上调物业费，业主不同意。",
            ),
            (
                "锦园小区物业费上涨不合理",
                "物业公司未经业主同意上涨锦园小区物业费，服务却越来越差。",
            ),
            (
                "锦园物业费",
                "请问锦园小区物业公司涨物业费合法吗？业主都不认可。",
            ),
        ];
        let wages = [
            (
                "宏达公司拖欠工资",
                "宏达建筑公司拖欠农民工工资三个月，老板不接电话。",
            ),
            (
                "宏达建筑欠薪",
                "在宏达建筑公司工地干活，工资拖欠了三个月，请劳动监察帮忙讨薪。",
            ),
            (
                "讨要宏达公司欠薪",
                "宏达建筑公司拖欠我们十几个农民工的工资，至今没有结清。",
            ),
            (
                "宏达建筑拖欠农民工工资",
                "宏达建筑老板拖欠工资跑路，农民工过年回不了家。",
            ),
        ];
        let plant2 = [
            (
                "青山镇搅拌站噪音",
                "青山镇的搅拌站噪音很大，灰尘满天飞，晚上还在施工。",
            ),
            (
                "青山镇搅拌站扰民",
                "青山镇搅拌站机器噪音吵得居民睡不着，请处理。",
            ),
            (
                "投诉青山镇搅拌站",
                "青山镇搅拌站的噪音和粉尘严重影响居民生活。",
            ),
        ];
        let building = [
            (
                "幸福路违建",
                "幸福路12号业主在楼顶违章搭建了两层，城管一直不拆。",
            ),
            (
                "幸福路12号楼顶违章建筑",
                "幸福路12号楼顶违建越搭越高，存在安全隐患，请城管拆除。",
            ),
            (
                "举报幸福路违建",
                "幸福路12号楼顶加建的违章建筑至今没有拆除。",
            ),
        ];
        let singles = [
            ("路灯不亮", "东风路的路灯坏了一个月。"),
            ("公交太少", "去火车站的公交车太少，等半小时。"),
        ];
        let mut out = Vec::new();
        let mut add = |place: &str, prefix: &str, items: &[(&str, &str)], first_day: i64| {
            for (i, (t, d)) in items.iter().enumerate() {
                out.push(case(
                    &format!("{prefix}{i}"),
                    place,
                    first_day + 3 * i as i64,
                    t,
                    d,
                ));
            }
        };
        add("430104001", "plant", &plant, 30);
        add("430104001", "fee", &fee, 31);
        add("430104001", "single", &singles, 32);
        add("430104002", "wages", &wages, 33);
        add("430104002", "plantb", &plant2, 40);
        add("430105001", "building", &building, 35);
        // Before the window: two about the first plant, one about fees.
        add("430104001", "oldplant", &plant[..2], 5);
        add("430104001", "oldfee", &fee[..1], 6);
        out
    }

    fn ids(h: &Hotspot) -> Vec<&str> {
        let mut v: Vec<&str> = h.case_ids.iter().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn clusters_each_matter_of_each_place() {
        let seg = Segmenter::new();
        let day = 86_400_000;
        let found = hotspots(&seg, &town(), 28 * day, 56 * day, &HotspotParams::default());
        let summary: Vec<(String, Vec<&str>)> =
            found.iter().map(|h| (h.place.clone(), ids(h))).collect();
        assert_eq!(
            summary,
            vec![
                (
                    "430104001".to_string(),
                    vec!["plant0", "plant1", "plant2", "plant3", "plant4"]
                ),
                (
                    "430104001".to_string(),
                    vec!["fee0", "fee1", "fee2", "fee3"]
                ),
                (
                    "430104002".to_string(),
                    vec!["wages0", "wages1", "wages2", "wages3"]
                ),
                (
                    "430104002".to_string(),
                    vec!["plantb0", "plantb1", "plantb2"]
                ),
                (
                    "430105001".to_string(),
                    vec!["building0", "building1", "building2"]
                ),
            ],
            "{found:#?}"
        );
        let plant = &found[0];
        assert_eq!(plant.count, 5);
        assert!(plant.label.contains("搅拌站"), "{}", plant.label);
        assert!(
            plant.top_terms.iter().any(|(t, _)| t == "红星村"),
            "{:?}",
            plant.top_terms
        );
        // Days 30, 33, 36, 39, 42 in four weeks from day 28.
        assert_eq!(plant.trend, vec![2, 2, 1, 0]);
        assert_eq!(plant.previous_count, 2);
        assert_eq!(found[1].previous_count, 1);
        assert_eq!(found[2].previous_count, 0);
        // Oldest first.
        assert_eq!(plant.case_ids[0], "plant0");
    }

    #[test]
    fn odd_parameters_do_not_panic() {
        let seg = Segmenter::new();
        let day = 86_400_000;
        let params = HotspotParams {
            buckets: usize::MAX,
            min_size: 0,
            similarity: f64::NAN,
            place_prefix: Some(0),
            top_terms: usize::MAX,
        };
        let found = hotspots(&seg, &town(), 28 * day, 56 * day, &params);
        assert!(found
            .iter()
            .all(|h| h.trend.len() == MAX_BUCKETS && h.place.is_empty()));
        let params = HotspotParams {
            buckets: 0,
            similarity: 2.0,
            ..HotspotParams::default()
        };
        let found = hotspots(&seg, &town(), 28 * day, 56 * day, &params);
        assert!(found.is_empty(), "nothing is that similar: {found:?}");
    }

    #[test]
    fn places_roll_up_by_prefix() {
        let seg = Segmenter::new();
        let day = 86_400_000;
        let params = HotspotParams {
            place_prefix: Some(6),
            ..HotspotParams::default()
        };
        let found = hotspots(&seg, &town(), 28 * day, 56 * day, &params);
        let places: Vec<&str> = found.iter().map(|h| h.place.as_str()).collect();
        assert!(
            places.iter().all(|p| *p == "430104" || *p == "430105"),
            "{places:?}"
        );
        // The two plants are now one place; their cases still name
        // different villages, but the noise complaint is one matter there.
        let plants: usize = found
            .iter()
            .filter(|h| h.label.contains("搅拌站"))
            .map(|h| h.count)
            .sum();
        assert_eq!(plants, 8, "{found:#?}");
        // Deterministic.
        assert_eq!(found, hotspots(&seg, &town(), 28 * day, 56 * day, &params));
    }
}
