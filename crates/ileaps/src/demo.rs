//! `ileaps demo`: the services, the seed's cities, and a week of enquiries
//! from them, good and bad, shown as they are handled.

use crate::events;
use crate::feed::{FeedItem, scenario};
use crate::programme::Programme;
use crate::services::{all, settings_with_infra};
use anyhow::{Context, Result};
use async_nats::HeaderMap;
use contract::{CityCode, Service, envelope, subjects};
use futures::StreamExt;
use messaging::admin;
use serde_json::Value;
use service_kit::app::App;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

pub(crate) const SEED_CITIES: &str = "deploy/seed/cities.yaml";
const SEED_EXPERTS: &str = "deploy/seed/experts.yaml";
pub(crate) const SEED_HOLIDAYS: &str = "deploy/seed/holidays";

/// What happened to one message of the feed.
#[derive(Debug, Default, Clone)]
struct Outcome {
    what: String,
    detail: String,
}

pub async fn run(keep_running: bool) -> Result<()> {
    let telemetry = telemetry::init_for_humans("ileaps-demo")?;
    let (settings, infra) = settings_with_infra().await?;
    let shutdown = service_kit::shutdown_on_signals();
    let app = App::start(settings, all(), shutdown.clone()).await?;
    let runtime = app.runtime().clone();
    let names: Vec<&str> = all().iter().map(|def| def.service.name()).collect();
    println!(
        "\n== ileaps demo ==  services: {}  ·  health: http://{}/readyz\n",
        names.join(", "),
        app.http_addr()
    );

    let result = play(&runtime.nats, &runtime.js).await;
    if let Err(error) = &result {
        eprintln!("demo failed: {error:#}");
    }
    if keep_running && result.is_ok() {
        println!("\nservices keep running; try `ileaps tail` in another terminal. Ctrl-C to stop.");
        shutdown.cancelled().await;
    } else {
        shutdown.cancel();
    }
    app.wait().await?;
    infra.shutdown().await;
    telemetry.shutdown();
    result
}

/// A seed file or folder of `deploy/seed/`, from the checkout or the
/// working directory.
pub(crate) fn seed_file(relative: &str) -> PathBuf {
    let in_checkout = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative);
    if in_checkout.exists() {
        in_checkout
    } else {
        PathBuf::from(relative)
    }
}

