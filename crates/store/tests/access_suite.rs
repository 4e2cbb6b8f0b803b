//! Accounts, sign-in, sessions, tokens and the security log, on every
//! backend. Time moves by an injected clock.

#[macro_use]
mod common;
use common::*;
use jiefen_domain::access::{Post, Role, Username};
use jiefen_domain::audit::AuditAction;
use jiefen_store::access::AuditQuery;
use jiefen_store::accounts::{
    AccountError, Accounts, Password, SignInError, ACCOUNT_FAILURES, SESSION_IDLE,
};

const PASSWORD: &str = "correct horse battery";

fn user(name: &str) -> Username {
    Username::parse(name).unwrap()
}

async fn setup(db: &Db) -> (Ledger, Accounts, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = ledger(db, clock.clone()).await;
    let accounts = Accounts::new(ledger.store().clone(), clock.clone());
    (ledger, accounts, clock)
}

async fn add(ledger: &Ledger, accounts: &Accounts, name: &str, post: Post) {
    accounts
        .add_user(
            user(name),
            format!("{name} 同志"),
            post,
            Some(Password::new(PASSWORD)),
            "cli",
            &ledger.refs(),
        )
        .await
        .unwrap();
}

async fn live(accounts: &Accounts, token: &str) -> bool {
    accounts
        .authenticate_token(token, None)
        .await
        .unwrap()
        .is_some()
}

async fn actions(accounts: &Accounts) -> Vec<AuditAction> {
    accounts
        .audit_log(&AuditQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.entry.action)
        .collect()
}

async fn accounts_and_sessions(db: Db) {
    let (ledger, accounts, clock) = setup(&db).await;
    let supervisor = Post::new(Role::Supervisor, code("341721"), None).unwrap();
    add(&ledger, &accounts, "zhang.sup", supervisor.clone()).await;

    // Refusals name the problem and write nothing.
    let again = accounts
        .add_user(
            user("zhang.sup"),
            "x".into(),
            supervisor.clone(),
            None,
            "cli",
            &ledger.refs(),
        )
        .await;
    assert!(matches!(again, Err(AccountError::Exists(_))), "{again:?}");
    let weak = accounts
        .add_user(
            user("li"),
            "x".into(),
            supervisor.clone(),
            Some(Password::new("short")),
            "cli",
            &ledger.refs(),
        )
        .await;
    assert!(matches!(weak, Err(AccountError::WeakPassword)), "{weak:?}");
    let far_body = Post::new(
        Role::Handler,
        code("341721101"),
        Some(BodyCode::parse("yaodu").unwrap()),
    )
    .unwrap();
    let outside = accounts
        .add_user(
            user("wang"),
            "x".into(),
            far_body,
            None,
            "cli",
            &ledger.refs(),
        )
        .await;
    assert!(
        matches!(outside, Err(AccountError::BodyOutsideJurisdiction { .. })),
        "{outside:?}"
    );
    let nowhere = Post::new(Role::Leader, code("341722"), None).unwrap();
    let unknown = accounts
        .add_user(
            user("zhao"),
            "x".into(),
            nowhere,
            None,
            "cli",
            &ledger.refs(),
        )
        .await;
    assert!(
        matches!(unknown, Err(AccountError::UnknownJurisdiction(_))),
        "{unknown:?}"
    );
    assert_eq!(accounts.users().await.unwrap().len(), 1);

    // Sign-in: the right password opens a session the cookie's secret finds.
    let s = accounts
        .sign_in(
            "zhang.sup",
            Password::new(PASSWORD),
            Some("10.0.0.1".into()),
        )
        .await
        .unwrap();
    assert_eq!(s.staff.post, supervisor);
    let live = accounts.session(&s.secret).await.unwrap().unwrap();
    assert_eq!(live.csrf, s.csrf);
    assert!(accounts.session("not-a-session").await.unwrap().is_none());

    // A wrong password and an unknown account fail alike.
    for (name, pw) in [("zhang.sup", "wrong password!!"), ("nobody", PASSWORD)] {
        let e = accounts
            .sign_in(name, Password::new(pw), Some("10.0.0.2".into()))
            .await
            .unwrap_err();
        assert_eq!(e, SignInError::Invalid);
    }

    // Idle for longer than the limit: the session is gone.
    clock.advance(SESSION_IDLE + Duration::minutes(1));
    assert!(accounts.session(&s.secret).await.unwrap().is_none());

    // Busy for longer than the absolute limit: gone too.
    let s = accounts
        .sign_in("zhang.sup", Password::new(PASSWORD), None)
        .await
        .unwrap();
    for _ in 0..40 {
        clock.advance(Duration::minutes(20));
        if accounts.session(&s.secret).await.unwrap().is_none() {
            break;
        }
    }
    assert!(accounts.session(&s.secret).await.unwrap().is_none());
    assert!(
        clock.now().minus(&start()) <= Duration::hours(13),
        "ended at the 12-hour limit"
    );

    // Throttling per account: after the allowed failures even the right
    // password is refused, until the window passes.
    for _ in 0..ACCOUNT_FAILURES {
        let e = accounts
            .sign_in("zhang.sup", Password::new("wrong password!!"), None)
            .await
            .unwrap_err();
        assert_eq!(e, SignInError::Invalid);
    }
    let e = accounts
        .sign_in("zhang.sup", Password::new(PASSWORD), None)
        .await
        .unwrap_err();
    assert!(matches!(e, SignInError::Throttled { .. }), "{e:?}");
    clock.advance(Duration::minutes(16));
    let s = accounts
        .sign_in("zhang.sup", Password::new(PASSWORD), None)
        .await
        .unwrap();

    // Throttling per address: many accounts tried from one address.
    for i in 0..20 {
        let _ = accounts
            .sign_in(
                &format!("guess{i}"),
                Password::new(PASSWORD),
                Some("10.9.9.9".into()),
            )
            .await;
    }
    let e = accounts
        .sign_in(
            "zhang.sup",
            Password::new(PASSWORD),
            Some("10.9.9.9".into()),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, SignInError::Throttled { .. }), "{e:?}");

    // A password reset ends every session; disabling refuses sign-in.
    accounts
        .reset_password(
            &user("zhang.sup"),
            Password::new("another long password"),
            "cli",
        )
        .await
        .unwrap();
    assert!(accounts.session(&s.secret).await.unwrap().is_none());
    accounts
        .set_disabled(&user("zhang.sup"), true, "cli")
        .await
        .unwrap();
    let e = accounts
        .sign_in("zhang.sup", Password::new("another long password"), None)
        .await
        .unwrap_err();
    assert_eq!(e, SignInError::Invalid);
    accounts
        .set_disabled(&user("zhang.sup"), false, "cli")
        .await
        .unwrap();
    accounts
        .sign_in("zhang.sup", Password::new("another long password"), None)
        .await
        .unwrap();

    let logged = actions(&accounts).await;
    for a in [
        AuditAction::UserAdded,
        AuditAction::SignIn,
        AuditAction::SignInFailed,
        AuditAction::SignInThrottled,
        AuditAction::UserChanged,
    ] {
        assert!(logged.contains(&a), "{a} missing from {logged:?}");
    }
    // Neither passwords nor session secrets reach the log.
    for r in accounts
        .audit_log(&AuditQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
    {
        for secret in [
            PASSWORD,
            "another long password",
            "wrong password",
            &s.secret,
        ] {
            assert!(!r.body.contains(secret), "{}", r.body);
        }
    }
}

