//! The ceilings of QUALITY.md, measured in the same run on the same servers,
//! so the hop's speed can be read as a ratio rather than a raw figure.
//!
//! - `pg_commit_tps`: one connection, one-row `INSERT` per transaction (a
//!   single autocommit statement: one round trip and one WAL flush each),
//!   into a plain table of the bench database. Not a temporary table: those
//!   are not WAL-logged, so their commits skip the flush that is the cost
//!   being measured.
//! - `js_publish_rate`: async publish of 1 KiB payloads with `Nats-Msg-Id`
//!   set, to a file-backed bench stream, keeping 256 acks outstanding
//!   (awaiting the oldest before sending the next).
//!
//! Each runs for `--ceiling-secs` after a short warm-up; its table or stream
//! is removed afterwards.

use super::report::Progress;
use anyhow::{Context, Result};
use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};
use bytes::Bytes;
use sqlx::Connection;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Bytes of each message of `js_publish_rate`.
pub const PAYLOAD_BYTES: usize = 1024;
/// Publish acks outstanding at once in `js_publish_rate`.
pub const OUTSTANDING_ACKS: usize = 256;

const PG_WARM_UP: usize = 200;
const JS_WARM_UP: usize = 2_000;
const STREAM: &str = "BENCH_CEILING";
const SUBJECT: &str = "bench.ceiling";

/// What the ceilings came to.
#[derive(Debug, Clone)]
pub struct Ceilings {
    pub pg_commit_tps: f64,
    pub pg_commits: u64,
    pub pg_secs: f64,
    pub js_publish_rate: f64,
    pub js_messages: u64,
    pub js_secs: f64,
}

pub async fn measure(
    progress: &Progress,
    database_url: &str,
    js: &jetstream::Context,
    duration: Duration,
) -> Result<Ceilings> {
    let (pg_commits, pg_secs) = pg_commits(progress, database_url, duration)
        .await
        .context("measuring pg_commit_tps")?;
    let pg_commit_tps = rate(pg_commits, pg_secs);
    progress.line(format!(
        "  pg_commit_tps   {:>9.0} commits/s  ({pg_commits} in {pg_secs:.1} s)",
        pg_commit_tps
    ));
    let (js_messages, js_secs) = js_publishes(progress, js, duration)
        .await
        .context("measuring js_publish_rate")?;
    let js_publish_rate = rate(js_messages, js_secs);
    progress.line(format!(
        "  js_publish_rate {:>9.0} msgs/s     ({js_messages} in {js_secs:.1} s)",
        js_publish_rate
    ));
    Ok(Ceilings {
        pg_commit_tps,
        pg_commits,
        pg_secs,
        js_publish_rate,
        js_messages,
        js_secs,
    })
}

fn rate(count: u64, secs: f64) -> f64 {
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// One-row autocommit inserts on one connection for `duration`.
async fn pg_commits(progress: &Progress, url: &str, duration: Duration) -> Result<(u64, f64)> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::raw_sql(
        "CREATE TABLE bench_commit (
             id         bigserial   PRIMARY KEY,
             payload    text        NOT NULL,
             written_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .execute(&mut conn)
    .await?;
    const INSERT: &str = "INSERT INTO bench_commit (payload) VALUES ($1)";
    let payload = "a one-row transaction of the pg_commit_tps ceiling";
    for _ in 0..PG_WARM_UP {
        sqlx::query(INSERT).bind(payload).execute(&mut conn).await?;
    }
    let bar = progress.timed("pg_commit_tps", duration);
    let started = Instant::now();
    let mut commits = 0_u64;
    while started.elapsed() < duration {
        sqlx::query(INSERT).bind(payload).execute(&mut conn).await?;
        commits += 1;
        if commits.is_multiple_of(64) {
            bar.tick_to(started.elapsed(), commits, "commits");
        }
    }
    let secs = started.elapsed().as_secs_f64();
    bar.finish();
    sqlx::raw_sql("DROP TABLE bench_commit")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok((commits, secs))
}

/// Async publishes with [`OUTSTANDING_ACKS`] in flight for `duration`.
async fn js_publishes(
    progress: &Progress,
    js: &jetstream::Context,
    duration: Duration,
) -> Result<(u64, f64)> {
    js.create_stream(stream::Config {
        name: STREAM.to_owned(),
        subjects: vec![SUBJECT.to_owned()],
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await?;
    let mut window = AckWindow {
        js,
        payload: Bytes::from(vec![b'x'; PAYLOAD_BYTES]),
        pending: VecDeque::with_capacity(OUTSTANDING_ACKS),
        sent: 0,
    };
    for _ in 0..JS_WARM_UP {
        window.publish().await?;
    }
    let bar = progress.timed("js_publish_rate", duration);
    let started = Instant::now();
    let warm = window.sent;
    while started.elapsed() < duration {
        window.publish().await?;
        if window.sent.is_multiple_of(1024) {
            bar.tick_to(started.elapsed(), window.sent - warm, "messages");
        }
    }
    window.drain().await?;
    let secs = started.elapsed().as_secs_f64();
    bar.finish();
    js.delete_stream(STREAM).await?;
    Ok((window.sent - warm, secs))
}

/// Publishes with at most [`OUTSTANDING_ACKS`] acks in flight: the oldest is
/// awaited before another message goes out.
struct AckWindow<'a> {
    js: &'a jetstream::Context,
    payload: Bytes,
    pending: VecDeque<jetstream::context::PublishAckFuture>,
    sent: u64,
}

impl AckWindow<'_> {
    async fn publish(&mut self) -> Result<()> {
        if self.pending.len() >= OUTSTANDING_ACKS
            && let Some(oldest) = self.pending.pop_front()
        {
            oldest.await?;
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            contract::envelope::NATS_MSG_ID,
            format!("ceiling-{}", self.sent).as_str(),
        );
        let ack = self
            .js
            .publish_with_headers(SUBJECT, headers, self.payload.clone())
            .await?;
        self.pending.push_back(ack);
        self.sent += 1;
        Ok(())
    }

    async fn drain(&mut self) -> Result<()> {
        while let Some(ack) = self.pending.pop_front() {
            ack.await?;
        }
        Ok(())
    }
}
