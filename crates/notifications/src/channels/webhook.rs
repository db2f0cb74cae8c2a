//! Webhooks: one signed POST to an integrator's endpoint (Standard Webhooks
//! headers, see [`crate::domain::signing`]).
//!
//! The sender resolves the host itself, refuses non-public addresses unless
//! the endpoint was registered with `allow_private`, and then connects to
//! exactly the addresses it checked: the HTTP client never asks DNS again, so
//! an answer that changes between the check and the connection (DNS
//! rebinding) cannot steer a request into the service's own network. For the
//! same reason no redirect is followed and no proxy is used.

use super::{ErrorClass, SendError};
use crate::domain::WebhookSecret;
use crate::domain::signing::{ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::domain::target::{TargetError, check_resolved, check_target_url};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tracing::Instrument as _;
use url::{Host, Url};

/// How long one attempt may take, connection and all, unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Sent as `User-Agent`, so integrators can tell our calls in their logs.
const USER_AGENT: &str = concat!("ileaps-notifications/", env!("CARGO_PKG_VERSION"));

/// Where one endpoint's webhooks go.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub url: Url,
    pub secret: WebhookSecret,
    /// The operator said private and loopback addresses are meant (a
    /// receiver in the same network, a test).
    pub allow_private: bool,
}

/// Sends webhooks, one attempt per [`send`](Self::send).
#[derive(Debug, Clone)]
pub struct WebhookSender {
    timeout: Duration,
}

impl WebhookSender {
    /// A sender whose attempts each end after `timeout` (e.g.
    /// [`DEFAULT_TIMEOUT`]).
    pub fn new(timeout: Duration) -> Self {
        WebhookSender { timeout }
    }

    /// One signed POST of `body` (JSON) to `target`. `webhook_id` is the
    /// same for every attempt of one notification; `timestamp` is this
    /// attempt's.
    ///
    /// 2xx is delivered. 410 Gone is a permanent refusal: the integrator
    /// removed the endpoint on purpose. Every other status is worth another
    /// try, 4xx included: a 401, 403 or 404 from a webhook endpoint is most
    /// often a receiver mid-deploy or a secret being rotated, which its owner
    /// fixes within the retry window (about a day); retries are bounded, so
    /// a truly broken endpoint costs a few requests and then
    /// `notification.failed`, while stopping at the first 4xx would lose
    /// notifications to a passing mistake. Redirects (3xx) are not followed
    /// (their target was never checked) and count as "not now" too.
    pub async fn send(
        &self,
        target: &WebhookTarget,
        webhook_id: &str,
        timestamp: DateTime<Utc>,
        body: &[u8],
    ) -> Result<(), SendError> {
        let span = request_span(&target.url);
        let attempt = self
            .attempt(target, webhook_id, timestamp, body)
            .instrument(span.clone());
        // The client's own timeout covers the request; this one covers the
        // resolution before it as well.
        let result = tokio::time::timeout(self.timeout, attempt)
            .await
            .unwrap_or_else(|_| Err(timed_out(self.timeout)));
        if let Err(error) = &result {
            span.record("error.type", error.class().as_str());
            span.record("otel.status_code", "ERROR");
        }
        result
    }

    async fn attempt(
        &self,
        target: &WebhookTarget,
        webhook_id: &str,
        timestamp: DateTime<Utc>,
        body: &[u8],
    ) -> Result<(), SendError> {
        let url =
            check_target_url(target.url.as_str(), target.allow_private).map_err(not_allowed)?;
        let addresses = resolve(&url).await?;
        let ips: Vec<IpAddr> = addresses.iter().map(SocketAddr::ip).collect();
        check_resolved(&ips, target.allow_private).map_err(not_allowed)?;
        let client = self.client_for(&url, &addresses)?;
        let timestamp = timestamp.timestamp();
        // W3C trace context of the request span, so the integrator's own
        // tracing can continue the enquiry's trace.
        let (traceparent, tracestate) = match telemetry::current_traceparent() {
            Some((parent, state)) => (Some(parent), state),
            None => (None, None),
        };
        let mut request = client.post(url);
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        if let Some(tracestate) = tracestate {
            request = request.header("tracestate", tracestate);
        }
        let response = request
            .header(CONTENT_TYPE, "application/json")
            .header(ID_HEADER, webhook_id)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(
                SIGNATURE_HEADER,
                target.secret.sign(webhook_id, timestamp, body),
            )
            .body(body.to_vec())
            .send()
            .await
            .map_err(|error| self.classify_request_error(error))?;
        tracing::Span::current().record("http.response.status_code", response.status().as_u16());
        classify_status(response.status())
    }

