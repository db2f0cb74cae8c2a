//! `enquiry.received` → a plan: a new workshop, a join, a mission, or why not.

use crate::helpers::{TestService, enquiry, span, utc, window};
use contract::proto::common::v1::{EnquiryKind, Format, Topic};

#[tokio::test]
async fn a_joint_workshop_enquiry_is_scheduled_as_version_one_inside_its_window() {
    let mut service = TestService::spawn().await;
    let makassar = enquiry("makassar", "Asia/Makassar");
    service.receive(&makassar).await;

    let scheduled = service.next().await.scheduled();
    assert_eq!(scheduled.version, 1);
    assert_eq!(scheduled.kind(), EnquiryKind::JointWorkshop);
    assert_eq!(scheduled.primary_topic(), Topic::SocialInnovation);
    // EITHER: in person in Seoul wins the tie on the first working day.
    assert_eq!(scheduled.format(), Format::InPerson);
    assert_eq!(scheduled.host_city, "seoul");
    assert_eq!(scheduled.time_zone, "Asia/Seoul");
    let sessions: Vec<_> = scheduled.sessions.iter().map(span).collect();
    assert_eq!(
        sessions,
        vec![
            (utc("2027-02-01T00:00:00Z"), utc("2027-02-01T08:00:00Z")),
            (utc("2027-02-02T00:00:00Z"), utc("2027-02-02T08:00:00Z")),
        ],
        "two consecutive working days, 09:00–17:00 Seoul, from the window's first Monday"
    );
    assert_eq!(scheduled.cities.len(), 1);
    assert_eq!(scheduled.cities[0].city, "makassar");
    assert_eq!(scheduled.cities[0].enquiry_id, makassar.enquiry_id);
    assert_eq!(scheduled.cities[0].participants, 18);
    let id = uuid::Uuid::parse_str(&scheduled.workshop_id).expect("a UUID");
    assert_eq!(id.get_version_num(), 5, "ids are derived, not random");
    service.stop().await;
}

#[tokio::test]
async fn a_second_city_with_the_same_primary_topic_joins_the_workshop_as_version_two() {
    let mut service = TestService::spawn().await;
    service.receive(&enquiry("makassar", "Asia/Makassar")).await;
    let first = service.next().await.scheduled();

    let mut colombo = enquiry("colombo", "Asia/Colombo");
    window(&mut colombo, "2027-01-25", "2027-02-28");
    colombo.participants = 12;
    service.receive(&colombo).await;

    let joined = service.next().await.scheduled();
    assert_eq!(joined.workshop_id, first.workshop_id);
    assert_eq!(joined.version, 2);
    assert_eq!(joined.sessions, first.sessions, "joining moves no date");
    let cities: Vec<_> = joined.cities.iter().map(|c| c.city.as_str()).collect();
    assert_eq!(cities, ["makassar", "colombo"]);
    service.stop().await;
}

#[tokio::test]
async fn a_pilot_project_becomes_a_five_working_day_mission_in_the_city() {
    let mut service = TestService::spawn().await;
    let mut mission = enquiry("makassar", "Asia/Makassar");
    mission.kind = EnquiryKind::PilotProject.into();
    mission.topics = vec![Topic::WasteManagement.into()];
    service.receive(&mission).await;

    let scheduled = service.next().await.scheduled();
    assert_eq!(scheduled.kind(), EnquiryKind::PilotProject);
    assert_eq!(scheduled.format(), Format::InPerson);
    assert_eq!(scheduled.host_city, "makassar");
    assert_eq!(scheduled.time_zone, "Asia/Makassar");
    let sessions: Vec<_> = scheduled.sessions.iter().map(span).collect();
    let expected: Vec<_> = (1..=5)
        .map(|day| {
            (
                utc(&format!("2027-02-0{day}T01:00:00Z")),
                utc(&format!("2027-02-0{day}T09:00:00Z")),
            )
        })
        .collect();
    assert_eq!(
        sessions, expected,
        "Monday to Friday, 09:00–17:00 Makassar time"
    );
    service.stop().await;
}

#[tokio::test]
async fn a_window_without_a_working_day_is_unschedulable_with_no_slot_in_window() {
    let mut service = TestService::spawn().await;
    let mut weekend = enquiry("colombo", "Asia/Colombo");
    window(&mut weekend, "2027-02-06", "2027-02-07");
    service.receive(&weekend).await;

    let refused = service.next().await.unschedulable();
    assert_eq!(refused.enquiry_id, weekend.enquiry_id);
    assert_eq!(refused.city, "colombo");
    assert_eq!(refused.reason_code, "NO_SLOT_IN_WINDOW");
    assert!(
        refused.detail.contains("no working day"),
        "{}",
        refused.detail
    );
    assert!(refused.workshop_id.is_empty());
    service.stop().await;
}

#[tokio::test]
async fn a_fourth_mission_on_the_same_days_waits_for_the_next_week() {
    let mut service = TestService::spawn().await;
    let cities = [
        ("makassar", "Asia/Makassar"),
        ("colombo", "Asia/Colombo"),
        ("hulhumale", "Indian/Maldives"),
        ("chandigarh", "Asia/Kolkata"),
    ];
    for (city, zone) in cities {
        let mut mission = enquiry(city, zone);
        mission.kind = EnquiryKind::PilotProject.into();
        service.receive(&mission).await;
    }
    let mut first_days = Vec::new();
    for _ in cities {
        let scheduled = service.next().await.scheduled();
        let (start, _) = span(&scheduled.sessions[0]);
        first_days.push((scheduled.host_city, start.date_naive().to_string()));
    }
    assert_eq!(
        first_days,
        [
            ("makassar".to_owned(), "2027-02-01".to_owned()),
            ("colombo".to_owned(), "2027-02-01".to_owned()),
            ("hulhumale".to_owned(), "2027-02-01".to_owned()),
            ("chandigarh".to_owned(), "2027-02-08".to_owned()),
        ],
        "at most three workshops or missions a day"
    );
    service.stop().await;
}

#[tokio::test]
async fn the_same_events_in_the_same_order_give_the_same_plan_ids_included() {
    let mut mission = enquiry("colombo", "Asia/Colombo");
    mission.kind = EnquiryKind::PilotProject.into();
    let events = [
        enquiry("makassar", "Asia/Makassar"),
        enquiry("chandigarh", "Asia/Kolkata"),
        mission,
    ];
    let mut plans = Vec::new();
    for _ in 0..2 {
        let mut service = TestService::spawn().await;
        for event in &events {
            service.receive(event).await;
        }
        let mut plan = Vec::new();
        for _ in &events {
            plan.push(service.next().await.scheduled());
        }
        service.stop().await;
        plans.push(plan);
    }
    assert_eq!(plans[0], plans[1]);
    assert_eq!(
        plans[0][1].workshop_id, plans[0][0].workshop_id,
        "Chandigarh joined"
    );
}
