//! Classification of whole messages: each rule, each rejection code this
//! module produces, all reasons at once, and hostile input.

use contract::proto::common::v1::{EnquiryKind, Format, Topic};
use serde_json::{Value, json};

use super::testkit::*;
use super::{Inbound, RejectionCode as Code};

fn submission_of(inbound: Inbound) -> super::ValidSubmission {
    match inbound {
        Inbound::Submit { submission, .. } => submission,
        other => panic!("expected a submission, got {other:?}"),
    }
}

fn fields_with(rejection: &super::Rejection, code: Code) -> Vec<String> {
    rejection
        .reasons
        .iter()
        .filter(|r| r.code == code)
        .map(|r| r.field.clone())
        .collect()
}

// ---- accepted messages -------------------------------------------------------

#[test]
fn the_contracts_example_is_accepted_as_a_submission() {
    let inbound = classify_submission(&example_body());
    let Inbound::Submit {
        envelope,
        submission,
    } = inbound
    else {
        panic!("{inbound:?}")
    };
    assert_eq!(envelope.id, "0190f2a4-1111-7000-8000-000000000001");
    assert_eq!(envelope.source, "/cities/makassar");
    assert_eq!(submission.reference().as_str(), "MKS-2027-014");
    assert_eq!(submission.city().as_str(), "makassar");
    assert_eq!(submission.kind(), EnquiryKind::JointWorkshop);
    assert_eq!(submission.topics().primary(), Topic::SocialInnovation);
    assert_eq!(submission.topics().as_slice().len(), 2);
    assert_eq!(submission.window().days(), 59);
    assert_eq!(submission.participants().map(|p| p.get()), Some(18));
    assert_eq!(submission.format(), Format::Either);
    assert_eq!(submission.contact().name.as_str(), "A. Rahman");
    assert_eq!(submission.contact().phone, None);
    assert_eq!(submission.preferred_language(), "id");
    assert_eq!(
        submission.description(),
        Some("Joint workshop on Seoul's participatory budgeting.")
    );
}

#[test]
fn the_example_round_trips_through_its_proto() {
    let submission = submission_of(classify_submission(&example_body()));
    let proto = submission.to_proto();
    let expected: contract::proto::enquiry::v1::EnquirySubmission =
        serde_json::from_value(example_body()).unwrap();
    assert_eq!(proto, expected);
    let again = submission_of(classify_submission(&serde_json::to_value(&proto).unwrap()));
    assert_eq!(again, submission);
}

#[test]
fn a_minimal_consultation_needs_no_participants_format_or_description() {
    let body = json!({
        "reference": "CMB-1",
        "city": "makassar",
        "kind": "CONSULTATIVE_SUPPORT",
        "topics": ["DIGITAL_GOVERNMENT"],
        "preferredWindow": {"start": "2027-01-10", "end": "2027-01-10"},
        "languages": ["si"],
        "contact": {"name": "N. Perera", "email": "n.perera@colombo.example", "phone": "+94 11 234 5678"}
    });
    let submission = submission_of(classify_submission(&body));
    assert_eq!(submission.format(), Format::Either);
    assert_eq!(submission.participants(), None);
    assert_eq!(submission.description(), None);
    assert_eq!(
        submission.contact().phone.as_ref().map(|p| p.as_str()),
        Some("+94 11 234 5678")
    );
}

#[test]
fn null_reads_as_absent_and_defaults_may_be_spelled_out() {
    let body = example_with(|b| {
        set(b, "/description", Value::Null);
        set(b, "/format", json!("FORMAT_UNSPECIFIED"));
        b["contact"]["phone"] = Value::Null;
    });
    let submission = submission_of(classify_submission(&body));
    assert_eq!(submission.description(), None);
    assert_eq!(submission.format(), Format::Either);
}

#[test]
fn proto_field_names_are_accepted_as_the_proto3_json_mapping_requires() {
    let body = example_with(|b| {
        let window = b["preferredWindow"].take();
        remove(b, "/preferredWindow");
        b["preferred_window"] = window;
    });
    let submission = submission_of(classify_submission(&body));
    assert_eq!(submission.window().days(), 59);
}

