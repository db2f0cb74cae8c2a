//! The expert roster file operators import (`ileaps admin experts import
//! FILE`; the demo's is `deploy/seed/experts.yaml`), YAML or JSON:
//!
//! ```yaml
//! experts:
//!   - id: kim-jiwoo                 # 2-64 characters of a-z, 0-9 and '-'; unique
//!     displayName: Kim Ji-woo       # 1-200 printable characters; public
//!     email: jiwoo.kim@seoul.example  # personal data: internal stream only
//!     topics: [URBAN_PLANNING, TRANSPORT]  # 1+ contract topic names, no repeats
//!     languages: [ko, en]           # 1+ lower-case BCP 47 tags, first preferred
//!     timeZone: Asia/Seoul          # IANA zone; unavailable days are days here
//!     monthlyLimit: 4               # optional, 1-31, default 4
//!     unavailable:                  # optional; inclusive days, start <= end
//!       - {start: 2027-02-01, end: 2027-02-14, reason: leave}
//! ```
//!
//! [`RosterFile::parse`] checks everything and reports every problem at
//! once, each with its path (`experts[3].timeZone: unknown IANA zone
//! "Asia/Nowhere"`). Only a file whose shape is wrong (not YAML, a field
//! of the wrong type, an unknown field) stops at its first problem, as
//! the parser reports it. A `reason` is for the operator's own notes and is
//! not kept.

use chrono::NaiveDate;
use chrono_tz::Tz;
use contract::proto::assignment::v1::ExpertContact;
use contract::proto::common::v1::Topic;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::domain::{Expert, ExpertId};

/// The file as written: strings everywhere, so every bad value is reported
/// with its path instead of stopping the parse.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RosterDocument {
    pub experts: Vec<ExpertRecord>,
}

/// One expert as written. Missing fields are reported by
/// [`RosterDocument::validate`], not by the parser.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpertRecord {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Signed, so a negative limit is a reported problem, not a parse error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<UnavailableRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnavailableRecord {
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A checked roster, in the file's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterFile {
    pub entries: Vec<RosterEntry>,
}

/// One checked expert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    /// What the matcher needs; public-safe.
    pub expert: Expert,
    /// Personal data: kept apart from [`Expert`] so it can only travel
    /// where it is meant to (`ileaps.internal.>`, see [`Self::to_contact`]).
    pub email: String,
    /// The first language listed: what to write to the expert in.
    pub preferred_language: String,
}

impl RosterEntry {
    /// The body of `ileaps.expert.contact.v1` for this expert.
    pub fn to_contact(&self) -> ExpertContact {
        ExpertContact {
            expert_id: self.expert.id.as_str().to_owned(),
            display_name: self.expert.display_name.clone(),
            email: self.email.clone(),
            preferred_language: self.preferred_language.clone(),
            time_zone: self.expert.time_zone.name().to_owned(),
        }
    }
}

