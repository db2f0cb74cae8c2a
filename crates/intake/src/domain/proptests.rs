//! Properties of classification: generated valid submissions are accepted and
//! round-trip; breaking any one rule of a valid submission yields that rule's
//! code at that rule's field; breaking two unrelated rules yields both.

use async_nats::HeaderMap;
use chrono::{Duration, NaiveDate};
use contract::proto::common::v1::{DateWindow, EnquiryKind};
use contract::proto::enquiry::v1::{Contact, EnquirySubmission};
use contract::{CityCode, CloudEvent};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use serde_json::{Value, json};
use std::hash::{Hash, Hasher};

use super::submission::{FORMATS, KINDS, TOPICS};
use super::testkit::{SUBJECT, classify_raw_on, registered, submit_headers, today};
use super::{Inbound, Rejection, RejectionCode as Code};

const LANGUAGE_POOL: [&str; 13] = [
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

fn ymd(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

prop_compose! {
    fn window()(offset in 0i64..800, extra in 0i64..365) -> DateWindow {
        let start = today() + Duration::days(offset);
        DateWindow { start: ymd(start), end: ymd(start + Duration::days(extra)) }
    }
}

prop_compose! {
    fn contact()(
        name in "[\\p{L}][\\p{L} .'-]{0,40}[\\p{L}]",
        email in "[a-z0-9]{1,10}(\\.[a-z0-9_+-]{1,10}){0,2}@[a-z0-9]{1,10}(-[a-z0-9]{1,5})?(\\.[a-z0-9]{1,10})?\\.[a-z]{2,6}",
        phone in proptest::option::of("\\+?[0-9]{1,3}( [0-9]{2,4}){1,4}"),
    ) -> Contact {
        Contact { name, email, phone }
    }
}

prop_compose! {
    /// A submission that keeps every rule, in normalised form (what
    /// `to_proto` gives back), from Makassar.
    fn valid_submission()(
        reference in prop_oneof![
            "[A-Za-z0-9]",
            "[A-Za-z0-9][A-Za-z0-9 ._/#-]{0,62}[A-Za-z0-9]",
            "[\\p{L}\\p{N}][\\p{L}\\p{N} -]{0,30}[\\p{L}\\p{N}]",
        ],
        kind in select(KINDS.to_vec()),
        topics in subsequence(TOPICS.to_vec(), 1..=5).prop_shuffle(),
        preferred_window in window(),
        participants in 1u32..=200,
        has_participants in any::<bool>(),
        languages in subsequence(LANGUAGE_POOL.to_vec(), 1..=5).prop_shuffle(),
        format in select(FORMATS.to_vec()),
        contact in contact(),
        description in "([^\\p{Cc}\\p{Zl}\\p{Zp}]|\n|\t){0,120}",
    ) -> EnquirySubmission {
        let participants = (kind == EnquiryKind::JointWorkshop || has_participants)
            .then_some(participants);
        EnquirySubmission {
            reference,
            city: "makassar".into(),
            kind: kind.into(),
            topics: topics.into_iter().map(Into::into).collect(),
            preferred_window: Some(preferred_window),
            participants,
            languages: languages.into_iter().map(str::to_owned).collect(),
            format: format.into(),
            contact: Some(contact),
            description,
        }
    }
}

/// One message to classify, and the registry it meets.
#[derive(Debug, Clone)]
struct Case {
    subject: String,
    headers: HeaderMap,
    body: Value,
    /// Replaces the body's JSON when set.
    raw: Option<Vec<u8>>,
    registered: bool,
}

impl Case {
    fn of(submission: &EnquirySubmission) -> Self {
        Self {
            subject: SUBJECT.to_owned(),
            headers: submit_headers(),
            body: serde_json::from_slice(&submission.to_json()).unwrap(),
            raw: None,
            registered: true,
        }
    }

    fn classify(&self) -> Inbound {
        let body = self
            .raw
            .clone()
            .unwrap_or_else(|| self.body.to_string().into_bytes());
        let is_registered = |city: &CityCode| self.registered && registered(city);
        classify_raw_on(&self.subject, Some(&self.headers), &body, &is_registered)
    }

    fn date(&self, which: &str) -> NaiveDate {
        super::window::parse_date(self.body["preferredWindow"][which].as_str().unwrap()).unwrap()
    }

    fn set_date(&mut self, which: &str, day: NaiveDate) {
        self.body["preferredWindow"][which] = json!(ymd(day));
    }
}

/// One rule of the contract and how to break it.
struct Rule {
    name: &'static str,
    code: Code,
    field: &'static str,
    /// Rules in one group may interfere (one hides the other); rules in
    /// different groups never do. `None`: the rule stops the body from being
    /// read at all, so it combines with nothing.
    group: Option<&'static str>,
    break_it: fn(&mut Case),
}

fn rule(
    name: &'static str,
    code: Code,
    field: &'static str,
    group: Option<&'static str>,
    break_it: fn(&mut Case),
) -> Rule {
    Rule {
        name,
        code,
        field,
        group,
        break_it,
    }
}

fn rules() -> Vec<Rule> {
    use Code::*;
    vec![
        // the whole body
        rule("not JSON", Malformed, "", None, |c| {
            c.raw = Some(b"{\"reference\":".to_vec())
        }),
        rule("not an object", Malformed, "", None, |c| {
            c.raw = Some(b"[]".to_vec())
        }),
        rule("duplicate key", Malformed, "", None, |c| {
            let text = c.body.to_string();
            c.raw = Some(format!("{{\"city\":\"makassar\",{}", &text[1..]).into_bytes());
        }),
        rule("over 64 KiB", PayloadTooLarge, "", None, |c| {
            let mut body = c.body.to_string().into_bytes();
            body.resize(contract::MAX_INBOUND_BODY_BYTES + 1, b' ');
            c.raw = Some(body);
        }),
        // headers and subject
        rule("no ce-id", MissingAttribute, "ce-id", Some("ce-id"), |c| {
            c.headers.insert("ce-id", "");
        }),
        rule(
            "no ce-source",
            MissingAttribute,
            "ce-source",
            Some("origin"),
            |c| {
                c.headers.insert("ce-source", "");
            },
        ),
        rule(
            "no ce-specversion",
            MissingAttribute,
            "ce-specversion",
            Some("specversion"),
            |c| {
                c.headers.insert("ce-specversion", "");
            },
        ),
        rule("no ce-type", MissingAttribute, "ce-type", None, |c| {
            c.headers.insert("ce-type", "");
        }),
        rule("another type", UnsupportedType, "ce-type", None, |c| {
            c.headers.insert("ce-type", "ileaps.enquiry.submit.v2");
        }),
        rule(
            "wrong specversion",
            InvalidField,
            "ce-specversion",
            Some("specversion"),
            |c| {
                c.headers.insert("ce-specversion", "0.3");
            },
        ),
        rule(
            "source of another city",
            CityMismatch,
            "ce-source",
            Some("origin"),
            |c| {
                c.headers.insert("ce-source", "/cities/colombo");
            },
        ),
        rule(
            "source not a city",
            InvalidField,
            "ce-source",
            Some("origin"),
            |c| {
                c.headers.insert("ce-source", "/ileaps/intake");
            },
        ),
        rule(
            "bad subject",
            InvalidField,
            "subject",
            Some("origin"),
            |c| {
                c.subject = "ileaps.inbound.MAKASSAR.enquiry".into();
            },
        ),
        // city
        rule(
            "city of another",
            CityMismatch,
            "city",
            Some("origin"),
            |c| {
                c.body["city"] = json!("colombo");
            },
        ),
        rule(
            "city not registered",
            UnknownCity,
            "city",
            Some("origin"),
            |c| {
                c.registered = false;
            },
        ),
        rule(
            "city not a code",
            InvalidField,
            "city",
            Some("origin"),
            |c| {
                c.body["city"] = json!("Makassar");
            },
        ),
        // reference
        rule(
            "no reference",
            InvalidField,
            "reference",
            Some("reference"),
            |c| {
                c.body.as_object_mut().unwrap().remove("reference");
            },
        ),
        rule(
            "reference too long",
            InvalidField,
            "reference",
            Some("reference"),
            |c| {
                c.body["reference"] = json!("R".repeat(65));
            },
        ),
        rule(
            "reference with control",
            InvalidField,
            "reference",
            Some("reference"),
            |c| {
                c.body["reference"] = json!("MKS\u{8}1");
            },
        ),
        // kind and participants
        rule("unknown kind", InvalidField, "kind", Some("kind"), |c| {
            c.body["kind"] = json!("HACKATHON");
        }),
        rule(
            "workshop without participants",
            InvalidField,
            "participants",
            Some("kind"),
            |c| {
                c.body["kind"] = json!("JOINT_WORKSHOP");
                c.body.as_object_mut().unwrap().remove("participants");
            },
        ),
        rule(
            "participants out of range",
            InvalidField,
            "participants",
            Some("participants"),
            |c| {
                c.body["participants"] = json!(201);
            },
        ),
        rule(
            "no participants at all",
            InvalidField,
            "participants",
            Some("participants"),
            |c| {
                c.body["participants"] = json!(0);
            },
        ),
        // topics
        rule("no topics", InvalidField, "topics", Some("topics"), |c| {
            c.body["topics"] = json!([])
        }),
        rule("six topics", InvalidField, "topics", Some("topics"), |c| {
            let names: Vec<&str> = TOPICS[..6].iter().map(|t| t.as_str_name()).collect();
            c.body["topics"] = json!(names);
        }),
        rule(
            "unknown topic",
            InvalidField,
            "topics[0]",
            Some("topics"),
            |c| {
                c.body["topics"][0] = json!("TOURISM");
            },
        ),
        rule(
            "repeated topic",
            InvalidField,
            "topics[1]",
            Some("topics"),
            |c| {
                let first = c.body["topics"][0].clone();
                c.body["topics"] = json!([first.clone(), first]);
            },
        ),
        // window
        rule(
            "window in the past",
            WindowInPast,
            "preferredWindow.start",
            Some("window"),
            |c| {
                c.set_date("start", today() - Duration::days(1));
            },
        ),
        rule(
            "window too long",
            WindowTooLong,
            "preferredWindow",
            Some("window"),
            |c| {
                let start = c.date("start");
                c.set_date("end", start + Duration::days(365));
            },
        ),
        rule(
            "window ends before it starts",
            InvalidField,
            "preferredWindow.end",
            Some("window"),
            |c| {
                let start = c.date("start");
                c.set_date("end", start - Duration::days(1));
            },
        ),
        rule(
            "window start not a date",
            InvalidField,
            "preferredWindow.start",
            Some("window"),
            |c| {
                c.body["preferredWindow"]["start"] = json!("2027-02-30");
            },
        ),
        rule(
            "no window",
            InvalidField,
            "preferredWindow",
            Some("window"),
            |c| {
                c.body.as_object_mut().unwrap().remove("preferredWindow");
            },
        ),
        // languages
        rule(
            "no languages",
            InvalidField,
            "languages",
            Some("languages"),
            |c| {
                c.body["languages"] = json!([]);
            },
        ),
        rule(
            "not a language",
            InvalidField,
            "languages[0]",
            Some("languages"),
            |c| {
                c.body["languages"][0] = json!("english");
            },
        ),
        rule(
            "repeated language",
            InvalidField,
            "languages[1]",
            Some("languages"),
            |c| {
                let first = c.body["languages"][0].as_str().unwrap().to_uppercase();
                let again = c.body["languages"][0].clone();
                c.body["languages"] = json!([again, first]);
            },
        ),
        // format
        rule(
            "unknown format",
            InvalidField,
            "format",
            Some("format"),
            |c| {
                c.body["format"] = json!("HYBRID");
            },
        ),
        // contact
        rule(
            "no contact",
            InvalidField,
            "contact",
            Some("contact"),
            |c| {
                c.body.as_object_mut().unwrap().remove("contact");
            },
        ),
        rule(
            "bad email",
            InvalidField,
            "contact.email",
            Some("contact"),
            |c| {
                c.body["contact"]["email"] = json!("nobody at city");
            },
        ),
        rule(
            "empty name",
            InvalidField,
            "contact.name",
            Some("contact"),
            |c| {
                c.body["contact"]["name"] = json!("");
            },
        ),
        rule(
            "bad phone",
            InvalidField,
            "contact.phone",
            Some("contact"),
            |c| {
                c.body["contact"]["phone"] = json!("ext. 5");
            },
        ),
        rule(
            "unknown contact field",
            InvalidField,
            "contact.mobile",
            Some("contact"),
            |c| {
                c.body["contact"]["mobile"] = json!("+62");
            },
        ),
        // description
        rule(
            "description too long",
            InvalidField,
            "description",
            Some("description"),
            |c| {
                c.body["description"] = json!("d".repeat(4_001));
            },
        ),
        rule(
            "description with control",
            InvalidField,
            "description",
            Some("description"),
            |c| {
                c.body["description"] = json!("a\u{1b}[2Jb");
            },
        ),
        // unknown fields
        rule(
            "typo field",
            InvalidField,
            "particpants",
            Some("unknown"),
            |c| {
                c.body["particpants"] = json!(3);
            },
        ),
    ]
}

fn rejection(inbound: Inbound) -> Rejection {
    match inbound {
        Inbound::Reject(rejection) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// The body's JSON with keys in a shuffled order and arbitrary white space.
fn render(value: &Value, seed: u64, out: &mut String) {
    let space = |out: &mut String, n: u64| out.push_str(["", " ", "\n  ", "\t"][(n % 4) as usize]);
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                (seed, k).hash(&mut h);
                h.finish()
            });
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                space(out, seed.rotate_left(i as u32));
                out.push_str(&serde_json::to_string(key).unwrap());
                space(out, seed >> 3);
                out.push(':');
                render(
                    &map[*key],
                    seed.wrapping_mul(31).wrapping_add(i as u64),
                    out,
                );
            }
            space(out, seed >> 5);
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    space(out, seed >> 7);
                }
                render(item, seed, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

proptest! {
    #[test]
    fn a_generated_valid_submission_is_accepted_and_round_trips_through_its_proto(
        proto in valid_submission(),
    ) {
        let inbound = Case::of(&proto).classify();
        let Inbound::Submit { submission, .. } = inbound else {
            return Err(TestCaseError::fail(format!("not accepted: {inbound:?}")));
        };
        prop_assert_eq!(submission.to_proto(), proto.clone());
        prop_assert_eq!(submission.city().as_str(), "makassar");

        // Its proto, sent again, is the same submission with the same fingerprint.
        let again = Case::of(&submission.to_proto()).classify();
        let Inbound::Submit { submission: again, .. } = again else {
            return Err(TestCaseError::fail("its own proto was refused"));
        };
        prop_assert_eq!(again.fingerprint(), submission.fingerprint());
        prop_assert_eq!(again, submission);
    }

    #[test]
    fn key_order_and_white_space_never_change_the_fingerprint(
        proto in valid_submission(),
        seed in any::<u64>(),
    ) {
        let case = Case::of(&proto);
        let Inbound::Submit { submission, .. } = case.classify() else {
            return Err(TestCaseError::fail("not accepted"));
        };
        let mut shuffled = String::new();
        render(&case.body, seed, &mut shuffled);
        let reshaped = Case { raw: Some(shuffled.clone().into_bytes()), ..case };
        let Inbound::Submit { submission: again, .. } = reshaped.classify() else {
            return Err(TestCaseError::fail(format!("shuffled body refused: {shuffled}")));
        };
        prop_assert_eq!(again.fingerprint(), submission.fingerprint());
    }

    #[test]
    fn two_submissions_share_a_fingerprint_exactly_when_they_are_equal(
        a in valid_submission(),
        b in valid_submission(),
    ) {
        let (Inbound::Submit { submission: a, .. }, Inbound::Submit { submission: b, .. }) =
            (Case::of(&a).classify(), Case::of(&b).classify())
        else {
            return Err(TestCaseError::fail("not accepted"));
        };
        prop_assert_eq!(a == b, a.fingerprint() == b.fingerprint());
    }

    #[test]
    fn breaking_any_one_rule_yields_that_rules_code_and_field(
        proto in valid_submission(),
        which in 0..rules().len(),
    ) {
        let rules = rules();
        let rule = &rules[which];
        let mut case = Case::of(&proto);
        (rule.break_it)(&mut case);
        let rejection = rejection(case.classify());
        prop_assert!(
            rejection.has(rule.code, rule.field),
            "{}: expected {:?} at {:?}, got {:?}",
            rule.name, rule.code, rule.field, rejection.reasons
        );
    }

    #[test]
    fn breaking_two_unrelated_rules_yields_both(
        proto in valid_submission(),
        first in 0..rules().len(),
        second in 0..rules().len(),
    ) {
        let rules = rules();
        let (a, b) = (&rules[first], &rules[second]);
        prop_assume!(a.group.is_some() && b.group.is_some() && a.group != b.group);
        let mut case = Case::of(&proto);
        (a.break_it)(&mut case);
        (b.break_it)(&mut case);
        let rejection = rejection(case.classify());
        for rule in [a, b] {
            prop_assert!(
                rejection.has(rule.code, rule.field),
                "{} + {}: expected {:?} at {:?}, got {:?}",
                a.name, b.name, rule.code, rule.field, rejection.reasons
            );
        }
    }

    #[test]
    fn no_input_makes_classification_panic_or_echo_much(
        subject in "\\PC{0,80}",
        body in proptest::collection::vec(any::<u8>(), 0..2_000),
        id in proptest::option::of("\\PC{0,300}"),
    ) {
        let mut headers = HeaderMap::new();
        if let Some(id) = &id {
            headers.insert("ce-id", id.as_str());
        }
        let inbound = classify_raw_on(&subject, Some(&headers), &body, &registered);
        let rejection = rejection(inbound);
        prop_assert!(!rejection.reasons.is_empty());
        for reason in &rejection.reasons {
            prop_assert!(reason.message.chars().count() < 300);
        }
    }

    #[test]
    fn a_valid_withdrawal_is_accepted_and_one_breaking_its_reason_is_not(
        reference in "[A-Za-z0-9][A-Za-z0-9 ._/-]{0,62}[A-Za-z0-9]",
        reason in "([^\\p{Cc}\\p{Zl}\\p{Zp}]|\n){0,200}",
        too_long in 1_001usize..3_000,
    ) {
        let headers = super::testkit::withdraw_headers();
        let body = json!({"reference": reference, "city": "makassar", "reason": reason});
        let inbound = classify_raw_on(SUBJECT, Some(&headers), body.to_string().as_bytes(), &registered);
        let Inbound::Withdraw { withdrawal, .. } = inbound else {
            return Err(TestCaseError::fail(format!("refused: {inbound:?}")));
        };
        prop_assert_eq!(withdrawal.to_proto().reference, reference.clone());
        prop_assert_eq!(withdrawal.to_proto().reason, reason);

        let body = json!({"reference": reference, "city": "makassar", "reason": "w".repeat(too_long)});
        let rejection = rejection(classify_raw_on(SUBJECT, Some(&headers), body.to_string().as_bytes(), &registered));
        prop_assert_eq!(rejection.codes(), vec![Code::InvalidField]);
        prop_assert!(rejection.has(Code::InvalidField, "reason"));
    }
}
