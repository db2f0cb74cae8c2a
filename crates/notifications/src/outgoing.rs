//! Turns "tell this person this notice" into delivery rows: one per channel,
//! each with a stable id derived from (cause event, recipient, channel), so
//! the same cause handled twice schedules nothing new and a re-send carries
//! the same Message-ID, webhook-id or Nats-Msg-Id.

use crate::domain::{Notice, Recipient, RecipientRole, Session, render};
use crate::store::{Contact, ExpertContact, NewDelivery, Payload};
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use contract::proto::assignment::v1::ExpertRole;
use contract::proto::cityfeed::v1::LocalSession;
use contract::proto::notification::v1::{Channel, Notice as NoticeKind, RecipientKind};
use contract::{CityCode, CloudEvent};
use uuid::Uuid;

/// Namespace of notification ids (UUIDv5): fixed forever, or re-handled
/// causes would get new ids and be sent again.
const NOTIFICATION_ID_NAMESPACE: Uuid = Uuid::from_u128(0x5a1c_8e0f_4c4b_4d7e_9d3a_2f61_0b7e_c001);

/// The event that causes deliveries, and the trace they continue.
#[derive(Debug, Clone)]
pub struct Cause {
    pub event_id: String,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
    /// When to send: now, or a reminder's time.
    pub due_at: DateTime<Utc>,
}

impl Cause {
    /// A cause derived from this one (a reminder), with its own stable id.
    pub fn derived(&self, what: &str, due_at: DateTime<Utc>) -> Cause {
        let id = Uuid::new_v5(
            &NOTIFICATION_ID_NAMESPACE,
            format!("{}|{what}", self.event_id).as_bytes(),
        );
        Cause {
            event_id: id.to_string(),
            due_at,
            ..self.clone()
        }
    }
}

/// What the deliveries are about, for `notification.delivered|failed`.
#[derive(Debug, Clone, Default)]
pub struct About {
    pub enquiry_id: Option<String>,
    pub workshop_id: Option<String>,
    pub workshop_version: Option<i32>,
}

/// The stable id of one delivery.
pub fn notification_id(
    cause: &str,
    kind: RecipientKind,
    reference: &str,
    channel: Channel,
) -> Uuid {
    Uuid::new_v5(
        &NOTIFICATION_ID_NAMESPACE,
        format!(
            "{cause}|{}|{reference}|{}",
            kind.as_str_name(),
            channel.as_str_name()
        )
        .as_bytes(),
    )
}

fn delivery(
    cause: &Cause,
    kind: RecipientKind,
    reference: &str,
    channel: Channel,
    notice: NoticeKind,
    about: &About,
    payload: Payload,
) -> NewDelivery {
    NewDelivery {
        id: notification_id(&cause.event_id, kind, reference, channel),
        cause_event_id: cause.event_id.clone(),
        recipient_kind: kind.as_str_name(),
        recipient_ref: reference.to_owned(),
        channel: channel.as_str_name(),
        notice: notice.as_str_name(),
        enquiry_id: about.enquiry_id.clone(),
        workshop_id: about.workshop_id.clone(),
        workshop_version: about.workshop_version,
        payload,
        due_at: cause.due_at,
        traceparent: cause.traceparent.clone(),
        tracestate: cause.tracestate.clone(),
    }
}

/// An email to a city's contact. Handlers write one only once the contact
/// is known (it travels on another stream; see `handlers`).
pub fn city_email(
    cause: &Cause,
    city: &str,
    contact: &Contact,
    time_zone: Tz,
    notice: &Notice,
    about: &About,
) -> NewDelivery {
    let recipient = Recipient {
        role: RecipientRole::City {
            city: city.to_owned(),
        },
        name: contact.name.clone(),
        language: contact.language.clone(),
        time_zone,
    };
    let payload = email_payload(&contact.email, notice, &recipient);
    delivery(
        cause,
        RecipientKind::City,
        city,
        Channel::Email,
        notice_kind(notice),
        about,
        payload,
    )
}

/// An email to an expert, in their language and time zone.
pub fn expert_email(
    cause: &Cause,
    expert: &ExpertContact,
    role: Option<ExpertRole>,
    notice: &Notice,
    about: &About,
) -> NewDelivery {
    let recipient = Recipient {
        role: RecipientRole::Expert {
            expert_id: expert.expert_id.clone(),
            role,
        },
        name: expert.display_name.clone(),
        language: expert.language.clone(),
        time_zone: zone(&expert.time_zone),
    };
    let payload = email_payload(&expert.email, notice, &recipient);
    delivery(
        cause,
        RecipientKind::Expert,
        &expert.expert_id,
        Channel::Email,
        notice_kind(notice),
        about,
        payload,
    )
}

