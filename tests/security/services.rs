//! The services at work as they are deployed: each with its own NATS user of
//! `deploy/nats/` and its own Postgres role of `deploy/postgres/`, a city
//! publishing and asking, an integrator reading. Least privilege that stops
//! a service from working would show here.

use crate::support::{AuthNats, DEADLINE, roles_server};
use async_nats::jetstream::Message;
use contract::event_types::ENQUIRY_SUBMIT;
use contract::{Service, subjects};
use serde_json::{Value, json};
use service_kit::Settings;
use service_kit::app::{App, ServiceDef};
use std::time::Duration;
use test_support::{StreamReader, city_headers};
use tokio_util::sync::CancellationToken;

/// Planning chains several hops (intake, scheduling, assignment, notifications).
const PLANNING: Duration = Duration::from_secs(60);

fn defs(smtp_url: String) -> [ServiceDef; 4] {
    let mut mail = notifications::settings::NotificationSettings::with_mail_folder("unused".into());
    mail.email = notifications::channels::email::EmailTransport::Smtp {
        url: smtp_url.into(),
    };
    mail.poll_interval = Duration::from_millis(100);
    [
        intake::service(),
        scheduling::service(),
        assignment::service(),
        notifications::service_with(mail),
    ]
}

fn seed(file: &str) -> Value {
    let path = test_support::workspace_root()
        .join("deploy/seed")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("the seed file");
    serde_yaml::from_str(&text).expect("the seed parses")
}

fn submission(reference: &str) -> Value {
    let today = chrono::Utc::now().date_naive();
    json!({
        "reference": reference,
        "city": "makassar",
        "kind": "JOINT_WORKSHOP",
        "topics": ["SOCIAL_INNOVATION", "LOCAL_GOVERNANCE"],
        "preferredWindow": {
            "start": (today + chrono::Days::new(30)).to_string(),
            "end": (today + chrono::Days::new(90)).to_string(),
        },
        "participants": 18,
        "languages": ["en", "id"],
        "format": "EITHER",
        "contact": {"name": "A. Rahman", "email": "innovation.office@makassar.example"},
    })
}

fn ce_type(message: &Message) -> &str {
    message
        .headers
        .as_ref()
        .and_then(|h| h.get("ce-type"))
        .map_or("", |v| v.as_str())
}

