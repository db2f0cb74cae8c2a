//! Child processes that cannot outlive us.
//!
//! A server child is held as a [`Supervised`], around a `std::process::Child`.
//! Dropping it kills the child *and waits for it*, so the caller can reuse or
//! delete the child's data directory the moment the drop returns. We hold a
//! `std` child rather than a `tokio` one with `kill_on_drop` for two reasons:
//! tokio cannot wait for the exit from a synchronous `Drop`, and a handle may
//! outlive the runtime that spawned it (tests keep a private Postgres in a
//! static, shared by tests that each run their own runtime).
//!
//! `Drop` does not run when this process is killed (`kill -9`, a test
//! harness timeout), nor for values in statics, so each server also has a
//! [`Watchdog`] for its whole life: a tiny `sh` reading a pipe whose only
//! writer is us. We write it the pid of the server's current child (and `0`
//! once that child has been reaped, so it never signals a reused pid). When
//! we die, for whatever reason, the kernel closes the pipe; the watchdog reads
//! end-of-file, signals the last pid it was given, and removes the data
//! directory if the server was disposable. On an orderly drop we kill the
//! watchdog instead, after cleaning up ourselves.
//!
//! Signals other than SIGKILL are sent with the shell's `kill` built-in: the
//! workspace forbids `unsafe`, and the standard library only sends SIGKILL.

use crate::InfraError;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};

/// Remembers the last pid written to stdin; at end-of-file signals it with
/// `$1` and, when `$2` is not empty, removes that directory once the process
/// is gone. "Gone" includes a zombie (once we are dead nobody may reap our
/// children: a container's PID 1 often does not), and the wait is bounded
/// (10 s). Ignores the terminal's Ctrl-C and hang-up.
const WATCHDOG_SCRIPT: &str = r#"trap '' INT HUP
pid=0
while read -r line; do pid=$line; done
[ "$pid" != 0 ] && kill -s "$1" "$pid" 2>/dev/null
alive() {
  [ "$1" != 0 ] || return 1
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/stat" ] || return 0
  read -r _ _ state _ < "/proc/$1/stat" || return 1
  [ "$state" != Z ]
}
if [ -n "$2" ]; then
  i=0
  while alive "$pid" && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  rm -rf -- "$2"
fi"#;

/// A `sh` that acts when this process dies; see the module docs.
#[derive(Debug)]
pub(crate) struct Watchdog {
    child: Child,
    pipe: WatchHandle,
}

/// Tells the watchdog which pid to guard.
#[derive(Debug, Clone)]
pub(crate) struct WatchHandle(Arc<Mutex<ChildStdin>>);

impl WatchHandle {
    fn guard(&self, pid: u32) {
        if let Ok(mut pipe) = self.0.lock() {
            // A write of a few bytes to a pipe being read: it does not block.
            let _ = writeln!(pipe, "{pid}");
        }
    }
}

impl Watchdog {
    /// `None` (with a warning) if no watchdog can be had: the server still
    /// runs and `Drop` still stops it; only a hard crash would leave it behind.
    pub(crate) fn spawn(signal: &str, remove_dir: Option<&Path>) -> Option<Self> {
        let spawned = Command::new("/bin/sh")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg("ileaps-watchdog")
            .arg(signal)
            .arg(remove_dir.map(Path::as_os_str).unwrap_or_default())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        match spawned {
            Ok(mut child) => {
                let stdin = child.stdin.take().expect("stdin is piped");
                Some(Self {
                    child,
                    pipe: WatchHandle(Arc::new(Mutex::new(stdin))),
                })
            }
            Err(error) => {
                tracing::warn!(%error, "could not start a watchdog; a private server will be left running if this process is killed");
                None
            }
        }
    }

