//! The rules that run the centre, through the ledger, on every backend:
//! the deadline engine (signals, the escalation ladder, restarts, catch-up),
//! statutory deadlines with pauses and extensions, inboxes, repeats by
//! identity and the routing record. Time moves by an injected clock.

#[macro_use]
mod common;
use common::*;
use jiefen_domain::inbox::{NoticeKind, Recipient};
use jiefen_domain::policy::Complexity;
use jiefen_store::{InboxQuery, ManualClock, UnreadCounts};

const HANDLER: &str = "handler-li";

async fn register(ledger: &Ledger, new: NewCase) -> CaseId {
    ledger.create(new, actor(), None).await.unwrap().case_id
}

async fn assigned(ledger: &Ledger, due: Option<Timestamp>) -> CaseId {
    let id = register(ledger, dispute("341721100201")).await;
    for c in [
        Command::Accept { note: None },
        Command::Assign {
            body: BodyCode::parse("yaodu").unwrap(),
            due_at: due,
            complexity: None,
            reason: None,
        },
    ] {
        ledger.act(id, c, actor(), None).await.unwrap();
    }
    ledger
        .act(
            id,
            Command::SignFor {},
            Actor::parse(HANDLER).unwrap(),
            None,
        )
        .await
        .unwrap();
    id
}

