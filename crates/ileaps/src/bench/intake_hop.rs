//! The intake hop: cities publishing enquiries as fast as they can, until
//! every message's outcome is on `ILEAPS_EVENTS`.
//!
//! - Cities `bench-city-000`, `-001`, … are registered through intake's
//!   `cities.import` operator command, as an operator would.
//! - Every enquiry is planned before the clock starts: its city, its
//!   CloudEvents envelope (so its `ce-id` is known to the outcome reader in
//!   advance), its body and whether it is valid. Bodies vary like real ones
//!   (kinds, 1-3 topics, windows over the coming year, participants,
//!   formats, languages, some descriptions); references are distinct. An
//!   evenly spread `--invalid-ratio` of them break one rule each (a window in
//!   the past, an unknown topic, a workshop without participants, a body that
//!   is not JSON, another city's code) and must be rejected.
//! - One task per city publishes its share with async publishes, keeping a
//!   window of acks in flight, `ce-time` stamped just before each publish.
//! - An ordered consumer on `ileaps.events.enquiry.>` matches each outcome to
//!   its message by `inboundId` until every message has one. No outcome for
//!   30 s is a failure; so is a duplicate, a valid enquiry rejected or an
//!   invalid one accepted, or a dead letter.
//!
//! **Throughput** runs from the first publish to the JetStream timestamp of
//! the last outcome. **Latency** is per message, from its `ce-time` (set just
//! before it is published) to the time JetStream stored its outcome on
//! `ILEAPS_EVENTS` (the message's stream timestamp, not the time this process
//! read it, so a slow reader does not count). All publishes start at once, so
//! these latencies are those of a saturated system: mostly queueing.

use super::report::Progress;
use anyhow::{Context, Result, bail};
use async_nats::jetstream;
use bytes::Bytes;
use chrono::{Days, NaiveDate, Utc};
use contract::event_types::ENQUIRY_SUBMIT;
use contract::{CityCode, Envelope, Service, subjects};
use futures::StreamExt;
use messaging::admin;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// No new outcome for this long: the hop is stuck.
const STALL: Duration = Duration::from_secs(30);
/// After the last expected outcome, how long to keep reading for duplicates.
const DUPLICATE_GRACE: Duration = Duration::from_secs(1);
/// Acks in flight across all cities; each city gets its share.
const ACKS_IN_FLIGHT: usize = 2_048;

#[derive(Debug, Clone)]
pub struct HopOptions {
    pub enquiries: usize,
    pub cities: usize,
    pub invalid_ratio: f64,
    /// Makes this run's references new (digits only).
    pub run_tag: String,
}

/// Latency percentiles, milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    fn of(mut values: Vec<f64>) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let rank = (q * values.len() as f64).ceil() as usize;
            values[rank.clamp(1, values.len()) - 1]
        };
        Self {
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: values[values.len() - 1],
        }
    }
}

/// What the hop came to.
#[derive(Debug, Clone, Default)]
pub struct HopResult {
    pub enquiries: usize,
    pub cities: usize,
    pub valid: usize,
    pub invalid: usize,
    pub received: usize,
    pub rejected: usize,
    /// Messages without an outcome when reading stopped.
    pub missing: usize,
    /// Outcomes beyond the first for a message.
    pub duplicates: usize,
    /// Valid enquiries rejected or invalid ones received.
    pub wrong: usize,
    /// Outcomes about messages this run did not send.
    pub foreign: usize,
    /// Messages on `ILEAPS_DLQ` at the end.
    pub dead_letters: u64,
    /// First publish to the last outcome stored.
    pub wall_secs: f64,
    /// First publish to the last publish acknowledged.
    pub publish_secs: f64,
    pub latency_ms: Percentiles,
    /// A few examples of what went wrong, for the error message.
    pub examples: Vec<String>,
}

impl HopResult {
    /// Every outcome (received or rejected) per second: the hop's throughput.
    pub fn enquiries_per_s(&self) -> f64 {
        per_s(self.received + self.rejected, self.wall_secs)
    }

