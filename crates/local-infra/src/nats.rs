//! A private `nats-server`: one child process with its own store directory
//! and port, ready (JetStream included) before [`NatsServer::start`] returns.

use crate::process::{self, POLL_INTERVAL, Supervised, Watchdog};
use crate::{InfraError, find_binary};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long a start or restart may take before we give up (generous: tests
/// start many servers at once on small machines).
const START_DEADLINE: Duration = Duration::from_secs(30);
/// How long a graceful stop may take before we kill.
const STOP_DEADLINE: Duration = Duration::from_secs(15);

/// How to run a private nats-server.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    /// JetStream's store (`-sd`); the log (`nats-server.log`) and the ports
    /// file go here too.
    pub store_dir: PathBuf,
    /// `None`: a free port, chosen by nats-server itself.
    pub port: Option<u16>,
    /// A server configuration file (`-c`); the port and address given here
    /// on the command line take precedence over it.
    pub config_file: Option<PathBuf>,
    pub jetstream: bool,
}

impl NatsOptions {
    /// JetStream on, a free port, no configuration file.
    pub fn new(store_dir: impl Into<PathBuf>) -> Self {
        Self {
            store_dir: store_dir.into(),
            port: None,
            config_file: None,
            jetstream: true,
        }
    }
}

/// A private nats-server child process, listening on 127.0.0.1 only; killed
/// (and waited for) on drop, and killed by a watchdog if this process dies.
#[derive(Debug)]
pub struct NatsServer {
    opts: NatsOptions,
    binary: PathBuf,
    /// 0 until the first start has read it from the ports file.
    port: u16,
    log: PathBuf,
    process: Option<Supervised>,
    /// Remove the store directory when dropped or when this process dies.
    disposable: bool,
    /// Declared after `process`, so it is dropped (killed) after our own clean-up.
    watchdog: Option<Watchdog>,
}

impl NatsServer {
    /// Starts nats-server and waits until it accepts connections and (with
    /// JetStream on) answers JetStream requests. On failure the error carries
    /// the end of the server's log.
    pub async fn start(opts: NatsOptions) -> Result<Self, InfraError> {
        Self::launch(opts, false).await
    }

    /// Like [`start`](Self::start), and the store directory is deleted when
    /// the server is dropped or this process exits, however it exits.
    pub async fn start_disposable(opts: NatsOptions) -> Result<Self, InfraError> {
        Self::launch(opts, true).await
    }

    async fn launch(mut opts: NatsOptions, disposable: bool) -> Result<Self, InfraError> {
        let binary = find_binary("nats-server")?;
        opts.store_dir = process::absolute(&opts.store_dir)?;
        process::create_dir(&opts.store_dir)?;
        let mut server = Self {
            log: opts.store_dir.join("nats-server.log"),
            port: opts.port.unwrap_or(0),
            opts,
            binary,
            process: None,
            disposable,
            watchdog: None,
        };
        let remove = disposable.then_some(server.opts.store_dir.as_path());
        server.watchdog = Watchdog::spawn("KILL", remove);
        server.spawn_and_wait().await?;
        Ok(server)
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store_dir(&self) -> &Path {
        &self.opts.store_dir
    }

    /// The server's process id while it runs (for measuring its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Supervised::pid)
    }

    /// The server's log file (appended to across restarts).
    pub fn log_file(&self) -> &Path {
        &self.log
    }

    /// True while the child process runs.
    pub fn is_running(&mut self) -> bool {
        self.process
            .as_mut()
            .is_some_and(|process| process.exited().is_none())
    }

