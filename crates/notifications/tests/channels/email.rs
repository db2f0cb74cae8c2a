//! `EmailSender` against a real SMTP server, and into a mail folder.

use crate::{DEADLINE, closed_port};
use notifications::channels::email::{
    EmailSender, EmailSettings, EmailTransport, OutgoingEmail, message_id,
};
use notifications::channels::{ErrorClass, SendError};
use secrecy::SecretString;
use std::time::Duration;
use test_support::SmtpServer;
use uuid::Uuid;

/// An email to `to_address` in Indonesian, with a Korean name in the
/// subject, so encoded words and non-ASCII bodies are exercised.
fn email_to(to_address: &str) -> OutgoingEmail {
    OutgoingEmail {
        notification_id: Uuid::now_v7(),
        to_address: to_address.to_owned(),
        to_name: "Kantor Inovasi Makassar".to_owned(),
        subject: "Lokakarya terjadwal: 12–14 Mei, fasilitator 김민준".to_owned(),
        text: "Lokakarya Anda dijadwalkan.\nTanggal: 12–14 Mei 2027 (WITA)\n".to_owned(),
        html: "<p>Lokakarya Anda dijadwalkan: <b>12–14 Mei 2027</b> — 김민준</p>".to_owned(),
        language: "id".to_owned(),
    }
}

fn sender_for_url(url: String, timeout: Duration) -> EmailSender {
    let mut settings = EmailSettings::new(EmailTransport::Smtp {
        url: SecretString::from(url),
    });
    settings.timeout = timeout;
    EmailSender::new(settings).expect("valid settings")
}

fn sender_for(smtp: &SmtpServer) -> EmailSender {
    sender_for_url(smtp.url(), Duration::from_secs(10))
}

fn assert_failure(result: Result<(), SendError>, permanent: bool, class: ErrorClass) {
    let error = result.expect_err("the send fails");
    assert_eq!(error.is_permanent(), permanent, "{error}");
    assert_eq!(error.class(), class, "{error}");
}

#[tokio::test]
async fn an_email_reaches_the_server_with_its_envelope_headers_and_both_parts() {
    let smtp = SmtpServer::start().await;
    let email = email_to("innovation.office@makassar.example");

    sender_for(&smtp).send(&email).await.expect("sent");

    let received = smtp.wait_for(1, DEADLINE).await.remove(0);
    assert_eq!(received.rcpt_to, ["innovation.office@makassar.example"]);
    assert_eq!(
        received.mail_from.as_deref(),
        Some("notifications@ileaps.localhost")
    );
    assert_eq!(
        received.header("to"),
        Some("Kantor Inovasi Makassar <innovation.office@makassar.example>")
    );
    assert_eq!(
        received.header("FROM"),
        Some("ileaps notifications <notifications@ileaps.localhost>")
    );
    assert_eq!(received.subject(), Some(email.subject.as_str()));
    assert_eq!(
        received.message_id(),
        Some(message_id(email.notification_id).as_str())
    );
    assert_eq!(received.header("content-language"), Some("id"));
    assert!(received.header("date").is_some());
    assert_eq!(received.content_type, "multipart/alternative");
    assert_eq!(
        received.text.as_deref().map(str::trim_end),
        Some(email.text.trim_end())
    );
    assert_eq!(
        received.html.as_deref().map(str::trim_end),
        Some(email.html.as_str())
    );
    // Non-ASCII headers travel as RFC 2047 encoded words, not raw UTF-8.
    let raw = String::from_utf8_lossy(&received.raw);
    assert!(raw.contains("=?utf-8?"), "{raw}");
    assert!(
        !raw.lines()
            .any(|line| line.starts_with("Subject:") && !line.is_ascii())
    );
}

#[tokio::test]
async fn sending_one_notification_twice_gives_the_same_message_id() {
    let smtp = SmtpServer::start().await;
    let sender = sender_for(&smtp);
    let first = email_to("expert.one@ileaps.example");
    let other = email_to("expert.one@ileaps.example");

    sender.send(&first).await.expect("first attempt");
    sender.send(&first).await.expect("second attempt");
    sender.send(&other).await.expect("another notification");

    let received = smtp.wait_for(3, DEADLINE).await;
    let ids: Vec<Option<&str>> = received.iter().map(|m| m.message_id()).collect();
    let expected = message_id(first.notification_id);
    assert_eq!(ids[0], Some(expected.as_str()));
    assert_eq!(ids[1], Some(expected.as_str()));
    assert_eq!(ids[2], Some(message_id(other.notification_id).as_str()));
    assert_ne!(ids[0], ids[2]);
}

#[tokio::test]
async fn a_refused_recipient_is_a_permanent_refusal() {
    let smtp = SmtpServer::start().await;

    let result = sender_for(&smtp)
        .send(&email_to("refuse.me@makassar.example"))
        .await;

    let error = result.clone().expect_err("refused");
    assert_eq!(error.class().as_str(), "PERMANENT_REFUSAL");
    assert!(error.to_string().contains("550"), "{error}");
    assert_failure(result, true, ErrorClass::PermanentRefusal);
    assert!(smtp.messages().is_empty());
}

#[tokio::test]
async fn a_recipient_told_to_come_back_later_is_a_transient_refusal() {
    let smtp = SmtpServer::start().await;
    let sender = sender_for(&smtp);

    let result = sender
        .send(&email_to("later.please@makassar.example"))
        .await;

    assert_failure(result, false, ErrorClass::TemporaryRefusal);
    assert!(smtp.messages().is_empty());
    // The refusal does not spoil the pooled connection for the next message.
    sender
        .send(&email_to("innovation.office@makassar.example"))
        .await
        .expect("the next message goes");
    smtp.wait_for(1, DEADLINE).await;
}

