//! Workshop event in, transaction, assignment events out.
//!
//! Each `ileaps.events.workshop.*` message is judged against assignment's
//! copy of the workshop: a version at or below the stored one is stale and
//! acked without effect. A new version is stored, then staffed: the store
//! gives the matcher ([`crate::domain::staff`]) the workshop's current
//! experts, the roster, the other workshops' holds that overlap the need's
//! period or count in its month, and who has worked with whom; its answer
//! is written back (releases, then kept holds moved to the new period, then
//! new holds) and announced through the outbox, in the consumer's
//! transaction.
//!
//! Two replicas may pick the same expert for overlapping workshops: each
//! reads only committed holds. The database's exclusion constraint lets one
//! insert through; the other fails with SQLSTATE 23P01, which
//! `HandlerError::from(sqlx::Error)` makes retryable, so the message is
//! rolled back to its savepoint, NAKed and handled again, when the matcher
//! sees the winner's hold and picks someone else (or reports the workshop
//! unfilled).

use crate::domain::{
    Commitment, ExpertId, Need, Outcome, Rules, Staffing, month_of, staff_proposed,
};
use crate::store::{self, WorkshopRow};
use chrono::{DateTime, Utc};
use contract::proto::assignment::v1::ExpertRole;
use contract::proto::assignment::v1::{
    AssignedExpert, AssignmentMade, AssignmentReleased, AssignmentUnfilled,
};
use contract::proto::common::v1::{EnquiryKind, Format, Session, Topic};
use contract::proto::workshop::v1::{
    ProposedExpert, WorkshopCancelled, WorkshopRescheduled, WorkshopScheduled,
    WorkshopUnschedulable,
};
use contract::{CloudEvent, Service, subjects};
use messaging::{Delivery, Handler, HandlerError, Outbox, OutgoingMessage};
use sqlx::PgConnection;
use std::collections::BTreeMap;
use tracing::{debug, info};

/// Why experts were released, in `assignment.released`'s `reason`.
pub const RELEASED_CANCELLED: &str = "WORKSHOP_CANCELLED";
/// A new version no longer fits them, or no longer needs their role.
pub const RELEASED_RESTAFFED: &str = "NO_LONGER_FITS";

/// Consumes `ileaps.events.workshop.>`.
#[derive(Debug, Clone)]
pub struct AssignmentHandler {
    outbox: Outbox,
    rules: Rules,
}

impl AssignmentHandler {
    pub fn new(outbox: Outbox, rules: Rules) -> Self {
        Self { outbox, rules }
    }

    async fn scheduled(
        &self,
        tx: &mut PgConnection,
        event: WorkshopScheduled,
    ) -> Result<(), HandlerError> {
        let row = workshop_row(&event)?;
        if !store::put_workshop(tx, &row).await? {
            debug!(workshop = %row.id, version = row.version, "stale scheduled version ignored");
            return Ok(());
        }
        self.staff(tx, &row, &proposal(&event.proposed_team)).await
    }

    async fn rescheduled(
        &self,
        tx: &mut PgConnection,
        event: WorkshopRescheduled,
    ) -> Result<(), HandlerError> {
        let version = version(event.version)?;
        let Some(mut row) = store::lock_workshop(tx, &event.workshop_id).await? else {
            // A move of a workshop whose `scheduled` has not been handled
            // yet (it is being retried): wait for it rather than lose this.
            return Err(HandlerError::Retryable(
                format!(
                    "workshop {} rescheduled (v{version}) before assignment saw it scheduled",
                    event.workshop_id
                )
                .into(),
            ));
        };
        if row.version >= version || row.status == store::CANCELLED {
            debug!(workshop = %row.id, version, stored = row.version, "stale rescheduled version ignored");
            return Ok(());
        }
        let (starts, ends) = sessions(&event.sessions)?;
        store::reschedule_workshop(tx, &row.id, version, &starts, &ends).await?;
        row.version = version;
        row.session_starts = starts;
        row.session_ends = ends;
        self.staff(tx, &row, &proposal(&event.proposed_team)).await
    }

    async fn cancelled(
        &self,
        tx: &mut PgConnection,
        event: WorkshopCancelled,
    ) -> Result<(), HandlerError> {
        let version = version(event.version)?;
        // A cancellation may carry the version it cancels (scheduling need
        // not bump it to cancel), so only an older one, or a second
        // cancellation, is stale.
        if let Some(row) = store::lock_workshop(tx, &event.workshop_id).await?
            && (row.version > version || row.status == store::CANCELLED)
        {
            debug!(workshop = %row.id, version, stored = row.version, "stale cancellation ignored");
            return Ok(());
        }
        store::cancel_workshop(tx, &event.workshop_id, version).await?;
        let released = store::release(tx, &event.workshop_id, None, version).await?;
        info!(workshop = %event.workshop_id, version, released = released.len(), "workshop cancelled");
        if !released.is_empty() {
            self.emit_released(
                tx,
                &event.workshop_id,
                version,
                released,
                RELEASED_CANCELLED,
            )
            .await?;
            self.emit_holds(tx, &event.workshop_id).await?;
        }
        Ok(())
    }

