//! What every test stands on: a broker, a database with a service schema, the
//! streams, and a handler that leaves a trace of each message it handles.

use async_nats::HeaderMap;
use async_nats::jetstream::{self, publish::PublishAck};
use contract::envelope::{self, Envelope};
use contract::{Service, subjects};
use messaging::consumer::ConsumerError;
use messaging::{
    ConsumerSpec, Delivery, Handler, HandlerError, Outbox, OutgoingMessage, Relay, RelaySettings,
    Schema, StreamSettings,
};
use sqlx::migrate::Migrator;
use sqlx::{PgConnection, Row};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use telemetry::Metrics;
use test_support::{TestDb, TestNats, eventually, test_db};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

/// How long anything the runtime does may take before a test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// How long a stream must stay silent before "that is all there is".
pub const QUIET: Duration = Duration::from_secs(1);

/// The service schema of these tests; the runtime's tables live in it.
pub const SCHEMA: &str = "svc_test";
/// No service migrations: only the messaging crate's own tables.
static NO_MIGRATIONS: Migrator = Migrator::DEFAULT;

/// The header that makes [`Recorder`] handlers refuse a message in tests that
/// need one message to fail.
pub const POISON: &str = "X-Test-Poison";

/// The event type of the events the tests' outbox writes.
pub const RECEIVED_V1: &str = "ileaps.enquiry.received.v1";

/// One test's broker, database and runtime pieces.
#[derive(Debug)]
pub struct Harness {
    /// Cancels consumers, relays and operator commands when the test ends,
    /// however it ends.
    _stop: DropGuard,
    pub shutdown: CancellationToken,
    pub nats: TestNats,
    pub db: TestDb,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub schema: Schema,
    pub outbox: Outbox,
    pub metrics: Arc<Metrics>,
}

