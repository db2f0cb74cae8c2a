//! A programme event in, one transaction, workshop events out.
//!
//! Each event is judged against what the store holds, inside the consumer's
//! batch transaction, and the events it causes are written to the outbox in
//! that same transaction. Planning handlers (`enquiry.received`,
//! `enquiry.withdrawn`, `assignment.unfilled`) first take the planning lock
//! ([`store::lock_planning`]), so decisions are made one at a time across
//! replicas. Every handler is idempotent on its own too: an enquiry already
//! recorded, a withdrawal already applied or an `unfilled` for a version
//! that is no longer current changes nothing.

use crate::domain::candidates::OpenEnquiry;
use crate::domain::{
    Attendee, DateWindow, DaySpan, Decision, PlannedWorkshop, Request, Rules, Session,
    UnschedulableCode, next_slot, plan,
};
use crate::replan::{self, Change, Skipped, Team};
use crate::store::{self, CalendarQuery, NewEnquiry, PlannedBy, Unreadable};
use chrono::{DateTime, Days, NaiveDate, Utc};
use contract::proto::assignment::v1::{AssignmentMade, AssignmentUnfilled, ExpertRole};
use contract::proto::common::v1::{self as common, EnquiryKind, Format, Topic};
use contract::proto::enquiry::v1::{EnquiryReceived, EnquiryWithdrawn};
use contract::proto::workshop::v1::{
    Participation, ProposedExpert, WorkshopCancelled, WorkshopRescheduled, WorkshopScheduled,
    WorkshopUnschedulable,
};
use contract::{Service, subjects};
use messaging::{Delivery, Handler, HandlerError, Outbox, OutgoingMessage, handle_fenced};
use sqlx::PgConnection;
use tracing::{Instrument, debug, info, warn};
use uuid::Uuid;

/// The namespace of workshop ids: a workshop's id is the UUIDv5 of the
/// enquiry that created it, so the same events give the same ids.
pub(crate) const WORKSHOP_NAMESPACE: Uuid =
    Uuid::from_u128(0x6a1c_3f0e_5b7d_4e21_9c4a_2d8e_7f10_b3a5);

/// The reason a workshop is cancelled when its last city withdraws.
pub const ALL_WITHDREW: &str = "all cities withdrew";

/// Consumes `ileaps.events.>`.
#[derive(Debug, Clone)]
pub struct SchedulingHandler {
    outbox: Outbox,
    rules: Rules,
}

impl SchedulingHandler {
    pub fn new(outbox: Outbox, rules: Rules) -> Self {
        Self { outbox, rules }
    }

