//! Notices about one enquiry: the city's contact by email and its own feed.

use crate::helpers::*;
use contract::proto::enquiry::v1::EnquiryContact;
use contract::proto::enquiry::v1::{EnquiryRejected, RejectionCode, RejectionReason};
use contract::{Service, subjects};

#[tokio::test]
async fn an_accepted_enquiry_is_acknowledged_by_email_and_on_the_citys_feed() {
    let service = TestService::spawn().await;
    let mut feed = service.city_feed("makassar").await;
    let mut events = service.notification_events().await;
    let enquiry = enquiry("makassar", "MKS-2027-014", "Asia/Makassar");
    service
        .accept(&enquiry, "innovation.office@makassar.example", "id")
        .await;

    let mail = service.smtp.wait_for(1, DEADLINE).await;
    assert_eq!(mail[0].rcpt_to, vec!["innovation.office@makassar.example"]);
    let subject = mail[0].subject().expect("a subject");
    assert!(subject.contains("MKS-2027-014"), "{subject}");
    // The contact asked for Indonesian.
    assert_eq!(mail[0].header("Content-Language"), Some("id"));

    let notice = feed.next(DEADLINE).await;
    assert_eq!(
        notice.subject.as_str(),
        "ileaps.outbound.makassar.enquiry.received"
    );
    assert_eq!(ce_type(&notice), "ileaps.city.enquiry.received.v1");
    let body = json(&notice);
    assert_eq!(body["reference"], "MKS-2027-014");
    assert_eq!(body["enquiryId"], enquiry.enquiry_id.as_str());

    // Each delivery is announced, naming the recipient but no address.
    let mut channels = Vec::new();
    for _ in 0..2 {
        match announced(&events.next(DEADLINE).await) {
            Announced::Delivered(d) => {
                assert_eq!(d.recipient_ref, "makassar");
                assert_eq!(d.enquiry_id, enquiry.enquiry_id);
                assert_eq!(d.attempts, 1);
                channels.push(d.channel().as_str_name().to_owned());
            }
            Announced::Failed(f) => panic!("unexpected failure {f:?}"),
        }
    }
    channels.sort();
    assert_eq!(channels, ["CITY_FEED", "EMAIL"]);
}

#[tokio::test]
async fn the_email_waits_for_a_contact_that_arrives_after_the_outcome() {
    let service = TestService::spawn().await;
    let enquiry = enquiry("colombo", "CMB-1", "Asia/Colombo");
    service.received(&enquiry).await;
    // The feed does not wait for the contact.
    let mut feed = service.city_feed("colombo").await;
    feed.next(DEADLINE).await;
    assert!(service.smtp.messages().is_empty());

    service
        .contact(&enquiry, "office@colombo.example", "en")
        .await;
    let mail = service.smtp.wait_for(1, DEADLINE).await;
    assert_eq!(mail[0].rcpt_to, vec!["office@colombo.example"]);
    assert_eq!(mail[0].header("Content-Language"), Some("en"));
}

