//! [`StreamReader`]: what is in a JetStream stream, read from its start.

use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::{Ordered, OrderedConfig};
use async_nats::jetstream::{Context, Message};
use futures::StreamExt;
use std::fmt;
use std::time::Duration;

/// Reads a stream from its first message with an ordered consumer (ephemeral,
/// no acks, recreated by the client on gaps), on one filter subject. Reading
/// never changes what services see: it is an observer, like an integrator.
pub struct StreamReader {
    stream: String,
    filter: String,
    messages: Ordered,
}

impl fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamReader")
            .field("stream", &self.stream)
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl StreamReader {
    /// Panics if the stream does not exist or the consumer cannot be made.
    pub async fn new(js: &Context, stream: &str, filter_subject: &str) -> Self {
        let handle = js
            .get_stream(stream)
            .await
            .unwrap_or_else(|error| panic!("cannot read stream {stream}: {error}"));
        let consumer = handle
            .create_consumer(OrderedConfig {
                filter_subject: filter_subject.to_owned(),
                deliver_policy: DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .unwrap_or_else(|error| {
                panic!("cannot create a reader on {stream} for {filter_subject}: {error}")
            });
        let messages = consumer
            .messages()
            .await
            .unwrap_or_else(|error| panic!("cannot read {stream} for {filter_subject}: {error}"));
        Self {
            stream: stream.to_owned(),
            filter: filter_subject.to_owned(),
            messages,
        }
    }

    /// The next message; panics if none arrives within `deadline`.
    pub async fn next(&mut self, deadline: Duration) -> Message {
        match tokio::time::timeout(deadline, self.messages.next()).await {
            Ok(Some(Ok(message))) => message,
            Ok(Some(Err(error))) => panic!("reading {} failed: {error}", self.describe()),
            Ok(None) => panic!("{} ended", self.describe()),
            Err(_) => panic!(
                "timed out after {deadline:?} waiting for a message on {}",
                self.describe()
            ),
        }
    }

    /// The next message for which `pred` holds, skipping others; panics if
    /// none arrives within `deadline`, saying how many were skipped.
    pub async fn next_matching(
        &mut self,
        deadline: Duration,
        pred: impl Fn(&Message) -> bool,
    ) -> Message {
        let until = tokio::time::Instant::now() + deadline;
        let mut skipped = 0usize;
        loop {
            let remaining = until.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(remaining, self.messages.next()).await {
                Ok(Some(Ok(message))) if pred(&message) => return message,
                Ok(Some(Ok(_))) => skipped += 1,
                Ok(Some(Err(error))) => panic!("reading {} failed: {error}", self.describe()),
                Ok(None) => panic!("{} ended", self.describe()),
                Err(_) => panic!(
                    "timed out after {deadline:?} waiting for a matching message on {} ({skipped} others skipped)",
                    self.describe()
                ),
            }
        }
    }

    /// Every message until none arrives for `quiet`: what is there, to
    /// assert "exactly one" or "none".
    pub async fn collect_for(&mut self, quiet: Duration) -> Vec<Message> {
        let mut collected = Vec::new();
        loop {
            match tokio::time::timeout(quiet, self.messages.next()).await {
                Ok(Some(Ok(message))) => collected.push(message),
                Ok(Some(Err(error))) => panic!("reading {} failed: {error}", self.describe()),
                Ok(None) | Err(_) => return collected,
            }
        }
    }

    fn describe(&self) -> String {
        format!("stream {} (filter {})", self.stream, self.filter)
    }
}
