//! The jurisdiction tree: city → county → town → village/community → grid.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Levels from the top. The derived order is the chain of command: a lower
/// value is a higher level, so `City < County`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Level {
    City,
    County,
    Town,
    Village,
    Grid,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::City,
        Level::County,
        Level::Town,
        Level::Village,
        Level::Grid,
    ];

    /// The next level up, where escalations and reviews go.
    pub fn up(self) -> Option<Level> {
        match self {
            Level::City => None,
            Level::County => Some(Level::City),
            Level::Town => Some(Level::County),
            Level::Village => Some(Level::Town),
            Level::Grid => Some(Level::Village),
        }
    }

    /// Grids have no centre of their own: a matter reported in a grid is
    /// handled by its village at the lowest.
    pub fn handling(self) -> Level {
        match self {
            Level::Grid => Level::Village,
            other => other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::City => "city",
            Level::County => "county",
            Level::Town => "town",
            Level::Village => "village",
            Level::Grid => "grid",
        }
    }

    pub fn parse(raw: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == raw)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Level::City => "市",
            Level::County => "县区",
            Level::Town => "乡镇街道",
            Level::Village => "村社区",
            Level::Grid => "网格",
        }
    }
}

/// A jurisdiction code: GB/T 2260 (6 digits) for city and county, 12-digit
/// statistical division codes (9 significant for towns) below, and local codes
/// for grids. Only the shape is checked here; the tree checks the nesting.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct JurisdictionCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JurisdictionError {
    #[error("jurisdiction code {0:?} must be 1–32 characters of digits, letters or '-'")]
    BadCode(String),
    #[error("jurisdiction code {code} is a {level:?} code but must have {expected}")]
    CodeShape {
        code: String,
        level: Level,
        expected: &'static str,
    },
    #[error("jurisdiction {0} appears twice")]
    Duplicate(String),
    #[error("jurisdiction {code} names parent {parent}, which does not exist")]
    UnknownParent { code: String, parent: String },
    #[error("jurisdiction {code} ({level:?}) cannot sit under {parent} ({parent_level:?})")]
    BadNesting {
        code: String,
        level: Level,
        parent: String,
        parent_level: Level,
    },
    #[error("jurisdiction {0} is a city and must not have a parent")]
    CityWithParent(String),
    #[error("jurisdiction {0} is not a city and needs a parent")]
    MissingParent(String),
    #[error("jurisdiction name must not be empty ({0})")]
    EmptyName(String),
}

