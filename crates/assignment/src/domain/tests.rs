//! The matcher, rule by rule (DOMAIN.md "Expert assignment"), the re-check
//! of a new workshop version, and the ranking.

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use contract::proto::assignment::v1::ExpertRole;
use contract::proto::common::v1::{EnquiryKind, Format};
use std::collections::{BTreeMap, BTreeSet};

use super::testkit::*;
use super::{
    Commitment, Need, Outcome, Rules, Staffing, UnfilledCode, month_of, period_of, roles_needed,
    staff,
};

fn unfilled(staffing: &Staffing) -> (UnfilledCode, &str) {
    match &staffing.outcome {
        Outcome::Unfilled { code, detail } => (*code, detail.as_str()),
        Outcome::Staffed => panic!("expected unfilled, got {staffing:?}"),
    }
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

// ---- what follows from a need --------------------------------------------------

#[test]
fn an_in_person_need_holds_a_travel_day_before_and_after() {
    let held = period_of(&need());
    assert_eq!(held.start(), at("2027-03-02T00:00:00Z"));
    assert_eq!(held.end(), at("2027-03-05T08:00:00Z"));
}

#[test]
fn a_virtual_need_holds_exactly_its_sessions_in_any_order() {
    let mut need = need();
    need.format = Format::Virtual;
    need.sessions.reverse();
    let held = period_of(&need);
    assert_eq!(held.start(), at("2027-03-03T00:00:00Z"));
    assert_eq!(held.end(), at("2027-03-04T08:00:00Z"));
}

#[test]
fn either_format_is_held_like_in_person() {
    let need = Need {
        format: Format::Either,
        ..need()
    };
    assert_eq!(period_of(&need), period_of(&super::testkit::need()));
}

#[test]
fn the_travel_allowance_is_a_rule() {
    let rules = Rules {
        travel: Duration::hours(12),
        ..Rules::default()
    };
    assert_eq!(rules.period_of(&need()).start(), at("2027-03-02T12:00:00Z"));
}

#[test]
fn a_need_counts_in_the_utc_month_of_its_first_session() {
    let mut need = need();
    // 09:00 in Seoul on 1 April is still 31 March in UTC.
    need.sessions = vec![
        (at("2027-04-01T00:00:00Z"), at("2027-04-01T08:00:00Z")),
        (at("2027-03-31T23:00:00Z"), at("2027-04-01T02:00:00Z")),
    ];
    assert_eq!(month_of(&need), (2027, 3));
}

#[test]
fn a_need_without_sessions_holds_nothing() {
    let need = Need {
        sessions: vec![],
        ..need()
    };
    assert!(period_of(&need).is_empty());
    assert_eq!(month_of(&need), (1970, 1));
}

#[test]
fn a_joint_workshop_needs_a_support_past_two_cities_or_twenty_five_participants() {
    let with = |cities: &[&str], participants| Need {
        cities: cities.iter().map(|&c| c.to_owned()).collect(),
        participants,
        ..need()
    };
    assert_eq!(roles_needed(&with(&["ann", "bob"], 25)), [Lead]);
    assert_eq!(
        roles_needed(&with(&["ann", "bob", "cho"], 10)),
        [Lead, Support]
    );
    assert_eq!(roles_needed(&with(&["ann"], 26)), [Lead, Support]);
    // The same city twice is still one city.
    assert_eq!(roles_needed(&with(&["ann", "bob", "ann"], 10)), [Lead]);
}

#[test]
fn consultations_and_missions_never_need_a_support() {
    for kind in [EnquiryKind::ConsultativeSupport, EnquiryKind::PilotProject] {
        let need = Need {
            kind,
            participants: 90,
            ..need()
        };
        assert_eq!(roles_needed(&need), [Lead], "{kind:?}");
    }
}

#[test]
fn the_support_thresholds_are_rules() {
    let rules = Rules {
        support_over_participants: 10,
        ..Rules::default()
    };
    assert_eq!(rules.roles_needed(&need()), [Lead, Support]);
}

#[test]
fn a_commitment_for_a_need_records_its_period_and_month() {
    let c = Commitment::for_need(&need(), id("e1"), &Rules::default());
    assert_eq!(c.workshop_id, "w1");
    assert_eq!(c.period, period_of(&need()));
    assert_eq!(c.month, (2027, 3));
}

// ---- rule 1: topics and roles ------------------------------------------------

#[test]
fn the_lead_covers_the_primary_topic() {
    let experts = [
        expert("a-transport", &[Transport], &["en"]),
        expert("b-planner", &[UrbanPlanning], &["en"]),
    ];
    let staffing = run(&need(), &[], &experts, &[]);
    assert!(staffing.is_staffed());
    assert_eq!(assigned(&staffing), [lead("b-planner")]);
}

#[test]
fn nobody_covering_the_primary_topic_is_no_expert_for_topic() {
    let need = Need {
        topics: vec![Housing, UrbanPlanning],
        ..need()
    };
    let experts = [expert("planner", &[UrbanPlanning], &["en"])];
    let staffing = run(&need, &[], &experts, &[]);
    let (code, detail) = unfilled(&staffing);
    assert_eq!(code, UnfilledCode::NoExpertForTopic);
    assert_eq!(
        detail,
        "No expert on the roster covers HOUSING, the workshop's primary topic."
    );
    assert!(staffing.add.is_empty());
}

#[test]
fn a_need_without_topics_is_no_expert_for_topic() {
    let need = Need {
        topics: vec![],
        ..need()
    };
    let staffing = run(
        &need,
        &[],
        &[expert("planner", &[UrbanPlanning], &["en"])],
        &[],
    );
    assert_eq!(unfilled(&staffing).0, UnfilledCode::NoExpertForTopic);
}

#[test]
fn a_small_workshop_gets_a_lead_only() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[Transport], &["en"]),
    ];
    assert_eq!(assigned(&run(&need(), &[], &experts, &[])), [lead("ann")]);
}