    pub(crate) fn handle(&self) -> WatchHandle {
        self.pipe.clone()
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // SIGKILL, so it never reaches its clean-up; then reap it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server child, guarded by its server's watchdog; dropping it kills and
/// reaps the child.
#[derive(Debug)]
pub(crate) struct Supervised {
    child: Child,
    watch: Option<WatchHandle>,
    reaped: bool,
    status: Option<ExitStatus>,
}

impl Supervised {
    pub(crate) fn new(child: Child, watchdog: Option<&Watchdog>) -> Self {
        let watch = watchdog.map(Watchdog::handle);
        if let Some(watch) = &watch {
            watch.guard(child.id());
        }
        Self {
            child,
            watch,
            reaped: false,
            status: None,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the child has exited (reaping it).
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        let status = self.status?;
        self.on_reaped();
        Some(status)
    }

    /// The exit status once [`exited`](Self::exited) or
    /// [`wait_exit`](Self::wait_exit) has seen the exit.
    pub(crate) fn exited_status(&mut self) -> Option<ExitStatus> {
        self.status
    }

    /// SIGKILL and wait for the exit.
    pub(crate) fn kill_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.on_reaped();
    }

    /// Polls until the child exits or `deadline` passes; true if it exited.
    pub(crate) async fn wait_exit(&mut self, deadline: std::time::Duration) -> bool {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            if self.exited().is_some() {
                return true;
            }
            if tokio::time::Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// [`wait_exit`](Self::wait_exit) for `Drop`, blocking the thread.
    pub(crate) fn wait_exit_blocking(&mut self, deadline: std::time::Duration) -> bool {
        let until = std::time::Instant::now() + deadline;
        loop {
            if self.exited().is_some() {
                return true;
            }
            if std::time::Instant::now() >= until {
                return false;
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// The pid may now be reused: the watchdog must forget it.
    fn on_reaped(&mut self) {
        if !self.reaped {
            self.reaped = true;
            if let Some(watch) = &self.watch {
                watch.guard(0);
            }
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.kill_now();
    }
}

/// How often we look again while waiting for a server to start or stop.
pub(crate) const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);

/// Sends a signal by name (`TERM`, `QUIT`, ...) with the shell's `kill`.
pub(crate) async fn send_signal(pid: u32, signal: &str) -> Result<(), InfraError> {
    let status = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(r#"kill -s "$1" "$2""#)
        .arg("sh")
        .arg(signal)
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .status()
        .await
        .map_err(|source| InfraError::io(format!("send SIG{signal} to process {pid}"), source))?;
    if status.success() {
        Ok(())
    } else {
        Err(InfraError::io(
            format!("send SIG{signal} to process {pid}"),
            std::io::Error::other(format!("kill exited with {status}")),
        ))
    }
}

/// True when the effective user is root (read from `/proc`, Linux only;
/// elsewhere we assume an ordinary user, which is what macOS developers are).
pub(crate) fn is_root() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .is_some_and(|effective| effective == "0")
}

/// The last lines of a log file, for error messages.
pub(crate) fn log_tail(path: &Path) -> String {
    const MAX_BYTES: u64 = 4096;
    const MAX_LINES: usize = 30;
    let read = || -> std::io::Result<String> {
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(MAX_BYTES)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(MAX_LINES);
            let tail = lines[start..].join("\n");
            if tail.trim().is_empty() {
                "(the log is empty)".to_owned()
            } else {
                tail
            }
        }
        Err(error) => format!("(could not read the log: {error})"),
    }
}

/// A port that was free a moment ago: bind port 0 on loopback, read the
/// port, release it. Another process may take it before the server binds it,
/// so callers retry on "address in use".
pub(crate) fn free_port() -> Result<u16, InfraError> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|source| InfraError::io("find a free port on 127.0.0.1", source))
}

/// Opens (creating, appending) a log file for a child's stdout and stderr.
pub(crate) fn open_log(path: &Path) -> Result<(Stdio, Stdio), InfraError> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| {
            InfraError::io(format!("open the log file {}", path.display()), source)
        })?;
    let clone = file.try_clone().map_err(|source| {
        InfraError::io(format!("open the log file {}", path.display()), source)
    })?;
    Ok((Stdio::from(file), Stdio::from(clone)))
}

pub(crate) fn create_dir(path: &Path) -> Result<(), InfraError> {
    std::fs::create_dir_all(path).map_err(|source| {
        InfraError::io(format!("create the directory {}", path.display()), source)
    })
}

pub(crate) fn absolute(path: &Path) -> Result<PathBuf, InfraError> {
    std::path::absolute(path)
        .map_err(|source| InfraError::io(format!("make {} absolute", path.display()), source))
}