async fn tokens(db: Db) {
    let (ledger, accounts, clock) = setup(&db).await;
    let post = Post::new(Role::IntakeClerk, code("341721100"), None).unwrap();
    add(&ledger, &accounts, "hotline", post.clone()).await;
    let (record, token) = accounts
        .create_token(&user("hotline"), "12345 热线对接".into(), "staff:admin")
        .await
        .unwrap();
    assert!(token.starts_with(&format!("jf_{}_", record.id)));
    let stored = accounts.tokens(None).await.unwrap();
    assert_eq!(stored.len(), 1);
    // The whole secret: base64url has `_` in its alphabet, so a split on
    // `_` could leave a fragment short enough to occur anywhere.
    let secret = token.strip_prefix(&format!("jf_{}_", record.id)).unwrap();
    assert!(!format!("{stored:?}").contains(secret));

    let holder = accounts
        .authenticate_token(&token, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(holder.staff.post, post);
    // A wrong secret for a real id, and shapes that are not tokens at all.
    let forged = format!("jf_{}_{}", record.id, "A".repeat(43));
    for bad in [forged.as_str(), "jf_", "Bearer x", "jf_zz_zz"] {
        assert!(
            accounts
                .authenticate_token(bad, None)
                .await
                .unwrap()
                .is_none(),
            "{bad}"
        );
    }

    // Use is logged at most once an hour per token.
    for _ in 0..5 {
        accounts
            .authenticate_token(&token, None)
            .await
            .unwrap()
            .unwrap();
    }
    let used = |a: Vec<AuditAction>| a.iter().filter(|x| **x == AuditAction::TokenUsed).count();
    assert_eq!(used(actions(&accounts).await), 1);
    clock.advance(Duration::minutes(61));
    accounts
        .authenticate_token(&token, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used(actions(&accounts).await), 2);

    // A disabled account's token is refused; enabled again, it works.
    accounts
        .set_disabled(&user("hotline"), true, "cli")
        .await
        .unwrap();
    assert!(!live(&accounts, &token).await);
    accounts
        .set_disabled(&user("hotline"), false, "cli")
        .await
        .unwrap();
    assert!(live(&accounts, &token).await);

    // Revoked: refused from then on, and revoking twice is an error.
    accounts
        .revoke_token(&record.id, "staff:admin")
        .await
        .unwrap();
    assert!(!live(&accounts, &token).await);
    assert!(matches!(
        accounts.revoke_token(&record.id, "staff:admin").await,
        Err(AccountError::NoSuchToken(_))
    ));
    assert!(matches!(
        accounts
            .create_token(&user("nobody"), "x".into(), "cli")
            .await,
        Err(AccountError::NoSuchUser(_))
    ));
}

async fn audit_chain(db: Db) {
    let (ledger, accounts, _clock) = setup(&db).await;
    let post = Post::new(Role::Auditor, code("341721"), None).unwrap();
    add(&ledger, &accounts, "audit-1", post).await;
    for _ in 0..3 {
        let _ = accounts
            .sign_in("audit-1", Password::new("wrong password!!"), None)
            .await;
    }
    let rows = accounts
        .audit_log(&AuditQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(accounts.verify_audit().await.unwrap(), Ok(4));
    let failed = accounts
        .audit_log(&AuditQuery {
            action: Some("sign_in_failed".into()),
            after_seq: 2,
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![3, 4]);

    // Someone with database access edits an entry: the chain says where.
    db.exec("UPDATE audit SET body = replace(body, 'sign_in_failed', 'sign_in') WHERE seq = 3")
        .await;
    assert_eq!(accounts.verify_audit().await.unwrap(), Err(3));
    // Or removes one (and fixes up nothing else): the gap is found.
    db.exec("DELETE FROM audit WHERE seq = 2").await;
    assert_eq!(accounts.verify_audit().await.unwrap(), Err(2));
}

on_both!(accounts_and_sessions, tokens, audit_chain);
