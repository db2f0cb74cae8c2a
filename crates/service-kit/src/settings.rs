//! Owns the `ILEAPS_*` environment variables every service reads: parsing,
//! defaults, checks, and keeping secrets out of logs.

use std::fmt;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use sqlx::postgres::PgConnectOptions;

const HOUR: u64 = 60 * 60;
const DAY: u64 = 24 * HOUR;

/// Shown instead of a password.
const REDACTED: &str = "***";

/// Everything a service needs to reach its infrastructure and run, read from
/// the environment by [`Settings::from_env`].
///
/// Fields are public so tests can adjust one setting after reading the rest
/// (`Settings { nats_url, ..Settings::from_lookup(|_| None)? }`). `Debug`
/// never shows a password: the database URL and NATS URLs are shown with the
/// password replaced, the NATS password not at all.
#[derive(Clone)]
pub struct Settings {
    /// Name the service gives itself on its NATS connection and as the
    /// Postgres `application_name`, so operators can tell connections apart.
    /// Defaults to the executable's name; set it with
    /// [`with_client_name`](Self::with_client_name).
    pub client_name: String,
    /// `ILEAPS_NATS_URL`: one server address, or several separated by commas
    /// (any member of a cluster will do; the client learns the rest).
    pub nats_url: String,
    /// `ILEAPS_NATS_CREDS`: a `.creds` file (user JWT and seed), for servers
    /// with decentralised auth. Checked to exist when read.
    pub nats_creds: Option<PathBuf>,
    /// `ILEAPS_NATS_USER`, for servers with plain users.
    pub nats_user: Option<String>,
    /// `ILEAPS_NATS_PASSWORD`, required with `ILEAPS_NATS_USER`.
    pub nats_password: Option<SecretString>,
    /// `ILEAPS_DATABASE_URL`: secret because it usually carries the password.
    pub database_url: SecretString,
    /// `ILEAPS_HTTP_ADDR`: where `/healthz`, `/readyz` and `/metrics` listen.
    /// Port 0 picks a free port (tests).
    pub http_addr: SocketAddr,
    /// `ILEAPS_STREAM_REPLICAS`: JetStream replicas per stream, 1 on a single
    /// server, 3 on a cluster.
    pub stream_replicas: usize,
    /// How long each stream keeps messages.
    pub retention: StreamRetention,
    /// `ILEAPS_OUTBOX_RETENTION_HOURS`: how long published outbox rows are
    /// kept, so `outbox replay --since` can re-send after a broker lost data.
    pub outbox_retention: Duration,
    /// `ILEAPS_SHUTDOWN_TIMEOUT_SECS`: how long a service may take to finish
    /// the work in hand after SIGTERM before it stops anyway.
    pub shutdown_timeout: Duration,
    /// `ILEAPS_DB_MAX_CONNECTIONS`: the size of the Postgres pool.
    pub db_max_connections: u32,
    /// `ILEAPS_CONNECT_TIMEOUT_SECS`: how long to keep trying to reach NATS
    /// and Postgres at start-up, for when a service starts before them.
    pub connect_timeout: Duration,
}

/// Message retention of each stream (`ILEAPS_RETENTION_*_DAYS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamRetention {
    /// Enquiries as cities sent them (`ILEAPS_RETENTION_INBOUND_DAYS`, 30).
    pub inbound: Duration,
    /// The domain events, the system's record (`ILEAPS_RETENTION_EVENTS_DAYS`, 365).
    pub events: Duration,
    /// Service-to-service commands (`ILEAPS_RETENTION_INTERNAL_DAYS`, 30).
    pub internal: Duration,
    /// Notices for cities (`ILEAPS_RETENTION_OUTBOUND_DAYS`, 90).
    pub outbound: Duration,
    /// Dead letters awaiting an operator (`ILEAPS_RETENTION_DLQ_DAYS`, 30).
    pub dlq: Duration,
}

