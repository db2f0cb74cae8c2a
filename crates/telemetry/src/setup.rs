//! Owns the process-wide `tracing` subscriber and the OpenTelemetry tracer
//! provider behind it: what is logged, in which format, and where spans go.

use std::io::IsTerminal as _;
use std::sync::mpsc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::filter::ParseError;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::{SubscriberInitExt as _, TryInitError};
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// How long [`TelemetryGuard::shutdown`] waits for the exporter to flush.
/// Bounded so that an unreachable collector never holds up a process that was
/// asked to stop.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Crates on the span export path. Tracing them would turn each export into
/// more spans to export, so they are always switched off for the trace layer.
const EXPORT_PATH_TARGETS: &[&str] = &[
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
    "opentelemetry_http",
    "reqwest",
    "hyper",
    "hyper_util",
    "h2",
    "tower",
];

/// The environment variables read by [`init`].
const LOG_FILTER_VAR: &str = "RUST_LOG";
const LOG_FORMAT_VAR: &str = "ILEAPS_LOG_FORMAT";
const TRACE_FILTER_VAR: &str = "ILEAPS_TRACE_FILTER";
const SERVICE_NAME_VAR: &str = "OTEL_SERVICE_NAME";
const RESOURCE_ATTRIBUTES_VAR: &str = "OTEL_RESOURCE_ATTRIBUTES";
const SDK_DISABLED_VAR: &str = "OTEL_SDK_DISABLED";
const TRACES_EXPORTER_VAR: &str = "OTEL_TRACES_EXPORTER";
/// `RUST_LOG` when unset: `info`, but the OpenTelemetry SDK's own
/// housekeeping notes (provider set, exporter built) only from `warn` up.
const DEFAULT_LOG_FILTER: &str =
    "info,opentelemetry=warn,opentelemetry_sdk=warn,opentelemetry_otlp=warn";
const OTLP_ENDPOINT_VARS: &[&str] = &[
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// How log lines are written to stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors. The default, because
    /// services mostly run where nobody reads stderr directly.
    #[default]
    Json,
    /// Multi-line, coloured on a terminal: for people (the CLI demo).
    Pretty,
    /// One short line per event: for people who want to see a lot at once.
    Compact,
}

impl LogFormat {
    fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "pretty" => Some(Self::Pretty),
            "compact" => Some(Self::Compact),
            _ => None,
        }
    }
}

/// Why [`init`] did not install telemetry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// A filter variable (`RUST_LOG`, `ILEAPS_TRACE_FILTER`) does not parse.
    #[error("{variable}={value:?} is not a valid tracing filter (e.g. `info,intake=debug`)")]
    InvalidFilter {
        variable: &'static str,
        value: String,
        #[source]
        source: ParseError,
    },
    /// `ILEAPS_LOG_FORMAT` names no known format.
    #[error("ILEAPS_LOG_FORMAT={value:?} is not a log format; expected json, pretty or compact")]
    InvalidLogFormat { value: String },
    /// `OTEL_TRACES_EXPORTER` names an exporter this build does not have.
    #[error("OTEL_TRACES_EXPORTER={value:?} is not supported; expected otlp or none")]
    UnsupportedTracesExporter { value: String },
    /// The OTLP exporter could not be built from the `OTEL_EXPORTER_OTLP_*`
    /// variables (for instance an endpoint that is not a URL).
    #[error("could not build the OTLP span exporter from OTEL_EXPORTER_OTLP_* settings")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// Another global subscriber is already installed (typically a second
    /// `init` in one test binary). The first one stays in place and keeps
    /// working; nothing was changed.
    #[error("a global tracing subscriber is already installed in this process")]
    AlreadyInitialized(#[source] TryInitError),
}

/// Keeps the span exporter alive; flushes and shuts it down on
/// [`shutdown`](Self::shutdown) or drop, whichever comes first.
///
/// Hold it in `main` until the service has finished its work, so the spans of
/// the last messages are exported too.
#[must_use = "dropping the guard flushes and stops span export at once"]
#[derive(Debug)]
pub struct TelemetryGuard {
    /// Present only while an exporter needs flushing. Without an exporter the
    /// provider is left running even after the guard goes: it costs nothing,
    /// and spans keep their trace ids for code (and tests) that still run.
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Flushes pending spans and shuts the exporter down, waiting at most 5 s.
    ///
    /// Blocks the calling thread for at most that long; the work itself runs
    /// on a plain thread, because the batch processor blocks while it exports
    /// and must not occupy an async runtime's worker. Failures are logged, not
    /// returned: at exit there is nothing better to do with them.
    pub fn shutdown(mut self) {
        self.shut_down_now();
    }

