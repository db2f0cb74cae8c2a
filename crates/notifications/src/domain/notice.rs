//! What there is to tell, and to whom: the input of [`super::render`].
//!
//! Every string that came from a city (its reference, its contact's name, a
//! withdrawal reason) is untrusted: templates escape and cap it.

use chrono::{DateTime, NaiveDate, Utc};
use contract::proto::assignment::v1::ExpertRole as Role;
use contract::proto::common::v1::{EnquiryKind, Format, Topic};

/// One session of a workshop, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// One rejection reason as intake gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: String,
    pub field: String,
    pub message: String,
}

/// An expert on a workshop, as cities see them (display name, never an address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpertOnWorkshop {
    pub display_name: String,
    pub role: Role,
}

/// What a workshop is, as its confirmations, changes and reminders tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkshopSummary {
    pub workshop_id: String,
    pub version: u32,
    pub kind: EnquiryKind,
    pub format: Format,
    pub primary_topic: Topic,
    /// The host city's code; `None` for a virtual workshop.
    pub host_city: Option<String>,
    pub sessions: Vec<Session>,
    /// The participating cities' codes.
    pub cities: Vec<String>,
    pub experts: Vec<ExpertOnWorkshop>,
}

/// What happened, from the recipient's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The enquiry was accepted (DOMAIN.md Notifications rule 1).
    Received {
        reference: String,
        enquiry_id: String,
        kind: EnquiryKind,
        topics: Vec<Topic>,
        window_start: NaiveDate,
        window_end: NaiveDate,
        priority: bool,
    },
    /// The enquiry was rejected, with every reason.
    Rejected {
        /// `None` when the body could not be parsed far enough to read it.
        reference: Option<String>,
        reasons: Vec<Reason>,
    },
    /// The city withdrew its enquiry.
    Withdrawn {
        reference: String,
        enquiry_id: String,
    },
    /// The workshop is scheduled and staffed; sent again when dates or
    /// people change (rule 2).
    Confirmed {
        workshop: WorkshopSummary,
        /// The city's own reference, for a city recipient.
        reference: Option<String>,
    },
    /// New dates (rule 3).
    Rescheduled {
        workshop: WorkshopSummary,
        reason: String,
        reference: Option<String>,
    },
    /// The workshop will not take place (rule 3).
    Cancelled {
        workshop: WorkshopSummary,
        reason: String,
        reference: Option<String>,
    },
    /// No workshop could be planned for the enquiry (rule 3): the reason and
    /// what the city could change.
    Unschedulable {
        reference: String,
        enquiry_id: String,
        reason_code: String,
    },
    /// 7 days or 1 day before the first session (rule 4).
    Reminder {
        workshop: WorkshopSummary,
        days_before: u32,
        reference: Option<String>,
    },
}

/// Whom a message is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientRole {
    /// A partner city's contact person.
    City { city: String },
    /// An expert, in the role they have on the workshop (when there is one).
    Expert {
        expert_id: String,
        role: Option<Role>,
    },
}

/// A person to write to: how to greet them and in which language and time
/// zone. The address itself is the channel's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub role: RecipientRole,
    /// Untrusted when it came from a city.
    pub name: String,
    /// BCP 47; templates fall back to English when they have none for it.
    pub language: String,
    /// The recipient's IANA zone, for local times next to UTC.
    pub time_zone: chrono_tz::Tz,
}