async fn kinds(ledger: &Ledger, id: CaseId) -> Vec<String> {
    ledger
        .history(id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

async fn inbox_kinds(ledger: &Ledger, recipient: &str) -> Vec<NoticeKind> {
    let (items, _) = ledger
        .inbox(&InboxQuery {
            recipient: Recipient::parse(recipient).unwrap(),
            unread_only: false,
            kind: None,
            before: None,
            cases: Vec::new(),
            limit: 100,
        })
        .await
        .unwrap();
    let mut kinds: Vec<NoticeKind> = items.into_iter().map(|i| i.kind).collect();
    kinds.reverse();
    kinds
}

async fn unread_by_kind(ledger: &Ledger, recipient: &Recipient) -> Vec<(String, u64)> {
    let query = InboxQuery {
        recipient: recipient.clone(),
        unread_only: true,
        kind: None,
        before: None,
        cases: Vec::new(),
        limit: 10,
    };
    let counted = ledger.inbox(&query).await.unwrap().1;
    assert!(!counted.more(), "a test's inbox is small: {counted:?}");
    counted
        .by_kind()
        .iter()
        .map(|(kind, n)| (kind.as_str().to_owned(), *n))
        .collect()
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

async fn escalation_ladder(db: Db) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(&db, clock.clone()).await;
    let id = assigned(&ledger, Some(start().plus(Duration::days(10)))).await;
    assert_eq!(
        ledger.tick(100).await.unwrap().examined,
        0,
        "no case has reached its watch time: the tick touches none"
    );

    // 20% of ten days is left after eight: due soon.
    clock.advance(Duration::days(9));
    let r = ledger.tick(100).await.unwrap();
    assert_eq!((r.examined, r.signal_changes, r.escalations), (1, 1, 0));
    assert_eq!(kinds(&ledger, id).await.last().unwrap(), "signal_changed");
    assert_eq!(ledger.tick(100).await.unwrap().examined, 0);
    assert_eq!(
        inbox_kinds(&ledger, "body:yaodu").await,
        vec![NoticeKind::NewAssignment, NoticeKind::DueSoon]
    );
    assert_eq!(
        inbox_kinds(&ledger, &format!("staff:{HANDLER}")).await,
        vec![NoticeKind::DueSoon]
    );

    // Overdue: handler, body and the owning centre's supervisor hear of it.
    clock.advance(Duration::days(1) + Duration::minutes(1));
    let r = ledger.tick(100).await.unwrap();
    assert_eq!((r.signal_changes, r.escalations), (1, 0));
    let village = "centre:341721100201";
    assert_eq!(
        inbox_kinds(&ledger, village).await,
        vec![NoticeKind::NewCase, NoticeKind::Overdue]
    );

    // Three days overdue: one level up (village → town) with 督办, and the
    // risk recomputed with the escalation counted.
    clock.advance(Duration::days(3));
    let r = ledger.tick(100).await.unwrap();
    assert_eq!((r.examined, r.escalations), (1, 1));
    let h = kinds(&ledger, id).await;
    assert_eq!(&h[h.len() - 2..], ["auto_escalated", "risk_recomputed"]);
    let case = ledger.get(id).await.unwrap().unwrap();
    assert_eq!(case.level, Level::Town);
    assert_eq!((case.escalations, case.supervision.count), (1, 1));
    assert!(case
        .risk_reasons
        .iter()
        .any(|r| r.factor == jiefen_domain::risk::RiskFactor::Escalations));
    assert!(inbox_kinds(&ledger, "centre:341721100")
        .await
        .contains(&NoticeKind::Escalated));
    assert!(inbox_kinds(&ledger, "body:yaodu")
        .await
        .contains(&NoticeKind::Supervision));

    // Nothing more until the next rung, five days on; then up again.
    clock.advance(Duration::days(2));
    assert_eq!(ledger.tick(100).await.unwrap().examined, 0);
    clock.advance(Duration::days(3));
    let r = ledger.tick(100).await.unwrap();
    assert_eq!(r.escalations, 1);
    let case = ledger.get(id).await.unwrap().unwrap();
    assert_eq!(case.level, Level::County);
    let h = kinds(&ledger, id).await;
    assert_eq!(count(&h, "auto_escalated"), 2);
    // Every engine event names the policy version it was decided under.
    for e in ledger.history(id).await.unwrap() {
        if [
            "signal_changed",
            "auto_escalated",
            "risk_recomputed",
            "assigned",
        ]
        .contains(&e.kind.as_str())
        {
            assert!(
                e.body.contains("\"policy_version\":\"default-2026.1\""),
                "{}",
                e.body
            );
        }
    }

    // Signing for it does not reset the ladder; concluding ends the watch.
    ledger
        .act(
            id,
            Command::Conclude {
                outcome: Outcome::Withdrawn,
                summary: t("申请人撤回"),
                agreement: None,
            },
            actor(),
            None,
        )
        .await
        .unwrap();
    clock.advance(Duration::days(30));
    assert_eq!(ledger.tick(100).await.unwrap().examined, 0);

    // Inbox: unread counts, marking read.
    let body = Recipient::parse("body:yaodu").unwrap();
    let unread = unread_by_kind(&ledger, &body).await;
    let total: u64 = unread.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 5, "{unread:?}");
    assert_eq!(ledger.mark_read(&body, None).await.unwrap(), 5);
    assert_eq!(ledger.mark_read(&body, None).await.unwrap(), 0);

    let report = ledger.rebuild(false).await.unwrap();
    assert!(report.mismatched.is_empty(), "{report:?}");
    assert!(report.missing_notices.is_empty(), "{report:?}");

    // Inbox notices are derived from events: lost ones come back unread,
    // and those still there keep their read mark.
    let before = inbox_kinds(&ledger, &body.to_string()).await;
    let overdue = before.iter().filter(|k| **k == NoticeKind::Overdue).count() as u64;
    assert!(overdue > 0);
    db.exec("DELETE FROM inbox WHERE kind = 'overdue'").await;
    let report = ledger.rebuild(false).await.unwrap();
    assert_eq!(report.missing_notices, vec![id], "{report:?}");
    let report = ledger.rebuild(true).await.unwrap();
    assert_eq!(report.missing_notices, vec![id]);
    assert_eq!(
        inbox_kinds(&ledger, &body.to_string()).await.len(),
        before.len()
    );
    assert!(ledger
        .rebuild(false)
        .await
        .unwrap()
        .missing_notices
        .is_empty());
    let unread = unread_by_kind(&ledger, &body).await;
    assert_eq!(
        unread,
        vec![("overdue".to_owned(), overdue)],
        "only the restored notices are unread"
    );

    // A work queue's page asks about its own cases only.
    let other = assigned(&ledger, Some(clock.now().plus(Duration::days(30)))).await;
    for (case, want) in [(id, overdue as usize), (other, 1)] {
        let (items, _) = ledger
            .inbox(&InboxQuery {
                recipient: body.clone(),
                unread_only: true,
                kind: None,
                before: None,
                cases: vec![case],
                limit: 100,
            })
            .await
            .unwrap();
        assert_eq!(items.len(), want, "{case}");
        assert!(items.iter().all(|i| i.case_id == case));
    }
}

async fn acceptance_ladder(db: Db) {
    // Registered on Monday 2 March 2026: a dispute is decided on within 3
    // working days, by the end of Thursday 5 March.
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(&db, clock.clone()).await;
    let id = register(&ledger, dispute("341721100201")).await;
    let case = ledger.get(id).await.unwrap().unwrap();
    let due = case.stage.time_limit().unwrap().due_at;
    assert_eq!(due, Timestamp::parse("2026-03-05T15:59:59.999Z").unwrap());

    // Nobody decided: after a weekend without a tick the case is overdue in
    // one step, and the village centre, whose decision it is, hears of it.
    clock.advance(Duration::days(6));
    let r = ledger.tick(100).await.unwrap();
    assert_eq!((r.examined, r.signal_changes, r.escalations), (1, 1, 0));
    let village = "centre:341721100201";
    assert_eq!(
        inbox_kinds(&ledger, village).await,
        vec![NoticeKind::NewCase, NoticeKind::Overdue]
    );
    let items = ledger
        .inbox(&InboxQuery {
            recipient: Recipient::parse(village).unwrap(),
            unread_only: false,
            kind: Some(NoticeKind::Overdue),
            before: None,
            cases: Vec::new(),
            limit: 10,
        })
        .await
        .unwrap()
        .0;
    assert!(
        items[0].text.contains("受理决定已超期"),
        "{}",
        items[0].text
    );

    // Three whole days overdue: up to the town with 督办, still waiting
    // for the decision; the town's centre hears of it.
    clock.advance(Duration::days(1));
    let r = ledger.tick(100).await.unwrap();
    assert_eq!(r.escalations, 1, "{r:?}");
    let case = ledger.get(id).await.unwrap().unwrap();
    assert_eq!(case.level, Level::Town);
    assert_eq!(case.state(), CaseState::Registered);
    assert_eq!(case.supervision.count, 1);
    assert!(inbox_kinds(&ledger, "centre:341721100")
        .await
        .contains(&NoticeKind::Escalated));
    assert_eq!(ledger.tick(100).await.unwrap().examined, 0);

    // The decision ends the acceptance clock: nothing more to watch until
    // the case is assigned.
    ledger
        .act(id, Command::Accept { note: None }, actor(), None)
        .await
        .unwrap();
    clock.advance(Duration::days(30));
    assert_eq!(ledger.tick(100).await.unwrap().examined, 0);
    let h = kinds(&ledger, id).await;
    assert_eq!(count(&h, "signal_changed"), 1);
    assert_eq!(count(&h, "auto_escalated"), 1);

    // Requests have no acceptance rule: no deadline before assignment.
    let mut request = dispute("341721100201");
    request.kind = CaseKind::Request;
    request.category = CategoryCode::parse("dept_housing.roads").unwrap();
    let req = register(&ledger, request).await;
    let case = ledger.get(req).await.unwrap().unwrap();
    assert_eq!(case.stage, Stage::Registered { acceptance: None });
    clock.advance(Duration::days(30));
    assert_eq!(ledger.tick(100).await.unwrap().examined, 0);
    let report = ledger.rebuild(false).await.unwrap();
    assert!(report.mismatched.is_empty(), "{report:?}");
}

async fn restart_mid_tick(db: Db) {
    let clock = Arc::new(ManualClock::new(start()));
    let first = ledger(&db, clock.clone()).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(assigned(&first, Some(start().plus(Duration::days(1)))).await);
    }
    // Down for five days: each case is overdue and owes one ladder step.
    clock.advance(Duration::days(5));
    // The first batch of the tick commits, then the process dies.
    let r = first.tick_once(4).await.unwrap();
    assert_eq!((r.examined, r.signal_changes, r.escalations), (4, 4, 4));
    drop(first);

    // Restarted: two engines (as two servers on one database) tick at once.
    let second = ledger(&db, clock.clone()).await;
    let third = ledger(&db, clock.clone()).await;
    let (a, b) = tokio::join!(second.tick(3), third.tick(3));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.escalations + b.escalations, 2, "{a:?} {b:?}");
    for id in &ids {
        let h = kinds(&second, *id).await;
        assert_eq!(count(&h, "signal_changed"), 1, "{h:?}");
        assert_eq!(count(&h, "auto_escalated"), 1, "{h:?}");
    }
    assert_eq!(second.tick(100).await.unwrap().events, 0);
}

