//! `ileaps bench`: how fast the system moves enquiries, as a ratio against
//! ceilings measured in the same run on the same NATS and Postgres (see
//! `QUALITY.md`, "The benchmark").
//!
//! For now it measures the **intake hop** only: many cities publish valid
//! enquiries (and a few invalid ones) as fast as they can, and the clock runs
//! from the first publish until every message's outcome
//! (`ileaps.events.enquiry.received` or `.rejected`) is on `ILEAPS_EVENTS`.
//! Later issues extend it to the whole pipeline.
//!
//! # Isolation
//!
//! Figures must not depend on what a developer's machine already holds, and
//! a benchmark must not leave 20,000 enquiries in someone's database:
//!
//! - **NATS: always a private nats-server**, started for the run with its own
//!   store under `target/ileaps-local/bench-<time>-<pid>/` and deleted at the
//!   end (unless `--keep`). A developer's server may hold millions of
//!   messages, other consumers, stream limits or a duplicate window full of
//!   old ids; all of those change publish and consume rates. A private server
//!   costs a second to start and makes every run start from empty streams.
//! - **Postgres: the one `ileaps run` would use** (`ILEAPS_DATABASE_URL`, or
//!   the private cluster under `target/ileaps-local/postgres` when nothing
//!   answers there), but a **fresh database** `ileaps_bench_<time>_<pid>`,
//!   dropped at the end unless `--keep`. A second Postgres cluster would cost
//!   an `initdb` per run and measure a different server than the one the
//!   services normally use; a fresh database gives empty tables and indexes
//!   on the same server, so `pg_commit_tps` and the hop see the same disk.
//!
//! The ceilings are measured before the services start, so nothing else
//! competes with them; the hop then runs with intake in this process,
//! exactly as `ileaps run` starts it, and the load generator sharing the
//! machine (as QUALITY.md prescribes). Only intake runs: the hop times
//! intake alone, and scheduling, assignment and notifications would spend
//! the same two cores on the accepted enquiries' next steps, which this hop
//! does not wait for (the whole-pipeline benchmark will).
//!
//! # Layout
//!
//! - [`ceilings`]: `pg_commit_tps` and `js_publish_rate`.
//! - [`cpu`]: the CPU time each process spent during the hop.
//! - [`intake_hop`]: cities, the enquiries they send, publishing, and
//!   counting outcomes.
//! - [`report`]: progress bars, the table, the JSON file.
//! - [`planning`]: `ileaps bench planning`, the quality of the plan (its own
//!   module doc says how).

mod ceilings;
mod cpu;
mod intake_hop;
pub mod planning;
mod report;

/// The modes of `ileaps bench` besides the intake hop (the default).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Mode {
    /// How good the plan is: a contested scenario from a seed played through
    /// intake, scheduling and assignment, judged against the best plan for
    /// the same enquiries computed offline (served ÷ optimum, beneficiaries,
    /// grouping, expert load, moves, planning latency, rule violations).
    /// Writes target/ileaps-bench/planning-<time>.json.
    Planning(planning::PlanningArgs),
}

use anyhow::{Context, Result, bail};
use chrono::Utc;
use local_infra::{NatsOptions, NatsServer};
use service_kit::app::App;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The target of QUALITY.md for the intake hop alone: enquiries per second
/// at least three times what Postgres commits with one-row transactions.
pub const TARGET_RATIO: f64 = 3.0;

/// `ileaps bench` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Enquiries the cities publish in the intake hop.
    #[arg(long, default_value_t = 20_000)]
    pub enquiries: usize,
    /// Cities publishing at once (registered as bench-city-000, -001, ...).
    #[arg(long, default_value_t = 50)]
    pub cities: usize,
    /// Fraction of the enquiries that are invalid and must be rejected.
    #[arg(long, default_value_t = 0.05)]
    pub invalid_ratio: f64,
    /// Where to write the JSON results (default target/ileaps-bench/<time>.json).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Keep the bench database and the private NATS store afterwards.
    #[arg(long)]
    pub keep: bool,
    /// Seconds each ceiling is measured for.
    #[arg(long, default_value_t = 3.0)]
    pub ceiling_secs: f64,
}

