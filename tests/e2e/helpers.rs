//! `TestApp`: the services running against a private nats-server and a fresh
//! database, as `ileaps run` runs them, plus what a city and an integrator do.

use async_nats::HeaderMap;
use async_nats::jetstream::{self, Message};
use contract::event_types::ENQUIRY_SUBMIT;
use contract::{Service, subjects};
use serde_json::{Value, json};
use service_kit::Settings;
use service_kit::app::{App, ServiceDef};
use std::time::Duration;
use test_support::{StreamReader, TestDb, TestNats, city_headers, test_db};
use tokio_util::sync::CancellationToken;

pub const DEADLINE: Duration = Duration::from_secs(20);

pub fn intake_def() -> ServiceDef {
    intake::service()
}

pub struct TestApp {
    pub nats: TestNats,
    pub db: TestDb,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub http: std::net::SocketAddr,
    shutdown: CancellationToken,
    /// Stops the services when a test ends early (a failed assertion).
    _stop_on_drop: tokio_util::sync::DropGuard,
    app: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub fn settings(nats_url: &str, database_url: &str) -> Settings {
    test_support::service_settings(nats_url, database_url)
}

/// Intake, scheduling and assignment, in the order `ileaps run` starts them.
pub fn planning_defs() -> Vec<ServiceDef> {
    vec![
        intake::service(),
        scheduling::service(),
        assignment::service(),
    ]
}

/// Notifications sending email to `smtp_url`, retrying quickly.
pub fn notifications_def(smtp_url: String) -> ServiceDef {
    let mut settings =
        notifications::settings::NotificationSettings::with_mail_folder("unused".into());
    settings.email = notifications::channels::email::EmailTransport::Smtp {
        url: smtp_url.into(),
    };
    settings.poll_interval = Duration::from_millis(100);
    settings.retry.base = Duration::from_millis(200);
    notifications::service_with(settings)
}

impl TestApp {
    /// All four services, email going to `smtp`, with the seed's cities and
    /// experts registered.
    pub async fn spawn_all(smtp: &test_support::SmtpServer) -> TestApp {
        let mut defs = planning_defs();
        defs.push(notifications_def(smtp.url()));
        let test = Self::spawn_services(defs).await;
        test.import_seed_experts().await;
        test
    }

    /// Intake running, with the seed's cities registered.
    pub async fn spawn() -> TestApp {
        Self::spawn_services(vec![intake_def()]).await
    }

    /// Intake, scheduling and assignment running, with the seed's cities and
    /// expert roster registered.
    pub async fn spawn_planning() -> TestApp {
        let test = Self::spawn_services(planning_defs()).await;
        test.import_seed_experts().await;
        test
    }

    async fn import_seed_experts(&self) {
        let file = test_support::workspace_root().join("deploy/seed/experts.yaml");
        let text = std::fs::read_to_string(&file).expect("the seed's experts");
        messaging::admin::request(
            &self.client,
            Service::Assignment,
            "experts.import",
            &serde_yaml_to_json(&text),
            DEADLINE,
        )
        .await
        .expect("experts import");
        self.wait_for_the_planners_roster().await;
    }

    /// Waits until scheduling's read model holds every expert assignment
    /// has: from then on enquiries are planned by the optimiser, knowing who
    /// can staff each date (before, they are planned first-fit).
    pub async fn wait_for_the_planners_roster(&self) {
        let count = |service, command| async move {
            messaging::admin::request(&self.client, service, command, &json!({}), DEADLINE)
                .await
                .ok()
                .and_then(|listed| listed.as_array().map(Vec::len))
        };
        test_support::eventually("the planner knows the roster", DEADLINE, || async {
            let experts = count(Service::Assignment, "experts.list").await?;
            let known = count(Service::Scheduling, "roster.list").await?;
            (experts > 0 && known == experts).then_some(())
        })
        .await;
    }

    async fn spawn_services(defs: Vec<ServiceDef>) -> TestApp {
        let nats = TestNats::start().await;
        let db = test_db().await;
        let shutdown = CancellationToken::new();
        let app = App::start(settings(&nats.url(), &db.url), defs, shutdown.clone())
            .await
            .expect("the services start");
        let http = app.http_addr();
        let client = nats.client().await;
        let js = jetstream::new(client.clone());
        let test = TestApp {
            nats,
            db,
            client,
            js,
            http,
            _stop_on_drop: shutdown.clone().drop_guard(),
            shutdown,
            app: Some(tokio::spawn(app.wait())),
        };
        test.register_seed_cities().await;
        test
    }