    fn shut_down_now(&mut self) {
        if let Some(provider) = self.provider.take() {
            shut_down_within(provider, SHUTDOWN_TIMEOUT);
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.shut_down_now();
    }
}

/// Installs logging and tracing for this process.
///
/// - Logs go to stderr, filtered by `RUST_LOG` (default `info`, with the
///   OpenTelemetry SDK's own notes from `warn`), as JSON unless
///   `ILEAPS_LOG_FORMAT` is `pretty` or `compact`.
/// - Spans always get OpenTelemetry ids from an SDK tracer provider, so trace
///   context propagates across NATS even when nothing is exported. Which spans
///   become OpenTelemetry spans is set by `ILEAPS_TRACE_FILTER` (default
///   `info`), separately from `RUST_LOG`, so quieter logs never break traces.
/// - When `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
///   is set (or `OTEL_TRACES_EXPORTER=otlp`, which means the default
///   `http://localhost:4318`), spans are exported over OTLP/HTTP (protobuf) by
///   a batch processor on its own thread. `OTEL_TRACES_EXPORTER=none` or
///   `OTEL_SDK_DISABLED=true` turn export off whatever the endpoint says.
///   The SDK and the exporter read the other standard variables themselves:
///   `OTEL_EXPORTER_OTLP_{,TRACES_}{HEADERS,TIMEOUT,COMPRESSION}`,
///   `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` (default
///   `parentbased_always_on`: a city's sampling decision is kept),
///   `OTEL_BSP_*` (batch processor), `OTEL_SPAN_*_LIMIT`, and
///   `OTEL_RESOURCE_ATTRIBUTES`. `service.name` is `OTEL_SERVICE_NAME` if
///   set, else a `service.name` in `OTEL_RESOURCE_ATTRIBUTES`, else
///   `service_name`.
/// - The W3C TraceContext propagator is installed globally.
///
/// A second call in one process returns [`TelemetryError::AlreadyInitialized`]
/// and leaves the first subscriber in place; tests that may run after another
/// one initialised telemetry can write `let _guard = telemetry::init("x").ok();`.
pub fn init(service_name: &str) -> Result<TelemetryGuard, TelemetryError> {
    init_with(service_name, |name| std::env::var(name).ok())
}

/// [`init`] for a command a person watches (`ileaps demo`): compact lines and
/// only warnings, unless `ILEAPS_LOG_FORMAT` or `RUST_LOG` say otherwise.
pub fn init_for_humans(service_name: &str) -> Result<TelemetryGuard, TelemetryError> {
    init_with(service_name, |name| {
        std::env::var(name).ok().or_else(|| match name {
            LOG_FORMAT_VAR => Some("compact".to_owned()),
            LOG_FILTER_VAR => Some("warn".to_owned()),
            _ => None,
        })
    })
}

fn init_with(
    service_name: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<TelemetryGuard, TelemetryError> {
    // Set first, and whatever happens next: any code that asks the global
    // propagator (HTTP clients, libraries) should speak W3C in this process.
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    let config = Config::from_lookup(service_name, lookup)?;
    let (subscriber, provider) = build(&config)?;
    if let Err(error) = subscriber.try_init() {
        if config.export {
            shut_down_within(provider, SHUTDOWN_TIMEOUT);
        }
        return Err(TelemetryError::AlreadyInitialized(error));
    }
    opentelemetry::global::set_tracer_provider(provider.clone());
    tracing::info!(
        service.name = %config.service_name,
        log_format = ?config.log_format,
        otlp_export = config.export,
        "telemetry initialised"
    );
    Ok(TelemetryGuard {
        provider: config.export.then_some(provider),
    })
}

/// What [`init`] reads from the environment, parsed and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Config {
    pub(crate) service_name: String,
    pub(crate) log_format: LogFormat,
    pub(crate) log_filter: String,
    pub(crate) trace_filter: String,
    pub(crate) export: bool,
}

impl Config {
    pub(crate) fn from_lookup(
        service_name: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, TelemetryError> {
        // An empty variable counts as unset: container specs often write `X=`.
        let get = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let log_format = match get(LOG_FORMAT_VAR) {
            None => LogFormat::default(),
            Some(value) => {
                LogFormat::parse(&value).ok_or(TelemetryError::InvalidLogFormat { value })?
            }
        };
        let exporter = match get(TRACES_EXPORTER_VAR) {
            None => None,
            Some(value) => Some(
                parse_traces_exporter(&value)
                    .ok_or(TelemetryError::UnsupportedTracesExporter { value })?,
            ),
        };
        let disabled =
            get(SDK_DISABLED_VAR).is_some_and(|value| value.eq_ignore_ascii_case("true"));
        let endpoint_set = OTLP_ENDPOINT_VARS.iter().any(|name| get(name).is_some());
        let service_name = get(SERVICE_NAME_VAR)
            .or_else(|| {
                get(RESOURCE_ATTRIBUTES_VAR)
                    .and_then(|attributes| service_name_attribute(&attributes))
            })
            .unwrap_or_else(|| service_name.to_owned());
        let config = Self {
            service_name,
            log_format,
            log_filter: get(LOG_FILTER_VAR).unwrap_or_else(|| DEFAULT_LOG_FILTER.to_owned()),
            trace_filter: get(TRACE_FILTER_VAR).unwrap_or_else(|| "info".to_owned()),
            export: !disabled && exporter.unwrap_or(endpoint_set),
        };
        // Parse now so a bad filter is reported before anything is installed.
        config.filters()?;
        Ok(config)
    }

    fn filters(&self) -> Result<(EnvFilter, EnvFilter), TelemetryError> {
        let parse = |variable: &'static str, value: &str| {
            EnvFilter::builder()
                .parse(value)
                .map_err(|source| TelemetryError::InvalidFilter {
                    variable,
                    value: value.to_owned(),
                    source,
                })
        };
        let log = parse(LOG_FILTER_VAR, &self.log_filter)?;
        // The user's directives first, then the export path switched off, so a
        // broad `debug` can never make the exporter trace itself.
        let silenced: Vec<String> = EXPORT_PATH_TARGETS
            .iter()
            .map(|target| format!("{target}=off"))
            .collect();
        let trace = parse(
            TRACE_FILTER_VAR,
            &format!("{},{}", self.trace_filter, silenced.join(",")),
        )
        .map_err(|error| match error {
            // Report the variable's own value, not the string built from it.
            TelemetryError::InvalidFilter {
                variable, source, ..
            } => TelemetryError::InvalidFilter {
                variable,
                value: self.trace_filter.clone(),
                source,
            },
            other => other,
        })?;
        Ok((log, trace))
    }
}

/// `OTEL_TRACES_EXPORTER` (a comma-separated list): `Some(true)` for `otlp`,
/// `Some(false)` for `none`, `None` for anything this build cannot export to.
fn parse_traces_exporter(value: &str) -> Option<bool> {
    let mut otlp = false;
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name.to_ascii_lowercase().as_str() {
            "otlp" => otlp = true,
            "none" => {}
            _ => return None,
        }
    }
    Some(otlp)
}

