//! What happened to the enquiries after intake: learnt from the programme's
//! public events (intake reads no other service's tables) and kept on
//! `intake.enquiries` for the status query.
//!
//! The durable consumer `intake-progress` reads `ileaps.events.>` and acts on:
//!
//! - `workshop.scheduled`: each listed enquiry is SCHEDULED in the workshop,
//!   at the event's version; enquiries seen in it at an older version and no
//!   longer listed left it and are RECEIVED again, without a workshop.
//! - `workshop.rescheduled`: a new version; a STAFFED enquiry is SCHEDULED
//!   again until an `assignment.made` for the new version.
//! - `assignment.made`: when its `workshopVersion` is the recorded version,
//!   the workshop's enquiries are STAFFED.
//! - `workshop.unschedulable`: the enquiry is UNSCHEDULABLE, its detail the
//!   reason code, with no workshop.
//! - `notification.delivered` of a WORKSHOP_CONFIRMED notice on a city's
//!   feed: that enquiry, STAFFED at the confirmed version, is CONFIRMED (the
//!   city has been told). Later versions make it SCHEDULED again until
//!   they are staffed and confirmed in turn.
//! - `workshop.cancelled`: enquiries still SCHEDULED, STAFFED or CONFIRMED in it are
//!   RECEIVED again, without a workshop, the detail saying it was cancelled.
//!   (Scheduling cancels a workshop when its last city withdrew, where there
//!   is nothing left to change, or after giving up on staffing it, where it
//!   announces each city's `unschedulable` first, which stays.)
//!
//! Every update is judged against the workshop version recorded on the
//! enquiry: a stale or repeated event changes nothing, and WITHDRAWN (set by
//! intake itself) is final.

use crate::store;
use contract::proto::assignment::v1::AssignmentMade;
use contract::proto::notification::v1::{Channel, Notice, NotificationDelivered};
use contract::proto::workshop::v1::{
    WorkshopCancelled, WorkshopRescheduled, WorkshopScheduled, WorkshopUnschedulable,
};
use contract::subjects;
use messaging::{Delivery, Handler, HandlerError};
use sqlx::PgConnection;
use tracing::{debug, warn};
use uuid::Uuid;

/// The durable consumer's name on `ILEAPS_EVENTS`.
pub const CONSUMER: &str = "intake-progress";

/// Consumes `ileaps.events.>` for the status query.
#[derive(Debug, Clone, Default)]
pub struct ProgressHandler;

impl Handler for ProgressHandler {
    /// Only the subjects matched below; intake's own `enquiry.*` events
    /// (most of the stream) and the rest cost no transaction.
    /// Keep in step with `handle`'s match: a subject missing here is
    /// acknowledged without being handled.
    fn concerns(&self, subject: &str) -> bool {
        matches!(
            subject,
            subjects::WORKSHOP_SCHEDULED
                | subjects::WORKSHOP_RESCHEDULED
                | subjects::ASSIGNMENT_MADE
                | subjects::WORKSHOP_UNSCHEDULABLE
                | subjects::WORKSHOP_CANCELLED
                | subjects::NOTIFICATION_DELIVERED
        )
    }

    async fn handle(&self, tx: &mut PgConnection, delivery: &Delivery) -> Result<(), HandlerError> {
        match delivery.subject.as_str() {
            subjects::WORKSHOP_SCHEDULED => {
                if let Some(event) = delivery.event::<WorkshopScheduled>()? {
                    let version = version_of(event.version)?;
                    let listed: Vec<Uuid> = event
                        .cities
                        .iter()
                        .filter_map(|c| enquiry_id(&c.enquiry_id))
                        .collect();
                    let left = store::mark_left(tx, &event.workshop_id, version, &listed).await?;
                    let scheduled =
                        store::mark_scheduled(tx, &listed, &event.workshop_id, version).await?;
                    debug!(workshop_id = %event.workshop_id, version, scheduled, left, "workshop scheduled");
                }
            }
            subjects::WORKSHOP_RESCHEDULED => {
                if let Some(event) = delivery.event::<WorkshopRescheduled>()? {
                    let version = version_of(event.version)?;
                    store::mark_rescheduled(tx, &event.workshop_id, version).await?;
                }
            }
            subjects::ASSIGNMENT_MADE => {
                if let Some(event) = delivery.event::<AssignmentMade>()? {
                    let version = version_of(event.workshop_version)?;
                    store::mark_staffed(tx, &event.workshop_id, version).await?;
                }
            }
            subjects::WORKSHOP_UNSCHEDULABLE => {
                if let Some(event) = delivery.event::<WorkshopUnschedulable>()?
                    && let Some(id) = enquiry_id(&event.enquiry_id)
                {
                    store::mark_unschedulable(tx, id, &event.workshop_id, &event.reason_code)
                        .await?;
                }
            }
            subjects::WORKSHOP_CANCELLED => {
                if let Some(event) = delivery.event::<WorkshopCancelled>()? {
                    let version = version_of(event.version)?;
                    let detail = if event.reason.is_empty() {
                        "workshop cancelled".to_owned()
                    } else {
                        format!("workshop cancelled: {}", event.reason)
                    };
                    store::mark_cancelled(tx, &event.workshop_id, version, &detail).await?;
                }
            }
            subjects::NOTIFICATION_DELIVERED => {
                if let Some(event) = delivery.event::<NotificationDelivered>()?
                    && event.notice() == Notice::WorkshopConfirmed
                    && event.channel() == Channel::CityFeed
                    && let Some(id) = enquiry_id(&event.enquiry_id)
                {
                    let version = version_of(event.workshop_version)?;
                    store::mark_confirmed(tx, id, &event.workshop_id, version).await?;
                }
            }
            // Everything else on the stream is not about an enquiry's status.
            _ => {}
        }
        Ok(())
    }
}

fn version_of(version: u32) -> Result<i32, HandlerError> {
    i32::try_from(version)
        .map_err(|_| HandlerError::permanent(format!("workshop version {version} out of range")))
}

/// An enquiry id of an event; one that is not a UUID cannot be intake's.
fn enquiry_id(id: &str) -> Option<Uuid> {
    let parsed = Uuid::parse_str(id).ok();
    if parsed.is_none() {
        warn!(enquiry_id = %id, "not an enquiry id of intake's; ignored");
    }
    parsed
}
