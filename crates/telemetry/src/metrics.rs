//! Owns the process's Prometheus registry and the `ileaps_*` metric families
//! every service reports; `/metrics` renders it.
//!
//! Callers use named methods instead of touching families, so names, labels
//! and buckets are decided here once. Every update is an atomic add (or a short
//! mutex for a histogram) after a read-locked map lookup; a label set's first
//! use takes a write lock once.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Content type of [`Metrics::render`]: the classic Prometheus text format.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Content type of [`Metrics::render_openmetrics`].
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Handler latency buckets, in seconds: 0.1 ms (a batch of one duplicate) to
/// 10 s (a stuck database; the consumers' ack wait is 30 s), dense around the
/// 1–250 ms where a healthy batch commits.
const HANDLER_BUCKETS: [f64; 16] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// What became of consumed messages, the `outcome` label of
/// `ileaps_messages_consumed_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConsumeOutcome {
    /// Handled and acknowledged.
    Ok,
    /// Handed back for redelivery (a retryable error).
    Retried,
    /// Sent to the service's dead-letter subject, then acknowledged.
    DeadLettered,
    /// Already in the inbox: acknowledged without effect.
    Duplicate,
    /// Of a subject the handler does not act on: acknowledged without
    /// touching the database.
    Skipped,
}

impl ConsumeOutcome {
    /// The label value: `ok`, `retried`, `dead_lettered`, `duplicate` or
    /// `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Retried => "retried",
            Self::DeadLettered => "dead_lettered",
            Self::Duplicate => "duplicate",
            Self::Skipped => "skipped",
        }
    }
}

