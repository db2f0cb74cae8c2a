//! A service's schema: the messaging tables and the service's own migrations
//! land inside it, whoever migrates first and however often.

use crate::support::{Harness, received_event};
use messaging::{Outbox, Schema, migrate};
use sqlx::migrate::Migrator;
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
        ["_sqlx_migrations", "inbox", "outbox"]
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
    assert_eq!(applied, 1, "the messaging migration applied once");
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
        ["_sqlx_migrations", "enquiries", "inbox", "outbox"]
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
