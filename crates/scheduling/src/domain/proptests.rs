//! Properties of planning, checked by an oracle written here from
//! `DOMAIN.md` rather than from the planner's helpers:
//!
//! - every planned or joined workshop keeps, for every city in it, the lead
//!   time, the window, working days and working hours (its own for virtual,
//!   the host's in person), and the experts' hours when virtual;
//! - a sequence of requests, each decision fed back into the calendar as the
//!   store would, never puts a city in two overlapping engagements, never
//!   more than 3 workshops on a programme day, and never over capacity;
//! - the same sequence plans the same twice;
//! - the next slot of any planned workshop is strictly later and keeps every
//!   rule;
//! - on an empty calendar a pilot project lands on the first working day the
//!   lead time and window allow;
//! - with public holidays in the calendar, no session of a planned or joined
//!   workshop, nor of one moved to its next slot, falls on a holiday of
//!   Korea, of its host's country or of an attending city's country (rule 8).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use contract::proto::common::v1::{EnquiryKind, Format, Topic};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use std::collections::BTreeMap;

use super::testkit::{day, utc, zone};
use super::{
    Attendee, Calendar, DateWindow, DaySpan, Decision, PlannedWorkshop, Request, Rules, Session,
    next_slot, plan,
};

/// Real zones of the region, from UTC+3:30 to UTC+9, with the odd offsets
/// (Kabul +4:30, Colombo +5:30, Kathmandu +5:45, Yangon +6:30).
const CITIES: [(&str, &str); 15] = [
    ("makassar", "Asia/Makassar"),
    ("hulhumale", "Indian/Maldives"),
    ("colombo", "Asia/Colombo"),
    ("chandigarh", "Asia/Kolkata"),
    ("kathmandu", "Asia/Kathmandu"),
    ("dhaka", "Asia/Dhaka"),
    ("yangon", "Asia/Yangon"),
    ("bangkok", "Asia/Bangkok"),
    ("jakarta", "Asia/Jakarta"),
    ("manila", "Asia/Manila"),
    ("tokyo", "Asia/Tokyo"),
    ("ulaanbaatar", "Asia/Ulaanbaatar"),
    ("karachi", "Asia/Karachi"),
    ("kabul", "Asia/Kabul"),
    ("tehran", "Asia/Tehran"),
];

/// The countries of [`CITIES`], in the same order.
const COUNTRIES: [&str; 15] = [
    "ID", "MV", "LK", "IN", "NP", "BD", "MM", "TH", "ID", "PH", "JP", "MN", "PK", "AF", "IR",
];

const KINDS: [EnquiryKind; 3] = [
    EnquiryKind::JointWorkshop,
    EnquiryKind::ConsultativeSupport,
    EnquiryKind::PilotProject,
];

const FORMATS: [Format; 3] = [Format::InPerson, Format::Virtual, Format::Either];

/// Few primary topics, so that joint enquiries meet often.
const TOPICS: [Topic; 2] = [Topic::SocialInnovation, Topic::DesignThinking];

const LANGUAGES: [&str; 5] = ["en", "id", "si", "ko", "hi"];

/// Day 0 of the generated calendars, a Monday.
fn origin() -> NaiveDate {
    day(2027, 1, 4)
}

