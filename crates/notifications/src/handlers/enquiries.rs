//! Notices about one enquiry: received, rejected, withdrawn, unschedulable.
//!
//! The city's feed is written at once. The email needs the contact, which
//! intake sends on `ileaps.internal.enquiry.contact` in the same transaction
//! as the outcome, but on another stream, so it may arrive first or second:
//! under an advisory lock on the enquiry (or, for a rejection, the inbound
//! message), whichever of the two comes second schedules the email.

use super::{parse, schedule};
use crate::domain::{Notice, Reason};
use crate::outgoing::{self, About, Cause, zone};
use crate::store::{self, AwaitingCause, Contact, ContactKey};
use chrono::NaiveDate;
use chrono_tz::Tz;
use contract::CloudEvent;
use contract::proto::cityfeed::v1::{
    EnquiryReceivedNotice, EnquiryRejectedNotice, EnquiryWithdrawnNotice, UnschedulableNotice,
};
use contract::proto::enquiry::v1::{
    EnquiryReceived, EnquiryRejected, EnquiryWithdrawn, RejectionCode,
};
use contract::proto::notification::v1::Notice as NoticeKind;
use contract::proto::workshop::v1::WorkshopUnschedulable;
use messaging::HandlerError;
use sqlx::PgConnection;
use tracing::debug;

pub(super) async fn received(
    tx: &mut PgConnection,
    event: EnquiryReceived,
    cause: &Cause,
    body: &[u8],
) -> Result<(), HandlerError> {
    store::put_enquiry(
        tx,
        &store::Enquiry {
            enquiry_id: event.enquiry_id.clone(),
            city: event.city.clone(),
            reference: event.reference.clone(),
            time_zone: event.time_zone.clone(),
        },
    )
    .await?;
    let about = enquiry_about(&event.enquiry_id);
    let notice = EnquiryReceivedNotice {
        reference: event.reference.clone(),
        enquiry_id: event.enquiry_id.clone(),
        priority: event.priority,
    };
    let feed = outgoing::city_feed(
        cause,
        &event.city,
        "enquiry.received",
        &event.enquiry_id,
        NoticeKind::EnquiryReceived,
        &about,
        &notice,
    );
    schedule(tx, &feed.into_iter().collect::<Vec<_>>()).await?;
    let key = ContactKey::Enquiry(event.enquiry_id.clone());
    email_when_contact_known(tx, &key, EnquiryReceived::TYPE, body, cause).await
}

pub(super) async fn rejected(
    tx: &mut PgConnection,
    event: EnquiryRejected,
    cause: &Cause,
    body: &[u8],
) -> Result<(), HandlerError> {
    // A city the programme does not know has no feed to write to.
    let unknown_city = event
        .reasons
        .iter()
        .any(|r| r.code() == RejectionCode::UnknownCity);
    if !event.city.is_empty() && !unknown_city {
        let notice = EnquiryRejectedNotice {
            reference: event.reference.clone(),
            inbound_id: event.inbound_id.clone(),
            reasons: event.reasons.clone(),
        };
        let feed = outgoing::city_feed(
            cause,
            &event.city,
            "enquiry.rejected",
            &event.inbound_id,
            NoticeKind::EnquiryRejected,
            &About::default(),
            &notice,
        );
        schedule(tx, &feed.into_iter().collect::<Vec<_>>()).await?;
    }
    if event.inbound_id.is_empty() {
        return Ok(());
    }
    let key = ContactKey::Inbound(event.inbound_id.clone());
    email_when_contact_known(tx, &key, EnquiryRejected::TYPE, body, cause).await
}

pub(super) async fn withdrawn(
    tx: &mut PgConnection,
    event: EnquiryWithdrawn,
    cause: &Cause,
    body: &[u8],
) -> Result<(), HandlerError> {
    let about = enquiry_about(&event.enquiry_id);
    let notice = EnquiryWithdrawnNotice {
        reference: event.reference.clone(),
        enquiry_id: event.enquiry_id.clone(),
    };
    let deliveries: Vec<_> = outgoing::city_feed(
        cause,
        &event.city,
        "enquiry.withdrawn",
        &event.enquiry_id,
        NoticeKind::EnquiryWithdrawn,
        &about,
        &notice,
    )
    .into_iter()
    .collect();
    schedule(tx, &deliveries).await?;
    let key = ContactKey::Enquiry(event.enquiry_id.clone());
    email_when_contact_known(tx, &key, EnquiryWithdrawn::TYPE, body, cause).await
}

