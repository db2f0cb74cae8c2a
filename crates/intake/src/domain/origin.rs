//! Where an inbound message comes from and what it claims to be: the subject's
//! city, the CloudEvents envelope in its headers (`ce-*`), the supported
//! `ce-type`s, `ce-source`, and the body's `city`. Owns every rule that ties
//! a message to a city.

use async_nats::HeaderMap;
use contract::envelope::{self, AttributeProblem, header};
use contract::event_types::{ENQUIRY_SUBMIT, ENQUIRY_WITHDRAW};
use contract::subjects::city_of_inbound;
use contract::{CityCode, Envelope};

use super::rejection::{Reason, echo};

/// The two types a city may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InboundType {
    Submit,
    Withdraw,
}

/// Header values longer than this are not kept (the envelope's own limit).
const MAX_HEADER_LEN: usize = 256;

/// `ce-source` of a city: `/cities/<city>`.
const CITY_SOURCE_PREFIX: &str = "/cities/";

/// The city of `ileaps.inbound.<city>.enquiry`, or an `INVALID_FIELD`
/// "subject" (and then the city is unknown).
pub(crate) fn subject_city(subject: &str, reasons: &mut Vec<Reason>) -> Option<CityCode> {
    let city = city_of_inbound(subject).and_then(|raw| CityCode::parse(raw).ok());
    if city.is_none() {
        reasons.push(Reason::invalid_field(
            "subject",
            format!(
                "{} is not ileaps.inbound.<city>.enquiry with a city code of 2-32 characters of a-z, 0-9 and -",
                echo(subject)
            ),
        ));
    }
    city
}

/// A header's value when it is present, short and free of control
/// characters: safe to store and to quote back.
pub(crate) fn usable_header<'a>(headers: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    header(headers, name).filter(|v| v.len() <= MAX_HEADER_LEN && !v.chars().any(char::is_control))
}

/// Reads the envelope, reporting every missing (`MISSING_ATTRIBUTE`) or
/// invalid (`INVALID_FIELD`) attribute, an unsupported `ce-type`
/// (`UNSUPPORTED_TYPE`) and a `ce-source` that is not the subject's city
/// (`INVALID_FIELD` or `CITY_MISMATCH`).
///
/// Returns the envelope when the headers form one, and the inbound type when
/// `ce-type` is one a city may send; the caller decides on the reasons.
pub(crate) fn read_envelope(
    headers: Option<&HeaderMap>,
    subject_city: Option<&CityCode>,
    reasons: &mut Vec<Reason>,
) -> (Option<Envelope>, Option<InboundType>) {
    let envelope = match Envelope::from_headers(headers) {
        Ok(envelope) => Some(envelope),
        Err(err) => {
            reasons.extend(err.problems.iter().map(attribute_problem));
            None
        }
    };
    let inbound_type = usable_header(headers, envelope::TYPE).and_then(|t| check_type(t, reasons));
    if let Some(source) = usable_header(headers, envelope::SOURCE) {
        check_source(source, subject_city, reasons);
    }
    (envelope, inbound_type)
}

fn attribute_problem(problem: &AttributeProblem) -> Reason {
    match problem {
        AttributeProblem::Missing(name) => Reason::missing_attribute(name),
        AttributeProblem::Invalid { header, reason } => Reason::invalid_field(*header, reason),
    }
}

fn check_type(event_type: &str, reasons: &mut Vec<Reason>) -> Option<InboundType> {
    match event_type {
        ENQUIRY_SUBMIT => Some(InboundType::Submit),
        ENQUIRY_WITHDRAW => Some(InboundType::Withdraw),
        other => {
            reasons.push(Reason::unsupported_type(other));
            None
        }
    }
}

fn check_source(source: &str, subject_city: Option<&CityCode>, reasons: &mut Vec<Reason>) {
    let claimed = source
        .strip_prefix(CITY_SOURCE_PREFIX)
        .and_then(|raw| CityCode::parse(raw).ok());
    match (claimed, subject_city) {
        (None, _) => reasons.push(Reason::invalid_field(
            envelope::SOURCE,
            format!("{} is not /cities/<city>", echo(source)),
        )),
        (Some(claimed), Some(subject_city)) if &claimed != subject_city => {
            reasons.push(Reason::city_mismatch(
                envelope::SOURCE,
                &claimed,
                subject_city,
            ));
        }
        (Some(_), _) => {}
    }
}