#[test]
fn a_withdrawal_is_accepted_with_or_without_a_reason() {
    for body in [
        withdrawal_body(),
        json!({"reference": "MKS-2027-014", "city": "makassar"}),
    ] {
        let inbound = classify_raw(
            SUBJECT,
            Some(&withdraw_headers()),
            body.to_string().as_bytes(),
        );
        let Inbound::Withdraw { withdrawal, .. } = inbound else {
            panic!("{inbound:?}")
        };
        assert_eq!(withdrawal.reference.as_str(), "MKS-2027-014");
        assert_eq!(withdrawal.to_proto().city, "makassar");
    }
}

// ---- one rule at a time ------------------------------------------------------

#[test]
fn a_body_that_is_not_json_is_malformed() {
    for body in [
        &b""[..],
        b"not json",
        b"{\"reference\": \"MKS-1\"",
        b"[1, 2]",
        b"\xff\xfe{}",
        br#"{"reference": "a", "reference": "b"}"#,
    ] {
        let rejection = rejected(classify_raw(SUBJECT, Some(&submit_headers()), body));
        assert_eq!(rejection.codes(), [Code::Malformed], "{body:?}");
        assert!(rejection.has(Code::Malformed, ""));
        assert_eq!(rejection.reference, None);
    }
}

#[test]
fn each_missing_attribute_is_reported_by_its_header_name() {
    for name in ["ce-id", "ce-source", "ce-type", "ce-specversion"] {
        let mut headers = submit_headers();
        headers.insert(name, "  ");
        let body = example_body().to_string();
        let rejection = rejected(classify_raw(SUBJECT, Some(&headers), body.as_bytes()));
        assert!(rejection.has(Code::MissingAttribute, name), "{rejection:?}");
    }
    let rejection = rejected(classify_raw(
        SUBJECT,
        None,
        example_body().to_string().as_bytes(),
    ));
    assert_eq!(
        fields_with(&rejection, Code::MissingAttribute),
        ["ce-specversion", "ce-id", "ce-source", "ce-type"]
    );
    // Without a type the body's rules are unknown, but the city can still be
    // told, by its reference and contact.
    assert_eq!(rejection.reasons.len(), 4);
    assert_eq!(rejection.reference.as_deref(), Some("MKS-2027-014"));
    assert!(rejection.contact.is_some());
    assert_eq!(
        rejection.city.as_ref().map(|c| c.as_str()),
        Some("makassar")
    );
}

#[test]
fn an_invalid_attribute_value_is_an_invalid_field_named_by_its_header() {
    let mut headers = submit_headers();
    headers.insert("ce-specversion", "0.3");
    headers.insert("content-type", "text/plain");
    let rejection = rejected(classify_raw(
        SUBJECT,
        Some(&headers),
        example_body().to_string().as_bytes(),
    ));
    assert_eq!(
        fields_with(&rejection, Code::InvalidField),
        ["ce-specversion", "content-type"]
    );
}

#[test]
fn a_type_a_city_may_not_send_is_unsupported() {
    let headers = headers_for("ileaps.enquiry.received.v1");
    let rejection = rejected(classify_raw(
        SUBJECT,
        Some(&headers),
        example_body().to_string().as_bytes(),
    ));
    assert_eq!(rejection.codes(), [Code::UnsupportedType]);
    assert!(rejection.has(Code::UnsupportedType, "ce-type"));
    assert_eq!(
        rejection.inbound_type.as_deref(),
        Some("ileaps.enquiry.received.v1")
    );
}

#[test]
fn a_body_over_sixty_four_kibibytes_is_too_large_and_not_read() {
    let mut body = example_body().to_string().into_bytes();
    body.resize(contract::MAX_INBOUND_BODY_BYTES + 1, b' ');
    let rejection = rejected(classify_raw(SUBJECT, Some(&submit_headers()), &body));
    assert_eq!(rejection.codes(), [Code::PayloadTooLarge]);
    assert!(rejection.has(Code::PayloadTooLarge, ""));
    assert_eq!(rejection.reference, None, "the body was not parsed");
}

