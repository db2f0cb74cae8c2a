//! `ileaps bench planning`: how good the plan is, against the best plan for
//! the same enquiries (QUALITY.md, "Planning quality"; issue 12).
//!
//! 1. **A contested scenario from a seed** ([`scenario`]): the seed
//!    registry's cities (with their countries' public holidays), a roster
//!    with leave and monthly limits, and enquiries with windows over the
//!    coming months, more than the programme can serve.
//! 2. **Played through the running services**: intake, scheduling and
//!    assignment in this process, as `ileaps run` starts them, on a private
//!    nats-server and a fresh database (the isolation of `ileaps bench`).
//!    Cities, experts and holidays are imported with the admin commands an
//!    operator uses; each enquiry is published as its city would, and the
//!    next one only once everything it set off has settled (every accepted
//!    enquiry unschedulable or in a workshop staffed at its current version,
//!    every durable consumer caught up): the easiest pace for the planner,
//!    so what is measured is the plan, not a race.
//! 3. **Judged** ([`judge`]): the plan as announced on `ileaps.events.>`
//!    ([`observe`]) is placed in the same planning instance the services
//!    build, checked by the planner's independent checker, and compared with
//!    the best plan the solver finds offline with a generous budget.
//!
//! Notifications does not run: it changes nothing in the plan, and its
//! email and webhook work would only share the two cores with the planner.

mod judge;
mod observe;
mod report;
mod scenario;

use anyhow::{Context, Result, bail};
use async_nats::jetstream;
use chrono::{DateTime, NaiveDate, Utc};
use contract::{CityCode, Service, envelope, subjects};
use futures::StreamExt;
use messaging::admin;
use service_kit::app::App;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use super::{BenchInfra, cpu};
use observe::Observed;
use scenario::{Scenario, Shape};

/// QUALITY.md's goals for the plan.
pub const GOAL_SERVED_OVER_OPTIMUM: f64 = 0.98;
pub const GOAL_LOAD_MAX_OVER_MEAN: f64 = 1.5;
pub const GOAL_P99_MS: f64 = 500.0;

/// How many days before today `--today` may be: windows open
/// [`scenario::FIRST_WINDOW_AFTER_DAYS`] after it, and must stay beyond
/// scheduling's 21 days of lead time.
const MOST_DAYS_BEFORE_TODAY: u64 = 14;

/// How long one enquiry may take to settle before the run is called broken.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// `ileaps bench planning` flags. The defaults are the contested
/// instance: 150 enquiries from 16 cities (three beneficiaries) over five
/// months, 17 experts.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanningArgs {
    /// Seed of the scenario: the same seed (and day) gives the same enquiries.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Scenarios to play, one after the other, from `--seed` on (seed,
    /// seed + 1, …), each on a fresh database; with more than one, a summary
    /// of all follows (one seed's ratio moves with its ties: docs/planning.md).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=50))]
    pub seeds: u64,
    #[arg(long, default_value_t = 150)]
    pub enquiries: usize,
    /// Cities sending enquiries, modelled on the seed registry's.
    #[arg(long, default_value_t = 16)]
    pub cities: usize,
    /// How many of the cities are beneficiaries.
    #[arg(long, default_value_t = 3)]
    pub beneficiaries: usize,
    #[arg(long, default_value_t = 17)]
    pub experts: usize,
    /// Days over which the enquiries' windows fall.
    #[arg(long, default_value_t = 150)]
    pub horizon_days: u32,
    /// Branch-and-bound nodes the offline optimum may spend on its first
    /// level (enquiries served, beneficiaries first).
    #[arg(long, default_value_t = 200_000)]
    pub optimum_nodes: u64,
    /// Objective levels of the offline optimum (1: served, which the ratio
    /// compares; 2: also the fewest workshops, so its grouping means
    /// something; 3: also the load). Each level after the first costs
    /// minutes on the full scenario.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub optimum_levels: u8,
    /// Nodes for each level of the offline optimum after the first.
    #[arg(long, default_value_t = 200)]
    pub optimum_later_nodes: u64,
    /// Run HiGHS's presolve for the offline optimum: faster on more levels,
    /// but it has called a plan optimal that another beats, here too
    /// (docs/planning.md); figures taken with it are a lower bound at best.
    #[arg(long)]
    pub optimum_presolve: bool,
    /// Enquiries published back to back before waiting for them to settle:
    /// 1 plays them one at a time (the easiest pace); more makes them queue
    /// up, as a burst does, and scheduling plans each run together
    /// (`ILEAPS_PLAN_BATCH`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub burst: u64,
    /// The day the scenarios are made for (YYYY-MM-DD; default today, UTC):
    /// windows open 35 days after it, and the holidays they meet differ
    /// from one day to the next, so runs on different days compare only
    /// when they pass the same day. At most 14 days ago (the windows must
    /// stay beyond the 21 days' lead time) and so that the last window
    /// ends within a year.
    #[arg(long)]
    pub today: Option<NaiveDate>,
    /// Where to write the JSON results (default
    /// target/ileaps-bench/planning-seed<n>-<time>.json); with `--seeds`,
    /// one file per seed, named <stem>-seed<n>.json.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Keep the bench database and the private NATS store afterwards.
    #[arg(long)]
    pub keep: bool,
}

