//! The figures' tallies on every backend: kept by every write so they equal
//! a count of the cases, each figure's cases listed by the same filters,
//! and recounted when a store is opened without them or a rebuild finds
//! them wrong.

#[macro_use]
mod common;
use common::*;
use jiefen_store::figures::{beijing_day, recount_store, Counts, Dimension};

on_both!(tallies_follow_the_cases_and_list_the_same_cases);

async fn tallies_follow_the_cases_and_list_the_same_cases(db: Db) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(&db, clock.clone()).await;
    let run = |id, steps: Vec<Command>| {
        let ledger = ledger.clone();
        async move {
            for s in steps {
                ledger.act(id, s, actor(), None).await.unwrap();
            }
        }
    };
    let assign = |body: &str, days| Command::Assign {
        body: BodyCode::parse(body).unwrap(),
        due_at: Some(start().plus(Duration::days(days))),
        complexity: None,
        reason: None,
    };
    let conclude = || Command::Conclude {
        outcome: Outcome::Answered,
        summary: t("已答复"),
        agreement: None,
    };
    let new = |place: &str, channel| {
        let mut c = dispute(place);
        c.channel = channel;
        c
    };
    let create = |c: NewCase| {
        let ledger = ledger.clone();
        async move { ledger.create(c, actor(), None).await.unwrap().case_id }
    };

    // 尧渡镇: one answered on time and rated satisfied, one answered late
    // and rated dissatisfied, one still open past its deadline.
    let on_time = create(new("341721100201", Channel::WalkIn)).await;
    let late = create(new("341721100201", Channel::Phone)).await;
    let overdue = create(new("341721100", Channel::WalkIn)).await;
    // 东流镇: one waiting, and a repeat of it merged in.
    let waiting = create(new("341721101", Channel::WalkIn)).await;
    let repeat = create(new("341721101", Channel::Web)).await;
    run(
        on_time,
        vec![
            Command::Accept { note: None },
            assign("yaodu", 30),
            Command::SignFor {},
        ],
    )
    .await;
    run(
        late,
        vec![
            Command::Accept { note: None },
            assign("yaodu", 1),
            Command::SignFor {},
        ],
    )
    .await;
    run(
        overdue,
        vec![Command::Accept { note: None }, assign("yaodu-sfs", 1)],
    )
    .await;
    run(
        repeat,
        vec![Command::Merge {
            into: waiting,
            reason: t("同一事项重复反映"),
        }],
    )
    .await;
    run(
        on_time,
        vec![
            conclude(),
            Command::FollowUp {
                satisfaction: Satisfaction::BasicallySatisfied,
                note: None,
            },
        ],
    )
    .await;
    clock.advance(Duration::days(3));
    // Overdue is what the engine records: counted from its tick on.
    let day = beijing_day(start().unix_millis());
    let overdue_in = |rows: &[jiefen_store::figures::TallyRow]| {
        rows.iter()
            .filter(|r| r.dimension == Dimension::Channel)
            .map(|r| r.counts.overdue)
            .sum::<i64>()
    };
    let store = ledger.store();
    assert_eq!(
        overdue_in(&store.tallies("341721", day, day + 1).await.unwrap()),
        0
    );
    ledger.tick(100).await.unwrap();
    // Both 尧渡镇 cases assigned for one day are overdue now.
    assert_eq!(
        overdue_in(&store.tallies("341721", day, day + 1).await.unwrap()),
        2
    );
    run(
        late,
        vec![
            conclude(),
            Command::FollowUp {
                satisfaction: Satisfaction::Dissatisfied,
                note: None,
            },
        ],
    )
    .await;

    // The late one is answered: only the open one is still overdue.
    let county = store.tallies("341721", day, day + 1).await.unwrap();
    assert_eq!(overdue_in(&county), 1);
    let cell = |dimension, value: &str| {
        let mut sum = Counts::default();
        for r in county
            .iter()
            .filter(|r| r.dimension == dimension && r.value == value)
        {
            sum += r.counts;
        }
        sum
    };
    assert_eq!(
        cell(Dimension::Area, "341721100"),
        Counts {
            registered: 3,
            resolved: 2,
            on_time: 1,
            rated: 2,
            satisfied: 1,
            repeats: 0,
            overdue: 1,
        }
    );
    assert_eq!(
        cell(Dimension::Area, "341721101"),
        Counts {
            registered: 2,
            repeats: 1,
            ..Counts::default()
        }
    );
    assert_eq!(cell(Dimension::Channel, "phone").on_time, 0);
    assert_eq!(cell(Dimension::Channel, "phone").resolved, 1);
    assert_eq!(cell(Dimension::Body, "yaodu").registered, 2);
    assert_eq!(cell(Dimension::Body, "yaodu-sfs").registered, 1);
    assert_eq!(cell(Dimension::Body, "").registered, 2);
    assert_eq!(cell(Dimension::Category, "neighbourhood").registered, 5);
    // Every dimension adds up to the same whole.
    for d in Dimension::ALL {
        let mut whole = Counts::default();
        for r in county.iter().filter(|r| r.dimension == d) {
            whole += r.counts;
        }
        assert_eq!(whole.registered, 5, "{d:?}");
        assert_eq!(whole.resolved, 2, "{d:?}");
    }
    // Other days and other places hold none of it.
    assert!(store
        .tallies("341721", day + 1, day + 30)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .tallies("341721101", day, day + 1)
        .await
        .unwrap()
        .iter()
        .all(|r| r.value != "341721100"));

    // The list's filters find exactly the cases behind each figure.
    let refs = ledger.refs();
    let count = |filter: CaseFilter| {
        let ledger = ledger.clone();
        let now = clock.now();
        async move {
            ledger
                .list(&CaseQuery {
                    filter,
                    order: CaseOrder::default(),
                    after: None,
                    limit: 200,
                    now,
                })
                .await
                .unwrap()
                .len() as i64
        }
    };
    let yaodu = || CaseFilter {
        jpath_prefix: Some(refs.path(&code("341721100"))),
        ..Default::default()
    };
    let figures = cell(Dimension::Area, "341721100");
    for (filter, want) in [
        (yaodu(), figures.registered),
        (
            CaseFilter {
                resolved: Some(true),
                ..yaodu()
            },
            figures.resolved,
        ),
        (
            CaseFilter {
                on_time: Some(true),
                ..yaodu()
            },
            figures.on_time,
        ),
        (
            CaseFilter {
                satisfied: Some(true),
                ..yaodu()
            },
            figures.satisfied,
        ),
        (
            CaseFilter {
                satisfied: Some(false),
                ..yaodu()
            },
            figures.rated - figures.satisfied,
        ),
        (
            CaseFilter {
                channel: Some(Channel::Phone),
                resolved: Some(true),
                ..Default::default()
            },
            1,
        ),
    ] {
        assert_eq!(count(filter.clone()).await, want, "{filter:?}");
    }
    // The overdue figure's cases are the list's recorded overdue ones; the
    // deadline compared with the time asked gives the same here.
    for filter in [
        CaseFilter {
            overdue: Some(true),
            ..Default::default()
        },
        CaseFilter {
            signal: Some(DeadlineSignal::Overdue),
            ..Default::default()
        },
    ] {
        let overdue_now = store
            .standings(&CaseQuery {
                filter,
                order: CaseOrder::default(),
                after: None,
                limit: 1000,
                now: clock.now(),
            })
            .await
            .unwrap();
        assert_eq!(overdue_now.len(), 1);
        assert!(overdue_now[0].jpath.ends_with("/341721100/"));
        assert!(overdue_now[0].figures.overdue);
    }
    assert_eq!(
        count(CaseFilter {
            overdue: Some(true),
            ..yaodu()
        })
        .await,
        figures.overdue
    );

    // The tallies equal a count of the projection, and a rebuild agrees.
    assert_eq!(
        store.all_tallies().await.unwrap(),
        recount_store(store.as_ref()).await.unwrap()
    );
    let report = ledger.rebuild(false).await.unwrap();
    assert!(!report.tallies_mismatched && report.mismatched.is_empty());

    // Tallies that went wrong are found and recounted.
    store.replace_tallies(&[]).await.unwrap();
    assert!(ledger.rebuild(false).await.unwrap().tallies_mismatched);
    assert!(ledger.rebuild(true).await.unwrap().tallies_mismatched);
    assert!(!ledger.rebuild(false).await.unwrap().tallies_mismatched);
    assert_eq!(
        store.tallies("341721", day, day + 1).await.unwrap().len(),
        county.len()
    );

    // A store from before the figures: its columns are filled by the
    // migration's own statements, its tallies when the ledger opens it.
    db.exec(
        "UPDATE cases SET resolved = 0, on_time = 0, satisfied = NULL; \
         DELETE FROM case_tallies; DELETE FROM counters WHERE name = 'tallies_built'",
    )
    .await;
    assert_eq!(ledger.rebuild(false).await.unwrap().mismatched.len(), 2);
    db.run_migration_updates(
        include_str!("../migrations/sqlite/0006_figures.sql"),
        include_str!("../migrations/postgres/0006_figures.sql"),
    )
    .await;
    assert!(ledger.rebuild(false).await.unwrap().mismatched.is_empty());
    assert!(!store.tallies_built().await.unwrap());
    let reopened = open_ledger(&db, clock.clone(), MASTER_KEY).await.unwrap();
    assert!(store.tallies_built().await.unwrap());
    assert!(!reopened.rebuild(false).await.unwrap().tallies_mismatched);

    // A store from before overdue was tallied: migration 0011 finds the
    // engine's record in the stored JSON.
    db.exec(
        "UPDATE cases SET overdue = 0; UPDATE case_tallies SET overdue = 0; \
         DELETE FROM counters WHERE name = 'tallies_built'",
    )
    .await;
    assert_eq!(reopened.rebuild(false).await.unwrap().mismatched.len(), 1);
    db.run_migration_updates(
        include_str!("../migrations/sqlite/0011_overdue_tallied.sql"),
        include_str!("../migrations/postgres/0011_overdue_tallied.sql"),
    )
    .await;
    assert!(reopened.rebuild(false).await.unwrap().mismatched.is_empty());
    let again = open_ledger(&db, clock.clone(), MASTER_KEY).await.unwrap();
    assert!(!again.rebuild(false).await.unwrap().tallies_mismatched);
    assert_eq!(
        overdue_in(&store.tallies("341721", day, day + 1).await.unwrap()),
        1
    );
}
