//! What the planner decides for an enquiry ([`Decision`]): join a planned
//! workshop, plan a new one ([`NewWorkshop`]), or say why nothing fits
//! ([`UnschedulableCode`] and a detail the city can act on).

use chrono::{Duration, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use contract::proto::common::v1::{EnquiryKind, Format};
use std::collections::BTreeSet;
use std::fmt;

use super::attendee::Request;
use super::days::{DaySpan, Session, is_working_day, local_date};
use super::rules::Rules;
use super::slots::Blockers;
use super::workshop::PlannedWorkshop;

/// The outcome of planning one enquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Join this planned joint workshop, held in `format` (the workshop's).
    Join { workshop_id: String, format: Format },
    /// Plan a new workshop or mission.
    New(NewWorkshop),
    /// Nothing fits.
    Unschedulable {
        code: UnschedulableCode,
        /// Plain English for the city: what was tried and what it could change.
        detail: String,
    },
}

/// A workshop or mission to create, as planned for one city.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWorkshop {
    pub kind: EnquiryKind,
    /// As chosen: `IN_PERSON` or `VIRTUAL`.
    pub format: Format,
    /// The host city's code; `None` when virtual.
    pub host_city: Option<String>,
    /// The host's zone; the experts' zone when virtual.
    pub time_zone: Tz,
    pub sessions: Vec<Session>,
    /// The city's languages plus the shared one (see
    /// [`super::workshop_languages`]).
    pub languages: BTreeSet<String>,
}

impl NewWorkshop {
    /// The workshop as it will be stored: version 1, the request's topics and
    /// its city as the only attendee.
    pub fn into_planned(self, id: impl Into<String>, request: &Request) -> PlannedWorkshop {
        PlannedWorkshop {
            id: id.into(),
            version: 1,
            kind: self.kind,
            topics: request.topics.clone(),
            format: self.format,
            host_city: self.host_city,
            time_zone: self.time_zone,
            sessions: self.sessions,
            attendees: vec![request.attendee.clone()],
            languages: self.languages,
        }
    }
}

/// Why an enquiry cannot be scheduled, as the contract spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnschedulableCode {
    /// No date in the window satisfies the rules.
    NoSlotInWindow,
    /// No expert could be found after the allowed number of later dates.
    NoExpertAfterRetries,
}

impl UnschedulableCode {
    pub fn as_str(&self) -> &'static str {
        match self {
            UnschedulableCode::NoSlotInWindow => "NO_SLOT_IN_WINDOW",
            UnschedulableCode::NoExpertAfterRetries => "NO_EXPERT_AFTER_RETRIES",
        }
    }
}

impl fmt::Display for UnschedulableCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `NO_SLOT_IN_WINDOW`'s detail: what was looked for, where, what stood in
/// the way, and what the city could change. `tried` holds the formats
/// searched (one or two), in-person first.
pub(crate) fn no_slot_detail(
    request: &Request,
    tried: &[Format],
    blockers: Blockers,
    rules: &Rules,
) -> String {
    let attendee = &request.attendee;
    let window = attendee.window;
    let days = match request.kind {
        EnquiryKind::PilotProject => rules.mission_days,
        EnquiryKind::ConsultativeSupport => 1,
        _ => rules.joint_days,
    };
    let looked_for = if days <= 1 {
        "no working day (Monday–Friday)".to_owned()
    } else {
        format!("no {days} consecutive working days (Monday–Friday)")
    };
    let what: Vec<String> = tried
        .iter()
        .map(|format| layout_phrase(request, *format, rules))
        .collect();

    let mut reasons = Vec::new();
    let has_working_day = DaySpan::new(window.start, window.end)
        .days()
        .any(is_working_day);
    if !has_working_day {
        reasons.push("the window holds no working day".to_owned());
    }
    if blockers.too_soon
        && let Some(earliest) = attendee.earliest_start(rules)
    {
        reasons.push(format!(
            "nothing may start before {} ({} days after the enquiry arrived)",
            local_date(attendee.time_zone, earliest),
            rules.lead_time.num_days()
        ));
    }
    if blockers.outside_window && has_working_day {
        reasons.push("too few consecutive working days fit in the window".to_owned());
    }
    if blockers.no_common_hours {
        reasons.push("the working hours do not leave a long enough session".to_owned());
    }
    if blockers.engaged {
        reasons.push(format!(
            "{} has another workshop or mission on the days that fit",
            attendee.city
        ));
    }
    if blockers.holiday {
        let mut countries: Vec<&str> = vec![rules.experts_country.as_str()];
        if request.kind == EnquiryKind::JointWorkshop && tried.contains(&Format::InPerson) {
            countries.push(rules.host_country.as_str());
        }
        countries.push(attendee.country.as_str());
        countries.retain(|c| !c.is_empty());
        countries.sort_unstable();
        countries.dedup();
        reasons.push(format!(
            "public holidays ({}) fall on days that would otherwise fit",
            countries.join(", ")
        ));
    }
    if blockers.full {
        reasons.push(format!(
            "the days that fit already hold {} workshops or missions",
            rules.max_workshops_per_day
        ));
    }
    let advice = if request.kind == EnquiryKind::JointWorkshop
        && attendee.wanted_format() != Format::Either
    {
        "a wider window or another format may help"
    } else {
        "a wider window may help"
    };
    let mut detail = format!(
        "{looked_for} between {} and {} with {}",
        window.start,
        window.end,
        what.join(" or ")
    );
    if !reasons.is_empty() {
        detail.push_str(": ");
        detail.push_str(&reasons.join(", "));
    }
    detail.push_str("; ");
    detail.push_str(advice);
    detail
}

fn layout_phrase(request: &Request, format: Format, rules: &Rules) -> String {
    let attendee = &request.attendee;
    let (open, close) = rules.working_hours;
    let (experts_open, experts_close) = rules.experts_hours;
    let virtual_hours = format!(
        "within {}–{} {} and {}–{} {}",
        hm(open),
        hm(close),
        attendee.time_zone,
        hm(experts_open),
        hm(experts_close),
        rules.experts_zone
    );
    match (request.kind, format) {
        (EnquiryKind::PilotProject, _) => format!(
            "a field mission in {}, {}–{} {} each day",
            attendee.city,
            hm(open),
            hm(close),
            attendee.time_zone
        ),
        (EnquiryKind::ConsultativeSupport, _) => format!(
            "a {} virtual consultation {}",
            length_phrase(rules.consultation),
            virtual_hours
        ),
        (_, Format::InPerson) => format!(
            "an in-person workshop in {}, {}–{} {} each day",
            rules.host_city,
            hm(open),
            hm(close),
            rules.host_zone
        ),
        _ => format!(
            "a virtual workshop of one {} session a day {}",
            length_phrase(rules.virtual_joint_session),
            virtual_hours
        ),
    }
}

fn hm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

fn length_phrase(length: Duration) -> String {
    let minutes = length.num_minutes();
    if minutes % 60 == 0 {
        format!("{}-hour", minutes / 60)
    } else {
        format!("{minutes}-minute")
    }
}

/// Shown when the request's kind is not one the programme plans.
pub(crate) fn unknown_kind_detail(first_day: NaiveDate) -> String {
    format!(
        "the enquiry's kind is not one the programme plans (window from {first_day}); \
         resubmit it as a joint workshop, consultative support or pilot project"
    )
}
