//! Notices about workshops: confirmed (once staffed, and again when dates or
//! people change), rescheduled, cancelled, and the reminders before them.
//!
//! Notifications keeps its own copy of each workshop: the latest version
//! scheduling announced, and what it last confirmed. A confirmation is sent
//! when `assignment.made` arrives for the stored version and tells other
//! dates or people than the last one. Rescheduled and cancelled go to those
//! who were told the workshop would happen (the last confirmation's cities
//! and experts); before any confirmation nobody was promised anything.

use super::schedule;
use crate::domain::{ExpertOnWorkshop, Notice, Session, WorkshopSummary};
use crate::outgoing::{self, About, Cause, zone};
use crate::store::{
    self, CityPart, Confirmed, ContactKey, ExpertPart, NewDelivery, SessionRow, WorkshopRow,
};
use chrono::{DateTime, Duration, Utc};
use contract::proto::assignment::v1::{AssignmentMade, ExpertRole};
use contract::proto::cityfeed::v1::{
    ReminderNotice, WorkshopCancelledNotice, WorkshopConfirmedNotice, WorkshopRescheduledNotice,
};
use contract::proto::common::v1::{EnquiryKind, Format, Topic};
use contract::proto::workshop::v1::{WorkshopCancelled, WorkshopRescheduled, WorkshopScheduled};
use messaging::HandlerError;
use sqlx::PgConnection;
use tracing::{debug, info};

pub(super) async fn scheduled(
    tx: &mut PgConnection,
    event: WorkshopScheduled,
) -> Result<(), HandlerError> {
    let row = WorkshopRow {
        workshop_id: event.workshop_id.clone(),
        version: version(event.version)?,
        cancelled: false,
        kind: event.kind().as_str_name().to_owned(),
        format: event.format().as_str_name().to_owned(),
        primary_topic: event.primary_topic().as_str_name().to_owned(),
        host_city: Some(event.host_city.clone()).filter(|h| !h.is_empty()),
        sessions: sessions(&event.sessions)?,
        cities: event
            .cities
            .iter()
            .map(|c| CityPart {
                city: c.city.clone(),
                enquiry_id: c.enquiry_id.clone(),
                participants: c.participants,
            })
            .collect(),
        confirmed: None,
    };
    if !store::put_workshop(tx, &row).await? {
        debug!(workshop = %row.workshop_id, version = row.version, "stale scheduled version ignored");
    }
    // Nothing is told yet: the confirmation waits for the experts.
    Ok(())
}

pub(super) async fn rescheduled(
    tx: &mut PgConnection,
    event: WorkshopRescheduled,
    cause: &Cause,
) -> Result<(), HandlerError> {
    let version = version(event.version)?;
    let Some(mut row) = locked_workshop(tx, &event.workshop_id, "rescheduled").await? else {
        return Ok(());
    };
    if row.version >= version || row.cancelled {
        debug!(workshop = %row.workshop_id, version, "stale rescheduled version ignored");
        return Ok(());
    }
    row.version = version;
    row.sessions = sessions(&event.sessions)?;
    store::move_workshop(tx, &row.workshop_id, version, &row.sessions).await?;
    // The old dates' reminders would be wrong; the next confirmation sets new ones.
    store::cancel_reminders(tx, &row.workshop_id).await?;
    let reason = &event.reason;
    let told = tell_those_confirmed(
        tx,
        cause,
        &row,
        "workshop.rescheduled",
        |workshop, reference| Notice::Rescheduled {
            workshop,
            reason: reason.clone(),
            reference,
        },
        |city, summary| WorkshopRescheduledNotice {
            reference: city.reference.clone(),
            workshop_id: summary.workshop_id.clone(),
            version: summary.version,
            sessions: outgoing::local_sessions(&summary.sessions, city.zone()),
            reason: reason.clone(),
        },
    )
    .await?;
    info!(workshop = %row.workshop_id, version, notices = told, "workshop rescheduled");
    Ok(())
}

