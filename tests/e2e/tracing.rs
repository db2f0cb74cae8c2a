//! One enquiry, one trace: a city publishes with its own `traceparent`, and
//! every hop (intake, its outbox relay, scheduling, assignment,
//! notifications, down to the SMTP, webhook and city-feed deliveries) adds
//! its spans to that trace, with OpenTelemetry's messaging attributes.
//!
//! The collector is in-process: a global `tracing` subscriber whose
//! OpenTelemetry layer feeds an SDK tracer provider exporting to memory. The
//! services run in this process (as `ileaps run` runs them), so all their
//! spans land there. Each nextest test is its own process, so installing a
//! global subscriber here touches no other test; under `cargo test` the
//! tests of this file share one collector, and each looks only at its own
//! trace.

use crate::helpers::{DEADLINE, TestApp, body, ce_type, submission};
use contract::Service;
use contract::event_types::ENQUIRY_SUBMIT;
use futures::StreamExt;
use opentelemetry::trace::{SpanId, SpanKind, TraceId, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanData, SpanExporter};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use test_support::{SmtpServer, WebhookReceiver};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Intake → scheduling → assignment → notifications: several hops.
const JOURNEY: Duration = Duration::from_secs(60);

/// The city's own span, the parent of intake's first span.
const CITY_SPAN: &str = "00f067aa0ba902b7";

const SERVICES: [Service; 4] = [
    Service::Intake,
    Service::Scheduling,
    Service::Assignment,
    Service::Notifications,
];

/// Finished spans, as an exporter receives them.
#[derive(Debug, Clone, Default)]
struct Collector(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Collector {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().expect("collector").extend(batch);
        Ok(())
    }
}

impl Collector {
    fn spans(&self) -> Vec<SpanData> {
        self.0.lock().expect("collector").clone()
    }
}

/// The process-wide collector, installed on first use.
fn collector() -> &'static (SdkTracerProvider, Collector) {
    static INSTALLED: OnceLock<(SdkTracerProvider, Collector)> = OnceLock::new();
    INSTALLED.get_or_init(install_collector)
}

/// Installs the process-wide subscriber: every `info` span becomes an
/// OpenTelemetry span (as `ILEAPS_TRACE_FILTER`'s default does in the
/// services), exported at once to the returned collector; logs per
/// `RUST_LOG` (default warnings) to the test's output.
fn install_collector() -> (SdkTracerProvider, Collector) {
    let collector = Collector::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
        .with_simple_exporter(collector.clone())
        .build();
    let traces = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("e2e"))
        .with_filter(LevelFilter::INFO);
    let logs = tracing_subscriber::fmt::layer()
        .with_test_writer()
        .with_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")));
    tracing_subscriber::registry()
        .with(traces)
        .with(logs)
        .try_init()
        .expect("the only global subscriber of this process");
    (provider, collector)
}

/// An attribute's value as text (numbers too), or `None`.
fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}

fn is(span: &SpanData, key: &str, value: &str) -> bool {
    attribute(span, key).as_deref() == Some(value)
}

fn describe(span: &SpanData) -> String {
    format!(
        "{:?} {:?} span={} parent={} service={:?} destination={:?}",
        span.span_kind,
        span.name,
        span.span_context.span_id(),
        span.parent_span_id,
        attribute(span, "service"),
        attribute(span, "messaging.destination.name"),
    )
}

/// The trace id in a `traceparent` header.
fn trace_of(traceparent: &str) -> &str {
    traceparent.split('-').nth(1).unwrap_or_default()
}

