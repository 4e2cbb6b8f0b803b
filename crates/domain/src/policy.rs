//! Policy as data: the deadline table and escalation ladder a centre runs by,
//! loaded from TOML and validated at start-up with errors that name the line.

use crate::case::CaseKind;
use crate::jurisdiction::JurisdictionCode;
use crate::risk::RiskPolicy;
use crate::routing::RoutingPolicy;
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
    /// Whether the two rules are for the same cases (same kind, stage,
    /// category and complexity).
    fn same_case(&self, other: &DeadlineRule) -> bool {
        self.kind == other.kind
            && self.stage == other.stage
            && self.category == other.category
            && self.complexity == other.complexity
    }

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
    pub routing: RoutingPolicy,
    /// `[[jurisdiction]]` overrides, each already merged over the top level.
    pub jurisdictions: Vec<(JurisdictionCode, Policy)>,
}

/// The `[repeats]` section: how far back a new case looks for earlier ones
/// from the same person or about the same respondent and place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatPolicy {
    pub window_days: u32,
}

impl RepeatPolicy {
    /// The earliest registration (Unix milliseconds) a case registered at
    /// `now_ms` may repeat.
    pub fn since_ms(&self, now_ms: i64) -> i64 {
        now_ms - i64::from(self.window_days) * 86_400_000
    }
}

impl Policy {
    /// The due-soon share in thousandths, as assignments record it.
    pub fn due_soon_permille(&self) -> u16 {
        (self.due_soon_fraction * 1000.0).round() as u16
    }
}

/// The rules decisions are taken under: the policy and the calendar it
/// counts working days on, with the rules of the jurisdictions that
/// override the policy.
#[derive(Debug, Clone)]
pub struct Rules {
    pub policy: Policy,
    pub calendar: crate::calendar::WorkCalendar,
    local: std::collections::HashMap<JurisdictionCode, std::sync::Arc<Rules>>,
}

impl Rules {
    pub fn new(mut policy: Policy, calendar: crate::calendar::WorkCalendar) -> Self {
        let local = std::mem::take(&mut policy.jurisdictions)
            .into_iter()
            .map(|(code, policy)| {
                let rules = Rules {
                    policy,
                    calendar: calendar.clone(),
                    local: Default::default(),
                };
                (code, std::sync::Arc::new(rules))
            })
            .collect();
        Self {
            policy,
            calendar,
            local,
        }
    }

    /// The shipped policy on the built-in calendar.
    pub fn defaults(taxonomy: &Taxonomy) -> Self {
        Self::new(
            Policy::default_policy(taxonomy),
            crate::calendar::WorkCalendar::builtin(),
        )
    }

    /// The rules for a case whose jurisdiction and its ancestors, nearest
    /// first, are `lineage`: the nearest override, or the deployment's.
    pub fn at<'a>(&'a self, lineage: impl IntoIterator<Item = &'a JurisdictionCode>) -> &'a Rules {
        if self.local.is_empty() {
            return self;
        }
        lineage
            .into_iter()
            .find_map(|c| self.local.get(c))
            .map_or(self, |r| r.as_ref())
    }

    /// The jurisdictions that have rules of their own.
    pub fn overridden(&self) -> impl Iterator<Item = &JurisdictionCode> {
        self.local.keys()
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
    routing: toml::Spanned<RoutingPolicy>,
    #[serde(default)]
    jurisdiction: Vec<toml::Spanned<FileLocal>>,
}

/// A `[[jurisdiction]]` entry: the sections it gives replace the top level's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLocal {
    code: toml::Spanned<String>,
    #[serde(default)]
    version: Option<toml::Spanned<String>>,
    #[serde(default)]
    due_soon_fraction: Option<toml::Spanned<f64>>,
    #[serde(default)]
    deadline: Vec<toml::Spanned<FileRule>>,
    #[serde(default)]
    escalation: Option<toml::Spanned<EscalationLadder>>,
    #[serde(default)]
    risk: Option<toml::Spanned<RiskPolicy>>,
    #[serde(default)]
    routing: Option<toml::Spanned<RoutingPolicy>>,
}

/// Validation of the file's parts, with errors that name the line.
struct Check<'a> {
    src: &'a str,
    taxonomy: &'a Taxonomy,
}

