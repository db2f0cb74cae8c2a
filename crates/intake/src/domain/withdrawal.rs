//! A city taking an enquiry back (`ileaps.enquiry.withdraw.v1`): the parsed
//! [`ValidWithdrawal`] and the field-by-field reading of its body. Whether the
//! reference was ever accepted (`UNKNOWN_ENQUIRY`) is the store's question.

use contract::CityCode;
use contract::proto::enquiry::v1::EnquiryWithdrawal;

use super::ValidationContext;
use super::json::{self, Field, Fields, Object};
use super::rejection::Reason;
use super::submission::{CITY, Parsed, REFERENCE, read_city, read_reference};
use super::text::{Reference, WithdrawalReason};

/// A withdrawal that keeps every rule that can be checked without the
/// database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidWithdrawal {
    pub reference: Reference,
    pub city: CityCode,
    pub reason: Option<WithdrawalReason>,
}

impl ValidWithdrawal {
    pub fn to_proto(&self) -> EnquiryWithdrawal {
        EnquiryWithdrawal {
            reference: self.reference.as_str().to_owned(),
            city: self.city.as_str().to_owned(),
            reason: self
                .reason
                .as_ref()
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
        }
    }
}

const REASON: Field = Field::plain("reason");

/// Reads a withdrawal body field by field, reporting every problem.
pub(crate) fn parse_withdrawal(
    object: &Object,
    subject_city: Option<&CityCode>,
    ctx: &ValidationContext<'_>,
    reasons: &mut Vec<Reason>,
) -> Parsed<ValidWithdrawal> {
    let before = reasons.len();
    let fields = Fields::read(object, "", &[REFERENCE, CITY, REASON], reasons);
    let reference = read_reference(&fields, reasons);
    let city = read_city(&fields, subject_city, ctx, reasons);
    let reason = match fields.get(REASON) {
        None => Some(None),
        Some(v) => json::as_str(v, &fields.path(REASON), reasons).and_then(|raw| {
            WithdrawalReason::parse(raw)
                .map_err(|e| {
                    reasons.push(Reason::invalid_field(fields.path(REASON), e.to_string()))
                })
                .ok()
        }),
    };
    let valid = match (reference.clone(), city, reason) {
        (Some(reference), Some(city), Some(reason)) if reasons.len() == before => {
            Some(ValidWithdrawal {
                reference,
                city,
                reason,
            })
        }
        _ => None,
    };
    Parsed {
        valid,
        reference,
        contact: None,
    }
}
