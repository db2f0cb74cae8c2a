//! A service's schema: the messaging tables and the service's own migrations
//! land inside it, whoever migrates first and however often.

use crate::support::{Harness, QUIET, ce_ids, received_event};
use contract::{Service, subjects};
use messaging::{Outbox, Relay, RelaySettings, Schema, migrate};
use sqlx::migrate::Migrator;
use sqlx::{Connection, Row};
use std::borrow::Cow;
use test_support::{StreamReader, test_db};

static NO_MIGRATIONS: Migrator = Migrator::DEFAULT;

/// The tables of a schema, sorted.
async fn tables(pool: &sqlx::PgPool, schema: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = $1 ORDER BY table_name",
    )
    .bind(schema)
    .fetch_all(pool)
    .await
    .expect("the catalogue is readable")
}

#[tokio::test]
async fn migrating_again_and_from_replicas_starting_together_is_safe() {
    let db = test_db().await;
    let schema = Schema::new("svc_replicas").expect("a valid name");

    let (a, b) = tokio::join!(
        migrate(&db.url, &schema, &NO_MIGRATIONS),
        migrate(&db.url, &schema, &NO_MIGRATIONS)
    );
    a.expect("one replica migrates");
    b.expect("the other replica migrates");
    migrate(&db.url, &schema, &NO_MIGRATIONS)
        .await
        .expect("a restart migrates again");

    assert_eq!(
        tables(&db.pool, "svc_replicas").await,
        ["_sqlx_migrations", "inbox", "outbox", "outbox_published"]
    );
    assert!(
        tables(&db.pool, "public").await.is_empty(),
        "nothing outside the service's schema"
    );
    let applied: i64 =
        sqlx::query_scalar("SELECT count(*) FROM svc_replicas._sqlx_migrations WHERE success")
            .fetch_one(&db.pool)
            .await
            .expect("the migrations table");
    assert_eq!(applied, 2, "each messaging migration applied once");
}