pub(super) async fn unschedulable(
    tx: &mut PgConnection,
    event: WorkshopUnschedulable,
    cause: &Cause,
    body: &[u8],
) -> Result<(), HandlerError> {
    let Some(enquiry) = store::enquiry(tx, &event.enquiry_id).await? else {
        // Scheduling only plans enquiries intake accepted, whose `received`
        // comes first on the stream; wait for it rather than lose this.
        return Err(HandlerError::Retryable(
            format!(
                "unschedulable for enquiry {} not seen yet",
                event.enquiry_id
            )
            .into(),
        ));
    };
    let about = enquiry_about(&event.enquiry_id);
    let feed_notice = UnschedulableNotice {
        reference: enquiry.reference.clone(),
        enquiry_id: event.enquiry_id.clone(),
        reason_code: event.reason_code.clone(),
        advice: crate::domain::advice_for(&event.reason_code).to_owned(),
    };
    let deliveries: Vec<_> = outgoing::city_feed(
        cause,
        &enquiry.city,
        "enquiry.unschedulable",
        &event.enquiry_id,
        NoticeKind::EnquiryUnschedulable,
        &about,
        &feed_notice,
    )
    .into_iter()
    .collect();
    schedule(tx, &deliveries).await?;
    let key = ContactKey::Enquiry(event.enquiry_id.clone());
    email_when_contact_known(tx, &key, WorkshopUnschedulable::TYPE, body, cause).await
}

/// Schedules the email of an enquiry-level notice if its contact is known,
/// else leaves the cause to wait for it.
async fn email_when_contact_known(
    tx: &mut PgConnection,
    key: &ContactKey,
    cause_type: &str,
    body: &[u8],
    cause: &Cause,
) -> Result<(), HandlerError> {
    key.lock(tx).await?;
    match store::contact(tx, key).await? {
        Some(contact) => email_for_cause(tx, cause_type, body, cause, &contact).await,
        None => {
            debug!(key = %key.as_text(), "email waits for the contact");
            let waiting = AwaitingCause {
                cause_event_id: cause.event_id.clone(),
                cause_type: cause_type.to_owned(),
                cause_body: body.to_vec(),
                traceparent: cause.traceparent.clone(),
                tracestate: cause.tracestate.clone(),
            };
            store::await_contact(tx, key, &waiting).await?;
            Ok(())
        }
    }
}

/// Schedules the email a waiting (or just handled) cause calls for, now
/// that its contact is known.
pub(super) async fn email_for_cause(
    tx: &mut PgConnection,
    cause_type: &str,
    body: &[u8],
    cause: &Cause,
    contact: &Contact,
) -> Result<(), HandlerError> {
    let (notice, about, time_zone) = match cause_type {
        EnquiryReceived::TYPE => {
            let event: EnquiryReceived = parse(body)?;
            (
                received_notice(&event),
                enquiry_about(&event.enquiry_id),
                zone(&event.time_zone),
            )
        }
        EnquiryRejected::TYPE => {
            let event: EnquiryRejected = parse(body)?;
            let notice = Notice::Rejected {
                reference: Some(event.reference.clone()).filter(|r| !r.is_empty()),
                reasons: event
                    .reasons
                    .iter()
                    .map(|r| Reason {
                        code: r.code().as_str_name().to_owned(),
                        field: r.field.clone(),
                        message: r.message.clone(),
                    })
                    .collect(),
            };
            (
                notice,
                About::default(),
                city_zone(tx, &contact.city).await?,
            )
        }
        EnquiryWithdrawn::TYPE => {
            let event: EnquiryWithdrawn = parse(body)?;
            let notice = Notice::Withdrawn {
                reference: event.reference.clone(),
                enquiry_id: event.enquiry_id.clone(),
            };
            (
                notice,
                enquiry_about(&event.enquiry_id),
                city_zone(tx, &contact.city).await?,
            )
        }
        WorkshopUnschedulable::TYPE => {
            let event: WorkshopUnschedulable = parse(body)?;
            let notice = Notice::Unschedulable {
                reference: contact.reference.clone(),
                enquiry_id: event.enquiry_id.clone(),
                reason_code: event.reason_code.clone(),
            };
            (
                notice,
                enquiry_about(&event.enquiry_id),
                city_zone(tx, &contact.city).await?,
            )
        }
        other => {
            return Err(HandlerError::permanent(format!(
                "no email waits on a contact for {other}"
            )));
        }
    };
    let email = outgoing::city_email(cause, &contact.city, contact, time_zone, &notice, &about);
    schedule(tx, &[email]).await
}

fn received_notice(event: &EnquiryReceived) -> Notice {
    let date = |text: Option<&str>| {
        text.and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
            .unwrap_or_default()
    };
    let window = event.preferred_window.as_ref();
    Notice::Received {
        reference: event.reference.clone(),
        enquiry_id: event.enquiry_id.clone(),
        kind: event.kind(),
        topics: event.topics().collect(),
        window_start: date(window.map(|w| w.start.as_str())),
        window_end: date(window.map(|w| w.end.as_str())),
        priority: event.priority,
    }
}

fn enquiry_about(enquiry_id: &str) -> About {
    About {
        enquiry_id: Some(enquiry_id.to_owned()),
        ..About::default()
    }
}

/// A city's zone as its enquiries gave it; UTC for a city never accepted.
async fn city_zone(tx: &mut PgConnection, city: &str) -> Result<Tz, sqlx::Error> {
    Ok(store::city_time_zone(tx, city)
        .await?
        .map_or(Tz::UTC, |name| zone(&name)))
}
