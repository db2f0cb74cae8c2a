//! Operator commands: sent to the services on `ileaps.admin.<service>.>`.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use contract::Service;
use messaging::admin;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Subcommand)]
pub enum AdminCommand {
    /// The city registry (owned by intake).
    Cities {
        #[command(subcommand)]
        command: CitiesCommand,
    },
    /// The expert roster (owned by assignment).
    Experts {
        #[command(subcommand)]
        command: ExpertsCommand,
    },
    /// Public holiday calendars, one iCalendar file per country (owned by
    /// scheduling; no session is planned on them).
    Holidays {
        #[command(subcommand)]
        command: HolidaysCommand,
    },
    /// Integrators' webhook endpoints (owned by notifications).
    Webhooks {
        #[command(subcommand)]
        command: WebhooksCommand,
    },
    /// How scheduling planned the enquiries: by the optimiser, or first-fit
    /// (no roster known yet, or after the optimiser failed, with why).
    Planning,
    /// What notifications sent, is sending, or gave up on.
    Deliveries {
        /// Only PENDING, DELIVERED, FAILED or CANCELLED ones.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Subcommand)]
pub enum WebhooksCommand {
    /// Register an endpoint: every programme event (or those of --event-type)
    /// is POSTed to it, signed per Standard Webhooks with its secret.
    Add {
        #[arg(long)]
        url: String,
        /// `whsec_` and base64 of 24 to 64 random bytes; one is made (and
        /// shown once) when absent.
        #[arg(long)]
        secret: Option<String>,
        /// Allow a target on loopback or a private network.
        #[arg(long)]
        allow_private: bool,
        /// Only events of this ce-type (repeatable), e.g. ileaps.workshop.scheduled.v1.
        #[arg(long = "event-type")]
        event_types: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List the endpoints in service (secrets are never shown).
    List,
    /// Take an endpoint out of service; what was still to be sent to it is cancelled.
    Remove { id: String },
}

#[derive(Subcommand)]
pub enum ExpertsCommand {
    /// Add or update the experts of a YAML or JSON file, by id (format: deploy/seed/experts.yaml).
    Import { file: PathBuf },
    /// List the roster, email addresses included.
    List,
    /// Mark an expert unavailable on whole days (inclusive, in their own time zone).
    Unavailable {
        #[arg(long)]
        expert: String,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        to: chrono::NaiveDate,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Send every expert's planning profile and every workshop's holds to
    /// scheduling again (ileaps.internal.roster.>): after a fresh scheduling
    /// database, or once the internal stream's 30 days dropped what it missed.
    Publish,
}

#[derive(Subcommand)]
pub enum HolidaysCommand {
    /// Replace a country's public holidays, for the years the file covers, by
    /// those of an iCalendar (.ics) file; a file with any problem changes
    /// nothing (seed files: deploy/seed/holidays/).
    Import {
        /// ISO 3166-1 alpha-2, e.g. KR.
        #[arg(long)]
        country: String,
        file: PathBuf,
    },
    /// List the imported holidays.
    List {
        #[arg(long)]
        country: Option<String>,
        #[arg(long)]
        year: Option<i32>,
    },
}

#[derive(Subcommand)]
pub enum CitiesCommand {
    /// Register or update the cities of a YAML or JSON file (format: deploy/seed/cities.yaml).
    Import { file: PathBuf },
    /// List the registered cities.
    List,
}

#[derive(Subcommand)]
pub enum DlqCommand {
    /// List a service's dead letters.
    List {
        #[arg(long)]
        service: String,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Put dead letters back on their original subjects.
    Replay {
        #[arg(long)]
        service: String,
        /// Dead-letter sequences (from `dlq list`).
        #[arg(long = "seq", required_unless_present = "all")]
        sequences: Vec<u64>,
        #[arg(long, conflicts_with = "sequences")]
        all: bool,
    },
}

#[derive(Subcommand)]
pub enum OutboxCommand {
    /// Re-publish every event a service wrote since a time (RFC 3339), for a
    /// broker that lost data. Consumers drop what they had already seen.
    Replay {
        #[arg(long)]
        service: String,
        #[arg(long)]
        since: chrono::DateTime<chrono::Utc>,
    },
}

/// Connects to NATS as configured by ILEAPS_NATS_URL (and credentials).
pub async fn connect() -> Result<(async_nats::Client, async_nats::jetstream::Context)> {
    let settings = service_kit::Settings::from_env()?;
    let client = service_kit::connect_nats(&settings)
        .await
        .with_context(|| format!("could not reach NATS at {}", settings.nats_url_redacted()))?;
    let js = async_nats::jetstream::new(client.clone());
    Ok((client, js))
}

fn service(name: &str) -> Result<Service> {
    Service::parse(name).with_context(|| {
        format!("--service {name:?}: expected one of intake, scheduling, assignment, notifications")
    })
}

async fn send(service: Service, command: &str, body: Value) -> Result<Value> {
    let (client, _) = connect().await?;
    admin::request(&client, service, command, &body, TIMEOUT)
        .await
        .with_context(|| format!("{service} {command}"))
}

fn print(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// Reads a city registry file (YAML or JSON) into the JSON intake takes.
pub fn read_city_file(file: &std::path::Path) -> Result<Value> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("could not read {}", file.display()))?;
    let parsed: intake::registry::CityFile = serde_yaml::from_str(&text)
        .with_context(|| format!("{} is not a city registry file", file.display()))?;
    if let Err(problems) = parsed.validate() {
        bail!("{}:\n{problems}", file.display());
    }
    let value: Value = serde_yaml::from_str(&text)?;
    Ok(value)
}

/// Reads an expert roster file (YAML or JSON), checks it whole and returns
/// the JSON assignment takes; every problem is named with its path.
pub fn read_roster_file(file: &std::path::Path) -> Result<Value> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("could not read {}", file.display()))?;
    let roster = assignment::roster::RosterFile::parse(&text);
    if let Err(problems) = roster {
        bail!("{}:\n{problems}", file.display());
    }
    let document: assignment::roster::RosterDocument = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text)?
    } else {
        serde_yaml::from_str(&text)?
    };
    Ok(serde_json::to_value(document)?)
}

