//! What every service binary shares, so that the four services start, report
//! and stop the same way and their `main.rs` stays a few lines long.
//!
//! # Layout
//!
//! - `settings`: [`Settings::from_env`] reads the `ILEAPS_*` variables (NATS,
//!   Postgres, HTTP address, stream replicas and retention, timeouts), with
//!   defaults that work on a laptop, and reports every bad variable in one
//!   [`SettingsError`]. Secrets are `secrecy` types and never appear in
//!   `Debug` output.
//! - `connect`: [`connect_nats`] and [`connect_postgres`] open the
//!   connections, waiting within a deadline for servers that are still
//!   starting (compose, Kubernetes and `ileaps run` all start things at once)
//!   but failing at once on wrong credentials.
//! - `health`: [`Readiness`], the shared answer to "can this service work
//!   now?": start-up steps the service marks done plus live probes of NATS
//!   and Postgres.
//! - `http`: [`HttpServer`] serves `/healthz`, `/readyz` and `/metrics`. It
//!   binds before it serves, so tests use port 0 and read the real address.
//! - [`app`]: the whole boot sequence (connect, migrate, provision, serve,
//!   start, drain) shared by `ileaps run` and each service's binary.
//! - `shutdown`: [`shutdown_on_signals`] turns the first SIGTERM/SIGINT into a
//!   cancelled [`CancellationToken`] and the second into an immediate exit.
//! - The process's allocator, mimalloc, declared here once for every binary
//!   (and test) built on this crate: under message churn glibc's malloc spent
//!   about a third of intake's CPU consolidating chunks (docs/performance.md).
//!
//! A service's `main` then reads roughly:
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let _telemetry = telemetry::init("intake")?;
//! let settings = service_kit::Settings::from_env()?.with_client_name("intake");
//! let shutdown = service_kit::shutdown_on_signals();
//! let nats = service_kit::connect_nats(&settings).await?;
//! let pool = service_kit::connect_postgres(&settings).await?;
//! let readiness = service_kit::Readiness::new()
//!     .with_nats(nats.clone())
//!     .with_postgres(pool.clone());
//! let metrics = telemetry::Metrics::new();
//! let http =
//!     service_kit::HttpServer::bind(settings.http_addr, readiness.clone(), metrics.clone())
//!         .await?;
//! tokio::spawn(http.serve(shutdown.clone()));
//! // migrate, then readiness.set_migrated(); provision, then
//! // readiness.set_streams_ready(); run until `shutdown` is cancelled.
//! # Ok(()) }
//! ```
//!
//! [`CancellationToken`]: tokio_util::sync::CancellationToken

pub mod app;
mod connect;
mod health;
pub mod http;
mod settings;
mod shutdown;

pub use connect::{ConnectError, connect_nats, connect_postgres};
pub use health::Readiness;
pub use http::HttpServer;
pub use settings::{InvalidSetting, Reader, Settings, SettingsError, ShownValue, StreamRetention};

/// See the module docs: one allocator for every binary built on this crate.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
pub use shutdown::shutdown_on_signals;