    /// A client that connects to `addresses` only, for this one request. A
    /// client per request is the price of pinning addresses per target;
    /// webhooks are few enough for it not to matter.
    fn client_for(
        &self,
        url: &Url,
        addresses: &[SocketAddr],
    ) -> Result<reqwest::Client, SendError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if let Some(Host::Domain(domain)) = url.host() {
            builder = builder.resolve_to_addrs(domain, addresses);
        }
        builder.build().map_err(|error| SendError::Transient {
            // Building fails only when TLS cannot be set up.
            class: ErrorClass::Tls,
            message: format!("could not set up the HTTP client: {error}"),
        })
    }

    /// Timeouts, TLS trouble and refused or broken connections are all
    /// worth another try. The URL is left out of the message.
    fn classify_request_error(&self, error: reqwest::Error) -> SendError {
        let error = error.without_url();
        if error.is_timeout() {
            return timed_out(self.timeout);
        }
        let class = if super::email::caused_by_tls(&error) {
            ErrorClass::Tls
        } else {
            ErrorClass::Connection
        };
        SendError::Transient {
            class,
            message: error_chain(&error),
        }
    }
}

/// The client span of one webhook request, per OpenTelemetry's HTTP
/// conventions: `POST`, kind client. Only the scheme, host and port of the
/// endpoint are recorded: its path and query may hold a token.
fn request_span(url: &Url) -> tracing::Span {
    tracing::info_span!(
        "POST",
        otel.kind = "client",
        http.request.method = "POST",
        url.scheme = url.scheme(),
        server.address = url.host_str().unwrap_or_default(),
        server.port = url.port_or_known_default().unwrap_or_default(),
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    )
}

/// Resolves `url`'s host to the socket addresses to connect to. An IP
/// literal is its own answer. Failing to resolve is transient: DNS hiccups
/// pass, and a name that is gone for good runs out of retries.
async fn resolve(url: &Url) -> Result<Vec<SocketAddr>, SendError> {
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> = match url.host() {
        Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(Host::Domain(domain)) => tokio::net::lookup_host((domain, port))
            .await
            .map_err(|error| SendError::Transient {
                class: ErrorClass::Connection,
                message: format!("could not resolve the webhook host {domain}: {error}"),
            })?
            .collect(),
        None => Vec::new(),
    };
    if addresses.is_empty() {
        return Err(SendError::Transient {
            class: ErrorClass::Connection,
            message: "the webhook host resolves to no address".to_owned(),
        });
    }
    Ok(addresses)
}

/// 2xx delivered; 410 stop; anything else try again (see
/// [`WebhookSender::send`] for why other 4xx are retried).
fn classify_status(status: StatusCode) -> Result<(), SendError> {
    if status.is_success() {
        Ok(())
    } else if status == StatusCode::GONE {
        Err(SendError::Permanent {
            class: ErrorClass::PermanentRefusal,
            message: format!("the endpoint answered {status}: it is gone"),
        })
    } else {
        Err(SendError::Transient {
            class: ErrorClass::TemporaryRefusal,
            message: format!("the endpoint answered {status}"),
        })
    }
}

fn not_allowed(error: TargetError) -> SendError {
    SendError::Permanent {
        class: ErrorClass::TargetNotAllowed,
        message: error.to_string(),
    }
}

fn timed_out(timeout: Duration) -> SendError {
    SendError::Transient {
        class: ErrorClass::Timeout,
        message: format!("no answer within {timeout:?}"),
    }
}

/// `error` and its sources, joined: reqwest's own message ("error sending
/// request") says little without them.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gone_stops_and_only_success_delivers() {
        let outcome = |code: u16| classify_status(StatusCode::from_u16(code).expect("valid"));
        for code in [200, 201, 202, 204] {
            assert_eq!(outcome(code), Ok(()), "{code}");
        }
        let gone = outcome(410).expect_err("410");
        assert!(gone.is_permanent());
        assert_eq!(gone.class(), ErrorClass::PermanentRefusal);
        for code in [301, 302, 400, 401, 403, 404, 408, 429, 500, 502, 503] {
            let error = outcome(code).expect_err("not delivered");
            assert!(!error.is_permanent(), "{code}");
            assert_eq!(error.class(), ErrorClass::TemporaryRefusal, "{code}");
        }
    }
}