async fn catch_up_after_downtime(db: Db) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(&db, clock.clone()).await;
    let soon = assigned(&ledger, Some(start().plus(Duration::days(1)))).await;
    let later = assigned(&ledger, Some(start().plus(Duration::days(2)))).await;
    let far = assigned(&ledger, Some(start().plus(Duration::days(30)))).await;
    // Three days without a tick.
    clock.advance(Duration::days(3) + Duration::hours(1));
    let r = ledger.tick(100).await.unwrap();
    // The two that fell due were caught up straight to overdue (the signal
    // as it is now, not every signal missed). Neither has been overdue for
    // three whole days, so neither is escalated yet.
    assert_eq!((r.examined, r.signal_changes, r.escalations), (2, 2, 0));
    for id in [soon, later] {
        let case = ledger.get(id).await.unwrap().unwrap();
        assert_eq!(case.watch.unwrap().signal, DeadlineSignal::Overdue);
    }
    assert_eq!(count(&kinds(&ledger, far).await, "signal_changed"), 0);
    // Another three days down: both owe their first ladder step.
    clock.advance(Duration::days(3));
    let r = ledger.tick(100).await.unwrap();
    assert_eq!((r.examined, r.escalations), (2, 2));
    // A long downtime owes several rungs: one event per case names the step
    // now due and climbs that many levels.
    clock.advance(Duration::days(10));
    let r = ledger.tick(100).await.unwrap();
    assert_eq!(r.escalations, 2, "{r:?}");
    let case = ledger.get(soon).await.unwrap().unwrap();
    assert_eq!(
        case.level,
        Level::City,
        "village → town, then county and city at once"
    );
    assert_eq!(case.watch.unwrap().escalations, 3);
    assert_eq!((case.escalations, case.supervision.count), (3, 3));
    assert_eq!(count(&kinds(&ledger, soon).await, "auto_escalated"), 2);
}

