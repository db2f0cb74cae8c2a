//! The helpers, against real servers: a private nats-server per test and a
//! database per test on the test Postgres server.

use async_nats::jetstream::{self, stream};
use std::time::Duration;
use test_support::local_infra::{PostgresServer, tcp_reachable};
use test_support::{StreamReader, TestNats, city_headers, eventually, test_db, test_db_on};

const DEADLINE: Duration = Duration::from_secs(10);

async fn inbound_stream(js: &jetstream::Context) {
    js.create_stream(stream::Config {
        name: "INBOUND".to_owned(),
        subjects: vec!["inbound.>".to_owned()],
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await
    .expect("create stream");
}

async fn publish(
    js: &jetstream::Context,
    subject: &str,
    headers: async_nats::HeaderMap,
    body: &str,
) {
    js.publish_with_headers(subject.to_owned(), headers, body.to_owned().into())
        .await
        .expect("publish")
        .await
        .expect("publish ack");
}

#[tokio::test]
async fn a_private_nats_server_accepts_jetstream_publishes() {
    let nats = TestNats::start().await;
    let js = nats.new_jetstream().await;
    inbound_stream(&js).await;

    publish(
        &js,
        "inbound.lyon",
        city_headers("lyon", "t.v1"),
        r#"{"n":1}"#,
    )
    .await;

    let mut reader = StreamReader::new(&js, "INBOUND", "inbound.lyon").await;
    let message = reader.next(DEADLINE).await;
    assert_eq!(&message.payload[..], br#"{"n":1}"#);
}

#[tokio::test]
async fn each_test_gets_its_own_nats_server() {
    let (a, b) = tokio::join!(TestNats::start(), TestNats::start());
    assert_ne!(a.url(), b.url());
    inbound_stream(&a.new_jetstream().await).await;
    let streams_on_b = b.new_jetstream().await.get_stream("INBOUND").await;
    assert!(streams_on_b.is_err(), "b must not see a's stream");
}

#[tokio::test]
async fn a_restarted_nats_server_keeps_its_streams() {
    let mut nats = TestNats::start().await;
    let client = nats.client().await;
    let js = nats.jetstream(client.clone());
    inbound_stream(&js).await;
    publish(&js, "inbound.oslo", city_headers("oslo", "t.v1"), "{}").await;

    nats.server().restart().await.expect("restart");

    // The same client reconnects on its own; the stream and message survived.
    eventually("the client to reconnect", DEADLINE, || {
        let client = client.clone();
        async move {
            (client.connection_state() == async_nats::connection::State::Connected).then_some(())
        }
    })
    .await;
    publish(&js, "inbound.oslo", city_headers("oslo", "t.v1"), "{}").await;
    let messages = StreamReader::new(&js, "INBOUND", "inbound.>")
        .await
        .collect_for(Duration::from_millis(300))
        .await;
    assert_eq!(messages.len(), 2);
}

#[tokio::test]
async fn a_killed_nats_server_refuses_connections_until_restarted() {
    let mut nats = TestNats::start().await;
    nats.server().kill();
    assert!(!tcp_reachable(&nats.url(), Duration::from_millis(200)).await);
    nats.server().restart().await.expect("restart");
    assert!(tcp_reachable(&nats.url(), Duration::from_secs(1)).await);
}

#[tokio::test]
async fn a_repeated_city_message_is_stored_exactly_once() {
    let nats = TestNats::start().await;
    let js = nats.new_jetstream().await;
    inbound_stream(&js).await;
    let headers = city_headers("bergen", "t.v1");

    for _ in 0..3 {
        publish(&js, "inbound.bergen", headers.clone(), "{}").await;
    }

    let mut reader = StreamReader::new(&js, "INBOUND", "inbound.bergen").await;
    let messages = reader.collect_for(Duration::from_millis(300)).await;
    assert_eq!(messages.len(), 1, "Nats-Msg-Id = ce-id deduplicates");
}

#[tokio::test]
async fn the_stream_reader_skips_what_does_not_match() {
    let nats = TestNats::start().await;
    let js = nats.new_jetstream().await;
    inbound_stream(&js).await;
    for n in 1..=3 {
        publish(
            &js,
            "inbound.turin",
            city_headers("turin", "t.v1"),
            &n.to_string(),
        )
        .await;
    }

    let mut reader = StreamReader::new(&js, "INBOUND", "inbound.*").await;
    let third = reader
        .next_matching(DEADLINE, |m| &m.payload[..] == b"3")
        .await;
    assert_eq!(third.subject.as_str(), "inbound.turin");
}

#[tokio::test]
#[should_panic(expected = "filter inbound.nowhere")]
async fn a_stream_reader_that_waits_in_vain_names_its_filter() {
    let nats = TestNats::start().await;
    let js = nats.new_jetstream().await;
    inbound_stream(&js).await;
    let mut reader = StreamReader::new(&js, "INBOUND", "inbound.nowhere").await;
    reader.next(Duration::from_millis(200)).await;
}

#[test]
fn city_headers_carry_a_complete_cloudevents_envelope() {
    let headers = city_headers("lyon", "ileaps.enquiry.submit.v1");
    let envelope = contract::Envelope::from_headers(Some(&headers)).expect("a valid envelope");
    assert_eq!(envelope.source, "/cities/lyon");
    assert_eq!(envelope.event_type, "ileaps.enquiry.submit.v1");
    let msg_id = headers.get("Nats-Msg-Id").map(|v| v.as_str());
    assert_eq!(msg_id, Some(envelope.id.as_str()));
    let id = uuid::Uuid::parse_str(&envelope.id).expect("a uuid");
    assert_eq!(id.get_version_num(), 7);
}

#[tokio::test]
async fn each_test_database_is_fresh_and_dropped_afterwards() {
    let (a, b) = tokio::join!(test_db(), test_db());
    assert_ne!(a.name, b.name);
    assert!(a.name.starts_with("ileaps_test_"));
    sqlx::query("CREATE TABLE only_in_a (id int)")
        .execute(&a.pool)
        .await
        .unwrap();
    let in_b: Option<String> = sqlx::query_scalar("SELECT to_regclass('only_in_a')::text")
        .fetch_one(&b.pool)
        .await
        .unwrap();
    assert_eq!(in_b, None);

    let name = a.name.clone();
    drop(a);

    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&b.pool)
            .await
            .unwrap();
    assert!(!exists, "{name} should have been dropped");
}

#[tokio::test]
async fn a_private_postgres_cluster_serves_test_databases() {
    let dir = test_support::test_infra_dir().join(format!("pg-{}", uuid::Uuid::new_v4().simple()));
    let server =
        PostgresServer::start_disposable(&test_support::local_infra::usable_data_dir(&dir))
            .await
            .expect("a private cluster");
    let db = test_db_on(&server.url("postgres")).await;
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(one, 1);
    drop(db);
}

#[tokio::test]
async fn eventually_returns_the_first_value_that_arrives() {
    let mut calls = 0;
    let value = eventually("the third call", DEADLINE, || {
        calls += 1;
        let n = calls;
        async move { (n == 3).then_some(n * 10) }
    })
    .await;
    assert_eq!(value, 30);
}

#[tokio::test]
#[should_panic(expected = "timed out after 100ms waiting for the impossible")]
async fn eventually_names_what_it_waited_for_when_it_gives_up() {
    eventually("the impossible", Duration::from_millis(100), || async {
        None::<()>
    })
    .await;
}

#[tokio::test]
#[should_panic(expected = "timed out after 100ms waiting for a hung check")]
async fn eventually_gives_up_on_a_check_that_hangs() {
    eventually("a hung check", Duration::from_millis(100), || {
        std::future::pending::<Option<()>>()
    })
    .await;
}
