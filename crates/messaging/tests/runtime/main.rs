//! The messaging runtime against a real nats-server and a real Postgres: the
//! outbox and its relay, the consumer loop with its inbox and savepoints,
//! dead letters and their replay, the operator commands, provisioning.
//!
//! Every test starts its own nats-server and gets its own database, so tests
//! may stop the broker or purge streams without disturbing each other. Nothing
//! waits by sleeping: tests poll with a deadline (`eventually`) or read streams
//! until they fall quiet (`StreamReader`).

mod consumer;
mod dead_letters;
mod outbox;
mod provisioning;
mod schema;
mod support;