/// One variable that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidSetting {
    /// The environment variable, e.g. `ILEAPS_STREAM_REPLICAS`.
    pub variable: &'static str,
    /// What it was set to, as far as it may be shown.
    pub value: ShownValue,
    /// What would have been accepted.
    pub expected: String,
}

/// The value of an [`InvalidSetting`], as far as it may be shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShownValue {
    /// The variable is not set (but something else needs it).
    Unset,
    /// The variable is secret; its value is not repeated.
    Hidden,
    /// The value as given (with any URL password replaced).
    Given(String),
}

/// Every variable that could not be used, so one start-up reports them all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsError {
    pub problems: Vec<InvalidSetting>,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid settings: ")?;
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl fmt::Display for InvalidSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            ShownValue::Unset => write!(f, "{} is not set", self.variable)?,
            ShownValue::Hidden => write!(f, "{} (value hidden)", self.variable)?,
            ShownValue::Given(value) => write!(f, "{}={value:?}", self.variable)?,
        }
        write!(f, ", expected {}", self.expected)
    }
}

impl std::error::Error for SettingsError {}

impl Settings {
    /// Reads the process environment. See [`from_lookup`](Self::from_lookup).
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (a variable name to its value), with
    /// the defaults below for anything unset. An empty value counts as unset,
    /// as container specs often write `X=`.
    ///
    /// | variable | default |
    /// | --- | --- |
    /// | `ILEAPS_NATS_URL` | `nats://127.0.0.1:4222` |
    /// | `ILEAPS_NATS_CREDS`, `ILEAPS_NATS_USER`, `ILEAPS_NATS_PASSWORD` | unset |
    /// | `ILEAPS_DATABASE_URL` | `postgres://root@127.0.0.1:5432/ileaps` |
    /// | `ILEAPS_HTTP_ADDR` | `127.0.0.1:8080` |
    /// | `ILEAPS_STREAM_REPLICAS` | 1 (1 to 5) |
    /// | `ILEAPS_RETENTION_{INBOUND,EVENTS,INTERNAL,OUTBOUND,DLQ}_DAYS` | 30, 365, 30, 90, 30 |
    /// | `ILEAPS_OUTBOX_RETENTION_HOURS` | 168 (0 deletes rows once published) |
    /// | `ILEAPS_SHUTDOWN_TIMEOUT_SECS` | 30 |
    /// | `ILEAPS_DB_MAX_CONNECTIONS` | 10 |
    /// | `ILEAPS_CONNECT_TIMEOUT_SECS` | 30 |
    ///
    /// Every unusable variable is reported in the one error.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut env = Reader::new(&lookup);

        let nats_url = env.nats_url();
        let nats_creds = env.creds_file("ILEAPS_NATS_CREDS");
        let nats_user = env.get("ILEAPS_NATS_USER");
        let nats_password = env.get("ILEAPS_NATS_PASSWORD").map(SecretString::from);
        env.check_nats_auth(
            nats_creds.is_some(),
            nats_user.is_some(),
            nats_password.is_some(),
        );
        let database_url = env.database_url();
        let http_addr = env.parse(
            "ILEAPS_HTTP_ADDR",
            SocketAddr::from(([127, 0, 0, 1], 8080)),
            "an IP address and port such as 127.0.0.1:8080 or [::]:8080 (port 0 picks a free port)",
            |value| SocketAddr::from_str(value).ok(),
        );
        let stream_replicas = env.integer("ILEAPS_STREAM_REPLICAS", 1, 1..=5);
        let retention = StreamRetention {
            inbound: env.days("ILEAPS_RETENTION_INBOUND_DAYS", 30),
            events: env.days("ILEAPS_RETENTION_EVENTS_DAYS", 365),
            internal: env.days("ILEAPS_RETENTION_INTERNAL_DAYS", 30),
            outbound: env.days("ILEAPS_RETENTION_OUTBOUND_DAYS", 90),
            dlq: env.days("ILEAPS_RETENTION_DLQ_DAYS", 30),
        };
        let outbox_retention = Duration::from_secs(
            HOUR * env.integer("ILEAPS_OUTBOX_RETENTION_HOURS", 168, 0..=10 * 365 * 24),
        );
        let shutdown_timeout =
            Duration::from_secs(env.integer("ILEAPS_SHUTDOWN_TIMEOUT_SECS", 30, 1..=3600));
        let db_max_connections = env.integer("ILEAPS_DB_MAX_CONNECTIONS", 10, 1..=1000);
        let connect_timeout =
            Duration::from_secs(env.integer("ILEAPS_CONNECT_TIMEOUT_SECS", 30, 1..=3600));

