//! `TestService`: notifications running on a private nats-server, a fresh
//! database and a real SMTP server, fed events as intake, scheduling and
//! assignment publish them.

use async_nats::jetstream::{self, Message};
use chrono::{DateTime, Duration, Utc};
use contract::proto::assignment::v1::{AssignedExpert, AssignmentMade, ExpertContact, ExpertRole};
use contract::proto::common::v1::{DateWindow, EnquiryKind, Format, Session, Topic};
use contract::proto::enquiry::v1::{EnquiryContact, EnquiryReceived};
use contract::proto::notification::v1::{NotificationDelivered, NotificationFailed};
use contract::proto::workshop::v1::{Participation, WorkshopScheduled};
use contract::{CloudEvent, Envelope, Service, subjects};
use notifications::channels::email::EmailTransport;
use notifications::settings::NotificationSettings;
use serde_json::Value;
use service_kit::app::{App, ServiceDef};
use std::time::Duration as StdDuration;
use test_support::{SmtpServer, StreamReader, TestDb, TestNats, test_db};
use tokio_util::sync::CancellationToken;

/// Generous: CI runs every test of the workspace at once on two cores.
pub const DEADLINE: StdDuration = StdDuration::from_secs(60);
/// How long to watch for something that must not come.
pub const QUIET: StdDuration = StdDuration::from_millis(1500);

/// Settings for tests: the test's SMTP server and quick retries, with an
/// attempt timeout and a lease generous enough for a loaded CI machine
/// (where the Python SMTP server can take seconds to answer).
pub fn test_settings(smtp: &SmtpServer) -> NotificationSettings {
    let mut settings = NotificationSettings::with_mail_folder("unused".into());
    settings.email = EmailTransport::Smtp {
        url: smtp.url().into(),
    };
    settings.retry.base = StdDuration::from_millis(200);
    settings.retry.max_delay = StdDuration::from_secs(1);
    settings.retry.max_attempts = 4;
    settings.send_timeout = StdDuration::from_secs(15);
    settings.lease = StdDuration::from_secs(60);
    settings.poll_interval = StdDuration::from_millis(100);
    settings
}

pub fn notifications_def(settings: NotificationSettings) -> ServiceDef {
    notifications::service_with(settings)
}

/// A running notifications; stopped (as a crash: nothing drains) when
/// dropped or [`crash`](Self::crash)ed.
pub struct Running {
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// Stops at once, the way a killed process does: tasks are dropped
    /// wherever they are, nothing is recorded or flushed.
    pub fn crash(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Stops the way SIGTERM does.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

pub struct TestService {
    pub nats: TestNats,
    pub db: TestDb,
    pub smtp: SmtpServer,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub settings: NotificationSettings,
    pub running: Option<Running>,
}

impl TestService {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut NotificationSettings)) -> Self {
        let nats = TestNats::start().await;
        let db = test_db().await;
        let smtp = SmtpServer::start().await;
        let mut settings = test_settings(&smtp);
        adjust(&mut settings);
        let client = nats.client().await;
        let js = jetstream::new(client.clone());
        let mut service = Self {
            nats,
            db,
            smtp,
            client,
            js,
            settings,
            running: None,
        };
        service.start().await;
        service
    }

    pub async fn start(&mut self) {
        let shutdown = CancellationToken::new();
        let app = App::start(
            test_support::service_settings(&self.nats.url(), &self.db.url),
            vec![notifications_def(self.settings.clone())],
            shutdown.clone(),
        )
        .await
        .expect("notifications starts");
        self.running = Some(Running {
            shutdown,
            task: Some(tokio::spawn(app.wait())),
        });
    }

