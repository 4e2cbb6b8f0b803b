//! `jiefen user`, `jiefen token` and `jiefen audit`: accounts, API tokens
//! and the security log, from the machine the deployment runs on. The first
//! administrator is made here; there is no default password anywhere.

use crate::{open, StoreArgs};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use jiefen_domain::access::{Post, Role, Username};
use jiefen_domain::body::BodyCode;
use jiefen_domain::jurisdiction::JurisdictionCode;
use jiefen_store::access::AuditQuery;
use jiefen_store::accounts::{Accounts, Password};
use jiefen_store::SystemClock;
use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;

/// Who the security log names for what is done here.
pub(crate) const CLI_ACTOR: &str = "cli";

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a staff account. Prints a generated password once, unless
    /// --password-stdin gives one.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        /// Login name: a-z, 0-9, '.', '_', '-'.
        username: String,
        /// intake_clerk, handler, supervisor, leader, grid_worker, assessor, administrator or auditor.
        #[arg(long)]
        role: String,
        /// The jurisdiction node the account belongs to (it sees that subtree).
        #[arg(long)]
        jurisdiction: String,
        /// The handling body (handlers only, and always for them).
        #[arg(long)]
        body: Option<String>,
        /// The name shown to others.
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        /// No password: the account signs in only with API tokens.
        #[arg(long, conflicts_with = "password_stdin")]
        no_password: bool,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disable an account: its sessions end and its tokens stop working.
    Disable {
        #[command(flatten)]
        store: StoreArgs,
        username: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[command(flatten)]
        store: StoreArgs,
        username: String,
    },
    /// Set a new password (generated and printed once, or from standard
    /// input) and end the account's sessions.
    Reset {
        #[command(flatten)]
        store: StoreArgs,
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token for an account; it is printed once.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// The account the token acts as.
        #[arg(long)]
        user: String,
        /// What the token is for (e.g. "12345 热线对接").
        #[arg(long)]
        name: String,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by its id.
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
        id: String,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Print entries of the security log as JSON lines, oldest first.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// Only entries after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// Only this action (e.g. sign_in_failed).
        #[arg(long)]
        action: Option<String>,
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10000))]
        limit: u32,
    },
    /// Recompute the security log's hash chain. Exits non-zero at the first
    /// entry that does not verify.
    Verify {
        #[command(flatten)]
        store: StoreArgs,
    },
}

async fn accounts(store: &StoreArgs) -> Result<(jiefen_store::Ledger, Accounts)> {
    let ledger = open(store, Arc::new(SystemClock)).await?;
    let accounts = Accounts::new(ledger.store().clone(), ledger.clock().clone());
    Ok((ledger, accounts))
}

fn username(raw: &str) -> Result<Username> {
    Username::parse(raw).with_context(|| format!("{raw:?}"))
}

/// A password from standard input (one line), or a generated one that is
/// printed: 20 characters from an alphabet without look-alikes.
fn password(from_stdin: bool) -> Result<(Password, Option<String>)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_to_string(&mut line)
            .context("cannot read the password from standard input")?;
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        return Ok((Password::new(line), None));
    }
    let (password, text) = Password::generate();
    Ok((password, Some(text)))
}

