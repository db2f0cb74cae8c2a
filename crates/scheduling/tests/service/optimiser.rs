//! Planning with the optimiser, once the roster is known: dates chosen with
//! who can staff them, cities grouped even when that moves a planned
//! workshop, and the stability contract (DOMAIN.md) kept.

use crate::helpers::{Out, TestService, enquiry, expert, span, utc, window};
use contract::proto::assignment::v1::ExpertRole;

/// Makassar's window, March–April: its workshop starts well beyond the
/// freeze horizon (28 days from `received_at`), so it may still move.
fn makassar() -> contract::proto::enquiry::v1::EnquiryReceived {
    let mut makassar = enquiry("makassar", "Asia/Makassar");
    window(&mut makassar, "2027-03-01", "2027-04-30");
    makassar
}

/// Colombo's window opens two weeks after Makassar's workshop would start.
fn colombo() -> contract::proto::enquiry::v1::EnquiryReceived {
    let mut colombo = enquiry("colombo", "Asia/Colombo");
    window(&mut colombo, "2027-03-15", "2027-05-14");
    colombo.participants = 6;
    colombo
}

#[tokio::test]
async fn a_later_city_joins_after_the_workshop_moves_into_its_window() {
    let mut service = TestService::spawn().await;
    service.roster_of(&[expert("kim"), expert("lee")]).await;

    service.receive(&makassar()).await;
    let first = service.next().await.scheduled();
    assert_eq!(first.version, 1);
    assert_eq!(
        first.proposed_team.len(),
        1,
        "a lead is proposed: {first:?}"
    );
    assert_eq!(first.proposed_team[0].role(), ExpertRole::Lead);
    let (start, _) = span(&first.sessions[0]);
    assert!(
        start < utc("2027-03-15T00:00:00Z"),
        "alone, Makassar gets its earliest dates: {start}"
    );

    service.receive(&colombo()).await;
    let moved = service.next().await.rescheduled();
    assert_eq!(moved.workshop_id, first.workshop_id);
    assert_eq!(moved.version, 2);
    assert!(moved.reason.contains("colombo"), "{}", moved.reason);
    let (start, _) = span(&moved.sessions[0]);
    assert!(
        start >= utc("2027-03-14T15:00:00Z"),
        "inside Colombo's window: {start}"
    );
    let joined = service.next().await.scheduled();
    assert_eq!(joined.workshop_id, first.workshop_id);
    assert_eq!(joined.version, 3);
    assert_eq!(joined.sessions, moved.sessions);
    let cities: Vec<_> = joined.cities.iter().map(|c| c.city.as_str()).collect();
    assert_eq!(cities, ["makassar", "colombo"]);
    assert!(!joined.proposed_team.is_empty());

    let listed = service.list().await;
    assert_eq!(listed.len(), 1, "one workshop for both cities: {listed:?}");
    service.stop().await;
}

#[tokio::test]
async fn a_join_that_needs_a_support_expert_nobody_can_give_is_not_taken() {
    let mut service = TestService::spawn().await;
    // One expert: a workshop of more than 25 participants needs a second.
    service.roster_of(&[expert("kim")]).await;
    service.receive(&makassar()).await;
    let first = service.next().await.scheduled();

    let mut colombo = colombo();
    colombo.participants = 12; // 18 + 12 > 25
    service.receive(&colombo).await;
    let own = service.next().await.scheduled();
    assert_ne!(own.workshop_id, first.workshop_id, "Colombo gets its own");
    assert_eq!(own.version, 1);
    let cities: Vec<_> = own.cities.iter().map(|c| c.city.as_str()).collect();
    assert_eq!(cities, ["colombo"]);

    let listed = service.list().await;
    let makassars = listed
        .iter()
        .find(|w| w["workshopId"] == first.workshop_id.as_str())
        .expect("Makassar's workshop is listed");
    assert_eq!(
        makassars["version"], 1,
        "Makassar's workshop did not change"
    );
    service.stop().await;
}

#[tokio::test]
async fn with_no_expert_free_in_the_window_the_enquiry_is_unschedulable_at_once_with_advice() {
    let mut service = TestService::spawn().await;
    let mut away = expert("kim");
    away.unavailable = vec![contract::proto::common::v1::DateWindow {
        start: "2027-02-15".to_owned(),
        end: "2027-05-31".to_owned(),
    }];
    service.roster_of(&[away]).await;
    service.receive(&makassar()).await;
    let Out::Unschedulable(refused) = service.next().await else {
        panic!("expected workshop.unschedulable");
    };
    assert_eq!(refused.reason_code, "NO_EXPERT_AFTER_RETRIES");
    assert!(refused.detail.contains("expert"), "{}", refused.detail);
    assert!(
        refused.detail.contains("wider window"),
        "{}",
        refused.detail
    );
    service.stop().await;
}