async fn working_days_across_national_day(db: Db) {
    // Tuesday 30 September 2025, 10:00 Beijing time.
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2025-09-30T02:00:00Z").unwrap(),
    ));
    let ledger = ledger(&db, clock.clone()).await;
    ledger
        .import_reference(
            vec![],
            vec![Body {
                code: BodyCode::parse("dongzhi-zjj").unwrap(),
                name: "东至县住建局".into(),
                kind: BodyKind::GovernmentDepartment,
                jurisdiction: code("341721"),
                categories: vec![CategoryCode::parse("dept_housing").unwrap()],
            }],
        )
        .await
        .unwrap();
    let mut request = dispute("341721100201");
    request.kind = CaseKind::Request;
    request.category = CategoryCode::parse("dept_housing.roads").unwrap();
    let id = register(&ledger, request).await;
    ledger
        .act(id, Command::Accept { note: None }, actor(), None)
        .await
        .unwrap();
    ledger
        .act(
            id,
            Command::Assign {
                body: BodyCode::parse("dongzhi-zjj").unwrap(),
                due_at: None,
                complexity: Some(Complexity::Ordinary),
                reason: None,
            },
            actor(),
            None,
        )
        .await
        .unwrap();
    let case = ledger.get(id).await.unwrap().unwrap();
    let a = case.stage.assignment().unwrap();
    // 1–8 October are off; Saturday 11 October is worked (调休).
    assert_eq!(
        a.deadline.as_ref().unwrap().text_zh(),
        "自2025-09-30受理起7个工作日，至2025-10-16届满"
    );
    assert_eq!(
        a.due_at,
        Timestamp::parse("2025-10-16T15:59:59.999Z").unwrap()
    );
    let routing = ledger.history(id).await.unwrap()[2].body.clone();
    assert!(routing.contains("\"followed\":true"), "{routing}");
    // Through the holiday: on track; due soon with a fifth of the time left.
    clock.set(Timestamp::parse("2025-10-10T02:00:00Z").unwrap());
    assert_eq!(ledger.tick(100).await.unwrap().examined, 0);
    clock.set(Timestamp::parse("2025-10-14T02:00:00Z").unwrap());
    assert_eq!(ledger.tick(100).await.unwrap().signal_changes, 1);
    clock.set(Timestamp::parse("2025-10-17T00:00:00Z").unwrap());
    assert_eq!(ledger.tick(100).await.unwrap().signal_changes, 1);
    let case = ledger.get(id).await.unwrap().unwrap();
    assert_eq!(case.watch.unwrap().signal, DeadlineSignal::Overdue);
}