impl BenchArgs {
    fn check(&self) -> Result<()> {
        if self.enquiries == 0 {
            bail!("--enquiries must be at least 1");
        }
        if !(1..=1000).contains(&self.cities) {
            bail!("--cities must be 1-1000");
        }
        if !(0.0..=1.0).contains(&self.invalid_ratio) {
            bail!("--invalid-ratio must be between 0 and 1");
        }
        if !(self.ceiling_secs > 0.0 && self.ceiling_secs <= 60.0) {
            bail!("--ceiling-secs must be more than 0 and at most 60");
        }
        Ok(())
    }
}

/// The private servers and database of one run, and how to give them back.
struct BenchInfra {
    nats: NatsServer,
    local: local_infra::LocalInfra,
    database: String,
    admin_url: String,
    keep: bool,
}

impl BenchInfra {
    async fn start(stamp: &str, keep: bool) -> Result<(Self, service_kit::Settings)> {
        let store = crate::services::data_root().join(format!("bench-{stamp}"));
        let options = NatsOptions::new(&store);
        let nats = if keep {
            NatsServer::start(options).await
        } else {
            NatsServer::start_disposable(options).await
        }
        .context("starting the bench's private nats-server")?;

        let mut settings = service_kit::Settings::from_env()?.with_client_name("ileaps-bench");
        let database = format!("ileaps_bench_{}", stamp.replace('-', "_"));
        let configured = secrecy::ExposeSecret::expose_secret(&settings.database_url).to_owned();
        let bench_url = local_infra::with_database(&configured, &database)?;
        // `ensure` finds our nats-server answering and uses it; for Postgres it
        // uses what answers or starts the private cluster, then creates the
        // bench database.
        let local =
            local_infra::LocalInfra::ensure(&nats.url(), &bench_url, &crate::services::data_root())
                .await
                .context("setting up Postgres for the bench")?;
        settings.nats_url = nats.url();
        settings.nats_creds = None;
        settings.nats_user = None;
        settings.nats_password = None;
        settings.database_url = local.database_url.clone().into();
        // Any free port: an `ileaps run` may hold the usual one.
        settings.http_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let admin_url = local_infra::with_database(&local.database_url, "postgres")?;
        Ok((
            Self {
                nats,
                local,
                database,
                admin_url,
                keep,
            },
            settings,
        ))
    }

    fn database_url(&self) -> &str {
        &self.local.database_url
    }

    async fn stop(mut self) {
        if self.keep {
            println!(
                "kept: database {} ({}), NATS store {}",
                self.database,
                local_infra::redact(&self.local.database_url),
                report::shown(self.nats.store_dir()).display()
            );
        } else if let Err(error) = self.drop_database().await {
            eprintln!(
                "warning: could not drop the bench database {}: {error:#}",
                self.database
            );
        }
        self.nats.stop().await;
        self.local.shutdown().await;
    }

    async fn drop_database(&self) -> Result<()> {
        let admin = local_infra::connect_postgres(&self.admin_url).await?;
        let statement = format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            local_infra::quote_identifier(&self.database)
        );
        let result = sqlx::raw_sql(&statement).execute(&admin).await;
        admin.close().await;
        result?;
        Ok(())
    }
}

pub async fn run(args: BenchArgs) -> Result<()> {
    args.check()?;
    let telemetry = telemetry::init_for_humans("ileaps-bench")?;
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build; its figures mean nothing. \
             Run `cargo run --release -p ileaps -- bench`."
        );
    }
    let started_at = Utc::now();
    let stamp = format!(
        "{}-{}",
        started_at.format("%Y%m%d-%H%M%S"),
        std::process::id()
    );
    println!("ileaps bench: setting up a private nats-server and a fresh database…");
    let (infra, settings) = BenchInfra::start(&stamp, args.keep).await?;
    // Ctrl-C still gives the database and the private server back.
    let result = tokio::select! {
        result = measure(&args, &infra, settings, &stamp) => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    infra.stop().await;
    telemetry.shutdown();
    let results = result?;
    let path = args
        .json
        .clone()
        .unwrap_or_else(|| report::default_json_path(&started_at));
    let document = report::json_document(&args, &started_at, &results);
    report::write_json(&path, &document)?;
    report::print_table(&args, &results);
    println!("\nresults: {}", report::shown(&path).display());
    results.verdict()
}