#[test]
fn a_body_of_exactly_sixty_four_kibibytes_is_read() {
    let mut body = example_body().to_string().into_bytes();
    body.resize(contract::MAX_INBOUND_BODY_BYTES, b' ');
    let inbound = classify_raw(SUBJECT, Some(&submit_headers()), &body);
    assert!(matches!(inbound, Inbound::Submit { .. }), "{inbound:?}");
}

#[test]
fn a_body_city_other_than_the_subjects_is_a_city_mismatch() {
    let rejection = rejected(classify_submission(&example_with(|b| {
        set(b, "/city", json!("colombo"));
    })));
    assert_eq!(rejection.codes(), [Code::CityMismatch]);
    assert!(rejection.has(Code::CityMismatch, "city"));
    // The sender is the subject's city.
    assert_eq!(
        rejection.city.as_ref().map(|c| c.as_str()),
        Some("makassar")
    );
}

#[test]
fn a_source_of_another_city_is_a_city_mismatch() {
    let mut headers = submit_headers();
    headers.insert("ce-source", "/cities/colombo");
    let rejection = rejected(classify_raw(
        SUBJECT,
        Some(&headers),
        example_body().to_string().as_bytes(),
    ));
    assert_eq!(rejection.codes(), [Code::CityMismatch]);
    assert!(rejection.has(Code::CityMismatch, "ce-source"));
}

#[test]
fn a_city_that_is_not_registered_is_unknown() {
    let rejection = rejected(classify_raw_on(
        SUBJECT,
        Some(&submit_headers()),
        example_body().to_string().as_bytes(),
        &|_| false,
    ));
    assert_eq!(rejection.codes(), [Code::UnknownCity]);
    assert!(rejection.has(Code::UnknownCity, "city"));
}

#[test]
fn a_city_that_is_not_a_code_is_an_invalid_field_not_an_unknown_city() {
    let rejection = rejected(classify_submission(&example_with(|b| {
        set(b, "/city", json!("Makassar City"));
    })));
    assert_eq!(rejection.codes(), [Code::InvalidField]);
    assert!(rejection.has(Code::InvalidField, "city"));
}

#[test]
fn a_subject_that_is_not_an_inbound_enquiry_subject_is_an_invalid_field() {
    let mut headers = submit_headers();
    headers.insert("ce-source", "/cities/x");
    let rejection = rejected(classify_raw(
        "ileaps.inbound.x.enquiry",
        Some(&headers),
        example_body().to_string().as_bytes(),
    ));
    assert!(rejection.has(Code::InvalidField, "subject"));
    assert_eq!(rejection.city, None);
    // Nothing to compare the body's city or the source with.
    assert!(!rejection.codes().contains(&Code::CityMismatch));
}

#[test]
fn a_window_that_starts_before_today_is_in_the_past() {
    let rejection = rejected(classify_submission(&example_with(|b| {
        set(b, "/preferredWindow/start", json!("2027-01-09"));
    })));
    assert_eq!(rejection.codes(), [Code::WindowInPast]);
    assert!(rejection.has(Code::WindowInPast, "preferredWindow.start"));
}

#[test]
fn a_window_that_starts_today_is_not_in_the_past() {
    let body = example_with(|b| set(b, "/preferredWindow/start", json!("2027-01-10")));
    assert!(matches!(classify_submission(&body), Inbound::Submit { .. }));
}

#[test]
fn a_window_of_three_hundred_sixty_six_days_is_too_long_and_of_three_hundred_sixty_five_is_not() {
    let too_long = example_with(|b| {
        set(
            b,
            "/preferredWindow",
            json!({"start": "2027-02-01", "end": "2028-02-01"}),
        );
    });
    let rejection = rejected(classify_submission(&too_long));
    assert_eq!(rejection.codes(), [Code::WindowTooLong]);
    assert!(rejection.has(Code::WindowTooLong, "preferredWindow"));

    let longest = example_with(|b| {
        set(
            b,
            "/preferredWindow",
            json!({"start": "2027-02-01", "end": "2028-01-31"}),
        );
    });
    assert_eq!(
        submission_of(classify_submission(&longest)).window().days(),
        365
    );
}