async fn petition_path(db: Db) {
    // Monday 2 March 2026, 09:30 Beijing time.
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(&db, clock.clone()).await;
    let mut petition = dispute("341721100201");
    petition.kind = CaseKind::Petition;
    petition.category = CategoryCode::parse("land.expropriation").unwrap();
    let id = register(&ledger, petition).await;
    let act = |c: Command| {
        let ledger = ledger.clone();
        async move { ledger.act(id, c, actor(), None).await }
    };

    // Acceptance: decided within 15 days of registration, watched by the
    // engine like any deadline; the centre that must decide hears of it.
    let case = ledger.get(id).await.unwrap().unwrap();
    let Stage::Registered {
        acceptance: Some(acceptance),
    } = &case.stage
    else {
        panic!(
            "a petition waits for a decision on acceptance: {:?}",
            case.stage
        )
    };
    assert_eq!(
        acceptance.deadline.text_zh(),
        "自2026-03-02登记起15日，至2026-03-17届满"
    );
    assert_eq!(
        acceptance.due_at,
        Timestamp::parse("2026-03-17T15:59:59.999Z").unwrap()
    );
    assert_eq!(acceptance.deadline.policy_version, "default-2026.1");
    assert_eq!(ledger.tick(100).await.unwrap().examined, 0);
    clock.advance(Duration::days(13));
    let r = ledger.tick(100).await.unwrap();
    assert_eq!((r.examined, r.signal_changes), (1, 1));
    let village = "centre:341721100201";
    assert_eq!(
        inbox_kinds(&ledger, village).await,
        vec![NoticeKind::NewCase, NoticeKind::DueSoon]
    );
    let case = ledger.get(id).await.unwrap().unwrap();
    assert_eq!(
        case.deadline_signal(clock.now()),
        Some(DeadlineSignal::DueSoon)
    );
    // Accepted on day 14: the acceptance clock stops, the 60 days start.
    clock.advance(Duration::days(1));
    act(Command::Accept { note: None }).await.unwrap();
    clock.advance(Duration::days(2));
    assert_eq!(ledger.tick(100).await.unwrap().examined, 0);
    let case = ledger.get(id).await.unwrap().unwrap();
    assert_eq!(case.deadline_signal(clock.now()), None);
    assert_eq!(
        case.watch.as_ref().map(|w| w.signal),
        Some(DeadlineSignal::DueSoon)
    );

    // Assigned two days after acceptance: the statutory 60 days still run
    // from the acceptance.
    act(Command::Assign {
        body: BodyCode::parse("dongzhi-xfj").unwrap(),
        due_at: None,
        complexity: None,
        reason: None,
    })
    .await
    .unwrap();
    let expl = |case: &Case| {
        case.stage
            .assignment()
            .unwrap()
            .deadline
            .clone()
            .unwrap()
            .text_zh()
    };
    let case = ledger.get(id).await.unwrap().unwrap();
    assert_eq!(expl(&case), "自2026-03-16受理起60日，至2026-05-15届满");
    act(Command::SignFor {}).await.unwrap();
    clock.advance(Duration::days(30));
    act(Command::Pause {
        reason: t("等待土地权属鉴定"),
    })
    .await
    .unwrap();
    clock.advance(Duration::days(5));
    act(Command::Resume { note: None }).await.unwrap();
    let case = ledger.get(id).await.unwrap().unwrap();
    assert_eq!(
        expl(&case),
        "自2026-03-16受理起60日，中止5日，至2026-05-20届满"
    );
    act(Command::RequestExtension {
        days: 30,
        reason: t("情况复杂"),
    })
    .await
    .unwrap();
    act(Command::ApproveExtension { note: None }).await.unwrap();
    let case = ledger.get(id).await.unwrap().unwrap();
    assert_eq!(
        expl(&case),
        "自2026-03-16受理起60日，中止5日，延期30日，至2026-06-19届满"
    );
    assert_eq!(
        case.stage.assignment().unwrap().due_at,
        Timestamp::parse("2026-06-19T15:59:59.999Z").unwrap()
    );
    // The engine watches the moved deadline: due soon once a fifth of the
    // time from assignment to 19 June is left, and the body hears of it.
    clock.advance(Duration::days(55));
    let r = ledger.tick(100).await.unwrap();
    assert_eq!((r.examined, r.signal_changes, r.escalations), (1, 1, 0));
    let case = ledger.get(id).await.unwrap().unwrap();
    assert_eq!(
        case.watch.as_ref().map(|w| (w.due_at, w.signal)),
        Some((
            case.stage.assignment().unwrap().due_at,
            DeadlineSignal::DueSoon
        ))
    );
    assert_eq!(
        inbox_kinds(&ledger, "body:dongzhi-xfj").await,
        vec![NoticeKind::NewAssignment, NoticeKind::DueSoon]
    );
    // 信访工作条例: one extension only.
    let err = act(Command::RequestExtension {
        days: 5,
        reason: t("再延期"),
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("allows 1 extension"), "{err}");
    act(Command::Conclude {
        outcome: Outcome::Answered,
        summary: t("已书面答复"),
        agreement: None,
    })
    .await
    .unwrap();
    // A review may be asked within 30 days of the answer; then it is
    // assigned on the review rule (30 days).
    clock.advance(Duration::days(29));
    act(Command::RequestReview {
        reason: t("对答复不服"),
    })
    .await
    .unwrap();
    let case = ledger.get(id).await.unwrap().unwrap();
    assert_eq!(case.level, Level::Town);
    act(Command::Assign {
        body: BodyCode::parse("dongzhi-xfj").unwrap(),
        due_at: None,
        complexity: None,
        reason: None,
    })
    .await
    .unwrap();
    let case = ledger.get(id).await.unwrap().unwrap();
    let text = expl(&case);
    assert!(text.contains("复查请求起30日"), "{text}");

    // Too late for a review of another answered petition.
    let mut other = dispute("341721100201");
    other.kind = CaseKind::Petition;
    other.category = CategoryCode::parse("land.expropriation").unwrap();
    let late = register(&ledger, other).await;
    for c in [
        Command::Accept { note: None },
        Command::Assign {
            body: BodyCode::parse("dongzhi-xfj").unwrap(),
            due_at: None,
            complexity: None,
            reason: None,
        },
        Command::SignFor {},
        Command::Conclude {
            outcome: Outcome::Answered,
            summary: t("已书面答复"),
            agreement: None,
        },
    ] {
        ledger.act(late, c, actor(), None).await.unwrap();
    }
    clock.advance(Duration::days(31));
    let err = ledger
        .act(
            late,
            Command::RequestReview {
                reason: t("不服")
            },
            actor(),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("window for asking a review closed"),
        "{err}"
    );
}

async fn repeats_by_identity(db: Db) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(&db, clock.clone()).await;
    let first = register(&ledger, dispute("341721100201")).await;
    // The same phone, another ID number and name: the same person.
    clock.advance(Duration::days(10));
    let mut again = dispute("341721101");
    again.parties[0].id_number = None;
    again.parties[0].name = t("张三丰");
    let second = register(&ledger, again).await;
    let case = ledger.get(second).await.unwrap().unwrap();
    assert_eq!(case.possible_repeats.len(), 1);
    assert_eq!(case.possible_repeats[0].case_id, first);
    assert_eq!(
        case.possible_repeats[0].reasons,
        vec![jiefen_domain::repeats::RepeatReason::SamePhone]
    );
    // Someone else entirely: no repeat.
    let mut stranger = dispute("341721101");
    stranger.parties[0].id_number = None;
    stranger.parties[0].phone = Some(PhoneNumber::parse("13900001111").unwrap());
    let s = register(&ledger, stranger).await;
    assert!(ledger
        .get(s)
        .await
        .unwrap()
        .unwrap()
        .possible_repeats
        .is_empty());
    // Outside the window (180 days) the person is not matched.
    clock.advance(Duration::days(200));
    let third = register(&ledger, dispute("341721100201")).await;
    let case = ledger.get(third).await.unwrap().unwrap();
    assert!(
        case.possible_repeats.iter().all(|p| p.case_id != first),
        "{:?}",
        case.possible_repeats
    );
    // The identity index holds no personal data in clear.
    let hashes = match &db {
        Db::Sqlite(s, _) => {
            sqlx::query_scalar::<_, String>("SELECT hex(hash) || reason FROM identities")
                .fetch_all(s.pool())
                .await
                .unwrap()
        }
        Db::Postgres(p) => {
            sqlx::query_scalar::<_, String>("SELECT encode(hash, 'hex') || reason FROM identities")
                .fetch_all(p.pool())
                .await
                .unwrap()
        }
    };
    assert!(!hashes.is_empty());
    assert!(hashes
        .iter()
        .all(|h| !h.contains("13812345678") && !h.contains("1101051949")));
    // Linking counts on the original and raises its risk.
    ledger
        .act(
            second,
            Command::Merge {
                into: first,
                reason: t("同一人重复反映"),
            },
            actor(),
            None,
        )
        .await
        .unwrap();
    let original = ledger.get(first).await.unwrap().unwrap();
    assert_eq!(original.repeats, vec![second]);
    assert!(original
        .risk_reasons
        .iter()
        .any(|r| r.factor == jiefen_domain::risk::RiskFactor::Repeats && r.detail.contains("1次")));
    assert_eq!(
        kinds(&ledger, first).await.last().unwrap(),
        "risk_recomputed"
    );
}

