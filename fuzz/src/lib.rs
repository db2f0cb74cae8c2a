//! The harness of the `inbound` fuzz target: turns fuzzer bytes into one
//! inbound message (subject, CloudEvents headers, body), classifies it with
//! `intake::domain::classify_inbound` and checks what must hold for every
//! message, not only that nothing panics.
//!
//! Two ways in from the bytes:
//!
//! - **Literal** (the input starts with `MSG `): a message written as text, as
//!   the committed seeds are. The first line is the subject, then one
//!   `name: value` header per line up to an empty line, then the body bytes.
//!   libFuzzer's byte mutations of these seeds exercise the raw decoding.
//! - **Structured** (anything else): the bytes drive [`Case`] through
//!   `arbitrary`. A case starts from a submission or withdrawal that is valid
//!   by construction and then changes fields, headers, subject and rendering,
//!   so the fuzzer reaches the deep rules instead of stopping at `MALFORMED`.
//!   The empty input is a valid submission.
//!
//! [`check`] holds the invariants; README.md lists them.

use arbitrary::{Arbitrary, Unstructured};
use async_nats::{HeaderMap, HeaderName};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use contract::envelope::{self as ce, Envelope, header};
use contract::event_types::{ALL as ALL_TYPES, ENQUIRY_SUBMIT, ENQUIRY_WITHDRAW};
use contract::proto::common::v1::{EnquiryKind, Format, Topic};
use contract::subjects::city_of_inbound;
use contract::{CityCode, CloudEvent, MAX_INBOUND_BODY_BYTES};
use intake::domain::submission::{FORMATS, KINDS, TOPICS};
use intake::domain::{
    Inbound, InboundMessage, Rejection, RejectionCode, ValidContact, ValidSubmission,
    ValidWithdrawal, ValidationContext, classify_inbound,
};
use serde_json::{Map, Value, json};
use std::str::FromStr;

/// Runs one fuzz input: decodes it into a message and checks it.
pub fn run(data: &[u8]) {
    let message = match data.strip_prefix(b"MSG ") {
        Some(text) => Message::literal(text),
        None => match Case::arbitrary_take_rest(Unstructured::new(data)) {
            Ok(case) => case.build(),
            Err(_) => return,
        },
    };
    check(&message);
    if *TRACE.get_or_init(|| std::env::var_os("ILEAPS_FUZZ_TRACE").is_some()) {
        eprintln!("outcome: {}", summary(&message.classify()));
    }
}

/// Set `ILEAPS_FUZZ_TRACE` to print each input's outcome (for looking at
/// what a corpus reaches, with `-runs=0`).
static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// `SUBMIT`, `WITHDRAW` or `REJECT` and the codes, for the trace.
pub fn summary(outcome: &Inbound) -> String {
    match outcome {
        Inbound::Submit { .. } => "SUBMIT".into(),
        Inbound::Withdraw { .. } => "WITHDRAW".into(),
        Inbound::Reject(r) => {
            let mut codes: Vec<&str> = r.codes().iter().map(|c| c.as_str_name()).collect();
            codes.sort_unstable();
            codes.dedup();
            format!("REJECT {}", codes.join(","))
        }
    }
}

// ---- the message and the world it meets --------------------------------------

/// The cities the harness knows, by index. The last is a well-formed code
/// that is never registered.
const CITIES: [&str; 5] = ["makassar", "colombo", "hulhumale", "chandigarh", "atlantis"];

/// The day the structured cases' relative dates count from (the unit tests'
/// day), and the literal messages' today.
fn base_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 1, 10).expect("a real date")
}

/// What the message should be classified as, when it was built valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Submit,
    Withdraw,
}

/// One inbound message with the day and registry it is classified against.
#[derive(Debug)]
pub struct Message {
    pub subject: String,
    pub headers: Option<HeaderMap>,
    pub body: Vec<u8>,
    pub today: NaiveDate,
    /// Bit `i` set: `CITIES[i]` is not registered (the last never is).
    pub unregistered: u8,
    /// The body before trailing white space was added, when the padded body
    /// is still within the size limit: both must classify the same.
    pub unpadded: Option<Vec<u8>>,
    /// Set when the case was built to keep every rule.
    pub expected: Option<Expected>,
}

impl Message {
    /// A message written as text: subject line, header lines, empty line, body.
    fn literal(text: &[u8]) -> Self {
        let (subject, mut rest) = split_line(text);
        let mut headers = HeaderMap::new();
        let mut any_header = false;
        while !rest.is_empty() {
            let (line, after) = split_line(rest);
            rest = after;
            if line.is_empty() {
                break;
            }
            let line = String::from_utf8_lossy(line);
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            // As the NATS client reads a header: a valid name, a trimmed value.
            if let Ok(name) = HeaderName::from_str(name) {
                headers.append(name, wire_value(value.trim()).as_str());
                any_header = true;
            }
        }
        Self {
            subject: String::from_utf8_lossy(subject).into_owned(),
            headers: any_header.then_some(headers),
            body: rest.to_vec(),
            today: base_day(),
            unregistered: 0,
            unpadded: None,
            expected: None,
        }
    }

    fn is_registered(&self, city: &CityCode) -> bool {
        CITIES
            .iter()
            .position(|c| *c == city.as_str())
            .is_some_and(|i| i + 1 < CITIES.len() && self.unregistered & (1 << i) == 0)
    }

    fn classify_body(&self, body: &[u8]) -> Inbound {
        let is_registered = |city: &CityCode| self.is_registered(city);
        let ctx = ValidationContext {
            today: self.today,
            is_registered: &is_registered,
        };
        classify_inbound(
            &InboundMessage {
                subject: &self.subject,
                headers: self.headers.as_ref(),
                body,
            },
            &ctx,
        )
    }

    fn classify(&self) -> Inbound {
        self.classify_body(&self.body)
    }
}

