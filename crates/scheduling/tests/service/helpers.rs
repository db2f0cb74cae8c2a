//! `TestService`: scheduling running against a private nats-server and a
//! fresh database, fed the events intake and assignment would publish, and
//! read back from the stream as an integrator would.

use async_nats::HeaderMap;
use async_nats::jetstream::{self, Message};
use chrono::{DateTime, Utc};
use contract::proto::assignment::v1::{AssignmentMade, AssignmentUnfilled, ExpertProfile};
use contract::proto::common::v1::{DateWindow, EnquiryKind, Format, Topic};
use contract::proto::enquiry::v1::{EnquiryReceived, EnquiryWithdrawn};
use contract::proto::workshop::v1::{
    WorkshopCancelled, WorkshopRescheduled, WorkshopScheduled, WorkshopUnschedulable,
};
use contract::{CloudEvent, Envelope, Service, subjects};
use serde_json::Value;
use service_kit::Settings;
use service_kit::app::App;
use std::time::Duration;
use test_support::{StreamReader, TestDb, TestNats, test_db};
use tokio_util::sync::CancellationToken;

pub const DEADLINE: Duration = Duration::from_secs(20);

/// What scheduling says, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Scheduled(WorkshopScheduled),
    Rescheduled(WorkshopRescheduled),
    Cancelled(WorkshopCancelled),
    Unschedulable(WorkshopUnschedulable),
}

impl Out {
    pub fn scheduled(self) -> WorkshopScheduled {
        match self {
            Out::Scheduled(event) => event,
            other => panic!("expected workshop.scheduled, got {other:?}"),
        }
    }
    pub fn rescheduled(self) -> WorkshopRescheduled {
        match self {
            Out::Rescheduled(event) => event,
            other => panic!("expected workshop.rescheduled, got {other:?}"),
        }
    }
    pub fn cancelled(self) -> WorkshopCancelled {
        match self {
            Out::Cancelled(event) => event,
            other => panic!("expected workshop.cancelled, got {other:?}"),
        }
    }
    pub fn unschedulable(self) -> WorkshopUnschedulable {
        match self {
            Out::Unschedulable(event) => event,
            other => panic!("expected workshop.unschedulable, got {other:?}"),
        }
    }
}

pub struct TestService {
    _db: TestDb,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    out: StreamReader,
    shutdown: CancellationToken,
    _stop_on_drop: tokio_util::sync::DropGuard,
    app: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    // Last: the broker outlives the service's connection.
    _nats: TestNats,
}

fn settings(nats_url: &str, database_url: &str) -> Settings {
    test_support::service_settings(nats_url, database_url)
}

impl TestService {
    /// Scheduling running (streams provisioned, schema migrated), and a
    /// reader of its workshop events from the start.
    pub async fn spawn() -> TestService {
        let nats = TestNats::start().await;
        let db = test_db().await;
        let shutdown = CancellationToken::new();
        let def = scheduling::service();
        let app = App::start(settings(&nats.url(), &db.url), vec![def], shutdown.clone())
            .await
            .expect("scheduling starts");
        let client = nats.client().await;
        let js = jetstream::new(client.clone());
        let out = StreamReader::new(&js, subjects::STREAM_EVENTS, "ileaps.events.workshop.>").await;
        TestService {
            _db: db,
            client,
            js,
            out,
            _stop_on_drop: shutdown.clone().drop_guard(),
            shutdown,
            app: Some(tokio::spawn(app.wait())),
            _nats: nats,
        }
    }

    /// Publishes `body` as `service` would; returns its headers (to send
    /// them again).
    pub async fn publish<E: CloudEvent>(
        &self,
        service: Service,
        subject: &str,
        about: &str,
        body: &E,
    ) -> HeaderMap {
        let headers = Envelope::new(service, E::TYPE, about).to_headers();
        self.publish_raw(subject, headers.clone(), body.to_json())
            .await;
        headers
    }

    pub async fn publish_raw(&self, subject: &str, headers: HeaderMap, body: Vec<u8>) {
        self.js
            .publish_with_headers(subject.to_owned(), headers, body.into())
            .await
            .expect("publish")
            .await
            .expect("JetStream ack");
    }

    pub async fn receive(&self, enquiry: &EnquiryReceived) -> HeaderMap {
        self.publish(
            Service::Intake,
            subjects::ENQUIRY_RECEIVED,
            &enquiry.enquiry_id,
            enquiry,
        )
        .await
    }