    /// Staffs the stored version `row`, judging the team scheduling
    /// proposed for it, and announces the result.
    async fn staff(
        &self,
        tx: &mut PgConnection,
        row: &WorkshopRow,
        proposal: &[(ExpertId, ExpertRole)],
    ) -> Result<(), HandlerError> {
        let need = need_of(row);
        let period = self.rules.period_of(&need);
        let month = month_of(&need);
        let current = store::current_assignments(tx, &row.id).await?;
        let experts = store::load_roster(tx).await?;
        let commitments = store::commitments(tx, &row.id, period, month).await?;
        let ids: Vec<String> = experts.iter().map(|e| e.id.as_str().to_owned()).collect();
        let worked_with = store::worked_with(tx, &ids).await?;

        let staffing = staff_proposed(
            &need,
            &current,
            proposal,
            &experts,
            &commitments,
            &worked_with,
            &self.rules,
        );
        if !proposal.is_empty() {
            let assigned = staffing.assigned();
            let declined: Vec<String> = proposal
                .iter()
                .filter(|p| !assigned.contains(p))
                .map(|(id, role)| format!("{id}:{}", role.as_str_name()))
                .collect();
            if !declined.is_empty() {
                info!(workshop = %row.id, version = row.version, ?declined, "proposed experts not taken");
            }
        }
        self.apply(tx, row, &need, &staffing).await?;

        let released: Vec<String> = staffing
            .release
            .iter()
            .map(|id| id.as_str().to_owned())
            .collect();
        if !released.is_empty() {
            self.emit_released(tx, &row.id, row.version, released, RELEASED_RESTAFFED)
                .await?;
        }
        match &staffing.outcome {
            Outcome::Staffed => {
                let names: BTreeMap<&ExpertId, &str> = experts
                    .iter()
                    .map(|e| (&e.id, e.display_name.as_str()))
                    .collect();
                let assigned = staffing.assigned();
                let made = AssignmentMade {
                    workshop_id: row.id.clone(),
                    workshop_version: need.version,
                    experts: assigned
                        .iter()
                        .map(|(id, role)| AssignedExpert {
                            expert_id: id.as_str().to_owned(),
                            display_name: names.get(id).copied().unwrap_or_default().to_owned(),
                            role: (*role).into(),
                        })
                        .collect(),
                };
                info!(
                    workshop = %row.id,
                    version = row.version,
                    experts = ?assigned.iter().map(|(id, role)| format!("{id}:{}", role.as_str_name())).collect::<Vec<_>>(),
                    "workshop staffed"
                );
                self.emit(tx, subjects::ASSIGNMENT_MADE, &row.id, &made)
                    .await?;
            }
            Outcome::Unfilled { code, detail } => {
                info!(workshop = %row.id, version = row.version, %code, "workshop unfilled");
                let unfilled = AssignmentUnfilled {
                    workshop_id: row.id.clone(),
                    workshop_version: need.version,
                    reason_code: code.as_str().to_owned(),
                    detail: detail.clone(),
                };
                self.emit(tx, subjects::ASSIGNMENT_UNFILLED, &row.id, &unfilled)
                    .await?;
            }
        }
        // Holds were kept (moved to this version's period), made or
        // released; with none before and none now, nothing changed.
        if !current.is_empty() || staffing.is_staffed() {
            self.emit_holds(tx, &row.id).await?;
        }
        Ok(())
    }

    /// The workshop's live holds, whole, for scheduling's read model
    /// (`ileaps.internal.roster.holds`), under a new revision.
    async fn emit_holds(
        &self,
        tx: &mut PgConnection,
        workshop_id: &str,
    ) -> Result<(), sqlx::Error> {
        if let Some(holds) = store::next_holds(tx, workshop_id).await? {
            self.outbox
                .enqueue(tx, crate::admin::holds_message(&holds))
                .await?;
        }
        Ok(())
    }

