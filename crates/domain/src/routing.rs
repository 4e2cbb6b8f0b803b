//! Routing 归口分流: which body, at which level, should take a case.
//!
//! "小事不出村、大事不出镇、矛盾基本解决在县域、重大风险控制在市域": the risk
//! level gives the level (blue → the village, yellow → the town, red → the
//! county with a leader in charge); a case already escalated or under review
//! is routed at its own, higher level. Among the bodies of the case's
//! jurisdiction at that level, the one whose kind fits best and which takes
//! the category is proposed; if none takes it there, the next level up is
//! tried. A body that does not take the category is never proposed.

use crate::body::{Body, BodyKind};
use crate::case::{Case, CaseKind, RiskLevel};
use crate::jurisdiction::{JurisdictionTree, Level};
use crate::taxonomy::{CategoryCode, Taxonomy};
use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Proposal {
    pub body: Body,
    pub level: Level,
    /// Red cases get a leader in charge 领导包案.
    pub leader_in_charge: bool,
    /// Why, in words a clerk can check: level rule, then body choice.
    pub reasons: Vec<String>,
}

/// The routing table of the policy (`[routing]`): the level each risk level
/// is handled at, and which kinds of body are preferred, best first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingPolicy {
    /// 小事不出村、大事不出镇、矛盾基本解决在县域、重大风险控制在市域.
    pub levels: RiskLevels,
    /// Body kinds per case kind, best first. A kind not listed comes after
    /// all listed ones.
    pub prefer: PreferredBodies,
    /// Categories whose cases go to these kinds of body before the case
    /// kind's own order (a first-level code covers its sub-categories).
    #[serde(default)]
    pub category_first: Vec<CategoryPreference>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskLevels {
    pub blue: Level,
    pub yellow: Level,
    pub red: Level,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreferredBodies {
    pub dispute: Vec<BodyKind>,
    pub petition: Vec<BodyKind>,
    pub request: Vec<BodyKind>,
    pub hazard: Vec<BodyKind>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryPreference {
    pub category: CategoryCode,
    /// The case kinds it applies to; all kinds when absent.
    #[serde(default)]
    pub kinds: Option<Vec<CaseKind>>,
    pub bodies: Vec<BodyKind>,
}

impl RoutingPolicy {
    /// Checks what the types cannot: handling levels that rise with the
    /// risk, and categories the taxonomy knows.
    pub fn check(&self, taxonomy: &Taxonomy) -> Result<(), String> {
        let l = &self.levels;
        if [l.blue, l.yellow, l.red].contains(&Level::Grid) {
            return Err("routing: a grid is never a handling level".into());
        }
        // Levels order City < County < ...: a higher risk is a smaller level.
        if !(l.blue >= l.yellow && l.yellow >= l.red) {
            return Err("routing: levels must rise with the risk (blue ≤ yellow ≤ red)".into());
        }
        for p in &self.category_first {
            if taxonomy.get(&p.category).is_none() {
                return Err(format!("routing: unknown category {}", p.category));
            }
        }
        Ok(())
    }

    /// Preference among bodies of one level: lower is better. The
    /// category's own preference first, then the case kind's order.
    fn preference(&self, case: &Case, body: BodyKind) -> (usize, usize) {
        let first = self
            .category_first
            .iter()
            .filter(|p| p.category == case.category || p.category.as_str() == case.category.top())
            .filter(|p| p.kinds.as_ref().is_none_or(|k| k.contains(&case.kind)))
            .find_map(|p| p.bodies.iter().position(|k| *k == body));
        let order = match case.kind {
            CaseKind::Dispute => &self.prefer.dispute,
            CaseKind::Petition => &self.prefer.petition,
            CaseKind::Request => &self.prefer.request,
            CaseKind::Hazard => &self.prefer.hazard,
        };
        let own = order.iter().position(|k| *k == body).unwrap_or(usize::MAX);
        (first.unwrap_or(usize::MAX), own)
    }

    /// The level the rules route a case to, with the reason.
    pub fn target_level(&self, case: &Case) -> (Level, String) {
        let (colour, level) = match case.risk {
            RiskLevel::Blue => ("蓝色", self.levels.blue),
            RiskLevel::Yellow => ("黄色", self.levels.yellow),
            RiskLevel::Red => ("红色", self.levels.red),
        };
        // Levels order City < County < ...: the higher of the two is the smaller.
        if case.level < level {
            return (
                case.level,
                format!(
                    "事项已在{}层级办理（提级或复查），按该层级分流",
                    case.level.zh()
                ),
            );
        }
        let motto = match level {
            Level::City => "重大风险控制在市域",
            Level::County => "矛盾基本解决在县域",
            Level::Town => "大事不出镇",
            Level::Village | Level::Grid => "小事不出村",
        };
        let leader = if case.risk == RiskLevel::Red {
            "，领导包案"
        } else {
            ""
        };
        (
            level,
            format!("{colour}风险：{motto}，由{}化解{leader}", level.zh()),
        )
    }
}

pub fn propose<'a>(
    case: &Case,
    policy: &RoutingPolicy,
    tree: &JurisdictionTree,
    bodies: impl IntoIterator<Item = &'a Body>,
) -> Option<Proposal> {
    let bodies: Vec<&Body> = bodies
        .into_iter()
        .filter(|b| b.takes(&case.category))
        .collect();
    let (level, level_reason) = policy.target_level(case);
    let ancestry = tree.ancestry(&case.location.jurisdiction);
    // From the target level upwards; a grid's own level is never a target.
    let mut tried = Vec::new();
    for node in ancestry.iter().filter(|n| n.level <= level) {
        let best = bodies
            .iter()
            .filter(|b| b.jurisdiction == node.code)
            .min_by_key(|b| (policy.preference(case, b.kind), b.code.clone()));
        if let Some(b) = best {
            let mut reasons = vec![level_reason];
            if !tried.is_empty() {
                reasons.push(format!("{}无受理该类别的单位，上移一级", tried.join("、")));
            }
            reasons.push(format!("{}受理“{}”类事项", b.name, case.category));
            return Some(Proposal {
                body: (*b).clone(),
                level: node.level,
                leader_in_charge: case.risk == RiskLevel::Red,
                reasons,
            });
        }
        tried.push(node.name.clone());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::BodyCode;
    use crate::jurisdiction::{Jurisdiction, JurisdictionCode};

    fn j(code: &str, level: Level, parent: Option<&str>) -> Jurisdiction {
        Jurisdiction {
            code: JurisdictionCode::parse(code).unwrap(),
            name: format!("N{code}"),
            level,
            parent: parent.map(|p| JurisdictionCode::parse(p).unwrap()),
        }
    }

    fn b(code: &str, kind: BodyKind, at: &str, cats: &[&str]) -> Body {
        Body {
            code: BodyCode::parse(code).unwrap(),
            name: code.to_owned(),
            kind,
            jurisdiction: JurisdictionCode::parse(at).unwrap(),
            categories: cats
                .iter()
                .map(|c| CategoryCode::parse(c).unwrap())
                .collect(),
        }
    }

    fn case(category: &str, risk: RiskLevel, kind: CaseKind) -> Case {
        let json = serde_json::json!({
            "id": "01900000-0000-7000-8000-000000000001", "number": "2026-0000001", "receipt_code": "ABCDEFGH23",
            "kind": kind, "channel": "walk_in", "category": category, "title": "t", "description": "d",
            "location": {"jurisdiction": "341721100201"}, "people_involved": 1, "parties": [],
            "risk": risk, "level": "village", "stage": {"stage": "accepted"}, "conclusion": null,
            "follow_up": null, "review": null, "extensions_granted": 0, "supervision": {"count": 0, "listed": false},
            "leader": null, "repeats": [], "attachments": [], "mediation_sessions": 0, "escalations": 0,
            "registered_at": "2026-03-02T01:00:00Z", "registered_by": "x", "updated_at": "2026-03-02T01:00:00Z", "version": 2
        });
        serde_json::from_value(json).unwrap()
    }

    fn policy() -> RoutingPolicy {
        crate::policy::Policy::default_policy(&Taxonomy::default_taxonomy()).routing
    }

    fn world() -> (JurisdictionTree, Vec<Body>) {
        let tree = JurisdictionTree::build(
            [],
            [
                j("341700", Level::City, None),
                j("341721", Level::County, Some("341700")),
                j("341721100", Level::Town, Some("341721")),
                j("341721100201", Level::Village, Some("341721100")),
            ],
        )
        .unwrap();
        let bodies = vec![
            b(
                "V-MED",
                BodyKind::PeoplesMediation,
                "341721100201",
                &["neighbourhood", "marriage_family"],
            ),
            b(
                "T-MED",
                BodyKind::PeoplesMediation,
                "341721100",
                &["neighbourhood", "labour"],
            ),
            b(
                "T-POLICE",
                BodyKind::PoliceStation,
                "341721100",
                &["neighbourhood"],
            ),
            b("C-LABOUR", BodyKind::LabourMediation, "341721", &["labour"]),
            b(
                "C-PET",
                BodyKind::PetitionBureau,
                "341721",
                &["labour", "neighbourhood", "medical"],
            ),
        ];
        (tree, bodies)
    }

    #[test]
    fn small_matters_stay_in_the_village_and_bigger_ones_go_up() {
        let (tree, bodies) = world();
        let p = propose(
            &case("neighbourhood.noise", RiskLevel::Blue, CaseKind::Dispute),
            &policy(),
            &tree,
            &bodies,
        )
        .unwrap();
        assert_eq!((p.body.code.as_str(), p.level), ("V-MED", Level::Village));
        let p = propose(
            &case("neighbourhood.noise", RiskLevel::Yellow, CaseKind::Dispute),
            &policy(),
            &tree,
            &bodies,
        )
        .unwrap();
        assert_eq!(
            p.body.code.as_str(),
            "T-MED",
            "mediation is preferred over the police for disputes"
        );
        let p = propose(
            &case("labour.wage_arrears", RiskLevel::Red, CaseKind::Dispute),
            &policy(),
            &tree,
            &bodies,
        )
        .unwrap();
        assert_eq!(
            (p.body.code.as_str(), p.level, p.leader_in_charge),
            ("C-LABOUR", Level::County, true)
        );
        assert!(p.reasons[0].contains("领导包案"));
    }

    #[test]
    fn never_a_body_that_does_not_take_the_category() {
        let (tree, bodies) = world();
        // Nobody in the village takes labour: the town's committee does.
        let p = propose(
            &case("labour.wage_arrears", RiskLevel::Blue, CaseKind::Dispute),
            &policy(),
            &tree,
            &bodies,
        )
        .unwrap();
        assert_eq!(p.body.code.as_str(), "T-MED");
        assert!(
            p.reasons.iter().any(|r| r.contains("上移一级")),
            "{:?}",
            p.reasons
        );
        // Medical: only the petition bureau takes it, and only petitions prefer it.
        let p = propose(
            &case("medical.fees", RiskLevel::Blue, CaseKind::Dispute),
            &policy(),
            &tree,
            &bodies,
        )
        .unwrap();
        assert!(p.body.takes(&CategoryCode::parse("medical.fees").unwrap()));
        assert!(propose(
            &case("traffic.compensation", RiskLevel::Blue, CaseKind::Dispute),
            &policy(),
            &tree,
            &bodies
        )
        .is_none());
    }
}
