//! Notifications' pure rules: what a message says ([`templates`]), when a
//! failed delivery is tried again ([`backoff`]), how a webhook is signed
//! ([`signing`]) and which webhook targets are allowed ([`target`]). No I/O.

pub mod backoff;
pub mod notice;
pub mod signing;
pub mod target;
pub mod templates;

pub use backoff::RetryPolicy;
pub use notice::{
    ExpertOnWorkshop, Notice, Reason, Recipient, RecipientRole, Session, WorkshopSummary,
};
pub use signing::{SignatureError, WebhookSecret};
pub use target::{
    NonPublicRange, TargetError, check_resolved, check_target_url, is_public_address,
};
pub use templates::{RenderedEmail, advice_for, language_for, render};
