//! Property tests of the state machine: random command sequences never reach
//! an inconsistent case, and replaying the events always rebuilds it.

use jiefen_domain::body::{Body, BodyCode, BodyKind};
use jiefen_domain::case::*;
use jiefen_domain::jurisdiction::{Jurisdiction, JurisdictionCode, Level};
use jiefen_domain::lifecycle::*;
use jiefen_domain::party::{NewParty, PartyKind, PartyRole};
use jiefen_domain::taxonomy::{CategoryCode, Taxonomy};
use jiefen_domain::{Text, Timestamp};
use proptest::prelude::*;

struct Refs {
    tax: Taxonomy,
    rules: jiefen_domain::policy::Rules,
    town: Jurisdiction,
    body: Body,
}

impl Reference for Refs {
    fn jurisdiction(&self, code: &JurisdictionCode) -> Option<&Jurisdiction> {
        (code == &self.town.code).then_some(&self.town)
    }
    fn body(&self, code: &BodyCode) -> Option<&Body> {
        (code == &self.body.code).then_some(&self.body)
    }
    fn taxonomy(&self) -> &Taxonomy {
        &self.tax
    }
    fn rules_at(&self, _: &JurisdictionCode) -> &jiefen_domain::policy::Rules {
        &self.rules
    }
    fn propose_route(
        &self,
        case: &jiefen_domain::Case,
    ) -> Option<jiefen_domain::routing::Proposal> {
        let node = |code: &str, name: &str, level, parent: Option<&str>| Jurisdiction {
            code: JurisdictionCode::parse(code).unwrap(),
            name: name.into(),
            level,
            parent: parent.map(|p| JurisdictionCode::parse(p).unwrap()),
        };
        let tree = jiefen_domain::jurisdiction::JurisdictionTree::build(
            [
                node("341700", "池州市", Level::City, None),
                node("341721", "东至县", Level::County, Some("341700")),
                self.town.clone(),
            ],
            [],
        )
        .expect("a valid tree");
        jiefen_domain::routing::propose(case, &self.rules.policy.routing, &tree, [&self.body])
    }
}

fn refs() -> Refs {
    let town = JurisdictionCode::parse("341721100").unwrap();
    let tax = Taxonomy::default_taxonomy();
    Refs {
        rules: jiefen_domain::policy::Rules::defaults(&tax),
        tax,
        town: Jurisdiction {
            code: town.clone(),
            name: "尧渡镇".into(),
            level: Level::Town,
            parent: Some(JurisdictionCode::parse("341721").unwrap()),
        },
        body: Body {
            code: BodyCode::parse("yaodu-tiaojie").unwrap(),
            name: "尧渡镇人民调解委员会".into(),
            kind: BodyKind::PeoplesMediation,
            jurisdiction: town,
            categories: vec![CategoryCode::parse("neighbourhood").unwrap()],
        },
    }
}

fn t(s: &str) -> Text {
    Text::parse(s).unwrap()
}

fn new_case() -> NewCase {
    NewCase {
        kind: CaseKind::Dispute,
        channel: Channel::WalkIn,
        category: CategoryCode::parse("neighbourhood.boundary").unwrap(),
        title: t("邻居建房挡住通道"),
        description: t("申请人称邻居新建围墙占用了共用通道，双方多次争吵。"),
        jurisdiction: JurisdictionCode::parse("341721100").unwrap(),
        address: None,
        coordinates: None,
        people_involved: 2,
        parties: vec![NewParty {
            role: PartyRole::Applicant,
            kind: PartyKind::Person,
            name: t("王五"),
            id_number: None,
            phone: None,
            address: None,
        }],
        risk: None,
        suggestions: None,
    }
}

fn start() -> Timestamp {
    Timestamp::parse("2026-03-02T01:00:00Z").unwrap()
}

fn registered(refs: &Refs) -> (Case, Vec<Event>) {
    let minted = Minted {
        id: CaseId(uuid::Uuid::from_u128(7)),
        number: "2026-00000001".into(),
        receipt_code: "ABCD2345".into(),
    };
    let mut n = 0u8;
    let (event, _) = register(
        &new_case(),
        minted,
        Actor::parse("clerk").unwrap(),
        start(),
        refs,
        &mut || {
            n += 1;
            [n; 16]
        },
        Vec::new(),
    )
    .unwrap();
    let case = apply(None, &event).unwrap();
    (case, vec![event])
}