async fn overrides_survive_recompute(db: Db) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(&db, clock.clone()).await;
    let original = register(&ledger, dispute("341721100201")).await;
    ledger
        .act(
            original,
            Command::SetRisk {
                level: RiskLevel::Yellow,
                reason: t("当事人情绪激动"),
            },
            actor(),
            None,
        )
        .await
        .unwrap();
    let repeat = register(&ledger, dispute("341721100201")).await;
    ledger
        .act(
            repeat,
            Command::Merge {
                into: original,
                reason: t("重复件"),
            },
            actor(),
            None,
        )
        .await
        .unwrap();
    let case = ledger.get(original).await.unwrap().unwrap();
    assert_eq!(case.risk, RiskLevel::Yellow, "the override stays in force");
    assert!(case
        .risk_reasons
        .iter()
        .any(|r| r.detail.contains("当事人情绪激动")));
    assert!(case
        .risk_reasons
        .iter()
        .any(|r| r.detail.contains("重复反映1次")));
}

async fn routing_choice_is_recorded(db: Db) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(&db, clock.clone()).await;
    let id = register(&ledger, dispute("341721100201")).await;
    ledger
        .act(id, Command::Accept { note: None }, actor(), None)
        .await
        .unwrap();
    // Routing proposes the town's mediation committee; the clerk chooses
    // the justice office and says why. Both are on the record.
    ledger
        .act(
            id,
            Command::Assign {
                body: BodyCode::parse("yaodu-sfs").unwrap(),
                due_at: None,
                complexity: None,
                reason: Some(t("涉及法律咨询，由司法所办理")),
            },
            actor(),
            None,
        )
        .await
        .unwrap();
    let assigned = ledger.history(id).await.unwrap()[2].body.clone();
    let event: serde_json::Value = serde_json::from_str(&assigned).unwrap();
    assert_eq!(event["routing"]["proposed_body"], "yaodu");
    assert_eq!(event["routing"]["followed"], false);
    assert_eq!(
        event["routing"]["override_reason"],
        "涉及法律咨询，由司法所办理"
    );
    assert!(event["routing"]["reasons"][0]
        .as_str()
        .unwrap()
        .contains("小事不出村"));
    assert_eq!(event["due_soon_permille"], 200);
}