impl Harness {
    /// A private nats-server with the contract's streams, and a fresh database
    /// with the `svc_test` schema migrated and an `effects` table for handlers.
    pub async fn start() -> Harness {
        let (nats, db) = tokio::join!(TestNats::start(), test_db());
        let schema = Schema::new(SCHEMA).expect("a valid schema name");
        messaging::migrate(&db.url, &schema, &NO_MIGRATIONS)
            .await
            .expect("the schema migrates");
        let client = nats.client().await;
        let js = nats.jetstream(client.clone());
        messaging::provision_streams(&js, &StreamSettings::default())
            .await
            .expect("the streams are provisioned");
        sqlx::raw_sql(&format!(
            "CREATE TABLE {SCHEMA}.effects (
                 n         bigserial PRIMARY KEY,
                 ce_id     text   NOT NULL,
                 body      text   NOT NULL,
                 delivered bigint NOT NULL,
                 tx        bigint NOT NULL
             )"
        ))
        .execute(&db.pool)
        .await
        .expect("the effects table is created");
        let shutdown = CancellationToken::new();
        Harness {
            _stop: shutdown.clone().drop_guard(),
            shutdown,
            nats,
            db,
            client,
            js,
            outbox: Outbox::new(schema.clone()),
            schema,
            metrics: Metrics::new(),
        }
    }

    /// A relay of the schema's outbox, polling often.
    pub fn relay(&self) -> Relay {
        self.relay_with(RelaySettings {
            poll_interval: Duration::from_millis(100),
            ..RelaySettings::default()
        })
    }

    /// A relay of the schema's outbox with these settings.
    pub fn relay_with(&self, settings: RelaySettings) -> Relay {
        Relay::new(
            self.outbox.clone(),
            Service::Intake,
            self.db.pool.clone(),
            self.js.clone(),
            settings,
            self.metrics.clone(),
        )
    }

    /// `ileaps_outbox_backlog_rows{service="intake"}` as last reported, if ever.
    pub fn reported_backlog(&self) -> Option<i64> {
        self.metrics
            .render()
            .lines()
            .find(|line| line.starts_with(r#"ileaps_outbox_backlog_rows{service="intake"}"#))
            .and_then(|line| line.rsplit(' ').next()?.parse().ok())
    }

    /// Runs a consumer until the test ends.
    pub fn spawn_consumer<H: Handler>(
        &self,
        spec: ConsumerSpec,
        handler: Arc<H>,
    ) -> JoinHandle<Result<(), ConsumerError>> {
        self.spawn_consumer_on(spec, handler, self.db.pool.clone(), self.shutdown.clone())
    }

    /// Runs a consumer on `pool` until `shutdown`.
    pub fn spawn_consumer_on<H: Handler>(
        &self,
        spec: ConsumerSpec,
        handler: Arc<H>,
        pool: sqlx::PgPool,
        shutdown: CancellationToken,
    ) -> JoinHandle<Result<(), ConsumerError>> {
        let schema = self.schema.clone();
        let js = self.js.clone();
        let metrics = self.metrics.clone();
        tokio::spawn(async move {
            messaging::run_consumer(spec, handler, &schema, pool, js, metrics, shutdown).await
        })
    }

    /// Publishes to JetStream and waits for its ack.
    pub async fn publish(&self, subject: &str, headers: HeaderMap, body: &[u8]) -> PublishAck {
        self.js
            .publish_with_headers(subject.to_owned(), headers, body.to_vec().into())
            .await
            .unwrap_or_else(|error| panic!("publishing to {subject} failed: {error}"))
            .await
            .unwrap_or_else(|error| panic!("no JetStream ack for {subject}: {error}"))
    }

    /// Writes events into the outbox in one committed transaction, and
    /// returns their ce-ids.
    pub async fn enqueue(&self, messages: Vec<OutgoingMessage>) -> Vec<String> {
        let ids = messages.iter().map(|m| m.envelope.id.clone()).collect();
        let mut tx = self.db.pool.begin().await.expect("a transaction");
        self.outbox
            .enqueue_all(&mut tx, messages)
            .await
            .expect("the outbox takes the events");
        tx.commit().await.expect("the transaction commits");
        ids
    }

    /// `(ce-id, published)` of every outbox row, in the order written.
    pub async fn outbox_rows(&self) -> Vec<(String, bool)> {
        sqlx::query(&format!(
            "SELECT id, published FROM ( \
               SELECT seq, id, false AS published FROM {SCHEMA}.outbox \
               UNION ALL SELECT seq, id, true FROM {SCHEMA}.outbox_published \
             ) AS rows ORDER BY seq"
        ))
        .fetch_all(&self.db.pool)
        .await
        .expect("the outbox is readable")
        .into_iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
    }

    /// What handlers wrote and committed, in the order written.
    pub async fn effects(&self) -> Vec<Effect> {
        sqlx::query(&format!(
            "SELECT ce_id, body, delivered, tx FROM {SCHEMA}.effects ORDER BY n"
        ))
        .fetch_all(&self.db.pool)
        .await
        .expect("the effects are readable")
        .into_iter()
        .map(|row| Effect {
            ce_id: row.get(0),
            body: row.get(1),
            delivered: row.get(2),
            tx: row.get(3),
        })
        .collect()
    }

    /// Messages of `consumer` that ended in `outcome`, per the metrics.
    pub fn consumed(&self, consumer: &str, outcome: &str) -> u64 {
        consumed(&self.metrics.render(), consumer, outcome)
    }

    /// Waits until the metrics count at least `n` messages of `consumer`
    /// that ended in `outcome`.
    pub async fn wait_consumed(&self, consumer: &str, outcome: &str, n: u64) {
        eventually(
            &format!("{n} message(s) of consumer {consumer} to end {outcome}"),
            DEADLINE,
            || async move { (self.consumed(consumer, outcome) >= n).then_some(()) },
        )
        .await;
    }

    /// How many messages a stream holds now.
    pub async fn stream_messages(&self, stream: &str) -> u64 {
        self.js
            .get_stream(stream)
            .await
            .unwrap_or_else(|error| panic!("stream {stream}: {error}"))
            .get_info()
            .await
            .unwrap_or_else(|error| panic!("stream {stream} info: {error}"))
            .state
            .messages
    }
}

/// `ileaps_messages_consumed_total{service="...",consumer="<consumer>",outcome="<outcome>"}`
/// in a Prometheus text page, 0 when absent.
pub fn consumed(page: &str, consumer: &str, outcome: &str) -> u64 {
    let labels = format!("consumer=\"{consumer}\",outcome=\"{outcome}\"}}");
    page.lines()
        .filter(|line| {
            line.starts_with("ileaps_messages_consumed_total{") && line.contains(&labels)
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|value| value as u64)
        .sum()
}

/// One row a [`Recorder`] committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    pub ce_id: String,
    pub body: String,
    /// The delivery count of the attempt that committed.
    pub delivered: i64,
    /// The Postgres transaction it committed in.
    pub tx: i64,
}

/// What a [`Recorder`] does after writing its row: succeed, or fail.
pub type Verdict = Box<dyn Fn(&Delivery) -> Result<(), HandlerError> + Send + Sync>;

/// A handler that writes one `effects` row per message in the batch's
/// transaction, then asks its verdict whether to succeed. A failure must
/// undo that row (the message's savepoint); a redelivery must not add one
/// (the inbox).
pub struct Recorder {
    verdict: Verdict,
    /// Writes a row the database refuses (a NULL body) for poisoned messages.
    refuse_poison_in_database: bool,
    /// Holds the first call, its transaction open, until [`Recorder::release`].
    gate: Option<Semaphore>,
    attempts: Mutex<Vec<Attempt>>,
    commits: AtomicUsize,
}

/// One call of [`Recorder::handle`].
#[derive(Debug, Clone)]
pub struct Attempt {
    pub ce_id: String,
    pub delivered: i64,
    pub tx: i64,
    pub succeeded: bool,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("attempts", &self.attempts())
            .finish_non_exhaustive()
    }
}