pub(super) async fn cancelled(
    tx: &mut PgConnection,
    event: WorkshopCancelled,
    cause: &Cause,
) -> Result<(), HandlerError> {
    let version = version(event.version)?;
    let Some(row) = store::lock_workshop(tx, &event.workshop_id).await? else {
        // Cancelled before notifications saw it scheduled: nobody was told.
        return Ok(());
    };
    if row.cancelled || row.version > version {
        debug!(workshop = %row.workshop_id, version, "stale cancellation ignored");
        return Ok(());
    }
    store::cancel_workshop(tx, &row.workshop_id, version).await?;
    let reminders = store::cancel_reminders(tx, &row.workshop_id).await?;
    let reason = &event.reason;
    let told = tell_those_confirmed(
        tx,
        cause,
        &row,
        "workshop.cancelled",
        |workshop, reference| Notice::Cancelled {
            workshop,
            reason: reason.clone(),
            reference,
        },
        |city, summary| WorkshopCancelledNotice {
            reference: city.reference.clone(),
            workshop_id: summary.workshop_id.clone(),
            reason: reason.clone(),
        },
    )
    .await?;
    info!(workshop = %row.workshop_id, version, reminders, notices = told, "workshop cancelled");
    Ok(())
}

/// Tells a change to those the last confirmation told: each city (email
/// and feed) and each expert (email). Before any confirmation nobody was
/// promised anything, and nobody is told. Returns how many deliveries.
async fn tell_those_confirmed<E: contract::CloudEvent>(
    tx: &mut PgConnection,
    cause: &Cause,
    row: &WorkshopRow,
    feed_what: &str,
    notice: impl Fn(WorkshopSummary, Option<String>) -> Notice,
    feed: impl Fn(&CityTarget, &WorkshopSummary) -> E,
) -> Result<usize, HandlerError> {
    let Some(confirmed) = &row.confirmed else {
        return Ok(0);
    };
    let summary = summary(row, &confirmed.experts);
    let about = workshop_about(row);
    let mut deliveries = Vec::new();
    for part in &confirmed.cities {
        let Some(city) = CityTarget::load(tx, part).await? else {
            continue;
        };
        let city_notice = notice(summary.clone(), Some(city.reference.clone()));
        let message = feed(&city, &summary);
        city.deliveries(
            cause,
            &city_notice,
            feed_what,
            &about,
            &message,
            &mut deliveries,
        );
    }
    let expert_notice = |_: &ExpertPart| notice(summary.clone(), None);
    expert_emails(
        tx,
        cause,
        &confirmed.experts,
        expert_notice,
        &about,
        &mut deliveries,
    )
    .await?;
    schedule(tx, &deliveries).await?;
    Ok(deliveries.len())
}