/// What the trace must hold once every hop is done; `Err` says what is
/// still missing (or wrong), for the next poll or the failure message.
fn check_trace(spans: &[SpanData], trace: TraceId, city_message_id: &str) -> Result<(), String> {
    let city_span = SpanId::from_hex(CITY_SPAN).expect("a span id");
    let in_trace: Vec<&SpanData> = spans
        .iter()
        .filter(|span| span.span_context.trace_id() == trace)
        .collect();
    let by_id: HashMap<SpanId, &SpanData> = in_trace
        .iter()
        .map(|span| (span.span_context.span_id(), *span))
        .collect();

    // One trace: every span hangs, through spans of this trace, from the
    // city's span. (A parent still open is not exported yet: poll again.)
    for span in &in_trace {
        if span.parent_span_id != city_span && !by_id.contains_key(&span.parent_span_id) {
            return Err(format!(
                "the parent of {} is not (yet) in the trace",
                describe(span)
            ));
        }
    }

    // A consumer `process` span in every service, with the conventions'
    // attributes, a child of the span that published the message and
    // linked to it.
    let consumers: Vec<&SpanData> = in_trace
        .iter()
        .copied()
        .filter(|span| span.span_kind == SpanKind::Consumer)
        .collect();
    for span in &consumers {
        for key in [
            "messaging.destination.name",
            "messaging.consumer.group.name",
            "messaging.message.id",
            "service",
        ] {
            if attribute(span, key).is_none_or(|value| value.is_empty()) {
                return Err(format!("{} has no {key}", describe(span)));
            }
        }
        if !is(span, "messaging.system", "nats") || !is(span, "messaging.operation.type", "process")
        {
            return Err(format!("{} lacks the messaging attributes", describe(span)));
        }
        let destination = attribute(span, "messaging.destination.name").unwrap_or_default();
        if span.name != format!("process {destination}") {
            return Err(format!("{} is not named after its subject", describe(span)));
        }
        let links: Vec<SpanId> = span
            .links
            .iter()
            .map(|link| link.span_context.span_id())
            .collect();
        if links != [span.parent_span_id] {
            return Err(format!(
                "{} should be linked to its parent, its links are {links:?}",
                describe(span)
            ));
        }
        if span.parent_span_id == city_span {
            continue;
        }
        // Every other message was published by a relay (or the feed): a
        // producer span for the same subject and message.
        let producer = by_id[&span.parent_span_id];
        if producer.span_kind != SpanKind::Producer
            || !is(producer, "messaging.system", "nats")
            || !is(producer, "messaging.operation.type", "send")
            || attribute(producer, "messaging.destination.name").as_deref()
                != Some(destination.as_str())
            || attribute(producer, "messaging.message.id")
                != attribute(span, "messaging.message.id")
        {
            return Err(format!(
                "{} should be the child of a producer span for its message, not of {}",
                describe(span),
                describe(producer)
            ));
        }
    }
    for service in SERVICES {
        if !consumers
            .iter()
            .any(|span| is(span, "service", service.name()))
        {
            return Err(format!("no consumer span of {service} yet"));
        }
    }

    // Intake's span continues the city's: its parent is the city's span,
    // and it carries the city message's subject and ce-id.
    let inbound = consumers
        .iter()
        .find(|span| span.parent_span_id == city_span)
        .ok_or("no span is a child of the city's span")?;
    if !is(inbound, "service", "intake")
        || !is(
            inbound,
            "messaging.destination.name",
            "ileaps.inbound.hulhumale.enquiry",
        )
        || !is(inbound, "messaging.message.id", city_message_id)
        || !inbound.parent_span_is_remote
    {
        return Err(format!("the city's child is {}", describe(inbound)));
    }

    // The relays of intake, scheduling and assignment published in it.
    for service in [Service::Intake, Service::Scheduling, Service::Assignment] {
        let relayed = in_trace.iter().any(|span| {
            span.span_kind == SpanKind::Producer
                && is(span, "service", service.name())
                && span.name.starts_with("publish ileaps.events.")
        });
        if !relayed {
            return Err(format!("no relay publish span of {service}"));
        }
    }

    // The deliveries: SMTP and the webhook as client spans, the city's
    // feed as a producer span, under notifications' `notification.send`.
    let deliveries: Vec<&SpanData> = in_trace
        .iter()
        .copied()
        .filter(|span| {
            by_id
                .get(&span.parent_span_id)
                .is_some_and(|parent| parent.name.starts_with("notification.send"))
        })
        .collect();
    let smtp = deliveries.iter().any(|span| {
        span.span_kind == SpanKind::Client
            && span.name == "smtp.send"
            && is(span, "network.protocol.name", "smtp")
    });
    if !smtp {
        return Err("no SMTP client span".to_owned());
    }
    let webhook = deliveries.iter().any(|span| {
        span.span_kind == SpanKind::Client
            && is(span, "http.request.method", "POST")
            && is(span, "http.response.status_code", "200")
            && is(span, "server.address", "127.0.0.1")
    });
    if !webhook {
        return Err("no webhook client span".to_owned());
    }
    let feed = deliveries.iter().any(|span| {
        span.span_kind == SpanKind::Producer
            && is(span, "messaging.system", "nats")
            && is(span, "messaging.operation.type", "send")
            && attribute(span, "messaging.destination.name")
                .is_some_and(|subject| subject == "ileaps.outbound.hulhumale.workshop.confirmed")
    });
    if !feed {
        return Err("no producer span for the confirmation on the city's feed".to_owned());
    }
    Ok(())
}

