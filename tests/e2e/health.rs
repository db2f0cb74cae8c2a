//! The operations endpoint of running services: `/metrics` counts what
//! flows, `/readyz` follows NATS and Postgres going away and coming back.
//!
//! Postgres is stopped only in a private cluster started by the test that
//! stops it, never the server the other tests share.

use crate::helpers::{DEADLINE, TestApp, codes, intake_def, outcome_of, settings, submission};
use contract::event_types::ENQUIRY_SUBMIT;
use service_kit::app::App;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use test_support::local_infra::{self, PostgresServer};
use test_support::{TestNats, eventually};
use tokio_util::sync::CancellationToken;

/// Long enough for a client's reconnect backoff (at most 4 s) and a
/// Postgres start on a loaded two-core machine.
const RECOVERY: Duration = Duration::from_secs(60);

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        // A hung probe must fail the poll, not the whole deadline.
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client")
}

async fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let response = http()
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

/// Polls `/readyz` until its status is `status`; returns the body.
async fn readyz_becomes(addr: SocketAddr, status: u16, what: &str, deadline: Duration) -> String {
    eventually(what, deadline, || async move {
        get(addr, "/readyz")
            .await
            .filter(|(got, _)| *got == status)
            .map(|(_, body)| body)
    })
    .await
}

/// One `/metrics` page: each sample's name and labels, and its value.
#[derive(Debug)]
struct Samples(BTreeMap<(String, BTreeMap<String, String>), f64>);

impl Samples {
    async fn scrape(addr: SocketAddr) -> Samples {
        let (status, text) = get(addr, "/metrics").await.expect("/metrics answers");
        assert_eq!(status, 200, "{text}");
        Samples::parse(&text)
    }

    fn parse(text: &str) -> Samples {
        let mut samples = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, parse_labels(rest.trim_end_matches('}'))),
                None => (series, BTreeMap::new()),
            };
            samples.insert((name.to_owned(), labels), value);
        }
        Samples(samples)
    }

    /// The value of the sample `name` whose labels include `labels`; the sum
    /// when several do.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self
            .0
            .iter()
            .filter(|((n, l), _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, value)| *value)
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }

    fn count(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }
}

/// `a="x",b="y"` (values as the Prometheus text format escapes them).
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => {}
                },
                '"' => {
                    end = i + 1;
                    break;
                }
                other => value.push(other),
            }
        }
        labels.insert(key.trim_start_matches(',').to_owned(), value);
        rest = &after[end..];
    }
    labels
}

const CONSUMED: &str = "ileaps_messages_consumed_total";
const ENQUIRIES: &str = "ileaps_enquiries_total";
const INTAKE: (&str, &str) = ("service", "intake");
const INBOUND: (&str, &str) = ("consumer", "intake");

#[tokio::test]
async fn metrics_count_what_flows_through_intake() {
    let app = TestApp::spawn().await;
    let mut events = app.events().await;
    let before = Samples::scrape(app.http).await;
    assert_eq!(
        before.count(CONSUMED, &[INTAKE, INBOUND, ("outcome", "ok")]),
        0.0
    );
    assert_eq!(before.count(ENQUIRIES, &[("outcome", "received")]), 0.0);

    // Three good enquiries, one that names another city, and one message a
    // second time under a new Nats-Msg-Id (as after the duplicate window).
    let mut last = String::new();
    for n in 0..3 {
        last = app
            .submit("makassar", &submission("makassar", &format!("MET-{n}")))
            .await;
    }
    let mismatch = app
        .submit("makassar", &submission("colombo", "MET-X"))
        .await;
    let headers = test_support::city_headers("colombo", ENQUIRY_SUBMIT);
    let payload = submission("colombo", "MET-DUP").to_string();
    app.publish_raw(
        "ileaps.inbound.colombo.enquiry",
        headers.clone(),
        payload.clone(),
    )
    .await;
    let mut again = headers;
    again.insert("Nats-Msg-Id", "the-same-message-again");
    app.publish_raw("ileaps.inbound.colombo.enquiry", again, payload)
        .await;
    outcome_of(&mut events, &last).await;
    assert_eq!(
        codes(&outcome_of(&mut events, &mismatch).await),
        ["CITY_MISMATCH"]
    );

    let after = eventually("the counters to catch up", DEADLINE, || async {
        let samples = Samples::scrape(app.http).await;
        let caught_up = samples.count(CONSUMED, &[INTAKE, INBOUND, ("outcome", "ok")]) >= 5.0
            && samples.count(CONSUMED, &[INTAKE, INBOUND, ("outcome", "duplicate")]) >= 1.0
            && samples.count("ileaps_outbox_backlog_rows", &[INTAKE]) == 0.0
            && samples.count("ileaps_relay_published_total", &[INTAKE]) >= 5.0
            // JetStream's pending count, asked when the consumer starts (and
            // again within a second while the consumer does not exist yet).
            && samples
                .get("ileaps_consumer_pending_messages", &[INTAKE, INBOUND])
                .is_some();
        caught_up.then_some(samples)
    })
    .await;

    // Handled once each, however many copies arrived.
    assert_eq!(
        after.count(CONSUMED, &[INTAKE, INBOUND, ("outcome", "ok")]),
        5.0,
        "{after:#?}"
    );
    assert_eq!(after.count(ENQUIRIES, &[("outcome", "received")]), 4.0);
    assert_eq!(
        after.count(
            ENQUIRIES,
            &[("outcome", "rejected"), ("code", "CITY_MISMATCH")]
        ),
        1.0
    );
    // Every message handled was timed.
    assert!(
        after.count("ileaps_handler_duration_seconds_count", &[INTAKE, INBOUND]) >= 6.0,
        "{after:#?}"
    );
    // The outbox's gauges are there even with nothing waiting.
    assert_eq!(
        after.get("ileaps_outbox_oldest_age_seconds", &[INTAKE]),
        Some(0.0)
    );
    app.stop().await;
}