/// One problem of a roster file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where, e.g. `experts[3].timeZone`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error("not a roster file (YAML): {0}")]
    Yaml(#[source] serde_yaml::Error),
    #[error("not a roster file (JSON): {0}")]
    Json(#[source] serde_json::Error),
    /// Every problem found, one per line when displayed.
    #[error("{}", lines(.0))]
    Invalid(Vec<Problem>),
}

fn lines(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

const DISPLAY_NAME_MAX_CHARS: usize = 200;
const REASON_MAX_CHARS: usize = 200;
const MONTHLY_LIMIT: std::ops::RangeInclusive<i64> = 1..=31;

impl RosterFile {
    /// Parses and checks a roster in YAML or JSON (a text whose first
    /// non-blank character is `{` is read as JSON).
    pub fn parse(text: &str) -> Result<Self, RosterError> {
        let document: RosterDocument = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(RosterError::Json)?
        } else {
            serde_yaml::from_str(text).map_err(RosterError::Yaml)?
        };
        document.validate()
    }

    /// The matcher's view of every entry.
    pub fn experts(&self) -> Vec<Expert> {
        self.entries.iter().map(|e| e.expert.clone()).collect()
    }
}

impl RosterDocument {
    /// Checks every entry, reporting every problem. An expert without a
    /// `monthlyLimit` gets [`Expert::DEFAULT_MONTHLY_LIMIT`].
    pub fn validate(&self) -> Result<RosterFile, RosterError> {
        self.validate_with(Expert::DEFAULT_MONTHLY_LIMIT)
    }

    /// [`validate`](Self::validate), with `default_monthly_limit` for an
    /// expert without a `monthlyLimit` (the operator's setting).
    pub fn validate_with(&self, default_monthly_limit: u32) -> Result<RosterFile, RosterError> {
        let mut problems = Vec::new();
        let mut first_at: BTreeMap<&str, usize> = BTreeMap::new();
        let mut entries = Vec::new();
        for (i, record) in self.experts.iter().enumerate() {
            let mut check = Check {
                at: format!("experts[{i}]"),
                default_monthly_limit,
                problems: &mut problems,
            };
            if let Some(id) = &record.id
                && let Some(first) = first_at.get(id.as_str())
            {
                check.problem(
                    "id",
                    format!("{} appears twice (first at experts[{first}])", echo(id)),
                );
            } else if let Some(id) = &record.id {
                first_at.insert(id, i);
            }
            if let Some(entry) = check.record(record) {
                entries.push(entry);
            }
        }
        if problems.is_empty() {
            Ok(RosterFile { entries })
        } else {
            Err(RosterError::Invalid(problems))
        }
    }
}

/// Checks one record, collecting problems under its path.
struct Check<'p> {
    at: String,
    default_monthly_limit: u32,
    problems: &'p mut Vec<Problem>,
}