impl JurisdictionCode {
    pub fn parse(raw: &str) -> Result<Self, JurisdictionError> {
        let ok = !raw.is_empty()
            && raw.len() <= 32
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(JurisdictionError::BadCode(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn check_shape(&self, level: Level) -> Result<(), JurisdictionError> {
        let digits = self.0.bytes().all(|b| b.is_ascii_digit());
        let (ok, expected) = match level {
            Level::City | Level::County => (digits && self.0.len() == 6, "6 digits (GB/T 2260)"),
            Level::Town => (
                digits && (self.0.len() == 9 || self.0.len() == 12),
                "9 or 12 digits",
            ),
            Level::Village => (digits && self.0.len() == 12, "12 digits"),
            Level::Grid => (true, "a local code"),
        };
        if ok {
            Ok(())
        } else {
            Err(JurisdictionError::CodeShape {
                code: self.0.clone(),
                level,
                expected,
            })
        }
    }
}

impl TryFrom<String> for JurisdictionCode {
    type Error = JurisdictionError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<JurisdictionCode> for String {
    fn from(value: JurisdictionCode) -> Self {
        value.0
    }
}

impl fmt::Display for JurisdictionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Jurisdiction {
    pub code: JurisdictionCode,
    pub name: String,
    pub level: Level,
    pub parent: Option<JurisdictionCode>,
}

/// A validated tree: every parent exists and sits exactly one level up, so an
/// escalation always has exactly one next centre to go to.
#[derive(Debug, Clone, Default)]
pub struct JurisdictionTree {
    nodes: BTreeMap<JurisdictionCode, Jurisdiction>,
}

impl JurisdictionTree {
    /// Builds a tree from nodes in any order, refusing the whole set on the
    /// first problem so an import never lands half a tree.
    pub fn build(
        existing: impl IntoIterator<Item = Jurisdiction>,
        new: impl IntoIterator<Item = Jurisdiction>,
    ) -> Result<Self, JurisdictionError> {
        let mut nodes = BTreeMap::new();
        for node in existing {
            nodes.insert(node.code.clone(), node);
        }
        let mut seen = std::collections::BTreeSet::new();
        for node in new {
            if node.name.trim().is_empty() {
                return Err(JurisdictionError::EmptyName(node.code.0.clone()));
            }
            node.code.check_shape(node.level)?;
            if !seen.insert(node.code.clone()) {
                return Err(JurisdictionError::Duplicate(node.code.0.clone()));
            }
            nodes.insert(node.code.clone(), node);
        }
        for node in nodes.values() {
            match (&node.parent, node.level) {
                (Some(_), Level::City) => {
                    return Err(JurisdictionError::CityWithParent(node.code.0.clone()))
                }
                (None, Level::City) => {}
                (None, _) => return Err(JurisdictionError::MissingParent(node.code.0.clone())),
                (Some(parent), level) => {
                    let Some(p) = nodes.get(parent) else {
                        return Err(JurisdictionError::UnknownParent {
                            code: node.code.0.clone(),
                            parent: parent.0.clone(),
                        });
                    };
                    if level.up() != Some(p.level) {
                        return Err(JurisdictionError::BadNesting {
                            code: node.code.0.clone(),
                            level,
                            parent: parent.0.clone(),
                            parent_level: p.level,
                        });
                    }
                }
            }
        }
        Ok(Self { nodes })
    }

    pub fn get(&self, code: &JurisdictionCode) -> Option<&Jurisdiction> {
        self.nodes.get(code)
    }

    pub fn nodes(&self) -> impl Iterator<Item = &Jurisdiction> {
        self.nodes.values()
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node and its ancestors, from the node up to the city.
    pub fn ancestry(&self, code: &JurisdictionCode) -> Vec<&Jurisdiction> {
        let mut out = Vec::new();
        let mut cur = self.nodes.get(code);
        while let Some(node) = cur {
            out.push(node);
            cur = node.parent.as_ref().and_then(|p| self.nodes.get(p));
        }
        out
    }

    /// Whether `code` is `node` or lies below it.
    pub fn within(&self, code: &JurisdictionCode, node: &JurisdictionCode) -> bool {
        self.ancestry(code).iter().any(|j| &j.code == node)
    }

    /// The ancestor at `level` (the node itself if it is at that level).
    pub fn ancestor_at(&self, code: &JurisdictionCode, level: Level) -> Option<&Jurisdiction> {
        self.ancestry(code).into_iter().find(|n| n.level == level)
    }

    /// The names from the top down to `code`, run together as a Chinese
    /// address is written (池州市东至县尧渡镇城东社区).
    pub fn full_name(&self, code: &JurisdictionCode) -> String {
        let mut names: Vec<&str> = self
            .ancestry(code)
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        names.reverse();
        names.concat()
    }

    /// Path of codes from the city down to `code`, used as a materialised
    /// path so "this subtree" is a prefix query in every store.
    pub fn path(&self, code: &JurisdictionCode) -> String {
        let mut codes: Vec<&str> = self
            .ancestry(code)
            .iter()
            .map(|n| n.code.as_str())
            .collect();
        codes.reverse();
        let mut path = String::from("/");
        for c in codes {
            path.push_str(c);
            path.push('/');
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(code: &str, level: Level, parent: Option<&str>) -> Jurisdiction {
        Jurisdiction {
            code: JurisdictionCode::parse(code).unwrap(),
            name: format!("节点{code}"),
            level,
            parent: parent.map(|p| JurisdictionCode::parse(p).unwrap()),
        }
    }

    #[test]
    fn builds_and_walks_a_tree() {
        let tree = JurisdictionTree::build(
            [],
            [
                node("341700", Level::City, None),
                node("341721", Level::County, Some("341700")),
                node("341721100", Level::Town, Some("341721")),
                node("341721100201", Level::Village, Some("341721100")),
                node("341721100201-G01", Level::Grid, Some("341721100201")),
            ],
        )
        .unwrap();
        let grid = JurisdictionCode::parse("341721100201-G01").unwrap();
        assert_eq!(
            tree.path(&grid),
            "/341700/341721/341721100/341721100201/341721100201-G01/"
        );
        assert_eq!(
            tree.ancestor_at(&grid, Level::County)
                .unwrap()
                .code
                .as_str(),
            "341721"
        );
    }

    #[test]
    fn refuses_bad_nesting_and_missing_parents() {
        let err = JurisdictionTree::build(
            [],
            [
                node("341700", Level::City, None),
                node("341721100", Level::Town, Some("341700")),
            ],
        )
        .unwrap_err();
        assert!(matches!(err, JurisdictionError::BadNesting { .. }));
        let err = JurisdictionTree::build([], [node("341721", Level::County, Some("341700"))])
            .unwrap_err();
        assert!(matches!(err, JurisdictionError::UnknownParent { .. }));
        let err = JurisdictionTree::build([], [node("3417", Level::City, None)]).unwrap_err();
        assert!(matches!(err, JurisdictionError::CodeShape { .. }));
    }
}

/// Reading jurisdiction (and body) files: TOML with `[[jurisdiction]]` and
/// `[[body]]` tables, or CSV with a `code,name,level,parent` header.
pub mod import {
    use super::{Jurisdiction, JurisdictionCode, Level};
    use crate::body::Body;
    use serde::Deserialize;

    #[derive(Debug, thiserror::Error)]
    pub enum ImportFileError {
        #[error("{0}")]
        Toml(String),
        #[error("CSV line {line}: {message}")]
        Csv { line: u64, message: String },
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        jurisdiction: Vec<Jurisdiction>,
        #[serde(default)]
        body: Vec<Body>,
    }

    pub fn from_toml(src: &str) -> Result<(Vec<Jurisdiction>, Vec<Body>), ImportFileError> {
        let f: File = toml::from_str(src).map_err(|e| ImportFileError::Toml(e.to_string()))?;
        Ok((f.jurisdiction, f.body))
    }

    pub fn from_csv(src: &str) -> Result<Vec<Jurisdiction>, ImportFileError> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(src.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| ImportFileError::Csv {
                line: 1,
                message: e.to_string(),
            })?
            .clone();
        let want = ["code", "name", "level", "parent"];
        if headers.iter().collect::<Vec<_>>() != want {
            return Err(ImportFileError::Csv {
                line: 1,
                message: format!("header must be {}", want.join(",")),
            });
        }
        let mut out = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| ImportFileError::Csv {
                line: e.position().map_or(0, |p| p.line()),
                message: e.to_string(),
            })?;
            let line = record.position().map_or(0, |p| p.line());
            let bad = |message: String| ImportFileError::Csv { line, message };
            let code = JurisdictionCode::parse(&record[0]).map_err(|e| bad(e.to_string()))?;
            let level = Level::parse(&record[2]).ok_or_else(|| {
                bad(format!(
                    "level {:?} is not city/county/town/village/grid",
                    &record[2]
                ))
            })?;
            let parent = match &record[3] {
                "" => None,
                p => Some(JurisdictionCode::parse(p).map_err(|e| bad(e.to_string()))?),
            };
            out.push(Jurisdiction {
                code,
                name: record[1].to_owned(),
                level,
                parent,
            });
        }
        Ok(out)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn reads_both_formats_and_names_the_bad_line() {
            let (j, b) = from_toml(
                "[[jurisdiction]]\ncode='341700'\nname='池州市'\nlevel='city'\n\n[[body]]\ncode='B1'\nname='调委会'\nkind='peoples_mediation'\njurisdiction='341700'\ncategories=['neighbourhood']\n",
            )
            .unwrap();
            assert_eq!((j.len(), b.len()), (1, 1));
            let j = from_csv(
                "code,name,level,parent\n341700,池州市,city,\n341721,东至县,county,341700\n",
            )
            .unwrap();
            assert_eq!(j[1].parent.as_ref().unwrap().as_str(), "341700");
            let err = from_csv(
                "code,name,level,parent\n341700,池州市,city,\n341721,东至县,province,341700\n",
            )
            .unwrap_err();
            assert!(err.to_string().starts_with("CSV line 3"), "{err}");
            assert!(
                from_toml("[[jurisdiction]]\ncode='x'\nname='y'\nlevel='city'\nextra=1").is_err()
            );
        }
    }
}