/// A header value as the NATS wire can carry it: no CR or LF (the client
/// refuses them when a header is built, and they end a header line when one
/// is read).
fn wire_value(value: &str) -> String {
    value.replace(['\r', '\n'], " ")
}

fn split_line(bytes: &[u8]) -> (&[u8], &[u8]) {
    let (line, rest) = match bytes.iter().position(|b| *b == b'\n') {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[][..]),
    };
    (line.strip_suffix(b"\r").unwrap_or(line), rest)
}

// ---- the structured case -------------------------------------------------------

/// Everything the fuzzer chooses about one message. The first variant of
/// every enum, and zero of every number, is the valid choice, so the empty
/// input is a valid submission from Makassar.
#[derive(Debug, Arbitrary)]
pub struct Case {
    subject: SubjectSpec,
    headers: HeadersSpec,
    body: BodySpec,
    render: Render,
    /// Today, as days from 2027-01-10.
    today_shift: i16,
    unregistered: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
enum Pick {
    Makassar,
    Colombo,
    Hulhumale,
    Chandigarh,
    Atlantis,
}

impl Pick {
    fn index(self) -> usize {
        self as usize
    }

    fn code(self) -> &'static str {
        CITIES[self.index()]
    }
}

#[derive(Debug, Arbitrary)]
enum SubjectSpec {
    Home,
    City(Pick),
    /// `ileaps.inbound.<token>.enquiry`
    Token(String),
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum HeadersSpec {
    Present(Box<Attributes>),
    None,
}

#[derive(Debug, Arbitrary)]
struct Attributes {
    specversion: Attr,
    id: Attr,
    source: SourceAttr,
    event_type: TypeAttr,
    time: Attr,
    content_type: Attr,
    subject: Attr,
    traceparent: Attr,
    /// More headers, any name (invalid names are left out, as on the wire).
    extra: Vec<(String, String)>,
    /// A second value for a header already set (`get` reads the first).
    again: Vec<(u8, String)>,
}

/// A header's value, relative to a good one.
#[derive(Debug, Arbitrary)]
enum Attr {
    Good,
    Absent,
    Empty,
    /// The good value with white space around it.
    Spaced,
    /// The good value and `n % 600` more characters.
    Long(u16),
    /// The good value with one character put in at a position.
    Spliced(u8, char),
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum SourceAttr {
    /// `/cities/<the subject's city>`
    Home,
    City(Pick),
    /// `/cities/<text>`
    Named(String),
    Other(Attr),
}

#[derive(Debug, Arbitrary)]
enum TypeAttr {
    /// The type of the body that is built.
    Matching,
    Submit,
    Withdraw,
    /// One of the contract's other types, by index.
    Contract(u8),
    Upper,
    Other(Attr),
}

#[derive(Debug, Arbitrary)]
enum BodySpec {
    Submission(Box<SubmissionSpec>, Vec<Edit>),
    Withdrawal(WithdrawalSpec, Vec<Edit>),
    Json(Tree),
    Raw(Vec<u8>),
}

/// How the body's JSON becomes bytes.
#[derive(Debug, Arbitrary)]
enum Render {
    Compact,
    Pretty,
    /// Trailing spaces up to `MAX_INBOUND_BODY_BYTES + n % 64 - 32` bytes.
    PadTo(u8),
    /// `MAX_INBOUND_BODY_BYTES + 1 + n % 256 KiB` bytes: the JSON and a fill.
    Oversize(u32, u8),
    /// The compact JSON with byte edits.
    Bytes(Vec<ByteEdit>),
    /// A key given twice: inserted again at the front of the object.
    DuplicateKey(Slot, Tree),
}

#[derive(Debug, Arbitrary)]
enum ByteEdit {
    Truncate(u16),
    Insert(u16, u8),
    Overwrite(u16, u8),
    Remove(u16),
}

/// A string: one of a pool of valid ones, or the fuzzer's own.
#[derive(Debug, Arbitrary)]
enum Text {
    Pool(u8),
    Own(String),
}

#[derive(Debug, Arbitrary)]
enum CitySpec {
    Home,
    City(Pick),
    Own(String),
}

#[derive(Debug, Arbitrary)]
struct SubmissionSpec {
    reference: Text,
    city: CitySpec,
    /// Index into [`KIND_ORDER`].
    kind: u8,
    /// The primary topic, by index, and a bit set of more.
    topic: u8,
    more_topics: u16,
    /// Days from today to the start, and from the start to the end.
    start: i16,
    length: u16,
    /// Write `preferred_window` rather than `preferredWindow`.
    proto_names: bool,
    participants: Option<u8>,
    language: u8,
    more_languages: Vec<u8>,
    /// Index into [`FORMAT_NAMES`]; absent reads as `EITHER`.
    format: Option<u8>,
    name: Text,
    email: Text,
    phone: Option<Text>,
    description: Option<Text>,
}

#[derive(Debug, Arbitrary)]
struct WithdrawalSpec {
    reference: Text,
    city: CitySpec,
    reason: Option<Text>,
}

/// One change to the body's JSON.
#[derive(Debug, Arbitrary)]
struct Edit {
    at: Slot,
    op: Op,
}

/// Where an edit applies.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum Slot {
    Root,
    Reference,
    City,
    Kind,
    Topics,
    Topic(u8),
    Window,
    Start,
    End,
    Participants,
    Languages,
    Language(u8),
    Format,
    Contact,
    Name,
    Email,
    Phone,
    Description,
    Reason,
}

#[derive(Debug, Arbitrary)]
enum Op {
    Remove,
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// One of [`INTERESTING`].
    Interesting(u8),
    /// `n % 5000 + 1` copies of a character.
    Repeat(char, u16),
    Tree(Tree),
    /// An unknown key inside the slot (when it is an object).
    AddKey(String),
    /// The value moved to another key of its parent.
    Rename(String),
}

/// Any JSON value (nesting is cut at [`MAX_TREE_DEPTH`]).
#[derive(Debug, Arbitrary)]
enum Tree {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Tree>),
    Object(Vec<(String, Tree)>),
}

