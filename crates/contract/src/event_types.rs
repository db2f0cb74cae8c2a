//! The versioned `ce-type` of every message, tied to its generated type.

use crate::proto::{assignment, cityfeed, enquiry, notification, query, workshop};

/// A message of the contract: its body type and its `ce-type`.
///
/// The body is serialised as proto3 canonical JSON by [`CloudEvent::to_json`].
pub trait CloudEvent: serde::Serialize + serde::de::DeserializeOwned + Send + Sync {
    /// The `ce-type` header, e.g. `ileaps.enquiry.received.v1`.
    const TYPE: &'static str;

    /// The body as canonical JSON bytes.
    fn to_json(&self) -> Vec<u8> {
        // Generated messages hold only strings, numbers, enums and timestamps,
        // which always serialise.
        serde_json::to_vec(self).expect("contract messages always serialise to JSON")
    }

    /// Parses a body of this type.
    fn from_json(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }
}

macro_rules! cloud_events {
    ($($ty:ty => $name:literal),* $(,)?) => {
        $(impl CloudEvent for $ty { const TYPE: &'static str = $name; })*
        /// Every `ce-type` of the contract, for documentation and checks.
        pub const ALL: &[&str] = &[$($name),*];
    };
}

cloud_events! {
    enquiry::v1::EnquirySubmission => "ileaps.enquiry.submit.v1",
    enquiry::v1::EnquiryWithdrawal => "ileaps.enquiry.withdraw.v1",
    enquiry::v1::EnquiryReceived => "ileaps.enquiry.received.v1",
    enquiry::v1::EnquiryRejected => "ileaps.enquiry.rejected.v1",
    enquiry::v1::EnquiryWithdrawn => "ileaps.enquiry.withdrawn.v1",
    enquiry::v1::EnquiryContact => "ileaps.enquiry.contact.v1",
    workshop::v1::WorkshopScheduled => "ileaps.workshop.scheduled.v1",
    workshop::v1::WorkshopRescheduled => "ileaps.workshop.rescheduled.v1",
    workshop::v1::WorkshopCancelled => "ileaps.workshop.cancelled.v1",
    workshop::v1::WorkshopUnschedulable => "ileaps.workshop.unschedulable.v1",
    assignment::v1::AssignmentMade => "ileaps.assignment.made.v1",
    assignment::v1::AssignmentUnfilled => "ileaps.assignment.unfilled.v1",
    assignment::v1::AssignmentReleased => "ileaps.assignment.released.v1",
    assignment::v1::ExpertContact => "ileaps.expert.contact.v1",
    assignment::v1::ExpertProfile => "ileaps.expert.profile.v1",
    assignment::v1::WorkshopHolds => "ileaps.assignment.holds.v1",
    notification::v1::NotificationDelivered => "ileaps.notification.delivered.v1",
    notification::v1::NotificationFailed => "ileaps.notification.failed.v1",
    cityfeed::v1::EnquiryReceivedNotice => "ileaps.city.enquiry.received.v1",
    cityfeed::v1::EnquiryRejectedNotice => "ileaps.city.enquiry.rejected.v1",
    cityfeed::v1::EnquiryWithdrawnNotice => "ileaps.city.enquiry.withdrawn.v1",
    cityfeed::v1::WorkshopConfirmedNotice => "ileaps.city.workshop.confirmed.v1",
    cityfeed::v1::WorkshopRescheduledNotice => "ileaps.city.workshop.rescheduled.v1",
    cityfeed::v1::WorkshopCancelledNotice => "ileaps.city.workshop.cancelled.v1",
    cityfeed::v1::UnschedulableNotice => "ileaps.city.enquiry.unschedulable.v1",
    cityfeed::v1::ReminderNotice => "ileaps.city.workshop.reminder.v1",
    query::v1::EnquiryStatusRequest => "ileaps.query.enquiry.status.v1",
}

/// The `ce-type`s published on `ileaps.events.>`: what integrators read
/// and webhook endpoints may filter on.
pub const PROGRAMME_EVENTS: &[&str] = &[
    "ileaps.enquiry.received.v1",
    "ileaps.enquiry.rejected.v1",
    "ileaps.enquiry.withdrawn.v1",
    "ileaps.workshop.scheduled.v1",
    "ileaps.workshop.rescheduled.v1",
    "ileaps.workshop.cancelled.v1",
    "ileaps.workshop.unschedulable.v1",
    "ileaps.assignment.made.v1",
    "ileaps.assignment.unfilled.v1",
    "ileaps.assignment.released.v1",
    "ileaps.notification.delivered.v1",
    "ileaps.notification.failed.v1",
];

/// `ileaps.enquiry.submit.v1`: what a city sends.
pub const ENQUIRY_SUBMIT: &str = "ileaps.enquiry.submit.v1";
/// `ileaps.enquiry.withdraw.v1`: what a city sends to take an enquiry back.
pub const ENQUIRY_WITHDRAW: &str = "ileaps.enquiry.withdraw.v1";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::common::v1::{DateWindow, EnquiryKind, Format, Topic};
    use crate::proto::enquiry::v1::{Contact, EnquirySubmission};

    #[test]
    fn programme_events_are_types_of_the_contract() {
        for t in PROGRAMME_EVENTS {
            assert!(ALL.contains(t), "{t}");
        }
    }

    #[test]
    fn the_contracts_example_submission_parses_and_round_trips() {
        let body = br#"{
          "reference": "MKS-2027-014",
          "city": "makassar",
          "kind": "JOINT_WORKSHOP",
          "topics": ["SOCIAL_INNOVATION", "LOCAL_GOVERNANCE"],
          "preferredWindow": {"start": "2027-02-01", "end": "2027-03-31"},
          "participants": 18,
          "languages": ["en", "id"],
          "format": "EITHER",
          "contact": {"name": "A. Rahman", "email": "innovation.office@makassar.example"},
          "description": "Joint workshop on Seoul's participatory budgeting."
        }"#;
        let parsed = EnquirySubmission::from_json(body).unwrap();
        let expected = EnquirySubmission {
            reference: "MKS-2027-014".into(),
            city: "makassar".into(),
            kind: EnquiryKind::JointWorkshop.into(),
            topics: vec![
                Topic::SocialInnovation.into(),
                Topic::LocalGovernance.into(),
            ],
            preferred_window: Some(DateWindow {
                start: "2027-02-01".into(),
                end: "2027-03-31".into(),
            }),
            participants: Some(18),
            languages: vec!["en".into(), "id".into()],
            format: Format::Either.into(),
            contact: Some(Contact {
                name: "A. Rahman".into(),
                email: "innovation.office@makassar.example".into(),
                phone: None,
            }),
            description: "Joint workshop on Seoul's participatory budgeting.".into(),
        };
        assert_eq!(parsed, expected);
        let again = EnquirySubmission::from_json(&parsed.to_json()).unwrap();
        assert_eq!(again, expected);
    }

    #[test]
    fn enums_are_written_by_name_and_fields_in_lower_camel_case() {
        let json: serde_json::Value = serde_json::from_slice(
            &crate::proto::enquiry::v1::EnquiryReceived {
                kind: EnquiryKind::PilotProject.into(),
                time_zone: "Asia/Colombo".into(),
                ..Default::default()
            }
            .to_json(),
        )
        .unwrap();
        assert_eq!(json["kind"], "PILOT_PROJECT");
        assert_eq!(json["timeZone"], "Asia/Colombo");
        assert_eq!(json["beneficiary"], false);
    }

    #[test]
    fn every_type_name_is_versioned_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for name in ALL {
            assert!(
                name.starts_with("ileaps.") && name.ends_with(".v1"),
                "{name}"
            );
            assert!(seen.insert(name), "{name} twice");
        }
    }
}