/// The body of `holidays.import` for an iCalendar file: its text and its
/// name, which scheduling keeps with each day.
pub fn read_holiday_file(country: &str, file: &std::path::Path) -> Result<Value> {
    let ics = std::fs::read_to_string(file)
        .with_context(|| format!("could not read {}", file.display()))?;
    let source = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(json!({ "country": country, "ics": ics, "source": source }))
}

async fn holidays(command: HolidaysCommand) -> Result<()> {
    match command {
        HolidaysCommand::Import { country, file } => {
            let body = read_holiday_file(&country, &file)?;
            let reply = send(Service::Scheduling, "holidays.import", body)
                .await
                .with_context(|| file.display().to_string())?;
            print(&reply);
        }
        HolidaysCommand::List { country, year } => {
            let days = send(
                Service::Scheduling,
                "holidays.list",
                json!({ "country": country, "year": year }),
            )
            .await?;
            for day in days.as_array().into_iter().flatten() {
                println!(
                    "{}  {}  {:<50}  {}",
                    day["country"].as_str().unwrap_or(""),
                    day["day"].as_str().unwrap_or(""),
                    day["name"].as_str().unwrap_or(""),
                    day["source"].as_str().unwrap_or(""),
                );
            }
        }
    }
    Ok(())
}

pub async fn admin(command: AdminCommand) -> Result<()> {
    match command {
        AdminCommand::Experts { command } => experts(command).await?,
        AdminCommand::Holidays { command } => holidays(command).await?,
        AdminCommand::Webhooks { command } => webhooks(command).await?,
        AdminCommand::Planning => {
            print(&send(Service::Scheduling, "planning.stats", json!(null)).await?);
        }
        AdminCommand::Deliveries { status, limit } => {
            let reply = send(
                Service::Notifications,
                "deliveries.list",
                json!({ "status": status, "limit": limit }),
            )
            .await?;
            for d in reply["deliveries"].as_array().into_iter().flatten() {
                println!(
                    "{}  {:<9} {:<9} {:<10} {:<22} {:<24} attempts {}{}",
                    d["id"].as_str().unwrap_or(""),
                    d["status"].as_str().unwrap_or(""),
                    d["channel"].as_str().unwrap_or(""),
                    d["recipientKind"].as_str().unwrap_or(""),
                    d["recipientRef"].as_str().unwrap_or(""),
                    d["notice"].as_str().unwrap_or(""),
                    d["attempts"],
                    d["lastErrorClass"]
                        .as_str()
                        .map(|c| format!(" ({c})"))
                        .unwrap_or_default(),
                );
            }
        }
        AdminCommand::Cities {
            command: CitiesCommand::Import { file },
        } => {
            let body = read_city_file(&file)?;
            print(&send(Service::Intake, "cities.import", body).await?);
        }
        AdminCommand::Cities {
            command: CitiesCommand::List,
        } => {
            let cities = send(Service::Intake, "cities.list", json!({})).await?;
            for city in cities.as_array().into_iter().flatten() {
                println!(
                    "{:<14} {:<22} {}  {:<18} {}{}",
                    city["code"].as_str().unwrap_or(""),
                    city["name"].as_str().unwrap_or(""),
                    city["country"].as_str().unwrap_or(""),
                    city["timeZone"].as_str().unwrap_or(""),
                    if city["beneficiary"] == true {
                        "beneficiary"
                    } else {
                        ""
                    },
                    if city["host"] == true { "host" } else { "" },
                );
            }
        }
    }
    Ok(())
}

