//! The same event again changes nothing, whether it is a redelivery (the
//! same `ce-id`) or a republish under a new id.

use crate::helpers::{TestService, enquiry};
use contract::proto::common::v1::Topic;

#[tokio::test]
async fn the_same_enquiry_again_plans_nothing_new() {
    let mut service = TestService::spawn().await;
    let makassar = enquiry("makassar", "Asia/Makassar");
    let mut headers = service.receive(&makassar).await;
    let first = service.next().await.scheduled();

    // The same ce-id past JetStream's duplicate window: the inbox drops it.
    let ce_id = headers.get("ce-id").expect("a ce-id").to_string();
    headers.insert("Nats-Msg-Id", format!("again:{ce_id}").as_str());
    let body = contract::CloudEvent::to_json(&makassar);
    service
        .publish_raw(contract::subjects::ENQUIRY_RECEIVED, headers, body)
        .await;
    // Under a new ce-id: the enquiry is known, so nothing is planned.
    service.receive(&makassar).await;

    // Something observable after them: handled in order, it comes next.
    let mut colombo = enquiry("colombo", "Asia/Colombo");
    colombo.topics = vec![Topic::Transport.into()];
    service.receive(&colombo).await;
    let next = service.next().await.scheduled();
    assert_eq!(next.cities[0].city, "colombo");
    assert_ne!(next.workshop_id, first.workshop_id);

    let listed = service.list().await;
    assert_eq!(listed.len(), 2);
    let makassars: Vec<_> = listed
        .iter()
        .filter(|w| w["workshopId"] == first.workshop_id.as_str())
        .collect();
    assert_eq!(makassars[0]["version"], 1);
    service.stop().await;
}