/// A town's own policy applies to its cases and everything below it; other
/// towns keep the deployment's, and every decision names the one it used.
async fn jurisdiction_policy(db: Db) {
    use jiefen_domain::policy::{Policy, Rules, DEFAULT_POLICY};
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(&db, clock.clone()).await;
    let local = r#"
[[jurisdiction]]
code = "341721100"
version = "yaodu-2026.1"
escalation = { notify_supervisor = true, escalate_after_days = 1, repeat_every_days = 2 }

[jurisdiction.routing]
levels = { blue = "village", yellow = "town", red = "county" }
prefer = { dispute = ["justice_office", "peoples_mediation"], petition = ["petition_bureau"], request = ["centre"], hazard = ["centre"] }

[[jurisdiction.deadline]]
kind = "dispute"
stage = "handling"
days = 10
count = "calendar"
basis = "尧渡镇：纠纷10日内调结"
"#;
    let tax = Taxonomy::default_taxonomy();
    let policy = Policy::from_toml(&format!("{DEFAULT_POLICY}{local}"), &tax).unwrap();
    ledger.set_rules(Rules::new(
        policy,
        jiefen_domain::calendar::WorkCalendar::builtin(),
    ));

    let id = assigned(&ledger, None).await;
    let history = ledger.history(id).await.unwrap();
    let event = |i: usize| serde_json::from_str::<serde_json::Value>(&history[i].body).unwrap();
    assert_eq!(
        event(0)["policy_version"],
        "yaodu-2026.1",
        "{}",
        history[0].body
    );
    let assignment = event(2);
    assert_eq!(assignment["policy_version"], "yaodu-2026.1");
    assert_eq!(assignment["deadline"]["days"], 10, "{assignment}");
    // The town prefers its justice office to the mediation committee.
    assert_eq!(assignment["routing"]["proposed_body"], "yaodu-sfs");
    assert_eq!(assignment["routing"]["followed"], false);

    // The town's ladder: escalated one day after the deadline, not three.
    let due = ledger
        .get(id)
        .await
        .unwrap()
        .unwrap()
        .stage
        .assignment()
        .unwrap()
        .due_at;
    clock.set(due.plus(time::Duration::days(1) + time::Duration::minutes(1)));
    let report = ledger.tick(100).await.unwrap();
    assert_eq!(report.escalations, 1, "{report:?}");
    let history = ledger.history(id).await.unwrap();
    let last = history
        .iter()
        .rfind(|e| e.kind == "auto_escalated")
        .unwrap();
    assert!(
        last.body.contains("\"policy_version\":\"yaodu-2026.1\""),
        "{}",
        last.body
    );

    // A case in another town runs on the deployment's policy.
    let other = register(&ledger, dispute("341721101")).await;
    let first = &ledger.history(other).await.unwrap()[0];
    assert!(
        first.body.contains("\"policy_version\":\"default-2026.1\""),
        "{}",
        first.body
    );
}

