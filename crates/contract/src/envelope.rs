//! The CloudEvents 1.0 envelope in binary content mode: every attribute is a
//! NATS header, the body is the event data only.
//!
//! `(ce-source, ce-id)` is a message's one identity from end to end: the outbox
//! row id, the `Nats-Msg-Id` JetStream deduplicates on, and every consumer's
//! inbox key.

use async_nats::HeaderMap;
use async_nats::header::HeaderName;
use chrono::{DateTime, SecondsFormat, Utc};
use std::borrow::Cow;
use std::fmt;

pub const SPECVERSION: &str = "ce-specversion";
pub const ID: &str = "ce-id";
pub const SOURCE: &str = "ce-source";
pub const TYPE: &str = "ce-type";
pub const TIME: &str = "ce-time";
pub const SUBJECT: &str = "ce-subject";
pub const CONTENT_TYPE: &str = "content-type";
pub const NATS_MSG_ID: &str = "Nats-Msg-Id";
pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";

/// Every header an envelope writes ([`Envelope::header_pairs`]).
pub const HEADER_NAMES: [&str; 10] = [
    SPECVERSION,
    ID,
    SOURCE,
    TYPE,
    TIME,
    SUBJECT,
    CONTENT_TYPE,
    NATS_MSG_ID,
    TRACEPARENT,
    TRACESTATE,
];

pub const SPECVERSION_1_0: &str = "1.0";
pub const APPLICATION_JSON: &str = "application/json";

/// The programme's services, as they appear in `ce-source` and subjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Intake,
    Scheduling,
    Assignment,
    Notifications,
}

impl Service {
    pub const ALL: [Service; 4] = [
        Service::Intake,
        Service::Scheduling,
        Service::Assignment,
        Service::Notifications,
    ];

    /// The lowercase name used in subjects, schemas and `ce-source`.
    pub const fn name(self) -> &'static str {
        match self {
            Service::Intake => "intake",
            Service::Scheduling => "scheduling",
            Service::Assignment => "assignment",
            Service::Notifications => "notifications",
        }
    }

    /// `/ileaps/<service>`.
    pub fn source(self) -> String {
        format!("/ileaps/{}", self.name())
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The CloudEvents attributes of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub id: String,
    pub source: String,
    pub event_type: String,
    pub time: DateTime<Utc>,
    /// What the event is about (an enquiry, workshop or notification id).
    pub subject: Option<String>,
    pub content_type: String,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
}

