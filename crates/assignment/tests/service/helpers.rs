//! `TestService`: assignment running on a private nats-server and a fresh
//! database, and what scheduling and an operator do to it.

use assignment::roster::RosterDocument;
use async_nats::jetstream::{self, Message};
use chrono::{DateTime, Duration, Utc};
use contract::proto::assignment::v1::{AssignmentMade, AssignmentReleased, AssignmentUnfilled};
use contract::proto::common::v1::{EnquiryKind, Format, Session, Topic};
use contract::proto::workshop::v1::{
    Participation, WorkshopCancelled, WorkshopRescheduled, WorkshopScheduled,
};
use contract::{CloudEvent, Envelope, Service, subjects};
use serde_json::Value;
use service_kit::Settings;
use service_kit::app::{App, ServiceDef};
use std::time::Duration as StdDuration;
use test_support::{StreamReader, TestDb, TestNats, test_db};
use tokio_util::sync::CancellationToken;

pub const DEADLINE: StdDuration = StdDuration::from_secs(30);
/// How long the stream must stay quiet before "nothing more came" is believed.
pub const QUIET: StdDuration = StdDuration::from_millis(700);

pub fn assignment_def() -> ServiceDef {
    assignment::service()
}

pub fn settings(nats_url: &str, database_url: &str) -> Settings {
    test_support::service_settings(nats_url, database_url)
}

/// One running replica; stopped when dropped.
pub struct Replica {
    _stop_on_drop: tokio_util::sync::DropGuard,
    _task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub async fn start_replica(nats: &TestNats, db: &TestDb) -> Replica {
    let shutdown = CancellationToken::new();
    let app = App::start(
        settings(&nats.url(), &db.url),
        vec![assignment_def()],
        shutdown.clone(),
    )
    .await
    .expect("assignment starts");
    Replica {
        _stop_on_drop: shutdown.drop_guard(),
        _task: tokio::spawn(app.wait()),
    }
}

pub struct TestService {
    /// The broker, stopped when the test ends.
    _nats: TestNats,
    pub db: TestDb,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    replicas: Vec<Replica>,
}

impl TestService {
    /// One replica, with the seed roster imported.
    pub async fn spawn() -> Self {
        let service = Self::spawn_bare(1).await;
        service
            .import(&seed_roster())
            .await
            .expect("the seed roster imports");
        service
    }

    /// `replicas` replicas on one database and broker, with no roster.
    pub async fn spawn_bare(replicas: usize) -> Self {
        let nats = TestNats::start().await;
        let db = test_db().await;
        let mut running = Vec::new();
        // One after another: each migrates (idempotently) before it runs.
        for _ in 0..replicas {
            running.push(start_replica(&nats, &db).await);
        }
        let client = nats.client().await;
        let js = jetstream::new(client.clone());
        Self {
            _nats: nats,
            db,
            client,
            js,
            replicas: running,
        }
    }

    pub fn replicas(&self) -> usize {
        self.replicas.len()
    }

    pub async fn admin(
        &self,
        command: &str,
        body: &Value,
    ) -> Result<Value, messaging::admin::AdminError> {
        messaging::admin::request(&self.client, Service::Assignment, command, body, DEADLINE).await
    }

    pub async fn import(&self, roster: &Value) -> Result<Value, messaging::admin::AdminError> {
        self.admin("experts.import", roster).await
    }

    /// Publishes `body` as scheduling would; returns the headers used.
    pub async fn publish<E: CloudEvent>(
        &self,
        subject: &str,
        workshop_id: &str,
        body: &E,
    ) -> async_nats::HeaderMap {
        let headers = Envelope::new(Service::Scheduling, E::TYPE, workshop_id).to_headers();
        self.publish_with(subject, headers.clone(), body.to_json())
            .await;
        headers
    }

    pub async fn publish_with(&self, subject: &str, headers: async_nats::HeaderMap, body: Vec<u8>) {
        self.js
            .publish_with_headers(subject.to_owned(), headers, body.into())
            .await
            .expect("publish")
            .await
            .expect("JetStream ack");
    }

    pub async fn scheduled(&self, event: &WorkshopScheduled) {
        self.publish(subjects::WORKSHOP_SCHEDULED, &event.workshop_id, event)
            .await;
    }

    pub async fn rescheduled(&self, event: &WorkshopRescheduled) {
        self.publish(subjects::WORKSHOP_RESCHEDULED, &event.workshop_id, event)
            .await;
    }

    pub async fn cancelled(&self, event: &WorkshopCancelled) {
        self.publish(subjects::WORKSHOP_CANCELLED, &event.workshop_id, event)
            .await;
    }

