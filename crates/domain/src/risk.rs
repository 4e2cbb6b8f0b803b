//! Red / yellow / blue risk 红黄蓝三色预警: a score from explicit, weighted
//! factors, each kept as a reason a person can read.

use crate::case::RiskLevel;
use crate::taxonomy::{CategoryCode, Taxonomy};
use serde::{Deserialize, Serialize};
use time::Date;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryWeight {
    pub category: CategoryCode,
    pub weight: u32,
}

/// The `[risk]` section of the policy file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RiskPolicy {
    pub yellow_at: u32,
    pub red_at: u32,
    pub collective_people: u32,
    pub collective_weight: u32,
    pub per_ten_people: u32,
    pub people_cap: u32,
    pub threat_weight: u32,
    pub threat_phrases: Vec<String>,
    pub vulnerable_weight: u32,
    pub elderly_age: u32,
    pub vulnerable_phrases: Vec<String>,
    pub money_threshold: u64,
    pub money_weight: u32,
    pub wage_arrears_weight: u32,
    pub per_repeat: u32,
    pub repeat_cap: u32,
    pub per_escalation: u32,
    #[serde(default)]
    pub category_base: Vec<CategoryWeight>,
}

impl RiskPolicy {
    pub fn level_for(&self, score: u32) -> RiskLevel {
        if score >= self.red_at {
            RiskLevel::Red
        } else if score >= self.yellow_at {
            RiskLevel::Yellow
        } else {
            RiskLevel::Blue
        }
    }

    /// What the policy loader reports (it adds the line).
    pub fn check(&self, taxonomy: &Taxonomy) -> Result<(), String> {
        if self.yellow_at == 0 || self.yellow_at >= self.red_at {
            return Err(format!(
                "risk: yellow_at ({}) must be above 0 and below red_at ({})",
                self.yellow_at, self.red_at
            ));
        }
        if self.collective_people < 2 {
            return Err("risk: collective_people must be at least 2".into());
        }
        for c in &self.category_base {
            if taxonomy.get(&c.category).is_none() {
                return Err(format!("risk: unknown category {}", c.category));
            }
        }
        if self
            .threat_phrases
            .iter()
            .chain(&self.vulnerable_phrases)
            .any(|p| p.trim().is_empty())
        {
            return Err("risk: phrases must not be blank".into());
        }
        Ok(())
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskFactor {
    Collective,
    People,
    Threat,
    Vulnerable,
    Money,
    WageArrears,
    Repeats,
    Escalations,
    Category,
    /// Staff set the level by hand, with a reason.
    Override,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskReason {
    pub factor: RiskFactor,
    pub weight: u32,
    /// Human-readable, Chinese first: what was found.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskAssessment {
    pub level: RiskLevel,
    pub score: u32,
    pub reasons: Vec<RiskReason>,
}

/// The facts risk is judged on. Birth dates come from parties' ID numbers
/// (read before the personal data is stored apart; never kept here).
#[derive(Debug, Clone)]
pub struct RiskFacts<'a> {
    pub category: &'a CategoryCode,
    pub text: &'a str,
    pub people_involved: u32,
    pub birth_dates: &'a [Date],
    pub repeats: u32,
    pub escalations: u32,
    pub today: Date,
}

/// The largest sum of money written in the text, in yuan: digits followed by
/// 元 or 万(元). Chinese numerals are left alone (rare in typed text).
pub fn money_in(text: &str) -> Option<u64> {
    let chars: Vec<char> = text.chars().collect();
    let mut best: Option<u64> = None;
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == ',' || chars[i] == '.') {
            i += 1;
        }
        let number: String = chars[start..i].iter().filter(|c| **c != ',').collect();
        let Ok(value) = number.parse::<f64>() else {
            continue;
        };
        let unit = match (chars.get(i), chars.get(i + 1)) {
            (Some('万'), _) => 10_000.0,
            (Some('元'), _) => 1.0,
            _ => continue,
        };
        let yuan = (value * unit) as u64;
        best = Some(best.map_or(yuan, |b| b.max(yuan)));
    }
    best
}

