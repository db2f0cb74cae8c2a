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
        .with_context(|| format!("could not reach NATS at {}", settings.nats_url))?;
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

pub async fn admin(command: AdminCommand) -> Result<()> {
    match command {
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