#[test]
fn the_support_is_another_expert_preferably_covering_another_topic() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[UrbanPlanning], &["en"]),
        expert("cho", &[Transport], &["en"]),
    ];
    let staffing = run(&large_need(), &[], &experts, &[]);
    assert!(staffing.is_staffed());
    assert_eq!(assigned(&staffing), [lead("ann"), support("cho")]);
}

#[test]
fn the_support_may_cover_only_the_primary_topic_when_nobody_covers_another() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[UrbanPlanning], &["en"]),
        expert("cho", &[DesignThinking], &["en"]),
    ];
    let staffing = run(&large_need(), &[], &experts, &[]);
    assert_eq!(assigned(&staffing), [lead("ann"), support("bob")]);
}

#[test]
fn covering_another_topic_outranks_continuity_for_the_support() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[UrbanPlanning], &["en"]),
        expert("cho", &[Transport], &["en"]),
    ];
    let worked_with = BTreeMap::from([(id("bob"), BTreeSet::from(["makassar".to_owned()]))]);
    let staffing = staff(
        &large_need(),
        &[],
        &experts,
        &[],
        &worked_with,
        &Rules::default(),
    );
    assert_eq!(assigned(&staffing), [lead("bob"), support("cho")]);
}

#[test]
fn one_expert_never_holds_both_roles() {
    let experts = [expert("solo", &[UrbanPlanning, Transport], &["en"])];
    let staffing = run(&large_need(), &[], &experts, &[]);
    let (code, detail) = unfilled(&staffing);
    assert_eq!(code, UnfilledCode::NoSupportExpert);
    assert_eq!(
        detail,
        "A support expert is needed (2 cities, 30 participants), but no expert besides \
         the lead covers URBAN_PLANNING or TRANSPORT."
    );
}

#[test]
fn a_lead_without_the_needed_support_is_unfilled_and_adds_nobody() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[Transport], &["en"]),
    ];
    let bob_elsewhere = hold("bob", "w9", "2027-03-04T00:00:00Z", "2027-03-10T00:00:00Z");
    let staffing = run(&large_need(), &[], &experts, &[bob_elsewhere]);
    let (code, detail) = unfilled(&staffing);
    assert_eq!(code, UnfilledCode::NoSupportExpert);
    assert!(detail.contains("booked or unavailable"), "{detail}");
    assert!(staffing.add.is_empty() && staffing.keep.is_empty() && staffing.release.is_empty());
}

