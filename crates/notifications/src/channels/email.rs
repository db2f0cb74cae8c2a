//! Email: one attempt to hand one message to an SMTP server (or, with no
//! server configured, to write it into a mail folder as an `.eml` file).
//!
//! The Message-ID comes from the notification id alone, so a message sent
//! again after a crash (sent, but not yet recorded as sent) carries the same
//! Message-ID and mail systems can tell it is the same message. Credentials
//! live only in the SMTP URL, a [`SecretString`] that is never logged nor put
//! in an error.

use super::{ErrorClass, SendError};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::{self, AsyncSmtpTransportBuilder};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tracing::Instrument as _;
use uuid::Uuid;

/// The From of every notification unless configured otherwise.
pub const DEFAULT_FROM: &str = "ileaps notifications <notifications@ileaps.localhost>";

/// How long one attempt may take, connection and all, unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The right-hand side of every Message-ID: ours, whatever the From says, so
/// ids stay the same when the From is reconfigured.
const MESSAGE_ID_DOMAIN: &str = "notifications.ileaps";

/// One email, ready to send: what the templates rendered, and whom for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// The notification this email delivers; its Message-ID and, in a mail
    /// folder, its file name.
    pub notification_id: Uuid,
    pub to_address: String,
    /// The recipient's display name (may be empty).
    pub to_name: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// A BCP 47 tag (`en`, `id`, `ko`), sent as `Content-Language`.
    pub language: String,
}

/// Where emails go.
#[derive(Debug, Clone)]
pub enum EmailTransport {
    /// An SMTP server, by lettre's URL form: `smtp://host:port` (plain),
    /// `smtp://host:587?tls=required` (STARTTLS, or `tls=opportunistic`),
    /// `smtps://user:password@host:465` (TLS from the start).
    Smtp { url: SecretString },
    /// A folder to write one `<notification id>.eml` file per message into
    /// (development, or a deployment without email): created if missing.
    MailFolder(PathBuf),
}

/// What [`EmailSender::new`] needs.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub transport: EmailTransport,
    /// The From mailbox, e.g. [`DEFAULT_FROM`].
    pub from: String,
    /// The bound on one attempt, e.g. [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
}

