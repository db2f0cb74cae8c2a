//! The whole journey, black-box: a city publishes an enquiry and ends with
//! its confirmation on its own feed, an email to its contact and one to
//! each assigned expert; its status query says CONFIRMED.

use crate::helpers::{TestApp, body, ce_type, submission};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use test_support::SmtpServer;

/// Intake → scheduling → assignment → notifications: several hops.
const JOURNEY: Duration = Duration::from_secs(60);

/// The seed roster's addresses by expert id.
fn roster_addresses() -> BTreeMap<String, String> {
    let file = test_support::workspace_root().join("deploy/seed/experts.yaml");
    let roster: Value =
        serde_yaml::from_str(&std::fs::read_to_string(file).expect("the seed roster")).unwrap();
    roster["experts"]
        .as_array()
        .expect("a list of experts")
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_owned(),
                e["email"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_enquiry_ends_confirmed_on_the_feed_by_email_and_in_the_status_query() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_all(&smtp).await;
    // The city reads its own feed with its own durable consumer.
    let mut feed = app.city_feed("hulhumale").await;

    let mut pilot = submission("hulhumale", "HUL-J-1");
    pilot["kind"] = json!("PILOT_PROJECT");
    pilot["topics"] = json!(["URBAN_PLANNING"]);
    pilot["format"] = json!("IN_PERSON");
    pilot["contact"] = json!({"name": "Aishath Naseem", "email": "planning@hulhumale.example"});
    app.submit("hulhumale", &pilot).await;

    let mut next_notice = async || {
        let message = tokio::time::timeout(JOURNEY, feed.next())
            .await
            .expect("a notice on the feed in time")
            .unwrap()
            .unwrap();
        message.ack().await.unwrap();
        message
    };
    let received = next_notice().await;
    assert_eq!(ce_type(&received), "ileaps.city.enquiry.received.v1");
    assert_eq!(body(&received)["reference"], "HUL-J-1");
    let confirmed = next_notice().await;
    assert_eq!(ce_type(&confirmed), "ileaps.city.workshop.confirmed.v1");
    assert_eq!(
        confirmed.subject.as_str(),
        "ileaps.outbound.hulhumale.workshop.confirmed"
    );
    let confirmation = body(&confirmed);
    assert_eq!(confirmation["reference"], "HUL-J-1");
    assert_eq!(confirmation["sessions"].as_array().unwrap().len(), 5);
    // 09:00 in the Maldives, shown in the city's own time.
    assert!(
        confirmation["sessions"][0]["localStart"]
            .as_str()
            .unwrap()
            .ends_with("T09:00:00+05:00"),
        "{confirmation}"
    );
    let experts: Vec<String> = confirmation["experts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["expertId"].as_str().unwrap().to_owned())
        .collect();
    assert!(!experts.is_empty(), "{confirmation}");

    // Email: the acknowledgement and the confirmation to the contact, a
    // confirmation to each assigned expert.
    let addresses = roster_addresses();
    let expected = 2 + experts.len();
    let mail = smtp.wait_for(expected, JOURNEY).await;
    let to_contact: Vec<_> = mail
        .iter()
        .filter(|m| m.rcpt_to == ["planning@hulhumale.example"])
        .collect();
    assert_eq!(to_contact.len(), 2, "acknowledgement and confirmation");
    assert!(
        to_contact
            .iter()
            .all(|m| m.text.as_deref().unwrap_or("").contains("HUL-J-1"))
    );
    for expert in &experts {
        let address = &addresses[expert];
        assert!(
            mail.iter().any(|m| &m.rcpt_to[0] == address),
            "no email to {expert} at {address}"
        );
    }

    // The city's status query, once the confirmation is recorded delivered.
    let ask = || {
        let client = app.client.clone();
        async move {
            let reply = client
                .request(
                    "ileaps.query.hulhumale.enquiry",
                    json!({"reference": "HUL-J-1"}).to_string().into(),
                )
                .await
                .expect("a reply");
            serde_json::from_slice::<Value>(&reply.payload).unwrap()
        }
    };
    let status = test_support::eventually("status CONFIRMED", JOURNEY, || async {
        let reply = ask().await;
        (reply["status"] == "CONFIRMED").then_some(reply)
    })
    .await;
    assert_eq!(status["workshopId"], confirmation["workshopId"]);

    // Nothing of another city on this feed.
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_millis(500), feed.next()).await
    {
        assert!(message.subject.starts_with("ileaps.outbound.hulhumale."));
    }
    app.stop().await;
}