// ---- rule 2: a shared language -----------------------------------------------

#[test]
fn english_counts_when_the_expert_speaks_it() {
    let experts = [expert("ann", &[UrbanPlanning], &["ko", "en"])];
    assert!(run(&need(), &[], &experts, &[]).is_staffed());
}

#[test]
fn english_does_not_count_for_an_expert_who_does_not_speak_it() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["ko"]),
        expert("bob", &[UrbanPlanning], &["si", "ta"]),
    ];
    let staffing = run(&need(), &[], &experts, &[]);
    let (code, detail) = unfilled(&staffing);
    assert_eq!(code, UnfilledCode::NoSharedLanguage);
    assert_eq!(
        detail,
        "2 experts cover URBAN_PLANNING, but none speaks en or id."
    );
}

#[test]
fn a_city_language_is_shared_without_english() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["ko"]),
        expert("bob", &[UrbanPlanning], &["id"]),
    ];
    assert_eq!(assigned(&run(&need(), &[], &experts, &[])), [lead("bob")]);
}

#[test]
fn languages_match_on_the_primary_subtag() {
    let need = Need {
        languages: BTreeSet::from(["zh-Hant-TW".to_owned()]),
        ..need()
    };
    let experts = [expert("ann", &[UrbanPlanning], &["zh"])];
    assert!(run(&need, &[], &experts, &[]).is_staffed());
}

// ---- rule 3: never double-booked ---------------------------------------------

#[test]
fn an_expert_booked_elsewhere_then_is_passed_over() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[UrbanPlanning], &["en"]),
    ];
    let busy = hold("ann", "w9", "2027-03-03T00:00:00Z", "2027-03-03T02:00:00Z");
    assert_eq!(
        assigned(&run(&need(), &[], &experts, &[busy])),
        [lead("bob")]
    );
}

#[test]
fn everyone_booked_is_all_experts_busy() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[UrbanPlanning], &["en"]),
        expert("cho", &[UrbanPlanning], &["ko"]),
    ];
    let holds = [
        hold("ann", "w8", "2027-03-01T00:00:00Z", "2027-03-03T00:00:00Z"),
        hold("bob", "w9", "2027-03-04T00:00:00Z", "2027-03-07T00:00:00Z"),
    ];
    let staffing = run(&need(), &[], &experts, &holds);
    let (code, detail) = unfilled(&staffing);
    assert_eq!(code, UnfilledCode::AllExpertsBusy);
    assert_eq!(
        detail,
        "All 2 experts covering URBAN_PLANNING and speaking en or id are booked or \
         unavailable at some time from 2027-03-02 00:00 UTC to 2027-03-05 08:00 UTC \
         (travel days included)."
    );
}

#[test]
fn the_travel_day_blocks_a_booking_the_evening_before_an_in_person_workshop() {
    let experts = [expert("ann", &[UrbanPlanning], &["en"])];
    // Ends 2027-03-02 15:00 in Seoul, 18 hours before the first session.
    let evening_before = hold("ann", "w9", "2027-03-02T01:00:00Z", "2027-03-02T06:00:00Z");
    let staffing = run(
        &need(),
        &[],
        &experts,
        std::slice::from_ref(&evening_before),
    );
    assert_eq!(unfilled(&staffing).0, UnfilledCode::AllExpertsBusy);

    let virtual_need = Need {
        format: Format::Virtual,
        ..need()
    };
    assert!(run(&virtual_need, &[], &experts, &[evening_before]).is_staffed());
}

#[test]
fn holds_that_end_where_the_period_starts_do_not_overlap() {
    let experts = [expert("ann", &[UrbanPlanning], &["en"])];
    let before = hold("ann", "w8", "2027-02-28T00:00:00Z", "2027-03-02T00:00:00Z");
    let after = hold("ann", "w9", "2027-03-05T08:00:00Z", "2027-03-06T00:00:00Z");
    assert!(run(&need(), &[], &experts, &[before, after]).is_staffed());
}