/// Imports every seed holiday calendar (`deploy/seed/holidays/<CC>.ics`),
/// so the demo's plans keep clear of the cities' and Korea's holidays.
async fn import_seed_holidays(client: &async_nats::Client) -> Result<()> {
    let folder = seed_file(SEED_HOLIDAYS);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .with_context(|| format!("reading {}", folder.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|path| path.extension().is_some_and(|e| e == "ics"));
    files.sort();
    let mut imported = Vec::new();
    for file in &files {
        let country = file
            .file_stem()
            .and_then(|s| s.to_str())
            .context("a holiday file named by its country")?;
        let body = crate::operator::read_holiday_file(country, file)?;
        let reply = admin::request(
            client,
            Service::Scheduling,
            "holidays.import",
            &body,
            Duration::from_secs(10),
        )
        .await
        .with_context(|| format!("importing {}", file.display()))?;
        imported.push(format!("{country} {}", reply["days"]));
    }
    println!(
        "imported the seed's public holidays (days per country): {}\n",
        imported.join(", ")
    );
    Ok(())
}

/// Waits (up to 10 s) until scheduling's read model holds every expert
/// assignment has, so the first enquiries are planned knowing who can staff
/// them; says so and goes on if it does not (they are planned first-fit).
pub(crate) async fn wait_for_the_planners_roster(client: &async_nats::Client) -> Result<()> {
    let count = |service, command| async move {
        admin::request(
            client,
            service,
            command,
            &serde_json::json!({}),
            Duration::from_secs(5),
        )
        .await
        .ok()
        .and_then(|listed| listed.as_array().map(Vec::len))
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let experts = count(Service::Assignment, "experts.list").await;
        let known = count(Service::Scheduling, "roster.list").await;
        if let (Some(experts), Some(known)) = (experts, known)
            && known == experts
        {
            println!("the planner knows all {known} experts\n");
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            println!(
                "  (the planner does not know the roster yet: the first enquiries are planned first-fit)\n"
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn play(client: &async_nats::Client, js: &async_nats::jetstream::Context) -> Result<()> {
    let cities = crate::operator::read_city_file(&seed_file(SEED_CITIES))?;
    let imported = admin::request(
        client,
        Service::Intake,
        "cities.import",
        &cities,
        Duration::from_secs(10),
    )
    .await
    .context("registering the seed's cities")?;
    println!("registered the seed's cities: {imported}");
    let roster = crate::operator::read_roster_file(&seed_file(SEED_EXPERTS))?;
    let imported = admin::request(
        client,
        Service::Assignment,
        "experts.import",
        &roster,
        Duration::from_secs(10),
    )
    .await
    .context("importing the seed's expert roster")?;
    println!(
        "imported the seed's experts: {} added, {} updated",
        imported["added"].as_array().map_or(0, Vec::len),
        imported["updated"].as_array().map_or(0, Vec::len)
    );
    import_seed_holidays(client).await?;
    wait_for_the_planners_roster(client).await?;
    let mut programme_stream = events::reader(js, subjects::EVENTS_ALL, false).await?;
    let mut notification_stream = events::reader(js, "ileaps.events.notification.>", false).await?;
    let started = std::time::SystemTime::now();

    let mut outcomes_stream = events::reader(js, "ileaps.events.enquiry.>", false).await?;
    let now = chrono::Utc::now();
    let items = scenario(now.date_naive(), &now.format("%H%M%S").to_string());
    let mut by_inbound: HashMap<String, usize> = HashMap::new();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; items.len()];
    for (index, item) in items.iter().enumerate() {
        let id = publish(js, item).await?;
        println!("→ {:<12} {}", item.city, item.label);
        by_inbound.insert(id, index);
    }
    // A resubmission of an accepted enquiry is a no-op: no outcome to wait for.
    let expected = items.iter().filter(|i| !i.label.contains("no-op")).count();
    println!("\nwhat the programme said:");
    let mut seen = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while seen < expected {
        let Ok(Some(message)) = tokio::time::timeout_at(deadline, outcomes_stream.next()).await
        else {
            println!("  (stopped waiting: {seen} of {expected} outcomes arrived within 30 s)");
            break;
        };
        let message = message?;
        let body: Value = serde_json::from_slice(&message.payload).unwrap_or_default();
        println!("  {}", events::describe(&message));
        let index = body["inboundId"]
            .as_str()
            .and_then(|id| by_inbound.get(id).copied())
            .or_else(|| {
                // A withdrawal's event names the enquiry, not the message.
                items
                    .iter()
                    .position(|i| i.label.contains("withdraws") && body["city"] == i.city)
            });
        if let Some(index) = index {
            let ce_type = envelope::header(message.headers.as_ref(), envelope::TYPE).unwrap_or("");
            outcomes[index] = Some(Outcome {
                what: ce_type
                    .trim_start_matches("ileaps.enquiry.")
                    .trim_end_matches(".v1")
                    .to_owned(),
                detail: events::summary(&body),
            });
            seen += 1;
        }
    }
    summary(&items, &outcomes);
    let accepted = outcomes
        .iter()
        .flatten()
        .filter(|o| o.what == "received")
        .count();
    plan(&mut programme_stream, accepted).await?;
    notifications(&mut notification_stream, started).await
}

/// What notifications told whom: deliveries by notice and channel, once
/// they stop coming, and the messages in the mail folder.
async fn notifications(
    stream: &mut async_nats::jetstream::consumer::pull::Ordered,
    started: std::time::SystemTime,
) -> Result<()> {
    println!(
        "
notifications (email, the cities' own feeds, webhooks):"
    );
    let mut counts: BTreeMap<(String, String, &str), usize> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    // Confirmations follow staffing within a second or two; stop once
    // nothing has come for 3 s. Reminders are days away and stay pending.
    while let Ok(Ok(Some(Ok(message)))) = tokio::time::timeout_at(
        deadline,
        tokio::time::timeout(Duration::from_secs(3), stream.next()),
    )
    .await
    {
        let body: Value = serde_json::from_slice(&message.payload).unwrap_or_default();
        let result = if message.subject.ends_with(".delivered") {
            "delivered"
        } else {
            "failed"
        };
        let text = |key: &str| body[key].as_str().unwrap_or("").to_owned();
        *counts
            .entry((text("notice"), text("channel"), result))
            .or_default() += 1;
    }
    for ((notice, channel, result), n) in &counts {
        println!("  {notice:<24} {channel:<10} {result:<9} {n}");
    }
    let dir = crate::services::mail_dir();
    let mut mail: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "eml"))
        .filter(|entry| {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= started)
        })
        .map(|entry| {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            (entry.path(), text)
        })
        .collect();
    mail.sort();
    println!(
        "
{} emails written to {} (no ILEAPS_SMTP_URL set), e.g.:",
        mail.len(),
        dir.display()
    );
    for (path, text) in mail.iter().take(6) {
        let header = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or("")
                .trim()
                .to_owned()
        };
        println!(
            "  {}  to {}  subject {}",
            path.file_name().unwrap_or_default().to_string_lossy(),
            header("To:"),
            header("Subject:")
        );
    }
    Ok(())
}

/// Follows scheduling and assignment until every accepted enquiry is staffed,
/// withdrawn or found unschedulable, then shows the plan.
async fn plan(
    stream: &mut async_nats::jetstream::consumer::pull::Ordered,
    accepted: usize,
) -> Result<()> {
    println!("\nplanning:");
    let mut programme = Programme::default();
    let mut received = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while received < accepted || programme.unsettled() > 0 {
        let Ok(Some(message)) = tokio::time::timeout_at(deadline, stream.next()).await else {
            println!(
                "  (stopped waiting after 60 s: {} enquiries not settled)",
                programme.unsettled()
            );
            break;
        };
        let message = message?;
        let ce_type = envelope::header(message.headers.as_ref(), envelope::TYPE).unwrap_or("");
        let body: Value = serde_json::from_slice(&message.payload).unwrap_or_default();
        if ce_type == "ileaps.enquiry.received.v1" {
            received += 1;
        }
        if ce_type.starts_with("ileaps.workshop.") || ce_type.starts_with("ileaps.assignment.") {
            println!("  {}", events::describe(&message));
        }
        programme.apply(ce_type, &body);
    }
    // What follows a settled state at once (a cancellation after an
    // unschedulable, a release after a cancellation) belongs in the picture.
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_millis(500), stream.next()).await
    {
        let ce_type = envelope::header(message.headers.as_ref(), envelope::TYPE).unwrap_or("");
        let body: Value = serde_json::from_slice(&message.payload).unwrap_or_default();
        println!("  {}", events::describe(&message));
        programme.apply(ce_type, &body);
    }
    println!("\n== the programme's plan ==\n{}", programme.render());
    Ok(())
}