    pub async fn withdraw(&self, enquiry: &EnquiryReceived) {
        let body = EnquiryWithdrawn {
            enquiry_id: enquiry.enquiry_id.clone(),
            city: enquiry.city.clone(),
            reference: enquiry.reference.clone(),
            withdrawn_at: None,
        };
        self.publish(
            Service::Intake,
            subjects::ENQUIRY_WITHDRAWN,
            &enquiry.enquiry_id,
            &body,
        )
        .await;
    }

    pub async fn unfilled(&self, workshop_id: &str, version: u32) {
        let body = AssignmentUnfilled {
            workshop_id: workshop_id.to_owned(),
            workshop_version: version,
            reason_code: "ALL_EXPERTS_BUSY".to_owned(),
            detail: String::new(),
        };
        self.publish(
            Service::Assignment,
            subjects::ASSIGNMENT_UNFILLED,
            workshop_id,
            &body,
        )
        .await;
    }

    pub async fn made(&self, workshop_id: &str, version: u32) {
        let body = AssignmentMade {
            workshop_id: workshop_id.to_owned(),
            workshop_version: version,
            experts: Vec::new(),
        };
        self.publish(
            Service::Assignment,
            subjects::ASSIGNMENT_MADE,
            workshop_id,
            &body,
        )
        .await;
    }

    /// Publishes an expert's profile as assignment does.
    pub async fn send_profile(&self, body: &ExpertProfile) {
        self.publish(
            Service::Assignment,
            subjects::INTERNAL_ROSTER_PROFILE,
            &body.expert_id,
            body,
        )
        .await;
    }

    /// Publishes `profiles` and waits until the planner's read model holds
    /// them all: from then on the optimiser plans.
    pub async fn roster_of(&self, profiles: &[ExpertProfile]) {
        for profile in profiles {
            self.send_profile(profile).await;
        }
        test_support::eventually("the roster is read", DEADLINE, || async {
            let mut conn = self.pool().acquire().await.ok()?;
            let experts = scheduling::roster::roster(&mut conn).await.ok()?;
            (experts.len() == profiles.len()).then_some(())
        })
        .await;
    }

    /// Every stored enquiry with the first enquiry of the solve that
    /// planned it (`planned_with`), in arrival order.
    pub async fn planned_with(&self) -> Vec<(String, Option<String>)> {
        sqlx::query_as("SELECT id, planned_with FROM scheduling.enquiries ORDER BY received_at, id")
            .fetch_all(self.pool())
            .await
            .expect("the enquiries are stored")
    }

    /// Scheduling's database, for reading its read models as the planner does.
    pub fn pool(&self) -> &sqlx::PgPool {
        &self._db.pool
    }

    /// The next workshop event scheduling published.
    pub async fn next(&mut self) -> Out {
        decode(&self.out.next(DEADLINE).await)
    }

    /// `workshops.list`, the operators' command.
    pub async fn list(&self) -> Vec<Value> {
        let listed = messaging::admin::request(
            &self.client,
            Service::Scheduling,
            "workshops.list",
            &serde_json::json!({}),
            DEADLINE,
        )
        .await
        .expect("workshops.list answers");
        listed.as_array().expect("a list").clone()
    }

    /// An operator command of scheduling's, its error as the CLI would show it.
    pub async fn admin(&self, command: &str, body: &Value) -> Result<Value, String> {
        messaging::admin::request(&self.client, Service::Scheduling, command, body, DEADLINE)
            .await
            .map_err(|e| e.to_string())
    }

    /// Imports a seed holiday file (deploy/seed/holidays/<country>.ics).
    pub async fn import_seed_holidays(&self, country: &str) -> Value {
        let ics = std::fs::read_to_string(seed_holidays(country)).expect("a seed holiday file");
        self.admin(
            "holidays.import",
            &serde_json::json!({ "country": country, "ics": ics, "source": format!("{country}.ics") }),
        )
        .await
        .unwrap_or_else(|e| panic!("{country}.ics imports: {e}"))
    }

    /// Stops the service, keeping its database, broker and stream reader:
    /// what is published meanwhile queues up, as during a burst or an
    /// outage, and [`resume`](Self::resume) finds it all at once.
    pub async fn pause(&mut self) {
        self.shutdown.cancel();
        if let Some(app) = self.app.take() {
            app.await.expect("app task").expect("app stops cleanly");
        }
    }

    /// Starts the service again after [`pause`](Self::pause).
    pub async fn resume(&mut self) {
        let shutdown = CancellationToken::new();
        let app = App::start(
            settings(&self._nats.url(), &self._db.url),
            vec![scheduling::service()],
            shutdown.clone(),
        )
        .await
        .expect("scheduling starts again");
        self._stop_on_drop = shutdown.clone().drop_guard();
        self.shutdown = shutdown;
        self.app = Some(tokio::spawn(app.wait()));
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(app) = self.app.take() {
            app.await.expect("app task").expect("app stops cleanly");
        }
    }
}