    /// The countries whose public holidays a plan for `attendees` must see
    /// (rule 8): theirs, the host's and the experts' (a mission's host is
    /// its city, whose country is among the attendees').
    fn holiday_countries<'a>(&self, attendees: impl Iterator<Item = &'a Attendee>) -> Vec<String> {
        let mut countries: Vec<String> = attendees
            .map(|a| a.country.clone())
            .chain([
                self.rules.host_country.clone(),
                self.rules.experts_country.clone(),
            ])
            .filter(|c| !c.is_empty())
            .collect();
        countries.sort_unstable();
        countries.dedup();
        countries
    }

    /// `enquiry.received`, one or a burst that queued up (in stream order):
    /// record each, plan the new ones together in one solve, announce the
    /// plan. An enquiry already recorded (a redelivery) plans nothing.
    async fn received(
        &self,
        tx: &mut PgConnection,
        enquiries: Vec<(EnquiryReceived, Request)>,
    ) -> Result<(), HandlerError> {
        store::lock_planning(tx).await?;
        let mut newcomers = Vec::with_capacity(enquiries.len());
        for (event, request) in enquiries {
            if self.record(tx, &event, &request).await? {
                newcomers.push(OpenEnquiry {
                    request,
                    beneficiary: event.priority,
                });
            } else {
                debug!(enquiry_id = %event.enquiry_id, "enquiry already planned");
            }
        }
        if newcomers.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = newcomers
            .iter()
            .map(|n| n.request.attendee.enquiry_id.clone())
            .collect();
        let countries = |attendees: &[&Attendee]| self.holiday_countries(attendees.iter().copied());
        match replan::received(tx, &newcomers, &self.rules, countries).await? {
            Ok(changes) => {
                store::record_planning(tx, &ids, PlannedBy::Optimiser, None).await?;
                return self.apply(tx, &newcomers, changes).await;
            }
            Err(Skipped::NoRoster) => {
                debug!(enquiries = ?ids, "no roster known yet: planned first-fit");
                store::record_planning(tx, &ids, PlannedBy::FirstFitNoRoster, None).await?;
            }
            Err(Skipped::Failed(why)) => {
                warn!(enquiries = ?ids, %why, "the optimiser could not plan; planned first-fit");
                store::record_planning(tx, &ids, PlannedBy::FirstFitAfterFailure, Some(&why))
                    .await?;
            }
        }
        for newcomer in &newcomers {
            self.first_fit(tx, &newcomer.request).await?;
        }
        Ok(())
    }

    /// Stores a received enquiry; `false` when it was already stored.
    async fn record(
        &self,
        tx: &mut PgConnection,
        event: &EnquiryReceived,
        request: &Request,
    ) -> Result<bool, HandlerError> {
        let recorded = store::insert_enquiry(
            tx,
            &NewEnquiry {
                id: &event.enquiry_id,
                city: &event.city,
                reference: &event.reference,
                kind: request.kind,
                topics: &request.topics,
                window: request.attendee.window,
                participants: request.attendee.participants,
                languages: event.languages.clone(),
                format: request.attendee.format,
                time_zone: &event.time_zone,
                country: country_of(event),
                priority: event.priority,
                received_at: request.attendee.received_at,
            },
        )
        .await?;
        Ok(recorded)
    }

    /// Plans `request` (stored) first-fit: join a planned workshop, else the
    /// earliest feasible dates, with no knowledge of who can staff them.
    async fn first_fit(
        &self,
        tx: &mut PgConnection,
        request: &Request,
    ) -> Result<(), HandlerError> {
        let (decision, calendar) = self.first_fit_decision(tx, request).await?;
        let enquiry_id = request.attendee.enquiry_id.clone();
        let city = &request.attendee.city;
        match decision {
            Decision::Join { workshop_id, .. } => {
                let mut workshop = calendar
                    .workshops
                    .into_iter()
                    .find(|w| w.id == workshop_id)
                    .ok_or_else(|| {
                        HandlerError::permanent("the planner chose an unknown workshop")
                    })?;
                let id = parse_workshop_id(&workshop.id)?;
                let row = store::find_workshop(tx, id)
                    .await?
                    .ok_or_else(|| HandlerError::permanent("the joined workshop vanished"))?;
                workshop.admit(request.attendee.clone(), &self.rules);
                workshop.cover_topics(&request.topics);
                store::update_workshop(tx, id, &workshop, reschedules_of(row.reschedules)).await?;
                store::mark_scheduled(tx, &enquiry_id, id, workshop.version).await?;
                info!(%enquiry_id, workshop_id = %id, version = workshop.version, %city, "city joins a workshop");
                self.emit(tx, vec![scheduled(&workshop, &[])]).await
            }
            Decision::New(new) => {
                let id = Uuid::new_v5(&WORKSHOP_NAMESPACE, enquiry_id.as_bytes());
                let workshop = new.into_planned(id.to_string(), request);
                store::insert_workshop(tx, &workshop, id).await?;
                store::mark_scheduled(tx, &enquiry_id, id, workshop.version).await?;
                info!(%enquiry_id, workshop_id = %id, %city, format = workshop.format.as_str_name(), "workshop planned");
                self.emit(tx, vec![scheduled(&workshop, &[])]).await
            }
            Decision::Unschedulable { code, detail } => {
                store::mark_unschedulable(
                    tx,
                    std::slice::from_ref(&enquiry_id),
                    code.as_str(),
                    &detail,
                )
                .await?;
                info!(%enquiry_id, %city, %code, %detail, "enquiry unschedulable");
                let message = unschedulable(&request.attendee, code, &detail, None);
                self.emit(tx, vec![message]).await
            }
        }
    }

    /// What first-fit would do with `request`, and the calendar it read.
    async fn first_fit_decision(
        &self,
        tx: &mut PgConnection,
        request: &Request,
    ) -> Result<(Decision, crate::domain::Calendar), HandlerError> {
        let cities = [request.attendee.city.clone()];
        let joinable = (request.kind == EnquiryKind::JointWorkshop)
            .then(|| request.primary_topic().map(|topic| (request.kind, topic)))
            .flatten();
        let countries = self.holiday_countries(std::iter::once(&request.attendee));
        let calendar = store::load_calendar(
            tx,
            &CalendarQuery {
                days: padded(request.attendee.window.start, request.attendee.window.end),
                cities: &cities,
                countries: &countries,
                joinable,
                except: &[],
            },
        )
        .await?
        .map_err(unreadable)?;
        Ok((plan(request, &calendar, &self.rules), calendar))
    }

    /// Stores and announces what the optimiser decided for new enquiries.
    async fn apply(
        &self,
        tx: &mut PgConnection,
        newcomers: &[OpenEnquiry],
        changes: Vec<Change>,
    ) -> Result<(), HandlerError> {
        let mut messages = Vec::new();
        for change in changes {
            match change {
                Change::Moved {
                    id,
                    workshop,
                    team,
                    reason,
                    dates_changed,
                } => {
                    let row = store::find_workshop(tx, id)
                        .await?
                        .ok_or_else(|| HandlerError::permanent("the moved workshop vanished"))?;
                    store::update_workshop(tx, id, &workshop, reschedules_of(row.reschedules))
                        .await?;
                    if dates_changed {
                        store::record_move(tx, id).await?;
                    }
                    info!(workshop_id = %id, version = workshop.version, %reason, "workshop moved");
                    messages.push(rescheduled(&workshop, &reason, &proposed(&team)));
                }
                Change::Joined {
                    id,
                    workshop,
                    team,
                    enquiries,
                } => {
                    let row = store::find_workshop(tx, id)
                        .await?
                        .ok_or_else(|| HandlerError::permanent("the joined workshop vanished"))?;
                    store::update_workshop(tx, id, &workshop, reschedules_of(row.reschedules))
                        .await?;
                    for enquiry_id in &enquiries {
                        store::mark_scheduled(tx, enquiry_id, id, workshop.version).await?;
                        let city = city_of(&workshop, enquiry_id);
                        info!(%enquiry_id, workshop_id = %id, version = workshop.version, %city, "city joins a workshop");
                    }
                    messages.push(scheduled(&workshop, &proposed(&team)));
                }
                Change::Created { id, workshop, team } => {
                    store::insert_workshop(tx, &workshop, id).await?;
                    for attendee in &workshop.attendees {
                        let (enquiry_id, city) = (&attendee.enquiry_id, &attendee.city);
                        store::mark_scheduled(tx, enquiry_id, id, workshop.version).await?;
                        info!(%enquiry_id, workshop_id = %id, %city, format = workshop.format.as_str_name(), lead = %team.lead, "workshop planned");
                    }
                    messages.push(scheduled(&workshop, &proposed(&team)));
                }
                Change::Unserved { enquiry_id } => {
                    let Some(request) = newcomers
                        .iter()
                        .map(|n| &n.request)
                        .find(|r| r.attendee.enquiry_id == enquiry_id)
                    else {
                        return Err(HandlerError::permanent(
                            "the re-plan left an enquiry it was not given unserved",
                        ));
                    };
                    let city = &request.attendee.city;
                    // The calendar alone leaves no date: first-fit says what
                    // stood in the way. Dates fit but nobody can staff any of
                    // them: every date was tried for an expert.
                    let (code, detail) = match self.first_fit_decision(tx, request).await?.0 {
                        Decision::Unschedulable { code, detail } => (code, detail),
                        _ => (
                            UnschedulableCode::NoExpertAfterRetries,
                            no_expert_detail(request),
                        ),
                    };
                    store::mark_unschedulable(
                        tx,
                        std::slice::from_ref(&enquiry_id),
                        code.as_str(),
                        &detail,
                    )
                    .await?;
                    info!(%enquiry_id, %city, %code, %detail, "enquiry unschedulable");
                    messages.push(unschedulable(&request.attendee, code, &detail, None));
                }
            }
        }
        self.emit(tx, messages).await
    }

    /// `enquiry.withdrawn`: the city leaves its workshop; the last city out
    /// cancels it.
    async fn withdrawn(
        &self,
        tx: &mut PgConnection,
        event: EnquiryWithdrawn,
    ) -> Result<(), HandlerError> {
        store::lock_planning(tx).await?;
        let Some(enquiry) = store::find_enquiry(tx, &event.enquiry_id).await? else {
            debug!(enquiry_id = %event.enquiry_id, "withdrawal of an enquiry never planned");
            return Ok(());
        };
        if enquiry.status == "WITHDRAWN" {
            return Ok(());
        }
        let attending = (enquiry.status == "SCHEDULED")
            .then_some(enquiry.workshop_id)
            .flatten();
        let row = match attending {
            Some(id) => store::find_workshop(tx, id).await?,
            None => None,
        };
        let Some(row) = row.filter(|row| row.status == "PLANNED") else {
            store::mark_withdrawn(tx, &enquiry.id).await?;
            return Ok(());
        };
        let id = row.id;
        // Read while the enquiry still attends.
        let mut workshop = store::load_planned(tx, &row).await?.map_err(unreadable)?;
        store::mark_withdrawn(tx, &enquiry.id).await?;
        if workshop.remove_attendee(&enquiry.id, &self.rules).is_none() {
            return Ok(());
        }
        if workshop.attendees.is_empty() {
            store::close_workshop(tx, id, workshop.version, "CANCELLED", ALL_WITHDREW).await?;
            info!(workshop_id = %id, version = workshop.version, "workshop cancelled: all cities withdrew");
            return self
                .emit(tx, vec![cancelled(id, workshop.version, ALL_WITHDREW)])
                .await;
        }
        let remaining: Vec<String> = workshop
            .attendees
            .iter()
            .map(|a| a.enquiry_id.clone())
            .collect();
        let asked: Vec<Vec<Topic>> = store::requests_of(tx, &remaining)
            .await?
            .iter()
            .map(|stored| {
                stored
                    .topics
                    .iter()
                    .filter_map(|t| Topic::from_str_name(t))
                    .collect()
            })
            .collect();
        workshop.keep_topics_of(&asked);
        store::update_workshop(tx, id, &workshop, reschedules_of(row.reschedules)).await?;
        info!(workshop_id = %id, version = workshop.version, city = %enquiry.city, "city leaves a workshop");
        self.emit(tx, vec![scheduled(&workshop, &[])]).await
    }

    /// `assignment.made`: the current version is staffed; older ones are
    /// stale.
    async fn made(&self, tx: &mut PgConnection, event: AssignmentMade) -> Result<(), HandlerError> {
        let Ok(id) = Uuid::parse_str(&event.workshop_id) else {
            return Ok(());
        };
        if store::mark_staffed(tx, id, event.workshop_version).await? {
            info!(workshop_id = %id, version = event.workshop_version, "workshop staffed");
        } else {
            debug!(workshop_id = %id, version = event.workshop_version, "stale assignment ignored");
        }
        Ok(())
    }

    /// `assignment.unfilled` for the current version: a later date, or after
    /// the last try (or with none left), `NO_EXPERT_AFTER_RETRIES`.
    async fn unfilled(
        &self,
        tx: &mut PgConnection,
        event: AssignmentUnfilled,
    ) -> Result<(), HandlerError> {
        let Ok(id) = Uuid::parse_str(&event.workshop_id) else {
            return Ok(());
        };
        store::lock_planning(tx).await?;
        let Some(row) = store::find_workshop(tx, id).await? else {
            return Ok(());
        };
        let current = u32::try_from(row.version).unwrap_or(0);
        if row.status != "PLANNED" || current != event.workshop_version {
            debug!(workshop_id = %id, version = event.workshop_version, current, "stale unfilled ignored");
            return Ok(());
        }
        let mut workshop = store::load_planned(tx, &row).await?.map_err(unreadable)?;
        let tried = reschedules_of(row.reschedules);
        let code = if event.reason_code.is_empty() {
            "UNSPECIFIED"
        } else {
            event.reason_code.as_str()
        };

        let later = if tried < self.rules.max_reschedules {
            self.retry_slot(tx, &row, &workshop).await?
        } else {
            None
        };
        if let Some((sessions, team)) = later {
            workshop.sessions = sessions;
            workshop.version = workshop.version.saturating_add(1);
            store::update_workshop(tx, id, &workshop, tried + 1).await?;
            let reason = format!("NO_EXPERT: {code}");
            info!(workshop_id = %id, version = workshop.version, try_number = tried + 1, %reason, "workshop rescheduled");
            let team = team.as_ref().map(proposed).unwrap_or_default();
            return self
                .emit(tx, vec![rescheduled(&workshop, &reason, &team)])
                .await;
        }

        let detail = if tried < self.rules.max_reschedules {
            format!(
                "no expert could be assigned ({code}) and no later date in the window \
                 has one free; a wider window may help"
            )
        } else {
            format!(
                "no expert could be assigned ({code}) on the first date or {tried} later ones; \
                 a wider window or another format may help"
            )
        };
        let version = workshop.version.saturating_add(1);
        let code_name = UnschedulableCode::NoExpertAfterRetries;
        let enquiries: Vec<String> = workshop
            .attendees
            .iter()
            .map(|a| a.enquiry_id.clone())
            .collect();
        store::close_workshop(tx, id, version, "UNSCHEDULABLE", &detail).await?;
        store::mark_unschedulable(tx, &enquiries, code_name.as_str(), &detail).await?;
        info!(workshop_id = %id, version, %detail, "workshop unschedulable");
        let mut messages: Vec<OutgoingMessage> = workshop
            .attendees
            .iter()
            .map(|a| unschedulable(a, code_name, &detail, Some(id)))
            .collect();
        messages.push(cancelled(
            id,
            version,
            &format!("{}: {detail}", code_name.as_str()),
        ));
        self.emit(tx, messages).await
    }

    /// Later dates for a workshop nobody could staff, and the team the plan
    /// proposes there: the optimiser's, on a date a qualified expert is
    /// free ([`replan::retry`]); with no roster known (or when the
    /// optimiser fails, with a warning), the next dates the calendar allows,
    /// with no team proposed.
    async fn retry_slot(
        &self,
        tx: &mut PgConnection,
        row: &store::WorkshopRow,
        workshop: &PlannedWorkshop,
    ) -> Result<Option<(Vec<Session>, Option<Team>)>, HandlerError> {
        let countries = |attendees: &[&Attendee]| self.holiday_countries(attendees.iter().copied());
        match replan::retry(tx, row, workshop, &self.rules, countries).await? {
            Ok(found) => return Ok(found.map(|(sessions, team)| (sessions, Some(team)))),
            Err(Skipped::NoRoster) => {
                debug!(workshop_id = %row.id, "no roster known yet: the next dates the calendar allows");
            }
            Err(Skipped::Failed(why)) => {
                warn!(workshop_id = %row.id, %why, "the optimiser could not re-plan; the next dates the calendar allows");
            }
        }
        let later = self.later_slot(tx, workshop, row.id).await?;
        Ok(later.map(|sessions| (sessions, None)))
    }

    /// The next feasible dates for `workshop`, the calendar read without it.
    async fn later_slot(
        &self,
        tx: &mut PgConnection,
        workshop: &PlannedWorkshop,
        id: Uuid,
    ) -> Result<Option<Vec<Session>>, HandlerError> {
        let (Some(start), Some(end)) = (
            workshop.attendees.iter().map(|a| a.window.start).min(),
            workshop.attendees.iter().map(|a| a.window.end).max(),
        ) else {
            return Ok(None);
        };
        let cities: Vec<String> = workshop.cities().into_iter().map(str::to_owned).collect();
        let countries = self.holiday_countries(workshop.attendees.iter());
        let calendar = store::load_calendar(
            tx,
            &CalendarQuery {
                days: padded(start, end),
                cities: &cities,
                countries: &countries,
                joinable: None,
                except: &[id],
            },
        )
        .await?
        .map_err(unreadable)?;
        Ok(next_slot(workshop, &calendar, &self.rules))
    }

    async fn emit(
        &self,
        tx: &mut PgConnection,
        messages: Vec<OutgoingMessage>,
    ) -> Result<(), HandlerError> {
        self.outbox.enqueue_all(tx, messages).await?;
        Ok(())
    }
}