#[test]
fn unavailable_days_are_days_in_the_experts_own_zone() {
    // 01:00-04:00 on 5 March in Seoul; still 4 March in UTC.
    let need = Need {
        format: Format::Virtual,
        sessions: vec![(at("2027-03-04T16:00:00Z"), at("2027-03-04T19:00:00Z"))],
        ..need()
    };
    let mut in_seoul = expert("ann", &[UrbanPlanning], &["en"]);
    in_seoul.unavailable = vec![(day("2027-03-05"), day("2027-03-05"))];
    let mut in_utc = expert("bob", &[UrbanPlanning], &["en"]);
    in_utc.time_zone = Tz::UTC;
    in_utc.unavailable = vec![(day("2027-03-05"), day("2027-03-09"))];

    let staffing = run(&need, &[], &[in_seoul.clone(), in_utc], &[]);
    assert_eq!(assigned(&staffing), [lead("bob")]);
    let staffing = run(&need, &[], &[in_seoul], &[]);
    assert_eq!(unfilled(&staffing).0, UnfilledCode::AllExpertsBusy);
}

#[test]
fn unavailable_days_include_the_travel_days() {
    let mut a = expert("ann", &[UrbanPlanning], &["en"]);
    // 2 March in Seoul: only the travel day before the first session.
    a.unavailable = vec![(day("2027-03-02"), day("2027-03-02"))];
    assert_eq!(
        unfilled(&run(&need(), &[], &[a], &[])).0,
        UnfilledCode::AllExpertsBusy
    );
}

#[test]
fn the_workshops_own_hold_does_not_block_its_expert() {
    let experts = [expert("ann", &[UrbanPlanning], &["en"])];
    let own = hold("ann", "w1", "2027-03-02T00:00:00Z", "2027-03-05T08:00:00Z");
    let staffing = run(&need(), &[current("ann", Lead)], &experts, &[own]);
    assert!(staffing.is_staffed());
    assert_eq!(kept(&staffing), [lead("ann")]);
}

// ---- rule 4: the monthly limit -------------------------------------------------

#[test]
fn an_expert_at_the_monthly_limit_is_passed_over() {
    let mut a = expert("ann", &[UrbanPlanning], &["en"]);
    a.monthly_limit = 2;
    let b = expert("bob", &[UrbanPlanning], &["en"]);
    let holds = [march_hold("ann", "w8"), march_hold("ann", "w9")];
    assert_eq!(
        assigned(&run(&need(), &[], &[a.clone(), b], &holds)),
        [lead("bob")]
    );
    // One below the limit is still fine.
    assert_eq!(
        assigned(&run(&need(), &[], &[a], &holds[..1])),
        [lead("ann")]
    );
}

#[test]
fn holds_in_other_months_do_not_count() {
    let mut a = expert("ann", &[UrbanPlanning], &["en"]);
    a.monthly_limit = 1;
    let february = hold("ann", "w8", "2027-02-10T00:00:00Z", "2027-02-11T00:00:00Z");
    let april = hold("ann", "w9", "2027-04-10T00:00:00Z", "2027-04-11T00:00:00Z");
    assert!(run(&need(), &[], &[a], &[february, april]).is_staffed());
}

#[test]
fn everyone_free_at_the_limit_is_monthly_limit_reached() {
    let mut a = expert("ann", &[UrbanPlanning], &["en"]);
    a.monthly_limit = 1;
    let b = expert("bob", &[UrbanPlanning], &["en"]);
    let holds = [
        march_hold("ann", "w8"),
        hold("bob", "w9", "2027-03-03T00:00:00Z", "2027-03-04T00:00:00Z"),
    ];
    let staffing = run(&need(), &[], &[a], &holds);
    let (code, detail) = unfilled(&staffing);
    assert_eq!(code, UnfilledCode::MonthlyLimitReached);
    assert_eq!(
        detail,
        "The one expert covering URBAN_PLANNING, speaking en or id and free then has \
         reached the monthly limit for 2027-03."
    );
    // With b busy as well, the limit is still what stops the last candidate.
    let mut a = expert("ann", &[UrbanPlanning], &["en"]);
    a.monthly_limit = 1;
    let staffing = run(&need(), &[], &[a, b], &holds);
    assert_eq!(unfilled(&staffing).0, UnfilledCode::MonthlyLimitReached);
}