#[tokio::test]
async fn a_server_that_is_not_there_is_a_transient_connection_failure() {
    let sender = sender_for_url(
        format!("smtp://127.0.0.1:{}", closed_port()),
        Duration::from_secs(10),
    );

    let result = sender
        .send(&email_to("innovation.office@makassar.example"))
        .await;

    assert_failure(result, false, ErrorClass::Connection);
}

#[tokio::test]
async fn sending_fails_transiently_during_an_outage_and_resumes_after_it() {
    let mut smtp = SmtpServer::start().await;
    let sender = sender_for(&smtp);
    sender
        .send(&email_to("before@makassar.example"))
        .await
        .expect("sent before the outage");

    smtp.stop().await;
    let result = sender.send(&email_to("during@makassar.example")).await;
    assert_failure(result, false, ErrorClass::Connection);

    smtp.restart().await;
    sender
        .send(&email_to("after@makassar.example"))
        .await
        .expect("sent after the outage");
    let received = smtp.wait_for(2, DEADLINE).await;
    assert_eq!(received[1].rcpt_to, ["after@makassar.example"]);
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout() {
    // Accepts connections and says nothing, not even the greeting.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let sender = sender_for_url(
        format!("smtp://127.0.0.1:{port}"),
        Duration::from_millis(500),
    );

    let result = sender
        .send(&email_to("innovation.office@makassar.example"))
        .await;

    assert_failure(result, false, ErrorClass::Timeout);
    silent.abort();
}

#[tokio::test]
async fn after_a_timeout_mid_message_the_next_email_goes_on_a_fresh_connection() {
    let smtp = SmtpServer::start().await;
    let sender = sender_for_url(smtp.url(), Duration::from_secs(1));
    let slow = email_to("slow.reply@makassar.example");

    let result = sender.send(&slow).await;
    assert_failure(result, false, ErrorClass::Timeout);
    // The server kept it although the sender gave up, and its late "250"
    // now waits on the abandoned connection. A retry sends the message
    // again, recognisable by its Message-ID.
    let kept = smtp.wait_for(1, DEADLINE).await.remove(0);
    assert_eq!(
        kept.message_id(),
        Some(message_id(slow.notification_id).as_str())
    );

    sender
        .send(&email_to("innovation.office@makassar.example"))
        .await
        .expect("the next email goes");
    let received = smtp.wait_for(2, DEADLINE).await;
    assert_eq!(received[1].rcpt_to, ["innovation.office@makassar.example"]);
    // Reusing the abandoned connection would read the stale "250" as the
    // answer to the next command, every reply one step behind.
    assert_ne!(received[1].peer, received[0].peer);
}

#[tokio::test]
async fn requiring_starttls_from_a_server_without_it_is_a_tls_failure() {
    let smtp = SmtpServer::start().await;
    let sender = sender_for_url(
        format!("smtp://127.0.0.1:{}?tls=required", smtp.port()),
        Duration::from_secs(10),
    );

    let result = sender
        .send(&email_to("innovation.office@makassar.example"))
        .await;

    assert_failure(result, false, ErrorClass::Tls);
    assert!(smtp.messages().is_empty());
}

#[tokio::test]
async fn implicit_tls_to_a_plain_server_is_a_tls_failure_that_keeps_the_password_secret() {
    let smtp = SmtpServer::start().await;
    let sender = sender_for_url(
        format!("smtps://mailer:hunter2-secret@127.0.0.1:{}", smtp.port()),
        Duration::from_secs(10),
    );

    let result = sender
        .send(&email_to("innovation.office@makassar.example"))
        .await;

    let error = result.clone().expect_err("no TLS there");
    assert!(!error.to_string().contains("hunter2"), "{error}");
    assert!(!format!("{sender:?}").contains("hunter2"));
    assert_failure(result, false, ErrorClass::Tls);
}

#[tokio::test]
async fn an_address_that_cannot_be_parsed_is_a_permanent_invalid_message() {
    let smtp = SmtpServer::start().await;

    let result = sender_for(&smtp).send(&email_to("no at sign here")).await;

    assert_failure(result, true, ErrorClass::InvalidMessage);
    assert!(smtp.messages().is_empty());
}

#[tokio::test]
async fn a_mail_folder_holds_one_readable_eml_per_notification() {
    let folder = test_support::test_infra_dir().join(format!("mail-{}", Uuid::new_v4().simple()));
    let sender = EmailSender::new(EmailSettings::new(EmailTransport::MailFolder(
        folder.clone(),
    )))
    .expect("valid settings");
    let first = email_to("innovation.office@makassar.example");
    let second = email_to("expert.one@ileaps.example");

    sender.send(&first).await.expect("written");
    sender.send(&first).await.expect("written again");
    sender.send(&second).await.expect("written");

    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .expect("the folder was created")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    let mut expected = vec![
        format!("{}.eml", first.notification_id),
        format!("{}.eml", second.notification_id),
    ];
    expected.sort();
    assert_eq!(names, expected);

    let raw = std::fs::read(folder.join(format!("{}.eml", first.notification_id))).expect("read");
    let message = test_support::smtp::parse_message(&raw);
    assert_eq!(message.subject(), Some(first.subject.as_str()));
    assert_eq!(
        message.message_id(),
        Some(message_id(first.notification_id).as_str())
    );
    assert_eq!(
        message.header("to"),
        Some("Kantor Inovasi Makassar <innovation.office@makassar.example>")
    );
    assert_eq!(
        message.text.as_deref().map(str::trim_end),
        Some(first.text.trim_end())
    );
    assert!(message.html.is_some());
    std::fs::remove_dir_all(&folder).expect("clean up");
}
