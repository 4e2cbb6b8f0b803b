//! Who may do what, and where. Roles are separated (DOMAIN: intake clerk,
//! handler, centre supervisor, leader, grid worker, assessor, administrator,
//! auditor); each staff account belongs to one jurisdiction node and sees only
//! its subtree, a handler only its body's cases. The administrator runs the
//! system without reading case content; the auditor reads the audit log and
//! nothing personal.
//!
//! This module is the one statement of those rules: the web layer asks
//! [`Staff::may`] for every endpoint and [`Staff::case_scope`] for every
//! read, and the authorisation test matrix is checked against the same
//! design written out independently.

use crate::body::BodyCode;
use crate::inbox::Recipient;
use crate::jurisdiction::{JurisdictionCode, JurisdictionTree};
use crate::lifecycle::{Action, Command};
use serde::{Deserialize, Serialize};
use std::fmt;

string_enum!(
    /// A staff member's job, which fixes what they may do.
    Role {
        IntakeClerk = "intake_clerk" / "登记员",
        Handler = "handler" / "承办人（调解员）",
        Supervisor = "supervisor" / "中心主管",
        Leader = "leader" / "领导",
        GridWorker = "grid_worker" / "网格员",
        Assessor = "assessor" / "评估人员",
        Administrator = "administrator" / "系统管理员",
        Auditor = "auditor" / "审计员",
    }
);

string_enum!(
    /// What a request does. Every endpoint names exactly one.
    Function {
        ReadCases = "read_cases" / "查阅事项",
        RegisterCase = "register_case" / "登记事项",
        ActOnCase = "act_on_case" / "办理事项",
        ViewPersonalData = "view_personal_data" / "查看完整个人信息",
        ExportCase = "export_case" / "导出事项",
        ErasePersonalData = "erase_personal_data" / "删除个人信息",
        ReadInbox = "read_inbox" / "查看待办",
        RunEngine = "run_engine" / "运行期限引擎",
        ReadReference = "read_reference" / "查看基础数据",
        ManageReference = "manage_reference" / "维护基础数据",
        ManageUsers = "manage_users" / "管理用户和令牌",
        ReadAudit = "read_audit" / "查阅审计记录",
        ReadLog = "read_log" / "查看存证日志",
        SignCheckpoint = "sign_checkpoint" / "签署日志检查点",
    }
);

impl Role {
    /// The permission table. Written as a match on the role so that adding
    /// a role or a function does not compile until its row is decided.
    pub fn may(self, f: Function) -> bool {
        use Function as F;
        match self {
            Role::IntakeClerk => matches!(
                f,
                F::ReadCases
                    | F::RegisterCase
                    | F::ActOnCase
                    | F::ViewPersonalData
                    | F::ReadInbox
                    | F::ReadReference
                    | F::ReadLog
            ),
            Role::Handler => matches!(
                f,
                F::ReadCases
                    | F::ActOnCase
                    | F::ViewPersonalData
                    | F::ReadInbox
                    | F::ReadReference
                    | F::ReadLog
            ),
            Role::Supervisor => matches!(
                f,
                F::ReadCases
                    | F::RegisterCase
                    | F::ActOnCase
                    | F::ViewPersonalData
                    | F::ExportCase
                    | F::ErasePersonalData
                    | F::ReadInbox
                    | F::ReadReference
                    | F::ReadLog
            ),
            Role::Leader => matches!(
                f,
                F::ReadCases | F::ActOnCase | F::ReadInbox | F::ReadReference | F::ReadLog
            ),
            Role::GridWorker => matches!(
                f,
                F::ReadCases
                    | F::RegisterCase
                    | F::ActOnCase
                    | F::ReadInbox
                    | F::ReadReference
                    | F::ReadLog
            ),
            Role::Assessor => matches!(
                f,
                F::ReadCases | F::ReadInbox | F::ReadReference | F::ReadLog
            ),
            Role::Administrator => matches!(
                f,
                F::RunEngine
                    | F::ReadReference
                    | F::ManageReference
                    | F::ManageUsers
                    | F::ReadLog
                    | F::SignCheckpoint
            ),
            Role::Auditor => matches!(f, F::ReadAudit | F::ReadReference | F::ReadLog),
        }
    }

