//! Owns the conversion between `tracing` spans and W3C trace context
//! (`traceparent`, `tracestate`) in NATS headers and outbox rows.
//!
//! The W3C format is part of the message contract (see `CONTRACT.md`), not a
//! deployment choice, so these functions use the TraceContext propagator
//! directly instead of whatever is installed globally: headers come out the
//! same even in a test that never called [`crate::init`].

use std::collections::HashMap;

use async_nats::HeaderMap;
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// Writes `traceparent` (and `tracestate` when there is one) for the current
/// `tracing` span into `headers`, replacing any already there.
///
/// Writes nothing when there is no current span or it has no trace context
/// (telemetry not initialised, or the span filtered out).
pub fn inject_current(headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(&current_context(), &mut HeaderInjector(headers));
}

/// Reads the trace context a message carries. Missing or malformed headers
/// give a context without a valid span, which makes new spans start a trace.
pub fn extract(headers: Option<&HeaderMap>) -> Context {
    match headers {
        Some(headers) => TraceContextPropagator::new().extract(&HeaderExtractor(headers)),
        None => Context::new(),
    }
}

/// The current span's trace context as `(traceparent, tracestate)`, for
/// storing with an outbox row when it is written: the relay publishes later,
/// from another task, and the event must continue the trace that caused it.
pub fn current_traceparent() -> Option<(String, Option<String>)> {
    let mut fields = HashMap::with_capacity(2);
    TraceContextPropagator::new().inject_context(&current_context(), &mut fields);
    let traceparent = fields.remove(TRACEPARENT)?;
    let tracestate = fields.remove(TRACESTATE).filter(|state| !state.is_empty());
    Some((traceparent, tracestate))
}

/// Makes `span` a child of the trace context in `headers`, so the work done
/// for a message joins the trace of whoever published it.
///
/// Call it before the span is first entered. Headers without a valid
/// `traceparent` leave the span as it was: it then starts its own trace (or
/// stays a child of the span that was current when it was created).
pub fn set_parent_from_headers(span: &tracing::Span, headers: Option<&HeaderMap>) {
    let cx = extract(headers);
    if cx.span().span_context().is_valid() {
        attach_parent(span, cx);
    }
}

/// Makes `span` continue the trace of the message in `headers` **and** links
/// it to the publisher's span: what a consumer's `process` span needs.
///
/// OpenTelemetry's messaging conventions ask for a link from the processing
/// span to the message's creation context, because a batch may hold messages
/// of many traces. The parent is kept as well, so that one enquiry is one
/// trace end to end across every service (with only a link, each hop would
/// start a new trace). The link points at the same span as the parent; it
/// is there for tools that follow links, and it states the relation the
/// conventions define.
///
/// Call it before the span is first entered. Headers without a valid
/// `traceparent` leave the span as it was: it then starts its own trace.
pub fn set_parent_and_link(span: &tracing::Span, headers: Option<&HeaderMap>) {
    let cx = extract(headers);
    let producer = cx.span().span_context().clone();
    if !producer.is_valid() {
        return;
    }
    span.add_link(producer);
    attach_parent(span, cx);
}

/// Links `span` to the publisher's span of the message in `headers`, without
/// making it a child: for a span covering many messages (a batch), which
/// cannot belong to all of their traces at once.
pub fn link_from_headers(span: &tracing::Span, headers: Option<&HeaderMap>) {
    let producer = extract(headers).span().span_context().clone();
    if producer.is_valid() {
        span.add_link(producer);
    }
}

/// Makes `span` a child of a context stored as strings (an outbox or
/// delivery row's `traceparent` and `tracestate`). `None` or a malformed
/// value leaves the span as it was. Call it before the span is first entered.
pub fn set_parent_from_traceparent(
    span: &tracing::Span,
    traceparent: Option<&str>,
    tracestate: Option<&str>,
) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let mut fields = HashMap::with_capacity(2);
    fields.insert(TRACEPARENT.to_owned(), traceparent.to_owned());
    if let Some(state) = tracestate {
        fields.insert(TRACESTATE.to_owned(), state.to_owned());
    }
    let cx = TraceContextPropagator::new().extract(&fields);
    if cx.span().span_context().is_valid() {
        attach_parent(span, cx);
    }
}

/// Writes `traceparent` (and `tracestate`) of `span` itself into `headers`,
/// replacing any already there: for a producer span that stamps the message
/// it publishes without being entered. Writes nothing for a span that is not
/// traced.
pub fn inject_span(span: &tracing::Span, headers: &mut HeaderMap) {
    let cx = span.context();
    if cx.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(headers));
    }
}