#[test]
fn a_window_in_the_past_and_too_long_reports_both() {
    let body = example_with(|b| {
        set(
            b,
            "/preferredWindow",
            json!({"start": "2026-01-01", "end": "2027-12-31"}),
        );
    });
    let rejection = rejected(classify_submission(&body));
    assert_eq!(rejection.codes(), [Code::WindowInPast, Code::WindowTooLong]);
}

type Change = Box<dyn Fn(&mut Value)>;

fn case(field: &'static str, change: impl Fn(&mut Value) + 'static) -> (&'static str, Change) {
    (field, Box::new(change))
}

/// Each change breaks one field rule and must give `INVALID_FIELD` at `field`.
#[test]
fn each_field_rule_gives_an_invalid_field_with_its_path() {
    let long = |n: usize| Value::String("x".repeat(n));
    let cases: Vec<(&str, Change)> = vec![
        case("reference", |b| remove(b, "/reference")),
        case("reference", |b| set(b, "/reference", json!(""))),
        case("reference", move |b| set(b, "/reference", long(65))),
        case("reference", |b| set(b, "/reference", json!("MKS\u{0}1"))),
        case("reference", |b| set(b, "/reference", json!(14))),
        case("city", |b| remove(b, "/city")),
        case("kind", |b| remove(b, "/kind")),
        case("kind", |b| set(b, "/kind", json!("WORKSHOP"))),
        case("kind", |b| set(b, "/kind", json!("joint_workshop"))),
        case("kind", |b| {
            set(b, "/kind", json!("ENQUIRY_KIND_UNSPECIFIED"))
        }),
        case("kind", |b| set(b, "/kind", json!(1))),
        case("topics", |b| remove(b, "/topics")),
        case("topics", |b| set(b, "/topics", json!([]))),
        case("topics", |b| set(b, "/topics", json!("HOUSING"))),
        case("topics", |b| {
            let six = &super::submission::TOPICS[..6];
            let names: Vec<&str> = six.iter().map(|t| t.as_str_name()).collect();
            set(b, "/topics", json!(names));
        }),
        case("topics[2]", |b| {
            set(b, "/topics", json!(["HOUSING", "TRANSPORT", "HOUSING"]));
        }),
        case("topics[1]", |b| {
            set(b, "/topics", json!(["HOUSING", "TRAFFIC"]))
        }),
        case("topics[0]", |b| set(b, "/topics", json!([null]))),
        case("preferredWindow", |b| remove(b, "/preferredWindow")),
        case("preferredWindow", |b| {
            set(b, "/preferredWindow", json!("2027-02-01/2027-03-31"));
        }),
        case("preferredWindow.start", |b| {
            remove(b, "/preferredWindow/start");
        }),
        case("preferredWindow.start", |b| {
            set(b, "/preferredWindow/start", json!("2027-02-30"));
        }),
        case("preferredWindow.end", |b| {
            set(b, "/preferredWindow/end", json!("31/03/2027"));
        }),
        case("preferredWindow.end", |b| {
            set(b, "/preferredWindow/end", json!("2027-01-31"));
        }),
        case("preferredWindow.days", |b| {
            b["preferredWindow"]["days"] = json!(3);
        }),
        case("participants", |b| remove(b, "/participants")),
        case("participants", |b| set(b, "/participants", json!(0))),
        case("participants", |b| set(b, "/participants", json!(201))),
        case("participants", |b| set(b, "/participants", json!(-5))),
        case("participants", |b| set(b, "/participants", json!(18.5))),
        case("participants", |b| set(b, "/participants", json!("18"))),
        case("participants", |b| set(b, "/participants", json!(1e30))),
        case("languages", |b| remove(b, "/languages")),
        case("languages", |b| set(b, "/languages", json!([]))),
        case("languages", |b| {
            set(b, "/languages", json!(["en", "id", "dv", "si", "ta", "hi"]));
        }),
        case("languages[1]", |b| {
            set(b, "/languages", json!(["en", "bahasa indonesia"]));
        }),
        case("languages[1]", |b| {
            set(b, "/languages", json!(["en-GB", "EN-gb"]));
        }),
        case("languages[0]", |b| set(b, "/languages", json!([7]))),
        case("format", |b| set(b, "/format", json!("HYBRID"))),
        case("contact", |b| remove(b, "/contact")),
        case("contact", |b| {
            set(b, "/contact", json!("innovation.office@makassar.example"));
        }),
        case("contact.name", |b| remove(b, "/contact/name")),
        case("contact.name", |b| set(b, "/contact/name", json!("  "))),
        case("contact.name", move |b| set(b, "/contact/name", long(201))),
        case("contact.name", |b| {
            set(b, "/contact/name", json!("A.\nRahman"));
        }),
        case("contact.email", |b| remove(b, "/contact/email")),
        case("contact.email", |b| {
            set(b, "/contact/email", json!("innovation office@makassar"));
        }),
        case("contact.email", |b| {
            set(b, "/contact/email", json!("a@b@c.example"));
        }),
        case("contact.phone", |b| {
            b["contact"]["phone"] = json!("call the office");
        }),
        case("contact.phone", |b| {
            b["contact"]["phone"] = json!(411_123_456)
        }),
        case("contact.nmae", |b| b["contact"]["nmae"] = json!("typo")),
        case("description", move |b| set(b, "/description", long(4_001))),
        case("description", |b| {
            set(b, "/description", json!("ring \u{7} bell"));
        }),
        case("description", |b| set(b, "/description", json!(["a list"]))),
        case("particpants", |b| b["particpants"] = json!(18)),
        case("priority", |b| b["priority"] = json!(true)),
    ];
    for (field, change) in cases {
        let mut body = example_body();
        change(&mut body);
        let rejection = rejected(classify_submission(&body));
        assert!(
            rejection.has(Code::InvalidField, field),
            "{field}: {:?}",
            rejection.reasons
        );
        assert!(
            rejection
                .reasons
                .iter()
                .all(|r| r.code == Code::InvalidField),
            "{field}: {:?}",
            rejection.reasons
        );
    }
}

