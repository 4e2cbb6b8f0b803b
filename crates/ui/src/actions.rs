//! The forms of the actions a user may take on a case now: those the case
//! can take in its state ([`open_actions`]) that the user's role may give,
//! and no others. Each form names the API command's fields, so the script
//! posts exactly the command the API documents.

use crate::i18n::Tr;
use jiefen_domain::access::Role;
use jiefen_domain::case::{Case, Outcome, RiskLevel, Satisfaction};
use jiefen_domain::lifecycle::{open_actions, Action, Reference};
use jiefen_domain::policy::Complexity;
use jiefen_domain::Timestamp;
use jiefen_store::refdata::RefData;

/// How a field is entered, and so how the script reads it.
pub enum Input {
    Line,
    Text,
    /// A moment, entered in China Standard Time.
    When,
    /// One item per line, sent as a list.
    List,
    Days,
    Check,
    Choice(Vec<(String, String)>),
}

pub struct Field {
    /// The command's JSON field (`agreement.text` is nested).
    pub name: &'static str,
    pub label: String,
    pub input: Input,
    pub required: bool,
    pub value: String,
    /// Shown and sent only when another field has a value: (field, value).
    pub when: Option<(&'static str, &'static str)>,
}

impl Field {
    pub fn kind(&self) -> &'static str {
        match self.input {
            Input::Line => "line",
            Input::Text => "text",
            Input::When => "when",
            Input::List => "list",
            Input::Days => "days",
            Input::Check => "check",
            Input::Choice(_) => "choice",
        }
    }

    pub fn choices(&self) -> &[(String, String)] {
        match &self.input {
            Input::Choice(c) => c,
            _ => &[],
        }
    }

    pub fn when_field(&self) -> &str {
        self.when.map(|w| w.0).unwrap_or_default()
    }

    pub fn when_value(&self) -> &str {
        self.when.map(|w| w.1).unwrap_or_default()
    }

    pub fn id(&self, action: &str) -> String {
        format!("{action}-{}", self.name.replace('.', "-"))
    }
}

pub struct ActionForm {
    pub action: &'static str,
    pub label: String,
    pub fields: Vec<Field>,
    /// Open on arrival: the step the case waits for.
    pub primary: bool,
}

/// The value of a `datetime-local` input for `t`, in China Standard Time.
pub fn local_input(t: Timestamp) -> String {
    crate::case::local_time(t).replacen(' ', "T", 1)
}

/// The forms for `role` on `case` as it stands at `now`.
pub fn forms(t: &Tr, case: &Case, role: Role, refs: &RefData, now: Timestamp) -> Vec<ActionForm> {
    open_actions(case)
        .into_iter()
        // Attachments have their own upload; links are made by merging.
        .filter(|a| !matches!(a, Action::AddAttachment | Action::LinkRepeat))
        .filter(|a| role.may_take(*a))
        .map(|a| {
            let fields = fields_of(t, a, case, refs, now);
            ActionForm {
                action: a.as_str(),
                label: t.of("action", a.as_str()),
                primary: matches!(
                    a,
                    Action::Accept
                        | Action::Assign
                        | Action::SignFor
                        | Action::MediationSession
                        | Action::FollowUp
                ),
                fields,
            }
        })
        .collect()
}

/// Each value by its serialised name (what the API takes) and its label.
fn choices<T: Copy + serde::Serialize>(t: &Tr, group: &str, all: &[T]) -> Input {
    Input::Choice(
        all.iter()
            .map(|v| {
                let code = crate::case::code(*v);
                let label = t.of(group, &code);
                (code, label)
            })
            .collect(),
    )
}

fn fields_of(t: &Tr, action: Action, case: &Case, refs: &RefData, now: Timestamp) -> Vec<Field> {
    let f = |name: &'static str, input: Input, required: bool| Field {
        name,
        label: t.of("field", name),
        input,
        required,
        value: String::new(),
        when: None,
    };
    let reason = || vec![f("reason", Input::Text, true)];
    let note = || vec![f("note", Input::Text, false)];
    match action {
        Action::Accept | Action::Resume | Action::ApproveExtension | Action::Archive => note(),
        Action::Decline
        | Action::Return
        | Action::Pause
        | Action::RejectExtension
        | Action::RequestReview
        | Action::Escalate => reason(),
        Action::SignFor | Action::LinkRepeat | Action::AddAttachment => vec![],
        Action::Note => vec![f("text", Input::Text, true)],
        Action::Assign => {
            let proposal = refs.propose_route(case);
            let within: Vec<_> = refs
                .tree
                .ancestry(&case.location.jurisdiction)
                .into_iter()
                .map(|j| j.code.clone())
                .collect();
            let mut bodies: Vec<_> = refs
                .bodies
                .values()
                .filter(|b| b.takes(&case.category) && within.contains(&b.jurisdiction))
                .collect();
            bodies.sort_by(|a, b| a.code.cmp(&b.code));
            let mut body = f(
                "body",
                Input::Choice(
                    bodies
                        .iter()
                        .map(|b| (b.code.to_string(), b.name.clone()))
                        .collect(),
                ),
                true,
            );
            if let Some(p) = &proposal {
                body.value = p.body.code.to_string();
            }
            let complexity = f(
                "complexity",
                choices(
                    t,
                    "complexity",
                    &[
                        Complexity::Simple,
                        Complexity::Ordinary,
                        Complexity::Complex,
                    ],
                ),
                false,
            );
            vec![body, complexity, f("reason", Input::Line, false)]
        }
        Action::MediationSession => {
            let mut held = f("held_at", Input::When, true);
            held.value = local_input(now);
            vec![
                held,
                f("mediators", Input::List, true),
                f("place", Input::Line, false),
                f("summary", Input::Text, true),
            ]
        }
        Action::RequestExtension => {
            vec![f("days", Input::Days, true), f("reason", Input::Text, true)]
        }
        Action::Conclude => {
            let when = Some(("outcome", Outcome::Mediated.as_str()));
            vec![
                f("outcome", choices(t, "outcome", Outcome::ALL), true),
                f("summary", Input::Text, true),
                Field {
                    when,
                    ..f("agreement.text", Input::Text, true)
                },
                Field {
                    when,
                    ..f("agreement.judicial_confirmation", Input::Check, false)
                },
            ]
        }
        Action::FollowUp => vec![
            f(
                "satisfaction",
                choices(t, "satisfaction", Satisfaction::ALL),
                true,
            ),
            f("note", Input::Text, false),
        ],
        Action::Supervise => vec![
            f("listed", Input::Check, false),
            f("note", Input::Text, true),
        ],
        Action::AssignLeader => vec![
            f("leader", Input::Line, true),
            f("note", Input::Text, false),
        ],
        Action::Merge => vec![f("into", Input::Line, true), f("reason", Input::Text, true)],
        Action::Refer => vec![
            f("agency", Input::Line, true),
            f("reason", Input::Text, true),
        ],
        Action::SetRisk => {
            let mut level = f("level", choices(t, "risk", RiskLevel::ALL), true);
            level.value = case.risk.as_str().to_owned();
            vec![level, f("reason", Input::Text, true)]
        }
    }
}