impl Handler for SchedulingHandler {
    /// The subjects matched in `handle`; the rest of the stream (our own
    /// events and notifications' included) costs no transaction.
    /// Keep in step with `handle`'s match: a subject missing here is
    /// acknowledged without being handled.
    fn concerns(&self, subject: &str) -> bool {
        matches!(
            subject,
            subjects::ENQUIRY_RECEIVED
                | subjects::ENQUIRY_WITHDRAWN
                | subjects::ASSIGNMENT_MADE
                | subjects::ASSIGNMENT_UNFILLED
        )
    }

    async fn handle(&self, tx: &mut PgConnection, delivery: &Delivery) -> Result<(), HandlerError> {
        match delivery.subject.as_str() {
            subjects::ENQUIRY_RECEIVED => {
                if let Some(event) = delivery.event::<EnquiryReceived>()? {
                    let request = request_of(&event)?;
                    self.received(tx, vec![(event, request)]).await?;
                }
            }
            subjects::ENQUIRY_WITHDRAWN => {
                if let Some(event) = delivery.event::<EnquiryWithdrawn>()? {
                    self.withdrawn(tx, event).await?;
                }
            }
            subjects::ASSIGNMENT_MADE => {
                if let Some(event) = delivery.event::<AssignmentMade>()? {
                    self.made(tx, event).await?;
                }
            }
            subjects::ASSIGNMENT_UNFILLED => {
                if let Some(event) = delivery.event::<AssignmentUnfilled>()? {
                    self.unfilled(tx, event).await?;
                }
            }
            // Everything else on the stream (our own events included) is not
            // ours to act on.
            _ => {}
        }
        Ok(())
    }

