//! One story, run on every backend: SQLite always, PostgreSQL when
//! `JIEFEN_TEST_DATABASE_URL` is set (and `.ci/run` always sets it; under
//! `CI` a missing URL fails the test instead of skipping it).

mod common;
use common::*;
use jiefen_store::{InboxQuery, ListCursor};

async fn story(db: Db) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(&db, clock.clone()).await;

    // Registration to archive.
    let created = ledger
        .create(dispute("341721100201"), actor(), None)
        .await
        .unwrap();
    let id = created.case_id;
    assert!(created.number.starts_with("2026-"));
    let steps = vec![
        Command::Accept { note: None },
        Command::Assign {
            body: BodyCode::parse("yaodu").unwrap(),
            due_at: Some(start().plus(Duration::days(30))),
            complexity: None,
            reason: None,
        },
        Command::SignFor {},
        Command::MediationSession {
            held_at: start(),
            mediators: vec![t("陈调解员")],
            place: None,
            summary: t("第一次调解"),
        },
        Command::Pause {
            reason: t("等待测量"),
        },
    ];
    for s in steps {
        ledger.act(id, s, actor(), None).await.unwrap();
    }
    assert_eq!(
        ledger.get(id).await.unwrap().unwrap().state(),
        CaseState::Paused
    );
    clock.advance(Duration::days(3));
    ledger
        .act(id, Command::Resume { note: None }, actor(), None)
        .await
        .unwrap();
    let case = ledger.get(id).await.unwrap().unwrap();
    assert_eq!(
        case.stage.assignment().unwrap().due_at,
        start().plus(Duration::days(33))
    );

    // Risk is computed at registration, with its reasons.
    let mut threat = dispute("341721100201");
    threat.description = t("申请人称多次协商无果，扬言要去跳河，另有8户邻居参与。");
    threat.people_involved = 8;
    let risky = ledger.create(threat, actor(), None).await.unwrap().case_id;
    let risky_id = risky;
    let risky = ledger.get(risky).await.unwrap().unwrap();
    assert_eq!(risky.risk, RiskLevel::Red);
    // Red goes up to the county by itself, in the same write, with a
    // leader in charge asked of the county centre.
    assert_eq!(risky.level, Level::County);
    let risky_history = ledger.history(risky_id).await.unwrap();
    assert_eq!(
        risky_history
            .iter()
            .map(|e| e.kind.as_str())
            .collect::<Vec<_>>(),
        vec!["registered", "auto_escalated"]
    );
    assert!(risky_history[1].body.contains("\"cause\":\"red\""));
    let (county_inbox, _) = ledger
        .inbox(&InboxQuery {
            recipient: jiefen_domain::inbox::Recipient::parse("centre:341721").unwrap(),
            unread_only: true,
            kind: None,
            before: None,
            cases: Vec::new(),
            limit: 10,
        })
        .await
        .unwrap();
    let notice = county_inbox
        .iter()
        .find(|i| i.kind == jiefen_domain::inbox::NoticeKind::LeaderNeeded)
        .expect("the county centre is asked for a leader");
    assert!(notice.urgent, "a red case's notice is marked urgent");
    assert!(
        risky
            .risk_reasons
            .iter()
            .any(|r| r.detail.contains("扬言") && r.detail.contains("跳河")),
        "{:?}",
        risky.risk_reasons
    );
    // The first applicant, born 1949, counts as elderly: a reason, still blue.
    let plain = ledger.get(id).await.unwrap().unwrap();
    assert_eq!(plain.risk, RiskLevel::Blue);
    assert_eq!(plain.risk_reasons.len(), 1, "{:?}", plain.risk_reasons);
    assert!(plain.risk_reasons[0].detail.contains("岁老人"));

    // Illegal transitions are refused and write nothing.
    let before = ledger.history(id).await.unwrap().len();
    let size_before = ledger.tree_head().await.unwrap().0;
    let err = ledger
        .act(id, Command::SignFor {}, actor(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::Transition(_)), "{err}");
    assert_eq!(ledger.history(id).await.unwrap().len(), before);
    assert_eq!(ledger.tree_head().await.unwrap().0, size_before);

    for s in [
        Command::Conclude {
            outcome: Outcome::Mediated,
            summary: t("调解成功"),
            agreement: Some(Agreement {
                text: t("围墙后退一米"),
                judicial_confirmation: false,
            }),
        },
        Command::FollowUp {
            satisfaction: Satisfaction::Satisfied,
            note: None,
        },
        Command::Archive { note: None },
    ] {
        ledger.act(id, s, actor(), None).await.unwrap();
    }
    assert_eq!(
        ledger.get(id).await.unwrap().unwrap().state(),
        CaseState::Archived
    );
    assert_eq!(ledger.history(id).await.unwrap().len(), 10);

    // Personal data stays out of the events.
    let history = ledger.history(id).await.unwrap();
    assert!(!history[0].body.contains("11010519491231002X") && !history[0].body.contains("张三"));
    assert_eq!(ledger.personal_values(id).await.unwrap().len(), 3);

    // Group commit under concurrency: dense leaves, distinct cases.
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let ledger = ledger.clone();
            let j = if i % 2 == 0 {
                "341721100201"
            } else {
                "341721101"
            };
            tokio::spawn(async move { ledger.create(dispute(j), actor(), None).await.unwrap() })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().case_id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 100);
    // 10 events of the first case, 2 of the red one, 100 registrations.
    assert_eq!(ledger.tree_head().await.unwrap().0, 112);

    // Idempotency: one case for two identical creates; a reused key with a
    // different request is refused.
    let a = ledger
        .create(dispute("341721101"), actor(), Some("key-1".into()))
        .await
        .unwrap();
    let b = ledger
        .create(dispute("341721101"), actor(), Some("key-1".into()))
        .await
        .unwrap();
    assert_eq!(a.case_id, b.case_id);
    assert!(!a.replayed && b.replayed);
    let err = ledger
        .create(dispute("341721100201"), actor(), Some("key-1".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::IdempotencyConflict(_)));
    assert_eq!(ledger.store().count_cases().await.unwrap(), 103);

    // Filters and cursor pagination.
    let refs = ledger.refs();
    let query = |filter: CaseFilter, after| CaseQuery {
        filter,
        order: CaseOrder::default(),
        after,
        limit: 30,
        now: clock.now(),
    };
    let town = CaseFilter {
        jpath_prefix: Some(refs.path(&code("341721100"))),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = ledger.list(&query(town.clone(), after)).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = Some(ListCursor::of(page.last().unwrap(), CaseOrder::Priority));
        seen.extend(page.into_iter().map(|c| c.id));
    }
    assert_eq!(
        seen.len(),
        52,
        "50 concurrent, the archived and the risky case lie under 尧渡镇"
    );
    // The open red case heads the queue, though others are newer; the rest
    // follow newest first, and no case is on two pages.
    assert_eq!(seen[0], risky_id);
    assert!(seen[1..].windows(2).all(|w| w[0] > w[1]));
    let first = ledger
        .list(&CaseQuery {
            limit: 1,
            ..query(town.clone(), None)
        })
        .await
        .unwrap();
    assert_eq!(first[0].id, risky_id);
    let cursor = ListCursor::of(&first[0], CaseOrder::Priority);
    assert_eq!(
        ListCursor::parse(&cursor.to_string(), CaseOrder::Priority),
        Some(cursor)
    );
    // A cursor belongs to its order: another order's page cannot resume it.
    assert_eq!(
        ListCursor::parse(&cursor.to_string(), CaseOrder::Newest),
        None
    );
    let second = ledger
        .list(&query(town.clone(), Some(cursor)))
        .await
        .unwrap();
    assert_eq!(second[0].id, seen[1]);
    // Every other order pages through the same cases, each once, in its
    // own order; page size 7 puts page breaks everywhere, including where
    // the running deadlines end and the cases with none begin.
    let due = |c: &jiefen_domain::case::Case| c.stage.time_limit().map(|l| l.due_at);
    for order in [CaseOrder::Newest, CaseOrder::Oldest, CaseOrder::Deadline] {
        let mut listed = Vec::new();
        let mut after = None;
        loop {
            let page = ledger
                .list(&CaseQuery {
                    order,
                    limit: 7,
                    ..query(town.clone(), after)
                })
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            let cursor = ListCursor::of(last, order);
            assert_eq!(ListCursor::parse(&cursor.to_string(), order), Some(cursor));
            after = Some(cursor);
            listed.extend(page);
        }
        let mut ids: Vec<_> = listed.iter().map(|c| c.id).collect();
        match order {
            CaseOrder::Newest => assert!(ids.windows(2).all(|w| w[0] > w[1])),
            CaseOrder::Oldest => assert!(ids.windows(2).all(|w| w[0] < w[1])),
            _ => {
                let running = listed.iter().take_while(|c| due(c).is_some()).count();
                assert!(running > 0 && running < listed.len(), "{running}");
                assert!(listed[running..].iter().all(|c| due(c).is_none()));
                assert!(listed[..running]
                    .windows(2)
                    .all(|w| (due(&w[0]), w[0].id) < (due(&w[1]), w[1].id)));
                assert!(listed[running..].windows(2).all(|w| w[0].id > w[1].id));
            }
        }
        ids.sort();
        let mut want = seen.clone();
        want.sort();
        assert_eq!(ids, want, "{order:?} lists each case of the town once");
    }
    let archived = CaseFilter {
        state: Some(CaseState::Archived),
        ..Default::default()
    };
    assert_eq!(ledger.list(&query(archived, None)).await.unwrap().len(), 1);
    let cat = CaseFilter {
        category: Some("neighbourhood".into()),
        ..Default::default()
    };
    assert_eq!(
        ledger
            .list(&CaseQuery {
                limit: 200,
                ..query(cat, None)
            })
            .await
            .unwrap()
            .len(),
        103
    );

    // Deadline signals in the list.
    let open = ledger
        .create(dispute("341721100201"), actor(), None)
        .await
        .unwrap()
        .case_id;
    ledger
        .act(open, Command::Accept { note: None }, actor(), None)
        .await
        .unwrap();
    ledger
        .act(
            open,
            Command::Assign {
                body: BodyCode::parse("yaodu").unwrap(),
                due_at: Some(clock.now().plus(Duration::days(10))),
                complexity: None,
                reason: None,
            },
            actor(),
            None,
        )
        .await
        .unwrap();
    let signal = |s| CaseFilter {
        signal: Some(s),
        state: Some(CaseState::Assigned),
        ..Default::default()
    };
    assert_eq!(
        ledger
            .list(&query(signal(DeadlineSignal::OnTrack), None))
            .await
            .unwrap()
            .len(),
        1
    );
    clock.advance(Duration::days(9));
    assert_eq!(
        ledger
            .list(&query(signal(DeadlineSignal::DueSoon), None))
            .await
            .unwrap()
            .len(),
        1
    );
    clock.advance(Duration::days(2));
    assert_eq!(
        ledger
            .list(&query(signal(DeadlineSignal::Overdue), None))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        ledger
            .list(&query(signal(DeadlineSignal::OnTrack), None))
            .await
            .unwrap()
            .len(),
        0
    );
    // Registered disputes wait 3 working days for a decision on acceptance:
    // eleven days on, every one of them is overdue.
    let waiting = |signal| CaseFilter {
        state: Some(CaseState::Registered),
        kind: Some(CaseKind::Dispute),
        signal,
        ..Default::default()
    };
    let all_waiting = ledger
        .list(&CaseQuery {
            limit: 500,
            ..query(waiting(None), None)
        })
        .await
        .unwrap();
    assert!(!all_waiting.is_empty());
    let overdue_waiting = ledger
        .list(&CaseQuery {
            limit: 500,
            ..query(waiting(Some(DeadlineSignal::Overdue)), None)
        })
        .await
        .unwrap();
    assert_eq!(overdue_waiting.len(), all_waiting.len());

    // The spliced document read by id says what the decoded case says.
    for (advance, expected) in [(0, "overdue"), (-3, "due_soon"), (-6, "on_track")] {
        clock.advance(Duration::days(advance));
        let doc = ledger.document(open).await.unwrap().unwrap();
        let view: serde_json::Value =
            serde_json::from_str(&doc.into_view_json(clock.now())).unwrap();
        let case = ledger.get(open).await.unwrap().unwrap();
        assert_eq!(view["deadline_signal"], expected);
        assert_eq!(
            view["deadline_signal"].as_str(),
            case.deadline_signal(clock.now()).map(|s| s.as_str())
        );
        assert_eq!(view["state"], case.state().as_str());
        let mut without = view.clone();
        without.as_object_mut().unwrap().remove("state");
        without.as_object_mut().unwrap().remove("deadline_signal");
        assert_eq!(without, serde_json::to_value(&case).unwrap());
    }
    clock.advance(Duration::days(9));

    // Merge a repeat into the original: both histories record it.
    let repeat = ledger
        .create(dispute("341721100201"), actor(), None)
        .await
        .unwrap()
        .case_id;
    ledger
        .act(
            repeat,
            Command::Merge {
                into: open,
                reason: t("重复件"),
            },
            actor(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        ledger.get(open).await.unwrap().unwrap().repeats,
        vec![repeat]
    );

    // Projections equal a rebuild from the events.
    let report = ledger.rebuild(false).await.unwrap();
    assert!(
        report.mismatched.is_empty() && report.broken_chains.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.cases, 105);

    // Export verifies; personal data opens its commitments.
    let bundle = ledger.export(id, true, &[]).await.unwrap();
    let ok = verify_bundle(
        &bundle,
        &VerifyOptions {
            pinned_key: Some(ledger.public_key()),
            earlier_checkpoint: None,
        },
    )
    .unwrap();
    assert_eq!(ok.events, 10);

    // A projection edited behind the ledger's back is found and repaired.
    db.exec(&format!(
        "UPDATE cases SET state = 'declined' WHERE id = '{id}'"
    ))
    .await;
    assert_eq!(
        ledger.rebuild(false).await.unwrap().mismatched,
        vec![id],
        "check finds it"
    );
    assert_eq!(
        ledger.rebuild(true).await.unwrap().mismatched,
        vec![id],
        "repair reports it"
    );
    let again = ledger.rebuild(false).await.unwrap();
    if let Some(m) = again.mismatched.first() {
        panic!(
            "{m} still differs: {:?}",
            ledger.store().projection(*m).await.unwrap()
        );
    }

    // The consistent rewrite: after a checkpoint, someone with database
    // access changes an old event, recomputes the case's chain and the whole
    // Merkle tree. The case verifies on its own, but not against the
    // checkpoint taken before.
    let earlier = ledger.checkpoint().await.unwrap();
    let raw = match &db {
        Db::Sqlite(s, _) => Raw::Sqlite(s.pool()),
        Db::Postgres(p) => Raw::Postgres(p.pool()),
    };
    // Swapping a value keeps the body canonical: a careful forger's edit.
    rewrite_event(raw, &ledger, id, 2, |body| {
        assert!(body.contains("\"note\":null"), "{body}");
        body.replace("\"note\":null", "\"note\":\"当事人同意撤回\"")
    })
    .await
    .unwrap();
    // Until a new checkpoint is signed, the rewrite fails against the
    // signed root on its own.
    let stale = ledger.export(id, false, &[]).await.unwrap();
    let err = verify_bundle(&stale, &VerifyOptions::default()).unwrap_err();
    assert!(matches!(err, VerifyError::InclusionFailed { .. }), "{err}");
    // A forger who can make the server sign the rewritten log, an hour on:
    clock.advance(Duration::hours(1));
    ledger.checkpoint().await.unwrap();
    let forged = ledger.export(id, false, &[]).await.unwrap();
    verify_bundle(&forged, &VerifyOptions::default()).expect("internally consistent forgery");
    let err = verify_bundle(
        &forged,
        &VerifyOptions {
            pinned_key: None,
            earlier_checkpoint: Some(earlier),
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Inconsistent { .. } | VerifyError::NoConsistencyProof { .. }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn story_on_sqlite() {
    story(sqlite().await).await;
}

#[tokio::test]
async fn story_on_postgres() {
    if let Some(db) = postgres("story").await {
        story(db).await;
    }
}