    /// Accepted enquiries (`enquiry.received`) per second.
    pub fn accepted_per_s(&self) -> f64 {
        per_s(self.received, self.wall_secs)
    }

    pub fn publish_per_s(&self) -> f64 {
        per_s(self.enquiries, self.publish_secs)
    }

    /// Why the run was not correct; empty when it was.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.missing > 0 {
            problems.push(format!(
                "{} of {} messages had no outcome after {}s without progress",
                self.missing,
                self.enquiries,
                STALL.as_secs()
            ));
        }
        if self.duplicates > 0 {
            problems.push(format!("{} duplicate outcomes", self.duplicates));
        }
        if self.wrong > 0 {
            problems.push(format!("{} wrong outcomes", self.wrong));
        }
        if self.dead_letters > 0 {
            problems.push(format!("{} dead letters", self.dead_letters));
        }
        if !self.examples.is_empty() {
            problems.push(format!("e.g. {}", self.examples.join(" | ")));
        }
        problems
    }
}

fn per_s(count: usize, secs: f64) -> f64 {
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// One planned message.
#[derive(Debug)]
struct Planned {
    envelope: Envelope,
    body: Bytes,
    valid: bool,
}

/// Registers the cities, plans and publishes the enquiries, waits for every
/// outcome.
pub async fn run(
    progress: &Progress,
    client: &async_nats::Client,
    js: &jetstream::Context,
    options: &HopOptions,
) -> Result<HopResult> {
    let codes: Vec<CityCode> = (0..options.cities)
        .map(|i| CityCode::parse(&city_code(i)))
        .collect::<Result<_, _>>()?;
    register_cities(client, options.cities).await?;
    progress.line(format!(
        "  registered {} cities; planning {} enquiries ({:.1} % invalid)",
        options.cities,
        options.enquiries,
        options.invalid_ratio * 100.0
    ));

    let today = Utc::now().date_naive();
    let mut per_city: Vec<Vec<(usize, Planned)>> =
        (0..options.cities).map(|_| Vec::new()).collect();
    let mut ids = HashMap::with_capacity(options.enquiries);
    let mut valid = Vec::with_capacity(options.enquiries);
    for index in 0..options.enquiries {
        let city = index % options.cities;
        let planned = plan(index, &codes, city, options, today);
        ids.insert(planned.envelope.id.clone(), index);
        valid.push(planned.valid);
        per_city[city].push((index, planned));
    }

    // Reading starts before the first publish, from the start of the (fresh)
    // stream, so no outcome can be missed.
    let messages = crate::events::reader(js, "ileaps.events.enquiry.>", true).await?;
    let (publish_bar, outcome_bar) = progress.hop_bars(options.enquiries as u64);
    let reader = tokio::spawn(read_outcomes(messages, ids, valid.clone(), outcome_bar));

    let window = (ACKS_IN_FLIGHT / options.cities).clamp(8, 256);
    let mut publishers = Vec::with_capacity(options.cities);
    for (city, items) in codes.iter().zip(per_city) {
        publishers.push(tokio::spawn(publish_city(
            js.clone(),
            subjects::inbound_enquiry(city),
            items,
            window,
            publish_bar.clone(),
        )));
    }
    let mut published_at = vec![0_i128; options.enquiries];
    let mut last_ack = i128::MIN;
    for publisher in publishers {
        let (times, acked) = publisher.await.context("a publisher panicked")??;
        for (index, at) in times {
            published_at[index] = at;
        }
        last_ack = last_ack.max(acked);
    }
    publish_bar.finish();
    let outcomes = reader.await.context("the outcome reader panicked")??;

    let dead_letters = js
        .get_stream(subjects::STREAM_DLQ)
        .await
        .map(|stream| stream.cached_info().state.messages)
        .unwrap_or(0);
    Ok(summarise(
        options,
        &valid,
        &published_at,
        last_ack,
        outcomes,
        dead_letters,
    ))
}

fn summarise(
    options: &HopOptions,
    valid: &[bool],
    published_at: &[i128],
    last_ack: i128,
    outcomes: Outcomes,
    dead_letters: u64,
) -> HopResult {
    let mut result = HopResult {
        enquiries: options.enquiries,
        cities: options.cities,
        valid: valid.iter().filter(|v| **v).count(),
        invalid: valid.iter().filter(|v| !**v).count(),
        duplicates: outcomes.duplicates,
        foreign: outcomes.foreign,
        dead_letters,
        examples: outcomes.examples,
        ..HopResult::default()
    };
    let first_publish = published_at.iter().copied().min().unwrap_or(0);
    let mut last_outcome = first_publish;
    let mut latencies = Vec::with_capacity(valid.len());
    for (index, outcome) in outcomes.first.iter().enumerate() {
        let Some((kind, stored_at)) = outcome else {
            result.missing += 1;
            continue;
        };
        match kind {
            Kind::Received => result.received += 1,
            Kind::Rejected => result.rejected += 1,
            Kind::Other => {}
        }
        let expected = if valid[index] {
            Kind::Received
        } else {
            Kind::Rejected
        };
        if *kind != expected {
            result.wrong += 1;
        }
        last_outcome = last_outcome.max(*stored_at);
        latencies.push((stored_at - published_at[index]).max(0) as f64 / 1e6);
    }
    if result.missing > 0 && result.examples.len() < 3 {
        result.examples.push(format!(
            "{} messages without an outcome (dead letters: {dead_letters})",
            result.missing
        ));
    }
    result.wall_secs = (last_outcome - first_publish) as f64 / 1e9;
    result.publish_secs = (last_ack - first_publish).max(0) as f64 / 1e9;
    result.latency_ms = Percentiles::of(latencies);
    result
}

fn city_code(i: usize) -> String {
    format!("bench-city-{i:03}")
}

/// Where the bench cities are, and what they speak.
const PLACES: [(&str, &str, &str); 9] = [
    ("ID", "Asia/Makassar", "id"),
    ("LK", "Asia/Colombo", "si"),
    ("MV", "Indian/Maldives", "dv"),
    ("IN", "Asia/Kolkata", "hi"),
    ("VN", "Asia/Ho_Chi_Minh", "vi"),
    ("NP", "Asia/Kathmandu", "ne"),
    ("BD", "Asia/Dhaka", "bn"),
    ("PH", "Asia/Manila", "tl"),
    ("MN", "Asia/Ulaanbaatar", "mn"),
];

fn place(city: usize) -> (&'static str, &'static str, &'static str) {
    PLACES[city % PLACES.len()]
}

async fn register_cities(client: &async_nats::Client, count: usize) -> Result<()> {
    let cities: Vec<Value> = (0..count)
        .map(|i| {
            let (country, time_zone, language) = place(i);
            json!({
                "code": city_code(i),
                "name": format!("Bench City {i:03}"),
                "country": country,
                "timeZone": time_zone,
                "beneficiary": i % 4 == 0,
                "languages": [language],
                "contact": {"name": "Programme Office", "email": format!("office@{}.example", city_code(i))},
            })
        })
        .collect();
    let body = json!({ "cities": cities });
    // `request` waits for the operator commands to subscribe after start-up.
    admin::request(
        client,
        Service::Intake,
        "cities.import",
        &body,
        Duration::from_secs(20),
    )
    .await
    .context("registering the bench cities")?;
    Ok(())
}

/// A small deterministic generator (SplitMix64): varied bodies, the same
/// for every run of the same size.
#[derive(Debug)]
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const KINDS: [&str; 3] = ["JOINT_WORKSHOP", "CONSULTATIVE_SUPPORT", "PILOT_PROJECT"];
const TOPICS: [&str; 12] = [
    "LOCAL_GOVERNANCE",
    "SOCIAL_INNOVATION",
    "DESIGN_THINKING",
    "SYSTEMS_THINKING",
    "CITIZEN_PARTICIPATION",
    "DIGITAL_GOVERNMENT",
    "URBAN_PLANNING",
    "TRANSPORT",
    "WATER_AND_SANITATION",
    "WASTE_MANAGEMENT",
    "CLIMATE_RESILIENCE",
    "HOUSING",
];
const FORMATS: [&str; 3] = ["IN_PERSON", "VIRTUAL", "EITHER"];

/// True for the enquiries that are invalid: `ratio` of them, evenly spread.
fn is_invalid(index: usize, ratio: f64) -> bool {
    let before = (index as f64 * ratio).floor();
    let after = ((index + 1) as f64 * ratio).floor();
    after > before
}

fn plan(
    index: usize,
    codes: &[CityCode],
    city: usize,
    options: &HopOptions,
    today: NaiveDate,
) -> Planned {
    let code = &codes[city];
    let mut mix = Mix(index as u64);
    let reference = format!("BENCH-{}-{index:06}", options.run_tag);
    let mut body = valid_body(&mut mix, code.as_str(), place(city).2, &reference, today);
    let valid = !is_invalid(index, options.invalid_ratio);
    let bytes = if valid {
        body.to_string().into_bytes()
    } else {
        match index % 5 {
            0 => {
                body["preferredWindow"]["start"] = json!((today - Days::new(10)).to_string());
                body.to_string().into_bytes()
            }
            1 => {
                body["topics"] = json!(["SMART_BEACHES"]);
                body.to_string().into_bytes()
            }
            2 => {
                body["kind"] = json!("JOINT_WORKSHOP");
                if let Some(object) = body.as_object_mut() {
                    object.remove("participants");
                }
                body.to_string().into_bytes()
            }
            3 => format!("{{\"reference\": \"{reference}\", \"city\": ").into_bytes(),
            _ => {
                body["city"] = json!("colombo");
                body.to_string().into_bytes()
            }
        }
    };
    Planned {
        envelope: Envelope::from_city(code, ENQUIRY_SUBMIT),
        body: Bytes::from(bytes),
        valid,
    }
}

fn valid_body(
    mix: &mut Mix,
    city: &str,
    language: &str,
    reference: &str,
    today: NaiveDate,
) -> Value {
    let kind = KINDS[mix.below(KINDS.len())];
    let mut topics: Vec<&str> = Vec::new();
    for _ in 0..=mix.below(3) {
        let topic = TOPICS[mix.below(TOPICS.len())];
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    let start = today + Days::new(7 + mix.below(300) as u64);
    let end = start + Days::new(14 + mix.below(120) as u64);
    let mut body = json!({
        "reference": reference,
        "city": city,
        "kind": kind,
        "topics": topics,
        "preferredWindow": {"start": start.to_string(), "end": end.to_string()},
        "languages": ["en", language],
        "format": FORMATS[mix.below(FORMATS.len())],
        "contact": {
            "name": "Programme Office",
            "email": format!("programme.office@{city}.example"),
        },
    });
    if kind == "JOINT_WORKSHOP" || mix.below(2) == 0 {
        body["participants"] = json!(5 + mix.below(60));
    }
    if mix.below(3) == 0 {
        body["description"] = json!(
            "We would like to learn from Seoul's experience and adapt it to our city's \
             districts, with the officials who will run the programme afterwards."
        );
    }
    body
}

/// Publishes one city's enquiries with `window` acks in flight. Returns when
/// each was published (its `ce-time`, ns since the epoch) and when the last
/// ack arrived.
async fn publish_city(
    js: jetstream::Context,
    subject: String,
    items: Vec<(usize, Planned)>,
    window: usize,
    bar: indicatif::ProgressBar,
) -> Result<(Vec<(usize, i128)>, i128)> {
    let mut times = Vec::with_capacity(items.len());
    let mut pending: VecDeque<jetstream::context::PublishAckFuture> =
        VecDeque::with_capacity(window);
    for (index, planned) in items {
        if pending.len() >= window
            && let Some(oldest) = pending.pop_front()
        {
            oldest
                .await
                .context("JetStream did not acknowledge an enquiry")?;
        }
        let mut envelope = planned.envelope;
        let now = Utc::now();
        envelope.time = now;
        times.push((index, nanos(now)));
        let ack = js
            .publish_with_headers(subject.clone(), envelope.to_headers(), planned.body)
            .await
            .context("publishing an enquiry")?;
        pending.push_back(ack);
        bar.inc(1);
    }
    for ack in pending {
        ack.await
            .context("JetStream did not acknowledge an enquiry")?;
    }
    Ok((times, nanos(Utc::now())))
}

fn nanos(at: chrono::DateTime<Utc>) -> i128 {
    i128::from(at.timestamp()) * 1_000_000_000 + i128::from(at.timestamp_subsec_nanos())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Received,
    Rejected,
    Other,
}

/// What the outcome reader saw.
#[derive(Debug)]
struct Outcomes {
    /// Per planned message: its first outcome and when JetStream stored it.
    first: Vec<Option<(Kind, i128)>>,
    duplicates: usize,
    foreign: usize,
    examples: Vec<String>,
}

#[derive(Deserialize)]
struct OutcomeBody {
    #[serde(rename = "inboundId", default)]
    inbound_id: String,
    #[serde(default)]
    reasons: Vec<Value>,
}

async fn read_outcomes(
    mut messages: jetstream::consumer::pull::Ordered,
    ids: HashMap<String, usize>,
    valid: Vec<bool>,
    bar: indicatif::ProgressBar,
) -> Result<Outcomes> {
    let expected = valid.len();
    let mut outcomes = Outcomes {
        first: vec![None; expected],
        duplicates: 0,
        foreign: 0,
        examples: Vec::new(),
    };
    let mut matched = 0;
    let mut read_errors = 0;
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        if matched == expected && deadline.is_none() {
            bar.finish();
            deadline = Some(tokio::time::Instant::now() + DUPLICATE_GRACE);
        }
        let wait_until = deadline.unwrap_or_else(|| tokio::time::Instant::now() + STALL);
        let message = match tokio::time::timeout_at(wait_until, messages.next()).await {
            Err(_) => break, // stalled, or the grace period is over
            Ok(None) => bail!("the outcome reader's stream ended"),
            Ok(Some(Err(error))) => {
                read_errors += 1;
                if read_errors > 100 {
                    return Err(error).context("reading outcomes kept failing");
                }
                continue;
            }
            Ok(Some(Ok(message))) => message,
        };
        let kind = match message.subject.as_str() {
            subjects::ENQUIRY_RECEIVED => Kind::Received,
            subjects::ENQUIRY_REJECTED => Kind::Rejected,
            _ => Kind::Other,
        };
        let stored_at = message
            .info()
            .map(|info| info.published.unix_timestamp_nanos())
            .unwrap_or_else(|_| nanos(Utc::now()));
        let body: OutcomeBody = serde_json::from_slice(&message.payload).unwrap_or(OutcomeBody {
            inbound_id: String::new(),
            reasons: Vec::new(),
        });
        let Some(&index) = ids.get(&body.inbound_id) else {
            outcomes.foreign += 1;
            continue;
        };
        match &mut outcomes.first[index] {
            Some(_) => {
                outcomes.duplicates += 1;
                if outcomes.examples.len() < 3 {
                    outcomes
                        .examples
                        .push(format!("second outcome for ce-id {}", body.inbound_id));
                }
            }
            slot @ None => {
                *slot = Some((kind, stored_at));
                matched += 1;
                bar.inc(1);
                let meant = if valid[index] {
                    Kind::Received
                } else {
                    Kind::Rejected
                };
                if kind != meant && outcomes.examples.len() < 3 {
                    outcomes.examples.push(format!(
                        "{} enquiry {index} (ce-id {}) got {kind:?} {}",
                        if valid[index] { "valid" } else { "invalid" },
                        body.inbound_id,
                        Value::Array(body.reasons)
                    ));
                }
            }
        }
    }
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use intake::domain::{Inbound, InboundMessage, ValidationContext, classify_inbound};

    fn options(enquiries: usize, invalid_ratio: f64) -> HopOptions {
        HopOptions {
            enquiries,
            cities: 7,
            invalid_ratio,
            run_tag: "20261129052929".to_owned(),
        }
    }

    #[test]
    fn the_invalid_share_is_exact_and_spread() {
        let invalid: Vec<usize> = (0..1000).filter(|i| is_invalid(*i, 0.05)).collect();
        assert_eq!(invalid.len(), 50);
        assert!(invalid.windows(2).all(|w| w[1] - w[0] == 20));
        assert_eq!((0..1000).filter(|i| is_invalid(*i, 0.0)).count(), 0);
        assert_eq!((0..1000).filter(|i| is_invalid(*i, 1.0)).count(), 1000);
    }

    /// The bench is only honest if intake's own rules accept what it calls
    /// valid and reject what it calls invalid.
    #[test]
    fn planned_enquiries_are_judged_as_intended_by_intakes_rules() {
        let options = options(500, 0.1);
        let codes: Vec<CityCode> = (0..options.cities)
            .map(|i| CityCode::parse(&city_code(i)).unwrap())
            .collect();
        let today = Utc::now().date_naive();
        let registered = |code: &CityCode| code.as_str().starts_with("bench-city-");
        let context = ValidationContext {
            today,
            is_registered: &registered,
        };
        let mut references = std::collections::HashSet::new();
        for index in 0..options.enquiries {
            let city = index % options.cities;
            let planned = plan(index, &codes, city, &options, today);
            let headers = planned.envelope.to_headers();
            let subject = subjects::inbound_enquiry(&codes[city]);
            let inbound = classify_inbound(
                &InboundMessage {
                    subject: &subject,
                    headers: Some(&headers),
                    body: &planned.body,
                },
                &context,
            );
            match inbound {
                Inbound::Submit { submission, .. } => {
                    assert!(planned.valid, "invalid enquiry {index} was accepted");
                    assert!(references.insert(submission.reference().as_str().to_owned()));
                }
                Inbound::Reject(rejection) => {
                    assert!(
                        !planned.valid,
                        "valid enquiry {index} was rejected: {:?}",
                        rejection.reasons
                    );
                    assert_eq!(
                        rejection.inbound_id.as_deref(),
                        Some(planned.envelope.id.as_str())
                    );
                }
                Inbound::Withdraw { .. } => panic!("enquiry {index} read as a withdrawal"),
            }
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let p = Percentiles::of((1..=100).map(f64::from).collect());
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50.0, 95.0, 99.0, 100.0));
        assert_eq!(Percentiles::of(Vec::new()).max, 0.0);
    }

    #[test]
    fn a_missing_or_wrong_outcome_makes_the_run_fail() {
        let options = options(3, 0.0);
        let outcomes = Outcomes {
            first: vec![
                Some((Kind::Received, 2_000_000_000)),
                Some((Kind::Rejected, 3_000_000_000)),
                None,
            ],
            duplicates: 0,
            foreign: 0,
            examples: Vec::new(),
        };
        let published = [1_000_000_000, 1_000_000_000, 1_000_000_000];
        let result = summarise(&options, &[true; 3], &published, 1_500_000_000, outcomes, 0);
        assert_eq!((result.received, result.rejected), (1, 1));
        assert_eq!((result.missing, result.wrong), (1, 1));
        assert_eq!(result.wall_secs, 2.0);
        assert_eq!(result.problems().len(), 3, "{:?}", result.problems());

        let clean = Outcomes {
            first: vec![Some((Kind::Received, 2_000_000_000)); 3],
            duplicates: 0,
            foreign: 0,
            examples: Vec::new(),
        };
        let result = summarise(&options, &[true; 3], &published, 1_500_000_000, clean, 0);
        assert!(result.problems().is_empty());
        assert_eq!(result.enquiries_per_s(), 3.0);
    }
}
