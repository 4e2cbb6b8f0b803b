//! Policy as data: the deadline table and escalation ladder a centre runs by,
//! loaded from TOML and validated at start-up with errors that name the line.

use crate::case::CaseKind;
use crate::risk::RiskPolicy;
use crate::taxonomy::{CategoryCode, Taxonomy};
use serde::{Deserialize, Serialize};
use std::fmt;

pub const DEFAULT_POLICY: &str = include_str!("../data/policy.toml");

/// Which clock of a case a deadline governs.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineStage {
    /// From registration to the accept/decline decision.
    Acceptance,
    /// From assignment to conclusion.
    Handling,
    /// The window after an answer in which a review may be asked.
    ReviewRequest,
    /// From a review request to the review's conclusion.
    Review,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Complexity {
    Simple,
    Ordinary,
    Complex,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayCount {
    Calendar,
    Working,
}

impl fmt::Display for DayCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DayCount::Calendar => "days",
            DayCount::Working => "working days",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadlineRule {
    pub kind: CaseKind,
    pub stage: DeadlineStage,
    pub category: Option<CategoryCode>,
    pub complexity: Option<Complexity>,
    pub days: u32,
    pub count: DayCount,
    pub max_extensions: u32,
    pub max_extension_days: u32,
    /// The public basis, shown with every deadline computed from the rule.
    pub basis: String,
}

impl DeadlineRule {
    fn specificity(&self) -> u32 {
        let cat = match &self.category {
            Some(c) if c.as_str().contains('.') => 4,
            Some(_) => 2,
            None => 0,
        };
        cat + u32::from(self.complexity.is_some())
    }

    fn matches(
        &self,
        kind: CaseKind,
        stage: DeadlineStage,
        category: &CategoryCode,
        complexity: Option<Complexity>,
    ) -> bool {
        self.kind == kind
            && self.stage == stage
            && self
                .category
                .as_ref()
                .is_none_or(|c| c == category || c.as_str() == category.top())
            && self.complexity.is_none_or(|c| Some(c) == complexity)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationLadder {
    pub notify_supervisor: bool,
    pub escalate_after_days: u32,
    pub repeat_every_days: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub version: String,
    pub due_soon_fraction: f64,
    pub deadlines: Vec<DeadlineRule>,
    pub escalation: EscalationLadder,
    pub risk: RiskPolicy,
    pub repeats: RepeatPolicy,
}

/// The `[repeats]` section: how far back a new case looks for earlier ones
/// from the same person or about the same respondent and place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatPolicy {
    pub window_days: u32,
}

impl Policy {
    /// The due-soon share in thousandths, as assignments record it.
    pub fn due_soon_permille(&self) -> u16 {
        (self.due_soon_fraction * 1000.0).round() as u16
    }
}

/// The rules decisions are taken under: the policy and the calendar it
/// counts working days on.
#[derive(Debug, Clone)]
pub struct Rules {
    pub policy: Policy,
    pub calendar: crate::calendar::WorkCalendar,
}

impl Rules {
    /// The shipped policy on the built-in calendar.
    pub fn defaults(taxonomy: &Taxonomy) -> Self {
        Self {
            policy: Policy::default_policy(taxonomy),
            calendar: crate::calendar::WorkCalendar::builtin(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// TOML's own message already names the line and column.
    #[error("policy file: {0}")]
    Syntax(String),
    #[error("policy file line {line}: {message}")]
    At { line: usize, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: toml::Spanned<String>,
    due_soon_fraction: toml::Spanned<f64>,
    deadline: Vec<toml::Spanned<FileRule>>,
    escalation: toml::Spanned<EscalationLadder>,
    risk: toml::Spanned<RiskPolicy>,
    repeats: toml::Spanned<RepeatPolicy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRule {
    kind: CaseKind,
    stage: DeadlineStage,
    #[serde(default)]
    category: Option<toml::Spanned<String>>,
    #[serde(default)]
    complexity: Option<Complexity>,
    days: toml::Spanned<u32>,
    count: DayCount,
    #[serde(default)]
    max_extensions: u32,
    #[serde(default)]
    max_extension_days: u32,
    basis: String,
}

impl Policy {
    pub fn default_policy(taxonomy: &Taxonomy) -> Self {
        Self::from_toml(DEFAULT_POLICY, taxonomy).expect("the shipped policy is valid")
    }

    pub fn from_toml(src: &str, taxonomy: &Taxonomy) -> Result<Self, PolicyError> {
        let file: File = toml::from_str(src).map_err(|e| PolicyError::Syntax(e.to_string()))?;
        let at = |span: std::ops::Range<usize>, message: String| PolicyError::At {
            line: crate::text::line_at(src, span.start),
            message,
        };
        if file.version.get_ref().trim().is_empty() {
            return Err(at(file.version.span(), "version must not be empty".into()));
        }
        let fraction = *file.due_soon_fraction.get_ref();
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(at(
                file.due_soon_fraction.span(),
                format!("due_soon_fraction must be between 0 and 1, not {fraction}"),
            ));
        }
        let ladder = file.escalation.get_ref();
        if ladder.repeat_every_days == 0 {
            return Err(at(
                file.escalation.span(),
                "repeat_every_days must be at least 1".into(),
            ));
        }
        let window = file.repeats.get_ref().window_days;
        if window == 0 || window > 3660 {
            return Err(at(
                file.repeats.span(),
                format!("repeats: window_days must be between 1 and 3660, not {window}"),
            ));
        }
        file.risk
            .get_ref()
            .check(taxonomy)
            .map_err(|m| at(file.risk.span(), m))?;
        let mut rules: Vec<DeadlineRule> = Vec::new();
        for spanned in &file.deadline {
            let span = spanned.span();
            let r = spanned.get_ref();
            let days = *r.days.get_ref();
            if days == 0 || days > 366 {
                return Err(at(
                    r.days.span(),
                    format!("days must be between 1 and 366, not {days}"),
                ));
            }
            let category = match &r.category {
                None => None,
                Some(c) => {
                    let code = CategoryCode::parse(c.get_ref())
                        .map_err(|e| at(c.span(), e.to_string()))?;
                    if taxonomy.get(&code).is_none() {
                        return Err(at(c.span(), format!("unknown category {code}")));
                    }
                    if !taxonomy.allows(&code, r.kind) {
                        return Err(at(
                            c.span(),
                            format!("category {code} does not apply to {} cases", r.kind),
                        ));
                    }
                    Some(code)
                }
            };
            if r.max_extensions > 0 && r.max_extension_days == 0 {
                return Err(at(span, "max_extensions needs max_extension_days".into()));
            }
            if r.basis.trim().is_empty() {
                return Err(at(span, "every deadline states its basis".into()));
            }
            let rule = DeadlineRule {
                kind: r.kind,
                stage: r.stage,
                category,
                complexity: r.complexity,
                days,
                count: r.count,
                max_extensions: r.max_extensions,
                max_extension_days: r.max_extension_days,
                basis: r.basis.trim().to_owned(),
            };
            if rules.iter().any(|o| {
                o.kind == rule.kind
                    && o.stage == rule.stage
                    && o.category == rule.category
                    && o.complexity == rule.complexity
            }) {
                return Err(at(
                    span,
                    "a rule for the same kind, stage, category and complexity comes earlier".into(),
                ));
            }
            rules.push(rule);
        }
        Ok(Self {
            version: file.version.into_inner().trim().to_owned(),
            due_soon_fraction: fraction,
            deadlines: rules,
            escalation: file.escalation.into_inner(),
            risk: file.risk.into_inner(),
            repeats: file.repeats.into_inner(),
        })
    }

    /// The most specific rule for a case; `None` when the policy sets no
    /// deadline for it (the clerk then sets one by hand).
    pub fn deadline_rule(
        &self,
        kind: CaseKind,
        stage: DeadlineStage,
        category: &CategoryCode,
        complexity: Option<Complexity>,
    ) -> Option<&DeadlineRule> {
        self.deadlines
            .iter()
            .filter(|r| r.matches(kind, stage, category, complexity))
            .max_by_key(|r| r.specificity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tax() -> Taxonomy {
        Taxonomy::default_taxonomy()
    }

    #[test]
    fn the_shipped_policy_has_the_public_defaults() {
        let p = Policy::default_policy(&tax());
        let cat = |c: &str| CategoryCode::parse(c).unwrap();
        let r = p
            .deadline_rule(
                CaseKind::Petition,
                DeadlineStage::Handling,
                &cat("land.demolition"),
                None,
            )
            .unwrap();
        assert_eq!(
            (r.days, r.count, r.max_extension_days),
            (60, DayCount::Calendar, 30)
        );
        let r = p
            .deadline_rule(
                CaseKind::Petition,
                DeadlineStage::Acceptance,
                &cat("other"),
                None,
            )
            .unwrap();
        assert_eq!(r.days, 15);
        let r = p
            .deadline_rule(
                CaseKind::Request,
                DeadlineStage::Handling,
                &cat("dept_housing.roads"),
                Some(Complexity::Complex),
            )
            .unwrap();
        assert_eq!((r.days, r.count), (20, DayCount::Working));
        // The category-specific hazard rule beats the general one.
        let r = p
            .deadline_rule(
                CaseKind::Hazard,
                DeadlineStage::Handling,
                &cat("safety.fire"),
                None,
            )
            .unwrap();
        assert_eq!(r.days, 1);
        let r = p
            .deadline_rule(
                CaseKind::Hazard,
                DeadlineStage::Handling,
                &cat("environment.noise"),
                None,
            )
            .unwrap();
        assert_eq!(r.days, 7);
        assert!(p
            .deadline_rule(
                CaseKind::Request,
                DeadlineStage::Handling,
                &cat("dept_housing"),
                None
            )
            .is_none());
        assert_eq!(p.version, "default-2026.1");
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let bad_days = DEFAULT_POLICY.replacen("days = 15", "days = 0", 1);
        let line = DEFAULT_POLICY
            .lines()
            .position(|l| l == "days = 15")
            .unwrap()
            + 1;
        assert_eq!(
            Policy::from_toml(&bad_days, &tax())
                .unwrap_err()
                .to_string(),
            format!("policy file line {line}: days must be between 1 and 366, not 0")
        );
        let bad_cat =
            DEFAULT_POLICY.replacen("category = \"safety\"", "category = \"safety.nuclear\"", 1);
        let err = Policy::from_toml(&bad_cat, &tax()).unwrap_err().to_string();
        assert!(
            err.contains("unknown category safety.nuclear") && err.starts_with("policy file line "),
            "{err}"
        );
        let syntax = DEFAULT_POLICY.replacen("count = \"calendar\"", "count = \"lunar\"", 1);
        let err = Policy::from_toml(&syntax, &tax()).unwrap_err().to_string();
        assert!(err.contains("line") && err.contains("lunar"), "{err}");
        let bad_risk = DEFAULT_POLICY.replacen("yellow_at = 30", "yellow_at = 70", 1);
        let risk_line = DEFAULT_POLICY.lines().position(|l| l == "[risk]").unwrap() + 1;
        let err = Policy::from_toml(&bad_risk, &tax())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!(
                "policy file line {risk_line}: risk: yellow_at (70)"
            )),
            "{err}"
        );
        let dup = format!("{DEFAULT_POLICY}\n[[deadline]]\nkind = \"petition\"\nstage = \"acceptance\"\ndays = 10\ncount = \"calendar\"\nbasis = \"x\"\n");
        let err = Policy::from_toml(&dup, &tax()).unwrap_err().to_string();
        assert!(err.contains("comes earlier"), "{err}");
    }
}
