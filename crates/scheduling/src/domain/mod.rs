//! Scheduling's pure planning rules: what an accepted enquiry becomes
//! ([`plan`]), and where a workshop goes when no expert took it
//! ([`next_slot`]). No I/O, no clock, no hash-map order: the same request and
//! calendar always give the same decision (rule 7), and the lead time counts
//! from the enquiry's `received_at`, never from "now".
//!
//! `DOMAIN.md` ("Workshop scheduling") is the authority; below are the
//! readings this module takes where it leaves a choice.
//!
//! # What each kind becomes
//!
//! - `JOINT_WORKSHOP`: 2 consecutive working days. **In person** it is hosted
//!   in Seoul ([`Rules::host_city`], zone Asia/Seoul), 09:00–17:00 Seoul time
//!   each day: Seoul hosts the programme, the experts are there, and one host
//!   lets a workshop take cities from anywhere. **Virtual**: one 3-hour
//!   session a day, no host city, kept in the experts' zone (Asia/Seoul).
//! - `CONSULTATIVE_SUPPORT`: one 2-hour virtual session; the format asked for
//!   is ignored.
//! - `PILOT_PROJECT`: 5 consecutive working days in the requesting city, in
//!   person, 09:00–17:00 local time; host = that city, in its zone; the
//!   format asked for is ignored.
//! - `FORMAT_UNSPECIFIED` is read as `EITHER` (the contract's default);
//!   `ENQUIRY_KIND_UNSPECIFIED` (which intake never accepts) is
//!   `NO_SLOT_IN_WINDOW`.
//!
//! # Days
//!
//! - *Working day*: Monday to Friday, and no public holiday (rule 8,
//!   below). *Consecutive working days* skip the others: Thursday, Friday,
//!   Monday is consecutive.
//! - In person, session days are working days in the host's zone. Virtual,
//!   the session's date is a working day both in the experts' zone and in
//!   every attending city's zone (each read locally).
//! - *Programme day* ([`programme_day`]): the date in Seoul. Rules 4 and 5
//!   count programme days, so that every workshop and every service counts
//!   the same day the same way. A workshop's [`DaySpan`] ([`span_of`]) runs
//!   from its first session's programme day to its last's, **days between
//!   sessions included**: a Friday-and-Monday workshop occupies Saturday and
//!   Sunday too. It is the cautious reading: a city is never booked into the
//!   middle of another engagement (experts stay on mission over a weekend),
//!   and the store counts `day_load` by the same rule ([`Calendar::record`]).
//!
//! # Rules applied to every session planned
//!
//! - Rule 1, lead time: the first session starts no sooner than
//!   `received_at + 14 days`, for every attending city.
//! - Rule 2, windows and hours: each session's first and last instant, read
//!   as local dates of each city, lie inside that city's window. In-person
//!   sessions keep the host's 09:00–17:00. A virtual session lies within
//!   09:00–17:00 local time of every attending city and within 09:00–18:00
//!   Seoul; its start is the earliest instant all of them allow (and, on the
//!   first day, the lead time), rounded up to the 15-minute step counted from
//!   midnight Seoul, at the same Seoul clock time every day. Colombo with
//!   Makassar: 12:30–15:30 Seoul (03:30–06:30 UTC).
//! - Rule 4, one engagement at a time: the span shares no day with any
//!   engagement of an attending city: its `busy` spans, and the span of
//!   every workshop in [`Calendar::workshops`] it attends.
//! - Rule 5, programme capacity: every day of the span has `day_load < 3`.
//! - Rule 8, public holidays ([`Calendar::holidays`]): in person, no
//!   session's date in the host's zone is a holiday of the host's country
//!   ([`Rules::host_country`]; a mission's is its city's), of the experts'
//!   ([`Rules::experts_country`], Korea) or of an attending city's country
//!   (whose own date is checked too); virtual, no session's Seoul date is a
//!   Korean holiday and no city's local date a holiday of its country.
//!   Holidays are laid out like weekends: with a Friday holiday, Thursday and
//!   Monday are consecutive working days. A city with no known country
//!   (empty [`Attendee::country`]) has no holidays.
//!
//! The search walks candidate first days in order (at most a window's year)
//! and checks each in O(log n); the first that passes is taken.
//!
//! # Joining (rule 3; joint workshops only)
//!
//! A joint enquiry first looks for a planned joint workshop to join
//! ([`PlannedWorkshop::can_accept`]): the same primary topic; a compatible
//! format (`EITHER` takes either); a shared language; the city not already
//! in it; at most 40 participants and 5 cities after joining; sessions that
//! keep the lead time, the city's window and (virtual) its working hours;
//! no session on a public holiday of the city's country (in its own date,
//! and in person also the host's); and no overlap with the city's
//! engagements. The workshop's dates do not
//! change, so rule 5 is not concerned. Of those that accept, the one with the
//! earliest first session wins, then the smallest id; the joiner takes the
//! workshop's format. The capacity limits grouping only: a single enquiry of
//! more than 40 participants still gets its own workshop, which nobody joins.
//!
//! *Languages* ([`workshop_languages`]): a workshop is held in the languages
//! every attending city listed, plus English, which every city is assumed
//! to speak: the intersection, so that an expert matched on any of them can
//! talk to every city. A new workshop's are its city's plus English; joining
//! shrinks the set (never below English): [`PlannedWorkshop::admit`]
//! recomputes it. "Shares a language" counts English for both sides, so with
//! the defaults every city shares one with every workshop.
//!
//! # A new workshop
//!
//! When nothing can be joined, the earliest feasible dates are planned. For
//! `EITHER`, both formats are searched and the earlier first session wins;
//! on a tie, in person, because an in-person workshop in Seoul can take
//! cities from any zone later, while a virtual one only takes cities whose
//! working hours contain its session. No feasible dates at all:
//! `NO_SLOT_IN_WINDOW`, with a detail that names the window, what was looked
//! for, what stood in the way and what the city could change.
//!
//! # Another date ([`next_slot`])
//!
//! After `assignment.unfilled`, the same workshop (kind, format, host, every
//! attending city) is searched again, for a span starting on a programme day
//! strictly after its current first day. The caller passes a calendar
//! **without this workshop**: not in `workshops`, its days not in `day_load`
//! and not in its cities' `busy`, so it does not block itself. The caller
//! counts the tries ([`Rules::max_reschedules`]) and emits
//! `NO_EXPERT_AFTER_RETRIES` ([`UnschedulableCode`]) after the last.
//!
//! # Layout
//!
//! - [`plan`], [`next_slot`] (here): the entry points.
//! - [`rules`]: [`Rules`] and the defaults.
//! - [`days`]: programme days, [`DaySpan`], working days, [`Session`].
//! - [`attendee`]: [`Attendee`], [`Request`], and the per-city tests of a
//!   session.
//! - [`workshop`]: [`PlannedWorkshop`], joining and [`JoinRefusal`],
//!   languages.
//! - [`calendar`]: [`Calendar`], and the indexed engagement and load checks.
//! - `slots`: the search for the earliest feasible sessions.
//! - [`decision`]: [`Decision`], [`NewWorkshop`], [`UnschedulableCode`].

