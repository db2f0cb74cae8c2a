//! The operators' roster commands.

use crate::helpers::*;
use contract::proto::assignment::v1::ExpertContact;
use contract::{CloudEvent, subjects};
use serde_json::json;
use test_support::StreamReader;

#[tokio::test]
async fn importing_the_seed_roster_adds_every_expert_and_sends_their_contacts_internally() {
    let service = TestService::spawn_bare(1).await;
    let reply = service.import(&seed_roster()).await.unwrap();
    let count = seed_entries().entries.len();
    assert_eq!(reply["added"].as_array().unwrap().len(), count);

    let mut contacts = StreamReader::new(
        &service.js,
        subjects::STREAM_INTERNAL,
        subjects::INTERNAL_EXPERT_CONTACT,
    )
    .await;
    let mut seen = Vec::new();
    for _ in 0..count {
        let message = contacts.next(DEADLINE).await;
        seen.push(ExpertContact::from_json(&message.payload).unwrap());
    }
    let kim = seen.iter().find(|c| c.expert_id == "kim-jiwoo").unwrap();
    assert_eq!(kim.email, "jiwoo.kim@seoul.example");
    assert_eq!(kim.preferred_language, "ko");

    // Importing the same file again changes nothing and says so.
    let again = service.import(&seed_roster()).await.unwrap();
    assert_eq!(again["added"], json!([]));
    assert_eq!(again["updated"], json!([]));
    assert_eq!(again["unchanged"], json!(count));
    assert!(contacts.collect_for(QUIET).await.is_empty());

    // A changed address is sent again.
    let mut roster = seed_roster();
    roster["experts"][0]["email"] = json!("kim.new@seoul.example");
    let changed = service.import(&roster).await.unwrap();
    assert_eq!(changed["updated"], json!(["kim-jiwoo"]));
    let message = contacts.next(DEADLINE).await;
    assert_eq!(
        ExpertContact::from_json(&message.payload).unwrap().email,
        "kim.new@seoul.example"
    );
}

#[tokio::test]
async fn a_bad_roster_is_refused_whole_with_every_problem_and_its_path() {
    let service = TestService::spawn_bare(1).await;
    let mut roster = seed_roster();
    roster["experts"][1]["timeZone"] = json!("Asia/Nowhere");
    roster["experts"][3]["topics"] = json!(["TRANSPORTATION"]);
    let error = service.import(&roster).await.unwrap_err();
    assert_eq!(error.code, "INVALID");
    assert!(
        error
            .message
            .contains("experts[1].timeZone: unknown IANA zone \"Asia/Nowhere\""),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("experts[3].topics[0]"),
        "{}",
        error.message
    );
    let listed = service.admin("experts.list", &json!({})).await.unwrap();
    assert_eq!(listed, json!([]), "nothing of a bad file is imported");

    let error = service
        .import(&json!({"experts": [{"id": "x1", "phone": "123"}]}))
        .await
        .unwrap_err();
    assert_eq!(error.code, "INVALID");
    assert!(error.message.contains("phone"), "{}", error.message);
}

#[tokio::test]
async fn operators_list_the_roster_and_add_unavailable_days() {
    let service = TestService::spawn().await;
    let listed = service.admin("experts.list", &json!({})).await.unwrap();
    let experts = listed.as_array().unwrap();
    assert_eq!(experts.len(), seed_entries().entries.len());
    let kim = experts.iter().find(|e| e["id"] == "kim-jiwoo").unwrap();
    assert_eq!(kim["displayName"], "Kim Ji-woo");
    assert_eq!(kim["email"], "jiwoo.kim@seoul.example");
    assert_eq!(kim["languages"], json!(["ko", "en"]));
    assert_eq!(
        kim["unavailable"],
        json!([{"start": "2027-02-01", "end": "2027-02-14", "source": "ROSTER"}])
    );

    let reply = service
        .admin(
            "experts.unavailable",
            &json!({"expertId": "kim-jiwoo", "start": "2027-03-01", "end": "2027-03-03", "reason": "conference"}),
        )
        .await
        .unwrap();
    assert_eq!(reply["conflicts"], json!([]));
    let listed = service.admin("experts.list", &json!({})).await.unwrap();
    let kim = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "kim-jiwoo")
        .unwrap()
        .clone();
    assert_eq!(kim["unavailable"].as_array().unwrap().len(), 2);
    assert_eq!(kim["unavailable"][1]["reason"], "conference");

    // Re-importing the roster keeps what the operator added.
    service.import(&seed_roster()).await.unwrap();
    let listed = service.admin("experts.list", &json!({})).await.unwrap();
    let kim = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "kim-jiwoo")
        .unwrap()
        .clone();
    assert_eq!(kim["unavailable"].as_array().unwrap().len(), 2);

    let unknown = service
        .admin(
            "experts.unavailable",
            &json!({"expertId": "nobody", "start": "2027-03-01", "end": "2027-03-03"}),
        )
        .await
        .unwrap_err();
    assert_eq!(unknown.code, "NOT_FOUND");
    let inverted = service
        .admin(
            "experts.unavailable",
            &json!({"expertId": "kim-jiwoo", "start": "2027-03-05", "end": "2027-03-01"}),
        )
        .await
        .unwrap_err();
    assert_eq!(inverted.code, "INVALID");
    assert!(inverted.message.contains("end"), "{}", inverted.message);
}
