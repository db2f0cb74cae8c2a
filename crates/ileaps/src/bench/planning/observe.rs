//! The plan as the programme announced it, rebuilt from `ileaps.events.>`
//! the way an integrator would ([`Observed`]): what the bench judges is what
//! cities and experts were told, not a service's tables.

use chrono::{DateTime, Utc};
use contract::CloudEvent;
use contract::proto::assignment::v1::{AssignmentMade, ExpertRole};
use contract::proto::enquiry::v1::{EnquiryReceived, EnquiryRejected};
use contract::proto::workshop::v1::{
    WorkshopCancelled, WorkshopRescheduled, WorkshopScheduled, WorkshopUnschedulable,
};
use scheduling::domain::Session;
use std::collections::{BTreeMap, HashMap};

/// One workshop or mission at its latest version.
#[derive(Debug, Clone, Default)]
pub struct Workshop {
    pub version: u32,
    pub scheduled: WorkshopScheduled,
    pub sessions: Vec<Session>,
    /// Enquiry ids, in the order the event lists them.
    pub enquiries: Vec<String>,
    /// The team of the version last staffed: (version, lead, support).
    pub staffed: Option<(u32, Option<String>, Option<String>)>,
    pub cancelled: Option<String>,
    /// Each `workshop.rescheduled`'s reason.
    pub moves: Vec<String>,
}

impl Workshop {
    /// Live and staffed at its current version: what "served" means.
    pub fn is_served(&self) -> bool {
        self.cancelled.is_none() && self.staffed.as_ref().is_some_and(|s| s.0 == self.version)
    }

    pub fn team(&self) -> (Option<&str>, Option<&str>) {
        match &self.staffed {
            Some((_, lead, support)) => (lead.as_deref(), support.as_deref()),
            None => (None, None),
        }
    }
}

/// An enquiry intake accepted, with when its event reached the stream.
#[derive(Debug, Clone)]
pub struct Received {
    pub event: EnquiryReceived,
    pub at: DateTime<Utc>,
    /// When scheduling first announced something for it (a workshop that
    /// lists it, or `unschedulable`).
    pub planned_at: Option<DateTime<Utc>>,
}

/// Everything the events told, so far.
#[derive(Debug, Default)]
pub struct Observed {
    /// In arrival order.
    pub received: Vec<Received>,
    index: HashMap<String, usize>,
    /// `inboundId` → the enquiry it became, or its rejection codes.
    pub inbound: HashMap<String, Result<String, Vec<String>>>,
    pub workshops: BTreeMap<String, Workshop>,
    /// Enquiry id → (reason code, detail).
    pub unschedulable: BTreeMap<String, (String, String)>,
    /// Events that could not be read as the contract says: a bug.
    pub unreadable: Vec<String>,
}

fn time_of(seconds: i64, nanos: i32) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, u32::try_from(nanos).unwrap_or(0))
}

fn sessions_of(sessions: &[contract::proto::common::v1::Session]) -> Vec<Session> {
    sessions
        .iter()
        .filter_map(|s| {
            let start = s.start.as_ref()?;
            let end = s.end.as_ref()?;
            Some(Session::new(
                time_of(start.seconds, start.nanos)?,
                time_of(end.seconds, end.nanos)?,
            ))
        })
        .collect()
}

impl Observed {
    /// Takes one event of the stream, published at `at`.
    pub fn apply(&mut self, ce_type: &str, body: &[u8], at: DateTime<Utc>) {
        if let Err(error) = self.try_apply(ce_type, body, at) {
            self.unreadable.push(format!("{ce_type}: {error}"));
        }
    }

    fn try_apply(
        &mut self,
        ce_type: &str,
        body: &[u8],
        at: DateTime<Utc>,
    ) -> Result<(), serde_json::Error> {
        match ce_type {
            EnquiryReceived::TYPE => {
                let event = EnquiryReceived::from_json(body)?;
                self.inbound
                    .insert(event.inbound_id.clone(), Ok(event.enquiry_id.clone()));
                self.index
                    .insert(event.enquiry_id.clone(), self.received.len());
                self.received.push(Received {
                    event,
                    at,
                    planned_at: None,
                });
            }
            EnquiryRejected::TYPE => {
                let event = EnquiryRejected::from_json(body)?;
                let codes = event
                    .reasons
                    .iter()
                    .map(|r| format!("{:?}", r.code()))
                    .collect();
                self.inbound.insert(event.inbound_id, Err(codes));
            }
            WorkshopScheduled::TYPE => {
                let event = WorkshopScheduled::from_json(body)?;
                let enquiries: Vec<String> =
                    event.cities.iter().map(|c| c.enquiry_id.clone()).collect();
                for id in &enquiries {
                    self.planned(id, at);
                }
                let workshop = self.workshops.entry(event.workshop_id.clone()).or_default();
                workshop.version = event.version;
                workshop.sessions = sessions_of(&event.sessions);
                workshop.enquiries = enquiries;
                workshop.scheduled = event;
            }
            WorkshopRescheduled::TYPE => {
                let event = WorkshopRescheduled::from_json(body)?;
                let workshop = self.workshops.entry(event.workshop_id).or_default();
                workshop.version = event.version;
                workshop.sessions = sessions_of(&event.sessions);
                workshop.moves.push(event.reason);
            }
            WorkshopCancelled::TYPE => {
                let event = WorkshopCancelled::from_json(body)?;
                let workshop = self.workshops.entry(event.workshop_id).or_default();
                workshop.version = workshop.version.max(event.version);
                workshop.cancelled = Some(event.reason);
            }
            WorkshopUnschedulable::TYPE => {
                let event = WorkshopUnschedulable::from_json(body)?;
                self.planned(&event.enquiry_id, at);
                self.unschedulable
                    .insert(event.enquiry_id, (event.reason_code, event.detail));
            }
            AssignmentMade::TYPE => {
                let event = AssignmentMade::from_json(body)?;
                let workshop = self.workshops.entry(event.workshop_id).or_default();
                let with_role = |role: ExpertRole| {
                    event
                        .experts
                        .iter()
                        .find(|x| x.role() == role)
                        .map(|x| x.expert_id.clone())
                };
                if workshop
                    .staffed
                    .as_ref()
                    .is_none_or(|s| s.0 <= event.workshop_version)
                {
                    workshop.staffed = Some((
                        event.workshop_version,
                        with_role(ExpertRole::Lead),
                        with_role(ExpertRole::Support),
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn planned(&mut self, enquiry_id: &str, at: DateTime<Utc>) {
        if let Some(&i) = self.index.get(enquiry_id) {
            let received = &mut self.received[i];
            received.planned_at.get_or_insert(at);
        }
    }

    /// Whether an enquiry has reached the end of its planning: unschedulable,
    /// or in a workshop staffed at its current version.
    pub fn is_settled(&self, enquiry_id: &str) -> bool {
        self.unschedulable.contains_key(enquiry_id)
            || self
                .workshops
                .values()
                .any(|w| w.is_served() && w.enquiries.iter().any(|e| e == enquiry_id))
    }

    /// Accepted enquiries not settled yet.
    pub fn unsettled(&self) -> usize {
        self.received
            .iter()
            .filter(|r| !self.is_settled(&r.event.enquiry_id))
            .count()
    }

    /// Live workshops not staffed at their current version: assignment or a
    /// retry still has work to do.
    pub fn workshops_in_flight(&self) -> usize {
        self.workshops
            .values()
            .filter(|w| w.cancelled.is_none() && !w.is_served())
            .count()
    }
}
