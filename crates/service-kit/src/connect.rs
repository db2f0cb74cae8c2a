//! Owns start-up connections to NATS and Postgres: credentials, client names,
//! and waiting (within a deadline) for infrastructure that is still starting.

use std::future::Future;
use std::path::PathBuf;
use std::str::FromStr as _;
use std::time::Duration;

use async_nats::ConnectErrorKind;
use secrecy::ExposeSecret as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection as _, PgPool};
use tokio::time::Instant;

use crate::settings::{Settings, parse_nats_servers};

/// Longest a single connection attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// First and longest pause between attempts.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(100);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(2);
/// How long a handler may wait for a pooled connection before its work
/// fails (retryably). Long waits mean the pool is too small or the database
/// is in trouble; either way, better to hand the message back.
const POOL_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a service could not reach its infrastructure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// `nats_url` was changed after it was read and no longer parses.
    #[error("{url:?} is not a NATS server address")]
    InvalidNatsUrl {
        url: String,
        #[source]
        source: std::io::Error,
    },
    /// The `.creds` file could not be read or holds no credentials.
    #[error("could not use the NATS credentials file {}", path.display())]
    NatsCredentials {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// NATS refused us, or did not answer before the deadline.
    #[error("could not connect to NATS at {servers} ({attempts} attempts in {waited:?})")]
    Nats {
        servers: String,
        attempts: u32,
        waited: Duration,
        #[source]
        source: async_nats::ConnectError,
    },
    /// `database_url` was changed after it was read and no longer parses.
    #[error("the database URL is not a valid Postgres URL")]
    InvalidDatabaseUrl(#[source] sqlx::Error),
    /// Postgres refused us, or did not answer before the deadline.
    #[error("could not connect to Postgres at {target} ({attempts} attempts in {waited:?})")]
    Postgres {
        target: String,
        attempts: u32,
        waited: Duration,
        #[source]
        source: sqlx::Error,
    },
}

/// Connects to NATS as `settings.client_name`, with the configured
/// credentials, trying again until `settings.connect_timeout` while the
/// server is unreachable (not when it refuses the credentials).
///
/// Once connected, the client reconnects by itself for as long as the process
/// lives; connection events are logged.
pub async fn connect_nats(settings: &Settings) -> Result<async_nats::Client, ConnectError> {
    let servers =
        parse_nats_servers(&settings.nats_url).map_err(|source| ConnectError::InvalidNatsUrl {
            url: settings.nats_url_redacted(),
            source,
        })?;

    let mut options = async_nats::ConnectOptions::new()
        .name(&settings.client_name)
        .connection_timeout(ATTEMPT_TIMEOUT.min(settings.connect_timeout))
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Connected => tracing::info!("NATS connection established"),
                other => tracing::warn!(event = %other, "NATS connection event"),
            }
        });
    if let Some(path) = &settings.nats_creds {
        options = options.credentials_file(path).await.map_err(|source| {
            ConnectError::NatsCredentials {
                path: path.clone(),
                source,
            }
        })?;
    }
    if let (Some(user), Some(password)) = (&settings.nats_user, &settings.nats_password) {
        options = options.user_and_password(user.clone(), password.expose_secret().to_owned());
    }

    let servers_shown = settings.nats_url_redacted();
    let started = Instant::now();
    retry_until(
        "NATS",
        &servers_shown,
        settings.connect_timeout,
        || options.clone().connect(servers.clone()),
        |error: &async_nats::ConnectError| {
            // Wrong credentials or a bad TLS set-up will not fix themselves.
            !matches!(
                error.kind(),
                ConnectErrorKind::Authentication
                    | ConnectErrorKind::AuthorizationViolation
                    | ConnectErrorKind::ServerParse
                    | ConnectErrorKind::Tls
            )
        },
    )
    .await
    .map_err(|(source, attempts)| ConnectError::Nats {
        servers: servers_shown.clone(),
        attempts,
        waited: started.elapsed(),
        source,
    })
}