    /// Writes the staffing: releases first (freeing their periods), then
    /// kept holds moved to the new version's period, then new holds. A hold
    /// that another transaction took first fails here with 23P01.
    async fn apply(
        &self,
        tx: &mut PgConnection,
        row: &WorkshopRow,
        need: &Need,
        staffing: &Staffing,
    ) -> Result<(), sqlx::Error> {
        if !staffing.release.is_empty() {
            let ids: Vec<String> = staffing
                .release
                .iter()
                .map(|id| id.as_str().to_owned())
                .collect();
            store::release(tx, &row.id, Some(&ids), row.version).await?;
        }
        let holds = staffing
            .keep
            .iter()
            .map(|c| (&c.expert_id, c.role))
            .chain(staffing.add.iter().map(|(id, role)| (id, *role)));
        for (expert_id, role) in holds {
            let commitment = Commitment::for_need(need, expert_id.clone(), &self.rules);
            store::hold(tx, &row.id, expert_id, role, row.version, &commitment).await?;
        }
        if staffing.is_staffed() {
            let ids: Vec<String> = staffing
                .assigned()
                .iter()
                .map(|(id, _)| id.as_str().to_owned())
                .collect();
            store::record_worked_with(tx, &ids, &row.cities, &row.id).await?;
        }
        Ok(())
    }

    async fn emit_released(
        &self,
        tx: &mut PgConnection,
        workshop_id: &str,
        version: i32,
        expert_ids: Vec<String>,
        reason: &str,
    ) -> Result<(), sqlx::Error> {
        info!(workshop = %workshop_id, version, experts = ?expert_ids, reason, "experts released");
        let released = AssignmentReleased {
            workshop_id: workshop_id.to_owned(),
            workshop_version: u32::try_from(version).unwrap_or_default(),
            expert_ids,
            reason: reason.to_owned(),
        };
        self.emit(tx, subjects::ASSIGNMENT_RELEASED, workshop_id, &released)
            .await
    }

    async fn emit<E: CloudEvent>(
        &self,
        tx: &mut PgConnection,
        subject: &str,
        workshop_id: &str,
        body: &E,
    ) -> Result<(), sqlx::Error> {
        self.outbox
            .enqueue(
                tx,
                OutgoingMessage::event(Service::Assignment, subject, workshop_id, body),
            )
            .await
    }
}

impl Handler for AssignmentHandler {
    async fn handle(&self, tx: &mut PgConnection, delivery: &Delivery) -> Result<(), HandlerError> {
        let envelope = delivery
            .envelope
            .as_ref()
            .map_err(|e| HandlerError::permanent(format!("not a CloudEvent: {e}")))?;
        let body = &delivery.payload;
        match envelope.event_type.as_str() {
            WorkshopScheduled::TYPE => self.scheduled(tx, parse(body)?).await,
            WorkshopRescheduled::TYPE => self.rescheduled(tx, parse(body)?).await,
            WorkshopCancelled::TYPE => self.cancelled(tx, parse(body)?).await,
            // Scheduling's business: nothing was held for a workshop that
            // never got dates.
            WorkshopUnschedulable::TYPE => Ok(()),
            other => Err(HandlerError::permanent(format!(
                "assignment does not handle ce-type {other:?} on {}",
                delivery.subject
            ))),
        }
    }

    fn committed(&self) {
        self.outbox.wake_relay();
    }
}

/// The proposed team as the matcher reads it. An entry whose id is no
/// expert id cannot qualify, so it is left out here; its role is judged by
/// the matcher.
fn proposal(team: &[ProposedExpert]) -> Vec<(ExpertId, ExpertRole)> {
    team.iter()
        .filter_map(|p| Some((ExpertId::parse(&p.expert_id).ok()?, p.role())))
        .collect()
}

fn parse<E: CloudEvent>(body: &[u8]) -> Result<E, HandlerError> {
    E::from_json(body).map_err(|e| HandlerError::permanent(format!("malformed {}: {e}", E::TYPE)))
}

fn version(raw: u32) -> Result<i32, HandlerError> {
    i32::try_from(raw).map_err(|_| HandlerError::permanent(format!("version {raw} is too large")))
}

/// Session starts and ends as parallel columns, in UTC.
type Columns = (Vec<DateTime<Utc>>, Vec<DateTime<Utc>>);

/// Sessions as parallel start and end columns, in UTC.
fn sessions(sessions: &[Session]) -> Result<Columns, HandlerError> {
    let instant = |t: Option<&pbjson_types::Timestamp>, what: &str| {
        t.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?))
            .ok_or_else(|| HandlerError::permanent(format!("a session has no valid {what}")))
    };
    let mut starts = Vec::with_capacity(sessions.len());
    let mut ends = Vec::with_capacity(sessions.len());
    for session in sessions {
        let start = instant(session.start.as_ref(), "start")?;
        let end = instant(session.end.as_ref(), "end")?;
        if end < start {
            return Err(HandlerError::permanent(format!(
                "a session ends ({end}) before it starts ({start})"
            )));
        }
        starts.push(start);
        ends.push(end);
    }
    Ok((starts, ends))
}