#[tokio::test]
async fn a_rejection_tells_the_contact_every_reason_and_an_unknown_city_gets_no_feed() {
    let service = TestService::spawn().await;
    let mut feed = service.city_feed("hulhumale").await;
    let inbound_id = uuid::Uuid::now_v7().to_string();
    let rejected = EnquiryRejected {
        city: "hulhumale".into(),
        reference: "HLM-9".into(),
        inbound_id: inbound_id.clone(),
        inbound_type: "ileaps.enquiry.submit.v1".into(),
        reasons: vec![
            RejectionReason {
                code: RejectionCode::WindowInPast.into(),
                field: "preferredWindow.start".into(),
                message: "the window starts before today".into(),
            },
            RejectionReason {
                code: RejectionCode::InvalidField.into(),
                field: "participants".into(),
                message: "must be 1 to 200".into(),
            },
        ],
        rejected_at: None,
    };
    service
        .publish(
            Service::Intake,
            subjects::ENQUIRY_REJECTED,
            &inbound_id,
            &rejected,
        )
        .await;
    let contact = EnquiryContact {
        enquiry_id: String::new(),
        city: "hulhumale".into(),
        reference: "HLM-9".into(),
        name: "Aminath <b>Shareef</b>".into(),
        email: "planning@hulhumale.example".into(),
        phone: None,
        preferred_language: "en".into(),
        inbound_id: inbound_id.clone(),
    };
    service
        .publish(
            Service::Intake,
            subjects::INTERNAL_ENQUIRY_CONTACT,
            &inbound_id,
            &contact,
        )
        .await;

    let mail = service.smtp.wait_for(1, DEADLINE).await;
    assert_eq!(mail[0].rcpt_to, vec!["planning@hulhumale.example"]);
    let text = mail[0].text.clone().expect("a text part");
    assert!(text.contains("WINDOW_IN_PAST"), "{text}");
    assert!(text.contains("participants"), "{text}");
    // What the city wrote is escaped in the HTML part.
    let html = mail[0].html.clone().expect("an HTML part");
    assert!(!html.contains("<b>Shareef</b>"), "{html}");

    let notice = feed.next(DEADLINE).await;
    assert_eq!(ce_type(&notice), "ileaps.city.enquiry.rejected.v1");
    assert_eq!(json(&notice)["reasons"].as_array().unwrap().len(), 2);

    // A city the programme does not know has no feed.
    let unknown = EnquiryRejected {
        city: "atlantis".into(),
        reference: "X".into(),
        inbound_id: uuid::Uuid::now_v7().to_string(),
        reasons: vec![RejectionReason {
            code: RejectionCode::UnknownCity.into(),
            field: "city".into(),
            message: "not a partner city".into(),
        }],
        ..Default::default()
    };
    service
        .publish(Service::Intake, subjects::ENQUIRY_REJECTED, "x", &unknown)
        .await;
    service.sentinel(2).await;
    assert_eq!(service.deliveries_to("atlantis", "CITY_FEED").await, 0);
}

#[tokio::test]
async fn withdrawal_and_unschedulable_reach_the_city_with_advice() {
    let service = TestService::spawn().await;
    let mut feed = service.city_feed("cebu").await;
    let withdrawn = enquiry("cebu", "CEB-W", "Asia/Manila");
    let hopeless = enquiry("cebu", "CEB-H", "Asia/Manila");
    service
        .accept(&withdrawn, "office@cebu.example", "en")
        .await;
    service.accept(&hopeless, "office@cebu.example", "en").await;
    let withdrawal = contract::proto::enquiry::v1::EnquiryWithdrawn {
        enquiry_id: withdrawn.enquiry_id.clone(),
        city: "cebu".into(),
        reference: "CEB-W".into(),
        ..Default::default()
    };
    service
        .publish(
            Service::Intake,
            subjects::ENQUIRY_WITHDRAWN,
            &withdrawn.enquiry_id,
            &withdrawal,
        )
        .await;
    let unschedulable = contract::proto::workshop::v1::WorkshopUnschedulable {
        enquiry_id: hopeless.enquiry_id.clone(),
        city: "cebu".into(),
        reason_code: "NO_EXPERT_AFTER_RETRIES".into(),
        ..Default::default()
    };
    service
        .publish(
            Service::Scheduling,
            subjects::WORKSHOP_UNSCHEDULABLE,
            &hopeless.enquiry_id,
            &unschedulable,
        )
        .await;

    let mut types = Vec::new();
    let mut advice = String::new();
    while types.len() < 4 {
        let notice = feed.next(DEADLINE).await;
        if ce_type(&notice) == "ileaps.city.enquiry.unschedulable.v1" {
            assert_eq!(json(&notice)["reference"], "CEB-H");
            advice = json(&notice)["advice"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
        }
        types.push(ce_type(&notice));
    }
    assert!(
        types.contains(&"ileaps.city.enquiry.withdrawn.v1".to_owned()),
        "{types:?}"
    );
    assert!(!advice.is_empty(), "the city is told what it could change");
    let mail = service.smtp.wait_for(4, DEADLINE).await;
    let texts: Vec<String> = mail.iter().filter_map(|m| m.text.clone()).collect();
    assert!(texts.iter().any(|t| t.contains("CEB-W")));
    assert!(
        texts
            .iter()
            .any(|t| t.contains("CEB-H") && t.contains("wider window")),
        "{texts:?}"
    );
}