    /// Runs of consecutive `enquiry.received` (at most
    /// [`Rules::plan_batch`]) are planned together, in one solve: a burst
    /// costs one re-plan, not one per enquiry, and is planned as a whole.
    /// Everything else goes message by message, each under its own
    /// savepoint. A run whose plan fails fails the batch: the consumer then
    /// rolls it back and handles every message on its own, so one city's
    /// enquiry never costs another's.
    async fn handle_batch(
        &self,
        tx: &mut PgConnection,
        deliveries: &[&Delivery],
    ) -> Result<Vec<Result<(), HandlerError>>, HandlerError> {
        let mut results = Vec::with_capacity(deliveries.len());
        let mut rest = deliveries;
        while let Some((&first, after)) = rest.split_first() {
            let run = self.burst(rest);
            if run.len() > 1 {
                let planned = run.len();
                self.received(tx, run)
                    .instrument(first.span().clone())
                    .await?;
                results.extend((0..planned).map(|_| Ok(())));
                rest = &rest[planned..];
            } else {
                let result = handle_fenced(self, tx, first)
                    .instrument(first.span().clone())
                    .await?;
                results.push(result);
                rest = after;
            }
        }
        Ok(results)
    }

    fn committed(&self) {
        self.outbox.wake_relay();
    }
}

