//! The two-level category taxonomy. The default ships in `data/taxonomy.toml`;
//! a deployment may replace it with its own file.

use crate::case::CaseKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// `first` or `first.sub`, lower-case ASCII words joined by `_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct CategoryCode(String);

impl CategoryCode {
    pub fn parse(raw: &str) -> Result<Self, TaxonomyError> {
        let part_ok = |p: &str| {
            !p.is_empty()
                && p.len() <= 40
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        let mut parts = raw.split('.');
        let ok = match (parts.next(), parts.next(), parts.next()) {
            (Some(a), None, None) => part_ok(a),
            (Some(a), Some(b), None) => part_ok(a) && part_ok(b),
            _ => false,
        };
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(TaxonomyError::BadCode(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first-level category this code belongs to.
    pub fn top(&self) -> &str {
        self.0.split('.').next().unwrap_or(&self.0)
    }
}

impl TryFrom<String> for CategoryCode {
    type Error = TaxonomyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CategoryCode> for String {
    fn from(value: CategoryCode) -> Self {
        value.0
    }
}

impl fmt::Display for CategoryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxonomyError {
    #[error("category code {0:?} must be lower-case words, optionally `first.sub`")]
    BadCode(String),
    #[error("taxonomy file: {0}")]
    File(String),
    #[error("category {0} appears twice")]
    Duplicate(String),
    #[error("category {0} lists no case kinds")]
    NoKinds(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Category {
    pub code: CategoryCode,
    pub name: String,
    pub kinds: Vec<CaseKind>,
    /// `None` for first-level categories.
    pub parent: Option<CategoryCode>,
}

#[derive(Debug, Clone)]
pub struct Taxonomy {
    categories: BTreeMap<CategoryCode, Category>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTop {
    category: Vec<FileCategory>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCategory {
    code: String,
    name: String,
    kinds: Vec<CaseKind>,
    #[serde(default)]
    sub: Vec<FileSub>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSub {
    code: String,
    name: String,
}

pub const DEFAULT_TAXONOMY: &str = include_str!("../data/taxonomy.toml");

impl Taxonomy {
    pub fn default_taxonomy() -> Self {
        Self::from_toml(DEFAULT_TAXONOMY).expect("the shipped taxonomy is valid")
    }

    pub fn from_toml(src: &str) -> Result<Self, TaxonomyError> {
        let file: FileTop = toml::from_str(src).map_err(|e| TaxonomyError::File(e.to_string()))?;
        let mut categories = BTreeMap::new();
        for top in file.category {
            let code = CategoryCode::parse(&top.code)?;
            if code.as_str().contains('.') {
                return Err(TaxonomyError::BadCode(top.code));
            }
            if top.kinds.is_empty() {
                return Err(TaxonomyError::NoKinds(top.code));
            }
            for sub in top.sub {
                let sub_code = CategoryCode::parse(&format!("{}.{}", top.code, sub.code))?;
                let cat = Category {
                    code: sub_code.clone(),
                    name: sub.name,
                    kinds: top.kinds.clone(),
                    parent: Some(code.clone()),
                };
                if categories.insert(sub_code.clone(), cat).is_some() {
                    return Err(TaxonomyError::Duplicate(sub_code.0));
                }
            }
            let cat = Category {
                code: code.clone(),
                name: top.name,
                kinds: top.kinds,
                parent: None,
            };
            if categories.insert(code.clone(), cat).is_some() {
                return Err(TaxonomyError::Duplicate(code.0));
            }
        }
        Ok(Self { categories })
    }

    pub fn get(&self, code: &CategoryCode) -> Option<&Category> {
        self.categories.get(code)
    }

    pub fn categories(&self) -> impl Iterator<Item = &Category> {
        self.categories.values()
    }

    /// Whether a case of `kind` may carry `code`.
    pub fn allows(&self, code: &CategoryCode, kind: CaseKind) -> bool {
        self.get(code).is_some_and(|c| c.kinds.contains(&kind))
    }
}

/// What the category suggestions were when a case was registered, before
/// the clerk chose. Kept with the registration, so a choice against the
/// first suggestion is a correction on record, and every confirmed case is
/// training data for the next model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CategorySuggestions {
    /// `lexicon`, or `model:` and the first hex digits of the model file's
    /// SHA-256: which classifier said it.
    pub source: String,
    /// Best first; confidences in thousandths (integers keep the hashed
    /// event free of float formatting).
    pub suggested: Vec<SuggestedCategory>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SuggestedCategory {
    pub category: CategoryCode,
    pub permille: u16,
}

impl CategorySuggestions {
    /// More than the intake shows is not a suggestion but a list.
    pub const MAX: usize = 5;

    /// Whether the clerk chose other than the first suggestion.
    pub fn corrected(&self, chosen: &CategoryCode) -> bool {
        self.suggested
            .first()
            .is_some_and(|first| &first.category != chosen)
    }

    /// The reason it cannot be recorded, if any.
    pub fn problem(&self) -> Option<String> {
        if self.source.trim().is_empty() || self.source.chars().count() > 64 {
            return Some("source must be 1–64 characters".into());
        }
        if self.suggested.len() > Self::MAX {
            return Some(format!("at most {} suggestions", Self::MAX));
        }
        if self.suggested.iter().any(|s| s.permille > 1000) {
            return Some("permille is at most 1000".into());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_taxonomy_has_two_levels_for_disputes_and_requests() {
        let t = Taxonomy::default_taxonomy();
        let wages = CategoryCode::parse("labour.wage_arrears").unwrap();
        assert_eq!(
            t.get(&wages).unwrap().parent.as_ref().unwrap().as_str(),
            "labour"
        );
        assert!(t.allows(&wages, CaseKind::Dispute));
        assert!(!t.allows(&wages, CaseKind::Request));
        let roads = CategoryCode::parse("dept_housing.roads").unwrap();
        assert!(t.allows(&roads, CaseKind::Request));
        for top in [
            "marriage_family",
            "neighbourhood",
            "property_mgmt",
            "labour",
            "medical",
            "land",
            "consumer",
            "traffic",
            "contract_debt",
            "damages",
            "environment",
            "enterprise",
            "other",
        ] {
            assert!(t.get(&CategoryCode::parse(top).unwrap()).is_some(), "{top}");
        }
    }

    #[test]
    fn refuses_malformed_files() {
        assert!(
            Taxonomy::from_toml("[[category]]\ncode='X'\nname='x'\nkinds=['dispute']").is_err()
        );
        assert!(Taxonomy::from_toml("[[category]]\ncode='x'\nname='x'\nkinds=[]").is_err());
        assert!(Taxonomy::from_toml(
            "[[category]]\ncode='x'\nname='x'\nkinds=['dispute']\nbogus=1"
        )
        .is_err());
    }
}