#[test]
fn a_limit_of_zero_means_never() {
    let mut a = expert("ann", &[UrbanPlanning], &["en"]);
    a.monthly_limit = 0;
    assert_eq!(
        unfilled(&run(&need(), &[], &[a], &[])).0,
        UnfilledCode::MonthlyLimitReached
    );
}

// ---- rule 5: the ranking -------------------------------------------------------

#[test]
fn continuity_comes_before_fewer_holds_and_the_id() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("zoe", &[UrbanPlanning], &["en"]),
    ];
    let worked_with = BTreeMap::from([
        (id("zoe"), BTreeSet::from(["makassar".to_owned()])),
        (id("ann"), BTreeSet::from(["colombo".to_owned()])),
    ]);
    let holds = [march_hold("zoe", "w8"), march_hold("zoe", "w9")];
    let staffing = staff(
        &need(),
        &[],
        &experts,
        &holds,
        &worked_with,
        &Rules::default(),
    );
    assert_eq!(assigned(&staffing), [lead("zoe")]);
}

#[test]
fn fewer_holds_that_month_come_before_the_id() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[UrbanPlanning], &["en"]),
        expert("cho", &[UrbanPlanning], &["en"]),
    ];
    let holds = [
        march_hold("ann", "w7"),
        march_hold("ann", "w8"),
        march_hold("bob", "w9"),
        // Holds in other months do not weigh.
        hold("cho", "w6", "2027-04-10T00:00:00Z", "2027-04-11T00:00:00Z"),
        hold("cho", "w5", "2027-05-10T00:00:00Z", "2027-05-11T00:00:00Z"),
    ];
    assert_eq!(
        assigned(&run(&need(), &[], &experts, &holds)),
        [lead("cho")]
    );
    assert_eq!(
        assigned(&run(&need(), &[], &experts, &holds[..3])),
        [lead("cho")]
    );
    assert_eq!(
        assigned(&run(&need(), &[], &experts[..2], &holds[..3])),
        [lead("bob")]
    );
}

#[test]
fn the_id_settles_the_rest_whatever_the_roster_order() {
    let mut experts = vec![
        expert("kim-b", &[UrbanPlanning], &["en"]),
        expert("kim-a", &[UrbanPlanning], &["en"]),
        expert("lee", &[UrbanPlanning], &["en"]),
    ];
    assert_eq!(assigned(&run(&need(), &[], &experts, &[])), [lead("kim-a")]);
    experts.reverse();
    assert_eq!(assigned(&run(&need(), &[], &experts, &[])), [lead("kim-a")]);
}

#[test]
fn an_id_listed_twice_on_the_roster_is_judged_by_its_first_entry() {
    let experts = [
        expert("ann", &[Transport], &["en"]),
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[UrbanPlanning], &["en"]),
    ];
    assert_eq!(assigned(&run(&need(), &[], &experts, &[])), [lead("bob")]);
}

// ---- rule 6: re-checking a new version -----------------------------------------

#[test]
fn a_current_lead_that_still_fits_is_kept_though_another_now_ranks_higher() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[UrbanPlanning], &["en"]),
    ];
    let staffing = run(&need(), &[current("bob", Lead)], &experts, &[]);
    assert!(staffing.is_staffed());
    assert_eq!(kept(&staffing), [lead("bob")]);
    assert!(staffing.add.is_empty() && staffing.release.is_empty());
}

