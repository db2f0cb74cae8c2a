//! Inbound message in, transaction, events out.
//!
//! Each message is classified by the pure rules of [`crate::domain`], then
//! decided against the database (the natural key, withdrawals) inside the
//! consumer's batch transaction, and its outcome events are written to the
//! outbox in that same transaction: exactly one outcome per inbound message.

use crate::domain::{
    Inbound, InboundMessage, Reason, Rejection, ValidSubmission, ValidWithdrawal,
    ValidationContext, classify_inbound,
};
use crate::registry::CityRegistry;
use crate::store::{self, NewEnquiry, NewRejection};
use chrono::{DateTime, Utc};
use contract::proto::enquiry::v1::{
    EnquiryContact, EnquiryReceived, EnquiryRejected, EnquiryWithdrawn,
};
use contract::{Envelope, Service, subjects};
use messaging::{Delivery, Handler, HandlerError, Outbox, OutgoingMessage};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use std::sync::Arc;
use telemetry::Metrics;
use tracing::{debug, info};
use uuid::Uuid;

/// Consumes `ileaps.inbound.>`.
#[derive(Debug, Clone)]
pub struct IntakeHandler {
    outbox: Outbox,
    registry: CityRegistry,
    metrics: Arc<Metrics>,
}

impl IntakeHandler {
    pub fn new(outbox: Outbox, registry: CityRegistry, metrics: Arc<Metrics>) -> Self {
        Self {
            outbox,
            registry,
            metrics,
        }
    }

    async fn accept(
        &self,
        tx: &mut PgConnection,
        envelope: &Envelope,
        submission: ValidSubmission,
        city: &store::CityRecord,
    ) -> Result<(), HandlerError> {
        let proto = submission.to_proto();
        let fingerprint = submission.fingerprint();
        let now = Utc::now();
        let id = Uuid::now_v7();
        let recorded = store::insert_enquiry(
            tx,
            &NewEnquiry {
                id,
                city: &proto.city,
                reference: &proto.reference,
                fingerprint: &fingerprint,
                submission: serde_json::to_value(&proto).map_err(|e| {
                    HandlerError::permanent(format!("submission did not serialise: {e}"))
                })?,
                priority: city.beneficiary,
                inbound_id: &envelope.id,
                received_at: now,
            },
        )
        .await?;
        if !recorded {
            let existing = store::find_enquiry(tx, &proto.city, &proto.reference)
                .await?
                .ok_or_else(|| {
                    HandlerError::Retryable("enquiry vanished between insert and read".into())
                })?;
            if existing.fingerprint == fingerprint {
                // The same submission again: a no-op. Its outcome is the first
                // one's, which the city can also ask for with the status query.
                debug!(city = %proto.city, reference = %proto.reference, "resubmission ignored");
                self.metrics.record_enquiry("resubmitted", None);
                return Ok(());
            }
            let rejection = Rejection {
                city: Some(submission.city().clone()),
                reference: Some(proto.reference.clone()),
                inbound_id: Some(envelope.id.clone()),
                inbound_type: Some(envelope.event_type.clone()),
                reasons: vec![Reason::reference_conflict()],
                contact: Some(submission.contact().clone()),
            };
            return self.reject(tx, rejection).await;
        }

        let id_text = id.to_string();
        let received = EnquiryReceived {
            enquiry_id: id_text.clone(),
            city: proto.city.clone(),
            reference: proto.reference.clone(),
            kind: proto.kind,
            topics: proto.topics.clone(),
            preferred_window: proto.preferred_window.clone(),
            participants: proto.participants.unwrap_or(0),
            languages: proto.languages.clone(),
            format: proto.format,
            time_zone: city.time_zone.clone(),
            beneficiary: city.beneficiary,
            priority: city.beneficiary,
            received_at: Some(timestamp(now)),
            inbound_id: envelope.id.clone(),
        };
        let contact = proto.contact.clone().unwrap_or_default();
        let contact_event = EnquiryContact {
            enquiry_id: id_text.clone(),
            city: proto.city.clone(),
            reference: proto.reference.clone(),
            name: contact.name,
            email: contact.email,
            phone: contact.phone,
            preferred_language: submission.preferred_language(),
            inbound_id: envelope.id.clone(),
        };
        self.outbox
            .enqueue_all(
                tx,
                vec![
                    OutgoingMessage::event(
                        Service::Intake,
                        subjects::ENQUIRY_RECEIVED,
                        &id_text,
                        &received,
                    ),
                    OutgoingMessage::event(
                        Service::Intake,
                        subjects::INTERNAL_ENQUIRY_CONTACT,
                        &id_text,
                        &contact_event,
                    ),
                ],
            )
            .await?;
        info!(enquiry_id = %id, city = %proto.city, reference = %proto.reference, priority = city.beneficiary, "enquiry received");
        self.metrics.record_enquiry("received", None);
        Ok(())
    }