/// One prolific identity: a registration lists only the most recent
/// earlier cases, found by a bounded walk of the identity index.
async fn repeats_are_bounded(db: Db) {
    use jiefen_domain::repeats::LISTED_REPEATS;
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(&db, clock.clone()).await;
    let mut ids = Vec::new();
    for _ in 0..LISTED_REPEATS + 3 {
        clock.advance(time::Duration::minutes(1));
        let out = ledger
            .create(dispute("341721100201"), actor(), None)
            .await
            .unwrap();
        ids.push(out.case_id);
    }
    let last = ids.pop().unwrap();
    let case = ledger.get(last).await.unwrap().unwrap();
    let listed: Vec<CaseId> = case.possible_repeats.iter().map(|p| p.case_id).collect();
    assert_eq!(listed, ids[ids.len() - LISTED_REPEATS..].to_vec());
}

/// An inbox nobody reads grows with every case: its unread counts stop at
/// the limit and say so, and are exact up to it.
async fn unread_counts_stop_at_their_limit(db: Db) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(&db, clock).await;
    register(&ledger, dispute("341721100201")).await;
    let limit = UnreadCounts::LIMIT;
    // Notices as the ledger writes them, copied from the one it wrote: a
    // thousand cases' worth would take the ledger minutes here.
    let fill = |kind: &str, n: u64| {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
             INSERT INTO inbox (recipient, case_id, seq, kind, at_ms, text) \
             SELECT 'body:many', one.case_id, n.i, '{kind}', one.at_ms, one.text \
             FROM n, (SELECT case_id, at_ms, text FROM inbox LIMIT 1) AS one"
        )
    };
    db.exec(&fill("overdue", limit + 101)).await;
    db.exec(&fill("due_soon", 5)).await;
    let many = Recipient::parse("body:many").unwrap();
    let counted = |ledger: Ledger| {
        let many = many.clone();
        async move {
            let query = InboxQuery {
                recipient: many,
                unread_only: true,
                kind: None,
                before: None,
                cases: Vec::new(),
                limit: 1,
            };
            ledger.inbox(&query).await.unwrap().1
        }
    };
    let over = counted(ledger.clone()).await;
    assert_eq!(
        over.by_kind(),
        &[(NoticeKind::DueSoon, 5), (NoticeKind::Overdue, limit)]
    );
    assert!(over.more(), "{over:?}");
    assert_eq!(over.total(), limit + 5);

    // Exactly at the limit is exact.
    db.exec(
        "UPDATE inbox SET read_at_ms = 1 WHERE id IN (SELECT id FROM inbox \
         WHERE recipient = 'body:many' AND kind = 'overdue' ORDER BY id LIMIT 101)",
    )
    .await;
    let at = counted(ledger.clone()).await;
    assert_eq!(
        at.by_kind(),
        &[(NoticeKind::DueSoon, 5), (NoticeKind::Overdue, limit)]
    );
    assert!(!at.more(), "{at:?}");
    assert_eq!(ledger.mark_read(&many, None).await.unwrap(), limit + 5);
    assert_eq!(counted(ledger).await, UnreadCounts::default());
}

on_both!(
    unread_counts_stop_at_their_limit,
    escalation_ladder,
    acceptance_ladder,
    restart_mid_tick,
    catch_up_after_downtime,
    working_days_across_national_day,
    petition_path,
    repeats_by_identity,
    overrides_survive_recompute,
    routing_choice_is_recorded,
    jurisdiction_policy,
    repeats_are_bounded
);
