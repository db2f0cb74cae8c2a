//! Planning by example: what each kind becomes, each rule, joining and each
//! refusal, capacity, the unschedulable detail and the next slot.

use chrono::{Duration, Timelike};
use contract::proto::common::v1::{EnquiryKind, Format, Topic};

use super::calendar::Busy;
use super::testkit::*;
use super::*;

fn new_of(decision: Decision) -> NewWorkshop {
    match decision {
        Decision::New(new) => new,
        other => panic!("expected a new workshop, got {other:?}"),
    }
}

fn starts(
    sessions: &[Session],
) -> Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
    sessions.iter().map(|s| (s.start, s.end)).collect()
}

// ---- what each kind becomes --------------------------------------------------

#[test]
fn a_virtual_joint_workshop_for_colombo_and_makassar_lands_at_three_thirty_to_six_thirty_utc() {
    let rules = Rules::default();
    let mut calendar = Calendar::default();
    let from_colombo = joint(with_format(colombo(), Format::Virtual));
    let workshop = plan_new("w-1", &from_colombo, &mut calendar, &rules);
    assert_eq!(workshop.format, Format::Virtual);
    assert_eq!(workshop.host_city, None);
    assert_eq!(workshop.time_zone, chrono_tz::Asia::Seoul);
    assert_eq!(
        starts(&workshop.sessions),
        vec![
            (utc(2027, 3, 1, 3, 30), utc(2027, 3, 1, 6, 30)),
            (utc(2027, 3, 2, 3, 30), utc(2027, 3, 2, 6, 30)),
        ]
    );

    let from_makassar = joint(with_format(makassar(), Format::Virtual));
    assert_eq!(
        plan(&from_makassar, &calendar, &rules),
        Decision::Join {
            workshop_id: "w-1".into(),
            format: Format::Virtual
        }
    );

    // Both cities together, planned afresh later: still 03:30-06:30 UTC,
    // i.e. 09:00 in Colombo and 11:30 in Makassar.
    let mut both = workshop.clone();
    both.admit(from_makassar.attendee.clone(), &rules);
    let moved = next_slot(&both, &Calendar::default(), &rules).unwrap();
    assert_eq!(
        starts(&moved),
        vec![
            (utc(2027, 3, 2, 3, 30), utc(2027, 3, 2, 6, 30)),
            (utc(2027, 3, 3, 3, 30), utc(2027, 3, 3, 6, 30)),
        ]
    );
}

#[test]
fn an_in_person_joint_workshop_is_two_days_in_seoul_from_nine_to_five() {
    let rules = Rules::default();
    let new = new_of(plan(
        &joint(with_format(makassar(), Format::InPerson)),
        &Calendar::default(),
        &rules,
    ));
    assert_eq!(new.kind, EnquiryKind::JointWorkshop);
    assert_eq!(new.format, Format::InPerson);
    assert_eq!(new.host_city.as_deref(), Some("seoul"));
    assert_eq!(new.time_zone, chrono_tz::Asia::Seoul);
    // 09:00-17:00 Seoul is 00:00-08:00 UTC.
    assert_eq!(
        starts(&new.sessions),
        vec![
            (utc(2027, 3, 1, 0, 0), utc(2027, 3, 1, 8, 0)),
            (utc(2027, 3, 2, 0, 0), utc(2027, 3, 2, 8, 0)),
        ]
    );
}

#[test]
fn a_pilot_project_in_makassar_is_five_working_days_from_nine_to_five_wita_skipping_a_weekend() {
    let rules = Rules::default();
    // Asked for virtually, which a field mission cannot be.
    let city = with_window(
        with_format(makassar(), Format::Virtual),
        day(2027, 3, 3),
        day(2027, 3, 31),
    );
    let new = new_of(plan(
        &request(city, EnquiryKind::PilotProject),
        &Calendar::default(),
        &rules,
    ));
    assert_eq!(new.format, Format::InPerson);
    assert_eq!(new.host_city.as_deref(), Some("makassar"));
    assert_eq!(new.time_zone, zone("Asia/Makassar"));
    // Wednesday 3 March to Tuesday 9 March; 09:00-17:00 WITA is 01:00-09:00 UTC.
    let expected: Vec<_> = [3, 4, 5, 8, 9]
        .into_iter()
        .map(|d| (utc(2027, 3, d, 1, 0), utc(2027, 3, d, 9, 0)))
        .collect();
    assert_eq!(starts(&new.sessions), expected);
    assert_eq!(
        span_of(&new.sessions),
        Some(DaySpan::new(day(2027, 3, 3), day(2027, 3, 9)))
    );
}

