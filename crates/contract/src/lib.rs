//! The programme's public contract, as Rust.
//!
//! # Layout
//!
//! - [`proto`]: the types generated from `proto/` at build time (prost), with
//!   serde impls that follow the proto3 canonical JSON mapping (pbjson).
//! - [`subjects`]: every NATS subject and stream name of `CONTRACT.md`.
//! - [`event_types`]: the versioned `ce-type` names, and [`CloudEvent`], which ties
//!   each generated message to its type.
//! - [`envelope`]: the CloudEvents binary-mode envelope carried in NATS headers.
//! - [`city`]: the city code newtype.
//!
//! Nothing here does I/O: services, tests and integrators' examples share it.

pub mod city;
pub mod envelope;
pub mod event_types;
pub mod proto;
pub mod subjects;

pub use city::{CityCode, InvalidCityCode};
pub use envelope::{Envelope, EnvelopeError, Service};
pub use event_types::CloudEvent;

/// The largest inbound body intake accepts (64 KiB); larger ones are rejected
/// `PAYLOAD_TOO_LARGE` without being parsed.
pub const MAX_INBOUND_BODY_BYTES: usize = 64 * 1024;
