//! Inbound message in, transaction, events out.
//!
//! Each message is classified by the pure rules of [`crate::domain`], then
//! decided against the database (the natural key, withdrawals) inside the
//! consumer's batch transaction, and its outcome events are written to the
//! outbox in that same transaction: exactly one outcome per inbound message.
//!
//! A batch is handled set-based ([`Handler::handle_batch`]): submissions and
//! rejections take a few statements for the whole batch (one insert of the
//! enquiries, one read of the references that were taken, one insert of the
//! rejections, one of the outbox rows). The outcome of each message is the
//! one it would have had on its own, in order: of two submissions of one
//! `(city, reference)` in a batch the first wins, and the second is a no-op
//! or a conflict. A withdrawal is handled on its own, after what came before
//! it is written. Any database error sends the batch back to the consumer
//! loop, which handles it message by message ([`Handler::handle`]).

use crate::domain::{
    Inbound, InboundMessage, Reason, Rejection, ValidSubmission, ValidWithdrawal,
    ValidationContext, classify_inbound,
};
use crate::registry::{Cities, CityRegistry};
use crate::store::{self, NewEnquiries, NewEnquiry, NewRejection, NewRejections};
use chrono::{DateTime, Utc};
use contract::proto::enquiry::v1::EnquirySubmission;
use contract::proto::enquiry::v1::{
    EnquiryContact, EnquiryReceived, EnquiryRejected, EnquiryWithdrawn,
};
use contract::{Envelope, Service, subjects};
use messaging::{Delivery, Handler, HandlerError, Outbox, OutgoingMessage};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use telemetry::Metrics;
use tracing::{Instrument, debug, info};
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
        reports: &mut Vec<Report>,
    ) -> Result<(), HandlerError> {
        let accepted = Accepted::new(envelope, submission, city)?;
        let recorded = store::insert_enquiry(
            tx,
            &NewEnquiry {
                id: accepted.id,
                city: &accepted.proto.city,
                reference: &accepted.proto.reference,
                fingerprint: &accepted.fingerprint,
                submission: accepted.json.clone(),
                priority: accepted.priority,
                inbound_id: &accepted.inbound_id,
                received_at: accepted.received_at,
            },
        )
        .await?;
        if !recorded {
            let existing = store::find_enquiry(tx, &accepted.proto.city, &accepted.proto.reference)
                .await?
                .ok_or_else(|| {
                    HandlerError::Retryable("enquiry vanished between insert and read".into())
                })?;
            return match accepted.taken(envelope, &existing.fingerprint) {
                Taken::Resubmitted(report) => {
                    reports.push(report);
                    Ok(())
                }
                Taken::Conflict(rejection) => self.reject(tx, rejection, reports).await,
            };
        }
        let (messages, report) = accepted.received(city);
        self.outbox.enqueue_all(tx, messages).await?;
        reports.push(report);
        Ok(())
    }

    async fn withdraw(
        &self,
        tx: &mut PgConnection,
        envelope: &Envelope,
        withdrawal: ValidWithdrawal,
        reports: &mut Vec<Report>,
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
            return self.reject(tx, rejection, reports).await;
        };
        let reason = withdrawal
            .reason
            .as_ref()
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default();
        let now = Utc::now();
        if !store::mark_withdrawn(tx, enquiry.id, &reason, now).await? {
            reports.push(Report::AlreadyWithdrawn {
                city: city.to_owned(),
                reference: reference.to_owned(),
            });
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
        reports.push(Report::Withdrawn {
            enquiry_id: enquiry.id,
            city: city.to_owned(),
            reference: reference.to_owned(),
        });
        Ok(())
    }

    async fn reject(
        &self,
        tx: &mut PgConnection,
        rejection: Rejection,
        reports: &mut Vec<Report>,
    ) -> Result<(), HandlerError> {
        let rejected = Rejected::new(&rejection);
        store::insert_rejection(tx, &rejected.record()).await?;
        self.outbox.enqueue_all(tx, rejected.messages).await?;
        reports.push(rejected.report);
        Ok(())
    }

    /// Logs and counts what a message came to, once its writes are done.
    fn report(&self, report: Report) {
        match report {
            Report::Received {
                enquiry_id,
                city,
                reference,
                priority,
            } => {
                info!(%enquiry_id, %city, %reference, priority, "enquiry received");
                self.metrics.record_enquiry("received", None);
            }
            Report::Resubmitted { city, reference } => {
                // The same submission again: a no-op. Its outcome is the first
                // one's, which the city can also ask for with the status query.
                debug!(%city, %reference, "resubmission ignored");
                self.metrics.record_enquiry("resubmitted", None);
            }
            Report::Withdrawn {
                enquiry_id,
                city,
                reference,
            } => {
                info!(%enquiry_id, %city, %reference, "enquiry withdrawn");
                self.metrics.record_enquiry("withdrawn", None);
            }
            Report::AlreadyWithdrawn { city, reference } => {
                debug!(%city, %reference, "already withdrawn");
            }
            Report::Rejected {
                city,
                reference,
                codes,
            } => {
                info!(
                    city = city.as_deref().unwrap_or("?"),
                    reference = reference.as_deref().unwrap_or("?"),
                    ?codes,
                    "enquiry rejected"
                );
                for code in codes {
                    self.metrics.record_enquiry("rejected", Some(code));
                }
            }
        }
    }

    /// Classifies a batch's messages by the pure rules, against one copy of
    /// the registry.
    fn classify(&self, cities: &Cities, deliveries: &[&Delivery]) -> Vec<Inbound> {
        let is_registered = |code: &contract::CityCode| cities.contains_key(code.as_str());
        let context = ValidationContext {
            today: Utc::now().date_naive(),
            is_registered: &is_registered,
        };
        deliveries
            .iter()
            .map(|delivery| {
                let message = InboundMessage {
                    subject: &delivery.subject,
                    headers: delivery.headers.as_ref(),
                    body: &delivery.payload,
                };
                delivery
                    .span()
                    .in_scope(|| classify_inbound(&message, &context))
            })
            .collect()
    }

    /// Writes the submissions and rejections gathered so far, set-based, and
    /// settles each one's outcome as if they had come one by one, in order.
    async fn flush(
        &self,
        tx: &mut PgConnection,
        pending: &mut Vec<Pending<'_>>,
        reports: &mut Vec<(tracing::Span, Report)>,
    ) -> Result<(), HandlerError> {
        if pending.is_empty() {
            return Ok(());
        }
        // The first submission of each (city, reference) is the one to insert;
        // a later one in the batch meets whichever enquiry holds the key.
        let mut first = vec![false; pending.len()];
        let mut enquiries = NewEnquiries::default();
        {
            let mut seen = HashSet::new();
            for (index, item) in pending.iter().enumerate() {
                let Pending::Submit { accepted, .. } = item else {
                    continue;
                };
                let key = (
                    accepted.proto.city.as_str(),
                    accepted.proto.reference.as_str(),
                );
                if !seen.insert(key) {
                    continue;
                }
                first[index] = true;
                enquiries.ids.push(accepted.id);
                enquiries.cities.push(accepted.proto.city.clone());
                enquiries.references.push(accepted.proto.reference.clone());
                enquiries.fingerprints.push(accepted.fingerprint.clone());
                enquiries.submissions.push(accepted.json.clone());
                enquiries.priorities.push(accepted.priority);
                enquiries.inbound_ids.push(accepted.inbound_id.clone());
                enquiries.received_at.push(accepted.received_at);
            }
        }
        let mut holders: HashMap<(String, String), Holder> = HashMap::new();
        if !enquiries.ids.is_empty() {
            for key in store::insert_enquiries(tx, &enquiries).await? {
                holders.insert(key, Holder::Inserted);
            }
            let (cities, references): (Vec<String>, Vec<String>) = enquiries
                .cities
                .iter()
                .zip(&enquiries.references)
                .filter(|(city, reference)| {
                    !holders.contains_key(&((*city).clone(), (*reference).clone()))
                })
                .map(|(city, reference)| (city.clone(), reference.clone()))
                .unzip();
            if !cities.is_empty() {
                for (city, reference, fingerprint) in
                    store::find_fingerprints(tx, &cities, &references).await?
                {
                    holders.insert((city, reference), Holder::Existing(fingerprint));
                }
            }
        }

        let mut rejections = NewRejections::default();
        let mut messages = Vec::with_capacity(2 * pending.len());
        for (index, item) in pending.drain(..).enumerate() {
            match item {
                Pending::Reject {
                    delivery,
                    rejection,
                } => {
                    let rejected = Rejected::new(&rejection);
                    rejected.gather(delivery.span(), &mut rejections, &mut messages, reports);
                }
                Pending::Submit {
                    delivery,
                    envelope,
                    accepted,
                    city,
                } => {
                    let key = (
                        accepted.proto.city.clone(),
                        accepted.proto.reference.clone(),
                    );
                    let holder = holders.get(&key).ok_or_else(|| {
                        HandlerError::Retryable("enquiry vanished between insert and read".into())
                    })?;
                    let held_by = match holder {
                        Holder::Inserted if first[index] => {
                            let (received, report) = accepted.received(city);
                            messages.extend(
                                received
                                    .into_iter()
                                    .map(|message| message.in_trace_of(delivery.span())),
                            );
                            reports.push((delivery.span().clone(), report));
                            // Later submissions of the key meet this one.
                            holders.insert(key, Holder::Existing(accepted.fingerprint.clone()));
                            continue;
                        }
                        Holder::Inserted => {
                            unreachable!(
                                "an inserted key is held once its first submission is settled"
                            )
                        }
                        Holder::Existing(fingerprint) => fingerprint,
                    };
                    match accepted.taken(&envelope, held_by) {
                        Taken::Resubmitted(report) => {
                            reports.push((delivery.span().clone(), report));
                        }
                        Taken::Conflict(rejection) => {
                            let rejected = Rejected::new(&rejection);
                            rejected.gather(
                                delivery.span(),
                                &mut rejections,
                                &mut messages,
                                reports,
                            );
                        }
                    }
                }
            }
        }
        if !rejections.is_empty() {
            store::insert_rejections(tx, &rejections).await?;
        }
        self.outbox.enqueue_all(tx, messages).await?;
        Ok(())
    }
}