fn seoul() -> Tz {
    zone("Asia/Seoul")
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn weekday(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

fn following_weekday(d: NaiveDate) -> NaiveDate {
    let mut next = d + Duration::days(1);
    while !weekday(next) {
        next += Duration::days(1);
    }
    next
}

prop_compose! {
    fn request(index: usize)(
        city in 0..CITIES.len(),
        kind in prop_oneof![
            3 => Just(EnquiryKind::JointWorkshop),
            1 => select(KINDS.to_vec()),
        ],
        topic in select(TOPICS.to_vec()),
        format in select(FORMATS.to_vec()),
        received_hours in 0i64..24 * 40,
        window_offset in 0i64..50,
        window_days in 0i64..80,
        participants in 1u32..=30,
        languages in subsequence(LANGUAGES.to_vec(), 1..=3),
    ) -> Request {
        let (code, tz) = CITIES[city];
        let received_at = utc(2027, 1, 4, 0, 0) + Duration::hours(received_hours);
        let start = received_at.date_naive() + Duration::days(window_offset);
        Request {
            attendee: Attendee {
                enquiry_id: format!("enq-{index}"),
                city: code.to_owned(),
                time_zone: zone(tz),
                country: COUNTRIES[city].to_owned(),
                window: DateWindow::new(start, start + Duration::days(window_days)),
                received_at,
                participants,
                languages: languages.into_iter().map(str::to_owned).collect(),
                format,
            },
            kind,
            topics: vec![topic, Topic::Housing],
        }
    }
}

fn requests() -> impl Strategy<Value = Vec<Request>> {
    (1usize..=24).prop_flat_map(|n| (0..n).map(request).collect::<Vec<_>>())
}

prop_compose! {
    /// Engagements and loads already in the store before the sequence.
    fn existing()(
        busy in prop::collection::vec((0..CITIES.len(), 0i64..120, 0i64..8), 0..6),
        loads in prop::collection::vec((0i64..120, 0u32..=3), 0..25),
    ) -> Calendar {
        let mut calendar = Calendar::default();
        for (city, offset, len) in busy {
            let first = origin() + Duration::days(offset);
            calendar
                .busy
                .entry(CITIES[city].0.to_owned())
                .or_default()
                .push(DaySpan::new(first, first + Duration::days(len)));
        }
        for (offset, load) in loads {
            calendar.day_load.insert(origin() + Duration::days(offset), load);
        }
        calendar
    }
}

prop_compose! {
    /// Public holidays of Korea and the cities' countries over the months
    /// the requests use: some runs of a day or several, dense enough that
    /// many candidate days are one.
    fn holidays()(
        runs in prop::collection::vec((0..=COUNTRIES.len(), 0i64..150, 1i64..4), 0..40),
    ) -> Calendar {
        let mut calendar = Calendar::default();
        for (country, offset, len) in runs {
            let country = COUNTRIES.get(country).copied().unwrap_or("KR");
            let first = origin() + Duration::days(offset);
            calendar
                .holidays
                .entry(country.to_owned())
                .or_default()
                .extend((0..len).map(|i| first + Duration::days(i)));
        }
        calendar
    }
}

// ---- the oracle --------------------------------------------------------------

/// Rule 8, from DOMAIN.md: no session falls on a public holiday of Korea,
/// of the host's country or of an attending city's country. Each country's
/// day is read where it matters: Korea's in Seoul, a city's in its own zone,
/// and in person every country's also in the host's zone.
fn check_no_holiday(w: &PlannedWorkshop, holidays: &Calendar) -> Result<(), TestCaseError> {
    let off = |country: &str, day: NaiveDate| {
        holidays
            .holidays
            .get(country)
            .is_some_and(|days| days.contains(&day))
    };
    let host_country = match (w.format, w.host_city.as_deref()) {
        (Format::InPerson, Some("seoul")) => Some("KR"),
        (Format::InPerson, Some(host)) => w
            .attendees
            .iter()
            .find(|a| a.city == host)
            .map(|a| a.country.as_str()),
        _ => None,
    };
    for s in &w.sessions {
        for t in [s.start, s.end - Duration::seconds(1)] {
            let seoul_day = local(t, seoul()).0;
            prop_assert!(
                !off("KR", seoul_day),
                "{} on a Korean holiday: {:?}",
                w.id,
                s
            );
            if w.format == Format::InPerson {
                let host_day = local(t, w.time_zone).0;
                prop_assert!(
                    !off("KR", host_day),
                    "{} on a Korean holiday: {:?}",
                    w.id,
                    s
                );
                if let Some(country) = host_country {
                    prop_assert!(!off(country, host_day), "{} on its host's holiday", w.id);
                }
                for a in &w.attendees {
                    prop_assert!(
                        !off(&a.country, host_day),
                        "{} on {}'s holiday",
                        w.id,
                        a.city
                    );
                }
            }
            for a in &w.attendees {
                let own = local(t, a.time_zone).0;
                prop_assert!(
                    !off(&a.country, own),
                    "{} on {}'s holiday {}",
                    w.id,
                    a.city,
                    own
                );
            }
        }
    }
    Ok(())
}

/// The oracle's own programme days of a session list: Seoul dates from the
/// first start to the last session's last second.
fn oracle_span(sessions: &[Session]) -> (NaiveDate, NaiveDate) {
    let first = sessions[0].start.with_timezone(&seoul()).date_naive();
    let last_end = sessions[sessions.len() - 1].end - Duration::seconds(1);
    (first, last_end.with_timezone(&seoul()).date_naive())
}

fn expected_days(kind: EnquiryKind) -> usize {
    match kind {
        EnquiryKind::JointWorkshop => 2,
        EnquiryKind::PilotProject => 5,
        _ => 1,
    }
}

/// Local date and clock time of `t` in `tz`.
fn local(t: DateTime<Utc>, tz: Tz) -> (NaiveDate, NaiveTime) {
    let l = t.with_timezone(&tz);
    (l.date_naive(), l.time())
}

fn check_days_consecutive(dates: &[NaiveDate]) -> Result<(), TestCaseError> {
    for pair in dates.windows(2) {
        prop_assert_eq!(following_weekday(pair[0]), pair[1], "{:?}", dates);
    }
    Ok(())
}

/// Every rule a planned workshop must keep for every city in it.
fn check_workshop(w: &PlannedWorkshop) -> Result<(), TestCaseError> {
    prop_assert!(!w.sessions.is_empty());
    prop_assert!(!w.attendees.is_empty());
    prop_assert_eq!(w.sessions.len(), expected_days(w.kind), "{:?}", w);
    match w.format {
        Format::InPerson => {
            prop_assert_ne!(w.kind, EnquiryKind::ConsultativeSupport);
            if w.kind == EnquiryKind::PilotProject {
                prop_assert_eq!(w.host_city.as_deref(), Some(w.attendees[0].city.as_str()));
                prop_assert_eq!(w.time_zone, w.attendees[0].time_zone);
            } else {
                prop_assert_eq!(w.host_city.as_deref(), Some("seoul"));
                prop_assert_eq!(w.time_zone, seoul());
            }
            let mut dates = Vec::new();
            for s in &w.sessions {
                let (start_day, start) = local(s.start, w.time_zone);
                let (end_day, end) = local(s.end, w.time_zone);
                prop_assert_eq!((start, end), (hm(9, 0), hm(17, 0)));
                prop_assert_eq!(start_day, end_day);
                prop_assert!(weekday(start_day), "{} is a weekend", start_day);
                dates.push(start_day);
            }
            check_days_consecutive(&dates)?;
        }
        Format::Virtual => {
            prop_assert_ne!(w.kind, EnquiryKind::PilotProject);
            prop_assert_eq!(w.host_city.as_deref(), None);
            let length = if w.kind == EnquiryKind::ConsultativeSupport {
                Duration::hours(2)
            } else {
                Duration::hours(3)
            };
            let mut dates = Vec::new();
            let clock = local(w.sessions[0].start, seoul()).1;
            for s in &w.sessions {
                prop_assert_eq!(s.end - s.start, length);
                let (start_day, start) = local(s.start, seoul());
                let (end_day, end) = local(s.end, seoul());
                prop_assert_eq!(start_day, end_day);
                prop_assert!(start >= hm(9, 0) && end <= hm(18, 0), "{:?}", s);
                prop_assert!(weekday(start_day));
                prop_assert_eq!(start, clock, "the same clock time every day");
                prop_assert_eq!(start.minute() % 15, 0);
                prop_assert_eq!(start.second(), 0);
                dates.push(start_day);
                for a in &w.attendees {
                    let (a_start_day, a_start) = local(s.start, a.time_zone);
                    let (a_end_day, a_end) = local(s.end, a.time_zone);
                    prop_assert_eq!(a_start_day, a_end_day);
                    prop_assert!(weekday(a_start_day));
                    prop_assert!(
                        a_start >= hm(9, 0) && a_end <= hm(17, 0),
                        "{:?} outside {}'s hours",
                        s,
                        a.city
                    );
                }
            }
            check_days_consecutive(&dates)?;
        }
        other => prop_assert!(false, "format {:?}", other),
    }
    for a in &w.attendees {
        prop_assert!(
            w.sessions[0].start >= a.received_at + Duration::days(14),
            "{:?} too soon for {}",
            w.sessions[0],
            a.city
        );
        for s in &w.sessions {
            let first = local(s.start, a.time_zone).0;
            let last = local(s.end - Duration::seconds(1), a.time_zone).0;
            prop_assert!(
                a.window.contains(first) && a.window.contains(last),
                "{:?} outside {}'s window {:?}",
                s,
                a.city,
                a.window
            );
        }
    }
    Ok(())
}

/// What the store holds after playing a sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Played {
    decisions: Vec<Decision>,
    calendar: Calendar,
}

/// Plays `requests` against `existing`, feeding every decision back as the
/// store would, and checks each workshop a decision touches.
fn play(requests: &[Request], existing: &Calendar, rules: &Rules) -> Result<Played, TestCaseError> {
    let mut calendar = existing.clone();
    let mut decisions = Vec::new();
    for (i, request) in requests.iter().enumerate() {
        let decision = plan(request, &calendar, rules);
        match &decision {
            Decision::Join {
                workshop_id,
                format,
            } => {
                prop_assert_eq!(request.kind, EnquiryKind::JointWorkshop);
                let workshop = calendar
                    .workshops
                    .iter_mut()
                    .find(|w| &w.id == workshop_id)
                    .expect("the joined workshop is in the calendar");
                prop_assert_eq!(*format, workshop.format);
                prop_assert_eq!(workshop.topics[0], request.topics[0]);
                workshop.admit(request.attendee.clone(), rules);
                check_workshop(workshop)?;
            }
            Decision::New(new) => {
                let workshop = new.clone().into_planned(format!("w-{i:03}"), request);
                check_workshop(&workshop)?;
                calendar.record(workshop);
            }
            Decision::Unschedulable { code, detail } => {
                prop_assert_eq!(code.as_str(), "NO_SLOT_IN_WINDOW");
                prop_assert!(detail.contains("may help"), "{}", detail);
            }
        }
        decisions.push(decision);
    }
    Ok(Played {
        decisions,
        calendar,
    })
}

/// Rules 3, 4 and 5 over everything planned on top of `existing`.
fn check_programme(
    existing: &Calendar,
    workshops: &[PlannedWorkshop],
) -> Result<(), TestCaseError> {
    let mut per_city: BTreeMap<&str, Vec<(NaiveDate, NaiveDate)>> = BTreeMap::new();
    let mut load: BTreeMap<NaiveDate, u32> = existing.day_load.clone();
    for w in workshops {
        let (first, last) = oracle_span(&w.sessions);
        let mut d = first;
        while d <= last {
            *load.entry(d).or_insert(0) += 1;
            d += Duration::days(1);
        }
        let cities = w.cities();
        prop_assert_eq!(cities.len(), w.attendees.len(), "a city twice in {}", w.id);
        if w.attendees.len() > 1 {
            prop_assert!(cities.len() <= 5);
            prop_assert!(w.attendees.iter().map(|a| a.participants).sum::<u32>() <= 40);
        }
        for city in cities {
            per_city.entry(city).or_default().push((first, last));
        }
    }
    for (day, count) in &load {
        prop_assert!(*count <= 3, "{} workshops on {}", count, day);
    }
    for (city, mut spans) in per_city {
        let engaged = existing.busy.get(city).cloned().unwrap_or_default();
        for (first, last) in &spans {
            for other in &engaged {
                prop_assert!(
                    other.first > *last || other.last < *first,
                    "{} planned {}..{} over its engagement {:?}",
                    city,
                    first,
                    last,
                    other
                );
            }
        }
        spans.sort();
        for pair in spans.windows(2) {
            prop_assert!(pair[0].1 < pair[1].0, "{} in two at once: {:?}", city, pair);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_sequence_of_requests_keeps_every_rule_and_plans_the_same_twice(
        requests in requests(),
        existing in existing(),
    ) {
        let rules = Rules::default();
        let once = play(&requests, &existing, &rules)?;
        check_programme(&existing, &once.calendar.workshops)?;
        let twice = play(&requests, &existing, &rules)?;
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn the_next_slot_of_any_planned_workshop_is_later_and_keeps_every_rule(
        requests in requests(),
        existing in existing(),
    ) {
        let rules = Rules::default();
        let played = play(&requests, &existing, &rules)?;
        let workshops = &played.calendar.workshops;
        for (i, workshop) in workshops.iter().enumerate().take(4) {
            // The calendar as the store would load it without this workshop.
            let mut others = existing.clone();
            for (j, other) in workshops.iter().enumerate() {
                if j != i {
                    others.record(other.clone());
                }
            }
            let Some(sessions) = next_slot(workshop, &others, &rules) else {
                continue;
            };
            prop_assert!(
                oracle_span(&sessions).0 > oracle_span(&workshop.sessions).0,
                "{:?} is not after {:?}",
                sessions,
                workshop.sessions
            );
            let mut moved = workshop.clone();
            moved.sessions = sessions;
            check_workshop(&moved)?;
            let mut after: Vec<PlannedWorkshop> = workshops.clone();
            after[i] = moved;
            check_programme(&existing, &after)?;
        }
    }

    #[test]
    fn no_session_planned_joined_or_moved_falls_on_a_public_holiday(
        requests in requests(),
        holidays in holidays(),
    ) {
        let rules = Rules::default();
        let mut calendar = holidays.clone();
        for (i, request) in requests.iter().enumerate() {
            match plan(request, &calendar, &rules) {
                Decision::Join { workshop_id, .. } => {
                    let workshop = calendar
                        .workshops
                        .iter_mut()
                        .find(|w| w.id == workshop_id)
                        .expect("the joined workshop is in the calendar");
                    workshop.admit(request.attendee.clone(), &rules);
                    check_no_holiday(workshop, &holidays)?;
                }
                Decision::New(new) => {
                    let workshop = new.into_planned(format!("w-{i:03}"), request);
                    check_no_holiday(&workshop, &holidays)?;
                    calendar.record(workshop);
                }
                Decision::Unschedulable { .. } => {}
            }
        }
        for (i, workshop) in calendar.workshops.iter().enumerate().take(4) {
            let mut others = holidays.clone();
            for (j, other) in calendar.workshops.iter().enumerate() {
                if j != i {
                    others.record(other.clone());
                }
            }
            if let Some(sessions) = next_slot(workshop, &others, &rules) {
                let mut moved = workshop.clone();
                moved.sessions = sessions;
                check_no_holiday(&moved, &holidays)?;
            }
        }
    }

    #[test]
    fn on_an_empty_calendar_a_mission_starts_on_the_first_working_day_allowed(
        city in 0..CITIES.len(),
        received_minutes in 0i64..60 * 24 * 60,
        window_offset in 0i64..40,
        window_days in 25i64..80,
    ) {
        let rules = Rules::default();
        let (code, tz_name) = CITIES[city];
        let tz = zone(tz_name);
        let received_at = utc(2027, 1, 4, 0, 0) + Duration::minutes(received_minutes);
        let start = received_at.date_naive() + Duration::days(window_offset);
        let request = Request {
            attendee: Attendee {
                enquiry_id: "enq".into(),
                city: code.into(),
                time_zone: tz,
                country: COUNTRIES[city].into(),
                window: DateWindow::new(start, start + Duration::days(window_days)),
                received_at,
                participants: 5,
                languages: ["en".to_owned()].into(),
                format: Format::Either,
            },
            kind: EnquiryKind::PilotProject,
            topics: vec![Topic::Housing],
        };
        let earliest = received_at + Duration::days(14);
        let mut expected = start.max(local(earliest, tz).0);
        let nine = |d: NaiveDate| {
            d.and_time(hm(9, 0)).and_local_timezone(tz).earliest().unwrap().with_timezone(&Utc)
        };
        if nine(expected) < earliest {
            expected += Duration::days(1);
        }
        while !weekday(expected) {
            expected += Duration::days(1);
        }
        let decision = plan(&request, &Calendar::default(), &rules);
        let Decision::New(new) = decision else {
            return Err(TestCaseError::fail(format!("{decision:?}")));
        };
        prop_assert_eq!(local(new.sessions[0].start, tz).0, expected);
        check_workshop(&new.into_planned("w", &request))?;
    }
}