const MAX_TREE_DEPTH: usize = 200;

impl Tree {
    fn to_value(&self) -> Value {
        self.value_at(0)
    }

    fn value_at(&self, depth: usize) -> Value {
        if depth > MAX_TREE_DEPTH {
            return Value::Null;
        }
        match self {
            Tree::Null => Value::Null,
            Tree::Bool(b) => json!(b),
            Tree::Int(n) => json!(n),
            Tree::Float(f) => json!(f),
            Tree::Str(s) => json!(s),
            Tree::Array(items) => items.iter().map(|t| t.value_at(depth + 1)).collect(),
            Tree::Object(pairs) => Value::Object(
                pairs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.value_at(depth + 1)))
                    .collect(),
            ),
        }
    }
}

// Valid pools: any entry keeps its rule.
const REFERENCES: [&str; 5] = [
    "MKS-2027-014",
    "A",
    "마카사르 2027/14",
    "CMB/2027#3 (second)",
    "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr",
];
const NAMES: [&str; 4] = ["A. Rahman", "  Nimal Perera ", "ශ්‍රී ලංකා", "Ахмед"];
const EMAILS: [&str; 4] = [
    "innovation.office@makassar.example",
    "a@b.co",
    "x+tag@Colombo.EXAMPLE",
    "ü@münchen.example",
];
const PHONES: [&str; 3] = ["+62 411 123456", "(021) 555-0100", "1"];
const DESCRIPTIONS: [&str; 4] = [
    "Joint workshop on Seoul's participatory budgeting.",
    "Line one\n\tLine two",
    "'; DROP TABLE enquiries; -- {{ config.secret }} ${jndi:ldap://x}",
    "",
];
const REASONS: [&str; 3] = ["Budget moved to 2028.", "", "Line one\n\tLine two"];
const LANGUAGES: [&str; 13] = [
    "en",
    "id",
    "dv",
    "si",
    "ta",
    "hi",
    "ko",
    "en-GB",
    "zh-Hant-TW",
    "pt-BR",
    "sr-Latn-RS",
    "es-419",
    "fil",
];
/// The kinds, the one that needs no participants first.
const KIND_ORDER: [EnquiryKind; 3] = [
    EnquiryKind::ConsultativeSupport,
    EnquiryKind::JointWorkshop,
    EnquiryKind::PilotProject,
];
/// Every format's name; `FORMAT_UNSPECIFIED` reads as `EITHER`.
const FORMAT_NAMES: [&str; 4] = ["EITHER", "IN_PERSON", "VIRTUAL", "FORMAT_UNSPECIFIED"];

/// Values near the rules' edges, for [`Op::Interesting`].
const INTERESTING: &[&str] = &[
    "",
    " ",
    "\t",
    " A",
    "A ",
    "2027-01-09",
    "2027-01-10",
    "2027-02-29",
    "2028-02-29",
    "2027-13-01",
    "2027-1-1",
    "0000-01-01",
    "9999-12-31",
    "+2027-02-01",
    "2027-02-01T00:00:00Z",
    "２０２７-02-01",
    "TOPIC_UNSPECIFIED",
    "ENQUIRY_KIND_UNSPECIFIED",
    "FORMAT_UNSPECIFIED",
    "JOINT_WORKSHOP",
    "joint_workshop",
    "HOUSING",
    "IN_PERSON",
    "EN",
    "en-",
    "x-private",
    "i-klingon",
    "en-a-bbb-a-ccc",
    "de-1996-1996",
    "zh-min-nan",
    "a@b",
    "a@b.c",
    "a@@b.co",
    "@b.co",
    "a.@b.co",
    "a@-b.co",
    "a@b.123",
    "a b@c.de",
    "makassar",
    "Makassar",
    "atlantis",
    "colombo",
    "a",
    "aa",
    "a--",
    "-",
    "+",
    "0",
    "()",
    "a\u{202e}b",
    "\u{feff}x",
    "a\u{200b}",
    "a\u{0}b",
    "a\r\nb",
    "a\u{2028}b",
    "a\u{7f}",
    "\u{1b}[31m",
    "\u{10ffff}",
    "\u{e0001}",
    "null",
    "{}",
    "[]",
];