#[test]
fn dates_moved_onto_the_leads_other_booking_replace_the_lead() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[UrbanPlanning], &["en"]),
    ];
    let moved = Need {
        version: 2,
        sessions: vec![
            (at("2027-03-17T00:00:00Z"), at("2027-03-17T08:00:00Z")),
            (at("2027-03-18T00:00:00Z"), at("2027-03-18T08:00:00Z")),
        ],
        ..need()
    };
    let a_elsewhere = hold("ann", "w9", "2027-03-18T00:00:00Z", "2027-03-20T00:00:00Z");
    let staffing = run(&moved, &[current("ann", Lead)], &experts, &[a_elsewhere]);
    assert!(staffing.is_staffed());
    assert!(staffing.keep.is_empty());
    assert_eq!(added(&staffing), [lead("bob")]);
    assert_eq!(released(&staffing), ["ann"]);
}

#[test]
fn dates_moved_into_a_full_month_release_the_lead() {
    let mut a = expert("ann", &[UrbanPlanning], &["en"]);
    a.monthly_limit = 1;
    let b = expert("bob", &[UrbanPlanning], &["en"]);
    let moved = Need {
        sessions: vec![(at("2027-04-07T00:00:00Z"), at("2027-04-07T08:00:00Z"))],
        ..need()
    };
    let april = hold("ann", "w9", "2027-04-20T00:00:00Z", "2027-04-21T00:00:00Z");
    let staffing = run(&moved, &[current("ann", Lead)], &[a, b], &[april]);
    assert_eq!(added(&staffing), [lead("bob")]);
    assert_eq!(released(&staffing), ["ann"]);
}

#[test]
fn a_city_joining_past_twenty_five_participants_adds_a_support() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[Transport], &["en"]),
    ];
    let staffing = run(&large_need(), &[current("ann", Lead)], &experts, &[]);
    assert!(staffing.is_staffed());
    assert_eq!(kept(&staffing), [lead("ann")]);
    assert_eq!(added(&staffing), [support("bob")]);
    assert!(staffing.release.is_empty());
}

#[test]
fn a_workshop_that_shrank_releases_its_support() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[Transport], &["en"]),
    ];
    let staffing = run(
        &need(),
        &[current("ann", Lead), current("bob", Support)],
        &experts,
        &[],
    );
    assert!(staffing.is_staffed());
    assert_eq!(kept(&staffing), [lead("ann")]);
    assert!(staffing.add.is_empty());
    assert_eq!(released(&staffing), ["bob"]);
}

#[test]
fn a_support_that_still_fits_is_kept_though_it_covers_only_the_primary_topic() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[UrbanPlanning], &["en"]),
        expert("cho", &[Transport], &["en"]),
    ];
    let staffing = run(
        &large_need(),
        &[current("ann", Lead), current("bob", Support)],
        &experts,
        &[],
    );
    assert_eq!(kept(&staffing), [lead("ann"), support("bob")]);
    assert!(staffing.add.is_empty() && staffing.release.is_empty());
}

#[test]
fn an_expert_gone_from_the_roster_is_released_and_replaced() {
    let experts = [expert("bob", &[UrbanPlanning], &["en"])];
    let staffing = run(&need(), &[current("ann", Lead)], &experts, &[]);
    assert_eq!(added(&staffing), [lead("bob")]);
    assert_eq!(released(&staffing), ["ann"]);
}

#[test]
fn the_support_is_promoted_when_nobody_else_can_lead() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[UrbanPlanning, Transport], &["en"]),
        expert("cho", &[Transport], &["en"]),
    ];
    let a_elsewhere = hold("ann", "w9", "2027-03-04T00:00:00Z", "2027-03-06T00:00:00Z");
    let staffing = run(
        &large_need(),
        &[current("ann", Lead), current("bob", Support)],
        &experts,
        &[a_elsewhere],
    );
    assert!(staffing.is_staffed());
    assert!(staffing.keep.is_empty());
    assert_eq!(added(&staffing), [lead("bob"), support("cho")]);
    assert_eq!(released(&staffing), ["ann"]);
}