/// `service.name` from `OTEL_RESOURCE_ATTRIBUTES` (`key=value,key=value`,
/// values percent-encoded), which the SDK's own detector reads too: without
/// this, the service's default name would override it.
fn service_name_attribute(attributes: &str) -> Option<String> {
    attributes.split(',').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == "service.name")
            .then(|| percent_decode(value.trim()))
            .filter(|name| !name.is_empty())
    })
}

/// Decodes `%XX` escapes; anything malformed is kept as written.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// Builds the subscriber and its tracer provider without installing either,
/// so tests can run it with `tracing::subscriber::with_default`.
pub(crate) fn build(
    config: &Config,
) -> Result<(impl Subscriber + Send + Sync + 'static, SdkTracerProvider), TelemetryError> {
    let (log_filter, trace_filter) = config.filters()?;

    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let mut provider = SdkTracerProvider::builder().with_resource(resource);
    if config.export {
        // The exporter resolves endpoint, headers, timeout and compression
        // from the standard OTEL_EXPORTER_OTLP_* variables.
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()?;
        // The SDK's batch processor runs on its own thread, which suits the
        // blocking HTTP client and keeps export off the async runtime.
        provider = provider.with_batch_exporter(exporter);
    }
    let provider = provider.build();

    let otel_layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("ileaps"))
        // Busy/idle time costs two clock reads per poll of every instrumented
        // future; span durations are enough here.
        .with_tracked_inactivity(false)
        .with_filter(trace_filter)
        .boxed();

    let ansi = std::io::stderr().is_terminal();
    let fmt_layer = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .pretty()
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Compact => tracing_subscriber::fmt::layer()
            .compact()
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
            .boxed(),
    }
    .with_filter(log_filter)
    .boxed();

    // Per-layer filters rather than one global filter: `RUST_LOG=warn` must
    // quieten the logs without removing the spans that carry trace context.
    let layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> = vec![fmt_layer, otel_layer];
    let subscriber = tracing_subscriber::registry().with(layers);
    Ok((subscriber, provider))
}