#[test]
fn a_description_of_four_thousand_characters_with_line_breaks_is_accepted() {
    let text = format!("{}\n\t{}", "ශ".repeat(2_000), "다".repeat(1_998));
    let body = example_with(|b| set(b, "/description", json!(text)));
    let submission = submission_of(classify_submission(&body));
    assert_eq!(
        submission.description().map(|d| d.chars().count()),
        Some(4_000)
    );
}

#[test]
fn a_withdrawal_breaking_its_rules_reports_each_field() {
    let body = json!({
        "reference": "",
        "city": "colombo",
        "reason": "r".repeat(1_001),
        "enquiryId": "x"
    });
    let rejection = rejected(classify_raw(
        SUBJECT,
        Some(&withdraw_headers()),
        body.to_string().as_bytes(),
    ));
    let found: Vec<(Code, &str)> = rejection
        .reasons
        .iter()
        .map(|r| (r.code, r.field.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Code::InvalidField, "enquiryId"),
            (Code::InvalidField, "reference"),
            (Code::CityMismatch, "city"),
            (Code::InvalidField, "reason"),
        ]
    );
}

#[test]
fn a_withdrawal_with_submission_fields_is_told_they_are_unknown() {
    let rejection = rejected(classify_raw(
        SUBJECT,
        Some(&withdraw_headers()),
        example_body().to_string().as_bytes(),
    ));
    assert!(rejection.has(Code::InvalidField, "kind"));
    assert!(rejection.has(Code::InvalidField, "contact"));
    assert_eq!(rejection.reference.as_deref(), Some("MKS-2027-014"));
}

// ---- all reasons together ----------------------------------------------------