/// The stored copy of a `scheduled` event.
fn workshop_row(event: &WorkshopScheduled) -> Result<WorkshopRow, HandlerError> {
    let (session_starts, session_ends) = sessions(&event.sessions)?;
    // The primary topic first, then the others in the event's order.
    let primary = event.primary_topic();
    let mut topics: Vec<Topic> = Vec::new();
    for topic in std::iter::once(primary).chain(event.topics()) {
        if topic != Topic::Unspecified && !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    let participants: u32 = event.cities.iter().map(|c| c.participants).sum();
    Ok(WorkshopRow {
        id: event.workshop_id.clone(),
        version: version(event.version)?,
        status: store::ACTIVE.to_owned(),
        kind: event.kind().as_str_name().to_owned(),
        format: event.format().as_str_name().to_owned(),
        topics: topics.iter().map(|t| t.as_str_name().to_owned()).collect(),
        languages: event.languages.clone(),
        cities: event.cities.iter().map(|c| c.city.clone()).collect(),
        participants: i32::try_from(participants).unwrap_or(i32::MAX),
        session_starts,
        session_ends,
    })
}

/// What the stored version asks of the roster.
fn need_of(row: &WorkshopRow) -> Need {
    Need {
        workshop_id: row.id.clone(),
        version: u32::try_from(row.version).unwrap_or_default(),
        kind: EnquiryKind::from_str_name(&row.kind).unwrap_or_default(),
        format: Format::from_str_name(&row.format).unwrap_or_default(),
        topics: row
            .topics
            .iter()
            .filter_map(|t| Topic::from_str_name(t))
            .collect(),
        languages: row.languages.iter().cloned().collect(),
        cities: row.cities.clone(),
        participants: u32::try_from(row.participants).unwrap_or_default(),
        sessions: row
            .session_starts
            .iter()
            .copied()
            .zip(row.session_ends.iter().copied())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::proto::workshop::v1::Participation;

    fn ts(s: &str) -> pbjson_types::Timestamp {
        let t: DateTime<Utc> = s.parse().unwrap();
        pbjson_types::Timestamp {
            seconds: t.timestamp(),
            nanos: 0,
        }
    }

    #[test]
    fn a_scheduled_event_becomes_a_need_with_the_primary_topic_first() {
        let event = WorkshopScheduled {
            workshop_id: "w1".into(),
            version: 2,
            kind: EnquiryKind::JointWorkshop.into(),
            primary_topic: Topic::Transport.into(),
            topics: vec![Topic::Housing.into(), Topic::Transport.into()],
            format: Format::InPerson.into(),
            host_city: String::new(),
            time_zone: "Asia/Seoul".into(),
            sessions: vec![Session {
                start: Some(ts("2027-03-01T00:00:00Z")),
                end: Some(ts("2027-03-01T08:00:00Z")),
            }],
            cities: vec![
                Participation {
                    city: "colombo".into(),
                    enquiry_id: "e1".into(),
                    participants: 20,
                },
                Participation {
                    city: "makassar".into(),
                    enquiry_id: "e2".into(),
                    participants: 10,
                },
            ],
            languages: vec!["en".into()],
            proposed_team: Vec::new(),
        };
        let need = need_of(&workshop_row(&event).unwrap());
        assert_eq!(need.topics, [Topic::Transport, Topic::Housing]);
        assert_eq!(need.participants, 30);
        assert_eq!(need.cities, ["colombo", "makassar"]);
        assert_eq!(need.kind, EnquiryKind::JointWorkshop);
        assert_eq!(need.format, Format::InPerson);
        assert_eq!(need.version, 2);
        assert_eq!(need.sessions.len(), 1);
    }

    #[test]
    fn a_session_ending_before_it_starts_is_a_permanent_failure() {
        let bad = [Session {
            start: Some(ts("2027-03-02T00:00:00Z")),
            end: Some(ts("2027-03-01T00:00:00Z")),
        }];
        assert!(matches!(
            sessions(&bad),
            Err(HandlerError::Permanent { .. })
        ));
        let missing = [Session {
            start: None,
            end: Some(ts("2027-03-01T00:00:00Z")),
        }];
        assert!(matches!(
            sessions(&missing),
            Err(HandlerError::Permanent { .. })
        ));
    }
}