#[test]
fn a_consultation_is_one_two_hour_virtual_session_whatever_the_format_asked() {
    let rules = Rules::default();
    let city = with_format(makassar(), Format::InPerson);
    let new = new_of(plan(
        &request(city, EnquiryKind::ConsultativeSupport),
        &Calendar::default(),
        &rules,
    ));
    assert_eq!(new.format, Format::Virtual);
    assert_eq!(new.host_city, None);
    // 09:00 WITA = 10:00 Seoul = 01:00 UTC.
    assert_eq!(
        starts(&new.sessions),
        vec![(utc(2027, 3, 1, 1, 0), utc(2027, 3, 1, 3, 0))]
    );
}

#[test]
fn a_city_whose_hours_never_meet_seoul_gets_no_virtual_slot_and_is_told_why() {
    let rules = Rules::default();
    let city = attendee("quito", "America/Guayaquil");
    let decision = plan(
        &request(city, EnquiryKind::ConsultativeSupport),
        &Calendar::default(),
        &rules,
    );
    let Decision::Unschedulable { code, detail } = decision else {
        panic!("{decision:?}")
    };
    assert_eq!(code, UnschedulableCode::NoSlotInWindow);
    assert!(detail.contains("working hours"), "{detail}");
    assert!(detail.contains("America/Guayaquil"), "{detail}");
}

// ---- lead time, windows, days ------------------------------------------------

#[test]
fn nothing_starts_sooner_than_fourteen_days_after_the_enquiry_arrived() {
    let rules = Rules::default();
    let mut city = with_format(makassar(), Format::InPerson);
    // 14 days later is Wednesday 10 March, 10:00 UTC: after 09:00 Seoul.
    city.received_at = utc(2027, 2, 24, 10, 0);
    let new = new_of(plan(&joint(city.clone()), &Calendar::default(), &rules));
    assert_eq!(new.sessions[0].start, utc(2027, 3, 11, 0, 0));

    // A virtual session may start later on that very day instead: 02:10 UTC
    // (11:10 Seoul) is rounded up to 11:15 Seoul.
    city.received_at = utc(2027, 2, 24, 2, 10);
    let consultation = new_of(plan(
        &request(city, EnquiryKind::ConsultativeSupport),
        &Calendar::default(),
        &rules,
    ));
    assert_eq!(
        starts(&consultation.sessions),
        vec![(utc(2027, 3, 10, 2, 15), utc(2027, 3, 10, 4, 15))]
    );
}

#[test]
fn a_window_of_only_a_weekend_is_no_slot_in_window() {
    let rules = Rules::default();
    let city = with_window(makassar(), day(2027, 3, 6), day(2027, 3, 7));
    let decision = plan(&joint(city), &Calendar::default(), &rules);
    let Decision::Unschedulable { code, detail } = decision else {
        panic!("{decision:?}")
    };
    assert_eq!(code.as_str(), "NO_SLOT_IN_WINDOW");
    assert!(
        detail.starts_with("no 2 consecutive working days"),
        "{detail}"
    );
    assert!(detail.contains("2027-03-06 and 2027-03-07"), "{detail}");
    assert!(
        detail.contains("the window holds no working day"),
        "{detail}"
    );
    assert!(detail.ends_with("a wider window may help"), "{detail}");
}

#[test]
fn a_window_that_ends_before_the_lead_time_says_so() {
    let rules = Rules::default();
    let mut city = with_format(
        with_window(colombo(), day(2027, 3, 1), day(2027, 3, 5)),
        Format::Virtual,
    );
    city.received_at = utc(2027, 2, 25, 0, 0);
    let Decision::Unschedulable { detail, .. } = plan(&joint(city), &Calendar::default(), &rules)
    else {
        panic!()
    };
    assert!(
        detail.contains("nothing may start before 2027-03-11 (14 days after the enquiry arrived)"),
        "{detail}"
    );
    assert!(
        detail.ends_with("a wider window or another format may help"),
        "{detail}"
    );
}

#[test]
fn a_one_day_window_is_too_short_for_a_two_day_workshop() {
    let rules = Rules::default();
    let city = with_window(makassar(), day(2027, 3, 5), day(2027, 3, 5));
    let Decision::Unschedulable { detail, .. } = plan(&joint(city), &Calendar::default(), &rules)
    else {
        panic!()
    };
    assert!(
        detail.contains("too few consecutive working days fit in the window"),
        "{detail}"
    );
}

