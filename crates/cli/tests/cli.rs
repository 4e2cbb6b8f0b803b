//! The binary end to end: `serve --demo` comes up with cases, `export` and
//! `verify` prove a history, and real tampering — of the exported file and of
//! the database behind a checkpoint — makes `verify` fail naming the event.

use jiefen_domain::case::CaseId;
use jiefen_ledger::checkpoint::DeploymentKey;
use jiefen_store::forgery::{rewrite_event, Raw};
use jiefen_store::sqlite::SqliteStore;
mod common;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary. Whatever it writes to standard error (its logs and
/// error messages) must hold no ID number or phone; standard output may,
/// where the command was asked for personal data.
fn jiefen(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_jiefen"))
        .args(args)
        .env("RUST_LOG", LOG_LEVELS)
        .output()
        .expect("jiefen runs");
    assert_no_personal_data(&String::from_utf8_lossy(&out.stderr));
    out
}

fn assert_no_personal_data(text: &str) {
    let found = jiefen_domain::party::personal_data_in(text);
    assert!(found.is_empty(), "personal data logged: {found:?}");
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The standard output of a command that must have succeeded.
fn succeeded(args: &[&str], out: Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

/// Signs in with the password the demo wrote beside its data; returns the
/// session cookie.
fn demo_sign_in(addr: &str, data: &Path, user: &str) -> String {
    let credentials = std::fs::read_to_string(data.join("demo-credentials.txt")).unwrap();
    let password = credentials
        .lines()
        .find(|l| l.starts_with(&format!("{user}\t")))
        .and_then(|l| l.split('\t').nth(3))
        .expect("the demo has this account");
    let body = serde_json::json!({"username": user, "password": password}).to_string();
    let (head, (status, answer)) = request(
        addr,
        "POST",
        "/api/v1/session",
        "Content-Type: application/json\r\n",
        &body,
    );
    assert_eq!(status, 200, "{answer}");
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .expect("a session cookie");
    cookie.split(';').next().unwrap().to_owned()
}

/// A running `serve`, killed when dropped; what it logged is then checked
/// for personal data.
struct Server(Option<Spawned>);

impl Drop for Server {
    fn drop(&mut self) {
        let logged = self.0.take().map(Spawned::kill);
        if let (Some(logged), false) = (logged, std::thread::panicking()) {
            assert!(logged.contains("finished processing request"), "{logged}");
            assert_no_personal_data(&logged);
        }
    }
}

fn serve_demo(data: &Path, cases: usize) -> (Server, String) {
    let spawned = spawn_serve(&["--demo", "--demo-cases", &cases.to_string()], data)
        .expect("serve --demo starts");
    let addr = spawned.addr.clone();
    (Server(Some(spawned)), addr)
}

#[test]
fn serve_demo_export_verify_and_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (server, addr) = serve_demo(&data, 120);
    let (status, health) = get(&addr, "/healthz");
    assert_eq!(status, 200, "{health}");
    let (status, refused) = get(&addr, "/api/v1/cases?state=archived&limit=5");
    assert_eq!(status, 401, "cases are for staff only: {refused}");
    let cookie = format!(
        "Cookie: {}\r\n",
        demo_sign_in(&addr, &data, "supervisor.dongzhi")
    );
    let list =
        |query: &str| request(&addr, "GET", &format!("/api/v1/cases?{query}"), &cookie, "").1;
    let (_, page) = list("state=archived&limit=5");
    let items = page["items"].as_array().expect("a list of cases");
    assert!(!items.is_empty(), "the demo has archived cases: {page}");
    let id = items[0]["id"].as_str().unwrap().to_owned();
    let (_, in_progress) = list("state=in_progress&limit=5");
    assert!(!in_progress["items"].as_array().unwrap().is_empty());
    drop(server);

    let data_s = data.to_str().unwrap();
    let key = stdout(&jiefen(&["key", "--data", data_s]))
        .trim()
        .to_owned();
    assert!(key.starts_with("ed25519:"), "{key}");
    let before = jiefen(&["checkpoint", "--data", data_s]);
    assert!(before.status.success());
    let before_path = dir.path().join("before.json");
    std::fs::write(&before_path, &before.stdout).unwrap();

    let export = jiefen(&["export", "--data", data_s, "--case", &id]);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let bundle_text = stdout(&export);
    let verify = |text: &str, extra: &[&str]| {
        let path = dir.path().join("case.json");
        std::fs::write(&path, text).unwrap();
        let mut args = vec!["verify", path.to_str().unwrap(), "--key", &key];
        args.extend_from_slice(extra);
        let out = jiefen(&args);
        (out.status.code(), stdout(&out))
    };
    let (code, out) = verify(
        &bundle_text,
        &["--checkpoint", before_path.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("OK"), "{out}");

    let bundle: Value = serde_json::from_str(&bundle_text).unwrap();
    let events = bundle["events"].as_array().unwrap();
    assert!(events.len() >= 5, "an archived case has a long history");

    // One character of one event changed.
    let mut changed = bundle.clone();
    let actor = changed["events"][2]["body"]["actor"]
        .as_str()
        .unwrap()
        .to_owned();
    changed["events"][2]["body"]["actor"] = Value::String(format!("{actor}x"));
    let (code, out) = verify(&changed.to_string(), &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("event 3"), "{out}");

    // An event removed.
    let mut removed = bundle.clone();
    removed["events"].as_array_mut().unwrap().remove(3);
    let (code, out) = verify(&removed.to_string(), &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("event 4"), "{out}");

    // Two events swapped.
    let mut swapped = bundle.clone();
    swapped["events"].as_array_mut().unwrap().swap(1, 2);
    let (code, out) = verify(&swapped.to_string(), &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAILED"), "{out}");

    // A different signing key.
    let other = DeploymentKey::from_seed([1; 32]).public().to_string();
    let path = dir.path().join("case.json");
    std::fs::write(&path, &bundle_text).unwrap();
    let out = jiefen(&["verify", path.to_str().unwrap(), "--key", &other]);
    assert_eq!(out.status.code(), Some(1));

    // Projections equal a rebuild from events.
    let check = jiefen(&["rebuild", "--check", "--data", data_s]);
    assert!(check.status.success(), "{}", stdout(&check));
    assert!(
        stdout(&check).contains("0 projections differed"),
        "{}",
        stdout(&check)
    );

    // The consistent rewrite in the database, after `before` was taken: the
    // forger recomputes the case's chain and the whole log, and even has the
    // server sign the result. Only the earlier checkpoint exposes it.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (store, ledger) = open_ledger(&data).await;
        let id = CaseId::parse(&id).unwrap();
        rewrite_event(Raw::Sqlite(store.pool()), &ledger, id, 1, |body| {
            body.replace("\"people_involved\":", "\"people_involved\":1")
        })
        .await
        .unwrap();
    });
    // Have the server sign a fresh checkpoint over the forged log.
    assert!(jiefen(&["checkpoint", "--data", data_s]).status.success());
    let forged = stdout(&jiefen(&["export", "--data", data_s, "--case", &id]));
    let (code, out) = verify(&forged, &[]);
    assert_eq!(code, Some(0), "internally consistent on its own: {out}");
    let (code, out) = verify(&forged, &["--checkpoint", before_path.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAILED"), "{out}");
    let check = jiefen(&["rebuild", "--check", "--data", data_s]);
    assert!(
        !check.status.success(),
        "the rewritten event no longer matches the projection"
    );
}

#[test]
fn bad_input_gets_a_clear_error_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = jiefen(&[
        "export",
        "--data",
        dir.path().to_str().unwrap(),
        "--case",
        "not-an-id",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a case id"));
    let missing = dir.path().join("nope.json");
    let out = jiefen(&["verify", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[jurisdiction]]\ncode='341721'\nname='东至县'\nlevel='county'\nparent='999999'\n",
    )
    .unwrap();
    let out = jiefen(&[
        "jurisdictions",
        "import",
        "--data",
        dir.path().to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("999999"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Without a master key the server does not start; a key file that is
    // not one is named.
    let data_arg = dir.path().to_str().unwrap();
    let out = jiefen(&["serve", "--data", data_arg, "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no master key"), "{err}");
    let bad_key = dir.path().join("bad.key");
    std::fs::write(&bad_key, "not a key").unwrap();
    let out = jiefen(&[
        "serve",
        "--data",
        data_arg,
        "--master-key-file",
        bad_key.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("64 hexadecimal digits"));
    let key_file = dir.path().join("master.key");
    std::fs::write(&key_file, stdout(&jiefen(&["master-key"]))).unwrap();
    // A policy file with a mistake stops the server before it listens.
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        jiefen_domain::policy::DEFAULT_POLICY.replacen("days = 60", "days = 0", 1),
    )
    .unwrap();
    let out = jiefen(&[
        "serve",
        "--data",
        dir.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--policy",
        policy.to_str().unwrap(),
        "--master-key-file",
        key_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("policy file line") && err.contains("days must be between 1 and 366"),
        "{err}"
    );
    let csv = dir.path().join("tree.csv");
    std::fs::write(
        &csv,
        "code,name,level,parent\n341700,池州市,city,\n341721,东至县,county,341700\n",
    )
    .unwrap();
    let out = jiefen(&[
        "jurisdictions",
        "import",
        "--data",
        dir.path().to_str().unwrap(),
        csv.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("imported 2 jurisdictions"));
}

#[test]
fn users_tokens_and_the_security_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let tree = dir.path().join("tree.toml");
    std::fs::write(
        &tree,
        "[[jurisdiction]]\ncode='341700'\nname='池州市'\nlevel='city'\n\
         [[jurisdiction]]\ncode='341721'\nname='东至县'\nlevel='county'\nparent='341700'\n",
    )
    .unwrap();
    let ok = |args: &[&str]| succeeded(args, jiefen(args));
    ok(&[
        "jurisdictions",
        "import",
        "--data",
        data,
        tree.to_str().unwrap(),
    ]);

    // The first administrator: a generated password, printed once.
    let added = ok(&[
        "user",
        "add",
        "--data",
        data,
        "admin",
        "--role",
        "administrator",
        "--jurisdiction",
        "341721",
    ]);
    let password = added
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a generated password is printed")
        .to_owned();
    assert_eq!(password.chars().count(), 20);

    // Refusals: exit code 1 and the reason.
    let add = |name: &'static str, role: &'static str| {
        vec![
            "user",
            "add",
            "--data",
            data,
            name,
            "--role",
            role,
            "--jurisdiction",
            "341721",
        ]
    };
    for (args, says) in [
        (add("admin", "auditor"), "already exists"),
        (add("li", "handler"), "handler belongs to a handling body"),
        (add("li", "boss"), "one of intake_clerk"),
        (add("Li Wei", "leader"), "user name"),
        (
            vec!["token", "revoke", "--data", data, "0011223344556677"],
            "no token",
        ),
    ] {
        let out = jiefen(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert!(ok(&["user", "list", "--data", data]).starts_with("admin\tadministrator\t341721"));

    // A token is shown once; the list never shows it again.
    let created = ok(&[
        "token", "create", "--data", data, "--user", "admin", "--name", "对接",
    ]);
    let token = created
        .lines()
        .find(|l| l.starts_with("jf_"))
        .expect("the token is printed")
        .to_owned();
    let id = token.split('_').nth(1).unwrap().to_owned();
    let listed = ok(&["token", "list", "--data", data]);
    assert!(listed.contains(&id) && listed.contains("live"), "{listed}");
    assert!(!listed.contains(&token));
    ok(&["token", "revoke", "--data", data, &id]);
    assert!(ok(&["token", "list", "--data", data]).contains("revoked"));
    ok(&["user", "disable", "--data", data, "admin"]);
    assert!(ok(&["user", "list", "--data", data]).contains("disabled"));

    // Everything above is in the security log, and no secret is.
    let log = ok(&["audit", "list", "--data", data]);
    for action in [
        "user_added",
        "token_created",
        "token_revoked",
        "user_changed",
    ] {
        assert!(log.contains(&format!("\"action\":\"{action}\"")), "{log}");
    }
    assert!(!log.contains(&password) && !log.contains(&token));
    assert!(ok(&["audit", "verify", "--data", data]).starts_with("OK: security log of 4 entries"));

    // An edited entry breaks the chain where it was edited.
    let db = dir.path().join("jiefen.db");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = SqliteStore::open(&db).await.unwrap();
        Raw::Sqlite(store.pool())
            .exec("UPDATE audit SET body = replace(body, 'disabled', 'enabled') WHERE seq = 4")
            .await
            .unwrap();
    });
    let out = jiefen(&["audit", "verify", "--data", data]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("broken at entry 4"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn backup_erase_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (server, addr) = serve_demo(&data, 30);
    let cookie = format!(
        "Cookie: {}\r\n",
        demo_sign_in(&addr, &data, "supervisor.dongzhi")
    );
    // A dispute: someone brought it (a hazard a grid worker found has no
    // parties).
    let (_, page) = request(
        &addr,
        "GET",
        "/api/v1/cases?limit=1&kind=dispute",
        &cookie,
        "",
    )
    .1;
    let id = page["items"][0]["id"].as_str().unwrap().to_owned();
    drop(server);

    let data_s = data.to_str().unwrap();
    let key_file = data.join("demo-master.key");
    let master = ["--master-key-file", key_file.to_str().unwrap()];
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&master);
        jiefen(&all)
    };
    let ok = |args: &[&str]| succeeded(args, run(args));
    let personal = |data: &str| -> Vec<String> {
        let bundle: Value = serde_json::from_str(&ok(&[
            "export",
            "--data",
            data,
            "--case",
            &id,
            "--personal",
        ]))
        .unwrap();
        bundle["personal_data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["value"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = personal(data_s);
    assert!(!before.is_empty(), "the demo's applicants give their data");

    // A backup and a key export, made before the erasure.
    let backup = path("jiefen-backup.db");
    let said = ok(&[
        "backup",
        "--data",
        data_s,
        "--to",
        &backup,
        "--keys",
        &path("before.keys"),
    ]);
    assert!(said.contains("no data keys"), "{said}");
    let again = run(&["backup", "--data", data_s, "--to", &backup]);
    assert_eq!(again.status.code(), Some(1), "a backup never overwrites");

    // Erasure: refused without a ground or for a party that is not there.
    for (args, says) in [
        (vec!["--party", "1", "--reason", " "], "--reason"),
        (
            vec!["--party", "99", "--reason", "当事人申请删除"],
            "no party 99",
        ),
    ] {
        let mut all = vec!["erase", "--data", data_s, "--case", &id];
        all.extend(args);
        let out = run(&all);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
    }
    let erased = ok(&[
        "erase",
        "--data",
        data_s,
        "--case",
        &id,
        "--party",
        "1",
        "--reason",
        "当事人依《个人信息保护法》第四十七条申请删除",
    ]);
    assert!(erased.contains("erased party 1"), "{erased}");
    let after = personal(data_s);
    assert!(after.len() < before.len(), "{before:?} {after:?}");
    let gone: Vec<&String> = before.iter().filter(|v| !after.contains(v)).collect();
    let log = ok(&[
        "audit",
        "list",
        "--data",
        data_s,
        "--action",
        "personal_data_erased",
    ]);
    assert!(
        log.contains("\"actor\":\"cli\"") && log.contains(&id),
        "{log}"
    );
    ok(&[
        "keys",
        "export",
        "--data",
        data_s,
        "--to",
        &path("after.keys"),
    ]);

    // The backup from before the erasure, restored with the keys exported
    // after it: the erased party stays erased, the history verifies.
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::copy(data.join("signing.key"), restored.join("signing.key")).unwrap();
    let restored_s = restored.to_str().unwrap();
    let restore = |data: &str, keys: &str| {
        run(&[
            "restore",
            "--data",
            data,
            "--from",
            &backup,
            "--keys",
            &path(keys),
        ])
    };
    let report = succeeded(&["restore"], restore(restored_s, "after.keys"));
    assert!(report.contains("1 erasures applied"), "{report}");
    let back = personal(restored_s);
    assert_eq!(back.len(), after.len(), "{back:?}");
    assert!(gone.iter().all(|v| !back.contains(v)), "{back:?}");
    let bundle = dir.path().join("restored.json");
    std::fs::write(
        &bundle,
        ok(&["export", "--data", restored_s, "--case", &id]),
    )
    .unwrap();
    let key = stdout(&jiefen(&["key", "--data", restored_s]))
        .trim()
        .to_owned();
    let verified = jiefen(&["verify", bundle.to_str().unwrap(), "--key", &key]);
    assert_eq!(verified.status.code(), Some(0), "{}", stdout(&verified));

    // Restoring over a database is refused, and a broken key export leaves
    // no database behind.
    let twice = restore(restored_s, "after.keys");
    assert_eq!(twice.status.code(), Some(1));
    std::fs::write(path("broken.keys"), "{\"format\":\"other\"}\n").unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::copy(data.join("signing.key"), elsewhere.join("signing.key")).unwrap();
    let broken = restore(elsewhere.to_str().unwrap(), "broken.keys");
    assert_eq!(broken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&broken.stderr).contains("line 1"));
    let listing: Vec<_> = std::fs::read_dir(&elsewhere)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(listing, ["signing.key"], "nothing else is left");
}

#[test]
fn model_eval_reports_and_refuses_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"title\":\"x\",\"detail\":\"y\"}\n").unwrap();
    let out = jiefen(&["model", "eval", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.jsonl:1:"));
    // Twelve examples of two plain categories: evaluated, per category.
    let good = dir.path().join("good.jsonl");
    let mut lines = String::new();
    for i in 0..6 {
        lines.push_str(&format!(
            "{{\"title\":\"拖欠工资{i}\",\"detail\":\"老板拖欠农民工工资\",\"category\":\"劳动\"}}\n\
             {{\"title\":\"噪音扰民{i}\",\"detail\":\"搅拌站夜间噪音\",\"category\":\"环境\"}}\n"
        ));
    }
    std::fs::write(&good, lines).unwrap();
    let out = succeeded(
        &["model"],
        jiefen(&["model", "eval", good.to_str().unwrap(), "--folds", "3"]),
    );
    assert!(out.contains("accuracy\t1.0000"), "{out}");
    assert!(out.contains("劳动\t") && out.contains("macro-F1"), "{out}");
}

#[test]
fn import_search_and_train_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let tree = dir.path().join("tree.csv");
    std::fs::write(
        &tree,
        "code,name,level,parent\n341700,池州市,city,\n341702,贵池区,county,341700\n",
    )
    .unwrap();
    succeeded(
        &["jurisdictions"],
        jiefen(&[
            "jurisdictions",
            "import",
            "--data",
            d,
            tree.to_str().unwrap(),
        ]),
    );

    // A file with bad records imports nothing and names each line.
    let csv = dir.path().join("messages.csv");
    let mut rows = String::from("id,title,detail,time,category\n");
    for i in 0..6 {
        rows.push_str(&format!(
            "{i}a,搅拌站噪音{i},小区旁边的搅拌站夜间施工噪音扰民,2019/3/{} 10:00:00,环境保护\n",
            i + 1
        ));
        rows.push_str(&format!(
            "{i}b,道路破损{i},小区门口道路坑洼多年无人修,2019-03-{:02} 09:30,城乡建设\n",
            i + 1
        ));
    }
    let good_rows = rows.clone();
    rows.push_str("bad1,,,2019/3/1 10:00:00,\n");
    rows.push_str("bad2,标题,内容,yesterday,\n");
    std::fs::write(&csv, &rows).unwrap();
    let out = jiefen(&[
        "import",
        "--data",
        d,
        "--jurisdiction",
        "341702",
        csv.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("messages.csv:14: needs a description"),
        "{err}"
    );
    assert!(err.contains("messages.csv:15: time \"yesterday\""), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    let out = succeeded(&["search"], jiefen(&["search", "--data", d, "搅拌站"]));
    assert!(out.starts_with("0 cases match"), "{out}");

    // Categories are codes in the store: the good file names them by code.
    let coded = good_rows
        .replace("环境保护", "environment.noise")
        .replace("城乡建设", "dept_housing.roads");
    std::fs::write(&csv, &coded).unwrap();
    let import_csv = || {
        succeeded(
            &["import"],
            jiefen(&[
                "import",
                "--data",
                d,
                "--jurisdiction",
                "341702",
                csv.to_str().unwrap(),
            ]),
        )
    };
    let out = import_csv();
    assert!(out.contains("imported 12 cases (0 already"), "{out}");
    // Again: the ids make it idempotent.
    let out = import_csv();
    assert!(out.contains("imported 0 cases (12 already"), "{out}");

    let out = succeeded(&["search"], jiefen(&["search", "--data", d, "噪音 搅拌站"]));
    assert!(out.starts_with("6 cases match"), "{out}");
    assert!(out.contains("【搅拌站】") && out.contains("2019-"), "{out}");
    let out = succeeded(&["reindex"], jiefen(&["reindex", "--data", d]));
    assert!(out.contains("indexed 12 cases"), "{out}");
    // Built from the cases rather than followed from the log: the same
    // answers.
    let again = succeeded(&["search"], jiefen(&["search", "--data", d, "噪音 搅拌站"]));
    assert!(again.starts_with("6 cases match"), "{again}");
    assert!(
        again.contains("【搅拌站】") && again.contains("2019-"),
        "{again}"
    );
    let out = jiefen(&["search", "--data", d, "(噪音"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not closed"));

    // A model from the confirmed cases, and from a file naming categories
    // by their names.
    let out = succeeded(
        &["model", "train"],
        jiefen(&["model", "train", "--data", d]),
    );
    assert!(
        out.contains("trained on 12 examples in 2 categories"),
        "{out}"
    );
    let model: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["format"], "jiefen.category-model.v1");
    let named = dir.path().join("named.csv");
    std::fs::write(&named, &good_rows).unwrap();
    let to = dir.path().join("named.json");
    let out = succeeded(
        &["model", "train"],
        jiefen(&[
            "model",
            "train",
            "--data",
            d,
            "--from",
            named.to_str().unwrap(),
            "--to",
            to.to_str().unwrap(),
        ]),
    );
    assert!(out.contains("dept_environment\t6"), "{out}");
    let unknown = dir.path().join("unknown.jsonl");
    std::fs::write(
        &unknown,
        "{\"detail\":\"x\",\"category\":\"火星事务\"}\n".repeat(12),
    )
    .unwrap();
    let out = jiefen(&[
        "model",
        "train",
        "--data",
        d,
        "--from",
        unknown.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown.jsonl:1: \"火星事务\" is neither")
    );
}
