//! Operator commands on `ileaps.admin.<service>.<command>`, served as a NATS
//! micro service (`nats micro ls` lists it) so operators need no database
//! credentials, only the right to publish under `ileaps.admin.>`.
//!
//! Every service serves the shared commands (`dlq.list`, `dlq.replay`,
//! `outbox.replay`) and may add its own (intake: `cities.import`, `cities.list`).
//! Requests and replies are JSON; a reply is `{"ok": ...}` or
//! `{"error": {"code": ..., "message": ...}}`.

use crate::dlq::{self, Selection};
use crate::outbox::Relay;
use async_nats::jetstream;
use async_nats::service::ServiceExt;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use contract::{Service, subjects};
use futures::stream::{SelectAll, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Why a command failed, as the operator sees it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AdminError {
    /// A stable code: `BAD_REQUEST`, `NOT_FOUND`, `UNAVAILABLE`, `INVALID`, ...
    pub code: String,
    pub message: String,
}

impl AdminError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new("BAD_REQUEST", message)
    }

    pub fn unavailable(error: &dyn std::error::Error) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::new("UNAVAILABLE", message)
    }
}

type CommandFuture = Pin<Box<dyn Future<Output = Result<Value, AdminError>> + Send>>;
type Command = Arc<dyn Fn(Bytes) -> CommandFuture + Send + Sync>;

/// The operator commands of one service.
#[derive(Clone)]
pub struct AdminCommands {
    service: Service,
    commands: BTreeMap<String, Command>,
}

impl std::fmt::Debug for AdminCommands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminCommands")
            .field("service", &self.service)
            .field("commands", &self.commands.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AdminCommands {
    /// The shared commands: dead letters and outbox replay.
    pub fn new(service: Service, js: jetstream::Context, relay: Relay) -> Self {
        let mut admin = Self {
            service,
            commands: BTreeMap::new(),
        };
        let list_js = js.clone();
        admin = admin.command("dlq.list", move |body| {
            let js = list_js.clone();
            async move {
                #[derive(Deserialize, Default)]
                struct Request {
                    limit: Option<usize>,
                }
                let request: Request = parse_or_default(&body)?;
                let letters = dlq::list(&js, service, request.limit.unwrap_or(100))
                    .await
                    .map_err(|e| AdminError::unavailable(&e))?;
                Ok(json!(letters))
            }
        });
        admin = admin.command("dlq.replay", move |body| {
            let js = js.clone();
            async move {
                #[derive(Deserialize, Default)]
                struct Request {
                    #[serde(default)]
                    all: bool,
                    #[serde(default)]
                    sequences: Vec<u64>,
                }
                let request: Request = parse_or_default(&body)?;
                let selection = match (request.all, request.sequences.is_empty()) {
                    (true, true) => Selection::All,
                    (false, false) => Selection::Sequences(request.sequences),
                    _ => {
                        return Err(AdminError::bad_request(
                            "give either \"all\": true or a list of \"sequences\"",
                        ));
                    }
                };
                let replayed =
                    dlq::replay(&js, service, &selection)
                        .await
                        .map_err(|e| match e {
                            dlq::DlqError::NotFound(..) => {
                                AdminError::new("NOT_FOUND", e.to_string())
                            }
                            other => AdminError::unavailable(&other),
                        })?;
                Ok(json!({ "replayed": replayed }))
            }
        });
        admin.command("outbox.replay", move |body| {
            let relay = relay.clone();
            async move {
                #[derive(Deserialize)]
                struct Request {
                    since: DateTime<Utc>,
                }
                let request: Request = serde_json::from_slice(&body).map_err(|e| {
                    AdminError::bad_request(format!(
                        "expected {{\"since\": \"<RFC 3339 time>\"}}: {e}"
                    ))
                })?;
                let republished = relay
                    .replay_since(request.since)
                    .await
                    .map_err(|e| AdminError::unavailable(&e))?;
                Ok(json!({ "republished": republished }))
            }
        })
    }

    /// Adds a service's own command, `ileaps.admin.<service>.<name>`.
    pub fn command<F, Fut>(mut self, name: &str, run: F) -> Self
    where
        F: Fn(Bytes) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, AdminError>> + Send + 'static,
    {
        self.commands.insert(
            name.to_owned(),
            Arc::new(move |body| Box::pin(run(body)) as CommandFuture),
        );
        self
    }

    /// Serves the commands until `shutdown`.
    pub async fn serve(
        self,
        client: async_nats::Client,
        shutdown: CancellationToken,
    ) -> Result<(), async_nats::Error> {
        let service = client
            .service_builder()
            .description(format!("ileaps {} operator commands", self.service))
            .start(
                format!("ileaps-{}-admin", self.service),
                env!("CARGO_PKG_VERSION"),
            )
            .await?;
        let group = service.group(subjects::admin_prefix(self.service));
        let mut endpoints = SelectAll::new();
        for (name, command) in &self.commands {
            let endpoint = group.endpoint(name.clone()).await?;
            let command = command.clone();
            endpoints.push(
                endpoint
                    .map(move |request| (command.clone(), request))
                    .boxed(),
            );
        }
        info!(service = %self.service, commands = ?self.commands.keys().collect::<Vec<_>>(), "serving operator commands");
        loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => break,
                next = endpoints.next() => next,
            };
            let Some((command, request)) = next else {
                break;
            };
            tokio::spawn(async move {
                let reply = match command(request.message.payload.clone()).await {
                    Ok(value) => json!({ "ok": value }),
                    Err(error) => {
                        json!({ "error": { "code": error.code, "message": error.message } })
                    }
                };
                if let Err(error) = request.respond(Ok(reply.to_string().into())).await {
                    warn!(%error, "could not answer an operator command");
                }
            });
        }
        let _ = service.stop().await;
        Ok(())
    }
}

