//! The three ways notifications reaches the outside world. Each sender
//! makes one attempt and says whether a failure is worth retrying; the
//! delivery worker ([`crate::worker`]) decides when to try again.

pub mod email;
pub mod webhook;

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The peer refused for good (SMTP 5xx, HTTP 410, a target that is not
    /// allowed): stop now, do not retry.
    #[error("permanent refusal ({class}): {message}")]
    Permanent { class: ErrorClass, message: String },
    /// Worth another attempt later (connection trouble, timeout, SMTP 4xx,
    /// HTTP 5xx or 429).
    #[error("transient failure ({class}): {message}")]
    Transient { class: ErrorClass, message: String },
}

impl SendError {
    pub fn class(&self) -> ErrorClass {
        match self {
            SendError::Permanent { class, .. } | SendError::Transient { class, .. } => *class,
        }
    }

    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent { .. })
    }
}

/// The error classes `notification.failed` reports in `lastErrorClass`:
/// stable names operators can alert on, never an address or a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The peer said no for good (SMTP 5xx, HTTP 410).
    PermanentRefusal,
    /// The peer said not now (SMTP 4xx, HTTP 5xx, 429, other 4xx).
    TemporaryRefusal,
    /// No answer in time.
    Timeout,
    /// Could not connect, or the connection broke.
    Connection,
    /// TLS could not be set up or verified.
    Tls,
    /// A webhook target in a private or loopback range, not allowed for it.
    TargetNotAllowed,
    /// The message could not be built (a bad address).
    InvalidMessage,
}

impl ErrorClass {
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorClass::PermanentRefusal => "PERMANENT_REFUSAL",
            ErrorClass::TemporaryRefusal => "TEMPORARY_REFUSAL",
            ErrorClass::Timeout => "TIMEOUT",
            ErrorClass::Connection => "CONNECTION",
            ErrorClass::Tls => "TLS",
            ErrorClass::TargetNotAllowed => "TARGET_NOT_ALLOWED",
            ErrorClass::InvalidMessage => "INVALID_MESSAGE",
        }
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
