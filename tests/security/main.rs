//! Security tests of the deployment's own files: the NATS authorization of
//! `deploy/nats/` loaded into a real nats-server, and the Postgres roles of
//! `deploy/postgres/` applied to a real PostgreSQL. Each refusal is shown by
//! trying; each permission by doing the work. Nothing is skipped: without
//! nats-server or PostgreSQL these tests fail, saying what to install.

mod nats;
mod postgres;
mod services;
mod support;