#[test]
fn a_friday_start_runs_to_monday_and_occupies_the_weekend() {
    let rules = Rules::default();
    let city = with_window(
        with_format(makassar(), Format::InPerson),
        day(2027, 3, 5),
        day(2027, 3, 31),
    );
    let mut calendar = Calendar::default();
    let workshop = plan_new("w-1", &joint(city), &mut calendar, &rules);
    let days: Vec<_> = workshop
        .sessions
        .iter()
        .map(|s| programme_day(s.start))
        .collect();
    assert_eq!(days, vec![day(2027, 3, 5), day(2027, 3, 8)]);
    assert_eq!(
        workshop.span(),
        Some(DaySpan::new(day(2027, 3, 5), day(2027, 3, 8)))
    );
    for d in 5..=8 {
        assert_eq!(calendar.load_on(day(2027, 3, d)), 1, "day {d}");
    }
}

#[test]
fn the_programme_day_is_the_date_in_seoul() {
    assert_eq!(programme_day(utc(2027, 3, 1, 14, 59)), day(2027, 3, 1));
    assert_eq!(programme_day(utc(2027, 3, 1, 15, 0)), day(2027, 3, 2));
    let late = Session::new(utc(2027, 3, 1, 10, 0), utc(2027, 3, 1, 15, 0));
    assert_eq!(late.programme_days(), DaySpan::day(day(2027, 3, 1)));
}

// ---- rules 4 and 5 -----------------------------------------------------------

#[test]
fn a_fourth_workshop_on_a_full_day_moves_to_the_next_day() {
    let rules = Rules::default();
    let mut calendar = Calendar::default();
    for i in 0..3 {
        let city = attendee(&format!("city-{i}"), "Asia/Jakarta");
        let mission = plan_new(
            &format!("w-{i}"),
            &request(city, EnquiryKind::ConsultativeSupport),
            &mut calendar,
            &rules,
        );
        assert_eq!(programme_day(mission.sessions[0].start), day(2027, 3, 1));
    }
    assert_eq!(calendar.load_on(day(2027, 3, 1)), 3);
    let fourth = new_of(plan(
        &request(makassar(), EnquiryKind::ConsultativeSupport),
        &calendar,
        &rules,
    ));
    assert_eq!(programme_day(fourth.sessions[0].start), day(2027, 3, 2));
}

#[test]
fn a_city_is_never_planned_into_its_other_engagements() {
    let rules = Rules::default();
    let mut calendar = Calendar::default();
    calendar.busy.insert(
        "makassar".into(),
        vec![DaySpan::new(day(2027, 3, 1), day(2027, 3, 3))],
    );
    let city = with_format(makassar(), Format::InPerson);
    let new = new_of(plan(&joint(city.clone()), &calendar, &rules));
    assert_eq!(programme_day(new.sessions[0].start), day(2027, 3, 4));

    // A mission it attends in the calendar counts as well.
    let mut calendar = Calendar::default();
    plan_new(
        "mission",
        &request(city.clone(), EnquiryKind::PilotProject),
        &mut calendar,
        &rules,
    );
    let new = new_of(plan(
        &request(city, EnquiryKind::ConsultativeSupport),
        &calendar,
        &rules,
    ));
    assert_eq!(programme_day(new.sessions[0].start), day(2027, 3, 8));
}

#[test]
fn engagements_overlap_whatever_their_order_and_nesting() {
    let mut calendar = Calendar::default();
    calendar.busy.insert(
        "a".into(),
        vec![
            DaySpan::new(day(2027, 3, 10), day(2027, 3, 11)),
            DaySpan::new(day(2027, 3, 1), day(2027, 3, 20)),
            DaySpan::new(day(2027, 3, 5), day(2027, 3, 6)),
            DaySpan::new(day(2027, 5, 2), day(2027, 5, 1)), // inverted: nothing
        ],
    );
    calendar
        .busy
        .insert("b".into(), vec![DaySpan::day(day(2027, 4, 1))]);
    let busy = Busy::of(&calendar, ["a"]);
    assert!(busy.overlaps(&DaySpan::day(day(2027, 3, 15))));
    assert!(busy.overlaps(&DaySpan::new(day(2027, 2, 1), day(2027, 3, 1))));
    assert!(!busy.overlaps(&DaySpan::new(day(2027, 3, 21), day(2027, 4, 30))));
    assert!(!busy.overlaps(&DaySpan::day(day(2027, 5, 1))));
    assert!(!busy.overlaps(&DaySpan::day(day(2027, 2, 28))));
    assert!(Busy::of(&calendar, ["a", "b"]).overlaps(&DaySpan::day(day(2027, 4, 1))));
}

