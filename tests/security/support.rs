//! A nats-server running `deploy/nats/nats.conf` (with its generated
//! `auth.conf`), clients connected as its users, and a private PostgreSQL
//! with the roles of `deploy/postgres/10-roles.sql`.

use async_nats::jetstream::{self, Context};
use async_nats::{Client, ConnectOptions, Event};
use std::path::{Path, PathBuf};
use std::time::Duration;
use test_support::local_infra::{NatsOptions, NatsServer, PostgresServer};
use tokio::sync::{Mutex, OnceCell, mpsc};
use uuid::Uuid;

/// Waiting for something that should happen.
pub const DEADLINE: Duration = Duration::from_secs(20);
/// How long a JetStream request waits for an answer; a refused request gets
/// none, so this bounds how long showing a refusal can take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

pub fn deploy_dir() -> PathBuf {
    test_support::workspace_root().join("deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text)
        .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
}

/// The users `auth.conf` defines, with their password variables:
/// `user: NAME` followed by `password: $VARIABLE`.
pub fn users_of(auth_conf: &str) -> Vec<(String, String)> {
    let mut users = Vec::new();
    let mut user = None;
    for line in auth_conf.lines() {
        let line = line.trim().trim_start_matches('{').trim();
        if let Some(name) = line.strip_prefix("user:") {
            user = Some(name.split(',').next().unwrap_or_default().trim().to_owned());
        }
        if let Some(rest) = line.split("password:").nth(1) {
            let variable = rest
                .trim()
                .trim_start_matches('$')
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
                .unwrap_or_default()
                .to_owned();
            if let Some(name) = user.take() {
                users.push((name, variable));
            }
        }
    }
    users
}

/// A private nats-server with the deployment's configuration and test
/// passwords for every user.
#[derive(Debug)]
pub struct AuthNats {
    server: NatsServer,
    users: Vec<(String, String)>,
}

impl AuthNats {
    /// Copies `deploy/nats/nats.conf` and `auth.conf` into a directory of the
    /// test's own, with a `passwords.conf` of random passwords, and starts
    /// nats-server on it. The deployment's listen address gives way to a free
    /// port on 127.0.0.1 (`-a`/`-p -1` on the command line win over `listen`),
    /// its monitoring port is dropped (parallel tests would all want 8222),
    /// and its store is the test's. Everything else is used as written.
    pub async fn start() -> AuthNats {
        let dir =
            test_support::test_infra_dir().join(format!("nats-auth-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|error| panic!("cannot create {}: {error}", dir.display()));
        let source = deploy_dir().join("nats");

        let mut found_monitoring = false;
        let mut found_store = false;
        let config: Vec<String> = read(&source.join("nats.conf"))
            .lines()
            .filter_map(|line| {
                let key = line.trim_start();
                if key.starts_with("http_port:") {
                    found_monitoring = true;
                    None
                } else if key.starts_with("store_dir:") {
                    found_store = true;
                    Some(format!("  store_dir: {:?}", dir.join("jetstream")))
                } else {
                    Some(line.to_owned())
                }
            })
            .collect();
        assert!(
            found_monitoring && found_store,
            "deploy/nats/nats.conf has changed shape: this test expects its http_port and \
             jetstream store_dir lines, to replace them"
        );
        write(&dir.join("nats.conf"), &(config.join("\n") + "\n"));

        let auth = read(&source.join("auth.conf"));
        let users = users_of(&auth);
        assert!(
            users.len() > 8,
            "auth.conf defines too few users: {users:?}"
        );
        write(&dir.join("auth.conf"), &auth);
        let passwords: String = users
            .iter()
            .map(|(user, variable)| format!("{variable}: \"{}\"\n", password(user)))
            .collect();
        write(&dir.join("passwords.conf"), &passwords);

        let mut options = NatsOptions::new(&dir);
        options.config_file = Some(dir.join("nats.conf"));
        // JetStream as the configuration sets it up (with the store above):
        // `-js -sd` on the command line would clash with its store_dir.
        options.jetstream = false;
        let server = NatsServer::start_disposable(options).await.unwrap_or_else(|error| {
            panic!(
                "this test needs nats-server running deploy/nats/nats.conf (in {}) and could not \
                 start one: {error}",
                dir.display()
            )
        });
        AuthNats { server, users }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn has_user(&self, user: &str) -> bool {
        self.users.iter().any(|(name, _)| name == user)
    }

    /// Connects as `user` (which must exist). Cities and the integrator use
    /// their own inbox prefix, `_INBOX.<user>`, as their clients must.
    pub async fn connect(&self, user: &str) -> Peer {
        assert!(self.has_user(user), "auth.conf has no user {user}");
        self.connect_with(user, &password(user))
            .await
            .unwrap_or_else(|error| {
                panic!("{user} could not connect to the test's nats-server: {error}")
            })
    }

    pub async fn connect_with(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Peer, async_nats::ConnectError> {
        let (errors_tx, errors) = mpsc::unbounded_channel();
        let mut options = ConnectOptions::new()
            .user_and_password(user.to_owned(), password.to_owned())
            .connection_timeout(Duration::from_secs(5))
            .request_timeout(Some(REQUEST_TIMEOUT))
            .max_reconnects(Some(1))
            .event_callback(move |event| {
                let errors_tx = errors_tx.clone();
                async move {
                    if let Event::ServerError(error) = event {
                        let _ = errors_tx.send(error.to_string());
                    }
                }
            });
        if user.starts_with("city-") || user == "integrator" {
            options = options.custom_inbox_prefix(format!("_INBOX.{user}"));
        }
        let client = options.connect(self.url()).await?;
        let js = jetstream::ContextBuilder::new()
            .timeout(REQUEST_TIMEOUT)
            .build(client.clone());
        Ok(Peer {
            user: user.to_owned(),
            client,
            js,
            errors,
        })
    }

    /// The test's password of `user`.
    pub fn password_of(&self, user: &str) -> String {
        password(user)
    }
}

/// Each user's password in these tests (in the test's own passwords.conf;
/// what matters here is who may do what, not the passwords).
fn password(user: &str) -> String {
    format!("test-{user}-s3cret")
}

/// A client connected as one user, with the server's error reports.
#[derive(Debug)]
pub struct Peer {
    pub user: String,
    pub client: Client,
    pub js: Context,
    errors: mpsc::UnboundedReceiver<String>,
}

impl Peer {
    /// Waits for the server's "Permissions Violation for <what> to <subject>"
    /// (the server says `what` as `Publish` or `Subscription`).
    pub async fn refused(&mut self, what: &str, subject: &str) {
        let _ = self.client.flush().await;
        let wanted = format!("permissions violation for {what} to \"{subject}\"").to_lowercase();
        let user = self.user.clone();
        let errors = &mut self.errors;
        let seen = tokio::time::timeout(DEADLINE, async {
            while let Some(error) = errors.recv().await {
                if error.to_lowercase().contains(&wanted) {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(
            matches!(seen, Ok(true)),
            "{user}: the server did not refuse {what} to {subject}"
        );
    }

    /// Publishes on `subject` and shows the server refused it.
    pub async fn publish_is_refused(&mut self, subject: &str) {
        self.client
            .publish(subject.to_owned(), "refused?".into())
            .await
            .expect("the client sends");
        self.refused("publish", subject).await;
    }

    /// Subscribes to `subject` and shows the server refused it.
    pub async fn subscribe_is_refused(&mut self, subject: &str) {
        let _subscription = self
            .client
            .subscribe(subject.to_owned())
            .await
            .expect("the client sends");
        self.refused("subscription", subject).await;
    }

    /// Publishes with JetStream and waits for the stream's ack.
    pub async fn js_publish(&self, subject: &str) -> u64 {
        let id = Uuid::now_v7().to_string();
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", id.as_str());
        self.js
            .publish_with_headers(subject.to_owned(), headers, "{}".into())
            .await
            .unwrap_or_else(|error| panic!("{}: publishing to {subject}: {error}", self.user))
            .await
            .unwrap_or_else(|error| {
                panic!("{}: no JetStream ack for {subject}: {error}", self.user)
            })
            .sequence
    }
}

/// The contract's five streams, created as `service` (every service
/// provisions them at start, so its user must be allowed to).
pub async fn provision_streams_as(service: &Peer) {
    messaging::provision_streams(&service.js, &messaging::StreamSettings::default())
        .await
        .unwrap_or_else(|error| {
            panic!(
                "{} could not provision the streams: {error:?}",
                service.user
            )
        });
}

/// A PostgreSQL cluster of this test process's own: the roles of
/// `10-roles.sql` are cluster-wide, so they are made here rather than on
/// the machine's server, where they would outlive the test and race with
/// other test processes.
#[derive(Debug)]
pub struct RolesServer {
    server: PostgresServer,
    /// `10-roles.sql` creates roles, which parallel tests on this server
    /// must not do at the same moment.
    applying: Mutex<()>,
}

static POSTGRES: OnceCell<RolesServer> = OnceCell::const_new();

pub async fn roles_server() -> &'static RolesServer {
    POSTGRES
        .get_or_init(|| async {
            let dir = test_support::local_infra::usable_data_dir(
                &test_support::test_infra_dir()
                    .join(format!("pg-roles-{}", Uuid::new_v4().simple())),
            );
            let server = PostgresServer::start_disposable(&dir)
                .await
                .unwrap_or_else(|error| {
                    panic!(
                        "these tests need PostgreSQL (initdb and postgres; on Debian: apt-get \
                         install postgresql) for a private cluster in {}: {error}",
                        dir.display()
                    )
                });
            RolesServer {
                server,
                applying: Mutex::new(()),
            }
        })
        .await
}

/// A fresh database with the deployment's roles and schemas.
#[derive(Debug)]
pub struct RolesDb {
    pub db: test_support::TestDb,
    port: u16,
}

impl RolesServer {
    /// A fresh database on this server, with `deploy/postgres/10-roles.sql`
    /// applied by the superuser (twice: it must be safe to run again).
    pub async fn database(&self) -> RolesDb {
        let db = test_support::test_db_on(&self.server.url("postgres")).await;
        let sql = read(&deploy_dir().join("postgres/10-roles.sql"));
        let _one_at_a_time = self.applying.lock().await;
        for run in ["first", "second"] {
            sqlx::raw_sql(&sql)
                .execute(&db.pool)
                .await
                .unwrap_or_else(|error| {
                    panic!("deploy/postgres/10-roles.sql failed on its {run} run: {error}")
                });
        }
        RolesDb {
            db,
            port: self.server.port(),
        }
    }
}

impl RolesDb {
    /// The URL of this database, logged in as `role` (the private cluster
    /// trusts local connections, so no password).
    pub fn url_as(&self, role: &str) -> String {
        format!("postgres://{role}@127.0.0.1:{}/{}", self.port, self.db.name)
    }
}
