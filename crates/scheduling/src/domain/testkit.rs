//! Test fixtures: the programme's cities, a default enquiry from one of them,
//! and dates and instants in one line.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use contract::proto::common::v1::{EnquiryKind, Format, Topic};
use std::collections::BTreeSet;

use super::{Attendee, Calendar, DateWindow, Decision, PlannedWorkshop, Request, Rules, plan};

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

pub fn zone(name: &str) -> Tz {
    name.parse().unwrap()
}

pub fn languages(tags: &[&str]) -> BTreeSet<String> {
    tags.iter().map(|t| (*t).to_owned()).collect()
}

/// An enquiry of `city` received on 2027-01-10, for March and April 2027
/// (1 March 2027 is a Monday), 10 participants, English, either format.
pub fn attendee(city: &str, time_zone: &str) -> Attendee {
    Attendee {
        enquiry_id: format!("enq-{city}"),
        city: city.to_owned(),
        time_zone: zone(time_zone),
        country: country_of(time_zone).to_owned(),
        window: DateWindow::new(day(2027, 3, 1), day(2027, 4, 30)),
        received_at: utc(2027, 1, 10, 0, 0),
        participants: 10,
        languages: languages(&["en"]),
        format: Format::Either,
    }
}

/// The country of the fixtures' zones; empty (no holidays known) otherwise.
pub fn country_of(time_zone: &str) -> &'static str {
    match time_zone {
        "Asia/Makassar" => "ID",
        "Asia/Colombo" => "LK",
        "Indian/Maldives" => "MV",
        "Asia/Kolkata" => "IN",
        "Asia/Seoul" => "KR",
        _ => "",
    }
}

/// `calendar` with `days` as public holidays of `country`.
pub fn with_holidays(mut calendar: Calendar, country: &str, days: &[NaiveDate]) -> Calendar {
    calendar
        .holidays
        .entry(country.to_owned())
        .or_default()
        .extend(days.iter().copied());
    calendar
}

pub fn request(attendee: Attendee, kind: EnquiryKind) -> Request {
    Request {
        attendee,
        kind,
        topics: vec![Topic::SocialInnovation, Topic::LocalGovernance],
    }
}

pub fn joint(attendee: Attendee) -> Request {
    request(attendee, EnquiryKind::JointWorkshop)
}

pub fn makassar() -> Attendee {
    attendee("makassar", "Asia/Makassar")
}

pub fn colombo() -> Attendee {
    attendee("colombo", "Asia/Colombo")
}

pub fn hulhumale() -> Attendee {
    attendee("hulhumale", "Indian/Maldives")
}

pub fn chandigarh() -> Attendee {
    attendee("chandigarh", "Asia/Kolkata")
}

pub fn with_format(mut a: Attendee, format: Format) -> Attendee {
    a.format = format;
    a
}

pub fn with_window(mut a: Attendee, start: NaiveDate, end: NaiveDate) -> Attendee {
    a.window = DateWindow::new(start, end);
    a
}

/// Plans `request` and stores the new workshop in `calendar` under `id`, as
/// the store would; panics unless the decision is a new workshop.
pub fn plan_new(
    id: &str,
    request: &Request,
    calendar: &mut Calendar,
    rules: &Rules,
) -> PlannedWorkshop {
    match plan(request, calendar, rules) {
        Decision::New(new) => {
            let workshop = new.into_planned(id, request);
            calendar.record(workshop.clone());
            workshop
        }
        other => panic!("expected a new workshop, got {other:?}"),
    }
}
