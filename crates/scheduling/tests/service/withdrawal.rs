//! `enquiry.withdrawn`: the city leaves; the last one out cancels.

use crate::helpers::{TestService, enquiry};

#[tokio::test]
async fn a_withdrawing_city_leaves_its_workshop_and_the_last_one_cancels_it() {
    let mut service = TestService::spawn().await;
    let makassar = enquiry("makassar", "Asia/Makassar");
    let colombo = enquiry("colombo", "Asia/Colombo");
    service.receive(&makassar).await;
    let id = service.next().await.scheduled().workshop_id;
    service.receive(&colombo).await;
    assert_eq!(service.next().await.scheduled().version, 2);

    service.withdraw(&colombo).await;
    let left = service.next().await.scheduled();
    assert_eq!(left.workshop_id, id);
    assert_eq!(left.version, 3);
    let cities: Vec<_> = left.cities.iter().map(|c| c.city.as_str()).collect();
    assert_eq!(cities, ["makassar"]);

    service.withdraw(&makassar).await;
    let cancelled = service.next().await.cancelled();
    assert_eq!(cancelled.workshop_id, id);
    assert_eq!(cancelled.version, 4);
    assert_eq!(cancelled.reason, "all cities withdrew");
    service.stop().await;
}

#[tokio::test]
async fn a_withdrawal_of_an_unknown_enquiry_changes_nothing() {
    let mut service = TestService::spawn().await;
    service.withdraw(&enquiry("colombo", "Asia/Colombo")).await;
    let makassar = enquiry("makassar", "Asia/Makassar");
    service.receive(&makassar).await;
    let scheduled = service.next().await.scheduled();
    assert_eq!(
        scheduled.version, 1,
        "the first event is the later enquiry's"
    );
    service.stop().await;
}