/// `span`'s own trace context as `(traceparent, tracestate)`, like
/// [`current_traceparent`] for a span that is not entered.
pub fn span_traceparent(span: &tracing::Span) -> Option<(String, Option<String>)> {
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut fields = HashMap::with_capacity(2);
    TraceContextPropagator::new().inject_context(&cx, &mut fields);
    let traceparent = fields.remove(TRACEPARENT)?;
    let tracestate = fields.remove(TRACESTATE).filter(|state| !state.is_empty());
    Some((traceparent, tracestate))
}

fn attach_parent(span: &tracing::Span, cx: Context) {
    if let Err(error) = span.set_parent(cx) {
        // Not worth more: the span still works, only without the remote parent.
        tracing::debug!(
            error = &error as &dyn std::error::Error,
            "could not attach the message's trace context to the span"
        );
    }
}

/// The OpenTelemetry context of the current `tracing` span. When that span is
/// logged but not traced (say a `debug_span!` under `ILEAPS_TRACE_FILTER=info`)
/// it has no context of its own; the innermost traced span entered on this
/// thread, which the OpenTelemetry layer keeps active, stands in for it.
fn current_context() -> Context {
    let cx = tracing::Span::current().context();
    if cx.span().span_context().is_valid() {
        cx
    } else {
        Context::current()
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // An empty tracestate says nothing; leave the header out.
        if value.is_empty() {
            return;
        }
        // The fallible parsers, because `insert` panics on a bad name or value;
        // the propagator only produces valid ones, but a header is no reason
        // to ever bring a service down.
        if let (Ok(name), Ok(value)) = (
            key.parse::<async_nats::HeaderName>(),
            value.parse::<async_nats::HeaderValue>(),
        ) {
            self.0.insert(name, value);
        }
    }
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        // NATS header names are case-sensitive, HTTP ones are not, and cities
        // may forward what their HTTP stack produced (`Traceparent`): exact
        // match first, then any case.
        if let Ok(name) = key.parse::<async_nats::HeaderName>()
            && let Some(value) = self.0.get(name)
        {
            return Some(value.as_str());
        }
        self.0
            .iter()
            .find(|(name, _)| AsRef::<str>::as_ref(*name).eq_ignore_ascii_case(key))
            .and_then(|(_, values)| values.first())
            .map(async_nats::HeaderValue::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_ref()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanId, TraceId};

    const REMOTE_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const REMOTE_SPAN: &str = "00f067aa0ba902b7";

    fn incoming(name: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, format!("00-{REMOTE_TRACE}-{REMOTE_SPAN}-01").as_str());
        headers.insert("tracestate", "city=makassar");
        headers
    }

    /// Runs `f` under the same subscriber `init` installs, without touching
    /// the process-wide default.
    fn with_telemetry(f: impl FnOnce()) {
        with_telemetry_env(&[], f);
    }

    fn with_telemetry_env(vars: &[(&str, &str)], f: impl FnOnce()) {
        let lookup = |name: &str| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        };
        let config = crate::setup::Config::from_lookup("test", lookup).unwrap();
        let (subscriber, _provider) = crate::setup::build(&config).unwrap();
        tracing::subscriber::with_default(subscriber, f);
    }

    fn parts(traceparent: &str) -> (String, String, String) {
        let parts: Vec<&str> = traceparent.split('-').collect();
        assert_eq!(parts.len(), 4, "{traceparent}");
        assert_eq!(parts[0], "00");
        (
            parts[1].to_owned(),
            parts[2].to_owned(),
            parts[3].to_owned(),
        )
    }

    #[test]
    fn a_traceparent_read_from_headers_comes_back_out_with_the_same_trace_id() {
        with_telemetry(|| {
            let headers = incoming("traceparent");
            let span = tracing::info_span!("handle");
            set_parent_from_headers(&span, Some(&headers));
            let _entered = span.enter();

            let mut outgoing = HeaderMap::new();
            inject_current(&mut outgoing);

            let traceparent = outgoing.get("traceparent").expect("traceparent written");
            let (trace, span_id, flags) = parts(traceparent.as_str());
            assert_eq!(trace, REMOTE_TRACE, "the trace continues");
            assert_ne!(span_id, REMOTE_SPAN, "our span is a new child span");
            assert_eq!(flags, "01", "the sampling decision is kept");
            assert_eq!(
                outgoing.get("tracestate").map(|v| v.as_str()),
                Some("city=makassar")
            );
            assert_eq!(
                current_traceparent(),
                Some((
                    traceparent.as_str().to_owned(),
                    Some("city=makassar".to_owned())
                ))
            );
        });
    }

    #[test]
    fn a_traceparent_in_another_case_is_still_found() {
        with_telemetry(|| {
            let headers = incoming("Traceparent");
            let span = tracing::info_span!("handle");
            set_parent_from_headers(&span, Some(&headers));
            let _entered = span.enter();
            let (traceparent, _) = current_traceparent().expect("context");
            assert_eq!(parts(&traceparent).0, REMOTE_TRACE);
        });
    }

    #[test]
    fn a_span_without_a_remote_parent_still_has_a_trace_context() {
        with_telemetry(|| {
            let span = tracing::info_span!("root");
            set_parent_from_headers(&span, None);
            let _entered = span.enter();
            let (traceparent, tracestate) = current_traceparent().expect("ids exist");
            let (trace, span_id, _) = parts(&traceparent);
            assert_ne!(trace, TraceId::INVALID.to_string());
            assert_ne!(span_id, SpanId::INVALID.to_string());
            assert_eq!(tracestate, None);

            // A child span stays in the same trace.
            let child = tracing::info_span!("child");
            let _child = child.enter();
            let (child_parent, _) = current_traceparent().unwrap();
            assert_eq!(parts(&child_parent).0, trace);
        });
    }

    #[test]
    fn quieter_logs_do_not_remove_trace_context() {
        with_telemetry_env(&[("RUST_LOG", "error")], || {
            let span = tracing::info_span!("handle");
            set_parent_from_headers(&span, Some(&incoming("traceparent")));
            let _entered = span.enter();
            let (traceparent, _) = current_traceparent().expect("context despite RUST_LOG");
            assert_eq!(parts(&traceparent).0, REMOTE_TRACE);
        });
    }

    #[test]
    fn a_span_that_is_logged_but_not_traced_passes_on_its_parents_context() {
        with_telemetry_env(
            &[("RUST_LOG", "debug"), ("ILEAPS_TRACE_FILTER", "info")],
            || {
                let span = tracing::info_span!("handle");
                set_parent_from_headers(&span, Some(&incoming("traceparent")));
                let _entered = span.enter();
                let (parent, _) = current_traceparent().expect("context of the traced span");

                let detail = tracing::debug_span!("detail");
                let _detail = detail.enter();
                let mut outgoing = HeaderMap::new();
                inject_current(&mut outgoing);
                assert_eq!(
                    outgoing.get("traceparent").map(|v| v.as_str().to_owned()),
                    Some(parent)
                );
            },
        );
    }

    #[test]
    fn malformed_headers_start_a_new_trace() {
        with_telemetry(|| {
            let mut headers = HeaderMap::new();
            headers.insert("traceparent", "00-not-a-trace-01");
            assert!(!extract(Some(&headers)).span().span_context().is_valid());

            let span = tracing::info_span!("handle");
            set_parent_from_headers(&span, Some(&headers));
            let _entered = span.enter();
            let (traceparent, _) = current_traceparent().expect("a fresh trace");
            assert_ne!(parts(&traceparent).0, REMOTE_TRACE);
        });
    }

    #[test]
    fn without_a_span_nothing_is_written() {
        with_telemetry(|| {
            let mut headers = HeaderMap::new();
            inject_current(&mut headers);
            assert!(headers.is_empty());
            assert_eq!(current_traceparent(), None);
        });
    }

    /// Spans as an exporter receives them, for tests that look at parents
    /// and links.
    #[derive(Debug, Clone, Default)]
    struct Collected(std::sync::Arc<std::sync::Mutex<Vec<opentelemetry_sdk::trace::SpanData>>>);

    impl opentelemetry_sdk::trace::SpanExporter for Collected {
        async fn export(
            &self,
            batch: Vec<opentelemetry_sdk::trace::SpanData>,
        ) -> opentelemetry_sdk::error::OTelSdkResult {
            self.0.lock().unwrap().extend(batch);
            Ok(())
        }
    }

    /// Runs `f` with an OpenTelemetry layer whose finished spans are returned.
    fn collect(f: impl FnOnce()) -> Vec<opentelemetry_sdk::trace::SpanData> {
        use opentelemetry::trace::TracerProvider as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        let collected = Collected::default();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_simple_exporter(collected.clone())
            .build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, f);
        provider.force_flush().unwrap();
        collected.0.lock().unwrap().clone()
    }

    fn named<'a>(
        spans: &'a [opentelemetry_sdk::trace::SpanData],
        name: &str,
    ) -> &'a opentelemetry_sdk::trace::SpanData {
        spans
            .iter()
            .find(|span| span.name == name)
            .unwrap_or_else(|| panic!("no span {name}"))
    }

    #[test]
    fn a_consumer_span_is_a_child_of_the_publisher_and_linked_to_it() {
        let spans = collect(|| {
            let span = tracing::info_span!("process");
            set_parent_and_link(&span, Some(&incoming("traceparent")));
            let _entered = span.enter();
        });
        let process = named(&spans, "process");
        let context = &process.span_context;
        assert_eq!(context.trace_id().to_string(), REMOTE_TRACE);
        assert_eq!(process.parent_span_id.to_string(), REMOTE_SPAN);
        assert!(process.parent_span_is_remote);
        let links: Vec<_> = process.links.iter().collect();
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].span_context.trace_id().to_string(), REMOTE_TRACE);
        assert_eq!(links[0].span_context.span_id().to_string(), REMOTE_SPAN);
        assert_eq!(
            context.trace_state().header(),
            "city=makassar",
            "the city's tracestate is kept"
        );
    }

    #[test]
    fn without_a_valid_traceparent_a_consumer_span_starts_a_trace_without_links() {
        let spans = collect(|| {
            let span = tracing::info_span!("process");
            set_parent_and_link(&span, None);
            let _entered = span.enter();
        });
        let process = named(&spans, "process");
        assert_eq!(process.parent_span_id, SpanId::INVALID);
        assert_eq!(process.links.iter().count(), 0);
    }

    #[test]
    fn a_batch_span_is_only_linked_to_its_messages() {
        let spans = collect(|| {
            let span = tracing::info_span!("batch");
            link_from_headers(&span, Some(&incoming("traceparent")));
            link_from_headers(&span, None);
            let _entered = span.enter();
        });
        let batch = named(&spans, "batch");
        assert_ne!(batch.span_context.trace_id().to_string(), REMOTE_TRACE);
        assert_eq!(batch.parent_span_id, SpanId::INVALID);
        let links: Vec<_> = batch.links.iter().collect();
        assert_eq!(links.len(), 1, "the message without context adds none");
        assert_eq!(links[0].span_context.span_id().to_string(), REMOTE_SPAN);
    }

    #[test]
    fn a_stored_traceparent_becomes_the_parent_and_a_producer_stamps_its_own_id() {
        let mut stamped = HeaderMap::new();
        let mut stored = None;
        let spans = collect(|| {
            let span = tracing::info_span!("publish");
            set_parent_from_traceparent(
                &span,
                Some(&format!("00-{REMOTE_TRACE}-{REMOTE_SPAN}-01")),
                Some("city=makassar"),
            );
            inject_span(&span, &mut stamped);
            stored = span_traceparent(&span);
            // Not entered, and still in the trace.
            let ignored = tracing::info_span!("ignored");
            set_parent_from_traceparent(&ignored, Some("00-garbage"), None);
            set_parent_from_traceparent(&ignored, None, None);
        });
        let publish = named(&spans, "publish");
        assert_eq!(publish.parent_span_id.to_string(), REMOTE_SPAN);
        let expected = format!("00-{REMOTE_TRACE}-{}-01", publish.span_context.span_id());
        assert_eq!(
            stamped.get("traceparent").map(|v| v.as_str()),
            Some(expected.as_str())
        );
        assert_eq!(
            stamped.get("tracestate").map(|v| v.as_str()),
            Some("city=makassar")
        );
        assert_eq!(stored, Some((expected, Some("city=makassar".to_owned()))));
        let ignored = named(&spans, "ignored");
        assert_ne!(ignored.span_context.trace_id().to_string(), REMOTE_TRACE);
    }

    #[test]
    fn a_span_that_is_not_traced_stamps_nothing() {
        let mut headers = HeaderMap::new();
        inject_span(&tracing::Span::none(), &mut headers);
        assert!(headers.is_empty());
        assert_eq!(span_traceparent(&tracing::Span::none()), None);
    }

    #[test]
    fn extract_of_no_headers_is_an_empty_context() {
        assert!(!extract(None).span().span_context().is_valid());
        assert!(!extract(Some(&HeaderMap::new())).has_active_span());
    }
}
