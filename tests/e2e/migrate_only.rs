//! `--migrate-only`: what a deployment runs before a rollout (a Kubernetes
//! init container). It needs the database only, applies the service's
//! migrations, exits 0, and is safe to run again.

use crate::sigterm::intake_binary;
use std::time::Duration;
use test_support::test_db;
use tokio::process::Command;

#[tokio::test]
async fn migrate_only_applies_the_schema_without_nats_and_exits_zero() {
    let db = test_db().await;
    let binary = intake_binary().await;
    for run in ["first", "second"] {
        let status = tokio::time::timeout(
            Duration::from_secs(60),
            Command::new(&binary)
                .arg("--migrate-only")
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("ILEAPS_DATABASE_URL", &db.url)
                // Nothing listens here: NATS must not be needed.
                .env("ILEAPS_NATS_URL", "nats://127.0.0.1:1")
                .kill_on_drop(true)
                .status(),
        )
        .await
        .unwrap_or_else(|_| panic!("the {run} run exits in time"))
        .expect("ileaps-intake runs");
        assert!(status.success(), "the {run} run exits 0: {status}");
    }
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'intake'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(tables >= 4, "intake's tables exist ({tables})");
}