/// Why headers are not a valid envelope. Every problem is listed, not only the
/// first, so a city can fix them all at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CloudEvents envelope: {}", describe(.problems))]
pub struct EnvelopeError {
    pub problems: Vec<AttributeProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeProblem {
    /// A required `ce-*` header is absent or empty.
    Missing(&'static str),
    /// A header is present with a value the contract does not allow.
    Invalid {
        header: &'static str,
        reason: String,
    },
}

fn describe(problems: &[AttributeProblem]) -> String {
    problems
        .iter()
        .map(|p| match p {
            AttributeProblem::Missing(h) => format!("{h} is missing"),
            AttributeProblem::Invalid { header, reason } => format!("{header}: {reason}"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Headers longer than this are refused rather than stored or echoed.
const MAX_ATTRIBUTE_LEN: usize = 256;

impl Envelope {
    /// A new event from one of the services: a UUIDv7 id and the current time.
    pub fn new(service: Service, event_type: &str, subject: impl Into<String>) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            source: service.source(),
            event_type: event_type.to_owned(),
            time: Utc::now(),
            subject: Some(subject.into()),
            content_type: APPLICATION_JSON.to_owned(),
            traceparent: None,
            tracestate: None,
        }
    }

    /// A new message from a partner city (`ce-source: /cities/<city>`), as a
    /// city's client sends it: a UUIDv7 id and the current time.
    pub fn from_city(city: &crate::CityCode, event_type: &str) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            source: format!("/cities/{city}"),
            event_type: event_type.to_owned(),
            time: Utc::now(),
            subject: None,
            content_type: APPLICATION_JSON.to_owned(),
            traceparent: None,
            tracestate: None,
        }
    }

    /// The headers of this envelope as `(name, value)` pairs, with
    /// `Nats-Msg-Id = ce-id`: for writers that need no [`HeaderMap`], such as
    /// the outbox, which stores them as lines.
    pub fn header_pairs(&self) -> Vec<(&'static str, Cow<'_, str>)> {
        let mut pairs = Vec::with_capacity(10);
        pairs.push((SPECVERSION, Cow::Borrowed(SPECVERSION_1_0)));
        pairs.push((ID, Cow::Borrowed(self.id.as_str())));
        pairs.push((SOURCE, Cow::Borrowed(self.source.as_str())));
        pairs.push((TYPE, Cow::Borrowed(self.event_type.as_str())));
        pairs.push((
            TIME,
            Cow::Owned(self.time.to_rfc3339_opts(SecondsFormat::Millis, true)),
        ));
        if let Some(subject) = &self.subject {
            pairs.push((SUBJECT, Cow::Borrowed(subject.as_str())));
        }
        pairs.push((CONTENT_TYPE, Cow::Borrowed(self.content_type.as_str())));
        pairs.push((NATS_MSG_ID, Cow::Borrowed(self.id.as_str())));
        if let Some(tp) = &self.traceparent {
            pairs.push((TRACEPARENT, Cow::Borrowed(tp.as_str())));
        }
        if let Some(ts) = &self.tracestate {
            pairs.push((TRACESTATE, Cow::Borrowed(ts.as_str())));
        }
        pairs
    }

    /// The headers of this envelope, with `Nats-Msg-Id = ce-id`.
    pub fn to_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in self.header_pairs() {
            // The names are this module's constants: valid, and spared the
            // check and the copy that a name parsed at run time costs.
            headers.insert(HeaderName::from_static(name), value.as_ref());
        }
        headers
    }

    /// Reads the envelope from a message's headers, listing every problem.
    ///
    /// `ce-time` and `content-type` are optional on input (CloudEvents makes
    /// them optional); a missing time is read as "now", a missing content type
    /// as JSON. A present but wrong content type is refused.
    pub fn from_headers(headers: Option<&HeaderMap>) -> Result<Self, EnvelopeError> {
        let mut problems = Vec::new();
        let mut required = |name: &'static str| -> Option<String> {
            match header(headers, name) {
                None => {
                    problems.push(AttributeProblem::Missing(name));
                    None
                }
                Some(value) if value.len() > MAX_ATTRIBUTE_LEN => {
                    problems.push(AttributeProblem::Invalid {
                        header: name,
                        reason: format!("longer than {MAX_ATTRIBUTE_LEN} bytes"),
                    });
                    None
                }
                Some(value) if value.chars().any(char::is_control) => {
                    problems.push(AttributeProblem::Invalid {
                        header: name,
                        reason: "contains control characters".into(),
                    });
                    None
                }
                Some(value) => Some(value.to_owned()),
            }
        };
        let specversion = required(SPECVERSION);
        let id = required(ID);
        let source = required(SOURCE);
        let event_type = required(TYPE);

        if let Some(v) = &specversion
            && v != SPECVERSION_1_0
        {
            problems.push(AttributeProblem::Invalid {
                header: SPECVERSION,
                reason: format!("must be {SPECVERSION_1_0}"),
            });
        }
        let time = match header(headers, TIME) {
            None => Utc::now(),
            Some(raw) => match DateTime::parse_from_rfc3339(raw) {
                Ok(t) => t.with_timezone(&Utc),
                Err(_) => {
                    problems.push(AttributeProblem::Invalid {
                        header: TIME,
                        reason: "must be an RFC 3339 timestamp".into(),
                    });
                    Utc::now()
                }
            },
        };
        let content_type = match header(headers, CONTENT_TYPE) {
            None => APPLICATION_JSON.to_owned(),
            Some(ct) if ct.split(';').next().map(str::trim) == Some(APPLICATION_JSON) => {
                ct.to_owned()
            }
            Some(_) => {
                problems.push(AttributeProblem::Invalid {
                    header: CONTENT_TYPE,
                    reason: format!("must be {APPLICATION_JSON}"),
                });
                APPLICATION_JSON.to_owned()
            }
        };

        match (id, source, event_type) {
            (Some(id), Some(source), Some(event_type)) if problems.is_empty() => Ok(Self {
                id,
                source,
                event_type,
                time,
                subject: short_header(headers, SUBJECT),
                content_type,
                traceparent: short_header(headers, TRACEPARENT),
                tracestate: short_header(headers, TRACESTATE),
            }),
            _ => Err(EnvelopeError { problems }),
        }
    }
}

/// A header's value, trimmed, or `None` when absent, empty or not UTF-8.
pub fn header<'a>(headers: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    let value = headers?.get(name)?.as_str().trim();
    (!value.is_empty()).then_some(value)
}

fn short_header(headers: Option<&HeaderMap>, name: &str) -> Option<String> {
    header(headers, name)
        .filter(|v| v.len() <= MAX_ATTRIBUTE_LEN)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_survives_its_headers() {
        let mut envelope = Envelope::new(Service::Intake, "ileaps.enquiry.received.v1", "e-1");
        envelope.traceparent =
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into());
        let headers = envelope.to_headers();
        assert_eq!(
            header(Some(&headers), NATS_MSG_ID),
            Some(envelope.id.as_str())
        );
        let mut back = Envelope::from_headers(Some(&headers)).unwrap();
        // ce-time travels with millisecond precision.
        assert_eq!(
            back.time.timestamp_millis(),
            envelope.time.timestamp_millis()
        );
        back.time = envelope.time;
        assert_eq!(back, envelope);
        assert_eq!(back.source, "/ileaps/intake");
    }

    #[test]
    fn every_missing_attribute_is_named() {
        let mut headers = HeaderMap::new();
        headers.insert(SPECVERSION, "1.0");
        let err = Envelope::from_headers(Some(&headers)).unwrap_err();
        assert_eq!(
            err.problems,
            vec![
                AttributeProblem::Missing(ID),
                AttributeProblem::Missing(SOURCE),
                AttributeProblem::Missing(TYPE)
            ]
        );
        let none = Envelope::from_headers(None).unwrap_err();
        assert_eq!(none.problems.len(), 4);
        assert!(none.to_string().contains("ce-type is missing"));
    }

    #[test]
    fn wrong_values_are_refused_with_the_reason() {
        let mut headers = Envelope::new(Service::Intake, "t.v1", "s").to_headers();
        headers.insert(TIME, "yesterday");
        headers.insert(CONTENT_TYPE, "text/plain");
        headers.insert(SPECVERSION, "0.3");
        let err = Envelope::from_headers(Some(&headers)).unwrap_err();
        assert_eq!(err.problems.len(), 3, "{err}");
    }
}
