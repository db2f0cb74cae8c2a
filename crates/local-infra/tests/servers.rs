//! Real servers, started from the installed binaries: nothing is mocked.
//! Each test works in its own directory under `target/test-infra/`.

use local_infra::{
    InfraError, LocalInfra, NatsOptions, NatsServer, PostgresServer, ensure_database, tcp_reachable,
};
use sqlx::Connection;
use std::path::PathBuf;
use std::time::Duration;

fn scratch_dir(what: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/test-infra")
        .join(format!("{what}-{}", uuid::Uuid::new_v4().simple()))
}

async fn jetstream(url: &str) -> async_nats::jetstream::Context {
    let client = async_nats::connect(url)
        .await
        .expect("connect to nats-server");
    async_nats::jetstream::new(client)
}

async fn publish_to_new_stream(url: &str, stream: &str) {
    let js = jetstream(url).await;
    js.create_stream(async_nats::jetstream::stream::Config {
        name: stream.to_owned(),
        subjects: vec![format!("{stream}.>")],
        ..Default::default()
    })
    .await
    .expect("create stream");
    js.publish(format!("{stream}.one"), "hello".into())
        .await
        .expect("publish")
        .await
        .expect("publish ack");
}

async fn stream_messages(url: &str, stream: &str) -> u64 {
    let js = jetstream(url).await;
    let mut stream = js.get_stream(stream).await.expect("the stream exists");
    stream.info().await.expect("stream info").state.messages
}

#[tokio::test]
async fn a_private_nats_server_accepts_jetstream_publishes() {
    let server = NatsServer::start_disposable(NatsOptions::new(scratch_dir("nats")))
        .await
        .expect("start nats-server");
    assert!(server.url().starts_with("nats://127.0.0.1:"));
    publish_to_new_stream(&server.url(), "GREETINGS").await;
    assert_eq!(stream_messages(&server.url(), "GREETINGS").await, 1);
}

#[tokio::test]
async fn a_restarted_nats_server_keeps_its_streams_and_its_port() {
    let mut server = NatsServer::start_disposable(NatsOptions::new(scratch_dir("nats")))
        .await
        .expect("start nats-server");
    let port = server.port();
    publish_to_new_stream(&server.url(), "KEPT").await;

    server.restart().await.expect("restart");

    assert_eq!(server.port(), port);
    assert_eq!(stream_messages(&server.url(), "KEPT").await, 1);
}

#[tokio::test]
async fn a_killed_nats_server_is_down_until_restarted() {
    let mut server = NatsServer::start_disposable(NatsOptions::new(scratch_dir("nats")))
        .await
        .expect("start nats-server");
    publish_to_new_stream(&server.url(), "CRASHED").await;

    server.kill();
    assert!(!server.is_running());
    assert!(!tcp_reachable(&server.url(), Duration::from_millis(200)).await);

    server.restart().await.expect("restart after kill");
    assert_eq!(stream_messages(&server.url(), "CRASHED").await, 1);
}

#[tokio::test]
async fn a_disposable_store_is_removed_when_the_server_is_dropped() {
    let dir = scratch_dir("nats");
    let server = NatsServer::start_disposable(NatsOptions::new(&dir))
        .await
        .expect("start nats-server");
    let url = server.url();
    assert!(dir.join("nats-server.log").exists());

    drop(server);

    assert!(!dir.exists(), "{} should be gone", dir.display());
    assert!(!tcp_reachable(&url, Duration::from_millis(200)).await);
}

#[tokio::test]
async fn a_nats_server_that_cannot_start_says_why_with_its_log() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let options = NatsOptions {
        port: Some(taken.local_addr().unwrap().port()),
        ..NatsOptions::new(scratch_dir("nats"))
    };
    let dir = options.store_dir.clone();

    let error = NatsServer::start(options)
        .await
        .expect_err("the port is taken");

    let _ = std::fs::remove_dir_all(&dir);
    assert!(matches!(error, InfraError::NatsExited { .. }), "{error}");
    assert!(
        error.to_string().contains("address already in use"),
        "{error}"
    );
}

