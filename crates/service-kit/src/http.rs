//! Owns the operations HTTP endpoint of a service: `/healthz`, `/readyz` and
//! `/metrics`. Nothing else is served: the services' real interface is NATS.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use telemetry::Metrics;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::health::Readiness;

/// The operations endpoint, bound but not yet serving.
///
/// Binding is separate from serving so the caller learns the real address
/// first: tests bind port 0 and ask [`local_addr`](Self::local_addr), and a
/// port already in use fails at start-up rather than inside a spawned task.
#[derive(Debug)]
pub struct HttpServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router,
}

#[derive(Clone, Debug)]
struct AppState {
    readiness: Readiness,
    metrics: Arc<Metrics>,
}

impl HttpServer {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(
        addr: SocketAddr,
        readiness: Readiness,
        metrics: Arc<Metrics>,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let router = Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics_page))
            .with_state(AppState { readiness, metrics });
        Ok(Self {
            listener,
            local_addr,
            router,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` is cancelled, then lets requests in flight
    /// finish. Pass a token that is cancelled after the service's work has
    /// drained if `/metrics` should stay up while it drains.
    pub async fn serve(self, shutdown: CancellationToken) -> io::Result<()> {
        tracing::info!(addr = %self.local_addr, "serving /healthz, /readyz and /metrics");
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
    }
}

/// Alive: the process answers. Deliberately checks nothing else, so an
/// outage of NATS or Postgres never gets a healthy process restarted.
async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.readiness.check().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(problems) => {
            let mut body = String::from("not ready:\n");
            for problem in problems {
                body.push_str("- ");
                body.push_str(&problem);
                body.push('\n');
            }
            (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
        }
    }
}

/// Prometheus text by default; OpenMetrics to scrapers that ask for it.
async fn metrics_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let wants_openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("application/openmetrics-text"));
    if wants_openmetrics {
        (
            [(header::CONTENT_TYPE, telemetry::OPENMETRICS_CONTENT_TYPE)],
            state.metrics.render_openmetrics(),
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_TYPE, telemetry::PROMETHEUS_CONTENT_TYPE)],
            state.metrics.render(),
        )
            .into_response()
    }
}