fn parse_or_default<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> Result<T, AdminError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| AdminError::bad_request(e.to_string()))
}

/// How long `request` waits before asking again when nobody serves a command.
const NO_RESPONDERS_PAUSE: Duration = Duration::from_millis(100);

/// Sends an operator command and returns its `ok` value, for the CLI and tests.
/// Waits, within `timeout`, for a service that has not registered its
/// commands yet.
pub async fn request(
    client: &async_nats::Client,
    service: Service,
    command: &str,
    body: &Value,
    timeout: Duration,
) -> Result<Value, AdminError> {
    let subject = format!("{}.{command}", subjects::admin_prefix(service));
    let deadline = tokio::time::Instant::now() + timeout;
    let reply = loop {
        let attempt = tokio::time::timeout_at(
            deadline,
            client.request(subject.clone(), body.to_string().into()),
        )
        .await
        .map_err(|_| {
            AdminError::new(
                "TIMEOUT",
                format!(
                    "no answer on {subject} within {timeout:?}: is the {service} service running?"
                ),
            )
        })?;
        match attempt {
            Ok(reply) => break reply,
            // A service that is starting (or restarting) registers its
            // commands a moment after it connects: wait for it, within the
            // caller's timeout.
            Err(e)
                if e.kind() == async_nats::client::RequestErrorKind::NoResponders
                    && tokio::time::Instant::now() + NO_RESPONDERS_PAUSE < deadline =>
            {
                tokio::time::sleep(NO_RESPONDERS_PAUSE).await;
            }
            Err(e) => {
                return Err(AdminError::new(
                    "UNAVAILABLE",
                    format!("{subject}: {e} (is the {service} service running?)"),
                ));
            }
        }
    };
    let mut value: Value = serde_json::from_slice(&reply.payload)
        .map_err(|e| AdminError::new("BAD_REPLY", e.to_string()))?;
    if let Some(error) = value.get("error") {
        return Err(AdminError::new(
            error["code"].as_str().unwrap_or("ERROR"),
            error["message"].as_str().unwrap_or("").to_owned(),
        ));
    }
    Ok(value["ok"].take())
}
