//! Category suggestions: a linear model over jieba words and character
//! 1–2-grams. The design was chosen by measurement on the real labelled
//! messages (see BENCHMARKS.md): raw term counts times a smoothed idf,
//! L2-normalised, the title counted three times; one-vs-rest
//! squared-hinge linear SVMs trained by dual coordinate descent (as
//! LIBLINEAR's `solve_l2r_l2_svc`); confidences are a softmax of the
//! scores. Sublinear tf, BM25, longer n-grams, naive Bayes and logistic
//! regression all measured worse.

use crate::segment::Segmenter;
use std::collections::HashMap;

/// What the classifier reads of a case.
#[derive(Debug, Clone)]
pub struct Document {
    pub title: String,
    pub detail: String,
}

/// Training settings; the defaults are the measured best.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// SVM cost: above about 3 accuracy no longer changes.
    pub c: f64,
    /// How many times the title's terms count.
    pub title_weight: f64,
    /// Softmax temperature turning scores into confidences.
    pub temperature: f64,
    /// Shuffling seed of the optimiser (results are deterministic).
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            c: 3.0,
            title_weight: 3.0,
            temperature: 5.25,
            seed: 1,
        }
    }
}

/// A trained model: the vocabulary with its idf, and one weight vector
/// (plus bias, last) per category.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Model {
    pub labels: Vec<String>,
    vocabulary: HashMap<String, u32>,
    idf: Vec<f64>,
    weights: Vec<Vec<f64>>,
    title_weight: f64,
    temperature: f64,
}

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// Term counts of one document: `w:` jieba words made only of CJK
/// characters, `c:` character 1- and 2-grams within runs of CJK.
pub fn term_counts(seg: &Segmenter, doc: &Document, title_weight: f64) -> HashMap<String, f64> {
    let mut counts = HashMap::new();
    for (text, weight) in [(&doc.title, title_weight), (&doc.detail, 1.0)] {
        for w in seg.words(text) {
            if w.chars().all(is_cjk) {
                *counts.entry(format!("w:{w}")).or_insert(0.0) += weight;
            }
        }
        let chars: Vec<char> = text.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            if !is_cjk(*c) {
                continue;
            }
            *counts.entry(format!("c:{c}")).or_insert(0.0) += weight;
            if let Some(next) = chars.get(i + 1).filter(|n| is_cjk(**n)) {
                *counts.entry(format!("c:{c}{next}")).or_insert(0.0) += weight;
            }
        }
    }
    counts
}

/// A sparse, L2-normalised tf-idf vector.
type Sparse = Vec<(u32, f64)>;

impl Model {
    /// Trains on labelled documents.
    pub fn train(seg: &Segmenter, examples: &[(Document, String)], params: Params) -> Self {
        let counts: Vec<HashMap<String, f64>> = examples
            .iter()
            .map(|(d, _)| term_counts(seg, d, params.title_weight))
            .collect();
        let mut df: HashMap<&str, u32> = HashMap::new();
        for c in &counts {
            for term in c.keys() {
                *df.entry(term).or_insert(0) += 1;
            }
        }
        let mut terms: Vec<&str> = df.keys().copied().collect();
        terms.sort_unstable();
        let n = examples.len() as f64;
        let vocabulary: HashMap<String, u32> = terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.to_string(), i as u32))
            .collect();
        let idf: Vec<f64> = terms
            .iter()
            .map(|t| ((1.0 + n) / (1.0 + f64::from(df[t]))).ln() + 1.0)
            .collect();
        let mut labels: Vec<String> = examples.iter().map(|(_, l)| l.clone()).collect();
        labels.sort();
        labels.dedup();
        let mut model = Self {
            labels,
            vocabulary,
            idf,
            weights: Vec::new(),
            title_weight: params.title_weight,
            temperature: params.temperature,
        };
        let rows: Vec<Sparse> = counts.iter().map(|c| model.vectorise(c)).collect();
        let dim = model.idf.len() + 1;
        model.weights = model
            .labels
            .iter()
            .map(|label| {
                let y: Vec<f64> = examples
                    .iter()
                    .map(|(_, l)| if l == label { 1.0 } else { -1.0 })
                    .collect();
                train_binary(&rows, &y, dim, params.c, params.seed)
            })
            .collect();
        model
    }

    fn vectorise(&self, counts: &HashMap<String, f64>) -> Sparse {
        let mut v: Sparse = counts
            .iter()
            .filter_map(|(t, tf)| {
                self.vocabulary
                    .get(t)
                    .map(|&i| (i, tf * self.idf[i as usize]))
            })
            .collect();
        // In index order before summing, so the result does not depend on
        // the hash map's order.
        v.sort_unstable_by_key(|(i, _)| *i);
        let norm = v.iter().map(|(_, x)| x * x).sum::<f64>().sqrt();
        if norm > 0.0 {
            for (_, x) in &mut v {
                *x /= norm;
            }
        }
        v
    }

    /// Every category with its confidence, most likely first.
    pub fn suggest(&self, seg: &Segmenter, doc: &Document) -> Vec<(String, f64)> {
        let x = self.vectorise(&term_counts(seg, doc, self.title_weight));
        let scores: Vec<f64> = self.weights.iter().map(|w| score(w, &x)).collect();
        let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exp: Vec<f64> = scores
            .iter()
            .map(|s| ((s - top) * self.temperature).exp())
            .collect();
        let total: f64 = exp.iter().sum();
        let mut out: Vec<(String, f64)> = self
            .labels
            .iter()
            .cloned()
            .zip(exp.iter().map(|e| e / total))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }
}

fn score(w: &[f64], x: &Sparse) -> f64 {
    let bias = w[w.len() - 1];
    x.iter().map(|(i, v)| w[*i as usize] * v).sum::<f64>() + bias
}

