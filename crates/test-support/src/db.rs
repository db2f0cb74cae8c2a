//! [`test_db`]: a fresh database per test, dropped afterwards.
//!
//! The server is chosen once per test process:
//!
//! 1. `ILEAPS_TEST_DATABASE_URL`, the URL of an admin database (`postgres`)
//!    on the server to use, if set. No fallback: if it was set, it was meant.
//! 2. `postgres://$USER@127.0.0.1:5432/postgres` (`root` if `USER` is unset)
//!    if something answers there and lets us in.
//! 3. A private cluster started from the installed PostgreSQL
//!    (`target/test-infra/pg-<uuid>`), kept for the life of the test process
//!    and removed when it exits. Slower: `initdb` and a start cost a second
//!    or two per test process, which `cargo nextest` (one process per test)
//!    pays for every test.

use crate::paths::unique_dir;
use local_infra::{PostgresServer, connect_postgres, quote_identifier, tcp_reachable};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;
use tokio::sync::OnceCell;

/// The environment variable naming the test server's admin database.
pub const TEST_DATABASE_URL_VAR: &str = "ILEAPS_TEST_DATABASE_URL";

/// Connections in each test's pool (sqlx's default).
const POOL_SIZE: u32 = 10;

/// The server this process's tests use.
#[derive(Debug)]
struct TestServer {
    /// An admin database on it, to create and drop test databases from.
    admin_url: String,
    /// The private cluster, when one had to be started. Held here for the
    /// life of the process: statics are never dropped, so its watchdog stops
    /// it and removes its data when the process exits.
    _private: Option<PostgresServer>,
}

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

/// A database of its own for one test, dropped (`WITH (FORCE)`) when this
/// value is.
#[derive(Debug)]
pub struct TestDb {
    pub pool: PgPool,
    pub url: String,
    pub name: String,
    admin_url: String,
}

/// A fresh, empty database named `ileaps_test_<uuid>` on the test server
/// (see the module docs for which). Panics with the reason and what to do
/// when no server can be had.
pub async fn test_db() -> TestDb {
    let server = SERVER.get_or_init(choose_server).await;
    test_db_on(&server.admin_url).await
}

/// Like [`test_db`], on the server whose admin database `admin_url` names
/// (for tests that bring their own server).
pub async fn test_db_on(admin_url: &str) -> TestDb {
    let name = format!("ileaps_test_{}", uuid::Uuid::new_v4().simple());
    let admin = connect_postgres(admin_url)
        .await
        .unwrap_or_else(|error| panic!("cannot reach the test database server: {error}"));
    sqlx::raw_sql(&format!("CREATE DATABASE {}", quote_identifier(&name)))
        .execute(&admin)
        .await
        .unwrap_or_else(|error| {
            panic!(
                "cannot create the test database {name} on {}: {error}; the role needs CREATEDB",
                local_infra::redact(admin_url)
            )
        });
    admin.close().await;

    let url =
        local_infra::with_database(admin_url, &name).unwrap_or_else(|error| panic!("{error}"));
    let pool = PgPoolOptions::new()
        .max_connections(POOL_SIZE)
        .acquire_timeout(Duration::from_secs(30))
        .connect(&url)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to the new test database {name}: {error}"));
    TestDb {
        pool,
        url,
        name,
        admin_url: admin_url.to_owned(),
    }
}

async fn choose_server() -> TestServer {
    if let Ok(admin_url) = std::env::var(TEST_DATABASE_URL_VAR) {
        if let Err(error) = connect_postgres(&admin_url).await.map(|_| ()) {
            panic!(
                "{TEST_DATABASE_URL_VAR} is set, but its server cannot be used: {error}. \
                 Fix the URL (it should name an admin database such as `postgres` on a server \
                 where the role may CREATE DATABASE), or unset it to use a local server"
            );
        }
        return TestServer {
            admin_url,
            _private: None,
        };
    }

    let user = std::env::var("USER").unwrap_or_else(|_| "root".to_owned());
    let machine = format!("postgres://{user}@127.0.0.1:5432/postgres");
    if tcp_reachable(&machine, Duration::from_secs(1)).await {
        match connect_postgres(&machine).await {
            Ok(pool) => {
                pool.close().await;
                return TestServer {
                    admin_url: machine,
                    _private: None,
                };
            }
            Err(error) => eprintln!(
                "test-support: the PostgreSQL at 127.0.0.1:5432 answers but cannot be used ({error}); \
                 starting a private cluster instead (slower). Set {TEST_DATABASE_URL_VAR} to use that server"
            ),
        }
    }

    let dir = local_infra::usable_data_dir(&unique_dir("pg"));
    match PostgresServer::start_disposable(&dir).await {
        Ok(server) => TestServer {
            admin_url: server.url("postgres"),
            _private: Some(server),
        },
        Err(error) => panic!(
            "these tests need PostgreSQL: none answers at 127.0.0.1:5432, {TEST_DATABASE_URL_VAR} is not set, \
             and a private cluster could not be started in {}: {error}",
            dir.display()
        ),
    }
}

impl Drop for TestDb {
    /// Drop runs inside the test's runtime, where we may not block on async
    /// work: drop the database from a thread with a small runtime of its own,
    /// and wait for it, so the database is gone when the test ends.
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async {
                let admin = connect_postgres(&admin_url)
                    .await
                    .map_err(|error| error.to_string())?;
                let sql = format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_identifier(&name)
                );
                let result = sqlx::raw_sql(&sql).execute(&admin).await;
                admin.close().await;
                result.map(|_| ()).map_err(|error| error.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!(
                "test-support: could not drop the test database {}: {error}",
                self.name
            ),
            Err(_) => eprintln!(
                "test-support: dropping the test database {} panicked",
                self.name
            ),
        }
    }
}