#[test]
fn every_reason_is_reported_together_not_only_the_first() {
    let mut headers = submit_headers();
    headers.insert("ce-id", "");
    headers.insert("ce-source", "/cities/colombo");
    let body = json!({
        "reference": "MKS-2027-099",
        "city": "atlantis",
        "kind": "JOINT_WORKSHOP",
        "topics": ["HOUSING", "HOUSING"],
        "preferredWindow": {"start": "2026-12-01", "end": "2028-01-01"},
        "languages": ["english"],
        "format": "HYBRID",
        "contact": {"name": "A. Rahman", "email": "not-an-email"},
        "description": "fine",
        "particpants": 18
    });
    let rejection = rejected(classify_raw(
        SUBJECT,
        Some(&headers),
        body.to_string().as_bytes(),
    ));
    let found: Vec<(Code, &str)> = rejection
        .reasons
        .iter()
        .map(|r| (r.code, r.field.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Code::MissingAttribute, "ce-id"),
            (Code::CityMismatch, "ce-source"),
            (Code::InvalidField, "particpants"),
            (Code::CityMismatch, "city"),
            (Code::UnknownCity, "city"),
            (Code::InvalidField, "topics[1]"),
            (Code::WindowInPast, "preferredWindow.start"),
            (Code::WindowTooLong, "preferredWindow"),
            (Code::InvalidField, "participants"),
            (Code::InvalidField, "languages[0]"),
            (Code::InvalidField, "format"),
            (Code::InvalidField, "contact.email"),
        ]
    );
    // What can still tell the city is kept.
    assert_eq!(rejection.reference.as_deref(), Some("MKS-2027-099"));
    assert_eq!(rejection.inbound_id, None);
    assert_eq!(
        rejection.inbound_type.as_deref(),
        Some(contract::event_types::ENQUIRY_SUBMIT)
    );
    assert_eq!(
        rejection.city.as_ref().map(|c| c.as_str()),
        Some("makassar")
    );
    assert_eq!(rejection.contact, None, "its email did not parse");
    assert_eq!(rejection.reasons_proto().len(), rejection.reasons.len());
}

#[test]
fn header_subject_and_body_problems_are_reported_together() {
    let rejection = rejected(classify_raw("ileaps.inbound.MKS.enquiry", None, b"{oops"));
    let found: Vec<(Code, &str)> = rejection
        .reasons
        .iter()
        .map(|r| (r.code, r.field.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Code::InvalidField, "subject"),
            (Code::MissingAttribute, "ce-specversion"),
            (Code::MissingAttribute, "ce-id"),
            (Code::MissingAttribute, "ce-source"),
            (Code::MissingAttribute, "ce-type"),
            (Code::Malformed, ""),
        ]
    );
}

#[test]
fn a_valid_body_with_a_good_contact_keeps_the_contact_in_its_rejection() {
    let rejection = rejected(classify_submission(&example_with(|b| {
        set(b, "/kind", json!("HACKATHON"));
    })));
    let contact = rejection.contact.expect("contact parsed");
    assert_eq!(contact.email.as_str(), "innovation.office@makassar.example");
    assert_eq!(
        rejection.inbound_id.as_deref(),
        Some("0190f2a4-1111-7000-8000-000000000001")
    );
}

// ---- hostile input -----------------------------------------------------------

fn assert_short_messages(rejection: &super::Rejection) {
    for reason in &rejection.reasons {
        assert!(reason.message.chars().count() < 300, "{reason:?}");
        assert!(reason.field.chars().count() < 100, "{reason:?}");
    }
}

#[test]
fn a_megabyte_string_makes_the_body_too_large_and_is_never_echoed() {
    let body = example_with(|b| set(b, "/description", json!("A".repeat(1 << 20))));
    let rejection = rejected(classify_submission(&body));
    assert_eq!(rejection.codes(), [Code::PayloadTooLarge]);
    assert_short_messages(&rejection);
}

