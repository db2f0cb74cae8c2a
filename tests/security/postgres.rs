//! Each service's Postgres role reaches its own schema and nothing else,
//! tried on a database set up by `deploy/postgres/10-roles.sql`.

use crate::support::roles_server;
use messaging::Schema;
use sqlx::migrate::Migrator;
use sqlx::{Connection as _, PgConnection};

const SERVICES: [&str; 4] = ["intake", "scheduling", "assignment", "notifications"];

fn migrations(service: &str) -> &'static Migrator {
    match service {
        "intake" => &intake::MIGRATIONS,
        "scheduling" => &scheduling::MIGRATIONS,
        "assignment" => &assignment::MIGRATIONS,
        "notifications" => &notifications::MIGRATIONS,
        other => panic!("no migrations for {other}"),
    }
}

fn role(service: &str) -> String {
    format!("ileaps_{service}")
}

/// Runs `sql` and expects PostgreSQL's "insufficient privilege" (42501).
async fn denied(conn: &mut PgConnection, who: &str, sql: &str) {
    match sqlx::raw_sql(sql).execute(&mut *conn).await {
        Ok(_) => panic!("{who} was allowed: {sql}"),
        Err(error) => {
            let code = error
                .as_database_error()
                .and_then(|e| e.code())
                .map(|c| c.into_owned());
            assert_eq!(
                code.as_deref(),
                Some("42501"),
                "{who}: {sql} failed, but not for want of privilege: {error}"
            );
        }
    }
}

#[tokio::test]
async fn each_service_role_migrates_its_own_schema_and_cannot_reach_another() {
    let db = roles_server().await.database().await;

    // Each service's real migrations, run as its own role, as at start-up.
    for service in SERVICES {
        let schema = Schema::new(service).expect("a schema name");
        messaging::migrate(&db.url_as(&role(service)), &schema, migrations(service))
            .await
            .unwrap_or_else(|error| {
                panic!("{} cannot migrate its schema: {error:?}", role(service))
            });
    }

    for service in SERVICES {
        let who = role(service);
        let mut conn = PgConnection::connect(&db.url_as(&who))
            .await
            .unwrap_or_else(|error| panic!("{who} cannot log in: {error}"));

        // Its own schema: read and write.
        sqlx::raw_sql(&format!(
            "SELECT count(*) FROM {service}.outbox; \
             CREATE TABLE {service}.scratch (x int); INSERT INTO {service}.scratch VALUES (1); \
             DROP TABLE {service}.scratch"
        ))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|error| panic!("{who} cannot use its own schema: {error}"));

        // Another's: nothing, not even a look; nor becoming its role.
        for other in SERVICES.into_iter().filter(|other| *other != service) {
            denied(
                &mut conn,
                &who,
                &format!("SELECT * FROM {other}.outbox LIMIT 1"),
            )
            .await;
            denied(
                &mut conn,
                &who,
                &format!("SELECT * FROM {other}._sqlx_migrations"),
            )
            .await;
            denied(
                &mut conn,
                &who,
                &format!("CREATE TABLE {other}.intruder (x int)"),
            )
            .await;
            denied(&mut conn, &who, &format!("DROP SCHEMA {other} CASCADE")).await;
            denied(&mut conn, &who, &format!("SET ROLE {}", role(other))).await;
        }
        // Nor the public schema.
        denied(&mut conn, &who, "CREATE TABLE public.intruder (x int)").await;
        conn.close().await.ok();
    }

    // The example, by name: intake reads its cities, never
    // scheduling's tables.
    let mut intake = PgConnection::connect(&db.url_as("ileaps_intake"))
        .await
        .expect("ileaps_intake logs in");
    sqlx::raw_sql("SELECT * FROM intake.cities")
        .execute(&mut intake)
        .await
        .expect("intake reads intake.cities");
    let scheduling_tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'scheduling'",
    )
    .fetch_all(&db.db.pool)
    .await
    .expect("the superuser lists scheduling's tables");
    assert!(
        scheduling_tables.len() > 3,
        "scheduling's migrations made its tables: {scheduling_tables:?}"
    );
    for table in &scheduling_tables {
        denied(
            &mut intake,
            "ileaps_intake",
            &format!("SELECT * FROM scheduling.{table}"),
        )
        .await;
    }
}

#[tokio::test]
async fn only_the_service_roles_may_connect_to_the_database() {
    let db = roles_server().await.database().await;
    let stranger = format!("stranger_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(&format!("CREATE ROLE {stranger} LOGIN"))
        .execute(&db.db.pool)
        .await
        .expect("the superuser creates a role");
    let refused = PgConnection::connect(&db.url_as(&stranger)).await;
    let error = refused.expect_err("a role that is not a service's connected");
    let code = error
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("42501"), "{error}");
    sqlx::raw_sql(&format!("DROP ROLE {stranger}"))
        .execute(&db.db.pool)
        .await
        .expect("the superuser drops the role");
}