pub mod attendee;
pub mod calendar;
pub mod candidates;
pub mod days;
pub mod decision;
pub mod rules;
mod slots;
pub mod workshop;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

use contract::proto::common::v1::{EnquiryKind, Format};

pub use attendee::{Attendee, DateWindow, Request};
pub use calendar::Calendar;
pub use days::{DaySpan, PROGRAMME_ZONE, Session, is_working_day, programme_day, span_of};
pub use decision::{Decision, NewWorkshop, UnschedulableCode};
pub use rules::Rules;
pub use workshop::{JoinRefusal, PlannedWorkshop, share_language, workshop_languages};

use calendar::Busy;
use slots::{Blockers, Search, Shape};

/// Plans a new enquiry: join a planned joint workshop, else the earliest
/// feasible new workshop or mission, else `NO_SLOT_IN_WINDOW`.
pub fn plan(request: &Request, calendar: &Calendar, rules: &Rules) -> Decision {
    let attendee = &request.attendee;
    let busy = Busy::of(calendar, [attendee.city.as_str()]);
    let formats: &[Format] = match request.kind {
        EnquiryKind::JointWorkshop => {
            if let Some(workshop) = best_join(request, calendar, &busy, rules) {
                return Decision::Join {
                    workshop_id: workshop.id.clone(),
                    format: workshop.format,
                };
            }
            match attendee.wanted_format() {
                Format::InPerson => &[Format::InPerson],
                Format::Virtual => &[Format::Virtual],
                // In person first: it keeps a tie (see the module docs).
                _ => &[Format::InPerson, Format::Virtual],
            }
        }
        EnquiryKind::ConsultativeSupport => &[Format::Virtual],
        EnquiryKind::PilotProject => &[Format::InPerson],
        EnquiryKind::Unspecified => {
            return Decision::Unschedulable {
                code: UnschedulableCode::NoSlotInWindow,
                detail: decision::unknown_kind_detail(attendee.window.start),
            };
        }
    };

    let mut blockers = Blockers::default();
    let mut best: Option<NewWorkshop> = None;
    for format in formats {
        let (shape, host_city, time_zone) = layout(request, *format, rules);
        let host_country = match (request.kind, format) {
            (EnquiryKind::PilotProject, _) => Some(attendee.country.as_str()),
            (_, Format::InPerson) => Some(rules.host_country.as_str()),
            _ => None,
        };
        let search = Search {
            shape,
            attendees: std::slice::from_ref(attendee),
            calendar,
            busy: &busy,
            rules,
            after: None,
            host_country,
        };
        let Some(sessions) = search.earliest(&mut blockers) else {
            continue;
        };
        let earlier = best.as_ref().is_none_or(|b| {
            sessions.first().map(|s| s.start) < b.sessions.first().map(|s| s.start)
        });
        if earlier {
            best = Some(NewWorkshop {
                kind: request.kind,
                format: *format,
                host_city,
                time_zone,
                sessions,
                languages: workshop_languages(std::slice::from_ref(attendee), rules),
            });
        }
    }
    best.map_or_else(
        || Decision::Unschedulable {
            code: UnschedulableCode::NoSlotInWindow,
            detail: decision::no_slot_detail(request, formats, blockers, rules),
        },
        Decision::New,
    )
}