/// Opens a Postgres pool of `settings.db_max_connections`, named
/// `settings.client_name`, trying again until `settings.connect_timeout`
/// while the server is unreachable or still starting.
///
/// Connections are not pinged before each use: that would add a round trip to
/// every transaction, and a connection broken by a database restart fails its
/// next statement anyway, which handlers treat as retryable.
pub async fn connect_postgres(settings: &Settings) -> Result<PgPool, ConnectError> {
    let options = PgConnectOptions::from_str(settings.database_url.expose_secret())
        .map_err(ConnectError::InvalidDatabaseUrl)?
        .application_name(&settings.client_name);
    let target = settings.database_url_redacted();

    // Wait for the server with single connections rather than the pool: the
    // pool retries by itself but then reports only "timed out", hiding why.
    let started = Instant::now();
    let probe = retry_until(
        "Postgres",
        &target,
        settings.connect_timeout,
        || {
            let options = options.clone();
            async move {
                match tokio::time::timeout(
                    ATTEMPT_TIMEOUT,
                    sqlx::PgConnection::connect_with(&options),
                )
                .await
                {
                    Ok(result) => result,
                    Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no answer within {ATTEMPT_TIMEOUT:?}"),
                    ))),
                }
            }
        },
        is_transient_postgres_error,
    )
    .await;
    let failed = |(source, attempts)| ConnectError::Postgres {
        target: target.clone(),
        attempts,
        waited: started.elapsed(),
        source,
    };
    let connection = probe.map_err(failed)?;
    // Only a probe; closing it politely is not worth waiting for an error.
    let _ = connection.close().await;

    PgPoolOptions::new()
        .max_connections(settings.db_max_connections)
        .acquire_timeout(POOL_ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(|source| failed((source, 1)))
}

/// Errors worth another attempt: the server is not (yet) reachable or is
/// still starting. Anything else (a wrong password, a missing database) is
/// reported at once.
fn is_transient_postgres_error(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(error) => {
            // too_many_connections, cannot_connect_now (starting up)
            matches!(error.code().as_deref(), Some("53300" | "57P03"))
        }
        _ => false,
    }
}

/// Calls `attempt` until it succeeds, fails in a way `retryable` rejects, or
/// no new attempt can start before `deadline` has passed. Returns the last
/// error and the number of attempts.
async fn retry_until<T, E, F, Fut>(
    what: &str,
    target: &str,
    deadline: Duration,
    mut attempt: F,
    retryable: impl Fn(&E) -> bool,
) -> Result<T, (E, u32)>
where
    E: std::error::Error + 'static,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let mut delay = FIRST_RETRY_DELAY;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let error = match attempt().await {
            Ok(value) => {
                if attempts > 1 {
                    tracing::info!(target_addr = target, attempts, "connected to {what}");
                }
                return Ok(value);
            }
            Err(error) => error,
        };
        if !retryable(&error) || started.elapsed() + delay >= deadline {
            return Err((error, attempts));
        }
        tracing::warn!(
            target_addr = target,
            attempt = attempts,
            retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            error = &error as &dyn std::error::Error,
            "{what} not reachable yet; trying again"
        );
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_RETRY_DELAY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct TestError(&'static str);

    #[tokio::test(start_paused = true)]
    async fn retrying_stops_at_the_first_success() {
        let calls = AtomicU32::new(0);
        let result = retry_until(
            "test",
            "here",
            Duration::from_secs(10),
            || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 | 1 => Err(TestError("not yet")),
                    _ => Ok("up"),
                }
            },
            |_| true,
        )
        .await;
        assert_eq!(result.unwrap(), "up");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn retrying_gives_up_at_the_deadline_with_the_last_error() {
        let started = Instant::now();
        let result: Result<(), _> = retry_until(
            "test",
            "here",
            Duration::from_secs(3),
            || async { Err(TestError("down")) },
            |_| true,
        )
        .await;
        let (error, attempts) = result.unwrap_err();
        assert_eq!(error.0, "down");
        assert!(attempts > 2, "{attempts}");
        assert!(started.elapsed() <= Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_error_is_not_retried() {
        let result: Result<(), _> = retry_until(
            "test",
            "here",
            Duration::from_secs(10),
            || async { Err(TestError("wrong password")) },
            |_| false,
        )
        .await;
        assert_eq!(result.unwrap_err().1, 1);
    }
}
