//! Who asks: an [`Attendee`] (one city's accepted enquiry, as far as
//! planning needs it) and a [`Request`] to plan. Owns the per-city tests of a
//! session: inside the city's window, inside its working hours, and not
//! before the lead time.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use contract::proto::common::v1::{EnquiryKind, Format, Topic};
use std::collections::BTreeSet;

use super::calendar::Calendar;
use super::days::{Session, at_local, is_working_day, local_date};
use super::rules::Rules;

/// A city's preferred window, in the city's own calendar, both ends
/// included, as the city wrote it. An inverted window contains no day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateWindow {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl DateWindow {
    pub fn new(start: NaiveDate, end: NaiveDate) -> Self {
        Self { start, end }
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        (self.start..=self.end).contains(&day)
    }
}

/// One city taking part (or asking to), through one enquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    pub enquiry_id: String,
    /// The city's code.
    pub city: String,
    /// The city's IANA zone: its window, working days and hours are read in it.
    pub time_zone: Tz,
    /// The city's country, ISO 3166-1 alpha-2: none of its sessions falls on
    /// one of that country's public holidays (rule 8). Empty when unknown
    /// (an enquiry from before the contract carried it): no holidays known.
    pub country: String,
    pub window: DateWindow,
    /// When intake received the enquiry: the lead time counts from here
    /// (never from the planner's clock, so a replay plans the same).
    pub received_at: DateTime<Utc>,
    pub participants: u32,
    /// BCP 47 tags as intake normalised them.
    pub languages: BTreeSet<String>,
    /// What the city asked for: `IN_PERSON`, `VIRTUAL` or `EITHER`
    /// (`FORMAT_UNSPECIFIED` is read as `EITHER`, the contract's default).
    pub format: Format,
}

impl Attendee {
    /// The earliest instant anything for this city may start (rule 1); `None`
    /// only when the sum is beyond the calendar.
    pub fn earliest_start(&self, rules: &Rules) -> Option<DateTime<Utc>> {
        self.received_at.checked_add_signed(rules.lead_time)
    }

    /// Whether the session starts no sooner than the lead time allows.
    pub fn lead_time_holds(&self, session: &Session, rules: &Rules) -> bool {
        self.earliest_start(rules)
            .is_some_and(|earliest| session.start >= earliest)
    }

    /// Whether the session lies inside the window, read in the city's
    /// calendar, from its first to its last instant.
    pub fn window_holds(&self, session: &Session) -> bool {
        self.window
            .contains(local_date(self.time_zone, session.start))
            && self
                .window
                .contains(local_date(self.time_zone, session.last_instant()))
    }

    /// Whether a virtual session lies inside the city's working hours of one
    /// of its working days.
    pub fn working_hours_hold(&self, session: &Session, rules: &Rules) -> bool {
        within_hours(self.time_zone, rules.working_hours, session)
    }

    /// The first day a session falls on a public holiday of the city's
    /// country, read as the city's own date at the session's start and at
    /// its last instant (and, in person, also as `host_zone`'s date, where
    /// the city's delegation is that day). `None` when there is none.
    pub fn holiday_during(
        &self,
        session: &Session,
        host_zone: Option<Tz>,
        calendar: &Calendar,
    ) -> Option<NaiveDate> {
        let zones = std::iter::once(self.time_zone).chain(host_zone);
        zones
            .flat_map(|zone| {
                [
                    local_date(zone, session.start),
                    local_date(zone, session.last_instant()),
                ]
            })
            .find(|day| calendar.is_holiday(&self.country, *day))
    }

    /// The format asked for, `FORMAT_UNSPECIFIED` read as `EITHER`.
    pub fn wanted_format(&self) -> Format {
        match self.format {
            Format::InPerson => Format::InPerson,
            Format::Virtual => Format::Virtual,
            Format::Either | Format::Unspecified => Format::Either,
        }
    }

    /// Whether this city can attend a workshop held in `format`.
    pub fn accepts_format(&self, format: Format) -> bool {
        match self.wanted_format() {
            Format::Either => matches!(format, Format::InPerson | Format::Virtual),
            wanted => wanted == format,
        }
    }
}

/// Whether `session` lies within `hours` of one working day in `zone`: it
/// starts and ends on the same local working day, inside the hours.
pub(crate) fn within_hours(
    zone: Tz,
    (open, close): (chrono::NaiveTime, chrono::NaiveTime),
    session: &Session,
) -> bool {
    let day = local_date(zone, session.start);
    if !is_working_day(day) {
        return false;
    }
    match (at_local(zone, day, open), at_local(zone, day, close)) {
        (Some(open), Some(close)) => open <= session.start && session.end <= close,
        _ => false,
    }
}

/// An accepted enquiry to plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub attendee: Attendee,
    pub kind: EnquiryKind,
    /// The first is the primary topic.
    pub topics: Vec<Topic>,
}

impl Request {
    pub fn primary_topic(&self) -> Option<Topic> {
        self.topics.first().copied()
    }
}
