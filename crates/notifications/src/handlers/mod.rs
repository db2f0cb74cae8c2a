//! Events in, deliveries scheduled, in the consumer's transaction.
//!
//! Two durable consumers feed notifications:
//! - `notifications` on `ileaps.events.>` ([`EventsHandler`]): what
//!   happened to enquiries and workshops, each event also offered to every
//!   webhook endpoint that wants it;
//! - `notifications-contacts` on `ileaps.internal.>` ([`ContactsHandler`]):
//!   the addresses, which only this stream carries.
//!
//! Handlers only write rows (the deliveries, with everything needed to send
//! them); the delivery worker ([`crate::worker`]) does the sending, so a
//! slow mail server never holds a consumer's transaction open, and a
//! redelivered event finds its deliveries already there (the inbox, then
//! the unique (cause, recipient, channel) key) and sends nothing again.

mod contacts;
mod enquiries;
mod webhooks;
mod workshops;

pub use contacts::ContactsHandler;

use crate::outgoing::Cause;
use crate::settings::NotificationSettings;
use crate::store;
use chrono::Utc;
use contract::CloudEvent;
use contract::proto::assignment::v1::AssignmentMade;
use contract::proto::enquiry::v1::{EnquiryReceived, EnquiryRejected, EnquiryWithdrawn};
use contract::proto::workshop::v1::{
    WorkshopCancelled, WorkshopRescheduled, WorkshopScheduled, WorkshopUnschedulable,
};
use messaging::{Delivery, Handler, HandlerError};
use sqlx::PgConnection;
use std::sync::Arc;
use tokio::sync::Notify;

/// The durable consumer on `ILEAPS_EVENTS`.
pub const EVENTS_CONSUMER: &str = "notifications";
/// The durable consumer on `ILEAPS_INTERNAL`.
pub const CONTACTS_CONSUMER: &str = "notifications-contacts";

/// Consumes `ileaps.events.>`.
#[derive(Debug, Clone)]
pub struct EventsHandler {
    reminder_days: Vec<u32>,
    /// Wakes the delivery worker after a commit.
    wake: Arc<Notify>,
}

impl EventsHandler {
    pub fn new(settings: &NotificationSettings, wake: Arc<Notify>) -> Self {
        Self {
            reminder_days: settings.reminder_days.clone(),
            wake,
        }
    }
}

/// The cause of the deliveries a message schedules: its ce-id and the
/// trace it belongs to.
fn cause_of(delivery: &Delivery) -> Result<Cause, HandlerError> {
    let envelope = delivery
        .envelope
        .as_ref()
        .map_err(|e| HandlerError::permanent(format!("not a CloudEvent: {e}")))?;
    let (traceparent, tracestate) = match delivery.span().in_scope(telemetry::current_traceparent) {
        Some((parent, state)) => (Some(parent), state),
        None => (envelope.traceparent.clone(), envelope.tracestate.clone()),
    };
    Ok(Cause {
        event_id: envelope.id.clone(),
        traceparent,
        tracestate,
        due_at: Utc::now(),
    })
}

fn parse<E: CloudEvent>(body: &[u8]) -> Result<E, HandlerError> {
    E::from_json(body).map_err(|e| HandlerError::permanent(format!("malformed {}: {e}", E::TYPE)))
}

impl Handler for EventsHandler {
    async fn handle(&self, tx: &mut PgConnection, delivery: &Delivery) -> Result<(), HandlerError> {
        let cause = cause_of(delivery)?;
        let envelope = delivery
            .envelope
            .as_ref()
            .map_err(|e| HandlerError::permanent(format!("not a CloudEvent: {e}")))?;
        let body = &delivery.payload;
        let ce_type = envelope.event_type.as_str();
        // Our own `notification.*` events are not offered to webhooks: each
        // webhook delivery announces itself with one, which would be offered
        // again, without end.
        if !ce_type.starts_with("ileaps.notification.") {
            webhooks::offer(tx, envelope, body, &cause).await?;
        }
        match ce_type {
            EnquiryReceived::TYPE => enquiries::received(tx, parse(body)?, &cause, body).await,
            EnquiryRejected::TYPE => enquiries::rejected(tx, parse(body)?, &cause, body).await,
            EnquiryWithdrawn::TYPE => enquiries::withdrawn(tx, parse(body)?, &cause, body).await,
            WorkshopUnschedulable::TYPE => {
                enquiries::unschedulable(tx, parse(body)?, &cause, body).await
            }
            WorkshopScheduled::TYPE => workshops::scheduled(tx, parse(body)?).await,
            WorkshopRescheduled::TYPE => workshops::rescheduled(tx, parse(body)?, &cause).await,
            WorkshopCancelled::TYPE => workshops::cancelled(tx, parse(body)?, &cause).await,
            AssignmentMade::TYPE => {
                workshops::made(tx, parse(body)?, &cause, &self.reminder_days).await
            }
            // Unfilled and released change nothing a person is told:
            // scheduling answers them with new dates or an unschedulable.
            _ => Ok(()),
        }
    }

    fn committed(&self) {
        self.wake.notify_one();
    }
}

/// Schedules deliveries in the handler's transaction.
async fn schedule(
    tx: &mut PgConnection,
    deliveries: &[store::NewDelivery],
) -> Result<(), HandlerError> {
    store::schedule(tx, deliveries).await?;
    Ok(())
}
