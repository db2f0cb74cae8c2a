//! Zero set-up infrastructure: private `nats-server` and PostgreSQL processes,
//! started from the installed binaries when nothing answers at the configured
//! addresses, and never left running after we are gone.
//!
//! `ileaps run`/`demo` call [`LocalInfra::ensure`]; `test-support` starts one
//! [`NatsServer`] per test and, when no Postgres answers, one
//! [`PostgresServer`] per test process.
//!
//! # Layout
//!
//! - [`binaries`](find_binary): finding `nats-server` and PostgreSQL's
//!   programs (PATH, then `/usr/lib/postgresql/<version>/bin`, where Debian
//!   keeps them), and saying how to install them when they are missing.
//! - `nats`: [`NatsServer`]; a free port chosen by nats-server itself
//!   (`-p -1` and a ports file), ready only once JetStream answers.
//! - `postgres`: [`PostgresServer`] (`initdb` once, then `postgres` as our
//!   child; as the `postgres` user when we are root, because PostgreSQL
//!   refuses root) and [`ensure_database`].
//! - `probe`: [`tcp_reachable`] and reading server URLs ([`redact`] keeps
//!   passwords out of messages).
//! - `process`: why children cannot outlive us: `Drop` kills and waits, and a
//!   watchdog process acts when we die without running `Drop` (`kill -9`,
//!   statics). Read its module docs before changing how children are spawned.
//! - `infra`: [`LocalInfra`], "use what answers, start what does not".
//! - `error`: [`InfraError`]; each variant says what is wrong and what to do.
//!
//! Waiting is always polling with a short interval until a deadline, never a
//! fixed sleep; a failed start reports the end of the server's log.
//!
//! This crate is Unix-only (process groups, `/bin/sh`, file modes).

mod binaries;
mod error;
mod infra;
mod nats;
mod postgres;
mod probe;
mod process;

pub use binaries::find_binary;
pub use error::InfraError;
pub use infra::LocalInfra;
pub use nats::{NatsOptions, NatsServer};
pub use postgres::{
    PostgresServer, SUPERUSER, connect as connect_postgres, ensure_database, quote_identifier,
    usable_data_dir,
};
pub use probe::{redact, tcp_reachable, with_database};