/// The earliest feasible sessions for `workshop` as it stands (kind, format,
/// host, every attending city) whose span starts on a programme day strictly
/// after its current first day. `calendar` must not contain the workshop
/// itself (see the module docs). `None` when there are none, or the workshop
/// has no sessions, no attendees, or an unplannable kind or format.
pub fn next_slot(
    workshop: &PlannedWorkshop,
    calendar: &Calendar,
    rules: &Rules,
) -> Option<Vec<Session>> {
    let days = kind_days(workshop.kind, rules)?;
    let shape = match workshop.format {
        Format::InPerson => Shape::InPerson {
            zone: workshop.time_zone,
            days,
        },
        Format::Virtual => Shape::Virtual {
            days,
            length: if workshop.kind == EnquiryKind::ConsultativeSupport {
                rules.consultation
            } else {
                rules.virtual_joint_session
            },
        },
        Format::Either | Format::Unspecified => return None,
    };
    let current = workshop.span()?;
    let busy = Busy::of(calendar, workshop.cities());
    Search {
        shape,
        attendees: &workshop.attendees,
        calendar,
        busy: &busy,
        rules,
        after: Some(current.first),
        host_country: host_country(workshop, rules),
    }
    .earliest(&mut Blockers::default())
}

/// The country of an in-person workshop's host: the programme's host's
/// ([`Rules::host_country`]) or, for a mission, its city's. `None` when
/// virtual or when the host is none of its cities (its holidays unknown).
fn host_country<'a>(workshop: &'a PlannedWorkshop, rules: &'a Rules) -> Option<&'a str> {
    if workshop.format != Format::InPerson {
        return None;
    }
    let host = workshop.host_city.as_deref()?;
    if host == rules.host_city {
        return Some(rules.host_country.as_str());
    }
    workshop
        .attendees
        .iter()
        .find(|a| a.city == host)
        .map(|a| a.country.as_str())
}

/// The joint workshop `request` should join, if any: of those that accept
/// it, the earliest first session, then the smallest id.
fn best_join<'c>(
    request: &Request,
    calendar: &'c Calendar,
    busy: &Busy,
    rules: &Rules,
) -> Option<&'c PlannedWorkshop> {
    calendar
        .workshops
        .iter()
        .filter(|w| w.check_join(request, calendar, busy, rules).is_ok())
        .filter_map(|w| Some((w.first_session()?.start, w.id.as_str(), w)))
        .min_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)))
        .map(|(_, _, w)| w)
}

/// How many consecutive working days a kind takes.
fn kind_days(kind: EnquiryKind, rules: &Rules) -> Option<u32> {
    match kind {
        EnquiryKind::JointWorkshop => Some(rules.joint_days),
        EnquiryKind::ConsultativeSupport => Some(1),
        EnquiryKind::PilotProject => Some(rules.mission_days),
        EnquiryKind::Unspecified => None,
    }
}

/// The layout, host and zone of a new workshop of `request`'s kind in
/// `format`.
fn layout(
    request: &Request,
    format: Format,
    rules: &Rules,
) -> (Shape, Option<String>, chrono_tz::Tz) {
    let attendee = &request.attendee;
    match (request.kind, format) {
        (EnquiryKind::PilotProject, _) => (
            Shape::InPerson {
                zone: attendee.time_zone,
                days: rules.mission_days,
            },
            Some(attendee.city.clone()),
            attendee.time_zone,
        ),
        (EnquiryKind::ConsultativeSupport, _) => (
            Shape::Virtual {
                days: 1,
                length: rules.consultation,
            },
            None,
            rules.experts_zone,
        ),
        (_, Format::InPerson) => (
            Shape::InPerson {
                zone: rules.host_zone,
                days: rules.joint_days,
            },
            Some(rules.host_city.clone()),
            rules.host_zone,
        ),
        _ => (
            Shape::Virtual {
                days: rules.joint_days,
                length: rules.virtual_joint_session,
            },
            None,
            rules.experts_zone,
        ),
    }
}