#[test]
fn huge_strings_inside_a_sixty_kilobyte_body_are_refused_without_being_echoed() {
    let huge = "Z".repeat(60_000);
    for change in [
        |b: &mut Value, s: &str| set(b, "/description", json!(s)),
        |b: &mut Value, s: &str| set(b, "/reference", json!(s)),
        |b: &mut Value, s: &str| set(b, "/kind", json!(s)),
        |b: &mut Value, s: &str| set(b, "/topics/0", json!(s)),
        |b: &mut Value, s: &str| set(b, "/languages/0", json!(s)),
        |b: &mut Value, s: &str| set(b, "/city", json!(s)),
        |b: &mut Value, s: &str| set(b, "/contact/email", json!(s)),
        |b: &mut Value, s: &str| set(b, "/preferredWindow/start", json!(s)),
        |b: &mut Value, s: &str| b[s] = json!(1),
    ] {
        let mut body = example_body();
        change(&mut body, &huge);
        let text = body.to_string();
        assert!(text.len() <= contract::MAX_INBOUND_BODY_BYTES);
        let rejection = rejected(classify_submission(&body));
        assert_eq!(
            rejection.codes(),
            [Code::InvalidField],
            "{:?}",
            rejection.reasons
        );
        assert_short_messages(&rejection);
    }
}

#[test]
fn control_characters_in_text_fields_are_refused() {
    for (pointer, value) in [
        ("/reference", "MKS\u{1b}[31m-1"),
        ("/contact/name", "A.\u{0}Rahman"),
        ("/contact/name", "A.\rRahman"),
        ("/description", "\u{1b}]0;pwned\u{7}"),
        ("/contact/email", "a\u{7f}@b.example"),
    ] {
        let body = example_with(|b| set(b, pointer, json!(value)));
        let rejection = rejected(classify_submission(&body));
        assert_eq!(rejection.codes(), [Code::InvalidField], "{pointer}");
        assert!(
            rejection
                .reasons
                .iter()
                .all(|r| !r.message.contains('\u{1b}') && !r.message.contains('\u{0}')),
            "{:?}",
            rejection.reasons
        );
    }
}

#[test]
fn injection_text_in_a_description_is_accepted_as_plain_text() {
    for text in [
        "Robert'); DROP TABLE intake.enquiries;--",
        "{{7*7}} ${7*7} <%= 7*7 %> #{7*7}",
        "<script>alert('x')</script><img src=x onerror=alert(1)>",
        "$(rm -rf /) `id` | cat /etc/passwd",
        "\\u0000 is just six characters here",
    ] {
        let body = example_with(|b| set(b, "/description", json!(text)));
        let submission = submission_of(classify_submission(&body));
        assert_eq!(submission.description(), Some(text));
        assert_eq!(submission.to_proto().description, text);
    }
}