/// A batch message waiting to be written with the others.
enum Pending<'d> {
    Submit {
        delivery: &'d Delivery,
        envelope: Envelope,
        accepted: Box<Accepted>,
        city: &'d store::CityRecord,
    },
    Reject {
        delivery: &'d Delivery,
        rejection: Rejection,
    },
}

/// Who holds a `(city, reference)` during a batch's flush.
enum Holder {
    /// This batch's first submission of it, just inserted.
    Inserted,
    /// An enquiry with this fingerprint.
    Existing(String),
}

/// A valid submission, ready to be recorded.
struct Accepted {
    id: Uuid,
    proto: EnquirySubmission,
    submission: ValidSubmission,
    fingerprint: String,
    json: serde_json::Value,
    priority: bool,
    inbound_id: String,
    received_at: DateTime<Utc>,
}

/// What a submission whose `(city, reference)` was taken comes to.
enum Taken {
    Resubmitted(Report),
    Conflict(Rejection),
}

impl Accepted {
    fn new(
        envelope: &Envelope,
        submission: ValidSubmission,
        city: &store::CityRecord,
    ) -> Result<Self, HandlerError> {
        let proto = submission.to_proto();
        let json = serde_json::to_value(&proto)
            .map_err(|e| HandlerError::permanent(format!("submission did not serialise: {e}")))?;
        Ok(Self {
            id: Uuid::now_v7(),
            fingerprint: submission.fingerprint(),
            proto,
            submission,
            json,
            priority: city.beneficiary,
            inbound_id: envelope.id.clone(),
            received_at: Utc::now(),
        })
    }