fn shut_down_within(provider: SdkTracerProvider, timeout: Duration) {
    let (done, finished) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("otel-shutdown".to_owned())
        .spawn(move || {
            // The receiver may have given up waiting; nothing to do then.
            let _ = done.send(provider.shutdown_with_timeout(timeout));
        });
    if let Err(error) = spawned {
        tracing::warn!(
            error = &error as &dyn std::error::Error,
            "could not start a thread to flush spans; some may be lost"
        );
        return;
    }
    // A little slack over the SDK's own timeout so it can report first.
    match finished.recv_timeout(timeout + Duration::from_millis(500)) {
        Ok(Ok(())) => tracing::debug!("span exporter flushed and shut down"),
        Ok(Err(error)) => tracing::warn!(
            error = &error as &dyn std::error::Error,
            "span exporter did not shut down cleanly; some spans may be lost"
        ),
        Err(_) => tracing::warn!(
            timeout_secs = timeout.as_secs(),
            "span exporter did not flush in time; some spans may be lost"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, TelemetryError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup("intake", |name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_are_json_logs_at_info_and_no_export() {
        let config = config(&[]).unwrap();
        assert_eq!(
            config,
            Config {
                service_name: "intake".to_owned(),
                log_format: LogFormat::Json,
                log_filter: DEFAULT_LOG_FILTER.to_owned(),
                trace_filter: "info".to_owned(),
                export: false,
            }
        );
    }

    #[test]
    fn otel_service_name_wins_over_the_argument() {
        let config = config(&[("OTEL_SERVICE_NAME", "intake-eu")]).unwrap();
        assert_eq!(config.service_name, "intake-eu");
    }

    #[test]
    fn either_otlp_endpoint_variable_turns_export_on() {
        for name in OTLP_ENDPOINT_VARS {
            let config = config(&[(name, "http://127.0.0.1:4318")]).unwrap();
            assert!(config.export, "{name} should enable export");
        }
        assert!(
            !config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])
                .unwrap()
                .export
        );
    }

    #[test]
    fn the_standard_variables_turn_export_on_and_off() {
        let export = |vars: &[(&str, &str)]| config(vars).unwrap().export;
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318");
        assert!(
            export(&[("OTEL_TRACES_EXPORTER", "otlp")]),
            "default endpoint"
        );
        assert!(!export(&[endpoint, ("OTEL_TRACES_EXPORTER", "none")]));
        assert!(!export(&[endpoint, ("OTEL_SDK_DISABLED", "TRUE")]));
        assert!(export(&[endpoint, ("OTEL_SDK_DISABLED", "false")]));
        assert!(export(&[endpoint, ("OTEL_TRACES_EXPORTER", " otlp ,none")]));
        let error = config(&[("OTEL_TRACES_EXPORTER", "zipkin")]).unwrap_err();
        assert!(
            matches!(error, TelemetryError::UnsupportedTracesExporter { ref value } if value == "zipkin"),
            "{error:?}"
        );
    }

    #[test]
    fn the_service_name_can_come_from_the_resource_attributes() {
        let named = |vars: &[(&str, &str)]| config(vars).unwrap().service_name;
        let attributes = (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=prod, service.name=intake%2Deu ,x=y",
        );
        assert_eq!(named(&[attributes]), "intake-eu");
        assert_eq!(
            named(&[attributes, ("OTEL_SERVICE_NAME", "intake-asia")]),
            "intake-asia"
        );
        assert_eq!(named(&[("OTEL_RESOURCE_ATTRIBUTES", "a=b")]), "intake");
        assert_eq!(percent_decode("50%25%zz%4"), "50%%zz%4");
    }

    #[test]
    fn pretty_and_compact_formats_are_accepted_in_any_case() {
        let pretty = config(&[("ILEAPS_LOG_FORMAT", "Pretty")]).unwrap();
        assert_eq!(pretty.log_format, LogFormat::Pretty);
        let compact = config(&[("ILEAPS_LOG_FORMAT", "compact")]).unwrap();
        assert_eq!(compact.log_format, LogFormat::Compact);
    }

    #[test]
    fn an_unknown_log_format_is_an_error_naming_the_value() {
        let error = config(&[("ILEAPS_LOG_FORMAT", "xml")]).unwrap_err();
        assert!(matches!(error, TelemetryError::InvalidLogFormat { ref value } if value == "xml"));
        assert!(error.to_string().contains("ILEAPS_LOG_FORMAT=\"xml\""));
    }

    #[test]
    fn a_bad_filter_is_an_error_naming_the_variable() {
        let error = config(&[("RUST_LOG", "info,[[")]).unwrap_err();
        assert!(
            matches!(
                error,
                TelemetryError::InvalidFilter {
                    variable: "RUST_LOG",
                    ..
                }
            ),
            "{error:?}"
        );
        let error = config(&[("ILEAPS_TRACE_FILTER", "=wat=")]).unwrap_err();
        assert!(
            matches!(
                error,
                TelemetryError::InvalidFilter { variable: "ILEAPS_TRACE_FILTER", ref value, .. }
                    if value == "=wat="
            ),
            "{error:?}"
        );
    }
}
