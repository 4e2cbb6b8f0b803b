//! Handling bodies 处置单位: who a case can be assigned to.

use crate::jurisdiction::JurisdictionCode;
use crate::taxonomy::CategoryCode;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct BodyCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("body code {0:?} must be 1–64 characters of letters, digits, '-' or '_'")]
    BadCode(String),
    #[error("body {0} must have a name")]
    EmptyName(String),
}

impl BodyCode {
    pub fn parse(raw: &str) -> Result<Self, BodyError> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(BodyError::BadCode(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BodyCode {
    type Error = BodyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<BodyCode> for String {
    fn from(value: BodyCode) -> Self {
        value.0
    }
}

impl fmt::Display for BodyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    /// 人民调解委员会, one per village and town.
    PeoplesMediation,
    /// 婚调委
    FamilyMediation,
    /// 医调委
    MedicalMediation,
    /// 物业纠纷调解
    PropertyMediation,
    /// 劳动争议调解
    LabourMediation,
    /// 交通事故调解
    TrafficMediation,
    /// 司法所
    JusticeOffice,
    /// 派出所 (警民联调)
    PoliceStation,
    /// 人民法庭 (诉前调解)
    PeoplesTribunal,
    /// 信访局
    PetitionBureau,
    /// 劳动监察
    LabourInspection,
    /// 法律援助中心
    LegalAid,
    /// 仲裁机构
    Arbitration,
    /// 政府部门 (for requests)
    GovernmentDepartment,
    /// 综治中心 itself, for matters it handles directly.
    Centre,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Body {
    pub code: BodyCode,
    pub name: String,
    pub kind: BodyKind,
    pub jurisdiction: JurisdictionCode,
    /// Categories it takes. A first-level code covers all its sub-categories.
    pub categories: Vec<CategoryCode>,
}

impl Body {
    pub fn takes(&self, category: &CategoryCode) -> bool {
        self.categories
            .iter()
            .any(|c| c == category || c.as_str() == category.top())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_level_category_covers_its_subcategories() {
        let body = Body {
            code: BodyCode::parse("B-1").unwrap(),
            name: "劳动争议调解委员会".into(),
            kind: BodyKind::LabourMediation,
            jurisdiction: JurisdictionCode::parse("341721").unwrap(),
            categories: vec![CategoryCode::parse("labour").unwrap()],
        };
        assert!(body.takes(&CategoryCode::parse("labour.wage_arrears").unwrap()));
        assert!(!body.takes(&CategoryCode::parse("medical.fees").unwrap()));
        assert!(BodyCode::parse("有中文").is_err());
    }
}
