//! The messaging runtime every service stands on.
//!
//! # Layout
//!
//! - [`schema`]: a service's Postgres schema, and its migrations run together
//!   with this crate's own (outbox and inbox tables live in every service's schema).
//! - [`provision`]: the five JetStream streams of the contract, created or
//!   updated idempotently at start.
//! - [`outbox`]: the transactional outbox (events written in the handler's
//!   transaction) and the relay that publishes them with `Nats-Msg-Id = ce-id`.
//! - [`consumer`]: the durable pull-consumer loop: batches, one transaction per
//!   batch with a savepoint per message, the inbox, retry vs permanent errors,
//!   ack only after commit.
//! - [`dlq`]: dead letters on `ileaps.dlq.<service>`, and listing and replaying them.
//! - [`admin`]: the operator commands on `ileaps.admin.<service>.>` shared by all
//!   services (dead letters, outbox replay).
//!
//! Delivery is *effectively once*: at-least-once transport (JetStream), made
//! idempotent by JetStream's duplicate window on the way in and by each
//! consumer's inbox on the way out.

pub mod admin;
pub mod consumer;
pub mod dlq;
pub mod headers;
pub mod outbox;
pub mod provision;
pub mod runtime;
pub mod schema;

pub use consumer::{ConsumerSpec, Delivery, Handler, HandlerError, handle_fenced, run_consumer};
pub use outbox::{Outbox, OutgoingMessage, Relay, RelaySettings};
pub use provision::{StreamSettings, provision_streams};
pub use runtime::{ServiceRuntime, TaskError, Tasks};
pub use schema::{Schema, migrate};
