//! Who at a city to talk to: [`ValidContact`] and its parts [`Email`] and
//! [`Phone`] (the name is [`ContactName`]). Personal data: it leaves intake only
//! on `ileaps.internal.>`.

use contract::proto::enquiry::v1::Contact;
use std::fmt;

use super::json::{self, Field, Fields};
use super::rejection::Reason;
use super::text::ContactName;

/// An email address, checked the way RFC 5321 mail servers will see it: one
/// `@`, a dot-atom local part of at most 64 octets, a domain of dot-separated
/// labels (at least two), at most 254 octets in all. Quoted local parts and IP
/// literals are refused; international (UTF-8) letters are allowed. The
/// domain is lowercased (ASCII), the local part kept as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an email address such as name@city.example: {0}")]
pub struct InvalidEmail(&'static str);

impl Email {
    pub const MAX_OCTETS: usize = 254;
    const LOCAL_MAX_OCTETS: usize = 64;
    const LABEL_MAX_OCTETS: usize = 63;

    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        if raw.len() > Self::MAX_OCTETS {
            return Err(InvalidEmail("longer than 254 bytes"));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidEmail("contains white space or control characters"));
        }
        let Some((local, domain)) = raw.split_once('@') else {
            return Err(InvalidEmail("has no @"));
        };
        if domain.contains('@') {
            return Err(InvalidEmail("has more than one @"));
        }
        Self::check_local(local)?;
        Self::check_domain(domain)?;
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    fn check_local(local: &str) -> Result<(), InvalidEmail> {
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
        if local.is_empty() || local.len() > Self::LOCAL_MAX_OCTETS {
            return Err(InvalidEmail("the part before @ must be 1-64 bytes"));
        }
        let dot_atom = local.split('.').all(|atom| {
            !atom.is_empty()
                && atom
                    .chars()
                    .all(|c| atext(c) || (!c.is_ascii() && c.is_alphanumeric()))
        });
        if dot_atom {
            Ok(())
        } else {
            Err(InvalidEmail(
                "the part before @ has characters an address cannot have",
            ))
        }
    }

    fn check_domain(domain: &str) -> Result<(), InvalidEmail> {
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(InvalidEmail("the domain needs a dot"));
        }
        let label_ok = |label: &&str| {
            (1..=Self::LABEL_MAX_OCTETS).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c == '-' || c.is_alphanumeric())
        };
        if !labels.iter().all(label_ok) {
            return Err(InvalidEmail("the domain is not a host name"));
        }
        if labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(InvalidEmail("the domain is not a host name"));
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number as people write it: at most 32 characters of digits,
/// spaces, `+`, `-`, `(` and `)`, with at least one digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be at most 32 characters of digits, spaces, +, -, ( and ), with a digit")]
pub struct InvalidPhone;