async fn experts(command: ExpertsCommand) -> Result<()> {
    match command {
        ExpertsCommand::Import { file } => {
            let body = read_roster_file(&file)?;
            print(&send(Service::Assignment, "experts.import", body).await?);
        }
        ExpertsCommand::List => {
            let experts = send(Service::Assignment, "experts.list", json!({})).await?;
            for expert in experts.as_array().into_iter().flatten() {
                let list = |field: &str| {
                    expert[field]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                };
                let away = expert["unavailable"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|u| {
                        format!(
                            "{}..{}",
                            u["start"].as_str().unwrap_or(""),
                            u["end"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                println!(
                    "{:<18} {:<20} {:<30} {:<16} {:<8} limit {:<2} held {:<2}{}{}",
                    expert["id"].as_str().unwrap_or(""),
                    expert["displayName"].as_str().unwrap_or(""),
                    expert["email"].as_str().unwrap_or(""),
                    expert["timeZone"].as_str().unwrap_or(""),
                    list("languages"),
                    expert["monthlyLimit"],
                    expert["activeAssignments"],
                    if expert["active"] == true {
                        ""
                    } else {
                        " inactive"
                    },
                    if away.is_empty() {
                        String::new()
                    } else {
                        format!(" away {away}")
                    },
                );
                println!("{:<18} {}", "", list("topics"));
            }
        }
        ExpertsCommand::Publish => {
            let reply = send(Service::Assignment, "experts.publish", json!({})).await?;
            println!(
                "sent {} expert profiles and the holds of {} workshops to scheduling",
                reply["experts"], reply["workshops"]
            );
        }
        ExpertsCommand::Unavailable {
            expert,
            from,
            to,
            reason,
        } => {
            let mut body = json!({ "expertId": expert, "start": from, "end": to });
            if let Some(reason) = reason {
                body["reason"] = json!(reason);
            }
            let reply = send(Service::Assignment, "experts.unavailable", body).await?;
            println!("{expert} is unavailable from {from} to {to}");
            for conflict in reply["conflicts"].as_array().into_iter().flatten() {
                println!(
                    "  still assigned to workshop {} ({} to {}): re-plan it if needed",
                    conflict["workshopId"].as_str().unwrap_or(""),
                    conflict["start"].as_str().unwrap_or(""),
                    conflict["end"].as_str().unwrap_or("")
                );
            }
        }
    }
    Ok(())
}

async fn webhooks(command: WebhooksCommand) -> Result<()> {
    match command {
        WebhooksCommand::Add {
            url,
            secret,
            allow_private,
            event_types,
            description,
        } => {
            let body = json!({
                "url": url,
                "secret": secret,
                "allowPrivate": allow_private,
                "eventTypes": event_types,
                "description": description,
            });
            let reply = send(Service::Notifications, "webhooks.add", body).await?;
            println!(
                "added webhook endpoint {}",
                reply["id"].as_str().unwrap_or("")
            );
            if let Some(secret) = reply["secret"].as_str() {
                println!("its secret (shown only now; give it to the integrator): {secret}");
            }
        }
        WebhooksCommand::List => {
            let reply = send(Service::Notifications, "webhooks.list", json!({})).await?;
            let endpoints = reply["endpoints"].as_array().cloned().unwrap_or_default();
            if endpoints.is_empty() {
                println!("no webhook endpoints");
            }
            for e in endpoints {
                let types: Vec<&str> = e["eventTypes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                println!(
                    "{}  {}  {}{}  {}",
                    e["id"].as_str().unwrap_or(""),
                    e["url"].as_str().unwrap_or(""),
                    if types.is_empty() {
                        "every event".to_owned()
                    } else {
                        types.join(",")
                    },
                    if e["allowPrivate"] == true {
                        "  (private allowed)"
                    } else {
                        ""
                    },
                    e["description"].as_str().unwrap_or(""),
                );
            }
        }
        WebhooksCommand::Remove { id } => {
            send(
                Service::Notifications,
                "webhooks.remove",
                json!({ "id": id }),
            )
            .await?;
            println!("removed webhook endpoint {id}");
        }
    }
    Ok(())
}

pub async fn dlq(command: DlqCommand) -> Result<()> {
    match command {
        DlqCommand::List {
            service: name,
            limit,
        } => {
            let letters = send(service(&name)?, "dlq.list", json!({ "limit": limit })).await?;
            let letters = letters.as_array().cloned().unwrap_or_default();
            if letters.is_empty() {
                println!("no dead letters for {name}");
            }
            for letter in letters {
                println!(
                    "#{:<6} {}  {}  {}\n        reason: {}",
                    letter["sequence"],
                    letter["failedAt"]
                        .as_str()
                        .or(letter["failed_at"].as_str())
                        .unwrap_or(""),
                    letter["original_subject"].as_str().unwrap_or(""),
                    letter["ce_type"].as_str().unwrap_or("(no ce-type)"),
                    letter["reason"].as_str().unwrap_or(""),
                );
            }
        }
        DlqCommand::Replay {
            service: name,
            sequences,
            all,
        } => {
            let body = if all {
                json!({ "all": true })
            } else {
                json!({ "sequences": sequences })
            };
            print(&send(service(&name)?, "dlq.replay", body).await?);
        }
    }
    Ok(())
}

pub async fn outbox(command: OutboxCommand) -> Result<()> {
    let OutboxCommand::Replay {
        service: name,
        since,
    } = command;
    print(&send(service(&name)?, "outbox.replay", json!({ "since": since })).await?);
    Ok(())
}