    async fn register_seed_cities(&self) {
        let file = test_support::workspace_root().join("deploy/seed/cities.yaml");
        let text = std::fs::read_to_string(&file).expect("the seed's cities");
        let cities: Value = serde_yaml_to_json(&text);
        messaging::admin::request(
            &self.client,
            Service::Intake,
            "cities.import",
            &cities,
            DEADLINE,
        )
        .await
        .expect("cities import");
    }

    /// Publishes as city `city` would; returns the message's ce-id.
    pub async fn publish_as(
        &self,
        city: &str,
        ce_type: &str,
        body: impl Into<bytes::Bytes>,
    ) -> String {
        let headers = city_headers(city, ce_type);
        let id = headers.get("ce-id").unwrap().as_str().to_owned();
        self.publish_raw(&format!("ileaps.inbound.{city}.enquiry"), headers, body)
            .await;
        id
    }

    pub async fn publish_raw(
        &self,
        subject: &str,
        headers: HeaderMap,
        body: impl Into<bytes::Bytes>,
    ) {
        self.js
            .publish_with_headers(subject.to_owned(), headers, body.into())
            .await
            .expect("publish")
            .await
            .expect("JetStream ack");
    }

    pub async fn submit(&self, city: &str, body: &Value) -> String {
        self.publish_as(city, ENQUIRY_SUBMIT, body.to_string())
            .await
    }

    /// A city's own durable pull consumer on its feed (`ILEAPS_OUTBOUND`,
    /// `ileaps.outbound.<city>.>`), as the city would create it.
    pub async fn city_feed(&self, city: &str) -> jetstream::consumer::pull::Stream {
        self.js
            .get_stream(subjects::STREAM_OUTBOUND)
            .await
            .expect("ILEAPS_OUTBOUND exists")
            .create_consumer(jetstream::consumer::pull::Config {
                durable_name: Some(format!("{city}-feed")),
                filter_subject: format!("ileaps.outbound.{city}.>"),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            })
            .await
            .expect("the city's feed consumer")
            .messages()
            .await
            .expect("the city's feed")
    }

    /// A reader of the programme's public events from the start.
    pub async fn events(&self) -> StreamReader {
        StreamReader::new(&self.js, subjects::STREAM_EVENTS, subjects::EVENTS_ALL).await
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(app) = self.app.take() {
            app.await.expect("app task").expect("app stops cleanly");
        }
    }

    /// Stops the services (as SIGTERM does) and keeps NATS and the database
    /// for a second run.
    pub async fn stop_keeping_infra(mut self) -> (TestNats, TestDb, jetstream::Context) {
        self.shutdown.cancel();
        if let Some(app) = self.app.take() {
            app.await.expect("app task").expect("app stops cleanly");
        }
        let TestApp { nats, db, js, .. } = self;
        (nats, db, js)
    }
}

fn serde_yaml_to_json(text: &str) -> Value {
    // The seed is YAML; the admin command takes JSON.
    let value: serde_json::Value =
        serde_json::to_value(yaml_value(text)).expect("yaml converts to json");
    value
}

fn yaml_value(text: &str) -> serde_yaml::Value {
    serde_yaml::from_str(text).expect("the seed parses")
}

/// A valid submission from `city`, windows relative to today.
pub fn submission(city: &str, reference: &str) -> Value {
    let today = chrono::Utc::now().date_naive();
    json!({
        "reference": reference,
        "city": city,
        "kind": "JOINT_WORKSHOP",
        "topics": ["SOCIAL_INNOVATION", "LOCAL_GOVERNANCE"],
        "preferredWindow": {
            "start": (today + chrono::Days::new(30)).to_string(),
            "end": (today + chrono::Days::new(90)).to_string(),
        },
        "participants": 18,
        "languages": ["en", "id"],
        "format": "EITHER",
        "contact": {"name": "A. Rahman", "email": "innovation.office@makassar.example", "phone": "+62 411 123"},
        "description": "Joint workshop on Seoul's participatory budgeting."
    })
}

pub fn body(message: &Message) -> Value {
    serde_json::from_slice(&message.payload).expect("event bodies are JSON")
}

pub fn ce_type(message: &Message) -> String {
    message
        .headers
        .as_ref()
        .and_then(|h| h.get("ce-type"))
        .map(|v| v.as_str().to_owned())
        .unwrap_or_default()
}

/// The outcome event of the inbound message `inbound_id`.
pub async fn outcome_of(events: &mut StreamReader, inbound_id: &str) -> Message {
    let id = inbound_id.to_owned();
    events
        .next_matching(DEADLINE, move |m| {
            serde_json::from_slice::<Value>(&m.payload)
                .map(|b| b["inboundId"] == id.as_str())
                .unwrap_or(false)
        })
        .await
}

/// The reasons' codes of a rejection event.
pub fn codes(message: &Message) -> Vec<String> {
    body(message)["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}