    pub fn crash(&mut self) {
        if let Some(running) = self.running.take() {
            running.crash();
        }
    }

    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }

    pub async fn admin(
        &self,
        command: &str,
        body: &Value,
    ) -> Result<Value, messaging::admin::AdminError> {
        messaging::admin::request(
            &self.client,
            Service::Notifications,
            command,
            body,
            DEADLINE,
        )
        .await
    }

    /// Publishes `body` from `service` with a new ce-id; returns its headers.
    pub async fn publish<E: CloudEvent>(
        &self,
        from: Service,
        subject: &str,
        about: &str,
        body: &E,
    ) -> async_nats::HeaderMap {
        let headers = Envelope::new(from, E::TYPE, about).to_headers();
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

    /// Intake's contact and outcome for an accepted enquiry.
    pub async fn accept(&self, enquiry: &EnquiryReceived, email: &str, language: &str) {
        self.contact(enquiry, email, language).await;
        self.received(enquiry).await;
    }

    pub async fn contact(&self, enquiry: &EnquiryReceived, email: &str, language: &str) {
        let contact = EnquiryContact {
            enquiry_id: enquiry.enquiry_id.clone(),
            city: enquiry.city.clone(),
            reference: enquiry.reference.clone(),
            name: format!("Contact of {}", enquiry.city),
            email: email.to_owned(),
            phone: None,
            preferred_language: language.to_owned(),
            inbound_id: enquiry.inbound_id.clone(),
        };
        self.publish(
            Service::Intake,
            subjects::INTERNAL_ENQUIRY_CONTACT,
            &enquiry.enquiry_id,
            &contact,
        )
        .await;
    }

    pub async fn received(&self, enquiry: &EnquiryReceived) {
        self.publish(
            Service::Intake,
            subjects::ENQUIRY_RECEIVED,
            &enquiry.enquiry_id,
            enquiry,
        )
        .await;
    }

    pub async fn expert(&self, id: &str, email: &str, language: &str, time_zone: &str) {
        let contact = ExpertContact {
            expert_id: id.to_owned(),
            display_name: format!("Expert {id}"),
            email: email.to_owned(),
            preferred_language: language.to_owned(),
            time_zone: time_zone.to_owned(),
        };
        self.publish(
            Service::Assignment,
            subjects::INTERNAL_EXPERT_CONTACT,
            id,
            &contact,
        )
        .await;
    }

    pub async fn scheduled(&self, workshop: &WorkshopScheduled) {
        self.publish(
            Service::Scheduling,
            subjects::WORKSHOP_SCHEDULED,
            &workshop.workshop_id,
            workshop,
        )
        .await;
    }

    /// Assignment staffing `workshop` at its version; returns the headers.
    pub async fn made(
        &self,
        workshop: &WorkshopScheduled,
        experts: &[(&str, ExpertRole)],
    ) -> async_nats::HeaderMap {
        let made = made_for(workshop, experts);
        self.publish(
            Service::Assignment,
            subjects::ASSIGNMENT_MADE,
            &workshop.workshop_id,
            &made,
        )
        .await
    }

    /// A reader of notifications' own events from the start.
    pub async fn notification_events(&self) -> StreamReader {
        StreamReader::new(
            &self.js,
            subjects::STREAM_EVENTS,
            "ileaps.events.notification.>",
        )
        .await
    }

    /// A city's own durable consumer on its feed, as a city would create it.
    pub async fn city_feed(&self, city: &str) -> CityFeed {
        CityFeed::open(&self.js, city).await
    }

    /// Rows for one recipient on one channel, straight from the table.
    pub async fn deliveries_to(&self, recipient_ref: &str, channel: &str) -> i64 {
        let pool = sqlx::PgPool::connect(&self.db.url).await.unwrap();
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM notifications.deliveries
             WHERE recipient_ref = $1 AND channel = $2",
        )
        .bind(recipient_ref)
        .bind(channel)
        .fetch_one(&pool)
        .await
        .unwrap();
        pool.close().await;
        n
    }

    /// An enquiry accepted after everything published so far, and its
    /// acknowledgement awaited: the events consumer handles the stream in
    /// order, so whatever came before has been handled too.
    pub async fn sentinel(&self, expected_mails: usize) {
        let marker = enquiry("sentinel", "SENTINEL", "UTC");
        self.accept(&marker, "sentinel@ileaps.example", "en").await;
        let mail = self.smtp.wait_for(expected_mails, DEADLINE).await;
        assert!(
            mail.iter()
                .any(|m| m.rcpt_to == ["sentinel@ileaps.example"]),
            "the sentinel's mail came"
        );
    }

    /// Delivery rows by status, straight from the table.
    pub async fn count_deliveries(&self, status: &str, notice: &str) -> i64 {
        let pool = sqlx::PgPool::connect(&self.db.url).await.unwrap();
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM notifications.deliveries WHERE status = $1 AND notice = $2",
        )
        .bind(status)
        .bind(notice)
        .fetch_one(&pool)
        .await
        .unwrap();
        pool.close().await;
        n
    }
}

/// A city's durable pull consumer on `ILEAPS_OUTBOUND`, filtered to its own
/// subjects (what the NATS authorization lets a city create).
pub struct CityFeed {
    messages: jetstream::consumer::pull::Stream,
}

