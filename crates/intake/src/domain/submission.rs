//! An enquiry as a city submits it (`ileaps.enquiry.submit.v1`): the parsed
//! [`ValidSubmission`], its parts ([`Topics`], [`Participants`]), the
//! field-by-field reading of the body that reports every problem with its
//! path, and the [`ValidSubmission::fingerprint`] that tells a resubmission
//! from a `REFERENCE_CONFLICT`.

use contract::CityCode;
use contract::proto::common::v1::{EnquiryKind, Format, Topic};
use contract::proto::enquiry::v1::EnquirySubmission;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

use super::ValidationContext;
use super::contact::{Phone, ValidContact, parse_contact};
use super::json::{self, Field, Fields, Object, index};
use super::language::{LanguageTag, Languages};
use super::origin::check_body_city;
use super::rejection::{Reason, echo};
use super::text::{Description, Reference};
use super::window::{DateWindow, InvalidWindow, MAX_WINDOW_DAYS, parse_date};

/// The kinds a city may ask for.
pub const KINDS: [EnquiryKind; 3] = [
    EnquiryKind::JointWorkshop,
    EnquiryKind::ConsultativeSupport,
    EnquiryKind::PilotProject,
];

/// Every topic of the programme.
pub const TOPICS: [Topic; 12] = [
    Topic::LocalGovernance,
    Topic::SocialInnovation,
    Topic::DesignThinking,
    Topic::SystemsThinking,
    Topic::CitizenParticipation,
    Topic::DigitalGovernment,
    Topic::UrbanPlanning,
    Topic::Transport,
    Topic::WaterAndSanitation,
    Topic::WasteManagement,
    Topic::ClimateResilience,
    Topic::Housing,
];

/// The formats a city may ask for.
pub const FORMATS: [Format; 3] = [Format::InPerson, Format::Virtual, Format::Either];

/// 1-5 distinct topics; the first is the primary one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Topics(Vec<Topic>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTopics {
    #[error("must list 1-5 topics, not {0}")]
    Count(usize),
    #[error("{} is listed twice", .0.as_str_name())]
    Repeated(Topic),
    #[error("TOPIC_UNSPECIFIED is not a topic")]
    Unspecified,
}

impl Topics {
    pub const MAX: usize = 5;

    pub fn new(topics: Vec<Topic>) -> Result<Self, InvalidTopics> {
        if topics.is_empty() || topics.len() > Self::MAX {
            return Err(InvalidTopics::Count(topics.len()));
        }
        if topics.contains(&Topic::Unspecified) {
            return Err(InvalidTopics::Unspecified);
        }
        for (i, topic) in topics.iter().enumerate() {
            if topics[..i].contains(topic) {
                return Err(InvalidTopics::Repeated(*topic));
            }
        }
        Ok(Self(topics))
    }

    pub fn primary(&self) -> Topic {
        self.0[0]
    }

    pub fn as_slice(&self) -> &[Topic] {
        &self.0
    }
}

/// How many people will take part: 1-200.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Participants(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1-200, not {0}")]
pub struct InvalidParticipants(i64);

impl Participants {
    pub const MAX: u32 = 200;

