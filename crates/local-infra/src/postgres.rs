//! A private PostgreSQL cluster (`initdb` once, then `postgres` as our child
//! on a free loopback port), and [`ensure_database`] for any server.
//!
//! PostgreSQL refuses to run as root. When we are root, every PostgreSQL
//! program runs as the `postgres` system user (the standard library's
//! `CommandExt::uid`/`gid`, no `su` in between, so the server stays our direct
//! child); the data directory is given to that user, and every directory above
//! it must be enterable by it ([`usable_data_dir`] picks one that is).

use crate::InfraError;
use crate::binaries::PgBinaries;
use crate::probe::{self, redact};
use crate::process::{self, POLL_INTERVAL, Supervised, Watchdog};
use sqlx::Connection;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The superuser `initdb` creates in a private cluster (trust auth, loopback only).
pub const SUPERUSER: &str = "postgres";

/// `initdb` plus the first start can take a while on a loaded two-core machine.
const START_DEADLINE: Duration = Duration::from_secs(60);
const STOP_DEADLINE: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A port chosen by us may be taken before postgres binds it; try a few.
const PORT_ATTEMPTS: usize = 4;

/// Who runs PostgreSQL's programs when we are root.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

/// A private PostgreSQL cluster: listens on 127.0.0.1 only, trust auth,
/// durability off (`fsync`, `synchronous_commit`, `full_page_writes`: a
/// private cluster's data is for a laptop or a test, and speed matters).
/// Stopped (`pg_ctl stop -m immediate`) on drop, and by a watchdog if this
/// process dies.
#[derive(Debug)]
pub struct PostgresServer {
    data_dir: PathBuf,
    /// 0 until the first start.
    port: u16,
    bins: PgBinaries,
    run_as: Option<RunAs>,
    log: PathBuf,
    process: Option<Supervised>,
    /// Remove the data directory when dropped or when this process dies.
    disposable: bool,
    /// Declared after `process`, so it is dropped (killed) after our own clean-up.
    watchdog: Option<Watchdog>,
}

impl PostgresServer {
    /// Initialises `data_dir` if it is empty or missing, starts postgres on a
    /// free port and waits until it accepts connections.
    pub async fn start(data_dir: &Path) -> Result<Self, InfraError> {
        Self::launch(data_dir, false).await
    }

    /// Like [`start`](Self::start), and the data directory is deleted when the
    /// server is dropped or this process exits, however it exits.
    pub async fn start_disposable(data_dir: &Path) -> Result<Self, InfraError> {
        Self::launch(data_dir, true).await
    }