pub(super) async fn made(
    tx: &mut PgConnection,
    event: AssignmentMade,
    cause: &Cause,
    reminder_days: &[u32],
) -> Result<(), HandlerError> {
    let version = version(event.workshop_version)?;
    let Some(row) = locked_workshop(tx, &event.workshop_id, "staffed").await? else {
        return Ok(());
    };
    if row.cancelled || row.version > version {
        debug!(workshop = %row.workshop_id, version, "experts for an older version ignored");
        return Ok(());
    }
    if row.version < version {
        return Err(HandlerError::Retryable(
            format!(
                "workshop {} staffed at v{version} before notifications saw that version",
                row.workshop_id
            )
            .into(),
        ));
    }
    let experts: Vec<ExpertPart> = event
        .experts
        .iter()
        .map(|e| ExpertPart {
            expert_id: e.expert_id.clone(),
            display_name: e.display_name.clone(),
            role: e.role().as_str_name().to_owned(),
        })
        .collect();
    let confirmed = Confirmed {
        version,
        sessions: row.sessions.clone(),
        cities: row.cities.clone(),
        experts,
    };
    if row
        .confirmed
        .as_ref()
        .is_some_and(|c| c.same_as(&confirmed))
    {
        debug!(workshop = %row.workshop_id, version, "same dates and people: nothing new to confirm");
        store::set_confirmed(tx, &row.workshop_id, &confirmed).await?;
        return Ok(());
    }
    store::set_confirmed(tx, &row.workshop_id, &confirmed).await?;
    store::cancel_reminders(tx, &row.workshop_id).await?;

    let summary = summary(&row, &confirmed.experts);
    let about = workshop_about(&row);
    let mut deliveries = Vec::new();
    let first_start = summary.sessions.iter().map(|s| s.start).min();
    let reminders: Vec<(u32, Cause)> = first_start
        .map(|start| reminder_causes(cause, start, reminder_days))
        .unwrap_or_default();
    for part in &confirmed.cities {
        let Some(city) = CityTarget::load(tx, part).await? else {
            continue;
        };
        let notice = Notice::Confirmed {
            workshop: summary.clone(),
            reference: Some(city.reference.clone()),
        };
        let feed = WorkshopConfirmedNotice {
            reference: city.reference.clone(),
            enquiry_id: part.enquiry_id.clone(),
            workshop_id: row.workshop_id.clone(),
            version: event.workshop_version,
            kind: summary.kind.into(),
            format: summary.format.into(),
            host_city: row.host_city.clone().unwrap_or_default(),
            sessions: outgoing::local_sessions(&summary.sessions, city.zone()),
            experts: event.experts.clone(),
            cities: confirmed.cities.iter().map(|c| c.city.clone()).collect(),
        };
        city.deliveries(
            cause,
            &notice,
            "workshop.confirmed",
            &about,
            &feed,
            &mut deliveries,
        );
        for (days, reminder) in &reminders {
            let notice = Notice::Reminder {
                workshop: summary.clone(),
                days_before: *days,
                reference: Some(city.reference.clone()),
            };
            let feed = ReminderNotice {
                reference: city.reference.clone(),
                workshop_id: row.workshop_id.clone(),
                days_before: *days,
                sessions: outgoing::local_sessions(&summary.sessions, city.zone()),
            };
            city.deliveries(
                reminder,
                &notice,
                "workshop.reminder",
                &about,
                &feed,
                &mut deliveries,
            );
        }
    }
    let confirmation = |_: &ExpertPart| Notice::Confirmed {
        workshop: summary.clone(),
        reference: None,
    };
    expert_emails(
        tx,
        cause,
        &confirmed.experts,
        confirmation,
        &about,
        &mut deliveries,
    )
    .await?;
    for (days, reminder) in &reminders {
        let notice = |_: &ExpertPart| Notice::Reminder {
            workshop: summary.clone(),
            days_before: *days,
            reference: None,
        };
        expert_emails(
            tx,
            reminder,
            &confirmed.experts,
            notice,
            &about,
            &mut deliveries,
        )
        .await?;
    }
    info!(workshop = %row.workshop_id, version, notices = deliveries.len(), "workshop confirmed");
    schedule(tx, &deliveries).await
}

/// One cause per reminder still ahead: `days` before the first session.
fn reminder_causes(cause: &Cause, first_start: DateTime<Utc>, days: &[u32]) -> Vec<(u32, Cause)> {
    days.iter()
        .filter_map(|&d| {
            let due = first_start - Duration::days(i64::from(d));
            (due > Utc::now()).then(|| (d, cause.derived(&format!("reminder-{d}"), due)))
        })
        .collect()
}

/// The stored workshop, or a retry when its `scheduled` has not been seen
/// (it comes first on the stream, so it is being retried).
async fn locked_workshop(
    tx: &mut PgConnection,
    workshop_id: &str,
    what: &str,
) -> Result<Option<WorkshopRow>, HandlerError> {
    match store::lock_workshop(tx, workshop_id).await? {
        Some(row) => Ok(Some(row)),
        None => Err(HandlerError::Retryable(
            format!("workshop {workshop_id} {what} before notifications saw it scheduled").into(),
        )),
    }
}

/// A participating city, ready to be written to.
struct CityTarget {
    city: String,
    enquiry_id: String,
    reference: String,
    time_zone: String,
    contact: store::Contact,
}

impl CityTarget {
    /// `None` for an enquiry notifications never saw accepted (nothing can
    /// name it to the city). Its contact travels on another stream: if it
    /// has not arrived yet, the event is retried rather than the email lost
    /// (intake sends a contact with every accepted enquiry).
    async fn load(tx: &mut PgConnection, part: &CityPart) -> Result<Option<Self>, HandlerError> {
        let Some(enquiry) = store::enquiry(tx, &part.enquiry_id).await? else {
            return Ok(None);
        };
        let key = ContactKey::Enquiry(part.enquiry_id.clone());
        let Some(contact) = store::contact(tx, &key).await? else {
            return Err(HandlerError::Retryable(
                format!(
                    "the contact of enquiry {} has not arrived yet",
                    part.enquiry_id
                )
                .into(),
            ));
        };
        Ok(Some(Self {
            city: part.city.clone(),
            enquiry_id: part.enquiry_id.clone(),
            reference: enquiry.reference,
            time_zone: enquiry.time_zone,
            contact,
        }))
    }