impl SchedulingHandler {
    /// The `enquiry.received` events that open `deliveries`, with what the
    /// planner needs of each, up to [`Rules::plan_batch`]; the run stops at
    /// the first other message or one that does not decode into a request
    /// (that one is handled, and refused, on its own).
    fn burst(&self, deliveries: &[&Delivery]) -> Vec<(EnquiryReceived, Request)> {
        let limit = self.rules.plan_batch.max(1) as usize;
        // A lone enquiry is not a run: it goes the ordinary way, decoded once.
        let pair = deliveries.len() > 1
            && deliveries[..2]
                .iter()
                .all(|d| d.subject == subjects::ENQUIRY_RECEIVED);
        if !pair || limit < 2 {
            return Vec::new();
        }
        deliveries
            .iter()
            .take(limit)
            .map_while(|delivery| {
                if delivery.subject != subjects::ENQUIRY_RECEIVED {
                    return None;
                }
                let event = delivery.event::<EnquiryReceived>().ok().flatten()?;
                let request = request_of(&event).ok()?;
                Some((event, request))
            })
            .collect()
    }
}

/// The city of `enquiry_id` among the workshop's attendees.
fn city_of<'a>(workshop: &'a PlannedWorkshop, enquiry_id: &str) -> &'a str {
    workshop
        .attendees
        .iter()
        .find(|a| a.enquiry_id == enquiry_id)
        .map_or("", |a| a.city.as_str())
}