#[test]
fn deeply_nested_json_is_malformed_within_the_recursion_limit() {
    let depth = 30_000;
    let body = format!(
        "{{\"reference\":\"MKS-1\",\"x\":{}{}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    assert!(body.len() <= contract::MAX_INBOUND_BODY_BYTES);
    let rejection = rejected(classify_raw(
        SUBJECT,
        Some(&submit_headers()),
        body.as_bytes(),
    ));
    assert_eq!(rejection.codes(), [Code::Malformed]);
    assert!(rejection.reasons[0].message.contains("recursion limit"));

    let depth = 10_000;
    let objects = format!("{}{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    assert!(objects.len() <= contract::MAX_INBOUND_BODY_BYTES);
    let rejection = rejected(classify_raw(
        SUBJECT,
        Some(&submit_headers()),
        objects.as_bytes(),
    ));
    assert_eq!(rejection.codes(), [Code::Malformed]);
}

#[test]
fn nesting_inside_a_field_within_the_limit_is_an_invalid_field() {
    let nested: Value =
        serde_json::from_str(&format!("{}{}", "[".repeat(100), "]".repeat(100))).unwrap();
    let body = example_with(|b| set(b, "/contact", nested));
    let rejection = rejected(classify_submission(&body));
    assert_eq!(rejection.codes(), [Code::InvalidField]);
    assert!(rejection.has(Code::InvalidField, "contact"));
}

#[test]
fn thousands_of_unknown_fields_give_a_bounded_number_of_reasons() {
    let mut body = example_body();
    for i in 0..3_000 {
        body[format!("f{i}")] = json!(i);
    }
    let rejection = rejected(classify_submission(&body));
    assert!(rejection.reasons.len() <= 6, "{}", rejection.reasons.len());
    assert!(
        rejection
            .reasons
            .last()
            .unwrap()
            .message
            .contains("2995 more")
    );
}

#[test]
fn thousands_of_topics_give_one_reason() {
    let body = example_with(|b| set(b, "/topics", json!(vec!["BOGUS"; 5_000])));
    let rejection = rejected(classify_submission(&body));
    assert_eq!(rejection.reasons.len(), 1);
    assert!(rejection.has(Code::InvalidField, "topics"));
}

#[test]
fn hostile_headers_are_neither_trusted_nor_echoed() {
    let mut headers = submit_headers();
    headers.insert("ce-id", "x".repeat(10_000).as_str());
    headers.insert("ce-type", "ileaps.enquiry.submit.v1\u{1b}");
    let rejection = rejected(classify_raw(
        SUBJECT,
        Some(&headers),
        example_body().to_string().as_bytes(),
    ));
    assert_eq!(rejection.inbound_id, None);
    assert_eq!(rejection.inbound_type, None);
    assert_eq!(
        fields_with(&rejection, Code::InvalidField),
        ["ce-id", "ce-type"]
    );
    assert_short_messages(&rejection);
}

#[test]
fn a_huge_subject_is_not_echoed() {
    let subject = format!("ileaps.inbound.{}.enquiry", "a".repeat(100_000));
    let rejection = rejected(classify_raw(
        &subject,
        Some(&submit_headers()),
        example_body().to_string().as_bytes(),
    ));
    assert!(rejection.has(Code::InvalidField, "subject"));
    assert_short_messages(&rejection);
}

// ---- fingerprint -------------------------------------------------------------

fn fingerprint(body: &str) -> String {
    match classify_raw(SUBJECT, Some(&submit_headers()), body.as_bytes()) {
        Inbound::Submit { submission, .. } => submission.fingerprint(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn key_order_white_space_and_spelled_out_defaults_do_not_change_the_fingerprint() {
    let compact = example_body().to_string();
    let reordered = r#"
    {
        "description" : "Joint workshop on Seoul's participatory budgeting.",
        "contact": {"email": "innovation.office@MAKASSAR.example", "name": "  A. Rahman"},
        "languages": ["EN", "id"],
        "participants": 18,
        "preferredWindow": {"end": "2027-03-31", "start": "2027-02-01"},
        "topics": ["SOCIAL_INNOVATION", "LOCAL_GOVERNANCE"],
        "kind": "JOINT_WORKSHOP",
        "city": "makassar",
        "reference": "MKS-2027-014"
    }"#;
    let fp = fingerprint(&compact);
    assert_eq!(fp.len(), 64);
    assert!(fp.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(fingerprint(reordered), fp);
}

#[test]
fn any_difference_in_content_changes_the_fingerprint() {
    let base = fingerprint(&example_body().to_string());
    let changes: Vec<(&str, Value)> = vec![
        ("/reference", json!("MKS-2027-015")),
        ("/kind", json!("PILOT_PROJECT")),
        ("/topics", json!(["LOCAL_GOVERNANCE", "SOCIAL_INNOVATION"])),
        ("/preferredWindow/end", json!("2027-03-30")),
        ("/participants", json!(19)),
        ("/languages", json!(["id", "en"])),
        ("/format", json!("VIRTUAL")),
        ("/contact/name", json!("B. Rahman")),
        ("/contact/email", json!("other@makassar.example")),
        (
            "/description",
            json!("Joint workshop on Seoul's participatory budgeting"),
        ),
    ];
    let mut seen = std::collections::HashSet::from([base.clone()]);
    for (pointer, value) in changes {
        let body = example_with(|b| set(b, pointer, value));
        let fp = fingerprint(&body.to_string());
        assert!(seen.insert(fp), "{pointer} did not change the fingerprint");
    }
    let with_phone = example_with(|b| b["contact"]["phone"] = json!("+62 411 1"));
    assert_ne!(fingerprint(&with_phone.to_string()), base);
}
