//! Notifications' own settings, read from `ILEAPS_*` variables next to the
//! ones every service shares (`service_kit::Settings`).

use crate::channels::email::{DEFAULT_FROM, EmailTransport};
use crate::domain::RetryPolicy;
use secrecy::SecretString;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the delivery worker and the handlers need beyond the shared
/// settings.
#[derive(Debug, Clone)]
pub struct NotificationSettings {
    /// `ILEAPS_SMTP_URL` (e.g. `smtps://user:password@mail.example:465`,
    /// `smtp://mail.example:587?tls=required`; secret: it may hold a
    /// password), else `ILEAPS_MAIL_DIR`: each message as a `.eml` file, for
    /// `ileaps run` and `demo` on a laptop and sites without a mail relay.
    pub email: EmailTransport,
    /// `ILEAPS_MAIL_FROM`: the From of every email.
    pub mail_from: String,
    /// `ILEAPS_NOTIFY_MAX_ATTEMPTS` and `ILEAPS_NOTIFY_RETRY_BASE_SECS`.
    pub retry: RetryPolicy,
    /// `ILEAPS_NOTIFY_SEND_TIMEOUT_SECS`: one attempt's limit, per channel.
    pub send_timeout: Duration,
    /// How long a claimed delivery is left to its worker before another may
    /// try it (longer than any attempt can take).
    pub lease: Duration,
    /// `ILEAPS_NOTIFY_POLL_MILLIS`: how often the worker looks for due
    /// deliveries (reminders, retries) when nothing woke it.
    pub poll_interval: Duration,
    /// Deliveries sent at once by one worker.
    pub concurrency: usize,
    /// Reminders, in days before the first session (DOMAIN.md: 7 and 1).
    pub reminder_days: Vec<u32>,
}

impl NotificationSettings {
    /// The defaults, with email written to `mail_dir`.
    pub fn with_mail_folder(mail_dir: PathBuf) -> Self {
        Self {
            email: EmailTransport::MailFolder(mail_dir),
            mail_from: DEFAULT_FROM.to_owned(),
            retry: RetryPolicy::default(),
            send_timeout: Duration::from_secs(30),
            lease: Duration::from_secs(120),
            poll_interval: Duration::from_secs(2),
            concurrency: 16,
            reminder_days: vec![7, 1],
        }
    }

    /// Reads the environment. Without `ILEAPS_SMTP_URL`, mail goes to
    /// `ILEAPS_MAIL_DIR` (default `./ileaps-mail`), and the service says so
    /// at start.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mail_dir = lookup("ILEAPS_MAIL_DIR")
            .filter(|s| !s.is_empty())
            .map_or_else(|| PathBuf::from("ileaps-mail"), PathBuf::from);
        let mut settings = Self::with_mail_folder(mail_dir);
        if let Some(url) = lookup("ILEAPS_SMTP_URL").filter(|s| !s.is_empty()) {
            settings.email = EmailTransport::Smtp {
                url: SecretString::from(url),
            };
        }
        if let Some(from) = lookup("ILEAPS_MAIL_FROM").filter(|s| !s.is_empty()) {
            settings.mail_from = from;
        }
        let number = |name: &str| -> anyhow::Result<Option<u64>> {
            lookup(name)
                .filter(|s| !s.is_empty())
                .map(|raw| {
                    raw.trim()
                        .parse::<u64>()
                        .map_err(|_| anyhow::anyhow!("{name}={raw:?} is not a whole number"))
                })
                .transpose()
        };
        if let Some(n) = number("ILEAPS_NOTIFY_MAX_ATTEMPTS")? {
            anyhow::ensure!(
                (1..=100).contains(&n),
                "ILEAPS_NOTIFY_MAX_ATTEMPTS must be 1 to 100"
            );
            settings.retry.max_attempts = u32::try_from(n)?;
        }
        if let Some(secs) = number("ILEAPS_NOTIFY_RETRY_BASE_SECS")? {
            settings.retry.base = Duration::from_secs(secs.max(1));
        }
        if let Some(secs) = number("ILEAPS_NOTIFY_SEND_TIMEOUT_SECS")? {
            settings.send_timeout = Duration::from_secs(secs.clamp(1, 600));
            settings.lease = settings.send_timeout * 4;
        }
        if let Some(ms) = number("ILEAPS_NOTIFY_POLL_MILLIS")? {
            settings.poll_interval = Duration::from_millis(ms.max(10));
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_smtp_mail_goes_to_a_folder() {
        let settings = NotificationSettings::from_lookup(|_| None).unwrap();
        assert!(
            matches!(settings.email, EmailTransport::MailFolder(ref p) if p.ends_with("ileaps-mail"))
        );
        assert_eq!(settings.retry, RetryPolicy::default());
    }

    #[test]
    fn smtp_and_retry_settings_are_read_and_checked() {
        let env = |name: &str| match name {
            "ILEAPS_SMTP_URL" => Some("smtp://mail.example:25".to_owned()),
            "ILEAPS_NOTIFY_MAX_ATTEMPTS" => Some("3".to_owned()),
            "ILEAPS_NOTIFY_RETRY_BASE_SECS" => Some("5".to_owned()),
            _ => None,
        };
        let settings = NotificationSettings::from_lookup(env).unwrap();
        assert!(matches!(settings.email, EmailTransport::Smtp { .. }));
        assert_eq!(settings.retry.max_attempts, 3);
        assert_eq!(settings.retry.base, Duration::from_secs(5));
        // The URL may carry a password: never shown.
        assert!(!format!("{settings:?}").contains("mail.example"));

        let bad = |name: &str| (name == "ILEAPS_NOTIFY_MAX_ATTEMPTS").then(|| "many".to_owned());
        let error = NotificationSettings::from_lookup(bad).unwrap_err();
        assert!(error.to_string().contains("ILEAPS_NOTIFY_MAX_ATTEMPTS"));
    }
}