#[tokio::test]
async fn the_services_do_their_work_as_their_own_nats_users_and_database_roles() {
    let nats = AuthNats::start().await;
    let db = roles_server().await.database().await;
    let shutdown = CancellationToken::new();
    let _stop_on_failure = shutdown.clone().drop_guard();
    let http = reqwest::Client::new();
    let smtp = test_support::SmtpServer::start().await;

    let mut running = Vec::new();
    for def in defs(smtp.url()) {
        let name = def.service.name();
        let user = name.to_owned();
        let password = nats.password_of(name);
        let nats_url = nats.url();
        let database_url = db.url_as(&format!("ileaps_{name}"));
        let settings = Settings::from_lookup(|variable| match variable {
            "ILEAPS_NATS_URL" => Some(nats_url.clone()),
            "ILEAPS_NATS_USER" => Some(user.clone()),
            "ILEAPS_NATS_PASSWORD" => Some(password.clone()),
            "ILEAPS_DATABASE_URL" => Some(database_url.clone()),
            "ILEAPS_HTTP_ADDR" => Some("127.0.0.1:0".to_owned()),
            "ILEAPS_SHUTDOWN_TIMEOUT_SECS" => Some("10".to_owned()),
            "ILEAPS_CONNECT_TIMEOUT_SECS" => Some("10".to_owned()),
            _ => None,
        })
        .expect("valid settings")
        .with_client_name(format!("ileaps-{name}"));
        let app = App::start(settings, vec![def], shutdown.clone())
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "{name} does not start as NATS user {name} and role ileaps_{name}: {error:#}"
                )
            });
        let what = format!("{name} ready");
        test_support::eventually(&what, DEADLINE, || async {
            let url = format!("http://{}/readyz", app.http_addr());
            let response = http.get(&url).send().await.ok()?;
            response.status().is_success().then_some(())
        })
        .await;
        running.push((name, tokio::spawn(app.wait())));
    }

    // The operator registers the cities and the roster (admin commands).
    let operator = nats.connect("operator").await;
    for (service, command, file) in [
        (Service::Intake, "cities.import", "cities.yaml"),
        (Service::Assignment, "experts.import", "experts.yaml"),
    ] {
        messaging::admin::request(&operator.client, service, command, &seed(file), DEADLINE)
            .await
            .unwrap_or_else(|error| panic!("{command} as the operator: {error}"));
    }

    // An integrator follows the programme; makassar sends an enquiry.
    let integrator = nats.connect("integrator").await;
    let mut events = StreamReader::new(
        &integrator.js,
        subjects::STREAM_EVENTS,
        subjects::EVENTS_ALL,
    )
    .await;
    let makassar = nats.connect("city-makassar").await;
    makassar
        .js
        .publish_with_headers(
            "ileaps.inbound.makassar.enquiry",
            city_headers("makassar", ENQUIRY_SUBMIT),
            submission("MKS-SEC-1").to_string().into(),
        )
        .await
        .expect("makassar publishes")
        .await
        .expect("JetStream acks makassar's enquiry");

    // Each hop, seen by the integrator: intake, scheduling, assignment.
    for wanted in [
        "ileaps.enquiry.received.v1",
        "ileaps.workshop.scheduled.v1",
        "ileaps.assignment.made.v1",
    ] {
        let event = events
            .next_matching(PLANNING, move |m: &Message| ce_type(m) == wanted)
            .await;
        assert!(
            event.subject.starts_with("ileaps.events."),
            "{}",
            event.subject
        );
    }

    // Notifications, as its own user, writes on makassar's feed, which
    // makassar reads with its own durable consumer (the only one it may use).
    let feed: async_nats::jetstream::consumer::PullConsumer = makassar
        .js
        .create_consumer_on_stream(
            async_nats::jetstream::consumer::pull::Config {
                durable_name: Some("city-makassar".into()),
                filter_subject: "ileaps.outbound.makassar.>".into(),
                ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            },
            subjects::STREAM_OUTBOUND,
        )
        .await
        .expect("makassar creates its own feed consumer");
    let mut notices = feed.messages().await.expect("makassar reads its feed");
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|t| t == "ileaps.city.workshop.confirmed.v1")
    {
        use futures::StreamExt;
        let notice = tokio::time::timeout(PLANNING, notices.next())
            .await
            .expect("a notice on makassar's feed in time")
            .expect("the feed is open")
            .expect("a notice");
        notice.ack().await.expect("makassar acks");
        seen.push(ce_type(&notice).to_owned());
    }
    assert_eq!(seen[0], "ileaps.city.enquiry.received.v1", "{seen:?}");
    smtp.wait_for_match("makassar's confirmation email", PLANNING, |m| {
        m.rcpt_to == ["innovation.office@makassar.example"]
            && m.subject().is_some_and(|s| s.contains("MKS-SEC-1"))
    })
    .await;

    // Makassar asks intake how its enquiry stands (request and reply through
    // its own inbox).
    let status = test_support::eventually("MKS-SEC-1 confirmed", PLANNING, || async {
        let reply = makassar
            .client
            .request(
                subjects::query_enquiry(&contract::CityCode::parse("makassar").ok()?),
                json!({"reference": "MKS-SEC-1"}).to_string().into(),
            )
            .await
            .ok()?;
        let body: Value = serde_json::from_slice(&reply.payload).ok()?;
        (body["status"] == "CONFIRMED").then_some(body)
    })
    .await;
    assert_eq!(status["reference"], "MKS-SEC-1");

    shutdown.cancel();
    for (name, app) in running {
        app.await
            .expect("the service task")
            .unwrap_or_else(|error| panic!("{name} did not stop cleanly: {error:#}"));
    }
}
