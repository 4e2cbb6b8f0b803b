//! What the intake screen shows as category guesses, whichever source
//! makes them: the curated lexicon on day one, a trained model once a
//! deployment has labelled cases. The server holds one [`Suggester`] and
//! swaps it when a model is trained.

use crate::classify::{Document, Model};
use crate::lexicon::Lexicon;
use crate::segment::Segmenter;

/// One guessed category with its confidence in [0, 1]; the confidences of
/// one answer sum to at most 1.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Suggestion {
    pub category: String,
    pub confidence: f64,
}

/// The source of category suggestions.
#[derive(Debug, Clone)]
pub enum Suggester {
    /// Curated terms per category: no training data needed.
    Lexicon(Lexicon),
    /// A model trained on labelled cases.
    Trained(Model),
}

impl Suggester {
    /// At most `k` categories, most likely first. The lexicon gives none
    /// when no term matches, rather than a guess; the model always ranks
    /// every label.
    pub fn suggest(&self, seg: &Segmenter, doc: &Document, k: usize) -> Vec<Suggestion> {
        match self {
            Suggester::Lexicon(lexicon) => lexicon.suggest(doc, k),
            Suggester::Trained(model) => {
                let mut all = model.suggest(seg, doc);
                all.truncate(k);
                all
            }
        }
    }

    /// `"lexicon"` or `"model"`.
    pub fn source(&self) -> &'static str {
        match self {
            Suggester::Lexicon(_) => "lexicon",
            Suggester::Trained(_) => "model",
        }
    }

    /// How many categories it can suggest.
    pub fn categories(&self) -> usize {
        match self {
            Suggester::Lexicon(lexicon) => lexicon.codes().count(),
            Suggester::Trained(model) => model.labels.len(),
        }
    }

    /// For logs and the status page, e.g. `model (7 categories)`.
    pub fn describe(&self) -> String {
        format!("{} ({} categories)", self.source(), self.categories())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Params;

    fn doc(title: &str, detail: &str) -> Document {
        Document::new(title, detail)
    }

    #[test]
    fn either_source_behind_one_interface() {
        fn shared_across_threads<T: Send + Sync>() {}
        shared_across_threads::<Suggester>();

        let seg = Segmenter::new();
        let examples: Vec<(Document, String)> = [
            ("拖欠工资", "老板拖欠工资三个月", "dept_labour.pension"),
            ("噪音扰民", "工地夜间施工噪音", "dept_environment.noise"),
            ("公交线路", "建议增开公交线路", "dept_transport.bus"),
        ]
        .iter()
        .map(|(t, d, l)| (doc(t, d), l.to_string()))
        .collect();
        let model = Suggester::Trained(crate::classify::Model::train(
            &seg,
            &examples,
            Params::default(),
        ));
        assert_eq!(model.describe(), "model (3 categories)");
        let two = model.suggest(&seg, &doc("噪音", "晚上施工噪音"), 2);
        assert_eq!(two.len(), 2);
        assert_eq!(two[0].category, "dept_environment.noise");

        let lexicon = Suggester::Lexicon(Lexicon::builtin().clone());
        assert_eq!(lexicon.source(), "lexicon");
        let top = lexicon.suggest(&seg, &doc("公司拖欠工资", "老板拖欠工资三个月不发"), 3);
        assert_eq!(top[0].category, "labour.wage_arrears", "{top:?}");
        assert!(top.len() <= 3);
    }
}