    async fn withdraw(
        &self,
        tx: &mut PgConnection,
        envelope: &Envelope,
        withdrawal: ValidWithdrawal,
    ) -> Result<(), HandlerError> {
        let city = withdrawal.city.as_str();
        let reference = withdrawal.reference.as_str();
        let Some(enquiry) = store::find_enquiry(tx, city, reference).await? else {
            let rejection = Rejection {
                city: Some(withdrawal.city.clone()),
                reference: Some(reference.to_owned()),
                inbound_id: Some(envelope.id.clone()),
                inbound_type: Some(envelope.event_type.clone()),
                reasons: vec![Reason::unknown_enquiry()],
                contact: None,
            };
            return self.reject(tx, rejection).await;
        };
        let reason = withdrawal
            .reason
            .as_ref()
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default();
        let now = Utc::now();
        if !store::mark_withdrawn(tx, enquiry.id, &reason, now).await? {
            debug!(%city, %reference, "already withdrawn");
            return Ok(());
        }
        let id_text = enquiry.id.to_string();
        let event = EnquiryWithdrawn {
            enquiry_id: id_text.clone(),
            city: city.to_owned(),
            reference: reference.to_owned(),
            withdrawn_at: Some(timestamp(now)),
        };
        self.outbox
            .enqueue(
                tx,
                OutgoingMessage::event(
                    Service::Intake,
                    subjects::ENQUIRY_WITHDRAWN,
                    &id_text,
                    &event,
                ),
            )
            .await?;
        info!(enquiry_id = %enquiry.id, %city, %reference, "enquiry withdrawn");
        self.metrics.record_enquiry("withdrawn", None);
        Ok(())
    }

    async fn reject(
        &self,
        tx: &mut PgConnection,
        rejection: Rejection,
    ) -> Result<(), HandlerError> {
        let now = Utc::now();
        let id = Uuid::now_v7();
        let reasons = rejection.reasons_proto();
        let city = rejection.city.as_ref().map(|c| c.as_str().to_owned());
        store::insert_rejection(
            tx,
            &NewRejection {
                id,
                city: city.as_deref(),
                reference: rejection.reference.as_deref(),
                inbound_id: rejection.inbound_id.as_deref(),
                reasons: serde_json::to_value(&reasons).unwrap_or_default(),
                rejected_at: now,
            },
        )
        .await?;
        let id_text = id.to_string();
        let event = EnquiryRejected {
            city: city.clone().unwrap_or_default(),
            reference: rejection.reference.clone().unwrap_or_default(),
            inbound_id: rejection.inbound_id.clone().unwrap_or_default(),
            inbound_type: rejection.inbound_type.clone().unwrap_or_default(),
            reasons,
            rejected_at: Some(timestamp(now)),
        };
        let mut messages = vec![OutgoingMessage::event(
            Service::Intake,
            subjects::ENQUIRY_REJECTED,
            &id_text,
            &event,
        )];
        // Tell notifications whom to write to, when the body named someone.
        if let (Some(city), Some(contact)) = (&city, &rejection.contact) {
            let contact = contact.to_proto();
            messages.push(OutgoingMessage::event(
                Service::Intake,
                subjects::INTERNAL_ENQUIRY_CONTACT,
                &id_text,
                &EnquiryContact {
                    enquiry_id: String::new(),
                    city: city.clone(),
                    reference: rejection.reference.clone().unwrap_or_default(),
                    name: contact.name,
                    email: contact.email,
                    phone: contact.phone,
                    preferred_language: "en".to_owned(),
                    inbound_id: rejection.inbound_id.clone().unwrap_or_default(),
                },
            ));
        }
        self.outbox.enqueue_all(tx, messages).await?;
        let codes: Vec<&str> = rejection.codes().iter().map(|c| c.as_str_name()).collect();
        info!(
            city = city.as_deref().unwrap_or("?"),
            reference = rejection.reference.as_deref().unwrap_or("?"),
            ?codes,
            "enquiry rejected"
        );
        for code in codes {
            self.metrics.record_enquiry("rejected", Some(code));
        }
        Ok(())
    }
}

impl Handler for IntakeHandler {
    async fn handle(&self, tx: &mut PgConnection, delivery: &Delivery) -> Result<(), HandlerError> {
        let cities = self.registry.snapshot(tx).await?;
        let message = InboundMessage {
            subject: &delivery.subject,
            headers: delivery.headers.as_ref(),
            body: &delivery.payload,
        };
        // Classified in its own scope: the context is not `Send` and must be
        // gone before the next await.
        let inbound = {
            let is_registered = |code: &contract::CityCode| cities.contains_key(code.as_str());
            let context = ValidationContext {
                today: Utc::now().date_naive(),
                is_registered: &is_registered,
            };
            classify_inbound(&message, &context)
        };
        match inbound {
            Inbound::Submit {
                envelope,
                submission,
            } => {
                let city = cities
                    .get(submission.city().as_str())
                    .ok_or_else(|| HandlerError::permanent("validated city is not registered"))?;
                self.accept(tx, &envelope, submission, city).await
            }
            Inbound::Withdraw {
                envelope,
                withdrawal,
            } => self.withdraw(tx, &envelope, withdrawal).await,
            Inbound::Reject(rejection) => self.reject(tx, rejection).await,
        }
    }

    fn committed(&self) {
        self.outbox.wake_relay();
    }

    /// `(ce-source, ce-id)` plus a hash of the body: a city that reuses a
    /// `ce-id` for a different message still gets an outcome for it, while a
    /// true redelivery is recognised.
    fn identity(&self, delivery: &Delivery) -> (String, String) {
        let (source, id) = delivery.identity();
        if delivery.envelope.is_err() {
            return (source, id);
        }
        let digest = Sha256::digest(&delivery.payload);
        let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        (source, format!("{id}#{short}"))
    }
}

fn timestamp(at: DateTime<Utc>) -> pbjson_types::Timestamp {
    pbjson_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}