pub async fn user(command: UserCommand) -> Result<ExitCode> {
    match command {
        UserCommand::Add {
            store,
            username: name,
            role,
            jurisdiction,
            body,
            display_name,
            password_stdin,
            no_password,
        } => {
            let name = username(&name)?;
            let role = Role::parse(&role).with_context(|| {
                let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                format!("--role {role:?}: one of {}", all.join(", "))
            })?;
            let jurisdiction = JurisdictionCode::parse(&jurisdiction)
                .map_err(|e| anyhow::anyhow!("--jurisdiction {jurisdiction:?}: {e}"))?;
            let body = body
                .map(|b| BodyCode::parse(&b).map_err(|e| anyhow::anyhow!("--body {b:?}: {e}")))
                .transpose()?;
            let post = Post::new(role, jurisdiction, body)?;
            let (pw, shown) = if no_password {
                (None, None)
            } else {
                let (p, shown) = password(password_stdin)?;
                (Some(p), shown)
            };
            let (ledger, accounts) = accounts(&store).await?;
            let display = display_name.unwrap_or_else(|| name.to_string());
            let record = accounts
                .add_user(name, display, post, pw, CLI_ACTOR, &ledger.refs())
                .await?;
            println!(
                "added {} ({} at {})",
                record.username,
                record.post.role(),
                record.post.jurisdiction()
            );
            if let Some(p) = shown {
                println!("password: {p}");
                println!("(shown once; it is stored only as an argon2id hash)");
            }
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::List { store } => {
            let (_, accounts) = accounts(&store).await?;
            for u in accounts.users().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    u.username,
                    u.post.role(),
                    u.post.jurisdiction(),
                    u.post.body().map(|b| b.to_string()).unwrap_or_default(),
                    if u.disabled_at.is_some() {
                        "disabled"
                    } else {
                        "enabled"
                    },
                    u.display_name
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Disable { store, username: u } => {
            let (_, accounts) = accounts(&store).await?;
            accounts
                .set_disabled(&username(&u)?, true, CLI_ACTOR)
                .await?;
            println!("disabled {u}");
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Enable { store, username: u } => {
            let (_, accounts) = accounts(&store).await?;
            accounts
                .set_disabled(&username(&u)?, false, CLI_ACTOR)
                .await?;
            println!("enabled {u}");
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Reset {
            store,
            username: u,
            password_stdin,
        } => {
            let name = username(&u)?;
            let (pw, shown) = password(password_stdin)?;
            let (_, accounts) = accounts(&store).await?;
            accounts.reset_password(&name, pw, CLI_ACTOR).await?;
            println!("password of {u} reset; its sessions ended");
            if let Some(p) = shown {
                println!("password: {p}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn token(command: TokenCommand) -> Result<ExitCode> {
    match command {
        TokenCommand::Create { store, user, name } => {
            if name.trim().is_empty() || name.chars().count() > 100 {
                bail!("--name: 1–100 characters saying what the token is for");
            }
            let (_, accounts) = accounts(&store).await?;
            let (record, secret) = accounts
                .create_token(&username(&user)?, name, CLI_ACTOR)
                .await?;
            println!("token {} for {}", record.id, record.username);
            println!("{secret}");
            println!("(shown once; send it as `Authorization: Bearer <token>`)");
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::List { store, user } => {
            let who = user.as_deref().map(username).transpose()?;
            let (_, accounts) = accounts(&store).await?;
            for t in accounts.tokens(who.as_ref()).await? {
                let state = match t.revoked_at {
                    Some(at) => format!("revoked {at}"),
                    None => "live".to_owned(),
                };
                let used = t
                    .last_used_at
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "never used".into());
                println!("{}\t{}\t{}\t{}\t{}", t.id, t.username, state, used, t.name);
            }
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke { store, id } => {
            let (_, accounts) = accounts(&store).await?;
            accounts.revoke_token(&id, CLI_ACTOR).await?;
            println!("revoked {id}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn audit(command: AuditCommand) -> Result<ExitCode> {
    match command {
        AuditCommand::List {
            store,
            after,
            action,
            limit,
        } => {
            let (_, accounts) = accounts(&store).await?;
            let rows = accounts
                .audit_log(&AuditQuery {
                    after_seq: after,
                    action,
                    case_id: None,
                    limit,
                })
                .await?;
            for r in rows {
                println!("{}", r.body);
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify { store } => {
            let (_, accounts) = accounts(&store).await?;
            match accounts.verify_audit().await? {
                Ok(n) => {
                    println!("OK: security log of {n} entries, chain intact");
                    Ok(ExitCode::SUCCESS)
                }
                Err(seq) => {
                    println!("security log broken at entry {seq}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// The demo's accounts, one per role, with generated passwords kept in
/// `demo-credentials.txt` beside the data (readable by its owner only) and
/// printed at every start, so a demo can be signed into without a default
/// password anywhere in the code.
pub async fn demo_accounts(
    accounts: &Accounts,
    ledger: &jiefen_store::Ledger,
    data: &std::path::Path,
) -> Result<()> {
    let file = data.join("demo-credentials.txt");
    if !accounts.has_users().await? {
        let mut text = String::from(
            "# Demo accounts of this data directory: user, role, jurisdiction, password\n",
        );
        for (username, display, post) in jiefen_demo::city::staff() {
            let (password, shown) = Password::generate();
            let line = format!(
                "{username}\t{}\t{}\t{shown}\n",
                post.role(),
                post.jurisdiction()
            );
            accounts
                .add_user(
                    username,
                    display.to_owned(),
                    post,
                    Some(password),
                    "demo",
                    &ledger.refs(),
                )
                .await?;
            text.push_str(&line);
        }
        write_private(&file, &text)?;
    }
    match std::fs::read_to_string(&file) {
        Ok(text) => eprintln!("\n{text}(sign in at the web UI or POST /api/v1/session)\n"),
        Err(_) => eprintln!("This data directory has accounts but no demo-credentials.txt; use `jiefen user reset`."),
    }
    Ok(())
}

pub(crate) fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut f = private_file(path, true)?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// Opens a file only its owner can read, for secrets; with `replace`
/// false, an existing file is an error instead of being overwritten.
pub(crate) fn private_file(path: &std::path::Path, replace: bool) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if replace {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))
}