/// The enquiry's country as stored: `None` when the event has none (a
/// release before the field) or one that is not two capital letters, which
/// intake's registry never holds. Either way the enquiry is still planned,
/// with no holidays of its country known: refusing it would serve nobody.
fn country_of(event: &EnquiryReceived) -> Option<&str> {
    let country = event.country.as_str();
    if country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()) {
        Some(country)
    } else {
        if !country.is_empty() {
            warn!(enquiry_id = %event.enquiry_id, country, "enquiry with a malformed country; no holidays of it apply");
        }
        None
    }
}

/// What the planner needs from an `enquiry.received`. Public for readers
/// that judge a plan from the events (`ileaps bench planning`): they see an
/// enquiry exactly as this service does.
pub fn request_of(event: &EnquiryReceived) -> Result<Request, HandlerError> {
    let bad =
        |what: String| HandlerError::permanent(format!("enquiry {}: {what}", event.enquiry_id));
    if event.enquiry_id.is_empty() || event.city.is_empty() {
        return Err(bad("no enquiry id or city".to_owned()));
    }
    let kind = EnquiryKind::try_from(event.kind).unwrap_or(EnquiryKind::Unspecified);
    let topics = event
        .topics
        .iter()
        .map(|t| Topic::try_from(*t).map_err(|_| bad(format!("unknown topic {t}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let window = event
        .preferred_window
        .as_ref()
        .ok_or_else(|| bad("no preferred window".to_owned()))?;
    let date = |raw: &str| {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| bad(format!("date {raw:?}")))
    };
    let window = DateWindow::new(date(&window.start)?, date(&window.end)?);
    let time_zone = store::parse_zone(&event.time_zone).map_err(bad)?;
    let received_at = event
        .received_at
        .as_ref()
        .and_then(|t| {
            DateTime::<Utc>::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
        })
        .ok_or_else(|| bad("no received time".to_owned()))?;
    Ok(Request {
        attendee: Attendee {
            enquiry_id: event.enquiry_id.clone(),
            city: event.city.clone(),
            time_zone,
            country: country_of(event).unwrap_or_default().to_owned(),
            window,
            received_at,
            participants: event.participants,
            languages: event.languages.iter().cloned().collect(),
            format: Format::try_from(event.format).unwrap_or(Format::Unspecified),
        },
        kind,
        topics,
    })
}

/// The programme days around a window: a local date and a Seoul date differ
/// by at most one day for the programme's zones; two keeps a margin.
fn padded(start: NaiveDate, end: NaiveDate) -> DaySpan {
    DaySpan::new(
        start.checked_sub_days(Days::new(2)).unwrap_or(start),
        end.checked_add_days(Days::new(2)).unwrap_or(end),
    )
}

fn parse_workshop_id(id: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(id).map_err(|_| HandlerError::permanent(format!("workshop id {id:?}")))
}

fn reschedules_of(stored: i32) -> u32 {
    u32::try_from(stored).unwrap_or(0)
}

fn unreadable(error: Unreadable) -> HandlerError {
    HandlerError::permanent(error.to_string())
}

// --- events -------------------------------------------------------------------

/// `NO_EXPERT_AFTER_RETRIES`' detail when dates fit but nobody can staff
/// any of them.
fn no_expert_detail(request: &Request) -> String {
    let window = request.attendee.window;
    let topic = request
        .primary_topic()
        .map_or("its topic", |t| t.as_str_name());
    format!(
        "the rules allow dates between {} and {}, but on none of them is an expert \
         who covers {topic} and shares a language free, with room in their month, \
         without moving a confirmed workshop; a wider window may help",
        window.start, window.end
    )
}

/// The proposed team as the contract carries it.
fn proposed(team: &Team) -> Vec<ProposedExpert> {
    std::iter::once(ProposedExpert {
        expert_id: team.lead.clone(),
        role: ExpertRole::Lead.into(),
    })
    .chain(team.support.iter().map(|support| ProposedExpert {
        expert_id: support.clone(),
        role: ExpertRole::Support.into(),
    }))
    .collect()
}

/// `workshop.scheduled`: the workshop's full current state, with the team
/// the plan proposes (empty when planned first-fit).
pub fn scheduled(workshop: &PlannedWorkshop, team: &[ProposedExpert]) -> OutgoingMessage {
    let body = WorkshopScheduled {
        workshop_id: workshop.id.clone(),
        version: workshop.version,
        kind: workshop.kind.into(),
        primary_topic: workshop
            .primary_topic()
            .unwrap_or(Topic::Unspecified)
            .into(),
        topics: workshop.topics.iter().map(|t| (*t).into()).collect(),
        format: workshop.format.into(),
        host_city: workshop.host_city.clone().unwrap_or_default(),
        time_zone: workshop.time_zone.name().to_owned(),
        sessions: sessions(&workshop.sessions),
        cities: workshop
            .attendees
            .iter()
            .map(|a| Participation {
                city: a.city.clone(),
                enquiry_id: a.enquiry_id.clone(),
                participants: a.participants,
            })
            .collect(),
        languages: workshop.languages.iter().cloned().collect(),
        proposed_team: team.to_vec(),
    };
    OutgoingMessage::event(
        Service::Scheduling,
        subjects::WORKSHOP_SCHEDULED,
        &workshop.id,
        &body,
    )
}

fn rescheduled(
    workshop: &PlannedWorkshop,
    reason: &str,
    team: &[ProposedExpert],
) -> OutgoingMessage {
    let body = WorkshopRescheduled {
        workshop_id: workshop.id.clone(),
        version: workshop.version,
        sessions: sessions(&workshop.sessions),
        reason: reason.to_owned(),
        proposed_team: team.to_vec(),
    };
    OutgoingMessage::event(
        Service::Scheduling,
        subjects::WORKSHOP_RESCHEDULED,
        &workshop.id,
        &body,
    )
}

fn cancelled(id: Uuid, version: u32, reason: &str) -> OutgoingMessage {
    let id = id.to_string();
    let body = WorkshopCancelled {
        workshop_id: id.clone(),
        version,
        reason: reason.to_owned(),
    };
    OutgoingMessage::event(Service::Scheduling, subjects::WORKSHOP_CANCELLED, id, &body)
}

fn unschedulable(
    attendee: &Attendee,
    code: UnschedulableCode,
    detail: &str,
    workshop: Option<Uuid>,
) -> OutgoingMessage {
    let body = WorkshopUnschedulable {
        enquiry_id: attendee.enquiry_id.clone(),
        city: attendee.city.clone(),
        reason_code: code.as_str().to_owned(),
        detail: detail.to_owned(),
        workshop_id: workshop.map(|w| w.to_string()).unwrap_or_default(),
    };
    OutgoingMessage::event(
        Service::Scheduling,
        subjects::WORKSHOP_UNSCHEDULABLE,
        &attendee.enquiry_id,
        &body,
    )
}

fn sessions(sessions: &[Session]) -> Vec<common::Session> {
    sessions
        .iter()
        .map(|s| common::Session {
            start: Some(timestamp(s.start)),
            end: Some(timestamp(s.end)),
        })
        .collect()
}

pub(crate) fn timestamp(at: DateTime<Utc>) -> pbjson_types::Timestamp {
    pbjson_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}