    /// The same submission again is a no-op; other content under the
    /// reference is a conflict.
    fn taken(self, envelope: &Envelope, fingerprint: &str) -> Taken {
        if self.fingerprint == fingerprint {
            return Taken::Resubmitted(Report::Resubmitted {
                city: self.proto.city,
                reference: self.proto.reference,
            });
        }
        Taken::Conflict(Rejection {
            city: Some(self.submission.city().clone()),
            reference: Some(self.proto.reference.clone()),
            inbound_id: Some(envelope.id.clone()),
            inbound_type: Some(envelope.event_type.clone()),
            reasons: vec![Reason::reference_conflict()],
            contact: Some(self.submission.contact().clone()),
        })
    }

    /// The events announcing the recorded enquiry.
    fn received(&self, city: &store::CityRecord) -> (Vec<OutgoingMessage>, Report) {
        let proto = &self.proto;
        let id_text = self.id.to_string();
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
            received_at: Some(timestamp(self.received_at)),
            inbound_id: self.inbound_id.clone(),
            country: city.country.clone(),
        };
        let contact = proto.contact.clone().unwrap_or_default();
        let contact_event = EnquiryContact {
            enquiry_id: id_text.clone(),
            city: proto.city.clone(),
            reference: proto.reference.clone(),
            name: contact.name,
            email: contact.email,
            phone: contact.phone,
            preferred_language: self.submission.preferred_language(),
            inbound_id: self.inbound_id.clone(),
        };
        let messages = vec![
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
        ];
        let report = Report::Received {
            enquiry_id: self.id,
            city: proto.city.clone(),
            reference: proto.reference.clone(),
            priority: city.beneficiary,
        };
        (messages, report)
    }
}

