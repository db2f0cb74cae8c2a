//! Start-up connections against real (or deliberately absent) servers.

mod support;

use std::time::Duration;

use service_kit::{ConnectError, connect_nats, connect_postgres};

#[tokio::test]
async fn connect_nats_names_the_client_and_connects() {
    let nats = support::NatsServer::start();
    let settings = support::settings(&[("ILEAPS_NATS_URL", nats.url())]);
    let client = connect_nats(&settings).await.expect("connect");
    assert_eq!(
        client.connection_state(),
        async_nats::connection::State::Connected
    );
    // A round trip proves the connection is usable, not only open.
    client.flush().await.unwrap();
}

#[tokio::test]
async fn connect_nats_waits_for_a_server_that_starts_late() {
    let port = support::closed_port();
    let settings = support::settings(&[
        ("ILEAPS_NATS_URL", format!("nats://127.0.0.1:{port}")),
        ("ILEAPS_CONNECT_TIMEOUT_SECS", "20".to_owned()),
    ]);
    let connecting = tokio::spawn(async move { connect_nats(&settings).await });
    let _nats = support::NatsServer::start_on(port, &[]);
    let client = connecting
        .await
        .unwrap()
        .expect("connected once the server came up");
    client.flush().await.unwrap();
}

#[tokio::test]
async fn connect_nats_gives_up_at_the_deadline() {
    let settings = support::settings(&[
        (
            "ILEAPS_NATS_URL",
            format!("nats://127.0.0.1:{}", support::closed_port()),
        ),
        ("ILEAPS_CONNECT_TIMEOUT_SECS", "1".to_owned()),
    ]);
    let error = connect_nats(&settings).await.unwrap_err();
    let ConnectError::Nats {
        attempts, waited, ..
    } = &error
    else {
        panic!("unexpected error: {error:?}");
    };
    assert!(*attempts >= 2, "it retried: {error}");
    assert!(*waited < Duration::from_secs(10), "{error}");
}

#[tokio::test]
async fn connect_nats_uses_the_user_and_password() {
    let nats = support::NatsServer::start_with(&["--user", "intake", "--pass", "s3cret"]);
    let settings = support::settings(&[
        ("ILEAPS_NATS_URL", nats.url()),
        ("ILEAPS_NATS_USER", "intake".to_owned()),
        ("ILEAPS_NATS_PASSWORD", "s3cret".to_owned()),
    ]);
    let client = connect_nats(&settings)
        .await
        .expect("connect with the password");
    client.flush().await.unwrap();
}

#[tokio::test]
async fn a_wrong_nats_password_fails_at_once_without_retrying() {
    let nats = support::NatsServer::start_with(&["--user", "intake", "--pass", "s3cret"]);
    let settings = support::settings(&[
        ("ILEAPS_NATS_URL", nats.url()),
        ("ILEAPS_NATS_USER", "intake".to_owned()),
        ("ILEAPS_NATS_PASSWORD", "wrong".to_owned()),
        ("ILEAPS_CONNECT_TIMEOUT_SECS", "60".to_owned()),
    ]);
    // The server may still be starting, so a few refused connections may come
    // first; the authorisation failure then ends the attempts at once.
    let error = tokio::time::timeout(Duration::from_secs(30), connect_nats(&settings))
        .await
        .expect("no waiting for the deadline on bad credentials")
        .unwrap_err();
    assert!(
        matches!(&error, ConnectError::Nats { source, .. }
            if source.kind() == async_nats::ConnectErrorKind::AuthorizationViolation),
        "{error:?}"
    );
    assert!(!format!("{error:?}").contains("wrong"), "{error:?}");
}

#[tokio::test]
async fn connect_postgres_gives_up_at_the_deadline_without_showing_the_password() {
    let settings = support::settings(&[
        (
            "ILEAPS_DATABASE_URL",
            format!(
                "postgres://svc:hunter2@127.0.0.1:{}/ileaps",
                support::closed_port()
            ),
        ),
        ("ILEAPS_CONNECT_TIMEOUT_SECS", "1".to_owned()),
    ]);
    let error = connect_postgres(&settings).await.unwrap_err();
    let ConnectError::Postgres {
        target, attempts, ..
    } = &error
    else {
        panic!("unexpected error: {error:?}");
    };
    assert!(*attempts >= 2, "it retried: {error}");
    assert!(target.contains("svc:***@127.0.0.1"), "{target}");
    assert!(
        !format!("{error} {error:?}").contains("hunter2"),
        "{error:?}"
    );
}