#[tokio::test]
async fn readyz_goes_false_without_nats_and_recovers_when_it_returns() {
    let mut app = TestApp::spawn().await;
    readyz_becomes(app.http, 200, "ready at start", DEADLINE).await;

    app.nats.server().stop().await;
    let body = readyz_becomes(app.http, 503, "not ready without NATS", DEADLINE).await;
    assert!(body.contains("- nats: "), "{body}");
    assert!(!body.contains("postgres"), "{body}");

    app.nats
        .server()
        .restart()
        .await
        .expect("nats-server starts again");
    readyz_becomes(app.http, 200, "ready again with NATS back", RECOVERY).await;

    // And it works again, not just answers.
    eventually("the test's own client to reconnect", RECOVERY, || async {
        (app.client.connection_state() == async_nats::connection::State::Connected).then_some(())
    })
    .await;
    let mut events = app.events().await;
    let inbound = app
        .submit("makassar", &submission("makassar", "AFTER-NATS"))
        .await;
    outcome_of(&mut events, &inbound).await;
    app.stop().await;
}

#[tokio::test]
async fn readyz_goes_false_without_postgres_and_recovers_when_it_returns() {
    let dir = local_infra::usable_data_dir(
        &test_support::test_infra_dir()
            .join(format!("pg-health-{}", uuid::Uuid::new_v4().simple())),
    );
    let mut postgres = PostgresServer::start_disposable(&dir)
        .await
        .unwrap_or_else(|error| panic!("a private PostgreSQL in {}: {error}", dir.display()));
    let db = test_support::test_db_on(&postgres.url("postgres")).await;
    let nats = TestNats::start().await;
    let shutdown = CancellationToken::new();
    let app = App::start(
        settings(&nats.url(), &db.url),
        vec![intake_def()],
        shutdown.clone(),
    )
    .await
    .expect("intake starts");
    let http = app.http_addr();
    let running = tokio::spawn(app.wait());
    let _stop = shutdown.clone().drop_guard();

    readyz_becomes(http, 200, "ready at start", DEADLINE).await;

    postgres.stop().await;
    let body = readyz_becomes(http, 503, "not ready without Postgres", DEADLINE).await;
    assert!(body.contains("- postgres: "), "{body}");
    assert!(!body.contains("nats"), "{body}");

    // An enquiry that arrives meanwhile waits: intake cannot take it, and
    // the consumer's pending count (asked of JetStream on a timer, not by the
    // stuck loop) shows it.
    let js = nats.new_jetstream().await;
    let mut events = test_support::StreamReader::new(
        &js,
        contract::subjects::STREAM_EVENTS,
        contract::subjects::EVENTS_ALL,
    )
    .await;
    let headers = test_support::city_headers("makassar", ENQUIRY_SUBMIT);
    let inbound = headers.get("ce-id").unwrap().as_str().to_owned();
    js.publish_with_headers(
        "ileaps.inbound.makassar.enquiry",
        headers,
        submission("makassar", "DURING-PG").to_string().into(),
    )
    .await
    .expect("publish")
    .await
    .expect("JetStream ack");
    let pending = |at_least: f64, at_most: f64| async move {
        Samples::scrape(http)
            .await
            .get("ileaps_consumer_pending_messages", &[INTAKE, INBOUND])
            .filter(|n| (at_least..=at_most).contains(n))
    };
    // The count is refreshed every 15 s.
    eventually("the enquiry counted as pending", RECOVERY, || {
        pending(1.0, f64::MAX)
    })
    .await;

    postgres
        .start_again()
        .await
        .expect("PostgreSQL starts again");
    readyz_becomes(http, 200, "ready again with Postgres back", RECOVERY).await;

    // Nothing was lost: the waiting enquiry is handled (rejected, since no
    // city is registered in this database; that takes a transaction and the
    // outbox all the same), and the pending count falls back.
    assert_eq!(
        codes(&outcome_of(&mut events, &inbound).await),
        ["UNKNOWN_CITY"]
    );
    eventually("nothing pending any more", RECOVERY, || pending(0.0, 0.0)).await;

    shutdown.cancel();
    running
        .await
        .expect("the app task")
        .expect("intake stops cleanly");
    // The test database is dropped on this server, so before it stops.
    drop(db);
    postgres.stop().await;
}