#[tokio::test]
async fn one_enquiry_is_one_trace_across_every_hop() {
    let (provider, collector) = collector();
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_all(&smtp).await;

    // An integrator's webhook for the last programme event of the journey.
    let receiver = WebhookReceiver::start([200]).await;
    messaging::admin::request(
        &app.client,
        Service::Notifications,
        "webhooks.add",
        &json!({
            "url": receiver.url(),
            "allowPrivate": true,
            "eventTypes": ["ileaps.assignment.made.v1"],
        }),
        DEADLINE,
    )
    .await
    .expect("webhook endpoint added");

    // The city reads its own feed.
    let mut feed = app.city_feed("hulhumale").await;

    // The city's enquiry, in a trace of the city's own.
    let trace_hex = uuid::Uuid::new_v4().simple().to_string();
    let trace = TraceId::from_hex(&trace_hex).expect("a trace id");
    let mut headers = test_support::city_headers("hulhumale", ENQUIRY_SUBMIT);
    headers.insert(
        "traceparent",
        format!("00-{trace_hex}-{CITY_SPAN}-01").as_str(),
    );
    let city_message_id = headers.get("ce-id").unwrap().as_str().to_owned();
    let mut pilot = submission("hulhumale", "HUL-T-1");
    pilot["kind"] = json!("PILOT_PROJECT");
    pilot["topics"] = json!(["URBAN_PLANNING"]);
    pilot["format"] = json!("IN_PERSON");
    pilot["contact"] = json!({"name": "Aishath Naseem", "email": "planning@hulhumale.example"});
    app.publish_raw(
        "ileaps.inbound.hulhumale.enquiry",
        headers,
        pilot.to_string(),
    )
    .await;

    // The feed's notices carry the trace on, each stamped by its own
    // producer span.
    let mut confirmed = None;
    while confirmed.is_none() {
        let notice = tokio::time::timeout(JOURNEY, feed.next())
            .await
            .expect("a notice on the feed in time")
            .unwrap()
            .unwrap();
        notice.ack().await.unwrap();
        let traceparent = notice
            .headers
            .as_ref()
            .and_then(|h| h.get("traceparent"))
            .map(|v| v.as_str().to_owned())
            .expect("a traceparent on the notice");
        assert_eq!(trace_of(&traceparent), trace_hex, "{}", ce_type(&notice));
        assert!(!traceparent.contains(CITY_SPAN), "{traceparent}");
        if ce_type(&notice) == "ileaps.city.workshop.confirmed.v1" {
            confirmed = Some(body(&notice));
        }
    }
    let confirmation = confirmed.unwrap();
    assert_eq!(confirmation["reference"], "HUL-T-1");
    let experts = confirmation["experts"].as_array().unwrap().len();

    // Every email (acknowledgement and confirmation to the contact, one to
    // each expert) and the webhook request carry it too.
    for email in smtp.wait_for(2 + experts, JOURNEY).await {
        let traceparent = email.header("X-Trace-Parent").expect("X-Trace-Parent");
        assert_eq!(trace_of(traceparent), trace_hex, "{:?}", email.subject());
    }
    let requests = receiver.wait_for(1, JOURNEY).await;
    let traceparent = requests[0].header("traceparent").expect("traceparent");
    assert_eq!(trace_of(traceparent), trace_hex);

    // And the spans: polled until every hop's span has ended.
    let until = tokio::time::Instant::now() + JOURNEY;
    loop {
        provider.force_flush().expect("flush");
        let spans = collector.spans();
        match check_trace(&spans, trace, &city_message_id) {
            Ok(()) => break,
            Err(_) if tokio::time::Instant::now() < until => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(reason) => {
                let listing: Vec<String> = spans
                    .iter()
                    .filter(|span| span.span_context.trace_id() == trace)
                    .map(describe)
                    .collect();
                panic!(
                    "the trace is incomplete: {reason}\nits spans:\n{}",
                    listing.join("\n")
                );
            }
        }
    }
    app.stop().await;
}

/// A city that sends no `traceparent` still gets one trace per message: it
/// starts at intake's `process` span and goes on to the city's feed.
#[tokio::test]
async fn a_message_without_traceparent_starts_its_trace_at_intake() {
    let (provider, collector) = collector();
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_all(&smtp).await;
    let mut feed = app.city_feed("makassar").await;
    let city_message_id = app
        .submit("makassar", &submission("makassar", "MKS-T-2"))
        .await;

    let notice = tokio::time::timeout(JOURNEY, feed.next())
        .await
        .expect("a notice on the feed in time")
        .unwrap()
        .unwrap();
    assert_eq!(ce_type(&notice), "ileaps.city.enquiry.received.v1");
    let traceparent = notice
        .headers
        .as_ref()
        .and_then(|h| h.get("traceparent"))
        .map(|v| v.as_str().to_owned())
        .expect("a traceparent on the notice");
    let trace = TraceId::from_hex(trace_of(&traceparent)).expect("a trace id");

    let inbound = test_support::eventually("intake's span of the message", JOURNEY, || async {
        provider.force_flush().expect("flush");
        collector.spans().into_iter().find(|span| {
            span.span_kind == SpanKind::Consumer
                && is(span, "messaging.message.id", &city_message_id)
        })
    })
    .await;
    assert_eq!(
        inbound.span_context.trace_id(),
        trace,
        "{}",
        describe(&inbound)
    );
    assert_eq!(inbound.parent_span_id, SpanId::INVALID, "a root span");
    assert_eq!(inbound.links.iter().count(), 0, "nothing to link to");
    assert!(is(&inbound, "service", "intake"));
    app.stop().await;
}