#[tokio::test]
async fn a_workshop_inside_the_freeze_horizon_never_moves_for_a_joiner() {
    let mut service = TestService::spawn().await;
    service.roster_of(&[expert("kim"), expert("lee")]).await;
    // February: within 28 days of `received_at`, so frozen once planned.
    let mut makassar = enquiry("makassar", "Asia/Makassar");
    window(&mut makassar, "2027-02-01", "2027-03-31");
    service.receive(&makassar).await;
    let first = service.next().await.scheduled();
    let (start, _) = span(&first.sessions[0]);
    assert!(start < utc("2027-02-03T00:00:00Z"), "{start}");

    let mut colombo = colombo();
    window(&mut colombo, "2027-02-15", "2027-03-31");
    service.receive(&colombo).await;
    let own = service.next().await.scheduled();
    assert_ne!(
        own.workshop_id, first.workshop_id,
        "no move into the freeze"
    );
    service.stop().await;
}

#[tokio::test]
async fn a_workshop_moves_at_most_twice_in_its_life() {
    let mut service = TestService::spawn().await;
    service.roster_of(&[expert("kim"), expert("lee")]).await;
    service.receive(&makassar()).await;
    let first = service.next().await.scheduled();

    // Each city's window opens two weeks after the last: each join needs a move.
    let later = [
        ("colombo", "Asia/Colombo", "2027-03-15"),
        ("chandigarh", "Asia/Kolkata", "2027-03-29"),
        ("hulhumale", "Indian/Maldives", "2027-04-12"),
    ];
    let mut outcomes = Vec::new();
    for (city, zone, opens) in later {
        let mut joiner = enquiry(city, zone);
        window(&mut joiner, opens, "2027-05-31");
        joiner.participants = 4;
        service.receive(&joiner).await;
        let mut events = vec![service.next().await];
        if matches!(events[0], Out::Rescheduled(_)) {
            events.push(service.next().await);
        }
        outcomes.push(events);
    }
    let moves = outcomes
        .iter()
        .flatten()
        .filter(|e| matches!(e, Out::Rescheduled(r) if r.workshop_id == first.workshop_id))
        .count();
    assert_eq!(moves, 2, "{outcomes:?}");
    let Some(Out::Scheduled(hulhumale)) = outcomes[2].last() else {
        panic!("Hulhumale is planned: {outcomes:?}");
    };
    assert_ne!(
        hulhumale.workshop_id, first.workshop_id,
        "a third move is not taken"
    );
    let listed = service.list().await;
    let makassars = listed
        .iter()
        .find(|w| w["workshopId"] == first.workshop_id.as_str())
        .expect("listed");
    assert_eq!(makassars["cities"].as_array().map(Vec::len), Some(3));
    service.stop().await;
}

/// Makassar and Colombo queue up while scheduling is down (a burst):
/// planned together in one solve, they open one workshop at version 1 in
/// both windows, where one at a time Makassar's would be planned alone and
/// then moved for Colombo to join. Which enquiries were planned together is
/// recorded, and the same events in the same groups give the same plan.
#[tokio::test]
async fn enquiries_that_queue_up_are_planned_together_in_one_solve() {
    let (makassar, colombo) = (makassar(), colombo());
    let mut plans = Vec::new();
    for _ in 0..2 {
        let mut service = TestService::spawn().await;
        service.roster_of(&[expert("kim"), expert("lee")]).await;
        service.pause().await;
        service.receive(&makassar).await;
        service.receive(&colombo).await;
        service.resume().await;

        let together = service.next().await.scheduled();
        assert_eq!(together.version, 1, "no move, no second version");
        let cities: Vec<_> = together.cities.iter().map(|c| c.city.as_str()).collect();
        assert_eq!(cities, ["makassar", "colombo"]);
        let (start, _) = span(&together.sessions[0]);
        assert!(
            start >= utc("2027-03-14T15:00:00Z"),
            "inside Colombo's window: {start}"
        );
        assert!(!together.proposed_team.is_empty());
        assert_eq!(service.list().await.len(), 1);

        let recorded = service.planned_with().await;
        let first = Some(makassar.enquiry_id.clone());
        assert_eq!(
            recorded,
            [
                (makassar.enquiry_id.clone(), first.clone()),
                (colombo.enquiry_id.clone(), first),
            ],
            "recorded as planned together"
        );
        service.stop().await;
        plans.push(together);
    }
    assert_eq!(plans[0], plans[1]);
}

