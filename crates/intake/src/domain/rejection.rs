//! Why intake refuses a message: owns [`Reason`] and [`Rejection`], the one
//! constructor per rejection code that this crate's pure rules produce, and
//! [`echo`], which caps and escapes anything of the city's that a message quotes.
//!
//! `REFERENCE_CONFLICT` and `UNKNOWN_ENQUIRY` are decided against the database
//! (the store), so their constructors live here too, for one list of wordings,
//! but nothing in `domain` calls them.

use contract::CityCode;
use contract::proto::enquiry::v1::RejectionReason;
use std::fmt;

pub use contract::proto::enquiry::v1::RejectionCode;

use super::contact::ValidContact;

/// How many characters of a city's value a message quotes at most: a 1 MB
/// string must not come back in a rejection event.
pub const ECHO_CHARS: usize = 40;

/// One problem with an inbound message: a stable code, the field path
/// (`contact.email`, `topics[2]`, a header name, or empty for the whole
/// message) and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: RejectionCode,
    pub field: String,
    pub message: String,
}

impl Reason {
    fn new(code: RejectionCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            field: field.into(),
            message: message.into(),
        }
    }

    /// `MALFORMED`: the body is not a JSON object. `detail` is the parser's
    /// account, which names a position but never quotes the body.
    pub fn malformed(detail: impl fmt::Display) -> Self {
        Self::new(
            RejectionCode::Malformed,
            "",
            format!("the body is not a JSON object: {detail}"),
        )
    }

    /// `MISSING_ATTRIBUTE`: a required `ce-*` header is absent or empty.
    pub fn missing_attribute(header: &str) -> Self {
        Self::new(
            RejectionCode::MissingAttribute,
            header,
            format!("the {header} header is required"),
        )
    }

    /// `UNSUPPORTED_TYPE`: `ce-type` names no type a city may send.
    pub fn unsupported_type(given: &str) -> Self {
        Self::new(
            RejectionCode::UnsupportedType,
            contract::envelope::TYPE,
            format!(
                "{} is not a type a city may send; use {} or {}",
                echo(given),
                contract::event_types::ENQUIRY_SUBMIT,
                contract::event_types::ENQUIRY_WITHDRAW
            ),
        )
    }

    /// `PAYLOAD_TOO_LARGE`: the body is over the limit and was not read.
    pub fn payload_too_large(len: usize) -> Self {
        Self::new(
            RejectionCode::PayloadTooLarge,
            "",
            format!(
                "the body is {len} bytes; at most {} are accepted",
                contract::MAX_INBOUND_BODY_BYTES
            ),
        )
    }

    /// `CITY_MISMATCH`: `field` names another city than the subject's.
    pub fn city_mismatch(field: &str, given: &CityCode, subject_city: &CityCode) -> Self {
        Self::new(
            RejectionCode::CityMismatch,
            field,
            format!(
                "names city {:?}, but the message was sent on the subject of {:?}",
                given.as_str(),
                subject_city.as_str()
            ),
        )
    }

    /// `UNKNOWN_CITY`: a well-formed city code that is not registered.
    pub fn unknown_city(field: &str, city: &CityCode) -> Self {
        Self::new(
            RejectionCode::UnknownCity,
            field,
            format!("{:?} is not a registered city", city.as_str()),
        )
    }

    /// `INVALID_FIELD`: a field (or header, or the subject) breaks its rule.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(RejectionCode::InvalidField, field, message)
    }

    /// `WINDOW_IN_PAST`: the preferred window starts before today.
    pub fn window_in_past(field: &str, start: chrono::NaiveDate, today: chrono::NaiveDate) -> Self {
        Self::new(
            RejectionCode::WindowInPast,
            field,
            format!("starts on {start}, before today ({today})"),
        )
    }

    /// `WINDOW_TOO_LONG`: the preferred window covers more days than allowed.
    pub fn window_too_long(field: &str, days: i64, max_days: i64) -> Self {
        Self::new(
            RejectionCode::WindowTooLong,
            field,
            format!("covers {days} days; at most {max_days} are allowed"),
        )
    }

    /// `REFERENCE_CONFLICT`: decided by the store, not by this module.
    pub fn reference_conflict() -> Self {
        Self::new(
            RejectionCode::ReferenceConflict,
            "reference",
            "this reference was accepted before with other content",
        )
    }

    /// `UNKNOWN_ENQUIRY`: decided by the store, not by this module.
    pub fn unknown_enquiry() -> Self {
        Self::new(
            RejectionCode::UnknownEnquiry,
            "reference",
            "no enquiry with this reference was accepted from this city",
        )
    }

    pub fn to_proto(&self) -> RejectionReason {
        RejectionReason {
            code: self.code.into(),
            field: self.field.clone(),
            message: self.message.clone(),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.code.as_str_name(), self.message)
        } else {
            write!(
                f,
                "{} {}: {}",
                self.code.as_str_name(),
                self.field,
                self.message
            )
        }
    }
}