/// A rejection's row, events and report.
struct Rejected {
    id: Uuid,
    city: Option<String>,
    reference: Option<String>,
    inbound_id: Option<String>,
    reasons: serde_json::Value,
    rejected_at: DateTime<Utc>,
    messages: Vec<OutgoingMessage>,
    report: Report,
}

impl Rejected {
    fn new(rejection: &Rejection) -> Self {
        let now = Utc::now();
        let id = Uuid::now_v7();
        let reasons = rejection.reasons_proto();
        let city = rejection.city.as_ref().map(|c| c.as_str().to_owned());
        let id_text = id.to_string();
        let event = EnquiryRejected {
            city: city.clone().unwrap_or_default(),
            reference: rejection.reference.clone().unwrap_or_default(),
            inbound_id: rejection.inbound_id.clone().unwrap_or_default(),
            inbound_type: rejection.inbound_type.clone().unwrap_or_default(),
            reasons: reasons.clone(),
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
        let codes = rejection.codes().iter().map(|c| c.as_str_name()).collect();
        Self {
            id,
            report: Report::Rejected {
                city: city.clone(),
                reference: rejection.reference.clone(),
                codes,
            },
            city,
            reference: rejection.reference.clone(),
            inbound_id: rejection.inbound_id.clone(),
            reasons: serde_json::to_value(&reasons).unwrap_or_default(),
            rejected_at: now,
            messages,
        }
    }

    /// Adds the rejection to a batch's rows, events (in the message's
    /// trace) and reports.
    fn gather(
        self,
        span: &tracing::Span,
        rows: &mut NewRejections,
        messages: &mut Vec<OutgoingMessage>,
        reports: &mut Vec<(tracing::Span, Report)>,
    ) {
        rows.push(&self.record());
        messages.extend(
            self.messages
                .into_iter()
                .map(|message| message.in_trace_of(span)),
        );
        reports.push((span.clone(), self.report));
    }

    fn record(&self) -> NewRejection<'_> {
        NewRejection {
            id: self.id,
            city: self.city.as_deref(),
            reference: self.reference.as_deref(),
            inbound_id: self.inbound_id.as_deref(),
            reasons: self.reasons.clone(),
            rejected_at: self.rejected_at,
        }
    }
}

