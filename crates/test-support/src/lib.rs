//! Real NATS, Postgres, SMTP and HTTP peers for tests, and the few helpers
//! that make such tests short and free of sleeps. Nothing here is a mock.
//!
//! # Layout
//!
//! - [`nats`](TestNats): a private nats-server (JetStream on) per test, with
//!   its own port and store directory, so tests never see each other's
//!   streams and fault tests can kill or restart their broker
//!   ([`TestNats::server`]) without disturbing anyone.
//! - [`db`](test_db): a fresh database per test, dropped afterwards, on the
//!   test Postgres server: `ILEAPS_TEST_DATABASE_URL` if set, else the
//!   machine's server at 127.0.0.1:5432 if it answers, else a private cluster
//!   per test process (slower: `initdb` takes a second or two).
//! - [`wait`](eventually): the only sanctioned way to wait: poll a condition
//!   with a deadline, and fail naming what was awaited.
//! - [`stream`](StreamReader): read a JetStream stream from its start, to
//!   assert on what services published ("exactly one" included).
//! - [`headers`](city_headers): the CloudEvents headers a partner city sends.
//! - `paths`: where test data lives (`<workspace>/target/test-infra/`).
//! - [`smtp`](SmtpServer): a real SMTP server per test (Python's aiosmtpd)
//!   that keeps what it accepts and refuses `refuse…`/`later…` recipients.
//! - [`webhook`](WebhookReceiver): a real HTTP endpoint per test that
//!   records requests and answers a scripted sequence of statuses.
//!
//! Tests run in parallel (`cargo nextest` runs each in its own process), so
//! everything a test touches is its own: port, store, database.
//!
//! [`local_infra`] is re-exported, for tests that need a server of their own.

mod db;
mod headers;
mod nats;
mod paths;
pub mod smtp;
mod stream;
mod wait;
pub mod webhook;

pub use db::{TestDb, test_db, test_db_on};
pub use headers::city_headers;
pub use local_infra;
pub use nats::TestNats;
pub use paths::{test_infra_dir, workspace_root};
pub use smtp::{ReceivedEmail, SmtpServer};
pub use stream::StreamReader;
pub use wait::eventually;
pub use webhook::{ReceivedRequest, WebhookReceiver};

/// The settings a test's services run with: its private NATS and database,
/// an HTTP port the system picks, and a short shutdown bound.
pub fn service_settings(nats_url: &str, database_url: &str) -> service_kit::Settings {
    service_kit::Settings::from_lookup(|name| match name {
        "ILEAPS_NATS_URL" => Some(nats_url.to_owned()),
        "ILEAPS_DATABASE_URL" => Some(database_url.to_owned()),
        "ILEAPS_HTTP_ADDR" => Some("127.0.0.1:0".to_owned()),
        "ILEAPS_SHUTDOWN_TIMEOUT_SECS" => Some("10".to_owned()),
        _ => None,
    })
    .expect("test settings are valid")
}