impl PlanningArgs {
    fn check(&self) -> Result<()> {
        if !(1..=5_000).contains(&self.enquiries) {
            bail!("--enquiries must be 1-5000");
        }
        if !(1..=200).contains(&self.cities) {
            bail!("--cities must be 1-200");
        }
        if self.beneficiaries > self.cities {
            bail!("--beneficiaries must be at most --cities");
        }
        if !(1..=500).contains(&self.experts) {
            bail!("--experts must be 1-500");
        }
        if !(30..=330).contains(&self.horizon_days) {
            bail!("--horizon-days must be 30-330 (windows must end within the year intake allows)");
        }
        if let Some(today) = self.today {
            let now = Utc::now().date_naive();
            let earliest = now - chrono::Days::new(MOST_DAYS_BEFORE_TODAY);
            let latest = now
                + chrono::Days::new(
                    365 - scenario::FIRST_WINDOW_AFTER_DAYS - u64::from(self.horizon_days),
                );
            if !(earliest..=latest).contains(&today) {
                bail!(
                    "--today must be from {earliest} to {latest}: earlier, the first windows \
                     fall inside the lead time; later, the last ones end beyond the year intake allows"
                );
            }
        }
        Ok(())
    }

    fn shape(&self) -> Shape {
        Shape {
            seed: self.seed,
            enquiries: self.enquiries,
            cities: self.cities,
            beneficiaries: self.beneficiaries,
            experts: self.experts,
            horizon_days: self.horizon_days,
        }
    }
}

/// What one enquiry cost to plan, from the stream's own clock.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    /// `enquiry.received` on the stream → scheduling's answer on the stream,
    /// per enquiry, in arrival order.
    pub planning_ms: Vec<f64>,
}

impl Latencies {
    pub fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.planning_ms.clone();
        sorted.sort_by(f64::total_cmp);
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }
}

/// Everything one run measured.
#[derive(Debug)]
pub struct Results {
    pub scenario: Scenario,
    pub judgement: judge::Judgement,
    pub latencies: Latencies,
    /// Reschedules by what caused them: re-planning (to group cities or
    /// serve more) or a retry after nobody could staff a date.
    pub moves_replanned: usize,
    pub moves_after_unfilled: usize,
    pub cancelled: usize,
    /// Reason code → enquiries.
    pub unserved: BTreeMap<String, usize>,
    /// Enquiries intake refused: the generator's bug if any.
    pub rejected: usize,
    pub play_time: Duration,
    pub cpu: Option<cpu::CpuTimes>,
    pub unreadable_events: Vec<String>,
    /// Scheduling's `planning.stats`: how the enquiries were planned.
    pub planned_by: PlannedBy,
}

/// How scheduling planned the enquiries (its `planning.stats`).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedBy {
    pub optimiser: u64,
    pub first_fit_no_roster: u64,
    /// Planned first-fit because the optimiser failed: a planner bug.
    pub first_fit_after_failure: u64,
    pub latest_failures: Vec<PlanningFailure>,
}

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanningFailure {
    pub enquiry_id: String,
    pub why: String,
}