    /// A reader of assignment's public events from the start.
    pub async fn outcomes(&self) -> Outcomes {
        Outcomes(
            StreamReader::new(
                &self.js,
                subjects::STREAM_EVENTS,
                "ileaps.events.assignment.>",
            )
            .await,
        )
    }
}

/// Assignment's events as they come.
pub struct Outcomes(pub StreamReader);

/// One of assignment's events, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Made(AssignmentMade),
    Unfilled(AssignmentUnfilled),
    Released(AssignmentReleased),
}

impl Outcome {
    pub fn workshop_id(&self) -> &str {
        match self {
            Self::Made(e) => &e.workshop_id,
            Self::Unfilled(e) => &e.workshop_id,
            Self::Released(e) => &e.workshop_id,
        }
    }
}

pub fn decode(message: &Message) -> Outcome {
    let envelope = Envelope::from_headers(message.headers.as_ref()).expect("a CloudEvent");
    assert_eq!(envelope.source, "/ileaps/assignment");
    let outcome = match message.subject.as_str() {
        subjects::ASSIGNMENT_MADE => {
            Outcome::Made(AssignmentMade::from_json(&message.payload).unwrap())
        }
        subjects::ASSIGNMENT_UNFILLED => {
            Outcome::Unfilled(AssignmentUnfilled::from_json(&message.payload).unwrap())
        }
        subjects::ASSIGNMENT_RELEASED => {
            Outcome::Released(AssignmentReleased::from_json(&message.payload).unwrap())
        }
        other => panic!("unexpected subject {other}"),
    };
    assert_eq!(
        envelope.subject.as_deref(),
        Some(outcome.workshop_id()),
        "ce-subject is the workshop id"
    );
    outcome
}

impl Outcomes {
    /// The next event about `workshop_id`, skipping others.
    pub async fn next_for(&mut self, workshop_id: &str) -> Outcome {
        let message = self
            .0
            .next_matching(DEADLINE, |m| {
                m.headers
                    .as_ref()
                    .and_then(|h| h.get("ce-subject"))
                    .is_some_and(|s| s.as_str() == workshop_id)
            })
            .await;
        decode(&message)
    }

    pub async fn made_for(&mut self, workshop_id: &str) -> AssignmentMade {
        match self.next_for(workshop_id).await {
            Outcome::Made(made) => made,
            other => panic!("expected assignment.made for {workshop_id}, got {other:?}"),
        }
    }

    /// Everything until the stream stays quiet.
    pub async fn rest(&mut self) -> Vec<Outcome> {
        self.0.collect_for(QUIET).await.iter().map(decode).collect()
    }
}

/// The seed roster, as the JSON `experts.import` takes.
pub fn seed_roster() -> Value {
    let file = test_support::workspace_root().join("deploy/seed/experts.yaml");
    let text = std::fs::read_to_string(&file).expect("the seed roster");
    let document: RosterDocument = serde_yaml::from_str(&text).expect("the seed roster parses");
    serde_json::to_value(document).unwrap()
}

/// The seed roster, checked, for looking experts up.
pub fn seed_entries() -> assignment::roster::RosterFile {
    let file = test_support::workspace_root().join("deploy/seed/experts.yaml");
    assignment::roster::RosterFile::parse(&std::fs::read_to_string(file).unwrap()).unwrap()
}

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("an RFC 3339 time")
}

fn timestamp(t: DateTime<Utc>) -> pbjson_types::Timestamp {
    pbjson_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

/// `days` consecutive sessions of 8 hours from `first` (no weekend logic:
/// assignment takes the sessions as given).
pub fn sessions(first: &str, days: i64) -> Vec<Session> {
    let start = at(first);
    (0..days)
        .map(|d| Session {
            start: Some(timestamp(start + Duration::days(d))),
            end: Some(timestamp(start + Duration::days(d) + Duration::hours(8))),
        })
        .collect()
}

/// A workshop as scheduling describes it: in person, version 1.
pub fn workshop(
    id: &str,
    kind: EnquiryKind,
    topics: &[Topic],
    cities: &[(&str, u32)],
    first_session: &str,
    days: i64,
) -> WorkshopScheduled {
    WorkshopScheduled {
        workshop_id: id.to_owned(),
        version: 1,
        kind: kind.into(),
        primary_topic: topics[0].into(),
        topics: topics.iter().map(|&t| t.into()).collect(),
        format: Format::InPerson.into(),
        host_city: "seoul".to_owned(),
        time_zone: "Asia/Seoul".to_owned(),
        sessions: sessions(first_session, days),
        cities: cities
            .iter()
            .map(|&(city, participants)| Participation {
                city: city.to_owned(),
                enquiry_id: format!("enquiry-{city}-{id}"),
                participants,
            })
            .collect(),
        languages: vec!["en".to_owned()],
        proposed_team: Vec::new(),
    }
}

/// A unique workshop id.
pub fn workshop_id(label: &str) -> String {
    format!("{label}-{}", uuid::Uuid::now_v7().simple())
}
