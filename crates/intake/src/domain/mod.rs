//! Intake's pure rules: what an inbound message from a city is. Owns the
//! classification of one message (subject, headers, body) into a valid
//! submission, a valid withdrawal, or a rejection with every reason found,
//! by the contract's rules ("What a city sends", "Rejection codes"). No I/O:
//! the caller supplies today's date and the city registry.
//!
//! `REFERENCE_CONFLICT` and `UNKNOWN_ENQUIRY` need the database and are
//! decided later, by the store, with [`ValidSubmission::fingerprint`].
//!
//! # Layout
//!
//! - [`classify_inbound`] (here): the one entry point.
//! - `origin`: the subject's city, the CloudEvents envelope, `ce-type`,
//!   `ce-source` and the body's `city`.
//! - `json`: the strict JSON parse and field-by-field access with paths.
//! - [`submission`], [`withdrawal`]: the two bodies a city sends.
//! - [`text`], [`contact`], [`language`], [`window`]: the newtypes their
//!   fields parse into.
//! - [`rejection`]: [`Reason`], [`Rejection`], one constructor per code.

pub mod contact;
mod json;
pub mod language;
mod origin;
pub mod rejection;
pub mod submission;
pub mod text;
pub mod window;
pub mod withdrawal;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

use async_nats::HeaderMap;
use contract::{CityCode, Envelope};
use std::fmt;

pub use contact::{Email, Phone, ValidContact};
pub use language::{LanguageTag, Languages};
pub use rejection::{Reason, Rejection, RejectionCode};
pub use submission::{Participants, Topics, ValidSubmission};
pub use text::{ContactName, Description, Reference, WithdrawalReason};
pub use window::DateWindow;
pub use withdrawal::ValidWithdrawal;

use origin::InboundType;
use submission::Parsed;

/// One message as it arrived on `ileaps.inbound.>`.
#[derive(Debug, Clone, Copy)]
pub struct InboundMessage<'a> {
    pub subject: &'a str,
    pub headers: Option<&'a HeaderMap>,
    pub body: &'a [u8],
}

/// What the rules need from outside: the day it is (for `WINDOW_IN_PAST`)
/// and which cities are registered (for `UNKNOWN_CITY`).
#[derive(Clone, Copy)]
pub struct ValidationContext<'a> {
    /// Today, in the programme's calendar (the caller decides the time zone).
    pub today: chrono::NaiveDate,
    pub is_registered: &'a dyn Fn(&CityCode) -> bool,
}

impl fmt::Debug for ValidationContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidationContext")
            .field("today", &self.today)
            .finish_non_exhaustive()
    }
}

/// The outcome of classifying one inbound message: exactly one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    Submit {
        envelope: Envelope,
        submission: ValidSubmission,
    },
    Withdraw {
        envelope: Envelope,
        withdrawal: ValidWithdrawal,
    },
    Reject(Rejection),
}

/// Classifies one inbound message by every rule that needs no database,
/// reporting all reasons found, not only the first.
///
/// Never panics and does bounded work on any input: a body over
/// [`contract::MAX_INBOUND_BODY_BYTES`] is not parsed, nesting is limited by
/// serde_json, and no reason quotes more than a few dozen characters of input.
pub fn classify_inbound(msg: &InboundMessage<'_>, ctx: &ValidationContext<'_>) -> Inbound {
    let mut reasons = Vec::new();
    let subject_city = origin::subject_city(msg.subject, &mut reasons);
    let (envelope, inbound_type) =
        origin::read_envelope(msg.headers, subject_city.as_ref(), &mut reasons);
    let body = read_body(msg.body, &mut reasons);

    let outcome = match (&body, inbound_type) {
        (Some(object), Some(InboundType::Submit)) => {
            let parsed =
                submission::parse_submission(object, subject_city.as_ref(), ctx, &mut reasons);
            Outcome::from_parsed(parsed, Kind::Submit)
        }
        (Some(object), Some(InboundType::Withdraw)) => {
            let parsed =
                withdrawal::parse_withdrawal(object, subject_city.as_ref(), ctx, &mut reasons);
            Outcome::from_parsed(parsed, Kind::Withdraw)
        }
        // Without a type the body's rules are unknown; still keep what can
        // tell the city about the rejection.
        (Some(object), None) => Outcome::best_effort(object),
        (None, _) => Outcome::default(),
    };

    match (envelope, outcome.valid) {
        (Some(envelope), Some(Kind::Submit(submission))) if reasons.is_empty() => Inbound::Submit {
            envelope,
            submission,
        },
        (Some(envelope), Some(Kind::Withdraw(withdrawal))) if reasons.is_empty() => {
            Inbound::Withdraw {
                envelope,
                withdrawal,
            }
        }
        _ => {
            if reasons.is_empty() {
                // Unreachable by construction (every missing piece comes with
                // its reason); kept so no message can go without an outcome.
                reasons.push(Reason::invalid_field(
                    "",
                    "the message could not be classified",
                ));
            }
            Inbound::Reject(Rejection {
                city: subject_city,
                reference: outcome.reference.map(|r| r.as_str().to_owned()),
                inbound_id: origin::usable_header(msg.headers, contract::envelope::ID)
                    .map(str::to_owned),
                inbound_type: origin::usable_header(msg.headers, contract::envelope::TYPE)
                    .map(str::to_owned),
                reasons,
                contact: outcome.contact,
            })
        }
    }
}

/// The body as a JSON object, or `PAYLOAD_TOO_LARGE` (not parsed at all) or
/// `MALFORMED`.
fn read_body(body: &[u8], reasons: &mut Vec<Reason>) -> Option<json::Object> {
    if body.len() > contract::MAX_INBOUND_BODY_BYTES {
        reasons.push(Reason::payload_too_large(body.len()));
        return None;
    }
    json::parse_object(body).map_err(|r| reasons.push(r)).ok()
}

enum Kind {
    Submit(ValidSubmission),
    Withdraw(ValidWithdrawal),
}

#[derive(Default)]
struct Outcome {
    valid: Option<Kind>,
    reference: Option<Reference>,
    contact: Option<ValidContact>,
}

impl Outcome {
    fn from_parsed<T>(parsed: Parsed<T>, kind: impl FnOnce(T) -> Kind) -> Self {
        Self {
            valid: parsed.valid.map(kind),
            reference: parsed.reference,
            contact: parsed.contact,
        }
    }

    /// The reference and contact of a body of unknown type, when they parse;
    /// their problems are not reasons (the type is what is wrong).
    fn best_effort(object: &json::Object) -> Self {
        let mut ignored = Vec::new();
        let fields = json::Fields::read(object, "", &[], &mut ignored);
        let reference = submission::read_reference(&fields, &mut ignored);
        let contact = fields
            .get(submission::CONTACT)
            .and_then(|v| contact::parse_contact(v, "contact", &mut ignored));
        Self {
            valid: None,
            reference,
            contact,
        }
    }
}