#[test]
fn an_unfilled_recheck_keeps_what_fits_releases_the_rest_and_adds_nobody() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[UrbanPlanning, Transport], &["en"]),
    ];
    let a_elsewhere = hold("ann", "w9", "2027-03-04T00:00:00Z", "2027-03-06T00:00:00Z");
    let staffing = run(
        &large_need(),
        &[current("ann", Lead), current("bob", Support)],
        &experts,
        &[a_elsewhere],
    );
    // b could lead, but then nobody supports: b stays the support, unpromoted.
    assert_eq!(unfilled(&staffing).0, UnfilledCode::NoSupportExpert);
    assert_eq!(kept(&staffing), [support("bob")]);
    assert!(staffing.add.is_empty());
    assert_eq!(released(&staffing), ["ann"]);
}

#[test]
fn of_two_current_leads_the_first_that_fits_is_kept() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[UrbanPlanning], &["en"]),
    ];
    let staffing = run(
        &need(),
        &[current("bob", Lead), current("ann", Lead)],
        &experts,
        &[],
    );
    assert_eq!(kept(&staffing), [lead("bob")]);
    assert_eq!(released(&staffing), ["ann"]);
}

#[test]
fn an_expert_listed_in_two_roles_keeps_only_the_first() {
    let experts = [
        expert("ann", &[UrbanPlanning, Transport], &["en"]),
        expert("cho", &[Transport], &["en"]),
    ];
    let staffing = run(
        &large_need(),
        &[current("ann", Lead), current("ann", Support)],
        &experts,
        &[],
    );
    assert_eq!(assigned(&staffing), [lead("ann"), support("cho")]);
    assert!(staffing.release.is_empty());
}

#[test]
fn an_expert_in_an_unspecified_role_is_given_a_real_one() {
    let experts = [expert("ann", &[UrbanPlanning], &["en"])];
    let staffing = run(
        &need(),
        &[current("ann", ExpertRole::Unspecified)],
        &experts,
        &[],
    );
    assert_eq!(added(&staffing), [lead("ann")]);
    assert!(
        staffing.release.is_empty(),
        "a changes role, so is not released"
    );
}

// ---- rule 7: the most specific reason -------------------------------------------

#[test]
fn the_reason_is_the_rule_that_stopped_the_last_candidate() {
    let a = expert("ann", &[UrbanPlanning], &["ko"]);
    let mut b = expert("bob", &[UrbanPlanning], &["en"]);
    b.unavailable = vec![(day("2027-03-01"), day("2027-03-31"))];
    let staffing = run(&need(), &[], &[a.clone(), b], &[]);
    let (code, detail) = unfilled(&staffing);
    assert_eq!(code, UnfilledCode::AllExpertsBusy);
    assert!(detail.starts_with("The one expert covering URBAN_PLANNING and speaking en or id is"));
    assert_eq!(
        unfilled(&run(&need(), &[], &[a], &[])).0,
        UnfilledCode::NoSharedLanguage
    );
    assert_eq!(
        unfilled(&run(&need(), &[], &[], &[])).0,
        UnfilledCode::NoExpertForTopic
    );
}

#[test]
fn a_missing_supports_detail_names_the_rule_that_stopped_it() {
    let experts = [
        expert("ann", &[UrbanPlanning], &["en"]),
        expert("bob", &[Transport], &["ko"]),
        expert("cho", &[Transport], &["ko"]),
    ];
    let staffing = run(&large_need(), &[], &experts, &[]);
    let (code, detail) = unfilled(&staffing);
    assert_eq!(code, UnfilledCode::NoSupportExpert);
    assert_eq!(
        detail,
        "A support expert is needed (2 cities, 30 participants), but 2 experts cover \
         URBAN_PLANNING or TRANSPORT besides the lead, and none speaks en or id."
    );
}

#[test]
fn the_codes_are_the_contracts() {
    let codes: Vec<&str> = UnfilledCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        codes,
        [
            "NO_EXPERT_FOR_TOPIC",
            "NO_SHARED_LANGUAGE",
            "ALL_EXPERTS_BUSY",
            "MONTHLY_LIMIT_REACHED",
            "NO_SUPPORT_EXPERT"
        ]
    );
    assert_eq!(UnfilledCode::AllExpertsBusy.to_string(), "ALL_EXPERTS_BUSY");
}