/// Everything one run measured.
#[derive(Debug)]
pub struct Results {
    pub environment: report::Environment,
    pub ceilings: ceilings::Ceilings,
    pub hop: intake_hop::HopResult,
    /// What Postgres did for the bench database while the hop ran (services
    /// start to stop): how well work was batched.
    pub db: report::DbActivity,
    /// CPU spent by each process from the hop's start to its last outcome;
    /// `None` where `/proc` cannot be read.
    pub cpu: Option<cpu::CpuTimes>,
}

impl Results {
    /// The ratio QUALITY.md sets a target for.
    pub fn ratio(&self) -> f64 {
        self.hop.enquiries_per_s() / self.ceilings.pg_commit_tps
    }

    /// An error, for a non-zero exit, when the run was not correct. Speed
    /// below the target is reported, not an error: figures are noisy here.
    fn verdict(&self) -> Result<()> {
        let problems = self.hop.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            bail!("the intake hop was not correct: {}", problems.join("; "))
        }
    }
}

async fn measure(
    args: &BenchArgs,
    infra: &BenchInfra,
    settings: service_kit::Settings,
    stamp: &str,
) -> Result<Results> {
    let progress = report::Progress::new();
    let client = async_nats::ConnectOptions::new()
        .name("ileaps-bench-load")
        .connect(infra.nats.url())
        .await
        .context("connecting to the bench's nats-server")?;
    let js = async_nats::jetstream::new(client.clone());
    let environment =
        report::Environment::read(&client, infra.database_url(), &infra.database, &infra.nats)
            .await?;
    println!(
        "  nats-server {} (private, {})\n  PostgreSQL {} (database {}), synchronous_commit={}, fsync={}\n",
        environment.nats_version,
        report::shown(infra.nats.store_dir()).display(),
        environment.postgres_version,
        infra.database,
        environment.synchronous_commit,
        environment.fsync,
    );

    let duration = Duration::from_secs_f64(args.ceiling_secs);
    let ceilings = ceilings::measure(&progress, infra.database_url(), &js, duration).await?;

    let shutdown = CancellationToken::new();
    // The intake hop alone: the other services would compete for the same two
    // cores with work (scheduling, acknowledgements) this hop does not time.
    let intake_only: Vec<_> = crate::services::all()
        .into_iter()
        .filter(|def| def.service == contract::Service::Intake)
        .collect();
    let app = App::start(settings, intake_only, shutdown.clone())
        .await
        .context("starting the services")?;
    let db_before = report::DbActivity::read(infra.database_url()).await?;
    let cpu_before = cpu::CpuTimes::read(infra.nats.pid());
    let hop = intake_hop::run(
        &progress,
        &client,
        &js,
        &intake_hop::HopOptions {
            enquiries: args.enquiries,
            cities: args.cities,
            invalid_ratio: args.invalid_ratio,
            run_tag: stamp.replace('-', ""),
        },
    )
    .await;
    let cpu = cpu::CpuTimes::read(infra.nats.pid())
        .zip(cpu_before)
        .map(|(after, before)| after.since(&before));
    shutdown.cancel();
    let stopped = app.wait().await;
    client.drain().await.ok();
    let hop = hop?;
    stopped.context("the services did not stop cleanly")?;
    // Read once the services' connections are closed: a backend reports its
    // counts when it exits at the latest.
    let db = report::DbActivity::read(infra.database_url())
        .await?
        .since(&db_before);
    Ok(Results {
        environment,
        ceilings,
        hop,
        db,
        cpu,
    })
}