#[tokio::test]
async fn a_private_postgres_cluster_starts_even_as_root() {
    let dir = scratch_dir("pg");
    let mut server = PostgresServer::start_disposable(&dir)
        .await
        .expect("start a private PostgreSQL cluster");
    assert_eq!(
        server.url("x"),
        format!("postgres://postgres@127.0.0.1:{}/x", server.port())
    );

    // ensure_database is idempotent and safe when several race.
    let url = server.url("raced");
    let racers: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn({
                let url = url.clone();
                async move { ensure_database(&url).await }
            })
        })
        .collect();
    for racer in racers {
        racer.await.unwrap().expect("ensure_database");
    }
    let mut db = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::raw_sql("CREATE TABLE kept (id int); INSERT INTO kept VALUES (7);")
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();

    // A database restart keeps the port and the data.
    let port = server.port();
    server.stop().await;
    assert!(!tcp_reachable(&url, Duration::from_millis(200)).await);
    server.start_again().await.expect("start again");
    assert_eq!(server.port(), port);
    let mut db = sqlx::PgConnection::connect(&url).await.expect("reconnect");
    let kept: i32 = sqlx::query_scalar("SELECT id FROM kept")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(kept, 7);
    db.close().await.unwrap();

    drop(server);
    assert!(!dir.exists(), "{} should be gone", dir.display());
    assert!(!tcp_reachable(&url, Duration::from_millis(200)).await);
}

/// A local port nothing listens on (bound, then released).
fn silent_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn local_infra_starts_private_servers_where_nothing_answers() {
    let root = scratch_dir("infra");
    let nats_url = format!("nats://127.0.0.1:{}", silent_port());
    let database_url = format!("postgres://app:secret@localhost:{}/ileaps", silent_port());

    let infra = LocalInfra::ensure(&nats_url, &database_url, &root)
        .await
        .expect("local infrastructure");

    assert!(infra.nats.is_some() && infra.postgres.is_some());
    assert_ne!(infra.nats_url, nats_url);
    publish_to_new_stream(&infra.nats_url, "ZERO_SETUP").await;
    assert!(
        infra.database_url.ends_with("/ileaps"),
        "{}",
        infra.database_url
    );
    let db = sqlx::PgConnection::connect(&infra.database_url)
        .await
        .expect("the database was created");
    db.close().await.unwrap();

    let (nats_url, database_url) = (infra.nats_url.clone(), infra.database_url.clone());
    infra.shutdown().await;
    assert!(!tcp_reachable(&nats_url, Duration::from_millis(200)).await);
    assert!(!tcp_reachable(&database_url, Duration::from_millis(200)).await);
    std::fs::remove_dir_all(&root).unwrap();
}

#[tokio::test]
async fn local_infra_uses_the_servers_that_answer() {
    let nats = NatsServer::start_disposable(NatsOptions::new(scratch_dir("nats")))
        .await
        .expect("start nats-server");
    let postgres = PostgresServer::start_disposable(&scratch_dir("pg"))
        .await
        .expect("start postgres");
    let database_url = postgres.url("made_by_ensure");
    let root = scratch_dir("unused");

    let infra = LocalInfra::ensure(&nats.url(), &database_url, &root)
        .await
        .expect("local infrastructure");

    assert!(!infra.started_anything());
    assert_eq!(infra.nats_url, nats.url());
    assert_eq!(infra.database_url, database_url);
    assert!(!root.exists(), "nothing should have been written");
    sqlx::PgConnection::connect(&database_url)
        .await
        .expect("the database was created")
        .close()
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unanswering_remote_address_is_an_error_not_a_private_server() {
    let root = scratch_dir("unused");
    // TEST-NET-1: documentation addresses, never routed.
    let error = LocalInfra::ensure("nats://192.0.2.1:4222", "postgres://x@192.0.2.1/db", &root)
        .await
        .expect_err("a remote address that does not answer");
    assert!(matches!(error, InfraError::Unreachable { .. }), "{error}");
    assert!(!root.exists());
}