impl EncodeLabelValue for ConsumeOutcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), fmt::Error> {
        fmt::Write::write_str(encoder, self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ServiceLabels {
    service: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ConsumerLabels {
    service: String,
    consumer: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ConsumedLabels {
    service: String,
    consumer: String,
    outcome: ConsumeOutcome,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct EnquiryLabels {
    outcome: String,
    code: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DeliveryLabels {
    channel: String,
    result: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The metrics of one process. Shared as `Arc<Metrics>`; all methods take
/// `&self` and are safe to call from any task.
///
/// `ileaps run` runs several services in one process with one `Metrics`, which
/// is why most families carry a `service` label.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    messages_consumed: Family<ConsumedLabels, Counter>,
    handler_duration: HistogramFamily<ConsumerLabels>,
    outbox_backlog_rows: Family<ServiceLabels, Gauge>,
    outbox_oldest_age: Family<ServiceLabels, Gauge<f64, AtomicU64>>,
    relay_published: Family<ServiceLabels, Counter>,
    consumer_pending: Family<ConsumerLabels, Gauge>,
    enquiries: Family<EnquiryLabels, Counter>,
    deliveries: Family<DeliveryLabels, Counter>,
}

impl Metrics {
    /// A fresh registry with every `ileaps_*` family registered (and empty).
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("ileaps");

        let messages_consumed = Family::<ConsumedLabels, Counter>::default();
        registry.register(
            "messages_consumed",
            "Messages taken from JetStream consumers, by what became of them",
            messages_consumed.clone(),
        );
        let handler_duration: HistogramFamily<ConsumerLabels> =
            Family::new_with_constructor(|| Histogram::new(HANDLER_BUCKETS));
        registry.register_with_unit(
            "handler_duration",
            "Time from taking up a message's batch to its commit; every message of a batch shares it",
            Unit::Seconds,
            handler_duration.clone(),
        );
        let outbox_backlog_rows = Family::<ServiceLabels, Gauge>::default();
        registry.register(
            "outbox_backlog_rows",
            "Outbox rows written but not yet published",
            outbox_backlog_rows.clone(),
        );
        let outbox_oldest_age = Family::<ServiceLabels, Gauge<f64, AtomicU64>>::default();
        registry.register_with_unit(
            "outbox_oldest_age",
            "Age of the oldest unpublished outbox row",
            Unit::Seconds,
            outbox_oldest_age.clone(),
        );
        let relay_published = Family::<ServiceLabels, Counter>::default();
        registry.register(
            "relay_published",
            "Outbox rows published to JetStream and acknowledged",
            relay_published.clone(),
        );
        let consumer_pending = Family::<ConsumerLabels, Gauge>::default();
        registry.register(
            "consumer_pending_messages",
            "Messages the JetStream consumer has yet to finish: not yet delivered plus delivered and not yet acknowledged",
            consumer_pending.clone(),
        );
        let enquiries = Family::<EnquiryLabels, Counter>::default();
        registry.register(
            "enquiries",
            "Enquiries judged by intake, by outcome and rejection code",
            enquiries.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "deliveries",
            "Notifications delivered, by channel and result",
            deliveries.clone(),
        );

        Arc::new(Self {
            registry,
            messages_consumed,
            handler_duration,
            outbox_backlog_rows,
            outbox_oldest_age,
            relay_published,
            consumer_pending,
            enquiries,
            deliveries,
        })
    }

    /// Counts `n` messages of `consumer` that ended in `outcome`
    /// (`ileaps_messages_consumed_total`).
    pub fn record_consumed(&self, service: &str, consumer: &str, outcome: ConsumeOutcome, n: u64) {
        let labels = ConsumedLabels {
            service: service.to_owned(),
            consumer: consumer.to_owned(),
            outcome,
        };
        self.messages_consumed.get_or_create(&labels).inc_by(n);
    }

    /// Records how long one message waited for its handling to commit
    /// (`ileaps_handler_duration_seconds`): the whole batch's time, since
    /// no message of a batch is acknowledged before the batch commits.
    pub fn observe_handler(&self, service: &str, consumer: &str, seconds: f64) {
        self.handler_duration
            .get_or_create(&consumer_labels(service, consumer))
            .observe(seconds);
    }

    /// Sets the outbox backlog as last measured (`ileaps_outbox_backlog_rows`,
    /// `ileaps_outbox_oldest_age_seconds`; the age is 0 when there is none).
    pub fn set_outbox_backlog(&self, service: &str, rows: i64, oldest_age_seconds: f64) {
        let labels = service_labels(service);
        self.outbox_backlog_rows.get_or_create(&labels).set(rows);
        self.outbox_oldest_age
            .get_or_create(&labels)
            .set(oldest_age_seconds);
    }

    /// Counts `n` outbox rows published and acknowledged
    /// (`ileaps_relay_published_total`).
    pub fn record_relayed(&self, service: &str, n: u64) {
        self.relay_published
            .get_or_create(&service_labels(service))
            .inc_by(n);
    }

    /// Sets a consumer's pending count as JetStream last reported it
    /// (`ileaps_consumer_pending_messages`): `num_pending` (not yet delivered)
    /// plus `num_ack_pending` (delivered, not yet acknowledged).
    pub fn set_consumer_pending(&self, service: &str, consumer: &str, pending: u64) {
        self.consumer_pending
            .get_or_create(&consumer_labels(service, consumer))
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }

    /// Counts one enquiry judged by intake (`ileaps_enquiries_total`); `code`
    /// is the rejection code, if any (the label is empty otherwise).
    pub fn record_enquiry(&self, outcome: &str, code: Option<&str>) {
        let labels = EnquiryLabels {
            outcome: outcome.to_owned(),
            code: code.unwrap_or_default().to_owned(),
        };
        self.enquiries.get_or_create(&labels).inc();
    }

    /// Counts one delivery attempt's result on a channel
    /// (`ileaps_deliveries_total`).
    pub fn record_delivery(&self, channel: &str, result: &str) {
        let labels = DeliveryLabels {
            channel: channel.to_owned(),
            result: result.to_owned(),
        };
        self.deliveries.get_or_create(&labels).inc();
    }

    /// Everything in the Prometheus text format (version 0.0.4), served as
    /// [`PROMETHEUS_CONTENT_TYPE`]: readable by every scraper and by people.
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(4096);
        // Writing into a String cannot fail; an error here could only come
        // from an encoder bug, and a partial page is still the best answer.
        if let Err(error) =
            prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
        {
            tracing::warn!(
                error = &error as &dyn std::error::Error,
                "rendering metrics failed"
            );
        }
        text
    }

    /// Everything in the OpenMetrics text format, served as
    /// [`OPENMETRICS_CONTENT_TYPE`] to scrapers that ask for it.
    pub fn render_openmetrics(&self) -> String {
        let mut text = String::with_capacity(4096);
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::warn!(
                error = &error as &dyn std::error::Error,
                "rendering metrics failed"
            );
        }
        text
    }
}

fn service_labels(service: &str) -> ServiceLabels {
    ServiceLabels {
        service: service.to_owned(),
    }
}

fn consumer_labels(service: &str, consumer: &str) -> ConsumerLabels {
    ConsumerLabels {
        service: service.to_owned(),
        consumer: consumer.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_value(text: &str, prefix: &str) -> Option<f64> {
        text.lines()
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
    }

    #[test]
    fn consumed_counts_add_up_per_outcome_and_show_in_render() {
        let metrics = Metrics::new();
        metrics.record_consumed("intake", "enquiries", ConsumeOutcome::Ok, 3);
        metrics.record_consumed("intake", "enquiries", ConsumeOutcome::Ok, 2);
        metrics.record_consumed("intake", "enquiries", ConsumeOutcome::DeadLettered, 1);

        let text = metrics.render();
        assert_eq!(
            line_value(
                &text,
                r#"ileaps_messages_consumed_total{service="intake",consumer="enquiries",outcome="ok"}"#
            ),
            Some(5.0),
            "{text}"
        );
        assert_eq!(
            line_value(
                &text,
                r#"ileaps_messages_consumed_total{service="intake",consumer="enquiries",outcome="dead_lettered"}"#
            ),
            Some(1.0),
            "{text}"
        );
    }

    #[test]
    fn every_family_renders_under_its_documented_name() {
        let metrics = Metrics::new();
        metrics.record_consumed("scheduling", "events", ConsumeOutcome::Duplicate, 1);
        metrics.observe_handler("scheduling", "events", 0.003);
        metrics.set_outbox_backlog("scheduling", 12, 1.5);
        metrics.record_relayed("scheduling", 7);
        metrics.set_consumer_pending("scheduling", "events", 42);
        metrics.record_enquiry("rejected", Some("UNKNOWN_CITY"));
        metrics.record_enquiry("accepted", None);
        metrics.record_delivery("webhook", "delivered");

        let text = metrics.render();
        for expected in [
            r#"ileaps_messages_consumed_total{service="scheduling",consumer="events",outcome="duplicate"} 1"#,
            r#"ileaps_handler_duration_seconds_bucket{service="scheduling",consumer="events",le="0.005"} 1"#,
            r#"ileaps_handler_duration_seconds_count{service="scheduling",consumer="events"} 1"#,
            r#"ileaps_outbox_backlog_rows{service="scheduling"} 12"#,
            r#"ileaps_outbox_oldest_age_seconds{service="scheduling"} 1.5"#,
            r#"ileaps_relay_published_total{service="scheduling"} 7"#,
            r#"ileaps_consumer_pending_messages{service="scheduling",consumer="events"} 42"#,
            r#"ileaps_enquiries_total{outcome="rejected",code="UNKNOWN_CITY"} 1"#,
            r#"ileaps_enquiries_total{outcome="accepted",code=""} 1"#,
            r#"ileaps_deliveries_total{channel="webhook",result="delivered"} 1"#,
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
    }

    #[test]
    fn gauges_hold_the_last_value_set() {
        let metrics = Metrics::new();
        metrics.set_outbox_backlog("intake", 100, 9.0);
        metrics.set_outbox_backlog("intake", 0, 0.0);
        metrics.set_consumer_pending("intake", "c", u64::MAX);
        let text = metrics.render();
        assert_eq!(
            line_value(&text, r#"ileaps_outbox_backlog_rows{service="intake"}"#),
            Some(0.0)
        );
        assert_eq!(
            line_value(
                &text,
                r#"ileaps_consumer_pending_messages{service="intake",consumer="c"}"#
            ),
            Some(i64::MAX as f64)
        );
    }

    #[test]
    fn openmetrics_rendering_ends_with_eof() {
        let metrics = Metrics::new();
        metrics.record_relayed("intake", 1);
        let text = metrics.render_openmetrics();
        assert!(
            text.contains(r#"ileaps_relay_published_total{service="intake"} 1"#),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn counting_from_many_threads_loses_nothing() {
        let metrics = Metrics::new();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        metrics.record_consumed("intake", "c", ConsumeOutcome::Ok, 1);
                    }
                });
            }
        });
        assert_eq!(
            line_value(
                &metrics.render(),
                r#"ileaps_messages_consumed_total{service="intake",consumer="c",outcome="ok"}"#
            ),
            Some(4000.0)
        );
    }
}