impl Results {
    /// An error, for a non-zero exit, when the run was not correct. Figures
    /// below their goals are reported, not an error.
    fn verdict(&self) -> Result<()> {
        let mut problems = Vec::new();
        if !self.judgement.violations.is_empty() {
            problems.push(format!(
                "the plan breaks {} rules",
                self.judgement.violations.len()
            ));
        }
        if self.rejected > 0 {
            problems.push(format!("intake rejected {} enquiries", self.rejected));
        }
        if self.planned_by.first_fit_after_failure > 0 {
            problems.push(format!(
                "the optimiser failed on {} enquiries (planned first-fit instead)",
                self.planned_by.first_fit_after_failure
            ));
        }
        if !self.unreadable_events.is_empty() {
            problems.push(format!(
                "{} events did not match the contract",
                self.unreadable_events.len()
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            bail!("the planning bench found problems: {}", problems.join("; "))
        }
    }
}

pub async fn run(args: PlanningArgs) -> Result<()> {
    args.check()?;
    let telemetry = telemetry::init_for_humans("ileaps-bench")?;
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build; latency and CPU figures mean little. \
             Run `cargo run --release -p ileaps -- bench planning`."
        );
    }
    let mut runs = Vec::new();
    for seed in args.seed..args.seed.saturating_add(args.seeds) {
        let one = PlanningArgs {
            seed,
            // One file per seed: `--json x.json` becomes x-seed<n>.json.
            json: args.json.as_ref().map(|path| {
                if args.seeds == 1 {
                    path.clone()
                } else {
                    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
                    path.with_file_name(format!("{stem}-seed{seed}.json"))
                }
            }),
            ..args.clone()
        };
        let result = run_one(&one).await;
        if let Err(error) = &result {
            eprintln!("seed {seed}: {error:#}");
        }
        runs.push((seed, result));
    }
    telemetry.shutdown();
    if args.seeds > 1 {
        report::print_summary(&runs);
    }
    let failed: Vec<u64> = runs
        .iter()
        .filter(|(_, r)| r.is_err())
        .map(|(seed, _)| *seed)
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        bail!("the planning bench failed for seeds {failed:?} (above)")
    }
}

/// One seed's run: plays it, judges it, prints its table and writes its
/// JSON. The figures, or why the run was not correct.
async fn run_one(args: &PlanningArgs) -> Result<Summary> {
    let started_at = Utc::now();
    let stamp = format!(
        "{}-{}",
        started_at.format("%Y%m%d-%H%M%S"),
        std::process::id()
    );
    let registry =
        crate::operator::read_city_file(&crate::demo::seed_file(crate::demo::SEED_CITIES))?;
    let today = args.today.unwrap_or_else(|| started_at.date_naive());
    let scenario = Scenario::generate(args.shape(), &registry, today)?;
    println!(
        "ileaps bench planning: seed {}, {} enquiries from {} cities ({} beneficiaries), {} experts, windows from {} over {} days",
        args.seed,
        args.enquiries,
        args.cities,
        args.beneficiaries,
        args.experts,
        scenario.first_day,
        args.horizon_days
    );
    println!("setting up a private nats-server and a fresh database…");
    let (infra, settings) = BenchInfra::start(&stamp, args.keep).await?;
    let result = tokio::select! {
        result = measure(args, &infra, settings, scenario) => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    infra.stop().await;
    let results = result?;
    let path = args.json.clone().unwrap_or_else(|| {
        let default = super::report::default_json_path(&started_at);
        let name = default
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        default.with_file_name(format!("planning-seed{}-{name}", args.seed))
    });
    super::report::write_json(&path, &report::json_document(args, &started_at, &results))?;
    report::print_table(args, &results);
    println!("\nresults: {}", super::report::shown(&path).display());
    results.verdict()?;
    Ok(Summary::of(&results))
}

/// One seed's headline figures, for the summary of several.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub served: usize,
    pub optimum: usize,
    pub served_over_optimum: f64,
    pub load_max_over_mean: f64,
    pub p99_ms: f64,
}

impl Summary {
    fn of(results: &Results) -> Self {
        let j = &results.judgement;
        Self {
            served: j.announced.served,
            optimum: j.optimum.served,
            served_over_optimum: j.served_over_optimum(),
            load_max_over_mean: j.announced.load_max_over_mean,
            p99_ms: results.latencies.percentile(99.0),
        }
    }
}