impl CityFeed {
    async fn open(js: &jetstream::Context, city: &str) -> Self {
        let stream = js
            .get_stream(subjects::STREAM_OUTBOUND)
            .await
            .expect("ILEAPS_OUTBOUND exists");
        let consumer = stream
            .create_consumer(jetstream::consumer::pull::Config {
                durable_name: Some(format!("city-{city}")),
                filter_subject: format!("ileaps.outbound.{city}.>"),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            })
            .await
            .expect("a city's consumer");
        Self {
            messages: consumer.messages().await.expect("feed messages"),
        }
    }

    /// The next notice, acked as a city would.
    pub async fn next(&mut self, deadline: StdDuration) -> Message {
        use futures::StreamExt;
        let message = tokio::time::timeout(deadline, self.messages.next())
            .await
            .expect("a notice on the city's feed in time")
            .expect("the feed is open")
            .expect("a message");
        message.ack().await.expect("ack");
        message
    }

    /// Whatever comes within `quiet`.
    pub async fn rest(&mut self, quiet: StdDuration) -> Vec<Message> {
        use futures::StreamExt;
        let mut all = Vec::new();
        while let Ok(Some(Ok(message))) = tokio::time::timeout(quiet, self.messages.next()).await {
            message.ack().await.expect("ack");
            all.push(message);
        }
        all
    }
}

pub fn ce_type(message: &Message) -> String {
    Envelope::from_headers(message.headers.as_ref())
        .expect("a CloudEvent")
        .event_type
}

pub fn json(message: &Message) -> Value {
    serde_json::from_slice(&message.payload).expect("a JSON body")
}

/// A `notification.delivered` or `failed`, decoded.
#[derive(Debug)]
pub enum Announced {
    Delivered(NotificationDelivered),
    Failed(NotificationFailed),
}

pub fn announced(message: &Message) -> Announced {
    match message.subject.as_str() {
        subjects::NOTIFICATION_DELIVERED => {
            Announced::Delivered(NotificationDelivered::from_json(&message.payload).unwrap())
        }
        subjects::NOTIFICATION_FAILED => {
            Announced::Failed(NotificationFailed::from_json(&message.payload).unwrap())
        }
        other => panic!("unexpected subject {other}"),
    }
}

// ---------------------------------------------------------------------------
// Fixtures

pub fn enquiry(city: &str, reference: &str, time_zone: &str) -> EnquiryReceived {
    EnquiryReceived {
        enquiry_id: uuid::Uuid::now_v7().to_string(),
        city: city.to_owned(),
        reference: reference.to_owned(),
        kind: EnquiryKind::JointWorkshop.into(),
        topics: vec![Topic::SocialInnovation.into()],
        preferred_window: Some(DateWindow {
            start: "2027-02-01".into(),
            end: "2027-03-31".into(),
        }),
        participants: 12,
        languages: vec!["en".into()],
        format: Format::Virtual.into(),
        time_zone: time_zone.to_owned(),
        beneficiary: true,
        priority: true,
        received_at: Some(timestamp(Utc::now())),
        inbound_id: uuid::Uuid::now_v7().to_string(),
        // Notifications never reads it.
        country: String::new(),
    }
}

/// A virtual workshop of `enquiries`, version 1, one session starting at `start`.
pub fn workshop(enquiries: &[&EnquiryReceived], start: DateTime<Utc>) -> WorkshopScheduled {
    WorkshopScheduled {
        workshop_id: uuid::Uuid::now_v7().to_string(),
        version: 1,
        kind: EnquiryKind::JointWorkshop.into(),
        primary_topic: Topic::SocialInnovation.into(),
        topics: vec![Topic::SocialInnovation.into()],
        format: Format::Virtual.into(),
        host_city: String::new(),
        time_zone: "Asia/Seoul".into(),
        sessions: vec![Session {
            start: Some(timestamp(start)),
            end: Some(timestamp(start + Duration::hours(3))),
        }],
        cities: enquiries
            .iter()
            .map(|e| Participation {
                city: e.city.clone(),
                enquiry_id: e.enquiry_id.clone(),
                participants: e.participants,
            })
            .collect(),
        languages: vec!["en".into()],
        proposed_team: Vec::new(),
    }
}

pub fn made_for(workshop: &WorkshopScheduled, experts: &[(&str, ExpertRole)]) -> AssignmentMade {
    AssignmentMade {
        workshop_id: workshop.workshop_id.clone(),
        workshop_version: workshop.version,
        experts: experts
            .iter()
            .map(|(id, role)| AssignedExpert {
                expert_id: (*id).to_owned(),
                display_name: format!("Expert {id}"),
                role: (*role).into(),
            })
            .collect(),
    }
}

pub fn timestamp(t: DateTime<Utc>) -> pbjson_types::Timestamp {
    pbjson_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}