fn age_on(birth: Date, today: Date) -> i32 {
    let mut age = today.year() - birth.year();
    if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
        age -= 1;
    }
    age
}

pub fn assess(policy: &RiskPolicy, facts: &RiskFacts<'_>) -> RiskAssessment {
    let mut reasons = Vec::new();
    let mut add = |factor, weight: u32, detail: String| {
        if weight > 0 {
            reasons.push(RiskReason {
                factor,
                weight,
                detail,
            });
        }
    };
    let n = facts.people_involved;
    if n >= policy.collective_people {
        add(
            RiskFactor::Collective,
            policy.collective_weight,
            format!("涉及{n}人，属群体性事项"),
        );
        let extra = ((n / 10) * policy.per_ten_people).min(policy.people_cap);
        add(RiskFactor::People, extra, format!("涉及人数较多（{n}人）"));
    }
    let threats: Vec<&str> = policy
        .threat_phrases
        .iter()
        .filter(|p| facts.text.contains(p.as_str()))
        .map(String::as_str)
        .collect();
    if !threats.is_empty() {
        add(
            RiskFactor::Threat,
            policy.threat_weight,
            format!("言辞含有：{}", threats.join("、")),
        );
    }
    let mut vulnerable = Vec::new();
    for b in facts.birth_dates {
        let age = age_on(*b, facts.today);
        if age >= policy.elderly_age as i32 {
            vulnerable.push(format!("{age}岁老人"));
        } else if age < 18 {
            vulnerable.push(format!("未成年人（{age}岁）"));
        }
    }
    vulnerable.extend(
        policy
            .vulnerable_phrases
            .iter()
            .filter(|p| facts.text.contains(p.as_str()))
            .cloned(),
    );
    if !vulnerable.is_empty() {
        add(
            RiskFactor::Vulnerable,
            policy.vulnerable_weight,
            format!("涉及弱势群体：{}", vulnerable.join("、")),
        );
    }
    if let Some(yuan) = money_in(facts.text) {
        if yuan >= policy.money_threshold {
            add(
                RiskFactor::Money,
                policy.money_weight,
                format!("涉及金额约{yuan}元"),
            );
        }
    }
    if facts.category.as_str().starts_with("labour")
        && ["欠薪", "拖欠工资", "讨薪", "工资"]
            .iter()
            .any(|w| facts.text.contains(w))
    {
        add(
            RiskFactor::WageArrears,
            policy.wage_arrears_weight,
            "涉及拖欠工资".into(),
        );
    }
    for r in history_reasons(policy, facts.repeats, facts.escalations) {
        add(r.factor, r.weight, r.detail);
    }
    if let Some(c) = policy
        .category_base
        .iter()
        .filter(|c| &c.category == facts.category || c.category.as_str() == facts.category.top())
        .max_by_key(|c| c.weight)
    {
        add(
            RiskFactor::Category,
            c.weight,
            format!("类别{}基础风险", c.category),
        );
    }
    let score = reasons.iter().map(|r| r.weight).sum();
    RiskAssessment {
        level: policy.level_for(score),
        score,
        reasons,
    }
}

/// The factors that grow with a case's history: linked repeats and
/// escalations.
fn history_reasons(policy: &RiskPolicy, repeats: u32, escalations: u32) -> Vec<RiskReason> {
    let mut out = Vec::new();
    if repeats > 0 {
        out.push(RiskReason {
            factor: RiskFactor::Repeats,
            weight: (repeats * policy.per_repeat).min(policy.repeat_cap),
            detail: format!("重复反映{repeats}次"),
        });
    }
    if escalations > 0 {
        out.push(RiskReason {
            factor: RiskFactor::Escalations,
            weight: escalations * policy.per_escalation,
            detail: format!("已提级{escalations}次"),
        });
    }
    out.retain(|r| r.weight > 0);
    out
}

