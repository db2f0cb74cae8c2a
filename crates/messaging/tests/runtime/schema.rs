//! A service's schema: the messaging tables and the service's own migrations
//! land inside it, whoever migrates first and however often.

use crate::support::{Harness, received_event};
use messaging::{Outbox, Schema, migrate};
use sqlx::migrate::Migrator;
use sqlx::{Connection, Row};
use std::borrow::Cow;
use test_support::test_db;

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
/// pending, and the relay publishes them.
#[tokio::test]
async fn rows_written_before_the_history_table_survive_its_migration() {
    static MESSAGING: Migrator = sqlx::migrate!("./migrations");
    let db = test_db().await;
    let mut conn = sqlx::PgConnection::connect(&db.url)
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
    let old_headers = r#"[["ce-id", "e-1"], ["ce-source", "urn:ileaps:intake"], ["x-multi", "a"], ["x-multi", "b"]]"#;
    sqlx::raw_sql(&format!(
        "INSERT INTO outbox (id, subject, headers, body, published_at) VALUES \
           ('e-1', 'ileaps.events.a', '{old_headers}', 'one', now()), \
           ('e-2', 'ileaps.events.b', '[[\"ce-id\", \"e-2\"]]', 'two', NULL); \
         INSERT INTO inbox (consumer, source, id) VALUES ('c', 's', 'i')"
    ))
    .execute(&mut conn)
    .await
    .expect("rows in the old shape");

    let schema = Schema::new("svc_old").expect("a valid name");
    migrate(&db.url, &schema, &NO_MIGRATIONS)
        .await
        .expect("the second messaging migration");

    let published = sqlx::query("SELECT id, subject, headers, body FROM svc_old.outbox_published")
        .fetch_all(&db.pool)
        .await
        .expect("the history");
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].get::<String, _>(0), "e-1");
    assert_eq!(published[0].get::<Vec<u8>, _>(3), b"one");
    let headers = messaging::headers::from_lines(published[0].get(2));
    assert_eq!(
        headers.get("ce-source").unwrap().as_str(),
        "urn:ileaps:intake"
    );
    let multi: Vec<&str> = headers.get_all("x-multi").map(|v| v.as_str()).collect();
    assert_eq!(multi, ["a", "b"]);

    let pending = sqlx::query("SELECT id, headers FROM svc_old.outbox")
        .fetch_all(&db.pool)
        .await
        .expect("the pending rows");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].get::<String, _>(0), "e-2");
    let headers = messaging::headers::from_lines(pending[0].get(1));
    assert_eq!(headers.get("ce-id").unwrap().as_str(), "e-2");

    let inbox: i64 = sqlx::query_scalar("SELECT count(*) FROM svc_old.inbox WHERE id = 'i'")
        .fetch_one(&db.pool)
        .await
        .expect("the inbox");
    assert_eq!(
        inbox, 1,
        "the inbox keeps its rows through the collation change"
    );
}