/// What one message came to: logged and counted once its writes are done, so
/// a batch that falls back to one-by-one handling counts nothing twice.
#[derive(Debug)]
enum Report {
    Received {
        enquiry_id: Uuid,
        city: String,
        reference: String,
        priority: bool,
    },
    Resubmitted {
        city: String,
        reference: String,
    },
    Withdrawn {
        enquiry_id: Uuid,
        city: String,
        reference: String,
    },
    AlreadyWithdrawn {
        city: String,
        reference: String,
    },
    Rejected {
        city: Option<String>,
        reference: Option<String>,
        codes: Vec<&'static str>,
    },
}

impl Handler for IntakeHandler {
    async fn handle(&self, tx: &mut PgConnection, delivery: &Delivery) -> Result<(), HandlerError> {
        let cities = self.registry.snapshot(tx).await?;
        // Classified in its own scope: the context is not `Send` and must be
        // gone before the next await.
        let inbound = self.classify(&cities, &[delivery]).remove(0);
        let mut reports = Vec::new();
        match inbound {
            Inbound::Submit {
                envelope,
                submission,
            } => {
                let city = cities
                    .get(submission.city().as_str())
                    .ok_or_else(|| HandlerError::permanent("validated city is not registered"))?;
                self.accept(tx, &envelope, submission, city, &mut reports)
                    .await?;
            }
            Inbound::Withdraw {
                envelope,
                withdrawal,
            } => {
                self.withdraw(tx, &envelope, withdrawal, &mut reports)
                    .await?;
            }
            Inbound::Reject(rejection) => self.reject(tx, rejection, &mut reports).await?,
        }
        for report in reports {
            self.report(report);
        }
        Ok(())
    }

    async fn handle_batch(
        &self,
        tx: &mut PgConnection,
        deliveries: &[&Delivery],
    ) -> Result<Vec<Result<(), HandlerError>>, HandlerError> {
        let cities = self.registry.snapshot(tx).await?;
        let inbound = self.classify(&cities, deliveries);
        let mut results = Vec::with_capacity(deliveries.len());
        let mut pending = Vec::with_capacity(deliveries.len());
        let mut reports = Vec::with_capacity(deliveries.len());
        for (delivery, inbound) in deliveries.iter().copied().zip(inbound) {
            match inbound {
                Inbound::Submit {
                    envelope,
                    submission,
                } => {
                    let Some(city) = cities.get(submission.city().as_str()) else {
                        results.push(Err(HandlerError::permanent(
                            "validated city is not registered",
                        )));
                        continue;
                    };
                    match Accepted::new(&envelope, submission, city) {
                        Ok(accepted) => {
                            pending.push(Pending::Submit {
                                delivery,
                                envelope,
                                accepted: Box::new(accepted),
                                city,
                            });
                            results.push(Ok(()));
                        }
                        Err(failure) => results.push(Err(failure)),
                    }
                }
                Inbound::Reject(rejection) => {
                    pending.push(Pending::Reject {
                        delivery,
                        rejection,
                    });
                    results.push(Ok(()));
                }
                Inbound::Withdraw {
                    envelope,
                    withdrawal,
                } => {
                    // After what came before it, which may be its enquiry.
                    self.flush(tx, &mut pending, &mut reports).await?;
                    let mut own = Vec::new();
                    self.withdraw(tx, &envelope, withdrawal, &mut own)
                        .instrument(delivery.span().clone())
                        .await?;
                    reports.extend(own.into_iter().map(|r| (delivery.span().clone(), r)));
                    results.push(Ok(()));
                }
            }
        }
        self.flush(tx, &mut pending, &mut reports).await?;
        for (span, report) in reports {
            span.in_scope(|| self.report(report));
        }
        Ok(results)
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