    /// SIGKILL now, as a crash would (for fault tests); returns once it has exited.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill_now();
        }
    }

    /// Graceful stop (SIGTERM, so JetStream flushes its store); waits for the
    /// exit, and kills if that takes longer than a few seconds.
    pub async fn stop(&mut self) {
        let Some(mut process) = self.process.take() else {
            return;
        };
        if process.exited().is_some() {
            return;
        }
        if let Err(error) = process::send_signal(process.pid(), "TERM").await {
            tracing::warn!(%error, "could not stop nats-server gracefully; killing it");
        } else if !process.wait_exit(STOP_DEADLINE).await {
            tracing::warn!(
                "nats-server did not stop within {STOP_DEADLINE:?} of SIGTERM; killing it"
            );
        }
        process.kill_now();
    }

    /// Starts the server again on the same port with the same store (stopping
    /// it gracefully first if it still runs), as a broker restart would.
    pub async fn restart(&mut self) -> Result<(), InfraError> {
        self.stop().await;
        self.spawn_and_wait().await
    }

    /// Why `-p -1` and a ports file rather than binding port 0 ourselves and
    /// handing the port over: the kernel picks the port at the moment
    /// nats-server binds it, so two servers started at once (parallel tests)
    /// can never be given the same one, and there is no window in which
    /// another process takes it. The ports file tells us which port it got;
    /// a restart then asks for that port explicitly.
    async fn spawn_and_wait(&mut self) -> Result<(), InfraError> {
        let store = &self.opts.store_dir;
        let ports_dir = store.join("ports");
        process::create_dir(&ports_dir)?;
        let (stdout, stderr) = process::open_log(&self.log)?;

        let mut command = Command::new(&self.binary);
        command.arg("-a").arg("127.0.0.1");
        if let Some(config) = &self.opts.config_file {
            command.arg("-c").arg(config);
        }
        match self.port {
            0 => command.arg("-p").arg("-1"),
            port => command.arg("-p").arg(port.to_string()),
        };
        command.arg("--ports_file_dir").arg(&ports_dir);
        if self.opts.jetstream {
            command.arg("-js").arg("-sd").arg(store);
        }
        // Its own process group: the terminal's Ctrl-C is for us, and we stop
        // the server in our own time, after the services have drained.
        command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0);
        let child = command.spawn().map_err(|source| InfraError::Spawn {
            program: self.binary.clone(),
            source,
        })?;
        let pid = child.id();
        let mut process = Supervised::new(child, self.watchdog.as_ref());

        let started = tokio::time::Instant::now();
        loop {
            if let Some(status) = process.exited() {
                return Err(InfraError::NatsExited {
                    status,
                    log: self.log.clone(),
                    tail: process::log_tail(&self.log),
                });
            }
            if self.port == 0 {
                self.port = read_ports_file(&ports_dir, pid).unwrap_or(0);
            }
            if self.port != 0 && self.answers().await {
                break;
            }
            if started.elapsed() >= START_DEADLINE {
                return Err(InfraError::NatsNotReady {
                    port: match self.port {
                        0 => "(not yet known)".to_owned(),
                        port => port.to_string(),
                    },
                    waited: START_DEADLINE,
                    log: self.log.clone(),
                    tail: process::log_tail(&self.log),
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        let _ = std::fs::remove_file(ports_file(&ports_dir, pid));
        self.process = Some(process);
        Ok(())
    }

    /// Accepts connections, and answers a JetStream account request when
    /// JetStream is on. With a configuration file the default account may
    /// need credentials we do not have, so there we stop at the TCP check
    /// (nats-server enables JetStream before it starts accepting clients).
    async fn answers(&self) -> bool {
        let probe = Duration::from_secs(2);
        if !crate::tcp_reachable(&self.url(), probe).await {
            return false;
        }
        if !self.opts.jetstream || self.opts.config_file.is_some() {
            return true;
        }
        let connected = async_nats::ConnectOptions::new()
            .connection_timeout(probe)
            .connect(self.url())
            .await;
        let Ok(client) = connected else {
            return false;
        };
        // A raw `$JS.API.INFO` rather than `query_account`: the client's typed
        // reply wants fields that older servers (Debian's 2.9) do not send.
        let reply = tokio::time::timeout(probe, client.request("$JS.API.INFO", "".into())).await;
        let Ok(Ok(message)) = reply else {
            return false;
        };
        serde_json::from_slice::<serde_json::Value>(&message.payload)
            .is_ok_and(|info| info.get("error").is_none())
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        if self.disposable {
            let _ = std::fs::remove_dir_all(&self.opts.store_dir);
        }
    }
}

/// nats-server names its ports file `<executable>_<pid>.ports`.
fn ports_file(dir: &Path, pid: u32) -> PathBuf {
    let suffix = format!("_{pid}.ports");
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.ends_with(&suffix))
        })
        .unwrap_or_else(|| dir.join(format!("nats-server{suffix}")))
}

/// The client port from `{"nats":["nats://127.0.0.1:40211"], ...}`.
fn read_ports_file(dir: &Path, pid: u32) -> Option<u16> {
    let text = std::fs::read_to_string(ports_file(dir, pid)).ok()?;
    let ports: serde_json::Value = serde_json::from_str(&text).ok()?;
    let url = ports.get("nats")?.as_array()?.first()?.as_str()?;
    url.rsplit(':').next()?.parse().ok()
}