/// A refused message, with everything known about it so the sender can be
/// told: every reason found, not only the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The city of the subject it came on (NATS authorization lets a city
    /// publish only under its own code); `None` when the subject is not an
    /// inbound enquiry subject.
    pub city: Option<CityCode>,
    /// The body's `reference`, when it parsed.
    pub reference: Option<String>,
    /// The inbound `ce-id`, when it was present and usable.
    pub inbound_id: Option<String>,
    /// The inbound `ce-type`, when it was present and usable (even unsupported).
    pub inbound_type: Option<String>,
    /// Never empty.
    pub reasons: Vec<Reason>,
    /// The contact, when it parsed, so notifications can tell the city.
    pub contact: Option<ValidContact>,
}

impl Rejection {
    /// The codes of every reason, in order.
    pub fn codes(&self) -> Vec<RejectionCode> {
        self.reasons.iter().map(|r| r.code).collect()
    }

    /// Whether some reason has this code and field.
    pub fn has(&self, code: RejectionCode, field: &str) -> bool {
        self.reasons
            .iter()
            .any(|r| r.code == code && r.field == field)
    }

    pub fn reasons_proto(&self) -> Vec<RejectionReason> {
        self.reasons.iter().map(Reason::to_proto).collect()
    }
}

/// A city's value as a message may quote it: at most [`ECHO_CHARS`]
/// characters, quoted, with control and invisible characters escaped.
pub fn echo(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(ECHO_CHARS).collect();
    let rest = chars.count();
    if rest == 0 {
        format!("{head:?}")
    } else {
        format!("{head:?}… ({} characters)", ECHO_CHARS + rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_value_is_echoed_as_its_first_forty_characters() {
        let huge = "x".repeat(1_000_000);
        let echoed = echo(&huge);
        assert!(echoed.len() < 80, "{echoed}");
        assert!(echoed.ends_with("(1000000 characters)"));
    }

    #[test]
    fn control_and_invisible_characters_are_escaped_when_echoed() {
        let echoed = echo("a\u{7}b\u{202e}c\nd");
        assert_eq!(echoed, r#""a\u{7}b\u{202e}c\nd""#);
    }

    #[test]
    fn a_reason_becomes_its_proto_with_the_same_code_field_and_message() {
        let reason = Reason::invalid_field("contact.email", "must be an email address");
        let proto = reason.to_proto();
        assert_eq!(proto.code, i32::from(RejectionCode::InvalidField));
        assert_eq!(proto.field, "contact.email");
        assert_eq!(proto.message, "must be an email address");
    }

    #[test]
    fn each_constructor_gives_its_own_code() {
        let city = CityCode::parse("makassar").unwrap();
        let other = CityCode::parse("colombo").unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        let cases = [
            (Reason::malformed("eof"), RejectionCode::Malformed),
            (
                Reason::missing_attribute("ce-id"),
                RejectionCode::MissingAttribute,
            ),
            (
                Reason::unsupported_type("x"),
                RejectionCode::UnsupportedType,
            ),
            (
                Reason::payload_too_large(70_000),
                RejectionCode::PayloadTooLarge,
            ),
            (
                Reason::city_mismatch("city", &other, &city),
                RejectionCode::CityMismatch,
            ),
            (
                Reason::unknown_city("city", &city),
                RejectionCode::UnknownCity,
            ),
            (
                Reason::invalid_field("kind", "x"),
                RejectionCode::InvalidField,
            ),
            (
                Reason::window_in_past("preferredWindow.start", day, day),
                RejectionCode::WindowInPast,
            ),
            (
                Reason::window_too_long("preferredWindow", 400, 365),
                RejectionCode::WindowTooLong,
            ),
            (
                Reason::reference_conflict(),
                RejectionCode::ReferenceConflict,
            ),
            (Reason::unknown_enquiry(), RejectionCode::UnknownEnquiry),
        ];
        for (reason, code) in cases {
            assert_eq!(reason.code, code, "{reason}");
            assert!(!reason.message.is_empty());
        }
    }
}