impl Recorder {
    pub fn new(
        verdict: impl Fn(&Delivery) -> Result<(), HandlerError> + Send + Sync + 'static,
    ) -> Arc<Recorder> {
        Arc::new(Recorder {
            verdict: Box::new(verdict),
            refuse_poison_in_database: false,
            gate: None,
            attempts: Mutex::new(Vec::new()),
            commits: AtomicUsize::new(0),
        })
    }

    /// Succeeds with every message.
    pub fn succeeding() -> Arc<Recorder> {
        Self::new(|_| Ok(()))
    }

    /// For poisoned messages, writes a row the database refuses (a NOT NULL
    /// violation), which aborts the transaction until its savepoint is
    /// rolled back; succeeds with the others.
    pub fn refused_by_the_database_when_poisoned() -> Arc<Recorder> {
        Arc::new(Recorder {
            verdict: Box::new(|_| Ok(())),
            refuse_poison_in_database: true,
            gate: None,
            attempts: Mutex::new(Vec::new()),
            commits: AtomicUsize::new(0),
        })
    }

    /// Succeeds with every message, but holds the first one (its batch's
    /// transaction open) until [`release`](Self::release).
    pub fn stalling_on_the_first_message() -> Arc<Recorder> {
        Arc::new(Recorder {
            verdict: Box::new(|_| Ok(())),
            refuse_poison_in_database: false,
            gate: Some(Semaphore::new(0)),
            attempts: Mutex::new(Vec::new()),
            commits: AtomicUsize::new(0),
        })
    }

    /// Lets a stalled first call finish.
    pub fn release(&self) {
        if let Some(gate) = &self.gate {
            gate.add_permits(1);
        }
    }

    /// Every call so far, in order.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.attempts.lock().expect("not poisoned").clone()
    }

    /// Batches committed so far.
    pub fn commits(&self) -> usize {
        self.commits.load(Ordering::SeqCst)
    }
}

impl Handler for Recorder {
    async fn handle(&self, tx: &mut PgConnection, delivery: &Delivery) -> Result<(), HandlerError> {
        let ce_id = delivery
            .envelope
            .as_ref()
            .map(|e| e.id.clone())
            .unwrap_or_default();
        let txid: i64 = sqlx::query_scalar("SELECT txid_current()")
            .fetch_one(&mut *tx)
            .await?;
        let refused = self.refuse_poison_in_database && is_poisoned(delivery);
        let body = (!refused).then(|| String::from_utf8_lossy(&delivery.payload).into_owned());
        let written = sqlx::query(&format!(
            "INSERT INTO {SCHEMA}.effects (ce_id, body, delivered, tx) VALUES ($1, $2, $3, $4)"
        ))
        .bind(&ce_id)
        .bind(body)
        .bind(delivery.delivered)
        .bind(txid)
        .execute(&mut *tx)
        .await;
        let verdict = match written {
            Ok(_) => (self.verdict)(delivery),
            Err(error) => Err(HandlerError::from(error)),
        };
        let first = {
            let mut attempts = self.attempts.lock().expect("not poisoned");
            attempts.push(Attempt {
                ce_id,
                delivered: delivery.delivered,
                tx: txid,
                succeeded: verdict.is_ok(),
            });
            attempts.len() == 1
        };
        if first && let Some(gate) = &self.gate {
            gate.acquire().await.expect("the gate stays open").forget();
        }
        verdict
    }

    fn committed(&self) {
        self.commits.fetch_add(1, Ordering::SeqCst);
    }
}

/// Whether a delivery carries the [`POISON`] header.
pub fn is_poisoned(delivery: &Delivery) -> bool {
    envelope::header(delivery.headers.as_ref(), POISON).is_some()
}

/// An `ileaps.enquiry.received.v1` event from intake about enquiry `n`.
pub fn received_event(n: u32) -> OutgoingMessage {
    OutgoingMessage {
        envelope: Envelope::new(Service::Intake, RECEIVED_V1, format!("enquiry-{n}")),
        subject: subjects::ENQUIRY_RECEIVED.to_owned(),
        body: format!(r#"{{"n":{n}}}"#).into_bytes(),
    }
}

/// The consumer intake runs on partner cities' enquiries.
pub fn inbound_consumer() -> ConsumerSpec {
    ConsumerSpec::new(
        Service::Intake,
        "enquiries",
        subjects::STREAM_INBOUND,
        subjects::INBOUND_ALL,
    )
}

/// A downstream consumer of intake's `enquiry.received` events.
pub fn received_consumer() -> ConsumerSpec {
    ConsumerSpec::new(
        Service::Scheduling,
        "enquiries-received",
        subjects::STREAM_EVENTS,
        subjects::ENQUIRY_RECEIVED,
    )
}

/// The ce-ids of messages, in stream order.
pub fn ce_ids(messages: &[jetstream::Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            envelope::header(m.headers.as_ref(), envelope::ID)
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

/// A header of a message, or a failure naming it.
pub fn header<'a>(message: &'a jetstream::Message, name: &str) -> &'a str {
    envelope::header(message.headers.as_ref(), name)
        .unwrap_or_else(|| panic!("the message has no {name} header: {:?}", message.headers))
}