#[test]
fn a_year_long_window_with_every_day_full_is_searched_to_its_end() {
    let rules = Rules::default();
    let (mut calendar, workshop) = colombo_workshop(&rules);
    // Many workshops to consider joining (none on the enquiry's topic) and a
    // full programme every day of the year: each candidate day is refused.
    for i in 0..2_000 {
        let mut other = workshop.clone();
        other.id = format!("w-other-{i:04}");
        other.topics = vec![Topic::Housing];
        calendar.workshops.push(other);
    }
    for d in DaySpan::new(day(2027, 1, 1), day(2028, 1, 31)).days() {
        calendar.day_load.insert(d, 3);
    }
    let city = with_window(chandigarh(), day(2027, 1, 25), day(2028, 1, 24));
    let mut request = joint(city);
    request.topics = vec![Topic::Transport];
    let decision = plan(&request, &calendar, &rules);
    let Decision::Unschedulable { detail, .. } = decision else {
        panic!("{decision:?}")
    };
    assert!(
        detail.contains("the days that fit already hold 3 workshops or missions"),
        "{detail}"
    );
}

// ---- joining -----------------------------------------------------------------

/// A joint in-person workshop planned from Colombo, in the calendar as `w-1`.
fn colombo_workshop(rules: &Rules) -> (Calendar, PlannedWorkshop) {
    let mut calendar = Calendar::default();
    let workshop = plan_new(
        "w-1",
        &joint(with_format(colombo(), Format::InPerson)),
        &mut calendar,
        rules,
    );
    (calendar, workshop)
}

#[test]
fn a_compatible_joint_enquiry_joins_the_planned_workshop_in_its_format() {
    let rules = Rules::default();
    let (calendar, mut workshop) = colombo_workshop(&rules);
    let newcomer = joint(makassar());
    assert_eq!(workshop.can_accept(&newcomer, &calendar, &rules), Ok(()));
    assert_eq!(
        plan(&newcomer, &calendar, &rules),
        Decision::Join {
            workshop_id: "w-1".into(),
            format: Format::InPerson
        }
    );
    workshop.admit(newcomer.attendee, &rules);
    assert_eq!(workshop.version, 2);
    assert_eq!(workshop.participants(), 20);
    assert_eq!(
        workshop.cities().into_iter().collect::<Vec<_>>(),
        vec!["colombo", "makassar"]
    );
}

#[test]
fn of_several_workshops_that_accept_the_earliest_is_joined() {
    let rules = Rules::default();
    let mut calendar = Calendar::default();
    let later = with_window(
        with_format(colombo(), Format::InPerson),
        day(2027, 3, 15),
        day(2027, 4, 30),
    );
    // Planned second, but earlier: "w-b" is joined despite its id.
    plan_new(
        "w-b",
        &joint(with_format(hulhumale(), Format::InPerson)),
        &mut calendar,
        &rules,
    );
    plan_new("w-a", &joint(later), &mut calendar, &rules);
    assert_eq!(
        plan(&joint(makassar()), &calendar, &rules),
        Decision::Join {
            workshop_id: "w-b".into(),
            format: Format::InPerson
        }
    );
}

#[test]
fn a_workshop_at_forty_participants_takes_no_more() {
    let rules = Rules::default();
    let (mut calendar, mut workshop) = colombo_workshop(&rules);
    workshop.attendees[0].participants = 35;
    calendar.workshops[0] = workshop.clone();
    let mut six = makassar();
    six.participants = 6;
    let request = joint(six);
    assert_eq!(
        workshop.can_accept(&request, &calendar, &rules),
        Err(JoinRefusal::TooManyParticipants { total: 41, max: 40 })
    );
    assert!(matches!(
        plan(&request, &calendar, &rules),
        Decision::New(_)
    ));

    let mut five = makassar();
    five.participants = 5;
    assert_eq!(workshop.can_accept(&joint(five), &calendar, &rules), Ok(()));
}

