//! Reading the programme's streams from the command line: `tail`, the demo's
//! live view, and `submit --wait`.

use anyhow::{Context, Result};
use async_nats::jetstream::{self, consumer::DeliverPolicy, consumer::pull};
use contract::{envelope, subjects};
use futures::StreamExt;
use serde_json::Value;

/// The stream that holds a subject, from the contract's prefixes.
pub fn stream_for(subject: &str) -> Result<&'static str> {
    let stream = [
        ("ileaps.inbound.", subjects::STREAM_INBOUND),
        ("ileaps.events.", subjects::STREAM_EVENTS),
        ("ileaps.internal.", subjects::STREAM_INTERNAL),
        ("ileaps.outbound.", subjects::STREAM_OUTBOUND),
        ("ileaps.dlq.", subjects::STREAM_DLQ),
    ]
    .into_iter()
    .find(|(prefix, _)| subject.starts_with(prefix))
    .map(|(_, stream)| stream);
    stream.with_context(|| {
        format!(
            "{subject:?} is in none of the programme's streams; subjects start with \
             ileaps.events., ileaps.inbound., ileaps.internal., ileaps.outbound. or ileaps.dlq."
        )
    })
}

/// An ordered, ephemeral reader of one subject filter.
pub async fn reader(
    js: &jetstream::Context,
    subject: &str,
    from_start: bool,
) -> Result<jetstream::consumer::pull::Ordered> {
    let stream_name = stream_for(subject)?;
    let stream = js
        .get_stream(stream_name)
        .await
        .with_context(|| format!("stream {stream_name} is not there: is ileaps running?"))?;
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: subject.to_owned(),
            deliver_policy: if from_start {
                DeliverPolicy::All
            } else {
                DeliverPolicy::New
            },
            ..Default::default()
        })
        .await
        .with_context(|| format!("could not read {subject}"))?;
    consumer
        .messages()
        .await
        .with_context(|| format!("could not read {subject}"))
}

/// One line a person can read: time, event type, what it is about, and the
/// body's main fields.
pub fn describe(message: &async_nats::Message) -> String {
    let headers = message.headers.as_ref();
    let time = envelope::header(headers, envelope::TIME).unwrap_or("-");
    let ce_type = envelope::header(headers, envelope::TYPE).unwrap_or("(no ce-type)");
    let body: Value = serde_json::from_slice(&message.payload).unwrap_or(Value::Null);
    format!("{time}  {:<34} {}", short_type(ce_type), summary(&body))
}

fn short_type(ce_type: &str) -> &str {
    ce_type
        .strip_prefix("ileaps.")
        .and_then(|t| t.strip_suffix(".v1"))
        .unwrap_or(ce_type)
}

/// The fields worth a glance, in a stable order.
pub fn summary(body: &Value) -> String {
    const KEYS: [&str; 12] = [
        "city",
        "reference",
        "kind",
        "topics",
        "priority",
        "workshopId",
        "version",
        "reasonCode",
        "participants",
        "enquiryId",
        "experts",
        "cities",
    ];
    let mut parts = Vec::new();
    for key in KEYS {
        match body.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(Value::Array(a)) if a.is_empty() => {}
            Some(Value::Bool(false)) => {}
            Some(Value::String(s)) => parts.push(format!("{key}={s}")),
            Some(other) => parts.push(format!("{key}={other}")),
        }
    }
    if let Some(reasons) = body.get("reasons").and_then(Value::as_array) {
        let codes: Vec<String> = reasons
            .iter()
            .map(|r| {
                let code = r["code"].as_str().unwrap_or("?");
                match r["field"].as_str() {
                    Some(field) if !field.is_empty() => format!("{code}({field})"),
                    _ => code.to_owned(),
                }
            })
            .collect();
        parts.push(format!("reasons={}", codes.join(",")));
    }
    parts.join(" ")
}

/// Follows a subject and prints each message until Ctrl-C.
pub async fn tail(js: &jetstream::Context, subject: &str, from_start: bool) -> Result<()> {
    let mut messages = reader(js, subject, from_start).await?;
    eprintln!("following {subject} (Ctrl-C to stop)");
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            next = messages.next() => match next {
                Some(Ok(message)) => println!("{}", describe(&message)),
                Some(Err(error)) => eprintln!("read error: {error}"),
                None => return Ok(()),
            }
        }
    }
}