/// Checks a body's `city`: a city code (`INVALID_FIELD`), the subject's city
/// (`CITY_MISMATCH`) and registered (`UNKNOWN_CITY`). The last two are
/// independent, so both are reported when both fail.
pub(crate) fn check_body_city(
    raw: &str,
    path: &str,
    subject_city: Option<&CityCode>,
    is_registered: &dyn Fn(&CityCode) -> bool,
    reasons: &mut Vec<Reason>,
) -> Option<CityCode> {
    let Ok(city) = CityCode::parse(raw) else {
        reasons.push(Reason::invalid_field(
            path,
            format!(
                "{} is not a city code (2-32 characters of a-z, 0-9 and -)",
                echo(raw)
            ),
        ));
        return None;
    };
    let before = reasons.len();
    if let Some(subject_city) = subject_city
        && &city != subject_city
    {
        reasons.push(Reason::city_mismatch(path, &city, subject_city));
    }
    if !is_registered(&city) {
        reasons.push(Reason::unknown_city(path, &city));
    }
    (reasons.len() == before).then_some(city)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rejection::RejectionCode;

    fn city(code: &str) -> CityCode {
        CityCode::parse(code).unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, *value);
        }
        h
    }

    fn good_headers() -> HeaderMap {
        headers(&[
            ("ce-specversion", "1.0"),
            ("ce-id", "m-1"),
            ("ce-source", "/cities/makassar"),
            ("ce-type", ENQUIRY_SUBMIT),
        ])
    }

    #[test]
    fn the_subject_names_the_city() {
        let mut reasons = Vec::new();
        assert_eq!(
            subject_city("ileaps.inbound.makassar.enquiry", &mut reasons),
            Some(city("makassar"))
        );
        assert!(reasons.is_empty());
    }

    #[test]
    fn a_subject_of_another_shape_or_with_a_bad_code_is_an_invalid_field() {
        for subject in [
            "ileaps.inbound.Makassar.enquiry",
            "ileaps.inbound.a.enquiry",
            "ileaps.inbound.makassar.other",
            "ileaps.inbound.a.b.enquiry",
            "",
        ] {
            let mut reasons = Vec::new();
            assert_eq!(subject_city(subject, &mut reasons), None);
            assert_eq!(reasons.len(), 1);
            assert_eq!(reasons[0].code, RejectionCode::InvalidField);
            assert_eq!(reasons[0].field, "subject");
        }
    }

    #[test]
    fn good_headers_give_the_envelope_and_the_type() {
        let mut reasons = Vec::new();
        let (envelope, kind) =
            read_envelope(Some(&good_headers()), Some(&city("makassar")), &mut reasons);
        assert!(reasons.is_empty(), "{reasons:?}");
        assert_eq!(envelope.unwrap().id, "m-1");
        assert_eq!(kind, Some(InboundType::Submit));
    }

    #[test]
    fn each_missing_attribute_is_its_own_reason_named_by_its_header() {
        let mut reasons = Vec::new();
        let (envelope, kind) = read_envelope(None, Some(&city("makassar")), &mut reasons);
        assert!(envelope.is_none() && kind.is_none());
        let fields: Vec<&str> = reasons.iter().map(|r| r.field.as_str()).collect();
        assert_eq!(fields, ["ce-specversion", "ce-id", "ce-source", "ce-type"]);
        assert!(
            reasons
                .iter()
                .all(|r| r.code == RejectionCode::MissingAttribute)
        );
    }

    #[test]
    fn an_invalid_attribute_is_an_invalid_field_named_by_its_header() {
        let mut h = good_headers();
        h.insert("ce-specversion", "0.3");
        h.insert("ce-time", "yesterday");
        let mut reasons = Vec::new();
        read_envelope(Some(&h), Some(&city("makassar")), &mut reasons);
        let fields: Vec<(RejectionCode, &str)> =
            reasons.iter().map(|r| (r.code, r.field.as_str())).collect();
        assert_eq!(
            fields,
            [
                (RejectionCode::InvalidField, "ce-specversion"),
                (RejectionCode::InvalidField, "ce-time")
            ]
        );
    }

    #[test]
    fn a_type_a_city_may_not_send_is_unsupported() {
        let mut h = good_headers();
        h.insert("ce-type", "ileaps.enquiry.received.v1");
        let mut reasons = Vec::new();
        let (_, kind) = read_envelope(Some(&h), Some(&city("makassar")), &mut reasons);
        assert_eq!(kind, None);
        assert_eq!(reasons.len(), 1);
        assert_eq!(reasons[0].code, RejectionCode::UnsupportedType);
        assert_eq!(reasons[0].field, "ce-type");
    }

    #[test]
    fn a_withdrawal_type_is_recognised() {
        let mut h = good_headers();
        h.insert("ce-type", ENQUIRY_WITHDRAW);
        let mut reasons = Vec::new();
        let (_, kind) = read_envelope(Some(&h), Some(&city("makassar")), &mut reasons);
        assert_eq!(kind, Some(InboundType::Withdraw));
    }

    #[test]
    fn a_source_of_another_city_is_a_city_mismatch() {
        let mut h = good_headers();
        h.insert("ce-source", "/cities/colombo");
        let mut reasons = Vec::new();
        read_envelope(Some(&h), Some(&city("makassar")), &mut reasons);
        assert_eq!(reasons.len(), 1);
        assert_eq!(reasons[0].code, RejectionCode::CityMismatch);
        assert_eq!(reasons[0].field, "ce-source");
    }

    #[test]
    fn a_source_that_is_not_a_city_is_an_invalid_field() {
        for source in [
            "/ileaps/intake",
            "/cities/",
            "/cities/Makassar",
            "makassar",
            "/cities/a/b",
        ] {
            let mut h = good_headers();
            h.insert("ce-source", source);
            let mut reasons = Vec::new();
            read_envelope(Some(&h), Some(&city("makassar")), &mut reasons);
            assert_eq!(reasons.len(), 1, "{source}");
            assert_eq!(reasons[0].code, RejectionCode::InvalidField);
            assert_eq!(reasons[0].field, "ce-source");
        }
    }

    #[test]
    fn a_body_city_must_be_a_code_the_subjects_city_and_registered() {
        let registered = |c: &CityCode| c.as_str() != "atlantis";
        let makassar = city("makassar");

        let mut reasons = Vec::new();
        assert_eq!(
            check_body_city(
                "makassar",
                "city",
                Some(&makassar),
                &registered,
                &mut reasons
            ),
            Some(makassar.clone())
        );
        assert!(reasons.is_empty());

        let mut reasons = Vec::new();
        check_body_city(
            "Makassar!",
            "city",
            Some(&makassar),
            &registered,
            &mut reasons,
        );
        assert_eq!(reasons.len(), 1);
        assert_eq!(reasons[0].code, RejectionCode::InvalidField);

        let mut reasons = Vec::new();
        check_body_city(
            "colombo",
            "city",
            Some(&makassar),
            &registered,
            &mut reasons,
        );
        assert_eq!(reasons.len(), 1);
        assert_eq!(reasons[0].code, RejectionCode::CityMismatch);

        let mut reasons = Vec::new();
        check_body_city(
            "atlantis",
            "city",
            Some(&makassar),
            &registered,
            &mut reasons,
        );
        let codes: Vec<RejectionCode> = reasons.iter().map(|r| r.code).collect();
        assert_eq!(
            codes,
            [RejectionCode::CityMismatch, RejectionCode::UnknownCity]
        );

        let atlantis = city("atlantis");
        let mut reasons = Vec::new();
        check_body_city(
            "atlantis",
            "city",
            Some(&atlantis),
            &registered,
            &mut reasons,
        );
        assert_eq!(reasons.len(), 1);
        assert_eq!(reasons[0].code, RejectionCode::UnknownCity);
        assert_eq!(reasons[0].field, "city");
    }
}