#[test]
fn a_workshop_of_five_cities_takes_no_sixth() {
    let rules = Rules::default();
    let (mut calendar, mut workshop) = colombo_workshop(&rules);
    for mut city in [
        makassar(),
        hulhumale(),
        chandigarh(),
        attendee("dhaka", "Asia/Dhaka"),
    ] {
        city.participants = 2;
        workshop.admit(city, &rules);
    }
    calendar.workshops[0] = workshop.clone();
    let request = joint(attendee("kathmandu", "Asia/Kathmandu"));
    assert_eq!(
        workshop.can_accept(&request, &calendar, &rules),
        Err(JoinRefusal::TooManyCities { total: 6, max: 5 })
    );
    assert!(matches!(
        plan(&request, &calendar, &rules),
        Decision::New(_)
    ));
}

#[test]
fn a_workshop_on_another_primary_topic_is_not_joined() {
    let rules = Rules::default();
    let (calendar, workshop) = colombo_workshop(&rules);
    let mut request = joint(makassar());
    request.topics = vec![Topic::LocalGovernance, Topic::SocialInnovation];
    assert_eq!(
        workshop.can_accept(&request, &calendar, &rules),
        Err(JoinRefusal::OtherPrimaryTopic)
    );
    assert!(matches!(
        plan(&request, &calendar, &rules),
        Decision::New(_)
    ));
}

#[test]
fn a_workshop_outside_the_window_is_not_joined() {
    let rules = Rules::default();
    let (calendar, workshop) = colombo_workshop(&rules);
    let request = joint(with_window(makassar(), day(2027, 3, 2), day(2027, 4, 30)));
    assert_eq!(
        workshop.can_accept(&request, &calendar, &rules),
        Err(JoinRefusal::OutsideWindow)
    );
    let Decision::New(new) = plan(&request, &calendar, &rules) else {
        panic!()
    };
    assert_eq!(programme_day(new.sessions[0].start), day(2027, 3, 2));
}

#[test]
fn a_city_engaged_on_the_workshops_days_does_not_join() {
    let rules = Rules::default();
    let (mut calendar, workshop) = colombo_workshop(&rules);
    calendar
        .busy
        .insert("makassar".into(), vec![DaySpan::day(day(2027, 3, 2))]);
    let request = joint(makassar());
    assert_eq!(
        workshop.can_accept(&request, &calendar, &rules),
        Err(JoinRefusal::CityEngaged)
    );
    let Decision::New(new) = plan(&request, &calendar, &rules) else {
        panic!()
    };
    assert_eq!(programme_day(new.sessions[0].start), day(2027, 3, 3));
}

#[test]
fn the_same_city_does_not_join_twice() {
    let rules = Rules::default();
    let (calendar, workshop) = colombo_workshop(&rules);
    let mut again = colombo();
    again.enquiry_id = "enq-colombo-2".into();
    assert_eq!(
        workshop.can_accept(&joint(again), &calendar, &rules),
        Err(JoinRefusal::AlreadyAttending)
    );
}

#[test]
fn a_city_that_asked_for_virtual_does_not_join_an_in_person_workshop() {
    let rules = Rules::default();
    let (calendar, workshop) = colombo_workshop(&rules);
    let request = joint(with_format(makassar(), Format::Virtual));
    assert_eq!(
        workshop.can_accept(&request, &calendar, &rules),
        Err(JoinRefusal::FormatMismatch)
    );
}

#[test]
fn a_virtual_workshop_outside_a_newcomers_working_hours_is_not_joined() {
    let rules = Rules::default();
    let mut calendar = Calendar::default();
    // Tokyo alone: 09:00-12:00 Seoul, before Colombo's day starts (12:30).
    let tokyo = with_format(attendee("tokyo", "Asia/Tokyo"), Format::Virtual);
    let workshop = plan_new("w-1", &joint(tokyo), &mut calendar, &rules);
    assert_eq!(workshop.sessions[0].start, utc(2027, 3, 1, 0, 0));
    assert_eq!(
        workshop.can_accept(&joint(colombo()), &calendar, &rules),
        Err(JoinRefusal::OutsideWorkingHours)
    );
}

#[test]
fn a_workshop_too_soon_after_the_newcomers_enquiry_is_not_joined() {
    let rules = Rules::default();
    let (calendar, workshop) = colombo_workshop(&rules);
    let mut late = makassar();
    late.received_at = utc(2027, 2, 20, 0, 0);
    assert_eq!(
        workshop.can_accept(&joint(late), &calendar, &rules),
        Err(JoinRefusal::TooSoon)
    );
}