/// A burst with a broken enquiry in it (no city): the broken one is
/// refused on its own, the one before it is planned alone, and the two
/// after it are still planned together. One city's mistake never costs
/// another city's enquiry.
#[tokio::test]
async fn a_broken_enquiry_in_a_burst_costs_the_others_nothing() {
    let mut service = TestService::spawn().await;
    service.roster_of(&[expert("kim"), expert("lee")]).await;
    let mission = |city: &str, zone: &str| {
        let mut mission = enquiry(city, zone);
        mission.kind = contract::proto::common::v1::EnquiryKind::PilotProject.into();
        mission
    };
    let first = mission("makassar", "Asia/Makassar");
    let mut broken = mission("colombo", "Asia/Colombo");
    broken.city = String::new();
    let (second, third) = (
        mission("colombo", "Asia/Colombo"),
        mission("hulhumale", "Indian/Maldives"),
    );
    service.pause().await;
    for event in [&first, &broken, &second, &third] {
        service.receive(event).await;
    }
    service.resume().await;

    let mut cities = Vec::new();
    for _ in 0..3 {
        let scheduled = service.next().await.scheduled();
        cities.extend(scheduled.cities.into_iter().map(|c| c.city));
    }
    cities.sort();
    assert_eq!(cities, ["colombo", "hulhumale", "makassar"]);

    let recorded = service.planned_with().await;
    let alone = Some(first.enquiry_id.clone());
    let together = Some(second.enquiry_id.clone());
    assert_eq!(
        recorded,
        [
            (first.enquiry_id.clone(), alone),
            (second.enquiry_id.clone(), together.clone()),
            (third.enquiry_id.clone(), together),
        ],
        "the broken enquiry is not stored, and splits the burst"
    );
    // Refused on its own: one dead letter, saying what is wrong with it.
    let letters = test_support::eventually(
        "the broken enquiry's dead letter",
        std::time::Duration::from_secs(10),
        || async {
            let letters = messaging::dlq::list(&service.js, contract::Service::Scheduling, 10)
                .await
                .ok()?;
            (!letters.is_empty()).then_some(letters)
        },
    )
    .await;
    assert_eq!(letters.len(), 1);
    let reason = &letters[0].reason;
    assert!(
        reason.contains(&broken.enquiry_id) && reason.contains("no enquiry id or city"),
        "{reason}"
    );
    service.stop().await;
}

#[tokio::test]
async fn how_each_enquiry_was_planned_is_there_for_operators() {
    let mut service = TestService::spawn().await;
    // No roster yet: first-fit, which knows nobody's availability.
    service.receive(&makassar()).await;
    service.next().await.scheduled();
    service.roster_of(&[expert("kim"), expert("lee")]).await;
    service.receive(&colombo()).await;
    service.next().await;
    let stats = service
        .admin("planning.stats", &serde_json::Value::Null)
        .await
        .unwrap();
    assert_eq!(stats["firstFitNoRoster"], 1, "{stats}");
    assert_eq!(stats["optimiser"], 1, "{stats}");
    assert_eq!(stats["firstFitAfterFailure"], 0, "{stats}");
    assert_eq!(stats["latestFailures"], serde_json::json!([]), "{stats}");
    service.stop().await;
}

/// Colombo (UTC+5:30) joins Makassar's (UTC+8) virtual workshop on its
/// dates, at hours both work: Makassar is told of the new hours first, and
/// that is not one of the workshop's two moves (docs/planning.md, "Moves").
#[tokio::test]
async fn new_hours_on_the_same_dates_for_a_joining_city_are_not_a_move() {
    use contract::proto::common::v1::Format;
    let mut service = TestService::spawn().await;
    service.roster_of(&[expert("kim"), expert("lee")]).await;
    let mut makassar = makassar();
    makassar.format = Format::Virtual.into();
    service.receive(&makassar).await;
    let first = service.next().await.scheduled();

    let mut colombo = enquiry("colombo", "Asia/Colombo");
    window(&mut colombo, "2027-03-01", "2027-04-30");
    colombo.format = Format::Virtual.into();
    colombo.participants = 6;
    service.receive(&colombo).await;
    let new_hours = service.next().await.rescheduled();
    assert_eq!(new_hours.workshop_id, first.workshop_id);
    assert!(
        new_hours
            .reason
            .starts_with("new session times on the same dates"),
        "{}",
        new_hours.reason
    );
    let day = |session| span(session).0.date_naive();
    assert_eq!(
        new_hours.sessions.iter().map(day).collect::<Vec<_>>(),
        first.sessions.iter().map(day).collect::<Vec<_>>()
    );
    assert_ne!(new_hours.sessions, first.sessions);
    let joined = service.next().await.scheduled();
    assert_eq!(joined.version, 3);
    assert_eq!(joined.cities.len(), 2);
    let id: uuid::Uuid = first.workshop_id.parse().unwrap();
    let (moves,): (i32,) = sqlx::query_as("SELECT moves FROM scheduling.workshops WHERE id = $1")
        .bind(id)
        .fetch_one(service.pool())
        .await
        .unwrap();
    assert_eq!(moves, 0);
    service.stop().await;
}