    /// Which case commands the role may give (within its scope).
    pub fn may_give(self, command: &Command) -> bool {
        self.may_take(command.action())
    }

    /// Which actions the role may take on cases (within its scope).
    pub fn may_take(self, action: Action) -> bool {
        use Action as A;
        if action == A::AddAttachment {
            return self.may_attach();
        }
        match self {
            Role::Supervisor => true,
            Role::IntakeClerk => matches!(
                action,
                A::Accept
                    | A::Decline
                    | A::Assign
                    | A::Note
                    | A::FollowUp
                    | A::RequestReview
                    | A::Escalate
                    | A::Merge
                    | A::Refer
                    | A::Archive
                    | A::SetRisk
                    | A::LinkRepeat
            ),
            Role::Handler => matches!(
                action,
                A::SignFor
                    | A::Return
                    | A::Note
                    | A::MediationSession
                    | A::Pause
                    | A::Resume
                    | A::RequestExtension
                    | A::Conclude
            ),
            Role::Leader => matches!(
                action,
                A::Note
                    | A::Escalate
                    | A::Supervise
                    | A::AssignLeader
                    | A::ApproveExtension
                    | A::RejectExtension
            ),
            Role::GridWorker => action == A::Note,
            Role::Assessor | Role::Administrator | Role::Auditor => false,
        }
    }

    /// Whether the role may attach files to cases (photos from the field,
    /// signed agreements), known before any file is received.
    pub fn may_attach(self) -> bool {
        matches!(
            self,
            Role::IntakeClerk | Role::Handler | Role::Supervisor | Role::GridWorker
        )
    }

    /// Whether the role belongs to a handling body (and only it).
    pub fn needs_body(self) -> bool {
        self == Role::Handler
    }
}

/// A staff login name: 1–32 characters of `a-z 0-9 . _ -`, starting with a
/// letter or digit. It is also the actor named on the events they record
/// and the `staff:NAME` inbox.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("a user name is 1–32 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")]
    Username,
    #[error("a handler belongs to a handling body; give --body")]
    HandlerWithoutBody,
    #[error("only a handler belongs to a handling body")]
    BodyWithoutHandler,
}

impl Username {
    pub fn parse(raw: &str) -> Result<Self, AccessError> {
        let s = raw.trim();
        let ok = (1..=32).contains(&s.len())
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(AccessError::Username)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = AccessError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a staff member works: a node, and for a handler the body. Built
/// only through [`Post::new`], so a handler always has a body and no one
/// else has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Post {
    role: Role,
    jurisdiction: JurisdictionCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<BodyCode>,
}

impl Post {
    pub fn new(
        role: Role,
        jurisdiction: JurisdictionCode,
        body: Option<BodyCode>,
    ) -> Result<Self, AccessError> {
        match (role.needs_body(), &body) {
            (true, None) => Err(AccessError::HandlerWithoutBody),
            (false, Some(_)) => Err(AccessError::BodyWithoutHandler),
            _ => Ok(Self {
                role,
                jurisdiction,
                body,
            }),
        }
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn jurisdiction(&self) -> &JurisdictionCode {
        &self.jurisdiction
    }

    pub fn body(&self) -> Option<&BodyCode> {
        self.body.as_ref()
    }
}

/// A signed-in staff member, as every request sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub username: Username,
    pub post: Post,
}

/// Which cases a staff member can see at all. The store turns it into
/// the filter every case read carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseScope {
    /// Cases located in this node's subtree.
    Subtree(JurisdictionCode),
    /// Cases this body handles or handled to conclusion.
    Body(BodyCode),
    /// No case content (administrator, auditor).
    Nothing,
}

impl Staff {
    pub fn role(&self) -> Role {
        self.post.role
    }

    pub fn may(&self, f: Function) -> bool {
        self.post.role.may(f)
    }

    pub fn case_scope(&self) -> CaseScope {
        if !self.may(Function::ReadCases) {
            return CaseScope::Nothing;
        }
        match &self.post.body {
            Some(body) => CaseScope::Body(body.clone()),
            None => CaseScope::Subtree(self.post.jurisdiction.clone()),
        }
    }

    /// Whether a case may be registered at `place`: inside one's subtree.
    pub fn may_register_at(&self, place: &JurisdictionCode, tree: &JurisdictionTree) -> bool {
        self.may(Function::RegisterCase) && tree.within(place, &self.post.jurisdiction)
    }