impl Check<'_> {
    fn at(&self, span: std::ops::Range<usize>, message: String) -> PolicyError {
        PolicyError::At {
            line: crate::text::line_at(self.src, span.start),
            message,
        }
    }

    fn version(&self, v: &toml::Spanned<String>) -> Result<String, PolicyError> {
        let version = v.get_ref().trim();
        if version.is_empty() {
            return Err(self.at(v.span(), "version must not be empty".into()));
        }
        Ok(version.to_owned())
    }

    fn fraction(&self, f: &toml::Spanned<f64>) -> Result<f64, PolicyError> {
        let fraction = *f.get_ref();
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(self.at(
                f.span(),
                format!("due_soon_fraction must be between 0 and 1, not {fraction}"),
            ));
        }
        Ok(fraction)
    }

    fn ladder(&self, l: &toml::Spanned<EscalationLadder>) -> Result<EscalationLadder, PolicyError> {
        if l.get_ref().repeat_every_days == 0 {
            return Err(self.at(l.span(), "repeat_every_days must be at least 1".into()));
        }
        Ok(l.get_ref().clone())
    }

    fn risk(&self, r: &toml::Spanned<RiskPolicy>) -> Result<RiskPolicy, PolicyError> {
        r.get_ref()
            .check(self.taxonomy)
            .map_err(|m| self.at(r.span(), m))?;
        Ok(r.get_ref().clone())
    }

    fn routing(&self, r: &toml::Spanned<RoutingPolicy>) -> Result<RoutingPolicy, PolicyError> {
        r.get_ref()
            .check(self.taxonomy)
            .map_err(|m| self.at(r.span(), m))?;
        Ok(r.get_ref().clone())
    }

    /// `inherited` rules with `given` ones added; a given rule replaces an
    /// inherited one for the same kind, stage, category and complexity,
    /// and two given rules for the same are an error.
    fn deadlines(
        &self,
        inherited: Vec<DeadlineRule>,
        given: &[toml::Spanned<FileRule>],
    ) -> Result<Vec<DeadlineRule>, PolicyError> {
        let mut rules: Vec<DeadlineRule> = Vec::new();
        for spanned in given {
            let rule = self.deadline(spanned)?;
            if rules.iter().any(|o| o.same_case(&rule)) {
                return Err(self.at(
                    spanned.span(),
                    "a rule for the same kind, stage, category and complexity comes earlier".into(),
                ));
            }
            rules.push(rule);
        }
        let kept: Vec<DeadlineRule> = inherited
            .into_iter()
            .filter(|o| !rules.iter().any(|r| r.same_case(o)))
            .collect();
        rules.extend(kept);
        Ok(rules)
    }

    fn deadline(&self, spanned: &toml::Spanned<FileRule>) -> Result<DeadlineRule, PolicyError> {
        let span = spanned.span();
        let r = spanned.get_ref();
        let days = *r.days.get_ref();
        if days == 0 || days > 366 {
            return Err(self.at(
                r.days.span(),
                format!("days must be between 1 and 366, not {days}"),
            ));
        }
        let category = match &r.category {
            None => None,
            Some(c) => {
                let code = CategoryCode::parse(c.get_ref())
                    .map_err(|e| self.at(c.span(), e.to_string()))?;
                if self.taxonomy.get(&code).is_none() {
                    return Err(self.at(c.span(), format!("unknown category {code}")));
                }
                if !self.taxonomy.allows(&code, r.kind) {
                    return Err(self.at(
                        c.span(),
                        format!("category {code} does not apply to {} cases", r.kind),
                    ));
                }
                Some(code)
            }
        };
        if r.max_extensions > 0 && r.max_extension_days == 0 {
            return Err(self.at(span, "max_extensions needs max_extension_days".into()));
        }
        if r.basis.trim().is_empty() {
            return Err(self.at(span, "every deadline states its basis".into()));
        }
        Ok(DeadlineRule {
            kind: r.kind,
            stage: r.stage,
            category,
            complexity: r.complexity,
            days,
            count: r.count,
            max_extensions: r.max_extensions,
            max_extension_days: r.max_extension_days,
            basis: r.basis.trim().to_owned(),
        })
    }
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
        let check = Check { src, taxonomy };
        let version = check.version(&file.version)?;
        let window = file.repeats.get_ref().window_days;
        if window == 0 || window > 3660 {
            return Err(check.at(
                file.repeats.span(),
                format!("repeats: window_days must be between 1 and 3660, not {window}"),
            ));
        }
        let top = Policy {
            version,
            due_soon_fraction: check.fraction(&file.due_soon_fraction)?,
            deadlines: check.deadlines(Vec::new(), &file.deadline)?,
            escalation: check.ladder(&file.escalation)?,
            risk: check.risk(&file.risk)?,
            repeats: file.repeats.into_inner(),
            routing: check.routing(&file.routing)?,
            jurisdictions: Vec::new(),
        };
        let mut jurisdictions: Vec<(JurisdictionCode, Policy)> = Vec::new();
        for spanned in &file.jurisdiction {
            let l = spanned.get_ref();
            let code = JurisdictionCode::parse(l.code.get_ref())
                .map_err(|e| check.at(l.code.span(), e.to_string()))?;
            if jurisdictions.iter().any(|(c, _)| *c == code) {
                return Err(check.at(
                    l.code.span(),
                    format!("jurisdiction {code} is overridden earlier in the file"),
                ));
            }
            let local = Policy {
                version: match &l.version {
                    Some(v) => check.version(v)?,
                    None => format!("{}@{code}", top.version),
                },
                due_soon_fraction: match &l.due_soon_fraction {
                    Some(f) => check.fraction(f)?,
                    None => top.due_soon_fraction,
                },
                deadlines: check.deadlines(top.deadlines.clone(), &l.deadline)?,
                escalation: match &l.escalation {
                    Some(e) => check.ladder(e)?,
                    None => top.escalation.clone(),
                },
                risk: match &l.risk {
                    Some(r) => check.risk(r)?,
                    None => top.risk.clone(),
                },
                repeats: top.repeats.clone(),
                routing: match &l.routing {
                    Some(r) => check.routing(r)?,
                    None => top.routing.clone(),
                },
                jurisdictions: Vec::new(),
            };
            jurisdictions.push((code, local));
        }
        Ok(Self {
            jurisdictions,
            ..top
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

    const LOCAL: &str = r#"
[[jurisdiction]]
code = "341721100"
version = "yaodu-2026.1"
escalation = { notify_supervisor = true, escalate_after_days = 1, repeat_every_days = 2 }

[[jurisdiction.deadline]]
kind = "dispute"
stage = "handling"
days = 10
count = "calendar"
basis = "尧渡镇：纠纷10日内调结"

[[jurisdiction]]
code = "341721"
due_soon_fraction = 0.5
"#;

    #[test]
    fn a_jurisdiction_overrides_what_it_gives_and_inherits_the_rest() {
        let p = Policy::from_toml(&format!("{DEFAULT_POLICY}{LOCAL}"), &tax()).unwrap();
        let cat = CategoryCode::parse("neighbourhood.noise").unwrap();
        let (town, town_policy) = &p.jurisdictions[0];
        assert_eq!(town.as_str(), "341721100");
        assert_eq!(town_policy.version, "yaodu-2026.1");
        assert_eq!(town_policy.escalation.escalate_after_days, 1);
        let rule = |p: &Policy, stage| {
            p.deadline_rule(CaseKind::Dispute, stage, &cat, None)
                .unwrap()
                .days
        };
        assert_eq!(rule(town_policy, DeadlineStage::Handling), 10);
        assert_eq!(rule(&p, DeadlineStage::Handling), 30);
        // Rules it does not give are inherited.
        assert_eq!(rule(town_policy, DeadlineStage::Acceptance), 3);
        assert_eq!(town_policy.due_soon_fraction, p.due_soon_fraction);
        let (county, county_policy) = &p.jurisdictions[1];
        assert_eq!(county.as_str(), "341721");
        assert_eq!(county_policy.version, "default-2026.1@341721");
        assert_eq!(county_policy.due_soon_permille(), 500);
        assert_eq!(county_policy.escalation, p.escalation);

        // The nearest override applies.
        let rules = Rules::new(p, crate::calendar::WorkCalendar::builtin());
        let code = |c: &str| JurisdictionCode::parse(c).unwrap();
        let lineage = |cs: &[&str]| cs.iter().map(|c| code(c)).collect::<Vec<_>>();
        let village = lineage(&["341721100201", "341721100", "341721", "341700"]);
        assert_eq!(rules.at(&village).policy.version, "yaodu-2026.1");
        let other_town = lineage(&["341721101", "341721", "341700"]);
        assert_eq!(
            rules.at(&other_town).policy.version,
            "default-2026.1@341721"
        );
        let elsewhere = lineage(&["341702", "341700"]);
        assert_eq!(rules.at(&elsewhere).policy.version, "default-2026.1");
        let mut codes: Vec<&str> = rules.overridden().map(|c| c.as_str()).collect();
        codes.sort();
        assert_eq!(codes, ["341721", "341721100"]);
    }

    #[test]
    fn override_errors_name_the_line() {
        let line_of =
            |src: &str, needle: &str| src.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
        let twice = format!("{DEFAULT_POLICY}{LOCAL}\n[[jurisdiction]]\ncode = \"341721\"\n");
        let err = Policy::from_toml(&twice, &tax()).unwrap_err().to_string();
        let last = twice.lines().count();
        assert_eq!(
            err,
            format!(
                "policy file line {last}: jurisdiction 341721 is overridden earlier in the file"
            )
        );
        // Repeats are deployment-wide: a jurisdiction cannot narrow them.
        let repeats = format!("{DEFAULT_POLICY}\n[[jurisdiction]]\ncode = \"341721\"\nrepeats = {{ window_days = 30 }}\n");
        let err = Policy::from_toml(&repeats, &tax()).unwrap_err().to_string();
        assert!(err.contains("repeats") && err.contains("line"), "{err}");
        let bad_days =
            format!("{DEFAULT_POLICY}{LOCAL}").replacen("\ndays = 10\n", "\ndays = 400\n", 1);
        let err = Policy::from_toml(&bad_days, &tax())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "policy file line {}: days must be between 1 and 366, not 400",
                line_of(&bad_days, "days = 400")
            )
        );
        let bad_routing = DEFAULT_POLICY.replacen(
            "levels = { blue = \"village\", yellow = \"town\", red = \"county\" }",
            "levels = { blue = \"county\", yellow = \"town\", red = \"county\" }",
            1,
        );
        let err = Policy::from_toml(&bad_routing, &tax())
            .unwrap_err()
            .to_string();
        assert!(err.contains("levels must rise with the risk"), "{err}");
        assert!(
            err.starts_with(&format!(
                "policy file line {}",
                line_of(&bad_routing, "[routing]")
            )),
            "{err}"
        );
    }
}
