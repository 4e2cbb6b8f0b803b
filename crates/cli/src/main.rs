//! `jiefen`: the thin command line over the ledger, the store and the web
//! layer. Every subcommand parses its arguments, opens what it needs, and
//! hands over; no rules live here.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use jiefen_domain::calendar::WorkCalendar;
use jiefen_domain::case::CaseId;
use jiefen_domain::policy::{Policy, Rules};
use jiefen_domain::taxonomy::Taxonomy;
use jiefen_ledger::bundle::{verify_bundle, CaseBundle, VerifyOptions};
use jiefen_ledger::checkpoint::{DeploymentKey, PublicKey, SignedCheckpoint};
use jiefen_store::blobs::BlobStore;
use jiefen_store::clock::ManualClock;
use jiefen_store::postgres::PostgresStore;
use jiefen_store::sqlite::SqliteStore;
use jiefen_store::vault::{MasterKey, Vault, MASTER_KEY_ENV};
use jiefen_store::{Clock, Ledger, Store, SystemClock};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// The category model's file in the data directory.
pub(crate) const MODEL_FILE: &str = "model.json";

/// The seed of the demo's cases, so every demo server shows the same ones.
const DEMO_SEED: u64 = 20261122;

mod backups;
mod demo;
mod import;
mod model;
mod people;
mod records;
mod search;

/// mimalloc: the write path allocates many small strings per event, and
/// glibc malloc showed as a fifth of the server's time under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "jiefen",
    version,
    about = "Jiefen 解纷 — register, route, resolve and follow up disputes, petitions and requests",
    long_about = "Jiefen 解纷 — one-stop dispute resolution and citizen appeals.\n\n\
        Start with `jiefen serve --demo`: a server with a demo city and a few thousand cases at \
        http://127.0.0.1:8080 (API under /api/v1, description at /openapi.json).\n\
        Data lives in ./jiefen-data unless you pass --data DIR; pass --database postgres://... \
        to keep cases in PostgreSQL instead of SQLite.\n\
        Every case's history is hash-chained and entered into a signed Merkle log: \
        `jiefen export --case ID > case.json` then `jiefen verify case.json` proves it was not edited."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct StoreArgs {
    /// Data directory: the SQLite database, attachments and the signing key.
    #[arg(long, env = "JIEFEN_DATA", default_value = "jiefen-data")]
    data: PathBuf,
    /// Keep cases in PostgreSQL instead (postgres://user@host/db). The data
    /// directory still holds attachments and the signing key.
    #[arg(long, env = "JIEFEN_DATABASE_URL")]
    database: Option<String>,
    /// A taxonomy file replacing the default categories (TOML).
    #[arg(long)]
    taxonomy: Option<PathBuf>,
    /// A policy file replacing the default deadlines, escalation ladder and
    /// risk factors (TOML); checked at start-up, errors name the line.
    #[arg(long, env = "JIEFEN_POLICY")]
    policy: Option<PathBuf>,
    /// A calendar file adding or correcting years of holidays ([[year]] tables).
    #[arg(long, env = "JIEFEN_CALENDAR")]
    calendar: Option<PathBuf>,
    /// Name of this deployment in signed checkpoints.
    #[arg(long, env = "JIEFEN_ORIGIN", default_value = "jiefen")]
    origin: String,
    /// The master key personal data is sealed under (a file of 64 hex
    /// digits, kept apart from the data and its backups). Or give the key
    /// itself in JIEFEN_MASTER_KEY. `serve` refuses to start without one.
    #[arg(long, env = "JIEFEN_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
}