async fn measure(
    args: &PlanningArgs,
    infra: &BenchInfra,
    settings: service_kit::Settings,
    scenario: Scenario,
) -> Result<Results> {
    let shutdown = CancellationToken::new();
    let planning_services: Vec<_> = crate::services::all()
        .into_iter()
        .filter(|def| def.service != Service::Notifications)
        .collect();
    let app = App::start(settings, planning_services, shutdown.clone())
        .await
        .context("starting the services")?;
    let client = app.runtime().nats.clone();
    let js = app.runtime().js.clone();
    let played = async {
        let holidays = set_up(&client, &scenario).await?;
        let cpu_before = cpu::CpuTimes::read(infra.nats.pid());
        let started = std::time::Instant::now();
        let observed = play(&js, &scenario, args.burst as usize).await?;
        let play_time = started.elapsed();
        let cpu = cpu::CpuTimes::read(infra.nats.pid())
            .zip(cpu_before)
            .map(|(after, before)| after.since(&before));
        let stats = admin::request(
            &client,
            Service::Scheduling,
            "planning.stats",
            &serde_json::Value::Null,
            Duration::from_secs(30),
        )
        .await
        .context("asking scheduling how it planned")?;
        let planned_by: PlannedBy =
            serde_json::from_value(stats).context("scheduling's planning.stats")?;
        Ok::<_, anyhow::Error>((holidays, observed, play_time, cpu, planned_by))
    }
    .await;
    shutdown.cancel();
    let stopped = app.wait().await;
    let (holidays, observed, play_time, cpu, planned_by) = played?;
    stopped.context("the services did not stop cleanly")?;

    println!("judging the plan and computing the best one offline…");
    // The rules the services planned by (`ILEAPS_*`, the defaults when unset).
    let rules = scheduling::settings::rules_from_env()?;
    // Minutes of HiGHS on this thread: the runtime's other workers carry on.
    let judgement = tokio::task::block_in_place(|| {
        judge::judge(
            &scenario,
            &observed,
            holidays,
            &rules,
            &judge::Offline {
                nodes: args.optimum_nodes,
                levels: usize::from(args.optimum_levels),
                later_nodes: args.optimum_later_nodes,
                presolve: args.optimum_presolve,
            },
        )
    })?;
    Ok(summarise(
        scenario, observed, judgement, play_time, cpu, planned_by,
    ))
}

/// Registers the cities, imports the roster and every holiday calendar the
/// scenario's countries need, and waits until scheduling knows the roster.
/// Returns the holidays, as the judge needs them.
async fn set_up(
    client: &async_nats::Client,
    scenario: &Scenario,
) -> Result<BTreeMap<String, BTreeSet<NaiveDate>>> {
    let timeout = Duration::from_secs(30);
    admin::request(
        client,
        Service::Intake,
        "cities.import",
        &scenario.cities_document(),
        timeout,
    )
    .await
    .context("registering the scenario's cities")?;
    admin::request(
        client,
        Service::Assignment,
        "experts.import",
        &scenario.roster_document(),
        timeout,
    )
    .await
    .context("importing the scenario's roster")?;
    let folder = crate::demo::seed_file(crate::demo::SEED_HOLIDAYS);
    let mut holidays = BTreeMap::new();
    for country in scenario.countries() {
        let file = folder.join(format!("{country}.ics"));
        if !file.exists() {
            println!("  no seed holidays for {country}: none apply");
            continue;
        }
        let body = crate::operator::read_holiday_file(&country, &file)?;
        admin::request(
            client,
            Service::Scheduling,
            "holidays.import",
            &body,
            timeout,
        )
        .await
        .with_context(|| format!("importing {}", file.display()))?;
        let text = body["ics"].as_str().unwrap_or_default();
        let calendar = scheduling::holidays::parse_calendar(text)
            .map_err(|problems| anyhow::anyhow!("{}: {problems}", file.display()))?;
        holidays.insert(country, calendar.days.into_keys().collect());
    }
    crate::demo::wait_for_the_planners_roster(client).await?;
    Ok(holidays)
}