#[test]
fn consultations_and_missions_are_never_joined() {
    let rules = Rules::default();
    let (calendar, workshop) = colombo_workshop(&rules);
    let request = request(makassar(), EnquiryKind::ConsultativeSupport);
    assert_eq!(
        workshop.can_accept(&request, &calendar, &rules),
        Err(JoinRefusal::NotAJointWorkshop)
    );
    assert!(matches!(
        plan(&request, &calendar, &rules),
        Decision::New(_)
    ));
}

#[test]
fn a_workshop_is_held_in_the_languages_all_its_cities_share_and_english() {
    let rules = Rules::default();
    let mut first = makassar();
    first.languages = languages(&["id", "ko"]);
    let new = new_of(plan(&joint(first.clone()), &Calendar::default(), &rules));
    assert_eq!(new.languages, languages(&["en", "id", "ko"]));

    let mut workshop = new.into_planned("w-1", &joint(first));
    let mut second = colombo();
    second.languages = languages(&["si", "ko"]);
    workshop.admit(second, &rules);
    assert_eq!(workshop.languages, languages(&["en", "ko"]));
    workshop.remove_attendee("enq-colombo", &rules);
    assert_eq!(workshop.languages, languages(&["en", "id", "ko"]));
    assert_eq!(workshop.version, 3);
}

#[test]
fn without_a_shared_language_a_city_does_not_join() {
    let rules = Rules {
        always_shared_language: String::new(),
        ..Rules::default()
    };
    let (calendar, mut workshop) = colombo_workshop(&rules);
    workshop.languages = languages(&["si"]);
    let mut newcomer = makassar();
    newcomer.languages = languages(&["id"]);
    assert_eq!(
        workshop.can_accept(&joint(newcomer), &calendar, &rules),
        Err(JoinRefusal::NoSharedLanguage)
    );
    assert!(share_language(
        &languages(&["si"]),
        &languages(&["id"]),
        &Rules::default()
    ));
}

// ---- either ------------------------------------------------------------------

#[test]
fn either_picks_in_person_when_both_formats_start_at_the_same_time() {
    let rules = Rules::default();
    // Tokyo keeps Seoul's clock: a virtual session could start at 09:00
    // Seoul as well, the in-person start.
    let tokyo = attendee("tokyo", "Asia/Tokyo");
    let as_virtual = new_of(plan(
        &joint(with_format(tokyo.clone(), Format::Virtual)),
        &Calendar::default(),
        &rules,
    ));
    let chosen = new_of(plan(&joint(tokyo), &Calendar::default(), &rules));
    assert_eq!(as_virtual.sessions[0].start, chosen.sessions[0].start);
    assert_eq!(chosen.format, Format::InPerson);
}

#[test]
fn either_picks_virtual_when_it_starts_earlier() {
    let rules = Rules::default();
    let mut city = makassar();
    // 14 days later is Monday 1 March, 12:00 Seoul: too late for an in-person
    // day, but a virtual session fits that afternoon.
    city.received_at = utc(2027, 2, 15, 3, 0);
    let chosen = new_of(plan(&joint(city), &Calendar::default(), &rules));
    assert_eq!(chosen.format, Format::Virtual);
    assert_eq!(
        starts(&chosen.sessions),
        vec![
            (utc(2027, 3, 1, 3, 0), utc(2027, 3, 1, 6, 0)),
            (utc(2027, 3, 2, 3, 0), utc(2027, 3, 2, 6, 0)),
        ]
    );
}

// ---- next slot ---------------------------------------------------------------

#[test]
fn the_next_slot_starts_on_a_strictly_later_day() {
    let rules = Rules::default();
    let (_, workshop) = colombo_workshop(&rules);
    let first = workshop.span().unwrap().first;
    let moved = next_slot(&workshop, &Calendar::default(), &rules).unwrap();
    assert_eq!(programme_day(moved[0].start), first.succ_opt().unwrap());
    assert_eq!(moved.len(), 2);
    assert!(
        moved
            .iter()
            .all(|s| s.start.hour() == 0 && s.end - s.start == Duration::hours(8))
    );

    let mut again = workshop.clone();
    again.sessions = moved;
    let later = next_slot(&again, &Calendar::default(), &rules).unwrap();
    assert!(span_of(&later).unwrap().first > again.span().unwrap().first);
}

