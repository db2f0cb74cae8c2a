//! Addresses in: `ileaps.internal.enquiry.contact` from intake and
//! `ileaps.internal.expert.contact` from assignment. Notifications keeps its
//! own copy; no other service's tables are read.

use super::enquiries::email_for_cause;
use crate::outgoing::Cause;
use crate::store::{self, Contact, ContactKey, ExpertContact};
use chrono::Utc;
use contract::proto::assignment::v1::ExpertContact as ExpertContactEvent;
use contract::proto::enquiry::v1::EnquiryContact;
use contract::{CloudEvent, subjects};
use messaging::{Delivery, Handler, HandlerError};
use sqlx::PgConnection;
use std::sync::Arc;
use tokio::sync::Notify;
use tracing::debug;

/// Consumes `ileaps.internal.>`.
#[derive(Debug, Clone)]
pub struct ContactsHandler {
    wake: Arc<Notify>,
}

impl ContactsHandler {
    pub fn new(wake: Arc<Notify>) -> Self {
        Self { wake }
    }
}

impl Handler for ContactsHandler {
    /// Only the two contact subjects: the rest of `ileaps.internal.>` (the
    /// roster and holds assignment publishes for scheduling) is acknowledged
    /// without a transaction, as not ours.
    fn concerns(&self, subject: &str) -> bool {
        matches!(
            subject,
            subjects::INTERNAL_ENQUIRY_CONTACT | subjects::INTERNAL_EXPERT_CONTACT
        )
    }

    async fn handle(&self, tx: &mut PgConnection, delivery: &Delivery) -> Result<(), HandlerError> {
        match delivery.event_type() {
            EnquiryContact::TYPE => {
                if let Some(event) = delivery.event::<EnquiryContact>()? {
                    enquiry_contact(tx, event).await?;
                }
            }
            ExpertContactEvent::TYPE => {
                if let Some(event) = delivery.event::<ExpertContactEvent>()? {
                    expert_contact(tx, event).await?;
                }
            }
            // Other internal messages are other services' business; a
            // message that is no CloudEvent is reported by `event`.
            _ => {
                delivery.event::<EnquiryContact>()?;
            }
        }
        Ok(())
    }

    fn committed(&self) {
        self.wake.notify_one();
    }
}

async fn expert_contact(
    tx: &mut PgConnection,
    event: ExpertContactEvent,
) -> Result<(), HandlerError> {
    let expert = ExpertContact {
        expert_id: event.expert_id,
        display_name: event.display_name,
        email: event.email,
        language: event.preferred_language,
        time_zone: event.time_zone,
    };
    store::put_expert(tx, &expert).await?;
    Ok(())
}

async fn enquiry_contact(tx: &mut PgConnection, event: EnquiryContact) -> Result<(), HandlerError> {
    let enquiry_id = Some(event.enquiry_id.as_str()).filter(|id| !id.is_empty());
    let inbound_id = Some(event.inbound_id.as_str()).filter(|id| !id.is_empty());
    let key = match (enquiry_id, inbound_id) {
        (Some(id), _) => ContactKey::Enquiry(id.to_owned()),
        (None, Some(id)) => ContactKey::Inbound(id.to_owned()),
        (None, None) => {
            return Err(HandlerError::permanent(
                "an enquiry contact with neither enquiryId nor inboundId",
            ));
        }
    };
    key.lock(tx).await?;
    let contact = Contact {
        city: event.city,
        reference: event.reference,
        name: event.name,
        email: event.email,
        language: if event.preferred_language.is_empty() {
            "en".to_owned()
        } else {
            event.preferred_language
        },
    };
    store::put_contact(tx, enquiry_id, inbound_id, &contact).await?;
    for waiting in store::take_awaiting(tx, &key).await? {
        debug!(key = %key.as_text(), cause = %waiting.cause_event_id, "contact arrived for a waiting notice");
        let cause = Cause {
            event_id: waiting.cause_event_id.clone(),
            traceparent: waiting.traceparent.clone(),
            tracestate: waiting.tracestate.clone(),
            due_at: Utc::now(),
        };
        email_for_cause(
            tx,
            &waiting.cause_type,
            &waiting.cause_body,
            &cause,
            &contact,
        )
        .await?;
    }
    Ok(())
}
