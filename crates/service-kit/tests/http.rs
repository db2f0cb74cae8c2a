//! The operations endpoint over real HTTP, on port 0.

mod support;

use std::sync::Arc;
use std::time::Duration;

use service_kit::{HttpServer, Readiness};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use telemetry::{ConsumeOutcome, Metrics};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

struct TestApp {
    base: String,
    readiness: Readiness,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
}

async fn spawn_app(readiness: Readiness) -> TestApp {
    let metrics = Metrics::new();
    let server = HttpServer::bind(support::local(0), readiness.clone(), metrics.clone())
        .await
        .expect("bind port 0");
    let base = format!("http://{}", server.local_addr());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(server.serve(shutdown.clone()));
    TestApp {
        base,
        readiness,
        metrics,
        shutdown,
        server,
    }
}

async fn get(url: &str) -> (u16, String, String) {
    let response = reqwest::get(url).await.expect("request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// Polls `/readyz` until `done` accepts the answer, or fails after 15 s.
async fn readyz_until(base: &str, done: impl Fn(u16, &str) -> bool) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (status, _, body) = get(&format!("{base}/readyz")).await;
        if done(status, &body) {
            return (status, body);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "readyz never changed: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app(Readiness::new()).await;
    let (status, _, body) = get(&format!("{}/healthz", app.base)).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
}

#[tokio::test]
async fn readyz_lists_every_step_not_done_then_answers_ready() {
    let app = spawn_app(Readiness::new()).await;

    let (status, content_type, body) = get(&format!("{}/readyz", app.base)).await;
    assert_eq!(status, 503);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(body.contains("migrations: not applied yet"), "{body}");
    assert!(body.contains("streams: not provisioned yet"), "{body}");

    app.readiness.set_migrated();
    let (status, _, body) = get(&format!("{}/readyz", app.base)).await;
    assert_eq!(status, 503);
    assert!(!body.contains("migrations"), "{body}");
    assert!(body.contains("streams"), "{body}");

    app.readiness.set_streams_ready();
    let (status, _, body) = get(&format!("{}/readyz", app.base)).await;
    assert_eq!((status, body.as_str()), (200, "ready"));
}

#[tokio::test]
async fn readyz_is_503_when_the_registered_postgres_is_unreachable() {
    let options = PgConnectOptions::new()
        .host("127.0.0.1")
        .port(support::closed_port())
        .username("nobody")
        .database("nothing");
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy_with(options);
    let readiness = Readiness::new().with_postgres(pool);
    readiness.set_migrated();
    readiness.set_streams_ready();
    let app = spawn_app(readiness).await;

    let (status, _, body) = get(&format!("{}/readyz", app.base)).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("not ready:\n"), "{body}");
    assert!(body.contains("- postgres: "), "{body}");
    assert_eq!(
        body.lines().count(),
        2,
        "only postgres is not ready: {body}"
    );
}

#[tokio::test]
async fn readyz_follows_the_nats_connection() {
    let nats = support::NatsServer::start();
    let settings = support::settings(&[("ILEAPS_NATS_URL", nats.url())]);
    let client = service_kit::connect_nats(&settings).await.expect("connect");
    let readiness = Readiness::new().with_nats(client);
    readiness.set_migrated();
    readiness.set_streams_ready();
    let app = spawn_app(readiness).await;

    let (status, _, body) = get(&format!("{}/readyz", app.base)).await;
    assert_eq!((status, body.as_str()), (200, "ready"));

    drop(nats);
    let (_, body) = readyz_until(&app.base, |status, _| status == 503).await;
    assert!(
        body.contains("- nats: disconnected") || body.contains("- nats: connecting"),
        "{body}"
    );
}

#[tokio::test]
async fn metrics_serves_prometheus_text_with_the_counts() {
    let app = spawn_app(Readiness::new()).await;
    app.metrics
        .record_consumed("intake", "enquiries", ConsumeOutcome::Retried, 2);

    let (status, content_type, body) = get(&format!("{}/metrics", app.base)).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, telemetry::PROMETHEUS_CONTENT_TYPE);
    assert!(
        body.contains(
            r#"ileaps_messages_consumed_total{service="intake",consumer="enquiries",outcome="retried"} 2"#
        ),
        "{body}"
    );
}

#[tokio::test]
async fn metrics_serves_openmetrics_to_scrapers_that_ask() {
    let app = spawn_app(Readiness::new()).await;
    app.metrics.record_relayed("intake", 1);

    let response = reqwest::Client::new()
        .get(format!("{}/metrics", app.base))
        .header(
            reqwest::header::ACCEPT,
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()[reqwest::header::CONTENT_TYPE],
        telemetry::OPENMETRICS_CONTENT_TYPE
    );
    let body = response.text().await.unwrap();
    assert!(body.ends_with("# EOF\n"), "{body}");
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let app = spawn_app(Readiness::new()).await;
    let (status, _, _) = get(&format!("{}/admin", app.base)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn serving_ends_when_shutdown_is_cancelled() {
    let app = spawn_app(Readiness::new()).await;
    let (status, _, _) = get(&format!("{}/healthz", app.base)).await;
    assert_eq!(status, 200);

    app.shutdown.cancel();
    let result = tokio::time::timeout(Duration::from_secs(10), app.server)
        .await
        .expect("the server stops after shutdown")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert!(reqwest::get(format!("{}/healthz", app.base)).await.is_err());
}

#[tokio::test]
async fn binding_a_port_in_use_fails_at_bind() {
    let first = HttpServer::bind(support::local(0), Readiness::new(), Metrics::new())
        .await
        .unwrap();
    let taken = HttpServer::bind(first.local_addr(), Readiness::new(), Metrics::new()).await;
    assert!(taken.is_err());
}