impl EmailSettings {
    /// Settings for `transport` with the default From and timeout.
    pub fn new(transport: EmailTransport) -> Self {
        EmailSettings {
            transport,
            from: DEFAULT_FROM.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Settings [`EmailSender::new`] cannot work with. Never shows the SMTP URL:
/// it may hold a password.
#[derive(Debug, thiserror::Error)]
pub enum EmailConfigError {
    #[error("the SMTP URL is not usable: {0}")]
    SmtpUrl(String),
    #[error("the From address {from:?} is not a mailbox: {reason}")]
    From { from: String, reason: String },
}

/// Sends emails, one attempt per [`send`](Self::send). Cheap to share: SMTP
/// connections are pooled and reused between messages.
#[derive(Debug, Clone)]
pub struct EmailSender {
    from: Mailbox,
    timeout: Duration,
    delivery: Delivery,
}

#[derive(Debug, Clone)]
enum Delivery {
    Smtp(Arc<SmtpPool>),
    MailFolder(PathBuf),
}

/// lettre's pooled transport, replaced by a fresh pool after an attempt that
/// was cut off by the timeout: that attempt's connection went back to the
/// pool in the middle of a command, and reusing it would read the replies
/// meant for the abandoned command (or send a NOOP into a message body).
/// The old pool closes its connections once the last user lets go of it.
#[derive(Debug)]
struct SmtpPool {
    builder: AsyncSmtpTransportBuilder,
    current: Mutex<AsyncSmtpTransport<Tokio1Executor>>,
}

impl SmtpPool {
    fn new(builder: AsyncSmtpTransportBuilder) -> Self {
        let current = Mutex::new(builder.clone().build());
        SmtpPool { builder, current }
    }

    /// The transport to use now (a cheap handle on the shared pool).
    fn transport(&self) -> AsyncSmtpTransport<Tokio1Executor> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Drops the current pool for a new, empty one.
    fn renew(&self) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = self.builder.clone().build();
    }
}

impl EmailSender {
    /// Checks the settings and prepares the transport; connects to nothing
    /// yet (the first [`send`](Self::send) does).
    pub fn new(settings: EmailSettings) -> Result<Self, EmailConfigError> {
        let from = settings
            .from
            .parse::<Mailbox>()
            .map_err(|error| EmailConfigError::From {
                from: settings.from.clone(),
                reason: error.to_string(),
            })?;
        let delivery = match settings.transport {
            EmailTransport::Smtp { url } => Delivery::Smtp(Arc::new(SmtpPool::new(smtp_builder(
                &url,
                settings.timeout,
            )?))),
            EmailTransport::MailFolder(dir) => Delivery::MailFolder(dir),
        };
        Ok(EmailSender {
            from,
            timeout: settings.timeout,
            delivery,
        })
    }

    /// One attempt to deliver `email`, bounded by the configured timeout.
    /// A message that cannot be built (an address lettre cannot parse) is a
    /// permanent failure; see `classify_smtp` for the rest.
    ///
    /// Runs under a span of its own: `smtp.send`, kind client, for an SMTP
    /// server (`mail_folder.write` for a folder), a child of the current
    /// span; the message carries its `traceparent` as `X-Trace-Parent`.
    pub async fn send(&self, email: &OutgoingEmail) -> Result<(), SendError> {
        let span = match &self.delivery {
            Delivery::Smtp(_) => tracing::info_span!(
                "smtp.send",
                otel.kind = "client",
                network.protocol.name = "smtp",
                notification_id = %email.notification_id,
                error.type = tracing::field::Empty,
                otel.status_code = tracing::field::Empty,
            ),
            Delivery::MailFolder(_) => tracing::info_span!(
                "mail_folder.write",
                notification_id = %email.notification_id,
                error.type = tracing::field::Empty,
                otel.status_code = tracing::field::Empty,
            ),
        };
        let result = self.send_in(email).instrument(span.clone()).await;
        if let Err(error) = &result {
            span.record("error.type", error.class().as_str());
            span.record("otel.status_code", "ERROR");
        }
        result
    }

    async fn send_in(&self, email: &OutgoingEmail) -> Result<(), SendError> {
        let message = build_message(&self.from, email)?;
        let attempt = async {
            match &self.delivery {
                Delivery::Smtp(pool) => pool
                    .transport()
                    .send(message)
                    .await
                    .map(drop)
                    .map_err(|error| classify_smtp(&error)),
                Delivery::MailFolder(dir) => {
                    write_to_folder(dir, email.notification_id, &message.formatted()).await
                }
            }
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => {
                if let Delivery::Smtp(pool) = &self.delivery {
                    pool.renew();
                }
                Err(SendError::Transient {
                    class: ErrorClass::Timeout,
                    message: format!("no answer within {:?}", self.timeout),
                })
            }
        }
    }
}

/// The Message-ID of the email for `notification_id`, angle brackets
/// included: the same for every attempt.
pub fn message_id(notification_id: Uuid) -> String {
    format!("<{notification_id}@{MESSAGE_ID_DOMAIN}>")
}

/// An SMTP transport builder from lettre's URL form, each command bounded
/// by `timeout` too (lettre then marks a connection that timed out as
/// broken). lettre's errors for a bad URL say what is wrong without
/// repeating the URL.
fn smtp_builder(
    url: &SecretString,
    timeout: Duration,
) -> Result<AsyncSmtpTransportBuilder, EmailConfigError> {
    let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
        .map_err(|error| EmailConfigError::SmtpUrl(error.to_string()))?;
    Ok(builder.timeout(Some(timeout)))
}

/// The message as sent: multipart/alternative text and HTML, the
/// notification's Message-ID, Content-Language, and `Auto-Submitted` so
/// that out-of-office robots do not answer it (RFC 3834); `X-Trace-Parent`
/// when a traced span is current (the W3C `traceparent` of the send).
fn build_message(from: &Mailbox, email: &OutgoingEmail) -> Result<Message, SendError> {
    let to_address = email.to_address.parse::<Address>().map_err(|error| {
        invalid_message(format!("the recipient address is not usable: {error}"))
    })?;
    let to_name = Some(email.to_name.trim().to_owned()).filter(|name| !name.is_empty());
    if !is_language_tag(&email.language) {
        return Err(invalid_message(format!(
            "{:?} is not a language tag",
            email.language
        )));
    }
    let mut builder = Message::builder();
    if let Some((traceparent, _)) = telemetry::current_traceparent() {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Trace-Parent"),
            traceparent,
        ));
    }
    builder
        .from(from.clone())
        .to(Mailbox::new(to_name, to_address))
        .subject(email.subject.clone())
        .message_id(Some(message_id(email.notification_id)))
        .date_now()
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Content-Language"),
            email.language.clone(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ))
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|error| invalid_message(format!("the message could not be built: {error}")))
}