impl Phone {
    pub const MAX_CHARS: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, InvalidPhone> {
        let allowed = |c: char| c.is_ascii_digit() || " +-()".contains(c);
        if raw.len() <= Self::MAX_CHARS
            && raw.chars().all(allowed)
            && raw.chars().any(|c| c.is_ascii_digit())
        {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidPhone)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A parsed contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValidContact {
    pub name: ContactName,
    pub email: Email,
    pub phone: Option<Phone>,
}

impl ValidContact {
    pub fn to_proto(&self) -> Contact {
        Contact {
            name: self.name.as_str().to_owned(),
            email: self.email.as_str().to_owned(),
            phone: self.phone.as_ref().map(|p| p.as_str().to_owned()),
        }
    }
}

const NAME: Field = Field::plain("name");
const EMAIL: Field = Field::plain("email");
const PHONE: Field = Field::plain("phone");

/// Reads the `contact` object at `path`, reporting every problem.
pub(crate) fn parse_contact(
    value: &serde_json::Value,
    path: &str,
    reasons: &mut Vec<Reason>,
) -> Option<ValidContact> {
    let object = json::as_object(value, path, reasons)?;
    let fields = Fields::read(object, path, &[NAME, EMAIL, PHONE], reasons);

    let name = fields
        .required(NAME, reasons)
        .and_then(|v| json::as_str(v, &fields.path(NAME), reasons))
        .and_then(|raw| {
            ContactName::parse(raw)
                .map_err(|e| reasons.push(Reason::invalid_field(fields.path(NAME), e.to_string())))
                .ok()
        });
    let email = fields
        .required(EMAIL, reasons)
        .and_then(|v| json::as_str(v, &fields.path(EMAIL), reasons))
        .and_then(|raw| {
            Email::parse(raw)
                .map_err(|e| reasons.push(Reason::invalid_field(fields.path(EMAIL), e.to_string())))
                .ok()
        });
    // An empty phone is proto3's "not given".
    let phone = match fields
        .get(PHONE)
        .and_then(|v| json::as_str(v, &fields.path(PHONE), reasons))
    {
        None | Some("") => Ok(None),
        Some(raw) => Phone::parse(raw).map(Some).map_err(|e| {
            reasons.push(Reason::invalid_field(fields.path(PHONE), e.to_string()));
        }),
    };
    Some(ValidContact {
        name: name?,
        email: email?,
        phone: phone.ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ordinary_email_addresses_are_accepted_and_the_domain_lowercased() {
        for (raw, kept) in [
            (
                "innovation.office@makassar.example",
                "innovation.office@makassar.example",
            ),
            ("A.Rahman@Makassar.GO.ID", "A.Rahman@makassar.go.id"),
            ("first+tag@sub.city-hall.lk", "first+tag@sub.city-hall.lk"),
            ("o'brien@x.io", "o'brien@x.io"),
            ("박@서울.kr", "박@서울.kr"),
        ] {
            assert_eq!(Email::parse(raw).unwrap().as_str(), kept, "{raw}");
        }
    }

    #[test]
    fn things_that_are_not_email_addresses_are_refused() {
        let long_local = format!("{}@x.io", "a".repeat(65));
        let long_total = format!("a@{}.io", "b.".repeat(130));
        for raw in [
            "",
            "plain",
            "@city.example",
            "name@",
            "name@localhost",
            "a@b@c.io",
            "a b@c.io",
            "a@c.io\n",
            "a\u{0}@c.io",
            ".a@c.io",
            "a.@c.io",
            "a..b@c.io",
            "\"quoted\"@c.io",
            "a@-c.io",
            "a@c-.io",
            "a@c..io",
            "a@c.io.",
            "a@[127.0.0.1]",
            "a@127.0.0.1",
            "a<script>@c.io",
            &long_local,
            &long_total,
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} accepted");
        }
    }

    #[test]
    fn phones_are_digits_with_the_usual_punctuation() {
        for raw in ["+62 411 123 456", "(0411) 123-456", "1"] {
            assert!(Phone::parse(raw).is_ok(), "{raw}");
        }
        for raw in ["call me", "+-()", "123\n", &"1".repeat(33), "12x"] {
            assert!(Phone::parse(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn a_contact_object_reports_each_bad_field_with_its_path() {
        let mut reasons = Vec::new();
        let contact = parse_contact(
            &json!({"name": "", "email": "nope", "phone": "x", "nmae": "typo"}),
            "contact",
            &mut reasons,
        );
        assert!(contact.is_none());
        let fields: Vec<&str> = reasons.iter().map(|r| r.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "contact.nmae",
                "contact.name",
                "contact.email",
                "contact.phone"
            ]
        );
    }

    #[test]
    fn a_contact_without_a_phone_or_with_an_empty_one_has_none() {
        for value in [
            json!({"name": "A", "email": "a@b.io"}),
            json!({"name": "A", "email": "a@b.io", "phone": null}),
            json!({"name": "A", "email": "a@b.io", "phone": ""}),
        ] {
            let mut reasons = Vec::new();
            let contact = parse_contact(&value, "contact", &mut reasons).unwrap();
            assert!(reasons.is_empty());
            assert_eq!(contact.phone, None);
        }
    }

    #[test]
    fn a_contact_that_is_not_an_object_is_invalid() {
        let mut reasons = Vec::new();
        assert!(parse_contact(&json!("a@b.io"), "contact", &mut reasons).is_none());
        assert_eq!(reasons[0].field, "contact");
    }
}
