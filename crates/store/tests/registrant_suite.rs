//! Who registered a case, who signed for it and whether its body sent it
//! back, on every backend: the grid worker's own reports, a handler's own
//! cases and the board's returned cases are lists by these, kept by every write and filled by the migration for
//! a store written before them.

#[macro_use]
mod common;
use common::*;

on_both!(own_registrations_and_returned_cases_are_listed);

async fn own_registrations_and_returned_cases_are_listed(db: Db) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(&db, clock.clone()).await;
    let grid = Actor::parse("grid-01").unwrap();
    let by_clerk = ledger
        .create(dispute("341721100201"), actor(), None)
        .await
        .unwrap()
        .case_id;
    let waiting = ledger
        .create(dispute("341721100201"), actor(), None)
        .await
        .unwrap()
        .case_id;
    let by_grid = ledger
        .create(dispute("341721100201"), grid.clone(), None)
        .await
        .unwrap()
        .case_id;
    let list = |filter: CaseFilter| {
        let ledger = ledger.clone();
        async move {
            let mut ids: Vec<CaseId> = ledger
                .list(&CaseQuery {
                    filter,
                    order: CaseOrder::default(),
                    after: None,
                    limit: 50,
                    now: start(),
                })
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.id)
                .collect();
            ids.sort();
            ids
        }
    };
    let registered_by = |who: &str| CaseFilter {
        registered_by: Some(who.to_owned()),
        ..CaseFilter::default()
    };
    let returned = CaseFilter {
        returned: Some(true),
        ..CaseFilter::default()
    };
    assert_eq!(list(registered_by("grid-01")).await, vec![by_grid]);
    let mut clerks = vec![by_clerk, waiting];
    clerks.sort();
    assert_eq!(list(registered_by("clerk-01")).await, clerks);
    assert!(list(registered_by("nobody")).await.is_empty());

    // Assigned, then sent back by the body: returned, with who and why,
    // until it is assigned again.
    let assign = |body: &str| Command::Assign {
        body: BodyCode::parse(body).unwrap(),
        due_at: Some(start().plus(Duration::days(15))),
        complexity: None,
        reason: None,
    };
    for c in [
        Command::Accept { note: None },
        assign("yaodu"),
        Command::Return {
            reason: t("涉及土地确权，不属调委会受理范围"),
        },
    ] {
        ledger.act(by_clerk, c, actor(), None).await.unwrap();
    }
    ledger
        .act(waiting, Command::Accept { note: None }, actor(), None)
        .await
        .unwrap();
    assert_eq!(list(returned.clone()).await, vec![by_clerk]);
    let case = ledger.get(by_clerk).await.unwrap().unwrap();
    let back = case.returned.as_ref().expect("returned");
    assert_eq!(back.by.as_str(), "yaodu");
    assert_eq!(back.reason.as_str(), "涉及土地确权，不属调委会受理范围");
    assert_eq!(case.state(), CaseState::Accepted);
    assert!(ledger.rebuild(false).await.unwrap().mismatched.is_empty());

    // A store from before the columns: the migration's statements fill them.
    db.exec("UPDATE cases SET registered_by = '', returned = 0")
        .await;
    assert_eq!(ledger.rebuild(false).await.unwrap().mismatched.len(), 3);
    db.run_migration_updates(
        include_str!("../migrations/sqlite/0007_registrant_returned.sql"),
        include_str!("../migrations/postgres/0007_registrant_returned.sql"),
    )
    .await;
    assert!(ledger.rebuild(false).await.unwrap().mismatched.is_empty());
    assert_eq!(list(returned.clone()).await, vec![by_clerk]);
    assert_eq!(list(registered_by("grid-01")).await, vec![by_grid]);

    ledger
        .act(by_clerk, assign("yaodu-sfs"), actor(), None)
        .await
        .unwrap();
    assert!(list(returned).await.is_empty());
    assert!(ledger
        .get(by_clerk)
        .await
        .unwrap()
        .unwrap()
        .returned
        .is_none());

    // Who signed for a case for its body: listed as theirs, and no longer
    // once the body sends it back or it is routed elsewhere.
    let handler = |who: &str| CaseFilter {
        handler: Some(who.to_owned()),
        ..CaseFilter::default()
    };
    let wang = Actor::parse("handler-wang").unwrap();
    let li = Actor::parse("handler-li").unwrap();
    ledger
        .act(waiting, assign("yaodu"), actor(), None)
        .await
        .unwrap();
    ledger
        .act(waiting, Command::SignFor {}, wang.clone(), None)
        .await
        .unwrap();
    ledger
        .act(by_clerk, Command::SignFor {}, li.clone(), None)
        .await
        .unwrap();
    assert_eq!(list(handler("handler-wang")).await, vec![waiting]);
    assert_eq!(list(handler("handler-li")).await, vec![by_clerk]);
    let case = ledger.get(waiting).await.unwrap().unwrap();
    assert_eq!(case.handler.as_deref(), Some("handler-wang"));
    // An assigned case sent back by its body is nobody's until signed for.
    ledger
        .act(by_grid, Command::Accept { note: None }, actor(), None)
        .await
        .unwrap();
    ledger
        .act(by_grid, assign("yaodu"), actor(), None)
        .await
        .unwrap();
    assert!(ledger
        .get(by_grid)
        .await
        .unwrap()
        .unwrap()
        .handler
        .is_none());

    // A store from before the column: the migration fills it from the
    // events, as a rebuild would.
    db.exec("UPDATE cases SET handler = NULL").await;
    assert_eq!(ledger.rebuild(false).await.unwrap().mismatched.len(), 2);
    db.run_migration_updates(
        include_str!("../migrations/sqlite/0009_handler.sql"),
        include_str!("../migrations/postgres/0009_handler.sql"),
    )
    .await;
    assert!(ledger.rebuild(false).await.unwrap().mismatched.is_empty());
    assert_eq!(list(handler("handler-wang")).await, vec![waiting]);
    assert!(list(handler("nobody")).await.is_empty());
}