        env.finish()?;
        Ok(Self {
            client_name: default_client_name(),
            nats_url,
            nats_creds,
            nats_user,
            nats_password,
            database_url,
            http_addr,
            stream_replicas,
            retention,
            outbox_retention,
            shutdown_timeout,
            db_max_connections,
            connect_timeout,
        })
    }

    /// Names this service's connections (`intake`, `scheduling`, ...).
    #[must_use]
    pub fn with_client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }

    /// The database URL with its password replaced, for logs and errors.
    pub fn database_url_redacted(&self) -> String {
        redact_url(self.database_url.expose_secret())
    }

    /// The NATS URL(s) with any password replaced, for logs and errors.
    pub fn nats_url_redacted(&self) -> String {
        self.nats_url
            .split(',')
            .map(|url| redact_url(url.trim()))
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("client_name", &self.client_name)
            .field("nats_url", &self.nats_url_redacted())
            .field("nats_creds", &self.nats_creds)
            .field("nats_user", &self.nats_user)
            .field(
                "nats_password",
                &self.nats_password.as_ref().map(|_| REDACTED),
            )
            .field("database_url", &self.database_url_redacted())
            .field("http_addr", &self.http_addr)
            .field("stream_replicas", &self.stream_replicas)
            .field("retention", &self.retention)
            .field("outbox_retention", &self.outbox_retention)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("db_max_connections", &self.db_max_connections)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// Reads variables and collects what is wrong with them, so that parsing can
/// carry on and report every problem at once. [`Settings`] is read with one;
/// a service reads its own rules the same way (scheduling's planning rules,
/// assignment's), so every setting is checked at start with the same words.
pub struct Reader<'a, F> {
    lookup: &'a F,
    problems: Vec<InvalidSetting>,
}

impl<F> fmt::Debug for Reader<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("problems", &self.problems)
            .finish_non_exhaustive()
    }
}

impl<'a, F: Fn(&str) -> Option<String>> Reader<'a, F> {
    /// A reader of `lookup` (a variable name to its value; an empty value
    /// counts as unset).
    pub fn new(lookup: &'a F) -> Self {
        Self {
            lookup,
            problems: Vec::new(),
        }
    }

