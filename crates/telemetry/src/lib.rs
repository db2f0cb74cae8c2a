//! Logging, OpenTelemetry traces, trace context in NATS headers, and Prometheus
//! metrics: everything a service needs to be observable, set up in one call.
//!
//! # Layout
//!
//! - [`init`] (module `setup`) installs the process-wide `tracing` subscriber:
//!   logs to stderr (JSON by default, `ILEAPS_LOG_FORMAT=pretty|compact` for
//!   people), filtered by `RUST_LOG`, plus an OpenTelemetry layer. The layer is
//!   always there, backed by an SDK tracer provider, so every span has a real
//!   trace id even when nothing is exported; with `OTEL_EXPORTER_OTLP_ENDPOINT`
//!   set, spans are also exported over OTLP/HTTP. The returned
//!   [`TelemetryGuard`] flushes the exporter on the way out.
//!   [`init_for_humans`] is the same with compact, warnings-only logs by
//!   default, for commands a person watches (`ileaps demo`).
//! - `propagation` carries W3C trace context across NATS: [`inject_current`]
//!   writes `traceparent`/`tracestate` headers for the current span,
//!   [`extract`] and [`set_parent_from_headers`] continue a trace from a
//!   received message, and [`current_traceparent`] captures the context as
//!   strings so an outbox row can carry it until the relay publishes it.
//! - `metrics` holds [`Metrics`], the one Prometheus registry of a process with
//!   the `ileaps_*` families every service reports, rendered by `/metrics`.
//!
//! # Why it looks like this
//!
//! Trace context must survive hops that are not function calls: a handler
//! writes an outbox row, a relay publishes it later from another task, another
//! service consumes it. So the context is made of plain strings at the edges
//! (headers, outbox columns) and of `tracing` spans inside a process; this crate
//! is the only place that converts between the two. Metrics are plain
//! `prometheus-client` atomics behind a small set of named methods, so the
//! services agree on names and labels without each touching the registry.

mod metrics;
mod propagation;
mod setup;

pub use metrics::{ConsumeOutcome, Metrics, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE};
pub use propagation::{current_traceparent, extract, inject_current, set_parent_from_headers};
pub use setup::{LogFormat, TelemetryError, TelemetryGuard, init, init_for_humans};