fn invalid_message(message: String) -> SendError {
    SendError::Permanent {
        class: ErrorClass::InvalidMessage,
        message,
    }
}

/// A plausible BCP 47 tag: subtags of 1 to 8 letters or digits joined by
/// `-`, the first letters only. Enough to keep a header well-formed.
fn is_language_tag(tag: &str) -> bool {
    let mut subtags = tag.split('-');
    let first_ok = subtags
        .next()
        .is_some_and(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok
        && subtags
            .all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Sorts an SMTP failure into retry-or-stop: a reply code by
/// [`classify_reply`]; a timeout, TLS trouble, a refused or broken
/// connection or an answer that is not SMTP is worth another try.
fn classify_smtp(error: &smtp::Error) -> SendError {
    // lettre's Display shows the kind, the code and the server's text; it
    // never holds the URL or the credentials.
    let message = error.to_string();
    if let Some(code) = error.status() {
        return classify_reply(u16::from(code), message);
    }
    let class = if error.is_timeout() {
        ErrorClass::Timeout
    } else if error.is_tls() || caused_by_tls(error) || message.contains("STARTTLS") {
        // lettre reports "the server offers no STARTTLS" as a client error,
        // with only its text to tell it apart.
        ErrorClass::Tls
    } else {
        ErrorClass::Connection
    };
    SendError::Transient { class, message }
}

/// An SMTP negative reply: 5xx is permanent, except the replies about our
/// own login or TLS (530, 534, 535, 538), which say nothing about the
/// recipient: stopping at those would drop every notification until an
/// operator fixed the settings, while retries give them a day. 4xx is
/// "not now".
fn classify_reply(code: u16, message: String) -> SendError {
    const ABOUT_OUR_CREDENTIALS: [u16; 4] = [530, 534, 535, 538];
    if (500..600).contains(&code) && !ABOUT_OUR_CREDENTIALS.contains(&code) {
        SendError::Permanent {
            class: ErrorClass::PermanentRefusal,
            message,
        }
    } else {
        SendError::Transient {
            class: ErrorClass::TemporaryRefusal,
            message,
        }
    }
}

/// Whether a TLS handshake failed somewhere down `error`'s sources. rustls
/// reports through tokio-rustls as an `io::Error` of kind `InvalidData`
/// (a bad certificate, a peer that does not speak TLS); a plain TCP
/// connection never fails that way, so that kind is the sign. Shared with
/// the webhook sender, whose HTTPS client reports the same way, wrapped in
/// one more `io::Error` (whose `source()` skips the wrapped error, hence
/// `get_ref`).
pub(super) fn caused_by_tls(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(current) = next {
        next = match current.downcast_ref::<std::io::Error>() {
            Some(io) if io.kind() == std::io::ErrorKind::InvalidData => return true,
            Some(io) => io
                .get_ref()
                .map(|inner| inner as _)
                .or_else(|| current.source()),
            None => current.source(),
        };
    }
    false
}

/// Writes `<dir>/<notification id>.eml`: to a temporary name first, then
/// renamed, so the folder never holds half a message and a second write of
/// the same notification replaces the first instead of adding a file. A
/// failure to write is transient (a full disk, a folder being mounted):
/// the folder stands in for the server, hence the Connection class.
async fn write_to_folder(dir: &Path, notification_id: Uuid, bytes: &[u8]) -> Result<(), SendError> {
    let folder_error = |what: &str, error: std::io::Error| SendError::Transient {
        class: ErrorClass::Connection,
        message: format!(
            "could not {what} in the mail folder {}: {error}",
            dir.display()
        ),
    };
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|error| folder_error("create the folder", error))?;
    let path = dir.join(format!("{notification_id}.eml"));
    let temporary = dir.join(format!(
        ".{notification_id}.{}.tmp",
        Uuid::new_v4().simple()
    ));
    tokio::fs::write(&temporary, bytes)
        .await
        .map_err(|error| folder_error("write a message", error))?;
    if let Err(error) = tokio::fs::rename(&temporary, &path).await {
        let _ = tokio::fs::remove_file(&temporary).await;
        return Err(folder_error("rename a message", error));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> OutgoingEmail {
        OutgoingEmail {
            notification_id: Uuid::from_u128(7),
            to_address: "innovation.office@makassar.example".to_owned(),
            to_name: "A. Rahman".to_owned(),
            subject: "Lokakarya dijadwalkan".to_owned(),
            text: "Halo".to_owned(),
            html: "<p>Halo</p>".to_owned(),
            language: "id".to_owned(),
        }
    }

    fn from() -> Mailbox {
        DEFAULT_FROM.parse().expect("the default From parses")
    }

    #[test]
    fn the_message_id_depends_on_the_notification_id_only() {
        let id = Uuid::from_u128(7);
        assert_eq!(message_id(id), message_id(id));
        assert_eq!(
            message_id(id),
            "<00000000-0000-0000-0000-000000000007@notifications.ileaps>"
        );
        assert_ne!(message_id(id), message_id(Uuid::from_u128(8)));
    }

    #[test]
    fn a_built_message_carries_the_notification_headers() {
        let message = build_message(&from(), &email()).expect("builds");
        let text = String::from_utf8(message.formatted()).expect("ascii");
        assert!(
            text.contains(
                "Message-ID: <00000000-0000-0000-0000-000000000007@notifications.ileaps>"
            )
        );
        assert!(text.contains("Content-Language: id"));
        assert!(text.contains("Auto-Submitted: auto-generated"));
        assert!(text.contains("multipart/alternative"));
    }

    #[test]
    fn an_unparseable_recipient_is_a_permanent_invalid_message() {
        let bad = OutgoingEmail {
            to_address: "not an address".to_owned(),
            ..email()
        };
        let error = build_message(&from(), &bad).expect_err("refused");
        assert!(error.is_permanent());
        assert_eq!(error.class(), ErrorClass::InvalidMessage);
    }

    #[test]
    fn a_malformed_language_is_refused_before_it_reaches_a_header() {
        for language in ["", "en\r\nBcc: x@y.example", "toolongsubtag", "-en"] {
            let bad = OutgoingEmail {
                language: language.to_owned(),
                ..email()
            };
            let error = build_message(&from(), &bad).expect_err(language);
            assert_eq!(error.class(), ErrorClass::InvalidMessage, "{language:?}");
        }
        for language in ["en", "id", "ko", "pt-BR", "zh-Hant-TW"] {
            assert!(is_language_tag(language), "{language}");
        }
    }

    #[test]
    fn replies_sort_into_stop_and_retry() {
        let class = |code| {
            let error = classify_reply(code, String::new());
            (error.is_permanent(), error.class())
        };
        assert_eq!(class(550), (true, ErrorClass::PermanentRefusal));
        assert_eq!(class(554), (true, ErrorClass::PermanentRefusal));
        assert_eq!(class(451), (false, ErrorClass::TemporaryRefusal));
        assert_eq!(class(421), (false, ErrorClass::TemporaryRefusal));
        assert_eq!(class(535), (false, ErrorClass::TemporaryRefusal));
        assert_eq!(class(530), (false, ErrorClass::TemporaryRefusal));
    }

    #[test]
    fn a_bad_smtp_url_is_refused_without_repeating_it() {
        let settings = EmailSettings::new(EmailTransport::Smtp {
            url: SecretString::from("gopher://user:hunter2@mail.example:25"),
        });
        let error = EmailSender::new(settings).expect_err("unknown scheme");
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}