fn arb_command() -> impl Strategy<Value = (Command, i64)> {
    let cmd = prop_oneof![
        Just(Command::Accept { note: None }),
        Just(Command::Decline {
            reason: t("不属于受理范围")
        }),
        (0i64..40).prop_map(|d| Command::Assign {
            body: BodyCode::parse("yaodu-tiaojie").unwrap(),
            // Relative days are resolved against the clock in the test loop;
            // 0 leaves the deadline to the policy.
            due_at: (d > 0).then(|| Timestamp::from_unix_millis(d)),
            complexity: None,
            reason: None,
        }),
        Just(Command::SignFor {}),
        Just(Command::Return {
            reason: t("不属本单位职责")
        }),
        Just(Command::Note {
            text: t("电话联系当事人")
        }),
        Just(Command::Pause {
            reason: t("等待鉴定结果")
        }),
        Just(Command::Resume { note: None }),
        (0u32..40).prop_map(|days| Command::RequestExtension {
            days,
            reason: t("案情复杂")
        }),
        Just(Command::ApproveExtension { note: None }),
        Just(Command::RejectExtension {
            reason: t("理由不充分")
        }),
        Just(Command::Conclude {
            outcome: Outcome::Mediated,
            summary: t("双方达成协议"),
            agreement: Some(Agreement {
                text: t("围墙后退一米"),
                judicial_confirmation: false
            }),
        }),
        Just(Command::Conclude {
            outcome: Outcome::Mediated,
            summary: t("x"),
            agreement: None
        }),
        Just(Command::Conclude {
            outcome: Outcome::Answered,
            summary: t("已答复"),
            agreement: None
        }),
        Just(Command::FollowUp {
            satisfaction: Satisfaction::Dissatisfied,
            note: None
        }),
        Just(Command::FollowUp {
            satisfaction: Satisfaction::Satisfied,
            note: None
        }),
        Just(Command::RequestReview {
            reason: t("对结果不满意")
        }),
        Just(Command::Escalate {
            reason: t("久拖不决")
        }),
        Just(Command::Supervise {
            listed: true,
            note: t("挂牌督办")
        }),
        Just(Command::AssignLeader {
            leader: t("李镇长"),
            note: None
        }),
        Just(Command::Merge {
            into: CaseId(uuid::Uuid::from_u128(9)),
            reason: t("重复件")
        }),
        Just(Command::Merge {
            into: CaseId(uuid::Uuid::from_u128(7)),
            reason: t("自身")
        }),
        Just(Command::Refer {
            agency: t("县人民法院"),
            reason: t("已起诉")
        }),
        Just(Command::Archive { note: None }),
        Just(Command::SetRisk {
            level: RiskLevel::Red,
            reason: t("扬言极端")
        }),
        Just(Command::LinkRepeat {
            repeat: CaseId(uuid::Uuid::from_u128(11))
        }),
    ];
    (cmd, 0i64..72)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_commands_keep_the_case_consistent_and_replayable(
        commands in proptest::collection::vec(arb_command(), 0..60)
    ) {
        let refs = refs();
        let (mut case, mut events) = registered(&refs);
        let actor = Actor::parse("handler").unwrap();
        let mut now = start();
        for (command, hours) in commands {
            now = now.plus(time::Duration::hours(hours));
            let command = match command {
                Command::Assign { body, due_at, complexity, reason } => Command::Assign {
                    body,
                    due_at: due_at.map(|d| now.plus(time::Duration::days(d.unix_millis()))),
                    complexity,
                    reason,
                },
                other => other,
            };
            let before = case.clone();
            match decide(&case, &command, &actor, now, &refs) {
                Ok(event) => {
                    // What the case page offers covers every action that
                    // would be accepted: nothing possible is hidden.
                    prop_assert!(
                        jiefen_domain::lifecycle::open_actions(&case).contains(&command.action()),
                        "{} accepted in {} but not offered", command.name(), case.state()
                    );
                    prop_assert_eq!(event.seq, case.version + 1);
                    case = apply(Some(case), &event).expect("decided events always apply");
                    events.push(event);
                }
                Err(e) => {
                    prop_assert_eq!(&case, &before, "a refusal changes nothing");
                    // A refusal for the state is exactly the table's.
                    let by_table = !command.action().allowed_in(case.state());
                    let illegal = matches!(e, jiefen_domain::TransitionError::IllegalTransition { .. });
                    prop_assert_eq!(illegal, by_table, "{}: {:?}", command.name(), e);
                }
            }
            prop_assert!(case.check_invariants().is_ok(), "{:?}", case.check_invariants());
            // The deadline engine, run at this instant, settles in a few
            // steps and leaves the case with its next look strictly later:
            // what makes a tick finite and never fire the same step twice.
            let mut steps = 0;
            while let Some(kind) = jiefen_domain::escalation::step(&case, now, &refs.rules) {
                steps += 1;
                prop_assert!(steps <= 16, "the engine does not settle: {:?}", kind);
                let e = Event {
                    case_id: case.id,
                    seq: case.version + 1,
                    at: now,
                    actor: Actor::parse(jiefen_domain::escalation::ENGINE_ACTOR).unwrap(),
                    kind,
                };
                case = apply(Some(case), &e).expect("engine events apply");
                events.push(e);
                prop_assert!(case.check_invariants().is_ok(), "{:?}", case.check_invariants());
            }
            if let Some(next) = jiefen_domain::escalation::next_check(&case, &refs.rules.policy.escalation) {
                prop_assert!(next > now, "next look {next} is not after {now}");
            }
        }
        let rebuilt = replay(&events).unwrap().unwrap();
        prop_assert_eq!(&rebuilt, &case);
        // Events survive their stored JSON form unchanged.
        let json = serde_json::to_string(&events).unwrap();
        let back: Vec<Event> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(replay(&back).unwrap().unwrap(), case);
    }
}

