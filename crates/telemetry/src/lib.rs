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
//!   [`set_parent_and_link`] is the consumer's variant (child of the
//!   publisher's span and linked to it, per the messaging conventions),
//!   [`link_from_headers`] the batch's (linked only), and
//!   [`set_parent_from_traceparent`] / [`inject_span`] / [`span_traceparent`]
//!   convert a stored context or a producer span that is not entered.
//!   The span model of every hop is described below.
//! - `metrics` holds [`Metrics`], the one Prometheus registry of a process with
//!   the `ileaps_*` families every service reports, rendered by `/metrics`.
//!
//! # Span model: one trace per inbound message
//!
//! Spans follow OpenTelemetry's messaging conventions for NATS
//! (`messaging.system = "nats"`); kinds are set with `otel.kind`, names with
//! `otel.name`. The consumer, producer and `notification.send` spans carry
//! `service` (`intake`, …), since `ileaps run` puts all four services in one
//! process (one `service.name`).
//!
//! | hop | span (kind) | parent | attributes |
//! | --- | --- | --- | --- |
//! | a message consumed | `process <subject>` (consumer) | the publisher's span from `traceparent` (the city's, or a relay's `publish`); **also linked** to it | `messaging.operation.type = process`, `messaging.destination.name`, `messaging.consumer.group.name` (durable consumer), `messaging.message.id` (ce-id), `messaging.message.body.size`, `messaging.nats.{stream,stream_sequence,delivery_count,outcome}` |
//! | a batch's transaction | `process batch <filter>` (internal) | none: a trace of its own | linked to every message's publisher; `messaging.batch.message_count` |
//! | an outbox row written | no span: the row stores the `traceparent` of the span current when it is written (the message's `process` span, or the one a batch handler names with `OutgoingMessage::in_trace_of`) | | |
//! | the relay publishing it | `publish <subject>` (producer), from send to ack | the stored context | `messaging.operation.type = send`, `messaging.operation.name = publish`, `messaging.destination.name`, `messaging.message.id`; the message carries **this** span's `traceparent` |
//! | a notification attempt | `notification.send <channel>` (internal) | the context stored with the delivery row (the cause's `process` span) | `notification_id`, `channel`, `notice`, `attempt`, `notification.result` |
//! | email | `smtp.send` (client) | `notification.send` | `network.protocol.name = smtp`; the email carries `X-Trace-Parent` |
//! | webhook | `POST` (client) | `notification.send` | `http.request.method`, `server.address`, `server.port`, `url.scheme`, `http.response.status_code`; the request carries `traceparent` |
//! | city feed | `publish <subject>` (producer) | `notification.send` | as the relay's; the notice carries this span's `traceparent` |
//!
//! Parent **and** link on the consumer side: the conventions ask for a link
//! from the processing span to the message's creation context (batches mix
//! traces); keeping the parent too is what makes one enquiry one trace across
//! intake, scheduling, assignment and notifications. Failures set
//! `error.type` and `otel.status_code = ERROR` on the span concerned. A
//! message without a valid `traceparent` starts a new trace where it is
//! consumed (or, for an outbox row written outside any span, where the relay
//! publishes it).
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
pub use propagation::{
    current_traceparent, extract, inject_current, inject_span, link_from_headers,
    set_parent_and_link, set_parent_from_headers, set_parent_from_traceparent, span_traceparent,
};
pub use setup::{LogFormat, TelemetryError, TelemetryGuard, init, init_for_humans};
