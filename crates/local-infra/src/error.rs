//! The one error type of this crate. Every variant says what went wrong and
//! what to do about it, because the person reading it is usually someone who
//! just ran `ileaps demo` or `cargo test` on a fresh machine.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// What can go wrong while finding, starting or using local infrastructure.
#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    /// A program we need is not installed (or not where we look).
    #[error("{what} not found ({searched}): {advice}")]
    BinaryNotFound {
        /// What is missing, e.g. "nats-server" or "PostgreSQL (initdb)".
        what: String,
        /// Where we looked.
        searched: String,
        /// How to install it.
        advice: &'static str,
    },

    /// A program was found but could not be started.
    #[error("could not start {program}: {source}; check that it is executable")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file-system or process operation failed.
    #[error("could not {action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },

    /// nats-server exited while we waited for it to become ready.
    #[error(
        "nats-server exited during start-up ({status}); the end of its log ({log}) says:\n{tail}\n\
         Check the options above; a port in use or a store directory locked by another nats-server are the usual causes"
    )]
    NatsExited {
        status: ExitStatus,
        log: PathBuf,
        tail: String,
    },

    /// nats-server kept running but never accepted connections in time.
    #[error(
        "nats-server on port {port} was not ready after {waited:?}; the end of its log ({log}) says:\n{tail}\n\
         The machine may be overloaded; try again, or start NATS yourself and point ILEAPS_NATS_URL at it"
    )]
    NatsNotReady {
        port: String,
        waited: Duration,
        log: PathBuf,
        tail: String,
    },

    /// Running as root without a `postgres` user to run PostgreSQL as.
    #[error(
        "PostgreSQL refuses to run as root, and there is no `postgres` user to run it as: \
         create one with `useradd --system --user-group --home-dir /var/lib/postgresql postgres` \
         (installing the `postgresql` package does this), or run as an ordinary user"
    )]
    NoPostgresUser,

    /// As root, the data directory lies under a directory the `postgres`
    /// user cannot enter.
    #[error(
        "the `postgres` user cannot reach the data directory {dir}: {blocker} is not traversable by others. \
         Choose a data directory under a path others can enter (e.g. under /tmp), or run `chmod o+x {blocker}`"
    )]
    DataDirNotReachable { dir: PathBuf, blocker: PathBuf },

    /// The data directory holds something that is not a PostgreSQL cluster.
    #[error(
        "{dir} is not empty and is not a PostgreSQL data directory (no PG_VERSION): \
         choose another directory or empty this one"
    )]
    DataDirNotEmpty { dir: PathBuf },

    /// `initdb` failed.
    #[error("initdb failed for {dir} ({outcome}):\n{output}")]
    InitdbFailed {
        dir: PathBuf,
        /// Its exit status, or that it took too long.
        outcome: String,
        output: String,
    },

    /// postgres exited while we waited for it to accept connections.
    #[error(
        "postgres exited during start-up ({status}); the end of its log ({log}) says:\n{tail}\n\
         A port in use, or a data directory made by another PostgreSQL version, are the usual causes"
    )]
    PostgresExited {
        status: ExitStatus,
        log: PathBuf,
        tail: String,
    },

    /// postgres kept running but did not accept connections in time.
    #[error(
        "postgres on port {port} did not accept connections after {waited:?}; the end of its log ({log}) says:\n{tail}\n\
         The machine may be overloaded; try again, or start PostgreSQL yourself and point ILEAPS_DATABASE_URL at it"
    )]
    PostgresNotReady {
        port: u16,
        waited: Duration,
        log: PathBuf,
        tail: String,
    },

    /// A URL could not be understood.
    #[error("invalid {what} URL {url}: {reason}")]
    InvalidUrl {
        what: &'static str,
        /// With any password replaced by `***`.
        url: String,
        reason: String,
    },

    /// Nothing answers at a configured address that is not on this machine,
    /// so starting a private server instead would silently use the wrong one.
    #[error(
        "no {what} answers at {url}, and it is not on this machine, so no private server was started: \
         check the address, or unset it to use a local one"
    )]
    Unreachable {
        what: &'static str,
        /// With any password replaced by `***`.
        url: String,
    },

    /// A database operation failed.
    #[error("could not {action} on {url}: {source}")]
    Database {
        action: String,
        /// With any password replaced by `***`.
        url: String,
        #[source]
        source: sqlx::Error,
    },

    /// Connecting to the database took too long.
    #[error(
        "no answer from PostgreSQL at {url} within {waited:?}: check that the server is up and the address right"
    )]
    DatabaseTimeout { url: String, waited: Duration },
}

impl InfraError {
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }
}