    /// Whose inbox one may read: one's own, one's body's, and (for centre
    /// staff) the centres of one's subtree.
    pub fn may_read_inbox(&self, recipient: &Recipient, tree: &JurisdictionTree) -> bool {
        if !self.may(Function::ReadInbox) {
            return false;
        }
        match recipient {
            Recipient::Staff(name) => name == self.username.as_str(),
            Recipient::Body(b) => self.post.body.as_ref() == Some(b),
            Recipient::Centre(c) => {
                self.is_centre_staff() && tree.within(c, &self.post.jurisdiction)
            }
        }
    }

    /// The inboxes that are one's own work: one's own, one's body's, and
    /// for centre staff the centre where one is posted (those below it
    /// belong to their own centres' staff).
    pub fn own_inboxes(&self) -> Vec<Recipient> {
        if !self.may(Function::ReadInbox) {
            return Vec::new();
        }
        let mut own = vec![Recipient::Staff(self.username.as_str().to_owned())];
        own.extend(self.post.body.clone().map(Recipient::Body));
        if self.is_centre_staff() {
            own.push(Recipient::Centre(self.post.jurisdiction.clone()));
        }
        own
    }

    fn is_centre_staff(&self) -> bool {
        matches!(
            self.role(),
            Role::IntakeClerk | Role::Supervisor | Role::Leader
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_plain_and_short() {
        assert!(Username::parse("clerk-01").is_ok());
        assert!(Username::parse("li.wei_2").is_ok());
        for bad in ["", "-lead", "Clerk", "张三", &"a".repeat(33), "a b"] {
            assert_eq!(Username::parse(bad), Err(AccessError::Username), "{bad}");
        }
    }

    #[test]
    fn a_handler_and_only_a_handler_has_a_body() {
        let j = JurisdictionCode::parse("341721").unwrap();
        let b = BodyCode::parse("yaodu").unwrap();
        assert_eq!(
            Post::new(Role::Handler, j.clone(), None),
            Err(AccessError::HandlerWithoutBody)
        );
        assert_eq!(
            Post::new(Role::Supervisor, j.clone(), Some(b.clone())),
            Err(AccessError::BodyWithoutHandler)
        );
        assert!(Post::new(Role::Handler, j, Some(b)).is_ok());
    }

    #[test]
    fn administrator_and_auditor_read_no_case_content() {
        for role in [Role::Administrator, Role::Auditor] {
            for f in [
                Function::ReadCases,
                Function::ViewPersonalData,
                Function::ExportCase,
                Function::ActOnCase,
            ] {
                assert!(!role.may(f), "{role} {f}");
            }
        }
        assert!(Role::Auditor.may(Function::ReadAudit));
        assert!(Role::ALL
            .iter()
            .filter(|r| r.may(Function::ReadAudit))
            .eq([&Role::Auditor]));
    }

    #[test]
    fn ones_own_inboxes_are_inboxes_one_may_read() {
        use crate::jurisdiction::{Jurisdiction, Level};
        let node = |code: &str, level, parent: Option<&str>| Jurisdiction {
            code: JurisdictionCode::parse(code).unwrap(),
            name: code.to_owned(),
            level,
            parent: parent.map(|p| JurisdictionCode::parse(p).unwrap()),
        };
        let tree = JurisdictionTree::build(
            [],
            [
                node("341700", Level::City, None),
                node("341721", Level::County, Some("341700")),
            ],
        )
        .unwrap();
        let county = JurisdictionCode::parse("341721").unwrap();
        for role in Role::ALL {
            let body = (*role == Role::Handler).then(|| BodyCode::parse("yaodu").unwrap());
            let staff = Staff {
                username: Username::parse("someone").unwrap(),
                post: Post::new(*role, county.clone(), body).unwrap(),
            };
            let own = staff.own_inboxes();
            assert!(
                own.iter().all(|r| staff.may_read_inbox(r, &tree)),
                "{role}: {own:?}"
            );
            let centre = Recipient::Centre(county.clone());
            assert_eq!(
                own.contains(&centre),
                staff.may_read_inbox(&centre, &tree),
                "{role}"
            );
            assert_eq!(own.is_empty(), !staff.may(Function::ReadInbox), "{role}");
        }
    }
}