    /// `Ok` when every variable read was usable, else all the problems.
    pub fn finish(self) -> Result<(), SettingsError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(SettingsError {
                problems: self.problems,
            })
        }
    }

    /// The trimmed value, `None` when unset or empty.
    pub fn get(&self, variable: &str) -> Option<String> {
        (self.lookup)(variable)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    /// Records that `variable` could not be used.
    pub fn problem(
        &mut self,
        variable: &'static str,
        value: ShownValue,
        expected: impl Into<String>,
    ) {
        self.problems.push(InvalidSetting {
            variable,
            value,
            expected: expected.into(),
        });
    }

    /// The value parsed by `parse`, `default` when unset, and a problem
    /// (returning `default` to carry on) when it does not parse.
    pub fn parse<T>(
        &mut self,
        variable: &'static str,
        default: T,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> T {
        let Some(value) = self.get(variable) else {
            return default;
        };
        match parse(&value) {
            Some(parsed) => parsed,
            None => {
                self.problem(variable, ShownValue::Given(value), expected);
                default
            }
        }
    }

    /// A whole number within `range`, `default` when unset.
    pub fn integer<T>(&mut self, variable: &'static str, default: T, range: RangeInclusive<T>) -> T
    where
        T: FromStr + PartialOrd + fmt::Display + Copy,
    {
        let expected = format!("a whole number from {} to {}", range.start(), range.end());
        self.parse(variable, default, &expected, |value| {
            value.parse().ok().filter(|number| range.contains(number))
        })
    }

    /// Days of retention. At least one: JetStream reads 0 as "keep forever",
    /// which nobody means by setting it.
    fn days(&mut self, variable: &'static str, default: u64) -> Duration {
        Duration::from_secs(DAY * self.integer(variable, default, 1..=100 * 365))
    }

    fn nats_url(&mut self) -> String {
        const DEFAULT: &str = "nats://127.0.0.1:4222";
        let variable = "ILEAPS_NATS_URL";
        let Some(value) = self.get(variable) else {
            return DEFAULT.to_owned();
        };
        if parse_nats_servers(&value).is_err() {
            let shown = value
                .split(',')
                .map(|url| redact_url(url.trim()))
                .collect::<Vec<_>>()
                .join(",");
            self.problem(
                variable,
                ShownValue::Given(shown),
                "nats://host:port (or tls://, ws://, wss://), several separated by commas",
            );
            return DEFAULT.to_owned();
        }
        value
    }

    fn creds_file(&mut self, variable: &'static str) -> Option<PathBuf> {
        let path = PathBuf::from(self.get(variable)?);
        if path.is_file() {
            Some(path)
        } else {
            self.problem(
                variable,
                ShownValue::Given(path.display().to_string()),
                "the path of an existing NATS .creds file",
            );
            None
        }
    }

    /// Exactly one way to authenticate, and a user with a password.
    fn check_nats_auth(&mut self, creds: bool, user: bool, password: bool) {
        if creds && (user || password) {
            self.problem(
                if user {
                    "ILEAPS_NATS_USER"
                } else {
                    "ILEAPS_NATS_PASSWORD"
                },
                if user {
                    ShownValue::Given(self.get("ILEAPS_NATS_USER").unwrap_or_default())
                } else {
                    ShownValue::Hidden
                },
                "unset when ILEAPS_NATS_CREDS is set (choose one way to authenticate)",
            );
        } else if user && !password {
            self.problem(
                "ILEAPS_NATS_PASSWORD",
                ShownValue::Unset,
                "a password, since ILEAPS_NATS_USER is set",
            );
        } else if password && !user {
            self.problem(
                "ILEAPS_NATS_USER",
                ShownValue::Unset,
                "a user name, since ILEAPS_NATS_PASSWORD is set",
            );
        }
    }

    fn database_url(&mut self) -> SecretString {
        const DEFAULT: &str = "postgres://root@127.0.0.1:5432/ileaps";
        let variable = "ILEAPS_DATABASE_URL";
        let Some(value) = self.get(variable) else {
            return SecretString::from(DEFAULT);
        };
        let is_postgres = value.starts_with("postgres://") || value.starts_with("postgresql://");
        if !is_postgres || PgConnectOptions::from_str(&value).is_err() {
            self.problem(
                variable,
                ShownValue::Hidden,
                "a URL such as postgres://user:password@host:5432/database",
            );
        }
        SecretString::from(value)
    }
}

/// Parses `ILEAPS_NATS_URL` into the addresses the client connects to.
pub(crate) fn parse_nats_servers(value: &str) -> std::io::Result<Vec<async_nats::ServerAddr>> {
    value
        .split(',')
        .map(str::trim)
        .map(async_nats::ServerAddr::from_str)
        .collect()
}

/// `url` with any password (in the user part or a `password` query
/// parameter, which libpq and sqlx also accept) replaced by `***`. A value
/// that is not a URL is hidden entirely, as it may still hold a password.
pub(crate) fn redact_url(value: &str) -> String {
    let parsed = if value.contains("://") {
        url::Url::parse(value)
    } else {
        // NATS accepts a bare host:port.
        url::Url::parse(&format!("nats://{value}"))
    };
    let Ok(mut url) = parsed else {
        return "(not a URL, hidden)".to_owned();
    };
    if url.password().is_some() {
        // Only fails for URLs that cannot have a password, which this has.
        let _ = url.set_password(Some(REDACTED));
    }
    if url.query_pairs().any(|(key, _)| key == "password") {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if key == "password" {
                    REDACTED.to_owned()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let shown = url.to_string();
    if value.contains("://") {
        shown
    } else {
        shown.trim_start_matches("nats://").to_owned()
    }
}

/// The executable's name, so that even an unconfigured client is recognisable.
fn default_client_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|path| {
            path.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "ileaps".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    fn problems(vars: &[(&str, &str)]) -> Vec<InvalidSetting> {
        read(vars).expect_err("settings should be refused").problems
    }

    fn only_problem(vars: &[(&str, &str)]) -> InvalidSetting {
        let mut problems = problems(vars);
        assert_eq!(problems.len(), 1, "{problems:?}");
        problems.remove(0)
    }

    #[test]
    fn nothing_set_gives_the_documented_defaults() {
        let settings = read(&[]).unwrap();
        assert_eq!(settings.nats_url, "nats://127.0.0.1:4222");
        assert_eq!(settings.nats_creds, None);
        assert_eq!(settings.nats_user, None);
        assert!(settings.nats_password.is_none());
        assert_eq!(
            settings.database_url.expose_secret(),
            "postgres://root@127.0.0.1:5432/ileaps"
        );
        assert_eq!(settings.http_addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(settings.stream_replicas, 1);
        assert_eq!(
            settings.retention,
            StreamRetention {
                inbound: Duration::from_secs(30 * DAY),
                events: Duration::from_secs(365 * DAY),
                internal: Duration::from_secs(30 * DAY),
                outbound: Duration::from_secs(90 * DAY),
                dlq: Duration::from_secs(30 * DAY),
            }
        );
        assert_eq!(settings.outbox_retention, Duration::from_secs(168 * HOUR));
        assert_eq!(settings.shutdown_timeout, Duration::from_secs(30));
        assert_eq!(settings.db_max_connections, 10);
        assert_eq!(settings.connect_timeout, Duration::from_secs(30));
        assert!(!settings.client_name.is_empty());
    }

    #[test]
    fn every_variable_is_read_when_set() {
        let creds = std::env::current_exe().unwrap();
        let creds = creds.to_str().unwrap();
        let settings = read(&[
            ("ILEAPS_NATS_URL", "nats://a:4222, nats://b:4222"),
            ("ILEAPS_NATS_CREDS", creds),
            ("ILEAPS_DATABASE_URL", "postgres://svc:pw@db:5433/ileaps"),
            ("ILEAPS_HTTP_ADDR", "0.0.0.0:0"),
            ("ILEAPS_STREAM_REPLICAS", "3"),
            ("ILEAPS_RETENTION_INBOUND_DAYS", "1"),
            ("ILEAPS_RETENTION_EVENTS_DAYS", "2"),
            ("ILEAPS_RETENTION_INTERNAL_DAYS", "3"),
            ("ILEAPS_RETENTION_OUTBOUND_DAYS", "4"),
            ("ILEAPS_RETENTION_DLQ_DAYS", "5"),
            ("ILEAPS_OUTBOX_RETENTION_HOURS", "0"),
            ("ILEAPS_SHUTDOWN_TIMEOUT_SECS", "5"),
            ("ILEAPS_DB_MAX_CONNECTIONS", "16"),
            ("ILEAPS_CONNECT_TIMEOUT_SECS", "2"),
        ])
        .unwrap();
        assert_eq!(parse_nats_servers(&settings.nats_url).unwrap().len(), 2);
        assert_eq!(
            settings.nats_creds.as_deref(),
            Some(std::path::Path::new(creds))
        );
        assert_eq!(settings.http_addr.port(), 0);
        assert_eq!(settings.stream_replicas, 3);
        assert_eq!(settings.retention.inbound, Duration::from_secs(DAY));
        assert_eq!(settings.retention.dlq, Duration::from_secs(5 * DAY));
        assert_eq!(settings.outbox_retention, Duration::ZERO);
        assert_eq!(settings.shutdown_timeout, Duration::from_secs(5));
        assert_eq!(settings.db_max_connections, 16);
        assert_eq!(settings.connect_timeout, Duration::from_secs(2));
    }

    #[test]
    fn empty_values_count_as_unset() {
        let settings = read(&[("ILEAPS_NATS_CREDS", ""), ("ILEAPS_STREAM_REPLICAS", " ")]).unwrap();
        assert_eq!(settings.nats_creds, None);
        assert_eq!(settings.stream_replicas, 1);
    }

    #[test]
    fn a_bad_number_names_the_variable_the_value_and_the_range() {
        let problem = only_problem(&[("ILEAPS_STREAM_REPLICAS", "7")]);
        assert_eq!(
            problem,
            InvalidSetting {
                variable: "ILEAPS_STREAM_REPLICAS",
                value: ShownValue::Given("7".to_owned()),
                expected: "a whole number from 1 to 5".to_owned(),
            }
        );
        assert_eq!(
            problem.to_string(),
            r#"ILEAPS_STREAM_REPLICAS="7", expected a whole number from 1 to 5"#
        );
    }

    #[test]
    fn each_numeric_variable_is_range_checked() {
        for (variable, bad) in [
            ("ILEAPS_STREAM_REPLICAS", "0"),
            ("ILEAPS_RETENTION_INBOUND_DAYS", "0"),
            ("ILEAPS_RETENTION_EVENTS_DAYS", "-1"),
            ("ILEAPS_RETENTION_INTERNAL_DAYS", "ten"),
            ("ILEAPS_RETENTION_OUTBOUND_DAYS", "1.5"),
            ("ILEAPS_RETENTION_DLQ_DAYS", "99999999"),
            ("ILEAPS_OUTBOX_RETENTION_HOURS", "-3"),
            ("ILEAPS_SHUTDOWN_TIMEOUT_SECS", "0"),
            ("ILEAPS_DB_MAX_CONNECTIONS", "0"),
            ("ILEAPS_CONNECT_TIMEOUT_SECS", "forever"),
        ] {
            let problem = only_problem(&[(variable, bad)]);
            assert_eq!(problem.variable, variable);
            assert_eq!(problem.value, ShownValue::Given(bad.to_owned()));
            assert!(
                problem.expected.starts_with("a whole number from"),
                "{problem}"
            );
        }
    }

    #[test]
    fn a_bad_http_address_is_refused() {
        let problem = only_problem(&[("ILEAPS_HTTP_ADDR", "localhost:80")]);
        assert_eq!(problem.variable, "ILEAPS_HTTP_ADDR");
        assert_eq!(problem.value, ShownValue::Given("localhost:80".to_owned()));
    }

    #[test]
    fn a_bad_nats_url_is_refused_without_showing_its_password() {
        let problem = only_problem(&[("ILEAPS_NATS_URL", "http://u:hunter2@host:4222")]);
        assert_eq!(problem.variable, "ILEAPS_NATS_URL");
        assert_eq!(
            problem.value,
            ShownValue::Given("http://u:***@host:4222/".to_owned())
        );
    }

    #[test]
    fn a_missing_creds_file_is_refused() {
        let problem = only_problem(&[("ILEAPS_NATS_CREDS", "/nonexistent/ileaps.creds")]);
        assert_eq!(problem.variable, "ILEAPS_NATS_CREDS");
        assert_eq!(
            problem.value,
            ShownValue::Given("/nonexistent/ileaps.creds".to_owned())
        );
    }

    #[test]
    fn a_user_needs_a_password_and_a_password_a_user() {
        let problem = only_problem(&[("ILEAPS_NATS_USER", "intake")]);
        assert_eq!(problem.variable, "ILEAPS_NATS_PASSWORD");
        assert_eq!(problem.value, ShownValue::Unset);

        let problem = only_problem(&[("ILEAPS_NATS_PASSWORD", "hunter2")]);
        assert_eq!(problem.variable, "ILEAPS_NATS_USER");
        assert!(!problem.to_string().contains("hunter2"));
    }

    #[test]
    fn creds_and_a_password_together_are_refused_without_showing_it() {
        let creds = std::env::current_exe().unwrap();
        let problem = only_problem(&[
            ("ILEAPS_NATS_CREDS", creds.to_str().unwrap()),
            ("ILEAPS_NATS_PASSWORD", "hunter2"),
        ]);
        assert_eq!(problem.variable, "ILEAPS_NATS_PASSWORD");
        assert_eq!(problem.value, ShownValue::Hidden);
    }

    #[test]
    fn a_bad_database_url_is_refused_without_showing_it() {
        let problem = only_problem(&[("ILEAPS_DATABASE_URL", "mysql://u:hunter2@db/x")]);
        assert_eq!(problem.variable, "ILEAPS_DATABASE_URL");
        assert_eq!(problem.value, ShownValue::Hidden);
        assert!(!problem.to_string().contains("hunter2"), "{problem}");
    }

    #[test]
    fn all_bad_variables_are_reported_together() {
        let error = read(&[
            ("ILEAPS_STREAM_REPLICAS", "9"),
            ("ILEAPS_HTTP_ADDR", "nowhere"),
            ("ILEAPS_DB_MAX_CONNECTIONS", "many"),
            ("ILEAPS_DATABASE_URL", "not a url with hunter2"),
        ])
        .unwrap_err();
        let variables: Vec<&str> = error.problems.iter().map(|p| p.variable).collect();
        assert_eq!(
            variables,
            [
                "ILEAPS_DATABASE_URL",
                "ILEAPS_HTTP_ADDR",
                "ILEAPS_STREAM_REPLICAS",
                "ILEAPS_DB_MAX_CONNECTIONS",
            ]
        );
        let message = error.to_string();
        assert!(message.starts_with("invalid settings: "), "{message}");
        assert!(
            message.contains(r#"ILEAPS_STREAM_REPLICAS="9""#),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn debug_never_shows_a_password() {
        let settings = read(&[
            (
                "ILEAPS_DATABASE_URL",
                "postgres://svc:hunter2@db:5432/ileaps?password=hunter3",
            ),
            ("ILEAPS_NATS_URL", "nats://u:hunter4@nats:4222"),
            ("ILEAPS_NATS_USER", "intake"),
            ("ILEAPS_NATS_PASSWORD", "hunter5"),
        ])
        .unwrap();
        let debug = format!("{settings:?}");
        for secret in ["hunter2", "hunter3", "hunter4", "hunter5"] {
            assert!(!debug.contains(secret), "{secret} leaked: {debug}");
        }
        assert!(
            debug.contains("postgres://svc:***@db:5432/ileaps"),
            "{debug}"
        );
        assert!(debug.contains("nats://u:***@nats:4222"), "{debug}");
        assert!(debug.contains("intake"), "{debug}");
    }

    #[test]
    fn redaction_keeps_everything_but_the_password() {
        assert_eq!(
            redact_url("postgres://root@127.0.0.1:5432/ileaps"),
            "postgres://root@127.0.0.1:5432/ileaps"
        );
        assert_eq!(redact_url("127.0.0.1:4222"), "127.0.0.1:4222");
        assert_eq!(redact_url("u:pw@host:4222"), "u:***@host:4222");
        assert_eq!(redact_url("::not a url::"), "(not a URL, hidden)");
    }

    #[test]
    fn the_client_name_can_be_set() {
        let settings = read(&[]).unwrap().with_client_name("intake");
        assert_eq!(settings.client_name, "intake");
    }
}