#[test]
fn the_next_slot_respects_the_calendar_and_runs_out_with_the_window() {
    let rules = Rules::default();
    let (_, mut workshop) = colombo_workshop(&rules);
    let mut calendar = Calendar::default();
    calendar.day_load.insert(day(2027, 3, 3), 3);
    let moved = next_slot(&workshop, &calendar, &rules).unwrap();
    // Tuesday and Wednesday would hit the full Wednesday.
    assert_eq!(programme_day(moved[0].start), day(2027, 3, 4));

    workshop.attendees[0].window = DateWindow::new(day(2027, 3, 1), day(2027, 3, 2));
    assert_eq!(next_slot(&workshop, &Calendar::default(), &rules), None);
}

#[test]
fn unschedulable_codes_read_as_the_contract_spells_them() {
    assert_eq!(
        UnschedulableCode::NoSlotInWindow.as_str(),
        "NO_SLOT_IN_WINDOW"
    );
    assert_eq!(
        UnschedulableCode::NoExpertAfterRetries.to_string(),
        "NO_EXPERT_AFTER_RETRIES"
    );
}

// ---- public holidays (rule 8) ---------------------------------------------------

#[test]
fn when_the_windows_first_working_day_is_a_korean_holiday_the_workshop_starts_the_next_day() {
    let rules = Rules::default();
    // 1 March 2027, a Monday, is Korea's Independence Movement Day.
    let calendar = with_holidays(Calendar::default(), "KR", &[day(2027, 3, 1)]);
    for format in [Format::InPerson, Format::Virtual] {
        let new = new_of(plan(
            &joint(with_format(makassar(), format)),
            &calendar,
            &rules,
        ));
        let days: Vec<_> = new
            .sessions
            .iter()
            .map(|s| programme_day(s.start))
            .collect();
        assert_eq!(days, vec![day(2027, 3, 2), day(2027, 3, 3)], "{format:?}");
    }
}

#[test]
fn a_holiday_of_the_citys_country_is_avoided_and_one_of_another_country_is_not() {
    let rules = Rules::default();
    let in_person = joint(with_format(makassar(), Format::InPerson));
    // Indonesia's holiday on Tuesday is skipped like a weekend day: Monday
    // and Wednesday are consecutive working days, and no session is on it.
    let indonesian = with_holidays(Calendar::default(), "ID", &[day(2027, 3, 2)]);
    let days: Vec<_> = new_of(plan(&in_person, &indonesian, &rules))
        .sessions
        .iter()
        .map(|s| programme_day(s.start))
        .collect();
    assert_eq!(days, vec![day(2027, 3, 1), day(2027, 3, 3)]);
    // Sri Lanka's holiday is none of Makassar's business.
    let sri_lankan = with_holidays(Calendar::default(), "LK", &[day(2027, 3, 1)]);
    let first = new_of(plan(&in_person, &sri_lankan, &rules)).sessions[0].start;
    assert_eq!(programme_day(first), day(2027, 3, 1));
    // Nor does a city of unknown country (an enquiry from before the
    // contract carried it) avoid any country's holidays but Korea's.
    let mut unknown = makassar();
    unknown.country = String::new();
    let first = new_of(plan(
        &joint(with_format(unknown, Format::InPerson)),
        &indonesian,
        &rules,
    ))
    .sessions[0]
        .start;
    assert_eq!(programme_day(first), day(2027, 3, 1));
}

#[test]
fn a_mission_skips_a_holiday_of_its_city_like_a_weekend() {
    let rules = Rules::default();
    let calendar = with_holidays(Calendar::default(), "ID", &[day(2027, 3, 3)]);
    let new = new_of(plan(
        &request(makassar(), EnquiryKind::PilotProject),
        &calendar,
        &rules,
    ));
    let tz = zone("Asia/Makassar");
    let days: Vec<_> = new
        .sessions
        .iter()
        .map(|s| s.start.with_timezone(&tz).date_naive())
        .collect();
    assert_eq!(
        days,
        vec![
            day(2027, 3, 1),
            day(2027, 3, 2),
            day(2027, 3, 4),
            day(2027, 3, 5),
            day(2027, 3, 8)
        ]
    );
}

#[test]
fn a_consultation_is_not_held_on_the_citys_local_holiday() {
    let rules = Rules::default();
    let calendar = with_holidays(Calendar::default(), "LK", &[day(2027, 3, 1)]);
    let new = new_of(plan(
        &request(colombo(), EnquiryKind::ConsultativeSupport),
        &calendar,
        &rules,
    ));
    let local = new.sessions[0].start.with_timezone(&zone("Asia/Colombo"));
    assert_eq!(local.date_naive(), day(2027, 3, 2));
}