fn email_payload(to_address: &str, notice: &Notice, recipient: &Recipient) -> Payload {
    let email = render(notice, recipient);
    Payload::Email {
        to_address: to_address.to_owned(),
        to_name: recipient.name.clone(),
        language: email.language,
        subject: email.subject,
        text: email.text,
        html: email.html,
    }
}

/// A notice on a city's own feed, `ileaps.outbound.<city>.<what>`. `None`
/// when `city` is not a city code (nothing could read such a feed).
pub fn city_feed<E: CloudEvent>(
    cause: &Cause,
    city: &str,
    what: &str,
    about_id: &str,
    notice: NoticeKind,
    about: &About,
    body: &E,
) -> Option<NewDelivery> {
    let code = CityCode::parse(city).ok()?;
    let body = serde_json::to_value(body).ok()?;
    let payload = Payload::CityFeed {
        subject: contract::subjects::outbound(&code, what),
        ce_type: E::TYPE.to_owned(),
        ce_subject: about_id.to_owned(),
        body,
    };
    Some(delivery(
        cause,
        RecipientKind::City,
        city,
        Channel::CityFeed,
        notice,
        about,
        payload,
    ))
}

/// A programme event for one webhook endpoint.
pub fn webhook(cause: &Cause, endpoint_id: &str, body: serde_json::Value) -> NewDelivery {
    delivery(
        cause,
        RecipientKind::Integrator,
        endpoint_id,
        Channel::Webhook,
        NoticeKind::ProgrammeEvent,
        &About::default(),
        Payload::Webhook { body },
    )
}

/// The kind of a notice, as `notification.*` events name it.
pub fn notice_kind(notice: &Notice) -> NoticeKind {
    match notice {
        Notice::Received { .. } => NoticeKind::EnquiryReceived,
        Notice::Rejected { .. } => NoticeKind::EnquiryRejected,
        Notice::Withdrawn { .. } => NoticeKind::EnquiryWithdrawn,
        Notice::Confirmed { .. } => NoticeKind::WorkshopConfirmed,
        Notice::Rescheduled { .. } => NoticeKind::WorkshopRescheduled,
        Notice::Cancelled { .. } => NoticeKind::WorkshopCancelled,
        Notice::Unschedulable { .. } => NoticeKind::EnquiryUnschedulable,
        Notice::Reminder { .. } => NoticeKind::WorkshopReminder,
    }
}

/// Sessions in UTC and in `time_zone`, for the city feed.
pub fn local_sessions(sessions: &[Session], time_zone: Tz) -> Vec<LocalSession> {
    let timestamp = |t: DateTime<Utc>| pbjson_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    };
    let local = |t: DateTime<Utc>| {
        t.with_timezone(&time_zone)
            .to_rfc3339_opts(SecondsFormat::Secs, false)
    };
    sessions
        .iter()
        .map(|s| LocalSession {
            start: Some(timestamp(s.start)),
            end: Some(timestamp(s.end)),
            local_start: local(s.start),
            local_end: local(s.end),
            time_zone: time_zone.name().to_owned(),
        })
        .collect()
}

/// A time zone by its IANA name, UTC when unknown.
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_differ_by_recipient_and_channel() {
        let a = notification_id("e1", RecipientKind::City, "makassar", Channel::Email);
        assert_eq!(
            a,
            notification_id("e1", RecipientKind::City, "makassar", Channel::Email)
        );
        assert_ne!(
            a,
            notification_id("e1", RecipientKind::City, "makassar", Channel::CityFeed)
        );
        assert_ne!(
            a,
            notification_id("e1", RecipientKind::City, "colombo", Channel::Email)
        );
        assert_ne!(
            a,
            notification_id("e2", RecipientKind::City, "makassar", Channel::Email)
        );
    }

    #[test]
    fn local_sessions_show_half_hour_zones() {
        let start: DateTime<Utc> = "2027-02-03T03:30:00Z".parse().unwrap();
        let end: DateTime<Utc> = "2027-02-03T11:30:00Z".parse().unwrap();
        let sessions = local_sessions(&[Session { start, end }], zone("Asia/Colombo"));
        assert_eq!(sessions[0].local_start, "2027-02-03T09:00:00+05:30");
        assert_eq!(sessions[0].local_end, "2027-02-03T17:00:00+05:30");
        assert_eq!(sessions[0].time_zone, "Asia/Colombo");
    }

    #[test]
    fn a_feed_for_something_that_is_not_a_city_code_is_not_written() {
        let cause = Cause {
            event_id: "e".into(),
            traceparent: None,
            tracestate: None,
            due_at: Utc::now(),
        };
        let body = contract::proto::cityfeed::v1::EnquiryReceivedNotice::default();
        let feed = |city| {
            city_feed(
                &cause,
                city,
                "enquiry.received",
                "x",
                NoticeKind::EnquiryReceived,
                &About::default(),
                &body,
            )
        };
        assert!(feed("makassar").is_some());
        assert!(feed("a.b").is_none());
        assert!(feed(">").is_none());
    }
}