impl StoreArgs {
    /// The master key, from the file or the environment, if given.
    fn master_key(&self) -> Result<Option<MasterKey>> {
        if let Some(path) = &self.master_key_file {
            return Ok(Some(MasterKey::from_file(path)?));
        }
        match std::env::var(MASTER_KEY_ENV) {
            Ok(text) => Ok(Some(MasterKey::parse(&text).context(MASTER_KEY_ENV)?)),
            Err(_) => Ok(None),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (JSON API, OpenAPI description, health check).
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Load the demo city and generated cases first (only into an empty store).
        #[arg(long)]
        demo: bool,
        /// How many demo cases to generate.
        #[arg(long, default_value_t = 3000)]
        demo_cases: usize,
        /// Seconds between ticks of the deadline engine (signal changes,
        /// escalations); the first runs at start-up and catches up.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
        tick_seconds: u64,
        /// Run on a clock that `POST /api/v1/engine/clock` moves forward
        /// (starting now): for browser tests and training, never for
        /// real cases, whose times would then be fiction.
        #[arg(long)]
        test_clock: bool,
        #[command(flatten)]
        web: WebArgs,
    },
    /// Fill an empty store with the demo city, its staff accounts and
    /// generated cases in every state and age, for benchmarks and trials
    /// (every case through the ledger, so its history verifies). Serve it
    /// with `jiefen serve --demo --data DIR`.
    Gen {
        #[command(flatten)]
        store: StoreArgs,
        /// How many cases.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
        cases: u64,
        /// Over how many days before today they were registered.
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(i64).range(1..=3650))]
        days: i64,
        /// The generator's seed (the same seed gives the same cases).
        #[arg(long, default_value_t = DEMO_SEED)]
        seed: u64,
    },
    /// Write a case's self-contained, verifiable bundle to standard output.
    Export {
        #[command(flatten)]
        store: StoreArgs,
        /// The case id (as shown by the API).
        #[arg(long = "case")]
        case: String,
        /// Include personal data (names, ID numbers, phones, addresses) with
        /// the salts that open their commitments.
        #[arg(long)]
        personal: bool,
        /// Add a consistency proof from this earlier checkpoint file.
        #[arg(long = "since")]
        since: Vec<PathBuf>,
    },
    /// Check an exported bundle offline. Exits non-zero naming the first bad event.
    Verify {
        /// The bundle written by `jiefen export`.
        bundle: PathBuf,
        /// The deployment's public key (ed25519:...), to pin who signed.
        #[arg(long)]
        key: Option<String>,
        /// A checkpoint taken earlier (JSON file): the history must be consistent with it.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Rebuild case projections from the events and check every hash chain.
    Rebuild {
        #[command(flatten)]
        store: StoreArgs,
        /// Only compare; change nothing. Exits non-zero on any difference.
        #[arg(long)]
        check: bool,
    },
    /// Sign a checkpoint of the Merkle log now and print it.
    Checkpoint {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print a new master key (64 hex digits) for personal data at rest.
    /// Keep it apart from the data directory and its backups: whoever has
    /// both can read every party's data.
    MasterKey,
    /// Print the deployment's public key, for `verify --key`.
    Key {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print the working-day calendar: one `YYYY-MM-DD,work|off[,assumed]` line per day.
    Calendar {
        /// First day (YYYY-MM-DD).
        from: String,
        /// Last day (YYYY-MM-DD).
        to: String,
        /// A calendar file adding or correcting years ([[year]] tables).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Manage the jurisdiction tree.
    Jurisdictions {
        #[command(subcommand)]
        command: JurisdictionsCommand,
    },
    /// Staff accounts: add, list, disable, enable, reset a password.
    User {
        #[command(subcommand)]
        command: people::UserCommand,
    },
    /// API tokens for integrations: create (shown once), list, revoke.
    Token {
        #[command(subcommand)]
        command: people::TokenCommand,
    },
    /// The security log: list entries, verify its hash chain.
    Audit {
        #[command(subcommand)]
        command: people::AuditCommand,
    },
    /// Write a backup of the SQLite store that holds no data keys, so a
    /// party erased later cannot be read from it (PostgreSQL: see README).
    Backup {
        #[command(flatten)]
        store: StoreArgs,
        /// The backup file to write (must not exist).
        #[arg(long)]
        to: PathBuf,
        /// Also export the data keys to this file (see `jiefen keys export`).
        #[arg(long)]
        keys: Option<PathBuf>,
    },
    /// Register cases from a JSON-lines or CSV file (see README for the
    /// fields); checks every record first.
    Import(import::ImportArgs),
    /// Build the search index again from the store (it also catches up by
    /// itself when the server starts).
    Reindex {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Search cases (the same language as the API's `q`) and print the
    /// best with snippets.
    Search {
        #[command(flatten)]
        store: StoreArgs,
        query: String,
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=200))]
        limit: u64,
    },
    /// The category classifier.
    Model {
        #[command(subcommand)]
        command: model::ModelCommand,
    },
    /// The parties' data keys, kept apart from data backups.
    Keys {
        #[command(subcommand)]
        command: backups::KeysCommand,
    },
    /// Restore: put a key export into a restored store (applying every
    /// erasure it records) and rebuild the identity hashes. With --from,
    /// first copy a SQLite backup into the (empty) data directory.
    Restore {
        #[command(flatten)]
        store: StoreArgs,
        /// A backup written by `jiefen backup`.
        #[arg(long)]
        from: Option<PathBuf>,
        /// The key export to restore the keys from.
        #[arg(long)]
        keys: PathBuf,
    },
    /// Erase a party's personal data on a lawful request: its key is
    /// destroyed, its values can no longer be read anywhere, the case's
    /// history still verifies. Recorded in the security log.
    Erase {
        #[command(flatten)]
        store: StoreArgs,
        /// The case id.
        #[arg(long = "case")]
        case: String,
        /// The party's number in the case.
        #[arg(long)]
        party: u32,
        /// The lawful ground, e.g. the person's request under PIPL art. 47.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
enum JurisdictionsCommand {
    /// Import jurisdictions (and bodies) from a TOML or CSV file; all or nothing.
    Import {
        #[command(flatten)]
        store: StoreArgs,
        /// `.toml` with [[jurisdiction]] and [[body]] tables, or `.csv` with code,name,level,parent.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // Run on a worker thread: the thread inside `block_on` cannot share its
    // work with the others, and under load that one thread became the
    // bottleneck.
    let result = runtime.block_on(async { tokio::spawn(run(cli)).await });
    match result.unwrap_or_else(|e| Err(anyhow::anyhow!("the command panicked: {e}"))) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::User { command } => people::user(command).await,
        Command::Token { command } => people::token(command).await,
        Command::Audit { command } => people::audit(command).await,
        Command::Backup { store, to, keys } => backups::backup(store, &to, keys.as_deref()).await,
        Command::Keys { command } => backups::keys(command).await,
        Command::Model { command } => model::model(command).await,
        Command::Import(args) => import::import(args).await,
        Command::Reindex { store } => search::reindex(store).await,
        Command::Gen {
            store,
            cases,
            days,
            seed,
        } => {
            let volume = jiefen_demo::Volume {
                cases: usize::try_from(cases)?,
                days,
                seed,
            };
            demo::generate(store, volume).await
        }
        Command::Search {
            store,
            query,
            limit,
        } => search::search(store, &query, limit as usize).await,
        Command::Restore { store, from, keys } => {
            backups::restore(store, from.as_deref(), &keys).await
        }
        Command::Erase {
            store,
            case,
            party,
            reason,
        } => backups::erase(store, &case, party, &reason).await,
        Command::Serve {
            store,
            listen,
            demo,
            demo_cases,
            tick_seconds,
            test_clock,
            web,
        } => {
            serve(
                store,
                &listen,
                ServeOptions {
                    demo,
                    demo_cases,
                    tick_seconds,
                    test_clock,
                    web,
                },
            )
            .await
        }
        Command::Export {
            store,
            case,
            personal,
            since,
        } => {
            let id = CaseId::parse(&case).with_context(|| format!("{case:?} is not a case id"))?;
            let mut earlier = Vec::new();
            for path in since {
                earlier.push(read_checkpoint(&path)?);
            }
            let ledger = open(&store, Arc::new(SystemClock)).await?;
            let bundle = match ledger.export(id, personal, &earlier).await {
                Err(jiefen_store::ledger::ProofFailure::Store(
                    jiefen_store::StoreError::NotFound,
                )) => {
                    bail!("no case {id}")
                }
                other => other?,
            };
            println!("{}", serde_json::to_string_pretty(&bundle)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify {
            bundle,
            key,
            checkpoint,
        } => verify(&bundle, key.as_deref(), checkpoint.as_deref()),
        Command::Rebuild { store, check } => {
            let ledger = open(&store, Arc::new(SystemClock)).await?;
            let report = ledger.rebuild(!check).await?;
            let rebuilt = |differ: bool| if check || !differ { "" } else { " (rebuilt)" };
            println!(
                "{} cases, {} events; {} projections differed{}; {} cases missed inbox notices{}; {} broken chains",
                report.cases,
                report.events,
                report.mismatched.len(),
                rebuilt(!report.mismatched.is_empty()),
                report.missing_notices.len(),
                rebuilt(!report.missing_notices.is_empty()),
                report.broken_chains.len()
            );
            for id in &report.mismatched {
                println!("projection differs: case {id}");
            }
            for id in &report.missing_notices {
                println!("inbox notices missing: case {id}");
            }
            for (id, seq) in &report.broken_chains {
                println!("hash chain broken: case {id} at event {seq}");
            }
            if report.tallies_mismatched {
                println!(
                    "the figures' tallies differed from a count of the cases{}",
                    rebuilt(true)
                );
            }
            let failed = !report.broken_chains.is_empty()
                || (check
                    && (report.tallies_mismatched
                        || !(report.mismatched.is_empty() && report.missing_notices.is_empty())));
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Checkpoint { store } => {
            let ledger = open(&store, Arc::new(SystemClock)).await?;
            let c = ledger.checkpoint().await?;
            println!("{}", serde_json::to_string_pretty(&c)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::MasterKey => {
            let (_, text) = MasterKey::generate();
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Key { store } => {
            let key = load_or_create_key(&store.data)?;
            println!("{}", key.public());
            Ok(ExitCode::SUCCESS)
        }
        Command::Calendar { from, to, file } => {
            use jiefen_domain::calendar::{parse_date, WorkCalendar};
            let calendar = match file {
                None => WorkCalendar::builtin(),
                Some(path) => {
                    let src = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    WorkCalendar::with_file(&src).with_context(|| format!("{}", path.display()))?
                }
            };
            let day = |s: &str| {
                parse_date(s).with_context(|| format!("{s:?} is not a date (YYYY-MM-DD)"))
            };
            let (mut d, last) = (day(&from)?, day(&to)?);
            if last < d || (last - d).whole_days() > 366 * 50 {
                bail!("give a range of at most 50 years, first day first");
            }
            let mut out = String::new();
            while d <= last {
                let s = calendar.day(d);
                let kind = if s.working { "work" } else { "off" };
                let assumed = if s.gap.is_some() { ",assumed" } else { "" };
                out.push_str(&format!("{d},{kind}{assumed}\n"));
                d = d.next_day().context("date out of range")?;
            }
            print!("{out}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Jurisdictions {
            command: JurisdictionsCommand::Import { store, file },
        } => {
            let src = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let (jurisdictions, bodies) = match file.extension().and_then(|e| e.to_str()) {
                Some("toml") => jiefen_domain::jurisdiction::import::from_toml(&src),
                Some("csv") => {
                    jiefen_domain::jurisdiction::import::from_csv(&src).map(|j| (j, Vec::new()))
                }
                _ => bail!("{}: expected a .toml or .csv file", file.display()),
            }
            .with_context(|| format!("{}", file.display()))?;
            let ledger = open(&store, Arc::new(SystemClock)).await?;
            let (j, b) = ledger
                .import_reference(jurisdictions, bodies)
                .await
                .with_context(|| format!("{}: nothing imported", file.display()))?;
            println!("imported {j} jurisdictions and {b} bodies");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn read_checkpoint(path: &Path) -> Result<SignedCheckpoint> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a signed checkpoint", path.display()))
}

fn verify(bundle_path: &Path, key: Option<&str>, checkpoint: Option<&Path>) -> Result<ExitCode> {
    let text = std::fs::read_to_string(bundle_path)
        .with_context(|| format!("cannot read {}", bundle_path.display()))?;
    let bundle: CaseBundle = match serde_json::from_str(&text) {
        Ok(b) => b,
        Err(e) => {
            println!(
                "FAILED: {} is not a case bundle: {e}",
                bundle_path.display()
            );
            return Ok(ExitCode::from(2));
        }
    };
    let pinned_key = key
        .map(|k| k.parse::<PublicKey>())
        .transpose()
        .map_err(|e| anyhow::anyhow!("--key: {e}"))?;
    let earlier_checkpoint = checkpoint.map(read_checkpoint).transpose()?;
    let opts = VerifyOptions {
        pinned_key,
        earlier_checkpoint,
    };
    match verify_bundle(&bundle, &opts) {
        Ok(report) => {
            println!(
                "OK: case {} — {} events, chain intact, all in the log of {} entries signed by key {}{}{}",
                report.case_id,
                report.events,
                report.checkpoint.tree_size,
                report.key_id,
                if report.key_pinned { " (pinned)" } else { " (not pinned: pass --key to check who signed)" },
                if report.earlier_checkpoint_checked { "; consistent with the earlier checkpoint" } else { "" },
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            match e.event_seq() {
                Some(seq) => println!("FAILED at event {seq}: {e}"),
                None => println!("FAILED: {e}"),
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// The deployment key lives in the data directory, created once with the
/// operating system's randomness and readable only by its owner.
fn load_or_create_key(data: &Path) -> Result<DeploymentKey> {
    let path = data.join("signing.key");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return DeploymentKey::parse_seed_file(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    std::fs::create_dir_all(data).with_context(|| format!("cannot create {}", data.display()))?;
    let key = DeploymentKey::from_seed(rand::random());
    let tmp = data.join(".signing.key.tmp");
    std::fs::write(&tmp, key.to_seed_file_string())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, &path)?;
    tracing::info!(path = %path.display(), public_key = %key.public(), "created the deployment signing key");
    Ok(key)
}

async fn open_store(args: &StoreArgs) -> Result<Arc<dyn Store>> {
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("cannot create {}", args.data.display()))?;
    Ok(match &args.database {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Arc::new(
                PostgresStore::connect(url, None)
                    .await
                    .context("cannot open the PostgreSQL database")?,
            )
        }
        Some(other) => bail!("--database must be a postgres:// URL, not {other:?}"),
        None => {
            let path = args.data.join("jiefen.db");
            Arc::new(
                SqliteStore::open(&path)
                    .await
                    .with_context(|| format!("cannot open {}", path.display()))?,
            )
        }
    })
}

fn taxonomy(args: &StoreArgs) -> Result<Taxonomy> {
    match &args.taxonomy {
        None => Ok(Taxonomy::default_taxonomy()),
        Some(path) => {
            let src = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Taxonomy::from_toml(&src).with_context(|| format!("{}", path.display()))
        }
    }
}

/// The policy and calendar new decisions are taken under.
fn rules(args: &StoreArgs, taxonomy: &Taxonomy) -> Result<Rules> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let policy = match &args.policy {
        None => Policy::default_policy(taxonomy),
        Some(path) => Policy::from_toml(&read(path)?, taxonomy)
            .with_context(|| format!("{}", path.display()))?,
    };
    let calendar = match &args.calendar {
        None => WorkCalendar::builtin(),
        Some(path) => {
            WorkCalendar::with_file(&read(path)?).with_context(|| format!("{}", path.display()))?
        }
    };
    Ok(Rules::new(policy, calendar))
}

async fn open_with(
    args: &StoreArgs,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    master: Option<&MasterKey>,
) -> Result<Ledger> {
    let key = load_or_create_key(&args.data)?;
    let taxonomy = taxonomy(args)?;
    let rules = rules(args, &taxonomy)?;
    let vault = master.map(Vault::new);
    let ledger = Ledger::open(store, taxonomy, clock, key, args.origin.clone(), vault).await?;
    ledger.set_rules(rules);
    Ok(ledger)
}

/// Opens the ledger with the master key if one was given: commands that
/// need personal data say so when it is missing.
async fn open(args: &StoreArgs, clock: Arc<dyn Clock>) -> Result<Ledger> {
    let store = open_store(args).await?;
    let master = args.master_key()?;
    open_with(args, store, clock, master.as_ref()).await
}

struct ServeOptions {
    demo: bool,
    demo_cases: usize,
    tick_seconds: u64,
    test_clock: bool,
    web: WebArgs,
}

/// How the server meets the network: cookies, proxies, request rates.
#[derive(Args)]
struct WebArgs {
    /// Mark the session cookie Secure: the server is reached over TLS
    /// through a proxy that does not send X-Forwarded-Proto.
    #[arg(long)]
    secure_cookies: bool,
    /// A reverse proxy (IP address) whose X-Forwarded-For names the client;
    /// repeat for several. Without it the socket's peer is the client.
    #[arg(long = "trusted-proxy")]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Requests a signed-in account may make per minute, sustained.
    #[arg(long, default_value_t = jiefen_web::ACCOUNT_RATE.per_minute, value_parser = clap::value_parser!(u32).range(1..))]
    account_rate: u32,
    /// Requests a signed-in account may make at once above that rate.
    #[arg(long, default_value_t = jiefen_web::ACCOUNT_RATE.burst, value_parser = clap::value_parser!(u32).range(1..))]
    account_burst: u32,
    /// Requests without credentials per client address per minute.
    #[arg(long, default_value_t = jiefen_web::ADDRESS_RATE.per_minute, value_parser = clap::value_parser!(u32).range(1..))]
    address_rate: u32,
    /// Requests without credentials per client address at once.
    #[arg(long, default_value_t = jiefen_web::ADDRESS_RATE.burst, value_parser = clap::value_parser!(u32).range(1..))]
    address_burst: u32,
}

impl WebArgs {
    fn apply(self, state: &mut jiefen_web::AppState) {
        use jiefen_store::throttle::{Rate, RateLimit};
        state.secure_cookies = self.secure_cookies;
        state.trusted_proxies = self.trusted_proxies;
        state.account_requests = Arc::new(RateLimit::new(Rate {
            per_minute: self.account_rate,
            burst: self.account_burst,
        }));
        state.address_requests = Arc::new(RateLimit::new(Rate {
            per_minute: self.address_rate,
            burst: self.address_burst,
        }));
    }
}

async fn serve(args: StoreArgs, listen: &str, options: ServeOptions) -> Result<ExitCode> {
    let ServeOptions {
        demo,
        demo_cases,
        tick_seconds,
        test_clock,
        web,
    } = options;
    let master = match args.master_key()? {
        Some(k) => k,
        None if demo => demo::master_key(&args.data)?,
        None => bail!(
            "no master key: personal data is encrypted at rest under a key kept apart from the data. \
             Create one with `jiefen master-key > /secure/place/jiefen.key` and give \
             --master-key-file /secure/place/jiefen.key (or the key itself in {MASTER_KEY_ENV})"
        ),
    };
    let store = open_store(&args).await?;
    if demo {
        let volume = jiefen_demo::Volume {
            cases: demo_cases,
            days: jiefen_demo::DAYS_OF_HISTORY,
            seed: DEMO_SEED,
        };
        demo::load_into_empty(&args, store.clone(), &master, volume).await?;
    }
    let moved = test_clock.then(|| Arc::new(ManualClock::new(SystemClock.now())));
    let clock: Arc<dyn Clock> = match &moved {
        Some(c) => {
            tracing::warn!("running on a test clock: POST /api/v1/engine/clock moves time");
            c.clone()
        }
        None => Arc::new(SystemClock),
    };
    let ledger = open_with(&args, store, clock, Some(&master)).await?;
    ledger.checkpoint_if_grown().await?;
    let checkpoints = ledger.clone();
    tokio::spawn(async move {
        // At least hourly, as promised to witnesses; skipped while idle.
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        every.tick().await;
        loop {
            every.tick().await;
            if let Err(e) = checkpoints.checkpoint_if_grown().await {
                tracing::error!(error = %e, "hourly checkpoint failed");
            }
        }
    });
    // One scheduler loop per server. Why one: every decision of the engine
    // is taken by the single writer against the case's recorded state, so
    // more loops could not do more work, only contend for the writer; one
    // loop also never overlaps itself, and its first tick at start-up
    // catches up on whatever fell due while the server was down. Servers
    // sharing a PostgreSQL database may each run one: the writer's log
    // lock and the recorded state keep them from firing a step twice.
    let engine = ledger.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(tick_seconds));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match engine.tick(jiefen_store::ledger::TICK_BATCH).await {
                Ok(r) if r.events > 0 => tracing::info!(
                    examined = r.examined,
                    signal_changes = r.signal_changes,
                    escalations = r.escalations,
                    events = r.events,
                    "deadline engine tick"
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "deadline engine tick failed; retrying next tick")
                }
            }
        }
    });
    let blobs = BlobStore::new(args.data.join("attachments"));
    let mut state = jiefen_web::AppState::new(ledger, blobs);
    state.search = search::follower(&args, &state.ledger).await?;
    state.search.spawn();
    let taxonomy = state.ledger.refs().taxonomy.clone();
    let reading = Arc::new(
        jiefen_web::intake::Reading::with_model_file(
            jiefen_web::shared_segmenter(),
            args.data.join(MODEL_FILE),
            &taxonomy,
        )
        .context(
            "the category model cannot be used (train it again, or remove it to use the lexicon)",
        )?,
    );
    tracing::info!(source = %reading.classifier().source, "category suggestions");
    state.reading = reading.clone();
    // A model trained while the server runs is taken up within a tick.
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(tick_seconds));
        loop {
            every.tick().await;
            let (reading, taxonomy) = (reading.clone(), taxonomy.clone());
            match tokio::task::spawn_blocking(move || reading.reload(&taxonomy, false)).await {
                Ok(Err(e)) => tracing::warn!(error = %e, "the new category model was not loaded"),
                Err(e) => tracing::warn!(error = %e, "model reload failed"),
                Ok(Ok(_)) => {}
            }
        }
    });
    web.apply(&mut state);
    state.test_clock = moved;
    if demo {
        people::demo_accounts(&state.accounts, &state.ledger, &args.data).await?;
    } else if !state.accounts.has_users().await? {
        eprintln!(
            "No accounts yet. Create the first administrator on this machine:\n  \
             jiefen user add admin --role administrator --jurisdiction <root code> --data {}",
            args.data.display()
        );
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        "serving on http://{addr} (store: {})",
        state.ledger.store().kind()
    );
    eprintln!("Jiefen is running at http://{addr}/  (API: /api/v1, OpenAPI: /openapi.json). Ctrl-C stops it.");
    jiefen_web::serve(
        listener,
        jiefen_web::router_with(state, jiefen_ui::router),
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}