    async fn launch(data_dir: &Path, disposable: bool) -> Result<Self, InfraError> {
        let bins = PgBinaries::find()?;
        let data_dir = process::absolute(data_dir)?;
        let run_as = if process::is_root() {
            Some(postgres_user().await?)
        } else {
            None
        };
        prepare_data_dir(&data_dir, run_as)?;
        let mut server = Self {
            log: data_dir.join("postgres.log"),
            data_dir,
            port: 0,
            bins,
            run_as,
            process: None,
            disposable,
            watchdog: None,
        };
        // SIGQUIT is PostgreSQL's immediate shutdown.
        let remove = disposable.then_some(server.data_dir.as_path());
        server.watchdog = Watchdog::spawn("QUIT", remove);
        if !server.data_dir.join("PG_VERSION").exists() {
            server.initdb().await?;
        }
        server.spawn_and_wait().await?;
        Ok(server)
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server's log file (appended to across restarts).
    pub fn log_file(&self) -> &Path {
        &self.log
    }

    /// Fast shutdown (`pg_ctl stop -m fast`: clients are disconnected, then a
    /// clean checkpoint); waits for the exit, and kills if that fails.
    pub async fn stop(&mut self) {
        let Some(mut process) = self.process.take() else {
            return;
        };
        if process.exited().is_some() {
            return;
        }
        let mut command = self.pg_command(&self.bins.pg_ctl);
        command
            .arg("stop")
            .arg("-D")
            .arg(&self.data_dir)
            // -W: signal and return; we wait for our own child below (pg_ctl's
            // wait would count our not-yet-reaped child as still running).
            .args(["-m", "fast", "-W"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        match tokio::process::Command::from(command).output().await {
            Ok(output) if output.status.success() => {}
            Ok(output) => tracing::warn!(
                stderr = %String::from_utf8_lossy(&output.stderr).trim(),
                "pg_ctl stop failed; killing postgres"
            ),
            Err(error) => tracing::warn!(%error, "could not run pg_ctl stop; killing postgres"),
        }
        if !process.wait_exit(STOP_DEADLINE).await {
            tracing::warn!("postgres did not exit within {STOP_DEADLINE:?}; killing it");
        }
        process.kill_now();
    }

    /// Starts the stopped cluster again on the same port (for database
    /// restart tests: clients' URLs stay valid).
    pub async fn start_again(&mut self) -> Result<(), InfraError> {
        self.stop().await;
        self.spawn_and_wait().await
    }

    /// Runs `initdb` as a guarded child: if we die meanwhile, the watchdog
    /// stops it (initdb then cleans up after itself) before removing a
    /// disposable directory, which initdb would otherwise fill again.
    async fn initdb(&self) -> Result<(), InfraError> {
        let (mut reader, writer) = std::io::pipe()
            .map_err(|source| InfraError::io("create a pipe for initdb's output", source))?;
        let writer_too = writer
            .try_clone()
            .map_err(|source| InfraError::io("create a pipe for initdb's output", source))?;
        let mut command = self.pg_command(&self.bins.initdb);
        command
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C"])
            .arg("--no-sync")
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(writer_too);
        let child = command.spawn().map_err(|source| InfraError::Spawn {
            program: self.bins.initdb.clone(),
            source,
        })?;
        // Our copies of the pipe's write end must go, or reading never ends.
        drop(command);
        let mut initdb = Supervised::new(child, self.watchdog.as_ref());
        let finished = initdb.wait_exit(START_DEADLINE).await;
        let status = initdb.exited_status();
        drop(initdb); // kills it if still running
        let mut output = String::new();
        if finished {
            use std::io::Read;
            let _ = reader.read_to_string(&mut output);
        }
        match status {
            Some(status) if status.success() => Ok(()),
            Some(status) => Err(InfraError::InitdbFailed {
                dir: self.data_dir.clone(),
                outcome: status.to_string(),
                output,
            }),
            None => Err(InfraError::InitdbFailed {
                dir: self.data_dir.clone(),
                outcome: format!("did not finish within {START_DEADLINE:?}"),
                output,
            }),
        }
    }

    async fn spawn_and_wait(&mut self) -> Result<(), InfraError> {
        let attempts = if self.port == 0 { PORT_ATTEMPTS } else { 1 };
        let chosen_by_us = self.port == 0;
        for attempt in 1..=attempts {
            let port = if chosen_by_us {
                process::free_port()?
            } else {
                self.port
            };
            match self.spawn_once(port).await {
                Ok(process) => {
                    self.port = port;
                    self.process = Some(process);
                    return Ok(());
                }
                Err(InfraError::PostgresExited { tail, .. })
                    if attempt < attempts && tail.contains("already in use") =>
                {
                    tracing::debug!(
                        port,
                        "port taken before postgres could bind it; trying another"
                    );
                }
                Err(error) => return Err(error),
            }
        }
        unreachable!("the last attempt returns")
    }

    async fn spawn_once(&self, port: u16) -> Result<Supervised, InfraError> {
        let (stdout, stderr) = process::open_log(&self.log)?;
        let mut command = self.pg_command(&self.bins.postgres);
        command
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-p")
            .arg(port.to_string())
            // TCP on loopback only; no Unix socket, whose path length and
            // directory permissions are one more thing to go wrong.
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories="])
            .args(["-c", "fsync=off"])
            .args(["-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off"])
            // Many tests, each with its own pool, share one cluster.
            .args(["-c", "max_connections=300"])
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let child = command.spawn().map_err(|source| InfraError::Spawn {
            program: self.bins.postgres.clone(),
            source,
        })?;
        let mut process = Supervised::new(child, self.watchdog.as_ref());

        let url = format!("postgres://{SUPERUSER}@127.0.0.1:{port}/postgres");
        let started = tokio::time::Instant::now();
        loop {
            if let Some(status) = process.exited() {
                return Err(InfraError::PostgresExited {
                    status,
                    log: self.log.clone(),
                    tail: process::log_tail(&self.log),
                });
            }
            // Until recovery ends postgres refuses logins ("the database
            // system is starting up"), so a successful login means ready.
            let login =
                tokio::time::timeout(Duration::from_secs(2), sqlx::PgConnection::connect(&url));
            if let Ok(Ok(connection)) = login.await {
                let _ = connection.close().await;
                return Ok(process);
            }
            if started.elapsed() >= START_DEADLINE {
                return Err(InfraError::PostgresNotReady {
                    port,
                    waited: START_DEADLINE,
                    log: self.log.clone(),
                    tail: process::log_tail(&self.log),
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// A command for one of PostgreSQL's programs, as the `postgres` user when
    /// we are root, in its own process group (the terminal's Ctrl-C is for us).
    fn pg_command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command.current_dir("/").process_group(0);
        if let Some(user) = self.run_as {
            command.uid(user.uid).gid(user.gid);
        }
        command
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            if process.exited().is_none() {
                let mut command = self.pg_command(&self.bins.pg_ctl);
                let _ = command
                    .arg("stop")
                    .arg("-D")
                    .arg(&self.data_dir)
                    .args(["-m", "immediate", "-W"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
                process.wait_exit_blocking(STOP_DEADLINE);
            }
            // Kills only if pg_ctl could not stop it; reaps in any case.
            process.kill_now();
        }
        if self.disposable {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// The `postgres` system user, to run PostgreSQL as when we are root.
async fn postgres_user() -> Result<RunAs, InfraError> {
    async fn id(flag: &str) -> Option<u32> {
        let output = tokio::process::Command::new("id")
            .args([flag, SUPERUSER])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .await
            .ok()?;
        if !output.status.success() {
            return None;
        }
        String::from_utf8(output.stdout).ok()?.trim().parse().ok()
    }
    match (id("-u").await, id("-g").await) {
        (Some(uid), Some(gid)) if uid != 0 => Ok(RunAs { uid, gid }),
        _ => Err(InfraError::NoPostgresUser),
    }
}

/// Creates the data directory, checks it is usable, and (as root) gives it
/// to the `postgres` user with the 0700 mode PostgreSQL insists on.
fn prepare_data_dir(dir: &Path, run_as: Option<RunAs>) -> Result<(), InfraError> {
    process::create_dir(dir)?;
    if !dir.join("PG_VERSION").exists() {
        let mut entries = std::fs::read_dir(dir)
            .map_err(|source| InfraError::io(format!("read {}", dir.display()), source))?;
        if entries.next().is_some() {
            return Err(InfraError::DataDirNotEmpty {
                dir: dir.to_path_buf(),
            });
        }
    }
    let Some(user) = run_as else {
        return Ok(());
    };
    if let Some(blocker) = first_untraversable_ancestor(dir, Some(user)) {
        return Err(InfraError::DataDirNotReachable {
            dir: dir.to_path_buf(),
            blocker,
        });
    }
    let meta = std::fs::metadata(dir)
        .map_err(|source| InfraError::io(format!("read {}", dir.display()), source))?;
    if meta.uid() != user.uid {
        std::os::unix::fs::chown(dir, Some(user.uid), Some(user.gid)).map_err(|source| {
            InfraError::io(
                format!("give {} to the postgres user", dir.display()),
                source,
            )
        })?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|source| InfraError::io(format!("chmod 0700 {}", dir.display()), source))
}

/// The first directory above `dir` that `user` (or, with `None`, anyone
/// other than its owner) cannot enter.
fn first_untraversable_ancestor(dir: &Path, user: Option<RunAs>) -> Option<PathBuf> {
    dir.ancestors().skip(1).find_map(|ancestor| {
        let meta = std::fs::metadata(ancestor).ok()?;
        let mode = meta.mode();
        let enterable = mode & 0o001 != 0
            || user.is_some_and(|u| {
                (meta.uid() == u.uid && mode & 0o100 != 0)
                    || (meta.gid() == u.gid && mode & 0o010 != 0)
            });
        (!enterable).then(|| ancestor.to_path_buf())
    })
}

/// `preferred`, unless we are root and the `postgres` user could not reach
/// it (a home directory, say); then a directory of the same name under the
/// system's temporary directory, made unique per `preferred`.
pub fn usable_data_dir(preferred: &Path) -> PathBuf {
    let Ok(preferred) = std::path::absolute(preferred) else {
        return preferred.to_path_buf();
    };
    if !process::is_root() || first_untraversable_ancestor(&preferred, None).is_none() {
        return preferred;
    }
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    preferred.hash(&mut hasher);
    let name = preferred
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "postgres".to_owned());
    let fallback = std::env::temp_dir()
        .join("ileaps-infra")
        .join(format!("{:016x}-{name}", hasher.finish()));
    tracing::info!(
        "the postgres user cannot reach {}; keeping PostgreSQL's data in {} instead",
        preferred.display(),
        fallback.display()
    );
    fallback
}

/// Creates the database `database_url` names if it does not exist, connecting
/// to the `postgres` database (or `template1`) of the same server. Safe when
/// several processes race to create it.
pub async fn ensure_database(database_url: &str) -> Result<(), InfraError> {
    let Some(name) = probe::database_name(database_url)? else {
        return Ok(()); // no name: the user's default database, which exists or not at the server's will
    };
    let mut last_error = None;
    for admin_db in ["postgres", "template1"] {
        if admin_db == name {
            return Ok(());
        }
        let admin_url = probe::with_database(database_url, admin_db)?;
        match connect(&admin_url).await {
            Ok(admin) => {
                let result = create_if_missing(&admin, &name, database_url).await;
                admin.close().await;
                return result;
            }
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.expect("one admin database was tried"))
}

async fn create_if_missing(admin: &PgPool, name: &str, url: &str) -> Result<(), InfraError> {
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(admin)
        .await
        .map_err(|source| InfraError::Database {
            action: format!("look for database {name}"),
            url: redact(url),
            source,
        })?;
    if exists.is_some() {
        return Ok(());
    }
    let create = format!("CREATE DATABASE {}", quote_identifier(name));
    match sqlx::raw_sql(&create).execute(admin).await {
        Ok(_) => {
            tracing::info!("created database {name}");
            Ok(())
        }
        // Someone else created it in between: 42P04 duplicate_database, or
        // 23505 when both inserts reached the catalog's unique index.
        Err(sqlx::Error::Database(error))
            if matches!(error.code().as_deref(), Some("42P04") | Some("23505")) =>
        {
            Ok(())
        }
        Err(source) => Err(InfraError::Database {
            action: format!("create database {name}"),
            url: redact(url),
            source,
        }),
    }
}

/// A one-connection pool (a pool, not a bare `PgConnection`, so the futures
/// that use it stay `Send` for `tokio::spawn`), with a deadline on connecting:
/// a silent firewall would otherwise hang us.
pub async fn connect(url: &str) -> Result<PgPool, InfraError> {
    let connecting = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect(url);
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(Ok(pool)) => Ok(pool),
        Ok(Err(source)) => Err(InfraError::Database {
            action: "connect".to_owned(),
            url: redact(url),
            source,
        }),
        Err(_) => Err(InfraError::DatabaseTimeout {
            url: redact(url),
            waited: CONNECT_TIMEOUT,
        }),
    }
}

/// `"name"`, with embedded quotes doubled.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