fn pool(items: &[&'static str], i: u8) -> &'static str {
    items[usize::from(i) % items.len()]
}

impl Text {
    fn resolve(&self, items: &[&'static str]) -> String {
        match self {
            Text::Pool(i) => pool(items, *i).to_owned(),
            Text::Own(s) => s.clone(),
        }
    }

    fn is_pool(&self) -> bool {
        matches!(self, Text::Pool(_))
    }
}

impl CitySpec {
    fn resolve(&self, home: &str) -> String {
        match self {
            CitySpec::Home => home.to_owned(),
            CitySpec::City(pick) => pick.code().to_owned(),
            CitySpec::Own(s) => s.clone(),
        }
    }
}

impl SubmissionSpec {
    fn topics(&self) -> Vec<Topic> {
        let first = TOPICS[usize::from(self.topic) % TOPICS.len()];
        let mut topics = vec![first];
        for (i, topic) in TOPICS.iter().enumerate() {
            if self.more_topics & (1 << i) != 0 && *topic != first {
                topics.push(*topic);
            }
        }
        // Bit 15: the first topic repeated; bit 14: TOPIC_UNSPECIFIED.
        if self.more_topics & (1 << 15) != 0 {
            topics.push(first);
        }
        if self.more_topics & (1 << 14) != 0 {
            topics.push(Topic::Unspecified);
        }
        topics
    }

    fn languages(&self) -> Vec<&'static str> {
        std::iter::once(self.language)
            .chain(self.more_languages.iter().copied())
            .map(|i| pool(&LANGUAGES, i))
            .collect()
    }

    fn kind(&self) -> EnquiryKind {
        KIND_ORDER[usize::from(self.kind) % KIND_ORDER.len()]
    }

    fn to_json(&self, home: &str, today: NaiveDate) -> Value {
        let start = today + Duration::days(i64::from(self.start));
        let end = start + Duration::days(i64::from(self.length));
        let window_key = if self.proto_names {
            "preferred_window"
        } else {
            "preferredWindow"
        };
        let mut contact = Map::new();
        contact.insert("name".into(), json!(self.name.resolve(&NAMES)));
        contact.insert("email".into(), json!(self.email.resolve(&EMAILS)));
        if let Some(phone) = &self.phone {
            contact.insert("phone".into(), json!(phone.resolve(&PHONES)));
        }
        let mut body = Map::new();
        body.insert(
            "reference".into(),
            json!(self.reference.resolve(&REFERENCES)),
        );
        body.insert("city".into(), json!(self.city.resolve(home)));
        body.insert("kind".into(), json!(self.kind().as_str_name()));
        let topics: Vec<&str> = self.topics().iter().map(Topic::as_str_name).collect();
        body.insert("topics".into(), json!(topics));
        body.insert(
            window_key.into(),
            json!({"start": ymd(start), "end": ymd(end)}),
        );
        if let Some(n) = self.participants {
            body.insert("participants".into(), json!(n));
        }
        body.insert("languages".into(), json!(self.languages()));
        if let Some(i) = self.format {
            body.insert("format".into(), json!(pool(&FORMAT_NAMES, i)));
        }
        body.insert("contact".into(), Value::Object(contact));
        if let Some(description) = &self.description {
            body.insert(
                "description".into(),
                json!(description.resolve(&DESCRIPTIONS)),
            );
        }
        Value::Object(body)
    }

    /// Whether the body keeps every rule, judged from the spec alone (only
    /// pool text counts as surely valid).
    fn is_valid(&self) -> bool {
        let topics = self.topics();
        let distinct_topics = topics
            .iter()
            .enumerate()
            .all(|(i, t)| *t != Topic::Unspecified && !topics[..i].contains(t));
        let languages = self.languages();
        let distinct_languages = languages
            .iter()
            .enumerate()
            .all(|(i, l)| !languages[..i].contains(l));
        let participants = match self.participants {
            None => self.kind() != EnquiryKind::JointWorkshop,
            Some(n) => (1..=200).contains(&n),
        };
        self.reference.is_pool()
            && matches!(self.city, CitySpec::Home)
            && (1..=5).contains(&topics.len())
            && distinct_topics
            && self.start >= 0
            && self.length < 365
            && participants
            && languages.len() <= 5
            && distinct_languages
            && self.name.is_pool()
            && self.email.is_pool()
            && self.phone.as_ref().is_none_or(Text::is_pool)
            && self.description.as_ref().is_none_or(Text::is_pool)
    }
}

impl WithdrawalSpec {
    fn to_json(&self, home: &str) -> Value {
        let mut body = Map::new();
        body.insert(
            "reference".into(),
            json!(self.reference.resolve(&REFERENCES)),
        );
        body.insert("city".into(), json!(self.city.resolve(home)));
        if let Some(reason) = &self.reason {
            body.insert("reason".into(), json!(reason.resolve(&REASONS)));
        }
        Value::Object(body)
    }

    fn is_valid(&self) -> bool {
        self.reference.is_pool()
            && matches!(self.city, CitySpec::Home)
            && self.reason.as_ref().is_none_or(Text::is_pool)
    }
}

fn ymd(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

impl Slot {
    /// The slot's parent object or array in `body`, and its key in it.
    fn locate(self, body: &Value) -> (String, String) {
        let window = if body.get("preferred_window").is_some() {
            "/preferred_window"
        } else {
            "/preferredWindow"
        };
        let (parent, key): (&str, String) = match self {
            Slot::Root => return (String::new(), String::new()),
            Slot::Reference => ("", "reference".into()),
            Slot::City => ("", "city".into()),
            Slot::Kind => ("", "kind".into()),
            Slot::Topics => ("", "topics".into()),
            Slot::Topic(i) => ("/topics", (i % 8).to_string()),
            Slot::Window => ("", window[1..].to_owned()),
            Slot::Start => (window, "start".into()),
            Slot::End => (window, "end".into()),
            Slot::Participants => ("", "participants".into()),
            Slot::Languages => ("", "languages".into()),
            Slot::Language(i) => ("/languages", (i % 8).to_string()),
            Slot::Format => ("", "format".into()),
            Slot::Contact => ("", "contact".into()),
            Slot::Name => ("/contact", "name".into()),
            Slot::Email => ("/contact", "email".into()),
            Slot::Phone => ("/contact", "phone".into()),
            Slot::Description => ("", "description".into()),
            Slot::Reason => ("", "reason".into()),
        };
        (parent.to_owned(), key)
    }

    fn key_name(self) -> &'static str {
        match self {
            Slot::Root | Slot::Reference => "reference",
            Slot::City => "city",
            Slot::Kind => "kind",
            Slot::Topics | Slot::Topic(_) => "topics",
            Slot::Window | Slot::Start | Slot::End => "preferredWindow",
            Slot::Participants => "participants",
            Slot::Languages | Slot::Language(_) => "languages",
            Slot::Format => "format",
            Slot::Contact | Slot::Name | Slot::Email | Slot::Phone => "contact",
            Slot::Description => "description",
            Slot::Reason => "reason",
        }
    }
}

impl Op {
    fn value(&self) -> Option<Value> {
        Some(match self {
            Op::Null => Value::Null,
            Op::Bool(b) => json!(b),
            Op::Int(n) => json!(n),
            Op::Float(f) => json!(f),
            Op::Str(s) => json!(s),
            Op::Interesting(i) => json!(INTERESTING[usize::from(*i) % INTERESTING.len()]),
            Op::Repeat(c, n) => json!(c.to_string().repeat(usize::from(*n) % 5000 + 1)),
            Op::Tree(t) => t.to_value(),
            Op::Remove | Op::AddKey(_) | Op::Rename(_) => return None,
        })
    }
}

impl Edit {
    fn apply(&self, body: &mut Value) {
        let (parent, key) = self.at.locate(body);
        if let Op::AddKey(name) = &self.op {
            let pointer = if key.is_empty() {
                parent
            } else {
                format!("{parent}/{key}")
            };
            if let Some(Value::Object(object)) = body.pointer_mut(&pointer) {
                object.insert(name.clone(), json!(1));
            }
            return;
        }
        if key.is_empty() {
            // The whole body.
            if let Some(value) = self.op.value() {
                *body = value;
            }
            return;
        }
        let Some(parent) = body.pointer_mut(&parent) else {
            return;
        };
        match parent {
            Value::Object(object) => match &self.op {
                Op::Remove => {
                    object.remove(&key);
                }
                Op::Rename(to) => {
                    if let Some(value) = object.remove(&key) {
                        object.insert(to.clone(), value);
                    }
                }
                op => {
                    if let Some(value) = op.value() {
                        object.insert(key, value);
                    }
                }
            },
            Value::Array(items) => {
                let i: usize = key.parse().unwrap_or(0);
                match &self.op {
                    Op::Remove | Op::Rename(_) => {
                        if i < items.len() {
                            items.remove(i);
                        }
                    }
                    op => {
                        if let Some(value) = op.value() {
                            if i < items.len() {
                                items[i] = value;
                            } else {
                                items.push(value);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

impl Attr {
    fn value(&self, good: &str) -> Option<String> {
        Some(match self {
            Attr::Good => good.to_owned(),
            Attr::Absent => return None,
            Attr::Empty => String::new(),
            Attr::Spaced => format!(" {good}\t"),
            Attr::Long(n) => format!("{good}{}", "x".repeat(usize::from(*n) % 600)),
            Attr::Spliced(at, c) => {
                let mut chars: Vec<char> = good.chars().collect();
                let at = usize::from(*at) % (chars.len() + 1);
                chars.insert(at, *c);
                chars.into_iter().collect()
            }
            Attr::Raw(s) => s.clone(),
        })
    }

    fn is_good(&self) -> bool {
        matches!(self, Attr::Good)
    }
}

const GOOD_ID: &str = "0190f2a4-1111-7000-8000-000000000001";
const GOOD_TIME: &str = "2027-01-10T09:30:00.123Z";
const GOOD_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

impl Attributes {
    fn headers(&self, home: &str, matching: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let mut set = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                headers.insert(name, wire_value(&value).as_str());
            }
        };
        set(ce::SPECVERSION, self.specversion.value(ce::SPECVERSION_1_0));
        set(ce::ID, self.id.value(GOOD_ID));
        let source = match &self.source {
            SourceAttr::Home => Some(format!("/cities/{home}")),
            SourceAttr::City(pick) => Some(format!("/cities/{}", pick.code())),
            SourceAttr::Named(s) => Some(format!("/cities/{s}")),
            SourceAttr::Other(attr) => attr.value(&format!("/cities/{home}")),
        };
        set(ce::SOURCE, source);
        let event_type = match &self.event_type {
            TypeAttr::Matching => Some(matching.to_owned()),
            TypeAttr::Submit => Some(ENQUIRY_SUBMIT.to_owned()),
            TypeAttr::Withdraw => Some(ENQUIRY_WITHDRAW.to_owned()),
            TypeAttr::Contract(i) => Some(ALL_TYPES[usize::from(*i) % ALL_TYPES.len()].to_owned()),
            TypeAttr::Upper => Some(matching.to_uppercase()),
            TypeAttr::Other(attr) => attr.value(matching),
        };
        set(ce::TYPE, event_type);
        set(ce::TIME, self.time.value(GOOD_TIME));
        set(
            ce::CONTENT_TYPE,
            self.content_type.value(ce::APPLICATION_JSON),
        );
        set(ce::SUBJECT, self.subject.value("enquiry"));
        set(ce::TRACEPARENT, self.traceparent.value(GOOD_TRACEPARENT));
        for (name, value) in &self.extra {
            if let Ok(name) = HeaderName::from_str(name) {
                headers.append(name, wire_value(value).as_str());
            }
        }
        const REPEATABLE: [&str; 6] = [
            ce::SPECVERSION,
            ce::ID,
            ce::SOURCE,
            ce::TYPE,
            ce::TIME,
            ce::CONTENT_TYPE,
        ];
        for (i, value) in &self.again {
            headers.append(pool(&REPEATABLE, *i), wire_value(value).as_str());
        }
        headers
    }

    /// Whether the headers are exactly the good ones (optional ones may be
    /// left out).
    fn are_good(&self) -> bool {
        let optional = |a: &Attr| matches!(a, Attr::Good | Attr::Absent);
        self.specversion.is_good()
            && self.id.is_good()
            && matches!(self.source, SourceAttr::Home)
            && matches!(self.event_type, TypeAttr::Matching)
            && optional(&self.time)
            && optional(&self.content_type)
            && optional(&self.subject)
            && optional(&self.traceparent)
            && self.extra.is_empty()
            && self.again.is_empty()
    }
}

impl Case {
    /// The message this case describes.
    pub fn build(&self) -> Message {
        let today = base_day() + Duration::days(i64::from(self.today_shift));
        let home_pick = match &self.subject {
            SubjectSpec::City(pick) => *pick,
            _ => Pick::Makassar,
        };
        let home = home_pick.code();
        let subject = match &self.subject {
            SubjectSpec::Home | SubjectSpec::City(_) => format!("ileaps.inbound.{home}.enquiry"),
            SubjectSpec::Token(token) => format!("ileaps.inbound.{token}.enquiry"),
            SubjectSpec::Raw(raw) => raw.clone(),
        };
        let (json, matching, valid_body) = match &self.body {
            BodySpec::Submission(spec, edits) => {
                let mut body = spec.to_json(home, today);
                edits.iter().for_each(|e| e.apply(&mut body));
                let valid = spec.is_valid() && edits.is_empty();
                (
                    Some(body),
                    ENQUIRY_SUBMIT,
                    valid.then_some(Expected::Submit),
                )
            }
            BodySpec::Withdrawal(spec, edits) => {
                let mut body = spec.to_json(home);
                edits.iter().for_each(|e| e.apply(&mut body));
                let valid = spec.is_valid() && edits.is_empty();
                (
                    Some(body),
                    ENQUIRY_WITHDRAW,
                    valid.then_some(Expected::Withdraw),
                )
            }
            BodySpec::Json(tree) => (Some(tree.to_value()), ENQUIRY_SUBMIT, None),
            BodySpec::Raw(_) => (None, ENQUIRY_SUBMIT, None),
        };
        let headers = match &self.headers {
            HeadersSpec::Present(attributes) => Some(attributes.headers(home, matching)),
            HeadersSpec::None => None,
        };
        let compact = match (&json, &self.body) {
            (Some(value), _) => serde_json::to_vec(value).unwrap_or_default(),
            (None, BodySpec::Raw(bytes)) => bytes.clone(),
            (None, _) => Vec::new(),
        };
        let mut unpadded = None;
        let mut render_keeps_body = true;
        let body = match &self.render {
            Render::Compact => compact,
            Render::Pretty => match &json {
                Some(value) => serde_json::to_vec_pretty(value).unwrap_or_default(),
                None => compact,
            },
            Render::PadTo(n) => {
                let target = (MAX_INBOUND_BODY_BYTES + usize::from(*n % 64)).saturating_sub(32);
                let mut body = compact.clone();
                if body.len() < target {
                    body.resize(target, b' ');
                }
                // Only JSON that serde_json wrote: raw bytes may end in the
                // middle of a value, where padding moves the error's column.
                if body.len() <= MAX_INBOUND_BODY_BYTES {
                    unpadded = json.is_some().then_some(compact);
                } else {
                    render_keeps_body = false;
                }
                body
            }
            Render::Oversize(n, fill) => {
                let len = MAX_INBOUND_BODY_BYTES + 1 + (*n as usize % (256 * 1024));
                let mut body = compact;
                body.resize(len.max(body.len()), *fill);
                render_keeps_body = false;
                body
            }
            Render::Bytes(edits) => {
                render_keeps_body = edits.is_empty();
                let mut body = compact;
                for edit in edits {
                    edit.apply(&mut body);
                }
                body
            }
            Render::DuplicateKey(slot, tree) => {
                render_keeps_body = false;
                match compact.strip_prefix(b"{") {
                    Some(rest) => {
                        let key = serde_json::to_string(slot.key_name()).unwrap_or_default();
                        let value = serde_json::to_string(&tree.to_value()).unwrap_or_default();
                        let separator = if rest.starts_with(b"}") { "" } else { "," };
                        let mut body = format!("{{{key}:{value}{separator}").into_bytes();
                        body.extend_from_slice(rest);
                        body
                    }
                    None => compact,
                }
            }
        };
        let good_headers = match &self.headers {
            HeadersSpec::Present(attributes) => attributes.are_good(),
            HeadersSpec::None => false,
        };
        let registered_home =
            home_pick != Pick::Atlantis && self.unregistered & (1 << home_pick.index()) == 0;
        let expected = valid_body.filter(|_| {
            good_headers
                && matches!(self.subject, SubjectSpec::Home | SubjectSpec::City(_))
                && registered_home
                && render_keeps_body
                && body.len() <= MAX_INBOUND_BODY_BYTES
        });
        Message {
            subject,
            headers,
            body,
            today,
            unregistered: self.unregistered,
            unpadded,
            expected,
        }
    }
}

impl ByteEdit {
    fn apply(&self, body: &mut Vec<u8>) {
        let at = |i: u16, len: usize| usize::from(i) % (len + 1);
        match *self {
            ByteEdit::Truncate(i) => body.truncate(at(i, body.len())),
            ByteEdit::Insert(i, b) => body.insert(at(i, body.len()), b),
            ByteEdit::Overwrite(i, b) => {
                if !body.is_empty() {
                    let i = usize::from(i) % body.len();
                    body[i] = b;
                }
            }
            ByteEdit::Remove(i) => {
                if !body.is_empty() {
                    body.remove(usize::from(i) % body.len());
                }
            }
        }
    }
}

// ---- the invariants --------------------------------------------------------------

/// A reason quotes at most 40 characters of input, escaped; these bounds
/// leave room for the escapes and the fixed wording.
const MAX_MESSAGE_CHARS: usize = 1_200;
const MAX_FIELD_CHARS: usize = 600;
/// Unknown fields and long lists are summed up, so reasons stay few.
const MAX_REASONS: usize = 64;

/// Checks every invariant of one message's classification; panics (a fuzz
/// finding) on the first that fails.
pub fn check(m: &Message) {
    let outcome = m.classify();

    // Deterministic: the same message gives the same outcome.
    assert_eq!(
        normalise(m, m.classify()),
        normalise(m, outcome.clone()),
        "classifying the same message twice gave two outcomes"
    );

    let subject_city = city_of_inbound(&m.subject).and_then(|c| CityCode::parse(c).ok());
    let envelope = Envelope::from_headers(m.headers.as_ref());
    let too_large = m.body.len() > MAX_INBOUND_BODY_BYTES;

    match &outcome {
        Inbound::Reject(rejection) => {
            check_rejection(m, rejection, subject_city.as_ref(), &envelope, too_large)
        }
        Inbound::Submit {
            envelope: accepted,
            submission,
        } => {
            assert!(!too_large, "a body over the limit was accepted");
            check_accepted_envelope(m, accepted, &envelope, ENQUIRY_SUBMIT, submission.city());
            check_submission(m, submission);
        }
        Inbound::Withdraw {
            envelope: accepted,
            withdrawal,
        } => {
            assert!(!too_large, "a body over the limit was accepted");
            check_accepted_envelope(m, accepted, &envelope, ENQUIRY_WITHDRAW, &withdrawal.city);
            check_withdrawal(m, withdrawal);
        }
    }

    // A message built to keep every rule is accepted, as what it was built as.
    match (m.expected, &outcome) {
        (None, _)
        | (Some(Expected::Submit), Inbound::Submit { .. })
        | (Some(Expected::Withdraw), Inbound::Withdraw { .. }) => {}
        (Some(expected), other) => {
            panic!("a message built valid as {expected:?} was classified as {other:?}")
        }
    }

    // Trailing white space within the limit changes nothing.
    if let Some(unpadded) = &m.unpadded {
        assert_eq!(
            normalise(m, m.classify_body(unpadded)),
            normalise(m, outcome),
            "padding the body with spaces (within the limit) changed its outcome"
        );
    }
}

/// The outcome with the envelope's time fixed when `ce-time` was absent (the
/// envelope then takes the time of reading).
fn normalise(m: &Message, mut outcome: Inbound) -> Inbound {
    if header(m.headers.as_ref(), ce::TIME).is_none() {
        match &mut outcome {
            Inbound::Submit { envelope, .. } | Inbound::Withdraw { envelope, .. } => {
                envelope.time = DateTime::<Utc>::UNIX_EPOCH;
            }
            Inbound::Reject(_) => {}
        }
    }
    outcome
}

fn check_rejection(
    m: &Message,
    r: &Rejection,
    subject_city: Option<&CityCode>,
    envelope: &Result<Envelope, contract::EnvelopeError>,
    too_large: bool,
) {
    assert!(!r.reasons.is_empty(), "a rejection without a reason");
    assert!(
        r.reasons.len() <= MAX_REASONS,
        "{} reasons: {:?}",
        r.reasons.len(),
        r.codes()
    );
    for reason in &r.reasons {
        assert!(
            !matches!(
                reason.code,
                RejectionCode::Unspecified
                    | RejectionCode::ReferenceConflict
                    | RejectionCode::UnknownEnquiry
            ),
            "a reason without a code this module may give: {reason:?}"
        );
        assert!(!reason.message.is_empty(), "a reason without a message");
        assert!(
            reason.message.chars().count() <= MAX_MESSAGE_CHARS,
            "a reason's message of {} characters: {reason:?}",
            reason.message.chars().count()
        );
        assert!(
            reason.field.chars().count() <= MAX_FIELD_CHARS,
            "a reason's field of {} characters: {reason:?}",
            reason.field.chars().count()
        );
        assert!(
            !reason.message.chars().any(char::is_control)
                && !reason.field.chars().any(char::is_control),
            "a reason with a raw control character: {reason:?}"
        );
    }

    // Oversized bodies: PAYLOAD_TOO_LARGE, once, and the body is not read.
    let count = |code| r.reasons.iter().filter(|x| x.code == code).count();
    if too_large {
        assert_eq!(
            count(RejectionCode::PayloadTooLarge),
            1,
            "a body of {} bytes: {:?}",
            m.body.len(),
            r.codes()
        );
        assert_eq!(
            count(RejectionCode::Malformed),
            0,
            "an oversized body was parsed"
        );
        assert_eq!(r.reference, None, "an oversized body was read");
        assert_eq!(r.contact, None, "an oversized body was read");
    } else {
        assert_eq!(
            count(RejectionCode::PayloadTooLarge),
            0,
            "a body of {} bytes is too large",
            m.body.len()
        );
    }

    // The subject: its city is kept, or its problem is a reason.
    assert_eq!(r.city.as_ref(), subject_city, "the rejection's city");
    if subject_city.is_none() {
        assert!(
            r.has(RejectionCode::InvalidField, "subject"),
            "a bad subject without its reason: {:?}",
            r.reasons
        );
    }

    // Every problem of the envelope is a reason named by its header.
    if let Err(err) = envelope {
        for problem in &err.problems {
            let found = match problem {
                ce::AttributeProblem::Missing(name) => r.has(RejectionCode::MissingAttribute, name),
                ce::AttributeProblem::Invalid { header, .. } => {
                    r.has(RejectionCode::InvalidField, header)
                }
            };
            assert!(found, "{problem:?} is not among {:?}", r.reasons);
        }
    }

    // What the rejection keeps of the message is what was sent, and safe.
    if let Some(id) = &r.inbound_id {
        assert_eq!(Some(id.as_str()), header(m.headers.as_ref(), ce::ID));
        assert!(usable(id), "an unusable ce-id kept: {id:?}");
    }
    if let Some(t) = &r.inbound_type {
        assert_eq!(Some(t.as_str()), header(m.headers.as_ref(), ce::TYPE));
        assert!(usable(t), "an unusable ce-type kept: {t:?}");
    }
    if let Some(reference) = &r.reference {
        assert_reference(reference);
    }
    if let Some(contact) = &r.contact {
        assert_contact(contact);
    }
}

fn usable(value: &str) -> bool {
    !value.is_empty() && value.len() <= 256 && !value.chars().any(char::is_control)
}

fn check_accepted_envelope(
    m: &Message,
    accepted: &Envelope,
    read: &Result<Envelope, contract::EnvelopeError>,
    event_type: &str,
    city: &CityCode,
) {
    let mut read = match read {
        Ok(read) => read.clone(),
        Err(err) => panic!("accepted with headers that are no envelope: {err}"),
    };
    let mut accepted = accepted.clone();
    if header(m.headers.as_ref(), ce::TIME).is_none() {
        accepted.time = DateTime::<Utc>::UNIX_EPOCH;
        read.time = DateTime::<Utc>::UNIX_EPOCH;
    }
    assert_eq!(accepted, read, "the accepted envelope is not the headers'");
    assert_eq!(accepted.event_type, event_type);
    assert_eq!(accepted.source, format!("/cities/{city}"));
    assert!(
        usable(&accepted.id),
        "accepted with ce-id {:?}",
        accepted.id
    );
    assert_eq!(
        header(m.headers.as_ref(), ce::SPECVERSION),
        Some(ce::SPECVERSION_1_0)
    );
    assert_eq!(
        m.subject,
        contract::subjects::inbound_enquiry(city),
        "accepted on another subject than its city's"
    );
    assert!(m.is_registered(city), "accepted from an unregistered city");
}

fn assert_reference(reference: &str) {
    let n = reference.chars().count();
    assert!((1..=64).contains(&n), "a reference of {n} characters");
    assert!(
        !reference
            .chars()
            .any(|c| c.is_control() || (c.is_whitespace() && c != ' ') || is_invisible(c)),
        "an unprintable reference: {reference:?}"
    );
    assert!(
        !reference.starts_with(' ') && !reference.ends_with(' '),
        "a reference with surrounding spaces: {reference:?}"
    );
}

/// Format and bidi characters a reference must not hide.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

fn assert_contact(contact: &ValidContact) {
    let name = contact.name.as_str();
    let n = name.chars().count();
    assert!((1..=200).contains(&n), "a contact name of {n} characters");
    assert_eq!(name, name.trim(), "an untrimmed contact name");
    assert!(!name.chars().any(char::is_control), "{name:?}");
    let email = contact.email.as_str();
    assert!(email.len() <= 254, "an email of {} bytes", email.len());
    let (local, domain) = email.split_once('@').expect("an email has an @");
    assert!(!local.is_empty() && !domain.contains('@'), "{email:?}");
    assert!(domain.contains('.'), "{email:?}");
    assert_eq!(domain, domain.to_ascii_lowercase(), "{email:?}");
    assert!(!email.chars().any(|c| c.is_whitespace() || c.is_control()));
    if let Some(phone) = &contact.phone {
        let phone = phone.as_str();
        assert!(phone.len() <= 32, "{phone:?}");
        assert!(phone.chars().any(|c| c.is_ascii_digit()), "{phone:?}");
    }
}

fn check_submission(m: &Message, s: &ValidSubmission) {
    assert_reference(s.reference().as_str());
    assert!(KINDS.contains(&s.kind()), "{:?}", s.kind());

    let topics = s.topics().as_slice();
    assert!(
        (1..=5).contains(&topics.len()),
        "{} topics accepted",
        topics.len()
    );
    for (i, topic) in topics.iter().enumerate() {
        assert!(TOPICS.contains(topic), "{topic:?} accepted");
        assert!(!topics[..i].contains(topic), "{topic:?} accepted twice");
    }

    let window = s.window();
    assert!(window.end() >= window.start(), "{window:?}");
    let days = (window.end() - window.start()).num_days() + 1;
    assert!(days <= 365, "a window of {days} days accepted");
    assert_eq!(window.days(), days);
    assert!(window.start() >= m.today, "a window in the past accepted");

    match s.participants() {
        Some(p) => assert!((1..=200).contains(&p.get()), "{} participants", p.get()),
        None => assert_ne!(s.kind(), EnquiryKind::JointWorkshop, "a workshop of nobody"),
    }

    let languages = s.languages().as_slice();
    assert!((1..=5).contains(&languages.len()), "{languages:?}");
    for (i, language) in languages.iter().enumerate() {
        assert!(!languages[..i].contains(language), "{language:?} twice");
    }
    assert!(FORMATS.contains(&s.format()), "{:?}", s.format());
    assert_ne!(s.format(), Format::Unspecified);
    assert_contact(s.contact());

    if let Some(d) = s.description() {
        let n = d.chars().count();
        assert!((1..=4_000).contains(&n), "a description of {n} characters");
        assert!(
            !d.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
            "a description with control characters"
        );
    }

    let fingerprint = s.fingerprint();
    assert_eq!(fingerprint.len(), 64);
    assert!(
        fingerprint
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert_eq!(fingerprint, s.clone().fingerprint());

    // Its normal form, sent again, is the same submission.
    let again = m.classify_body(&s.to_proto().to_json());
    match again {
        Inbound::Submit { submission, .. } => {
            assert_eq!(&submission, s, "the normal form is another submission");
            assert_eq!(submission.fingerprint(), fingerprint);
        }
        other => panic!("the normal form of an accepted submission gave {other:?}"),
    }
}

fn check_withdrawal(m: &Message, w: &ValidWithdrawal) {
    assert_reference(w.reference.as_str());
    if let Some(reason) = &w.reason {
        let reason = reason.as_str();
        let n = reason.chars().count();
        assert!((1..=1_000).contains(&n), "a reason of {n} characters");
        assert!(
            !reason
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
        );
    }
    let again = m.classify_body(&w.to_proto().to_json());
    match again {
        Inbound::Withdraw { withdrawal, .. } => {
            assert_eq!(&withdrawal, w, "the normal form is another withdrawal")
        }
        other => panic!("the normal form of an accepted withdrawal gave {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(data: &[u8]) -> Inbound {
        let m = match data.strip_prefix(b"MSG ") {
            Some(text) => Message::literal(text),
            None => Case::arbitrary_take_rest(Unstructured::new(data))
                .unwrap()
                .build(),
        };
        check(&m);
        m.classify()
    }

    #[test]
    fn the_empty_input_is_a_valid_submission() {
        assert!(matches!(outcome(b""), Inbound::Submit { .. }));
    }

    #[test]
    fn every_seed_runs_clean() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/inbound");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy();
            if !name.starts_with("seed-") {
                continue; // grown by the fuzzer, not committed
            }
            run(&std::fs::read(&path).unwrap());
            seen += 1;
        }
        assert!(seen > 0);
    }
}