#[tokio::test]
async fn a_services_own_migrations_run_inside_its_schema() {
    let db = test_db().await;
    let dir = test_support::test_infra_dir()
        .join(format!("migrations-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("a migrations directory");
    std::fs::write(
        dir.join("20260101000000_enquiries.sql"),
        "CREATE TABLE enquiries (id text PRIMARY KEY);",
    )
    .expect("a migration");
    let service = Migrator::new(dir.as_path())
        .await
        .expect("the migrations load");
    let _ = std::fs::remove_dir_all(&dir);

    let schema = Schema::new("svc_own").expect("a valid name");
    migrate(&db.url, &schema, &service)
        .await
        .expect("the schema migrates");
    migrate(&db.url, &schema, &service)
        .await
        .expect("and again");
    assert_eq!(
        tables(&db.pool, "svc_own").await,
        [
            "_sqlx_migrations",
            "enquiries",
            "inbox",
            "outbox",
            "outbox_published"
        ]
    );
}

#[tokio::test]
async fn two_services_in_one_database_keep_their_own_outboxes() {
    // The harness's service lives in `svc_test`; another one joins it.
    let h = Harness::start().await;
    let other = Schema::new("svc_other").expect("a valid name");
    migrate(&h.db.url, &other, &NO_MIGRATIONS)
        .await
        .expect("the other schema migrates");
    let theirs = Outbox::new(other);

    h.enqueue(vec![received_event(1)]).await;
    let mut tx = h.db.pool.begin().await.expect("a transaction");
    theirs
        .enqueue_all(&mut tx, vec![received_event(2), received_event(3)])
        .await
        .expect("the other outbox takes the events");
    tx.commit().await.expect("committed");

    assert_eq!(h.outbox_rows().await.len(), 1);
    let in_other: i64 = sqlx::query_scalar("SELECT count(*) FROM svc_other.outbox")
        .fetch_one(&h.db.pool)
        .await
        .expect("the other outbox");
    assert_eq!(in_other, 2);
    // A relay of one schema publishes only its own rows.
    assert_eq!(h.relay().publish_pending().await.expect("relayed"), 1);
}

/// A database migrated before the outbox kept its history apart (messaging
/// migration 1 only) keeps every row through migration 2: published rows
/// move to the history with their headers as lines, pending rows stay
/// pending, the relay publishes them, and replay re-sends both.
#[tokio::test]
async fn rows_written_before_the_history_table_survive_its_migration() {
    static MESSAGING: Migrator = sqlx::migrate!("./migrations");
    let h = Harness::start().await;
    let mut conn = sqlx::PgConnection::connect(&h.db.url)
        .await
        .expect("a connection");
    sqlx::raw_sql("CREATE SCHEMA svc_old; SET search_path TO svc_old")
        .execute(&mut conn)
        .await
        .expect("the old schema");
    let first_only = Migrator {
        migrations: Cow::Owned(
            MESSAGING
                .iter()
                .filter(|m| m.version == 1)
                .cloned()
                .collect(),
        ),
        ..Migrator::DEFAULT
    };
    first_only
        .run(&mut conn)
        .await
        .expect("the first messaging migration");
    let subject = subjects::ENQUIRY_RECEIVED;
    let published_headers = r#"[["ce-id", "e-1"], ["ce-source", "urn:ileaps:intake"], ["x-multi", "a"], ["x-multi", "b"], ["Nats-Msg-Id", "e-1"]]"#;
    let pending_headers = r#"[["ce-id", "e-2"], ["Nats-Msg-Id", "e-2"]]"#;
    sqlx::raw_sql(&format!(
        "INSERT INTO outbox (id, subject, headers, body, published_at) VALUES \
           ('e-1', '{subject}', '{published_headers}', 'one', now()), \
           ('e-2', '{subject}', '{pending_headers}', 'two', NULL); \
         INSERT INTO inbox (consumer, source, id) VALUES ('c', 's', 'i')"
    ))
    .execute(&mut conn)
    .await
    .expect("rows in the old shape");

    let schema = Schema::new("svc_old").expect("a valid name");
    migrate(&h.db.url, &schema, &NO_MIGRATIONS)
        .await
        .expect("the second messaging migration");

    let history = sqlx::query("SELECT id, headers, body FROM svc_old.outbox_published")
        .fetch_all(&h.db.pool)
        .await
        .expect("the history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].get::<String, _>(0), "e-1");
    assert_eq!(history[0].get::<Vec<u8>, _>(2), b"one");
    let headers = messaging::headers::from_lines(history[0].get(1));
    assert_eq!(
        headers.get("ce-source").unwrap().as_str(),
        "urn:ileaps:intake"
    );
    let multi: Vec<&str> = headers.get_all("x-multi").map(|v| v.as_str()).collect();
    assert_eq!(multi, ["a", "b"], "repeated headers keep their order");
    let inbox: i64 = sqlx::query_scalar("SELECT count(*) FROM svc_old.inbox WHERE id = 'i'")
        .fetch_one(&h.db.pool)
        .await
        .expect("the inbox");
    assert_eq!(
        inbox, 1,
        "the inbox keeps its rows through the collation change"
    );

    // The pending row is still pending, and the relay publishes it.
    let relay = Relay::new(
        Outbox::new(schema),
        Service::Intake,
        h.db.pool.clone(),
        h.js.clone(),
        RelaySettings::default(),
        h.metrics.clone(),
    );
    let mut reader = StreamReader::new(&h.js, subjects::STREAM_EVENTS, subject).await;
    assert_eq!(relay.publish_pending().await.expect("the relay runs"), 1);
    assert_eq!(ce_ids(&reader.collect_for(QUIET).await), ["e-2"]);

    // Both rows are history now, and replay re-sends them in order.
    let since = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    assert_eq!(relay.replay_since(since).await.expect("replay runs"), 2);
    let replayed = reader.collect_for(QUIET).await;
    assert_eq!(ce_ids(&replayed), ["e-1", "e-2"]);
    assert_eq!(replayed[0].payload.as_ref(), b"one");
}