fn decode(message: &Message) -> Out {
    let body = &message.payload;
    let parsed = match message.subject.as_str() {
        subjects::WORKSHOP_SCHEDULED => WorkshopScheduled::from_json(body).map(Out::Scheduled),
        subjects::WORKSHOP_RESCHEDULED => {
            WorkshopRescheduled::from_json(body).map(Out::Rescheduled)
        }
        subjects::WORKSHOP_CANCELLED => WorkshopCancelled::from_json(body).map(Out::Cancelled),
        subjects::WORKSHOP_UNSCHEDULABLE => {
            WorkshopUnschedulable::from_json(body).map(Out::Unschedulable)
        }
        other => panic!("unexpected subject {other}"),
    };
    parsed.unwrap_or_else(|e| panic!("bad body on {}: {e}", message.subject))
}

/// The committed seed holiday file of `country`.
pub fn seed_holidays(country: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/seed/holidays")
        .join(format!("{country}.ics"))
}

/// When every test's enquiries arrived: Monday 4 January 2027, 00:00 UTC.
/// The planner counts the lead time from here, never from the clock, so the
/// expected dates are fixed.
pub fn received_at() -> DateTime<Utc> {
    "2027-01-04T00:00:00Z".parse().expect("a time")
}

/// An accepted enquiry as intake announces it: by default a joint workshop
/// on social innovation, 18 participants, either format, February–March.
pub fn enquiry(city: &str, time_zone: &str) -> EnquiryReceived {
    let at = received_at();
    EnquiryReceived {
        enquiry_id: uuid::Uuid::now_v7().to_string(),
        city: city.to_owned(),
        reference: format!("{}-{}", city.to_uppercase(), uuid::Uuid::new_v4().simple()),
        kind: EnquiryKind::JointWorkshop.into(),
        topics: vec![
            Topic::SocialInnovation.into(),
            Topic::LocalGovernance.into(),
        ],
        preferred_window: Some(DateWindow {
            start: "2027-02-01".to_owned(),
            end: "2027-03-31".to_owned(),
        }),
        participants: 18,
        languages: vec!["en".to_owned()],
        format: Format::Either.into(),
        time_zone: time_zone.to_owned(),
        beneficiary: false,
        priority: false,
        received_at: Some(pbjson_types_timestamp(at)),
        inbound_id: uuid::Uuid::now_v7().to_string(),
        country: country_of_zone(time_zone).to_owned(),
    }
}

/// An expert as assignment publishes them: covers the default enquiry's
/// topics, speaks English, works from Seoul, four assignments a month.
pub fn expert(id: &str) -> ExpertProfile {
    ExpertProfile {
        expert_id: id.to_owned(),
        display_name: id.to_uppercase(),
        topics: vec![
            Topic::SocialInnovation.into(),
            Topic::LocalGovernance.into(),
        ],
        languages: vec!["en".to_owned()],
        time_zone: "Asia/Seoul".to_owned(),
        unavailable: Vec::new(),
        monthly_limit: 4,
        active: true,
        revision: 1,
    }
}

/// The country of the zones the tests use, as intake's registry would give
/// it; empty (no holidays known) for any other.
fn country_of_zone(time_zone: &str) -> &'static str {
    match time_zone {
        "Asia/Makassar" | "Asia/Jakarta" => "ID",
        "Asia/Colombo" => "LK",
        "Asia/Kolkata" => "IN",
        "Asia/Seoul" => "KR",
        _ => "",
    }
}

pub fn window(enquiry: &mut EnquiryReceived, start: &str, end: &str) {
    enquiry.preferred_window = Some(DateWindow {
        start: start.to_owned(),
        end: end.to_owned(),
    });
}

pub fn pbjson_types_timestamp(at: DateTime<Utc>) -> pbjson_types::Timestamp {
    pbjson_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

/// A UTC instant, for comparing sessions.
pub fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 time")
}

/// A session's `(start, end)` in UTC.
pub fn span(session: &contract::proto::common::v1::Session) -> (DateTime<Utc>, DateTime<Utc>) {
    let at = |t: &Option<pbjson_types::Timestamp>| {
        let t = t.as_ref().expect("a session time");
        DateTime::<Utc>::from_timestamp(t.seconds, 0).expect("a valid time")
    };
    (at(&session.start), at(&session.end))
}