#[test]
fn a_city_does_not_join_a_workshop_on_a_holiday_of_its_country_and_gets_its_own() {
    let rules = Rules::default();
    let (calendar, workshop) = colombo_workshop(&rules);
    let first = programme_day(workshop.sessions[0].start);
    let calendar = with_holidays(calendar, "ID", &[first]);
    let newcomer = joint(makassar());
    assert_eq!(
        workshop.can_accept(&newcomer, &calendar, &rules),
        Err(JoinRefusal::Holiday {
            day: first,
            country: "ID".into()
        })
    );
    match plan(&newcomer, &calendar, &rules) {
        Decision::New(new) => {
            assert!(new.sessions.iter().all(|s| programme_day(s.start) != first));
        }
        other => panic!("expected a workshop of its own, got {other:?}"),
    }
}

#[test]
fn no_slot_in_window_says_when_holidays_stood_in_the_way() {
    let rules = Rules::default();
    let only_monday = with_window(makassar(), day(2027, 3, 1), day(2027, 3, 1));
    let calendar = with_holidays(Calendar::default(), "KR", &[day(2027, 3, 1)]);
    match plan(
        &request(only_monday.clone(), EnquiryKind::ConsultativeSupport),
        &calendar,
        &rules,
    ) {
        Decision::Unschedulable { code, detail } => {
            assert_eq!(code, UnschedulableCode::NoSlotInWindow);
            assert!(detail.contains("public holidays (ID, KR)"), "{detail}");
        }
        other => panic!("expected NO_SLOT_IN_WINDOW, got {other:?}"),
    }
    // Without the holiday the same window fits, and the detail of a window
    // too short says nothing of holidays.
    assert!(matches!(
        plan(
            &request(only_monday.clone(), EnquiryKind::ConsultativeSupport),
            &Calendar::default(),
            &rules
        ),
        Decision::New(_)
    ));
    match plan(
        &request(only_monday, EnquiryKind::PilotProject),
        &Calendar::default(),
        &rules,
    ) {
        Decision::Unschedulable { detail, .. } => assert!(!detail.contains("holiday"), "{detail}"),
        other => panic!("expected NO_SLOT_IN_WINDOW, got {other:?}"),
    }
}

#[test]
fn a_joint_workshop_needs_a_support_past_two_cities_or_twenty_five_participants_as_assignment_counts()
 {
    let rules = Rules::default();
    let mut calendar = Calendar::default();
    let sized = |attendee: Attendee, participants| Attendee {
        participants,
        ..attendee
    };
    let from_colombo = joint(with_format(sized(colombo(), 9), Format::Virtual));
    let mut workshop = plan_new("w-1", &from_colombo, &mut calendar, &rules);
    assert!(!workshop.needs_support(&rules));
    workshop.admit(sized(makassar(), 16), &rules);
    assert!(
        !workshop.needs_support(&rules),
        "25 participants is not more than 25"
    );
    workshop.admit(sized(makassar(), 1), &rules);
    assert!(
        workshop.needs_support(&rules),
        "26 participants, though still two distinct cities"
    );
    let mut three = plan_new("w-2", &from_colombo, &mut calendar, &rules);
    three.admit(sized(makassar(), 1), &rules);
    three.admit(sized(attendee("chandigarh", "Asia/Kolkata"), 1), &rules);
    assert!(three.needs_support(&rules), "three cities");
}

#[test]
fn a_workshop_covers_every_topic_its_cities_asked_for_and_only_theirs() {
    let rules = Rules::default();
    let first = joint(makassar());
    let mut workshop =
        new_of(plan(&first, &Calendar::default(), &rules)).into_planned("w-1", &first);
    let primary = workshop.primary_topic().expect("a primary topic");
    let before = workshop.topics.clone();

    let mut second = joint(colombo());
    second.topics = vec![primary, Topic::Transport];
    workshop.admit(second.attendee.clone(), &rules);
    workshop.cover_topics(&second.topics);
    let mut expected = before.clone();
    expected.push(Topic::Transport);
    assert_eq!(
        workshop.topics, expected,
        "the joiner's new topic, after the others"
    );

    // Makassar leaves: its own topics go, Colombo's and the primary stay.
    workshop.remove_attendee(&first.attendee.enquiry_id, &rules);
    workshop.keep_topics_of(&[second.topics.clone()]);
    assert_eq!(workshop.topics, [primary, Topic::Transport]);
    workshop.keep_topics_of(&[vec![primary]]);
    assert_eq!(workshop.topics, [primary]);
}
