//! Test fixtures for the domain: a good message from Makassar, and a way to
//! classify a variation of it in one line.

use async_nats::HeaderMap;
use chrono::NaiveDate;
use contract::CityCode;
use contract::event_types::{ENQUIRY_SUBMIT, ENQUIRY_WITHDRAW};
use serde_json::{Value, json};

use super::{Inbound, InboundMessage, Rejection, ValidationContext, classify_inbound};

/// The day every test runs on.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 1, 10).unwrap()
}

pub const SUBJECT: &str = "ileaps.inbound.makassar.enquiry";

/// Registered cities of the tests.
pub fn registered(city: &CityCode) -> bool {
    ["makassar", "colombo", "hulhumale", "chandigarh"].contains(&city.as_str())
}

/// The contract's example submission.
pub fn example_body() -> Value {
    json!({
        "reference": "MKS-2027-014",
        "city": "makassar",
        "kind": "JOINT_WORKSHOP",
        "topics": ["SOCIAL_INNOVATION", "LOCAL_GOVERNANCE"],
        "preferredWindow": {"start": "2027-02-01", "end": "2027-03-31"},
        "participants": 18,
        "languages": ["en", "id"],
        "format": "EITHER",
        "contact": {"name": "A. Rahman", "email": "innovation.office@makassar.example"},
        "description": "Joint workshop on Seoul's participatory budgeting."
    })
}

pub fn withdrawal_body() -> Value {
    json!({"reference": "MKS-2027-014", "city": "makassar", "reason": "Budget moved to 2028."})
}

pub fn headers_for(event_type: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("ce-specversion", "1.0");
    headers.insert("ce-id", "0190f2a4-1111-7000-8000-000000000001");
    headers.insert("ce-source", "/cities/makassar");
    headers.insert("ce-type", event_type);
    headers.insert("content-type", "application/json");
    headers
}

pub fn submit_headers() -> HeaderMap {
    headers_for(ENQUIRY_SUBMIT)
}

pub fn withdraw_headers() -> HeaderMap {
    headers_for(ENQUIRY_WITHDRAW)
}

/// Classifies raw parts with the tests' day and registry.
pub fn classify_raw(subject: &str, headers: Option<&HeaderMap>, body: &[u8]) -> Inbound {
    classify_raw_on(subject, headers, body, &registered)
}

pub fn classify_raw_on(
    subject: &str,
    headers: Option<&HeaderMap>,
    body: &[u8],
    is_registered: &dyn Fn(&CityCode) -> bool,
) -> Inbound {
    let ctx = ValidationContext {
        today: today(),
        is_registered,
    };
    classify_inbound(
        &InboundMessage {
            subject,
            headers,
            body,
        },
        &ctx,
    )
}

/// Classifies a submission body sent with good headers on Makassar's subject.
pub fn classify_submission(body: &Value) -> Inbound {
    classify_raw(
        SUBJECT,
        Some(&submit_headers()),
        body.to_string().as_bytes(),
    )
}

/// The rejection, or a panic naming what came instead.
pub fn rejected(inbound: Inbound) -> Rejection {
    match inbound {
        Inbound::Reject(rejection) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// The example body with one change made to it.
pub fn example_with(change: impl FnOnce(&mut Value)) -> Value {
    let mut body = example_body();
    change(&mut body);
    body
}

/// Sets the value at a `/`-separated pointer, creating nothing.
pub fn set(body: &mut Value, pointer: &str, value: Value) {
    *body
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} not in body")) = value;
}

/// Removes the field at a `/`-separated pointer.
pub fn remove(body: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = if parent.is_empty() {
        body
    } else {
        body.pointer_mut(parent).unwrap()
    };
    parent.as_object_mut().unwrap().remove(key);
}