impl Check<'_> {
    fn problem(&mut self, field: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: format!("{}.{field}", self.at),
            message: message.into(),
        });
    }

    fn required<'r>(&mut self, field: &str, value: Option<&'r String>) -> Option<&'r str> {
        if value.is_none() {
            self.problem(field, "is required");
        }
        value.map(String::as_str)
    }

    fn record(&mut self, record: &ExpertRecord) -> Option<RosterEntry> {
        let before = self.problems.len();
        let id = self.required("id", record.id.as_ref()).and_then(|raw| {
            ExpertId::parse(raw)
                .map_err(|_| {
                    self.problem(
                        "id",
                        format!("{} must be 2-64 characters of a-z, 0-9 and '-'", echo(raw)),
                    );
                })
                .ok()
        });
        let display_name = self
            .required("displayName", record.display_name.as_ref())
            .and_then(|raw| self.display_name(raw));
        let email = self
            .required("email", record.email.as_ref())
            .and_then(|raw| self.email(raw));
        let topics = self.topics(&record.topics);
        let languages = self.languages(&record.languages);
        let time_zone = self
            .required("timeZone", record.time_zone.as_ref())
            .and_then(|raw| {
                raw.parse::<Tz>()
                    .map_err(|_| {
                        self.problem("timeZone", format!("unknown IANA zone {}", echo(raw)))
                    })
                    .ok()
            });
        let monthly_limit = self.monthly_limit(record.monthly_limit);
        let unavailable = self.unavailable(&record.unavailable);
        if self.problems.len() != before {
            return None;
        }
        Some(RosterEntry {
            expert: Expert {
                id: id?,
                display_name: display_name?,
                topics,
                languages: languages.iter().cloned().collect(),
                time_zone: time_zone?,
                unavailable,
                monthly_limit,
            },
            email: email?,
            preferred_language: languages.first()?.clone(),
        })
    }

    fn display_name(&mut self, raw: &str) -> Option<String> {
        let name = raw.trim();
        let chars = name.chars().count();
        if (1..=DISPLAY_NAME_MAX_CHARS).contains(&chars) && !name.chars().any(char::is_control) {
            Some(name.to_owned())
        } else {
            self.problem(
                "displayName",
                format!("must be 1-{DISPLAY_NAME_MAX_CHARS} printable characters"),
            );
            None
        }
    }

    fn email(&mut self, raw: &str) -> Option<String> {
        if let Err(why) = email_shape(raw) {
            self.problem(
                "email",
                format!(
                    "{} is not an email address like name@seoul.example: {why}",
                    echo(raw)
                ),
            );
            return None;
        }
        Some(raw.to_owned())
    }

    fn topics(&mut self, raw: &[String]) -> BTreeSet<Topic> {
        if raw.is_empty() {
            self.problem("topics", "must list at least one topic");
        }
        let mut topics = BTreeSet::new();
        for (j, name) in raw.iter().enumerate() {
            let field = format!("topics[{j}]");
            match Topic::from_str_name(name) {
                Some(topic) if topic != Topic::Unspecified => {
                    if !topics.insert(topic) {
                        self.problem(&field, format!("{} is listed twice", echo(name)));
                    }
                }
                _ => self.problem(
                    &field,
                    format!(
                        "unknown topic {}; expected one of {}",
                        echo(name),
                        topic_names()
                    ),
                ),
            }
        }
        topics
    }

    /// The tags in the file's order (the first is the preferred one).
    fn languages(&mut self, raw: &[String]) -> Vec<String> {
        if raw.is_empty() {
            self.problem("languages", "must list at least one language");
        }
        let mut languages: Vec<String> = Vec::new();
        for (j, tag) in raw.iter().enumerate() {
            let field = format!("languages[{j}]");
            if !is_language_tag(tag) {
                self.problem(
                    &field,
                    format!(
                        "{} is not a lower-case language tag like \"ko\" or \"en\"",
                        echo(tag)
                    ),
                );
            } else if languages.contains(tag) {
                self.problem(&field, format!("{} is listed twice", echo(tag)));
            } else {
                languages.push(tag.clone());
            }
        }
        languages
    }

    fn monthly_limit(&mut self, raw: Option<i64>) -> u32 {
        match raw {
            None => self.default_monthly_limit,
            Some(limit) if MONTHLY_LIMIT.contains(&limit) => {
                u32::try_from(limit).expect("1-31 fits in u32")
            }
            Some(limit) => {
                self.problem("monthlyLimit", format!("must be 1-31, not {limit}"));
                0
            }
        }
    }

    fn unavailable(&mut self, raw: &[UnavailableRecord]) -> Vec<(NaiveDate, NaiveDate)> {
        let mut periods = Vec::new();
        for (k, record) in raw.iter().enumerate() {
            let field = format!("unavailable[{k}]");
            let date = |check: &mut Self, name: &str, value: Option<&String>| {
                let path = format!("{field}.{name}");
                match value {
                    None => {
                        check.problem(&path, "is required");
                        None
                    }
                    Some(raw) => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                        .map_err(|_| {
                            check.problem(
                                &path,
                                format!("{} is not a date like 2027-02-01", echo(raw)),
                            );
                        })
                        .ok(),
                }
            };
            let start = date(self, "start", record.start.as_ref());
            let end = date(self, "end", record.end.as_ref());
            if let Some(reason) = &record.reason
                && reason.chars().count() > REASON_MAX_CHARS
            {
                self.problem(
                    &format!("{field}.reason"),
                    format!("must be at most {REASON_MAX_CHARS} characters"),
                );
            }
            if let (Some(start), Some(end)) = (start, end) {
                if end < start {
                    self.problem(&field, format!("ends ({end}) before it starts ({start})"));
                } else {
                    periods.push((start, end));
                }
            }
        }
        periods
    }
}

/// Why `raw` is not an email address: one `@`, a local part of 1-64
/// printable non-space characters, a domain of at least two dot-separated
/// labels of letters, digits and inner hyphens, 254 bytes in all.
fn email_shape(raw: &str) -> Result<(), &'static str> {
    if raw.len() > 254 {
        return Err("longer than 254 bytes");
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains white space or control characters");
    }
    let Some((local, domain)) = raw.split_once('@') else {
        return Err("has no @");
    };
    if domain.contains('@') {
        return Err("has more than one @");
    }
    if local.is_empty() || local.len() > 64 {
        return Err("the part before @ must be 1-64 bytes");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c == '-' || c.is_alphanumeric())
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err("the part after @ is not a domain name");
    }
    Ok(())
}