/// Publishes the enquiries `burst` at a time, each burst once everything
/// the one before set off has settled, and returns what the events told.
async fn play(js: &jetstream::Context, scenario: &Scenario, burst: usize) -> Result<Observed> {
    let stream = js
        .get_stream(subjects::STREAM_EVENTS)
        .await
        .context("the events stream is not there")?;
    let mut events = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig {
            filter_subject: subjects::EVENTS_ALL.to_owned(),
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await?
        .messages()
        .await?;
    let mut observed = Observed::default();
    let progress = report::progress(scenario.enquiries.len());
    let indexed: Vec<(usize, &scenario::Enquiry)> = scenario.enquiries.iter().enumerate().collect();
    for chunk in indexed.chunks(burst.max(1)) {
        let mut inbound_ids = Vec::with_capacity(chunk.len());
        for &(e, enquiry) in chunk {
            let city = CityCode::parse(&scenario.cities[enquiry.city].code)?;
            let body = serde_json::to_vec(&scenario.enquiry_body(e))?;
            inbound_ids.push(
                crate::submit::publish(js, &city, contract::event_types::ENQUIRY_SUBMIT, body)
                    .await?,
            );
        }
        let &(e, enquiry) = chunk.last().expect("chunks are never empty");
        let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT * chunk.len() as u32;
        loop {
            let settled = inbound_ids
                .iter()
                .all(|id| observed.inbound.contains_key(id))
                && observed.unsettled() == 0
                && observed.workshops_in_flight() == 0;
            if settled && quiet(js).await? {
                break;
            }
            let wait = if settled {
                Duration::from_millis(20)
            } else {
                Duration::from_millis(500)
            };
            match tokio::time::timeout(wait, events.next()).await {
                Ok(Some(message)) => {
                    let message = message?;
                    let ce_type =
                        envelope::header(message.headers.as_ref(), envelope::TYPE).unwrap_or("");
                    let at = message
                        .info()
                        .ok()
                        .and_then(|info| {
                            let nanos = info.published.unix_timestamp_nanos();
                            i64::try_from(nanos).ok()
                        })
                        .map(DateTime::from_timestamp_nanos)
                        .unwrap_or_else(Utc::now);
                    observed.apply(ce_type, &message.payload, at);
                }
                Ok(None) => bail!("the events stream ended"),
                Err(_) => {}
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "enquiry {} of {} ({}) did not settle within {} s: {} enquiries unsettled, {} workshops waiting for staff",
                    e + 1,
                    scenario.enquiries.len(),
                    enquiry.reference,
                    SETTLE_TIMEOUT.as_secs() * chunk.len() as u64,
                    observed.unsettled(),
                    observed.workshops_in_flight()
                );
            }
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    Ok(observed)
}

/// Whether every durable consumer of the programme's streams has taken and
/// acknowledged everything: nothing the last enquiry set off is still on
/// its way (a hold to scheduling's read model, say).
async fn quiet(js: &jetstream::Context) -> Result<bool> {
    for name in [
        subjects::STREAM_INBOUND,
        subjects::STREAM_EVENTS,
        subjects::STREAM_INTERNAL,
    ] {
        let stream = js.get_stream(name).await?;
        let mut consumers = stream.consumers();
        while let Some(info) = consumers.next().await {
            let info = info?;
            if info.config.durable_name.is_some()
                && (info.num_pending > 0 || info.num_ack_pending > 0)
            {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

fn summarise(
    scenario: Scenario,
    observed: Observed,
    judgement: judge::Judgement,
    play_time: Duration,
    cpu: Option<cpu::CpuTimes>,
    planned_by: PlannedBy,
) -> Results {
    let planning_ms = observed
        .received
        .iter()
        .filter_map(|r| r.planned_at.map(|at| (at - r.at).as_seconds_f64() * 1000.0))
        .collect();
    let reasons = observed.workshops.values().flat_map(|w| w.moves.iter());
    let (after_unfilled, replanned): (Vec<&String>, Vec<&String>) =
        reasons.partition(|reason| reason.starts_with("NO_EXPERT"));
    let mut unserved: BTreeMap<String, usize> = BTreeMap::new();
    for (code, _) in observed.unschedulable.values() {
        *unserved.entry(code.clone()).or_default() += 1;
    }
    let never_settled = observed
        .received
        .iter()
        .filter(|r| !observed.is_settled(&r.event.enquiry_id))
        .count();
    if never_settled > 0 {
        unserved.insert("NOT_SETTLED".to_owned(), never_settled);
    }
    Results {
        latencies: Latencies { planning_ms },
        moves_replanned: replanned.len(),
        moves_after_unfilled: after_unfilled.len(),
        cancelled: observed
            .workshops
            .values()
            .filter(|w| w.cancelled.is_some())
            .count(),
        unserved,
        rejected: observed.inbound.values().filter(|o| o.is_err()).count(),
        play_time,
        cpu,
        unreadable_events: observed.unreadable.clone(),
        planned_by,
        scenario,
        judgement,
    }
}