/// The risk of a case after new facts (linked repeats, escalations): the
/// factors read at registration stay as they were (the text and the ID
/// numbers they came from are not re-read), the history factors are
/// counted afresh. A staff override keeps its level and stays among the
/// reasons. `None` when nothing changes.
pub fn recompute(case: &crate::case::Case, policy: &RiskPolicy) -> Option<RiskAssessment> {
    let is_history = |f: RiskFactor| matches!(f, RiskFactor::Repeats | RiskFactor::Escalations);
    let mut reasons: Vec<RiskReason> = case
        .risk_reasons
        .iter()
        .filter(|r| !is_history(r.factor) && r.factor != RiskFactor::Override)
        .cloned()
        .collect();
    reasons.extend(history_reasons(
        policy,
        case.repeats.len() as u32,
        case.escalations,
    ));
    let score: u32 = reasons.iter().map(|r| r.weight).sum();
    let overrides: Vec<RiskReason> = case
        .risk_reasons
        .iter()
        .filter(|r| r.factor == RiskFactor::Override)
        .cloned()
        .collect();
    let level = if overrides.is_empty() {
        policy.level_for(score)
    } else {
        case.risk
    };
    reasons.extend(overrides);
    if level == case.risk && reasons == case.risk_reasons {
        return None;
    }
    Some(RiskAssessment {
        level,
        score,
        reasons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::parse_date;
    use crate::policy::Policy;

    fn policy() -> RiskPolicy {
        Policy::default_policy(&Taxonomy::default_taxonomy()).risk
    }

    fn facts<'a>(
        cat: &'a CategoryCode,
        text: &'a str,
        people: u32,
        births: &'a [Date],
    ) -> RiskFacts<'a> {
        RiskFacts {
            category: cat,
            text,
            people_involved: people,
            birth_dates: births,
            repeats: 0,
            escalations: 0,
            today: parse_date("2026-11-22").unwrap(),
        }
    }

    #[test]
    fn money_is_read_from_the_text() {
        assert_eq!(
            money_in("拖欠工资共计8.5万元，另有押金3000元"),
            Some(85_000)
        );
        assert_eq!(money_in("借款12,000元"), Some(12_000));
        assert_eq!(money_in("三栋2单元"), None);
    }

    #[test]
    fn a_quarrel_between_neighbours_is_blue() {
        let cat = CategoryCode::parse("neighbourhood.quarrel").unwrap();
        let a = assess(&policy(), &facts(&cat, "两家因排水沟堵塞发生口角", 2, &[]));
        assert_eq!((a.level, a.score), (RiskLevel::Blue, 0));
        assert!(a.reasons.is_empty());
    }

    #[test]
    fn unpaid_migrant_workers_are_yellow_and_a_threat_makes_them_red() {
        let cat = CategoryCode::parse("labour.migrant_wages").unwrap();
        let text = "8名农民工被拖欠工资共计12万元";
        let a = assess(&policy(), &facts(&cat, text, 8, &[]));
        let factors: Vec<_> = a.reasons.iter().map(|r| r.factor).collect();
        assert_eq!(
            factors,
            vec![
                RiskFactor::Collective,
                RiskFactor::Money,
                RiskFactor::WageArrears,
                RiskFactor::Category
            ]
        );
        assert_eq!(a.level, RiskLevel::Red, "30 + 15 + 15 + 15 = 75");
        let b = assess(&policy(), &facts(&cat, "工头拖欠工资3000元", 1, &[]));
        assert_eq!(
            (b.level, b.score),
            (RiskLevel::Yellow, 30),
            "wages 15 + category 15"
        );
        let c = assess(
            &policy(),
            &facts(&cat, "工头拖欠工资3000元，扬言要跳楼", 1, &[]),
        );
        assert_eq!(c.level, RiskLevel::Red);
        assert!(c
            .reasons
            .iter()
            .any(|r| r.detail.contains("扬言") && r.detail.contains("跳楼")));
    }

    #[test]
    fn elderly_parties_count_from_their_birth_dates() {
        let cat = CategoryCode::parse("marriage_family.support").unwrap();
        let births = [
            parse_date("1948-03-01").unwrap(),
            parse_date("1990-01-01").unwrap(),
        ];
        let a = assess(&policy(), &facts(&cat, "赡养费纠纷", 2, &births));
        assert_eq!(a.reasons.len(), 1);
        assert!(
            a.reasons[0].detail.contains("78岁老人"),
            "{}",
            a.reasons[0].detail
        );
    }
}