/// A lower-case tag: a 2-3 letter language, then `-`-separated subtags of
/// 1-8 lower-case letters or digits (`ko`, `en`, `zh-hant`, `es-419`).
fn is_language_tag(tag: &str) -> bool {
    let mut subtags = tag.split('-');
    let primary_ok = subtags
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_lowercase()));
    primary_ok
        && tag.len() <= 35
        && subtags.all(|s| {
            (1..=8).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn topic_names() -> String {
    (1..)
        .map_while(|i| Topic::try_from(i).ok())
        .map(|t| t.as_str_name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value quoted for a message, capped so a huge one cannot flood it.
fn echo(raw: &str) -> String {
    const MAX: usize = 64;
    if raw.chars().count() > MAX {
        format!("{:?}…", raw.chars().take(MAX).collect::<String>())
    } else {
        format!("{raw:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = include_str!("../../../deploy/seed/experts.yaml");

    const EXAMPLE: &str = "
experts:
  - id: kim-jiwoo
    displayName: Kim Ji-woo
    email: jiwoo.kim@seoul.example
    topics: [URBAN_PLANNING, TRANSPORT]
    languages: [ko, en]
    timeZone: Asia/Seoul
    unavailable:
      - {start: 2027-02-01, end: 2027-02-14, reason: leave}
";

    fn problems(text: &str) -> Vec<String> {
        match RosterFile::parse(text) {
            Err(RosterError::Invalid(problems)) => {
                problems.iter().map(ToString::to_string).collect()
            }
            other => panic!("expected problems, got {other:?}"),
        }
    }

    /// One valid entry in YAML flow style with `field` replaced (or added).
    fn entry_with(field: &str, value: &str) -> String {
        let mut fields = vec![
            ("id", "e1".to_owned()),
            ("displayName", "E One".to_owned()),
            ("email", "e1@seoul.example".to_owned()),
            ("topics", "[TRANSPORT]".to_owned()),
            ("languages", "[ko]".to_owned()),
            ("timeZone", "Asia/Seoul".to_owned()),
        ];
        match fields.iter_mut().find(|(name, _)| *name == field) {
            Some(slot) => slot.1 = value.to_owned(),
            None => fields.push((field, value.to_owned())),
        }
        let body: Vec<String> = fields
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        format!("experts:\n  - {{{}}}\n", body.join(", "))
    }

    #[test]
    fn the_seed_roster_parses_and_covers_every_topic_but_housing() {
        let roster = RosterFile::parse(SEED).unwrap();
        assert!((16..=20).contains(&roster.entries.len()));
        let covered: BTreeSet<Topic> = roster
            .entries
            .iter()
            .flat_map(|e| e.expert.topics.iter().copied())
            .collect();
        let every: BTreeSet<Topic> = (1..)
            .map_while(|i| Topic::try_from(i).ok())
            .filter(|t| *t != Topic::Housing)
            .collect();
        assert_eq!(covered, every);
        assert!(
            roster
                .entries
                .iter()
                .all(|e| e.email.ends_with("@seoul.example"))
        );
        let only_korean = roster
            .entries
            .iter()
            .filter(|e| e.expert.languages == BTreeSet::from(["ko".to_owned()]))
            .count();
        assert!((1..=2).contains(&only_korean));
        assert!(
            roster
                .entries
                .iter()
                .any(|e| e.expert.time_zone != Tz::Asia__Seoul)
        );
        assert!(roster.entries.iter().any(|e| e.expert.monthly_limit == 2));
        assert!(
            roster
                .entries
                .iter()
                .any(|e| !e.expert.unavailable.is_empty())
        );
    }

    #[test]
    fn an_expert_without_a_limit_gets_the_operators_default_and_one_with_keeps_theirs() {
        let document: RosterDocument = serde_yaml::from_str(EXAMPLE).unwrap();
        let roster = document.validate_with(7).unwrap();
        assert_eq!(roster.entries[0].expert.monthly_limit, 7);
        let mut document = document;
        document.experts[0].monthly_limit = Some(2);
        assert_eq!(
            document.validate_with(7).unwrap().entries[0]
                .expert
                .monthly_limit,
            2
        );
    }

    #[test]
    fn the_documented_example_parses_with_the_default_limit_and_the_email_apart() {
        let roster = RosterFile::parse(EXAMPLE).unwrap();
        let [entry] = roster.entries.as_slice() else {
            panic!("{roster:?}")
        };
        assert_eq!(entry.expert.id.as_str(), "kim-jiwoo");
        assert_eq!(entry.expert.display_name, "Kim Ji-woo");
        assert_eq!(
            entry.expert.topics,
            BTreeSet::from([Topic::UrbanPlanning, Topic::Transport])
        );
        assert_eq!(entry.expert.monthly_limit, Expert::DEFAULT_MONTHLY_LIMIT);
        assert_eq!(entry.expert.time_zone, Tz::Asia__Seoul);
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            entry.expert.unavailable,
            [(day("2027-02-01"), day("2027-02-14"))]
        );
        assert_eq!(entry.email, "jiwoo.kim@seoul.example");
        assert_eq!(entry.preferred_language, "ko");
        assert!(!format!("{:?}", entry.expert).contains("seoul.example"));
    }

    #[test]
    fn json_is_read_as_well_as_yaml() {
        let json = r#"{"experts": [{"id": "e1", "displayName": "E", "email": "e@seoul.example",
            "topics": ["HOUSING"], "languages": ["en"], "timeZone": "UTC", "monthlyLimit": 31}]}"#;
        let roster = RosterFile::parse(json).unwrap();
        assert_eq!(roster.entries[0].expert.monthly_limit, 31);
    }

    #[test]
    fn a_document_written_as_json_reads_back_the_same() {
        let document: RosterDocument = serde_yaml::from_str(SEED).unwrap();
        let json = serde_json::to_string(&document).unwrap();
        assert_eq!(
            RosterFile::parse(&json).unwrap(),
            RosterFile::parse(SEED).unwrap()
        );
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_path() {
        let text = "
experts:
  - {id: ok-one, displayName: Fine, email: a@seoul.example, topics: [TRANSPORT], languages: [ko], timeZone: Asia/Seoul}
  - id: Bad_Id
    displayName: ''
    email: not-an-address
    topics: [TRANSPORT, TRANSPORTATION, TRANSPORT]
    languages: [KO, en, en]
    timeZone: Asia/Seoul
    monthlyLimit: 0
    unavailable:
      - {start: 2027-02-14, end: 2027-02-01}
      - {start: 2027-02-30, end: soon}
  - {id: e2, displayName: E, email: e@seoul.example, topics: [], languages: [], timeZone: UTC}
  - {id: e3, displayName: E, email: e@seoul.example, topics: [TRANSPORT], languages: [en], timeZone: Asia/Nowhere}
";
        let found = problems(text);
        for expected in [
            "experts[1].id: \"Bad_Id\" must be 2-64 characters of a-z, 0-9 and '-'",
            "experts[1].displayName: must be 1-200 printable characters",
            "experts[1].email: \"not-an-address\" is not an email address like name@seoul.example: has no @",
            "experts[1].topics[1]: unknown topic \"TRANSPORTATION\"",
            "experts[1].topics[2]: \"TRANSPORT\" is listed twice",
            "experts[1].languages[0]: \"KO\" is not a lower-case language tag",
            "experts[1].languages[2]: \"en\" is listed twice",
            "experts[1].monthlyLimit: must be 1-31, not 0",
            "experts[1].unavailable[0]: ends (2027-02-01) before it starts (2027-02-14)",
            "experts[1].unavailable[1].start: \"2027-02-30\" is not a date",
            "experts[1].unavailable[1].end: \"soon\" is not a date",
            "experts[2].topics: must list at least one topic",
            "experts[2].languages: must list at least one language",
            "experts[3].timeZone: unknown IANA zone \"Asia/Nowhere\"",
        ] {
            assert!(
                found.iter().any(|p| p.starts_with(expected)),
                "{expected:?} missing from {found:#?}"
            );
        }
        assert_eq!(found.len(), 14, "{found:#?}");
        assert!(!found.iter().any(|p| p.starts_with("experts[0]")));
    }

    #[test]
    fn a_repeated_id_names_where_it_first_appeared() {
        let entry = "{id: kim, displayName: K, email: k@seoul.example, topics: [TRANSPORT], languages: [ko], timeZone: Asia/Seoul}";
        let found = problems(&format!(
            "experts:\n  - {entry}\n  - {}\n  - {entry}\n",
            entry.replace("kim", "lee")
        ));
        assert_eq!(
            found,
            ["experts[2].id: \"kim\" appears twice (first at experts[0])"]
        );
    }

    #[test]
    fn missing_fields_are_reported_as_problems_not_as_a_parse_error() {
        let found = problems("experts:\n  - {topics: [TRANSPORT], languages: [ko]}\n");
        assert_eq!(
            found,
            [
                "experts[0].id: is required",
                "experts[0].displayName: is required",
                "experts[0].email: is required",
                "experts[0].timeZone: is required",
            ]
        );
        let found = problems(&entry_with("unavailable", "[{start: 2027-01-01}]"));
        assert_eq!(found, ["experts[0].unavailable[0].end: is required"]);
    }

    #[test]
    fn an_unknown_field_or_a_wrong_shape_stops_the_parse_with_its_location() {
        let err = RosterFile::parse(&entry_with("phone", "'123'")).unwrap_err();
        assert!(matches!(err, RosterError::Yaml(_)), "{err}");
        assert!(err.to_string().contains("phone"), "{err}");
        let err = RosterFile::parse(&entry_with("topics", "TRANSPORT")).unwrap_err();
        assert!(err.to_string().contains("experts[0].topics"), "{err}");
        assert!(matches!(
            RosterFile::parse("{\"experts\": [}"),
            Err(RosterError::Json(_))
        ));
    }

    #[test]
    fn the_monthly_limit_is_one_to_thirty_one() {
        for ok in ["1", "31"] {
            assert!(
                RosterFile::parse(&entry_with("monthlyLimit", ok)).is_ok(),
                "{ok}"
            );
        }
        for bad in ["0", "32", "-1"] {
            assert_eq!(
                problems(&entry_with("monthlyLimit", bad)),
                [format!("experts[0].monthlyLimit: must be 1-31, not {bad}")]
            );
        }
    }

    #[test]
    fn a_one_day_unavailability_is_fine_and_a_long_reason_is_not() {
        let one_day = entry_with("unavailable", "[{start: 2027-05-05, end: 2027-05-05}]");
        assert!(RosterFile::parse(&one_day).is_ok());
        let long = entry_with(
            "unavailable",
            &format!(
                "[{{start: 2027-05-05, end: 2027-05-05, reason: {}}}]",
                "x".repeat(201)
            ),
        );
        assert_eq!(
            problems(&long),
            ["experts[0].unavailable[0].reason: must be at most 200 characters"]
        );
    }

    #[test]
    fn email_addresses_have_the_usual_shape() {
        for ok in [
            "a@seoul.example",
            "first.last+tag@sub.seoul-city.example",
            "박@서울.kr",
        ] {
            assert!(email_shape(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "plain",
            "@seoul.example",
            "a@",
            "a@localhost",
            "a@b@seoul.example",
            "a b@seoul.example",
            "a@-seoul.example",
            "a@seoul..example",
            &format!("{}@seoul.example", "a".repeat(65)),
        ] {
            assert!(email_shape(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn language_tags_are_lower_case_bcp47_shapes() {
        for ok in ["ko", "en", "dv", "fil", "zh-hant", "es-419"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "k", "KO", "en_US", "en-", "korean", "en-GB", "ko kr"] {
            assert!(!is_language_tag(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_huge_value_is_quoted_but_capped() {
        let found = problems(&entry_with("timeZone", &"x".repeat(10_000)));
        assert!(found[0].len() < 150, "{}", found[0]);
    }

    #[test]
    fn the_contact_event_carries_the_email_and_home_zone() {
        let roster = RosterFile::parse(EXAMPLE).unwrap();
        let contact = roster.entries[0].to_contact();
        assert_eq!(contact.expert_id, "kim-jiwoo");
        assert_eq!(contact.email, "jiwoo.kim@seoul.example");
        assert_eq!(contact.preferred_language, "ko");
        assert_eq!(contact.time_zone, "Asia/Seoul");
    }
}