/// A deterministic generator for shuffling (a 64-bit LCG).
pub(crate) struct Lcg(u64);

impl Lcg {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// One L2-regularised squared-hinge SVM by dual coordinate descent; the
/// bias is a constant feature of 1 (regularised, as LIBLINEAR's -B 1).
fn train_binary(rows: &[Sparse], y: &[f64], dim: usize, c: f64, seed: u64) -> Vec<f64> {
    let mut w = vec![0.0; dim];
    let bias = dim - 1;
    let mut alpha = vec![0.0; rows.len()];
    let d = 0.5 / c;
    let q: Vec<f64> = rows
        .iter()
        .map(|x| x.iter().map(|(_, v)| v * v).sum::<f64>() + 1.0 + d)
        .collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut rng = Lcg::new(seed);
    for _ in 0..1000 {
        rng.shuffle(&mut order);
        let (mut max_pg, mut min_pg) = (f64::NEG_INFINITY, f64::INFINITY);
        for &i in &order {
            let x = &rows[i];
            let g = y[i] * score(&w, x) - 1.0 + d * alpha[i];
            let pg = if alpha[i] == 0.0 { g.min(0.0) } else { g };
            max_pg = max_pg.max(pg);
            min_pg = min_pg.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (alpha[i] - g / q[i]).max(0.0);
                let step = (alpha[i] - old) * y[i];
                for (j, v) in x {
                    w[*j as usize] += step * v;
                }
                w[bias] += step;
            }
        }
        if max_pg - min_pg <= 0.1 {
            break;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(title: &str, detail: &str) -> Document {
        Document {
            title: title.into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn learns_categories_from_examples() {
        let seg = Segmenter::new();
        let examples: Vec<(Document, String)> = [
            (
                "搅拌站噪音扰民",
                "小区旁边搅拌站夜间施工噪音很大",
                "环境保护",
            ),
            ("工厂排放废水", "河道被工厂废水污染发臭", "环境保护"),
            ("油烟扰民", "楼下饭店油烟直排污染空气", "环境保护"),
            ("拖欠工资", "公司拖欠农民工工资三个月", "劳动和社会保障"),
            ("社保未缴", "单位不给缴纳社保养老保险", "劳动和社会保障"),
            ("讨薪无门", "工地老板欠薪跑路要求劳动仲裁", "劳动和社会保障"),
        ]
        .iter()
        .map(|(t, d, l)| (doc(t, d), l.to_string()))
        .collect();
        let model = Model::train(&seg, &examples, Params::default());
        let top = |t: &str, d: &str| model.suggest(&seg, &doc(t, d))[0].clone();
        assert_eq!(top("噪音太大", "晚上搅拌站施工噪音扰民").0, "环境保护");
        assert_eq!(top("工资被拖欠", "老板拖欠工资不发").0, "劳动和社会保障");
        let all = model.suggest(&seg, &doc("污水", "废水排进河道"));
        let total: f64 = all.iter().map(|(_, p)| p).sum();
        assert!((total - 1.0).abs() < 1e-9 && all[0].1 > all[1].1, "{all:?}");
        // Deterministic: the same data and seed give the same model.
        let again = Model::train(&seg, &examples, Params::default());
        assert_eq!(
            serde_json::to_string(&again.weights).unwrap(),
            serde_json::to_string(&model.weights).unwrap()
        );
    }
}

/// How a model did on held-out examples.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Evaluation {
    pub examples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Per category: (label, precision, recall, F1, support).
    pub classes: Vec<(String, f64, f64, f64, usize)>,
}

/// k-fold cross-validation, stratified: each category's examples are
/// shuffled with `seed` and dealt round-robin to the folds, so every fold
/// has each category in proportion. Deterministic for a seed.
pub fn cross_validate(
    seg: &Segmenter,
    examples: &[(Document, String)],
    folds: usize,
    seed: u64,
    params: Params,
) -> Evaluation {
    let mut by_label: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (i, (_, l)) in examples.iter().enumerate() {
        by_label.entry(l).or_default().push(i);
    }
    let mut rng = Lcg::new(seed);
    let mut fold_of = vec![0; examples.len()];
    let mut k = 0;
    for ids in by_label.values_mut() {
        rng.shuffle(ids);
        for &i in ids.iter() {
            fold_of[i] = k % folds;
            k += 1;
        }
    }
    let mut predicted = vec![String::new(); examples.len()];
    for fold in 0..folds {
        let train: Vec<(Document, String)> = (0..examples.len())
            .filter(|i| fold_of[*i] != fold)
            .map(|i| examples[i].clone())
            .collect();
        let model = Model::train(seg, &train, params);
        for i in (0..examples.len()).filter(|i| fold_of[*i] == fold) {
            predicted[i] = model.suggest(seg, &examples[i].0)[0].0.clone();
        }
    }
    let right = (0..examples.len())
        .filter(|i| predicted[*i] == examples[*i].1)
        .count();
    let classes: Vec<(String, f64, f64, f64, usize)> = by_label
        .keys()
        .map(|label| {
            let tp = (0..examples.len())
                .filter(|i| predicted[*i] == *label && examples[*i].1 == *label)
                .count() as f64;
            let said = predicted.iter().filter(|p| *p == label).count() as f64;
            let support = examples.iter().filter(|(_, l)| l == label).count();
            let precision = if said > 0.0 { tp / said } else { 0.0 };
            let recall = tp / support as f64;
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            (label.to_string(), precision, recall, f1, support)
        })
        .collect();
    Evaluation {
        examples: examples.len(),
        accuracy: right as f64 / examples.len() as f64,
        macro_f1: classes.iter().map(|c| c.3).sum::<f64>() / classes.len() as f64,
        classes,
    }
}