async fn publish(js: &async_nats::jetstream::Context, item: &FeedItem) -> Result<String> {
    let city = CityCode::parse(item.city)?;
    let (id, mut headers) = crate::submit::city_headers(&city, item.ce_type.unwrap_or(""));
    if item.ce_type.is_none() {
        let mut without = HeaderMap::new();
        for (name, values) in headers.iter() {
            if !name.to_string().eq_ignore_ascii_case(envelope::TYPE) {
                for value in values {
                    without.append(name.to_string().as_str(), value.as_str());
                }
            }
        }
        headers = without;
    }
    js.publish_with_headers(
        subjects::inbound_enquiry(&city),
        headers,
        item.body.clone().into(),
    )
    .await?
    .await
    .context("JetStream did not acknowledge a feed message")?;
    Ok(id)
}

fn summary(items: &[FeedItem], outcomes: &[Option<Outcome>]) {
    println!("\n== summary ==");
    let mut accepted = 0;
    let mut rejected = 0;
    let mut as_expected = 0;
    for (item, outcome) in items.iter().zip(outcomes) {
        let (what, detail) = match outcome {
            Some(o) => (o.what.as_str(), o.detail.as_str()),
            None if item.label.contains("no-op") => ("no-op", "already received"),
            None => ("(none yet)", ""),
        };
        match what {
            "received" | "withdrawn" => accepted += 1,
            "rejected" => rejected += 1,
            _ => {}
        }
        let fits = match what {
            "received" | "withdrawn" | "no-op" => item.expect_accepted,
            "rejected" => !item.expect_accepted,
            _ => false,
        };
        if fits {
            as_expected += 1;
        }
        println!(
            "  {:<11} {:<11} {:<58} {}",
            item.city,
            what,
            item.label,
            reason_codes(detail)
        );
    }
    println!(
        "\n{} messages: {accepted} accepted, {rejected} rejected with reasons, {as_expected} as expected.",
        items.len()
    );
}

fn reason_codes(detail: &str) -> &str {
    detail
        .split_whitespace()
        .find(|part| part.starts_with("reasons="))
        .map_or("", |p| p.trim_start_matches("reasons="))
}