#[test]
fn the_full_mediated_life_of_a_case() {
    let refs = refs();
    let (mut case, _) = registered(&refs);
    let actor = Actor::parse("mediator").unwrap();
    let mut now = start();
    let mut step = |case: &mut Case, cmd: Command| {
        now = now.plus(time::Duration::hours(1));
        let e = decide(case, &cmd, &actor, now, &refs).unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        *case = apply(Some(case.clone()), &e).unwrap();
    };
    step(&mut case, Command::Accept { note: None });
    step(
        &mut case,
        Command::Assign {
            body: BodyCode::parse("yaodu-tiaojie").unwrap(),
            due_at: None,
            complexity: None,
            reason: None,
        },
    );
    step(&mut case, Command::SignFor {});
    step(
        &mut case,
        Command::MediationSession {
            held_at: start(),
            mediators: vec![t("陈调解员")],
            place: None,
            summary: t("第一次调解"),
        },
    );
    step(
        &mut case,
        Command::Pause {
            reason: t("等待测量"),
        },
    );
    assert_eq!(case.state(), CaseState::Paused);
    step(&mut case, Command::Resume { note: None });
    // Assigned at 11:00 Beijing time on 2 March: the policy gives a
    // dispute 30 days, to the end of 1 April. A statutory deadline counts
    // pauses in whole days: an hour's pause within one day costs none.
    let assignment = case.stage.assignment().unwrap();
    let explained = assignment
        .deadline
        .as_ref()
        .expect("the policy set the deadline");
    assert_eq!(
        explained.text_zh(),
        "自2026-03-02受理起30日，至2026-04-01届满"
    );
    assert_eq!(
        assignment.due_at,
        Timestamp::parse("2026-04-01T15:59:59.999Z").unwrap(),
        "end of 1 April in Beijing"
    );
    step(
        &mut case,
        Command::Conclude {
            outcome: Outcome::Mediated,
            summary: t("调解成功"),
            agreement: Some(Agreement {
                text: t("围墙后退一米，费用各半"),
                judicial_confirmation: true,
            }),
        },
    );
    step(
        &mut case,
        Command::FollowUp {
            satisfaction: Satisfaction::Satisfied,
            note: None,
        },
    );
    step(&mut case, Command::Archive { note: None });
    assert_eq!(case.state(), CaseState::Archived);
    assert!(case.conclusion.as_ref().unwrap().on_time);
    assert_eq!(case.mediation_sessions, 1);
}

#[test]
fn illegal_transitions_are_typed_errors() {
    let refs = refs();
    let (case, _) = registered(&refs);
    let actor = Actor::parse("x").unwrap();
    let err = decide(&case, &Command::SignFor {}, &actor, start(), &refs).unwrap_err();
    assert_eq!(
        err,
        TransitionError::IllegalTransition {
            action: "sign_for",
            state: CaseState::Registered
        }
    );
    assert_eq!(err.to_string(), "cannot sign_for a case that is registered");
}

#[test]
fn commands_parse_strictly() {
    let ok: Command =
        serde_json::from_str(r#"{"type":"decline","reason":"不属于受理范围"}"#).unwrap();
    assert_eq!(ok.name(), "decline");
    assert!(
        serde_json::from_str::<Command>(r#"{"type":"decline","reason":"x","extra":1}"#).is_err()
    );
    assert!(serde_json::from_str::<Command>(r#"{"type":"decline","reason":"  "}"#).is_err());
    assert!(serde_json::from_str::<Command>(
        r#"{"type":"link_repeat","repeat":"00000000-0000-0000-0000-000000000001"}"#
    )
    .is_err());
}
