//! An integrator reading the programme's events with async-nats.
//!
//! Reads the stream `ILEAPS_EVENTS` (subjects `ileaps.events.>`) with a
//! durable pull consumer, prints one line per event and acknowledges it:
//!
//! ```text
//! <ce-type> <ce-id> <subject>
//! ```
//!
//! Run it (see `docs/integrators.md`):
//!
//! ```sh
//! NATS_URL=nats://127.0.0.1:4222 cargo run -p ileaps-tests --example integrator -- my-reader
//! NATS_USER=integrator NATS_PASSWORD=... cargo run -p ileaps-tests --example integrator -- my-reader --max 10
//! ```
//!
//! - `CONSUMER` (or `INTEGRATOR_CONSUMER`): the durable consumer's name. The
//!   server remembers what it acknowledged, so a second run with the same name
//!   goes on where the first stopped; a new name reads from the start again.
//! - `--max N`: stop after N events (default: run until interrupted).
//! - `--from-seq N`: a new consumer starts at stream sequence N instead of the
//!   first event (an existing consumer keeps its position).
//! - `NATS_URL` (default `nats://127.0.0.1:4222`), `NATS_USER` and
//!   `NATS_PASSWORD` (the deployment's read-only user is `integrator`).
//!
//! It depends only on async-nats, tokio, futures and anyhow: nothing of this
//! project, so an integrator can copy it as it is.

use anyhow::{Context as _, bail};
use async_nats::jetstream::{self, consumer::AckPolicy, consumer::DeliverPolicy, consumer::pull};
use futures::StreamExt as _;
use std::time::Duration;

const STREAM: &str = "ILEAPS_EVENTS";
const SUBJECTS: &str = "ileaps.events.>";
/// Events asked for in one pull request.
const BATCH: usize = 100;

#[derive(Debug)]
struct Args {
    url: String,
    user: Option<String>,
    password: Option<String>,
    consumer: String,
    max: Option<usize>,
    from_seq: Option<u64>,
}

fn args() -> anyhow::Result<Args> {
    let mut consumer = std::env::var("INTEGRATOR_CONSUMER").ok();
    let mut max = None;
    let mut from_seq = None;
    let mut rest = std::env::args().skip(1);
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--max" => {
                let n = rest.next().context("--max needs a number")?;
                max = Some(n.parse().with_context(|| format!("--max {n}"))?);
            }
            "--from-seq" => {
                let n = rest.next().context("--from-seq needs a number")?;
                from_seq = Some(n.parse().with_context(|| format!("--from-seq {n}"))?);
            }
            "-h" | "--help" => {
                println!("usage: integrator CONSUMER [--max N] [--from-seq N]");
                std::process::exit(0);
            }
            other if other.starts_with('-') => bail!("unknown option {other}"),
            name => consumer = Some(name.to_owned()),
        }
    }
    Ok(Args {
        url: std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into()),
        user: std::env::var("NATS_USER").ok(),
        password: std::env::var("NATS_PASSWORD").ok(),
        consumer: consumer.context(
            "usage: integrator CONSUMER [--max N] [--from-seq N] (or INTEGRATOR_CONSUMER)",
        )?,
        max,
        from_seq,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;

    let mut options = async_nats::ConnectOptions::new();
    if let (Some(user), Some(password)) = (args.user.clone(), args.password.clone()) {
        // A restricted user may only receive on its own inbox prefix: the
        // replies to its JetStream requests and the events it pulls arrive there.
        options = options
            .custom_inbox_prefix(format!("_INBOX.{user}"))
            .user_and_password(user, password);
    }
    let client = options
        .connect(&args.url)
        .await
        .with_context(|| format!("connecting to {}", args.url))?;
    let js = jetstream::new(client);

    // Only the stream's info is needed: no stream lookup by subject.
    let stream = js
        .get_stream(STREAM)
        .await
        .with_context(|| format!("stream {STREAM}"))?;
    let deliver_policy = match args.from_seq {
        Some(start_sequence) => DeliverPolicy::ByStartSequence { start_sequence },
        None => DeliverPolicy::All,
    };
    // Created on the first run, found again on the next ones.
    let consumer = stream
        .get_or_create_consumer(
            &args.consumer,
            pull::Config {
                durable_name: Some(args.consumer.clone()),
                filter_subject: SUBJECTS.into(),
                deliver_policy,
                ack_policy: AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                ..Default::default()
            },
        )
        .await
        .with_context(|| format!("consumer {} on {STREAM}", args.consumer))?;

    let mut seen = 0;
    while args.max.is_none_or(|max| seen < max) {
        // Never ask for more than is still wanted: an event pulled but not
        // acknowledged would wait `ack_wait` before the next run gets it.
        let wanted = args.max.map_or(BATCH, |max| (max - seen).min(BATCH));
        let mut batch = consumer
            .batch()
            .max_messages(wanted)
            .expires(Duration::from_secs(5))
            .messages()
            .await
            .context("pulling events")?;
        while let Some(message) = batch.next().await {
            let message = message.map_err(|e| anyhow::anyhow!("pulling events: {e}"))?;
            let header = |name: &str| {
                message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(name))
                    .map_or("-", |v| v.as_str())
                    .to_owned()
            };
            println!(
                "{} {} {}",
                header("ce-type"),
                header("ce-id"),
                message.subject
            );
            // The body is the event itself, proto3 JSON: parse it here as your
            // application needs (serde_json, or the types generated from
            // proto/). Then acknowledge, and wait until the server has it.
            message
                .double_ack()
                .await
                .map_err(|e| anyhow::anyhow!("acknowledging: {e}"))?;
            seen += 1;
        }
    }
    Ok(())
}