    fn zone(&self) -> chrono_tz::Tz {
        zone(&self.time_zone)
    }

    /// The city's email and feed notice for `notice`.
    fn deliveries<E: contract::CloudEvent>(
        &self,
        cause: &Cause,
        notice: &Notice,
        feed_what: &str,
        about: &About,
        feed: &E,
        out: &mut Vec<NewDelivery>,
    ) {
        let about = About {
            enquiry_id: Some(self.enquiry_id.clone()),
            ..about.clone()
        };
        out.push(outgoing::city_email(
            cause,
            &self.city,
            &self.contact,
            self.zone(),
            notice,
            &about,
        ));
        out.extend(outgoing::city_feed(
            cause,
            &self.city,
            feed_what,
            about.workshop_id.as_deref().unwrap_or_default(),
            outgoing::notice_kind(notice),
            &about,
            feed,
        ));
    }
}

/// An email to each expert, in their own language and zone. An expert whose
/// address has not arrived yet (assignment sends it with the roster, on
/// another stream) makes the event wait and be retried.
async fn expert_emails(
    tx: &mut PgConnection,
    cause: &Cause,
    experts: &[ExpertPart],
    notice: impl Fn(&ExpertPart) -> Notice,
    about: &About,
    out: &mut Vec<NewDelivery>,
) -> Result<(), HandlerError> {
    for part in experts {
        let Some(contact) = store::expert(tx, &part.expert_id).await? else {
            return Err(HandlerError::Retryable(
                format!(
                    "the address of expert {} has not arrived yet",
                    part.expert_id
                )
                .into(),
            ));
        };
        out.push(outgoing::expert_email(
            cause,
            &contact,
            ExpertRole::from_str_name(&part.role),
            &notice(part),
            about,
        ));
    }
    Ok(())
}

fn summary(row: &WorkshopRow, experts: &[ExpertPart]) -> WorkshopSummary {
    WorkshopSummary {
        workshop_id: row.workshop_id.clone(),
        version: u32::try_from(row.version).unwrap_or_default(),
        kind: EnquiryKind::from_str_name(&row.kind).unwrap_or_default(),
        format: Format::from_str_name(&row.format).unwrap_or_default(),
        primary_topic: Topic::from_str_name(&row.primary_topic).unwrap_or_default(),
        host_city: row.host_city.clone(),
        sessions: row
            .sessions
            .iter()
            .map(|s| Session {
                start: s.start,
                end: s.end,
            })
            .collect(),
        cities: row.cities.iter().map(|c| c.city.clone()).collect(),
        experts: experts
            .iter()
            .map(|e| ExpertOnWorkshop {
                display_name: e.display_name.clone(),
                role: ExpertRole::from_str_name(&e.role).unwrap_or_default(),
            })
            .collect(),
    }
}

fn workshop_about(row: &WorkshopRow) -> About {
    About {
        enquiry_id: None,
        workshop_id: Some(row.workshop_id.clone()),
        workshop_version: Some(row.version),
    }
}

fn version(raw: u32) -> Result<i32, HandlerError> {
    i32::try_from(raw).map_err(|_| HandlerError::permanent(format!("version {raw} is too large")))
}

fn sessions(
    sessions: &[contract::proto::common::v1::Session],
) -> Result<Vec<SessionRow>, HandlerError> {
    let instant = |t: Option<&pbjson_types::Timestamp>| {
        t.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?))
            .ok_or_else(|| HandlerError::permanent("a session without a valid start or end"))
    };
    sessions
        .iter()
        .map(|s| {
            Ok(SessionRow {
                start: instant(s.start.as_ref())?,
                end: instant(s.end.as_ref())?,
            })
        })
        .collect()
}
