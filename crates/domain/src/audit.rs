//! The security log 审计: who signed in or failed to, used a token, was
//! refused, saw personal data in full, exported, erased, or changed users
//! and policy. Entries are append-only and hash-chained like case
//! histories, so the auditor can verify that none was removed or altered.
//!
//! An entry names fields, never their values: no ID number, phone or name
//! ever enters it (the log outlives erasure).

use crate::case::CaseId;
use crate::clock::Timestamp;
use crate::party::PersonalFieldKind;
use serde::{Deserialize, Serialize};

string_enum!(
    /// What happened.
    AuditAction {
        SignIn = "sign_in" / "登录",
        SignInFailed = "sign_in_failed" / "登录失败",
        SignInThrottled = "sign_in_throttled" / "登录受限",
        SignOut = "sign_out" / "退出",
        TokenCreated = "token_created" / "创建令牌",
        TokenRevoked = "token_revoked" / "吊销令牌",
        TokenUsed = "token_used" / "使用令牌",
        PermissionDenied = "permission_denied" / "越权访问被拒",
        PersonalDataViewed = "personal_data_viewed" / "查看完整个人信息",
        CaseExported = "case_exported" / "导出事项",
        PersonalDataErased = "personal_data_erased" / "删除个人信息",
        UserAdded = "user_added" / "新增用户",
        UserChanged = "user_changed" / "修改用户",
        ReferenceChanged = "reference_changed" / "修改基础数据",
        PolicyLoaded = "policy_loaded" / "加载规则",
        CitizenLookupFailed = "citizen_lookup_failed" / "群众查询失败",
    }
);

/// One entry as recorded. Its canonical JSON is what is hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub at: Timestamp,
    /// `staff:NAME`, `token:ID` (a token's owner is in `subject`),
    /// `citizen`, `cli`, or `anonymous`.
    pub actor: String,
    pub action: AuditAction,
    /// The account, token or other thing acted on, when it is not a case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<CaseId>,
    /// Which personal fields were seen or erased (names of fields only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<PersonalFieldKind>,
    /// Why, as the person gave it (a full view and an erasure need one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The client's address, for sign-ins and refusals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// What was refused or changed, in the system's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A reason written to the security log with a disclosure or an erasure:
/// 2–200 characters without control characters, trimmed.
pub fn recorded_reason(raw: &str) -> Option<&str> {
    let reason = raw.trim();
    let ok = (2..=200).contains(&reason.chars().count()) && !reason.chars().any(char::is_control);
    ok.then_some(reason)
}

impl AuditEntry {
    pub fn new(at: Timestamp, actor: impl Into<String>, action: AuditAction) -> Self {
        Self {
            at,
            actor: actor.into(),
            action,
            subject: None,
            case_id: None,
            fields: Vec::new(),
            reason: None,
            address: None,
            detail: None,
        }
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    pub fn case(mut self, id: CaseId) -> Self {
        self.case_id = Some(id);
        self
    }

    /// One party of a case: the case, and the party as the subject.
    pub fn party(self, id: CaseId, party_no: u32) -> Self {
        self.case(id).subject(format!("party:{party_no}"))
    }

    pub fn fields(mut self, fields: Vec<PersonalFieldKind>) -> Self {
        self.fields = fields;
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn address(mut self, address: Option<String>) -> Self {
        self.address = address;
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}