    pub fn new(count: i64) -> Result<Self, InvalidParticipants> {
        match u32::try_from(count) {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(InvalidParticipants(count)),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// A submission that keeps every rule of the contract that can be checked
/// without the database. Built only by classifying an inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSubmission {
    reference: Reference,
    city: CityCode,
    kind: EnquiryKind,
    topics: Topics,
    window: DateWindow,
    /// Always present for `JOINT_WORKSHOP`.
    participants: Option<Participants>,
    languages: Languages,
    /// Never `Unspecified`: absent reads as `Either`.
    format: Format,
    contact: ValidContact,
    description: Option<Description>,
}

impl ValidSubmission {
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    pub fn city(&self) -> &CityCode {
        &self.city
    }

    pub fn kind(&self) -> EnquiryKind {
        self.kind
    }

    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    pub fn window(&self) -> DateWindow {
        self.window
    }

    pub fn participants(&self) -> Option<Participants> {
        self.participants
    }

    pub fn languages(&self) -> &Languages {
        &self.languages
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn contact(&self) -> &ValidContact {
        &self.contact
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_ref().map(Description::as_str)
    }

    /// The language to write to the city's contact in: the first listed that
    /// is not English, else `en`.
    pub fn preferred_language(&self) -> String {
        self.languages.preferred()
    }

    /// The submission in its contract form, normalised (format given,
    /// canonical language case, lowercased email domain, trimmed name).
    pub fn to_proto(&self) -> EnquirySubmission {
        EnquirySubmission {
            reference: self.reference.as_str().to_owned(),
            city: self.city.as_str().to_owned(),
            kind: self.kind.into(),
            topics: self.topics.as_slice().iter().map(|t| (*t).into()).collect(),
            preferred_window: Some(self.window.to_proto()),
            participants: self.participants.map(Participants::get),
            languages: self
                .languages
                .as_slice()
                .iter()
                .map(|l| l.as_str().to_owned())
                .collect(),
            format: self.format.into(),
            contact: Some(self.contact.to_proto()),
            description: self.description().unwrap_or_default().to_owned(),
        }
    }

    /// A stable hash (SHA-256, lowercase hex) of everything the city said, in
    /// a canonical form: the same submission sent again, with other key order,
    /// white space or spelling of defaults (`"format": "EITHER"` or none, `en`
    /// or `EN`), has the same fingerprint; any difference in content,
    /// including the contact and the order of topics or languages (the first
    /// of each means something), changes it.
    ///
    /// Stored with the enquiry: the store compares it to tell a resubmission
    /// (a no-op) from `REFERENCE_CONFLICT`. The serialisation is a fixed
    /// struct, so it does not depend on serde_json's map features, and carries
    /// a version so a future change of form cannot match an old hash.
    pub fn fingerprint(&self) -> String {
        #[derive(serde::Serialize)]
        struct Canonical<'a> {
            fingerprint: &'static str,
            reference: &'a str,
            city: &'a str,
            kind: &'static str,
            topics: Vec<&'static str>,
            start: String,
            end: String,
            participants: Option<u32>,
            languages: Vec<&'a str>,
            format: &'static str,
            contact_name: &'a str,
            contact_email: &'a str,
            contact_phone: Option<&'a str>,
            description: &'a str,
        }
        let window = self.window.to_proto();
        let canonical = Canonical {
            fingerprint: "ileaps.enquiry.submit.v1#1",
            reference: self.reference.as_str(),
            city: self.city.as_str(),
            kind: self.kind.as_str_name(),
            topics: self
                .topics
                .as_slice()
                .iter()
                .map(Topic::as_str_name)
                .collect(),
            start: window.start,
            end: window.end,
            participants: self.participants.map(Participants::get),
            languages: self
                .languages
                .as_slice()
                .iter()
                .map(LanguageTag::as_str)
                .collect(),
            format: self.format.as_str_name(),
            contact_name: self.contact.name.as_str(),
            contact_email: self.contact.email.as_str(),
            contact_phone: self.contact.phone.as_ref().map(Phone::as_str),
            description: self.description().unwrap_or_default(),
        };
        // A struct of strings, numbers and lists always serialises.
        let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
        Sha256::digest(&bytes)
            .iter()
            .fold(String::with_capacity(64), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            })
    }
}

/// What a body yielded: the parsed message when it broke no rule, and the
/// parts a rejection can still use.
#[derive(Debug)]
pub(crate) struct Parsed<T> {
    pub valid: Option<T>,
    pub reference: Option<Reference>,
    pub contact: Option<ValidContact>,
}

pub(crate) const REFERENCE: Field = Field::plain("reference");
pub(crate) const CITY: Field = Field::plain("city");
const KIND: Field = Field::plain("kind");
const TOPICS_FIELD: Field = Field::plain("topics");
const WINDOW: Field = Field::new("preferredWindow", "preferred_window");
const PARTICIPANTS: Field = Field::plain("participants");
const LANGUAGES: Field = Field::plain("languages");
const FORMAT: Field = Field::plain("format");
pub(crate) const CONTACT: Field = Field::plain("contact");
const DESCRIPTION: Field = Field::plain("description");
const START: Field = Field::plain("start");
const END: Field = Field::plain("end");

const SUBMISSION_FIELDS: [Field; 10] = [
    REFERENCE,
    CITY,
    KIND,
    TOPICS_FIELD,
    WINDOW,
    PARTICIPANTS,
    LANGUAGES,
    FORMAT,
    CONTACT,
    DESCRIPTION,
];

/// Reads a submission body field by field, reporting every problem.
pub(crate) fn parse_submission(
    object: &Object,
    subject_city: Option<&CityCode>,
    ctx: &ValidationContext<'_>,
    reasons: &mut Vec<Reason>,
) -> Parsed<ValidSubmission> {
    let before = reasons.len();
    let fields = Fields::read(object, "", &SUBMISSION_FIELDS, reasons);

    let reference = read_reference(&fields, reasons);
    let city = read_city(&fields, subject_city, ctx, reasons);
    let kind = fields.required(KIND, reasons).and_then(|v| {
        read_enum(
            v,
            &fields.path(KIND),
            &KINDS,
            EnquiryKind::as_str_name,
            reasons,
        )
    });
    let topics = fields
        .required(TOPICS_FIELD, reasons)
        .and_then(|v| read_topics(v, &fields.path(TOPICS_FIELD), reasons));
    let window = fields
        .required(WINDOW, reasons)
        .and_then(|v| read_window(v, &fields.path(WINDOW), ctx.today, reasons));
    let participants = read_participants(&fields, kind, reasons);
    let languages = fields
        .required(LANGUAGES, reasons)
        .and_then(|v| read_languages(v, &fields.path(LANGUAGES), reasons));
    let format = match fields.get(FORMAT) {
        None => Some(Format::Either),
        Some(Value::String(s)) if s == Format::Unspecified.as_str_name() => Some(Format::Either),
        Some(v) => read_enum(
            v,
            &fields.path(FORMAT),
            &FORMATS,
            Format::as_str_name,
            reasons,
        ),
    };
    let contact = fields
        .required(CONTACT, reasons)
        .and_then(|v| parse_contact(v, &fields.path(CONTACT), reasons));
    let description = match fields.get(DESCRIPTION) {
        None => Some(None),
        Some(v) => json::as_str(v, &fields.path(DESCRIPTION), reasons).and_then(|raw| {
            Description::parse(raw)
                .map_err(|e| {
                    reasons.push(Reason::invalid_field(
                        fields.path(DESCRIPTION),
                        e.to_string(),
                    ));
                })
                .ok()
        }),
    };

    let valid = match (
        reference.clone(),
        city,
        kind,
        topics,
        window,
        participants,
        languages,
        format,
        contact.clone(),
        description,
    ) {
        (
            Some(reference),
            Some(city),
            Some(kind),
            Some(topics),
            Some(window),
            Some(participants),
            Some(languages),
            Some(format),
            Some(contact),
            Some(description),
        ) if reasons.len() == before => Some(ValidSubmission {
            reference,
            city,
            kind,
            topics,
            window,
            participants,
            languages,
            format,
            contact,
            description,
        }),
        _ => None,
    };
    Parsed {
        valid,
        reference,
        contact,
    }
}

/// `reference`: required, a [`Reference`].
pub(crate) fn read_reference(fields: &Fields<'_>, reasons: &mut Vec<Reason>) -> Option<Reference> {
    let path = fields.path(REFERENCE);
    let raw = json::as_str(fields.required(REFERENCE, reasons)?, &path, reasons)?;
    Reference::parse(raw)
        .map_err(|e| reasons.push(Reason::invalid_field(path, e.to_string())))
        .ok()
}

/// `city`: required, the subject's registered city.
pub(crate) fn read_city(
    fields: &Fields<'_>,
    subject_city: Option<&CityCode>,
    ctx: &ValidationContext<'_>,
    reasons: &mut Vec<Reason>,
) -> Option<CityCode> {
    let path = fields.path(CITY);
    let raw = json::as_str(fields.required(CITY, reasons)?, &path, reasons)?;
    check_body_city(raw, &path, subject_city, ctx.is_registered, reasons)
}

/// An enum given by its UPPER_SNAKE name, one of `allowed`.
fn read_enum<T: Copy>(
    value: &Value,
    path: &str,
    allowed: &[T],
    name: fn(&T) -> &'static str,
    reasons: &mut Vec<Reason>,
) -> Option<T> {
    let raw = json::as_str(value, path, reasons)?;
    let found = allowed.iter().copied().find(|v| name(v) == raw);
    if found.is_none() {
        let names: Vec<&str> = allowed.iter().map(name).collect();
        reasons.push(Reason::invalid_field(
            path,
            format!("must be one of {}, not {}", names.join(", "), echo(raw)),
        ));
    }
    found
}

fn read_topics(value: &Value, path: &str, reasons: &mut Vec<Reason>) -> Option<Topics> {
    let items = json::as_array(value, path, reasons)?;
    if items.is_empty() || items.len() > Topics::MAX {
        reasons.push(Reason::invalid_field(
            path,
            InvalidTopics::Count(items.len()).to_string(),
        ));
        return None;
    }
    let mut seen: Vec<(usize, Topic)> = Vec::new();
    let mut all_read = true;
    for (i, item) in items.iter().enumerate() {
        let item_path = index(path, i);
        match read_enum(item, &item_path, &TOPICS, Topic::as_str_name, reasons) {
            Some(topic) => match seen.iter().find(|(_, t)| *t == topic) {
                Some((first, _)) => {
                    reasons.push(Reason::invalid_field(
                        item_path,
                        format!("repeats {}", index(path, *first)),
                    ));
                    all_read = false;
                }
                None => seen.push((i, topic)),
            },
            None => all_read = false,
        }
    }
    if !all_read {
        return None;
    }
    Topics::new(seen.into_iter().map(|(_, t)| t).collect())
        .map_err(|e| reasons.push(Reason::invalid_field(path, e.to_string())))
        .ok()
}

fn read_window(
    value: &Value,
    path: &str,
    today: chrono::NaiveDate,
    reasons: &mut Vec<Reason>,
) -> Option<DateWindow> {
    let object = json::as_object(value, path, reasons)?;
    let fields = Fields::read(object, path, &[START, END], reasons);
    let date = |field: Field, reasons: &mut Vec<Reason>| {
        let field_path = fields.path(field);
        let raw = json::as_str(fields.required(field, reasons)?, &field_path, reasons)?;
        let date = parse_date(raw);
        if date.is_none() {
            reasons.push(Reason::invalid_field(
                field_path,
                format!("{} is not a date written YYYY-MM-DD", echo(raw)),
            ));
        }
        date
    };
    let start = date(START, reasons);
    let end = date(END, reasons);
    if let Some(start) = start
        && start < today
    {
        reasons.push(Reason::window_in_past(&fields.path(START), start, today));
    }
    let window = DateWindow::new(start?, end?);
    match window {
        Ok(window) => Some(window).filter(|w| w.start() >= today),
        Err(InvalidWindow::EndBeforeStart) => {
            reasons.push(Reason::invalid_field(
                fields.path(END),
                "must not be before start",
            ));
            None
        }
        Err(InvalidWindow::TooLong { days }) => {
            reasons.push(Reason::window_too_long(path, days, MAX_WINDOW_DAYS));
            None
        }
    }
}

/// `participants`: 1-200, required for `JOINT_WORKSHOP`. `Some(None)` is
/// "validly absent".
fn read_participants(
    fields: &Fields<'_>,
    kind: Option<EnquiryKind>,
    reasons: &mut Vec<Reason>,
) -> Option<Option<Participants>> {
    let path = fields.path(PARTICIPANTS);
    match fields.get(PARTICIPANTS) {
        None if kind == Some(EnquiryKind::JointWorkshop) => {
            reasons.push(Reason::invalid_field(
                path,
                "is required for JOINT_WORKSHOP",
            ));
            None
        }
        None => Some(None),
        Some(v) => {
            let count = json::as_integer(v, &path, reasons)?;
            Participants::new(count)
                .map(Some)
                .map_err(|e| reasons.push(Reason::invalid_field(path, e.to_string())))
                .ok()
        }
    }
}

fn read_languages(value: &Value, path: &str, reasons: &mut Vec<Reason>) -> Option<Languages> {
    let items = json::as_array(value, path, reasons)?;
    if items.is_empty() || items.len() > Languages::MAX {
        reasons.push(Reason::invalid_field(
            path,
            format!("must list 1-5 languages, not {}", items.len()),
        ));
        return None;
    }
    let mut seen: Vec<(usize, LanguageTag)> = Vec::new();
    let mut all_read = true;
    for (i, item) in items.iter().enumerate() {
        let item_path = index(path, i);
        let Some(raw) = json::as_str(item, &item_path, reasons) else {
            all_read = false;
            continue;
        };
        match LanguageTag::parse(raw) {
            Ok(tag) => match seen.iter().find(|(_, t)| *t == tag) {
                Some((first, _)) => {
                    reasons.push(Reason::invalid_field(
                        item_path,
                        format!("repeats {}", index(path, *first)),
                    ));
                    all_read = false;
                }
                None => seen.push((i, tag)),
            },
            Err(e) => {
                reasons.push(Reason::invalid_field(item_path, e.to_string()));
                all_read = false;
            }
        }
    }
    if !all_read {
        return None;
    }
    Languages::new(seen.into_iter().map(|(_, t)| t).collect())
        .map_err(|e| reasons.push(Reason::invalid_field(path, e.to_string())))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_one_to_five_distinct_and_the_first_is_primary() {
        let topics = Topics::new(vec![Topic::Housing, Topic::Transport]).unwrap();
        assert_eq!(topics.primary(), Topic::Housing);
        assert_eq!(Topics::new(vec![]), Err(InvalidTopics::Count(0)));
        assert_eq!(
            Topics::new(TOPICS[..6].to_vec()),
            Err(InvalidTopics::Count(6))
        );
        assert_eq!(
            Topics::new(vec![Topic::Housing, Topic::Housing]),
            Err(InvalidTopics::Repeated(Topic::Housing))
        );
        assert_eq!(
            Topics::new(vec![Topic::Unspecified]),
            Err(InvalidTopics::Unspecified)
        );
    }

    #[test]
    fn participants_are_one_to_two_hundred() {
        assert_eq!(Participants::new(1).unwrap().get(), 1);
        assert_eq!(Participants::new(200).unwrap().get(), 200);
        for bad in [0, -1, 201, i64::MAX, i64::MIN] {
            assert!(Participants::new(bad).is_err(), "{bad}");
        }
    }
}
